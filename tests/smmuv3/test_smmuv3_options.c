// SPDX-License-Identifier: MIT
/*
 * Options of SMMUv3 devices after the model's name: "smmuv3:smmu=NAME,sid=N" puts the device
 * on a named SMMU instance with a chosen StreamID; the parse errors, the StreamID rules
 * (taken, beyond SIDSIZE, exhausted), and that named instances are separate SMMUs.
 */
#include "smmu_test.h"

static void test_parse(void)
{
	static const char *const bad[] = {
		"smmuv3:sid=", "smmuv3:sid=abc", "smmuv3:sid=-1", "smmuv3:sid=0x100000000",
		"smmuv3:sid=1,sid=2", "smmuv3:foo=1", "smmuv3:sid", "smmuv3:sid=1,",
		"smmuv3:smmu=", "smmuv3:smmu=a b", "smmuv3:smmu=a,smmu=b",
		"smmuv3:smmu=sixteen_chars_xx", "smmuv3:,sid=1",
	};
	struct softiommu_dev *dev;
	unsigned int id;
	int fd = softiommu_open(0);

	for (size_t i = 0; i != sizeof(bad) / sizeof(bad[0]); i++) {
		long rc = softiommu_dev_create(fd, bad[i], 0, &dev, &id);

		if (rc != -EINVAL)
			fprintf(stderr, "%s: %ld\n", bad[i], rc);
		CHECK(rc == -EINVAL);
		if (!rc)
			softiommu_dev_destroy(dev);
	}
	/* A model without options refuses them; an unknown model stays ENODEV */
	CHECK_ERR(EINVAL, softiommu_dev_create(fd, "mock:sid=1", 0, &dev, &id));
	CHECK_ERR(ENODEV, softiommu_dev_create(fd, "nosuch:sid=1", 0, &dev, &id));
	CHECK_ERR(ENODEV, softiommu_dev_create(fd, "smmuv", 0, &dev, &id));
	/* No options at all, and a 15-character name */
	CHECK_OK(softiommu_dev_create(fd, "smmuv3:", 0, &dev, &id));
	softiommu_dev_destroy(dev);
	CHECK_OK(softiommu_dev_create(fd, "smmuv3:smmu=fifteen_chars_x", 0, &dev, &id));
	softiommu_dev_destroy(dev);
	CHECK_OK(softiommu_close(fd));
}

static void test_sids(void)
{
	struct softiommu_dev *a, *b, *c;
	unsigned int id;
	int fd = softiommu_open(0);

	CHECK_OK(softiommu_dev_create(fd, "smmuv3:smmu=s,sid=0x42", 0, &a, &id));
	CHECK_ERR(EEXIST, softiommu_dev_create(fd, "smmuv3:sid=0x42,smmu=s", 0, &b, &id));
	/* Another SMMU has its own StreamIDs */
	CHECK_OK(softiommu_dev_create(fd, "smmuv3:smmu=t,sid=0x42", 0, &b, &id));
	softiommu_dev_destroy(b);
	/* Free again once its device is gone */
	softiommu_dev_destroy(a);
	CHECK_OK(softiommu_dev_create(fd, "smmuv3:smmu=s,sid=0x42", 0, &a, &id));
	softiommu_dev_destroy(a);
	/* Within SIDSIZE (16 bits by default, 20 asked for) */
	CHECK_ERR(EINVAL, softiommu_dev_create(fd, "smmuv3:sid=0x10000", 0, &a, &id));
	CHECK_OK(softiommu_dev_create(fd, "smmuv3:sid=0xfffff", SMMUV3_DEV_SID_BITS(20), &a,
				      &id));
	softiommu_dev_destroy(a);
	/* One StreamID bit: two devices, the automatic one skips the chosen one, then ENOSPC */
	CHECK_OK(softiommu_dev_create(fd, "smmuv3:smmu=tiny,sid=1", SMMUV3_DEV_SID_BITS(1), &a,
				      &id));
	CHECK_OK(softiommu_dev_create(fd, "smmuv3:smmu=tiny", SMMUV3_DEV_SID_BITS(1), &b, &id));
	CHECK_ERR(ENOSPC, softiommu_dev_create(fd, "smmuv3:smmu=tiny", SMMUV3_DEV_SID_BITS(1),
					       &c, &id));
	CHECK_ERR(EEXIST, softiommu_dev_create(fd, "smmuv3:smmu=tiny,sid=0",
					       SMMUV3_DEV_SID_BITS(1), &c, &id));
	softiommu_dev_destroy(a);
	CHECK_OK(softiommu_dev_create(fd, "smmuv3:smmu=tiny", SMMUV3_DEV_SID_BITS(1), &c, &id));
	softiommu_dev_destroy(c);
	softiommu_dev_destroy(b);
	CHECK_OK(softiommu_close(fd));
}

/* Named instances are separate SMMUs; one name is one configuration */
static void test_instances(void)
{
	struct softiommu_dev *a, *a2, *b;
	unsigned int a_id, a2_id, b_id, pt;
	uint32_t ioas, s2, viommu, id;
	int fd = softiommu_open(0);

	ioas = t_ioas_alloc(fd);
	CHECK_OK(softiommu_dev_create(fd, "smmuv3:smmu=a", 0, &a, &a_id));
	CHECK_OK(softiommu_dev_create(fd, "smmuv3:smmu=b", 0, &b, &b_id));
	/* The same name, per-device flags aside, is the same SMMU; other flags are EINVAL */
	CHECK_OK(softiommu_dev_create(fd, "smmuv3:smmu=a", SMMUV3_DEV_PASID, &a2, &a2_id));
	CHECK_ERR(EINVAL, softiommu_dev_create(fd, "smmuv3:smmu=a", SMMUV3_DEV_OAS(2), &b, &id));
	CHECK_OK(t_hwpt_alloc(fd, a_id, ioas, IOMMU_HWPT_ALLOC_NEST_PARENT, IOMMU_HWPT_DATA_NONE,
			      NULL, 0, &s2));
	pt = s2;
	CHECK_OK(softiommu_dev_attach(a2, 0, &pt));
	pt = s2;
	CHECK_ERR(EINVAL, softiommu_dev_attach(b, 0, &pt));
	CHECK_OK(t_viommu_alloc(fd, a_id, s2, IOMMU_VIOMMU_TYPE_ARM_SMMUV3, 0, &viommu));
	CHECK_ERR(EINVAL, t_viommu_alloc(fd, b_id, s2, IOMMU_VIOMMU_TYPE_ARM_SMMUV3, 0, &id));
	CHECK_ERR(EINVAL, t_vdevice_alloc(fd, viommu, b_id, 1, &id));
	CHECK_OK(t_vdevice_alloc(fd, viommu, a2_id, 1, &id));
	/* The unnamed SMMU of the same configuration is another one still */
	{
		struct softiommu_dev *u;
		unsigned int u_id;

		CHECK_OK(softiommu_dev_create(fd, "smmuv3", 0, &u, &u_id));
		CHECK_ERR(EINVAL, t_vdevice_alloc(fd, viommu, u_id, 2, &id));
		softiommu_dev_destroy(u);
	}
	softiommu_dev_destroy(a2);
	softiommu_dev_destroy(b);
	softiommu_dev_destroy(a);
	CHECK_OK(softiommu_close(fd));
}

int main(void)
{
	test_parse();
	test_sids();
	test_instances();
	return t_done();
}
