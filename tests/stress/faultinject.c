/*
 * faultinject.c - an LD_PRELOAD shim that makes one write of a program
 * fail, as SQLite's fault-injecting VFS does for a database: every call
 * that writes to or flushes a file or a folder is counted, and the one
 * numbered LH_FAULT_AT fails with LH_FAULT_ERRNO, having done nothing.
 *
 * Counted: write, pwrite, writev, pwritev, ftruncate, fallocate,
 * copy_file_range (on a descriptor of a regular file or a folder: not a
 * terminal, pipe or /dev/null), fsync, fdatasync, syncfs, and the folder
 * writes rename and mkdir.
 *
 * Environment:
 *   LH_FAULT_AT     1-based number of the call to fail; 0 or unset: none
 *   LH_FAULT_MATCH  CALL:TEXT - fail instead the first CALL (write, fsync,
 *                   ...) whose file's path holds TEXT: a fault placed by
 *                   what it hits, whatever threads do to the numbering
 *   LH_FAULT_ERRNO  the errno to fail it with (a number; default ENOSPC)
 *   LH_FAULT_LOG    a file the shim appends to at exit: "calls N", and
 *                   "failed K CALL PATH" when it failed one
 *   LH_FAULT_TRACE  set: also append "call K CALL PATH" for every call
 *                   counted, as it happens
 *
 * The calls go straight to the kernel (syscall(2)), which is what libc
 * would do; nothing here writes through the functions it replaces.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

static unsigned long fault_at;
static char match_call[32], match_text[256];
static int fault_errno = ENOSPC;
static unsigned long calls;          /* atomically incremented */
static char failed[512];             /* what was failed, for the log */

__attribute__((constructor)) static void fault_init(void)
{
	const char *at = getenv("LH_FAULT_AT"), *code = getenv("LH_FAULT_ERRNO");
	const char *match = getenv("LH_FAULT_MATCH"), *colon = match ? strchr(match, ':') : NULL;

	fault_at = at ? strtoul(at, NULL, 10) : 0;
	if (colon && (size_t)(colon - match) < sizeof(match_call)) {
		memcpy(match_call, match, (size_t)(colon - match));
		snprintf(match_text, sizeof(match_text), "%s", colon + 1);
	}
	if (code && atoi(code) > 0)
		fault_errno = atoi(code);
}

__attribute__((destructor)) static void fault_report(void)
{
	const char *log = getenv("LH_FAULT_LOG");
	char line[700];
	int fd, n;

	if (!log)
		return;
	fd = (int)syscall(SYS_openat, AT_FDCWD, log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	n = snprintf(line, sizeof(line), "calls %lu\n", __atomic_load_n(&calls, __ATOMIC_SEQ_CST));
	syscall(SYS_write, fd, line, (size_t)n);
	if (failed[0]) {
		n = snprintf(line, sizeof(line), "failed %s\n", failed);
		syscall(SYS_write, fd, line, (size_t)n);
	}
	syscall(SYS_close, fd);
}

/* Whether a write to fd is one to count: a file's or a folder's. */
static int fault_counts_fd(int fd)
{
	struct stat st;

	return syscall(SYS_fstat, fd, &st) == 0 && (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode));
}

