// SPDX-License-Identifier: MIT
/*
 * test_signal_chain.c — a program's own SIGSEGV/SIGBUS handling behaves exactly as without
 * softiommu, while softiommu's user copies keep turning bad pointers into EFAULT.
 *
 * Each scenario runs in a child process twice: under the shim (LD_PRELOAD as CTest set it)
 * and without it (the same LD_PRELOAD minus the shim, so a sanitizer runtime stays). The
 * scenario prints what the program can observe — what sigaction() reports, which handler ran
 * with which si_code, whether it ran on the alternate stack, the signal mask inside it — and
 * the two runs must print the same and end the same way (exit code, or the signal that killed
 * it). Under the shim, each scenario also makes ioctls with bad pointers between its faults
 * and prints a failure line if one is not EFAULT, so the comparison catches that too.
 *
 * Scenarios: no handler (killed by SIGSEGV); an SA_SIGINFO handler that recovers with
 * siglongjmp; one that repairs the page and returns; SA_RESETHAND (the second fault kills);
 * signal() and sysv_signal(); a handler on an alternate stack catching a stack overflow; the
 * handler's mask; SIGBUS from a truncated memfd; SIGSEGV sent by kill() (handled, ignored,
 * default); threads faulting and copying at once; copies while SIGSEGV or SIGBUS is blocked
 * (a fault there could not be delivered: the copy must not take one), also on a thread that
 * inherited the blocked mask.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>

#include <linux/iommufd.h>

#define PAGE 4096UL

static int iommufd = -1;
static char *hole;		/* a PROT_NONE page */
static sigjmp_buf recover;
static volatile sig_atomic_t hits, last_code;

/* Under the shim: bad pointers in ioctls are EFAULT, and a good one still works */
static void copies_fault_safely(const char *where)
{
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };

	if (iommufd < 0)
		return;
	errno = 0;
	if (ioctl(iommufd, IOMMU_IOAS_ALLOC, hole) != -1 || errno != EFAULT)
		printf("FAIL %s: IOAS_ALLOC from a PROT_NONE page: errno %d\n", where, errno);
	if (ioctl(iommufd, IOMMU_IOAS_ALLOC, (void *)8) != -1 || errno != EFAULT)
		printf("FAIL %s: IOAS_ALLOC from address 8: errno %d\n", where, errno);
	if (ioctl(iommufd, IOMMU_IOAS_ALLOC, &alloc) != 0)
		printf("FAIL %s: IOAS_ALLOC: errno %d\n", where, errno);
}

static void touch(void)
{
	*(volatile char *)hole = 1;
}

static void show_action(int sig, const char *what)
{
	struct sigaction a;

	memset(&a, 0xa5, sizeof(a));
	if (sigaction(sig, NULL, &a)) {
		printf("%s: sigaction failed\n", what);
		return;
	}
	printf("%s: handler %s flags %#x mask-USR1 %d mask-SEGV %d\n", what,
	       a.sa_handler == SIG_DFL ? "DFL" : a.sa_handler == SIG_IGN ? "IGN" : "program",
	       a.sa_flags, sigismember(&a.sa_mask, SIGUSR1), sigismember(&a.sa_mask, SIGSEGV));
}

static volatile int copy_in_handler;

static void on_segv_info(int sig, siginfo_t *si, void *uc)
{
	hits++;
	/* SIGSEGV is blocked here: softiommu's copies must not fault */
	if (copy_in_handler)
		copies_fault_safely("inside the SIGSEGV handler");
	last_code = si->si_code;
	if (si->si_addr != hole && si->si_code > 0)
		last_code = -100;
	siglongjmp(recover, 1);
}

static void on_segv_plain(int sig)
{
	hits++;
	siglongjmp(recover, 1);
}

static void install(void (*fn)(int, siginfo_t *, void *), int flags, int sig)
{
	struct sigaction sa = { .sa_sigaction = fn, .sa_flags = SA_SIGINFO | flags };

	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, SIGUSR1);
	if (sigaction(sig, &sa, NULL))
		printf("sigaction failed\n");
}

static int sc_no_handler(void)
{
	show_action(SIGSEGV, "initial");
	show_action(SIGBUS, "initial SIGBUS");
	copies_fault_safely("before the fault");
	touch();
	return 0;
}

