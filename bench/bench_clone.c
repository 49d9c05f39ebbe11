/*
 * bench_clone.c - benchmark 4: copying a clone's writable disk with
 * lh_copy_file beside `cp --reflink=auto` of the same file, in the same run
 * and on the same filesystem, alternating the two: a byte copy on the work
 * folder's filesystem, flushed and not, then reflinks on an XFS image,
 * whose time must not grow with the disk's size.
 */
#include "bench.h"

#include "copy.h"
#include "durable.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#define CLONE_PAIRS 9
#define CLONE_FULL_SIZE (UINT64_C(1) << 30)
#define CLONE_BLOCK (UINT64_C(1) << 20)
#define CLONE_REFLINK_RUNS 11
#define CLONE_XFS_IMAGE (UINT64_C(3) << 30)

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

/* Seconds for lh_copy_file(src, dst); *with_flush adds what a clone then
 * does to make the copy durable (durable.h). */
static double clone_run_lh(const char *src, const char *dst, enum lh_copy_method *used,
			   double *with_flush)
{
	struct lh_error err = { 0 };
	uint64_t start = bench_now_ns(), done;

	if (lh_copy_file(src, dst, LH_COPY_ALLOW_ALL, used, &err))
		bench_die("lh_copy_file", &err);
	done = bench_now_ns();
	if (lh_fsync_file(dst) < 0 || lh_fsync_parent(dst) < 0)
		bench_die("flushing lh_copy_file's copy", NULL);
	if (with_flush)
		*with_flush = (double)(bench_now_ns() - start) / 1e9;
	return (double)(done - start) / 1e9;
}

/* Exit status of argv[0] run with argv, its output discarded; -1 if it
 * could not run. */
