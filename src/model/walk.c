// SPDX-License-Identifier: MIT
/*
 * The walk driver models share: the page-table library's walk (src/pt) as the driver
 * contract's translate, its fault data as the contract's fault record, and the fault-safe
 * descriptor fetch guest-owned tables need.
 */
#include "model.h"
#include "../core/sio.h"

static enum sio_dma_fault_kind kind_from_pt(enum pt_fault_kind k)
{
	switch (k) {
	case PT_FAULT_NONE:
		return SIO_DMA_FAULT_NONE;
	case PT_FAULT_PERMISSION:
		return SIO_DMA_FAULT_PERMISSION;
	case PT_FAULT_ACCESS:
		return SIO_DMA_FAULT_ACCESS_FLAG;
	case PT_FAULT_ADDR_SIZE:
		return SIO_DMA_FAULT_ADDR_SIZE;
	case PT_FAULT_EXTERNAL:
		return SIO_DMA_FAULT_WALK_EABT;
	case PT_FAULT_TRANSLATION:
		break;
	}
	return SIO_DMA_FAULT_TRANSLATION;
}

void sio_model_fault_from_pt(struct sio_dma_fault *f, const struct pt_fault *pf)
{
	f->kind = kind_from_pt(pf->kind);
	f->stage = pf->stage;
	f->level = pf->level;
	f->ipa = pf->stage == 2 ? pf->ipa : 0;
	f->s2_walk = pf->s2_on_s1_walk;
	/* A table fetch that faulted (stage 2 on a stage-1 table, or the fetch itself) */
	f->cls = pf->s2_on_s1_walk || pf->kind == PT_FAULT_EXTERNAL ? SIO_DMA_CLASS_TT :
								      SIO_DMA_CLASS_IN;
}

int sio_model_read_desc(void *priv, uint64_t pa, uint64_t *desc)
{
	(void)priv;
	return sio_copy_pa(desc, pa, sizeof(*desc), false);
}
