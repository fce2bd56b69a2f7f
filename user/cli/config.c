// SPDX-License-Identifier: GPL-2.0-only
/* berth config: the model berth would apply, like `docker compose config`. */
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "ipv4.h"
#include "print.h"
#include "util.h"

static void print_range(struct printer *p, const char *key, uint16_t lo, uint16_t hi)
{
	char buf[16];

	if (!lo) {
		pr_str(p, key, NULL);
		return;
	}
	if (lo == hi)
		snprintf(buf, sizeof(buf), "%u", lo);
	else
		snprintf(buf, sizeof(buf), "%u-%u", lo, hi);
	pr_str(p, key, buf);
}

static void print_ports(struct printer *p, const char *key, const struct port_spec *ps, size_t n,
			bool published)
{
	char a[16];

	if (!n)
		return;
	pr_arr_open(p, key);
	for (size_t i = 0; i < n; i++) {
		pr_obj_open(p, NULL);
		pr_int(p, "line", ps[i].loc.line);
		if (published) {
			pr_str(p, "host_ip", ipv4_str(ps[i].host_ip, a));
			/* null: a random host port for each target port */
			print_range(p, "published", ps[i].host_lo, ps[i].host_hi);
			pr_bool(p, "first_free", ps[i].n_to_one);
		}
		print_range(p, "target", ps[i].target_lo, ps[i].target_hi);
		pr_str(p, "protocol", port_proto_name(ps[i].proto));
		if (published)
			pr_str(p, "mode", ps[i].mode_host ? "host" : "ingress");
		if (ps[i].name)
			pr_str(p, "name", ps[i].name);
		pr_obj_close(p);
	}
	pr_arr_close(p);
}

static void print_networks(struct printer *p, const struct spec *s)
{
	char b[20];

	pr_arr_open(p, "networks");
	for (size_t i = 0; i < s->n_nets; i++) {
		const struct network *n = &s->nets[i];

		pr_obj_open(p, NULL);
		pr_str(p, "key", n->key);
		pr_str(p, "name", n->name);
		pr_str(p, "subnet", ipv4_prefix_str(n->subnet, b));
		pr_bool(p, "subnet_auto", n->subnet_auto);
		pr_str(p, "gateway", ipv4_str(n->gateway, b));
		pr_str(p, "ip_range", n->has_range ? ipv4_prefix_str(n->range, b) : NULL);
		pr_bool(p, "internal", n->internal);
		pr_bool(p, "icc", n->icc);
		pr_obj_close(p);
	}
	pr_arr_close(p);
}

static const char *mode_name(enum net_mode m)
{
	return m == NET_MODE_HOST ? "host" : m == NET_MODE_NONE ? "none" : "bridge";
}

static void print_health(struct printer *p, const struct healthcheck *h)
{
	pr_obj_open(p, "healthcheck");
	pr_bool(p, "disable", h->disable);
	if (h->test) {
		pr_arr_open(p, "test");
		for (char **t = h->test; *t; t++)
			pr_str(p, NULL, *t);
		pr_arr_close(p);
	}
	pr_int(p, "interval_ms", (int64_t)h->interval_ms);
	pr_int(p, "timeout_ms", (int64_t)h->timeout_ms);
	pr_int(p, "start_period_ms", (int64_t)h->start_period_ms);
	pr_int(p, "retries", h->retries);
	pr_obj_close(p);
}

static void print_service(struct printer *p, const struct spec *s, const struct service *svc)
{
	char a[16];

	pr_obj_open(p, NULL);
	pr_str(p, "name", svc->name);
	pr_str(p, "network_mode", mode_name(svc->mode));
	pr_int(p, "replicas", svc->replicas);
	pr_str(p, "endpoint_mode", svc->ep_mode == EP_MODE_DNSRR ? "dnsrr" : "vip");
	if (svc->container_name)
		pr_str(p, "container_name", svc->container_name);
	if (svc->run)
		pr_str(p, "run", svc->run);
	pr_arr_open(p, "networks");
	for (size_t j = 0; j < svc->n_nets; j++) {
		const struct svc_net *sn = &svc->nets[j];

		pr_obj_open(p, NULL);
		pr_str(p, "key", sn->key);
		pr_str(p, "name", s->nets[sn->net].name);
		pr_str(p, "ipv4_address", sn->has_ipv4 ? ipv4_str(sn->ipv4, a) : NULL);
		pr_arr_open(p, "aliases");
		for (char **al = sn->aliases; al && *al; al++)
			pr_str(p, NULL, *al);
		pr_arr_close(p);
		pr_obj_close(p);
	}
	pr_arr_close(p);
	print_ports(p, "ports", svc->ports, svc->n_ports, true);
	print_ports(p, "expose", svc->expose, svc->n_expose, false);
	if (svc->n_extra_hosts) {
		pr_arr_open(p, "extra_hosts");
		for (size_t j = 0; j < svc->n_extra_hosts; j++) {
			const struct extra_host *h = &svc->extra_hosts[j];

			pr_obj_open(p, NULL);
			pr_str(p, "host", h->name);
			pr_str(p, "address", h->host_gateway ? "host-gateway" : ipv4_str(h->addr, a));
			pr_obj_close(p);
		}
		pr_arr_close(p);
	}
	if (svc->health)
		print_health(p, svc->health);
	pr_obj_close(p);
}

