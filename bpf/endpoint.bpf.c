// SPDX-License-Identifier: GPL-2.0-only
/*
 * tc ingress of every host-side veth: the packets an endpoint sends.
 *
 *   parse → anti-spoofing → ARP responder | same-network forwarding |
 *   gateway traffic → out: count the verdict
 *
 * Same-network frames go straight into the peer's namespace with
 * bpf_redirect_peer(); frames to the gateway MAC go to the host stack unless
 * they are addressed to another network's endpoint or leave an internal one.
 */
#include "lib/common.h"
#include "lib/arp.h"
#include "lib/counters.h"
#include "lib/maps.h"
#include "lib/parse.h"

char LICENSE[] SEC("license") = "GPL";

/* Load-time: record each redirect in berth_redir_v1 (BPF_PROG_TEST_RUN reads it). */
const volatile bool cfg_record_redirect = false;

static __always_inline int redirect(__u32 ifindex, bool peer)
{
	if (cfg_record_redirect) {
		__u32 zero = 0;
		struct berth_redir *r = bpf_map_lookup_elem(&berth_redir_v1, &zero);

		if (r) {
			r->ifindex = ifindex;
			r->peer = peer;
		}
	}
	return peer ? bpf_redirect_peer(ifindex, 0) : bpf_redirect(ifindex, 0);
}

/* Frames to another endpoint's MAC on this network. */
static __always_inline int fwd_l2(struct ethhdr *eth, const struct berth_ep *ep,
				  const struct berth_net *net, __u32 *target)
{
	struct berth_fdb_key key = { .net_id = ep->net_id };
	struct berth_fdb *fdb;

	/* Docker's enable_icc=false: endpoints of this network reach only the gateway */
	if (net->flags & BERTH_NET_NO_ICC)
		return -BERTH_DROP_ICC;
	mac_copy(key.mac, eth->h_dest);
	fdb = bpf_map_lookup_elem(&berth_fdb_v1, &key);
	if (!fdb)
		return -BERTH_DROP_NO_FDB;
	*target = fdb->ifindex;
	return BERTH_PASS_FORWARD;
}

/* Frames to the gateway MAC: routed by the host, within what isolation allows. */
static __always_inline int fwd_gateway(struct iphdr *iph, const struct berth_ep *ep,
				       const struct berth_net *net)
{
	struct berth_ip_key key = { .ip = iph->daddr };
	struct berth_ip *dst;

	dst = bpf_map_lookup_elem(&berth_ip_v1, &key);
	if (dst && dst->net_id != ep->net_id)
		return -BERTH_DROP_ISOLATION;
	if (dst && (net->flags & BERTH_NET_NO_ICC))
		return -BERTH_DROP_ICC;	/* a peer by way of the gateway is still a peer */
	if ((net->flags & BERTH_NET_INTERNAL) && iph->daddr != net->gateway &&
	    (iph->daddr & net->mask) != net->subnet)
		return -BERTH_DROP_INTERNAL;
	return BERTH_PASS_STACK;
}

static __always_inline int handle_ipv4(struct hdr_cursor *c, struct ethhdr *eth,
				       const struct berth_ep *ep, const struct berth_net *net,
				       __u32 *target)
{
	struct iphdr *iph;
	int ret;

	ret = parse_iphdr(c, &iph);
	if (ret < 0)
		return ret;
	if (iph->saddr != ep->ip)
		return -BERTH_DROP_SPOOF_IP;
	if (mac_is_multicast(eth->h_dest))
		return -BERTH_DROP_BROADCAST;
	if (mac_eq(eth->h_dest, ep->host_mac))
		return fwd_gateway(iph, ep, net);
	return fwd_l2(eth, ep, net, target);
}

SEC("tc")
int berth_tc_endpoint_ingress(struct __sk_buff *skb)
{
	struct hdr_cursor c = { .pos = (void *)(long)skb->data,
				.end = (void *)(long)skb->data_end };
	__u32 ifindex = skb->ifindex;	/* at tc ingress: the host-side veth */
	__u32 slot = 0, target = 0, net_id;
	const struct berth_net *net;
	const struct berth_ep *ep;
	struct ethhdr *eth;
	int ret, proto;

	ep = bpf_map_lookup_elem(&berth_ep_v1, &ifindex);
	if (!ep) {
		ret = -BERTH_DROP_UNKNOWN_EP;
		goto out;
	}
	slot = ep->slot;
	net_id = ep->net_id;
	net = bpf_map_lookup_elem(&berth_net_v1, &net_id);
	if (!net || !(net->flags & BERTH_NET_PRESENT)) {
		ret = -BERTH_DROP_UNKNOWN_EP;
		goto out;
	}

	proto = parse_ethhdr(&c, &eth);
	if (proto < 0) {
		ret = proto;
		goto out;
	}
	if (!mac_eq(eth->h_source, ep->mac)) {
		ret = -BERTH_DROP_SPOOF_MAC;
		goto out;
	}
	switch (proto) {
	case ETH_P_ARP:
		ret = arp_handle(&c, eth, ep, net);
		break;
	case ETH_P_IP:
		ret = handle_ipv4(&c, eth, ep, net, &target);
		break;
	default:
		ret = -BERTH_DROP_ETHERTYPE;
		break;
	}

out:
	count_verdict(slot, ret < 0 ? (__u32)-ret : (__u32)ret, skb->len);
	if (ret < 0)
		return TC_ACT_SHOT;
	switch (ret) {
	case BERTH_PASS_FORWARD:
		return redirect(target, /* peer */ true);
	case BERTH_PASS_ARP_REPLY:
		/* back out of the veth it came in on: into the asking endpoint */
		return redirect(ifindex, /* peer */ false);
	default:
		return TC_ACT_OK;
	}
}
