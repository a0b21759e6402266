// SPDX-License-Identifier: MIT
/*
 * test_pt_concurrency.c - lock-free walks during updates, racing maps
 *
 * 1. A walker thread translates a stable range A and a range B that the
 *    main thread keeps mapping, unmapping, splitting and dirtying.  Every
 *    walk of A must succeed with the right address; every walk of B must
 *    either find nothing or the one address B is ever mapped to.  Freed
 *    tables are quarantined until the walker has stopped, as pt.h asks of
 *    callers with concurrent walkers.
 * 2. Two threads map interleaved pages of the same region into a fresh
 *    table, racing to install the same intermediate tables; afterwards
 *    every page is mapped exactly as asked and no table leaked.
 * 3. Emulated hardware (pt_set_dirty) hammers a range that is being mapped
 *    and unmapped: it must never leave a non-zero invalid descriptor
 *    behind, so every later map of the range succeeds.
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "pt.h"
#include "pt_test.h"

#define K4 0x1000ULL
#define M2 0x200000ULL
#define A_BASE 0x0ULL
#define A_LEN (64 * M2)
#define B_BASE 0x40000000ULL
#define B_LEN (64 * M2)
#define OFF 0x100000000ULL

struct quarantine {
	pthread_mutex_t lock;
	void **p;
	size_t n, cap;
	long live;
};

static void *q_alloc(void *priv, size_t size, size_t align)
{
	struct quarantine *q = priv;

	__atomic_fetch_add(&q->live, 1, __ATOMIC_RELAXED);
	return aligned_alloc(align, size);
}

static void q_free(void *priv, void *p, size_t size)
{
	struct quarantine *q = priv;

	__atomic_fetch_sub(&q->live, 1, __ATOMIC_RELAXED);
	pthread_mutex_lock(&q->lock);
	if (q->n == q->cap) {
		q->cap = q->cap ? 2 * q->cap : 1024;
		q->p = realloc(q->p, q->cap * sizeof(*q->p));
	}
	q->p[q->n++] = p;
	pthread_mutex_unlock(&q->lock);
}

static void q_drain(struct quarantine *q)
{
	for (size_t i = 0; i < q->n; i++)
		free(q->p[i]);
	free(q->p);
	q->p = NULL;
	q->n = q->cap = 0;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static struct pt_table *shared;
static int stop;
static unsigned long walks_a, walks_b_hit, walks_b_miss, bad_a, bad_b;

static void *walker(void *arg)
{
	uint64_t x = 12345;

	while (!__atomic_load_n(&stop, __ATOMIC_ACQUIRE)) {
		uint64_t a, pa;
		unsigned int prot;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		a = A_BASE + (x % A_LEN);
		if (pt_iova_to_phys(shared, a, &pa, &prot, NULL) ||
		    pa != a + OFF)
			bad_a++;
		walks_a++;
		a = B_BASE + ((x >> 20) % B_LEN);
		if (!pt_iova_to_phys(shared, a, &pa, &prot, NULL)) {
			if (pa != a + OFF || !(prot & PT_PROT_READ))
				bad_b++;
			walks_b_hit++;
		} else {
			walks_b_miss++;
		}
	}
	return NULL;
}

static void walk_vs_update(void)
{
	struct quarantine q = { .lock = PTHREAD_MUTEX_INITIALIZER };
	struct pt_cfg cfg = { .fmt = PT_FMT_VMSAV8_S1, .granule_lg2 = 12,
			      .flags = PT_CFG_DIRTY_TRACKING,
			      .alloc_table = q_alloc, .free_table = q_free,
			      .alloc_priv = &q };
	pthread_t th;
	uint64_t x = 99, un;
	unsigned long ops = 0;
	double t0;

	CHECK_EQ(pt_table_alloc(&cfg, &shared), 0);
	CHECK_EQ(pt_map(shared, A_BASE, A_BASE + OFF, A_LEN,
			PT_PROT_READ | PT_PROT_WRITE, K4), 0);
	CHECK_EQ(pthread_create(&th, NULL, walker, NULL), 0);
	t0 = now();
	while (now() - t0 < 0.6) {
		uint64_t a, len;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		len = (1 + x % 8) * (x & 0x100 ? M2 : K4);
		a = B_BASE + ((x >> 16) % (B_LEN - len) & ~(K4 - 1));
		switch ((x >> 40) % 5) {
		case 0:
		case 1:
			pt_map(shared, a, a + OFF, len, PT_PROT_READ |
			       PT_PROT_WRITE, 0);
			break;
		case 2:
			pt_unmap(shared, a, len, PT_UNMAP_ALLOW_SPLIT, &un);
			break;
		case 3:
			pt_set_dirty(shared, a);
			pt_read_and_clear_dirty(shared, B_BASE, B_LEN, 0, NULL,
						NULL);
			break;
		default:
			pt_unmap(shared, B_BASE, B_LEN, 0, &un);
			break;
		}
		ops++;
	}
	__atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
	pthread_join(th, NULL);
	printf("walk vs update: %lu updates, %lu A walks, %lu B hits, "
	       "%lu B misses\n", ops, walks_a, walks_b_hit, walks_b_miss);
	CHECK_EQ(bad_a, 0);
	CHECK_EQ(bad_b, 0);
	CHECK(walks_b_hit > 0 && walks_b_miss > 0);
	pt_table_free(shared);
	CHECK_EQ(q.live, 0);
	q_drain(&q);
}

struct racer {
	struct pt_table *t;
	unsigned int parity;
	int errors;
	pthread_barrier_t *bar;
};

static void *race_map(void *arg)
{
	struct racer *r = arg;

	pthread_barrier_wait(r->bar);
	/* pages spread over 4 GiB so every level has tables to race for */
	for (uint64_t i = r->parity; i < 256; i += 2) {
		uint64_t a = (i << 24) | (i << 12);

		if (pt_map(r->t, a, a + OFF, K4, PT_PROT_READ, 0))
			r->errors++;
	}
	return NULL;
}

