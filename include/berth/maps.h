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
#define BERTH_CT_DEFAULT	131072	/* conntrack entries (one per flow), unless set */
#define BERTH_NAT_DEFAULT	65536	/* SNAT translations, unless set */
#define BERTH_MAX_POLICY	16384	/* (revision, from, to, proto) policy entries */
#define BERTH_POLICY_RANGES	15	/* port ranges per policy entry */
#define BERTH_MAX_PORTS		262144	/* published (address, port, protocol) triples */
#define BERTH_MAX_PBIND		131072	/* (port, protocol) pairs: 65535 each for TCP and UDP */

/* Counter slot of the uplink's program (endpoint interfaces use 1 and up). */
#define BERTH_SLOT_UPLINK	0x80000000u

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

/* berth_ep_v2 (hash, by host-side ifindex): the endpoint behind a host-side veth */
struct berth_ep {
	__u32 net_id;		/* index into berth_net_v1 */
	__u32 slot;		/* counter slot of this interface */
	__be32 ip;		/* network order: the only source address it may use */
	__u8 mac[ETH_ALEN_BERTH];	/* the only source MAC it may use */
	__u8 host_mac[ETH_ALEN_BERTH];	/* the host-side veth's MAC: the gateway's MAC */
	__u32 identity;		/* policy identity of its service (0: none) */
};
BERTH_STATIC_ASSERT(sizeof(struct berth_ep) == 28, "berth_ep size");

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

/* berth_ip_v2 (hash): endpoint address → where it lives (every network of the instance) */
struct berth_ip_key {
	__be32 ip;		/* network order */
};
BERTH_STATIC_ASSERT(sizeof(struct berth_ip_key) == 4, "berth_ip_key size");

struct berth_ip {
	__u32 net_id;
	__u32 ifindex;		/* host-side veth */
	__u8 mac[ETH_ALEN_BERTH];
	__u16 pad;		/* zero */
	__u32 identity;		/* policy identity of its service (0: none) */
	__u32 slot;		/* counter slot of that interface */
};
BERTH_STATIC_ASSERT(sizeof(struct berth_ip) == 24, "berth_ip size");

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

/* berth_subnet_v1 (LPM trie): endpoint subnets of every network → network id */
struct berth_subnet_key {
	__u32 prefixlen;	/* host order: the mask length (32 for a lookup) */
	__be32 addr;		/* network order */
};
BERTH_STATIC_ASSERT(sizeof(struct berth_subnet_key) == 8, "berth_subnet_key size");

/* berth_cfg_v1 flags */
#define BERTH_CFG_UPLINK	(1u << 0)	/* an uplink: masquerade outbound flows */
#define BERTH_CFG_POLICY	(1u << 1)	/* some service is named as `to` in a rule */

/*
 * berth_cfg_v1 (array, one entry): instance-wide settings the programs read.
 * Timeouts are seconds; the agent's conntrack GC applies them.
 */
struct berth_cfg {
	__u32 flags;		/* BERTH_CFG_* */
	__be32 uplink_ip;	/* network order: the masquerade address */
	__u32 uplink_ifindex;
	__u16 nat_port_min;	/* host order: the SNAT source-port range, */
	__u16 nat_port_max;	/* outside ip_local_port_range */
	__u32 policy_rev;	/* the active policy revision (berth_policy_key.rev) */
	__u32 tcp_syn_timeout;	/* SYN_SENT, SYN_RECV */
	__u32 tcp_est_timeout;	/* ESTABLISHED */
	__u32 tcp_fin_timeout;	/* FIN_WAIT, TIME_WAIT */
	__u32 tcp_close_timeout;	/* CLOSE (after RST) */
	__u32 udp_timeout;	/* one direction seen */
	__u32 udp_stream_timeout;	/* both directions seen */
	__u32 icmp_timeout;
};
BERTH_STATIC_ASSERT(sizeof(struct berth_cfg) == 48, "berth_cfg size");

