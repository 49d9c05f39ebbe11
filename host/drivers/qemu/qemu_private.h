/*
 * driver_qemu_private.h - what the QEMU driver's files share: the VM the
 * driver is connected to, and the QMP helpers its device kinds use.
 */
#ifndef LH_QEMU_PRIVATE_H
#define LH_QEMU_PRIVATE_H

#include "agent.h"
#include "qemu.h"
#include "qmp.h"
#include "vm.h"

#include <pthread.h>
#include <sys/types.h>

#define QEMU_EVENT_TIMEOUT_MS 5000
/* How long a QEMU whose socket closed may take to be gone for good. */
#define QEMU_DEATH_WAIT_MS 2000
#define QEMU_DAEMON_WAIT_MS 5000
#define QEMU_SHARE_NAME_MAX 64
/* Connecting to a guest's agent: QEMU serves its port to one client at a
 * time, so another layerhost command's exec may hold it a while. */
#define QEMU_AGENT_CONNECT_MS 30000

struct qemu_pmem {
	bool present;  /* a device is plugged in rp<N> */
	bool removed;  /* released, but QEMU cannot unplug it: until next start */
	char *path;
	/* The file it maps, as plugged: a released device serves the same
	 * file again (0: unknown, never reused). */
	uint64_t dev, ino, size;
	bool read_only;
};

struct qemu_share {
	char *name;    /* NULL: the port is free */
	char *path;
	char *socket;
	pid_t pid;           /* its virtiofsd */
	uint64_t pid_start;  /* and that process's start time (vm.h) */
	bool read_only;
	bool removing;       /* device_del issued, completed at the next flush */
};

/* A device_del issued and not yet seen through: removals overlap, and the
 * next flush waits for them all, then deletes what hangs off each. */
struct qemu_pending {
	char device[96];
	char node[48];  /* a SCSI disk's block node, or "" */
	int share;      /* a share's index in shares[], or -1 */
};

/* One running UVM the driver is connected to. */
struct qemu_vm {
	struct qemu_vm *next;
	char *uvm_id;
	char *record_path;
	cJSON *record;  /* as on disk; "driver" and "daemons" rewritten on save */
	struct lh_qmp *qmp;
	pid_t pid;
	uint64_t pid_start; /* QEMU's start time (vm.h) */
	bool gone;      /* QEMU exited under us */
	/* The guest, from the record's "guest": NULL paths for a VM without
	 * one. The agent is connected at the first guest request, and again
	 * once the connection died. */
	char *agent_path, *serial_path;
	struct lh_agent *agent;
	int controllers, luns, pmem_devices, share_ports;
	struct qemu_pmem *pmem;     /* [pmem_devices] */
	struct qemu_share *shares;  /* [share_ports], index j is port pmem_devices + j */
	struct qemu_pending *pending;
	size_t n_pending, cap_pending;
};

struct qemu_driver {
	struct lh_driver base;
	/* One lock for everything: a QMP client carries one conversation. */
	pthread_mutex_t lock;
	struct lh_driver_params params; /* its strings borrowed: they outlive the driver */
	struct lh_vm_layout layout;     /* from the backends' needs (configure) */
	struct lh_journal *journal;
	struct qemu_vm *vms;
};

/* What one request is about, parsed once. */
/* What became of a request's GuestRequest. */
enum qemu_guest_outcome {
	QEMU_GUEST_NONE = 0,     /* the request has none */
	QEMU_GUEST_UNDELIVERED,  /* no guest to take it (a VM without one, or gone) */
	QEMU_GUEST_DELIVERED,    /* the guest carried it out */
	QEMU_GUEST_FAILED,       /* the guest was asked and failed: err says why */
};

struct qemu_request {
	const char *type;  /* RequestType */
	const char *path;  /* ResourcePath, "" for guest-only */
	const cJSON *settings;
	const cJSON *guest; /* GuestRequest, or NULL */
	enum qemu_guest_outcome outcome;
};

