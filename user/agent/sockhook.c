// SPDX-License-Identifier: GPL-2.0-only
#include "sockhook.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <berth/maps.h>

#include "dp.h"
#include "pin.h"
#include "proc.h"

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71	/* Linux 5.14 */
#endif

const struct sockhook sockhooks[SOCKHOOK_N] = {
	{ "prog_sock_sendmsg4", "berth_sock_sendmsg4", "link_sock_sendmsg4",
	  BPF_CGROUP_UDP4_SENDMSG },
	{ "prog_sock_recvmsg4", "berth_sock_recvmsg4", "link_sock_recvmsg4",
	  BPF_CGROUP_UDP4_RECVMSG },
	{ "prog_sock_getpeername4", "berth_sock_getpeername4", "link_sock_getpeername4",
	  BPF_CGROUP_INET4_GETPEERNAME },
	{ "prog_sock_bind4", "berth_sock_bind4", "link_sock_bind4", BPF_CGROUP_INET4_BIND },
	{ "prog_sock_bind6", "berth_sock_bind6", "link_sock_bind6", BPF_CGROUP_INET6_BIND },
	{ DP_PIN_SOCK, "berth_sock_connect4", "link_sock_connect4", BPF_CGROUP_INET4_CONNECT },
};

/* The namespace cookie of the current network namespace (the instance's host one). */
static int netns_cookie(__u64 *cookie)
{
	socklen_t len = sizeof(*cookie);
	int fd, err = 0;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (getsockopt(fd, SOL_SOCKET, SO_NETNS_COOKIE, cookie, &len))
		err = -errno;
	close(fd);
	return err;
}

static bool ifa_has(const struct ifaddrs *ifa, __be32 addr)
{
	for (; ifa; ifa = ifa->ifa_next)
		if (ifa->ifa_addr && ifa->ifa_addr->sa_family == AF_INET &&
		    ((const struct sockaddr_in *)ifa->ifa_addr)->sin_addr.s_addr == addr)
			return true;
	return false;
}

int sockhook_hostip_sync(int map_fd, sockhook_addr_fn *changed, void *arg)
{
	struct berth_hostip_key *keys = NULL, k = { 0 };
	struct ifaddrs *ifa, *a;
	size_t n = 0;
	__u8 one = 1;
	int err = 0;

	if (getifaddrs(&ifa))
		return -errno;
	for (a = ifa; a && !err; a = a->ifa_next) {
		if (!a->ifa_addr || a->ifa_addr->sa_family != AF_INET)
			continue;
		k.addr = ((const struct sockaddr_in *)a->ifa_addr)->sin_addr.s_addr;
		/* BPF_NOEXIST tells the new ones apart; the value is always 1 */
		if (!bpf_map_update_elem(map_fd, &k, &one, BPF_NOEXIST)) {
			if (changed)
				changed(arg, k.addr, /* added */ true);
		} else if (errno != EEXIST) {
			err = -errno;
		}
	}
	/* then the addresses the namespace no longer has (a removed gateway, a changed uplink) */
	keys = err ? NULL : calloc(BERTH_MAX_HOSTADDRS, sizeof(*keys));
	if (!err && !keys)
		err = -ENOMEM;
	while (!err && n < BERTH_MAX_HOSTADDRS &&
	       !bpf_map_get_next_key(map_fd, n ? &keys[n - 1] : NULL, &keys[n]))
		n++;
	for (size_t i = 0; !err && i < n; i++) {
		if (ifa_has(ifa, keys[i].addr))
			continue;
		if (!bpf_map_delete_elem(map_fd, &keys[i])) {
			if (changed)
				changed(arg, keys[i].addr, /* added */ false);
		} else if (errno != ENOENT) {
			err = -errno;
		}
	}
	free(keys);
	freeifaddrs(ifa);
	return err;
}

int sockhook_addrs_sync(const struct dp *dp)
{
	return dp->hostip_fd < 0 ? 0 : sockhook_hostip_sync(dp->hostip_fd, NULL, NULL);
}

/* A link's program id, or 0. */
static __u32 link_prog_id(int link_fd)
{
	struct bpf_link_info info;
	__u32 len = sizeof(info);

	memset(&info, 0, sizeof(info));
	return bpf_obj_get_info_by_fd(link_fd, &info, &len) ? 0 : info.prog_id;
}

static __u32 prog_id(int prog_fd)
{
	struct bpf_prog_info info;
	__u32 len = sizeof(info);

	memset(&info, 0, sizeof(info));
	return bpf_obj_get_info_by_fd(prog_fd, &info, &len) ? 0 : info.id;
}

/*
 * One hook: a pinned link is pointed at the pinned program if it runs
 * another (BPF_LINK_UPDATE swaps it atomically: no connect() meets none);
 * an absent one is made on the cgroup @cg_fd (when >= 0) and pinned.
 */
