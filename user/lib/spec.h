/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The compose spec as berth understands it: a typed model of the networking
 * subset of a docker-compose file, the loader that builds it from YAML, the
 * validator and IPAM that complete it. Pure code: no I/O except reading the
 * compose file and its .env; facts about the host (routed subnets, the
 * environment) come in through struct spec_opts.
 */
#ifndef BERTH_SPEC_H
#define BERTH_SPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "diag.h"

/* An IPv4 prefix in host byte order. */
struct ipv4_prefix {
	uint32_t addr;
	uint8_t len;
};

enum net_mode {
	NET_MODE_BRIDGE = 0,	/* attached to compose networks (the default) */
	NET_MODE_HOST,		/* shares the host namespace: no endpoint */
	NET_MODE_NONE,		/* own namespace with loopback only */
};

enum endpoint_mode {
	EP_MODE_VIP = 0,	/* compose's default */
	EP_MODE_DNSRR,
};

enum port_proto {
	PORT_TCP = 0,
	PORT_UDP,
	PORT_SCTP,
};

/*
 * One `ports:` or `expose:` item. Ranges are inclusive; host_lo == 0 means a
 * random host port (one per target port). A host range with a single target
 * port (`"8000-9000:80"`) means the first free port of that range: n_to_one.
 */
struct port_spec {
	struct loc loc;
	uint32_t host_ip;	/* host order; 0 = every address */
	uint16_t host_lo, host_hi;
	uint16_t target_lo, target_hi;
	enum port_proto proto;
	bool n_to_one;
	bool mode_host;		/* long syntax `mode: host` (same as ingress here) */
	char *name;		/* long syntax `name`, or NULL */
};

struct extra_host {
	struct loc loc;
	char *name;
	uint32_t addr;		/* host order; unused when host_gateway */
	bool host_gateway;
};

struct healthcheck {
	struct loc loc;
	bool disable;
	char **test;		/* NULL-terminated; test[0] is NONE/CMD/CMD-SHELL */
	uint64_t interval_ms, timeout_ms, start_period_ms, start_interval_ms;
	int retries;
};

/* A service's attachment to one network (`services.X.networks.KEY`). */
struct svc_net {
	struct loc loc;
	char *key;		/* compose key of the network */
	int net;		/* index into spec->nets */
	char **aliases;		/* NULL-terminated */
	bool has_ipv4;
	uint32_t ipv4;		/* host order: static ipv4_address */
	struct loc ipv4_loc;
	int priority;		/* compose `priority`: higher attaches first */
};

struct policy_rule {
	struct loc loc;
	char *from, *to;
	struct loc from_loc, to_loc;
	int proto;		/* 0 any, else IPPROTO_TCP/UDP/ICMP */
	struct { uint16_t lo, hi; } *ports;
	size_t n_ports;
};

struct service {
	struct loc loc;
	char *name;
	enum net_mode mode;
	struct svc_net *nets;
	size_t n_nets;
	int replicas;
	enum endpoint_mode ep_mode;
	char *container_name;
	struct loc container_name_loc;
	struct port_spec *ports;
	size_t n_ports;
	struct port_spec *expose;
	size_t n_expose;
	struct extra_host *extra_hosts;
	size_t n_extra_hosts;
	struct healthcheck *health;	/* NULL when none */
	char *run;		/* x-berth.run, or NULL */
};

struct aux_addr {
	struct loc loc;
	uint32_t addr;		/* host order */
};

struct network {
	struct loc loc;
	char *key;		/* compose key */
	char *name;		/* full name: `name:` or <project>_<key> */
	bool internal;
	bool icc;		/* x-berth.icc, default true */
	bool has_subnet;	/* set once a subnet is known */
	bool subnet_auto;	/* allocated by IPAM from the default pools */
	bool subnet_bad;	/* given but refused (reported): skip what depends on it */
	struct ipv4_prefix subnet;	/* given or allocated by IPAM */
	struct loc subnet_loc;
	bool has_gateway;
	uint32_t gateway;
	struct loc gateway_loc;
	bool has_range;
	struct ipv4_prefix range;
	struct loc range_loc;
	struct aux_addr *aux;	/* ipam aux_addresses: never handed out */
	size_t n_aux;
	bool used;		/* some service attaches to it */
};

