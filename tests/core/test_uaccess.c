// SPDX-License-Identifier: MIT
/*
 * test_uaccess: the user-copy layer itself (white box, through sio_copy_*): both paths give
 * the same answers. Run twice by CTest, on the fast copy and with SOFTIOMMU_UACCESS=vm:
 *  - exact partial copies up to an inaccessible page, from every offset near the boundary;
 *  - EFAULT for NULL, unmapped, PROT_NONE, read-only (writes), a truncated memfd (SIGBUS),
 *    non-canonical and kernel addresses, and ranges wrapping past 2^64;
 *  - scatter-gather stopping at the first inaccessible byte;
 *  - many threads faulting at once, and copies on a thread running on an alternate stack;
 *  - copies from a signal handler that interrupted a copy (they nest);
 *  - library mode's chaining: a SIGSEGV handler the program installed before the first copy
 *    still gets the program's own faults, one that replaces ours afterwards is put behind ours
 *    at the next softiommu_open(), and with no handler a fault kills the process with SIGSEGV.
 */
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../src/core/mem/safecopy.h"
#include "../../src/core/sio.h"
#include "testlib.h"

#define PAGE 4096UL

static char *two;	/* two pages: the first readable and writable, the second PROT_NONE */
static char *ro;	/* one read-only page */

static void check_path(void)
{
	const char *env = getenv("SOFTIOMMU_UACCESS");
	bool vm = (env && !strcmp(env, "vm")) || !sio_safecopy_built();

	CHECK(!strcmp(sio_uaccess_path_name(), vm ? "process_vm" : "fast"));
	printf("copy path: %s\n", sio_uaccess_path_name());
}

static void partial_at_boundary(void)
{
	static char dst[3 * PAGE];
	char *edge = two + PAGE;

	for (size_t before = 0; before <= 300; before += before < 70 ? 1 : 37) {
		for (size_t len = 1; len <= 2 * PAGE; len = len * 3 + 1) {
			uint64_t src = (uintptr_t)(edge - before);
			size_t want = len < before ? len : before, got;

			memset(dst, 0x5a, sizeof(dst));
			got = sio_copy_from_user_partial(dst, src, len);
			CHECK(got == want);
			CHECK(!memcmp(dst, edge - before, want));
			CHECK_ERR(len <= before ? 0 : EFAULT, sio_copy_from_user(dst, src, len));
			CHECK_ERR(len <= before ? 0 : EFAULT, sio_copy_to_user(src, dst, len));
		}
	}
}

static void bad_addresses(void)
{
	char buf[64] = { 0 };
	static const uint64_t bad[] = {
		0, 8, PAGE - 1, 0x800000000000ULL, 0x8000000000000000ULL,
		0xffffffff81000000ULL, 0xfffffffffffff000ULL,
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK_ERR(EFAULT, sio_copy_from_user(buf, bad[i], sizeof(buf)));
		CHECK_ERR(EFAULT, sio_copy_to_user(bad[i], buf, sizeof(buf)));
		CHECK(sio_copy_from_user_partial(buf, bad[i], sizeof(buf)) == 0);
		CHECK_ERR(EFAULT, sio_clear_user(bad[i], sizeof(buf)));
	}
	/* A range wrapping past 2^64 */
	CHECK_ERR(EFAULT, sio_copy_from_user(buf, ~0ULL - 7, 16));
	/* Read-only memory reads, and refuses writes without changing it */
	CHECK_OK(sio_copy_from_user(buf, (uintptr_t)ro, sizeof(buf)));
	CHECK(buf[0] == 'r');
	memset(buf, 'w', sizeof(buf));
	CHECK_ERR(EFAULT, sio_copy_to_user((uintptr_t)ro, buf, sizeof(buf)));
	CHECK(ro[0] == 'r');
	/* Zero length is no access at all */
	CHECK_OK(sio_copy_from_user(buf, 0x8000000000000000ULL, 0));
}

