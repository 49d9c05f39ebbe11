/*
 * fuzz_gob.c - libFuzzer target for the gob decoder.
 *
 * Input: byte 0 gives the number of reads n (mod 33), the next n bytes one
 * read each (kind = op & 7: uint, int, bool, string, bytes, bytes in place,
 * []string, a struct of a bool, an int and a uint; bound = (op >> 3) * 9
 * for strings and bytes, the element count and each element's bound of a
 * []string), the rest is the stream. Oracles: a failed read is
 * -LH_ECORRUPT naming a byte inside the stream and consumes nothing (nor
 * keeps a type definition); a successful basic read consumed exactly the
 * bytes the encoder writes for the value it returned (the decoder only
 * accepts the one canonical form); a []string or struct read ends with the
 * value message the encoder writes for what it returned under the id the
 * stream gave it, and what it returned reads back the same from a fresh
 * encoder's bytes.
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
	FUZZ_CHECK(dec->n_types <= LH_GOB_MAX_TYPES);
	FUZZ_CHECK(at && sscanf(at, "at byte %llu", &where) == 1);
	FUZZ_CHECK(where >= dec->origin + before && where <= dec->origin + dec->len);
}

static const struct lh_gob_field fuzz_fields[] = {
	{ "On", LH_GOB_BOOL },
	{ "Delta", LH_GOB_INT },
	{ "Count", LH_GOB_UINT },
};
static const struct lh_gob_struct_type fuzz_type = { "Pair", fuzz_fields, 3 };

struct fuzz_strings {
	char values[32][300];
	size_t n;
};

static int fuzz_collect(void *arg, size_t index, const char *value, struct lh_error *err)
{
	struct fuzz_strings *out = arg;

	(void)err;
	FUZZ_CHECK(index == out->n && index < 32 && strlen(value) < 300);
	snprintf(out->values[out->n++], 300, "%s", value);
	return 0;
}

/* The id of the value message that ends [from, to) (Go's layout: the
 * last message of a user-type read is its value). */
static uint64_t fuzz_last_id(const struct lh_gob_decoder *dec, size_t from, size_t to,
			     size_t *value_at)
{
	struct lh_gob_decoder walk;
	uint64_t id = 0;

	lh_gob_decoder_init(&walk, dec->data + from, to - from, 0);
	while (walk.pos < walk.len) {
		size_t at = walk.pos, p = at;
		uint64_t len = 0, wire = 0;

		/* Lengths were checked by the read: plain parsing suffices. */
		for (int pass = 0; pass < 2; pass++) {
			uint8_t b = walk.data[p];
			uint64_t x = 0;

			if (b < 128) {
				x = b;
				p++;
			} else {
				for (size_t i = 0; i < (size_t)(256 - b); i++)
					x = (x << 8) | walk.data[p + 1 + i];
				p += 1 + (size_t)(256 - b);
			}
			if (pass == 0) {
				len = x;
				walk.pos = p + (size_t)len;
			} else {
				wire = x;
			}
		}
		if (!(wire & 1)) {
			id = wire >> 1;
			*value_at = from + at;
		}
	}
	return id;
}

/* A user-type read that succeeded: the value message is the encoder's for
 * what was read, and a fresh encoding reads back the same. */
static void fuzz_check_user(const struct lh_gob_decoder *dec, size_t before, unsigned kind,
			    const struct fuzz_strings *strs, const union lh_gob_value *v,
			    size_t cap)
{
	struct lh_gob_encoder enc;
	struct lh_gob_decoder again;
	struct fuzz_strings strs2 = { .n = 0 };
	union lh_gob_value v2[3];
	const char *ptrs[32];
	size_t value_at = 0, def_len, value_len;
	uint64_t id = fuzz_last_id(dec, before, dec->pos, &value_at);

	FUZZ_CHECK(id >= LH_GOB_MIN_USER_ID);
	for (size_t i = 0; i < strs->n; i++)
		ptrs[i] = strs->values[i];
	lh_gob_encoder_init(&enc);
	if (kind == 6)
		FUZZ_CHECK(lh_gob_put_strings(&enc, ptrs, strs->n) == 0);
	else
		FUZZ_CHECK(lh_gob_put_struct(&enc, &fuzz_type, v) == 0);
	FUZZ_CHECK(!enc.failed);
	/* The fresh encoder's value message is its second: find it. */
	{
		size_t dummy = 0;

		lh_gob_decoder_init(&again, enc.data, enc.len, 0);
		(void)fuzz_last_id(&again, 0, enc.len, &dummy);
		def_len = dummy;
	}
	value_len = enc.len - def_len;
	/* Equal but for the id, which the stream chose. */
	if (id == LH_GOB_FIRST_ID) {
		FUZZ_CHECK(dec->pos - value_at == value_len);
		FUZZ_CHECK(memcmp(dec->data + value_at, enc.data + def_len, value_len) == 0);
	}
	lh_gob_decoder_init(&again, enc.data, enc.len, 0);
	if (kind == 6) {
		FUZZ_CHECK(lh_gob_get_strings(&again, 32, cap, fuzz_collect, &strs2, NULL) == 0);
		FUZZ_CHECK(strs2.n == strs->n);
		for (size_t i = 0; i < strs->n; i++)
			FUZZ_CHECK(strcmp(strs2.values[i], strs->values[i]) == 0);
	} else {
		FUZZ_CHECK(lh_gob_get_struct(&again, &fuzz_type, v2, NULL) == 0);
		FUZZ_CHECK(v2[0].b == v[0].b && v2[1].i == v[1].i && v2[2].u == v[2].u);
	}
	FUZZ_CHECK(lh_gob_remaining(&again) == 0);
	lh_gob_encoder_free(&enc);
}

/* One read; returns 0 to go on, 1 after a (checked) failure. */
static int fuzz_read(struct lh_gob_decoder *dec, uint8_t op)
{
	unsigned kind = op & 7u;
	size_t cap = (size_t)(op >> 3) * 9, before = dec->pos, len = 0;
	struct lh_gob_encoder enc;
	struct lh_error err = { 0 };
	uint8_t buf[300];
	const uint8_t *ref = NULL;
	uint64_t u = 0;
	int64_t i = 0;
	bool b = false;
	struct fuzz_strings *strs = NULL;
	union lh_gob_value v[3];
	int rc;

	if (kind >= 6) {
		size_t n_types = dec->n_types, bound = cap < 32 ? cap : 32;

		strs = calloc(1, sizeof(*strs));
		FUZZ_CHECK(strs != NULL);
		rc = kind == 6 ? lh_gob_get_strings(dec, bound, cap < 300 ? cap : 300, fuzz_collect,
						    strs, &err)
			       : lh_gob_get_struct(dec, &fuzz_type, v, &err);
		if (rc) {
			FUZZ_CHECK(dec->n_types == n_types);
			fuzz_check_error(dec, before, rc, &err);
		} else {
			FUZZ_CHECK(dec->pos > before);
			fuzz_check_user(dec, before, kind, strs, v, cap < 300 ? cap : 300);
		}
		free(strs);
		return rc ? 1 : 0;
	}
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
