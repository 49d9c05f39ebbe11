/*
 * test_gob.c - the gob codec against the bytes Go's encoding/gob writes,
 * its strictness on malformed input, and random round trips checked
 * against an independent reference encoder.
 */
#include "cutest.h"

#include "fakehost.h"
#include "gob.h"

#include <errno.h>
#include <stdlib.h>

/* ---- helpers ------------------------------------------------------------- */

static int bytes_equal(const uint8_t *got, size_t got_len, const uint8_t *want, size_t want_len)
{
	if (got_len == want_len && memcmp(got, want, want_len) == 0)
		return 1;
	fprintf(stderr, "\n  bytes differ:\n  want:");
	for (size_t i = 0; i < want_len; i++)
		fprintf(stderr, " %02x", want[i]);
	fprintf(stderr, "\n  got: ");
	for (size_t i = 0; i < got_len; i++)
		fprintf(stderr, " %02x", got[i]);
	fprintf(stderr, "\n");
	return 0;
}

#define B(...) ((const uint8_t[]){ __VA_ARGS__ }), sizeof((const uint8_t[]){ __VA_ARGS__ })

/* The encoder holds exactly `want`. */
static void check_enc(struct lh_gob_encoder *enc, const uint8_t *want, size_t want_len)
{
	CU_ASSERT_FALSE(enc->failed);
	CU_ASSERT(bytes_equal(enc->data, enc->len, want, want_len));
	lh_gob_encoder_free(enc);
}

/* A decoder over an exactly sized heap copy, so any over-read is a
 * valgrind / ASan error rather than a silent read of the next constant. */
struct heap_dec {
	struct lh_gob_decoder dec;
	uint8_t *copy;
};

static void heap_dec_init(struct heap_dec *h, const uint8_t *data, size_t len, size_t origin)
{
	h->copy = malloc(len ? len : 1);
	if (len)
		memcpy(h->copy, data, len);
	lh_gob_decoder_init(&h->dec, h->copy, len, origin);
}

static void heap_dec_free(struct heap_dec *h)
{
	free(h->copy);
	h->copy = NULL;
}

/* ---- golden bytes, encode and decode --------------------------------------- */

