// SPDX-License-Identifier: GPL-2.0-only
/*
 * The loader's and validator's verdicts on whole compose files, one table row
 * per file: each invalid file must be refused with a message that names the
 * problem at the line and column of the offending YAML node; each valid one
 * must load without an error, so that the checks are seen not to be over-eager.
 *
 * Every YAML line is its own string literal, so the line of a row's expected
 * position is the literal's index (from 1) and its column is counted inside
 * that literal.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "diag.h"
#include "spec.h"

/* One invalid file and the error it must produce. */
struct bad_row {
	const char *name;
	const char *yaml;
	const char *msg;	/* a substring of the error's text */
	int line, col;
	bool no_project;	/* load without -p, so the file's `name:` counts */
};

/* One expected error of a file that has several. */
struct want {
	const char *msg;
	int line, col;
};

#define MAX_WANT 8

/* An invalid file with several independent errors, all to be reported. */
struct multi_row {
	const char *name;
	const char *yaml;
	size_t n_errors;
	struct want want[MAX_WANT];
};

/* A valid file. */
struct ok_row {
	const char *name;
	const char *yaml;
};

/* ---- invalid files, one error each ---- */

static const struct bad_row bad_rows[] = {
	/* YAML itself */
	{ "yaml_tab_indent",
	  "services:\n"
	  "\ta:\n",
	  "YAML syntax", 2, 1 },
	{ "yaml_mapping_value_in_scalar",
	  "services:\n"
	  "  a:\n"
	  "    image: x: y\n",
	  "YAML syntax", 3, 13 },
	{ "duplicate_key",
	  "services:\n"
	  "  a:\n"
	  "    image: x\n"
	  "    image: y\n",
	  "duplicate key", 4, 5 },
	{ "duplicate_service",
	  "services:\n"
	  "  a:\n"
	  "    image: x\n"
	  "  a:\n"
	  "    image: y\n",
	  "duplicate key", 4, 3 },
	/* a YAML mapping may not repeat a key even where berth reads nothing */
	{ "duplicate_key_in_ignored_section",
	  "services:\n"
	  "  a:\n"
	  "    image: x\n"
	  "    environment:\n"
	  "      A: \"1\"\n"
	  "      A: \"2\"\n",
	  "duplicate key", 6, 7 },
	{ "no_services",
	  "networks:\n"
	  "  n: {}\n",
	  "no services", 1, 1 },

	/* interpolation and the project */
	{ "interp_unterminated",
	  "services:\n"
	  "  a:\n"
	  "    image: \"${\"\n",
	  "invalid interpolation", 3, 12 },
	{ "interp_required_unset",
	  "services:\n"
	  "  a:\n"
	  "    image: \"${VAR:?must be set}\"\n",
	  "required variable VAR is missing a value: must be set", 3, 12 },
	{ "project_name_invalid",
	  "name: My_Proj\n"
	  "services:\n"
	  "  a:\n"
	  "    image: x\n",
	  "invalid project name \"My_Proj\"", 1, 7, .no_project = true },

	/* x-berth */
	{ "xberth_top_unknown_key",
	  "x-berth:\n"
	  "  dns: 5\n"
	  "services:\n"
	  "  a:\n"
	  "    image: x\n",
	  "unknown x-berth key \"dns\"", 2, 3 },
	{ "xberth_service_unknown_key",
	  "services:\n"
	  "  a:\n"
	  "    image: x\n"
	  "    x-berth:\n"
	  "      runn: x\n",
	  "unknown x-berth key \"runn\"", 5, 7 },
	{ "xberth_network_unknown_key",
	  "services:\n"
	  "  a:\n"
	  "    networks: [n]\n"
	  "networks:\n"
	  "  n:\n"
	  "    x-berth:\n"
	  "      icc_: false\n",
	  "unknown x-berth key \"icc_\"", 7, 7 },
	{ "xberth_dns_ttl_not_integer",
	  "x-berth:\n"
	  "  dns_ttl: abc\n"
	  "services:\n"
	  "  a:\n"
	  "    image: x\n",
	  "dns_ttl must be an integer", 2, 12 },
	{ "policy_unknown_service",
	  "x-berth:\n"
	  "  policy:\n"
	  "    - from: a\n"
	  "      to: db\n"
	  "services:\n"
	  "  a:\n"
	  "    image: x\n",
	  "unknown service \"db\"", 4, 11 },
	{ "policy_from_host_mode",
	  "x-berth:\n"
	  "  policy:\n"
	  "    - from: h\n"
	  "      to: db\n"
	  "services:\n"
	  "  h:\n"
	  "    network_mode: host\n"
	  "  db: {}\n",
	  "service h has network_mode: host", 3, 13 },
	{ "policy_to_none_mode",
	  "x-berth:\n"
	  "  policy:\n"
	  "    - from: a\n"
	  "      to: n\n"
	  "services:\n"
	  "  a: {}\n"
	  "  n:\n"
	  "    network_mode: none\n",
	  "service n has network_mode: none", 4, 11 },
	{ "policy_port_zero",
	  "x-berth:\n"
	  "  policy:\n"
	  "    - {from: a, to: b, proto: tcp, ports: [0]}\n"
	  "services:\n"
	  "  a: {}\n"
	  "  b: {}\n",
	  "port 0 is out of range", 3, 44 },
	{ "policy_port_range_reversed",
	  "x-berth:\n"
	  "  policy:\n"
	  "    - {from: a, to: b, proto: udp, ports: [\"90-80\"]}\n"
	  "services:\n"
	  "  a: {}\n"
	  "  b: {}\n",
	  "port range 90-80 is reversed", 3, 44 },
	{ "policy_port_not_a_number",
	  "x-berth:\n"
	  "  policy:\n"
	  "    - {from: a, to: b, proto: udp, ports: [http]}\n"
	  "services:\n"
	  "  a: {}\n"
	  "  b: {}\n",
	  "invalid port \"http\"", 3, 44 },
	{ "policy_bad_proto",
	  "x-berth:\n"
	  "  policy:\n"
	  "    - {from: a, to: b, proto: gre}\n"
	  "services:\n"
	  "  a: {}\n"
	  "  b: {}\n",
	  "policy proto must be tcp, udp or icmp, not \"gre\"", 3, 31 },
	/* 16 ranges for (a, b, tcp) once both rules merge: the second rule is the one too many */
	{ "policy_too_many_ranges",
	  "x-berth:\n"
	  "  policy:\n"
	  "    - {from: a, to: b, proto: tcp, ports: [1, 3, 5, 7, 9, 11, 13, 15]}\n"
	  "    - {from: a, to: b, proto: tcp, ports: [17, 19, 21, 23, 25, 27, 29, 31]}\n"
	  "services:\n"
	  "  a: {}\n"
	  "  b: {}\n",
	  "a to b over tcp allows 16 separate port ranges; at most 15 fit", 4, 7 },
	{ "nat_ports_privileged",
	  "x-berth:\n"
	  "  nat_ports: \"1000-2000\"\n"
	  "services:\n"
	  "  a: {}\n",
	  "x-berth.nat_ports 1000-2000 must lie within 1024-65535", 2, 14 },
	{ "nat_ports_reversed",
	  "x-berth:\n"
	  "  nat_ports: \"62000-61000\"\n"
	  "services:\n"
	  "  a: {}\n",
	  "port range 62000-61000 is reversed", 2, 14 },
	{ "nat_ports_out_of_range",
	  "x-berth:\n"
	  "  nat_ports: \"61000-70000\"\n"
	  "services:\n"
	  "  a: {}\n",
	  "port 70000 is out of range", 2, 14 },
	{ "conntrack_max_too_small",
	  "x-berth:\n"
	  "  conntrack_max: 15\n"
	  "services:\n"
	  "  a: {}\n",
	  "x-berth.conntrack_max must be at least 16, not 15", 2, 18 },
	{ "nat_max_too_big",
	  "x-berth:\n"
	  "  nat_max: 16777217\n"
	  "services:\n"
	  "  a: {}\n",
	  "x-berth.nat_max must be at most 16777216, not 16777217", 2, 12 },
	{ "nat_max_not_integer",
	  "x-berth:\n"
	  "  nat_max: lots\n"
	  "services:\n"
	  "  a: {}\n",
	  "x-berth.nat_max must be an integer", 2, 12 },

	/* networks */
	{ "network_driver_overlay",
	  "services:\n"
	  "  a:\n"
	  "    networks: [n]\n"
	  "networks:\n"
	  "  n:\n"
	  "    driver: overlay\n",
	  "driver \"overlay\" is not supported", 6, 13 },
	{ "network_external",
	  "services:\n"
	  "  a:\n"
	  "    networks: [n]\n"
	  "networks:\n"
	  "  n:\n"
	  "    external: true\n",
	  "external networks are not supported", 6, 15 },
	{ "subnet_overlap",
	  "services:\n"
	  "  a:\n"
	  "    networks: [n1, n2]\n"
	  "networks:\n"
	  "  n1:\n"
	  "    ipam:\n"
	  "      config:\n"
	  "        - subnet: 10.0.0.0/16\n"
	  "  n2:\n"
	  "    ipam:\n"
	  "      config:\n"
	  "        - subnet: 10.0.1.0/24\n",
	  "overlaps subnet 10.0.0.0/16", 12, 19 },
	{ "subnet_31",
	  "services:\n"
	  "  a:\n"
	  "    networks: [n]\n"
	  "networks:\n"
	  "  n:\n"
	  "    ipam:\n"
	  "      config:\n"
	  "        - subnet: 10.0.0.0/31\n",
	  "too small", 8, 19 },
	{ "subnet_32",
	  "services:\n"
	  "  a:\n"
	  "    networks: [n]\n"
	  "networks:\n"
	  "  n:\n"
	  "    ipam:\n"
	  "      config:\n"
	  "        - subnet: 10.0.0.7/32\n",
	  "too small", 8, 19 },
	{ "subnet_host_bits",
	  "services:\n"
	  "  a:\n"
	  "    networks: [n]\n"
	  "networks:\n"
	  "  n:\n"
	  "    ipam:\n"
	  "      config:\n"
	  "        - subnet: 10.0.0.1/24\n",
	  "host bits set", 8, 19 },
	{ "subnet_not_a_prefix",
	  "services:\n"
	  "  a:\n"
	  "    networks: [n]\n"
	  "networks:\n"
	  "  n:\n"
	  "    ipam:\n"
	  "      config:\n"
	  "        - subnet: 10.0.0.0\n",
	  "invalid subnet", 8, 19 },
	{ "gateway_outside_subnet",
	  "services:\n"
	  "  a:\n"
	  "    networks: [n]\n"
	  "networks:\n"
	  "  n:\n"
	  "    ipam:\n"
	  "      config:\n"
	  "        - subnet: 10.0.0.0/24\n"
	  "          gateway: 10.0.1.1\n",
	  "gateway 10.0.1.1 is outside subnet", 9, 20 },
	{ "gateway_network_address",
	  "services:\n"
	  "  a:\n"
	  "    networks: [n]\n"
	  "networks:\n"
	  "  n:\n"
	  "    ipam:\n"
	  "      config:\n"
	  "        - subnet: 10.0.0.0/24\n"
	  "          gateway: 10.0.0.0\n",
	  "network address", 9, 20 },
	{ "gateway_broadcast_address",
	  "services:\n"
	  "  a:\n"
	  "    networks: [n]\n"
	  "networks:\n"
	  "  n:\n"
	  "    ipam:\n"
	  "      config:\n"
	  "        - subnet: 10.0.0.0/24\n"
	  "          gateway: 10.0.0.255\n",
	  "broadcast address", 9, 20 },
	{ "gateway_without_subnet",
	  "services:\n"
	  "  a:\n"
	  "    networks: [n]\n"
	  "networks:\n"
	  "  n:\n"
	  "    ipam:\n"
	  "      config:\n"
	  "        - gateway: 10.0.0.1\n",
	  "gateway needs a subnet", 8, 20 },
	{ "ip_range_outside_subnet",
	  "services:\n"
	  "  a:\n"
	  "    networks: [n]\n"
	  "networks:\n"
	  "  n:\n"
	  "    ipam:\n"
	  "      config:\n"
	  "        - subnet: 10.0.0.0/24\n"
	  "          ip_range: 10.0.1.0/25\n",
	  "ip_range 10.0.1.0/25 is outside subnet", 9, 21 },
	/* 0.0.0.0/8 is "this network" (RFC 1122): no endpoint can have such an address */
	{ "subnet_at_address_zero",
	  "services:\n"
	  "  a:\n"
	  "    networks: [n]\n"
	  "networks:\n"
	  "  n:\n"
	  "    ipam:\n"
	  "      config:\n"
	  "        - subnet: 0.0.0.0/24\n",
	  "0.0.0.0/24", 8, 19 },
	{ "ip_range_without_subnet",
	  "services:\n"
	  "  a:\n"
	  "    networks: [n]\n"
	  "networks:\n"
	  "  n:\n"
	  "    ipam:\n"
	  "      config:\n"
	  "        - ip_range: 10.0.0.0/25\n",
	  "ip_range needs a subnet", 8, 21 },

	/* a service's networks and static addresses */
	{ "unknown_network_list",
	  "services:\n"
	  "  a:\n"
	  "    networks:\n"
	  "      - front\n",
	  "network front is not declared", 4, 9 },
	{ "unknown_network_mapping",
	  "services:\n"
	  "  a:\n"
	  "    networks:\n"
	  "      back:\n"
	  "        aliases: [x]\n"
	  "networks:\n"
	  "  front: {}\n",
	  "network back is not declared", 4, 7 },
	{ "network_listed_twice",
	  "services:\n"
	  "  a:\n"
	  "    networks: [n, n]\n"
	  "networks:\n"
	  "  n: {}\n",
	  "listed twice", 3, 19 },
	{ "network_mode_with_networks",
	  "services:\n"
	  "  a:\n"
	  "    network_mode: host\n"
	  "    networks: [default]\n",
	  "cannot be combined with networks", 3, 5 },
	{ "network_mode_service",
	  "services:\n"
	  "  a:\n"
	  "    image: x\n"
	  "  b:\n"
	  "    network_mode: \"service:a\"\n",
	  "network_mode \"service:a\" is not supported", 5, 19 },
	{ "ipv4_address_invalid",
	  "services:\n"
	  "  a:\n"
	  "    networks:\n"
	  "      n:\n"
	  "        ipv4_address: 10.0.0.300\n"
	  "networks:\n"
	  "  n:\n"
	  "    ipam:\n"
	  "      config:\n"
	  "        - subnet: 10.0.0.0/24\n",
	  "invalid ipv4_address \"10.0.0.300\"", 5, 23 },
	{ "static_address_outside_subnet",
	  "services:\n"
	  "  a:\n"
	  "    networks:\n"
	  "      n:\n"
	  "        ipv4_address: 10.0.1.5\n"
	  "networks:\n"
	  "  n:\n"
	  "    ipam:\n"
	  "      config:\n"
	  "        - subnet: 10.0.0.0/24\n",
	  "ipv4_address 10.0.1.5 is outside subnet", 5, 23 },
	{ "static_address_without_subnet",
	  "services:\n"
	  "  a:\n"
	  "    networks:\n"
	  "      n:\n"
	  "        ipv4_address: 10.0.0.5\n"
	  "networks:\n"
	  "  n: {}\n",
	  "needs an ipam subnet", 5, 23 },
	{ "static_address_duplicate",
	  "services:\n"
	  "  a:\n"
	  "    networks:\n"
	  "      n:\n"
	  "        ipv4_address: 10.0.0.5\n"
	  "  b:\n"
	  "    networks:\n"
	  "      n:\n"
	  "        ipv4_address: 10.0.0.5\n"
	  "networks:\n"
	  "  n:\n"
	  "    ipam:\n"
	  "      config:\n"
	  "        - subnet: 10.0.0.0/24\n",
	  "already taken by service a", 9, 23 },
	{ "static_address_is_explicit_gateway",
	  "services:\n"
	  "  a:\n"
	  "    networks:\n"
	  "      n:\n"
	  "        ipv4_address: 10.0.0.254\n"
	  "networks:\n"
	  "  n:\n"
	  "    ipam:\n"
	  "      config:\n"
	  "        - subnet: 10.0.0.0/24\n"
	  "          gateway: 10.0.0.254\n",
	  "is the gateway", 5, 23 },
	{ "static_address_is_default_gateway",
	  "services:\n"
	  "  a:\n"
	  "    networks:\n"
	  "      n:\n"
	  "        ipv4_address: 10.0.0.1\n"
	  "networks:\n"
	  "  n:\n"
	  "    ipam:\n"
	  "      config:\n"
	  "        - subnet: 10.0.0.0/24\n",
	  "is the gateway", 5, 23 },
	{ "static_address_is_broadcast",
	  "services:\n"
	  "  a:\n"
	  "    networks:\n"
	  "      n:\n"
	  "        ipv4_address: 10.0.0.255\n"
	  "networks:\n"
	  "  n:\n"
	  "    ipam:\n"
	  "      config:\n"
	  "        - subnet: 10.0.0.0/24\n",
	  "broadcast address", 5, 23 },
	{ "static_address_shared_by_replicas",
	  "services:\n"
	  "  a:\n"
	  "    deploy:\n"
	  "      replicas: 2\n"
	  "    networks:\n"
	  "      n:\n"
	  "        ipv4_address: 10.0.0.5\n"
	  "networks:\n"
	  "  n:\n"
	  "    ipam:\n"
	  "      config:\n"
	  "        - subnet: 10.0.0.0/24\n",
	  "cannot be shared by 2 replicas", 7, 23 },
	{ "extra_hosts_bad_address",
	  "services:\n"
	  "  a:\n"
	  "    extra_hosts:\n"
	  "      - \"db:300.1.1.1\"\n",
	  "invalid address \"300.1.1.1\"", 4, 9 },

	/* replicas and names */
	{ "replicas_negative",
	  "services:\n"
	  "  a:\n"
	  "    deploy:\n"
	  "      replicas: -1\n",
	  "replicas must be at least 0", 4, 17 },
	{ "container_name_with_replicas",
	  "services:\n"
	  "  a:\n"
	  "    container_name: web\n"
	  "    deploy:\n"
	  "      replicas: 2\n",
	  "container_name web cannot be shared by 2 replicas", 3, 21 },
	{ "container_name_duplicate",
	  "services:\n"
	  "  a:\n"
	  "    container_name: web\n"
	  "  b:\n"
	  "    container_name: web\n",
	  "already used by service a", 5, 21 },
	{ "healthcheck_interval_bad",
	  "services:\n"
	  "  a:\n"
	  "    healthcheck:\n"
	  "      test: [\"CMD\", \"true\"]\n"
	  "      interval: abc\n",
	  "healthcheck interval must be a duration", 5, 17 },

	/* ports */
	{ "port_letters",
	  "services:\n"
	  "  a:\n"
	  "    ports:\n"
	  "      - \"abc:80\"\n",
	  "invalid port \"abc\"", 4, 9 },
	{ "port_long_word",
	  "services:\n"
	  "  a:\n"
	  "    ports:\n"
	  "      - \"abcdef:80\"\n",
	  "invalid port \"abcdef\"", 4, 9 },
	{ "port_empty",
	  "services:\n"
	  "  a:\n"
	  "    ports:\n"
	  "      - \"\"\n",
	  "empty port mapping", 4, 9 },
	{ "port_missing_container_port",
	  "services:\n"
	  "  a:\n"
	  "    ports:\n"
	  "      - \"80:\"\n",
	  "missing port number", 4, 9 },
	{ "port_range_unequal",
	  "services:\n"
	  "  a:\n"
	  "    ports:\n"
	  "      - \"8000-8002:80-81\"\n",
	  "unequal length", 4, 9 },
	{ "port_range_reversed",
	  "services:\n"
	  "  a:\n"
	  "    ports:\n"
	  "      - \"90-80:90-80\"\n",
	  "reversed", 4, 9 },
	{ "port_zero",
	  "services:\n"
	  "  a:\n"
	  "    ports:\n"
	  "      - \"8080:0\"\n",
	  "port 0 is out of range", 4, 9 },
	{ "port_65536",
	  "services:\n"
	  "  a:\n"
	  "    ports:\n"
	  "      - \"65536:80\"\n",
	  "port 65536 is out of range", 4, 9 },
	{ "port_bad_protocol",
	  "services:\n"
	  "  a:\n"
	  "    ports:\n"
	  "      - \"80:80/tcpx\"\n",
	  "unknown protocol \"tcpx\"", 4, 9 },
	{ "port_ipv6_host",
	  "services:\n"
	  "  a:\n"
	  "    ports:\n"
	  "      - \"[::1]:80:80\"\n",
	  "IPv6 host address", 4, 9 },
	{ "port_long_syntax_bad_target",
	  "services:\n"
	  "  a:\n"
	  "    ports:\n"
	  "      - target: 99999\n"
	  "        published: \"8080\"\n",
	  "port 99999 is out of range", 4, 17 },
	{ "ports_with_network_mode_host",
	  "services:\n"
	  "  a:\n"
	  "    network_mode: host\n"
	  "    ports:\n"
	  "      - \"80:80\"\n",
	  "network_mode: host", 5, 9 },
	{ "ports_with_network_mode_none",
	  "services:\n"
	  "  a:\n"
	  "    network_mode: none\n"
	  "    ports:\n"
	  "      - \"80:80\"\n",
	  "network_mode: none", 5, 9 },
	{ "ports_on_internal_networks_only",
	  "services:\n"
	  "  a:\n"
	  "    networks: [n]\n"
	  "    ports:\n"
	  "      - \"80:80\"\n"
	  "networks:\n"
	  "  n:\n"
	  "    internal: true\n",
	  "attached only to internal networks", 5, 9 },
	{ "port_clash_two_services",
	  "services:\n"
	  "  a:\n"
	  "    ports:\n"
	  "      - \"8080:80\"\n"
	  "  b:\n"
	  "    ports:\n"
	  "      - \"8080:81\"\n",
	  "host port 0.0.0.0:8080/tcp is already published by service a", 7, 9 },
	{ "port_clash_same_service",
	  "services:\n"
	  "  a:\n"
	  "    ports:\n"
	  "      - \"8080:80\"\n"
	  "      - \"8080:81\"\n",
	  "already published by this service", 5, 9 },
	{ "port_clash_overlapping_ranges",
	  "services:\n"
	  "  a:\n"
	  "    ports:\n"
	  "      - \"8000-8010:8000-8010\"\n"
	  "  b:\n"
	  "    ports:\n"
	  "      - \"8005:80\"\n",
	  "8005/tcp is already published by service a", 7, 9 },
	{ "port_clash_any_vs_loopback",
	  "services:\n"
	  "  a:\n"
	  "    ports:\n"
	  "      - \"0.0.0.0:80:80\"\n"
	  "  b:\n"
	  "    ports:\n"
	  "      - \"127.0.0.1:80:80\"\n",
	  "127.0.0.1:80/tcp is already published by service a", 7, 9 },
	{ "port_clash_udp",
	  "services:\n"
	  "  a:\n"
	  "    ports:\n"
	  "      - \"53:53/udp\"\n"
	  "  b:\n"
	  "    ports:\n"
	  "      - target: 5353\n"
	  "        published: \"53\"\n"
	  "        protocol: udp\n",
	  "53/udp is already published by service a", 7, 9 },
};

