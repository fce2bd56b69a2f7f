// SPDX-License-Identifier: GPL-2.0-only
/*
 * compose `ports:` and `expose:` items: the short syntax in every form compose
 * documents, the expose syntax, ranges, protocols and the range-length rules.
 * Every field of struct port_spec is checked, so a parser that leaves one
 * behind (or sets one it should not) fails.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "ipv4.h"
#include "ports.h"
#include "spec.h"

/* What a parse should produce; host_ip as text, NULL for 0.0.0.0. */
struct want {
	const char *host_ip;
	uint16_t host_lo, host_hi;
	uint16_t target_lo, target_hi;
	enum port_proto proto;
	bool n_to_one;
};

/* The position is the caller's: the parsers must leave it alone. */
static const struct loc sentinel_loc = { .line = 7, .col = 3 };

static void check_fields(const char *in, const struct port_spec *p, const struct want *w)
{
	uint32_t ip = 0;
	char got[16], exp[16];

	if (w->host_ip)
		assert_true(ipv4_parse(w->host_ip, &ip));
	if (p->host_ip != ip || p->host_lo != w->host_lo || p->host_hi != w->host_hi ||
	    p->target_lo != w->target_lo || p->target_hi != w->target_hi || p->proto != w->proto ||
	    p->n_to_one != w->n_to_one)
		print_message("  \"%s\": got %s %u-%u:%u-%u/%s%s, want %s %u-%u:%u-%u/%s%s\n", in,
			      ipv4_str(p->host_ip, got), p->host_lo, p->host_hi, p->target_lo,
			      p->target_hi, port_proto_name(p->proto),
			      p->n_to_one ? " n_to_one" : "",
			      ipv4_str(ip, exp), w->host_lo, w->host_hi, w->target_lo, w->target_hi,
			      port_proto_name(w->proto), w->n_to_one ? " n_to_one" : "");
	assert_string_equal(ipv4_str(p->host_ip, got), ipv4_str(ip, exp));
	assert_int_equal(p->host_lo, w->host_lo);
	assert_int_equal(p->host_hi, w->host_hi);
	assert_int_equal(p->target_lo, w->target_lo);
	assert_int_equal(p->target_hi, w->target_hi);
	assert_int_equal(p->proto, w->proto);
	assert_int_equal(p->n_to_one, w->n_to_one);
	assert_false(p->mode_host);
	assert_null(p->name);
	assert_int_equal(p->loc.line, sentinel_loc.line);
	assert_int_equal(p->loc.col, sentinel_loc.col);
}

static void expect_short(const char *in, struct want w)
{
	struct port_spec p = { .loc = sentinel_loc };
	char *err = port_parse_short(in, &p);

	if (err)
		print_message("  \"%s\": unexpected error: %s\n", in, err);
	assert_null(err);
	check_fields(in, &p, &w);
}

static void expect_short_err(const char *in, const char *needle)
{
	struct port_spec p = { .loc = sentinel_loc };
	char *err = port_parse_short(in, &p);

	if (!err)
		print_message("  \"%s\" was accepted\n", in);
	assert_non_null(err);
	if (!strstr(err, needle))
		print_message("  \"%s\": error \"%s\" lacks \"%s\"\n", in, err, needle);
	assert_non_null(strstr(err, needle));
	assert_null(p.name);
	free(err);
}

/* ---- short syntax: accepted forms ---- */

static void test_short_container_port(void **state)
{
	(void)state;
	/* a random host port on every address */
	expect_short("80", (struct want){ .target_lo = 80, .target_hi = 80 });
}

static void test_short_container_range(void **state)
{
	(void)state;
	expect_short("3000-3005", (struct want){ .target_lo = 3000, .target_hi = 3005 });
}

static void test_short_host_container(void **state)
{
	(void)state;
	expect_short("8000:8000", (struct want){ .host_lo = 8000, .host_hi = 8000,
						 .target_lo = 8000, .target_hi = 8000 });
}

static void test_short_ranges_equal_length(void **state)
{
	(void)state;
	expect_short("9090-9091:8080-8081", (struct want){ .host_lo = 9090, .host_hi = 9091,
							   .target_lo = 8080, .target_hi = 8081 });
}

