/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Conntrack garbage collection. berth_ct_v1 is a plain hash map, not an LRU
 * (a full table refuses new flows and never evicts a live one), so nothing
 * but this collector removes idle flows: a pass deletes every flow that
 * berth_ct_expired() (include/berth/ct.h) says is expired under the timeouts
 * of berth_cfg_v1, with its SNAT translation, then the NAT entries whose flow
 * is gone. It works on map fds alone (no skeleton, no program), so the agent,
 * the apply code and the tests can all drive it.
 */
#ifndef BERTH_CTGC_H
#define BERTH_CTGC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dp.h"

/* The agent's default interval between passes, seconds. */
#define CT_GC_INTERVAL_S 10

/* The three maps a pass reads and writes. */
struct ct_maps {
	int cfg_fd;	/* berth_cfg_v1: the timeouts */
	int ct_fd;	/* berth_ct_v1 */
	int nat_fd;	/* berth_nat_v1 */
	/*
	 * Walk key by key, without batch lookups or deletes: what a kernel
	 * without them gets anyway (found at the first refused call); set by
	 * tests to reach that path.
	 */
	bool key_walk;
};

static inline struct ct_maps ct_maps_of(const struct dp *dp)
{
	return (struct ct_maps){ .cfg_fd = dp->cfg_fd, .ct_fd = dp->ct_fd, .nat_fd = dp->nat_fd };
}

/*
 * Open the pinned maps under @pin_dir without loading anything: -ENOENT
 * when the instance has no datapath (yet, or any more).
 */
int ct_maps_open(struct ct_maps *m, const char *pin_dir);
void ct_maps_close(struct ct_maps *m);

/*
 * What the collector remembers between passes: the NAT entries it found
 * orphaned last time. BPF inserts a flow's NAT entry just before its
 * conntrack entry, so an orphan seen once may be a flow being created; one
 * still orphaned, with the same value, a whole pass later is not.
 */
struct ct_gc_state {
	struct ct_gc_orphan *orphans;	/* sorted */
	size_t n_orphans;
};

void ct_gc_state_free(struct ct_gc_state *gs);

struct ct_gc_stats {
	uint64_t scanned;	/* conntrack entries looked at */
	uint64_t expired;	/* conntrack entries removed as expired */
	uint64_t nat;		/* NAT entries removed with their flow */
	uint64_t orphans;	/* NAT entries removed as orphans */
	uint64_t pending;	/* orphans seen for the first time: removed next pass if still so */
	uint64_t entries;	/* conntrack entries left */
	uint64_t nat_entries;	/* NAT entries left */
	bool truncated;		/* a walk stopped at its bound (the map churned): next pass goes on */
	bool key_walk;		/* a walk went key by key: no batch lookups */
};

/* CLOCK_BOOTTIME in ns: bpf_ktime_get_boot_ns()'s clock, which last_seen uses. */
uint64_t ct_clock_ns(void);

/*
 * One pass at @now_ns (ct_clock_ns() but for tests). Timeouts come from
 * berth_cfg_v1; a timeout left 0 there means the default of ct.h, never
 * "expire at once". A live flow is never removed: an entry is checked again
 * just before it is deleted. @gs carries orphans from pass to pass; NULL
 * counts orphans without removing any. @st may be NULL. Returns 0 or -errno
 * (@st then holds what was done before the failure).
 */
int ct_gc(const struct ct_maps *m, struct ct_gc_state *gs, uint64_t now_ns,
	  struct ct_gc_stats *st);

/*
 * Remove every flow that one of the @n endpoint interfaces @ifindexes
 * originated, expired or not, with its NAT entry: for interfaces that are
 * going away, all of them in one walk. Returns how many flows were removed,
 * or -errno.
 */
int ct_flush_ifindexes(const struct ct_maps *m, const uint32_t *ifindexes, size_t n);
/* The same for one interface. */
int ct_flush_ifindex(const struct ct_maps *m, uint32_t ifindex);
/*
 * Remove every flow that came in through one of the @n published ports
 * @ports (berth_port_v1 keys) — BERTH_CT_DNAT flows whose nat_addr, nat_port
 * and protocol are the port's, BERTH_CT_HAIRPIN flows whose key's daddr,
 * dport and protocol are; a port bound to every address (addr 0) matches
 * any address — and every flow one of the @n_ifs interfaces
 * @ifindexes originated, with their NAT entries, in one walk: for ports
 * removed or repointed, whatever their flows' state. Returns how many flows
 * were removed, or -errno.
 */
int ct_flush_match(const struct ct_maps *m, const uint32_t *ifindexes, size_t n_ifs,
		   const struct berth_port_key *ports, size_t n);
/* The ports alone. */
int ct_flush_ports(const struct ct_maps *m, const struct berth_port_key *ports, size_t n);
/* Remove every flow and every NAT entry. Returns how many flows were removed, or -errno. */
int ct_flush_all(const struct ct_maps *m);

#endif
