/*
 * test_plugin_common.c - the plugins' shared helpers on their own: the
 * hash map (growth, deletion inside collision chains, many entries, what
 * iteration guarantees), handle lists and growing arrays, creation-order
 * lists, and the request builder.
 */
#include "cutest.h"

#include "lh_handles.h"
#include "lh_list.h"
#include "lh_map.h"
#include "lh_request.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#define MANY 100000

/* Values are never NULL: a value for integer i. */
#define VAL(i) ((void *)(uintptr_t)((i) + 1))
#define IDX(v) ((size_t)(uintptr_t)(v) - 1)

static bool is_pow2(size_t n)
{
	return n && (n & (n - 1)) == 0;
}

/* The map's load promise: probes always meet an empty slot. */
static void assert_load(const struct lh_map *m)
{
	CU_ASSERT(m->cap == 0 || is_pow2(m->cap));
	CU_ASSERT(m->count <= m->used);
	CU_ASSERT(m->used * 4 <= m->cap * 3);
}

/* ---- hashing --------------------------------------------------------------- */

static void test_hash(void)
{
	const char *parts[] = { "foo", "bar" };
	uint64_t h = LH_HASH_INIT;
	unsigned char buckets[16] = { 0 };
	int used = 0;

	/* FNV-1a 64 reference values. */
	CU_ASSERT_EQUAL(lh_hash_string(""), UINT64_C(0xcbf29ce484222325));
	CU_ASSERT_EQUAL(lh_hash_string("a"), UINT64_C(0xaf63dc4c8601ec8c));
	CU_ASSERT_EQUAL(lh_hash_string("foobar"), UINT64_C(0x85944171f73967e8));
	/* A composite key hashed part by part is the hash of the whole. */
	for (int i = 0; i < 2; i++)
		h = lh_hash_bytes(h, parts[i], strlen(parts[i]));
	CU_ASSERT_EQUAL(h, lh_hash_string("foobar"));
	/* Consecutive handles land in many different low-bit buckets. */
	for (uint64_t i = 0; i < 16; i++)
		buckets[lh_hash_u64(i) & 15] = 1;
	for (int i = 0; i < 16; i++)
		used += buckets[i];
	CU_ASSERT(used >= 8);
	CU_ASSERT_NOT_EQUAL(lh_hash_u64(0), 0);
}

/* ---- integer and string keys ---------------------------------------------- */

static void test_map_u64_many(void)
{
	struct lh_map m;
	size_t cap_before;

	lh_map_init(&m, LH_MAP_U64, NULL);
	CU_ASSERT_PTR_NULL(lh_map_get_u64(&m, 1)); /* empty, no table yet */
	CU_ASSERT_PTR_NULL(lh_map_del_u64(&m, 1));
	for (uint64_t i = 0; i < MANY; i++) {
		CU_ASSERT_EQUAL_FATAL(lh_map_put_u64(&m, i * 7, VAL(i)), 0);
		if (is_pow2(i + 1))
			assert_load(&m);
	}
	CU_ASSERT_EQUAL(m.count, MANY);
	CU_ASSERT(m.cap >= MANY * 4 / 3);
	assert_load(&m);
	for (uint64_t i = 0; i < MANY; i++) {
		CU_ASSERT_PTR_EQUAL(lh_map_get_u64(&m, i * 7), VAL(i));
		CU_ASSERT_PTR_NULL(lh_map_get_u64(&m, i * 7 + 1));
	}
	/* Delete every other one: the rest is still found, the table stays. */
	cap_before = m.cap;
	for (uint64_t i = 0; i < MANY; i += 2)
		CU_ASSERT_PTR_EQUAL(lh_map_del_u64(&m, i * 7), VAL(i));
	CU_ASSERT_EQUAL(m.count, MANY / 2);
	CU_ASSERT_EQUAL(m.cap, cap_before);
	for (uint64_t i = 0; i < MANY; i++)
		CU_ASSERT_PTR_EQUAL(lh_map_get_u64(&m, i * 7), i % 2 ? VAL(i) : NULL);
	CU_ASSERT_PTR_NULL(lh_map_del_u64(&m, 0)); /* already gone */
	lh_map_fini(&m);
	CU_ASSERT_EQUAL(m.count, 0);
	CU_ASSERT_EQUAL(m.cap, 0);
	/* fini keeps the kind: the map is usable again. */
	CU_ASSERT_EQUAL(lh_map_put_u64(&m, 5, VAL(5)), 0);
	CU_ASSERT_PTR_EQUAL(lh_map_get_u64(&m, 5), VAL(5));
	lh_map_fini(&m);
}

