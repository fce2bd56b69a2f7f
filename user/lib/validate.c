// SPDX-License-Identifier: GPL-2.0-only
/*
 * Completing the model (default network, full names, network indices) and the
 * checks that span objects: subnets against each other, static addresses
 * against subnets and each other, published ports against each other.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "ipv4.h"
#include "policy_compile.h"
#include "spec_int.h"
#include "util.h"

#define ERR(ld, loc, ...) diag_add((ld)->d, DIAG_ERROR, (loc), __VA_ARGS__)

bool spec_service_name_valid(const char *name)
{
	if (!isalnum((unsigned char)name[0]))
		return false;
	for (const char *p = name; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("._-", *p))
			return false;
	return strlen(name) <= 200;
}

bool spec_project_name_valid(const char *name)
{
	if (!(islower((unsigned char)name[0]) || isdigit((unsigned char)name[0])))
		return false;
	for (const char *p = name; *p; p++)
		if (!(islower((unsigned char)*p) || isdigit((unsigned char)*p) || *p == '-' ||
		      *p == '_'))
			return false;
	return strlen(name) <= 200;
}

char *spec_project_name_normalize(const char *dir)
{
	char *out = xmalloc(strlen(dir) + 1), *o = out;

	/* compose: lowercase, keep [a-z0-9_-], drop leading characters that may not start a name */
	for (const char *p = dir; *p; p++) {
		char c = (char)tolower((unsigned char)*p);

		if (!(islower((unsigned char)c) || isdigit((unsigned char)c) || c == '-' || c == '_'))
			continue;
		if (o == out && (c == '-' || c == '_'))
			continue;
		*o++ = c;
	}
	*o = '\0';
	return out;
}

static int net_find(const struct spec *s, const char *key)
{
	for (size_t i = 0; i < s->n_nets; i++)
		if (!strcmp(s->nets[i].key, key))
			return (int)i;
	return -1;
}

static void sort_by_priority(struct service *svc)
{
	/* insertion sort: stable, and lists are short */
	for (size_t i = 1; i < svc->n_nets; i++) {
		struct svc_net t = svc->nets[i];
		size_t j = i;

		while (j > 0 && svc->nets[j - 1].priority < t.priority) {
			svc->nets[j] = svc->nets[j - 1];
			j--;
		}
		svc->nets[j] = t;
	}
}

void spec_resolve(struct loader *ld)
{
	struct spec *s = ld->s;

	if (!s->project && ld->opts->default_project && *ld->opts->default_project)
		s->project = xstrdup(ld->opts->default_project);
	if (!s->project) {
		ERR(ld, (struct loc){ 0 },
		    "no project name: give -p NAME or a top-level name: in the file");
		return;
	}
	for (size_t i = 0; i < s->n_svcs; i++) {
		struct service *svc = &s->svcs[i];

		if (svc->mode == NET_MODE_BRIDGE && !svc->n_nets) {
			struct svc_net *sn = VEC_PUSH(svc->nets, svc->n_nets);

			sn->key = xstrdup("default");
			sn->loc = svc->loc;
		}
		if (svc->n_nets && net_find(s, "default") < 0) {
			for (size_t j = 0; j < svc->n_nets; j++) {
				if (strcmp(svc->nets[j].key, "default"))
					continue;
				struct network *n = VEC_PUSH(s->nets, s->n_nets);

				n->key = xstrdup("default");
				n->icc = true;
				break;
			}
		}
		for (size_t j = 0; j < svc->n_nets; j++) {
			struct svc_net *sn = &svc->nets[j];

			sn->net = net_find(s, sn->key);
			if (sn->net < 0 && ld->nets_bad)
				continue;
			if (sn->net < 0) {
				ERR(ld, sn->loc, "service %s: network %s is not declared in the top-level networks",
				    svc->name, sn->key);
				continue;
			}
			for (size_t k = 0; k < j; k++)
				if (svc->nets[k].net == sn->net)
					ERR(ld, sn->loc, "service %s: network %s is listed twice",
					    svc->name, sn->key);
			s->nets[sn->net].used = true;
		}
		sort_by_priority(svc);
	}
	for (size_t i = 0; i < s->n_nets; i++) {
		struct network *n = &s->nets[i];

		if (!n->name)
			n->name = xasprintf("%s_%s", s->project, n->key);
	}
}

