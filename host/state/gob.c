/* gob.c - see gob.h. */
#include "gob.h"

#include <errno.h>
#include <stdlib.h>

/* A uint never takes more than 1 + 8 bytes; a message header (length) the
 * same; type id and delta tag one byte each for the predefined types. */
#define GOB_UINT_MAX_BYTES 9

static const char *gob_type_name(uint64_t id)
{
	switch (id) {
	case LH_GOB_BOOL: return "bool";
	case LH_GOB_INT: return "int";
	case LH_GOB_UINT: return "uint";
	case LH_GOB_BYTES: return "[]byte";
	case LH_GOB_STRING: return "string";
	default: return "unknown type";
	}
}

void lh_gob_encoder_init(struct lh_gob_encoder *enc)
{
	memset(enc, 0, sizeof(*enc));
}

void lh_gob_encoder_free(struct lh_gob_encoder *enc)
{
	if (!enc)
		return;
	free(enc->data);
	memset(enc, 0, sizeof(*enc));
}

static int gob_reserve(struct lh_gob_encoder *enc, size_t extra)
{
	size_t want, cap;
	uint8_t *grown;

	if (enc->failed)
		return -ENOMEM;
	if (extra <= enc->cap - enc->len)
		return 0;
	if (extra > SIZE_MAX / 2 - enc->len)
		goto fail;
	want = enc->len + extra;
	cap = enc->cap ? enc->cap : 256;
	while (cap < want)
		cap *= 2;
	grown = realloc(enc->data, cap);
	if (!grown)
		goto fail;
	enc->data = grown;
	enc->cap = cap;
	return 0;
fail:
	enc->failed = true;
	return -ENOMEM;
}

/* Encode x as a gob uint into out (at least GOB_UINT_MAX_BYTES). */
static size_t gob_uint_bytes(uint64_t x, uint8_t *out)
{
	size_t n = 0, i;

	if (x < 128) {
		out[0] = (uint8_t)x;
		return 1;
	}
	for (uint64_t v = x; v; v >>= 8)
		n++;
	out[0] = (uint8_t)(256 - n);
	for (i = 0; i < n; i++)
		out[1 + i] = (uint8_t)(x >> (8 * (n - 1 - i)));
	return 1 + n;
}

static uint64_t gob_int_to_uint(int64_t i)
{
	return i < 0 ? ((~(uint64_t)i) << 1) | 1 : (uint64_t)i << 1;
}

/* Append one message: uint(len) int(type) 0x00 value. */
static int gob_put_message(struct lh_gob_encoder *enc, enum lh_gob_type type,
			   const uint8_t *head, size_t head_len, const void *tail, size_t tail_len)
{
	uint8_t len_bytes[GOB_UINT_MAX_BYTES];
	uint8_t type_bytes[GOB_UINT_MAX_BYTES];
	size_t type_len = gob_uint_bytes(gob_int_to_uint(type), type_bytes);
	size_t body = type_len + 1 + head_len + tail_len;
	size_t len_len;
	int rc;

	if (tail_len > SIZE_MAX / 2) {
		enc->failed = true;
		return -ENOMEM;
	}
	len_len = gob_uint_bytes(body, len_bytes);
	rc = gob_reserve(enc, len_len + body);
	if (rc)
		return rc;
	memcpy(enc->data + enc->len, len_bytes, len_len);
	enc->len += len_len;
	memcpy(enc->data + enc->len, type_bytes, type_len);
	enc->len += type_len;
	enc->data[enc->len++] = 0; /* singleton delta tag */
	memcpy(enc->data + enc->len, head, head_len);
	enc->len += head_len;
	if (tail_len)
		memcpy(enc->data + enc->len, tail, tail_len);
	enc->len += tail_len;
	return 0;
}

int lh_gob_put_uint(struct lh_gob_encoder *enc, uint64_t value)
{
	uint8_t v[GOB_UINT_MAX_BYTES];

	return gob_put_message(enc, LH_GOB_UINT, v, gob_uint_bytes(value, v), NULL, 0);
}

int lh_gob_put_int(struct lh_gob_encoder *enc, int64_t value)
{
	uint8_t v[GOB_UINT_MAX_BYTES];

	return gob_put_message(enc, LH_GOB_INT, v, gob_uint_bytes(gob_int_to_uint(value), v),
			       NULL, 0);
}

int lh_gob_put_bool(struct lh_gob_encoder *enc, bool value)
{
	uint8_t v = value ? 1 : 0;

	return gob_put_message(enc, LH_GOB_BOOL, &v, 1, NULL, 0);
}

static int gob_put_counted(struct lh_gob_encoder *enc, enum lh_gob_type type,
			   const void *data, size_t len)
{
	uint8_t n[GOB_UINT_MAX_BYTES];

	return gob_put_message(enc, type, n, gob_uint_bytes(len, n), data, len);
}

