/* vsmb_map.c - open-addressing hash map over caller-owned values. */
#include "vsmb.h"

#include <errno.h>
#include <stdlib.h>

#include <stdint.h>

/* A distinct address no value can have (never written). */
static const char vsmb_map_tombstone_mark;
#define VSMB_MAP_TOMBSTONE ((void *)(uintptr_t)&vsmb_map_tombstone_mark)

uint64_t vsmb_hash_bytes(uint64_t seed, const void *data, size_t len)
{
	const unsigned char *p = data;
	uint64_t h = seed ^ 0xcbf29ce484222325ull; /* FNV-1a */

	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

uint64_t vsmb_hash_u64(uint64_t key)
{
	/* splitmix64's finaliser: sequential handles spread over the table. */
	key ^= key >> 30;
	key *= 0xbf58476d1ce4e5b9ull;
	key ^= key >> 27;
	key *= 0x94d049bb133111ebull;
	return key ^ (key >> 31);
}

void *vsmb_map_find(const struct vsmb_map *map, uint64_t hash, vsmb_map_eq_fn eq,
		    const void *key)
{
	if (map->cap == 0)
		return NULL;
	for (size_t i = hash & (map->cap - 1), n = 0; n < map->cap; i = (i + 1) & (map->cap - 1), n++) {
		const struct vsmb_map_slot *slot = &map->slots[i];

		if (!slot->value)
			return NULL;
		if (slot->value != VSMB_MAP_TOMBSTONE && slot->hash == hash && eq(slot->value, key))
			return slot->value;
	}
	return NULL;
}

static void vsmb_map_place(struct vsmb_map_slot *slots, size_t cap, uint64_t hash, void *value)
{
	size_t i = hash & (cap - 1);

	while (slots[i].value && slots[i].value != VSMB_MAP_TOMBSTONE)
		i = (i + 1) & (cap - 1);
	slots[i].hash = hash;
	slots[i].value = value;
}

/* Rehash into a table sized for `want` live values; drops tombstones. */
static int vsmb_map_rehash(struct vsmb_map *map, size_t want)
{
	size_t cap = 16;
	struct vsmb_map_slot *slots;

	while (cap / 4 * 3 < want * 2) /* stay at most 3/8 full after a rehash */
		cap *= 2;
	slots = calloc(cap, sizeof(*slots));
	if (!slots)
		return -ENOMEM;
	for (size_t i = 0; i < map->cap; i++) {
		void *value = map->slots[i].value;

		if (value && value != VSMB_MAP_TOMBSTONE)
			vsmb_map_place(slots, cap, map->slots[i].hash, value);
	}
	free(map->slots);
	map->slots = slots;
	map->cap = cap;
	map->used = map->count;
	return 0;
}

int vsmb_map_reserve(struct vsmb_map *map, size_t extra)
{
	if ((map->used + extra) * 4 <= map->cap * 3)
		return 0;
	return vsmb_map_rehash(map, map->count + extra);
}

int vsmb_map_insert(struct vsmb_map *map, uint64_t hash, void *value)
{
	size_t i;
	int rc = vsmb_map_reserve(map, 1);

	if (rc)
		return rc;
	i = hash & (map->cap - 1);
	while (map->slots[i].value && map->slots[i].value != VSMB_MAP_TOMBSTONE)
		i = (i + 1) & (map->cap - 1);
	if (!map->slots[i].value)
		map->used++;
	map->slots[i].hash = hash;
	map->slots[i].value = value;
	map->count++;
	return 0;
}

void vsmb_map_remove(struct vsmb_map *map, uint64_t hash, const void *value)
{
	if (map->cap == 0)
		return;
	for (size_t i = hash & (map->cap - 1), n = 0; n < map->cap; i = (i + 1) & (map->cap - 1), n++) {
		struct vsmb_map_slot *slot = &map->slots[i];

		if (!slot->value)
			return;
		if (slot->value == value) {
			slot->value = VSMB_MAP_TOMBSTONE;
			map->count--;
			return;
		}
	}
}

void *vsmb_map_at(const struct vsmb_map *map, size_t i)
{
	void *value = map->slots[i].value;

	return value == VSMB_MAP_TOMBSTONE ? NULL : value;
}

void vsmb_map_free(struct vsmb_map *map)
{
	free(map->slots);
	map->slots = NULL;
	map->cap = map->used = map->count = 0;
}
