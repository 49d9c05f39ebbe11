/*
 * driver.h - where HCS requests go: one table of slots per driver, chosen
 * by name from the registry (registry.h).
 *
 * Plugins build ModifySettingRequests in hcsshim's schema; the core parses
 * each one and hands it to its driver, which realises it: `journal`
 * appends it to a file, `null` discards it, `plan` records it in memory,
 * `qemu` carries it out on a QEMU VM. A driver embeds struct lh_driver as
 * its first member.
 *
 * Drivers sit below the core: they are told what they need at open
 * (struct lh_driver_params) and what the backends need of the VM
 * (struct lh_vm_needs), and never read the configuration themselves.
 */
#ifndef LH_DRIVER_H
#define LH_DRIVER_H

#include <layerhost/backend.h>

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

enum lh_journal_fsync {
	LH_FSYNC_ALWAYS = 0, /* a command's lines are on disk before it reports success */
	LH_FSYNC_NEVER,      /* leave it to the kernel */
};

/* How the VM's processor is emulated ([uvm] accel). */
enum lh_vm_accel {
	LH_ACCEL_AUTO = 0, /* KVM where it is hardware virtualisation, else TCG (vm.h) */
	LH_ACCEL_TCG,      /* QEMU's emulator: slow, works everywhere */
	LH_ACCEL_KVM,      /* the kernel's; fails where /dev/kvm is unusable */
};

/* The machine a driver with a VM runs ([uvm] keys of the INI file). */
struct lh_vm_params {
	const char *emulator;    /* qemu: the system emulator binary */
	const char *virtiofsd;   /* qemu: the virtio-fs daemon */
	uint64_t memory_bytes;
	enum lh_vm_accel accel;
	/* The guest the VM boots, or kernel NULL for a VM without one (its
	 * devices are plugged, its guest requests go nowhere). kernel_from
	 * and initrd_from say which setting named each file ("[uvm] kernel",
	 * "[uvm] guest", ...), for messages. cmdline NULL: the default. */
	const char *kernel, *kernel_from;
	const char *initrd, *initrd_from;
	const char *cmdline;
};

/* A command run in a VM's guest (vm_exec). */
struct lh_vm_exec {
	const char *const *argv; /* NULL-terminated; argv[0] searched in the guest's PATH */
	const char *root;        /* run with this guest folder as its root (a container's
				  * rootfs), or NULL for the UVM's own */
	int timeout_ms;          /* killed after this long; 0: the guest's default */
	size_t max_output;       /* bytes kept per stream; 0: the guest's default */
};

/* What it did; out and err are malloc'd and NUL-terminated
 * (lh_vm_exec_result_free). */
struct lh_vm_exec_result {
	int exit_code;  /* -1 when ended by a signal */
	int signal;     /* 0 unless ended by a signal */
	bool timed_out; /* killed at its timeout */
	char *out, *err;
	size_t out_len, err_len;
	bool out_truncated, err_truncated;
	long duration_ms;
};

static inline void lh_vm_exec_result_free(struct lh_vm_exec_result *res)
{
	free(res->out);
	free(res->err);
	memset(res, 0, sizeof(*res));
}

/* Everything a driver is told at open; strings are borrowed and outlive
 * the driver. */
struct lh_driver_params {
	const char *source;       /* the configuration file, for messages */
	const char *journal_path;
	enum lh_journal_fsync journal_fsync;
	const char *run_dir;      /* a VM's record, sockets and logs */
	enum lh_uvm_os os;
	struct lh_vm_params vm;
};

struct lh_driver;

struct lh_driver_ops {
	const char *name;

	/* Realise one request (borrowed) for the UVM. Called from any thread;
	 * the driver serialises what it must. 0, or a negative code with err
	 * naming the request. Mandatory. */
	int (*modify)(struct lh_driver *drv, const char *uvm_id, const cJSON *request,
		      struct lh_error *err);

	/* The hardware the opened backends need (lh_vm_needs, the backend ABI).
	 * Called whenever a host has opened its backends on this driver, before
	 * they issue anything; a driver refuses needs it cannot realise
	 * (-LH_ECONFIG). NULL: any. */
	int (*configure)(struct lh_driver *drv, const struct lh_vm_needs *needs,
			 struct lh_error *err);

