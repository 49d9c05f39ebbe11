/* handles.c - growing arrays and per-object handle lists (see lh_handles.h). */
#include "lh_handles.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define LH_ARRAY_MIN_CAP 4

void *lh_array_grow(void *items, size_t *cap, size_t want, size_t size)
{
	size_t n = *cap ? *cap : LH_ARRAY_MIN_CAP;
	void *grown = items;

	if (want <= *cap)
		goto out;
	while (n < want) {
		if (n > SIZE_MAX / 2 / size) {
			grown = NULL;
			goto out;
		}
		n *= 2;
	}
	grown = realloc(items, n * size);
	if (grown)
		*cap = n;
out:
	return grown;
}

int lh_handles_add(struct lh_handles *h, uint64_t id)
{
	uint64_t *ids = lh_array_grow(h->ids, &h->cap, h->n + 1, sizeof(*h->ids));
	int rc = 0;

	if (!ids) {
		rc = -ENOMEM;
		goto out;
	}
	h->ids = ids;
	h->ids[h->n++] = id;
out:
	return rc;
}

/* From the newest: undoing the add just made, the usual drop on a failed
 * insert elsewhere, costs one step. */
static size_t lh_handles_find(const struct lh_handles *h, uint64_t id)
{
	size_t i = h->n;

	while (i > 0 && h->ids[i - 1] != id)
		i--;
	return i; /* the index + 1, or 0 when absent */
}

bool lh_handles_drop(struct lh_handles *h, uint64_t id)
{
	size_t at = lh_handles_find(h, id);

	if (at) {
		memmove(&h->ids[at - 1], &h->ids[at], (h->n - at) * sizeof(*h->ids));
		h->n--;
	}
	return at != 0;
}

bool lh_handles_has(const struct lh_handles *h, uint64_t id)
{
	return lh_handles_find(h, id) != 0;
}

void lh_handles_fini(struct lh_handles *h)
{
	free(h->ids);
	memset(h, 0, sizeof(*h));
}
