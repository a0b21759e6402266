// SPDX-License-Identifier: MIT
/*
 * The driver registry: the models front-ends can name, and the ioctls they add to the uAPI.
 *
 * Built-in models are listed here, one line each, so a static link keeps them; others
 * (a test's driver) register at run time into a small fixed table. Lookups take no lock:
 * a slot is published with a release store and read with an acquire load, and a driver is
 * unregistered only once nothing uses it (its devices gone, its ioctls not running).
 */
#include <linux/ioctl.h>
#include <stdatomic.h>
#include <string.h>

#include "driver.h"
#include "../core/util.h"

extern const struct sio_driver sio_mock_driver;
extern const struct sio_driver sio_smmuv3_driver;

static const struct sio_driver *const builtin[] = {
	&sio_mock_driver,
	&sio_smmuv3_driver,
};

#define REGISTRY_SLOTS 8

static _Atomic(const struct sio_driver *) slots[REGISTRY_SLOTS];
static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;

/* The @i-th driver, built-in ones first; NULL for an empty slot or past the end */
static const struct sio_driver *driver_at(unsigned int i)
{
	if (i < ARRAY_SIZE(builtin))
		return builtin[i];
	return atomic_load_explicit(&slots[i - ARRAY_SIZE(builtin)], memory_order_acquire);
}

#define NR_DRIVERS (ARRAY_SIZE(builtin) + REGISTRY_SLOTS)

const struct sio_driver *sio_driver_find(const char *name)
{
	size_t len = strcspn(name, ":");

	for (unsigned int i = 0; i != NR_DRIVERS; i++) {
		const struct sio_driver *drv = driver_at(i);

		if (drv && strlen(drv->name) == len && !strncmp(drv->name, name, len))
			return drv;
	}
	return NULL;
}

int sio_driver_register(const struct sio_driver *drv)
{
	int rc = -ENOSPC;

	for (unsigned int i = 0; i != drv->nr_uapi_ext; i++)
		if (drv->uapi_ext[i].size > SIO_UAPI_EXT_MAX_SIZE)
			return -EINVAL;
	pthread_mutex_lock(&registry_lock);
	if (sio_driver_find(drv->name)) {
		rc = -EEXIST;
		goto out;
	}
	for (unsigned int i = 0; i != REGISTRY_SLOTS; i++) {
		if (!atomic_load_explicit(&slots[i], memory_order_relaxed)) {
			atomic_store_explicit(&slots[i], drv, memory_order_release);
			rc = 0;
			break;
		}
	}
out:
	pthread_mutex_unlock(&registry_lock);
	return rc;
}

void sio_driver_unregister(const struct sio_driver *drv)
{
	pthread_mutex_lock(&registry_lock);
	for (unsigned int i = 0; i != REGISTRY_SLOTS; i++)
		if (atomic_load_explicit(&slots[i], memory_order_relaxed) == drv)
			atomic_store_explicit(&slots[i], NULL, memory_order_release);
	pthread_mutex_unlock(&registry_lock);
}

const struct sio_uapi_ext *sio_driver_find_ext(unsigned int nr)
{
	for (unsigned int i = 0; i != NR_DRIVERS; i++) {
		const struct sio_driver *drv = driver_at(i);

		for (unsigned int j = 0; drv && j != drv->nr_uapi_ext; j++)
			if (_IOC_NR(drv->uapi_ext[j].ioctl_num) == nr)
				return &drv->uapi_ext[j];
	}
	return NULL;
}

unsigned int sio_driver_ext_nr_end(void)
{
	unsigned int end = 0;

	for (unsigned int i = 0; i != NR_DRIVERS; i++) {
		const struct sio_driver *drv = driver_at(i);

		for (unsigned int j = 0; drv && j != drv->nr_uapi_ext; j++)
			end = max_t(unsigned int, end, _IOC_NR(drv->uapi_ext[j].ioctl_num) + 1);
	}
	return end;
}

struct sio_dev *sio_driver_dev_create(const char *name, uint32_t flags)
{
	const struct sio_driver *drv = name ? sio_driver_find(name) : NULL;
	const char *opts = name ? strchr(name, ':') : NULL;
	struct sio_dev *dev;

	if (!drv || !drv->dev_create)
		return ERR_PTR(-ENODEV);
	if (opts && !drv->dev_create_opts)
		return ERR_PTR(-EINVAL);
	dev = opts ? drv->dev_create_opts(flags, opts + 1) : drv->dev_create(flags);
	if (!IS_ERR(dev))
		dev->driver = drv;
	return dev;
}

void sio_driver_dev_destroy(struct sio_dev *dev)
{
	if (dev)
		dev->driver->dev_destroy(dev);
}
