/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Header rewrites with their checksums, SNAT port allocation and routing
 * out by bpf_fib_lookup. Rewrites go through the csum helpers, which keep
 * CHECKSUM_PARTIAL (offloaded) packets right: for those the L4 field holds
 * the pseudo-header sum alone, which BPF_F_PSEUDO_HDR updates and a port
 * change leaves alone.
 */
#ifndef BERTH_BPF_NAT_H
#define BERTH_BPF_NAT_H

#include "common.h"
#include "flow.h"
#include "maps.h"

#define IP_CSUM_OFF	(ETH_HLEN + 10)
#define IP_SADDR_OFF	(ETH_HLEN + 12)
#define IP_DADDR_OFF	(ETH_HLEN + 16)
#define IP_TTL_OFF	(ETH_HLEN + 8)
#define NAT_TRIES	32	/* random ports tried before a flow counts as exhausted */

/*
 * Where the L4 checksum is, and the flags its helper needs; 0: none to keep.
 * A later fragment has none: the first one's covers the whole datagram.
 */
static __always_inline __u32 l4_csum_off(const struct flow *f, __u64 *flags)
{
	*flags = 0;
	if (f->frag == FLOW_FRAG_TAIL)
		return 0;
	switch (f->key.proto) {
	case BERTH_PROTO_TCP:
		*flags = 0;
		return f->l4off + 16;
	case BERTH_PROTO_UDP:
		*flags = BPF_F_MARK_MANGLED_0;
		return f->udp_csum ? f->l4off + 6 : 0;
	case BERTH_PROTO_ICMP:
		*flags = 0;
		return f->l4off + 2;
	default:
		return 0;
	}
}

/* Source (@dst false) or destination address to @to, with the IP and L4 checksums. */
static __always_inline int rewrite_addr(struct __sk_buff *skb, const struct flow *f, bool dst,
					__be32 from, __be32 to)
{
	__u64 flags;
	__u32 off = l4_csum_off(f, &flags);

	/* ICMP has no pseudo header: its checksum does not cover addresses */
	if (off && f->key.proto != BERTH_PROTO_ICMP &&
	    bpf_l4_csum_replace(skb, off, from, to, flags | BPF_F_PSEUDO_HDR | 4))
		return -BERTH_DROP_REWRITE;
	if (bpf_l3_csum_replace(skb, IP_CSUM_OFF, from, to, 4))
		return -BERTH_DROP_REWRITE;
	if (bpf_skb_store_bytes(skb, dst ? IP_DADDR_OFF : IP_SADDR_OFF, &to, 4, 0))
		return -BERTH_DROP_REWRITE;
	return 0;
}

/*
 * Source (@dst false) or destination port to @to: for ICMP echo, the
 * identifier (the only "port" it has, sport of requests, dport of replies).
 * A later fragment carries no port: the first one's change stands for it.
 */
static __always_inline int rewrite_port(struct __sk_buff *skb, const struct flow *f, bool dst,
					__be16 from, __be16 to)
{
	__u64 flags;
	__u32 off = l4_csum_off(f, &flags), at;

	if (from == to || f->frag == FLOW_FRAG_TAIL)
		return 0;
	if (f->key.proto == BERTH_PROTO_ICMP)
		at = f->l4off + 4;
	else
		at = f->l4off + (dst ? 2 : 0);
	if (off && bpf_l4_csum_replace(skb, off, from, to, flags | 2))
		return -BERTH_DROP_REWRITE;
	if (bpf_skb_store_bytes(skb, at, &to, 2, 0))
		return -BERTH_DROP_REWRITE;
	return 0;
}

/* A router's TTL decrement, with the IP checksum. */
static __always_inline int dec_ttl(struct __sk_buff *skb)
{
	__u8 ttl;
	__be16 old, new;

	if (bpf_skb_load_bytes(skb, IP_TTL_OFF, &old, 2))
		return -BERTH_DROP_SHORT;
	ttl = ((__u8 *)&old)[0];
	if (ttl <= 1)
		return -BERTH_DROP_TTL;
	new = old;
	((__u8 *)&new)[0] = ttl - 1;
	if (bpf_l3_csum_replace(skb, IP_CSUM_OFF, old, new, 2) ||
	    bpf_skb_store_bytes(skb, IP_TTL_OFF, &new, 2, 0))
		return -BERTH_DROP_REWRITE;
	return 0;
}

static __always_inline int set_macs(struct __sk_buff *skb, const __u8 *dst, const __u8 *src)
{
	if (bpf_skb_store_bytes(skb, 0, dst, ETH_ALEN, 0) ||
	    bpf_skb_store_bytes(skb, ETH_ALEN, src, ETH_ALEN, 0))
		return -BERTH_DROP_REWRITE;
	return 0;
}

