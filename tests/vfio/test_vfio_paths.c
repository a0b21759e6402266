// SPDX-License-Identifier: MIT
/*
 * Path queries on /dev/iommu and the VFIO nodes, as a program (a VMM) makes them before it
 * opens anything: access, the stat family, statx, realpath, readlink; and fstat of the
 * descriptors, whose st_rdev must match the `dev` file of the device's sysfs directory.
 * Run under the shim with SOFTIOMMU_VFIO_DEVICES="edu edu,iommu=mock".
 */
#include <limits.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "vfio_testlib.h"

#define ERRNO_OF(call) ((call) < 0 ? errno : 0)

static void test_access(void)
{
	CHECK(access("/dev/iommu", F_OK) == 0);
	CHECK(access("/dev/iommu", R_OK | W_OK) == 0);
	CHECK(ERRNO_OF(access("/dev/iommu", X_OK)) == EACCES);
	CHECK(ERRNO_OF(access("/dev/iommu", 0x10)) == EINVAL);
	CHECK(access(VFIO0, R_OK | W_OK) == 0);
	CHECK(access(VFIO1, F_OK) == 0);
	CHECK(access("/dev/vfio/devices", X_OK) == 0);
	CHECK(ERRNO_OF(access("/dev/vfio/devices/vfio2", F_OK)) == ENOENT);
	CHECK(ERRNO_OF(access("/dev/vfio/devices/vfio00", F_OK)) == ENOENT);
	CHECK(ERRNO_OF(access("/dev/iommu/", F_OK)) == ENOTDIR);
	CHECK(faccessat(AT_FDCWD, "/dev/iommu", R_OK, AT_EACCESS) == 0);
	CHECK(ERRNO_OF(faccessat(AT_FDCWD, "/dev/iommu", R_OK, 0x4000000)) == EINVAL);
	CHECK(euidaccess("//dev/./iommu", W_OK) == 0);
}

static void test_stat(void)
{
	struct stat st;
	struct statx sx;

	CHECK(stat("/dev/iommu", &st) == 0);
	CHECK(S_ISCHR(st.st_mode) && (st.st_mode & 0777) == 0666);
	CHECK(major(st.st_rdev) == 10 && minor(st.st_rdev) == 123);
	CHECK(lstat("/dev/../dev/iommu", &st) == 0 && S_ISCHR(st.st_mode));
	CHECK(fstatat(AT_FDCWD, "/dev/iommu", &st, AT_SYMLINK_NOFOLLOW) == 0);
	CHECK(ERRNO_OF(fstatat(AT_FDCWD, "/dev/iommu", &st, 0x1)) == EINVAL);
	CHECK(stat(VFIO1, &st) == 0 && S_ISCHR(st.st_mode) && minor(st.st_rdev) == 1);
	CHECK((st.st_mode & 0777) == 0600 && st.st_uid == getuid());
	CHECK(stat("/dev/vfio/devices", &st) == 0 && S_ISDIR(st.st_mode));
	CHECK(stat("/dev/vfio", &st) == 0 && S_ISDIR(st.st_mode));
	CHECK(ERRNO_OF(stat("/dev/vfio/devices/vfio9", &st)) == ENOENT);
	CHECK(ERRNO_OF(stat("/dev/iommu/", &st)) == ENOTDIR);
	CHECK(statx(AT_FDCWD, "/dev/iommu", 0, STATX_BASIC_STATS, &sx) == 0);
	CHECK(S_ISCHR(sx.stx_mode) && sx.stx_rdev_major == 10 && sx.stx_rdev_minor == 123);
	CHECK((sx.stx_mask & STATX_BASIC_STATS) == STATX_BASIC_STATS);
	CHECK(ERRNO_OF(statx(AT_FDCWD, "/dev/iommu", AT_STATX_SYNC_TYPE, 0, &sx)) == EINVAL);
	/* the real file system is untouched */
	CHECK(stat("/", &st) == 0 && S_ISDIR(st.st_mode));
	CHECK(ERRNO_OF(stat("/dev/iommux", &st)) == ENOENT);
}