static void test_short_n_to_one(void **state)
{
	(void)state;
	/* the first free port of 8000-9000 goes to 80 */
	expect_short("8000-9000:80", (struct want){ .host_lo = 8000, .host_hi = 9000,
						    .target_lo = 80, .target_hi = 80,
						    .n_to_one = true });
}

static void test_short_ip_host_container(void **state)
{
	(void)state;
	expect_short("127.0.0.1:8001:8001", (struct want){ .host_ip = "127.0.0.1",
							   .host_lo = 8001, .host_hi = 8001,
							   .target_lo = 8001, .target_hi = 8001 });
}

static void test_short_ip_random_host_port(void **state)
{
	(void)state;
	/* "IP::TARGET": a random host port, bound to one address */
	expect_short("127.0.0.1::80", (struct want){ .host_ip = "127.0.0.1",
						     .target_lo = 80, .target_hi = 80 });
}

static void test_short_ip_ranges(void **state)
{
	(void)state;
	expect_short("127.0.0.1:5000-5010:5000-5010",
		     (struct want){ .host_ip = "127.0.0.1", .host_lo = 5000, .host_hi = 5010,
				    .target_lo = 5000, .target_hi = 5010 });
}

static void test_short_udp(void **state)
{
	(void)state;
	expect_short("6060:6060/udp", (struct want){ .host_lo = 6060, .host_hi = 6060,
						     .target_lo = 6060, .target_hi = 6060,
						     .proto = PORT_UDP });
}

static void test_short_tcp_explicit(void **state)
{
	(void)state;
	expect_short("53:53/tcp", (struct want){ .host_lo = 53, .host_hi = 53, .target_lo = 53,
						 .target_hi = 53, .proto = PORT_TCP });
}

static void test_short_sctp(void **state)
{
	(void)state;
	expect_short("5000:5000/sctp", (struct want){ .host_lo = 5000, .host_hi = 5000,
						      .target_lo = 5000, .target_hi = 5000,
						      .proto = PORT_SCTP });
	expect_short("9000/sctp", (struct want){ .target_lo = 9000, .target_hi = 9000,
						 .proto = PORT_SCTP });
}

static void test_short_proto_case_insensitive(void **state)
{
	(void)state;
	expect_short("53:53/UDP", (struct want){ .host_lo = 53, .host_hi = 53, .target_lo = 53,
						 .target_hi = 53, .proto = PORT_UDP });
}

static void test_short_ip_range_udp(void **state)
{
	(void)state;
	expect_short("10.0.0.1:7000-7001:8000-8001/udp",
		     (struct want){ .host_ip = "10.0.0.1", .host_lo = 7000, .host_hi = 7001,
				    .target_lo = 8000, .target_hi = 8001, .proto = PORT_UDP });
}

static void test_short_port_bounds(void **state)
{
	(void)state;
	expect_short("1:65535", (struct want){ .host_lo = 1, .host_hi = 1, .target_lo = 65535,
					       .target_hi = 65535 });
}

/* ---- short syntax: rejected forms ---- */

static void test_short_rejects_ipv6_bare(void **state)
{
	(void)state;
	expect_short_err("::1:6000:6000", "IPv6");
}

static void test_short_rejects_ipv6_bracketed(void **state)
{
	(void)state;
	expect_short_err("[::1]:6001:6001", "IPv6");
	expect_short_err("[::1]::80", "IPv6");
}

static void test_short_rejects_unequal_ranges(void **state)
{
	(void)state;
	expect_short_err("80:8080-8081", "unequal");
	expect_short_err("8000-8001:80-82", "unequal");
}

static void test_short_rejects_port_zero(void **state)
{
	(void)state;
	expect_short_err("0", "out of range");
	expect_short_err("0:80", "out of range");
}

static void test_short_rejects_port_too_big(void **state)
{
	(void)state;
	expect_short_err("65536", "out of range");
	expect_short_err("8080:123456", "out of range");
}

