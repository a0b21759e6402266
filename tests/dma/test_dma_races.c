// SPDX-License-Identifier: MIT
/*
 * DMA racing the things that take translations away, from other threads:
 *   - IOAS_UNMAP: once it returned, no DMA reads or writes the old backing (poisoned right
 *     after, every byte a DMA returns checked, the poison checked intact);
 *   - the client's munmap of the backing memory (not interposed: no shim here): a DMA faults
 *     (-EFAULT), never a signal, over 10^5 munmap/mmap cycles, and keeps faulting once new
 *     memory is mapped there (the userfaultfd watch, core/mem/uffd.c; without one it reads the
 *     new page);
 *   - unmap under a steady stream of DMAs that walk the tables (IOTLB misses): it is not
 *     starved (a watchdog fails the test);
 *   - faults from several threads at once with SOFTIOMMU_LOG set: logged once, in each of
 *     40 fresh processes, and no data race (TSan).
 */
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testlib.h"

#define PG 4096ULL
#define FIXED_RW (IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE)
#define GOOD 0x5a
#define POISON 0xee

struct env {
	int fd;
	uint32_t ioas;
	struct softiommu_dev *dev;
};

static void env_open(struct env *e, bool small_leaves)
{
	unsigned int pt;

	e->fd = softiommu_open(0);
	e->ioas = t_ioas_alloc(e->fd);
	if (small_leaves) {
		struct iommu_option o = { .size = sizeof(o), .option_id = IOMMU_OPTION_HUGE_PAGES,
					  .op = IOMMU_OPTION_OP_SET, .object_id = e->ioas };

		CHECK_OK(softiommu_ioctl(e->fd, IOMMU_OPTION, &o));
	}
	pt = e->ioas;
	CHECK_OK(softiommu_dev_create(e->fd, "mock", 0, &e->dev, NULL));
	CHECK_OK(softiommu_dev_attach(e->dev, 0, &pt));
}

static void env_close(struct env *e)
{
	softiommu_dev_destroy(e->dev);
	CHECK_OK(softiommu_close(e->fd));
	CHECK(t_pinned() == 0);
}

/* ---- IOAS_UNMAP: nothing reaches the old backing after it returned ---- */

#define RACE_PAGES 4

struct unmap_race {
	struct softiommu_dev *dev;
	atomic_bool stop;
	atomic_ulong ok, faulted, bad_bytes, bad_rc;
};

static void *unmap_race_dma(void *arg)
{
	static const size_t lens[] = { 8, 64, 4096, RACE_PAGES * PG };
	struct unmap_race *r = arg;
	static _Thread_local unsigned char buf[RACE_PAGES * PG];
	unsigned int n = 0;

	while (!atomic_load(&r->stop)) {
		size_t len = lens[n++ % 4];
		bool write = n % 5 == 0;
		int rc;

		if (write) {
			/* The backing's own bytes: only a write after the unmap changes anything */
			memset(buf, GOOD, len);
			rc = softiommu_dma_write(r->dev, 0, MOCK_APERTURE_START, buf, len);
		} else {
			memset(buf, 0, len);
			rc = softiommu_dma_read(r->dev, 0, MOCK_APERTURE_START, buf, len);
		}
		if (rc == 0) {
			atomic_fetch_add(&r->ok, 1);
			for (size_t i = 0; !write && i < len; i++)
				if (buf[i] != GOOD) {
					atomic_fetch_add(&r->bad_bytes, 1);
					break;
				}
		} else if (rc == -EFAULT) {
			atomic_fetch_add(&r->faulted, 1);
		} else {
			atomic_fetch_add(&r->bad_rc, 1);
		}
	}
	return NULL;
}

static bool all_bytes(const unsigned char *p, size_t len, unsigned char v)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] != v)
			return false;
	return true;
}

