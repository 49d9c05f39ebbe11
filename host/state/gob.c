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
	dec->n_types = 0;
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

/* ---- nested streams --------------------------------------------------- */

struct lh_gob_encoder *lh_gob_encoder_new(void)
{
	return calloc(1, sizeof(struct lh_gob_encoder));
}

void lh_gob_encoder_destroy(struct lh_gob_encoder *enc)
{
	lh_gob_encoder_free(enc);
	free(enc);
}

int lh_gob_put_stream(struct lh_gob_encoder *enc, const struct lh_gob_encoder *inner)
{
	if (!inner || inner->failed) {
		enc->failed = true;
		return -ENOMEM;
	}
	return lh_gob_put_bytes(enc, inner->data, inner->len);
}

int lh_gob_get_stream(struct lh_gob_decoder *dec, struct lh_gob_decoder **inner,
		      struct lh_error *err)
{
	size_t at = dec->pos, len;
	const uint8_t *data;
	struct lh_gob_decoder *d;
	int rc;

	rc = lh_gob_get_bytes_ref(dec, &data, &len, err);
	if (rc)
		return rc;
	d = malloc(sizeof(*d));
	if (!d) {
		dec->pos = at;
		return lh_error_set(err, -ENOMEM, "gob", "gob: out of memory opening a nested stream");
	}
	lh_gob_decoder_init(d, data, len, dec->origin + (size_t)(data - dec->data));
	d->version = dec->version;
	*inner = d;
	return 0;
}

void lh_gob_decoder_destroy(struct lh_gob_decoder *dec)
{
	free(dec);
}

/* ---- user types: encoding ------------------------------------------------ */

/* A message body is built in a scratch encoder (whose failure sticks),
 * then framed into the stream by gob_put_body. */
static void body_raw(struct lh_gob_encoder *b, const void *data, size_t len)
{
	if (len && gob_reserve(b, len) == 0) {
		memcpy(b->data + b->len, data, len);
		b->len += len;
	}
}

static void body_uint(struct lh_gob_encoder *b, uint64_t x)
{
	uint8_t v[GOB_UINT_MAX_BYTES];

	body_raw(b, v, gob_uint_bytes(x, v));
}

static void body_int(struct lh_gob_encoder *b, int64_t i)
{
	body_uint(b, gob_int_to_uint(i));
}

static void body_string(struct lh_gob_encoder *b, const char *s, size_t len)
{
	body_uint(b, len);
	body_raw(b, s, len);
}

/* Append `body` to enc as one message, uint(len(body)) body; frees body. */
static int gob_put_body(struct lh_gob_encoder *enc, struct lh_gob_encoder *body)
{
	uint8_t len_bytes[GOB_UINT_MAX_BYTES];
	size_t n;
	int rc = -ENOMEM;

	if (body->failed) {
		enc->failed = true;
		goto out;
	}
	n = gob_uint_bytes(body->len, len_bytes);
	rc = gob_reserve(enc, n + body->len);
	if (rc)
		goto out;
	memcpy(enc->data + enc->len, len_bytes, n);
	memcpy(enc->data + enc->len + n, body->data, body->len);
	enc->len += n + body->len;
out:
	lh_gob_encoder_free(body);
	return rc;
}

/* The []string type's key in an encoder's table of sent types. */
static const char gob_strings_key;

/* The id of the type known by `key` if this encoder defined it already;
 * else reserve the next one (*fresh set). -EOVERFLOW when the table is full. */
static int gob_type_id(struct lh_gob_encoder *enc, const void *key, uint64_t *id, bool *fresh)
{
	for (size_t i = 0; i < enc->n_sent; i++)
		if (enc->sent[i].key == key) {
			*id = enc->sent[i].id;
			*fresh = false;
			return 0;
		}
	if (enc->failed)
		return -ENOMEM;
	if (enc->n_sent == LH_GOB_MAX_TYPES)
		return -EOVERFLOW;
	*id = LH_GOB_FIRST_ID + enc->n_sent;
	*fresh = true;
	return 0;
}

static void gob_type_sent(struct lh_gob_encoder *enc, const void *key, uint64_t id)
{
	enc->sent[enc->n_sent].key = key;
	enc->sent[enc->n_sent].id = id;
	enc->n_sent++;
}

/*
 * The definition of []string with id `id`: int(-id), then the wireType as
 * a struct: SliceT (field 1) = sliceType{CommonType{Id: id} (Name "" is
 * zero, so not sent), Elem: string}, each struct ended by 0.
 */
