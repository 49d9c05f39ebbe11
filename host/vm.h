/*
 * vm.h - the QEMU UVM launcher: start, stop and inspect the VM the qemu
 * driver realises requests on.
 *
 * A started VM is described by its record, <run_dir>/<uvm id>.vm, a small
 * JSON object written atomically (temp file, rename) so another process
 * (a later `layerhost` run, a restore) finds and reconnects to it:
 *   {"uvm":ID, "pid":N, "pid_start":T, "qmp":SOCKET, "control":SOCKET,
 *    "log":FILE,
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

#include "config.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* Root ports kept for directory shares (virtio-fs devices). */
#define LH_VM_SHARE_PORTS 32

struct lh_vm_layout {
	int scsi_controllers;    /* [plugin.scsi] controllers */
	int luns_per_controller; /* [plugin.scsi] luns_per_controller */
	int pmem_devices;        /* [plugin.vpmem] max_devices (LCOW), else 0 */
	uint64_t pmem_max_bytes; /* [plugin.vpmem] max_size_bytes */
	int share_ports;
	uint64_t memory_bytes;
};

/* The machine cfg implies (plugin keys parsed with their defaults);
 * -LH_ECONFIG naming the key on a bad value. */
int lh_vm_layout_get(const struct lh_config *cfg, struct lh_vm_layout *out, struct lh_error *err);

/* "<run_dir>/<uvm_id>.vm" (malloc'd; NULL when out of memory). */
char *lh_vm_record_path(const struct lh_config *cfg, const char *uvm_id);

/* Read a record; -ENOENT (err says "not started") when there is none,
 * -LH_ECORRUPT when it does not parse. *out is the caller's. */
int lh_vm_record_load(const char *path, cJSON **out, struct lh_error *err);
/* Replace the record atomically. */
int lh_vm_record_save(const char *path, const cJSON *record, struct lh_error *err);

/* Whether pid is a live (not zombie) process. For a process this run
 * started or has just checked with lh_proc_alive. */
bool lh_vm_pid_alive(pid_t pid);

/*
 * A process a record names is its pid and its start time (clock ticks
 * after boot, field 22 of /proc/<pid>/stat): after it dies, or after a
 * reboot, another process may get the same pid, and layerhost must never
 * take that one for it, nor signal it.
 */

/* pid's start time; 0 when it is gone or /proc cannot tell. */
uint64_t lh_proc_start(pid_t pid);

/* Whether pid is live, not a zombie, and started at start (0: unknown,
 * the pid alone decides). */
bool lh_proc_alive(pid_t pid, uint64_t start);

/* Wait up to timeout_ms for the process to be gone, reaping it if it is
 * our child. True when it is. */
bool lh_proc_wait_gone(pid_t pid, uint64_t start, int timeout_ms);

/* End the process if it is still that one: SIGTERM, then SIGKILL after
 * wait_ms, then wait up to wait_ms more. */
void lh_proc_end(pid_t pid, uint64_t start, int wait_ms);

/* Read "pid" and "pid_start" (absent: 0) of a record object; a bare
 * number is a pid of unknown start. False when there is no pid. */
bool lh_proc_read(const cJSON *item, pid_t *pid, uint64_t *start);

/*
 * Start QEMU for uvm_id (NULL: cfg's) and wait until its QMP socket
 * answers; write the record. -EEXIST if the record names a live VM; QEMU's
 * own error text (from <run_dir>/<uvm>.log) if it does not start.
 */
int lh_vm_start(const struct lh_config *cfg, const char *uvm_id, struct lh_error *err);

/*
 * Stop the VM: QMP quit, wait for the process (SIGKILL after 10 s), end
 * the helper daemons, remove the record and socket. A VM that already died
 * is cleaned up the same way; -ENOENT if there is no record.
 */
int lh_vm_stop(const struct lh_config *cfg, const char *uvm_id, struct lh_error *err);

/*
 * What the VM is doing: the record plus "running" (bool), "status" (QMP
 * query-status when reachable) and "pending_removal" (VPMem devices QEMU
 * cannot unplug, gone at the next start). *out is the caller's.
 */
int lh_vm_status(const struct lh_config *cfg, const char *uvm_id, cJSON **out,
		 struct lh_error *err);

#endif
