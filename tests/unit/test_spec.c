// SPDX-License-Identifier: GPL-2.0-only
/*
 * The compose loader end to end (spec_load_buffer on YAML text): both forms
 * of every key berth reads, the x-berth extensions, YAML anchors and merge
 * keys, interpolation with the process environment and .env, project and
 * network naming, the implicit default network, and the keys berth lists as
 * ignored. Address allocation has its own file, test_ipam.c.
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

/* ---- fixture: what a test loads is freed by the teardown, pass or fail ---- */

static struct diag d;
static struct spec *s;

static int teardown(void **state)
{
	(void)state;
	spec_free(s);
	s = NULL;
	diag_free(&d);
	return 0;
}

static void dump_diag(void)
{
	for (size_t i = 0; i < d.n; i++) {
		char *m = diag_format(&d.msgs[i]);

		print_message("  %s\n", m);
		free(m);
	}
}

static const struct spec_opts default_opts = { .default_project = "proj" };

static struct spec *load_with(const char *yaml, const struct spec_opts *o)
{
	teardown(NULL);
	s = spec_load_buffer(yaml, strlen(yaml), "compose.yml", o, &d);
	return s;
}

static struct spec *load_ok_at(const char *yaml, const struct spec_opts *o, const char *file,
			       int line)
{
	if (!load_with(yaml, o ? o : &default_opts)) {
		print_message("  the spec did not load:\n");
		dump_diag();
		_fail(file, line);
	}
	return s;
}

#define LOAD_OK(yaml, o) load_ok_at((yaml), (o), __FILE__, __LINE__)

/* The load fails with an error containing @needle. */
static const struct diag_msg *load_err_at(const char *yaml, const struct spec_opts *o,
					  const char *needle, const char *file, int line)
{
	const struct diag_msg *m;

	if (load_with(yaml, o ? o : &default_opts)) {
		print_message("  the spec loaded; expected an error with \"%s\"\n", needle);
		dump_diag();
		_fail(file, line);
	}
	m = diag_find(&d, needle);
	if (!m || m->level != DIAG_ERROR) {
		print_message("  no error with \"%s\"; got:\n", needle);
		dump_diag();
		_fail(file, line);
	}
	return m;
}

#define LOAD_ERR(yaml, o, needle) load_err_at((yaml), (o), (needle), __FILE__, __LINE__)

/* ---- finding things in the model ---- */

static const struct service *svc_at(const char *name, const char *file, int line)
{
	for (size_t i = 0; i < s->n_svcs; i++)
		if (!strcmp(s->svcs[i].name, name))
			return &s->svcs[i];
	print_message("  no service %s\n", name);
	_fail(file, line);
	return NULL;
}

static int net_idx_at(const char *key, const char *file, int line)
{
	for (size_t i = 0; i < s->n_nets; i++)
		if (!strcmp(s->nets[i].key, key))
			return (int)i;
	print_message("  no network %s\n", key);
	_fail(file, line);
	return -1;
}

static const struct endpoint *ep_at(const char *name, const char *file, int line)
{
	for (size_t i = 0; i < s->n_eps; i++)
		if (!strcmp(s->eps[i].name, name))
			return &s->eps[i];
	print_message("  no endpoint %s; endpoints are:\n", name);
	for (size_t i = 0; i < s->n_eps; i++)
		print_message("    %s\n", s->eps[i].name);
	_fail(file, line);
	return NULL;
}

#define SVC(name) svc_at((name), __FILE__, __LINE__)
#define NET_IDX(key) net_idx_at((key), __FILE__, __LINE__)
#define NET(key) (&s->nets[NET_IDX(key)])
#define EP(name) ep_at((name), __FILE__, __LINE__)

static const struct ignored_key *find_ignored(const char *path)
{
	for (size_t i = 0; i < s->n_ignored; i++)
		if (!strcmp(s->ignored[i].path, path))
			return &s->ignored[i];
	return NULL;
}

static const struct ignored_key *ignored_at(const char *path, const char *file, int line)
{
	const struct ignored_key *k = find_ignored(path);

	if (!k) {
		print_message("  \"%s\" is not in s->ignored, which holds:\n", path);
		for (size_t i = 0; i < s->n_ignored; i++)
			print_message("    %s\n", s->ignored[i].path);
		_fail(file, line);
	}
	return k;
}

#define IGNORED(path) ignored_at((path), __FILE__, __LINE__)

/* 1-based line and column of the first occurrence of @needle in @text. */
static int line_of(const char *text, const char *needle)
{
	const char *at = strstr(text, needle);
	int line = 1;

	assert_non_null(at);
	for (const char *p = text; p < at; p++)
		line += *p == '\n';
	return line;
}

static int col_of(const char *text, const char *needle)
{
	const char *at = strstr(text, needle), *bol = at;

	assert_non_null(at);
	while (bol > text && bol[-1] != '\n')
		bol--;
	return (int)(at - bol) + 1;
}

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

static size_t strv_count(char *const *v)
{
	size_t n = 0;

	while (v && v[n])
		n++;
	return n;
}

static size_t count_level(enum diag_level level)
{
	size_t n = 0;

	for (size_t i = 0; i < d.n; i++)
		n += d.msgs[i].level == level;
	return n;
}

/* ---- service networks ---- */

static void test_svc_networks_list(void **state)
{
	static const char y[] =
		"services:\n"
		"  web:\n"
		"    networks: [back, front]\n"
		"networks:\n"
		"  front: {}\n"
		"  back: {}\n";
	const struct service *w;

	(void)state;
	LOAD_OK(y, NULL);
	assert_int_equal(s->n_nets, 2);
	assert_string_equal(s->nets[0].key, "front");
	assert_string_equal(s->nets[1].key, "back");
	w = SVC("web");
	assert_int_equal(w->mode, NET_MODE_BRIDGE);
	assert_int_equal(w->n_nets, 2);
	assert_string_equal(w->nets[0].key, "back");
	assert_int_equal(w->nets[0].net, NET_IDX("back"));
	assert_string_equal(w->nets[1].key, "front");
	assert_int_equal(w->nets[1].net, NET_IDX("front"));
	for (size_t i = 0; i < w->n_nets; i++) {
		assert_null(w->nets[i].aliases);
		assert_false(w->nets[i].has_ipv4);
		assert_int_equal(w->nets[i].priority, 0);
		assert_int_equal(w->nets[i].loc.line, 3);
	}
	assert_int_equal(w->nets[0].loc.col, col_of(y, "back, front"));
	assert_true(s->nets[0].used);
	assert_true(s->nets[1].used);
}

