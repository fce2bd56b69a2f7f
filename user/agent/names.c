// SPDX-License-Identifier: GPL-2.0-only
#include "names.h"

#include <ctype.h>
#include <errno.h>
#include <json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "jsonx.h"
#include "util.h"

static char *lower(const char *s)
{
	char *out = xstrdup(s ? s : "");

	for (char *p = out; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return out;
}

void names_free(struct names *n)
{
	for (size_t i = 0; i < n->n_nets; i++) {
		free(n->nets[i].name);
		free(n->nets[i].key);
	}
	for (size_t i = 0; i < n->n_entries; i++)
		free(n->entries[i].name);
	for (size_t i = 0; i < n->n_eps; i++) {
		free(n->eps[i].name);
		free(n->eps[i].project);
		free(n->eps[i].service);
		free(n->eps[i].nets);
	}
	free(n->nets);
	free(n->entries);
	free(n->eps);
	memset(n, 0, sizeof(*n));
}

static uint32_t net_index(struct names *n, const char *name)
{
	for (size_t i = 0; i < n->n_nets; i++)
		if (!strcasecmp(n->nets[i].name, name))
			return (uint32_t)i;
	return UINT32_MAX;
}

static void add_entry(struct names *n, const char *name, uint32_t net, uint32_t ip, bool own)
{
	struct name_entry *e;

	if (!name || !*name)
		return;
	e = VEC_PUSH(n->entries, n->n_entries);
	e->name = lower(name);
	e->net = net;
	e->ip = ip;
	e->ep = (uint32_t)(n->n_eps - 1);
	e->own = own;
}

int names_build(struct names *n, struct json_object *state)
{
	struct json_object *projects;

	names_free(n);
	if (!json_object_object_get_ex(state, "projects", &projects))
		return 0;
	json_object_object_foreach(projects, pname, p) {
		struct json_object *nets = jarr_get(p, "networks"), *eps = jarr_get(p, "endpoints"), *v;
		uint32_t ttl = 0;

		if (json_object_object_get_ex(p, "dns_ttl", &v))
			ttl = (uint32_t)json_object_get_int64(v);
		for (size_t i = 0; i < jlen(nets); i++) {
			struct json_object *j = json_object_array_get_idx(nets, i);
			struct name_net *nn = VEC_PUSH(n->nets, n->n_nets);

			nn->name = lower(jstr(j, "name"));
			nn->key = lower(jstr(j, "key"));
			nn->internal = json_object_object_get_ex(j, "internal", &v) &&
				       json_object_get_boolean(v);
			{
				unsigned a, b, c, d, len;

				if (jstr(j, "subnet") &&
				    sscanf(jstr(j, "subnet"), "%u.%u.%u.%u/%u", &a, &b, &c, &d, &len) == 5 &&
				    len <= 32) {
					nn->mask = len ? ~0u << (32 - len) : 0;
					nn->subnet = (a << 24 | b << 16 | c << 8 | d) & nn->mask;
				}
			}
		}
		for (size_t i = 0; i < jlen(eps); i++) {
			struct json_object *e = json_object_array_get_idx(eps, i), *ifs = jarr_get(e, "interfaces");
			struct name_ep *ne = VEC_PUSH(n->eps, n->n_eps);

			ne->name = xstrdup(jstr(e, "name") ? jstr(e, "name") : "");
			ne->project = xstrdup(pname);
			ne->service = xstrdup(jstr(e, "service") ? jstr(e, "service") : "");
			ne->replica = json_object_object_get_ex(e, "replica", &v) ? json_object_get_int(v) : 0;
			ne->ttl = ttl;
			ne->dns = jstr(e, "mode") && !strcmp(jstr(e, "mode"), "bridge");
			for (size_t k = 0; k < jlen(ifs); k++) {
				struct json_object *f = json_object_array_get_idx(ifs, k), *al = jarr_get(f, "aliases");
				uint32_t net = net_index(n, jstr(f, "network") ? jstr(f, "network") : "");
				unsigned a, b, c, d;
				uint32_t ip;

				if (net == UINT32_MAX || !jstr(f, "ipv4") ||
				    sscanf(jstr(f, "ipv4"), "%u.%u.%u.%u", &a, &b, &c, &d) != 4)
					continue;
				ip = a << 24 | b << 16 | c << 8 | d;
				*VEC_PUSH(ne->nets, ne->n_nets) = net;
				/* as compose registers them: service, endpoint name, aliases */
				add_entry(n, ne->service, net, ip, false);
				add_entry(n, ne->name, net, ip, true);
				for (size_t m = 0; m < jlen(al); m++)
					add_entry(n, json_object_get_string(json_object_array_get_idx(al, m)),
						  net, ip, false);
			}
		}
	}
	return 0;
}

const struct name_ep *names_ep(const struct names *n, const char *ep_name)
{
	for (size_t i = 0; i < n->n_eps; i++)
		if (!strcmp(n->eps[i].name, ep_name))
			return &n->eps[i];
	return NULL;
}

static bool ep_on(const struct name_ep *ep, uint32_t net)
{
	for (size_t i = 0; i < ep->n_nets; i++)
		if (ep->nets[i] == net)
			return true;
	return false;
}

bool names_internal_only(const struct names *n, const struct name_ep *ep)
{
	for (size_t i = 0; i < ep->n_nets; i++)
		if (!n->nets[ep->nets[i]].internal)
			return false;
	return true;
}

/* @q (lowercase, no trailing dot) is @name, or @name.<key or full name of @net>. */
static bool matches(const struct names *n, const struct name_entry *e, const char *q)
{
	size_t len = strlen(e->name);
	const char *rest;

	if (strncmp(q, e->name, len))
		return false;
	rest = q + len;
	if (!*rest)
		return true;
	if (*rest != '.')
		return false;
	rest++;
	return !strcmp(rest, n->nets[e->net].key) || !strcmp(rest, n->nets[e->net].name);
}

/* @q ends in ".<key or full name>" of one of berth's networks: a berth name, never forwarded. */
static bool network_suffix(const struct names *n, const char *q)
{
	size_t ql = strlen(q);

	for (size_t i = 0; i < n->n_nets; i++) {
		const char *names[2] = { n->nets[i].key, n->nets[i].name };

		for (int k = 0; k < 2; k++) {
			size_t l = strlen(names[k]);

			if (l && ql > l + 1 && q[ql - l - 1] == '.' && !strcmp(q + ql - l, names[k]))
				return true;
		}
	}
	return false;
}

static uint32_t name_hash(const char *q)
{
	uint32_t h = 2166136261u;

	for (; *q; q++)
		h = (h ^ (uint8_t)*q) * 16777619u;
	return h;
}

enum names_verdict names_lookup(struct names *n, const struct name_ep *ep, const char *qname,
				bool rotate, uint32_t *ips, size_t max, size_t *n_ips)
{
	char q[1024];	/* escaped presentation names run longer than 255 */
	size_t len, found = 0;
	bool elsewhere = false;

	snprintf(q, sizeof(q), "%s", qname);
	len = strlen(q);
	if (len && q[len - 1] == '.')
		q[--len] = '\0';
	for (char *p = q; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	*n_ips = 0;
	for (size_t i = 0; i < n->n_entries; i++) {
		const struct name_entry *e = &n->entries[i];
		bool dup = false;

		if (!matches(n, e, q))
			continue;
		if (!ep_on(ep, e->net)) {
			elsewhere = true;
			continue;
		}
		/* one endpoint registers its service and its own name: list each address once */
		for (size_t j = 0; j < found && j < max; j++)
			if (ips[j] == e->ip)
				dup = true;
		if (dup)
			continue;
		if (found < max)
			ips[found] = e->ip;
		found++;
	}
	if (found) {
		size_t k = found < max ? found : max;
		uint32_t *turn = &n->rotation[name_hash(q) % 256];
		uint32_t r = *turn % (uint32_t)k;

		if (rotate)
			(*turn)++;

		/* dnsrr: a different first address each query */
		for (uint32_t s = 0; s < r; s++) {
			uint32_t first = ips[0];

			memmove(ips, ips + 1, (k - 1) * sizeof(*ips));
			ips[k - 1] = first;
		}
		*n_ips = k;
		return NAMES_FOUND;
	}
	if (elsewhere || network_suffix(n, q) || names_internal_only(n, ep))
		return NAMES_NXDOMAIN;
	return NAMES_FORWARD;
}

enum names_verdict names_ptr(const struct names *n, const struct name_ep *ep, uint32_t ip,
			     char *out, size_t size)
{
	bool berth = false;

	/* one pass: the own-name entry of the endpoint that holds @ip on a shared network */
	for (size_t j = 0; j < n->n_entries; j++) {
		const struct name_entry *e = &n->entries[j];

		if (e->ip != ip || !e->own)
			continue;
		berth = true;
		if (!ep_on(ep, e->net))
			continue;
		snprintf(out, size, "%s.%s", n->eps[e->ep].name, n->nets[e->net].name);
		return NAMES_FOUND;
	}
	/* gateways and free addresses of berth's subnets are berth's too: never asked upstream */
	for (size_t i = 0; i < n->n_nets && !berth; i++)
		if (n->nets[i].mask && (ip & n->nets[i].mask) == n->nets[i].subnet)
			berth = true;
	return berth || names_internal_only(n, ep) ? NAMES_NXDOMAIN : NAMES_FORWARD;
}
