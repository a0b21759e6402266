/* SPDX-License-Identifier: MIT */
/*
 * pt_engine.h - the generic radix-table algorithms, instantiated per format
 *
 * Not a normal header: a format module defines PT_FMT_NAME (say "mock")
 * and the static inline descriptor helpers named <name>_<helper> listed
 * below, then includes this file, which emits static functions
 * <name>_map, <name>_unmap, <name>_walk, ... .  Because every helper is a
 * static inline known at the point of use, the compiler inlines them into
 * the loops: there is no per-level indirect call.
 *
 * Helpers a format provides:
 *   enum pt_etype type(t, d, lvl)      classify a loaded descriptor
 *   uint64_t table_pa(t, d)            next-level table address
 *   uint64_t leaf_pa(t, d, lvl)        output address of a leaf
 *   uint64_t mk_table(t, pa)           table descriptor
 *   uint64_t leaf_tmpl(t, prot, lvl)   leaf descriptor with address 0
 *   uint64_t relevel(t, d, from, to)   template of a leaf at @to carrying
 *                                      the attributes of leaf @d at @from
 *   uint64_t acc_init(t)               neutral hierarchical attributes
 *   uint64_t table_acc(t, acc, d)      fold a table descriptor into acc
 *   unsigned leaf_prot(t, d, acc)      decoded PT_PROT_*
 *   enum pt_fault_kind check(t, d, acc, access)   AF / permission checks
 *   bool is_dirty(t, d)
 *   uint64_t mk_clean(t, d)            leaf @d made writable-clean
 *   int mk_dirty(t, &d)                leaf made dirty, or -EPERM
 *   unsigned arch_level(t, lvl)
 *
 * Invariants of host-owned tables: a descriptor is only ever changed by
 * one atomic store or CAS; a table is fully initialised before the store
 * that publishes it; a table is freed only after the store that unpublishes
 * it (see the freed-table rule in pt.h).
 */
#ifndef PT_FMT_NAME
#error "define PT_FMT_NAME before including pt_engine.h"
#endif

#define PT_CAT2(a, b) a##_##b
#define PT_CAT(a, b) PT_CAT2(a, b)
#define F(name) PT_CAT(PT_FMT_NAME, name)

#ifndef PT_ENGINE_COMMON
#define PT_ENGINE_COMMON
struct pt_map_state {
	uint64_t iova;		/* next input address to map */
	uint64_t end;		/* exclusive */
	uint64_t pa;
	uint64_t pgsizes;
	uint64_t tmpl[8];	/* leaf template per level */
};

struct pt_unmap_state {
	uint64_t cur;
	uint64_t start;
	uint64_t end;		/* exclusive */
	unsigned int flags;
	uint64_t unmapped;
	unsigned int nspare;
	void *spare[16];	/* pre-allocated split tables */
};

static inline uint64_t pt_min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

static inline bool pt_range_ok(const struct pt_table *t, uint64_t iova,
			       uint64_t len)
{
	uint64_t last = iova + len - 1;

	if (last < iova)
		return false;
	return t->ias_lg2 >= 64 || !(last >> t->ias_lg2);
}

static inline int pt_check_range(const struct pt_table *t, uint64_t iova,
				 uint64_t len)
{
	uint64_t gmask = (1ULL << t->granule_lg2) - 1;

	if (!len || (iova & gmask) || (len & gmask))
		return -EINVAL;
	if (!pt_range_ok(t, iova, len))
		return -ERANGE;
	return 0;
}
#endif

static inline bool F(leaf_ok)(const struct pt_table *t, unsigned int lvl,
			      uint64_t pgsizes)
{
	return ((t->leaf_levels >> lvl) & 1) &&
	       ((pgsizes >> pt_lvl_shift(t, lvl)) & 1);
}