static void test_realpath_readlink(void)
{
	char buf[PATH_MAX], *p;

	CHECK(realpath("/dev//vfio/./devices/../devices/vfio0", buf) == buf);
	CHECK(!strcmp(buf, VFIO0));
	p = realpath("/dev/iommu", NULL);
	CHECK(p && !strcmp(p, "/dev/iommu"));
	free(p);
	p = canonicalize_file_name("/dev/./iommu");
	CHECK(p && !strcmp(p, "/dev/iommu"));
	free(p);
	CHECK(realpath("/dev/vfio/devices/vfio5", buf) == NULL && errno == ENOENT);
	CHECK(ERRNO_OF(readlink("/dev/iommu", buf, sizeof(buf))) == EINVAL);
	CHECK(ERRNO_OF(readlinkat(AT_FDCWD, VFIO0, buf, sizeof(buf))) == EINVAL);
}

/* The sysfs-like directory's vfio-dev/vfioN/dev against the node's st_rdev */
static void check_sysfs_dev(const char *node, const char *pci_name, unsigned int n)
{
	const char *run = getenv("SOFTIOMMU_RUN_DIR");
	char path[PATH_MAX];
	unsigned int maj = 0, min = ~0u;
	struct stat st;
	FILE *f;

	CHECK(run != NULL);
	if (!run)
		return;
	snprintf(path, sizeof(path), "%s/devices/%s/vfio-dev/vfio%u/dev", run, pci_name, n);
	f = fopen(path, "r");
	CHECK(f != NULL);
	if (!f)
		return;
	CHECK(fscanf(f, "%u:%u", &maj, &min) == 2);
	fclose(f);
	CHECK(stat(node, &st) == 0 && st.st_rdev == makedev(maj, min));
	snprintf(path, sizeof(path), "%s/devices/%s/vendor", run, pci_name);
	f = fopen(path, "r");
	CHECK(f && fscanf(f, "%x", &maj) == 1 && maj == 0x1234);
	if (f)
		fclose(f);
}

static void test_fstat_descriptors(void)
{
	int iommufd = open("/dev/iommu", O_RDWR), dev = v_open(VFIO1), pipefd[2];
	struct stat st, by_path;
	struct statx sx;

	CHECK(iommufd >= 0);
	CHECK(fstat(iommufd, &st) == 0 && S_ISCHR(st.st_mode));
	CHECK(st.st_rdev == makedev(10, 123));
	CHECK(fstat(dev, &st) == 0 && S_ISCHR(st.st_mode));
	CHECK(stat(VFIO1, &by_path) == 0 && st.st_rdev == by_path.st_rdev);
	CHECK(fstatat(dev, "", &st, AT_EMPTY_PATH) == 0 && S_ISCHR(st.st_mode));
	CHECK(statx(dev, "", AT_EMPTY_PATH, STATX_BASIC_STATS, &sx) == 0);
	CHECK(S_ISCHR(sx.stx_mode) && sx.stx_rdev_major == major(by_path.st_rdev) &&
	      sx.stx_rdev_minor == 1);
	check_sysfs_dev(VFIO0, "0000:00:04.0", 0);
	check_sysfs_dev(VFIO1, "0000:00:05.0", 1);
	/* a pipe stays a pipe; a number closed and reused is what it is now */
	CHECK(pipe(pipefd) == 0);
	CHECK(fstat(pipefd[0], &st) == 0 && S_ISFIFO(st.st_mode));
	CHECK(close(dev) == 0);
	CHECK(dup2(pipefd[0], dev) == dev);
	CHECK(fstat(dev, &st) == 0 && S_ISFIFO(st.st_mode));
	close(dev);
	close(pipefd[0]);
	close(pipefd[1]);
	CHECK(close(iommufd) == 0);
}

static void test_open(void)
{
	int fd;

	CHECK(open("/dev/vfio/devices/vfio3", O_RDWR) == -1 && errno == ENOENT);
	CHECK(open(VFIO0 "/", O_RDWR) == -1 && errno == ENOTDIR);
	CHECK(open(VFIO0, O_RDWR | O_DIRECTORY) == -1 && errno == ENOTDIR);
	fd = open("/dev/vfio/./devices/vfio0", O_RDONLY);
	CHECK(fd >= 0);
	if (fd >= 0)
		CHECK(close(fd) == 0);
	fd = openat(AT_FDCWD, VFIO1, O_RDWR);
	CHECK(fd >= 0);
	if (fd >= 0)
		CHECK(close(fd) == 0);
}

int main(void)
{
	test_access();
	test_stat();
	test_realpath_readlink();
	test_fstat_descriptors();
	test_open();
	return t_done();
}
