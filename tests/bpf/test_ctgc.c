// SPDX-License-Identifier: GPL-2.0-only
/*
 * The conntrack garbage collector (user/agent/ctgc.c) against real BPF maps
 * of the berth_ct_v1, berth_nat_v1 and berth_cfg_v1 layouts, created fresh
 * for every test (bpf_map_create, nothing pinned but in the one test of
 * ct_maps_open): fill them with flows, run a pass at a chosen clock, and
 * check exactly which entries remain. Every test runs twice: with batch
 * lookups and deletes, and walking key by key as a kernel without them
 * would (struct ct_maps' key_walk). Needs root; without it (or without BPF)
 * it prints SKIP and exits 77, which tests/run.sh counts as skipped.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <cmocka.h>

#include <bpf/bpf.h>
#include <linux/magic.h>

#include <berth/ct.h>
#include <berth/maps.h>

#include "ctgc.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define SKIP_EXIT     77 /* automake's "skipped" exit status; tests/run.sh knows it */

#define NS    1000000000ull
#define NOW   (1000000 * NS) /* the clock of every pass: 11.6 days after boot */
#define AGO(s) (NOW - (uint64_t)(s) * NS)

#define CT_MAX	8192
#define NAT_MAX 8192

#define EP1	 0x0a000102 /* 10.0.1.2 */
#define EP2	 0x0a000103 /* 10.0.1.3 */
#define REMOTE	 0xc0000201 /* 192.0.2.1 */
#define UPLINK	 0xc6336401 /* 198.51.100.1: the masquerade address */
#define IF1	 11
#define IF2	 12
#define IF3	 13

static struct ct_maps m = { -1, -1, -1 };
static bool key_walk;	/* the test being run walks key by key */

/* ---- building entries ---- */

static struct berth_ct_key key(uint8_t proto, uint32_t sa, uint32_t da, uint16_t sp, uint16_t dp)
{
	struct berth_ct_key k;

	memset(&k, 0, sizeof(k));
	k.saddr = htonl(sa);
	k.daddr = htonl(da);
	k.sport = htons(sp);
	k.dport = htons(dp);
	k.proto = proto;
	return k;
}

static struct berth_ct flow(uint8_t state, uint8_t flags, uint64_t last_seen, uint32_t ifindex)
{
	struct berth_ct v;

	memset(&v, 0, sizeof(v));
	v.last_seen = last_seen;
	v.created = last_seen > 3600 * NS ? last_seen - 3600 * NS : 0;
	v.state = state;
	v.flags = flags;
	v.ifindex = ifindex;
	v.slot = ifindex;
	return v;
}

/* The reply tuple on the uplink, as bpf/lib/nat.h's snat_key() builds it. */
static struct berth_ct_key nat_key(const struct berth_ct_key *k, const struct berth_ct *v)
{
	struct berth_ct_key n;

	memset(&n, 0, sizeof(n));
	n.saddr = k->daddr;
	n.daddr = v->nat_addr;
	n.sport = k->dport;
	n.dport = v->nat_port;
	n.proto = k->proto;
	return n;
}

static void ct_put(const struct berth_ct_key *k, const struct berth_ct *v)
{
	assert_int_equal(bpf_map_update_elem(m.ct_fd, k, v, BPF_NOEXIST), 0);
}

static void nat_put(const struct berth_ct_key *nk, const struct berth_ct_key *ct)
{
	struct berth_nat v = { .ct = *ct };

	assert_int_equal(bpf_map_update_elem(m.nat_fd, nk, &v, BPF_ANY), 0);
}

/* A masqueraded flow: its conntrack entry with SNAT, then its NAT entry (BPF does the reverse). */
static struct berth_ct_key snat_put(const struct berth_ct_key *k, struct berth_ct *v,
				    uint16_t port)
{
	struct berth_ct_key nk;

	v->flags |= BERTH_CT_SNAT;
	v->nat_addr = htonl(UPLINK);
	v->nat_port = htons(port);
	nk = nat_key(k, v);
	nat_put(&nk, k);
	ct_put(k, v);
	return nk;
}

static bool has(int fd, const struct berth_ct_key *k)
{
	uint64_t v[8];

	return bpf_map_lookup_elem(fd, k, v) == 0;
}

static uint64_t count(int fd)
{
	struct berth_ct_key k, next;
	uint64_t n = 0;
	bool first = true;

	while (!bpf_map_get_next_key(fd, first ? NULL : &k, &next)) {
		k = next;
		first = false;
		n++;
	}
	return n;
}

static void cfg_put(const struct berth_cfg *c)
{
	uint32_t zero = 0;

	assert_int_equal(bpf_map_update_elem(m.cfg_fd, &zero, c, BPF_ANY), 0);
}

static void cfg_defaults(void)
{
	struct berth_cfg c;

	memset(&c, 0, sizeof(c));
	berth_ct_default_timeouts(&c);
	cfg_put(&c);
}

/* ---- fixture: fresh maps for each test ---- */