static void test_map_zeroed_is_u64(void)
{
	struct lh_map m = { 0 };

	CU_ASSERT_EQUAL(lh_map_put_u64(&m, 42, VAL(42)), 0);
	CU_ASSERT_PTR_EQUAL(lh_map_get_u64(&m, 42), VAL(42));
	lh_map_fini(&m);
}

static void test_map_strings(void)
{
	static char keys[2000][16];
	char probe[16];
	struct lh_map m;

	lh_map_init(&m, LH_MAP_STRING, NULL);
	for (int i = 0; i < 2000; i++) {
		snprintf(keys[i], sizeof(keys[i]), "layer-%d", i);
		CU_ASSERT_EQUAL_FATAL(lh_map_put_str(&m, keys[i], VAL(i)), 0);
	}
	/* Found by content, not by the address the key was put with. */
	for (int i = 0; i < 2000; i++) {
		snprintf(probe, sizeof(probe), "layer-%d", i);
		CU_ASSERT_PTR_EQUAL(lh_map_get_str(&m, probe), VAL(i));
	}
	CU_ASSERT_PTR_NULL(lh_map_get_str(&m, "layer-2000"));
	CU_ASSERT_PTR_NULL(lh_map_get_str(&m, ""));
	snprintf(probe, sizeof(probe), "layer-%d", 1234);
	CU_ASSERT_PTR_EQUAL(lh_map_del_str(&m, probe), VAL(1234));
	CU_ASSERT_PTR_NULL(lh_map_get_str(&m, keys[1234]));
	CU_ASSERT_EQUAL(m.count, 1999);
	assert_load(&m);
	lh_map_fini(&m);
}

/* ---- deletion inside collision chains ------------------------------------- */

struct item {
	uint64_t hash; /* chosen by the test: collisions on purpose */
	int id;
};

static bool item_is(const void *value, const void *key)
{
	return ((const struct item *)value)->id == *(const int *)key;
}

static void test_map_delete_in_chains(void)
{
	struct item items[300];
	struct lh_map m;

	lh_map_init(&m, LH_MAP_CUSTOM, item_is);
	/* Three chains of 100 equal hashes, interleaved in the table. */
	for (int i = 0; i < 300; i++) {
		items[i] = (struct item){ .hash = (uint64_t)(i % 3), .id = i };
		CU_ASSERT_EQUAL_FATAL(lh_map_put(&m, items[i].hash, &items[i]), 0);
	}
	/* Out of the middle of the chains: what lies beyond is still found. */
	for (int i = 0; i < 300; i += 2)
		CU_ASSERT_PTR_EQUAL(lh_map_del(&m, items[i].hash, &i), &items[i]);
	for (int i = 0; i < 300; i++)
		CU_ASSERT_PTR_EQUAL(lh_map_get(&m, items[i].hash, &i), i % 2 ? &items[i] : NULL);
	/* A key of the right hash but absent, and a wrong hash. */
	{
		int absent = 1000, one = 1;

		CU_ASSERT_PTR_NULL(lh_map_get(&m, 0, &absent));
		CU_ASSERT_PTR_NULL(lh_map_get(&m, 5, &one));
		CU_ASSERT_PTR_NULL(lh_map_del(&m, 0, &absent));
	}
	/* Back in, into the deleted slots: all found again. */
	for (int i = 0; i < 300; i += 2)
		CU_ASSERT_EQUAL(lh_map_put(&m, items[i].hash, &items[i]), 0);
	for (int i = 0; i < 300; i++)
		CU_ASSERT_PTR_EQUAL(lh_map_get(&m, items[i].hash, &i), &items[i]);
	CU_ASSERT_EQUAL(m.count, 300);
	assert_load(&m);
	/* Emptied, from the front of the chains: no deleted marks survive the
	 * last delete, so an empty map walks nothing. */
	for (int i = 0; i < 300; i++)
		CU_ASSERT_PTR_EQUAL(lh_map_del(&m, items[i].hash, &i), &items[i]);
	CU_ASSERT_EQUAL(m.count, 0);
	CU_ASSERT_EQUAL(m.used, 0);
	lh_map_fini(&m);
}

