// SPDX-License-Identifier: MIT
/*
 * signal.c — the shim keeps softiommu's SIGSEGV/SIGBUS handler installed (the fast user copy
 * needs it, core/mem/safecopy.c) while the program sees its own.
 *
 * The handler is installed by a constructor, in front of whatever was there (nothing, or a
 * sanitizer's). sigaction(), signal() and their relatives for SIGSEGV/SIGBUS are interposed:
 * what the program sets is recorded, in the form the kernel would report it back, as the
 * chain record a fault outside a copy is delivered to, with the program's mask and SA_NODEFER
 * applied around the call; the kernel keeps softiommu's handler (on the alternate stack when
 * the program's asks for it). A query returns the program's action, as if softiommu were not
 * there. Every other signal goes straight to libc.
 *
 * Limits: a program that calls rt_sigaction by raw system call replaces softiommu's handler
 * unseen (its copies then fault as in plain C); glibc's own internal calls (none for these
 * signals) are not seen either.
 *
 * Under ThreadSanitizer nothing here is built: TSan's runtime initialises before any
 * constructor and calls sigaction() through the next definition, which would be this
 * (instrumented) file's. The core then installs its handler itself through TSan's
 * interceptor, as in library mode.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/mem/safecopy.h"
#include "shim.h"

#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define SHIM_UNDER_TSAN 1
#endif
#endif
#if defined(__SANITIZE_THREAD__)
#define SHIM_UNDER_TSAN 1
#endif

#ifndef SHIM_UNDER_TSAN

typedef int (*sigaction_fn)(int, const struct sigaction *, struct sigaction *);
typedef __sighandler_t (*signal_fn)(int, __sighandler_t);

SHIM_REAL_FN(sigaction, sigaction_fn)
SHIM_REAL_FN(signal, signal_fn)
SHIM_REAL_FN(bsd_signal, signal_fn)
SHIM_REAL_FN(ssignal, signal_fn)
SHIM_REAL_FN(sysv_signal, signal_fn)
SHIM_REAL_FN(__sysv_signal, signal_fn)
SHIM_REAL_FN(sigset, signal_fn)
SHIM_REAL_FN(siginterrupt, int (*)(int, int))
SHIM_REAL_FN(sigprocmask, int (*)(int, const sigset_t *, sigset_t *))
SHIM_REAL_FN(pthread_sigmask, int (*)(int, const sigset_t *, sigset_t *))

#ifndef SA_RESTORER
#define SA_RESTORER 0x04000000
#endif
#ifndef SA_EXPOSE_TAGBITS
#define SA_EXPOSE_TAGBITS 0x00000800
#endif

/* The flags the kernel keeps (and reports back); others are cleared, as Linux does */
#define KERNEL_SA_FLAGS                                                                  \
	(SA_NOCLDSTOP | SA_NOCLDWAIT | SA_SIGINFO | SA_ONSTACK | SA_RESTART | SA_NODEFER | \
	 SA_RESETHAND | SA_RESTORER | SA_EXPOSE_TAGBITS)

static void *restorer;		/* libc's signal trampoline, as the kernel reports it */
static atomic_flag writer = ATOMIC_FLAG_INIT;
static sigset_t interrupting;	/* siginterrupt() state of SIGSEGV/SIGBUS, for signal() */
static atomic_bool owning;	/* our handler is installed: the fast copy is on */

static int ours(int sig)
{
	return (sig == SIGSEGV || sig == SIGBUS) &&
	       atomic_load_explicit(&owning, memory_order_relaxed);
}

/* Writers exclude each other, with every signal blocked: sigaction is async-signal-safe */
static void writer_lock(sigset_t *old)
{
	sigset_t all;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, old);
	while (atomic_flag_test_and_set_explicit(&writer, memory_order_acquire))
		;
}

static void writer_unlock(const sigset_t *old)
{
	atomic_flag_clear_explicit(&writer, memory_order_release);
	pthread_sigmask(SIG_SETMASK, old, NULL);
}

