/*
 * clone.c - see clone.h.
 *
 * The compute-system document follows hcsshim's clone: the template's
 * base document (lh_document_base), the devices each backend adds under
 * VirtualMachine/Devices, then VirtualMachine.RestoreState.TemplateSystemId
 * naming the template UVM, every key in Go's order (lh_document_normalize).
 *
 * Undo on failure: the names already in scratch_dir and in its parent are
 * noted before anything happens; afterwards every new entry of scratch_dir
 * goes, every writable copy a backend that succeeded made elsewhere (its
 * clone lists a host path the template does not hold) goes, with its
 * folder when that folder is new, and the folders this call created go.
 */
#include "clone.h"

#include "backend_calls.h"
#include "document.h"
#include "durable.h"
#include "error.h"
#include "pipeline.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <dirent.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

/* Names in one folder (unsorted; folders here hold a handful). */
struct clone_names {
	char **names;
	size_t n;
};

struct clone_undo {
	char scratch[PATH_MAX];
	char parent[PATH_MAX];
	struct clone_names before_scratch;
	struct clone_names before_parent;
	char **created; /* folders made by this call, outermost first */
	size_t n_created;
};

static void clone_names_free(struct clone_names *names)
{
	for (size_t i = 0; i < names->n; i++)
		free(names->names[i]);
	free(names->names);
	memset(names, 0, sizeof(*names));
}

static bool clone_names_has(const struct clone_names *names, const char *name)
{
	for (size_t i = 0; i < names->n; i++)
		if (strcmp(names->names[i], name) == 0)
			return true;
	return false;
}

static int clone_names_add(struct clone_names *names, const char *name)
{
	char **grown = realloc(names->names, (names->n + 1) * sizeof(*grown));

	if (!grown)
		return -ENOMEM;
	names->names = grown;
	if (!(names->names[names->n] = strdup(name)))
		return -ENOMEM;
	names->n++;
	return 0;
}

/* A missing folder lists as empty. */
static int clone_names_read(const char *dir, struct clone_names *out)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int rc = 0;

	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while (rc == 0 && (e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			rc = clone_names_add(out, e->d_name);
	closedir(d);
	return rc;
}

static void clone_undo_free(struct clone_undo *undo)
{
	clone_names_free(&undo->before_scratch);
	clone_names_free(&undo->before_parent);
	for (size_t i = 0; i < undo->n_created; i++)
		free(undo->created[i]);
	free(undo->created);
}

/* mkdir -p, noting each folder it makes. */
static int clone_make_scratch(struct clone_undo *undo, struct lh_error *err)
{
	char path[PATH_MAX];
	struct stat st;
	int rc = 0;

	snprintf(path, sizeof(path), "%s", undo->scratch);
	for (char *p = path + 1; rc == 0; p++) {
		bool end = *p == '\0';

		if (*p != '/' && !end)
			continue;
		*p = '\0';
		if (stat(path, &st) == 0) {
			if (!S_ISDIR(st.st_mode))
				rc = LH_FAIL(err, -ENOTDIR, "%s: not a folder (clone scratch %s)", path,
					     undo->scratch);
		} else if (mkdir(path, 0700) < 0 && errno != EEXIST) {
			rc = LH_FAIL(err, -errno, "%s: cannot create the clone's scratch folder: %s",
				     path, strerror(errno));
		} else {
			char **grown = realloc(undo->created, (undo->n_created + 1) * sizeof(*grown));

			if (grown)
				undo->created = grown;
			if (!grown || !(undo->created[undo->n_created] = strdup(path))) {
				rmdir(path);
				rc = LH_FAIL(err, -ENOMEM, "out of memory");
			} else {
				undo->n_created++;
			}
		}
		if (end)
			break;
		*p = '/';
	}
	return rc;
}

static int clone_undo_prepare(struct clone_undo *undo, const char *scratch_dir,
			      struct lh_error *err)
{
	size_t len;
	char *slash;
	int rc;

	if (snprintf(undo->scratch, sizeof(undo->scratch), "%s", scratch_dir) >=
	    (int)sizeof(undo->scratch) || scratch_dir[0] == '\0')
		return LH_FAIL(err, -EINVAL, "'%s': not a usable clone scratch folder", scratch_dir);
	/* Trailing slashes would make the parent the folder itself. */
	while ((len = strlen(undo->scratch)) > 1 && undo->scratch[len - 1] == '/')
		undo->scratch[len - 1] = '\0';
	snprintf(undo->parent, sizeof(undo->parent), "%s", undo->scratch);
	slash = strrchr(undo->parent, '/');
	if (!slash)
		snprintf(undo->parent, sizeof(undo->parent), ".");
	else
		slash[slash == undo->parent ? 1 : 0] = '\0';
	rc = clone_names_read(undo->parent, &undo->before_parent);
	if (rc == 0)
		rc = clone_names_read(undo->scratch, &undo->before_scratch);
	if (rc)
		return LH_FAIL(err, rc, "%s: cannot list the clone's scratch folder: %s", scratch_dir,
			       lh_strerror(rc));
	rc = clone_make_scratch(undo, err);
	for (size_t i = undo->n_created; rc && i-- > 0;)
		rmdir(undo->created[i]);
	return rc;
}

static int clone_remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (type == FTW_DP)
		rmdir(path);
	else
		unlink(path);
	return 0;
}

