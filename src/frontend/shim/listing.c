// SPDX-License-Identifier: MIT
/*
 * listing.c — listing the directories softiommu synthesises, /dev/vfio and
 * /dev/vfio/devices, as a kernel with those devices lists them: opendir/fdopendir, readdir,
 * readdir64, rewinddir, telldir/seekdir, dirfd, closedir, scandir/scandir64, and getdents64
 * on a descriptor open() gave for such a directory.
 *
 * What a listing shows: ".", "..", then in /dev/vfio "devices" (a directory), in
 * /dev/vfio/devices "vfio0".."vfioN-1" (character devices), with the inode numbers stat()
 * gives those paths (paths.c). Only iommufd's cdev nodes exist: no /dev/vfio/vfio container
 * node and no group nodes, as on a kernel built without CONFIG_VFIO_GROUP. The sysfs-like
 * tree is a real directory in the run directory, listed by libc itself.
 *
 * A listed directory is a descriptor of its own: a memfd (so that the number is a real open
 * file whose identity, dev and inode, no other file shares), recorded in a small table by that
 * identity, so that its dups (fts makes them) are the same directory at the same position;
 * fstat of it shows the directory (shim_listing_fstat), and *at() calls relative to it are
 * resolved against the directory's path (shim_listing_dir_path, used by paths.c). A record
 * is reclaimed once no descriptor of the process holds its memfd (a /proc/self/fd scan, at
 * closedir and when the table is full). A stream is a struct of ours handed out as a DIR *,
 * recognised by its address in a second table; every other DIR * goes to libc untouched,
 * after one atomic load when none of ours is open. While a record exists, *at() calls with a
 * descriptor and fstat of a regular file pay one table scan (and the former one fstat).
 * Streams, like libc's, are not for concurrent use by two threads; the tables are.
 */
#undef _FORTIFY_SOURCE
#undef _FILE_OFFSET_BITS
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "../vfio/vfio.h"
#include "shim.h"

_Static_assert(sizeof(struct dirent) == sizeof(struct dirent64), "dirent64 is dirent on 64-bit");

#define LIST_SLOTS 64

/* An open listing descriptor: its number, identity, which directory and the position */
struct list_fd {
	_Atomic int fd; /* -1: free */
	dev_t dev;
	ino_t ino;
	int kind;
	unsigned long pos;
};

/* A stream (DIR *) of ours over one listing descriptor, @fd (closedir closes it) */
struct list_dir {
	struct list_fd *lf;
	int fd;
	struct dirent64 ent;
};

static struct list_fd fds[LIST_SLOTS] = { [0 ... LIST_SLOTS - 1] = { .fd = -1 } };
static struct list_dir *_Atomic dirs[LIST_SLOTS];
static atomic_int open_dirs; /* streams of ours open: 0 lets every readdir pass at once */
static atomic_int used_fds; /* records in use (stale ones until found): 0 skips the scan */

typedef DIR *(*fdopendir_fn)(int);
SHIM_REAL_FN(fdopendir, fdopendir_fn)
SHIM_REAL_FN(readdir, struct dirent *(*)(DIR *))
SHIM_REAL_FN(readdir64, struct dirent64 *(*)(DIR *))
SHIM_REAL_FN(closedir, int (*)(DIR *))
SHIM_REAL_FN(rewinddir, void (*)(DIR *))
SHIM_REAL_FN(telldir, long (*)(DIR *))
SHIM_REAL_FN(seekdir, void (*)(DIR *, long))
SHIM_REAL_FN(dirfd, int (*)(DIR *))
SHIM_REAL_FN(getdents64, ssize_t (*)(int, void *, size_t))
SHIM_REAL_FN(fstat, int (*)(int, struct stat *))

/* ---- what a directory holds ---- */

/*
 * Entry @pos of directory @kind: false past the end. The inode numbers are node_stat()'s in
 * paths.c: /dev/vfio 101, /dev/vfio/devices 102, vfioN 200 + N; ".." of /dev/vfio is /dev.
 */
static bool dir_entry(int kind, unsigned long pos, char *name, size_t size, ino_t *ino,
		      unsigned char *type)
{
	struct stat st;

	*type = DT_DIR;
	if (pos == 0) {
		snprintf(name, size, ".");
		*ino = kind == SHIM_DIR_VFIO ? 101 : 102;
	} else if (pos == 1) {
		snprintf(name, size, "..");
		*ino = kind == SHIM_DIR_VFIO ? (fstatat(AT_FDCWD, "/dev", &st, 0) ? 1 : st.st_ino)
					     : 101;
	} else if (kind == SHIM_DIR_VFIO) {
		if (pos > 2)
			return false;
		snprintf(name, size, "devices");
		*ino = 102;
	} else {
		if (pos - 2 >= sio_vfio_count())
			return false;
		snprintf(name, size, "vfio%lu", pos - 2);
		*ino = 200 + (pos - 2);
		*type = DT_CHR;
	}
	return true;
}

