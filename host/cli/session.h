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

/*
 * Open a session: config, lock (when `mutating`), host, state. driver:
 * NULL for the configured one. Returns an exit code; on failure the
 * session is closed and the error printed.
 */
int lh_session_open(const struct lh_cli *cli, bool mutating, struct lh_driver *driver,
		    struct lh_session *s);

/* Save (when asked) and close. Returns `code`, or 1 if the save failed. */
int lh_session_close(struct lh_session *s, bool save, int code);

#endif