static int link_ensure(const char *pin_dir, const struct sockhook *h, int cg_fd)
{
	char path[600];
	int prog_fd, link_fd, err = 0;

	prog_fd = pin_get(pin_dir, h->prog_pin);
	if (prog_fd < 0) {
		fprintf(stderr, "berth: open %s/%s: %s\n", pin_dir, h->prog_pin, strerror(-prog_fd));
		return prog_fd;
	}
	link_fd = pin_get(pin_dir, h->link_pin);
	if (link_fd >= 0) {
		if (link_prog_id(link_fd) != prog_id(prog_fd) &&
		    bpf_link_update(link_fd, prog_fd, NULL)) {
			err = -errno;
			fprintf(stderr, "berth: point %s/%s at %s: %s\n", pin_dir, h->link_pin,
				h->prog_pin, strerror(-err));
		}
		goto out_link;
	}
	if (link_fd != -ENOENT) {
		err = link_fd;
		fprintf(stderr, "berth: open %s/%s: %s\n", pin_dir, h->link_pin, strerror(-err));
		goto out_prog;
	}
	if (cg_fd < 0)
		goto out_prog;
	link_fd = bpf_link_create(prog_fd, cg_fd, h->type, NULL);
	if (link_fd < 0) {
		err = -errno;
		fprintf(stderr, "berth: attach %s to the cgroup v2 root: %s\n", h->prog_pin,
			strerror(-err));
		goto out_prog;
	}
	snprintf(path, sizeof(path), "%s/%s", pin_dir, h->link_pin);
	/* unpinned, the link goes with this process: a crash here leaves nothing attached */
	if (bpf_obj_pin(link_fd, path)) {
		err = -errno;
		fprintf(stderr, "berth: pin %s: %s\n", path, strerror(-err));
	}
out_link:
	close(link_fd);
out_prog:
	close(prog_fd);
	return err;
}

static int links_ensure(const char *pin_dir, int cg_fd)
{
	int err = 0;

	for (size_t i = 0; i < SOCKHOOK_N; i++) {
		int e = link_ensure(pin_dir, &sockhooks[i], cg_fd);

		err = err ? err : e;
	}
	return err;
}

int sockhook_up(const struct dp *dp, const char *pin_dir)
{
	struct berth_sockcfg cfg = { 0 };
	const char *root;
	__u32 zero = 0;
	int cg_fd, err;

	/* another build's pins: its programs, its maps (upgrade.h) */
	if (dp->stale || dp->skcfg_fd < 0)
		return 0;
	err = netns_cookie(&cfg.netns_cookie);
	if (err) {
		fprintf(stderr, "berth: warning: no namespace cookie (SO_NETNS_COOKIE, Linux 5.14): %s; published ports are not reachable from the host itself\n",
			strerror(-err));
		return -EOPNOTSUPP;
	}
	root = cgroup2_root();
	if (!root) {
		fprintf(stderr, "berth: warning: no cgroup v2 mount in /proc/mounts: published ports are not reachable from the host itself\n");
		return -EOPNOTSUPP;
	}
	/* the cookie first: programs attached before it would act on no socket, not on others' */
	if (bpf_map_update_elem(dp->skcfg_fd, &zero, &cfg, BPF_ANY)) {
		err = -errno;
		fprintf(stderr, "berth: write %s/berth_skcfg_v1: %s\n", pin_dir, strerror(-err));
		return err;
	}
	err = sockhook_addrs_sync(dp);
	if (err)
		fprintf(stderr, "berth: record the host's addresses in %s/berth_hostip_v1: %s\n",
			pin_dir, strerror(-err));
	cg_fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cg_fd < 0) {
		int e = -errno;

		fprintf(stderr, "berth: open %s: %s\n", root, strerror(-e));
		return err ? err : e;
	}
	{
		int e = links_ensure(pin_dir, cg_fd);

		err = err ? err : e;
	}
	close(cg_fd);
	return err;
}

int sockhook_relink(const char *pin_dir)
{
	return links_ensure(pin_dir, -1);
}

int sockhook_down(const char *pin_dir)
{
	int err = 0;

	for (size_t i = 0; i < SOCKHOOK_N; i++) {
		char path[600];
		int fd = pin_get(pin_dir, sockhooks[i].link_pin);

		if (fd == -ENOENT)
			continue;
		/* detach even if another process holds the link open (bpftool ...) */
		if (fd >= 0) {
			bpf_link_detach(fd);
			close(fd);
		}
		snprintf(path, sizeof(path), "%s/%s", pin_dir, sockhooks[i].link_pin);
		if (unlink(path) && errno != ENOENT && !err) {
			err = -errno;
			fprintf(stderr, "berth: unpin %s: %s\n", path, strerror(-err));
		}
	}
	return err;
}