static int gob_define_strings(struct lh_gob_encoder *enc, uint64_t id)
{
	struct lh_gob_encoder body = { 0 };

	body_int(&body, -(int64_t)id);
	body_uint(&body, 2); /* wireType.SliceT */
	body_uint(&body, 1); /* sliceType.CommonType */
	body_uint(&body, 2); /* CommonType.Id */
	body_int(&body, (int64_t)id);
	body_uint(&body, 0); /* end of CommonType */
	body_uint(&body, 1); /* sliceType.Elem */
	body_int(&body, LH_GOB_STRING);
	body_uint(&body, 0); /* end of sliceType */
	body_uint(&body, 0); /* end of wireType */
	return gob_put_body(enc, &body);
}

int lh_gob_put_strings(struct lh_gob_encoder *enc, const char *const *values, size_t n)
{
	struct lh_gob_encoder body = { 0 };
	uint64_t id;
	bool fresh;
	int rc;

	if (n && !values)
		return -EINVAL;
	rc = gob_type_id(enc, &gob_strings_key, &id, &fresh);
	if (rc == 0 && fresh) {
		rc = gob_define_strings(enc, id);
		if (rc == 0)
			gob_type_sent(enc, &gob_strings_key, id);
	}
	if (rc)
		return rc;
	body_int(&body, (int64_t)id);
	body_uint(&body, 0); /* singleton delta tag */
	body_uint(&body, n);
	for (size_t i = 0; i < n; i++) {
		const char *s = values[i] ? values[i] : "";

		body_string(&body, s, strlen(s));
	}
	return gob_put_body(enc, &body);
}

static bool gob_field_type_ok(enum lh_gob_type t)
{
	return t == LH_GOB_BOOL || t == LH_GOB_INT || t == LH_GOB_UINT;
}

/* A descriptor Go could have produced: fields with distinct names of the
 * spoken types. */
static bool gob_struct_type_ok(const struct lh_gob_struct_type *type)
{
	if (!type || !type->name || !type->fields || type->n_fields == 0 ||
	    type->n_fields > LH_GOB_MAX_FIELDS)
		return false;
	for (size_t i = 0; i < type->n_fields; i++) {
		if (!type->fields[i].name || !type->fields[i].name[0] ||
		    !gob_field_type_ok(type->fields[i].type))
			return false;
		for (size_t j = 0; j < i; j++)
			if (strcmp(type->fields[i].name, type->fields[j].name) == 0)
				return false;
	}
	return true;
}

/*
 * The definition of a struct type: int(-id), then StructT (field 2) =
 * structType{CommonType{Name, Id}, Field: []fieldType{Name, Id}}.
 */
static int gob_define_struct(struct lh_gob_encoder *enc, const struct lh_gob_struct_type *type,
			     uint64_t id)
{
	struct lh_gob_encoder body = { 0 };
	size_t name_len = strlen(type->name);

	body_int(&body, -(int64_t)id);
	body_uint(&body, 3); /* wireType.StructT */
	body_uint(&body, 1); /* structType.CommonType */
	if (name_len) {
		body_uint(&body, 1); /* CommonType.Name */
		body_string(&body, type->name, name_len);
		body_uint(&body, 1); /* CommonType.Id */
	} else {
		body_uint(&body, 2); /* CommonType.Id: an unnamed type sends no Name */
	}
	body_int(&body, (int64_t)id);
	body_uint(&body, 0); /* end of CommonType */
	body_uint(&body, 1); /* structType.Field */
	body_uint(&body, type->n_fields);
	for (size_t i = 0; i < type->n_fields; i++) {
		body_uint(&body, 1); /* fieldType.Name */
		body_string(&body, type->fields[i].name, strlen(type->fields[i].name));
		body_uint(&body, 1); /* fieldType.Id */
		body_int(&body, type->fields[i].type);
		body_uint(&body, 0); /* end of fieldType */
	}
	body_uint(&body, 0); /* end of structType */
	body_uint(&body, 0); /* end of wireType */
	return gob_put_body(enc, &body);
}

static bool gob_value_zero(enum lh_gob_type type, const union lh_gob_value *v)
{
	switch (type) {
	case LH_GOB_BOOL: return !v->b;
	case LH_GOB_INT: return v->i == 0;
	default: return v->u == 0;
	}
}