static int maps_create(struct ct_maps *t, uint32_t ct_value_size)
{
	t->cfg_fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "berth_cfg_v1", sizeof(uint32_t),
				   sizeof(struct berth_cfg), 1, NULL);
	t->ct_fd = bpf_map_create(BPF_MAP_TYPE_HASH, "berth_ct_v1", sizeof(struct berth_ct_key),
				  ct_value_size, CT_MAX, NULL);
	t->nat_fd = bpf_map_create(BPF_MAP_TYPE_HASH, "berth_nat_v1", sizeof(struct berth_ct_key),
				   sizeof(struct berth_nat), NAT_MAX, NULL);
	t->key_walk = key_walk;
	if (t->cfg_fd < 0 || t->ct_fd < 0 || t->nat_fd < 0) {
		int err = t->cfg_fd < 0 ? t->cfg_fd : t->ct_fd < 0 ? t->ct_fd : t->nat_fd;

		ct_maps_close(t);
		return err;
	}
	return 0;
}

static int setup(void **state)
{
	(void)state;
	if (maps_create(&m, sizeof(struct berth_ct)))
		return -1;
	cfg_defaults();
	return 0;
}

static int setup_batch(void **state)
{
	key_walk = false;
	return setup(state);
}

static int setup_key_walk(void **state)
{
	key_walk = true;
	return setup(state);
}

static int teardown(void **state)
{
	(void)state;
	ct_maps_close(&m);
	return 0;
}

/* ---- one pass over a mixed table ---- */

struct row {
	const char *name;
	struct berth_ct_key k;
	struct berth_ct v;
	uint16_t nat_port;	/* 0: not masqueraded */
	bool stays;
};

static void check_rows(const struct row *rows, size_t n)
{
	uint64_t ct_left = 0, nat_left = 0;

	for (size_t i = 0; i < n; i++) {
		const struct row *r = &rows[i];

		if (has(m.ct_fd, &r->k) != r->stays)
			fail_msg("%s: flow %s", r->name, r->stays ? "removed" : "left behind");
		if (r->nat_port) {
			struct berth_ct_key nk = nat_key(&r->k, &r->v);

			if (has(m.nat_fd, &nk) != r->stays)
				fail_msg("%s: NAT entry %s", r->name,
					 r->stays ? "removed" : "left behind");
		}
		ct_left += r->stays;
		nat_left += r->stays && r->nat_port;
	}
	/* and nothing else is there */
	assert_int_equal(count(m.ct_fd), ct_left);
	assert_int_equal(count(m.nat_fd), nat_left);
}

static void put_rows(struct row *rows, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (rows[i].nat_port)
			snat_put(&rows[i].k, &rows[i].v, rows[i].nat_port);
		else
			ct_put(&rows[i].k, &rows[i].v);
	}
}

#define TCP(sp, dp) key(BERTH_PROTO_TCP, EP1, REMOTE, sp, dp)
#define UDP(sp, dp) key(BERTH_PROTO_UDP, EP1, REMOTE, sp, dp)
#define PING(id)    key(BERTH_PROTO_ICMP, EP1, REMOTE, id, 0)