static void fault_trace(unsigned long n, const char *call, const char *path)
{
	const char *log = getenv("LH_FAULT_LOG");
	char line[600];
	int fd, len;

	if (!log || !getenv("LH_FAULT_TRACE"))
		return;
	fd = (int)syscall(SYS_openat, AT_FDCWD, log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	len = snprintf(line, sizeof(line), "call %lu %s %s\n", n, call, path);
	syscall(SYS_write, fd, line, (size_t)len);
	syscall(SYS_close, fd);
}

/* Count one call; true when it is the one to fail (errno is set then). */
static int fault_now(const char *call, int fd, const char *path)
{
	unsigned long n = __atomic_add_fetch(&calls, 1, __ATOMIC_SEQ_CST);
	char link[64], target[400] = "";
	int hit;

	if (n != fault_at && !match_call[0] && !getenv("LH_FAULT_TRACE"))
		return 0;
	if (!path) {
		ssize_t len;

		snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
		len = syscall(SYS_readlinkat, AT_FDCWD, link, target, sizeof(target) - 1);
		target[len > 0 ? len : 0] = '\0';
		path = target;
	}
	fault_trace(n, call, path);
	if (match_call[0])
		/* the first match only: it clears the call it waits for */
		hit = strcmp(call, match_call) == 0 && strstr(path, match_text) &&
		      __atomic_exchange_n(&match_call[0], '\0', __ATOMIC_SEQ_CST) != '\0';
	else
		hit = n == fault_at;
	if (!hit)
		return 0;
	snprintf(failed, sizeof(failed), "%lu %s %s", n, call, path);
	errno = fault_errno;
	return 1;
}

#define FAULT_FD(call, fd) (fault_counts_fd(fd) && fault_now(call, fd, NULL))

ssize_t write(int fd, const void *buf, size_t n)
{
	if (FAULT_FD("write", fd))
		return -1;
	return syscall(SYS_write, fd, buf, n);
}

ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
	if (FAULT_FD("pwrite", fd))
		return -1;
	return syscall(SYS_pwrite64, fd, buf, n, off);
}

ssize_t pwrite64(int fd, const void *buf, size_t n, off_t off)
	__attribute__((alias("pwrite")));

ssize_t writev(int fd, const struct iovec *iov, int n)
{
	if (FAULT_FD("writev", fd))
		return -1;
	return syscall(SYS_writev, fd, iov, n);
}

ssize_t pwritev(int fd, const struct iovec *iov, int n, off_t off)
{
	if (FAULT_FD("pwritev", fd))
		return -1;
	/* the kernel takes the offset as two halves */
	return syscall(SYS_pwritev, fd, iov, n, (unsigned long)off, 0UL);
}

int ftruncate(int fd, off_t len)
{
	if (FAULT_FD("ftruncate", fd))
		return -1;
	return (int)syscall(SYS_ftruncate, fd, len);
}

int ftruncate64(int fd, off_t len) __attribute__((alias("ftruncate")));

int fallocate(int fd, int mode, off_t off, off_t len)
{
	if (FAULT_FD("fallocate", fd))
		return -1;
	return (int)syscall(SYS_fallocate, fd, mode, off, len);
}

int fallocate64(int fd, int mode, off_t off, off_t len) __attribute__((alias("fallocate")));

ssize_t copy_file_range(int in, off_t *off_in, int out, off_t *off_out, size_t n,
			unsigned flags)
{
	if (FAULT_FD("copy_file_range", out))
		return -1;
	return syscall(SYS_copy_file_range, in, off_in, out, off_out, n, flags);
}

int fsync(int fd)
{
	if (FAULT_FD("fsync", fd))
		return -1;
	return (int)syscall(SYS_fsync, fd);
}

int fdatasync(int fd)
{
	if (FAULT_FD("fdatasync", fd))
		return -1;
	return (int)syscall(SYS_fdatasync, fd);
}

int syncfs(int fd)
{
	if (FAULT_FD("syncfs", fd))
		return -1;
	return (int)syscall(SYS_syncfs, fd);
}

int rename(const char *from, const char *to)
{
	if (fault_now("rename", -1, to))
		return -1;
	return (int)syscall(SYS_renameat, AT_FDCWD, from, AT_FDCWD, to);
}

int mkdir(const char *path, mode_t mode)
{
	struct stat st;

	/* a folder already there is EEXIST before the kernel looks for room */
	if (syscall(SYS_newfstatat, AT_FDCWD, path, &st, AT_SYMLINK_NOFOLLOW) != 0 &&
	    fault_now("mkdir", -1, path))
		return -1;
	return (int)syscall(SYS_mkdirat, AT_FDCWD, path, mode);
}