static void test_golden_uint(void)
{
	static const struct {
		uint64_t value;
		uint8_t bytes[16];
		size_t len;
	} cases[] = {
		{ 1, { 0x03, 0x06, 0x00, 0x01 }, 4 },
		{ 0, { 0x03, 0x06, 0x00, 0x00 }, 4 },
		{ 127, { 0x03, 0x06, 0x00, 0x7f }, 4 },
		{ 128, { 0x04, 0x06, 0x00, 0xff, 0x80 }, 5 },
		{ 256, { 0x05, 0x06, 0x00, 0xfe, 0x01, 0x00 }, 6 },
		{ 300, { 0x05, 0x06, 0x00, 0xfe, 0x01, 0x2c }, 6 },
		{ 0xffffffffu, { 0x07, 0x06, 0x00, 0xfc, 0xff, 0xff, 0xff, 0xff }, 8 },
		{ UINT64_MAX,
		  { 0x0b, 0x06, 0x00, 0xf8, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff }, 12 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct lh_gob_encoder enc;
		struct heap_dec h;
		struct lh_error err = { 0 };
		uint64_t got = 12345;

		lh_gob_encoder_init(&enc);
		CU_ASSERT_EQUAL(lh_gob_put_uint(&enc, cases[i].value), 0);
		check_enc(&enc, cases[i].bytes, cases[i].len);

		heap_dec_init(&h, cases[i].bytes, cases[i].len, 0);
		CU_ASSERT_EQUAL(lh_gob_get_uint(&h.dec, &got, &err), 0);
		CU_ASSERT_EQUAL(got, cases[i].value);
		CU_ASSERT_EQUAL(lh_gob_remaining(&h.dec), 0);
		heap_dec_free(&h);
	}
}

static void test_golden_int(void)
{
	static const struct {
		int64_t value;
		uint8_t bytes[16];
		size_t len;
	} cases[] = {
		{ 0, { 0x03, 0x04, 0x00, 0x00 }, 4 },
		{ 1, { 0x03, 0x04, 0x00, 0x02 }, 4 },
		{ 3, { 0x03, 0x04, 0x00, 0x06 }, 4 },
		{ -1, { 0x03, 0x04, 0x00, 0x01 }, 4 },
		{ -129, { 0x05, 0x04, 0x00, 0xfe, 0x01, 0x01 }, 6 },
		{ 1000, { 0x05, 0x04, 0x00, 0xfe, 0x07, 0xd0 }, 6 },
		{ 63, { 0x03, 0x04, 0x00, 0x7e }, 4 },
		{ 64, { 0x04, 0x04, 0x00, 0xff, 0x80 }, 5 },
		{ -64, { 0x03, 0x04, 0x00, 0x7f }, 4 },
		{ -65, { 0x04, 0x04, 0x00, 0xff, 0x81 }, 5 },
		{ INT64_MAX,
		  { 0x0b, 0x04, 0x00, 0xf8, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe }, 12 },
		{ INT64_MIN,
		  { 0x0b, 0x04, 0x00, 0xf8, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff }, 12 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct lh_gob_encoder enc;
		struct heap_dec h;
		struct lh_error err = { 0 };
		int64_t got = 12345;

		lh_gob_encoder_init(&enc);
		CU_ASSERT_EQUAL(lh_gob_put_int(&enc, cases[i].value), 0);
		check_enc(&enc, cases[i].bytes, cases[i].len);

		heap_dec_init(&h, cases[i].bytes, cases[i].len, 0);
		CU_ASSERT_EQUAL(lh_gob_get_int(&h.dec, &got, &err), 0);
		CU_ASSERT_EQUAL(got, cases[i].value);
		CU_ASSERT_EQUAL(lh_gob_remaining(&h.dec), 0);
		heap_dec_free(&h);
	}
}

static void test_golden_bool(void)
{
	for (int v = 0; v <= 1; v++) {
		const uint8_t want[] = { 0x03, 0x02, 0x00, (uint8_t)v };
		struct lh_gob_encoder enc;
		struct heap_dec h;
		struct lh_error err = { 0 };
		bool got = !v;

		lh_gob_encoder_init(&enc);
		CU_ASSERT_EQUAL(lh_gob_put_bool(&enc, v), 0);
		check_enc(&enc, want, sizeof(want));
		heap_dec_init(&h, want, sizeof(want), 0);
		CU_ASSERT_EQUAL(lh_gob_get_bool(&h.dec, &got, &err), 0);
		CU_ASSERT_EQUAL(got, (bool)v);
		heap_dec_free(&h);
	}
}

static void test_golden_string(void)
{
	struct lh_gob_encoder enc;
	struct heap_dec h;
	struct lh_error err = { 0 };
	char buf[256], big[201];
	uint8_t want[206];

	/* "" and a NULL string are both the empty string. */
	lh_gob_encoder_init(&enc);
	CU_ASSERT_EQUAL(lh_gob_put_string(&enc, ""), 0);
	CU_ASSERT_EQUAL(lh_gob_put_string(&enc, NULL), 0);
	check_enc(&enc, B(0x03, 0x0c, 0x00, 0x00, 0x03, 0x0c, 0x00, 0x00));
	heap_dec_init(&h, B(0x03, 0x0c, 0x00, 0x00), 0);
	strcpy(buf, "junk");
	CU_ASSERT_EQUAL(lh_gob_get_string(&h.dec, buf, sizeof(buf), &err), 0);
	CU_ASSERT_STRING_EQUAL(buf, "");
	heap_dec_free(&h);

	/* 200 bytes: the length needs the two-byte form, body 204 = 0xcc. */
	memset(big, 'x', 200);
	big[200] = '\0';
	memcpy(want, (const uint8_t[]){ 0xff, 0xcc, 0x0c, 0x00, 0xff, 0xc8 }, 6);
	memset(want + 6, 'x', 200);
	lh_gob_encoder_init(&enc);
	CU_ASSERT_EQUAL(lh_gob_put_string(&enc, big), 0);
	check_enc(&enc, want, sizeof(want));
	heap_dec_init(&h, want, sizeof(want), 0);
	CU_ASSERT_EQUAL(lh_gob_get_string(&h.dec, buf, 201, &err), 0);
	CU_ASSERT_STRING_EQUAL(buf, big);
	CU_ASSERT_EQUAL(lh_gob_remaining(&h.dec), 0);
	heap_dec_free(&h);
}

static void test_golden_bytes(void)
{
	struct lh_gob_encoder enc;
	struct heap_dec h;
	struct lh_error err = { 0 };
	uint8_t buf[8];
	const uint8_t *ref = NULL;
	size_t len = 99;

	/* []byte is type 5 (int 0x0a), counted like a string. */
	lh_gob_encoder_init(&enc);
	CU_ASSERT_EQUAL(lh_gob_put_bytes(&enc, "\x01\x00\x03", 3), 0);
	CU_ASSERT_EQUAL(lh_gob_put_bytes(&enc, NULL, 0), 0);
	check_enc(&enc, B(0x06, 0x0a, 0x00, 0x03, 0x01, 0x00, 0x03, 0x03, 0x0a, 0x00, 0x00));

	heap_dec_init(&h, B(0x06, 0x0a, 0x00, 0x03, 0x01, 0x00, 0x03, 0x03, 0x0a, 0x00, 0x00), 0);
	CU_ASSERT_EQUAL(lh_gob_get_bytes(&h.dec, buf, sizeof(buf), &len, &err), 0);
	CU_ASSERT_EQUAL(len, 3);
	CU_ASSERT(memcmp(buf, "\x01\x00\x03", 3) == 0);
	CU_ASSERT_EQUAL(lh_gob_get_bytes_ref(&h.dec, &ref, &len, &err), 0);
	CU_ASSERT_EQUAL(len, 0);
	CU_ASSERT_EQUAL(lh_gob_remaining(&h.dec), 0);
	heap_dec_free(&h);

	/* In place: the reference points into the decoder's buffer. */
	heap_dec_init(&h, B(0x06, 0x0a, 0x00, 0x03, 0x01, 0x00, 0x03), 0);
	CU_ASSERT_EQUAL(lh_gob_get_bytes_ref(&h.dec, &ref, &len, &err), 0);
	CU_ASSERT_EQUAL(len, 3);
	CU_ASSERT_PTR_EQUAL(ref, h.copy + 4);
	heap_dec_free(&h);
}

/* hcsshim's SCSIMount.GobEncode, serial version 1: uint32 serial, string
 * host path, string UVM path, int controller, int32 LUN, bool read-only,
 * string attachment type. Bytes as Go 1.19 writes them. */
static const uint8_t scsimount_v1[] = {
	0x03, 0x06, 0x00, 0x01,
	0x14, 0x0c, 0x00, 0x11, 'C', ':', '\\', 'a', '\\', 's', 'a', 'n', 'd', 'b', 'o', 'x',
	'.', 'v', 'h', 'd', 'x',
	0x0a, 0x0c, 0x00, 0x07, 'C', ':', '\\', 'c', '\\', 'm', '0',
	0x03, 0x04, 0x00, 0x00,
	0x03, 0x04, 0x00, 0x02,
	0x03, 0x02, 0x00, 0x01,
	0x0e, 0x0c, 0x00, 0x0b, 'V', 'i', 'r', 't', 'u', 'a', 'l', 'D', 'i', 's', 'k',
};

static void test_golden_scsimount_v1(void)
{
	const struct lh_gob_codec *c = &lh_gob_codec;
	struct lh_gob_encoder enc;
	struct heap_dec h;
	struct lh_error err = { 0 };
	uint64_t serial = 0;
	int64_t controller = -1, lun = -1;
	bool ro = false;
	char host[64], uvm[64], type[32];

	/* Through the table plugins get, as a backend's encode would. */
	lh_gob_encoder_init(&enc);
	CU_ASSERT_EQUAL(c->put_uint(&enc, 1), 0);
	CU_ASSERT_EQUAL(c->put_string(&enc, "C:\\a\\sandbox.vhdx"), 0);
	CU_ASSERT_EQUAL(c->put_string(&enc, "C:\\c\\m0"), 0);
	CU_ASSERT_EQUAL(c->put_int(&enc, 0), 0);
	CU_ASSERT_EQUAL(c->put_int(&enc, 1), 0);
	CU_ASSERT_EQUAL(c->put_bool(&enc, true), 0);
	CU_ASSERT_EQUAL(c->put_string(&enc, "VirtualDisk"), 0);
	CU_ASSERT(golden_check_bytes("core/scsimount_v1.gob", enc.data, enc.len));
	check_enc(&enc, scsimount_v1, sizeof(scsimount_v1));

	heap_dec_init(&h, scsimount_v1, sizeof(scsimount_v1), 0);
	CU_ASSERT_EQUAL(c->remaining(&h.dec), sizeof(scsimount_v1));
	CU_ASSERT_EQUAL(c->get_uint(&h.dec, &serial, &err), 0);
	CU_ASSERT_EQUAL(c->get_string(&h.dec, host, sizeof(host), &err), 0);
	CU_ASSERT_EQUAL(c->get_string(&h.dec, uvm, sizeof(uvm), &err), 0);
	CU_ASSERT_EQUAL(c->get_int(&h.dec, &controller, &err), 0);
	CU_ASSERT_EQUAL(c->get_int(&h.dec, &lun, &err), 0);
	CU_ASSERT_EQUAL(c->get_bool(&h.dec, &ro, &err), 0);
	CU_ASSERT_EQUAL(c->get_string(&h.dec, type, sizeof(type), &err), 0);
	CU_ASSERT_EQUAL(err.code, 0);
	CU_ASSERT_EQUAL(serial, 1);
	CU_ASSERT_STRING_EQUAL(host, "C:\\a\\sandbox.vhdx");
	CU_ASSERT_STRING_EQUAL(uvm, "C:\\c\\m0");
	CU_ASSERT_EQUAL(controller, 0);
	CU_ASSERT_EQUAL(lun, 1);
	CU_ASSERT_TRUE(ro);
	CU_ASSERT_STRING_EQUAL(type, "VirtualDisk");
	CU_ASSERT_EQUAL(c->remaining(&h.dec), 0);
	heap_dec_free(&h);
}

static void test_encoder_failed_sticks(void)
{
	struct lh_gob_encoder enc;

	lh_gob_encoder_init(&enc);
	CU_ASSERT_EQUAL(lh_gob_put_uint(&enc, 7), 0);
	enc.failed = true;
	CU_ASSERT_EQUAL(lh_gob_put_uint(&enc, 7), -ENOMEM);
	CU_ASSERT_EQUAL(lh_gob_put_string(&enc, "x"), -ENOMEM);
	CU_ASSERT_EQUAL(enc.len, 4);
	lh_gob_encoder_free(&enc);
	lh_gob_encoder_free(NULL);
}

/* ---- strictness ------------------------------------------------------------ */

enum read_kind { READ_UINT, READ_INT, READ_BOOL, READ_STRING, READ_BYTES, READ_BYTES_REF };

static int read_one(struct lh_gob_decoder *dec, enum read_kind kind, size_t cap,
		    struct lh_error *err)
{
	char buf[512];
	uint64_t u;
	int64_t i;
	bool b;
	size_t len;
	const uint8_t *ref;

	if (cap > sizeof(buf))
		cap = sizeof(buf);
	switch (kind) {
	case READ_UINT: return lh_gob_get_uint(dec, &u, err);
	case READ_INT: return lh_gob_get_int(dec, &i, err);
	case READ_BOOL: return lh_gob_get_bool(dec, &b, err);
	case READ_STRING: return lh_gob_get_string(dec, buf, cap, err);
	case READ_BYTES: return lh_gob_get_bytes(dec, buf, cap, &len, err);
	case READ_BYTES_REF: return lh_gob_get_bytes_ref(dec, &ref, &len, err);
	}
	return -1;
}

/*
 * The stream `bad` follows one valid uint message (4 bytes), and the file
 * slice starts at origin 100, so the error must name byte 104 + rel_at.
 */
static void expect_corrupt(const uint8_t *bad, size_t bad_len, enum read_kind kind, size_t cap,
			   size_t rel_at, const char *why)
{
	uint8_t stream[64];
	struct heap_dec h;
	struct lh_error err = { 0 };
	char at[32];
	uint64_t first = 0;

	CU_ASSERT_FATAL(bad_len + 4 <= sizeof(stream));
	memcpy(stream, (const uint8_t[]){ 0x03, 0x06, 0x00, 0x05 }, 4);
	memcpy(stream + 4, bad, bad_len);
	heap_dec_init(&h, stream, bad_len + 4, 100);
	CU_ASSERT_EQUAL(lh_gob_get_uint(&h.dec, &first, &err), 0);
	CU_ASSERT_EQUAL(first, 5);
	CU_ASSERT_EQUAL(read_one(&h.dec, kind, cap, &err), -LH_ECORRUPT);
	CU_ASSERT_EQUAL(err.code, -LH_ECORRUPT);
	snprintf(at, sizeof(at), "at byte %zu", 104 + rel_at);
	ASSERT_MSG_HAS(err, at);
	ASSERT_MSG_HAS(err, why);
	/* A failed read consumes nothing. */
	CU_ASSERT_EQUAL(lh_gob_remaining(&h.dec), bad_len);
	heap_dec_free(&h);
}

static void test_strict_wrong_type(void)
{
	expect_corrupt(B(0x03, 0x06, 0x00, 0x01), READ_INT, 0, 0, "expected int");
	expect_corrupt(B(0x03, 0x04, 0x00, 0x01), READ_UINT, 0, 0, "found int");
	expect_corrupt(B(0x03, 0x04, 0x00, 0x01), READ_BOOL, 0, 0, "expected bool");
	expect_corrupt(B(0x03, 0x0a, 0x00, 0x00), READ_STRING, 16, 0, "expected string");
	expect_corrupt(B(0x03, 0x0c, 0x00, 0x00), READ_BYTES, 16, 0, "expected []byte");
	/* Type 7 is no predefined basic type. */
	expect_corrupt(B(0x03, 0x0e, 0x00, 0x00), READ_UINT, 0, 0, "type 7");
}

static void test_strict_length_past_end(void)
{
	/* Message length 5, 3 bytes left. */
	expect_corrupt(B(0x05, 0x06, 0x00, 0x01), READ_UINT, 0, 0, "past the end");
	/* Message length as a 2-byte uint, only one byte of it present. */
	expect_corrupt(B(0xfe, 0x01), READ_UINT, 0, 0, "past the end");
	/* String count larger than its message. */
	expect_corrupt(B(0x05, 0x0c, 0x00, 0x09, 'a', 'b'), READ_STRING, 64, 4, "does not match");
	expect_corrupt(B(0x05, 0x0a, 0x00, 0x09, 'a', 'b'), READ_BYTES_REF, 0, 4, "past its message");
	/* An integer value that runs past its message. */
	expect_corrupt(B(0x04, 0x06, 0x00, 0xfe, 0x01), READ_UINT, 0, 3, "past the end");
	/* Bytes left over inside a message. */
	expect_corrupt(B(0x04, 0x06, 0x00, 0x01, 0x02), READ_UINT, 0, 4, "unread bytes");
	/* Empty message. */
	expect_corrupt(B(0x00), READ_UINT, 0, 0, "empty message");
	/* Missing singleton tag. */
	expect_corrupt(B(0x03, 0x06, 0x01, 0x01), READ_UINT, 0, 2, "singleton tag");
}

static void test_strict_overlong_integer(void)
{
	/* 0xf7: a 9-byte integer, more than any uint64 needs. */
	expect_corrupt(B(0x0c, 0x06, 0x00, 0xf7, 1, 2, 3, 4, 5, 6, 7, 8, 9), READ_UINT, 0, 3,
		       "longer than 8");
	/* Overlong as a message length too. */
	expect_corrupt(B(0x80, 0x06, 0x00, 0x00), READ_UINT, 0, 0, "longer than 8");
}

static void test_strict_non_minimal(void)
{
	/* 5 fits one byte but is sent in two. */
	expect_corrupt(B(0x05, 0x06, 0x00, 0xfe, 0x00, 0x05), READ_UINT, 0, 3, "shortest form");
	/* 0x7f in the 1-byte-long form. */
	expect_corrupt(B(0x04, 0x06, 0x00, 0xff, 0x7f), READ_UINT, 0, 3, "shortest form");
	/* 256 with a leading zero byte. */
	expect_corrupt(B(0x06, 0x06, 0x00, 0xfd, 0x00, 0x01, 0x00), READ_UINT, 0, 3, "shortest form");
	/* A non-minimal message length. */
	expect_corrupt(B(0xff, 0x03, 0x06, 0x00, 0x01), READ_UINT, 0, 0, "shortest form");
}

static void test_strict_string_bound(void)
{
	/* "hello" needs 6 bytes with its NUL: a 5-byte buffer is too small. */
	expect_corrupt(B(0x08, 0x0c, 0x00, 0x05, 'h', 'e', 'l', 'l', 'o'), READ_STRING, 5, 0,
		       "exceeds the bound");
	expect_corrupt(B(0x08, 0x0a, 0x00, 0x05, 'h', 'e', 'l', 'l', 'o'), READ_BYTES, 4, 0,
		       "exceeds the bound");
	expect_corrupt(B(0x03, 0x0c, 0x00, 0x00), READ_STRING, 0, 0, "no room");

	/* Exactly fitting is fine. */
	{
		struct heap_dec h;
		struct lh_error err = { 0 };
		char buf[6];

		heap_dec_init(&h, B(0x08, 0x0c, 0x00, 0x05, 'h', 'e', 'l', 'l', 'o'), 0);
		CU_ASSERT_EQUAL(lh_gob_get_string(&h.dec, buf, sizeof(buf), &err), 0);
		CU_ASSERT_STRING_EQUAL(buf, "hello");
		heap_dec_free(&h);
	}
}

static void test_strict_nul_in_string(void)
{
	expect_corrupt(B(0x06, 0x0c, 0x00, 0x03, 'a', 0x00, 'b'), READ_STRING, 16, 0, "NUL");
}

static void test_strict_bool_two(void)
{
	expect_corrupt(B(0x03, 0x02, 0x00, 0x02), READ_BOOL, 0, 0, "neither 0 nor 1");
}

static void test_strict_type_definition(void)
{
	/* What gob sends before a []string: type id -65 and its wire type. */
	expect_corrupt(B(0x0c, 0xff, 0x81, 0x02, 0x01, 0x02, 0xff, 0x82, 0x00, 0x01, 0x0c, 0x00, 0x00),
		       READ_STRING, 64, 0, "type definition");
	/* A one-byte negative id (-1). */
	expect_corrupt(B(0x03, 0x01, 0x00, 0x00), READ_UINT, 0, 0, "type definition");
}

/* ---- user types: []string, structs, nested streams --------------------------- */

static const struct lh_gob_field pair_fields[] = {
	{ "On", LH_GOB_BOOL },
	{ "Delta", LH_GOB_INT },
	{ "Count", LH_GOB_UINT },
};
static const struct lh_gob_struct_type pair_type = { "Pair", pair_fields, 3 };

/* What Go 1.19 writes for `type Pair struct{On bool; Delta int; Count uint}`. */
#define PAIR_DEF 0x2d, 0xff, 0x81, 0x03, 0x01, 0x01, 0x04, 'P', 'a', 'i', 'r', 0x01, 0xff, 0x82, \
	0x00, 0x01, 0x03, 0x01, 0x02, 'O', 'n', 0x01, 0x02, 0x00, 0x01, 0x05, 'D', 'e', 'l', 't',   \
	'a', 0x01, 0x04, 0x00, 0x01, 0x05, 'C', 'o', 'u', 'n', 't', 0x01, 0x06, 0x00, 0x00, 0x00
#define STRINGS_DEF 0x0c, 0xff, 0x81, 0x02, 0x01, 0x02, 0xff, 0x82, 0x00, 0x01, 0x0c, 0x00, 0x00

static void test_golden_strings(void)
{
	struct lh_gob_encoder enc;
	const char *const two[] = { "a.txt", "b.txt" };

	/* HCS-FACTS.md: the definition, once per encoder, then each value. */
	lh_gob_encoder_init(&enc);
	CU_ASSERT_EQUAL(lh_gob_put_strings(&enc, NULL, 0), 0);
	CU_ASSERT_EQUAL(lh_gob_put_strings(&enc, two, 2), 0);
	check_enc(&enc, B(STRINGS_DEF, 0x04, 0xff, 0x82, 0x00, 0x00, 0x10, 0xff, 0x82, 0x00, 0x02,
			  0x05, 'a', '.', 't', 'x', 't', 0x05, 'b', '.', 't', 'x', 't'));
	/* Basic values between do not disturb the table. */
	lh_gob_encoder_init(&enc);
	lh_gob_put_uint(&enc, 1);
	lh_gob_put_strings(&enc, two, 1);
	lh_gob_put_string(&enc, "");
	lh_gob_put_strings(&enc, two, 0);
	check_enc(&enc, B(0x03, 0x06, 0x00, 0x01, STRINGS_DEF, 0x0a, 0xff, 0x82, 0x00, 0x01, 0x05,
			  'a', '.', 't', 'x', 't', 0x03, 0x0c, 0x00, 0x00, 0x04, 0xff, 0x82, 0x00, 0x00));
	CU_ASSERT_EQUAL(lh_gob_put_strings(&enc, NULL, 1), -EINVAL);
}

static void test_golden_struct(void)
{
	struct lh_gob_encoder enc;
	union lh_gob_value v[3] = { { .b = true }, { .i = -2 }, { .u = 300 } };
	union lh_gob_value zero[3] = { { .b = false } };

	lh_gob_encoder_init(&enc);
	CU_ASSERT_EQUAL(lh_gob_put_struct(&enc, &pair_type, v), 0);
	CU_ASSERT_EQUAL(lh_gob_put_struct(&enc, &pair_type, zero), 0);
	v[0].b = false;
	CU_ASSERT_EQUAL(lh_gob_put_struct(&enc, &pair_type, v), 0);
	/* Go: fields as (delta, value), zero ones left out, 0 at the end. */
	check_enc(&enc, B(PAIR_DEF, 0x0b, 0xff, 0x82, 0x01, 0x01, 0x01, 0x03, 0x01, 0xfe, 0x01, 0x2c,
			  0x00, 0x03, 0xff, 0x82, 0x00, 0x09, 0xff, 0x82, 0x02, 0x03, 0x01, 0xfe, 0x01,
			  0x2c, 0x00));
	/* A struct and a slice on one encoder: ids in order of first use
	 * (Go 1.19's bytes). */
	lh_gob_encoder_init(&enc);
	lh_gob_put_struct(&enc, &pair_type, zero);
	lh_gob_put_strings(&enc, NULL, 0);
	check_enc(&enc, B(PAIR_DEF, 0x03, 0xff, 0x82, 0x00, 0x0c, 0xff, 0x83, 0x02, 0x01, 0x02,
			  0xff, 0x84, 0x00, 0x01, 0x0c, 0x00, 0x00, 0x04, 0xff, 0x84, 0x00, 0x00));
	/* Descriptors Go could not have: refused. */
	{
		static const struct lh_gob_field dup[] = { { "A", LH_GOB_BOOL }, { "A", LH_GOB_INT } };
		static const struct lh_gob_field str[] = { { "S", LH_GOB_STRING } };
		const struct lh_gob_struct_type bad[] = { { "D", dup, 2 }, { "S", str, 1 },
							  { "E", dup, 0 } };

		for (size_t i = 0; i < 3; i++) {
			lh_gob_encoder_init(&enc);
			CU_ASSERT_EQUAL(lh_gob_put_struct(&enc, &bad[i], v), -EINVAL);
			lh_gob_encoder_free(&enc);
		}
	}
}

static int collect_strings(void *arg, size_t index, const char *value, struct lh_error *err)
{
	char (*out)[32] = arg;

	(void)err;
	if (index < 4)
		snprintf(out[index], sizeof(out[index]), "%s", value);
	return 0;
}

static void test_user_types_read(void)
{
	static const uint8_t data[] = { STRINGS_DEF, 0x04, 0xff, 0x82, 0x00, 0x00, 0x10, 0xff, 0x82,
					0x00, 0x02, 0x05, 'a', '.', 't', 'x', 't', 0x05, 'b', '.',
					't', 'x', 't', PAIR_DEF, 0x0b, 0xff, 0x84, 0x01, 0x01, 0x01,
					0x03, 0x01, 0xfe, 0x01, 0x2c, 0x00 };
	struct heap_dec h;
	struct lh_error err = { 0 };
	union lh_gob_value v[3];
	char got[4][32] = { "" };

	heap_dec_init(&h, data, sizeof(data), 0);
	CU_ASSERT_EQUAL(lh_gob_get_strings(&h.dec, 10, 32, collect_strings, got, &err), 0);
	CU_ASSERT_EQUAL(lh_gob_get_strings(&h.dec, 10, 32, collect_strings, got, &err), 0);
	CU_ASSERT_STRING_EQUAL(got[0], "a.txt");
	CU_ASSERT_STRING_EQUAL(got[1], "b.txt");
	/* The struct's id here is 66, not 65 (its own encoder's): a decoder
	 * takes the ids the stream defines. */
	CU_ASSERT_FATAL(h.copy[35] == 0x2d && h.copy[37] == 0x81 && h.copy[48] == 0x82);
	h.copy[37] = 0x83; /* -66 */
	h.copy[48] = 0x84; /* CommonType.Id 66 */
	CU_ASSERT_EQUAL(lh_gob_get_struct(&h.dec, &pair_type, v, &err), 0);
	if (err.code)
		fprintf(stderr, "%s\n", err.message);
	CU_ASSERT_TRUE(v[0].b);
	CU_ASSERT_EQUAL(v[1].i, -2);
	CU_ASSERT_EQUAL(v[2].u, 300);
	CU_ASSERT_EQUAL(lh_gob_remaining(&h.dec), 0);
	heap_dec_free(&h);
}

/* One read of a user type over `data` fails with `what`, consuming nothing. */
static void expect_user_corrupt(const uint8_t *data, size_t len, bool strings, const char *what)
{
	struct heap_dec h;
	struct lh_error err = { 0 };
	union lh_gob_value v[3];
	char got[4][32];
	int rc;

	heap_dec_init(&h, data, len, 100);
	rc = strings ? lh_gob_get_strings(&h.dec, 10, 32, collect_strings, got, &err)
		     : lh_gob_get_struct(&h.dec, &pair_type, v, &err);
	CU_ASSERT_EQUAL(rc, -LH_ECORRUPT);
	CU_ASSERT_EQUAL(h.dec.pos, 0);
	CU_ASSERT_EQUAL(h.dec.n_types, 0);
	if (!strstr(err.message, what) || !strstr(err.message, "at byte 1"))
		fprintf(stderr, "\n  want '%s', got '%s'\n", what, err.message);
	CU_ASSERT(strstr(err.message, what) != NULL);
	heap_dec_free(&h);
}

#define USER_CORRUPT(strings, what, ...) expect_user_corrupt(B(__VA_ARGS__), strings, what)

static void test_strict_user_types(void)
{
	/* A value whose type was never defined, or of a basic type. */
	USER_CORRUPT(true, "not defined", 0x04, 0xff, 0x82, 0x00, 0x00);
	USER_CORRUPT(true, "expected []string, found string", 0x03, 0x0c, 0x00, 0x00);
	/* Ids below 64 are gob's own; one id defined twice. */
	USER_CORRUPT(true, "gob's own", 0x0b, 0x7d, 0x02, 0x01, 0x02, 0x7e, 0x00, 0x01, 0x0c, 0x00,
		     0x00, 0x04, 0x7e, 0x00, 0x00);
	USER_CORRUPT(true, "defined twice", STRINGS_DEF, STRINGS_DEF, 0x04, 0xff, 0x82, 0x00, 0x00);
	/* A map, an array: not spoken. */
	USER_CORRUPT(true, "a map type", 0x05, 0xff, 0x81, 0x04, 0x00, 0x00);
	USER_CORRUPT(true, "an array type", 0x05, 0xff, 0x81, 0x01, 0x00, 0x00);
	/* A definition naming another id than its own. */
	USER_CORRUPT(true, "names itself", 0x0c, 0xff, 0x81, 0x02, 0x01, 0x02, 0xff, 0x84, 0x00, 0x01,
		     0x0c, 0x00, 0x00);
	/* A []int is not a []string. */
	USER_CORRUPT(true, "expected []string, found slice", 0x0c, 0xff, 0x81, 0x02, 0x01, 0x02,
		     0xff, 0x82, 0x00, 0x01, 0x04, 0x00, 0x00, 0x04, 0xff, 0x82, 0x00, 0x00);
	/* More elements than allowed, and longer than the bound. */
	{
		uint8_t big[64] = { STRINGS_DEF, 0x0f, 0xff, 0x82, 0x00, 0x0b };

		memset(big + 19, 0, 11);
		expect_user_corrupt(big, 30, true, "elements");
	}
	/* A struct: a field with its zero value, a bool of 2, a delta past
	 * the fields, another type's name, a field it does not have. */
	USER_CORRUPT(false, "zero value", PAIR_DEF, 0x05, 0xff, 0x82, 0x01, 0x00, 0x00);
	USER_CORRUPT(false, "neither 0 nor 1", PAIR_DEF, 0x05, 0xff, 0x82, 0x01, 0x02, 0x00);
	USER_CORRUPT(false, "runs past the 3 fields", PAIR_DEF, 0x05, 0xff, 0x82, 0x04, 0x01, 0x00);
	USER_CORRUPT(false, "expected struct Pair", 0x2d, 0xff, 0x81, 0x03, 0x01, 0x01, 0x04, 'P',
		     'a', 'i', 'x', 0x01, 0xff, 0x82, 0x00, 0x01, 0x03, 0x01, 0x02, 'O', 'n', 0x01,
		     0x02, 0x00, 0x01, 0x05, 'D', 'e', 'l', 't', 'a', 0x01, 0x04, 0x00, 0x01, 0x05,
		     'C', 'o', 'u', 'n', 't', 0x01, 0x06, 0x00, 0x00, 0x00, 0x03, 0xff, 0x82, 0x00);
	USER_CORRUPT(false, "has no field 'Ox'", 0x2d, 0xff, 0x81, 0x03, 0x01, 0x01, 0x04, 'P', 'a',
		     'i', 'r', 0x01, 0xff, 0x82, 0x00, 0x01, 0x03, 0x01, 0x02, 'O', 'x', 0x01, 0x02,
		     0x00, 0x01, 0x05, 'D', 'e', 'l', 't', 'a', 0x01, 0x04, 0x00, 0x01, 0x05, 'C',
		     'o', 'u', 'n', 't', 0x01, 0x06, 0x00, 0x00, 0x00, 0x03, 0xff, 0x82, 0x00);
	USER_CORRUPT(false, "is string, expected bool", 0x2d, 0xff, 0x81, 0x03, 0x01, 0x01, 0x04,
		     'P', 'a', 'i', 'r', 0x01, 0xff, 0x82, 0x00, 0x01, 0x03, 0x01, 0x02, 'O', 'n',
		     0x01, 0x0c, 0x00, 0x01, 0x05, 'D', 'e', 'l', 't', 'a', 0x01, 0x04, 0x00, 0x01,
		     0x05, 'C', 'o', 'u', 'n', 't', 0x01, 0x06, 0x00, 0x00, 0x00, 0x03, 0xff, 0x82,
		     0x00);
	/* A descriptor Go could not have: the caller's fault, not the data's. */
	{
		static const struct lh_gob_field none[] = { { "A", LH_GOB_STRING } };
		const struct lh_gob_struct_type bad = { "Bad", none, 1 };
		struct lh_error err = { 0 };
		struct lh_gob_decoder dec;
		union lh_gob_value v[1];

		lh_gob_decoder_init(&dec, (const uint8_t[]){ 0x03, 0x06, 0x00, 0x00 }, 4, 0);
		CU_ASSERT_EQUAL(lh_gob_get_struct(&dec, &bad, v, &err), -EINVAL);
		CU_ASSERT_EQUAL(dec.pos, 0);
	}
	/* A struct value read as a []string and the reverse. */
	USER_CORRUPT(true, "expected []string, found struct", PAIR_DEF, 0x03, 0xff, 0x82, 0x00);
	USER_CORRUPT(false, "expected Pair, found slice", STRINGS_DEF, 0x04, 0xff, 0x82, 0x00, 0x00);
}

/* Every cut of a stream with definitions fails cleanly. */
static void test_user_types_truncation(void)
{
	static const uint8_t data[] = { STRINGS_DEF, 0x0a, 0xff, 0x82, 0x00, 0x01, 0x05, 'a', '.',
					't', 'x', 't', PAIR_DEF, 0x0b, 0xff, 0x82, 0x01, 0x01, 0x01,
					0x03, 0x01, 0xfe, 0x01, 0x2c, 0x00 };
	size_t split = 13 + 11;

	for (size_t cut = 0; cut < sizeof(data); cut++) {
		struct heap_dec h;
		struct lh_error err = { 0 };
		union lh_gob_value v[3];
		char got[4][32];
		int rc;

		if (cut < split) {
			heap_dec_init(&h, data, cut, 0);
			rc = lh_gob_get_strings(&h.dec, 10, 32, collect_strings, got, &err);
		} else {
			heap_dec_init(&h, data + split, cut - split, 0);
			rc = lh_gob_get_struct(&h.dec, &pair_type, v, &err);
		}
		CU_ASSERT_EQUAL(rc, -LH_ECORRUPT);
		CU_ASSERT_EQUAL(h.dec.pos, 0);
		heap_dec_free(&h);
	}
}

static void test_nested_stream(void)
{
	struct lh_gob_encoder *inner = lh_gob_encoder_new(), outer;
	struct lh_gob_decoder dec, *in = NULL;
	struct lh_error err = { 0 };
	const char *const one[] = { "x" };
	char got[4][32];
	char text[8];
	uint64_t u;

	CU_ASSERT_FATAL(inner != NULL);
	lh_gob_encoder_init(&outer);
	lh_gob_put_strings(&outer, one, 1);
	lh_gob_put_strings(inner, one, 1); /* the inner stream defines it again */
	lh_gob_put_string(inner, "in");
	CU_ASSERT_EQUAL(lh_gob_put_stream(&outer, inner), 0);
	lh_gob_put_uint(&outer, 7);
	lh_gob_encoder_destroy(inner);

	lh_gob_decoder_init(&dec, outer.data, outer.len, 1000);
	dec.version = 9;
	CU_ASSERT_EQUAL(lh_gob_get_strings(&dec, 1, 32, collect_strings, got, &err), 0);
	CU_ASSERT_EQUAL_FATAL(lh_gob_get_stream(&dec, &in, &err), 0);
	CU_ASSERT_EQUAL(lh_gob_version(in), 9);
	CU_ASSERT_EQUAL(in->n_types, 0);
	CU_ASSERT_EQUAL(lh_gob_get_strings(in, 1, 32, collect_strings, got, &err), 0);
	CU_ASSERT_STRING_EQUAL(got[0], "x");
	/* Errors inside name file offsets. */
	CU_ASSERT_EQUAL(lh_gob_get_uint(in, &u, &err), -LH_ECORRUPT);
	CU_ASSERT(strstr(err.message, "at byte 1") != NULL);
	CU_ASSERT_EQUAL(lh_gob_get_string(in, text, sizeof(text), &err), 0);
	CU_ASSERT_EQUAL(lh_gob_remaining(in), 0);
	lh_gob_decoder_destroy(in);
	CU_ASSERT_EQUAL(lh_gob_get_uint(&dec, &u, &err), 0);
	CU_ASSERT_EQUAL(u, 7);
	lh_gob_encoder_free(&outer);
	lh_gob_decoder_destroy(NULL);
	lh_gob_encoder_destroy(NULL);
}

/* Every prefix of a valid stream errors somewhere, never crashes. */
static void test_truncation_every_byte(void)
{
	static const enum read_kind plan[] = {
		READ_UINT, READ_STRING, READ_STRING, READ_INT, READ_INT, READ_BOOL, READ_STRING,
		READ_UINT, READ_INT, READ_BYTES, READ_STRING,
	};
	struct lh_gob_encoder enc;
	char long_text[300];

	memset(long_text, 'q', sizeof(long_text) - 1);
	long_text[sizeof(long_text) - 1] = '\0';
	lh_gob_encoder_init(&enc);
	/* The SCSIMount sequence, then wide values of each type. */
	lh_gob_put_uint(&enc, 1);
	lh_gob_put_string(&enc, "C:\\a\\sandbox.vhdx");
	lh_gob_put_string(&enc, "C:\\c\\m0");
	lh_gob_put_int(&enc, 0);
	lh_gob_put_int(&enc, 1);
	lh_gob_put_bool(&enc, true);
	lh_gob_put_string(&enc, "VirtualDisk");
	lh_gob_put_uint(&enc, UINT64_MAX);
	lh_gob_put_int(&enc, INT64_MIN);
	lh_gob_put_bytes(&enc, "\x00\x01\x02\x03\x04\x05\x06\x07", 8);
	lh_gob_put_string(&enc, long_text);
	CU_ASSERT_FATAL(!enc.failed);

	for (size_t cut = 0; cut <= enc.len; cut++) {
		struct heap_dec h;
		struct lh_error err = { 0 };
		int rc = 0;

		heap_dec_init(&h, enc.data, cut, 0);
		for (size_t i = 0; rc == 0 && i < sizeof(plan) / sizeof(plan[0]); i++)
			rc = read_one(&h.dec, plan[i], sizeof(long_text), &err);
		if (cut == enc.len) {
			CU_ASSERT_EQUAL(rc, 0);
			CU_ASSERT_EQUAL(lh_gob_remaining(&h.dec), 0);
		} else {
			CU_ASSERT_EQUAL(rc, -LH_ECORRUPT);
			CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "at byte "));
			CU_ASSERT(lh_gob_remaining(&h.dec) <= cut);
		}
		heap_dec_free(&h);
	}
	lh_gob_encoder_free(&enc);
}

