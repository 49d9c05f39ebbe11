/*
 * test_options.c - INI value parsers and plugin option tables: every type,
 * suffixes, ranges and bounds, messages naming the place, defaults, and a
 * priv left untouched by a refused value.
 */
#include "cutest.h"

#include "options.h"

#include <errno.h>
#include <stddef.h>

struct opt_priv {
	bool flag;
	int64_t count;
	uint64_t size;
	char label[16];
	int64_t untouched;
};

static const struct lh_option opt_table[] = {
	{ .name = "flag", .type = LH_OPT_BOOL, .offset = offsetof(struct opt_priv, flag),
	  .default_value = "yes", .help = "a switch" },
	{ .name = "count", .type = LH_OPT_INT, .offset = offsetof(struct opt_priv, count),
	  .min = -5, .max = 64, .default_value = "4", .help = "how many" },
	{ .name = "size", .type = LH_OPT_SIZE, .offset = offsetof(struct opt_priv, size),
	  .min = 4096, .max = (int64_t)4 << 30, .default_value = "1M", .help = "how big" },
	{ .name = "label", .type = LH_OPT_STRING, .offset = offsetof(struct opt_priv, label),
	  .max = 16, .default_value = "scsi", .help = "a name" },
	{ .name = "untouched", .type = LH_OPT_INT, .offset = offsetof(struct opt_priv, untouched),
	  .min = 0, .max = 10, .help = "no default" },
	{ .name = NULL },
};

#define WHERE "layers.ini:12 [plugin.test]"

static void test_parse_bool(void)
{
	static const char *const yes[] = { "true", "TRUE", "yes", "Yes", "on", "ON", "1" };
	static const char *const no[] = { "false", "False", "no", "NO", "off", "Off", "0" };
	static const char *const bad[] = { "", "2", "tru", "yes ", " on", "y", "-1", "enable" };
	bool b;

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		b = false;
		CU_ASSERT_EQUAL(lh_parse_bool(yes[i], &b), 0);
		CU_ASSERT_TRUE(b);
	}
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		b = true;
		CU_ASSERT_EQUAL(lh_parse_bool(no[i], &b), 0);
		CU_ASSERT_FALSE(b);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		b = true;
		CU_ASSERT_EQUAL(lh_parse_bool(bad[i], &b), -EINVAL);
		CU_ASSERT_TRUE(b); /* untouched */
	}
}

