/* SPDX-License-Identifier: GPL-2.0-only */
/* Verdict counting: one place, one map, (slot, reason) keys. */
#ifndef BERTH_BPF_COUNTERS_H
#define BERTH_BPF_COUNTERS_H

#include "maps.h"

static __always_inline void count_verdict(__u32 slot, __u32 reason, __u32 bytes)
{
	struct berth_cnt_key key = { .slot = slot, .reason = reason };
	struct berth_cnt *c, init = { .packets = 1, .bytes = bytes };

	c = bpf_map_lookup_elem(&berth_cnt_v1, &key);
	if (c) {
		/* per-CPU value: no other CPU writes it */
		c->packets++;
		c->bytes += bytes;
		return;
	}
	if (!bpf_map_update_elem(&berth_cnt_v1, &key, &init, BPF_NOEXIST))
		return;
	/* another CPU created the entry first: count into it (a full table loses the count, never the packet) */
	c = bpf_map_lookup_elem(&berth_cnt_v1, &key);
	if (c) {
		c->packets++;
		c->bytes += bytes;
	}
}

#endif
