/* SPDX-License-Identifier: MIT */
/*
 * lockdep.h — the lock order, written once and checked in debug builds.
 *
 * Every lock softiommu takes has a class below; the enum's order IS the lock order: a thread
 * may take a lock only while every lock it already holds has a lower class (the same class
 * nests only where noted). Built with SIO_LOCKDEP (CMake SOFTIOMMU_LOCKDEP, on in the
 * sanitizer builds), every pthread lock call in the core, the drivers and the DMA path is
 * checked against it, and a violation aborts with both locks named; sio_lockdep_assert_held()
 * checks a function's "caller holds" contract. Without SIO_LOCKDEP all of it compiles away.
 */
#ifndef SIO_LOCKDEP_H
#define SIO_LOCKDEP_H

#include <pthread.h>

enum sio_lock_class {
	SIO_LOCK_NONE, /* not classified: tracked for assertions, not ordered */
	SIO_LOCK_VFIO_DEVS,         /* devs_lock: the VFIO devices of the process */
	SIO_LOCK_VFIO_DEV,          /* a VFIO device's lock: its descriptor, config space, IRQs */
	SIO_LOCK_DEV_API,           /* softiommu_dev->attach_lock: the C API's attach/detach */
	SIO_LOCK_CTX_VFIO,          /* ctx->vfio_lock: the VFIO compat IOAS */
	SIO_LOCK_CTX_IOAS_CREATION, /* ctx->ioas_creation_lock (rw): IOAS_ALLOC vs CHANGE_PROCESS */
	SIO_LOCK_STACCESS,          /* staccess->lock: the selftest access's pinned items */
	SIO_LOCK_ACCESS_IOAS,       /* access->ioas_lock: which IOAS an access is on */
	SIO_LOCK_IOAS,              /* ioas->mutex: the IOAS's HWPT list, attach/detach */
	SIO_LOCK_IGROUP,            /* igroup->lock (rw): a group's attachment; DMA reads it */
	SIO_LOCK_IOMMU_GROUP,       /* group->mutex: the driver-level iommu group */
	SIO_LOCK_MOCK_VIOMMU_RWSEM, /* mdev->viommu_rwsem (rw): a mock device's vIOMMU */
	SIO_LOCK_KEEP,              /* keep_lock: one change of the program's memory at a time */
	SIO_LOCK_IOPT,              /* iopt->lock: areas, domains, allowed/reserved ranges */
	SIO_LOCK_KEEP_RW,           /* sio_keep_rwlock (rw): pins (read) vs a memory change (write) */
	SIO_LOCK_DOMAIN_DMA,        /* domain->dma_lock (rw): DMA translating vs unmap */
	SIO_LOCK_DMABUF,            /* db->lock: a dmabuf's revocation */
	SIO_LOCK_PAGES_LIST,        /* pages_list_lock: every backing (pin counting, fork) */
	SIO_LOCK_PAGES,             /* pages->mutex: one backing's pins */
	SIO_LOCK_VIOMMU_VEVENTQS,   /* viommu->veventqs_rwsem (rw): a vIOMMU's vEVENTQs */
	SIO_LOCK_VIOMMU_VDEVS,      /* viommu->vdevs_lock: vDEVICEs, virtual ID lookups */
	SIO_LOCK_MOCK_HW_QUEUE,     /* mv->queue_mutex: the mock's HW queues */
	SIO_LOCK_FAULT,             /* fault->lock: a fault queue's records and responses */
	SIO_LOCK_VEVENTQ,           /* q->lock: a vEVENTQ's records */
	SIO_LOCK_CTX_OBJ,           /* ctx->obj_lock: the object table, users/shortterm */
	SIO_LOCK_FILE,              /* f->lock: a file's POLLIN state */
	SIO_LOCK_MAPS_FD,           /* maps_fd_lock: the pin check's /proc/self/maps descriptor */
	SIO_LOCK_NR
};