/* Free the subtree below table descriptor @d at @lvl; return leaf bytes. */
static uint64_t F(free_sub)(struct pt_table *t, uint64_t *tbl, unsigned int lvl)
{
	unsigned int n = 1u << pt_lvl_nents_lg2(t, lvl);
	uint64_t bytes = 0;

	for (unsigned int i = 0; i < n; i++) {
		uint64_t d = pt_load(&tbl[i]);

		switch (F(type)(t, d, lvl)) {
		case PT_E_LEAF:
			bytes += 1ULL << pt_lvl_shift(t, lvl);
			break;
		case PT_E_TABLE:
			bytes += F(free_sub)(t, (uint64_t *)(uintptr_t)
						F(table_pa)(t, d), lvl - 1);
			break;
		default:
			break;
		}
	}
	pt_free_table(t, tbl, lvl == t->top_level ? t->root_size :
						    t->table_size);
	return bytes;
}

static void F(free_tree)(struct pt_table *t)
{
	if (t->root)
		F(free_sub)(t, t->root, t->top_level);
	t->root = NULL;
}

/* ---- map ---------------------------------------------------------------- */

static int F(map_lvl)(struct pt_table *t, uint64_t *tbl, unsigned int lvl,
		      struct pt_map_state *ms)
{
	unsigned int shift = pt_lvl_shift(t, lvl);
	uint64_t esz = 1ULL << shift;
	unsigned int n = 1u << pt_lvl_nents_lg2(t, lvl);
	unsigned int idx = pt_lvl_index(t, lvl, ms->iova);
	bool may_leaf = F(leaf_ok)(t, lvl, ms->pgsizes);

	while (idx < n && ms->iova < ms->end) {
		uint64_t *p = &tbl[idx];
		uint64_t d = pt_load(p);
		enum pt_etype ty = F(type)(t, d, lvl);
		uint64_t rem = ms->end - ms->iova;
		int ret;

		if (may_leaf && ty == PT_E_EMPTY && rem >= esz &&
		    !((ms->iova | ms->pa) & (esz - 1))) {
			/* a run of leaves inside this table */
			uint64_t cnt = pt_min_u64(n - idx, rem >> shift);
			uint64_t tmpl = ms->tmpl[lvl];
			uint64_t pa = ms->pa;
			uint64_t i = 0;

			do {
				pt_store(&p[i], tmpl | pa);
				pa += esz;
				i++;
			} while (i < cnt &&
				 !__atomic_load_n(&p[i], __ATOMIC_RELAXED));
			ms->pa = pa;
			ms->iova += i << shift;
			idx += i;
			continue;
		}
		if (ty == PT_E_LEAF || ty == PT_E_BAD || lvl == 0)
			return -EADDRINUSE;
		if (ty == PT_E_EMPTY) {
			uint64_t *nt = pt_alloc_table(t, t->table_size);
			uint64_t expect = 0;

			if (!nt)
				return -ENOMEM;
			if (__atomic_compare_exchange_n(
				    p, &expect, F(mk_table)(t, (uintptr_t)nt),
				    false, __ATOMIC_RELEASE, __ATOMIC_ACQUIRE)) {
				d = F(mk_table)(t, (uintptr_t)nt);
			} else {
				/* lost a race with a map of a disjoint range */
				pt_free_table(t, nt, t->table_size);
				d = expect;
				if (F(type)(t, d, lvl) != PT_E_TABLE)
					return -EADDRINUSE;
			}
		}
		ret = F(map_lvl)(t, (uint64_t *)(uintptr_t)F(table_pa)(t, d),
				 lvl - 1, ms);
		if (ret)
			return ret;
		idx++;
	}
	return 0;
}

static int F(unmap_range)(struct pt_table *t, struct pt_unmap_state *us);

static int F(map)(struct pt_table *t, uint64_t iova, uint64_t pa, uint64_t len,
		  unsigned int prot, uint64_t pgsizes)
{
	struct pt_map_state ms;
	int ret;

	ms.iova = iova;
	ms.end = iova + len;
	ms.pa = pa;
	ms.pgsizes = pgsizes;
	/* only levels whose entries fit in @len can take a leaf */
	for (unsigned int l = 0;
	     l <= t->top_level && (len >> pt_lvl_shift(t, l)); l++)
		ms.tmpl[l] = F(leaf_tmpl)(t, prot, l);
	ret = F(map_lvl)(t, t->root, t->top_level, &ms);
	if (ret && ms.iova != iova) {
		struct pt_unmap_state us = {
			.cur = iova, .start = iova, .end = ms.iova,
		};

		F(unmap_range)(t, &us);
	}
	return ret;
}

