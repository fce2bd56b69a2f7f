/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The BPF tier's table runner, shared by test_endpoint.c and test_uplink.c:
 * one row is { name, setup, packets before, packet in, verdict, packet out,
 * redirect, counter, conntrack and NAT state }.
 *
 * Both skeletons are loaded with private maps (nothing pinned), the uplink's
 * reusing the endpoint's, so that a row may open a flow through one program
 * and answer it through the other. berth_ct_v1 and berth_nat_v1 are made
 * small (CT_MAX, NAT_MAX) so that a row can fill them. Every map is emptied
 * before each row, then the row's topology, berth_cfg_v1, flow, rules and
 * published ports (.ports) are written, its packets before (.pre) run and
 * their counters cleared.
 *
 * Every row checks the whole packet out (unchanged unless the row says how;
 * with .csum, the harness computes the IP, L4, quoted-IP and ICMP checksums of
 * the frame in and of the frame expected out, and checks those of the frame
 * that came out), the redirect record (none unless the verdict is
 * TC_ACT_REDIRECT), that berth_cnt_v1 holds exactly one (slot, reason) pair
 * counted once with the frame's length (or nothing, for reason 0), and how
 * many entries berth_ct_v1 and berth_nat_v1 hold (none unless the row says),
 * with the row's flow entry field by field.
 *
 * The private network namespace, as bpf_fib_lookup sees it (harness_fixture):
 *
 *   lo   ifindex 1     A's host-side veth (the ctx of most rows); forwarding on
 *   b0   ifindex 1001  veth (peer b0p 3001): B's host-side veth, for rows B sends;
 *                      forwarding off
 *   d0   ifindex 1003  veth (peer d0p 3003): D's host-side veth, for rows D sends
 *   up0  ifindex 2001  veth (peer up0p 2002, both up), MAC_UPLINK, 192.0.2.1/24: the uplink
 *     neighbour 192.0.2.254 lladdr MAC_NEXTHOP nud permanent
 *     93.184.216.0/24  via 192.0.2.254          IP_OUT: a next hop with a MAC
 *     198.51.100.0/24  via 192.0.2.253          IP_NONEIGH: no neighbour entry
 *     198.18.0.0/24    via 192.0.2.254 mtu lock 100   IP_SMALLMTU
 *     unreachable 203.0.113.0/25, blackhole 203.0.113.128/25
 *     no default route: IP_NOROUTE matches nothing
 *
 * It is made with iproute2's ip (a test may use the real tools) and one write
 * to /proc/sys/net/ipv4/conf/lo/forwarding, which bpf_fib_lookup requires of
 * the interface a packet came in on.
 *
 * Needs root; without it (or without BPF, or ip) a program prints SKIP and
 * exits 77, which tests/run.sh counts as skipped.
 */
#ifndef BERTH_TESTS_BPF_HARNESS_H
#define BERTH_TESTS_BPF_HARNESS_H

#include <endian.h>
#include <errno.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <linux/pkt_cls.h>

#include <berth/ct.h>
#include <berth/drop.h>
#include <berth/maps.h>

#include "endpoint.skel.h"
#include "uplink.skel.h"

#include "topology.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define SKIP_EXIT     77 /* automake's "skipped" exit status; tests/run.sh knows it */

#define CT_MAX	16 /* berth_ct_v1's size here: small enough for a row to fill */
#define NAT_MAX 16 /* berth_nat_v1's */

#define BYTES(...) ((const uint8_t[]){ __VA_ARGS__ })
#define PKT(...)   .in = BYTES(__VA_ARGS__), .in_len = sizeof(BYTES(__VA_ARGS__))
#define OUT(...)   .out = BYTES(__VA_ARGS__), .out_len = sizeof(BYTES(__VA_ARGS__))

/* Verdicts with their counter. */
#define PASS(r)		     .verdict = TC_ACT_OK, .slot = SLOT_A, .reason = (r)
#define DROP(r)		     .verdict = TC_ACT_SHOT, .slot = SLOT_A, .reason = (r)
#define DROP_ON(s, r)	     .verdict = TC_ACT_SHOT, .slot = (s), .reason = (r)
#define REDIRECT_PEER(ifx)   .verdict = TC_ACT_REDIRECT, .redir = { (ifx), 1 }
#define REDIRECT_EGRESS(ifx) .verdict = TC_ACT_REDIRECT, .redir = { (ifx), 0 }
#define FORWARDED	     .slot = SLOT_A, .reason = BERTH_PASS_FORWARD
#define ARP_REPLIED	     .slot = SLOT_A, .reason = BERTH_PASS_ARP_REPLY
#define SNATTED		     .slot = SLOT_A, .reason = BERTH_PASS_SNAT
/* the uplink's: the host's own traffic, untouched and not counted */
#define HOST_OWN	     .verdict = TC_ACT_OK, .reason = BERTH_REASON_NONE

/* Packets run before the row's, each with the verdict it must get. */
#define PRE(ifx, v, ...)                                                                          \
	{ .ifindex = (ifx), .verdict = (v), .in = BYTES(__VA_ARGS__),                             \
	  .len = sizeof(BYTES(__VA_ARGS__)) }
/* the same, in from the wire through the uplink's program */
#define PRE_UP(v, ...)                                                                            \
	{ .prog = PROG_UPLINK, .ifindex = IFX_UPLINK, .verdict = (v), .in = BYTES(__VA_ARGS__),   \
	  .len = sizeof(BYTES(__VA_ARGS__)) }
#define PRES(...)                                                                                 \
	.pre = (const struct pre[]){ __VA_ARGS__ },                                               \
	.npre = sizeof((const struct pre[]){ __VA_ARGS__ }) / sizeof(struct pre)

#define SYN    BERTH_TCP_SYN
#define ACK    BERTH_TCP_ACK
#define RST    BERTH_TCP_RST
#define SYNACK (BERTH_TCP_SYN | BERTH_TCP_ACK)
#define TCP_P  BERTH_PROTO_TCP
#define UDP_P  BERTH_PROTO_UDP
#define ICMP_P BERTH_PROTO_ICMP

/* A's frames to its gateway MAC; out of the uplink to the next hop; back in; into A */
#define FROM_A_TO_GW ETH(MAC_HOST, MAC_A, ETHERTYPE_IP)
#define TO_NEXTHOP   ETH(MAC_NEXTHOP, MAC_UPLINK, ETHERTYPE_IP)
#define FROM_WIRE    ETH(MAC_UPLINK, MAC_NEXTHOP, ETHERTYPE_IP)
#define TO_A	     ETH(MAC_A, MAC_HOST, ETHERTYPE_IP)

/* A's TCP flow 10.0.1.2:40000 → 93.184.216.34:80: its SYN, as a packet before the row's */
#define PRE_A_SYN                                                                                 \
	PRE(IFX_A, TC_ACT_REDIRECT, FROM_A_TO_GW, IP4(40, 0, 64, TCP_P, IP_A, IP_OUT),           \
	    TCP(40000, 80, SYN))

/*
 * A published port as the agent writes it in berth_port_v1: (host address,
 * host port, protocol) → (endpoint address, its port, its host-side veth,
 * its slot). Addresses as bytes (IP_ZERO: every address of the host), ports
 * in host order.
 */