	/* The VM lifecycle; NULL for a driver without a VM (the core then
	 * says so). start: build and run the machine for uvm_id from the
	 * configured needs. stop: end it and its helpers. status: a JSON
	 * object describing it (*out is the caller's). */
	int (*vm_start)(struct lh_driver *drv, const char *uvm_id, struct lh_error *err);
	int (*vm_stop)(struct lh_driver *drv, const char *uvm_id, struct lh_error *err);
	int (*vm_status)(struct lh_driver *drv, const char *uvm_id, cJSON **out,
			 struct lh_error *err);
	/* The id of this boot of uvm_id's VM (new at each vm_start; "" when
	 * unknown): 0; -ENOENT when no VM runs; another code, said in err,
	 * when whether one runs cannot be told. What lived in a VM is gone
	 * with it: the core drops attachments recorded under another boot. */
	int (*vm_boot)(struct lh_driver *drv, const char *uvm_id, char *buf, size_t cap,
		       struct lh_error *err);
	/* Run a command in the VM's guest and collect its output: 0 when it
	 * ran, whatever its status (*res filled, the caller's to free, also
	 * on failure); a failure when it could not be run (no guest, not
	 * found, no such root), with the guest's message. NULL: the driver's
	 * VMs have no guest to run anything in. */
	int (*vm_exec)(struct lh_driver *drv, const char *uvm_id, const struct lh_vm_exec *e,
		       struct lh_vm_exec_result *res, struct lh_error *err);

	/* Complete everything issued so far and make it durable: removals a
	 * driver let overlap are awaited, the journal's lines flushed. The
	 * core calls it at the end of every mount and unmount and before it
	 * saves the state. NULL: nothing is ever left pending. */
	int (*flush)(struct lh_driver *drv, struct lh_error *err);

	/* The requests recorded so far, for drivers that keep them in memory
	 * (`plan`): an array of {"uvm":ID,"request":{...}}, borrowed from the
	 * driver. NULL slot: the driver keeps none. */
	const cJSON *(*recorded)(const struct lh_driver *drv);

	/* Free the driver. Mandatory; NULL-safe through lh_driver_close. */
	void (*close)(struct lh_driver *drv);
};

struct lh_driver {
	const struct lh_driver_ops *ops;
};

/* Close a driver. NULL-safe. */
static inline void lh_driver_close(struct lh_driver *drv)
{
	if (drv)
		drv->ops->close(drv);
}

/* An open function, as the registry lists them. */
typedef int (*lh_driver_open_fn)(const struct lh_driver_params *params, struct lh_driver **out,
				 struct lh_error *err);

/* ---- the journal file, which drivers that realise requests keep too ---- */

/* One line per request, {"seq":N,"uvm":ID,"request":{...}[,"guest":S]},
 * N continuing from the last complete line already in the file (an
 * unfinished last line, a crash's, is cut off). */
struct lh_journal;

int lh_journal_open(const char *path, enum lh_journal_fsync fsync_policy,
		    struct lh_journal **out, struct lh_error *err);
/* Append one request; `guest` (NULL: none) records what became of its
 * GuestRequest: "undelivered" (no guest to take it), "delivered" (the
 * guest carried it out), or the guest's error message. The line is written at once; it is on
 * disk after the next lh_journal_sync (group commit: one flush a command,
 * not one a line). */
int lh_journal_append(struct lh_journal *journal, const char *uvm_id, const cJSON *request,
		      const char *guest, struct lh_error *err);
/* fdatasync what was appended since the last sync (with LH_FSYNC_ALWAYS). */
int lh_journal_sync(struct lh_journal *journal, struct lh_error *err);
/* Sync, then close. NULL-safe. */
void lh_journal_close(struct lh_journal *journal);

/* The drivers without a VM. */
int lh_journal_driver_open(const struct lh_driver_params *params, struct lh_driver **out,
			   struct lh_error *err);
int lh_null_driver_open(const struct lh_driver_params *params, struct lh_driver **out,
			struct lh_error *err);
int lh_plan_driver_open(const struct lh_driver_params *params, struct lh_driver **out,
			struct lh_error *err);

#endif
