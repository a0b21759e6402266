/* SPDX-License-Identifier: MIT */
/*
 * difftest — the differential tester: from a seed, a long pseudo-random sequence of iommufd
 * operations over every family of the uAPI (IOAS, OPTION, mock devices and domains, HWPTs,
 * invalidation, hardware info, dirty tracking, fault queues, vIOMMU/vDEVICE/vEVENTQ/HW queue,
 * access objects, VFIO type1 compatibility, DESTROY), with valid, boundary and bad arguments,
 * printing one normalized line per operation.
 *
 * The same source builds two ways (tests/core/realk.h): with -DSIO_REAL_KERNEL the calls are
 * plain system calls on /dev/iommu, so the program runs on the reference Linux 7.2 kernel or,
 * unmodified, under the LD_PRELOAD shim; without it, it calls libsoftiommu directly.
 * tests/diff/gen-traces.sh records the kernel's output for a fixed set of seeds into
 * tests/diff/traces/; tests/diff/replay.sh runs the same seeds under softiommu and fails on
 * the first line that differs.
 *
 * What a line holds: the operation's number and name, its arguments (object IDs normalized,
 * see below; pointers by class, never by value), the result (`ok` or the errno's name), and
 * the output fields. Normalization (docs/difftest.md): an object ID or descriptor is printed
 * as the order in which it first came out of an ioctl ("o7", "f2"), so that a descriptor
 * number or an ID the two systems hand out differently does not show; nothing else is
 * normalized. All memory the tester passes lives at fixed addresses, so user addresses,
 * IOVAs (allocated ones included) and lengths are printed as they are.
 *
 * Everything the generator decides depends only on the seed and on what earlier lines
 * printed, so two systems that agree line by line issue the same calls.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/iommufd.h>
#include <linux/vfio.h>
#ifdef SIO_REAL_KERNEL
#include "realk.h"
#else
#include <softiommu/softiommu.h>
#endif
#include "iommufd_test.h"

/* ---- fixed memory ---------------------------------------------------------------------- */
#define PAGE 4096ul
#define BASE 0x3f0000000000ul
#define BUF (BASE)			/* 8 MiB read/write, a pattern */
#define BUF_LEN (8ul << 20)
#define RO (BASE + (8ul << 20))		/* 64 KiB read-only */
#define NONE (BASE + (9ul << 20))	/* 64 KiB PROT_NONE */
#define ARG (BASE + (10ul << 20))	/* the command struct: one page, then a guard page */
#define ARG_RO (BASE + (11ul << 20))	/* a read-only command page */
#define AUX (BASE + (12ul << 20))	/* arrays and data: 64 KiB, then a guard page */
#define AUX_LEN (64ul << 10)
#define NONCANON 0x8000000000000000ul
#define MEMFD_LEN (4ul << 20)

static void map_fixed(uintptr_t addr, size_t len, int prot)
{
	void *p = mmap((void *)addr, len, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
		       -1, 0);

	if (p != (void *)addr) {
		fprintf(stderr, "difftest: cannot map %#lx\n", (unsigned long)addr);
		exit(2);
	}
}

/* ---- the random source ------------------------------------------------------------------ */
static uint64_t rng;

