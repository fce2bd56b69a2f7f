// SPDX-License-Identifier: GPL-2.0-only
#include "dp.h"

#include <bpf/bpf.h>
#include <arpa/inet.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dns.skel.h"
#include "endpoint.skel.h"
#include "uplink.skel.h"
#include "instance.h"
#include "netns.h"

#define PROG_PIN "prog_endpoint"
#define DNS_PROG_PIN "prog_dns"
#define UPLINK_PROG_PIN "prog_uplink"

static bool dp_verbose;
/* Sizes of the maps a load creates; pins that exist keep theirs. */
static struct dp_sizes dp_load_sizes;

static int print_libbpf(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG || !dp_verbose)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

static int pin_get(const char *dir, const char *name)
{
	char path[600];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = bpf_obj_get(path);
	return fd < 0 ? -errno : fd;
}

/*
 * Load a skeleton, pinning its maps by name (or reusing the pins) and its
 * program under @dir. One per program so each object stays small.
 */
#define DEFINE_DP_LOAD(skel_name, prog, pin)                                 \
	static int dp_load_##skel_name(const char *dir)                      \
	{                                                                    \
		LIBBPF_OPTS(bpf_object_open_opts, opts, .pin_root_path = dir); \
		struct berth_##skel_name *skel;                              \
		char path[600];                                              \
		int err;                                                     \
									     \
		skel = berth_##skel_name##__open_opts(&opts);                \
		if (!skel)                                                   \
			return -errno;                                       \
		err = set_sizes(skel->obj);                                  \
		if (!err)                                                    \
			err = berth_##skel_name##__load(skel);               \
		if (!err) {                                                  \
			snprintf(path, sizeof(path), "%s/%s", dir, pin);     \
			err = bpf_program__pin(skel->progs.prog, path);      \
		}                                                            \
		berth_##skel_name##__destroy(skel);                          \
		return err;                                                  \
	}

/* Every object declares the sized maps: each must ask for the same size as the pin. */
static int set_sizes(struct bpf_object *obj)
{
	static const struct {
		const char *name;
		size_t off;
	} sized[] = {
		{ "berth_ct_v1", offsetof(struct dp_sizes, ct_max) },
		{ "berth_nat_v1", offsetof(struct dp_sizes, nat_max) },
	};

	for (size_t i = 0; i < sizeof(sized) / sizeof(sized[0]); i++) {
		struct bpf_map *m = bpf_object__find_map_by_name(obj, sized[i].name);
		uint32_t n = *(const uint32_t *)((const char *)&dp_load_sizes + sized[i].off);

		if (m && n && bpf_map__set_max_entries(m, n))
			return -EINVAL;
	}
	return 0;
}

DEFINE_DP_LOAD(endpoint, berth_tc_endpoint_ingress, PROG_PIN)
DEFINE_DP_LOAD(dns, berth_tc_dns_lo, DNS_PROG_PIN)
DEFINE_DP_LOAD(uplink, berth_tc_uplink_ingress, UPLINK_PROG_PIN)

/* The pinned program @pin, loaded first when absent. */
static int prog_get(const char *dir, const char *pin, int (*load)(const char *dir))
{
	int fd = pin_get(dir, pin), err;

	if (fd != -ENOENT)
		return fd;
	err = load(dir);
	return err ? err : pin_get(dir, pin);
}

int dp_open(struct dp *dp, const char *pin_dir, const struct dp_sizes *sizes, bool verbose)
{
	static const struct {
		const char *name;
		size_t off;
	} maps[] = {
		{ "berth_net_v1", offsetof(struct dp, net_fd) },
		{ "berth_ep_v2", offsetof(struct dp, ep_fd) },
		{ "berth_fdb_v1", offsetof(struct dp, fdb_fd) },
		{ "berth_ip_v2", offsetof(struct dp, ip_fd) },
		{ "berth_cnt_v1", offsetof(struct dp, cnt_fd) },
		{ "berth_dns_v1", offsetof(struct dp, dns_fd) },
		{ "berth_cfg_v1", offsetof(struct dp, cfg_fd) },
		{ "berth_subnet_v1", offsetof(struct dp, subnet_fd) },
		{ "berth_ct_v1", offsetof(struct dp, ct_fd) },
		{ "berth_nat_v1", offsetof(struct dp, nat_fd) },
		{ "berth_policy_v1", offsetof(struct dp, policy_fd) },
	};
	int err;

	dp_verbose = verbose;
	dp_load_sizes = sizes ? *sizes : (struct dp_sizes){ BERTH_CT_DEFAULT, BERTH_NAT_DEFAULT };
	libbpf_set_print(print_libbpf);
	memset(dp, -1, sizeof(*dp));
	err = bpffs_ensure();
	if (err)
		return err;
	err = mkdir_p(pin_dir, 0700);
	if (err)
		return err;
	dp->prog_fd = prog_get(pin_dir, PROG_PIN, dp_load_endpoint);
	if (dp->prog_fd < 0)
		return dp->prog_fd;
	dp->dns_prog_fd = prog_get(pin_dir, DNS_PROG_PIN, dp_load_dns);
	if (dp->dns_prog_fd < 0) {
		err = dp->dns_prog_fd;
		dp_close(dp);
		return err;
	}
	dp->uplink_prog_fd = prog_get(pin_dir, UPLINK_PROG_PIN, dp_load_uplink);
	if (dp->uplink_prog_fd < 0) {
		err = dp->uplink_prog_fd;
		dp_close(dp);
		return err;
	}
	for (size_t i = 0; i < sizeof(maps) / sizeof(maps[0]); i++) {
		int fd = pin_get(pin_dir, maps[i].name);

		if (fd < 0) {
			dp_close(dp);
			return fd;
		}
		*(int *)((char *)dp + maps[i].off) = fd;
	}
	return 0;
}