int lh_gob_put_struct(struct lh_gob_encoder *enc, const struct lh_gob_struct_type *type,
		      const union lh_gob_value *values)
{
	struct lh_gob_encoder body = { 0 };
	uint64_t id;
	int64_t prev = -1;
	bool fresh;
	int rc;

	if (!gob_struct_type_ok(type) || !values)
		return -EINVAL;
	rc = gob_type_id(enc, type, &id, &fresh);
	if (rc == 0 && fresh) {
		rc = gob_define_struct(enc, type, id);
		if (rc == 0)
			gob_type_sent(enc, type, id);
	}
	if (rc)
		return rc;
	/* A struct value has no singleton tag: its fields frame it. */
	body_int(&body, (int64_t)id);
	for (size_t i = 0; i < type->n_fields; i++) {
		const union lh_gob_value *v = &values[i];

		if (gob_value_zero(type->fields[i].type, v))
			continue;
		body_uint(&body, (uint64_t)((int64_t)i - prev));
		prev = (int64_t)i;
		switch (type->fields[i].type) {
		case LH_GOB_BOOL: body_uint(&body, 1); break;
		case LH_GOB_INT: body_int(&body, v->i); break;
		default: body_uint(&body, v->u); break;
		}
	}
	body_uint(&body, 0); /* end of struct */
	return gob_put_body(enc, &body);
}

/* ---- user types: decoding ------------------------------------------------ */

enum gob_kind { GOB_KIND_SLICE, GOB_KIND_STRUCT };

/* A type definition as parsed from the stream; names point into its data. */
struct gob_def {
	enum gob_kind kind;
	const uint8_t *name;
	size_t name_len;
	uint64_t elem; /* slices */
	size_t n_fields; /* structs */
	struct {
		const uint8_t *name;
		size_t name_len;
		uint64_t id;
	} fields[LH_GOB_MAX_FIELDS];
};

/* The next message from `start`: a definition of type *id (*is_def), or a
 * value of type *id; [*at, *end) is the rest of its body. */
static int gob_peek_message(const struct lh_gob_decoder *dec, size_t start, bool *is_def,
			    uint64_t *id, size_t *at, size_t *end, struct lh_error *err)
{
	size_t p = start;
	uint64_t body, wire;
	int rc;

	rc = gob_read_uint(dec, &p, dec->len, &body, err);
	if (rc)
		return rc;
	if (body > dec->len - p)
		return gob_corrupt(dec, start, err, "message of %llu bytes runs past the end (%zu left)",
				   (unsigned long long)body, dec->len - p);
	if (body == 0)
		return gob_corrupt(dec, start, err, "empty message");
	*end = p + body;
	rc = gob_read_uint(dec, &p, *end, &wire, err);
	if (rc)
		return rc;
	/* int(-id) for a definition: wire 2k+1 is -(k+1). */
	*is_def = wire & 1;
	*id = *is_def ? (wire >> 1) + 1 : wire >> 1;
	*at = p;
	return 0;
}

/*
 * Step to the next field of a struct value read at *p: *field grows by the
 * delta read. 1 for a field, 0 at the terminating 0, or the failure. Go
 * writes fields in order, so a delta past the type's last field is
 * malformed.
 */
static int gob_next_field(const struct lh_gob_decoder *dec, size_t *p, size_t end,
			  int64_t *field, size_t n_fields, const char *what, struct lh_error *err)
{
	size_t at = *p;
	uint64_t delta;
	int rc = gob_read_uint(dec, p, end, &delta, err);

	if (rc)
		return rc;
	if (delta == 0)
		return 0;
	if (delta > (uint64_t)((int64_t)n_fields - 1 - *field))
		return gob_corrupt(dec, at, err, "field delta %llu runs past the %zu fields of %s",
				   (unsigned long long)delta, n_fields, what);
	*field += (int64_t)delta;
	return 1;
}

/* A counted string inside a message: borrowed, non-empty when `nonzero`
 * (Go does not send a struct field's zero value). */
static int gob_read_name(const struct lh_gob_decoder *dec, size_t *p, size_t end,
			 const uint8_t **name, size_t *len, const char *what, struct lh_error *err)
{
	size_t at = *p;
	uint64_t n;
	int rc = gob_read_uint(dec, p, end, &n, err);

	if (rc)
		return rc;
	if (n > end - *p)
		return gob_corrupt(dec, at, err, "%s of %llu bytes runs past its message", what,
				   (unsigned long long)n);
	if (n == 0)
		return gob_corrupt(dec, at, err, "%s sent empty (Go does not send zero values)", what);
	*name = dec->data + *p;
	*len = (size_t)n;
	*p += (size_t)n;
	return 0;
}

