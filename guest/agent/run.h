/*
 * run.h - run a program and collect what it prints: the engine of the
 * exec operation and of the one tool the agent itself runs (mke2fs).
 */
#ifndef GA_RUN_H
#define GA_RUN_H

#include "agent.h"

struct ga_run_spec {
	char *const *argv;      /* argv[0] is searched in PATH unless it holds a '/' */
	char *const *envp;      /* NULL: PATH=LH_GUEST_EXEC_PATH only */
	const char *root;       /* chroot here first (NULL: the agent's root) */
	const char *cwd;        /* NULL: "/" with a root, else the agent's */
	const char *stdin_data; /* NULL: an empty stdin */
	size_t stdin_len;
	int timeout_ms;         /* then SIGKILL to its process group */
	size_t max_output;      /* bytes kept per stream; the rest is read and dropped */
};

struct ga_run_result {
	int exit_code;  /* -1 when ended by a signal */
	int signal;     /* 0 unless ended by a signal */
	bool timed_out;
	struct ga_buf out, err; /* the caller frees them (ga_buf_free) */
	bool out_truncated, err_truncated;
	int64_t duration_ms;
};

/*
 * Run spec to completion: the program's own exit or its timeout. A
 * command that could not be started (no such program in the root's PATH
 * nor in the agent's own, chroot or chdir failing) is an error naming
 * the step; once it runs, what it does is in *res (zeroed first; the
 * caller frees its buffers, also on failure).
 *
 * With a root, a program the root lacks is taken from the agent's own
 * PATH (the UVM's static toolbox), opened before the chroot, and run
 * inside the root: `cat /etc/motd` in a container whose layers hold no
 * cat reads the container's /etc/motd.
 */
int ga_run(const struct ga_run_spec *spec, struct ga_run_result *res, struct ga_error *err);

#endif