/* ---- random round trips against a reference encoder ------------------------ */

/* xorshift64*: a fixed seed keeps failures reproducible. */
static uint64_t rng_next(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dull;
}

/* The spec, written independently of gob.c: uint(x), int(i), message. */
static size_t ref_uint(uint8_t *out, uint64_t x)
{
	uint8_t tmp[8];
	size_t n = 0;

	if (x < 0x80) {
		out[0] = (uint8_t)x;
		return 1;
	}
	while (x) {
		tmp[n++] = (uint8_t)(x & 0xff);
		x >>= 8;
	}
	out[0] = (uint8_t)(0x100 - n);
	for (size_t i = 0; i < n; i++)
		out[1 + i] = tmp[n - 1 - i];
	return 1 + n;
}

static size_t ref_int(uint8_t *out, int64_t i)
{
	uint64_t u = i < 0 ? (~(uint64_t)i << 1) | 1 : (uint64_t)i << 1;

	return ref_uint(out, u);
}

/* Append one message to buf at *len: uint(len(body)) int(type) 00 value. */
static void ref_message(uint8_t *buf, size_t *len, int type, const uint8_t *value, size_t vlen)
{
	uint8_t body[1024];
	size_t blen = ref_int(body, type);

	body[blen++] = 0;
	memcpy(body + blen, value, vlen);
	blen += vlen;
	*len += ref_uint(buf + *len, blen);
	memcpy(buf + *len, body, blen);
	*len += blen;
}

