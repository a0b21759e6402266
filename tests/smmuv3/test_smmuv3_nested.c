// SPDX-License-Identifier: MIT
/*
 * The nested SMMUv3 objects through the uAPI, with Linux 7.2's errnos (fact sheet 1.3-1.6):
 * IOMMU_VIOMMU_ALLOC of type ARM_SMMUV3, IOMMU_VDEVICE_ALLOC with a vSID, nested HWPTs
 * from guest STEs (every row of arm_smmu_validate_vste), and the nested attach rules.
 */
#include "smmu_test.h"

struct setup {
	int fd;
	uint32_t ioas, s2, viommu;
	struct softiommu_dev *dev;
	unsigned int dev_id;
};

static void setup(struct setup *s, uint32_t flags)
{
	s->fd = softiommu_open(0);
	s->ioas = t_ioas_alloc(s->fd);
	CHECK_OK(softiommu_dev_create(s->fd, "smmuv3", flags, &s->dev, &s->dev_id));
	CHECK_OK(t_hwpt_alloc(s->fd, s->dev_id, s->ioas, IOMMU_HWPT_ALLOC_NEST_PARENT,
			      IOMMU_HWPT_DATA_NONE, NULL, 0, &s->s2));
	CHECK_OK(t_viommu_alloc(s->fd, s->dev_id, s->s2, IOMMU_VIOMMU_TYPE_ARM_SMMUV3, 0,
				&s->viommu));
}

static void teardown(struct setup *s)
{
	softiommu_dev_destroy(s->dev);
	CHECK_OK(softiommu_close(s->fd));
}

/* IOMMU_VIOMMU_ALLOC: the checks in Linux's order (fact sheet 1.3) */
static void test_viommu_alloc(void)
{
	struct softiommu_dev *nos2, *other;
	unsigned int nos2_id, other_id;
	uint32_t s1, other_s2, id, id2;
	struct setup s;

	setup(&s, 0);
	CHECK_ERR(EOPNOTSUPP, t_viommu_alloc(s.fd, s.dev_id, s.s2, IOMMU_VIOMMU_TYPE_ARM_SMMUV3,
					     1, &id));
	CHECK_ERR(EOPNOTSUPP, t_viommu_alloc(s.fd, s.dev_id, s.s2, IOMMU_VIOMMU_TYPE_DEFAULT, 0,
					     &id));
	CHECK_ERR(ENOENT, t_viommu_alloc(s.fd, 9999, s.s2, IOMMU_VIOMMU_TYPE_ARM_SMMUV3, 0, &id));
	/* Another type (the mock's, Tegra's CMDQV) has no size on this SMMU */
	CHECK_ERR(EOPNOTSUPP, t_viommu_alloc(s.fd, s.dev_id, s.s2, IOMMU_VIOMMU_TYPE_SELFTEST, 0,
					     &id));
	CHECK_ERR(EOPNOTSUPP, t_viommu_alloc(s.fd, s.dev_id, s.s2,
					     IOMMU_VIOMMU_TYPE_TEGRA241_CMDQV, 0, &id));
	/* No FEAT_NESTING: an SMMU without stage 2 sizes no vIOMMU */
	CHECK_OK(softiommu_dev_create(s.fd, "smmuv3", SMMUV3_DEV_NO_S2, &nos2, &nos2_id));
	CHECK_ERR(EOPNOTSUPP, t_viommu_alloc(s.fd, nos2_id, s.s2, IOMMU_VIOMMU_TYPE_ARM_SMMUV3, 0,
					     &id));
	/* hwpt_id not a paging HWPT (an IOAS, the vIOMMU itself) */
	CHECK_ERR(ENOENT, t_viommu_alloc(s.fd, s.dev_id, s.ioas, IOMMU_VIOMMU_TYPE_ARM_SMMUV3, 0,
					 &id));
	CHECK_ERR(ENOENT, t_viommu_alloc(s.fd, s.dev_id, s.viommu, IOMMU_VIOMMU_TYPE_ARM_SMMUV3,
					 0, &id));
	/* A paging HWPT that is no NEST_PARENT */
	CHECK_OK(t_hwpt_alloc(s.fd, s.dev_id, s.ioas, 0, IOMMU_HWPT_DATA_NONE, NULL, 0, &s1));
	CHECK_ERR(EINVAL, t_viommu_alloc(s.fd, s.dev_id, s1, IOMMU_VIOMMU_TYPE_ARM_SMMUV3, 0,
					 &id));
	/* A NEST_PARENT of another SMMU (another configuration: another instance) */
	CHECK_OK(softiommu_dev_create(s.fd, "smmuv3", SMMUV3_DEV_OAS(4), &other, &other_id));
	CHECK_OK(t_hwpt_alloc(s.fd, other_id, s.ioas, IOMMU_HWPT_ALLOC_NEST_PARENT,
			      IOMMU_HWPT_DATA_NONE, NULL, 0, &other_s2));
	CHECK_ERR(EINVAL, t_viommu_alloc(s.fd, s.dev_id, other_s2, IOMMU_VIOMMU_TYPE_ARM_SMMUV3,
					 0, &id));
	CHECK_ERR(EINVAL, t_viommu_alloc(s.fd, other_id, s.s2, IOMMU_VIOMMU_TYPE_ARM_SMMUV3, 0,
					 &id));
	/* Type-1 user data is ignored; two vIOMMUs may share one parent (and its VMID) */
	{
		uint64_t junk[2] = { ~0ULL, ~0ULL };
		struct iommu_viommu_alloc v = { .size = sizeof(v),
						.type = IOMMU_VIOMMU_TYPE_ARM_SMMUV3,
						.dev_id = s.dev_id, .hwpt_id = s.s2,
						.data_len = sizeof(junk),
						.data_uptr = (uintptr_t)junk };

		CHECK_OK(softiommu_ioctl(s.fd, IOMMU_VIOMMU_ALLOC, &v));
		id2 = v.out_viommu_id;
	}
	CHECK_OK(t_viommu_alloc(s.fd, other_id, other_s2, IOMMU_VIOMMU_TYPE_ARM_SMMUV3, 0, &id));
	/* The parent is held by its vIOMMUs */
	CHECK_ERR(EBUSY, t_destroy(s.fd, other_s2));
	CHECK_OK(t_destroy(s.fd, id));
	CHECK_OK(t_destroy(s.fd, other_s2));
	CHECK_OK(t_destroy(s.fd, id2));
	softiommu_dev_destroy(other);
	softiommu_dev_destroy(nos2);
	teardown(&s);
}