struct port_ent {
	uint8_t proto;
	uint8_t addr[4];
	uint16_t port;
	uint8_t backend[4];
	uint16_t backend_port;
	uint32_t ifindex, slot;
};
#define PUBLISH(p, a, port_, be, bport, ifx, sl)                                                 \
	{ .proto = (p), .addr = { a }, .port = (port_), .backend = { be },                        \
	  .backend_port = (bport), .ifindex = (ifx), .slot = (sl) }
#define PORTS(...)                                                                                \
	.ports = (const struct port_ent[]){ __VA_ARGS__ },                                        \
	.nports = sizeof((const struct port_ent[]){ __VA_ARGS__ }) / sizeof(struct port_ent)

/* "8080:80" on every address: uplink:8080 → A:80; and "6060:6060/udp" */
#define PUB_8080 PUBLISH(TCP_P, IP_ZERO, 8080, IP_A, 80, IFX_A, SLOT_A)
#define PUB_6060 PUBLISH(UDP_P, IP_ZERO, 6060, IP_A, 6060, IFX_A, SLOT_A)

/* An outside client's SYN to uplink:8080 (PUB_8080), as a packet before the row's */
#define PRE_OUT_SYN_8080                                                                          \
	PRE_UP(TC_ACT_REDIRECT, FROM_WIRE, IP4(40, 0, 64, TCP_P, IP_OUT, IP_UPLINK),              \
	       TCP(50000, 8080, SYN))

/* A flow tuple as the rows write it: addresses as bytes, ports (or echo id) in host order. */
struct tuple {
	uint8_t proto;
	uint8_t saddr[4], daddr[4];
	uint16_t sport, dport;
};
#define TUPLE(p, s, d, sp, dp) { .proto = (p), .saddr = { s }, .daddr = { d }, .sport = (sp), \
				 .dport = (dp) }

/*
 * A conntrack entry: what a row starts with (.flow, written with its NAT
 * entry when BERTH_CT_SNAT) or what it must end with (.ct). nat_port 0 in
 * .ct of a snat row: the port the packet out carries. A BERTH_CT_DNAT flow
 * (in through a published port) has no NAT entry; its nat_addr is the host
 * address the client reached (zero here: the uplink's), nat_port the port.
 * A BERTH_CT_HAIRPIN flow (with SNAT) is keyed as its client sent it; its
 * nat_addr is the backend's gateway, its NAT entry backend:0 → gateway:nat_port.
 */
struct flow_state {
	struct tuple key;	/* proto 0: none */
	uint8_t state, flags;
	uint16_t nat_port;
	uint8_t nat_addr[4];	/* BERTH_CT_DNAT (zero: the uplink's); HAIRPIN: the gateway */
	uint32_t ifindex, slot, rev;
	uint8_t backend[4];	/* BERTH_CT_HAIRPIN: the backend's address */
};

enum prog { PROG_ENDPOINT, PROG_UPLINK };

/* berth_cfg_v1, bits of the row's .cfg */
#define CFG_UPLINK   (1u << 0) /* the uplink, ports NAT_PORT_MIN..NAT_PORT_MAX */
#define CFG_ONE_PORT (1u << 1) /* with CFG_UPLINK: the range is NAT_PORT_MIN alone */
#define CFG_POLICY   (1u << 2) /* POLICY_REV, with policy_rules_write()'s rules */

/* the checksums the harness computes (.csum) */
#define CSUM_IP	 (1u << 0) /* the IPv4 header's */
#define CSUM_L4	 (1u << 1) /* TCP, UDP (with the pseudo header), ICMP, a quoted IP header */
#define CSUM_ALL (CSUM_IP | CSUM_L4)

enum topo {
	TOPO_NET1,	/* A on net 1 (the default) */
	TOPO_INTERNAL,	/* A on the internal net 2 as 10.0.2.3 */
	TOPO_NO_EP,	/* nothing behind ifindex 1 */
	TOPO_NET_GONE,	/* A refers to a network that is not there */
	TOPO_NO_ICC,	/* net 1 with icc: false */
	TOPO_POLICY,	/* net 1, identities A ID_API, B ID_WEB, D ID_DB */
};

struct pre {
	enum prog prog;
	uint32_t ifindex;
	const uint8_t *in;
	size_t len;
	int verdict;
};

struct row {
	const char *name;
	enum topo topo;
	unsigned int cfg;	/* CFG_* */
	struct flow_state flow;	/* a flow the row starts with */
	const struct port_ent *ports;	/* published ports (berth_port_v1) */
	size_t nports;
	void (*prepare)(void);	/* more state, after the above */
	const struct pre *pre;	/* packets before the row's (checksums computed) */
	size_t npre;
	void (*between)(void);	/* after those */
	enum prog prog;		/* the program the row's packet goes through */
	uint32_t ifindex;	/* the packet's ingress interface; 0: IFX_A */
	uint16_t gso_size;	/* a GSO packet of segments this large */
	const uint8_t *in;
	size_t in_len;
	size_t pad_to;		/* zero-pad the frame to this length */
	size_t cut_to;		/* cut the frame to this length (after its checksums) */
	unsigned int csum;	/* CSUM_* */
	int verdict;
	const uint8_t *out;	/* NULL: the packet leaves as it came */
	size_t out_len;		/* the leading bytes .out replaces */
	bool out_any_port;	/* the source port (echo id) out: any of the range */
	bool out_ignored;	/* a drop after a rewrite: the bytes never leave */
	struct berth_redir redir;
	uint32_t slot;
	uint32_t reason;	/* BERTH_REASON_NONE: nothing counted */
	unsigned int ct_n;	/* entries berth_ct_v1 holds after the row */
	unsigned int nat_n;	/* and berth_nat_v1 */
	struct flow_state ct;	/* one of them, as it must be */
};

static struct berth_endpoint *skel;
static struct berth_uplink *skel_up;
static int ncpus;
static const char *harness_name; /* the program's, for its SKIP line */

static inline const char *reason_name(uint32_t r)
{
	const char *name = berth_reason_name(r);

	return name ? name : r ? "?" : "nothing";
}

static inline void hexdump(const char *what, const uint8_t *p, size_t n)
{
	print_message("    %s (%zu bytes):", what, n);
	for (size_t i = 0; i < n; i++)
		print_message("%s%02x", i % 16 ? " " : "\n      ", p[i]);
	print_message("\n");
}

static inline int map_fd(struct bpf_map *map)
{
	return bpf_map__fd(map);
}

static inline uint32_t be32_of(const uint8_t b[4])
{
	uint32_t v;

	memcpy(&v, b, 4);
	return v;
}

/* ---- checksums, computed by the test ---------------------------------------------------- */

static inline uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (n & 1)
		sum += (uint32_t)p[n - 1] << 8;
	return sum;
}

static inline uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

static inline void put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

static inline uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* Where a frame's IPv4 header and L4 header are; false when it has none. */
struct l3l4 {
	uint8_t *ip;
	size_t ihl;
	uint8_t *l4;
	size_t l4_len;	/* as tot_len says, within the frame */
	uint8_t proto;
};

