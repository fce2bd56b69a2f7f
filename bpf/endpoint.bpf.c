// SPDX-License-Identifier: GPL-2.0-only
/*
 * tc ingress of every host-side veth: the packets an endpoint sends.
 *
 *   parse → anti-spoofing → ARP responder | same-network forwarding (policy) |
 *   gateway traffic (host, peer, or masquerade out) → count the verdict
 *
 * Same-network frames go straight into the peer's namespace with
 * bpf_redirect_peer(); frames to the gateway MAC go to the host stack when
 * addressed to the host, out through the uplink (masqueraded) when addressed
 * beyond berth's subnets, and nowhere when addressed to another network or
 * leaving an internal one. Flows to services named as `to` in a policy rule
 * are admitted by the rules and tracked in conntrack. A published port
 * reached at an address of the host is hairpinned: into its backend, from
 * the backend's gateway, and the replies back into the client.
 */
#include "lib/common.h"
#include "lib/arp.h"
#include "lib/counters.h"
#include "lib/flow.h"
#include "lib/maps.h"
#include "lib/nat.h"
#include "lib/parse.h"

char LICENSE[] SEC("license") = "GPL";

/* Load-time: record each redirect in berth_redir_v1 (BPF_PROG_TEST_RUN reads it). */
const volatile bool cfg_record_redirect = false;

static __always_inline void record_redirect(__u32 ifindex, bool peer)
{
	if (cfg_record_redirect) {
		__u32 zero = 0;
		struct berth_redir *r = bpf_map_lookup_elem(&berth_redir_v1, &zero);

		if (r) {
			r->ifindex = ifindex;
			r->peer = peer;
		}
	}
}

static __always_inline int redirect(__u32 ifindex, bool peer)
{
	record_redirect(ifindex, peer);
	return peer ? bpf_redirect_peer(ifindex, 0) : bpf_redirect(ifindex, 0);
}

/* Where a passing packet goes. */
enum how {
	HOW_STACK = 0,		/* TC_ACT_OK: the host stack */
	HOW_PEER,		/* bpf_redirect_peer(target): into an endpoint */
	HOW_EGRESS,		/* bpf_redirect(target): out of an interface, MACs set */
	HOW_NEIGH,		/* bpf_redirect_neigh(target): out, the kernel resolves the next hop */
};

struct out {
	__u32 target;
	enum how how;
};

/*
 * Does this packet, with no flow behind it, open one in its own direction?
 * A SYN, an echo request, any UDP datagram do; other TCP and echo replies
 * continue a flow the other side opened.
 */
static __always_inline bool opens_flow(const struct flow *f)
{
	switch (f->key.proto) {
	case BERTH_PROTO_TCP:
		return (f->tcp_flags & (BERTH_TCP_SYN | BERTH_TCP_ACK | BERTH_TCP_RST)) ==
		       BERTH_TCP_SYN;
	case BERTH_PROTO_ICMP:
		return f->icmp_type != ICMP_ECHOREPLY;
	default:
		return true;
	}
}

/*
 * Policy for a packet between endpoints of one network. Flows to a guarded
 * service are admitted by the rules once and tracked, and so are flows a
 * guarded service opens, so that the packets travelling toward it are known
 * as replies. Packets of tracked flows are re-checked when the policy
 * revision moves; a flow that became denied loses its entry, and its later
 * packets, in either direction, are judged as they come: what continues a
 * flow (not a SYN) is judged as the flow's opener, whose rules no longer
 * allow it. Traffic between unguarded services is untouched.
 */
