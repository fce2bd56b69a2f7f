/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Verdict reasons, counted per (endpoint slot, reason) in berth_cnt_v1.
 * BPF helpers return >= 0 to go on or -BERTH_DROP_*; the values stay clear
 * of TC_ACT_* (-1..8) and XDP_* (0..4). Append only: the numbers are ABI
 * for bpftool readers and `berth stats`.
 */
#ifndef BERTH_DROP_H
#define BERTH_DROP_H

enum berth_reason {
	BERTH_REASON_NONE = 0,
	/* passed */
	BERTH_PASS_FORWARD = 1,		/* redirected to a peer on the same network */
	BERTH_PASS_ARP_REPLY = 2,	/* ARP request answered by BPF */
	BERTH_PASS_STACK = 3,		/* handed to the host stack (to the gateway or beyond) */
	BERTH_PASS_ARP_STACK = 4,	/* ARP reply to the host's own request */
	BERTH_PASS_SNAT = 5,		/* masqueraded to the uplink address and routed out */
	BERTH_PASS_RNAT = 6,		/* reply of a masqueraded flow, translated back into its endpoint */
	BERTH_PASS_ICMP_ERROR = 7,	/* ICMP error about a masqueraded (or hairpin) flow, translated
					 * back */
	BERTH_PASS_ROUTED = 8,		/* routed out unchanged: no uplink, so no masquerade */
	BERTH_PASS_HOST_ICMP = 9,	/* to the host, which answers with an ICMP error and drops it
					 * (TTL exceeded, fragmentation needed with DF) */
	BERTH_PASS_DNAT = 10,		/* in through a published port, translated to its endpoint */
	BERTH_PASS_DNAT_REPLY = 11,	/* a reply through a published port, translated back out */
	BERTH_PASS_HAIRPIN = 12,	/* an endpoint to a published port through a host address:
					 * translated to the backend, from its gateway, into it */
	BERTH_PASS_HAIRPIN_REPLY = 13,	/* the backend's reply of a hairpin flow, translated back
					 * into the client */

	/* dropped */
	BERTH_DROP_SHORT = 64,		/* frame shorter than its headers */
	BERTH_DROP_MALFORMED = 65,	/* header fields that make no sense */
	BERTH_DROP_UNKNOWN_EP = 66,	/* arrived on an interface berth does not know */
	BERTH_DROP_SPOOF_MAC = 67,	/* source MAC is not the endpoint's */
	BERTH_DROP_SPOOF_IP = 68,	/* source IPv4 its sender may not use: from an endpoint, not its
					 * own; from the wire, an endpoint's, a gateway's or loopback */
	BERTH_DROP_SPOOF_ARP = 69,	/* ARP claims another's MAC or address */
	BERTH_DROP_ARP_UNKNOWN = 70,	/* ARP for an address nobody on this network holds */
	BERTH_DROP_NO_FDB = 71,		/* unicast to a MAC that is not on this network */
	BERTH_DROP_ISOLATION = 72,	/* addressed to an endpoint of another network */
	BERTH_DROP_INTERNAL = 73,	/* leaving an internal network */
	BERTH_DROP_BROADCAST = 74,	/* broadcast or multicast other than ARP */
	BERTH_DROP_ETHERTYPE = 75,	/* IPv6 (disabled in endpoints) and other ethertypes */
	BERTH_DROP_ARP_OTHER = 76,	/* ARP that is neither a request nor a reply for the host */
	BERTH_DROP_ICC = 77,		/* between endpoints of a network with x-berth icc: false */
	BERTH_DROP_POLICY = 78,		/* a new flow to a guarded service that no policy rule allows */
	BERTH_DROP_NO_ROUTE = 79,	/* no route to the destination */
	BERTH_DROP_CT_FULL = 80,	/* conntrack table full: new flow refused */
	BERTH_DROP_NAT_EXHAUSTED = 81,	/* no free SNAT source port for this destination */
	BERTH_DROP_WIRE_ENDPOINT = 82,	/* from the uplink, addressed to an endpoint subnet */
	BERTH_DROP_WIRE_LOOPBACK = 83,	/* from the uplink, addressed to 127.0.0.0/8 */
	BERTH_DROP_FRAGMENT = 84,	/* an IP fragment of a flow that needs its ports */
	BERTH_DROP_TTL = 85,		/* TTL exhausted while routing */
	BERTH_DROP_CT_INVALID = 86,	/* a packet no flow can begin with (a stray RST) */
	BERTH_DROP_REWRITE = 87,	/* the kernel refused a header rewrite */
	BERTH_DROP_TOO_BIG = 88,	/* larger than the outgoing interface's MTU */

