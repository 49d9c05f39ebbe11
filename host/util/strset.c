/* strset.c - see strset.h. */
#include "strset.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct lh_strset_slot {
	char *key; /* NULL: empty */
	uint64_t hash;
	unsigned value;
};

/* FNV-1a: short keys, no adversary to outguess (the file is the user's). */
static uint64_t strset_hash(const char *s)
{
	uint64_t h = 14695981039346656037ull;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

static struct lh_strset_slot *strset_find(struct lh_strset_slot *slots, size_t cap,
					  const char *key, uint64_t hash)
{
	for (size_t i = hash & (cap - 1);; i = (i + 1) & (cap - 1))
		if (!slots[i].key || (slots[i].hash == hash && strcmp(slots[i].key, key) == 0))
			return &slots[i];
}

/* Keep at most half the slots used, so probes stay short. */
static int strset_grow(struct lh_strset *set)
{
	size_t cap = set->cap ? set->cap * 2 : 64;
	struct lh_strset_slot *slots = calloc(cap, sizeof(*slots));

	if (!slots)
		return -ENOMEM;
	for (size_t i = 0; i < set->cap; i++)
		if (set->slots[i].key)
			*strset_find(slots, cap, set->slots[i].key, set->slots[i].hash) =
				set->slots[i];
	free(set->slots);
	set->slots = slots;
	set->cap = cap;
	return 0;
}

int lh_strset_add(struct lh_strset *set, const char *key, unsigned value, unsigned *first)
{
	uint64_t hash = strset_hash(key);
	struct lh_strset_slot *slot;

	if ((set->n + 1) * 2 > set->cap && strset_grow(set))
		return -ENOMEM;
	slot = strset_find(set->slots, set->cap, key, hash);
	if (slot->key) {
		if (first)
			*first = slot->value;
		return 1;
	}
	if (!(slot->key = strdup(key)))
		return -ENOMEM;
	slot->hash = hash;
	slot->value = value;
	set->n++;
	return 0;
}

void lh_strset_clear(struct lh_strset *set)
{
	for (size_t i = 0; i < set->cap; i++)
		free(set->slots[i].key);
	free(set->slots);
	memset(set, 0, sizeof(*set));
}