static int sc_recovers(void)
{
	install(on_segv_info, 0, SIGSEGV);
	show_action(SIGSEGV, "installed");
	copy_in_handler = 1;
	for (int i = 0; i < 3; i++) {
		if (!sigsetjmp(recover, 1))
			touch();
		copies_fault_safely("between faults");
	}
	printf("hits %d code %d\n", hits, last_code);
	return 0;
}

static void on_segv_repair(int sig, siginfo_t *si, void *uc)
{
	hits++;
	mprotect(hole, PAGE, PROT_READ | PROT_WRITE);
}

static int sc_repairs(void)
{
	install(on_segv_repair, 0, SIGSEGV);
	touch();
	printf("hits %d value %d\n", hits, hole[0]);
	mprotect(hole, PAGE, PROT_NONE);
	copies_fault_safely("after repair");
	return 0;
}

static int sc_resethand(void)
{
	install(on_segv_info, SA_RESETHAND, SIGSEGV);
	if (!sigsetjmp(recover, 1))
		touch();
	printf("hits %d\n", hits);
	show_action(SIGSEGV, "after one delivery");
	copies_fault_safely("after reset");
	touch();
	return 0;
}

/*
 * Old code: a plain handler that reads the ucontext x86-64 Linux passes anyway (the siginfo
 * it passes is not filled in without SA_SIGINFO, so not looked at)
 */
static void on_segv_plain_uc(int sig, siginfo_t *si, void *uc)
{
	ucontext_t *u = uc;

	hits++;
	last_code = u && u->uc_mcontext.gregs[REG_RIP] != 0;
	siglongjmp(recover, 1);
}

static int sc_signal(void)
{
	__sighandler_t old = signal(SIGSEGV, on_segv_plain);

	printf("signal() returned %s\n", old == SIG_DFL ? "DFL" : "other");
	show_action(SIGSEGV, "signal()");
	if (!sigsetjmp(recover, 1))
		touch();
	copies_fault_safely("signal()");
	old = signal(SIGSEGV, SIG_DFL);
	printf("hits %d, signal() returned %s\n", hits, old == on_segv_plain ? "ours" : "other");
	old = sysv_signal(SIGSEGV, on_segv_plain);
	show_action(SIGSEGV, "sysv_signal()");
	if (!sigsetjmp(recover, 1))
		touch();
	show_action(SIGSEGV, "after sysv delivery");
	printf("hits %d\n", hits);
	signal(SIGSEGV, (__sighandler_t)(void (*)(void))on_segv_plain_uc);
	if (!sigsetjmp(recover, 1))
		touch();
	printf("plain handler: hits %d saw its ucontext %d\n", hits, last_code);
	return 0;
}

static char *alt;
static volatile int on_alt;

static void on_overflow(int sig, siginfo_t *si, void *uc)
{
	char here;

	on_alt = &here >= alt && &here < alt + 256 * 1024;
	hits++;
	siglongjmp(recover, 1);
}

static int recurse(int n)
{
	volatile char pad[4096];

	pad[0] = (char)n;
	if (n > (1 << 30))
		return 0;
	return recurse(n + 1) + pad[0];
}

static int sc_altstack(void)
{
	stack_t ss = { .ss_size = 256 * 1024 };
	struct rlimit lim = { 8 << 20, 8 << 20 };

	setrlimit(RLIMIT_STACK, &lim);
	alt = malloc(ss.ss_size);
	ss.ss_sp = alt;
	if (!alt || sigaltstack(&ss, NULL))
		return 2;
	install(on_overflow, SA_ONSTACK, SIGSEGV);
	copies_fault_safely("with an alternate stack");
	if (!sigsetjmp(recover, 1))
		recurse(0);
	printf("overflow caught %d on the alternate stack %d\n", hits, on_alt);
	copies_fault_safely("after the overflow");
	if (!sigsetjmp(recover, 1))
		touch();
	printf("hits %d on the alternate stack %d\n", hits, on_alt);
	return 0;
}

static volatile int usr1_blocked, segv_blocked;

static void on_segv_mask(int sig, siginfo_t *si, void *uc)
{
	sigset_t cur;

	pthread_sigmask(SIG_SETMASK, NULL, &cur);
	usr1_blocked = sigismember(&cur, SIGUSR1);
	segv_blocked = sigismember(&cur, SIGSEGV);
	siglongjmp(recover, 1);
}

