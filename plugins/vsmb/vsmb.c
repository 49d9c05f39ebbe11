/*
 * vsmb.c - the VSMB backend: host directories and single files shared into
 * a UVM as VirtualSmb shares (hcsshim internal/uvm/vsmb.go).
 *
 * Locking: one mutex guards all of priv. A request is never issued with the
 * mutex held; the share it concerns is marked busy instead, and anyone else
 * needing that share waits on `idle` and then looks again, so an identical
 * attach racing an Add gets the Add's outcome.
 */
#include "vsmb.h"

#include "lh_list.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>

static const struct lh_option vsmb_options[] = {
	{
		.name = "no_writable_file_shares",
		.type = LH_OPT_BOOL,
		.offset = offsetof(struct vsmb_priv, no_writable_file_shares),
		.default_value = "false",
		.help = "refuse writable shares (hcsshim NoWritableFileShares)",
	},
	{
		.name = "no_direct_map",
		.type = LH_OPT_BOOL,
		.offset = offsetof(struct vsmb_priv, no_direct_map),
		.default_value = "false",
		.help = "share without direct mapping (also when the UVM asks or is physically backed)",
	},
	{ .name = NULL },
};

/* What an attach request names, resolved before any lock or request. */
struct vsmb_target {
	struct vsmb_key key;
	char share_path[LH_PATH_CAP]; /* the directory to share */
	char file_path[LH_PATH_CAP];  /* file shares: the file, clean */
	uint32_t options;
};

/* ---- state helpers ------------------------------------------------------- */

int vsmb_link_share(struct vsmb_priv *priv, struct vsmb_share *share)
{
	int rc = lh_map_put(&priv->shares, share->hash, share);

	if (rc == 0)
		LH_LIST_APPEND(priv->first, priv->last, share);
	return rc;
}

void vsmb_unlink_share(struct vsmb_priv *priv, struct vsmb_share *share)
{
	struct vsmb_key key = { .file_share = share->file_share, .read_only = share->read_only,
				.path = share->path };

	/* The only share of its key in the map: a second one is never added
	 * while the first is linked. */
	lh_map_del(&priv->shares, share->hash, &key);
	LH_LIST_REMOVE(priv->first, priv->last, share);
}

int vsmb_add_handle(struct vsmb_priv *priv, uint64_t id, struct vsmb_share *share,
		    struct vsmb_file *file)
{
	struct vsmb_handle *handle = malloc(sizeof(*handle));

	if (!handle || lh_map_put_u64(&priv->handles, id, handle) != 0) {
		free(handle);
		return -ENOMEM;
	}
	handle->id = id;
	handle->share = share;
	handle->file = file;
	share->refs++;
	if (file)
		file->refs++;
	return 0;
}

static void vsmb_drop_handle(struct vsmb_priv *priv, struct vsmb_handle *handle)
{
	lh_map_del_u64(&priv->handles, handle->id);
	handle->share->refs--;
	if (handle->file)
		handle->file->refs--;
	free(handle);
}

void vsmb_clear(struct vsmb_priv *priv)
{
	struct vsmb_handle *handle;
	size_t cursor = 0;

	while ((handle = lh_map_next(&priv->handles, &cursor)))
		free(handle);
	lh_map_fini(&priv->handles);
	while (priv->first) {
		struct vsmb_share *share = priv->first;

		vsmb_unlink_share(priv, share);
		vsmb_share_free(share);
	}
	lh_map_fini(&priv->shares);
	priv->share_counter = 0;
	priv->next_handle = 1;
}

/* Give up `share` after waiting on it: the last one out frees a share that
 * no longer exists. */
static void vsmb_forget(struct vsmb_share *share)
{
	if (share->state == VSMB_GONE && share->waiters == 0 && !share->busy)
		vsmb_share_free(share);
}

/*
 * Wait until `share` is not busy. Returns 0 when it is still live, -EAGAIN
 * when it went away (look it up again), or the failure of the Add it was
 * waiting for (copied into err). Lock held.
 */
