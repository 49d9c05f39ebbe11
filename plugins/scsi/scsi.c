/*
 * scsi.c - the SCSI attachment backend: disks at controller:LUN slots of
 * the UVM, shared between equal attaches and counted by live handles,
 * optionally mounted in the guest (hcsshim internal/uvm SCSI semantics).
 */
#include "scsi_private.h"

#include <errno.h>
#include <stdlib.h>

#define SCSI_EVD_PREFIX "evd://"

static int scsi_slot_index(const struct scsi_priv *priv, int controller, int lun)
{
	return controller * (int)priv->luns_per_controller + lun;
}

static bool scsi_slot_reserved(const struct scsi_priv *priv, int index)
{
	return priv->os == LH_OS_WINDOWS && index == 0;
}

int scsi_install(struct scsi_priv *priv, struct scsi_attachment *a, struct lh_error *err)
{
	size_t n = 0;
	int rc = lh_map_put_str(&priv->by_config, a->key, a);

	for (; rc == 0 && n < a->handles.n; n++)
		rc = lh_map_put_u64(&priv->by_handle, a->handles.ids[n], a);
	if (rc) {
		/* n counts the handle whose insert failed: undo the ones before. */
		for (size_t i = 0; i + 1 < n; i++)
			lh_map_del_u64(&priv->by_handle, a->handles.ids[i]);
		lh_map_del_str(&priv->by_config, a->key);
		return LH_FAIL(err, -ENOMEM, "scsi: out of memory indexing %s at %d:%d",
			       a->host_path, a->controller, a->lun);
	}
	scsi_slots_take(&priv->slots, scsi_slot_index(priv, a->controller, a->lun), a);
	priv->n_attachments++;
	return 0;
}

void scsi_reset(struct scsi_priv *priv)
{
	int n = (int)(priv->controllers * priv->luns_per_controller);

	for (int i = 0; i < n; i++)
		scsi_attachment_free(priv->slots.occupant[i]);
	scsi_slots_init(&priv->slots, (int)priv->controllers, (int)priv->luns_per_controller,
			priv->os == LH_OS_WINDOWS);
	lh_map_fini(&priv->by_handle);
	lh_map_fini(&priv->by_config);
	priv->n_attachments = 0;
	priv->next_handle = 1;
}

static int scsi_open(void *opaque, const struct lh_host_services *host, struct lh_error *err)
{
	struct scsi_priv *priv = opaque;
	const struct lh_uvm_info *uvm = host->uvm(host->ctx);
	int rc = 0;

	/* The blob carries no version of its own: the host must tell it. */
	if (!lh_services_tell_version(host))
		return LH_FAIL(err, -LH_EVERSION, "scsi: the host's services are older than "
			       "ABI v2 (no serial version for decode)");
	priv->host = host;
	priv->os = uvm ? uvm->os : LH_OS_NONE;
	lh_map_init(&priv->by_handle, LH_MAP_U64, NULL);
	lh_map_init(&priv->by_config, LH_MAP_STRING, NULL);
	rc = -pthread_mutex_init(&priv->lock, NULL);
	if (rc) {
		rc = LH_FAIL(err, rc, "scsi: cannot create the lock");
		goto out;
	}
	rc = -pthread_cond_init(&priv->changed, NULL);
	if (rc) {
		rc = LH_FAIL(err, rc, "scsi: cannot create the condition variable");
		goto out_lock;
	}
	priv->lock_ready = true;
	scsi_reset(priv);
	goto out;
out_lock:
	pthread_mutex_destroy(&priv->lock);
out:
	return rc;
}

static void scsi_close(void *opaque)
{
	struct scsi_priv *priv = opaque;

	if (!priv->lock_ready)
		return;
	scsi_reset(priv);
	pthread_cond_destroy(&priv->changed);
	pthread_mutex_destroy(&priv->lock);
	priv->lock_ready = false;
}

/* ---- attach -------------------------------------------------------------- */

/* What an attach asks for once the request is parsed and the disk probed. */
struct scsi_wanted {
	enum scsi_type type;
	const char *path;       /* borrowed from the request */
	char evd_type[SCSI_TYPE_CAP];
	bool read_only;
	bool guest_mount;
	int slot;               /* explicit slot index, or -1 */
};

