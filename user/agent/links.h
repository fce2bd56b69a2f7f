/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Links, addresses, routes and neighbours over rtnetlink (libnl-route-3). A struct nl_ctx
 * is a NETLINK_ROUTE socket bound to one network namespace for its whole life, whatever
 * namespace the caller is in later. Functions return 0 or -errno (the kernel's own errno
 * when it sent one); IPv4 addresses are in host byte order, as in the rest of berth.
 */
#ifndef BERTH_LINKS_H
#define BERTH_LINKS_H

#include <stdint.h>

/* Routes berth adds carry this protocol, so `ip route` shows them as "proto static". */
#define BERTH_RTPROT 4 /* RTPROT_STATIC */

struct nl_ctx;

/* A socket in the netns of @netns_fd (-1: the current one); NULL with errno set on failure. */
struct nl_ctx *nl_ctx_open(int netns_fd);
/* Closes the socket; NULL is fine. */
void nl_ctx_close(struct nl_ctx *ctx);
/* The kernel's extended-ack text for the last failed request, "" if it gave none. */
const char *nl_ctx_ext_ack(const struct nl_ctx *ctx);

/* A veth pair, both UP: @host_name in @host's netns, @peer_name (MAC, MTU) in @peer_netns_fd. */
int link_veth_create(struct nl_ctx *host, const char *host_name, int peer_netns_fd,
		     const char *peer_name, const uint8_t peer_mac[6], unsigned int mtu);
/* A dummy link, UP; -EEXIST if the name is taken. */
int link_dummy_create(struct nl_ctx *ctx, const char *name);
/* The ifindex (> 0) of @name, or -ENODEV. */
int link_ifindex(struct nl_ctx *ctx, const char *name);
/* The link-layer address of an Ethernet-like link. */
int link_get_mac(struct nl_ctx *ctx, int ifindex, uint8_t mac[6]);
/* Sets IFF_UP. */
int link_set_up(struct nl_ctx *ctx, int ifindex);
/* Deletes @name (a veth takes its peer with it); 0 if absent. */
int link_delete(struct nl_ctx *ctx, const char *name);
/* The MTU of @ifindex. */
int link_get_mtu(struct nl_ctx *ctx, int ifindex, unsigned int *mtu);
/* The name of @ifindex, into @name (IFNAMSIZ bytes). */
int link_get_name(struct nl_ctx *ctx, int ifindex, char *name);

/*
 * The primary IPv4 address of @ifindex (the first that is not secondary, global scope
 * preferred), host order; -EADDRNOTAVAIL when it has none.
 */
int addr_primary_ipv4(struct nl_ctx *ctx, int ifindex, uint32_t *ip);

/* Adds @ip/@prefixlen (with broadcast, as Docker does); 0 if exactly that address exists. */
int addr_add(struct nl_ctx *ctx, int ifindex, uint32_t ip, int prefixlen);
/* Removes @ip/@prefixlen; 0 if absent or the link is gone. */
int addr_del(struct nl_ctx *ctx, int ifindex, uint32_t ip, int prefixlen);

/* @ip/32 dev @ifindex scope link, main table; 0 if that route exists, -EEXIST if another does. */
int route_add_host(struct nl_ctx *ctx, uint32_t ip, int ifindex);
/* Removes that route; 0 if absent. */
int route_del_host(struct nl_ctx *ctx, uint32_t ip, int ifindex);
/* default via @gw dev @ifindex, main table; 0 if that route exists, -EEXIST if another does. */
int route_add_default(struct nl_ctx *ctx, uint32_t gw, int ifindex);
/* The device of the main table's IPv4 default route (lowest metric); -ENOENT when none. */
int route_default_ifindex(struct nl_ctx *ctx, int *ifindex);

/* A PERMANENT ARP entry @ip -> @mac on @ifindex, replacing any other entry for @ip. */
int neigh_add_permanent(struct nl_ctx *ctx, int ifindex, uint32_t ip, const uint8_t mac[6]);
/* Removes the entry for @ip on @ifindex; 0 if absent. */
int neigh_del(struct nl_ctx *ctx, int ifindex, uint32_t ip);

#endif
