/* pipeline.c - see pipeline.h. */
#include "pipeline.h"

#include "backend_calls.h"
#include "container_checks.h"
#include "log.h"
#include "utf8.h"
#include "uuid.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#define LCOW_GUEST_ROOT_FMT "/run/gcs/c/%s"
#define WCOW_GUEST_ROOT_FMT "C:\\c\\%s"

/* ---- records ------------------------------------------------------------ */

int lh_pipeline_state_new(struct lh_pipeline_state **out, struct lh_error *err)
{
	struct lh_pipeline_state *state = calloc(1, sizeof(*state));

	if (!state)
		return LH_FAIL(err, -ENOMEM, "out of memory");
	pthread_mutex_init(&state->lock, NULL);
	*out = state;
	return 0;
}

void lh_pipeline_state_free(struct lh_pipeline_state *state)
{
	if (!state)
		return;
	for (size_t i = 0; i < state->n; i++)
		lh_mounted_free(state->containers[i]);
	free(state->containers);
	pthread_mutex_destroy(&state->lock);
	free(state);
}

static struct lh_mounted *state_find_locked(struct lh_pipeline_state *state, const char *id,
					    size_t *index)
{
	for (size_t i = 0; i < state->n; i++)
		if (strcmp(state->containers[i]->id, id) == 0) {
			if (index)
				*index = i;
			return state->containers[i];
		}
	return NULL;
}

static int state_insert_locked(struct lh_pipeline_state *state, struct lh_mounted *m,
			       struct lh_error *err)
{
	if (state->n == state->cap) {
		size_t cap = state->cap ? state->cap * 2 : 16;
		struct lh_mounted **grown = realloc(state->containers, cap * sizeof(*grown));

		if (!grown)
			return LH_FAIL(err, -ENOMEM, "out of memory");
		state->containers = grown;
		state->cap = cap;
	}
	state->containers[state->n++] = m;
	return 0;
}

static void state_remove_locked(struct lh_pipeline_state *state, size_t index)
{
	/* Keep file order: status lists containers in the order mounted. */
	memmove(&state->containers[index], &state->containers[index + 1],
		(state->n - index - 1) * sizeof(state->containers[0]));
	state->n--;
}

const struct lh_mounted *lh_pipeline_find(struct lh_host *host, const char *id)
{
	struct lh_mounted *m;

	pthread_mutex_lock(&host->pipeline->lock);
	m = state_find_locked(host->pipeline, id, NULL);
	if (m && m->busy)
		m = NULL;
	pthread_mutex_unlock(&host->pipeline->lock);
	return m;
}

int lh_pipeline_adopt(struct lh_host *host, struct lh_mounted *m, struct lh_error *err)
{
	int rc;

	pthread_mutex_lock(&host->pipeline->lock);
	if (state_find_locked(host->pipeline, m->id, NULL))
		rc = LH_FAIL(err, -EEXIST, "container %s: recorded twice", m->id);
	else
		rc = state_insert_locked(host->pipeline, m, err);
	pthread_mutex_unlock(&host->pipeline->lock);
	return rc;
}

size_t lh_pipeline_count(struct lh_host *host)
{
	size_t n;

	pthread_mutex_lock(&host->pipeline->lock);
	n = host->pipeline->n;
	pthread_mutex_unlock(&host->pipeline->lock);
	return n;
}

int lh_pipeline_with_records(struct lh_host *host,
			     int (*fn)(void *arg, struct lh_mounted *const *records, size_t n),
			     void *arg)
{
	struct lh_pipeline_state *ps = host->pipeline;
	int rc;

	pthread_mutex_lock(&ps->lock);
	rc = fn(arg, ps->containers, ps->n);
	pthread_mutex_unlock(&ps->lock);
	return rc;
}

