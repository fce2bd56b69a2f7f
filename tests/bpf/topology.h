/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The topology that BPF_PROG_TEST_RUN drives berth's programs through,
 * shared by the BPF test tier and make bench's per-packet cost, so that both
 * describe the same endpoints, addresses and frames. The namespace that gives
 * the uplink's addresses and routes to bpf_fib_lookup is built in harness.h.
 */
#ifndef BERTH_TESTS_BPF_TOPOLOGY_H
#define BERTH_TESTS_BPF_TOPOLOGY_H

#include <linux/pkt_cls.h>

/* The fixture, as bytes on the wire. */
#define MAC_A	  0x02, 0x42, 0x0a, 0x00, 0x01, 0x02
#define MAC_B	  0x02, 0x42, 0x0a, 0x00, 0x01, 0x03
#define MAC_C	  0x02, 0x42, 0x0a, 0x00, 0x02, 0x02
#define MAC_HOST  0xfe, 0xee, 0x00, 0x00, 0x00, 0x01 /* A's host-side veth: its gateway MAC */
#define MAC_EVIL  0x02, 0x42, 0xde, 0xad, 0xbe, 0xef
#define MAC_BCAST 0xff, 0xff, 0xff, 0xff, 0xff, 0xff
#define MAC_MCAST 0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb
#define MAC_V6MC  0x33, 0x33, 0x00, 0x00, 0x00, 0x01
#define MAC_ZERO  0x00, 0x00, 0x00, 0x00, 0x00, 0x00
#define MAC_D	  0x02, 0x42, 0x0a, 0x00, 0x01, 0x04
#define MAC_UPLINK  0x02, 0x00, 0xc0, 0x00, 0x02, 0x01 /* the uplink's own MAC */
#define MAC_NEXTHOP 0x02, 0x00, 0xc0, 0x00, 0x02, 0xfe /* its next hop's: a permanent neighbour */

#define IP_GW1	  10, 0, 1, 1
#define IP_A	  10, 0, 1, 2
#define IP_B	  10, 0, 1, 3
#define IP_NOBODY 10, 0, 1, 99
#define IP_BCAST1 10, 0, 1, 255
#define IP_GW2	  10, 0, 2, 1
#define IP_C	  10, 0, 2, 2
#define IP_A2	  10, 0, 2, 3 /* A, when the row puts it on the internal network */
#define IP_OUT	  93, 184, 216, 34
#define IP_MDNS	  224, 0, 0, 251
#define IP_ZERO	  0, 0, 0, 0
#define IP_D	  10, 0, 1, 4
#define IP_NOBODY2 10, 0, 2, 99 /* in net 2's subnet, held by nobody */

/* Beyond the uplink (routes of harness.h's namespace). */
#define IP_UPLINK   192, 0, 2, 1     /* the uplink's address: the masquerade address */
#define IP_UPLINK2  192, 0, 2, 2     /* another address of the host, beside the uplink's */
#define IP_NEXTHOP  192, 0, 2, 254   /* the next hop, also the router that sends ICMP errors */
#define IP_NONEIGH  198, 51, 100, 7  /* routed by a next hop with no neighbour entry */
#define IP_UNREACH  203, 0, 113, 7   /* an unreachable route */
#define IP_BLACKHOLE 203, 0, 113, 135 /* a blackhole route */
#define IP_SMALLMTU 198, 18, 0, 7    /* routed over a path of locked MTU 100 */
#define IP_NOROUTE  100, 64, 0, 7    /* no route at all (the namespace has no default) */
#define IP_OTHERIF  198, 19, 0, 7    /* routed out of an interface other than the uplink */
#define IP_LOOP	    127, 0, 0, 1
#define IP_LOOP2    127, 1, 2, 3

#define IFX_A 1 /* lo of the private namespace */
#define IFX_B 1001
#define IFX_C 1002
#define IFX_D 1003
#define IFX_UPLINK 2001
#define SLOT_A 7
#define SLOT_B 8
#define SLOT_C 9
#define SLOT_D 10
#define SLOT_NONE 0 /* traffic berth cannot attribute */
#define NET_1 1
#define NET_2 2
#define NET_GONE 3 /* never written: a network the endpoint refers to but that is gone */

/* Policy identities (services) of the endpoints, in the rows that give them one. */
#define ID_API 102 /* A */
#define ID_WEB 101 /* B */
#define ID_DB  103 /* D: the guarded service */
#define POLICY_REV 5

/* berth_cfg_v1's SNAT source-port range */
#define NAT_PORT_MIN 61000
#define NAT_PORT_MAX 61099

#define ETHERTYPE_IP   0x0800
#define ETHERTYPE_ARP  0x0806
#define ETHERTYPE_VLAN 0x8100
#define ETHERTYPE_IPV6 0x86dd

/*
 * Byte builders. An argument that is itself a list (a MAC, an address) must
 * not be handed on to a second macro, so each builder writes its lists itself.
 */
#define BE16(v)		   (((v) >> 8) & 0xff), ((v) & 0xff)
#define ETH(dst, src, type) dst, src, BE16(type)
#define ARP_HDR(htype, ptype, hlen, plen, op) BE16(htype), BE16(ptype), hlen, plen, BE16(op)
#define ARP(op, sha, spa, tha, tpa) ARP_HDR(1, ETHERTYPE_IP, 6, 4, op), sha, spa, tha, tpa

/*
 * IPv4 headers with their checksum zero: a row that needs checksums (.csum)
 * has the harness compute them, in the frame in and in the frame expected out.
 * IP4_OPT carries four NOP options (ihl 6).
 */
#define IP4(tot_len, frag, ttl, proto, src, dst) 0x45, 0x00, BE16(tot_len), BE16(0x0b0b), \
			   BE16(frag), ttl, proto, 0x00, 0x00, src, dst
#define IP4_OPT(tot_len, frag, ttl, proto, src, dst) 0x46, 0x00, BE16(tot_len), BE16(0x0b0b), \
			   BE16(frag), ttl, proto, 0x00, 0x00, src, dst, 0x01, 0x01, 0x01, 0x01
#define IP_MF_BIT  0x2000
/* 20 bytes of TCP: seq 0x1000, ack 0x2000, no options; flags as byte 13 (BERTH_TCP_*) */
#define TCP(sport, dport, flags) BE16(sport), BE16(dport), 0x00, 0x00, 0x10, 0x00, \
			   0x00, 0x00, 0x20, 0x00, 0x50, flags, BE16(64240), 0x00, 0x00, 0x00, 0x00
#define UDP(sport, dport, len) BE16(sport), BE16(dport), BE16(len), 0x00, 0x00
#define ICMP_ECHO_HDR(type, id, seq) type, 0x00, 0x00, 0x00, BE16(id), BE16(seq)
/* an ICMP error's header: the last two bytes are the next-hop MTU of "fragmentation needed" */
#define ICMP_ERR_HDR(type, code, mtu) type, code, 0x00, 0x00, 0x00, 0x00, BE16(mtu)
#define PAYLOAD4   'b', 'e', 'r', 't'
/* fe80::src_last → ff02::dst_last, no payload */
#define IPV6_HDR(src_last, dst_last) 0x60, 0, 0, 0, BE16(0), 59, 255, \
			   0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, src_last, \
			   0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, dst_last

static inline const char *verdict_name(int v)
{
	switch (v) {
	case TC_ACT_OK: return "TC_ACT_OK";
	case TC_ACT_SHOT: return "TC_ACT_SHOT";
	case TC_ACT_REDIRECT: return "TC_ACT_REDIRECT";
	default: return "TC_ACT_?";
	}
}

#endif
