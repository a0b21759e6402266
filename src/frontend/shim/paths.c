// SPDX-License-Identifier: MIT
/*
 * paths.c — path queries on the device nodes softiommu provides, answered as a kernel with
 * those devices answers them: /dev/iommu (the iommufd misc device) and, when the process has
 * emulated VFIO devices, /dev/vfio, /dev/vfio/devices and /dev/vfio/devices/vfioN.
 *
 * What it owns: access/faccessat/euidaccess, the stat family (stat, lstat, fstatat, statx,
 * glibc's __xstat compatibility entry points), realpath, readlink, getxattr/listxattr, the open of a VFIO node,
 * pread/pwrite on a VFIO device, open of the synthesised directories (listing.c lists them),
 * and fstat of softiommu's descriptors (an iommufd or VFIO
 * device descriptor is a character device there, with the st_rdev of its node). It also makes
 * the devices SOFTIOMMU_VFIO_DEVICES lists when the shim loads.
 *
 * Invariants:
 * - Only absolute paths under /dev are looked at (after removing "//", "." and ".."); every
 *   other call, and every call the core makes (shim_depth), goes to libc untouched.
 * - The directories are synthesised only when the real ones do not exist, so a host with
 *   real VFIO devices keeps its own /dev/vfio listing.
 * - fstat rewrites the type and st_rdev of a softiommu descriptor but keeps st_dev/st_ino:
 *   they are the descriptor's identity, which the core checks with this same fstat.
 */
#undef _FORTIFY_SOURCE
#undef _FILE_OFFSET_BITS
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "../../core/file.h"
#include "../vfio/vfio.h"
#include "shim.h"

_Static_assert(sizeof(struct stat) == sizeof(struct stat64), "stat64 is stat on 64-bit");

enum node_kind { NODE_NONE, NODE_IOMMU, NODE_VFIO_DIR, NODE_VFIO_DEVICES_DIR, NODE_VFIO_DEV };

struct node {
	enum node_kind kind;
	unsigned int index;
	bool trailing_slash;
};

/* Fortified entry points glibc declares only under _FORTIFY_SOURCE. */
char *__realpath_chk(const char *path, char *resolved, size_t resolvedlen);
ssize_t __readlink_chk(const char *path, char *buf, size_t len, size_t buflen);
ssize_t __readlinkat_chk(int dirfd, const char *path, char *buf, size_t len, size_t buflen);
int __xstat(int ver, const char *path, struct stat *st);
int __lxstat(int ver, const char *path, struct stat *st);
int __fxstat(int ver, int fd, struct stat *st);
int __fxstatat(int ver, int dirfd, const char *path, struct stat *st, int flags);

SHIM_REAL_FN(stat, int (*)(const char *, struct stat *))
SHIM_REAL_FN(stat64, int (*)(const char *, struct stat *))
SHIM_REAL_FN(lstat, int (*)(const char *, struct stat *))
SHIM_REAL_FN(lstat64, int (*)(const char *, struct stat *))
SHIM_REAL_FN(fstat, int (*)(int, struct stat *))
SHIM_REAL_FN(fstat64, int (*)(int, struct stat *))
SHIM_REAL_FN(fstatat, int (*)(int, const char *, struct stat *, int))
SHIM_REAL_FN(fstatat64, int (*)(int, const char *, struct stat *, int))
SHIM_REAL_FN(__xstat, int (*)(int, const char *, struct stat *))
SHIM_REAL_FN(__xstat64, int (*)(int, const char *, struct stat *))
SHIM_REAL_FN(__lxstat, int (*)(int, const char *, struct stat *))
SHIM_REAL_FN(__lxstat64, int (*)(int, const char *, struct stat *))
SHIM_REAL_FN(__fxstat, int (*)(int, int, struct stat *))
SHIM_REAL_FN(__fxstat64, int (*)(int, int, struct stat *))
SHIM_REAL_FN(__fxstatat, int (*)(int, int, const char *, struct stat *, int))
SHIM_REAL_FN(__fxstatat64, int (*)(int, int, const char *, struct stat *, int))
SHIM_REAL_FN(statx, int (*)(int, const char *, int, unsigned int, struct statx *))
SHIM_REAL_FN(access, int (*)(const char *, int))
SHIM_REAL_FN(faccessat, int (*)(int, const char *, int, int))
SHIM_REAL_FN(euidaccess, int (*)(const char *, int))
SHIM_REAL_FN(eaccess, int (*)(const char *, int))
SHIM_REAL_FN(realpath, char *(*)(const char *, char *))
SHIM_REAL_FN(__realpath_chk, char *(*)(const char *, char *, size_t))
SHIM_REAL_FN(canonicalize_file_name, char *(*)(const char *))
SHIM_REAL_FN(readlink, ssize_t (*)(const char *, char *, size_t))
SHIM_REAL_FN(readlinkat, ssize_t (*)(int, const char *, char *, size_t))
SHIM_REAL_FN(__readlink_chk, ssize_t (*)(const char *, char *, size_t, size_t))
SHIM_REAL_FN(__readlinkat_chk, ssize_t (*)(int, const char *, char *, size_t, size_t))

