/* proc.c - see proc.h. */
#include "proc.h"

#include "clock.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* The fields of /proc/<pid>/stat after the command name: "S ppid ...".
 * NULL when pid is gone. */
static char *proc_stat(pid_t pid, char *buf, size_t size)
{
	char path[64], *paren;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n <= 0)
		return NULL;
	buf[n] = '\0';
	/* The name may hold spaces and parentheses: the last ')' ends it. */
	paren = strrchr(buf, ')');
	return paren && paren[1] == ' ' ? paren + 2 : NULL;
}

bool lh_pid_alive(pid_t pid)
{
	char buf[512], *fields;

	if (pid <= 0 || kill(pid, 0) < 0)
		return false;
	/* A killed QEMU whose parent (init in a container) has not reaped it
	 * still answers kill(0): read its state instead. */
	fields = proc_stat(pid, buf, sizeof(buf));
	if (!fields)
		return access("/proc/self/stat", F_OK) != 0; /* no /proc: trust kill */
	return fields[0] != 'Z' && fields[0] != 'X';
}

uint64_t lh_proc_start(pid_t pid)
{
	char buf[512], *field = pid > 0 ? proc_stat(pid, buf, sizeof(buf)) : NULL;

	/* The fields shown start at field 3 (state); starttime is field 22. */
	for (int i = 3; field && i < 22; i++) {
		field = strchr(field, ' ');
		if (field)
			field++;
	}
	return field ? strtoull(field, NULL, 10) : 0;
}

bool lh_proc_alive(pid_t pid, uint64_t start)
{
	return lh_pid_alive(pid) && (start == 0 || lh_proc_start(pid) == start);
}

bool lh_proc_read(const cJSON *item, pid_t *pid, uint64_t *start)
{
	const cJSON *p = cJSON_IsNumber(item) ? item : cJSON_GetObjectItem(item, "pid");
	const cJSON *t = cJSON_IsObject(item) ? cJSON_GetObjectItem(item, "pid_start") : NULL;

	if (!cJSON_IsNumber(p) || p->valuedouble <= 0 || p->valuedouble > INT32_MAX)
		return false;
	*pid = (pid_t)p->valuedouble;
	*start = cJSON_IsNumber(t) && t->valuedouble > 0 ? (uint64_t)t->valuedouble : 0;
	return true;
}

bool lh_proc_wait_gone(pid_t pid, uint64_t start, int timeout_ms)
{
	int64_t deadline = lh_clock_ms() + timeout_ms;

	for (;;) {
		waitpid(pid, NULL, WNOHANG);
		if (!lh_proc_alive(pid, start))
			return true;
		if (lh_clock_ms() >= deadline)
			return false;
		usleep(2000);
	}
}

void lh_proc_end(pid_t pid, uint64_t start, int wait_ms)
{
	if (pid <= 0 || lh_proc_wait_gone(pid, start, 0))
		return;
	kill(pid, SIGTERM);
	if (!lh_proc_wait_gone(pid, start, wait_ms)) {
		kill(pid, SIGKILL);
		lh_proc_wait_gone(pid, start, wait_ms);
	}
}
