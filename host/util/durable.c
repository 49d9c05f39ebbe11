/* durable.c - see durable.h. */
#include "durable.h"

#include "error.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int lh_write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int fsync_open(const char *path, int flags)
{
	int fd = open(path, flags | O_CLOEXEC), rc = 0;

	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		rc = -errno;
	close(fd);
	return rc;
}

int lh_fsync_file(const char *path)
{
	return fsync_open(path, O_RDONLY);
}

int lh_fsync_parent(const char *path)
{
	const char *slash = strrchr(path, '/');
	char dir[PATH_MAX];

	if (!slash)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == path)
		snprintf(dir, sizeof(dir), "/");
	else if (snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path) >= (int)sizeof(dir))
		return -ENAMETOOLONG;
	return fsync_open(dir, O_RDONLY | O_DIRECTORY);
}

void lh_file_remove_stale_temps(const char *path)
{
	char dir[PATH_MAX], prefix[NAME_MAX + 1], stale[PATH_MAX];
	const char *slash = strrchr(path, '/');
	struct dirent *e;
	DIR *d;

	if (snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - path) : 1,
		     slash ? path : ".") >= (int)sizeof(dir) ||
	    snprintf(prefix, sizeof(prefix), "%s.tmp.", slash ? slash + 1 : path) >=
		    (int)sizeof(prefix))
		return;
	d = opendir(dir[0] ? dir : "/");
	if (!d)
		return;
	while ((e = readdir(d)))
		if (strncmp(e->d_name, prefix, strlen(prefix)) == 0 &&
		    snprintf(stale, sizeof(stale), "%s/%s", dir, e->d_name) < (int)sizeof(stale))
			unlink(stale);
	closedir(d);
}

int lh_file_replace(const char *path, const void *data, size_t len, mode_t mode,
		    unsigned flags, const char *what, struct lh_error *err)
{
	char tmp[PATH_MAX];
	const char *step = "create";
	int fd = -1, rc = 0;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp.XXXXXX", path) >= (int)sizeof(tmp))
		return LH_FAIL(err, -ENAMETOOLONG, "%s: path too long", path);
	/* mkostemp creates the file 0600: nobody else reads it, not even for
	 * a moment, before the mode asked for is set. */
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		goto fail;
	}
	step = "write";
	rc = lh_write_all(fd, data, len);
	if (rc == 0 && fchmod(fd, mode) < 0)
		rc = -errno;
	if (rc == 0 && !(flags & LH_REPLACE_NO_FLUSH)) {
		step = "fsync";
		if (fsync(fd) < 0)
			rc = -errno;
	}
	if (close(fd) < 0 && rc == 0) {
		step = "close";
		rc = -errno;
	}
	fd = -1;
	if (rc == 0) {
		step = "rename";
		if (rename(tmp, path) < 0)
			rc = -errno;
	}
	if (rc)
		goto fail;
	if (flags & LH_REPLACE_NO_FLUSH)
		return 0;
	rc = lh_fsync_parent(path);
	if (rc)
		LH_FAIL(err, rc, "%s: %s written, but its folder could not be synced: %s", path,
			what, lh_strerror(rc));
	return rc;
fail:
	if (strcmp(step, "create") != 0)
		unlink(tmp);
	return LH_FAIL(err, rc, "%s: cannot save %s (%s): %s", path, what, step, lh_strerror(rc));
}
