// SPDX-License-Identifier: GPL-2.0-only
/*
 * berth up, down, ps, network, exec, logs, dns, port and stats: the commands
 * that act on a project applied to an instance.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "agent.h"
#include "apply.h"
#include "cli.h"
#include "dp.h"
#include "dns.h"
#include "instance.h"
#include "jsonx.h"
#include "names.h"
#include "ports.h"
#include "print.h"
#include "proc.h"
#include "publish.h"
#include "util.h"

static int fail(const struct cli *c, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(const struct cli *c, int code, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	pr_error(c->json, msg);
	free(msg);
	return code;
}

/*
 * The project a command means, as `config` finds it: -p; else the name of the
 * compose file (-f, or one in the current directory); else the only project
 * of the instance (of --host-netns, else the machine's; else the only one
 * berth has at all).
 */
static int resolve_project(const struct cli *c, char *project, size_t size, char *inst,
			   size_t isize)
{
	const char *want_inst = c->host_netns ? c->host_netns : "host";
	int err;

	if (c->project) {
		snprintf(project, size, "%s", c->project);
	} else if (cli_compose_file(c)) {
		struct spec *s = cli_load_spec(c);

		if (!s)
			return EXIT_USER;
		snprintf(project, size, "%s", s->project);
		spec_free(s);
	} else {
		err = registry_only_project(want_inst, project, size);
		if (err == -ENOENT && !c->host_netns)
			err = registry_only_project(NULL, project, size);
		if (err == -E2BIG)
			return fail(c, EXIT_USER, "berth: several projects are up%s%s: say which with -p",
				    c->host_netns ? " on instance " : "",
				    c->host_netns ? c->host_netns : "");
		if (err)
			return fail(c, EXIT_USER, "berth: no project is up on instance %s", want_inst);
	}
	err = registry_lookup(project, inst, isize);
	if (err)
		return fail(c, EXIT_USER, "berth: project %s is not up", project);
	if (c->host_netns && strcmp(c->host_netns, inst))
		return fail(c, EXIT_USER, "berth: project %s is up on instance %s, not %s", project,
			    inst, c->host_netns);
	return EXIT_OK;
}

/* Open the instance of @inst ("host" or a namespace) and settle a half-done apply. */
static int open_instance(const struct cli *c, struct instance *in, const char *inst)
{
	struct apply_opts o = { .verbose = c->verbose > 0, .quiet = c->json };
	int err;

	if (geteuid() != 0)
		return fail(c, EXIT_SYSTEM, "berth: this command needs root (CAP_NET_ADMIN, CAP_SYS_ADMIN, CAP_BPF)");
	err = instance_open(in, strcmp(inst, "host") ? inst : NULL);
	if (err) {
		instance_close(in);
		return err == -ENOENT || err == -EINVAL ? EXIT_USER : EXIT_SYSTEM;
	}
	err = apply_recover(in, &o);
	if (err) {
		instance_close(in);
		return fail(c, EXIT_SYSTEM, "berth: recover the journal of instance %s: %s", in->name,
			    strerror(-err));
	}
	return EXIT_OK;
}