static int vsmb_wait_idle(struct vsmb_priv *priv, struct vsmb_share *share, struct lh_error *err)
{
	int rc = 0;

	share->waiters++;
	while (share->busy)
		pthread_cond_wait(&priv->idle, &priv->lock);
	share->waiters--;
	if (share->state != VSMB_GONE)
		return 0;
	if (share->failure.code) {
		rc = lh_error_set(err, share->failure.code, share->failure.func, "%s",
				  share->failure.message);
	} else {
		rc = -EAGAIN;
	}
	vsmb_forget(share);
	return rc;
}

/* ---- open / close -------------------------------------------------------- */

static int vsmb_open(void *priv_, const struct lh_host_services *host, struct lh_error *err)
{
	struct vsmb_priv *priv = priv_;
	int rc = 0;

	/* The blob carries no version of its own: the host must tell it; and
	 * its share records need the codec's nested streams, []string and
	 * structs. */
	if (!host || !lh_services_tell_version(host))
		return LH_FAIL(err, -LH_EVERSION, "vsmb: the host's services are older than "
			       "ABI v2 (no serial version for decode)");
	if (!LH_GOB_HAS(host, encoder_new) || !LH_GOB_HAS(host, encoder_free) ||
	    !LH_GOB_HAS(host, put_stream) || !LH_GOB_HAS(host, get_stream) ||
	    !LH_GOB_HAS(host, decoder_free) || !LH_GOB_HAS(host, put_strings) ||
	    !LH_GOB_HAS(host, get_strings) || !LH_GOB_HAS(host, put_struct) ||
	    !LH_GOB_HAS(host, get_struct))
		return LH_FAIL(err, -LH_EVERSION, "vsmb: the host's gob codec is older than ABI v3 "
			       "(no []string or struct types for hcsshim's share records)");
	priv->host = host;
	priv->next_handle = 1;
	lh_map_init(&priv->shares, LH_MAP_CUSTOM, vsmb_share_matches);
	lh_map_init(&priv->handles, LH_MAP_U64, NULL);
	rc = -pthread_mutex_init(&priv->lock, NULL);
	if (rc) {
		rc = LH_FAIL(err, rc, "vsmb: cannot create the lock");
		goto out;
	}
	rc = -pthread_cond_init(&priv->idle, NULL);
	if (rc) {
		rc = LH_FAIL(err, rc, "vsmb: cannot create the condition variable");
		goto fail_cond;
	}
	priv->ready = true;
	return 0;
fail_cond:
	pthread_mutex_destroy(&priv->lock);
out:
	return rc;
}

static void vsmb_close(void *priv_)
{
	struct vsmb_priv *priv = priv_;

	if (!priv || !priv->ready)
		return;
	vsmb_clear(priv);
	pthread_cond_destroy(&priv->idle);
	pthread_mutex_destroy(&priv->lock);
	priv->ready = false;
}

/* ---- attach -------------------------------------------------------------- */

/* Check the request and name the share it needs; no lock, no request. */
static int vsmb_resolve(struct vsmb_priv *priv, const struct lh_attach_request *req,
			struct vsmb_target *t, struct lh_error *err)
{
	struct stat st;
	bool read_only;
	int rc;

