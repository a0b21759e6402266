/* SPDX-License-Identifier: MIT */
/*
 * pt_test.h - tiny check harness shared by the page-table tests
 *
 * CHECK() counts a pass or prints the failing expression; each program
 * ends with pt_test_done(), which prints "N passed, N failed" and returns
 * the exit status.
 */
#ifndef PT_TEST_H
#define PT_TEST_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

static unsigned long pt_test_pass, pt_test_fail;

#define CHECK(cond)                                                        \
	do {                                                               \
		if (cond) {                                                \
			pt_test_pass++;                                    \
		} else {                                                   \
			pt_test_fail++;                                    \
			if (pt_test_fail < 50)                             \
				fprintf(stderr, "%s:%d: FAIL: %s\n",       \
					__FILE__, __LINE__, #cond);        \
		}                                                          \
	} while (0)

#define CHECK_EQ(a, b)                                                     \
	do {                                                               \
		uint64_t _a = (uint64_t)(a), _b = (uint64_t)(b);           \
		if (_a == _b) {                                            \
			pt_test_pass++;                                    \
		} else {                                                   \
			pt_test_fail++;                                    \
			if (pt_test_fail < 50)                             \
				fprintf(stderr,                            \
					"%s:%d: FAIL: %s == %s: 0x%" PRIx64 \
					" != 0x%" PRIx64 "\n",             \
					__FILE__, __LINE__, #a, #b, _a,    \
					_b);                               \
		}                                                          \
	} while (0)

static inline int pt_test_done(void)
{
	printf("%lu passed, %lu failed\n", pt_test_pass, pt_test_fail);
	return pt_test_fail ? EXIT_FAILURE : EXIT_SUCCESS;
}

#endif
