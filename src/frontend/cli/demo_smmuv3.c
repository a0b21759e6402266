// SPDX-License-Identifier: MIT
/*
 * softiommu demo smmuv3 (issue 7, item 6): the nested SMMUv3 story, step by step, through
 * the public C API. A guest builds its stage-1 tables and a CD table in its own memory;
 * the VMM maps that memory into an IOAS (stage 2), allocates the NEST_PARENT HWPT, the
 * vIOMMU, a vDEVICE with vSID 0x10, a vEVENTQ and the nested HWPT from the guest's STE;
 * the device DMAs through stage 1 + stage 2; the guest unmaps a page and issues TLBI_NH_VA
 * (IOMMU_HWPT_INVALIDATE); the next DMA faults, and the F_TRANSLATION record the VMM reads
 * from the vEVENTQ carries vSID 0x10.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <linux/iommufd.h>
#include <softiommu/softiommu.h>

#define STEP(...) printf("\n== " __VA_ARGS__)
#define PG 4096ULL
#define GUEST_IPA 0x80000000ULL /* where the guest's RAM sits in the IOAS (its IPA) */
#define GUEST_SIZE (64 * PG)
#define GUEST_VA 0x7f0000000000ULL /* the buffer's address in the guest's stage 1 */
#define VSID 0x10

static int check(long rc, const char *what)
{
	if (rc < 0) {
		fprintf(stderr, "demo: %s failed: %s\n", what, strerror((int)-rc));
		exit(1);
	}
	return (int)rc;
}

/* The guest: its RAM, and a page allocator over it */
static char *ram;
static uint64_t ram_next;

static uint64_t guest_page(void)
{
	uint64_t ipa = GUEST_IPA + ram_next;

	ram_next += PG;
	return ipa;
}

static uint64_t *guest_u64(uint64_t ipa)
{
	return (uint64_t *)(ram + (ipa - GUEST_IPA));
}

/* The guest kernel's stage-1 page-table code: a 4 KiB page at @va, 4 levels, 48-bit VA */
static uint64_t *guest_pte(uint64_t root, uint64_t va)
{
	uint64_t table = root;

	for (unsigned int level = 0; level != 3; level++) {
		uint64_t *d = guest_u64(table) + ((va >> (39 - 9 * level)) & 511);

		if (!(*d & 1))
			*d = guest_page() | 3; /* a table descriptor */
		table = *d & 0x0000fffffffff000ULL;
	}
	return guest_u64(table) + ((va >> 12) & 511);
}

