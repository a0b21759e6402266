// SPDX-License-Identifier: MIT
/*
 * Pin accounting: pages are pinned once per IOAS mapping while a domain (or an access) needs
 * them, never for a lazily mapped IOAS; pinned_vm (VmPin) counts them; without CAP_IPC_LOCK
 * the user mode charges RLIMIT_MEMLOCK (ENOMEM past it, nothing half-done); the mm mode also
 * charges locked_vm (VmLck). Pinning fails with EFAULT exactly where Linux's pin_user_pages()
 * does: holes, PROT_NONE, read-only memory for a writable map, write-only memory for a
 * read-only one, I/O mappings, a range whose later VMA lacks the access; in softiommu's
 * default pin mode without faulting anything in (the first DMA does), with SOFTIOMMU_PIN=eager
 * (the same program, registered twice) resident at pin time as on Linux; both also through
 * the /proc/self/maps parse that kernels without PROCMAP_QUERY get.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <linux/capability.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testlib.h"

#define PG 4096ULL
#define FIXED (IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE)

static void test_lazy_and_domain(char *buf)
{
	int fd = softiommu_open(0);
	uint32_t ioas = t_ioas_alloc(fd), stdev;
	uint64_t iova = MOCK_APERTURE_START;

	/* No domain: the mapping is lazy, nothing pinned (inside the mock aperture, or adding
	 * the domain would be EADDRINUSE) */
	CHECK_OK(t_map(fd, ioas, buf, 16 * PG, &iova, FIXED));
	CHECK(t_pinned() == 0);
	/* A domain pins every page of the mapping */
	stdev = t_mock_domain(fd, ioas, NULL, NULL);
	CHECK(t_pinned() == 16);
	/* A second domain does not pin again */
	t_mock_domain(fd, ioas, NULL, NULL);
	CHECK(t_pinned() == 16);
	CHECK_OK(t_destroy(fd, stdev));
	CHECK(t_pinned() == 16);
	CHECK_OK(t_unmap(fd, ioas, iova, 16 * PG, NULL));
	CHECK(t_pinned() == 0);
	/* Mapping unmapped memory is fine lazily but EFAULT once a domain needs it */
	CHECK_OK(softiommu_close(fd));
}

static void test_efault(void)
{
	int fd = softiommu_open(0);
	uint32_t ioas = t_ioas_alloc(fd), ioas2 = t_ioas_alloc(fd);
	char *hole = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct iommu_test_cmd dom = { .size = sizeof(dom), .op = IOMMU_TEST_OP_MOCK_DOMAIN };
	uint64_t iova = MOCK_APERTURE_START;

	munmap(hole + 2 * PG, 2 * PG);
	CHECK_OK(t_map(fd, ioas, hole, 4 * PG, &iova, FIXED));
	dom.id = ioas;
	CHECK_ERR(EFAULT, softiommu_ioctl(fd, IOMMU_TEST_CMD, &dom));
	CHECK(t_pinned() == 0);
	/* With a domain present, the map itself fails and pins nothing */
	t_mock_domain(fd, ioas2, NULL, NULL);
	iova = 0;
	CHECK_ERR(EFAULT, t_map(fd, ioas2, hole, 4 * PG, &iova, 0));
	CHECK(t_pinned() == 0);
	/* A read-only mapping cannot be pinned writable */
	mprotect(hole, 2 * PG, PROT_READ);
	iova = 0;
	CHECK_ERR(EFAULT, t_map(fd, ioas2, hole, 2 * PG, &iova, 0));
	iova = 0;
	CHECK_OK(t_map(fd, ioas2, hole, 2 * PG, &iova, IOMMU_IOAS_MAP_READABLE));
	CHECK(t_pinned() == 2);
	CHECK_OK(softiommu_close(fd));
	CHECK(t_pinned() == 0);
	munmap(hole, 2 * PG);
}

static int drop_cap(int cap)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2];

	if (syscall(SYS_capget, &hdr, data))
		return -1;
	data[cap / 32].effective &= ~(1u << (cap % 32));
	return syscall(SYS_capset, &hdr, data);
}

