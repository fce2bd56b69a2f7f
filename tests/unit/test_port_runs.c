// SPDX-License-Identifier: GPL-2.0-only
/*
 * Runs: how state.json records published ports. Bindings merge into a run
 * while host port and target both go up by one and the rest (the tag) is
 * the same; a gap in either, another tag or tag 0 (a random or first-free
 * port) starts a new one. A run reads back from its numbers, with or without
 * "count" (files from before runs have none), and expands to the bindings it
 * was made of.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "ports.h"

/* One binding per run, count 1: what a writer starts from. */
static struct port_run one(uint16_t host, uint16_t target, uint32_t tag)
{
	return (struct port_run){ .host_port = host, .target = target, .count = 1, .tag = tag };
}

static void check_run(const struct port_run *r, uint16_t host, uint16_t target, uint32_t count)
{
	if (r->host_port != host || r->target != target || r->count != count)
		print_message("  got %u->%u x%u, want %u->%u x%u\n", r->host_port, r->target,
			      r->count, host, target, count);
	assert_int_equal(r->host_port, host);
	assert_int_equal(r->target, target);
	assert_int_equal(r->count, count);
}

/* A range of consecutive ports is one run; one binding stays a run of one. */
static void test_merge_range(void **state)
{
	struct port_run r[] = { one(8000, 80, 1), one(8001, 81, 1), one(8002, 82, 1),
				one(9000, 90, 2) };

	(void)state;
	assert_int_equal(port_runs_merge(r, 4), 2);
	check_run(&r[0], 8000, 80, 3);
	check_run(&r[1], 9000, 90, 1);
	assert_int_equal(port_runs_merge(r, 0), 0);
}

/* A gap in the host ports or in the targets breaks a run. */
static void test_merge_gap_breaks(void **state)
{
	struct port_run host_gap[] = { one(10, 100, 1), one(11, 101, 1), one(13, 102, 1),
				       one(14, 103, 1) };
	struct port_run target_gap[] = { one(10, 100, 1), one(11, 102, 1), one(12, 103, 1) };
	struct port_run backwards[] = { one(11, 101, 1), one(10, 100, 1) };

	(void)state;
	assert_int_equal(port_runs_merge(host_gap, 4), 2);
	check_run(&host_gap[0], 10, 100, 2);
	check_run(&host_gap[1], 13, 102, 2);
	assert_int_equal(port_runs_merge(target_gap, 3), 2);
	check_run(&target_gap[0], 10, 100, 1);
	check_run(&target_gap[1], 11, 102, 2);
	assert_int_equal(port_runs_merge(backwards, 2), 2);
}

/* Another tag (service, address, protocol, backend) breaks a run; tag 0 never merges. */
static void test_merge_tags(void **state)
{
	struct port_run tags[] = { one(10, 10, 1), one(11, 11, 2), one(12, 12, 2) };
	struct port_run random[] = { one(40000, 80, 0), one(40001, 81, 0), one(40002, 82, 0) };

	(void)state;
	assert_int_equal(port_runs_merge(tags, 3), 2);
	check_run(&tags[0], 10, 10, 1);
	check_run(&tags[1], 11, 11, 2);
	assert_int_equal(port_runs_merge(random, 3), 3);
	for (int i = 0; i < 3; i++)
		check_run(&random[i], (uint16_t)(40000 + i), (uint16_t)(80 + i), 1);
}

/* Runs merge with runs, up to the last port. */
static void test_merge_runs(void **state)
{
	struct port_run r[] = { { 65000, 1000, 500, 7 }, { 65500, 1500, 35, 7 },
				one(65535, 1535, 7) };

	(void)state;
	assert_int_equal(port_runs_merge(r, 3), 1);
	check_run(&r[0], 65000, 1000, 536);
}

/* An entry without "count", as every state.json before runs wrote it: one binding. */
static void test_make_old_format(void **state)
{
	struct port_run r;

	(void)state;
	assert_int_equal(port_run_make(8080, 80, NULL, &r), 0);
	check_run(&r, 8080, 80, 1);
	assert_int_equal(port_run_make(65535, 65535, NULL, &r), 0);
	check_run(&r, 65535, 65535, 1);
	assert_int_equal(port_run_make(0, 80, NULL, &r), -EINVAL);
	assert_int_equal(port_run_make(8080, 0, NULL, &r), -EINVAL);
	assert_int_equal(port_run_make(65536, 80, NULL, &r), -EINVAL);
	assert_int_equal(port_run_make(-1, 80, NULL, &r), -EINVAL);
}

/* With "count": every port of the run must be a port. */
static void test_make_count(void **state)
{
	struct port_run r;
	int64_t n;

	(void)state;
	n = 50000;
	assert_int_equal(port_run_make(10000, 10000, &n, &r), 0);
	check_run(&r, 10000, 10000, 50000);
	n = 1;
	assert_int_equal(port_run_make(8080, 80, &n, &r), 0);
	check_run(&r, 8080, 80, 1);
	n = 36;
	assert_int_equal(port_run_make(65500, 100, &n, &r), 0);
	n = 37;
	assert_int_equal(port_run_make(65500, 100, &n, &r), -EINVAL);
	assert_int_equal(port_run_make(100, 65500, &n, &r), -EINVAL);
	n = 0;
	assert_int_equal(port_run_make(8080, 80, &n, &r), -EINVAL);
	n = -3;
	assert_int_equal(port_run_make(8080, 80, &n, &r), -EINVAL);
	n = (int64_t)1 << 40;
	assert_int_equal(port_run_make(1, 1, &n, &r), -EINVAL);
}

/* Merged, then read back and expanded: the bindings it was made of, in their order. */
static void test_round_trip(void **state)
{
	enum { N = 9 };
	/* a range of 4, a gap, a range of 2 on another tag, a random port, a range of 2 */
	struct port_run in[N] = { one(100, 10, 1), one(101, 11, 1), one(102, 12, 1),
				  one(103, 13, 1), one(105, 15, 1), one(106, 16, 2),
				  one(107, 17, 0), one(108, 18, 3), one(109, 19, 3) };
	struct port_run runs[N];
	size_t n, k = 0;

	(void)state;
	memcpy(runs, in, sizeof(in));
	n = port_runs_merge(runs, N);
	assert_int_equal(n, 5);
	for (size_t i = 0; i < n; i++) {
		int64_t count = runs[i].count;
		struct port_run r;

		assert_int_equal(port_run_make(runs[i].host_port, runs[i].target,
					       count > 1 ? &count : NULL, &r), 0);
		for (uint32_t j = 0; j < r.count; j++, k++) {
			assert_true(k < N);
			assert_int_equal(r.host_port + j, in[k].host_port);
			assert_int_equal(r.target + j, in[k].target);
		}
	}
	assert_int_equal(k, N);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_merge_range),
		cmocka_unit_test(test_merge_gap_breaks),
		cmocka_unit_test(test_merge_tags),
		cmocka_unit_test(test_merge_runs),
		cmocka_unit_test(test_make_old_format),
		cmocka_unit_test(test_make_count),
		cmocka_unit_test(test_round_trip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
