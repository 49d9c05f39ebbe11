/*
 * fuzz_agent_json.c - libFuzzer target for the guest agent's JSON reader
 * (guest/agent/json.c), which reads whatever arrives at the agent's port.
 * Oracles: a refusal says what and at which byte (within the input); an
 * accepted value's strings hold their stated lengths, member lookups on
 * it are safe, and every string written back (ga_buf_json_string) is
 * valid JSON that cJSON reads.
 */
#include "fuzz_check.h"
#include "json.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void walk(const struct ga_json *v, int depth)
{
	FUZZ_CHECK(depth <= GA_JSON_DEPTH_MAX + 1);
	for (; v; v = v->next) {
		if (v->kind == GA_JSON_STRING) {
			struct ga_buf b = { 0 };
			cJSON *back;

			FUZZ_CHECK(v->string && v->string[v->len] == '\0');
			FUZZ_CHECK(strlen(v->string) <= v->len);
			ga_buf_json_string(&b, v->string, v->len);
			FUZZ_CHECK(!b.failed);
			back = cJSON_ParseWithLength(b.data, b.len);
			FUZZ_CHECK(cJSON_IsString(back));
			cJSON_Delete(back);
			ga_buf_free(&b);
		}
		if (v->kind == GA_JSON_OBJECT) {
			const char *s;
			uint64_t n;
			bool t;

			for (const struct ga_json *m = v->child; m; m = m->next)
				FUZZ_CHECK(m->key != NULL);
			ga_json_string(v, "MountPath", &s);
			ga_json_uint(v, "Lun", 255, &n);
			ga_json_bool(v, "ReadOnly", &t);
		}
		walk(v->child, depth + 1);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ga_json *v = NULL;
	char why[160] = "";
	int rc = ga_json_parse((const char *)data, size, &v, why, sizeof(why));

	if (rc) {
		const char *at = strstr(why, " at byte ");

		FUZZ_CHECK(rc == -EINVAL || rc == -ENOMEM);
		FUZZ_CHECK(v == NULL);
		FUZZ_CHECK(rc == -ENOMEM || (at && strtoull(at + 9, NULL, 10) <= size));
		return 0;
	}
	FUZZ_CHECK(v != NULL);
	walk(v, 0);
	ga_json_free(v);
	return 0;
}
