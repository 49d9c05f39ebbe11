/*
 * state_file.c - the state file on disk: loaded whole, written atomically
 * (temp file, fsync, rename, fsync of the folder, mode 0600), and the
 * exclusive lock every mutating command holds. The image itself: state.c.
 */
#include "state.h"
#include "durable.h"

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

int lh_state_load(struct lh_host *host, const char *path, struct lh_error *err)
{
	uint8_t *data = NULL;
	struct stat st;
	size_t got = 0;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc = 0;

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
	rc = lh_state_decode(host, data, got, path, err);
out:
	free(data);
	close(fd);
	return rc;
}

/* A command killed while saving leaves its temp file behind; the next save
 * (which holds the lock, so no other writer is at work) removes them. */
static void state_remove_stale_temps(const char *path)
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

int lh_state_save(struct lh_host *host, const char *path, struct lh_error *err)
{
	struct lh_gob_encoder enc;
	char tmp[PATH_MAX];
	const char *step = "create";
	int fd = -1, rc;

	lh_gob_encoder_init(&enc);
	rc = lh_state_encode(host, &enc, err);
	if (rc)
		goto out;
	if (snprintf(tmp, sizeof(tmp), "%s.tmp.XXXXXX", path) >= (int)sizeof(tmp)) {
		rc = LH_FAIL(err, -ENAMETOOLONG, "%s: path too long", path);
		goto out;
	}
	state_remove_stale_temps(path);
	/* mkostemp creates the file 0600, so the state is never readable by
	 * others, not even for a moment. */
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		goto fail;
	}
	step = "write";
	rc = lh_write_all(fd, enc.data, enc.len);
	if (rc == 0 && fchmod(fd, 0600) < 0)
		rc = -errno;
	step = "fsync";
	if (rc == 0 && fsync(fd) < 0)
		rc = -errno;
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	fd = -1;
	step = "rename";
	if (rc == 0 && rename(tmp, path) < 0)
		rc = -errno;
	if (rc)
		goto fail;
	rc = lh_fsync_parent(path);
	if (rc)
		LH_FAIL(err, rc, "%s: saved, but its folder could not be synced: %s", path,
			strerror(-rc));
	goto out;
fail:
	if (strcmp(step, "create") != 0)
		unlink(tmp);
	LH_FAIL(err, rc, "%s: cannot save the state (%s): %s", path, step, strerror(-rc));
out:
	lh_gob_encoder_free(&enc);
	return rc;
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
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return LH_FAIL(err, -errno, "%s: cannot open the lock file: %s", path,
			       strerror(errno));
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
		nanosleep(&pause, NULL);
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