int do_up(struct cli *c)
{
	struct apply_opts o = { .verbose = c->verbose > 0, .quiet = c->json, .dns = c->dns,
				.n_dns = c->n_dns, .uplink = c->uplink, .ct_max = c->ct_max,
				.nat_max = c->nat_max };
	struct spec_prior_net *pn = NULL;
	struct spec_prior_addr *pa = NULL;
	struct spec *s = NULL, *first;
	struct instance in;
	int rc, err;

	if (c->argc)
		return fail(c, EXIT_USER, "berth: up takes no operands (got \"%s\")", c->argv[0]);
	/* the file first: a bad spec changes nothing, not even the instance directories */
	first = cli_load_spec(c);
	if (!first)
		return EXIT_USER;
	rc = open_instance(c, &in, c->host_netns ? c->host_netns : "host");
	if (rc) {
		spec_free(first);
		return rc;
	}
	/* again, inside the host namespace and with what earlier runs allocated */
	{
		struct cli_load_opts lo = { 0 };
		struct ipv4_prefix *taken;

		state_prior(&in, first->project, &pn, &lo.n_prior_nets, &pa, &lo.n_prior_addrs);
		state_other_subnets(&in, first->project, &taken, &lo.n_taken);
		lo.taken = taken;
		lo.prior_nets = pn;
		lo.prior_addrs = pa;
		lo.project = first->project;
		lo.quiet = true;
		s = cli_load_spec_opts(c, &lo);
		free(taken);
	}
	spec_free(first);
	if (!s) {
		rc = EXIT_USER;
		goto out;
	}
	err = apply_up(&in, s, &o);
	if (err) {
		rc = err == APPLY_USER_ERROR ? EXIT_USER : EXIT_SYSTEM;
		if (c->json)
			printf("{\"error\":\"berth: up %s failed (the reason is on stderr)\"}\n",
			       s->project);
		goto out;
	}
	if (!c->json)
		fprintf(stderr, "berth: project %s is up: %zu endpoint%s, %zu network%s (instance %s)\n",
			s->project, s->n_eps, s->n_eps == 1 ? "" : "s", s->n_nets,
			s->n_nets == 1 ? "" : "s", in.name);
	rc = EXIT_OK;
	if (c->json) {
		struct printer p;

		pr_init(&p, true, stdout);
		pr_obj_open(&p, NULL);
		pr_str(&p, "project", s->project);
		pr_str(&p, "instance", in.name);
		pr_int(&p, "endpoints", (int64_t)s->n_eps);
		pr_int(&p, "networks", (int64_t)s->n_nets);
		pr_obj_close(&p);
		pr_end(&p);
	}
out:
	free(pn);
	free(pa);
	spec_free(s);
	instance_close(&in);
	return rc;
}

int do_down(struct cli *c)
{
	struct apply_opts o = { .verbose = c->verbose > 0, .quiet = c->json };
	char project[256], inst[256];
	struct instance in;
	int rc, err;

	if (c->argc)
		return fail(c, EXIT_USER, "berth: down takes no operands (got \"%s\")", c->argv[0]);
	rc = resolve_project(c, project, sizeof(project), inst, sizeof(inst));
	if (rc)
		return rc;
	rc = open_instance(c, &in, inst);
	if (rc)
		return rc;
	err = apply_down(&in, project, &o);
	if (err) {
		rc = fail(c, EXIT_SYSTEM, "berth: down %s: %s", project, strerror(-err));
	} else if (c->json) {
		printf("{\"project\": \"%s\", \"removed\": true}\n", project);
	} else {
		fprintf(stderr, "berth: project %s is down\n", project);
	}
	instance_close(&in);
	return rc;
}

/* Load the state of the resolved project, then let the lock go. */
static int load_project(const struct cli *c, char *project, size_t size, char *inst,
			size_t isize, struct json_object **state)
{
	struct instance in;
	struct json_object *p;
	int rc;

	rc = resolve_project(c, project, size, inst, isize);
	if (rc)
		return rc;
	rc = open_instance(c, &in, inst);
	if (rc)
		return rc;
	p = state_project(&in, project);
	*state = p ? json_object_get(p) : NULL;
	instance_close(&in);
	if (!*state)
		return fail(c, EXIT_USER, "berth: project %s has no state on instance %s", project,
			    inst);
	return EXIT_OK;
}

