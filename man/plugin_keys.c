/*
 * plugin_keys.c - the build-time generator of layerhost.ini(5)'s plugin
 * keys and limits, so that the page says what the built program does.
 *
 *   lh-man-plugin-keys keys PLUGIN_DIR NAME...   mdoc for each plugin's keys
 *   lh-man-plugin-keys max-line                  mdoc on the longest INI line taken
 *
 * `keys` loads each plugin through the host's loader (the checks every
 * run of layerhost makes) and prints its lh_option table walked as the
 * host walks it; `max-line` asks the host's own config parser. The page
 * cannot drift from the tables or the parser: both are read, not copied.
 */
#include "backend_calls.h"
#include "config.h"
#include "loader.h"
#include "options.h"

#include <inttypes.h>
#include <stdlib.h>

/* Text for an mdoc line: a backslash is "\e"; a line that would start
 * with a control character gets "\&" in front. */
static void keys_put_text(const char *text)
{
	if (text[0] == '.' || text[0] == '\'')
		fputs("\\&", stdout);
	for (const char *c = text; *c; c++) {
		if (*c == '\\')
			fputs("\\e", stdout);
		else
			putchar(*c);
	}
}

/* A macro argument, quoted so that blanks do not split it. */
static void keys_put_arg(const char *text)
{
	putchar('"');
	for (const char *c = text; *c; c++) {
		if (*c == '\\')
			fputs("\\e", stdout);
		else if (*c == '"')
			fputs("\\(dq", stdout);
		else
			putchar(*c);
	}
	putchar('"');
}

/* A byte count the way a user writes it: 4096 is 4K, 4294967296 is 4G. */
static void keys_format_size(uint64_t bytes, char *buf, size_t cap)
{
	static const char suffixes[] = "KMGT";
	int unit = -1;

	while (unit < 3 && bytes && bytes % 1024 == 0) {
		bytes /= 1024;
		unit++;
	}
	if (unit < 0)
		snprintf(buf, cap, "%" PRIu64, bytes);
	else
		snprintf(buf, cap, "%" PRIu64 "%c", bytes, suffixes[unit]);
}

static const char *keys_type_name(enum lh_option_type type)
{
	switch (type) {
	case LH_OPT_BOOL: return "boolean";
	case LH_OPT_INT: return "integer";
	case LH_OPT_SIZE: return "size";
	case LH_OPT_STRING: return "string";
	default: return "value";
	}
}

/* The range sentence of one key; nothing for a boolean. */
static void keys_put_range(const struct lh_option *o)
{
	char lo[32], hi[32];

	switch (o->type) {
	case LH_OPT_INT:
		if (o->max == INT64_MAX)
			printf("At least %" PRId64 ".\n", o->min);
		else
			printf("From %" PRId64 " to %" PRId64 ".\n", o->min, o->max);
		break;
	case LH_OPT_SIZE:
		keys_format_size((uint64_t)o->min, lo, sizeof(lo));
		keys_format_size((uint64_t)o->max, hi, sizeof(hi));
		if (o->max == INT64_MAX)
			printf("At least %s bytes.\n", lo);
		else
			printf("From %s to %s bytes.\n", lo, hi);
		break;
	case LH_OPT_STRING:
		printf("At most %" PRId64 " bytes.\n", o->max > 0 ? o->max - 1 : 0);
		break;
	default:
		break;
	}
}

static void keys_put_default(const struct lh_option *o)
{
	const char *value = o->default_value;

	if (!value)
		value = o->type == LH_OPT_BOOL ? "false" : o->type == LH_OPT_STRING ? "" : "0";
	if (!value[0]) {
		puts("Default: empty.");
		return;
	}
	printf("Default:\n.Ql ");
	keys_put_arg(value);
	if (o->type == LH_OPT_SIZE) {
		uint64_t bytes;

		if (lh_parse_size(value, &bytes) == 0 && strcmp(value, "0") != 0) {
			char plain[32];

			snprintf(plain, sizeof(plain), "%" PRIu64, bytes);
			if (strcmp(plain, value) != 0) {
				printf("\n(%s bytes).\n", plain);
				return;
			}
		}
	}
	puts(" .");
}

