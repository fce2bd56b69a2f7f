/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The socket programs of an instance (bpf/sock.bpf.c): host processes reach
 * published ports through cgroup connect4/sendmsg4/recvmsg4/getpeername4
 * hooks, and bind4/bind6 keep other sockets off them. cgroup hooks belong to
 * cgroups, not namespaces: each instance attaches its own six BPF links to
 * the cgroup v2 root and pins them under its pin directory (link_sock_*), so
 * they outlive berth's processes; the programs act only on sockets whose
 * namespace cookie is the one `up` wrote to berth_skcfg_v1. The instance's
 * last `down` detaches them.
 */
#ifndef BERTH_SOCKHOOK_H
#define BERTH_SOCKHOOK_H

#include <bpf/bpf.h>
#include <stdbool.h>

struct dp;

#define SOCKHOOK_N 6

/* One hook: the program's pin (DP_PIN_SOCK is the last), its skeleton name, the link's pin. */
struct sockhook {
	const char *prog_pin;
	const char *prog;
	const char *link_pin;
	enum bpf_attach_type type;
};

/* The program pins, in sockhooks[] order, for lists of every pin (upgrade.c). */
#define SOCKHOOK_PROG_PINS                                                               \
	"prog_sock_sendmsg4", "prog_sock_recvmsg4", "prog_sock_getpeername4", "prog_sock_bind4", \
		"prog_sock_bind6", DP_PIN_SOCK

/* In pin order: connect4, the one dp_open checks for, comes last (dp.c: dp_load_sock). */
extern const struct sockhook sockhooks[SOCKHOOK_N];

/*
 * On `up`, in the instance's host namespace (entered): record its namespace
 * cookie and IPv4 addresses in the maps, then attach the links that are not
 * pinned, and point pinned ones at the pinned programs. A kernel or machine
 * that cannot (no SO_NETNS_COOKIE before 5.14, no cgroup2) is told in one
 * line and left without them: -EOPNOTSUPP. A stale datapath is left alone (0).
 */
int sockhook_up(const struct dp *dp, const char *pin_dir);
/* berth_hostip_v1 := the IPv4 addresses of the current namespace (added and removed). */
int sockhook_addrs_sync(const struct dp *dp);
/* One change sockhook_hostip_sync made: @addr (network order) added to the map or removed. */
typedef void sockhook_addr_fn(void *arg, __be32 addr, bool added);
/*
 * The same on the map @map_fd alone (the agent holds no struct dp: it opens the pin on
 * each change of the namespace's addresses); @changed, unless NULL, hears of each entry
 * added or removed. Another process syncing the map at the same time is harmless: both
 * read the kernel's addresses, and the one whose view is older is corrected by the next
 * address event.
 */
int sockhook_hostip_sync(int map_fd, sockhook_addr_fn *changed, void *arg);
/* Pinned links onto the programs pinned now (an upgrade); none is created. */
int sockhook_relink(const char *pin_dir);
/* Detach and unpin the instance's links: its last `down`. Absent ones are fine. */
int sockhook_down(const char *pin_dir);

#endif