static inline bool frame_ipv4(uint8_t *f, size_t len, struct l3l4 *h)
{
	size_t tot;

	if (len < 14 + 20 || get16(f + 12) != ETHERTYPE_IP)
		return false;
	h->ip = f + 14;
	h->ihl = (h->ip[0] & 0x0f) * 4u;
	if (h->ihl < 20 || 14 + h->ihl > len)
		return false;
	h->proto = h->ip[9];
	h->l4 = h->ip + h->ihl;
	tot = get16(h->ip + 2);
	h->l4_len = tot > h->ihl ? tot - h->ihl : 0;
	if (14 + h->ihl + h->l4_len > len)
		h->l4_len = len - 14 - h->ihl;
	return true;
}

static inline bool icmp_is_error(uint8_t type)
{
	return type == 3 || type == 11 || type == 12;
}

/* The sum an L4 checksum must fold to 0xffff with (the pseudo header for TCP and UDP). */
static inline uint32_t l4_sum(const struct l3l4 *h)
{
	uint32_t sum = 0;

	if (h->proto == BERTH_PROTO_TCP || h->proto == BERTH_PROTO_UDP) {
		sum = csum_add(sum, h->ip + 12, 8);
		sum += h->proto + (uint32_t)h->l4_len;
	}
	return csum_add(sum, h->l4, h->l4_len);
}

/* Writes the checksums @what asks for, L4 (and a quoted header) first, then the IP header. */
static inline void frame_csums(uint8_t *f, size_t len, unsigned int what)
{
	struct l3l4 h;
	uint16_t c;

	if (!what || !frame_ipv4(f, len, &h))
		return;
	if (what & CSUM_L4) {
		switch (h.proto) {
		case BERTH_PROTO_TCP:
			if (h.l4_len >= 20) {
				put16(h.l4 + 16, 0);
				put16(h.l4 + 16, ~csum_fold(l4_sum(&h)));
			}
			break;
		case BERTH_PROTO_UDP:
			if (h.l4_len >= 8) {
				put16(h.l4 + 6, 0);
				c = ~csum_fold(l4_sum(&h));
				put16(h.l4 + 6, c ? c : 0xffff); /* 0 means none */
			}
			break;
		case BERTH_PROTO_ICMP:
			if (h.l4_len < 8)
				break;
			if (icmp_is_error(h.l4[0]) && h.l4_len >= 8 + 20) {
				uint8_t *q = h.l4 + 8;
				size_t qihl = (q[0] & 0x0f) * 4u;

				if (qihl >= 20 && 8 + qihl <= h.l4_len) {
					put16(q + 10, 0);
					put16(q + 10, ~csum_fold(csum_add(0, q, qihl)));
				}
			}
			put16(h.l4 + 2, 0);
			put16(h.l4 + 2, ~csum_fold(l4_sum(&h)));
			break;
		}
	}
	if (what & CSUM_IP) {
		put16(h.ip + 10, 0);
		put16(h.ip + 10, ~csum_fold(csum_add(0, h.ip, h.ihl)));
	}
}

/* The checksums @what names, verified on the frame as it came out; each wrong one printed. */
static inline bool frame_csums_ok(uint8_t *f, size_t len, unsigned int what)
{
	struct l3l4 h;
	bool ok = true;

	if (!what || !frame_ipv4(f, len, &h))
		return true;
	if ((what & CSUM_IP) && csum_fold(csum_add(0, h.ip, h.ihl)) != 0xffff) {
		print_message("    IP header checksum %04x is wrong\n", get16(h.ip + 10));
		ok = false;
	}
	if (!(what & CSUM_L4))
		return ok;
	if (h.proto == BERTH_PROTO_ICMP && h.l4_len >= 8 + 20 && icmp_is_error(h.l4[0])) {
		uint8_t *q = h.l4 + 8;
		size_t qihl = (q[0] & 0x0f) * 4u;

		if (qihl >= 20 && 8 + qihl <= h.l4_len &&
		    csum_fold(csum_add(0, q, qihl)) != 0xffff) {
			print_message("    quoted IP header checksum %04x is wrong\n",
				      get16(q + 10));
			ok = false;
		}
	}
	if ((h.proto == BERTH_PROTO_TCP || h.proto == BERTH_PROTO_UDP ||
	     h.proto == BERTH_PROTO_ICMP) && csum_fold(l4_sum(&h)) != 0xffff) {
		print_message("    L4 (proto %u) checksum is wrong\n", h.proto);
		ok = false;
	}
	return ok;
}

/* Where the source port (TCP, UDP) or the echo identifier (ICMP) of a frame is; 0: none. */
static inline size_t frame_sport_off(uint8_t *f, size_t len)
{
	struct l3l4 h;

	if (!frame_ipv4(f, len, &h) || h.l4_len < 8)
		return 0;
	if (h.proto == BERTH_PROTO_ICMP)
		return (size_t)(h.l4 - f) + 4;
	return (size_t)(h.l4 - f);
}

/* ---- map setup -------------------------------------------------------------------------- */

static inline void map_clear(struct bpf_map *map)
{
	int fd = map_fd(map);
	uint8_t key[64];

	assert_true(bpf_map__key_size(map) <= sizeof(key));
	while (bpf_map_get_next_key(fd, NULL, key) == 0)
		assert_int_equal(bpf_map_delete_elem(fd, key), 0);
}

static inline unsigned int map_count(struct bpf_map *map)
{
	int fd = map_fd(map);
	uint8_t key[64], next[64];
	unsigned int n = 0;
	void *prev = NULL;

	while (bpf_map_get_next_key(fd, prev, next) == 0) {
		memcpy(key, next, sizeof(key));
		prev = key;
		n++;
	}
	return n;
}

static inline void redir_clear(void)
{
	struct berth_redir *redir = calloc(ncpus, sizeof(*redir));
	uint32_t zero = 0;

	assert_non_null(redir);
	assert_int_equal(bpf_map_update_elem(map_fd(skel->maps.berth_redir_v1), &zero, redir,
					     BPF_ANY), 0);
	free(redir);
}

static inline void maps_reset(void)
{
	struct berth_net zero_net = {};
	struct berth_cfg zero_cfg = {};
	uint32_t i, zero = 0;

	map_clear(skel->maps.berth_ep_v2);
	map_clear(skel->maps.berth_fdb_v1);
	map_clear(skel->maps.berth_ip_v2);
	map_clear(skel->maps.berth_cnt_v1);
	map_clear(skel->maps.berth_subnet_v1);
	map_clear(skel->maps.berth_ct_v1);
	map_clear(skel->maps.berth_nat_v1);
	map_clear(skel->maps.berth_policy_v1);
	map_clear(skel->maps.berth_port_v1);
	map_clear(skel->maps.berth_frag_v1);
	for (i = 0; i < BERTH_MAX_NETS; i++)
		assert_int_equal(bpf_map_update_elem(map_fd(skel->maps.berth_net_v1), &i,
						     &zero_net, BPF_ANY), 0);
	assert_int_equal(bpf_map_update_elem(map_fd(skel->maps.berth_cfg_v1), &zero, &zero_cfg,
					     BPF_ANY), 0);
	redir_clear();
}