/* "evd://<type>/<path>": hcsshim splits at the first '/' after the type. */
static int scsi_parse_evd(const char *host_path, struct scsi_wanted *w, struct lh_error *err)
{
	const char *type = host_path + strlen(SCSI_EVD_PREFIX);
	const char *slash = strchr(type, '/');

	if (!slash || slash == type || !slash[1] || (size_t)(slash - type) >= SCSI_TYPE_CAP)
		return LH_FAIL(err, -EINVAL, "scsi: %s: not an \"evd://<type>/<path>\" path",
			       host_path);
	memcpy(w->evd_type, type, (size_t)(slash - type));
	w->evd_type[slash - type] = '\0';
	w->path = slash + 1;
	return 0;
}

static int scsi_parse_request(struct scsi_priv *priv, const struct lh_attach_request *req,
			      struct scsi_wanted *w, struct lh_error *err)
{
	bool evd_url;
	int type;

	memset(w, 0, sizeof(*w));
	w->slot = -1;
	if (!req || req->struct_size < offsetof(struct lh_attach_request, container_id) ||
	    !req->host_path || !req->host_path[0])
		return LH_FAIL(err, -EINVAL, "scsi: attach request without a host path");
	if (priv->controllers == 0)
		return LH_FAIL(err, -LH_ENOCONTROLLERS,
			       "scsi: cannot attach %s: no SCSI controllers configured",
			       req->host_path);
	evd_url = strncmp(req->host_path, SCSI_EVD_PREFIX, strlen(SCSI_EVD_PREFIX)) == 0;
	type = req->attach_type ? scsi_type_parse(req->attach_type)
				: evd_url || req->evd_type ? SCSI_TYPE_EVD : SCSI_TYPE_VIRTUAL_DISK;
	if (type < 0)
		return LH_FAIL(err, -EINVAL, "scsi: %s: unknown attachment type \"%s\"",
			       req->host_path, req->attach_type);
	w->type = (enum scsi_type)type;
	w->path = req->host_path;
	if (w->type == SCSI_TYPE_EVD && evd_url) {
		int rc = scsi_parse_evd(req->host_path, w, err);

		if (rc)
			return rc;
	} else if (w->type == SCSI_TYPE_EVD) {
		if (!req->evd_type || !req->evd_type[0] || strlen(req->evd_type) >= SCSI_TYPE_CAP)
			return LH_FAIL(err, -EINVAL,
				       "scsi: %s: an extensible virtual disk needs a provider type",
				       req->host_path);
		snprintf(w->evd_type, sizeof(w->evd_type), "%s", req->evd_type);
	} else if (evd_url) {
		return LH_FAIL(err, -EINVAL, "scsi: %s: an evd:// path with attachment type %s",
			       req->host_path, scsi_type_name(w->type));
	}
	w->read_only = req->flags & LH_ATTACH_READ_ONLY;
	w->guest_mount = req->uvm_path || (req->flags & LH_ATTACH_GUEST_MOUNT);
	if (w->guest_mount && priv->os == LH_OS_NONE)
		return LH_FAIL(err, -LH_EUNSUPPORTED,
			       "scsi: %s: a guest mount needs a UVM, and there is none",
			       req->host_path);
	if (req->n_guest_options > SCSI_MAX_GUEST_OPTIONS)
		return LH_FAIL(err, -EINVAL, "scsi: %s: %zu guest options, at most %d",
			       req->host_path, req->n_guest_options, SCSI_MAX_GUEST_OPTIONS);
	if (req->controller >= 0 || req->lun >= 0) {
		if (req->controller < 0 || req->controller >= priv->controllers || req->lun < 0 ||
		    req->lun >= priv->luns_per_controller)
			return LH_FAIL(err, -LH_ENOLOCATION,
				       "scsi: %s: slot %d:%d is outside %lld controller(s) x %lld LUNs",
				       req->host_path, req->controller, req->lun,
				       (long long)priv->controllers,
				       (long long)priv->luns_per_controller);
		w->slot = scsi_slot_index(priv, req->controller, req->lun);
	}
	return 0;
}

/* Refuse what is not a disk of the type asked for before any request. */
static int scsi_check_disk(struct scsi_priv *priv, const struct scsi_wanted *w,
			   struct lh_error *err)
{
	struct lh_disk_info info;
	int rc;

