/*
 * lh_map.h - the one hash map of the in-tree plugins (part of
 * lh_plugin_common, see CMakeLists.txt beside this file).
 *
 * Open addressing with linear probing over values the caller owns: the map
 * never allocates, copies or frees a value, only its own slots. A key is
 *
 *   LH_MAP_U64     an integer (a handle, a share number), kept in the map;
 *   LH_MAP_STRING  a NUL-terminated string borrowed from the caller, which
 *                  keeps it alive and unchanged while its entry is in the
 *                  map (in practice it points into the value);
 *   LH_MAP_CUSTOM  anything else (a composite key): the caller hashes it
 *                  with lh_hash_bytes and the map's match function tells
 *                  a value's key from the one looked up.
 *
 * get, put and del take O(1) steps on average, a put that grows the table
 * O(n) once in a while. The map is not thread-safe: each plugin keeps its
 * maps under its own lock. Not part of the backend ABI: nothing
 * of it is exported from a plugin.
 */
#ifndef LH_PLUGIN_MAP_H
#define LH_PLUGIN_MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- hashing ------------------------------------------------------------ */

/* Where an FNV-1a hash starts (the 64-bit offset basis). */
#define LH_HASH_INIT UINT64_C(0xcbf29ce484222325)

/* Continue the FNV-1a hash h over len bytes of data. A composite key
 * hashes its parts in turn, the first from LH_HASH_INIT. */
uint64_t lh_hash_bytes(uint64_t h, const void *data, size_t len);
/* FNV-1a of a string without its NUL: lh_hash_bytes(LH_HASH_INIT, s,
 * strlen(s)), so a string key and a composite key ending in the same
 * string part can share code. */
uint64_t lh_hash_string(const char *s);
/* An integer spread over all 64 bits (splitmix64's mixer, a bijection):
 * handles are consecutive and the map indexes by the low bits. */
uint64_t lh_hash_u64(uint64_t x);

/* ---- the map ------------------------------------------------------------ */

enum lh_map_keys {
	LH_MAP_U64 = 0,
	LH_MAP_STRING,
	LH_MAP_CUSTOM,
};

/* LH_MAP_CUSTOM: does `value` carry `key` (as passed to lh_map_get/del)? */
typedef bool (*lh_map_match_fn)(const void *value, const void *key);

struct lh_map_slot {
	uint64_t hash;
	union {
		uint64_t u64;
		const char *str;
	} key;     /* LH_MAP_U64 and LH_MAP_STRING; unused for LH_MAP_CUSTOM */
	void *value; /* NULL: empty; the map's private mark: deleted */
};

/* Treat as opaque but for `count`, which callers may read. A zeroed struct
 * is an empty map of LH_MAP_U64 keys. */
struct lh_map {
	struct lh_map_slot *slots;
	size_t cap;   /* 0 or a power of two */
	size_t used;  /* slots live or deleted: what probes have to walk past */
	size_t count; /* live entries */
	enum lh_map_keys keys;
	lh_map_match_fn match;
};

/* An empty map of `keys`; match is needed by LH_MAP_CUSTOM only (NULL
 * otherwise). Allocates nothing. */
void lh_map_init(struct lh_map *map, enum lh_map_keys keys, lh_map_match_fn match);
/* Free the slots (never the values): the map is empty again, with the same
 * keys, ready for reuse. */
void lh_map_fini(struct lh_map *map);
/* Make room so that the next `extra` puts cannot fail, however many
 * deletes come between them: 0, or -ENOMEM with the map unchanged. For a
 * plugin that must not fail after the host has done a request, it reserves
 * before the request and puts after it. */
int lh_map_reserve(struct lh_map *map, size_t extra);

/*
 * Per key kind: get (the value, or NULL when absent), put (0 or -ENOMEM,
 * the map unchanged then; the key must be absent and the value non-NULL)
 * and del (remove and return the value, or NULL when absent). Calling one
 * kind's functions on a map of another kind is a bug.
 */
void *lh_map_get_u64(const struct lh_map *map, uint64_t key);
int lh_map_put_u64(struct lh_map *map, uint64_t key, void *value);
void *lh_map_del_u64(struct lh_map *map, uint64_t key);

void *lh_map_get_str(const struct lh_map *map, const char *key);
int lh_map_put_str(struct lh_map *map, const char *key, void *value);
void *lh_map_del_str(struct lh_map *map, const char *key);

/* LH_MAP_CUSTOM: `hash` is the key's hash, the same for get, put and del. */
void *lh_map_get(const struct lh_map *map, uint64_t hash, const void *key);
int lh_map_put(struct lh_map *map, uint64_t hash, void *value);
void *lh_map_del(struct lh_map *map, uint64_t hash, const void *key);

/*
 * Iterate: start with *cursor = 0; each call returns the next value and
 * advances *cursor, NULL once every entry has been seen. Every entry
 * present for the whole iteration is seen exactly once. Deleting entries
 * meanwhile (the one just returned or any other) is allowed: deletes never
 * move an entry. A put may move every entry and ends the iteration.
 *
 * The order is the slots' order: the same for the same sequence of calls
 * (no seed, no address is hashed), but neither insertion nor key order. A
 * caller that writes an order out (list, encode) keeps its own order or
 * sorts; none of the plugins relies on this one.
 */
void *lh_map_next(const struct lh_map *map, size_t *cursor);

#endif
