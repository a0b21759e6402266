// SPDX-License-Identifier: MIT
/*
 * stress — threads hammering one iommufd context's shared objects for a bounded time.
 *
 * Roles (thread i takes role i % 5): mapper (map/unmap fixed slots of IOAS A, each mapper
 * owning its own slots, so the bytes mapped are known exactly), copier (copy A's slots into IOAS
 * B, each copier owning its slots of B, and unmap them), attacher (mock device attach to A, replace to B, to a
 * paging HWPT on A, back, destroy), access (DMA read/write and pin/unpin through a shared
 * access on A, racing the mappers' unmaps), destroyer (short-lived IOASes; DESTROY of the
 * shared IOAS the access holds, which must be EBUSY).
 *
 * Afterwards: no unexpected errno was seen, unmapping all of A and of B returns exactly the
 * bytes the owners believe are mapped, and once everything is closed no page is pinned. Run
 * under TSan for data races. With -f, every fault-injection point fails with that probability
 * (per million) on every thread as well.
 *
 *   stress [-t THREADS] [-d SECONDS] [-f PER_MILLION] [-s SEED]
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "../common/sio_ops.h"
#include "../../src/core/fail.h"

#define NSLOTS 64
#define SLOT (64 * 1024)
#define BASE ((uint64_t)MOCK_APERTURE_START)

enum role { R_MAPPER, R_COPIER, R_ATTACHER, R_ACCESS, R_DESTROYER, R_NR };
static const char *const role_names[R_NR] = { "mapper", "copier", "attacher", "access",
					      "destroyer" };

static int ctx;
static uint32_t ioas_a, ioas_b;
static int access_fd;
static char *buffer;
static atomic_bool stop;
static int nthreads = 6, seconds = 3, nmappers;
static unsigned int fault_rate;
static unsigned long seed = 1;

/* Slots of A mapped, by their owning mapper; slots of B, by the copier */
static atomic_bool a_mapped[NSLOTS];
static atomic_bool b_mapped[NSLOTS];
static atomic_ulong ops_done[R_NR], unexpected;

struct worker {
	pthread_t thread;
	int index;
	enum role role;
	unsigned int rnd;
};

static unsigned int rnd(struct worker *w)
{
	w->rnd = w->rnd * 1103515245u + 12345u;
	return w->rnd >> 8;
}

/* Errors a racing or fault-injected call may legitimately return */
static void check(struct worker *w, const char *what, int rc, int ok1, int ok2)
{
	if (!rc || rc == -ok1 || rc == -ok2)
		return;
	/* An injected failure, or a destroy made EBUSY because an earlier step failed */
	if (fault_rate && (rc == -ENOMEM || rc == -ENOENT || rc == -EINVAL || rc == -EBUSY))
		return;
	atomic_fetch_add(&unexpected, 1);
	fprintf(stderr, "stress: %s thread %d: %s: %s\n", role_names[w->role], w->index, what,
		strerror(-rc));
}

static uint64_t slot_iova(int s)
{
	return BASE + (uint64_t)s * SLOT;
}

static void do_mapper(struct worker *w)
{
	int k = w->index / R_NR, s = (int)(rnd(w) % NSLOTS);
	uint64_t iova = slot_iova(s), len = 0;
	int rc;

	if (s % nmappers != k)
		return;
	if (!atomic_load(&a_mapped[s])) {
		rc = t_ioas_map(ctx, ioas_a, buffer + (size_t)s * SLOT, SLOT, &iova, 1);
		check(w, "map", rc, 0, 0);
		if (!rc)
			atomic_store(&a_mapped[s], true);
	} else {
		rc = t_ioas_unmap(ctx, ioas_a, iova, SLOT, &len);
		check(w, "unmap", rc, 0, 0);
		if (!rc && len != SLOT) {
			fprintf(stderr, "stress: unmap of slot %d returned %llu bytes\n", s,
				(unsigned long long)len);
			atomic_fetch_add(&unexpected, 1);
		}
		if (!rc)
			atomic_store(&a_mapped[s], false);
	}
}