	if (w->type == SCSI_TYPE_EVD)
		return 0; /* the provider owns the path's meaning */
	rc = priv->host->probe_disk(priv->host->ctx, w->path, &info, err);
	if (rc)
		return rc;
	if (w->type == SCSI_TYPE_PASS_THRU && info.format != LH_DISK_BLOCK_DEVICE)
		return LH_FAIL(err, -LH_EBADDISK,
			       "scsi: %s: PassThru needs a block device, found a disk file",
			       w->path);
	if (w->type == SCSI_TYPE_VIRTUAL_DISK && info.format == LH_DISK_BLOCK_DEVICE)
		return LH_FAIL(err, -LH_EBADDISK,
			       "scsi: %s: is a block device, not a VHD/VHDX (attach it as PassThru)",
			       w->path);
	return 0;
}

static struct scsi_attachment *scsi_attachment_new(struct scsi_priv *priv,
						   const struct scsi_wanted *w,
						   const struct lh_attach_request *req, char *key)
{
	struct scsi_attachment *a = calloc(1, sizeof(*a));
	char *uvm_path = NULL;
	bool ok;

	if (!a)
		return NULL;
	a->key = key;
	a->type = w->type;
	a->read_only = w->read_only;
	a->state = SCSI_ATTACHING;
	if (req->uvm_path)
		uvm_path = strdup(req->uvm_path);
	else if (!w->guest_mount)
		uvm_path = strdup("");
	else if (asprintf(&uvm_path,
			  priv->os == LH_OS_WINDOWS ? "C:\\mounts\\m%llu" : "/run/mounts/m%llu",
			  (unsigned long long)priv->host->next_mount_id(priv->host->ctx)) < 0)
		uvm_path = NULL;
	a->uvm_path = uvm_path;
	a->host_path = strdup(w->path);
	a->evd_type = strdup(w->evd_type);
	a->guest_options = req->n_guest_options
				   ? calloc(req->n_guest_options, sizeof(*a->guest_options))
				   : NULL;
	ok = a->uvm_path && a->host_path && a->evd_type &&
	     (a->guest_options || !req->n_guest_options);
	for (size_t i = 0; ok && i < req->n_guest_options; i++) {
		a->guest_options[i] = strdup(req->guest_options[i] ? req->guest_options[i] : "");
		ok = a->guest_options[i] != NULL;
		a->n_guest_options = i + 1;
	}
	if (!ok) {
		a->key = NULL; /* still the caller's */
		scsi_attachment_free(a);
		a = NULL;
	}
	return a;
}

static void scsi_fill_result(const struct scsi_attachment *a, uint64_t handle, bool shared,
			     struct lh_attach_result *res)
{
	res->handle = handle;
	res->shared = shared;
	snprintf(res->uvm_path, sizeof(res->uvm_path), "%s", a->uvm_path);
	snprintf(res->location, sizeof(res->location), "%d:%d", a->controller, a->lun);
	res->controller = a->controller;
	res->lun = a->lun;
	res->device = -1;
	res->offset = res->size = 0;
}

/* Another reference on a live attachment; priv->lock held. */
static int scsi_share(struct scsi_priv *priv, struct scsi_attachment *a,
		      const struct scsi_wanted *w, struct lh_attach_result *res,
		      struct lh_error *err)
{
	uint64_t handle = priv->next_handle;

	if (w->guest_mount && !a->uvm_path[0])
		return LH_FAIL(err, -LH_EREFUSED,
			       "scsi: %s is attached at %d:%d without a guest mount; cannot "
			       "share it as a mounted disk", a->host_path, a->controller, a->lun);
	if (w->slot >= 0 && w->slot != scsi_slot_index(priv, a->controller, a->lun))
		return LH_FAIL(err, -LH_EREFUSED, "scsi: %s is already attached at %d:%d",
			       a->host_path, a->controller, a->lun);
	if (lh_handles_add(&a->handles, handle))
		return LH_FAIL(err, -ENOMEM, "scsi: out of memory sharing %s", a->host_path);
	if (lh_map_put_u64(&priv->by_handle, handle, a)) {
		lh_handles_drop(&a->handles, handle);
		return LH_FAIL(err, -ENOMEM, "scsi: out of memory sharing %s", a->host_path);
	}
	priv->next_handle++;
	/* The first user's mount path, not the one this caller would have
	 * made up (hcsshim #804). */
	scsi_fill_result(a, handle, true, res);
	return 0;
}