static void test_svc_networks_map(void **state)
{
	static const char y[] =
		"services:\n"
		"  web:\n"
		"    networks:\n"
		"      low:\n"
		"        priority: 10\n"
		"        aliases: [w1, w2]\n"
		"      high:\n"
		"        priority: 100\n"
		"        ipv4_address: 10.5.0.10\n"
		"      plain:\n"
		"      below:\n"
		"        priority: -5\n"
		"networks:\n"
		"  low: {}\n"
		"  high:\n"
		"    ipam:\n"
		"      config:\n"
		"        - subnet: 10.5.0.0/24\n"
		"  plain: {}\n"
		"  below: {}\n";
	const struct service *w;
	const struct endpoint *e;

	(void)state;
	LOAD_OK(y, NULL);
	w = SVC("web");
	assert_int_equal(w->n_nets, 4);
	/* higher priority attaches first */
	assert_string_equal(w->nets[0].key, "high");
	assert_string_equal(w->nets[1].key, "low");
	assert_string_equal(w->nets[2].key, "plain");
	assert_string_equal(w->nets[3].key, "below");
	assert_int_equal(w->nets[0].priority, 100);
	assert_int_equal(w->nets[1].priority, 10);
	assert_int_equal(w->nets[2].priority, 0);
	assert_int_equal(w->nets[3].priority, -5);

	assert_true(w->nets[0].has_ipv4);
	assert_ip(w->nets[0].ipv4, "10.5.0.10");
	assert_int_equal(w->nets[0].ipv4_loc.line, line_of(y, "10.5.0.10"));
	assert_int_equal(w->nets[0].ipv4_loc.col, col_of(y, "10.5.0.10"));
	assert_null(w->nets[0].aliases);

	assert_int_equal(strv_count(w->nets[1].aliases), 2);
	assert_string_equal(w->nets[1].aliases[0], "w1");
	assert_string_equal(w->nets[1].aliases[1], "w2");
	assert_false(w->nets[1].has_ipv4);
	assert_int_equal(w->nets[1].loc.line, line_of(y, "low:"));

	for (size_t i = 0; i < w->n_nets; i++)
		assert_string_equal(s->nets[w->nets[i].net].key, w->nets[i].key);

	/* the endpoint's addresses follow the sorted order */
	e = EP("proj-web-1");
	assert_int_equal(e->n_addrs, 4);
	for (size_t i = 0; i < e->n_addrs; i++) {
		assert_int_equal(e->addrs[i].svc_net, (int)i);
		assert_int_equal(e->addrs[i].net, w->nets[i].net);
	}
	assert_ip(e->addrs[0].ipv4, "10.5.0.10");
}

static void test_svc_networks_priority_tie_in_file_order(void **state)
{
	static const char y[] =
		"services:\n"
		"  web:\n"
		"    networks:\n"
		"      zeta: {}\n"
		"      alpha: {}\n"
		"      mid:\n"
		"        priority: 1\n"
		"networks:\n"
		"  zeta: {}\n"
		"  alpha: {}\n"
		"  mid: {}\n";
	const struct service *w;

	(void)state;
	/*
	 * Priority descending, then the order listed in the file: berth names
	 * interfaces eth0, eth1, ... in the order the user wrote (compose-go
	 * sorts ties by key because it reads a map; berth keeps the file's order).
	 */
	LOAD_OK(y, NULL);
	w = SVC("web");
	assert_int_equal(w->n_nets, 3);
	assert_string_equal(w->nets[0].key, "mid");
	assert_string_equal(w->nets[1].key, "zeta");
	assert_string_equal(w->nets[2].key, "alpha");
}

static void test_network_mode_host_none(void **state)
{
	static const char y[] =
		"services:\n"
		"  h:\n"
		"    network_mode: host\n"
		"  n:\n"
		"    network_mode: none\n"
		"  b:\n"
		"    network_mode: bridge\n";
	const struct endpoint *e;

	(void)state;
	LOAD_OK(y, NULL);
	assert_int_equal(SVC("h")->mode, NET_MODE_HOST);
	assert_int_equal(SVC("h")->n_nets, 0);
	assert_int_equal(SVC("n")->mode, NET_MODE_NONE);
	assert_int_equal(SVC("n")->n_nets, 0);
	assert_int_equal(SVC("b")->mode, NET_MODE_BRIDGE);
	assert_int_equal(SVC("b")->n_nets, 1);
	assert_string_equal(SVC("b")->nets[0].key, "default");

	/* every service has its endpoint; host and none ones have no address */
	assert_int_equal(s->n_eps, 3);
	e = EP("proj-h-1");
	assert_int_equal(e->n_addrs, 0);
	assert_int_equal(e->replica, 1);
	assert_int_equal(e->svc, (int)(SVC("h") - s->svcs));
	e = EP("proj-n-1");
	assert_int_equal(e->n_addrs, 0);
	e = EP("proj-b-1");
	assert_int_equal(e->n_addrs, 1);
	assert_int_equal(s->n_nets, 1);
	assert_string_equal(s->nets[0].name, "proj_default");
}

static void test_network_mode_only_host(void **state)
{
	(void)state;
	LOAD_OK("services:\n"
		"  h:\n"
		"    network_mode: host\n",
		NULL);
	/* nothing attaches to a bridge: no default network */
	assert_int_equal(s->n_nets, 0);
	assert_int_equal(s->n_eps, 1);
	assert_int_equal(s->eps[0].n_addrs, 0);
}

/* ---- replicas ---- */

static void test_replicas_and_scale(void **state)
{
	(void)state;
	LOAD_OK("services:\n"
		"  a:\n"
		"    deploy:\n"
		"      replicas: 3\n"
		"  b:\n"
		"    scale: 2\n"
		"  c:\n"
		"    scale: 0\n"
		"  d: {}\n",
		NULL);
	assert_int_equal(SVC("a")->replicas, 3);
	assert_int_equal(SVC("b")->replicas, 2);
	assert_int_equal(SVC("c")->replicas, 0);
	assert_int_equal(SVC("d")->replicas, 1);
	assert_int_equal(s->n_eps, 6);
	assert_string_equal(s->eps[0].name, "proj-a-1");
	assert_string_equal(s->eps[1].name, "proj-a-2");
	assert_string_equal(s->eps[2].name, "proj-a-3");
	assert_string_equal(s->eps[3].name, "proj-b-1");
	assert_string_equal(s->eps[4].name, "proj-b-2");
	assert_string_equal(s->eps[5].name, "proj-d-1");
	for (int r = 1; r <= 3; r++)
		assert_int_equal(s->eps[r - 1].replica, r);
	assert_int_equal(s->eps[4].replica, 2);
}

