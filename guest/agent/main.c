/*
 * main.c - the guest agent's program: the initramfs's /init, or, for
 * tests on the host, an agent serving one stream.
 *
 *   /init (pid 1)               mount /dev, /proc, /sys; load the modules;
 *                               run the agent and keep it running
 *   layerhost-agent --serve-fd N [--generation G]
 *                               serve requests on fd N until EOF; modify
 *                               and poweroff are refused (this is a host)
 *   layerhost-agent --port      serve the virtio port (a second agent
 *                               started by hand in the guest)
 *
 * As pid 1 the program stays small on purpose: it reaps every process
 * that ends, and restarts the serving child when it dies. Should that
 * keep failing, it powers the VM off, so the host sees the VM end (its
 * socket closes) instead of waiting on an agent that never answers.
 */
#include "agent.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#define INIT_RESTARTS_MAX 5           /* this many deaths ... */
#define INIT_RESTART_WINDOW_MS 10000  /* ... within this long: power off */

static void init_mount(const char *source, const char *target, const char *type)
{
	mkdir(target, 0755);
	if (mount(source, target, type, MS_NOSUID, NULL) < 0 && errno != EBUSY)
		ga_log("mount %s on %s: %s", type, target, strerror(errno));
}

/* fds 0-2 on the console (the kernel gave init none: /dev was empty). */
static void init_console(void)
{
	int fd = open("/dev/console", O_RDWR | O_NOCTTY);

	if (fd < 0)
		fd = open("/dev/null", O_RDWR);
	if (fd < 0)
		return;
	for (int i = 0; i < 3; i++)
		if (fd != i)
			dup2(fd, i);
	if (fd > 2)
		close(fd);
}

static pid_t init_spawn(struct ga_context *ctx)
{
	pid_t pid = fork();

	if (pid == 0) {
		signal(SIGPIPE, SIG_IGN);
		_exit(ga_serve_port(ctx));
	}
	if (pid < 0)
		ga_log("fork: %s", strerror(errno));
	return pid;
}

static void init_main(void) __attribute__((noreturn));
static void init_main(void)
{
	static struct utsname uts;
	struct ga_context ctx = { .in_guest = true };
	int64_t deaths[INIT_RESTARTS_MAX] = { 0 };
	unsigned n_deaths = 0;
	pid_t agent;

	init_mount("devtmpfs", "/dev", "devtmpfs");
	init_console();
	init_mount("proc", "/proc", "proc");
	init_mount("sysfs", "/sys", "sysfs");
	mkdir("/run", 0755);
	mkdir("/tmp", 01777);
	chmod("/tmp", 01777); /* past the umask */
	setenv("PATH", "/usr/sbin:/usr/bin:/sbin:/bin", 1);
	uname(&uts);
	ctx.kernel = uts.release;
	ga_log("init: kernel %s, %lld ms after boot", uts.release, (long long)ga_uptime_ms());
	ctx.modules_failed = ga_modules_load();
	ctx.started_ms = ga_now_ms();
	agent = init_spawn(&ctx);
	for (;;) {
		int status = 0;
		pid_t pid = wait(&status);

		if (pid < 0 && errno != ECHILD)
			continue;
		if (pid > 0 && pid != agent)
			continue; /* an orphan of an exec'd command */
		if (pid < 0)
			ga_log("no agent is running; starting one");
		else if (WIFSIGNALED(status))
			ga_log("the agent (pid %d) was killed by signal %d; restarting it", (int)pid,
			       WTERMSIG(status));
		else
			ga_log("the agent (pid %d) exited with status %d; restarting it", (int)pid,
			       WEXITSTATUS(status));
		deaths[n_deaths++ % INIT_RESTARTS_MAX] = ga_now_ms();
		if (n_deaths >= INIT_RESTARTS_MAX &&
		    ga_now_ms() - deaths[n_deaths % INIT_RESTARTS_MAX] < INIT_RESTART_WINDOW_MS) {
			ga_log("the agent died %d times in %d ms: powering off", INIT_RESTARTS_MAX,
			       INIT_RESTART_WINDOW_MS);
			sync();
			reboot(RB_POWER_OFF);
		}
		ctx.generation++;
		ga_sleep_ms(50);
		agent = init_spawn(&ctx);
	}
}

static int usage(void)
{
	fprintf(stderr, "usage: layerhost-agent --serve-fd N [--generation G] | --port\n"
			"(as /init, pid 1, it prepares the guest and serves the virtio port)\n");
	return 2;
}

int main(int argc, char **argv)
{
	struct ga_context ctx = { .started_ms = ga_now_ms() };
	static struct utsname uts;
	int fd = -1;

	if (getpid() == 1)
		init_main();
	signal(SIGPIPE, SIG_IGN);
	uname(&uts);
	ctx.kernel = uts.release;
	for (int i = 1; i < argc; i++) {
		char *end;

		if (strcmp(argv[i], "--serve-fd") == 0 && i + 1 < argc) {
			fd = (int)strtol(argv[++i], &end, 10);
			if (*end || fd < 0)
				return usage();
		} else if (strcmp(argv[i], "--generation") == 0 && i + 1 < argc) {
			ctx.generation = (unsigned)strtoul(argv[++i], &end, 10);
			if (*end)
				return usage();
		} else if (strcmp(argv[i], "--port") == 0) {
			ctx.in_guest = true;
		} else {
			return usage();
		}
	}
	if (ctx.in_guest == (fd >= 0))
		return usage();
	return ctx.in_guest ? ga_serve_port(&ctx) : ga_serve_fd(&ctx, fd);
}