/*
 * berth_ct_v1 (hash, not LRU: a full table refuses new flows and never
 * evicts one): one entry per flow, keyed by the tuple of its first packet
 * as the endpoint side sees it (endpoint addresses, before SNAT). A packet
 * of the other direction finds it by the swapped tuple. ICMP echo: the
 * identifier is sport of the request, dport of the reply; the other is 0.
 */
struct berth_ct_key {
	__be32 saddr;		/* network order */
	__be32 daddr;
	__be16 sport;
	__be16 dport;
	__u8 proto;		/* IPPROTO_TCP, _UDP, _ICMP */
	__u8 pad[3];		/* zero */
};
BERTH_STATIC_ASSERT(sizeof(struct berth_ct_key) == 16, "berth_ct_key size");

/* struct berth_ct flags */
#define BERTH_CT_SNAT		(1u << 0)	/* masqueraded: nat_addr:nat_port on the wire */
#define BERTH_CT_SEEN_REPLY	(1u << 1)	/* a packet of the reply direction was seen */
#define BERTH_CT_FIN_ORIG	(1u << 2)	/* the original direction sent FIN */
#define BERTH_CT_FIN_REPLY	(1u << 3)	/* the reply direction sent FIN */
#define BERTH_CT_POLICY		(1u << 4)	/* admitted by a policy rule (a guarded service's flow) */
#define BERTH_CT_RST_REPLY	(1u << 5)	/* the last RST came from the reply direction */
#define BERTH_CT_DNAT		(1u << 6)	/* in through a published port: nat_addr:nat_port is
						 * what the client reached, the replies' source */
/*
 * With BERTH_CT_SNAT: an endpoint to a published port through a host address
 * (key: as the client sent it, daddr:dport the published address); nat_addr
 * is the backend network's gateway, backend the backend's address; its NAT
 * entry: berth_nat_v1's comment.
 */
#define BERTH_CT_HAIRPIN	(1u << 7)

struct berth_ct {
	__u64 last_seen;	/* bpf_ktime_get_boot_ns() of the last packet */
	__u64 created;		/* the same clock, at the first packet */
	__u32 policy_rev;	/* the revision the flow was admitted under */
	__u32 slot;		/* counter slot of the originating interface */
	__u32 ifindex;		/* host-side veth of the originating endpoint */
	__be32 nat_addr;	/* BERTH_CT_SNAT: the source address on the wire */
	__be16 nat_port;	/* BERTH_CT_SNAT: the source port (or echo id) on the wire */
	__u8 state;		/* enum berth_ct_state (include/berth/ct.h) */
	__u8 flags;		/* BERTH_CT_* */
	__be32 backend;		/* network order: BERTH_CT_HAIRPIN: the backend's address;
				 * otherwise zero (was padding) */
};
BERTH_STATIC_ASSERT(sizeof(struct berth_ct) == 40, "berth_ct size");

/*
 * berth_nat_v1 (hash): a masqueraded flow's reply tuple as it arrives on the
 * uplink (remote → nat_addr:nat_port) → the flow's conntrack key. Created and
 * removed with its flow. A hairpin flow's (BERTH_CT_HAIRPIN) is its backend's
 * reply tuple with the backend's port zeroed (backend:0 → gateway:nat_port):
 * a port is claimed per (backend address, gateway), whichever published port
 * and backend port the flow went through, so two flows can never meet on one
 * tuple at the backend.
 */
struct berth_nat {
	struct berth_ct_key ct;	/* the flow in berth_ct_v1 */
};
BERTH_STATIC_ASSERT(sizeof(struct berth_nat) == 16, "berth_nat size");

/*
 * berth_policy_v1 (hash): allow rules, compiled per revision. An entry with
 * from_id 0 and proto 0 marks to_id as guarded in that revision: a guarded
 * identity accepts new flows only as an entry (rev, from, to, proto) allows;
 * identities never named as `to` accept every flow isolation allows.
 */
