// SPDX-License-Identifier: MIT
/*
 * White box: the lock-order checker of debug builds (src/core/lockdep.c). Taking locks in the
 * order of enum sio_lock_class passes; out of order, or a lock this thread holds, aborts with
 * a report. The class of each live lock survives heavy churn of its table (locks made and
 * destroyed by the hundred thousand, as a fuzz run does), so no order violation goes unseen
 * after a long run. Built only with SOFTIOMMU_LOCKDEP.
 */
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../src/core/lockdep.h"

#include "../common/check.h"

/* Whether taking @first then @second aborts (in a child, its report sent to /dev/null) */
static bool order_aborts(pthread_mutex_t *first, pthread_mutex_t *second)
{
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		if (!freopen("/dev/null", "w", stderr))
			_exit(3);
		pthread_mutex_lock(first);
		pthread_mutex_lock(second);
		_exit(0);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return false;
	return WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT;
}

static void test_order(void)
{
	pthread_mutex_t ioas, pages, plain;

	sio_mutex_init(&ioas, SIO_LOCK_IOAS);
	sio_mutex_init(&pages, SIO_LOCK_PAGES);
	pthread_mutex_init(&plain, NULL);
	/* lockdep_in_order_passes, lockdep_out_of_order_aborts */
	CHECK(!order_aborts(&ioas, &pages));
	CHECK(order_aborts(&pages, &ioas));
	/* lockdep_recursion_aborts */
	CHECK(order_aborts(&ioas, &ioas));
	/* lockdep_unclassified_not_ordered */
	CHECK(!order_aborts(&pages, &plain));
	CHECK(!order_aborts(&plain, &ioas));
	pthread_mutex_destroy(&ioas);
	pthread_mutex_destroy(&pages);
	pthread_mutex_destroy(&plain);
}

#define LIVE 2000
#define POOL (1 << 17) /* addresses to make locks at: every slot of the table gets used */
#define CHURN 300000

/* lockdep_classes_survive_churn: every live lock keeps its class through deletions */
static void test_churn(void)
{
	static pthread_mutex_t pool[POOL];
	static bool used[POOL];
	int live[LIVE];
	pthread_mutex_t outer;
	unsigned int seed = 1;
	int bad = 0;

	sio_mutex_init(&outer, SIO_LOCK_PAGES);
	for (int i = 0; i != LIVE; i++) {
		do
			live[i] = (int)(rand_r(&seed) % POOL);
		while (used[live[i]]);
		used[live[i]] = true;
		sio_mutex_init(&pool[live[i]], SIO_LOCK_IOAS);
	}
	for (int n = 0; n != CHURN; n++) {
		int i = (int)(rand_r(&seed) % LIVE), slot;

		pthread_mutex_destroy(&pool[live[i]]);
		used[live[i]] = false;
		do
			slot = (int)(rand_r(&seed) % POOL);
		while (used[slot]);
		used[slot] = true;
		live[i] = slot;
		sio_mutex_init(&pool[slot], SIO_LOCK_IOAS);
	}
	/* In order with each: none aborts; against the order: every sampled one aborts */
	for (int i = 0; i != LIVE; i++) {
		pthread_mutex_lock(&pool[live[i]]);
		pthread_mutex_lock(&outer);
		pthread_mutex_unlock(&outer);
		pthread_mutex_unlock(&pool[live[i]]);
	}
	for (int i = 0; i < LIVE; i += LIVE / 40)
		bad += !order_aborts(&outer, &pool[live[i]]);
	CHECK(bad == 0);
	for (int i = 0; i != LIVE; i++)
		pthread_mutex_destroy(&pool[live[i]]);
	pthread_mutex_destroy(&outer);
}

int main(void)
{
	test_order();
	test_churn();
	return check_done("test_lockdep");
}
