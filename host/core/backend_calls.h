/*
 * backend_calls.h - every call the host makes into a backend's table goes
 * through one function here, so the ABI rules live in one place: which
 * slots are mandatory, which a version may lack (checked against the
 * table's struct_size, SQLite's iVersion rule), how big a result buffer
 * must be, how the option table is walked.
 */
#ifndef LH_BACKEND_CALLS_H
#define LH_BACKEND_CALLS_H

#include "host.h"
#include "options.h"

/*
 * Check a table before anything else of the plugin is used: an ABI
 * version this host speaks, a size at least that of ABI v1, a name, the
 * mandatory slots, and for v2 sane struct sizes and an option table whose
 * fields lie inside priv. `file` names the plugin in the message.
 */
int lh_backend_check(const struct lh_backend *ops, const char *file, struct lh_error *err);

/* The option table as the host walks it (stride from the table's ABI). */
struct lh_option_list lh_backend_options(const struct lh_backend *ops);

/* The slots. Each takes the instance whose priv the slot is called on. */
int lh_backend_open(struct lh_instance *inst, struct lh_error *err);
/* `out` is the host's result: the plugin writes into a zeroed buffer of
 * the size it declared, of which the host copies what it knows. */
int lh_backend_attach(struct lh_instance *inst, const struct lh_attach_request *req,
		      struct lh_attach_result *out, struct lh_error *err);
int lh_backend_release(struct lh_instance *inst, uint64_t handle, struct lh_error *err);
int lh_backend_encode(struct lh_instance *inst, struct lh_gob_encoder *enc,
		      struct lh_error *err);
int lh_backend_decode(struct lh_instance *inst, struct lh_gob_decoder *dec,
		      struct lh_error *err);
/* -LH_EUNSUPPORTED naming the backend when it has no clone slot. */
int lh_backend_clone(struct lh_instance *tmpl, struct lh_instance *clone,
		     const struct lh_clone_request *req, struct lh_error *err);
bool lh_backend_can_clone(const struct lh_instance *inst);
/* Visit the live attachments; a backend without a list slot has none to
 * show (0). */
int lh_backend_list(struct lh_instance *inst, lh_visit_fn fn, void *arg);
bool lh_backend_can_list(const struct lh_instance *inst);
/* Add the backend's needs of the VM (nothing for a v1 backend). */
void lh_backend_vm_needs(struct lh_instance *inst, struct lh_vm_needs *needs);
/* The roles it declares (enum lh_backend_role), 0 when it declares none
 * (any role: a v1 plugin, or a v2 one built before the member). */
uint32_t lh_backend_roles(const struct lh_instance *inst);
/* Whether the backend writes its blob without a serial version of its
 * own (ABI v2; see backend.h). */
bool lh_backend_blob_unversioned(const struct lh_instance *inst);
void lh_backend_close(struct lh_instance *inst);

#endif