static struct timespec node_time; /* when the devices appeared: the shim's load */

__attribute__((constructor)) static void paths_init(void)
{
	int rc;

	clock_gettime(CLOCK_REALTIME, &node_time);
	shim_enter();
	rc = sio_vfio_create_from_env();
	if (rc < 0)
		fprintf(stderr, "softiommu: SOFTIOMMU_VFIO_DEVICES: %s\n", strerror(-rc));
	sio_vfio_handover_from_env(); /* reports its own errors */
	shim_leave();
}

/* ---- which node a path names ---- */

/* @in without "//", "." and ".." into @out; false when not absolute or too long */
static bool norm_path(const char *in, char *out, size_t size, bool *trailing)
{
	size_t len = 0;
	const char *p = in;

	*trailing = false;
	while (*p) {
		const char *s;
		size_t n;

		while (*p == '/')
			p++;
		if (!*p) {
			*trailing = p > in && len;
			break;
		}
		s = p;
		while (*p && *p != '/')
			p++;
		n = (size_t)(p - s);
		if (n == 1 && s[0] == '.')
			continue;
		if (n == 2 && s[0] == '.' && s[1] == '.') {
			while (len && out[len - 1] != '/')
				len--;
			if (len)
				len--;
			continue;
		}
		if (len + n + 2 > size)
			return false;
		out[len++] = '/';
		memcpy(out + len, s, n);
		len += n;
	}
	out[len] = '\0';
	return len > 0;
}

static bool real_exists(const char *path)
{
	struct stat st;

	return !real_lstat()(path, &st);
}

/* Whether @prefix (normalised, "" for the root) is a directory ".." may leave */
static bool walkable_dir(const char *prefix)
{
	struct stat st;

	if (!prefix[0] || !strcmp(prefix, "/dev/vfio") || !strcmp(prefix, "/dev/vfio/devices"))
		return true;
	return !real_lstat()(prefix, &st) && S_ISDIR(st.st_mode);
}

/*
 * Whether every ".." of the absolute @in follows a directory (ours, or a real one that is not
 * a symbolic link), so that removing it lexically is what the kernel's walk gives; else the
 * path is left to the host (which answers ENOENT below a synthesised directory).
 */
static bool dotdots_resolve(const char *in)
{
	char prefix[PATH_MAX];
	size_t len = 0;

	prefix[0] = '\0';
	while (*in) {
		const char *s;
		size_t n;

		while (*in == '/')
			in++;
		s = in;
		while (*in && *in != '/')
			in++;
		n = (size_t)(in - s);
		if (!n || (n == 1 && s[0] == '.'))
			continue;
		if (n == 2 && s[0] == '.' && s[1] == '.') {
			if (!walkable_dir(prefix))
				return false;
			while (len && prefix[len - 1] != '/')
				len--;
			if (len)
				len--;
			prefix[len] = '\0';
			continue;
		}
		if (len + n + 2 > sizeof(prefix))
			return false;
		prefix[len++] = '/';
		memcpy(prefix + len, s, n);
		len += n;
		prefix[len] = '\0';
	}
	return true;
}