/* ---- networks ---- */

static void validate_network(struct loader *ld, struct network *n)
{
	char a[20], b[20];

	if (n->subnet_bad)
		return;
	if (n->has_subnet && !ipv4_subnet_usable(n->subnet)) {
		ERR(ld, n->subnet_loc, "network %s: subnet %s is not usable for endpoints (shorter than /8, or inside 0.0.0.0/8, 127.0.0.0/8 or 224.0.0.0/3)",
		    n->key, ipv4_prefix_str(n->subnet, a));
		n->subnet_bad = true;
		return;
	}
	if (n->has_subnet && n->subnet.len > 30) {
		ERR(ld, n->subnet_loc, "network %s: subnet %s is too small (/%u): a /31 or /32 leaves no room for a gateway and endpoints",
		    n->key, ipv4_prefix_str(n->subnet, a), n->subnet.len);
		return;
	}
	if (n->has_gateway && !n->has_subnet)
		ERR(ld, n->gateway_loc, "network %s: a gateway needs a subnet in the same ipam config",
		    n->key);
	if (n->has_range && !n->has_subnet)
		ERR(ld, n->range_loc, "network %s: an ip_range needs a subnet in the same ipam config",
		    n->key);
	if (!n->has_subnet)
		return;
	if (n->has_gateway) {
		if (!ipv4_prefix_contains(n->subnet, n->gateway))
			ERR(ld, n->gateway_loc, "network %s: gateway %s is outside subnet %s", n->key,
			    ipv4_str(n->gateway, a), ipv4_prefix_str(n->subnet, b));
		else if (n->gateway == n->subnet.addr || n->gateway == ipv4_prefix_last(n->subnet))
			ERR(ld, n->gateway_loc, "network %s: gateway %s is the %s address of subnet %s",
			    n->key, ipv4_str(n->gateway, a),
			    n->gateway == n->subnet.addr ? "network" : "broadcast",
			    ipv4_prefix_str(n->subnet, b));
	}
	if (n->has_range && !ipv4_prefix_within(n->range, n->subnet))
		ERR(ld, n->range_loc, "network %s: ip_range %s is outside subnet %s", n->key,
		    ipv4_prefix_str(n->range, a), ipv4_prefix_str(n->subnet, b));
	for (size_t i = 0; i < n->n_aux; i++)
		if (!ipv4_prefix_contains(n->subnet, n->aux[i].addr))
			ERR(ld, n->aux[i].loc, "network %s: aux address %s is outside subnet %s",
			    n->key, ipv4_str(n->aux[i].addr, a), ipv4_prefix_str(n->subnet, b));
}

static void validate_networks(struct loader *ld)
{
	struct spec *s = ld->s;
	char a[20], b[20];

	for (size_t i = 0; i < s->n_nets; i++) {
		validate_network(ld, &s->nets[i]);
		for (size_t j = 0; j < i; j++) {
			struct network *x = &s->nets[i], *y = &s->nets[j];

			if (!strcmp(x->name, y->name))
				ERR(ld, x->loc, "networks %s and %s have the same name %s", y->key, x->key,
				    x->name);
			if (x->has_subnet && y->has_subnet && ipv4_prefix_overlap(x->subnet, y->subnet))
				ERR(ld, x->subnet_loc, "network %s: subnet %s overlaps subnet %s of network %s",
				    x->key, ipv4_prefix_str(x->subnet, a), ipv4_prefix_str(y->subnet, b),
				    y->key);
		}
	}
}

/* ---- endpoints and static addresses ---- */

static bool aux_taken(const struct network *n, uint32_t a)
{
	for (size_t i = 0; i < n->n_aux; i++)
		if (n->aux[i].addr == a)
			return true;
	return false;
}

static char *endpoint_name(const struct spec *s, const struct service *svc, int replica)
{
	if (svc->container_name)
		return xstrdup(svc->container_name);
	return xasprintf("%s-%s-%d", s->project, svc->name, replica);
}