/* Host paths one backend instance lists. */
struct clone_paths {
	struct clone_names paths;
	int rc;
};

static int clone_paths_visit(void *arg, const struct lh_attachment_info *info)
{
	struct clone_paths *p = arg;

	if (info->host_path && !clone_names_has(&p->paths, info->host_path))
		p->rc = clone_names_add(&p->paths, info->host_path);
	return p->rc;
}

/*
 * Call fn on each writable copy a clone instance holds: the host paths it
 * lists that its template does not. Returns -ENOSYS when either instance
 * cannot list, a listing failure, or fn's first non-zero return.
 */
static int clone_for_each_copy(struct lh_instance *tmpl, struct lh_instance *copy,
			       int (*fn)(void *arg, const char *path), void *arg)
{
	struct clone_paths t = { 0 }, c = { 0 };
	int rc;

	if (!lh_backend_can_list(tmpl) || !lh_backend_can_list(copy))
		return -ENOSYS;
	lh_backend_list(tmpl, clone_paths_visit, &t);
	lh_backend_list(copy, clone_paths_visit, &c);
	rc = t.rc ? t.rc : c.rc;
	for (size_t i = 0; rc == 0 && i < c.paths.n; i++)
		if (!clone_names_has(&t.paths, c.paths.names[i]))
			rc = fn(arg, c.paths.names[i]);
	clone_names_free(&t.paths);
	clone_names_free(&c.paths);
	return rc;
}

/* Remove one copy, and its folder when this clone made it beside the
 * scratch folder. Never fails: the undo goes on. */
static int clone_remove_copy(void *arg, const char *path)
{
	struct clone_undo *undo = arg;
	char dir[PATH_MAX];
	char *slash;

	unlink(path);
	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (!slash)
		return 0;
	*slash = '\0';
	slash = strrchr(dir, '/');
	if (slash && strncmp(dir, undo->parent, strlen(undo->parent)) == 0 &&
	    slash == dir + strlen(undo->parent) && !clone_names_has(&undo->before_parent, slash + 1))
		rmdir(dir);
	return 0;
}

static void clone_remove_copies(struct clone_undo *undo, struct lh_instance *tmpl,
				struct lh_instance *copy)
{
	(void)clone_for_each_copy(tmpl, copy, clone_remove_copy, undo);
}

/* Flush one copy, its name in its folder, and that folder's name in the
 * folder above (the copy's folder may be new). */
static int clone_sync_copy(void *arg, const char *path)
{
	struct lh_error *err = arg;
	char dir[PATH_MAX];
	char *slash;
	int rc = lh_fsync_file(path);

	if (rc == 0)
		rc = lh_fsync_parent(path);
	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (rc == 0 && slash && slash != dir) {
		*slash = '\0';
		rc = lh_fsync_parent(dir);
	}
	if (rc)
		LH_FAIL(err, rc, "%s: cannot flush the clone's copy to disk: %s", path,
			lh_strerror(rc));
	return rc;
}

