// SPDX-License-Identifier: MIT
/*
 * user_vma.c: whether a range of the current mm's memory (mm.h: this process, or in daemon
 * mode the client a request acts for, through /proc/PID/maps) could be pinned, asked of the
 * kernel's VMA tree instead of its page tables.
 *
 * Linux's pin_user_pages() fails with EFAULT when any page of the range is unmapped, lies in
 * a VMA that is not readable (PROT_NONE), not writable for a writable pin, an I/O or PFN
 * mapping (VM_IO/VM_PFNMAP), or secret memory. softiommu's DMA reaches memory through this
 * process's own page tables, so a pin has nothing to fault in: pinning checks those VMA
 * properties and leaves the pages to be faulted in by the first access (sio_pin_eager()
 * restores the kernel's residency by populating after the check).
 *
 * The check costs one PROCMAP_QUERY ioctl on /proc/self/maps per VMA the range crosses
 * (Linux 6.11+); older kernels get the same answer from a parse of /proc/self/maps.
 * Permissions come with the VMA; VM_IO/VM_PFNMAP do not, so a VMA that can carry them (one
 * backed by a file or named by a driver, e.g. "[vvar]") is read one byte of with
 * process_vm_readv(), which the kernel refuses for exactly the mappings pin_user_pages()
 * refuses. Anonymous memory is never probed, so a lazy guest RAM stays unallocated.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/fs.h>

#include "../sio.h"

/* The kernel has no PROCMAP_QUERY (before Linux 6.11): parse /proc/self/maps instead */
#define NO_PROCMAP_QUERY (-EOPNOTSUPP)

/* One VMA, as much of it as a pin check needs */
struct user_vma {
	uint64_t start, end; /* end exclusive */
	bool readable, writable;
	bool may_be_io; /* file-backed or a special mapping: VM_IO/VM_PFNMAP possible */
};

/* The /proc/self/maps descriptor PROCMAP_QUERY goes to; reopened in a child after fork */
static pthread_mutex_t maps_fd_lock = PTHREAD_MUTEX_INITIALIZER;
static int maps_fd = -1;
static pid_t maps_fd_pid;
static bool procmap_query_missing;

bool sio_vma_query_force_fallback; /* tests: take the /proc/self/maps parse */

/* fork(): the child must find maps_fd_lock free, whatever another thread was doing */
void sio_vma_fork_prepare(void)
{
	pthread_mutex_lock(&maps_fd_lock);
}

void sio_vma_fork_release(void)
{
	pthread_mutex_unlock(&maps_fd_lock);
}

__attribute__((constructor)) static void maps_lock_class(void)
{
	sio_lockdep_set_class(&maps_fd_lock, SIO_LOCK_MAPS_FD);
}

/* A client's /proc/PID/maps (daemon mode), opened once per mm */
static int client_maps_fd_get(struct sio_mm *mm, bool reopen)
{
	char path[64];
	int fd;

	pthread_mutex_lock(&mm->maps_lock);
	fd = mm->maps_fd;
	if ((fd < 0 || reopen) && !sio_mm_maps_path(mm, path, sizeof(path))) {
		fd = (int)syscall(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			if (mm->maps_fd >= 0)
				syscall(SYS_close, mm->maps_fd);
			mm->maps_fd = fd;
		}
	}
	pthread_mutex_unlock(&mm->maps_lock);
	return fd < 0 ? NO_PROCMAP_QUERY : fd;
}

static int maps_fd_get(bool reopen)
{
	int fd;

	if (sio_mm_current_tls)
		return client_maps_fd_get(sio_mm_current_tls, reopen);
	pthread_mutex_lock(&maps_fd_lock);
	fd = maps_fd;
	if (fd < 0 || reopen || maps_fd_pid != sio_self_pid()) {
		/*
		 * A descriptor from before a fork answers for the parent's memory; one the program
		 * closed (closefrom) may now be its own file: never close it, take a new one.
		 */
		fd = (int)syscall(SYS_openat, AT_FDCWD, "/proc/self/maps", O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			maps_fd = fd;
			maps_fd_pid = sio_self_pid();
		}
	}
	pthread_mutex_unlock(&maps_fd_lock);
	return fd < 0 ? NO_PROCMAP_QUERY : fd;
}

