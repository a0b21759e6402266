// SPDX-License-Identifier: MIT
/*
 * Listing /dev/vfio, /dev/vfio/devices and a device's sysfs-like directory, as tools, libvirt
 * and QEMU's helpers list them: opendir/readdir/readdir64, rewinddir, telldir/seekdir, dirfd,
 * fdopendir, scandir/scandir64, getdents64 on an open() of the directory, and the errors a
 * kernel gives (listing a device node, opening a directory for writing, a buffer too small).
 * Run under the shim with SOFTIOMMU_VFIO_DEVICES="edu edu".
 */
#include <dirent.h>
#include <limits.h>
#include <stdbool.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "vfio_testlib.h"

#define DEVICES "/dev/vfio/devices"

static ino_t ino_of(const char *path)
{
	struct stat st;

	return stat(path, &st) ? 0 : st.st_ino;
}

/* The names a stream lists, "a,b,c", with each entry's d_ino and d_type checked */
static void list(DIR *d, char *out, size_t size, const char *dir)
{
	struct dirent *e;
	size_t used = 0;

	out[0] = '\0';
	for (;;) {
		char path[PATH_MAX];
		struct stat st;

		errno = 0;
		e = readdir(d);
		if (!e)
			break;
		used += (size_t)snprintf(out + used, size - used, "%s%s", used ? "," : "",
					 e->d_name);
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (!strcmp(e->d_name, "..")) /* the parent by name: /dev/vfio/.. needs a real /dev/vfio */
			*strrchr(strcpy(path, dir), '/') = '\0';
		CHECK(stat(path, &st) == 0);
		CHECK(e->d_ino == st.st_ino);
		CHECK(e->d_type == (S_ISDIR(st.st_mode) ? DT_DIR : S_ISCHR(st.st_mode) ? DT_CHR
											 : DT_REG));
	}
	CHECK(errno == 0); /* the end, not an error */
}

static void test_readdir(void)
{
	char names[256];
	DIR *d = opendir(DEVICES), *other = opendir("/");
	struct dirent64 *e64;
	struct stat st;
	long pos;

	CHECK(d != NULL && other != NULL);
	if (!d || !other)
		return;
	list(d, names, sizeof(names), DEVICES);
	CHECK(!strcmp(names, ".,..,vfio0,vfio1"));
	CHECK(readdir(d) == NULL); /* stays at the end */
	rewinddir(d);
	CHECK((e64 = readdir64(d)) != NULL && !strcmp(e64->d_name, "."));
	pos = telldir(d);
	CHECK((e64 = readdir64(d)) != NULL && !strcmp(e64->d_name, ".."));
	CHECK((e64 = readdir64(d)) != NULL && !strcmp(e64->d_name, "vfio0"));
	seekdir(d, pos);
	CHECK((e64 = readdir64(d)) != NULL && !strcmp(e64->d_name, ".."));
	/* its descriptor is the directory */
	CHECK(fstat(dirfd(d), &st) == 0 && S_ISDIR(st.st_mode));
	CHECK(st.st_ino == ino_of(DEVICES));
	/* a real directory's stream, open meanwhile, is libc's */
	CHECK(readdir(other) != NULL);
	CHECK(closedir(other) == 0);
	CHECK(closedir(d) == 0);

	d = opendir("/dev/vfio/");
	CHECK(d != NULL);
	if (d) {
		list(d, names, sizeof(names), "/dev/vfio");
		CHECK(!strcmp(names, ".,..,devices"));
		CHECK(closedir(d) == 0);
	}
	/* a device node is not a directory; a missing one is missing */
	CHECK(opendir(VFIO0) == NULL && errno == ENOTDIR);
	CHECK(opendir("/dev/iommu") == NULL && errno == ENOTDIR);
	CHECK(opendir(DEVICES "/vfio7") == NULL && errno == ENOENT);
}

static int only_vfio(const struct dirent *e)
{
	return !strncmp(e->d_name, "vfio", 4);
}

static int only_vfio64(const struct dirent64 *e)
{
	return !strncmp(e->d_name, "vfio", 4);
}

static int reverse(const struct dirent **a, const struct dirent **b)
{
	return -alphasort(a, b);
}

