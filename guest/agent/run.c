/* run.c - see run.h. */
#include "run.h"

#include "guest_protocol.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* Why the child did not reach the program, sent up a close-on-exec pipe:
 * the pipe closing empty means the exec succeeded. */
enum run_stage { RUN_SETUP = 1, RUN_CHROOT, RUN_CHDIR, RUN_EXEC, RUN_NOT_FOUND };

struct run_failure {
	int stage;
	int err;
};

static const char *run_default_env[] = { "PATH=" LH_GUEST_EXEC_PATH, "HOME=/", NULL };

static const char *run_path_of(char *const *envp)
{
	for (size_t i = 0; envp && envp[i]; i++)
		if (strncmp(envp[i], "PATH=", 5) == 0)
			return envp[i] + 5;
	return LH_GUEST_EXEC_PATH;
}

/* The next ':'-separated element of *path into dir (empty means "."). */
static bool run_next_dir(const char **path, char *dir, size_t cap)
{
	const char *colon;
	size_t n;

	if (!*path)
		return false;
	colon = strchr(*path, ':');
	n = colon ? (size_t)(colon - *path) : strlen(*path);
	if (n == 0)
		snprintf(dir, cap, ".");
	else
		snprintf(dir, cap, "%.*s", (int)n, *path);
	*path = colon ? colon + 1 : NULL;
	return true;
}

/* name in the agent's own PATH, opened for a later execveat inside a
 * root that lacks it; -1 when there is none. */
static int run_open_fallback(const char *name)
{
	const char *path = getenv("PATH") ? getenv("PATH") : LH_GUEST_EXEC_PATH;
	char dir[1024], full[2048];
	struct stat st;

	while (run_next_dir(&path, dir, sizeof(dir))) {
		snprintf(full, sizeof(full), "%s/%s", dir, name);
		if (stat(full, &st) == 0 && S_ISREG(st.st_mode) && access(full, X_OK) == 0)
			return open(full, O_PATH | O_CLOEXEC);
	}
	return -1;
}

static void run_child(const struct ga_run_spec *s, char *const *envp, int in, int out, int errfd,
		      int status, int fallback) __attribute__((noreturn));
static void run_child(const struct ga_run_spec *s, char *const *envp, int in, int out, int errfd,
		      int status, int fallback)
{
	struct run_failure f = { RUN_SETUP, 0 };
	const char *name = s->argv[0], *path = run_path_of(envp);
	char dir[1024], full[2048];
	int found = ENOENT;
	sigset_t none;

	/* Its own session: a timeout kills the whole group. */
	setsid();
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(errfd, 2) < 0)
		goto fail;
	f.stage = RUN_CHROOT;
	if (s->root && chroot(s->root) < 0)
		goto fail;
	f.stage = RUN_CHDIR;
	if ((s->root || s->cwd) && chdir(s->cwd ? s->cwd : "/") < 0)
		goto fail;
	f.stage = RUN_EXEC;
	if (strchr(name, '/')) {
		execve(name, s->argv, envp);
		goto fail;
	}
	while (run_next_dir(&path, dir, sizeof(dir))) {
		snprintf(full, sizeof(full), "%s/%s", dir, name);
		execve(full, s->argv, envp);
		if (errno != ENOENT && errno != ENOTDIR)
			found = errno; /* there, but not runnable: say why */
	}
	if (fallback >= 0 && found == ENOENT) {
		syscall(SYS_execveat, fallback, "", s->argv, envp, AT_EMPTY_PATH);
		goto fail;
	}
	f.stage = found == ENOENT ? RUN_NOT_FOUND : RUN_EXEC;
	errno = found;
fail:
	f.err = errno;
	if (write(status, &f, sizeof(f)) < 0)
		_exit(126);
	_exit(127);
}

/* Read what fd has into b (up to max bytes kept). False at EOF or on an
 * error, when the caller closes it. */
static bool run_read(int fd, struct ga_buf *b, size_t max, bool *truncated)
{
	char chunk[65536];

	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN;
		if (n == 0)
			return false;
		if (b->len < max)
			ga_buf_add(b, chunk, (size_t)n < max - b->len ? (size_t)n : max - b->len);
		if (b->len + (size_t)n > max)
			*truncated = true;
	}
}