/* IOMMU_VDEVICE_ALLOC (fact sheet 1.6) */
static void test_vdevice(void)
{
	struct softiommu_dev *dev2, *other;
	unsigned int dev2_id, other_id;
	uint32_t vdev, vdev2, id, viommu2;
	struct setup s;

	setup(&s, 0);
	CHECK_OK(softiommu_dev_create(s.fd, "smmuv3", 0, &dev2, &dev2_id));
	CHECK_OK(softiommu_dev_create(s.fd, "smmuv3", SMMUV3_DEV_OAS(4), &other, &other_id));
	CHECK_OK(t_vdevice_alloc(s.fd, s.viommu, s.dev_id, 0x10, &vdev));
	/* The device already has one (on this vIOMMU or another) */
	CHECK_ERR(EEXIST, t_vdevice_alloc(s.fd, s.viommu, s.dev_id, 0x11, &id));
	CHECK_OK(t_viommu_alloc(s.fd, s.dev_id, s.s2, IOMMU_VIOMMU_TYPE_ARM_SMMUV3, 0, &viommu2));
	CHECK_ERR(EEXIST, t_vdevice_alloc(s.fd, viommu2, s.dev_id, 0x11, &id));
	/* The vSID is taken in this vIOMMU, not in another */
	CHECK_ERR(EEXIST, t_vdevice_alloc(s.fd, s.viommu, dev2_id, 0x10, &id));
	CHECK_OK(t_vdevice_alloc(s.fd, viommu2, dev2_id, 0x10, &vdev2));
	CHECK_OK(t_destroy(s.fd, vdev2));
	/* No range check for a plain SMMUv3: a vSID beyond 32 bits is accepted */
	CHECK_OK(t_vdevice_alloc(s.fd, s.viommu, dev2_id, 1ULL << 40, &vdev2));
	/* A device of another SMMU */
	CHECK_ERR(EINVAL, t_vdevice_alloc(s.fd, s.viommu, other_id, 0x20, &id));
	CHECK_ERR(ENOENT, t_vdevice_alloc(s.fd, s.viommu, 9999, 0x20, &id));
	/* Destroyed, the vSID is free again */
	CHECK_OK(t_destroy(s.fd, vdev));
	CHECK_OK(t_vdevice_alloc(s.fd, s.viommu, s.dev_id, 0x10, &vdev));
	CHECK_OK(t_destroy(s.fd, vdev2));
	CHECK_OK(t_destroy(s.fd, viommu2));
	softiommu_dev_destroy(other);
	softiommu_dev_destroy(dev2);
	teardown(&s);
}