struct berth_policy_key {
	__u32 rev;
	__u32 from_id;		/* identity of the client's service; 0: the marker */
	__u32 to_id;		/* identity of the server's service */
	__u8 proto;		/* IPPROTO_*; 0: the marker */
	__u8 pad[3];		/* zero */
};
BERTH_STATIC_ASSERT(sizeof(struct berth_policy_key) == 16, "berth_policy_key size");

struct berth_port_range {
	__u16 lo, hi;		/* host order, inclusive */
};

struct berth_policy {
	__u32 n;		/* ranges in use; ICMP ignores them */
	struct berth_port_range r[BERTH_POLICY_RANGES];
};
BERTH_STATIC_ASSERT(sizeof(struct berth_policy) == 64, "berth_policy size");

/*
 * berth_port_v1 (hash): a published port → the endpoint behind it. addr 0
 * is "every address of the host" (0.0.0.0:P); the uplink program looks the
 * exact address up first, then 0 when the packet is addressed to the uplink.
 * A port bound to 127.0.0.1 is only ever reached from the host itself (the
 * socket programs); nothing from the wire reaches 127.0.0.0/8.
 */
struct berth_port_key {
	__be32 addr;		/* network order: the host address it is bound to; 0: every one */
	__be16 port;		/* network order: the published (host) port */
	__u8 proto;		/* IPPROTO_TCP or IPPROTO_UDP */
	__u8 pad;		/* zero */
};
BERTH_STATIC_ASSERT(sizeof(struct berth_port_key) == 8, "berth_port_key size");

struct berth_port {
	__be32 backend_ip;	/* network order: the endpoint's address */
	__be16 backend_port;	/* network order: the container (target) port */
	__u16 pad;		/* zero */
	__u32 ifindex;		/* host-side veth of the endpoint */
	__u32 slot;		/* its counter slot */
};
BERTH_STATIC_ASSERT(sizeof(struct berth_port) == 16, "berth_port size");

/*
 * The socket programs (bpf/sock.bpf.c): cgroup connect4, sendmsg4, recvmsg4
 * and getpeername4 hooks that let host processes reach published ports
 * without per-packet NAT. Map names stay within the kernel's 15 characters.
 */
#define BERTH_MAX_HOSTADDRS	4096	/* IPv4 addresses of the instance's host namespace */
#define BERTH_SOCKREV_MAX	65536	/* (socket, backend) → published address entries */

/*
 * berth_skcfg_v1 (array, one entry): which sockets the socket programs act
 * on. The programs are attached to the cgroup v2 root, so they run for every
 * socket of the machine; they touch only those of this namespace.
 */
struct berth_sockcfg {
	__u64 netns_cookie;	/* host order: SO_NETNS_COOKIE of the instance's host namespace;
				 * 0: act on no socket */
};
BERTH_STATIC_ASSERT(sizeof(struct berth_sockcfg) == 8, "berth_sockcfg size");

/*
 * berth_hostip_v1 (hash): the IPv4 addresses of the instance's host
 * namespace (uplink, gateways, any other) → 1, as `up` found them. A
 * published port bound to every address (berth_port_key.addr 0) is reached
 * from the host at these and at 127.0.0.0/8.
 */
struct berth_hostip_key {
	__be32 addr;		/* network order */
};
BERTH_STATIC_ASSERT(sizeof(struct berth_hostip_key) == 4, "berth_hostip_key size");

/*
 * berth_skrev_v1 (LRU hash): what a host socket asked for, by the backend
 * it was sent to instead, so that recvmsg and getpeername show the
 * published address. Not conntrack: an entry lost to eviction only makes
 * an old socket see the backend's address, never a packet go astray.
 */
struct berth_sockrev_key {
	__u64 cookie;		/* host order: bpf_get_socket_cookie() of the socket */
	__be32 addr;		/* network order: the backend's address */
	__be16 port;		/* network order: the backend's port */
	__u16 pad;		/* zero */
};
BERTH_STATIC_ASSERT(sizeof(struct berth_sockrev_key) == 16, "berth_sockrev_key size");

