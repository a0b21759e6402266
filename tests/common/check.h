/* SPDX-License-Identifier: MIT */
/*
 * CHECK() for the white-box test programs (those that reach into src/core rather than go
 * through tests/core/testlib.h): counts what failed, says where, goes on. check_done()
 * prints the verdict and gives the exit status.
 */
#ifndef SIO_TEST_CHECK_H
#define SIO_TEST_CHECK_H

#include <stdio.h>

static int failures;

#define CHECK(cond)                                                                   \
	do {                                                                          \
		if (!(cond)) {                                                        \
			failures++;                                                   \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, \
				#cond);                                               \
		}                                                                     \
	} while (0)

static inline int check_done(const char *name)
{
	printf("%s: %s\n", name, failures ? "FAILED" : "passed");
	return failures != 0;
}

#endif
