// SPDX-License-Identifier: GPL-2.0-only
/*
 * rtnetlink through libnl-route-3. libnl folds kernel errnos into its own NLE_* codes
 * (ENODEV, ENOENT and ESRCH all become NLE_OBJ_NOTFOUND), so each socket gets an error
 * callback that keeps the kernel's errno and its extended-ack text; a libnl code is
 * translated only when the failure did not come from the kernel.
 */
#include "links.h"
#include "netns.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <netlink/errno.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/veth.h>
#include <netlink/route/neighbour.h>
#include <netlink/route/route.h>

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

struct nl_ctx {
	struct nl_sock *sk;
	int kerr;		/* errno of the kernel's last NLMSG_ERROR, 0 if none */
	char ext_ack[160];	/* its extended-ack message, "" if none */
};

/* Keeps the kernel's errno and extended-ack text; NL_STOP ends the receive with an error. */
static int ctx_err_cb(struct sockaddr_nl *nla, struct nlmsgerr *e, void *arg)
{
	struct nlmsghdr *nlh = (struct nlmsghdr *)((char *)e - NLMSG_HDRLEN);
	struct nlattr *tb[NLMSGERR_ATTR_MAX + 1];
	struct nl_ctx *ctx = arg;
	size_t off, len;

	(void)nla;
	ctx->kerr = -e->error;
	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return NL_STOP;
	/* TLVs follow the echoed request, which NETLINK_CAP_ACK cuts to its header */
	off = sizeof(*e);
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
		off += e->msg.nlmsg_len - NLMSG_HDRLEN;
	off = NLMSG_ALIGN(off);
	len = nlh->nlmsg_len - NLMSG_HDRLEN;
	if (off >= len ||
	    nla_parse(tb, NLMSGERR_ATTR_MAX, (struct nlattr *)((char *)e + off), len - off, NULL))
		return NL_STOP;
	if (tb[NLMSGERR_ATTR_MSG])
		nla_strlcpy(ctx->ext_ack, tb[NLMSGERR_ATTR_MSG], sizeof(ctx->ext_ack));
	return NL_STOP;
}

/* Clears the error state before a request. */
static void ctx_reset(struct nl_ctx *ctx)
{
	ctx->kerr = 0;
	ctx->ext_ack[0] = '\0';
}

/* A libnl return value as 0 or -errno, the kernel's own errno when it sent one. */
static int ctx_errno(const struct nl_ctx *ctx, int nlerr)
{
	if (nlerr >= 0)
		return 0;
	if (ctx->kerr > 0)
		return -ctx->kerr;
	switch (-nlerr) {
	case NLE_EXIST:
		return -EEXIST;
	case NLE_OBJ_NOTFOUND:
	case NLE_NODEV:
		return -ENODEV;
	case NLE_PERM:
		return -EPERM;
	case NLE_NOMEM:
		return -ENOMEM;
	case NLE_INVAL:
	case NLE_MISSING_ATTR:
		return -EINVAL;
	case NLE_NOADDR:
		return -EADDRNOTAVAIL;
	case NLE_BUSY:
		return -EBUSY;
	case NLE_OPNOTSUPP:
		return -EOPNOTSUPP;
	case NLE_AGAIN:
		return -EAGAIN;
	case NLE_MSGSIZE:
		return -EMSGSIZE;
	case NLE_RANGE:
		return -ERANGE;
	default:
		return -EIO;
	}
}

struct nl_ctx *nl_ctx_open(int netns_fd)
{
	struct nl_ctx *ctx;
	int saved_fd = -1, one = 1, err;

	ctx = calloc(1, sizeof(*ctx));
	if (!ctx)
		return NULL;
	ctx->sk = nl_socket_alloc();
	if (!ctx->sk) {
		err = -ENOMEM;
		goto free_ctx;
	}
	nl_socket_modify_err_cb(ctx->sk, NL_CB_CUSTOM, ctx_err_cb, ctx);