static int sc_mask(void)
{
	sigset_t cur;

	install(on_segv_mask, 0, SIGSEGV);
	if (!sigsetjmp(recover, 1))
		touch();
	pthread_sigmask(SIG_SETMASK, NULL, &cur);
	printf("in handler: USR1 %d SEGV %d; after: USR1 %d SEGV %d\n", usr1_blocked,
	       segv_blocked, sigismember(&cur, SIGUSR1), sigismember(&cur, SIGSEGV));
	install(on_segv_mask, SA_NODEFER, SIGSEGV);
	if (!sigsetjmp(recover, 1))
		touch();
	printf("SA_NODEFER: USR1 %d SEGV %d\n", usr1_blocked, segv_blocked);
	return 0;
}

static int sc_sigbus(void)
{
	int mfd = memfd_create("sigbus", 0);
	char *m;

	if (mfd < 0 || ftruncate(mfd, 2 * PAGE))
		return 2;
	m = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	if (m == MAP_FAILED || ftruncate(mfd, PAGE))
		return 2;
	install(on_segv_info, 0, SIGBUS);
	show_action(SIGBUS, "SIGBUS");
	if (!sigsetjmp(recover, 1))
		*(volatile char *)(m + PAGE) = 1;
	printf("SIGBUS hits %d code %d\n", hits, last_code);
	if (iommufd >= 0) {
		errno = 0;
		if (ioctl(iommufd, IOMMU_IOAS_ALLOC, m + PAGE) != -1 || errno != EFAULT)
			printf("FAIL: IOAS_ALLOC from beyond a memfd's end: errno %d\n", errno);
	}
	if (!sigsetjmp(recover, 1))
		*(volatile char *)(m + PAGE) = 1;
	printf("SIGBUS hits %d\n", hits);
	return 0;
}

static int sc_kill(void)
{
	struct sigaction ign = { .sa_handler = SIG_IGN };

	install(on_segv_info, 0, SIGSEGV);
	if (!sigsetjmp(recover, 1))
		kill(getpid(), SIGSEGV);
	printf("kill: hits %d code %d\n", hits, last_code);
	sigemptyset(&ign.sa_mask);
	sigaction(SIGSEGV, &ign, NULL);
	kill(getpid(), SIGSEGV);
	printf("ignored\n");
	copies_fault_safely("SIGSEGV ignored");
	signal(SIGSEGV, SIG_DFL);
	raise(SIGSEGV);
	return 0;
}

static __thread sigjmp_buf thread_recover;

static void on_segv_thread(int sig, siginfo_t *si, void *uc)
{
	__atomic_fetch_add(&hits, 1, __ATOMIC_RELAXED);
	siglongjmp(thread_recover, 1);
}

static void *fault_and_copy(void *arg)
{
	for (volatile int i = 0; i < 300; i++) {
		if (!sigsetjmp(thread_recover, 1))
			touch();
		if (i % 10 == 0)
			copies_fault_safely("threads");
	}
	return NULL;
}

static int sc_threads(void)
{
	pthread_t t[4];

	install(on_segv_thread, 0, SIGSEGV);
	for (int i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, fault_and_copy, NULL);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	printf("threads: hits %d\n", hits);
	return 0;
}

static void *copies_in_thread(void *arg)
{
	copies_fault_safely("thread inheriting a blocked SIGSEGV");
	return NULL;
}

/* A blocked SIGSEGV cannot be delivered: copies must not fault on such a thread */
static int sc_blocked(void)
{
	sigset_t segv, bus;
	pthread_t t;

	sigemptyset(&segv);
	sigaddset(&segv, SIGSEGV);
	sigemptyset(&bus);
	sigaddset(&bus, SIGBUS);
	sigprocmask(SIG_BLOCK, &segv, NULL);
	copies_fault_safely("SIGSEGV blocked");
	pthread_create(&t, NULL, copies_in_thread, NULL);
	pthread_join(t, NULL);
	sigprocmask(SIG_UNBLOCK, &segv, NULL);
	pthread_sigmask(SIG_BLOCK, &bus, NULL);
	copies_fault_safely("SIGBUS blocked");
	pthread_sigmask(SIG_SETMASK, &segv, NULL);
	copies_fault_safely("SIGSEGV blocked by SIG_SETMASK");
	sigemptyset(&segv);
	pthread_sigmask(SIG_SETMASK, &segv, NULL);
	copies_fault_safely("nothing blocked");
	printf("blocked: survived\n");
	return 0;
}