static void print_endpoints(struct printer *p, const struct spec *s)
{
	char a[16];

	pr_arr_open(p, "endpoints");
	for (size_t i = 0; i < s->n_eps; i++) {
		const struct endpoint *ep = &s->eps[i];
		const struct service *svc = &s->svcs[ep->svc];

		pr_obj_open(p, NULL);
		pr_str(p, "name", ep->name);
		pr_str(p, "service", svc->name);
		pr_int(p, "replica", ep->replica);
		pr_str(p, "network_mode", mode_name(svc->mode));
		pr_arr_open(p, "networks");
		for (size_t j = 0; j < ep->n_addrs; j++) {
			const struct endpoint_addr *ea = &ep->addrs[j];

			pr_obj_open(p, NULL);
			pr_str(p, "name", s->nets[ea->net].name);
			pr_str(p, "key", s->nets[ea->net].key);
			pr_str(p, "ipv4", ipv4_str(ea->ipv4, a));
			pr_obj_close(p);
		}
		pr_arr_close(p);
		pr_obj_close(p);
	}
	pr_arr_close(p);
}

static void print_policy(struct printer *p, const struct spec *s)
{
	static const char *const proto[] = { [0] = "any", [1] = "icmp", [6] = "tcp", [17] = "udp" };

	if (!s->n_policy)
		return;
	pr_arr_open(p, "policy");
	for (size_t i = 0; i < s->n_policy; i++) {
		const struct policy_rule *r = &s->policy[i];

		pr_obj_open(p, NULL);
		pr_str(p, "from", r->from);
		pr_str(p, "to", r->to);
		pr_str(p, "proto", proto[r->proto]);
		pr_arr_open(p, "ports");
		for (size_t j = 0; j < r->n_ports; j++)
			print_range(p, NULL, r->ports[j].lo, r->ports[j].hi);
		pr_arr_close(p);
		pr_obj_close(p);
	}
	pr_arr_close(p);
}

int do_config(struct cli *c)
{
	struct printer p;
	struct spec *s;

	if (c->argc) {
		fprintf(stderr, "berth: config takes no operands (got \"%s\")\n", c->argv[0]);
		return EXIT_USER;
	}
	s = cli_load_spec(c);
	if (!s)
		return EXIT_USER;
	pr_init(&p, c->json, stdout);
	pr_obj_open(&p, NULL);
	pr_str(&p, "name", s->project);
	pr_str(&p, "file", s->file);
	pr_int(&p, "dns_ttl", s->dns_ttl);
	/* instance settings: left out when the file does not set them */
	if (s->has_nat_ports)
		print_range(&p, "nat_ports", s->nat_port_lo, s->nat_port_hi);
	if (s->ct_max)
		pr_int(&p, "conntrack_max", s->ct_max);
	if (s->nat_max)
		pr_int(&p, "nat_max", s->nat_max);
	print_networks(&p, s);
	pr_arr_open(&p, "services");
	for (size_t i = 0; i < s->n_svcs; i++)
		print_service(&p, s, &s->svcs[i]);
	pr_arr_close(&p);
	print_endpoints(&p, s);
	print_policy(&p, s);
	if (c->verbose && c->json) {
		pr_arr_open(&p, "ignored");
		for (size_t i = 0; i < s->n_ignored; i++)
			pr_str(&p, NULL, s->ignored[i].path);
		pr_arr_close(&p);
	}
	pr_obj_close(&p);
	pr_end(&p);
	spec_free(s);
	return EXIT_OK;
}
