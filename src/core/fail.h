/* SPDX-License-Identifier: MIT */
/*
 * Fault injection. sio_should_fail() is called at every allocation and every other fallible
 * step of the core. Two independent triggers drive it:
 *
 *  - a per-thread "fail the Nth point" counter, as Linux's /proc/self/task/<tid>/fail-nth (the
 *    shim serves that file from it, so the upstream iommufd_fail_nth suite runs); counting mode
 *    records how many points a call sequence passes (tests/fault sweeps every one of them);
 *  - a process-wide random mode, as failslab's "probability" knob: every point on every thread
 *    fails with a given probability, for the fuzzer and the stress test.
 *
 * The counters are for test harnesses; nothing in the core reads them.
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

/*
 * sio_fail_random_set() - process-wide random failures
 * @per_million: probability of each point failing, in millionths; 0 turns the mode off
 * @seed: seed of the per-thread generators (each thread mixes in its own address)
 */
void sio_fail_random_set(unsigned int per_million, unsigned long seed);
/* Failures injected so far, by either trigger, on all threads */
unsigned long sio_fail_injected(void);

#endif
