// SPDX-License-Identifier: GPL-2.0-only
/*
 * The conntrack core shared by BPF and the agent (include/berth/ct.h): the
 * TCP state machine as rows of { state, TCP flags, direction, flow flags in
 * → state, flow flags out }, whole handshakes and teardowns as sequences,
 * the timeout each protocol and state gets, and where expiry begins.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include <berth/ct.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define SYN	BERTH_TCP_SYN
#define ACK	BERTH_TCP_ACK
#define FIN	BERTH_TCP_FIN
#define RST	BERTH_TCP_RST
#define PSH	0x08
#define ORIG	0
#define REPLY	1

#define FINS	(BERTH_CT_FIN_ORIG | BERTH_CT_FIN_REPLY)
/* every flag that is not a FIN bit: the state machine must leave them alone */
#define OTHERS	(BERTH_CT_SNAT | BERTH_CT_SEEN_REPLY | BERTH_CT_POLICY)
#define RSTR	BERTH_CT_RST_REPLY

static const char *const state_names[] = {
	"NONE", "SYN_SENT", "SYN_RECV", "ESTABLISHED", "FIN_WAIT", "TIME_WAIT", "CLOSE",
};

/* ---- the state machine, one packet per row ---- */

struct step_row {
	const char *name;
	__u8 state, tcp_flags;
	int reply;
	__u8 flags, want_state, want_flags;
};

