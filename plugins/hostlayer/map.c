/* map.c - open addressing with linear probing; deleted slots are kept as
 * tombstones so probe chains stay intact, and dropped on the next grow. */
#include "hostlayer.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

enum { SLOT_EMPTY = 0, SLOT_LIVE = 1, SLOT_DELETED = 2 };

uint64_t hostlayer_hash_string(const char *s)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ull;
	}
	return h;
}

/* Handles are small consecutive integers: spread them over the table. */
static size_t hostlayer_map_index(uint64_t hash, size_t cap)
{
	hash ^= hash >> 33;
	hash *= 0xff51afd7ed558ccdull;
	hash ^= hash >> 33;
	return (size_t)hash & (cap - 1);
}

static bool hostlayer_map_match(const struct hostlayer_map_slot *slot, uint64_t hash,
				const char *key)
{
	if (slot->state != SLOT_LIVE || slot->hash != hash)
		return false;
	if (!key || !slot->key)
		return key == slot->key;
	return strcmp(key, slot->key) == 0;
}

static struct hostlayer_map_slot *hostlayer_map_find(const struct hostlayer_map *map,
						     uint64_t hash, const char *key)
{
	if (!map->cap)
		return NULL;
	for (size_t i = hostlayer_map_index(hash, map->cap), n = 0; n < map->cap;
	     i = (i + 1) & (map->cap - 1), n++) {
		struct hostlayer_map_slot *slot = &map->slots[i];

		if (slot->state == SLOT_EMPTY)
			return NULL;
		if (hostlayer_map_match(slot, hash, key))
			return slot;
	}
	return NULL;
}

void *hostlayer_map_get(const struct hostlayer_map *map, uint64_t hash, const char *key)
{
	struct hostlayer_map_slot *slot = hostlayer_map_find(map, hash, key);

	return slot ? slot->value : NULL;
}

static void hostlayer_map_insert(struct hostlayer_map *map, uint64_t hash, const char *key,
				 void *value)
{
	size_t i = hostlayer_map_index(hash, map->cap);

	while (map->slots[i].state == SLOT_LIVE)
		i = (i + 1) & (map->cap - 1);
	if (map->slots[i].state == SLOT_EMPTY)
		map->used++;
	map->slots[i] = (struct hostlayer_map_slot){ hash, key, value, SLOT_LIVE };
	map->live++;
}

static int hostlayer_map_grow(struct hostlayer_map *map)
{
	size_t cap = map->cap ? map->cap : 16;
	struct hostlayer_map old = *map;

	while (map->live * 2 + 2 > cap)
		cap *= 2;
	map->slots = calloc(cap, sizeof(*map->slots));
	if (!map->slots) {
		*map = old;
		return -ENOMEM;
	}
	map->cap = cap;
	map->used = 0;
	map->live = 0;
	for (size_t i = 0; i < old.cap; i++)
		if (old.slots[i].state == SLOT_LIVE)
			hostlayer_map_insert(map, old.slots[i].hash, old.slots[i].key,
					     old.slots[i].value);
	free(old.slots);
	return 0;
}

int hostlayer_map_put(struct hostlayer_map *map, uint64_t hash, const char *key, void *value)
{
	/* keep at least a quarter of the slots empty so probes end quickly */
	if ((map->used + 1) * 4 > map->cap * 3) {
		int rc = hostlayer_map_grow(map);

		if (rc)
			return rc;
	}
	hostlayer_map_insert(map, hash, key, value);
	return 0;
}

void *hostlayer_map_del(struct hostlayer_map *map, uint64_t hash, const char *key)
{
	struct hostlayer_map_slot *slot = hostlayer_map_find(map, hash, key);
	void *value;

	if (!slot)
		return NULL;
	value = slot->value;
	slot->state = SLOT_DELETED;
	slot->value = NULL;
	slot->key = NULL;
	map->live--;
	return value;
}

void hostlayer_map_free(struct hostlayer_map *map)
{
	free(map->slots);
	memset(map, 0, sizeof(*map));
}
