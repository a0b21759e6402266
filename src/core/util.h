/* SPDX-License-Identifier: MIT */
/*
 * Small helpers shared by every layer: error pointers, intrusive lists, overflow checks,
 * alignment, and the allocation entry points that fault injection hooks into.
 */
#ifndef SIO_UTIL_H
#define SIO_UTIL_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lockdep.h"

#define SIO_PAGE_SHIFT 12
#define SIO_PAGE_SIZE (1UL << SIO_PAGE_SHIFT)
#define SIO_PAGE_MASK (~(SIO_PAGE_SIZE - 1))

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define container_of(ptr, type, member) ((type *)((char *)(ptr) - offsetof(type, member)))
#define offsetofend(T, m) (offsetof(T, m) + sizeof(((T *)0)->m))
#define min_t(t, a, b) ((t)(a) < (t)(b) ? (t)(a) : (t)(b))
#define max_t(t, a, b) ((t)(a) > (t)(b) ? (t)(a) : (t)(b))

/*
 * The first index in [0, @n) at which @before (an expression of the index variable @i) is
 * false, by binary search: @before must hold for a prefix of the indices and for no index
 * after it (the first of sorted ranges ending at or after an address, say)
 */
#define sio_partition_point(n, i, before)                                                  \
	({                                                                                 \
		size_t lo_ = 0, hi_ = (n);                                                  \
		while (lo_ < hi_) {                                                        \
			size_t i = lo_ + (hi_ - lo_) / 2;                                   \
			if (before)                                                        \
				lo_ = i + 1;                                               \
			else                                                               \
				hi_ = i;                                                   \
		}                                                                          \
		lo_;                                                                       \
	})
#define ALIGN_DOWN(x, a) ((x) & ~((__typeof__(x))(a) - 1))
#define ALIGN_UP(x, a) ALIGN_DOWN((x) + (a) - 1, (a))
#define IS_ALIGNED(x, a) (((x) & ((__typeof__(x))(a) - 1)) == 0)
#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
#define check_add_overflow(a, b, d) __builtin_add_overflow(a, b, d)
#define check_mul_overflow(a, b, d) __builtin_mul_overflow(a, b, d)

/* ERR_PTR: negative errno values carried in a pointer (STYLE.md habit 5). */
#define MAX_ERRNO 4095
static inline void *ERR_PTR(long err) { return (void *)err; }
static inline long PTR_ERR(const void *p) { return (long)p; }
static inline bool IS_ERR(const void *p) { return (uintptr_t)p >= (uintptr_t)-MAX_ERRNO; }
static inline bool IS_ERR_OR_NULL(const void *p) { return !p || IS_ERR(p); }
#define ERR_CAST(p) ((void *)(p))

/* Intrusive doubly linked list */
struct list_head {
	struct list_head *next, *prev;
};
#define LIST_HEAD_INIT(n) { &(n), &(n) }
static inline void INIT_LIST_HEAD(struct list_head *l) { l->next = l->prev = l; }
static inline bool list_empty(const struct list_head *l) { return l->next == l; }
static inline void __list_add(struct list_head *n, struct list_head *p, struct list_head *nx)
{
	nx->prev = n;
	n->next = nx;
	n->prev = p;
	p->next = n;
}
static inline void list_add(struct list_head *n, struct list_head *h) { __list_add(n, h, h->next); }
static inline void list_add_tail(struct list_head *n, struct list_head *h) { __list_add(n, h->prev, h); }
static inline void list_del_init(struct list_head *e)
{
	e->next->prev = e->prev;
	e->prev->next = e->next;
	INIT_LIST_HEAD(e);
}
#define list_entry(p, T, m) container_of(p, T, m)
#define list_first_entry(h, T, m) list_entry((h)->next, T, m)
#define list_for_each_entry(pos, h, m)                                                  \
	for (pos = list_entry((h)->next, __typeof__(*pos), m); &pos->m != (h);          \
	     pos = list_entry(pos->m.next, __typeof__(*pos), m))
#define list_for_each_entry_safe(pos, n, h, m)                                          \
	for (pos = list_entry((h)->next, __typeof__(*pos), m),                          \
	    n = list_entry(pos->m.next, __typeof__(*pos), m);                           \
	     &pos->m != (h); pos = n, n = list_entry(n->m.next, __typeof__(*n), m))

static inline unsigned int sio_ffs64(uint64_t v) { return __builtin_ctzll(v); }
static inline unsigned int sio_fls64(uint64_t v) { return v ? 64 - __builtin_clzll(v) : 0; }
static inline uint64_t roundup_pow_of_two(uint64_t v)
{
	return v <= 1 ? 1 : 1ULL << sio_fls64(v - 1);
}

/*
 * Allocation. Every fallible allocation in the core goes through these so that the
 * fault-injection point (sio_should_fail) sees it.
 */
bool sio_should_fail(void);
void *sio_zalloc(size_t size);
void *sio_calloc(size_t n, size_t size);
void *sio_realloc_array(void *p, size_t n, size_t size);
static inline void sio_free(void *p) { free(p); }

#endif /* SIO_UTIL_H */