/* ---- invalid files, several errors each ---- */

static const struct multi_row multi_rows[] = {
	/* errors in single values, all found while reading the file */
	{ "multi_values",
	  "services:\n"
	  "  a:\n"
	  "    ports:\n"
	  "      - \"80:80/tcpx\"\n"
	  "    networks:\n"
	  "      n:\n"
	  "        ipv4_address: 10.0.0.300\n"
	  "    healthcheck:\n"
	  "      interval: soon\n"
	  "networks:\n"
	  "  n:\n"
	  "    driver: overlay\n"
	  "    ipam:\n"
	  "      config:\n"
	  "        - subnet: 10.0.0.1/24\n",
	  5,
	  { { "unknown protocol", 4, 9 },
	    { "invalid ipv4_address", 7, 23 },
	    { "healthcheck interval", 9, 17 },
	    { "driver \"overlay\"", 12, 13 },
	    { "host bits set", 15, 19 } } },
	/* errors across objects, all found by the validator */
	{ "multi_cross_object",
	  "x-berth:\n"
	  "  policy:\n"
	  "    - from: ghost\n"
	  "      to: a\n"
	  "services:\n"
	  "  a:\n"
	  "    container_name: web\n"
	  "    networks: [n1, n2]\n"
	  "    ports:\n"
	  "      - \"8080:80\"\n"
	  "  b:\n"
	  "    container_name: web\n"
	  "    networks: [n1]\n"
	  "    ports:\n"
	  "      - \"8080:80\"\n"
	  "networks:\n"
	  "  n1:\n"
	  "    ipam:\n"
	  "      config:\n"
	  "        - subnet: 10.1.0.0/16\n"
	  "          gateway: 10.2.0.1\n"
	  "  n2:\n"
	  "    ipam:\n"
	  "      config:\n"
	  "        - subnet: 10.1.2.0/24\n",
	  5,
	  { { "unknown service \"ghost\"", 3, 13 },
	    { "already used by service a", 12, 21 },
	    { "already published by service a", 15, 9 },
	    { "gateway 10.2.0.1 is outside subnet", 21, 20 },
	    { "overlaps subnet", 25, 19 } } },
	/* every unknown network, not only the first */
	{ "multi_unknown_networks",
	  "services:\n"
	  "  a:\n"
	  "    networks: [front]\n"
	  "  b:\n"
	  "    networks: [back]\n",
	  2,
	  { { "network front is not declared", 3, 16 },
	    { "network back is not declared", 5, 16 } } },
	/* several x-berth keys and duplicate keys at every level */
	{ "multi_keys",
	  "x-berth:\n"
	  "  ttl: 5\n"
	  "services:\n"
	  "  a:\n"
	  "    image: x\n"
	  "    image: y\n"
	  "    x-berth:\n"
	  "      runs: x\n"
	  "networks:\n"
	  "  n:\n"
	  "    x-berth:\n"
	  "      icc: maybe\n",
	  4,
	  { { "unknown x-berth key \"ttl\"", 2, 3 },
	    { "duplicate key \"image\"", 6, 5 },
	    { "unknown x-berth key \"runs\"", 8, 7 },
	    { "x-berth.icc must be true or false", 12, 12 } } },
	/* one of each stage: interpolation, reading, resolving names, validating */
	{ "multi_across_stages",
	  "services:\n"
	  "  a:\n"
	  "    image: \"${\"\n"
	  "    ports:\n"
	  "      - \"80:80/tcpx\"\n"
	  "  b:\n"
	  "    networks: [nope]\n"
	  "networks:\n"
	  "  n:\n"
	  "    ipam:\n"
	  "      config:\n"
	  "        - subnet: 10.0.0.0/24\n"
	  "          gateway: 10.1.0.1\n",
	  4,
	  { { "invalid interpolation", 3, 12 },
	    { "unknown protocol", 5, 9 },
	    { "network nope is not declared", 7, 16 },
	    { "gateway 10.1.0.1 is outside subnet", 13, 20 } } },
	/*
	 * One mistake, one error: a value refused while reading must not bring
	 * about errors in the values that depend on it.
	 */
	{ "one_error_subnet_host_bits",
	  "services:\n"
	  "  a:\n"
	  "    networks:\n"
	  "      n:\n"
	  "        ipv4_address: 10.0.0.5\n"
	  "networks:\n"
	  "  n:\n"
	  "    ipam:\n"
	  "      config:\n"
	  "        - subnet: 10.0.0.1/24\n"
	  "          gateway: 10.0.0.1\n"
	  "          ip_range: 10.0.0.0/25\n",
	  1,
	  { { "host bits set", 10, 19 } } },
	{ "one_error_interpolation_in_address",
	  "services:\n"
	  "  a:\n"
	  "    networks:\n"
	  "      n:\n"
	  "        ipv4_address: \"${\"\n"
	  "networks:\n"
	  "  n:\n"
	  "    ipam:\n"
	  "      config:\n"
	  "        - subnet: 10.0.0.0/24\n",
	  1,
	  { { "invalid interpolation", 5, 23 } } },
	{ "one_error_required_variable_in_port",
	  "services:\n"
	  "  a:\n"
	  "    ports:\n"
	  "      - \"${P:?set P}:80\"\n",
	  1,
	  { { "required variable P is missing a value: set P", 4, 9 } } },
};