/* A backend that cannot list its copies: flush the scratch folder's whole
 * filesystem, where its copies are (under the folder or beside it). */
static int clone_sync_filesystem(const char *scratch_dir, struct lh_error *err)
{
	int fd = open(scratch_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc = 0;

	if (fd < 0 || syncfs(fd) < 0)
		rc = LH_FAIL(err, -errno, "%s: cannot flush the clone's copies to disk: %s",
			     scratch_dir, strerror(errno));
	if (fd >= 0)
		close(fd);
	return rc;
}

/*
 * Make every copy durable before anything records the clone. Copies are
 * flushed here, all at the end, rather than one by one as they are made:
 * the kernel may write one back while the next is copied, and the waits
 * come once, together.
 */
static int clone_sync_copies(struct lh_host *tmpl, struct lh_instance **pairs,
			     const char *scratch_dir, struct lh_error *err)
{
	int rc = 0;

	for (size_t i = 0; rc == 0 && i < tmpl->n_instances; i++) {
		if (!pairs[i])
			continue;
		rc = clone_for_each_copy(tmpl->instances[i], pairs[i], clone_sync_copy, err);
		if (rc == -ENOSYS)
			rc = clone_sync_filesystem(scratch_dir, err);
		else if (rc && !(err && err->code))
			rc = LH_FAIL(err, rc, "backend %s: cannot list the clone's copies: %s",
				     pairs[i]->name, lh_strerror(rc));
	}
	return rc;
}

static void clone_undo_run(struct clone_undo *undo)
{
	struct clone_names now = { 0 };
	char path[PATH_MAX];

	clone_names_read(undo->scratch, &now);
	for (size_t i = 0; i < now.n; i++) {
		if (clone_names_has(&undo->before_scratch, now.names[i]))
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", undo->scratch, now.names[i]) <
		    (int)sizeof(path))
			nftw(path, clone_remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	}
	clone_names_free(&now);
	for (size_t i = undo->n_created; i-- > 0;)
		rmdir(undo->created[i]);
}

/* ---- records --------------------------------------------------------------- */

static int clone_attached(const struct lh_attached *src, struct lh_attached *dst)
{
	memset(dst, 0, sizeof(*dst));
	dst->handle = src->handle;
	if ((src->backend && !(dst->backend = strdup(src->backend))) ||
	    (src->host_path && !(dst->host_path = strdup(src->host_path))) ||
	    (src->uvm_path && !(dst->uvm_path = strdup(src->uvm_path))) ||
	    (src->location && !(dst->location = strdup(src->location))))
		return -ENOMEM;
	return 0;
}

static struct lh_mounted *clone_mounted(const struct lh_mounted *src)
{
	struct lh_mounted *m = calloc(1, sizeof(*m));
	int rc = m ? 0 : -ENOMEM;

	if (rc == 0) {
		m->kind = src->kind;
		m->combined = src->combined;
		if (!(m->id = strdup(src->id)) ||
		    (src->rootfs && !(m->rootfs = strdup(src->rootfs))) ||
		    (src->scratch_path && !(m->scratch_path = strdup(src->scratch_path))) ||
		    (src->n_layers && !(m->layers = calloc(src->n_layers, sizeof(*m->layers)))))
			rc = -ENOMEM;
	}
	for (size_t i = 0; rc == 0 && i < src->n_layers; i++) {
		m->n_layers++;
		rc = clone_attached(&src->layers[i], &m->layers[i]);
	}
	if (rc == 0)
		rc = clone_attached(&src->scratch, &m->scratch);
	if (rc) {
		lh_mounted_free(m);
		m = NULL;
	}
	return m;
}

/* The template's container records, handles as they are: each backend
 * keeps its handles across clone. */
struct clone_copying {
	struct lh_host *tmpl, *clone;
	struct lh_error *err;
};

static int clone_copy_records(void *arg, struct lh_mounted *const *records, size_t n)
{
	struct clone_copying *c = arg;
	int rc = 0;

	for (size_t i = 0; rc == 0 && i < n; i++) {
		struct lh_mounted *m;

		if (records[i]->busy) {
			rc = LH_FAIL(c->err, -EBUSY, "container %s is being mounted or unmounted on "
				     "template UVM %s", records[i]->id, c->tmpl->uvm_id);
			break;
		}
		m = clone_mounted(records[i]);
		rc = m ? lh_pipeline_adopt(c->clone, m, c->err)
		       : LH_FAIL(c->err, -ENOMEM, "out of memory");
		if (rc)
			lh_mounted_free(m);
	}
	return rc;
}

static int clone_records(struct lh_host *tmpl, struct lh_host *clone, struct lh_error *err)
{
	struct clone_copying c = { tmpl, clone, err };

	return lh_pipeline_with_records(tmpl, clone_copy_records, &c);
}

/* ---- the clone's own copies in its records ---------------------------------- */

/* One live attachment of a clone instance: where it is and what it holds. */
struct clone_place {
	char *location;
	char *host_path;
};

struct clone_places {
	struct clone_place *items;
	size_t n;
	int rc;
};

static int clone_places_visit(void *arg, const struct lh_attachment_info *info)
{
	struct clone_places *p = arg;
	struct clone_place *grown;

	if (!info->location || !info->host_path)
		return 0;
	grown = realloc(p->items, (p->n + 1) * sizeof(*grown));
	if (!grown)
		return p->rc = -ENOMEM;
	p->items = grown;
	grown[p->n].location = strdup(info->location);
	grown[p->n].host_path = strdup(info->host_path);
	if (!grown[p->n].location || !grown[p->n].host_path) {
		free(grown[p->n].location);
		free(grown[p->n].host_path);
		return p->rc = -ENOMEM;
	}
	p->n++;
	return 0;
}

static void clone_places_free(struct clone_places *p)
{
	for (size_t i = 0; i < p->n; i++) {
		free(p->items[i].location);
		free(p->items[i].host_path);
	}
	free(p->items);
}

struct clone_repointing {
	const char *backend;
	const struct clone_places *places;
	int rc;
};

/* A record copied from the template names the template's disk; the clone's
 * backend holds its copy at the same place. */
static int clone_repoint_records(void *arg, struct lh_mounted *const *records, size_t n)
{
	struct clone_repointing *r = arg;

	for (size_t i = 0; r->rc == 0 && i < n; i++) {
		struct lh_mounted *m = records[i];

		for (size_t j = 0; r->rc == 0 && j <= m->n_layers; j++) {
			struct lh_attached *a = j < m->n_layers ? &m->layers[j] : &m->scratch;

			if (!a->backend || !a->location || strcmp(a->backend, r->backend))
				continue;
			for (size_t k = 0; k < r->places->n; k++) {
				const struct clone_place *pl = &r->places->items[k];
				char *copy;

				if (strcmp(pl->location, a->location) || !a->host_path ||
				    strcmp(pl->host_path, a->host_path) == 0)
					continue;
				if (!(copy = strdup(pl->host_path))) {
					r->rc = -ENOMEM;
					break;
				}
				free(a->host_path);
				a->host_path = copy;
				a->file_ino = 0;
				break;
			}
		}
	}
	return r->rc;
}

/* Point the clone's records at the disks its backends hold. */
static int clone_repoint(struct lh_host *clone, struct lh_instance **pairs, size_t n,
			 struct lh_error *err)
{
	int rc = 0;

	for (size_t i = 0; rc == 0 && i < n; i++) {
		struct clone_places places = { 0 };
		struct clone_repointing r = { 0 };

		if (!pairs[i])
			continue;
		lh_backend_list(pairs[i], clone_places_visit, &places);
		r.backend = pairs[i]->name;
		r.places = &places;
		rc = places.rc ? places.rc : lh_pipeline_with_records(clone, clone_repoint_records, &r);
		clone_places_free(&places);
	}
	return rc ? LH_FAIL(err, rc, "clone: out of memory") : 0;
}

/* <clone folder>/containers/<id>/sandbox.vhdx -> the clone's copy of the
 * scratch disk, for each container whose scratch the clone copied. */
struct clone_linking {
	const char *dir; /* <clone folder>/containers */
	struct lh_host *tmpl;
	bool made_dir;
	int rc;
	struct lh_error *err;
};

static int clone_link_one(struct clone_linking *l, const struct lh_mounted *m)
{
	char folder[PATH_MAX], link[PATH_MAX];
	const struct lh_mounted *t = lh_pipeline_find(l->tmpl, m->id);

	if (!m->scratch.host_path || !t || !t->scratch.host_path ||
	    strcmp(m->scratch.host_path, t->scratch.host_path) == 0 || m->kind == LH_KIND_HOST)
		return 0;
	if (!l->made_dir) {
		if (mkdir(l->dir, 0700) < 0)
			return LH_FAIL(l->err, -errno, "%s: cannot create: %s", l->dir, strerror(errno));
		l->made_dir = true;
	}
	if (snprintf(folder, sizeof(folder), "%s/%s", l->dir, m->id) >= (int)sizeof(folder) ||
	    snprintf(link, sizeof(link), "%s/%s", folder, LH_CLONE_SCRATCH_FILE) >= (int)sizeof(link))
		return LH_FAIL(l->err, -ENAMETOOLONG, "%s/%s: path too long", l->dir, m->id);
	if (mkdir(folder, 0700) < 0 || symlink(m->scratch.host_path, link) < 0)
		return LH_FAIL(l->err, -errno, "%s: cannot link the clone's scratch of container %s: %s",
			       link, m->id, strerror(errno));
	return 0;
}

static int clone_link_records(void *arg, struct lh_mounted *const *records, size_t n)
{
	struct clone_linking *l = arg;

	for (size_t i = 0; l->rc == 0 && i < n; i++)
		l->rc = clone_link_one(l, records[i]);
	return l->rc;
}

static int clone_remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw);

