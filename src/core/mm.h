/* SPDX-License-Identifier: MIT */
/*
 * mm.h — the process whose memory an operation touches, as the kernel's struct mm_struct.
 *
 * In-process (the shim, the C library) that process is always this one: sio_mm_self, reached
 * with the fast fault-safe copy (safecopy.c). In daemon mode (src/frontend/daemon/) a request
 * acts for the client that sent it: a struct sio_mm naming that client by pid and pidfd, whose
 * memory is read and written with process_vm_readv/writev and whose VMAs are asked of
 * /proc/PID/maps. A client that has exited is -EFAULT, never another process's memory.
 *
 * The copy layer (uaccess.c) acts for the thread's current mm: NULL, the common case, is this
 * process, so the in-process fast path is one thread-local load more than before. The daemon
 * sets a request's mm for the request's duration with sio_mm_use(); objects that outlive the
 * request (backing pages) hold a reference on the mm they were made for.
 */
#ifndef SIO_MM_H
#define SIO_MM_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct iovec;

/**
 * struct sio_mm - one process's address space
 * @refs: references; sio_mm_self is static and never freed
 * @pid: the process (0 for sio_mm_self: see sio_mm_pid())
 * @pidfd: a pidfd of @pid, which tells whether the process that had the pid still exists
 * @maps_lock: protects @maps_fd, the /proc/PID/maps descriptor of the pin check (user_vma.c)
 * @pinned_vm, @locked_vm: a client's VmPin/VmLck in pages, as its mm_struct counts them
 *         (sio_mm_self's are sio_account's, pages.c)
 */
struct sio_mm {
	struct sio_mm *next; /* in the list of clients' mms (mm.c) */
	atomic_long pinned_vm, locked_vm;
	atomic_int refs;
	pid_t pid;
	int pidfd;
	pthread_mutex_t maps_lock;
	int maps_fd;
	uint32_t *wins; /* the physical-address windows of this client's memory (mm_pa.c) */
	unsigned int nwins, wins_cap;
};

extern struct sio_mm sio_mm_self;

/* The mm this thread's copies act for; NULL is this process */
extern __thread struct sio_mm *sio_mm_current_tls __attribute__((tls_model("initial-exec")));

static inline struct sio_mm *sio_current_mm(void)
{
	struct sio_mm *mm = sio_mm_current_tls;

	return mm ? mm : &sio_mm_self;
}

static inline bool sio_mm_is_self(const struct sio_mm *mm)
{
	return mm == &sio_mm_self;
}

/*
 * A client's 4 bytes at @addr read as @val by this thread's copies from that client, while
 * @on (daemon mode: a descriptor number in an ioctl argument, given in the daemon's terms)
 */
struct sio_mm_patch {
	bool on;
	uint64_t addr;
	uint32_t val;
};
extern __thread struct sio_mm_patch sio_mm_patch_tls __attribute__((tls_model("initial-exec")));

/* Act for @mm (NULL or &sio_mm_self: this process) until sio_mm_unuse(); returns the old */
static inline struct sio_mm *sio_mm_use(struct sio_mm *mm)
{
	struct sio_mm *old = sio_mm_current_tls;

	sio_mm_current_tls = mm && !sio_mm_is_self(mm) ? mm : NULL;
	return old;
}

static inline void sio_mm_unuse(struct sio_mm *old)
{
	sio_mm_current_tls = old;
}

struct sio_mm *sio_mm_open_pid(pid_t pid, int *rc);
struct sio_mm *sio_mm_get(struct sio_mm *mm);
void sio_mm_put(struct sio_mm *mm);
pid_t sio_mm_pid(const struct sio_mm *mm);
bool sio_mm_alive(const struct sio_mm *mm);
int sio_mm_copy(struct sio_mm *mm, void *local, uint64_t remote, size_t len, bool write);
size_t sio_mm_copy_sg(struct sio_mm *mm, void *local, size_t len, const struct iovec *remote,
		      unsigned int nr, bool write);
void sio_mm_account_pid(pid_t pid, unsigned long *pinned, unsigned long *locked);
int sio_mm_fd_get(int fd, bool *owned);
void sio_mm_fd_put(int local, bool owned);
int sio_mm_maps_path(const struct sio_mm *mm, char *buf, size_t len);
extern atomic_long sio_mm_live;

/*
 * mm_pa.c: a domain's physical address names its process. Without SIO_PA_CLIENT it is an
 * address of ours (in-process: always); with it, a window of a client's memory.
 */
#define SIO_PA_CLIENT (1ULL << 47)
int sio_mm_addr_pa(struct sio_mm *mm, uint64_t addr, uint64_t *pa, uint64_t *contig);
struct sio_mm *sio_pa_decode(uint64_t pa, uint64_t *addr, uint64_t *contig);
void sio_mm_pa_release(struct sio_mm *mm);
unsigned long sio_mm_windows_live(void);
unsigned int sio_mm_pa_repoint_pid(pid_t pid);
struct sio_domain;
struct iopt_pages;
int iopt_pages_dma_pa(struct iopt_pages *pages, uint64_t byte, uint64_t *pa);
int sio_domain_map_mm(struct sio_domain *domain, uint64_t iova, struct sio_mm *mm,
		      uint64_t addr, uint64_t len, unsigned int prot, uint64_t pgsizes);
/* uaccess.c: copies at physical addresses, each in the process it names */
size_t sio_copy_pa_sg(void *local, size_t len, const struct iovec *pa, unsigned int nr,
		      bool write);
int sio_copy_pa(void *local, uint64_t pa, size_t len, bool write);

#endif