static const struct step_row steps[] = {
	/* the handshake */
	{ "SYN opens", BERTH_CT_NONE, SYN, ORIG, 0, BERTH_CT_SYN_SENT, 0 },
	{ "SYN-ACK answers", BERTH_CT_SYN_SENT, SYN | ACK, REPLY, 0, BERTH_CT_SYN_RECV, 0 },
	{ "ACK completes", BERTH_CT_SYN_RECV, ACK, ORIG, 0, BERTH_CT_ESTABLISHED, 0 },
	{ "ACK with data completes", BERTH_CT_SYN_RECV, ACK | PSH, ORIG, 0, BERTH_CT_ESTABLISHED,
	  0 },
	{ "the server's ACK does not complete", BERTH_CT_SYN_RECV, ACK, REPLY, 0,
	  BERTH_CT_SYN_RECV, 0 },
	{ "SYN-ACK the wrong way", BERTH_CT_SYN_SENT, SYN | ACK, ORIG, 0, BERTH_CT_SYN_SENT, 0 },
	{ "a bare SYN answering (simultaneous open) changes nothing", BERTH_CT_SYN_SENT, SYN, REPLY,
	  0, BERTH_CT_SYN_SENT, 0 },
	{ "ACK before SYN-ACK", BERTH_CT_SYN_SENT, ACK, ORIG, 0, BERTH_CT_SYN_SENT, 0 },
	{ "a SYN-ACK as first packet stays untracked", BERTH_CT_NONE, SYN | ACK, ORIG, 0,
	  BERTH_CT_NONE, 0 },

	/* retransmissions */
	{ "SYN retransmitted", BERTH_CT_SYN_SENT, SYN, ORIG, 0, BERTH_CT_SYN_SENT, 0 },
	{ "SYN retransmitted after SYN-ACK", BERTH_CT_SYN_RECV, SYN, ORIG, 0, BERTH_CT_SYN_RECV,
	  0 },
	{ "SYN-ACK retransmitted", BERTH_CT_SYN_RECV, SYN | ACK, REPLY, 0, BERTH_CT_SYN_RECV, 0 },
	{ "stray SYN on an established flow", BERTH_CT_ESTABLISHED, SYN, ORIG, 0,
	  BERTH_CT_ESTABLISHED, 0 },
	{ "stray SYN while closing", BERTH_CT_FIN_WAIT, SYN, ORIG, BERTH_CT_FIN_ORIG,
	  BERTH_CT_FIN_WAIT, BERTH_CT_FIN_ORIG },

	/* mid-stream pickup: the flow existed before berth saw it */
	{ "ACK picks up", BERTH_CT_NONE, ACK, ORIG, 0, BERTH_CT_ESTABLISHED, 0 },
	{ "ACK with data picks up", BERTH_CT_NONE, ACK | PSH, ORIG, 0, BERTH_CT_ESTABLISHED, 0 },
	{ "the server's ACK picks up", BERTH_CT_NONE, ACK, REPLY, 0, BERTH_CT_ESTABLISHED, 0 },
	{ "no flags at all change nothing", BERTH_CT_NONE, 0, ORIG, 0, BERTH_CT_NONE, 0 },
	{ "data on an established flow", BERTH_CT_ESTABLISHED, ACK | PSH, REPLY, 0,
	  BERTH_CT_ESTABLISHED, 0 },

	/* FIN from either side, then both */
	{ "client FIN", BERTH_CT_ESTABLISHED, FIN | ACK, ORIG, 0, BERTH_CT_FIN_WAIT,
	  BERTH_CT_FIN_ORIG },
	{ "server FIN", BERTH_CT_ESTABLISHED, FIN | ACK, REPLY, 0, BERTH_CT_FIN_WAIT,
	  BERTH_CT_FIN_REPLY },
	{ "server FIN after the client's", BERTH_CT_FIN_WAIT, FIN | ACK, REPLY, BERTH_CT_FIN_ORIG,
	  BERTH_CT_TIME_WAIT, FINS },
	{ "client FIN after the server's", BERTH_CT_FIN_WAIT, FIN, ORIG, BERTH_CT_FIN_REPLY,
	  BERTH_CT_TIME_WAIT, FINS },
	{ "FIN retransmitted", BERTH_CT_FIN_WAIT, FIN | ACK, ORIG, BERTH_CT_FIN_ORIG,
	  BERTH_CT_FIN_WAIT, BERTH_CT_FIN_ORIG },
	{ "ACK of a FIN", BERTH_CT_FIN_WAIT, ACK, REPLY, BERTH_CT_FIN_ORIG, BERTH_CT_FIN_WAIT,
	  BERTH_CT_FIN_ORIG },
	{ "last ACK", BERTH_CT_TIME_WAIT, ACK, ORIG, FINS, BERTH_CT_TIME_WAIT, FINS },
	{ "FIN in TIME_WAIT", BERTH_CT_TIME_WAIT, FIN, REPLY, FINS, BERTH_CT_TIME_WAIT, FINS },
	{ "FIN during the handshake", BERTH_CT_SYN_RECV, FIN | ACK, ORIG, 0, BERTH_CT_FIN_WAIT,
	  BERTH_CT_FIN_ORIG },
	{ "FIN picked up mid-stream", BERTH_CT_NONE, FIN | ACK, REPLY, 0, BERTH_CT_FIN_WAIT,
	  BERTH_CT_FIN_REPLY },

	/* RST */
	{ "RST from the client", BERTH_CT_ESTABLISHED, RST, ORIG, 0, BERTH_CT_CLOSE, 0 },
	{ "RST-ACK from the server", BERTH_CT_ESTABLISHED, RST | ACK, REPLY, 0, BERTH_CT_CLOSE,
	  RSTR },
	{ "RST refusing a SYN", BERTH_CT_SYN_SENT, RST | ACK, REPLY, 0, BERTH_CT_CLOSE, RSTR },
	{ "RST from the client after the server's", BERTH_CT_CLOSE, RST, ORIG, RSTR,
	  BERTH_CT_CLOSE, 0 },
	{ "RST in TIME_WAIT", BERTH_CT_TIME_WAIT, RST, ORIG, FINS, BERTH_CT_CLOSE, FINS },
	{ "RST wins over SYN", BERTH_CT_TIME_WAIT, RST | SYN, ORIG, FINS, BERTH_CT_CLOSE, FINS },
	{ "RST wins over FIN", BERTH_CT_ESTABLISHED, RST | FIN, ORIG, 0, BERTH_CT_CLOSE, 0 },
	{ "FIN after RST stays closed", BERTH_CT_CLOSE, FIN, REPLY, 0, BERTH_CT_CLOSE,
	  BERTH_CT_FIN_REPLY },
	{ "the second FIN after RST stays closed", BERTH_CT_CLOSE, FIN | ACK, REPLY,
	  BERTH_CT_FIN_ORIG, BERTH_CT_CLOSE, FINS },
	{ "ACK from the other side of the client's RST stays closed", BERTH_CT_CLOSE, ACK, REPLY,
	  0, BERTH_CT_CLOSE, 0 },
	{ "ACK from the other side of the server's RST stays closed", BERTH_CT_CLOSE, ACK, ORIG,
	  RSTR, BERTH_CT_CLOSE, RSTR },
	{ "the client's RST not taken: it talks on, ESTABLISHED", BERTH_CT_CLOSE, ACK, ORIG, 0,
	  BERTH_CT_ESTABLISHED, 0 },
	{ "the server's RST not taken: it talks on, ESTABLISHED", BERTH_CT_CLOSE, ACK, REPLY, RSTR,
	  BERTH_CT_ESTABLISHED, RSTR },

	/* a new SYN reuses a finished tuple, clearing the FIN bits */
	{ "SYN reuses TIME_WAIT", BERTH_CT_TIME_WAIT, SYN, ORIG, FINS, BERTH_CT_SYN_SENT, 0 },
	{ "SYN reuses CLOSE", BERTH_CT_CLOSE, SYN, ORIG, BERTH_CT_FIN_ORIG, BERTH_CT_SYN_SENT, 0 },
	{ "SYN reuse forgets the RST", BERTH_CT_CLOSE, SYN, ORIG, RSTR, BERTH_CT_SYN_SENT, 0 },
	{ "a server's SYN does not reuse TIME_WAIT", BERTH_CT_TIME_WAIT, SYN, REPLY, FINS,
	  BERTH_CT_TIME_WAIT, FINS },
	{ "a SYN-ACK does not reuse CLOSE", BERTH_CT_CLOSE, SYN | ACK, ORIG, 0, BERTH_CT_CLOSE, 0 },

	/* only FIN and RST bits move: SNAT, SEEN_REPLY and POLICY survive everything */
	{ "SYN reuse keeps the others", BERTH_CT_TIME_WAIT, SYN, ORIG, FINS | OTHERS,
	  BERTH_CT_SYN_SENT, OTHERS },
	{ "handshake keeps the others", BERTH_CT_SYN_SENT, SYN | ACK, REPLY, OTHERS,
	  BERTH_CT_SYN_RECV, OTHERS },
	{ "FIN keeps the others", BERTH_CT_ESTABLISHED, FIN, ORIG, OTHERS, BERTH_CT_FIN_WAIT,
	  OTHERS | BERTH_CT_FIN_ORIG },
	{ "RST keeps the others", BERTH_CT_ESTABLISHED, RST, REPLY, OTHERS | BERTH_CT_FIN_ORIG,
	  BERTH_CT_CLOSE, OTHERS | BERTH_CT_FIN_ORIG | RSTR },
	{ "pickup keeps the others", BERTH_CT_NONE, ACK, ORIG, BERTH_CT_SNAT, BERTH_CT_ESTABLISHED,
	  BERTH_CT_SNAT },
	{ "reply direction does not set SEEN_REPLY here", BERTH_CT_ESTABLISHED, ACK, REPLY, 0,
	  BERTH_CT_ESTABLISHED, 0 },
};