/* A type id inside a definition: a positive gob int. */
static int gob_read_type_ref(const struct lh_gob_decoder *dec, size_t *p, size_t end,
			     uint64_t *id, const char *what, struct lh_error *err)
{
	size_t at = *p;
	uint64_t u;
	int rc = gob_read_uint(dec, p, end, &u, err);

	if (rc)
		return rc;
	if (u == 0 || (u & 1))
		return gob_corrupt(dec, at, err, "%s is not a type id", what);
	*id = u >> 1;
	return 0;
}

/* CommonType{Name, Id}: Id must be the defined id. */
static int gob_parse_common(const struct lh_gob_decoder *dec, size_t *p, size_t end, uint64_t id,
			    struct gob_def *def, struct lh_error *err)
{
	int64_t field = -1;
	bool have_id = false;
	size_t at;
	int rc;

	def->name = NULL;
	def->name_len = 0;
	for (;;) {
		at = *p;
		rc = gob_next_field(dec, p, end, &field, 2, "CommonType", err);
		if (rc <= 0)
			break;
		if (field == 0) {
			rc = gob_read_name(dec, p, end, &def->name, &def->name_len, "a type name", err);
		} else {
			uint64_t own;

			rc = gob_read_type_ref(dec, p, end, &own, "a type's own id", err);
			if (rc == 0 && own != id)
				rc = gob_corrupt(dec, at, err, "definition of type %llu names itself %llu",
						 (unsigned long long)id, (unsigned long long)own);
			have_id = true;
		}
		if (rc)
			return rc;
	}
	if (rc == 0 && !have_id)
		rc = gob_corrupt(dec, *p - 1, err, "definition of type %llu carries no id",
				 (unsigned long long)id);
	return rc;
}

/* sliceType{CommonType, Elem}. */
static int gob_parse_slice(const struct lh_gob_decoder *dec, size_t *p, size_t end, uint64_t id,
			   struct gob_def *def, struct lh_error *err)
{
	int64_t field = -1;
	bool common = false;
	int rc;

	def->kind = GOB_KIND_SLICE;
	def->elem = 0;
	for (;;) {
		rc = gob_next_field(dec, p, end, &field, 2, "sliceType", err);
		if (rc <= 0)
			break;
		if (field == 0) {
			rc = gob_parse_common(dec, p, end, id, def, err);
			common = true;
		} else {
			rc = gob_read_type_ref(dec, p, end, &def->elem, "a slice's element type", err);
		}
		if (rc)
			return rc;
	}
	if (rc == 0 && (!common || !def->elem))
		rc = gob_corrupt(dec, *p - 1, err, "definition of slice type %llu is incomplete",
				 (unsigned long long)id);
	return rc;
}

/* fieldType{Name, Id}, one element of structType.Field. */
static int gob_parse_field(const struct lh_gob_decoder *dec, size_t *p, size_t end,
			   struct gob_def *def, size_t i, struct lh_error *err)
{
	int64_t field = -1;
	size_t start = *p;
	int rc;

	def->fields[i].name = NULL;
	def->fields[i].id = 0;
	for (;;) {
		rc = gob_next_field(dec, p, end, &field, 2, "fieldType", err);
		if (rc <= 0)
			break;
		if (field == 0)
			rc = gob_read_name(dec, p, end, &def->fields[i].name, &def->fields[i].name_len,
					   "a field name", err);
		else
			rc = gob_read_type_ref(dec, p, end, &def->fields[i].id, "a field's type", err);
		if (rc)
			return rc;
	}
	if (rc == 0 && (!def->fields[i].name || !def->fields[i].id))
		rc = gob_corrupt(dec, start, err, "field %zu of a struct definition is incomplete", i);
	for (size_t j = 0; rc == 0 && j < i; j++)
		if (def->fields[j].name_len == def->fields[i].name_len &&
		    memcmp(def->fields[j].name, def->fields[i].name, def->fields[i].name_len) == 0)
			rc = gob_corrupt(dec, start, err, "struct definition names field '%.*s' twice",
					 (int)def->fields[i].name_len, (const char *)def->fields[i].name);
	return rc;
}