/* What the kernel would hold, and report back, after glibc's sigaction(@act) */
static void as_kernel_keeps(const struct sigaction *act, struct sigaction *rec)
{
	*rec = *act;
	rec->sa_flags = (act->sa_flags | SA_RESTORER) & KERNEL_SA_FLAGS;
	rec->sa_restorer = restorer;
	sigdelset(&rec->sa_mask, SIGKILL);
	sigdelset(&rec->sa_mask, SIGSTOP);
	/* The kernel's mask has 64 signals; glibc's sigset_t is larger */
	memset((char *)&rec->sa_mask + 8, 0, sizeof(rec->sa_mask) - 8);
}

/* glibc fills in what the kernel reports: handler, flags, restorer, the kernel's 64 bits */
static void report(const struct sigaction *rec, struct sigaction *old)
{
	old->sa_sigaction = rec->sa_sigaction;
	memcpy(&old->sa_mask, &rec->sa_mask, 8);
	old->sa_flags = rec->sa_flags;
	old->sa_restorer = rec->sa_restorer;
}

static int sigaction_ours(int sig, const struct sigaction *act, struct sigaction *old)
{
	struct sigaction prev, rec, k;
	sigset_t mask;

	if (act)
		as_kernel_keeps(act, &rec); /* a bad @act faults here, as it does in glibc */
	writer_lock(&mask);
	sio_safecopy_chain_get(sig, &prev);
	if (act) {
		sio_safecopy_chain_set(sig, &rec);
		sio_safecopy_kernel_action(&rec, &k);
		real_sigaction()(sig, &k, NULL);
	}
	writer_unlock(&mask);
	if (old)
		report(&prev, old);
	return 0;
}

SHIM_EXPORT int sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
	if (!ours(sig))
		return real_sigaction()(sig, act, old);
	return sigaction_ours(sig, act, old);
}

SHIM_EXPORT int __sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
	return sigaction(sig, act, old);
}

/* signal(): BSD semantics, as glibc's: SA_RESTART unless siginterrupt(), the signal masked */
static __sighandler_t signal_ours(int sig, __sighandler_t handler)
{
	struct sigaction act = { .sa_handler = handler }, old;

	if (handler == SIG_ERR) {
		errno = EINVAL;
		return SIG_ERR;
	}
	sigemptyset(&act.sa_mask);
	sigaddset(&act.sa_mask, sig);
	act.sa_flags = sigismember(&interrupting, sig) ? 0 : SA_RESTART;
	sigaction_ours(sig, &act, &old);
	return old.sa_handler;
}

SHIM_EXPORT __sighandler_t signal(int sig, __sighandler_t handler)
{
	return ours(sig) ? signal_ours(sig, handler) : real_signal()(sig, handler);
}

SHIM_EXPORT __sighandler_t bsd_signal(int sig, __sighandler_t handler)
{
	return ours(sig) ? signal_ours(sig, handler) : real_bsd_signal()(sig, handler);
}

SHIM_EXPORT __sighandler_t ssignal(int sig, __sighandler_t handler)
{
	return ours(sig) ? signal_ours(sig, handler) : real_ssignal()(sig, handler);
}

/* System V semantics: reset to the default on delivery, not masked while it runs */
static __sighandler_t sysv_ours(int sig, __sighandler_t handler)
{
	struct sigaction act = { .sa_handler = handler, .sa_flags = SA_RESETHAND | SA_NODEFER };
	struct sigaction old;

	if (handler == SIG_ERR) {
		errno = EINVAL;
		return SIG_ERR;
	}
	sigemptyset(&act.sa_mask);
	sigaction_ours(sig, &act, &old);
	return old.sa_handler;
}

SHIM_EXPORT __sighandler_t sysv_signal(int sig, __sighandler_t handler)
{
	return ours(sig) ? sysv_ours(sig, handler) : real_sysv_signal()(sig, handler);
}

SHIM_EXPORT __sighandler_t __sysv_signal(int sig, __sighandler_t handler)
{
	return ours(sig) ? sysv_ours(sig, handler) : real___sysv_signal()(sig, handler);
}