/* IOMMU_HWPT_ALLOC of a nested HWPT: the checks before the STE's (fact sheet 1.4) */
static void test_nested_alloc_args(void)
{
	struct iommu_hwpt_arm_smmuv3 ste = { .ste = { STE_ABORT, 0 } };
	uint64_t longer[3] = { STE_ABORT, 0, 0 }, longer_nz[3] = { STE_ABORT, 0, 1 };
	struct softiommu_dev *other;
	unsigned int other_id;
	struct setup s;
	uint32_t id;

	setup(&s, 0);
	/* A NEST_PARENT HWPT as pt_id: the driver has no plain domain_alloc_nested */
	CHECK_ERR(EOPNOTSUPP, t_hwpt_alloc(s.fd, s.dev_id, s.s2, 0, IOMMU_HWPT_DATA_ARM_SMMUV3,
					   &ste, sizeof(ste), &id));
	/* Flags: PASID is refused by the driver, anything unknown by the core */
	CHECK_ERR(EOPNOTSUPP, t_hwpt_alloc(s.fd, s.dev_id, s.viommu, IOMMU_HWPT_ALLOC_PASID,
					   IOMMU_HWPT_DATA_ARM_SMMUV3, &ste, sizeof(ste), &id));
	CHECK_ERR(EOPNOTSUPP, t_hwpt_alloc(s.fd, s.dev_id, s.viommu,
					   IOMMU_HWPT_ALLOC_NEST_PARENT,
					   IOMMU_HWPT_DATA_ARM_SMMUV3, &ste, sizeof(ste), &id));
	/* No data at all */
	CHECK_ERR(EOPNOTSUPP, t_hwpt_alloc(s.fd, s.dev_id, s.viommu, 0, IOMMU_HWPT_DATA_NONE,
					   NULL, 0, &id));
	/* The core's pairing of type and length */
	CHECK_ERR(EINVAL, t_hwpt_alloc(s.fd, s.dev_id, s.viommu, 0, IOMMU_HWPT_DATA_NONE, &ste,
				       sizeof(ste), &id));
	CHECK_ERR(EINVAL, t_hwpt_alloc(s.fd, s.dev_id, s.viommu, 0, IOMMU_HWPT_DATA_ARM_SMMUV3,
				       &ste, 0, &id));
	/* Another type, or a length other than 16 (shorter or longer, zero tail or not) */
	CHECK_ERR(EINVAL, t_hwpt_alloc(s.fd, s.dev_id, s.viommu, 0, IOMMU_HWPT_DATA_SELFTEST,
				       &ste, sizeof(ste), &id));
	CHECK_ERR(EINVAL, t_hwpt_alloc(s.fd, s.dev_id, s.viommu, 0, IOMMU_HWPT_DATA_VTD_S1,
				       &ste, sizeof(ste), &id));
	CHECK_ERR(EINVAL, t_hwpt_alloc(s.fd, s.dev_id, s.viommu, 0, IOMMU_HWPT_DATA_ARM_SMMUV3,
				       &ste, 8, &id));
	CHECK_ERR(EINVAL, t_hwpt_alloc(s.fd, s.dev_id, s.viommu, 0, IOMMU_HWPT_DATA_ARM_SMMUV3,
				       longer, sizeof(longer), &id));
	CHECK_ERR(EINVAL, t_hwpt_alloc(s.fd, s.dev_id, s.viommu, 0, IOMMU_HWPT_DATA_ARM_SMMUV3,
				       longer_nz, sizeof(longer_nz), &id));
	CHECK_ERR(EFAULT, t_hwpt_alloc(s.fd, s.dev_id, s.viommu, 0, IOMMU_HWPT_DATA_ARM_SMMUV3,
				       (void *)8, 16, &id));
	/* A device of another SMMU */
	CHECK_OK(softiommu_dev_create(s.fd, "smmuv3", SMMUV3_DEV_OAS(4), &other, &other_id));
	CHECK_ERR(EINVAL, t_hwpt_alloc(s.fd, other_id, s.viommu, 0, IOMMU_HWPT_DATA_ARM_SMMUV3,
				       &ste, sizeof(ste), &id));
	/* The valid one */
	CHECK_OK(t_hwpt_alloc(s.fd, s.dev_id, s.viommu, 0, IOMMU_HWPT_DATA_ARM_SMMUV3, &ste,
			      sizeof(ste), &id));
	/* The vIOMMU is held by its nested HWPTs */
	CHECK_ERR(EBUSY, t_destroy(s.fd, s.viommu));
	CHECK_OK(t_destroy(s.fd, id));
	softiommu_dev_destroy(other);
	teardown(&s);
}

