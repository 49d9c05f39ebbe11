/*
 * lh_handles.h - growing arrays, and the handle list of a shared object
 * (part of lh_plugin_common, see CMakeLists.txt beside this file).
 *
 * A plugin hands out one handle per attach and shares one object (a disk,
 * a container) between equal attaches. Finding the object of a handle is an
 * lh_map of LH_MAP_U64 keys (lh_map.h); the object itself lists its live
 * handles in an lh_handles, in the order they were added, which is the
 * order encode writes them in (golden files pin it).
 *
 * Not thread-safe; not part of the backend ABI.
 */
#ifndef LH_PLUGIN_HANDLES_H
#define LH_PLUGIN_HANDLES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Make room for `want` (>= 1) elements of `size` (>= 1) bytes in the array
 * `items` of capacity *cap, doubling the capacity (from at least 4).
 * Returns the array to use from now on (items itself when it had room),
 * with *cap updated; or NULL on ENOMEM, leaving items and *cap as they
 * were. The usual call:
 *
 *	grown = lh_array_grow(o->items, &o->cap, o->n + 1, sizeof(*o->items));
 *	if (!grown)
 *		return -ENOMEM;
 *	o->items = grown;
 */
void *lh_array_grow(void *items, size_t *cap, size_t want, size_t size);

/* Zeroed: an empty list. */
struct lh_handles {
	uint64_t *ids; /* ids[0 .. n-1], oldest first */
	size_t n;
	size_t cap;
};

/* Append id (the caller keeps ids unique): 0, or -ENOMEM with h unchanged. */
int lh_handles_add(struct lh_handles *h, uint64_t id);
/* Remove id, keeping the others in order; false when it was not there. */
bool lh_handles_drop(struct lh_handles *h, uint64_t id);
bool lh_handles_has(const struct lh_handles *h, uint64_t id);
/* Free the array: h is an empty list again. */
void lh_handles_fini(struct lh_handles *h);

#endif
