// SPDX-License-Identifier: GPL-2.0-only
/*
 * tc ingress of the uplink: what arrives from outside.
 *
 *   to 127.0.0.0/8 or an endpoint subnet → drop, counted
 *   a reply of a masqueraded flow        → translated back, into its endpoint
 *   to a published port                  → translated to its endpoint, into it
 *   an ICMP error about such a flow      → translated back, into its endpoint
 *   everything else (the host's own)     → untouched, uncounted
 */
#include "lib/common.h"
#include "lib/counters.h"
#include "lib/flow.h"
#include "lib/maps.h"
#include "lib/nat.h"
#include "lib/parse.h"

char LICENSE[] SEC("license") = "GPL";

/* Load-time: record each redirect in berth_redir_v1 (BPF_PROG_TEST_RUN reads it). */
const volatile bool cfg_record_redirect = false;

#define ICMP_CSUM_OFF(l4off)	((l4off) + 2)
#define ICMP_INNER_OFF(l4off)	((l4off) + 8)	/* the quoted IP header */

/* A verdict that stays with the host: nothing counted, nothing changed. */
#define HOST_TRAFFIC	0

/* Is @ct the masqueraded flow whose reply tuple on the uplink is @nk? */
static __always_inline bool snat_matches(const struct berth_ct *ct, const struct berth_ct_key *nk)
{
	return (ct->flags & BERTH_CT_SNAT) && ct->nat_addr == nk->daddr &&
	       ct->nat_port == nk->dport;
}

/* The endpoint a translated packet goes to: its MACs, then into its namespace. */
static __always_inline int deliver(struct __sk_buff *skb, __u32 ifindex)
{
	const struct berth_ep *ep = bpf_map_lookup_elem(&berth_ep_v2, &ifindex);
	int ret;

	if (!ep)
		return -BERTH_DROP_UNKNOWN_EP;
	ret = dec_ttl(skb);
	if (ret < 0)
		return ret;
	return set_macs(skb, ep->mac, ep->host_mac);
}

/* A reply of a masqueraded flow: back to the endpoint's address and port. */
static __always_inline int reply_nat(struct __sk_buff *skb, struct flow *f, __u32 *ifindex,
				     __u32 *slot)
{
	struct berth_nat *nat;
	struct berth_ct *ct;
	struct berth_ct_key k;

	nat = bpf_map_lookup_elem(&berth_nat_v1, &f->key);
	if (!nat)
		return HOST_TRAFFIC;
	k = nat->ct;
	ct = bpf_map_lookup_elem(&berth_ct_v1, &k);
	if (!ct)
		return HOST_TRAFFIC;	/* collected a moment ago: the GC takes the NAT entry too */
	if (!snat_matches(ct, &f->key)) {
		/* left over from a flow that since came back on another port */
		bpf_map_delete_elem(&berth_nat_v1, &f->key);
		return HOST_TRAFFIC;
	}
	*ifindex = ct->ifindex;
	*slot = ct->slot;
	ct_touch(ct, f, 1);
	/* echo replies carry the identifier where the request had it */
	if (rewrite_port(skb, f, true, f->key.dport, k.sport) < 0 ||
	    rewrite_addr(skb, f, true, f->key.daddr, k.saddr) < 0)
		return -BERTH_DROP_REWRITE;
	return BERTH_PASS_RNAT;
}

/*
 * An ICMP error (unreachable, fragmentation needed, time exceeded) quoting a
 * packet of a masqueraded flow, or a reply sent out through a published
 * port: the quoted source and the outer destination go back to the
 * endpoint's, so its stack matches the error to its socket (path MTU
 * discovery works for both).
 * Changing the quoted address together with the quoted IP checksum leaves
 * the ICMP checksum as it was; the quoted port moves it.
 */
