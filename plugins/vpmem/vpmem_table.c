/* vpmem_table.c - an open-addressing hash table; see vpmem.h. */
#include "vpmem.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

/* A removed entry keeps probe chains through it intact. */
static const char vpmem_tombstone_mark;
#define VPMEM_TOMBSTONE ((void *)(uintptr_t)&vpmem_tombstone_mark)

uint64_t vpmem_hash_string(const char *s)
{
	uint64_t h = UINT64_C(0xcbf29ce484222325);

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= UINT64_C(0x100000001b3);
	}
	return h;
}

uint64_t vpmem_hash_u64(uint64_t x)
{
	x += UINT64_C(0x9e3779b97f4a7c15);
	x = (x ^ (x >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	x = (x ^ (x >> 27)) * UINT64_C(0x94d049bb133111eb);
	return x ^ (x >> 31);
}

void *vpmem_table_find(const struct vpmem_table *t, uint64_t hash, const void *key,
		       vpmem_match_fn match)
{
	if (t->cap == 0)
		return NULL;
	for (size_t i = hash & (t->cap - 1), n = 0; n < t->cap; i = (i + 1) & (t->cap - 1), n++) {
		struct vpmem_table_slot *s = &t->slots[i];

		if (!s->value)
			return NULL;
		if (s->value != VPMEM_TOMBSTONE && s->hash == hash && match(s->value, key))
			return s->value;
	}
	return NULL;
}

static void vpmem_table_place(struct vpmem_table_slot *slots, size_t cap, uint64_t hash,
			      void *value)
{
	size_t i = hash & (cap - 1);

	while (slots[i].value && slots[i].value != VPMEM_TOMBSTONE)
		i = (i + 1) & (cap - 1);
	slots[i].hash = hash;
	slots[i].value = value;
}

int vpmem_table_reserve(struct vpmem_table *t, size_t extra)
{
	size_t need = t->used + extra;
	size_t cap = t->cap ? t->cap : 16;
	struct vpmem_table_slot *slots;

	/* Keep at most half the slots in use (tombstones count). */
	if (need * 2 <= t->cap)
		return 0;
	while ((t->live + extra) * 2 > cap)
		cap *= 2;
	slots = calloc(cap, sizeof(*slots));
	if (!slots)
		return -ENOMEM;
	for (size_t i = 0; i < t->cap; i++)
		if (t->slots[i].value && t->slots[i].value != VPMEM_TOMBSTONE)
			vpmem_table_place(slots, cap, t->slots[i].hash, t->slots[i].value);
	free(t->slots);
	t->slots = slots;
	t->cap = cap;
	t->used = t->live;
	return 0;
}

void vpmem_table_insert(struct vpmem_table *t, uint64_t hash, void *value)
{
	size_t i = hash & (t->cap - 1);

	while (t->slots[i].value && t->slots[i].value != VPMEM_TOMBSTONE)
		i = (i + 1) & (t->cap - 1);
	if (!t->slots[i].value)
		t->used++;
	t->slots[i].hash = hash;
	t->slots[i].value = value;
	t->live++;
}

void *vpmem_table_remove(struct vpmem_table *t, uint64_t hash, const void *key,
			 vpmem_match_fn match)
{
	if (t->cap == 0)
		return NULL;
	for (size_t i = hash & (t->cap - 1), n = 0; n < t->cap; i = (i + 1) & (t->cap - 1), n++) {
		struct vpmem_table_slot *s = &t->slots[i];
		void *value = s->value;

		if (!value)
			return NULL;
		if (value != VPMEM_TOMBSTONE && s->hash == hash && match(value, key)) {
			s->value = VPMEM_TOMBSTONE;
			t->live--;
			return value;
		}
	}
	return NULL;
}

void *vpmem_table_at(const struct vpmem_table *t, size_t i)
{
	void *value = t->slots[i].value;

	return value == VPMEM_TOMBSTONE ? NULL : value;
}

void vpmem_table_free(struct vpmem_table *t)
{
	free(t->slots);
	t->slots = NULL;
	t->cap = t->used = t->live = 0;
}
