// SPDX-License-Identifier: GPL-2.0-only
/*
 * cgroup socket hooks: processes of the instance's host namespace reach
 * published ports at 127.0.0.0/8, at the host's addresses and at a port's own
 * host address, with no per-packet NAT and no proxy. The destination is
 * rewritten once, when the socket picks it, to the endpoint behind the port;
 * the kernel then routes to the endpoint as for any host connection, and the
 * endpoint sees the host's real address.
 *
 *   connect4      TCP connect(), connected UDP: destination → backend
 *   sendmsg4      unconnected UDP sendto():     destination → backend
 *   recvmsg4      UDP recvfrom():               backend source → published address
 *   getpeername4  getpeername():                backend → published address
 *   bind4, bind6  bind():                       a published port is taken
 *
 * cgroup hooks belong to cgroups, not namespaces: attached to the cgroup v2
 * root, these run for every socket of the machine, in every namespace, and
 * once per berth instance. So each first compares the socket's namespace with
 * its instance's (one array lookup, one helper call) and leaves every other
 * socket alone. Only the bind hooks ever refuse, and only a published port.
 */
#include "lib/common.h"
#include "lib/maps.h"

char LICENSE[] SEC("license") = "GPL";

#define SOCK_ALLOW	1	/* go on, with the address as it now is */
#define SOCK_REFUSE	0	/* fail the call, with the error bpf_set_retval() gave */
#define EADDRINUSE_	98
#define IPPROTO_TCP_	6
#define IPPROTO_UDP_	17
#define LOOPBACK_NET	127	/* 127.0.0.0/8, first octet */
#define LOOPBACK_ADDR	0x7f000001	/* 127.0.0.1, host order */

/* A socket of the instance's host namespace? Anything else is none of berth's business. */
static __always_inline bool sock_ours(struct bpf_sock_addr *ctx)
{
	const struct berth_sockcfg *cfg;
	__u32 zero = 0;

	cfg = bpf_map_lookup_elem(&berth_skcfg_v1, &zero);
	return cfg && cfg->netns_cookie && bpf_get_netns_cookie(ctx) == cfg->netns_cookie;
}

/* TCP or UDP: the only protocols a port is published for. */
static __always_inline bool proto_published(__u32 proto)
{
	return proto == IPPROTO_TCP_ || proto == IPPROTO_UDP_;
}

/* An address of the host namespace: 127.0.0.0/8 or one `up` recorded. */
static __always_inline bool host_addr(__be32 addr)
{
	if ((bpf_ntohl(addr) >> 24) == LOOPBACK_NET)
		return true;
	return bpf_map_lookup_elem(&berth_hostip_v1, &addr) != NULL;
}

/*
 * The published port at @addr:@port: bound to that address exactly (a
 * 127.0.0.1-bound port is found only so), else bound to every address of
 * the host when @addr is one of them.
 */
static __always_inline const struct berth_port *port_find(__be32 addr, __be16 port, __u8 proto)
{
	struct berth_port_key k = { .addr = addr, .port = port, .proto = proto };
	const struct berth_port *p;

	p = bpf_map_lookup_elem(&berth_port_v1, &k);
	if (p || !host_addr(addr))
		return p;
	k.addr = 0;
	return bpf_map_lookup_elem(&berth_port_v1, &k);
}

/* connect4, sendmsg4: a published destination becomes its backend; the socket remembers it. */
static __always_inline void xlate_fwd(struct bpf_sock_addr *ctx)
{
	struct berth_sockrev_key rk = { 0 };
	struct berth_sockrev rv = { 0 };
	const struct berth_sockrev *old;
	const struct berth_port *p;
	__u32 proto = ctx->protocol;
	__be32 addr = ctx->user_ip4, backend_ip;
	__be16 port = (__be16)ctx->user_port, backend_port;

	if (!proto_published(proto))
		return;
	/* connect(0.0.0.0) is a connect to the host itself: the kernel makes it 127.0.0.1 */
	if (!addr)
		addr = bpf_htonl(LOOPBACK_ADDR);
	p = port_find(addr, port, (__u8)proto);
	if (!p)
		return;
	/* read once: userspace may repoint the port meanwhile */
	backend_ip = p->backend_ip;
	backend_port = p->backend_port;
	if (!backend_ip || !backend_port)
		return;

	rk.cookie = bpf_get_socket_cookie(ctx);
	rk.addr = backend_ip;
	rk.port = backend_port;
	rv.addr = addr;
	rv.port = port;
	/* a UDP socket sends many datagrams to one port: write only what changed */
	old = bpf_map_lookup_elem(&berth_skrev_v1, &rk);
	if (!old || old->addr != rv.addr || old->port != rv.port)
		bpf_map_update_elem(&berth_skrev_v1, &rk, &rv, BPF_ANY);

	ctx->user_ip4 = backend_ip;
	ctx->user_port = backend_port;
}