	/* The socket's netns is fixed when it is created: create it inside the target. */
	if (netns_fd >= 0) {
		err = netns_enter(netns_fd, &saved_fd);
		if (err)
			goto free_sock;
	}
	err = nl_connect(ctx->sk, NETLINK_ROUTE);
	err = ctx_errno(ctx, err);
	if (saved_fd >= 0) {
		int leave_err = netns_leave(saved_fd);

		if (!err)
			err = leave_err;
	}
	if (err)
		goto free_sock;

	/* Best effort: kernels without them still answer, only with less to say. */
	setsockopt(nl_socket_get_fd(ctx->sk), SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
	setsockopt(nl_socket_get_fd(ctx->sk), SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
	return ctx;

free_sock:
	/* nl_socket_free() closes the socket if nl_connect() opened it */
	nl_socket_free(ctx->sk);
free_ctx:
	free(ctx);
	errno = -err;
	return NULL;
}

void nl_ctx_close(struct nl_ctx *ctx)
{
	if (!ctx)
		return;
	nl_socket_free(ctx->sk);
	free(ctx);
}

const char *nl_ctx_ext_ack(const struct nl_ctx *ctx)
{
	return ctx->ext_ack;
}

static bool ifname_valid(const char *name)
{
	return name && *name && strlen(name) < IFNAMSIZ && !strchr(name, '/');
}

/* An nl_addr of an IPv4 address given in host order. */
static struct nl_addr *ip4_addr(uint32_t ip, int prefixlen)
{
	uint32_t be = htonl(ip);
	struct nl_addr *a;

	a = nl_addr_build(AF_INET, &be, sizeof(be));
	if (a)
		nl_addr_set_prefixlen(a, prefixlen);
	return a;
}

/*
 * The peer goes straight into its netns (IFLA_NET_NS_FD inside VETH_INFO_PEER) with its
 * final name and MAC, so it never shows up in the host netns under a temporary name.
 * The host end is created UP in the same request. The peer is set UP afterwards from
 * inside its netns: libnl 3.7 sends the peer's ifinfomsg with ifi_change taken from
 * parsed state (0), which the kernel reads as "all flags" and would clear MULTICAST.
 */
int link_veth_create(struct nl_ctx *host, const char *host_name, int peer_netns_fd,
		     const char *peer_name, const uint8_t peer_mac[6], unsigned int mtu)
{
	char ack[sizeof(host->ext_ack)];
	struct nl_ctx *pctx = host;
	struct rtnl_link *link, *peer;
	struct nl_addr *mac = NULL;
	int ifindex, err;

	if (!ifname_valid(host_name) || !ifname_valid(peer_name))
		return -EINVAL;

	link = rtnl_link_veth_alloc();
	if (!link)
		return -ENOMEM;
	/* a reference of our own since libnl 3.2.27 (NL_CAPABILITY_..._GET_PEER_OWN_REFERENCE) */
	peer = rtnl_link_veth_get_peer(link);
	if (!peer) {
		err = -ENOMEM;
		goto put_link;
	}
	rtnl_link_set_name(link, host_name);
	rtnl_link_set_flags(link, IFF_UP);
	rtnl_link_set_name(peer, peer_name);
	if (mtu) {
		rtnl_link_set_mtu(link, mtu);
		rtnl_link_set_mtu(peer, mtu);
	}
	if (peer_mac) {
		mac = nl_addr_build(AF_LLC, peer_mac, 6);
		if (!mac) {
			err = -ENOMEM;
			goto put_peer;
		}
		rtnl_link_set_addr(peer, mac);
	}
	if (peer_netns_fd >= 0)
		rtnl_link_set_ns_fd(peer, peer_netns_fd);

	ctx_reset(host);
	err = ctx_errno(host, rtnl_link_add(host->sk, link, NLM_F_CREATE | NLM_F_EXCL));
	if (err)
		goto put_mac;

	if (peer_netns_fd >= 0) {
		pctx = nl_ctx_open(peer_netns_fd);
		if (!pctx) {
			err = -errno;
			goto delete_link;
		}
	}
	ifindex = link_ifindex(pctx, peer_name);
	if (ifindex < 0) {
		err = ifindex;
		goto close_pctx;
	}
	err = link_set_up(pctx, ifindex);
	if (err)
		goto close_pctx;
	if (pctx != host)
		nl_ctx_close(pctx);
	goto put_mac;

close_pctx:
	if (pctx != host) {
		/* the caller asks @host for the kernel's words */
		memcpy(host->ext_ack, pctx->ext_ack, sizeof(host->ext_ack));
		nl_ctx_close(pctx);
	}
delete_link:
	/* Deleting either end removes the pair, wherever the peer is. */
	memcpy(ack, host->ext_ack, sizeof(ack));
	link_delete(host, host_name);
	memcpy(host->ext_ack, ack, sizeof(ack));
put_mac:
	nl_addr_put(mac);
put_peer:
	rtnl_link_put(peer);
put_link:
	rtnl_link_put(link);
	return err;
}

int link_dummy_create(struct nl_ctx *ctx, const char *name)
{
	struct rtnl_link *link;
	int err;

	if (!ifname_valid(name))
		return -EINVAL;
	link = rtnl_link_alloc();
	if (!link)
		return -ENOMEM;
	err = rtnl_link_set_type(link, "dummy");
	if (err) {
		err = ctx_errno(ctx, err);
		goto put_link;
	}
	rtnl_link_set_name(link, name);
	rtnl_link_set_flags(link, IFF_UP);

	ctx_reset(ctx);
	err = ctx_errno(ctx, rtnl_link_add(ctx->sk, link, NLM_F_CREATE | NLM_F_EXCL));
put_link:
	rtnl_link_put(link);
	return err;
}

int link_ifindex(struct nl_ctx *ctx, const char *name)
{
	struct rtnl_link *link = NULL;
	int ifindex, err;

	if (!ifname_valid(name))
		return -EINVAL;
	ctx_reset(ctx);
	err = ctx_errno(ctx, rtnl_link_get_kernel(ctx->sk, 0, name, &link));
	if (err)
		return err;
	if (!link)
		return -ENODEV;
	ifindex = rtnl_link_get_ifindex(link);
	rtnl_link_put(link);
	return ifindex > 0 ? ifindex : -ENODEV;
}

int link_get_mac(struct nl_ctx *ctx, int ifindex, uint8_t mac[6])
{
	struct rtnl_link *link = NULL;
	struct nl_addr *addr;
	int err;

	if (ifindex <= 0)
		return -EINVAL;
	ctx_reset(ctx);
	err = ctx_errno(ctx, rtnl_link_get_kernel(ctx->sk, ifindex, NULL, &link));
	if (err)
		return err;
	if (!link)
		return -ENODEV;
	addr = rtnl_link_get_addr(link);
	if (!addr || nl_addr_get_len(addr) != 6) {
		err = -EAFNOSUPPORT;
		goto put_link;
	}
	memcpy(mac, nl_addr_get_binary_addr(addr), 6);
put_link:
	rtnl_link_put(link);
	return err;
}

int link_set_up(struct nl_ctx *ctx, int ifindex)
{
	struct rtnl_link *link;
	int err;

	if (ifindex <= 0)
		return -EINVAL;
	link = rtnl_link_alloc();
	if (!link)
		return -ENOMEM;
	rtnl_link_set_ifindex(link, ifindex);
	rtnl_link_set_flags(link, IFF_UP);

	/* one object as both "orig" and "changes": ifi_change = IFF_UP, nothing else */
	ctx_reset(ctx);
	err = ctx_errno(ctx, rtnl_link_change(ctx->sk, link, link, 0));
	rtnl_link_put(link);
	return err;
}

int link_delete(struct nl_ctx *ctx, const char *name)
{
	struct rtnl_link *link;
	int err;

	if (!ifname_valid(name))
		return -EINVAL;
	link = rtnl_link_alloc();
	if (!link)
		return -ENOMEM;
	rtnl_link_set_name(link, name);

	ctx_reset(ctx);
	err = ctx_errno(ctx, rtnl_link_delete(ctx->sk, link));
	if (err == -ENODEV)
		err = 0;
	rtnl_link_put(link);
	return err;
}

/* The link @ifindex as the kernel has it now; NULL with the error in *err. */
static struct rtnl_link *link_get(struct nl_ctx *ctx, int ifindex, int *err)
{
	struct rtnl_link *link = NULL;

	*err = -EINVAL;
	if (ifindex <= 0)
		return NULL;
	ctx_reset(ctx);
	*err = ctx_errno(ctx, rtnl_link_get_kernel(ctx->sk, ifindex, NULL, &link));
	if (!*err && !link)
		*err = -ENODEV;
	return *err ? NULL : link;
}

int link_get_mtu(struct nl_ctx *ctx, int ifindex, unsigned int *mtu)
{
	struct rtnl_link *link;
	int err;

	link = link_get(ctx, ifindex, &err);
	if (!link)
		return err;
	*mtu = rtnl_link_get_mtu(link);
	rtnl_link_put(link);
	return 0;
}

int link_get_name(struct nl_ctx *ctx, int ifindex, char *name)
{
	struct rtnl_link *link;
	const char *n;
	int err;

	link = link_get(ctx, ifindex, &err);
	if (!link)
		return err;
	n = rtnl_link_get_name(link);
	if (n && strlen(n) < IFNAMSIZ)
		strcpy(name, n);
	else
		err = -ENODEV;
	rtnl_link_put(link);
	return err;
}

/*
 * A dump request of @type with @hdr as its family header; @cb sees each message. The
 * socket's own error callback stays in place, so the kernel's errno is kept.
 */
static int dump(struct nl_ctx *ctx, int type, void *hdr, size_t hdrlen, nl_recvmsg_msg_cb_t cb,
		void *arg)
{
	struct nl_cb *ncb, *sk_cb;
	struct nl_msg *msg;
	int err;

	msg = nlmsg_alloc_simple(type, NLM_F_DUMP);
	if (!msg)
		return -ENOMEM;
	if (nlmsg_append(msg, hdr, hdrlen, NLMSG_ALIGNTO) < 0) {
		err = -EMSGSIZE;
		goto free_msg;
	}
	sk_cb = nl_socket_get_cb(ctx->sk);
	ncb = nl_cb_clone(sk_cb);
	nl_cb_put(sk_cb);
	if (!ncb) {
		err = -ENOMEM;
		goto free_msg;
	}
	nl_cb_set(ncb, NL_CB_VALID, NL_CB_CUSTOM, cb, arg);
	ctx_reset(ctx);
	err = nl_send_auto(ctx->sk, msg);
	if (err >= 0)
		err = nl_recvmsgs(ctx->sk, ncb);
	err = ctx_errno(ctx, err);
	nl_cb_put(ncb);
free_msg:
	nlmsg_free(msg);
	return err;
}

struct addr_pick {
	int ifindex;
	uint32_t ip;		/* network order */
	int rank;		/* 0: none yet, 1: primary of another scope, 2: primary, global */
};

static int addr_pick_cb(struct nl_msg *msg, void *arg)
{
	struct nlmsghdr *nlh = nlmsg_hdr(msg);
	struct ifaddrmsg *ifa = nlmsg_data(nlh);
	struct nlattr *tb[IFA_MAX + 1];
	struct addr_pick *k = arg;
	struct nlattr *a;
	uint32_t flags;
	int rank;

	if (nlh->nlmsg_type != RTM_NEWADDR || nlmsg_parse(nlh, sizeof(*ifa), tb, IFA_MAX, NULL) < 0)
		return NL_OK;
	if (ifa->ifa_family != AF_INET || (int)ifa->ifa_index != k->ifindex)
		return NL_OK;
	flags = tb[IFA_FLAGS] ? nla_get_u32(tb[IFA_FLAGS]) : ifa->ifa_flags;
	/* IFA_LOCAL is the interface's own address (IFA_ADDRESS is the peer's on p2p links) */
	a = tb[IFA_LOCAL] ? tb[IFA_LOCAL] : tb[IFA_ADDRESS];
	if (!a || (flags & IFA_F_SECONDARY))
		return NL_OK;
	rank = ifa->ifa_scope == RT_SCOPE_UNIVERSE ? 2 : 1;
	if (rank > k->rank) {
		k->rank = rank;
		k->ip = nla_get_u32(a);
	}
	return NL_OK;
}

int addr_primary_ipv4(struct nl_ctx *ctx, int ifindex, uint32_t *ip)
{
	struct ifaddrmsg ifa = { .ifa_family = AF_INET };
	struct addr_pick k = { .ifindex = ifindex };
	int err;

	if (ifindex <= 0)
		return -EINVAL;
	err = dump(ctx, RTM_GETADDR, &ifa, sizeof(ifa), addr_pick_cb, &k);
	if (err)
		return err;
	if (!k.rank)
		return -EADDRNOTAVAIL;
	*ip = ntohl(k.ip);
	return 0;
}

/* An rtnl_addr for @ip/@prefixlen on @ifindex; NULL with errno set. */
static struct rtnl_addr *addr_build(int ifindex, uint32_t ip, int prefixlen)
{
	struct nl_addr *local = NULL, *brd = NULL;
	struct rtnl_addr *addr;
	int err;

	if (ifindex <= 0 || prefixlen < 0 || prefixlen > 32) {
		errno = EINVAL;
		return NULL;
	}
	addr = rtnl_addr_alloc();
	if (!addr)
		goto nomem;
	local = ip4_addr(ip, prefixlen);
	if (!local)
		goto nomem;
	rtnl_addr_set_ifindex(addr, ifindex);
	rtnl_addr_set_family(addr, AF_INET);
	err = rtnl_addr_set_local(addr, local);
	if (err)
		goto inval;
	rtnl_addr_set_prefixlen(addr, prefixlen);
	/* /31 and /32 have no broadcast address (RFC 3021) */
	if (prefixlen <= 30) {
		brd = ip4_addr(ip | (0xffffffffu >> prefixlen), 32);
		if (!brd)
			goto nomem;
		err = rtnl_addr_set_broadcast(addr, brd);
		if (err)
			goto inval;
	}
	nl_addr_put(brd);
	nl_addr_put(local);
	return addr;

inval:
	errno = EINVAL;
	goto put_all;
nomem:
	errno = ENOMEM;
put_all:
	nl_addr_put(brd);
	nl_addr_put(local);
	if (addr)
		rtnl_addr_put(addr);
	return NULL;
}

int addr_add(struct nl_ctx *ctx, int ifindex, uint32_t ip, int prefixlen)
{
	struct rtnl_addr *addr;
	int err;

	addr = addr_build(ifindex, ip, prefixlen);
	if (!addr)
		return -errno;
	ctx_reset(ctx);
	err = ctx_errno(ctx, rtnl_addr_add(ctx->sk, addr, NLM_F_EXCL));
	/* the kernel says EEXIST only for the same local address with the same mask */
	if (err == -EEXIST)
		err = 0;
	rtnl_addr_put(addr);
	return err;
}

int addr_del(struct nl_ctx *ctx, int ifindex, uint32_t ip, int prefixlen)
{
	struct rtnl_addr *addr;
	int err;

	addr = addr_build(ifindex, ip, prefixlen);
	if (!addr)
		return -errno;
	ctx_reset(ctx);
	err = ctx_errno(ctx, rtnl_addr_delete(ctx->sk, addr, 0));
	if (err == -EADDRNOTAVAIL || err == -ENODEV)
		err = 0;
	rtnl_addr_put(addr);
	return err;
}

/* What route_find() looks for in the main table; addresses in network order. */
struct route_key {
	uint32_t dst;
	uint8_t dst_len;
	uint8_t scope;
	uint32_t gw;		/* 0: none */
	int oif;
	bool found;
};

static int route_match_cb(struct nl_msg *msg, void *arg)
{
	struct nlmsghdr *nlh = nlmsg_hdr(msg);
	struct rtmsg *rtm = nlmsg_data(nlh);
	struct nlattr *tb[RTA_MAX + 1];
	struct route_key *k = arg;
	uint32_t table;

	if (nlh->nlmsg_type != RTM_NEWROUTE ||
	    nlmsg_parse(nlh, sizeof(*rtm), tb, RTA_MAX, NULL) < 0)
		return NL_OK;
	table = tb[RTA_TABLE] ? nla_get_u32(tb[RTA_TABLE]) : rtm->rtm_table;
	if (rtm->rtm_family != AF_INET || table != RT_TABLE_MAIN || rtm->rtm_type != RTN_UNICAST ||
	    rtm->rtm_dst_len != k->dst_len || rtm->rtm_scope != k->scope || rtm->rtm_tos ||
	    (tb[RTA_PRIORITY] && nla_get_u32(tb[RTA_PRIORITY])))
		return NL_OK;
	if ((tb[RTA_DST] ? nla_get_u32(tb[RTA_DST]) : 0) != k->dst ||
	    (tb[RTA_GATEWAY] ? nla_get_u32(tb[RTA_GATEWAY]) : 0) != k->gw ||
	    !tb[RTA_OIF] || (int)nla_get_u32(tb[RTA_OIF]) != k->oif)
		return NL_OK;
	k->found = true;
	return NL_OK;
}

/*
 * Whether the main table holds exactly the route in @k. Only asked after an EEXIST, so
 * a dump is fine; without NETLINK_GET_STRICT_CHK the kernel ignores rtm_table and we
 * filter here.
 */
static int route_find(struct nl_ctx *ctx, struct route_key *k)
{
	struct rtmsg rtm = { .rtm_family = AF_INET, .rtm_table = RT_TABLE_MAIN };
	struct nl_cb *cb, *sk_cb;
	struct nl_msg *msg;
	int err;

	msg = nlmsg_alloc_simple(RTM_GETROUTE, NLM_F_DUMP);
	if (!msg)
		return -ENOMEM;
	if (nlmsg_append(msg, &rtm, sizeof(rtm), NLMSG_ALIGNTO) < 0) {
		err = -EMSGSIZE;
		goto free_msg;
	}
	sk_cb = nl_socket_get_cb(ctx->sk);
	cb = nl_cb_clone(sk_cb);
	nl_cb_put(sk_cb);
	if (!cb) {
		err = -ENOMEM;
		goto free_msg;
	}
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, route_match_cb, k);

	ctx_reset(ctx);
	k->found = false;
	err = nl_send_auto(ctx->sk, msg);
	if (err >= 0)
		err = nl_recvmsgs(ctx->sk, cb);
	err = ctx_errno(ctx, err);
	nl_cb_put(cb);
free_msg:
	nlmsg_free(msg);
	return err;
}

/* An IPv4 unicast route in the main table: @dst/@dst_len via @gw (0: none) dev @ifindex. */
static struct rtnl_route *route_build(uint32_t dst, int dst_len, uint32_t gw, int ifindex,
				      uint8_t scope, uint8_t protocol)
{
	struct nl_addr *dst_addr = NULL, *gw_addr = NULL;
	struct rtnl_nexthop *nh = NULL;
	struct rtnl_route *route;

	route = rtnl_route_alloc();
	if (!route)
		goto nomem;
	dst_addr = ip4_addr(dst, dst_len);
	if (!dst_addr)
		goto nomem;
	nh = rtnl_route_nh_alloc();
	if (!nh)
		goto nomem;
	rtnl_route_set_family(route, AF_INET);
	rtnl_route_set_table(route, RT_TABLE_MAIN);
	rtnl_route_set_type(route, RTN_UNICAST);
	/* set explicitly: libnl guesses a scope only when none was set */
	rtnl_route_set_scope(route, scope);
	rtnl_route_set_protocol(route, protocol);
	if (rtnl_route_set_dst(route, dst_addr))
		goto inval;
	rtnl_route_nh_set_ifindex(nh, ifindex);
	if (gw) {
		gw_addr = ip4_addr(gw, 32);
		if (!gw_addr)
			goto nomem;
		rtnl_route_nh_set_gateway(nh, gw_addr);
	}
	/* the route owns the nexthop from here */
	rtnl_route_add_nexthop(route, nh);
	nl_addr_put(gw_addr);
	nl_addr_put(dst_addr);
	return route;

inval:
	errno = EINVAL;
	goto put_all;
nomem:
	errno = ENOMEM;
put_all:
	if (nh)
		rtnl_route_nh_free(nh);
	nl_addr_put(gw_addr);
	nl_addr_put(dst_addr);
	if (route)
		rtnl_route_put(route);
	return NULL;
}

/*
 * NLM_F_EXCL, then on EEXIST a look at what is there: the same route is success (a
 * retried or resumed apply), anything else is -EEXIST and stays untouched. Without
 * EXCL the kernel would add ours beside a different one and shadow it.
 */
static int route_add(struct nl_ctx *ctx, uint32_t dst, int dst_len, uint32_t gw, int ifindex,
		     uint8_t scope)
{
	struct route_key k = {
		.dst = htonl(dst), .dst_len = dst_len, .scope = scope, .gw = htonl(gw),
		.oif = ifindex,
	};
	struct rtnl_route *route;
	int err;

	if (ifindex <= 0)
		return -EINVAL;
	route = route_build(dst, dst_len, gw, ifindex, scope, BERTH_RTPROT);
	if (!route)
		return -errno;
	ctx_reset(ctx);
	err = ctx_errno(ctx, rtnl_route_add(ctx->sk, route, NLM_F_EXCL));
	if (err != -EEXIST)
		goto put_route;
	err = route_find(ctx, &k);
	if (!err && !k.found)
		err = -EEXIST;
put_route:
	rtnl_route_put(route);
	return err;
}

int route_add_host(struct nl_ctx *ctx, uint32_t ip, int ifindex)
{
	return route_add(ctx, ip, 32, 0, ifindex, RT_SCOPE_LINK);
}

int route_add_default(struct nl_ctx *ctx, uint32_t gw, int ifindex)
{
	return route_add(ctx, 0, 0, gw, ifindex, RT_SCOPE_UNIVERSE);
}

struct default_pick {
	int ifindex;
	uint32_t metric;
	bool found;
};

static int default_pick_cb(struct nl_msg *msg, void *arg)
{
	struct nlmsghdr *nlh = nlmsg_hdr(msg);
	struct rtmsg *rtm = nlmsg_data(nlh);
	struct nlattr *tb[RTA_MAX + 1];
	struct default_pick *k = arg;
	uint32_t table, metric;
	int oif = 0;

	if (nlh->nlmsg_type != RTM_NEWROUTE ||
	    nlmsg_parse(nlh, sizeof(*rtm), tb, RTA_MAX, NULL) < 0)
		return NL_OK;
	table = tb[RTA_TABLE] ? nla_get_u32(tb[RTA_TABLE]) : rtm->rtm_table;
	if (rtm->rtm_family != AF_INET || table != RT_TABLE_MAIN || rtm->rtm_type != RTN_UNICAST ||
	    rtm->rtm_dst_len)
		return NL_OK;
	if (tb[RTA_OIF]) {
		oif = (int)nla_get_u32(tb[RTA_OIF]);
	} else if (tb[RTA_MULTIPATH] && nla_len(tb[RTA_MULTIPATH]) >= (int)sizeof(struct rtnexthop)) {
		/* multipath: the first hop's device */
		oif = ((struct rtnexthop *)nla_data(tb[RTA_MULTIPATH]))->rtnh_ifindex;
	}
	metric = tb[RTA_PRIORITY] ? nla_get_u32(tb[RTA_PRIORITY]) : 0;
	if (oif > 0 && (!k->found || metric < k->metric)) {
		k->found = true;
		k->metric = metric;
		k->ifindex = oif;
	}
	return NL_OK;
}

int route_default_ifindex(struct nl_ctx *ctx, int *ifindex)
{
	struct rtmsg rtm = { .rtm_family = AF_INET, .rtm_table = RT_TABLE_MAIN };
	struct default_pick k = { 0 };
	int err;

	err = dump(ctx, RTM_GETROUTE, &rtm, sizeof(rtm), default_pick_cb, &k);
	if (err)
		return err;
	if (!k.found)
		return -ENOENT;
	*ifindex = k.ifindex;
	return 0;
}

int route_del_host(struct nl_ctx *ctx, uint32_t ip, int ifindex)
{
	struct rtnl_route *route;
	int err;

	if (ifindex <= 0)
		return -EINVAL;
	/* scope NOWHERE and protocol 0 are wildcards to the kernel, as with `ip route del` */
	route = route_build(ip, 32, 0, ifindex, RT_SCOPE_NOWHERE, RTPROT_UNSPEC);
	if (!route)
		return -errno;
	ctx_reset(ctx);
	err = ctx_errno(ctx, rtnl_route_delete(ctx->sk, route, 0));
	if (err == -ESRCH || err == -ENODEV)
		err = 0;
	rtnl_route_put(route);
	return err;
}

/* An AF_INET neighbour for @ip on @ifindex, with @mac if given; NULL with errno set. */
static struct rtnl_neigh *neigh_build(int ifindex, uint32_t ip, const uint8_t mac[6])
{
	struct nl_addr *dst = NULL, *lladdr = NULL;
	struct rtnl_neigh *neigh;

