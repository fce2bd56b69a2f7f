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

	/* dropped */
	BERTH_DROP_SHORT = 64,		/* frame shorter than its headers */
	BERTH_DROP_MALFORMED = 65,	/* header fields that make no sense */
	BERTH_DROP_UNKNOWN_EP = 66,	/* arrived on an interface berth does not know */
	BERTH_DROP_SPOOF_MAC = 67,	/* source MAC is not the endpoint's */
	BERTH_DROP_SPOOF_IP = 68,	/* source IPv4 is not the endpoint's */
	BERTH_DROP_SPOOF_ARP = 69,	/* ARP claims another's MAC or address */
	BERTH_DROP_ARP_UNKNOWN = 70,	/* ARP for an address nobody on this network holds */
	BERTH_DROP_NO_FDB = 71,		/* unicast to a MAC that is not on this network */
	BERTH_DROP_ISOLATION = 72,	/* addressed to an endpoint of another network */
	BERTH_DROP_INTERNAL = 73,	/* leaving an internal network */
	BERTH_DROP_BROADCAST = 74,	/* broadcast or multicast other than ARP */
	BERTH_DROP_ETHERTYPE = 75,	/* IPv6 (disabled in endpoints) and other ethertypes */
	BERTH_DROP_ARP_OTHER = 76,	/* ARP that is neither a request nor a reply for the host */
	BERTH_DROP_ICC = 77,		/* between endpoints of a network with x-berth icc: false */

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
	default: return 0;	/* no name: not a reason */
	}
}

#endif