struct rt_value {
	int kind; /* 0 uint, 1 int, 2 bool, 3 string, 4 bytes */
	uint64_t u;
	int64_t i;
	bool b;
	char s[200];
	size_t slen;
};

static uint64_t random_wide(uint64_t *seed)
{
	static const uint64_t edges[] = {
		0, 1, 127, 128, 255, 256, 65535, 65536, 0xffffffffull, 0x100000000ull,
		INT64_MAX, (uint64_t)INT64_MAX + 1, UINT64_MAX, UINT64_MAX - 1,
	};
	uint64_t r = rng_next(seed);

	switch (r % 4) {
	case 0: return edges[(r >> 8) % (sizeof(edges) / sizeof(edges[0]))];
	case 1: return rng_next(seed) >> (rng_next(seed) % 64); /* every width */
	default: return rng_next(seed);
	}
}

static void random_value(uint64_t *seed, struct rt_value *v)
{
	memset(v, 0, sizeof(*v));
	v->kind = (int)(rng_next(seed) % 5);
	switch (v->kind) {
	case 0: v->u = random_wide(seed); break;
	case 1: v->i = (int64_t)random_wide(seed); break;
	case 2: v->b = rng_next(seed) & 1; break;
	default:
		v->slen = rng_next(seed) % (rng_next(seed) & 1 ? 8 : sizeof(v->s));
		for (size_t k = 0; k < v->slen; k++) {
			uint8_t c = (uint8_t)rng_next(seed);

			/* Strings are NUL-free; bytes may hold anything. */
			v->s[k] = (char)(v->kind == 3 && c == 0 ? 'z' : c);
		}
		break;
	}
}