static void test_step(void **state)
{
	const struct step_row *r = *state;
	__u8 flags = r->flags;
	__u8 got = berth_ct_tcp_next(r->state, r->tcp_flags, r->reply, &flags);

	if (got != r->want_state)
		fail_msg("%s: %s → %s, want %s", r->name, state_names[r->state], state_names[got],
			 state_names[r->want_state]);
	if (flags != r->want_flags)
		fail_msg("%s: flags %#x → %#x, want %#x", r->name, r->flags, flags,
			 r->want_flags);
}

/* ---- whole connections ---- */

struct pkt {
	__u8 tcp_flags;
	int reply;
	__u8 want;
};

static void run_seq(const struct pkt *p, size_t n, __u8 flags, __u8 want_flags)
{
	__u8 st = BERTH_CT_NONE;

	for (size_t i = 0; i < n; i++) {
		st = berth_ct_tcp_next(st, p[i].tcp_flags, p[i].reply, &flags);
		if (st != p[i].want)
			fail_msg("packet %zu: %s, want %s", i, state_names[st],
				 state_names[p[i].want]);
	}
	assert_int_equal(flags, want_flags);
}

static void test_seq_lifecycle(void **state)
{
	static const struct pkt p[] = {
		{ SYN, ORIG, BERTH_CT_SYN_SENT },
		{ SYN, ORIG, BERTH_CT_SYN_SENT },	/* retransmitted */
		{ SYN | ACK, REPLY, BERTH_CT_SYN_RECV },
		{ ACK, ORIG, BERTH_CT_ESTABLISHED },
		{ ACK | PSH, ORIG, BERTH_CT_ESTABLISHED },
		{ ACK | PSH, REPLY, BERTH_CT_ESTABLISHED },
		{ FIN | ACK, REPLY, BERTH_CT_FIN_WAIT },	/* the server closes first */
		{ ACK, ORIG, BERTH_CT_FIN_WAIT },
		{ FIN | ACK, ORIG, BERTH_CT_TIME_WAIT },
		{ ACK, REPLY, BERTH_CT_TIME_WAIT },
		/* the client connects again from the same port */
		{ SYN, ORIG, BERTH_CT_SYN_SENT },
		{ SYN | ACK, REPLY, BERTH_CT_SYN_RECV },
		{ ACK, ORIG, BERTH_CT_ESTABLISHED },
		{ RST | ACK, REPLY, BERTH_CT_CLOSE },
		{ FIN | ACK, ORIG, BERTH_CT_CLOSE },
	};

	(void)state;
	run_seq(p, ARRAY_SIZE(p), BERTH_CT_SNAT, BERTH_CT_SNAT | BERTH_CT_FIN_ORIG | RSTR);
}