static void do_copier(struct worker *w)
{
	int k = w->index / R_NR, s = (int)(rnd(w) % NSLOTS), rc;
	uint64_t iova = slot_iova(s), len;

	if (s % nmappers != k) /* each copier owns its slots of B */
		return;
	if (!atomic_load(&b_mapped[s])) {
		/* The source slot may be unmapped under us: ENOENT */
		rc = t_ioas_copy(ctx, ioas_b, ioas_a, iova, SLOT, &iova, 1);
		check(w, "copy", rc, ENOENT, 0);
		if (!rc)
			atomic_store(&b_mapped[s], true);
	} else {
		rc = t_ioas_unmap(ctx, ioas_b, iova, SLOT, &len);
		check(w, "unmap", rc, 0, 0);
		if (!rc)
			atomic_store(&b_mapped[s], false);
	}
}

static void do_attacher(struct worker *w)
{
	uint32_t stdev, hwpt, idev, paging, out;
	int rc;

	rc = t_mock_domain(ctx, ioas_a, &stdev, &hwpt, &idev);
	check(w, "mock_domain", rc, 0, 0);
	if (rc)
		return;
	check(w, "replace to B", t_mock_replace(ctx, stdev, ioas_b, &out), 0, 0);
	rc = t_hwpt_alloc(ctx, idev, ioas_a, 0, IOMMU_HWPT_DATA_NONE, NULL, 0, &paging);
	check(w, "hwpt_alloc", rc, 0, 0);
	if (!rc) {
		check(w, "replace to hwpt", t_mock_replace(ctx, stdev, paging, &out), 0, 0);
		check(w, "replace to A", t_mock_replace(ctx, stdev, ioas_a, &out), 0, 0);
		check(w, "destroy hwpt", t_destroy(ctx, paging), 0, 0);
	}
	check(w, "destroy device", t_destroy(ctx, stdev), 0, 0);
}

static void do_access(struct worker *w)
{
	int s = (int)(rnd(w) % NSLOTS), rc;
	uint64_t iova = slot_iova(s) + rnd(w) % (SLOT - 512);
	uint32_t pages_id;
	char tmp[512];

	/*
	 * Slots come and go under us: ENOENT when not mapped, EINVAL while an unmap is taking
	 * the area away from accesses (the kernel's prevent_access)
	 */
	if (rnd(w) & 1) {
		rc = t_access_rw(ctx, access_fd, iova, tmp, sizeof(tmp),
				 (rnd(w) & 1) ? MOCK_ACCESS_RW_WRITE : 0);
		check(w, "access_rw", rc, ENOENT, EINVAL);
		return;
	}
	rc = t_access_pages(ctx, access_fd, slot_iova(s), 4096, buffer + (size_t)s * SLOT, 0,
			    &pages_id);
	check(w, "access_pages", rc, ENOENT, EINVAL);
	/* A concurrent unmap of the slot unpins it for us: then the id is gone */
	if (!rc)
		check(w, "unpin", t_access_unpin(ctx, access_fd, pages_id), ENOENT, 0);
}

static void do_destroyer(struct worker *w)
{
	uint32_t ioas;
	uint64_t iova;
	int rc;

	/* A is held by the access for the whole run (B may be idle: not destroyed here) */
	rc = t_destroy(ctx, ioas_a);
	check(w, "destroy busy IOAS", rc ? rc : -EEXIST, EBUSY, 0);
	rc = t_ioas_alloc(ctx, &ioas);
	check(w, "ioas_alloc", rc, 0, 0);
	if (rc)
		return;
	check(w, "map", t_ioas_map(ctx, ioas, buffer, SLOT, &iova, 0), 0, 0);
	check(w, "destroy", t_destroy(ctx, ioas), 0, 0);
}

static void *worker_main(void *arg)
{
	static void (*const fns[R_NR])(struct worker *) = {
		do_mapper, do_copier, do_attacher, do_access, do_destroyer,
	};
	struct worker *w = arg;

	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		fns[w->role](w);
		atomic_fetch_add_explicit(&ops_done[w->role], 1, memory_order_relaxed);
	}
	return NULL;
}