/* Pick the slot for a new attachment; priv->lock held. */
static int scsi_pick_slot(struct scsi_priv *priv, const struct scsi_wanted *w, int *slot,
			  struct lh_error *err)
{
	int luns = (int)priv->luns_per_controller;

	if (w->slot >= 0) {
		if (priv->slots.occupant[w->slot])
			return LH_FAIL(err, -LH_ENOLOCATION, "scsi: %s: slot %d:%d is taken",
				       w->path, w->slot / luns, w->slot % luns);
		*slot = w->slot;
		return 0;
	}
	*slot = scsi_slots_first_free(&priv->slots);
	if (*slot < 0)
		return LH_FAIL(err, -LH_ENOLOCATION,
			       "scsi: %s: no free slot in %lld controller(s) x %d LUNs%s", w->path,
			       (long long)priv->controllers, luns,
			       priv->os == LH_OS_WINDOWS ? " (0:0 reserved for the UVM scratch)"
							 : "");
	return 0;
}

/* Forget an attachment whose add failed; priv->lock held. Waiters read
 * the outcome, and the last one out frees it. */
static void scsi_abandon(struct scsi_priv *priv, struct scsi_attachment *a,
			 const struct lh_error *why)
{
	int index = scsi_slot_index(priv, a->controller, a->lun);

	lh_map_del_str(&priv->by_config, a->key);
	scsi_slots_vacate(&priv->slots, index, scsi_slot_reserved(priv, index));
	priv->n_attachments--;
	a->state = SCSI_FAILED;
	if (why)
		a->outcome = *why;
	if (!a->outcome.code)
		lh_error_set(&a->outcome, -EIO, __func__, "scsi: attaching %s failed", a->host_path);
	if (a->waiters == 0)
		scsi_attachment_free(a);
	pthread_cond_broadcast(&priv->changed);
}

/* Wait for an in-flight add of an equal config; priv->lock held. Returns
 * 1 when a is live (share it), 2 when it went away meanwhile (look the
 * config up again), or the add's failure. */
static int scsi_wait_outcome(struct scsi_priv *priv, struct scsi_attachment *a,
			     struct lh_error *err)
{
	int rc = 1;

	a->waiters++;
	while (a->state == SCSI_ATTACHING)
		pthread_cond_wait(&priv->changed, &priv->lock);
	a->waiters--;
	if (a->state == SCSI_FAILED) {
		rc = a->outcome.code;
		if (err && err->code == 0)
			*err = a->outcome;
	} else if (a->state != SCSI_LIVE) {
		rc = 2;
	}
	if ((a->state == SCSI_FAILED || a->state == SCSI_GONE) && a->waiters == 0)
		scsi_attachment_free(a);
	return rc;
}

/* Add a new attachment to the VM: the lock is dropped around the host's
 * grant and request so other slots proceed meanwhile. */
static int scsi_attach_new(struct scsi_priv *priv, struct scsi_attachment *a,
			   const struct lh_attach_request *req, struct lh_attach_result *res,
			   struct lh_error *err)
{
	const struct lh_host_services *host = priv->host;
	struct lh_error local = { 0 };
	uint64_t handle;
	char *json = NULL;
	int rc;

	pthread_mutex_unlock(&priv->lock);
	rc = host->grant_vm_access(host->ctx, a->host_path, req->access, &local);
	if (rc == 0) {
		json = scsi_request_add(a, priv->os);
		if (!json)
			rc = LH_FAIL(&local, -ENOMEM, "scsi: out of memory building the add of %s",
				     a->host_path);
	}
	if (rc == 0)
		rc = host->modify(host->ctx, json, &local);
	free(json);
	pthread_mutex_lock(&priv->lock);
	if (rc == 0) {
		handle = priv->next_handle;
		if (lh_handles_add(&a->handles, handle) ||
		    lh_map_put_u64(&priv->by_handle, handle, a)) {
			/* Nothing half done: take the disk out again. */
			rc = LH_FAIL(&local, -ENOMEM, "scsi: out of memory recording %s at %d:%d",
				     a->host_path, a->controller, a->lun);
			lh_handles_drop(&a->handles, handle);
			json = scsi_request_remove(a, priv->os);
			pthread_mutex_unlock(&priv->lock);
			if (json && host->modify(host->ctx, json, NULL))
				host->log(host->ctx, LH_LOG_ERROR,
					  "cannot undo the add of %s at %d:%d", a->host_path,
					  a->controller, a->lun);
			free(json);
			pthread_mutex_lock(&priv->lock);
		} else {
			priv->next_handle++;
		}
	}
	if (rc) {
		if (err && err->code == 0)
			*err = local;
		scsi_abandon(priv, a, &local);
		return rc;
	}
	a->state = SCSI_LIVE;
	pthread_cond_broadcast(&priv->changed);
	scsi_fill_result(a, handle, false, res);
	return 0;
}