/* Whether @path (absolute) names one of our nodes; the program's calls only */
static bool path_node(const char *path, struct node *n)
{
	char buf[64];
	const char *p = path;
	int index;

	if (shim_depth || !path || path[0] != '/')
		return false;
	while (*p == '/')
		p++;
	if (strncmp(p, "dev", 3) || !norm_path(path, buf, sizeof(buf), &n->trailing_slash))
		return false;
	if (strstr(path, "..") && !dotdots_resolve(path))
		return false; /* a ".." after a missing component: the host's ENOENT */
	n->kind = NODE_NONE;
	if (!strcmp(buf, "/dev/iommu")) {
		n->kind = NODE_IOMMU;
	} else if (!sio_vfio_count()) {
		return false;
	} else if (!strcmp(buf, "/dev/vfio")) {
		n->kind = real_exists(buf) ? NODE_NONE : NODE_VFIO_DIR;
	} else if (!strcmp(buf, "/dev/vfio/devices")) {
		n->kind = real_exists(buf) ? NODE_NONE : NODE_VFIO_DEVICES_DIR;
	} else if ((index = sio_vfio_path_index(buf)) >= 0) {
		n->kind = NODE_VFIO_DEV;
		n->index = (unsigned int)index;
	}
	return n->kind != NODE_NONE;
}

/**
 * shim_fix_path() - @path as the kernel resolves it through the synthesised directories
 * @dirfd: the *at() call's directory (AT_FDCWD for the plain calls)
 * @path: the program's path
 * @buf: room for the result
 * @size: its size
 *
 * A relative @path against a listing descriptor (listing.c) is taken from its directory, and a
 * path under a synthesised /dev/vfio is normalised ("/dev/vfio/.." is /dev, which the host
 * has): the result, in @buf, is what path_node() and libc are then given. Anything else,
 * an empty path (AT_EMPTY_PATH) and the core's own calls: @path itself.
 */
const char *shim_fix_path(int dirfd, const char *path, char *buf, size_t size)
{
	char joined[PATH_MAX];
	const char *dir, *in = path;
	bool trailing;
	size_t n;

	if (shim_depth || !path || !path[0] || !sio_vfio_count())
		return path;
	if (path[0] != '/') {
		if (dirfd == AT_FDCWD || !(dir = shim_listing_dir_path(dirfd)) ||
		    snprintf(joined, sizeof(joined), "%s/%s", dir, path) >= (int)sizeof(joined))
			return path;
		in = joined;
	} else {
		const char *p = path + strspn(path, "/");

		/* only paths through a synthesised /dev/vfio: "/dev/vfio" then "/" or the end */
		if (strncmp(p, "dev/vfio", 8) || (p[8] && p[8] != '/') || real_exists("/dev/vfio"))
			return path;
	}
	if (!dotdots_resolve(in) || !norm_path(in, buf, size - 1, &trailing))
		return path;
	n = strlen(buf);
	if (trailing) {
		buf[n] = '/';
		buf[n + 1] = '\0';
	}
	return buf;
}

static bool node_is_dir(const struct node *n)
{
	return n->kind == NODE_VFIO_DIR || n->kind == NODE_VFIO_DEVICES_DIR;
}

/**
 * shim_dir_kind() - whether @path names a directory softiommu synthesises (listing.c lists
 * it): SHIM_DIR_VFIO, SHIM_DIR_VFIO_DEVICES; -ENOTDIR for one of our device nodes (listing
 * /dev/iommu is ENOTDIR); 0 for anything else (and when the real directory exists)
 */
int shim_dir_kind(const char *path)
{
	struct node n;

	if (!path_node(path, &n))
		return 0;
	return n.kind == NODE_VFIO_DIR		  ? SHIM_DIR_VFIO
	       : n.kind == NODE_VFIO_DEVICES_DIR ? SHIM_DIR_VFIO_DEVICES
						  : -ENOTDIR;
}

/* -ENOTDIR for "/dev/iommu/", else 0 */
static int node_check(const struct node *n)
{
	return n->trailing_slash && !node_is_dir(n) ? -ENOTDIR : 0;
}

