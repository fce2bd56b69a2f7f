// SPDX-License-Identifier: GPL-2.0-only
/*
 * The policy compiler (user/lib/policy_compile.c): x-berth.policy rules of a
 * loaded file in, the berth_policy_v1 entries of one revision out — markers,
 * protocol expansion, merged and sorted port ranges — plus the range merge
 * and set comparison the agent uses to decide whether a revision changes.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "policy_compile.h"
#include "spec.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Identities the tests hand out: 100 + the service's index in the file. */
#define ID(i) (100u + (i))

struct compiled {
	struct spec *s;
	struct policy_entry *e;
	size_t n;
};

static void compile_yaml(const char *yaml, struct compiled *out)
{
	struct spec_opts opts = { .project = "t" };
	struct diag d = { 0 };
	uint32_t ids[16];

	out->s = spec_load_buffer(yaml, strlen(yaml), "t.yml", &opts, &d);
	for (size_t i = 0; i < d.n; i++)
		print_error("%s\n", d.msgs[i].text);
	diag_free(&d);
	assert_non_null(out->s);
	assert_true(out->s->n_svcs <= ARRAY_SIZE(ids));
	for (size_t i = 0; i < out->s->n_svcs; i++)
		ids[i] = ID(i);
	assert_int_equal(policy_compile(out->s, ids, &out->e, &out->n), 0);
}

static void compiled_free(struct compiled *c)
{
	free(c->e);
	spec_free(c->s);
}

/* Entry @i is (from, to, proto) with these ranges (lo, hi pairs). */
static void check_entry(const struct compiled *c, size_t i, uint32_t from, uint32_t to,
			uint8_t proto, size_t n, const uint16_t *r)
{
	const struct policy_entry *e;

	assert_true(i < c->n);
	e = &c->e[i];
	assert_int_equal(e->from_id, from);
	assert_int_equal(e->to_id, to);
	assert_int_equal(e->proto, proto);
	assert_int_equal(e->n, n);
	for (size_t j = 0; j < n; j++) {
		assert_int_equal(e->r[j].lo, r[2 * j]);
		assert_int_equal(e->r[j].hi, r[2 * j + 1]);
	}
}

/* api → db tcp 5432: the marker guards db, one entry admits api. */
static void test_one_rule(void **state)
{
	static const uint16_t pg[] = { 5432, 5432 };
	struct compiled c;

	(void)state;
	compile_yaml("x-berth:\n"
		     "  policy:\n"
		     "    - {from: api, to: db, proto: tcp, ports: [5432]}\n"
		     "services:\n"
		     "  web: {}\n"
		     "  api: {}\n"
		     "  db: {}\n",
		     &c);
	assert_int_equal(c.n, 2);
	check_entry(&c, 0, 0, ID(2), 0, 0, NULL);
	check_entry(&c, 1, ID(1), ID(2), 6, 1, pg);
	compiled_free(&c);
}

/* No proto: tcp, udp and icmp; no ports: every port; icmp carries no ranges. */
static void test_any_proto_every_port(void **state)
{
	static const uint16_t all[] = { 0, 65535 };
	struct compiled c;

	(void)state;
	compile_yaml("x-berth:\n"
		     "  policy:\n"
		     "    - {from: a, to: b}\n"
		     "services:\n"
		     "  a: {}\n"
		     "  b: {}\n",
		     &c);
	assert_int_equal(c.n, 4);
	check_entry(&c, 0, 0, ID(1), 0, 0, NULL);
	check_entry(&c, 1, ID(0), ID(1), 1, 0, NULL);
	check_entry(&c, 2, ID(0), ID(1), 6, 1, all);
	check_entry(&c, 3, ID(0), ID(1), 17, 1, all);
	compiled_free(&c);
}

/* Rules with one key merge into one entry: sorted, overlapping and adjacent ranges joined. */
static void test_merge_across_rules(void **state)
{
	static const uint16_t want[] = { 80, 95, 100, 100, 8000, 8080 };
	struct compiled c;

	(void)state;
	compile_yaml("x-berth:\n"
		     "  policy:\n"
		     "    - {from: a, to: b, proto: tcp, ports: [8000-8080, 100, 80]}\n"
		     "    - {from: a, to: b, proto: tcp, ports: [\"81-90\", \"85-94\", 95, 8010]}\n"
		     "services:\n"
		     "  a: {}\n"
		     "  b: {}\n",
		     &c);
	assert_int_equal(c.n, 2);
	check_entry(&c, 1, ID(0), ID(1), 6, 3, want);
	compiled_free(&c);
}

/* A rule without ports after one with ports: the key allows every port. */
static void test_every_port_wins(void **state)
{
	static const uint16_t all[] = { 0, 65535 };
	struct compiled c;

	(void)state;
	compile_yaml("x-berth:\n"
		     "  policy:\n"
		     "    - {from: a, to: b, proto: udp, ports: [53]}\n"
		     "    - {from: a, to: b, proto: udp}\n"
		     "services:\n"
		     "  a: {}\n"
		     "  b: {}\n",
		     &c);
	assert_int_equal(c.n, 2);
	check_entry(&c, 1, ID(0), ID(1), 17, 1, all);
	compiled_free(&c);
}