static void test_scale_equal_to_replicas_is_accepted(void **state)
{
	(void)state;
	/* compose refuses distinct values only */
	LOAD_OK("services:\n"
		"  a:\n"
		"    scale: 2\n"
		"    deploy:\n"
		"      replicas: 2\n",
		NULL);
	assert_int_equal(SVC("a")->replicas, 2);
}

static void test_scale_distinct_from_replicas_is_refused(void **state)
{
	static const char y[] =
		"services:\n"
		"  a:\n"
		"    scale: 3\n"
		"    deploy:\n"
		"      replicas: 2\n";
	const struct diag_msg *m;

	(void)state;
	m = LOAD_ERR(y, NULL, "scale");
	assert_non_null(strstr(m->text, "deploy.replicas"));
	assert_int_equal(m->loc.line, line_of(y, "3\n"));
}

static void test_endpoint_mode(void **state)
{
	(void)state;
	LOAD_OK("services:\n"
		"  dflt: {}\n"
		"  v:\n"
		"    deploy:\n"
		"      endpoint_mode: vip\n"
		"  r:\n"
		"    deploy:\n"
		"      endpoint_mode: dnsrr\n"
		"      replicas: 2\n",
		NULL);
	assert_int_equal(SVC("dflt")->ep_mode, EP_MODE_VIP);
	assert_int_equal(SVC("v")->ep_mode, EP_MODE_VIP);
	assert_int_equal(SVC("r")->ep_mode, EP_MODE_DNSRR);
	assert_int_equal(SVC("r")->replicas, 2);
}

static void test_container_name(void **state)
{
	static const char y[] =
		"services:\n"
		"  db:\n"
		"    container_name: my-db\n"
		"  web: {}\n";
	const struct service *db;

	(void)state;
	LOAD_OK(y, NULL);
	db = SVC("db");
	assert_string_equal(db->container_name, "my-db");
	assert_int_equal(db->container_name_loc.line, 3);
	assert_int_equal(db->container_name_loc.col, col_of(y, "my-db"));
	assert_null(SVC("web")->container_name);
	assert_int_equal(EP("my-db")->svc, (int)(db - s->svcs));
	EP("proj-web-1");
}

/* ---- ports and expose ---- */

static void test_ports_short_and_long(void **state)
{
	static const char y[] =
		"services:\n"
		"  web:\n"
		"    ports:\n"
		"      - \"8080:80\"\n"
		"      - 9000\n"
		"      - target: 443\n"
		"        published: 8443\n"
		"        host_ip: 127.0.0.1\n"
		"        protocol: udp\n"
		"        mode: host\n"
		"        name: https\n"
		"      - target: 81\n"
		"        published: \"8000-9000\"\n"
		"      - target: 53\n"
		"        protocol: TCP\n"
		"        mode: ingress\n"
		"      - target: 7000-7001\n"
		"        published: 17000-17001\n"
		"      - \"127.0.0.1::6000/udp\"\n";
	const struct service *w;
	const struct port_spec *p;
	uint32_t lo;

	(void)state;
	LOAD_OK(y, NULL);
	assert_true(ipv4_parse("127.0.0.1", &lo));
	w = SVC("web");
	assert_int_equal(w->n_ports, 7);

	p = &w->ports[0];
	assert_int_equal(p->loc.line, 4);
	assert_int_equal(p->host_ip, 0);
	assert_int_equal(p->host_lo, 8080);
	assert_int_equal(p->host_hi, 8080);
	assert_int_equal(p->target_lo, 80);
	assert_int_equal(p->target_hi, 80);
	assert_int_equal(p->proto, PORT_TCP);
	assert_false(p->n_to_one);
	assert_false(p->mode_host);
	assert_null(p->name);

	/* an integer is a container port with a random host port */
	p = &w->ports[1];
	assert_int_equal(p->loc.line, 5);
	assert_int_equal(p->host_lo, 0);
	assert_int_equal(p->host_hi, 0);
	assert_int_equal(p->target_lo, 9000);
	assert_int_equal(p->target_hi, 9000);

	p = &w->ports[2];
	assert_int_equal(p->loc.line, line_of(y, "target: 443"));
	assert_int_equal(p->host_ip, lo);
	assert_int_equal(p->host_lo, 8443);
	assert_int_equal(p->host_hi, 8443);
	assert_int_equal(p->target_lo, 443);
	assert_int_equal(p->target_hi, 443);
	assert_int_equal(p->proto, PORT_UDP);
	assert_true(p->mode_host);
	assert_false(p->n_to_one);
	assert_string_equal(p->name, "https");

	/* a published range onto one target: the first free port */
	p = &w->ports[3];
	assert_int_equal(p->host_lo, 8000);
	assert_int_equal(p->host_hi, 9000);
	assert_int_equal(p->target_lo, 81);
	assert_int_equal(p->target_hi, 81);
	assert_true(p->n_to_one);
	assert_int_equal(p->proto, PORT_TCP);
	assert_null(p->name);

	p = &w->ports[4];
	assert_int_equal(p->host_lo, 0);
	assert_int_equal(p->target_lo, 53);
	assert_int_equal(p->proto, PORT_TCP);
	assert_false(p->mode_host);

	p = &w->ports[5];
	assert_int_equal(p->host_lo, 17000);
	assert_int_equal(p->host_hi, 17001);
	assert_int_equal(p->target_lo, 7000);
	assert_int_equal(p->target_hi, 7001);
	assert_false(p->n_to_one);

	p = &w->ports[6];
	assert_int_equal(p->host_ip, lo);
	assert_int_equal(p->host_lo, 0);
	assert_int_equal(p->target_lo, 6000);
	assert_int_equal(p->proto, PORT_UDP);
}

