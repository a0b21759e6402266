// SPDX-License-Identifier: MIT
/*
 * IOMMU_TEST_CMD: the selftest operations of the mock IOMMU. Each creates mock devices,
 * inspects domains, or plays an in-kernel driver through an access object, as Linux's
 * selftest.c does for the upstream iommufd selftests.
 */
#include <fcntl.h>

#include "mock.h"
#include "../../core/sio.h"
#include "../../core/file.h"

enum selftest_obj_type {
	TYPE_IDEV,
};

struct selftest_obj {
	struct sio_driver_object dobj;
	enum selftest_obj_type type;
	struct sio_device *idev;
	struct mock_dev *mock_dev;
};

/* An access driven by the tests; its descriptor number is its test ID */
struct selftest_access {
	struct sio_access *access;
	pthread_mutex_t lock;
	struct list_head items;
	unsigned int next_id;
};

struct selftest_access_item {
	struct list_head node;
	uint64_t iova, length;
	unsigned int id;
};

static int test_add_reserved(struct sio_ucmd *ucmd, uint32_t ioas_id, uint64_t start,
			     uint64_t length)
{
	struct sio_ioas *ioas;
	uint64_t last;
	int rc;

	if (!length)
		return -EINVAL;
	if (check_add_overflow(start, length - 1, &last))
		return -EOVERFLOW;
	ioas = sio_get_ioas(ucmd->ctx, ioas_id);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);
	rc = iopt_reserve_iova(&ioas->iopt, start, last, NULL);
	sio_put_object(ucmd->ctx, &ioas->obj);
	return rc;
}

static void selftest_obj_destroy(struct sio_driver_object *dobj)
{
	struct selftest_obj *sobj = container_of(dobj, struct selftest_obj, dobj);

	/*
	 * Linux 7.2's mock detaches only the PASID-less attachment here: with a PASID still
	 * attached, iommufd_device_unbind() WARNs and the device is freed under the attachment
	 * (a later ioctl on it is a use after free). Deliberately, every attachment goes.
	 */
	sio_device_detach_all(sobj->idev);
	sio_device_unbind(sobj->idev);
	mock_dev_destroy(sobj->mock_dev);
}

static int test_mock_domain(struct sio_ucmd *ucmd, struct iommu_test_cmd *cmd)
{
	struct selftest_obj *sobj;
	uint32_t pt_id = cmd->id, idev_id, dev_flags = 0;
	struct sio_device *idev;
	int rc;

	sobj = sio_object_alloc_type(ucmd->ctx, sobj, SIO_OBJ_DRIVER);
	if (IS_ERR(sobj))
		return PTR_ERR(sobj);
	sobj->dobj.destroy = selftest_obj_destroy;
	sobj->type = TYPE_IDEV;
	if (cmd->op == IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS)
		dev_flags = cmd->mock_domain_flags.dev_flags;
	sobj->mock_dev = mock_dev_create(dev_flags);
	if (IS_ERR(sobj->mock_dev)) {
		rc = PTR_ERR(sobj->mock_dev);
		goto out_sobj;
	}
	idev = sio_device_bind(ucmd->ctx, &sobj->mock_dev->dev, &idev_id);
	if (IS_ERR(idev)) {
		rc = PTR_ERR(idev);
		goto out_mdev;
	}
	sobj->idev = idev;
	rc = sio_device_attach(idev, SIO_NO_PASID, &pt_id);
	if (rc)
		goto out_unbind;
	cmd->mock_domain.out_hwpt_id = pt_id;
	cmd->mock_domain.out_stdev_id = sobj->dobj.obj.id;
	cmd->mock_domain.out_idev_id = idev_id;
	rc = sio_ucmd_respond(ucmd, sizeof(*cmd));
	if (rc)
		goto out_detach;
	sio_object_finalize(ucmd->ctx, &sobj->dobj.obj);
	return 0;
out_detach:
	sio_device_detach(idev, SIO_NO_PASID);
out_unbind:
	sio_device_unbind(idev);
out_mdev:
	mock_dev_destroy(sobj->mock_dev);
out_sobj:
	sio_object_abort(ucmd->ctx, &sobj->dobj.obj);
	return rc;
}

static struct selftest_obj *get_selftest_obj(struct sio_ctx *ctx, uint32_t id)
{
	struct sio_object *obj = sio_get_object(ctx, id, SIO_OBJ_DRIVER);

