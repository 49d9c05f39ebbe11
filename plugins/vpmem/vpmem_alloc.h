/*
 * vpmem_alloc.h - the address-space allocator of one multi-mapped VPMem
 * device.
 *
 * hcsshim packs layers into a device with a buddy-style pool: seven region
 * classes from 1 MiB to 4 GiB, each four times the last; a layer takes a
 * whole region of the smallest class that holds it, the smallest class with
 * a free region is used first and, within it, the lowest offset; a larger
 * region is split into four when no region of the class is free, and four
 * free siblings merge back. This allocator keeps that policy over a
 * complete 4-ary tree (one node per possible region), with a per-node mask
 * of the classes free below it so that allocation never scans the space.
 *
 * Not thread safe: the caller holds the plugin's lock.
 */
#ifndef VPMEM_ALLOC_H
#define VPMEM_ALLOC_H

#include <stdbool.h>
#include <stdint.h>

#define VPMEM_ALLOC_CLASSES 7
#define VPMEM_ALLOC_MIN_REGION (UINT64_C(1) << 20) /* class 0 */
#define VPMEM_ALLOC_SPACE (UINT64_C(4) << 30)     /* class 6: the whole device */
/* 1 + 4 + ... + 4^6 */
#define VPMEM_ALLOC_NODES 5461

struct vpmem_alloc {
	uint8_t state[VPMEM_ALLOC_NODES]; /* enum in vpmem_alloc.c */
	uint8_t free_mask[VPMEM_ALLOC_NODES]; /* bit c: a free class-c region lies below */
};

/* The class of the smallest region holding size bytes (size >= 1), or -1
 * when size exceeds 4 GiB or is 0. */
int vpmem_alloc_class(uint64_t size);
/* Bytes of a class-c region (c in 0..6). */
uint64_t vpmem_alloc_class_size(int cls);

/*
 * Prepare an empty device of usable_bytes (rounded down to 1 MiB, at most
 * 4 GiB): the space beyond it is blocked for good, so no region ever
 * reaches past the end of the device.
 */
void vpmem_alloc_init(struct vpmem_alloc *a, uint64_t usable_bytes);

/* Take a region for size bytes (1 .. 4 GiB): 0 with *offset set, or
 * -ENOSPC when no region of its class can be made free. */
int vpmem_alloc_take(struct vpmem_alloc *a, uint64_t size, uint64_t *offset);

/* Take the region of size's class at exactly `offset` (restoring saved
 * state): 0, -EINVAL if offset is not aligned to the class or size is
 * invalid, -EEXIST if any part of it is taken or blocked. */
int vpmem_alloc_reserve(struct vpmem_alloc *a, uint64_t offset, uint64_t size);

/* Give back the region taken for size bytes at offset: 0, or -ENOENT if no
 * such region is taken (nothing changes). */
int vpmem_alloc_free(struct vpmem_alloc *a, uint64_t offset, uint64_t size);

/* The largest class a take can still get, or -1 if the device is full. */
int vpmem_alloc_max_class(const struct vpmem_alloc *a);

#endif