/* Attach / release churn: the same entry in and out next to many live
 * ones neither grows the table nor fills it with deleted marks. */
static void test_map_churn(void)
{
	struct lh_map m;
	size_t cap;

	lh_map_init(&m, LH_MAP_U64, NULL);
	for (uint64_t i = 1; i <= 1000; i++)
		CU_ASSERT_EQUAL_FATAL(lh_map_put_u64(&m, i, VAL(i)), 0);
	cap = m.cap;
	for (uint64_t i = 1001; i <= 1001 + MANY; i++) {
		CU_ASSERT_EQUAL_FATAL(lh_map_put_u64(&m, i, VAL(i)), 0);
		CU_ASSERT_PTR_EQUAL_FATAL(lh_map_del_u64(&m, i), VAL(i));
	}
	CU_ASSERT_EQUAL(m.cap, cap);
	CU_ASSERT_EQUAL(m.count, 1000);
	assert_load(&m);
	for (uint64_t i = 1; i <= 1000; i++)
		CU_ASSERT_PTR_EQUAL(lh_map_get_u64(&m, i), VAL(i));
	lh_map_fini(&m);
}

/* ---- reserve ---------------------------------------------------------------- */

static void test_map_reserve(void)
{
	struct lh_map m;
	struct lh_map_slot *slots;
	size_t cap;

	lh_map_init(&m, LH_MAP_U64, NULL);
	CU_ASSERT_EQUAL(lh_map_reserve(&m, 0), 0);
	CU_ASSERT_EQUAL(m.cap, 0); /* nothing asked, nothing allocated */
	CU_ASSERT_EQUAL(lh_map_reserve(&m, 100), 0);
	slots = m.slots;
	cap = m.cap;
	/* 100 puts with deletes between them: no rehash, so none could fail. */
	for (uint64_t i = 0; i < 100; i++) {
		CU_ASSERT_EQUAL(lh_map_put_u64(&m, i, VAL(i)), 0);
		if (i % 3 == 0)
			lh_map_del_u64(&m, i);
	}
	CU_ASSERT_PTR_EQUAL(m.slots, slots);
	CU_ASSERT_EQUAL(m.cap, cap);
	assert_load(&m);
	/* An impossible reservation fails and changes nothing. */
	CU_ASSERT_EQUAL(lh_map_reserve(&m, SIZE_MAX / 2), -ENOMEM);
	CU_ASSERT_PTR_EQUAL(m.slots, slots);
	CU_ASSERT_EQUAL(m.count, 66);
	lh_map_fini(&m);
}

/* ---- iteration ---------------------------------------------------------------- */

