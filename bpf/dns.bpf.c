// SPDX-License-Identifier: GPL-2.0-only
/*
 * tc egress of lo inside every endpoint: queries to 127.0.0.11:53 go to the
 * agent's port instead, and its answers come back from port 53. Docker does
 * the same with iptables DNAT to a random port; here both directions pass lo
 * egress, so one program sees them all. A service of the endpoint that binds
 * port 53 on every address (a DNS server in a container) never meets the
 * agent's socket.
 */
#include "lib/common.h"
#include "lib/maps.h"
#include "lib/parse.h"

char LICENSE[] SEC("license") = "GPL";

#define IPPROTO_TCP_ 6
#define IPPROTO_UDP_ 17
#define DNS_PORT 53

/* Rewrite the port at @off (checksum at @csum_off), keeping the L4 checksum right. */
static __always_inline void set_port(struct __sk_buff *skb, __u32 off, __u32 csum_off,
				     __be16 from, __be16 to, bool udp)
{
	/* a UDP checksum of 0 means "none" and must stay 0 */
	bpf_l4_csum_replace(skb, csum_off, from, to, sizeof(to) | (udp ? BPF_F_MARK_MANGLED_0 : 0));
	bpf_skb_store_bytes(skb, off, &to, sizeof(to), 0);
}

SEC("tc")
int berth_tc_dns_lo(struct __sk_buff *skb)
{
	struct hdr_cursor c = { .pos = (void *)(long)skb->data,
				.end = (void *)(long)skb->data_end };
	__u32 zero = 0, l4, csum_off;
	const struct berth_dns_cfg *cfg;
	__be16 sport, dport, dns = bpf_htons(DNS_PORT);
	struct ethhdr *eth;
	struct iphdr *iph;
	__be16 *ports;
	int proto;

	cfg = bpf_map_lookup_elem(&berth_dns_v1, &zero);
	if (!cfg || !cfg->port)
		return TC_ACT_OK;
	if (parse_ethhdr(&c, &eth) != ETH_P_IP)
		return TC_ACT_OK;
	proto = parse_iphdr(&c, &iph);
	if (proto != IPPROTO_UDP_ && proto != IPPROTO_TCP_)
		return TC_ACT_OK;
	if (iph->daddr != cfg->addr && iph->saddr != cfg->addr)
		return TC_ACT_OK;
	ports = c.pos;
	if ((void *)(ports + 2) > c.end)
		return TC_ACT_OK;
	sport = ports[0];
	dport = ports[1];
	l4 = (__u32)((void *)ports - (void *)(long)skb->data);
	csum_off = l4 + (proto == IPPROTO_UDP_ ? 6 : 16);
	if (iph->daddr == cfg->addr && dport == dns)
		set_port(skb, l4 + 2, csum_off, dns, cfg->port, proto == IPPROTO_UDP_); /* query → agent */
	else if (iph->saddr == cfg->addr && sport == cfg->port)
		set_port(skb, l4, csum_off, cfg->port, dns, proto == IPPROTO_UDP_); /* answer ← 53 */
	return TC_ACT_OK;
}
