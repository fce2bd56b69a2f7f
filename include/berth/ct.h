/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Conntrack state and timeouts: the one definition that the BPF programs
 * (which move a flow's state on each packet), the agent's garbage collector
 * (which expires idle flows) and the unit tests share. Pure functions on
 * fixed-width types; nothing here touches a map.
 */
#ifndef BERTH_CT_H
#define BERTH_CT_H

#include "maps.h"

enum berth_ct_state {
	BERTH_CT_NONE = 0,	/* UDP and ICMP flows: state is SEEN_REPLY alone */
	BERTH_CT_SYN_SENT = 1,	/* the client's SYN */
	BERTH_CT_SYN_RECV = 2,	/* the server's SYN-ACK */
	BERTH_CT_ESTABLISHED = 3,	/* the handshake's ACK, or a flow picked up mid-stream */
	BERTH_CT_FIN_WAIT = 4,	/* one side sent FIN */
	BERTH_CT_TIME_WAIT = 5,	/* both sides sent FIN */
	BERTH_CT_CLOSE = 6,	/* RST */
	BERTH_CT_STATE_MAX,
};

/* TCP header flag bits, as in byte 13 of the header */
#define BERTH_TCP_FIN	0x01
#define BERTH_TCP_SYN	0x02
#define BERTH_TCP_RST	0x04
#define BERTH_TCP_ACK	0x10

/* Protocol numbers, so that this header needs neither netinet/in.h nor vmlinux.h's enum */
#define BERTH_PROTO_ICMP	1
#define BERTH_PROTO_TCP		6
#define BERTH_PROTO_UDP		17

/*
 * Defaults, seconds. Established TCP lasts five days, as in Linux: training
 * jobs hold connections that idle for hours between collective operations.
 */
#define BERTH_CT_TCP_SYN_TIMEOUT	60
#define BERTH_CT_TCP_EST_TIMEOUT	432000
#define BERTH_CT_TCP_FIN_TIMEOUT	120
#define BERTH_CT_TCP_CLOSE_TIMEOUT	10
#define BERTH_CT_UDP_TIMEOUT		30
#define BERTH_CT_UDP_STREAM_TIMEOUT	180
#define BERTH_CT_ICMP_TIMEOUT		30

/*
 * A TCP flow's next state after a packet with @tcp_flags travelling in
 * direction @reply (0: as the flow's first packet did, 1: the other way).
 * @flags is the flow's BERTH_CT_* flags; only the FIN and RST bits are changed.
 */
static inline __u8 berth_ct_tcp_next(__u8 state, __u8 tcp_flags, int reply, __u8 *flags)
{
	if (tcp_flags & BERTH_TCP_RST) {
		/* remembered, so that its sender talking on shows the RST was not taken */
		if (reply)
			*flags |= BERTH_CT_RST_REPLY;
		else
			*flags &= (__u8)~BERTH_CT_RST_REPLY;
		return BERTH_CT_CLOSE;
	}
	if (tcp_flags & BERTH_TCP_SYN) {
		if (!reply && !(tcp_flags & BERTH_TCP_ACK)) {
			/* a new SYN reuses a closed tuple; a retransmitted one changes nothing */
			if (state == BERTH_CT_TIME_WAIT || state == BERTH_CT_CLOSE ||
			    state == BERTH_CT_NONE) {
				*flags &= (__u8)~(BERTH_CT_FIN_ORIG | BERTH_CT_FIN_REPLY |
						  BERTH_CT_RST_REPLY);
				return BERTH_CT_SYN_SENT;
			}
			return state;
		}
		if (reply && (tcp_flags & BERTH_TCP_ACK) && state == BERTH_CT_SYN_SENT)
			return BERTH_CT_SYN_RECV;
		return state;
	}
	if (tcp_flags & BERTH_TCP_FIN) {
		*flags |= reply ? BERTH_CT_FIN_REPLY : BERTH_CT_FIN_ORIG;
		/*
		 * After a RST only a new SYN reopens the tuple: a FIN still in
		 * flight must not move it to TIME_WAIT's longer timeout (as in
		 * Linux conntrack, where CLOSE stays CLOSE on FIN).
		 */
		if (state == BERTH_CT_CLOSE)
			return state;
		if ((*flags & (BERTH_CT_FIN_ORIG | BERTH_CT_FIN_REPLY)) ==
		    (BERTH_CT_FIN_ORIG | BERTH_CT_FIN_REPLY))
			return BERTH_CT_TIME_WAIT;
		return BERTH_CT_FIN_WAIT;
	}
	if (tcp_flags & BERTH_TCP_ACK) {
		if (state == BERTH_CT_SYN_RECV && !reply)
			return BERTH_CT_ESTABLISHED;
		/*
		 * A RST whose sender goes on talking was not taken (an endpoint ignores
		 * a RST out of its window, RFC 5961): the flow stays open, and keeps
		 * its long timeout. A RST that was taken leaves its sender silent.
		 */
		if (state == BERTH_CT_CLOSE && !!(*flags & BERTH_CT_RST_REPLY) == !!reply)
			return BERTH_CT_ESTABLISHED;
		if (state == BERTH_CT_NONE)
			return BERTH_CT_ESTABLISHED;	/* picked up mid-stream */
	}
	return state;
}

/* Idle time, seconds, after which a flow in @state may be collected. */
static inline __u32 berth_ct_timeout(const struct berth_cfg *cfg, __u8 proto, __u8 state,
				     __u8 flags)
{
	switch (proto) {
	case BERTH_PROTO_TCP:
		switch (state) {
		case BERTH_CT_ESTABLISHED: return cfg->tcp_est_timeout;
		case BERTH_CT_FIN_WAIT:
		case BERTH_CT_TIME_WAIT: return cfg->tcp_fin_timeout;
		case BERTH_CT_CLOSE: return cfg->tcp_close_timeout;
		default: return cfg->tcp_syn_timeout;
		}
	case BERTH_PROTO_UDP:
		return (flags & BERTH_CT_SEEN_REPLY) ? cfg->udp_stream_timeout : cfg->udp_timeout;
	default:
		return cfg->icmp_timeout;
	}
}

/* The defaults above, for a fresh berth_cfg_v1. */
static inline void berth_ct_default_timeouts(struct berth_cfg *cfg)
{
	cfg->tcp_syn_timeout = BERTH_CT_TCP_SYN_TIMEOUT;
	cfg->tcp_est_timeout = BERTH_CT_TCP_EST_TIMEOUT;
	cfg->tcp_fin_timeout = BERTH_CT_TCP_FIN_TIMEOUT;
	cfg->tcp_close_timeout = BERTH_CT_TCP_CLOSE_TIMEOUT;
	cfg->udp_timeout = BERTH_CT_UDP_TIMEOUT;
	cfg->udp_stream_timeout = BERTH_CT_UDP_STREAM_TIMEOUT;
	cfg->icmp_timeout = BERTH_CT_ICMP_TIMEOUT;
}

/* Is @flow, last seen at @last_ns, expired at @now_ns (same clock: CLOCK_BOOTTIME)? */
static inline int berth_ct_expired(const struct berth_cfg *cfg, const struct berth_ct_key *k,
				   const struct berth_ct *v, __u64 now_ns)
{
	__u64 idle = (__u64)berth_ct_timeout(cfg, k->proto, v->state, v->flags) * 1000000000ull;

	return now_ns > v->last_seen && now_ns - v->last_seen > idle;
}

#endif
