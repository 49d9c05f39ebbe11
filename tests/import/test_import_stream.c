/*
 * test_import_stream.c - lh_stream on real files larger than its ring (8
 * slots of 1 MiB), plain and gzip: the consumer sees every byte in order,
 * and the blob's digest and the diffID are those of the whole file (and of
 * the decompressed bytes) however much the consumer took before it stopped
 * (a converter that finds the tar bad stops early); a file of another size
 * than its descriptor says is refused.
 */
#include "cutest.h"
#include "fixtures.h"
#include "stream.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BLOB_SIZE (21u * 1024 * 1024 + 4321) /* wraps the ring twice and a part */

static uint8_t *blob;

/* Pseudo-random bytes (xorshift), so a slot out of order changes the
 * digest. Made before the suites run: false when out of memory. */
static bool make_blob(void)
{
	uint64_t x = 0x9e3779b97f4a7c15u;

	blob = malloc(BLOB_SIZE);
	if (!blob)
		return false;
	for (size_t i = 0; i < BLOB_SIZE; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		blob[i] = (uint8_t)x;
	}
	return true;
}

static void digest_of(const void *data, size_t len, uint8_t out[LH_SHA256_LEN])
{
	struct lh_sha256 h;

	CU_ASSERT_EQUAL_FATAL(lh_sha256_init(&h), 0);
	lh_sha256_update(&h, data, len);
	lh_sha256_final(&h, out);
}

/* Read `limit` bytes at most through the stream (checking them against
 * the blob), then finish it; returns the bytes read. */
static size_t consume(const char *path, uint64_t size, enum lh_compression comp, size_t limit,
		      struct lh_stream_result *res)
{
	struct lh_error err = { 0 };
	struct lh_convert_source src;
	struct lh_stream *s = NULL;
	size_t got = 0;
	bool in_order = true;

	CU_ASSERT_EQUAL_FATAL(lh_stream_start(path, "test blob", size, comp, &s, &err), 0);
	lh_stream_source(s, &src);
	while (got < limit) {
		const void *buf;
		ssize_t n = src.read(src.ctx, &buf, &err);

		CU_ASSERT_FATAL(n >= 0);
		if (n == 0)
			break;
		in_order = in_order && got + (size_t)n <= BLOB_SIZE &&
			   memcmp(buf, blob + got, (size_t)n) == 0;
		got += (size_t)n;
	}
	CU_ASSERT_TRUE(in_order);
	CU_ASSERT_EQUAL(lh_stream_finish(s, res, &err), 0);
	lh_stream_free(s);
	return got;
}

static void check_plain(size_t limit)
{
	const char *path = fixture_path("plain.tar");
	uint8_t want[LH_SHA256_LEN];
	struct lh_stream_result res;
	size_t got;

	CU_ASSERT_EQUAL_FATAL(fixture_write(path, blob, BLOB_SIZE), 0);
	digest_of(blob, BLOB_SIZE, want);
	got = consume(path, BLOB_SIZE, LH_COMPRESSION_NONE, limit, &res);
	CU_ASSERT_EQUAL(got, limit < BLOB_SIZE ? limit : BLOB_SIZE);
	CU_ASSERT_EQUAL(memcmp(res.blob_digest, want, sizeof(want)), 0);
	CU_ASSERT_EQUAL(memcmp(res.diff_digest, want, sizeof(want)), 0);
	CU_ASSERT_EQUAL(res.blob_bytes, BLOB_SIZE);
	CU_ASSERT_EQUAL(res.tar_bytes, BLOB_SIZE);
}

static void test_plain_whole(void)
{
	check_plain(SIZE_MAX);
}

/* The consumer stops after a few slots, and before it took any: the rest
 * is still hashed, in order. */
static void test_plain_consumer_stops(void)
{
	check_plain(3u * 1024 * 1024);
	check_plain(0);
}

static void test_gzip(void)
{
	const char *plain = fixture_path("layer.tar"), *gz = fixture_path("layer.tar.gz");
	uint8_t want_diff[LH_SHA256_LEN], want_blob[LH_SHA256_LEN];
	struct lh_stream_result res;
	char cmd[4096];
	uint8_t *packed;
	size_t packed_len;
	FILE *f;

	CU_ASSERT_EQUAL_FATAL(fixture_write(plain, blob, BLOB_SIZE), 0);
	snprintf(cmd, sizeof(cmd), "gzip -1 -c '%s' > '%s'", plain, gz);
	CU_ASSERT_EQUAL_FATAL(system(cmd), 0);
	f = fopen(gz, "rb");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	packed = malloc(BLOB_SIZE + (1u << 20));
	CU_ASSERT_PTR_NOT_NULL_FATAL(packed);
	packed_len = fread(packed, 1, BLOB_SIZE + (1u << 20), f);
	fclose(f);
	digest_of(blob, BLOB_SIZE, want_diff);
	digest_of(packed, packed_len, want_blob);
	CU_ASSERT_EQUAL(consume(gz, packed_len, LH_COMPRESSION_GZIP, SIZE_MAX, &res), BLOB_SIZE);
	CU_ASSERT_EQUAL(memcmp(res.blob_digest, want_blob, sizeof(want_blob)), 0);
	CU_ASSERT_EQUAL(memcmp(res.diff_digest, want_diff, sizeof(want_diff)), 0);
	consume(gz, packed_len, LH_COMPRESSION_GZIP, 2u * 1024 * 1024, &res);
	CU_ASSERT_EQUAL(memcmp(res.blob_digest, want_blob, sizeof(want_blob)), 0);
	CU_ASSERT_EQUAL(res.blob_bytes, packed_len);
	free(packed);
}

static void test_size_mismatch_refused(void)
{
	const char *path = fixture_path("short.tar");
	struct lh_error err = { 0 };
	struct lh_stream *s = NULL;

	CU_ASSERT_EQUAL_FATAL(fixture_write(path, blob, 1000), 0);
	CU_ASSERT_EQUAL(lh_stream_start(path, "test blob", 1001, LH_COMPRESSION_NONE, &s, &err),
			-LH_ECORRUPT);
	ASSERT_MSG_HAS(err, "holds 1000 bytes, the descriptor says 1001");
	CU_ASSERT_PTR_NULL(s);
}

int main(void)
{
	static const struct cutest_case cases[] = {
		{ "a plain blob, read whole", test_plain_whole },
		{ "a plain blob whose consumer stops early", test_plain_consumer_stops },
		{ "a gzip blob, whole and stopped early", test_gzip },
		{ "a file of another size than its descriptor", test_size_mismatch_refused },
		{ NULL, NULL },
	};

	if (!make_blob()) {
		fprintf(stderr, "test_import_stream: out of memory\n");
		return 1;
	}
	return cutest_run("import stream", cases, getenv("KEEP") ? NULL : fixture_cleanup);
}
