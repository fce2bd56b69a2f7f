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
 *
 * Published ports (.ports, berth_port_v1) take an outside client's packet to
 * an endpoint's address and port, into it, tracked as a BERTH_CT_DNAT flow
 * keyed {client, endpoint, client port, endpoint port} that remembers the
 * address and port the client reached (its replies' source, test_endpoint.c):
 *
 *   tcp   93.184.216.34:50000 → 192.0.2.1:8080   into A 10.0.1.2:80   ("8080:80")
 *   udp   93.184.216.34:50001 → 192.0.2.1:6060   into A 10.0.1.2:6060 ("6060:6060/udp")
 *
 * 192.0.2.2 is another address of the host: a port bound there (host_ip) is
 * reached there only, and a port bound to every address (0) only at the
 * uplink's own address.
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

/* In through a published port: into the endpoint, counted on its slot. */
#define PUBLISHED_IN(sl) .slot = (sl), .reason = BERTH_PASS_DNAT
#define INTO_B		 REDIRECT_PEER(IFX_B)
#define TO_B		 ETH(MAC_B, MAC_HOST, ETHERTYPE_IP)

/* The flow after the row: one, in through host port @np, the endpoint A:@bp. */
#define CT_DNAT_TCP(st, fl, bp, np)                                                               \
	.ct_n = 1,                                                                                \
	.ct = { .key = TUPLE(TCP_P, IP_OUT, IP_A, 50000, bp), .state = (st), .flags = (fl),       \
		.nat_port = (np) }
#define CT_DNAT_UDP(fl)                                                                           \
	.ct_n = 1,                                                                                \
	.ct = { .key = TUPLE(UDP_P, IP_OUT, IP_A, 50001, 6060), .flags = (fl), .nat_port = 6060 }
#define DNAT_SEEN (BERTH_CT_DNAT | BERTH_CT_SEEN_REPLY)

/* "9090-9091:8080-8081": one entry per port of the range */
#define PUB_RANGE                                                                                 \
	PUBLISH(TCP_P, IP_ZERO, 9090, IP_A, 8080, IFX_A, SLOT_A),                                 \
	PUBLISH(TCP_P, IP_ZERO, 9091, IP_A, 8081, IFX_A, SLOT_A)

/* A's SYN-ACK to the client of uplink:8080, through the endpoint program */
#define PRE_A_SYNACK_8080                                                                         \
	PRE(IFX_A, TC_ACT_REDIRECT, FROM_A_TO_GW, IP4(40, 0, 64, TCP_P, IP_A, IP_OUT),           \
	    TCP(80, 50000, SYNACK))

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
	{ "icmp error: fragmentation needed quoting A's reply through uplink:8080: to A, quoted "
	  "A:80 → client, the three checksums right",
	  .cfg = CFG_UPLINK, PORTS(PUB_8080), ON_UPLINK,
	  .flow = { .key = TUPLE(TCP_P, IP_OUT, IP_A, 50000, 80), .state = BERTH_CT_ESTABLISHED,
		    .flags = BERTH_CT_DNAT | BERTH_CT_SEEN_REPLY, .nat_port = 8080 },
	  PKT(FROM_WIRE, IP4(56, 0, 64, ICMP_P, IP_NEXTHOP, IP_UPLINK), ICMP_ERR_HDR(3, 4, 1400),
	      IP4(40, 0x4000, 62, TCP_P, IP_UPLINK, IP_OUT), BE16(8080), BE16(50000), BE16(0),
	      BE16(0)),
	  .csum = CSUM_ALL,
	  OUT(TO_A, IP4(56, 0, 63, ICMP_P, IP_NEXTHOP, IP_A), ICMP_ERR_HDR(3, 4, 1400),
	      IP4(40, 0x4000, 62, TCP_P, IP_A, IP_OUT), BE16(80), BE16(50000), BE16(0), BE16(0)),
	  INTO_A, ICMP_NATTED, .ct_n = 1,
	  .ct = { .key = TUPLE(TCP_P, IP_OUT, IP_A, 50000, 80), .state = BERTH_CT_ESTABLISHED,
		  .flags = BERTH_CT_DNAT | BERTH_CT_SEEN_REPLY, .nat_port = 8080 } },
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

	/*
	 * fragments to the uplink's address: the first carries the ports (and its UDP
	 * checksum covers the whole datagram), the later ones are found by its IP id
	 */
	{ "a first fragment (MF) of a reply to uplink:61001: into A, translated, checksum right",
	  .cfg = CFG_UPLINK, FLOW_UDP, ON_UPLINK,
	  PKT(FROM_WIRE, IP4(32, IP_MF_BIT, 64, UDP_P, IP_OUT, IP_UPLINK),
	      UDP(53, NAT_PORT_MIN + 1, 2000), PAYLOAD4),
	  .csum = CSUM_ALL,
	  OUT(TO_A, IP4(32, IP_MF_BIT, 63, UDP_P, IP_OUT, IP_A), UDP(53, 40001, 2000), PAYLOAD4),
	  INTO_A, REPLY_NATTED, CT_UDP(SNAT_SEEN) },
	{ "its later fragment (offset 1480): into A, the address translated, the payload untouched",
	  .cfg = CFG_UPLINK, FLOW_UDP, ON_UPLINK,
	  PRES(PRE_UP(TC_ACT_REDIRECT, FROM_WIRE, IP4(32, IP_MF_BIT, 64, UDP_P, IP_OUT, IP_UPLINK),
		      UDP(53, NAT_PORT_MIN + 1, 2000), PAYLOAD4)),
	  PKT(FROM_WIRE, IP4(28, 185, 64, UDP_P, IP_OUT, IP_UPLINK), PAYLOAD4, PAYLOAD4),
	  .csum = CSUM_IP,
	  OUT(TO_A, IP4(28, 185, 63, UDP_P, IP_OUT, IP_A), PAYLOAD4, PAYLOAD4),
	  INTO_A, REPLY_NATTED, CT_UDP(SNAT_SEEN) },
	{ "a later fragment whose first was not seen: untouched (the host's to reassemble)",
	  .cfg = CFG_UPLINK, FLOW_UDP, ON_UPLINK,
	  PKT(FROM_WIRE, IP4(28, 185, 64, UDP_P, IP_OUT, IP_UPLINK), PAYLOAD4, PAYLOAD4),
	  .csum = CSUM_IP,
	  HOST_OWN, CT_UDP(BERTH_CT_SNAT) },
	{ "a later fragment of the host's own datagram (no flow): untouched",
	  .cfg = CFG_UPLINK, FLOW_UDP, ON_UPLINK,
	  PRES(PRE_UP(TC_ACT_OK, FROM_WIRE, IP4(32, IP_MF_BIT, 64, UDP_P, IP_OUT, IP_UPLINK),
		      UDP(53, 5353, 2000), PAYLOAD4)),
	  PKT(FROM_WIRE, IP4(28, 185, 64, UDP_P, IP_OUT, IP_UPLINK), PAYLOAD4, PAYLOAD4),
	  .csum = CSUM_IP,
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

	/* published ports: in from the wire, to the endpoint's address and port, into it */
	{ "published: tcp SYN to uplink:8080 (\"8080:80\"): to A:80, TTL 63, A's MACs, into A, "
	  "counted on A's slot; a DNAT flow {client, A, 50000, 80} SYN_SENT, nat uplink:8080",
	  .cfg = CFG_UPLINK, PORTS(PUB_8080), ON_UPLINK,
	  PKT(FROM_WIRE, IP4(40, 0, 64, TCP_P, IP_OUT, IP_UPLINK), TCP(50000, 8080, SYN)),
	  .csum = CSUM_ALL,
	  OUT(TO_A, IP4(40, 0, 63, TCP_P, IP_OUT, IP_A), TCP(50000, 80, SYN)),
	  INTO_A, PUBLISHED_IN(SLOT_A), CT_DNAT_TCP(BERTH_CT_SYN_SENT, BERTH_CT_DNAT, 80, 8080) },
	{ "published: tcp SYN with ip options (ihl 6): the ports found at offset 38, checksums "
	  "right",
	  .cfg = CFG_UPLINK, PORTS(PUB_8080), ON_UPLINK,
	  PKT(FROM_WIRE, IP4_OPT(44, 0, 64, TCP_P, IP_OUT, IP_UPLINK), TCP(50000, 8080, SYN)),
	  .csum = CSUM_ALL,
	  OUT(TO_A, IP4_OPT(44, 0, 63, TCP_P, IP_OUT, IP_A), TCP(50000, 80, SYN)),
	  INTO_A, PUBLISHED_IN(SLOT_A), CT_DNAT_TCP(BERTH_CT_SYN_SENT, BERTH_CT_DNAT, 80, 8080) },
	{ "published: the client's ACK after A's SYN-ACK went out: into A, the flow ESTABLISHED",
	  .cfg = CFG_UPLINK, PORTS(PUB_8080), PRES(PRE_OUT_SYN_8080, PRE_A_SYNACK_8080), ON_UPLINK,
	  PKT(FROM_WIRE, IP4(40, 0, 64, TCP_P, IP_OUT, IP_UPLINK), TCP(50000, 8080, ACK)),
	  .csum = CSUM_ALL,
	  OUT(TO_A, IP4(40, 0, 63, TCP_P, IP_OUT, IP_A), TCP(50000, 80, ACK)),
	  INTO_A, PUBLISHED_IN(SLOT_A), CT_DNAT_TCP(BERTH_CT_ESTABLISHED, DNAT_SEEN, 80, 8080) },
	{ "published: a port published on B: into B, counted on B's slot, the flow B's",
	  .cfg = CFG_UPLINK, PORTS(PUBLISH(TCP_P, IP_ZERO, 8080, IP_B, 80, IFX_B, SLOT_B)),
	  ON_UPLINK,
	  PKT(FROM_WIRE, IP4(40, 0, 64, TCP_P, IP_OUT, IP_UPLINK), TCP(50000, 8080, SYN)),
	  .csum = CSUM_ALL,
	  OUT(TO_B, IP4(40, 0, 63, TCP_P, IP_OUT, IP_B), TCP(50000, 80, SYN)),
	  INTO_B, PUBLISHED_IN(SLOT_B), .ct_n = 1,
	  .ct = { .key = TUPLE(TCP_P, IP_OUT, IP_B, 50000, 80), .state = BERTH_CT_SYN_SENT,
		  .flags = BERTH_CT_DNAT, .nat_port = 8080, .ifindex = IFX_B, .slot = SLOT_B } },
	{ "published: the same host and container port (\"8080:8080\"): only the address changes",
	  .cfg = CFG_UPLINK, PORTS(PUBLISH(TCP_P, IP_ZERO, 8080, IP_A, 8080, IFX_A, SLOT_A)),
	  ON_UPLINK,
	  PKT(FROM_WIRE, IP4(40, 0, 64, TCP_P, IP_OUT, IP_UPLINK), TCP(50000, 8080, SYN)),
	  .csum = CSUM_ALL,
	  OUT(TO_A, IP4(40, 0, 63, TCP_P, IP_OUT, IP_A), TCP(50000, 8080, SYN)),
	  INTO_A, PUBLISHED_IN(SLOT_A), CT_DNAT_TCP(BERTH_CT_SYN_SENT, BERTH_CT_DNAT, 8080, 8080) },

	/* a port range: one entry per port */
	{ "published range 9090-9091:8080-8081: uplink:9090 → A:8080",
	  .cfg = CFG_UPLINK, PORTS(PUB_RANGE), ON_UPLINK,
	  PKT(FROM_WIRE, IP4(40, 0, 64, TCP_P, IP_OUT, IP_UPLINK), TCP(50000, 9090, SYN)),
	  .csum = CSUM_ALL,
	  OUT(TO_A, IP4(40, 0, 63, TCP_P, IP_OUT, IP_A), TCP(50000, 8080, SYN)),
	  INTO_A, PUBLISHED_IN(SLOT_A),
	  CT_DNAT_TCP(BERTH_CT_SYN_SENT, BERTH_CT_DNAT, 8080, 9090) },
	{ "published range: after 9090's SYN, uplink:9091 → A:8081, a second flow",
	  .cfg = CFG_UPLINK, PORTS(PUB_RANGE),
	  PRES(PRE_UP(TC_ACT_REDIRECT, FROM_WIRE, IP4(40, 0, 64, TCP_P, IP_OUT, IP_UPLINK),
		      TCP(50000, 9090, SYN))),
	  ON_UPLINK,
	  PKT(FROM_WIRE, IP4(40, 0, 64, TCP_P, IP_OUT, IP_UPLINK), TCP(50000, 9091, SYN)),
	  .csum = CSUM_ALL,
	  OUT(TO_A, IP4(40, 0, 63, TCP_P, IP_OUT, IP_A), TCP(50000, 8081, SYN)),
	  INTO_A, PUBLISHED_IN(SLOT_A), .ct_n = 2,
	  .ct = { .key = TUPLE(TCP_P, IP_OUT, IP_A, 50000, 8081), .state = BERTH_CT_SYN_SENT,
		  .flags = BERTH_CT_DNAT, .nat_port = 9091 } },
	{ "published range: uplink:9092, past its end: untouched",
	  .cfg = CFG_UPLINK, PORTS(PUB_RANGE), ON_UPLINK,
	  PKT(FROM_WIRE, IP4(40, 0, 64, TCP_P, IP_OUT, IP_UPLINK), TCP(50000, 9092, SYN)),
	  .csum = CSUM_ALL,
	  HOST_OWN },

	/* UDP */
	{ "published udp 6060 with a checksum: to A:6060, the checksum kept right; a DNAT flow",
	  .cfg = CFG_UPLINK, PORTS(PUB_6060), ON_UPLINK,
	  PKT(FROM_WIRE, IP4(32, 0, 64, UDP_P, IP_OUT, IP_UPLINK), UDP(50001, 6060, 12), PAYLOAD4),
	  .csum = CSUM_ALL,
	  OUT(TO_A, IP4(32, 0, 63, UDP_P, IP_OUT, IP_A), UDP(50001, 6060, 12), PAYLOAD4),
	  INTO_A, PUBLISHED_IN(SLOT_A), CT_DNAT_UDP(BERTH_CT_DNAT) },
	{ "published udp 6060 without a checksum: to A, the checksum stays 0",
	  .cfg = CFG_UPLINK, PORTS(PUB_6060), ON_UPLINK,
	  PKT(FROM_WIRE, IP4(32, 0, 64, UDP_P, IP_OUT, IP_UPLINK), UDP(50001, 6060, 12), PAYLOAD4),
	  .csum = CSUM_IP,
	  OUT(TO_A, IP4(32, 0, 63, UDP_P, IP_OUT, IP_A), UDP(50001, 6060, 12), PAYLOAD4),
	  INTO_A, PUBLISHED_IN(SLOT_A), CT_DNAT_UDP(BERTH_CT_DNAT) },
	{ "published udp whose checksum comes out 0 after the rewrite: sent as 0xffff (0 is none)",
	  .cfg = CFG_UPLINK, PORTS(PUB_6060), ON_UPLINK,
	  PKT(FROM_WIRE, IP4(32, 0, 64, UDP_P, IP_OUT, IP_UPLINK), UDP(50001, 6060, 12),
	      'b', 'e', 0x81, 0x96),
	  .csum = CSUM_ALL,
	  OUT(TO_A, IP4(32, 0, 63, UDP_P, IP_OUT, IP_A), UDP(50001, 6060, 12), 'b', 'e', 0x81,
	      0x96),
	  INTO_A, PUBLISHED_IN(SLOT_A), CT_DNAT_UDP(BERTH_CT_DNAT) },
	{ "published udp 5353 → A:53 with a checksum: port and address changed, checksum right",
	  .cfg = CFG_UPLINK, PORTS(PUBLISH(UDP_P, IP_ZERO, 5353, IP_A, 53, IFX_A, SLOT_A)),
	  ON_UPLINK,
	  PKT(FROM_WIRE, IP4(32, 0, 64, UDP_P, IP_OUT, IP_UPLINK), UDP(50001, 5353, 12), PAYLOAD4),
	  .csum = CSUM_ALL,
	  OUT(TO_A, IP4(32, 0, 63, UDP_P, IP_OUT, IP_A), UDP(50001, 53, 12), PAYLOAD4),
	  INTO_A, PUBLISHED_IN(SLOT_A), .ct_n = 1,
	  .ct = { .key = TUPLE(UDP_P, IP_OUT, IP_A, 50001, 53), .flags = BERTH_CT_DNAT,
		  .nat_port = 5353 } },
	{ "published udp 5353 → A:53 without a checksum: the checksum stays 0",
	  .cfg = CFG_UPLINK, PORTS(PUBLISH(UDP_P, IP_ZERO, 5353, IP_A, 53, IFX_A, SLOT_A)),
	  ON_UPLINK,
	  PKT(FROM_WIRE, IP4(32, 0, 64, UDP_P, IP_OUT, IP_UPLINK), UDP(50001, 5353, 12), PAYLOAD4),
	  .csum = CSUM_IP,
	  OUT(TO_A, IP4(32, 0, 63, UDP_P, IP_OUT, IP_A), UDP(50001, 53, 12), PAYLOAD4),
	  INTO_A, PUBLISHED_IN(SLOT_A), .ct_n = 1,
	  .ct = { .key = TUPLE(UDP_P, IP_OUT, IP_A, 50001, 53), .flags = BERTH_CT_DNAT,
		  .nat_port = 5353 } },
	{ "published udp: the flow's second datagram: into A, the same flow",
	  .cfg = CFG_UPLINK, PORTS(PUB_6060),
	  PRES(PRE_UP(TC_ACT_REDIRECT, FROM_WIRE, IP4(32, 0, 64, UDP_P, IP_OUT, IP_UPLINK),
		      UDP(50001, 6060, 12), PAYLOAD4)),
	  ON_UPLINK,
	  PKT(FROM_WIRE, IP4(32, 0, 64, UDP_P, IP_OUT, IP_UPLINK), UDP(50001, 6060, 12), PAYLOAD4),
	  .csum = CSUM_ALL,
	  OUT(TO_A, IP4(32, 0, 63, UDP_P, IP_OUT, IP_A), UDP(50001, 6060, 12), PAYLOAD4),
	  INTO_A, PUBLISHED_IN(SLOT_A), CT_DNAT_UDP(BERTH_CT_DNAT) },
	{ "published tcp 8080 only: udp to uplink:8080: untouched (the protocol is in the key)",
	  .cfg = CFG_UPLINK, PORTS(PUB_8080), ON_UPLINK,
	  PKT(FROM_WIRE, IP4(32, 0, 64, UDP_P, IP_OUT, IP_UPLINK), UDP(50001, 8080, 12), PAYLOAD4),
	  .csum = CSUM_ALL,
	  HOST_OWN },

	/* host addresses: an exact binding first; "every address" at the uplink's only */
	{ "published on 192.0.2.2:8080 (host_ip) and on every address: to 192.0.2.2:8080, the "
	  "exact one (A), nat 192.0.2.2:8080",
	  .cfg = CFG_UPLINK,
	  PORTS(PUBLISH(TCP_P, IP_ZERO, 8080, IP_B, 80, IFX_B, SLOT_B),
		PUBLISH(TCP_P, IP_UPLINK2, 8080, IP_A, 80, IFX_A, SLOT_A)),
	  ON_UPLINK,
	  PKT(FROM_WIRE, IP4(40, 0, 64, TCP_P, IP_OUT, IP_UPLINK2), TCP(50000, 8080, SYN)),
	  .csum = CSUM_ALL,
	  OUT(TO_A, IP4(40, 0, 63, TCP_P, IP_OUT, IP_A), TCP(50000, 80, SYN)),
	  INTO_A, PUBLISHED_IN(SLOT_A), .ct_n = 1,
	  .ct = { .key = TUPLE(TCP_P, IP_OUT, IP_A, 50000, 80), .state = BERTH_CT_SYN_SENT,
		  .flags = BERTH_CT_DNAT, .nat_port = 8080, .nat_addr = { IP_UPLINK2 } } },
	{ "published on the uplink's address and on every address: to uplink:8080, the exact one",
	  .cfg = CFG_UPLINK,
	  PORTS(PUBLISH(TCP_P, IP_ZERO, 8080, IP_B, 80, IFX_B, SLOT_B),
		PUBLISH(TCP_P, IP_UPLINK, 8080, IP_A, 80, IFX_A, SLOT_A)),
	  ON_UPLINK,
	  PKT(FROM_WIRE, IP4(40, 0, 64, TCP_P, IP_OUT, IP_UPLINK), TCP(50000, 8080, SYN)),
	  .csum = CSUM_ALL,
	  OUT(TO_A, IP4(40, 0, 63, TCP_P, IP_OUT, IP_A), TCP(50000, 80, SYN)),
	  INTO_A, PUBLISHED_IN(SLOT_A), CT_DNAT_TCP(BERTH_CT_SYN_SENT, BERTH_CT_DNAT, 80, 8080) },
	{ "published on every address only: to 192.0.2.2:8080 (another address of the host): "
	  "untouched, 0 stands for the uplink's address",
	  .cfg = CFG_UPLINK, PORTS(PUB_8080), ON_UPLINK,
	  PKT(FROM_WIRE, IP4(40, 0, 64, TCP_P, IP_OUT, IP_UPLINK2), TCP(50000, 8080, SYN)),
	  .csum = CSUM_ALL,
	  HOST_OWN },
	{ "published on 192.0.2.2:8080 only: to uplink:8080: untouched",
	  .cfg = CFG_UPLINK, PORTS(PUBLISH(TCP_P, IP_UPLINK2, 8080, IP_A, 80, IFX_A, SLOT_A)),
	  ON_UPLINK,
	  PKT(FROM_WIRE, IP4(40, 0, 64, TCP_P, IP_OUT, IP_UPLINK), TCP(50000, 8080, SYN)),
	  .csum = CSUM_ALL,
	  HOST_OWN },
	{ "published 127.0.0.1:8081 (\"127.0.0.1:8081:80\"): from the wire to 127.0.0.1:8081: "
	  "WIRE_LOOPBACK, no flow",
	  .cfg = CFG_UPLINK, PORTS(PUBLISH(TCP_P, IP_LOOP, 8081, IP_A, 80, IFX_A, SLOT_A)),
	  ON_UPLINK,
	  PKT(FROM_WIRE, IP4(40, 0, 64, TCP_P, IP_OUT, IP_LOOP), TCP(50000, 8081, SYN)),
	  .csum = CSUM_ALL,
	  WIRE_DROP(BERTH_DROP_WIRE_LOOPBACK) },
	{ "published 127.0.0.1:8081: to uplink:8081: untouched (bound to loopback only)",
	  .cfg = CFG_UPLINK, PORTS(PUBLISH(TCP_P, IP_LOOP, 8081, IP_A, 80, IFX_A, SLOT_A)),
	  ON_UPLINK,
	  PKT(FROM_WIRE, IP4(40, 0, 64, TCP_P, IP_OUT, IP_UPLINK), TCP(50000, 8081, SYN)),
	  .csum = CSUM_ALL,
	  HOST_OWN },
	{ "published on every address, 8081: from the wire to 127.0.0.1:8081: WIRE_LOOPBACK",
	  .cfg = CFG_UPLINK, PORTS(PUBLISH(TCP_P, IP_ZERO, 8081, IP_A, 80, IFX_A, SLOT_A)),
	  ON_UPLINK,
	  PKT(FROM_WIRE, IP4(40, 0, 64, TCP_P, IP_OUT, IP_LOOP), TCP(50000, 8081, SYN)),
	  .csum = CSUM_ALL,
	  WIRE_DROP(BERTH_DROP_WIRE_LOOPBACK) },

	/* ports berth does not publish, and flows it refuses */
	{ "published 6060/udp: from the wire with B's address as its source (spoofed): SPOOF_IP "
	  "on the uplink's slot, nothing delivered, no flow",
	  .cfg = CFG_UPLINK, PORTS(PUB_6060), ON_UPLINK,
	  PKT(FROM_WIRE, IP4(32, 0, 64, UDP_P, IP_B, IP_UPLINK), UDP(50001, 6060, 12), PAYLOAD4),
	  .csum = CSUM_ALL,
	  WIRE_DROP(BERTH_DROP_SPOOF_IP) },
	{ "published 8080: from the wire with 127.0.0.1 as its source (spoofed): SPOOF_IP",
	  .cfg = CFG_UPLINK, PORTS(PUB_8080), ON_UPLINK,
	  PKT(FROM_WIRE, IP4(40, 0, 64, TCP_P, IP_LOOP, IP_UPLINK), TCP(50000, 8080, SYN)),
	  .csum = CSUM_ALL,
	  WIRE_DROP(BERTH_DROP_SPOOF_IP) },
	{ "published 8080: from the wire with net 2's gateway as its source (spoofed): SPOOF_IP",
	  .cfg = CFG_UPLINK, PORTS(PUB_8080), ON_UPLINK,
	  PKT(FROM_WIRE, IP4(40, 0, 64, TCP_P, IP_GW2, IP_UPLINK), TCP(50000, 8080, SYN)),
	  .csum = CSUM_ALL,
	  WIRE_DROP(BERTH_DROP_SPOOF_IP) },
	{ "published 8080: from the wire with the uplink's own address as its source: SPOOF_IP",
	  .cfg = CFG_UPLINK, PORTS(PUB_8080), ON_UPLINK,
	  PKT(FROM_WIRE, IP4(40, 0, 64, TCP_P, IP_UPLINK, IP_UPLINK), TCP(50000, 8080, SYN)),
	  .csum = CSUM_ALL,
	  WIRE_DROP(BERTH_DROP_SPOOF_IP) },
	{ "published 6060/udp: from the wire with a multicast source: SPOOF_IP",
	  .cfg = CFG_UPLINK, PORTS(PUB_6060), ON_UPLINK,
	  PKT(FROM_WIRE, IP4(32, 0, 64, UDP_P, IP_MDNS, IP_UPLINK), UDP(50001, 6060, 12), PAYLOAD4),
	  .csum = CSUM_ALL,
	  WIRE_DROP(BERTH_DROP_SPOOF_IP) },
	{ "published 6060/udp: from the wire with source 0.0.0.0: SPOOF_IP",
	  .cfg = CFG_UPLINK, PORTS(PUB_6060), ON_UPLINK,
	  PKT(FROM_WIRE, IP4(32, 0, 64, UDP_P, IP_ZERO, IP_UPLINK), UDP(50001, 6060, 12), PAYLOAD4),
	  .csum = CSUM_ALL,
	  WIRE_DROP(BERTH_DROP_SPOOF_IP) },
	{ "5353/udp and 6060/udp both to A:6060, the client's tuple already a flow through 6060: "
	  "the datagram to 5353 takes the flow over, its replies then leave from 5353",
	  .cfg = CFG_UPLINK, PORTS(PUB_6060, PUBLISH(UDP_P, IP_ZERO, 5353, IP_A, 6060, IFX_A, SLOT_A)),
	  ON_UPLINK,
	  .flow = { .key = TUPLE(UDP_P, IP_OUT, IP_A, 50001, 6060), .flags = DNAT_SEEN,
		    .nat_port = 6060 },
	  PKT(FROM_WIRE, IP4(32, 0, 64, UDP_P, IP_OUT, IP_UPLINK), UDP(50001, 5353, 12), PAYLOAD4),
	  .csum = CSUM_ALL,
	  OUT(TO_A, IP4(32, 0, 63, UDP_P, IP_OUT, IP_A), UDP(50001, 6060, 12), PAYLOAD4),
	  INTO_A, PUBLISHED_IN(SLOT_A), .ct_n = 1,
	  .ct = { .key = TUPLE(UDP_P, IP_OUT, IP_A, 50001, 6060), .flags = BERTH_CT_DNAT,
		  .nat_port = 5353 } },
	{ "8443 and 8080 both to A:80, the client's tuple a live connection through 8080: a SYN "
	  "to 8443 on it is refused (CT_INVALID), the connection kept",
	  .cfg = CFG_UPLINK, PORTS(PUB_8080, PUBLISH(TCP_P, IP_ZERO, 8443, IP_A, 80, IFX_A, SLOT_A)),
	  ON_UPLINK,
	  .flow = { .key = TUPLE(TCP_P, IP_OUT, IP_A, 50000, 80), .state = BERTH_CT_ESTABLISHED,
		    .flags = DNAT_SEEN, .nat_port = 8080 },
	  PKT(FROM_WIRE, IP4(40, 0, 64, TCP_P, IP_OUT, IP_UPLINK), TCP(50000, 8443, SYN)),
	  .csum = CSUM_ALL,
	  WIRE_DROP(BERTH_DROP_CT_INVALID), .ct_n = 1,
	  .ct = { .key = TUPLE(TCP_P, IP_OUT, IP_A, 50000, 80), .state = BERTH_CT_ESTABLISHED,
		  .flags = DNAT_SEEN, .nat_port = 8080 } },
	{ "published 8080: tcp SYN to uplink:8081 (unknown port): untouched, no flow",
	  .cfg = CFG_UPLINK, PORTS(PUB_8080, PUB_6060), ON_UPLINK,
	  PKT(FROM_WIRE, IP4(40, 0, 64, TCP_P, IP_OUT, IP_UPLINK), TCP(50000, 8081, SYN)),
	  .csum = CSUM_ALL,
	  HOST_OWN },
	{ "published 8080 with no uplink in berth_cfg_v1: untouched",
	  PORTS(PUB_8080), ON_UPLINK,
	  PKT(FROM_WIRE, IP4(40, 0, 64, TCP_P, IP_OUT, IP_UPLINK), TCP(50000, 8080, SYN)),
	  .csum = CSUM_ALL,
	  HOST_OWN },
	{ "published 8080: a RST of no flow: CT_INVALID on the uplink's slot, no flow",
	  .cfg = CFG_UPLINK, PORTS(PUB_8080), ON_UPLINK,
	  PKT(FROM_WIRE, IP4(40, 0, 64, TCP_P, IP_OUT, IP_UPLINK), TCP(50000, 8080, RST)),
	  .csum = CSUM_ALL,
	  WIRE_DROP(BERTH_DROP_CT_INVALID) },
	{ "published 8080: the flow's RST: into A, the flow CLOSE",
	  .cfg = CFG_UPLINK, PORTS(PUB_8080), PRES(PRE_OUT_SYN_8080), ON_UPLINK,
	  PKT(FROM_WIRE, IP4(40, 0, 64, TCP_P, IP_OUT, IP_UPLINK), TCP(50000, 8080, RST)),
	  .csum = CSUM_ALL,
	  OUT(TO_A, IP4(40, 0, 63, TCP_P, IP_OUT, IP_A), TCP(50000, 80, RST)),
	  INTO_A, PUBLISHED_IN(SLOT_A), CT_DNAT_TCP(BERTH_CT_CLOSE, BERTH_CT_DNAT, 80, 8080) },
	{ "published 8080: conntrack full: CT_FULL on the uplink's slot, nothing delivered",
	  .cfg = CFG_UPLINK, PORTS(PUB_8080), .prepare = ct_fill, ON_UPLINK,
	  PKT(FROM_WIRE, IP4(40, 0, 64, TCP_P, IP_OUT, IP_UPLINK), TCP(50000, 8080, SYN)),
	  .csum = CSUM_ALL,
	  WIRE_DROP(BERTH_DROP_CT_FULL), .ct_n = CT_MAX },
	{ "published 8080: conntrack full after the flow began: its next packet still goes in",
	  .cfg = CFG_UPLINK, PORTS(PUB_8080), PRES(PRE_OUT_SYN_8080), .between = ct_fill,
	  ON_UPLINK,
	  PKT(FROM_WIRE, IP4(40, 0, 64, TCP_P, IP_OUT, IP_UPLINK), TCP(50000, 8080, ACK)),
	  .csum = CSUM_ALL,
	  OUT(TO_A, IP4(40, 0, 63, TCP_P, IP_OUT, IP_A), TCP(50000, 80, ACK)),
	  INTO_A, PUBLISHED_IN(SLOT_A), .ct_n = CT_MAX,
	  .ct = { .key = TUPLE(TCP_P, IP_OUT, IP_A, 50000, 80), .state = BERTH_CT_SYN_SENT,
		  .flags = BERTH_CT_DNAT, .nat_port = 8080 } },
	{ "published 8080: the tuple taken by a flow that is not a published one: CT_INVALID",
	  .cfg = CFG_UPLINK, PORTS(PUB_8080), ON_UPLINK,
	  .flow = { .key = TUPLE(TCP_P, IP_OUT, IP_A, 50000, 80), .state = BERTH_CT_ESTABLISHED },
	  PKT(FROM_WIRE, IP4(40, 0, 64, TCP_P, IP_OUT, IP_UPLINK), TCP(50000, 8080, SYN)),
	  .csum = CSUM_ALL,
	  WIRE_DROP(BERTH_DROP_CT_INVALID), .ct_n = 1,
	  .ct = { .key = TUPLE(TCP_P, IP_OUT, IP_A, 50000, 80),
		  .state = BERTH_CT_ESTABLISHED } },
	{ "published 8080 on an endpoint that is gone: UNKNOWN_EP on the uplink's slot",
	  .cfg = CFG_UPLINK, PORTS(PUBLISH(TCP_P, IP_ZERO, 8080, IP_A, 80, 4242, SLOT_A)),
	  ON_UPLINK,
	  PKT(FROM_WIRE, IP4(40, 0, 64, TCP_P, IP_OUT, IP_UPLINK), TCP(50000, 8080, SYN)),
	  .csum = CSUM_ALL, .out_ignored = true,
	  WIRE_DROP(BERTH_DROP_UNKNOWN_EP), .ct_n = 1,
	  .ct = { .key = TUPLE(TCP_P, IP_OUT, IP_A, 50000, 80), .state = BERTH_CT_SYN_SENT,
		  .flags = BERTH_CT_DNAT, .nat_port = 8080, .ifindex = 4242 } },

	/* malformed and cut short: the host's stack judges them */
	{ "published 8080: the SYN's tcp header cut to 10 bytes: untouched, no flow",
	  .cfg = CFG_UPLINK, PORTS(PUB_8080), ON_UPLINK,
	  PKT(FROM_WIRE, IP4(40, 0, 64, TCP_P, IP_OUT, IP_UPLINK), TCP(50000, 8080, SYN)),
	  .csum = CSUM_ALL, .cut_to = 14 + 20 + 10,
	  HOST_OWN },
	{ "published 6060/udp: the udp header cut to 4 bytes: untouched, no flow",
	  .cfg = CFG_UPLINK, PORTS(PUB_6060), ON_UPLINK,
	  PKT(FROM_WIRE, IP4(32, 0, 64, UDP_P, IP_OUT, IP_UPLINK), UDP(50001, 6060, 12), PAYLOAD4),
	  .csum = CSUM_ALL, .cut_to = 14 + 20 + 4,
	  HOST_OWN },
	{ "published 8080: ipv4 ihl 15 with only 20 bytes of header: untouched",
	  .cfg = CFG_UPLINK, PORTS(PUB_8080), ON_UPLINK,
	  PKT(FROM_WIRE, 0x4f, 0x00, BE16(60), 0x00, 0x00, 0x00, 0x00, 64, TCP_P, 0x00, 0x00,
	      IP_OUT, IP_UPLINK, TCP(50000, 8080, SYN)),
	  HOST_OWN },
	{ "published 8080: ipv4 ihl 4: untouched",
	  .cfg = CFG_UPLINK, PORTS(PUB_8080), ON_UPLINK,
	  PKT(FROM_WIRE, 0x44, 0x00, BE16(40), 0x00, 0x00, 0x00, 0x00, 64, TCP_P, 0x00, 0x00,
	      IP_OUT, IP_UPLINK, TCP(50000, 8080, SYN)),
	  HOST_OWN },
	{ "published 6060/udp: a first fragment (MF): into A, the flow made, checksum right",
	  .cfg = CFG_UPLINK, PORTS(PUB_6060), ON_UPLINK,
	  PKT(FROM_WIRE, IP4(32, IP_MF_BIT, 64, UDP_P, IP_OUT, IP_UPLINK),
	      UDP(50001, 6060, 2000), PAYLOAD4),
	  .csum = CSUM_ALL,
	  OUT(TO_A, IP4(32, IP_MF_BIT, 63, UDP_P, IP_OUT, IP_A), UDP(50001, 6060, 2000), PAYLOAD4),
	  INTO_A, PUBLISHED_IN(SLOT_A), CT_DNAT_UDP(BERTH_CT_DNAT) },
	{ "published 6060/udp: its later fragment (offset 1480): into A, the payload untouched",
	  .cfg = CFG_UPLINK, PORTS(PUB_6060), ON_UPLINK,
	  PRES(PRE_UP(TC_ACT_REDIRECT, FROM_WIRE, IP4(32, IP_MF_BIT, 64, UDP_P, IP_OUT, IP_UPLINK),
		      UDP(50001, 6060, 2000), PAYLOAD4)),
	  PKT(FROM_WIRE, IP4(28, 185, 64, UDP_P, IP_OUT, IP_UPLINK), PAYLOAD4, PAYLOAD4),
	  .csum = CSUM_IP,
	  OUT(TO_A, IP4(28, 185, 63, UDP_P, IP_OUT, IP_A), PAYLOAD4, PAYLOAD4),
	  INTO_A, PUBLISHED_IN(SLOT_A), CT_DNAT_UDP(BERTH_CT_DNAT) },
	{ "published 6060/udp: a later fragment whose first was not seen: untouched, no flow",
	  .cfg = CFG_UPLINK, PORTS(PUB_6060), ON_UPLINK,
	  PKT(FROM_WIRE, IP4(28, 185, 64, UDP_P, IP_OUT, IP_UPLINK), PAYLOAD4, PAYLOAD4),
	  .csum = CSUM_IP,
	  HOST_OWN },
	{ "published 8080: TTL 1: TTL on the uplink's slot, nothing delivered",
	  .cfg = CFG_UPLINK, PORTS(PUB_8080), ON_UPLINK,
	  PKT(FROM_WIRE, IP4(40, 0, 1, TCP_P, IP_OUT, IP_UPLINK), TCP(50000, 8080, SYN)),
	  .csum = CSUM_ALL, .out_ignored = true,
	  WIRE_DROP(BERTH_DROP_TTL), CT_DNAT_TCP(BERTH_CT_SYN_SENT, BERTH_CT_DNAT, 80, 8080) },

	/* a masqueraded flow's reply tuple is looked up first (berth_nat_v1), then the ports */
	{ "published 61000 and A's masqueraded flow on 61000: its reply from 93.184.216.34:80 "
	  "goes to A's flow (reply nat), not to the port",
	  .cfg = CFG_UPLINK, FLOW_TCP(BERTH_CT_SYN_SENT),
	  PORTS(PUBLISH(TCP_P, IP_ZERO, NAT_PORT_MIN, IP_D, 80, IFX_D, SLOT_D)), ON_UPLINK,
	  PKT(FROM_WIRE, IP4(40, 0, 64, TCP_P, IP_OUT, IP_UPLINK), TCP(80, NAT_PORT_MIN, SYNACK)),
	  .csum = CSUM_ALL,
	  OUT(TO_A, IP4(40, 0, 63, TCP_P, IP_OUT, IP_A), TCP(80, 40000, SYNACK)),
	  INTO_A, REPLY_NATTED, CT_TCP(BERTH_CT_SYN_RECV, SNAT_SEEN) },
	{ "published 61000 and A's masqueraded flow on 61000: a SYN from another client goes to "
	  "the published port (D)",
	  .cfg = CFG_UPLINK, FLOW_TCP(BERTH_CT_SYN_SENT),
	  PORTS(PUBLISH(TCP_P, IP_ZERO, NAT_PORT_MIN, IP_D, 80, IFX_D, SLOT_D)), ON_UPLINK,
	  PKT(FROM_WIRE, IP4(40, 0, 64, TCP_P, IP_NONEIGH, IP_UPLINK),
	      TCP(50000, NAT_PORT_MIN, SYN)),
	  .csum = CSUM_ALL,
	  OUT(ETH(MAC_D, MAC_HOST, ETHERTYPE_IP), IP4(40, 0, 63, TCP_P, IP_NONEIGH, IP_D),
	      TCP(50000, 80, SYN)),
	  REDIRECT_PEER(IFX_D), PUBLISHED_IN(SLOT_D), .ct_n = 2, .nat_n = 1,
	  .ct = { .key = TUPLE(TCP_P, IP_NONEIGH, IP_D, 50000, 80), .state = BERTH_CT_SYN_SENT,
		  .flags = BERTH_CT_DNAT, .nat_port = NAT_PORT_MIN, .ifindex = IFX_D,
		  .slot = SLOT_D } },

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