/* In a child: without CAP_IPC_LOCK the user mode enforces RLIMIT_MEMLOCK */
static int child_rlimit(char *buf)
{
	struct rlimit rl;
	int fd, failures = 0;
	uint32_t ioas;
	uint64_t iova = MOCK_APERTURE_START;

	/* Lowering the soft limit needs no privilege (raising the hard one would) */
	getrlimit(RLIMIT_MEMLOCK, &rl);
	rl.rlim_cur = 8 * PG;
	if (drop_cap(CAP_IPC_LOCK) || setrlimit(RLIMIT_MEMLOCK, &rl))
		return 100;
	fd = softiommu_open(0);
	ioas = t_ioas_alloc(fd);
	t_mock_domain(fd, ioas, NULL, NULL);
	failures += t_map(fd, ioas, buf, 8 * PG, &iova, FIXED) != 0;
	iova = MOCK_APERTURE_START + 8 * PG;
	failures += 10 * (t_map(fd, ioas, buf + 8 * PG, PG, &iova, FIXED) != -ENOMEM);
	failures += 20 * (t_pinned() != 8);
	softiommu_close(fd);
	failures += 40 * (t_pinned() != 0);
	return failures;
}

static void test_rlimit(char *buf)
{
	int status;
	pid_t pid = fork();

	if (!pid)
		_exit(child_rlimit(buf));
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	if (WIFEXITED(status) && WEXITSTATUS(status))
		fprintf(stderr, "child_rlimit: %d failures\n", WEXITSTATUS(status));
}

static void test_mm_mode(char *buf)
{
	struct iommu_option opt = { .size = sizeof(opt), .option_id = IOMMU_OPTION_RLIMIT_MODE,
				    .op = IOMMU_OPTION_OP_SET, .val64 = 1 };
	int fd = softiommu_open(0);
	unsigned long pinned, locked;
	uint32_t ioas;
	uint64_t iova = 0;

	CHECK_OK(softiommu_ioctl(fd, IOMMU_OPTION, &opt));
	ioas = t_ioas_alloc(fd);
	/* The mode cannot change once objects exist */
	CHECK_ERR(EBUSY, softiommu_ioctl(fd, IOMMU_OPTION, &opt));
	t_mock_domain(fd, ioas, NULL, NULL);
	CHECK_OK(t_map(fd, ioas, buf, 4 * PG, &iova, 0));
	softiommu_pinned_pages(&pinned, &locked);
	/* As root with CAP_IPC_LOCK the pages are not charged (account mode none) */
	CHECK(pinned == 4 && locked == 0);
	CHECK_OK(softiommu_close(fd));
	softiommu_pinned_pages(&pinned, &locked);
	CHECK(pinned == 0 && locked == 0);
}


#ifndef SIO_REAL_KERNEL
/* Pages of [p, p + n pages) resident in this process */
static size_t resident(void *p, size_t n)
{
	unsigned char vec[256];
	size_t r = 0;

	if (n > sizeof(vec) || mincore(p, n * PG, vec))
		return (size_t)-1;
	for (size_t i = 0; i != n; i++)
		r += vec[i] & 1;
	return r;
}

static bool eager_mode(void)
{
	const char *m = getenv("SOFTIOMMU_PIN");

	return m && !strcmp(m, "eager");
}

/*
 * The default mode pins without faulting in: the pages come in with the first DMA, and the
 * accounting is the kernel's either way. The eager mode makes them resident as Linux does.
 */
