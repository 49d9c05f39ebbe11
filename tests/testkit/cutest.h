/*
 * cutest.h - the few lines every test program shares: a table of
 * CUnit cases run as one suite, the exit status the failure count.
 */
#ifndef LH_CORE_CUTEST_H
#define LH_CORE_CUTEST_H

#include <CUnit/Basic.h>

#include <stdio.h>
#include <string.h>

struct cutest_case {
	const char *name;
	CU_TestFunc fn;
};

/* Assert that an error message contains `needle`, printing it otherwise. */
#define ASSERT_MSG_HAS(err, needle)                                                         \
	do {                                                                                \
		int has_ = strstr((err).message, (needle)) != NULL;                         \
		if (!has_)                                                                  \
			fprintf(stderr, "\n  message \"%s\" lacks \"%s\"\n", (err).message, \
				(needle));                                                  \
		CU_ASSERT(has_);                                                            \
	} while (0)

static inline int cutest_run(const char *suite_name, const struct cutest_case *cases,
			     void (*cleanup)(void))
{
	CU_pSuite suite;
	unsigned failed;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	suite = CU_add_suite(suite_name, NULL, NULL);
	for (const struct cutest_case *c = cases; suite && c->name; c++)
		if (!CU_add_test(suite, c->name, c->fn))
			suite = NULL;
	if (!suite) {
		CU_cleanup_registry();
		return 2;
	}
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
	CU_cleanup_registry();
	if (cleanup)
		cleanup();
	return failed ? 1 : 0;
}

#endif
