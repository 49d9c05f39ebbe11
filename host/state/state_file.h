/*
 * state_file.h - the state file on disk: read whole, replaced atomically
 * (temp file, fsync, rename, fsync of the folder, mode 0600), and the
 * exclusive lock every command that changes anything holds for its whole
 * run. The bytes: image.h.
 */
#ifndef LH_STATE_FILE_H
#define LH_STATE_FILE_H

#include <layerhost/backend.h>

/* Read path whole into a new buffer (*data, the caller frees). A missing
 * file is -ENOENT; a symlink is -LH_EREFUSED; something that is not a
 * regular file, or absurdly large, is -LH_ECORRUPT. */
int lh_state_file_read(const char *path, uint8_t **data, size_t *len, struct lh_error *err);

/* Replace path with data; a crash leaves the old file or the new one. A
 * path that exists and is not a regular file (a symlink) is -LH_EREFUSED. */
int lh_state_file_write(const char *path, const void *data, size_t len, struct lh_error *err);

/* flock on "<state path>.lock". Waits up to timeout_ms, then fails naming
 * the lock file (-ETIMEDOUT); a handled signal ends the wait (-EINTR). A
 * lock file that is not a regular file is -LH_EREFUSED. */
struct lh_state_lock;
int lh_state_lock_acquire(const char *state_path, int64_t timeout_ms,
			  struct lh_state_lock **out, struct lh_error *err);
void lh_state_lock_release(struct lh_state_lock *lock);

#endif