int lh_pipeline_ids(struct lh_host *host, char ***ids, size_t *count, struct lh_error *err)
{
	struct lh_pipeline_state *ps = host->pipeline;
	char **out;
	size_t n;
	int rc = 0;

	pthread_mutex_lock(&ps->lock);
	n = ps->n;
	out = calloc(n + 1, sizeof(*out));
	for (size_t i = 0; out && i < n; i++)
		if (!(out[i] = strdup(ps->containers[i]->id)))
			rc = -ENOMEM;
	pthread_mutex_unlock(&ps->lock);
	if (!out || rc) {
		for (size_t i = 0; out && i < n; i++)
			free(out[i]);
		free(out);
		return LH_FAIL(err, -ENOMEM, "out of memory");
	}
	*ids = out;
	*count = n;
	return 0;
}

int lh_pipeline_state_from(struct lh_mounted **records, size_t n,
			   struct lh_pipeline_state **out, struct lh_error *err)
{
	struct lh_pipeline_state *ps;
	int rc = lh_pipeline_state_new(&ps, err);

	if (rc)
		return rc;
	if (n && !(ps->containers = calloc(n, sizeof(*ps->containers)))) {
		lh_pipeline_state_free(ps);
		return LH_FAIL(err, -ENOMEM, "out of memory");
	}
	if (n)
		memcpy(ps->containers, records, n * sizeof(*records));
	ps->n = ps->cap = n;
	*out = ps;
	return 0;
}

void lh_pipeline_swap_records(struct lh_host *host, struct lh_pipeline_state **records)
{
	struct lh_pipeline_state *old = host->pipeline;

	host->pipeline = *records;
	*records = old;
}

enum lh_container_kind lh_pipeline_kind(const struct lh_host *host)
{
	switch (host->uvm.os) {
	case LH_OS_LINUX: return LH_KIND_LCOW;
	case LH_OS_WINDOWS: return LH_KIND_WCOW;
	default: return LH_KIND_HOST;
	}
}

/* ---- validation --------------------------------------------------------- */

static int path_join(char *out, const char *dir, const char *name, struct lh_error *err)
{
	if (snprintf(out, PATH_MAX, "%s/%s", dir, name) >= PATH_MAX)
		return LH_FAIL(err, -ENAMETOOLONG, "%s/%s: path too long", dir, name);
	return 0;
}

static int require(const char *container, const char *path, mode_t kind, const char *what,
		   struct lh_error *err)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return LH_FAIL(err, -errno, "container %s: %s: %s missing (%s)", container, path,
			       what, strerror(errno));
	if ((st.st_mode & S_IFMT) != kind)
		return LH_FAIL(err, -EINVAL, "container %s: %s: expected %s", container, path, what);
	return 0;
}

/* ---- a disk in two roles ------------------------------------------------- */

/*
 * A scratch disk is attached writable, layers read-only; one file in both
 * roles (a symlinked sandbox.vhdx, or layer.vhd) would be attached both
 * ways at once, by backends that do not know of each other (VPMem and
 * SCSI). Files are told apart by identity, whatever names lead to them.
 */
struct disk_roles {
	const struct lh_container_config *c;
	struct stat scratch;
	struct stat *layers;  /* st_ino 0: missing (validation reports it) */
	struct lh_error *err;
};