static void print_endpoint(struct printer *p, struct json_object *st, struct json_object *e)
{
	struct json_object *ifs = jarr_get(e, "interfaces"), *ports = jarr_get(st, "ports");
	const char *cg = jstr(e, "cgroup");
	bool published = false;

	pr_obj_open(p, NULL);
	pr_str(p, "service", jstr(e, "service"));
	pr_int(p, "replica", json_object_get_int(json_object_object_get(e, "replica")));
	pr_str(p, "name", jstr(e, "name"));
	pr_str(p, "namespace", jstr(e, "namespace"));
	pr_str(p, "network_mode", jstr(e, "mode"));
	if (cg) {
		pid_t pids[1];
		int n = proc_cgroup_pids(cg, pids, 1);

		pr_int(p, "processes", n > 0 ? n : 0);
	}
	pr_arr_open(p, "networks");
	for (size_t i = 0; i < jlen(ifs); i++) {
		struct json_object *f = json_object_array_get_idx(ifs, i);

		pr_obj_open(p, NULL);
		pr_str(p, "name", jstr(f, "network"));
		pr_str(p, "key", jstr(f, "key"));
		pr_str(p, "interface", jstr(f, "interface"));
		pr_str(p, "ipv4", jstr(f, "ipv4"));
		pr_str(p, "mac", jstr(f, "mac"));
		pr_str(p, "host_interface", jstr(f, "host_interface"));
		pr_obj_close(p);
	}
	pr_arr_close(p);
	/* the published ports it answers (replica 1 of its service), as docker ps shows them */
	for (size_t i = 0; i < jlen(ports); i++) {
		struct json_object *b = json_object_array_get_idx(ports, i);
		struct berth_port_key k;
		struct port_run r;
		char text[64];

		if (!jstr(b, "endpoint") || strcmp(jstr(b, "endpoint"), jstr(e, "name")) ||
		    pub_state_run(b, &k, &r))
			continue;
		if (!published)
			pr_arr_open(p, "ports");
		published = true;
		for (uint32_t j = 0; j < r.count; j++) {
			snprintf(text, sizeof(text), "%s:%u->%u/%s", jstr(b, "host_ip"),
				 r.host_port + j, r.target + j, jstr(b, "protocol"));
			pr_str(p, NULL, text);
		}
	}
	if (published)
		pr_arr_close(p);
	pr_obj_close(p);
}

int do_ps(struct cli *c)
{
	char project[256], inst[256];
	struct json_object *st, *eps;
	struct printer p;
	int rc;

	if (c->argc)
		return fail(c, EXIT_USER, "berth: ps takes no operands (got \"%s\")", c->argv[0]);
	rc = load_project(c, project, sizeof(project), inst, sizeof(inst), &st);
	if (rc)
		return rc;
	eps = jarr_get(st, "endpoints");
	pr_init(&p, c->json, stdout);
	pr_arr_open(&p, NULL);
	for (size_t i = 0; i < jlen(eps); i++)
		print_endpoint(&p, st, json_object_array_get_idx(eps, i));
	pr_arr_close(&p);
	pr_end(&p);
	json_object_put(st);
	return EXIT_OK;
}

static void print_network(struct printer *p, struct json_object *st, struct json_object *n,
			  bool with_endpoints)
{
	struct json_object *eps = jarr_get(st, "endpoints");
	const char *name = jstr(n, "name");
	int count = 0;

	pr_obj_open(p, NULL);
	pr_str(p, "name", name);
	pr_str(p, "key", jstr(n, "key"));
	pr_str(p, "subnet", jstr(n, "subnet"));
	pr_str(p, "gateway", jstr(n, "gateway"));
	pr_str(p, "ip_range", jstr(n, "ip_range"));
	pr_bool(p, "internal", json_object_get_boolean(json_object_object_get(n, "internal")));
	pr_bool(p, "icc", json_object_get_boolean(json_object_object_get(n, "icc")));
	if (with_endpoints)
		pr_arr_open(p, "endpoints");
	for (size_t i = 0; i < jlen(eps); i++) {
		struct json_object *e = json_object_array_get_idx(eps, i), *ifs = jarr_get(e, "interfaces");

		for (size_t j = 0; j < jlen(ifs); j++) {
			struct json_object *f = json_object_array_get_idx(ifs, j);

			if (strcmp(jstr(f, "network"), name))
				continue;
			count++;
			if (!with_endpoints)
				continue;
			pr_obj_open(p, NULL);
			pr_str(p, "name", jstr(e, "name"));
			pr_str(p, "service", jstr(e, "service"));
			pr_str(p, "interface", jstr(f, "interface"));
			pr_str(p, "ipv4", jstr(f, "ipv4"));
			pr_str(p, "mac", jstr(f, "mac"));
			pr_obj_close(p);
		}
	}
	if (with_endpoints)
		pr_arr_close(p);
	else
		pr_int(p, "endpoints", count);
	pr_obj_close(p);
}

