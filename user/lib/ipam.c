// SPDX-License-Identifier: GPL-2.0-only
/*
 * IPAM: subnets for networks that have none, addresses for endpoints.
 * Deterministic for a given file and host routes, so `config` and a later
 * `up` agree; `up` keeps what it allocated across runs on top of this.
 */
#include <stdlib.h>
#include <string.h>

#include "ipv4.h"
#include "spec_int.h"
#include "util.h"

/*
 * Docker's default address pools: 172.17.0.0/16 … 172.31.0.0/16, then
 * 192.168.0.0/16 cut into /20s.
 */
static bool pool_candidate(unsigned i, struct ipv4_prefix *out)
{
	if (i < 15) {
		*out = (struct ipv4_prefix){ .addr = (172u << 24) | ((17u + i) << 16), .len = 16 };
		return true;
	}
	i -= 15;
	if (i < 16) {
		*out = (struct ipv4_prefix){ .addr = (192u << 24) | (168u << 16) | (i << 12), .len = 20 };
		return true;
	}
	return false;
}

static bool subnet_taken(const struct spec *s, const struct spec_opts *o, struct ipv4_prefix p)
{
	for (size_t i = 0; i < s->n_nets; i++)
		if (s->nets[i].has_subnet && ipv4_prefix_overlap(s->nets[i].subnet, p))
			return true;
	for (size_t i = 0; i < o->n_routed; i++)
		/* the default route covers everything and says nothing about use */
		if (o->routed[i].len && ipv4_prefix_overlap(o->routed[i], p))
			return true;
	return false;
}

static void drop_unused_networks(struct loader *ld)
{
	struct spec *s = ld->s;
	int *remap = xcalloc(s->n_nets, sizeof(int));
	size_t n = 0;

	for (size_t i = 0; i < s->n_nets; i++) {
		struct network *net = &s->nets[i];

		if (!net->used) {
			struct ignored_key *k = VEC_PUSH(s->ignored, s->n_ignored);

			k->loc = net->loc;
			k->path = xasprintf("networks.%s (no service uses it)", net->key);
			free(net->key);
			free(net->name);
			remap[i] = -1;
			continue;
		}
		remap[i] = (int)n;
		s->nets[n++] = *net;
	}
	s->n_nets = n;
	for (size_t i = 0; i < s->n_svcs; i++)
		for (size_t j = 0; j < s->svcs[i].n_nets; j++)
			s->svcs[i].nets[j].net = remap[s->svcs[i].nets[j].net];
	free(remap);
}

static bool prior_subnet(const struct spec_opts *o, const char *name, struct ipv4_prefix *out)
{
	for (size_t i = 0; i < o->n_prior_nets; i++) {
		if (!strcmp(o->prior_nets[i].name, name)) {
			*out = o->prior_nets[i].subnet;
			return true;
		}
	}
	return false;
}

static void allocate_subnets(struct loader *ld)
{
	struct spec *s = ld->s;
	unsigned next = 0;

	/* first keep what earlier runs gave, where nothing in the file now claims it */
	for (size_t i = 0; i < s->n_nets; i++) {
		struct network *n = &s->nets[i];
		struct ipv4_prefix p;
		bool taken = false;

		if (n->has_subnet || !prior_subnet(ld->opts, n->name, &p))
			continue;
		for (size_t j = 0; j < s->n_nets; j++)
			if (s->nets[j].has_subnet && ipv4_prefix_overlap(s->nets[j].subnet, p))
				taken = true;
		if (taken)
			continue;
		n->subnet = p;
		n->has_subnet = true;
		n->subnet_auto = true;
	}
	for (size_t i = 0; i < s->n_nets; i++) {
		struct network *n = &s->nets[i];
		struct ipv4_prefix p;

		if (!n->has_subnet) {
			while (pool_candidate(next, &p) && subnet_taken(s, ld->opts, p))
				next++;
			if (!pool_candidate(next, &p)) {
				diag_add(ld->d, DIAG_ERROR, n->loc,
					 "network %s: the default address pools (172.17-31.0.0/16, 192.168.0.0/16 in /20s) have no subnet left that is free on this host; give it an ipam subnet",
					 n->key);
				continue;
			}
			n->subnet = p;
			n->has_subnet = true; /* so later networks avoid it */
			n->subnet_auto = true;
			next++;
		}
		if (!n->has_gateway)
			n->gateway = network_gateway(n);
	}
}

struct net_alloc {
	uint32_t next;		/* next candidate address */
	uint32_t last;		/* the pool: ip_range or subnet */
	bool done;		/* next went past last */
	uint32_t *used;		/* addresses kept from earlier runs */
	size_t n_used;
};

