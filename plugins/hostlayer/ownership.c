/*
 * ownership.c - what one instance, that is one state file, may use.
 *
 * Its run root: layer mounts live at <run_root>/layers/<key>, named by the
 * layer file alone, so two states on one run root would mount the same
 * layer on the same folder, stacked, and each one's unmount would take
 * the other's. Every mount under the run root must be one this instance
 * made (or is making).
 *
 * Its scratch folders: upper/ and work/ of one overlay only; overlayfs
 * leaves two overlays sharing them undefined.
 */
#include "hostlayer.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ---- the run root ---------------------------------------------------------- */

static bool hostlayer_same_mount(const struct hostlayer_mount_entry *m, bool mounted,
				 const struct hostlayer_mount_id *id)
{
	/* still being mounted, or recorded without an identity: the path says it */
	if (!mounted || id->id == 0)
		return true;
	return m->id == id->id && m->major == id->major && m->minor == id->minor;
}

/* Whether m is one of this instance's layer mounts or overlays (any
 * state: one being mounted is ours too). */
static bool hostlayer_owns(const struct hostlayer_priv *p, const struct hostlayer_mount_entry *m)
{
	const struct hostlayer_layer *l;
	const struct hostlayer_container *c;
	size_t cur = 0;

	while ((l = lh_map_next(&p->layers, &cur)))
		if (strcmp(l->mount_dir, m->target) == 0 &&
		    hostlayer_same_mount(m, l->state == HOSTLAYER_READY && l->mounted, &l->mnt))
			return true;
	cur = 0;
	while ((c = lh_map_next(&p->containers, &cur)))
		if (strcmp(c->mount_path, m->target) == 0 &&
		    hostlayer_same_mount(m, c->state == HOSTLAYER_READY && c->mounted, &c->overlay))
			return true;
	return false;
}

struct hostlayer_run_root_scan {
	struct hostlayer_priv *p;
	size_t root_len;
	struct lh_error *err;
};

static int hostlayer_run_root_visit(void *arg, const struct hostlayer_mount_entry *m)
{
	struct hostlayer_run_root_scan *scan = arg;
	const char *root = scan->p->run_root;

	if (strncmp(m->target, root, scan->root_len) != 0 ||
	    (m->target[scan->root_len] != '/' && m->target[scan->root_len] != '\0') ||
	    hostlayer_owns(scan->p, m))
		return 0;
	return LH_FAIL(scan->err, -LH_EREFUSED,
		       "run_root %s holds %s (%s), which this state did not mount: another "
		       "state file uses this run_root (give each one its own), or a command "
		       "was killed part way (unmount it)", root, m->target, m->fstype);
}

int hostlayer_check_run_root(struct hostlayer_priv *p, struct lh_error *err)
{
	struct hostlayer_run_root_scan scan = { .p = p, .root_len = strlen(p->run_root),
						.err = err };

	return hostlayer_mounts_visit(hostlayer_run_root_visit, &scan, err);
}

/* ---- scratch folders --------------------------------------------------------- */

static bool hostlayer_same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

struct hostlayer_scratch_scan {
	const struct hostlayer_container *c;
	struct stat folder, upper, work; /* st_ino 0: absent */
	struct lh_error *err;
};

static bool hostlayer_scratch_holds(const struct hostlayer_scratch_scan *scan, const char *path)
{
	struct stat st;

	if (stat(path, &st) != 0)
		return false;
	return hostlayer_same_file(&st, &scan->folder) ||
	       (scan->upper.st_ino && hostlayer_same_file(&st, &scan->upper)) ||
	       (scan->work.st_ino && hostlayer_same_file(&st, &scan->work));
}

static int hostlayer_scratch_mount_visit(void *arg, const struct hostlayer_mount_entry *m)
{
	struct hostlayer_scratch_scan *scan = arg;
	char path[LH_PATH_CAP];

	if (strcmp(m->fstype, "overlay") != 0)
		return 0;
	if ((hostlayer_mount_option(m->options, "upperdir", path, sizeof(path)) &&
	     hostlayer_scratch_holds(scan, path)) ||
	    (hostlayer_mount_option(m->options, "workdir", path, sizeof(path)) &&
	     hostlayer_scratch_holds(scan, path)))
		return LH_FAIL(scan->err, -LH_EREFUSED, "scratch folder %s is in use by the "
			       "overlay mounted at %s", scan->c->scratch, m->target);
	return 0;
}

int hostlayer_check_scratch_free(struct hostlayer_priv *p, const struct hostlayer_container *c,
				 struct lh_error *err)
{
	struct hostlayer_scratch_scan scan = { .c = c, .err = err };
	const struct hostlayer_container *other;
	char path[LH_PATH_CAP + 16];
	struct stat st;

	if (stat(c->scratch, &scan.folder) != 0)
		return LH_FAIL(err, -errno, "scratch folder %s: %s", c->scratch, strerror(errno));
	snprintf(path, sizeof(path), "%s/upper", c->scratch);
	if (stat(path, &scan.upper) != 0)
		scan.upper.st_ino = 0;
	snprintf(path, sizeof(path), "%s/work", c->scratch);
	if (stat(path, &scan.work) != 0)
		scan.work.st_ino = 0;
	for (size_t cur = 0; (other = lh_map_next(&p->containers, &cur));)
		if (other != c && stat(other->scratch, &st) == 0 &&
		    hostlayer_same_file(&st, &scan.folder))
			return LH_FAIL(err, -LH_EREFUSED, "scratch folder %s is the scratch of "
				       "container %s; give each container its own", c->scratch,
				       other->id);
	return hostlayer_mounts_visit(hostlayer_scratch_mount_visit, &scan, err);
}