/* A call to QEMU or its guest failed with rc: when the socket died (or went
 * silent) and QEMU is gone, the VM is marked gone and err says so (with
 * the guest's panic, if its console shows one); else rc stands. */
int lh_qemu_check_death(struct qemu_vm *vm, int rc, struct lh_error *err);
/* "QEMU (pid N) of UVM 'u' exited[: the guest's kernel panicked: ...]". */
int lh_qemu_gone(struct qemu_vm *vm, struct lh_error *err);

/* Run one QMP command (args consumed; *ret, if asked, is the caller's),
 * turning a dead connection into "QEMU (pid N) of UVM 'u' exited". */
int lh_qemu_exec(struct qemu_vm *vm, const char *command, cJSON *args, cJSON **ret,
		 struct lh_error *err);
/* A command whose only argument is one string ("node-name", "id"). */
int lh_qemu_exec1(struct qemu_vm *vm, const char *command, const char *key, const char *value,
		  struct lh_error *err);
/* device_del, then wait for DEVICE_DELETED; a device not there counts as
 * removed. err may be NULL. */
int lh_qemu_device_del(struct qemu_vm *vm, const char *id, struct lh_error *err);
/* The two halves: issue device_del (*issued false when the device is not
 * there; -EALREADY when its removal is pending already), and wait until
 * QEMU says it is gone (a dead VM counts as gone). */
int lh_qemu_device_del_start(struct qemu_vm *vm, const char *id, bool *issued,
			     struct lh_error *err);
int lh_qemu_device_gone(struct qemu_vm *vm, const char *id, struct lh_error *err);
/* Remember a removal for the next flush. */
int lh_qemu_pending_add(struct qemu_vm *vm, const char *device, const char *node, int share,
			struct lh_error *err);
/* Rewrite the VM record with the driver's devices and daemons. */
int lh_qemu_record_save(struct qemu_vm *vm, struct lh_error *err);

bool lh_qemu_bool(const cJSON *obj, const char *key);
/* The string member key of obj, or NULL. */
const char *lh_qemu_string(const cJSON *obj, const char *key);

/* The guest (guest.c). Whether vm boots a guest whose agent takes its
 * guest requests. */
bool lh_qemu_has_guest(const struct qemu_vm *vm);
/* Connect to the agent at socket (a VM's, `uvm_id`), within timeout_ms; a
 * failure says what the console (serial) showed last. */
int lh_qemu_agent_open(const char *uvm_id, const char *socket, const char *serial,
		       int timeout_ms, struct lh_agent **out, struct lh_error *err);
/* Deliver one guest request (hcsshim's ModificationRequest, borrowed) to
 * vm's agent and wait for it to be carried out: 0, or the guest's message
 * ("guest: ..."), or why it could not be delivered. */
int lh_qemu_guest_modify(struct qemu_vm *vm, const cJSON *request, struct lh_error *err);
/* hcsshim's SCSIDevice Remove: the guest lets go of the disk at c:l
 * before the host unplugs it. */
int lh_qemu_guest_scsi_remove(struct qemu_vm *vm, long c, long l, struct lh_error *err);
/* Run a command through agent (see struct lh_driver_ops.vm_exec). */
int lh_qemu_guest_exec(struct lh_agent *agent, const struct lh_vm_exec *e,
		       struct lh_vm_exec_result *res, struct lh_error *err);

/* Shares (driver_qemu_share.c): an Add, Remove or Update of the VSMB share
 * collection, realised as virtio-fs devices with one virtiofsd each. */
int lh_qemu_share_request(struct qemu_driver *d, struct qemu_vm *vm,
			  const struct qemu_request *r, struct lh_error *err);
/* Forget a share slot (the daemon must be gone). */
void lh_qemu_share_clear(struct qemu_share *s);
/* A share's device is gone: remove its chardev, end its daemon, free the
 * slot (the caller saves the record). */
int lh_qemu_share_finish(struct qemu_vm *vm, struct qemu_share *s, struct lh_error *err);

#endif