int do_network(struct cli *c)
{
	struct json_object *st, *nets;
	char project[256], inst[256];
	struct printer p;
	bool inspect;
	int rc, found = 0;

	if (!c->argc || (strcmp(c->argv[0], "ls") && strcmp(c->argv[0], "inspect")))
		return fail(c, EXIT_USER, "berth: usage: berth network ls | berth network inspect NAME");
	inspect = !strcmp(c->argv[0], "inspect");
	if (inspect && c->argc != 2)
		return fail(c, EXIT_USER, "berth: usage: berth network inspect NAME");
	rc = load_project(c, project, sizeof(project), inst, sizeof(inst), &st);
	if (rc)
		return rc;
	nets = jarr_get(st, "networks");
	pr_init(&p, c->json, stdout);
	if (!inspect)
		pr_arr_open(&p, NULL);
	for (size_t i = 0; i < jlen(nets); i++) {
		struct json_object *n = json_object_array_get_idx(nets, i);

		/* a network answers to its full name and to its compose key */
		if (inspect && strcmp(jstr(n, "name"), c->argv[1]) && strcmp(jstr(n, "key"), c->argv[1]))
			continue;
		found++;
		print_network(&p, st, n, inspect);
		if (inspect)
			break;
	}
	if (!inspect)
		pr_arr_close(&p);
	pr_end(&p);
	json_object_put(st);
	if (inspect && !found)
		return fail(c, EXIT_USER, "berth: project %s has no network %s", project, c->argv[1]);
	return EXIT_OK;
}

/* SERVICE[.N] → the endpoint's state entry (replica 1 when .N is omitted). */
static struct json_object *find_endpoint(struct json_object *st, const char *target)
{
	struct json_object *eps = jarr_get(st, "endpoints");
	const char *dot = strrchr(target, '.');
	char svc[256];
	long replica = 1;

	if (strlen(target) >= sizeof(svc))
		return NULL;
	snprintf(svc, sizeof(svc), "%s", target);
	if (dot && dot[1] && strspn(dot + 1, "0123456789") == strlen(dot + 1)) {
		replica = strtol(dot + 1, NULL, 10);
		svc[dot - target] = '\0';
	}
	for (size_t i = 0; i < jlen(eps); i++) {
		struct json_object *e = json_object_array_get_idx(eps, i);

		if (!strcmp(jstr(e, "service"), svc) &&
		    json_object_get_int(json_object_object_get(e, "replica")) == replica)
			return e;
		/* a container_name works too */
		if (!strcmp(jstr(e, "name"), target))
			return e;
	}
	return NULL;
}

int do_exec(struct cli *c)
{
	char project[256], inst[256], **argv;
	struct json_object *st, *e;
	const char *ns;
	int rc, first = 1;

	if (c->argc < 2)
		return fail(c, 125, "berth: usage: berth exec [-p PROJECT] SERVICE[.N] -- CMD [ARGS...]");
	if (!strcmp(c->argv[1], "--"))
		first = 2;
	if (first >= c->argc)
		return fail(c, 125, "berth: exec: no command given");
	rc = load_project(c, project, sizeof(project), inst, sizeof(inst), &st);
	if (rc)
		return 125;
	e = find_endpoint(st, c->argv[0]);
	if (!e) {
		json_object_put(st);
		return fail(c, 125, "berth: exec: project %s has no endpoint %s", project, c->argv[0]);
	}
	/* network_mode: host runs in the instance's host namespace */
	ns = jstr(e, "namespace");
	if (!ns && strcmp(inst, "host"))
		ns = inst;
	argv = c->argv + first;
	rc = proc_exec(ns, argv);
	json_object_put(st);
	return rc;
}