static __always_inline int policy_check(struct hdr_cursor *c, struct iphdr *iph,
					const struct berth_ep *ep, const struct berth_cfg *cfg,
					__u32 ifindex)
{
	struct berth_ip_key dk = { .ip = iph->daddr };
	struct berth_ct v = { .flags = BERTH_CT_POLICY };
	struct berth_ct_key found;
	const struct berth_ip *dst;
	struct berth_ct *ct;
	struct flow f = {};
	__u32 rev, to_id;
	bool gdst, gsrc;
	int reply, ret;

	if (!cfg || !(cfg->flags & BERTH_CFG_POLICY))
		return 0;
	rev = cfg->policy_rev;
	dst = bpf_map_lookup_elem(&berth_ip_v2, &dk);
	to_id = dst ? dst->identity : 0;
	gdst = policy_guarded(rev, to_id);
	gsrc = policy_guarded(rev, ep->identity);
	if (!gdst && !gsrc)
		return 0;
	ret = parse_flow(c, iph, &f);
	if (ret < 0)
		return ret;	/* fragments of flows berth cannot judge */
	ct = ct_lookup(&f, &reply, &found);
	if (ct) {
		if (ct->policy_rev != rev) {
			/* the rules moved: the flow stays if its opener still may open it */
			__u32 from = reply ? to_id : ep->identity;
			__u32 to = reply ? ep->identity : to_id;

			if (!policy_allows(rev, from, to, found.proto, found.dport)) {
				bpf_map_delete_elem(&berth_ct_v1, &found);
				return -BERTH_DROP_POLICY;
			}
			ct->policy_rev = rev;
		}
		ct_touch(ct, &f, reply);
		return 0;
	}
	/* a later fragment opens no flow: its first one would have */
	if (f.frag == FLOW_FRAG_TAIL)
		return -BERTH_DROP_FRAGMENT;
	if (!opens_flow(&f) && gsrc) {
		/* it continues a flow the peer opened toward this guarded service */
		if (!policy_allows(rev, to_id, ep->identity, f.key.proto, f.key.sport))
			return -BERTH_DROP_POLICY;
		key_swap(&found, &f.key);
		ct_init(&v, &f, dst ? dst->ifindex : 0, dst ? dst->slot : 0, rev);
		v.flags |= BERTH_CT_SEEN_REPLY;
		return ct_create(&found, &v);
	}
	if (gdst && !policy_allows(rev, ep->identity, to_id, f.key.proto, f.key.dport))
		return -BERTH_DROP_POLICY;
	if (!gdst)
		v.flags = 0;	/* opened by a guarded service to one that is not: no rule to judge */
	ct_init(&v, &f, ifindex, ep->slot, rev);
	return ct_create(&f.key, &v);
}

/* Frames to another endpoint's MAC on this network. */
static __always_inline int fwd_l2(struct ethhdr *eth, const struct berth_ep *ep,
				  const struct berth_net *net, struct out *o)
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
	o->target = fdb->ifindex;
	o->how = HOW_PEER;
	return BERTH_PASS_FORWARD;
}

/* Routed into endpoint @ep (host-side veth @ifindex): TTL, its MACs, then bpf_redirect_peer. */
static __always_inline int into_endpoint(struct __sk_buff *skb, const struct berth_ep *ep,
					 __u32 ifindex, struct out *o)
{
	int ret = dec_ttl(skb);

	if (!ret)
		ret = set_macs(skb, ep->mac, ep->host_mac);
	if (ret < 0)
		return ret;
	o->target = ifindex;
	o->how = HOW_PEER;
	return 0;
}

/* Out again with the address and port the client reached. */
static __always_inline int out_by_fib(struct __sk_buff *skb, const struct bpf_fib_lookup *fib,
				      long rc, struct out *o)
{
	int ret;

	o->target = fib->ifindex;
	if (rc == BPF_FIB_LKUP_RET_NO_NEIGH) {
		o->how = HOW_NEIGH;
		return 0;
	}
	ret = set_macs(skb, fib->dmac, fib->smac);
	if (ret < 0)
		return ret;
	o->how = HOW_EGRESS;
	return 0;
}

/*
 * A reply of a flow that came in through a published port: its source goes
 * back to the address and port the client reached, and out by the route.
 */
static __always_inline int published_reply(struct __sk_buff *skb, struct flow *f,
					   struct berth_ct *ct, const struct bpf_fib_lookup *fib,
					   long rc, struct out *o)
{
	__be32 nat_addr = ct->nat_addr;
	__be16 nat_port = ct->nat_port;
	int ret;

	ct_touch(ct, f, 1);
	ret = rewrite_port(skb, f, false, f->key.sport, nat_port);
	if (!ret)
		ret = rewrite_addr(skb, f, false, f->key.saddr, nat_addr);
	if (!ret)
		ret = dec_ttl(skb);
	if (!ret)
		ret = out_by_fib(skb, fib, rc, o);
	return ret < 0 ? ret : BERTH_PASS_DNAT_REPLY;
}

/* ---- hairpin ---- */

/* Not a hairpin flow: the caller goes on as before (BERTH_REASON_NONE). */
#define NOT_HAIRPIN 0
#define ICMP_HDR_LEN 8	/* an ICMP error's header, before the quoted IP header */

