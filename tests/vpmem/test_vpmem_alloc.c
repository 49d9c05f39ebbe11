/* test_vpmem_alloc.c - the multi-mapping allocator on its own. */
#include "test_vpmem.h"

#include "../../plugins/vpmem/vpmem_alloc.h"

#include <errno.h>
#include <stdlib.h>

#define MiB (UINT64_C(1) << 20)
#define GiB (UINT64_C(1) << 30)

static void test_alloc_classes(void)
{
	CU_ASSERT_EQUAL(vpmem_alloc_class(0), -1);
	CU_ASSERT_EQUAL(vpmem_alloc_class(1), 0);
	CU_ASSERT_EQUAL(vpmem_alloc_class(4096), 0);
	CU_ASSERT_EQUAL(vpmem_alloc_class(MiB), 0);
	CU_ASSERT_EQUAL(vpmem_alloc_class(MiB + 4096), 1);
	CU_ASSERT_EQUAL(vpmem_alloc_class(4 * MiB), 1);
	CU_ASSERT_EQUAL(vpmem_alloc_class(4 * MiB + 1), 2);
	CU_ASSERT_EQUAL(vpmem_alloc_class(1 * GiB), 5);
	CU_ASSERT_EQUAL(vpmem_alloc_class(4 * GiB), 6);
	CU_ASSERT_EQUAL(vpmem_alloc_class(4 * GiB + 1), -1);
	CU_ASSERT_EQUAL(vpmem_alloc_class_size(0), MiB);
	CU_ASSERT_EQUAL(vpmem_alloc_class_size(6), 4 * GiB);
}

static void test_alloc_fill_and_merge(void)
{
	struct vpmem_alloc *a = malloc(sizeof(*a));
	uint64_t off = 0;

	vpmem_alloc_init(a, 4 * GiB);
	CU_ASSERT_EQUAL(vpmem_alloc_max_class(a), 6);
	/* 4096 regions of 1 MiB at increasing offsets, then full. */
	for (uint64_t i = 0; i < 4096; i++) {
		CU_ASSERT_EQUAL_FATAL(vpmem_alloc_take(a, 4096, &off), 0);
		CU_ASSERT_EQUAL_FATAL(off, i * MiB);
	}
	CU_ASSERT_EQUAL(vpmem_alloc_max_class(a), -1);
	CU_ASSERT_EQUAL(vpmem_alloc_take(a, 4096, &off), -ENOSPC);
	/* Freeing everything merges back to one 4 GiB region. */
	for (uint64_t i = 0; i < 4096; i++)
		CU_ASSERT_EQUAL_FATAL(vpmem_alloc_free(a, i * MiB, 4096), 0);
	CU_ASSERT_EQUAL(vpmem_alloc_max_class(a), 6);
	CU_ASSERT_EQUAL(vpmem_alloc_take(a, 4 * GiB, &off), 0);
	CU_ASSERT_EQUAL(off, 0);
	CU_ASSERT_EQUAL(vpmem_alloc_free(a, 0, 4 * GiB), 0);
	CU_ASSERT_EQUAL(vpmem_alloc_free(a, 0, 4 * GiB), -ENOENT);
	free(a);
}