static int cat_log(const char *name, const char *path, bool prefix)
{
	char line[4096];
	FILE *f = fopen(path, "re");

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (prefix)
			printf("%s | ", name);
		fputs(line, stdout);
	}
	fclose(f);
	return 0;
}

int do_logs(struct cli *c)
{
	char project[256], inst[256];
	struct json_object *st, *eps, *one;
	bool all, any = false;
	int rc;

	if (c->argc != 1)
		return fail(c, EXIT_USER, "berth: usage: berth logs [-p PROJECT] SERVICE[.N]");
	rc = load_project(c, project, sizeof(project), inst, sizeof(inst), &st);
	if (rc)
		return rc;
	/* an endpoint (SERVICE.N, a container_name) or every replica of SERVICE */
	one = find_endpoint(st, c->argv[0]);
	all = !one || (!strchr(c->argv[0], '.') && strcmp(jstr(one, "name"), c->argv[0]));
	eps = jarr_get(st, "endpoints");
	for (size_t i = 0; i < jlen(eps); i++) {
		struct json_object *e = json_object_array_get_idx(eps, i);

		if (all ? strcmp(jstr(e, "service"), c->argv[0]) : e != one)
			continue;
		any = true;
		if (jstr(e, "log"))
			cat_log(jstr(e, "name"), jstr(e, "log"), all);
	}
	json_object_put(st);
	if (!any)
		return fail(c, EXIT_USER, "berth: project %s has no service %s", project, c->argv[0]);
	return EXIT_OK;
}

int do_agent(struct cli *c)
{
	struct agent_opts o = { .instance = c->host_netns ? c->host_netns : "host",
				.foreground = true, .verbose = c->verbose };

	if (c->argc)
		return fail(c, EXIT_USER, "berth: agent takes no operands (got \"%s\")", c->argv[0]);
	if (geteuid() != 0)
		return fail(c, EXIT_SYSTEM, "berth: the agent needs root");
	return agent_run(&o);
}

int do_dns(struct cli *c)
{
	char project[256], inst[256], name[512], qname[256];
	struct json_object *st, *e, *full;
	struct names names = { 0 };
	const struct name_ep *ep;
	uint32_t ips[64], ip;
	struct printer p;
	size_t n = 0;
	const char *verdict;
	int rc;

	if (c->argc != 1 || !c->from)
		return fail(c, EXIT_USER, "berth: usage: berth dns NAME --from SERVICE[.N] [-p PROJECT] [--json]");
	rc = load_project(c, project, sizeof(project), inst, sizeof(inst), &st);
	if (rc)
		return rc;
	e = find_endpoint(st, c->from);
	if (!e) {
		json_object_put(st);
		return fail(c, EXIT_USER, "berth: project %s has no endpoint %s", project, c->from);
	}
	/* names span every project of the instance: build from the whole state */
	full = json_object_new_object();
	{
		struct json_object *projects = json_object_new_object();

		json_object_object_add(projects, project, json_object_get(st));
		json_object_object_add(full, "projects", projects);
	}
	{
		struct instance in;

		if (!open_instance(c, &in, inst)) {
			json_object_put(full);
			full = json_object_get(in.state);
			instance_close(&in);
		}
	}
	names_build(&names, full);
	ep = names_ep(&names, jstr(e, "name"));
	snprintf(qname, sizeof(qname), "%s", c->argv[0]);
	pr_init(&p, c->json, stdout);
	pr_obj_open(&p, NULL);
	pr_str(&p, "name", qname);
	pr_str(&p, "from", jstr(e, "name"));
	if (!ep || !ep->dns) {
		verdict = "no-dns";
	} else if (!dns_ptr_parse(qname, &ip)) {
		enum names_verdict v = names_ptr(&names, ep, ip, name, sizeof(name));

		verdict = v == NAMES_FOUND ? "answer" : v == NAMES_NXDOMAIN ? "nxdomain" : "forward";
		if (v == NAMES_FOUND)
			pr_str(&p, "ptr", name);
	} else {
		switch (names_lookup(&names, ep, qname, /* rotate */ false, ips, 64, &n)) {
		case NAMES_FOUND:
			verdict = "answer";
			break;
		case NAMES_NXDOMAIN:
			verdict = "nxdomain";
			break;
		default:
			verdict = "forward";
			break;
		}
	}
	pr_str(&p, "verdict", verdict);
	pr_arr_open(&p, "ipv4");
	for (size_t i = 0; i < n; i++) {
		char a[16];

		snprintf(a, sizeof(a), "%u.%u.%u.%u", ips[i] >> 24, (ips[i] >> 16) & 255,
			 (ips[i] >> 8) & 255, ips[i] & 255);
		pr_str(&p, NULL, a);
	}
	pr_arr_close(&p);
	if (ep)
		pr_int(&p, "ttl", ep->ttl);
	pr_obj_close(&p);
	pr_end(&p);
	names_free(&names);
	json_object_put(full);
	json_object_put(st);
	return EXIT_OK;
}