/* The published port at host address @daddr: the exact address, then every address. */
static __always_inline struct berth_port *port_find(__be32 daddr, __be16 dport, __u8 proto)
{
	struct berth_port_key pk = { .addr = daddr, .port = dport, .proto = proto };
	struct berth_port *pp;

	pp = bpf_map_lookup_elem(&berth_port_v1, &pk);
	if (pp)
		return pp;
	pk.addr = 0;
	return bpf_map_lookup_elem(&berth_port_v1, &pk);
}

/*
 * An endpoint to a published port through an address of the host (the
 * uplink's, a gateway, any other): the destination goes to the backend and
 * the source to the backend network's gateway, with a port of the NAT range,
 * so that the backend's replies come back to berth (not straight to the
 * client, which would drop a reply from an address it never asked) —
 * whether the backend is a sibling or the client itself.
 *
 * The flow is one conntrack entry keyed as the client sent it (client →
 * published address:port), with BERTH_CT_SNAT | BERTH_CT_HAIRPIN, nat_addr
 * the gateway, nat_port the port, backend the backend's address; and one NAT
 * entry, backend:0 → gateway:nat_port, by which the replies find it. So the
 * GC's expiry and ct_removed take both as they do a masqueraded flow's, a
 * removed port's flush finds it by its key's daddr:dport, and the client's
 * later packets find it by their own tuple. The port is claimed per
 * (backend address, gateway) — not per backend port, which the entry does
 * not hold — from the same range as masquerade (outside ip_local_port_range,
 * so no host socket of the gateway address uses it).
 */
static __always_inline int hairpin_request(struct __sk_buff *skb, struct hdr_cursor *c,
					   struct iphdr *iph, const struct berth_ep *ep,
					   const struct berth_cfg *cfg, struct out *o)
{
	const struct berth_net *bnet;
	const struct berth_ep *bep;
	struct berth_port *pp;
	struct berth_port be;
	struct berth_ct *ct;
	struct flow f = {};
	__be16 nat_port;
	__u32 net_id;
	__be32 gw;
	int ret;

	/* from an endpoint, 127.0.0.0/8 is its own loopback, never the host's */
	if ((iph->daddr & bpf_htonl(0xff000000)) == bpf_htonl(0x7f000000))
		return NOT_HAIRPIN;
	if (!cfg || (iph->protocol != BERTH_PROTO_TCP && iph->protocol != BERTH_PROTO_UDP))
		return NOT_HAIRPIN;
	if (parse_flow(c, iph, &f) < 0 || f.frag)
		return NOT_HAIRPIN;	/* fragments: the host's, which refuses them */
	pp = port_find(f.key.daddr, f.key.dport, f.key.proto);
	if (!pp)
		return NOT_HAIRPIN;
	be = *pp;
	bep = bpf_map_lookup_elem(&berth_ep_v2, &be.ifindex);
	if (!bep)
		return -BERTH_DROP_UNKNOWN_EP;
	net_id = bep->net_id;
	bnet = bpf_map_lookup_elem(&berth_net_v1, &net_id);
	if (!bnet || !(bnet->flags & BERTH_NET_PRESENT))
		return -BERTH_DROP_UNKNOWN_EP;
	gw = bnet->gateway;

	ct = bpf_map_lookup_elem(&berth_ct_v1, &f.key);
	/*
	 * A flow of this tuple to another backend: the port was repointed before
	 * the agent's flush took its flows. It goes now, with its NAT entry, so
	 * that the client's next packet opens a flow to the new backend instead
	 * of keeping the stale one alive. Another kind of flow on the tuple has
	 * nothing to translate it by.
	 */
	if (ct && (!(ct->flags & BERTH_CT_HAIRPIN) || ct->backend != be.backend_ip ||
		   ct->nat_addr != gw)) {
		struct berth_ct_key onk;

		if (!(ct->flags & BERTH_CT_HAIRPIN))
			return -BERTH_DROP_CT_INVALID;
		snat_key(&onk, &f.key, ct);
		bpf_map_delete_elem(&berth_nat_v1, &onk);
		bpf_map_delete_elem(&berth_ct_v1, &f.key);
		ct = NULL;
	}
	if (!ct) {
		struct berth_ct v = { .flags = BERTH_CT_SNAT | BERTH_CT_HAIRPIN, .nat_addr = gw,
				      .backend = be.backend_ip };
		struct berth_ct_key nk = { .saddr = be.backend_ip, .daddr = gw,
					   .proto = f.key.proto };

		if (f.key.proto == BERTH_PROTO_TCP && (f.tcp_flags & BERTH_TCP_RST))
			return -BERTH_DROP_CT_INVALID;
		ret = nat_claim(&nk, &f.key, cfg, &v.nat_port);
		if (ret < 0)
			return ret;
		ct_init(&v, &f, skb->ifindex, ep->slot, 0);
		ct = nat_flow_create(&f.key, &v, &nk, &ret);
		if (!ct)
			return ret;
	} else {
		ct_touch(ct, &f, 0);
	}
	nat_port = ct->nat_port;

	ret = rewrite_port(skb, &f, true, f.key.dport, be.backend_port);
	if (!ret)
		ret = rewrite_addr(skb, &f, true, f.key.daddr, be.backend_ip);
	if (!ret)
		ret = rewrite_port(skb, &f, false, f.key.sport, nat_port);
	if (!ret)
		ret = rewrite_addr(skb, &f, false, f.key.saddr, gw);
	if (!ret)
		ret = into_endpoint(skb, bep, be.ifindex, o);
	return ret < 0 ? ret : BERTH_PASS_HAIRPIN;
}