static void unmapped_and_sigbus(void)
{
	char buf[256];
	char *p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int mfd = memfd_create("uaccess", 0);
	char *m;

	CHECK(p != MAP_FAILED && mfd >= 0);
	munmap(p, PAGE);
	CHECK_ERR(EFAULT, sio_copy_from_user(buf, (uintptr_t)p, sizeof(buf)));
	/* Past the end of a file mapping: SIGBUS on access */
	CHECK(ftruncate(mfd, 2 * PAGE) == 0);
	m = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	CHECK(m != MAP_FAILED);
	memset(m, 'm', 2 * PAGE);
	CHECK(ftruncate(mfd, PAGE) == 0);
	CHECK_ERR(EFAULT, sio_copy_from_user(buf, (uintptr_t)m + PAGE, sizeof(buf)));
	CHECK_ERR(EFAULT, sio_copy_to_user((uintptr_t)m + PAGE - 8, buf, 16));
	CHECK(sio_copy_from_user_partial(buf, (uintptr_t)m + PAGE - 100, 200) == 100);
	CHECK(buf[0] == 'm' && buf[91] == 'm');
	munmap(m, 2 * PAGE);
	close(mfd);
}

static void scatter_gather(void)
{
	static char local[3 * PAGE];
	char *a = two + PAGE - 300;
	struct iovec seg[3] = {
		{ two, 100 }, { a, 200 }, { a + 200, 500 }, /* the last crosses into PROT_NONE */
	};

	CHECK(sio_copy_user_sg(local, 800, seg, 3, false) == 100 + 200 + 100);
	CHECK(sio_copy_user_sg(local, 300, seg, 2, false) == 300);
	CHECK(sio_copy_user_sg(local, 800, seg, 3, true) == 400);
}

static void *fault_loop(void *arg)
{
	char buf[128];
	long bad = 0;

	for (int i = 0; i < 20000; i++) {
		if (sio_copy_from_user(buf, (uintptr_t)two + PAGE - 64, sizeof(buf)) != -EFAULT)
			bad++;
		if (sio_copy_from_user(buf, (uintptr_t)two, sizeof(buf)) != 0)
			bad++;
	}
	return (void *)bad;
}

static void threads(void)
{
	pthread_t t[4];
	void *bad;

	for (int i = 0; i < 4; i++)
		CHECK(pthread_create(&t[i], NULL, fault_loop, NULL) == 0);
	for (int i = 0; i < 4; i++) {
		CHECK(pthread_join(t[i], &bad) == 0);
		CHECK(bad == NULL);
	}
}

static void *on_altstack(void *arg)
{
	stack_t ss = { .ss_size = 64 * 1024 };
	char buf[32];
	long ok;

	ss.ss_sp = malloc(ss.ss_size);
	if (!ss.ss_sp || sigaltstack(&ss, NULL))
		return (void *)0L;
	ok = sio_copy_from_user(buf, (uintptr_t)two + PAGE, sizeof(buf)) == -EFAULT &&
	     sio_copy_from_user(buf, (uintptr_t)two, sizeof(buf)) == 0;
	ss.ss_flags = SS_DISABLE;
	sigaltstack(&ss, NULL);
	free(ss.ss_sp);
	return (void *)ok;
}

static void altstack(void)
{
	pthread_t t;
	void *ok;

	CHECK(pthread_create(&t, NULL, on_altstack, NULL) == 0);
	CHECK(pthread_join(t, &ok) == 0);
	CHECK(ok == (void *)1L);
}

/* ---- a copy from a signal handler, interrupting a copy ---- */

static volatile sig_atomic_t alarm_bad, alarm_runs;

static void on_alarm(int sig)
{
	char b[64];

	alarm_runs++;
	if (sio_copy_from_user(b, (uintptr_t)two + PAGE - 32, sizeof(b)) != -EFAULT ||
	    sio_copy_from_user(b, (uintptr_t)two, sizeof(b)) != 0 || memcmp(b, two, sizeof(b)))
		alarm_bad++;
}

