// SPDX-License-Identifier: MIT
/*
 * dump_test_abi.c — print every constant, struct size and field layout of the selftest mock ABI
 * header "iommufd_test.h", one "kind name key=value..." line each.
 *
 * Built twice, once over softiommu's src/drivers/mock/iommufd_test.h and once over the kernel's
 * drivers/iommu/iommufd/iommufd_test.h (chosen by the include path); check_abi.sh diffs the two
 * outputs, and checks that every name the kernel header declares is dumped here.
 */
#include <stddef.h>
#include <stdio.h>

#include "iommufd_test.h"

/* Signedness is found by comparing -1 with 0, which is constant for each type by design. */
#pragma GCC diagnostic ignored "-Wtype-limits"

/* An integer constant: its value, the size and signedness of its type. */
#define CONST(name)                                                                    \
	printf("const %s value=%lld size=%zu signed=%d\n", #name, (long long)(name),     \
	       sizeof(name), (name) - (name) - 1 < 0)

#define STRUCT(type) \
	printf("struct %s size=%zu align=%zu\n", #type, sizeof(struct type), _Alignof(struct type))

#define MEMBER_OF(type, path) (((struct type *)0)->path)

/* An aggregate member (one arm of a union): where it is and how big. */
#define MEMBER(type, path)                                                            \
	printf("member %s.%s offset=%zu size=%zu align=%zu\n", #type, #path,            \
	       offsetof(struct type, path), sizeof(MEMBER_OF(type, path)),             \
	       __alignof__(MEMBER_OF(type, path)))

/* A scalar field: where, how big, and whether signed. */
#define FIELD(type, path)                                                             \
	printf("field %s.%s offset=%zu size=%zu align=%zu signed=%d\n", #type, #path,  \
	       offsetof(struct type, path), sizeof(MEMBER_OF(type, path)),             \
	       __alignof__(MEMBER_OF(type, path)),                                      \
	       (__typeof__(MEMBER_OF(type, path)))-1 < 0)

static void dump_constants(void)
{
	CONST(IOMMU_TEST_OP_ADD_RESERVED);
	CONST(IOMMU_TEST_OP_MOCK_DOMAIN);
	CONST(IOMMU_TEST_OP_MD_CHECK_MAP);
	CONST(IOMMU_TEST_OP_MD_CHECK_REFS);
	CONST(IOMMU_TEST_OP_CREATE_ACCESS);
	CONST(IOMMU_TEST_OP_DESTROY_ACCESS_PAGES);
	CONST(IOMMU_TEST_OP_ACCESS_PAGES);
	CONST(IOMMU_TEST_OP_ACCESS_RW);
	CONST(IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT);
	CONST(IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE);
	CONST(IOMMU_TEST_OP_ACCESS_REPLACE_IOAS);
	CONST(IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS);
	CONST(IOMMU_TEST_OP_DIRTY);
	CONST(IOMMU_TEST_OP_MD_CHECK_IOTLB);
	CONST(IOMMU_TEST_OP_TRIGGER_IOPF);
	CONST(IOMMU_TEST_OP_DEV_CHECK_CACHE);
	CONST(IOMMU_TEST_OP_TRIGGER_VEVENT);
	CONST(IOMMU_TEST_OP_PASID_ATTACH);
	CONST(IOMMU_TEST_OP_PASID_REPLACE);
	CONST(IOMMU_TEST_OP_PASID_DETACH);
	CONST(IOMMU_TEST_OP_PASID_CHECK_HWPT);
	CONST(IOMMU_TEST_OP_DMABUF_GET);
	CONST(IOMMU_TEST_OP_DMABUF_REVOKE);

	CONST(MOCK_IOMMUPT_DEFAULT);
	CONST(MOCK_IOMMUPT_HUGE);
	CONST(MOCK_APERTURE_START);
	CONST(MOCK_APERTURE_LAST);
	CONST(MOCK_PAGE_SIZE);
	CONST(MOCK_HUGE_PAGE_SIZE);
	CONST(MOCK_FLAGS_ACCESS_WRITE);
	CONST(MOCK_FLAGS_ACCESS_SYZ);
	CONST(MOCK_ACCESS_RW_WRITE);
	CONST(MOCK_ACCESS_RW_SLOW_PATH);
	CONST(MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES);
	CONST(MOCK_FLAGS_DEVICE_NO_DIRTY);
	CONST(MOCK_FLAGS_DEVICE_PASID);
	CONST(MOCK_NESTED_DOMAIN_IOTLB_ID_MAX);
	CONST(MOCK_NESTED_DOMAIN_IOTLB_NUM);
	CONST(MOCK_DEV_CACHE_ID_MAX);
	CONST(MOCK_DEV_CACHE_NUM);

	CONST(IOMMU_TEST_PASID_RESERVED);
	CONST(IOMMU_TEST_CMD);
	CONST(MOCK_PASID_WIDTH);
	CONST(IOMMU_HW_INFO_TYPE_SELFTEST);
	CONST(IOMMU_HW_INFO_SELFTEST_REGVAL);
	CONST(IOMMU_HWPT_DATA_SELFTEST);
	CONST(IOMMU_TEST_IOTLB_DEFAULT);
	CONST(IOMMU_TEST_DEV_CACHE_DEFAULT);
	CONST(IOMMU_HWPT_INVALIDATE_DATA_SELFTEST);
	CONST(IOMMU_HWPT_INVALIDATE_DATA_SELFTEST_INVALID);
	CONST(IOMMU_TEST_INVALIDATE_FLAG_ALL);
	CONST(IOMMU_VIOMMU_TYPE_SELFTEST);
	CONST(IOMMU_VIOMMU_INVALIDATE_DATA_SELFTEST);
	CONST(IOMMU_VIOMMU_INVALIDATE_DATA_SELFTEST_INVALID);
	CONST(IOMMU_VEVENTQ_TYPE_SELFTEST);
	CONST(IOMMU_HW_QUEUE_TYPE_SELFTEST);
	CONST(IOMMU_TEST_HW_QUEUE_MAX);
}

static void dump_test_cmd(void)
{
	STRUCT(iommu_test_cmd);
	FIELD(iommu_test_cmd, size);
	FIELD(iommu_test_cmd, op);
	FIELD(iommu_test_cmd, id);
	FIELD(iommu_test_cmd, __reserved);
	FIELD(iommu_test_cmd, last);

	MEMBER(iommu_test_cmd, add_reserved);
	FIELD(iommu_test_cmd, add_reserved.start);
	FIELD(iommu_test_cmd, add_reserved.length);

	MEMBER(iommu_test_cmd, mock_domain);
	FIELD(iommu_test_cmd, mock_domain.out_stdev_id);
	FIELD(iommu_test_cmd, mock_domain.out_hwpt_id);
	FIELD(iommu_test_cmd, mock_domain.out_idev_id);

	MEMBER(iommu_test_cmd, mock_domain_flags);
	FIELD(iommu_test_cmd, mock_domain_flags.out_stdev_id);
	FIELD(iommu_test_cmd, mock_domain_flags.out_hwpt_id);
	FIELD(iommu_test_cmd, mock_domain_flags.out_idev_id);
	FIELD(iommu_test_cmd, mock_domain_flags.dev_flags);

	MEMBER(iommu_test_cmd, mock_domain_replace);
	FIELD(iommu_test_cmd, mock_domain_replace.pt_id);

	MEMBER(iommu_test_cmd, check_map);
	FIELD(iommu_test_cmd, check_map.iova);
	FIELD(iommu_test_cmd, check_map.length);
	FIELD(iommu_test_cmd, check_map.uptr);

	MEMBER(iommu_test_cmd, check_refs);
	FIELD(iommu_test_cmd, check_refs.length);
	FIELD(iommu_test_cmd, check_refs.uptr);
	FIELD(iommu_test_cmd, check_refs.refs);

	MEMBER(iommu_test_cmd, create_access);
	FIELD(iommu_test_cmd, create_access.out_access_fd);
	FIELD(iommu_test_cmd, create_access.flags);

	MEMBER(iommu_test_cmd, destroy_access_pages);
	FIELD(iommu_test_cmd, destroy_access_pages.access_pages_id);

	MEMBER(iommu_test_cmd, access_pages);
	FIELD(iommu_test_cmd, access_pages.flags);
	FIELD(iommu_test_cmd, access_pages.out_access_pages_id);
	FIELD(iommu_test_cmd, access_pages.iova);
	FIELD(iommu_test_cmd, access_pages.length);
	FIELD(iommu_test_cmd, access_pages.uptr);

	MEMBER(iommu_test_cmd, access_rw);
	FIELD(iommu_test_cmd, access_rw.iova);
	FIELD(iommu_test_cmd, access_rw.length);
	FIELD(iommu_test_cmd, access_rw.uptr);
	FIELD(iommu_test_cmd, access_rw.flags);

	MEMBER(iommu_test_cmd, memory_limit);
	FIELD(iommu_test_cmd, memory_limit.limit);

	MEMBER(iommu_test_cmd, access_replace_ioas);
	FIELD(iommu_test_cmd, access_replace_ioas.ioas_id);

	MEMBER(iommu_test_cmd, dirty);
	FIELD(iommu_test_cmd, dirty.flags);
	FIELD(iommu_test_cmd, dirty.iova);
	FIELD(iommu_test_cmd, dirty.length);
	FIELD(iommu_test_cmd, dirty.page_size);
	FIELD(iommu_test_cmd, dirty.uptr);
	FIELD(iommu_test_cmd, dirty.out_nr_dirty);

	MEMBER(iommu_test_cmd, check_iotlb);
	FIELD(iommu_test_cmd, check_iotlb.id);
	FIELD(iommu_test_cmd, check_iotlb.iotlb);

	MEMBER(iommu_test_cmd, trigger_iopf);
	FIELD(iommu_test_cmd, trigger_iopf.dev_id);
	FIELD(iommu_test_cmd, trigger_iopf.pasid);
	FIELD(iommu_test_cmd, trigger_iopf.grpid);
	FIELD(iommu_test_cmd, trigger_iopf.perm);
	FIELD(iommu_test_cmd, trigger_iopf.addr);

	MEMBER(iommu_test_cmd, check_dev_cache);
	FIELD(iommu_test_cmd, check_dev_cache.id);
	FIELD(iommu_test_cmd, check_dev_cache.cache);

	MEMBER(iommu_test_cmd, trigger_vevent);
	FIELD(iommu_test_cmd, trigger_vevent.dev_id);

	MEMBER(iommu_test_cmd, pasid_attach);
	FIELD(iommu_test_cmd, pasid_attach.pasid);
	FIELD(iommu_test_cmd, pasid_attach.pt_id);

	MEMBER(iommu_test_cmd, pasid_replace);
	FIELD(iommu_test_cmd, pasid_replace.pasid);
	FIELD(iommu_test_cmd, pasid_replace.pt_id);

	MEMBER(iommu_test_cmd, pasid_detach);
	FIELD(iommu_test_cmd, pasid_detach.pasid);

	MEMBER(iommu_test_cmd, pasid_check);
	FIELD(iommu_test_cmd, pasid_check.pasid);
	FIELD(iommu_test_cmd, pasid_check.hwpt_id);

	MEMBER(iommu_test_cmd, dmabuf_get);
	FIELD(iommu_test_cmd, dmabuf_get.length);
	FIELD(iommu_test_cmd, dmabuf_get.open_flags);

	MEMBER(iommu_test_cmd, dmabuf_revoke);
	FIELD(iommu_test_cmd, dmabuf_revoke.dmabuf_fd);
	FIELD(iommu_test_cmd, dmabuf_revoke.revoked);
}

static void dump_driver_data(void)
{
	STRUCT(iommu_test_hw_info);
	FIELD(iommu_test_hw_info, flags);
	FIELD(iommu_test_hw_info, test_reg);

	STRUCT(iommu_hwpt_selftest);
	FIELD(iommu_hwpt_selftest, iotlb);
	FIELD(iommu_hwpt_selftest, pagetable_type);

	STRUCT(iommu_hwpt_invalidate_selftest);
	FIELD(iommu_hwpt_invalidate_selftest, flags);
	FIELD(iommu_hwpt_invalidate_selftest, iotlb_id);

	STRUCT(iommu_viommu_selftest);
	FIELD(iommu_viommu_selftest, in_data);
	FIELD(iommu_viommu_selftest, out_data);
	FIELD(iommu_viommu_selftest, out_mmap_offset);
	FIELD(iommu_viommu_selftest, out_mmap_length);

	STRUCT(iommu_viommu_invalidate_selftest);
	FIELD(iommu_viommu_invalidate_selftest, flags);
	FIELD(iommu_viommu_invalidate_selftest, vdev_id);
	FIELD(iommu_viommu_invalidate_selftest, cache_id);

	STRUCT(iommu_viommu_event_selftest);
	FIELD(iommu_viommu_event_selftest, virt_id);
}

int main(void)
{
	dump_constants();
	dump_test_cmd();
	dump_driver_data();
	return 0;
}
