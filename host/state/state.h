/*
 * state.h - the state file: everything a host holds, so the next command
 * (another process) can carry on.
 *
 * Layout: the 8 bytes "LHSTATE\n", then a gob stream of singleton values
 * (format version, the UVM, each backend's name + serial version + its
 * own encoded blob as []byte, each mounted container's record), then a
 * 4-byte big-endian zlib crc32 over everything before it.
 *
 * Saving is atomic (temp file in the same folder, fsync, rename, fsync the
 * folder; mode 0600). Loading is all or nothing: a refused load leaves the
 * host as it was and the file untouched, with a message naming the reason
 * (bad magic, unknown format version, checksum mismatch, truncated file,
 * backend not loaded, backend serial version unknown, another UVM's id).
 */
#ifndef LH_STATE_H
#define LH_STATE_H

#include "gob.h"
#include "host.h"

#define LH_STATE_MAGIC "LHSTATE\n"
#define LH_STATE_FORMAT_VERSION 1

/* Encode the whole host into enc (magic, stream and checksum included). */
int lh_state_encode(struct lh_host *host, struct lh_gob_encoder *enc, struct lh_error *err);

/* Decode a state image into host, which must hold no attachments and no
 * containers yet. `name` is used in messages (the file path). */
int lh_state_decode(struct lh_host *host, const uint8_t *data, size_t len, const char *name,
		    struct lh_error *err);

/* Write host's state to path atomically. */
int lh_state_save(struct lh_host *host, const char *path, struct lh_error *err);

/* Load path into host. A missing file is -ENOENT with nothing changed (the
 * caller decides whether that is "empty"). */
int lh_state_load(struct lh_host *host, const char *path, struct lh_error *err);

/* An exclusive lock held by every mutating command for its whole run:
 * flock on "<state path>.lock". Waits up to timeout_ms, then fails naming
 * the lock file. */
struct lh_state_lock;
int lh_state_lock_acquire(const char *state_path, int64_t timeout_ms,
			  struct lh_state_lock **out, struct lh_error *err);
void lh_state_lock_release(struct lh_state_lock *lock);

#endif
