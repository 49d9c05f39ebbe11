/*
 * fuzz_tar.c - libFuzzer target for the importer's converter: the input is
 * a layer's (decompressed) tar, handed over in pieces whose size the input's
 * length decides, so libarchive's reads straddle headers and data in many
 * ways. The image goes to a memfd.
 *
 * Oracles: a refusal is a negative code with a message naming the stream
 * ("fuzz.tar: ..."); an accepted tar makes an image libext2fs opens, whose
 * bitmaps and root folder read back with their checksums good and whose
 * size is what the converter said. ASan and LeakSanitizer watch the rest.
 */
#include "fuzz_check.h"
#include "convert.h"

#include <ext2fs/ext2fs.h>

#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct pieces {
	const uint8_t *p;
	size_t len, pos, chunk;
};

static ssize_t next_piece(void *ctx, const void **buf, struct lh_error *err)
{
	struct pieces *s = ctx;
	size_t n = s->len - s->pos < s->chunk ? s->len - s->pos : s->chunk;

	(void)err;
	*buf = s->p + s->pos;
	s->pos += n;
	return (ssize_t)n;
}

static int count_entry(struct ext2_dir_entry *d, int off, int blocksize, char *buf, void *priv)
{
	(void)d, (void)off, (void)blocksize, (void)buf;
	(*(unsigned *)priv)++;
	return 0;
}

static void check_image(const char *path, uint64_t image_bytes)
{
	ext2_filsys fs = NULL;
	struct ext2_inode root;
	struct stat st;
	unsigned entries = 0;

	FUZZ_CHECK(stat(path, &st) == 0 && (uint64_t)st.st_size == image_bytes);
	FUZZ_CHECK(ext2fs_open(path, EXT2_FLAG_64BITS, 0, 0, unix_io_manager, &fs) == 0);
	FUZZ_CHECK(ext2fs_read_bitmaps(fs) == 0);
	FUZZ_CHECK(ext2fs_read_inode(fs, EXT2_ROOT_INO, &root) == 0 && LINUX_S_ISDIR(root.i_mode));
	FUZZ_CHECK(ext2fs_dir_iterate(fs, EXT2_ROOT_INO, 0, NULL, count_entry, &entries) == 0);
	FUZZ_CHECK(entries >= 2); /* "." and ".." at least */
	FUZZ_CHECK(ext2fs_blocks_count(fs->super) * 4096 == image_bytes);
	ext2fs_close_free(&fs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t seed[32] = { 0xf0, 0x22 };
	struct pieces in = { .p = data, .len = size };
	struct lh_convert_source src = { next_piece, &in };
	struct lh_convert_result res;
	struct lh_error err = { 0 };
	char path[64];
	int fd = memfd_create("fuzz-image", MFD_CLOEXEC), rc;

	if (fd < 0)
		return 0;
	/* whole, or pieces of 1 to 509 bytes */
	in.chunk = size % 3 == 0 ? (size ? size : 1) : 1 + size % 509;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	rc = lh_convert_tar(&src, path, "fuzz.tar", seed, NULL, NULL, &res, &err);
	if (rc) {
		FUZZ_CHECK(rc < 0 && err.code == rc);
		FUZZ_CHECK(strncmp(err.message, "fuzz.tar: ", 10) == 0);
	} else {
		FUZZ_CHECK(res.tar_bytes <= size && res.image_bytes % 4096 == 0);
		check_image(path, res.image_bytes);
	}
	close(fd);
	return 0;
}