/* ---- valid files ---- */

static const struct ok_row ok_rows[] = {
	/* overlapping and adjacent ranges merge: 15 room is about merged ranges */
	{ "policy_ranges_merge_within_limit",
	  "x-berth:\n"
	  "  nat_ports: \"61000-65535\"\n"
	  "  conntrack_max: 16\n"
	  "  nat_max: 16777216\n"
	  "  policy:\n"
	  "    - {from: a, to: b, proto: tcp, ports: [1, 3, 5, 7, 9, 11, 13, 15]}\n"
	  "    - {from: a, to: b, proto: tcp, ports: [2, 4, 6, 8, \"10-12\", 14, 16, 17, 19, 21]}\n"
	  "    - {from: a, to: b, proto: icmp}\n"
	  "    - {from: b, to: b}\n"
	  "services:\n"
	  "  a: {}\n"
	  "  b: {}\n" },
	/* Docker allows a static address outside ip_range: the range only bounds allocation */
	{ "static_address_outside_ip_range",
	  "services:\n"
	  "  a:\n"
	  "    networks:\n"
	  "      n:\n"
	  "        ipv4_address: 10.0.0.200\n"
	  "networks:\n"
	  "  n:\n"
	  "    ipam:\n"
	  "      config:\n"
	  "        - subnet: 10.0.0.0/24\n"
	  "          ip_range: 10.0.0.0/25\n" },
	{ "gateway_inside_ip_range",
	  "services:\n"
	  "  a:\n"
	  "    networks: [n]\n"
	  "networks:\n"
	  "  n:\n"
	  "    ipam:\n"
	  "      config:\n"
	  "        - subnet: 10.0.0.0/24\n"
	  "          ip_range: 10.0.0.0/25\n"
	  "          gateway: 10.0.0.3\n" },
	/* with the gateway moved, .1 is an ordinary address */
	{ "static_dot1_with_other_gateway",
	  "services:\n"
	  "  a:\n"
	  "    networks:\n"
	  "      n:\n"
	  "        ipv4_address: 10.0.0.1\n"
	  "networks:\n"
	  "  n:\n"
	  "    ipam:\n"
	  "      config:\n"
	  "        - subnet: 10.0.0.0/24\n"
	  "          gateway: 10.0.0.254\n" },
	{ "replicas_zero",
	  "services:\n"
	  "  a:\n"
	  "    container_name: web\n"
	  "    deploy:\n"
	  "      replicas: 0\n"
	  "  b:\n"
	  "    scale: 0\n" },
	{ "fixed_host_port_with_replicas",
	  "services:\n"
	  "  a:\n"
	  "    deploy:\n"
	  "      replicas: 3\n"
	  "    ports:\n"
	  "      - \"8080:80\"\n" },
	{ "same_port_other_protocol",
	  "services:\n"
	  "  a:\n"
	  "    ports:\n"
	  "      - \"53:53/tcp\"\n"
	  "  b:\n"
	  "    ports:\n"
	  "      - \"53:53/udp\"\n" },
	{ "same_port_other_host_ip",
	  "services:\n"
	  "  a:\n"
	  "    ports:\n"
	  "      - \"127.0.0.1:80:80\"\n"
	  "  b:\n"
	  "    ports:\n"
	  "      - \"127.0.0.2:80:80\"\n" },
	{ "adjacent_port_ranges_and_random_ports",
	  "services:\n"
	  "  a:\n"
	  "    ports:\n"
	  "      - \"8000-8009:8000-8009\"\n"
	  "      - \"80\"\n"
	  "  b:\n"
	  "    ports:\n"
	  "      - \"8010-8019:8000-8009\"\n"
	  "      - \"80\"\n"
	  "      - \"9000-9100:80\"\n" },
	{ "ports_on_internal_and_external_networks",
	  "services:\n"
	  "  a:\n"
	  "    networks: [back, default]\n"
	  "    ports:\n"
	  "      - \"80:80\"\n"
	  "networks:\n"
	  "  back:\n"
	  "    internal: true\n" },
	{ "static_addresses_on_two_networks",
	  "services:\n"
	  "  a:\n"
	  "    networks:\n"
	  "      n1:\n"
	  "        ipv4_address: 10.0.0.5\n"
	  "  b:\n"
	  "    networks:\n"
	  "      n1:\n"
	  "        ipv4_address: 10.0.0.6\n"
	  "      n2:\n"
	  "        ipv4_address: 10.9.0.5\n"
	  "networks:\n"
	  "  n1:\n"
	  "    ipam:\n"
	  "      config:\n"
	  "        - subnet: 10.0.0.0/24\n"
	  "  n2:\n"
	  "    ipam:\n"
	  "      config:\n"
	  "        - subnet: 10.9.0.0/24\n" },
	{ "smallest_subnet_and_interpolation_defaults",
	  "services:\n"
	  "  a:\n"
	  "    image: \"${IMAGE:-busybox}\"\n"
	  "    network_mode: host\n"
	  "    healthcheck:\n"
	  "      test: [\"CMD\", \"true\"]\n"
	  "      interval: 1m30s\n"
	  "  b:\n"
	  "    networks: [n]\n"
	  "    extra_hosts:\n"
	  "      - \"db:10.0.0.2\"\n"
	  "      - \"gw:host-gateway\"\n"
	  "networks:\n"
	  "  n:\n"
	  "    ipam:\n"
	  "      config:\n"
	  "        - subnet: 10.0.0.0/30\n" },
};