static void test_seq_pickup(void **state)
{
	static const struct pkt p[] = {
		{ ACK | PSH, REPLY, BERTH_CT_ESTABLISHED },
		{ ACK, ORIG, BERTH_CT_ESTABLISHED },
		{ FIN | ACK, ORIG, BERTH_CT_FIN_WAIT },
		{ FIN | ACK, REPLY, BERTH_CT_TIME_WAIT },
	};

	(void)state;
	run_seq(p, ARRAY_SIZE(p), 0, FINS);
}

/* ---- timeouts ---- */

/* every timeout distinct, so a wrong field shows */
static const struct berth_cfg cfg = {
	.tcp_syn_timeout = 11,
	.tcp_est_timeout = 22,
	.tcp_fin_timeout = 33,
	.tcp_close_timeout = 44,
	.udp_timeout = 55,
	.udp_stream_timeout = 66,
	.icmp_timeout = 77,
};

static void test_timeout_tcp(void **state)
{
	static const __u32 want[BERTH_CT_STATE_MAX] = {
		[BERTH_CT_NONE] = 11,	   [BERTH_CT_SYN_SENT] = 11,  [BERTH_CT_SYN_RECV] = 11,
		[BERTH_CT_ESTABLISHED] = 22, [BERTH_CT_FIN_WAIT] = 33, [BERTH_CT_TIME_WAIT] = 33,
		[BERTH_CT_CLOSE] = 44,
	};

	(void)state;
	for (__u8 s = 0; s < BERTH_CT_STATE_MAX; s++) {
		if (berth_ct_timeout(&cfg, BERTH_PROTO_TCP, s, 0) != want[s])
			fail_msg("TCP %s: %u, want %u", state_names[s],
				 berth_ct_timeout(&cfg, BERTH_PROTO_TCP, s, 0), want[s]);
		/* flags do not matter for TCP */
		assert_int_equal(berth_ct_timeout(&cfg, BERTH_PROTO_TCP, s, 0xff), want[s]);
	}
}

