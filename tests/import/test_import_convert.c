/*
 * test_import_convert.c - lh_convert_tar on tars written here with
 * libarchive, each image read back with libext2fs (no mount, no root) and
 * checked by e2fsck -fn: file data, sparse files and their extent trees
 * (inline, one level, two levels), large folders, the end-of-archive rules,
 * and a source that fails.
 */
#include "convert.h"
#include "cutest.h"
#include "fixtures.h"

#include <archive.h>
#include <archive_entry.h>
#include <ext2fs/ext2fs.h>

#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>

/* ---- tars in memory ------------------------------------------------------ */

struct tar {
	struct archive *a;
	uint8_t *buf;
	size_t cap, used;
};

static void tar_open(struct tar *t)
{
	t->cap = 64u << 20;
	t->buf = malloc(t->cap);
	t->a = archive_write_new();
	CU_ASSERT_PTR_NOT_NULL_FATAL(t->buf);
	archive_write_set_format_pax_restricted(t->a);
	archive_write_set_bytes_in_last_block(t->a, 1);
	CU_ASSERT_EQUAL_FATAL(archive_write_open_memory(t->a, t->buf, t->cap, &t->used), ARCHIVE_OK);
}

static struct archive_entry *entry(const char *path, mode_t type, mode_t perm, int64_t size)
{
	struct archive_entry *e = archive_entry_new();

	archive_entry_set_pathname(e, path);
	archive_entry_set_filetype(e, type);
	archive_entry_set_perm(e, perm);
	archive_entry_set_size(e, size);
	archive_entry_set_mtime(e, 1700000000, 0);
	return e;
}

static void tar_file(struct tar *t, const char *path, const void *data, size_t len)
{
	struct archive_entry *e = entry(path, AE_IFREG, 0644, (int64_t)len);

	CU_ASSERT_EQUAL(archive_write_header(t->a, e), ARCHIVE_OK);
	if (len)
		CU_ASSERT_EQUAL(archive_write_data(t->a, data, len), (la_ssize_t)len);
	archive_entry_free(e);
}

static void tar_dir(struct tar *t, const char *path)
{
	struct archive_entry *e = entry(path, AE_IFDIR, 0755, 0);

	CU_ASSERT_EQUAL(archive_write_header(t->a, e), ARCHIVE_OK);
	archive_entry_free(e);
}

/* A sparse file of size bytes with n runs of run bytes (value: the run's
 * index | 1), one every stride bytes: libarchive writes it as a PAX sparse
 * member, taking the whole content and storing the runs only. */
static void tar_sparse(struct tar *t, const char *path, uint64_t size, unsigned n,
		       uint64_t stride, size_t run)
{
	struct archive_entry *e = entry(path, AE_IFREG, 0644, (int64_t)size);
	uint8_t *data = calloc(1, stride);
	uint64_t written = 0;

	for (unsigned i = 0; i < n; i++)
		archive_entry_sparse_add_entry(e, (la_int64_t)(i * stride), (la_int64_t)run);
	CU_ASSERT_EQUAL(archive_write_header(t->a, e), ARCHIVE_OK);
	for (unsigned i = 0; i < n; i++) {
		memset(data, (int)(i & 0xff) | 1, run);
		CU_ASSERT_EQUAL(archive_write_data(t->a, data, stride), (la_ssize_t)stride);
		written += stride;
	}
	memset(data, 0, stride);
	while (written < size) {
		size_t k = size - written < stride ? (size_t)(size - written) : (size_t)stride;

		CU_ASSERT_EQUAL(archive_write_data(t->a, data, k), (la_ssize_t)k);
		written += k;
	}
	free(data);
	archive_entry_free(e);
}

static void tar_close(struct tar *t)
{
	CU_ASSERT_EQUAL(archive_write_close(t->a), ARCHIVE_OK);
	archive_write_free(t->a);
	t->a = NULL;
}

/* ---- converting ------------------------------------------------------------ */

struct mem {
	const uint8_t *p;
	size_t len, pos, chunk;
	bool fail_at_end;
};

static ssize_t mem_read(void *ctx, const void **buf, struct lh_error *err)
{
	struct mem *m = ctx;
	size_t n = m->len - m->pos < m->chunk ? m->len - m->pos : m->chunk;

	if (n == 0 && m->fail_at_end)
		return LH_FAIL(err, -EIO, "mem: the source failed");
	*buf = m->p + m->pos;
	m->pos += n;
	return (ssize_t)n;
}

static const uint8_t seed[32] = { 1, 2, 3 };

static int convert(const uint8_t *data, size_t len, const char *image,
		   struct lh_convert_result *res, struct lh_error *err)
{
	struct mem m = { .p = data, .len = len, .chunk = 100000 };
	struct lh_convert_source src = { mem_read, &m };

	CU_ASSERT_EQUAL(fixture_write(image, "", 0), 0);
	return lh_convert_tar(&src, image, "test tar", seed, NULL, NULL, res, err);
}