static void test_scandir(void)
{
	struct dirent **v = NULL;
	struct dirent64 **v64 = NULL;
	int n = scandir(DEVICES, &v, only_vfio, reverse);

	CHECK(n == 2);
	if (n == 2)
		CHECK(!strcmp(v[0]->d_name, "vfio1") && !strcmp(v[1]->d_name, "vfio0"));
	while (n > 0)
		free(v[--n]);
	free(v);
	n = scandir("/dev/vfio", &v, NULL, alphasort);
	CHECK(n == 3);
	if (n == 3)
		CHECK(!strcmp(v[0]->d_name, ".") && !strcmp(v[2]->d_name, "devices"));
	while (n > 0)
		free(v[--n]);
	free(v);
	n = scandir64(DEVICES, &v64, only_vfio64, alphasort64);
	CHECK(n == 2);
	if (n == 2)
		CHECK(!strcmp(v64[0]->d_name, "vfio0") && v64[0]->d_type == DT_CHR);
	while (n > 0)
		free(v64[--n]);
	free(v64);
	CHECK(scandir(VFIO1, &v, NULL, NULL) == -1 && errno == ENOTDIR);
}

/* getdents64 on open() of the directory, as QEMU's and libvirt's helpers may list */
static void test_getdents(void)
{
	char buf[4096], names[256] = "";
	size_t used = 0;
	int fd = open(DEVICES, O_RDONLY | O_DIRECTORY | O_CLOEXEC), fd2;
	ssize_t n;
	struct stat st;
	DIR *d;

	CHECK(fd >= 0);
	if (fd < 0)
		return;
	CHECK(fstat(fd, &st) == 0 && S_ISDIR(st.st_mode) && st.st_ino == ino_of(DEVICES));
	CHECK(fcntl(fd, F_GETFD) == FD_CLOEXEC);
	CHECK(getdents64(fd, buf, 8) == -1 && errno == EINVAL); /* holds no entry */
	n = getdents64(fd, buf, sizeof(buf));
	CHECK(n > 0);
	for (ssize_t off = 0; off < n;) {
		struct dirent64 *e = (struct dirent64 *)(buf + off);

		used += (size_t)snprintf(names + used, sizeof(names) - used, "%s%s",
					 used ? "," : "", e->d_name);
		CHECK(e->d_reclen % 8 == 0 && e->d_reclen > 0);
		off += e->d_reclen;
	}
	CHECK(!strcmp(names, ".,..,vfio0,vfio1"));
	CHECK(getdents64(fd, buf, sizeof(buf)) == 0); /* the end */
	/* fdopendir takes the descriptor over, closedir closes it */
	d = fdopendir(fd);
	CHECK(d != NULL);
	if (d) {
		rewinddir(d);
		CHECK(readdir(d) != NULL);
		CHECK(dirfd(d) == fd);
		CHECK(closedir(d) == 0);
		CHECK(fcntl(fd, F_GETFD) == -1 && errno == EBADF);
	}
	/* a number closed behind the listing and reused is the new file's */
	fd = open(DEVICES, O_RDONLY);
	CHECK(fd >= 0);
	CHECK(close(fd) == 0);
	fd2 = memfd_create("not-a-dir", 0);
	CHECK(fd2 == fd);
	CHECK(getdents64(fd2, buf, sizeof(buf)) == -1 && errno == ENOTDIR);
	CHECK(fstat(fd2, &st) == 0 && S_ISREG(st.st_mode));
	close(fd2);
	/* directories are not opened for writing */
	CHECK(open(DEVICES, O_RDWR) == -1 && errno == EISDIR);
	CHECK(open("/dev/vfio", O_WRONLY | O_CREAT, 0600) == -1 && errno == EISDIR);
}

