// SPDX-License-Identifier: GPL-2.0-only
/*
 * IPAM through spec_load_buffer: automatic subnets from Docker's default
 * pools (172.17-31.0.0/16, then 192.168.0.0/16 in /20s) around explicit and
 * routed subnets, gateways, endpoint addresses around gateways, static
 * addresses and ip_range, exhaustion, determinism, replicas and names.
 * Where berth follows Docker, the expected values are what dockerd's default
 * IPAM hands out for the same configuration.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "diag.h"
#include "ipv4.h"
#include "spec.h"

/* ---- fixture ---- */

static struct diag d, d2;
static struct spec *s, *s2;
static char *text;

static int teardown(void **state)
{
	(void)state;
	spec_free(s);
	spec_free(s2);
	s = s2 = NULL;
	diag_free(&d);
	diag_free(&d2);
	free(text);
	text = NULL;
	return 0;
}

static void dump_diag(const struct diag *dg)
{
	for (size_t i = 0; i < dg->n; i++) {
		char *m = diag_format(&dg->msgs[i]);

		print_message("  %s\n", m);
		free(m);
	}
}

static struct spec *load_with(const char *yaml, const struct spec_opts *o)
{
	spec_free(s);
	diag_free(&d);
	s = spec_load_buffer(yaml, strlen(yaml), "compose.yml", o, &d);
	return s;
}

static struct spec *load_ok_at(const char *yaml, const struct spec_opts *o, const char *file,
			       int line)
{
	const struct spec_opts dflt = { .default_project = "proj" };

	if (!load_with(yaml, o ? o : &dflt)) {
		print_message("  the spec did not load:\n");
		dump_diag(&d);
		_fail(file, line);
	}
	return s;
}

#define LOAD_OK(yaml, o) load_ok_at((yaml), (o), __FILE__, __LINE__)

static const struct diag_msg *load_err_at(const char *yaml, const struct spec_opts *o,
					  const char *needle, const char *file, int line)
{
	const struct spec_opts dflt = { .default_project = "proj" };
	const struct diag_msg *m;

	if (load_with(yaml, o ? o : &dflt)) {
		print_message("  the spec loaded; expected an error with \"%s\"\n", needle);
		_fail(file, line);
	}
	m = diag_find(&d, needle);
	if (!m || m->level != DIAG_ERROR) {
		print_message("  no error with \"%s\"; got:\n", needle);
		dump_diag(&d);
		_fail(file, line);
	}
	return m;
}

#define LOAD_ERR(yaml, o, needle) load_err_at((yaml), (o), (needle), __FILE__, __LINE__)

static const struct network *net_at(const char *key, const char *file, int line)
{
	for (size_t i = 0; i < s->n_nets; i++)
		if (!strcmp(s->nets[i].key, key))
			return &s->nets[i];
	print_message("  no network %s\n", key);
	_fail(file, line);
	return NULL;
}

#define NET(key) net_at((key), __FILE__, __LINE__)

/* The address of endpoint @name on network @key. */
static uint32_t addr_at(const char *name, const char *key, const char *file, int line)
{
	for (size_t i = 0; i < s->n_eps; i++) {
		const struct endpoint *e = &s->eps[i];

		if (strcmp(e->name, name))
			continue;
		for (size_t j = 0; j < e->n_addrs; j++)
			if (!strcmp(s->nets[e->addrs[j].net].key, key))
				return e->addrs[j].ipv4;
		print_message("  endpoint %s has no address on %s\n", name, key);
		_fail(file, line);
	}
	print_message("  no endpoint %s\n", name);
	_fail(file, line);
	return 0;
}

#define ADDR(name, key) addr_at((name), (key), __FILE__, __LINE__)

#define assert_ip(a, want)                                         \
	do {                                                       \
		char b_[16];                                       \
		assert_string_equal(ipv4_str((a), b_), (want));    \
	} while (0)

#define assert_prefix(p, want)                                        \
	do {                                                          \
		char b_[20];                                          \
		assert_string_equal(ipv4_prefix_str((p), b_), (want)); \
	} while (0)

static struct ipv4_prefix pfx(const char *str)
{
	struct ipv4_prefix p;