static __always_inline int icmp_error_nat(struct __sk_buff *skb, struct flow *f,
					  const struct berth_cfg *cfg, __u32 *ifindex, __u32 *slot)
{
	__u32 inner = ICMP_INNER_OFF(f->l4off), inner_l4 = inner + 20;
	struct berth_ct_key nk = {}, k;
	struct iphdr iph;
	struct berth_nat *nat;
	struct berth_ct *ct;
	__be16 ports[4];	/* the quoted L4 header's first 8 bytes */
	__be16 from_port, to_port;
	__be32 to_addr;
	__u32 port_off;

	if (bpf_skb_load_bytes(skb, inner, &iph, sizeof(iph)) ||
	    bpf_skb_load_bytes(skb, inner_l4, ports, sizeof(ports)))
		return HOST_TRAFFIC;	/* too short to be about a flow of ours */
	if (iph.version != 4 || iph.ihl != 5)
		return HOST_TRAFFIC;
	nk.saddr = iph.daddr;
	nk.daddr = iph.saddr;
	nk.proto = iph.protocol;
	switch (iph.protocol) {
	case BERTH_PROTO_TCP:
	case BERTH_PROTO_UDP:
		nk.sport = ports[1];
		nk.dport = ports[0];
		port_off = inner_l4;
		break;
	case BERTH_PROTO_ICMP:
		if (((__u8 *)ports)[0] != ICMP_ECHO)
			return HOST_TRAFFIC;
		nk.dport = ports[2];	/* the quoted request's identifier */
		port_off = inner_l4 + 4;
		break;
	default:
		return HOST_TRAFFIC;
	}
	nat = bpf_map_lookup_elem(&berth_nat_v1, &nk);
	if (nat) {
		/* about a masqueraded flow: back to the endpoint's address and port */
		k = nat->ct;
		ct = bpf_map_lookup_elem(&berth_ct_v1, &k);
		if (!ct || !snat_matches(ct, &nk))
			return HOST_TRAFFIC;
		to_addr = k.saddr;
		from_port = nk.dport;
		to_port = k.sport;
	} else if (iph.protocol != BERTH_PROTO_ICMP) {
		/*
		 * About a reply through a published port (say, fragmentation needed
		 * on the way to the client): the quoted source is the published
		 * address and port; the flow is keyed by the endpoint behind them.
		 */
		struct berth_port_key pk = { .addr = iph.saddr, .port = ports[0],
					     .proto = iph.protocol };
		struct berth_port *pp = bpf_map_lookup_elem(&berth_port_v1, &pk);

		if (!pp && iph.saddr == cfg->uplink_ip) {
			pk.addr = 0;
			pp = bpf_map_lookup_elem(&berth_port_v1, &pk);
		}
		if (!pp)
			return HOST_TRAFFIC;
		k.saddr = iph.daddr;
		k.daddr = pp->backend_ip;
		k.sport = ports[1];
		k.dport = pp->backend_port;
		k.proto = iph.protocol;
		k.pad[0] = k.pad[1] = k.pad[2] = 0;
		ct = bpf_map_lookup_elem(&berth_ct_v1, &k);
		if (!ct || !(ct->flags & BERTH_CT_DNAT) || ct->nat_addr != iph.saddr ||
		    ct->nat_port != ports[0])
			return HOST_TRAFFIC;
		to_addr = k.daddr;
		from_port = ports[0];
		to_port = k.dport;
	} else {
		return HOST_TRAFFIC;
	}
	*ifindex = ct->ifindex;
	*slot = ct->slot;

	/* quoted source address, with the quoted IP checksum */
	if (bpf_l3_csum_replace(skb, inner + 10, iph.saddr, to_addr, 4) ||
	    bpf_skb_store_bytes(skb, inner + 12, &to_addr, 4, 0))
		return -BERTH_DROP_REWRITE;
	/* quoted source port (or echo identifier), with the ICMP checksum */
	if (from_port != to_port &&
	    (bpf_l4_csum_replace(skb, ICMP_CSUM_OFF(f->l4off), from_port, to_port, 2) ||
	     bpf_skb_store_bytes(skb, port_off, &to_port, 2, 0)))
		return -BERTH_DROP_REWRITE;
	/* outer destination: the IP checksum alone (ICMP has no pseudo header) */
	if (bpf_l3_csum_replace(skb, IP_CSUM_OFF, f->key.daddr, to_addr, 4) ||
	    bpf_skb_store_bytes(skb, IP_DADDR_OFF, &to_addr, 4, 0))
		return -BERTH_DROP_REWRITE;
	return BERTH_PASS_ICMP_ERROR;
}