void dp_close(struct dp *dp)
{
	int *fds = (int *)dp;

	for (size_t i = 0; i < sizeof(*dp) / sizeof(int); i++)
		if (fds[i] >= 0)
			close(fds[i]);
	memset(dp, -1, sizeof(*dp));
}

static int tc_ingress_attach(int prog_fd, int ifindex)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = BPF_TC_INGRESS);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = BERTH_TC_HANDLE, .priority = BERTH_TC_PRIO,
		    .prog_fd = prog_fd, .flags = BPF_TC_F_REPLACE);
	int err;

	err = bpf_tc_hook_create(&hook);
	if (err && err != -EEXIST)
		return err;
	return bpf_tc_attach(&hook, &opts);
}

int dp_attach(const struct dp *dp, int ifindex)
{
	return tc_ingress_attach(dp->prog_fd, ifindex);
}

int dp_attach_uplink(const struct dp *dp, int ifindex)
{
	return tc_ingress_attach(dp->uplink_prog_fd, ifindex);
}

int dp_detach_uplink(int ifindex)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = BPF_TC_INGRESS);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = BERTH_TC_HANDLE, .priority = BERTH_TC_PRIO);
	int err;

	/* only berth's own filter: the clsact qdisc and others' filters stay */
	err = bpf_tc_detach(&hook, &opts);
	return err == -ENOENT || err == -ENODEV ? 0 : err;
}

int dp_map_size(int map_fd, uint32_t *max_entries)
{
	struct bpf_map_info info = { 0 };
	__u32 len = sizeof(info);

	if (bpf_obj_get_info_by_fd(map_fd, &info, &len))
		return -errno;
	*max_entries = info.max_entries;
	return 0;
}

int dp_map_count(int map_fd, size_t key_size, uint64_t *count)
{
	unsigned char key[64], next[64];
	void *prev = NULL;

	if (key_size > sizeof(key))
		return -EINVAL;
	*count = 0;
	while (!bpf_map_get_next_key(map_fd, prev, next)) {
		(*count)++;
		memcpy(key, next, key_size);
		prev = key;
	}
	return errno == ENOENT ? 0 : -errno;
}

int dp_attach_lo(const struct dp *dp, int netns_fd)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = 1 /* lo */, .attach_point = BPF_TC_EGRESS);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = BERTH_TC_HANDLE, .priority = BERTH_TC_PRIO,
		    .prog_fd = dp->dns_prog_fd, .flags = BPF_TC_F_REPLACE);
	int saved, err, err2;

	/* libbpf talks tc over a netlink socket of the current namespace */
	err = netns_enter(netns_fd, &saved);
	if (err)
		return err;
	err = bpf_tc_hook_create(&hook);
	if (!err || err == -EEXIST)
		err = bpf_tc_attach(&hook, &opts);
	err2 = netns_leave(saved);
	return err ? err : err2;
}

int dp_dns_set(const struct dp *dp, uint16_t port)
{
	struct berth_dns_cfg v = { .addr = htonl(0x7f00000b), .port = htons(port) };
	__u32 zero = 0;

	return bpf_map_update_elem(dp->dns_fd, &zero, &v, BPF_ANY) ? -errno : 0;
}

static int upd(int fd, const void *k, const void *v)
{
	return bpf_map_update_elem(fd, k, v, BPF_ANY) ? -errno : 0;
}