/* ---- the checks ---- */

static void dump(const struct diag *d)
{
	for (size_t i = 0; i < d->n; i++) {
		char *s = diag_format(&d->msgs[i]);

		print_message("    %s\n", s);
		free(s);
	}
}

/* Load @yaml; the spec is freed here, only whether there was one is returned. */
static bool load(const char *yaml, bool no_project, struct diag *d)
{
	struct spec_opts opts = { .project = no_project ? NULL : "t" };
	struct spec *s;

	s = spec_load_buffer(yaml, strlen(yaml), "t.yml", &opts, d);
	spec_free(s);
	return s != NULL;
}

/* Checks one expected error; returns false (with a message) if it is missing or misplaced. */
static bool check_want(const struct diag *d, const char *msg, int line, int col)
{
	const struct diag_msg *m = diag_find(d, msg);

	if (!m) {
		print_error("no message containing \"%s\"\n", msg);
		return false;
	}
	if (m->level != DIAG_ERROR) {
		print_error("\"%s\" is a warning, not an error\n", msg);
		return false;
	}
	if (m->loc.line != line || m->loc.col != col) {
		print_error("\"%s\" at %d:%d, expected %d:%d\n", msg, m->loc.line, m->loc.col,
			    line, col);
		return false;
	}
	return true;
}

