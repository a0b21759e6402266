// SPDX-License-Identifier: MIT
/*
 * The driver contract from a driver's side: a minimal model ("contract", registered at run
 * time, paging domains on the pt library) behind the real core and DMA path. It checks what
 * a model is given and what it decides: the device and PASID of each translation, the
 * fault disposition (IOPF, event, unhandled), page responses (written, and INVALID when the
 * attachment goes), the device IOTLB invalidation, and the registry itself.
 */
#include <poll.h>
#include <stdbool.h>
#include <sys/mman.h>

#include "testlib.h"
#include "core/sio.h"
#include "model/model.h"

#define PG 4096ULL
#define IOVA 0x100000ULL

/* What the model saw */
static struct {
	int translates, events, responses;
	struct sio_dev *dev, *last_dev;
	uint32_t last_pasid, last_code;
	bool last_pasid_valid;
	enum sio_fault_disposition disp;
	struct sio_dma_fault last_fault;
} T;

struct cdom {
	struct sio_domain domain;
	struct pt_table *pt;
};

static struct cdom *to_cdom(struct sio_domain *d)
{
	return container_of(d, struct cdom, domain);
}

static int c_attach(struct sio_domain *domain, struct sio_dev *dev, struct sio_domain *old)
{
	return 0;
}

static int c_set_pasid(struct sio_domain *domain, struct sio_dev *dev, uint32_t pasid,
		       struct sio_domain *old)
{
	return 0;
}

static int c_map(struct sio_domain *domain, uint64_t iova, uint64_t pa, uint64_t len, int prot,
		 uint64_t pgsize_bitmap)
{
	struct pt_table *pt = to_cdom(domain)->pt;
	unsigned int p = ((prot & SIO_PROT_READ) ? PT_PROT_READ : 0) |
			 ((prot & SIO_PROT_WRITE) ? PT_PROT_WRITE : 0);

	return pt_map(pt, iova, pa, len, p, pgsize_bitmap & pt_pgsize_bitmap(pt));
}

static uint64_t c_unmap(struct sio_domain *domain, uint64_t iova, uint64_t len)
{
	uint64_t unmapped = 0;

	pt_unmap(to_cdom(domain)->pt, iova, len, 0, &unmapped);
	return unmapped;
}

static int c_iova_to_phys(struct sio_domain *domain, uint64_t iova, uint64_t *pa)
{
	return pt_iova_to_phys(to_cdom(domain)->pt, iova, pa, NULL, NULL);
}

static int c_translate(struct sio_domain *domain, const struct sio_dma_req *req,
		       struct sio_dma_xlate *x, struct sio_dma_fault *f)
{
	T.translates++;
	T.last_dev = req->dev;
	T.last_pasid = req->pasid;
	T.last_pasid_valid = req->pasid_valid;
	return sio_model_walk(to_cdom(domain)->pt, NULL, req, x, f);
}

static enum sio_fault_disposition c_disposition(struct sio_domain *domain, struct sio_dev *dev,
						const struct sio_dma_fault *f)
{
	T.last_fault = *f;
	return T.disp;
}

static int c_fault_event(struct sio_domain *domain, struct sio_dev *dev,
			 const struct sio_dma_fault *f)
{
	T.events++;
	return 0;
}

static void c_free(struct sio_domain *domain)
{
	pt_table_free(to_cdom(domain)->pt);
	sio_free(to_cdom(domain));
}

static const struct sio_domain_ops c_paging_ops = {
	.attach_dev = c_attach,
	.set_dev_pasid = c_set_pasid,
	.map = c_map,
	.unmap = c_unmap,
	.iova_to_phys = c_iova_to_phys,
	.translate = c_translate,
	.fault_disposition = c_disposition,
	.fault_event = c_fault_event,
	.free = c_free,
};

static const struct sio_domain_ops c_blocked_ops = {
	.attach_dev = c_attach,
	.set_dev_pasid = c_set_pasid,
};

static struct sio_domain c_blocked = { .type = SIO_DOMAIN_BLOCKED, .ops = &c_blocked_ops };

