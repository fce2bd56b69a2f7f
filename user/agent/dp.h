/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The datapath of an instance: the endpoint program and the maps, pinned
 * under the instance's pin directory. The first `up` loads and pins them;
 * later commands open the pins, so programs and maps (and the flows they
 * carry) outlive every berth process. Which build's objects the pins hold is
 * recorded beside the state (dp_fingerprint); an `up` of another build
 * replaces them in place (upgrade.h, docs/maps.md#upgrades).
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

/* Program pins under the instance's pin directory. */
#define DP_PIN_ENDPOINT	"prog_endpoint"
#define DP_PIN_DNS	"prog_dns"
#define DP_PIN_UPLINK	"prog_uplink"
/* the socket programs' connect4, pinned last of the six (the others: sockhook.h) */
#define DP_PIN_SOCK	"prog_sock_connect4"

struct dp {
	int prog_fd;		/* endpoint: tc ingress of host-side veths */
	int dns_prog_fd;	/* dns: tc egress of lo inside endpoints */
	int uplink_prog_fd;	/* uplink: tc ingress of the uplink */
	int net_fd, ep_fd, fdb_fd, ip_fd, cnt_fd, dns_fd;
	int cfg_fd, subnet_fd, ct_fd, nat_fd, policy_fd;
	int port_fd;		/* berth_port_v1: published ports */
	int sock_prog_fd;	/* sock: cgroup connect4 (sockhook.c opens the others by pin) */
	int skcfg_fd, hostip_fd, skrev_fd;	/* the socket programs' maps */
	int pbind_fd;		/* berth_pbind_v1: the bind hooks' published (port, protocol) */
	int frag_fd;		/* berth_frag_v1: fragmented datagrams' ports */
	/* stale only: berth_ep_v1 and berth_ip_v1 of an older datapath (-1: none) */
	int ep_old_fd, ip_old_fd;
	/*
	 * The pins are another build's, opened as they are: maps that build
	 * lacks are -1, and dp_ep_set/dp_ip_set refuse (-ESTALE). Deletes work
	 * (on the old maps too), so down and recovery never need an upgrade.
	 */
	bool stale;
};

/* Sizes of the maps sized per instance (0: the default). */
struct dp_sizes {
	uint32_t ct_max;	/* berth_ct_v1 */
	uint32_t nat_max;	/* berth_nat_v1 */
};

/*
 * Open the pinned datapath under @pin_dir, loading and pinning it when
 * absent, with maps of @sizes (NULL: defaults). Maps already pinned keep
 * their size: compare with dp_map_size(). Pins of another build are opened
 * as they are, never reloaded (dp->stale): dp_upgrade() replaces them.
 */
int dp_open(struct dp *dp, const char *pin_dir, const struct dp_sizes *sizes, bool verbose);
/*
 * For read-only commands: open whatever is pinned, never load or change a
 * thing. Maps the pinned datapath lacks stay -1; dp->stale says it is
 * another build's. -ENOENT when nothing is pinned.
 */
int dp_open_ro(struct dp *dp, const char *pin_dir, bool verbose);
void dp_close(struct dp *dp);

/* ---- which datapath an instance runs ---- */

/* FNV-1a 64 of the BPF objects this binary embeds (the skeletons' ELF bytes). */
uint64_t dp_fingerprint(void);
/*
 * The fingerprint recorded for the pins under @pin_dir: the file `datapath`
 * of the instance's run directory (/run/berth/<instance>/). -ENOENT when
 * none is recorded (an instance made before berth recorded it).
 */
int dp_fingerprint_read(const char *pin_dir, uint64_t *fp);
/* Record this binary's fingerprint for @pin_dir (atomically). */
int dp_fingerprint_write(const char *pin_dir);

enum dp_status {
	DP_ABSENT,	/* no program is pinned: the first load is to come */
	DP_CURRENT,	/* this build's */
	DP_OTHER,	/* another build's, or one that recorded nothing */
};
enum dp_status dp_status(const char *pin_dir);

/*
 * Load this build's three objects into @pin_dir: maps pinned by name are
 * reused (one pinned with another type, key, value, size or flags is an
 * error that names it: -EINVAL), missing ones are created and pinned, each
 * program is pinned as prog_<name><@suffix>. Maps sized per instance take
 * the pinned size, else @sizes' (NULL or 0: defaults). libbpf speaks when @verbose.
 */
int dp_load(const char *pin_dir, const char *suffix, const struct dp_sizes *sizes, bool verbose);
/* Whether @name is a map this build pins (berth_ep_v2, ...): what an upgrade keeps. */
bool dp_map_known(const char *name);

/* tc ingress on the uplink; detaching removes berth's filter alone */
int dp_attach_uplink(const struct dp *dp, int ifindex);
int dp_detach_uplink(int ifindex);
/* A map's max_entries, and how many entries it holds (a walk of its keys). */
int dp_map_size(int map_fd, uint32_t *max_entries);
int dp_map_count(int map_fd, size_t key_size, uint64_t *count);
/*
 * Every entry of a hash map at once: batch lookups, or a walk of its keys
 * where the kernel has none. *@keys and *@vals (allocated, @n entries each,
 * in the map's order) hold @key_size and @val_size bytes per entry.
 */
int dp_map_dump(int map_fd, size_t key_size, size_t val_size, void **keys, void **vals,
		size_t *n);

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