static void test_bad(void **state)
{
	const struct bad_row *r = *state;
	struct diag d = { 0 };
	bool loaded, ok;

	loaded = load(r->yaml, r->no_project, &d);
	ok = !loaded && d.n_errors >= 1;
	if (!ok)
		print_error("the file %s, with %zu errors\n", loaded ? "loaded" : "was refused",
			    d.n_errors);
	ok = ok && check_want(&d, r->msg, r->line, r->col);
	if (!ok)
		dump(&d);
	diag_free(&d);
	if (!ok)
		fail();
}

static void test_multi(void **state)
{
	const struct multi_row *r = *state;
	struct diag d = { 0 };
	bool loaded, ok;

	loaded = load(r->yaml, false, &d);
	ok = !loaded;
	if (loaded)
		print_error("the file loaded\n");
	if (d.n_errors != r->n_errors) {
		print_error("%zu errors, expected %zu\n", d.n_errors, r->n_errors);
		ok = false;
	}
	for (size_t i = 0; i < r->n_errors; i++)
		if (!check_want(&d, r->want[i].msg, r->want[i].line, r->want[i].col))
			ok = false;
	if (!ok)
		dump(&d);
	diag_free(&d);
	if (!ok)
		fail();
}

static void test_ok(void **state)
{
	const struct ok_row *r = *state;
	struct diag d = { 0 };
	bool loaded;

	loaded = load(r->yaml, false, &d);
	if (!loaded || d.n_errors) {
		print_error("the file %s, with %zu errors\n", loaded ? "loaded" : "was refused",
			    d.n_errors);
		dump(&d);
	}
	diag_free(&d);
	assert_true(loaded);
}

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

int main(void)
{
	size_t n = ARRAY_SIZE(bad_rows) + ARRAY_SIZE(multi_rows) + ARRAY_SIZE(ok_rows), i = 0;
	struct CMUnitTest *tests = calloc(n, sizeof(*tests));
	int rc;

	if (!tests)
		return 1;
	/* one test per row, named after it, so a failure names the file */
	for (size_t j = 0; j < ARRAY_SIZE(bad_rows); j++)
		tests[i++] = (struct CMUnitTest){ .name = bad_rows[j].name, .test_func = test_bad,
						  .initial_state = (void *)&bad_rows[j] };
	for (size_t j = 0; j < ARRAY_SIZE(multi_rows); j++)
		tests[i++] = (struct CMUnitTest){ .name = multi_rows[j].name,
						  .test_func = test_multi,
						  .initial_state = (void *)&multi_rows[j] };
	for (size_t j = 0; j < ARRAY_SIZE(ok_rows); j++)
		tests[i++] = (struct CMUnitTest){ .name = ok_rows[j].name, .test_func = test_ok,
						  .initial_state = (void *)&ok_rows[j] };
	rc = _cmocka_run_group_tests("validate", tests, n, NULL, NULL);
	free(tests);
	return rc;
}