static int scsi_attach(void *opaque, const struct lh_attach_request *req,
		       struct lh_attach_result *res, struct lh_error *err)
{
	struct scsi_priv *priv = opaque;
	struct scsi_attachment *a;
	struct scsi_wanted w;
	char *key = NULL;
	int slot = -1, rc;

	rc = scsi_parse_request(priv, req, &w, err);
	if (rc == 0)
		rc = scsi_check_disk(priv, &w, err);
	if (rc)
		return rc;
	key = scsi_config_key(w.type, w.read_only, w.evd_type, w.path);
	if (!key)
		return LH_FAIL(err, -ENOMEM, "scsi: out of memory attaching %s", w.path);
	pthread_mutex_lock(&priv->lock);
	for (;;) {
		a = lh_map_get_str(&priv->by_config, key);
		if (!a)
			break;
		if (a->state == SCSI_REMOVING) {
			/* Its last user is taking it out: attach afresh after. */
			pthread_cond_wait(&priv->changed, &priv->lock);
			continue;
		}
		/* Same outcome as the first attach of this config (hcsshim #1483). */
		rc = a->state == SCSI_ATTACHING ? scsi_wait_outcome(priv, a, err) : 1;
		if (rc == 2)
			continue;
		if (rc == 1)
			rc = scsi_share(priv, a, &w, res, err);
		goto out_unlock;
	}
	rc = scsi_pick_slot(priv, &w, &slot, err);
	if (rc)
		goto out_unlock;
	a = scsi_attachment_new(priv, &w, req, key);
	if (!a) {
		rc = LH_FAIL(err, -ENOMEM, "scsi: out of memory attaching %s", w.path);
		goto out_unlock;
	}
	key = NULL;
	a->controller = slot / (int)priv->luns_per_controller;
	a->lun = slot % (int)priv->luns_per_controller;
	if (lh_map_put_str(&priv->by_config, a->key, a)) {
		rc = LH_FAIL(err, -ENOMEM, "scsi: out of memory attaching %s", w.path);
		scsi_attachment_free(a);
		goto out_unlock;
	}
	scsi_slots_take(&priv->slots, slot, a);
	priv->n_attachments++;
	rc = scsi_attach_new(priv, a, req, res, err);
out_unlock:
	pthread_mutex_unlock(&priv->lock);
	free(key);
	return rc;
}

/* ---- release / list ------------------------------------------------------- */

static int scsi_release(void *opaque, uint64_t handle, struct lh_error *err)
{
	struct scsi_priv *priv = opaque;
	const struct lh_host_services *host = priv->host;
	struct scsi_attachment *a;
	char *json;
	int index, rc = 0;

	pthread_mutex_lock(&priv->lock);
	a = lh_map_get_u64(&priv->by_handle, handle);
	if (!a) {
		rc = LH_FAIL(err, -LH_ENOTATTACHED, "scsi: handle %llu is not attached",
			     (unsigned long long)handle);
		goto out_unlock;
	}
	/* Its last handle is being released by another thread right now. */
	if (a->state == SCSI_REMOVING) {
		rc = LH_FAIL(err, -LH_ENOTATTACHED, "scsi: handle %llu is being released",
			     (unsigned long long)handle);
		goto out_unlock;
	}
	if (a->handles.n > 1) {
		lh_map_del_u64(&priv->by_handle, handle);
		lh_handles_drop(&a->handles, handle); /* the rest keep encode's order */
		goto out_unlock;
	}
	a->state = SCSI_REMOVING;
	pthread_mutex_unlock(&priv->lock);
	json = scsi_request_remove(a, priv->os);
	rc = json ? host->modify(host->ctx, json, err)
		  : LH_FAIL(err, -ENOMEM, "scsi: out of memory removing %s at %d:%d",
			    a->host_path, a->controller, a->lun);
	free(json);
	pthread_mutex_lock(&priv->lock);
	if (rc) {
		a->state = SCSI_LIVE; /* still in the VM: the handle stays valid */
	} else {
		lh_map_del_u64(&priv->by_handle, handle);
		index = scsi_slot_index(priv, a->controller, a->lun);
		lh_map_del_str(&priv->by_config, a->key);
		scsi_slots_vacate(&priv->slots, index, scsi_slot_reserved(priv, index));
		priv->n_attachments--;
		a->state = SCSI_GONE;
		if (a->waiters == 0)
			scsi_attachment_free(a);
	}
	pthread_cond_broadcast(&priv->changed);
out_unlock:
	pthread_mutex_unlock(&priv->lock);
	return rc;
}