	assert_int_equal(ipv4_prefix_parse(str, &p), 0);
	return p;
}

static int line_of(const char *hay, const char *needle)
{
	const char *at = strstr(hay, needle);
	int line = 1;

	assert_non_null(at);
	for (const char *p = hay; p < at; p++)
		line += *p == '\n';
	return line;
}

/* One service "s" attached to networks n0 … n<count-1>, all declared plainly. */
static const char *many_networks(int count)
{
	size_t cap = 64 + (size_t)count * 32, n = 0;

	free(text);
	text = malloc(cap);
	assert_non_null(text);
	n += (size_t)snprintf(text + n, cap - n, "services:\n  s:\n    networks: [");
	for (int i = 0; i < count; i++)
		n += (size_t)snprintf(text + n, cap - n, "%sn%d", i ? ", " : "", i);
	n += (size_t)snprintf(text + n, cap - n, "]\nnetworks:\n");
	for (int i = 0; i < count; i++)
		n += (size_t)snprintf(text + n, cap - n, "  n%d: {}\n", i);
	assert_true(n < cap);
	return text;
}

/* ---- automatic subnets ---- */

static void test_auto_subnets_in_network_order(void **state)
{
	(void)state;
	LOAD_OK("services:\n"
		"  web:\n"
		"    networks: [c, a]\n"
		"  db: {}\n"
		"networks:\n"
		"  a: {}\n"
		"  unused: {}\n"
		"  c: {}\n",
		NULL);
	assert_int_equal(s->n_nets, 3);
	/* declared networks in file order, then the implicit default */
	assert_prefix(NET("a")->subnet, "172.17.0.0/16");
	assert_prefix(NET("c")->subnet, "172.18.0.0/16");
	assert_prefix(NET("default")->subnet, "172.19.0.0/16");
	for (size_t i = 0; i < s->n_nets; i++) {
		assert_true(s->nets[i].has_subnet);
		assert_true(s->nets[i].subnet_auto);
		assert_false(s->nets[i].has_gateway);
		assert_int_equal(s->nets[i].gateway, s->nets[i].subnet.addr + 1);
	}
	assert_ip(NET("a")->gateway, "172.17.0.1");
}

static void test_explicit_subnets_skipped(void **state)
{
	(void)state;
	LOAD_OK("services:\n"
		"  web:\n"
		"    networks: [a, b, c, d, e]\n"
		"networks:\n"
		"  a: {}\n"
		"  b:\n"
		"    ipam:\n"
		"      config:\n"
		"        - subnet: 172.17.0.0/16\n"
		"  c: {}\n"
		"  d:\n"
		"    ipam:\n"
		"      config:\n"
		"        - subnet: 172.19.128.0/24\n"
		"  e: {}\n",
		NULL);
	assert_prefix(NET("a")->subnet, "172.18.0.0/16");
	assert_prefix(NET("b")->subnet, "172.17.0.0/16");
	assert_false(NET("b")->subnet_auto);
	/* a /24 inside 172.19.0.0/16 takes the whole pool entry */
	assert_prefix(NET("c")->subnet, "172.20.0.0/16");
	assert_prefix(NET("d")->subnet, "172.19.128.0/24");
	assert_false(NET("d")->subnet_auto);
	assert_prefix(NET("e")->subnet, "172.21.0.0/16");
	assert_true(NET("e")->subnet_auto);
}

static void test_unused_explicit_subnet_does_not_block(void **state)
{
	(void)state;
	/* a network no service uses is not created, so its subnet stays free */
	LOAD_OK("services:\n"
		"  web: {}\n"
		"networks:\n"
		"  spare:\n"
		"    ipam:\n"
		"      config:\n"
		"        - subnet: 172.17.0.0/16\n",
		NULL);
	assert_int_equal(s->n_nets, 1);
	assert_prefix(s->nets[0].subnet, "172.17.0.0/16");
}