static void test_short_rejects_not_a_number(void **state)
{
	(void)state;
	expect_short_err("abc", "not a number");
	expect_short_err("80a", "not a number");
	expect_short_err("+80", "not a number");
}

static void test_short_rejects_empty(void **state)
{
	(void)state;
	expect_short_err("", "empty");
}

static void test_short_rejects_bad_proto(void **state)
{
	(void)state;
	expect_short_err("80/xyz", "unknown protocol");
	expect_short_err("80/", "unknown protocol");
}

static void test_short_rejects_bad_ip(void **state)
{
	(void)state;
	expect_short_err("1.2.3:80:80", "invalid host address");
	expect_short_err("256.0.0.1:80:80", "invalid host address");
}

static void test_short_rejects_reversed(void **state)
{
	(void)state;
	expect_short_err("90-80", "reversed");
	expect_short_err("9091-9090:8081-8080", "reversed");
}

static void test_short_rejects_missing_number(void **state)
{
	(void)state;
	expect_short_err("80-", "missing port number");
	expect_short_err("-80", "missing port number");
	expect_short_err("8080:", "missing port number");
}

/* ---- expose ---- */

static void expect_expose(const char *in, struct want w)
{
	struct port_spec p = { .loc = sentinel_loc };
	char *err = port_parse_expose(in, &p);

	if (err)
		print_message("  \"%s\": unexpected error: %s\n", in, err);
	assert_null(err);
	check_fields(in, &p, &w);
}

static void expect_expose_err(const char *in, const char *needle)
{
	struct port_spec p = { .loc = sentinel_loc };
	char *err = port_parse_expose(in, &p);

	assert_non_null(err);
	if (!strstr(err, needle))
		print_message("  \"%s\": error \"%s\" lacks \"%s\"\n", in, err, needle);
	assert_non_null(strstr(err, needle));
	free(err);
}

static void test_expose_forms(void **state)
{
	(void)state;
	expect_expose("3000", (struct want){ .target_lo = 3000, .target_hi = 3000 });
	expect_expose("8000-8010", (struct want){ .target_lo = 8000, .target_hi = 8010 });
	expect_expose("53/udp", (struct want){ .target_lo = 53, .target_hi = 53,
					       .proto = PORT_UDP });
	expect_expose("9000-9001/sctp", (struct want){ .target_lo = 9000, .target_hi = 9001,
						       .proto = PORT_SCTP });
}

static void test_expose_rejects(void **state)
{
	(void)state;
	expect_expose_err("", "missing port number");
	expect_expose_err("0", "out of range");
	expect_expose_err("65536", "out of range");
	expect_expose_err("abc", "not a number");
	expect_expose_err("80/xyz", "unknown protocol");
	expect_expose_err("90-80", "reversed");
	/* expose has no host part */
	expect_expose_err("80:80", "not a number");
}

/* ---- ranges and protocols on their own ---- */

static void test_range_single_and_span(void **state)
{
	uint16_t lo = 1, hi = 1;

	(void)state;
	assert_null(port_parse_range("80", &lo, &hi));
	assert_int_equal(lo, 80);
	assert_int_equal(hi, 80);
	assert_null(port_parse_range("1-65535", &lo, &hi));
	assert_int_equal(lo, 1);
	assert_int_equal(hi, 65535);
	assert_null(port_parse_range("443-443", &lo, &hi));
	assert_int_equal(lo, 443);
	assert_int_equal(hi, 443);
}

static void expect_range_err(const char *in, const char *needle)
{
	uint16_t lo = 0, hi = 0;
	char *err = port_parse_range(in, &lo, &hi);

	if (!err)
		print_message("  \"%s\" was accepted\n", in);
	assert_non_null(err);
	if (!strstr(err, needle))
		print_message("  \"%s\": error \"%s\" lacks \"%s\"\n", in, err, needle);
	assert_non_null(strstr(err, needle));
	free(err);
}

