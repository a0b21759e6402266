// SPDX-License-Identifier: MIT
/*
 * The configuration cache under concurrency (run under TSan by CI): readers look a record
 * up in DMA read-side sections while a writer invalidates, drains and refills it with a new
 * version. Every hit is whole (no torn record), and no reader that knows version V has
 * been published sees an older one.
 */
#include <pthread.h>
#include <sched.h>

#include "testlib.h"
#include "dma/epoch.h"
#include "model/model.h"

#define ROUNDS 300
#define READERS 2
#define KEY 0x1234

static struct sio_cfg_cache cache;
static atomic_uint_least64_t version;
static atomic_bool stop;
static atomic_int bad;
static atomic_ulong hits;

static void *reader(void *p)
{
	uint64_t rec[8];

	while (!atomic_load(&stop)) {
		uint64_t v0;

		if (sio_dma_read_lock())
			continue;
		v0 = atomic_load(&version);
		if (sio_cfg_cache_lookup(&cache, KEY, rec)) {
			atomic_fetch_add(&hits, 1);
			for (int i = 1; i != 8; i++)
				if (rec[i] != rec[0])
					atomic_fetch_add(&bad, 1);
			if (rec[0] < v0)
				atomic_fetch_add(&bad, 1);
		}
		sio_dma_read_unlock();
	}
	return p;
}

int main(void)
{
	pthread_t th[READERS];
	uint64_t rec[8];

	CHECK_OK(sio_cfg_cache_init(&cache, 2, sizeof(rec)));
	for (int i = 0; i != READERS; i++)
		pthread_create(&th[i], NULL, reader, NULL);
	for (uint64_t v = 1; v <= ROUNDS; v++) {
		struct sio_cfg_ticket t;

		/* The guest changed the record and invalidated it */
		if (v & 1)
			sio_cfg_cache_invalidate(&cache, KEY);
		else
			sio_cfg_cache_invalidate_all(&cache);
		sio_cfg_cache_drain(&cache);
		atomic_store(&version, v);
		sio_cfg_cache_ticket(&cache, KEY, &t);
		for (int i = 0; i != 8; i++)
			rec[i] = v;
		sio_cfg_cache_insert(&cache, &t, rec);
		/* Give the readers a chance at the record before the next change */
		for (unsigned long h = atomic_load(&hits), n = 0;
		     atomic_load(&hits) == h && n != 1000; n++)
			sched_yield();
	}
	atomic_store(&stop, true);
	for (int i = 0; i != READERS; i++)
		pthread_join(th[i], NULL);
	CHECK(atomic_load(&bad) == 0);
	printf("%lu hits\n", atomic_load(&hits));
	sio_cfg_cache_destroy(&cache);
	return t_done();
}
