/* SPDX-License-Identifier: GPL-2.0-only */
/* One cursor-based parser set: each step checks bounds and advances. */
#ifndef BERTH_BPF_PARSE_H
#define BERTH_BPF_PARSE_H

#include "common.h"

struct hdr_cursor {
	void *pos;
	void *end;
};

/* The ARP payload for Ethernet/IPv4, as on the wire. */
struct arp_eth_ipv4 {
	__be16 htype;
	__be16 ptype;
	__u8 hlen;
	__u8 plen;
	__be16 op;
	__u8 sha[ETH_ALEN];
	__be32 spa;
	__u8 tha[ETH_ALEN];
	__be32 tpa;
} __attribute__((packed));

/* Enough for Ethernet, an IPv4 header with options and a TCP header. */
#define BERTH_PULL_LEN	128

/*
 * Headers a driver left outside the linear area are pulled in, so that the
 * parsers below judge what is there rather than a short view of it. Only
 * packets with a non-linear part pay for it. Packet pointers are stale after.
 * Not inlined: the caller's own reads of data and data_end must stay plain
 * context loads, which the verifier requires.
 */
static __noinline __attribute__((unused)) int pull_headers(struct __sk_buff *skb)
{
	__u32 linear = skb->data_end - skb->data;

	if (linear < BERTH_PULL_LEN && skb->len > linear)
		return bpf_skb_pull_data(skb, skb->len < BERTH_PULL_LEN ? skb->len : BERTH_PULL_LEN);
	return 0;
}

/* Returns the ethertype (host order) or -BERTH_DROP_SHORT. */
static __always_inline int parse_ethhdr(struct hdr_cursor *c, struct ethhdr **eth)
{
	struct ethhdr *h = c->pos;

	if ((void *)(h + 1) > c->end)
		return -BERTH_DROP_SHORT;
	c->pos = h + 1;
	*eth = h;
	return bpf_ntohs(h->h_proto);
}

static __always_inline int parse_arp(struct hdr_cursor *c, struct arp_eth_ipv4 **arp)
{
	struct arp_eth_ipv4 *a = c->pos;

	if ((void *)(a + 1) > c->end)
		return -BERTH_DROP_SHORT;
	if (a->htype != bpf_htons(ARPHRD_ETHER) || a->ptype != bpf_htons(ETH_P_IP) ||
	    a->hlen != ETH_ALEN || a->plen != 4)
		return -BERTH_DROP_MALFORMED;
	c->pos = a + 1;
	*arp = a;
	return 0;
}

/* IPv4 header with options; returns the protocol or a negative drop reason. */
static __always_inline int parse_iphdr(struct hdr_cursor *c, struct iphdr **iph)
{
	struct iphdr *h = c->pos;
	__u32 hlen;

	if ((void *)(h + 1) > c->end)
		return -BERTH_DROP_SHORT;
	if (h->version != 4 || h->ihl < 5)
		return -BERTH_DROP_MALFORMED;
	hlen = h->ihl * 4;
	if (c->pos + hlen > c->end)
		return -BERTH_DROP_SHORT;
	if (bpf_ntohs(h->tot_len) < hlen)
		return -BERTH_DROP_MALFORMED;
	c->pos += hlen;
	*iph = h;
	return h->protocol;
}

static __always_inline bool mac_eq(const __u8 *a, const __u8 *b)
{
	return ((const __u16 *)a)[0] == ((const __u16 *)b)[0] &&
	       ((const __u16 *)a)[1] == ((const __u16 *)b)[1] &&
	       ((const __u16 *)a)[2] == ((const __u16 *)b)[2];
}

static __always_inline void mac_copy(__u8 *dst, const __u8 *src)
{
	__builtin_memcpy(dst, src, ETH_ALEN);
}

/* Group bit: broadcast and multicast. */
static __always_inline bool mac_is_multicast(const __u8 *a)
{
	return a[0] & 1;
}

#endif