/*
 * A backend's reply to its gateway, of a hairpin flow: found by its NAT
 * entry before the gateway's own sockets see it, and turned back into what
 * the client sent to (source: the published address and port; destination:
 * the client), into the client.
 */
static __always_inline int hairpin_reply(struct __sk_buff *skb, struct hdr_cursor *c,
					 struct iphdr *iph, struct out *o)
{
	struct berth_ct_key nk = {}, k;
	const struct berth_ep *cep;
	struct berth_nat *nat;
	struct berth_port *pp;
	struct berth_ct *ct;
	struct flow f = {};
	__u32 cif;
	int ret;

	if (iph->protocol != BERTH_PROTO_TCP && iph->protocol != BERTH_PROTO_UDP)
		return NOT_HAIRPIN;
	if (parse_flow(c, iph, &f) < 0 || f.frag)
		return NOT_HAIRPIN;
	nk.saddr = f.key.saddr;
	nk.daddr = f.key.daddr;
	nk.dport = f.key.dport;
	nk.proto = f.key.proto;
	nat = bpf_map_lookup_elem(&berth_nat_v1, &nk);
	if (!nat)
		return NOT_HAIRPIN;
	k = nat->ct;
	ct = bpf_map_lookup_elem(&berth_ct_v1, &k);
	if (!ct || !(ct->flags & BERTH_CT_HAIRPIN) || ct->nat_addr != nk.daddr ||
	    ct->nat_port != nk.dport || ct->backend != nk.saddr)
		return NOT_HAIRPIN;	/* collected a moment ago, or another flow's port */
	/* from the port the flow reached: the entry does not hold it */
	pp = port_find(k.daddr, k.dport, k.proto);
	if (!pp || pp->backend_ip != f.key.saddr || pp->backend_port != f.key.sport)
		return NOT_HAIRPIN;
	cif = ct->ifindex;
	cep = bpf_map_lookup_elem(&berth_ep_v2, &cif);
	if (!cep)
		return -BERTH_DROP_UNKNOWN_EP;
	ct_touch(ct, &f, 1);

	ret = rewrite_port(skb, &f, false, f.key.sport, k.dport);
	if (!ret)
		ret = rewrite_addr(skb, &f, false, f.key.saddr, k.daddr);
	if (!ret)
		ret = rewrite_port(skb, &f, true, f.key.dport, k.sport);
	if (!ret)
		ret = rewrite_addr(skb, &f, true, f.key.daddr, k.saddr);
	if (!ret)
		ret = into_endpoint(skb, cep, cif, o);
	return ret < 0 ? ret : BERTH_PASS_HAIRPIN_REPLY;
}

/*
 * An ICMP error from a backend (port unreachable, say) quoting a packet of a
 * hairpin flow as the backend got it, gateway:port → backend:port: the quoted
 * packet goes back to what the client sent (client → published address and
 * port) and the error from the published address to the client, so its stack
 * matches the error to its socket. A quoted address changed together with
 * the quoted IP checksum leaves the ICMP checksum as it was; quoted ports
 * move it.
 */