int softiommu_demo_smmuv3(void)
{
	struct iommu_ioas_alloc ioas = { .size = sizeof(ioas) };
	struct iommu_ioas_map map = { .size = sizeof(map) };
	struct iommu_hwpt_alloc s2 = { .size = sizeof(s2) }, nested = { .size = sizeof(nested) };
	struct iommu_viommu_alloc viommu = { .size = sizeof(viommu) };
	struct iommu_vdevice_alloc vdev = { .size = sizeof(vdev) };
	struct iommu_veventq_alloc veventq = { .size = sizeof(veventq) };
	struct iommu_hwpt_arm_smmuv3 ste = {};
	struct iommu_hw_info_arm_smmuv3 info = {};
	struct iommu_hw_info hw = { .size = sizeof(hw) };
	struct {
		struct iommufd_vevent_header hdr;
		struct iommu_vevent_arm_smmuv3 ev;
	} rec;
	struct softiommu_dev *dev;
	uint64_t cd_table, root, data, *cd, cmd[2];
	struct iommu_hwpt_invalidate inv = { .size = sizeof(inv) };
	unsigned int dev_id, pt;
	char out[40];
	long rc;
	int fd;

	printf("softiommu demo smmuv3: a guest's stage 1 over the VMM's stage 2 on an SMMUv3\n");

	STEP("the VMM opens /dev/iommu and creates a device behind an SMMUv3\n");
	fd = check(softiommu_open(0), "open");
	check(softiommu_dev_create(fd, "smmuv3", 0, &dev, &dev_id), "dev_create");
	hw.dev_id = dev_id;
	hw.data_len = sizeof(info);
	hw.data_uptr = (uintptr_t)&info;
	check(softiommu_ioctl(fd, IOMMU_GET_HW_INFO, &hw), "GET_HW_INFO");
	printf("   device %u; IOMMU_GET_HW_INFO: type %u, IDR0 0x%08x (S1P %u, S2P %u), "
	       "IDR1 0x%08x, IIDR 0x%08x\n", dev_id, hw.out_data_type, info.idr[0],
	       (info.idr[0] >> 1) & 1, info.idr[0] & 1, info.idr[1], info.iidr);

	STEP("the guest's RAM (%llu KiB) becomes IPA 0x%llx of an IOAS: the stage 2\n",
	     GUEST_SIZE >> 10, GUEST_IPA);
	ram = mmap(NULL, GUEST_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (ram == MAP_FAILED)
		return 1;
	memset(ram, 0, GUEST_SIZE);
	check(softiommu_ioctl(fd, IOMMU_IOAS_ALLOC, &ioas), "IOAS_ALLOC");
	map.ioas_id = ioas.out_ioas_id;
	map.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE |
		    IOMMU_IOAS_MAP_WRITEABLE;
	map.user_va = (uintptr_t)ram;
	map.length = GUEST_SIZE;
	map.iova = GUEST_IPA;
	check(softiommu_ioctl(fd, IOMMU_IOAS_MAP, &map), "IOAS_MAP");
	s2.flags = IOMMU_HWPT_ALLOC_NEST_PARENT;
	s2.dev_id = dev_id;
	s2.pt_id = ioas.out_ioas_id;
	check(softiommu_ioctl(fd, IOMMU_HWPT_ALLOC, &s2), "HWPT_ALLOC nest parent");
	printf("   IOAS %u; NEST_PARENT HWPT %u: the SMMU's stage-2 table, with a VMID\n",
	       ioas.out_ioas_id, s2.out_hwpt_id);

	STEP("the guest builds a CD table and stage-1 tables in its memory\n");
	cd_table = guest_page();
	root = guest_page();
	data = guest_page();
	guest_page(); /* the second data page, right after the first */
	for (unsigned int i = 0; i != 2; i++)
		*guest_pte(root, GUEST_VA + i * PG) = (data + i * PG) | (1 << 10) | (1 << 6) |
						       (3 << 8) | 3;
	strcpy(ram + (data - GUEST_IPA), "a page of the guest");
	cd = guest_u64(cd_table);
	cd[1] = root;                     /* TTB0 */
	cd[3] = 0x44ff04;                 /* MAIR */
	cd[0] = 16 | (1ULL << 30)         /* T0SZ 16 (48-bit VA), TG0 4 KiB, EPD1 */
		| (1ULL << 31) | (5ULL << 32) /* V, IPS 48 bits */
		| (1ULL << 41) | (1ULL << 45) /* AArch64, R (record faults) */
		| (7ULL << 48);               /* ASID 7 */
	printf("   CD table at IPA 0x%llx: CD 0 = ASID 7, TTB0 IPA 0x%llx\n",
	       (unsigned long long)cd_table, (unsigned long long)root);
	printf("   stage 1 maps VA 0x%llx.. (2 pages) to IPA 0x%llx..\n",
	       (unsigned long long)GUEST_VA, (unsigned long long)data);

	STEP("the VMM: vIOMMU, vDEVICE (vSID 0x%x), vEVENTQ, nested HWPT from the guest STE\n",
	     VSID);
	viommu.type = IOMMU_VIOMMU_TYPE_ARM_SMMUV3;
	viommu.dev_id = dev_id;
	viommu.hwpt_id = s2.out_hwpt_id;
	check(softiommu_ioctl(fd, IOMMU_VIOMMU_ALLOC, &viommu), "VIOMMU_ALLOC");
	vdev.viommu_id = viommu.out_viommu_id;
	vdev.dev_id = dev_id;
	vdev.virt_id = VSID;
	check(softiommu_ioctl(fd, IOMMU_VDEVICE_ALLOC, &vdev), "VDEVICE_ALLOC");
	veventq.viommu_id = viommu.out_viommu_id;
	veventq.type = IOMMU_VEVENTQ_TYPE_ARM_SMMUV3;
	veventq.veventq_depth = 16;
	check(softiommu_ioctl(fd, IOMMU_VEVENTQ_ALLOC, &veventq), "VEVENTQ_ALLOC");
	ste.ste[0] = 1 | (5 << 1) | cd_table; /* V, Config = stage 1 translate, S1ContextPtr */
	nested.dev_id = dev_id;
	nested.pt_id = viommu.out_viommu_id;
	nested.data_type = IOMMU_HWPT_DATA_ARM_SMMUV3;
	nested.data_len = sizeof(ste);
	nested.data_uptr = (uintptr_t)&ste;
	check(softiommu_ioctl(fd, IOMMU_HWPT_ALLOC, &nested), "HWPT_ALLOC nested");
	pt = nested.out_hwpt_id;
	check(softiommu_dev_attach(dev, 0, &pt), "attach");
	printf("   vIOMMU %u, vDEVICE %u, vEVENTQ %u (fd %u), nested HWPT %u attached\n"
	       "   guest STE: 0x%016llx 0x%016llx\n", viommu.out_viommu_id, vdev.out_vdevice_id,
	       veventq.out_veventq_id, veventq.out_veventq_fd, nested.out_hwpt_id,
	       (unsigned long long)ste.ste[0], (unsigned long long)ste.ste[1]);

	STEP("the device DMAs at guest VA 0x%llx: STE -> CD -> stage 1 -> stage 2\n",
	     (unsigned long long)GUEST_VA);
	check(softiommu_dma_read(dev, 0, GUEST_VA, out, 20), "dma_read");
	printf("   dma_read: \"%s\"\n", out);
	check(softiommu_dma_write(dev, 0, GUEST_VA + PG + 8, "written by the device", 22),
	      "dma_write");
	printf("   dma_write at VA 0x%llx; the guest sees \"%s\" at IPA 0x%llx\n",
	       (unsigned long long)GUEST_VA + PG + 8, ram + (data - GUEST_IPA) + PG + 8,
	       (unsigned long long)data + PG + 8);

	STEP("the guest unmaps its second page and issues TLBI_NH_VA (ASID 7)\n");
	*guest_pte(root, GUEST_VA + PG) = 0;
	cmd[0] = 0x12 | (7ULL << 48); /* TLBI_NH_VA, ASID 7; the VMID is the host's to set */
	cmd[1] = GUEST_VA + PG;
	inv.hwpt_id = viommu.out_viommu_id;
	inv.data_uptr = (uintptr_t)cmd;
	inv.data_type = IOMMU_VIOMMU_INVALIDATE_DATA_ARM_SMMUV3;
	inv.entry_len = sizeof(cmd);
	inv.entry_num = 1;
	check(softiommu_ioctl(fd, IOMMU_HWPT_INVALIDATE, &inv), "HWPT_INVALIDATE");
	printf("   IOMMU_HWPT_INVALIDATE on vIOMMU %u: %u command done\n", viommu.out_viommu_id,
	       inv.entry_num);

	STEP("the next DMA faults; the VMM reads the event from the vEVENTQ\n");
	rc = softiommu_dma_read(dev, 0, GUEST_VA + PG + 8, out, 8);
	printf("   dma_read at VA 0x%llx: %s\n", (unsigned long long)GUEST_VA + PG + 8,
	       strerror((int)-rc));
	if (rc != -EFAULT ||
	    softiommu_read((int)veventq.out_veventq_fd, &rec, sizeof(rec)) != sizeof(rec)) {
		fprintf(stderr, "demo: no event\n");
		return 1;
	}
	printf("   record %u: type 0x%02llx (F_TRANSLATION), StreamID = vSID 0x%llx, %s, "
	       "stage %u, input address 0x%llx\n", rec.hdr.sequence,
	       (unsigned long long)(rec.ev.evt[0] & 0xff),
	       (unsigned long long)(rec.ev.evt[0] >> 32),
	       (rec.ev.evt[1] >> 35) & 1 ? "read" : "write",
	       (rec.ev.evt[1] >> 39) & 1 ? 2 : 1, (unsigned long long)rec.ev.evt[2]);
	printf("   a VMM injects it into the guest's event queue as the guest's own SMMU's\n");

	STEP("teardown\n");
	softiommu_dev_destroy(dev);
	check(softiommu_close((int)veventq.out_veventq_fd), "close vEVENTQ");
	check(softiommu_close(fd), "close");
	munmap(ram, GUEST_SIZE);
	printf("   device, vEVENTQ and iommufd closed\n\ndemo complete\n");
	return 0;
}