static void test_gc_mixed(void **state)
{
	struct row rows[] = {
		{ "established, idle an hour", TCP(1001, 80),
		  flow(BERTH_CT_ESTABLISHED, 0, AGO(3600), IF1), 0, true },
		{ "established, idle exactly five days", TCP(1002, 80),
		  flow(BERTH_CT_ESTABLISHED, 0, AGO(432000), IF1), 0, true },
		{ "established, idle five days and a nanosecond", TCP(1003, 80),
		  flow(BERTH_CT_ESTABLISHED, 0, AGO(432000) - 1, IF1), 0, false },
		{ "SYN_SENT, idle 59 s", TCP(1004, 80), flow(BERTH_CT_SYN_SENT, 0, AGO(59), IF1), 0,
		  true },
		{ "SYN_RECV, idle 61 s", TCP(1005, 80), flow(BERTH_CT_SYN_RECV, 0, AGO(61), IF1), 0,
		  false },
		{ "TIME_WAIT, idle 119 s", TCP(1006, 80),
		  flow(BERTH_CT_TIME_WAIT, 0, AGO(119), IF1), 0, true },
		{ "FIN_WAIT, idle 121 s", TCP(1007, 80), flow(BERTH_CT_FIN_WAIT, 0, AGO(121), IF1),
		  0, false },
		{ "CLOSE, idle 9 s", TCP(1008, 80), flow(BERTH_CT_CLOSE, 0, AGO(9), IF1), 0, true },
		{ "CLOSE, idle 11 s", TCP(1009, 80), flow(BERTH_CT_CLOSE, 0, AGO(11), IF1), 0,
		  false },
		{ "UDP one way, idle 31 s", UDP(2001, 53), flow(BERTH_CT_NONE, 0, AGO(31), IF1), 0,
		  false },
		{ "UDP both ways, idle 31 s", UDP(2002, 53),
		  flow(BERTH_CT_NONE, BERTH_CT_SEEN_REPLY, AGO(31), IF1), 0, true },
		{ "UDP both ways, idle 181 s", UDP(2003, 53),
		  flow(BERTH_CT_NONE, BERTH_CT_SEEN_REPLY, AGO(181), IF1), 0, false },
		{ "ping, idle 29 s", PING(7), flow(BERTH_CT_NONE, 0, AGO(29), IF1), 0, true },
		{ "ping, idle 31 s", PING(8), flow(BERTH_CT_NONE, 0, AGO(31), IF1), 0, false },
		{ "stamped after the GC's clock", TCP(1010, 80),
		  flow(BERTH_CT_CLOSE, 0, NOW + 5 * NS, IF1), 0, true },
		/* masqueraded: the NAT entry follows its flow */
		{ "masqueraded, established", TCP(3001, 443),
		  flow(BERTH_CT_ESTABLISHED, 0, AGO(10), IF1), 61001, true },
		{ "masqueraded, closed long ago", TCP(3002, 443),
		  flow(BERTH_CT_CLOSE, 0, AGO(3600), IF1), 61002, false },
		{ "masqueraded UDP, expired", UDP(3003, 123), flow(BERTH_CT_NONE, 0, AGO(60), IF1),
		  61003, false },
		{ "masqueraded ping, expired", PING(9), flow(BERTH_CT_NONE, 0, AGO(60), IF1), 61004,
		  false },
		{ "masqueraded ping, live", PING(10), flow(BERTH_CT_NONE, 0, AGO(1), IF1), 61005,
		  true },
	};
	struct ct_gc_state gs = { 0 };
	struct ct_gc_stats st;

	(void)state;
	put_rows(rows, ARRAY_SIZE(rows));
	assert_int_equal(ct_gc(&m, &gs, NOW, &st), 0);
	check_rows(rows, ARRAY_SIZE(rows));
	assert_int_equal(st.scanned, ARRAY_SIZE(rows));
	assert_int_equal(st.expired, 10);
	assert_int_equal(st.nat, 3);
	assert_int_equal(st.entries, ARRAY_SIZE(rows) - 10);
	assert_int_equal(st.nat_entries, 2);
	assert_int_equal(st.orphans, 0);
	assert_int_equal(st.pending, 0);
	assert_false(st.truncated);
	if (!key_walk && st.key_walk) {
		print_message("SKIP bpf test_ctgc batch path: the kernel has no batch lookups\n");
		skip();
	}
	assert_int_equal(st.key_walk, key_walk);

	/* a second pass at the same clock finds nothing more */
	assert_int_equal(ct_gc(&m, &gs, NOW, &st), 0);
	check_rows(rows, ARRAY_SIZE(rows));
	assert_int_equal(st.expired + st.nat + st.orphans + st.pending, 0);
	ct_gc_state_free(&gs);
}

/* The ICMP echo NAT key, spelled out: sport 0 (the reply's), dport the identifier on the wire. */
static void test_gc_icmp_nat_key(void **state)
{
	struct berth_ct_key k = PING(0x1234), nk;
	struct berth_ct v = flow(BERTH_CT_NONE, 0, AGO(60), IF1);

	(void)state;
	memset(&nk, 0, sizeof(nk));
	nk.saddr = htonl(REMOTE);
	nk.daddr = htonl(UPLINK);
	nk.sport = 0;
	nk.dport = htons(62000);
	nk.proto = BERTH_PROTO_ICMP;
	v.flags = BERTH_CT_SNAT;
	v.nat_addr = htonl(UPLINK);
	v.nat_port = htons(62000);
	nat_put(&nk, &k);
	ct_put(&k, &v);
	assert_int_equal(ct_gc(&m, NULL, NOW, NULL), 0);
	assert_false(has(m.ct_fd, &k));
	assert_false(has(m.nat_fd, &nk));
}

/* An expired flow whose NAT key another flow holds now: that flow's entry stays. */
static void test_gc_nat_taken_by_another(void **state)
{
	struct berth_ct_key old = TCP(4001, 80);
	struct berth_ct_key young = key(BERTH_PROTO_TCP, EP2, REMOTE, 4002, 80);
	struct berth_ct vo = flow(BERTH_CT_CLOSE, BERTH_CT_SNAT, AGO(3600), IF1);
	struct berth_ct vy = flow(BERTH_CT_ESTABLISHED, BERTH_CT_SNAT, AGO(1), IF2);
	struct berth_ct_key nk;
	struct ct_gc_stats st;

	(void)state;
	vo.nat_addr = vy.nat_addr = htonl(UPLINK);
	vo.nat_port = vy.nat_port = htons(61500);
	nk = nat_key(&old, &vo);
	ct_put(&old, &vo);
	ct_put(&young, &vy);
	nat_put(&nk, &young);
	assert_int_equal(ct_gc(&m, NULL, NOW, &st), 0);
	assert_false(has(m.ct_fd, &old));
	assert_true(has(m.ct_fd, &young));
	assert_true(has(m.nat_fd, &nk));
	assert_int_equal(st.expired, 1);
	assert_int_equal(st.nat, 0);
}