static int clone_link_scratches(struct lh_host *tmpl, struct lh_host *clone, const char *dir,
				struct lh_error *err)
{
	struct clone_linking l = { .dir = dir, .tmpl = tmpl, .err = err };
	int rc = lh_pipeline_with_records(clone, clone_link_records, &l);

	if (rc && l.made_dir)
		nftw(dir, clone_remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	return rc;
}

/* Only what clone_link_scratches makes: symlinks and the folders holding
 * them; nothing a link leads to. */
static int clone_unlink_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)ftw;
	if (type == FTW_DP)
		rmdir(path);
	else if (type == FTW_SL || S_ISLNK(st->st_mode))
		unlink(path);
	return 0;
}

static void clone_unlink_scratches(const char *clone_dir)
{
	char dir[PATH_MAX];

	if (snprintf(dir, sizeof(dir), "%s/%s", clone_dir, LH_CLONE_CONTAINERS_DIR) <
	    (int)sizeof(dir))
		nftw(dir, clone_unlink_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int lh_clone_adopt_scratches(struct lh_config *cfg, const char *clone_state,
			     struct lh_error *err)
{
	char dir[PATH_MAX], folder[PATH_MAX];
	const char *slash = strrchr(clone_state, '/');
	struct stat st;

	snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - clone_state) : 1,
		 slash ? clone_state : ".");
	for (size_t i = 0; i < cfg->n_containers; i++) {
		struct lh_container_config *c = &cfg->containers[i];
		char *copy;

		if (snprintf(folder, sizeof(folder), "%s/%s/%s", dir[0] ? dir : "/",
			     LH_CLONE_CONTAINERS_DIR, c->name) >= (int)sizeof(folder) ||
		    lstat(folder, &st) < 0 || !S_ISDIR(st.st_mode))
			continue;
		if (!(copy = strdup(folder)))
			return LH_FAIL(err, -ENOMEM, "out of memory");
		free(c->scratch);
		c->scratch = copy;
	}
	return 0;
}