static void test_range_rejects(void **state)
{
	(void)state;
	expect_range_err("0", "out of range");
	expect_range_err("65536", "out of range");
	expect_range_err("abc", "not a number");
	expect_range_err("", "missing port number");
	expect_range_err("90-80", "reversed");
	expect_range_err("80-", "missing port number");
	expect_range_err("-", "missing port number");
	expect_range_err("1-2-3", "not a number");
	expect_range_err(" 80", "not a number");
}

static void test_range_long_garbage_is_not_a_number(void **state)
{
	(void)state;
	/* six or more characters that are not digits are not "out of range" */
	expect_range_err("abcdefg", "not a number");
	expect_range_err("8080:80", "not a number");
}

static void test_proto_names(void **state)
{
	enum port_proto p = PORT_SCTP;
	char *err;

	(void)state;
	assert_null(port_parse_proto("tcp", &p));
	assert_int_equal(p, PORT_TCP);
	assert_null(port_parse_proto("udp", &p));
	assert_int_equal(p, PORT_UDP);
	assert_null(port_parse_proto("sctp", &p));
	assert_int_equal(p, PORT_SCTP);
	assert_null(port_parse_proto("Tcp", &p));
	assert_int_equal(p, PORT_TCP);
	err = port_parse_proto("icmp", &p);
	assert_non_null(err);
	assert_non_null(strstr(err, "icmp"));
	free(err);
	assert_string_equal(port_proto_name(PORT_TCP), "tcp");
	assert_string_equal(port_proto_name(PORT_UDP), "udp");
	assert_string_equal(port_proto_name(PORT_SCTP), "sctp");
}

/* ---- range-length rules, as the long syntax uses them ---- */

static void test_check_lengths(void **state)
{
	struct port_spec p;
	char *err;

	(void)state;
	/* equal lengths */
	p = (struct port_spec){ .host_lo = 8000, .host_hi = 8001,
				.target_lo = 80, .target_hi = 81 };
	assert_null(port_check_lengths(&p));
	assert_false(p.n_to_one);

	/* a random host port for each of a range of targets */
	p = (struct port_spec){ .target_lo = 80, .target_hi = 90 };
	assert_null(port_check_lengths(&p));
	assert_false(p.n_to_one);

	/* host range onto one target: n_to_one */
	p = (struct port_spec){ .host_lo = 8000, .host_hi = 9000,
				.target_lo = 80, .target_hi = 80 };
	assert_null(port_check_lengths(&p));
	assert_true(p.n_to_one);
	assert_int_equal(p.host_lo, 8000);
	assert_int_equal(p.host_hi, 9000);

	/* one host port onto a range of targets */
	p = (struct port_spec){ .host_lo = 80, .host_hi = 80,
				.target_lo = 8080, .target_hi = 8081 };
	err = port_check_lengths(&p);
	assert_non_null(err);
	assert_non_null(strstr(err, "unequal"));
	assert_non_null(strstr(err, "8080-8081"));
	free(err);

	/* both ranges, different lengths */
	p = (struct port_spec){ .host_lo = 8000, .host_hi = 8002,
				.target_lo = 80, .target_hi = 81 };
	err = port_check_lengths(&p);
	assert_non_null(err);
	assert_false(p.n_to_one);
	free(err);
}

/* ---- choosing host ports ---- */

/* A fake host: the ports some other socket has, and calls counted. */
struct fake_host {
	struct port_set in_use;
	int calls;
	int fail_at;		/* a port whose check fails with -EADDRNOTAVAIL (0: none) */
};

static int fake_busy(uint16_t port, void *arg)
{
	struct fake_host *h = arg;

	h->calls++;
	if (h->fail_at && port == h->fail_at)
		return -EADDRNOTAVAIL;
	return port_set_has(&h->in_use, port);
}

static void test_set_basics(void **state)
{
	struct port_set s;

	(void)state;
	memset(&s, 0, sizeof(s));
	assert_false(port_set_has(&s, 0));
	assert_false(port_set_has(&s, 65535));
	port_set_add(&s, 63, 65);
	port_set_add(&s, 65535, 65535);
	assert_false(port_set_has(&s, 62));
	assert_true(port_set_has(&s, 63));
	assert_true(port_set_has(&s, 64));
	assert_true(port_set_has(&s, 65));
	assert_false(port_set_has(&s, 66));
	assert_true(port_set_has(&s, 65535));
	assert_false(port_set_has(&s, 65536));
}

