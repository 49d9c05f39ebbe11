/*
 * hostlayer.c - process-isolated containers: the layers are mounted on the
 * host itself and combined with an overlay, the Linux counterpart of
 * hcsshim's layer filter (internal/layers, MountWCOWLayers on the host).
 *
 * One attach is one container: every layer.vhd of its stack on a loop
 * device mounted read-only (shared by every container using it), plus the
 * overlay at the container's mount path. The handle names the overlay.
 * No HCS request is issued and no UVM is involved.
 *
 * Objects that are being mounted or unmounted stay in their map in state
 * PENDING / RELEASING; a thread that finds one waits on priv->cond, then
 * looks again. An object lives while refs + waiters > 0, so a waiter never
 * holds a pointer to freed memory.
 */
#include "hostlayer.h"

#include "lh_list.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const struct lh_option hostlayer_options[] = {
	{
		.name = "run_root",
		.type = LH_OPT_STRING,
		.offset = offsetof(struct hostlayer_priv, run_root),
		.max = HOSTLAYER_RUN_ROOT_MAX,
		.default_value = "/run/layerhost",
		.help = "where layer mounts (<run_root>/layers/<id>) and default rootfs mounts "
			"(<run_root>/<container id>/rootfs) are made",
	},
	{ .name = NULL },
};

/* ---- object lists -------------------------------------------------------- */

void hostlayer_container_link(struct hostlayer_priv *p, struct hostlayer_container *c)
{
	LH_LIST_APPEND(p->cont_head, p->cont_tail, c);
}

static void hostlayer_container_unlink(struct hostlayer_priv *p, struct hostlayer_container *c)
{
	LH_LIST_REMOVE(p->cont_head, p->cont_tail, c);
}

void hostlayer_container_free(struct hostlayer_container *c)
{
	if (!c)
		return;
	for (size_t i = 0; c->lowers && i < c->n_lowers; i++) {
		free(c->lowers[i].folder);
		free(c->lowers[i].path);
	}
	free(c->lowers);
	lh_handles_fini(&c->handles);
	free(c);
}

void hostlayer_state_clear(struct hostlayer_priv *p)
{
	struct hostlayer_container *c, *cnext;
	struct hostlayer_layer *l, *lnext;

	for (c = p->cont_head; c; c = cnext) {
		cnext = c->next;
		hostlayer_container_free(c);
	}
	for (l = p->layer_head; l; l = lnext) {
		lnext = l->next;
		free(l);
	}
	p->cont_head = p->cont_tail = NULL;
	p->layer_head = p->layer_tail = NULL;
	lh_map_fini(&p->handles);
	lh_map_fini(&p->containers);
	lh_map_fini(&p->layers);
}

/* ---- containers ---------------------------------------------------------------- */

struct hostlayer_scratch {
	char upper[LH_PATH_CAP];
	char work[LH_PATH_CAP];
	char mark[LH_PATH_CAP];
	bool marked;                    /* the mark was there before this attach */
	bool made_mark, made_upper, made_work;
};

/* Classify one folder without mounting anything: refusals come before any
 * mount. A vhd is probed (footer) here; a directory is resolved. */
static int hostlayer_lower_plan(struct hostlayer_priv *p, struct hostlayer_lower *lower,
				struct stat *st, uint64_t *data_size, struct lh_error *err)
{
	char path[LH_PATH_CAP];
	struct lh_disk_info info;
	char *real;
	int rc;

	if ((size_t)snprintf(path, sizeof(path), "%s/layer.vhd", lower->folder) >= sizeof(path))
		return LH_FAIL(err, -ENAMETOOLONG, "layer folder %s: path too long", lower->folder);
	if (stat(path, st) == 0 && S_ISREG(st->st_mode)) {
		rc = p->host->probe_disk(p->host->ctx, path, &info, err);
		if (rc)
			return rc;
		if (info.format != LH_DISK_VHD_FIXED)
			return LH_FAIL(err, -LH_EBADDISK,
				       "%s: not a fixed VHD (an ext4 image with a 512-byte footer)",
				       path);
		*data_size = info.data_size;
		lower->path = strdup(path); /* replaced by the mount dir once mounted */
		return lower->path ? 0 : LH_FAIL(err, -ENOMEM, "%s: out of memory", path);
	}
	snprintf(path, sizeof(path), "%s/layer", lower->folder);
	if (stat(path, st) != 0 || !S_ISDIR(st->st_mode))
		return LH_FAIL(err, -ENOENT, "layer folder %s holds neither layer.vhd nor layer/",
			       lower->folder);
	real = realpath(path, NULL);
	if (!real)
		return LH_FAIL(err, -errno, "%s: %s", path, strerror(errno));
	lower->path = real;
	*data_size = 0;
	return 0;
}