static void validate_endpoints(struct loader *ld)
{
	struct spec *s = ld->s;
	char a[20], b[20];

	for (size_t i = 0; i < s->n_svcs; i++) {
		struct service *svc = &s->svcs[i];

		if (svc->container_name && svc->replicas > 1)
			ERR(ld, svc->container_name_loc, "service %s: container_name %s cannot be shared by %d replicas",
			    svc->name, svc->container_name, svc->replicas);
		for (size_t j = 0; j < svc->n_nets; j++) {
			struct svc_net *sn = &svc->nets[j];
			struct network *n;
			uint32_t gw;

			if (!sn->has_ipv4 || sn->net < 0)
				continue;
			n = &s->nets[sn->net];
			if (svc->replicas > 1)
				ERR(ld, sn->ipv4_loc, "service %s: static ipv4_address %s cannot be shared by %d replicas",
				    svc->name, ipv4_str(sn->ipv4, a), svc->replicas);
			if (n->subnet_bad)
				continue;
			if (!n->has_subnet) {
				ERR(ld, sn->ipv4_loc, "service %s: ipv4_address %s needs an ipam subnet on network %s",
				    svc->name, ipv4_str(sn->ipv4, a), n->key);
				continue;
			}
			if (n->subnet.len > 30)
				continue;
			gw = network_gateway(n);
			if (!ipv4_prefix_contains(n->subnet, sn->ipv4))
				ERR(ld, sn->ipv4_loc, "service %s: ipv4_address %s is outside subnet %s of network %s",
				    svc->name, ipv4_str(sn->ipv4, a), ipv4_prefix_str(n->subnet, b), n->key);
			else if (sn->ipv4 == gw)
				ERR(ld, sn->ipv4_loc, "service %s: ipv4_address %s is the gateway of network %s",
				    svc->name, ipv4_str(sn->ipv4, a), n->key);
			else if (aux_taken(n, sn->ipv4))
				ERR(ld, sn->ipv4_loc, "service %s: ipv4_address %s is an aux address of network %s",
				    svc->name, ipv4_str(sn->ipv4, a), n->key);
			else if (sn->ipv4 == n->subnet.addr || sn->ipv4 == ipv4_prefix_last(n->subnet))
				ERR(ld, sn->ipv4_loc, "service %s: ipv4_address %s is the %s address of network %s",
				    svc->name, ipv4_str(sn->ipv4, a),
				    sn->ipv4 == n->subnet.addr ? "network" : "broadcast", n->key);
			for (size_t k = 0; k <= i; k++) {
				struct service *o = &s->svcs[k];

				for (size_t m = 0; m < o->n_nets; m++) {
					if (k == i && m >= j)
						break;
					if (o->nets[m].has_ipv4 && o->nets[m].ipv4 == sn->ipv4 &&
					    o->nets[m].net == sn->net)
						ERR(ld, sn->ipv4_loc, "service %s: ipv4_address %s on network %s is already taken by service %s",
						    svc->name, ipv4_str(sn->ipv4, a), n->key, o->name);
				}
			}
		}
	}
	/*
	 * Endpoint names are namespace names, unique on the machine. Generated
	 * names cannot collide with each other (service names are unique), but a
	 * container_name can take another endpoint's name.
	 */
	for (size_t i = 0; i < s->n_svcs; i++) {
		const char *cn = s->svcs[i].container_name;

		for (size_t k = 0; cn && k < s->n_svcs; k++) {
			if (k == i || (k > i && s->svcs[k].container_name))
				continue;
			for (int q = 1; q <= s->svcs[k].replicas; q++) {
				char *y = endpoint_name(s, &s->svcs[k], q);
				bool same = !strcmp(cn, y);

				free(y);
				if (same) {
					ERR(ld, s->svcs[i].container_name_loc,
					    "service %s: endpoint name %s is already used by service %s",
					    s->svcs[i].name, cn, s->svcs[k].name);
					break;
				}
			}
		}
	}
}

/* ---- published ports ---- */

static bool ports_clash(const struct port_spec *p, const struct port_spec *q)
{
	if (!p->host_lo || !q->host_lo || p->n_to_one || q->n_to_one || p->proto != q->proto)
		return false;
	if (p->host_ip && q->host_ip && p->host_ip != q->host_ip)
		return false;
	return p->host_lo <= q->host_hi && q->host_lo <= p->host_hi;
}