static __always_inline int hairpin_icmp_error(struct __sk_buff *skb, struct hdr_cursor *c,
					      struct iphdr *iph, struct out *o)
{
	__be32 outer_src = iph->saddr, outer_dst = iph->daddr;
	struct berth_ct_key nk = {}, k;
	const struct berth_ep *cep;
	struct berth_nat *nat;
	struct berth_port *pp;
	struct berth_ct *ct;
	struct flow f = {};
	__u32 inner, inner_l4, icsum, cif;
	__be16 ports[2];	/* the quoted source and destination ports */
	struct iphdr in;
	int ret;

	if (iph->protocol != BERTH_PROTO_ICMP || parse_flow(c, iph, &f) < 0 || f.frag)
		return NOT_HAIRPIN;
	if (f.icmp_type != ICMP_DEST_UNREACH && f.icmp_type != ICMP_TIME_EXCEEDED)
		return NOT_HAIRPIN;
	inner = f.l4off + ICMP_HDR_LEN;
	inner_l4 = inner + sizeof(in);
	icsum = f.l4off + 2;
	if (bpf_skb_load_bytes(skb, inner, &in, sizeof(in)) ||
	    bpf_skb_load_bytes(skb, inner_l4, ports, sizeof(ports)))
		return NOT_HAIRPIN;
	if (in.version != 4 || in.ihl != 5 ||
	    (in.protocol != BERTH_PROTO_TCP && in.protocol != BERTH_PROTO_UDP))
		return NOT_HAIRPIN;
	/* about a packet the sender itself got from its gateway */
	if (in.daddr != outer_src || in.saddr != outer_dst)
		return NOT_HAIRPIN;
	nk.saddr = in.daddr;
	nk.daddr = in.saddr;
	nk.dport = ports[0];
	nk.proto = in.protocol;
	nat = bpf_map_lookup_elem(&berth_nat_v1, &nk);
	if (!nat)
		return NOT_HAIRPIN;
	k = nat->ct;
	ct = bpf_map_lookup_elem(&berth_ct_v1, &k);
	if (!ct || !(ct->flags & BERTH_CT_HAIRPIN) || ct->nat_addr != nk.daddr ||
	    ct->nat_port != nk.dport || ct->backend != nk.saddr)
		return NOT_HAIRPIN;
	pp = port_find(k.daddr, k.dport, k.proto);
	if (!pp || pp->backend_ip != nk.saddr || pp->backend_port != ports[1])
		return NOT_HAIRPIN;
	cif = ct->ifindex;
	cep = bpf_map_lookup_elem(&berth_ep_v2, &cif);
	if (!cep)
		return -BERTH_DROP_UNKNOWN_EP;

	/* quoted source gateway:port → client, destination backend:port → published */
	if (bpf_l3_csum_replace(skb, inner + 10, in.saddr, k.saddr, 4) ||
	    bpf_skb_store_bytes(skb, inner + 12, &k.saddr, 4, 0) ||
	    bpf_l3_csum_replace(skb, inner + 10, in.daddr, k.daddr, 4) ||
	    bpf_skb_store_bytes(skb, inner + 16, &k.daddr, 4, 0) ||
	    bpf_l4_csum_replace(skb, icsum, ports[0], k.sport, 2) ||
	    bpf_skb_store_bytes(skb, inner_l4, &k.sport, 2, 0) ||
	    bpf_l4_csum_replace(skb, icsum, ports[1], k.dport, 2) ||
	    bpf_skb_store_bytes(skb, inner_l4 + 2, &k.dport, 2, 0))
		return -BERTH_DROP_REWRITE;
	/* outer: from the published address to the client (ICMP has no pseudo header) */
	if (bpf_l3_csum_replace(skb, IP_CSUM_OFF, outer_src, k.daddr, 4) ||
	    bpf_skb_store_bytes(skb, IP_SADDR_OFF, &k.daddr, 4, 0) ||
	    bpf_l3_csum_replace(skb, IP_CSUM_OFF, outer_dst, k.saddr, 4) ||
	    bpf_skb_store_bytes(skb, IP_DADDR_OFF, &k.saddr, 4, 0))
		return -BERTH_DROP_REWRITE;
	ret = into_endpoint(skb, cep, cif, o);
	return ret < 0 ? ret : BERTH_PASS_ICMP_ERROR;
}

/* An address of the host: a published port's hairpin flow, or the host stack. */
static __always_inline int to_host(struct __sk_buff *skb, struct hdr_cursor *c,
				   struct iphdr *iph, const struct berth_ep *ep,
				   const struct berth_cfg *cfg, struct out *o)
{
	int ret = hairpin_request(skb, c, iph, ep, cfg, o);

	return ret != NOT_HAIRPIN ? ret : BERTH_PASS_STACK;
}