static bool fsck_clean(const char *image)
{
	int rc = fixture_sh("e2fsck -fn '%s' >/dev/null 2>&1", image);

	if (rc)
		fixture_sh("e2fsck -fn '%s' >&2", image);
	return rc == 0;
}

/* ---- reading back ----------------------------------------------------------- */

static ext2_filsys open_image(const char *image)
{
	ext2_filsys fs = NULL;

	CU_ASSERT_EQUAL(ext2fs_open(image, EXT2_FLAG_64BITS, 0, 0, unix_io_manager, &fs), 0);
	return fs;
}

static ext2_ino_t lookup(ext2_filsys fs, const char *path)
{
	ext2_ino_t ino = 0;

	if (ext2fs_namei(fs, EXT2_ROOT_INO, EXT2_ROOT_INO, path, &ino))
		return 0;
	return ino;
}

/* Read len bytes at off of the file at path. */
static bool read_at(ext2_filsys fs, const char *path, uint64_t off, void *buf, unsigned len)
{
	ext2_file_t f;
	unsigned got = 0;
	ext2_ino_t ino = lookup(fs, path);
	bool ok;

	if (!ino || ext2fs_file_open(fs, ino, 0, &f))
		return false;
	ok = ext2fs_file_llseek(f, off, EXT2_SEEK_SET, NULL) == 0 &&
	     ext2fs_file_read(f, buf, len, &got) == 0 && got == len;
	ext2fs_file_close(f);
	return ok;
}

/* ---- cases -------------------------------------------------------------------- */

static void test_files(void)
{
	const char *img = fixture_path("files.img");
	struct lh_convert_result res;
	struct lh_error err = { 0 };
	struct ext2_inode inode;
	struct tar t;
	uint8_t *big = malloc(3u << 20), back[5000];
	ext2_filsys fs;

	for (size_t i = 0; i < (3u << 20); i++)
		big[i] = (uint8_t)(i * 131 + (i >> 12));
	tar_open(&t);
	tar_dir(&t, "d");
	tar_file(&t, "d/empty", "", 0);
	tar_file(&t, "d/small", "hello", 5);
	tar_file(&t, "d/4096", big, 4096);
	tar_file(&t, "d/4097", big, 4097);
	tar_file(&t, "d/big", big, 3u << 20);
	tar_close(&t);
	CU_ASSERT_EQUAL_FATAL(convert(t.buf, t.used, img, &res, &err), 0);
	CU_ASSERT_EQUAL(res.entries, 6);
	CU_ASSERT_EQUAL(res.tar_bytes, t.used);
	CU_ASSERT(!res.no_end_marker);
	CU_ASSERT(fsck_clean(img));
	fs = open_image(img);
	CU_ASSERT_PTR_NOT_NULL_FATAL(fs);
	CU_ASSERT(read_at(fs, "d/small", 0, back, 5) && memcmp(back, "hello", 5) == 0);
	CU_ASSERT(read_at(fs, "d/4097", 0, back, 4097) && memcmp(back, big, 4097) == 0);
	CU_ASSERT(read_at(fs, "d/big", (3u << 20) - 5000, back, 5000) &&
		  memcmp(back, big + (3u << 20) - 5000, 5000) == 0);
	CU_ASSERT_EQUAL(ext2fs_read_inode(fs, lookup(fs, "d/big"), &inode), 0);
	CU_ASSERT_EQUAL(EXT2_I_SIZE(&inode), 3u << 20);
	CU_ASSERT_EQUAL(inode.i_blocks, (3u << 20) / 512); /* contiguous: no tree blocks */
	CU_ASSERT_EQUAL(ext2fs_read_inode(fs, lookup(fs, "d/empty"), &inode), 0);
	CU_ASSERT_EQUAL(inode.i_blocks, 0);
	ext2fs_close_free(&fs);
	free(t.buf);
	free(big);
}

/* Extent trees: 3 runs (in the inode), 400 (one level), 2000 (two). */
static void test_sparse_trees(void)
{
	static const unsigned runs[] = { 3, 400, 2000 };
	const char *img = fixture_path("sparse.img");
	struct lh_convert_result res;
	struct lh_error err = { 0 };
	struct ext2_inode inode;
	struct tar t;
	ext2_filsys fs;
	char name[32];
	uint8_t back[100];

	tar_open(&t);
	for (unsigned i = 0; i < 3; i++) {
		snprintf(name, sizeof(name), "sparse%u", runs[i]);
		tar_sparse(&t, name, (uint64_t)runs[i] * 8192 + 12345, runs[i], 8192, 100);
	}
	tar_close(&t);
	CU_ASSERT_EQUAL_FATAL(convert(t.buf, t.used, img, &res, &err), 0);
	CU_ASSERT(fsck_clean(img));
	fs = open_image(img);
	CU_ASSERT_PTR_NOT_NULL_FATAL(fs);
	for (unsigned i = 0; i < 3; i++) {
		unsigned tree = runs[i] <= 4 ? 0 : runs[i] <= 1360 ? 2 : 7; /* 2 leaves; 6 + 1 index */
		uint64_t last = (uint64_t)(runs[i] - 1) * 8192;

		snprintf(name, sizeof(name), "sparse%u", runs[i]);
		CU_ASSERT_EQUAL(ext2fs_read_inode(fs, lookup(fs, name), &inode), 0);
		CU_ASSERT_EQUAL(EXT2_I_SIZE(&inode), (uint64_t)runs[i] * 8192 + 12345);
		/* one block a run, and the tree's blocks */
		CU_ASSERT_EQUAL(inode.i_blocks, (runs[i] + tree) * 8);
		CU_ASSERT(read_at(fs, name, last, back, 100) &&
			  back[0] == (((runs[i] - 1) & 0xff) | 1) && back[99] == back[0]);
		CU_ASSERT(read_at(fs, name, last - 100, back, 100) && back[0] == 0 && back[99] == 0);
	}
	ext2fs_close_free(&fs);
	free(t.buf);
}

