/* test_vpmem.h - what the VPMem test files share. */
#ifndef TEST_VPMEM_H
#define TEST_VPMEM_H

#include <cutest.h>

/* The allocator's cases (test_vpmem_alloc.c), ended by a NULL name. */
extern const struct cutest_case vpmem_alloc_cases[];

#endif