static void test_pin_residency(void)
{
	char *mem = mmap(NULL, 32 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int fd = softiommu_open(0);
	uint32_t ioas = t_ioas_alloc(fd);
	uint64_t iova = MOCK_APERTURE_START;
	struct softiommu_dev *dev;
	unsigned int dev_id, pt = ioas;
	char out[8];

	CHECK_OK(softiommu_dev_create(fd, "mock", 0, &dev, &dev_id));
	CHECK_OK(softiommu_dev_attach(dev, 0, &pt));
	CHECK(resident(mem, 32) == 0);
	CHECK_OK(t_map(fd, ioas, mem, 32 * PG, &iova, FIXED));
	CHECK(t_pinned() == 32);
	CHECK(resident(mem, 32) == (eager_mode() ? 32 : 0));
	/* A DMA faults its page in and lands in the program's memory */
	CHECK_OK(softiommu_dma_write(dev, 0, iova + 5 * PG + 1, "dma", 4));
	CHECK(!strcmp(mem + 5 * PG + 1, "dma"));
	CHECK(resident(mem, 32) == (eager_mode() ? 32 : 1));
	/* A read DMA of a page nobody touched reads zeros */
	CHECK_OK(softiommu_dma_read(dev, 0, iova + 9 * PG, out, sizeof(out)));
	CHECK(!memcmp(out, "\0\0\0\0\0\0\0\0", 8));
	CHECK_OK(t_unmap(fd, ioas, iova, 32 * PG, NULL));
	CHECK(t_pinned() == 0);
	softiommu_dev_destroy(dev);
	CHECK_OK(softiommu_close(fd));
	munmap(mem, 32 * PG);
}
#endif

/* Linux's EFAULT cases, each with nothing pinned after it */
static void efault_cases(const char *how)
{
	char *m = mmap(NULL, 8 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int fd = softiommu_open(0);
	uint32_t ioas = t_ioas_alloc(fd);
	uint64_t iova;
	FILE *maps;
	char line[256], *wo;
	void *vvar = NULL;

	t_mock_domain(fd, ioas, NULL, NULL);
#define EXPECT(err, ptr, len, flags)                                                        \
	do {                                                                                \
		int fails_ = t_fail;                                                        \
		iova = 0;                                                                   \
		CHECK_ERR(err, t_map(fd, ioas, (ptr), (len), &iova, (flags)));              \
		if (err)                                                                    \
			CHECK(t_pinned() == 0);                                             \
		else                                                                        \
			CHECK_OK(t_unmap(fd, ioas, iova, (len), NULL));                     \
		if (t_fail != fails_)                                                       \
			fprintf(stderr, "  (%s)\n", how);                                  \
	} while (0)
	const int rw = IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE;
	const int ro = IOMMU_IOAS_MAP_READABLE;

	EXPECT(0, m, 8 * PG, rw);
	/* A later VMA without write permission fails the whole writable map */
	mprotect(m + 6 * PG, 2 * PG, PROT_READ);
	EXPECT(EFAULT, m, 8 * PG, rw);
	EXPECT(0, m, 8 * PG, ro);
	/* PROT_NONE, for reading too */
	mprotect(m + 6 * PG, 2 * PG, PROT_NONE);
	EXPECT(EFAULT, m, 8 * PG, ro);
	EXPECT(EFAULT, m + 7 * PG, PG, ro);
	/*
	 * Write-only memory pins for writing; for reading only where every page is resident
	 * (GUP-fast reads a present page's entry, which lets the CPU read it; a page to fault
	 * in meets the VMA check, which wants VM_READ)
	 */
	mprotect(m + 6 * PG, 2 * PG, PROT_READ | PROT_WRITE);
	memset(m + 6 * PG, 1, 2 * PG);
	mprotect(m + 6 * PG, 2 * PG, PROT_WRITE);
	EXPECT(0, m + 6 * PG, 2 * PG, ro);
	EXPECT(0, m + 6 * PG, 2 * PG, rw);
	wo = mmap(NULL, 2 * PG, PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	EXPECT(EFAULT, wo, 2 * PG, ro);
	wo[PG] = 1;
	EXPECT(EFAULT, wo, 2 * PG, ro);
	wo[0] = 1;
	EXPECT(0, wo, 2 * PG, ro);
	EXPECT(0, wo, 2 * PG, rw);
	munmap(wo, 2 * PG);
	/* A hole in the middle */
	munmap(m + 3 * PG, PG);
	EXPECT(EFAULT, m, 6 * PG, ro);
	EXPECT(0, m, 3 * PG, rw);
	/* The vDSO's data page is a PFN mapping (VM_IO | VM_PFNMAP) */
	maps = fopen("/proc/self/maps", "r");
	while (maps && fgets(line, sizeof(line), maps))
		if (strstr(line, "[vvar]"))
			vvar = (void *)strtoull(line, NULL, 16);
	if (maps)
		fclose(maps);
	if (vvar)
		EXPECT(EFAULT, vvar, PG, ro);
	else
		fprintf(stderr, "test_accounting: no [vvar] mapping; I/O case skipped\n");
	CHECK_OK(softiommu_close(fd));
	CHECK(t_pinned() == 0);
	munmap(m, 8 * PG);
#undef EXPECT
}

#ifndef SIO_REAL_KERNEL
extern bool sio_vma_query_force_fallback;
#endif

static void test_efault_cases(void)
{
	efault_cases("PROCMAP_QUERY");
#ifndef SIO_REAL_KERNEL
	sio_vma_query_force_fallback = true;
	efault_cases("/proc/self/maps text");
	sio_vma_query_force_fallback = false;
#endif
}

/*
 * Refusing a writable pin must not write to the memory: a probe that stored back a byte it
 * had read (the path taken when MADV_POPULATE_WRITE refuses part of a range) undid stores
 * another thread made in between.
 */
struct hammer {
	uint64_t *counter;
	atomic_bool stop;
	uint64_t done;
};

static void *hammer_fn(void *arg)
{
	struct hammer *h = arg;

	while (!atomic_load_explicit(&h->stop, memory_order_relaxed)) {
		__atomic_fetch_add(h->counter, 1, __ATOMIC_RELAXED);
		h->done++;
	}
	return NULL;
}

static void test_refused_pin_stores_nothing(void)
{
	char *m = mmap(NULL, 16 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct hammer h = { .counter = (uint64_t *)m };
	int fd = softiommu_open(0);
	uint32_t ioas = t_ioas_alloc(fd);
	pthread_t t;

	t_mock_domain(fd, ioas, NULL, NULL);
	memset(m, 0, 16 * PG);
	mprotect(m + 15 * PG, PG, PROT_READ);
	CHECK(pthread_create(&t, NULL, hammer_fn, &h) == 0);
	for (int i = 0; i != 2000; i++) {
		uint64_t iova = 0;

		CHECK_ERR(EFAULT, t_map(fd, ioas, m, 16 * PG, &iova,
					IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE));
	}
	atomic_store(&h.stop, true);
	pthread_join(t, NULL);
	CHECK(*h.counter == h.done);
	if (*h.counter != h.done)
		fprintf(stderr, "test_accounting: counter %llu after %llu stores\n",
			(unsigned long long)*h.counter, (unsigned long long)h.done);
	CHECK(t_pinned() == 0);
	CHECK_OK(softiommu_close(fd));
	munmap(m, 16 * PG);
}

#ifndef SIO_REAL_KERNEL
extern bool sio_probe_force_fallback;
int sio_user_range_probe(uint64_t uaddr, size_t len, bool write);

/*
 * The eager mode's fault-in on kernels without MADV_POPULATE_* (forced here): it must not
 * store to the memory either, and must still refuse what pinning refuses.
 */
static void test_probe_fallback_stores_nothing(void)
{
	char *m = mmap(NULL, 16 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct hammer h = { .counter = (uint64_t *)m };
	pthread_t t;

	memset(m, 0, 16 * PG);
	sio_probe_force_fallback = true;
	CHECK(pthread_create(&t, NULL, hammer_fn, &h) == 0);
	for (int i = 0; i != 2000; i++)
		CHECK_OK(sio_user_range_probe((uintptr_t)m, 16 * PG, true));
	atomic_store(&h.stop, true);
	pthread_join(t, NULL);
	CHECK(*h.counter == h.done);
	mprotect(m + 15 * PG, PG, PROT_READ);
	CHECK_ERR(EFAULT, sio_user_range_probe((uintptr_t)m, 16 * PG, true));
	CHECK_OK(sio_user_range_probe((uintptr_t)m, 16 * PG, false));
	sio_probe_force_fallback = false;
	munmap(m, 16 * PG);
}
#endif

int main(void)
{
	char *buf = mmap(NULL, 64 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	memset(buf, 0, 64 * PG);
	test_lazy_and_domain(buf);
	test_efault();
	test_rlimit(buf);
	test_mm_mode(buf);
#ifndef SIO_REAL_KERNEL
	test_pin_residency();
#endif
	test_efault_cases();
	test_refused_pin_stores_nothing();
#ifndef SIO_REAL_KERNEL
	test_probe_fallback_stores_nothing();
#endif
	return t_done();
}