static int keys_print_plugin(const char *dirs, const char *name)
{
	struct lh_plugin *plugin = NULL;
	struct lh_error err = { 0 };
	struct lh_option_list list;
	const struct lh_option *o;
	const char *file;

	if (lh_plugin_load(dirs, name, &plugin, &err)) {
		fprintf(stderr, "lh-man-plugin-keys: %s\n", err.message);
		return 1;
	}
	list = lh_backend_options(plugin->ops);
	file = strrchr(plugin->path, '/') ? strrchr(plugin->path, '/') + 1 : plugin->path;
	printf(".Ss \\&[plugin.%s]\\&\n", plugin->ops->name);
	printf("The keys the\n.Pa %s\nbackend declares (backend ABI v%u).\n", file,
	       plugin->ops->abi_version);
	if (!lh_option_at(&list, 0)) {
		puts("It takes no keys.");
		lh_plugin_unload(plugin);
		return 0;
	}
	puts(".Bl -tag -width Ds");
	for (size_t i = 0; (o = lh_option_at(&list, i)); i++) {
		printf(".It Cm %s No = Ar %s\n", o->name, keys_type_name(o->type));
		if (o->help && o->help[0]) {
			char first = o->help[0];

			/* The tables' help is a lower-case phrase: a sentence here. */
			if (first >= 'a' && first <= 'z')
				putchar(first - 'a' + 'A');
			else
				putchar(first);
			keys_put_text(o->help + 1);
			puts(".");
		}
		keys_put_range(o);
		keys_put_default(o);
	}
	puts(".El");
	lh_plugin_unload(plugin);
	return 0;
}

/* Whether the host's parser takes a file holding a comment line of `len`
 * characters (newline not counted). */
static bool keys_line_accepted(size_t len)
{
	struct lh_config *cfg = NULL;
	char *text = malloc(len + 16);
	bool ok;

	if (!text)
		return false;
	memcpy(text, "[host]\n;", 8);
	memset(text + 8, 'x', len - 1);
	memcpy(text + 7 + len, "\n", 2);
	ok = lh_config_parse(text, "probe.ini", "/", &cfg, NULL) == 0;
	lh_config_free(cfg);
	free(text);
	return ok;
}

/* The page's sentence on line length: the longest line the parser takes,
 * found by bisection, or none when it takes a line of a megabyte. */
static int keys_print_max_line(void)
{
	size_t lo = 1, hi = (size_t)1 << 20;

	if (!keys_line_accepted(lo)) {
		fprintf(stderr, "lh-man-plugin-keys: the parser refuses a one-character line\n");
		return 1;
	}
	if (keys_line_accepted(hi)) {
		puts("Lines may be of any length.");
		return 0;
	}
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (keys_line_accepted(mid))
			lo = mid;
		else
			hi = mid;
	}
	printf("A line holds at most\n.Sy %zu\ncharacters, blanks and comments included; a longer "
	       "line is refused.\nSplit a long list over continuation lines.\n", lo);
	return 0;
}

int main(int argc, char **argv)
{
	int rc = 0;

	if (argc == 2 && strcmp(argv[1], "max-line") == 0)
		return keys_print_max_line();
	if (argc < 3 || strcmp(argv[1], "keys") != 0) {
		fputs("usage: lh-man-plugin-keys keys PLUGIN_DIR NAME...\n"
		      "       lh-man-plugin-keys max-line\n", stderr);
		return 2;
	}
	puts(".\\\" Generated by lh-man-plugin-keys from the built plugins' option tables.");
	for (int i = 3; i < argc && rc == 0; i++)
		rc = keys_print_plugin(argv[2], argv[i]);
	return rc;
}