static int clone_spawn(char *const argv[])
{
	posix_spawn_file_actions_t fa;
	int status;
	pid_t pid;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	status = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (status != 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

/* Seconds for `cp --reflink=auto src dst`; *with_fsync (may be NULL) adds
 * an fsync of dst and its folder afterwards, the like-for-like figure for
 * lh_copy_file plus a clone's flush. */
static double clone_run_cp(const char *src, const char *dst, double *with_fsync)
{
	char *argv[] = { "cp", "--reflink=auto", (char *)src, (char *)dst, NULL };
	uint64_t start = bench_now_ns(), done;

	if (clone_spawn(argv) != 0)
		bench_die("cp --reflink=auto", NULL);
	done = bench_now_ns();
	if (with_fsync) {
		if (lh_fsync_file(dst) < 0 || lh_fsync_parent(dst) < 0)
			bench_die("fsync of cp's copy", NULL);
		*with_fsync = (double)(bench_now_ns() - start) / 1e9;
	}
	return (double)(done - start) / 1e9;
}

static const char *clone_method_name(enum lh_copy_method m)
{
	return m == LH_COPY_REFLINK ? "reflink (FICLONE)"
	       : m == LH_COPY_RANGE ? "copy_file_range"
				    : "read/write";
}

/* Part 1: a byte copy on the work folder's own filesystem. */
static void clone_byte_copy(void)
{
	char *src = bench_path("clone/sandbox.vhdx"), *dst = bench_path("clone/copy.vhdx");
	double lh[CLONE_PAIRS], lh_flush[CLONE_PAIRS], cp[CLONE_PAIRS], cp_sync[CLONE_PAIRS];
	enum lh_copy_method used = LH_COPY_READ_WRITE;
	uint64_t size = CLONE_FULL_SIZE;
	bool dropped = true;
	struct statvfs vfs;
	struct statfs fs;
	char value[96];

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
	bench_param("runs", "%d pairs, alternating lh_copy_file / cp (ABAB...), best and median "
		    "reported; "
		    "one untimed pair before; the copy is removed and the filesystem synced between runs "
		    "(untimed)",
		    CLONE_PAIRS);
	clone_write_source(src, size);
	/* One untimed pair first: the source's own writeback and the first
	 * allocation of the copy's blocks would otherwise land on run 1. */
	(void)clone_run_lh(src, dst, &used, NULL);
	unlink(dst);
	(void)clone_run_cp(src, dst, NULL);
	unlink(dst);
	sync();
	for (int r = 0; r < CLONE_PAIRS; r++) {
		dropped &= clone_drop_caches();
		lh[r] = clone_run_lh(src, dst, &used, &lh_flush[r]);
		unlink(dst);
		sync();
		dropped &= clone_drop_caches();
		cp[r] = clone_run_cp(src, dst, &cp_sync[r]);
		unlink(dst);
		sync();
		printf("pair %d: lh_copy_file %.3f s (+ flush %.3f s), cp %.3f s (+ fsync %.3f s)\n",
		       r + 1, lh[r], lh_flush[r], cp[r], cp_sync[r]);
	}
	bench_param("page cache", dropped ? "dropped before every run (echo 3 > "
					    "/proc/sys/vm/drop_caches)"
					  : "NOT dropped (/proc/sys/vm/drop_caches not writable "
					    "here): the source is warm in the page cache for both");

	/* bench_median sorts: element 0 is then the best run. */
	double lh_med = bench_median(lh, CLONE_PAIRS), cp_med = bench_median(cp, CLONE_PAIRS);
	double lh_flush_med = bench_median(lh_flush, CLONE_PAIRS);
	double cp_sync_med = bench_median(cp_sync, CLONE_PAIRS);

	printf("lh_copy_file used %s: best %.3f s, median %.3f s (flushed: best %.3f s, median "
	       "%.3f s)\n", clone_method_name(used), lh[0], lh_med, lh_flush[0], lh_flush_med);
	printf("cp --reflink=auto: best %.3f s, median %.3f s (with fsync: best %.3f s, median "
	       "%.3f s)\n", cp[0], cp_med, cp_sync[0], cp_sync_med);
	printf("note: neither lh_copy_file nor cp flushes; a clone flushes its copies once "
	       "they are all made, so the flushed columns compare the durable copy\n");
	printf("note: on a disk shared with other machines a run is slowed by their I/O, never "
	       "sped up: the best run of each is the verdict's figure, the medians show the "
	       "spread\n");
	snprintf(value, sizeof(value), "best %.3f s (%.0f MiB/s), median %.3f s, via %s", lh[0],
		 (double)(size >> 20) / lh[0], lh_med, clone_method_name(used));
	bench_result("4 clone", "lh_copy_file of the disk", value, "-", "-");
	snprintf(value, sizeof(value), "best %.3f s, median %.3f s", cp[0], cp_med);
	bench_result("4 clone", "cp --reflink=auto of the same disk", value, "-", "-");
	snprintf(value, sizeof(value), "%.3f (medians %.3f)", lh[0] / cp[0], lh_med / cp_med);
	bench_result("4 clone", "ratio lh_copy_file / cp, best runs", value, "<= 1.00",
		     lh[0] <= cp[0] ? "PASS" : "MISS");
	snprintf(value, sizeof(value), "best %.3f s vs %.3f s, medians %.3f s vs %.3f s",
		 lh_flush[0], cp_sync[0], lh_flush_med, cp_sync_med);
	bench_result("4 clone", "copy then flush: lh_copy_file + fsync vs cp + fsync", value, "-",
		     "-");
	snprintf(value, sizeof(value), "%.3f (medians %.3f)", lh_flush[0] / cp_sync[0],
		 lh_flush_med / cp_sync_med);
	bench_result("4 clone", "ratio flushed lh_copy_file / flushed cp, best runs", value,
		     "<= 1.00", lh_flush[0] <= cp_sync[0] ? "PASS" : "MISS");
	unlink(src);
	free(src);
	free(dst);
}

/* Median seconds of CLONE_REFLINK_RUNS lh_copy_file runs of src; dies
 * unless every run reflinked. */
static double clone_reflink_time(const char *src, const char *dst)
{
	double runs[CLONE_REFLINK_RUNS];

	for (int r = 0; r < CLONE_REFLINK_RUNS; r++) {
		enum lh_copy_method used;

		runs[r] = clone_run_lh(src, dst, &used, NULL);
		unlink(dst);
		if (used != LH_COPY_REFLINK)
			bench_die("lh_copy_file on the XFS image did not reflink", NULL);
	}
	return bench_median(runs, CLONE_REFLINK_RUNS);
}

/* The XFS image's mount point while mounted, for clone_unmount_at_exit. */
static char *clone_mounted;

/* Registered after bench_workdir's cleanup, so it runs before it: a
 * benchmark that dies with the image mounted leaves no mount behind. */
static void clone_unmount_at_exit(void)
{
	char *argv[] = { "umount", clone_mounted, NULL };

	if (clone_mounted && clone_spawn(argv) != 0)
		fprintf(stderr, "bench_clone: umount %s failed: unmount it by hand\n",
			clone_mounted);
	clone_mounted = NULL;
}

/* Extents of path by FIEMAP, or -1. */
static int clone_extents(const char *path)
{
	struct fiemap map = { .fm_length = FIEMAP_MAX_OFFSET, .fm_flags = FIEMAP_FLAG_SYNC };
	int fd = open(path, O_RDONLY), rc = -1;

	if (fd >= 0 && ioctl(fd, FS_IOC_FIEMAP, &map) == 0)
		rc = (int)map.fm_mapped_extents;
	if (fd >= 0)
		close(fd);
	return rc;
}

/* Why part 2 cannot run here, or NULL. */
static const char *clone_reflink_unavailable(void)
{
	char *argv[] = { "mkfs.xfs", "-V", NULL };

	if (geteuid() != 0)
		return "not run: loop-mounting an XFS image needs root";
	if (clone_spawn(argv) != 0)
		return "not run: mkfs.xfs not found (apt-get install xfsprogs)";
	return NULL;
}

/*
 * Part 2: on a filesystem that can reflink, a copy is a clone of the
 * extents and takes the same time whatever the disk's size. The work
 * folder's filesystem may not reflink, so an XFS image made here is
 * loop-mounted for it.
 */
static void clone_reflink(void)
{
	char *image = bench_path("clone/xfs.img"), *mnt = bench_path("clone/xfs/.keep");
	char *small, *big, *dst, value[96];
	const char *why = clone_reflink_unavailable();
	double small_s, big_s, cp_s;
	int fd;

	*strrchr(mnt, '/') = '\0';
	if (why) {
		bench_result("4 clone", "reflink: copy time, 1 GiB / 64 MiB disk", why, "constant",
			     "-");
		return;
	}
	fd = open(image, O_WRONLY | O_CREAT | O_EXCL, 0600);
	if (fd < 0 || ftruncate(fd, (off_t)CLONE_XFS_IMAGE) < 0 || close(fd) < 0)
		bench_die("creating the XFS image", NULL);
	{
		/* Two allocation groups of 1.5 GiB: the 1 GiB disk fits in one
		 * extent like the 64 MiB one, and a reflink's cost follows the
		 * number of extents, not of bytes. */
		char *mkfs[] = { "mkfs.xfs", "-q", "-f", "-m", "reflink=1", "-d", "agcount=2",
				 image, NULL };
		char *mount[] = { "mount", "-o", "loop", image, mnt, NULL };

		if (clone_spawn(mkfs) != 0)
			bench_die("mkfs.xfs -m reflink=1 on the image", NULL);
		if (clone_spawn(mount) != 0)
			bench_die("mount -o loop of the XFS image", NULL);
		clone_mounted = mnt;
		atexit(clone_unmount_at_exit);
	}
	if (asprintf(&small, "%s/small.vhdx", mnt) < 0 || asprintf(&big, "%s/big.vhdx", mnt) < 0 ||
	    asprintf(&dst, "%s/copy.vhdx", mnt) < 0)
		bench_die("out of memory", NULL);
	clone_write_source(small, 64 * CLONE_BLOCK);
	clone_write_source(big, CLONE_FULL_SIZE);
	bench_param("reflink", "an XFS image (mkfs.xfs -m reflink=1 -d agcount=2, 3 GiB sparse) "
		    "loop-mounted at %s; disks of 64 MiB and 1 GiB of pseudo-random data in %d and %d "
		    "extents; %d runs each, median",
		    mnt, clone_extents(small), clone_extents(big), CLONE_REFLINK_RUNS);
	small_s = clone_reflink_time(small, dst);
	big_s = clone_reflink_time(big, dst);
	cp_s = clone_run_cp(big, dst, NULL);
	unlink(dst);
	printf("reflink: lh_copy_file 64 MiB %.1f us, 1 GiB %.1f us; cp --reflink=auto 1 GiB "
	       "%.1f us\n", small_s * 1e6, big_s * 1e6, cp_s * 1e6);
	clone_unmount_at_exit();
	snprintf(value, sizeof(value), "%.1f us / %.1f us = %.2f (bytes: 16)", big_s * 1e6,
		 small_s * 1e6, big_s / small_s);
	/* A byte copy would take 16 times as long; twice allows for noise. */
	bench_result("4 clone", "reflink: copy time, 1 GiB / 64 MiB disk", value,
		     "constant (<= 2)", big_s / small_s <= 2 ? "PASS" : "MISS");
	snprintf(value, sizeof(value), "%.1f us vs %.1f us = %.3f", big_s * 1e6, cp_s * 1e6,
		 big_s / cp_s);
	bench_result("4 clone", "reflink: lh_copy_file / cp --reflink=auto, 1 GiB", value,
		     "<= 1.00", big_s <= cp_s ? "PASS" : "MISS");
	unlink(image);
	free(image);
	free(mnt);
	free(small);
	free(big);
	free(dst);
}

int main(void)
{
	bench_banner("benchmark 4: clone copy of a writable disk");
	clone_byte_copy();
	clone_reflink();
	return 0;
}