/* structType{CommonType, Field []fieldType}. */
static int gob_parse_struct(const struct lh_gob_decoder *dec, size_t *p, size_t end, uint64_t id,
			    struct gob_def *def, struct lh_error *err)
{
	int64_t field = -1;
	bool common = false;
	uint64_t n;
	size_t at;
	int rc;

	def->kind = GOB_KIND_STRUCT;
	def->n_fields = 0;
	for (;;) {
		rc = gob_next_field(dec, p, end, &field, 2, "structType", err);
		if (rc <= 0)
			break;
		if (field == 0) {
			rc = gob_parse_common(dec, p, end, id, def, err);
			common = true;
			if (rc)
				return rc;
			continue;
		}
		at = *p;
		rc = gob_read_uint(dec, p, end, &n, err);
		if (rc == 0 && n == 0)
			rc = gob_corrupt(dec, at, err, "empty field list sent (Go does not send zero values)");
		if (rc == 0 && n > LH_GOB_MAX_FIELDS)
			rc = gob_corrupt(dec, at, err, "struct of %llu fields: more than %d are not spoken",
					 (unsigned long long)n, LH_GOB_MAX_FIELDS);
		for (size_t i = 0; rc == 0 && i < n; i++)
			rc = gob_parse_field(dec, p, end, def, i, err);
		if (rc)
			return rc;
		def->n_fields = (size_t)n;
	}
	if (rc == 0 && (!common || !def->n_fields))
		rc = gob_corrupt(dec, *p - 1, err, "definition of struct type %llu is incomplete",
				 (unsigned long long)id);
	return rc;
}

/* The wireType of a definition in [at, end): exactly one kind, slice or struct. */
static int gob_parse_def(const struct lh_gob_decoder *dec, uint64_t id, size_t at, size_t end,
			 struct gob_def *def, struct lh_error *err)
{
	static const char *const kinds[] = { "an array", "", "", "a map", "a GobEncoder",
					     "a BinaryMarshaler", "a TextMarshaler" };
	int64_t field = -1;
	size_t p = at;
	int rc;

	rc = gob_next_field(dec, &p, end, &field, 7, "wireType", err);
	if (rc == 0)
		return gob_corrupt(dec, at, err, "empty definition of type %llu",
				   (unsigned long long)id);
	if (rc < 0)
		return rc;
	if (field != 1 && field != 2)
		return gob_corrupt(dec, at, err, "type %llu is %s type, which is not spoken",
				   (unsigned long long)id, kinds[field]);
	rc = field == 1 ? gob_parse_slice(dec, &p, end, id, def, err)
			: gob_parse_struct(dec, &p, end, id, def, err);
	if (rc)
		return rc;
	at = p;
	rc = gob_next_field(dec, &p, end, &field, 7, "wireType", err);
	if (rc > 0)
		return gob_corrupt(dec, at, err, "definition of type %llu is of two kinds",
				   (unsigned long long)id);
	if (rc == 0 && p != end)
		rc = gob_corrupt(dec, p, err, "%zu unread bytes at the end of a type definition",
				 end - p);
	return rc;
}

static const struct lh_gob_defined *gob_defined(const struct lh_gob_decoder *dec, uint64_t id)
{
	for (size_t i = 0; i < dec->n_types; i++)
		if (dec->types[i].id == id)
			return &dec->types[i];
	return NULL;
}

/* Take in the definitions from *pos on (Go sends them right before the
 * value that needs them); *pos stops at the first value message. The
 * caller restores dec->n_types when the read fails. */
static int gob_take_definitions(struct lh_gob_decoder *dec, size_t *pos, struct gob_def *scratch,
				struct lh_error *err)
{
	for (;;) {
		size_t at, end;
		uint64_t id;
		bool is_def;
		int rc = gob_peek_message(dec, *pos, &is_def, &id, &at, &end, err);

		if (rc || !is_def)
			return rc;
		if (id < LH_GOB_MIN_USER_ID)
			return gob_corrupt(dec, *pos, err, "definition of type %llu: ids below %d are "
					   "gob's own", (unsigned long long)id, LH_GOB_MIN_USER_ID);
		if (gob_defined(dec, id))
			return gob_corrupt(dec, *pos, err, "type %llu is defined twice",
					   (unsigned long long)id);
		if (dec->n_types == LH_GOB_MAX_TYPES)
			return gob_corrupt(dec, *pos, err, "more than %d type definitions in one stream",
					   LH_GOB_MAX_TYPES);
		rc = gob_parse_def(dec, id, at, end, scratch, err);
		if (rc)
			return rc;
		dec->types[dec->n_types++] = (struct lh_gob_defined){ .id = id, .at = at, .end = end };
		*pos = end;
	}
}

