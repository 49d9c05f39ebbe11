/*
 * vhdx.h - read the structures at the front of a VHDX file: the file
 * identifier, the two headers, the two region tables and the metadata
 * region, enough to know the disk is sound to attach and how large it is.
 *
 * Layout (MS-VHDX): "vhdxfile" at 0; headers ("head", 4 KiB, CRC-32C) at
 * 64 KiB and 128 KiB, the one with the higher sequence number current;
 * region tables ("regi", 64 KiB, CRC-32C) at 192 KiB and 256 KiB, naming
 * the BAT and metadata regions (1 MiB aligned); the metadata region's
 * table ("metadata") gives file parameters (block size, has-parent),
 * virtual disk size and logical sector size.
 */
#ifndef LH_VHDX_H
#define LH_VHDX_H

#include <layerhost/backend.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Reads len bytes at off into buf: 0, or -errno (-EIO past the end). */
struct lh_vhdx_reader {
	int (*read)(void *ctx, uint64_t off, void *buf, size_t len);
	void *ctx;
	uint64_t size; /* the file's length */
};

struct lh_vhdx_info {
	uint64_t virtual_size;
	uint32_t block_size;
	uint32_t logical_sector_size;
	bool has_parent; /* a differencing disk */
};

/*
 * Parse the VHDX structures through r. path names the file in messages.
 * A structure that is missing, fails its checksum or holds values out of
 * the format's bounds is -LH_EBADDISK saying which; a log that must be
 * replayed first is -LH_EBADDISK too (layerhost never writes the file to
 * replay it). A read error is its -errno.
 */
int lh_vhdx_parse(const struct lh_vhdx_reader *r, const char *path, struct lh_vhdx_info *out,
		  struct lh_error *err);

/* CRC-32C (Castagnoli), as VHDX checksums use it. */
uint32_t lh_crc32c(const void *data, size_t len);

#endif
