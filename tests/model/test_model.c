// SPDX-License-Identifier: MIT
/*
 * What models share (src/model): the library's faults as contract fault records, the
 * fault-safe descriptor fetch, guest-memory reads through a stage-2 domain (the mock's, set
 * up through the uAPI), the configuration cache's invalidation rules, and the reference
 * sio_viommu_find_dev() takes (a device's unbind waits for its put).
 */
#include <pthread.h>
#include <sys/mman.h>
#include <unistd.h>

#include "testlib.h"
#include "core/sio.h"
#include "model/model.h"

#define PG 4096ULL

static void test_fault_from_pt(void)
{
	struct pt_fault pf = { .kind = PT_FAULT_TRANSLATION, .stage = 2, .level = 3,
			       .s2_on_s1_walk = true, .ipa = 0x4000 };
	struct sio_dma_fault f = { .iova = 0x1234, .pasid = 5, .pasid_valid = true };

	sio_model_fault_from_pt(&f, &pf);
	CHECK(f.kind == SIO_DMA_FAULT_TRANSLATION && f.stage == 2 && f.level == 3 && f.s2_walk &&
	      f.cls == SIO_DMA_CLASS_TT && f.ipa == 0x4000);
	/* The request's fields are the core's */
	CHECK(f.iova == 0x1234 && f.pasid == 5 && f.pasid_valid);
	pf = (struct pt_fault){ .kind = PT_FAULT_PERMISSION, .stage = 1, .level = 2 };
	sio_model_fault_from_pt(&f, &pf);
	CHECK(f.kind == SIO_DMA_FAULT_PERMISSION && f.stage == 1 && !f.s2_walk &&
	      f.cls == SIO_DMA_CLASS_IN && f.ipa == 0);
	pf.kind = PT_FAULT_ACCESS;
	sio_model_fault_from_pt(&f, &pf);
	CHECK(f.kind == SIO_DMA_FAULT_ACCESS_FLAG);
	pf.kind = PT_FAULT_ADDR_SIZE;
	sio_model_fault_from_pt(&f, &pf);
	CHECK(f.kind == SIO_DMA_FAULT_ADDR_SIZE);
	pf.kind = PT_FAULT_EXTERNAL;
	sio_model_fault_from_pt(&f, &pf);
	CHECK(f.kind == SIO_DMA_FAULT_WALK_EABT && f.cls == SIO_DMA_CLASS_TT);
	CHECK(sio_fault_default_disposition(&(struct sio_dma_fault){
		      .kind = SIO_DMA_FAULT_PERMISSION }) == SIO_FAULT_IOPF);
	CHECK(sio_fault_default_disposition(&(struct sio_dma_fault){
		      .kind = SIO_DMA_FAULT_WALK_EABT }) == SIO_FAULT_EVENT);
}

static void test_read_desc(void)
{
	uint64_t *page = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint64_t d = 0;

	page[3] = 0x1122334455667788ULL;
	CHECK_OK(sio_model_read_desc(NULL, (uintptr_t)&page[3], &d));
	CHECK(d == 0x1122334455667788ULL);
	munmap(page, PG);
	/* Memory that is gone is an error, never a signal */
	CHECK_ERR(EFAULT, sio_model_read_desc(NULL, (uintptr_t)&page[3], &d));
	CHECK_ERR(EFAULT, sio_host_read((uintptr_t)page, &d, 8));
}

/* A mock device on a NEST_PARENT paging HWPT of @ioas: the stage 2 guest reads go through */
static struct sio_domain *stage2_of(int fd, uint32_t ioas, uint32_t *hwpt_id, uint32_t *idev)
{
	struct iommu_hwpt_alloc h = { .size = sizeof(h), .flags = IOMMU_HWPT_ALLOC_NEST_PARENT };
	struct sio_ctx *ctx = sio_ctx_from_fd(fd);
	struct sio_object *obj;
	struct sio_domain *d;

	t_mock_domain(fd, ioas, NULL, idev);
	h.dev_id = *idev;
	h.pt_id = ioas;
	CHECK_OK(softiommu_ioctl(fd, IOMMU_HWPT_ALLOC, &h));
	*hwpt_id = h.out_hwpt_id;
	obj = sio_get_object(ctx, h.out_hwpt_id, SIO_OBJ_HWPT_PAGING);
	d = container_of(obj, struct sio_hw_pagetable, obj)->domain;
	sio_put_object(ctx, obj);
	sio_ctx_put(ctx);
	return d;
}

static void test_guest_read(void)
{
	char *buf = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint64_t ipa = MOCK_APERTURE_START;
	int fd = softiommu_open(0);
	uint32_t ioas = t_ioas_alloc(fd), hwpt, idev;
	struct sio_domain *s2 = stage2_of(fd, ioas, &hwpt, &idev);
	struct sio_dma_fault f;
	char out[32];

	CHECK_OK(t_map(fd, ioas, buf, 4 * PG, &ipa,
		       IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE));
	memcpy(buf + PG - 8, "a queue entry across pages", 27);
	/* Across a page boundary of stage 2 */
	CHECK_OK(sio_guest_read(s2, MOCK_APERTURE_START + PG - 8, out, 27, &f));
	CHECK(!memcmp(out, "a queue entry across pages", 27));
	/* An IPA stage 2 does not map: a stage-2 fault on the IOMMU's own fetch */
	CHECK_ERR(EFAULT, sio_guest_read(s2, MOCK_APERTURE_START + 16 * PG, out, 8, &f));
	CHECK(f.kind == SIO_DMA_FAULT_TRANSLATION && f.stage == 2 && f.s2_walk &&
	      f.cls == SIO_DMA_CLASS_TT && f.ipa == MOCK_APERTURE_START + 16 * PG);
	/* Running off the end of the mapping faults at the first IPA that is not there */
	CHECK_ERR(EFAULT, sio_guest_read(s2, MOCK_APERTURE_START + 4 * PG - 4, out, 8, &f));
	CHECK(f.ipa == MOCK_APERTURE_START + 4 * PG);
	CHECK_OK(t_destroy(fd, hwpt));
	CHECK_OK(softiommu_close(fd));
	munmap(buf, 4 * PG);
}

