// SPDX-License-Identifier: MIT
/*
 * The fault-safe user copy with no system call.
 *
 * A copy is one `rep movsb` at a known address (safecopy_insn). Before it the thread marks
 * itself in a copy and records the user range in thread-local storage; a SIGSEGV or SIGBUS
 * whose ucontext shows that instruction, on a marked thread, with the faulting address in the
 * user range (or a #GP from a non-canonical user pointer, which carries no address), is ours:
 * the handler moves the saved instruction pointer to safecopy_fixup, just after it, and
 * returns. The interrupted copy then reads in RCX how many bytes were left, as the kernel's
 * exception-table fixup does for copy_user. No setjmp, nothing saved or restored but what
 * sigreturn already restores (signal mask, alternate-stack state), so the handler is
 * async-signal-safe and works the same on every thread and on an alternate stack.
 *
 * Any other fault is the program's: it goes to the action the program set (recorded in a
 * chain record), with that action's semantics — its mask and SA_NODEFER applied around the
 * call, SA_SIGINFO or not, SA_RESETHAND — while the kernel applies its SA_ONSTACK because our
 * handler is installed with it (sio_safecopy_kernel_action). Our handler itself runs with
 * nothing more blocked (SA_NODEFER, empty mask), so a signal handler that interrupts it can
 * still take a fault in a copy. With no handler, the default action is restored and the
 * fault taken again, so the process dies of it exactly as without softiommu (same signal,
 * same core, same exit status).
 *
 * Who installs the handler: the shim's signal.c when preloaded (it also interposes
 * sigaction()/signal() so the program's later handlers land in the chain record and ours
 * stays installed); otherwise this file, once, at the first copy, chaining to whatever was
 * installed before (a sanitizer's, a fuzzer's, the program's). A library-mode program that
 * replaces the handler afterwards is detected at the next softiommu_open(), not per copy;
 * SOFTIOMMU_UACCESS=vm forces the process_vm_readv/writev path instead.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#include "safecopy.h"

#if defined(__x86_64__) && defined(SIO_FAST_UACCESS)
#define SAFECOPY_BUILT 1
#else
#define SAFECOPY_BUILT 0
#endif

#define SAFECOPY_PAGE 4096UL
#define KERNEL_SIGSET_SIZE 8 /* the kernel's sigset_t: 64 signals */

/* ---- the copy instruction and its fixup ---- */

#if SAFECOPY_BUILT
/* Returns the bytes not copied (RCX after the rep movsb, or at the fault) */
size_t safecopy_raw(void *dst, const void *src, size_t len);
extern const char safecopy_insn[], safecopy_fixup[];

/* In a section of its own push: the compiler's current section is not ours to change */
__asm__(".pushsection .text\n"
	".p2align 4\n"
	".globl safecopy_raw\n"
	".hidden safecopy_raw\n"
	".type safecopy_raw, @function\n"
	"safecopy_raw:\n"
	"	endbr64\n"
	"	movq %rdx, %rcx\n"
	".globl safecopy_insn\n"
	".hidden safecopy_insn\n"
	"safecopy_insn:\n"
	"	rep movsb\n"
	".globl safecopy_fixup\n"
	".hidden safecopy_fixup\n"
	"safecopy_fixup:\n"
	"	movq %rcx, %rax\n"
	"	ret\n"
	".size safecopy_raw, .-safecopy_raw\n"
	".popsection\n");
#endif

/*
 * This thread's copy in progress. A signal handler that copies (an ioctl from a handler)
 * nests: sio_safecopy() saves and restores the outer state.
 */
struct safecopy_state {
	uintptr_t ulo, uhi;	/* the user range of the copy: [ulo, uhi) */
	uintptr_t fault_addr;	/* set by the handler: where the fault was, 0 when unknown */
	bool active;
};

static __thread volatile struct safecopy_state sc_state __attribute__((tls_model("initial-exec")));
static atomic_bool frontend_owned;

__thread int sio_safecopy_thread_mask __attribute__((tls_model("initial-exec")));