static const struct scenario {
	const char *name;
	int (*fn)(void);
} scenarios[] = {
	{ "no-handler", sc_no_handler }, { "recovers", sc_recovers },
	{ "repairs", sc_repairs },	 { "resethand", sc_resethand },
	{ "signal", sc_signal },	 { "altstack", sc_altstack },
	{ "mask", sc_mask },		 { "sigbus", sc_sigbus },
	{ "kill", sc_kill },		 { "threads", sc_threads },
	{ "blocked", sc_blocked },
};

/* The kernel closes descriptors at exit; softiommu's are closed here (LeakSanitizer) */
static void close_iommufd(void)
{
	if (iommufd >= 0)
		close(iommufd);
}

static int run_scenario(const char *name)
{
	struct rlimit no_core = { 0, 0 };
	const char *shim = getenv("SIGCHAIN_UNDER_SHIM");

	setrlimit(RLIMIT_CORE, &no_core);
	setvbuf(stdout, NULL, _IONBF, 0);
	hole = mmap(NULL, PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	iommufd = open("/dev/iommu", O_RDWR);
	if (shim && *shim == '1' && iommufd < 0)
		printf("FAIL: no /dev/iommu under the shim\n");
	if (!(shim && *shim == '1') && iommufd >= 0) {
		close(iommufd); /* a real /dev/iommu: leave it alone */
		iommufd = -1;
	}
	atexit(close_iommufd);
	for (size_t i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++)
		if (!strcmp(scenarios[i].name, name))
			return scenarios[i].fn();
	return 2;
}

/* Run @name in a child with LD_PRELOAD=@preload; its output into @out, its status returned */
static int run_child(const char *self, const char *name, const char *preload, int under_shim,
		     char *out, size_t outsz)
{
	int p[2], status;
	size_t n = 0;
	ssize_t r;
	pid_t pid;

	if (pipe(p))
		return -1;
	pid = fork();
	if (pid == 0) {
		dup2(p[1], 1);
		close(p[0]);
		if (preload && *preload)
			setenv("LD_PRELOAD", preload, 1);
		else
			unsetenv("LD_PRELOAD");
		setenv("SIGCHAIN_UNDER_SHIM", under_shim ? "1" : "0", 1);
		execl(self, self, name, (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	while (n + 1 < outsz && (r = read(p[0], out + n, outsz - 1 - n)) > 0)
		n += r;
	out[n] = 0;
	close(p[0]);
	waitpid(pid, &status, 0);
	return status;
}

/* LD_PRELOAD without the shim's entry */
static void without_shim(const char *preload, char *out, size_t outsz)
{
	char *copy = strdup(preload ? preload : ""), *save, *tok;

	out[0] = 0;
	for (tok = strtok_r(copy, ": ", &save); tok; tok = strtok_r(NULL, ": ", &save)) {
		if (strstr(tok, "softiommu-preload"))
			continue;
		if (out[0])
			strncat(out, ":", outsz - strlen(out) - 1);
		strncat(out, tok, outsz - strlen(out) - 1);
	}
	free(copy);
}

static void describe(int status, char *buf, size_t len)
{
	if (WIFSIGNALED(status))
		snprintf(buf, len, "killed by signal %d", WTERMSIG(status));
	else
		snprintf(buf, len, "exit %d", WEXITSTATUS(status));
}

int main(int argc, char **argv)
{
	const char *preload = getenv("LD_PRELOAD");
	static char with[8192], plain[8192], other[4096];
	int passed = 0, failed = 0;

	if (argc > 1)
		return run_scenario(argv[1]);
	if (!preload || !strstr(preload, "softiommu-preload")) {
		printf("must run under the shim (LD_PRELOAD)\n");
		return 2;
	}
	without_shim(preload, other, sizeof(other));
	for (size_t i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++) {
		const char *name = scenarios[i].name;
		int s_with = run_child("/proc/self/exe", name, preload, 1, with, sizeof(with));
		int s_plain = run_child("/proc/self/exe", name, other, 0, plain, sizeof(plain));
		char d_with[64], d_plain[64];
		int ok;

		describe(s_with, d_with, sizeof(d_with));
		describe(s_plain, d_plain, sizeof(d_plain));
		ok = s_with == s_plain && !strcmp(with, plain) && !strstr(with, "FAIL");
		printf("%s %s: %s\n", ok ? "ok  " : "FAIL", name, d_with);
		if (!ok)
			printf("--- under the shim (%s):\n%s--- without (%s):\n%s", d_with, with,
			       d_plain, plain);
		ok ? passed++ : failed++;
	}
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