static void test_cfg_cache(void)
{
	struct sio_cfg_cache c;
	struct sio_cfg_ticket t;
	uint64_t rec[8] = { 1, 2, 3, 4, 5, 6, 7, 8 }, out[8];

	CHECK_ERR(EINVAL, sio_cfg_cache_init(&c, 4, 65));
	CHECK_OK(sio_cfg_cache_init(&c, 4, 64));
	CHECK(!sio_cfg_cache_lookup(&c, 0x10, out));
	sio_cfg_cache_ticket(&c, 0x10, &t);
	sio_cfg_cache_insert(&c, &t, rec);
	memset(out, 0, sizeof(out));
	CHECK(sio_cfg_cache_lookup(&c, 0x10, out) && !memcmp(out, rec, sizeof(rec)));
	CHECK(!sio_cfg_cache_lookup(&c, 0x11, out));
	/* An invalidation of the key: gone */
	sio_cfg_cache_invalidate(&c, 0x10);
	sio_cfg_cache_drain(&c);
	CHECK(!sio_cfg_cache_lookup(&c, 0x10, out));
	/* A fill whose fetch raced an invalidation never hits */
	sio_cfg_cache_ticket(&c, 0x10, &t);
	sio_cfg_cache_invalidate(&c, 0x10);
	sio_cfg_cache_insert(&c, &t, rec);
	CHECK(!sio_cfg_cache_lookup(&c, 0x10, out));
	sio_cfg_cache_ticket(&c, 0x10, &t);
	sio_cfg_cache_invalidate_all(&c);
	sio_cfg_cache_insert(&c, &t, rec);
	CHECK(!sio_cfg_cache_lookup(&c, 0x10, out));
	/* Invalidate-all takes every key */
	for (uint64_t k = 0; k != 8; k++) {
		sio_cfg_cache_ticket(&c, k << 20, &t);
		rec[0] = k;
		sio_cfg_cache_insert(&c, &t, rec);
	}
	CHECK(sio_cfg_cache_lookup(&c, 3 << 20, out) && out[0] == 3);
	sio_cfg_cache_invalidate_all(&c);
	for (uint64_t k = 0; k != 8; k++)
		CHECK(!sio_cfg_cache_lookup(&c, k << 20, out));
	sio_cfg_cache_destroy(&c);
}

/* find_dev's reference: the device's unbind waits for the put */
struct unbind_arg {
	int fd;
	uint32_t stdev;
	atomic_bool done;
};

static void *unbind_thread(void *p)
{
	struct unbind_arg *a = p;

	CHECK_OK(t_destroy(a->fd, a->stdev));
	atomic_store(&a->done, true);
	return NULL;
}

static void test_find_dev_ref(void)
{
	struct iommu_hwpt_alloc h = { .size = sizeof(h), .flags = IOMMU_HWPT_ALLOC_NEST_PARENT };
	struct iommu_viommu_alloc v = { .size = sizeof(v), .type = IOMMU_VIOMMU_TYPE_SELFTEST };
	struct iommu_vdevice_alloc vd = { .size = sizeof(vd), .virt_id = 0x77 };
	struct unbind_arg a = { .fd = softiommu_open(0) };
	uint32_t ioas = t_ioas_alloc(a.fd), idev;
	struct sio_ctx *ctx = sio_ctx_from_fd(a.fd);
	struct sio_viommu *viommu;
	struct sio_object *obj;
	struct sio_dev *dev;
	pthread_t th;

	a.stdev = t_mock_domain(a.fd, ioas, NULL, &idev);
	h.dev_id = v.dev_id = vd.dev_id = idev;
	h.pt_id = ioas;
	CHECK_OK(softiommu_ioctl(a.fd, IOMMU_HWPT_ALLOC, &h));
	v.hwpt_id = h.out_hwpt_id;
	CHECK_OK(softiommu_ioctl(a.fd, IOMMU_VIOMMU_ALLOC, &v));
	vd.viommu_id = v.out_viommu_id;
	CHECK_OK(softiommu_ioctl(a.fd, IOMMU_VDEVICE_ALLOC, &vd));
	obj = sio_get_object(ctx, v.out_viommu_id, SIO_OBJ_VIOMMU);
	viommu = container_of(obj, struct sio_viommu, obj);
	CHECK(sio_viommu_find_dev(viommu, 0x78) == NULL);
	dev = sio_viommu_find_dev(viommu, 0x77);
	CHECK(dev != NULL);
	sio_put_object(ctx, obj);
	/* The selftest device's destroy unbinds it: it waits for our reference */
	pthread_create(&th, NULL, unbind_thread, &a);
	usleep(100 * 1000);
	CHECK(!atomic_load(&a.done));
	CHECK(dev->iommufd_device != NULL);
	sio_viommu_put_dev(dev);
	pthread_join(th, NULL);
	CHECK(atomic_load(&a.done));
	CHECK_OK(t_destroy(a.fd, v.out_viommu_id));
	CHECK_OK(t_destroy(a.fd, h.out_hwpt_id));
	sio_ctx_put(ctx);
	CHECK_OK(softiommu_close(a.fd));
}

int main(void)
{
	test_fault_from_pt();
	test_read_desc();
	test_guest_read();
	test_cfg_cache();
	test_find_dev_ref();
	return t_done();
}