/* ---- berth port ---- */

/* PORT[/PROTO] of `berth port`: NULL, or an allocated message. */
static char *port_arg(const char *arg, uint16_t *port, const char **proto)
{
	const char *slash = strchr(arg, '/');
	char *num = xstrndup(arg, slash ? (size_t)(slash - arg) : strlen(arg)), *err;
	uint16_t hi;

	*proto = "tcp";
	err = port_parse_range(num, port, &hi);
	if (!err && hi != *port)
		err = xasprintf("%s is a range: give one port", num);
	free(num);
	if (err || !slash)
		return err;
	if (!strcasecmp(slash + 1, "tcp"))
		*proto = "tcp";
	else if (!strcasecmp(slash + 1, "udp"))
		*proto = "udp";
	else
		return xasprintf("unknown protocol \"%s\" (berth publishes tcp and udp)", slash + 1);
	return NULL;
}

/* A binding of a state entry of "ports" (a run of them): the entry and its ports. */
struct shown_port {
	struct json_object *b;
	unsigned host_port, target;
};

/* Bindings in docker port's order: by target port, protocol, then host address and port. */
static int binding_cmp(const void *x, const void *y)
{
	const struct shown_port *a = x, *b = y;
	int c;

	if (a->target != b->target)
		return a->target < b->target ? -1 : 1;
	c = strcmp(jstr(a->b, "protocol") ? jstr(a->b, "protocol") : "",
		   jstr(b->b, "protocol") ? jstr(b->b, "protocol") : "");
	if (c)
		return c;
	c = strcmp(jstr(a->b, "host_ip") ? jstr(a->b, "host_ip") : "",
		   jstr(b->b, "host_ip") ? jstr(b->b, "host_ip") : "");
	if (c)
		return c;
	return a->host_port < b->host_port ? -1 : a->host_port > b->host_port;
}