static inline void put_net(uint32_t id, const uint8_t subnet[4], uint8_t plen,
			   const uint8_t gw[4], uint32_t flags)
{
	struct berth_net net = { .mask = htobe32(plen ? ~0u << (32 - plen) : 0), .flags = flags };
	struct berth_subnet_key sk = { .prefixlen = plen };

	memcpy(&net.subnet, subnet, 4);
	memcpy(&net.gateway, gw, 4);
	assert_int_equal(bpf_map_update_elem(map_fd(skel->maps.berth_net_v1), &id, &net, BPF_ANY),
			 0);
	/* as the agent writes it: the subnet's mask length */
	memcpy(&sk.addr, subnet, 4);
	assert_int_equal(bpf_map_update_elem(map_fd(skel->maps.berth_subnet_v1), &sk, &id,
					     BPF_ANY), 0);
}

/* An endpoint: its address and FDB entries, and the ep entry when it is behind a veth here. */
static inline void put_endpoint(uint32_t ifindex, uint32_t slot, uint32_t net_id,
				const uint8_t ip[4], const uint8_t mac[6], uint32_t identity,
				bool local)
{
	static const uint8_t host_mac[6] = { MAC_HOST };
	struct berth_fdb_key fk = { .net_id = net_id };
	struct berth_fdb fdb = { .ifindex = ifindex, .slot = slot };
	struct berth_ip_key ik = {};
	struct berth_ip ipv = { .net_id = net_id, .ifindex = ifindex, .identity = identity,
				.slot = slot };
	struct berth_ep ep = { .net_id = net_id, .slot = slot, .identity = identity };

	memcpy(fk.mac, mac, 6);
	memcpy(&ik.ip, ip, 4);
	memcpy(ipv.mac, mac, 6);
	assert_int_equal(bpf_map_update_elem(map_fd(skel->maps.berth_fdb_v1), &fk, &fdb,
					     BPF_NOEXIST), 0);
	assert_int_equal(bpf_map_update_elem(map_fd(skel->maps.berth_ip_v2), &ik, &ipv,
					     BPF_NOEXIST), 0);
	if (!local)
		return;
	memcpy(&ep.ip, ip, 4);
	memcpy(ep.mac, mac, 6);
	memcpy(ep.host_mac, host_mac, 6);
	assert_int_equal(bpf_map_update_elem(map_fd(skel->maps.berth_ep_v2), &ifindex, &ep,
					     BPF_NOEXIST), 0);
}

static inline void topo_apply(enum topo topo)
{
	static const uint8_t net1[4] = { 10, 0, 1, 0 }, gw1[4] = { IP_GW1 };
	static const uint8_t net2[4] = { 10, 0, 2, 0 }, gw2[4] = { IP_GW2 };
	static const uint8_t ip_a[4] = { IP_A }, ip_a2[4] = { IP_A2 }, ip_b[4] = { IP_B };
	static const uint8_t ip_c[4] = { IP_C }, ip_d[4] = { IP_D };
	static const uint8_t mac_a[6] = { MAC_A }, mac_b[6] = { MAC_B }, mac_c[6] = { MAC_C };
	static const uint8_t mac_d[6] = { MAC_D };
	bool policy = topo == TOPO_POLICY;

	put_net(NET_1, net1, 24, gw1,
		BERTH_NET_PRESENT | (topo == TOPO_NO_ICC ? BERTH_NET_NO_ICC : 0));
	put_net(NET_2, net2, 24, gw2, BERTH_NET_PRESENT | BERTH_NET_INTERNAL);
	put_endpoint(IFX_B, SLOT_B, NET_1, ip_b, mac_b, policy ? ID_WEB : 0, /* local */ true);
	put_endpoint(IFX_C, SLOT_C, NET_2, ip_c, mac_c, 0, /* local */ false);
	put_endpoint(IFX_D, SLOT_D, NET_1, ip_d, mac_d, policy ? ID_DB : 0, /* local */ true);
	switch (topo) {
	case TOPO_NET1:
	case TOPO_NO_ICC:
		put_endpoint(IFX_A, SLOT_A, NET_1, ip_a, mac_a, 0, /* local */ true);
		break;
	case TOPO_POLICY:
		put_endpoint(IFX_A, SLOT_A, NET_1, ip_a, mac_a, ID_API, /* local */ true);
		break;
	case TOPO_INTERNAL:
		put_endpoint(IFX_A, SLOT_A, NET_2, ip_a2, mac_a, 0, /* local */ true);
		break;
	case TOPO_NO_EP:
		put_endpoint(IFX_A, SLOT_A, NET_1, ip_a, mac_a, 0, /* local */ false);
		break;
	case TOPO_NET_GONE:
		put_endpoint(IFX_A, SLOT_A, NET_GONE, ip_a, mac_a, 0, /* local */ true);
		break;
	}
}

static inline void cfg_write(const struct berth_cfg *cfg)
{
	uint32_t zero = 0;

	assert_int_equal(bpf_map_update_elem(map_fd(skel->maps.berth_cfg_v1), &zero, cfg, BPF_ANY),
			 0);
}

static inline void cfg_read(struct berth_cfg *cfg)
{
	uint32_t zero = 0;

	assert_int_equal(bpf_map_lookup_elem(map_fd(skel->maps.berth_cfg_v1), &zero, cfg), 0);
}

static inline void cfg_apply(unsigned int bits)
{
	static const uint8_t uplink[4] = { IP_UPLINK };
	struct berth_cfg cfg = {};

	berth_ct_default_timeouts(&cfg);
	if (bits & CFG_UPLINK) {
		cfg.flags |= BERTH_CFG_UPLINK;
		cfg.uplink_ip = be32_of(uplink);
		cfg.uplink_ifindex = IFX_UPLINK;
		cfg.nat_port_min = NAT_PORT_MIN;
		cfg.nat_port_max = bits & CFG_ONE_PORT ? NAT_PORT_MIN : NAT_PORT_MAX;
	}
	if (bits & CFG_POLICY) {
		cfg.flags |= BERTH_CFG_POLICY;
		cfg.policy_rev = POLICY_REV;
	}
	cfg_write(&cfg);
}

static inline void policy_put(uint32_t rev, uint32_t from, uint32_t to, uint8_t proto,
			      const struct berth_port_range *r, uint32_t n)
{
	struct berth_policy_key k = { .rev = rev, .from_id = from, .to_id = to, .proto = proto };
	struct berth_policy v = { .n = n };

	if (n)
		memcpy(v.r, r, n * sizeof(*r));
	assert_int_equal(bpf_map_update_elem(map_fd(skel->maps.berth_policy_v1), &k, &v, BPF_ANY),
			 0);
}

/*
 * The rules of CFG_POLICY, revision @rev: db is guarded; api may reach it on
 * TCP 9000-9099, and 5432 while @allow_5432.
 */
static inline void policy_rules_write(uint32_t rev, bool allow_5432)
{
	const struct berth_port_range r[] = { { 9000, 9099 }, { 5432, 5432 } };

	policy_put(rev, 0, ID_DB, 0, NULL, 0); /* the marker */
	policy_put(rev, ID_API, ID_DB, BERTH_PROTO_TCP, r, allow_5432 ? 2 : 1);
}

static inline void ct_key_of(struct berth_ct_key *k, const struct tuple *t)
{
	memset(k, 0, sizeof(*k));
	k->saddr = be32_of(t->saddr);
	k->daddr = be32_of(t->daddr);
	k->sport = htobe16(t->sport);
	k->dport = htobe16(t->dport);
	k->proto = t->proto;
}