	BERTH_REASON_MAX = 96,
};

/* A stable snake_case name for each reason: `berth stats` keys and bpftool readers. */
static inline const char *berth_reason_name(unsigned int r)
{
	switch (r) {
	case BERTH_PASS_FORWARD: return "forward";
	case BERTH_PASS_ARP_REPLY: return "arp_reply";
	case BERTH_PASS_STACK: return "to_host";
	case BERTH_PASS_ARP_STACK: return "arp_to_host";
	case BERTH_PASS_SNAT: return "snat";
	case BERTH_PASS_RNAT: return "reply_nat";
	case BERTH_PASS_ICMP_ERROR: return "icmp_error_nat";
	case BERTH_PASS_ROUTED: return "routed";
	case BERTH_PASS_HOST_ICMP: return "to_host_icmp_error";
	case BERTH_PASS_DNAT: return "published_in";
	case BERTH_PASS_DNAT_REPLY: return "published_reply";
	case BERTH_PASS_HAIRPIN: return "hairpin";
	case BERTH_PASS_HAIRPIN_REPLY: return "hairpin_reply";
	case BERTH_DROP_SHORT: return "drop_short";
	case BERTH_DROP_MALFORMED: return "drop_malformed";
	case BERTH_DROP_UNKNOWN_EP: return "drop_unknown_endpoint";
	case BERTH_DROP_SPOOF_MAC: return "drop_spoofed_mac";
	case BERTH_DROP_SPOOF_IP: return "drop_spoofed_ip";
	case BERTH_DROP_SPOOF_ARP: return "drop_spoofed_arp";
	case BERTH_DROP_ARP_UNKNOWN: return "drop_arp_unknown";
	case BERTH_DROP_NO_FDB: return "drop_no_fdb";
	case BERTH_DROP_ISOLATION: return "drop_isolation";
	case BERTH_DROP_INTERNAL: return "drop_internal";
	case BERTH_DROP_BROADCAST: return "drop_broadcast";
	case BERTH_DROP_ETHERTYPE: return "drop_ethertype";
	case BERTH_DROP_ARP_OTHER: return "drop_arp_other";
	case BERTH_DROP_ICC: return "drop_icc";
	case BERTH_DROP_POLICY: return "drop_policy";
	case BERTH_DROP_NO_ROUTE: return "drop_no_route";
	case BERTH_DROP_CT_FULL: return "drop_conntrack_full";
	case BERTH_DROP_NAT_EXHAUSTED: return "drop_nat_exhausted";
	case BERTH_DROP_WIRE_ENDPOINT: return "drop_wire_to_endpoint";
	case BERTH_DROP_WIRE_LOOPBACK: return "drop_wire_to_loopback";
	case BERTH_DROP_FRAGMENT: return "drop_fragment";
	case BERTH_DROP_TTL: return "drop_ttl";
	case BERTH_DROP_CT_INVALID: return "drop_conntrack_invalid";
	case BERTH_DROP_REWRITE: return "drop_rewrite";
	case BERTH_DROP_TOO_BIG: return "drop_too_big";
	default: return 0;	/* no name: not a reason */
	}
}

#endif