/* Every row of arm_smmu_validate_vste (fact sheet 1.4 and 3.1) */
static void test_vste_validation(void)
{
	static const struct {
		uint64_t ste0, ste1;
		int err;
	} rows[] = {
		/* V = 0 is accepted, whatever else is set */
		{ 0, 0, 0 },
		{ ~1ULL, ~0ULL, 0 },
		{ STE_CFG(7) | (1ULL << 55), STE1_EATS(3), 0 },
		/* The three configurations Linux nests; EATS 0b00 and 0b01 */
		{ STE_ABORT, 0, 0 },
		{ STE_BYPASS, 0, 0 },
		{ STE_S1, 0, 0 },
		{ STE_S1, STE1_EATS(1), 0 },
		{ STE_BYPASS, STE1_EATS(1), 0 },
		{ STE_ABORT, STE1_EATS(1), 0 },
		/* Every allowed field at its widest */
		{ STE_S1 | STE_FMT(3) | (0x000fffffffffffc0ULL) | STE_CDMAX(31),
		  0xff | (1ULL << 27) | STE1_EATS(1), 0 },
		/* Other configurations: reserved, S2-only, nested */
		{ STE_V | STE_CFG(1), 0, -EIO },
		{ STE_V | STE_CFG(2), 0, -EIO },
		{ STE_V | STE_CFG(3), 0, -EIO },
		{ STE_V | STE_CFG(6), 0, -EIO },
		{ STE_V | STE_CFG(7), 0, -EIO },
		/* EATS 0b10 (split stage) and 0b11, for every configuration */
		{ STE_S1, STE1_EATS(2), -EIO },
		{ STE_S1, STE1_EATS(3), -EIO },
		{ STE_BYPASS, STE1_EATS(2), -EIO },
		{ STE_ABORT, STE1_EATS(3), -EIO },
		/* dword 0 bits outside the mask: S1ContextPtr 55:52 included */
		{ STE_S1 | (1ULL << 52), 0, -EIO },
		{ STE_S1 | (1ULL << 55), 0, -EIO },
		{ STE_S1 | (1ULL << 58), 0, -EIO },
		/* dword 1 bits outside it: MEV, S2FWB, STRW, SHCFG, bit 8 */
		{ STE_S1, 1ULL << 8, -EIO },
		{ STE_S1, 1ULL << 19, -EIO },
		{ STE_S1, 1ULL << 25, -EIO },
		{ STE_S1, 1ULL << 30, -EIO },
		{ STE_S1, 1ULL << 44, -EIO },
		{ STE_S1, 1ULL << 63, -EIO },
		{ STE_ABORT, 1ULL << 31, -EIO },
	};
	struct setup s;

	setup(&s, 0);
	for (size_t i = 0; i != sizeof(rows) / sizeof(rows[0]); i++) {
		uint32_t id = 0;
		long rc = t_nested_alloc(s.fd, s.dev_id, s.viommu, rows[i].ste0, rows[i].ste1, &id);

		if (rc != rows[i].err)
			fprintf(stderr, "vSTE row %zu: %ld, expected %d\n", i, rc, rows[i].err);
		CHECK(rc == rows[i].err);
		if (!rc)
			CHECK_OK(t_destroy(s.fd, id));
	}
	teardown(&s);
}