static void test_routed_subnets_avoided(void **state)
{
	const struct ipv4_prefix routed[] = {
		pfx("172.17.0.0/16"), pfx("172.19.0.5/32"), pfx("10.0.0.0/8"),
		pfx("172.20.128.0/17"),
	};
	const struct spec_opts o = {
		.default_project = "proj", .routed = routed, .n_routed = 4,
	};

	(void)state;
	LOAD_OK("services:\n"
		"  web:\n"
		"    networks: [a, b]\n"
		"networks:\n"
		"  a: {}\n"
		"  b: {}\n",
		&o);
	assert_prefix(NET("a")->subnet, "172.18.0.0/16");
	assert_prefix(NET("b")->subnet, "172.21.0.0/16");
}

static void test_default_route_blocks_nothing(void **state)
{
	const struct ipv4_prefix only_default[] = { pfx("0.0.0.0/0") };
	const struct ipv4_prefix with_docker0[] = { pfx("0.0.0.0/0"), pfx("172.17.0.0/16") };
	struct spec_opts o = { .default_project = "proj", .routed = only_default, .n_routed = 1 };
	static const char y[] = "services:\n  web: {}\n";

	(void)state;
	LOAD_OK(y, &o);
	assert_prefix(s->nets[0].subnet, "172.17.0.0/16");
	o.routed = with_docker0;
	o.n_routed = 2;
	LOAD_OK(y, &o);
	assert_prefix(s->nets[0].subnet, "172.18.0.0/16");
}

static void test_pool_continues_in_192_168(void **state)
{
	const struct ipv4_prefix routed[] = { pfx("172.16.0.0/12") };
	const struct spec_opts o = { .default_project = "proj", .routed = routed, .n_routed = 1 };

	(void)state;
	LOAD_OK("services:\n"
		"  web:\n"
		"    networks: [a, b]\n"
		"networks:\n"
		"  a: {}\n"
		"  b: {}\n",
		&o);
	assert_prefix(NET("a")->subnet, "192.168.0.0/20");
	assert_ip(NET("a")->gateway, "192.168.0.1");
	assert_prefix(NET("b")->subnet, "192.168.16.0/20");
	assert_ip(NET("b")->gateway, "192.168.16.1");
	assert_ip(ADDR("proj-web-1", "b"), "192.168.16.2");
}

static void test_all_31_pools(void **state)
{
	char key[16];

	(void)state;
	LOAD_OK(many_networks(31), NULL);
	assert_int_equal(s->n_nets, 31);
	for (int i = 0; i < 15; i++) {
		char want[32];

		snprintf(key, sizeof(key), "n%d", i);
		snprintf(want, sizeof(want), "172.%d.0.0/16", 17 + i);
		assert_prefix(NET(key)->subnet, want);
	}
	for (int i = 0; i < 16; i++) {
		char want[32];

		snprintf(key, sizeof(key), "n%d", 15 + i);
		snprintf(want, sizeof(want), "192.168.%d.0/20", 16 * i);
		assert_prefix(NET(key)->subnet, want);
	}
}

static void test_pool_exhaustion_by_count(void **state)
{
	const struct diag_msg *m;

	(void)state;
	m = LOAD_ERR(many_networks(32), NULL, "default address pools");
	assert_non_null(strstr(m->text, "n31"));
	assert_int_equal(m->loc.line, line_of(text, "  n31:"));
	assert_int_equal(d.n_errors, 1);
}

static void test_pool_exhaustion_by_routes(void **state)
{
	const struct ipv4_prefix routed[] = { pfx("172.16.0.0/12"), pfx("192.168.0.0/16") };
	const struct spec_opts o = { .default_project = "proj", .routed = routed, .n_routed = 2 };
	const struct diag_msg *m;

	(void)state;
	m = LOAD_ERR("services:\n  web: {}\n", &o, "default address pools");
	assert_non_null(strstr(m->text, "default"));
	assert_non_null(strstr(m->text, "give it an ipam subnet"));
}

/* ---- gateways and endpoint addresses ---- */

static void test_endpoints_start_at_two(void **state)
{
	(void)state;
	LOAD_OK("services:\n"
		"  a: {}\n"
		"  b: {}\n"
		"  c: {}\n",
		NULL);
	assert_ip(s->nets[0].gateway, "172.17.0.1");
	assert_ip(ADDR("proj-a-1", "default"), "172.17.0.2");
	assert_ip(ADDR("proj-b-1", "default"), "172.17.0.3");
	assert_ip(ADDR("proj-c-1", "default"), "172.17.0.4");
}