static int hostlayer_scratch_dir(const char *path, bool *made, struct lh_error *err)
{
	struct stat st;

	if (mkdir(path, 0700) == 0) {
		*made = true;
		return 0;
	}
	if (errno != EEXIST)
		return LH_FAIL(err, -errno, "mkdir %s: %s", path, strerror(errno));
	if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
		return LH_FAIL(err, -ENOTDIR, "%s exists and is not a directory", path);
	return 0;
}

/* The mark first, so that a scratch with upper/ or work/ in it is marked:
 * a later attach takes it as ours. */
static int hostlayer_scratch_make(struct hostlayer_scratch *scratch, struct lh_error *err)
{
	int fd, rc = 0;

	if (!scratch->marked) {
		fd = open(scratch->mark, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd < 0)
			return LH_FAIL(err, -errno, "%s: %s", scratch->mark, strerror(errno));
		close(fd);
		scratch->made_mark = true;
	}
	rc = hostlayer_scratch_dir(scratch->upper, &scratch->made_upper, err);
	if (rc == 0)
		rc = hostlayer_scratch_dir(scratch->work, &scratch->made_work, err);
	return rc;
}

/* Remove what this attach made in the scratch, newest first. */
static int hostlayer_scratch_unmake(const struct hostlayer_scratch *scratch,
				    struct lh_error *err)
{
	int rc = 0;

	if (scratch->made_work && rmdir(scratch->work) != 0)
		rc = LH_FAIL(err, -errno, "rmdir %s: %s", scratch->work, strerror(errno));
	if (scratch->made_upper && rmdir(scratch->upper) != 0)
		rc = LH_FAIL(err, -errno, "rmdir %s: %s", scratch->upper, strerror(errno));
	if (scratch->made_mark && unlink(scratch->mark) != 0)
		rc = LH_FAIL(err, -errno, "unlink %s: %s", scratch->mark, strerror(errno));
	return rc;
}

/*
 * Undo what hostlayer_container_mount did for c (all of it, or the part it
 * got to before failing), trying each step; returns the first error. What
 * is undone is forgotten (c->mounted false, created_top "", the layer
 * released); what failed stays in c for a later try. The scratch's
 * upper/ and work/ hold the container's writes and stay, unless this very
 * attach made them and failed (scratch not NULL).
 */
static int hostlayer_container_teardown(struct hostlayer_priv *p, struct hostlayer_container *c,
					const struct hostlayer_scratch *scratch,
					struct lh_error *err)
{
	int rc = 0, r;

	if (c->mounted) {
		rc = hostlayer_umount(c->mount_path, "overlay", &c->overlay, err);
		if (rc)
			return rc; /* the layers are still under it */
		c->mounted = false;
	}
	r = hostlayer_remove_dir(p, c->mount_path, c->created_top, err);
	if (r == 0)
		c->created_top[0] = '\0';
	rc = rc ? rc : r;
	r = scratch ? hostlayer_scratch_unmake(scratch, err) : 0;
	rc = rc ? rc : r;
	for (size_t i = c->n_lowers; i-- > 0;) {
		if (!c->lowers[i].layer)
			continue;
		r = hostlayer_layer_put(p, c->lowers[i].layer, err);
		if (r == 0)
			c->lowers[i].layer = NULL;
		rc = rc ? rc : r;
	}
	return rc;
}

/* Refusals that depend on what is mounted now, this instance's and
 * everyone's: under the lock, so a concurrent attach of this instance is
 * seen even before its mounts are made. */
static int hostlayer_container_check_claims(struct hostlayer_priv *p,
					    const struct hostlayer_container *c,
					    struct lh_error *err)
{
	int rc;

	pthread_mutex_lock(&p->lock);
	rc = hostlayer_check_scratch_free(p, c, err);
	if (rc == 0)
		rc = hostlayer_check_run_root(p, err);
	pthread_mutex_unlock(&p->lock);
	return rc;
}

static int hostlayer_container_mount(struct hostlayer_priv *p, struct hostlayer_container *c,
				     struct lh_error *err)
{
	struct hostlayer_scratch scratch = { .made_upper = false };
	struct stat *st = NULL;
	uint64_t *sizes = NULL;
	int rc = 0;

