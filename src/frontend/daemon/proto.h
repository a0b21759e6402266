/* SPDX-License-Identifier: MIT */
/*
 * proto.h — the daemon's wire protocol (docs/daemon.md).
 *
 * One SOCK_SEQPACKET connection per open of /dev/iommu: the connection is the client's
 * iommufd descriptor, shared by fork() as a kernel file is. A request is one fixed frame: an
 * operation, the ioctl number and the *address* of its argument in the sender's memory,
 * which the daemon reads and writes there (process_vm_readv/writev, through the sender's
 * struct sio_mm) exactly as the kernel's copy_from_user does; the sender is whoever the
 * kernel says sent the frame (SCM_CREDENTIALS). The reply is one frame, the result as
 * -errno, plus at most one descriptor (SCM_RIGHTS) when the ioctl made one (a fault queue, a
 * vEVENTQ, an access): its number in the daemon is @handle, and the client writes its own
 * number at @fd_off of the argument.
 */
#ifndef SIO_DAEMON_PROTO_H
#define SIO_DAEMON_PROTO_H

#include <stddef.h>
#include <stdint.h>

#define SIO_PROTO_MAGIC 0x73696f64u /* "siod" */
#define SIO_PROTO_VERSION 2

enum sio_proto_op {
	SIO_OP_IOCTL = 1, /* @cmd, @arg on the context, or on sub-file @handle when non-zero */
	SIO_OP_READ = 2,  /* read(@handle, @arg, @len) */
	SIO_OP_WRITE = 3, /* write(@handle, @arg, @len) */
	SIO_OP_CLOSE = 4, /* the client closed its last copy of sub-file @handle */
	SIO_OP_STATS = 5, /* struct sio_proto_stats at @arg: the daemon's counters (tests) */
	SIO_OP_EXITING = 6, /* the sender exits while others keep the connection: keep its pins */
	SIO_OP_MM_STATS = 7, /* struct sio_proto_mm_stats at @arg: VmPin/VmLck of pid @cmd */
	SIO_OP_MMAP = 8,  /* mmap of the context at offset @cmd, @len bytes, at the sender's
			   * address @arg (reserved by it); @handle = prot << 32 | flags. The
			   * reply passes the region's memfd, to be mapped there at offset 0 */
	SIO_OP_DMA = 9,   /* a device's DMA (a device model's): device object @handle (low 32
			   * bits; the PASID in the high 32) at IOVA @cmd, @len bytes to or from
			   * the sender's @arg; @patch_val: SIO_PROTO_DMA_* flags */
	SIO_OP_HELLO = 10, /* the first frame of an open: it carries (SCM_RIGHTS) the client's
			    * own end of the connection, whose socket cookie the daemon keeps */
	SIO_OP_JOIN = 11, /* the first frame of a process that received an iommufd (SCM_RIGHTS
			   * from its opener): it carries that descriptor, the client end of
			   * another connection; the daemon finds the connection by its cookie
			   * and serves this one on the same context (docs/daemon.md) */
};

/* SIO_OP_DMA: from the sender's buffer into the IOVA space (else from it into the buffer) */
#define SIO_PROTO_DMA_WRITE 1u
/* The most one SIO_OP_DMA moves */
#define SIO_PROTO_DMA_MAX (64ULL << 20)

/* What is charged to one client process, in pages (SIO_OP_MM_STATS) */
struct sio_proto_mm_stats {
	uint64_t pinned_vm;
	uint64_t locked_vm;
};

/* What the daemon holds, all clients together (SIO_OP_STATS) */
struct sio_proto_stats {
	uint64_t live_objects; /* contexts and objects */
	uint64_t pinned_pages;
	uint64_t connections;
	uint64_t client_mms;   /* clients' address spaces still referenced */
	uint64_t requests;
	uint64_t pa_windows;   /* windows of clients' memory in physical addresses (mm_pa.c) */
};

struct sio_proto_req {
	uint32_t magic;
	uint16_t version;
	uint16_t op;
	uint64_t seq;    /* echoed by the reply: a reply left by a client killed mid-call is skipped */
	uint64_t handle; /* a sub-file's descriptor number in the daemon; 0: the context */
	uint64_t cmd;
	uint64_t arg;    /* an address in the sender's memory */
	uint64_t len;
	/* @patch_off + 1 (0: none): the daemon reads the u32 at @arg + @patch_off as @patch_val
	 * (a descriptor the argument names, as the daemon numbers it) */
	uint32_t patch_off1;
	uint32_t patch_val;
	/* The sender thread's fail-nth count (core/fail.h; 0: none): the daemon injects the
	 * failure in its own core, where the call runs, and the reply carries what is left */
	uint32_t fail_nth;
	uint32_t reserved; /* 0 */
};

struct sio_proto_rsp {
	uint32_t magic;
	uint32_t has_fd;  /* one descriptor follows (SCM_RIGHTS): SIO_PROTO_FD_* bits */
	uint64_t seq;
	int64_t ret;      /* >= 0, or -errno */
	uint64_t handle;  /* the passed descriptor's number in the daemon */
	int64_t fd_off;   /* where in the argument the client writes its own number, or: */
	uint32_t fail_nth; /* the request's fail-nth count after the call (0: it fired) */
	uint32_t reserved;
};

/*
 * What the client puts in a selftest argument's descriptor field for a number that is not
 * one of the daemon's descriptors it holds: no descriptor at all, or a file of its own
 */
#define SIO_PROTO_FD_NONE UINT32_MAX
#define SIO_PROTO_FD_NOT_OURS (UINT32_MAX - 1)

/* has_fd: a descriptor follows; the file it is can be read, written (a vEVENTQ only reads) */
#define SIO_PROTO_HAS_FD 1u
#define SIO_PROTO_FD_READ 2u
#define SIO_PROTO_FD_WRITE 4u

/* The passed descriptor is the ioctl's result (the selftest's DMABUF_GET) */
#define SIO_PROTO_FD_IS_RET (-2)

#endif