static void test_explicit_gateway_skipped(void **state)
{
	(void)state;
	LOAD_OK("services:\n"
		"  a:\n"
		"    scale: 3\n"
		"networks:\n"
		"  default:\n"
		"    ipam:\n"
		"      config:\n"
		"        - subnet: 10.1.0.0/24\n"
		"          gateway: 10.1.0.2\n",
		NULL);
	assert_true(s->nets[0].has_gateway);
	assert_ip(s->nets[0].gateway, "10.1.0.2");
	/* .1 is free when the gateway is elsewhere */
	assert_ip(ADDR("proj-a-1", "default"), "10.1.0.1");
	assert_ip(ADDR("proj-a-2", "default"), "10.1.0.3");
	assert_ip(ADDR("proj-a-3", "default"), "10.1.0.4");
}

static void test_static_addresses_skipped(void **state)
{
	(void)state;
	LOAD_OK("services:\n"
		"  first: {}\n"
		"  fixed:\n"
		"    networks:\n"
		"      default:\n"
		"        ipv4_address: 10.3.0.2\n"
		"  second: {}\n"
		"  fixed2:\n"
		"    networks:\n"
		"      default:\n"
		"        ipv4_address: 10.3.0.4\n"
		"  third: {}\n"
		"networks:\n"
		"  default:\n"
		"    ipam:\n"
		"      config:\n"
		"        - subnet: 10.3.0.0/24\n",
		NULL);
	/* a static address later in the file is still kept free */
	assert_ip(ADDR("proj-first-1", "default"), "10.3.0.3");
	assert_ip(ADDR("proj-fixed-1", "default"), "10.3.0.2");
	assert_ip(ADDR("proj-second-1", "default"), "10.3.0.5");
	assert_ip(ADDR("proj-fixed2-1", "default"), "10.3.0.4");
	assert_ip(ADDR("proj-third-1", "default"), "10.3.0.6");
}

static void test_ip_range_with_gateway_outside(void **state)
{
	(void)state;
	/*
	 * dockerd hands out the first address of the range, even one ending in
	 * .0, when it is not the subnet's network address (docker/for-linux#170;
	 * libnetwork's getAddress → SetAnyInRange / AddAnyInRange).
	 */
	LOAD_OK("services:\n"
		"  a:\n"
		"    scale: 2\n"
		"networks:\n"
		"  default:\n"
		"    ipam:\n"
		"      config:\n"
		"        - subnet: 172.25.0.0/16\n"
		"          ip_range: 172.25.5.0/24\n"
		"          gateway: 172.25.0.1\n",
		NULL);
	assert_ip(s->nets[0].gateway, "172.25.0.1");
	assert_ip(ADDR("proj-a-1", "default"), "172.25.5.0");
	assert_ip(ADDR("proj-a-2", "default"), "172.25.5.1");
}

static void test_ip_range_without_gateway(void **state)
{
	(void)state;
	/*
	 * With no gateway given, libnetwork asks IPAM for one on the pool that
	 * carries the ip_range, so the gateway is the range's first address and
	 * the first endpoint the one after it.
	 */
	LOAD_OK("services:\n"
		"  a:\n"
		"    scale: 2\n"
		"networks:\n"
		"  default:\n"
		"    ipam:\n"
		"      config:\n"
		"        - subnet: 172.25.0.0/16\n"
		"          ip_range: 172.25.5.0/24\n",
		NULL);
	assert_ip(s->nets[0].gateway, "172.25.5.0");
	assert_ip(ADDR("proj-a-1", "default"), "172.25.5.1");
	assert_ip(ADDR("proj-a-2", "default"), "172.25.5.2");
}

static void test_ip_range_at_subnet_start(void **state)
{
	(void)state;
	/* the range's first address is the network address here: reserved */
	LOAD_OK("services:\n"
		"  a: {}\n"
		"networks:\n"
		"  default:\n"
		"    ipam:\n"
		"      config:\n"
		"        - subnet: 172.26.0.0/16\n"
		"          ip_range: 172.26.0.0/24\n",
		NULL);
	assert_ip(s->nets[0].gateway, "172.26.0.1");
	assert_ip(ADDR("proj-a-1", "default"), "172.26.0.2");
}

