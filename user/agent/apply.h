/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Applying a model to an instance: the plan (what the file wants that the
 * state lacks, and the reverse), carried out step by step with a journal.
 *
 * An apply runs in two phases. Removals first (endpoints and networks the
 * file no longer has, or has changed): their journal lists them up front and
 * the next command finishes them if this one dies. Then additions: each step
 * is journaled before it is taken; a failure, or the next command after a
 * crash, undoes them in reverse. state.json changes only when a phase ends.
 */
#ifndef BERTH_APPLY_H
#define BERTH_APPLY_H

#include <stdbool.h>
#include <stdint.h>

#include "instance.h"
#include "spec.h"

struct apply_opts {
	bool verbose;
	bool quiet;		/* no progress lines */
	const char *const *dns;	/* --dns SERVER...: the instance's upstream servers */
	size_t n_dns;
	/* --uplink IFNAME or "none"; NULL: the instance's, else the default route's device */
	const char *uplink;
	uint32_t ct_max;	/* --conntrack-max (0: x-berth.conntrack_max, else as it is) */
	uint32_t nat_max;	/* --nat-max (0: x-berth.nat_max, else as it is) */
};

/* Finish or roll back an apply that died half way. 0 when nothing was left. */
int apply_recover(struct instance *in, const struct apply_opts *o);

/* apply_up() result for a conflict the user must resolve (reported on stderr) */
#define APPLY_USER_ERROR 1

/* Make the instance match @s for project s->project: 0, APPLY_USER_ERROR or -errno. */
int apply_up(struct instance *in, const struct spec *s, const struct apply_opts *o);

/* Remove everything @project made. */
int apply_down(struct instance *in, const char *project, const struct apply_opts *o);

/* The state of @project, or NULL. */
struct json_object *state_project(struct instance *in, const char *project);

/* Prior allocations of @project for IPAM (arrays owned by the state; free the arrays only). */
void state_prior(struct instance *in, const char *project, struct spec_prior_net **nets,
		 size_t *n_nets, struct spec_prior_addr **addrs, size_t *n_addrs);

/* Subnets of every other project of the instance (caller frees the array). */
void state_other_subnets(struct instance *in, const char *project, struct ipv4_prefix **out,
			 size_t *n);

#endif
