// SPDX-License-Identifier: GPL-2.0-only
#include "policy_compile.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define PROTO_ICMP 1
#define PROTO_TCP 6
#define PROTO_UDP 17

static int range_cmp(const void *a, const void *b)
{
	const struct policy_range *x = a, *y = b;

	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	return x->hi < y->hi ? -1 : x->hi > y->hi;
}

size_t policy_ranges_merge(struct policy_range *r, size_t n)
{
	size_t out = 0;

	if (!n)
		return 0;
	qsort(r, n, sizeof(*r), range_cmp);
	for (size_t i = 1; i < n; i++) {
		/* overlapping or adjacent (80-89 and 90-99 are one range) */
		if ((uint32_t)r[i].lo <= (uint32_t)r[out].hi + 1) {
			if (r[i].hi > r[out].hi)
				r[out].hi = r[i].hi;
		} else {
			r[++out] = r[i];
		}
	}
	return out + 1;
}

/* The ranges one rule contributes for a port protocol: its ports, or every port. */
static void rule_ranges(const struct policy_rule *r, struct policy_range **v, size_t *n)
{
	if (!r->n_ports) {
		*VEC_PUSH(*v, *n) = (struct policy_range){ 0, 65535 };
		return;
	}
	for (size_t i = 0; i < r->n_ports; i++)
		*VEC_PUSH(*v, *n) = (struct policy_range){ r->ports[i].lo, r->ports[i].hi };
}

size_t policy_ranges_for(const struct spec *s, size_t upto, const char *from, const char *to,
			 uint8_t proto, struct policy_range *out, size_t max)
{
	struct policy_range *v = NULL;
	size_t n = 0;

	for (size_t i = 0; i <= upto && i < s->n_policy; i++) {
		const struct policy_rule *r = &s->policy[i];

		if (!r->from || !r->to || strcmp(r->from, from) || strcmp(r->to, to))
			continue;
		if (r->proto && r->proto != proto)
			continue;
		rule_ranges(r, &v, &n);
	}
	n = policy_ranges_merge(v, n);
	if (out)
		memcpy(out, v, (n < max ? n : max) * sizeof(*v));
	free(v);
	return n;
}

static int svc_index(const struct spec *s, const char *name)
{
	for (size_t i = 0; name && i < s->n_svcs; i++)
		if (!strcmp(s->svcs[i].name, name))
			return (int)i;
	return -1;
}

int policy_entry_cmp(const void *a, const void *b)
{
	const struct policy_entry *x = a, *y = b;

	if (x->to_id != y->to_id)
		return x->to_id < y->to_id ? -1 : 1;
	if (x->from_id != y->from_id)
		return x->from_id < y->from_id ? -1 : 1;
	return (int)x->proto - (int)y->proto;
}

void policy_entries_sort(struct policy_entry *e, size_t n)
{
	if (n)
		qsort(e, n, sizeof(*e), policy_entry_cmp);
}

bool policy_entries_equal(const struct policy_entry *a, size_t na, const struct policy_entry *b,
			  size_t nb)
{
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++) {
		if (policy_entry_cmp(&a[i], &b[i]) || a[i].n != b[i].n ||
		    memcmp(a[i].r, b[i].r, a[i].n * sizeof(a[i].r[0])))
			return false;
	}
	return true;
}

/* The entry for (from, to, proto) in @e, added empty when absent. */
static struct policy_entry *entry_get(struct policy_entry **e, size_t *n, uint32_t from,
				      uint32_t to, uint8_t proto)
{
	struct policy_entry *x;

	for (size_t i = 0; i < *n; i++)
		if ((*e)[i].from_id == from && (*e)[i].to_id == to && (*e)[i].proto == proto)
			return &(*e)[i];
	x = VEC_PUSH(*e, *n);
	x->from_id = from;
	x->to_id = to;
	x->proto = proto;
	return x;
}

int policy_compile(const struct spec *s, const uint32_t *ids, struct policy_entry **out,
		   size_t *n_out)
{
	static const uint8_t any[] = { PROTO_TCP, PROTO_UDP, PROTO_ICMP };
	struct policy_entry *e = NULL;
	size_t n = 0;
	int err = 0;

	for (size_t i = 0; i < s->n_policy && !err; i++) {
		const struct policy_rule *r = &s->policy[i];
		int f = svc_index(s, r->from), t = svc_index(s, r->to);
		uint8_t one = (uint8_t)r->proto;
		const uint8_t *protos = r->proto ? &one : any;
		size_t n_protos = r->proto ? 1 : ARRAY_SIZE(any);

		if (f < 0 || t < 0) {
			err = -ENOENT;
			break;
		}
		entry_get(&e, &n, 0, ids[t], 0);	/* the marker: ids[t] is guarded */
		for (size_t p = 0; p < n_protos; p++) {
			struct policy_entry *x = entry_get(&e, &n, ids[f], ids[t], protos[p]);

			/* ICMP has no ports: its entry alone admits it */
			if (protos[p] == PROTO_ICMP)
				continue;
			/*
			 * Every range of every rule for this key, merged at once: a
			 * key's ranges may exceed the room of one entry only before
			 * they are merged.
			 */
			x->n = (uint32_t)policy_ranges_for(s, i, r->from, r->to, protos[p], x->r,
							   BERTH_POLICY_RANGES);
			if (x->n > BERTH_POLICY_RANGES)
				err = -E2BIG;
		}
	}
	if (err) {
		free(e);
		*out = NULL;
		*n_out = 0;
		return err;
	}
	policy_entries_sort(e, n);
	*out = e;
	*n_out = n;
	return 0;
}