static void fill_dirent(struct dirent64 *d, int kind, unsigned long pos, bool *ok)
{
	ino_t ino = 0;
	unsigned char type = DT_UNKNOWN;

	*ok = dir_entry(kind, pos, d->d_name, sizeof(d->d_name), &ino, &type);
	d->d_ino = ino;
	d->d_type = type;
	d->d_off = (off_t)pos + 1;
	d->d_reclen = (unsigned short)((offsetof(struct dirent64, d_name) + strlen(d->d_name) +
					1 + 7) & ~7ul);
}

/* ---- listing descriptors ---- */

static bool fd_identity(int fd, dev_t *dev, ino_t *ino)
{
	struct stat st;

	if (real_fstat()(fd, &st))
		return false;
	*dev = st.st_dev;
	*ino = st.st_ino;
	return true;
}

/* The record whose memfd is the file (@dev, @ino), or NULL; @fd, a number of it, becomes the
 * record's hint (a dup the program made, as fts does, finds the same directory and position) */
static struct list_fd *list_fd_match(int fd, dev_t dev, ino_t ino)
{
	for (int i = 0; i < LIST_SLOTS; i++) {
		struct list_fd *lf = &fds[i];
		int at = atomic_load_explicit(&lf->fd, memory_order_acquire);

		if (at < 0 || lf->dev != dev || lf->ino != ino)
			continue;
		if (at != fd)
			atomic_compare_exchange_strong(&lf->fd, &at, fd);
		return lf;
	}
	return NULL;
}

/* The listing record @fd is a descriptor of, or NULL: one fstat while any record exists */
static struct list_fd *list_fd_find(int fd)
{
	dev_t dev;
	ino_t ino;

	if (fd < 0 || !atomic_load_explicit(&used_fds, memory_order_acquire) ||
	    !fd_identity(fd, &dev, &ino))
		return NULL;
	return list_fd_match(fd, dev, ino);
}

/* Records whose memfd no descriptor of the process holds any more (closed with close()) */
static void list_fd_reclaim(void)
{
	bool live[LIST_SLOTS] = { false };
	int snap[LIST_SLOTS];
	struct dirent64 *e;
	DIR *d;

	/* only records in use before the scan: one published meanwhile is not looked for */
	for (int i = 0; i < LIST_SLOTS; i++)
		snap[i] = atomic_load(&fds[i].fd);

	shim_enter(); /* the real /proc/self/fd, by libc */
	d = opendir("/proc/self/fd");
	while (d && (e = readdir64(d))) {
		dev_t dev;
		ino_t ino;
		int fd = atoi(e->d_name);

		if (e->d_name[0] == '.' || fd == dirfd(d) || !fd_identity(fd, &dev, &ino))
			continue;
		for (int i = 0; i < LIST_SLOTS; i++)
			if (snap[i] >= 0 && fds[i].dev == dev && fds[i].ino == ino)
				live[i] = true;
	}
	if (d)
		closedir(d);
	shim_leave();
	for (int i = 0; i < LIST_SLOTS; i++)
		if (snap[i] >= 0 && !live[i] && atomic_compare_exchange_strong(&fds[i].fd, &snap[i], -1))
			atomic_fetch_sub(&used_fds, 1);
}

/**
 * shim_listing_dir_path() - the directory a listing descriptor stands for
 * Return: "/dev/vfio" or "/dev/vfio/devices" when @dirfd is one, else NULL.
 */
const char *shim_listing_dir_path(int dirfd)
{
	struct list_fd *lf;

	if (!atomic_load_explicit(&used_fds, memory_order_acquire))
		return NULL;
	lf = list_fd_find(dirfd);
	if (!lf)
		return NULL;
	return lf->kind == SHIM_DIR_VFIO ? "/dev/vfio" : "/dev/vfio/devices";
}

/**
 * shim_listing_open() - open() of a synthesised directory (read-only)
 * @kind: SHIM_DIR_VFIO or SHIM_DIR_VFIO_DEVICES
 * @flags: open flags (O_CLOEXEC is kept)
 * Return: a descriptor, or -errno (-EMFILE when the table is full).
 */
int shim_listing_open(int kind, int flags)
{
	int fd = memfd_create("softiommu-dir", (flags & O_CLOEXEC) ? MFD_CLOEXEC : 0);

	if (fd < 0)
		return -errno;
	for (int tries = 0; tries < 2; tries++) {
		for (int i = 0; i < LIST_SLOTS; i++) {
			struct list_fd *lf = &fds[i];
			int expect = -1;

			/* claim with a number no descriptor has, fill, then publish */
			if (!atomic_compare_exchange_strong(&lf->fd, &expect, -2))
				continue;
			if (!fd_identity(fd, &lf->dev, &lf->ino)) {
				atomic_store(&lf->fd, -1);
				close(fd);
				return -EMFILE;
			}
			lf->kind = kind;
			lf->pos = 0;
			atomic_fetch_add(&used_fds, 1);
			atomic_store_explicit(&lf->fd, fd, memory_order_release);
			return fd;
		}
		list_fd_reclaim(); /* full: drop the records closed behind us, once */
	}
	close(fd);
	return -EMFILE;
}

