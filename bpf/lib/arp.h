/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The ARP responder: requests from an endpoint for its gateway are answered
 * with the host-side veth's MAC (so routed packets enter the host stack as
 * addressed to it, as Cilium does), requests for a peer on the same network
 * with the peer's MAC. Nothing is flooded.
 */
#ifndef BERTH_BPF_ARP_H
#define BERTH_BPF_ARP_H

#include "maps.h"
#include "parse.h"

/* Turn the request in place into the reply "@ip is at @mac". */
static __always_inline void arp_make_reply(struct ethhdr *eth, struct arp_eth_ipv4 *arp,
					   const __u8 *mac)
{
	__be32 ip = arp->tpa;

	mac_copy(eth->h_dest, arp->sha);
	mac_copy(eth->h_source, mac);
	arp->op = bpf_htons(ARPOP_REPLY);
	mac_copy(arp->tha, arp->sha);
	arp->tpa = arp->spa;
	mac_copy(arp->sha, mac);
	arp->spa = ip;
}

/*
 * Returns BERTH_PASS_ARP_REPLY with the reply written, BERTH_PASS_ARP_STACK
 * for a reply the host's own request asked for, or a negative drop reason.
 */
static __always_inline int arp_handle(struct hdr_cursor *c, struct ethhdr *eth,
				      const struct berth_ep *ep, const struct berth_net *net)
{
	struct berth_ip_key key = {};
	struct arp_eth_ipv4 *arp;
	struct berth_ip *peer;
	int ret;

	ret = parse_arp(c, &arp);
	if (ret < 0)
		return ret;
	/* the sender must be the endpoint itself (0.0.0.0: an address probe) */
	if (!mac_eq(arp->sha, ep->mac) || (arp->spa != ep->ip && arp->spa != 0))
		return -BERTH_DROP_SPOOF_ARP;
	if (arp->op == bpf_htons(ARPOP_REPLY))
		return arp->spa == ep->ip ? BERTH_PASS_ARP_STACK : -BERTH_DROP_SPOOF_ARP;
	/* gratuitous ARP and duplicate-address probes have nobody to tell */
	if (arp->op != bpf_htons(ARPOP_REQUEST) || arp->tpa == arp->spa || arp->tpa == ep->ip)
		return -BERTH_DROP_ARP_OTHER;

	if (arp->tpa == net->gateway) {
		arp_make_reply(eth, arp, ep->host_mac);
		return BERTH_PASS_ARP_REPLY;
	}
	key.ip = arp->tpa;
	peer = bpf_map_lookup_elem(&berth_ip_v2, &key);
	if (!peer || peer->net_id != ep->net_id)
		return -BERTH_DROP_ARP_UNKNOWN;
	arp_make_reply(eth, arp, peer->mac);
	return BERTH_PASS_ARP_REPLY;
}

#endif
