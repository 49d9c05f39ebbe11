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
 * The machine: q35, TCG unless KVM is usable, paused (-S: no guest kernel
 * is needed to plug devices), C virtio-scsi controllers scsi0..scsiC-1,
 * and P + S PCIe root ports rp0.. (PCI devices cannot be hot-plugged on
 * pcie.0): rp<N> for VPMem device N, rp<P+j> for shares. Native PCIe
 * hotplug is forced so unplug completes without a guest.
 */
#ifndef LH_VM_H
#define LH_VM_H

#include "driver.h"
#include "proc.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

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

/*
 * Start QEMU for uvm_id, laid out as `layout`, and wait until its QMP
 * socket answers; write the record. -EEXIST if the record names a live VM;
 * QEMU's own error text (from <run_dir>/<uvm>.log) if it does not start.
 */
int lh_vm_start(const struct lh_driver_params *params, const struct lh_vm_layout *layout,
		const char *uvm_id, struct lh_error *err);

/*
 * Stop the VM: QMP quit, wait for the process (SIGKILL after 10 s), end
 * the helper daemons, remove the record and socket. A VM that already died
 * is cleaned up the same way; -ENOENT if there is no record.
 */
int lh_vm_stop(const struct lh_driver_params *params, const char *uvm_id, struct lh_error *err);

/*
 * What the VM is doing: the record plus "running" (bool), "status" (QMP
 * query-status when reachable) and "pending_removal" (VPMem devices QEMU
 * cannot unplug, gone at the next start). *out is the caller's.
 */
int lh_vm_status(const struct lh_driver_params *params, const char *uvm_id, cJSON **out,
		 struct lh_error *err);

/*
 * The boot id of the VM that runs for uvm_id (a new one each vm start;
 * "" for a record written before boot ids): 0; -ENOENT when none runs
 * (no record, or its QEMU is gone); -EBUSY, said in err, when a QEMU of
 * that id runs without its record.
 */
int lh_vm_boot(const struct lh_driver_params *params, const char *uvm_id, char *buf, size_t cap,
	       struct lh_error *err);

#endif