/* Slot order is controller-then-LUN order. The lock is held across fn, so
 * fn must not call back into this instance. */
static int scsi_list(void *opaque, lh_visit_fn fn, void *arg)
{
	struct scsi_priv *priv = opaque;
	int n = (int)(priv->controllers * priv->luns_per_controller);
	int rc = 0;

	pthread_mutex_lock(&priv->lock);
	for (int i = 0; rc == 0 && i < n; i++) {
		const struct scsi_attachment *a = priv->slots.occupant[i];
		struct lh_attachment_info info;
		char location[32];

		if (!a || a->state != SCSI_LIVE)
			continue;
		snprintf(location, sizeof(location), "%d:%d", a->controller, a->lun);
		memset(&info, 0, sizeof(info));
		info.host_path = a->host_path;
		info.uvm_path = a->uvm_path;
		info.location = location;
		info.refs = (uint32_t)a->handles.n;
		info.read_only = a->read_only;
		info.note = scsi_slot_reserved(priv, i) ? "UVM scratch slot" : NULL;
		rc = fn(arg, &info);
	}
	pthread_mutex_unlock(&priv->lock);
	return rc;
}

/* ---- the ops table ---------------------------------------------------------- */

static const struct lh_option scsi_options[] = {
	{
		.name = "controllers",
		.type = LH_OPT_INT,
		.offset = offsetof(struct scsi_priv, controllers),
		.min = 0,
		.max = SCSI_MAX_CONTROLLERS,
		.default_value = "1",
		.help = "SCSI controllers of the UVM (0: SCSI attaches fail)",
	},
	{
		.name = "luns_per_controller",
		.type = LH_OPT_INT,
		.offset = offsetof(struct scsi_priv, luns_per_controller),
		.min = 1,
		.max = SCSI_MAX_LUNS,
		.default_value = "64",
		.help = "LUNs on each controller (Hyper-V: 64)",
	},
	{ .name = NULL },
};

/* The VM holds the controllers and LUNs this backend places disks on. */
static void scsi_vm_needs(void *opaque, struct lh_vm_needs *needs)
{
	const struct scsi_priv *priv = opaque;

	needs->scsi_controllers = (uint32_t)priv->controllers;
	needs->scsi_luns_per_controller = (uint32_t)priv->luns_per_controller;
}

static const struct lh_backend scsi_backend = {
	.abi_version = LH_BACKEND_ABI_VERSION,
	.struct_size = sizeof(struct lh_backend),
	.name = "scsi",
	.priv_size = sizeof(struct scsi_priv),
	.options = scsi_options,
	.serial_version = SCSI_SERIAL_VERSION,
	.open = scsi_open,       /* v1 */
	.attach = scsi_attach,   /* v1 */
	.release = scsi_release, /* v1 */
	.encode = scsi_encode,   /* v1 */
	.decode = scsi_decode,   /* v1 */
	.clone = scsi_clone,     /* v1 */
	.list = scsi_list,       /* v1 */
	.close = scsi_close,     /* v1 */
	.result_size = sizeof(struct lh_attach_result), /* v2 */
	.option_size = sizeof(struct lh_option),        /* v2 */
	.vm_needs = scsi_vm_needs,                      /* v2 */
	.roles = LH_ROLE_LCOW_LAYERS | LH_ROLE_LCOW_SCRATCH | LH_ROLE_WCOW_SCRATCH, /* v2 */
};

LH_BACKEND_EXPORT const struct lh_backend *layerhost_backend_entry(void)
{
	return &scsi_backend;
}