	st = calloc(c->n_lowers, sizeof(*st));
	sizes = calloc(c->n_lowers, sizeof(*sizes));
	if (!st || !sizes) {
		rc = LH_FAIL(err, -ENOMEM, "container %s: out of memory", c->id);
		goto out;
	}
	for (size_t i = 0; rc == 0 && i < c->n_lowers; i++)
		rc = hostlayer_lower_plan(p, &c->lowers[i], &st[i], &sizes[i], err);
	if (rc == 0)
		rc = hostlayer_check_mount_path(c->mount_path, err);
	if (rc == 0 && ((size_t)snprintf(scratch.upper, sizeof(scratch.upper), "%s/upper",
					 c->scratch) >= sizeof(scratch.upper) ||
			(size_t)snprintf(scratch.work, sizeof(scratch.work), "%s/work",
					 c->scratch) >= sizeof(scratch.work) ||
			(size_t)snprintf(scratch.mark, sizeof(scratch.mark), "%s/%s", c->scratch,
					 HOSTLAYER_SCRATCH_MARK) >= sizeof(scratch.mark)))
		rc = LH_FAIL(err, -ENAMETOOLONG, "scratch %s: path too long", c->scratch);
	if (rc == 0)
		rc = hostlayer_check_scratch(c->scratch, &scratch.marked, err);
	if (rc == 0)
		rc = hostlayer_container_check_claims(p, c, err);
	if (rc)
		goto out;

	for (size_t i = 0; rc == 0 && i < c->n_lowers; i++) {
		struct hostlayer_lower *lower = &c->lowers[i];

		if (!S_ISREG(st[i].st_mode))
			continue; /* an unpacked directory: nothing to mount */
		rc = hostlayer_layer_get(p, lower->path, &st[i], sizes[i], &lower->layer, err);
		if (rc == 0) {
			char *dir = strdup(lower->layer->mount_dir);

			if (!dir) {
				rc = LH_FAIL(err, -ENOMEM, "container %s: out of memory", c->id);
				break;
			}
			free(lower->path);
			lower->path = dir;
		}
	}
	if (rc == 0)
		rc = hostlayer_scratch_make(&scratch, err);
	if (rc == 0)
		rc = hostlayer_make_dir(p, c->mount_path, 0755, c->created_top, err);
	if (rc == 0)
		rc = hostlayer_mount_overlay(c->lowers, c->n_lowers, scratch.upper, scratch.work,
					     c->mount_path, err);
	if (rc == 0) {
		/* from here the teardown unmounts it, by path if it cannot be identified */
		c->mounted = true;
		rc = hostlayer_mount_identify(c->mount_path, "overlay", &c->overlay, err);
	}
	if (rc == 0) {
		p->host->log(p->host->ctx, LH_LOG_INFO, "container %s: overlay of %zu layers at %s",
			     c->id, c->n_lowers, c->mount_path);
		goto out;
	}
	hostlayer_container_teardown(p, c, &scratch, NULL);
out:
	free(sizes);
	free(st);
	return rc;
}

static bool hostlayer_same_config(const struct hostlayer_container *c,
				  const struct lh_attach_request *req, const char *mount_path)
{
	if (strcmp(c->mount_path, mount_path) != 0 || strcmp(c->scratch, req->scratch_dir) != 0 ||
	    c->n_lowers != req->n_layers)
		return false;
	for (size_t i = 0; i < c->n_lowers; i++)
		if (strcmp(c->lowers[i].folder, req->layers[i]) != 0)
			return false;
	return true;
}

static struct hostlayer_container *hostlayer_container_new(const struct lh_attach_request *req,
							   const char *mount_path)
{
	struct hostlayer_container *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	snprintf(c->id, sizeof(c->id), "%s", req->container_id);
	snprintf(c->mount_path, sizeof(c->mount_path), "%s", mount_path);
	snprintf(c->scratch, sizeof(c->scratch), "%s", req->scratch_dir);
	c->lowers = calloc(req->n_layers, sizeof(*c->lowers));
	if (!c->lowers)
		goto fail;
	c->n_lowers = req->n_layers;
	for (size_t i = 0; i < req->n_layers; i++) {
		c->lowers[i].folder = strdup(req->layers[i]);
		if (!c->lowers[i].folder)
			goto fail;
	}
	c->state = HOSTLAYER_PENDING;
	return c;
fail:
	hostlayer_container_free(c);
	return NULL;
}