static void test_map_iteration(void)
{
	enum { N = 5000 };
	unsigned char *seen = calloc(N, 1);
	struct lh_map m, twin;
	size_t cursor = 0, twin_cursor = 0, n = 0;
	void *v, *w;

	CU_ASSERT_PTR_NOT_NULL_FATAL(seen);
	lh_map_init(&m, LH_MAP_U64, NULL);
	lh_map_init(&twin, LH_MAP_U64, NULL);
	CU_ASSERT_PTR_NULL(lh_map_next(&m, &cursor)); /* empty */
	for (uint64_t i = 0; i < N; i++) {
		CU_ASSERT_EQUAL_FATAL(lh_map_put_u64(&m, i, VAL(i)), 0);
		CU_ASSERT_EQUAL_FATAL(lh_map_put_u64(&twin, i, VAL(i)), 0);
	}
	for (uint64_t i = 0; i < N; i += 5) {
		lh_map_del_u64(&m, i);
		lh_map_del_u64(&twin, i);
	}
	/* Every entry once; the same history gives the same order. */
	cursor = 0;
	while ((v = lh_map_next(&m, &cursor))) {
		w = lh_map_next(&twin, &twin_cursor);
		CU_ASSERT_PTR_EQUAL(v, w);
		CU_ASSERT_EQUAL(seen[IDX(v)], 0);
		CU_ASSERT_NOT_EQUAL(IDX(v) % 5, 0);
		seen[IDX(v)]++;
		n++;
	}
	CU_ASSERT_PTR_NULL(lh_map_next(&twin, &twin_cursor));
	CU_ASSERT_PTR_NULL(lh_map_next(&m, &cursor)); /* stays at the end */
	CU_ASSERT_EQUAL(n, m.count);

	/* Deleting while iterating: the entry just seen and others ahead of
	 * the cursor. The rest is seen exactly once, the deleted never after. */
	memset(seen, 0, N);
	cursor = 0;
	n = 0;
	while ((v = lh_map_next(&m, &cursor))) {
		size_t i = IDX(v);

		CU_ASSERT_EQUAL(seen[i], 0);
		seen[i] = 1;
		n++;
		if (i % 2 == 0)
			CU_ASSERT_PTR_EQUAL(lh_map_del_u64(&m, i), v);
		if (i + 1 < N && (i + 1) % 5 != 0 && !seen[i + 1] && lh_map_del_u64(&m, i + 1))
			seen[i + 1] = 2; /* deleted before it was reached */
	}
	for (size_t i = 0; i < N; i++)
		CU_ASSERT(i % 5 == 0 ? seen[i] == 0 : seen[i] != 0);
	cursor = 0;
	while ((v = lh_map_next(&m, &cursor)))
		CU_ASSERT(IDX(v) % 2 == 1 && seen[IDX(v)] == 1);
	lh_map_fini(&m);
	lh_map_fini(&twin);
	free(seen);
}

/* ---- handles and arrays ----------------------------------------------------- */

static void test_handles(void)
{
	struct lh_handles h = { 0 };

	CU_ASSERT_FALSE(lh_handles_has(&h, 1));
	CU_ASSERT_FALSE(lh_handles_drop(&h, 1));
	for (uint64_t id = 1; id <= 1000; id++)
		CU_ASSERT_EQUAL_FATAL(lh_handles_add(&h, id), 0);
	CU_ASSERT_EQUAL(h.n, 1000);
	CU_ASSERT(h.cap >= 1000 && is_pow2(h.cap));
	/* Out of the middle, the front and the back: the rest keep their order. */
	CU_ASSERT_TRUE(lh_handles_drop(&h, 500));
	CU_ASSERT_TRUE(lh_handles_drop(&h, 1));
	CU_ASSERT_TRUE(lh_handles_drop(&h, 1000));
	CU_ASSERT_FALSE(lh_handles_drop(&h, 500));
	CU_ASSERT_EQUAL(h.n, 997);
	for (size_t i = 1; i < h.n; i++)
		CU_ASSERT(h.ids[i - 1] < h.ids[i]);
	CU_ASSERT_EQUAL(h.ids[0], 2);
	CU_ASSERT_EQUAL(h.ids[h.n - 1], 999);
	CU_ASSERT_FALSE(lh_handles_has(&h, 500));
	CU_ASSERT_TRUE(lh_handles_has(&h, 501));
	lh_handles_fini(&h);
	CU_ASSERT_EQUAL(h.n, 0);
	CU_ASSERT_PTR_NULL(h.ids);
}

