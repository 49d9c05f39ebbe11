/* copy.c - see copy.h. */
#include "copy.h"

#include "error.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#define COPY_CHUNK (1u << 20)

/* Next data extent at or after *pos: [*pos, *end). Returns 0, 1 at EOF, or
 * -errno. A filesystem without SEEK_DATA reports the whole rest as data. */
static int next_extent(int fd, off_t size, off_t *pos, off_t *end)
{
	off_t data = lseek(fd, *pos, SEEK_DATA);

	if (data < 0) {
		if (errno == ENXIO)
			return 1;
		if (errno != EINVAL)
			return -errno;
		data = *pos;
		*end = size;
	} else {
		off_t hole = lseek(fd, data, SEEK_HOLE);

		*end = hole < 0 ? size : hole;
	}
	*pos = data;
	return data >= size ? 1 : 0;
}

static int copy_range(int in, int out, off_t size)
{
	off_t pos = 0, end;
	int rc;

	while ((rc = next_extent(in, size, &pos, &end)) == 0) {
		while (pos < end) {
			off_t off_in = pos, off_out = pos;
			ssize_t n = copy_file_range(in, &off_in, out, &off_out,
						    (size_t)(end - pos), 0);

			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				return -errno;
			if (n == 0)
				return -EIO; /* the source shrank under us */
			pos += n;
		}
	}
	return rc < 0 ? rc : 0;
}

static int copy_read_write(int in, int out, off_t size)
{
	off_t pos = 0, end;
	char *buf = malloc(COPY_CHUNK);
	int rc;

	if (!buf)
		return -ENOMEM;
	while ((rc = next_extent(in, size, &pos, &end)) == 0) {
		while (pos < end) {
			size_t want = (size_t)(end - pos) < COPY_CHUNK ? (size_t)(end - pos) : COPY_CHUNK;
			ssize_t n = pread(in, buf, want, pos), done = 0;

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				rc = n < 0 ? -errno : -EIO;
				goto out;
			}
			while (done < n) {
				ssize_t w = pwrite(out, buf + done, (size_t)(n - done), pos + done);

				if (w < 0 && errno == EINTR)
					continue;
				if (w < 0) {
					rc = -errno;
					goto out;
				}
				done += w;
			}
			pos += n;
		}
	}
	if (rc > 0)
		rc = 0;
out:
	free(buf);
	return rc;
}

/* Methods that failed only because the filesystem cannot do them; the next
 * method is tried then. */
static bool method_unsupported(int rc)
{
	return rc == -EOPNOTSUPP || rc == -ENOTTY || rc == -EXDEV || rc == -EINVAL ||
	       rc == -ENOSYS || rc == -EBADF;
}

int lh_copy_file(const char *src, const char *dst, unsigned allow, enum lh_copy_method *used,
		 struct lh_error *err)
{
	struct stat st;
	int in, out = -1, rc = -EOPNOTSUPP;
	enum lh_copy_method method = 0;
	const char *step = "copy";

	in = open(src, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return LH_FAIL(err, -errno, "%s: cannot open for copying: %s", src, strerror(errno));
	if (fstat(in, &st) < 0) {
		rc = LH_FAIL(err, -errno, "%s: cannot stat for copying: %s", src, strerror(errno));
		close(in);
		return rc;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = LH_FAIL(err, -EINVAL, "%s: not a regular file to copy", src);
		close(in);
		return rc;
	}
	out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (out < 0) {
		rc = LH_FAIL(err, -errno, "%s: cannot create copy: %s", dst, strerror(errno));
		close(in);
		return rc;
	}
	/* The source is read once, front to back: a larger readahead window
	 * for a disk that is not in the page cache. Advice only. */
	(void)posix_fadvise(in, 0, 0, POSIX_FADV_SEQUENTIAL);
	if (allow & LH_COPY_ALLOW_REFLINK) {
		rc = ioctl(out, FICLONE, in) < 0 ? -errno : 0;
		method = LH_COPY_REFLINK;
		step = "reflink";
	}
	/* A refused FICLONE leaves dst empty. Not truncating it again matters
	 * on ext4: a truncation to zero makes close() start writing the file
	 * back (auto_da_alloc), a flush the caller did not ask for. */
	if (rc && method_unsupported(rc) && (allow & LH_COPY_ALLOW_RANGE)) {
		rc = copy_range(in, out, st.st_size);
		method = LH_COPY_RANGE;
		step = "copy_file_range";
	}
	if (rc && method_unsupported(rc) && (allow & LH_COPY_ALLOW_READ_WRITE)) {
		rc = copy_read_write(in, out, st.st_size);
		method = LH_COPY_READ_WRITE;
		step = "read/write copy";
	}
	/* Holes at the end are not written: set the length explicitly. */
	if (rc == 0 && ftruncate(out, st.st_size) < 0)
		rc = -errno;
	if (rc == 0 && fchmod(out, st.st_mode & 07777) < 0)
		rc = -errno;
	if (close(out) < 0 && rc == 0)
		rc = -errno;
	close(in);
	if (rc) {
		unlink(dst);
		return LH_FAIL(err, rc, "copy %s -> %s failed (%s): %s", src, dst, step,
			       lh_strerror(rc));
	}
	if (used)
		*used = method;
	return 0;
}