/* ---- unmap -------------------------------------------------------------- */

/*
 * Replace the leaf at *p (level @lvl) by a full table of leaves one level
 * down, taken from the pre-allocated spares.  Walkers see either the old
 * leaf or the new table; both translate the same way.
 */
static uint64_t F(split)(struct pt_table *t, uint64_t *p, uint64_t d,
			 unsigned int lvl, struct pt_unmap_state *us)
{
	uint64_t *nt = us->spare[--us->nspare];
	unsigned int n = 1u << t->bits_lg2;
	uint64_t tmpl = F(relevel)(t, d, lvl, lvl - 1);
	uint64_t pa = F(leaf_pa)(t, d, lvl);
	uint64_t esz = 1ULL << pt_lvl_shift(t, lvl - 1);
	uint64_t nd;

	for (unsigned int i = 0; i < n; i++)
		nt[i] = tmpl | (pa + i * esz);
	nd = F(mk_table)(t, (uintptr_t)nt);
	/* retry if hardware set a dirty bit since we loaded d */
	while (!__atomic_compare_exchange_n(p, &d, nd, false, __ATOMIC_RELEASE,
					    __ATOMIC_RELAXED)) {
		tmpl = F(relevel)(t, d, lvl, lvl - 1);
		for (unsigned int i = 0; i < n; i++)
			nt[i] = tmpl | (pa + i * esz);
	}
	return nd;
}

static int F(unmap_lvl)(struct pt_table *t, uint64_t *tbl, unsigned int lvl,
			struct pt_unmap_state *us)
{
	unsigned int shift = pt_lvl_shift(t, lvl);
	uint64_t esz = 1ULL << shift;
	unsigned int n = 1u << pt_lvl_nents_lg2(t, lvl);
	unsigned int idx = pt_lvl_index(t, lvl, us->cur);

	for (; idx < n && us->cur < us->end; idx++) {
		uint64_t *p = &tbl[idx];
		uint64_t d = pt_load(p);
		uint64_t es = us->cur & ~(esz - 1);
		uint64_t ee = es + esz;
		bool covered = es >= us->start && ee <= us->end;
		int ret;

		if (covered && F(type)(t, d, lvl) != PT_E_TABLE) {
			/* a run of fully covered leaves or holes */
			unsigned int lim = idx + (unsigned int)pt_min_u64(
				n - idx, (us->end - es) >> shift);
			uint64_t cnt = 0;

			for (; idx < lim; idx++) {
				d = pt_load(&tbl[idx]);
				if (!d)
					continue;
				if (lvl && F(type)(t, d, lvl) == PT_E_TABLE)
					break;
				pt_store(&tbl[idx], 0);
				cnt++;
			}
			us->unmapped += cnt << shift;
			us->cur = es + ((uint64_t)(idx - pt_lvl_index(t, lvl, es))
					<< shift);
			idx--;
			continue;
		}
again:
		switch (F(type)(t, d, lvl)) {
		case PT_E_EMPTY:
		case PT_E_BAD:
			break;
		case PT_E_TABLE: {
			uint64_t *sub = (uint64_t *)(uintptr_t)F(table_pa)(t, d);

			if (covered) {
				pt_store(p, 0);
				us->unmapped += F(free_sub)(t, sub, lvl - 1);
				break;
			}
			ret = F(unmap_lvl)(t, sub, lvl - 1, us);
			if (ret)
				return ret;
			break;
		}
		case PT_E_LEAF:
			if (covered || (es >= us->start &&
					!(us->flags & PT_UNMAP_ALLOW_SPLIT))) {
				pt_store(p, 0);
				us->unmapped += esz;
				break;
			}
			/*
			 * A leaf starting before the range holds its first
			 * address and is the first entry visited, so failing
			 * here changes nothing.
			 */
			if (!(us->flags & PT_UNMAP_ALLOW_SPLIT) ||
			    !us->nspare || lvl == 0)
				return -EINVAL;
			d = F(split)(t, p, d, lvl, us);
			goto again;
		}
		us->cur = ee;
	}
	return 0;
}

