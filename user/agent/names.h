/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The names berth's DNS answers, built from an instance's state: per network,
 * each endpoint's service name, endpoint name (or container_name) and the
 * aliases it has on that network. An endpoint resolves only names of the
 * networks it is attached to; a name that exists only elsewhere is NXDOMAIN
 * and never leaves the host.
 */
#ifndef BERTH_NAMES_H
#define BERTH_NAMES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct json_object;

struct name_entry {
	char *name;		/* lowercase */
	uint32_t net;		/* index into names.nets */
	uint32_t ip;		/* host order */
	uint32_t ep;		/* index into names.eps */
	bool own;		/* the endpoint's own name (what PTR answers) */
};

struct name_net {
	char *name;		/* full network name, lowercase */
	char *key;		/* compose key, lowercase */
	bool internal;
	uint32_t subnet, mask;	/* host order */
};

struct name_ep {
	char *name;		/* endpoint (namespace) name */
	char *project;
	char *service;
	int replica;
	uint32_t *nets;		/* indexes into names.nets */
	size_t n_nets;
	uint32_t ttl;		/* the project's x-berth dns_ttl */
	bool dns;		/* has a resolv.conf pointing at berth (bridge mode) */
};

struct names {
	struct name_net *nets;
	size_t n_nets;
	struct name_entry *entries;
	size_t n_entries;
	struct name_ep *eps;
	size_t n_eps;
	/* turn the order of multi-address answers, per name (by hash) */
	uint32_t rotation[256];
};

/* Build from state.json ("projects": ...); replaces the previous contents. */
int names_build(struct names *n, struct json_object *state);
void names_free(struct names *n);

const struct name_ep *names_ep(const struct names *n, const char *ep_name);

enum names_verdict {
	NAMES_FOUND,		/* *ips holds the addresses (rotated) */
	NAMES_NXDOMAIN,		/* a berth name, but not on this endpoint's networks; or internal-only */
	NAMES_FORWARD,		/* not berth's: ask the upstream servers */
};

/*
 * What @ep gets for @qname (presentation form, any case, trailing dot
 * allowed; "NAME.NETWORK" works for the network's key or full name). Fills
 * up to @max addresses into @ips and their count into *n_ips. @rotate turns
 * the name's order for the next query (A queries do; AAAA asked beside them
 * must not, or a client asking both would always see the same first address).
 */
enum names_verdict names_lookup(struct names *n, const struct name_ep *ep, const char *qname,
				bool rotate, uint32_t *ips, size_t max, size_t *n_ips);

/*
 * PTR: the name of @ip as @ep sees it ("<endpoint>.<network>") when @ip is an
 * endpoint address on one of its networks (NAMES_FOUND, @out filled);
 * NAMES_NXDOMAIN for an endpoint address elsewhere (it stays private, as
 * names do); NAMES_FORWARD for any other address.
 */
enum names_verdict names_ptr(const struct names *n, const struct name_ep *ep, uint32_t ip,
			     char *out, size_t size);

/* Every network of @ep is internal: nothing may be forwarded for it. */
bool names_internal_only(const struct names *n, const struct name_ep *ep);

#endif
