/* SPDX-License-Identifier: MIT */
/*
 * safecopy.h — the fault-safe user copy with no system call (safecopy.c), and what a
 * front-end needs to own the SIGSEGV/SIGBUS handlers it relies on (the shim's signal.c).
 */
#ifndef SIO_SAFECOPY_H
#define SIO_SAFECOPY_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Whether this build has the fast copy at all (x86-64 with SOFTIOMMU_FAST_UACCESS) */
bool sio_safecopy_built(void);

/*
 * sio_safecopy_ready() - make the fast copy usable on this process, once
 *
 * In library mode this installs softiommu's SIGSEGV/SIGBUS handlers (chaining to what was
 * installed before); with a front-end that owns the handlers it only checks they are in
 * place. Return: false when the fast copy cannot be used (not built, or a handler could not
 * be installed): callers then use process_vm_readv/writev.
 */
bool sio_safecopy_ready(void);
void sio_safecopy_recheck(void);

/*
 * sio_safecopy() - copy @len bytes from @src to @dst with plain loads and stores, where the
 * user side is [@uaddr, @uaddr + @len) (either @src or @dst): a fault there stops the copy.
 * Return: the bytes copied, every one of them before the first inaccessible user page.
 */
size_t sio_safecopy(void *dst, const void *src, size_t len, uint64_t uaddr);

/* uaccess.c: the copy path this process uses, "fast" or "process_vm" */
const char *sio_uaccess_path_name(void);

/*
 * Whether this thread blocks SIGSEGV or SIGBUS, as far as the front-end saw its
 * sigprocmask()/pthread_sigmask() calls: a fault it blocks would kill the process, so such a
 * thread copies with process_vm_readv/writev. SIO_MASK_UNKNOWN (a new thread, or library
 * mode) asks the kernel once.
 */
enum { SIO_MASK_UNKNOWN, SIO_MASK_OPEN, SIO_MASK_BLOCKED };
extern __thread int sio_safecopy_thread_mask __attribute__((tls_model("initial-exec")));
bool sio_safecopy_mask_blocked(void);

/* ---- for a front-end that owns the handlers (the shim) ---- */

/* The handler to install for SIGSEGV and SIGBUS (SA_SIGINFO) */
void sio_safecopy_handler(int sig, siginfo_t *si, void *uc);

/*
 * Called by the front-end before it installs sio_safecopy_handler(): from then on the
 * library does not install handlers itself, and @real_sigaction is how softiommu reaches
 * the kernel's sigaction (libc's, behind the front-end's own interposer).
 */
void sio_safecopy_set_frontend(int (*real_sigaction)(int, const struct sigaction *,
						      struct sigaction *));

/*
 * The action the program set for @sig (SIGSEGV or SIGBUS), as the kernel would report it:
 * a fault outside a copy is delivered to it. The front-end updates it when the program calls
 * sigaction()/signal(); readers in a signal handler see a consistent record.
 */
void sio_safecopy_chain_get(int sig, struct sigaction *out);
void sio_safecopy_chain_set(int sig, const struct sigaction *act);

/*
 * The kernel action softiommu installs for @sig while the program's is @prog: our handler,
 * SA_NODEFER and nothing masked (a fault in a copy must stay deliverable while it runs), on
 * the alternate stack when the program's asks for it; the program's mask is applied when a
 * fault is forwarded to it.
 */
void sio_safecopy_kernel_action(const struct sigaction *prog, struct sigaction *out);

#endif
