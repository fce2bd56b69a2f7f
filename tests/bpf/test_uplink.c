// SPDX-License-Identifier: GPL-2.0-only
/*
 * berth_tc_uplink_ingress through BPF_PROG_TEST_RUN, one table row per case:
 * { name, setup, packet in, verdict, packet out, redirect, counter, flows }.
 * The runner, the checks and the namespace the programs run in: harness.h.
 *
 * Packets come in on up0 (ifindex 2001), the uplink, from its next hop:
 *
 *   outside 93.184.216.34 ── next hop 192.0.2.254 ── up0 192.0.2.1 (the masquerade address)
 *                                                      berth: net 1 10.0.1.0/24 (A 10.0.1.2
 *                                                      behind lo, ifindex 1, slot 7),
 *                                                      net 2 10.0.2.0/24
 *
 * A row starts with one masqueraded flow of A (.flow: its conntrack and NAT
 * entries, as the endpoint program writes them), or opens it through the
 * endpoint program (end to end, with the range cut to port 61000):
 *
 *   tcp   10.0.1.2:40000 → 93.184.216.34:80   on the wire from 192.0.2.1:61000
 *   udp   10.0.1.2:40001 → 93.184.216.34:53   from 192.0.2.1:61001
 *   icmp  10.0.1.2 echo id 0x1234             from 192.0.2.1, echo id 61002
 *
 * What berth does not translate or drop is the host's own traffic: it passes
 * as it came (TC_ACT_OK) and nothing is counted.
 */
#include "harness.h"

#define ON_UPLINK     .prog = PROG_UPLINK, .ifindex = IFX_UPLINK
#define INTO_A	      REDIRECT_PEER(IFX_A)
#define REPLY_NATTED  .slot = SLOT_A, .reason = BERTH_PASS_RNAT
#define ICMP_NATTED   .slot = SLOT_A, .reason = BERTH_PASS_ICMP_ERROR
#define WIRE_DROP(r)  DROP_ON(BERTH_SLOT_UPLINK, r)

#define FLOW_TCP(st)                                                                              \
	.flow = { .key = TUPLE(TCP_P, IP_A, IP_OUT, 40000, 80), .state = (st),                    \
		  .flags = BERTH_CT_SNAT, .nat_port = NAT_PORT_MIN }
#define FLOW_UDP                                                                                  \
	.flow = { .key = TUPLE(UDP_P, IP_A, IP_OUT, 40001, 53), .flags = BERTH_CT_SNAT,           \
		  .nat_port = NAT_PORT_MIN + 1 }
#define FLOW_ICMP                                                                                 \
	.flow = { .key = TUPLE(ICMP_P, IP_A, IP_OUT, 0x1234, 0), .flags = BERTH_CT_SNAT,          \
		  .nat_port = NAT_PORT_MIN + 2 }

/* The flow after the row: still one, with its NAT entry, in @st with @fl. */
#define CT_TCP(st, fl)                                                                            \
	.ct_n = 1, .nat_n = 1,                                                                    \
	.ct = { .key = TUPLE(TCP_P, IP_A, IP_OUT, 40000, 80), .state = (st), .flags = (fl),       \
		.nat_port = NAT_PORT_MIN }
#define CT_UDP(fl)                                                                                \
	.ct_n = 1, .nat_n = 1,                                                                    \
	.ct = { .key = TUPLE(UDP_P, IP_A, IP_OUT, 40001, 53), .flags = (fl),                      \
		.nat_port = NAT_PORT_MIN + 1 }
#define CT_ICMP(fl)                                                                               \
	.ct_n = 1, .nat_n = 1,                                                                    \
	.ct = { .key = TUPLE(ICMP_P, IP_A, IP_OUT, 0x1234, 0), .flags = (fl),                     \
		.nat_port = NAT_PORT_MIN + 2 }
#define SNAT_SEEN (BERTH_CT_SNAT | BERTH_CT_SEEN_REPLY)

/* A's UDP and ICMP echo, as packets before the row's (end to end) */
#define PRE_A_UDP                                                                                 \
	PRE(IFX_A, TC_ACT_REDIRECT, FROM_A_TO_GW, IP4(32, 0, 64, UDP_P, IP_A, IP_OUT),           \
	    UDP(40001, 53, 12), PAYLOAD4)
