/* state_file.c - see state_file.h. */
#include "state_file.h"

#include "durable.h"
#include "regular_file.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Far above any real state; keeps a corrupt size from a huge allocation. */
#define STATE_FILE_MAX (256u * 1024 * 1024)
#define STATE_LOCK_POLL_MS 20

/* ---- files --------------------------------------------------------------- */

int lh_state_file_read(const char *path, uint8_t **out, size_t *out_len, struct lh_error *err)
{
	uint8_t *data = NULL;
	struct stat st;
	size_t got = 0;
	ssize_t n;
	/* Not through a symlink: the save replaces the path itself, so a state
	 * read through one would be written back somewhere else. */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK), rc = 0;

	if (fd < 0 && errno == ELOOP)
		return LH_FAIL(err, -LH_EREFUSED, "%s: the state file is a symlink; give the file "
			       "it leads to as the state path", path);
	if (fd < 0)
		return LH_FAIL(err, -errno, "%s: cannot open the state file: %s", path,
			       strerror(errno));
	if (fstat(fd, &st) < 0) {
		rc = LH_FAIL(err, -errno, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size > STATE_FILE_MAX) {
		rc = LH_FAIL(err, -LH_ECORRUPT, "%s: not a state file (%s)", path,
			     S_ISREG(st.st_mode) ? "too large" : "not a regular file");
		goto out;
	}
	data = malloc((size_t)st.st_size + 1);
	if (!data) {
		rc = LH_FAIL(err, -ENOMEM, "out of memory");
		goto out;
	}
	while (got < (size_t)st.st_size) {
		n = read(fd, data + got, (size_t)st.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = LH_FAIL(err, -errno, "%s: read: %s", path, strerror(errno));
			goto out;
		}
		if (n == 0)
			break; /* shrank under us: the decode reports it truncated */
		got += (size_t)n;
	}
	*out = data;
	*out_len = got;
	data = NULL;
out:
	free(data);
	close(fd);
	return rc;
}

int lh_state_file_write(const char *path, const void *data, size_t len, struct lh_error *err)
{
	struct stat st;

	/* The state path is a regular file or nothing: a rename would replace
	 * a symlink (or anything else) with a file. */
	if (lstat(path, &st) == 0 && !S_ISREG(st.st_mode))
		return LH_FAIL(err, -LH_EREFUSED, "%s: the state path is %s, not a regular file; "
			       "refusing to replace it", path,
			       S_ISLNK(st.st_mode) ? "a symlink" : "something else");
	/* A command killed while saving leaves its temp file behind; this
	 * save holds the lock, so no other writer is at work. */
	lh_file_remove_stale_temps(path);
	return lh_file_replace(path, data, len, 0600, LH_REPLACE_DURABLE, "the state", err);
}

/* ---- the lock ------------------------------------------------------------ */

struct lh_state_lock {
	int fd;
};

int lh_state_lock_acquire(const char *state_path, int64_t timeout_ms,
			  struct lh_state_lock **out, struct lh_error *err)
{
	struct lh_state_lock *lock = NULL;
	struct timespec start, now, pause = { 0, STATE_LOCK_POLL_MS * 1000000L };
	char path[PATH_MAX];
	int64_t waited = 0;
	int fd = -1, rc = 0;

	*out = NULL;
	if (snprintf(path, sizeof(path), "%s.lock", state_path) >= (int)sizeof(path))
		return LH_FAIL(err, -ENAMETOOLONG, "%s.lock: path too long", state_path);
	fd = lh_open_regular(path, O_RDWR | O_CREAT, 0600, "the lock file", err);
	if (fd < 0)
		return fd;
	clock_gettime(CLOCK_MONOTONIC, &start);
	/* Polled rather than blocking, so the wait is bounded and a signal
	 * cannot leave it half way. */
	while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno == EINTR)
			continue;
		if (errno != EWOULDBLOCK) {
			rc = LH_FAIL(err, -errno, "%s: cannot lock: %s", path, strerror(errno));
			goto out;
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		waited = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
		if (timeout_ms >= 0 && waited >= timeout_ms) {
			rc = LH_FAIL(err, -ETIMEDOUT, "%s: another layerhost command holds the state "
				     "lock; gave up after %lld ms (raise the lock timeout to wait "
				     "longer)", path, (long long)waited);
			goto out;
		}
		/* a signal the program handles means: stop (not: wait on) */
		if (nanosleep(&pause, NULL) < 0 && errno == EINTR) {
			rc = LH_FAIL(err, -EINTR, "%s: interrupted while waiting for the state lock",
				     path);
			goto out;
		}
	}
	lock = malloc(sizeof(*lock));
	if (!lock) {
		rc = LH_FAIL(err, -ENOMEM, "out of memory");
		goto out;
	}
	lock->fd = fd;
	fd = -1;
	*out = lock;
out:
	if (fd >= 0)
		close(fd);
	return rc;
}

void lh_state_lock_release(struct lh_state_lock *lock)
{
	if (!lock)
		return;
	flock(lock->fd, LOCK_UN);
	close(lock->fd);
	free(lock);
}