	if (IS_ERR(obj))
		return ERR_CAST(obj);
	return container_of(obj, struct selftest_obj, dobj.obj);
}

static int test_mock_domain_replace(struct sio_ucmd *ucmd, uint32_t stdev_id, uint32_t pt_id,
				    struct iommu_test_cmd *cmd)
{
	struct selftest_obj *sobj = get_selftest_obj(ucmd->ctx, stdev_id);
	int rc;

	if (IS_ERR(sobj))
		return PTR_ERR(sobj);
	rc = sio_device_replace(sobj->idev, SIO_NO_PASID, &pt_id);
	if (!rc) {
		cmd->mock_domain_replace.pt_id = pt_id;
		rc = sio_ucmd_respond(ucmd, sizeof(*cmd));
	}
	sio_put_object(ucmd->ctx, &sobj->dobj.obj);
	return rc;
}

/* A paging HWPT of the mock driver */
static struct sio_hw_pagetable *get_md_pagetable(struct sio_ucmd *ucmd, uint32_t id,
						 struct mock_domain **mock)
{
	struct sio_object *obj = sio_get_object(ucmd->ctx, id, SIO_OBJ_HWPT_PAGING);
	struct sio_hw_pagetable *hwpt;

	if (IS_ERR(obj))
		return ERR_CAST(obj);
	hwpt = container_of(obj, struct sio_hw_pagetable, obj);
	if (!mock_is_paging(hwpt->domain)) {
		sio_put_object(ucmd->ctx, obj);
		return ERR_PTR(-EINVAL);
	}
	*mock = to_mock_domain(hwpt->domain);
	return hwpt;
}

/* Is the user VA mapped at all (as get_user_pages_fast would find)? */
static int uaddr_mapped(uint64_t uaddr)
{
	char b;

	return sio_copy_from_user(&b, uaddr, 1);
}

/* Every IOVA page of the domain translates to the physical page under the user VA */
static int test_md_check_pa(struct sio_ucmd *ucmd, uint32_t id, uint64_t iova, uint64_t length,
			    uint64_t uptr)
{
	struct sio_hw_pagetable *hwpt;
	struct mock_domain *mock;
	struct sio_maps *maps;
	uint64_t page_size, end;
	int rc = 0;

	hwpt = get_md_pagetable(ucmd, id, &mock);
	if (IS_ERR(hwpt))
		return PTR_ERR(hwpt);
	page_size = 1ULL << sio_ffs64(mock->domain.pgsize_bitmap);
	if (iova % page_size || length % page_size || uptr % page_size ||
	    check_add_overflow(uptr, length, &end)) {
		rc = -EINVAL;
		goto out_put;
	}
	maps = sio_maps_snapshot();
	if (!maps) {
		rc = -ENOMEM;
		goto out_put;
	}
	for (; length; length -= page_size, iova += page_size, uptr += page_size) {
		struct sio_page_id want, got;
		uint64_t pa;

		rc = uaddr_mapped(uptr);
		if (rc)
			break;
		if (mock->domain.ops->iova_to_phys(&mock->domain, iova, &pa)) {
			rc = -EINVAL;
			break;
		}
		want = sio_page_identity(maps, uptr);
		got = sio_page_identity_pa(maps, pa);
		if (want.dev != got.dev || want.ino != got.ino || want.off != got.off) {
			rc = -EINVAL;
			break;
		}
	}
	sio_maps_free(maps);
out_put:
	sio_put_object(ucmd->ctx, &hwpt->obj);
	return rc;
}

/* The pin count of every page under the user VA is @refs */
static int test_md_check_refs(uint64_t uptr, uint64_t length, unsigned int refs)
{
	struct sio_maps *maps;
	uint64_t end;
	int rc = 0;

	if (length % SIO_PAGE_SIZE || uptr % SIO_PAGE_SIZE || check_add_overflow(uptr, length, &end))
		return -EINVAL;
	maps = sio_maps_snapshot();
	if (!maps)
		return -ENOMEM;
	for (; length; length -= SIO_PAGE_SIZE, uptr += SIO_PAGE_SIZE) {
		unsigned int count;

		rc = uaddr_mapped(uptr);
		if (rc)
			break;
		sio_pages_count_pins(maps, uptr, &count);
		if (count != refs) {
			rc = -EIO;
			break;
		}
	}
	sio_maps_free(maps);
	return rc;
}

