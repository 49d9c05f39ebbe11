/* vpmem_alloc.c - see vpmem_alloc.h. */
#include "vpmem_alloc.h"

#include <errno.h>
#include <string.h>

/* A node is the region of its class at its offset. Nodes below a FREE or
 * TAKEN node are meaningless until it is split again. */
enum vpmem_node_state {
	VPMEM_NODE_FREE = 0,
	VPMEM_NODE_SPLIT,
	VPMEM_NODE_TAKEN,
};

#define VPMEM_TOP_CLASS (VPMEM_ALLOC_CLASSES - 1)

int vpmem_alloc_class(uint64_t size)
{
	uint64_t units;
	int cls = 0;

	if (size == 0 || size > VPMEM_ALLOC_SPACE)
		return -1;
	units = (size - 1) >> 20;
	while (units > 0) {
		units >>= 2;
		cls++;
	}
	return cls;
}

uint64_t vpmem_alloc_class_size(int cls)
{
	return VPMEM_ALLOC_MIN_REGION << (2 * cls);
}

/* Index of the first node of the class (heap order, root first). */
static uint32_t vpmem_alloc_first(int cls)
{
	uint32_t depth = (uint32_t)(VPMEM_TOP_CLASS - cls);

	return ((UINT32_C(1) << (2 * depth)) - 1) / 3;
}

static uint64_t vpmem_alloc_offset(uint32_t node, int cls)
{
	return (uint64_t)(node - vpmem_alloc_first(cls)) * vpmem_alloc_class_size(cls);
}

static void vpmem_alloc_refresh(struct vpmem_alloc *a, uint32_t node, int cls)
{
	uint8_t mask = 0;

	switch (a->state[node]) {
	case VPMEM_NODE_FREE:
		mask = (uint8_t)(1u << cls);
		break;
	case VPMEM_NODE_SPLIT:
		for (uint32_t c = 4 * node + 1; c <= 4 * node + 4; c++)
			mask |= a->free_mask[c];
		break;
	default:
		break;
	}
	a->free_mask[node] = mask;
}

/* Recompute the masks from node up to the root. */
static void vpmem_alloc_refresh_up(struct vpmem_alloc *a, uint32_t node, int cls)
{
	for (;;) {
		vpmem_alloc_refresh(a, node, cls);
		if (node == 0)
			break;
		node = (node - 1) / 4;
		cls++;
	}
}

static void vpmem_alloc_split(struct vpmem_alloc *a, uint32_t node, int cls)
{
	a->state[node] = VPMEM_NODE_SPLIT;
	for (uint32_t c = 4 * node + 1; c <= 4 * node + 4; c++) {
		a->state[c] = VPMEM_NODE_FREE;
		a->free_mask[c] = (uint8_t)(1u << (cls - 1));
	}
}

int vpmem_alloc_reserve(struct vpmem_alloc *a, uint64_t offset, uint64_t size)
{
	int want = vpmem_alloc_class(size);
	uint32_t node = 0;
	int cls = VPMEM_TOP_CLASS;

	if (want < 0 || offset % vpmem_alloc_class_size(want) != 0 ||
	    offset >= VPMEM_ALLOC_SPACE)
		return -EINVAL;
	/* Check the whole path before changing anything. */
	for (uint32_t n = 0, c = VPMEM_TOP_CLASS;; c--) {
		if (a->state[n] == VPMEM_NODE_TAKEN)
			return -EEXIST;
		if ((int)c == want) {
			if (a->state[n] != VPMEM_NODE_FREE)
				return -EEXIST;
			break;
		}
		if (a->state[n] == VPMEM_NODE_FREE)
			break;
		n = 4 * n + 1 + (uint32_t)((offset / vpmem_alloc_class_size((int)c - 1)) % 4);
	}
	while (cls > want) {
		if (a->state[node] == VPMEM_NODE_FREE)
			vpmem_alloc_split(a, node, cls);
		cls--;
		node = 4 * node + 1 + (uint32_t)((offset / vpmem_alloc_class_size(cls)) % 4);
	}
	a->state[node] = VPMEM_NODE_TAKEN;
	vpmem_alloc_refresh_up(a, node, cls);
	return 0;
}