static void node_stat(const struct node *n, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_dev = makedev(0, 5); /* devtmpfs */
	st->st_nlink = 1;
	st->st_blksize = 4096;
	st->st_atim = st->st_mtim = st->st_ctim = node_time;
	switch (n->kind) {
	case NODE_IOMMU:
		st->st_ino = 100;
		st->st_mode = S_IFCHR | 0666;
		st->st_rdev = makedev(SVFIO_IOMMU_MAJOR, SVFIO_IOMMU_MINOR);
		break;
	case NODE_VFIO_DIR:
	case NODE_VFIO_DEVICES_DIR:
		st->st_ino = n->kind == NODE_VFIO_DIR ? 101 : 102;
		st->st_mode = S_IFDIR | 0755;
		st->st_nlink = 2 + (n->kind == NODE_VFIO_DIR);
		st->st_size = n->kind == NODE_VFIO_DIR ? 60 : 40 + 20 * sio_vfio_count();
		break;
	default: /* the user's own device, as an administrator hands one to a VMM */
		st->st_ino = 200 + n->index;
		st->st_mode = S_IFCHR | 0600;
		st->st_uid = getuid();
		st->st_gid = getgid();
		st->st_rdev = makedev(SVFIO_CDEV_MAJOR, n->index);
		break;
	}
}

static void node_statx(const struct node *n, struct statx *sx)
{
	struct stat st;

	node_stat(n, &st);
	memset(sx, 0, sizeof(*sx));
	sx->stx_mask = STATX_BASIC_STATS;
	sx->stx_blksize = (uint32_t)st.st_blksize;
	sx->stx_nlink = (uint32_t)st.st_nlink;
	sx->stx_uid = st.st_uid;
	sx->stx_gid = st.st_gid;
	sx->stx_mode = (uint16_t)st.st_mode;
	sx->stx_ino = st.st_ino;
	sx->stx_size = (uint64_t)st.st_size;
	sx->stx_atime.tv_sec = sx->stx_mtime.tv_sec = sx->stx_ctime.tv_sec = node_time.tv_sec;
	sx->stx_atime.tv_nsec = sx->stx_mtime.tv_nsec = sx->stx_ctime.tv_nsec =
		(uint32_t)node_time.tv_nsec;
	sx->stx_rdev_major = major(st.st_rdev);
	sx->stx_rdev_minor = minor(st.st_rdev);
	sx->stx_dev_major = major(st.st_dev);
	sx->stx_dev_minor = minor(st.st_dev);
}

static int fail(int err)
{
	errno = err;
	return -1;
}

/* ---- fstat of softiommu's descriptors ---- */

/* When @fd is an iommufd or VFIO device descriptor of ours, give @st its node's type */
static void fd_fixup(int fd, mode_t *mode, dev_t *rdev, dev_t dev, ino_t ino)
{
	struct sio_file *f;
	unsigned int index;

	if (!S_ISSOCK(*mode) || !shim_routed(fd))
		return;
	f = sio_file_get_unchecked(fd);
	if (!f)
		return;
	if (f->dev == dev && f->ino == ino) {
		if (!strcmp(f->ops->name, "iommufd")) {
			*mode = S_IFCHR | 0666;
			*rdev = makedev(SVFIO_IOMMU_MAJOR, SVFIO_IOMMU_MINOR);
		} else if (sio_vfio_file_index(f, &index)) {
			*mode = S_IFCHR | 0600;
			*rdev = makedev(SVFIO_CDEV_MAJOR, index);
		}
	}
	sio_file_put(f);
}

static int fstat_result(int rc, int fd, struct stat *st)
{
	if (!rc && shim_listing_fstat(fd, st))
		return 0;
	if (!rc)
		fd_fixup(fd, &st->st_mode, &st->st_rdev, st->st_dev, st->st_ino);
	return rc;
}

SHIM_EXPORT int fstat(int fd, struct stat *st)
{
	return fstat_result(real_fstat()(fd, st), fd, st);
}