static int test_md_check_iotlb(struct sio_ucmd *ucmd, uint32_t id, unsigned int iotlb_id,
			       uint32_t iotlb)
{
	struct sio_object *obj = sio_get_object(ucmd->ctx, id, SIO_OBJ_HWPT_NESTED);
	struct sio_hw_pagetable *hwpt;
	int rc = 0;

	if (IS_ERR(obj))
		return PTR_ERR(obj);
	hwpt = container_of(obj, struct sio_hw_pagetable, obj);
	if (!mock_is_nested(hwpt->domain))
		rc = -EINVAL;
	else if (iotlb_id > MOCK_NESTED_DOMAIN_IOTLB_ID_MAX ||
		 to_mock_nested(hwpt->domain)->iotlb[iotlb_id] != iotlb)
		rc = -EINVAL;
	sio_put_object(ucmd->ctx, obj);
	return rc;
}

static int test_dev_check_cache(struct sio_ucmd *ucmd, uint32_t idev_id, unsigned int cache_id,
				uint32_t cache)
{
	struct sio_device *idev = sio_get_device(ucmd, idev_id);
	int rc = 0;

	if (IS_ERR(idev))
		return PTR_ERR(idev);
	if (idev->dev->ops != &mock_iommu_ops || cache_id > MOCK_DEV_CACHE_ID_MAX ||
	    to_mock_dev(idev->dev)->cache[cache_id] != cache)
		rc = -EINVAL;
	sio_put_object(ucmd->ctx, &idev->obj);
	return rc;
}

/* Access objects: their test ID is the descriptor handed to user space */
static void staccess_unmap(void *data, uint64_t iova, uint64_t length)
{
	struct selftest_access *staccess = data;
	struct selftest_access_item *item, *tmp;
	uint64_t iova_last = iova + length - 1;

	pthread_mutex_lock(&staccess->lock);
	list_for_each_entry_safe(item, tmp, &staccess->items, node) {
		if (iova > item->iova + item->length - 1 || iova_last < item->iova)
			continue;
		list_del_init(&item->node);
		sio_access_unpin_pages(staccess->access, item->iova, item->length);
		sio_free(item);
	}
	pthread_mutex_unlock(&staccess->lock);
}

static const struct sio_access_ops staccess_ops_pin = {
	.needs_pin_pages = true,
	.unmap = staccess_unmap,
};

static const struct sio_access_ops staccess_ops = {
	.unmap = staccess_unmap,
};

static void staccess_release(struct sio_file *f)
{
	struct selftest_access *staccess = f->priv;

	if (staccess->access) {
		staccess_unmap(staccess, 0, UINT64_MAX);
		sio_access_destroy(staccess->access);
	}
	pthread_mutex_destroy(&staccess->lock);
	sio_free(staccess);
}

static const struct sio_file_ops staccess_fops = {
	.name = "iommufd_test_staccess",
	.release = staccess_release,
};

static struct selftest_access *staccess_get(int fd, struct sio_file **filep)
{
	struct sio_file *f = sio_file_get(fd);

	if (!f)
		return ERR_PTR(-EBADFD);
	if (f->ops != &staccess_fops) {
		sio_file_put(f);
		return ERR_PTR(-EBADFD);
	}
	*filep = f;
	return f->priv;
}

static int test_create_access(struct sio_ucmd *ucmd, uint32_t ioas_id, uint32_t flags)
{
	struct iommu_test_cmd *cmd = ucmd->cmd;
	struct selftest_access *staccess;
	struct sio_access *access;
	struct sio_file *f;
	uint32_t id;
	int fd, rc;

	if (flags & ~MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES)
		return -EOPNOTSUPP;
	staccess = sio_zalloc(sizeof(*staccess));
	if (!staccess)
		return -ENOMEM;
	INIT_LIST_HEAD(&staccess->items);
	sio_mutex_init(&staccess->lock, SIO_LOCK_STACCESS);
	access = sio_access_create(ucmd->ctx,
				   (flags & MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES) ?
					   &staccess_ops_pin : &staccess_ops,
				   staccess, &id);
	if (IS_ERR(access)) {
		rc = PTR_ERR(access);
		goto out_free;
	}
	rc = sio_access_attach(access, ioas_id);
	if (rc)
		goto out_destroy;
	staccess->access = access;
	fd = sio_file_install(&staccess_fops, staccess, O_CLOEXEC, &f);
	if (fd < 0) {
		staccess->access = NULL;
		rc = fd;
		goto out_destroy;
	}
	cmd->create_access.out_access_fd = fd;
	rc = sio_ucmd_respond(ucmd, sizeof(*cmd));
	if (rc)
		sio_file_close(fd); /* releases the access too */
	return rc;
out_destroy:
	sio_access_destroy(access);
out_free:
	pthread_mutex_destroy(&staccess->lock);
	sio_free(staccess);
	return rc;
}