/* Several targets and sources: one marker per target, entries ordered by (to, from, proto). */
static void test_order_and_markers(void **state)
{
	static const uint16_t p1[] = { 1, 1 }, p2[] = { 2, 2 }, p3[] = { 3, 3 };
	struct compiled c;

	(void)state;
	compile_yaml("x-berth:\n"
		     "  policy:\n"
		     "    - {from: c, to: b, proto: tcp, ports: [3]}\n"
		     "    - {from: a, to: c, proto: udp, ports: [2]}\n"
		     "    - {from: a, to: b, proto: tcp, ports: [1]}\n"
		     "    - {from: b, to: b, proto: icmp}\n"
		     "services:\n"
		     "  a: {}\n"
		     "  b: {}\n"
		     "  c: {}\n",
		     &c);
	assert_int_equal(c.n, 6);
	check_entry(&c, 0, 0, ID(1), 0, 0, NULL);
	check_entry(&c, 1, ID(0), ID(1), 6, 1, p1);
	check_entry(&c, 2, ID(1), ID(1), 1, 0, NULL);
	check_entry(&c, 3, ID(2), ID(1), 6, 1, p3);
	check_entry(&c, 4, 0, ID(2), 0, 0, NULL);
	check_entry(&c, 5, ID(0), ID(2), 17, 1, p2);
	compiled_free(&c);
}

/* No rules: no entries, nothing guarded. */
static void test_no_rules(void **state)
{
	struct compiled c;

	(void)state;
	compile_yaml("services:\n"
		     "  a: {}\n",
		     &c);
	assert_int_equal(c.n, 0);
	compiled_free(&c);
}

/* Rules the validator refuses are refused here too, without a partial result. */
static void test_refused(void **state)
{
	struct service svcs[2] = { { .name = "a" }, { .name = "b" } };
	struct policy_rule rule = { .from = "a", .to = "ghost", .proto = 6 };
	struct spec s = { .svcs = svcs, .n_svcs = 2, .policy = &rule, .n_policy = 1 };
	uint32_t ids[2] = { 1, 2 };
	struct policy_entry *e = (void *)1;
	size_t n = 99;

	(void)state;
	assert_int_equal(policy_compile(&s, ids, &e, &n), -ENOENT);
	assert_null(e);
	assert_int_equal(n, 0);

	/* 16 single ports two apart: 16 ranges that no merge can join */
	rule.to = "b";
	rule.n_ports = 16;
	rule.ports = calloc(rule.n_ports, sizeof(*rule.ports));
	assert_non_null(rule.ports);
	for (size_t i = 0; i < rule.n_ports; i++)
		rule.ports[i].lo = rule.ports[i].hi = (uint16_t)(1000 + 2 * i);
	assert_int_equal(policy_compile(&s, ids, &e, &n), -E2BIG);
	assert_null(e);
	/* 15 fit */
	rule.n_ports = BERTH_POLICY_RANGES;
	assert_int_equal(policy_compile(&s, ids, &e, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(e[1].n, BERTH_POLICY_RANGES);
	free(e);
	free(rule.ports);
}

static void test_ranges_merge(void **state)
{
	struct policy_range r[] = { { 10, 20 }, { 5, 5 }, { 21, 30 }, { 6, 8 }, { 15, 16 },
				    { 40, 40 }, { 65535, 65535 }, { 65000, 65534 } };
	size_t n;

	(void)state;
	n = policy_ranges_merge(r, ARRAY_SIZE(r));
	assert_int_equal(n, 4);
	assert_int_equal(r[0].lo, 5);
	assert_int_equal(r[0].hi, 8);
	assert_int_equal(r[1].lo, 10);
	assert_int_equal(r[1].hi, 30);
	assert_int_equal(r[2].lo, 40);
	assert_int_equal(r[2].hi, 40);
	/* the top of the port space does not wrap */
	assert_int_equal(r[3].lo, 65000);
	assert_int_equal(r[3].hi, 65535);
	assert_int_equal(policy_ranges_merge(r, 0), 0);
}

/* What decides whether an up writes a new revision. */
static void test_entries_equal(void **state)
{
	struct policy_entry a[3] = {
		{ .from_id = 0, .to_id = 7 },
		{ .from_id = 3, .to_id = 7, .proto = 6, .n = 1, .r = { { 80, 80 } } },
		{ .from_id = 3, .to_id = 7, .proto = 1 },
	};
	struct policy_entry b[3] = { a[2], a[0], a[1] };

	(void)state;
	policy_entries_sort(a, 3);
	policy_entries_sort(b, 3);
	assert_true(policy_entries_equal(a, 3, b, 3));
	assert_false(policy_entries_equal(a, 3, b, 2));
	b[2].r[0].hi = 81;
	policy_entries_sort(b, 3);
	assert_false(policy_entries_equal(a, 3, b, 3));
	/* ranges past n do not count */
	b[2].r[0].hi = 80;
	b[2].r[1].hi = 9;
	assert_true(policy_entries_equal(a, 3, b, 3));
	assert_true(policy_entries_equal(NULL, 0, NULL, 0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_one_rule),
		cmocka_unit_test(test_any_proto_every_port),
		cmocka_unit_test(test_merge_across_rules),
		cmocka_unit_test(test_every_port_wins),
		cmocka_unit_test(test_order_and_markers),
		cmocka_unit_test(test_no_rules),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_ranges_merge),
		cmocka_unit_test(test_entries_equal),
	};

	return cmocka_run_group_tests_name("policy", tests, NULL, NULL);
}
