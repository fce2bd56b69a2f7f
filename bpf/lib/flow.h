/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Flows: the 5-tuple of an IPv4 packet, conntrack lookups and updates, and
 * policy evaluation. One entry per flow in berth_ct_v1, keyed by the tuple
 * of its first packet; the other direction finds it by the swapped tuple.
 */
#ifndef BERTH_BPF_FLOW_H
#define BERTH_BPF_FLOW_H

#include "common.h"
#include "maps.h"
#include "parse.h"

#include <berth/ct.h>

#define IP_DF		0x4000
#define IP_MF		0x2000
#define IP_OFFSET	0x1fff
#define ICMP_ECHOREPLY	0
#define ICMP_DEST_UNREACH 3
#define ICMP_ECHO	8
#define ICMP_TIME_EXCEEDED 11

/* Which part of a datagram a packet is (struct flow's frag). */
#define FLOW_WHOLE	0	/* not a fragment */
#define FLOW_FRAG_FIRST	1	/* the first fragment: the L4 header, whose checksum covers all */
#define FLOW_FRAG_TAIL	2	/* a later fragment: no L4 header, ports from berth_frag_v1 */

/* A packet's tuple and where its L4 header is. */
struct flow {
	struct berth_ct_key key;	/* as this packet travels */
	__u32 l4off;		/* from the start of the frame */
	__u8 tcp_flags;
	__u8 icmp_type;
	__u8 udp_csum;		/* the UDP checksum is in use */
	__u8 frag;		/* FLOW_WHOLE, FLOW_FRAG_FIRST or FLOW_FRAG_TAIL */
};

/* The ports (or echo identifier) of the L4 header at @c; -BERTH_DROP_SHORT when cut. */
static __always_inline int parse_l4(struct hdr_cursor *c, struct iphdr *iph, struct flow *f)
{
	void *l4 = c->pos;

	switch (iph->protocol) {
	case BERTH_PROTO_TCP: {
		struct tcphdr *t = l4;

		if ((void *)(t + 1) > c->end)
			return -BERTH_DROP_SHORT;
		f->key.sport = t->source;
		f->key.dport = t->dest;
		f->tcp_flags = ((__u8 *)t)[13];
		return 0;
	}
	case BERTH_PROTO_UDP: {
		struct udphdr *u = l4;

		if ((void *)(u + 1) > c->end)
			return -BERTH_DROP_SHORT;
		f->key.sport = u->source;
		f->key.dport = u->dest;
		f->udp_csum = u->check != 0;
		return 0;
	}
	case BERTH_PROTO_ICMP: {
		struct icmphdr *ic = l4;

		if ((void *)(ic + 1) > c->end)
			return -BERTH_DROP_SHORT;
		f->icmp_type = ic->type;
		/* echo: the identifier stands for the ports; other types have none */
		if (ic->type == ICMP_ECHO)
			f->key.sport = ic->un.echo.id;
		else if (ic->type == ICMP_ECHOREPLY)
			f->key.dport = ic->un.echo.id;
		return 0;
	}
	default:
		return 0;
	}
}

static __always_inline struct berth_frag_key frag_key(const struct iphdr *iph)
{
	struct berth_frag_key k = { .saddr = iph->saddr, .daddr = iph->daddr, .id = iph->id,
				    .proto = iph->protocol };

	return k;
}

/* An echo or echo reply: the only ICMP messages whose fragments berth follows. */
static __always_inline bool icmp_echo_type(__u8 type)
{
	return type == ICMP_ECHO || type == ICMP_ECHOREPLY;
}

/*
 * The tuple of the packet after @iph; -BERTH_DROP_* for short headers, and
 * for fragments berth does not follow: TCP's and other protocols' (endpoints'
 * MTU follows the uplink's, and TCP sends no more than the path takes), and
 * any later fragment whose first one was not seen (berth does not reassemble).
 * A UDP or ICMP echo datagram's first fragment records its ports in
 * berth_frag_v1; its later fragments take them from there.
 */
static __always_inline int parse_flow(struct hdr_cursor *c, struct iphdr *iph, struct flow *f)
{
	struct berth_frag_key fk;
	struct berth_frag fv = {};
	const struct berth_frag *fp;
	int ret;

	f->key.saddr = iph->saddr;
	f->key.daddr = iph->daddr;
	f->key.proto = iph->protocol;
	f->l4off = ETH_HLEN + iph->ihl * 4;	/* the frame starts with Ethernet, untagged */
	if (!(iph->frag_off & bpf_htons(IP_MF | IP_OFFSET)))
		return parse_l4(c, iph, f);
	if (iph->protocol != BERTH_PROTO_UDP && iph->protocol != BERTH_PROTO_ICMP)
		return -BERTH_DROP_FRAGMENT;
	fk = frag_key(iph);
	if (iph->frag_off & bpf_htons(IP_OFFSET)) {
		fp = bpf_map_lookup_elem(&berth_frag_v1, &fk);
		if (!fp)
			return -BERTH_DROP_FRAGMENT;
		f->key.sport = fp->sport;
		f->key.dport = fp->dport;
		f->icmp_type = fp->icmp_type;
		f->frag = FLOW_FRAG_TAIL;
		return 0;
	}
	ret = parse_l4(c, iph, f);
	if (ret < 0)
		return ret;
	if (iph->protocol == BERTH_PROTO_ICMP && !icmp_echo_type(f->icmp_type))
		return -BERTH_DROP_FRAGMENT;
	f->frag = FLOW_FRAG_FIRST;
	fv.sport = f->key.sport;
	fv.dport = f->key.dport;
	fv.icmp_type = f->icmp_type;
	bpf_map_update_elem(&berth_frag_v1, &fk, &fv, BPF_ANY);
	return 0;
}