/* ---- backends ------------------------------------------------------------ */

static int clone_count_visit(void *arg, const struct lh_attachment_info *info)
{
	(void)info;
	(*(size_t *)arg)++;
	return 0;
}

/* Whether a record holds anything of the backend arg names. */
static int clone_records_hold(void *arg, struct lh_mounted *const *records, size_t n)
{
	const char *backend = ((const struct lh_instance *)arg)->name;

	for (size_t i = 0; i < n; i++) {
		const struct lh_mounted *m = records[i];

		for (size_t j = 0; j <= m->n_layers; j++) {
			const struct lh_attached *a = j < m->n_layers ? &m->layers[j] : &m->scratch;

			if (a->backend && strcmp(a->backend, backend) == 0)
				return 1;
		}
	}
	return 0;
}

/* Whether a backend holds anything: what it lists, or what a record says
 * it holds (for a backend with no list slot). */
static bool clone_backend_holds(struct lh_host *tmpl, struct lh_instance *inst)
{
	size_t n = 0;

	lh_backend_list(inst, clone_count_visit, &n);
	return n != 0 || lh_pipeline_with_records(tmpl, clone_records_hold, inst);
}

/*
 * Clone every backend in the template's order. *done counts the instances
 * that cloned successfully (their copies are what the undo must find).
 */
