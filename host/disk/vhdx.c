/* vhdx.c - see vhdx.h. */
#include "vhdx.h"

#include "error.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define KIB 1024u
#define MIB (1024u * 1024u)

#define VHDX_HEADER_SIZE (4 * KIB)
#define VHDX_TABLE_SIZE (64 * KIB)
#define VHDX_MAX_ENTRIES 2047
#define VHDX_MAX_VIRTUAL_SIZE (UINT64_C(64) << 40) /* 64 TiB */

static const uint64_t header_offsets[2] = { 64 * KIB, 128 * KIB };
static const uint64_t region_table_offsets[2] = { 192 * KIB, 256 * KIB };

/* GUIDs as stored: the first three fields little-endian. */
static const uint8_t guid_bat[16] = { 0x66, 0x77, 0xc2, 0x2d, 0x23, 0xf6, 0x00, 0x42,
				      0x9d, 0x64, 0x11, 0x5e, 0x9b, 0xfd, 0x4a, 0x08 };
static const uint8_t guid_metadata[16] = { 0x06, 0xa2, 0x7c, 0x8b, 0x90, 0x47, 0x9a, 0x4b,
					   0xb8, 0xfe, 0x57, 0x5f, 0x05, 0x0f, 0x88, 0x6e };
static const uint8_t guid_file_parameters[16] = { 0x37, 0x67, 0xa1, 0xca, 0x36, 0xfa,
						  0x43, 0x4d, 0xb3, 0xb6, 0x33, 0xf0,
						  0xaa, 0x44, 0xe7, 0x6b };
static const uint8_t guid_virtual_size[16] = { 0x24, 0x42, 0xa5, 0x2f, 0x1b, 0xcd,
					       0x76, 0x48, 0xb2, 0x11, 0x5d, 0xbe,
					       0xd8, 0x3b, 0xf4, 0xb8 };
static const uint8_t guid_logical_sector[16] = { 0x1d, 0xbf, 0x41, 0x81, 0x6f, 0xa9,
						 0x09, 0x47, 0xba, 0x47, 0xf2, 0x33,
						 0xa8, 0xfa, 0xab, 0x5f };

static uint32_t crc32c_table[256];

static void crc32c_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;

		for (int k = 0; k < 8; k++)
			c = c & 1 ? 0x82f63b78u ^ (c >> 1) : c >> 1;
		crc32c_table[i] = c;
	}
}

uint32_t lh_crc32c(const void *data, size_t len)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	const uint8_t *p = data;
	uint32_t c = 0xffffffffu;

	pthread_once(&once, crc32c_init);
	while (len--)
		c = crc32c_table[(c ^ *p++) & 0xff] ^ (c >> 8);
	return c ^ 0xffffffffu;
}

