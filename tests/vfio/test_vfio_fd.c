// SPDX-License-Identifier: MIT
/*
 * Descriptors handed over already open, as libvirt hands them to QEMU (-object
 * iommufd,fd=N -device vfio-pci,fd=M): a program started by `softiommu run --vfio-device
 * edu,fd...` finds an iommufd and a VFIO device descriptor open, not close-on-exec, that work
 * as the ones it would open itself.
 *
 *   test_vfio_fd N M     under `softiommu run --iommufd-fd N --vfio-device edu,fd=M ...`
 *   test_vfio_fd scan    under `softiommu run --vfio-device edu,fd ...` (numbers unknown:
 *                        found by their st_rdev)
 *   test_vfio_fd bad     under the shim with one edu device: the shim's checks of
 *                        SOFTIOMMU_VFIO_FDS (it re-executes itself with placeholders)
 */
#include <stdbool.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "vfio_testlib.h"

static bool is_chr(int fd, unsigned int maj, unsigned int min)
{
	struct stat st;

	return !fstat(fd, &st) && S_ISCHR(st.st_mode) && major(st.st_rdev) == maj &&
	       minor(st.st_rdev) == min;
}

/* The lowest descriptor that is character device @maj:@min, or -1 */
static int find_chr(unsigned int maj, unsigned int min)
{
	for (int fd = 3; fd < 64; fd++)
		if (is_chr(fd, maj, min))
			return fd;
	return -1;
}

/* The handed-over pair is usable: bind, attach to an IOAS, a BAR read; one binding only */
static void check_pair(int iommufd, int dev)
{
	uint32_t devid = 0, pt, id = 0;
	int other;

	CHECK(is_chr(iommufd, 10, 123));
	CHECK(is_chr(dev, 237, 0));
	CHECK(fcntl(iommufd, F_GETFD) == 0); /* not close-on-exec */
	CHECK(fcntl(dev, F_GETFD) == 0);
	CHECK((fcntl(dev, F_GETFL) & O_ACCMODE) == O_RDWR);
	CHECK(getenv("SOFTIOMMU_VFIO_FDS") == NULL); /* not for the program's children */
	pt = t_ioas_alloc(iommufd);
	CHECK_OK(v_bind(dev, iommufd, &devid));
	CHECK(devid != 0);
	CHECK_OK(v_attach(dev, &pt));
	CHECK(v_reg(dev, EDU_ID) >> 16 == 0x0100); /* edu's ID register: version 1.0 */
	/* the same device opened by path is another descriptor of a device already bound */
	other = v_open(VFIO0);
	CHECK_ERR(EINVAL, v_bind(other, iommufd, &id));
	CHECK(close(other) == 0);
	CHECK_OK(v_detach(dev));
	CHECK(close(dev) == 0);
	CHECK(close(iommufd) == 0);
}

/* Child of the "bad" case: what the shim made of the placeholders it was given */
static int bad_child(void)
{
	struct stat st;

	CHECK(getenv("SOFTIOMMU_VFIO_FDS") == NULL);
	/* vfio9=20: no such device, the placeholder (/dev/null) stays */
	CHECK(is_chr(20, 1, 3));
	/* iommufd=21: replaced */
	CHECK(is_chr(21, 10, 123));
	/* vfio0=600: nothing open there, nothing made */
	CHECK(fstat(600, &st) == -1 && errno == EBADF);
	/* vfio0=22 after "junk" and "vfio0=x": the good item still done */
	CHECK(is_chr(22, 237, 0));
	/* vfio0=21 came after iommufd=21: a number already ours is refused, the iommufd stays */
	CHECK(close(22) == 0);
	CHECK(close(21) == 0);
	close(20);
	return t_done();
}

static int bad(char *self)
{
	char *argv[] = { self, "bad-child", NULL };
	int null = open("/dev/null", O_RDWR);

	if (null < 0 || dup2(null, 20) < 0 || dup2(null, 21) < 0 || dup2(null, 22) < 0) {
		perror("placeholders");
		return 2;
	}
	close(null);
	setenv("SOFTIOMMU_VFIO_FDS", "vfio9=20 iommufd=21;junk vfio0=600 vfio0=x vfio0=21 vfio0=22",
	       1);
	execv("/proc/self/exe", argv);
	perror("execv");
	return 2;
}

int main(int argc, char **argv)
{
	if (argc == 3) {
		check_pair(atoi(argv[1]), atoi(argv[2]));
	} else if (argc == 2 && !strcmp(argv[1], "scan")) {
		int iommufd = find_chr(10, 123), dev = find_chr(237, 0);

		CHECK(iommufd >= 0 && dev >= 0);
		if (iommufd >= 0 && dev >= 0)
			check_pair(iommufd, dev);
	} else if (argc == 2 && !strcmp(argv[1], "bad")) {
		return bad(argv[0]);
	} else if (argc == 2 && !strcmp(argv[1], "bad-child")) {
		return bad_child();
	} else {
		fprintf(stderr, "usage: test_vfio_fd N M | scan | bad\n");
		return 2;
	}
	return t_done();
}
