/* SPDX-License-Identifier: MIT */
/*
 * Fault injection. sio_should_fail() is called at every allocation and every other fallible
 * step of the core. A per-thread "fail the Nth point" counter (as Linux's
 * /proc/self/task/<tid>/fail-nth) drives it; counting mode records how many points a call
 * sequence passes.
 */
#ifndef SIO_FAIL_H
#define SIO_FAIL_H

#include <stdbool.h>

bool sio_should_fail(void);
/* Fail the @nth point from now on this thread (1 = the next one); 0 disables. */
void sio_fail_nth_set(unsigned int nth);
/* Remaining count: 0 after the injected failure happened (as fail-nth reads back). */
unsigned int sio_fail_nth_get(void);
/* Points passed on this thread since the counter was reset */
unsigned long sio_fail_points(void);
void sio_fail_points_reset(void);

#endif
