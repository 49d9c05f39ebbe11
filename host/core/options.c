/* options.c - see options.h. */
#include "options.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <strings.h>

int lh_parse_bool(const char *text, bool *out)
{
	static const char *const yes[] = { "true", "yes", "on", "1" };
	static const char *const no[] = { "false", "no", "off", "0" };

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(text, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(text, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return -EINVAL;
}

int lh_parse_int64(const char *text, int64_t *out)
{
	char *end;
	long long v;

	/* Decimal, or hex with 0x: a leading zero is not octal in an INI file. */
	bool hex = (text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) ||
		   ((text[0] == '-' || text[0] == '+') && text[1] == '0' &&
		    (text[2] == 'x' || text[2] == 'X'));

	errno = 0;
	v = strtoll(text, &end, hex ? 16 : 10);
	if (end == text || *end != '\0')
		return -EINVAL;
	if (errno == ERANGE)
		return -ERANGE;
	*out = v;
	return 0;
}

int lh_parse_size(const char *text, uint64_t *out)
{
	char *end;
	unsigned long long v;
	unsigned shift = 0;

	/* strtoull skips blanks and negates a '-' after them: " -1" would
	 * come back as 2^64 - 1. A size starts with a digit. */
	if (!isdigit((unsigned char)text[0]))
		return -EINVAL;
	errno = 0;
	/* As for integers: decimal or 0x hex, never octal ("010M" is 10M). */
	v = strtoull(text, &end, text[0] == '0' && (text[1] == 'x' || text[1] == 'X') ? 16 : 10);
	if (end == text)
		return -EINVAL;
	if (errno == ERANGE)
		return -ERANGE;
	switch (*end) {
	case '\0': break;
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	case 't': case 'T': shift = 40; end++; break;
	default: return -EINVAL;
	}
	if (shift && (*end == 'i' || *end == 'I'))
		end++;
	if (shift && (*end == 'b' || *end == 'B'))
		end++;
	if (*end != '\0')
		return -EINVAL;
	if (shift && v > (UINT64_MAX >> shift))
		return -ERANGE;
	*out = (uint64_t)v << shift;
	return 0;
}

const struct lh_option *lh_option_at(const struct lh_option_list *list, size_t i)
{
	const struct lh_option *o;

	if (!list->options)
		return NULL;
	o = (const struct lh_option *)((const char *)list->options + i * list->stride);
	return o->name ? o : NULL;
}

const struct lh_option *lh_option_find(const struct lh_option_list *list, const char *name)
{
	const struct lh_option *o;

	for (size_t i = 0; (o = lh_option_at(list, i)); i++)
		if (strcmp(o->name, name) == 0)
			return o;
	return NULL;
}

/* The bytes the option's value takes in priv. */
static size_t option_field_size(const struct lh_option *o)
{
	switch (o->type) {
	case LH_OPT_BOOL:
		return sizeof(bool);
	case LH_OPT_INT:
		return sizeof(int64_t);
	case LH_OPT_SIZE:
		return sizeof(uint64_t);
	case LH_OPT_STRING:
		return o->max > 0 ? (size_t)o->max : 0;
	default:
		return 0;
	}
}

int lh_options_check_layout(const struct lh_option_list *list, size_t priv_size,
			    const char *file, struct lh_error *err)
{
	const struct lh_option *o;

	for (size_t i = 0; (o = lh_option_at(list, i)); i++) {
		size_t size = option_field_size(o);

		if (size == 0)
			return LH_FAIL(err, -LH_EUNSUPPORTED, "%s: plugin %s: option '%s' has an "
				       "unknown type %d or no room", file, list->plugin, o->name,
				       (int)o->type);
		if (o->offset > priv_size || size > priv_size - o->offset)
			return LH_FAIL(err, -LH_EUNSUPPORTED, "%s: plugin %s: option '%s' at offset "
				       "%zu (%zu bytes) lies outside its %zu-byte priv", file,
				       list->plugin, o->name, o->offset, size, priv_size);
	}
	return 0;
}

int lh_option_set(const struct lh_option *opt, void *priv, const char *value,
		  const char *where, struct lh_error *err)
{
	char *field = (char *)priv + opt->offset;
	int rc = 0;

	switch (opt->type) {
	case LH_OPT_BOOL: {
		bool b;

		if (lh_parse_bool(value, &b))
			return LH_FAIL(err, -LH_ECONFIG, "%s: '%s' is not a boolean (true/false)",
				       where, value);
		memcpy(field, &b, sizeof(b));
		break;
	}
	case LH_OPT_INT: {
		int64_t v;

		rc = lh_parse_int64(value, &v);
		if (rc)
			return LH_FAIL(err, -LH_ECONFIG, "%s: '%s' is not an integer", where, value);
		if (v < opt->min || v > opt->max)
			return LH_FAIL(err, -LH_ECONFIG, "%s: %" PRId64 " is out of range %" PRId64
				       "..%" PRId64, where, v, opt->min, opt->max);
		memcpy(field, &v, sizeof(v));
		break;
	}
	case LH_OPT_SIZE: {
		uint64_t v;

		rc = lh_parse_size(value, &v);
		if (rc)
			return LH_FAIL(err, -LH_ECONFIG, "%s: '%s' is not a size (bytes, or with K/M/G/T)",
				       where, value);
		if (v < (uint64_t)opt->min || v > (uint64_t)opt->max)
			return LH_FAIL(err, -LH_ECONFIG, "%s: %" PRIu64 " is out of range %" PRId64
				       "..%" PRId64, where, v, opt->min, opt->max);
		memcpy(field, &v, sizeof(v));
		break;
	}
	case LH_OPT_STRING: {
		size_t len = strlen(value);

		if (opt->max <= 0 || len >= (size_t)opt->max)
			return LH_FAIL(err, -LH_ECONFIG, "%s: value is %zu bytes, at most %" PRId64
				       " allowed", where, len, opt->max > 0 ? opt->max - 1 : 0);
		memcpy(field, value, len + 1);
		break;
	}
	default:
		return LH_FAIL(err, -LH_ECONFIG, "%s: option has an unknown type %d", where,
			       (int)opt->type);
	}
	return 0;
}

int lh_options_apply(const struct lh_option_list *list, void *priv, const char *key,
		     const char *value, const char *where, struct lh_error *err)
{
	const struct lh_option *opt = lh_option_find(list, key), *o;
	char known[256] = "";

	if (opt)
		return lh_option_set(opt, priv, value, where, err);
	for (size_t i = 0; (o = lh_option_at(list, i)); i++)
		snprintf(known + strlen(known), sizeof(known) - strlen(known), "%s%s",
			 known[0] ? ", " : "", o->name);
	return LH_FAIL(err, -LH_ECONFIG, "%s: unknown key (plugin %s takes: %s)", where,
		       list->plugin, known[0] ? known : "no keys");
}

int lh_options_set_defaults(const struct lh_option_list *list, void *priv,
			    struct lh_error *err)
{
	const struct lh_option *o;
	char where[256];
	int rc;

	for (size_t i = 0; (o = lh_option_at(list, i)); i++) {
		if (!o->default_value)
			continue;
		snprintf(where, sizeof(where), "plugin %s: default of %s", list->plugin, o->name);
		rc = lh_option_set(o, priv, o->default_value, where, err);
		if (rc)
			return rc;
	}
	return 0;
}
