/*
 * test_copy.c - lh_copy_file per method: byte-equal copies with their own
 * inode, holes kept, refusals that leave the destination alone, and a copy
 * that runs out of space leaving nothing behind.
 */
#include "cutest.h"

#include "copy.h"
#include "fixtures.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#define MIB (1024ull * 1024ull)

/* Write `len` bytes of a pattern seeded by `seed` at `offset`. */
static int write_island(int fd, off_t offset, size_t len, unsigned seed)
{
	uint8_t *buf = malloc(len);
	ssize_t n;

	if (!buf)
		return -1;
	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)((i * 131 + seed * 7 + (i >> 9)) & 0xff);
	n = pwrite(fd, buf, len, offset);
	free(buf);
	return n == (ssize_t)len ? 0 : -1;
}

/* A 64 MiB file that is mostly hole, with data at the start, in the
 * middle and in the last bytes. */
static int make_sparse(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0640), rc = 0;

	if (fd < 0)
		return -1;
	rc |= ftruncate(fd, (off_t)(64 * MIB));
	rc |= write_island(fd, 0, 8192, 1);
	rc |= write_island(fd, (off_t)(10 * MIB + 4096), 65536, 2);
	rc |= write_island(fd, (off_t)(33 * MIB), 4096, 3);
	rc |= write_island(fd, (off_t)(64 * MIB - 4096), 4096, 4);
	rc |= close(fd);
	return rc ? -1 : 0;
}

static void check_copy(unsigned allow, enum lh_copy_method expect, const char *tag)
{
	char srcname[64], dstname[64];
	const char *src, *dst;
	struct stat s_src, s_dst;
	struct lh_error err = { 0 };
	enum lh_copy_method used = 0;

	snprintf(srcname, sizeof(srcname), "copy/%s/src.vhd", tag);
	snprintf(dstname, sizeof(dstname), "copy/%s/dst.vhd", tag);
	src = fixture_path(srcname);
	dst = fixture_path(dstname);
	CU_ASSERT_FATAL(make_sparse(src) == 0);
	CU_ASSERT_EQUAL(lh_copy_file(src, dst, allow, &used, &err), 0);
	if (err.code)
		fprintf(stderr, "\n  %s\n", err.message);
	if (expect)
		CU_ASSERT_EQUAL(used, expect);
	CU_ASSERT(used == LH_COPY_REFLINK || used == LH_COPY_RANGE || used == LH_COPY_READ_WRITE);
	CU_ASSERT(fixture_files_equal(src, dst));
	CU_ASSERT_FATAL(stat(src, &s_src) == 0 && stat(dst, &s_dst) == 0);
	CU_ASSERT_NOT_EQUAL(s_src.st_ino, s_dst.st_ino);
	CU_ASSERT_EQUAL(s_dst.st_size, (off_t)(64 * MIB));
	CU_ASSERT_EQUAL(s_dst.st_mode & 07777, 0640);
	/* Sparse stays sparse: the islands are 80 KiB; allow for extent
	 * rounding but nowhere near the 64 MiB a dense copy takes. */
	CU_ASSERT(s_src.st_blocks < 2048);
	CU_ASSERT(s_dst.st_blocks <= s_src.st_blocks * 2 + 256);
	if (!(s_dst.st_blocks <= s_src.st_blocks * 2 + 256))
		fprintf(stderr, "\n  %s: copy has %lld blocks, source %lld\n", tag,
			(long long)s_dst.st_blocks, (long long)s_src.st_blocks);
}

static void test_copy_range(void)
{
	check_copy(LH_COPY_ALLOW_RANGE, LH_COPY_RANGE, "range");
}

static void test_copy_read_write(void)
{
	check_copy(LH_COPY_ALLOW_READ_WRITE, LH_COPY_READ_WRITE, "rw");
}

static void test_copy_all(void)
{
	check_copy(LH_COPY_ALLOW_ALL, 0, "all");
}

static void test_copy_small_and_empty(void)
{
	static const unsigned allows[] = { LH_COPY_ALLOW_RANGE, LH_COPY_ALLOW_READ_WRITE,
					   LH_COPY_ALLOW_ALL };
	const char *empty = fixture_path("copy/empty/src");
	const char *small = fixture_path("copy/small/src");
	char dst[4096];
	struct lh_error err = { 0 };
	struct stat st;

	CU_ASSERT_FATAL(fixture_write(empty, "", 0) == 0);
	CU_ASSERT_FATAL(fixture_write(small, "hello, layer\n", 13) == 0);
	for (size_t i = 0; i < sizeof(allows) / sizeof(allows[0]); i++) {
		snprintf(dst, sizeof(dst), "%s.%zu", empty, i);
		CU_ASSERT_EQUAL(lh_copy_file(empty, dst, allows[i], NULL, &err), 0);
		CU_ASSERT(stat(dst, &st) == 0 && st.st_size == 0);
		snprintf(dst, sizeof(dst), "%s.%zu", small, i);
		CU_ASSERT_EQUAL(lh_copy_file(small, dst, allows[i], NULL, &err), 0);
		CU_ASSERT(fixture_files_equal(small, dst));
	}
	CU_ASSERT_EQUAL(err.code, 0);
}