void vpmem_alloc_init(struct vpmem_alloc *a, uint64_t usable_bytes)
{
	uint64_t offset;

	memset(a, 0, sizeof(*a));
	a->free_mask[0] = 1u << VPMEM_TOP_CLASS;
	if (usable_bytes > VPMEM_ALLOC_SPACE)
		usable_bytes = VPMEM_ALLOC_SPACE;
	offset = usable_bytes - usable_bytes % VPMEM_ALLOC_MIN_REGION;
	/* Block the tail with the fewest, largest aligned regions. */
	while (offset < VPMEM_ALLOC_SPACE) {
		int cls = VPMEM_TOP_CLASS;

		while (offset % vpmem_alloc_class_size(cls) != 0 ||
		       offset + vpmem_alloc_class_size(cls) > VPMEM_ALLOC_SPACE)
			cls--;
		vpmem_alloc_reserve(a, offset, vpmem_alloc_class_size(cls));
		offset += vpmem_alloc_class_size(cls);
	}
}

int vpmem_alloc_max_class(const struct vpmem_alloc *a)
{
	for (int cls = VPMEM_TOP_CLASS; cls >= 0; cls--)
		if (a->free_mask[0] & (1u << cls))
			return cls;
	return -1;
}

int vpmem_alloc_take(struct vpmem_alloc *a, uint64_t size, uint64_t *offset)
{
	int want = vpmem_alloc_class(size);
	int have = -1;
	uint32_t node = 0;
	int cls = VPMEM_TOP_CLASS;

	if (want < 0)
		return -ENOSPC;
	/* Best fit first: splitting a larger region only when no region of
	 * the class is free keeps large regions whole for large layers. */
	for (int c = want; c <= VPMEM_TOP_CLASS; c++) {
		if (a->free_mask[0] & (1u << c)) {
			have = c;
			break;
		}
	}
	if (have < 0)
		return -ENOSPC;
	while (cls > have) {
		uint32_t child = 4 * node + 1;

		while (!(a->free_mask[child] & (1u << have)))
			child++;
		node = child;
		cls--;
	}
	while (cls > want) {
		vpmem_alloc_split(a, node, cls);
		node = 4 * node + 1;
		cls--;
	}
	a->state[node] = VPMEM_NODE_TAKEN;
	vpmem_alloc_refresh_up(a, node, cls);
	*offset = vpmem_alloc_offset(node, cls);
	return 0;
}

int vpmem_alloc_free(struct vpmem_alloc *a, uint64_t offset, uint64_t size)
{
	int want = vpmem_alloc_class(size);
	uint32_t node = 0;
	int cls = VPMEM_TOP_CLASS;

	if (want < 0 || offset % vpmem_alloc_class_size(want) != 0 ||
	    offset >= VPMEM_ALLOC_SPACE)
		return -ENOENT;
	while (cls > want) {
		if (a->state[node] != VPMEM_NODE_SPLIT)
			return -ENOENT;
		cls--;
		node = 4 * node + 1 + (uint32_t)((offset / vpmem_alloc_class_size(cls)) % 4);
	}
	if (a->state[node] != VPMEM_NODE_TAKEN)
		return -ENOENT;
	a->state[node] = VPMEM_NODE_FREE;
	/* Merge four free siblings back into their parent, as far up as it goes. */
	while (node != 0) {
		uint32_t parent = (node - 1) / 4;
		bool all_free = true;

		for (uint32_t c = 4 * parent + 1; c <= 4 * parent + 4; c++)
			all_free = all_free && a->state[c] == VPMEM_NODE_FREE;
		if (!all_free)
			break;
		a->state[parent] = VPMEM_NODE_FREE;
		node = parent;
		cls++;
	}
	vpmem_alloc_refresh_up(a, node, cls);
	return 0;
}