#define PACKET_HOST_	0	/* skb->pkt_type of a frame addressed to this host */

/* A source address no client on the wire can have. */
static __always_inline bool wire_source_forged(__be32 saddr, const struct berth_cfg *cfg)
{
	__u32 a = bpf_ntohl(saddr);

	return (a >> 24) == 127 || (a >> 24) == 0 || a >= 0xe0000000 ||
	       saddr == cfg->uplink_ip || bpf_map_lookup_elem(&berth_hostip_v1, &saddr);
}

/*
 * In through a published port: the exact host address first, then "every
 * address" when the packet is addressed to the uplink. The flow is tracked
 * with the address and port the client reached, for its replies; the
 * endpoint sees the client's own address (no proxy).
 */
static __always_inline int published_in(struct __sk_buff *skb, struct flow *f,
					const struct berth_cfg *cfg, __u32 *ifindex, __u32 *slot)
{
	struct berth_port_key pk = { .addr = f->key.daddr, .port = f->key.dport,
				     .proto = f->key.proto };
	struct berth_subnet_key sk = { .prefixlen = 32 };
	struct berth_ct_key k = {};
	struct berth_port *pp;
	struct berth_port be;
	struct berth_ct *ct;

	pp = bpf_map_lookup_elem(&berth_port_v1, &pk);
	if (!pp && f->key.daddr == cfg->uplink_ip) {
		pk.addr = 0;
		pp = bpf_map_lookup_elem(&berth_port_v1, &pk);
	}
	if (!pp)
		return HOST_TRAFFIC;
	/* a frame for another host's MAC (promiscuous mode) is none of the host's */
	if (skb->pkt_type != PACKET_HOST_)
		return HOST_TRAFFIC;
	/*
	 * From the wire, a source that cannot be a client's is forged: 127.0.0.0/8,
	 * an endpoint subnet (it would pass for a sibling or a gateway inside the
	 * endpoint), an address of the host itself (the endpoint's replies would
	 * reach the host's own sockets), 0.0.0.0/8, multicast and broadcast. The
	 * host's rp_filter never sees a packet redirected past its stack.
	 */
	sk.addr = f->key.saddr;
	if (wire_source_forged(sk.addr, cfg) || bpf_map_lookup_elem(&berth_subnet_v1, &sk))
		return -BERTH_DROP_SPOOF_IP;
	be = *pp;
	k.saddr = f->key.saddr;
	k.daddr = be.backend_ip;
	k.sport = f->key.sport;
	k.dport = be.backend_port;
	k.proto = f->key.proto;
	ct = bpf_map_lookup_elem(&berth_ct_v1, &k);
	if (!ct) {
		struct berth_ct v = { .flags = BERTH_CT_DNAT, .nat_addr = f->key.daddr,
				      .nat_port = f->key.dport };

		/* a later fragment opens no flow: its first one would have */
		if (f->frag == FLOW_FRAG_TAIL)
			return HOST_TRAFFIC;
		if (f->key.proto == BERTH_PROTO_TCP && (f->tcp_flags & BERTH_TCP_RST))
			return -BERTH_DROP_CT_INVALID;
		ct_init(&v, f, be.ifindex, be.slot, 0);
		if (ct_create(&k, &v) < 0)
			return -BERTH_DROP_CT_FULL;
	} else {
		if (!(ct->flags & BERTH_CT_DNAT))
			return -BERTH_DROP_CT_INVALID;
		if (ct->nat_addr != f->key.daddr || ct->nat_port != f->key.dport) {
			/*
			 * The client's tuple is already a flow to this endpoint port through
			 * another published port. A datagram (or a new connection after a
			 * finished one) takes the tuple over; a live connection keeps it.
			 */
			if (f->key.proto == BERTH_PROTO_TCP && ct->state != BERTH_CT_CLOSE &&
			    ct->state != BERTH_CT_TIME_WAIT)
				return -BERTH_DROP_CT_INVALID;
			ct->nat_addr = f->key.daddr;
			ct->nat_port = f->key.dport;
			ct->flags &= (__u8)~BERTH_CT_SEEN_REPLY;
		}
		ct_touch(ct, f, 0);
	}
	*ifindex = be.ifindex;
	*slot = be.slot;
	if (rewrite_port(skb, f, true, f->key.dport, be.backend_port) < 0 ||
	    rewrite_addr(skb, f, true, f->key.daddr, be.backend_ip) < 0)
		return -BERTH_DROP_REWRITE;
	return BERTH_PASS_DNAT;
}

