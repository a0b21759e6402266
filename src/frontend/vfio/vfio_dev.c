// SPDX-License-Identifier: MIT
/*
 * vfio_dev.c — the process's emulated VFIO devices and the files that describe them.
 *
 * Devices are made once and live until the process exits (as a device a kernel has probed):
 * from SOFTIOMMU_VFIO_DEVICES when the shim loads, or by sio_vfio_create(). Device N is
 * /dev/vfio/devices/vfioN (character device SVFIO_CDEV_MAJOR:N, answered by the shim's path
 * calls) and has a sysfs-like directory in the run directory:
 *
 *   $SOFTIOMMU_RUN_DIR/devices/0000:00:NN.0/            what a VMM takes as sysfsdev=
 *       vendor device class subsystem_vendor subsystem_device irq
 *       vfio-dev/vfioN/dev                            "MAJ:MIN", matching the node's st_rdev
 *       vfio-dev/vfioN/uevent
 *
 * The run directory is SOFTIOMMU_RUN_DIR when set (whoever set it owns it: `softiommu run`
 * removes it), else a new private directory under $TMPDIR or /tmp that is exported in
 * SOFTIOMMU_RUN_DIR for child processes and removed at exit by the process that made it.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../core/sio.h"
#include "../../drivers/mock/mock.h"
#include "vfio.h"

static pthread_mutex_t devs_lock = PTHREAD_MUTEX_INITIALIZER;

__attribute__((constructor)) static void devs_lock_class(void)
{
	sio_lockdep_set_class(&devs_lock, SIO_LOCK_VFIO_DEVS);
}
static struct svfio_dev *_Atomic devs[SVFIO_MAX_DEVICES];
static atomic_uint ndevs;
static char run_dir[PATH_MAX - 128];
static pid_t run_dir_owner; /* the process that made run_dir, or 0 when it was given */

struct svfio_dev *sio_vfio_dev(unsigned int index)
{
	return index < SVFIO_MAX_DEVICES ? atomic_load_explicit(&devs[index], memory_order_acquire)
					 : NULL;
}

unsigned int sio_vfio_count(void)
{
	return atomic_load(&ndevs);
}

const char *sio_vfio_run_dir(void)
{
	return run_dir[0] ? run_dir : NULL;
}

/* ---- the run directory ---- */

static int run_dir_setup(void)
{
	const char *given = getenv("SOFTIOMMU_RUN_DIR"), *tmp = getenv("TMPDIR");

	if (run_dir[0])
		return 0;
	if (given && given[0]) {
		if (strlen(given) >= sizeof(run_dir))
			return -ENAMETOOLONG;
		if (mkdir(given, 0700) && errno != EEXIST)
			return -errno;
		strcpy(run_dir, given);
		return 0;
	}
	if (snprintf(run_dir, sizeof(run_dir), "%s/softiommu-run.XXXXXX",
		     tmp && tmp[0] ? tmp : "/tmp") >= (int)sizeof(run_dir) ||
	    !mkdtemp(run_dir)) {
		run_dir[0] = '\0';
		return -errno;
	}
	run_dir_owner = getpid();
	setenv("SOFTIOMMU_RUN_DIR", run_dir, 1);
	return 0;
}

static int write_file(const char *dir, const char *name, const char *fmt, unsigned int a,
		      unsigned int b)
{
	char path[PATH_MAX];
	FILE *f;
	int rc = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	if (!f)
		return -errno;
	if (fprintf(f, fmt, a, b) < 0)
		rc = -EIO;
	if (fclose(f) && !rc)
		rc = -errno;
	return rc;
}

static int mkdir_p(const char *path)
{
	return mkdir(path, 0755) && errno != EEXIST ? -errno : 0;
}

