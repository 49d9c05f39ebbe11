/* plugin_trust.c - see plugin_trust.h. */
#include "plugin_trust.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static bool trusted_owner(uid_t uid)
{
	return uid == 0 || uid == geteuid();
}

/* One file or folder of the chain: `what` is "file" or "folder". */
static int check_one(const char *plugin, const char *what, const char *path,
		     const struct stat *st, struct lh_error *err)
{
	bool folder = S_ISDIR(st->st_mode);

	if (!trusted_owner(st->st_uid))
		return LH_FAIL(err, -EPERM, "%s: refusing plugin: %s%s%s is owned by uid %u, not "
			       "by root or by this user (uid %u); run chown root on it", plugin,
			       what, folder ? " " : "", folder ? path : "", (unsigned)st->st_uid,
			       (unsigned)geteuid());
	/* A sticky world-writable folder lets no one replace another's entry. */
	if (folder && (st->st_mode & S_ISVTX) && (st->st_mode & S_IWOTH))
		return 0;
	if (st->st_mode & (S_IWGRP | S_IWOTH))
		return LH_FAIL(err, -EPERM, "%s: refusing plugin: %s%s%s is %s-writable (mode "
			       "%04o); run chmod go-w on it", plugin, what, folder ? " " : "",
			       folder ? path : "", (st->st_mode & S_IWOTH) ? "world" : "group",
			       (unsigned)(st->st_mode & 07777));
	return 0;
}

/* Every folder above `real` (a path without symlinks), up to /. */
static int check_folders(const char *plugin, const char *real, struct lh_error *err)
{
	char dir[PATH_MAX];
	struct stat st;
	char *slash;
	int rc = 0;

	snprintf(dir, sizeof(dir), "%s", real);
	while (rc == 0 && (slash = strrchr(dir, '/'))) {
		slash[slash == dir ? 1 : 0] = '\0';
		if (stat(dir, &st) < 0)
			return LH_FAIL(err, -errno, "%s: cannot check folder %s: %s", plugin, dir,
				       strerror(errno));
		rc = check_one(plugin, "folder", dir, &st, err);
		if (strcmp(dir, "/") == 0)
			break;
	}
	return rc;
}

/* A symlink may only lead to a file directly in the plugin folder. */
static int check_symlink(const char *dir, const char *path, struct lh_error *err)
{
	char real_dir[PATH_MAX], real_file[PATH_MAX];
	size_t dlen;

	if (!realpath(dir, real_dir) || !realpath(path, real_file))
		return LH_FAIL(err, -errno, "%s: cannot resolve symlink: %s", path,
			       strerror(errno));
	dlen = strlen(real_dir);
	if (strncmp(real_file, real_dir, dlen) != 0 || real_file[dlen] != '/' ||
	    strchr(real_file + dlen + 1, '/'))
		return LH_FAIL(err, -EPERM, "%s: refusing plugin: symlink to %s leads out of the "
			       "plugin directory %s", path, real_file, real_dir);
	return 0;
}

int lh_plugin_trust_open(const char *dir, const char *path, int *out, struct lh_error *err)
{
	char proc[64], real[PATH_MAX];
	struct stat lst, st;
	ssize_t n;
	int fd = -1, rc = 0;

	*out = -1;
	if (lstat(path, &lst) < 0) {
		if (errno == ENOENT)
			return -ENOENT;
		return LH_FAIL(err, -errno, "%s: cannot stat: %s", path, strerror(errno));
	}
	if (S_ISLNK(lst.st_mode)) {
		rc = check_symlink(dir, path, err);
		if (rc)
			return rc;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return LH_FAIL(err, -errno, "%s: cannot open: %s", path, strerror(errno));
	if (fstat(fd, &st) < 0) {
		rc = LH_FAIL(err, -errno, "%s: cannot stat: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = LH_FAIL(err, -EPERM, "%s: refusing plugin: not a regular file", path);
		goto out;
	}
	rc = check_one(path, "file", path, &st, err);
	if (rc)
		goto out;
	/* The folders of the file actually opened, whatever the path's
	 * symlinks said a moment before. */
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	n = readlink(proc, real, sizeof(real) - 1);
	if (n > 0) {
		real[n] = '\0';
	} else if (!realpath(path, real)) {
		rc = LH_FAIL(err, -errno, "%s: cannot resolve: %s", path, strerror(errno));
		goto out;
	}
	rc = check_folders(path, real, err);
out:
	if (rc == 0)
		*out = fd;
	else
		close(fd);
	return rc;
}