static int F(unmap_range)(struct pt_table *t, struct pt_unmap_state *us)
{
	int ret = F(unmap_lvl)(t, t->root, t->top_level, us);

	/* unmap_lvl may advance cur past end on the last entry */
	return ret;
}

/*
 * Find the leaf containing @a.  Returns the number of tables a split at @a
 * needs (0 when no leaf straddles @a), or -1 when no leaf holds @a.
 */
static int F(straddle)(const struct pt_table *t, uint64_t a)
{
	const uint64_t *tbl = t->root;

	if (!pt_range_ok(t, a, 1))
		return 0;
	for (unsigned int lvl = t->top_level;; lvl--) {
		uint64_t d = pt_load(&tbl[pt_lvl_index(t, lvl, a)]);
		uint64_t esz = 1ULL << pt_lvl_shift(t, lvl);
		unsigned int l;

		switch (F(type)(t, d, lvl)) {
		case PT_E_TABLE:
			tbl = (const uint64_t *)(uintptr_t)F(table_pa)(t, d);
			continue;
		case PT_E_LEAF:
			if (!(a & (esz - 1)))
				return 0;
			for (l = lvl; l > 0; l--)
				if (!(a & ((1ULL << pt_lvl_shift(t, l - 1)) - 1)))
					break;
			return (int)(lvl - (l ? l - 1 : 0));
		default:
			return 0;
		}
	}
}

static int F(unmap)(struct pt_table *t, uint64_t iova, uint64_t len,
		    unsigned int flags, uint64_t *unmapped)
{
	struct pt_unmap_state us;	/* spare[] is not zeroed: hot path */
	int need_s = 0, need_e = 0;
	int ret;

	us.cur = us.start = iova;
	us.end = iova + len;
	us.flags = flags;
	us.unmapped = 0;
	us.nspare = 0;
	/* splits are the only allocations: make them all before changing */
	if (flags & PT_UNMAP_ALLOW_SPLIT) {
		need_s = F(straddle)(t, iova);
		need_e = F(straddle)(t, iova + len);
	}
	if (need_s + need_e > 16)
		return -EINVAL;
	while (us.nspare < (unsigned int)(need_s + need_e)) {
		void *p = pt_alloc_table(t, t->table_size);

		if (!p) {
			while (us.nspare)
				pt_free_table(t, us.spare[--us.nspare],
					      t->table_size);
			return -ENOMEM;
		}
		us.spare[us.nspare++] = p;
	}
	ret = F(unmap_range)(t, &us);
	while (us.nspare)
		pt_free_table(t, us.spare[--us.nspare], t->table_size);
	if (unmapped)
		*unmapped = us.unmapped;
	return ret;
}

/* ---- walks -------------------------------------------------------------- */

static int F(iova_to_phys)(const struct pt_table *t, uint64_t iova,
			   uint64_t *pa, unsigned int *prot,
			   unsigned int *leaf_lg2)
{
	const uint64_t *tbl = t->root;
	uint64_t acc = F(acc_init)(t);
	unsigned int lvl = t->top_level;

	if (!pt_range_ok(t, iova, 1))
		return -ENOENT;
	for (;; lvl--) {
		uint64_t d = pt_load(&tbl[pt_lvl_index(t, lvl, iova)]);
		enum pt_etype ty = F(type)(t, d, lvl);

		if (ty == PT_E_TABLE) {
			acc = F(table_acc)(t, acc, d);
			tbl = (const uint64_t *)(uintptr_t)F(table_pa)(t, d);
			continue;
		}
		if (ty != PT_E_LEAF)
			return -ENOENT;
		*pa = F(leaf_pa)(t, d, lvl) |
		      (iova & ((1ULL << pt_lvl_shift(t, lvl)) - 1));
		if (prot)
			*prot = F(leaf_prot)(t, d, acc);
		if (leaf_lg2)
			*leaf_lg2 = pt_lvl_shift(t, lvl);
		return 0;
	}
}

static int F(fault)(const struct pt_table *t, struct pt_fault *f,
		    enum pt_fault_kind kind, unsigned int lvl, uint64_t iova,
		    unsigned int access)
{
	if (f) {
		memset(f, 0, sizeof(*f));
		f->kind = kind;
		f->stage = t->stage;
		f->level = F(arch_level)(t, lvl);
		f->input = iova;
		f->access = access;
		if (t->stage == 2)
			f->ipa = iova;
	}
	return -EFAULT;
}

