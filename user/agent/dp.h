/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The datapath of an instance: the endpoint program and the maps, pinned
 * under the instance's pin directory. The first `up` loads and pins them;
 * later commands open the pins, so programs and maps (and the flows they
 * carry) outlive every berth process.
 */
#ifndef BERTH_DP_H
#define BERTH_DP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <berth/drop.h>
#include <berth/maps.h>

/* tc filter identity on host-side veths: berth's own, never another's */
#define BERTH_TC_HANDLE	0xb347
#define BERTH_TC_PRIO	0xb3

struct dp {
	int prog_fd;		/* endpoint: tc ingress of host-side veths */
	int dns_prog_fd;	/* dns: tc egress of lo inside endpoints */
	int uplink_prog_fd;	/* uplink: tc ingress of the uplink */
	int net_fd, ep_fd, fdb_fd, ip_fd, cnt_fd, dns_fd;
	int cfg_fd, subnet_fd, ct_fd, nat_fd, policy_fd;
};

/* Sizes of the maps sized per instance (0: the default). */
struct dp_sizes {
	uint32_t ct_max;	/* berth_ct_v1 */
	uint32_t nat_max;	/* berth_nat_v1 */
};

/*
 * Open the pinned datapath under @pin_dir, loading and pinning it when
 * absent, with maps of @sizes (NULL: defaults). Maps already pinned keep
 * their size: compare with dp_map_size().
 */
int dp_open(struct dp *dp, const char *pin_dir, const struct dp_sizes *sizes, bool verbose);
void dp_close(struct dp *dp);

/* tc ingress on the uplink; detaching removes berth's filter alone */
int dp_attach_uplink(const struct dp *dp, int ifindex);
int dp_detach_uplink(int ifindex);
/* A map's max_entries, and how many entries it holds (a walk of its keys). */
int dp_map_size(int map_fd, uint32_t *max_entries);
int dp_map_count(int map_fd, size_t key_size, uint64_t *count);

/* tc ingress on a host-side veth (clsact created if missing) */
int dp_attach(const struct dp *dp, int ifindex);
/* tc egress on lo inside the namespace of @netns_fd: the DNS port translation */
int dp_attach_lo(const struct dp *dp, int netns_fd);
/* The agent's port inside endpoints (0: translation off); network-order 127.0.0.11 implied. */
int dp_dns_set(const struct dp *dp, uint16_t port);

int dp_net_set(const struct dp *dp, uint32_t id, const struct berth_net *net);
int dp_net_del(const struct dp *dp, uint32_t id);
int dp_ep_set(const struct dp *dp, uint32_t ifindex, const struct berth_ep *ep);
/* Remove the ep, fdb and ip entries of an endpoint interface, and its counters. */
int dp_ep_del(const struct dp *dp, uint32_t ifindex, uint32_t net_id, const uint8_t mac[6],
	      uint32_t ip_be, uint32_t slot);
int dp_fdb_set(const struct dp *dp, uint32_t net_id, const uint8_t mac[6], uint32_t ifindex,
	       uint32_t slot);
int dp_ip_set(const struct dp *dp, uint32_t ip_be, uint32_t net_id, uint32_t ifindex,
	      const uint8_t mac[6], uint32_t identity, uint32_t slot);

/* berth_cfg_v1's one entry. */
int dp_cfg_get(const struct dp *dp, struct berth_cfg *cfg);
int dp_cfg_set(const struct dp *dp, const struct berth_cfg *cfg);
/* berth_subnet_v1: @addr_be/@prefixlen → @net_id; deleting an absent entry is fine. */
int dp_subnet_set(const struct dp *dp, uint32_t addr_be, uint8_t prefixlen, uint32_t net_id);
int dp_subnet_del(const struct dp *dp, uint32_t addr_be, uint8_t prefixlen);
/* max_entries of the map pinned as @name under @pin_dir; -ENOENT when it is not pinned. */
int dp_pinned_map_size(const char *pin_dir, const char *name, uint32_t *max_entries);

/* Sum of a (slot, reason) counter over every CPU. */
int dp_counter(const struct dp *dp, uint32_t slot, uint32_t reason, uint64_t *packets,
	       uint64_t *bytes);

#endif
