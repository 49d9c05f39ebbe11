/* container_checks.c - see container_checks.h. */
#include "container_checks.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

int lh_check_layers_distinct(const struct lh_container_config *c, struct lh_error *err)
{
	struct stat *st = calloc(c->n_layers + 1, sizeof(*st));
	int rc = 0;

	if (!st)
		return LH_FAIL(err, -ENOMEM, "out of memory");
	/* One folder under two names (a symlink, "a/../b") is told by its
	 * identity, a stat each. A folder that does not resolve is the
	 * per-layer check's to report. */
	for (size_t i = 0; i < c->n_layers; i++)
		if (stat(c->layers[i], &st[i]) != 0)
			st[i].st_ino = 0;
	/* Layers are few (a few dozen at most): pairs are cheap. */
	for (size_t i = 1; rc == 0 && i < c->n_layers; i++)
		for (size_t j = 0; rc == 0 && j < i; j++)
			if (st[i].st_ino && st[i].st_ino == st[j].st_ino &&
			    st[i].st_dev == st[j].st_dev)
				rc = LH_FAIL(err, -EINVAL, "container %s: layer %zu (%s) is layer %zu "
					     "again (%s): list each layer once", c->name, i + 1,
					     c->layers[i], j + 1, c->layers[j]);
	free(st);
	return rc;
}

/* Whether a real path is / or a folder of the host's own system. */
static bool system_folder(const char *real)
{
	static const char *const top[] = {
		"bin", "boot", "dev", "etc", "home", "lib", "lib32", "lib64", "libx32", "media",
		"mnt", "opt", "proc", "root", "run", "sbin", "srv", "sys", "tmp", "usr", "var",
	};
	static const char *const below[] = { "/usr/", "/var/", "/etc/" };
	const char *rest;

	if (strcmp(real, "/") == 0)
		return true;
	for (size_t i = 0; i < sizeof(top) / sizeof(top[0]); i++)
		if (real[0] == '/' && strcmp(real + 1, top[i]) == 0)
			return true;
	/* /usr/lib, /var/lib, /etc/ssl: one level down in these is the system too. */
	for (size_t i = 0; i < sizeof(below) / sizeof(below[0]); i++) {
		size_t n = strlen(below[i]);

		if (strncmp(real, below[i], n) == 0) {
			rest = real + n;
			if (*rest && !strchr(rest, '/'))
				return true;
		}
	}
	return false;
}

int lh_check_wcow_layers(const struct lh_container_config *c, struct lh_error *err)
{
	char real[PATH_MAX];

	for (size_t i = 0; i < c->n_layers; i++) {
		if (!realpath(c->layers[i], real))
			continue; /* missing: the per-layer check says so */
		if (system_folder(real))
			return LH_FAIL(err, -EPERM, "container %s: layer %zu: %s%s%s is a system "
				       "folder of the host; refusing to share it with the guest as a "
				       "WCOW layer", c->name, i + 1, c->layers[i],
				       strcmp(real, c->layers[i]) ? " -> " : "",
				       strcmp(real, c->layers[i]) ? real : "");
	}
	return 0;
}

int lh_check_scratch_writable(const struct lh_container_config *c, struct lh_error *err)
{
	struct statvfs vfs;

	if (statvfs(c->scratch, &vfs) == 0 && (vfs.f_flag & ST_RDONLY))
		return LH_FAIL(err, -EROFS, "container %s: scratch folder %s is on a read-only "
			       "filesystem; the overlay's upper and work folders need a writable "
			       "one", c->name, c->scratch);
	return 0;
}

int lh_check_scratch_not_system(const struct lh_container_config *c, struct lh_error *err)
{
	char real[PATH_MAX];

	if (realpath(c->scratch, real) && system_folder(real))
		return LH_FAIL(err, -LH_EREFUSED, "container %s: scratch folder %s%s%s is a system "
			       "folder of the host; give the container an empty folder of its own",
			       c->name, c->scratch, strcmp(real, c->scratch) ? " -> " : "",
			       strcmp(real, c->scratch) ? real : "");
	return 0;
}
