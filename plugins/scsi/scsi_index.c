/* scsi_index.c - hash indexes and the free-slot bitmap (see scsi_private.h). */
#include "scsi_private.h"

#include <errno.h>
#include <stdlib.h>

/* A deleted entry: keeps probe chains intact until the next rehash. */
#define SCSI_TOMBSTONE ((struct scsi_attachment *)(uintptr_t)1)

void scsi_table_init(struct scsi_table *t, bool string_keys)
{
	memset(t, 0, sizeof(*t));
	t->string_keys = string_keys;
}

void scsi_table_fini(struct scsi_table *t)
{
	free(t->entries);
	scsi_table_init(t, t->string_keys);
}

uint64_t scsi_hash_string(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ull;
	}
	return h;
}

/* Handles are sequential, so spread them before masking. */
static uint64_t scsi_hash_handle(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	return x;
}

static bool scsi_entry_matches(const struct scsi_table *t, const struct scsi_table_entry *e,
			       uint64_t hash, uint64_t ikey, const char *skey)
{
	if (e->value == NULL || e->value == SCSI_TOMBSTONE || e->hash != hash)
		return false;
	return t->string_keys ? strcmp(e->value->key, skey) == 0 : e->ikey == ikey;
}

static struct scsi_table_entry *scsi_table_lookup(const struct scsi_table *t, uint64_t hash,
						  uint64_t ikey, const char *skey)
{
	if (!t->cap)
		return NULL;
	for (size_t i = hash & (t->cap - 1);; i = (i + 1) & (t->cap - 1)) {
		struct scsi_table_entry *e = &t->entries[i];

		if (e->value == NULL)
			return NULL;
		if (scsi_entry_matches(t, e, hash, ikey, skey))
			return e;
	}
}

static void scsi_table_place(struct scsi_table *t, uint64_t hash, uint64_t ikey,
			     struct scsi_attachment *a)
{
	size_t i = hash & (t->cap - 1);

	while (t->entries[i].value != NULL && t->entries[i].value != SCSI_TOMBSTONE)
		i = (i + 1) & (t->cap - 1);
	if (t->entries[i].value == NULL)
		t->used++;
	t->entries[i].hash = hash;
	t->entries[i].ikey = ikey;
	t->entries[i].value = a;
	t->live++;
}

/* Keep the load (tombstones included) under 3/4. */
static int scsi_table_reserve(struct scsi_table *t)
{
	struct scsi_table_entry *old = t->entries;
	size_t old_cap = t->cap, cap = t->cap ? t->cap : 16;

	if ((t->used + 1) * 4 < t->cap * 3)
		return 0;
	while ((t->live + 1) * 2 >= cap)
		cap *= 2;
	t->entries = calloc(cap, sizeof(*t->entries));
	if (!t->entries) {
		t->entries = old;
		return -ENOMEM;
	}
	t->cap = cap;
	t->used = t->live = 0;
	for (size_t i = 0; i < old_cap; i++)
		if (old[i].value != NULL && old[i].value != SCSI_TOMBSTONE)
			scsi_table_place(t, old[i].hash, old[i].ikey, old[i].value);
	free(old);
	return 0;
}

struct scsi_attachment *scsi_table_find_handle(const struct scsi_table *t, uint64_t handle)
{
	struct scsi_table_entry *e = scsi_table_lookup(t, scsi_hash_handle(handle), handle, NULL);

	return e ? e->value : NULL;
}

struct scsi_attachment *scsi_table_find_key(const struct scsi_table *t, const char *key)
{
	struct scsi_table_entry *e = scsi_table_lookup(t, scsi_hash_string(key), 0, key);

	return e ? e->value : NULL;
}

int scsi_table_insert_handle(struct scsi_table *t, uint64_t handle, struct scsi_attachment *a)
{
	int rc = scsi_table_reserve(t);

	if (rc == 0)
		scsi_table_place(t, scsi_hash_handle(handle), handle, a);
	return rc;
}

int scsi_table_insert_key(struct scsi_table *t, struct scsi_attachment *a)
{
	int rc = scsi_table_reserve(t);

	if (rc == 0)
		scsi_table_place(t, scsi_hash_string(a->key), 0, a);
	return rc;
}

static bool scsi_table_remove(struct scsi_table *t, struct scsi_table_entry *e)
{
	if (!e)
		return false;
	e->value = SCSI_TOMBSTONE;
	t->live--;
	return true;
}

bool scsi_table_remove_handle(struct scsi_table *t, uint64_t handle)
{
	return scsi_table_remove(t, scsi_table_lookup(t, scsi_hash_handle(handle), handle, NULL));
}

bool scsi_table_remove_key(struct scsi_table *t, const char *key)
{
	return scsi_table_remove(t, scsi_table_lookup(t, scsi_hash_string(key), 0, key));
}

/* ---- slots -------------------------------------------------------------- */

static void scsi_slots_set_free(struct scsi_slots *s, int index, bool free_bit)
{
	int w = index / 64;
	uint64_t bit = 1ull << (index % 64);

	if (free_bit)
		s->words[w] |= bit;
	else
		s->words[w] &= ~bit;
	if (s->words[w])
		s->summary |= 1ull << w;
	else
		s->summary &= ~(1ull << w);
}

void scsi_slots_init(struct scsi_slots *s, int controllers, int luns, bool reserve_first)
{
	memset(s, 0, sizeof(*s));
	s->controllers = controllers;
	s->luns = luns;
	for (int i = 0; i < controllers * luns; i++)
		scsi_slots_set_free(s, i, !(reserve_first && i == 0));
}

int scsi_slots_first_free(const struct scsi_slots *s)
{
	int w;

	if (!s->summary)
		return -1;
	w = __builtin_ctzll(s->summary);
	return w * 64 + __builtin_ctzll(s->words[w]);
}

void scsi_slots_take(struct scsi_slots *s, int index, struct scsi_attachment *a)
{
	s->occupant[index] = a;
	scsi_slots_set_free(s, index, false);
}

void scsi_slots_vacate(struct scsi_slots *s, int index, bool reserved)
{
	s->occupant[index] = NULL;
	scsi_slots_set_free(s, index, !reserved);
}
