/* SPDX-License-Identifier: MIT */
/*
 * softiommu files: what a file descriptor handed out by softiommu refers to (an open
 * /dev/iommu, an access, a fault queue, a vEVENTQ, a dmabuf). Each file is backed by one end
 * of a real socket pair, so the descriptor behaves as a kernel file for close/dup/fork/poll,
 * and has an identity the kernel keeps (its inode) that a reused descriptor number cannot
 * fake. The registry maps descriptor numbers to files. A file is readable (POLLIN) exactly
 * while its owner says so through sio_file_set_readable().
 */
#ifndef SIO_FILE_H
#define SIO_FILE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct sio_file;

struct sio_file_ops {
	const char *name;
	long (*ioctl)(struct sio_file *f, unsigned long cmd, void *arg);
	ssize_t (*read)(struct sio_file *f, void *buf, size_t len);
	ssize_t (*write)(struct sio_file *f, const void *buf, size_t len);
	int (*mmap)(struct sio_file *f, void *addr, size_t len, int prot, int flags, off_t off,
		    void **out);
	void (*release)(struct sio_file *f);
};

/**
 * struct sio_file - one softiommu file
 * @refs: the registry holds one per descriptor number; users hold short-term ones. Files
 *        live in type-stable memory (file.c), so a lock-free lookup may touch @refs of a
 *        file being freed or reused; it re-checks the registry after taking its reference.
 * @signal_fd: our end of the socket pair; a byte sent on it makes the program's end readable
 * @drain_fd: our own descriptor of the program's end, to take that byte back
 * @dev, @ino: the program's end's identity (fstat), checked against a descriptor number
 * @owner: the process that created the file; in a child of fork() the file is inherited;
 *         0 for an adopted file (sio_file_adopt), which fork() shares
 * @lock: serialises @readable changes
 */
struct sio_file {
	const struct sio_file_ops *ops;
	void *priv;
	atomic_int refs;
	int signal_fd;
	int drain_fd;
	dev_t dev;
	ino_t ino;
	pid_t owner;
	pthread_mutex_t lock;
	bool readable;
	int flags; /* O_NONBLOCK etc. */
	_Atomic uint32_t next_free;
	uint32_t index;
};

/* Create a file and a descriptor for it. Returns the fd or -errno. */
int sio_file_install(const struct sio_file_ops *ops, void *priv, int flags,
		     struct sio_file **out);
int sio_file_adopt(const struct sio_file_ops *ops, void *priv, int fd, int flags,
		   struct sio_file **out);
struct sio_file *sio_file_get(int fd);
struct sio_file *sio_file_get_unchecked(int fd);
static inline void sio_file_ref(struct sio_file *f) { atomic_fetch_add(&f->refs, 1); }
void sio_file_put(struct sio_file *f);
int sio_file_close(int fd);
int sio_file_close_with(int fd, int (*close_fn)(void *arg), void *arg);
int sio_file_vacate(int fd);
int sio_file_dup(int oldfd, int newfd);
bool sio_file_is_fd(int fd);
int sio_file_find_same(int fd);
bool sio_file_check(int fd);
bool sio_file_is_internal(int fd);
bool sio_file_is_inherited(int fd);
int sio_file_limit(void);
int sio_file_hold_fd(struct sio_file *f, int fd);
void sio_file_drop_fd(int fd);
int sio_file_hold_core_fd(int fd);
void sio_file_release_core_fd(int fd);
void sio_file_sweep(void);
void sio_file_set_readable(struct sio_file *f, bool readable);
void sio_file_for_each(const struct sio_file_ops *ops, void (*fn)(int fd, struct sio_file *f,
								  void *arg),
		       void *arg);

#endif
