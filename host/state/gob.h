/*
 * gob.h - Go encoding/gob compatible stream of singleton values.
 *
 * One message per value: uint(len(body)) body, body = int(type id) 0x00
 * value, exactly as one gob.Encoder writes a sequence of basic values. Only
 * the predefined types are spoken (no type definitions are ever sent):
 * bool 1, int 2 (every Go signed int), uint 3 (every unsigned), []byte 5,
 * string 6.
 *
 * The decoder is strict: a wrong type id, a length past the end, a body
 * that is not consumed exactly, a non-minimal or overlong integer, a string
 * past the caller's bound are all -LH_ECORRUPT with the byte offset.
 */
#ifndef LH_GOB_H
#define LH_GOB_H

#include <layerhost/backend.h>

enum lh_gob_type {
	LH_GOB_BOOL = 1,
	LH_GOB_INT = 2,
	LH_GOB_UINT = 3,
	LH_GOB_BYTES = 5,
	LH_GOB_STRING = 6,
};

/* A growable buffer of messages. Zero-initialise or lh_gob_encoder_init. */
struct lh_gob_encoder {
	uint8_t *data;
	size_t len;
	size_t cap;
	bool failed; /* an allocation failed: every later put fails too */
};

/* Reads messages from borrowed bytes; `origin` is added to reported offsets
 * so a decoder over a slice of a larger file names file offsets. */
struct lh_gob_decoder {
	const uint8_t *data;
	size_t len;
	size_t pos;
	size_t origin;
	uint32_t version; /* the serial version the bytes were written under; 0 unknown */
};

void lh_gob_encoder_init(struct lh_gob_encoder *enc);
/* Frees the buffer; the encoder may be initialised again. NULL-safe. */
void lh_gob_encoder_free(struct lh_gob_encoder *enc);

int lh_gob_put_uint(struct lh_gob_encoder *enc, uint64_t value);
int lh_gob_put_int(struct lh_gob_encoder *enc, int64_t value);
int lh_gob_put_bool(struct lh_gob_encoder *enc, bool value);
int lh_gob_put_string(struct lh_gob_encoder *enc, const char *value);
int lh_gob_put_bytes(struct lh_gob_encoder *enc, const void *data, size_t len);

void lh_gob_decoder_init(struct lh_gob_decoder *dec, const void *data, size_t len,
			 size_t origin);
int lh_gob_get_uint(struct lh_gob_decoder *dec, uint64_t *value, struct lh_error *err);
int lh_gob_get_int(struct lh_gob_decoder *dec, int64_t *value, struct lh_error *err);
int lh_gob_get_bool(struct lh_gob_decoder *dec, bool *value, struct lh_error *err);
int lh_gob_get_string(struct lh_gob_decoder *dec, char *buf, size_t cap, struct lh_error *err);
int lh_gob_get_bytes(struct lh_gob_decoder *dec, void *buf, size_t cap, size_t *len,
		     struct lh_error *err);
/* Borrow the next []byte value in place (no copy): *data points into the
 * decoder's buffer. */
int lh_gob_get_bytes_ref(struct lh_gob_decoder *dec, const uint8_t **data, size_t *len,
			 struct lh_error *err);
size_t lh_gob_remaining(const struct lh_gob_decoder *dec);
/* The decoder's `version` (init sets 0; the state sets it per blob). */
uint32_t lh_gob_version(const struct lh_gob_decoder *dec);

/* The table handed to plugins in struct lh_host_services. */
extern const struct lh_gob_codec lh_gob_codec;

#endif
