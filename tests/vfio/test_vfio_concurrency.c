// SPDX-License-Identifier: MIT
/*
 * Threads on one VFIO device at once: one runs the edu model's DMA (pwrite of its command
 * register) into an IOAS another thread keeps mapping and unmapping, a third switches the
 * interrupt eventfd and reads config space and region info, a fourth raises interrupts.
 * Every call must succeed (a DMA onto a page being unmapped faults inside the device, the
 * program sees nothing), and afterwards a DMA round trip lands whole. TSan runs it (the
 * "concurrency" tests).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <sys/mman.h>

#include "vfio_testlib.h"

#define ROUNDS 3000

static int iommufd, dev;
static uint32_t ioas;
static uint8_t *buf;
static atomic_int stop, thread_failures;

/* CHECK for the threads: the harness's counters are the main thread's */
#define TCHECK(cond)                                                                      \
	do {                                                                              \
		if (!(cond)) {                                                            \
			atomic_fetch_add(&thread_failures, 1);                            \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
		}                                                                         \
	} while (0)

static void reg_write64(unsigned int off, uint64_t v)
{
	TCHECK(v_pwrite(dev, &v, 8, REGION(0) + off) == 8);
}

static void reg_write(unsigned int off, uint32_t v)
{
	TCHECK(v_pwrite(dev, &v, 4, REGION(0) + off) == 4);
}

static void *dma_thread(void *arg)
{
	(void)arg;
	for (int i = 0; i < ROUNDS; i++) {
		uint64_t cmd = 1 | 2; /* device -> RAM */

		reg_write64(EDU_DMA_SRC, EDU_BUF);
		reg_write64(EDU_DMA_DST, MOCK_APERTURE_START + (i % 4) * 1024);
		reg_write64(EDU_DMA_COUNT, 512);
		TCHECK(v_pwrite(dev, &cmd, 8, REGION(0) + EDU_DMA_CMD) == 8);
	}
	return NULL;
}

static void *map_thread(void *arg)
{
	(void)arg;
	while (!atomic_load(&stop)) {
		uint64_t iova = MOCK_APERTURE_START;

		TCHECK(!t_map(iommufd, ioas, buf, 4096, &iova, IOMMU_IOAS_MAP_FIXED_IOVA |
			       IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE));
		TCHECK(!t_unmap(iommufd, ioas, iova, 4096, NULL));
	}
	return NULL;
}

static void *irq_config_thread(void *arg)
{
	int efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	struct vfio_region_info r = { .argsz = sizeof(r), .index = 0 };
	uint16_t vendor;

	(void)arg;
	while (!atomic_load(&stop)) {
		TCHECK(!v_set_irq_fd(dev, VFIO_PCI_INTX_IRQ_INDEX, VFIO_IRQ_SET_ACTION_TRIGGER,
				      efd));
		vendor = 0;
		TCHECK(v_pread(dev, &vendor, 2, REGION(VFIO_PCI_CONFIG_REGION_INDEX)) == 2);
		TCHECK(vendor == 0x1234);
		TCHECK(!v_ioctl(dev, VFIO_DEVICE_GET_REGION_INFO, &r));
		TCHECK(!v_set_irq_none(dev, VFIO_PCI_INTX_IRQ_INDEX,
					VFIO_IRQ_SET_ACTION_UNMASK, 1));
		TCHECK(!v_set_irq_none(dev, VFIO_PCI_INTX_IRQ_INDEX,
					VFIO_IRQ_SET_ACTION_TRIGGER, 0));
	}
	close(efd);
	return NULL;
}

static void *raise_thread(void *arg)
{
	(void)arg;
	while (!atomic_load(&stop)) {
		reg_write(EDU_IRQ_RAISE, 0x2);
		reg_write(EDU_IRQ_ACK, 0x2);
	}
	return NULL;
}

/* 2048 bytes between @iova and the device buffer, to RAM or from it */
static void edu_dma_sync(uint64_t iova, int to_ram)
{
	uint64_t cmd = 1 | (to_ram ? 2 : 0);

	v_reg_write64(dev, to_ram ? EDU_DMA_SRC : EDU_DMA_DST, EDU_BUF);
	v_reg_write64(dev, to_ram ? EDU_DMA_DST : EDU_DMA_SRC, iova);
	v_reg_write64(dev, EDU_DMA_COUNT, 2048);
	CHECK(v_pwrite(dev, &cmd, 8, REGION(0) + EDU_DMA_CMD) == 8);
	CHECK((v_reg(dev, EDU_DMA_CMD) & 1) == 0);
}

int main(void)
{
	pthread_t t[4];
	uint32_t pt;

	iommufd = open("/dev/iommu", O_RDWR);
	dev = v_open(VFIO0);
	CHECK(iommufd >= 0);
	buf = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(buf != MAP_FAILED);
	memset(buf, 0, 4096);
	CHECK_OK(v_bind(dev, iommufd, NULL));
	ioas = t_ioas_alloc(iommufd);
	pt = ioas;
	CHECK_OK(v_attach(dev, &pt));
	v_master(dev, 1);
	pthread_create(&t[1], NULL, map_thread, NULL);
	pthread_create(&t[2], NULL, irq_config_thread, NULL);
	pthread_create(&t[3], NULL, raise_thread, NULL);
	pthread_create(&t[0], NULL, dma_thread, NULL);
	pthread_join(t[0], NULL);
	atomic_store(&stop, 1);
	for (int i = 1; i < 4; i++)
		pthread_join(t[i], NULL);
	CHECK(atomic_load(&thread_failures) == 0);
	/* afterwards a DMA round trip through pages that stay mapped lands whole */
	{
		uint64_t iova = MOCK_APERTURE_START + (1 << 20);

		for (int i = 0; i < 2048; i++)
			buf[i] = (uint8_t)(i * 3 + 1);
		memset(buf + 2048, 0, 2048);
		CHECK_OK(t_map(iommufd, ioas, buf, 4096, &iova, IOMMU_IOAS_MAP_FIXED_IOVA |
			       IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE));
		edu_dma_sync(iova, 0);
		edu_dma_sync(iova + 2048, 1);
		CHECK(!memcmp(buf, buf + 2048, 2048));
		CHECK_OK(t_unmap(iommufd, ioas, iova, 4096, NULL));
	}
	CHECK(close(dev) == 0);
	CHECK(close(iommufd) == 0);
	munmap(buf, 4096);
	return t_done();
}