static void hostlayer_container_settle(struct hostlayer_priv *p, struct hostlayer_container *c,
				       enum hostlayer_state state)
{
	c->state = state;
	pthread_cond_broadcast(&p->cond);
	if (state == HOSTLAYER_FAILED || state == HOSTLAYER_GONE) {
		/* the only container of its id in the map: others wait for it */
		lh_map_del_str(&p->containers, c->id);
		if (c->waiters == 0)
			hostlayer_container_free(c);
	}
}

/* Under p->lock: a fresh handle on a ready container. */
static int hostlayer_take_handle(struct hostlayer_priv *p, struct hostlayer_container *c,
				 uint64_t *handle, struct lh_error *err)
{
	uint64_t h = p->next_handle + 1;
	int rc;

	rc = lh_handles_add(&c->handles, h);
	if (rc == 0) {
		rc = lh_map_put_u64(&p->handles, h, c);
		if (rc)
			lh_handles_drop(&c->handles, h);
	}
	if (rc)
		return LH_FAIL(err, rc, "container %s: out of memory", c->id);
	p->next_handle = h;
	*handle = h;
	return 0;
}

static int hostlayer_check_request(const struct hostlayer_priv *p,
				   const struct lh_attach_request *req, char *mount_path,
				   struct lh_error *err)
{
	if (req->struct_size < offsetof(struct lh_attach_request, mount_path) + sizeof(char *))
		return LH_FAIL(err, -EINVAL, "attach request too old for hostlayer (size %u)",
			       req->struct_size);
	if (!hostlayer_valid_container_id(req->container_id))
		return LH_FAIL(err, -LH_EREFUSED,
			       "container id '%s' is not [A-Za-z0-9][A-Za-z0-9_.-]{0,127}",
			       req->container_id ? req->container_id : "(null)");
	if (req->n_layers == 0 || req->n_layers > HOSTLAYER_MAX_LAYERS || !req->layers)
		return LH_FAIL(err, -EINVAL, "container %s: %zu layers (1 to %d supported)",
			       req->container_id, req->n_layers, HOSTLAYER_MAX_LAYERS);
	for (size_t i = 0; i < req->n_layers; i++)
		if (!req->layers[i] || !req->layers[i][0] ||
		    strlen(req->layers[i]) >= LH_PATH_CAP - 16)
			return LH_FAIL(err, -EINVAL, "container %s: layer %zu has no usable folder",
				       req->container_id, i);
	if (!req->scratch_dir || req->scratch_dir[0] != '/' ||
	    strlen(req->scratch_dir) >= LH_PATH_CAP - 16)
		return LH_FAIL(err, -EINVAL, "container %s: scratch folder '%s' is not absolute",
			       req->container_id, req->scratch_dir ? req->scratch_dir : "(null)");
	if (req->mount_path) {
		if ((size_t)snprintf(mount_path, LH_PATH_CAP, "%s", req->mount_path) >= LH_PATH_CAP)
			return LH_FAIL(err, -ENAMETOOLONG, "mount path %s too long",
				       req->mount_path);
	} else if ((size_t)snprintf(mount_path, LH_PATH_CAP, "%s/%s/rootfs", p->run_root,
				    req->container_id) >= LH_PATH_CAP) {
		return LH_FAIL(err, -ENAMETOOLONG, "run_root %s too long", p->run_root);
	}
	return 0;
}

static void hostlayer_fill_result(const struct hostlayer_container *c, uint64_t handle,
				  bool shared, struct lh_attach_result *out)
{
	memset(out, 0, sizeof(*out));
	out->handle = handle;
	out->shared = shared;
	snprintf(out->uvm_path, sizeof(out->uvm_path), "%s", c->mount_path);
	/* "for people": a very long path is shortened there, never in uvm_path */
	snprintf(out->location, sizeof(out->location), "%.*s", (int)sizeof(out->location) - 1,
		 c->mount_path);
	out->controller = out->lun = out->device = -1;
}

static int hostlayer_attach(void *priv, const struct lh_attach_request *req,
			    struct lh_attach_result *out, struct lh_error *err)
{
	struct hostlayer_priv *p = priv;
	struct hostlayer_container *c;
	struct lh_error local = { 0 };
	char mount_path[LH_PATH_CAP];
	uint64_t handle = 0;
	int rc;

	rc = hostlayer_check_request(p, req, mount_path, err);
	if (rc == 0)
		rc = hostlayer_check_privilege(err);
	if (rc)
		return rc;