int do_port(struct cli *c)
{
	char project[256], inst[256], num[8];
	struct json_object *st, *e, *ports;
	struct shown_port *shown = NULL;
	const char *proto = NULL, *svc;
	uint16_t port = 0;
	size_t n = 0;
	struct printer p;
	int rc;

	if (c->argc < 1 || c->argc > 2)
		return fail(c, EXIT_USER, "berth: usage: berth port SERVICE[.N] [PORT[/PROTO]] [-p PROJECT] [--json]");
	if (c->argc == 2) {
		char *err = port_arg(c->argv[1], &port, &proto);

		if (err) {
			rc = fail(c, EXIT_USER, "berth: port %s: %s", c->argv[1], err);
			free(err);
			return rc;
		}
	}
	rc = load_project(c, project, sizeof(project), inst, sizeof(inst), &st);
	if (rc)
		return rc;
	/* SERVICE, SERVICE.N or an endpoint name: replicas share their service's ports */
	e = find_endpoint(st, c->argv[0]);
	if (!e) {
		json_object_put(st);
		return fail(c, EXIT_USER, "berth: project %s has no %s %s", project,
			    strchr(c->argv[0], '.') ? "endpoint" : "service", c->argv[0]);
	}
	svc = jstr(e, "service");
	ports = jarr_get(st, "ports");
	for (size_t i = 0; i < jlen(ports); i++) {
		struct json_object *b = json_object_array_get_idx(ports, i);
		struct berth_port_key k;
		struct port_run r;

		if (!jstr(b, "service") || strcmp(jstr(b, "service"), svc) ||
		    pub_state_run(b, &k, &r))
			continue;
		if (proto && (!jstr(b, "protocol") || strcmp(jstr(b, "protocol"), proto)))
			continue;
		for (uint32_t j = 0; j < r.count; j++) {
			if (proto && r.target + j != port)
				continue;
			*VEC_PUSH(shown, n) =
				(struct shown_port){ b, r.host_port + j, r.target + j };
		}
	}
	if (proto && !n) {
		json_object_put(st);
		return fail(c, EXIT_USER, "berth: service %s publishes no port %u/%s", svc, port, proto);
	}
	if (n)
		qsort(shown, n, sizeof(*shown), binding_cmp);
	/* text as docker port prints it: "80/tcp -> 0.0.0.0:8080", or the address alone for one port */
	pr_init(&p, c->json, stdout);
	if (c->json)
		pr_arr_open(&p, NULL);
	for (size_t i = 0; i < n; i++) {
		struct json_object *b = shown[i].b;

		if (!c->json) {
			if (proto)
				printf("%s:%u\n", jstr(b, "host_ip"), shown[i].host_port);
			else
				printf("%u/%s -> %s:%u\n", shown[i].target, jstr(b, "protocol"),
				       jstr(b, "host_ip"), shown[i].host_port);
			continue;
		}
		pr_obj_open(&p, NULL);
		pr_str(&p, "service", svc);
		snprintf(num, sizeof(num), "%u", shown[i].target);
		pr_str(&p, "target", num);
		pr_str(&p, "protocol", jstr(b, "protocol"));
		pr_str(&p, "host_ip", jstr(b, "host_ip"));
		snprintf(num, sizeof(num), "%u", shown[i].host_port);
		pr_str(&p, "host_port", num);
		pr_bool(&p, "random", json_object_get_boolean(json_object_object_get(b, "random")));
		pr_bool(&p, "first_free",
			json_object_get_boolean(json_object_object_get(b, "first_free")));
		pr_str(&p, "endpoint", jstr(b, "endpoint"));
		pr_str(&p, "ipv4", jstr(b, "ipv4"));
		pr_obj_close(&p);
	}
	if (c->json)
		pr_arr_close(&p);
	pr_end(&p);
	free(shown);
	json_object_put(st);
	return EXIT_OK;
}

/* One interface's counters (every reason with traffic) into @p; adds them to @total. */
static void print_counters(struct printer *p, const struct dp *dp, uint32_t slot,
			   uint64_t total[][2])
{
	pr_obj_open(p, "counters");
	for (uint32_t r = 1; r < BERTH_REASON_MAX; r++) {
		uint64_t packets, bytes;

		if (!berth_reason_name(r) || dp_counter(dp, slot, r, &packets, &bytes) || !packets)
			continue;
		pr_obj_open(p, berth_reason_name(r));
		pr_int(p, "packets", (int64_t)packets);
		pr_int(p, "bytes", (int64_t)bytes);
		pr_obj_close(p);
		total[r][0] += packets;
		total[r][1] += bytes;
	}
	pr_obj_close(p);
}

/* A table's fill: entries (a walk of its keys) and max_entries. */
static void print_fill(struct printer *p, const char *key, int map_fd, size_t key_size)
{
	uint64_t entries = 0;
	uint32_t max = 0;

	/* a table that cannot be read says so by its absence, not by a false zero */
	if (dp_map_size(map_fd, &max) || dp_map_count(map_fd, key_size, &entries))
		return;
	pr_obj_open(p, key);
	pr_int(p, "entries", (int64_t)entries);
	pr_int(p, "max", max);
	pr_obj_close(p);
}