#ifdef SIO_LOCKDEP
void sio_lockdep_set_class(const void *lock, enum sio_lock_class cls);
void sio_lockdep_forget(const void *lock);
void sio_lockdep_acquire(const void *lock, const char *file, int line);
void sio_lockdep_acquired_try(const void *lock);
void sio_lockdep_release(const void *lock);
void sio_lockdep_assert_held_at(const void *lock, const char *file, int line);
#define sio_lockdep_assert_held(lock) sio_lockdep_assert_held_at(lock, __FILE__, __LINE__)

static inline int sio_lockdep_mutex_lock(pthread_mutex_t *m, const char *file, int line)
{
	sio_lockdep_acquire(m, file, line);
	return (pthread_mutex_lock)(m);
}

static inline int sio_lockdep_mutex_trylock(pthread_mutex_t *m)
{
	int rc = (pthread_mutex_trylock)(m);

	if (!rc)
		sio_lockdep_acquired_try(m);
	return rc;
}

static inline int sio_lockdep_mutex_unlock(pthread_mutex_t *m)
{
	sio_lockdep_release(m);
	return (pthread_mutex_unlock)(m);
}

static inline int sio_lockdep_rdlock(pthread_rwlock_t *l, const char *file, int line)
{
	sio_lockdep_acquire(l, file, line);
	return (pthread_rwlock_rdlock)(l);
}

static inline int sio_lockdep_wrlock(pthread_rwlock_t *l, const char *file, int line)
{
	sio_lockdep_acquire(l, file, line);
	return (pthread_rwlock_wrlock)(l);
}

static inline int sio_lockdep_trywrlock(pthread_rwlock_t *l)
{
	int rc = (pthread_rwlock_trywrlock)(l);

	if (!rc)
		sio_lockdep_acquired_try(l);
	return rc;
}

static inline int sio_lockdep_rwunlock(pthread_rwlock_t *l)
{
	sio_lockdep_release(l);
	return (pthread_rwlock_unlock)(l);
}

static inline int sio_lockdep_mutex_destroy(pthread_mutex_t *m)
{
	sio_lockdep_forget(m);
	return (pthread_mutex_destroy)(m);
}

static inline int sio_lockdep_rwlock_destroy(pthread_rwlock_t *l)
{
	sio_lockdep_forget(l);
	return (pthread_rwlock_destroy)(l);
}

#define pthread_mutex_lock(m) sio_lockdep_mutex_lock(m, __FILE__, __LINE__)
#define pthread_mutex_trylock(m) sio_lockdep_mutex_trylock(m)
#define pthread_mutex_unlock(m) sio_lockdep_mutex_unlock(m)
#define pthread_mutex_destroy(m) sio_lockdep_mutex_destroy(m)
#define pthread_rwlock_rdlock(l) sio_lockdep_rdlock(l, __FILE__, __LINE__)
#define pthread_rwlock_wrlock(l) sio_lockdep_wrlock(l, __FILE__, __LINE__)
#define pthread_rwlock_trywrlock(l) sio_lockdep_trywrlock(l)
#define pthread_rwlock_unlock(l) sio_lockdep_rwunlock(l)
#define pthread_rwlock_destroy(l) sio_lockdep_rwlock_destroy(l)
#else
#define sio_lockdep_set_class(lock, cls) do { (void)(lock); (void)(cls); } while (0)
#define sio_lockdep_assert_held(lock) ((void)(lock))
#endif

/* Initialise a lock of class @cls (the class matters only under SIO_LOCKDEP) */
static inline void sio_mutex_init(pthread_mutex_t *m, enum sio_lock_class cls)
{
	pthread_mutex_init(m, NULL);
	sio_lockdep_set_class(m, cls);
}

static inline void sio_rwlock_init(pthread_rwlock_t *l, enum sio_lock_class cls)
{
	pthread_rwlock_init(l, NULL);
	sio_lockdep_set_class(l, cls);
}

/* A rwlock whose waiting writers go before new readers: steady reads cannot starve them */
static inline void sio_rwlock_init_writer_first(pthread_rwlock_t *l, enum sio_lock_class cls)
{
	pthread_rwlockattr_t attr;

	pthread_rwlockattr_init(&attr);
	pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(l, &attr);
	pthread_rwlockattr_destroy(&attr);
	sio_lockdep_set_class(l, cls);
}

#endif