/* Deleting what is not there is fine: every undo is idempotent. */
static int del(int fd, const void *k)
{
	return bpf_map_delete_elem(fd, k) && errno != ENOENT ? -errno : 0;
}

int dp_net_set(const struct dp *dp, uint32_t id, const struct berth_net *net)
{
	return upd(dp->net_fd, &id, net);
}

int dp_net_del(const struct dp *dp, uint32_t id)
{
	struct berth_net zero = { 0 };

	/* an array map cannot delete: a zeroed entry has no BERTH_NET_PRESENT */
	return upd(dp->net_fd, &id, &zero);
}

int dp_ep_set(const struct dp *dp, uint32_t ifindex, const struct berth_ep *ep)
{
	return upd(dp->ep_fd, &ifindex, ep);
}

int dp_fdb_set(const struct dp *dp, uint32_t net_id, const uint8_t mac[6], uint32_t ifindex,
	       uint32_t slot)
{
	struct berth_fdb_key k = { .net_id = net_id };
	struct berth_fdb v = { .ifindex = ifindex, .slot = slot };

	memcpy(k.mac, mac, 6);
	return upd(dp->fdb_fd, &k, &v);
}

int dp_ip_set(const struct dp *dp, uint32_t ip_be, uint32_t net_id, uint32_t ifindex,
	      const uint8_t mac[6], uint32_t identity, uint32_t slot)
{
	struct berth_ip_key k = { .ip = ip_be };
	struct berth_ip v = { .net_id = net_id, .ifindex = ifindex, .identity = identity,
			      .slot = slot };

	memcpy(v.mac, mac, 6);
	return upd(dp->ip_fd, &k, &v);
}

int dp_cfg_get(const struct dp *dp, struct berth_cfg *cfg)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(dp->cfg_fd, &zero, cfg) ? -errno : 0;
}

int dp_cfg_set(const struct dp *dp, const struct berth_cfg *cfg)
{
	__u32 zero = 0;

	return upd(dp->cfg_fd, &zero, cfg);
}

int dp_subnet_set(const struct dp *dp, uint32_t addr_be, uint8_t prefixlen, uint32_t net_id)
{
	/* the LPM trie's prefix counts the bits of addr, the key's only data */
	struct berth_subnet_key k = { .prefixlen = prefixlen, .addr = addr_be };

	return upd(dp->subnet_fd, &k, &net_id);
}

int dp_subnet_del(const struct dp *dp, uint32_t addr_be, uint8_t prefixlen)
{
	struct berth_subnet_key k = { .prefixlen = prefixlen, .addr = addr_be };

	return del(dp->subnet_fd, &k);
}

int dp_pinned_map_size(const char *pin_dir, const char *name, uint32_t *max_entries)
{
	int fd = pin_get(pin_dir, name), err;

	if (fd < 0)
		return fd;
	err = dp_map_size(fd, max_entries);
	close(fd);
	return err;
}

int dp_ep_del(const struct dp *dp, uint32_t ifindex, uint32_t net_id, const uint8_t mac[6],
	      uint32_t ip_be, uint32_t slot)
{
	struct berth_fdb_key fk = { .net_id = net_id };
	struct berth_ip_key ik = { .ip = ip_be };
	int err = 0, e;

	memcpy(fk.mac, mac, 6);
	if ((e = del(dp->ep_fd, &ifindex)))
		err = e;
	if ((e = del(dp->fdb_fd, &fk)))
		err = e;
	if ((e = del(dp->ip_fd, &ik)))
		err = e;
	/* the slot may be reused by another endpoint: its counters go with it */
	for (uint32_t r = 0; r < BERTH_REASON_MAX; r++) {
		struct berth_cnt_key ck = { .slot = slot, .reason = r };

		if ((e = del(dp->cnt_fd, &ck)))
			err = e;
	}
	return err;
}

int dp_counter(const struct dp *dp, uint32_t slot, uint32_t reason, uint64_t *packets,
	       uint64_t *bytes)
{
	struct berth_cnt_key k = { .slot = slot, .reason = reason };
	int ncpu = libbpf_num_possible_cpus();
	struct berth_cnt *v;

	*packets = *bytes = 0;
	if (ncpu < 0)
		return ncpu;
	v = calloc((size_t)ncpu, sizeof(*v));
	if (!v)
		return -ENOMEM;
	if (!bpf_map_lookup_elem(dp->cnt_fd, &k, v)) {
		for (int i = 0; i < ncpu; i++) {
			*packets += v[i].packets;
			*bytes += v[i].bytes;
		}
	}
	free(v);
	return 0;
}