static void test_ip_range_exhaustion(void **state)
{
	static const char fits[] =
		"services:\n"
		"  a:\n"
		"    scale: 4\n"
		"networks:\n"
		"  default:\n"
		"    ipam:\n"
		"      config:\n"
		"        - subnet: 10.2.0.0/24\n"
		"          ip_range: 10.2.0.4/30\n"
		"          gateway: 10.2.0.1\n";
	static const char over[] =
		"services:\n"
		"  a:\n"
		"    scale: 5\n"
		"networks:\n"
		"  default:\n"
		"    ipam:\n"
		"      config:\n"
		"        - subnet: 10.2.0.0/24\n"
		"          ip_range: 10.2.0.4/30\n"
		"          gateway: 10.2.0.1\n";
	static const char at_end[] =
		"services:\n"
		"  a:\n"
		"    scale: 4\n"
		"networks:\n"
		"  default:\n"
		"    ipam:\n"
		"      config:\n"
		"        - subnet: 10.2.0.0/24\n"
		"          ip_range: 10.2.0.252/30\n"
		"          gateway: 10.2.0.1\n";
	const struct diag_msg *m;

	(void)state;
	/* all four addresses of a /30 range inside the subnet are usable */
	LOAD_OK(fits, NULL);
	assert_ip(ADDR("proj-a-1", "default"), "10.2.0.4");
	assert_ip(ADDR("proj-a-4", "default"), "10.2.0.7");

	m = LOAD_ERR(over, NULL, "no free address left");
	assert_non_null(strstr(m->text, "proj-a-5"));
	assert_non_null(strstr(m->text, "ip_range 10.2.0.4/30"));

	/* the subnet's broadcast address is never handed out */
	m = LOAD_ERR(at_end, NULL, "no free address left");
	assert_non_null(strstr(m->text, "proj-a-4"));
}

static void test_small_subnet_exhaustion(void **state)
{
	static const char one[] =
		"services:\n"
		"  a:\n"
		"    networks: [small]\n"
		"networks:\n"
		"  small:\n"
		"    ipam:\n"
		"      config:\n"
		"        - subnet: 10.0.0.0/30\n";
	static const char two[] =
		"services:\n"
		"  a:\n"
		"    networks: [small]\n"
		"    scale: 2\n"
		"networks:\n"
		"  small:\n"
		"    ipam:\n"
		"      config:\n"
		"        - subnet: 10.0.0.0/30\n";
	const struct diag_msg *m;

	(void)state;
	/* network, gateway, one endpoint, broadcast */
	LOAD_OK(one, NULL);
	assert_ip(NET("small")->gateway, "10.0.0.1");
	assert_ip(ADDR("proj-a-1", "small"), "10.0.0.2");

	m = LOAD_ERR(two, NULL, "no free address left");
	assert_non_null(strstr(m->text, "proj-a-2"));
	assert_non_null(strstr(m->text, "subnet 10.0.0.0/30"));
	assert_string_equal(m->file, "compose.yml");
	/* at the service's attachment to the network */
	assert_int_equal(m->loc.line, 3);
	assert_int_equal(m->loc.col, 16);
}

static void test_deterministic(void **state)
{
	static const char y[] =
		"services:\n"
		"  web:\n"
		"    networks: [front, back]\n"
		"    scale: 3\n"
		"  db:\n"
		"    networks:\n"
		"      back:\n"
		"        ipv4_address: 10.7.0.9\n"
		"  cache: {}\n"
		"networks:\n"
		"  front: {}\n"
		"  back:\n"
		"    ipam:\n"
		"      config:\n"
		"        - subnet: 10.7.0.0/24\n";
	const struct spec_opts o = { .default_project = "proj" };

	(void)state;
	LOAD_OK(y, &o);
	s2 = spec_load_buffer(y, strlen(y), "compose.yml", &o, &d2);
	assert_non_null(s2);
	assert_int_equal(s->n_nets, s2->n_nets);
	for (size_t i = 0; i < s->n_nets; i++) {
		assert_int_equal(s->nets[i].subnet.addr, s2->nets[i].subnet.addr);
		assert_int_equal(s->nets[i].subnet.len, s2->nets[i].subnet.len);
		assert_int_equal(s->nets[i].gateway, s2->nets[i].gateway);
	}
	assert_int_equal(s->n_eps, s2->n_eps);
	for (size_t i = 0; i < s->n_eps; i++) {
		assert_string_equal(s->eps[i].name, s2->eps[i].name);
		assert_int_equal(s->eps[i].n_addrs, s2->eps[i].n_addrs);
		for (size_t j = 0; j < s->eps[i].n_addrs; j++) {
			assert_int_equal(s->eps[i].addrs[j].net, s2->eps[i].addrs[j].net);
			assert_int_equal(s->eps[i].addrs[j].ipv4, s2->eps[i].addrs[j].ipv4);
		}
	}
	assert_ip(ADDR("proj-web-3", "back"), "10.7.0.4");
	assert_ip(ADDR("proj-db-1", "back"), "10.7.0.9");
}

