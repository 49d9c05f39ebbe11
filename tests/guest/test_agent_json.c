/*
 * test_agent_json.c - the guest agent's JSON reader and writer
 * (guest/agent/json.c, compiled in): the grammar, Go's key matching,
 * typed members, and output that stays valid JSON for any bytes.
 */
#include "cutest.h"
#include "json.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdlib.h>

static struct ga_json *parse_ok(const char *text)
{
	struct ga_json *v = NULL;
	char why[128] = "";

	if (ga_json_parse(text, strlen(text), &v, why, sizeof(why)))
		fprintf(stderr, "\n  '%s': %s\n", text, why);
	CU_ASSERT_PTR_NOT_NULL(v);
	return v;
}

static void parse_bad(const char *text, const char *why_has)
{
	struct ga_json *v = NULL;
	char why[128] = "";

	CU_ASSERT_EQUAL(ga_json_parse(text, strlen(text), &v, why, sizeof(why)), -EINVAL);
	CU_ASSERT_PTR_NULL(v);
	if (!strstr(why, why_has))
		fprintf(stderr, "\n  '%s': \"%s\" lacks \"%s\"\n", text, why, why_has);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, why_has));
}

static void test_values(void)
{
	struct ga_json *v = parse_ok(" {\"a\":[1,-2.5e3,true,false,null,\"x\"],\"b\":{}} ");
	const struct ga_json *a = ga_json_get(v, "a"), *e;

	CU_ASSERT_EQUAL(v->kind, GA_JSON_OBJECT);
	CU_ASSERT_EQUAL_FATAL(a->kind, GA_JSON_ARRAY);
	e = a->child;
	CU_ASSERT(e->kind == GA_JSON_NUMBER && e->number == 1);
	e = e->next;
	CU_ASSERT(e->kind == GA_JSON_NUMBER && e->number == -2500);
	e = e->next;
	CU_ASSERT(e->kind == GA_JSON_BOOL && e->boolean);
	e = e->next;
	CU_ASSERT(e->kind == GA_JSON_BOOL && !e->boolean);
	e = e->next;
	CU_ASSERT(e->kind == GA_JSON_NULL);
	e = e->next;
	CU_ASSERT(e->kind == GA_JSON_STRING && strcmp(e->string, "x") == 0);
	CU_ASSERT_PTR_NULL(e->next);
	CU_ASSERT_EQUAL(ga_json_get(v, "b")->kind, GA_JSON_OBJECT);
	ga_json_free(v);
}

static void test_strings(void)
{
	struct ga_json *v = parse_ok("[\"\\\"\\\\\\/\\b\\f\\n\\r\\t\",\"\\u00e9\\u20ac\",\"\\ud83d\\ude00\","
				     "\"\\ud800x\",\"a\\u0000b\",\"\xc3\xa9\"]");
	const struct ga_json *e = v->child;

	CU_ASSERT_STRING_EQUAL(e->string, "\"\\/\b\f\n\r\t");
	e = e->next;
	CU_ASSERT_STRING_EQUAL(e->string, "\xc3\xa9\xe2\x82\xac");
	e = e->next;
	CU_ASSERT_STRING_EQUAL(e->string, "\xf0\x9f\x98\x80"); /* a surrogate pair */
	e = e->next;
	CU_ASSERT_STRING_EQUAL(e->string, "\xef\xbf\xbdx"); /* a lone half: U+FFFD */
	e = e->next;
	CU_ASSERT_EQUAL(e->len, 3); /* a NUL inside */
	e = e->next;
	CU_ASSERT_STRING_EQUAL(e->string, "\xc3\xa9"); /* raw UTF-8 passes */
	ga_json_free(v);
}

static void test_refused(void)
{
	char deep[128];

	parse_bad("", "expected a value");
	parse_bad("{\"a\":1,}", "expected a member name");
	parse_bad("[1 2]", "expected ',' or ']'");
	parse_bad("{\"a\" 1}", "expected ':'");
	parse_bad("\"abc", "unterminated string");
	parse_bad("\"a\tb\"", "control character");
	parse_bad("\"\\x\"", "bad escape");
	parse_bad("\"\\u12g4\"", "bad \\u escape");
	parse_bad("01", "text after the value");
	parse_bad("1.", "bad number");
	parse_bad("-", "bad number");
	parse_bad("1e", "bad number");
	parse_bad("1e999", "out of range");
	parse_bad("tru", "bad literal");
	parse_bad("garbage", "unexpected character at byte 0");
	parse_bad("{} {}", "text after the value at byte 3");
	memset(deep, '[', GA_JSON_DEPTH_MAX + 1);
	deep[GA_JSON_DEPTH_MAX + 1] = '\0';
	parse_bad(deep, "nested too deeply");
}