	pthread_mutex_lock(&p->lock);
	for (;;) {
		c = lh_map_get_str(&p->containers, req->container_id);
		if (!c)
			break;
		if (!hostlayer_same_config(c, req, mount_path)) {
			rc = LH_FAIL(err, -LH_EREFUSED,
				     "container %s is already mounted at %s with other layers",
				     c->id, c->mount_path);
			goto out_unlock;
		}
		if (c->state == HOSTLAYER_READY && !c->mounted) {
			rc = LH_FAIL(err, -LH_EREFUSED, "container %s: its last release did not "
				     "finish; release it again first", c->id);
			goto out_unlock;
		}
		if (c->state == HOSTLAYER_READY) {
			rc = hostlayer_take_handle(p, c, &handle, err);
			if (rc == 0)
				hostlayer_fill_result(c, handle, true, out);
			goto out_unlock;
		}
		c->waiters++;
		while (c->state == HOSTLAYER_PENDING || c->state == HOSTLAYER_RELEASING)
			pthread_cond_wait(&p->cond, &p->lock);
		c->waiters--;
		if (c->state == HOSTLAYER_FAILED) {
			rc = lh_error_set(err, c->fail.code, c->fail.func, "%s", c->fail.message);
			if (c->waiters == 0)
				hostlayer_container_free(c);
			goto out_unlock;
		}
		if (c->state == HOSTLAYER_GONE && c->waiters == 0)
			hostlayer_container_free(c);
	}
	c = hostlayer_container_new(req, mount_path);
	rc = c ? lh_map_put_str(&p->containers, c->id, c) : -ENOMEM;
	if (rc) {
		hostlayer_container_free(c);
		rc = LH_FAIL(err, rc, "container %s: out of memory", req->container_id);
		goto out_unlock;
	}
	pthread_mutex_unlock(&p->lock);

	rc = hostlayer_container_mount(p, c, &local);

	pthread_mutex_lock(&p->lock);
	if (rc == 0) {
		rc = hostlayer_take_handle(p, c, &handle, &local);
		if (rc) {
			pthread_mutex_unlock(&p->lock);
			hostlayer_container_teardown(p, c, NULL, NULL);
			pthread_mutex_lock(&p->lock);
		}
	}
	if (rc) {
		c->fail = local;
		lh_error_set(err, local.code, local.func, "%s", local.message);
		hostlayer_container_settle(p, c, HOSTLAYER_FAILED);
	} else {
		hostlayer_container_link(p, c);
		hostlayer_fill_result(c, handle, false, out);
		hostlayer_container_settle(p, c, HOSTLAYER_READY);
	}
out_unlock:
	pthread_mutex_unlock(&p->lock);
	return rc;
}

/*
 * The last handle unmounts the overlay first; if that fails (a process
 * still uses the rootfs) nothing changes and the caller may try again.
 * Once the overlay is gone every further step is tried and the first
 * error reported; what failed (a layer still in use) stays, with the
 * container and its handle, so that the same release tried again
 * finishes the job, in this process or after a restore.
 */
static int hostlayer_release(void *priv, uint64_t handle, struct lh_error *err)
{
	struct hostlayer_priv *p = priv;
	struct hostlayer_container *c;
	int rc;

	pthread_mutex_lock(&p->lock);
	c = lh_map_get_u64(&p->handles, handle);
	if (!c || c->state != HOSTLAYER_READY) {
		pthread_mutex_unlock(&p->lock);
		return LH_FAIL(err, -LH_ENOTATTACHED, "handle %" PRIu64 " is not attached",
			       handle);
	}
	if (c->handles.n > 1 || c->waiters > 0) {
		lh_map_del_u64(&p->handles, handle);
		lh_handles_drop(&c->handles, handle);
		pthread_mutex_unlock(&p->lock);
		return 0;
	}
	c->state = HOSTLAYER_RELEASING;
	pthread_mutex_unlock(&p->lock);

	rc = hostlayer_container_teardown(p, c, NULL, err);

	pthread_mutex_lock(&p->lock);
	if (rc) {
		hostlayer_container_settle(p, c, HOSTLAYER_READY);
	} else {
		lh_map_del_u64(&p->handles, handle);
		lh_handles_drop(&c->handles, handle);
		hostlayer_container_unlink(p, c);
		hostlayer_container_settle(p, c, HOSTLAYER_GONE);
	}
	pthread_mutex_unlock(&p->lock);
	return rc;
}