/* sctp parses (expose may name it) but is never published: the datapath translates tcp and udp */
static void test_ports_sctp_refused(void **state)
{
	static const char y[] =
		"services:\n"
		"  web:\n"
		"    expose: [\"7000/sctp\"]\n"
		"    ports:\n"
		"      - \"8080:80\"\n"
		"      - \"5000:5000/sctp\"\n";
	static const char y_long[] =
		"services:\n"
		"  web:\n"
		"    ports:\n"
		"      - target: 53\n"
		"        protocol: SCTP\n";
	const struct diag_msg *m;

	(void)state;
	m = LOAD_ERR(y, NULL, "service web: sctp ports cannot be published: berth publishes tcp and udp");
	assert_int_equal(m->loc.line, 6);
	assert_int_equal(m->loc.col, 9);
	m = LOAD_ERR(y_long, NULL, "sctp ports cannot be published");
	assert_int_equal(m->loc.line, 4);
}

static void test_ports_long_unequal_refused(void **state)
{
	static const char y[] =
		"services:\n"
		"  web:\n"
		"    ports:\n"
		"      - target: 80-81\n"
		"        published: 8080\n";

	(void)state;
	LOAD_ERR(y, NULL, "unequal");
}

static void test_expose_strings_and_ints(void **state)
{
	static const char y[] =
		"services:\n"
		"  web:\n"
		"    expose:\n"
		"      - \"3000\"\n"
		"      - 8000\n"
		"      - \"9000-9001/udp\"\n"
		"      - 7000/sctp\n";
	const struct service *w;

	(void)state;
	LOAD_OK(y, NULL);
	w = SVC("web");
	assert_int_equal(w->n_expose, 4);
	assert_int_equal(w->n_ports, 0);
	assert_int_equal(w->expose[0].target_lo, 3000);
	assert_int_equal(w->expose[0].target_hi, 3000);
	assert_int_equal(w->expose[0].proto, PORT_TCP);
	assert_int_equal(w->expose[0].loc.line, 4);
	assert_int_equal(w->expose[1].target_lo, 8000);
	assert_int_equal(w->expose[1].loc.line, 5);
	assert_int_equal(w->expose[2].target_lo, 9000);
	assert_int_equal(w->expose[2].target_hi, 9001);
	assert_int_equal(w->expose[2].proto, PORT_UDP);
	assert_int_equal(w->expose[3].target_lo, 7000);
	assert_int_equal(w->expose[3].proto, PORT_SCTP);
	for (size_t i = 0; i < w->n_expose; i++) {
		assert_int_equal(w->expose[i].host_lo, 0);
		assert_int_equal(w->expose[i].host_ip, 0);
		assert_false(w->expose[i].n_to_one);
	}
}

/* ---- extra_hosts ---- */

static void test_extra_hosts_list(void **state)
{
	static const char y[] =
		"services:\n"
		"  web:\n"
		"    extra_hosts:\n"
		"      - \"somehost:162.242.195.82\"\n"
		"      - \"otherhost=50.31.209.229\"\n"
		"      - \"host.docker.internal:host-gateway\"\n";
	const struct service *w;

	(void)state;
	LOAD_OK(y, NULL);
	w = SVC("web");
	assert_int_equal(w->n_extra_hosts, 3);
	assert_string_equal(w->extra_hosts[0].name, "somehost");
	assert_ip(w->extra_hosts[0].addr, "162.242.195.82");
	assert_false(w->extra_hosts[0].host_gateway);
	assert_int_equal(w->extra_hosts[0].loc.line, 4);
	assert_string_equal(w->extra_hosts[1].name, "otherhost");
	assert_ip(w->extra_hosts[1].addr, "50.31.209.229");
	assert_false(w->extra_hosts[1].host_gateway);
	assert_string_equal(w->extra_hosts[2].name, "host.docker.internal");
	assert_true(w->extra_hosts[2].host_gateway);
}

static void test_extra_hosts_map(void **state)
{
	static const char y[] =
		"services:\n"
		"  web:\n"
		"    extra_hosts:\n"
		"      somehost: 162.242.195.82\n"
		"      gw: host-gateway\n"
		"      multi: [\"10.0.0.1\", \"10.0.0.2\"]\n";
	const struct service *w;

	(void)state;
	LOAD_OK(y, NULL);
	w = SVC("web");
	assert_int_equal(w->n_extra_hosts, 4);
	assert_string_equal(w->extra_hosts[0].name, "somehost");
	assert_ip(w->extra_hosts[0].addr, "162.242.195.82");
	assert_int_equal(w->extra_hosts[0].loc.line, 4);
	assert_string_equal(w->extra_hosts[1].name, "gw");
	assert_true(w->extra_hosts[1].host_gateway);
	assert_string_equal(w->extra_hosts[2].name, "multi");
	assert_ip(w->extra_hosts[2].addr, "10.0.0.1");
	assert_string_equal(w->extra_hosts[3].name, "multi");
	assert_ip(w->extra_hosts[3].addr, "10.0.0.2");
}

/* ---- healthcheck ---- */

static void test_healthcheck_forms(void **state)
{
	static const char y[] =
		"services:\n"
		"  a:\n"
		"    healthcheck:\n"
		"      test: curl -f http://localhost\n"
		"      interval: 1m30s\n"
		"      timeout: 500ms\n"
		"      start_period: 10s\n"
		"      start_interval: 1.5s\n"
		"      retries: 5\n"
		"  b:\n"
		"    healthcheck:\n"
		"      test: [\"CMD\", \"pg_isready\", \"-U\", \"postgres\"]\n"
		"      interval: 1h2m3s\n"
		"  c:\n"
		"    healthcheck:\n"
		"      disable: true\n"
		"  d:\n"
		"    healthcheck:\n"
		"      test: [\"NONE\"]\n"
		"  e: {}\n"
		"  f:\n"
		"    healthcheck:\n"
		"      test: [\"CMD-SHELL\", \"exit 0\"]\n"
		"      retries: 0\n";
	const struct healthcheck *h;

	(void)state;
	LOAD_OK(y, NULL);

	h = SVC("a")->health;
	assert_non_null(h);
	assert_int_equal(h->loc.line, 4);
	assert_false(h->disable);
	assert_int_equal(strv_count(h->test), 2);
	assert_string_equal(h->test[0], "CMD-SHELL");
	assert_string_equal(h->test[1], "curl -f http://localhost");
	assert_int_equal(h->interval_ms, 90000);
	assert_int_equal(h->timeout_ms, 500);
	assert_int_equal(h->start_period_ms, 10000);
	assert_int_equal(h->start_interval_ms, 1500);
	assert_int_equal(h->retries, 5);

	/* the list form as written; Docker's defaults for what is not given */
	h = SVC("b")->health;
	assert_non_null(h);
	assert_int_equal(strv_count(h->test), 4);
	assert_string_equal(h->test[0], "CMD");
	assert_string_equal(h->test[1], "pg_isready");
	assert_string_equal(h->test[2], "-U");
	assert_string_equal(h->test[3], "postgres");
	assert_int_equal(h->interval_ms, 3723000);
	assert_int_equal(h->timeout_ms, 30000);
	assert_int_equal(h->start_period_ms, 0);
	assert_int_equal(h->retries, 3);
	assert_false(h->disable);

	h = SVC("c")->health;
	assert_non_null(h);
	assert_true(h->disable);
	assert_null(h->test);

	h = SVC("d")->health;
	assert_non_null(h);
	assert_true(h->disable);
	assert_string_equal(h->test[0], "NONE");

	assert_null(SVC("e")->health);

	h = SVC("f")->health;
	assert_string_equal(h->test[0], "CMD-SHELL");
	assert_string_equal(h->test[1], "exit 0");
	assert_int_equal(h->retries, 0);
}