static __always_inline int handle_ipv4(struct __sk_buff *skb, struct hdr_cursor *c,
				       __u32 *ifindex, __u32 *slot)
{
	struct berth_subnet_key sk = { .prefixlen = 32 };
	const struct berth_cfg *cfg;
	struct flow f = {};
	struct iphdr *iph;
	int ret;

	/*
	 * The address is read on its own first: the drops below must hold even
	 * for a header berth cannot parse.
	 */
	if (bpf_skb_load_bytes(skb, IP_DADDR_OFF, &sk.addr, 4))
		return HOST_TRAFFIC;	/* shorter than an IPv4 header: the host's to judge */
	/* CVE-2020-8558's class: nothing from the wire reaches loopback addresses */
	if ((sk.addr & bpf_htonl(0xff000000)) == bpf_htonl(0x7f000000))
		return -BERTH_DROP_WIRE_LOOPBACK;
	if (bpf_map_lookup_elem(&berth_subnet_v1, &sk))
		return -BERTH_DROP_WIRE_ENDPOINT;
	ret = parse_iphdr(c, &iph);
	if (ret < 0)
		return HOST_TRAFFIC;	/* the host's stack judges what berth cannot parse */
	cfg = cfg_get();
	if (!cfg || !(cfg->flags & BERTH_CFG_UPLINK))
		return HOST_TRAFFIC;
	ret = parse_flow(c, iph, &f);
	if (ret < 0)
		return HOST_TRAFFIC;	/* short headers, fragments of no flow: the host's */
	if (iph->daddr != cfg->uplink_ip) {
		/* a port published on another address of the host */
		if (f.key.proto == BERTH_PROTO_TCP || f.key.proto == BERTH_PROTO_UDP)
			return published_in(skb, &f, cfg, ifindex, slot);
		return HOST_TRAFFIC;
	}
	switch (f.key.proto) {
	case BERTH_PROTO_TCP:
	case BERTH_PROTO_UDP:
		/* a masqueraded flow's exact tuple first, then a published port */
		ret = reply_nat(skb, &f, ifindex, slot);
		if (ret != HOST_TRAFFIC)
			return ret;
		return published_in(skb, &f, cfg, ifindex, slot);
	case BERTH_PROTO_ICMP:
		if (f.icmp_type == ICMP_ECHOREPLY)
			return reply_nat(skb, &f, ifindex, slot);
		if (f.icmp_type == ICMP_DEST_UNREACH || f.icmp_type == ICMP_TIME_EXCEEDED)
			return icmp_error_nat(skb, &f, cfg, ifindex, slot);
		return HOST_TRAFFIC;
	default:
		return HOST_TRAFFIC;
	}
}

SEC("tc")
int berth_tc_uplink_ingress(struct __sk_buff *skb)
{
	__u32 slot = BERTH_SLOT_UPLINK, target = 0;
	struct hdr_cursor c;
	struct ethhdr *eth;
	int ret;

	pull_headers(skb);
	c.pos = (void *)(long)skb->data;
	c.end = (void *)(long)skb->data_end;
	if (parse_ethhdr(&c, &eth) != ETH_P_IP)
		return TC_ACT_OK;
	ret = handle_ipv4(skb, &c, &target, &slot);
	if (ret == HOST_TRAFFIC)
		return TC_ACT_OK;
	if (ret > 0)
		ret = deliver(skb, target) ?: ret;
	count_verdict(ret < 0 ? BERTH_SLOT_UPLINK : slot, ret < 0 ? (__u32)-ret : (__u32)ret,
		      skb->len);
	if (ret < 0)
		return TC_ACT_SHOT;
	if (cfg_record_redirect) {
		__u32 zero = 0;
		struct berth_redir *r = bpf_map_lookup_elem(&berth_redir_v1, &zero);

		if (r) {
			r->ifindex = target;
			r->peer = 1;
		}
	}
	return bpf_redirect_peer(target, 0);
}