static void test_timeout_udp_icmp(void **state)
{
	(void)state;
	assert_int_equal(berth_ct_timeout(&cfg, BERTH_PROTO_UDP, BERTH_CT_NONE, 0), 55);
	assert_int_equal(berth_ct_timeout(&cfg, BERTH_PROTO_UDP, BERTH_CT_NONE, BERTH_CT_SNAT), 55);
	assert_int_equal(
		berth_ct_timeout(&cfg, BERTH_PROTO_UDP, BERTH_CT_NONE, BERTH_CT_SEEN_REPLY), 66);
	assert_int_equal(berth_ct_timeout(&cfg, BERTH_PROTO_UDP, BERTH_CT_NONE,
					  BERTH_CT_SEEN_REPLY | BERTH_CT_SNAT),
			 66);
	/* a TCP state on a UDP flow means nothing */
	assert_int_equal(berth_ct_timeout(&cfg, BERTH_PROTO_UDP, BERTH_CT_ESTABLISHED, 0), 55);
	assert_int_equal(berth_ct_timeout(&cfg, BERTH_PROTO_ICMP, BERTH_CT_NONE, 0), 77);
	assert_int_equal(
		berth_ct_timeout(&cfg, BERTH_PROTO_ICMP, BERTH_CT_NONE, BERTH_CT_SEEN_REPLY), 77);
	/* anything else is timed as ICMP */
	assert_int_equal(berth_ct_timeout(&cfg, 47 /* GRE */, BERTH_CT_NONE, 0), 77);
}

static void test_timeout_defaults(void **state)
{
	struct berth_cfg c;

	(void)state;
	memset(&c, 0xab, sizeof(c));
	berth_ct_default_timeouts(&c);
	assert_int_equal(c.tcp_syn_timeout, BERTH_CT_TCP_SYN_TIMEOUT);
	assert_int_equal(c.tcp_est_timeout, BERTH_CT_TCP_EST_TIMEOUT);
	assert_int_equal(c.tcp_fin_timeout, BERTH_CT_TCP_FIN_TIMEOUT);
	assert_int_equal(c.tcp_close_timeout, BERTH_CT_TCP_CLOSE_TIMEOUT);
	assert_int_equal(c.udp_timeout, BERTH_CT_UDP_TIMEOUT);
	assert_int_equal(c.udp_stream_timeout, BERTH_CT_UDP_STREAM_TIMEOUT);
	assert_int_equal(c.icmp_timeout, BERTH_CT_ICMP_TIMEOUT);
	/* the rest of the settings are not timeouts: left alone */
	assert_int_equal(c.flags, 0xabababab);
	assert_int_equal(c.nat_port_min, 0xabab);
	assert_int_equal(c.policy_rev, 0xabababab);
	/* five days for idle established TCP: training jobs idle for hours */
	assert_int_equal(berth_ct_timeout(&c, BERTH_PROTO_TCP, BERTH_CT_ESTABLISHED, 0),
			 5 * 24 * 3600);
}

/* ---- expiry ---- */

#define NS 1000000000ull

static int expired(__u8 proto, __u8 st, __u8 flags, __u64 last_seen, __u64 now)
{
	struct berth_ct_key k = { .proto = proto };
	struct berth_ct v = { .last_seen = last_seen, .state = st, .flags = flags };

	return berth_ct_expired(&cfg, &k, &v, now);
}

static void test_expired_boundaries(void **state)
{
	const __u64 t0 = 1000 * NS + 123;

	(void)state;
	/* established TCP: 22 s */
	assert_false(expired(BERTH_PROTO_TCP, BERTH_CT_ESTABLISHED, 0, t0, t0));
	assert_false(expired(BERTH_PROTO_TCP, BERTH_CT_ESTABLISHED, 0, t0, t0 + 1));
	assert_false(expired(BERTH_PROTO_TCP, BERTH_CT_ESTABLISHED, 0, t0, t0 + 22 * NS - 1));
	assert_false(expired(BERTH_PROTO_TCP, BERTH_CT_ESTABLISHED, 0, t0, t0 + 22 * NS));
	assert_true(expired(BERTH_PROTO_TCP, BERTH_CT_ESTABLISHED, 0, t0, t0 + 22 * NS + 1));
	/* the same idle time expires a half-open flow (11 s) but not a closing one (33 s) */
	assert_true(expired(BERTH_PROTO_TCP, BERTH_CT_SYN_SENT, 0, t0, t0 + 22 * NS));
	assert_false(expired(BERTH_PROTO_TCP, BERTH_CT_TIME_WAIT, 0, t0, t0 + 22 * NS));
	assert_false(expired(BERTH_PROTO_TCP, BERTH_CT_CLOSE, 0, t0, t0 + 44 * NS));
	assert_true(expired(BERTH_PROTO_TCP, BERTH_CT_CLOSE, 0, t0, t0 + 44 * NS + 1));
	/* UDP: one way 55 s, both ways 66 s */
	assert_true(expired(BERTH_PROTO_UDP, BERTH_CT_NONE, 0, t0, t0 + 55 * NS + 1));
	assert_false(expired(BERTH_PROTO_UDP, BERTH_CT_NONE, BERTH_CT_SEEN_REPLY, t0,
			     t0 + 55 * NS + 1));
	assert_true(expired(BERTH_PROTO_UDP, BERTH_CT_NONE, BERTH_CT_SEEN_REPLY, t0,
			    t0 + 66 * NS + 1));
	assert_false(expired(BERTH_PROTO_ICMP, BERTH_CT_NONE, 0, t0, t0 + 77 * NS));
	assert_true(expired(BERTH_PROTO_ICMP, BERTH_CT_NONE, 0, t0, t0 + 77 * NS + 1));
}