/*
 * An endpoint's ICMP error (port unreachable, say) about a packet that came
 * in through a published port, client → endpoint: the quoted destination and
 * the error's source go back to the published address and port, so the
 * client's stack matches it to its socket. Anything else of the kind is no
 * flow's, and is dropped as before.
 */
static __always_inline int published_icmp_error(struct __sk_buff *skb, const struct flow *f,
						const struct bpf_fib_lookup *fib, long rc,
						struct out *o)
{
	__u32 inner = f->l4off + ICMP_HDR_LEN, inner_l4 = inner + sizeof(struct iphdr);
	__u32 icsum = f->l4off + 2;
	struct berth_ct_key k = {};
	__be32 nat_addr;
	__be16 nat_port;
	struct berth_ct *ct;
	__be16 ports[2];	/* the quoted source and destination ports */
	struct iphdr in;
	int ret;

	if (bpf_skb_load_bytes(skb, inner, &in, sizeof(in)) ||
	    bpf_skb_load_bytes(skb, inner_l4, ports, sizeof(ports)))
		return -BERTH_DROP_CT_INVALID;
	if (in.version != 4 || in.ihl != 5 ||
	    (in.protocol != BERTH_PROTO_TCP && in.protocol != BERTH_PROTO_UDP) ||
	    in.daddr != f->key.saddr || in.saddr != f->key.daddr)
		return -BERTH_DROP_CT_INVALID;
	k.saddr = in.saddr;
	k.daddr = in.daddr;
	k.sport = ports[0];
	k.dport = ports[1];
	k.proto = in.protocol;
	ct = bpf_map_lookup_elem(&berth_ct_v1, &k);
	if (!ct || !(ct->flags & BERTH_CT_DNAT))
		return -BERTH_DROP_CT_INVALID;
	nat_addr = ct->nat_addr;
	nat_port = ct->nat_port;
	/* quoted destination endpoint:port → published, with the quoted IP and ICMP checksums */
	if (bpf_l3_csum_replace(skb, inner + 10, in.daddr, nat_addr, 4) ||
	    bpf_skb_store_bytes(skb, inner + 16, &nat_addr, 4, 0) ||
	    bpf_l4_csum_replace(skb, icsum, ports[1], nat_port, 2) ||
	    bpf_skb_store_bytes(skb, inner_l4 + 2, &nat_port, 2, 0))
		return -BERTH_DROP_REWRITE;
	/* outer source: the IP checksum alone (ICMP has no pseudo header) */
	if (bpf_l3_csum_replace(skb, IP_CSUM_OFF, f->key.saddr, nat_addr, 4) ||
	    bpf_skb_store_bytes(skb, IP_SADDR_OFF, &nat_addr, 4, 0))
		return -BERTH_DROP_REWRITE;
	ret = dec_ttl(skb);
	if (!ret)
		ret = out_by_fib(skb, fib, rc, o);
	return ret < 0 ? ret : BERTH_PASS_ICMP_ERROR;
}

/*
 * Out through the uplink: masqueraded to its address with a source port of
 * berth's range, the next hop from bpf_fib_lookup. Replies come back through
 * the uplink's program. Destinations the host owns go to the stack.
 */