static void test_replicas_consecutive(void **state)
{
	(void)state;
	LOAD_OK("services:\n"
		"  a:\n"
		"    deploy:\n"
		"      replicas: 3\n"
		"  b: {}\n",
		NULL);
	assert_int_equal(s->n_eps, 4);
	for (int r = 0; r < 3; r++) {
		assert_int_equal(s->eps[r].replica, r + 1);
		assert_int_equal(s->eps[r].svc, 0);
		assert_int_equal(s->eps[r].n_addrs, 1);
		assert_int_equal(s->eps[r].addrs[0].ipv4, s->nets[0].subnet.addr + 2 + (uint32_t)r);
	}
	assert_string_equal(s->eps[0].name, "proj-a-1");
	assert_string_equal(s->eps[2].name, "proj-a-3");
	assert_string_equal(s->eps[3].name, "proj-b-1");
	assert_int_equal(s->eps[3].svc, 1);
	assert_ip(s->eps[3].addrs[0].ipv4, "172.17.0.5");
}

static void test_endpoint_names(void **state)
{
	const struct spec_opts o = { .project = "shop" };

	(void)state;
	LOAD_OK("services:\n"
		"  db:\n"
		"    container_name: the-db\n"
		"  web:\n"
		"    scale: 2\n",
		&o);
	assert_int_equal(s->n_eps, 3);
	assert_string_equal(s->eps[0].name, "the-db");
	assert_int_equal(s->eps[0].replica, 1);
	assert_string_equal(s->eps[1].name, "shop-web-1");
	assert_string_equal(s->eps[2].name, "shop-web-2");
	assert_int_equal(s->eps[2].replica, 2);
	assert_ip(ADDR("the-db", "default"), "172.17.0.2");
	assert_ip(ADDR("shop-web-2", "default"), "172.17.0.4");
}

static void test_per_network_counters(void **state)
{
	(void)state;
	LOAD_OK("services:\n"
		"  a:\n"
		"    networks: [x, y]\n"
		"  b:\n"
		"    networks: [y]\n"
		"  c:\n"
		"    networks: [x]\n"
		"networks:\n"
		"  x: {}\n"
		"  y: {}\n",
		NULL);
	assert_ip(ADDR("proj-a-1", "x"), "172.17.0.2");
	assert_ip(ADDR("proj-a-1", "y"), "172.18.0.2");
	assert_ip(ADDR("proj-b-1", "y"), "172.18.0.3");
	assert_ip(ADDR("proj-c-1", "x"), "172.17.0.3");
	assert_int_equal(s->eps[0].n_addrs, 2);
	assert_int_equal(s->eps[0].addrs[0].svc_net, 0);
	assert_int_equal(s->eps[0].addrs[1].svc_net, 1);
}

static void test_host_and_none_take_no_address(void **state)
{
	(void)state;
	LOAD_OK("services:\n"
		"  h:\n"
		"    network_mode: host\n"
		"  n:\n"
		"    network_mode: none\n"
		"  b: {}\n",
		NULL);
	assert_int_equal(s->n_eps, 3);
	assert_int_equal(s->eps[0].n_addrs, 0);
	assert_int_equal(s->eps[1].n_addrs, 0);
	assert_ip(ADDR("proj-b-1", "default"), "172.17.0.2");
}