	if (!req || req->struct_size < offsetof(struct lh_attach_request, flags) + sizeof(req->flags))
		return LH_FAIL(err, -EINVAL, "vsmb: attach request missing or too small");
	if (!req->host_path || req->host_path[0] != '/')
		return LH_FAIL(err, -EINVAL, "vsmb: host path '%s' is not absolute",
			       req->host_path ? req->host_path : "(null)");
	rc = vsmb_clean_path(req->host_path, t->file_path, sizeof(t->file_path));
	if (rc)
		return LH_FAIL(err, rc, "vsmb: host path '%s' is too long", req->host_path);
	if (stat(t->file_path, &st) != 0)
		return LH_FAIL(err, -errno, "vsmb: cannot share '%s': %s", req->host_path,
			       strerror(errno));
	if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode))
		return LH_FAIL(err, -EINVAL,
			       "vsmb: cannot share '%s': neither a directory nor a regular file",
			       req->host_path);
	read_only = req->flags & LH_ATTACH_READ_ONLY;
	/* hcsshim's NoWritableFileShares denies every writable share. */
	if (!read_only && priv->no_writable_file_shares)
		return LH_FAIL(err, -LH_EREFUSED,
			       "vsmb: writable share of '%s' refused (no_writable_file_shares)",
			       req->host_path);
	t->key.file_share = !S_ISDIR(st.st_mode);
	t->key.read_only = read_only;
	if (t->key.file_share) {
		vsmb_parent_path(t->file_path, t->share_path, sizeof(t->share_path));
	} else {
		snprintf(t->share_path, sizeof(t->share_path), "%s", t->file_path);
		t->file_path[0] = '\0';
	}
	t->key.path = t->share_path;
	t->options = vsmb_default_options(priv, read_only, req->flags & LH_ATTACH_LAYER,
					  t->key.file_share);
	return 0;
}

static void vsmb_fill_result(struct vsmb_priv *priv, const struct vsmb_share *share,
			     const struct vsmb_file *file, bool shared,
			     struct lh_attach_result *out)
{
	memset(out, 0, sizeof(*out));
	out->handle = priv->next_handle++;
	out->shared = shared;
	vsmb_uvm_path(share, file, out->uvm_path, sizeof(out->uvm_path));
	snprintf(out->location, sizeof(out->location), "%s", share->name);
	out->controller = out->lun = out->device = -1;
}

/* Issue a request with the lock dropped; `share` is busy meanwhile. */
static int vsmb_modify_unlocked(struct vsmb_priv *priv, struct vsmb_share *share,
				const char *json, struct lh_error *err)
{
	int rc;

	share->busy = true;
	pthread_mutex_unlock(&priv->lock);
	rc = priv->host->modify(priv->host->ctx, json, err);
	pthread_mutex_lock(&priv->lock);
	share->busy = false;
	pthread_cond_broadcast(&priv->idle);
	return rc;
}

/* A new share: Add it, then hand out its first handle. Lock held. */
static int vsmb_attach_new(struct vsmb_priv *priv, const struct vsmb_target *t,
			   struct lh_attach_result *out, struct lh_error *err)
{
	uint64_t number = ++priv->share_counter;
	struct vsmb_share *share = vsmb_share_new(number, &t->key, t->options);
	struct vsmb_file *file = NULL;
	struct lh_error failure;
	char *json = NULL;
	int rc = -ENOMEM;

	lh_error_clear(&failure);
	if (!share)
		goto fail_share;
	if (t->key.file_share && !(file = vsmb_share_add_file(share, t->file_path)))
		goto fail_json;
	json = vsmb_request_json("Add", share, NULL);
	if (!json || lh_map_reserve(&priv->handles, priv->handles_in_flight + 1) != 0)
		goto fail_json;
	rc = vsmb_link_share(priv, share);
	if (rc)
		goto fail_json;
	priv->handles_in_flight++;
	rc = vsmb_modify_unlocked(priv, share, json, &failure);
	priv->handles_in_flight--;
	if (rc) {
		/* Waiters for this share report the same failure. */
		if (!failure.code)
			LH_FAIL(&failure, rc, "vsmb: adding share %s of '%s' failed", share->name,
				share->path);
		share->failure = failure;
		lh_error_set(err, failure.code, failure.func, "%s", failure.message);
		goto fail_add;
	}
	share->state = VSMB_LIVE;
	vsmb_fill_result(priv, share, file, false, out);
	/* Cannot fail: room was reserved before the request. */
	vsmb_add_handle(priv, out->handle, share, file);
	free(json);
	return 0;
fail_add:
	vsmb_unlink_share(priv, share);
	share->state = VSMB_GONE;
	free(json);
	if (share->waiters == 0)
		vsmb_share_free(share);
	goto fail_counter;
fail_json:
	free(json);
	vsmb_share_free(share);
fail_share:
	rc = LH_FAIL(err, rc, "vsmb: cannot prepare share of '%s'", t->key.path);
fail_counter:
	/* Names stay dense when nothing took a later number meanwhile. */
	if (priv->share_counter == number)
		priv->share_counter--;
	return rc;
}