/*
 * A port held toward this destination by a flow that is over — closed by a
 * RST, both FINs seen, or idle past its timeout but not yet collected — is
 * taken back at once, as netfilter reuses such tuples: a busy client opening
 * and closing connections to one server would otherwise wait for the GC. The
 * old flow's entries go. A NAT entry whose flow is not there (yet) is left
 * alone: another CPU may be creating that flow this moment.
 */
static __always_inline bool snat_reclaim(const struct berth_ct_key *nk, const struct berth_cfg *cfg)
{
	struct berth_ct_key old;
	struct berth_nat *n;
	struct berth_ct *ct;

	n = bpf_map_lookup_elem(&berth_nat_v1, nk);
	if (!n)
		return true;	/* freed meanwhile */
	old = n->ct;
	ct = bpf_map_lookup_elem(&berth_ct_v1, &old);
	if (!ct || !(ct->flags & BERTH_CT_SNAT) || ct->nat_port != nk->dport ||
	    ct->nat_addr != nk->daddr)
		return false;
	if (!(old.proto == BERTH_PROTO_TCP &&
	      (ct->state == BERTH_CT_CLOSE || ct->state == BERTH_CT_TIME_WAIT)) &&
	    !berth_ct_expired(cfg, &old, ct, bpf_ktime_get_boot_ns()))
		return false;
	bpf_map_delete_elem(&berth_ct_v1, &old);
	bpf_map_delete_elem(&berth_nat_v1, nk);
	return true;
}

/*
 * A free source port of the range for flow @k, claimed by creating its
 * berth_nat_v1 entry @nk (its dport is set here): @nk is the reply tuple the
 * port must be unique in.
 */
static __always_inline int nat_claim(struct berth_ct_key *nk, const struct berth_ct_key *k,
				     const struct berth_cfg *cfg, __be16 *port)
{
	struct berth_nat v = { .ct = *k };
	__u32 span = (__u32)cfg->nat_port_max - cfg->nat_port_min + 1;

	if (cfg->nat_port_max < cfg->nat_port_min || !cfg->nat_port_min)
		return -BERTH_DROP_NAT_EXHAUSTED;
	for (__u32 i = 0; i < NAT_TRIES; i++) {
		/* a fresh random port per try: no stride can share a factor with the span */
		__u16 p = cfg->nat_port_min + (__u16)(bpf_get_prandom_u32() % span);
		long err;

		nk->dport = bpf_htons(p);
		err = bpf_map_update_elem(&berth_nat_v1, nk, &v, BPF_NOEXIST);
		if (err == -EEXIST && snat_reclaim(nk, cfg))
			err = bpf_map_update_elem(&berth_nat_v1, nk, &v, BPF_NOEXIST);
		if (!err) {
			*port = nk->dport;
			return 0;
		}
		if (err != -EEXIST)
			break;	/* the table is full: counted as exhausted too */
	}
	return -BERTH_DROP_NAT_EXHAUSTED;
}

/*
 * The flow's translation on the uplink. The key includes the remote address
 * and port, so each destination has the whole range.
 */
static __always_inline int snat_alloc(const struct berth_ct_key *k, const struct berth_cfg *cfg,
				      __be16 *port)
{
	struct berth_ct_key nk = {
		.saddr = k->daddr,
		.daddr = cfg->uplink_ip,
		.sport = k->dport,
		.proto = k->proto,
	};

	return nat_claim(&nk, k, cfg, port);
}

/*
 * The NAT entry of a masqueraded flow, from its conntrack entry; of a
 * hairpin flow, its backend's reply tuple with the backend's port zeroed
 * (the same computation as ctgc.c's ct_nat_key).
 */
static __always_inline void snat_key(struct berth_ct_key *nk, const struct berth_ct_key *k,
				     const struct berth_ct *ct)
{
	bool hp = ct->flags & BERTH_CT_HAIRPIN;

	nk->saddr = hp ? ct->backend : k->daddr;
	nk->daddr = ct->nat_addr;
	nk->sport = hp ? 0 : k->dport;
	nk->dport = ct->nat_port;
	nk->proto = k->proto;
	nk->pad[0] = nk->pad[1] = nk->pad[2] = 0;
}

/*
 * A translated flow's entry, once its NAT entry @nk is claimed. A full table
 * gives the port back; when another CPU created the flow first, its entry
 * wins and the port claimed here goes back. The flow's entry, or NULL with
 * the drop reason in *@err.
 */
static __always_inline struct berth_ct *nat_flow_create(const struct berth_ct_key *k,
							const struct berth_ct *v,
							const struct berth_ct_key *nk, int *err)
{
	struct berth_ct *ct;

	*err = ct_create(k, v);
	if (*err < 0) {
		bpf_map_delete_elem(&berth_nat_v1, nk);
		return NULL;
	}
	ct = bpf_map_lookup_elem(&berth_ct_v1, k);
	if (!ct || ct->nat_port != v->nat_port)
		bpf_map_delete_elem(&berth_nat_v1, nk);
	if (!ct)
		*err = -BERTH_DROP_CT_FULL;
	return ct;
}

#endif