static void test_random_round_trip(void)
{
	enum { N = 4000 };
	struct rt_value *values = calloc(N, sizeof(*values));
	uint8_t *ref = malloc((size_t)N * 220);
	size_t ref_len = 0, mismatches = 0;
	uint64_t seed = 0x6c617965726f7374ull;
	struct lh_gob_encoder enc;
	struct heap_dec h;
	struct lh_error err = { 0 };

	CU_ASSERT_FATAL(values && ref);
	lh_gob_encoder_init(&enc);
	for (size_t n = 0; n < N; n++) {
		struct rt_value *v = &values[n];
		uint8_t val[256];
		size_t vlen = 0;
		char cstr[201];

		random_value(&seed, v);
		switch (v->kind) {
		case 0:
			lh_gob_put_uint(&enc, v->u);
			ref_message(ref, &ref_len, 3, val, ref_uint(val, v->u));
			break;
		case 1:
			lh_gob_put_int(&enc, v->i);
			ref_message(ref, &ref_len, 2, val, ref_int(val, v->i));
			break;
		case 2:
			lh_gob_put_bool(&enc, v->b);
			val[0] = v->b;
			ref_message(ref, &ref_len, 1, val, 1);
			break;
		default:
			vlen = ref_uint(val, v->slen);
			memcpy(val + vlen, v->s, v->slen);
			if (v->kind == 3) {
				memcpy(cstr, v->s, v->slen);
				cstr[v->slen] = '\0';
				lh_gob_put_string(&enc, cstr);
				ref_message(ref, &ref_len, 6, val, vlen + v->slen);
			} else {
				lh_gob_put_bytes(&enc, v->s, v->slen);
				ref_message(ref, &ref_len, 5, val, vlen + v->slen);
			}
			break;
		}
	}
	CU_ASSERT_FATAL(!enc.failed);
	CU_ASSERT(bytes_equal(enc.data, enc.len < 64 ? enc.len : 64, ref, ref_len < 64 ? ref_len : 64));
	CU_ASSERT_EQUAL(enc.len, ref_len);
	CU_ASSERT(enc.len == ref_len && memcmp(enc.data, ref, ref_len) == 0);

	heap_dec_init(&h, enc.data, enc.len, 0);
	for (size_t n = 0; n < N; n++) {
		struct rt_value *v = &values[n];
		uint64_t u = 0;
		int64_t i = 0;
		bool b = false;
		char s[201];
		size_t len = 0;
		int rc = -1;

		switch (v->kind) {
		case 0:
			rc = lh_gob_get_uint(&h.dec, &u, &err);
			mismatches += rc || u != v->u;
			break;
		case 1:
			rc = lh_gob_get_int(&h.dec, &i, &err);
			mismatches += rc || i != v->i;
			break;
		case 2:
			rc = lh_gob_get_bool(&h.dec, &b, &err);
			mismatches += rc || b != v->b;
			break;
		case 3:
			rc = lh_gob_get_string(&h.dec, s, sizeof(s), &err);
			mismatches += rc || strlen(s) != v->slen || memcmp(s, v->s, v->slen);
			break;
		default:
			rc = lh_gob_get_bytes(&h.dec, s, sizeof(s), &len, &err);
			mismatches += rc || len != v->slen || memcmp(s, v->s, v->slen);
			break;
		}
		if (rc) {
			fprintf(stderr, "\n  value %zu: %s\n", n, err.message);
			break;
		}
	}
	CU_ASSERT_EQUAL(mismatches, 0);
	CU_ASSERT_EQUAL(lh_gob_remaining(&h.dec), 0);
	heap_dec_free(&h);
	lh_gob_encoder_free(&enc);
	free(ref);
	free(values);
}