static void validate_ports(struct loader *ld)
{
	struct spec *s = ld->s;
	char a[16];

	for (size_t i = 0; i < s->n_svcs; i++) {
		struct service *svc = &s->svcs[i];
		bool outside = false;

		if (!svc->n_ports)
			continue;
		for (size_t j = 0; j < svc->n_nets; j++)
			if (svc->nets[j].net >= 0 && !s->nets[svc->nets[j].net].internal)
				outside = true;
		if (svc->mode == NET_MODE_NONE)
			ERR(ld, svc->ports[0].loc, "service %s publishes ports but has network_mode: none, so nothing can reach them",
			    svc->name);
		else if (svc->mode == NET_MODE_BRIDGE && !outside)
			ERR(ld, svc->ports[0].loc, "service %s publishes ports but is attached only to internal networks, so nothing outside can reach them (Docker ignores such ports silently)",
			    svc->name);
		for (size_t j = 0; j < svc->n_ports; j++) {
			struct port_spec *p = &svc->ports[j];

			/* the datapath translates TCP and UDP ports (expose: publishes nothing, any is fine) */
			if (p->proto == PORT_SCTP) {
				ERR(ld, p->loc, "service %s: sctp ports cannot be published: berth publishes tcp and udp",
				    svc->name);
				continue;
			}
			for (size_t k = 0; k <= i; k++) {
				struct service *o = &s->svcs[k];

				for (size_t m = 0; m < o->n_ports; m++) {
					struct port_spec *q = &o->ports[m];
					unsigned port = p->host_lo > q->host_lo ? p->host_lo : q->host_lo;

					if (k == i && m >= j)
						break;
					if (!ports_clash(p, q))
						continue;
					ERR(ld, p->loc, "service %s: host port %s:%u/%s is already published by %s%s",
					    svc->name, ipv4_str(p->host_ip ? p->host_ip : q->host_ip, a), port,
					    port_proto_name(p->proto), k == i ? "this service" : "service ",
					    k == i ? "" : o->name);
				}
			}
		}
	}
}

static int svc_find(const struct spec *s, const char *name)
{
	for (size_t i = 0; i < s->n_svcs; i++)
		if (!strcmp(s->svcs[i].name, name))
			return (int)i;
	return -1;
}

/* A rule's end must be a service with endpoints of its own: identities live on them. */
static bool policy_end_ok(struct loader *ld, const char *name, struct loc loc)
{
	const struct spec *s = ld->s;
	int i = name ? svc_find(s, name) : -2;

	if (i == -2)
		return false;
	if (i < 0) {
		ERR(ld, loc, "policy: unknown service \"%s\"", name);
		return false;
	}
	if (s->svcs[i].mode != NET_MODE_BRIDGE) {
		ERR(ld, loc, "policy: service %s has network_mode: %s, so no traffic of its own for a rule to match",
		    name, s->svcs[i].mode == NET_MODE_HOST ? "host" : "none");
		return false;
	}
	return true;
}

static void validate_policy(struct loader *ld)
{
	static const uint8_t port_protos[] = { 6, 17 };
	struct spec *s = ld->s;

	for (size_t i = 0; i < s->n_policy; i++) {
		struct policy_rule *r = &s->policy[i];
		bool ok = policy_end_ok(ld, r->from, r->from_loc);

		if (!policy_end_ok(ld, r->to, r->to_loc) || !ok)
			continue;
		/* one map entry per (from, to, proto) holds the merged ranges of every rule */
		for (size_t p = 0; p < ARRAY_SIZE(port_protos); p++) {
			size_t now, before;

			if (r->proto && r->proto != port_protos[p])
				continue;
			now = policy_ranges_for(s, i, r->from, r->to, port_protos[p], NULL, 0);
			before = i ? policy_ranges_for(s, i - 1, r->from, r->to, port_protos[p], NULL, 0)
				   : 0;
			if (now > BERTH_POLICY_RANGES && before <= BERTH_POLICY_RANGES) {
				ERR(ld, r->loc, "policy: %s to %s over %s allows %zu separate port ranges; at most %d fit (merge them into wider ranges)",
				    r->from, r->to, p ? "udp" : "tcp", now, BERTH_POLICY_RANGES);
				break;
			}
		}
	}
}

void spec_validate(struct loader *ld)
{
	validate_networks(ld);
	validate_endpoints(ld);
	validate_ports(ld);
	validate_policy(ld);
}

char *spec_endpoint_name(const struct spec *s, const struct service *svc, int replica)
{
	return endpoint_name(s, svc, replica);
}