static int test_access_replace_ioas(uint32_t access_fd, uint32_t ioas_id)
{
	struct selftest_access *staccess;
	struct sio_file *f;
	int rc;

	staccess = staccess_get(access_fd, &f);
	if (IS_ERR(staccess))
		return PTR_ERR(staccess);
	rc = sio_access_replace(staccess->access, ioas_id);
	sio_file_put(f);
	return rc;
}

static int test_access_item_destroy(uint32_t access_fd, unsigned int item_id)
{
	struct selftest_access_item *item;
	struct selftest_access *staccess;
	struct sio_file *f;
	int rc = -ENOENT;

	staccess = staccess_get(access_fd, &f);
	if (IS_ERR(staccess))
		return PTR_ERR(staccess);
	pthread_mutex_lock(&staccess->lock);
	list_for_each_entry(item, &staccess->items, node) {
		if (item->id == item_id) {
			list_del_init(&item->node);
			sio_access_unpin_pages(staccess->access, item->iova, item->length);
			sio_free(item);
			rc = 0;
			break;
		}
	}
	pthread_mutex_unlock(&staccess->lock);
	sio_file_put(f);
	return rc;
}

/* The pinned pages are the pages under the user VA */
static int check_pages(uint64_t uptr, const uint64_t *pa, size_t npages)
{
	struct sio_maps *maps = sio_maps_snapshot();
	int rc = 0;

	if (!maps)
		return -ENOMEM;
	for (size_t i = 0; i != npages; i++, uptr += SIO_PAGE_SIZE) {
		struct sio_page_id want, got;
		uint64_t end;

		/* get_user_pages_fast(): a page whose end wraps past 2^64 is EOVERFLOW */
		if (check_add_overflow(uptr & SIO_PAGE_MASK, SIO_PAGE_SIZE, &end)) {
			rc = -EOVERFLOW;
			break;
		}
		rc = uaddr_mapped(uptr);
		if (rc)
			break;
		want = sio_page_identity(maps, uptr);
		got = sio_page_identity_pa(maps, pa[i]);
		if (want.dev != got.dev || want.ino != got.ino || want.off != got.off) {
			rc = -EBADE;
			break;
		}
	}
	sio_maps_free(maps);
	return rc;
}

static int test_access_pages(struct sio_ucmd *ucmd, uint32_t access_fd, uint64_t iova,
			     uint64_t length, uint64_t uptr, uint32_t flags)
{
	struct iommu_test_cmd *cmd = ucmd->cmd;
	struct selftest_access_item *item;
	struct selftest_access *staccess;
	struct sio_file *f;
	uint64_t *pa;
	size_t npages;
	int rc;

	if (length > 16 * 1024 * 1024)
		return -ENOMEM;
	if (flags & ~(MOCK_FLAGS_ACCESS_WRITE | MOCK_FLAGS_ACCESS_SYZ))
		return -EOPNOTSUPP;
	staccess = staccess_get(access_fd, &f);
	if (IS_ERR(staccess))
		return PTR_ERR(staccess);
	if (staccess->access->ops != &staccess_ops_pin) {
		rc = -EOPNOTSUPP;
		goto out_put;
	}
	npages = (ALIGN_UP(iova + length, SIO_PAGE_SIZE) - ALIGN_DOWN(iova, SIO_PAGE_SIZE)) /
		 SIO_PAGE_SIZE;
	pa = sio_calloc(npages, sizeof(*pa));
	if (!pa) {
		rc = -ENOMEM;
		goto out_put;
	}
	pthread_mutex_lock(&staccess->lock);
	rc = sio_access_pin_pages(staccess->access, iova, length, pa,
				  (flags & MOCK_FLAGS_ACCESS_WRITE) ? SIO_ACCESS_RW_WRITE : 0);
	if (rc)
		goto out_unlock;
	if (uptr) {
		rc = check_pages(uptr - (iova - ALIGN_DOWN(iova, SIO_PAGE_SIZE)), pa, npages);
		if (rc)
			goto out_unaccess;
	}
	item = sio_zalloc(sizeof(*item));
	if (!item) {
		rc = -ENOMEM;
		goto out_unaccess;
	}
	item->iova = iova;
	item->length = length;
	item->id = staccess->next_id++;
	list_add_tail(&item->node, &staccess->items);
	cmd->access_pages.out_access_pages_id = item->id;
	rc = sio_ucmd_respond(ucmd, sizeof(*cmd));
	if (rc) {
		list_del_init(&item->node);
		sio_free(item);
		goto out_unaccess;
	}
	goto out_unlock;
out_unaccess:
	sio_access_unpin_pages(staccess->access, iova, length);
out_unlock:
	pthread_mutex_unlock(&staccess->lock);
	sio_free(pa);
out_put:
	sio_file_put(f);
	return rc;
}