static void nested_in_handler(void)
{
#if defined(__SANITIZE_THREAD__)
	/*
	 * TSan defers asynchronous handlers and runs them with every signal blocked: a fault
	 * there cannot be delivered, so a copy there would kill the process (see the limits)
	 */
	printf("nested: skipped under ThreadSanitizer\n");
	return;
#endif
	struct sigaction sa = { .sa_handler = on_alarm, .sa_flags = SA_RESTART };
	struct itimerval every = { { 0, 200 }, { 0, 200 } }, off = { { 0, 0 }, { 0, 0 } };
	size_t len = 8 << 20;
	char *src = mmap(NULL, len + PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			 -1, 0);
	char *dst = malloc(len + 64);
	int bad = 0;

	CHECK(src != MAP_FAILED && dst);
	if (src == MAP_FAILED || !dst)
		return;
	for (size_t i = 0; i < len; i++)
		src[i] = (char)(i * 13);
	mprotect(src + len, PAGE, PROT_NONE);
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	setitimer(ITIMER_REAL, &every, NULL);
	for (int i = 0; i < 30; i++) {
		/*
		 * Long copies that end in a fault: most alarms land inside one (rep movsb is
		 * interruptible), and the handler's own copies must leave its state as it was
		 */
		memset(dst, 0, len);
		bad += sio_copy_from_user_partial(dst, (uintptr_t)src, len + 64) != len;
		bad += memcmp(dst, src, len) != 0;
		bad += sio_copy_from_user(dst, (uintptr_t)src + len - 8, 64) != -EFAULT;
	}
	setitimer(ITIMER_REAL, &off, NULL);
	signal(SIGALRM, SIG_DFL);
	CHECK(bad == 0);
	CHECK(alarm_runs > 0 && alarm_bad == 0);
	printf("nested: %d alarms\n", (int)alarm_runs);
	munmap(src, len + PAGE);
	free(dst);
}

/* ---- chaining in library mode ---- */

static sigjmp_buf recover;
static volatile int first_hits, second_hits;

static void first_handler(int sig, siginfo_t *si, void *uc)
{
	first_hits++;
	siglongjmp(recover, 1);
}

static void second_handler(int sig)
{
	second_hits++;
	siglongjmp(recover, 1);
}

static void touch_prot_none(void)
{
	*(volatile char *)(two + PAGE) = 1;
}

static void chaining(int fd_before)
{
	struct sigaction sa = { .sa_sigaction = first_handler, .sa_flags = SA_SIGINFO };
	char buf[16];
	int fd;

	/* first_handler was installed before any copy (in main): it still gets our faults */
	if (!sigsetjmp(recover, 1))
		touch_prot_none();
	CHECK(first_hits == 1);
	CHECK_ERR(EFAULT, sio_copy_from_user(buf, (uintptr_t)two + PAGE, sizeof(buf)));
	CHECK(first_hits == 1);

	/* A handler that replaces ours; the next softiommu_open() puts ours in front again */
	sa.sa_handler = second_handler;
	sa.sa_flags = 0;
	sigemptyset(&sa.sa_mask);
	CHECK(sigaction(SIGSEGV, &sa, NULL) == 0);
	fd = softiommu_open(0);
	CHECK(fd >= 0);
	CHECK_ERR(EFAULT, sio_copy_from_user(buf, (uintptr_t)two + PAGE, sizeof(buf)));
	if (!sigsetjmp(recover, 1))
		touch_prot_none();
	CHECK(second_hits == 1 && first_hits == 1);
	softiommu_close(fd);
	(void)fd_before;
}

/* Without any handler, a fault outside a copy kills the process as SIGSEGV would */
static void default_action_kills(void)
{
	struct rlimit no_core = { 0, 0 };
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		struct sigaction dfl = { .sa_handler = SIG_DFL };
		char buf[8];

		setrlimit(RLIMIT_CORE, &no_core);
		sigaction(SIGSEGV, &dfl, NULL);
		softiommu_close(softiommu_open(0)); /* ours back in front, chaining to SIG_DFL */
		if (sio_copy_from_user(buf, (uintptr_t)two + PAGE, sizeof(buf)) != -EFAULT)
			_exit(3);
		touch_prot_none();
		_exit(4);
	}
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV);
}

int main(void)
{
	struct sigaction sa = { .sa_sigaction = first_handler, .sa_flags = SA_SIGINFO };

	/* The program's own handler, before softiommu's first copy installs ours */
	sigemptyset(&sa.sa_mask);
	CHECK(sigaction(SIGSEGV, &sa, NULL) == 0);
	two = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ro = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (two == MAP_FAILED || ro == MAP_FAILED)
		return 2;
	for (size_t i = 0; i < PAGE; i++)
		two[i] = (char)(i * 7);
	ro[0] = 'r';
	mprotect(two + PAGE, PAGE, PROT_NONE);
	mprotect(ro, PAGE, PROT_READ);

	check_path();
	partial_at_boundary();
	bad_addresses();
	unmapped_and_sigbus();
	scatter_gather();
	threads();
	altstack();
	nested_in_handler();
	chaining(-1);
	default_action_kills();
	return t_done();
}