/* What an earlier `up` gave stays: a new service listed first does not shift anyone. */
static void test_prior_allocations_kept(void **state)
{
	const struct spec_prior_net nets[] = { { "proj_default", { 0xac180000, 16 } } };
	const struct spec_prior_addr addrs[] = {
		{ "proj-web-1", "proj_default", 0xac180007 },	/* 172.24.0.7 */
		{ "proj-web-2", "proj_default", 0xac180003 },	/* 172.24.0.3 */
		{ "proj-gone-1", "proj_default", 0xac180002 },	/* no longer in the file */
		{ "proj-db-1", "proj_default", 0x0a000005 },	/* outside the subnet: ignored */
	};
	const struct spec_opts o = { .default_project = "proj", .prior_nets = nets,
				     .n_prior_nets = 1, .prior_addrs = addrs, .n_prior_addrs = 4 };

	(void)state;
	LOAD_OK("services:\n"
		"  new: {}\n"
		"  web:\n"
		"    scale: 2\n"
		"  db: {}\n",
		&o);
	assert_prefix(NET("default")->subnet, "172.24.0.0/16");
	assert_true(NET("default")->subnet_auto);
	assert_ip(ADDR("proj-web-1", "default"), "172.24.0.7");
	assert_ip(ADDR("proj-web-2", "default"), "172.24.0.3");
	/* the rest fill the lowest free addresses, the departed one's included */
	assert_ip(ADDR("proj-new-1", "default"), "172.24.0.2");
	assert_ip(ADDR("proj-db-1", "default"), "172.24.0.4");
}

/* A prior subnet that an explicit subnet now overlaps is given up for a fresh one. */
static void test_prior_subnet_yields_to_explicit(void **state)
{
	const struct spec_prior_net nets[] = { { "proj_a", { 0xac110000, 16 } } };
	const struct spec_opts o = { .default_project = "proj", .prior_nets = nets,
				     .n_prior_nets = 1 };

	(void)state;
	LOAD_OK("services:\n"
		"  s:\n"
		"    networks: [a, b]\n"
		"networks:\n"
		"  a: {}\n"
		"  b:\n"
		"    ipam: {config: [{subnet: 172.17.0.0/24}]}\n",
		&o);
	assert_prefix(NET("a")->subnet, "172.18.0.0/16");
}

static void test_aux_addresses_reserved(void **state)
{
	(void)state;
	/*
	 * dockerd reserves auxiliary addresses that fall in the allocatable
	 * pool (libnetwork ipamAllocateVersion: "If they fall into the
	 * container addressable pool, libnetwork will reserve them").
	 */
	LOAD_OK("services:\n"
		"  a: {}\n"
		"networks:\n"
		"  default:\n"
		"    ipam:\n"
		"      config:\n"
		"        - subnet: 10.4.0.0/24\n"
		"          aux_addresses:\n"
		"            router: 10.4.0.2\n",
		NULL);
	assert_ip(ADDR("proj-a-1", "default"), "10.4.0.3");
}

int main(void)
{
#define T(f) cmocka_unit_test_teardown(f, teardown)
	const struct CMUnitTest tests[] = {
		T(test_auto_subnets_in_network_order),
		T(test_explicit_subnets_skipped),
		T(test_unused_explicit_subnet_does_not_block),
		T(test_routed_subnets_avoided),
		T(test_default_route_blocks_nothing),
		T(test_pool_continues_in_192_168),
		T(test_all_31_pools),
		T(test_pool_exhaustion_by_count),
		T(test_pool_exhaustion_by_routes),
		T(test_endpoints_start_at_two),
		T(test_explicit_gateway_skipped),
		T(test_static_addresses_skipped),
		T(test_ip_range_with_gateway_outside),
		T(test_ip_range_without_gateway),
		T(test_ip_range_at_subnet_start),
		T(test_ip_range_exhaustion),
		T(test_small_subnet_exhaustion),
		T(test_deterministic),
		T(test_replicas_consecutive),
		T(test_endpoint_names),
		T(test_per_network_counters),
		T(test_host_and_none_take_no_address),
		T(test_prior_allocations_kept),
		T(test_prior_subnet_yields_to_explicit),
		T(test_aux_addresses_reserved),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