/**
 * shim_listing_fstat() - fstat() of a listing descriptor shows its directory
 * Return: true when @fd is one (@st rewritten), else false.
 */
bool shim_listing_fstat(int fd, struct stat *st)
{
	struct list_fd *lf = atomic_load_explicit(&used_fds, memory_order_acquire) && S_ISREG(st->st_mode)
				     ? list_fd_match(fd, st->st_dev, st->st_ino)
				     : NULL;

	if (!lf)
		return false;
	st->st_mode = S_IFDIR | 0755;
	st->st_ino = lf->kind == SHIM_DIR_VFIO ? 101 : 102;
	st->st_dev = makedev(0, 5);
	st->st_nlink = lf->kind == SHIM_DIR_VFIO ? 3 : 2;
	st->st_size = lf->kind == SHIM_DIR_VFIO ? 60 : 40 + 20 * sio_vfio_count();
	return true;
}

SHIM_EXPORT ssize_t getdents64(int fd, void *buf, size_t len)
{
	struct list_fd *lf = list_fd_find(fd);
	size_t used = 0;

	if (!lf)
		return real_getdents64()(fd, buf, len);
	for (;;) {
		struct dirent64 d;
		bool ok;

		fill_dirent(&d, lf->kind, lf->pos, &ok);
		if (!ok)
			break;
		if (used + d.d_reclen > len) {
			if (!used) {
				errno = EINVAL; /* as the kernel: the buffer holds no entry */
				return -1;
			}
			break;
		}
		memcpy((char *)buf + used, &d, d.d_reclen);
		used += d.d_reclen;
		lf->pos++;
	}
	return (ssize_t)used;
}

/* ---- streams ---- */

static struct list_dir *dir_of(DIR *d)
{
	if (!d || !atomic_load_explicit(&open_dirs, memory_order_acquire))
		return NULL;
	for (int i = 0; i < LIST_SLOTS; i++)
		if (atomic_load_explicit(&dirs[i], memory_order_acquire) == (struct list_dir *)d)
			return (struct list_dir *)d;
	return NULL;
}

/* A stream over descriptor @fd of listing record @lf, or NULL with errno */
static DIR *dir_new(struct list_fd *lf, int fd)
{
	struct list_dir *ld = calloc(1, sizeof(*ld));

	if (!ld) {
		errno = ENOMEM;
		return NULL;
	}
	ld->lf = lf;
	ld->fd = fd;
	for (int i = 0; i < LIST_SLOTS; i++) {
		struct list_dir *expect = NULL;

		if (atomic_compare_exchange_strong(&dirs[i], &expect, ld)) {
			atomic_fetch_add(&open_dirs, 1);
			return (DIR *)ld;
		}
	}
	free(ld);
	errno = EMFILE;
	return NULL;
}

/**
 * shim_listing_opendir() - opendir() of a path paths.c says is a synthesised directory
 * @kind: shim_dir_kind() of the path, not 0 (-errno: that error)
 * Return: the stream, or NULL with errno set.
 */
DIR *shim_listing_opendir(int kind)
{
	int fd = kind < 0 ? kind : shim_listing_open(kind, O_CLOEXEC);
	DIR *d;

	if (fd < 0) {
		errno = -fd;
		return NULL;
	}
	d = dir_new(list_fd_find(fd), fd);
	if (!d)
		close(fd); /* the record is reclaimed once no descriptor holds its memfd */
	return d;
}

SHIM_EXPORT DIR *fdopendir(int fd)
{
	struct list_fd *lf = list_fd_find(fd);

	return lf ? dir_new(lf, fd) : real_fdopendir()(fd);
}

static struct dirent64 *dir_read(struct list_dir *ld)
{
	bool ok;

	fill_dirent(&ld->ent, ld->lf->kind, ld->lf->pos, &ok);
	if (!ok)
		return NULL; /* the end: errno untouched */
	ld->lf->pos++;
	return &ld->ent;
}

SHIM_EXPORT struct dirent *readdir(DIR *d)
{
	struct list_dir *ld = dir_of(d);

	return ld ? (struct dirent *)dir_read(ld) : real_readdir()(d);
}

SHIM_EXPORT struct dirent64 *readdir64(DIR *d)
{
	struct list_dir *ld = dir_of(d);

	return ld ? dir_read(ld) : real_readdir64()(d);
}

