/* SPDX-License-Identifier: MIT */
/*
 * uffd.c: a userfaultfd watch on pinned user memory, so that what the shim cannot see (a raw
 * munmap/madvise/mremap system call, libc's own calls, a program using the library without
 * the shim) still reaches keep.c. docs/memory-model.md has the outcomes.
 */
#ifndef SIO_CORE_UFFD_H
#define SIO_CORE_UFFD_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

/*
 * Non-zero while the watch handles a change of pinned memory: a DMA must not start a copy
 * (the DMA path checks it inside its read-side section, then waits outside every lock with
 * sio_uffd_thaw_wait() and resumes).
 */
extern atomic_int sio_uffd_freeze;

/*
 * Bumped each time the watch reads events; a pages object records it when made, and an
 * event read in epoch E concerns only pages objects made before (epoch < E)
 */
extern atomic_uint_least64_t sio_uffd_epoch;

static inline bool sio_uffd_frozen(void)
{
	return atomic_load(&sio_uffd_freeze) != 0;
}

/** sio_uffd_thaw_wait() - wait until the watch has handled the change it froze DMA for */
void sio_uffd_thaw_wait(void);

/**
 * sio_uffd_watch() - watch [@addr, @addr + @len) of this process (pinned user memory):
 * its VMAs that userfaultfd takes (anonymous, shmem, hugetlbfs) report being unmapped,
 * discarded or moved. Best effort: a VMA it cannot watch (a file on disk, one another
 * userfaultfd watches) is left as it is; SOFTIOMMU_UFFD=0 turns the watch off.
 */
void sio_uffd_watch(uint64_t addr, uint64_t len);

/** sio_uffd_unwatch() - stop watching [@addr, @addr + @len) (keep.c moves the pages itself) */
void sio_uffd_unwatch(uint64_t addr, uint64_t len);

/** sio_uffd_vacate() - the program wants number @fd: move the watch's descriptor (file.c) */
int sio_uffd_vacate(int fd);

/* fork.c */
void sio_uffd_fork_prepare(void);
void sio_uffd_fork_parent(void);
void sio_uffd_fork_child(void);

#endif