/**
 * sio_safecopy_mask_blocked() - whether this thread blocks SIGSEGV or SIGBUS
 *
 * Asks the kernel when the thread's answer is unknown (a new thread inherited its creator's
 * mask; the shim's sigprocmask()/pthread_sigmask() interposers reset it when the program
 * changes either signal) and remembers it. In library mode nobody resets it: a thread that
 * blocks them after its first copy is not seen (see the README's limits).
 */
bool sio_safecopy_mask_blocked(void)
{
	sigset_t cur;
	bool blocked;

	if (sio_safecopy_thread_mask != SIO_MASK_UNKNOWN)
		return sio_safecopy_thread_mask == SIO_MASK_BLOCKED;
	if (pthread_sigmask(SIG_BLOCK, NULL, &cur))
		return true;
	blocked = sigismember(&cur, SIGSEGV) || sigismember(&cur, SIGBUS);
	sio_safecopy_thread_mask = blocked ? SIO_MASK_BLOCKED : SIO_MASK_OPEN;
	return blocked;
}

bool sio_safecopy_built(void)
{
	return SAFECOPY_BUILT;
}

/* ---- the program's actions for SIGSEGV and SIGBUS ---- */

/*
 * Two buffers per signal and a generation count: the writer fills the buffer the count does
 * not point at, then publishes it; a reader (possibly a signal handler) copies the current one
 * and retries if the count moved meanwhile. Writers exclude each other with a spin flag taken
 * with every signal blocked, so a handler never spins on its own thread's writer.
 */
struct chain {
	struct sigaction act[2];
	atomic_uint gen;
};

static struct chain chains[2]; /* SIGSEGV, SIGBUS */
static atomic_flag chain_writer = ATOMIC_FLAG_INIT;

static struct chain *chain_of(int sig)
{
	return &chains[sig == SIGBUS];
}

void sio_safecopy_chain_get(int sig, struct sigaction *out)
{
	struct chain *c = chain_of(sig);
	unsigned int g;

	do {
		g = atomic_load_explicit(&c->gen, memory_order_acquire);
		memcpy(out, &c->act[g & 1], sizeof(*out));
		atomic_thread_fence(memory_order_acquire);
	} while (atomic_load_explicit(&c->gen, memory_order_relaxed) != g);
}

