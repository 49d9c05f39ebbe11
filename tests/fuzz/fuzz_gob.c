/*
 * fuzz_gob.c - libFuzzer target for the gob decoder.
 *
 * Input: byte 0 gives the number of reads n (mod 33), the next n bytes one
 * read each (kind = (op & 7) % 6: uint, int, bool, string, bytes, bytes in
 * place; bound = (op >> 3) * 9 for strings and bytes), the rest is the
 * stream. Oracles: a failed read is -LH_ECORRUPT naming a byte inside the
 * stream and consumes nothing; a successful read consumed exactly the bytes
 * the encoder writes for the value it returned (the decoder only accepts
 * the one canonical form).
 */
#include "fuzz_check.h"
#include "gob.h"

#include <stdio.h>
#include <stdlib.h>

static void fuzz_check_error(const struct lh_gob_decoder *dec, size_t before, int rc,
			     const struct lh_error *err)
{
	const char *at = strstr(err->message, "at byte ");
	unsigned long long where;

	FUZZ_CHECK(rc == -LH_ECORRUPT && err->code == rc);
	FUZZ_CHECK(dec->pos == before);
	FUZZ_CHECK(at && sscanf(at, "at byte %llu", &where) == 1);
	FUZZ_CHECK(where >= dec->origin + before && where <= dec->origin + dec->len);
}

/* One read; returns 0 to go on, 1 after a (checked) failure. */
static int fuzz_read(struct lh_gob_decoder *dec, uint8_t op)
{
	static const unsigned kinds = 6;
	unsigned kind = (op & 7u) % kinds;
	size_t cap = (size_t)(op >> 3) * 9, before = dec->pos, len = 0;
	struct lh_gob_encoder enc;
	struct lh_error err = { 0 };
	uint8_t buf[300];
	const uint8_t *ref = NULL;
	uint64_t u = 0;
	int64_t i = 0;
	bool b = false;
	int rc;

	switch (kind) {
	case 0: rc = lh_gob_get_uint(dec, &u, &err); break;
	case 1: rc = lh_gob_get_int(dec, &i, &err); break;
	case 2: rc = lh_gob_get_bool(dec, &b, &err); break;
	case 3: rc = lh_gob_get_string(dec, (char *)buf, cap, &err); break;
	case 4: rc = lh_gob_get_bytes(dec, buf, cap, &len, &err); break;
	default: rc = lh_gob_get_bytes_ref(dec, &ref, &len, &err); break;
	}
	if (rc) {
		fuzz_check_error(dec, before, rc, &err);
		return 1;
	}
	lh_gob_encoder_init(&enc);
	switch (kind) {
	case 0: lh_gob_put_uint(&enc, u); break;
	case 1: lh_gob_put_int(&enc, i); break;
	case 2: lh_gob_put_bool(&enc, b); break;
	case 3:
		FUZZ_CHECK(strlen((char *)buf) < cap);
		lh_gob_put_string(&enc, (char *)buf);
		break;
	case 4:
		FUZZ_CHECK(len <= cap);
		lh_gob_put_bytes(&enc, buf, len);
		break;
	default:
		FUZZ_CHECK(ref >= dec->data && ref + len <= dec->data + dec->len);
		lh_gob_put_bytes(&enc, ref, len);
		break;
	}
	FUZZ_CHECK(!enc.failed);
	FUZZ_CHECK(enc.len == dec->pos - before);
	FUZZ_CHECK(memcmp(enc.data, dec->data + before, enc.len) == 0);
	lh_gob_encoder_free(&enc);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lh_gob_decoder dec;
	size_t n_ops;

	if (size < 1)
		return 0;
	n_ops = data[0] % 33u;
	if (size < 1 + n_ops)
		return 0;
	lh_gob_decoder_init(&dec, data + 1 + n_ops, size - 1 - n_ops, 1 + n_ops);
	for (size_t k = 0; k < n_ops; k++)
		if (fuzz_read(&dec, data[1 + k]))
			break;
	FUZZ_CHECK(lh_gob_remaining(&dec) <= dec.len);
	return 0;
}
