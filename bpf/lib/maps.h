/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * berth's maps, defined once for every BPF object. Pinned by name under the
 * instance's pin root (/sys/fs/bpf/berth/<instance>/), so every object and
 * every berth command of that instance shares them. Layouts: include/berth/maps.h.
 */
#ifndef BERTH_BPF_MAPS_H
#define BERTH_BPF_MAPS_H

#include "common.h"

/* networks of the instance, by network id */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, BERTH_MAX_NETS);
	__type(key, __u32);
	__type(value, struct berth_net);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} berth_net_v1 SEC(".maps");

/* endpoint interfaces, by host-side ifindex */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, BERTH_MAX_EPS);
	__type(key, __u32);
	__type(value, struct berth_ep);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} berth_ep_v2 SEC(".maps");

/* forwarding database: (network, MAC) → host-side ifindex */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, BERTH_MAX_EPS);
	__type(key, struct berth_fdb_key);
	__type(value, struct berth_fdb);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} berth_fdb_v1 SEC(".maps");

/* endpoint addresses of every network: ARP answers and isolation */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, BERTH_MAX_EPS);
	__type(key, struct berth_ip_key);
	__type(value, struct berth_ip);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} berth_ip_v2 SEC(".maps");

/* verdict counters by (slot, reason), per CPU */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, BERTH_MAX_CNT);
	__type(key, struct berth_cnt_key);
	__type(value, struct berth_cnt);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} berth_cnt_v1 SEC(".maps");

/* the DNS address and the agent's port inside endpoints */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct berth_dns_cfg);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} berth_dns_v1 SEC(".maps");

/* instance-wide settings: the uplink, the SNAT port range, policy revision, timeouts */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct berth_cfg);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} berth_cfg_v1 SEC(".maps");

/* endpoint subnets of every network → network id */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, BERTH_MAX_NETS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct berth_subnet_key);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} berth_subnet_v1 SEC(".maps");

/* conntrack: one entry per flow; preallocated, never evicting (size set at load) */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, BERTH_CT_DEFAULT);
	__type(key, struct berth_ct_key);
	__type(value, struct berth_ct);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} berth_ct_v1 SEC(".maps");

/* SNAT translations: reply tuple on the uplink → the flow (size set at load) */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, BERTH_NAT_DEFAULT);
	__type(key, struct berth_ct_key);
	__type(value, struct berth_nat);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} berth_nat_v1 SEC(".maps");

/* policy rules by (revision, from identity, to identity, proto) */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, BERTH_MAX_POLICY);
	__type(key, struct berth_policy_key);
	__type(value, struct berth_policy);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} berth_policy_v1 SEC(".maps");

/* published ports: (host address, port, protocol) → the endpoint behind it */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, BERTH_MAX_PORTS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct berth_port_key);
	__type(value, struct berth_port);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} berth_port_v1 SEC(".maps");

/* published (port, protocol) → how many addresses publish it: the bind hooks' wildcard test */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, BERTH_MAX_PBIND);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct berth_pbind_key);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} berth_pbind_v1 SEC(".maps");

/* a fragmented datagram's ports, for its later fragments (LRU: not conntrack) */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, BERTH_FRAG_MAX);
	__type(key, struct berth_frag_key);
	__type(value, struct berth_frag);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} berth_frag_v1 SEC(".maps");

/* the last redirect target, written only when cfg_record_redirect is set (tests) */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct berth_redir);
} berth_redir_v1 SEC(".maps");

/* the socket programs' settings: the instance's host namespace cookie */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct berth_sockcfg);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} berth_skcfg_v1 SEC(".maps");

/* IPv4 addresses of the instance's host namespace → 1 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, BERTH_MAX_HOSTADDRS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct berth_hostip_key);
	__type(value, __u8);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} berth_hostip_v1 SEC(".maps");

/* (host socket, backend) → the published address it asked for; LRU: not conntrack */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, BERTH_SOCKREV_MAX);
	__type(key, struct berth_sockrev_key);
	__type(value, struct berth_sockrev);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} berth_skrev_v1 SEC(".maps");

#endif