static int sysfs_create(struct svfio_dev *d)
{
	char dir[PATH_MAX], vdir[PATH_MAX + 32];
	const struct svfio_cfg *c = &d->cfg;
	int rc;

	snprintf(dir, sizeof(dir), "%s/devices", run_dir);
	rc = mkdir_p(dir);
	if (rc)
		return rc;
	if (snprintf(d->sysfs, sizeof(d->sysfs), "%s/%s", dir, d->name) >= (int)sizeof(d->sysfs))
		return -ENAMETOOLONG;
	snprintf(vdir, sizeof(vdir), "%s/vfio-dev", d->sysfs);
	rc = mkdir_p(d->sysfs);
	rc = rc ? rc : mkdir_p(vdir);
	snprintf(vdir, sizeof(vdir), "%s/vfio-dev/vfio%u", d->sysfs, d->index);
	rc = rc ? rc : mkdir_p(vdir);
	rc = rc ? rc : write_file(vdir, "dev", "%u:%u\n", SVFIO_CDEV_MAJOR, d->index);
	rc = rc ? rc : write_file(vdir, "uevent", "MAJOR=%u\nMINOR=%u\n", SVFIO_CDEV_MAJOR,
				  d->index);
	rc = rc ? rc : write_file(d->sysfs, "vendor", "0x%04x\n%.0u", svfio_cfg_get16(c, 0), 0);
	rc = rc ? rc : write_file(d->sysfs, "device", "0x%04x\n%.0u", svfio_cfg_get16(c, 2), 0);
	rc = rc ? rc : write_file(d->sysfs, "class", "0x%06x\n%.0u",
				  svfio_cfg_get32(c, 8) >> 8, 0);
	rc = rc ? rc : write_file(d->sysfs, "subsystem_vendor", "0x%04x\n%.0u",
				  svfio_cfg_get16(c, 0x2c), 0);
	rc = rc ? rc : write_file(d->sysfs, "subsystem_device", "0x%04x\n%.0u",
				  svfio_cfg_get16(c, 0x2e), 0);
	return rc;
}

static void sysfs_remove(const struct svfio_dev *d)
{
	static const char *const files[] = { "vendor", "device", "class", "subsystem_vendor",
					     "subsystem_device" };
	char p[PATH_MAX + 64];

	snprintf(p, sizeof(p), "%s/vfio-dev/vfio%u/dev", d->sysfs, d->index);
	unlink(p);
	snprintf(p, sizeof(p), "%s/vfio-dev/vfio%u/uevent", d->sysfs, d->index);
	unlink(p);
	snprintf(p, sizeof(p), "%s/vfio-dev/vfio%u", d->sysfs, d->index);
	rmdir(p);
	snprintf(p, sizeof(p), "%s/vfio-dev", d->sysfs);
	rmdir(p);
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", d->sysfs, files[i]);
		unlink(p);
	}
	rmdir(d->sysfs);
}

/* At exit, the process that made the run directory removes what it put there */
__attribute__((destructor)) static void run_dir_cleanup(void)
{
	char p[PATH_MAX];

	if (!run_dir_owner || run_dir_owner != getpid())
		return;
	for (unsigned int i = 0; i < sio_vfio_count(); i++)
		if (sio_vfio_dev(i))
			sysfs_remove(sio_vfio_dev(i));
	snprintf(p, sizeof(p), "%s/devices", run_dir);
	rmdir(p);
	rmdir(run_dir);
}

/* ---- creating devices ---- */

static const struct svfio_model_ops *const models[] = { &svfio_edu_ops, &svfio_epf_test_ops };

/*
 * The IOMMU models a device may sit behind (the registry's names). VT-d is named so that
 * asking for it says what is missing rather than "bad option".
 */
enum svfio_iommu { SVFIO_IOMMU_MOCK, SVFIO_IOMMU_SMMUV3 };

static const char *const iommu_names[] = { [SVFIO_IOMMU_MOCK] = "mock",
					   [SVFIO_IOMMU_SMMUV3] = "smmuv3" };

static bool opt_is(const char *opt, size_t n, const char *want)
{
	return n == strlen(want) && !strncmp(opt, want, n);
}