	if (ifindex <= 0) {
		errno = EINVAL;
		return NULL;
	}
	neigh = rtnl_neigh_alloc();
	if (!neigh)
		goto nomem;
	dst = ip4_addr(ip, 32);
	if (!dst)
		goto nomem;
	rtnl_neigh_set_ifindex(neigh, ifindex);
	rtnl_neigh_set_family(neigh, AF_INET);
	if (rtnl_neigh_set_dst(neigh, dst)) {
		errno = EINVAL;
		goto put_all;
	}
	if (mac) {
		lladdr = nl_addr_build(AF_LLC, mac, 6);
		if (!lladdr)
			goto nomem;
		rtnl_neigh_set_lladdr(neigh, lladdr);
	}
	nl_addr_put(lladdr);
	nl_addr_put(dst);
	return neigh;

nomem:
	errno = ENOMEM;
put_all:
	nl_addr_put(lladdr);
	nl_addr_put(dst);
	if (neigh)
		rtnl_neigh_put(neigh);
	return NULL;
}

int neigh_add_permanent(struct nl_ctx *ctx, int ifindex, uint32_t ip, const uint8_t mac[6])
{
	struct rtnl_neigh *neigh;
	int err;

	if (!mac)
		return -EINVAL;
	neigh = neigh_build(ifindex, ip, mac);
	if (!neigh)
		return -errno;
	rtnl_neigh_set_state(neigh, NUD_PERMANENT);
	/* `ip neigh replace`: converges whatever the kernel learnt or had before (unlike
	 * rtnl_addr_add() and rtnl_route_add(), rtnl_neigh_add() does not add NLM_F_CREATE) */
	ctx_reset(ctx);
	err = ctx_errno(ctx, rtnl_neigh_add(ctx->sk, neigh, NLM_F_CREATE | NLM_F_REPLACE));
	rtnl_neigh_put(neigh);
	return err;
}

int neigh_del(struct nl_ctx *ctx, int ifindex, uint32_t ip)
{
	struct rtnl_neigh *neigh;
	int err;

	neigh = neigh_build(ifindex, ip, NULL);
	if (!neigh)
		return -errno;
	ctx_reset(ctx);
	err = ctx_errno(ctx, rtnl_neigh_delete(ctx->sk, neigh, 0));
	if (err == -ENOENT || err == -ENODEV)
		err = 0;
	rtnl_neigh_put(neigh);
	return err;
}