/* The NAT entry a masqueraded flow's replies are found by. */
static inline void nat_key_of(struct berth_ct_key *nk, const struct berth_ct_key *k,
			      uint16_t nat_port)
{
	static const uint8_t uplink[4] = { IP_UPLINK };

	memset(nk, 0, sizeof(*nk));
	nk->saddr = k->daddr;
	nk->daddr = be32_of(uplink);
	nk->sport = k->dport;
	nk->dport = htobe16(nat_port);
	nk->proto = k->proto;
}

/* The NAT entry a hairpin flow's replies are found by: backend:0 → gateway:nat_port. */
static inline void hairpin_nat_key_of(struct berth_ct_key *nk, const struct berth_ct *v,
				      uint8_t proto)
{
	memset(nk, 0, sizeof(*nk));
	nk->saddr = v->backend;
	nk->daddr = v->nat_addr;
	nk->dport = v->nat_port;
	nk->proto = proto;
}

static inline void flow_write(const struct flow_state *fs)
{
	static const uint8_t uplink[4] = { IP_UPLINK };
	struct berth_ct_key k, nk;
	struct berth_ct v = { .state = fs->state, .flags = fs->flags, .policy_rev = fs->rev,
			      .slot = fs->slot ? fs->slot : SLOT_A,
			      .ifindex = fs->ifindex ? fs->ifindex : IFX_A };
	struct berth_nat nat;
	struct timespec now;

	clock_gettime(CLOCK_BOOTTIME, &now);
	v.created = v.last_seen = (uint64_t)now.tv_sec * 1000000000ull + now.tv_nsec;
	ct_key_of(&k, &fs->key);
	if (fs->flags & BERTH_CT_HAIRPIN) {
		v.nat_addr = be32_of(fs->nat_addr);
		v.nat_port = htobe16(fs->nat_port);
		v.backend = be32_of(fs->backend);
		hairpin_nat_key_of(&nk, &v, k.proto);
		nat.ct = k;
		assert_int_equal(bpf_map_update_elem(map_fd(skel->maps.berth_nat_v1), &nk, &nat,
						     BPF_NOEXIST), 0);
	} else if (fs->flags & BERTH_CT_DNAT) {
		v.nat_addr = be32_of(fs->nat_addr) ?: be32_of(uplink);
		v.nat_port = htobe16(fs->nat_port);
	}
	if ((fs->flags & BERTH_CT_SNAT) && !(fs->flags & BERTH_CT_HAIRPIN)) {
		v.nat_addr = be32_of(uplink);
		v.nat_port = htobe16(fs->nat_port);
		nat_key_of(&nk, &k, fs->nat_port);
		nat.ct = k;
		assert_int_equal(bpf_map_update_elem(map_fd(skel->maps.berth_nat_v1), &nk, &nat,
						     BPF_NOEXIST), 0);
	}
	assert_int_equal(bpf_map_update_elem(map_fd(skel->maps.berth_ct_v1), &k, &v, BPF_NOEXIST),
			 0);
}

/* The row's published ports, into berth_port_v1. */
static inline void ports_write(const struct port_ent *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct berth_port_key k = { .addr = be32_of(p[i].addr), .port = htobe16(p[i].port),
					    .proto = p[i].proto };
		struct berth_port v = { .backend_ip = be32_of(p[i].backend),
					.backend_port = htobe16(p[i].backend_port),
					.ifindex = p[i].ifindex, .slot = p[i].slot };

		assert_int_equal(bpf_map_update_elem(map_fd(skel->maps.berth_port_v1), &k, &v,
						     BPF_NOEXIST), 0);
	}
}

/* Fills berth_ct_v1 to CT_MAX with flows of 172.16.0.0/16 nobody will send. */
static inline void ct_fill(void)
{
	struct berth_ct v = { .state = BERTH_CT_ESTABLISHED };
	unsigned int n = map_count(skel->maps.berth_ct_v1);

	for (uint32_t i = 0; n < CT_MAX; i++) {
		struct berth_ct_key k = { .saddr = htobe32(0xac100000 + i), .daddr = htobe32(1),
					  .sport = htobe16(1), .dport = htobe16(1),
					  .proto = BERTH_PROTO_TCP };

		if (bpf_map_update_elem(map_fd(skel->maps.berth_ct_v1), &k, &v, BPF_NOEXIST) == 0)
			n++;
	}
	assert_int_equal(map_count(skel->maps.berth_ct_v1), CT_MAX);
}

static inline void nat_fill(void)
{
	struct berth_nat v = {};
	unsigned int n = map_count(skel->maps.berth_nat_v1);

	for (uint32_t i = 0; n < NAT_MAX; i++) {
		struct berth_ct_key k = { .saddr = htobe32(0xac100000 + i), .daddr = htobe32(1),
					  .sport = htobe16(1), .dport = htobe16(1),
					  .proto = BERTH_PROTO_TCP };

		if (bpf_map_update_elem(map_fd(skel->maps.berth_nat_v1), &k, &v, BPF_NOEXIST) == 0)
			n++;
	}
	assert_int_equal(map_count(skel->maps.berth_nat_v1), NAT_MAX);
}

/* ---- running a packet ------------------------------------------------------------------- */

static inline int prog_fd(enum prog p)
{
	return bpf_program__fd(p == PROG_UPLINK ? skel_up->progs.berth_tc_uplink_ingress
						: skel->progs.berth_tc_endpoint_ingress);
}

/*
 * Since upstream 12bec2bd4b76 ("bpf: reject short IPv4/IPv6 inputs in
 * bpf_prog_test_run_skb", backported to stable) the kernel itself refuses an
 * IPv4 or IPv6 ethertype without a whole L3 header, before the program runs.
 * Such rows still run on kernels without it; here they skip, loudly.
 */
static inline bool kernel_refuses_short_l3(const uint8_t *frame, size_t len)
{
	uint16_t type = frame[12] << 8 | frame[13];

	return (type == ETHERTYPE_IP && len < 14 + 20) || (type == ETHERTYPE_IPV6 && len < 14 + 40);
}

/* Runs @in through @p on @ifindex; the verdict in *retval, the frame out in @out. */
static inline int test_run(enum prog p, uint32_t ifindex, uint16_t gso_size, const uint8_t *in,
			   size_t len, uint8_t *out, size_t out_size, uint32_t *retval,
			   uint32_t *out_len)
{
	struct __sk_buff ctx = { .ifindex = ifindex ? ifindex : IFX_A };
	int err;

	if (gso_size) {
		ctx.gso_size = gso_size;
		ctx.gso_segs = (len - 14 - 40 + gso_size - 1) / gso_size;
	}
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = in, .data_size_in = len, .data_out = out,
		    .data_size_out = out_size, .ctx_in = &ctx, .ctx_size_in = sizeof(ctx),
		    .repeat = 1);
	err = bpf_prog_test_run_opts(prog_fd(p), &opts);
	*retval = opts.retval;
	*out_len = opts.data_size_out;
	return err;
}

