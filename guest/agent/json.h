/*
 * json.h - the agent's JSON: read one request into a tree, write one
 * reply into a buffer.
 *
 * The agent is linked statically and Debian ships cJSON only as a shared
 * library, so it carries this small reader and writer instead: RFC 8259
 * values, a nesting limit, and lookups that match keys the way Go's
 * encoding/json does (hcsshim's guest decodes with it): exact or
 * case-insensitive, the last duplicate winning.
 */
#ifndef GA_JSON_H
#define GA_JSON_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GA_JSON_DEPTH_MAX 32

enum ga_json_kind {
	GA_JSON_NULL,
	GA_JSON_BOOL,
	GA_JSON_NUMBER,
	GA_JSON_STRING,
	GA_JSON_ARRAY,
	GA_JSON_OBJECT,
};

struct ga_json {
	enum ga_json_kind kind;
	bool boolean;
	double number;
	char *string;          /* STRING: the decoded bytes, NUL-terminated */
	size_t len;            /* STRING: bytes before the NUL (may hold NULs) */
	char *key;             /* the member's name inside an object, else NULL */
	struct ga_json *child; /* ARRAY, OBJECT: the first element or member */
	struct ga_json *next;  /* the next element or member */
};

/*
 * Parse exactly one value (surrounding whitespace allowed) from text[0..len).
 * 0 and *out (ga_json_free), or -EINVAL with why (why_len bytes) saying what
 * and at which byte, or -ENOMEM.
 */
int ga_json_parse(const char *text, size_t len, struct ga_json **out, char *why, size_t why_len);
/* NULL-safe. */
void ga_json_free(struct ga_json *v);

/* The member key of obj (Go's rules above), NULL when obj is no object or
 * lacks it. A null member counts as absent, as Go leaves the field zero. */
const struct ga_json *ga_json_get(const struct ga_json *obj, const char *key);

/* Typed members: 0 with *out set, -ENOENT when absent (or null),
 * -EINVAL when of another type or out of range; *out is untouched then. */
int ga_json_string(const struct ga_json *obj, const char *key, const char **out);
int ga_json_bool(const struct ga_json *obj, const char *key, bool *out);
/* A whole number in 0..max. */
int ga_json_uint(const struct ga_json *obj, const char *key, uint64_t max, uint64_t *out);

/* ---- writing ---- */

/* A growing byte buffer. After an allocation failure it stays failed and
 * further appends are dropped, so a writer checks once at the end. */
struct ga_buf {
	char *data; /* NUL-terminated while not failed */
	size_t len, cap;
	bool failed;
};

void ga_buf_add(struct ga_buf *b, const void *data, size_t n);
void ga_buf_puts(struct ga_buf *b, const char *s);
void ga_buf_printf(struct ga_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* s[0..n) as a JSON string literal, quotes included. Bytes that are not
 * UTF-8, and NUL, become U+FFFD: the text stays valid JSON for any input. */
void ga_buf_json_string(struct ga_buf *b, const char *s, size_t n);
/* ,"key":"value" and friends, for building an object member by member. */
void ga_buf_member_string(struct ga_buf *b, const char *key, const char *value);
void ga_buf_member_bool(struct ga_buf *b, const char *key, bool value);
void ga_buf_member_int(struct ga_buf *b, const char *key, long long value);
void ga_buf_free(struct ga_buf *b);

#endif