/* sigset(): SIG_HOLD blocks the signal; anything else sets the action and unblocks it */
SHIM_EXPORT __sighandler_t sigset(int sig, __sighandler_t disp)
{
	struct sigaction act = { .sa_handler = disp }, old;
	sigset_t one, prev;

	if (!ours(sig))
		return real_sigset()(sig, disp);
	if (disp == SIG_ERR) {
		errno = EINVAL;
		return SIG_ERR;
	}
	sigemptyset(&one);
	sigaddset(&one, sig);
	if (disp == SIG_HOLD) {
		sigprocmask(SIG_BLOCK, &one, &prev);
		if (sigismember(&prev, sig))
			return SIG_HOLD;
		sigaction_ours(sig, NULL, &old);
		return old.sa_handler;
	}
	sigemptyset(&act.sa_mask);
	sigaction_ours(sig, &act, &old);
	sigprocmask(SIG_UNBLOCK, &one, &prev);
	return sigismember(&prev, sig) ? SIG_HOLD : old.sa_handler;
}

SHIM_EXPORT int siginterrupt(int sig, int flag)
{
	struct sigaction act;

	if (!ours(sig))
		return real_siginterrupt()(sig, flag);
	sigaction_ours(sig, NULL, &act);
	if (flag) {
		sigaddset(&interrupting, sig);
		act.sa_flags &= ~SA_RESTART;
	} else {
		sigdelset(&interrupting, sig);
		act.sa_flags |= SA_RESTART;
	}
	return sigaction_ours(sig, &act, NULL);
}

/*
 * A thread that blocks SIGSEGV or SIGBUS must not take a fault in a copy (the kernel would
 * kill the process): tell the copy layer when the program changes either, so its next copy
 * looks at the mask again. (libc's internal mask changes, e.g. siglongjmp's, are not seen.)
 */
static void mask_changed(int how, const sigset_t *set)
{
	bool touches;

	if (!set)
		return;
	touches = sigismember(set, SIGSEGV) == 1 || sigismember(set, SIGBUS) == 1;
	if (how == SIG_SETMASK)
		sio_safecopy_thread_mask = touches ? SIO_MASK_BLOCKED : SIO_MASK_OPEN;
	else if (how == SIG_BLOCK && touches)
		sio_safecopy_thread_mask = SIO_MASK_BLOCKED;
	else if (how == SIG_UNBLOCK && touches)
		sio_safecopy_thread_mask = SIO_MASK_UNKNOWN;
}

SHIM_EXPORT int sigprocmask(int how, const sigset_t *set, sigset_t *old)
{
	int ret = real_sigprocmask()(how, set, old);

	if (ret == 0)
		mask_changed(how, set);
	return ret;
}

SHIM_EXPORT int pthread_sigmask(int how, const sigset_t *set, sigset_t *old)
{
	int ret = real_pthread_sigmask()(how, set, old);

	if (ret == 0)
		mask_changed(how, set);
	return ret;
}

/* Put softiommu's handler in front of what is installed, which becomes the chain record */
__attribute__((constructor)) static void shim_signal_init(void)
{
	static const int sigs[] = { SIGSEGV, SIGBUS };
	const char *env = getenv("SOFTIOMMU_UACCESS");
	struct sigaction prev, k, cur;

	/* With the process_vm copy forced, or no fast copy built, signals are left alone */
	if (!sio_safecopy_built() || (env && !strcmp(env, "vm")))
		return;
	sio_safecopy_set_frontend(real_sigaction());
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		if (real_sigaction()(sigs[i], NULL, &prev))
			continue;
		sio_safecopy_chain_set(sigs[i], &prev);
		sio_safecopy_kernel_action(&prev, &k);
		real_sigaction()(sigs[i], &k, NULL);
	}
	if (real_sigaction()(SIGSEGV, NULL, &cur) == 0)
		restorer = cur.sa_restorer;
	atomic_store(&owning, true);
}
#endif /* !SHIM_UNDER_TSAN */