/* One ",iommu=NAME" option of @n bytes at @opt */
static int parse_iommu(const char *opt, size_t n, enum svfio_iommu *iommu)
{
	static const char key[] = "iommu=";

	if (n < sizeof(key) - 1 || strncmp(opt, key, sizeof(key) - 1))
		return -EINVAL;
	opt += sizeof(key) - 1;
	n -= sizeof(key) - 1;
	for (size_t i = 0; i < sizeof(iommu_names) / sizeof(iommu_names[0]); i++) {
		if (opt_is(opt, n, iommu_names[i])) {
			*iommu = (enum svfio_iommu)i;
			return 0;
		}
	}
	return opt_is(opt, n, "vtd") ? -EOPNOTSUPP : -EINVAL;
}

/* "MODEL[,iommu=mock|smmuv3]" */
static int parse_spec(const char *spec, const struct svfio_model_ops **model,
		      enum svfio_iommu *iommu)
{
	size_t n = strcspn(spec, ",");
	const char *opt = spec + n;

	*model = NULL;
	*iommu = SVFIO_IOMMU_MOCK;
	for (size_t i = 0; i < sizeof(models) / sizeof(models[0]); i++)
		if (opt_is(spec, n, models[i]->name))
			*model = models[i];
	if (!*model)
		return -ENODEV;
	while (*opt == ',') {
		int rc;

		opt++;
		n = strcspn(opt, ",");
		rc = parse_iommu(opt, n, iommu);
		if (rc)
			return rc;
		opt += n;
	}
	return 0;
}

/**
 * sio_vfio_spec_check() - whether @spec names a device sio_vfio_create() can make
 * Return: 0, -ENODEV (unknown model), -EOPNOTSUPP (iommu=vtd: no VT-d model yet) or
 * -EINVAL (bad option).
 */
int sio_vfio_spec_check(const char *spec)
{
	const struct svfio_model_ops *model;
	enum svfio_iommu iommu;

	return parse_spec(spec, &model, &iommu);
}

/* The PCI address device @index has, the basename of its sysfs directory */
void sio_vfio_pci_name(unsigned int index, char *buf, size_t size)
{
	snprintf(buf, size, "0000:00:%02x.0", index + 4);
}

/* The device's IOMMU side, through the driver registry */
static int iommu_dev_create(struct svfio_dev *d, enum svfio_iommu iommu)
{
	/* the mock as a VMM's device: PASIDs, and guest RAM from IOVA 0 */
	uint32_t flags = iommu == SVFIO_IOMMU_MOCK ? MOCK_FLAGS_DEVICE_PASID : 0;
	struct sio_dev *sdev = sio_driver_dev_create(iommu_names[iommu], flags);

	if (IS_ERR(sdev))
		return (int)PTR_ERR(sdev);
	if (iommu == SVFIO_IOMMU_MOCK)
		container_of(sdev, struct mock_dev, dev)->flags |= MOCK_DEV_VMM_APERTURE;
	d->sdev = sdev;
	return 0;
}

static void dev_free(struct svfio_dev *d)
{
	if (d->sdev)
		sio_driver_dev_destroy(d->sdev);
	if (d->model)
		d->model->destroy(d);
	pthread_mutex_destroy(&d->lock);
	sio_free(d);
}

/**
 * sio_vfio_create() - make a new emulated VFIO device
 * @spec: "MODEL[,iommu=IOMMU]": the model is "edu" or "epf-test", the IOMMU "mock" (the
 *        default; its paging domains take IOVAs from 0, see MOCK_DEV_VMM_APERTURE) or
 *        "smmuv3" (an SMMUv3 with the model's default ID registers: 48-bit stage-1 IOVAs)
 *
 * The device gets the next index N (/dev/vfio/devices/vfioN) and its sysfs-like directory.
 * Return: N, or -ENODEV (unknown model), -EOPNOTSUPP (iommu=vtd), -EINVAL (bad option),
 * -ENOSPC (too many devices), -ENOMEM, or the error creating the run directory's files.
 */
