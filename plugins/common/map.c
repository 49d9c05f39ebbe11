/*
 * map.c - the plugins' hash map (see lh_map.h).
 *
 * Linear probing: a lookup walks from the key's home slot to the first
 * empty one. A delete leaves a mark so the walks through its slot still
 * reach what lies beyond, unless nothing can lie beyond (the next slot is
 * empty): then the slot, and the marks right before it, become empty again.
 * Attach / release churn, which inserts and deletes the same few entries,
 * so leaves few marks and rarely forces a rehash.
 *
 * Load: a put or reserve rehashes when live + deleted slots would pass 3/4
 * of the table, into the smallest power of two (at least 16) that is at
 * most half full; the rehash drops the marks.
 */
#include "lh_map.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define LH_MAP_MIN_CAP 16

/* A distinct address that no value can have: the deleted-slot mark. */
static char lh_map_deleted_mark;
#define LH_MAP_DELETED ((void *)&lh_map_deleted_mark)

/* What a lookup compares: the hash, then the kind's own key. */
struct lh_map_probe {
	uint64_t hash;
	uint64_t u64;    /* LH_MAP_U64 */
	const void *key; /* LH_MAP_STRING: the string; LH_MAP_CUSTOM: match's key */
};

/* FNV-1a, one byte: the one place the algorithm is written. */
static inline uint64_t lh_hash_step(uint64_t h, unsigned char c)
{
	return (h ^ c) * UINT64_C(0x100000001b3);
}

uint64_t lh_hash_bytes(uint64_t h, const void *data, size_t len)
{
	const unsigned char *p = data;

	for (size_t i = 0; i < len; i++)
		h = lh_hash_step(h, p[i]);
	return h;
}

/* As lh_hash_bytes, without a strlen pass first. */
uint64_t lh_hash_string(const char *s)
{
	uint64_t h = LH_HASH_INIT;

	for (; *s; s++)
		h = lh_hash_step(h, (unsigned char)*s);
	return h;
}

/* splitmix64's output function: two multiplies, where one (MurmurHash3's
 * finaliser cut short) leaves runs of consecutive handles bunched in the
 * low bits, which linear probing then pays for. */