static int clone_backends(struct lh_host *tmpl, struct lh_host *clone, const char *scratch_dir,
			  struct lh_instance **pairs, size_t *done, struct lh_error *err)
{
	struct lh_clone_request req = { .scratch_dir = scratch_dir };
	int rc = 0;

	for (size_t i = 0; rc == 0 && i < tmpl->n_instances; i++) {
		struct lh_instance *t = tmpl->instances[i], *c = lh_host_instance(clone, t->name);

		pairs[i] = NULL;
		if (!lh_backend_can_clone(t)) {
			if (clone_backend_holds(tmpl, t))
				rc = LH_FAIL(err, -LH_EUNSUPPORTED, "clone is not supported by %s: "
					     "template UVM %s holds attachments of it", t->name,
					     tmpl->uvm_id);
			continue;
		}
		if (!c)
			rc = lh_host_open_instance_like(clone, t, &c, err);
		if (rc == 0)
			rc = lh_backend_clone(t, c, &req, err);
		if (rc && !(err && err->code))
			LH_FAIL(err, rc, "backend %s: clone failed: %s", t->name, lh_strerror(rc));
		if (rc == 0) {
			pairs[i] = c;
			*done = i + 1;
		}
	}
	return rc;
}

/*
 * The template's compute-system document, as hcsshim's UVM creation makes
 * it with its default options (layerhost keeps no document of its own for
 * a UVM): the template's OS, memory ([uvm] memory) and backing; hcsshim's
 * default 2 processors. A WCOW UVM's own scratch, which hcsshim copies
 * from the template into the clone's scratch folder, is at SCSI 0:0 as
 * <scratch_dir>/sandbox.vhdx: layerhost does not make that disk (the
 * UVM's scratch is the caller's, as for a new UVM). An LCOW UVM has no
 * scratch of its own (its 0:0 is a container's).
 */
static int clone_document_new(struct lh_host *tmpl, struct lh_host *clone,
			      const char *scratch_dir, struct lh_error *err)
{
	char scratch[PATH_MAX];
	struct lh_document_uvm u = {
		.os = tmpl->uvm.os,
		.owner = "layerhost",
		.memory_mb = tmpl->cfg->memory_bytes >> 20,
		.processors = 2,
		.allow_overcommit = !tmpl->uvm.physically_backed,
		.scratch_path = NULL,
	};

	if (tmpl->uvm.os == LH_OS_WINDOWS) {
		if (snprintf(scratch, sizeof(scratch), "%s/sandbox.vhdx", scratch_dir) >=
		    (int)sizeof(scratch))
			return LH_FAIL(err, -ENAMETOOLONG, "%s: path too long", scratch_dir);
		u.scratch_path = scratch;
	}
	clone->document = lh_document_base(&u);
	if (!clone->document)
		return LH_FAIL(err, -ENOMEM, "out of memory");
	return 0;
}