static inline void run_pre(const struct row *r)
{
	for (size_t i = 0; i < r->npre; i++) {
		const struct pre *p = &r->pre[i];
		uint8_t in[256], out[512];
		uint32_t ret, out_len;
		int err;

		assert_true(p->len <= sizeof(in));
		memcpy(in, p->in, p->len);
		frame_csums(in, p->len, CSUM_ALL);
		err = test_run(p->prog, p->ifindex, /* gso_size */ 0, in, p->len, out, sizeof(out),
			       &ret, &out_len);
		if (err)
			print_message("    packet before #%zu: BPF_PROG_TEST_RUN: %s\n", i,
				      strerror(-err));
		assert_int_equal(err, 0);
		if ((int)ret != p->verdict)
			print_message("    packet before #%zu: verdict %s (%u), want %s\n", i,
				      verdict_name(ret), ret, verdict_name(p->verdict));
		assert_int_equal(ret, p->verdict);
	}
	map_clear(skel->maps.berth_cnt_v1);
	redir_clear();
}

static inline int row_setup(void **state)
{
	const struct row *r = *state;

	maps_reset();
	topo_apply(r->topo);
	cfg_apply(r->cfg);
	if (r->cfg & CFG_POLICY)
		policy_rules_write(POLICY_REV, /* allow_5432 */ true);
	if (r->flow.key.proto)
		flow_write(&r->flow);
	ports_write(r->ports, r->nports);
	if (r->prepare)
		r->prepare();
	return 0;
}

/* ---- checks ----------------------------------------------------------------------------- */

/* Sums a per-CPU counter; prints it too when @print (a row that failed shows them all). */
static inline int counters_walk(const struct row *r, bool print, uint64_t *packets,
				uint64_t *bytes)
{
	int fd = map_fd(skel->maps.berth_cnt_v1);
	struct berth_cnt_key key, *prev = NULL;
	struct berth_cnt *vals = calloc(ncpus, sizeof(*vals));
	int n = 0;

	assert_non_null(vals);
	while (bpf_map_get_next_key(fd, prev, &key) == 0) {
		uint64_t p = 0, b = 0;

		assert_int_equal(bpf_map_lookup_elem(fd, &key, vals), 0);
		for (int cpu = 0; cpu < ncpus; cpu++) {
			p += vals[cpu].packets;
			b += vals[cpu].bytes;
		}
		if (key.slot == r->slot && key.reason == r->reason) {
			*packets = p;
			*bytes = b;
		}
		if (print)
			print_message("    counter {slot %#x, %s}: %llu packets, %llu bytes\n",
				      key.slot, reason_name(key.reason), (unsigned long long)p,
				      (unsigned long long)b);
		n++;
		prev = &key;
	}
	free(vals);
	return n;
}

/* berth_cnt_v1 must hold exactly (slot, reason): one packet of @len bytes; or nothing. */
static inline void check_counters(const struct row *r, size_t len)
{
	uint64_t packets = 0, bytes = 0;
	int n = counters_walk(r, /* print */ false, &packets, &bytes);

	if (r->reason == BERTH_REASON_NONE) {
		if (n) {
			print_message("    want nothing counted; got:\n");
			counters_walk(r, /* print */ true, &packets, &bytes);
		}
		assert_int_equal(n, 0);
		return;
	}
	if (n != 1 || packets != 1 || bytes != len) {
		print_message("    want only {slot %#x, %s}: 1 packet, %zu bytes; got:\n", r->slot,
			      reason_name(r->reason), len);
		counters_walk(r, /* print */ true, &packets, &bytes);
	}
	assert_int_equal(n, 1);
	assert_int_equal(packets, 1);
	assert_int_equal(bytes, len);
}

/* berth_redir_v1: the row's target on the CPU that ran the program, nothing elsewhere. */
static inline void check_redirect(const struct row *r)
{
	struct berth_redir *v = calloc(ncpus, sizeof(*v)), got = {};
	uint32_t zero = 0;
	int set = 0;

	assert_non_null(v);
	assert_int_equal(bpf_map_lookup_elem(map_fd(skel->maps.berth_redir_v1), &zero, v), 0);
	for (int cpu = 0; cpu < ncpus; cpu++) {
		if (v[cpu].ifindex || v[cpu].peer) {
			got = v[cpu];
			set++;
		}
	}
	free(v);
	if (r->verdict != TC_ACT_REDIRECT) {
		if (set)
			print_message("    unexpected redirect to %u (peer %u)\n", got.ifindex,
				      got.peer);
		assert_int_equal(set, 0);
		return;
	}
	if (set != 1 || got.ifindex != r->redir.ifindex || got.peer != r->redir.peer)
		print_message("    redirect: got %u (peer %u) on %d CPUs, want %u (peer %u)\n",
			      got.ifindex, got.peer, set, r->redir.ifindex, r->redir.peer);
	assert_int_equal(set, 1);
	assert_int_equal(got.ifindex, r->redir.ifindex);
	assert_int_equal(got.peer, r->redir.peer);
}

static inline void print_ct(const char *what, const struct berth_ct *v)
{
	print_message("    %s: state %u flags %#x rev %u slot %u ifindex %u nat %08x:%u\n", what,
		      v->state, v->flags, v->policy_rev, v->slot, v->ifindex, be32toh(v->nat_addr),
		      be16toh(v->nat_port));
}

/*
 * berth_ct_v1 and berth_nat_v1 hold as many entries as the row says, the
 * row's flow as it says, and a masqueraded flow its NAT entry; @port_out is
 * the source port of the packet out (0: none).
 */