SHIM_EXPORT int fstat64(int fd, struct stat64 *st64)
{
	struct stat *st = (struct stat *)st64; /* the same layout on 64-bit */

	return fstat_result(real_fstat64()(fd, st), fd, st);
}

SHIM_EXPORT int __fxstat(int ver, int fd, struct stat *st)
{
	return fstat_result(real___fxstat()(ver, fd, st), fd, st);
}

SHIM_EXPORT int __fxstat64(int ver, int fd, struct stat *st)
{
	return fstat_result(real___fxstat64()(ver, fd, st), fd, st);
}

/* ---- stat, lstat, fstatat ---- */

static int node_fill(const struct node *n, struct stat *st)
{
	int rc = node_check(n);

	if (rc)
		return fail(-rc);
	node_stat(n, st);
	return 0;
}

#define STAT_BODY(real_call)                          \
	do {                                          \
		char fixed_[PATH_MAX];                \
		struct node n;                        \
		path = shim_fix_path(AT_FDCWD, path, fixed_, sizeof(fixed_)); \
		if (path_node(path, &n))              \
			return node_fill(&n, st);     \
		return real_call;                     \
	} while (0)

SHIM_EXPORT int stat(const char *path, struct stat *st)
{
	STAT_BODY(real_stat()(path, st));
}

SHIM_EXPORT int stat64(const char *path, struct stat64 *st64)
{
	struct stat *st = (struct stat *)st64;

	STAT_BODY(real_stat64()(path, st));
}

SHIM_EXPORT int lstat(const char *path, struct stat *st)
{
	STAT_BODY(real_lstat()(path, st));
}

SHIM_EXPORT int lstat64(const char *path, struct stat64 *st64)
{
	struct stat *st = (struct stat *)st64;

	STAT_BODY(real_lstat64()(path, st));
}

SHIM_EXPORT int __xstat(int ver, const char *path, struct stat *st)
{
	STAT_BODY(real___xstat()(ver, path, st));
}

SHIM_EXPORT int __xstat64(int ver, const char *path, struct stat *st)
{
	STAT_BODY(real___xstat64()(ver, path, st));
}

SHIM_EXPORT int __lxstat(int ver, const char *path, struct stat *st)
{
	STAT_BODY(real___lxstat()(ver, path, st));
}

SHIM_EXPORT int __lxstat64(int ver, const char *path, struct stat *st)
{
	STAT_BODY(real___lxstat64()(ver, path, st));
}

/* An fstatat/statx on the descriptor itself (libc declares @path non-null; callers differ) */
static bool empty_path(const char *path, int flags)
{
	return path && !path[0] && (flags & AT_EMPTY_PATH);
}

#define AT_STAT_FLAGS (AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT | AT_EMPTY_PATH)

#define FSTATAT_BODY(real_call)                                                  \
	do {                                                                     \
		char fixed_[PATH_MAX];                                           \
		struct node n;                                                   \
		if (empty_path(path, flags))                 \
			return fstat_result(real_call, dirfd, st);               \
		path = shim_fix_path(dirfd, path, fixed_, sizeof(fixed_));       \
		if (!path_node(path, &n))                                        \
			return real_call;                                        \
		if (flags & ~AT_STAT_FLAGS)                                      \
			return fail(EINVAL);                                     \
		return node_fill(&n, st);                                        \
	} while (0)

SHIM_EXPORT int fstatat(int dirfd, const char *path, struct stat *st, int flags)
{
	FSTATAT_BODY(real_fstatat()(dirfd, path, st, flags));
}

SHIM_EXPORT int fstatat64(int dirfd, const char *path, struct stat64 *st64, int flags)
{
	struct stat *st = (struct stat *)st64;

	FSTATAT_BODY(real_fstatat64()(dirfd, path, st, flags));
}

SHIM_EXPORT int __fxstatat(int ver, int dirfd, const char *path, struct stat *st, int flags)
{
	FSTATAT_BODY(real___fxstatat()(ver, dirfd, path, st, flags));
}

SHIM_EXPORT int __fxstatat64(int ver, int dirfd, const char *path, struct stat *st, int flags)
{
	FSTATAT_BODY(real___fxstatat64()(ver, dirfd, path, st, flags));
}

