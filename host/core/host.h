/*
 * host.h - one UVM (or the host itself) and the backends that serve it.
 *
 * lh_host_open loads every backend the configuration's pipeline roles and
 * [plugin.NAME] sections name, parses each one's options from the INI file
 * into a fresh priv, and opens it with a services table bound to this host:
 * requests go to the host's driver, log lines carry the plugin's name, the
 * mount counter is the UVM's.
 */
#ifndef LH_HOST_H
#define LH_HOST_H

#include "config.h"
#include "driver.h"
#include "loader.h"

#include <pthread.h>
#include <stdatomic.h>

struct lh_host;

/* Room for a VM boot id (struct lh_driver_ops.vm_boot). */
#define LH_VM_BOOT_MAX 64

/* One backend serving this host's UVM. */
struct lh_instance {
	struct lh_host *host;
	char *name;                   /* the name it was loaded by (role, section) */
	struct lh_plugin *plugin;     /* NULL for a table linked in directly */
	const struct lh_backend *ops;
	void *priv;
	struct lh_host_services services;
};

struct lh_pipeline_state; /* pipeline.h: the mounted containers */

struct lh_host {
	const struct lh_config *cfg;  /* borrowed; outlives the host */
	struct lh_uvm_info uvm;
	char *uvm_id;
	char *template_name;          /* set when saved as a template */
	struct lh_driver *driver;
	bool owns_driver;
	struct lh_instance **instances;
	size_t n_instances;
	atomic_uint_fast64_t mount_counter;
	char vm_boot[LH_VM_BOOT_MAX]; /* see struct lh_uvm_identity */
	/* Compute-system document of a clone being built (document_add). */
	cJSON *document;
	pthread_mutex_t document_lock;
	struct lh_pipeline_state *pipeline;
};

/*
 * Open a host for cfg. driver: NULL to open the one cfg names (owned by the
 * host), or a driver the caller keeps and closes after lh_host_close. Once
 * the backends are open the driver is told what they need of the VM, and
 * may refuse it.
 * uvm_id: NULL for cfg's, or another id (a clone). On failure nothing is
 * left loaded and err names the plugin, file or INI line at fault.
 */
int lh_host_open(const struct lh_config *cfg, struct lh_driver *driver, const char *uvm_id,
		 struct lh_host **out, struct lh_error *err);

/* Close every backend (no requests are issued), unload, free. NULL-safe. */
void lh_host_close(struct lh_host *host);

/* The instance loaded as `name`, or NULL. */
struct lh_instance *lh_host_instance(struct lh_host *host, const char *name);

/* Load and open one more backend by name (idempotent). */
int lh_host_add_backend(struct lh_host *host, const char *name, struct lh_instance **out,
			struct lh_error *err);

/* Add a backend whose table is linked into the program (benchmarks,
 * tests): same option parsing and open as a loaded one. */
int lh_host_add_static_backend(struct lh_host *host, const struct lh_backend *ops,
			       struct lh_instance **out, struct lh_error *err);

/* Issue one request (JSON text) through the host's driver, as a plugin
 * would; used by the pipelines for guest-only requests. */
int lh_host_modify(struct lh_host *host, const char *request_json, struct lh_error *err);

/* Open a fresh, empty instance of src's backend for another host (clones):
 * same options, services bound to `host`, in host's list. */
int lh_host_open_instance_like(struct lh_host *host, const struct lh_instance *src,
			       struct lh_instance **out, struct lh_error *err);

/* A fresh, empty instance of like's backend bound to `host` (options from
 * host's config) but not in its list and holding no module reference: it
 * borrows like's module until lh_host_replace_instance hands it over.
 * Free an unused one with lh_instance_free. */
int lh_instance_new_detached(struct lh_host *host, const struct lh_instance *like,
			     struct lh_instance **out, struct lh_error *err);

/* Put `fresh` in old's place in host's list, move old's module reference to
 * it, and free old. Cannot fail. */
void lh_host_replace_instance(struct lh_host *host, struct lh_instance *old,
			      struct lh_instance *fresh);

/* Close (no requests) and free an instance not in any host's list. NULL-safe. */
void lh_instance_free(struct lh_instance *inst);

/* ---- what the UVM is --------------------------------------------------------- */

/* What a state records of a UVM besides its id and OS. */
struct lh_uvm_identity {
	bool physically_backed, no_direct_map, is_template, is_clone;
	uint64_t mount_counter;
	char vm_boot[LH_VM_BOOT_MAX]; /* the VM boot the attachments live in; "" none known */
};

void lh_host_identity(struct lh_host *host, struct lh_uvm_identity *out);
/* Take a recorded identity (a restore, a clone); template_name (malloc'd
 * or NULL) is taken over. Cannot fail. */
void lh_host_set_identity(struct lh_host *host, const struct lh_uvm_identity *id,
			  char *template_name);
/* Mark the UVM as saved as template `name`: it takes no more mounts. */
int lh_host_mark_template(struct lh_host *host, const char *name, struct lh_error *err);

/* ---- the driver and the VM --------------------------------------------------- */

/* What the host's backends need of the VM, gathered from each. */
void lh_host_vm_needs(struct lh_host *host, struct lh_vm_needs *needs);
const char *lh_host_driver_name(const struct lh_host *host);
/* Complete and make durable what the driver has issued (see its flush). */
int lh_host_flush(struct lh_host *host, struct lh_error *err);
/* The VM lifecycle through the driver's slots; a driver without a VM is
 * -LH_EUNSUPPORTED naming it. */
int lh_host_vm_start(struct lh_host *host, struct lh_error *err);
int lh_host_vm_stop(struct lh_host *host, struct lh_error *err);
int lh_host_vm_status(struct lh_host *host, cJSON **out, struct lh_error *err);
/* The running VM's boot id (struct lh_driver_ops.vm_boot): -ENOENT when no
 * VM runs, -LH_EUNSUPPORTED for a driver without a VM. */
int lh_host_vm_boot(struct lh_host *host, char *buf, size_t cap, struct lh_error *err);
/* Run a command in the VM's guest (struct lh_driver_ops.vm_exec); a driver
 * whose VMs have no guest is -LH_EUNSUPPORTED naming it. *res is the
 * caller's (lh_vm_exec_result_free), also on failure. */
int lh_host_vm_exec(struct lh_host *host, const struct lh_vm_exec *e,
		    struct lh_vm_exec_result *res, struct lh_error *err);

#endif