static void run_close(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static int run_failed_start(const struct ga_run_spec *s, const struct run_failure *f,
			    struct ga_error *err)
{
	const char *name = s->argv[0];

	switch (f->stage) {
	case RUN_CHROOT:
		return GA_SYSFAIL(err, f->err, "exec %s: chroot %s", name, s->root);
	case RUN_CHDIR:
		return GA_SYSFAIL(err, f->err, "exec %s: chdir %s", name, s->cwd ? s->cwd : "/");
	case RUN_NOT_FOUND:
		if (s->root)
			return GA_FAIL(err, -ENOENT, "exec %s: not found in the PATH of %s nor in "
				       "the UVM's", name, s->root);
		return GA_FAIL(err, -ENOENT, "exec %s: not found in PATH", name);
	case RUN_EXEC:
		return GA_SYSFAIL(err, f->err, "exec %s", name);
	default:
		return GA_SYSFAIL(err, f->err, "exec %s: setting up its standard streams", name);
	}
}

int ga_run(const struct ga_run_spec *s, struct ga_run_result *res, struct ga_error *err)
{
	char *const *envp = s->envp ? s->envp : (char *const *)run_default_env;
	int in[2] = { -1, -1 }, out[2] = { -1, -1 }, er[2] = { -1, -1 }, st[2] = { -1, -1 };
	int fallback = -1, status = 0, rc = 0;
	size_t written = 0;
	struct run_failure f;
	bool exited = false;
	int64_t t0 = ga_now_ms(), deadline = t0 + s->timeout_ms;
	pid_t pid;
	ssize_t n;

	memset(res, 0, sizeof(*res));
	if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0 || pipe2(er, O_CLOEXEC) < 0 ||
	    pipe2(st, O_CLOEXEC) < 0) {
		rc = GA_SYSFAIL(err, errno, "exec %s: pipe", s->argv[0]);
		goto out;
	}
	if (s->root && !strchr(s->argv[0], '/'))
		fallback = run_open_fallback(s->argv[0]);
	pid = fork();
	if (pid < 0) {
		rc = GA_SYSFAIL(err, errno, "exec %s: fork", s->argv[0]);
		goto out;
	}
	if (pid == 0)
		run_child(s, envp, in[0], out[1], er[1], st[1], fallback);
	run_close(&in[0]);
	run_close(&out[1]);
	run_close(&er[1]);
	run_close(&st[1]);
	do
		n = read(st[0], &f, sizeof(f));
	while (n < 0 && errno == EINTR);
	if (n == (ssize_t)sizeof(f)) {
		waitpid(pid, NULL, 0);
		rc = run_failed_start(s, &f, err);
		goto out;
	}
	fcntl(out[0], F_SETFL, O_NONBLOCK);
	fcntl(er[0], F_SETFL, O_NONBLOCK);
	fcntl(in[1], F_SETFL, O_NONBLOCK);
	if (!s->stdin_data || s->stdin_len == 0)
		run_close(&in[1]);
	while (out[0] >= 0 || er[0] >= 0) {
		struct pollfd p[3] = { { out[0], POLLIN, 0 }, { er[0], POLLIN, 0 },
				       { in[1], POLLOUT, 0 } };
		int64_t left;

		if (!exited && waitpid(pid, &status, WNOHANG) == pid)
			exited = true;
		if (exited) {
			/* What it wrote is in the pipes; a process it left
			 * behind holding them is not waited for. */
			if (out[0] >= 0)
				run_read(out[0], &res->out, s->max_output, &res->out_truncated);
			if (er[0] >= 0)
				run_read(er[0], &res->err, s->max_output, &res->err_truncated);
			break;
		}
		left = deadline - ga_now_ms();
		if (left <= 0)
			break;
		/* Capped so an exit is noticed while the pipes stay open. */
		if (poll(p, 3, left < 50 ? (int)left : 50) < 0 && errno != EINTR) {
			rc = GA_SYSFAIL(err, errno, "exec %s: poll", s->argv[0]);
			break;
		}
		if (p[0].revents && !run_read(out[0], &res->out, s->max_output, &res->out_truncated))
			run_close(&out[0]);
		if (p[1].revents && !run_read(er[0], &res->err, s->max_output, &res->err_truncated))
			run_close(&er[0]);
		if (p[2].revents & (POLLERR | POLLHUP)) {
			run_close(&in[1]);
		} else if (p[2].revents & POLLOUT) {
			n = write(in[1], s->stdin_data + written, s->stdin_len - written);
			if (n > 0)
				written += (size_t)n;
			if ((n < 0 && errno != EAGAIN) || written == s->stdin_len)
				run_close(&in[1]);
		}
	}
	/* Out of time, or it closed its output and runs on. */
	while (!exited) {
		if (waitpid(pid, &status, WNOHANG) == pid) {
			exited = true;
		} else if (ga_now_ms() >= deadline) {
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
			res->timed_out = true;
			while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
				;
			exited = true;
		} else {
			ga_sleep_ms(2);
		}
	}
	res->exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	res->signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
	res->duration_ms = ga_now_ms() - t0;
	if (res->out.failed || res->err.failed)
		rc = GA_FAIL(err, -ENOMEM, "exec %s: out of memory for its output", s->argv[0]);
out:
	run_close(&in[0]);
	run_close(&in[1]);
	run_close(&out[0]);
	run_close(&out[1]);
	run_close(&er[0]);
	run_close(&er[1]);
	run_close(&st[0]);
	run_close(&st[1]);
	if (fallback >= 0)
		close(fallback);
	return rc;
}