static void test_unmap_poison(void)
{
	unsigned char *buf = mmap(NULL, RACE_PAGES * PG, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct unmap_race r = {};
	unsigned int poison_hit = 0, setup_bad = 0, live_ok = 0;
	struct env e;
	pthread_t th[2];

	env_open(&e, false);
	r.dev = e.dev;
	for (int i = 0; i < 2; i++)
		pthread_create(&th[i], NULL, unmap_race_dma, &r);
	/* A loaded machine may not run them before the loop below is over */
	while (atomic_load(&r.ok) + atomic_load(&r.faulted) == 0)
		sched_yield();
	for (int i = 0; i < 1000; i++) {
		uint64_t iova = MOCK_APERTURE_START;
		unsigned char v[8];

		memset(buf, GOOD, RACE_PAGES * PG);
		setup_bad += t_map(e.fd, e.ioas, buf, RACE_PAGES * PG, &iova, FIXED_RW) != 0;
		/* Mapped: this thread's own DMA sees the backing (and fills the IOTLB) */
		live_ok += softiommu_dma_read(e.dev, 0, MOCK_APERTURE_START, v, sizeof(v)) == 0 &&
			   all_bytes(v, sizeof(v), GOOD);
		if (i % 2)
			sched_yield();
		setup_bad += t_unmap(e.fd, e.ioas, MOCK_APERTURE_START, RACE_PAGES * PG, NULL) != 0;
		/* Returned: from here a DMA that reaches the old backing reads or leaves poison */
		memset(buf, POISON, RACE_PAGES * PG);
		setup_bad += softiommu_dma_read(e.dev, 0, MOCK_APERTURE_START, v, sizeof(v)) !=
			     -EFAULT;
		sched_yield();
		poison_hit += !all_bytes(buf, RACE_PAGES * PG, POISON);
	}
	atomic_store(&r.stop, true);
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	CHECK(setup_bad == 0);
	CHECK(live_ok == 1000);
	CHECK(r.bad_rc == 0);
	/* No DMA read returned poison or a mix, and none wrote after the unmap */
	CHECK(r.bad_bytes == 0);
	CHECK(poison_hit == 0);
	env_close(&e);
	munmap(buf, RACE_PAGES * PG);
}

/* ---- munmap of the backing behind a live mapping ---- */

struct munmap_race {
	struct softiommu_dev *dev;
	atomic_bool stop;
	atomic_ulong ok, faulted, bad_bytes, bad_rc;
};

static void *munmap_race_dma(void *arg)
{
	struct munmap_race *r = arg;

	while (!atomic_load(&r->stop)) {
		unsigned char v[64];
		int rc;

		memset(v, 1, sizeof(v));
		rc = softiommu_dma_read(r->dev, 0, MOCK_APERTURE_START, v, sizeof(v));
		if (rc == 0) {
			atomic_fetch_add(&r->ok, 1);
			/* The old bytes or the fresh page's zeros, nothing else */
			for (size_t i = 0; i < sizeof(v); i++)
				if (v[i] != GOOD && v[i] != 0) {
					atomic_fetch_add(&r->bad_bytes, 1);
					break;
				}
		} else if (rc == -EFAULT) {
			atomic_fetch_add(&r->faulted, 1);
		} else {
			atomic_fetch_add(&r->bad_rc, 1);
		}
	}
	return NULL;
}

static void test_munmap_race(void)
{
	const int iters = 100000;
	unsigned char *buf = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
				  -1, 0);
	uint64_t iova = MOCK_APERTURE_START;
	struct munmap_race r = {};
	unsigned int gap_bad = 0, back_bad = 0, remap_bad = 0;
	int u = (int)syscall(SYS_userfaultfd, O_CLOEXEC | 1 /* UFFD_USER_MODE_ONLY */);
	const char *off = getenv("SOFTIOMMU_UFFD");
	bool watched = u >= 0 && !(off && !strcmp(off, "0"));
	struct env e;
	pthread_t th;

	env_open(&e, false);
	r.dev = e.dev;
	memset(buf, GOOD, PG);
	CHECK_OK(t_map(e.fd, e.ioas, buf, PG, &iova, FIXED_RW));
	pthread_create(&th, NULL, munmap_race_dma, &r);
	while (atomic_load(&r.ok) + atomic_load(&r.faulted) == 0)
		sched_yield();
	for (int i = 0; i < iters; i++) {
		unsigned char v[8] = { 1 };
		void *p;

		munmap(buf, PG);
		/* Gone: this thread's reads and writes fault, the other thread's race them */
		gap_bad += softiommu_dma_read(e.dev, 0, MOCK_APERTURE_START, v, sizeof(v)) !=
			   -EFAULT;
		gap_bad += softiommu_dma_write(e.dev, 0, MOCK_APERTURE_START + 8, v, sizeof(v)) !=
			   -EFAULT;
		p = mmap(buf, PG, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
		if (p != buf) {
			remap_bad++;
			break;
		}
		/*
		 * New memory at the same address is not the mapping's: with the userfaultfd
		 * watch (core/mem/uffd.c) the device's view of the lost page faults for good; without
		 * one, DMA reaches the fresh zero page (memory-model.md)
		 */
		if (watched)
			back_bad += softiommu_dma_read(e.dev, 0, MOCK_APERTURE_START, v,
						       sizeof(v)) != -EFAULT;
		else
			back_bad += softiommu_dma_read(e.dev, 0, MOCK_APERTURE_START, v,
						       sizeof(v)) != 0 || !all_bytes(v, sizeof(v), 0);
		if (i % 2)
			memset(buf, GOOD, PG);
	}
	atomic_store(&r.stop, true);
	pthread_join(th, NULL);
	CHECK(remap_bad == 0);
	CHECK(gap_bad == 0);
	CHECK(back_bad == 0);
	CHECK(r.bad_rc == 0 && r.bad_bytes == 0);
	CHECK(r.ok + r.faulted > 0);
	if (u >= 0)
		close(u);
	CHECK_OK(t_unmap(e.fd, e.ioas, MOCK_APERTURE_START, PG, NULL));
	env_close(&e);
	munmap(buf, PG);
}

/* ---- unmap is not starved by DMAs walking the same domain's tables ---- */

#define WALK_LEN (8ULL << 20) /* 4096 leaves of 2 KiB: beyond the IOTLB's reach */

struct walk_stream {
	struct softiommu_dev *dev;
	atomic_bool stop;
	atomic_ulong dmas;
};

static void *walk_stream_dma(void *arg)
{
	struct walk_stream *w = arg;
	static _Thread_local char buf[64 * 1024];
	uint64_t off = (uint64_t)(uintptr_t)&buf % WALK_LEN & ~(PG - 1);

	while (!atomic_load(&w->stop)) {
		off = (off + 72 * 1024) % (WALK_LEN - sizeof(buf));
		if (softiommu_dma_read(w->dev, 0, MOCK_APERTURE_START + off, buf, sizeof(buf)) ==
		    0)
			atomic_fetch_add(&w->dmas, 1);
	}
	return NULL;
}

static void starved(int sig)
{
	(void)sig;
	static const char msg[] = "test_dma_races: unmap starved by steady DMA (watchdog)\n";

	if (write(2, msg, sizeof(msg) - 1) < 0)
		_exit(3);
	_exit(2);
}

static void test_unmap_not_starved(void)
{
	char *buf = mmap(NULL, WALK_LEN + PG, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint64_t iova = MOCK_APERTURE_START, other = MOCK_APERTURE_START + 2 * WALK_LEN;
	struct walk_stream w = {};
	unsigned int bad = 0;
	struct env e;
	pthread_t th[3];

	env_open(&e, true);
	w.dev = e.dev;
	memset(buf, 3, WALK_LEN + PG);
	CHECK_OK(t_map(e.fd, e.ioas, buf, WALK_LEN, &iova, FIXED_RW));
	for (int i = 0; i < 3; i++)
		pthread_create(&th[i], NULL, walk_stream_dma, &w);
	while (atomic_load(&w.dmas) < 8)
		sched_yield();
	/* Every unmap needs the domain's table lock for writing against three readers */
	signal(SIGALRM, starved);
	alarm(120);
	for (int i = 0; i < 100; i++) {
		bad += t_map(e.fd, e.ioas, buf + WALK_LEN, PG, &other, FIXED_RW) != 0;
		bad += t_unmap(e.fd, e.ioas, other, PG, NULL) != 0;
	}
	alarm(0);
	atomic_store(&w.stop, true);
	for (int i = 0; i < 3; i++)
		pthread_join(th[i], NULL);
	CHECK(bad == 0);
	CHECK(atomic_load(&w.dmas) > 8);
	CHECK_OK(t_unmap(e.fd, e.ioas, MOCK_APERTURE_START, WALK_LEN, NULL));
	env_close(&e);
	munmap(buf, WALK_LEN + PG);
}

/* ---- unhandled faults from several threads, logged once ---- */

static pthread_barrier_t fault_start;

static void *fault_stream(void *arg)
{
	struct softiommu_dev *dev = arg;
	char v[8];

	/* The first faults (the ones that decide who logs) at the same time */
	pthread_barrier_wait(&fault_start);
	for (int i = 0; i < 2000; i++)
		if (softiommu_dma_read(dev, 0, MOCK_APERTURE_START + 0x100000, v, sizeof(v)) !=
		    -EFAULT)
			abort();
	return NULL;
}

static void test_fault_log_race(void)
{
	unsigned long before = softiommu_dma_unhandled_faults();
	struct env e;
	pthread_t th[3];

	setenv("SOFTIOMMU_LOG", "1", 1);
	env_open(&e, false);
	pthread_barrier_init(&fault_start, NULL, 3);
	for (int i = 0; i < 3; i++)
		pthread_create(&th[i], NULL, fault_stream, e.dev);
	for (int i = 0; i < 3; i++)
		pthread_join(th[i], NULL);
	pthread_barrier_destroy(&fault_start);
	CHECK(softiommu_dma_unhandled_faults() - before == 6000);
	env_close(&e);
	unsetenv("SOFTIOMMU_LOG");
}

/*
 * The same from a fresh process each time, counting the log lines: the flag that makes it
 * one line must be taken atomically, or two threads faulting together both print
 */
static atomic_bool log_go;

static void *log_child_thread(void *arg)
{
	struct softiommu_dev *dev = arg;
	char v[8];

	while (!atomic_load(&log_go))
		;
	for (int i = 0; i < 20; i++)
		softiommu_dma_read(dev, 0, MOCK_APERTURE_START + 0x100000, v, sizeof(v));
	return NULL;
}

extern char **environ;

static void log_child(int log_fd)
{
	char **pad;
	struct env e;
	pthread_t th[2];

	dup2(log_fd, 2);
	/* Thousands of variables before it: the lookup takes long enough for both to fault */
	pad = calloc(20002, sizeof(*pad));
	for (int i = 0; i < 20000; i++) {
		pad[i] = malloc(16);
		snprintf(pad[i], 16, "SIO_PAD%05d=1", i);
	}
	pad[20000] = "SOFTIOMMU_LOG=1";
	environ = pad;
	env_open(&e, false);
	for (int i = 0; i < 2; i++)
		pthread_create(&th[i], NULL, log_child_thread, e.dev);
	atomic_store(&log_go, true);
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	env_close(&e);
	_exit(t_fail ? 1 : 0);
}

static void test_fault_logged_once(void)
{
	static const char line[] = "unhandled DMA fault";
	unsigned int wrong = 0, child_bad = 0;

	for (int c = 0; c < 40; c++) {
		char out[4096], *at;
		size_t got = 0;
		unsigned int lines = 0;
		int p[2], status;
		ssize_t n;
		pid_t pid;

		if (pipe(p))
			abort();
		fflush(NULL);
		pid = fork();
		if (pid == 0) {
			close(p[0]);
			log_child(p[1]);
		}
		close(p[1]);
		while (got < sizeof(out) - 1 && (n = read(p[0], out + got, sizeof(out) - 1 - got)) > 0)
			got += n;
		out[got] = 0;
		close(p[0]);
		waitpid(pid, &status, 0);
		child_bad += !WIFEXITED(status) || WEXITSTATUS(status);
		for (at = out; (at = strstr(at, line)); at += sizeof(line) - 1)
			lines++;
		wrong += lines != 1;
	}
	CHECK(child_bad == 0);
	CHECK(wrong == 0);
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		void (*fn)(void);
	} tests[] = {
		/* First: it forks, best while this process has one thread */
		{ "fault_logged_once", test_fault_logged_once },
		{ "fault_log_race", test_fault_log_race },
		{ "unmap_poison", test_unmap_poison },
		{ "munmap_race", test_munmap_race },
		{ "unmap_not_starved", test_unmap_not_starved },
	};

	/* All of them, or the one named */
	for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++)
		if (argc < 2 || !strcmp(argv[1], tests[i].name))
			tests[i].fn();
	return t_done();
}
