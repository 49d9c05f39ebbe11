/*
 * fuzz_vhdx.c - libFuzzer target for the VHDX structure reader.
 *
 * A sound 3 MiB VHDX image is built once in memory (identifier, two
 * headers, two region tables, metadata at 1 MiB, BAT at 2 MiB); each input
 * is a list of edits to it, so the fuzzer spends its time on the bytes
 * that matter instead of on megabytes of zeros:
 *   byte 0   flags: bit 0 re-signs the headers and region tables after
 *            the edits (so edits get past the checksums), bit 1 cuts the
 *            file to a length taken from bytes 1-2 (in 4 KiB units)
 *   then     4-byte edits: structure (0 identifier, 1-2 headers, 3-4
 *            region tables, 5 metadata table, 6 metadata values), a
 *            16-bit little-endian offset into it, and the new byte.
 * Oracles: a refusal is -LH_EBADDISK naming the file; an accepted disk
 * has a virtual size that is a non-zero multiple of a 512 or 4096 byte
 * sector, a power-of-two block size from 1 to 256 MiB; the image with no
 * edits is accepted with its own size; no read leaves the file.
 */
#include "fuzz_check.h"
#include "vhdx.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KIB 1024u
#define MIB (1024u * 1024u)
#define IMAGE_SIZE (3 * MIB)
#define VIRTUAL_SIZE (UINT64_C(64) * MIB)

static uint8_t *image; /* the sound image */
static uint8_t *work;  /* edited per input, the parts put back after */

/* Where each editable structure lies, and its length. */
static const struct {
	uint32_t offset, length;
} parts[] = {
	{ 0, 64 * KIB },
	{ 64 * KIB, 4 * KIB },
	{ 128 * KIB, 4 * KIB },
	{ 192 * KIB, 64 * KIB },
	{ 256 * KIB, 64 * KIB },
	{ 1 * MIB, 64 * KIB },
	{ 1 * MIB + 64 * KIB, 64 * KIB },
};

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)v);
	put16(p + 2, (uint16_t)(v >> 16));
}

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)v);
	put32(p + 4, (uint32_t)(v >> 32));
}

static void sign(uint8_t *s, size_t len)
{
	memset(s + 4, 0, 4);
	put32(s + 4, lh_crc32c(s, len));
}

static void sign_all(uint8_t *img)
{
	sign(img + 64 * KIB, 4 * KIB);
	sign(img + 128 * KIB, 4 * KIB);
	sign(img + 192 * KIB, 64 * KIB);
	sign(img + 256 * KIB, 64 * KIB);
}

static void metadata_entry(uint8_t *e, const char *guid, uint32_t offset, uint32_t length)
{
	memcpy(e, guid, 16);
	put32(e + 16, offset);
	put32(e + 20, length);
	put32(e + 24, 4); /* IsRequired */
}