static __always_inline int route_out(struct __sk_buff *skb, struct hdr_cursor *c,
				     struct iphdr *iph, const struct berth_ep *ep,
				     const struct berth_cfg *cfg, struct out *o)
{
	struct bpf_fib_lookup fib = {};
	struct berth_ct *ct;
	struct flow f = {};
	__be32 nat_addr;
	__be16 nat_port;
	int ret;
	long rc;

	if (!cfg || !(cfg->flags & BERTH_CFG_UPLINK))
		return BERTH_PASS_ROUTED;	/* no uplink: routed by the host, unchanged */
	ret = parse_flow(c, iph, &f);
	fib.family = AF_INET;
	fib.tos = iph->tos;
	fib.l4_protocol = iph->protocol;
	/*
	 * A GSO packet's tot_len is the whole of it, not of the segments it
	 * leaves as: with tot_len 0 the kernel checks the skb instead, and
	 * passes GSO packets.
	 */
	fib.tot_len = skb->gso_size ? 0 : bpf_ntohs(iph->tot_len);
	fib.ipv4_src = iph->saddr;
	fib.ipv4_dst = iph->daddr;
	fib.ifindex = skb->ifindex;
	rc = bpf_fib_lookup(skb, &fib, sizeof(fib), 0);
	if (rc == BPF_FIB_LKUP_RET_NOT_FWDED)
		return to_host(skb, c, iph, ep, cfg, o);	/* an address of the host */
	if (rc == BPF_FIB_LKUP_RET_FRAG_NEEDED) {
		/*
		 * With DF set, the host's forwarding answers "fragmentation needed"
		 * and drops it, so path MTU discovery works; without DF it would
		 * fragment and send it on untranslated.
		 */
		if (iph->frag_off & bpf_htons(IP_DF))
			return BERTH_PASS_HOST_ICMP;
		return -BERTH_DROP_TOO_BIG;
	}
	if (rc != BPF_FIB_LKUP_RET_SUCCESS && rc != BPF_FIB_LKUP_RET_NO_NEIGH)
		return -BERTH_DROP_NO_ROUTE;
	/*
	 * Only the uplink's program turns replies back: a flow masqueraded out of
	 * another interface would have its replies reach the host untranslated.
	 */
	if (fib.ifindex != cfg->uplink_ifindex)
		return -BERTH_DROP_NO_ROUTE;
	if (ret < 0)
		return ret;
	/* the host's forwarding answers "time exceeded" and drops it: traceroute works */
	if (iph->ttl <= 1)
		return BERTH_PASS_HOST_ICMP;
	if (f.key.proto == BERTH_PROTO_ICMP &&
	    (f.icmp_type == ICMP_DEST_UNREACH || f.icmp_type == ICMP_TIME_EXCEEDED))
		return published_icmp_error(skb, &f, &fib, rc, o);
	if (f.key.proto != BERTH_PROTO_TCP && f.key.proto != BERTH_PROTO_UDP &&
	    !(f.key.proto == BERTH_PROTO_ICMP && f.icmp_type == ICMP_ECHO))
		return -BERTH_DROP_CT_INVALID;	/* nothing to translate it by */

	ct = bpf_map_lookup_elem(&berth_ct_v1, &f.key);
	if (!ct) {
		struct berth_ct_key rk;

		/* a reply of a flow that came in through a published port? */
		key_swap(&rk, &f.key);
		ct = bpf_map_lookup_elem(&berth_ct_v1, &rk);
		if (ct && (ct->flags & BERTH_CT_DNAT))
			return published_reply(skb, &f, ct, &fib, rc, o);
		ct = NULL;
	}
	if (!ct) {
		struct berth_ct v = { .flags = BERTH_CT_SNAT, .nat_addr = cfg->uplink_ip };
		struct berth_ct_key nk;

		if (f.key.proto == BERTH_PROTO_TCP && (f.tcp_flags & BERTH_TCP_RST))
			return -BERTH_DROP_CT_INVALID;
		/* a later fragment opens no flow: its first one would have */
		if (f.frag == FLOW_FRAG_TAIL)
			return -BERTH_DROP_FRAGMENT;
		ret = snat_alloc(&f.key, cfg, &v.nat_port);
		if (ret < 0)
			return ret;
		ct_init(&v, &f, skb->ifindex, ep->slot, cfg->policy_rev);
		snat_key(&nk, &f.key, &v);
		ct = nat_flow_create(&f.key, &v, &nk, &ret);
		if (!ct)
			return ret;
	} else {
		ct_touch(ct, &f, 0);
	}
	/* a hairpin flow's tuple routed out: the host address it reached is gone */
	if (!(ct->flags & BERTH_CT_SNAT) || (ct->flags & BERTH_CT_HAIRPIN))
		return -BERTH_DROP_CT_INVALID;
	nat_addr = ct->nat_addr;
	nat_port = ct->nat_port;

	ret = rewrite_port(skb, &f, false, f.key.sport, nat_port);
	if (!ret)
		ret = rewrite_addr(skb, &f, false, f.key.saddr, nat_addr);
	if (!ret)
		ret = dec_ttl(skb);
	if (!ret)
		ret = out_by_fib(skb, &fib, rc, o);
	return ret < 0 ? ret : BERTH_PASS_SNAT;
}

/*
 * Frames to the gateway MAC: to the host's addresses, to a peer, or out
 * through the uplink; never to another network (only its gateway, an
 * address of the host), and never out of an internal one.
 */