/*
 * Open the value message at dec->pos of a user type, after the definitions
 * before it: *def its definition, [*at, *end) its value. `want` names the
 * expected type for messages.
 */
static int gob_open_user_value(struct lh_gob_decoder *dec, struct gob_def *def, size_t *at,
			       size_t *end, const char *want, struct lh_error *err)
{
	size_t pos = dec->pos;
	const struct lh_gob_defined *t;
	uint64_t id;
	bool is_def;
	int rc;

	rc = gob_take_definitions(dec, &pos, def, err);
	if (rc == 0)
		rc = gob_peek_message(dec, pos, &is_def, &id, at, end, err);
	if (rc)
		return rc;
	t = gob_defined(dec, id);
	if (!t)
		return gob_corrupt(dec, pos, err, "expected %s, found %s (type %llu)%s", want,
				   id < LH_GOB_MIN_USER_ID ? gob_type_name(id) : "a value",
				   (unsigned long long)id,
				   id < LH_GOB_MIN_USER_ID ? "" : ", which is not defined");
	/* Validated when it was taken in: cannot fail. */
	rc = gob_parse_def(dec, id, t->at, t->end, def, err);
	if (rc == 0 && def->kind == GOB_KIND_SLICE && def->elem == LH_GOB_STRING &&
	    strcmp(want, "[]string") == 0)
		return 0;
	if (rc == 0 && def->kind == GOB_KIND_STRUCT && strcmp(want, "[]string") != 0)
		return 0;
	if (rc == 0)
		rc = gob_corrupt(dec, pos, err, "expected %s, found %s type %llu", want,
				 def->kind == GOB_KIND_SLICE ? "slice" : "struct",
				 (unsigned long long)id);
	return rc;
}

int lh_gob_get_strings(struct lh_gob_decoder *dec, size_t max_count, size_t cap,
		       lh_gob_string_fn fn, void *arg, struct lh_error *err)
{
	size_t start = dec->pos, n_types = dec->n_types, at, end, p;
	struct gob_def *def = malloc(sizeof(*def));
	char *buf = malloc(cap ? cap : 1);
	uint64_t count, len;
	int rc = 0;

	if (!def || !buf) {
		rc = lh_error_set(err, -ENOMEM, "gob", "gob: out of memory reading a []string");
		goto out;
	}
	rc = gob_open_user_value(dec, def, &at, &end, "[]string", err);
	if (rc)
		goto out;
	p = at;
	if (p >= end || dec->data[p] != 0) {
		rc = gob_corrupt(dec, p, err, "missing singleton tag");
		goto out;
	}
	p++;
	rc = gob_read_uint(dec, &p, end, &count, err);
	if (rc == 0 && (count > max_count || count > end - p))
		rc = gob_corrupt(dec, at, err, "[]string of %llu elements (at most %zu, %zu bytes left)",
				 (unsigned long long)count, max_count, end - p);
	for (uint64_t i = 0; rc == 0 && i < count; i++) {
		size_t elem = p;

		rc = gob_read_uint(dec, &p, end, &len, err);
		if (rc == 0 && len > end - p)
			rc = gob_corrupt(dec, elem, err, "string of %llu bytes runs past its message",
					 (unsigned long long)len);
		else if (rc == 0 && len >= cap)
			rc = gob_corrupt(dec, elem, err, "string of %llu bytes exceeds the bound of %zu",
					 (unsigned long long)len, cap ? cap - 1 : 0);
		else if (rc == 0 && memchr(dec->data + p, '\0', (size_t)len))
			rc = gob_corrupt(dec, elem, err, "string holds a NUL byte");
		if (rc)
			break;
		memcpy(buf, dec->data + p, (size_t)len);
		buf[len] = '\0';
		p += (size_t)len;
		rc = fn(arg, (size_t)i, buf, err);
	}
	if (rc == 0 && p != end)
		rc = gob_corrupt(dec, p, err, "%zu unread bytes at the end of a message", end - p);
	if (rc == 0)
		dec->pos = end;
out:
	if (rc) {
		dec->pos = start;
		dec->n_types = n_types;
	}
	free(buf);
	free(def);
	return rc;
}

