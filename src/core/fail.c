// SPDX-License-Identifier: MIT
#include "fail.h"

static __thread unsigned int fail_nth;
static __thread unsigned long fail_points;

bool sio_should_fail(void)
{
	fail_points++;
	if (!fail_nth)
		return false;
	if (--fail_nth == 0)
		return true;
	return false;
}

void sio_fail_nth_set(unsigned int nth) { fail_nth = nth; }
unsigned int sio_fail_nth_get(void) { return fail_nth; }
unsigned long sio_fail_points(void) { return fail_points; }
void sio_fail_points_reset(void) { fail_points = 0; }