static void test_healthcheck_bad_duration(void **state)
{
	static const char y[] =
		"services:\n"
		"  a:\n"
		"    healthcheck:\n"
		"      interval: 10 parsecs\n";
	const struct diag_msg *m;

	(void)state;
	m = LOAD_ERR(y, NULL, "duration");
	assert_int_equal(m->loc.line, 4);
}

/* ---- x-berth ---- */

static void test_xberth(void **state)
{
	static const char y[] =
		"x-berth:\n"
		"  dns_ttl: 30\n"
		"  policy:\n"
		"    - from: web\n"
		"      to: db\n"
		"      proto: tcp\n"
		"      ports: [5432, \"6000-6010\"]\n"
		"    - from: web\n"
		"      to: cache\n"
		"services:\n"
		"  web:\n"
		"    x-berth:\n"
		"      run: \"python3 -m http.server 80\"\n"
		"    networks: [default, back]\n"
		"  db:\n"
		"    networks: [back]\n"
		"  cache: {}\n"
		"networks:\n"
		"  back:\n"
		"    x-berth:\n"
		"      icc: false\n";
	const struct policy_rule *r;

	(void)state;
	LOAD_OK(y, NULL);
	assert_int_equal(s->dns_ttl, 30);
	assert_int_equal(s->n_policy, 2);
	r = &s->policy[0];
	assert_string_equal(r->from, "web");
	assert_string_equal(r->to, "db");
	assert_int_equal(r->from_loc.line, 4);
	assert_int_equal(r->to_loc.line, 5);
	assert_int_equal(r->loc.line, 4);
	assert_int_equal(r->proto, 6);
	assert_int_equal(r->n_ports, 2);
	assert_int_equal(r->ports[0].lo, 5432);
	assert_int_equal(r->ports[0].hi, 5432);
	assert_int_equal(r->ports[1].lo, 6000);
	assert_int_equal(r->ports[1].hi, 6010);
	r = &s->policy[1];
	assert_string_equal(r->to, "cache");
	assert_int_equal(r->proto, 0);
	assert_int_equal(r->n_ports, 0);

	assert_string_equal(SVC("web")->run, "python3 -m http.server 80");
	assert_null(SVC("db")->run);
	assert_false(NET("back")->icc);
	assert_true(NET("default")->icc);
}

static void test_xberth_defaults(void **state)
{
	(void)state;
	LOAD_OK("services:\n"
		"  web: {}\n",
		NULL);
	assert_int_equal(s->n_policy, 0);
	assert_null(s->policy);
	assert_null(SVC("web")->run);
	assert_true(s->nets[0].icc);
	assert_false(s->nets[0].internal);
	/* unset: up uses the instance's, or the defaults */
	assert_false(s->has_nat_ports);
	assert_int_equal(s->ct_max, 0);
	assert_int_equal(s->nat_max, 0);
}

/* The instance knobs: SNAT ports and table sizes, with their positions for up's errors. */
static void test_xberth_instance_knobs(void **state)
{
	(void)state;
	LOAD_OK("x-berth:\n"
		"  nat_ports: \"40000-40999\"\n"
		"  conntrack_max: 1000000\n"
		"  nat_max: 16\n"
		"services:\n"
		"  web: {}\n",
		NULL);
	assert_true(s->has_nat_ports);
	assert_int_equal(s->nat_port_lo, 40000);
	assert_int_equal(s->nat_port_hi, 40999);
	assert_int_equal(s->nat_ports_loc.line, 2);
	assert_int_equal(s->nat_ports_loc.col, 14);
	assert_int_equal(s->ct_max, 1000000);
	assert_int_equal(s->ct_max_loc.line, 3);
	assert_int_equal(s->nat_max, 16);
	assert_int_equal(s->nat_max_loc.line, 4);
	/* one port is a range of one */
	LOAD_OK("x-berth:\n"
		"  nat_ports: 65535\n"
		"services:\n"
		"  web: {}\n",
		NULL);
	assert_int_equal(s->nat_port_lo, 65535);
	assert_int_equal(s->nat_port_hi, 65535);
}

/* ---- top-level networks ---- */

static void test_top_level_networks(void **state)
{
	static const char y[] =
		"name: shop\n"
		"services:\n"
		"  web:\n"
		"    networks: [front, back, legacy]\n"
		"networks:\n"
		"  front:\n"
		"    name: custom-front\n"
		"  back:\n"
		"    internal: true\n"
		"    ipam:\n"
		"      config:\n"
		"        - subnet: 172.28.0.0/16\n"
		"          ip_range: 172.28.5.0/24\n"
		"          gateway: 172.28.5.254\n"
		"  legacy:\n"
		"    driver: bridge\n";
	const struct network *n;

	(void)state;
	LOAD_OK(y, NULL);
	assert_string_equal(s->project, "shop");
	assert_int_equal(s->n_nets, 3);

	n = NET("front");
	assert_string_equal(n->name, "custom-front");
	assert_false(n->internal);
	assert_true(n->icc);
	assert_int_equal(n->loc.line, 6);
	assert_int_equal(n->loc.col, 3);

	n = NET("back");
	assert_string_equal(n->name, "shop_back");
	assert_true(n->internal);
	assert_true(n->has_subnet);
	assert_false(n->subnet_auto);
	assert_prefix(n->subnet, "172.28.0.0/16");
	assert_int_equal(n->subnet_loc.line, 12);
	assert_true(n->has_range);
	assert_prefix(n->range, "172.28.5.0/24");
	assert_int_equal(n->range_loc.line, 13);
	assert_true(n->has_gateway);
	assert_ip(n->gateway, "172.28.5.254");
	assert_int_equal(n->gateway_loc.line, 14);

	n = NET("legacy");
	assert_string_equal(n->name, "shop_legacy");
	assert_false(n->internal);
	assert_false(n->has_gateway);
	assert_false(n->has_range);
	/* given one by IPAM */
	assert_true(n->has_subnet);
	assert_true(n->subnet_auto);
}