/* Anonymous memory (no file, or a name an anonymous VMA can carry) is never VM_IO */
static bool anon_name(const char *name)
{
	return !name[0] || !strcmp(name, "[heap]") || !strncmp(name, "[stack", 6) ||
	       !strncmp(name, "[anon:", 6) || !strncmp(name, "[anon_shmem:", 12);
}

/*
 * The VMA covering @addr, or the next one above it; -ENOENT: none; NO_PROCMAP_QUERY: this
 * kernel cannot answer
 */
static int vma_query(uint64_t addr, struct user_vma *vma)
{
	char name[256];
	struct procmap_query q = {
		.size = sizeof(q),
		.query_flags = PROCMAP_QUERY_COVERING_OR_NEXT_VMA,
		.query_addr = addr,
		.vma_name_size = sizeof(name),
		.vma_name_addr = (uintptr_t)name,
	};
	bool reopened = false;
	int fd;

	if (__atomic_load_n(&procmap_query_missing, __ATOMIC_RELAXED) ||
	    sio_vma_query_force_fallback)
		return NO_PROCMAP_QUERY;
	fd = maps_fd_get(false);
	name[0] = 0;
	while (fd >= 0 && syscall(SYS_ioctl, fd, PROCMAP_QUERY, &q)) {
		if (errno == ENOENT)
			return -ENOENT;
		if (errno == E2BIG) { /* a long file name: file-backed anyway */
			q.vma_name_size = 0;
			q.vma_name_addr = 0;
			name[0] = '/';
			continue;
		}
		if (reopened || (errno != EBADF && errno != ENOTTY && errno != EINVAL)) {
			if (errno == ENOTTY || errno == EINVAL)
				__atomic_store_n(&procmap_query_missing, true, __ATOMIC_RELAXED);
			return NO_PROCMAP_QUERY;
		}
		/* Our descriptor was closed behind us, or the number is someone else's now */
		reopened = true;
		fd = maps_fd_get(true);
	}
	if (fd < 0)
		return NO_PROCMAP_QUERY;
	if (q.vma_name_size == 0 && name[0] != '/')
		name[0] = 0;
	*vma = (struct user_vma){
		.start = q.vma_start, .end = q.vma_end,
		.readable = q.vma_flags & PROCMAP_QUERY_VMA_READABLE,
		.writable = q.vma_flags & PROCMAP_QUERY_VMA_WRITABLE,
		.may_be_io = q.inode || !anon_name(name),
	};
	return 0;
}