/* *at() calls relative to a listed directory, through its dups too, as fts makes them */
static void test_at_calls(void)
{
	int vfio = open("/dev/vfio", O_RDONLY | O_DIRECTORY | O_CLOEXEC), dup_fd, devs;
	char buf[4096];
	struct stat st, dev_st;
	DIR *d;

	CHECK(vfio >= 0);
	if (vfio < 0)
		return;
	CHECK(fstatat(vfio, "devices", &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode));
	dup_fd = fcntl(vfio, F_DUPFD_CLOEXEC, 3);
	CHECK(close(vfio) == 0); /* the dup alone still stands for /dev/vfio */
	devs = openat(dup_fd, "devices", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	CHECK(devs >= 0);
	CHECK(fstatat(devs, "vfio1", &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISCHR(st.st_mode));
	CHECK(stat(VFIO1, &dev_st) == 0 && st.st_rdev == dev_st.st_rdev);
	CHECK(faccessat(devs, "vfio0", R_OK | W_OK, 0) == 0);
	CHECK(faccessat(devs, "vfio7", F_OK, 0) == -1 && errno == ENOENT);
	CHECK(readlinkat(devs, "vfio0", buf, sizeof(buf)) == -1 && errno == EINVAL);
	CHECK(fstatat(devs, "..", &st, 0) == 0 && st.st_ino == ino_of("/dev/vfio"));
	/* ".." of /dev/vfio is the host's /dev, by path as by descriptor */
	CHECK(stat("/dev/vfio/..", &st) == 0 && st.st_ino == ino_of("/dev"));
	CHECK(fstatat(dup_fd, "..", &st, 0) == 0 && st.st_ino == ino_of("/dev"));
	CHECK(access("/dev/vfio/devices/../devices/vfio1", F_OK) == 0);
	/* ".." after something that is not a directory is not removed: the host answers */
	CHECK(stat("/dev/vfio/nothing/../devices", &st) == -1 && errno == ENOENT);
	CHECK(stat("/dev/vfio/devices/vfio0/../vfio1", &st) == -1);
	CHECK(stat("/dev/vfiox/../vfio/devices", &st) == -1 && errno == ENOENT);
	/* a stream over the dup lists from where the dup is, and closes only the dup */
	d = fdopendir(devs);
	CHECK(d != NULL);
	if (d) {
		CHECK(readdir(d) != NULL);
		CHECK(closedir(d) == 0);
	}
	CHECK(fcntl(dup_fd, F_GETFD) == FD_CLOEXEC);
	CHECK(getdents64(dup_fd, buf, sizeof(buf)) > 0);
	CHECK(close(dup_fd) == 0);
}

/* More listings opened and closed with close() than the table has records: reclaimed */
static void test_many_opens(void)
{
	char buf[4096];
	int fd = -1;

	for (int i = 0; i < 200; i++) {
		fd = open(DEVICES, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			break;
		if (i != 199)
			close(fd);
	}
	CHECK(fd >= 0);
	if (fd >= 0) {
		CHECK(getdents64(fd, buf, sizeof(buf)) > 0);
		CHECK(close(fd) == 0);
	}
}

/* The sysfs-like directory: what QEMU's iommufd_cdev_get_devicepath() lists */
static void test_sysfs(void)
{
	const char *run = getenv("SOFTIOMMU_RUN_DIR");
	char path[PATH_MAX], names[512];
	struct dirent **v = NULL;
	DIR *d;
	int n;

	CHECK(run != NULL);
	if (!run)
		return;
	snprintf(path, sizeof(path), "%s/devices/0000:00:04.0/vfio-dev", run);
	d = opendir(path);
	CHECK(d != NULL);
	if (d) {
		struct dirent *e;
		size_t used = 0;

		names[0] = '\0';
		while ((e = readdir(d)))
			if (e->d_name[0] != '.')
				used += (size_t)snprintf(names + used, sizeof(names) - used, "%s ",
							 e->d_name);
		CHECK(!strcmp(names, "vfio0 "));
		CHECK(closedir(d) == 0);
	}
	snprintf(path, sizeof(path), "%s/devices/0000:00:05.0", run);
	n = scandir(path, &v, NULL, alphasort);
	CHECK(n == 8); /* . .. class device subsystem_device subsystem_vendor vendor vfio-dev */
	if (n == 8)
		CHECK(!strcmp(v[2]->d_name, "class") && !strcmp(v[7]->d_name, "vfio-dev"));
	while (n > 0)
		free(v[--n]);
	free(v);
}

int main(void)
{
	test_readdir();
	test_scandir();
	test_getdents();
	test_at_calls();
	test_many_opens();
	test_sysfs();
	return t_done();
}