static void test_network_yaml_booleans(void **state)
{
	(void)state;
	LOAD_OK("services:\n"
		"  web:\n"
		"    networks: [a, b]\n"
		"networks:\n"
		"  a:\n"
		"    internal: yes\n"
		"  b:\n"
		"    internal: \"false\"\n",
		NULL);
	assert_true(NET("a")->internal);
	assert_false(NET("b")->internal);
}

/* ---- anchors and merge keys ---- */

static void test_anchors_and_merge_keys(void **state)
{
	static const char y[] =
		"x-common: &c {networks: [a]}\n"
		"x-hc: &hc\n"
		"  test: [\"CMD\", \"true\"]\n"
		"  retries: 7\n"
		"x-port: &p \"8080:80\"\n"
		"services:\n"
		"  web:\n"
		"    <<: *c\n"
		"    ports: [*p]\n"
		"    healthcheck:\n"
		"      <<: *hc\n"
		"      retries: 2\n"
		"  api:\n"
		"    <<: *c\n"
		"    healthcheck: *hc\n"
		"networks:\n"
		"  a: {}\n";
	const struct service *w, *a;

	(void)state;
	LOAD_OK(y, NULL);
	assert_int_equal(s->n_nets, 1);
	w = SVC("web");
	assert_int_equal(w->n_nets, 1);
	assert_string_equal(w->nets[0].key, "a");
	assert_int_equal(w->n_ports, 1);
	assert_int_equal(w->ports[0].host_lo, 8080);
	assert_int_equal(w->ports[0].target_lo, 80);
	/* the mapping's own key wins over the merged one */
	assert_int_equal(w->health->retries, 2);
	assert_string_equal(w->health->test[0], "CMD");
	assert_string_equal(w->health->test[1], "true");

	a = SVC("api");
	assert_int_equal(a->n_nets, 1);
	assert_string_equal(a->nets[0].key, "a");
	assert_int_equal(a->health->retries, 7);

	IGNORED("x-common");
	IGNORED("x-hc");
	IGNORED("x-port");
}

static void test_merge_key_list_earlier_wins(void **state)
{
	(void)state;
	LOAD_OK("x-m1: &m1\n"
		"  container_name: first\n"
		"x-m2: &m2\n"
		"  container_name: second\n"
		"  scale: 1\n"
		"  x-berth: {run: from-m2}\n"
		"services:\n"
		"  s:\n"
		"    <<: [*m1, *m2]\n",
		NULL);
	assert_string_equal(SVC("s")->container_name, "first");
	assert_int_equal(SVC("s")->replicas, 1);
	assert_string_equal(SVC("s")->run, "from-m2");
}

static void test_aliased_scalar_interpolated_once(void **state)
{
	static const char *const env[] = { "WHO=me", NULL };
	const struct spec_opts o = { .default_project = "proj", .env = env };

	(void)state;
	/* "$$" must become "$" once: expanding the shared node twice would eat ${HOME} */
	LOAD_OK("x-cmd: &cmd \"echo $${HOME} ${WHO} ${NOPE}\"\n"
		"services:\n"
		"  a:\n"
		"    x-berth: {run: *cmd}\n"
		"  b:\n"
		"    x-berth: {run: *cmd}\n",
		&o);
	assert_string_equal(SVC("a")->run, "echo ${HOME} me ");
	assert_string_equal(SVC("b")->run, "echo ${HOME} me ");
	assert_int_equal(count_level(DIAG_WARNING), 1);
}

static void test_alias_bomb_is_cheap(void **state)
{
	(void)state;
	/*
	 * Nine levels of nine aliases: 9^9 scalars if every alias were walked
	 * again. Each node is interpolated once, so this loads at once.
	 */
	LOAD_OK("x-a: &a [\"$$x\", b, c, d, e, f, g, h, i]\n"
		"x-b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
		"x-c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
		"x-d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
		"x-e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
		"x-f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
		"x-g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]\n"
		"x-h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g]\n"
		"x-i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h]\n"
		"services:\n"
		"  web: {}\n",
		NULL);
	IGNORED("x-i");
}

/* ---- interpolation ---- */

static void test_interpolation_env_and_dotenv(void **state)
{
	static const char y[] =
		"name: ${PROJECT:-fallback}\n"
		"services:\n"
		"  web:\n"
		"    container_name: ${CNAME}\n"
		"    image: \"repo/img:${TAG}\"\n"
		"    ports:\n"
		"      - \"${HOST_PORT}:80\"\n"
		"      - \"${BIND:-127.0.0.1}:${ALT_PORT:-9000}:9000\"\n"
		"    x-berth:\n"
		"      run: \"serve --port $$PORT ${MISSING_ONE}${MISSING_TWO}\"\n";
	static const char *const env[] = { "HOST_PORT=8080", "CNAME=from-env", NULL };
	const struct spec_opts o = {
		.default_project = "proj",
		.env = env,
		.dotenv = "CNAME=from-dotenv\nTAG=1.0\nPROJECT=dotproj\n",
		.dotenv_name = "/srv/app/.env",
	};
	const struct service *w;
	const struct diag_msg *m;
	uint32_t lo;

	(void)state;
	LOAD_OK(y, &o);
	assert_string_equal(s->project, "dotproj");
	w = SVC("web");
	assert_string_equal(w->container_name, "from-env");
	assert_int_equal(w->ports[0].host_lo, 8080);
	assert_true(ipv4_parse("127.0.0.1", &lo));
	assert_int_equal(w->ports[1].host_ip, lo);
	assert_int_equal(w->ports[1].host_lo, 9000);
	assert_string_equal(w->run, "serve --port $PORT ");

	/* a warning for each missing variable, at the value that uses it */
	assert_int_equal(d.n_errors, 0);
	assert_int_equal(count_level(DIAG_WARNING), 2);
	m = diag_find(&d, "MISSING_ONE");
	assert_non_null(m);
	assert_int_equal(m->level, DIAG_WARNING);
	assert_int_equal(m->loc.line, line_of(y, "serve"));
	assert_string_equal(m->file, "compose.yml");
	m = diag_find(&d, "MISSING_TWO");
	assert_non_null(m);
	assert_int_equal(m->level, DIAG_WARNING);
	assert_null(diag_find(&d, "TAG"));
	assert_null(diag_find(&d, "HOST_PORT"));
}

