/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The topology that BPF_PROG_TEST_RUN drives the endpoint program through,
 * shared by the BPF test tier and make bench's per-packet cost, so that both
 * describe the same endpoints, addresses and frames.
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

#define IFX_A 1 /* lo of the private namespace */
#define IFX_B 1001
#define IFX_C 1002
#define SLOT_A 7
#define SLOT_B 8
#define SLOT_C 9
#define SLOT_NONE 0 /* traffic berth cannot attribute */
#define NET_1 1
#define NET_2 2
#define NET_GONE 3 /* never written: a network the endpoint refers to but that is gone */

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
