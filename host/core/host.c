/* host.c - see host.h. */
#include "host.h"

#include "backend_calls.h"
#include "log.h"
#include "pipeline.h"
#include "registry.h"
#include "services.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

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
		lh_backend_close(inst);
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
	struct lh_option_list options = lh_backend_options(inst->ops);
	char where[512];
	int rc;

	rc = lh_options_set_defaults(&options, inst->priv, err);
	for (size_t i = 0; rc == 0 && sec && i < sec->n_keys; i++) {
		snprintf(where, sizeof(where), "%s:%u: [plugin.%s] %s", host->cfg->path,
			 sec->keys[i].line, inst->name, sec->keys[i].key);
		rc = lh_options_apply(&options, inst->priv, sec->keys[i].key, sec->keys[i].value,
				      where, err);
	}
	return rc;
}

static int instance_open(struct lh_host *host, struct lh_instance *inst, struct lh_error *err)
{
	int rc;

	inst->host = host;
	lh_services_init(&inst->services, inst);
	inst->priv = calloc(1, inst->ops->priv_size ? inst->ops->priv_size : 1);
	if (!inst->priv)
		return LH_FAIL(err, -ENOMEM, "plugin %s: out of memory", inst->name);
	rc = instance_parse_options(host, inst, err);
	if (rc == 0)
		rc = lh_backend_open(inst, err);
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

/* ---- the driver and the VM -------------------------------------------------- */

void lh_host_vm_needs(struct lh_host *host, struct lh_vm_needs *needs)
{
	memset(needs, 0, sizeof(*needs));
	needs->struct_size = sizeof(*needs);
	for (size_t i = 0; i < host->n_instances; i++)
		lh_backend_vm_needs(host->instances[i], needs);
}

/* Tell the driver what the opened backends need of the VM. */
static int host_configure_driver(struct lh_host *host, struct lh_error *err)
{
	struct lh_vm_needs needs;

	if (!host->driver->ops->configure)
		return 0;
	lh_host_vm_needs(host, &needs);
	return host->driver->ops->configure(host->driver, &needs, err);
}

int lh_host_flush(struct lh_host *host, struct lh_error *err)
{
	if (!host->driver->ops->flush)
		return 0;
	return host->driver->ops->flush(host->driver, err);
}

const char *lh_host_driver_name(const struct lh_host *host)
{
	return host->driver->ops->name;
}

/* A VM slot the driver may lack: say which driver, and what to set. */
static int host_no_vm(const struct lh_host *host, struct lh_error *err)
{
	return LH_FAIL(err, -LH_EUNSUPPORTED, "%s: driver '%s' runs no VM (set [host] driver = "
		       "qemu)", host->cfg->path, lh_host_driver_name(host));
}

int lh_host_vm_start(struct lh_host *host, struct lh_error *err)
{
	if (!host->driver->ops->vm_start)
		return host_no_vm(host, err);
	return host->driver->ops->vm_start(host->driver, host->uvm.id, err);
}

int lh_host_vm_stop(struct lh_host *host, struct lh_error *err)
{
	if (!host->driver->ops->vm_stop)
		return host_no_vm(host, err);
	return host->driver->ops->vm_stop(host->driver, host->uvm.id, err);
}

int lh_host_vm_boot(struct lh_host *host, char *buf, size_t cap, struct lh_error *err)
{
	buf[0] = '\0';
	if (!host->driver->ops->vm_boot)
		return -LH_EUNSUPPORTED;
	return host->driver->ops->vm_boot(host->driver, host->uvm.id, buf, cap, err);
}

int lh_host_vm_exec(struct lh_host *host, const struct lh_vm_exec *e,
		    struct lh_vm_exec_result *res, struct lh_error *err)
{
	memset(res, 0, sizeof(*res));
	if (!host->driver->ops->vm_exec)
		return LH_FAIL(err, -LH_EUNSUPPORTED, "%s: driver '%s' runs no guest to run "
			       "commands in (set [host] driver = qemu, with a guest)",
			       host->cfg->path, lh_host_driver_name(host));
	return host->driver->ops->vm_exec(host->driver, host->uvm.id, e, res, err);
}

int lh_host_vm_status(struct lh_host *host, cJSON **out, struct lh_error *err)
{
	*out = NULL;
	if (!host->driver->ops->vm_status)
		return host_no_vm(host, err);
	return host->driver->ops->vm_status(host->driver, host->uvm.id, out, err);
}

/* The [pipeline] roles, their keys and the bit a backend declares. */
static const struct host_role {
	const char *key;
	size_t offset;
	uint32_t bit;
	enum lh_uvm_os os;
} host_roles[] = {
	{ "lcow.layers", offsetof(struct lh_config, lcow_layers), LH_ROLE_LCOW_LAYERS, LH_OS_LINUX },
	{ "lcow.scratch", offsetof(struct lh_config, lcow_scratch), LH_ROLE_LCOW_SCRATCH,
	  LH_OS_LINUX },
	{ "wcow.layers", offsetof(struct lh_config, wcow_layers), LH_ROLE_WCOW_LAYERS,
	  LH_OS_WINDOWS },
	{ "wcow.scratch", offsetof(struct lh_config, wcow_scratch), LH_ROLE_WCOW_SCRATCH,
	  LH_OS_WINDOWS },
	{ "host", offsetof(struct lh_config, host_layers), LH_ROLE_HOST, LH_OS_NONE },
};

/* A backend in a role it does not declare: name the line and what it does
 * serve. A backend that declares nothing is taken at its word. */
static int host_check_role(struct lh_host *host, const struct host_role *r,
			   const struct lh_role *role, struct lh_instance *inst, struct lh_error *err)
{
	uint32_t roles = lh_backend_roles(inst);
	char serves[128] = "";
	char where[64] = "";

	if (!roles || (roles & r->bit))
		return 0;
	for (size_t i = 0; i < sizeof(host_roles) / sizeof(host_roles[0]); i++)
		if (roles & host_roles[i].bit)
			snprintf(serves + strlen(serves), sizeof(serves) - strlen(serves), "%s%s",
				 serves[0] ? ", " : "", host_roles[i].key);
	if (role->line)
		snprintf(where, sizeof(where), ":%u", role->line);
	return LH_FAIL(err, -LH_ECONFIG, "%s%s: [pipeline] %s: backend '%s' does not serve this "
		       "role (it serves: %s)%s", host->cfg->path, where, r->key, inst->name, serves,
		       role->line ? "" : " (the role's default)");
}

/* Every backend the roles of this UVM's OS name, each checked to serve its
 * role, then [plugin.NAME] ones. */
static int host_load_backends(struct lh_host *host, struct lh_error *err)
{
	const struct lh_config *cfg = host->cfg;
	int rc = 0;

	for (size_t r = 0; rc == 0 && r < sizeof(host_roles) / sizeof(host_roles[0]); r++) {
		const struct lh_role *role =
			(const struct lh_role *)((const char *)cfg + host_roles[r].offset);
		struct lh_instance *inst = NULL;

		if (host_roles[r].os != cfg->os)
			continue;
		for (size_t i = 0; rc == 0 && i < role->n; i++) {
			rc = lh_host_add_backend(host, role->backends[i], &inst, err);
			if (rc == 0)
				rc = host_check_role(host, &host_roles[r], role, inst, err);
		}
	}
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
		struct lh_driver_params params;

		lh_config_driver_params(cfg, &params);
		rc = lh_driver_open(cfg->driver, &params, &host->driver, err);
		host->owns_driver = rc == 0;
	}
	if (rc == 0)
		rc = lh_pipeline_state_new(&host->pipeline, err);
	if (rc == 0)
		rc = host_load_backends(host, err);
	if (rc == 0)
		rc = host_configure_driver(host, err);
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

/* ---- what the UVM is ------------------------------------------------------------ */

int lh_host_mark_template(struct lh_host *host, const char *name, struct lh_error *err)
{
	char *copy = strdup(name);

	if (!copy)
		return LH_FAIL(err, -ENOMEM, "out of memory");
	free(host->template_name);
	host->template_name = copy;
	host->uvm.is_template = true;
	return 0;
}

void lh_host_set_identity(struct lh_host *host, const struct lh_uvm_identity *id,
			  char *template_name)
{
	host->uvm.physically_backed = id->physically_backed;
	host->uvm.no_direct_map = id->no_direct_map;
	host->uvm.is_template = id->is_template;
	host->uvm.is_clone = id->is_clone;
	free(host->template_name);
	host->template_name = template_name;
	atomic_store(&host->mount_counter, id->mount_counter);
	snprintf(host->vm_boot, sizeof(host->vm_boot), "%s", id->vm_boot);
}

void lh_host_identity(struct lh_host *host, struct lh_uvm_identity *out)
{
	out->physically_backed = host->uvm.physically_backed;
	out->no_direct_map = host->uvm.no_direct_map;
	out->is_template = host->uvm.is_template;
	out->is_clone = host->uvm.is_clone;
	out->mount_counter = atomic_load(&host->mount_counter);
	snprintf(out->vm_boot, sizeof(out->vm_boot), "%s", host->vm_boot);
}
