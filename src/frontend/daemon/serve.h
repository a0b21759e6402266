/* SPDX-License-Identifier: MIT */
/* serve.h — the daemon's entry points (serve.c) and the client's (client.c) */
#ifndef SIO_DAEMON_SERVE_H
#define SIO_DAEMON_SERVE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

int sio_serve_listen(const char *path);
int sio_serve_loop(int lfd);
int sio_serve_conn(int sock);
extern atomic_ulong sio_serve_requests;
extern atomic_int sio_serve_conns;

struct sio_proto_stats;
int sio_remote_open(const char *path, int flags);
int sio_remote_stats(int fd, struct sio_proto_stats *st);
int sio_remote_dma(int fd, uint32_t dev_id, uint32_t pasid, uint64_t iova, void *buf,
		   size_t len, bool write);
int sio_remote_adopt(int fd);
struct sio_remote_dev;
int sio_remote_dev_open(int iommufd, uint32_t dev_id, struct sio_remote_dev **out);
void sio_remote_dev_free(struct sio_remote_dev *d);
struct softiommu_dma_seg;
int sio_remote_dev_rwv(struct sio_remote_dev *d, uint32_t pasid,
		       const struct softiommu_dma_seg *segs, unsigned int nr, bool write,
		       size_t *moved);
int sio_remote_mm_account(const char *path, pid_t pid, unsigned long *pinned,
			  unsigned long *locked);

#endif