static __always_inline void key_swap(struct berth_ct_key *dst, const struct berth_ct_key *k)
{
	dst->saddr = k->daddr;
	dst->daddr = k->saddr;
	dst->sport = k->dport;
	dst->dport = k->sport;
	dst->proto = k->proto;
	/* the pad is part of the hash key: a caller's uninitialised bytes would miss the flow */
	dst->pad[0] = dst->pad[1] = dst->pad[2] = 0;
}

static __always_inline const struct berth_cfg *cfg_get(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&berth_cfg_v1, &zero);
}

/* The flow of @f, in either direction: *reply says which. NULL when untracked. */
static __always_inline struct berth_ct *ct_lookup(const struct flow *f, int *reply,
						  struct berth_ct_key *found)
{
	struct berth_ct *ct;

	ct = bpf_map_lookup_elem(&berth_ct_v1, &f->key);
	if (ct) {
		*reply = 0;
		*found = f->key;
		return ct;
	}
	key_swap(found, &f->key);
	ct = bpf_map_lookup_elem(&berth_ct_v1, found);
	*reply = 1;
	return ct;
}

/* A packet of a tracked flow: its time and TCP state. */
static __always_inline void ct_touch(struct berth_ct *ct, const struct flow *f, int reply)
{
	__u8 flags = ct->flags;

	ct->last_seen = bpf_ktime_get_boot_ns();
	if (reply)
		flags |= BERTH_CT_SEEN_REPLY;
	if (f->key.proto == BERTH_PROTO_TCP)
		ct->state = berth_ct_tcp_next(ct->state, f->tcp_flags, reply, &flags);
	if (flags != ct->flags)
		ct->flags = flags;
}

/* A new flow's entry, with the state its first packet gives it. */
static __always_inline void ct_init(struct berth_ct *ct, const struct flow *f, __u32 ifindex,
				    __u32 slot, __u32 rev)
{
	__u64 now = bpf_ktime_get_boot_ns();
	__u8 flags = 0;

	ct->last_seen = now;
	ct->created = now;
	ct->ifindex = ifindex;
	ct->slot = slot;
	ct->policy_rev = rev;
	ct->state = BERTH_CT_NONE;
	if (f->key.proto == BERTH_PROTO_TCP)
		ct->state = berth_ct_tcp_next(BERTH_CT_NONE, f->tcp_flags, 0, &flags);
	ct->flags |= flags;
}

/* Creating an entry: a full table is the only failure a new flow is refused for. */
static __always_inline int ct_create(const struct berth_ct_key *k, const struct berth_ct *v)
{
	long err = bpf_map_update_elem(&berth_ct_v1, k, v, BPF_NOEXIST);

	if (!err || err == -EEXIST)	/* another CPU created it first: the flow is tracked */
		return 0;
	return -BERTH_DROP_CT_FULL;
}

/* ---- policy ---- */

/* Is @id named as `to` in a rule of revision @rev? */
static __always_inline bool policy_guarded(__u32 rev, __u32 id)
{
	struct berth_policy_key k = { .rev = rev, .to_id = id };

	return id && bpf_map_lookup_elem(&berth_policy_v1, &k);
}

/* May @from open a flow to @to on @proto, port @dport (network order)? */
static __always_inline bool policy_allows(__u32 rev, __u32 from, __u32 to, __u8 proto,
					  __be16 dport)
{
	struct berth_policy_key k = { .rev = rev, .from_id = from, .to_id = to, .proto = proto };
	struct berth_policy *p;
	__u16 port = bpf_ntohs(dport);

	if (!policy_guarded(rev, to))
		return true;
	p = bpf_map_lookup_elem(&berth_policy_v1, &k);
	if (!p)
		return false;
	if (proto == BERTH_PROTO_ICMP)
		return true;
	for (int i = 0; i < BERTH_POLICY_RANGES; i++) {
		if (i >= (int)p->n)
			break;
		if (port >= p->r[i].lo && port <= p->r[i].hi)
			return true;
	}
	return false;
}

#endif