int sio_vfio_create(const char *spec)
{
	const struct svfio_model_ops *model;
	enum svfio_iommu iommu;
	struct svfio_dev *d;
	unsigned int index;
	int rc = parse_spec(spec, &model, &iommu);

	if (rc)
		return rc;
	pthread_mutex_lock(&devs_lock);
	index = atomic_load(&ndevs);
	rc = index >= SVFIO_MAX_DEVICES ? -ENOSPC : run_dir_setup();
	d = rc ? NULL : sio_zalloc(sizeof(*d));
	if (!d) {
		pthread_mutex_unlock(&devs_lock);
		return rc ? rc : -ENOMEM;
	}
	sio_mutex_init(&d->lock, SIO_LOCK_VFIO_DEV);
	d->index = index;
	sio_vfio_pci_name(index, d->name, sizeof(d->name));
	svfio_irqs_init(&d->irqs);
	rc = model->init(d);
	d->model = model;
	if (!rc)
		rc = iommu_dev_create(d, iommu);
	d->cfg_saved = d->cfg;
	rc = rc ? rc : sysfs_create(d);
	if (rc) {
		if (d->sysfs[0])
			sysfs_remove(d);
		dev_free(d);
	} else {
		atomic_store_explicit(&devs[index], d, memory_order_release);
		atomic_store(&ndevs, index + 1);
		rc = (int)index;
	}
	pthread_mutex_unlock(&devs_lock);
	return rc;
}

/**
 * sio_vfio_create_from_env() - the devices SOFTIOMMU_VFIO_DEVICES lists
 *
 * The variable holds specs (see sio_vfio_create()) separated by ';' or spaces, e.g.
 * "edu;edu,iommu=mock". Return: devices made, or the first error (those before it stay).
 */
int sio_vfio_create_from_env(void)
{
	const char *env = getenv("SOFTIOMMU_VFIO_DEVICES");
	char spec[64];
	int made = 0;

	if (!env)
		return 0;
	while (*env) {
		size_t n = strcspn(env, "; \t");
		int rc;

		if (n >= sizeof(spec))
			return -EINVAL;
		if (n) {
			memcpy(spec, env, n);
			spec[n] = '\0';
			rc = sio_vfio_create(spec);
			if (rc < 0)
				return rc;
			made++;
		}
		env += n;
		env += strspn(env, "; \t");
	}
	return made;
}

/* ---- paths ---- */

/**
 * sio_vfio_path_index() - which device a normalised absolute @path names
 * Return: N for "/dev/vfio/devices/vfioN" of an existing device, else -1.
 */
int sio_vfio_path_index(const char *path)
{
	static const char prefix[] = "/dev/vfio/devices/vfio";
	unsigned long n;
	char *end;

	if (strncmp(path, prefix, sizeof(prefix) - 1))
		return -1;
	path += sizeof(prefix) - 1;
	if (path[0] < '0' || path[0] > '9' || (path[0] == '0' && path[1]))
		return -1;
	n = strtoul(path, &end, 10);
	if (*end || n >= SVFIO_MAX_DEVICES || !sio_vfio_dev((unsigned int)n))
		return -1;
	return (int)n;
}

/**
 * sio_vfio_open_path() - open(@path, @flags) of a device node
 * Return: a descriptor, -ENOENT when @path names no device, -ENOTDIR with O_DIRECTORY,
 * -EEXIST with O_CREAT|O_EXCL, or the error making the descriptor.
 */
int sio_vfio_open_path(const char *path, int flags)
{
	int index = sio_vfio_path_index(path);

	if (index < 0)
		return -ENOENT;
	if ((flags & O_CREAT) && (flags & O_EXCL))
		return -EEXIST;
	if (flags & O_DIRECTORY)
		return -ENOTDIR;
	return sio_vfio_open(sio_vfio_dev((unsigned int)index), flags);
}