static int test_access_rw(uint32_t access_fd, uint64_t iova, uint64_t length, uint64_t ubuf,
			  uint32_t flags)
{
	struct selftest_access *staccess;
	struct sio_file *f;
	void *tmp;
	int rc;

	if (length > 16 * 1024 * 1024)
		return -ENOMEM;
	if (flags & ~(MOCK_ACCESS_RW_WRITE | MOCK_ACCESS_RW_SLOW_PATH | MOCK_FLAGS_ACCESS_SYZ))
		return -EOPNOTSUPP;
	staccess = staccess_get(access_fd, &f);
	if (IS_ERR(staccess))
		return PTR_ERR(staccess);
	tmp = sio_zalloc(length);
	if (!tmp) {
		rc = -ENOMEM;
		goto out_put;
	}
	if (flags & MOCK_ACCESS_RW_WRITE) {
		rc = sio_copy_from_user(tmp, ubuf, length);
		if (rc)
			goto out_free;
	}
	rc = sio_access_rw(staccess->access, iova, tmp, length,
			   flags & (MOCK_ACCESS_RW_WRITE | MOCK_ACCESS_RW_SLOW_PATH));
	if (!rc && !(flags & MOCK_ACCESS_RW_WRITE))
		rc = sio_copy_to_user(ubuf, tmp, length);
out_free:
	sio_free(tmp);
out_put:
	sio_file_put(f);
	return rc;
}

static int test_dirty(struct sio_ucmd *ucmd, uint32_t id, uint64_t iova, uint64_t length,
		      uint64_t page_size, uint64_t uptr)
{
	struct iommu_test_cmd *cmd = ucmd->cmd;
	struct sio_hw_pagetable *hwpt;
	struct mock_domain *mock;
	uint64_t max, count = 0;
	uint8_t *tmp;
	int rc;

	if (!page_size || !length || iova % page_size || length % page_size || !uptr)
		return -EINVAL;
	max = length / page_size;
	if (max > (16ULL << 20) * 8)
		return -EOVERFLOW;
	hwpt = get_md_pagetable(ucmd, id, &mock);
	if (IS_ERR(hwpt))
		return PTR_ERR(hwpt);
	if (!mock->dirty_tracking) {
		rc = -EINVAL;
		goto out_put;
	}
	tmp = sio_zalloc(ALIGN_UP(max, 64) / 8);
	if (!tmp) {
		rc = -ENOMEM;
		goto out_put;
	}
	rc = sio_copy_from_user(tmp, uptr, ALIGN_UP(max, 8) / 8);
	if (rc)
		goto out_free;
	for (uint64_t i = 0; i < max; i++) {
		if (!(tmp[i / 8] & (1u << (i % 8))))
			continue;
		pt_set_dirty(mock->pt, iova + i * page_size);
		count++;
	}
	cmd->dirty.out_nr_dirty = count;
	rc = sio_ucmd_respond(ucmd, sizeof(*cmd));
out_free:
	sio_free(tmp);
out_put:
	sio_put_object(ucmd->ctx, &hwpt->obj);
	return rc;
}