/* berth_cfg_v1 never written: the defaults, not "expire everything at once". */
static void test_gc_unset_timeouts(void **state)
{
	struct berth_cfg c;
	struct berth_ct_key live = TCP(5001, 22), closed = TCP(5002, 22), udp = UDP(5003, 53);
	struct ct_gc_stats st;

	(void)state;
	memset(&c, 0, sizeof(c));
	cfg_put(&c);
	ct_put(&live, &(struct berth_ct){ .state = BERTH_CT_ESTABLISHED, .last_seen = AGO(86400) });
	ct_put(&closed, &(struct berth_ct){ .state = BERTH_CT_CLOSE, .last_seen = AGO(11) });
	ct_put(&udp, &(struct berth_ct){ .last_seen = AGO(29) });
	assert_int_equal(ct_gc(&m, NULL, NOW, &st), 0);
	assert_true(has(m.ct_fd, &live));
	assert_false(has(m.ct_fd, &closed));
	assert_true(has(m.ct_fd, &udp));
	assert_int_equal(st.expired, 1);

	/* one timeout set, the others still default */
	c.tcp_est_timeout = 3600;
	cfg_put(&c);
	assert_int_equal(ct_gc(&m, NULL, NOW, &st), 0);
	assert_false(has(m.ct_fd, &live));
	assert_true(has(m.ct_fd, &udp));
}

/* ---- orphaned NAT entries ---- */

static void test_gc_orphans(void **state)
{
	struct berth_ct_key gone = TCP(6001, 80), creating = TCP(6002, 80), moved = TCP(6003, 80);
	struct berth_ct_key n_gone = key(BERTH_PROTO_TCP, REMOTE, UPLINK, 80, 62001);
	struct berth_ct_key n_creating = key(BERTH_PROTO_TCP, REMOTE, UPLINK, 80, 62002);
	struct berth_ct_key n_moved = key(BERTH_PROTO_TCP, REMOTE, UPLINK, 80, 62003);
	struct berth_ct v = flow(BERTH_CT_SYN_SENT, BERTH_CT_SNAT, NOW, IF1);
	struct ct_gc_state gs = { 0 };
	struct ct_gc_stats st;

	(void)state;
	nat_put(&n_gone, &gone);		/* its flow is gone for good */
	nat_put(&n_creating, &creating);	/* BPF is between the NAT and the ct insert */
	nat_put(&n_moved, &moved);

	/* the first pass only remembers them */
	assert_int_equal(ct_gc(&m, &gs, NOW, &st), 0);
	assert_int_equal(st.orphans, 0);
	assert_int_equal(st.pending, 3);
	assert_int_equal(st.nat_entries, 3);
	assert_int_equal(count(m.nat_fd), 3);

	/* meanwhile: one flow's ct entry lands, one NAT entry is taken by another orphan flow */
	v.nat_addr = htonl(UPLINK);
	v.nat_port = htons(62002);
	ct_put(&creating, &v);
	nat_put(&n_moved, &gone);

	/* the second removes the one orphaned both times with the same value */
	assert_int_equal(ct_gc(&m, &gs, NOW + 10 * NS, &st), 0);
	assert_int_equal(st.orphans, 1);
	assert_int_equal(st.pending, 1);
	assert_false(has(m.nat_fd, &n_gone));
	assert_true(has(m.nat_fd, &n_creating));
	assert_true(has(m.nat_fd, &n_moved));
	assert_true(has(m.ct_fd, &creating));

	/* the third, the one whose value changed */
	assert_int_equal(ct_gc(&m, &gs, NOW + 20 * NS, &st), 0);
	assert_int_equal(st.orphans, 1);
	assert_int_equal(st.pending, 0);
	assert_false(has(m.nat_fd, &n_moved));
	assert_true(has(m.nat_fd, &n_creating));
	assert_int_equal(count(m.nat_fd), 1);
	ct_gc_state_free(&gs);
}

/* Without state carried between passes, no orphan is ever removed. */
static void test_gc_orphans_stateless(void **state)
{
	struct berth_ct_key gone = TCP(6101, 80);
	struct berth_ct_key nk = key(BERTH_PROTO_TCP, REMOTE, UPLINK, 80, 62101);
	struct ct_gc_stats st;

	(void)state;
	nat_put(&nk, &gone);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(ct_gc(&m, NULL, NOW, &st), 0);
		assert_int_equal(st.orphans, 0);
		assert_int_equal(st.pending, 1);
	}
	assert_true(has(m.nat_fd, &nk));
}

/* ---- more entries than one batch: the walk resumes right after each delete ---- */

static void fill_many(uint32_t n, uint32_t live_every, uint64_t *live)
{
	*live = 0;
	for (uint32_t i = 0; i < n; i++) {
		struct berth_ct_key k = key(BERTH_PROTO_UDP, EP1 + (i >> 16), REMOTE,
					    (uint16_t)i, 53);
		bool keep = live_every && i % live_every == 0;
		struct berth_ct v = flow(BERTH_CT_NONE, 0, keep ? AGO(1) : AGO(100), IF1);

		if (i % 2)
			snat_put(&k, &v, (uint16_t)(20000 + i));
		else
			ct_put(&k, &v);
		*live += keep;
	}
}

