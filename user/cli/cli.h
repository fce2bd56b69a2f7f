/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef BERTH_CLI_H
#define BERTH_CLI_H

#include <stdbool.h>
#include <stdint.h>

#include "spec.h"

/* Exit codes, as the architecture fixes them. */
enum {
	EXIT_OK = 0,
	EXIT_USER = 1,		/* bad spec, unknown name, bad usage */
	EXIT_SYSTEM = 2,	/* the kernel or the system refused */
};

struct cli {
	const char *file;	/* -f */
	const char *project;	/* -p */
	const char *host_netns;	/* --host-netns */
	bool json;
	int verbose;
	const char *dns[4];	/* up --dns SERVER (repeatable; the agent uses up to 4) */
	size_t n_dns;
	const char *from;	/* dns --from SERVICE[.N] */
	const char *uplink;	/* up --uplink IFNAME|none */
	uint32_t ct_max;	/* up --conntrack-max N (0: not given) */
	uint32_t nat_max;	/* up --nat-max N (0: not given) */
	int argc;		/* the verb's operands */
	char **argv;
};

/* -f, else compose.yaml, compose.yml, docker-compose.yaml or docker-compose.yml here, else NULL. */
const char *cli_compose_file(const struct cli *c);

/* Load the compose file named by -f (or found in the current directory). */
struct spec *cli_load_spec(const struct cli *c);

/* What `up` adds to a load: the project, earlier allocations, no repeated warnings. */
struct cli_load_opts {
	const char *project;
	const struct spec_prior_net *prior_nets;
	size_t n_prior_nets;
	const struct spec_prior_addr *prior_addrs;
	size_t n_prior_addrs;
	bool quiet;		/* errors only: the first load said the rest */
	const struct ipv4_prefix *taken;	/* subnets of the instance's other projects */
	size_t n_taken;
};

struct spec *cli_load_spec_opts(const struct cli *c, const struct cli_load_opts *lo);

/* Subnets routed in this namespace, from /proc/net/route. */
int host_routed_subnets(struct ipv4_prefix **out, size_t *n);

int do_config(struct cli *c);
int do_up(struct cli *c);
int do_down(struct cli *c);
int do_ps(struct cli *c);
int do_network(struct cli *c);
int do_exec(struct cli *c);
int do_logs(struct cli *c);
int do_agent(struct cli *c);
int do_dns(struct cli *c);
int do_stats(struct cli *c);
int do_port(struct cli *c);

#endif