static void test_parse_int(void)
{
	static const struct {
		const char *text;
		int rc;
		int64_t value;
	} cases[] = {
		{ "0", 0, 0 },
		{ "42", 0, 42 },
		{ "-7", 0, -7 },
		{ "+9", 0, 9 },
		{ "0x10", 0, 16 },
		{ "010", 0, 10 },
		{ "9223372036854775807", 0, INT64_MAX },
		{ "-9223372036854775808", 0, INT64_MIN },
		{ "9223372036854775808", -ERANGE, 0 },
		{ "-9223372036854775809", -ERANGE, 0 },
		{ "", -EINVAL, 0 },
		{ "12abc", -EINVAL, 0 },
		{ "4K", -EINVAL, 0 },
		{ "1.5", -EINVAL, 0 },
		{ "abc", -EINVAL, 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int64_t v = 777;
		int rc = lh_parse_int64(cases[i].text, &v);

		if (rc != cases[i].rc)
			fprintf(stderr, "\n  '%s': rc %d, want %d\n", cases[i].text, rc, cases[i].rc);
		CU_ASSERT_EQUAL(rc, cases[i].rc);
		CU_ASSERT_EQUAL(v, rc ? 777 : cases[i].value);
	}
}

static void test_parse_size(void)
{
	static const struct {
		const char *text;
		int rc;
		uint64_t value;
	} cases[] = {
		{ "0", 0, 0 },
		{ "512", 0, 512 },
		{ "4K", 0, 4096 },
		{ "4k", 0, 4096 },
		{ "4Ki", 0, 4096 },
		{ "4KiB", 0, 4096 },
		{ "4kib", 0, 4096 },
		{ "3M", 0, 3ull << 20 },
		{ "3MiB", 0, 3ull << 20 },
		{ "2G", 0, 2ull << 30 },
		{ "2Gi", 0, 2ull << 30 },
		{ "1T", 0, 1ull << 40 },
		{ "1TiB", 0, 1ull << 40 },
		{ "0x1000", 0, 4096 },
		{ "010", 0, 10 },
		{ "0100M", 0, 100ull << 20 },
		{ "18446744073709551615", 0, UINT64_MAX },
		{ "16777215T", 0, 16777215ull << 40 },
		{ "16777216T", -ERANGE, 0 },
		{ "18446744073709551616", -ERANGE, 0 },
		{ "", -EINVAL, 0 },
		{ "-1", -EINVAL, 0 },
		{ " -1", -EINVAL, 0 },
		{ "1.5G", -EINVAL, 0 },
		{ "5X", -EINVAL, 0 },
		{ "4i", -EINVAL, 0 },
		{ "4KiBs", -EINVAL, 0 },
		{ "K", -EINVAL, 0 },
		{ "4 K", -EINVAL, 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t v = 777;
		int rc = lh_parse_size(cases[i].text, &v);

		if (rc != cases[i].rc)
			fprintf(stderr, "\n  '%s': rc %d, want %d\n", cases[i].text, rc, cases[i].rc);
		CU_ASSERT_EQUAL(rc, cases[i].rc);
		CU_ASSERT_EQUAL(v, rc ? 777 : cases[i].value);
	}
}

static void test_find(void)
{
	struct lh_option_list list = LH_OPTION_LIST("test", opt_table);
	struct lh_option_list none = LH_OPTION_LIST("test", NULL);

	CU_ASSERT_PTR_EQUAL(lh_option_find(&list, "size"), &opt_table[2]);
	CU_ASSERT_PTR_NULL(lh_option_find(&list, "Size"));
	CU_ASSERT_PTR_NULL(lh_option_find(&list, "nope"));
	CU_ASSERT_PTR_NULL(lh_option_find(&none, "size"));
}

/* A plugin built against a grown header has bigger option entries: the
 * host steps by the plugin's size and reads the fields it knows. */
static void test_find_with_a_larger_stride(void)
{
	struct grown {
		struct lh_option opt;
		char later_fields[40];
	} grown[] = {
		{ .opt = opt_table[0] },
		{ .opt = opt_table[2] },
		{ .opt = { .name = NULL } },
	};
	struct lh_option_list list = { "test", &grown[0].opt, sizeof(grown[0]) };

	memset(grown[0].later_fields, 0xff, sizeof(grown[0].later_fields));
	CU_ASSERT_PTR_EQUAL(lh_option_find(&list, "size"), &grown[1].opt);
	CU_ASSERT_PTR_NULL(lh_option_find(&list, "count"));
}

/* A field outside the plugin's priv is refused at load, naming it. */
static void test_layout_checked_against_priv(void)
{
	struct lh_option_list list = LH_OPTION_LIST("test", opt_table);
	struct lh_error err = { 0 };

	CU_ASSERT_EQUAL(lh_options_check_layout(&list, sizeof(struct opt_priv), "t.so", &err), 0);
	CU_ASSERT_EQUAL(lh_options_check_layout(&list, offsetof(struct opt_priv, label) + 4,
						"t.so", &err), -LH_EUNSUPPORTED);
	ASSERT_MSG_HAS(err, "t.so");
	ASSERT_MSG_HAS(err, "option 'label'");
	ASSERT_MSG_HAS(err, "outside");
}

static void test_defaults(void)
{
	struct opt_priv p;
	struct lh_error err = { 0 };

	memset(&p, 0, sizeof(p));
	p.untouched = 3;
	CU_ASSERT_EQUAL(lh_options_set_defaults(&LH_OPTION_LIST("test", opt_table), &p, &err), 0);
	CU_ASSERT_TRUE(p.flag);
	CU_ASSERT_EQUAL(p.count, 4);
	CU_ASSERT_EQUAL(p.size, 1u << 20);
	CU_ASSERT_STRING_EQUAL(p.label, "scsi");
	CU_ASSERT_EQUAL(p.untouched, 3); /* no default: left as it was */
	CU_ASSERT_EQUAL(lh_options_set_defaults(&LH_OPTION_LIST("test", NULL), &p, &err), 0);
}

static void test_bad_default(void)
{
	static const struct lh_option broken[] = {
		{ .name = "count", .type = LH_OPT_INT, .offset = offsetof(struct opt_priv, count),
		  .min = 0, .max = 10, .default_value = "11" },
		{ .name = NULL },
	};
	struct opt_priv p;
	struct lh_error err = { 0 };

	memset(&p, 0, sizeof(p));
	CU_ASSERT_EQUAL(lh_options_set_defaults(&LH_OPTION_LIST("vpmem", broken), &p, &err), -LH_ECONFIG);
	ASSERT_MSG_HAS(err, "plugin vpmem: default of count");
	ASSERT_MSG_HAS(err, "11 is out of range 0..10");
	CU_ASSERT_EQUAL(p.count, 0);
}

/* Setting `value` for option `name` is refused naming the place and
 * `what`, and priv does not change at all. */
static void expect_refused(const char *name, const char *value, const char *what)
{
	const struct lh_option *opt = lh_option_find(&LH_OPTION_LIST("test", opt_table), name);
	struct opt_priv p, before;
	struct lh_error err = { 0 };
	char where[128];

	CU_ASSERT_PTR_NOT_NULL_FATAL(opt);
	memset(&p, 0, sizeof(p));
	CU_ASSERT_EQUAL(lh_options_set_defaults(&LH_OPTION_LIST("test", opt_table), &p, &err), 0);
	before = p;
	snprintf(where, sizeof(where), WHERE " %s", name);
	CU_ASSERT_EQUAL(lh_option_set(opt, &p, value, where, &err), -LH_ECONFIG);
	CU_ASSERT_EQUAL(err.code, -LH_ECONFIG);
	ASSERT_MSG_HAS(err, where);
	ASSERT_MSG_HAS(err, what);
	CU_ASSERT(memcmp(&p, &before, sizeof(p)) == 0);
}

static void test_set_values(void)
{
	struct opt_priv p;
	struct lh_error err = { 0 };
	char fifteen[16];

	memset(&p, 0, sizeof(p));
	CU_ASSERT_EQUAL(lh_option_set(&opt_table[0], &p, "off", WHERE " flag", &err), 0);
	CU_ASSERT_FALSE(p.flag);
	CU_ASSERT_EQUAL(lh_option_set(&opt_table[1], &p, "-5", WHERE " count", &err), 0);
	CU_ASSERT_EQUAL(p.count, -5);
	CU_ASSERT_EQUAL(lh_option_set(&opt_table[1], &p, "64", WHERE " count", &err), 0);
	CU_ASSERT_EQUAL(p.count, 64);
	CU_ASSERT_EQUAL(lh_option_set(&opt_table[2], &p, "4K", WHERE " size", &err), 0);
	CU_ASSERT_EQUAL(p.size, 4096);
	CU_ASSERT_EQUAL(lh_option_set(&opt_table[2], &p, "4GiB", WHERE " size", &err), 0);
	CU_ASSERT_EQUAL(p.size, 4ull << 30);
	memset(fifteen, 'x', 15);
	fifteen[15] = '\0';
	CU_ASSERT_EQUAL(lh_option_set(&opt_table[3], &p, fifteen, WHERE " label", &err), 0);
	CU_ASSERT_STRING_EQUAL(p.label, fifteen);
	CU_ASSERT_EQUAL(lh_option_set(&opt_table[3], &p, "", WHERE " label", &err), 0);
	CU_ASSERT_STRING_EQUAL(p.label, "");
	CU_ASSERT_EQUAL(err.code, 0);
}

static void test_refusals(void)
{
	expect_refused("flag", "maybe", "'maybe' is not a boolean");
	expect_refused("count", "ten", "'ten' is not an integer");
	expect_refused("count", "65", "65 is out of range -5..64");
	expect_refused("count", "-6", "-6 is out of range -5..64");
	expect_refused("count", "99999999999999999999", "is not an integer");
	expect_refused("size", "4095", "4095 is out of range 4096..4294967296");
	expect_refused("size", "5G", "5368709120 is out of range 4096..4294967296");
	expect_refused("size", "1.5G", "'1.5G' is not a size");
	expect_refused("size", "-4K", "'-4K' is not a size");
	expect_refused("label", "sixteen-bytes-xx", "value is 16 bytes, at most 15 allowed");
}

int main(void)
{
	static const struct cutest_case cases[] = {
		{ "parse bool", test_parse_bool },
		{ "parse int64", test_parse_int },
		{ "parse size and suffixes", test_parse_size },
		{ "find", test_find },
		{ "find steps by the plugin's entry size", test_find_with_a_larger_stride },
		{ "option fields must lie inside priv", test_layout_checked_against_priv },
		{ "defaults", test_defaults },
		{ "a bad default names the plugin", test_bad_default },
		{ "set every type", test_set_values },
		{ "refusals name the place, priv untouched", test_refusals },
		{ NULL, NULL },
	};

	return cutest_run("options", cases, NULL);
}