/* Fetch descriptor @idx of the table at @tpa for a walk. */
static inline int F(fetch)(const struct pt_table *t, uint64_t tpa,
			   unsigned int idx, uint64_t *d,
			   const struct pt_table *s2, uint64_t iova,
			   unsigned int access, struct pt_fault *f,
			   unsigned int lvl)
{
	uint64_t dpa = tpa + (uint64_t)idx * 8;

	if (!t->guest) {
		*d = pt_load((const uint64_t *)(uintptr_t)dpa);
		return 0;
	}
	if (s2) {
		struct pt_walk_result r;
		int ret = pt_s2_translate(s2, dpa, PT_ACCESS_READ, &r, f);

		if (ret) {
			if (f) {
				f->s2_on_s1_walk = true;
				f->input = iova;
				f->ipa = dpa;
				f->access = access;
			}
			return ret;
		}
		dpa = r.oa;
	}
	/*
	 * A guest-owned table lives in memory its owner may unmap: hardware models pass a
	 * fault-safe read_desc (sio_model_read_desc, src/model). Without one (the library's
	 * own tests) the descriptor is a plain host load.
	 */
	if (t->cfg.read_desc) {
		if (t->cfg.read_desc(t->cfg.read_priv, dpa, d))
			return F(fault)(t, f, PT_FAULT_EXTERNAL, lvl, iova,
					access);
		return 0;
	}
	*d = pt_load((const uint64_t *)(uintptr_t)dpa);
	return 0;
}

static int F(walk)(const struct pt_table *t, uint64_t iova,
		   unsigned int access, struct pt_walk_result *res,
		   struct pt_fault *f, const struct pt_table *s2)
{
	uint64_t tpa = t->root_pa;
	uint64_t acc = F(acc_init)(t);
	unsigned int lvl = t->top_level;

	if (!pt_range_ok(t, iova, 1))
		return F(fault)(t, f, PT_FAULT_TRANSLATION, lvl, iova, access);
	for (;; lvl--) {
		unsigned int shift = pt_lvl_shift(t, lvl);
		enum pt_fault_kind k;
		uint64_t d, oa;
		int ret;

		ret = F(fetch)(t, tpa, pt_lvl_index(t, lvl, iova), &d, s2, iova,
			       access, f, lvl);
		if (ret)
			return ret;
		switch (F(type)(t, d, lvl)) {
		case PT_E_TABLE:
			tpa = F(table_pa)(t, d);
			if (t->guest && t->oas_lg2 < 64 && (tpa >> t->oas_lg2))
				return F(fault)(t, f, PT_FAULT_ADDR_SIZE, lvl,
						iova, access);
			acc = F(table_acc)(t, acc, d);
			continue;
		case PT_E_LEAF:
			break;
		default:
			return F(fault)(t, f, PT_FAULT_TRANSLATION, lvl, iova,
					access);
		}
		oa = F(leaf_pa)(t, d, lvl);
		if (t->oas_lg2 < 64 && (oa >> t->oas_lg2))
			return F(fault)(t, f, PT_FAULT_ADDR_SIZE, lvl, iova,
					access);
		k = F(check)(t, d, acc, access);
		if (k != PT_FAULT_NONE)
			return F(fault)(t, f, k, lvl, iova, access);
		res->oa = oa | (iova & ((1ULL << shift) - 1));
		res->prot = F(leaf_prot)(t, d, acc);
		res->leaf_lg2 = shift;
		res->level = lvl;
		res->desc = d;
		res->dirty = F(is_dirty)(t, d);
		return 0;
	}
}

static int F(read_entry)(const struct pt_table *t, uint64_t iova,
			 unsigned int level, uint64_t *desc)
{
	uint64_t tpa = t->root_pa;

	if (level > t->top_level)
		return -EINVAL;
	if (!pt_range_ok(t, iova, 1))
		return -ERANGE;
	for (unsigned int lvl = t->top_level;; lvl--) {
		uint64_t d;

		if (F(fetch)(t, tpa, pt_lvl_index(t, lvl, iova), &d, NULL, iova,
			     0, NULL, lvl))
			return -EIO;
		if (lvl == level) {
			*desc = d;
			return 0;
		}
		if (F(type)(t, d, lvl) != PT_E_TABLE)
			return -ENOENT;
		tpa = F(table_pa)(t, d);
	}
}

