/*
 * ext4_csum.c - inode checksums in bulk. metadata_csum gives every inode a
 * crc32c (of the filesystem's seed, the inode number, its generation and
 * its 256 bytes); libext2fs computes it a byte at a time, which was a
 * tenth of a 24k-entry layer's conversion. With the CPU's crc32 instruction
 * it is eight bytes at a time; lh_ext4_finish checks the first inode
 * against libext2fs before trusting it (ext4_inode_csum_fast).
 */
#include "ext4_private.h"

#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define HAVE_HW_CRC32C 1
__attribute__((target("sse4.2"))) static uint32_t crc32c_hw(uint32_t crc, const uint8_t *p,
							    size_t len)
{
	uint64_t c = crc;

	for (; len >= 8; p += 8, len -= 8) {
		uint64_t v;

		memcpy(&v, p, 8);
		c = __builtin_ia32_crc32di(c, v);
	}
	for (; len; p++, len--)
		c = __builtin_ia32_crc32qi((uint32_t)c, *p);
	return (uint32_t)c;
}
#endif

/* The same function as ext2fs_crc32c_le: no inversion before or after. */
static uint32_t crc32c(uint32_t crc, const void *p, size_t len)
{
#ifdef HAVE_HW_CRC32C
	if (__builtin_cpu_supports("sse4.2"))
		return crc32c_hw(crc, p, len);
#endif
	return ext2fs_crc32c_le(crc, p, len);
}

void ext4_inode_csum_fast(ext2_filsys fs, uint32_t ino, uint8_t *raw)
{
	struct ext2_inode_large *in = (struct ext2_inode_large *)raw;
	uint32_t num = ext2fs_cpu_to_le32(ino), gen = in->i_generation, crc;

	in->i_checksum_lo = 0;
	in->i_checksum_hi = 0;
	crc = crc32c(fs->csum_seed, &num, sizeof(num));
	crc = crc32c(crc, &gen, sizeof(gen));
	crc = crc32c(crc, raw, EXT4_INODE_SIZE);
	in->i_checksum_lo = ext2fs_cpu_to_le16((uint16_t)(crc & 0xffff));
	in->i_checksum_hi = ext2fs_cpu_to_le16((uint16_t)(crc >> 16));
}