static void check_many(uint32_t n, uint32_t live_every)
{
	for (uint32_t i = 0; i < n; i++) {
		struct berth_ct_key k = key(BERTH_PROTO_UDP, EP1 + (i >> 16), REMOTE,
					    (uint16_t)i, 53);
		bool keep = live_every && i % live_every == 0;

		if (has(m.ct_fd, &k) != keep)
			fail_msg("flow %u %s", i, keep ? "removed" : "left behind");
	}
}

static void test_gc_many_interleaved(void **state)
{
	const uint32_t n = 7000;
	struct ct_gc_stats st;
	uint64_t live;

	(void)state;
	fill_many(n, 3, &live);
	assert_int_equal(ct_gc(&m, NULL, NOW, &st), 0);
	check_many(n, 3);
	assert_int_equal(st.scanned, n);
	assert_int_equal(st.expired, n - live);
	assert_int_equal(st.entries, live);
	assert_int_equal(count(m.ct_fd), live);
	/* the NAT entries of the odd ones among the live */
	assert_int_equal(st.nat_entries, count(m.nat_fd));
	assert_int_equal(st.nat + st.nat_entries, n / 2);
	assert_int_equal(st.pending, 0);
	assert_false(st.truncated);
}

static void test_gc_many_all_expired(void **state)
{
	const uint32_t n = 5000;
	struct ct_gc_stats st;
	uint64_t live;

	(void)state;
	fill_many(n, 0, &live);
	assert_int_equal(ct_gc(&m, NULL, NOW, &st), 0);
	assert_int_equal(st.scanned, n);
	assert_int_equal(st.expired, n);
	assert_int_equal(st.nat, n / 2);
	assert_int_equal(count(m.ct_fd), 0);
	assert_int_equal(count(m.nat_fd), 0);
}

static void test_gc_many_none_expired(void **state)
{
	const uint32_t n = 3000;
	struct ct_gc_stats st;
	uint64_t live;

	(void)state;
	fill_many(n, 1, &live);
	assert_int_equal(ct_gc(&m, NULL, NOW, &st), 0);
	assert_int_equal(st.scanned, n);
	assert_int_equal(st.expired, 0);
	assert_int_equal(st.entries, n);
	assert_int_equal(count(m.ct_fd), n);
	assert_int_equal(count(m.nat_fd), n / 2);
}

/* ---- flushes ---- */

static void test_flush_ifindex(void **state)
{
	struct row rows[] = {
		{ "IF1 established", TCP(7001, 80), flow(BERTH_CT_ESTABLISHED, 0, NOW, IF1), 0,
		  false },
		{ "IF1 masqueraded", TCP(7002, 80), flow(BERTH_CT_ESTABLISHED, 0, NOW, IF1), 63001,
		  false },
		{ "IF1 ping", PING(70), flow(BERTH_CT_NONE, 0, NOW, IF1), 63002, false },
		{ "IF2 established", key(BERTH_PROTO_TCP, EP2, REMOTE, 7003, 80),
		  flow(BERTH_CT_ESTABLISHED, 0, NOW, IF2), 0, true },
		{ "IF2 masqueraded", key(BERTH_PROTO_TCP, EP2, REMOTE, 7004, 80),
		  flow(BERTH_CT_ESTABLISHED, 0, NOW, IF2), 63003, true },
		/* a flow to IF1's endpoint from IF2's: IF2 originated it */
		{ "IF2 to IF1", key(BERTH_PROTO_TCP, EP2, EP1, 7005, 80),
		  flow(BERTH_CT_ESTABLISHED, 0, NOW, IF2), 0, true },
	};

	(void)state;
	put_rows(rows, ARRAY_SIZE(rows));
	assert_int_equal(ct_flush_ifindex(&m, IF1), 3);
	check_rows(rows, ARRAY_SIZE(rows));
	assert_int_equal(ct_flush_ifindex(&m, IF1), 0);
	assert_int_equal(ct_flush_ifindex(&m, 999), 0);
	assert_int_equal(count(m.ct_fd), 3);
}

/* Several interfaces in one walk: given unsorted, with a repeat and one that has no flows. */
static void test_flush_ifindexes(void **state)
{
	struct row rows[] = {
		{ "IF1 established", TCP(7101, 80), flow(BERTH_CT_ESTABLISHED, 0, NOW, IF1), 0,
		  false },
		{ "IF1 masqueraded", TCP(7102, 80), flow(BERTH_CT_ESTABLISHED, 0, NOW, IF1), 63101,
		  false },
		{ "IF2 established", key(BERTH_PROTO_TCP, EP2, REMOTE, 7103, 80),
		  flow(BERTH_CT_ESTABLISHED, 0, NOW, IF2), 0, true },
		{ "IF2 masqueraded", key(BERTH_PROTO_TCP, EP2, REMOTE, 7104, 80),
		  flow(BERTH_CT_ESTABLISHED, 0, NOW, IF2), 63102, true },
		{ "IF3 ping, masqueraded", key(BERTH_PROTO_ICMP, EP2 + 1, REMOTE, 71, 0),
		  flow(BERTH_CT_NONE, 0, NOW, IF3), 63103, false },
		{ "IF3 expired long ago", key(BERTH_PROTO_UDP, EP2 + 1, REMOTE, 7105, 53),
		  flow(BERTH_CT_NONE, 0, AGO(3600), IF3), 0, false },
	};
	const uint32_t ifs[] = { IF3, 999, IF1, IF3 };

	(void)state;
	put_rows(rows, ARRAY_SIZE(rows));
	assert_int_equal(ct_flush_ifindexes(&m, ifs, 0), 0);
	assert_int_equal(count(m.ct_fd), ARRAY_SIZE(rows));
	assert_int_equal(ct_flush_ifindexes(&m, ifs, ARRAY_SIZE(ifs)), 4);
	check_rows(rows, ARRAY_SIZE(rows));
	assert_int_equal(ct_flush_ifindexes(&m, ifs, ARRAY_SIZE(ifs)), 0);
}