/* net.ipv4.ip_local_reserved_ports as the kernel prints it */
static void test_set_parse_reserved(void **state)
{
	struct port_set s;
	char *err;

	(void)state;
	memset(&s, 0, sizeof(s));
	assert_null(port_set_parse("\n", &s));
	for (unsigned p = 0; p < 65536; p += 997)
		assert_false(port_set_has(&s, p));
	assert_null(port_set_parse("8080,32768-32770,65535\n", &s));
	assert_true(port_set_has(&s, 8080));
	assert_false(port_set_has(&s, 8081));
	assert_false(port_set_has(&s, 32767));
	assert_true(port_set_has(&s, 32768));
	assert_true(port_set_has(&s, 32770));
	assert_false(port_set_has(&s, 32771));
	assert_true(port_set_has(&s, 65535));
	err = port_set_parse("80,x", &s);
	assert_non_null(err);
	free(err);
}

/* The list the sysctl takes back: adjacent ports joined, round trip through the parser. */
static void test_set_format(void **state)
{
	struct port_set s, back;
	char *txt;

	(void)state;
	memset(&s, 0, sizeof(s));
	txt = port_set_format(&s);
	assert_string_equal(txt, "");
	free(txt);
	port_set_add(&s, 1, 1);
	port_set_add(&s, 8080, 8082);
	port_set_add(&s, 8084, 8084);
	port_set_add(&s, 65534, 65535);
	txt = port_set_format(&s);
	assert_string_equal(txt, "1,8080-8082,8084,65534-65535");
	memset(&back, 0, sizeof(back));
	assert_null(port_set_parse(txt, &back));
	assert_memory_equal(&s, &back, sizeof(s));
	free(txt);
	/* every other port: the longest list there is, grown as it goes */
	memset(&s, 0, sizeof(s));
	for (unsigned p = 1; p < 65536; p += 2)
		port_set_add(&s, p, p);
	txt = port_set_format(&s);
	assert_int_equal(strncmp(txt, "1,3,5,", 6), 0);
	assert_non_null(strstr(txt, ",65535"));
	memset(&back, 0, sizeof(back));
	assert_null(port_set_parse(txt, &back));
	assert_memory_equal(&s, &back, sizeof(s));
	free(txt);
}

/* A random port: from the start, skipping reserved, taken and in-use ports, wrapping around. */
static void test_pick_skips_and_wraps(void **state)
{
	struct port_set reserved, taken;
	struct fake_host h;

	(void)state;
	memset(&reserved, 0, sizeof(reserved));
	memset(&taken, 0, sizeof(taken));
	memset(&h, 0, sizeof(h));
	assert_int_equal(port_pick(32768, 60999, 40000, &reserved, &taken, fake_busy, &h), 40000);
	port_set_add(&reserved, 40000, 40001);
	port_set_add(&taken, 40002, 40002);
	port_set_add(&h.in_use, 40003, 40003);
	h.calls = 0;
	assert_int_equal(port_pick(32768, 60999, 40000, &reserved, &taken, fake_busy, &h), 40004);
	/* reserved and taken ports are never asked of the host */
	assert_int_equal(h.calls, 2);
	/* from the top of the range back to its bottom */
	port_set_add(&h.in_use, 60998, 60999);
	assert_int_equal(port_pick(32768, 60999, 60998, &reserved, &taken, fake_busy, &h), 32768);
	/* a start outside the range is its bottom */
	assert_int_equal(port_pick(32768, 60999, 80, NULL, NULL, NULL, NULL), 32768);
}