static void test_array_grow(void)
{
	size_t cap = 0;
	int *items = NULL, *grown;

	grown = lh_array_grow(items, &cap, 1, sizeof(*items));
	CU_ASSERT_PTR_NOT_NULL_FATAL(grown);
	CU_ASSERT_EQUAL(cap, 4);
	items = grown;
	/* Room already there: the same array back. */
	CU_ASSERT_PTR_EQUAL(lh_array_grow(items, &cap, 4, sizeof(*items)), items);
	CU_ASSERT_EQUAL(cap, 4);
	grown = lh_array_grow(items, &cap, 37, sizeof(*items));
	CU_ASSERT_PTR_NOT_NULL_FATAL(grown);
	CU_ASSERT_EQUAL(cap, 64);
	items = grown;
	/* Too large to count: NULL, the array and capacity untouched. */
	CU_ASSERT_PTR_NULL(lh_array_grow(items, &cap, SIZE_MAX / 2, sizeof(*items)));
	CU_ASSERT_EQUAL(cap, 64);
	items[63] = 1; /* still ours, still 64 long */
	free(items);
}

/* ---- creation-order lists -------------------------------------------------- */

struct node {
	struct node *prev, *next;
	int id;
};

static void assert_list(struct node *head, struct node *tail, const int *ids, int n)
{
	struct node *prev = NULL;
	int i = 0;

	for (struct node *p = head; p; prev = p, p = p->next, i++) {
		CU_ASSERT(i < n && p->id == ids[i]);
		CU_ASSERT_PTR_EQUAL(p->prev, prev);
	}
	CU_ASSERT_EQUAL(i, n);
	CU_ASSERT_PTR_EQUAL(tail, prev);
}

static void test_list(void)
{
	struct node nodes[4] = { { .id = 0 }, { .id = 1 }, { .id = 2 }, { .id = 3 } };
	struct node *head = NULL, *tail = NULL;

	for (int i = 0; i < 4; i++)
		LH_LIST_APPEND(head, tail, &nodes[i]);
	assert_list(head, tail, (const int[]){ 0, 1, 2, 3 }, 4);
	LH_LIST_REMOVE(head, tail, &nodes[1]);
	CU_ASSERT_PTR_NULL(nodes[1].prev);
	CU_ASSERT_PTR_NULL(nodes[1].next);
	assert_list(head, tail, (const int[]){ 0, 2, 3 }, 3);
	LH_LIST_REMOVE(head, tail, &nodes[0]);
	LH_LIST_REMOVE(head, tail, &nodes[3]);
	assert_list(head, tail, (const int[]){ 2 }, 1);
	LH_LIST_APPEND(head, tail, &nodes[1]);
	assert_list(head, tail, (const int[]){ 2, 1 }, 2);
	LH_LIST_REMOVE(head, tail, &nodes[2]);
	LH_LIST_REMOVE(head, tail, &nodes[1]);
	CU_ASSERT_PTR_NULL(head);
	CU_ASSERT_PTR_NULL(tail);
}

/* ---- requests -------------------------------------------------------------- */

static cJSON *object_with(const char *key, uint64_t value)
{
	cJSON *obj = cJSON_CreateObject();

	if (obj && !lh_json_add_uint(obj, key, value)) {
		cJSON_Delete(obj);
		obj = NULL;
	}
	return obj;
}