/* More flows than a batch, on eight interfaces: three of them go, in one walk. */
static void test_flush_ifindexes_many(void **state)
{
	const uint32_t n = 6000, ifs[] = { 105, 100, 103 };
	uint64_t gone = 0, nat_gone = 0, nat_all = 0;

	(void)state;
	for (uint32_t i = 0; i < n; i++) {
		struct berth_ct_key k = key(BERTH_PROTO_UDP, EP1 + i, REMOTE, 5353, 53);
		struct berth_ct v = flow(BERTH_CT_NONE, 0, AGO(1), 100 + i % 8);
		bool doomed = i % 8 == 0 || i % 8 == 3 || i % 8 == 5;

		if (i % 3 == 0) {
			snat_put(&k, &v, (uint16_t)(20000 + i));
			nat_all++;
			nat_gone += doomed;
		} else {
			ct_put(&k, &v);
		}
		gone += doomed;
	}
	assert_int_equal(ct_flush_ifindexes(&m, ifs, ARRAY_SIZE(ifs)), gone);
	for (uint32_t i = 0; i < n; i++) {
		struct berth_ct_key k = key(BERTH_PROTO_UDP, EP1 + i, REMOTE, 5353, 53);
		bool doomed = i % 8 == 0 || i % 8 == 3 || i % 8 == 5;

		if (has(m.ct_fd, &k) == doomed)
			fail_msg("flow %u on %u %s", i, 100 + i % 8, doomed ? "left" : "removed");
	}
	assert_int_equal(count(m.ct_fd), n - gone);
	assert_int_equal(count(m.nat_fd), nat_all - nat_gone);
}

/* A flow in through a published port: the client reached @addr:@port, the endpoint answers. */
static struct berth_ct dnat_flow(uint32_t addr, uint16_t port, uint32_t ifindex)
{
	struct berth_ct v = flow(BERTH_CT_ESTABLISHED, BERTH_CT_DNAT, NOW, ifindex);

	v.nat_addr = htonl(addr);
	v.nat_port = htons(port);
	return v;
}

static struct berth_port_key pkey(uint32_t addr, uint16_t port, uint8_t proto)
{
	struct berth_port_key k;

	memset(&k, 0, sizeof(k));
	k.addr = htonl(addr);
	k.port = htons(port);
	k.proto = proto;
	return k;
}

#define LOCAL 0x7f000001 /* 127.0.0.1 */

/*
 * Published ports removed or repointed: their DNAT flows go, whatever their
 * state; a port of every address (0.0.0.0) matches any address the client
 * reached; other ports, other protocols, and flows that are not DNAT stay.
 */
static void test_flush_ports(void **state)
{
	struct row rows[] = {
		{ "8080/tcp at the uplink", key(BERTH_PROTO_TCP, REMOTE, EP1, 40001, 80),
		  dnat_flow(UPLINK, 8080, IF1), 0, false },
		{ "8080/tcp at 127.0.0.1", key(BERTH_PROTO_TCP, LOCAL, EP1, 40002, 80),
		  dnat_flow(LOCAL, 8080, IF1), 0, false },
		{ "8080/udp at the uplink", key(BERTH_PROTO_UDP, REMOTE, EP1, 40003, 80),
		  dnat_flow(UPLINK, 8080, IF1), 0, true },
		{ "8081/tcp at the uplink", key(BERTH_PROTO_TCP, REMOTE, EP1, 40004, 80),
		  dnat_flow(UPLINK, 8081, IF1), 0, true },
		{ "6060/udp at 127.0.0.1", key(BERTH_PROTO_UDP, LOCAL, EP2, 40005, 6060),
		  dnat_flow(LOCAL, 6060, IF2), 0, false },
		{ "6060/udp at the uplink", key(BERTH_PROTO_UDP, REMOTE, EP2, 40006, 6060),
		  dnat_flow(UPLINK, 6060, IF2), 0, true },
		/* masqueraded, its source port on the wire is 8080: not a published flow */
		{ "masqueraded from 8080", TCP(7001, 80), flow(BERTH_CT_ESTABLISHED, 0, NOW, IF1),
		  8080, true },
	};
	/* 0.0.0.0:8080/tcp and 127.0.0.1:6060/udp, given with a repeat */
	const struct berth_port_key ports[] = { pkey(LOCAL, 6060, BERTH_PROTO_UDP),
						pkey(0, 8080, BERTH_PROTO_TCP),
						pkey(LOCAL, 6060, BERTH_PROTO_UDP) };

	(void)state;
	put_rows(rows, ARRAY_SIZE(rows));
	assert_int_equal(ct_flush_ports(&m, ports, 0), 0);
	assert_int_equal(ct_flush_ports(&m, ports, ARRAY_SIZE(ports)), 3);
	check_rows(rows, ARRAY_SIZE(rows));
	assert_int_equal(ct_flush_ports(&m, ports, ARRAY_SIZE(ports)), 0);
	/* one address alone: the uplink's 6060/udp */
	assert_int_equal(ct_flush_ports(&m, (struct berth_port_key[]){ pkey(UPLINK, 6060,
									     BERTH_PROTO_UDP) }, 1), 1);
	/* interfaces and ports in one walk */
	assert_int_equal(ct_flush_match(&m, (uint32_t[]){ IF1 }, 1,
					(struct berth_port_key[]){ pkey(0, 9999, BERTH_PROTO_TCP) }, 1),
			 3);
	assert_int_equal(count(m.ct_fd), 0);
	assert_int_equal(count(m.nat_fd), 0);
}

