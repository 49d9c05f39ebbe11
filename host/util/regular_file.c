/* regular_file.c - see regular_file.h. */
#include "regular_file.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *lh_file_kind(mode_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFREG: return "a regular file";
	case S_IFDIR: return "a directory";
	case S_IFIFO: return "a FIFO";
	case S_IFCHR: return "a character device";
	case S_IFBLK: return "a block device";
	case S_IFSOCK: return "a socket";
	case S_IFLNK: return "a symbolic link";
	default: return "of an unknown kind";
	}
}

int lh_open_regular(const char *path, int flags, mode_t mode, const char *what,
		    struct lh_error *err)
{
	struct stat st;
	int fd, rc;

	/* O_NOCTTY: a terminal named as a file must not become ours */
	fd = open(path, flags | O_NONBLOCK | O_NOCTTY | O_CLOEXEC, mode);
	if (fd < 0)
		return LH_FAIL(err, -errno, "%s: cannot open %s: %s", path, what, strerror(errno));
	if (fstat(fd, &st) < 0) {
		rc = LH_FAIL(err, -errno, "%s: %s", path, strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = LH_FAIL(err, -LH_EREFUSED, "%s: %s is not a regular file (%s)", path, what,
			     lh_file_kind(st.st_mode));
		goto fail;
	}
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) < 0) {
		rc = LH_FAIL(err, -errno, "%s: %s", path, strerror(errno));
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return rc;
}