/* Another file of a live file share: Update its AllowedFiles. Lock held. */
static int vsmb_attach_file(struct vsmb_priv *priv, struct vsmb_share *share,
			    const struct vsmb_target *t, struct lh_attach_result *out,
			    struct lh_error *err)
{
	char *json = vsmb_request_json("Update", share, t->file_path);
	struct vsmb_file *file;
	int rc = -ENOMEM;

	if (!json || vsmb_share_reserve_file(share) != 0 ||
	    lh_map_reserve(&priv->handles, priv->handles_in_flight + 1) != 0) {
		rc = LH_FAIL(err, rc, "vsmb: cannot prepare update of share %s for '%s'",
			     share->name, t->file_path);
		goto out;
	}
	priv->handles_in_flight++;
	rc = vsmb_modify_unlocked(priv, share, json, err);
	priv->handles_in_flight--;
	if (rc)
		goto out;
	file = vsmb_share_add_file(share, t->file_path);
	if (!file) {
		/* The share now allows the file but we cannot track it: take
		 * the file back out so the UVM matches our state. */
		char *undo = vsmb_request_json("Update", share, NULL);

		rc = LH_FAIL(err, -ENOMEM, "vsmb: out of memory adding '%s' to share %s",
			     t->file_path, share->name);
		if (undo)
			vsmb_modify_unlocked(priv, share, undo, NULL);
		free(undo);
		goto out;
	}
	vsmb_fill_result(priv, share, file, false, out);
	vsmb_add_handle(priv, out->handle, share, file);
out:
	free(json);
	return rc;
}

static int vsmb_attach(void *priv_, const struct lh_attach_request *req,
		       struct lh_attach_result *out, struct lh_error *err)
{
	struct vsmb_priv *priv = priv_;
	struct vsmb_target *t = malloc(sizeof(*t));
	struct vsmb_share *share;
	int rc;

	if (!t)
		return LH_FAIL(err, -ENOMEM, "vsmb: out of memory");
	rc = vsmb_resolve(priv, req, t, err);
	if (rc)
		goto out;
	pthread_mutex_lock(&priv->lock);
	for (;;) {
		share = lh_map_get(&priv->shares, vsmb_key_hash(&t->key), &t->key);
		if (!share || !share->busy)
			break;
		rc = vsmb_wait_idle(priv, share, err);
		if (rc && rc != -EAGAIN)
			goto unlock;
	}
	if (!share) {
		rc = vsmb_attach_new(priv, t, out, err);
	} else if (share->file_share) {
		struct vsmb_file *file = lh_map_get_str(&share->file_map, t->file_path);

		if (file) {
			rc = lh_map_reserve(&priv->handles, priv->handles_in_flight + 1);
			if (rc == 0) {
				vsmb_fill_result(priv, share, file, true, out);
				vsmb_add_handle(priv, out->handle, share, file);
			} else {
				rc = LH_FAIL(err, rc, "vsmb: out of memory");
			}
		} else {
			rc = vsmb_attach_file(priv, share, t, out, err);
		}
	} else {
		rc = lh_map_reserve(&priv->handles, priv->handles_in_flight + 1);
		if (rc == 0) {
			vsmb_fill_result(priv, share, NULL, true, out);
			vsmb_add_handle(priv, out->handle, share, NULL);
		} else {
			rc = LH_FAIL(err, rc, "vsmb: out of memory");
		}
	}
unlock:
	pthread_mutex_unlock(&priv->lock);
out:
	free(t);
	return rc;
}

/* ---- release ------------------------------------------------------------- */