#define GW1	 0x0a000101 /* 10.0.1.1: the backend network's gateway */

/*
 * A hairpin flow (EP1 to a port published at @host:@port, whose backend is
 * EP2): keyed as EP1 sent it, its NAT entry EP2:0 → gateway:@nat_port, as
 * bpf/endpoint.bpf.c's hairpin_request makes them.
 */
static struct berth_ct_key hairpin_put(uint8_t proto, uint16_t sport, uint32_t host,
				       uint16_t port, uint16_t nat_port, uint8_t state,
				       uint64_t last_seen, struct berth_ct_key *nk)
{
	struct berth_ct_key k = key(proto, EP1, host, sport, port);
	struct berth_ct v = flow(state, BERTH_CT_SNAT | BERTH_CT_HAIRPIN, last_seen, IF1);

	v.nat_addr = htonl(GW1);
	v.nat_port = htons(nat_port);
	v.backend = htonl(EP2);
	*nk = key(proto, EP2, GW1, 0, nat_port);
	nat_put(nk, &k);
	ct_put(&k, &v);
	return k;
}

/* Hairpin flows: expiry, a removed port's flush and an interface's take their NAT entries. */
static void test_hairpin(void **state)
{
	struct berth_ct_key live, old, udp, nk_live, nk_old, nk_udp;
	struct ct_gc_state gs = { 0 };
	struct ct_gc_stats st;

	(void)state;
	live = hairpin_put(BERTH_PROTO_TCP, 40001, UPLINK, 8080, 61001, BERTH_CT_ESTABLISHED,
			   AGO(10), &nk_live);
	old = hairpin_put(BERTH_PROTO_TCP, 40002, UPLINK, 8080, 61002, BERTH_CT_CLOSE,
			  AGO(3600), &nk_old);
	udp = hairpin_put(BERTH_PROTO_UDP, 40003, GW1, 6060, 61003, BERTH_CT_NONE, AGO(1),
			  &nk_udp);

	/* expiry: the closed one and its NAT entry, nothing orphaned */
	assert_int_equal(ct_gc(&m, &gs, NOW, &st), 0);
	assert_int_equal(st.expired, 1);
	assert_int_equal(st.nat, 1);
	assert_int_equal(st.orphans + st.pending, 0);
	assert_false(has(m.ct_fd, &old));
	assert_false(has(m.nat_fd, &nk_old));
	assert_true(has(m.ct_fd, &live) && has(m.nat_fd, &nk_live));
	assert_true(has(m.ct_fd, &udp) && has(m.nat_fd, &nk_udp));
	ct_gc_state_free(&gs);

	/* 8080/tcp removed: found by the key's address and port, not by nat_addr:nat_port */
	assert_int_equal(ct_flush_ports(&m, (struct berth_port_key[]){ pkey(GW1, 61001,
									     BERTH_PROTO_TCP) }, 1), 0);
	assert_int_equal(ct_flush_ports(&m, (struct berth_port_key[]){ pkey(0, 8080,
									     BERTH_PROTO_TCP) }, 1), 1);
	assert_false(has(m.ct_fd, &live));
	assert_false(has(m.nat_fd, &nk_live));
	assert_true(has(m.ct_fd, &udp) && has(m.nat_fd, &nk_udp));

	/* the client's interface goes: its hairpin flow with it */
	assert_int_equal(ct_flush_ifindex(&m, IF1), 1);
	assert_int_equal(count(m.ct_fd), 0);
	assert_int_equal(count(m.nat_fd), 0);
}

static void test_flush_all(void **state)
{
	struct berth_ct_key orphan = key(BERTH_PROTO_UDP, REMOTE, UPLINK, 53, 64000);
	uint64_t live;

	(void)state;
	fill_many(2500, 2, &live);
	nat_put(&orphan, &(struct berth_ct_key){ 0 });
	assert_int_equal(ct_flush_all(&m), 2500);
	assert_int_equal(count(m.ct_fd), 0);
	assert_int_equal(count(m.nat_fd), 0);
	assert_int_equal(ct_flush_all(&m), 0);
}