static const char *gob_field_type_name(uint64_t id)
{
	return id < LH_GOB_MIN_USER_ID ? gob_type_name(id) : "a user type";
}

int lh_gob_get_struct(struct lh_gob_decoder *dec, const struct lh_gob_struct_type *type,
		      union lh_gob_value *values, struct lh_error *err)
{
	size_t start = dec->pos, n_types = dec->n_types, at, end, p, name_len;
	struct gob_def *def = malloc(sizeof(*def));
	uint8_t local[LH_GOB_MAX_FIELDS];
	int64_t field = -1;
	int rc;

	if (!gob_struct_type_ok(type) || !values) {
		/* Nothing to zero or restore: the caller's descriptor is at fault. */
		rc = lh_error_set(err, -EINVAL, "gob", "gob: bad struct type descriptor");
		goto done;
	}
	if (!def) {
		rc = lh_error_set(err, -ENOMEM, "gob", "gob: out of memory reading a struct");
		goto out;
	}
	memset(values, 0, type->n_fields * sizeof(*values));
	rc = gob_open_user_value(dec, def, &at, &end, type->name, err);
	if (rc)
		goto out;
	name_len = strlen(type->name);
	if (def->name_len != name_len || (name_len && memcmp(def->name, type->name, name_len))) {
		rc = gob_corrupt(dec, start, err, "expected struct %s, found struct '%.*s'",
				 type->name, (int)def->name_len,
				 def->name ? (const char *)def->name : "");
		goto out;
	}
	/* Each field the sender has must be one of ours, of the same type. */
	for (size_t j = 0; rc == 0 && j < def->n_fields; j++) {
		size_t i = 0;

		while (i < type->n_fields && (strlen(type->fields[i].name) != def->fields[j].name_len ||
					      memcmp(type->fields[i].name, def->fields[j].name,
						     def->fields[j].name_len)))
			i++;
		if (i == type->n_fields)
			rc = gob_corrupt(dec, start, err, "struct %s has no field '%.*s'", type->name,
					 (int)def->fields[j].name_len, (const char *)def->fields[j].name);
		else if (def->fields[j].id != (uint64_t)type->fields[i].type)
			rc = gob_corrupt(dec, start, err, "field %s.%s is %s, expected %s", type->name,
					 type->fields[i].name, gob_field_type_name(def->fields[j].id),
					 gob_type_name(type->fields[i].type));
		local[j] = (uint8_t)i;
	}
	p = at;
	while (rc == 0) {
		size_t value_at;
		union lh_gob_value *v;
		uint64_t u;

		rc = gob_next_field(dec, &p, end, &field, def->n_fields, type->name, err);
		if (rc <= 0)
			break;
		v = &values[local[field]];
		value_at = p;
		rc = gob_read_uint(dec, &p, end, &u, err);
		if (rc)
			break;
		if (u == 0) {
			rc = gob_corrupt(dec, value_at, err, "field %s.%s sent with its zero value",
					 type->name, type->fields[local[field]].name);
			break;
		}
		switch (type->fields[local[field]].type) {
		case LH_GOB_BOOL:
			if (u != 1)
				rc = gob_corrupt(dec, value_at, err, "bool value %llu is neither 0 nor 1",
						 (unsigned long long)u);
			v->b = true;
			break;
		case LH_GOB_INT:
			v->i = (u & 1) ? (int64_t)~(u >> 1) : (int64_t)(u >> 1);
			break;
		default:
			v->u = u;
			break;
		}
	}
	if (rc == 0 && p != end)
		rc = gob_corrupt(dec, p, err, "%zu unread bytes at the end of a message", end - p);
	if (rc == 0)
		dec->pos = end;
out:
	if (rc) {
		dec->pos = start;
		dec->n_types = n_types;
		memset(values, 0, type->n_fields * sizeof(*values));
	}
done:
	free(def);
	return rc;
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
	.encoder_new = lh_gob_encoder_new,
	.encoder_free = lh_gob_encoder_destroy,
	.put_stream = lh_gob_put_stream,
	.get_stream = lh_gob_get_stream,
	.decoder_free = lh_gob_decoder_destroy,
	.put_strings = lh_gob_put_strings,
	.get_strings = lh_gob_get_strings,
	.put_struct = lh_gob_put_struct,
	.get_struct = lh_gob_get_struct,
};
