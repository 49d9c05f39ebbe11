/* json.c - see json.h. */
#include "json.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct json_parser {
	const char *start, *p, *end;
	int depth;
	char *why;
	size_t why_len;
};

static int json_fail(struct json_parser *ps, const char *what)
{
	if (ps->why && ps->why_len)
		snprintf(ps->why, ps->why_len, "%s at byte %zu", what, (size_t)(ps->p - ps->start));
	return -EINVAL;
}

static void json_skip_ws(struct json_parser *ps)
{
	while (ps->p < ps->end &&
	       (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
		ps->p++;
}

void ga_json_free(struct ga_json *v)
{
	while (v) {
		struct ga_json *next = v->next;

		ga_json_free(v->child);
		free(v->string);
		free(v->key);
		free(v);
		v = next;
	}
}

/* Append code point cp as UTF-8. */
static void json_put_utf8(char *out, size_t *n, unsigned cp)
{
	if (cp < 0x80) {
		out[(*n)++] = (char)cp;
	} else if (cp < 0x800) {
		out[(*n)++] = (char)(0xc0 | cp >> 6);
		out[(*n)++] = (char)(0x80 | (cp & 0x3f));
	} else if (cp < 0x10000) {
		out[(*n)++] = (char)(0xe0 | cp >> 12);
		out[(*n)++] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[(*n)++] = (char)(0x80 | (cp & 0x3f));
	} else {
		out[(*n)++] = (char)(0xf0 | cp >> 18);
		out[(*n)++] = (char)(0x80 | ((cp >> 12) & 0x3f));
		out[(*n)++] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[(*n)++] = (char)(0x80 | (cp & 0x3f));
	}
}

static int json_hex4(struct json_parser *ps, unsigned *out)
{
	unsigned v = 0;

	if (ps->end - ps->p < 4)
		return json_fail(ps, "truncated \\u escape");
	for (int i = 0; i < 4; i++) {
		char c = *ps->p++;

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (unsigned)(c - 'A' + 10);
		else
			return json_fail(ps, "bad \\u escape");
	}
	*out = v;
	return 0;
}

/* A string literal at ps->p (the opening quote). The decoded text is never
 * longer than the literal, which bounds the buffer. */
static int json_string(struct json_parser *ps, char **out, size_t *len)
{
	const char *q = ps->p + 1;
	char *buf;
	size_t n = 0;
	int rc = 0;

	while (q < ps->end && *q != '"')
		q += *q == '\\' && q + 1 < ps->end ? 2 : 1;
	if (q >= ps->end)
		return json_fail(ps, "unterminated string");
	buf = malloc((size_t)(q - ps->p) + 1);
	if (!buf)
		return -ENOMEM;
	ps->p++;
	while (rc == 0 && *ps->p != '"') {
		unsigned char c = (unsigned char)*ps->p;
		unsigned cp, low;

		if (c < 0x20) {
			rc = json_fail(ps, "control character in string");
			break;
		}
		if (c != '\\') {
			buf[n++] = (char)c;
			ps->p++;
			continue;
		}
		ps->p++;
		switch (*ps->p++) {
		case '"': buf[n++] = '"'; break;
		case '\\': buf[n++] = '\\'; break;
		case '/': buf[n++] = '/'; break;
		case 'b': buf[n++] = '\b'; break;
		case 'f': buf[n++] = '\f'; break;
		case 'n': buf[n++] = '\n'; break;
		case 'r': buf[n++] = '\r'; break;
		case 't': buf[n++] = '\t'; break;
		case 'u':
			rc = json_hex4(ps, &cp);
			if (rc)
				break;
			/* A surrogate pair is one code point; a lone half is
			 * U+FFFD, as Go decodes it. */
			if (cp >= 0xd800 && cp < 0xdc00 && ps->end - ps->p >= 6 && ps->p[0] == '\\' &&
			    ps->p[1] == 'u') {
				const char *save = ps->p;

				ps->p += 2;
				rc = json_hex4(ps, &low);
				if (rc == 0 && low >= 0xdc00 && low < 0xe000)
					cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
				else if (rc == 0) {
					ps->p = save;
					cp = 0xfffd;
				}
			} else if (cp >= 0xd800 && cp < 0xe000) {
				cp = 0xfffd;
			}
			if (rc == 0)
				json_put_utf8(buf, &n, cp);
			break;
		default:
			ps->p--;
			rc = json_fail(ps, "bad escape");
			break;
		}
	}
	if (rc) {
		free(buf);
		return rc;
	}
	ps->p++; /* the closing quote */
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return 0;
}

static int json_number(struct json_parser *ps, double *out)
{
	const char *s = ps->p;
	char text[64];
	size_t n;

	/* The grammar strictly: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
	if (ps->p < ps->end && *ps->p == '-')
		ps->p++;
	if (ps->p < ps->end && *ps->p == '0')
		ps->p++;
	else if (ps->p < ps->end && *ps->p >= '1' && *ps->p <= '9')
		while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9')
			ps->p++;
	else
		return json_fail(ps, "bad number");
	if (ps->p < ps->end && *ps->p == '.') {
		ps->p++;
		if (ps->p >= ps->end || *ps->p < '0' || *ps->p > '9')
			return json_fail(ps, "bad number");
		while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9')
			ps->p++;
	}
	if (ps->p < ps->end && (*ps->p == 'e' || *ps->p == 'E')) {
		ps->p++;
		if (ps->p < ps->end && (*ps->p == '+' || *ps->p == '-'))
			ps->p++;
		if (ps->p >= ps->end || *ps->p < '0' || *ps->p > '9')
			return json_fail(ps, "bad number");
		while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9')
			ps->p++;
	}
	n = (size_t)(ps->p - s);
	if (n >= sizeof(text))
		return json_fail(ps, "number too long");
	memcpy(text, s, n);
	text[n] = '\0';
	*out = strtod(text, NULL);
	if (!isfinite(*out))
		return json_fail(ps, "number out of range");
	return 0;
}

static int json_value(struct json_parser *ps, struct ga_json **out);

/* The elements of an array or the members of an object, ps->p just past
 * the opening bracket. */
static int json_container(struct json_parser *ps, struct ga_json *v, char close)
{
	struct ga_json **tail = &v->child;
	int rc;

	json_skip_ws(ps);
	if (ps->p < ps->end && *ps->p == close) {
		ps->p++;
		return 0;
	}
	for (;;) {
		char *key = NULL;
		size_t key_len;

		json_skip_ws(ps);
		if (close == '}') {
			if (ps->p >= ps->end || *ps->p != '"')
				return json_fail(ps, "expected a member name");
			rc = json_string(ps, &key, &key_len);
			if (rc)
				return rc;
			json_skip_ws(ps);
			if (ps->p >= ps->end || *ps->p != ':') {
				free(key);
				return json_fail(ps, "expected ':'");
			}
			ps->p++;
		}
		rc = json_value(ps, tail);
		if (rc) {
			free(key);
			return rc;
		}
		(*tail)->key = key;
		tail = &(*tail)->next;
		json_skip_ws(ps);
		if (ps->p < ps->end && *ps->p == ',') {
			ps->p++;
			continue;
		}
		if (ps->p < ps->end && *ps->p == close) {
			ps->p++;
			return 0;
		}
		return json_fail(ps, close == '}' ? "expected ',' or '}'" : "expected ',' or ']'");
	}
}

static bool json_literal(struct json_parser *ps, const char *word)
{
	size_t n = strlen(word);

	if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n) != 0)
		return false;
	ps->p += n;
	return true;
}

static int json_value(struct json_parser *ps, struct ga_json **out)
{
	struct ga_json *v;
	int rc = 0;

	json_skip_ws(ps);
	if (ps->p >= ps->end)
		return json_fail(ps, "expected a value");
	v = calloc(1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	*out = v;
	switch (*ps->p) {
	case '{':
	case '[':
		if (++ps->depth > GA_JSON_DEPTH_MAX)
			return json_fail(ps, "nested too deeply");
		v->kind = *ps->p == '{' ? GA_JSON_OBJECT : GA_JSON_ARRAY;
		ps->p++;
		rc = json_container(ps, v, v->kind == GA_JSON_OBJECT ? '}' : ']');
		ps->depth--;
		break;
	case '"':
		v->kind = GA_JSON_STRING;
		rc = json_string(ps, &v->string, &v->len);
		break;
	case 't':
	case 'f':
		v->kind = GA_JSON_BOOL;
		v->boolean = *ps->p == 't';
		if (!json_literal(ps, v->boolean ? "true" : "false"))
			rc = json_fail(ps, "bad literal");
		break;
	case 'n':
		v->kind = GA_JSON_NULL;
		if (!json_literal(ps, "null"))
			rc = json_fail(ps, "bad literal");
		break;
	default:
		v->kind = GA_JSON_NUMBER;
		if (*ps->p == '-' || (*ps->p >= '0' && *ps->p <= '9'))
			rc = json_number(ps, &v->number);
		else
			rc = json_fail(ps, "unexpected character");
		break;
	}
	return rc;
}

int ga_json_parse(const char *text, size_t len, struct ga_json **out, char *why, size_t why_len)
{
	struct json_parser ps = { text, text, text + len, 0, why, why_len };
	struct ga_json *v = NULL;
	int rc;

	*out = NULL;
	rc = json_value(&ps, &v);
	if (rc == 0) {
		json_skip_ws(&ps);
		if (ps.p != ps.end)
			rc = json_fail(&ps, "text after the value");
	}
	if (rc == -ENOMEM && why && why_len)
		snprintf(why, why_len, "out of memory");
	if (rc) {
		ga_json_free(v);
		return rc;
	}
	*out = v;
	return 0;
}

const struct ga_json *ga_json_get(const struct ga_json *obj, const char *key)
{
	const struct ga_json *found = NULL;

	if (!obj || obj->kind != GA_JSON_OBJECT)
		return NULL;
	/* Go assigns members in order, a case-folded name filling the same
	 * field: the last match wins. */
	for (const struct ga_json *m = obj->child; m; m = m->next)
		if (strcasecmp(m->key, key) == 0)
			found = m;
	return found && found->kind != GA_JSON_NULL ? found : NULL;
}

int ga_json_string(const struct ga_json *obj, const char *key, const char **out)
{
	const struct ga_json *v = ga_json_get(obj, key);

	if (!v)
		return -ENOENT;
	if (v->kind != GA_JSON_STRING || strlen(v->string) != v->len)
		return -EINVAL;
	*out = v->string;
	return 0;
}

int ga_json_bool(const struct ga_json *obj, const char *key, bool *out)
{
	const struct ga_json *v = ga_json_get(obj, key);

	if (!v)
		return -ENOENT;
	if (v->kind != GA_JSON_BOOL)
		return -EINVAL;
	*out = v->boolean;
	return 0;
}

int ga_json_uint(const struct ga_json *obj, const char *key, uint64_t max, uint64_t *out)
{
	const struct ga_json *v = ga_json_get(obj, key);

	if (!v)
		return -ENOENT;
	/* Whole and exact: below 2^53 every integer is a double of its own
	 * (2^53 itself may be 2^53 + 1 rounded). */
	if (v->kind != GA_JSON_NUMBER || v->number < 0 || v->number >= 9007199254740992.0 ||
	    v->number != floor(v->number) || (uint64_t)v->number > max)
		return -EINVAL;
	*out = (uint64_t)v->number;
	return 0;
}

/* ---- writing ---- */

static bool buf_reserve(struct ga_buf *b, size_t more)
{
	size_t cap;
	char *grown;

	if (b->failed)
		return false;
	if (b->len + more + 1 <= b->cap)
		return true;
	cap = b->cap ? b->cap : 256;
	while (cap < b->len + more + 1)
		cap *= 2;
	grown = realloc(b->data, cap);
	if (!grown) {
		b->failed = true;
		return false;
	}
	b->data = grown;
	b->cap = cap;
	return true;
}

void ga_buf_add(struct ga_buf *b, const void *data, size_t n)
{
	if (!buf_reserve(b, n))
		return;
	memcpy(b->data + b->len, data, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void ga_buf_puts(struct ga_buf *b, const char *s)
{
	ga_buf_add(b, s, strlen(s));
}

void ga_buf_printf(struct ga_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || !buf_reserve(b, (size_t)n)) {
		b->failed = true;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

/* The length of the UTF-8 sequence at s (at most n bytes), 0 if it is
 * not one: overlong forms, surrogates and values past U+10FFFF are not. */
static size_t json_utf8_len(const unsigned char *s, size_t n)
{
	size_t len;
	unsigned cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp < 0xe000))) ||
	    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return len;
}

void ga_buf_json_string(struct ga_buf *b, const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0;

	/* Worst case six bytes per input byte, reserved once. */
	if (!buf_reserve(b, n * 6 + 2))
		return;
	b->data[b->len++] = '"';
	while (i < n) {
		size_t len = u[i] ? json_utf8_len(u + i, n - i) : 0;
		char *o = b->data + b->len;

		if (len == 0) { /* NUL or not UTF-8: U+FFFD */
			memcpy(o, "\xef\xbf\xbd", 3);
			b->len += 3;
			i++;
		} else if (len > 1) {
			memcpy(o, u + i, len);
			b->len += len;
			i += len;
		} else if (u[i] == '"' || u[i] == '\\') {
			o[0] = '\\';
			o[1] = (char)u[i++];
			b->len += 2;
		} else if (u[i] == '\n' || u[i] == '\t' || u[i] == '\r') {
			o[0] = '\\';
			o[1] = u[i] == '\n' ? 'n' : u[i] == '\t' ? 't' : 'r';
			b->len += 2;
			i++;
		} else if (u[i] < 0x20 || u[i] == 0x7f) {
			snprintf(o, 7, "\\u%04x", u[i++]);
			b->len += 6;
		} else {
			*o = (char)u[i++];
			b->len++;
		}
	}
	b->data[b->len++] = '"';
	b->data[b->len] = '\0';
}

static void buf_key(struct ga_buf *b, const char *key)
{
	ga_buf_puts(b, ",");
	ga_buf_json_string(b, key, strlen(key));
	ga_buf_puts(b, ":");
}

void ga_buf_member_string(struct ga_buf *b, const char *key, const char *value)
{
	buf_key(b, key);
	ga_buf_json_string(b, value, strlen(value));
}

void ga_buf_member_bool(struct ga_buf *b, const char *key, bool value)
{
	buf_key(b, key);
	ga_buf_puts(b, value ? "true" : "false");
}

void ga_buf_member_int(struct ga_buf *b, const char *key, long long value)
{
	buf_key(b, key);
	ga_buf_printf(b, "%lld", value);
}

void ga_buf_free(struct ga_buf *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}