/* ---- maps that are not what the collector expects ---- */

static void test_wrong_layout(void **state)
{
	struct ct_maps bad;
	struct berth_ct_key k = TCP(8001, 80);
	uint8_t v[48] = { 0 };
	struct ct_gc_stats st;

	(void)state;
	/* a future berth_ct with 8 more bytes: refused, never misread */
	assert_int_equal(maps_create(&bad, 48), 0);
	assert_int_equal(bpf_map_update_elem(bad.ct_fd, &k, v, BPF_ANY), 0);
	assert_int_equal(ct_gc(&bad, NULL, NOW, &st), -EINVAL);
	assert_int_equal(ct_flush_all(&bad), -EINVAL);
	assert_int_equal(ct_flush_ifindex(&bad, 0), -EINVAL);
	assert_int_equal(ct_flush_ifindexes(&bad, (uint32_t[]){ 1, 2 }, 2), -EINVAL);
	assert_int_equal(count(bad.ct_fd), 1);
	ct_maps_close(&bad);
	assert_int_equal(bad.ct_fd, -1);
}

static void test_open_absent(void **state)
{
	struct ct_maps o;

	(void)state;
	assert_int_equal(ct_maps_open(&o, "/sys/fs/bpf/berth-test-ctgc-nonexistent"), -ENOENT);
	assert_int_equal(o.cfg_fd, -1);
	assert_int_equal(o.ct_fd, -1);
	assert_int_equal(o.nat_fd, -1);
}

/* ct_maps_open on pins, as the agent does: under a private directory, removed afterwards. */
static void test_open_pinned(void **state)
{
	static const char *const names[] = { "berth_cfg_v1", "berth_ct_v1", "berth_nat_v1" };
	const int fds[] = { m.cfg_fd, m.ct_fd, m.nat_fd };
	struct berth_ct_key k = TCP(9001, 80);
	struct berth_ct v = flow(BERTH_CT_CLOSE, 0, AGO(60), IF1);
	char dir[128], path[256];
	struct statfs sfs;
	struct ct_maps o;
	int err = 0;

	(void)state;
	if (statfs("/sys/fs/bpf", &sfs) || sfs.f_type != BPF_FS_MAGIC) {
		print_message("SKIP bpf test_ctgc open_pinned: no bpffs on /sys/fs/bpf\n");
		skip();
	}
	snprintf(dir, sizeof(dir), "/sys/fs/bpf/berth-test-ctgc-%d", getpid());
	assert_int_equal(mkdir(dir, 0700), 0);
	for (size_t i = 0; i < ARRAY_SIZE(names) && !err; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		err = bpf_obj_pin(fds[i], path);
	}
	ct_put(&k, &v);
	if (!err)
		err = ct_maps_open(&o, dir);
	if (!err) {
		assert_false(o.key_walk);
		o.key_walk = key_walk;
		err = ct_gc(&o, NULL, NOW, NULL);
		ct_maps_close(&o);
	}
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		unlink(path);
	}
	rmdir(dir);
	assert_int_equal(err, 0);
	assert_false(has(m.ct_fd, &k));
}

/* ---- main ---- */

static int skip_tier(const char *why, int err)
{
	if (err)
		printf("SKIP bpf test_ctgc: %s: %s\n", why, strerror(err));
	else
		printf("SKIP bpf test_ctgc: %s\n", why);
	return SKIP_EXIT;
}

/* Every test twice: with batch operations, and key by key. */
#define BOTH(f)                                                                      \
	{ #f, f, setup_batch, teardown, NULL },                                      \
	{ #f " (key walk)", f, setup_key_walk, teardown, NULL }

int main(void)
{
	static const struct CMUnitTest tests[] = {
		BOTH(test_gc_mixed),
		BOTH(test_gc_icmp_nat_key),
		BOTH(test_gc_nat_taken_by_another),
		BOTH(test_gc_unset_timeouts),
		BOTH(test_gc_orphans),
		BOTH(test_gc_orphans_stateless),
		BOTH(test_gc_many_interleaved),
		BOTH(test_gc_many_all_expired),
		BOTH(test_gc_many_none_expired),
		BOTH(test_flush_ifindex),
		BOTH(test_flush_ifindexes),
		BOTH(test_flush_ifindexes_many),
		BOTH(test_flush_ports),
		BOTH(test_hairpin),
		BOTH(test_flush_all),
		BOTH(test_wrong_layout),
		BOTH(test_open_pinned),
		cmocka_unit_test(test_open_absent),
	};
	struct ct_maps probe;
	int err;

	if (geteuid() != 0)
		return skip_tier("not root (creating BPF maps needs CAP_BPF)", 0);
	err = maps_create(&probe, sizeof(struct berth_ct));
	if (err == -EPERM || err == -ENOSYS)
		return skip_tier("create BPF hash maps", -err);
	if (err) {
		fprintf(stderr, "create BPF maps: %s\n", strerror(-err));
		return 1;
	}
	ct_maps_close(&probe);
	return cmocka_run_group_tests_name("bpf ctgc", tests, NULL, NULL);
}