static struct sio_domain *c_alloc_paging(struct sio_dev *dev, uint32_t flags,
					 const struct sio_user_data *user_data)
{
	struct pt_cfg cfg = { .fmt = PT_FMT_MOCK, .top_level = 2 };
	struct cdom *d;

	if (flags & ~IOMMU_HWPT_ALLOC_PASID)
		return ERR_PTR(-EOPNOTSUPP);
	d = sio_zalloc(sizeof(*d));
	if (!d)
		return ERR_PTR(-ENOMEM);
	if (pt_table_alloc(&cfg, &d->pt)) {
		sio_free(d);
		return ERR_PTR(-ENOMEM);
	}
	d->domain.type = SIO_DOMAIN_PAGING;
	d->domain.ops = &c_paging_ops;
	d->domain.pgsize_bitmap = pt_pgsize_bitmap(d->pt);
	d->domain.aperture_end = (1ULL << 38) - 1;
	return &d->domain;
}

static bool c_capable(struct sio_dev *dev, enum sio_cap cap)
{
	return cap == SIO_CAP_CACHE_COHERENCY;
}

static void c_page_response(struct sio_dev *dev, const struct sio_page_response *resp)
{
	CHECK(dev == T.dev);
	T.responses++;
	T.last_code = resp->code;
}

static const struct sio_iommu_ops c_iommu_ops = {
	.name = "contract",
	.blocked_domain = &c_blocked,
	.capable = c_capable,
	.domain_alloc_paging_flags = c_alloc_paging,
	.page_response = c_page_response,
};

static struct sio_dev *c_dev_create(uint32_t flags)
{
	struct sio_iommu_group *group = sio_iommu_group_alloc();
	struct sio_dev *dev = sio_zalloc(sizeof(*dev));

	if (!dev || !group) {
		sio_free(dev);
		if (group)
			sio_iommu_group_put(group);
		return ERR_PTR(-ENOMEM);
	}
	dev->max_pasids = 1u << 20;
	dev->max_pasid_log2 = 20;
	snprintf(dev->name, sizeof(dev->name), "contract%u", flags);
	sio_iommu_dev_add(dev, &c_iommu_ops, group);
	sio_iommu_group_put(group);
	T.dev = dev;
	return dev;
}

static void c_dev_destroy(struct sio_dev *dev)
{
	sio_iommu_dev_remove(dev);
	sio_free(dev);
}

static const struct sio_driver contract_driver = {
	.name = "contract",
	.dev_create = c_dev_create,
	.dev_destroy = c_dev_destroy,
};

static bool readable(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, 0) == 1;
}

static void test_registry(void)
{
	static const struct sio_driver dup = { .name = "mock" };

	CHECK(sio_driver_find("mock") != NULL);
	CHECK(sio_driver_find("contract") == NULL);
	CHECK_ERR(EEXIST, sio_driver_register(&dup));
	CHECK_OK(sio_driver_register(&contract_driver));
	CHECK_ERR(EEXIST, sio_driver_register(&contract_driver));
	CHECK(sio_driver_find("contract") == &contract_driver);
	CHECK(PTR_ERR(sio_driver_dev_create("nope", 0)) == -ENODEV);
	/* The mock's ioctl is an extension, found by number */
	CHECK(sio_driver_find_ext(_IOC_NR(IOMMU_TEST_CMD)) != NULL);
	CHECK(sio_driver_find_ext(_IOC_NR(IOMMU_IOAS_ALLOC)) == NULL);
}

