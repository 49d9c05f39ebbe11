/*
 * host_state.h - a host's state: what it holds, turned into a state image
 * (image.h) and back, and the state file's save and load (state_file.h).
 *
 * Loading is all or nothing: the image is parsed whole, every backend blob
 * is decoded into a fresh instance that is not yet part of the host, and
 * the fresh instances and records are swapped in only when everything
 * succeeded, so a refused load leaves the host as it was and the file
 * untouched, with a message naming the reason (bad magic, unknown format
 * version, checksum mismatch, truncated file, backend not loaded, backend
 * serial version unknown, another UVM's id).
 */
#ifndef LH_HOST_STATE_H
#define LH_HOST_STATE_H

#include "host.h"
#include "image.h"
#include "state_file.h"

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

/*
 * Make the state describe the VM that runs (drivers with a VM): what lived
 * in a VM is gone with it. Attachments recorded under a boot of the VM that
 * no longer runs (stopped, died, or started again since) are dropped from
 * the host, which issues no requests for them; a state that names no boot
 * takes the running one's. A template, a saved VM, is left as it is.
 * *dropped (may be NULL) says whether anything was dropped.
 */
int lh_state_reconcile_vm(struct lh_host *host, bool *dropped, struct lh_error *err);

#endif