/* "8000-8003:80": the first free port of the range, no reserved list, in-use ports skipped. */
static void test_pick_first_free(void **state)
{
	struct port_set taken;
	struct fake_host h;

	(void)state;
	memset(&taken, 0, sizeof(taken));
	memset(&h, 0, sizeof(h));
	port_set_add(&taken, 8000, 8000);
	port_set_add(&h.in_use, 8001, 8001);
	assert_int_equal(port_pick(8000, 8003, 8000, NULL, &taken, fake_busy, &h), 8002);
	port_set_add(&taken, 8002, 8002);
	assert_int_equal(port_pick(8000, 8003, 8000, NULL, &taken, fake_busy, &h), 8003);
	/* the whole range published or in use: none (the range is too small) */
	port_set_add(&h.in_use, 8003, 8003);
	assert_int_equal(port_pick(8000, 8003, 8000, NULL, &taken, fake_busy, &h), 0);
	/* one port, free */
	assert_int_equal(port_pick(9000, 9000, 9000, NULL, &taken, fake_busy, &h), 9000);
	/* the top of the port space */
	assert_int_equal(port_pick(65535, 65535, 65535, NULL, NULL, fake_busy, &h), 65535);
}

/* Every port excluded, an empty range, a failing check. */
static void test_pick_none_and_errors(void **state)
{
	struct port_set all;
	struct fake_host h;

	(void)state;
	memset(&all, 0xff, sizeof(all));
	memset(&h, 0, sizeof(h));
	assert_int_equal(port_pick(1024, 65535, 5000, &all, NULL, fake_busy, &h), 0);
	assert_int_equal(port_pick(1024, 65535, 5000, NULL, &all, fake_busy, &h), 0);
	assert_int_equal(h.calls, 0);
	assert_int_equal(port_pick(2000, 1000, 1500, NULL, NULL, fake_busy, &h), 0);
	assert_int_equal(port_pick(0, 0, 0, NULL, NULL, fake_busy, &h), 0);
	/* the host cannot be asked: the choice stops with its error */
	h.fail_at = 7001;
	port_set_add(&h.in_use, 7000, 7000);
	assert_int_equal(port_pick(7000, 7010, 7000, NULL, NULL, fake_busy, &h), -EADDRNOTAVAIL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_short_container_port),
		cmocka_unit_test(test_short_container_range),
		cmocka_unit_test(test_short_host_container),
		cmocka_unit_test(test_short_ranges_equal_length),
		cmocka_unit_test(test_short_n_to_one),
		cmocka_unit_test(test_short_ip_host_container),
		cmocka_unit_test(test_short_ip_random_host_port),
		cmocka_unit_test(test_short_ip_ranges),
		cmocka_unit_test(test_short_udp),
		cmocka_unit_test(test_short_tcp_explicit),
		cmocka_unit_test(test_short_sctp),
		cmocka_unit_test(test_short_proto_case_insensitive),
		cmocka_unit_test(test_short_ip_range_udp),
		cmocka_unit_test(test_short_port_bounds),
		cmocka_unit_test(test_short_rejects_ipv6_bare),
		cmocka_unit_test(test_short_rejects_ipv6_bracketed),
		cmocka_unit_test(test_short_rejects_unequal_ranges),
		cmocka_unit_test(test_short_rejects_port_zero),
		cmocka_unit_test(test_short_rejects_port_too_big),
		cmocka_unit_test(test_short_rejects_not_a_number),
		cmocka_unit_test(test_short_rejects_empty),
		cmocka_unit_test(test_short_rejects_bad_proto),
		cmocka_unit_test(test_short_rejects_bad_ip),
		cmocka_unit_test(test_short_rejects_reversed),
		cmocka_unit_test(test_short_rejects_missing_number),
		cmocka_unit_test(test_expose_forms),
		cmocka_unit_test(test_expose_rejects),
		cmocka_unit_test(test_range_single_and_span),
		cmocka_unit_test(test_range_rejects),
		cmocka_unit_test(test_range_long_garbage_is_not_a_number),
		cmocka_unit_test(test_proto_names),
		cmocka_unit_test(test_set_basics),
		cmocka_unit_test(test_set_parse_reserved),
		cmocka_unit_test(test_set_format),
		cmocka_unit_test(test_pick_skips_and_wraps),
		cmocka_unit_test(test_pick_first_free),
		cmocka_unit_test(test_pick_none_and_errors),
		cmocka_unit_test(test_check_lengths),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