static __always_inline int fwd_gateway(struct __sk_buff *skb, struct hdr_cursor *c,
				       struct iphdr *iph, const struct berth_ep *ep,
				       const struct berth_net *net, const struct berth_cfg *cfg,
				       struct out *o)
{
	__be32 daddr = iph->daddr;
	struct berth_ip_key key = { .ip = daddr };
	struct berth_subnet_key sk = { .prefixlen = 32, .addr = daddr };
	const struct berth_net *dn;
	struct berth_ip *dst;
	__u32 *dnet;
	int ret;

	dst = bpf_map_lookup_elem(&berth_ip_v2, &key);
	if (dst && dst->net_id != ep->net_id)
		return -BERTH_DROP_ISOLATION;
	if (dst) {
		if (net->flags & BERTH_NET_NO_ICC)
			return -BERTH_DROP_ICC;	/* a peer by way of the gateway is still a peer */
		ret = policy_check(c, iph, ep, cfg, skb->ifindex);
		return ret < 0 ? ret : BERTH_PASS_STACK;
	}
	if ((daddr & net->mask) == net->subnet) {
		if (daddr != net->gateway)
			return BERTH_PASS_STACK;	/* an address nobody holds */
		/* a backend's reply (or ICMP error) of a hairpin flow, whatever its network */
		ret = hairpin_reply(skb, c, iph, o);
		if (ret == NOT_HAIRPIN)
			ret = hairpin_icmp_error(skb, c, iph, o);
		if (ret != NOT_HAIRPIN)
			return ret;
		/* an internal network reaches no published port: that is leaving it */
		if (net->flags & BERTH_NET_INTERNAL)
			return BERTH_PASS_STACK;
		return to_host(skb, c, iph, ep, cfg, o);
	}
	if (net->flags & BERTH_NET_INTERNAL)
		return -BERTH_DROP_INTERNAL;
	dnet = bpf_map_lookup_elem(&berth_subnet_v1, &sk);
	if (dnet) {
		/* another network: its gateway is an address of the host, the rest is not ours */
		dn = bpf_map_lookup_elem(&berth_net_v1, dnet);
		if (dn && daddr == dn->gateway)
			return to_host(skb, c, iph, ep, cfg, o);
		return -BERTH_DROP_ISOLATION;
	}
	return route_out(skb, c, iph, ep, cfg, o);
}

static __always_inline int handle_ipv4(struct __sk_buff *skb, struct hdr_cursor *c,
				       struct ethhdr *eth, const struct berth_ep *ep,
				       const struct berth_net *net, struct out *o)
{
	const struct berth_cfg *cfg = cfg_get();
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
		return fwd_gateway(skb, c, iph, ep, net, cfg, o);
	ret = fwd_l2(eth, ep, net, o);
	if (ret < 0)
		return ret;
	ret = policy_check(c, iph, ep, cfg, skb->ifindex);
	return ret < 0 ? ret : BERTH_PASS_FORWARD;
}

SEC("tc")
int berth_tc_endpoint_ingress(struct __sk_buff *skb)
{
	__u32 ifindex = skb->ifindex;	/* at tc ingress: the host-side veth */
	struct hdr_cursor c;
	struct out o = { 0 };
	__u32 slot = 0, net_id;
	const struct berth_net *net;
	const struct berth_ep *ep;
	struct ethhdr *eth;
	int ret, proto;

	ep = bpf_map_lookup_elem(&berth_ep_v2, &ifindex);
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

	pull_headers(skb);
	c.pos = (void *)(long)skb->data;
	c.end = (void *)(long)skb->data_end;
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
		ret = handle_ipv4(skb, &c, eth, ep, net, &o);
		break;
	default:
		ret = -BERTH_DROP_ETHERTYPE;
		break;
	}

out:
	count_verdict(slot, ret < 0 ? (__u32)-ret : (__u32)ret, skb->len);
	if (ret < 0)
		return TC_ACT_SHOT;
	if (ret == BERTH_PASS_ARP_REPLY)
		/* back out of the veth it came in on: into the asking endpoint */
		return redirect(ifindex, /* peer */ false);
	switch (o.how) {
	case HOW_PEER:
		return redirect(o.target, /* peer */ true);
	case HOW_EGRESS:
		return redirect(o.target, /* peer */ false);
	case HOW_NEIGH:
		record_redirect(o.target, false);
		return bpf_redirect_neigh(o.target, NULL, 0, 0);
	default:
		return TC_ACT_OK;
	}
}