static int vsmb_release(void *priv_, uint64_t id, struct lh_error *err)
{
	struct vsmb_priv *priv = priv_;
	struct vsmb_handle *handle;
	struct vsmb_share *share;
	char *json = NULL;
	int rc = 0;

	pthread_mutex_lock(&priv->lock);
	for (;;) {
		handle = lh_map_get_u64(&priv->handles, id);
		if (!handle) {
			rc = LH_FAIL(err, -LH_ENOTATTACHED, "vsmb: handle %llu is not attached",
				     (unsigned long long)id);
			goto unlock;
		}
		if (!handle->share->busy)
			break;
		vsmb_wait_idle(priv, handle->share, NULL);
	}
	share = handle->share;
	/* hcsshim (d816cbe89) removes a share when its last reference goes,
	 * direct-mapped or not. */
	if (share->refs > 1) {
		vsmb_drop_handle(priv, handle);
		goto unlock;
	}
	json = vsmb_request_json("Remove", share, NULL);
	if (!json) {
		rc = LH_FAIL(err, -ENOMEM, "vsmb: out of memory removing share %s", share->name);
		goto unlock;
	}
	rc = vsmb_modify_unlocked(priv, share, json, err);
	if (rc) {
		LH_FAIL(err, rc, "vsmb: cannot remove share %s of '%s'", share->name, share->path);
		goto unlock;
	}
	/* Nobody else could drop this handle: the share was busy. */
	vsmb_drop_handle(priv, handle);
	vsmb_unlink_share(priv, share);
	share->state = VSMB_GONE;
	vsmb_forget(share);
unlock:
	pthread_mutex_unlock(&priv->lock);
	free(json);
	return rc;
}

/* ---- list ---------------------------------------------------------------- */

static int vsmb_list(void *priv_, lh_visit_fn fn, void *arg)
{
	struct vsmb_priv *priv = priv_;
	char *uvm_path = malloc(LH_PATH_CAP);
	int rc = 0;

	if (!uvm_path)
		return -ENOMEM;
	pthread_mutex_lock(&priv->lock);
	for (struct vsmb_share *s = priv->first; s && rc == 0; s = s->next) {
		struct lh_attachment_info info = {
			.host_path = s->path,
			.uvm_path = uvm_path,
			.location = s->name,
			.refs = s->refs,
			.read_only = s->read_only,
		};

		if (s->state != VSMB_LIVE)
			continue;
		if (s->refs == 0)
			info.note = VSMB_KEPT_NOTE;
		if (!s->file_share) {
			vsmb_uvm_path(s, NULL, uvm_path, LH_PATH_CAP);
			rc = fn(arg, &info);
			continue;
		}
		/* A file share is listed file by file: that is what callers
		 * attached and what they look up. */
		for (size_t i = 0; i < s->n_files && rc == 0; i++) {
			info.host_path = s->files[i]->path;
			info.refs = s->files[i]->refs;
			if (s->refs && !info.refs)
				info.note = "kept: allowed file of a live share";
			else if (s->refs)
				info.note = NULL;
			vsmb_uvm_path(s, s->files[i], uvm_path, LH_PATH_CAP);
			rc = fn(arg, &info);
		}
	}
	pthread_mutex_unlock(&priv->lock);
	free(uvm_path);
	return rc;
}

/* ---- the ops table ------------------------------------------------------- */

static const struct lh_backend vsmb_backend = {
	.abi_version = LH_BACKEND_ABI_VERSION,
	.struct_size = sizeof(struct lh_backend),
	.name = "vsmb",
	.priv_size = sizeof(struct vsmb_priv),
	.options = vsmb_options,
	.serial_version = VSMB_SERIAL_VERSION,
	.open = vsmb_open,         /* v1 */
	.attach = vsmb_attach,     /* v1 */
	.release = vsmb_release,   /* v1 */
	.encode = vsmb_encode,     /* v1 */
	.decode = vsmb_decode,     /* v1 */
	.clone = vsmb_clone,       /* v1 */
	.list = vsmb_list,         /* v1 */
	.close = vsmb_close,       /* v1 */
	.result_size = sizeof(struct lh_attach_result), /* v2 */
	.option_size = sizeof(struct lh_option),        /* v2 */
	.roles = LH_ROLE_WCOW_LAYERS,                       /* v2 */
};

LH_BACKEND_EXPORT const struct lh_backend *layerhost_backend_entry(void)
{
	return &vsmb_backend;
}
