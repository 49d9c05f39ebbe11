/* test_vpmem.h - what the VPMem test files share. */
#ifndef TEST_VPMEM_H
#define TEST_VPMEM_H

#include <CUnit/Basic.h>

struct cutest_case {
	const char *name;
	CU_TestFunc fn;
};

/* The allocator's cases (test_vpmem_alloc.c), ended by a NULL name. */
extern const struct cutest_case vpmem_alloc_cases[];

#endif
