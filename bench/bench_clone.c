/*
 * bench_clone.c - benchmark 4: copying a clone's writable disk with
 * lh_copy_file beside `cp --reflink=auto` of the same file, in the same run
 * and on the same filesystem, alternating the two.
 */
#include "bench.h"

#include "copy.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#define CLONE_PAIRS 5
#define CLONE_FULL_SIZE (UINT64_C(1) << 30)
#define CLONE_BLOCK (UINT64_C(1) << 20)

extern char **environ;

static const char *clone_fs_name(long type)
{
	switch ((unsigned long)type) {
	case 0xEF53: return "ext2/3/4";
	case 0x58465342: return "xfs";
	case 0x9123683E: return "btrfs";
	case 0x01021994: return "tmpfs";
	case 0x794C7630: return "overlayfs";
	case 0x2FC12FC1: return "zfs";
	case 0xF2F52010: return "f2fs";
	default: return "other";
	}
}

/* size bytes of xorshift noise, so no block is a hole or compressible. */
static void clone_write_source(const char *path, uint64_t size)
{
	uint64_t *block = malloc(CLONE_BLOCK), x = 0x9E3779B97F4A7C15u;
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);

	if (!block || fd < 0)
		bench_die("creating the source disk", NULL);
	for (uint64_t done = 0; done < size; done += CLONE_BLOCK) {
		for (size_t i = 0; i < CLONE_BLOCK / sizeof(*block); i++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			block[i] = x;
		}
		if (write(fd, block, CLONE_BLOCK) != (ssize_t)CLONE_BLOCK)
			bench_die("writing the source disk (disk full?)", NULL);
	}
	if (fsync(fd) < 0 || close(fd) < 0)
		bench_die("syncing the source disk", NULL);
	free(block);
}

/* Cold caches where the kernel lets us; says whether it did. */
static bool clone_drop_caches(void)
{
	int fd = open("/proc/sys/vm/drop_caches", O_WRONLY);
	bool ok = fd >= 0 && write(fd, "3\n", 2) == 2;

	if (fd >= 0)
		close(fd);
	return ok;
}

/* Seconds for lh_copy_file(src, dst). */
static double clone_run_lh(const char *src, const char *dst, enum lh_copy_method *used)
{
	struct lh_error err = { 0 };
	uint64_t start = bench_now_ns();

	if (lh_copy_file(src, dst, LH_COPY_ALLOW_ALL, used, &err))
		bench_die("lh_copy_file", &err);
	return (double)(bench_now_ns() - start) / 1e9;
}

/* Seconds for `cp --reflink=auto src dst`; *with_fsync adds an fsync of
 * dst afterwards, the durability lh_copy_file gives. */