static void test_expired_future_and_extremes(void **state)
{
	struct berth_cfg big = cfg;
	struct berth_ct_key k = { .proto = BERTH_PROTO_TCP };
	struct berth_ct v = { .state = BERTH_CT_ESTABLISHED };

	(void)state;
	/* last_seen after now (another CPU stamped it after the GC read the clock): live */
	assert_false(expired(BERTH_PROTO_TCP, BERTH_CT_CLOSE, 0, 100 * NS, 99 * NS));
	assert_false(expired(BERTH_PROTO_TCP, BERTH_CT_CLOSE, 0, UINT64_MAX, 0));
	assert_false(expired(BERTH_PROTO_TCP, BERTH_CT_CLOSE, 0, UINT64_MAX, UINT64_MAX));
	/* a flow of the first second after boot */
	assert_false(expired(BERTH_PROTO_UDP, BERTH_CT_NONE, 0, 0, 55 * NS));
	assert_true(expired(BERTH_PROTO_UDP, BERTH_CT_NONE, 0, 0, 55 * NS + 1));

	/* the largest timeout does not overflow: 2^32-1 s is 4.3e18 ns, within 64 bits */
	big.tcp_est_timeout = UINT32_MAX;
	v.last_seen = 0;
	assert_false(berth_ct_expired(&big, &k, &v, (__u64)UINT32_MAX * NS));
	assert_true(berth_ct_expired(&big, &k, &v, (__u64)UINT32_MAX * NS + 1));
	/* near the top of the clock */
	v.last_seen = UINT64_MAX - (__u64)UINT32_MAX * NS - 1;
	assert_false(berth_ct_expired(&big, &k, &v, UINT64_MAX - 1));
	assert_true(berth_ct_expired(&big, &k, &v, UINT64_MAX));
	/* the defaults: five days idle is still established, a nanosecond more is not */
	berth_ct_default_timeouts(&big);
	v.last_seen = 7 * NS;
	assert_false(berth_ct_expired(&big, &k, &v, 7 * NS + 432000ull * NS));
	assert_true(berth_ct_expired(&big, &k, &v, 7 * NS + 432000ull * NS + 1));
	/* a timeout of 0 would expire a flow after one idle nanosecond (the GC never uses 0) */
	big.tcp_est_timeout = 0;
	assert_false(berth_ct_expired(&big, &k, &v, 7 * NS));
	assert_true(berth_ct_expired(&big, &k, &v, 7 * NS + 1));
}

int main(void)
{
	static struct CMUnitTest tests[ARRAY_SIZE(steps) + 8];
	size_t n = 0;

	for (size_t i = 0; i < ARRAY_SIZE(steps); i++)
		tests[n++] = (struct CMUnitTest){ .name = steps[i].name, .test_func = test_step,
						  .initial_state = (void *)&steps[i] };
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_seq_lifecycle);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_seq_pickup);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_timeout_tcp);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_timeout_udp_icmp);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_timeout_defaults);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_expired_boundaries);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_expired_future_and_extremes);
	return _cmocka_run_group_tests("ct", tests, n, NULL, NULL);
}