int main(void)
{
	static const struct cutest_case cases[] = {
		{ "golden uint", test_golden_uint },
		{ "golden int", test_golden_int },
		{ "golden bool", test_golden_bool },
		{ "golden string", test_golden_string },
		{ "golden bytes", test_golden_bytes },
		{ "golden SCSIMount v1", test_golden_scsimount_v1 },
		{ "encoder failure sticks", test_encoder_failed_sticks },
		{ "strict: wrong type id", test_strict_wrong_type },
		{ "strict: length past the end", test_strict_length_past_end },
		{ "strict: overlong integer", test_strict_overlong_integer },
		{ "strict: non-minimal integer", test_strict_non_minimal },
		{ "strict: string past the bound", test_strict_string_bound },
		{ "strict: NUL in a string", test_strict_nul_in_string },
		{ "strict: bool value 2", test_strict_bool_two },
		{ "strict: type definition", test_strict_type_definition },
		{ "truncation at every byte", test_truncation_every_byte },
		{ "golden []string", test_golden_strings },
		{ "golden struct", test_golden_struct },
		{ "user types read", test_user_types_read },
		{ "strict: user types", test_strict_user_types },
		{ "user types: truncation at every byte", test_user_types_truncation },
		{ "nested stream", test_nested_stream },
		{ "random round trip vs reference", test_random_round_trip },
		{ NULL, NULL },
	};

	return cutest_run("gob", cases, NULL);
}