/* Attaching nested HWPTs (fact sheet 1.5, 3.3, 3.16) */
static void test_attach(void)
{
	struct softiommu_dev *pdev, *other;
	unsigned int pdev_id, other_id, pt;
	uint32_t abort_id, bypass_id, s1_id, vdev, s1pg, invalid_id;
	struct setup s;

	setup(&s, SMMUV3_DEV_PASID);
	CHECK_OK(t_nested_alloc(s.fd, s.dev_id, s.viommu, STE_ABORT, 0, &abort_id));
	CHECK_OK(t_nested_alloc(s.fd, s.dev_id, s.viommu, STE_BYPASS, 0, &bypass_id));
	CHECK_OK(t_nested_alloc(s.fd, s.dev_id, s.viommu, STE_S1, 0, &s1_id));
	CHECK_OK(t_nested_alloc(s.fd, s.dev_id, s.viommu, 0, 0, &invalid_id));
	/* Abort, bypass and V = 0 attach without a vDEVICE; a translating STE needs one */
	pt = abort_id;
	CHECK_OK(softiommu_dev_attach(s.dev, 0, &pt));
	pt = bypass_id;
	CHECK_OK(softiommu_dev_attach(s.dev, 0, &pt));
	pt = invalid_id;
	CHECK_OK(softiommu_dev_attach(s.dev, 0, &pt));
	pt = s1_id;
	CHECK_ERR(ENOENT, softiommu_dev_attach(s.dev, 0, &pt));
	/* A vDEVICE on another vIOMMU does not count */
	{
		uint32_t viommu2, vdev2;

		CHECK_OK(t_viommu_alloc(s.fd, s.dev_id, s.s2, IOMMU_VIOMMU_TYPE_ARM_SMMUV3, 0,
					&viommu2));
		CHECK_OK(t_vdevice_alloc(s.fd, viommu2, s.dev_id, 0x10, &vdev2));
		pt = s1_id;
		CHECK_ERR(ENOENT, softiommu_dev_attach(s.dev, 0, &pt));
		CHECK_OK(t_destroy(s.fd, vdev2));
		CHECK_OK(t_destroy(s.fd, viommu2));
	}
	CHECK_OK(t_vdevice_alloc(s.fd, s.viommu, s.dev_id, 0x10, &vdev));
	pt = s1_id;
	CHECK_OK(softiommu_dev_attach(s.dev, 0, &pt));
	/* Attached, the HWPT stays */
	CHECK_ERR(EBUSY, t_destroy(s.fd, s1_id));
	/* Destroying the vDEVICE does not detach (the vSID was latched) */
	CHECK_OK(t_destroy(s.fd, vdev));
	CHECK_OK(softiommu_dev_detach(s.dev, 0));

	/* A device of another SMMU cannot take the nested HWPT */
	CHECK_OK(softiommu_dev_create(s.fd, "smmuv3", SMMUV3_DEV_OAS(4), &other, &other_id));
	pt = bypass_id;
	CHECK_ERR(EINVAL, softiommu_dev_attach(other, 0, &pt));

	/*
	 * Host-owned PASIDs on the device: the core refuses a RID HWPT without the PASID flag
	 * first (EINVAL, iommufd_hwpt_pasid_compat), and a nested one cannot have that flag, so
	 * the driver's EBUSY (arm_smmu_ssids_in_use) is not reachable through the uAPI
	 */
	CHECK_OK(softiommu_dev_create(s.fd, "smmuv3", SMMUV3_DEV_PASID, &pdev, &pdev_id));
	CHECK_OK(t_hwpt_alloc(s.fd, pdev_id, s.ioas, IOMMU_HWPT_ALLOC_PASID,
			      IOMMU_HWPT_DATA_NONE, NULL, 0, &s1pg));
	pt = s1pg;
	CHECK_OK(softiommu_dev_attach(pdev, 7, &pt));
	pt = bypass_id;
	CHECK_ERR(EINVAL, softiommu_dev_attach(pdev, 0, &pt));
	CHECK_OK(softiommu_dev_detach(pdev, 7));
	pt = bypass_id;
	CHECK_OK(softiommu_dev_attach(pdev, 0, &pt));
	/* A nested HWPT takes no PASID */
	pt = bypass_id;
	CHECK(softiommu_dev_attach(pdev, 9, &pt) < 0);
	CHECK_OK(softiommu_dev_detach(pdev, 0));

	softiommu_dev_destroy(pdev);
	softiommu_dev_destroy(other);
	CHECK_OK(t_destroy(s.fd, s1pg));
	CHECK_OK(t_destroy(s.fd, s1_id));
	CHECK_OK(t_destroy(s.fd, bypass_id));
	CHECK_OK(t_destroy(s.fd, abort_id));
	CHECK_OK(t_destroy(s.fd, invalid_id));
	teardown(&s);
}

int main(void)
{
	test_viommu_alloc();
	test_vdevice();
	test_nested_alloc_args();
	test_vste_validation();
	test_attach();
	return t_done();
}