static int finish(void)
{
	uint64_t a_bytes = 0, b_bytes = 0, want_a = 0, want_b = 0;
	int bad = 0, rc;

	for (int s = 0; s != NSLOTS; s++) {
		want_a += atomic_load(&a_mapped[s]) ? SLOT : 0;
		want_b += atomic_load(&b_mapped[s]) ? SLOT : 0;
	}
	rc = t_ioas_unmap(ctx, ioas_a, 0, UINT64_MAX, &a_bytes);
	if ((rc && rc != -ENOENT) || a_bytes != want_a) {
		printf("stress: IOAS A: unmap-all %d, %llu bytes, the mappers mapped %llu\n", rc,
		       (unsigned long long)a_bytes, (unsigned long long)want_a);
		bad = 1;
	}
	rc = t_ioas_unmap(ctx, ioas_b, 0, UINT64_MAX, &b_bytes);
	if ((rc && rc != -ENOENT) || b_bytes != want_b) {
		printf("stress: IOAS B: unmap-all %d, %llu bytes, the copier mapped %llu\n", rc,
		       (unsigned long long)b_bytes, (unsigned long long)want_b);
		bad = 1;
	}
	softiommu_close(access_fd);
	softiommu_close(ctx);
	if (t_pinned()) {
		printf("stress: %lu pages pinned after close\n", t_pinned());
		bad = 1;
	}
	if (t_live()) {
		printf("stress: %lu objects alive after close\n", t_live());
		bad = 1;
	}
	printf("stress: IOAS A ended with %llu bytes mapped, B with %llu\n",
	       (unsigned long long)want_a, (unsigned long long)want_b);
	return bad;
}

int main(int argc, char **argv)
{
	struct worker *workers;
	unsigned long total = 0;
	int opt, bad;

	while ((opt = getopt(argc, argv, "t:d:f:s:")) != -1) {
		switch (opt) {
		case 't': nthreads = atoi(optarg); break;
		case 'd': seconds = atoi(optarg); break;
		case 'f': fault_rate = (unsigned int)atoi(optarg); break;
		case 's': seed = strtoul(optarg, NULL, 0); break;
		default:
			fprintf(stderr, "usage: %s [-t THREADS] [-d SECONDS] [-f PER_MILLION] [-s SEED]\n",
				argv[0]);
			return 2;
		}
	}
	if (nthreads < R_NR)
		nthreads = R_NR;
	nmappers = (nthreads + R_NR - 1) / R_NR;
	buffer = mmap(NULL, (size_t)NSLOTS * SLOT, PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ctx = softiommu_open(0);
	if (buffer == MAP_FAILED || ctx < 0 || t_ioas_alloc(ctx, &ioas_a) ||
	    t_ioas_alloc(ctx, &ioas_b) || t_create_access(ctx, ioas_a, &access_fd, MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES)) {
		printf("stress: setup failed\n");
		return 1;
	}
	/* The attachers' mock domains need every IOVA inside the mock aperture: it is. */
	sio_fail_random_set(fault_rate, seed);
	workers = calloc((size_t)nthreads, sizeof(*workers));
	for (int i = 0; i != nthreads; i++) {
		workers[i] = (struct worker){ .index = i, .role = (enum role)(i % R_NR),
					      .rnd = (unsigned int)(seed * 7919 + i) };
		if (pthread_create(&workers[i].thread, NULL, worker_main, &workers[i])) {
			printf("stress: pthread_create failed\n");
			return 1;
		}
	}
	sleep((unsigned int)seconds);
	atomic_store(&stop, true);
	for (int i = 0; i != nthreads; i++)
		pthread_join(workers[i].thread, NULL);
	sio_fail_random_set(0, 0);

	for (int r = 0; r != R_NR; r++) {
		printf("stress: %-9s %8lu ops\n", role_names[r], atomic_load(&ops_done[r]));
		total += atomic_load(&ops_done[r]);
	}
	printf("stress: %d threads x %d s, %lu ops, %lu injected failures\n", nthreads, seconds,
	       total, sio_fail_injected());
	bad = finish();
	if (atomic_load(&unexpected)) {
		printf("stress: %lu unexpected errors\n", atomic_load(&unexpected));
		bad = 1;
	}
	printf("%d passed, %d failed\n", !bad, bad);
	free(workers);
	return bad;
}