static inline void check_flows(const struct row *r, uint16_t port_out)
{
	static const uint8_t uplink[4] = { IP_UPLINK };
	unsigned int ct_n = map_count(skel->maps.berth_ct_v1);
	unsigned int nat_n = map_count(skel->maps.berth_nat_v1);
	const struct flow_state *w = &r->ct;
	struct berth_ct_key k, nk;
	struct berth_nat nat;
	uint32_t slot = w->slot ? w->slot : SLOT_A, ifindex = w->ifindex ? w->ifindex : IFX_A;
	struct berth_ct v;
	uint16_t nat_port;

	if (ct_n != r->ct_n || nat_n != r->nat_n)
		print_message("    berth_ct_v1 holds %u entries (want %u), berth_nat_v1 %u (want "
			      "%u)\n", ct_n, r->ct_n, nat_n, r->nat_n);
	assert_int_equal(ct_n, r->ct_n);
	assert_int_equal(nat_n, r->nat_n);
	if (!w->key.proto)
		return;
	ct_key_of(&k, &w->key);
	if (bpf_map_lookup_elem(map_fd(skel->maps.berth_ct_v1), &k, &v)) {
		print_message("    no conntrack entry for the row's flow\n");
		fail();
	}
	if (v.state != w->state || v.flags != w->flags || v.policy_rev != w->rev ||
	    v.slot != slot || v.ifindex != ifindex)
		print_ct("conntrack entry", &v);
	assert_int_equal(v.state, w->state);
	assert_int_equal(v.flags, w->flags);
	assert_int_equal(v.policy_rev, w->rev);
	assert_int_equal(v.slot, slot);
	assert_int_equal(v.ifindex, ifindex);
	assert_true(v.created && v.last_seen >= v.created);
	if (w->flags & BERTH_CT_DNAT) {
		/* what the client reached, its replies' source: no NAT entry of its own */
		uint32_t want = be32_of(w->nat_addr) ?: be32_of(uplink);

		if (v.nat_addr != want || be16toh(v.nat_port) != w->nat_port) {
			print_ct("conntrack entry", &v);
			print_message("    want nat %08x:%u\n", be32toh(want), w->nat_port);
		}
		assert_int_equal(v.nat_addr, want);
		assert_int_equal(be16toh(v.nat_port), w->nat_port);
		return;
	}
	if (w->flags & BERTH_CT_HAIRPIN) {
		/* from the backend's gateway, a port of the range; found by backend:0 → there */
		nat_port = w->nat_port ? w->nat_port : port_out;
		if (v.nat_addr != be32_of(w->nat_addr) || be16toh(v.nat_port) != nat_port ||
		    v.backend != be32_of(w->backend))
			print_ct("conntrack entry", &v);
		assert_int_equal(v.nat_addr, be32_of(w->nat_addr));
		assert_int_equal(v.backend, be32_of(w->backend));
		assert_int_equal(be16toh(v.nat_port), nat_port);
		assert_in_range(nat_port, NAT_PORT_MIN, NAT_PORT_MAX);
		hairpin_nat_key_of(&nk, &v, k.proto);
		if (bpf_map_lookup_elem(map_fd(skel->maps.berth_nat_v1), &nk, &nat)) {
			print_message("    no NAT entry for the row's hairpin flow (port %u)\n",
				      nat_port);
			fail();
		}
		assert_memory_equal(&nat.ct, &k, sizeof(k));
		return;
	}
	assert_int_equal(v.backend, 0);
	if (!(w->flags & BERTH_CT_SNAT)) {
		assert_int_equal(v.nat_addr, 0);
		assert_int_equal(v.nat_port, 0);
		return;
	}
	nat_port = w->nat_port ? w->nat_port : port_out;
	if (be16toh(v.nat_port) != nat_port || v.nat_addr != be32_of(uplink))
		print_ct("conntrack entry", &v);
	assert_int_equal(v.nat_addr, be32_of(uplink));
	assert_int_equal(be16toh(v.nat_port), nat_port);
	assert_in_range(nat_port, NAT_PORT_MIN, NAT_PORT_MAX);
	nat_key_of(&nk, &k, nat_port);
	if (bpf_map_lookup_elem(map_fd(skel->maps.berth_nat_v1), &nk, &nat)) {
		print_message("    no NAT entry for the row's flow (port %u)\n", nat_port);
		fail();
	}
	assert_memory_equal(&nat.ct, &k, sizeof(k));
}

static inline void run_row(void **state)
{
	const struct row *r = *state;
	uint8_t in[256] = {}, want[256], out[512] = {};
	size_t len = r->in_len, port_off = 0;
	uint32_t ret, out_len;
	uint16_t port_out = 0;
	bool csum_ok = true;
	int err;

	run_pre(r);
	if (r->between)
		r->between();

	assert_true(r->in_len <= sizeof(in) && r->pad_to <= sizeof(in));
	memcpy(in, r->in, r->in_len);
	if (r->pad_to > len)
		len = r->pad_to;
	frame_csums(in, len, r->csum);
	if (r->cut_to)
		len = r->cut_to;
	memcpy(want, in, len);
	if (r->out) {
		assert_true(r->out_len <= len);
		memcpy(want, r->out, r->out_len);
	}

	err = test_run(r->prog, r->ifindex, r->gso_size, in, len, out, sizeof(out), &ret, &out_len);
	if (err == -EINVAL && kernel_refuses_short_l3(in, len)) {
		print_message("SKIP row \"%s\": this kernel's BPF_PROG_TEST_RUN refuses a %zu-byte "
			      "frame with an IP ethertype (upstream 12bec2bd4b76)\n", r->name, len);
		skip();
	}
	if (err)
		print_message("    BPF_PROG_TEST_RUN: %s\n", strerror(-err));
	assert_int_equal(err, 0);

	if (r->reason == BERTH_PASS_SNAT || r->out_any_port)
		port_off = frame_sport_off(out, out_len);
	if (port_off)
		port_out = get16(out + port_off);
	if ((int)ret != r->verdict)
		print_message("    verdict: got %s (%u), want %s (%d)\n", verdict_name(ret), ret,
			      verdict_name(r->verdict), r->verdict);
	if (r->out_any_port) {
		/* the port is the program's to choose: in the range; the frame expected takes it */
		if (port_out < NAT_PORT_MIN || port_out > NAT_PORT_MAX) {
			print_message("    source port out %u: not in %u-%u\n", port_out,
				      NAT_PORT_MIN, NAT_PORT_MAX);
			check_counters(r, len);
		}
		assert_in_range(port_out, NAT_PORT_MIN, NAT_PORT_MAX);
		put16(want + port_off, port_out);
	}
	if (r->out)
		frame_csums(want, len, r->csum);
	if (!r->out_ignored) {
		if (out_len != len || memcmp(out, want, len)) {
			print_message("    packet out differs\n");
			hexdump("got", out, out_len);
			hexdump("want", want, len);
		}
		if (r->out)
			csum_ok = frame_csums_ok(out, out_len, r->csum);
	}
	/* every check prints before the first assertion stops the row */
	check_counters(r, len);
	assert_int_equal(ret, r->verdict);
	if (!r->out_ignored) {
		assert_int_equal(out_len, len);
		assert_memory_equal(out, want, len);
		assert_true(csum_ok);
	}
	check_redirect(r);
	check_flows(r, port_out);
}

/* ---- setup: namespace, skeletons, probe ------------------------------------------------- */