/*
 * recvmsg4, getpeername4: a backend this socket was sent to in place of a
 * published port shows as that port. The port must still lead there: one
 * since removed or repointed leaves the backend's address as it is (and the
 * entry goes), so a socket that later talks to that endpoint directly is
 * not told a published address it never used.
 */
static __always_inline void xlate_rev(struct bpf_sock_addr *ctx)
{
	struct berth_sockrev_key rk = { 0 };
	const struct berth_sockrev *rv;
	const struct berth_port *p;
	__u32 proto = ctx->protocol;
	__be32 addr;
	__be16 port;

	if (!proto_published(proto))
		return;
	rk.cookie = bpf_get_socket_cookie(ctx);
	rk.addr = ctx->user_ip4;
	rk.port = (__be16)ctx->user_port;
	rv = bpf_map_lookup_elem(&berth_skrev_v1, &rk);
	if (!rv)
		return;
	addr = rv->addr;
	port = rv->port;
	p = port_find(addr, port, (__u8)proto);
	if (!p || p->backend_ip != rk.addr || p->backend_port != rk.port) {
		bpf_map_delete_elem(&berth_skrev_v1, &rk);
		return;
	}
	ctx->user_ip4 = addr;
	ctx->user_port = port;
}

SEC("cgroup/connect4")
int berth_sock_connect4(struct bpf_sock_addr *ctx)
{
	if (sock_ours(ctx))
		xlate_fwd(ctx);
	return SOCK_ALLOW;
}

SEC("cgroup/sendmsg4")
int berth_sock_sendmsg4(struct bpf_sock_addr *ctx)
{
	if (sock_ours(ctx))
		xlate_fwd(ctx);
	return SOCK_ALLOW;
}

SEC("cgroup/recvmsg4")
int berth_sock_recvmsg4(struct bpf_sock_addr *ctx)
{
	if (sock_ours(ctx))
		xlate_rev(ctx);
	return SOCK_ALLOW;
}

SEC("cgroup/getpeername4")
int berth_sock_getpeername4(struct bpf_sock_addr *ctx)
{
	if (sock_ours(ctx))
		xlate_rev(ctx);
	return SOCK_ALLOW;
}

/*
 * bind4, bind6: a published port is the instance's for as long as it is
 * published, so no other socket of the host namespace may bind it, as none
 * could bind a port a listening process has: EADDRINUSE for an exact
 * (address, port, protocol) binding, for any address when the port is
 * published on 0.0.0.0, and for 0.0.0.0 (or [::], dual-stack) when it is
 * published on any address. `up`'s own probes (BERTH_SOCK_MARK_PROBE) pass,
 * and so does port 0: the kernel's own pick, which ip_local_reserved_ports
 * keeps off published ports (user/agent/hold.c).
 */
static __always_inline bool bind_taken(struct bpf_sock_addr *ctx, __be32 addr, bool any)
{
	struct berth_port_key k = { .addr = addr, .port = (__be16)ctx->user_port };
	struct berth_pbind_key pk = { .port = (__be16)ctx->user_port };
	struct bpf_sock *sk = ctx->sk;
	__u32 proto = ctx->protocol;

	if (!k.port || !proto_published(proto) || !sk || sk->mark == BERTH_SOCK_MARK_PROBE)
		return false;
	k.proto = (__u8)proto;
	pk.proto = (__u8)proto;
	if (any)
		return bpf_map_lookup_elem(&berth_pbind_v1, &pk) != NULL;
	if (bpf_map_lookup_elem(&berth_port_v1, &k))
		return true;
	k.addr = 0;
	return bpf_map_lookup_elem(&berth_port_v1, &k) != NULL;
}

static __always_inline int bind_refuse(void)
{
	bpf_set_retval(-EADDRINUSE_);
	return SOCK_REFUSE;
}

SEC("cgroup/bind4")
int berth_sock_bind4(struct bpf_sock_addr *ctx)
{
	__be32 addr = ctx->user_ip4;

	if (sock_ours(ctx) && bind_taken(ctx, addr, !addr))
		return bind_refuse();
	return SOCK_ALLOW;
}

SEC("cgroup/bind6")
int berth_sock_bind6(struct bpf_sock_addr *ctx)
{
	__u32 a0 = ctx->user_ip6[0], a1 = ctx->user_ip6[1], a2 = ctx->user_ip6[2];
	__u32 a3 = ctx->user_ip6[3];

	if (a0 || a1 || !sock_ours(ctx))
		return SOCK_ALLOW;
	/* [::]: IPv4 too, unless IPV6_V6ONLY, which this hook cannot see */
	if (!a2 && !a3)
		return bind_taken(ctx, 0, true) ? bind_refuse() : SOCK_ALLOW;
	/* [::ffff:a.b.c.d]: the IPv4 address a.b.c.d */
	if (a2 == bpf_htonl(0xffff) && bind_taken(ctx, a3, !a3))
		return bind_refuse();
	return SOCK_ALLOW;
}
