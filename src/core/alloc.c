// SPDX-License-Identifier: MIT
/*
 * Allocation entry points. sio_should_fail() is the single fault-injection point every
 * fallible step of the core goes through (see tests/fault for the harness that drives it).
 */
#include <stdatomic.h>

#include "util.h"
#include "fail.h"

void *sio_zalloc(size_t size)
{
	if (sio_should_fail())
		return NULL;
	return calloc(1, size ? size : 1);
}

void *sio_calloc(size_t n, size_t size)
{
	if (sio_should_fail())
		return NULL;
	return calloc(n ? n : 1, size ? size : 1);
}

void *sio_realloc_array(void *p, size_t n, size_t size)
{
	size_t bytes;

	if (check_mul_overflow(n, size, &bytes))
		return NULL;
	if (sio_should_fail())
		return NULL;
	return realloc(p, bytes ? bytes : 1);
}