int do_stats(struct cli *c)
{
	char project[256], inst[256], uplink[64] = "";
	uint64_t total[BERTH_REASON_MAX][2] = { { 0 } }, uplink_total[BERTH_REASON_MAX][2] = { { 0 } };
	struct json_object *st, *eps;
	struct instance in;
	struct printer p;
	struct dp dp;
	int rc, err;

	if (c->argc)
		return fail(c, EXIT_USER, "berth: stats takes no operands (got \"%s\")", c->argv[0]);
	rc = load_project(c, project, sizeof(project), inst, sizeof(inst), &st);
	if (rc)
		return rc;
	/* the pins are the instance's: read them from its host namespace */
	rc = open_instance(c, &in, inst);
	if (rc) {
		json_object_put(st);
		return rc;
	}
	/* read-only: an instance of another build is read as it is, never upgraded */
	err = dp_open_ro(&dp, in.pin_dir, c->verbose > 0);
	if (in.state && jstr(in.state, "uplink"))
		snprintf(uplink, sizeof(uplink), "%s", jstr(in.state, "uplink"));
	instance_close(&in);
	if (!err && dp.cnt_fd < 0) {
		dp_close(&dp);
		err = -ESTALE;
	}
	if (err) {
		json_object_put(st);
		if (err == -ESTALE)
			return fail(c, EXIT_SYSTEM, "berth: instance %s runs an older datapath without the counters; run berth up to upgrade it",
				    in.name);
		return fail(c, EXIT_SYSTEM, "berth: open the pinned maps: %s", strerror(-err));
	}
	if (dp.stale)
		fprintf(stderr, "berth: note: instance %s runs an older datapath; run berth up to upgrade it\n",
			in.name);
	eps = jarr_get(st, "endpoints");
	pr_init(&p, c->json, stdout);
	pr_obj_open(&p, NULL);
	pr_str(&p, "project", project);
	pr_arr_open(&p, "endpoints");
	for (size_t i = 0; i < jlen(eps); i++) {
		struct json_object *e = json_object_array_get_idx(eps, i),
				   *ifs = jarr_get(e, "interfaces");

		pr_obj_open(&p, NULL);
		pr_str(&p, "name", jstr(e, "name"));
		pr_str(&p, "service", jstr(e, "service"));
		pr_arr_open(&p, "interfaces");
		for (size_t j = 0; j < jlen(ifs); j++) {
			struct json_object *f = json_object_array_get_idx(ifs, j);

			pr_obj_open(&p, NULL);
			pr_str(&p, "network", jstr(f, "network"));
			pr_str(&p, "interface", jstr(f, "interface"));
			pr_int(&p, "slot", jint(f, "slot"));
			print_counters(&p, &dp, (uint32_t)jint(f, "slot"), total);
			pr_obj_close(&p);
		}
		pr_arr_close(&p);
		pr_obj_close(&p);
	}
	pr_arr_close(&p);
	pr_obj_open(&p, "total");
	for (uint32_t r = 1; r < BERTH_REASON_MAX; r++) {
		if (!total[r][0])
			continue;
		pr_obj_open(&p, berth_reason_name(r));
		pr_int(&p, "packets", (int64_t)total[r][0]);
		pr_int(&p, "bytes", (int64_t)total[r][1]);
		pr_obj_close(&p);
	}
	pr_obj_close(&p);
	/* instance-wide: the uplink's program (what arrived from outside), and the tables */
	pr_obj_open(&p, "uplink");
	pr_str(&p, "interface", uplink);
	print_counters(&p, &dp, BERTH_SLOT_UPLINK, uplink_total);
	pr_obj_close(&p);
	print_fill(&p, "conntrack", dp.ct_fd, sizeof(struct berth_ct_key));
	print_fill(&p, "nat", dp.nat_fd, sizeof(struct berth_ct_key));
	pr_obj_close(&p);
	pr_end(&p);
	dp_close(&dp);
	json_object_put(st);
	return EXIT_OK;
}