/* What (device, PASID) translates through: @hwpt_id 0 means "nothing" */
static int test_pasid_check_hwpt(struct sio_ucmd *ucmd, struct iommu_test_cmd *cmd)
{
	struct selftest_obj *sobj = get_selftest_obj(ucmd->ctx, cmd->id);
	struct sio_hw_pagetable *attached, *hwpt;
	struct sio_object *obj;
	int rc = 0;

	if (IS_ERR(sobj))
		return PTR_ERR(sobj);
	attached = sio_device_pasid_hwpt(sobj->idev, cmd->pasid_check.pasid);
	if (!cmd->pasid_check.hwpt_id) {
		if (attached)
			rc = -EINVAL;
		goto out_put;
	}
	obj = sio_get_object(ucmd->ctx, cmd->pasid_check.hwpt_id, SIO_OBJ_ANY);
	if (IS_ERR(obj)) {
		rc = PTR_ERR(obj);
		goto out_put;
	}
	if (obj->type != SIO_OBJ_HWPT_PAGING && obj->type != SIO_OBJ_HWPT_NESTED) {
		rc = -EINVAL;
	} else {
		hwpt = container_of(obj, struct sio_hw_pagetable, obj);
		if (!attached || attached->domain != hwpt->domain)
			rc = -EINVAL;
	}
	sio_put_object(ucmd->ctx, obj);
out_put:
	sio_put_object(ucmd->ctx, &sobj->dobj.obj);
	return rc;
}

static int test_pasid_attach(struct sio_ucmd *ucmd, struct iommu_test_cmd *cmd, bool replace)
{
	struct selftest_obj *sobj = get_selftest_obj(ucmd->ctx, cmd->id);
	int rc;

	if (IS_ERR(sobj))
		return PTR_ERR(sobj);
	if (replace)
		rc = sio_device_replace(sobj->idev, cmd->pasid_attach.pasid,
					&cmd->pasid_attach.pt_id);
	else
		rc = sio_device_attach(sobj->idev, cmd->pasid_attach.pasid,
				       &cmd->pasid_attach.pt_id);
	if (!rc) {
		rc = sio_ucmd_respond(ucmd, sizeof(*cmd));
		if (rc && !replace)
			sio_device_detach(sobj->idev, cmd->pasid_attach.pasid);
	}
	sio_put_object(ucmd->ctx, &sobj->dobj.obj);
	return rc;
}

static int test_pasid_detach(struct sio_ucmd *ucmd, struct iommu_test_cmd *cmd)
{
	struct selftest_obj *sobj = get_selftest_obj(ucmd->ctx, cmd->id);

	if (IS_ERR(sobj))
		return PTR_ERR(sobj);
	sio_device_detach(sobj->idev, cmd->pasid_detach.pasid);
	sio_put_object(ucmd->ctx, &sobj->dobj.obj);
	return 0;
}

/* The mock device raises a PRI page request, as a PCIe device would */
static int test_trigger_iopf(struct sio_ucmd *ucmd, struct iommu_test_cmd *cmd)
{
	struct sio_device *idev = sio_get_device(ucmd, cmd->trigger_iopf.dev_id);
	uint32_t flags = IOMMU_PGFAULT_FLAGS_LAST_PAGE;

	if (IS_ERR(idev))
		return PTR_ERR(idev);
	if (idev->dev->ops != &mock_iommu_ops) {
		sio_put_object(ucmd->ctx, &idev->obj);
		return -EINVAL;
	}
	if (cmd->trigger_iopf.pasid != SIO_NO_PASID)
		flags |= IOMMU_PGFAULT_FLAGS_PASID_VALID;
	/* An unhandled request is completed as a failure; the ioctl itself succeeds */
	sio_report_iopf(idev, cmd->trigger_iopf.pasid, flags, cmd->trigger_iopf.grpid,
			cmd->trigger_iopf.perm, cmd->trigger_iopf.addr);
	sio_put_object(ucmd->ctx, &idev->obj);
	return 0;
}

/* The mock device's vIOMMU reports an event naming the device's virtual ID */
static int test_trigger_vevent(struct sio_ucmd *ucmd, struct iommu_test_cmd *cmd)
{
	struct sio_device *idev = sio_get_device(ucmd, cmd->trigger_vevent.dev_id);
	struct iommu_viommu_event_selftest ev = {};
	struct mock_dev *mdev;
	int rc = -ENOENT;

	if (IS_ERR(idev))
		return PTR_ERR(idev);
	if (idev->dev->ops != &mock_iommu_ops) {
		sio_put_object(ucmd->ctx, &idev->obj);
		return -EINVAL;
	}
	mdev = to_mock_dev(idev->dev);
	pthread_rwlock_rdlock(&mdev->viommu_rwsem);
	if (mdev->viommu && mdev->vdev_id) {
		ev.virt_id = mdev->vdev_id;
		rc = sio_viommu_report_event(&mdev->viommu->core, IOMMU_VEVENTQ_TYPE_SELFTEST, &ev,
					     sizeof(ev));
	}
	pthread_rwlock_unlock(&mdev->viommu_rwsem);
	sio_put_object(ucmd->ctx, &idev->obj);
	return rc;
}

