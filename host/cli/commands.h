/*
 * commands.h - the CLI's commands. Each returns the process exit code:
 * 0 success, 1 an operation failed, 2 usage or configuration error.
 *
 * Every command that changes anything holds the state lock for its whole
 * run, loads the state, acts, and saves the state that is true afterwards
 * (also after a failure and its rollback).
 */
#ifndef LH_COMMANDS_H
#define LH_COMMANDS_H

#include <layerhost/backend.h>

enum {
	LH_EXIT_OK = 0,
	LH_EXIT_FAILED = 1,
	LH_EXIT_USAGE = 2,
};

struct lh_cli {
	const char *config_path;
	const char *plugin_dir;   /* --plugin-dir: replaces the config's */
	const char *uvm_id;       /* --uvm-id: operate on another UVM (a clone) */
	const char *state_path;   /* --state: another state file */
	const char *exe_plugin_dir; /* next to the program (build tree), or NULL */
	const char *exe_guest_dir;  /* the guest mkinitramfs.sh built there, or NULL */
	const char *container;    /* --container: vm exec in this container's rootfs */
	bool json;
	bool log_level_set;       /* --log-level given: beats the config's */
	int64_t lock_timeout_ms;  /* --lock-timeout; -1: the config's */
	bool force;               /* --force: vm stop drops mounted containers */
};

int lh_cmd_mount(const struct lh_cli *cli, char *const *names, int n);
/* names NULL with all: every mounted container. */
int lh_cmd_unmount(const struct lh_cli *cli, char *const *names, int n, bool all);
int lh_cmd_status(const struct lh_cli *cli);
int lh_cmd_plan(const struct lh_cli *cli, char *const *names, int n);
/* force: replace a template of that name (else refused). */
int lh_cmd_save(const struct lh_cli *cli, const char *template_name, bool force);
int lh_cmd_restore(const struct lh_cli *cli);
int lh_cmd_clone(const struct lh_cli *cli, const char *template_name, const char *new_id,
		 const char *scratch_dir);

#endif