struct berth_sockrev {
	__be32 addr;		/* network order: the published address the socket asked for */
	__be16 port;		/* network order: the published port */
	__u16 pad;		/* zero */
};
BERTH_STATIC_ASSERT(sizeof(struct berth_sockrev) == 8, "berth_sockrev size");

/*
 * berth_pbind_v1 (hash): every (port, protocol) published on some address of
 * the instance → how many berth_port_v1 entries publish it. The bind hooks
 * refuse a bind to 0.0.0.0 (or [::]) on such a port; a bind to one address
 * is judged by berth_port_v1 itself. Kept equal to berth_port_v1 by every
 * `up` and `down` (user/agent/hold.c).
 */
struct berth_pbind_key {
	__be16 port;		/* network order: the published (host) port */
	__u8 proto;		/* IPPROTO_TCP or IPPROTO_UDP */
	__u8 pad;		/* zero */
};
BERTH_STATIC_ASSERT(sizeof(struct berth_pbind_key) == 4, "berth_pbind_key size");

/*
 * berth_frag_v1 (LRU hash): the ports of a datagram that arrives in
 * fragments, by the IP header fields its fragments share, written when its
 * first fragment (the one with the UDP or ICMP echo header) is parsed. The
 * later fragments find the ports there, so a translated flow's fragments
 * are translated alike: addresses in each, ports and the L4 checksum in the
 * first. A later fragment that arrives before the first finds nothing: it
 * is dropped (from an endpoint) or left to the host (from the wire). LRU: an
 * entry lost costs only that datagram.
 */
#define BERTH_FRAG_MAX	16384	/* datagrams in fragments at once */

struct berth_frag_key {
	__be32 saddr;		/* network order, as the fragments arrive */
	__be32 daddr;		/* network order */
	__be16 id;		/* network order: the IP identification */
	__u8 proto;		/* IPPROTO_UDP or IPPROTO_ICMP */
	__u8 pad;		/* zero */
};
BERTH_STATIC_ASSERT(sizeof(struct berth_frag_key) == 12, "berth_frag_key size");

struct berth_frag {
	__be16 sport;		/* network order: UDP ports, or the echo identifier */
	__be16 dport;
	__u8 icmp_type;		/* ICMP: echo or echo reply */
	__u8 pad[3];		/* zero */
};
BERTH_STATIC_ASSERT(sizeof(struct berth_frag) == 8, "berth_frag size");

/*
 * SO_MARK of the sockets `up` binds to find out whether another process has
 * a port: the bind hooks let them through, so that the kernel's own answer
 * is the one `up` reads. Setting a mark takes CAP_NET_ADMIN.
 */
#define BERTH_SOCK_MARK_PROBE	0xb3470001u

/*
 * Retired layouts, read only by the upgrade (user/agent/upgrade.c): berth_ep_v1
 * and berth_ip_v1 as builds before policy identities wrote them (up to
 * d730e60). Builds from 96b6b35 to 474e66d kept those map names for the grown
 * layouts, struct berth_ep and struct berth_ip of today: the value size tells
 * the two apart.
 */
struct berth_ep_v1_layout {
	__u32 net_id;
	__u32 slot;
	__be32 ip;
	__u8 mac[ETH_ALEN_BERTH];
	__u8 host_mac[ETH_ALEN_BERTH];
};
BERTH_STATIC_ASSERT(sizeof(struct berth_ep_v1_layout) == 24, "berth_ep_v1_layout size");

struct berth_ip_v1_layout {
	__u32 net_id;
	__u32 ifindex;
	__u8 mac[ETH_ALEN_BERTH];
	__u16 pad;
};
BERTH_STATIC_ASSERT(sizeof(struct berth_ip_v1_layout) == 16, "berth_ip_v1_layout size");

#endif