static uint64_t rnd(void)
{
	uint64_t z = (rng += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static unsigned int rn(unsigned int n)
{
	return n ? (unsigned int)(rnd() % n) : 0;
}

/* true with probability @pct percent */
static int pc(unsigned int pct)
{
	return rn(100) < pct;
}

#define PICK(...) pick_u64((const uint64_t[]){ __VA_ARGS__ }, \
			   sizeof((const uint64_t[]){ __VA_ARGS__ }) / sizeof(uint64_t))
static uint64_t pick_u64(const uint64_t *v, size_t n)
{
	return v[rn((unsigned int)n)];
}

/* The "badness" of this operation: how many fields get a bad or boundary value */
static int nbad;

/* true when this field should get a bad value (each op spends its nbad on random fields) */
static int bad(void)
{
	if (nbad > 0 && pc(35)) {
		nbad--;
		return 1;
	}
	return 0;
}

/* ---- objects and normalization ----------------------------------------------------------- */
enum kind { K_IOAS, K_HWPT, K_NESTED, K_DEV, K_STDEV, K_FAULT, K_VIOMMU, K_VDEV, K_VEVENTQ,
	    K_HWQ, K_NKIND };

#define MAXOBJ 512
struct obj {
	uint32_t id;
	int kind;
	int alive;
	int name;
	uint32_t flags;	/* hwpt: alloc flags; dev: mock dev flags */
	int fd;		/* fault, veventq */
	uint32_t ref;	/* hwpt: its IOAS; stdev: its dev's ID; dev: its stdev's ID */
	uint8_t pasids;	/* stdev: PASIDs attached, bit i for pasid_of_bit(i) */
	uint8_t has_vdev;	/* dev: a vDEVICE was made for it */
};
static struct obj objs[MAXOBJ];
static void detach_pasids(struct obj *o);
static int nobj, next_name;

struct fdent {
	int fd;
	int name;
	int open;
	int is_access;
	uint32_t ioas;
};
#define MAXFD 128
static struct fdent fds[MAXFD];
static int nfd, next_fdname;

static int add_obj(uint32_t id, int kind, uint32_t flags, uint32_t ref)
{
	if (nobj == MAXOBJ)
		memmove(objs, objs + 1, sizeof(objs[0]) * (--nobj));
	objs[nobj] = (struct obj){ .id = id, .kind = kind, .alive = 1, .name = next_name++,
				   .flags = flags, .fd = -1, .ref = ref };
	return nobj++;
}

static struct obj *find_obj(uint32_t id)
{
	for (int i = nobj - 1; i >= 0; i--)
		if (objs[i].id == id)
			return &objs[i];
	return NULL;
}

static int add_fd(int fd, int is_access, uint32_t ioas)
{
	if (nfd == MAXFD)
		memmove(fds, fds + 1, sizeof(fds[0]) * (--nfd));
	fds[nfd] = (struct fdent){ .fd = fd, .name = next_fdname++, .open = 1,
				   .is_access = is_access, .ioas = ioas };
	return nfd++;
}

static struct fdent *find_fd(int fd)
{
	for (int i = nfd - 1; i >= 0; i--)
		if (fds[i].fd == fd)
			return &fds[i];
	return NULL;
}

/* The printed form of an object ID passed in */
static char nbuf[8][24];
static int nbuf_i;

static const char *N(uint32_t id)
{
	char *b = nbuf[nbuf_i++ & 7];
	struct obj *o = find_obj(id);

	if (o && id)
		snprintf(b, 24, "o%d", o->name);
	else
		snprintf(b, 24, "#%" PRIu32, id);
	return b;
}

static const char *F(int fd)
{
	char *b = nbuf[nbuf_i++ & 7];
	struct fdent *f = find_fd(fd);

	if (f && fd >= 0)
		snprintf(b, 24, "f%d", f->name);
	else
		snprintf(b, 24, "#%d", fd);
	return b;
}

/* A live object of @kind, picked at random; 0 when there is none */
static uint32_t live_of(int kind)
{
	int n = 0, i;

	for (i = 0; i < nobj; i++)
		n += objs[i].alive && objs[i].kind == kind;
	if (!n)
		return 0;
	n = rn(n);
	for (i = 0; i < nobj; i++)
		if (objs[i].alive && objs[i].kind == kind && !n--)
			return objs[i].id;
	return 0;
}

/* An object ID for a field that wants @kind: usually one, sometimes anything else */
static uint32_t pick_id(int kind)
{
	if (!bad()) {
		uint32_t id = live_of(kind);

		if (id)
			return id;
	}
	switch (rn(6)) {
	case 0:
		return 0;
	case 1:
		return PICK(0xffffffffu, 0x7fffffffu, 0x80000000u, 1000);
	case 2: { /* a destroyed one, if any */
		int n = 0;

		for (int i = 0; i < nobj; i++)
			n += !objs[i].alive;
		if (n) {
			n = rn(n);
			for (int i = 0; i < nobj; i++)
				if (!objs[i].alive && !n--)
					return objs[i].id;
		}
	}
		/* fall through */
	default: { /* any live object, of any kind */
		uint32_t id = live_of(rn(K_NKIND));

		return id ? id : live_of(K_IOAS);
	}
	}
}

static int pick_fd(void)
{
	int n = 0;

	if (!bad()) {
		for (int i = 0; i < nfd; i++)
			n += fds[i].open;
		if (n) {
			n = rn(n);
			for (int i = 0; i < nfd; i++)
				if (fds[i].open && !n--)
					return fds[i].fd;
		}
	}
	return PICK(-1, 1000, 0x7fffffff, 2);
}

static int pick_access_fd(void)
{
	int n = 0;

	if (!bad()) {
		for (int i = 0; i < nfd; i++)
			n += fds[i].open && fds[i].is_access;
		if (n) {
			n = rn(n);
			for (int i = 0; i < nfd; i++)
				if (fds[i].open && fds[i].is_access && !n--)
					return fds[i].fd;
		}
	}
	return pick_fd();
}

/* ---- mappings we know of (for IOVAs worth using) ---------------------------------------- */
struct map {
	uint32_t ioas;
	uint64_t iova, len;
	uint64_t uva;	/* the user address behind it, 0 when not known (file, copy) */
};
#define MAXMAP 256
static struct map maps[MAXMAP];
static int nmap;

static void add_map(uint32_t ioas, uint64_t iova, uint64_t len, uint64_t uva)
{
	if (nmap == MAXMAP)
		memmove(maps, maps + 1, sizeof(maps[0]) * (--nmap));
	maps[nmap++] = (struct map){ ioas, iova, len, uva };
}

/* A mapping of @ioas we know of, or NULL: never one of another IOAS */
static struct map *pick_map_strict(uint32_t ioas)
{
	int n = 0, i;

	for (i = 0; i < nmap; i++)
		n += maps[i].ioas == ioas;
	if (!n)
		return NULL;
	n = rn(n);
	for (i = 0; i < nmap; i++)
		if (maps[i].ioas == ioas && !n--)
			return &maps[i];
	return NULL;
}

static struct map *pick_map(uint32_t ioas)
{
	int n = 0, i;

	for (i = 0; i < nmap; i++)
		n += maps[i].ioas == ioas;
	if (!n)
		return nmap ? &maps[rn(nmap)] : NULL;
	n = rn(n);
	for (i = 0; i < nmap; i++)
		if (maps[i].ioas == ioas && !n--)
			return &maps[i];
	return NULL;
}

static void drop_maps(uint32_t ioas, uint64_t iova, uint64_t len)
{
	uint64_t last = iova + len - 1;

	for (int i = 0; i < nmap; i++)
		if (maps[i].ioas == ioas && maps[i].iova <= last &&
		    maps[i].iova + maps[i].len - 1 >= iova) {
			maps[i] = maps[--nmap];
			i--;
		}
}

/* ---- values -------------------------------------------------------------------------------- */
/* A length: usually a few pages, sometimes a boundary */
static uint64_t pick_len(uint64_t unit)
{
	if (!bad())
		return unit * (1 + rn(pc(70) ? 4 : 64));
	if (pc(25))
		return 0;	/* empty ranges, the commonest degenerate case */
	return PICK(0, 1, unit - 1, unit + 1, PAGE / 2, UINT64_MAX, UINT64_MAX - PAGE + 1,
		    1ull << 63, 1ull << 40, BUF_LEN + PAGE, 0x1000000000000ull);
}

/* A user address: usually inside the buffer, page aligned */
static uint64_t pick_uva(const char **cls)
{
	if (!bad()) {
		*cls = "buf";
		return BUF + PAGE * rn(BUF_LEN / PAGE / 2);
	}
	switch (rn(8)) {
	case 0: *cls = "null"; return 0;
	case 1: *cls = "none"; return NONE;
	case 2: *cls = "ro"; return RO;
	case 3: *cls = "noncanon"; return NONCANON;
	case 4: *cls = "unaligned"; return BUF + 1 + PAGE * rn(16);
	case 5: *cls = "top"; return UINT64_MAX - PAGE + 1;
	case 6: *cls = "bufend"; return BUF + BUF_LEN - PAGE;
	default: *cls = "half"; return BUF + PAGE / 2;
	}
}

/* An IOVA: of a known mapping, an aligned one in the mock aperture, or a boundary */
static uint64_t pick_iova(uint32_t ioas)
{
	struct map *m;

	if (!bad()) {
		if (pc(50) && (m = pick_map(ioas)))
			return m->iova + (pc(70) ? 0 : PAGE * rn((unsigned int)(m->len / PAGE)));
		return (1ull << 24) + PAGE * 16 * rn(4096);
	}
	return PICK(0, 1, PAGE / 2, (1ull << 24) + 2048, (1ull << 24) - PAGE, 1ull << 31,
		    UINT64_MAX, UINT64_MAX - PAGE + 1, 1ull << 63, 0x10000);
}

/* A pointer to data of @len bytes at AUX; bad ones by class */
static uint64_t pick_ptr(const char **cls)
{
	if (!bad()) {
		*cls = "aux";
		return AUX;
	}
	switch (rn(5)) {
	case 0: *cls = "null"; return 0;
	case 1: *cls = "none"; return NONE;
	case 2: *cls = "ro"; return RO;
	case 3: *cls = "noncanon"; return NONCANON;
	default: *cls = "auxend"; return AUX + AUX_LEN - 8;	/* runs into the guard */
	}
}

/* ---- issuing a command ----------------------------------------------------------------- */
static int ifd;		/* the iommufd */
static uint32_t compat_ioas;	/* the VFIO compatibility IOAS, as IOMMU_VFIO_IOAS set it */
static int memfd;
static int opno;
static char line[4096];
static size_t linelen;
static unsigned long n_ok, n_err;
static unsigned int seen_errno[160];

static void out(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	linelen += vsnprintf(line + linelen, sizeof(line) - linelen, fmt, ap);
	va_end(ap);
	if (linelen >= sizeof(line))
		linelen = sizeof(line) - 1;
}

static const char *errname(int e)
{
	static char b[16];

	switch (e) {
#define E(x) case x: return #x
	E(EPERM); E(ENOENT); E(ESRCH); E(EINTR); E(EIO); E(ENXIO); E(E2BIG); E(EBADF);
	E(EAGAIN); E(ENOMEM); E(EACCES); E(EFAULT); E(EBUSY); E(EEXIST); E(ENODEV);
	E(EINVAL); E(ENFILE); E(EMFILE); E(ENOTTY); E(EFBIG); E(ENOSPC); E(ESPIPE);
	E(EROFS); E(ERANGE); E(EOVERFLOW); E(EOPNOTSUPP); E(EMSGSIZE);
	E(EDEADLK); E(ENOSYS); E(ENODATA); E(ETIMEDOUT); E(EALREADY); E(EBADMSG);
	E(EPROTO); E(EXDEV); E(ENOTEMPTY); E(ELOOP); E(EBADFD); E(EADDRINUSE); E(EBADE);
#undef E
	}
	snprintf(b, sizeof(b), "E%d", e);
	return b;
}

/* Start an operation's line */
static void begin(const char *name)
{
	linelen = 0;
	nbuf_i = 0;
	out("%d %s", opno, name);
}

/* End it with a result (0 or -errno); the caller prints outputs after a successful one */
static long result(long rc)
{
	if (rc < 0) {
		int e = (int)-rc;

		out(" = %s", errname(e));
		n_err++;
		if (e < 160)
			seen_errno[e]++;
	} else {
		out(" = ok");
		n_ok++;
	}
	return rc;
}

static void end(void)
{
	puts(line);
}

/*
 * The size field of a command: usually its struct's size, sometimes a boundary. The bytes
 * after the struct on the command page are zero unless @tail is set. Returns the size.
 */
static uint32_t pick_size(uint32_t sz, int *tail)
{
	*tail = 0;
	if (!bad())
		return sz;
	switch (rn(8)) {
	case 0: return 0;
	case 1: return 4;
	case 2: return sz - 4;
	case 3: return sz - 8;
	case 4: return sz + 8;
	case 5: *tail = 1; return sz + 8;
	case 6: return PICK(PAGE, PAGE + 8, 0xffffffffu);
	default: return sz + 4;
	}
}

/* Where the command goes: the command page, usually; sometimes a bad pointer */
static void *cmdptr(const char **cls)
{
	*cls = NULL;
	if (!bad())
		return (void *)ARG;
	switch (rn(4)) {
	case 0: *cls = "null"; return NULL;
	case 1: *cls = "none"; return (void *)NONE;
	case 2: *cls = "noncanon"; return (void *)NONCANON;
	default: *cls = "ro"; return (void *)ARG_RO;
	}
}

/*
 * Issue @cmd with the struct @s of @sz bytes (size field first): picks the size and the
 * argument pointer, prints them when unusual, copies the answer back into @s.
 */
static long issue(unsigned long cmd, void *s, uint32_t sz)
{
	const char *cls;
	int tail;
	uint32_t usz = pick_size(sz, &tail);
	void *arg = cmdptr(&cls);
	long rc;

	memset((void *)ARG, 0, PAGE);
	memcpy((void *)ARG, s, sz);
	*(uint32_t *)ARG = usz;
	if (tail)
		((char *)ARG)[sz + 3] = 1;
	if (arg == (void *)ARG_RO) {
		mprotect((void *)ARG_RO, PAGE, PROT_READ | PROT_WRITE);
		memcpy((void *)ARG_RO, (void *)ARG, PAGE);
		mprotect((void *)ARG_RO, PAGE, PROT_READ);
	}
	if (usz != sz)
		out(" size=%" PRIu32 "%s", usz, tail ? "+tail" : "");
	if (cls)
		out(" arg=%s", cls);
	if (bad() && pc(30)) {	/* a command number the table does not have */
		cmd = PICK(_IOWR(IOMMUFD_TYPE, _IOC_NR(cmd), uint32_t), cmd + 0x40,
			   _IO(IOMMUFD_TYPE, 0x7f), _IO('Q', _IOC_NR(cmd)));
		out(" nr=%#lx", cmd);
	}
	rc = softiommu_ioctl(ifd, cmd, arg);
	memcpy(s, arg == (void *)ARG_RO ? (void *)ARG_RO : (void *)ARG, sz);
	return rc;
}

/* A plain ioctl whose argument the tester passes itself (VFIO compatibility) */
static long issue_raw(unsigned long cmd, unsigned long arg)
{
	return softiommu_ioctl(ifd, cmd, (void *)arg);
}

/* ---- the operations ------------------------------------------------------------------------ */
static void op_ioas_alloc(void)
{
	struct iommu_ioas_alloc c = { .size = sizeof(c) };

	begin("IOAS_ALLOC");
	if (bad())
		out(" flags=%#x", c.flags = PICK(1, 2, 0x80000000u));
	if (result(issue(IOMMU_IOAS_ALLOC, &c, sizeof(c))) == 0) {
		add_obj(c.out_ioas_id, K_IOAS, 0, 0);
		out(" id=%s", N(c.out_ioas_id));
	}
	end();
}

static void mark_dead(uint32_t id)
{
	struct obj *o = find_obj(id);

	if (!o)
		return;
	o->alive = 0;
	if (o->kind == K_STDEV) /* the device goes with it */
		for (int i = 0; i < nobj; i++)
			if (objs[i].kind == K_DEV && objs[i].ref == o->id)
				objs[i].alive = 0;
}

static void op_destroy(void)
{
	struct iommu_destroy c = { .size = sizeof(c) };
	int k = rn(K_NKIND);

	c.id = pick_id(k == K_DEV ? K_STDEV : k);
	if (find_obj(c.id) && find_obj(c.id)->kind == K_STDEV && find_obj(c.id)->pasids)
		detach_pasids(find_obj(c.id));
	begin("DESTROY");
	out(" id=%s", N(c.id));
	if (result(issue(IOMMU_DESTROY, &c, sizeof(c))) == 0) {
		struct obj *o = find_obj(c.id);

		if (o && o->kind == K_IOAS)
			drop_maps(c.id, 0, UINT64_MAX);
		mark_dead(c.id);
	}
	end();
}

static uint32_t pick_map_flags(void)
{
	if (!bad())
		return PICK(IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE,
			    IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE |
				    IOMMU_IOAS_MAP_FIXED_IOVA,
			    IOMMU_IOAS_MAP_READABLE, IOMMU_IOAS_MAP_READABLE |
				    IOMMU_IOAS_MAP_FIXED_IOVA);
	return PICK(0, IOMMU_IOAS_MAP_FIXED_IOVA, IOMMU_IOAS_MAP_WRITEABLE, 1u << 3, 1u << 31,
		    IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE | (1u << 4));
}

static void op_ioas_map(void)
{
	struct iommu_ioas_map c = { .size = sizeof(c) };
	const char *cls;

	begin("IOAS_MAP");
	c.ioas_id = pick_id(K_IOAS);
	c.flags = pick_map_flags();
	c.user_va = pick_uva(&cls);
	c.length = pick_len(PAGE);
	c.iova = pick_iova(c.ioas_id);
	if (bad())
		c.__reserved = 1;
	out(" ioas=%s flags=%#x va=%s+%#" PRIx64 " len=%#" PRIx64 " iova=%#" PRIx64 "%s",
	    N(c.ioas_id), c.flags, cls, c.user_va & 0xffffff, c.length, c.iova,
	    c.__reserved ? " rsv" : "");
	if (result(issue(IOMMU_IOAS_MAP, &c, sizeof(c))) == 0) {
		out(" iova=%#" PRIx64, c.iova);
		add_map(c.ioas_id, c.iova, c.length, c.user_va);
	}
	end();
}

static void op_ioas_map_file(void)
{
	struct iommu_ioas_map_file c = { .size = sizeof(c) };

	begin("IOAS_MAP_FILE");
	c.ioas_id = pick_id(K_IOAS);
	c.flags = pick_map_flags();
	c.fd = bad() ? (int)PICK((uint64_t)-1, 1000, 0, (uint64_t)ifd) : memfd;
	c.start = bad() ? PICK(1, PAGE / 2, MEMFD_LEN, MEMFD_LEN - PAGE, UINT64_MAX - PAGE + 1)
			: PAGE * rn(MEMFD_LEN / PAGE / 2);
	c.length = pick_len(PAGE);
	c.iova = pick_iova(c.ioas_id);
	out(" ioas=%s flags=%#x fd=%s start=%#" PRIx64 " len=%#" PRIx64 " iova=%#" PRIx64,
	    N(c.ioas_id), c.flags, c.fd == memfd ? "memfd" : c.fd == ifd ? "iommufd" : "bad",
	    c.start, c.length, c.iova);
	if (result(issue(IOMMU_IOAS_MAP_FILE, &c, sizeof(c))) == 0) {
		out(" iova=%#" PRIx64, c.iova);
		add_map(c.ioas_id, c.iova, c.length, 0);
	}
	end();
}

static void op_ioas_copy(void)
{
	struct iommu_ioas_copy c = { .size = sizeof(c) };
	struct map *m;

	begin("IOAS_COPY");
	c.src_ioas_id = pick_id(K_IOAS);
	c.dst_ioas_id = pick_id(K_IOAS);
	c.flags = pick_map_flags();
	m = pick_map(c.src_ioas_id);
	if (m && !bad()) {
		c.src_ioas_id = m->ioas;
		c.src_iova = m->iova;
		c.length = m->len > PAGE && pc(30) ? m->len - PAGE : m->len;
		if (pc(5))
			c.length = 0;
	} else {
		c.src_iova = pick_iova(c.src_ioas_id);
		c.length = pick_len(PAGE);
	}
	c.dst_iova = pick_iova(c.dst_ioas_id);
	out(" dst=%s src=%s flags=%#x len=%#" PRIx64 " dst_iova=%#" PRIx64 " src_iova=%#" PRIx64,
	    N(c.dst_ioas_id), N(c.src_ioas_id), c.flags, c.length, c.dst_iova, c.src_iova);
	if (result(issue(IOMMU_IOAS_COPY, &c, sizeof(c))) == 0) {
		out(" dst_iova=%#" PRIx64, c.dst_iova);
		add_map(c.dst_ioas_id, c.dst_iova, c.length, 0);
	}
	end();
}

static void op_ioas_unmap(void)
{
	struct iommu_ioas_unmap c = { .size = sizeof(c) };
	struct map *m;

	begin("IOAS_UNMAP");
	c.ioas_id = pick_id(K_IOAS);
	m = pick_map(c.ioas_id);
	if (pc(10) && !bad()) {
		c.iova = 0;
		c.length = UINT64_MAX;	/* everything */
	} else if (m && !bad()) {
		c.iova = m->iova;
		c.length = pc(5) ? 0 : m->len;
	} else {
		c.iova = pick_iova(c.ioas_id);
		c.length = pick_len(PAGE);
	}
	out(" ioas=%s iova=%#" PRIx64 " len=%#" PRIx64, N(c.ioas_id), c.iova, c.length);
	{
		uint64_t asked = c.length;	/* the ioctl writes back what it unmapped */

		if (result(issue(IOMMU_IOAS_UNMAP, &c, sizeof(c))) == 0)
			out(" unmapped=%#" PRIx64, c.length);
		/*
		 * Forgotten even on failure: an unmap that fails part way (an area crossing the
		 * range's end) has already removed the areas before it, in Linux as here.
		 */
		drop_maps(c.ioas_id, c.iova, asked ? asked : 1);
	}
	end();
}

static void op_iova_ranges(void)
{
	struct iommu_ioas_iova_ranges c = { .size = sizeof(c) };
	const char *cls;

	begin("IOAS_IOVA_RANGES");
	c.ioas_id = pick_id(K_IOAS);
	c.num_iovas = bad() ? PICK(0, 1, 0xffffffffu, 4096) : PICK(0, 1, 2, 8, 8);
	c.allowed_iovas = pick_ptr(&cls);
	if (bad())
		c.__reserved = 1;
	memset((void *)AUX, 0xa5, 8 * 16);
	out(" ioas=%s num=%" PRIu32 " ptr=%s%s", N(c.ioas_id), c.num_iovas, cls,
	    c.__reserved ? " rsv" : "");
	long rc = result(issue(IOMMU_IOAS_IOVA_RANGES, &c, sizeof(c)));

	if (rc == 0 || rc == -EMSGSIZE)
		out(" num=%" PRIu32 " align=%#" PRIx64, c.num_iovas, c.out_iova_alignment);
	if (rc == 0 && c.allowed_iovas == AUX) {
		struct iommu_iova_range *r = (void *)AUX;

		for (uint32_t i = 0; i < c.num_iovas && i < 8; i++)
			out(" [%#" PRIx64 ",%#" PRIx64 "]", r[i].start, r[i].last);
	}
	end();
}

static void fill_ranges(struct iommu_iova_range *r, uint32_t n)
{
	for (uint32_t i = 0; i < n && i < 64; i++) {
		uint64_t s = (1ull << 24) + (uint64_t)PAGE * 256 * rn(64);

		r[i].start = s;
		r[i].last = s + PAGE * 256 * (1 + rn(16)) - 1;
		if (bad())
			switch (rn(4)) {
			case 0: r[i].last = r[i].start - 1; break;
			case 1: r[i].start += 1; break;
			case 2: r[i].last = UINT64_MAX; r[i].start = 0; break;
			default: r[i].last = r[i].start; break;
			}
	}
}

static void op_allow_iovas(void)
{
	struct iommu_ioas_allow_iovas c = { .size = sizeof(c) };
	const char *cls;

	begin("IOAS_ALLOW_IOVAS");
	c.ioas_id = pick_id(K_IOAS);
	c.num_iovas = bad() ? PICK(0xffffffffu, 100000, 64) : PICK(0, 1, 1, 2, 3);
	c.allowed_iovas = pick_ptr(&cls);
	fill_ranges((void *)AUX, c.num_iovas);
	if (bad())
		c.__reserved = 1;
	out(" ioas=%s num=%" PRIu32 " ptr=%s%s", N(c.ioas_id), c.num_iovas, cls,
	    c.__reserved ? " rsv" : "");
	for (uint32_t i = 0; i < c.num_iovas && i < 4 && c.allowed_iovas == AUX; i++)
		out(" [%#" PRIx64 ",%#" PRIx64 "]", ((struct iommu_iova_range *)AUX)[i].start,
		    ((struct iommu_iova_range *)AUX)[i].last);
	result(issue(IOMMU_IOAS_ALLOW_IOVAS, &c, sizeof(c)));
	end();
}

static void test_cmd_begin(struct iommu_test_cmd *c, const char *name, uint32_t op)
{
	memset(c, 0, sizeof(*c));
	c->size = sizeof(*c);
	c->op = op;
	begin(name);
}

static void op_add_reserved(void)
{
	struct iommu_test_cmd c;

	test_cmd_begin(&c, "TEST_ADD_RESERVED", IOMMU_TEST_OP_ADD_RESERVED);
	c.id = pick_id(K_IOAS);
	c.add_reserved.start = pick_iova(c.id);
	c.add_reserved.length = pc(8) ? 0 : pick_len(PAGE);
	out(" ioas=%s start=%#" PRIx64 " len=%#" PRIx64, N(c.id), (uint64_t)c.add_reserved.start,
	    (uint64_t)c.add_reserved.length);
	result(issue(IOMMU_TEST_CMD, &c, sizeof(c)));
	end();
}

static void op_option(void)
{
	struct iommu_option c = { .size = sizeof(c) };

	begin("OPTION");
	c.option_id = bad() ? PICK(2, 0xffffffffu) : PICK(IOMMU_OPTION_RLIMIT_MODE,
							    IOMMU_OPTION_HUGE_PAGES);
	c.op = bad() ? PICK(2, 0xffff) : PICK(IOMMU_OPTION_OP_SET, IOMMU_OPTION_OP_GET,
					      IOMMU_OPTION_OP_GET);
	c.object_id = c.option_id == IOMMU_OPTION_HUGE_PAGES ? pick_id(K_IOAS)
							      : (bad() ? pick_id(K_IOAS) : 0);
	c.val64 = bad() ? PICK(2, UINT64_MAX, 1ull << 32) : PICK(0, 1, 1);
	if (bad())
		c.__reserved = 1;
	out(" opt=%" PRIu32 " op=%u obj=%s val=%#" PRIx64 "%s", c.option_id, c.op,
	    N(c.object_id), (uint64_t)c.val64, c.__reserved ? " rsv" : "");
	if (result(issue(IOMMU_OPTION, &c, sizeof(c))) == 0 && c.op == IOMMU_OPTION_OP_GET)
		out(" val=%#" PRIx64, (uint64_t)c.val64);
	end();
}

static void op_mock_domain(void)
{
	struct iommu_test_cmd c;
	int flags_op = pc(50);

	test_cmd_begin(&c, flags_op ? "TEST_MOCK_DOMAIN_FLAGS" : "TEST_MOCK_DOMAIN",
		       flags_op ? IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS : IOMMU_TEST_OP_MOCK_DOMAIN);
	c.id = pc(75) ? pick_id(K_IOAS) : pick_id(pc(50) ? K_HWPT : K_NESTED);
	if (flags_op)
		c.mock_domain_flags.dev_flags =
			bad() ? PICK(1u << 1, 1u << 3, 0xffffffffu)
			      : PICK(0, MOCK_FLAGS_DEVICE_NO_DIRTY, MOCK_FLAGS_DEVICE_PASID,
				     MOCK_FLAGS_DEVICE_PASID | MOCK_FLAGS_DEVICE_NO_DIRTY);
	out(" pt=%s", N(c.id));
	if (flags_op)
		out(" dev_flags=%#x", c.mock_domain_flags.dev_flags);
	if (result(issue(IOMMU_TEST_CMD, &c, sizeof(c))) == 0) {
		struct obj *pt = find_obj(c.mock_domain.out_hwpt_id);
		int sd = add_obj(c.mock_domain.out_stdev_id, K_STDEV, 0, 0);
		int dv = add_obj(c.mock_domain.out_idev_id, K_DEV,
				 flags_op ? c.mock_domain_flags.dev_flags : 0, 0);

		objs[dv].ref = objs[sd].id;
		objs[sd].ref = objs[dv].id;
		if (!pt)
			add_obj(c.mock_domain.out_hwpt_id, K_HWPT, 0, c.id);
		out(" stdev=%s hwpt=%s idev=%s", N(c.mock_domain.out_stdev_id),
		    N(c.mock_domain.out_hwpt_id), N(c.mock_domain.out_idev_id));
	}
	end();
}

static void op_mock_replace(void)
{
	struct iommu_test_cmd c;

	test_cmd_begin(&c, "TEST_MOCK_DOMAIN_REPLACE", IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE);
	c.id = pick_id(K_STDEV);
	c.mock_domain_replace.pt_id = pick_id(PICK(K_IOAS, K_HWPT, K_NESTED));
	out(" stdev=%s pt=%s", N(c.id), N(c.mock_domain_replace.pt_id));
	if (result(issue(IOMMU_TEST_CMD, &c, sizeof(c))) == 0) {
		struct obj *pt = find_obj(c.mock_domain_replace.pt_id);

		if (!pt || pt->kind == K_IOAS) {
			out(" hwpt=%s", N(c.mock_domain_replace.pt_id));
			if (!pt)
				add_obj(c.mock_domain_replace.pt_id, K_HWPT, 0, 0);
		} else {
			out(" hwpt=%s", N(c.mock_domain_replace.pt_id));
		}
	}
	end();
}

static void op_hwpt_alloc(void)
{
	struct iommu_hwpt_alloc c = { .size = sizeof(c) };
	struct iommu_hwpt_selftest *d = (void *)AUX;
	const char *cls = "aux";
	int nested = pc(35);

	begin("HWPT_ALLOC");
	c.dev_id = pick_id(K_DEV);
	if (nested) {
		c.pt_id = pc(50) ? pick_id(K_VIOMMU) : pick_id(K_HWPT);
		c.data_type = bad() ? PICK(IOMMU_HWPT_DATA_NONE, IOMMU_HWPT_DATA_VTD_S1, 0x1234)
				    : IOMMU_HWPT_DATA_SELFTEST;
		c.data_len = bad() ? PICK(0, 4, 12, 4096, 0xffffffffu) : sizeof(*d);
		c.data_uptr = pick_ptr(&cls);
		d->iotlb = bad() ? PICK(0, 1, 0xffffffffu) : IOMMU_TEST_IOTLB_DEFAULT;
		d->pagetable_type = 0;
		memset((void *)AUX + 8, 0, 64);
		if (bad())
			((uint32_t *)AUX)[2] = 1;	/* bytes past the struct */
		c.flags = bad() ? PICK(IOMMU_HWPT_ALLOC_NEST_PARENT, IOMMU_HWPT_ALLOC_PASID,
				       IOMMU_HWPT_ALLOC_DIRTY_TRACKING)
				: PICK(0, 0, IOMMU_HWPT_ALLOC_PASID);
	} else {
		c.pt_id = pick_id(pc(85) ? K_IOAS : K_HWPT);
		c.flags = bad() ? PICK(1u << 4, 1u << 31, IOMMU_HWPT_FAULT_ID_VALID,
				       IOMMU_HWPT_ALLOC_NEST_PARENT | IOMMU_HWPT_ALLOC_DIRTY_TRACKING)
				: PICK(0, IOMMU_HWPT_ALLOC_NEST_PARENT,
				       IOMMU_HWPT_ALLOC_DIRTY_TRACKING, IOMMU_HWPT_ALLOC_PASID, 0);
		if (bad()) {
			c.data_type = PICK(IOMMU_HWPT_DATA_SELFTEST, IOMMU_HWPT_DATA_NONE, 7);
			c.data_len = PICK(0, 8, 4);
			c.data_uptr = pick_ptr(&cls);
		} else {
			cls = "-";
		}
		d->iotlb = 0;
		d->pagetable_type = bad() ? PICK(MOCK_IOMMUPT_HUGE, 7) : MOCK_IOMMUPT_DEFAULT;
	}
	if (pc(20)) {
		c.flags |= IOMMU_HWPT_FAULT_ID_VALID;
		c.fault_id = pick_id(K_FAULT);
	} else if (bad()) {
		c.fault_id = pick_id(K_FAULT);
	}
	if (bad())
		c.__reserved = 1;
	if (bad())
		c.__reserved2 = 1;
	out(" flags=%#x dev=%s pt=%s type=%#x len=%" PRIu32 " data=%s iotlb=%#x pgt=%u"
	    " fault=%s%s%s",
	    c.flags, N(c.dev_id), N(c.pt_id), c.data_type, c.data_len, cls, d->iotlb,
	    d->pagetable_type, N(c.fault_id), c.__reserved ? " rsv" : "",
	    c.__reserved2 ? " rsv2" : "");
	if (result(issue(IOMMU_HWPT_ALLOC, &c, sizeof(c))) == 0) {
		struct obj *pt = find_obj(c.pt_id);

		add_obj(c.out_hwpt_id, c.data_type ? K_NESTED : K_HWPT, c.flags,
			pt && pt->kind == K_IOAS ? c.pt_id : 0);
		out(" id=%s", N(c.out_hwpt_id));
	}
	end();
}

static void op_hwpt_invalidate(void)
{
	struct iommu_hwpt_invalidate c = { .size = sizeof(c) };
	const char *cls;
	int viommu = pc(40);

	begin("HWPT_INVALIDATE");
	c.hwpt_id = viommu ? pick_id(K_VIOMMU) : pick_id(K_NESTED);
	c.data_type = viommu ? IOMMU_VIOMMU_INVALIDATE_DATA_SELFTEST
			     : IOMMU_HWPT_INVALIDATE_DATA_SELFTEST;
	if (bad())
		c.data_type = PICK(IOMMU_HWPT_INVALIDATE_DATA_SELFTEST_INVALID,
				   IOMMU_HWPT_INVALIDATE_DATA_VTD_S1, 0x5555,
				   IOMMU_VIOMMU_INVALIDATE_DATA_ARM_SMMUV3);
	c.entry_len = viommu ? sizeof(struct iommu_viommu_invalidate_selftest)
			     : sizeof(struct iommu_hwpt_invalidate_selftest);
	if (bad())
		c.entry_len = PICK(0, 4, c.entry_len + 4, 4096, 0xffffffffu, 7);
	c.entry_num = bad() ? PICK(0xffffffffu, 1u << 20, 0) : 1 + rn(4);
	c.data_uptr = pick_ptr(&cls);
	if (bad())
		c.__reserved = 1;
	memset((void *)AUX, 0, 1024);
	for (uint32_t i = 0; i < 8 && c.entry_len && c.entry_len <= 4096; i++) {
		/* entries may be unaligned (entry_len 7): built aside, then copied in */
		if (viommu) {
			struct iommu_viommu_invalidate_selftest e = { 0 };

			e.flags = bad() ? PICK(2, IOMMU_TEST_INVALIDATE_FLAG_ALL) : 0;
			e.vdev_id = bad() ? PICK(0x99, 0xffffffffu) : rn(4);
			e.cache_id = bad() ? PICK(MOCK_DEV_CACHE_ID_MAX + 1, 0xffffffffu) : rn(4);
			memcpy((void *)(AUX + i * c.entry_len), &e,
			       c.entry_len < sizeof(e) ? c.entry_len : sizeof(e));
		} else {
			struct iommu_hwpt_invalidate_selftest e = { 0 };

			e.flags = bad() ? PICK(2, IOMMU_TEST_INVALIDATE_FLAG_ALL) : 0;
			e.iotlb_id = bad() ? PICK(MOCK_NESTED_DOMAIN_IOTLB_ID_MAX + 1,
						  0xffffffffu) : rn(4);
			memcpy((void *)(AUX + i * c.entry_len), &e,
			       c.entry_len < sizeof(e) ? c.entry_len : sizeof(e));
		}
	}
	out(" hwpt=%s type=%#x entry_len=%" PRIu32 " num=%" PRIu32 " ptr=%s%s", N(c.hwpt_id),
	    c.data_type, c.entry_len, c.entry_num, cls, c.__reserved ? " rsv" : "");
	result(issue(IOMMU_HWPT_INVALIDATE, &c, sizeof(c)));
	out(" done=%" PRIu32, c.entry_num);
	end();
}

static void op_hw_info(void)
{
	struct iommu_hw_info c = { .size = sizeof(c) };
	const char *cls;

	begin("GET_HW_INFO");
	c.dev_id = pick_id(K_DEV);
	c.data_len = bad() ? PICK(0, 4, 64, 0xffffffffu) : PICK(8, 8, 0);
	c.data_uptr = pick_ptr(&cls);
	if (pc(30)) {
		c.flags = IOMMU_HW_INFO_FLAG_INPUT_TYPE;
		c.in_data_type = bad() ? PICK(IOMMU_HW_INFO_TYPE_INTEL_VTD, 0x1234)
				       : PICK(IOMMU_HW_INFO_TYPE_SELFTEST,
					      IOMMU_HW_INFO_TYPE_DEFAULT);
	} else if (bad()) {
		c.flags = PICK(2, 0x80000000u);
	}
	if (bad())
		c.__reserved[rn(3)] = 1;
	memset((void *)AUX, 0x5a, 64);
	out(" dev=%s flags=%#x in_type=%#x len=%" PRIu32 " ptr=%s%s", N(c.dev_id), c.flags,
	    c.in_data_type, c.data_len, cls,
	    c.__reserved[0] | c.__reserved[1] | c.__reserved[2] ? " rsv" : "");
	if (result(issue(IOMMU_GET_HW_INFO, &c, sizeof(c))) == 0) {
		out(" len=%" PRIu32 " type=%#x pasid_log2=%u caps=%#" PRIx64, c.data_len,
		    c.out_data_type, c.out_max_pasid_log2, (uint64_t)c.out_capabilities);
		if (c.data_uptr == AUX)
			out(" data=%08x,%08x,%08x", ((uint32_t *)AUX)[0], ((uint32_t *)AUX)[1],
			    ((uint32_t *)AUX)[2]);
	}
	end();
}

static uint32_t pick_dirty_hwpt(void)
{
	int n = 0, i;

	if (!bad()) {
		for (i = 0; i < nobj; i++)
			n += objs[i].alive && objs[i].kind == K_HWPT &&
			     (objs[i].flags & IOMMU_HWPT_ALLOC_DIRTY_TRACKING);
		if (n) {
			n = rn(n);
			for (i = 0; i < nobj; i++)
				if (objs[i].alive && objs[i].kind == K_HWPT &&
				    (objs[i].flags & IOMMU_HWPT_ALLOC_DIRTY_TRACKING) && !n--)
					return objs[i].id;
		}
	}
	return pick_id(K_HWPT);
}

static void op_set_dirty(void)
{
	struct iommu_hwpt_set_dirty_tracking c = { .size = sizeof(c) };

	begin("SET_DIRTY_TRACKING");
	c.hwpt_id = pick_dirty_hwpt();
	c.flags = bad() ? PICK(2, 3, 0x80000000u) : PICK(0, 1, 1);
	if (bad())
		c.__reserved = 1;
	out(" hwpt=%s flags=%#x%s", N(c.hwpt_id), c.flags, c.__reserved ? " rsv" : "");
	result(issue(IOMMU_HWPT_SET_DIRTY_TRACKING, &c, sizeof(c)));
	end();
}

/* The IOAS a HWPT of ours sits on, to pick IOVAs from */
static uint32_t hwpt_ioas(uint32_t hwpt)
{
	struct obj *o = find_obj(hwpt);

	return o ? o->ref : 0;
}

static void op_dirty_bitmap(void)
{
	struct iommu_hwpt_get_dirty_bitmap c = { .size = sizeof(c) };
	const char *cls;
	struct map *m;

	begin("GET_DIRTY_BITMAP");
	c.hwpt_id = pick_dirty_hwpt();
	c.flags = bad() ? PICK(2, 0x80000000u) : PICK(0, IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR);
	m = pick_map_strict(hwpt_ioas(c.hwpt_id));
	c.iova = m && !bad() ? m->iova : pick_iova(0);
	c.length = m && !bad() ? (pc(5) ? 0 : m->len) : pick_len(PAGE);
	c.page_size = bad() ? PICK(0, 3, 1ull << 40, PAGE * 3, UINT64_MAX) : PICK(PAGE, PAGE,
									      2048, 8192);
	/*
	 * Clearing part of a leaf of Linux's mock table clears the whole leaf, whose size
	 * follows physical contiguity (docs/difftest.md): only whole mappings are cleared.
	 */
	if (!(m && c.iova == m->iova && c.length == m->len))
		c.flags |= IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR;
	c.data = pick_ptr(&cls);
	if (bad())
		c.__reserved = 1;
	memset((void *)AUX, 0, 256);
	out(" hwpt=%s flags=%#x iova=%#" PRIx64 " len=%#" PRIx64 " pgsize=%#" PRIx64
	    " ptr=%s%s", N(c.hwpt_id), c.flags, (uint64_t)c.iova, (uint64_t)c.length,
	    (uint64_t)c.page_size, cls, c.__reserved ? " rsv" : "");
	/*
	 * Below the CPU page size the bits depend on the leaves of Linux's mock page table, that
	 * is on the physical contiguity of the pinned pages (docs/difftest.md): not printed.
	 */
	if (result(issue(IOMMU_HWPT_GET_DIRTY_BITMAP, &c, sizeof(c))) == 0 && c.data == AUX &&
	    c.page_size >= PAGE)
		out(" bits=%016" PRIx64 "%016" PRIx64, ((uint64_t *)AUX)[0], ((uint64_t *)AUX)[1]);
	end();
}

/*
 * Marks pages dirty in a mock domain. Linux's mock reports dirtiness per leaf of its page
 * table, and its leaves grow with the physical contiguity of the pinned pages, which no two
 * runs share (docs/difftest.md); so a valid call marks every 2 KiB of one whole mapping,
 * and a bad one has a bad argument that fails the call before anything is marked.
 */
static void op_test_dirty(void)
{
	struct iommu_test_cmd c;
	const char *cls = "aux";
	struct map *m;

	test_cmd_begin(&c, "TEST_DIRTY", IOMMU_TEST_OP_DIRTY);
	c.id = pick_dirty_hwpt();
	m = pick_map_strict(hwpt_ioas(c.id));
	c.dirty.iova = m ? m->iova : 0;	/* 0: below the mock's aperture, never mapped */
	c.dirty.length = m ? m->len : PAGE;
	c.dirty.page_size = 2048;
	c.dirty.uptr = AUX;
	switch (nbad ? rn(5) : 5) {
	case 0: c.dirty.iova += 1; break;
	case 1: c.dirty.length = PICK(0, 1, 2047); break;
	case 2: c.dirty.page_size = PICK(0, 3, 4095); break;
	case 3: c.dirty.uptr = 0; cls = "null"; break;
	case 4: c.dirty.length = 1ull << 40; break;	/* more bits than the test op takes */
	}
	memset((void *)AUX, 0xff, 4096);
	out(" hwpt=%s iova=%#" PRIx64 " len=%#" PRIx64 " pgsize=%#" PRIx64 " ptr=%s",
	    N(c.id), (uint64_t)c.dirty.iova, (uint64_t)c.dirty.length,
	    (uint64_t)c.dirty.page_size, cls);
	if (result(issue(IOMMU_TEST_CMD, &c, sizeof(c))) == 0)
		out(" nr_dirty=%" PRIu64, (uint64_t)c.dirty.out_nr_dirty);
	end();
}

/* An object that came with a descriptor (fault queue, vEVENTQ): recorded and printed */
static void add_obj_with_fd(uint32_t id, int kind, uint32_t fd)
{
	int i = add_obj(id, kind, 0, 0);

	objs[i].fd = (int)fd;
	add_fd((int)fd, 0, 0);
	out(" id=%s fd=%s", N(id), F((int)fd));
}

/* @dflt, or, each time with probability @percent, the latest device with a vDEVICE */
static uint32_t pick_dev_with_vdev(uint32_t dflt, int percent)
{
	for (int i = nobj - 1; i >= 0 && pc(percent); i--)
		if (objs[i].alive && objs[i].kind == K_DEV && objs[i].has_vdev)
			return objs[i].id;
	return dflt;
}

static void op_fault_alloc(void)
{
	struct iommu_fault_alloc c = { .size = sizeof(c) };

	begin("FAULT_QUEUE_ALLOC");
	if (bad())
		c.flags = PICK(1, 0x80000000u);
	out(" flags=%#x", c.flags);
	if (result(issue(IOMMU_FAULT_QUEUE_ALLOC, &c, sizeof(c))) == 0) {
		add_obj_with_fd(c.out_fault_id, K_FAULT, c.out_fault_fd);
	}
	end();
}

static void op_trigger_iopf(void)
{
	struct iommu_test_cmd c;

	test_cmd_begin(&c, "TEST_TRIGGER_IOPF", IOMMU_TEST_OP_TRIGGER_IOPF);
	/* one on a faultable HWPT, mostly */
	c.trigger_iopf.dev_id = pick_dev_with_vdev(pick_id(K_DEV), 60);
	c.trigger_iopf.pasid = bad() ? PICK(1, 0xfffff, 0xffffffffu) : 0;
	c.trigger_iopf.grpid = rn(4);
	c.trigger_iopf.perm = PICK(IOMMU_PGFAULT_PERM_READ,
				   IOMMU_PGFAULT_PERM_READ | IOMMU_PGFAULT_PERM_WRITE);
	c.trigger_iopf.addr = bad() ? PICK(0, UINT64_MAX) : 0xdeadb000ull;
	out(" dev=%s pasid=%#x grpid=%u perm=%u addr=%#" PRIx64, N(c.trigger_iopf.dev_id),
	    c.trigger_iopf.pasid, c.trigger_iopf.grpid, c.trigger_iopf.perm,
	    (uint64_t)c.trigger_iopf.addr);
	result(issue(IOMMU_TEST_CMD, &c, sizeof(c)));
	end();
}

static struct fdent *pick_event_fd(int want_access)
{
	int n = 0, i;

	for (i = 0; i < nfd; i++)
		n += fds[i].open && fds[i].is_access == want_access;
	if (!n)
		return NULL;
	n = rn(n);
	for (i = 0; i < nfd; i++)
		if (fds[i].open && fds[i].is_access == want_access && !n--)
			return &fds[i];
	return NULL;
}

static uint32_t last_cookie;

/* read() on a fault queue or vEVENTQ descriptor */
static void op_event_read(void)
{
	struct fdent *f = pick_event_fd(0);
	const char *cls;
	size_t len;
	uint64_t p;
	long rc;

	if (!f)
		return;
	begin("READ");
	len = bad() ? PICK(0, 1, 39, 7, 4096) : PICK(40, 80, 64, 16, 8);
	p = pick_ptr(&cls);
	memset((void *)AUX, 0, 256);
	out(" fd=%s len=%zu ptr=%s", F(f->fd), len, cls);
	rc = softiommu_read(f->fd, (void *)p, len);
	if (result(rc < 0 ? rc : 0) == 0) {
		uint32_t *w = (void *)AUX;

		out(" bytes=%ld", rc);
		if (p == AUX)
			for (long i = 0; i < rc / 4 && i < 24; i++)
				out("%s%x", i ? "," : " ", w[i]);
		for (int i = 0; rc >= 40 && p == AUX && i < nobj; i++)
			if (objs[i].kind == K_FAULT && objs[i].fd == f->fd)
				last_cookie = w[9];	/* the first fault record's cookie */
	}
	end();
}

static void op_fault_write(void)
{
	struct fdent *f = pick_event_fd(0);
	struct iommu_hwpt_page_response *r = (void *)AUX;
	const char *cls;
	size_t len;
	uint64_t p;
	long rc;

	if (!f)
		return;
	begin("WRITE");
	len = bad() ? PICK(0, 4, 9, 4096) : PICK(8, 8, 16);
	p = pick_ptr(&cls);
	r[0].cookie = bad() ? PICK(0, 0xffffffffu, 12345) : last_cookie;
	r[0].code = bad() ? PICK(2, 0xffffffffu) : PICK(IOMMUFD_PAGE_RESP_SUCCESS,
						       IOMMUFD_PAGE_RESP_INVALID);
	r[1] = r[0];
	r[1].cookie++;
	out(" fd=%s len=%zu ptr=%s cookie=%u code=%u", F(f->fd), len, cls, r[0].cookie,
	    r[0].code);
	rc = softiommu_write(f->fd, (void *)p, len);
	if (result(rc < 0 ? rc : 0) == 0)
		out(" bytes=%ld", rc);
	end();
}

static void op_close_fd(void)
{
	struct fdent *f = pick_event_fd(pc(50));

	if (!f)
		return;
	begin("CLOSE");
	out(" fd=%s", F(f->fd));
	result(softiommu_close(f->fd));
	f->open = 0;
	end();
}

static void op_viommu_alloc(void)
{
	struct iommu_viommu_alloc c = { .size = sizeof(c) };
	struct iommu_viommu_selftest *d = (void *)AUX;
	const char *cls = "-";

	begin("VIOMMU_ALLOC");
	c.type = bad() ? PICK(IOMMU_VIOMMU_TYPE_DEFAULT, IOMMU_VIOMMU_TYPE_ARM_SMMUV3, 0x77)
		       : IOMMU_VIOMMU_TYPE_SELFTEST;
	c.dev_id = pick_id(K_DEV);
	c.hwpt_id = pick_id(K_HWPT);
	if (bad())
		c.flags = PICK(1, 0x80000000u);
	if (pc(50) || bad()) {
		c.data_len = bad() ? PICK(0, 4, 16, 4096) : sizeof(*d);
		c.data_uptr = pick_ptr(&cls);
		memset(d, 0, 64);
		d->in_data = 0x1234;
	}
	if (bad())
		c.__reserved = 1;
	out(" type=%#x dev=%s hwpt=%s flags=%#x len=%" PRIu32 " data=%s%s", c.type,
	    N(c.dev_id), N(c.hwpt_id), c.flags, c.data_len, cls, c.__reserved ? " rsv" : "");
	if (result(issue(IOMMU_VIOMMU_ALLOC, &c, sizeof(c))) == 0) {
		add_obj(c.out_viommu_id, K_VIOMMU, 0, 0);
		out(" id=%s", N(c.out_viommu_id));
		if (c.data_uptr == AUX && c.data_len >= 8)
			out(" out_data=%#x", d->out_data);
	}
	end();
}

static void op_vdevice_alloc(void)
{
	struct iommu_vdevice_alloc c = { .size = sizeof(c) };

	begin("VDEVICE_ALLOC");
	c.viommu_id = pick_id(K_VIOMMU);
	c.dev_id = pick_id(K_DEV);
	c.virt_id = bad() ? PICK(UINT64_MAX, 1ull << 32, 0x80000000u) : rn(4);
	out(" viommu=%s dev=%s virt=%#" PRIx64, N(c.viommu_id), N(c.dev_id), (uint64_t)c.virt_id);
	if (result(issue(IOMMU_VDEVICE_ALLOC, &c, sizeof(c))) == 0) {
		struct obj *d = find_obj(c.dev_id);

		if (d)
			d->has_vdev = 1;
		add_obj(c.out_vdevice_id, K_VDEV, 0, 0);
		out(" id=%s", N(c.out_vdevice_id));
	}
	end();
}

static void op_veventq_alloc(void)
{
	struct iommu_veventq_alloc c = { .size = sizeof(c) };

	begin("VEVENTQ_ALLOC");
	c.viommu_id = pick_id(K_VIOMMU);
	c.type = bad() ? PICK(IOMMU_VEVENTQ_TYPE_DEFAULT, IOMMU_VEVENTQ_TYPE_ARM_SMMUV3, 0x99)
		       : IOMMU_VEVENTQ_TYPE_SELFTEST;
	c.veventq_depth = bad() ? PICK(0, 0xffffffffu, 1u << 20) : PICK(1, 2, 4, 64);
	if (bad())
		c.flags = PICK(1, 0x80000000u);
	if (bad())
		c.__reserved = 1;
	out(" viommu=%s type=%#x depth=%" PRIu32 " flags=%#x%s", N(c.viommu_id), c.type,
	    c.veventq_depth, c.flags, c.__reserved ? " rsv" : "");
	if (result(issue(IOMMU_VEVENTQ_ALLOC, &c, sizeof(c))) == 0) {
		add_obj_with_fd(c.out_veventq_id, K_VEVENTQ, c.out_veventq_fd);
	}
	end();
}

static void op_trigger_vevent(void)
{
	struct iommu_test_cmd c;

	test_cmd_begin(&c, "TEST_TRIGGER_VEVENT", IOMMU_TEST_OP_TRIGGER_VEVENT);
	/* a device with a vDEVICE, mostly */
	c.trigger_vevent.dev_id = pick_dev_with_vdev(pick_id(K_DEV), 70);
	out(" dev=%s", N(c.trigger_vevent.dev_id));
	result(issue(IOMMU_TEST_CMD, &c, sizeof(c)));
	end();
}

static void op_hw_queue_alloc(void)
{
	struct iommu_hw_queue_alloc c = { .size = sizeof(c) };
	struct map *m;

	begin("HW_QUEUE_ALLOC");
	c.viommu_id = pick_id(K_VIOMMU);
	c.type = bad() ? PICK(IOMMU_HW_QUEUE_TYPE_DEFAULT, IOMMU_HW_QUEUE_TYPE_TEGRA241_CMDQV)
		       : IOMMU_HW_QUEUE_TYPE_SELFTEST;
	c.index = bad() ? PICK(IOMMU_TEST_HW_QUEUE_MAX, 0xffffffffu) : rn(IOMMU_TEST_HW_QUEUE_MAX);
	if (bad())
		c.flags = PICK(1, 0x80000000u);
	m = nmap ? &maps[rn(nmap)] : NULL;
	c.nesting_parent_iova = m && !bad() ? m->iova : pick_iova(0);
	c.length = m && !bad() ? (pc(5) ? 0 : PAGE) : pick_len(PAGE);
	/*
	 * Linux requires the pages behind a queue to be physically contiguous, which differs
	 * from boot to boot (docs/difftest.md): queues span at most one page, unless so long
	 * that they fail before anything is pinned.
	 */
	if ((c.nesting_parent_iova & (PAGE - 1)) + c.length > PAGE && c.length < (1ull << 32)) {
		c.nesting_parent_iova &= ~(PAGE - 1);
		c.length = PAGE;
	}
	out(" viommu=%s type=%#x index=%" PRIu32 " flags=%#x iova=%#" PRIx64 " len=%#" PRIx64,
	    N(c.viommu_id), c.type, c.index, c.flags, (uint64_t)c.nesting_parent_iova,
	    (uint64_t)c.length);
	if (result(issue(IOMMU_HW_QUEUE_ALLOC, &c, sizeof(c))) == 0) {
		add_obj(c.out_hw_queue_id, K_HWQ, 0, 0);
		out(" id=%s", N(c.out_hw_queue_id));
	}
	end();
}

static void op_create_access(void)
{
	struct iommu_test_cmd c;

	test_cmd_begin(&c, "TEST_CREATE_ACCESS", IOMMU_TEST_OP_CREATE_ACCESS);
	c.id = pick_id(K_IOAS);
	c.create_access.flags = bad() ? PICK(2, 0x80000000u)
				      : PICK(0, MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES);
	out(" ioas=%s flags=%#x", N(c.id), c.create_access.flags);
	if (result(issue(IOMMU_TEST_CMD, &c, sizeof(c))) == 0) {
		add_fd((int)c.create_access.out_access_fd, 1, c.id);
		out(" fd=%s", F((int)c.create_access.out_access_fd));
	}
	end();
}

static uint32_t access_pages_ids[32];
static int naccess_pages;

static void op_access_pages(void)
{
	struct iommu_test_cmd c;
	const char *cls;
	int afd = pick_access_fd();
	struct fdent *f = find_fd(afd);
	struct map *m = pick_map(f ? f->ioas : 0);

	test_cmd_begin(&c, "TEST_ACCESS_PAGES", IOMMU_TEST_OP_ACCESS_PAGES);
	c.id = (uint32_t)afd;
	c.access_pages.flags = bad() ? PICK(2, 0x80000000u) : PICK(0, MOCK_FLAGS_ACCESS_WRITE);
	c.access_pages.iova = m && !bad() ? m->iova : pick_iova(0);
	c.access_pages.length = m && !bad() ? (m->len < 16 * PAGE ? m->len : PAGE) : pick_len(PAGE);
	if (c.access_pages.length > (64ull << 20) && !bad())
		c.access_pages.length = PAGE;
	if (pc(5))
		c.access_pages.length = 0;
	/* the pages pinned are checked against the user address, unless it is NULL */
	c.access_pages.uptr = m && m->uva ? m->uva : 0;
	cls = m && m->uva ? "map" : "null";
	if (bad())
		c.access_pages.uptr = pick_uva(&cls);
	out(" access=%s flags=%#x iova=%#" PRIx64 " len=%#" PRIx64 " uptr=%s", F(afd),
	    c.access_pages.flags, (uint64_t)c.access_pages.iova, (uint64_t)c.access_pages.length,
	    cls);
	if (result(issue(IOMMU_TEST_CMD, &c, sizeof(c))) == 0) {
		if (naccess_pages < 32)
			access_pages_ids[naccess_pages++] = c.access_pages.out_access_pages_id;
		out(" pages_id=%" PRIu32, c.access_pages.out_access_pages_id);
	}
	end();
}

static void op_destroy_access_pages(void)
{
	struct iommu_test_cmd c;
	int afd = pick_access_fd();

	test_cmd_begin(&c, "TEST_DESTROY_ACCESS_PAGES", IOMMU_TEST_OP_DESTROY_ACCESS_PAGES);
	c.id = (uint32_t)afd;
	c.destroy_access_pages.access_pages_id =
		naccess_pages && !bad() ? access_pages_ids[rn(naccess_pages)] : PICK(0, 1000);
	out(" access=%s pages_id=%" PRIu32, F(afd), c.destroy_access_pages.access_pages_id);
	result(issue(IOMMU_TEST_CMD, &c, sizeof(c)));
	end();
}

static void op_access_rw(void)
{
	struct iommu_test_cmd c;
	const char *cls;
	int afd = pick_access_fd();
	struct fdent *f = find_fd(afd);
	struct map *m = pick_map(f ? f->ioas : 0);

	test_cmd_begin(&c, "TEST_ACCESS_RW", IOMMU_TEST_OP_ACCESS_RW);
	c.id = (uint32_t)afd;
	c.access_rw.flags = bad() ? PICK(2, 0x80000000u)
				  : PICK(0, MOCK_ACCESS_RW_WRITE, MOCK_ACCESS_RW_SLOW_PATH,
					 MOCK_ACCESS_RW_WRITE | MOCK_ACCESS_RW_SLOW_PATH);
	c.access_rw.iova = m && !bad() ? m->iova + rn(64) : pick_iova(0);
	c.access_rw.length = bad() ? PICK(0, 1, PAGE * 3, UINT64_MAX) : pc(5) ? 0 : 1 + rn(64);
	c.access_rw.uptr = pick_ptr(&cls);
	memset((void *)AUX, 0x3c, 128);
	out(" access=%s flags=%#x iova=%#" PRIx64 " len=%#" PRIx64 " ptr=%s", F(afd),
	    c.access_rw.flags, (uint64_t)c.access_rw.iova, (uint64_t)c.access_rw.length, cls);
	if (result(issue(IOMMU_TEST_CMD, &c, sizeof(c))) == 0 && c.access_rw.uptr == AUX)
		out(" data=%016" PRIx64, ((uint64_t *)AUX)[0]);
	end();
}

static void op_access_replace(void)
{
	struct iommu_test_cmd c;
	int afd = pick_access_fd();

	test_cmd_begin(&c, "TEST_ACCESS_REPLACE_IOAS", IOMMU_TEST_OP_ACCESS_REPLACE_IOAS);
	c.id = (uint32_t)afd;
	c.access_replace_ioas.ioas_id = pick_id(K_IOAS);
	out(" access=%s ioas=%s", F(afd), N(c.access_replace_ioas.ioas_id));
	if (result(issue(IOMMU_TEST_CMD, &c, sizeof(c))) == 0) {
		struct fdent *f = find_fd(afd);

		if (f)
			f->ioas = c.access_replace_ioas.ioas_id;
	}
	end();
}

static uint32_t pasid_of_bit(int bit)
{
	return bit == 3 ? IOMMU_TEST_PASID_RESERVED : 100 + (uint32_t)bit;
}

static int pasid_bit(uint32_t pasid)
{
	if (pasid == IOMMU_TEST_PASID_RESERVED)
		return 3;
	return pasid >= 100 && pasid <= 102 ? (int)(pasid - 100) : -1;
}

static void op_pasid(void)
{
	struct iommu_test_cmd c;
	static const uint32_t ops[] = { IOMMU_TEST_OP_PASID_ATTACH, IOMMU_TEST_OP_PASID_REPLACE,
					IOMMU_TEST_OP_PASID_DETACH, IOMMU_TEST_OP_PASID_CHECK_HWPT };
	static const char *const names[] = { "TEST_PASID_ATTACH", "TEST_PASID_REPLACE",
					     "TEST_PASID_DETACH", "TEST_PASID_CHECK_HWPT" };
	unsigned int k = rn(4);

	test_cmd_begin(&c, names[k], ops[k]);
	c.id = pick_id(K_STDEV);
	for (int i = nobj - 1; i >= 0 && pc(70); i--) {	/* a PASID-capable device, mostly */
		struct obj *d = find_obj(objs[i].ref);

		if (objs[i].alive && objs[i].kind == K_STDEV && d && d->kind == K_DEV &&
		    (d->flags & MOCK_FLAGS_DEVICE_PASID)) {
			c.id = objs[i].id;
			break;
		}
	}
	c.pasid_attach.pasid = bad() ? PICK(0, 1u << 20, 0xffffffffu, IOMMU_TEST_PASID_RESERVED)
				     : 100 + rn(3);
	c.pasid_attach.pt_id = k == 2 ? 0 : pick_id(PICK(K_HWPT, K_NESTED, K_IOAS));
	for (int i = nobj - 1; k != 2 && i >= 0 && pc(60); i--)	/* a PASID-capable HWPT */
		if (objs[i].alive && (objs[i].kind == K_HWPT || objs[i].kind == K_NESTED) &&
		    (objs[i].flags & IOMMU_HWPT_ALLOC_PASID)) {
			c.pasid_attach.pt_id = objs[i].id;
			break;
		}
	out(" stdev=%s pasid=%" PRIu32 " pt=%s", N(c.id), c.pasid_attach.pasid,
	    N(c.pasid_attach.pt_id));
	if (result(issue(IOMMU_TEST_CMD, &c, sizeof(c))) == 0) {
		struct obj *o = find_obj(c.id);
		int bit = pasid_bit(c.pasid_attach.pasid);

		if (o && bit >= 0 && k == 0)
			o->pasids |= 1u << bit;
		if (o && bit >= 0 && k == 2)
			o->pasids &= ~(1u << bit);
	}
	end();
}

/*
 * Linux 7.2's mock destroys a device object with only its PASID-less attachment detached:
 * one with a PASID still attached leaves the device freed under a live attachment (a WARN in
 * iommufd_device_unbind, then a use after free; softiommu, mirroring it, does the same). The
 * tester never destroys such a device: it detaches its PASIDs first, in lines of their own.
 */
static void detach_pasids(struct obj *o)
{
	for (int bit = 0; bit < 4; bit++) {
		struct iommu_test_cmd c;

		if (!(o->pasids & (1u << bit)))
			continue;
		test_cmd_begin(&c, "TEST_PASID_DETACH", IOMMU_TEST_OP_PASID_DETACH);
		c.id = o->id;
		c.pasid_detach.pasid = pasid_of_bit(bit);
		out(" stdev=%s pasid=%" PRIu32 " pt=#0", N(c.id), c.pasid_detach.pasid);
		result(softiommu_ioctl(ifd, IOMMU_TEST_CMD, &c));
		end();
		o->pasids &= ~(1u << bit);
	}
}

static void op_vfio_ioas(void)
{
	struct iommu_vfio_ioas c = { .size = sizeof(c) };

	begin("VFIO_IOAS");
	c.op = bad() ? PICK(3, 0xffff) : PICK(IOMMU_VFIO_IOAS_GET, IOMMU_VFIO_IOAS_SET,
					      IOMMU_VFIO_IOAS_SET, IOMMU_VFIO_IOAS_CLEAR);
	c.ioas_id = c.op == IOMMU_VFIO_IOAS_SET ? pick_id(K_IOAS) : (bad() ? pick_id(K_IOAS) : 0);
	if (bad())
		c.__reserved = 1;
	out(" op=%u ioas=%s%s", c.op, N(c.ioas_id), c.__reserved ? " rsv" : "");
	if (result(issue(IOMMU_VFIO_IOAS, &c, sizeof(c))) == 0) {
		if (c.op == IOMMU_VFIO_IOAS_GET)
			out(" ioas=%s", N(c.ioas_id));
		compat_ioas = c.op == IOMMU_VFIO_IOAS_CLEAR ? 0 : c.ioas_id;
	}
	end();
}

static void op_vfio(void)
{
	const char *cls;
	uint64_t p;
	long rc;

	switch (rn(7)) {
	case 0:
		begin("VFIO_GET_API_VERSION");
		rc = result(issue_raw(VFIO_GET_API_VERSION, 0));
		if (rc >= 0)
			out(" %ld", rc);
		break;
	case 1: {
		unsigned long ext = PICK(VFIO_TYPE1_IOMMU, VFIO_TYPE1v2_IOMMU, VFIO_UNMAP_ALL,
					 VFIO_UPDATE_VADDR, VFIO_NOIOMMU_IOMMU, 0, 2, 7, 100);

		begin("VFIO_CHECK_EXTENSION");
		out(" ext=%lu", ext);
		rc = result(issue_raw(VFIO_CHECK_EXTENSION, ext));
		if (rc >= 0)
			out(" %ld", rc);
		break;
	}
	case 2: {
		unsigned long t = bad() ? PICK(0, 2, 7, VFIO_NOIOMMU_IOMMU, 100)
					: PICK(VFIO_TYPE1_IOMMU, VFIO_TYPE1v2_IOMMU);

		begin("VFIO_SET_IOMMU");
		out(" type=%lu", t);
		result(issue_raw(VFIO_SET_IOMMU, t));
		break;
	}
	case 3: {
		struct vfio_iommu_type1_info *i = (void *)AUX;

		begin("VFIO_IOMMU_GET_INFO");
		memset((void *)AUX, 0, 512);
		i->argsz = bad() ? PICK(0, 4, 8, 12, 0xffffffffu) : PICK(sizeof(*i), 256, 16);
		if (bad())
			i->flags = 0xff;
		p = pick_ptr(&cls);
		out(" argsz=%u flags=%#x ptr=%s", i->argsz, i->flags, cls);
		if (result(issue_raw(VFIO_IOMMU_GET_INFO, p)) == 0 && p == AUX) {
			out(" argsz=%u flags=%#x pgsizes=%#llx cap_offset=%u", i->argsz, i->flags,
			    (unsigned long long)i->iova_pgsizes, i->cap_offset);
			if (i->cap_offset && i->cap_offset < 400) {
				uint32_t *w = (void *)(AUX + i->cap_offset);

				for (int k = 0; k < 10; k++)
					out("%s%x", k ? "," : " cap=", w[k]);
			}
		}
		break;
	}
	case 4: {
		struct vfio_iommu_type1_dma_map *m = (void *)AUX;

		begin("VFIO_IOMMU_MAP_DMA");
		memset((void *)AUX, 0, 64);
		m->argsz = bad() ? PICK(0, 8, 16, 1024) : sizeof(*m);
		m->flags = bad() ? PICK(0, VFIO_DMA_MAP_FLAG_VADDR, 1u << 5, VFIO_DMA_MAP_FLAG_WRITE)
				 : PICK(VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
					VFIO_DMA_MAP_FLAG_READ);
		m->vaddr = pick_uva(&cls);
		m->size = pc(8) ? 0 : pick_len(PAGE);
		m->iova = pick_iova(0);
		out(" argsz=%u flags=%#x va=%s+%#llx iova=%#llx size=%#llx", m->argsz, m->flags,
		    cls, (unsigned long long)(m->vaddr & 0xffffff), (unsigned long long)m->iova,
		    (unsigned long long)m->size);
		if (result(issue_raw(VFIO_IOMMU_MAP_DMA, AUX)) == 0 && compat_ioas) {
			add_map(compat_ioas, m->iova, m->size, m->vaddr);
		}
		break;
	}
	case 5: {
		struct vfio_iommu_type1_dma_unmap *u = (void *)AUX;

		begin("VFIO_IOMMU_UNMAP_DMA");
		memset((void *)AUX, 0, 64);
		u->argsz = bad() ? PICK(0, 8, 16, 1024) : sizeof(*u);
		u->flags = bad() ? PICK(VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP,
					VFIO_DMA_UNMAP_FLAG_VADDR, 1u << 7)
				 : PICK(0, 0, 0, VFIO_DMA_UNMAP_FLAG_ALL);
		u->iova = pick_iova(0);
		u->size = pc(50) ? PICK(0, UINT64_MAX) : pick_len(PAGE);
		if (u->flags == VFIO_DMA_UNMAP_FLAG_ALL && !bad())
			u->iova = u->size = 0;
		out(" argsz=%u flags=%#x iova=%#llx size=%#llx", u->argsz, u->flags,
		    (unsigned long long)u->iova, (unsigned long long)u->size);
		{
			uint64_t iova = u->iova, asked = u->size;
			int all = u->flags & VFIO_DMA_UNMAP_FLAG_ALL;

			if (result(issue_raw(VFIO_IOMMU_UNMAP_DMA, AUX)) == 0)
				out(" size=%#llx", (unsigned long long)u->size);
			if (compat_ioas)	/* even on failure, as for IOAS_UNMAP */
				drop_maps(compat_ioas, all ? 0 : iova,
					  all ? UINT64_MAX : asked ? asked : 1);
		}
		break;
	}
	default:
		begin("VFIO_IOMMU_ENABLE");
		result(issue_raw(PICK(VFIO_IOMMU_ENABLE, VFIO_IOMMU_DISABLE, VFIO_GET_API_VERSION + 50),
				 0));
		break;
	}
	end();
}

static void op_change_process(void)
{
	struct iommu_ioas_change_process c = { .size = sizeof(c) };

	begin("IOAS_CHANGE_PROCESS");
	if (bad())
		c.__reserved = 1;
	out("%s", c.__reserved ? " rsv" : "");
	result(issue(IOMMU_IOAS_CHANGE_PROCESS, &c, sizeof(c)));
	end();
}

/* One step of a scenario: a well-formed command, printed as any other line */
static long step(const char *name, unsigned long cmd, void *c, uint32_t sz, const char *args)
{
	long rc;

	opno++;
	begin(name);
	out(" %s", args);
	rc = result(softiommu_ioctl(ifd, cmd, memcpy((void *)ARG, c, sz)));
	memcpy(c, (void *)ARG, sz);
	return rc;
}

/* A read or write of an event descriptor, as a line of its own */
static long event_rw(int write, int fd, size_t len)
{
	long rc;

	opno++;
	begin(write ? "WRITE" : "READ");
	out(" fd=%s len=%zu ptr=aux", F(fd), len);
	rc = write ? softiommu_write(fd, (void *)AUX, len) : softiommu_read(fd, (void *)AUX, len);
	if (result(rc < 0 ? rc : 0) == 0) {
		out(" bytes=%ld", rc);
		for (long i = 0; !write && i < rc / 4 && i < 24; i++)
			out("%s%x", i ? "," : " ", ((uint32_t *)AUX)[i]);
	}
	end();
	return rc;
}

/* The end of the event scenario: a fault read and answered, a vEVENT read */
static void scenario_events(uint32_t dev_id, int fault_fd, int veventq_fd)
{
	struct iommu_test_cmd t = { .size = sizeof(t), .op = IOMMU_TEST_OP_TRIGGER_IOPF };
	struct iommu_test_cmd v = { .size = sizeof(v), .op = IOMMU_TEST_OP_TRIGGER_VEVENT };
	struct iommu_hwpt_page_response r = { .code = IOMMUFD_PAGE_RESP_SUCCESS };
	char a[96];

	t.trigger_iopf.dev_id = dev_id;
	t.trigger_iopf.grpid = rn(4);
	t.trigger_iopf.perm = IOMMU_PGFAULT_PERM_READ;
	t.trigger_iopf.addr = 0xdeadb000ull;
	snprintf(a, sizeof(a), "dev=%s pasid=0 grpid=%u perm=1 addr=0xdeadb000", N(dev_id),
		 t.trigger_iopf.grpid);
	step("TEST_TRIGGER_IOPF", IOMMU_TEST_CMD, &t, sizeof(t), a);
	end();
	memset((void *)AUX, 0, 256);
	if (event_rw(0, fault_fd, sizeof(struct iommu_hwpt_pgfault)) ==
	    (long)sizeof(struct iommu_hwpt_pgfault)) {
		r.cookie = ((uint32_t *)AUX)[9];
		memcpy((void *)AUX, &r, sizeof(r));
		event_rw(1, fault_fd, sizeof(r));
	}
	v.trigger_vevent.dev_id = dev_id;
	snprintf(a, sizeof(a), "dev=%s", N(dev_id));
	step("TEST_TRIGGER_VEVENT", IOMMU_TEST_CMD, &v, sizeof(v), a);
	end();
	memset((void *)AUX, 0, 256);
	event_rw(0, veventq_fd, 64);
}

/*
 * The event paths need a chain no random walk builds often: a device attached to a nested
 * HWPT of a vIOMMU, with a vDEVICE, a vEVENTQ and a fault queue. Each step is an operation
 * line of its own; then events are triggered and read back, and a fault is answered.
 */
static void op_event_scenario(void)
{
	struct iommu_ioas_alloc ia = { .size = sizeof(ia) };
	struct iommu_test_cmd md = { .size = sizeof(md), .op = IOMMU_TEST_OP_MOCK_DOMAIN };
	struct iommu_hwpt_alloc hp = { .size = sizeof(hp), .flags = IOMMU_HWPT_ALLOC_NEST_PARENT };
	struct iommu_viommu_alloc va = { .size = sizeof(va), .type = IOMMU_VIOMMU_TYPE_SELFTEST };
	struct iommu_veventq_alloc qa = { .size = sizeof(qa), .type = IOMMU_VEVENTQ_TYPE_SELFTEST,
					  .veventq_depth = 1 + rn(3) };
	struct iommu_vdevice_alloc vd = { .size = sizeof(vd), .virt_id = 1 + rn(3) };
	struct iommu_fault_alloc fa = { .size = sizeof(fa) };
	struct iommu_hwpt_alloc hn = { .size = sizeof(hn), .flags = IOMMU_HWPT_FAULT_ID_VALID,
				       .data_type = IOMMU_HWPT_DATA_SELFTEST,
				       .data_len = sizeof(struct iommu_hwpt_selftest),
				       .data_uptr = AUX };
	struct iommu_test_cmd rp = { .size = sizeof(rp),
				     .op = IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE };
	char a[160];

	opno--;
	if (step("IOAS_ALLOC", IOMMU_IOAS_ALLOC, &ia, sizeof(ia), "") == 0) {
		add_obj(ia.out_ioas_id, K_IOAS, 0, 0);
		out(" id=%s", N(ia.out_ioas_id));
	}
	end();
	md.id = ia.out_ioas_id;
	snprintf(a, sizeof(a), "pt=%s", N(md.id));
	if (step("TEST_MOCK_DOMAIN", IOMMU_TEST_CMD, &md, sizeof(md), a))
		goto out;
	{
		int sd = add_obj(md.mock_domain.out_stdev_id, K_STDEV, 0, 0);
		int dv = add_obj(md.mock_domain.out_idev_id, K_DEV, 0, 0);

		objs[sd].ref = md.mock_domain.out_idev_id;
		objs[dv].ref = md.mock_domain.out_stdev_id;
		if (!find_obj(md.mock_domain.out_hwpt_id))
			add_obj(md.mock_domain.out_hwpt_id, K_HWPT, 0, md.id);
	}
	out(" stdev=%s hwpt=%s idev=%s", N(md.mock_domain.out_stdev_id),
	    N(md.mock_domain.out_hwpt_id), N(md.mock_domain.out_idev_id));
	end();
	hp.dev_id = md.mock_domain.out_idev_id;
	hp.pt_id = ia.out_ioas_id;
	snprintf(a, sizeof(a), "flags=%#x dev=%s pt=%s", hp.flags, N(hp.dev_id), N(hp.pt_id));
	if (step("HWPT_ALLOC", IOMMU_HWPT_ALLOC, &hp, sizeof(hp), a))
		goto out;
	add_obj(hp.out_hwpt_id, K_HWPT, hp.flags, hp.pt_id);
	out(" id=%s", N(hp.out_hwpt_id));
	end();
	va.dev_id = hp.dev_id;
	va.hwpt_id = hp.out_hwpt_id;
	snprintf(a, sizeof(a), "type=%#x dev=%s hwpt=%s", va.type, N(va.dev_id), N(va.hwpt_id));
	if (step("VIOMMU_ALLOC", IOMMU_VIOMMU_ALLOC, &va, sizeof(va), a))
		goto out;
	add_obj(va.out_viommu_id, K_VIOMMU, 0, 0);
	out(" id=%s", N(va.out_viommu_id));
	end();
	qa.viommu_id = va.out_viommu_id;
	snprintf(a, sizeof(a), "viommu=%s type=%#x depth=%u", N(qa.viommu_id), qa.type,
		 qa.veventq_depth);
	if (step("VEVENTQ_ALLOC", IOMMU_VEVENTQ_ALLOC, &qa, sizeof(qa), a) == 0) {
		add_obj_with_fd(qa.out_veventq_id, K_VEVENTQ, qa.out_veventq_fd);
	}
	end();
	vd.viommu_id = va.out_viommu_id;
	vd.dev_id = hp.dev_id;
	snprintf(a, sizeof(a), "viommu=%s dev=%s virt=%#llx", N(vd.viommu_id), N(vd.dev_id),
		 (unsigned long long)vd.virt_id);
	if (step("VDEVICE_ALLOC", IOMMU_VDEVICE_ALLOC, &vd, sizeof(vd), a) == 0) {
		find_obj(vd.dev_id)->has_vdev = 1;
		add_obj(vd.out_vdevice_id, K_VDEV, 0, 0);
		out(" id=%s", N(vd.out_vdevice_id));
	}
	end();
	if (step("FAULT_QUEUE_ALLOC", IOMMU_FAULT_QUEUE_ALLOC, &fa, sizeof(fa), "flags=0") == 0) {
		add_obj_with_fd(fa.out_fault_id, K_FAULT, fa.out_fault_fd);
	}
	end();
	hn.dev_id = hp.dev_id;
	hn.pt_id = va.out_viommu_id;
	hn.fault_id = fa.out_fault_id;
	((struct iommu_hwpt_selftest *)AUX)->iotlb = IOMMU_TEST_IOTLB_DEFAULT;
	((struct iommu_hwpt_selftest *)AUX)->pagetable_type = 0;
	snprintf(a, sizeof(a), "flags=%#x dev=%s pt=%s type=%#x len=%u fault=%s", hn.flags,
		 N(hn.dev_id), N(hn.pt_id), hn.data_type, hn.data_len, N(hn.fault_id));
	if (step("HWPT_ALLOC", IOMMU_HWPT_ALLOC, &hn, sizeof(hn), a))
		goto out;
	add_obj(hn.out_hwpt_id, K_NESTED, hn.flags, 0);
	out(" id=%s", N(hn.out_hwpt_id));
	end();
	rp.id = md.mock_domain.out_stdev_id;
	rp.mock_domain_replace.pt_id = hn.out_hwpt_id;
	snprintf(a, sizeof(a), "stdev=%s pt=%s", N(rp.id), N(rp.mock_domain_replace.pt_id));
	if (step("TEST_MOCK_DOMAIN_REPLACE", IOMMU_TEST_CMD, &rp, sizeof(rp), a))
		goto out;
	end();
	scenario_events(hp.dev_id, (int)fa.out_fault_fd, (int)qa.out_veventq_fd);
	return;
out:
	end();
}

static void op_bad_ioctl(void)
{
	unsigned long cmd = PICK(_IO(IOMMUFD_TYPE, 0x95), _IO(IOMMUFD_TYPE, 0x7f),
				 _IO(IOMMUFD_TYPE, 0xa0 + 33), _IOR(IOMMUFD_TYPE, 0x80, uint32_t),
				 _IO(IOMMUFD_TYPE, 0xff));
	uint32_t s[4] = { 16 };

	begin("IOCTL");
	out(" cmd=%#lx", cmd);
	memcpy((void *)ARG, s, sizeof(s));
	result(softiommu_ioctl(ifd, cmd, (void *)ARG));
	end();
}

struct opdef {
	void (*fn)(void);
	int weight;
};

static const struct opdef ops[] = {
	{ op_ioas_alloc, 5 },	   { op_destroy, 6 },	      { op_ioas_map, 12 },
	{ op_ioas_map_file, 4 },   { op_ioas_copy, 5 },	      { op_ioas_unmap, 8 },
	{ op_iova_ranges, 4 },	   { op_allow_iovas, 3 },     { op_add_reserved, 2 },
	{ op_option, 4 },	   { op_mock_domain, 7 },     { op_mock_replace, 3 },
	{ op_hwpt_alloc, 9 },	   { op_hwpt_invalidate, 4 }, { op_hw_info, 3 },
	{ op_set_dirty, 3 },	   { op_dirty_bitmap, 3 },    { op_test_dirty, 2 },
	{ op_fault_alloc, 2 },	   { op_trigger_iopf, 2 },    { op_event_read, 3 },
	{ op_fault_write, 2 },	   { op_close_fd, 1 },	      { op_viommu_alloc, 4 },
	{ op_vdevice_alloc, 4 },   { op_veventq_alloc, 3 },   { op_trigger_vevent, 2 },
	{ op_hw_queue_alloc, 3 },  { op_create_access, 3 },   { op_access_pages, 3 },
	{ op_destroy_access_pages, 1 }, { op_access_rw, 3 },  { op_access_replace, 1 },
	{ op_pasid, 3 },	   { op_vfio_ioas, 3 },	      { op_vfio, 6 },
	{ op_change_process, 1 },  { op_bad_ioctl, 1 },     { op_event_scenario, 1 },
};

static void one_op(void)
{
	int total = 0, r;
	size_t i;

	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		total += ops[i].weight;
	r = rn(total);
	for (i = 0; r >= ops[i].weight; i++)
		r -= ops[i].weight;
	nbad = pc(45) ? 0 : pc(70) ? 1 : 2;
	ops[i].fn();
}

static void setup_memory(void)
{
	map_fixed(BUF, BUF_LEN, PROT_READ | PROT_WRITE);
	for (size_t i = 0; i < BUF_LEN / 8; i++)
		((uint64_t *)BUF)[i] = i * 0x0101010101010101ull;
	map_fixed(RO, 64 << 10, PROT_READ);
	map_fixed(NONE, 64 << 10, PROT_NONE);
	map_fixed(ARG, PAGE, PROT_READ | PROT_WRITE);
	map_fixed(ARG + PAGE, PAGE, PROT_NONE);
	map_fixed(ARG_RO, PAGE, PROT_READ);
	map_fixed(ARG_RO + PAGE, PAGE, PROT_NONE);
	map_fixed(AUX, AUX_LEN, PROT_READ | PROT_WRITE);
	map_fixed(AUX + AUX_LEN, PAGE, PROT_NONE);
	memfd = memfd_create("difftest", 0);
	if (memfd < 0 || ftruncate(memfd, MEMFD_LEN)) {
		perror("memfd");
		exit(2);
	}
}

int main(int argc, char **argv)
{
	unsigned long seed, nops;
	int first, last, summary = 0;

	if (argc < 3) {
		fprintf(stderr, "usage: difftest FIRST_SEED[-LAST_SEED] NOPS [--summary]\n");
		return 2;
	}
	if (sscanf(argv[1], "%d-%d", &first, &last) != 2)
		last = first = atoi(argv[1]);
	nops = strtoul(argv[2], NULL, 0);
	summary = argc > 3 && !strcmp(argv[3], "--summary");
	setvbuf(stdout, NULL, _IOLBF, 0);	/* a call that never returns shows as the next line */
	setup_memory();
	for (seed = (unsigned long)first; seed <= (unsigned long)last; seed++) {
		rng = seed * 0x100000001b3ull + 1;
		nobj = nfd = nmap = naccess_pages = 0;
		next_name = next_fdname = 0;
		last_cookie = 0;
		compat_ioas = 0;
		ifd = softiommu_open(0);
		if (ifd < 0) {
			fprintf(stderr, "difftest: cannot open an iommufd: %s\n", strerror(-ifd));
			return 2;
		}
		add_fd(ifd, 0, 0);
		fds[nfd - 1].open = 0;	/* never read or closed as an event queue */
		printf("seed %lu\n", seed);
		for (opno = 0; opno < (int)nops; opno++)
			one_op();
		for (int i = 0; i < nobj; i++)
			if (objs[i].alive && objs[i].kind == K_STDEV && objs[i].pasids)
				detach_pasids(&objs[i]);
		for (int i = 0; i < nfd; i++)
			if (fds[i].open)
				softiommu_close(fds[i].fd);
		softiommu_close(ifd);
		printf("end seed %lu\n", seed);
		fflush(stdout);
	}
	if (summary) {
		int distinct = 0;

		fprintf(stderr, "difftest: %lu operations, %lu ok, %lu errors (%.1f%%), errnos:",
			n_ok + n_err, n_ok, n_err, 100.0 * n_err / (n_ok + n_err));
		for (int e = 0; e < 160; e++)
			if (seen_errno[e]) {
				distinct++;
				fprintf(stderr, " %s:%u", errname(e), seen_errno[e]);
			}
		fprintf(stderr, " (%d distinct)\n", distinct);
	}
	return 0;
}