static void map_races(void)
{
	struct quarantine q = { .lock = PTHREAD_MUTEX_INITIALIZER };
	pthread_barrier_t bar;
	int bad = 0;

	pthread_barrier_init(&bar, NULL, 2);
	for (int round = 0; round < 200; round++) {
		struct pt_cfg cfg = { .fmt = round & 1 ? PT_FMT_X86_64 :
						     PT_FMT_MOCK,
				      .alloc_table = q_alloc,
				      .free_table = q_free, .alloc_priv = &q };
		struct racer r[2];
		pthread_t th[2];
		struct pt_table *t;

		CHECK_EQ(pt_table_alloc(&cfg, &t), 0);
		for (int i = 0; i < 2; i++) {
			r[i] = (struct racer){ t, i, 0, &bar };
			pthread_create(&th[i], NULL, race_map, &r[i]);
		}
		for (int i = 0; i < 2; i++)
			pthread_join(th[i], NULL);
		bad += r[0].errors + r[1].errors;
		for (uint64_t i = 0; i < 256; i++) {
			uint64_t a = (i << 24) | (i << 12), pa = 0;

			if (pt_iova_to_phys(t, a, &pa, NULL, NULL) ||
			    pa != a + OFF)
				bad++;
		}
		pt_table_free(t);
	}
	pthread_barrier_destroy(&bar);
	CHECK_EQ(bad, 0);
	CHECK_EQ(q.live, 0);
	q_drain(&q);
}

static struct pt_table *dtab;

static void *dirtier(void *arg)
{
	unsigned long n = 0;

	while (!__atomic_load_n(&stop, __ATOMIC_ACQUIRE))
		for (uint64_t a = 0; a < 64 * K4; a += K4, n++)
			pt_set_dirty(dtab, B_BASE + a);
	return NULL;
}

static void dirty_vs_unmap(void)
{
	static const enum pt_format fmts[] = {
		PT_FMT_MOCK, PT_FMT_X86_64, PT_FMT_VMSAV8_S1, PT_FMT_VMSAV8_S2,
	};
	int bad = 0;

	for (unsigned int f = 0; f < 4; f++) {
		struct pt_cfg cfg = { .fmt = fmts[f],
				      .flags = PT_CFG_DIRTY_TRACKING };
		pthread_t th;
		uint64_t un;

		CHECK_EQ(pt_table_alloc(&cfg, &dtab), 0);
		/* keep the leaf table alive: a neighbour stays mapped */
		CHECK_EQ(pt_map(dtab, B_BASE + 64 * K4, OFF, K4, PT_PROT_READ,
				0), 0);
		__atomic_store_n(&stop, 0, __ATOMIC_RELEASE);
		pthread_create(&th, NULL, dirtier, NULL);
		for (int i = 0; i < 3000; i++) {
			if (pt_map(dtab, B_BASE, OFF, 64 * K4,
				   PT_PROT_READ | PT_PROT_WRITE, 0))
				bad++;
			pt_unmap(dtab, B_BASE, 64 * K4, 0, &un);
		}
		__atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
		pthread_join(th, NULL);
		for (uint64_t a = 0; a < 64 * K4; a += K4) {
			uint64_t d = 1;

			CHECK_EQ(pt_read_entry(dtab, B_BASE + a, 0, &d), 0);
			CHECK_EQ(d, 0);
		}
		pt_table_free(dtab);
	}
	CHECK_EQ(bad, 0);
}

int main(void)
{
	walk_vs_update();
	map_races();
	dirty_vs_unmap();
	return pt_test_done();
}