SHIM_EXPORT int statx(int dirfd, const char *path, int flags, unsigned int mask,
		      struct statx *sx)
{
	char fixed_[PATH_MAX];
	struct node n;
	int rc;

	if (empty_path(path, flags)) {
		mode_t mode;
		dev_t rdev;

		rc = real_statx()(dirfd, path, flags, mask, sx);
		if (rc || !(sx->stx_mask & STATX_TYPE) || !(sx->stx_mask & STATX_INO))
			return rc;
		mode = sx->stx_mode;
		rdev = makedev(sx->stx_rdev_major, sx->stx_rdev_minor);
		fd_fixup(dirfd, &mode, &rdev, makedev(sx->stx_dev_major, sx->stx_dev_minor),
			 sx->stx_ino);
		sx->stx_mode = (uint16_t)mode;
		sx->stx_rdev_major = major(rdev);
		sx->stx_rdev_minor = minor(rdev);
		return 0;
	}
	path = shim_fix_path(dirfd, path, fixed_, sizeof(fixed_));
	if (!path_node(path, &n))
		return real_statx()(dirfd, path, flags, mask, sx);
	if ((flags & ~(AT_STAT_FLAGS | AT_STATX_SYNC_TYPE)) ||
	    (flags & AT_STATX_SYNC_TYPE) == AT_STATX_SYNC_TYPE || (mask & STATX__RESERVED))
		return fail(EINVAL);
	rc = node_check(&n);
	if (rc)
		return fail(-rc);
	node_statx(&n, sx);
	return 0;
}

/* ---- access ---- */

/* What the kernel's permission check gives for @n, as @uid/@gid */
static int node_access(const struct node *n, int mode, uid_t uid, gid_t gid)
{
	struct stat st;
	unsigned int bits;
	int rc = node_check(n);

	if (rc)
		return fail(-rc);
	if (mode & ~(R_OK | W_OK | X_OK))
		return fail(EINVAL);
	node_stat(n, &st);
	if (!uid) { /* root: read and write always, execute with any x bit */
		if ((mode & X_OK) && !S_ISDIR(st.st_mode) && !(st.st_mode & 0111))
			return fail(EACCES);
		return 0;
	}
	bits = st.st_uid == uid ? (st.st_mode >> 6) : st.st_gid == gid ? (st.st_mode >> 3)
									 : st.st_mode;
	return (mode & ~bits & 7) ? fail(EACCES) : 0;
}

SHIM_EXPORT int access(const char *path, int mode)
{
	struct node n;
	char fixed_[PATH_MAX];

	path = shim_fix_path(AT_FDCWD, path, fixed_, sizeof(fixed_));
	if (!path_node(path, &n))
		return real_access()(path, mode);
	return node_access(&n, mode, getuid(), getgid());
}

SHIM_EXPORT int euidaccess(const char *path, int mode)
{
	struct node n;
	char fixed_[PATH_MAX];

	path = shim_fix_path(AT_FDCWD, path, fixed_, sizeof(fixed_));
	if (!path_node(path, &n))
		return real_euidaccess()(path, mode);
	return node_access(&n, mode, geteuid(), getegid());
}

SHIM_EXPORT int eaccess(const char *path, int mode)
{
	struct node n;
	char fixed_[PATH_MAX];

	path = shim_fix_path(AT_FDCWD, path, fixed_, sizeof(fixed_));
	if (!path_node(path, &n))
		return real_eaccess()(path, mode);
	return node_access(&n, mode, geteuid(), getegid());
}

SHIM_EXPORT int faccessat(int dirfd, const char *path, int mode, int flags)
{
	struct node n;
	char fixed_[PATH_MAX];

	path = shim_fix_path(dirfd, path, fixed_, sizeof(fixed_));
	if (!path_node(path, &n))
		return real_faccessat()(dirfd, path, mode, flags);
	if (flags & ~(AT_EACCESS | AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH))
		return fail(EINVAL);
	if (flags & AT_EACCESS)
		return node_access(&n, mode, geteuid(), getegid());
	return node_access(&n, mode, getuid(), getgid());
}

