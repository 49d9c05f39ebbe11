/*
 * strset.h - a set of strings, each with a number (the INI line it was
 * first seen on), for duplicate checks that stay linear in the number of
 * entries: 100,000 containers in one file are checked in one pass.
 */
#ifndef LH_STRSET_H
#define LH_STRSET_H

#include <stddef.h>

struct lh_strset {
	struct lh_strset_slot *slots; /* open addressing, a power of two of them */
	size_t cap, n;
};

/* An empty set needs no call: zero it. */

/*
 * Add key with `value`. Returns 0 if it was new, 1 if it was there (then
 * *first, unless NULL, is the value it was added with and nothing
 * changes), -ENOMEM. The set copies the key.
 */
int lh_strset_add(struct lh_strset *set, const char *key, unsigned value, unsigned *first);

/* Free the keys and slots; the set is empty again. */
void lh_strset_clear(struct lh_strset *set);

#endif
