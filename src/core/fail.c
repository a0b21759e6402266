// SPDX-License-Identifier: MIT
/*
 * Fault injection (see fail.h). The per-thread state is plain TLS: only its own thread reads
 * or writes it. The random mode is two process-wide atomics read with relaxed ordering: a
 * thread may see the switch a few points late, which only shifts where failures land.
 */
#include <stdatomic.h>
#include <stdint.h>

#include "fail.h"

/* initial-exec: sio_should_fail() runs on every hot path; no __tls_get_addr call */
#define FAIL_TLS __thread __attribute__((tls_model("initial-exec")))
static FAIL_TLS unsigned int fail_nth;
static FAIL_TLS unsigned long fail_points;
static FAIL_TLS uint64_t rand_state;
static FAIL_TLS unsigned long rand_gen;

static atomic_uint random_per_million;
static atomic_ulong random_seed;
/* Bumped by every sio_fail_random_set() so threads reseed */
static atomic_ulong random_generation;
static atomic_ulong injected;

/* splitmix64: small, good enough to spread failures, no shared state */
static uint64_t next_rand(void)
{
	uint64_t z = (rand_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static bool random_fail(void)
{
	unsigned int p = atomic_load_explicit(&random_per_million, memory_order_relaxed);
	unsigned long gen;

	if (!p)
		return false;
	gen = atomic_load_explicit(&random_generation, memory_order_relaxed);
	if (gen != rand_gen) {
		rand_gen = gen;
		rand_state = atomic_load_explicit(&random_seed, memory_order_relaxed) ^
			     (uint64_t)(uintptr_t)&rand_state;
	}
	return next_rand() % 1000000 < p;
}

bool sio_should_fail(void)
{
	bool fail = false;

	fail_points++;
	if (fail_nth && --fail_nth == 0)
		fail = true;
	else if (random_fail())
		fail = true;
	if (fail)
		atomic_fetch_add_explicit(&injected, 1, memory_order_relaxed);
	return fail;
}

void sio_fail_nth_set(unsigned int nth) { fail_nth = nth; }
unsigned int sio_fail_nth_get(void) { return fail_nth; }
unsigned long sio_fail_points(void) { return fail_points; }
void sio_fail_points_reset(void) { fail_points = 0; }

void sio_fail_random_set(unsigned int per_million, unsigned long seed)
{
	atomic_store(&random_seed, seed);
	atomic_fetch_add(&random_generation, 1);
	atomic_store(&random_per_million, per_million > 1000000 ? 1000000 : per_million);
}

unsigned long sio_fail_injected(void)
{
	return atomic_load(&injected);
}