static bool same_disk(const struct stat *a, const struct stat *b)
{
	return a->st_ino && a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

/* Whether an attachment holds the file st describes (st_ino 0: a file
 * that is not there, which nothing holds). The attachment's file is
 * looked up once per record. */
static bool holds_file(struct lh_attached *a, const struct stat *st)
{
	struct stat own;

	if (!a->file_ino && a->host_path && stat(a->host_path, &own) == 0) {
		a->file_dev = (uint64_t)own.st_dev;
		a->file_ino = (uint64_t)own.st_ino;
	}
	return st->st_ino && a->file_ino == (uint64_t)st->st_ino &&
	       a->file_dev == (uint64_t)st->st_dev;
}

static int disk_roles_records(void *arg, struct lh_mounted *const *records, size_t n)
{
	struct disk_roles *r = arg;

	for (size_t i = 0; i < n; i++) {
		struct lh_mounted *m = records[i];

		if (m->busy)
			continue; /* its mount or unmount, under way, owns it */
		for (size_t j = 0; j < m->n_layers; j++)
			if (holds_file(&m->layers[j], &r->scratch))
				return LH_FAIL(r->err, -LH_EREFUSED, "container %s: scratch disk %s/"
					       "sandbox.vhdx is a layer of container %s (%s); a "
					       "disk cannot be attached read-only and writable at "
					       "once", r->c->name, r->c->scratch, m->id,
					       m->layers[j].host_path);
		for (size_t j = 0; j < r->c->n_layers; j++)
			if (holds_file(&m->scratch, &r->layers[j]))
				return LH_FAIL(r->err, -LH_EREFUSED, "container %s: layer %zu (%s) "
					       "is the scratch disk of container %s; a disk cannot "
					       "be attached read-only and writable at once",
					       r->c->name, j + 1, r->c->layers[j], m->id);
	}
	return 0;
}

static int check_disk_roles(struct lh_host *host, const struct lh_container_config *c,
			    struct lh_error *err)
{
	struct disk_roles r = { .c = c, .err = err };
	char path[PATH_MAX];
	int rc;

	rc = path_join(path, c->scratch, "sandbox.vhdx", err);
	if (rc || stat(path, &r.scratch) != 0)
		return rc;
	r.layers = calloc(c->n_layers, sizeof(*r.layers));
	if (!r.layers)
		return LH_FAIL(err, -ENOMEM, "out of memory");
	for (size_t i = 0; rc == 0 && i < c->n_layers; i++) {
		rc = path_join(path, c->layers[i], "layer.vhd", err);
		if (rc == 0 && stat(path, &r.layers[i]) != 0)
			r.layers[i].st_ino = 0;
		if (rc == 0 && same_disk(&r.layers[i], &r.scratch))
			rc = LH_FAIL(err, -LH_EREFUSED, "container %s: scratch disk %s/sandbox.vhdx "
				     "is layer %zu (%s); a disk cannot be attached read-only and "
				     "writable at once", c->name, c->scratch, i + 1, path);
	}
	if (rc == 0)
		rc = lh_pipeline_with_records(host, disk_roles_records, &r);
	free(r.layers);
	return rc;
}

int lh_pipeline_validate(struct lh_host *host, const struct lh_container_config *c,
			 struct lh_error *err)
{
	enum lh_container_kind kind = lh_pipeline_kind(host);
	char path[PATH_MAX];
	int rc = 0;

	if (!lh_container_id_valid(c->name))
		return LH_FAIL(err, -EINVAL, "container id '%s' is not valid "
			       "([A-Za-z0-9][A-Za-z0-9_.-]{0,127})", c->name);
	if (c->n_layers < 1 || !c->scratch)
		return LH_FAIL(err, -EINVAL, "container %s: needs at least a base layer and a "
			       "scratch folder", c->name);
	if (lh_pipeline_find(host, c->name))
		return LH_FAIL(err, -EEXIST, "container %s is already mounted", c->name);
	for (size_t i = 0; rc == 0 && i < c->n_layers; i++) {
		switch (kind) {
		case LH_KIND_LCOW:
			rc = path_join(path, c->layers[i], "layer.vhd", err);
			if (rc == 0)
				rc = require(c->name, path, S_IFREG, "layer image file", err);
			break;
		case LH_KIND_WCOW:
			rc = require(c->name, c->layers[i], S_IFDIR, "layer folder", err);
			break;
		default: {
			struct stat st;
			char unpacked[PATH_MAX];

			rc = path_join(path, c->layers[i], "layer.vhd", err);
			if (rc == 0)
				rc = path_join(unpacked, c->layers[i], "layer", err);
			if (rc == 0 && stat(path, &st) < 0 && stat(unpacked, &st) < 0)
				rc = LH_FAIL(err, -ENOENT, "container %s: layer folder %s holds "
					     "neither layer.vhd nor layer/", c->name, c->layers[i]);
			break;
		}
		}
	}
	if (rc == 0 && kind != LH_KIND_HOST) {
		rc = path_join(path, c->scratch, "sandbox.vhdx", err);
		if (rc == 0)
			rc = require(c->name, path, S_IFREG, "scratch disk", err);
	} else if (rc == 0) {
		rc = require(c->name, c->scratch, S_IFDIR, "scratch folder", err);
		if (rc == 0)
			rc = lh_check_scratch_writable(c, err);
		if (rc == 0)
			rc = lh_check_scratch_not_system(c, err);
	}
	if (rc == 0)
		rc = lh_check_layers_distinct(c, err);
	if (rc == 0 && kind == LH_KIND_WCOW)
		rc = lh_check_wcow_layers(c, err);
	if (rc == 0 && kind == LH_KIND_LCOW)
		rc = check_disk_roles(host, c, err);
	return rc;
}

/* ---- attaching ---------------------------------------------------------- */

static char *dup_or_null(const char *s)
{
	return s && *s ? strdup(s) : NULL;
}

/* Attach through one instance and record what was taken. */
static int attach_through(struct lh_instance *inst, const struct lh_attach_request *req,
			  struct lh_attached *out, struct lh_error *err)
{
	struct lh_attach_result *res = calloc(1, sizeof(*res));
	struct lh_error ignored = { 0 };
	int rc;

	if (!res)
		return LH_FAIL(err, -ENOMEM, "out of memory");
	rc = lh_backend_attach(inst, req, res, err);
	if (rc)
		goto out;
	out->backend = strdup(inst->name);
	out->handle = res->handle;
	out->host_path = strdup(req->host_path ? req->host_path : req->scratch_dir);
	out->uvm_path = dup_or_null(res->uvm_path);
	out->location = strdup(res->location);
	if (!out->backend || !out->host_path || !out->location ||
	    (res->uvm_path[0] && !out->uvm_path)) {
		lh_backend_release(inst, res->handle, &ignored);
		lh_attached_clear(out);
		rc = LH_FAIL(err, -ENOMEM, "out of memory");
	}
out:
	free(res);
	return rc;
}

/* Try each backend of a role in order; fall back on exactly "no location"
 * and "too large". `what` names the piece for messages ("container c1:
 * layer 2"). */
static int attach_by_role(struct lh_host *host, const struct lh_role *role,
			  const struct lh_attach_request *req, struct lh_attached *out,
			  const char *what, struct lh_error *err)
{
	struct lh_error attempt = { 0 };
	const char *backend = "";
	int rc = -LH_ENOLOCATION;

	for (size_t i = 0; i < role->n; i++) {
		struct lh_instance *inst = lh_host_instance(host, role->backends[i]);

		if (!inst)
			return LH_FAIL(err, -LH_ECONFIG, "backend %s is not loaded",
				       role->backends[i]);
		lh_error_clear(&attempt);
		backend = inst->name;
		rc = attach_through(inst, req, out, &attempt);
		if (rc == 0)
			return 0;
		if (rc != -LH_ENOLOCATION && rc != -LH_ETOOLARGE)
			break;
		if (i + 1 < role->n)
			lh_log(LH_LOG_INFO, "pipeline", "%s: %s: %s; trying %s", what, inst->name,
			       attempt.message, role->backends[i + 1]);
	}
	/* Name the backend, unless its message does already. */
	size_t blen = strlen(backend);
	bool named = strncmp(attempt.message, backend, blen) == 0 && attempt.message[blen] == ':';

	return lh_error_set(err, rc, attempt.func ? attempt.func : __func__, "%s: %s%s%s", what,
			    named ? "" : backend, named ? "" : ": ", attempt.message);
}

static int release_attached(struct lh_host *host, struct lh_attached *a, struct lh_error *err)
{
	struct lh_instance *inst;
	int rc;

	if (!a->backend)
		return 0;
	inst = lh_host_instance(host, a->backend);
	if (!inst)
		return LH_FAIL(err, -LH_ECONFIG, "%s: held by backend %s, which is not loaded",
			       a->host_path, a->backend);
	rc = lh_backend_release(inst, a->handle, err);
	if (rc == 0)
		lh_attached_clear(a);
	return rc;
}

/* The guest request that builds (or takes down) the combined rootfs. */
static int combined_layers(struct lh_host *host, const struct lh_mounted *m, bool add,
			   struct lh_error *err)
{
	cJSON *req = cJSON_CreateObject(), *guest, *settings, *layers;
	char *text = NULL, layer_id[37];
	int rc = 0;

	guest = cJSON_AddObjectToObject(req, "GuestRequest");
	/* guestrequest.ModificationRequest field order: RequestType first. */
	cJSON_AddStringToObject(guest, "RequestType", add ? "Add" : "Remove");
	cJSON_AddStringToObject(guest, "ResourceType", "CombinedLayers");
	settings = cJSON_AddObjectToObject(guest, "Settings");
	if (m->kind == LH_KIND_LCOW && add)
		cJSON_AddStringToObject(settings, "ContainerID", m->id);
	cJSON_AddStringToObject(settings, "ContainerRootPath", m->rootfs);
	if (add) {
		/* hcsshim's guest stacks Layers[0] on top (it is the overlay's
		 * first lowerdir, as OCI layerFolders are topmost first), while
		 * m->layers are base first, as the config lists them: send them
		 * topmost first, or the base would shadow every layer above it. */
		layers = cJSON_AddArrayToObject(settings, "Layers");
		for (size_t i = m->n_layers; rc == 0 && i-- > 0;) {
			cJSON *layer = cJSON_CreateObject();

			cJSON_AddItemToArray(layers, layer);
			if (m->kind == LH_KIND_WCOW) {
				rc = lh_wcow_layer_id(m->layers[i].host_path, layer_id, err);
				cJSON_AddStringToObject(layer, "Id", layer_id);
			}
			cJSON_AddStringToObject(layer, "Path", m->layers[i].uvm_path
							      ? m->layers[i].uvm_path : "");
		}
		/* hcsshim's CombineLayersWCOW sends no ScratchPath: the WCOW
		 * scratch is the container root itself. */
		if (m->kind == LH_KIND_LCOW)
			cJSON_AddStringToObject(settings, "ScratchPath", m->scratch_path);
	}
	if (rc == 0 && !(text = cJSON_PrintUnformatted(req)))
		rc = LH_FAIL(err, -ENOMEM, "out of memory");
	if (rc == 0)
		rc = lh_host_modify(host, text, err);
	free(text);
	cJSON_Delete(req);
	return rc;
}

/* Release everything m holds in hcsshim's order: the combined layers, the
 * scratch, then the layers as its closers hold them (topmost first, the
 * order of the CombinedLayers it sent). Returns the first error; what
 * failed stays in m. */
static int release_all(struct lh_host *host, struct lh_mounted *m, struct lh_error *err)
{
	int rc = 0, step;

	if (m->combined) {
		step = combined_layers(host, m, false, err);
		if (step == 0)
			m->combined = false;
		rc = rc ? rc : step;
	}
	step = release_attached(host, &m->scratch, err);
	rc = rc ? rc : step;
	for (size_t i = m->n_layers; i-- > 0;) {
		step = release_attached(host, &m->layers[i], err);
		rc = rc ? rc : step;
	}
	return rc;
}

static struct lh_attach_request request_init(const char *host_path, uint32_t flags,
					     enum lh_vm_access access)
{
	struct lh_attach_request req;

	memset(&req, 0, sizeof(req));
	req.struct_size = sizeof(req);
	req.host_path = host_path;
	req.flags = flags;
	req.access = access;
	req.controller = req.lun = -1;
	return req;
}

/* Each layer, base first, through `role`: the file `file` in each layer
 * folder, or the folder itself when file is NULL. */
static int attach_layers(struct lh_host *host, const struct lh_container_config *c,
			 const struct lh_role *role, const char *file, uint32_t flags,
			 const char *const *guest_options, size_t n_guest_options,
			 struct lh_mounted *m, struct lh_error *err)
{
	char path[PATH_MAX], what[192];
	struct lh_attach_request req;
	int rc = 0;

	for (size_t i = 0; rc == 0 && i < c->n_layers; i++) {
		if (file)
			rc = path_join(path, c->layers[i], file, err);
		if (rc)
			break;
		req = request_init(file ? path : c->layers[i], flags, LH_ACCESS_VM_GROUP);
		req.guest_options = guest_options;
		req.n_guest_options = n_guest_options;
		snprintf(what, sizeof(what), "container %s: layer %zu", c->name, i + 1);
		rc = attach_by_role(host, role, &req, &m->layers[i], what, err);
		if (rc == 0)
			m->n_layers = i + 1;
	}
	return rc;
}

/* The scratch sandbox.vhdx, writable, mounted in the guest at uvm_path
 * (NULL: where the backend picks). A symlinked sandbox.vhdx is another
 * container's scratch: the real file is attached, which the backend
 * shares. */
static int attach_scratch(struct lh_host *host, const struct lh_container_config *c,
			  const struct lh_role *role, const char *uvm_path, struct lh_mounted *m,
			  struct lh_error *err)
{
	char path[PATH_MAX], resolved[PATH_MAX], what[192];
	struct lh_attach_request req;
	int rc;

	rc = path_join(path, c->scratch, "sandbox.vhdx", err);
	if (rc == 0 && !realpath(path, resolved))
		rc = LH_FAIL(err, -errno, "container %s: %s: cannot resolve scratch: %s", c->name,
			     path, strerror(errno));
	/* The config's paths are UTF-8; a symlink may lead to one that is not,
	 * which no JSON request could carry. */
	if (rc == 0 && !lh_utf8_valid(resolved))
		rc = LH_FAIL(err, -EINVAL, "container %s: %s leads to a path that is not valid "
			     "UTF-8", c->name, path);
	if (rc == 0) {
		req = request_init(resolved, LH_ATTACH_GUEST_MOUNT, LH_ACCESS_THIS_VM);
		req.uvm_path = uvm_path;
		snprintf(what, sizeof(what), "container %s: scratch", c->name);
		rc = attach_by_role(host, role, &req, &m->scratch, what, err);
	}
	return rc;
}

static int mount_lcow(struct lh_host *host, const struct lh_container_config *c,
		      struct lh_mounted *m, struct lh_error *err)
{
	static const char *const ro[] = { "ro" };
	char *guest_root = NULL;
	int rc;

	rc = attach_layers(host, c, &host->cfg->lcow_layers, "layer.vhd",
			   LH_ATTACH_READ_ONLY | LH_ATTACH_LAYER | LH_ATTACH_GUEST_MOUNT, ro, 1, m,
			   err);
	if (rc == 0 && (c->guest_root ? !(guest_root = strdup(c->guest_root))
				      : asprintf(&guest_root, LCOW_GUEST_ROOT_FMT, c->name) < 0))
		rc = LH_FAIL(err, -ENOMEM, "out of memory");
	/* hcsshim's MountLCOWLayers mounts the scratch at the container's
	 * guest root, and gives the container its own scratch directory
	 * under it (a shared scratch serves several containers). */
	if (rc == 0)
		rc = attach_scratch(host, c, &host->cfg->lcow_scratch, guest_root, m, err);
	if (rc == 0 && (asprintf(&m->scratch_path, "%s/scratch/%s",
				 m->scratch.uvm_path ? m->scratch.uvm_path : "", c->name) < 0 ||
			asprintf(&m->rootfs, "%s/rootfs", guest_root) < 0))
		rc = LH_FAIL(err, -ENOMEM, "out of memory");
	free(guest_root);
	if (rc == 0)
		rc = combined_layers(host, m, true, err);
	if (rc == 0)
		m->combined = true;
	return rc;
}

static int mount_wcow(struct lh_host *host, const struct lh_container_config *c,
		      struct lh_mounted *m, struct lh_error *err)
{
	char *guest_root = NULL;
	int rc;

	rc = attach_layers(host, c, &host->cfg->wcow_layers, NULL,
			   LH_ATTACH_READ_ONLY | LH_ATTACH_LAYER, NULL, 0, m, err);
	if (rc == 0 && (c->guest_root ? !(guest_root = strdup(c->guest_root))
				      : asprintf(&guest_root, WCOW_GUEST_ROOT_FMT, c->name) < 0))
		rc = LH_FAIL(err, -ENOMEM, "out of memory");
	/* WCOW mounts the scratch at the container's root in the UVM. */
	if (rc == 0)
		rc = attach_scratch(host, c, &host->cfg->wcow_scratch, guest_root, m, err);
	if (rc == 0 && (!(m->rootfs = strdup(guest_root)) || !(m->scratch_path = strdup(guest_root))))
		rc = LH_FAIL(err, -ENOMEM, "out of memory");
	if (rc == 0)
		rc = combined_layers(host, m, true, err);
	if (rc == 0)
		m->combined = true;
	free(guest_root);
	return rc;
}

static int mount_host(struct lh_host *host, const struct lh_container_config *c,
		      struct lh_mounted *m, struct lh_error *err)
{
	struct lh_attach_request req = request_init(NULL, LH_ATTACH_READ_ONLY | LH_ATTACH_LAYER,
						    LH_ACCESS_NONE);
	char what[192];
	int rc;

	req.container_id = c->name;
	req.layers = (const char *const *)c->layers;
	req.n_layers = c->n_layers;
	req.scratch_dir = c->scratch;
	req.mount_path = c->mount_path;
	/* The whole stack is one attachment: it sits in the scratch slot. */
	snprintf(what, sizeof(what), "container %s", c->name);
	rc = attach_by_role(host, &host->cfg->host_layers, &req, &m->scratch, what, err);
	if (rc == 0 && (!(m->rootfs = strdup(m->scratch.uvm_path ? m->scratch.uvm_path : "")) ||
			!(m->scratch_path = strdup(c->scratch))))
		rc = LH_FAIL(err, -ENOMEM, "out of memory");
	return rc;
}

int lh_pipeline_mount(struct lh_host *host, const struct lh_container_config *c,
		      struct lh_error *err)
{
	struct lh_pipeline_state *state = host->pipeline;
	struct lh_mounted *m;
	struct lh_error rollback_err = { 0 }, flush_err = { 0 };
	size_t index;
	int rc;

	rc = lh_pipeline_validate(host, c, err);
	if (rc)
		return rc;
	m = calloc(1, sizeof(*m));
	if (!m || !(m->id = strdup(c->name)) ||
	    !(m->layers = calloc(c->n_layers, sizeof(*m->layers)))) {
		lh_mounted_free(m);
		return LH_FAIL(err, -ENOMEM, "out of memory");
	}
	m->kind = lh_pipeline_kind(host);
	m->busy = true;
	/* Claim the id first, so a concurrent mount of it is refused. */
	pthread_mutex_lock(&state->lock);
	if (state_find_locked(state, c->name, NULL))
		rc = LH_FAIL(err, -EEXIST, "container %s is already mounted", c->name);
	else
		rc = state_insert_locked(state, m, err);
	pthread_mutex_unlock(&state->lock);
	if (rc) {
		lh_mounted_free(m);
		return rc;
	}
	switch (m->kind) {
	case LH_KIND_LCOW: rc = mount_lcow(host, c, m, err); break;
	case LH_KIND_WCOW: rc = mount_wcow(host, c, m, err); break;
	default: rc = mount_host(host, c, m, err); break;
	}
	/* Mounted means done and on record: what the driver let overlap is
	 * complete, the journal flushed. One that cannot be flushed failed,
	 * and is rolled back like any other. */
	if (rc == 0 && lh_host_flush(host, &flush_err))
		rc = lh_error_set(err, flush_err.code, flush_err.func, "%s", flush_err.message);
	if (rc && release_all(host, m, &rollback_err))
		lh_log(LH_LOG_ERROR, "pipeline", "container %s: rollback incomplete (unmount it to "
		       "retry): %s", c->name, rollback_err.message);
	if (rc)
		lh_host_flush(host, NULL); /* the rollback's removals */
	pthread_mutex_lock(&state->lock);
	m->busy = false;
	/* A failed mount leaves no record, unless its rollback left something
	 * held: that stays recorded so a later unmount can retry it. */
	if (rc && !rollback_err.code && state_find_locked(state, c->name, &index))
		state_remove_locked(state, index);
	else
		m = NULL;
	pthread_mutex_unlock(&state->lock);
	lh_mounted_free(m);
	return rc;
}

int lh_pipeline_unmount(struct lh_host *host, const char *id, struct lh_error *err)
{
	struct lh_pipeline_state *state = host->pipeline;
	struct lh_error flush_err = { 0 };
	struct lh_mounted *m;
	size_t index;
	bool empty;
	int rc;

	pthread_mutex_lock(&state->lock);
	m = state_find_locked(state, id, NULL);
	if (m && !m->busy)
		m->busy = true;
	else
		m = NULL;
	pthread_mutex_unlock(&state->lock);
	if (!m)
		return LH_FAIL(err, -LH_ENOTATTACHED, "container %s is not mounted", id);
	rc = release_all(host, m, err);
	/* The removals may have been issued together: wait for them all. */
	if (lh_host_flush(host, &flush_err) && rc == 0)
		rc = lh_error_set(err, flush_err.code, flush_err.func, "%s", flush_err.message);
	empty = !m->combined && !m->scratch.backend;
	for (size_t i = 0; i < m->n_layers; i++)
		empty = empty && !m->layers[i].backend;
	pthread_mutex_lock(&state->lock);
	m->busy = false;
	if (empty && state_find_locked(state, id, &index)) {
		state_remove_locked(state, index);
		pthread_mutex_unlock(&state->lock);
		lh_mounted_free(m);
		return rc;
	}
	pthread_mutex_unlock(&state->lock);
	return rc;
}

int lh_wcow_layer_id(const char *folder, char out[37], struct lh_error *err)
{
	char path[PATH_MAX], text[64] = "";
	const char *base = strrchr(folder, '/');
	FILE *f;
	size_t n;

	if (path_join(path, folder, "layerid", err))
		return -ENAMETOOLONG;
	f = fopen(path, "r");
	if (f) {
		n = fread(text, 1, sizeof(text) - 1, f);
		fclose(f);
		text[n] = '\0';
		while (n && (text[n - 1] == '\n' || text[n - 1] == '\r' || text[n - 1] == ' '))
			text[--n] = '\0';
		if (n != 36 || text[8] != '-' || text[13] != '-' || text[18] != '-' || text[23] != '-')
			return LH_FAIL(err, -EINVAL, "%s: not a layer id (want a UUID like "
				       "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)", path);
		memcpy(out, text, 37);
		return 0;
	}
	lh_uuid_v5(lh_uuid_layer_namespace, base ? base + 1 : folder, out);
	return 0;
}