static void test_routing(void)
{
	struct iommu_fault_alloc fa = { .size = sizeof(fa) };
	struct iommu_hwpt_alloc h = { .size = sizeof(h),
				      .flags = IOMMU_HWPT_FAULT_ID_VALID | IOMMU_HWPT_ALLOC_PASID };
	struct iommu_hwpt_page_response resp = { .code = IOMMUFD_PAGE_RESP_SUCCESS };
	char *buf = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int fd = softiommu_open(0);
	uint32_t ioas = t_ioas_alloc(fd);
	struct iommu_hwpt_pgfault rec;
	struct softiommu_dev *dev;
	unsigned int dev_id, pt;
	unsigned long unhandled;
	uint64_t iova = IOVA;
	char out[8];
	int n;

	CHECK_OK(t_map(fd, ioas, buf, 4 * PG, &iova,
		       IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE |
			       IOMMU_IOAS_MAP_WRITEABLE));
	CHECK_OK(softiommu_dev_create(fd, "contract", 0, &dev, &dev_id));
	CHECK_OK(softiommu_ioctl(fd, IOMMU_FAULT_QUEUE_ALLOC, &fa));
	h.dev_id = dev_id;
	h.pt_id = ioas;
	h.fault_id = fa.out_fault_id;
	CHECK_OK(softiommu_ioctl(fd, IOMMU_HWPT_ALLOC, &h));
	pt = h.out_hwpt_id;
	CHECK_OK(softiommu_dev_attach(dev, 0, &pt));

	/* The translation is given the device and the PASID */
	memcpy(buf, "contract", 8);
	CHECK_OK(softiommu_dma_read(dev, 0, IOVA, out, 8));
	CHECK(!memcmp(out, "contract", 8));
	CHECK(T.translates == 1 && T.last_dev == T.dev && !T.last_pasid_valid);
	/* A hit does not walk; the device's IOTLB invalidation makes the next one walk */
	CHECK_OK(softiommu_dma_read(dev, 0, IOVA, out, 8));
	CHECK(T.translates == 1);
	sio_dev_invalidate_iotlb(T.dev);
	CHECK_OK(softiommu_dma_read(dev, 0, IOVA, out, 8));
	CHECK(T.translates == 2);

	/* The model routes: an event, even with a fault queue there */
	T.disp = SIO_FAULT_EVENT;
	CHECK_ERR(EFAULT, softiommu_dma_write(dev, 0, 0x900000, "x", 1));
	CHECK(T.events == 1 && !readable(fa.out_fault_fd));
	CHECK(T.last_fault.kind == SIO_DMA_FAULT_TRANSLATION && T.last_fault.iova == 0x900000 &&
	      T.last_fault.access == SIO_DMA_WRITE && !T.last_fault.pasid_valid);
	/* Unhandled: counted, no event, no page request */
	T.disp = SIO_FAULT_UNHANDLED;
	unhandled = softiommu_dma_unhandled_faults();
	CHECK_ERR(EFAULT, softiommu_dma_read(dev, 0, 0x900000, out, 8));
	CHECK(softiommu_dma_unhandled_faults() == unhandled + 1 && T.events == 1);
	CHECK(!readable(fa.out_fault_fd));
	/* A page request, answered: the model hears the answer */
	T.disp = SIO_FAULT_IOPF;
	CHECK_ERR(EFAULT, softiommu_dma_read(dev, 0, 0x900000, out, 8));
	CHECK(T.events == 1);
	CHECK(softiommu_read(fa.out_fault_fd, &rec, sizeof(rec)) == sizeof(rec));
	CHECK(rec.addr == 0x900000 && rec.perm == IOMMU_PGFAULT_PERM_READ);
	resp.cookie = rec.cookie;
	CHECK(softiommu_write(fa.out_fault_fd, &resp, sizeof(resp)) == sizeof(resp));
	CHECK(T.responses == 1 && T.last_code == IOMMUFD_PAGE_RESP_SUCCESS);

	/* A PASID attachment: the translation sees the PASID, the request says it is valid */
	pt = h.out_hwpt_id;
	CHECK_OK(softiommu_dev_attach(dev, 7, &pt));
	CHECK_OK(softiommu_dma_read(dev, 7, IOVA + 8, out, 8));
	CHECK(T.last_pasid == 7 && T.last_pasid_valid);
	CHECK_ERR(EFAULT, softiommu_dma_read(dev, 7, 0x900000, out, 8));
	CHECK(T.last_fault.pasid == 7 && T.last_fault.pasid_valid);
	n = softiommu_read(fa.out_fault_fd, &rec, sizeof(rec));
	CHECK(n == sizeof(rec) && rec.pasid == 7 && (rec.flags & IOMMU_PGFAULT_FLAGS_PASID_VALID));
	/* Left unanswered: the detach completes it as INVALID, and the model hears that too */
	CHECK_OK(softiommu_dev_detach(dev, 7));
	CHECK(T.responses == 2 && T.last_code == IOMMUFD_PAGE_RESP_INVALID);

	softiommu_dev_destroy(dev);
	CHECK_OK(softiommu_close(fa.out_fault_fd));
	CHECK_OK(softiommu_close(fd));
	munmap(buf, 4 * PG);
}

int main(void)
{
	test_registry();
	test_routing();
	sio_driver_unregister(&contract_driver);
	CHECK(sio_driver_find("contract") == NULL);
	return t_done();
}
