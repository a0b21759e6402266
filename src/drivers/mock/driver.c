// SPDX-License-Identifier: MIT
/*
 * The mock as a registered driver: front-ends create its devices by the name "mock", and
 * its selftest operations reach the uAPI as the mock's own ioctl, IOMMU_TEST_CMD.
 */
#include "mock.h"

static struct sio_dev *mock_driver_dev_create(uint32_t flags)
{
	struct mock_dev *mdev = mock_dev_create(flags);

	return IS_ERR(mdev) ? ERR_CAST(mdev) : &mdev->dev;
}

static void mock_driver_dev_destroy(struct sio_dev *dev)
{
	mock_dev_destroy(to_mock_dev(dev));
}

static const struct sio_uapi_ext mock_uapi_ext[] = {
	{
		.ioctl_num = IOMMU_TEST_CMD,
		.size = sizeof(struct iommu_test_cmd),
		.min_size = offsetofend(struct iommu_test_cmd, last),
		.execute = sio_test_cmd_ioctl,
	},
};

_Static_assert(sizeof(struct iommu_test_cmd) <= SIO_UAPI_EXT_MAX_SIZE,
	       "IOMMU_TEST_CMD fits the dispatcher's buffer");

const struct sio_driver sio_mock_driver = {
	.name = "mock",
	.dev_create = mock_driver_dev_create,
	.dev_destroy = mock_driver_dev_destroy,
	.uapi_ext = mock_uapi_ext,
	.nr_uapi_ext = ARRAY_SIZE(mock_uapi_ext),
};
