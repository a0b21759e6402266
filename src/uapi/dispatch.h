/* SPDX-License-Identifier: MIT */
#ifndef SIO_DISPATCH_H
#define SIO_DISPATCH_H

#include <stdint.h>

struct sio_ctx;

/* Run one ioctl on an iommufd context. Returns >= 0 or -errno. */
long sio_dispatch_ioctl(struct sio_ctx *ctx, unsigned long cmd, uint64_t arg);

#endif