static uint16_t le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p)
{
	return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

/* Whether the checksum at offset 4 of a structure of len bytes is right:
 * the CRC-32C of the structure with that field zeroed. */
static bool checksum_ok(uint8_t *s, size_t len)
{
	uint32_t stored = le32(s + 4);
	bool ok;

	memset(s + 4, 0, 4);
	ok = lh_crc32c(s, len) == stored;
	s[4] = (uint8_t)stored;
	s[5] = (uint8_t)(stored >> 8);
	s[6] = (uint8_t)(stored >> 16);
	s[7] = (uint8_t)(stored >> 24);
	return ok;
}

static bool all_zero(const uint8_t *p, size_t len)
{
	while (len--)
		if (*p++)
			return false;
	return true;
}

static int vhdx_read(const struct lh_vhdx_reader *r, const char *path, uint64_t off, void *buf,
		     size_t len, const char *what, struct lh_error *err)
{
	int rc;

	if (off > r->size || len > r->size - off)
		return LH_FAIL(err, -LH_EBADDISK, "%s: VHDX %s at %llu lies past the end of the "
			       "file (%llu bytes)", path, what, (unsigned long long)off,
			       (unsigned long long)r->size);
	rc = r->read(r->ctx, off, buf, len);
	if (rc)
		return LH_FAIL(err, rc, "%s: cannot read the VHDX %s: %s", path, what,
			       lh_strerror(rc));
	return 0;
}

/* The current header: valid ("head", checksum, version 1) with the higher
 * sequence number. It must not carry a log to replay. */
static int vhdx_headers(const struct lh_vhdx_reader *r, const char *path, struct lh_error *err)
{
	uint8_t h[2][VHDX_HEADER_SIZE];
	bool valid[2];
	int cur, rc;

	for (int i = 0; i < 2; i++) {
		rc = vhdx_read(r, path, header_offsets[i], h[i], VHDX_HEADER_SIZE, "header", err);
		if (rc)
			return rc;
		valid[i] = memcmp(h[i], "head", 4) == 0 && checksum_ok(h[i], VHDX_HEADER_SIZE) &&
			   le16(h[i] + 66) == 1;
	}
	if (!valid[0] && !valid[1])
		return LH_FAIL(err, -LH_EBADDISK, "%s: neither VHDX header (at 64 KiB and 128 KiB) "
			       "is valid: bad signature, checksum or version", path);
	cur = !valid[0] || (valid[1] && le64(h[1] + 8) > le64(h[0] + 8)) ? 1 : 0;
	if (!all_zero(h[cur] + 48, 16))
		return LH_FAIL(err, -LH_EBADDISK, "%s: the VHDX has a log to replay (it was not "
			       "closed cleanly); open it once with its owner, or run `qemu-img check "
			       "-r all` on it", path);
	return 0;
}

struct vhdx_region {
	uint64_t offset;
	uint32_t length;
};

/* The BAT and metadata regions from the first valid region table. */
static int vhdx_regions(const struct lh_vhdx_reader *r, const char *path, uint8_t *table,
			struct vhdx_region *bat, struct vhdx_region *meta, struct lh_error *err)
{
	uint32_t count;
	int rc, t;

	for (t = 0; t < 2; t++) {
		rc = vhdx_read(r, path, region_table_offsets[t], table, VHDX_TABLE_SIZE,
			       "region table", err);
		if (rc)
			return rc;
		if (memcmp(table, "regi", 4) == 0 && checksum_ok(table, VHDX_TABLE_SIZE) &&
		    le32(table + 8) <= VHDX_MAX_ENTRIES)
			break;
	}
	if (t == 2)
		return LH_FAIL(err, -LH_EBADDISK, "%s: neither VHDX region table (at 192 KiB and "
			       "256 KiB) is valid", path);
	count = le32(table + 8);
	memset(bat, 0, sizeof(*bat));
	memset(meta, 0, sizeof(*meta));
	for (uint32_t i = 0; i < count; i++) {
		const uint8_t *e = table + 16 + 32 * i;
		struct vhdx_region region = { le64(e + 16), le32(e + 24) };
		struct vhdx_region *slot = memcmp(e, guid_bat, 16) == 0	     ? bat
					   : memcmp(e, guid_metadata, 16) == 0 ? meta
									       : NULL;

		if (!slot) {
			if (le32(e + 28) & 1)
				return LH_FAIL(err, -LH_EBADDISK, "%s: the VHDX requires a region "
					       "this reader does not know", path);
			continue;
		}
		if (region.offset % MIB || region.offset < MIB || region.length % MIB ||
		    region.length == 0 || region.offset > r->size ||
		    region.length > r->size - region.offset)
			return LH_FAIL(err, -LH_EBADDISK, "%s: VHDX %s region (offset %llu, length "
				       "%u) is misaligned or past the end of the file", path,
				       slot == bat ? "BAT" : "metadata",
				       (unsigned long long)region.offset, region.length);
		*slot = region;
	}
	if (!bat->length || !meta->length)
		return LH_FAIL(err, -LH_EBADDISK, "%s: the VHDX region table lacks the %s region",
			       path, bat->length ? "metadata" : "BAT");
	return 0;
}

/* One metadata item's value, exactly want bytes. 0, 1 when absent, or an
 * error. */
static int vhdx_item(const struct lh_vhdx_reader *r, const char *path, const uint8_t *table,
		     const struct vhdx_region *meta, const uint8_t guid[16], void *value,
		     size_t want, const char *what, struct lh_error *err)
{
	uint16_t count = le16(table + 10);

	for (uint16_t i = 0; i < count; i++) {
		const uint8_t *e = table + 32 + 32 * i;
		uint32_t off = le32(e + 16), len = le32(e + 20);

		if (memcmp(e, guid, 16) != 0)
			continue;
		if (len != want || off < VHDX_TABLE_SIZE || off > meta->length ||
		    len > meta->length - off)
			return LH_FAIL(err, -LH_EBADDISK, "%s: VHDX metadata item %s has a bad "
				       "place or length", path, what);
		return vhdx_read(r, path, meta->offset + off, value, want, what, err);
	}
	return 1;
}

static int vhdx_metadata(const struct lh_vhdx_reader *r, const char *path, uint8_t *table,
			 const struct vhdx_region *meta, struct lh_vhdx_info *out,
			 struct lh_error *err)
{
	uint8_t params[8], size[8], sector[4];
	int rc;

	rc = vhdx_read(r, path, meta->offset, table, VHDX_TABLE_SIZE, "metadata table", err);
	if (rc)
		return rc;
	if (memcmp(table, "metadata", 8) != 0 || le16(table + 10) > VHDX_MAX_ENTRIES)
		return LH_FAIL(err, -LH_EBADDISK, "%s: the VHDX metadata table is not valid", path);
	rc = vhdx_item(r, path, table, meta, guid_file_parameters, params, sizeof(params),
		       "file parameters", err);
	if (rc == 0)
		rc = vhdx_item(r, path, table, meta, guid_virtual_size, size, sizeof(size),
			       "virtual disk size", err);
	if (rc == 0)
		rc = vhdx_item(r, path, table, meta, guid_logical_sector, sector, sizeof(sector),
			       "logical sector size", err);
	if (rc == 1)
		return LH_FAIL(err, -LH_EBADDISK, "%s: the VHDX metadata lacks a required item "
			       "(file parameters, virtual disk size or logical sector size)", path);
	if (rc)
		return rc;
	out->block_size = le32(params);
	out->has_parent = le32(params + 4) & 2;
	out->virtual_size = le64(size);
	out->logical_sector_size = le32(sector);
	if (out->block_size < MIB || out->block_size > 256 * MIB ||
	    (out->block_size & (out->block_size - 1)))
		return LH_FAIL(err, -LH_EBADDISK, "%s: VHDX block size %u is not a power of two "
			       "from 1 MiB to 256 MiB", path, out->block_size);
	if (out->logical_sector_size != 512 && out->logical_sector_size != 4096)
		return LH_FAIL(err, -LH_EBADDISK, "%s: VHDX logical sector size %u is neither 512 "
			       "nor 4096", path, out->logical_sector_size);
	if (out->virtual_size == 0 || out->virtual_size > VHDX_MAX_VIRTUAL_SIZE ||
	    out->virtual_size % out->logical_sector_size)
		return LH_FAIL(err, -LH_EBADDISK, "%s: VHDX virtual size %llu is not a multiple "
			       "of its sector size up to 64 TiB", path,
			       (unsigned long long)out->virtual_size);
	return 0;
}

int lh_vhdx_parse(const struct lh_vhdx_reader *r, const char *path, struct lh_vhdx_info *out,
		  struct lh_error *err)
{
	struct vhdx_region bat, meta;
	uint8_t ident[8], *table;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = vhdx_read(r, path, 0, ident, sizeof(ident), "file identifier", err);
	if (rc)
		return rc;
	if (memcmp(ident, "vhdxfile", 8) != 0)
		return LH_FAIL(err, -LH_EBADDISK, "%s: no VHDX file identifier", path);
	rc = vhdx_headers(r, path, err);
	if (rc)
		return rc;
	table = malloc(VHDX_TABLE_SIZE);
	if (!table)
		return LH_FAIL(err, -ENOMEM, "%s: out of memory", path);
	rc = vhdx_regions(r, path, table, &bat, &meta, err);
	if (rc == 0)
		rc = vhdx_metadata(r, path, table, &meta, out, err);
	free(table);
	if (rc)
		memset(out, 0, sizeof(*out));
	return rc;
}