static void test_go_keys(void)
{
	struct ga_json *v = parse_ok("{\"mountpath\":\"/a\",\"MountPath\":\"/b\",\"LUN\":3,"
				     "\"ReadOnly\":null,\"Lun\":4.5,\"Big\":9007199254740993}");
	const char *s = NULL;
	uint64_t n = 0;
	bool b = true;

	/* Case-insensitive, the last one winning, as encoding/json does. */
	CU_ASSERT_EQUAL(ga_json_string(v, "MountPath", &s), 0);
	CU_ASSERT_STRING_EQUAL(s, "/b");
	CU_ASSERT_EQUAL(ga_json_uint(v, "lun", 255, &n), -EINVAL); /* Lun 4.5 came last */
	CU_ASSERT_EQUAL(ga_json_bool(v, "ReadOnly", &b), -ENOENT); /* null: absent */
	CU_ASSERT(b);
	CU_ASSERT_EQUAL(ga_json_uint(v, "Big", UINT64_MAX, &n), -EINVAL); /* over 2^53 */
	CU_ASSERT_EQUAL(ga_json_string(v, "Nope", &s), -ENOENT);
	CU_ASSERT_EQUAL(ga_json_string(v, "LUN", &s), -EINVAL);
	ga_json_free(v);
	v = parse_ok("{\"Lun\":7,\"Controller\":300}");
	CU_ASSERT_EQUAL(ga_json_uint(v, "Lun", 255, &n), 0);
	CU_ASSERT_EQUAL(n, 7);
	CU_ASSERT_EQUAL(ga_json_uint(v, "Controller", 255, &n), -EINVAL);
	CU_ASSERT_EQUAL(n, 7);
	ga_json_free(v);
}

/* Whatever the bytes, the writer's output is JSON that cJSON reads back to
 * the same text where it was UTF-8. */
static void test_writer(void)
{
	const char raw[] = "a\"\\\n\t\x01\x7f\xc3\xa9\xff\xc0\xaf\xed\xa0\x80\xf4\x90\x80\x80z";
	struct ga_buf b = { 0 };
	cJSON *back;

	ga_buf_puts(&b, "{\"k\":");
	ga_buf_json_string(&b, raw, sizeof(raw) - 1);
	ga_buf_member_bool(&b, "t", true);
	ga_buf_member_int(&b, "n", -42);
	ga_buf_member_string(&b, "s", "x\ny");
	ga_buf_puts(&b, "}");
	CU_ASSERT_FALSE(b.failed);
	back = cJSON_Parse(b.data);
	CU_ASSERT_PTR_NOT_NULL_FATAL(back);
	/* ff, the overlong c0 af, the surrogate ed a0 80 and f4 90 80 80 (past
	 * U+10FFFF) are not UTF-8: each of their ten bytes becomes U+FFFD. */
	CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(back, "k")->valuestring,
			       "a\"\\\n\t\x01\x7f\xc3\xa9\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
			       "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
			       "\xef\xbf\xbd\xef\xbf\xbdz");
	CU_ASSERT(cJSON_IsTrue(cJSON_GetObjectItem(back, "t")));
	CU_ASSERT_EQUAL(cJSON_GetObjectItem(back, "n")->valueint, -42);
	CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(back, "s")->valuestring, "x\ny");
	cJSON_Delete(back);
	ga_buf_free(&b);
	/* A NUL is U+FFFD too: the string must not end early on the way. */
	ga_buf_json_string(&b, "a\0b", 3);
	CU_ASSERT_STRING_EQUAL(b.data, "\"a\xef\xbf\xbd" "b\"");
	ga_buf_free(&b);
}

int main(void)
{
	static const struct cutest_case cases[] = {
		{ "values", test_values },
		{ "strings", test_strings },
		{ "refused", test_refused },
		{ "Go's key matching and typed members", test_go_keys },
		{ "writer", test_writer },
		{ NULL, NULL },
	};

	return cutest_run("agent json", cases, NULL);
}