/* The same answer from the text of /proc/self/maps (kernels before 6.11) */
static int vma_query_text(uint64_t addr, struct user_vma *vma)
{
	char line[512], path[64];
	int rc = -ENOENT;
	FILE *fp;
	int fd;

	if (sio_mm_maps_path(sio_current_mm(), path, sizeof(path)))
		return -EFAULT;
	fd = (int)syscall(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -EFAULT;
	fp = fdopen(fd, "re");
	if (!fp) {
		syscall(SYS_close, fd);
		return -ENOMEM;
	}
	while (fgets(line, sizeof(line), fp)) {
		unsigned long long s, e, off, ino;
		char perms[8], name[256] = "";
		unsigned int maj, mnr;

		if (sscanf(line, "%llx-%llx %7s %llx %x:%x %llu %255s", &s, &e, perms, &off, &maj,
			   &mnr, &ino, name) < 7)
			continue;
		if (e <= addr)
			continue;
		*vma = (struct user_vma){
			.start = s, .end = e,
			.readable = perms[0] == 'r', .writable = perms[1] == 'w',
			.may_be_io = ino || !anon_name(name),
		};
		rc = 0;
		break;
	}
	fclose(fp);
	return rc;
}

/*
 * VM_IO/VM_PFNMAP (and secret memory): process_vm_readv() pins through the same
 * check_vma_flags() as pin_user_pages(), so reading one byte is refused for exactly these.
 */
static int vma_probe_io(uint64_t addr)
{
	char b;

	return sio_copy_from_user_gup(&b, addr, 1) ? -EFAULT : 0;
}

/**
 * sio_user_vma_next() - the VMA covering @addr, or the first above it
 * @start, @end: out, its range (@end exclusive)
 *
 * Return: 0, -ENOENT when there is none, or another -errno.
 */
int sio_user_vma_next(uint64_t addr, uint64_t *start, uint64_t *end)
{
	struct user_vma vma;
	int rc = vma_query(addr, &vma);

	if (rc == NO_PROCMAP_QUERY)
		rc = vma_query_text(addr, &vma);
	if (rc)
		return rc;
	*start = vma.start;
	*end = vma.end;
	return 0;
}

/*
 * A read pin of write-only memory: GUP-fast pins pages whose page table entries let the CPU
 * read them, and a present write-only page is readable on x86; only a page it must fault in
 * reaches the VMA check, which refuses a read of a VMA without VM_READ (EFAULT). So the pin
 * works exactly when every page is resident. Asked of this process with mincore(); another
 * process's residency (daemon mode) is not known: the VMA check's answer.
 */
static int resident(uint64_t start, uint64_t end)
{
	unsigned char vec[64];

	if (!sio_mm_is_self(sio_current_mm()))
		return -EFAULT;
	while (start < end) {
		size_t n = min_t(uint64_t, (end - start) / SIO_PAGE_SIZE, sizeof(vec));

		if (mincore((void *)(uintptr_t)start, n * SIO_PAGE_SIZE, vec))
			return -EFAULT;
		for (size_t i = 0; i != n; i++)
			if (!(vec[i] & 1))
				return -EFAULT;
		start += n * SIO_PAGE_SIZE;
	}
	return 0;
}

/**
 * sio_user_range_check() - whether [@uaddr, @uaddr + @len) could be pinned as Linux pins it
 * @write: the pin is for writing (FOLL_WRITE)
 *
 * Touches no page of anonymous memory. Return: 0, or -EFAULT when Linux's pin_user_pages()
 * would fail (a hole, a VMA without the access, an I/O mapping), -EOVERFLOW when its page
 * count wraps past the top of the address space, -ENOMEM when the kernel could not be asked.
 */
int sio_user_range_check(uint64_t uaddr, size_t len, bool write)
{
	uint64_t cur = ALIGN_DOWN(uaddr, SIO_PAGE_SIZE), end;
	bool text = false;

	if (!len)
		return 0;
	/*
	 * A range reaching the top of the address space: Linux's GUP rounds the start down and
	 * refuses a page count whose end wraps (EOVERFLOW) before it looks for a VMA. iommufd
	 * pins a domain's pages in batches of at most SIO_PIN_BATCH pages, so a longer range
	 * fails at its first batch instead, on the hole kernel space is to user space.
	 */
	if (check_add_overflow(uaddr, len, &end) || end > UINT64_MAX - SIO_PAGE_SIZE + 1) {
		if ((0 - cur) / SIO_PAGE_SIZE <= SIO_PIN_BATCH)
			return -EOVERFLOW;
		end = 0 - SIO_PAGE_SIZE; /* the walk stops at the first hole */
	}
	end = ALIGN_UP(end, SIO_PAGE_SIZE);
	while (cur < end) {
		struct user_vma vma;
		int rc = text ? NO_PROCMAP_QUERY : vma_query(cur, &vma);

		if (rc == NO_PROCMAP_QUERY) {
			text = true;
			rc = vma_query_text(cur, &vma);
		}
		if (rc == -ENOENT || (!rc && vma.start > cur))
			return -EFAULT; /* a hole */
		if (rc)
			return rc;
		if (write ? !vma.writable : !vma.readable) {
			rc = write || !vma.writable ? -EFAULT :
			     resident(cur, min_t(uint64_t, vma.end, end));
			if (rc)
				return rc;
		}
		if (vma.may_be_io) {
			/* The last page too: a file mapping can run past the end of its file */
			rc = vma_probe_io(cur);
			if (!rc)
				rc = vma_probe_io(min_t(uint64_t, vma.end, end) - SIO_PAGE_SIZE);
			if (rc)
				return rc;
		}
		cur = vma.end;
	}
	return 0;
}

/* SOFTIOMMU_PIN=eager: pinning faults pages in, as the kernel's does */
static bool pin_eager;
static pthread_once_t pin_mode_once = PTHREAD_ONCE_INIT;

static void pin_mode_init(void)
{
	const char *mode = getenv("SOFTIOMMU_PIN");

	pin_eager = mode && !strcmp(mode, "eager");
}

/**
 * sio_pin_eager() - whether pinning makes the pages resident (SOFTIOMMU_PIN=eager)
 *
 * The default checks the mappings only, and pages are faulted in by the first DMA or access.
 */
bool sio_pin_eager(void)
{
	pthread_once(&pin_mode_once, pin_mode_init);
	return pin_eager;
}
