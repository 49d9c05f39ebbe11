/*
 * vm.h - the QEMU UVM launcher: start, stop and inspect the VM the qemu
 * driver realises requests on.
 *
 * A started VM is described by its record, <run_dir>/<uvm id>.vm, a small
 * JSON object written atomically (temp file, rename) so another process
 * (a later `layerhost` run, a restore) finds and reconnects to it:
 *   {"uvm":ID, "pid":N, "pid_start":T, "qmp":SOCKET, "control":SOCKET,
 *    "log":FILE, "boot":HEX (a random id of this start),
 *    "layout":{"scsi_controllers":C, "pmem_devices":P, "share_ports":S},
 *    "daemons":[{"pid":N, "pid_start":T}...],   helpers stop must end
 *                          (virtiofsd)
 *    "driver":{...}}       the qemu driver's own bookkeeping (driver_qemu.c)
 * "qmp" is the qemu driver's QMP socket, "control" a second monitor for
 * status, stop and tools (a QMP monitor serves one client at a time).
 * The record is not fsync'd: a VM does not survive the crash that would
 * lose it.
 *
 *    "accel":"tcg"|"kvm"|"kvm:tcg",             what QEMU was told
 *    "guest":{"kernel":F, "initrd":F, "cmdline":S, "serial":FILE,
 *             "agent":SOCKET, "ready_ms":N}       with a guest only: its
 *                          console log, its agent's socket, and how long
 *                          the agent took to answer
 *
 * The machine: q35, C virtio-scsi controllers scsi0..scsiC-1 (pcie.0 slots
 * 0x2..), and P + S PCIe root ports rp0.. from slot 0x8 (PCI devices
 * cannot be hot-plugged on pcie.0): rp<N> for VPMem device N, rp<P+j> for
 * shares. Then one of two kinds:
 *  - with a guest ([uvm] kernel and initrd, lh_vm_params): the guest's
 *    boot arguments (guest_boot.h: kernel, initramfs, console log, the
 *    agent's virtio-serial port at slot 0x7), -cpu max, running from the
 *    start; q35's ACPI hotplug, which a live guest completes in ~80 ms.
 *    vm start returns once the agent answers.
 *  - without one: paused (-S: devices plug without a guest), and native
 *    PCIe hotplug forced, since ACPI unplug never completes without a
 *    guest to agree (native unplug does; with a live guest it would wait
 *    out the guest's 5 s attention-button delay on every removal).
 * The accelerator is [uvm] accel; auto (lh_vm_accel) is KVM for a guest
 * only where /dev/kvm is hardware virtualisation, since a nested KVM of
 * another kind (PVM, which the CI machine runs under) hangs a stock guest
 * kernel.
 */
#ifndef LH_VM_H
#define LH_VM_H

#include "driver.h"
#include "proc.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* How long vm start waits for a booting guest's agent (TCG boots in
 * 4-8 s, 10-21 s on a loaded machine). */
#define LH_VM_GUEST_READY_MS 120000
/* A ping of a running guest's agent. */
#define LH_VM_AGENT_PING_MS 2000
/* A guest told to power off (it syncs its disks first). */
#define LH_VM_POWEROFF_WAIT_MS 10000

struct lh_agent;

/* Root ports kept for directory shares (virtio-fs devices). */
#define LH_VM_SHARE_PORTS 32
/* What one machine can take: four virtio-scsi controllers (hcsshim's SCSI
 * limit), LUNs 0..255 on each, 128 pmem root ports. */
#define LH_VM_MAX_SCSI_CONTROLLERS 4
#define LH_VM_MAX_LUNS 256
#define LH_VM_MAX_PMEM 128

struct lh_vm_layout {
	int scsi_controllers;    /* what the SCSI backend places disks on */
	int luns_per_controller;
	int pmem_devices;        /* the VPMem backend's devices (LCOW), else 0 */
	uint64_t pmem_max_bytes; /* the largest layer a device holds */
	int share_ports;
	uint64_t memory_bytes;
};

/* The machine the backends' needs imply; -LH_ECONFIG when they ask for
 * more than a QEMU VM can take. */
int lh_vm_layout_get(const struct lh_driver_params *params, const struct lh_vm_needs *needs,
		     struct lh_vm_layout *out, struct lh_error *err);

/* "<run_dir>/<uvm_id>.vm" (malloc'd; NULL when out of memory). */
char *lh_vm_record_path(const struct lh_driver_params *params, const char *uvm_id);

/* Read a record; -ENOENT (err says "not started") when there is none,
 * -LH_ECORRUPT when it does not parse. *out is the caller's. */
int lh_vm_record_load(const char *path, cJSON **out, struct lh_error *err);
/* Replace the record atomically. */
int lh_vm_record_save(const char *path, const cJSON *record, struct lh_error *err);

/* The accel= QEMU is given for these settings: "tcg", "kvm", or, for
 * auto, "kvm:tcg" (QEMU's choice) without a guest and, with one, "kvm"
 * where /dev/kvm is usable hardware virtualisation (the kvm_intel or
 * kvm_amd module), else "tcg". */
const char *lh_vm_accel(const struct lh_vm_params *vm);

/*
 * Start QEMU for uvm_id, laid out as `layout`, and wait until its QMP
 * socket answers; with a guest, also until its agent answers (up to
 * LH_VM_GUEST_READY_MS); write the record. -EEXIST if the record names a
 * live VM; -LH_ECONFIG naming the file and the setting when the guest's
 * kernel or initramfs is missing; QEMU's own error text (from
 * <run_dir>/<uvm>.log) if it does not start; the guest's console's last
 * lines (<run_dir>/<uvm>.serial) if the guest does not come up, QEMU then
 * ended and no record left.
 */
int lh_vm_start(const struct lh_driver_params *params, const struct lh_vm_layout *layout,
		const char *uvm_id, struct lh_error *err);

/*
 * Stop the VM: a guest is asked to power off (it syncs its disks), then
 * QMP quit, wait for the process (SIGKILL after 10 s), end
 * the helper daemons, remove the record and socket. A VM that already died
 * is cleaned up the same way; -ENOENT if there is no record.
 */
int lh_vm_stop(const struct lh_driver_params *params, const char *uvm_id, struct lh_error *err);

/*
 * What the VM is doing: the record plus "running" (bool), "status" (QMP
 * query-status when reachable), "pending_removal" (VPMem devices QEMU
 * cannot unplug, gone at the next start), "problems" (strings: dead
 * virtiofsd helpers; with a guest, a kernel panic, an agent that does not
 * answer, with its console's last lines, one that restarted) and, with a
 * guest, "guest"."ping" (the agent's answer: generation, uptime_ms,
 * kernel). agent: a connection to the guest's agent the caller holds
 * (QEMU serves the port to one client at a time), or NULL to make one.
 * *out is the caller's.
 */
int lh_vm_status(const struct lh_driver_params *params, const char *uvm_id,
		 struct lh_agent *agent, cJSON **out, struct lh_error *err);

/*
 * The boot id of the VM that runs for uvm_id (a new one each vm start;
 * "" for a record written before boot ids): 0; -ENOENT when none runs
 * (no record, or its QEMU is gone); -EBUSY, said in err, when a QEMU of
 * that id runs without its record.
 */
int lh_vm_boot(const struct lh_driver_params *params, const char *uvm_id, char *buf, size_t cap,
	       struct lh_error *err);

#endif