/* After the devices, as RestoreState follows Devices in hcsschema. */
static int clone_document_restore_state(struct lh_host *tmpl, struct lh_host *clone,
					struct lh_error *err)
{
	cJSON *id = cJSON_CreateString(tmpl->uvm_id);
	char *json = id ? cJSON_PrintUnformatted(id) : NULL;
	int rc = json ? 0 : LH_FAIL(err, -ENOMEM, "out of memory");

	if (rc == 0)
		rc = lh_document_add(clone->document, "VirtualMachine/RestoreState/TemplateSystemId",
				     json, err);
	cJSON_free(json);
	cJSON_Delete(id);
	return rc;
}

int lh_clone_build(struct lh_host *template_host, const char *new_id, const char *scratch_dir,
		   struct lh_driver *driver, const struct lh_clone_commit *commit,
		   struct lh_host **out, cJSON **document, struct lh_error *err)
{
	struct lh_instance **pairs = NULL;
	struct clone_undo undo = { 0 };
	struct lh_host *clone = NULL;
	struct lh_uvm_identity identity;
	char containers[PATH_MAX];
	size_t done = 0;
	int rc;

	*out = NULL;
	*document = NULL;
	if (strcmp(new_id, template_host->uvm_id) == 0) {
		rc = LH_FAIL(err, -EINVAL, "clone id %s is the template's own id", new_id);
		goto out;
	}
	rc = clone_undo_prepare(&undo, scratch_dir, err);
	if (rc)
		goto out;
	rc = lh_host_open(template_host->cfg, driver, new_id, &clone, err);
	if (rc)
		goto undo;
	/* The guest's memory is the template's: so are its mount ids. */
	lh_host_identity(template_host, &identity);
	identity.is_template = false;
	identity.is_clone = true;
	identity.vm_boot[0] = '\0'; /* it lives in no VM yet */
	lh_host_set_identity(clone, &identity, NULL);
	pairs = calloc(template_host->n_instances + 1, sizeof(*pairs));
	rc = pairs ? clone_document_new(template_host, clone, undo.scratch, err)
		   : LH_FAIL(err, -ENOMEM, "out of memory");
	if (rc == 0)
		rc = clone_backends(template_host, clone, undo.scratch, pairs, &done, err);
	if (rc == 0)
		rc = clone_document_restore_state(template_host, clone, err);
	/* Backends add their devices in the order they are loaded: put every
	 * key where Go's JSON of hcsschema has it. */
	if (rc == 0)
		lh_document_normalize(clone->document);
	if (rc == 0)
		rc = clone_records(template_host, clone, err);
	if (rc == 0)
		rc = clone_repoint(clone, pairs, done, err);
	if (rc == 0)
		rc = clone_sync_copies(template_host, pairs, undo.scratch, err);
	if (rc == 0 && snprintf(containers, sizeof(containers), "%s/%s", undo.parent,
				LH_CLONE_CONTAINERS_DIR) >= (int)sizeof(containers))
		rc = LH_FAIL(err, -ENAMETOOLONG, "%s: path too long", undo.parent);
	/* Last but the commit, as it removes what it made itself if it fails. */
	if (rc == 0)
		rc = clone_link_scratches(template_host, clone, containers, err);
	if (rc == 0 && commit) {
		rc = commit->fn(commit->arg, clone, clone->document, err);
		if (rc)
			clone_unlink_scratches(undo.parent);
	}
	if (rc)
		goto undo;
	*document = clone->document;
	clone->document = NULL;
	*out = clone;
	clone = NULL;
	goto out;
undo:
	for (size_t i = 0; i < done; i++)
		if (pairs[i])
			clone_remove_copies(&undo, template_host->instances[i], pairs[i]);
	lh_host_close(clone);
	clone = NULL;
	clone_undo_run(&undo);
out:
	free(pairs);
	clone_undo_free(&undo);
	return rc;
}