void sio_safecopy_chain_set(int sig, const struct sigaction *act)
{
	struct chain *c = chain_of(sig);
	sigset_t all, old;
	unsigned int g;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	while (atomic_flag_test_and_set_explicit(&chain_writer, memory_order_acquire))
		;
	g = atomic_load_explicit(&c->gen, memory_order_relaxed);
	memcpy(&c->act[(g + 1) & 1], act, sizeof(*act));
	atomic_store_explicit(&c->gen, g + 1, memory_order_release);
	atomic_flag_clear_explicit(&chain_writer, memory_order_release);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

/* As the kernel decides: by the handler's value, whatever SA_SIGINFO says */
static bool is_handler(const struct sigaction *a)
{
	return a->sa_handler != SIG_DFL && a->sa_handler != SIG_IGN;
}

void sio_safecopy_kernel_action(const struct sigaction *prog, struct sigaction *out)
{
	memset(out, 0, sizeof(*out));
	out->sa_sigaction = sio_safecopy_handler;
	/*
	 * Nothing blocked while ours runs: a signal handler interrupting it may copy, and its
	 * fault must be deliverable. forward() applies the program's mask itself.
	 */
	sigemptyset(&out->sa_mask);
	out->sa_flags = SA_SIGINFO | SA_NODEFER;
	if (!is_handler(prog) || (prog->sa_flags & SA_ONSTACK))
		out->sa_flags |= SA_ONSTACK;
}

/* ---- installation ---- */

static int (*real_sigaction)(int, const struct sigaction *, struct sigaction *) = sigaction;
static pthread_once_t install_once = PTHREAD_ONCE_INIT;
static atomic_bool installed;

void sio_safecopy_set_frontend(int (*fn)(int, const struct sigaction *, struct sigaction *))
{
	real_sigaction = fn;
	atomic_store(&frontend_owned, true);
}

static bool handler_in_place(int sig)
{
	struct sigaction cur;

	return real_sigaction(sig, NULL, &cur) == 0 && (cur.sa_flags & SA_SIGINFO) &&
	       cur.sa_sigaction == sio_safecopy_handler;
}

/* Library mode: put ours in front of whatever is there, remembering it as the chain */
static bool install_sig(int sig)
{
	struct sigaction prev, k;

	if (handler_in_place(sig))
		return true;
	if (real_sigaction(sig, NULL, &prev))
		return false;
	/* Another thread's recheck may have put ours back meanwhile: never chain to ourselves */
	if (!(prev.sa_flags & SA_SIGINFO) || prev.sa_sigaction != sio_safecopy_handler)
		sio_safecopy_chain_set(sig, &prev);
	sio_safecopy_kernel_action(&prev, &k);
	if (real_sigaction(sig, &k, NULL))
		return false;
	/* A sanitizer may refuse a replacement (ASan's allow_user_segv_handler=0) */
	return handler_in_place(sig);
}

static void install(void)
{
	if (!SAFECOPY_BUILT)
		return;
	if (atomic_load(&frontend_owned)) {
		atomic_store(&installed, handler_in_place(SIGSEGV) && handler_in_place(SIGBUS));
		return;
	}
	atomic_store(&installed, install_sig(SIGSEGV) && install_sig(SIGBUS));
}

bool sio_safecopy_ready(void)
{
	pthread_once(&install_once, install);
	return atomic_load_explicit(&installed, memory_order_relaxed);
}

/* ---- the handler ---- */

static void die_of(int sig, siginfo_t *si)
{
	struct sigaction dfl;

	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	sigemptyset(&dfl.sa_mask);
	real_sigaction(sig, &dfl, NULL);
	/* A fault is taken again on return; a sent signal has to be sent again */
	if (si->si_code <= 0)
		syscall(SYS_rt_tgsigqueueinfo, getpid(), (pid_t)syscall(SYS_gettid), sig, si);
}

/* Deliver a fault that is not a copy's to what the program set for @sig */
static void forward(int sig, siginfo_t *si, void *uc)
{
	struct sigaction a;
	sigset_t mask, old;

	sio_safecopy_chain_get(sig, &a);
	if (!is_handler(&a) || a.sa_sigaction == sio_safecopy_handler) {
		/* An ignored SIGSEGV/SIGBUS from kill() stays ignored; a real fault cannot be */
		if (a.sa_handler == SIG_IGN && si->si_code <= 0)
			return;
		die_of(sig, si);
		return;
	}
	if (a.sa_flags & SA_RESETHAND) {
		/* Linux resets the handler only; flags and mask stay as they were */
		struct sigaction dfl = a, k;

		dfl.sa_handler = SIG_DFL;
		sio_safecopy_chain_set(sig, &dfl);
		sio_safecopy_kernel_action(&dfl, &k);
		real_sigaction(sig, &k, NULL);
	}
	/*
	 * The mask the kernel would have applied for the program's action. Set by system call
	 * (not through the front-end's tracking, which could not see the handler leave by
	 * siglongjmp); the copy layer looks at the mask again at its next copy instead.
	 */
	mask = a.sa_mask;
	if (!(a.sa_flags & SA_NODEFER))
		sigaddset(&mask, sig);
	syscall(SYS_rt_sigprocmask, SIG_BLOCK, &mask, &old, KERNEL_SIGSET_SIZE);
	sio_safecopy_thread_mask = SIO_MASK_UNKNOWN;
	/*
	 * x86-64 Linux passes (sig, info, ucontext) to every handler, SA_SIGINFO or not (the
	 * info is only filled in with SA_SIGINFO), and old code reads the ucontext: so do we.
	 * A handler that returns gets its mask back from sigreturn as well.
	 */
	a.sa_sigaction(sig, si, uc);
	syscall(SYS_rt_sigprocmask, SIG_SETMASK, &old, NULL, KERNEL_SIGSET_SIZE);
	sio_safecopy_thread_mask = SIO_MASK_UNKNOWN;
}

#if SAFECOPY_BUILT
static bool fixup(int sig, siginfo_t *si, ucontext_t *uc)
{
	greg_t *rip = &uc->uc_mcontext.gregs[REG_RIP];
	uintptr_t addr = (uintptr_t)si->si_addr;
	volatile struct safecopy_state *s;

	/* The instruction first: only a thread that is copying touches its state */
	if (*rip != (greg_t)(uintptr_t)safecopy_insn)
		return false;
	s = &sc_state;
	if (!s->active || si->si_code <= 0)
		return false;
	if (sig == SIGSEGV && si->si_code == SI_KERNEL) {
		addr = 0; /* #GP: a non-canonical user pointer, no address reported */
	} else if (addr < (s->ulo & ~(SAFECOPY_PAGE - 1)) || addr >= s->uhi) {
		return false; /* our side faulted: a softiommu bug, let it crash */
	}
	s->fault_addr = addr;
	*rip = (greg_t)(uintptr_t)safecopy_fixup;
	return true;
}
#endif

/**
 * sio_safecopy_handler() - softiommu's SIGSEGV/SIGBUS handler
 *
 * A fault inside a user copy resumes the copy at its fixup (the copy returns short); any
 * other goes to the program's action for the signal, or kills the process as the default
 * action would.
 */
void sio_safecopy_handler(int sig, siginfo_t *si, void *uc)
{
	int saved_errno = errno;

#if SAFECOPY_BUILT
	if (fixup(sig, si, uc))
		return;
#endif
	errno = saved_errno;
	forward(sig, si, uc);
}

/* ---- the copy ---- */

#if SAFECOPY_BUILT
/*
 * A fast-string copy may stop some bytes short of the page that faulted: finish the bytes
 * before that page, so the count is exact (a DMA reports which leaf faulted).
 */
static size_t finish_to_fault(volatile struct safecopy_state *s, char *dst, const char *src,
			      size_t len, uint64_t uaddr, size_t left)
{
	while (left) {
		uintptr_t bad = s->fault_addr & ~(SAFECOPY_PAGE - 1);
		size_t off = len - left, more, rest;

		if (!s->fault_addr || bad <= uaddr + off)
			break;
		more = bad - (uaddr + off);
		if (more > left)
			more = left;
		s->fault_addr = 0;
		atomic_signal_fence(memory_order_seq_cst);
		rest = safecopy_raw(dst + off, src + off, more);
		left -= more - rest;
		if (!rest)
			break;
	}
	return left;
}

#endif

/*
 * A signal handler may copy too, interrupting a copy on this thread at any point (an ioctl
 * from a handler). So the thread is marked in a copy before its range is written, and a copy
 * that finds the mark already set saves the interrupted copy's range and fault address and
 * puts them back before returning: whatever the interruption did, the outer copy finds its own
 * state when it resumes.
 */
size_t sio_safecopy(void *dst, const void *src, size_t len, uint64_t uaddr)
{
#if SAFECOPY_BUILT
	volatile struct safecopy_state *s = &sc_state;
	bool nested = s->active;
	uintptr_t outer_lo = 0, outer_hi = 0, outer_fault = 0;
	size_t left;

	s->active = true;
	atomic_signal_fence(memory_order_seq_cst);
	if (__builtin_expect(nested, 0)) {
		outer_lo = s->ulo;
		outer_hi = s->uhi;
		outer_fault = s->fault_addr;
	}
	s->ulo = uaddr;
	s->uhi = uaddr + len;
	s->fault_addr = 0;
	atomic_signal_fence(memory_order_seq_cst);
	left = safecopy_raw(dst, src, len);
	if (__builtin_expect(left != 0, 0))
		left = finish_to_fault(s, dst, src, len, uaddr, left);
	atomic_signal_fence(memory_order_seq_cst);
	if (__builtin_expect(nested, 0)) {
		s->ulo = outer_lo;
		s->uhi = outer_hi;
		s->fault_addr = outer_fault;
	} else {
		s->active = false;
	}
	return len - left;
#else
	(void)dst;
	(void)src;
	(void)uaddr;
	(void)len;
	return 0;
#endif
}

/**
 * sio_safecopy_recheck() - library mode: put softiommu's handlers back in front if the
 * program replaced them since the last check (called on each softiommu_open()).
 *
 * The replacement becomes the chain record, so its faults still reach it.
 */
void sio_safecopy_recheck(void)
{
	if (!SAFECOPY_BUILT || atomic_load(&frontend_owned) || !atomic_load(&installed))
		return;
	if (!install_sig(SIGSEGV) || !install_sig(SIGBUS))
		atomic_store(&installed, false);
}