/* 20,000 names in one folder: directory blocks written in one go. */
static void test_large_folder(void)
{
	const char *img = fixture_path("folder.img");
	struct lh_convert_result res;
	struct lh_error err = { 0 };
	struct tar t;
	ext2_filsys fs;
	char name[64];

	tar_open(&t);
	for (int i = 0; i < 20000; i++) {
		snprintf(name, sizeof(name), "huge/file-with-a-longish-name-%05d", i);
		tar_file(&t, name, name, 8);
	}
	tar_close(&t);
	CU_ASSERT_EQUAL_FATAL(convert(t.buf, t.used, img, &res, &err), 0);
	CU_ASSERT(fsck_clean(img));
	fs = open_image(img);
	CU_ASSERT_PTR_NOT_NULL_FATAL(fs);
	CU_ASSERT_NOT_EQUAL(lookup(fs, "huge/file-with-a-longish-name-00000"), 0);
	CU_ASSERT_NOT_EQUAL(lookup(fs, "huge/file-with-a-longish-name-19999"), 0);
	CU_ASSERT_EQUAL(fs->super->s_inodes_count - fs->super->s_free_inodes_count, 10 + 20001);
	ext2fs_close_free(&fs);
	free(t.buf);
}

static void test_end_of_archive(void)
{
	const char *img = fixture_path("end.img");
	struct lh_convert_result res;
	struct lh_error err = { 0 };
	struct tar t;
	size_t end;

	tar_open(&t);
	tar_file(&t, "a", "aaaa", 4);
	tar_file(&t, "b", "bbbbbbb", 7);
	tar_close(&t);
	end = 4 * 512; /* two headers, two data blocks */

	/* padded, no end blocks */
	CU_ASSERT_EQUAL(convert(t.buf, end, img, &res, &err), 0);
	CU_ASSERT(res.no_end_marker);
	CU_ASSERT_EQUAL(res.entries, 2);
	/* not even padding after the last byte */
	CU_ASSERT_EQUAL(convert(t.buf, end - 512 + 7, img, &res, &err), 0);
	CU_ASSERT(res.no_end_marker);
	CU_ASSERT(fsck_clean(img));
	/* cut inside the data: refused, naming the entry */
	CU_ASSERT_EQUAL(convert(t.buf, end - 512 + 3, img, &res, &err), -LH_ECORRUPT);
	ASSERT_MSG_HAS(err, "test tar: entry 'b': Truncated tar archive");
	lh_error_clear(&err);
	/* cut inside a header */
	CU_ASSERT_EQUAL(convert(t.buf, 512 + 512 + 100, img, &res, &err), -LH_ECORRUPT);
	ASSERT_MSG_HAS(err, "test tar: after entry 'a'");
	free(t.buf);
}

static void test_source_error(void)
{
	const char *img = fixture_path("src.img");
	struct lh_convert_result res;
	struct lh_error err = { 0 };
	struct tar t;
	struct mem m = { .chunk = 512, .fail_at_end = true };
	struct lh_convert_source src = { mem_read, &m };

	tar_open(&t);
	tar_file(&t, "a", "aaaa", 4);
	tar_close(&t);
	m.p = t.buf;
	m.len = 1024; /* the source fails where the end blocks would be */
	CU_ASSERT_EQUAL(fixture_write(img, "", 0), 0);
	CU_ASSERT_EQUAL(lh_convert_tar(&src, img, "test tar", seed, NULL, NULL, &res, &err), -EIO);
	ASSERT_MSG_HAS(err, "mem: the source failed");
	free(t.buf);
}

int main(void)
{
	static const struct cutest_case cases[] = {
		{ "files of every size, read back", test_files },
		{ "sparse files and their extent trees", test_sparse_trees },
		{ "a folder of 20,000 names", test_large_folder },
		{ "a tar without end blocks, a truncated one", test_end_of_archive },
		{ "the source's error is the one reported", test_source_error },
		{ NULL, NULL },
	};

	return cutest_run("import convert", cases, getenv("KEEP") ? NULL : fixture_cleanup);
}