static double clone_run_cp(const char *src, const char *dst, double *with_fsync)
{
	char *argv[] = { "cp", "--reflink=auto", (char *)src, (char *)dst, NULL };
	uint64_t start = bench_now_ns(), done;
	int status, fd;
	pid_t pid;

	if (posix_spawnp(&pid, "cp", NULL, NULL, argv, environ) != 0 ||
	    waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		bench_die("cp --reflink=auto", NULL);
	done = bench_now_ns();
	fd = open(dst, O_RDONLY);
	if (fd < 0 || fsync(fd) < 0)
		bench_die("fsync of cp's copy", NULL);
	close(fd);
	*with_fsync = (double)(bench_now_ns() - start) / 1e9;
	return (double)(done - start) / 1e9;
}

static const char *clone_method_name(enum lh_copy_method m)
{
	return m == LH_COPY_REFLINK ? "reflink (FICLONE)"
	       : m == LH_COPY_RANGE ? "copy_file_range"
				    : "read/write";
}

int main(void)
{
	char *src = bench_path("clone/sandbox.vhdx"), *dst = bench_path("clone/copy.vhdx");
	double lh[CLONE_PAIRS], cp[CLONE_PAIRS], cp_sync[CLONE_PAIRS];
	enum lh_copy_method used = LH_COPY_READ_WRITE;
	uint64_t size = CLONE_FULL_SIZE;
	bool dropped = true;
	struct statvfs vfs;
	struct statfs fs;
	char value[96];

	bench_banner("benchmark 4: clone copy of a writable disk");
	if (statvfs(bench_workdir(), &vfs) < 0 || statfs(bench_workdir(), &fs) < 0)
		bench_die("statvfs of the work folder", NULL);
	/* The source and one copy at a time, with a quarter to spare. */
	uint64_t avail = (uint64_t)vfs.f_bavail * vfs.f_frsize;
	if (avail < size * 5 / 2) {
		size = (avail * 2 / 5) & ~(CLONE_BLOCK - 1);
		if (size < 64 * CLONE_BLOCK)
			bench_die("not enough free space for a 64 MiB disk and its copy", NULL);
		printf("note: only %llu MiB free in %s: disk scaled down from 1 GiB\n",
		       (unsigned long long)(avail >> 20), bench_workdir());
	}
	bench_param("disk", "%llu MiB of pseudo-random data (no holes), written and fsynced once",
		    (unsigned long long)(size >> 20));
	bench_param("folder", "%s (%s, f_type 0x%lx)", bench_workdir(), clone_fs_name(fs.f_type),
		    (unsigned long)fs.f_type);
	bench_param("runs", "%d pairs, alternating lh_copy_file / cp (ABAB...), median reported; "
		    "one untimed pair before; the copy is removed and the filesystem synced between runs "
		    "(untimed)",
		    CLONE_PAIRS);
	clone_write_source(src, size);
	/* One untimed pair first: the source's own writeback and the first
	 * allocation of the copy's blocks would otherwise land on run 1. */
	(void)clone_run_lh(src, dst, &used);
	unlink(dst);
	(void)clone_run_cp(src, dst, &cp_sync[0]);
	unlink(dst);
	sync();
	for (int r = 0; r < CLONE_PAIRS; r++) {
		dropped &= clone_drop_caches();
		lh[r] = clone_run_lh(src, dst, &used);
		unlink(dst);
		sync();
		dropped &= clone_drop_caches();
		cp[r] = clone_run_cp(src, dst, &cp_sync[r]);
		unlink(dst);
		sync();
		printf("pair %d: lh_copy_file %.3f s, cp %.3f s (cp + fsync %.3f s)\n", r + 1, lh[r],
		       cp[r], cp_sync[r]);
	}
	bench_param("page cache", dropped ? "dropped before every run (echo 3 > "
					    "/proc/sys/vm/drop_caches)"
					  : "NOT dropped (/proc/sys/vm/drop_caches not writable "
					    "here): the source is warm in the page cache for both");

	double lh_s = bench_median(lh, CLONE_PAIRS), cp_s = bench_median(cp, CLONE_PAIRS);
	double cp_sync_s = bench_median(cp_sync, CLONE_PAIRS);

	printf("lh_copy_file used %s: %.3f s; cp --reflink=auto %.3f s (%.3f s with fsync)\n",
	       clone_method_name(used), lh_s, cp_s, cp_sync_s);
	printf("note: lh_copy_file fsyncs the copy before returning (a clone's disk must be "
	       "durable); cp does not, so the cp + fsync column is the like-for-like figure\n");
	snprintf(value, sizeof(value), "%.3f s via %s (%.0f MiB/s)", lh_s,
		 clone_method_name(used), (double)(size >> 20) / lh_s);
	bench_result("4 clone", "lh_copy_file of the disk", value, "-", "-");
	snprintf(value, sizeof(value), "%.3f s (%.3f s + fsync)", cp_s, cp_sync_s);
	bench_result("4 clone", "cp --reflink=auto of the same disk", value, "-", "-");
	snprintf(value, sizeof(value), "%.2f", lh_s / cp_s);
	bench_result("4 clone", "ratio lh_copy_file / cp", value, "<= 1.00",
		     lh_s <= cp_s ? "PASS" : "MISS");
	snprintf(value, sizeof(value), "%.2f", lh_s / cp_sync_s);
	bench_result("4 clone", "ratio lh_copy_file / (cp + fsync)", value, "<= 1.00",
		     lh_s <= cp_sync_s ? "PASS" : "MISS");
	unlink(src);
	free(src);
	free(dst);
	return 0;
}