uint64_t lh_hash_u64(uint64_t x)
{
	x += UINT64_C(0x9e3779b97f4a7c15);
	x = (x ^ (x >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	x = (x ^ (x >> 27)) * UINT64_C(0x94d049bb133111eb);
	return x ^ (x >> 31);
}

void lh_map_init(struct lh_map *map, enum lh_map_keys keys, lh_map_match_fn match)
{
	memset(map, 0, sizeof(*map));
	map->keys = keys;
	map->match = match;
}

void lh_map_fini(struct lh_map *map)
{
	free(map->slots);
	lh_map_init(map, map->keys, map->match);
}

static bool lh_map_slot_live(const struct lh_map_slot *slot)
{
	return slot->value != NULL && slot->value != LH_MAP_DELETED;
}

/* `keys` is each caller's constant, so once inlined the test folds to the
 * one comparison of that kind: lookups cost what a table of a single kind
 * would. */
static inline bool lh_map_slot_matches(const struct lh_map *map, enum lh_map_keys keys,
				       const struct lh_map_slot *slot,
				       const struct lh_map_probe *probe)
{
	bool same = lh_map_slot_live(slot) && slot->hash == probe->hash;

	if (same && keys == LH_MAP_U64)
		same = slot->key.u64 == probe->u64;
	else if (same && keys == LH_MAP_STRING)
		same = strcmp(slot->key.str, probe->key) == 0;
	else if (same)
		same = map->match(slot->value, probe->key);
	return same;
}

static inline struct lh_map_slot *lh_map_find(const struct lh_map *map, enum lh_map_keys keys,
					      const struct lh_map_probe *probe)
{
	struct lh_map_slot *found = NULL;
	size_t mask = map->cap - 1;

	/* At most cap steps: the load limit keeps an empty slot, but a walk
	 * must end even on a table that broke that promise. */
	for (size_t i = probe->hash & mask, n = 0; !found && n < map->cap; i = (i + 1) & mask, n++) {
		if (map->slots[i].value == NULL)
			break;
		if (lh_map_slot_matches(map, keys, &map->slots[i], probe))
			found = &map->slots[i];
	}
	return found;
}

/* Into the first empty or deleted slot from home: the caller made room. */
static void lh_map_place(struct lh_map *map, const struct lh_map_slot *entry)
{
	size_t mask = map->cap - 1;
	size_t i = entry->hash & mask;

	while (lh_map_slot_live(&map->slots[i]))
		i = (i + 1) & mask;
	if (map->slots[i].value == NULL)
		map->used++;
	map->slots[i] = *entry;
	map->count++;
}

/* Move every live entry into a new table sized for `want` of them. */
static int lh_map_rehash(struct lh_map *map, size_t want)
{
	struct lh_map old = *map;
	size_t cap = LH_MAP_MIN_CAP;
	int rc = 0;

	while (cap / 2 < want) {
		if (cap > SIZE_MAX / 2 / sizeof(*map->slots)) {
			rc = -ENOMEM;
			goto out;
		}
		cap *= 2;
	}
	map->slots = calloc(cap, sizeof(*map->slots));
	if (!map->slots) {
		*map = old;
		rc = -ENOMEM;
		goto out;
	}
	map->cap = cap;
	map->used = map->count = 0;
	for (size_t i = 0; i < old.cap; i++)
		if (lh_map_slot_live(&old.slots[i]))
			lh_map_place(map, &old.slots[i]);
	free(old.slots);
out:
	return rc;
}

int lh_map_reserve(struct lh_map *map, size_t extra)
{
	int rc = 0;

	if (extra > SIZE_MAX / 8 - map->used)
		rc = -ENOMEM; /* no table that large could be allocated anyway */
	else if ((map->used + extra) * 4 > map->cap * 3)
		rc = lh_map_rehash(map, map->count + extra);
	return rc;
}

static int lh_map_insert(struct lh_map *map, const struct lh_map_slot *entry)
{
	int rc = lh_map_reserve(map, 1);

	if (rc == 0)
		lh_map_place(map, entry);
	return rc;
}

static void *lh_map_remove(struct lh_map *map, struct lh_map_slot *slot)
{
	void *value = NULL;
	size_t mask = map->cap - 1;
	size_t i;

	if (!slot)
		goto out;
	value = slot->value;
	slot->value = LH_MAP_DELETED;
	map->count--;
	i = (size_t)(slot - map->slots);
	/* No walk reaches past an empty slot, so none needs a mark just
	 * before one: clear this mark and the run of marks before it. The
	 * walk back ends at the latest on that empty slot. */
	if (map->slots[(i + 1) & mask].value != NULL)
		goto out;
	while (map->slots[i].value == LH_MAP_DELETED) {
		map->slots[i].value = NULL;
		map->used--;
		i = (i - 1) & mask;
	}
out:
	return value;
}

void *lh_map_get_u64(const struct lh_map *map, uint64_t key)
{
	struct lh_map_probe probe = { .hash = lh_hash_u64(key), .u64 = key };
	struct lh_map_slot *slot = lh_map_find(map, LH_MAP_U64, &probe);

	return slot ? slot->value : NULL;
}

int lh_map_put_u64(struct lh_map *map, uint64_t key, void *value)
{
	struct lh_map_slot entry = { .hash = lh_hash_u64(key), .key.u64 = key, .value = value };

	return lh_map_insert(map, &entry);
}

void *lh_map_del_u64(struct lh_map *map, uint64_t key)
{
	struct lh_map_probe probe = { .hash = lh_hash_u64(key), .u64 = key };

	return lh_map_remove(map, lh_map_find(map, LH_MAP_U64, &probe));
}

void *lh_map_get_str(const struct lh_map *map, const char *key)
{
	struct lh_map_probe probe = { .hash = lh_hash_string(key), .key = key };
	struct lh_map_slot *slot = lh_map_find(map, LH_MAP_STRING, &probe);

	return slot ? slot->value : NULL;
}

int lh_map_put_str(struct lh_map *map, const char *key, void *value)
{
	struct lh_map_slot entry = { .hash = lh_hash_string(key), .key.str = key, .value = value };

	return lh_map_insert(map, &entry);
}

void *lh_map_del_str(struct lh_map *map, const char *key)
{
	struct lh_map_probe probe = { .hash = lh_hash_string(key), .key = key };

	return lh_map_remove(map, lh_map_find(map, LH_MAP_STRING, &probe));
}

void *lh_map_get(const struct lh_map *map, uint64_t hash, const void *key)
{
	struct lh_map_probe probe = { .hash = hash, .key = key };
	struct lh_map_slot *slot = lh_map_find(map, LH_MAP_CUSTOM, &probe);

	return slot ? slot->value : NULL;
}

int lh_map_put(struct lh_map *map, uint64_t hash, void *value)
{
	struct lh_map_slot entry = { .hash = hash, .value = value };

	return lh_map_insert(map, &entry);
}

void *lh_map_del(struct lh_map *map, uint64_t hash, const void *key)
{
	struct lh_map_probe probe = { .hash = hash, .key = key };

	return lh_map_remove(map, lh_map_find(map, LH_MAP_CUSTOM, &probe));
}

void *lh_map_next(const struct lh_map *map, size_t *cursor)
{
	void *value = NULL;
	size_t i = *cursor;

	for (; !value && i < map->cap; i++)
		if (lh_map_slot_live(&map->slots[i]))
			value = map->slots[i].value;
	*cursor = i;
	return value;
}
