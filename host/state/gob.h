/*
 * gob.h - Go encoding/gob compatible streams.
 *
 * Basic values are singleton messages: uint(len(body)) body, body =
 * int(type id) 0x00 value, exactly as one gob.Encoder writes a sequence of
 * basic values: bool 1, int 2 (every Go signed int), uint 3 (every
 * unsigned), []byte 5, string 6 (backend.h's enum lh_gob_type).
 *
 * []string and structs of bool, int and uint fields are user types: the
 * first value of one on an encoder is preceded by its type definition, a
 * message whose body is int(-id) and the wireType that describes it, with
 * ids handed out from 65 in order of first use (what a fresh Go 1.19
 * process assigns; Go numbers types per process, so a decoder takes
 * whatever ids a stream defines, from 64 up). A struct value's body is
 * int(id) then (field delta, value) for its non-zero fields, ended by 0; a
 * slice's is int(id) 0x00 uint(count) and the elements.
 *
 * The decoder is strict: a wrong type id, a length past the end, a body
 * that is not consumed exactly, a non-minimal or overlong integer, a string
 * past the caller's bound, a type definition Go would not write (or of a
 * kind not spoken: arrays, maps, GobEncoder types), a struct field sent
 * with its zero value are all -LH_ECORRUPT with the byte offset.
 */
#ifndef LH_GOB_H
#define LH_GOB_H

#include <layerhost/backend.h>

/* The first user type id a fresh Go 1.19 process hands out, and the
 * lowest a decoder accepts (Go's firstUserId). */
#define LH_GOB_FIRST_ID 65
#define LH_GOB_MIN_USER_ID 64

/* A user type this encoder has defined: known by its descriptor. */
struct lh_gob_sent {
	const void *key;
	uint64_t id;
};

/* A growable buffer of messages. Zero-initialise or lh_gob_encoder_init. */
struct lh_gob_encoder {
	uint8_t *data;
	size_t len;
	size_t cap;
	bool failed; /* an allocation failed: every later put fails too */
	struct lh_gob_sent sent[LH_GOB_MAX_TYPES]; /* type definitions written */
	size_t n_sent;
};

/* A type definition read from the stream: its id and where its wireType
 * lies in the data (parsed again when a value uses it). */
struct lh_gob_defined {
	uint64_t id;
	size_t at, end;
};

/* Reads messages from borrowed bytes; `origin` is added to reported offsets
 * so a decoder over a slice of a larger file names file offsets. */
struct lh_gob_decoder {
	const uint8_t *data;
	size_t len;
	size_t pos;
	size_t origin;
	uint32_t version; /* the serial version the bytes were written under; 0 unknown */
	struct lh_gob_defined types[LH_GOB_MAX_TYPES]; /* type definitions read */
	size_t n_types;
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

/* Nested streams, []string and structs: the ABI v3 codec slots, whose
 * contracts backend.h gives. */
struct lh_gob_encoder *lh_gob_encoder_new(void);
/* lh_gob_encoder_free's buffer and the encoder itself. NULL-safe. */
void lh_gob_encoder_destroy(struct lh_gob_encoder *enc);
int lh_gob_put_stream(struct lh_gob_encoder *enc, const struct lh_gob_encoder *inner);
int lh_gob_get_stream(struct lh_gob_decoder *dec, struct lh_gob_decoder **inner,
		      struct lh_error *err);
void lh_gob_decoder_destroy(struct lh_gob_decoder *dec);
int lh_gob_put_strings(struct lh_gob_encoder *enc, const char *const *values, size_t n);
int lh_gob_get_strings(struct lh_gob_decoder *dec, size_t max_count, size_t cap,
		       lh_gob_string_fn fn, void *arg, struct lh_error *err);
int lh_gob_put_struct(struct lh_gob_encoder *enc, const struct lh_gob_struct_type *type,
		      const union lh_gob_value *values);
int lh_gob_get_struct(struct lh_gob_decoder *dec, const struct lh_gob_struct_type *type,
		      union lh_gob_value *values, struct lh_error *err);

/* The table handed to plugins in struct lh_host_services. */
extern const struct lh_gob_codec lh_gob_codec;

#endif