static void test_interpolation_required_error(void **state)
{
	static const char y[] =
		"services:\n"
		"  web:\n"
		"    container_name: ${CNAME:?set CNAME first}\n";
	const struct diag_msg *m;

	(void)state;
	m = LOAD_ERR(y, NULL, "set CNAME first");
	assert_int_equal(m->loc.line, 3);
	assert_int_equal(m->loc.col, col_of(y, "${CNAME"));
}

static void test_dotenv_bad_line_warns(void **state)
{
	static const char *const env[] = { NULL };
	const struct spec_opts o = {
		.default_project = "proj",
		.env = env,
		.dotenv = "A=1\nthis is not an assignment\nB=2\n",
		.dotenv_name = "/srv/app/.env",
	};
	const struct diag_msg *m = NULL;

	(void)state;
	LOAD_OK("services:\n"
		"  web:\n"
		"    container_name: c-${A}-${B}\n",
		&o);
	assert_string_equal(SVC("web")->container_name, "c-1-2");
	for (size_t i = 0; i < d.n; i++)
		if (d.msgs[i].level == DIAG_WARNING)
			m = &d.msgs[i];
	assert_non_null(m);
	assert_string_equal(m->file, "/srv/app/.env");
	assert_int_equal(m->loc.line, 2);
	assert_int_equal(d.n_errors, 0);
}

/* ---- project names ---- */

static void test_project_cli_wins_over_name(void **state)
{
	const struct spec_opts o = { .project = "cli", .default_project = "dir" };

	(void)state;
	LOAD_OK("name: fromfile\n"
		"services:\n"
		"  web: {}\n",
		&o);
	assert_string_equal(s->project, "cli");
	assert_string_equal(s->nets[0].name, "cli_default");
	assert_string_equal(s->eps[0].name, "cli-web-1");
}

static void test_project_name_wins_over_default(void **state)
{
	const struct spec_opts o = { .default_project = "dir" };

	(void)state;
	LOAD_OK("services:\n"
		"  web: {}\n"
		"name: fromfile\n",
		&o);
	assert_string_equal(s->project, "fromfile");
	assert_int_equal(s->project_loc.line, 3);
	assert_int_equal(s->project_loc.col, 7);
	assert_string_equal(s->eps[0].name, "fromfile-web-1");
}

static void test_project_default(void **state)
{
	const struct spec_opts o = { .default_project = "dir" };

	(void)state;
	LOAD_OK("services:\n"
		"  web: {}\n",
		&o);
	assert_string_equal(s->project, "dir");
	assert_string_equal(s->file, "compose.yml");
}

static void test_project_missing_or_invalid(void **state)
{
	const struct spec_opts none = { 0 };
	const struct spec_opts bad_cli = { .project = "Bad_Name" };
	const struct spec_opts empty_default = { .default_project = "" };

	(void)state;
	LOAD_ERR("services:\n  web: {}\n", &none, "no project name");
	LOAD_ERR("services:\n  web: {}\n", &empty_default, "no project name");
	LOAD_ERR("services:\n  web: {}\n", &bad_cli, "invalid project name");
	LOAD_ERR("name: My App\nservices:\n  web: {}\n", NULL, "invalid project name");
}

static void expect_normalized(const char *in, const char *want)
{
	char *got = spec_project_name_normalize(in);

	if (strcmp(got, want))
		print_message("  \"%s\" -> \"%s\", want \"%s\"\n", in, got, want);
	assert_string_equal(got, want);
	free(got);
}

static void test_project_name_normalize(void **state)
{
	(void)state;
	expect_normalized("My Project.Dir", "myprojectdir");
	expect_normalized("myapp", "myapp");
	expect_normalized("ABC123", "abc123");
	expect_normalized("__leading", "leading");
	expect_normalized("-_-a-b_c", "a-b_c");
	expect_normalized("a.-b", "a-b");
	expect_normalized("...", "");
	expect_normalized("", "");
	/* bytes outside ASCII are dropped, as compose drops non [a-z0-9_-] runes */
	expect_normalized("\xc3\x9c" "n" "\xc3\xaf" "code", "ncode");
}

static void test_project_name_valid(void **state)
{
	(void)state;
	assert_true(spec_project_name_valid("abc"));
	assert_true(spec_project_name_valid("a-b_c1"));
	assert_true(spec_project_name_valid("1abc"));
	assert_false(spec_project_name_valid("Abc"));
	assert_false(spec_project_name_valid("-abc"));
	assert_false(spec_project_name_valid("_abc"));
	assert_false(spec_project_name_valid("a.b"));
	assert_false(spec_project_name_valid("a b"));
	assert_false(spec_project_name_valid(""));
}

/* ---- the default network, naming, unused networks ---- */

static void test_implicit_default_network(void **state)
{
	static const char y[] =
		"services:\n"
		"  a: {}\n"
		"  b:\n"
		"    networks: [back]\n"
		"  c:\n"
		"    networks: [default, back]\n"
		"networks:\n"
		"  back: {}\n";
	const struct network *n;

	(void)state;
	LOAD_OK(y, NULL);
	assert_int_equal(s->n_nets, 2);
	n = NET("default");
	assert_string_equal(n->name, "proj_default");
	assert_true(n->icc);
	assert_true(n->used);
	assert_string_equal(NET("back")->name, "proj_back");

	assert_int_equal(SVC("a")->n_nets, 1);
	assert_string_equal(SVC("a")->nets[0].key, "default");
	assert_int_equal(SVC("a")->nets[0].net, NET_IDX("default"));
	/* the implicit attachment points at the service */
	assert_int_equal(SVC("a")->nets[0].loc.line, 2);
	/* b names its networks: no default */
	assert_int_equal(SVC("b")->n_nets, 1);
	assert_string_equal(SVC("b")->nets[0].key, "back");
	assert_int_equal(SVC("c")->n_nets, 2);
}