/* ---- dirty -------------------------------------------------------------- */

/*
 * Dirty updates are compare-and-swap loops that only ever modify a valid
 * leaf: emulated hardware may race with an unmap of the same leaf, and
 * must never turn a cleared descriptor into a non-zero invalid one.
 */
static void F(clear_dirty)(const struct pt_table *t, uint64_t *p, uint64_t d,
			   unsigned int lvl)
{
	while (F(type)(t, d, lvl) == PT_E_LEAF &&
	       !__atomic_compare_exchange_n(p, &d, F(mk_clean)(t, d), false,
					    __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
}

static int F(set_dirty_cas)(const struct pt_table *t, uint64_t *p, uint64_t d,
			    unsigned int lvl)
{
	uint64_t nd;

	do {
		int ret;

		if (F(type)(t, d, lvl) != PT_E_LEAF)
			return -ENOENT;
		nd = d;
		ret = F(mk_dirty)(t, &nd);
		if (ret)
			return ret;
	} while (!__atomic_compare_exchange_n(p, &d, nd, false,
					      __ATOMIC_RELAXED,
					      __ATOMIC_RELAXED));
	return 0;
}

struct F(dirty_state) {
	uint64_t cur, start, end;
	unsigned int flags;
	void (*record)(void *priv, uint64_t iova, uint64_t len);
	void *priv;
};

static void F(dirty_lvl)(struct pt_table *t, uint64_t *tbl, unsigned int lvl,
			 struct F(dirty_state) *ds)
{
	uint64_t esz = 1ULL << pt_lvl_shift(t, lvl);
	unsigned int n = 1u << pt_lvl_nents_lg2(t, lvl);
	unsigned int idx = pt_lvl_index(t, lvl, ds->cur);

	for (; idx < n && ds->cur < ds->end; idx++) {
		uint64_t *p = &tbl[idx];
		uint64_t d = pt_load(p);
		uint64_t es = ds->cur & ~(esz - 1);
		uint64_t ee = es + esz;

		switch (F(type)(t, d, lvl)) {
		case PT_E_TABLE:
			F(dirty_lvl)(t, (uint64_t *)(uintptr_t)F(table_pa)(t, d),
				     lvl - 1, ds);
			break;
		case PT_E_LEAF:
			if (!F(is_dirty)(t, d))
				break;
			if (!(ds->flags & PT_DIRTY_NO_CLEAR))
				F(clear_dirty)(t, p, d, lvl);
			if (ds->record) {
				uint64_t s = es > ds->start ? es : ds->start;
				uint64_t e = ee < ds->end ? ee : ds->end;

				ds->record(ds->priv, s, e - s);
			}
			break;
		default:
			break;
		}
		ds->cur = ee;
	}
}

static int F(dirty)(struct pt_table *t, uint64_t iova, uint64_t len,
		    unsigned int flags,
		    void (*record)(void *priv, uint64_t iova, uint64_t len),
		    void *priv)
{
	struct F(dirty_state) ds = {
		.cur = iova, .start = iova, .end = iova + len, .flags = flags,
		.record = record, .priv = priv,
	};

	F(dirty_lvl)(t, t->root, t->top_level, &ds);
	return 0;
}

static int F(set_dirty)(struct pt_table *t, uint64_t iova)
{
	uint64_t *tbl = t->root;

	if (!pt_range_ok(t, iova, 1))
		return -ENOENT;
	for (unsigned int lvl = t->top_level;; lvl--) {
		uint64_t *p = &tbl[pt_lvl_index(t, lvl, iova)];
		uint64_t d = pt_load(p);

		switch (F(type)(t, d, lvl)) {
		case PT_E_TABLE:
			tbl = (uint64_t *)(uintptr_t)F(table_pa)(t, d);
			continue;
		case PT_E_LEAF:
			return F(set_dirty_cas)(t, p, d, lvl);
		default:
			return -ENOENT;
		}
	}
}

#undef F