static bool addr_reserved(const struct spec *s, int net, const struct net_alloc *al, uint32_t a)
{
	const struct network *n = &s->nets[net];

	if (a == n->subnet.addr || a == ipv4_prefix_last(n->subnet) || a == n->gateway)
		return true;
	for (size_t i = 0; i < n->n_aux; i++)
		if (n->aux[i].addr == a)
			return true;
	for (size_t i = 0; i < al->n_used; i++)
		if (al->used[i] == a)
			return true;
	for (size_t i = 0; i < s->n_svcs; i++)
		for (size_t j = 0; j < s->svcs[i].n_nets; j++)
			if (s->svcs[i].nets[j].net == net && s->svcs[i].nets[j].has_ipv4 &&
			    s->svcs[i].nets[j].ipv4 == a)
				return true;
	return false;
}

static bool next_addr(const struct spec *s, int net, struct net_alloc *al, uint32_t *out)
{
	while (!al->done && al->next <= al->last) {
		uint32_t a = al->next;

		if (a == al->last)
			al->done = true;
		else
			al->next = a + 1;
		if (!addr_reserved(s, net, al, a)) {
			*out = a;
			return true;
		}
	}
	return false;
}

/* The address an earlier run gave @ep on @net, if it is still valid there. */
static bool prior_addr(struct loader *ld, const char *ep, int net, struct net_alloc *al,
		       uint32_t *out)
{
	const struct spec_opts *o = ld->opts;
	const struct network *n = &ld->s->nets[net];

	for (size_t i = 0; i < o->n_prior_addrs; i++) {
		const struct spec_prior_addr *p = &o->prior_addrs[i];

		if (strcmp(p->endpoint, ep) || strcmp(p->network, n->name))
			continue;
		if (!ipv4_prefix_contains(n->subnet, p->ipv4) ||
		    addr_reserved(ld->s, net, al, p->ipv4))
			return false;
		*out = p->ipv4;
		return true;
	}
	return false;
}

static void allocate_endpoints(struct loader *ld)
{
	struct spec *s = ld->s;
	struct net_alloc *al = xcalloc(s->n_nets, sizeof(*al));
	char b[20];

	for (size_t i = 0; i < s->n_nets; i++) {
		struct ipv4_prefix pool = s->nets[i].has_range ? s->nets[i].range : s->nets[i].subnet;

		al[i].next = pool.addr;
		al[i].last = ipv4_prefix_last(pool);
	}
	/* pass 1: endpoints, static addresses, and addresses kept from earlier runs */
	for (size_t i = 0; i < s->n_svcs; i++) {
		struct service *svc = &s->svcs[i];

		for (int r = 1; r <= svc->replicas; r++) {
			struct endpoint *ep = VEC_PUSH(s->eps, s->n_eps);

			ep->name = spec_endpoint_name(s, svc, r);
			ep->svc = (int)i;
			ep->replica = r;
			if (svc->mode != NET_MODE_BRIDGE)
				continue;
			ep->addrs = xcalloc(svc->n_nets, sizeof(*ep->addrs));
			for (size_t j = 0; j < svc->n_nets; j++) {
				struct svc_net *sn = &svc->nets[j];
				struct endpoint_addr *ea = &ep->addrs[ep->n_addrs++];
				struct net_alloc *a = &al[sn->net];

				ea->net = sn->net;
				ea->svc_net = (int)j;
				if (sn->has_ipv4) {
					ea->ipv4 = sn->ipv4;
				} else if (prior_addr(ld, ep->name, sn->net, a, &ea->ipv4)) {
					VEC_PUSH(a->used, a->n_used);
					a->used[a->n_used - 1] = ea->ipv4;
				}
			}
		}
	}
	/* pass 2: the rest, in file order */
	for (size_t e = 0; e < s->n_eps; e++) {
		struct endpoint *ep = &s->eps[e];
		struct service *svc = &s->svcs[ep->svc];

		for (size_t j = 0; j < ep->n_addrs; j++) {
			struct endpoint_addr *ea = &ep->addrs[j];
			struct svc_net *sn = &svc->nets[ea->svc_net];
			struct ipv4_prefix pool;

			if (ea->ipv4 || next_addr(s, sn->net, &al[sn->net], &ea->ipv4))
				continue;
			pool = s->nets[sn->net].has_range ? s->nets[sn->net].range
							  : s->nets[sn->net].subnet;
			diag_add(ld->d, DIAG_ERROR, sn->loc,
				 "service %s: network %s has no free address left for %s (%s %s is exhausted)",
				 svc->name, s->nets[sn->net].key, ep->name,
				 s->nets[sn->net].has_range ? "ip_range" : "subnet",
				 ipv4_prefix_str(pool, b));
			goto out;
		}
	}
out:
	for (size_t i = 0; i < s->n_nets; i++)
		free(al[i].used);
	free(al);
}

uint32_t network_gateway(const struct network *n)
{
	if (n->has_gateway)
		return n->gateway;
	if (n->has_range)
		return n->range.addr == n->subnet.addr ? n->range.addr + 1 : n->range.addr;
	return n->subnet.addr + 1;
}

void spec_ipam(struct loader *ld)
{
	drop_unused_networks(ld);
	allocate_subnets(ld);
	if (!ld->d->n_errors)
		allocate_endpoints(ld);
}