static int hostlayer_list(void *priv, lh_visit_fn fn, void *arg)
{
	struct hostlayer_priv *p = priv;
	struct lh_attachment_info info;
	char location[32];
	int rc = 0;

	pthread_mutex_lock(&p->lock);
	for (const struct hostlayer_layer *l = p->layer_head; rc == 0 && l; l = l->next) {
		snprintf(location, sizeof(location), "loop%u", l->loop);
		info = (struct lh_attachment_info){
			.host_path = l->vhd,
			.uvm_path = l->mount_dir,
			.location = location,
			.refs = l->refs,
			.read_only = true,
			.note = "layer mount",
		};
		rc = fn(arg, &info);
	}
	for (const struct hostlayer_container *c = p->cont_head; rc == 0 && c; c = c->next) {
		info = (struct lh_attachment_info){
			.host_path = c->scratch,
			.uvm_path = c->mount_path,
			.location = c->mount_path,
			.refs = (uint32_t)c->handles.n,
			.read_only = false,
			.note = "overlay",
		};
		rc = fn(arg, &info);
	}
	pthread_mutex_unlock(&p->lock);
	return rc;
}

static int hostlayer_open(void *priv, const struct lh_host_services *host, struct lh_error *err)
{
	struct hostlayer_priv *p = priv;

	/* The blob carries no version of its own: the host must tell it. */
	if (!lh_services_tell_version(host))
		return LH_FAIL(err, -LH_EVERSION, "hostlayer: host services ABI %u is older than "
			       "v2 (no serial version for decode)", host->abi_version);
	if (p->run_root[0] != '/')
		return LH_FAIL(err, -LH_ECONFIG, "hostlayer: run_root '%s' is not absolute",
			       p->run_root);
	/* "/run/layerhost/" and "/run/layerhost" must name the same mounts */
	for (size_t n = strlen(p->run_root); n > 1 && p->run_root[n - 1] == '/'; n--)
		p->run_root[n - 1] = '\0';
	if (pthread_mutex_init(&p->lock, NULL) != 0)
		return LH_FAIL(err, -ENOMEM, "hostlayer: mutex");
	if (pthread_mutex_init(&p->dir_lock, NULL) != 0) {
		pthread_mutex_destroy(&p->lock);
		return LH_FAIL(err, -ENOMEM, "hostlayer: mutex");
	}
	if (pthread_cond_init(&p->cond, NULL) != 0) {
		pthread_mutex_destroy(&p->dir_lock);
		pthread_mutex_destroy(&p->lock);
		return LH_FAIL(err, -ENOMEM, "hostlayer: condition variable");
	}
	lh_map_init(&p->handles, LH_MAP_U64, NULL);
	lh_map_init(&p->containers, LH_MAP_STRING, NULL);
	lh_map_init(&p->layers, LH_MAP_STRING, NULL);
	p->host = host;
	p->locks_ready = true;
	return 0;
}

static void hostlayer_close(void *priv)
{
	struct hostlayer_priv *p = priv;

	if (!p || !p->locks_ready)
		return;
	hostlayer_state_clear(p);
	pthread_cond_destroy(&p->cond);
	pthread_mutex_destroy(&p->dir_lock);
	pthread_mutex_destroy(&p->lock);
	p->locks_ready = false;
}

static const struct lh_backend hostlayer_backend = {
	.abi_version = LH_BACKEND_ABI_VERSION,
	.struct_size = sizeof(struct lh_backend),
	.name = "hostlayer",
	.priv_size = sizeof(struct hostlayer_priv),
	.options = hostlayer_options,
	.serial_version = HOSTLAYER_SERIAL_VERSION,
	.open = hostlayer_open,       /* v1 */
	.attach = hostlayer_attach,   /* v1 */
	.release = hostlayer_release, /* v1 */
	.encode = hostlayer_encode,   /* v1 */
	.decode = hostlayer_decode,   /* v1 */
	.clone = NULL,                /* v1: host mounts cannot be cloned */
	.list = hostlayer_list,       /* v1 */
	.close = hostlayer_close,     /* v1 */
	.result_size = sizeof(struct lh_attach_result), /* v2 */
	.option_size = sizeof(struct lh_option),        /* v2 */
	.roles = LH_ROLE_HOST,                       /* v2 */
};

LH_BACKEND_EXPORT const struct lh_backend *layerhost_backend_entry(void)
{
	return &hostlayer_backend;
}
