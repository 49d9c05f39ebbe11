/* host.c - see host.h. */
#include "host.h"

#include "copy.h"
#include "disk.h"
#include "document.h"
#include "driver_qemu.h"
#include "gob.h"
#include "log.h"
#include "options.h"
#include "pipeline.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

/* ---- services handed to plugins --------------------------------------- */

static int svc_modify(void *ctx, const char *request_json, struct lh_error *err)
{
	struct lh_instance *inst = ctx;

	return lh_host_modify(inst->host, request_json, err);
}

static void svc_log(void *ctx, enum lh_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void svc_log(void *ctx, enum lh_log_level level, const char *fmt, ...)
{
	struct lh_instance *inst = ctx;
	va_list ap;

	va_start(ap, fmt);
	lh_vlog(level, inst->name, fmt, ap);
	va_end(ap);
}

static int svc_copy_file(void *ctx, const char *src, const char *dst, struct lh_error *err)
{
	(void)ctx;
	return lh_copy_file(src, dst, LH_COPY_ALLOW_ALL, NULL, err);
}

/* On Linux a VM process opens files with the host's own credentials: the
 * grant is a check that the file is reachable with the access asked. */
static int svc_grant_vm_access(void *ctx, const char *path, enum lh_vm_access wanted,
			       struct lh_error *err)
{
	struct lh_instance *inst = ctx;

	if (wanted == LH_ACCESS_NONE)
		return 0;
	if (access(path, R_OK) < 0)
		return LH_FAIL(err, -errno, "%s: the VM cannot be granted access: %s", path,
			       strerror(errno));
	lh_log(LH_LOG_DEBUG, inst->name, "granted %s access to %s",
	       wanted == LH_ACCESS_THIS_VM ? "this-VM" : "VM-group", path);
	return 0;
}

static const struct lh_uvm_info *svc_uvm(void *ctx)
{
	return &((struct lh_instance *)ctx)->host->uvm;
}

static uint64_t svc_next_mount_id(void *ctx)
{
	return atomic_fetch_add(&((struct lh_instance *)ctx)->host->mount_counter, 1);
}

static int svc_probe_disk(void *ctx, const char *path, struct lh_disk_info *info,
			  struct lh_error *err)
{
	(void)ctx;
	return lh_disk_probe(path, info, err);
}

static int svc_document_add(void *ctx, const char *path, const char *json, struct lh_error *err)
{
	struct lh_host *host = ((struct lh_instance *)ctx)->host;
	int rc;

	if (!host->document)
		return LH_FAIL(err, -LH_EUNSUPPORTED, "%s: no compute-system document outside a clone",
			       path);
	pthread_mutex_lock(&host->document_lock);
	rc = lh_document_add(host->document, path, json, err);
	pthread_mutex_unlock(&host->document_lock);
	return rc;
}

int lh_host_modify(struct lh_host *host, const char *request_json, struct lh_error *err)
{
	cJSON *request = cJSON_Parse(request_json);
	int rc;

	if (!request)
		return LH_FAIL(err, -EINVAL, "request is not valid JSON: %.200s", request_json);
	rc = host->driver->ops->modify(host->driver, host->uvm.id, request, err);
	cJSON_Delete(request);
	return rc;
}

/* ---- instances ---------------------------------------------------------- */

void lh_instance_free(struct lh_instance *inst)
{
	if (!inst)
		return;
	if (inst->priv)
		inst->ops->close(inst->priv);
	free(inst->priv);
	lh_plugin_unload(inst->plugin);
	free(inst->name);
	free(inst);
}

/* Options: the plugin's defaults, then its [plugin.NAME] section, each key
 * checked against the plugin's table. */
static int instance_parse_options(struct lh_host *host, struct lh_instance *inst,
				  struct lh_error *err)
{
	const struct lh_plugin_section *sec = lh_config_plugin(host->cfg, inst->name);
	char where[512];
	int rc;

	rc = lh_options_set_defaults(inst->ops->options, inst->priv, inst->ops->name, err);
	for (size_t i = 0; rc == 0 && sec && i < sec->n_keys; i++) {
		snprintf(where, sizeof(where), "%s:%u: [plugin.%s] %s", host->cfg->path,
			 sec->keys[i].line, inst->name, sec->keys[i].key);
		rc = lh_options_apply(inst->ops->options, inst->priv, inst->ops->name,
				      sec->keys[i].key, sec->keys[i].value, where, err);
	}
	return rc;
}

static int instance_open(struct lh_host *host, struct lh_instance *inst, struct lh_error *err)
{
	int rc;

	inst->host = host;
	inst->services.abi_version = LH_BACKEND_ABI_VERSION;
	inst->services.struct_size = sizeof(inst->services);
	inst->services.ctx = inst;
	inst->services.modify = svc_modify;
	inst->services.log = svc_log;
	inst->services.copy_file = svc_copy_file;
	inst->services.grant_vm_access = svc_grant_vm_access;
	inst->services.uvm = svc_uvm;
	inst->services.next_mount_id = svc_next_mount_id;
	inst->services.probe_disk = svc_probe_disk;
	inst->services.document_add = svc_document_add;
	inst->services.gob = &lh_gob_codec;
	inst->priv = calloc(1, inst->ops->priv_size ? inst->ops->priv_size : 1);
	if (!inst->priv)
		return LH_FAIL(err, -ENOMEM, "plugin %s: out of memory", inst->name);
	rc = instance_parse_options(host, inst, err);
	if (rc == 0)
		rc = inst->ops->open(inst->priv, &inst->services, err);
	if (rc) {
		free(inst->priv);
		inst->priv = NULL;
	}
	return rc;
}

static int host_append(struct lh_host *host, struct lh_instance *inst, struct lh_error *err)
{
	struct lh_instance **grown;

	for (size_t i = 0; i < host->n_instances; i++)
		if (strcmp(host->instances[i]->ops->name, inst->ops->name) == 0)
			return LH_FAIL(err, -EEXIST,
				       "%s: refusing plugin: a backend named '%s' is already loaded "
				       "from %s", inst->plugin ? inst->plugin->path : inst->name,
				       inst->ops->name,
				       host->instances[i]->plugin ? host->instances[i]->plugin->path
								  : "the program");
	grown = realloc(host->instances, (host->n_instances + 1) * sizeof(*grown));
	if (!grown)
		return LH_FAIL(err, -ENOMEM, "out of memory");
	host->instances = grown;
	host->instances[host->n_instances++] = inst;
	return 0;
}

struct lh_instance *lh_host_instance(struct lh_host *host, const char *name)
{
	for (size_t i = 0; i < host->n_instances; i++)
		if (strcmp(host->instances[i]->name, name) == 0)
			return host->instances[i];
	return NULL;
}

static struct lh_instance *instance_alloc(const char *name, const struct lh_backend *ops,
					  struct lh_error *err)
{
	struct lh_instance *inst = calloc(1, sizeof(*inst));

	if (!inst || !(inst->name = strdup(name))) {
		free(inst);
		LH_FAIL(err, -ENOMEM, "out of memory");
		return NULL;
	}
	inst->ops = ops;
	return inst;
}

/* Put a new instance in host's list and open it; on failure it is out of
 * the list again and freed. `rc` is the outcome of the caller's own
 * preparation: non-zero frees inst straight away. */
static int host_adopt(struct lh_host *host, struct lh_instance *inst, int rc,
		      struct lh_error *err)
{
	if (rc == 0)
		rc = host_append(host, inst, err);
	if (rc == 0) {
		rc = instance_open(host, inst, err);
		if (rc)
			host->n_instances--;
	}
	if (rc)
		lh_instance_free(inst);
	return rc;
}

int lh_host_add_backend(struct lh_host *host, const char *name, struct lh_instance **out,
			struct lh_error *err)
{
	struct lh_instance *inst = lh_host_instance(host, name);
	int rc = 0;

	if (!inst) {
		inst = instance_alloc(name, NULL, err);
		if (!inst)
			return -ENOMEM;
		rc = lh_plugin_load(host->cfg->plugin_dir, name, &inst->plugin, err);
		if (rc == 0)
			inst->ops = inst->plugin->ops;
		rc = host_adopt(host, inst, rc, err);
	}
	if (rc == 0 && out)
		*out = inst;
	return rc;
}

int lh_host_add_static_backend(struct lh_host *host, const struct lh_backend *ops,
			       struct lh_instance **out, struct lh_error *err)
{
	struct lh_instance *inst = instance_alloc(ops->name, ops, err);
	int rc;

	if (!inst)
		return -ENOMEM;
	rc = host_adopt(host, inst, lh_backend_check(ops, "linked-in backend", err), err);
	if (rc == 0 && out)
		*out = inst;
	return rc;
}

int lh_instance_new_detached(struct lh_host *host, const struct lh_instance *like,
			     struct lh_instance **out, struct lh_error *err)
{
	struct lh_instance *inst = instance_alloc(like->name, like->ops, err);
	int rc;

	if (!inst)
		return -ENOMEM;
	rc = instance_open(host, inst, err);
	if (rc) {
		lh_instance_free(inst);
		return rc;
	}
	*out = inst;
	return 0;
}

void lh_host_replace_instance(struct lh_host *host, struct lh_instance *old,
			      struct lh_instance *fresh)
{
	for (size_t i = 0; i < host->n_instances; i++) {
		if (host->instances[i] != old)
			continue;
		fresh->plugin = old->plugin;
		old->plugin = NULL;
		host->instances[i] = fresh;
		lh_instance_free(old);
		return;
	}
}

int lh_host_open_instance_like(struct lh_host *host, const struct lh_instance *src,
			       struct lh_instance **out, struct lh_error *err)
{
	struct lh_instance *inst = instance_alloc(src->name, src->ops, err);
	int rc = 0;

	if (!inst)
		return -ENOMEM;
	/* The clone host keeps a module reference of its own, so either host
	 * can be closed first. */
	if (src->plugin)
		rc = lh_plugin_load_file(src->plugin->path, &inst->plugin, err);
	rc = host_adopt(host, inst, rc, err);
	if (rc == 0)
		*out = inst;
	return rc;
}

/* Every backend the roles of this UVM's OS name, then [plugin.NAME] ones. */
static int host_load_backends(struct lh_host *host, struct lh_error *err)
{
	const struct lh_config *cfg = host->cfg;
	const struct lh_role *roles[3];
	size_t n_roles = 0;
	int rc = 0;

	switch (cfg->os) {
	case LH_OS_LINUX:
		roles[n_roles++] = &cfg->lcow_layers;
		roles[n_roles++] = &cfg->lcow_scratch;
		break;
	case LH_OS_WINDOWS:
		roles[n_roles++] = &cfg->wcow_layers;
		roles[n_roles++] = &cfg->wcow_scratch;
		break;
	default:
		roles[n_roles++] = &cfg->host_layers;
		break;
	}
	for (size_t r = 0; rc == 0 && r < n_roles; r++)
		for (size_t i = 0; rc == 0 && i < roles[r]->n; i++)
			rc = lh_host_add_backend(host, roles[r]->backends[i], NULL, err);
	for (size_t i = 0; rc == 0 && i < cfg->n_plugins; i++)
		rc = lh_host_add_backend(host, cfg->plugins[i].name, NULL, err);
	return rc;
}

int lh_host_open(const struct lh_config *cfg, struct lh_driver *driver, const char *uvm_id,
		 struct lh_host **out, struct lh_error *err)
{
	struct lh_host *host = calloc(1, sizeof(*host));
	int rc = 0;

	*out = NULL;
	if (!host || !(host->uvm_id = strdup(uvm_id ? uvm_id : cfg->uvm_id))) {
		free(host);
		return LH_FAIL(err, -ENOMEM, "out of memory");
	}
	host->cfg = cfg;
	pthread_mutex_init(&host->document_lock, NULL);
	host->uvm.id = host->uvm_id;
	host->uvm.os = cfg->os;
	host->uvm.physically_backed = cfg->physically_backed;
	host->uvm.no_direct_map = cfg->no_direct_map;
	atomic_init(&host->mount_counter, 0);
	if (driver) {
		host->driver = driver;
	} else {
		rc = lh_driver_open(cfg, &host->driver, err);
		host->owns_driver = rc == 0;
	}
	if (rc == 0)
		rc = lh_pipeline_state_new(&host->pipeline, err);
	if (rc == 0)
		rc = host_load_backends(host, err);
	if (rc) {
		lh_host_close(host);
		return rc;
	}
	*out = host;
	return 0;
}

void lh_host_close(struct lh_host *host)
{
	if (!host)
		return;
	/* Backends close in reverse order of opening. */
	for (size_t i = host->n_instances; i-- > 0;)
		lh_instance_free(host->instances[i]);
	free(host->instances);
	lh_pipeline_state_free(host->pipeline);
	if (host->owns_driver)
		lh_driver_close(host->driver);
	cJSON_Delete(host->document);
	pthread_mutex_destroy(&host->document_lock);
	free(host->template_name);
	free(host->uvm_id);
	free(host);
}

/* ---- drivers ------------------------------------------------------------ */

int lh_driver_open(const struct lh_config *cfg, struct lh_driver **out, struct lh_error *err)
{
	if (strcmp(cfg->driver, "journal") == 0)
		return lh_journal_open(cfg->journal_path, cfg->journal_fsync, out, err);
	if (strcmp(cfg->driver, "null") == 0)
		return lh_null_driver_open(out, err);
	if (strcmp(cfg->driver, "qemu") == 0)
		return lh_qemu_driver_open(cfg, out, err);
	return LH_FAIL(err, -LH_EUNSUPPORTED, "%s: driver '%s' is not available in this build",
		       cfg->path, cfg->driver);
}

void lh_driver_close(struct lh_driver *drv)
{
	if (drv)
		drv->ops->close(drv);
}
