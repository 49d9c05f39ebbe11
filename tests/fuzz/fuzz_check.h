/*
 * fuzz_check.h - the oracle every fuzz target asserts with: a failed check
 * prints where it failed and aborts, which libFuzzer reports as a crash
 * and saves the input for.
 */
#ifndef LH_FUZZ_CHECK_H
#define LH_FUZZ_CHECK_H

#include <stdio.h>
#include <stdlib.h>

#define FUZZ_CHECK(cond)                                                              \
	do {                                                                          \
		if (!(cond)) {                                                        \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, \
				#cond);                                               \
			abort();                                                      \
		}                                                                     \
	} while (0)

#endif