SHIM_EXPORT void rewinddir(DIR *d)
{
	struct list_dir *ld = dir_of(d);

	if (ld)
		ld->lf->pos = 0;
	else
		real_rewinddir()(d);
}

SHIM_EXPORT long telldir(DIR *d)
{
	struct list_dir *ld = dir_of(d);

	return ld ? (long)ld->lf->pos : real_telldir()(d);
}

SHIM_EXPORT void seekdir(DIR *d, long pos)
{
	struct list_dir *ld = dir_of(d);

	if (ld)
		ld->lf->pos = pos < 0 ? 0 : (unsigned long)pos;
	else
		real_seekdir()(d, pos);
}

SHIM_EXPORT int dirfd(DIR *d)
{
	struct list_dir *ld = dir_of(d);

	return ld ? ld->fd : real_dirfd()(d);
}

SHIM_EXPORT int closedir(DIR *d)
{
	struct list_dir *ld = dir_of(d);
	int rc;

	if (!ld)
		return real_closedir()(d);
	for (int i = 0; i < LIST_SLOTS; i++) {
		struct list_dir *expect = ld;

		if (atomic_compare_exchange_strong(&dirs[i], &expect, NULL))
			atomic_fetch_sub(&open_dirs, 1);
	}
	rc = close(ld->fd);
	free(ld);
	/* the record goes once no descriptor holds its memfd (a dup may still) */
	list_fd_reclaim();
	return rc;
}

/* ---- scandir ---- */

typedef int (*filter_fn)(const struct dirent *);
typedef int (*compar_fn)(const struct dirent **, const struct dirent **);
typedef int (*filter64_fn)(const struct dirent64 *);
typedef int (*compar64_fn)(const struct dirent64 **, const struct dirent64 **);

/* The caller's callbacks, for scandir or scandir64 (one of each pair is set) */
struct scan_cb {
	filter_fn filter;
	filter64_fn filter64;
	compar_fn compar;
	compar64_fn compar64;
};

static __thread const struct scan_cb *scan_sorting;

static int scan_cmp(const void *a, const void *b)
{
	const struct scan_cb *cb = scan_sorting;
	void *pa = (void *)(uintptr_t)a, *pb = (void *)(uintptr_t)b; /* elements: dirent64 * */

	return cb->compar ? cb->compar(pa, pb) : cb->compar64(pa, pb);
}

static bool scan_keep(const struct scan_cb *cb, const struct dirent64 *d)
{
	if (cb->filter)
		return cb->filter((const struct dirent *)d);
	return !cb->filter64 || cb->filter64(d);
}

static int list_scandir(int kind, struct dirent64 ***out, const struct scan_cb *cb)
{
	struct dirent64 **v = NULL;
	size_t n = 0;

	for (unsigned long pos = 0;; pos++) {
		struct dirent64 d, **grown, *copy;
		bool ok;

		fill_dirent(&d, kind, pos, &ok);
		if (!ok)
			break;
		if (!scan_keep(cb, &d))
			continue;
		copy = malloc(sizeof(*copy));
		grown = copy ? realloc(v, (n + 1) * sizeof(*v)) : NULL;
		if (!grown) {
			free(copy);
			while (n)
				free(v[--n]);
			free(v);
			errno = ENOMEM;
			return -1;
		}
		v = grown;
		memcpy(copy, &d, sizeof(*copy));
		v[n++] = copy;
	}
	if ((cb->compar || cb->compar64) && n > 1) {
		scan_sorting = cb;
		qsort(v, n, sizeof(*v), scan_cmp);
		scan_sorting = NULL;
	}
	*out = v;
	return (int)n;
}

SHIM_REAL_FN(scandir, int (*)(const char *, struct dirent ***, filter_fn, compar_fn))
SHIM_REAL_FN(scandir64, int (*)(const char *, struct dirent64 ***, filter64_fn, compar64_fn))

SHIM_EXPORT int scandir(const char *path, struct dirent ***out, filter_fn filter,
			compar_fn compar)
{
	struct scan_cb cb = { .filter = filter, .compar = compar };
	int kind = shim_dir_kind(path);

	if (kind < 0) {
		errno = -kind;
		return -1;
	}
	return kind ? list_scandir(kind, (struct dirent64 ***)out, &cb)
		    : real_scandir()(path, out, filter, compar);
}

SHIM_EXPORT int scandir64(const char *path, struct dirent64 ***out, filter64_fn filter,
			  compar64_fn compar)
{
	struct scan_cb cb = { .filter64 = filter, .compar64 = compar };
	int kind = shim_dir_kind(path);

	if (kind < 0) {
		errno = -kind;
		return -1;
	}
	return kind ? list_scandir(kind, out, &cb) : real_scandir64()(path, out, filter, compar);
}