#define PRE_A_PING                                                                                \
	PRE(IFX_A, TC_ACT_REDIRECT, FROM_A_TO_GW, IP4(32, 0, 64, ICMP_P, IP_A, IP_OUT),          \
	    ICMP_ECHO_HDR(8, 0x1234, 1), PAYLOAD4)

/* The agent's GC took the flow a moment ago; its NAT entry is next. */
static void ct_forget(void)
{
	map_clear(skel->maps.berth_ct_v1);
}

/*
 * A NAT entry left over from the TCP flow's earlier life on another port
 * (an agent that died mid-GC): it still names the flow, whose port is now
 * NAT_PORT_MIN.
 */
static void nat_stale(void)
{
	static const struct tuple flow = TUPLE(TCP_P, IP_A, IP_OUT, 40000, 80),
				  stale = TUPLE(TCP_P, IP_OUT, IP_UPLINK, 80, NAT_PORT_MIN + 5);
	struct berth_ct_key k;
	struct berth_nat v;

	ct_key_of(&k, &stale);
	ct_key_of(&v.ct, &flow);
	assert_int_equal(bpf_map_update_elem(map_fd(skel->maps.berth_nat_v1), &k, &v, BPF_ANY), 0);
}

static const struct row rows[] = {
	/* replies of masqueraded flows: back to the endpoint's address and port, into it */
	{ "reply nat: tcp SYN-ACK to uplink:61000: to A:40000, TTL 63, A's MACs, into A; the flow "
	  "SYN_RECV, its reply seen",
	  .cfg = CFG_UPLINK, FLOW_TCP(BERTH_CT_SYN_SENT), ON_UPLINK,
	  PKT(FROM_WIRE, IP4(40, 0, 64, TCP_P, IP_OUT, IP_UPLINK), TCP(80, NAT_PORT_MIN, SYNACK)),
	  .csum = CSUM_ALL,
	  OUT(TO_A, IP4(40, 0, 63, TCP_P, IP_OUT, IP_A), TCP(80, 40000, SYNACK)),
	  INTO_A, REPLY_NATTED, CT_TCP(BERTH_CT_SYN_RECV, SNAT_SEEN) },
	{ "reply nat: tcp FIN of an established flow: translated, the flow FIN_WAIT",
	  .cfg = CFG_UPLINK, FLOW_TCP(BERTH_CT_ESTABLISHED), ON_UPLINK,
	  PKT(FROM_WIRE, IP4(40, 0, 64, TCP_P, IP_OUT, IP_UPLINK),
	      TCP(80, NAT_PORT_MIN, BERTH_TCP_FIN | ACK)),
	  .csum = CSUM_ALL,
	  OUT(TO_A, IP4(40, 0, 63, TCP_P, IP_OUT, IP_A), TCP(80, 40000, BERTH_TCP_FIN | ACK)),
	  INTO_A, REPLY_NATTED,
	  CT_TCP(BERTH_CT_FIN_WAIT, SNAT_SEEN | BERTH_CT_FIN_REPLY) },
	{ "reply nat: udp with a checksum: to A:40001, the checksum kept right",
	  .cfg = CFG_UPLINK, FLOW_UDP, ON_UPLINK,
	  PKT(FROM_WIRE, IP4(32, 0, 64, UDP_P, IP_OUT, IP_UPLINK), UDP(53, NAT_PORT_MIN + 1, 12),
	      PAYLOAD4),
	  .csum = CSUM_ALL,
	  OUT(TO_A, IP4(32, 0, 63, UDP_P, IP_OUT, IP_A), UDP(53, 40001, 12), PAYLOAD4),
	  INTO_A, REPLY_NATTED, CT_UDP(SNAT_SEEN) },
	{ "reply nat: udp without a checksum: to A:40001, the checksum stays 0",
	  .cfg = CFG_UPLINK, FLOW_UDP, ON_UPLINK,
	  PKT(FROM_WIRE, IP4(32, 0, 64, UDP_P, IP_OUT, IP_UPLINK), UDP(53, NAT_PORT_MIN + 1, 12),
	      PAYLOAD4),
	  .csum = CSUM_IP,
	  OUT(TO_A, IP4(32, 0, 63, UDP_P, IP_OUT, IP_A), UDP(53, 40001, 12), PAYLOAD4),
	  INTO_A, REPLY_NATTED, CT_UDP(SNAT_SEEN) },
	{ "reply nat: icmp echo reply to id 61002: to A, id 0x1234",
	  .cfg = CFG_UPLINK, FLOW_ICMP, ON_UPLINK,
	  PKT(FROM_WIRE, IP4(32, 0, 64, ICMP_P, IP_OUT, IP_UPLINK),
	      ICMP_ECHO_HDR(0, NAT_PORT_MIN + 2, 1), PAYLOAD4),
	  .csum = CSUM_ALL,
	  OUT(TO_A, IP4(32, 0, 63, ICMP_P, IP_OUT, IP_A), ICMP_ECHO_HDR(0, 0x1234, 1), PAYLOAD4),
	  INTO_A, REPLY_NATTED, CT_ICMP(SNAT_SEEN) },
	{ "reply nat: ip options (ihl 6): the port found at offset 38, checksums right",
	  .cfg = CFG_UPLINK, FLOW_TCP(BERTH_CT_SYN_SENT), ON_UPLINK,
	  PKT(FROM_WIRE, IP4_OPT(44, 0, 64, TCP_P, IP_OUT, IP_UPLINK), TCP(80, NAT_PORT_MIN, ACK)),
	  .csum = CSUM_ALL,
	  OUT(TO_A, IP4_OPT(44, 0, 63, TCP_P, IP_OUT, IP_A), TCP(80, 40000, ACK)),
	  INTO_A, REPLY_NATTED, CT_TCP(BERTH_CT_SYN_SENT, SNAT_SEEN) },

	/* ICMP errors quoting a masqueraded packet: outer destination, quoted source and port */
	{ "icmp error: port unreachable quoting A's udp: to A, quoted source A:40001, the three "
	  "checksums right",
	  .cfg = CFG_UPLINK, FLOW_UDP, ON_UPLINK,
	  PKT(FROM_WIRE, IP4(56, 0, 64, ICMP_P, IP_OUT, IP_UPLINK), ICMP_ERR_HDR(3, 3, 0),
	      IP4(32, 0, 62, UDP_P, IP_UPLINK, IP_OUT), BE16(NAT_PORT_MIN + 1), BE16(53), BE16(12),
	      BE16(0xbeef)),
	  .csum = CSUM_ALL,
	  OUT(TO_A, IP4(56, 0, 63, ICMP_P, IP_OUT, IP_A), ICMP_ERR_HDR(3, 3, 0),
	      IP4(32, 0, 62, UDP_P, IP_A, IP_OUT), BE16(40001), BE16(53), BE16(12), BE16(0xbeef)),
	  INTO_A, ICMP_NATTED, CT_UDP(BERTH_CT_SNAT) },
	{ "icmp error: fragmentation needed (mtu 1400) quoting A's tcp: to A, quoted A:40000",
	  .cfg = CFG_UPLINK, FLOW_TCP(BERTH_CT_ESTABLISHED), ON_UPLINK,
	  PKT(FROM_WIRE, IP4(56, 0, 64, ICMP_P, IP_NEXTHOP, IP_UPLINK), ICMP_ERR_HDR(3, 4, 1400),
	      IP4(1500, 0x4000, 62, TCP_P, IP_UPLINK, IP_OUT), BE16(NAT_PORT_MIN), BE16(80),
	      0x00, 0x00, 0x10, 0x00),
	  .csum = CSUM_ALL,
	  OUT(TO_A, IP4(56, 0, 63, ICMP_P, IP_NEXTHOP, IP_A), ICMP_ERR_HDR(3, 4, 1400),
	      IP4(1500, 0x4000, 62, TCP_P, IP_A, IP_OUT), BE16(40000), BE16(80),
	      0x00, 0x00, 0x10, 0x00),
	  INTO_A, ICMP_NATTED, CT_TCP(BERTH_CT_ESTABLISHED, BERTH_CT_SNAT) },
	{ "icmp error: time exceeded quoting A's echo request: to A, quoted id 0x1234",
	  .cfg = CFG_UPLINK, FLOW_ICMP, ON_UPLINK,
	  PKT(FROM_WIRE, IP4(56, 0, 64, ICMP_P, IP_NEXTHOP, IP_UPLINK), ICMP_ERR_HDR(11, 0, 0),
	      IP4(32, 0, 1, ICMP_P, IP_UPLINK, IP_OUT), ICMP_ECHO_HDR(8, NAT_PORT_MIN + 2, 1)),
	  .csum = CSUM_ALL,
	  OUT(TO_A, IP4(56, 0, 63, ICMP_P, IP_NEXTHOP, IP_A), ICMP_ERR_HDR(11, 0, 0),
	      IP4(32, 0, 1, ICMP_P, IP_A, IP_OUT), ICMP_ECHO_HDR(8, 0x1234, 1)),
	  INTO_A, ICMP_NATTED, CT_ICMP(BERTH_CT_SNAT) },
	{ "icmp error quoting a packet of no flow of berth's (the host's own): untouched",
	  .cfg = CFG_UPLINK, FLOW_UDP, ON_UPLINK,
	  PKT(FROM_WIRE, IP4(56, 0, 64, ICMP_P, IP_OUT, IP_UPLINK), ICMP_ERR_HDR(3, 3, 0),
	      IP4(32, 0, 62, UDP_P, IP_UPLINK, IP_OUT), BE16(50000), BE16(53), BE16(12),
	      BE16(0xbeef)),
	  .csum = CSUM_ALL,
	  HOST_OWN, CT_UDP(BERTH_CT_SNAT) },
	{ "icmp error whose quote is cut short (4 bytes of udp): untouched",
	  .cfg = CFG_UPLINK, FLOW_UDP, ON_UPLINK,
	  PKT(FROM_WIRE, IP4(52, 0, 64, ICMP_P, IP_OUT, IP_UPLINK), ICMP_ERR_HDR(3, 3, 0),
	      IP4(32, 0, 62, UDP_P, IP_UPLINK, IP_OUT), BE16(NAT_PORT_MIN + 1), BE16(53)),
	  .csum = CSUM_ALL,
	  HOST_OWN, CT_UDP(BERTH_CT_SNAT) },

	/* the host's own traffic: untouched, not counted */
	{ "tcp SYN to the uplink's address, port 22 (the host's ssh): untouched, not counted",
	  .cfg = CFG_UPLINK, FLOW_TCP(BERTH_CT_SYN_SENT), ON_UPLINK,
	  PKT(FROM_WIRE, IP4(40, 0, 64, TCP_P, IP_OUT, IP_UPLINK), TCP(50000, 22, SYN)),
	  .csum = CSUM_ALL,
	  HOST_OWN, CT_TCP(BERTH_CT_SYN_SENT, BERTH_CT_SNAT) },
	{ "to uplink:61000 from another remote address (no NAT entry for it): untouched",
	  .cfg = CFG_UPLINK, FLOW_TCP(BERTH_CT_SYN_SENT), ON_UPLINK,
	  PKT(FROM_WIRE, IP4(40, 0, 64, TCP_P, IP_NONEIGH, IP_UPLINK),
	      TCP(80, NAT_PORT_MIN, SYNACK)),
	  .csum = CSUM_ALL,
	  HOST_OWN, CT_TCP(BERTH_CT_SYN_SENT, BERTH_CT_SNAT) },
	{ "to uplink:61000, a NAT entry whose flow the GC just took: untouched",
	  .cfg = CFG_UPLINK, FLOW_TCP(BERTH_CT_SYN_SENT), .prepare = ct_forget, ON_UPLINK,
	  PKT(FROM_WIRE, IP4(40, 0, 64, TCP_P, IP_OUT, IP_UPLINK), TCP(80, NAT_PORT_MIN, SYNACK)),
	  .csum = CSUM_ALL,
	  HOST_OWN, .nat_n = 1 },
	{ "to uplink:61005, a stale NAT entry naming a flow now on 61000: untouched, entry removed",
	  .cfg = CFG_UPLINK, FLOW_TCP(BERTH_CT_ESTABLISHED), .prepare = nat_stale, ON_UPLINK,
	  PKT(FROM_WIRE, IP4(40, 0, 64, TCP_P, IP_OUT, IP_UPLINK),
	      TCP(80, NAT_PORT_MIN + 5, ACK)),
	  .csum = CSUM_ALL,
	  HOST_OWN, CT_TCP(BERTH_CT_ESTABLISHED, BERTH_CT_SNAT) },
	{ "to an address that is not the uplink's (the host routes it): untouched",
	  .cfg = CFG_UPLINK, FLOW_TCP(BERTH_CT_SYN_SENT), ON_UPLINK,
	  PKT(FROM_WIRE, IP4(40, 0, 64, TCP_P, IP_OUT, IP_NONEIGH), TCP(80, NAT_PORT_MIN, SYNACK)),
	  .csum = CSUM_ALL,
	  HOST_OWN, CT_TCP(BERTH_CT_SYN_SENT, BERTH_CT_SNAT) },
	{ "no uplink in berth_cfg_v1: a reply-shaped packet: untouched",
	  FLOW_TCP(BERTH_CT_SYN_SENT), ON_UPLINK,
	  PKT(FROM_WIRE, IP4(40, 0, 64, TCP_P, IP_OUT, IP_UPLINK), TCP(80, NAT_PORT_MIN, SYNACK)),
	  .csum = CSUM_ALL,
	  HOST_OWN, CT_TCP(BERTH_CT_SYN_SENT, BERTH_CT_SNAT) },
	{ "arp request for the uplink's address: untouched",
	  .cfg = CFG_UPLINK, ON_UPLINK,
	  PKT(ETH(MAC_BCAST, MAC_NEXTHOP, ETHERTYPE_ARP),
	      ARP(1, MAC_NEXTHOP, IP_NEXTHOP, MAC_ZERO, IP_UPLINK)),
	  HOST_OWN },
	{ "ipv6: untouched",
	  .cfg = CFG_UPLINK, ON_UPLINK,
	  PKT(ETH(MAC_V6MC, MAC_NEXTHOP, ETHERTYPE_IPV6), IPV6_HDR(0xfe, 0x01)),
	  HOST_OWN },
	{ "802.1Q tagged ipv4 to 127.0.0.1: untouched (the host has no VLAN there)",
	  .cfg = CFG_UPLINK, ON_UPLINK,
	  PKT(ETH(MAC_UPLINK, MAC_NEXTHOP, ETHERTYPE_VLAN), BE16(10), BE16(ETHERTYPE_IP),
	      IP4(40, 0, 64, TCP_P, IP_OUT, IP_LOOP), TCP(80, 22, SYN)),
	  HOST_OWN },

	/* wire traffic berth refuses */
	{ "to 127.0.0.1: WIRE_LOOPBACK on the uplink's slot",
	  .cfg = CFG_UPLINK, ON_UPLINK,
	  PKT(FROM_WIRE, IP4(40, 0, 64, TCP_P, IP_OUT, IP_LOOP), TCP(50000, 22, SYN)),
	  .csum = CSUM_ALL,
	  WIRE_DROP(BERTH_DROP_WIRE_LOOPBACK) },
	{ "to 127.1.2.3: WIRE_LOOPBACK",
	  .cfg = CFG_UPLINK, ON_UPLINK,
	  PKT(FROM_WIRE, IP4(28, 0, 64, UDP_P, IP_OUT, IP_LOOP2), UDP(50000, 53, 8)),
	  .csum = CSUM_ALL,
	  WIRE_DROP(BERTH_DROP_WIRE_LOOPBACK) },
	{ "to 127.0.0.1 with no uplink in berth_cfg_v1: WIRE_LOOPBACK still",
	  ON_UPLINK,
	  PKT(FROM_WIRE, IP4(40, 0, 64, TCP_P, IP_OUT, IP_LOOP), TCP(50000, 22, SYN)),
	  .csum = CSUM_ALL,
	  WIRE_DROP(BERTH_DROP_WIRE_LOOPBACK) },
	{ "to A's address: WIRE_ENDPOINT",
	  .cfg = CFG_UPLINK, ON_UPLINK,
	  PKT(FROM_WIRE, IP4(40, 0, 64, TCP_P, IP_OUT, IP_A), TCP(50000, 80, SYN)),
	  .csum = CSUM_ALL,
	  WIRE_DROP(BERTH_DROP_WIRE_ENDPOINT) },
	{ "to net 1's gateway: WIRE_ENDPOINT",
	  .cfg = CFG_UPLINK, ON_UPLINK,
	  PKT(FROM_WIRE, IP4(40, 0, 64, TCP_P, IP_OUT, IP_GW1), TCP(50000, 80, SYN)),
	  .csum = CSUM_ALL,
	  WIRE_DROP(BERTH_DROP_WIRE_ENDPOINT) },
	{ "to net 2's subnet, an address nobody holds: WIRE_ENDPOINT",
	  .cfg = CFG_UPLINK, ON_UPLINK,
	  PKT(FROM_WIRE, IP4(40, 0, 64, TCP_P, IP_OUT, IP_NOBODY2), TCP(50000, 80, SYN)),
	  .csum = CSUM_ALL,
	  WIRE_DROP(BERTH_DROP_WIRE_ENDPOINT) },
	{ "a fragment to A's address: WIRE_ENDPOINT",
	  .cfg = CFG_UPLINK, ON_UPLINK,
	  PKT(FROM_WIRE, IP4(28, 185, 64, UDP_P, IP_OUT, IP_A), PAYLOAD4, PAYLOAD4),
	  .csum = CSUM_ALL,
	  WIRE_DROP(BERTH_DROP_WIRE_ENDPOINT) },

	/* what berth cannot parse: the host's stack judges it */
	/* the wire drops hold for headers berth cannot parse: the address is read on its own */
	{ "ipv4 ihl 4 to 127.0.0.1: WIRE_LOOPBACK all the same",
	  .cfg = CFG_UPLINK, ON_UPLINK,
	  PKT(FROM_WIRE, 0x44, 0x00, BE16(20), 0x00, 0x00, 0x00, 0x00, 64, 17, 0x00, 0x00,
	      IP_OUT, IP_LOOP),
	  WIRE_DROP(BERTH_DROP_WIRE_LOOPBACK) },
	{ "ipv4 ihl 15 with only 20 bytes of header, to A: WIRE_ENDPOINT all the same",
	  .cfg = CFG_UPLINK, ON_UPLINK,
	  PKT(FROM_WIRE, 0x4f, 0x00, BE16(60), 0x00, 0x00, 0x00, 0x00, 64, 17, 0x00, 0x00,
	      IP_OUT, IP_A),
	  WIRE_DROP(BERTH_DROP_WIRE_ENDPOINT) },
	{ "ipv4 ihl 15 with only 20 bytes of header, to the uplink: untouched",
	  .cfg = CFG_UPLINK, ON_UPLINK,
	  PKT(FROM_WIRE, 0x4f, 0x00, BE16(60), 0x00, 0x00, 0x00, 0x00, 64, 17, 0x00, 0x00,
	      IP_OUT, IP_UPLINK),
	  HOST_OWN },
	{ "ipv4 tot_len 19, below its header, to 127.0.0.1: WIRE_LOOPBACK all the same",
	  .cfg = CFG_UPLINK, ON_UPLINK,
	  PKT(FROM_WIRE, 0x45, 0x00, BE16(19), 0x00, 0x00, 0x00, 0x00, 64, 17, 0x00, 0x00,
	      IP_OUT, IP_LOOP),
	  WIRE_DROP(BERTH_DROP_WIRE_LOOPBACK) },
	{ "ipv4 ethertype carrying version 6, to 127.0.0.1: WIRE_LOOPBACK all the same",
	  .cfg = CFG_UPLINK, ON_UPLINK,
	  PKT(FROM_WIRE, 0x65, 0x00, BE16(20), 0x00, 0x00, 0x00, 0x00, 64, 17, 0x00, 0x00,
	      IP_OUT, IP_LOOP),
	  WIRE_DROP(BERTH_DROP_WIRE_LOOPBACK) },
	{ "ipv4 ethertype carrying version 6, to the uplink: untouched",
	  .cfg = CFG_UPLINK, ON_UPLINK,
	  PKT(FROM_WIRE, 0x65, 0x00, BE16(20), 0x00, 0x00, 0x00, 0x00, 64, 17, 0x00, 0x00,
	      IP_OUT, IP_UPLINK),
	  HOST_OWN },
	{ "ipv4 header cut to 19 bytes: untouched",
	  .cfg = CFG_UPLINK, ON_UPLINK,
	  PKT(FROM_WIRE, IP4(40, 0, 64, TCP_P, IP_OUT, IP_LOOP), TCP(50000, 22, SYN)),
	  .cut_to = 14 + 19,
	  HOST_OWN },
	{ "a reply's tcp header cut to 10 bytes: untouched, the flow too",
	  .cfg = CFG_UPLINK, FLOW_TCP(BERTH_CT_SYN_SENT), ON_UPLINK,
	  PKT(FROM_WIRE, IP4(40, 0, 64, TCP_P, IP_OUT, IP_UPLINK), TCP(80, NAT_PORT_MIN, SYNACK)),
	  .csum = CSUM_ALL, .cut_to = 14 + 20 + 10,
	  HOST_OWN, CT_TCP(BERTH_CT_SYN_SENT, BERTH_CT_SNAT) },
	{ "an echo reply's icmp header cut to 4 bytes: untouched",
	  .cfg = CFG_UPLINK, FLOW_ICMP, ON_UPLINK,
	  PKT(FROM_WIRE, IP4(28, 0, 64, ICMP_P, IP_OUT, IP_UPLINK),
	      ICMP_ECHO_HDR(0, NAT_PORT_MIN + 2, 1)),
	  .csum = CSUM_ALL, .cut_to = 14 + 20 + 4,
	  HOST_OWN, CT_ICMP(BERTH_CT_SNAT) },

	/* fragments to the uplink's address: berth needs ports, the host reassembles */
	{ "a first fragment (MF) of a reply to uplink:61001: untouched",
	  .cfg = CFG_UPLINK, FLOW_UDP, ON_UPLINK,
	  PKT(FROM_WIRE, IP4(32, IP_MF_BIT, 64, UDP_P, IP_OUT, IP_UPLINK),
	      UDP(53, NAT_PORT_MIN + 1, 2000), PAYLOAD4),
	  .csum = CSUM_ALL,
	  HOST_OWN, CT_UDP(BERTH_CT_SNAT) },
	{ "a later fragment (offset 1480) to the uplink's address: untouched",
	  .cfg = CFG_UPLINK, FLOW_UDP, ON_UPLINK,
	  PKT(FROM_WIRE, IP4(28, 185, 64, UDP_P, IP_OUT, IP_UPLINK), PAYLOAD4, PAYLOAD4),
	  .csum = CSUM_ALL,
	  HOST_OWN, CT_UDP(BERTH_CT_SNAT) },

	/* a reply that cannot be delivered: translated, then dropped (the bytes never leave) */
	{ "reply nat with TTL 1: TTL on the uplink's slot",
	  .cfg = CFG_UPLINK, FLOW_TCP(BERTH_CT_SYN_SENT), ON_UPLINK,
	  PKT(FROM_WIRE, IP4(40, 0, 1, TCP_P, IP_OUT, IP_UPLINK), TCP(80, NAT_PORT_MIN, SYNACK)),
	  .csum = CSUM_ALL, .out_ignored = true,
	  WIRE_DROP(BERTH_DROP_TTL), CT_TCP(BERTH_CT_SYN_RECV, SNAT_SEEN) },
	{ "reply nat to a flow whose endpoint is gone: UNKNOWN_EP on the uplink's slot",
	  .cfg = CFG_UPLINK, ON_UPLINK,
	  .flow = { .key = TUPLE(TCP_P, IP_A, IP_OUT, 40000, 80), .state = BERTH_CT_SYN_SENT,
		    .flags = BERTH_CT_SNAT, .nat_port = NAT_PORT_MIN, .ifindex = 4242 },
	  PKT(FROM_WIRE, IP4(40, 0, 64, TCP_P, IP_OUT, IP_UPLINK), TCP(80, NAT_PORT_MIN, SYNACK)),
	  .csum = CSUM_ALL, .out_ignored = true,
	  WIRE_DROP(BERTH_DROP_UNKNOWN_EP), .ct_n = 1, .nat_n = 1,
	  .ct = { .key = TUPLE(TCP_P, IP_A, IP_OUT, 40000, 80), .state = BERTH_CT_SYN_RECV,
		  .flags = SNAT_SEEN, .nat_port = NAT_PORT_MIN, .ifindex = 4242 } },

	/* end to end: the flow opened by the endpoint program, its reply through the uplink's */
	{ "end to end: A's SYN masqueraded to 61000, the SYN-ACK: into A, the flow SYN_RECV",
	  .cfg = CFG_UPLINK | CFG_ONE_PORT, PRES(PRE_A_SYN), ON_UPLINK,
	  PKT(FROM_WIRE, IP4(40, 0, 64, TCP_P, IP_OUT, IP_UPLINK), TCP(80, NAT_PORT_MIN, SYNACK)),
	  .csum = CSUM_ALL,
	  OUT(TO_A, IP4(40, 0, 63, TCP_P, IP_OUT, IP_A), TCP(80, 40000, SYNACK)),
	  INTO_A, REPLY_NATTED, CT_TCP(BERTH_CT_SYN_RECV, SNAT_SEEN) },
	{ "end to end: A's ping masqueraded to id 61000, the echo reply: into A",
	  .cfg = CFG_UPLINK | CFG_ONE_PORT, PRES(PRE_A_PING), ON_UPLINK,
	  PKT(FROM_WIRE, IP4(32, 0, 64, ICMP_P, IP_OUT, IP_UPLINK),
	      ICMP_ECHO_HDR(0, NAT_PORT_MIN, 1), PAYLOAD4),
	  .csum = CSUM_ALL,
	  OUT(TO_A, IP4(32, 0, 63, ICMP_P, IP_OUT, IP_A), ICMP_ECHO_HDR(0, 0x1234, 1), PAYLOAD4),
	  INTO_A, REPLY_NATTED, .ct_n = 1, .nat_n = 1,
	  .ct = { .key = TUPLE(ICMP_P, IP_A, IP_OUT, 0x1234, 0), .flags = SNAT_SEEN,
		  .nat_port = NAT_PORT_MIN } },
	{ "end to end: A's udp masqueraded to 61000, port unreachable about it: into A",
	  .cfg = CFG_UPLINK | CFG_ONE_PORT, PRES(PRE_A_UDP), ON_UPLINK,
	  PKT(FROM_WIRE, IP4(60, 0, 64, ICMP_P, IP_OUT, IP_UPLINK), ICMP_ERR_HDR(3, 3, 0),
	      IP4(32, 0, 62, UDP_P, IP_UPLINK, IP_OUT), BE16(NAT_PORT_MIN), BE16(53), BE16(12),
	      BE16(0xbeef), PAYLOAD4),
	  .csum = CSUM_ALL,
	  OUT(TO_A, IP4(60, 0, 63, ICMP_P, IP_OUT, IP_A), ICMP_ERR_HDR(3, 3, 0),
	      IP4(32, 0, 62, UDP_P, IP_A, IP_OUT), BE16(40001), BE16(53), BE16(12), BE16(0xbeef),
	      PAYLOAD4),
	  INTO_A, ICMP_NATTED, .ct_n = 1, .nat_n = 1,
	  .ct = { .key = TUPLE(UDP_P, IP_A, IP_OUT, 40001, 53), .flags = BERTH_CT_SNAT,
		  .nat_port = NAT_PORT_MIN } },
};

int main(void)
{
	return harness_main("test_uplink", "bpf uplink", rows, ARRAY_SIZE(rows));
}
