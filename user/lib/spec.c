// SPDX-License-Identifier: GPL-2.0-only
/*
 * The compose loader: YAML (libyaml's document API, which keeps a line and
 * column for every node) → interpolation → the typed model of spec.h.
 * Checks that concern one value are made here, where its position is known;
 * checks across objects are in validate.c and addresses in ipam.c.
 */
#include "spec.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <yaml.h>

#include "interp.h"
#include "ipv4.h"
#include "ports.h"
#include "spec_int.h"
#include "util.h"

/* Aliases can make a document a graph; every walk is bounded by depth. */
#define MAX_DEPTH 64

static struct loc nloc(const yaml_node_t *n)
{
	return (struct loc){ .line = (int)n->start_mark.line + 1,
			     .col = (int)n->start_mark.column + 1 };
}

static yaml_node_t *node(struct loader *ld, int id)
{
	return yaml_document_get_node(&ld->doc, id);
}

static const char *scalar(const yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

/* A plain `~`, `null` or empty scalar, or a missing node. */
static bool is_null(const yaml_node_t *n)
{
	const char *s = scalar(n);

	if (!n)
		return true;
	if (!s || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	return !*s || !strcmp(s, "~") || !strcasecmp(s, "null");
}

void ld_err(struct loader *ld, const yaml_node_t *n, const char *fmt, ...)
{
	va_list ap;
	char *text;

	va_start(ap, fmt);
	text = xvasprintf(fmt, ap);
	va_end(ap);
	diag_add(ld->d, DIAG_ERROR, n ? nloc(n) : (struct loc){ 0 }, "%s", text);
	free(text);
}

static void ignore(struct loader *ld, const yaml_node_t *n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void ignore(struct loader *ld, const yaml_node_t *n, const char *fmt, ...)
{
	struct ignored_key *k = VEC_PUSH(ld->s->ignored, ld->s->n_ignored);
	va_list ap;

	k->loc = nloc(n);
	va_start(ap, fmt);
	k->path = xvasprintf(fmt, ap);
	va_end(ap);
}

/* ---- mappings, with YAML merge keys (`<<: *anchor`) ---- */

struct pair {
	yaml_node_t *key, *val;
};

struct pairs {
	struct pair *p;
	size_t n;
	yaml_node_t **merged;	/* mappings collected so far */
	size_t n_merged;
};

static bool pairs_has(const struct pairs *ps, const char *k)
{
	for (size_t i = 0; i < ps->n; i++)
		if (!strcmp(scalar(ps->p[i].key), k))
			return true;
	return false;
}

static void collect_pairs(struct loader *ld, yaml_node_t *map, struct pairs *ps, int depth)
{
	yaml_node_pair_t *p;

	/* a mapping merged twice adds nothing the first merge did not */
	for (size_t i = 0; i < ps->n_merged; i++)
		if (ps->merged[i] == map)
			return;
	VEC_PUSH(ps->merged, ps->n_merged);
	ps->merged[ps->n_merged - 1] = map;
	if (depth > MAX_DEPTH) {
		ld_err(ld, map, "merge keys nested too deeply");
		return;
	}
	/* own keys win over merged ones, earlier merges over later ones */
	for (p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		yaml_node_t *k = node(ld, p->key), *v = node(ld, p->value);
		const char *ks = scalar(k);

		if (!ks) {
			ld_err(ld, k, "mapping keys must be strings");
			continue;
		}
		if (!strcmp(ks, "<<"))
			continue;
		if (pairs_has(ps, ks))
			continue;	/* merged keys yield to own ones; duplicates were reported */
		VEC_PUSH(ps->p, ps->n);
		ps->p[ps->n - 1] = (struct pair){ k, v };
	}
	for (p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		yaml_node_t *k = node(ld, p->key), *v = node(ld, p->value);

		if (!scalar(k) || strcmp(scalar(k), "<<"))
			continue;
		if (v->type == YAML_MAPPING_NODE) {
			collect_pairs(ld, v, ps, depth + 1);
		} else if (v->type == YAML_SEQUENCE_NODE) {
			for (yaml_node_item_t *it = v->data.sequence.items.start;
			     it < v->data.sequence.items.top; it++) {
				yaml_node_t *m = node(ld, *it);

				if (m->type == YAML_MAPPING_NODE)
					collect_pairs(ld, m, ps, depth + 1);
				else
					ld_err(ld, m, "a merge key takes mappings");
			}
		} else {
			ld_err(ld, v, "a merge key takes a mapping or a list of mappings");
		}
	}
}

/* The pairs of @map, or none (with an error) when it is not a mapping. */
static struct pairs map_pairs(struct loader *ld, yaml_node_t *map, const char *what)
{
	struct pairs ps = { 0 };

	if (is_null(map))
		return ps;
	if (map->type != YAML_MAPPING_NODE) {
		ld_err(ld, map, "%s must be a mapping", what);
		return ps;
	}
	collect_pairs(ld, map, &ps, 0);
	free(ps.merged);
	ps.merged = NULL;
	return ps;
}

static size_t seq_len(const yaml_node_t *n)
{
	return (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
}

static yaml_node_t *seq_at(struct loader *ld, const yaml_node_t *n, size_t i)
{
	return node(ld, n->data.sequence.items.start[i]);
}

/* ---- typed scalars ---- */

/* A scalar whose interpolation failed: reported once, then left alone. */
static bool failed(const struct loader *ld, const yaml_node_t *n)
{
	return ld->visited && ld->visited[n - ld->doc.nodes.start] == INTERP_FAILED;
}

static const char *want_str(struct loader *ld, yaml_node_t *n, const char *what)
{
	const char *s = scalar(n);

	if (failed(ld, n))
		return NULL;
	if (!s)
		ld_err(ld, n, "%s must be a string", what);
	return s;
}

static bool want_bool(struct loader *ld, yaml_node_t *n, const char *what, bool *out)
{
	const char *s = scalar(n);

	if (failed(ld, n))
		return false;
	if (s && (!strcasecmp(s, "true") || !strcasecmp(s, "yes") || !strcasecmp(s, "on"))) {
		*out = true;
		return true;
	}
	if (s && (!strcasecmp(s, "false") || !strcasecmp(s, "no") || !strcasecmp(s, "off"))) {
		*out = false;
		return true;
	}
	ld_err(ld, n, "%s must be true or false, not %s%s%s", what, s ? "\"" : "a ",
	       s ? s : (n->type == YAML_MAPPING_NODE ? "mapping" : "list"), s ? "\"" : "");
	return false;
}

static bool want_int(struct loader *ld, yaml_node_t *n, const char *what, long long min,
		     long long max, long long *out)
{
	const char *s = scalar(n);
	char *end;
	long long v;

	if (failed(ld, n))
		return false;
	if (!s || !*s) {
		ld_err(ld, n, "%s must be an integer", what);
		return false;
	}
	errno = 0;
	v = strtoll(s, &end, 10);
	if (*end || errno == ERANGE || !(isdigit((unsigned char)*s) || *s == '-')) {
		ld_err(ld, n, "%s must be an integer, not \"%s\"", what, s);
		return false;
	}
	if (v < min || v > max) {
		ld_err(ld, n, "%s must be %s %lld, not %lld", what, v < min ? "at least" : "at most",
		       v < min ? min : max, v);
		return false;
	}
	*out = v;
	return true;
}

/* compose durations: "1h2m3s", "500ms", "1.5s", "10us"; a bare number is seconds. */
static bool want_duration(struct loader *ld, yaml_node_t *n, const char *what, uint64_t *ms)
{
	static const struct {
		const char *unit;
		double ms;
	} units[] = { { "ns", 1e-6 }, { "us", 1e-3 }, { "µs", 1e-3 }, { "ms", 1 },
		      { "s", 1e3 },   { "m", 60e3 },  { "h", 3600e3 } };
	const char *s = scalar(n), *p;
	double total = 0;

	if (failed(ld, n))
		return false;
	if (!s || !*s)
		goto bad;
	p = s;
	while (*p) {
		char *end;
		double v;
		size_t best = 0, ulen = 0;

		if (!isdigit((unsigned char)*p) && *p != '.')
			goto bad;
		v = strtod(p, &end);
		if (end == p)
			goto bad;
		p = end;
		for (size_t i = 0; i < ARRAY_SIZE(units); i++) {
			size_t l = strlen(units[i].unit);

			if (!strncmp(p, units[i].unit, l) && l > ulen) {
				best = i;
				ulen = l;
			}
		}
		if (!ulen)
			goto bad;
		total += v * units[best].ms;
		p += ulen;
	}
	if (total < 0 || total > 1e15)
		goto bad;
	*ms = (uint64_t)total;
	return true;
bad:
	ld_err(ld, n, "%s must be a duration with a unit, such as 30s, 1m30s or 500ms%s%s%s", what,
	       s ? ", not \"" : "", s ? s : "", s ? "\"" : "");
	return false;
}

/* ---- interpolation over every value of the document ---- */

static void interp_node(struct loader *ld, yaml_node_t *n, int depth)
{
	size_t id = (size_t)(n - ld->doc.nodes.start);
	char *out, *err, **missing = NULL;

	/*
	 * Aliases share nodes: expand each node once, or "$$" would be
	 * unescaped twice and nested aliases would cost exponential time.
	 */
	if (depth > MAX_DEPTH || ld->visited[id])
		return;
	ld->visited[id] = 1;
	switch (n->type) {
	case YAML_SCALAR_NODE:
		if (!strchr((const char *)n->data.scalar.value, '$'))
			return;
		if (interp_expand((const char *)n->data.scalar.value, &ld->env, &out, &err,
				  &missing)) {
			ld->visited[id] = INTERP_FAILED;
			ld_err(ld, n, "%s", err);
			free(err);
			strv_free(missing);
			return;
		}
		for (char **m = missing; m && *m; m++)
			diag_add(ld->d, DIAG_WARNING, nloc(n),
				 "variable %s is not set: substituting an empty string", *m);
		strv_free(missing);
		free(n->data.scalar.value);
		n->data.scalar.value = (yaml_char_t *)out;
		n->data.scalar.length = strlen(out);
		break;
	case YAML_SEQUENCE_NODE:
		for (size_t i = 0; i < seq_len(n); i++)
			interp_node(ld, seq_at(ld, n, i), depth + 1);
		break;
	case YAML_MAPPING_NODE:
		for (yaml_node_pair_t *p = n->data.mapping.pairs.start;
		     p < n->data.mapping.pairs.top; p++) {
			const char *k = scalar(node(ld, p->key));

			/* compose refuses duplicate keys anywhere, ignored sections included */
			for (yaml_node_pair_t *q = n->data.mapping.pairs.start; k && q < p; q++) {
				const char *qk = scalar(node(ld, q->key));

				if (qk && !strcmp(k, qk) && strcmp(k, "<<")) {
					ld_err(ld, node(ld, p->key), "duplicate key \"%s\"", k);
					break;
				}
			}
			interp_node(ld, node(ld, p->value), depth + 1);
		}
		break;
	default:
		break;
	}
}

/* ---- x-berth ---- */

static void parse_policy(struct loader *ld, yaml_node_t *n)
{
	if (n->type != YAML_SEQUENCE_NODE) {
		ld_err(ld, n, "x-berth.policy must be a list of rules");
		return;
	}
	for (size_t i = 0; i < seq_len(n); i++) {
		yaml_node_t *item = seq_at(ld, n, i);
		struct pairs ps = map_pairs(ld, item, "a policy rule");
		struct policy_rule *r;

		if (item->type != YAML_MAPPING_NODE)
			continue;
		r = VEC_PUSH(ld->s->policy, ld->s->n_policy);
		r->loc = nloc(item);
		for (size_t j = 0; j < ps.n; j++) {
			const char *k = scalar(ps.p[j].key), *v;
			yaml_node_t *val = ps.p[j].val;

			if (!strcmp(k, "from") || !strcmp(k, "to")) {
				bool from = k[0] == 'f';

				v = want_str(ld, val, k);
				if (!v)
					continue;
				*(from ? &r->from : &r->to) = xstrdup(v);
				*(from ? &r->from_loc : &r->to_loc) = nloc(val);
			} else if (!strcmp(k, "proto")) {
				v = want_str(ld, val, "proto");
				if (!v)
					continue;
				if (!strcmp(v, "tcp"))
					r->proto = 6;
				else if (!strcmp(v, "udp"))
					r->proto = 17;
				else if (!strcmp(v, "icmp"))
					r->proto = 1;
				else
					ld_err(ld, val, "policy proto must be tcp, udp or icmp, not \"%s\"", v);
			} else if (!strcmp(k, "ports")) {
				if (val->type != YAML_SEQUENCE_NODE) {
					ld_err(ld, val, "policy ports must be a list");
					continue;
				}
				for (size_t m = 0; m < seq_len(val); m++) {
					yaml_node_t *pn = seq_at(ld, val, m);
					const char *ps_ = want_str(ld, pn, "a policy port");
					uint16_t lo, hi;
					char *err;

					if (!ps_)
						continue;
					err = port_parse_range(ps_, &lo, &hi);
					if (err) {
						ld_err(ld, pn, "%s", err);
						free(err);
						continue;
					}
					VEC_PUSH(r->ports, r->n_ports);
					r->ports[r->n_ports - 1].lo = lo;
					r->ports[r->n_ports - 1].hi = hi;
				}
			} else {
				ld_err(ld, ps.p[j].key,
				       "unknown policy rule key \"%s\" (expected from, to, proto, ports)", k);
			}
		}
		if (!r->from || !r->to)
			ld_err(ld, item, "a policy rule needs both from and to");
		if (r->n_ports && (r->proto == 0 || r->proto == 1))
			ld_err(ld, item, "policy ports need proto tcp or udp");
		free(ps.p);
	}
}

/*
 * x-berth.nat_ports: "LO-HI", the source ports of masqueraded flows. Whether
 * it overlaps the host's ip_local_port_range is a fact of the instance's
 * namespace: `up` checks that.
 */
static void parse_nat_ports(struct loader *ld, yaml_node_t *n)
{
	const char *v = want_str(ld, n, "x-berth.nat_ports");
	uint16_t lo, hi;
	char *err;

	if (!v)
		return;
	err = port_parse_range(v, &lo, &hi);
	if (err) {
		ld_err(ld, n, "x-berth.nat_ports: %s", err);
		free(err);
		return;
	}
	if (lo < SPEC_NAT_PORT_MIN) {
		ld_err(ld, n, "x-berth.nat_ports %s must lie within %u-65535", v, SPEC_NAT_PORT_MIN);
		return;
	}
	ld->s->has_nat_ports = true;
	ld->s->nat_port_lo = lo;
	ld->s->nat_port_hi = hi;
	ld->s->nat_ports_loc = nloc(n);
}

static void parse_xberth_top(struct loader *ld, yaml_node_t *n)
{
	struct pairs ps = map_pairs(ld, n, "x-berth");

	for (size_t i = 0; i < ps.n; i++) {
		const char *k = scalar(ps.p[i].key);
		yaml_node_t *v = ps.p[i].val;
		long long ll;

		if (!strcmp(k, "dns_ttl")) {
			if (want_int(ld, v, "x-berth.dns_ttl", 0, 86400, &ll))
				ld->s->dns_ttl = (uint32_t)ll;
		} else if (!strcmp(k, "policy")) {
			parse_policy(ld, v);
		} else if (!strcmp(k, "nat_ports")) {
			parse_nat_ports(ld, v);
		} else if (!strcmp(k, "conntrack_max") || !strcmp(k, "nat_max")) {
			bool ct = k[0] == 'c';
			char what[32];

			snprintf(what, sizeof(what), "x-berth.%s", k);
			if (!want_int(ld, v, what, SPEC_MAP_SIZE_MIN, SPEC_MAP_SIZE_MAX, &ll))
				continue;
			*(ct ? &ld->s->ct_max : &ld->s->nat_max) = (uint32_t)ll;
			*(ct ? &ld->s->ct_max_loc : &ld->s->nat_max_loc) = nloc(v);
		} else {
			ld_err(ld, ps.p[i].key,
			       "unknown x-berth key \"%s\" at the top level (expected dns_ttl, policy, nat_ports, conntrack_max, nat_max)",
			       k);
		}
	}
	free(ps.p);
}

/* ---- networks ---- */

/* aux_addresses: {name: address} that IPAM must not hand out */
static void parse_aux(struct loader *ld, struct network *net, yaml_node_t *n)
{
	struct pairs ps = map_pairs(ld, n, "aux_addresses");

	for (size_t i = 0; i < ps.n; i++) {
		const char *v = want_str(ld, ps.p[i].val, "an aux address");
		struct aux_addr a = { .loc = nloc(ps.p[i].val) };

		if (!v)
			continue;
		if (!ipv4_parse(v, &a.addr)) {
			ld_err(ld, ps.p[i].val, "invalid aux address \"%s\" for %s", v,
			       scalar(ps.p[i].key));
			continue;
		}
		VEC_PUSH(net->aux, net->n_aux);
		net->aux[net->n_aux - 1] = a;
	}
	free(ps.p);
}

static void parse_ipam(struct loader *ld, struct network *net, yaml_node_t *n)
{
	struct pairs ps = map_pairs(ld, n, "ipam");

	for (size_t i = 0; i < ps.n; i++) {
		const char *k = scalar(ps.p[i].key);
		yaml_node_t *v = ps.p[i].val;

		if (strcmp(k, "config")) {
			ignore(ld, ps.p[i].key, "networks.%s.ipam.%s", net->key, k);
			continue;
		}
		if (is_null(v))
			continue;
		if (v->type != YAML_SEQUENCE_NODE) {
			ld_err(ld, v, "ipam.config must be a list");
			continue;
		}
		for (size_t j = 0; j < seq_len(v); j++) {
			yaml_node_t *c = seq_at(ld, v, j);
			struct pairs cs = map_pairs(ld, c, "an ipam.config entry");
			bool v6 = false;

			for (size_t m = 0; m < cs.n; m++)
				if (!strcmp(scalar(cs.p[m].key), "subnet") && scalar(cs.p[m].val) &&
				    strchr(scalar(cs.p[m].val), ':'))
					v6 = true;
			if (v6) {
				diag_add(ld->d, DIAG_WARNING, nloc(c),
					 "network %s: IPv6 subnet ignored (berth has no IPv6 yet)",
					 net->key);
				free(cs.p);
				continue;
			}
			for (size_t m = 0; m < cs.n; m++) {
				const char *ck = scalar(cs.p[m].key), *cv;
				yaml_node_t *val = cs.p[m].val;
				int err;

				if (!strcmp(ck, "subnet") || !strcmp(ck, "ip_range")) {
					bool sub = !strcmp(ck, "subnet");
					struct ipv4_prefix *pf = sub ? &net->subnet : &net->range;

					cv = want_str(ld, val, ck);
					if (!cv) {
						net->subnet_bad |= sub;
						continue;
					}
					if (sub ? net->has_subnet : net->has_range) {
						ld_err(ld, val,
						       "network %s: more than one IPv4 %s (berth supports one IPv4 subnet per network)",
						       net->key, ck);
						continue;
					}
					err = ipv4_prefix_parse(cv, pf);
					if (err && sub)
						net->subnet_bad = true;	/* keep dependent checks quiet */
					if (err == -EDOM) {
						char b[20];

						ld_err(ld, val, "%s %s has host bits set (did you mean %s?)",
						       ck, cv, ipv4_prefix_str(*pf, b));
						continue;
					} else if (err) {
						ld_err(ld, val, "invalid %s \"%s\": expected an IPv4 prefix such as 172.28.0.0/16",
						       ck, cv);
						continue;
					}
					if (sub) {
						net->has_subnet = true;
						net->subnet_loc = nloc(val);
					} else {
						net->has_range = true;
						net->range_loc = nloc(val);
					}
				} else if (!strcmp(ck, "aux_addresses")) {
					parse_aux(ld, net, val);
				} else if (!strcmp(ck, "gateway")) {
					cv = want_str(ld, val, "gateway");
					if (!cv)
						continue;
					if (net->has_gateway) {
						ld_err(ld, val, "network %s: more than one IPv4 gateway", net->key);
						continue;
					}
					if (!ipv4_parse(cv, &net->gateway)) {
						ld_err(ld, val, "invalid gateway \"%s\": expected an IPv4 address", cv);
						continue;
					}
					net->has_gateway = true;
					net->gateway_loc = nloc(val);
				} else {
					ignore(ld, cs.p[m].key, "networks.%s.ipam.config.%s", net->key, ck);
				}
			}
			free(cs.p);
		}
	}
	free(ps.p);
}

static void parse_network(struct loader *ld, yaml_node_t *key, yaml_node_t *n)
{
	struct network *net = VEC_PUSH(ld->s->nets, ld->s->n_nets);
	struct pairs ps;

	net->key = xstrdup(scalar(key));
	net->loc = nloc(key);
	net->icc = true;
	ps = map_pairs(ld, n, "a network");
	for (size_t i = 0; i < ps.n; i++) {
		const char *k = scalar(ps.p[i].key), *s;
		yaml_node_t *v = ps.p[i].val;
		bool b;

		if (!strcmp(k, "driver")) {
			s = want_str(ld, v, "driver");
			if (s && strcmp(s, "bridge"))
				ld_err(ld, v, "network %s: driver \"%s\" is not supported (berth builds bridge networks only)",
				       net->key, s);
		} else if (!strcmp(k, "internal")) {
			if (want_bool(ld, v, "internal", &b))
				net->internal = b;
		} else if (!strcmp(k, "name")) {
			s = want_str(ld, v, "name");
			if (s && !*s)
				ld_err(ld, v, "network name must not be empty");
			else if (s)
				net->name = xstrdup(s);
		} else if (!strcmp(k, "ipam")) {
			parse_ipam(ld, net, v);
		} else if (!strcmp(k, "external")) {
			if (want_bool(ld, v, "external", &b) && b)
				ld_err(ld, v, "network %s: external networks are not supported (berth creates every network it uses)",
				       net->key);
		} else if (!strcmp(k, "enable_ipv6")) {
			if (want_bool(ld, v, "enable_ipv6", &b) && b)
				diag_add(ld->d, DIAG_WARNING, nloc(v),
					 "network %s: enable_ipv6 ignored (berth has no IPv6 yet)", net->key);
		} else if (!strcmp(k, "x-berth")) {
			struct pairs xs = map_pairs(ld, v, "x-berth");

			for (size_t j = 0; j < xs.n; j++) {
				if (!strcmp(scalar(xs.p[j].key), "icc")) {
					if (want_bool(ld, xs.p[j].val, "x-berth.icc", &b))
						net->icc = b;
				} else {
					ld_err(ld, xs.p[j].key,
					       "unknown x-berth key \"%s\" on network %s (expected icc)",
					       scalar(xs.p[j].key), net->key);
				}
			}
			free(xs.p);
		} else {
			ignore(ld, ps.p[i].key, "networks.%s.%s", net->key, k);
		}
	}
	free(ps.p);
}

/* ---- services ---- */

static void parse_svc_networks(struct loader *ld, struct service *svc, yaml_node_t *n)
{
	if (n->type == YAML_SEQUENCE_NODE) {
		for (size_t i = 0; i < seq_len(n); i++) {
			yaml_node_t *it = seq_at(ld, n, i);
			const char *k = want_str(ld, it, "a network name");
			struct svc_net *sn;

			if (!k)
				continue;
			sn = VEC_PUSH(svc->nets, svc->n_nets);
			sn->key = xstrdup(k);
			sn->loc = nloc(it);
			sn->net = -1;
		}
		return;
	}
	struct pairs ps = map_pairs(ld, n, "networks");

	for (size_t i = 0; i < ps.n; i++) {
		struct svc_net *sn = VEC_PUSH(svc->nets, svc->n_nets);
		struct pairs as = map_pairs(ld, ps.p[i].val, "a service network");
		size_t na = 0;

		sn->key = xstrdup(scalar(ps.p[i].key));
		sn->loc = nloc(ps.p[i].key);
		sn->net = -1;
		for (size_t j = 0; j < as.n; j++) {
			const char *k = scalar(as.p[j].key), *s;
			yaml_node_t *v = as.p[j].val;
			long long ll;

			if (!strcmp(k, "aliases")) {
				if (v->type != YAML_SEQUENCE_NODE) {
					ld_err(ld, v, "aliases must be a list");
					continue;
				}
				for (size_t m = 0; m < seq_len(v); m++) {
					yaml_node_t *an = seq_at(ld, v, m);

					s = want_str(ld, an, "an alias");
					if (!s)
						continue;
					if (!*s) {
						ld_err(ld, an, "an alias must not be empty");
						continue;
					}
					sn->aliases = xrealloc(sn->aliases, (na + 2) * sizeof(char *));
					sn->aliases[na++] = xstrdup(s);
					sn->aliases[na] = NULL;
				}
			} else if (!strcmp(k, "ipv4_address")) {
				s = want_str(ld, v, "ipv4_address");
				if (!s)
					continue;
				if (!ipv4_parse(s, &sn->ipv4)) {
					ld_err(ld, v, "invalid ipv4_address \"%s\"", s);
					continue;
				}
				sn->has_ipv4 = true;
				sn->ipv4_loc = nloc(v);
			} else if (!strcmp(k, "priority")) {
				if (want_int(ld, v, "priority", -1000000, 1000000, &ll))
					sn->priority = (int)ll;
			} else {
				ignore(ld, as.p[j].key, "services.%s.networks.%s.%s", svc->name, sn->key, k);
			}
		}
		free(as.p);
	}
	free(ps.p);
}

static void add_port(struct loader *ld, struct service *svc, yaml_node_t *it, bool expose)
{
	struct port_spec p = { .loc = nloc(it) };
	const char *s = scalar(it);
	char *err = NULL;

	if (failed(ld, it))
		return;
	if (s) {
		err = expose ? port_parse_expose(s, &p) : port_parse_short(s, &p);
	} else if (it->type == YAML_MAPPING_NODE && !expose) {
		struct pairs ps = map_pairs(ld, it, "a port");
		bool has_target = false;

		for (size_t i = 0; i < ps.n && !err; i++) {
			const char *k = scalar(ps.p[i].key);
			yaml_node_t *v = ps.p[i].val;
			const char *vs = scalar(v);

			if (failed(ld, v))
				goto done;
			if (!vs && strcmp(k, "x-berth")) {
				ld_err(ld, v, "ports.%s must be a scalar", k);
				continue;
			}
			if (!strcmp(k, "target")) {
				err = port_parse_range(vs, &p.target_lo, &p.target_hi);
				has_target = true;
			} else if (!strcmp(k, "published")) {
				if (*vs)
					err = port_parse_range(vs, &p.host_lo, &p.host_hi);
			} else if (!strcmp(k, "host_ip")) {
				if (strchr(vs, ':'))
					err = xasprintf("IPv6 host_ip \"%s\": berth has no IPv6 yet", vs);
				else if (!ipv4_parse(vs, &p.host_ip))
					err = xasprintf("invalid host_ip \"%s\"", vs);
			} else if (!strcmp(k, "protocol")) {
				err = port_parse_proto(vs, &p.proto);
			} else if (!strcmp(k, "mode")) {
				if (!strcmp(vs, "host"))
					p.mode_host = true;
				else if (strcmp(vs, "ingress"))
					err = xasprintf("port mode must be host or ingress, not \"%s\"", vs);
			} else if (!strcmp(k, "name")) {
				p.name = xstrdup(vs);
			} else {
				ignore(ld, ps.p[i].key, "services.%s.ports.%s", svc->name, k);
			}
			if (err) {
				ld_err(ld, v, "%s", err);
				free(err);
				err = NULL;
				p.target_lo = 1; /* reported already */
				has_target = true;
				goto done;
			}
		}
		if (!has_target)
			err = xstrdup("a port in the long syntax needs a target");
		else
			err = port_check_lengths(&p);
	done:
		free(ps.p);
	} else {
		err = xasprintf("%s entries must be strings or numbers%s", expose ? "expose" : "ports",
				expose ? "" : ", or mappings in the long syntax");
	}
	if (err) {
		ld_err(ld, it, "%s", err);
		free(err);
		free(p.name);
		return;
	}
	if (expose) {
		VEC_PUSH(svc->expose, svc->n_expose);
		svc->expose[svc->n_expose - 1] = p;
	} else {
		VEC_PUSH(svc->ports, svc->n_ports);
		svc->ports[svc->n_ports - 1] = p;
	}
}

static void add_extra_host(struct loader *ld, struct service *svc, yaml_node_t *at,
			   const char *name, size_t nlen, const char *addr)
{
	struct extra_host h = { .loc = nloc(at) };

	if (!nlen) {
		ld_err(ld, at, "extra_hosts entry \"%s\" has no host name", addr);
		return;
	}
	if (!strcmp(addr, "host-gateway")) {
		h.host_gateway = true;
	} else if (strchr(addr, ':') || addr[0] == '[') {
		ld_err(ld, at, "extra_hosts: IPv6 address \"%s\" for %.*s: berth has no IPv6 yet",
		       addr, (int)nlen, name);
		return;
	} else if (!ipv4_parse(addr, &h.addr)) {
		ld_err(ld, at, "extra_hosts: invalid address \"%s\" for %.*s (expected an IPv4 address or host-gateway)",
		       addr, (int)nlen, name);
		return;
	}
	h.name = xstrndup(name, nlen);
	VEC_PUSH(svc->extra_hosts, svc->n_extra_hosts);
	svc->extra_hosts[svc->n_extra_hosts - 1] = h;
}

static void parse_extra_hosts(struct loader *ld, struct service *svc, yaml_node_t *n)
{
	if (n->type == YAML_SEQUENCE_NODE) {
		for (size_t i = 0; i < seq_len(n); i++) {
			yaml_node_t *it = seq_at(ld, n, i);
			const char *s = want_str(ld, it, "an extra_hosts entry"), *sep;

			if (!s)
				continue;
			/* "name:addr" or "name=addr"; names never hold ':' or '=' */
			sep = s + strcspn(s, ":=");
			if (!*sep) {
				ld_err(ld, it, "extra_hosts entry \"%s\" must be NAME:ADDRESS or NAME=ADDRESS", s);
				continue;
			}
			add_extra_host(ld, svc, it, s, (size_t)(sep - s), sep + 1);
		}
		return;
	}
	struct pairs ps = map_pairs(ld, n, "extra_hosts");

	for (size_t i = 0; i < ps.n; i++) {
		const char *k = scalar(ps.p[i].key);
		yaml_node_t *v = ps.p[i].val;

		if (v->type == YAML_SEQUENCE_NODE) {
			for (size_t j = 0; j < seq_len(v); j++) {
				const char *a = want_str(ld, seq_at(ld, v, j), "an address");

				if (a)
					add_extra_host(ld, svc, seq_at(ld, v, j), k, strlen(k), a);
			}
		} else if (want_str(ld, v, "an address")) {
			add_extra_host(ld, svc, v, k, strlen(k), scalar(v));
		}
	}
	free(ps.p);
}

static void parse_healthcheck(struct loader *ld, struct service *svc, yaml_node_t *n)
{
	struct pairs ps = map_pairs(ld, n, "healthcheck");
	struct healthcheck *h = xcalloc(1, sizeof(*h));

	h->loc = nloc(n);
	h->retries = 3;
	h->interval_ms = 30000;
	h->timeout_ms = 30000;
	svc->health = h;
	for (size_t i = 0; i < ps.n; i++) {
		const char *k = scalar(ps.p[i].key);
		yaml_node_t *v = ps.p[i].val;
		long long ll;
		bool b;

		if (!strcmp(k, "test")) {
			if (scalar(v)) {
				h->test = xcalloc(3, sizeof(char *));
				h->test[0] = xstrdup("CMD-SHELL");
				h->test[1] = xstrdup(scalar(v));
			} else if (v->type == YAML_SEQUENCE_NODE && seq_len(v)) {
				size_t m = seq_len(v);

				h->test = xcalloc(m + 1, sizeof(char *));
				for (size_t j = 0; j < m; j++) {
					const char *s = want_str(ld, seq_at(ld, v, j), "a test word");

					h->test[j] = xstrdup(s ? s : "");
				}
				if (strcmp(h->test[0], "NONE") && strcmp(h->test[0], "CMD") &&
				    strcmp(h->test[0], "CMD-SHELL"))
					ld_err(ld, seq_at(ld, v, 0),
					       "healthcheck test must start with NONE, CMD or CMD-SHELL, not \"%s\"",
					       h->test[0]);
			} else {
				ld_err(ld, v, "healthcheck test must be a string or a non-empty list");
			}
		} else if (!strcmp(k, "interval")) {
			want_duration(ld, v, "healthcheck interval", &h->interval_ms);
		} else if (!strcmp(k, "timeout")) {
			want_duration(ld, v, "healthcheck timeout", &h->timeout_ms);
		} else if (!strcmp(k, "start_period")) {
			want_duration(ld, v, "healthcheck start_period", &h->start_period_ms);
		} else if (!strcmp(k, "start_interval")) {
			want_duration(ld, v, "healthcheck start_interval", &h->start_interval_ms);
		} else if (!strcmp(k, "retries")) {
			if (want_int(ld, v, "healthcheck retries", 0, 1000000, &ll))
				h->retries = (int)ll;
		} else if (!strcmp(k, "disable")) {
			if (want_bool(ld, v, "healthcheck disable", &b))
				h->disable = b;
		} else {
			ignore(ld, ps.p[i].key, "services.%s.healthcheck.%s", svc->name, k);
		}
	}
	if (h->test && !strcmp(h->test[0], "NONE"))
		h->disable = true;
	free(ps.p);
}

static void parse_deploy(struct loader *ld, struct service *svc, yaml_node_t *n)
{
	struct pairs ps = map_pairs(ld, n, "deploy");

	for (size_t i = 0; i < ps.n; i++) {
		const char *k = scalar(ps.p[i].key), *s;
		yaml_node_t *v = ps.p[i].val;
		long long ll;

		if (!strcmp(k, "replicas")) {
			if (want_int(ld, v, "deploy.replicas", 0, BERTH_MAX_REPLICAS, &ll)) {
				svc->replicas = (int)ll;
				ld->replicas_set = true;
			}
		} else if (!strcmp(k, "endpoint_mode")) {
			s = want_str(ld, v, "endpoint_mode");
			if (s && !strcmp(s, "vip"))
				svc->ep_mode = EP_MODE_VIP;
			else if (s && !strcmp(s, "dnsrr"))
				svc->ep_mode = EP_MODE_DNSRR;
			else if (s)
				ld_err(ld, v, "endpoint_mode must be vip or dnsrr, not \"%s\"", s);
		} else {
			ignore(ld, ps.p[i].key, "services.%s.deploy.%s", svc->name, k);
		}
	}
	free(ps.p);
}

static void parse_service(struct loader *ld, yaml_node_t *key, yaml_node_t *n)
{
	struct service *svc = VEC_PUSH(ld->s->svcs, ld->s->n_svcs);
	yaml_node_t *nm_node = NULL, *nets_node = NULL, *scale_node = NULL;
	struct pairs ps;

	svc->name = xstrdup(scalar(key));
	svc->loc = nloc(key);
	svc->replicas = 1;
	ld->replicas_set = false;
	if (!*svc->name || !spec_service_name_valid(svc->name))
		ld_err(ld, key, "invalid service name \"%s\": use letters, digits, '.', '_' and '-', starting with a letter or digit",
		       svc->name);
	ps = map_pairs(ld, n, "a service");
	for (size_t i = 0; i < ps.n; i++) {
		const char *k = scalar(ps.p[i].key), *s;
		yaml_node_t *v = ps.p[i].val;

		if (!strcmp(k, "networks")) {
			if (is_null(v))
				continue;
			nets_node = ps.p[i].key;
			parse_svc_networks(ld, svc, v);
		} else if (!strcmp(k, "network_mode")) {
			s = want_str(ld, v, "network_mode");
			nm_node = ps.p[i].key;
			if (!s)
				continue;
			if (!strcmp(s, "host"))
				svc->mode = NET_MODE_HOST;
			else if (!strcmp(s, "none"))
				svc->mode = NET_MODE_NONE;
			else if (!strcmp(s, "bridge"))
				svc->mode = NET_MODE_BRIDGE;
			else if (!strncmp(s, "service:", 8) || !strncmp(s, "container:", 10))
				ld_err(ld, v, "network_mode \"%s\" is not supported: berth gives each service its own endpoint (use host, none or networks)",
				       s);
			else
				ld_err(ld, v, "unknown network_mode \"%s\" (expected host, none or bridge)", s);
		} else if (!strcmp(k, "deploy")) {
			parse_deploy(ld, svc, v);
		} else if (!strcmp(k, "scale")) {
			scale_node = v;
		} else if (!strcmp(k, "container_name")) {
			s = want_str(ld, v, "container_name");
			if (s && !spec_service_name_valid(s))
				ld_err(ld, v, "invalid container_name \"%s\": use letters, digits, '.', '_' and '-', starting with a letter or digit",
				       s);
			else if (s) {
				svc->container_name = xstrdup(s);
				svc->container_name_loc = nloc(v);
			}
		} else if (!strcmp(k, "ports") || !strcmp(k, "expose")) {
			bool expose = k[0] == 'e';

			if (is_null(v))
				continue;
			if (v->type != YAML_SEQUENCE_NODE) {
				ld_err(ld, v, "%s must be a list", k);
				continue;
			}
			for (size_t j = 0; j < seq_len(v); j++)
				add_port(ld, svc, seq_at(ld, v, j), expose);
		} else if (!strcmp(k, "extra_hosts")) {
			if (!is_null(v))
				parse_extra_hosts(ld, svc, v);
		} else if (!strcmp(k, "healthcheck")) {
			if (!is_null(v))
				parse_healthcheck(ld, svc, v);
		} else if (!strcmp(k, "x-berth")) {
			struct pairs xs = map_pairs(ld, v, "x-berth");

			for (size_t j = 0; j < xs.n; j++) {
				if (!strcmp(scalar(xs.p[j].key), "run")) {
					s = want_str(ld, xs.p[j].val, "x-berth.run");
					if (s && !*s)
						ld_err(ld, xs.p[j].val, "x-berth.run must not be empty");
					else if (s)
						svc->run = xstrdup(s);
				} else {
					ld_err(ld, xs.p[j].key,
					       "unknown x-berth key \"%s\" on service %s (expected run)",
					       scalar(xs.p[j].key), svc->name);
				}
			}
			free(xs.p);
		} else {
			ignore(ld, ps.p[i].key, "services.%s.%s", svc->name, k);
		}
	}
	if (scale_node) {
		long long ll;

		if (!want_int(ld, scale_node, "scale", 0, BERTH_MAX_REPLICAS, &ll))
			;
		else if (ld->replicas_set && ll != svc->replicas)
			ld_err(ld, scale_node, "service %s: scale %lld and deploy.replicas %d differ",
			       svc->name, ll, svc->replicas);
		else
			svc->replicas = (int)ll;
	}
	if (nm_node && nets_node)
		ld_err(ld, nm_node, "service %s: network_mode cannot be combined with networks", svc->name);
	if (svc->mode == NET_MODE_HOST && svc->n_ports)
		diag_add(ld->d, DIAG_ERROR, svc->ports[0].loc, "service %s: ports cannot be published with network_mode: host (the service already listens on the host)",
		       svc->name);
	free(ps.p);
}

/* ---- the document ---- */

static void parse_top(struct loader *ld, yaml_node_t *root)
{
	struct pairs ps = map_pairs(ld, root, "a compose file");
	yaml_node_t *nets = NULL, *svcs = NULL;

	for (size_t i = 0; i < ps.n; i++) {
		const char *k = scalar(ps.p[i].key);
		yaml_node_t *v = ps.p[i].val;

		if (!strcmp(k, "services")) {
			svcs = v;
		} else if (!strcmp(k, "networks")) {
			nets = v;
		} else if (!strcmp(k, "name")) {
			const char *s = want_str(ld, v, "name");

			if (s && !ld->s->project) {
				if (!spec_project_name_valid(s))
					ld_err(ld, v, "invalid project name \"%s\": use lowercase letters, digits, '-' and '_', starting with a letter or digit",
					       s);
				ld->s->project = xstrdup(s);
				ld->s->project_loc = nloc(v);
			}
		} else if (!strcmp(k, "x-berth")) {
			parse_xberth_top(ld, v);
		} else {
			ignore(ld, ps.p[i].key, "%s", k);
		}
	}
	if (nets) {
		struct pairs ns = map_pairs(ld, nets, "networks");

		ld->nets_bad = !is_null(nets) && nets->type != YAML_MAPPING_NODE;
		for (size_t i = 0; i < ns.n; i++)
			parse_network(ld, ns.p[i].key, ns.p[i].val);
		free(ns.p);
	}
	if (svcs) {
		struct pairs ss = map_pairs(ld, svcs, "services");

		for (size_t i = 0; i < ss.n; i++)
			parse_service(ld, ss.p[i].key, ss.p[i].val);
		if (!ss.n && (is_null(svcs) || svcs->type == YAML_MAPPING_NODE))
			ld_err(ld, svcs, "services is empty: a compose file needs at least one service");
		free(ss.p);
	} else {
		ld_err(ld, root, "no services: a compose file needs a services section");
	}
	free(ps.p);
}

static void yaml_error(struct loader *ld, yaml_parser_t *p)
{
	const yaml_mark_t *m = p->problem ? &p->problem_mark : &p->context_mark;

	diag_add(ld->d, DIAG_ERROR,
		 (struct loc){ .line = (int)m->line + 1, .col = (int)m->column + 1 },
		 "YAML syntax: %s%s%s", p->problem ? p->problem : "malformed document",
		 p->context ? " " : "", p->context ? p->context : "");
}

struct spec *spec_load_buffer(const char *buf, size_t len, const char *file,
			      const struct spec_opts *opts, struct diag *d)
{
	struct loader ld = { .d = d, .opts = opts };
	yaml_parser_t parser;
	yaml_node_t *root;
	struct spec *s;
	int bad_line;

	diag_set_file(d, file);
	s = ld.s = xcalloc(1, sizeof(*s));
	s->file = xstrdup(file);
	if (opts->project) {
		if (!spec_project_name_valid(opts->project))
			diag_add(d, DIAG_ERROR, (struct loc){ 0 },
				 "invalid project name \"%s\": use lowercase letters, digits, '-' and '_', starting with a letter or digit",
				 opts->project);
		s->project = xstrdup(opts->project);
	}
	ld.env.env = opts->env;
	if (opts->dotenv) {
		ld.env.dotenv = dotenv_parse(opts->dotenv, &bad_line);
		if (bad_line) {
			diag_set_file(d, opts->dotenv_name ? opts->dotenv_name : ".env");
			diag_add(d, DIAG_WARNING, (struct loc){ bad_line, 1 },
				 "not a KEY=VALUE line: skipped");
			diag_set_file(d, file);
		}
	}

	if (!yaml_parser_initialize(&parser))
		abort();
	yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
	if (!yaml_parser_load(&parser, &ld.doc)) {
		yaml_error(&ld, &parser);
		yaml_parser_delete(&parser);
		goto out;
	}
	root = yaml_document_get_root_node(&ld.doc);
	if (!root) {
		diag_add(d, DIAG_ERROR, (struct loc){ 1, 1 }, "empty compose file");
	} else {
		yaml_document_t next;

		/* one document per file, as compose reads it */
		if (yaml_parser_load(&parser, &next)) {
			if (yaml_document_get_root_node(&next))
				diag_add(d, DIAG_ERROR,
					 (struct loc){ (int)next.start_mark.line + 1,
						       (int)next.start_mark.column + 1 },
					 "more than one YAML document in a compose file");
			yaml_document_delete(&next);
		} else {
			yaml_error(&ld, &parser);
		}
		ld.visited = xcalloc((size_t)(ld.doc.nodes.top - ld.doc.nodes.start), 1);
		interp_node(&ld, root, 0);
		/*
		 * Go on after errors so that one run reports them all: a value
		 * that failed to parse is left out of the model, never half-set.
		 */
		parse_top(&ld, root);
		spec_resolve(&ld);
		if (ld.s->project)
			spec_validate(&ld);
	}
	yaml_document_delete(&ld.doc);
	yaml_parser_delete(&parser);
	if (!d->n_errors)
		spec_ipam(&ld);
out:
	strv_free(ld.env.dotenv);
	free(ld.visited);
	if (d->n_errors) {
		spec_free(s);
		return NULL;
	}
	return s;
}

static char *read_all(const char *path, size_t *len, int *err)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t cap = 0, n = 0, r;
	struct stat st;

	if (!f) {
		*err = errno;
		return NULL;
	}
	if (!fstat(fileno(f), &st) && S_ISDIR(st.st_mode)) {
		fclose(f);
		*err = EISDIR;
		return NULL;
	}
	do {
		if (n + 4096 > cap) {
			cap = (n + 4096) * 2;
			buf = xrealloc(buf, cap);
		}
		r = fread(buf + n, 1, cap - n - 1, f);
		n += r;
	} while (r > 0);
	*err = ferror(f) ? EIO : 0;
	fclose(f);
	if (*err) {
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	*len = n;
	return buf;
}

struct spec *spec_load_file(const char *file, const struct spec_opts *opts, struct diag *d)
{
	struct spec_opts o = *opts;
	char *buf, *dotenv = NULL, *dir, *envpath, *slash;
	struct spec *s = NULL;
	size_t len, elen;
	int err;

	diag_set_file(d, file);
	buf = read_all(file, &len, &err);
	if (!buf) {
		diag_add(d, DIAG_ERROR, (struct loc){ 0 }, "cannot read the compose file: %s",
			 strerror(err));
		return NULL;
	}
	dir = xstrdup(file);
	slash = strrchr(dir, '/');
	if (slash)
		slash[1] = '\0';
	envpath = xasprintf("%s.env", slash ? dir : "");
	dotenv = read_all(envpath, &elen, &err);
	if (dotenv) {
		o.dotenv = dotenv;
		o.dotenv_name = envpath;
	} else if (err != ENOENT) {
		diag_add(d, DIAG_WARNING, (struct loc){ 0 }, "cannot read %s: %s", envpath,
			 strerror(err));
	}
	if (!o.project) {
		/* the project name when the file has no `name:` */
		char *abs = realpath(file, NULL), *base;

		if (abs) {
			slash = strrchr(abs, '/');
			*slash = '\0';
			base = strrchr(abs, '/');
			o.default_project = spec_project_name_normalize(base ? base + 1 : abs);
			free(abs);
		}
	}
	if (memchr(buf, '\0', len)) {
		diag_add(d, DIAG_ERROR, (struct loc){ 0 }, "the compose file contains a NUL byte");
	} else {
		s = spec_load_buffer(buf, len, file, &o, d);
	}
	free((char *)o.default_project);
	free(dotenv);
	free(envpath);
	free(dir);
	free(buf);
	return s;
}

static void port_specs_free(struct port_spec *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(p[i].name);
	free(p);
}

void spec_free(struct spec *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n_svcs; i++) {
		struct service *svc = &s->svcs[i];

		for (size_t j = 0; j < svc->n_nets; j++) {
			free(svc->nets[j].key);
			strv_free(svc->nets[j].aliases);
		}
		free(svc->nets);
		port_specs_free(svc->ports, svc->n_ports);
		port_specs_free(svc->expose, svc->n_expose);
		for (size_t j = 0; j < svc->n_extra_hosts; j++)
			free(svc->extra_hosts[j].name);
		free(svc->extra_hosts);
		if (svc->health)
			strv_free(svc->health->test);
		free(svc->health);
		free(svc->name);
		free(svc->container_name);
		free(svc->run);
	}
	free(s->svcs);
	for (size_t i = 0; i < s->n_nets; i++) {
		free(s->nets[i].key);
		free(s->nets[i].name);
		free(s->nets[i].aux);
	}
	free(s->nets);
	for (size_t i = 0; i < s->n_eps; i++) {
		free(s->eps[i].name);
		free(s->eps[i].addrs);
	}
	free(s->eps);
	for (size_t i = 0; i < s->n_policy; i++) {
		free(s->policy[i].from);
		free(s->policy[i].to);
		free(s->policy[i].ports);
	}
	free(s->policy);
	for (size_t i = 0; i < s->n_ignored; i++)
		free(s->ignored[i].path);
	free(s->ignored);
	free(s->project);
	free(s->file);
	free(s);
}
