/* SPDX-License-Identifier: MIT */
/*
 * pt_priv.h - internals shared by the format modules
 *
 * struct pt_table holds the geometry every format derives from its pt_cfg:
 * level L (0 = granule level) has entries of 2^(granule_lg2 + L * bits_lg2)
 * bytes; every table below the root has 2^bits_lg2 entries, the root has
 * 2^top_bits (more than 2^bits_lg2 only for concatenated VMSAv8 stage-2
 * start tables).  leaf_levels has bit L set when level L may hold leaves.
 *
 * Each format module includes pt_engine.h once per descriptor flavour,
 * which instantiates map/unmap/walk/dirty with the format's descriptor
 * helpers inlined, and exports a struct pt_fmt_ops.  pt.c dispatches once
 * per call through that table; nothing inside a walk is indirect.
 */
#ifndef SOFTIOMMU_PT_PRIV_H
#define SOFTIOMMU_PT_PRIV_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pt.h"

struct pt_fmt_ops;

struct pt_table {
	struct pt_cfg cfg;
	const struct pt_fmt_ops *ops;
	uint64_t *root;			/* host-owned root, else NULL */
	uint64_t root_pa;
	bool guest;
	unsigned int stage;		/* 1 or 2, reported in faults */
	unsigned int granule_lg2;
	unsigned int bits_lg2;
	unsigned int top_level;
	unsigned int top_bits;
	unsigned int ias_lg2;
	unsigned int oas_lg2;
	unsigned int leaf_levels;
	uint64_t pgsize_bitmap;
	size_t table_size;		/* bytes of a non-root table */
	size_t root_size;
};

struct pt_fmt_ops {
	/* validate cfg and fill the geometry; t->cfg is already set */
	int (*init)(struct pt_table *t);
	int (*map)(struct pt_table *t, uint64_t iova, uint64_t pa, uint64_t len,
		   unsigned int prot, uint64_t pgsizes);
	int (*unmap)(struct pt_table *t, uint64_t iova, uint64_t len,
		     unsigned int flags, uint64_t *unmapped);
	int (*iova_to_phys)(const struct pt_table *t, uint64_t iova,
			    uint64_t *pa, unsigned int *prot,
			    unsigned int *leaf_lg2);
	/* @s2 non-NULL: table addresses of @t are IPAs translated by @s2 */
	int (*walk)(const struct pt_table *t, uint64_t iova,
		    unsigned int access, struct pt_walk_result *res,
		    struct pt_fault *fault, const struct pt_table *s2);
	int (*dirty)(struct pt_table *t, uint64_t iova, uint64_t len,
		     unsigned int flags,
		     void (*record)(void *priv, uint64_t iova, uint64_t len),
		     void *priv);
	int (*set_dirty)(struct pt_table *t, uint64_t iova);
	int (*read_entry)(const struct pt_table *t, uint64_t iova,
			  unsigned int level, uint64_t *desc);
	void (*free_tree)(struct pt_table *t);
};

extern const struct pt_fmt_ops pt_vmsav8_s1_ops;
extern const struct pt_fmt_ops pt_vmsav8_s2_ops;
extern const struct pt_fmt_ops pt_x86_64_ops;
extern const struct pt_fmt_ops pt_mock_ops;

#define PT_GENMASK(h, l) \
	((~0ULL >> (63 - (h))) & (~0ULL << (l)))
#define PT_BIT(n) (1ULL << (n))

/* Descriptor classification used by the engine. */
enum pt_etype { PT_E_EMPTY, PT_E_TABLE, PT_E_LEAF, PT_E_BAD };

static inline unsigned int pt_lvl_shift(const struct pt_table *t,
					unsigned int lvl)
{
	return t->granule_lg2 + lvl * t->bits_lg2;
}

static inline unsigned int pt_lvl_nents_lg2(const struct pt_table *t,
					    unsigned int lvl)
{
	return lvl == t->top_level ? t->top_bits : t->bits_lg2;
}

static inline unsigned int pt_lvl_index(const struct pt_table *t,
					unsigned int lvl, uint64_t iova)
{
	return (iova >> pt_lvl_shift(t, lvl)) &
	       ((1u << pt_lvl_nents_lg2(t, lvl)) - 1);
}

static inline uint64_t pt_load(const uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static inline void pt_store(uint64_t *p, uint64_t v)
{
	__atomic_store_n(p, v, __ATOMIC_RELEASE);
}

void *pt_alloc_table(struct pt_table *t, size_t size);
int pt_s2_translate(const struct pt_table *s2, uint64_t ipa,
		    unsigned int access, struct pt_walk_result *r,
		    struct pt_fault *f);
void pt_free_table(struct pt_table *t, void *table, size_t size);
int pt_geometry(struct pt_table *t, unsigned int def_ias,
		unsigned int max_ias);

#endif /* SOFTIOMMU_PT_PRIV_H */