static void test_request(void)
{
	cJSON *req;
	char *text;

	req = lh_request_new("VirtualMachine/Devices/X/1", "Add");
	req = lh_request_add_settings(req, object_with("Size", 4096));
	req = lh_request_add_guest(req, "XDevice", object_with("Number", 1));
	text = lh_json_print(req);
	CU_ASSERT_STRING_EQUAL(text, "{\"ResourcePath\":\"VirtualMachine/Devices/X/1\","
			       "\"RequestType\":\"Add\",\"Settings\":{\"Size\":4096},"
			       "\"GuestRequest\":{\"RequestType\":\"Add\",\"ResourceType\":"
			       "\"XDevice\",\"Settings\":{\"Number\":1}}}");
	free(text);

	/* Settings and guest request are each optional. */
	text = lh_json_print(lh_request_add_guest(lh_request_new("p", "Remove"), "XDevice",
						  cJSON_CreateObject()));
	CU_ASSERT_STRING_EQUAL(text, "{\"ResourcePath\":\"p\",\"RequestType\":\"Remove\","
			       "\"GuestRequest\":{\"RequestType\":\"Remove\",\"ResourceType\":"
			       "\"XDevice\",\"Settings\":{}}}");
	free(text);
	text = lh_json_print(lh_request_add_settings(lh_request_new("p", "Update"),
						     cJSON_CreateObject()));
	CU_ASSERT_STRING_EQUAL(text, "{\"ResourcePath\":\"p\",\"RequestType\":\"Update\","
			       "\"Settings\":{}}");
	free(text);

	/* A part that could not be built fails the whole chain, and nothing
	 * leaks (the sanitizer and valgrind runs check that). */
	req = lh_request_add_settings(lh_request_new("p", "Add"), NULL);
	CU_ASSERT_PTR_NULL(req);
	req = lh_request_add_guest(lh_request_new("p", "Add"), "XDevice", NULL);
	CU_ASSERT_PTR_NULL(req);
	CU_ASSERT_PTR_NULL(lh_request_add_settings(NULL, cJSON_CreateObject()));
	CU_ASSERT_PTR_NULL(lh_request_add_guest(NULL, "XDevice", cJSON_CreateObject()));
	CU_ASSERT_PTR_NULL(lh_json_print(NULL));
}

static void test_json_omitempty(void)
{
	cJSON *obj = cJSON_CreateObject();
	char *text;

	CU_ASSERT_PTR_NOT_NULL_FATAL(obj);
	CU_ASSERT_TRUE(lh_json_add_string(obj, "Empty", ""));
	CU_ASSERT_TRUE(lh_json_add_string(obj, "Null", NULL));
	CU_ASSERT_TRUE(lh_json_add_string(obj, "Path", "/x"));
	CU_ASSERT_TRUE(lh_json_add_uint(obj, "Zero", 0));
	CU_ASSERT_TRUE(lh_json_add_uint(obj, "Lun", 3));
	CU_ASSERT_TRUE(lh_json_add_true(obj, "False", false));
	CU_ASSERT_TRUE(lh_json_add_true(obj, "ReadOnly", true));
	text = lh_json_print(obj);
	CU_ASSERT_STRING_EQUAL(text, "{\"Path\":\"/x\",\"Lun\":3,\"ReadOnly\":true}");
	free(text);
}

int main(void)
{
	static const struct cutest_case map_cases[] = {
		{ "hash functions", test_hash },
		{ "integer keys: many entries, growth, deletes", test_map_u64_many },
		{ "a zeroed map has integer keys", test_map_zeroed_is_u64 },
		{ "string keys compare by content", test_map_strings },
		{ "deletion inside collision chains", test_map_delete_in_chains },
		{ "churn neither grows nor clogs the table", test_map_churn },
		{ "reserve: later puts cannot fail", test_map_reserve },
		{ "iteration: once each, deterministic, deletes allowed", test_map_iteration },
		{ NULL, NULL },
	};
	static const struct cutest_case other_cases[] = {
		{ "handle lists keep their order", test_handles },
		{ "growing arrays", test_array_grow },
		{ "creation-order lists", test_list },
		{ "request builder", test_request },
		{ "omitempty fields", test_json_omitempty },
		{ NULL, NULL },
	};
	static const struct cutest_suite suites[] = {
		{ "lh_map", map_cases, NULL, NULL },
		{ "lh_handles, lh_list, lh_request", other_cases, NULL, NULL },
		{ NULL, NULL, NULL, NULL },
	};

	return cutest_run_suites(suites, NULL);
}
