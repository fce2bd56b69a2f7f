/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Keys and values of berth's BPF maps, the one definition used by both the
 * BPF programs and userspace. Naturally aligned, explicit padding, sizes
 * asserted; byte order noted per field. Userspace zero-initialises keys.
 * Map names and pins: docs/maps.md.
 */
#ifndef BERTH_MAPS_H
#define BERTH_MAPS_H

#include "types.h"

#define BERTH_MAX_NETS	1024	/* networks per instance (array index = network id) */
#define BERTH_MAX_EPS	8192	/* endpoint interfaces per instance */
#define BERTH_MAX_CNT	65536	/* (slot, reason) counter pairs */

#define ETH_ALEN_BERTH	6

/* struct berth_net flags */
#define BERTH_NET_PRESENT	(1u << 0)
#define BERTH_NET_INTERNAL	(1u << 1)	/* no way out of the subnet */
#define BERTH_NET_NO_ICC	(1u << 2)	/* x-berth icc: false: no traffic between its endpoints */

/* berth_net_v1 (array, by network id): one network of the instance */
struct berth_net {
	__be32 subnet;		/* network order */
	__be32 mask;		/* network order */
	__be32 gateway;		/* network order: answered by ARP, owned by the host */
	__u32 flags;		/* BERTH_NET_* */
};
BERTH_STATIC_ASSERT(sizeof(struct berth_net) == 16, "berth_net size");

/* berth_ep_v1 (hash, by host-side ifindex): the endpoint behind a host-side veth */
struct berth_ep {
	__u32 net_id;		/* index into berth_net_v1 */
	__u32 slot;		/* counter slot of this interface */
	__be32 ip;		/* network order: the only source address it may use */
	__u8 mac[ETH_ALEN_BERTH];	/* the only source MAC it may use */
	__u8 host_mac[ETH_ALEN_BERTH];	/* the host-side veth's MAC: the gateway's MAC */
};
BERTH_STATIC_ASSERT(sizeof(struct berth_ep) == 24, "berth_ep size");

/* berth_fdb_v1 (hash): (network, MAC) → host-side ifindex of the endpoint */
struct berth_fdb_key {
	__u32 net_id;
	__u8 mac[ETH_ALEN_BERTH];
	__u16 pad;		/* zero */
};
BERTH_STATIC_ASSERT(sizeof(struct berth_fdb_key) == 12, "berth_fdb_key size");

struct berth_fdb {
	__u32 ifindex;		/* host-side veth: bpf_redirect_peer() target */
	__u32 slot;
};
BERTH_STATIC_ASSERT(sizeof(struct berth_fdb) == 8, "berth_fdb size");

/* berth_ip_v1 (hash): endpoint address → where it lives (every network of the instance) */
struct berth_ip_key {
	__be32 ip;		/* network order */
};
BERTH_STATIC_ASSERT(sizeof(struct berth_ip_key) == 4, "berth_ip_key size");

struct berth_ip {
	__u32 net_id;
	__u32 ifindex;		/* host-side veth */
	__u8 mac[ETH_ALEN_BERTH];
	__u16 pad;		/* zero */
};
BERTH_STATIC_ASSERT(sizeof(struct berth_ip) == 16, "berth_ip size");

/* berth_cnt_v1 (per-CPU hash): verdicts by (slot, reason) */
struct berth_cnt_key {
	__u32 slot;		/* 0: traffic berth could not attribute */
	__u32 reason;		/* enum berth_reason */
};
BERTH_STATIC_ASSERT(sizeof(struct berth_cnt_key) == 8, "berth_cnt_key size");

struct berth_cnt {
	__u64 packets;
	__u64 bytes;
};
BERTH_STATIC_ASSERT(sizeof(struct berth_cnt) == 16, "berth_cnt size");

/* berth_redir_v1 (per-CPU array, one entry): the last redirect, when rodata asks (tests) */
struct berth_redir {
	__u32 ifindex;
	__u32 peer;		/* 1: bpf_redirect_peer, 0: bpf_redirect to egress */
};
BERTH_STATIC_ASSERT(sizeof(struct berth_redir) == 8, "berth_redir size");

/*
 * berth_dns_v1 (array, one entry): where the agent listens inside every
 * endpoint. Resolvers ask 127.0.0.11:53; the lo program turns that into
 * 127.0.0.11:port and back, so a service of the endpoint may bind port 53 itself.
 */
struct berth_dns_cfg {
	__be32 addr;		/* network order: 127.0.0.11 */
	__be16 port;		/* network order: the agent's port; 0 = no translation */
	__u16 pad;		/* zero */
};
BERTH_STATIC_ASSERT(sizeof(struct berth_dns_cfg) == 8, "berth_dns_cfg size");

#endif