/* One replica of a service: an endpoint. */
struct endpoint_addr {
	int net;		/* index into spec->nets */
	int svc_net;		/* index into svc->nets */
	uint32_t ipv4;		/* host order */
};

struct endpoint {
	char *name;		/* <project>-<service>-<n> or container_name */
	int svc;		/* index into spec->svcs */
	int replica;		/* from 1 */
	struct endpoint_addr *addrs;
	size_t n_addrs;
};

/* A key of the file berth accepted and does not act on (listed by -v). */
struct ignored_key {
	struct loc loc;
	char *path;
};

/* Bounds of x-berth.conntrack_max and nat_max (and of up's --conntrack-max, --nat-max). */
#define SPEC_MAP_SIZE_MIN 16
#define SPEC_MAP_SIZE_MAX 16777216
/* Lowest port of x-berth.nat_ports: below it are the privileged ports. */
#define SPEC_NAT_PORT_MIN 1024

struct spec {
	char *file;
	char *project;
	struct loc project_loc;
	uint32_t dns_ttl;		/* x-berth.dns_ttl */
	struct policy_rule *policy;	/* x-berth.policy */
	size_t n_policy;
	bool has_nat_ports;		/* x-berth.nat_ports: the SNAT source-port range */
	uint16_t nat_port_lo, nat_port_hi;
	struct loc nat_ports_loc;
	uint32_t ct_max;		/* x-berth.conntrack_max; 0: not given */
	struct loc ct_max_loc;
	uint32_t nat_max;		/* x-berth.nat_max; 0: not given */
	struct loc nat_max_loc;
	struct network *nets;
	size_t n_nets;
	struct service *svcs;
	size_t n_svcs;
	struct endpoint *eps;
	size_t n_eps;
	struct ignored_key *ignored;
	size_t n_ignored;
};

/* What an earlier `up` allocated: IPAM keeps it, so addresses stay with their endpoints. */
struct spec_prior_net {
	const char *name;	/* full network name */
	struct ipv4_prefix subnet;
};

struct spec_prior_addr {
	const char *endpoint;
	const char *network;	/* full network name */
	uint32_t ipv4;		/* host order */
};

struct spec_opts {
	const char *project;	/* -p, or NULL */
	const char *default_project;	/* used when neither -p nor `name:` is given */
	const char *const *env;	/* NULL-terminated KEY=VALUE list (environ) */
	const char *dotenv;	/* contents of the .env file beside the spec, or NULL */
	const char *dotenv_name;	/* its path, for messages */
	/* Subnets routed on the host: IPAM keeps automatic subnets off them. */
	const struct ipv4_prefix *routed;
	size_t n_routed;
	const struct spec_prior_net *prior_nets;
	size_t n_prior_nets;
	const struct spec_prior_addr *prior_addrs;
	size_t n_prior_addrs;
};

/*
 * Parse, validate and allocate addresses. Returns the model, or NULL when an
 * error was reported into @d (every error found, not only the first).
 * Warnings go into @d too.
 */
struct spec *spec_load_buffer(const char *buf, size_t len, const char *file,
			      const struct spec_opts *opts, struct diag *d);

/* The same, reading @file and the .env file beside it. */
struct spec *spec_load_file(const char *file, const struct spec_opts *opts, struct diag *d);

void spec_free(struct spec *s);

/*
 * The gateway: given, else the first address of the ip_range (the next one
 * when that is the subnet's network address), else the subnet's first usable
 * address — as Docker's IPAM picks it.
 */
uint32_t network_gateway(const struct network *n);

/* compose's project-name rules */
bool spec_project_name_valid(const char *name);
/* Normalise a directory name into a project name; caller frees. */
char *spec_project_name_normalize(const char *dir);

const char *port_proto_name(enum port_proto p);

#endif