/* ---- realpath, readlink ---- */

/* Our nodes are not symbolic links: their real path is the normalised one */
static char *node_realpath(const char *path, char *resolved)
{
	char buf[64];
	bool trailing;
	struct node n;

	if (!path_node(path, &n))
		return NULL;
	if (node_check(&n)) {
		errno = ENOTDIR;
		return NULL;
	}
	norm_path(path, buf, sizeof(buf), &trailing);
	if (resolved) {
		strcpy(resolved, buf);
		return resolved;
	}
	return strdup(buf);
}

SHIM_EXPORT char *realpath(const char *path, char *resolved)
{
	struct node n;
	char fixed_[PATH_MAX];

	path = shim_fix_path(AT_FDCWD, path, fixed_, sizeof(fixed_));
	if (!path_node(path, &n))
		return real_realpath()(path, resolved);
	return node_realpath(path, resolved);
}

SHIM_EXPORT char *__realpath_chk(const char *path, char *resolved, size_t resolvedlen)
{
	struct node n;
	char fixed_[PATH_MAX];

	path = shim_fix_path(AT_FDCWD, path, fixed_, sizeof(fixed_));
	if (!path_node(path, &n))
		return real___realpath_chk()(path, resolved, resolvedlen);
	if (resolved && resolvedlen < PATH_MAX)
		return real___realpath_chk()(path, resolved, resolvedlen); /* libc reports it */
	return node_realpath(path, resolved);
}

SHIM_EXPORT char *canonicalize_file_name(const char *path)
{
	struct node n;
	char fixed_[PATH_MAX];

	path = shim_fix_path(AT_FDCWD, path, fixed_, sizeof(fixed_));
	if (!path_node(path, &n))
		return real_canonicalize_file_name()(path);
	return node_realpath(path, NULL);
}

static ssize_t node_readlink(const struct node *n)
{
	int rc = node_check(n);

	return fail(rc ? -rc : EINVAL);
}

SHIM_EXPORT ssize_t readlink(const char *path, char *buf, size_t len)
{
	struct node n;
	char fixed_[PATH_MAX];

	path = shim_fix_path(AT_FDCWD, path, fixed_, sizeof(fixed_));
	if (!path_node(path, &n))
		return real_readlink()(path, buf, len);
	return node_readlink(&n);
}

SHIM_EXPORT ssize_t readlinkat(int dirfd, const char *path, char *buf, size_t len)
{
	struct node n;
	char fixed_[PATH_MAX];

	path = shim_fix_path(dirfd, path, fixed_, sizeof(fixed_));
	if (!path_node(path, &n))
		return real_readlinkat()(dirfd, path, buf, len);
	return node_readlink(&n);
}

SHIM_EXPORT ssize_t __readlink_chk(const char *path, char *buf, size_t len, size_t buflen)
{
	struct node n;
	char fixed_[PATH_MAX];

	path = shim_fix_path(AT_FDCWD, path, fixed_, sizeof(fixed_));
	if (!path_node(path, &n) || len > buflen)
		return real___readlink_chk()(path, buf, len, buflen);
	return node_readlink(&n);
}

SHIM_EXPORT ssize_t __readlinkat_chk(int dirfd, const char *path, char *buf, size_t len,
				     size_t buflen)
{
	struct node n;
	char fixed_[PATH_MAX];

	path = shim_fix_path(dirfd, path, fixed_, sizeof(fixed_));
	if (!path_node(path, &n) || len > buflen)
		return real___readlinkat_chk()(dirfd, path, buf, len, buflen);
	return node_readlink(&n);
}

/* ---- extended attributes: a device node on devtmpfs has none ---- */

SHIM_REAL_FN(getxattr, ssize_t (*)(const char *, const char *, void *, size_t))
SHIM_REAL_FN(lgetxattr, ssize_t (*)(const char *, const char *, void *, size_t))
SHIM_REAL_FN(listxattr, ssize_t (*)(const char *, char *, size_t))
SHIM_REAL_FN(llistxattr, ssize_t (*)(const char *, char *, size_t))

