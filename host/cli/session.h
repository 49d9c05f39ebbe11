/*
 * session.h - what one CLI command works on: the configuration with the
 * command line's overrides, the host, and (for a command that changes
 * anything) the state lock, held from before the state is read until
 * after it is saved.
 */
#ifndef LH_SESSION_H
#define LH_SESSION_H

#include "commands.h"
#include "host.h"

struct lh_state_lock;

struct lh_session {
	struct lh_config *cfg;
	struct lh_host *host;
	struct lh_state_lock *lock;
	struct lh_error err;
};

/* "layerhost: MESSAGE" on stderr. */
void lh_report_error(const struct lh_error *err);

/* Load the config into s->cfg and apply the command line's overrides.
 * Returns an exit code; the error is in s->err. */
int lh_session_config(const struct lh_cli *cli, struct lh_session *s);

enum lh_session_flags {
	LH_SESSION_READ = 0,
	LH_SESSION_MUTATING = 1u << 0,       /* the command changes things: hold the lock */
	LH_SESSION_KEEP_VM_STATE = 1u << 1,  /* do not reconcile the state with the VM (the
					      * vm commands do it themselves) */
};

/*
 * Open a session: config, lock (LH_SESSION_MUTATING), host, state, and
 * the state made true of the VM that runs (lh_state_reconcile_vm). driver:
 * NULL for the configured one. Returns an exit code; on failure the
 * session is closed and the error printed.
 */
int lh_session_open(const struct lh_cli *cli, unsigned flags, struct lh_driver *driver,
		    struct lh_session *s);

/* Save (when asked) and close. Returns `code`, or 1 if the save failed. */
int lh_session_close(struct lh_session *s, bool save, int code);

/* Put back what the command did, so that the world is again what the
 * state on disk records. */
typedef void (*lh_session_undo_fn)(struct lh_session *s, void *arg);

/*
 * The end of a command that changed something: save the state and close.
 * If the save fails, undo (when not NULL) and save again: the state on
 * disk is then the one before the command, whether or not the failed save
 * had replaced the file already. Without undo, what the command released
 * may still be listed in the state on disk: run again, the command
 * finishes it (releasing what is gone succeeds). Returns `code`, or 1 when
 * a save failed.
 */
int lh_session_commit(struct lh_session *s, int code, lh_session_undo_fn undo, void *arg);

#endif