int sio_test_cmd_ioctl(struct sio_ucmd *ucmd)
{
	struct iommu_test_cmd *cmd = ucmd->cmd;

	switch (cmd->op) {
	case IOMMU_TEST_OP_ADD_RESERVED:
		return test_add_reserved(ucmd, cmd->id, cmd->add_reserved.start,
					 cmd->add_reserved.length);
	case IOMMU_TEST_OP_MOCK_DOMAIN:
	case IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS:
		return test_mock_domain(ucmd, cmd);
	case IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE:
		return test_mock_domain_replace(ucmd, cmd->id, cmd->mock_domain_replace.pt_id, cmd);
	case IOMMU_TEST_OP_MD_CHECK_MAP:
		return test_md_check_pa(ucmd, cmd->id, cmd->check_map.iova, cmd->check_map.length,
					cmd->check_map.uptr);
	case IOMMU_TEST_OP_MD_CHECK_REFS:
		return test_md_check_refs(cmd->check_refs.uptr, cmd->check_refs.length,
					  cmd->check_refs.refs);
	case IOMMU_TEST_OP_MD_CHECK_IOTLB:
		return test_md_check_iotlb(ucmd, cmd->id, cmd->check_iotlb.id,
					   cmd->check_iotlb.iotlb);
	case IOMMU_TEST_OP_DEV_CHECK_CACHE:
		return test_dev_check_cache(ucmd, cmd->id, cmd->check_dev_cache.id,
					    cmd->check_dev_cache.cache);
	case IOMMU_TEST_OP_CREATE_ACCESS:
		return test_create_access(ucmd, cmd->id, cmd->create_access.flags);
	case IOMMU_TEST_OP_ACCESS_REPLACE_IOAS:
		return test_access_replace_ioas(cmd->id, cmd->access_replace_ioas.ioas_id);
	case IOMMU_TEST_OP_ACCESS_PAGES:
		return test_access_pages(ucmd, cmd->id, cmd->access_pages.iova,
					 cmd->access_pages.length, cmd->access_pages.uptr,
					 cmd->access_pages.flags);
	case IOMMU_TEST_OP_ACCESS_RW:
		return test_access_rw(cmd->id, cmd->access_rw.iova, cmd->access_rw.length,
				      cmd->access_rw.uptr, cmd->access_rw.flags);
	case IOMMU_TEST_OP_DESTROY_ACCESS_PAGES:
		return test_access_item_destroy(cmd->id, cmd->destroy_access_pages.access_pages_id);
	case IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT:
		if (cmd->memory_limit.limit < sizeof(unsigned long) + sizeof(uint32_t))
			return -EINVAL;
		sio_test_memory_limit = cmd->memory_limit.limit;
		return 0;
	case IOMMU_TEST_OP_DIRTY:
		return test_dirty(ucmd, cmd->id, cmd->dirty.iova, cmd->dirty.length,
				  cmd->dirty.page_size, cmd->dirty.uptr);
	case IOMMU_TEST_OP_TRIGGER_IOPF:
		return test_trigger_iopf(ucmd, cmd);
	case IOMMU_TEST_OP_TRIGGER_VEVENT:
		return test_trigger_vevent(ucmd, cmd);
	case IOMMU_TEST_OP_PASID_ATTACH:
		return test_pasid_attach(ucmd, cmd, false);
	case IOMMU_TEST_OP_PASID_REPLACE:
		return test_pasid_attach(ucmd, cmd, true);
	case IOMMU_TEST_OP_PASID_DETACH:
		return test_pasid_detach(ucmd, cmd);
	case IOMMU_TEST_OP_PASID_CHECK_HWPT:
		return test_pasid_check_hwpt(ucmd, cmd);
	case IOMMU_TEST_OP_DMABUF_GET:
		return sio_dmabuf_create(cmd->dmabuf_get.length, cmd->dmabuf_get.open_flags);
	case IOMMU_TEST_OP_DMABUF_REVOKE:
		return sio_dmabuf_set_revoked(cmd->dmabuf_revoke.dmabuf_fd,
					      cmd->dmabuf_revoke.revoked);
	default:
		return -EOPNOTSUPP;
	}
}
