/*
 * cutest.h - the few lines every test program shares: tables of CUnit
 * cases run as suites, the exit status the failure count.
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

/* One CUnit suite: its cases end with { NULL, NULL }; init and clean
 * (may be NULL) run before and after them. */
struct cutest_suite {
	const char *name;
	const struct cutest_case *cases;
	CU_InitializeFunc init;
	CU_CleanupFunc clean;
};

/*
 * Run the suites (ended by one whose name is NULL), then cleanup (may be
 * NULL). Returns the exit status: 0 all passed, 1 a failure (an assert, a
 * test or a suite's init or clean), 2 CUnit could not be set up.
 */
static inline int cutest_run_suites(const struct cutest_suite *suites, void (*cleanup)(void))
{
	unsigned failed;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	for (const struct cutest_suite *s = suites; s->name; s++) {
		CU_pSuite suite = CU_add_suite(s->name, s->init, s->clean);

		for (const struct cutest_case *c = s->cases; suite && c->name; c++)
			if (!CU_add_test(suite, c->name, c->fn))
				suite = NULL;
		if (!suite) {
			CU_cleanup_registry();
			return 2;
		}
	}
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed() +
		 CU_get_number_of_suites_failed();
	CU_cleanup_registry();
	if (cleanup)
		cleanup();
	return failed ? 1 : 0;
}

/* The common case: one suite without init or clean. */
static inline int cutest_run(const char *suite_name, const struct cutest_case *cases,
			     void (*cleanup)(void))
{
	const struct cutest_suite suites[] = {
		{ suite_name, cases, NULL, NULL },
		{ NULL, NULL, NULL, NULL },
	};

	return cutest_run_suites(suites, cleanup);
}

#endif