int lh_gob_put_string(struct lh_gob_encoder *enc, const char *value)
{
	if (!value)
		value = "";
	return gob_put_counted(enc, LH_GOB_STRING, value, strlen(value));
}

int lh_gob_put_bytes(struct lh_gob_encoder *enc, const void *data, size_t len)
{
	return gob_put_counted(enc, LH_GOB_BYTES, data, len);
}

/* ---- decoding ---------------------------------------------------------- */

void lh_gob_decoder_init(struct lh_gob_decoder *dec, const void *data, size_t len,
			 size_t origin)
{
	dec->data = data;
	dec->len = len;
	dec->pos = 0;
	dec->origin = origin;
	dec->version = 0;
}

uint32_t lh_gob_version(const struct lh_gob_decoder *dec)
{
	return dec->version;
}

size_t lh_gob_remaining(const struct lh_gob_decoder *dec)
{
	return dec->len - dec->pos;
}

/* Report malformed input at byte `at` of the slice (plus its origin). */
static int gob_corrupt(const struct lh_gob_decoder *dec, size_t at, struct lh_error *err,
		       const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int gob_corrupt(const struct lh_gob_decoder *dec, size_t at, struct lh_error *err,
		       const char *fmt, ...)
{
	char what[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return lh_error_set(err, -LH_ECORRUPT, "gob", "gob: at byte %zu: %s", dec->origin + at,
			    what);
}

/* Read a uint from data[*pos, end); advances *pos. */
static int gob_read_uint(const struct lh_gob_decoder *dec, size_t *pos, size_t end,
			 uint64_t *out, struct lh_error *err)
{
	size_t start = *pos, n, i;
	uint64_t x = 0;
	uint8_t b;

	if (start >= end)
		return gob_corrupt(dec, start, err, "unexpected end of data reading an integer");
	b = dec->data[start];
	if (b < 128) {
		*out = b;
		*pos = start + 1;
		return 0;
	}
	n = 256 - (size_t)b;
	if (n > 8)
		return gob_corrupt(dec, start, err, "integer of %zu bytes is longer than 8", n);
	if (n > end - start - 1)
		return gob_corrupt(dec, start, err, "integer of %zu bytes runs past the end", n);
	for (i = 0; i < n; i++)
		x = (x << 8) | dec->data[start + 1 + i];
	/* Go writes the shortest form; anything else did not come from gob. */
	if (x < 128 || (n > 1 && dec->data[start + 1] == 0))
		return gob_corrupt(dec, start, err, "integer is not in its shortest form");
	*out = x;
	*pos = start + 1 + n;
	return 0;
}

/*
 * Read one message header of the expected type. On success *pos is at the
 * value and *end at the end of the message body.
 */
static int gob_open_message(struct lh_gob_decoder *dec, enum lh_gob_type want,
			    size_t *pos, size_t *end, struct lh_error *err)
{
	size_t p = dec->pos, msg_start = dec->pos;
	uint64_t body, type_wire, type_id;
	int rc;

	rc = gob_read_uint(dec, &p, dec->len, &body, err);
	if (rc)
		return rc;
	if (body > dec->len - p)
		return gob_corrupt(dec, msg_start, err,
				   "message of %llu bytes runs past the end (%zu left)",
				   (unsigned long long)body, dec->len - p);
	if (body == 0)
		return gob_corrupt(dec, msg_start, err, "empty message");
	*end = p + body;
	rc = gob_read_uint(dec, &p, *end, &type_wire, err);
	if (rc)
		return rc;
	if (type_wire & 1)
		return gob_corrupt(dec, msg_start, err,
				   "type definition found; expected a %s value", gob_type_name(want));
	type_id = type_wire >> 1;
	if (type_id != (uint64_t)want)
		return gob_corrupt(dec, msg_start, err, "expected %s (type %d), found %s (type %llu)",
				   gob_type_name(want), (int)want, gob_type_name(type_id),
				   (unsigned long long)type_id);
	if (p >= *end || dec->data[p] != 0)
		return gob_corrupt(dec, p, err, "missing singleton tag");
	*pos = p + 1;
	return 0;
}

static int gob_close_message(struct lh_gob_decoder *dec, size_t pos, size_t end,
			     struct lh_error *err)
{
	if (pos != end)
		return gob_corrupt(dec, pos, err, "%zu unread bytes at the end of a message",
				   end - pos);
	dec->pos = end;
	return 0;
}

static int gob_get_scalar(struct lh_gob_decoder *dec, enum lh_gob_type type, uint64_t *out,
			  struct lh_error *err)
{
	size_t pos, end;
	int rc;

	rc = gob_open_message(dec, type, &pos, &end, err);
	if (rc == 0)
		rc = gob_read_uint(dec, &pos, end, out, err);
	if (rc == 0)
		rc = gob_close_message(dec, pos, end, err);
	return rc;
}

int lh_gob_get_uint(struct lh_gob_decoder *dec, uint64_t *value, struct lh_error *err)
{
	return gob_get_scalar(dec, LH_GOB_UINT, value, err);
}

int lh_gob_get_int(struct lh_gob_decoder *dec, int64_t *value, struct lh_error *err)
{
	uint64_t u;
	int rc = gob_get_scalar(dec, LH_GOB_INT, &u, err);

	if (rc == 0)
		*value = (u & 1) ? (int64_t)~(u >> 1) : (int64_t)(u >> 1);
	return rc;
}

int lh_gob_get_bool(struct lh_gob_decoder *dec, bool *value, struct lh_error *err)
{
	size_t at = dec->pos;
	uint64_t u;
	int rc = gob_get_scalar(dec, LH_GOB_BOOL, &u, err);

	if (rc == 0 && u > 1) {
		dec->pos = at;
		rc = gob_corrupt(dec, at, err, "bool value %llu is neither 0 nor 1",
				 (unsigned long long)u);
	}
	if (rc == 0)
		*value = u == 1;
	return rc;
}

int lh_gob_get_bytes_ref(struct lh_gob_decoder *dec, const uint8_t **data, size_t *len,
			 struct lh_error *err)
{
	size_t pos, end;
	uint64_t n;
	int rc;

	rc = gob_open_message(dec, LH_GOB_BYTES, &pos, &end, err);
	if (rc == 0)
		rc = gob_read_uint(dec, &pos, end, &n, err);
	if (rc == 0 && n > end - pos)
		rc = gob_corrupt(dec, pos, err, "byte string of %llu bytes runs past its message",
				 (unsigned long long)n);
	if (rc == 0 && n < end - pos)
		rc = gob_corrupt(dec, pos, err, "byte string shorter than its message");
	if (rc == 0) {
		*data = dec->data + pos;
		*len = (size_t)n;
		dec->pos = end;
	}
	return rc;
}

/* Shared by string and bytes: the counted value is copied into buf. */
static int gob_get_counted(struct lh_gob_decoder *dec, enum lh_gob_type type, void *buf,
			   size_t cap, size_t *len, struct lh_error *err)
{
	size_t at = dec->pos, pos, end;
	uint64_t n;
	int rc;

	rc = gob_open_message(dec, type, &pos, &end, err);
	if (rc == 0)
		rc = gob_read_uint(dec, &pos, end, &n, err);
	if (rc == 0 && n != end - pos)
		rc = gob_corrupt(dec, pos, err, "%s length %llu does not match its message",
				 gob_type_name(type), (unsigned long long)n);
	if (rc == 0 && n > cap)
		rc = gob_corrupt(dec, at, err, "%s of %llu bytes exceeds the bound of %zu",
				 gob_type_name(type), (unsigned long long)n, cap);
	if (rc == 0) {
		memcpy(buf, dec->data + pos, (size_t)n);
		*len = (size_t)n;
		dec->pos = end;
	}
	return rc;
}

int lh_gob_get_string(struct lh_gob_decoder *dec, char *buf, size_t cap, struct lh_error *err)
{
	size_t at = dec->pos, len = 0;
	int rc;

	if (cap == 0)
		return gob_corrupt(dec, at, err, "no room for a string");
	rc = gob_get_counted(dec, LH_GOB_STRING, buf, cap - 1, &len, err);
	if (rc == 0 && memchr(buf, '\0', len)) {
		dec->pos = at;
		rc = gob_corrupt(dec, at, err, "string holds a NUL byte");
	}
	if (rc == 0)
		buf[len] = '\0';
	return rc;
}

int lh_gob_get_bytes(struct lh_gob_decoder *dec, void *buf, size_t cap, size_t *len,
		     struct lh_error *err)
{
	return gob_get_counted(dec, LH_GOB_BYTES, buf, cap, len, err);
}

const struct lh_gob_codec lh_gob_codec = {
	.put_uint = lh_gob_put_uint,
	.put_int = lh_gob_put_int,
	.put_bool = lh_gob_put_bool,
	.put_string = lh_gob_put_string,
	.put_bytes = lh_gob_put_bytes,
	.get_uint = lh_gob_get_uint,
	.get_int = lh_gob_get_int,
	.get_bool = lh_gob_get_bool,
	.get_string = lh_gob_get_string,
	.get_bytes = lh_gob_get_bytes,
	.remaining = lh_gob_remaining,
	.version = lh_gob_version,
};