static void test_dst_exists(void)
{
	const char *src = fixture_path("copy/exists/src");
	const char *dst = fixture_path("copy/exists/dst");
	struct lh_error err = { 0 };
	size_t len = 0;
	char *text;

	CU_ASSERT_FATAL(fixture_write(src, "new bytes", 9) == 0);
	CU_ASSERT_FATAL(fixture_write(dst, "old", 3) == 0);
	CU_ASSERT_EQUAL(lh_copy_file(src, dst, LH_COPY_ALLOW_ALL, NULL, &err), -EEXIST);
	ASSERT_MSG_HAS(err, dst);
	text = fixture_read(dst, &len);
	CU_ASSERT(text && len == 3 && memcmp(text, "old", 3) == 0);
	free(text);
}

static void test_src_missing(void)
{
	const char *src = fixture_path("copy/missing/src");
	const char *dst = fixture_path("copy/missing/dst");
	struct lh_error err = { 0 };

	CU_ASSERT_EQUAL(lh_copy_file(src, dst, LH_COPY_ALLOW_ALL, NULL, &err), -ENOENT);
	ASSERT_MSG_HAS(err, src);
	CU_ASSERT_NOT_EQUAL(access(dst, F_OK), 0);
}

static void test_src_directory(void)
{
	const char *src = fixture_path("copy/dir/src");
	const char *dst = fixture_path("copy/dir/dst");
	struct lh_error err = { 0 };

	CU_ASSERT_FATAL(mkdir(src, 0755) == 0);
	CU_ASSERT_EQUAL(lh_copy_file(src, dst, LH_COPY_ALLOW_ALL, NULL, &err), -EINVAL);
	ASSERT_MSG_HAS(err, src);
	ASSERT_MSG_HAS(err, "not a regular file");
	CU_ASSERT_NOT_EQUAL(access(dst, F_OK), 0);
}

/*
 * ENOSPC part way: a 6 MiB tmpfs holding a 3 MiB source and a filler
 * leaves about 1 MiB, so every method fails after writing some bytes and
 * must remove what it wrote.
 */
static void test_copy_failure_removes_dst(void)
{
	static const struct {
		unsigned allow;
		const char *name;
	} methods[] = {
		{ LH_COPY_ALLOW_RANGE, "range" },
		{ LH_COPY_ALLOW_READ_WRITE, "rw" },
		{ LH_COPY_ALLOW_ALL, "all" },
	};
	const char *mnt = fixture_path("copy/tiny");
	char src[4096], filler[4096], dst[4096];
	struct lh_error err;
	int fd;

	if (geteuid() != 0) {
		fprintf(stderr, "\n  SKIPPED copy failure: mounting a small tmpfs needs root\n");
		return;
	}
	CU_ASSERT_FATAL(mkdir(mnt, 0755) == 0);
	if (mount("tmpfs", mnt, "tmpfs", 0, "size=6m") != 0) {
		fprintf(stderr, "\n  SKIPPED copy failure: cannot mount tmpfs on %s: %s\n", mnt,
			strerror(errno));
		return;
	}
	snprintf(src, sizeof(src), "%s/src", mnt);
	snprintf(filler, sizeof(filler), "%s/filler", mnt);
	fd = open(src, O_WRONLY | O_CREAT | O_EXCL, 0644);
	CU_ASSERT(fd >= 0 && write_island(fd, 0, 3 * MIB, 9) == 0);
	close(fd);
	fd = open(filler, O_WRONLY | O_CREAT | O_EXCL, 0644);
	CU_ASSERT(fd >= 0 && write_island(fd, 0, 2 * MIB, 8) == 0);
	close(fd);

	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
		memset(&err, 0, sizeof(err));
		snprintf(dst, sizeof(dst), "%s/dst-%s", mnt, methods[i].name);
		CU_ASSERT_EQUAL(lh_copy_file(src, dst, methods[i].allow, NULL, &err), -ENOSPC);
		ASSERT_MSG_HAS(err, dst);
		ASSERT_MSG_HAS(err, src);
		CU_ASSERT_NOT_EQUAL(access(dst, F_OK), 0);
	}
	CU_ASSERT_EQUAL(umount(mnt), 0);
}

int main(void)
{
	static const struct cutest_case cases[] = {
		{ "copy_file_range only, sparse 64 MiB", test_copy_range },
		{ "read/write only, sparse 64 MiB", test_copy_read_write },
		{ "all methods, sparse 64 MiB", test_copy_all },
		{ "small and empty files", test_copy_small_and_empty },
		{ "destination exists: refused, untouched", test_dst_exists },
		{ "source missing", test_src_missing },
		{ "source is a directory", test_src_directory },
		{ "ENOSPC removes the destination", test_copy_failure_removes_dst },
		{ NULL, NULL },
	};

	return cutest_run("copy", cases, fixture_cleanup);
}