static ssize_t node_getxattr(const struct node *n)
{
	int rc = node_check(n);

	return fail(rc ? -rc : ENODATA);
}

static ssize_t node_listxattr(const struct node *n)
{
	int rc = node_check(n);

	return rc ? fail(-rc) : 0;
}

SHIM_EXPORT ssize_t getxattr(const char *path, const char *name, void *value, size_t size)
{
	struct node n;
	char fixed_[PATH_MAX];

	path = shim_fix_path(AT_FDCWD, path, fixed_, sizeof(fixed_));
	if (!path_node(path, &n))
		return real_getxattr()(path, name, value, size);
	return node_getxattr(&n);
}

SHIM_EXPORT ssize_t lgetxattr(const char *path, const char *name, void *value, size_t size)
{
	struct node n;
	char fixed_[PATH_MAX];

	path = shim_fix_path(AT_FDCWD, path, fixed_, sizeof(fixed_));
	if (!path_node(path, &n))
		return real_lgetxattr()(path, name, value, size);
	return node_getxattr(&n);
}

SHIM_EXPORT ssize_t listxattr(const char *path, char *list, size_t size)
{
	struct node n;
	char fixed_[PATH_MAX];

	path = shim_fix_path(AT_FDCWD, path, fixed_, sizeof(fixed_));
	if (!path_node(path, &n))
		return real_listxattr()(path, list, size);
	return node_listxattr(&n);
}

SHIM_EXPORT ssize_t llistxattr(const char *path, char *list, size_t size)
{
	struct node n;
	char fixed_[PATH_MAX];

	path = shim_fix_path(AT_FDCWD, path, fixed_, sizeof(fixed_));
	if (!path_node(path, &n))
		return real_llistxattr()(path, list, size);
	return node_listxattr(&n);
}

/* ---- open and pread/pwrite of VFIO nodes (called from preload.c) ---- */

/**
 * shim_open_vfio_path() - open() of a VFIO node
 * @path: the program's path
 * @flags: open flags
 * @ret: the result in libc convention, when this returns 1
 *
 * Return: 1 when @path is one of our VFIO nodes (or directories), else 0.
 */
int shim_open_vfio_path(const char *path, int flags, int *ret)
{
	char node[64];
	struct node n;

	if (!path_node(path, &n) || n.kind == NODE_IOMMU)
		return 0;
	if (node_is_dir(&n)) {
		if (flags & (O_WRONLY | O_RDWR | O_CREAT)) {
			*ret = fail(EISDIR);
		} else {
			int saved = errno, fd = shim_listing_open(
				n.kind == NODE_VFIO_DIR ? SHIM_DIR_VFIO : SHIM_DIR_VFIO_DEVICES, flags);

			*ret = fd < 0 ? fail(-fd) : fd;
			if (fd >= 0)
				errno = saved;
		}
		return 1;
	}
	if (node_check(&n)) {
		*ret = fail(ENOTDIR);
		return 1;
	}
	snprintf(node, sizeof(node), "/dev/vfio/devices/vfio%u", n.index);
	*ret = (int)CALL_SOFTIOMMU(sio_vfio_open_path(node, flags));
	return 1;
}

/**
 * shim_vfio_rw() - pread()/pwrite() of a VFIO device descriptor
 * Return: 1 with *@ret set when @fd is one, else 0 (the call passes through).
 */
int shim_vfio_rw(int fd, void *buf, size_t len, off_t off, bool write, ssize_t *ret)
{
	struct sio_file *f;
	unsigned int index;
	bool ours, gone;
	int saved = errno;
	ssize_t rc;

	if (!shim_routed(fd))
		return 0;
	f = sio_file_get_unchecked(fd);
	if (!f)
		return 0;
	ours = sio_vfio_file_index(f, &index);
	sio_file_put(f);
	if (!ours)
		return 0;
	/* the identity check happens once, inside: a number reused for another file is EBADF */
	shim_enter();
	rc = sio_vfio_pread(fd, buf, len, (uint64_t)off, write, &gone);
	shim_leave();
	if (gone)
		return 0;
	*ret = shim_to_libc(rc, saved);
	return 1;
}