static inline int print_libbpf(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	/* the verifier log on a failed load comes at WARN */
	if (level != LIBBPF_WARN)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

static inline int skip_tier(const char *why, int err)
{
	if (err)
		printf("SKIP bpf %s: %s: %s\n", harness_name, why, strerror(err));
	else
		printf("SKIP bpf %s: %s\n", harness_name, why);
	return SKIP_EXIT;
}

/* Runs one command line of the fixture; 0, or -1 with the command and its status printed. */
static inline int sh(const char *fmt, ...)
{
	char cmd[512];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	st = system(cmd);
	if (st == 0)
		return 0;
	fprintf(stderr, "fixture: `%s` failed (status %d)\n", cmd, WIFEXITED(st) ? WEXITSTATUS(st)
									      : st);
	return -1;
}

static inline int write_file(const char *path, const char *what)
{
	FILE *f = fopen(path, "w");
	int err = 0;

	if (!f)
		return -errno;
	if (fputs(what, f) < 0)
		err = -EIO;
	if (fclose(f) && !err)
		err = -errno;
	return err;
}

#define MACF	"%02x:%02x:%02x:%02x:%02x:%02x"
#define MACA(m) m[0], m[1], m[2], m[3], m[4], m[5]
#define IPF	"%u.%u.%u.%u"
#define IPA(a)	a[0], a[1], a[2], a[3]

/* The namespace of the comment at the top. 0, SKIP_EXIT without ip, or 1. */
static inline int harness_fixture(void)
{
	static const uint8_t up_mac[6] = { MAC_UPLINK }, nh_mac[6] = { MAC_NEXTHOP };
	static const uint8_t up_ip[4] = { IP_UPLINK }, nh_ip[4] = { IP_NEXTHOP };
	static const uint8_t up_ip2[4] = { IP_UPLINK2 };
	int err;

	if (system("ip -V >/dev/null 2>&1"))
		return skip_tier("iproute2's ip is not installed (tools/deps.sh installs it)", 0);
	/* every index given: none of the rows' ifindexes taken by chance */
	if (sh("ip link add b0 index %d type veth peer name b0p index 3001", IFX_B) ||
	    sh("ip link add d0 index %d type veth peer name d0p index 3003", IFX_D) ||
	    sh("ip link add up0 index %d address " MACF " type veth peer name up0p index %d",
	       IFX_UPLINK, MACA(up_mac), IFX_UPLINK + 1) ||
	    sh("ip link set up0 up && ip link set up0p up") ||
	    sh("ip addr add " IPF "/24 dev up0", IPA(up_ip)) ||
	    /* another address of the host: hairpin rows reach published ports at it */
	    sh("ip addr add " IPF "/32 dev up0", IPA(up_ip2)) ||
	    sh("ip neigh replace " IPF " lladdr " MACF " dev up0 nud permanent", IPA(nh_ip),
	       MACA(nh_mac)) ||
	    sh("ip route add 93.184.216.0/24 via " IPF, IPA(nh_ip)) ||
	    sh("ip route add 198.51.100.0/24 via 192.0.2.253") ||
	    sh("ip route add 198.18.0.0/24 via " IPF " mtu lock 100", IPA(nh_ip)) ||
	    sh("ip route add unreachable 203.0.113.0/25") ||
	    sh("ip route add blackhole 203.0.113.128/25") ||
	    sh("ip link set d0 up && ip link set d0p up") ||
	    sh("ip route add 198.19.0.0/24 dev d0"))
		return 1;
	err = write_file("/proc/sys/net/ipv4/conf/lo/forwarding", "1");
	if (err) {
		fprintf(stderr, "fixture: forwarding on lo: %s\n", strerror(-err));
		return 1;
	}
	/* D's rows that bpf_fib_lookup routes (hairpin), as on every host-side veth */
	err = write_file("/proc/sys/net/ipv4/conf/d0/forwarding", "1");
	if (err) {
		fprintf(stderr, "fixture: forwarding on d0: %s\n", strerror(-err));
		return 1;
	}
	return 0;
}

/* Private maps: nothing under /sys/fs/bpf, nothing shared with a running instance. */
static inline int unpin_all(struct bpf_object *obj)
{
	struct bpf_map *map;
	int err;

	bpf_object__for_each_map(map, obj) {
		err = bpf_map__set_pin_path(map, NULL);
		if (err) {
			fprintf(stderr, "unpin %s: %s\n", bpf_map__name(map), strerror(-err));
			return err;
		}
	}
	return 0;
}

/* The uplink's object takes the endpoint's maps: one datapath, two programs. */
static inline int share_maps(void)
{
	struct bpf_map *map, *ep_map;
	int err;

	bpf_object__for_each_map(map, skel_up->obj) {
		if (bpf_map__is_internal(map))
			continue;	/* .rodata: the object's own */
		ep_map = bpf_object__find_map_by_name(skel->obj, bpf_map__name(map));
		if (!ep_map) {
			fprintf(stderr, "the endpoint object has no map %s\n", bpf_map__name(map));
			return -ENOENT;
		}
		err = bpf_map__reuse_fd(map, bpf_map__fd(ep_map));
		if (err) {
			fprintf(stderr, "reuse %s: %s\n", bpf_map__name(map), strerror(-err));
			return err;
		}
	}
	return 0;
}

/* 0, SKIP_EXIT when the host cannot run BPF tests, or 1 on a real failure. */
static inline int env_setup(void)
{
	int err;

	if (geteuid() != 0)
		return skip_tier("not root (BPF_PROG_TEST_RUN and unshare need CAP_SYS_ADMIN)", 0);
	if (unshare(CLONE_NEWNET))
		return skip_tier("unshare(CLONE_NEWNET)", errno);
	libbpf_set_print(print_libbpf);
	err = libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_SCHED_CLS, NULL);
	if (err <= 0)
		return skip_tier("this kernel cannot load tc (sched_cls) programs",
				 err < 0 ? -err : 0);
	ncpus = libbpf_num_possible_cpus();
	if (ncpus <= 0) {
		fprintf(stderr, "libbpf_num_possible_cpus: %s\n", strerror(-ncpus));
		return 1;
	}
	err = harness_fixture();
	if (err)
		return err;

	skel = berth_endpoint__open();
	if (!skel) {
		fprintf(stderr, "open the endpoint skeleton: %s\n", strerror(errno));
		return 1;
	}
	if (unpin_all(skel->obj))
		return 1;
	err = bpf_map__set_max_entries(skel->maps.berth_ct_v1, CT_MAX) ?:
	      bpf_map__set_max_entries(skel->maps.berth_nat_v1, NAT_MAX);
	if (err) {
		fprintf(stderr, "size berth_ct_v1 and berth_nat_v1: %s\n", strerror(-err));
		return 1;
	}
	skel->rodata->cfg_record_redirect = true;
	err = berth_endpoint__load(skel);
	if (err == -EPERM)
		return skip_tier("load the endpoint skeleton (BPF locked down?)", EPERM);
	if (err) {
		fprintf(stderr, "load the endpoint skeleton: %s (verifier log above)\n",
			strerror(-err));
		return 1;
	}

	skel_up = berth_uplink__open();
	if (!skel_up) {
		fprintf(stderr, "open the uplink skeleton: %s\n", strerror(errno));
		return 1;
	}
	if (unpin_all(skel_up->obj) || share_maps())
		return 1;
	skel_up->rodata->cfg_record_redirect = true;
	err = berth_uplink__load(skel_up);
	if (err) {
		fprintf(stderr, "load the uplink skeleton: %s (verifier log above)\n",
			strerror(-err));
		return 1;
	}

	/* a kernel (or sandbox) without BPF_PROG_TEST_RUN for tc skips, not fails */
	uint8_t frame[14] = {}; /* the least a tc test run takes */
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame, .data_size_in = sizeof(frame),
		    .repeat = 1);
	err = bpf_prog_test_run_opts(prog_fd(PROG_ENDPOINT), &opts);
	if (err == -EOPNOTSUPP || err == -524 /* ENOTSUPP */ || err == -EPERM)
		return skip_tier("BPF_PROG_TEST_RUN on a tc program", -err);
	if (err) {
		fprintf(stderr, "BPF_PROG_TEST_RUN probe: %s\n", strerror(-err));
		return 1;
	}
	return 0;
}

/* One cmocka group: a test per row, each with its own setup. */
static inline int harness_main(const char *prog, const char *group, const struct row *rows,
			       size_t n)
{
	struct CMUnitTest *tests;
	int ret;

	harness_name = prog;
	ret = env_setup();
	if (ret)
		goto out;
	tests = calloc(n, sizeof(*tests));
	if (!tests) {
		ret = 1;
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		tests[i] = (struct CMUnitTest){ .name = rows[i].name, .test_func = run_row,
						.setup_func = row_setup,
						.initial_state = (void *)&rows[i] };
	ret = _cmocka_run_group_tests(group, tests, n, NULL, NULL);
	free(tests);
out:
	berth_uplink__destroy(skel_up);
	berth_endpoint__destroy(skel);
	return ret;
}

#endif