/* The sound image every input edits. GUIDs in their stored byte order. */
static void build_image(void)
{
	static const char bat[] = "\x66\x77\xc2\x2d\x23\xf6\x00\x42\x9d\x64\x11\x5e\x9b\xfd\x4a\x08";
	static const char meta[] = "\x06\xa2\x7c\x8b\x90\x47\x9a\x4b\xb8\xfe\x57\x5f\x05\x0f\x88\x6e";
	static const char params[] = "\x37\x67\xa1\xca\x36\xfa\x43\x4d\xb3\xb6\x33\xf0\xaa\x44\xe7\x6b";
	static const char size[] = "\x24\x42\xa5\x2f\x1b\xcd\x76\x48\xb2\x11\x5d\xbe\xd8\x3b\xf4\xb8";
	static const char sector[] = "\x1d\xbf\x41\x81\x6f\xa9\x09\x47\xba\x47\xf2\x33\xa8\xfa\xab\x5f";
	uint8_t *m;

	image = calloc(1, IMAGE_SIZE);
	work = malloc(IMAGE_SIZE);
	FUZZ_CHECK(image != NULL && work != NULL);
	memcpy(image, "vhdxfile", 8);
	for (int h = 0; h < 2; h++) {
		uint8_t *p = image + (h + 1) * 64 * KIB;

		memcpy(p, "head", 4);
		put64(p + 8, (uint64_t)h + 1); /* sequence number */
		put16(p + 66, 1);              /* version */
		put32(p + 68, MIB);            /* log length */
		put64(p + 72, MIB);            /* log offset */
	}
	for (int t = 0; t < 2; t++) {
		uint8_t *p = image + (192 + 64 * t) * KIB;

		memcpy(p, "regi", 4);
		put32(p + 8, 2);
		memcpy(p + 16, bat, 16);
		put64(p + 32, 2 * MIB);
		put32(p + 40, MIB);
		memcpy(p + 48, meta, 16);
		put64(p + 64, 1 * MIB);
		put32(p + 72, MIB);
	}
	m = image + MIB;
	memcpy(m, "metadata", 8);
	put16(m + 10, 3);
	metadata_entry(m + 32, params, 64 * KIB, 8);
	metadata_entry(m + 64, size, 64 * KIB + 8, 8);
	metadata_entry(m + 96, sector, 64 * KIB + 16, 4);
	put32(m + 64 * KIB, 32 * MIB); /* block size; flags 0 */
	put64(m + 64 * KIB + 8, VIRTUAL_SIZE);
	put32(m + 64 * KIB + 16, 512);
	sign_all(image);
	memcpy(work, image, IMAGE_SIZE);
}

struct memory_file {
	const uint8_t *data;
	uint64_t size;
};

static int memory_read(void *ctx, uint64_t off, void *buf, size_t len)
{
	const struct memory_file *f = ctx;

	/* The parser checks bounds before it reads: a read past the end is a
	 * bug the fuzzer must report. */
	FUZZ_CHECK(off <= f->size && len <= f->size - off);
	memcpy(buf, f->data + off, len);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct memory_file file = { NULL, IMAGE_SIZE };
	struct lh_vhdx_reader reader = { memory_read, &file, IMAGE_SIZE };
	struct lh_vhdx_info info;
	struct lh_error err = { 0 };
	size_t pos = 1, edits = 0;
	uint8_t flags = size ? data[0] : 0;
	int rc;

	if (!image)
		build_image();
	file.data = work;
	if (flags & 2 && size >= 3) {
		uint64_t cut = ((uint64_t)data[1] | (uint64_t)data[2] << 8) * 4 * KIB;

		file.size = reader.size = cut < IMAGE_SIZE ? cut : IMAGE_SIZE;
		pos = 3;
	}
	for (; pos + 4 <= size; pos += 4, edits++) {
		unsigned part = data[pos] % (sizeof(parts) / sizeof(parts[0]));
		uint32_t at = (uint32_t)(data[pos + 1] | data[pos + 2] << 8) % parts[part].length;

		work[parts[part].offset + at] = data[pos + 3];
	}
	if (flags & 1)
		sign_all(work);
	rc = lh_vhdx_parse(&reader, "fuzz.vhdx", &info, &err);
	if (rc) {
		FUZZ_CHECK(rc == -LH_EBADDISK && err.code == rc);
		FUZZ_CHECK(strstr(err.message, "fuzz.vhdx") != NULL);
		FUZZ_CHECK(info.virtual_size == 0);
		/* The sound image, whole and unedited, is always accepted. */
		FUZZ_CHECK(edits > 0 || file.size < IMAGE_SIZE);
	} else {
		FUZZ_CHECK(info.logical_sector_size == 512 || info.logical_sector_size == 4096);
		FUZZ_CHECK(info.virtual_size > 0 && info.virtual_size % info.logical_sector_size == 0);
		FUZZ_CHECK(info.block_size >= MIB && info.block_size <= 256 * MIB &&
			   (info.block_size & (info.block_size - 1)) == 0);
		if (edits == 0)
			FUZZ_CHECK(info.virtual_size == VIRTUAL_SIZE && !info.has_parent);
	}
	/* Every edit and signature lands in a part: putting the parts back
	 * restores the sound image. */
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++)
		memcpy(work + parts[i].offset, image + parts[i].offset, parts[i].length);
	return 0;
}