static void test_declared_default_network(void **state)
{
	(void)state;
	LOAD_OK("services:\n"
		"  a: {}\n"
		"networks:\n"
		"  default:\n"
		"    name: my-default\n"
		"    ipam:\n"
		"      config:\n"
		"        - subnet: 10.10.0.0/24\n",
		NULL);
	assert_int_equal(s->n_nets, 1);
	assert_string_equal(s->nets[0].key, "default");
	assert_string_equal(s->nets[0].name, "my-default");
	assert_prefix(s->nets[0].subnet, "10.10.0.0/24");
	assert_int_equal(SVC("a")->nets[0].net, 0);
}

static void test_network_full_names(void **state)
{
	const struct spec_opts o = { .project = "p1" };

	(void)state;
	LOAD_OK("services:\n"
		"  a:\n"
		"    networks: [x, y]\n"
		"networks:\n"
		"  x: {}\n"
		"  y:\n"
		"    name: shared-net\n",
		&o);
	assert_string_equal(NET("x")->name, "p1_x");
	assert_string_equal(NET("y")->name, "shared-net");
}

static void test_unused_networks_dropped(void **state)
{
	static const char y[] =
		"services:\n"
		"  web:\n"
		"    networks: [used]\n"
		"networks:\n"
		"  spare:\n"
		"    ipam:\n"
		"      config:\n"
		"        - subnet: 10.20.0.0/16\n"
		"  used: {}\n"
		"  other: {}\n";
	const struct ignored_key *k;

	(void)state;
	LOAD_OK(y, NULL);
	assert_int_equal(s->n_nets, 1);
	assert_string_equal(s->nets[0].key, "used");
	/* indices were renumbered after the drop */
	assert_int_equal(SVC("web")->nets[0].net, 0);
	assert_int_equal(s->eps[0].addrs[0].net, 0);
	k = IGNORED("networks.spare (no service uses it)");
	assert_int_equal(k->loc.line, line_of(y, "spare:"));
	k = IGNORED("networks.other (no service uses it)");
	assert_int_equal(k->loc.line, line_of(y, "other:"));
	assert_null(find_ignored("networks.used (no service uses it)"));
}

/* ---- ignored keys ---- */

static void test_ignored_keys(void **state)
{
	static const char y[] =
		"version: \"3.9\"\n"
		"services:\n"
		"  web:\n"
		"    image: nginx\n"
		"    restart: always\n"
		"    deploy:\n"
		"      resources: {}\n"
		"    networks:\n"
		"      front:\n"
		"        mac_address: 02:42:ac:11:65:43\n"
		"    healthcheck:\n"
		"      test: [\"CMD\", \"true\"]\n"
		"      x-note: fine\n"
		"    ports:\n"
		"      - target: 80\n"
		"        app_protocol: http\n"
		"volumes:\n"
		"  data: {}\n"
		"networks:\n"
		"  front:\n"
		"    driver_opts: {a: b}\n"
		"    labels: [x]\n"
		"    ipam:\n"
		"      driver: default\n"
		"      config:\n"
		"        - subnet: 10.9.0.0/24\n"
		"          aux_addresses: {r: 10.9.0.200}\n";
	const struct ignored_key *k;

	(void)state;
	LOAD_OK(y, NULL);
	k = IGNORED("version");
	assert_int_equal(k->loc.line, 1);
	assert_int_equal(k->loc.col, 1);
	k = IGNORED("services.web.image");
	assert_int_equal(k->loc.line, 4);
	assert_int_equal(k->loc.col, 5);
	IGNORED("services.web.restart");
	k = IGNORED("services.web.deploy.resources");
	assert_int_equal(k->loc.line, 7);
	k = IGNORED("services.web.networks.front.mac_address");
	assert_int_equal(k->loc.line, 10);
	IGNORED("services.web.healthcheck.x-note");
	IGNORED("services.web.ports.app_protocol");
	IGNORED("volumes");
	IGNORED("networks.front.driver_opts");
	IGNORED("networks.front.labels");
	IGNORED("networks.front.ipam.driver");
	/* aux_addresses are honoured: reserved, so not listed */
	assert_null(find_ignored("networks.front.ipam.config.aux_addresses"));
	/* keys berth reads are not listed */
	assert_null(find_ignored("services.web.ports.target"));
	assert_null(find_ignored("services.web.networks"));
	assert_null(find_ignored("networks.front.ipam.config.subnet"));
}

int main(void)
{
#define T(f) cmocka_unit_test_teardown(f, teardown)
	const struct CMUnitTest tests[] = {
		T(test_svc_networks_list),
		T(test_svc_networks_map),
		T(test_svc_networks_priority_tie_in_file_order),
		T(test_network_mode_host_none),
		T(test_network_mode_only_host),
		T(test_replicas_and_scale),
		T(test_scale_equal_to_replicas_is_accepted),
		T(test_scale_distinct_from_replicas_is_refused),
		T(test_endpoint_mode),
		T(test_container_name),
		T(test_ports_short_and_long),
		T(test_ports_sctp_refused),
		T(test_ports_long_unequal_refused),
		T(test_expose_strings_and_ints),
		T(test_extra_hosts_list),
		T(test_extra_hosts_map),
		T(test_healthcheck_forms),
		T(test_healthcheck_bad_duration),
		T(test_xberth),
		T(test_xberth_defaults),
		T(test_xberth_instance_knobs),
		T(test_top_level_networks),
		T(test_network_yaml_booleans),
		T(test_anchors_and_merge_keys),
		T(test_merge_key_list_earlier_wins),
		T(test_aliased_scalar_interpolated_once),
		T(test_alias_bomb_is_cheap),
		T(test_interpolation_env_and_dotenv),
		T(test_interpolation_required_error),
		T(test_dotenv_bad_line_warns),
		T(test_project_cli_wins_over_name),
		T(test_project_name_wins_over_default),
		T(test_project_default),
		T(test_project_missing_or_invalid),
		T(test_project_name_normalize),
		T(test_project_name_valid),
		T(test_implicit_default_network),
		T(test_declared_default_network),
		T(test_network_full_names),
		T(test_unused_networks_dropped),
		T(test_ignored_keys),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
