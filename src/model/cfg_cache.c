// SPDX-License-Identifier: MIT
/*
 * The configuration cache of hardware models (model.h has the API): STEs, CDs, VT-d
 * context and PASID entries, cached by the model's own key, as an SMMU or VT-d caches
 * them until the guest's CFGI_* / context-cache invalidation.
 *
 * Invalidation is a generation bump, never a write to a record: a slot's gen for one key
 * (which kills whatever the slot holds — hardware may invalidate more than asked, never
 * less), the cache's all_gen for everything. A record is valid while the generations it
 * was fetched under are current, so a fill racing an invalidation stores a record that
 * never hits: its ticket was taken before the bump.
 *
 * Fillers claim a slot by compare-and-swap on its sequence count (odd while written; a
 * loser skips caching). Readers load the count (acquire), every field (acquire, so the
 * second count load cannot move above them) and the count again; a changed or odd count is
 * a miss. Every field is an atomic: no reader sees a torn value, and TSan sees no race.
 */
#include "model.h"
#include "../core/sio.h"
#include "../dma/epoch.h"

#define ACQ memory_order_acquire
#define REL memory_order_release
#define RLX memory_order_relaxed

int sio_cfg_cache_init(struct sio_cfg_cache *c, unsigned int nr_lg2, size_t record_size)
{
	size_t nr = (size_t)1 << nr_lg2;

	if (record_size > SIO_CFG_CACHE_WORDS * 8 || nr_lg2 > 20)
		return -EINVAL;
	c->slot = sio_calloc(nr, sizeof(*c->slot));
	if (!c->slot)
		return -ENOMEM;
	c->nr_lg2 = nr_lg2;
	c->words = (record_size + 7) / 8;
	atomic_init(&c->all_gen, 1);
	for (size_t i = 0; i != nr; i++)
		atomic_init(&c->slot[i].gen, 1); /* fill_gen 0: empty */
	return 0;
}

void sio_cfg_cache_destroy(struct sio_cfg_cache *c)
{
	sio_free(c->slot);
	c->slot = NULL;
}

static struct sio_cfg_slot *slot_of(struct sio_cfg_cache *c, uint64_t key)
{
	uint64_t h = key * 0x9e3779b97f4a7c15ULL;

	return &c->slot[c->nr_lg2 ? h >> (64 - c->nr_lg2) : 0];
}

bool sio_cfg_cache_lookup(struct sio_cfg_cache *c, uint64_t key, void *out)
{
	struct sio_cfg_slot *s = slot_of(c, key);
	uint64_t seq = atomic_load_explicit(&s->seq, ACQ), w[SIO_CFG_CACHE_WORDS];
	bool hit;

	if (seq & 1)
		return false;
	hit = atomic_load_explicit(&s->key, ACQ) == key &&
	      atomic_load_explicit(&s->fill_gen, ACQ) == atomic_load_explicit(&s->gen, ACQ) &&
	      atomic_load_explicit(&s->fill_all, ACQ) == atomic_load_explicit(&c->all_gen, ACQ);
	if (!hit)
		return false;
	for (unsigned int i = 0; i != c->words; i++)
		w[i] = atomic_load_explicit(&s->word[i], ACQ);
	if (atomic_load_explicit(&s->seq, ACQ) != seq)
		return false;
	memcpy(out, w, (size_t)c->words * 8);
	return true;
}

void sio_cfg_cache_ticket(struct sio_cfg_cache *c, uint64_t key, struct sio_cfg_ticket *t)
{
	t->key = key;
	t->gen = atomic_load(&slot_of(c, key)->gen);
	t->all_gen = atomic_load(&c->all_gen);
}

void sio_cfg_cache_insert(struct sio_cfg_cache *c, const struct sio_cfg_ticket *t,
			  const void *record)
{
	struct sio_cfg_slot *s = slot_of(c, t->key);
	uint64_t seq = atomic_load_explicit(&s->seq, RLX), w[SIO_CFG_CACHE_WORDS] = { 0 };

	if ((seq & 1) || !atomic_compare_exchange_strong_explicit(&s->seq, &seq, seq + 1, ACQ, RLX))
		return;
	/* An invalidation since the ticket: what was fetched may be stale */
	if (atomic_load(&s->gen) == t->gen && atomic_load(&c->all_gen) == t->all_gen) {
		memcpy(w, record, (size_t)c->words * 8);
		/* Release: a reader that sees a new field sees the odd count before it */
		atomic_store_explicit(&s->key, t->key, REL);
		atomic_store_explicit(&s->fill_gen, t->gen, REL);
		atomic_store_explicit(&s->fill_all, t->all_gen, REL);
		for (unsigned int i = 0; i != c->words; i++)
			atomic_store_explicit(&s->word[i], w[i], REL);
	}
	atomic_store_explicit(&s->seq, seq + 2, REL);
}

void sio_cfg_cache_invalidate(struct sio_cfg_cache *c, uint64_t key)
{
	atomic_fetch_add(&slot_of(c, key)->gen, 1);
}

void sio_cfg_cache_invalidate_all(struct sio_cfg_cache *c)
{
	atomic_fetch_add(&c->all_gen, 1);
}

void sio_cfg_cache_drain(struct sio_cfg_cache *c)
{
	(void)c;
	sio_dma_synchronize();
}
