/* session.c - see session.h. */
#include "session.h"

#include "clone.h"
#include "log.h"
#include "host_state.h"
#include "regular_file.h"
#include "signals.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>

void lh_report_error(const struct lh_error *err)
{
	lh_log_print(LH_LOG_ERROR, "%s", err->message[0] ? err->message : "failed");
}

static int replace_string(char **field, const char *value)
{
	char *copy = strdup(value);

	if (!copy)
		return -ENOMEM;
	free(*field);
	*field = copy;
	return 0;
}

/* Load the config and apply the command line's overrides. */
int lh_session_config(const struct lh_cli *cli, struct lh_session *s)
{
	struct lh_config *cfg;
	struct stat st;
	int rc;

	/* reading a FIFO would wait for a writer for good */
	if (stat(cli->config_path, &st) == 0 && !S_ISREG(st.st_mode)) {
		LH_FAIL(&s->err, -LH_EREFUSED, "%s: the config file is not a regular file (%s)",
			cli->config_path, lh_file_kind(st.st_mode));
		return LH_EXIT_USAGE;
	}
	rc = lh_config_load(cli->config_path, &s->cfg, &s->err);
	if (rc)
		return LH_EXIT_USAGE;
	cfg = s->cfg;
	if (cli->plugin_dir)
		rc = replace_string(&cfg->plugin_dir, cli->plugin_dir);
	else if (cfg->plugin_dir_default && cli->exe_plugin_dir)
		rc = replace_string(&cfg->plugin_dir, cli->exe_plugin_dir);
	/* Run from the build tree, the guest is the one built there. */
	if (rc == 0 && cfg->guest_dir_default && cfg->guest_dir && cli->exe_guest_dir)
		rc = lh_config_set_guest_dir(cfg, cli->exe_guest_dir);
	if (rc == 0 && cli->uvm_id)
		rc = replace_string(&cfg->uvm_id, cli->uvm_id);
	if (rc == 0 && cli->state_path)
		rc = replace_string(&cfg->state_path, cli->state_path);
	if (rc) {
		LH_FAIL(&s->err, rc, "out of memory");
		return LH_EXIT_FAILED;
	}
	if (!cli->log_level_set)
		lh_log_set_level(cfg->log_level);
	return LH_EXIT_OK;
}

/* What the driver let overlap done and flushed, then the state written. */
static int lh_session_save(struct lh_session *s, struct lh_error *err)
{
	int rc = lh_host_flush(s->host, err);

	return rc ? rc : lh_state_save(s->host, s->cfg->state_path, err);
}

static int lh_session_end(struct lh_session *s, int code)
{
	lh_host_close(s->host);
	lh_state_lock_release(s->lock);
	lh_config_free(s->cfg);
	return code;
}

/*
 * Open a session: config, lock (when `mutating`), host, state. driver:
 * NULL for the configured one. Returns an exit code; on failure the
 * session is closed and the error printed.
 */
int lh_session_open(const struct lh_cli *cli, unsigned flags, struct lh_driver *driver,
		    struct lh_session *s)
{
	bool mutating = flags & LH_SESSION_MUTATING;
	int64_t timeout;
	int code, rc;

	memset(s, 0, sizeof(*s));
	code = lh_session_config(cli, s);
	if (code)
		goto fail;
	timeout = cli->lock_timeout_ms >= 0 ? cli->lock_timeout_ms : s->cfg->lock_timeout_ms;
	if (mutating && lh_state_lock_acquire(s->cfg->state_path, timeout, &s->lock, &s->err)) {
		code = LH_EXIT_FAILED;
		goto fail;
	}
	if (lh_host_open(s->cfg, driver, NULL, &s->host, &s->err)) {
		code = s->err.code == -ENOMEM ? LH_EXIT_FAILED : LH_EXIT_USAGE;
		goto fail;
	}
	rc = lh_state_load(s->host, s->cfg->state_path, &s->err);
	if (rc == -ENOENT) {
		lh_error_clear(&s->err);
		rc = 0;
	}
	if (rc == 0 && !(flags & LH_SESSION_KEEP_VM_STATE)) {
		rc = lh_state_reconcile_vm(s->host, NULL, &s->err);
		/* Looking changes nothing: show the state as recorded, and why it
		 * could not be checked against the VM. */
		if (rc && !mutating) {
			lh_log(LH_LOG_WARN, "layerhost", "%s", s->err.message);
			lh_error_clear(&s->err);
			rc = 0;
		}
	}
	if (rc) {
		code = LH_EXIT_FAILED;
		goto fail;
	}
	/* A clone's containers use the clone's scratch disks, not the
	 * template's that the config names. */
	if (s->host->uvm.is_clone &&
	    lh_clone_adopt_scratches(s->cfg, s->cfg->state_path, &s->err)) {
		code = LH_EXIT_FAILED;
		goto fail;
	}
	if (lh_signal_caught()) {
		code = LH_EXIT_FAILED; /* stopped before anything was done */
		goto close;
	}
	return LH_EXIT_OK;
fail:
	lh_report_error(&s->err);
close:
	lh_session_end(s, code);
	memset(s, 0, sizeof(*s));
	return code;
}

/* Save (when asked) and close. Returns `code`, or 1 if the save failed. */
int lh_session_close(struct lh_session *s, bool save, int code)
{
	return save ? lh_session_commit(s, code, NULL, NULL) : lh_session_end(s, code);
}

int lh_session_commit(struct lh_session *s, int code, lh_session_undo_fn undo, void *arg)
{
	struct lh_error err = { 0 };

	if (lh_session_save(s, &err) == 0)
		return lh_session_end(s, code);
	lh_report_error(&err);
	if (!undo)
		return lh_session_end(s, LH_EXIT_FAILED);
	undo(s, arg);
	lh_error_clear(&err);
	if (lh_session_save(s, &err)) {
		lh_report_error(&err);
		lh_log_print(LH_LOG_ERROR, "the state on disk may not match what is mounted");
	}
	return lh_session_end(s, LH_EXIT_FAILED);
}
