/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * x-berth.policy compiled into what berth_policy_v1 holds, without the map:
 * one entry per (from identity, to identity, protocol) with its merged,
 * sorted port ranges, and one marker per guarded identity. Pure code; the
 * agent (user/agent/policy.c) writes the entries under a revision.
 */
#ifndef BERTH_POLICY_COMPILE_H
#define BERTH_POLICY_COMPILE_H

#include <stddef.h>
#include <stdint.h>

#include <berth/maps.h>

#include "spec.h"

struct policy_range {
	uint16_t lo, hi;	/* inclusive */
};

/*
 * One berth_policy_v1 entry without its revision. A marker (from_id 0,
 * proto 0, no ranges) says that to_id is guarded. ICMP entries carry no
 * ranges: ICMP has no ports.
 */
struct policy_entry {
	uint32_t from_id, to_id;
	uint8_t proto;		/* 0 (marker), 1 (icmp), 6 (tcp), 17 (udp) */
	uint32_t n;		/* ranges in use */
	struct policy_range r[BERTH_POLICY_RANGES];
};

/* Sort @r and merge ranges that overlap or touch; returns how many are left. */
size_t policy_ranges_merge(struct policy_range *r, size_t n);

/*
 * The merged port ranges that rules 0..@upto (inclusive) of @s allow from
 * service @from to service @to over @proto (6 or 17): a rule without a proto
 * counts for both, a rule without ports allows 0-65535. Writes at most @max
 * into @out (may be NULL when @max is 0) and returns how many there are.
 */
size_t policy_ranges_for(const struct spec *s, size_t upto, const char *from, const char *to,
			 uint8_t proto, struct policy_range *out, size_t max);

/*
 * Compile @s->policy with @ids[i] the identity of service @s->svcs[i]. The
 * entries come sorted by (to_id, from_id, proto), a marker first for each
 * guarded identity. Returns 0, -ENOENT for a rule naming an unknown service
 * or -E2BIG for more than BERTH_POLICY_RANGES ranges (the validator refuses
 * both first). *out is allocated; free it.
 */
int policy_compile(const struct spec *s, const uint32_t *ids, struct policy_entry **out,
		   size_t *n);

/* The order of policy_compile(): to_id, from_id, proto. For qsort and set comparisons. */
int policy_entry_cmp(const void *a, const void *b);

/* Sort @n entries and tell whether two sets hold the same entries (each sorted first). */
void policy_entries_sort(struct policy_entry *e, size_t n);
bool policy_entries_equal(const struct policy_entry *a, size_t na, const struct policy_entry *b,
			  size_t nb);

#endif