static void test_alloc_best_fit_and_alignment(void)
{
	struct vpmem_alloc *a = malloc(sizeof(*a));
	static const uint64_t sizes[] = { MiB, 3 * MiB, 4096, 20 * MiB, 5 * MiB, 300 * MiB, 8192, MiB + 4096 };
	uint64_t off[8], o;

	vpmem_alloc_init(a, 4 * GiB);
	for (size_t i = 0; i < 8; i++) {
		int cls = vpmem_alloc_class(sizes[i]);

		CU_ASSERT_EQUAL_FATAL(vpmem_alloc_take(a, sizes[i], &off[i]), 0);
		CU_ASSERT_EQUAL(off[i] % vpmem_alloc_class_size(cls), 0);
		CU_ASSERT_EQUAL(off[i] % 4096, 0);
		/* No two regions overlap. */
		for (size_t j = 0; j < i; j++) {
			uint64_t ei = off[i] + vpmem_alloc_class_size(cls);
			uint64_t ej = off[j] + vpmem_alloc_class_size(vpmem_alloc_class(sizes[j]));

			CU_ASSERT(ei <= off[j] || ej <= off[i]);
		}
	}
	/* 1 MiB at 0, the 4 MiB class at 4 MiB (the split 16 MiB region),
	 * the next 1 MiB fills the split 4 MiB region first (best fit). */
	CU_ASSERT_EQUAL(off[0], 0);
	CU_ASSERT_EQUAL(off[1], 4 * MiB);
	CU_ASSERT_EQUAL(off[2], MiB);
	/* A freed small region is the lowest free one of its class again. */
	CU_ASSERT_EQUAL(vpmem_alloc_free(a, off[2], 4096), 0);
	CU_ASSERT_EQUAL(vpmem_alloc_take(a, 4096, &o), 0);
	CU_ASSERT_EQUAL(o, off[2]);
	free(a);
}

static void test_alloc_reserve_and_tail(void)
{
	struct vpmem_alloc *a = malloc(sizeof(*a));
	uint64_t off;

	vpmem_alloc_init(a, 4 * GiB);
	CU_ASSERT_EQUAL(vpmem_alloc_reserve(a, 5 * MiB, MiB), 0);
	CU_ASSERT_EQUAL(vpmem_alloc_reserve(a, 5 * MiB, MiB), -EEXIST);
	CU_ASSERT_EQUAL(vpmem_alloc_reserve(a, 4 * MiB, 4 * MiB), -EEXIST); /* covers 5 MiB */
	CU_ASSERT_EQUAL(vpmem_alloc_reserve(a, 2 * MiB, 4 * MiB), -EINVAL); /* misaligned */
	CU_ASSERT_EQUAL(vpmem_alloc_reserve(a, 4 * GiB, MiB), -EINVAL);
	CU_ASSERT_EQUAL(vpmem_alloc_free(a, 6 * MiB, MiB), -ENOENT);
	CU_ASSERT_EQUAL(vpmem_alloc_take(a, MiB, &off), 0);
	CU_ASSERT_EQUAL(off, 4 * MiB); /* the split 4 MiB region first */

	/* A 6.5 MiB device: regions never pass its end (rounded to 6 MiB). */
	vpmem_alloc_init(a, 6 * MiB + MiB / 2);
	CU_ASSERT_EQUAL(vpmem_alloc_max_class(a), 1);
	CU_ASSERT_EQUAL(vpmem_alloc_take(a, 4 * MiB, &off), 0);
	CU_ASSERT_EQUAL(off, 0);
	CU_ASSERT_EQUAL(vpmem_alloc_take(a, 4 * MiB, &off), -ENOSPC);
	CU_ASSERT_EQUAL(vpmem_alloc_take(a, MiB, &off), 0);
	CU_ASSERT_EQUAL(off, 4 * MiB);
	CU_ASSERT_EQUAL(vpmem_alloc_take(a, MiB, &off), 0);
	CU_ASSERT_EQUAL(off, 5 * MiB);
	CU_ASSERT_EQUAL(vpmem_alloc_take(a, MiB, &off), -ENOSPC);
	CU_ASSERT_EQUAL(vpmem_alloc_max_class(a), -1);
	free(a);
}

const struct cutest_case vpmem_alloc_cases[] = {
	{ "alloc: size classes", test_alloc_classes },
	{ "alloc: fill, exhaust, merge back", test_alloc_fill_and_merge },
	{ "alloc: best fit, alignment, no overlap", test_alloc_best_fit_and_alignment },
	{ "alloc: reserve, overlap, device tail", test_alloc_reserve_and_tail },
	{ NULL, NULL },
};
