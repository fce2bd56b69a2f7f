// SPDX-License-Identifier: GPL-2.0-only
#include "apply.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <json.h>
#include <limits.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <berth/ct.h>

#include "agent.h"
#include "ctgc.h"
#include "hold.h"
#include "dp.h"
#include "ipv4.h"
#include "jsonx.h"
#include "links.h"
#include "netns.h"
#include "policy.h"
#include "proc.h"
#include "publish.h"
#include "sockhook.h"
#include "upgrade.h"
#include "util.h"

/*
 * The device that owns every gateway address in an instance's host namespace.
 * A dummy would do, but not every kernel has one (this one has none): a veth
 * pair with both ends in the host namespace serves as well.
 */
#define GW_DEV "berth0"
#define GW_DEV_PEER "berth0p"
#define ENDPOINT_MTU 1500	/* without an uplink */
#define KILL_TIMEOUT_MS 5000
#define PORT_RANGE_SYSCTL "/proc/sys/net/ipv4/ip_local_port_range"

struct actx {
	struct instance *in;
	const struct apply_opts *o;
	struct dp dp;
	bool dp_open;
	const struct dp_sizes *sizes;	/* of the maps a first load makes; NULL: defaults */
	struct nl_ctx *nl;		/* the host namespace */
	FILE *journal;
	char txn[40];		/* id of the journal being written */
	int steps, step;
	/* interfaces op_undo took out of the maps: flows_flush() removes their flows at once */
	uint32_t *gone_ifs;
	size_t n_gone_ifs;
	/* published ports removed or repointed: their flows go the same way */
	struct berth_port_key *gone_ports;
	size_t n_gone_ports;
	/*
	 * berth_port_v1 as read once and kept up to date by this apply's own
	 * writes (ports_snap()): an up compares with it, writes by it, and
	 * holds the ports by it without reading the map again.
	 */
	struct pub_snapshot ports;
	bool ports_read;
};

/* ---- small JSON helpers over state.json ---- */

/* The array at @k, created empty when absent (the state is being built). */
static struct json_object *jarr(struct json_object *o, const char *k)
{
	struct json_object *v = jarr_get(o, k);

	if (v)
		return v;
	v = json_object_new_array();
	json_object_object_add(o, k, v);
	return v;
}

static struct json_object *projects(struct instance *in)
{
	struct json_object *v;

	if (json_object_object_get_ex(in->state, "projects", &v))
		return v;
	v = json_object_new_object();
	json_object_object_add(in->state, "projects", v);
	return v;
}

struct json_object *state_project(struct instance *in, const char *project)
{
	struct json_object *v;

	return json_object_object_get_ex(projects(in), project, &v) ? v : NULL;
}

/* The element of @arr whose "name" is @name, or NULL (index in *idx). */
static struct json_object *by_name(struct json_object *arr, const char *name, size_t *idx)
{
	for (size_t i = 0; arr && i < json_object_array_length(arr); i++) {
		struct json_object *e = json_object_array_get_idx(arr, i);
		const char *n = jstr(e, "name");

		if (n && !strcmp(n, name)) {
			if (idx)
				*idx = i;
			return e;
		}
	}
	return NULL;
}

static bool parse_mac(const char *s, uint8_t mac[6])
{
	return s && sscanf(s, "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &mac[0], &mac[1], &mac[2], &mac[3],
			   &mac[4], &mac[5]) == 6;
}

static uint32_t jip(struct json_object *o, const char *k)
{
	uint32_t a = 0;
	const char *s = jstr(o, k);

	if (s)
		ipv4_parse(s, &a);
	return a;
}

void state_prior(struct instance *in, const char *project, struct spec_prior_net **nets,
		 size_t *n_nets, struct spec_prior_addr **addrs, size_t *n_addrs)
{
	struct json_object *p = state_project(in, project), *arr;

	*nets = NULL;
	*addrs = NULL;
	*n_nets = *n_addrs = 0;
	if (!p)
		return;
	arr = jarr(p, "networks");
	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		struct json_object *n = json_object_array_get_idx(arr, i);
		struct spec_prior_net *pn;
		struct ipv4_prefix pf;

		if (ipv4_prefix_parse(jstr(n, "subnet") ? jstr(n, "subnet") : "", &pf))
			continue;
		pn = VEC_PUSH(*nets, *n_nets);
		pn->name = jstr(n, "name");
		pn->subnet = pf;
	}
	arr = jarr(p, "endpoints");
	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		struct json_object *e = json_object_array_get_idx(arr, i);
		struct json_object *ifs = jarr(e, "interfaces");

		for (size_t j = 0; j < json_object_array_length(ifs); j++) {
			struct json_object *f = json_object_array_get_idx(ifs, j);
			struct spec_prior_addr *pa = VEC_PUSH(*addrs, *n_addrs);

			pa->endpoint = jstr(e, "name");
			pa->network = jstr(f, "network");
			pa->ipv4 = jip(f, "ipv4");
		}
	}
}

void state_other_subnets(struct instance *in, const char *project, struct ipv4_prefix **out,
			 size_t *n)
{
	struct json_object *ps = projects(in);

	*out = NULL;
	*n = 0;
	json_object_object_foreach(ps, k, p) {
		struct json_object *arr = jarr(p, "networks");

		if (!strcmp(k, project))
			continue;
		for (size_t i = 0; i < json_object_array_length(arr); i++) {
			struct ipv4_prefix pf;
			const char *sub = jstr(json_object_array_get_idx(arr, i), "subnet");

			if (sub && !ipv4_prefix_parse(sub, &pf))
				*VEC_PUSH(*out, *n) = pf;
		}
	}
}

/* ---- progress ---- */

__attribute__((format(printf, 2, 3))) static void progress(struct actx *c, const char *fmt, ...)
{
	va_list ap;

	c->step++;
	if (c->o->quiet)
		return;
	fprintf(stderr, "berth: [%d/%d] ", c->step, c->steps);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static struct json_object *op_new(const char *op)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "op", json_object_new_string(op));
	return o;
}

static void jset_str(struct json_object *o, const char *k, const char *v)
{
	json_object_object_add(o, k, v ? json_object_new_string(v) : NULL);
}

static void jset_int(struct json_object *o, const char *k, int64_t v)
{
	json_object_object_add(o, k, json_object_new_int64(v));
}

/* ---- the journal: JSON lines, each fsync'ed before the step it names ---- */

static void journal_path(struct instance *in, char *buf, size_t size)
{
	snprintf(buf, size, "%s/journal", in->run_dir);
}

static int journal_write(struct actx *c, struct json_object *line)
{
	int err = 0;

	if (fprintf(c->journal, "%s\n",
		    json_object_to_json_string_ext(line, JSON_C_TO_STRING_PLAIN)) < 0 ||
	    fflush(c->journal) || fsync(fileno(c->journal)))
		err = -errno;
	json_object_put(line);
	return err;
}

static int journal_begin(struct actx *c, struct json_object *header)
{
	char path[600], txn[40];
	FILE *r = fopen("/dev/urandom", "re");
	uint64_t id[2] = { (uint64_t)getpid(), (uint64_t)time(NULL) };

	/* the state saved at the end carries this id: proof that the apply committed */
	if (r) {
		if (fread(id, sizeof(id), 1, r) != 1)
			id[1] ^= (uint64_t)clock();
		fclose(r);
	}
	snprintf(txn, sizeof(txn), "%016llx%016llx", (unsigned long long)id[0],
		 (unsigned long long)id[1]);
	jset_str(header, "txn", txn);
	snprintf(c->txn, sizeof(c->txn), "%s", txn);

	journal_path(c->in, path, sizeof(path));
	c->journal = fopen(path, "wxe");
	if (!c->journal) {
		json_object_put(header);
		return -errno;
	}
	return journal_write(c, header);
}

static void journal_end(struct actx *c)
{
	char path[600];

	if (c->journal)
		fclose(c->journal);
	c->journal = NULL;
	journal_path(c->in, path, sizeof(path));
	unlink(path);
}

/* ---- undoing one step: used by rollback, recovery and removal alike ---- */

/* A binary value in the journal: lowercase hex. */
static char *hex_encode(const void *p, size_t n)
{
	char *out = xmalloc(2 * n + 1);

	for (size_t i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", ((const uint8_t *)p)[i]);
	out[2 * n] = '\0';
	return out;
}

static bool hex_decode(const char *s, void *p, size_t n)
{
	if (!s || strlen(s) != 2 * n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (sscanf(s + 2 * i, "%2hhx", &((uint8_t *)p)[i]) != 1)
			return false;
	return true;
}

/* One entry of a "ports" step: a berth_port_v1 key and its value before (NULL: none). */
static void port_op_add(struct json_object *set, const struct berth_port_key *k,
			const struct berth_port *old)
{
	struct json_object *e = json_object_new_object();
	char *hex = hex_encode(k, sizeof(*k));

	jset_str(e, "k", hex);
	free(hex);
	hex = old ? hex_encode(old, sizeof(*old)) : NULL;
	jset_str(e, "old", hex);
	free(hex);
	json_object_array_add(set, e);
}

static int ensure_dp(struct actx *c)
{
	int err;

	if (c->dp_open)
		return 0;
	err = dp_open(&c->dp, c->in->pin_dir, c->sizes, c->o->verbose);
	if (err) {
		fprintf(stderr, "berth: load the BPF datapath into %s: %s\n", c->in->pin_dir,
			strerror(-err));
		return err;
	}
	c->dp_open = true;
	return 0;
}

/* berth_port_v1, sorted by key, read on first use: NULL when there is none, or on failure. */
static struct pub_snapshot *ports_snap(struct actx *c)
{
	int err;

	if (c->ports_read)
		return &c->ports;
	if (ensure_dp(c) || c->dp.port_fd < 0)
		return NULL;
	err = pub_map_snapshot(c->dp.port_fd, &c->ports);
	if (err) {
		fprintf(stderr, "berth: read berth_port_v1: %s\n", strerror(-err));
		return NULL;
	}
	c->ports_read = true;
	return &c->ports;
}

/* berth_port_v1 was written otherwise than by ports_add(): read it again when next asked. */
static void ports_snap_drop(struct actx *c)
{
	pub_snapshot_free(&c->ports);
	c->ports_read = false;
}

/*
 * A "ports" step: each berth_port_v1 entry back to its value before (or
 * deleted when it had none). Their flows go too, once the caller's steps are
 * undone: flows_flush().
 */
static int ports_undo(struct actx *c, struct json_object *set)
{
	int err = 0;

	/* an older datapath (upgrade.h) has no published ports */
	for (size_t i = 0; c->dp.port_fd >= 0 && i < jlen(set); i++) {
		struct json_object *e = json_object_array_get_idx(set, i);
		struct berth_port_key k;
		struct berth_port old;
		int r;

		if (!hex_decode(jstr(e, "k"), &k, sizeof(k)) ||
		    (jstr(e, "old") && !hex_decode(jstr(e, "old"), &old, sizeof(old)))) {
			err = -EINVAL;
			continue;
		}
		r = jstr(e, "old") ? pub_map_set(c->dp.port_fd, &k, &old)
				   : pub_map_del(c->dp.port_fd, &k);
		if (r && !err)
			err = r;
		*VEC_PUSH(c->gone_ports, c->n_gone_ports) = k;
	}
	ports_snap_drop(c);
	return err;
}

static int op_undo(struct actx *c, struct json_object *op)
{
	const char *kind = jstr(op, "op");
	int err = 0;

	if (!kind)
		return -EINVAL;
	if (!strcmp(kind, "cgroup")) {
		err = proc_kill_cgroup(jstr(op, "path"), KILL_TIMEOUT_MS);
	} else if (!strcmp(kind, "maps")) {
		uint8_t mac[6] = { 0 };

		if (ensure_dp(c))
			return -EIO;
		parse_mac(jstr(op, "mac"), mac);
		err = dp_ep_del(&c->dp, (uint32_t)jint(op, "ifindex"), (uint32_t)jint(op, "net_id"),
				mac, htonl(jip(op, "ipv4")), (uint32_t)jint(op, "slot"));
		/* its flows go too, once the caller's steps are undone: flows_flush() */
		*VEC_PUSH(c->gone_ifs, c->n_gone_ifs) = (uint32_t)jint(op, "ifindex");
	} else if (!strcmp(kind, "veth")) {
		err = link_delete(c->nl, jstr(op, "host"));
	} else if (!strcmp(kind, "netns")) {
		err = netns_delete(jstr(op, "name"));
	} else if (!strcmp(kind, "net")) {
		if (ensure_dp(c))
			return -EIO;
		err = dp_net_del(&c->dp, (uint32_t)jint(op, "id"));
	} else if (!strcmp(kind, "subnet")) {
		struct ipv4_prefix pf;

		if (ensure_dp(c))
			return -EIO;
		if (ipv4_prefix_parse(jstr(op, "subnet") ? jstr(op, "subnet") : "", &pf))
			return -EINVAL;
		err = dp_subnet_del(&c->dp, htonl(pf.addr), pf.len);
	} else if (!strcmp(kind, "uplink")) {
		err = dp_detach_uplink((int)jint(op, "ifindex"));
	} else if (!strcmp(kind, "policy")) {
		if (ensure_dp(c))
			return -EIO;
		err = policy_rev_delete(&c->dp, (uint32_t)jint(op, "rev"), /* keep */ false);
	} else if (!strcmp(kind, "cfg")) {
		struct berth_cfg old = { 0 };

		if (ensure_dp(c))
			return -EIO;
		if (!hex_decode(jstr(op, "old"), &old, sizeof(old)))
			return -EINVAL;
		err = dp_cfg_set(&c->dp, &old);
	} else if (!strcmp(kind, "ports")) {
		err = ensure_dp(c) ? -EIO : ports_undo(c, jarr_get(op, "set"));
	} else if (!strcmp(kind, "gw")) {
		int ifindex = link_ifindex(c->nl, GW_DEV);

		if (ifindex > 0)
			err = addr_del(c->nl, ifindex, jip(op, "ip"), 32);
	} else if (!strcmp(kind, "dummy")) {
		err = link_delete(c->nl, GW_DEV);
	} else if (!strcmp(kind, "log")) {
		err = unlink(jstr(op, "path")) && errno != ENOENT ? -errno : 0;
	} else if (!strcmp(kind, "registry")) {
		err = registry_remove(jstr(op, "project"));
	} else {
		return -EINVAL;
	}
	/* undo goes on past a failed step: report it, the rest still gets undone */
	if (err)
		fprintf(stderr, "berth: warning: undo %s: %s\n",
			json_object_to_json_string_ext(op, JSON_C_TO_STRING_PLAIN), strerror(-err));
	return err;
}

/*
 * The flows of the interfaces op_undo took out of the maps, and their NAT
 * entries: nothing is left to match them. Each walk of the conntrack table
 * reads all of it, so one walk for every interface of a removal or rollback.
 */
static void flows_flush(struct actx *c)
{
	struct ct_maps m;
	int err;

	if (!c->n_gone_ifs && !c->n_gone_ports)
		return;
	m = ct_maps_of(&c->dp);	/* open: op_undo opened it before it noted an interface */
	/* an older datapath without conntrack (upgrade.h) has no flows to remove */
	err = m.ct_fd < 0 ? 0 : ct_flush_match(&m, c->gone_ifs, c->n_gone_ifs, c->gone_ports,
					       c->n_gone_ports);
	if (err < 0)
		fprintf(stderr, "berth: warning: remove the flows of %zu interfaces and %zu published ports: %s\n",
			c->n_gone_ifs, c->n_gone_ports, strerror(-err));
	free(c->gone_ifs);
	c->gone_ifs = NULL;
	c->n_gone_ifs = 0;
	free(c->gone_ports);
	c->gone_ports = NULL;
	c->n_gone_ports = 0;
}

/*
 * The published ports held as berth_port_v1 now has them (hold.h): after
 * every change to it, a rollback's too. Warns, never fails: the ports work
 * either way, only another process could take one meanwhile.
 */
static void ports_hold(struct actx *c)
{
	/* a rollback or recovery before the first load has no ports to hold: load nothing */
	if (!c->dp_open && dp_status(c->in->pin_dir) == DP_ABSENT)
		return;
	if (!ensure_dp(c) && hold_sync(&c->dp, c->in->run_dir, ports_snap(c)))
		fprintf(stderr, "berth: warning: the published ports of instance %s are not all held: another process of the host may bind one\n",
			c->in->name);
}

/* The instance's cgroup directories, once no endpoint cgroup is left in them. */
static void cgroup_parents_prune(struct instance *in)
{
	const char *root = cgroup2_root();
	char path[PATH_MAX];

	if (!root)
		return;
	snprintf(path, sizeof(path), "%s/berth/%s", root, in->name);
	rmdir(path);
	snprintf(path, sizeof(path), "%s/berth", root);
	rmdir(path);
}

/* ---- recovery ---- */

static void drop_named(struct json_object *arr, struct json_object *names)
{
	for (size_t i = 0; names && i < json_object_array_length(names); i++) {
		size_t idx;

		if (by_name(arr, json_object_get_string(json_object_array_get_idx(names, i)), &idx))
			json_object_array_del_idx(arr, idx, 1);
	}
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Keys of published ports as text ("0.0.0.0:8080/tcp"), sorted. */
struct sorted_keys {
	const char **v;
	size_t n;
};

/* pub_state_pick(): a binding whose key the sorted_keys @arg do not list. */
static bool key_unlisted(const struct berth_port_key *k, uint16_t target, void *arg)
{
	const struct sorted_keys *sk = arg;
	char buf[32];
	const char *key = pub_key_str(k, buf);

	(void)target;
	return !bsearch(&key, sk->v, sk->n, sizeof(*sk->v), str_cmp);
}

/* Drop the published ports whose keys ("0.0.0.0:8080/tcp") @keys lists from project @p. */
static void drop_ports(struct json_object *p, struct json_object *keys)
{
	struct json_object *arr = jarr_get(p, "ports"), *kept;
	struct sorted_keys sk = { 0 };

	for (size_t i = 0; i < jlen(keys); i++)
		*VEC_PUSH(sk.v, sk.n) = json_object_get_string(json_object_array_get_idx(keys, i));
	if (!sk.n || !arr) {
		free(sk.v);
		return;
	}
	qsort(sk.v, sk.n, sizeof(*sk.v), str_cmp);
	/* a run loses only the bindings listed: what is left of it stays, as runs */
	kept = json_object_new_array();
	for (size_t i = 0; i < jlen(arr); i++) {
		struct json_object *e = json_object_array_get_idx(arr, i);

		/* an entry that is not a run stays as it was */
		if (pub_state_pick(e, key_unlisted, &sk, kept) < 0)
			json_object_array_add(kept, json_object_get(e));
	}
	json_object_object_add(p, "ports", kept);
	free(sk.v);
}

/* Drop removed entries (and an emptied project) from the state and save it. */
static int state_apply_removal(struct actx *c, struct json_object *header)
{
	const char *project = jstr(header, "project");
	struct json_object *p = state_project(c->in, project), *v;

	if (p) {
		json_object_object_get_ex(header, "endpoints", &v);
		drop_named(jarr(p, "endpoints"), v);
		json_object_object_get_ex(header, "networks", &v);
		drop_named(jarr(p, "networks"), v);
		json_object_object_get_ex(header, "ports", &v);
		drop_ports(p, v);
		json_object_object_get_ex(header, "drop_project", &v);
		if (json_object_get_boolean(v)) {
			json_object_object_del(projects(c->in), project);
			registry_remove(project);
		}
	}
	jset_str(c->in->state, "txn", jstr(header, "txn"));
	return instance_save(c->in);
}

static void actx_close(struct actx *c)
{
	free(c->gone_ifs);
	free(c->gone_ports);
	pub_snapshot_free(&c->ports);
	if (c->dp_open)
		dp_close(&c->dp);
	nl_ctx_close(c->nl);
	if (c->journal)
		fclose(c->journal);
}

static int actx_open(struct actx *c, struct instance *in, const struct apply_opts *o)
{
	memset(c, 0, sizeof(*c));
	c->in = in;
	c->o = o;
	c->nl = nl_ctx_open(-1);
	if (!c->nl) {
		fprintf(stderr, "berth: netlink: %s\n", strerror(errno));
		return -errno;
	}
	return 0;
}

int apply_recover(struct instance *in, const struct apply_opts *o)
{
	struct json_object *header = NULL, **ops = NULL;
	char path[600], *line = NULL;
	size_t n_ops = 0, cap = 0;
	struct actx c;
	int err;
	FILE *f;

	journal_path(in, path, sizeof(path));
	f = fopen(path, "re");
	if (!f)
		return errno == ENOENT ? 0 : -errno;
	while (getline(&line, &cap, f) > 0) {
		struct json_object *j = json_tokener_parse(line);

		if (!j)
			break;	/* a line cut by the crash: the step it names was not taken */
		if (!header)
			header = j;
		else
			*VEC_PUSH(ops, n_ops) = j;
	}
	free(line);
	fclose(f);
	err = actx_open(&c, in, o);
	if (err)
		goto out;
	if (header && jstr(header, "txn") && jstr(in->state, "txn") &&
	    !strcmp(jstr(header, "txn"), jstr(in->state, "txn"))) {
		/* the state was saved with this apply in it: it committed, only the journal was left */
		err = 0;
	} else if (header && !strcmp(jstr(header, "kind") ? jstr(header, "kind") : "", "remove")) {
		fprintf(stderr, "berth: finishing the removal of project %s that an earlier command left half done\n",
			jstr(header, "project"));
		for (size_t i = 0; i < n_ops; i++)
			op_undo(&c, ops[i]);
		flows_flush(&c);
		ports_hold(&c);
		err = state_apply_removal(&c, header);
		if (!err && !json_object_object_length(projects(in)))
			agent_stop(in);
	} else {
		fprintf(stderr, "berth: rolling back an apply of project %s that an earlier command left half done\n",
			header ? jstr(header, "project") : "?");
		for (size_t i = n_ops; i-- > 0;)
			op_undo(&c, ops[i]);
		flows_flush(&c);
		ports_hold(&c);
	}
	if (!err)
		unlink(path);
	cgroup_parents_prune(in);
	actx_close(&c);
out:
	for (size_t i = 0; i < n_ops; i++)
		json_object_put(ops[i]);
	free(ops);
	json_object_put(header);
	return err;
}

/* ---- what the file wants: fingerprints decide what changed ---- */

static char *net_fingerprint(const struct network *n)
{
	char a[20], b[16], r[20];

	return xasprintf("key %s %s gw %s range %s internal %d icc %d", n->key,
			 ipv4_prefix_str(n->subnet, a), ipv4_str(n->gateway, b),
			 n->has_range ? ipv4_prefix_str(n->range, r) : "-", n->internal, n->icc);
}

static char *hosts_file(const struct spec *s, const struct endpoint *ep)
{
	const struct service *svc = &s->svcs[ep->svc];
	char *out = xstrdup("127.0.0.1\tlocalhost\n"), *t;
	char a[16];

	for (size_t i = 0; i < ep->n_addrs; i++) {
		t = xasprintf("%s%s\t%s %s\n", out, ipv4_str(ep->addrs[i].ipv4, a), ep->name,
			      svc->name);
		free(out);
		out = t;
	}
	for (size_t i = 0; i < svc->n_extra_hosts; i++) {
		const struct extra_host *h = &svc->extra_hosts[i];
		uint32_t addr = h->addr;

		if (h->host_gateway) {
			/* the gateway of the first network: the host namespace owns it */
			if (!ep->n_addrs)
				continue;
			addr = s->nets[ep->addrs[0].net].gateway;
		}
		t = xasprintf("%s%s\t%s\n", out, ipv4_str(addr, a), h->name);
		free(out);
		out = t;
	}
	return out;
}

static const char *mode_name(enum net_mode m)
{
	return m == NET_MODE_HOST ? "host" : m == NET_MODE_NONE ? "none" : "bridge";
}

static char *ep_fingerprint(const struct spec *s, const struct endpoint *ep)
{
	const struct service *svc = &s->svcs[ep->svc];
	char *hosts = hosts_file(s, ep), *out, *t, a[16];

	out = xasprintf("mode %s run %s hosts %s", mode_name(svc->mode), svc->run ? svc->run : "-",
			hosts);
	free(hosts);
	for (size_t i = 0; i < ep->n_addrs; i++) {
		char *nf = net_fingerprint(&s->nets[ep->addrs[i].net]);

		t = xasprintf("%s | %s %s %s aliases", out, s->nets[ep->addrs[i].net].name,
			      ipv4_str(ep->addrs[i].ipv4, a), nf);
		free(nf);
		free(out);
		out = t;
		for (char **al = svc->nets[ep->addrs[i].svc_net].aliases; al && *al; al++) {
			t = xasprintf("%s %s", out, *al);
			free(out);
			out = t;
		}
	}
	return out;
}

/* ---- allocation of network ids and counter slots across the instance ---- */

/* @field of an element of @arr equals @v */
static bool arr_has(struct json_object *arr, const char *field, int64_t v)
{
	for (size_t i = 0; arr && i < json_object_array_length(arr); i++)
		if (jint(json_object_array_get_idx(arr, i), field) == v)
			return true;
	return false;
}

/* A network id is taken by any project of the instance, or by this apply. */
static bool net_id_used(struct instance *in, int64_t id, struct json_object *pending)
{
	struct json_object *ps = projects(in);

	json_object_object_foreach(ps, k, p) {
		(void)k;
		if (arr_has(jarr(p, "networks"), "id", id))
			return true;
	}
	return arr_has(pending, "id", id);
}

/* A counter slot is taken by any endpoint interface of the instance, or by this apply. */
static bool slot_used(struct instance *in, int64_t slot, struct json_object *pending)
{
	struct json_object *ps = projects(in);

	json_object_object_foreach(ps, k, p) {
		struct json_object *eps = jarr(p, "endpoints");

		(void)k;
		for (size_t i = 0; i < json_object_array_length(eps); i++)
			if (arr_has(jarr(json_object_array_get_idx(eps, i), "interfaces"), "slot", slot))
				return true;
	}
	return arr_has(pending, "slot", slot);
}

/* ---- adding ---- */

/*
 * What an up decides for the instance as a whole before it changes anything:
 * the uplink, the SNAT port range, the map sizes, the identities of the
 * project's services, the policy revision, and so what berth_cfg_v1 holds.
 */
struct settings {
	char uplink[IFNAMSIZ];	/* "": none */
	int uplink_ifindex;
	uint32_t uplink_ip;	/* host order: its primary IPv4 address */
	unsigned int mtu;	/* of endpoint veths: the uplink's */
	bool nat_explicit;	/* x-berth.nat_ports, remembered by the instance */
	uint16_t nat_lo, nat_hi;
	struct dp_sizes sizes;
	struct json_object *ids;	/* the project's {service: identity} */
	int64_t id_next;	/* the instance's next identity */
	struct policy_entry *mine;	/* the project's compiled rules */
	size_t n_mine;
	bool policy_changed;	/* the instance's set differs: a new revision */
	uint32_t policy_rev;	/* the revision active after this up */
	struct policy_entry *all;	/* every project's entries, this one's new */
	size_t n_all;
	struct berth_cfg cfg;	/* berth_cfg_v1 after this up */
	struct berth_cfg old_cfg;	/* and before it */
};

struct plan {
	const struct spec *s;
	struct json_object *p;		/* the project's state, being built */
	struct json_object *new_nets;	/* state entries of networks added by this apply */
	struct json_object *new_slots;	/* [{slot}] handed out by this apply */
	const struct settings *st;
};

static int step(struct actx *c, struct json_object *op)
{
	return journal_write(c, op);
}

static uint32_t service_identity(const struct settings *st, const char *svc)
{
	struct json_object *v;

	return json_object_object_get_ex(st->ids, svc, &v) ? (uint32_t)json_object_get_int64(v) : 0;
}

static int gw_dev_create(struct actx *c)
{
	static const uint8_t mac[6] = { 0x02, 0x42, 0xb3, 0x47, 0x00, 0x01 };
	int fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC), err;

	if (fd < 0)
		return -errno;
	/* a device that holds addresses and sends nothing: its MTU does not matter */
	err = link_veth_create(c->nl, GW_DEV, fd, GW_DEV_PEER, mac, ENDPOINT_MTU);
	close(fd);
	return err;
}

static int net_add(struct actx *c, struct plan *pl, const struct network *n)
{
	struct berth_net bn = { 0 };
	struct json_object *e, *op;
	char a[20], b[16];
	int64_t id = 1;
	int err, ifindex;

	progress(c, "network %s %s", n->name, ipv4_prefix_str(n->subnet, a));
	while (net_id_used(c->in, id, pl->new_nets))
		id++;
	if (id >= BERTH_MAX_NETS)
		return -ENOSPC;
	ifindex = link_ifindex(c->nl, GW_DEV);
	if (ifindex < 0) {
		err = step(c, op_new("dummy"));
		if (!err)
			err = gw_dev_create(c);
		if (err)
			return err;
		ifindex = link_ifindex(c->nl, GW_DEV);
		if (ifindex < 0)
			return ifindex;
	}
	op = op_new("gw");
	jset_str(op, "ip", ipv4_str(n->gateway, b));
	err = step(c, op);
	if (!err)
		err = addr_add(c->nl, ifindex, n->gateway, 32);
	if (err)
		return err;
	op = op_new("net");
	jset_int(op, "id", id);
	err = step(c, op);
	if (err || (err = ensure_dp(c)))
		return err;
	bn.subnet = htonl(n->subnet.addr);
	bn.mask = htonl(ipv4_mask(n->subnet.len));
	bn.gateway = htonl(n->gateway);
	bn.flags = BERTH_NET_PRESENT | (n->internal ? BERTH_NET_INTERNAL : 0) |
		   (n->icc ? 0 : BERTH_NET_NO_ICC);
	err = dp_net_set(&c->dp, (uint32_t)id, &bn);
	if (err)
		return err;
	/* the uplink program finds endpoint subnets here: wire traffic to them is dropped */
	op = op_new("subnet");
	jset_str(op, "subnet", ipv4_prefix_str(n->subnet, a));
	err = step(c, op);
	if (!err)
		err = dp_subnet_set(&c->dp, htonl(n->subnet.addr), n->subnet.len, (uint32_t)id);
	if (err)
		return err;

	e = json_object_new_object();
	jset_str(e, "name", n->name);
	jset_str(e, "key", n->key);
	jset_int(e, "id", id);
	jset_str(e, "subnet", ipv4_prefix_str(n->subnet, a));
	jset_str(e, "gateway", ipv4_str(n->gateway, b));
	jset_str(e, "ip_range", n->has_range ? ipv4_prefix_str(n->range, a) : NULL);
	json_object_object_add(e, "internal", json_object_new_boolean(n->internal));
	json_object_object_add(e, "icc", json_object_new_boolean(n->icc));
	{
		char *fp = net_fingerprint(n);

		jset_str(e, "fp", fp);
		free(fp);
	}
	json_object_array_add(pl->new_nets, e);
	return 0;
}

static int write_file(const char *dir, const char *name, const char *text)
{
	char path[PATH_MAX];
	int err = mkdir_p(dir, 0755);

	if (err)
		return err;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return file_write_atomic(path, text, strlen(text));
}

/* A short host-side name, unique in the host namespace: bth + 8 hex digits. */
static void host_ifname(struct actx *c, const char *ep, int k, char out[16])
{
	uint32_t h = 2166136261u;

	for (const char *p = c->in->name; *p; p++)
		h = (h ^ (uint8_t)*p) * 16777619u;
	for (const char *p = ep; *p; p++)
		h = (h ^ (uint8_t)*p) * 16777619u;
	h = (h ^ (uint32_t)k) * 16777619u;
	for (int salt = 0; salt < 64; salt++) {
		snprintf(out, 16, "bth%08x", h + (uint32_t)salt);
		if (link_ifindex(c->nl, out) < 0)
			return;
	}
}

static struct json_object *net_state(struct plan *pl, const char *name)
{
	struct json_object *e = by_name(pl->new_nets, name, NULL);

	return e ? e : by_name(jarr(pl->p, "networks"), name, NULL);
}

static int iface_add(struct actx *c, struct plan *pl, const struct endpoint *ep, int nsfd,
		     struct nl_ctx *nl_ep, size_t k, struct json_object *ifs)
{
	const struct endpoint_addr *ea = &ep->addrs[k];
	const struct network *n = &pl->s->nets[ea->net];
	struct json_object *ns = net_state(pl, n->name), *f, *op;
	uint8_t mac[6] = { 0x02, 0x42 }, host_mac[6];
	char host[16], peer[16], key[64], a[16], m[18];
	struct berth_ep be = { 0 };
	int err, host_ifindex, peer_ifindex;
	int64_t slot = 1;

	if (!ns)
		return -ENOENT;
	mac[2] = (uint8_t)(ea->ipv4 >> 24);
	mac[3] = (uint8_t)(ea->ipv4 >> 16);
	mac[4] = (uint8_t)(ea->ipv4 >> 8);
	mac[5] = (uint8_t)ea->ipv4;
	snprintf(m, sizeof(m), "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3],
		 mac[4], mac[5]);
	snprintf(peer, sizeof(peer), "eth%zu", k);
	host_ifname(c, ep->name, (int)k, host);

	op = op_new("veth");
	jset_str(op, "host", host);
	err = step(c, op);
	/* both ends take the uplink's MTU: what leaves through it must fit */
	if (!err)
		err = link_veth_create(c->nl, host, nsfd, peer, mac, pl->st->mtu);
	if (err)
		return err;
	host_ifindex = link_ifindex(c->nl, host);
	peer_ifindex = link_ifindex(nl_ep, peer);
	if (host_ifindex < 0 || peer_ifindex < 0)
		return host_ifindex < 0 ? host_ifindex : peer_ifindex;
	err = link_get_mac(c->nl, host_ifindex, host_mac);
	if (err)
		return err;
	/* forwarding on berth's veths only, never globally; no IPv6 on them */
	snprintf(key, sizeof(key), "net/ipv4/conf/%s/forwarding", host);
	err = sysctl_write(key, "1");
	snprintf(key, sizeof(key), "net/ipv6/conf/%s/disable_ipv6", host);
	sysctl_write(key, "1");
	if (!err)
		err = addr_add(nl_ep, peer_ifindex, ea->ipv4, n->subnet.len);
	if (!err)
		err = route_add_host(c->nl, ea->ipv4, host_ifindex);
	if (!err)
		err = neigh_add_permanent(c->nl, host_ifindex, ea->ipv4, mac);
	if (err)
		return err;

	while (slot_used(c->in, slot, pl->new_slots))
		slot++;
	f = json_object_new_object();
	jset_int(f, "slot", slot);
	json_object_array_add(pl->new_slots, f);

	op = op_new("maps");
	jset_int(op, "ifindex", host_ifindex);
	jset_int(op, "net_id", jint(ns, "id"));
	jset_str(op, "mac", m);
	jset_str(op, "ipv4", ipv4_str(ea->ipv4, a));
	jset_int(op, "slot", slot);
	err = step(c, op);
	if (err || (err = ensure_dp(c)))
		return err;
	be.net_id = (uint32_t)jint(ns, "id");
	be.slot = (uint32_t)slot;
	be.ip = htonl(ea->ipv4);
	be.identity = service_identity(pl->st, pl->s->svcs[ep->svc].name);
	memcpy(be.mac, mac, 6);
	memcpy(be.host_mac, host_mac, 6);
	err = dp_ep_set(&c->dp, (uint32_t)host_ifindex, &be);
	if (!err)
		err = dp_fdb_set(&c->dp, be.net_id, mac, (uint32_t)host_ifindex, be.slot);
	if (!err)
		err = dp_ip_set(&c->dp, be.ip, be.net_id, (uint32_t)host_ifindex, mac, be.identity,
				be.slot);
	if (!err)
		err = dp_attach(&c->dp, host_ifindex);
	if (err)
		return err;

	f = json_object_new_object();
	jset_str(f, "network", n->name);
	jset_str(f, "key", n->key);
	jset_str(f, "interface", peer);
	jset_str(f, "host_interface", host);
	jset_int(f, "host_ifindex", host_ifindex);
	jset_str(f, "ipv4", ipv4_str(ea->ipv4, a));
	jset_int(f, "prefix", n->subnet.len);
	jset_str(f, "mac", m);
	jset_int(f, "slot", slot);
	jset_int(f, "net_id", jint(ns, "id"));
	{
		const struct svc_net *sn = &pl->s->svcs[ep->svc].nets[ea->svc_net];
		struct json_object *al = jarr(f, "aliases");

		for (char **p = sn->aliases; p && *p; p++)
			json_object_array_add(al, json_object_new_string(*p));
	}
	json_object_array_add(ifs, f);
	return 0;
}

/* The netns, its files, one veth per network, the default route, the run command. */
static int ep_add(struct actx *c, struct plan *pl, const struct endpoint *ep,
		  struct json_object **out)
{
	const struct service *svc = &pl->s->svcs[ep->svc];
	struct json_object *e, *ifs, *op;
	struct nl_ctx *nl_ep = NULL;
	char dir[PATH_MAX], *text;
	int err = 0, nsfd = -1;
	bool has_ns = svc->mode != NET_MODE_HOST;

	progress(c, "endpoint %s", ep->name);
	e = json_object_new_object();
	*out = e;
	jset_str(e, "name", ep->name);
	jset_str(e, "service", svc->name);
	jset_int(e, "replica", ep->replica);
	jset_str(e, "mode", mode_name(svc->mode));
	jset_str(e, "namespace", has_ns ? ep->name : NULL);
	ifs = jarr(e, "interfaces");
	text = ep_fingerprint(pl->s, ep);
	jset_str(e, "fp", text);
	free(text);

	if (has_ns) {
		if (netns_exists(ep->name)) {
			fprintf(stderr, "berth: namespace %s exists already and is not berth's: remove it or rename the service\n",
				ep->name);
			return APPLY_USER_ERROR;
		}
		op = op_new("netns");
		jset_str(op, "name", ep->name);
		err = step(c, op);
		/* a file that no namespace is bound to is a leftover of a crash: clear it */
		if (!err)
			err = netns_delete(ep->name);
		if (!err)
			err = netns_create(ep->name);
		if (err)
			return err;
		snprintf(dir, sizeof(dir), NETNS_ETC_DIR "/%s", ep->name);
		text = hosts_file(pl->s, ep);
		err = write_file(dir, "hosts", text);
		free(text);
		/* resolv.conf points at berth's DNS, as Docker's 127.0.0.11 (none: no DNS) */
		if (!err && svc->mode == NET_MODE_BRIDGE)
			err = write_file(dir, "resolv.conf", "nameserver 127.0.0.11\noptions ndots:0\n");
		if (err)
			return err;
		nsfd = netns_open(ep->name);
		if (nsfd < 0)
			return nsfd;
		nl_ep = nl_ctx_open(nsfd);
		if (!nl_ep) {
			err = -errno;
			goto out;
		}
		if (svc->mode == NET_MODE_BRIDGE) {
			/* resolvers ask 127.0.0.11:53; the lo program sends that to the agent */
			err = ensure_dp(c);
			if (!err)
				err = dp_attach_lo(&c->dp, nsfd);
			if (err)
				goto out;
		}
		{
			int saved;

			/* IPv6 stays off inside endpoints until berth supports it */
			err = netns_enter(nsfd, &saved);
			if (err)
				goto out;
			sysctl_write("net/ipv6/conf/all/disable_ipv6", "1");
			sysctl_write("net/ipv6/conf/default/disable_ipv6", "1");
			err = netns_leave(saved);
			if (err)
				goto out;
		}
	}
	for (size_t k = 0; k < ep->n_addrs && !err; k++)
		err = iface_add(c, pl, ep, nsfd, nl_ep, k, ifs);
	if (err)
		goto out;
	/* default route: the first network that is not internal */
	for (size_t k = 0; k < ep->n_addrs; k++) {
		const struct network *n = &pl->s->nets[ep->addrs[k].net];
		char eth[16];
		int ifindex;

		if (n->internal)
			continue;
		snprintf(eth, sizeof(eth), "eth%zu", k);
		ifindex = link_ifindex(nl_ep, eth);
		err = ifindex < 0 ? ifindex : route_add_default(nl_ep, n->gateway, ifindex);
		break;
	}
	if (err)
		goto out;
	if (svc->run && has_ns) {
		const char *root = cgroup2_root();
		char cg[PATH_MAX], log[PATH_MAX];

		if (!root) {
			err = -errno;
			fprintf(stderr, "berth: x-berth run needs cgroup v2: %s\n", strerror(errno));
			goto out;
		}
		/*
		 * Where its processes will live; they start after the commit, once
		 * the agent serves this namespace (start_runs), so that their first
		 * lookups find a resolver. Journaled now: a rollback ends them too.
		 */
		snprintf(cg, sizeof(cg), "%s/berth/%s/%s", root, c->in->name, ep->name);
		snprintf(log, sizeof(log), "%s/logs/%s.log", c->in->run_dir, ep->name);
		op = op_new("log");
		jset_str(op, "path", log);
		err = step(c, op);
		op = op_new("cgroup");
		jset_str(op, "path", cg);
		err = err ? err : step(c, op);
		if (err)
			goto out;
		jset_str(e, "run", svc->run);
		jset_str(e, "cgroup", cg);
		jset_str(e, "log", log);
	} else if (svc->run) {
		fprintf(stderr, "berth: warning: %s: x-berth run is not started for network_mode: host\n",
			ep->name);
	}
out:
	nl_ctx_close(nl_ep);
	if (nsfd >= 0)
		close(nsfd);
	return err;
}

/* ---- removing: the steps that undo what an endpoint or a network made ---- */

static void ep_removal_ops(struct json_object *e, struct json_object *ops)
{
	struct json_object *ifs = jarr(e, "interfaces"), *op;

	if (jstr(e, "cgroup")) {
		op = op_new("cgroup");
		jset_str(op, "path", jstr(e, "cgroup"));
		json_object_array_add(ops, op);
	}
	if (jstr(e, "log")) {
		op = op_new("log");
		jset_str(op, "path", jstr(e, "log"));
		json_object_array_add(ops, op);
	}
	for (size_t i = 0; i < json_object_array_length(ifs); i++) {
		struct json_object *f = json_object_array_get_idx(ifs, i);

		op = op_new("maps");
		jset_int(op, "ifindex", jint(f, "host_ifindex"));
		jset_int(op, "net_id", jint(f, "net_id"));
		jset_str(op, "mac", jstr(f, "mac"));
		jset_str(op, "ipv4", jstr(f, "ipv4"));
		jset_int(op, "slot", jint(f, "slot"));
		json_object_array_add(ops, op);
		op = op_new("veth");
		jset_str(op, "host", jstr(f, "host_interface"));
		json_object_array_add(ops, op);
	}
	if (jstr(e, "namespace")) {
		op = op_new("netns");
		jset_str(op, "name", jstr(e, "namespace"));
		json_object_array_add(ops, op);
	}
}

static void net_removal_ops(struct json_object *n, struct json_object *ops)
{
	struct json_object *op = op_new("subnet");

	jset_str(op, "subnet", jstr(n, "subnet"));
	json_object_array_add(ops, op);
	op = op_new("net");
	jset_int(op, "id", jint(n, "id"));
	json_object_array_add(ops, op);
	op = op_new("gw");
	jset_str(op, "ip", jstr(n, "gateway"));
	json_object_array_add(ops, op);
}

/* Networks left in the instance besides those about to go. */
static size_t nets_remaining(struct instance *in, const char *project, struct json_object *going)
{
	struct json_object *ps = projects(in);
	size_t n = 0;

	json_object_object_foreach(ps, k, p) {
		struct json_object *arr = jarr(p, "networks");

		n += json_object_array_length(arr);
		if (!strcmp(k, project))
			n -= json_object_array_length(going);
	}
	return n;
}

/* Name the item the steps from @first on belong to, on the first of them (for progress). */
static void label(struct json_object *ops, size_t first, const char *what, const char *name)
{
	char *text;

	if (first >= json_object_array_length(ops))
		return;
	text = xasprintf("%s %s", what, name);
	jset_str(json_object_array_get_idx(ops, first), "item", text);
	free(text);
}

/*
 * The step that removes the published ports @ports (state entries) from
 * berth_port_v1, added to @ops; returns their keys ("0.0.0.0:8080/tcp"), the
 * header's record of what the state drops.
 */
static struct json_object *ports_removal_op(struct json_object *ports, struct json_object *ops)
{
	struct json_object *keys = json_object_new_array(), *set = json_object_new_array(), *op;
	char buf[32], *text;

	for (size_t i = 0; i < jlen(ports); i++) {
		struct berth_port_key k;
		struct port_run r;

		if (pub_state_run(json_object_array_get_idx(ports, i), &k, &r))
			continue;
		for (uint32_t j = 0; j < r.count; j++) {
			k.port = htons((uint16_t)(r.host_port + j));
			port_op_add(set, &k, NULL);
			json_object_array_add(keys, json_object_new_string(pub_key_str(&k, buf)));
		}
	}
	if (!jlen(set)) {
		json_object_put(set);
		return keys;
	}
	op = op_new("ports");
	json_object_object_add(op, "set", set);
	text = xasprintf("%zu published port%s", jlen(set), jlen(set) == 1 ? "" : "s");
	jset_str(op, "item", text);
	free(text);
	json_object_array_add(ops, op);
	return keys;
}

/* Phase one: remove what the file no longer wants, journaled so it is always finished. */
static int remove_phase(struct actx *c, const char *project, struct json_object *ep_names,
			struct json_object *net_names, struct json_object *ports, bool drop_project)
{
	struct json_object *p = state_project(c->in, project), *ops, *header, *port_keys;
	int err = 0;

	if (!p || (!json_object_array_length(ep_names) && !json_object_array_length(net_names) &&
		   !jlen(ports) && !drop_project))
		return 0;
	ops = json_object_new_array();
	/* published ports first: none points at an interface that is gone */
	port_keys = ports_removal_op(ports, ops);
	for (size_t i = 0; i < json_object_array_length(ep_names); i++) {
		const char *name = json_object_get_string(json_object_array_get_idx(ep_names, i));
		size_t first = json_object_array_length(ops);

		ep_removal_ops(by_name(jarr(p, "endpoints"), name, NULL), ops);
		label(ops, first, "endpoint", name);
	}
	for (size_t i = 0; i < json_object_array_length(net_names); i++) {
		const char *name = json_object_get_string(json_object_array_get_idx(net_names, i));
		size_t first = json_object_array_length(ops);

		net_removal_ops(by_name(jarr(p, "networks"), name, NULL), ops);
		label(ops, first, "network", name);
	}
	if (json_object_array_length(net_names) &&
	    !nets_remaining(c->in, project, net_names))
		json_object_array_add(ops, op_new("dummy"));
	if (drop_project && json_object_object_length(projects(c->in)) == 1) {
		/* the instance's last project: berth's filter leaves the uplink (the rest stays) */
		const char *up = jstr(c->in->state, "uplink");
		int ifindex = up && *up ? link_ifindex(c->nl, up) : -ENODEV;
		struct berth_cfg cfg;

		/* by the index the datapath holds: the name may have changed since */
		if (up && *up && !ensure_dp(c) && !dp_cfg_get(&c->dp, &cfg) &&
		    (cfg.flags & BERTH_CFG_UPLINK) && cfg.uplink_ifindex)
			ifindex = (int)cfg.uplink_ifindex;

		if (ifindex > 0) {
			struct json_object *op = op_new("uplink");

			jset_int(op, "ifindex", ifindex);
			json_object_array_add(ops, op);
		}
	}

	header = json_object_new_object();
	jset_str(header, "kind", "remove");
	jset_str(header, "project", project);
	json_object_object_add(header, "endpoints", json_object_get(ep_names));
	json_object_object_add(header, "networks", json_object_get(net_names));
	json_object_object_add(header, "ports", port_keys);
	json_object_object_add(header, "drop_project", json_object_new_boolean(drop_project));
	err = journal_begin(c, json_object_get(header));
	for (size_t i = 0; !err && i < json_object_array_length(ops); i++)
		err = journal_write(c, json_object_get(json_object_array_get_idx(ops, i)));
	if (err) {
		fprintf(stderr, "berth: write the journal: %s\n", strerror(-err));
		journal_end(c);
		goto out;
	}
	for (size_t i = 0; i < json_object_array_length(ops); i++) {
		struct json_object *op = json_object_array_get_idx(ops, i);

		if (jstr(op, "item"))
			progress(c, "remove %s", jstr(op, "item"));
		op_undo(c, op);
	}
	flows_flush(c);
	/* inside the journal: a crash from here on is finished by recovery, which holds again */
	if (jlen(ports))
		ports_hold(c);
	err = state_apply_removal(c, header);
	journal_end(c);
	cgroup_parents_prune(c->in);
out:
	json_object_put(header);
	json_object_put(ops);
	return err;
}

/* Roll the add phase back: every journaled step, newest first. */
static void rollback(struct actx *c)
{
	char path[600], *line = NULL;
	struct json_object **ops = NULL;
	size_t n = 0, cap = 0;
	FILE *f;

	if (c->journal) {
		fclose(c->journal);
		c->journal = NULL;
	}
	journal_path(c->in, path, sizeof(path));
	f = fopen(path, "re");
	if (!f)
		return;
	fprintf(stderr, "berth: rolling back\n");
	while (getline(&line, &cap, f) > 0) {
		struct json_object *j = json_tokener_parse(line);

		if (j)
			*VEC_PUSH(ops, n) = j;
	}
	fclose(f);
	free(line);
	for (size_t i = n; i-- > 1;) /* line 0 is the header */
		op_undo(c, ops[i]);
	flows_flush(c);
	ports_hold(c);
	for (size_t i = 0; i < n; i++)
		json_object_put(ops[i]);
	free(ops);
	unlink(path);
	cgroup_parents_prune(c->in);
}

static int check_subnets(struct instance *in, const struct spec *s)
{
	struct json_object *ps = projects(in);
	char a[20], b[20];
	int err = 0;

	/* within an instance endpoint addresses must be unique: no overlap between projects */
	json_object_object_foreach(ps, k, p) {
		struct json_object *arr = jarr(p, "networks");

		if (!strcmp(k, s->project))
			continue;
		for (size_t i = 0; i < json_object_array_length(arr); i++) {
			struct json_object *n = json_object_array_get_idx(arr, i);
			struct ipv4_prefix pf;

			if (ipv4_prefix_parse(jstr(n, "subnet") ? jstr(n, "subnet") : "", &pf))
				continue;
			for (size_t j = 0; j < s->n_nets; j++) {
				if (!strcmp(s->nets[j].name, jstr(n, "name"))) {
					fprintf(stderr, "%s: error: network %s belongs to project %s\n",
						s->file, s->nets[j].name, k);
					err = -EEXIST;
				} else if (ipv4_prefix_overlap(s->nets[j].subnet, pf)) {
					fprintf(stderr, "%s:%d:%d: error: network %s: subnet %s overlaps %s of network %s (project %s)\n",
						s->file, s->nets[j].loc.line, s->nets[j].loc.col,
						s->nets[j].key, ipv4_prefix_str(s->nets[j].subnet, a),
						ipv4_prefix_str(pf, b), jstr(n, "name"), k);
					err = -EEXIST;
				}
			}
		}
	}
	return err;
}

/*
 * The instance's DNS settings: the agent's port inside endpoints (chosen once,
 * at random, as Docker picks its resolver's), and the upstream servers of
 * --dns, remembered so that a later up cannot silently change them.
 */
/*
 * Start the x-berth run command of every endpoint of @project whose cgroup has
 * no process: after a commit the new ones, and on any up those that exited or
 * were killed (as `docker compose up` starts stopped containers). The cgroup
 * path is in the state before anything starts in it, so `down` ends whatever
 * runs there even if berth died half way through this.
 */
static int start_runs(struct instance *in, const char *project)
{
	struct json_object *p = state_project(in, project), *eps;
	int first_err = 0;

	eps = p ? jarr(p, "endpoints") : NULL;
	for (size_t i = 0; eps && i < json_object_array_length(eps); i++) {
		struct json_object *e = json_object_array_get_idx(eps, i);
		const char *cg = jstr(e, "cgroup"), *run = jstr(e, "run");
		pid_t pid;
		int err;

		if (!cg || !run || !jstr(e, "namespace") || proc_cgroup_pids(cg, &pid, 1) > 0)
			continue;
		proc_kill_cgroup(cg, KILL_TIMEOUT_MS);	/* an empty directory left behind */
		err = proc_spawn(cg, jstr(e, "namespace"), run, jstr(e, "log"), &pid);
		if (err) {
			fprintf(stderr, "berth: start x-berth run of %s: %s (see %s)\n", jstr(e, "name"),
				strerror(-err), jstr(e, "log"));
			if (!first_err)
				first_err = err;
		}
	}
	return first_err;
}

static int dns_servers_check(struct instance *in, const struct apply_opts *o)
{
	struct json_object *have, *want;
	int err = 0;

	if (!o->n_dns)
		return 0;
	want = json_object_new_array();
	for (size_t i = 0; i < o->n_dns; i++)
		json_object_array_add(want, json_object_new_string(o->dns[i]));
	if (json_object_object_get_ex(in->state, "dns_servers", &have) &&
	    !json_object_equal(have, want)) {
		fprintf(stderr, "berth: instance %s uses --dns %s; this up asks for --dns %s: bring its projects down to change it\n",
			in->name, json_object_to_json_string_ext(have, JSON_C_TO_STRING_PLAIN),
			json_object_to_json_string_ext(want, JSON_C_TO_STRING_PLAIN));
		err = APPLY_USER_ERROR;
	}
	json_object_put(want);
	return err;
}

static int dns_settings(struct instance *in, const struct apply_opts *o, struct actx *c)
{
	struct json_object *want;
	int err;

	if (!jint(in->state, "dns_port")) {
		uint16_t r;

		if (getrandom(&r, sizeof(r), 0) != sizeof(r))
			r = (uint16_t)getpid();
		jset_int(in->state, "dns_port", 20000 + r % 10000);
	}
	if (o->n_dns) {
		want = json_object_new_array();
		for (size_t i = 0; i < o->n_dns; i++)
			json_object_array_add(want, json_object_new_string(o->dns[i]));
		json_object_object_add(in->state, "dns_servers", want);
	}
	err = ensure_dp(c);
	return err ? err : dp_dns_set(&c->dp, (uint16_t)jint(in->state, "dns_port"));
}

/* ---- instance settings: the uplink, SNAT ports, map sizes, identities, policy ---- */

/* One of berth's own devices: never an uplink. */
static bool berth_device(struct instance *in, const char *name)
{
	struct json_object *ps = projects(in);

	if (!strcmp(name, GW_DEV) || !strcmp(name, GW_DEV_PEER))
		return true;
	json_object_object_foreach(ps, k, p) {
		struct json_object *eps = jarr(p, "endpoints");

		(void)k;
		for (size_t i = 0; i < json_object_array_length(eps); i++) {
			struct json_object *ifs = jarr(json_object_array_get_idx(eps, i), "interfaces");

			for (size_t j = 0; j < json_object_array_length(ifs); j++) {
				const char *h = jstr(json_object_array_get_idx(ifs, j), "host_interface");

				if (h && !strcmp(h, name))
					return true;
			}
		}
	}
	return false;
}

/*
 * The uplink: --uplink, else the one the instance remembers, else the device
 * of the default route (none without one). The instance keeps its first
 * choice until its last project goes: a later up naming another is refused.
 */
static int uplink_resolve(struct actx *c, struct settings *st)
{
	const char *have = jstr(c->in->state, "uplink"), *want = c->o->uplink, *src;
	char name[IFNAMSIZ] = "";
	int err, ifindex;

	st->mtu = ENDPOINT_MTU;
	if (want && !strcmp(want, "none"))
		want = "";
	if (want && have && strcmp(want, have)) {
		fprintf(stderr, "berth: instance %s uses uplink %s; this up asks for --uplink %s: bring its projects down to change it\n",
			c->in->name, *have ? have : "none", *want ? want : "none");
		return APPLY_USER_ERROR;
	}
	if (want && strlen(want) >= IFNAMSIZ) {
		fprintf(stderr, "berth: --uplink %s: not an interface name (at most %d characters)\n",
			want, IFNAMSIZ - 1);
		return APPLY_USER_ERROR;
	}
	src = want ? "--uplink" : have ? "the instance's uplink" : "the default route's device";
	if (want || have) {
		snprintf(name, sizeof(name), "%s", want ? want : have);
	} else {
		err = route_default_ifindex(c->nl, &ifindex);
		if (err == -ENOENT) {
			fprintf(stderr, "berth: warning: instance %s has no default route: no uplink, so endpoints get no outbound masquerade (name one with --uplink IFNAME)\n",
				c->in->name);
			return 0;
		}
		if (!err)
			err = link_get_name(c->nl, ifindex, name);
		if (err) {
			fprintf(stderr, "berth: find the default route's device in instance %s: %s\n",
				c->in->name, strerror(-err));
			return err;
		}
	}
	if (!*name)
		return 0;
	if (!strcmp(name, "lo") || berth_device(c->in, name)) {
		fprintf(stderr, "berth: %s %s: %s cannot be the uplink\n", src, name,
			!strcmp(name, "lo") ? "the loopback device" : "a device berth made");
		return APPLY_USER_ERROR;
	}
	ifindex = link_ifindex(c->nl, name);
	if (ifindex == -ENODEV || ifindex == -EINVAL) {
		fprintf(stderr, "berth: %s %s: no such interface in instance %s\n", src, name,
			c->in->name);
		return APPLY_USER_ERROR;
	}
	if (ifindex < 0) {
		fprintf(stderr, "berth: uplink %s: %s\n", name, strerror(-ifindex));
		return ifindex;
	}
	err = addr_primary_ipv4(c->nl, ifindex, &st->uplink_ip);
	if (err == -EADDRNOTAVAIL) {
		fprintf(stderr, "berth: %s %s has no IPv4 address: outbound flows are masqueraded to its primary one\n",
			src, name);
		return APPLY_USER_ERROR;
	}
	if (!err)
		err = link_get_mtu(c->nl, ifindex, &st->mtu);
	if (err) {
		fprintf(stderr, "berth: uplink %s: %s\n", name, strerror(-err));
		return err;
	}
	snprintf(st->uplink, sizeof(st->uplink), "%s", name);
	st->uplink_ifindex = ifindex;
	if (!have && !c->o->quiet) {
		char a[16];

		fprintf(stderr, "berth: uplink %s (%s), masquerading to %s, MTU %u\n", name,
			want ? "--uplink" : "the default route's", ipv4_str(st->uplink_ip, a), st->mtu);
	}
	return 0;
}

/* net.ipv4.ip_local_port_range of the current namespace: where host sockets get their ports. */
static int local_port_range(unsigned *lo, unsigned *hi)
{
	FILE *f = fopen(PORT_RANGE_SYSCTL, "re");
	bool ok;

	if (!f)
		return -errno;
	ok = fscanf(f, "%u %u", lo, hi) == 2 && *lo <= *hi && *hi <= 65535;
	fclose(f);
	return ok ? 0 : -EINVAL;
}

/*
 * The source ports of masqueraded flows: x-berth.nat_ports (remembered by the
 * instance), else the ports above ip_local_port_range when there are at least
 * 1024 of them, else those from 1024 up to below it. Never ports that host
 * sockets may take: the uplink program would steal their replies.
 */
static int nat_range_resolve(struct actx *c, const struct spec *s, struct settings *st)
{
	const char *have = jstr(c->in->state, "nat_ports");
	unsigned llo, lhi, lo = 0, hi = 0;
	int err = local_port_range(&llo, &lhi);

	if (err) {
		fprintf(stderr, "berth: read %s in instance %s: %s\n", PORT_RANGE_SYSCTL, c->in->name,
			strerror(-err));
		return err;
	}
	if (s->has_nat_ports) {
		char want[16];

		snprintf(want, sizeof(want), "%u-%u", s->nat_port_lo, s->nat_port_hi);
		if (have && strcmp(have, want)) {
			fprintf(stderr, "%s:%d:%d: error: x-berth.nat_ports %s: instance %s masquerades with source ports %s: bring its projects down to change it\n",
				s->file, s->nat_ports_loc.line, s->nat_ports_loc.col, want, c->in->name,
				have);
			return APPLY_USER_ERROR;
		}
		if (s->nat_port_lo <= lhi && llo <= s->nat_port_hi) {
			fprintf(stderr, "%s:%d:%d: error: x-berth.nat_ports %s overlaps net.ipv4.ip_local_port_range %u-%u of instance %s, where host sockets take their ports\n",
				s->file, s->nat_ports_loc.line, s->nat_ports_loc.col, want, llo, lhi,
				c->in->name);
			return APPLY_USER_ERROR;
		}
		st->nat_explicit = true;
		st->nat_lo = s->nat_port_lo;
		st->nat_hi = s->nat_port_hi;
		return 0;
	}
	if (have && sscanf(have, "%u-%u", &lo, &hi) == 2 && lo <= hi && hi <= 65535) {
		if (lo <= lhi && llo <= hi)
			fprintf(stderr, "berth: warning: instance %s masquerades with source ports %s, which net.ipv4.ip_local_port_range %u-%u now overlaps\n",
				c->in->name, have, llo, lhi);
		st->nat_explicit = true;
		st->nat_lo = (uint16_t)lo;
		st->nat_hi = (uint16_t)hi;
		return 0;
	}
	lo = hi = 0;
	if (65535 - lhi >= 1024) {
		lo = lhi + 1;
		hi = 65535;
	} else if (llo >= SPEC_NAT_PORT_MIN + 1024) {
		lo = SPEC_NAT_PORT_MIN;
		hi = llo - 1;
	} else if (lhi < 65535) {
		lo = lhi + 1;	/* fewer than 1024, but all there is */
		hi = 65535;
	} else if (llo > SPEC_NAT_PORT_MIN) {
		lo = SPEC_NAT_PORT_MIN;
		hi = llo - 1;
	} else if (*st->uplink) {
		fprintf(stderr, "berth: net.ipv4.ip_local_port_range %u-%u of instance %s leaves no port for masquerade: narrow it, or set x-berth.nat_ports\n",
			llo, lhi, c->in->name);
		return APPLY_USER_ERROR;
	}
	st->nat_lo = (uint16_t)lo;
	st->nat_hi = (uint16_t)hi;
	return 0;
}

/*
 * A map's size: --FLAG, else x-berth, else what it is (the default on the
 * instance's first load). A pinned map keeps its size; asking for another is
 * refused before anything changes.
 */
static int size_resolve(struct actx *c, const struct spec *s, const char *map, const char *what,
			const char *opt, const char *key, uint32_t flag, uint32_t file,
			struct loc loc, uint32_t *out)
{
	uint32_t ask = flag ? flag : file, have;
	int err;

	*out = ask;
	if (!ask)
		return 0;
	err = dp_pinned_map_size(c->in->pin_dir, map, &have);
	if (err == -ENOENT)
		return 0;
	if (err) {
		fprintf(stderr, "berth: read the size of %s/%s: %s\n", c->in->pin_dir, map,
			strerror(-err));
		return err;
	}
	if (have == ask)
		return 0;
	if (flag)
		fprintf(stderr, "berth: %s %u: the instance's %s holds %u entries; take its projects down to resize\n",
			opt, ask, what, have);
	else
		fprintf(stderr, "%s:%d:%d: error: x-berth.%s %u: the instance's %s holds %u entries; take its projects down to resize\n",
			s->file, loc.line, loc.col, key, ask, what, have);
	return APPLY_USER_ERROR;
}

/*
 * One identity per service, for policy: kept while the service stays, never
 * handed out again once it goes (a stale rule can then match nothing).
 */
static void identities_assign(struct actx *c, const struct spec *s, struct json_object *p,
			      struct settings *st)
{
	struct json_object *have = NULL, *v;
	int64_t next = instance_identity_next(c->in);

	if (p)
		json_object_object_get_ex(p, "identities", &have);
	st->ids = json_object_new_object();
	for (size_t i = 0; i < s->n_svcs; i++) {
		int64_t id;

		if (have && json_object_object_get_ex(have, s->svcs[i].name, &v) &&
		    json_object_get_int64(v) > 0)
			id = json_object_get_int64(v);
		else
			id = next++;
		json_object_object_add(st->ids, s->svcs[i].name, json_object_new_int64(id));
	}
	st->id_next = next;
}

/*
 * The project's rules compiled with its identities, and the instance's whole
 * set: every other project's as state.json keeps them, with these. A set
 * that differs from the active one becomes the next revision.
 */
static int policy_plan(struct actx *c, const struct spec *s, struct settings *st)
{
	struct policy_entry *old = NULL;
	struct json_object *ps = projects(c->in);
	uint32_t *ids = xcalloc(s->n_svcs + 1, sizeof(*ids));
	size_t n_old = 0;
	int err;

	for (size_t i = 0; i < s->n_svcs; i++)
		ids[i] = service_identity(st, s->svcs[i].name);
	err = policy_compile(s, ids, &st->mine, &st->n_mine);
	free(ids);
	if (err) {
		fprintf(stderr, "berth: compile the policy of project %s: %s\n", s->project,
			strerror(-err));
		return err;
	}
	json_object_object_foreach(ps, k, p) {
		struct json_object *rules = jarr_get(p, "policy");

		policy_from_json(rules, &old, &n_old);
		if (strcmp(k, s->project))
			policy_from_json(rules, &st->all, &st->n_all);
	}
	for (size_t i = 0; i < st->n_mine; i++)
		*VEC_PUSH(st->all, st->n_all) = st->mine[i];
	policy_entries_sort(old, n_old);
	policy_entries_sort(st->all, st->n_all);
	st->policy_rev = (uint32_t)jint(c->in->state, "policy_rev");
	/* the old revision stays until the new one is active: both must fit */
	if (st->n_all > BERTH_MAX_POLICY / 2) {
		fprintf(stderr, "berth: the policy of instance %s compiles to %zu entries; at most %d fit (berth_policy_v1 holds two revisions while it switches)\n",
			c->in->name, st->n_all, BERTH_MAX_POLICY / 2);
		free(old);
		return APPLY_USER_ERROR;
	}
	if (!policy_entries_equal(old, n_old, st->all, st->n_all)) {
		st->policy_changed = true;
		st->policy_rev++;
	}
	free(old);
	return 0;
}

static bool policy_guards(const struct policy_entry *e, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!e[i].from_id && !e[i].proto)
			return true;
	return false;
}

/* berth_cfg_v1 as this up leaves it. */
static void cfg_build(struct settings *st)
{
	struct berth_cfg *cfg = &st->cfg;

	memset(cfg, 0, sizeof(*cfg));
	if (*st->uplink) {
		cfg->flags |= BERTH_CFG_UPLINK;
		cfg->uplink_ip = htonl(st->uplink_ip);
		cfg->uplink_ifindex = (uint32_t)st->uplink_ifindex;
	}
	if (policy_guards(st->all, st->n_all))
		cfg->flags |= BERTH_CFG_POLICY;
	cfg->nat_port_min = st->nat_lo;
	cfg->nat_port_max = st->nat_hi;
	cfg->policy_rev = st->policy_rev;
	berth_ct_default_timeouts(cfg);
}

/* Everything an up decides for the instance, before it changes anything. */
static int settings_resolve(struct actx *c, const struct spec *s, struct json_object *p,
			    struct settings *st)
{
	int err;

	err = uplink_resolve(c, st);
	if (!err)
		err = nat_range_resolve(c, s, st);
	if (!err)
		err = size_resolve(c, s, "berth_ct_v1", "conntrack table", "--conntrack-max",
				   "conntrack_max", c->o->ct_max, s->ct_max, s->ct_max_loc,
				   &st->sizes.ct_max);
	if (!err)
		err = size_resolve(c, s, "berth_nat_v1", "NAT table", "--nat-max", "nat_max",
				   c->o->nat_max, s->nat_max, s->nat_max_loc, &st->sizes.nat_max);
	if (err)
		return err;
	identities_assign(c, s, p, st);
	err = policy_plan(c, s, st);
	if (err)
		return err;
	cfg_build(st);
	return 0;
}

static void settings_free(struct settings *st)
{
	json_object_put(st->ids);
	free(st->mine);
	free(st->all);
}

/* The uplink is new to the datapath: this up attaches its program. */
static bool uplink_new(const struct settings *st)
{
	return *st->uplink && (!(st->old_cfg.flags & BERTH_CFG_UPLINK) ||
			       st->old_cfg.uplink_ifindex != (uint32_t)st->uplink_ifindex);
}

/*
 * The add phase's first steps: the uplink's program, the next policy
 * revision beside the active one, then berth_cfg_v1, which switches to it in
 * one write. Each undoable: a failed up leaves the old revision active.
 */
static int settings_apply(struct actx *c, struct settings *st)
{
	struct json_object *op;
	int err = 0;

	if (uplink_new(st)) {
		progress(c, "uplink %s", st->uplink);
		op = op_new("uplink");
		jset_int(op, "ifindex", st->uplink_ifindex);
		err = step(c, op);
		if (!err)
			err = dp_attach_uplink(&c->dp, st->uplink_ifindex);
	} else if (*st->uplink) {
		/* attached already: replacing berth's own filter repairs one removed by hand */
		err = dp_attach_uplink(&c->dp, st->uplink_ifindex);
	}
	if (!err && st->policy_changed) {
		st->policy_rev = policy_rev_next(&c->dp, st->policy_rev - 1);
		st->cfg.policy_rev = st->policy_rev;
		progress(c, "policy revision %u: %zu entries", st->policy_rev, st->n_all);
		op = op_new("policy");
		jset_int(op, "rev", st->policy_rev);
		err = step(c, op);
		if (!err)
			err = policy_rev_write(&c->dp, st->policy_rev, st->all, st->n_all);
	}
	if (!err && memcmp(&st->cfg, &st->old_cfg, sizeof(st->cfg))) {
		char *hex = hex_encode(&st->old_cfg, sizeof(st->old_cfg));

		op = op_new("cfg");
		jset_str(op, "old", hex);
		free(hex);
		err = step(c, op);
		if (!err)
			err = dp_cfg_set(&c->dp, &st->cfg);
	}
	return err;
}

/* What the state keeps of the settings, once the up has committed. */
static void settings_commit(struct instance *in, struct json_object *p, const struct settings *st)
{
	jset_str(in->state, "uplink", st->uplink);
	if (st->nat_explicit) {
		char r[16];

		snprintf(r, sizeof(r), "%u-%u", st->nat_lo, st->nat_hi);
		jset_str(in->state, "nat_ports", r);
	}
	jset_int(in->state, "policy_rev", st->policy_rev);
	jset_int(in->state, "identity_next", st->id_next);
	if (!p)
		return;
	json_object_object_add(p, "identities", json_object_get(st->ids));
	json_object_object_add(p, "policy", policy_to_json(st->mine, st->n_mine));
}

/*
 * After a project left (a down that was not the instance's last): the
 * instance's set without its rules becomes the next revision. Its identities
 * are never reused, so the old entries could match nothing; this keeps the
 * map to what the state says and drops the POLICY flag with the last rule.
 */
static void policy_resync(struct actx *c)
{
	struct policy_entry *all = NULL;
	struct json_object *ps = projects(c->in);
	uint32_t rev = 0;
	struct berth_cfg cfg;
	bool switched = false;
	size_t n = 0;
	int err;

	json_object_object_foreach(ps, k, p) {
		(void)k;
		policy_from_json(jarr_get(p, "policy"), &all, &n);
	}
	err = ensure_dp(c);
	if (!err)
		rev = policy_rev_next(&c->dp, (uint32_t)jint(c->in->state, "policy_rev"));
	if (!err)
		err = dp_cfg_get(&c->dp, &cfg);
	if (!err)
		err = policy_rev_write(&c->dp, rev, all, n);
	if (!err) {
		cfg.policy_rev = rev;
		cfg.flags &= ~BERTH_CFG_POLICY;
		if (policy_guards(all, n))
			cfg.flags |= BERTH_CFG_POLICY;
		err = dp_cfg_set(&c->dp, &cfg);
		switched = !err;
	}
	if (!err) {
		jset_int(c->in->state, "policy_rev", rev);
		err = instance_save(c->in);
	}
	/* the old revision goes once the state names the new one; a set not switched to goes */
	if (!err)
		err = policy_rev_delete(&c->dp, rev, /* keep */ true);
	else if (!switched && c->dp_open)
		policy_rev_delete(&c->dp, rev, /* keep */ false);
	if (err)
		fprintf(stderr, "berth: warning: policy of instance %s not brought up to date: %s (the next up does it)\n",
			c->in->name, strerror(-err));
	free(all);
}

/* ---- published ports: publish.h decides them, berth_port_v1 holds them ---- */

struct port_ref {
	struct berth_port_key k;
	size_t i;		/* the binding's index in the plan, or the entry's in the state */
	uint32_t off;		/* in the state: the binding's place in the entry's run */
};

static int port_ref_cmp(const void *a, const void *b)
{
	return pub_key_cmp(a, b);	/* struct port_ref starts with its key */
}

/* What berth_port_v1 holds for the first binding of a state entry of "ports". */
static void port_state_value(struct json_object *e, struct berth_port *v)
{
	memset(v, 0, sizeof(*v));
	v->backend_ip = htonl(jip(e, "ipv4"));
	v->backend_port = htons((uint16_t)jint(e, "target"));
	v->ifindex = (uint32_t)jint(e, "ifindex");
	v->slot = (uint32_t)jint(e, "slot");
}

/* A state entry of "ports" as ports_diff compares it, read once for all its bindings. */
struct port_held_run {
	const char *service, *endpoint, *network;
	bool random, first_free;
	struct port_run r;
	struct berth_port v;	/* its first binding's value */
};

static bool str_eq(const char *a, const char *b)
{
	return a && b && !strcmp(a, b);
}

/* The plan's keys, sorted: what port_unwanted() looks in. */
struct port_wanted {
	const struct port_ref *v;
	size_t n;
};

/* pub_state_pick(): a binding of the state the plan does not have. */
static bool port_unwanted(const struct berth_port_key *k, uint16_t target, void *arg)
{
	const struct port_wanted *w = arg;
	struct port_ref key = { .k = *k };

	(void)target;
	return !bsearch(&key, w->v, w->n, sizeof(*w->v), port_ref_cmp);
}

/*
 * What the plan changes. Returned: the state entries that go in phase one —
 * ports the file no longer has, and those whose backend endpoint is removed
 * (nothing points at an interface that is gone); a run the file keeps part
 * of goes as runs of the bindings it lost. *@dirty: phase two has entries to
 * write — a binding the state lacks or records otherwise, one whose backend
 * is made anew, or one whose map entry is not what the state says (removed
 * by hand: an up repairs it). The state's runs are expanded into structs,
 * one per binding, and compared with the plan's bindings by key.
 */
static struct json_object *ports_diff(struct actx *c, const struct spec *s, struct json_object *p,
				      const struct pub_plan *pp, struct json_object *rm_eps,
				      const bool *want_ep, bool *dirty)
{
	struct json_object *cur = p ? jarr_get(p, "ports") : NULL, *out = json_object_new_array();
	struct port_ref *want = xcalloc(pp->n + 1, sizeof(*want)), *have = NULL;
	struct port_held_run *runs = xcalloc(jlen(cur) + 1, sizeof(*runs));
	struct port_wanted wanted = { want, pp->n };
	const struct pub_snapshot *map = NULL;
	const char **gone = NULL;
	size_t n_have = 0, n_gone = 0;

	for (size_t i = 0; i < pp->n; i++)
		want[i] = (struct port_ref){ .k = pub_key(&pp->b[i]), .i = i };
	qsort(want, pp->n, sizeof(*want), port_ref_cmp);
	for (size_t i = 0; i < jlen(rm_eps); i++)
		*VEC_PUSH(gone, n_gone) = json_object_get_string(json_object_array_get_idx(rm_eps, i));
	if (n_gone)
		qsort(gone, n_gone, sizeof(*gone), str_cmp);

	for (size_t i = 0; i < jlen(cur); i++) {
		struct json_object *e = json_object_array_get_idx(cur, i);
		struct port_held_run *h = &runs[i];
		struct berth_port_key k;
		const char *ep = jstr(e, "endpoint");

		if (pub_state_run(e, &k, &h->r))
			continue;
		h->service = jstr(e, "service");
		h->endpoint = ep;
		h->network = jstr(e, "network");
		h->random = json_object_get_boolean(json_object_object_get(e, "random"));
		h->first_free = json_object_get_boolean(json_object_object_get(e, "first_free"));
		port_state_value(e, &h->v);
		have = xrealloc(have, (n_have + h->r.count) * sizeof(*have));
		for (uint32_t j = 0; j < h->r.count; j++) {
			k.port = htons((uint16_t)(h->r.host_port + j));
			have[n_have++] = (struct port_ref){ k, i, j };
		}
		if (ep && n_gone && bsearch(&ep, gone, n_gone, sizeof(*gone), str_cmp))
			json_object_array_add(out, json_object_get(e));
		else
			pub_state_pick(e, port_unwanted, &wanted, out);
	}
	if (n_have)
		qsort(have, n_have, sizeof(*have), port_ref_cmp);
	*dirty = false;
	/* the map as it is, in one read: a binding missing there or different needs writing */
	if (c->dp.port_fd >= 0) {
		map = ports_snap(c);
		*dirty = !map;
	}
	for (size_t i = 0; i < pp->n && !*dirty; i++) {
		const struct pub_binding *b = &pp->b[i];
		struct port_ref key = { .k = pub_key(b) };
		const struct port_ref *ref = n_have ? bsearch(&key, have, n_have, sizeof(*have),
							     port_ref_cmp) : NULL;
		const struct port_held_run *h;
		struct berth_port v, in_map;
		uint32_t j;

		if (!ref || want_ep[b->ep]) {
			*dirty = true;
			break;
		}
		h = &runs[ref->i];
		j = ref->off;
		if (h->r.target + j != b->target || h->random != b->random ||
		    h->first_free != b->first_free || !str_eq(h->service, s->svcs[b->svc].name) ||
		    !str_eq(h->endpoint, s->eps[b->ep].name) ||
		    !str_eq(h->network, s->nets[b->net].name))
			*dirty = true;
		v = h->v;
		v.backend_port = htons((uint16_t)(h->r.target + j));
		if (map && (pub_snapshot_get(map, &key.k, &in_map) ||
			    memcmp(&v, &in_map, sizeof(v))))
			*dirty = true;
	}
	free(want);
	free(have);
	free(runs);
	free(gone);
	return out;
}

/* Whether plan bindings @a and @b differ in nothing but their ports: one run can hold both. */
static bool port_alike(const struct pub_binding *a, const struct pub_binding *b)
{
	return a->svc == b->svc && a->ep == b->ep && a->net == b->net &&
	       a->host_ip == b->host_ip && a->proto == b->proto && !a->random && !b->random &&
	       !a->first_free && !b->first_free;
}

/*
 * The plan's bindings as the state's "ports": one entry per run of
 * consecutive bindings alike but for ports that go up together (a range is
 * one entry), with the backend's values from @ifs (the interface of each).
 */
static struct json_object *ports_state(const struct spec *s, const struct pub_plan *pp,
				       struct json_object **ifs)
{
	struct json_object *out = json_object_new_array();
	struct port_run *runs = xcalloc(pp->n + 1, sizeof(*runs));
	uint32_t tag = 0;
	size_t n, first = 0;

	for (size_t i = 0; i < pp->n; i++) {
		const struct pub_binding *b = &pp->b[i];

		runs[i] = (struct port_run){ b->host_port, b->target, 1, 0 };
		/* a random or first-free port stays with its item: a run of its own (tag 0) */
		if (!b->random && !b->first_free)
			runs[i].tag = i && port_alike(&pp->b[i - 1], b) ? tag : ++tag;
	}
	n = port_runs_merge(runs, pp->n);
	for (size_t i = 0; i < n; first += runs[i++].count) {
		struct json_object *e = pub_state_entry(s, &pp->b[first]), *f = ifs[first];

		if (runs[i].count > 1)
			jset_int(e, "count", runs[i].count);
		jset_str(e, "ipv4", jstr(f, "ipv4"));
		jset_int(e, "ifindex", jint(f, "host_ifindex"));
		jset_int(e, "slot", jint(f, "slot"));
		json_object_array_add(out, e);
	}
	free(runs);
	return out;
}

/*
 * Phase two's last step: every binding of the plan into berth_port_v1, at
 * its backend's interface as this apply or the state records it. One journal
 * step for the entries that change, each with its value before; the flows of
 * a repointed port are cleared at once. *@out: the project's new "ports".
 */
static int ports_add(struct actx *c, struct plan *pl, const struct pub_plan *pp,
		     struct json_object *add_eps, struct json_object **out)
{
	struct json_object *set = json_object_new_array(), *op;
	struct json_object **ifs = xcalloc(pp->n + 1, sizeof(*ifs));
	struct pub_snapshot *map = NULL;
	struct berth_port_key *keys = NULL;
	struct berth_port *vals = NULL;
	bool *repoint = NULL;
	size_t n = 0, n_repoint = 0;
	int err = ensure_dp(c);

	*out = NULL;
	if (!err && c->dp.port_fd < 0)
		err = -ESTALE;	/* dp_upgrade() gave the instance this build's maps */
	if (!err && !(map = ports_snap(c)))	/* each binding's old value */
		err = -EIO;
	for (size_t i = 0; !err && i < pp->n; i++) {
		const struct pub_binding *b = &pp->b[i];
		const char *ep = pl->s->eps[b->ep].name, *net = pl->s->nets[b->net].name;
		struct json_object *e, *f = NULL;
		struct berth_port_key k = pub_key(b);
		struct berth_port v, old;
		char kb[32];
		int r;

		/* a range is one backend's: its interface is looked up once */
		if (i && b->ep == pp->b[i - 1].ep && b->net == pp->b[i - 1].net) {
			f = ifs[i - 1];
		} else {
			e = by_name(add_eps, ep, NULL);
			if (!e)
				e = by_name(jarr(pl->p, "endpoints"), ep, NULL);
			for (size_t j = 0; e && j < jlen(jarr_get(e, "interfaces")); j++) {
				struct json_object *x =
					json_object_array_get_idx(jarr_get(e, "interfaces"), j);

				if (jstr(x, "network") && !strcmp(jstr(x, "network"), net))
					f = x;
			}
		}
		if (!f) {
			fprintf(stderr, "berth: published port %s: endpoint %s has no interface on network %s\n",
				pub_key_str(&k, kb), ep, net);
			err = -ENOENT;
			break;
		}
		ifs[i] = f;
		memset(&v, 0, sizeof(v));
		v.backend_ip = htonl(jip(f, "ipv4"));
		v.backend_port = htons(b->target);
		v.ifindex = (uint32_t)jint(f, "host_ifindex");
		v.slot = (uint32_t)jint(f, "slot");
		r = pub_snapshot_get(map, &k, &old);
		if (!r && !memcmp(&old, &v, sizeof(v)))
			continue;
		port_op_add(set, &k, r ? NULL : &old);
		keys = xrealloc(keys, (n + 1) * sizeof(*keys));
		vals = xrealloc(vals, (n + 1) * sizeof(*vals));
		repoint = xrealloc(repoint, (n + 1) * sizeof(*repoint));
		keys[n] = k;
		vals[n] = v;
		repoint[n++] = !r;
	}
	if (err)
		goto out;
	*out = ports_state(pl->s, pp, ifs);
	if (!n)
		goto out;
	progress(c, "published ports: %zu to write", n);
	op = op_new("ports");
	json_object_object_add(op, "set", set);
	set = NULL;
	err = step(c, op);
	for (size_t i = 0; !err && i < n; i++)
		err = pub_map_set(c->dp.port_fd, &keys[i], &vals[i]);
	if (err) {
		ports_snap_drop(c);	/* some were written */
		goto out;
	}
	pub_snapshot_apply(map, keys, vals, n);
	/* flows through a port that now leads elsewhere would go on to the old backend */
	for (size_t i = 0; i < n; i++)
		if (repoint[i]) {
			*VEC_PUSH(c->gone_ports, c->n_gone_ports) = keys[i];
			n_repoint++;
		}
	if (n_repoint)
		flows_flush(c);
out:
	json_object_put(set);
	free(ifs);
	free(keys);
	free(vals);
	free(repoint);
	return err;
}

int apply_up(struct instance *in, const struct spec *s, const struct apply_opts *o)
{
	struct json_object *p, *rm_eps = NULL, *rm_nets = NULL, *add_eps = NULL, *header, *op;
	struct json_object *rm_ports = NULL, *new_ports = NULL;
	bool *want_net = NULL, *want_ep = NULL, new_project = false, cfg_dirty, ports_dirty;
	struct pub_plan pp = { 0 };
	struct settings st = { 0 };
	char *before = NULL;
	struct plan pl = { .s = s, .st = &st };
	char other[256];
	struct actx c;
	int err;

	err = check_subnets(in, s);
	if (!err)
		err = dns_servers_check(in, o);
	if (err)
		return APPLY_USER_ERROR;
	/* the published ports: every conflict is said before anything changes, an upgrade included */
	err = pub_plan_make(in, s, &pp);
	if (err) {
		pub_plan_free(&pp);
		return err == PUB_USER_ERROR ? APPLY_USER_ERROR : err;
	}
	/* another build's datapath becomes this one's first (upgrade.h); new maps get the sizes asked */
	err = dp_upgrade(in, &(struct dp_sizes){ o->ct_max ? o->ct_max : s->ct_max,
						 o->nat_max ? o->nat_max : s->nat_max },
			 o->verbose, o->quiet);
	if (!err)
		err = actx_open(&c, in, o);
	if (err) {
		pub_plan_free(&pp);
		return err;
	}
	/* the uplink, ports, sizes and policy are checked before anything changes too */
	err = settings_resolve(&c, s, state_project(in, s->project), &st);
	if (err) {
		actx_close(&c);
		settings_free(&st);
		pub_plan_free(&pp);
		return err;
	}
	c.sizes = &st.sizes;
	err = registry_add(s->project, in->name, other, sizeof(other));
	if (err == -EEXIST) {
		fprintf(stderr, "berth: project %s is already up on instance %s; bring it down there first\n",
			s->project, other);
		actx_close(&c);
		settings_free(&st);
		pub_plan_free(&pp);
		return APPLY_USER_ERROR;
	} else if (err) {
		fprintf(stderr, "berth: registry: %s\n", strerror(-err));
		actx_close(&c);
		settings_free(&st);
		pub_plan_free(&pp);
		return err;
	}
	p = state_project(in, s->project);
	new_project = !p;
	before = xstrdup(json_object_to_json_string_ext(in->state, JSON_C_TO_STRING_PLAIN));
	err = dns_settings(in, o, &c);
	if (!err)
		err = dp_cfg_get(&c.dp, &st.old_cfg);
	if (err)
		goto out;
	cfg_dirty = memcmp(&st.cfg, &st.old_cfg, sizeof(st.cfg)) != 0;

	/* the plan: what goes (absent or changed), what comes (absent or changed) */
	rm_eps = json_object_new_array();
	rm_nets = json_object_new_array();
	want_net = xcalloc(s->n_nets + 1, sizeof(bool));
	want_ep = xcalloc(s->n_eps + 1, sizeof(bool));
	for (size_t i = 0; i < s->n_nets; i++)
		want_net[i] = true;
	for (size_t i = 0; i < s->n_eps; i++)
		want_ep[i] = true;
	if (p) {
		struct json_object *arr = jarr(p, "networks");

		for (size_t i = 0; i < json_object_array_length(arr); i++) {
			struct json_object *n = json_object_array_get_idx(arr, i);
			bool keep = false;

			for (size_t j = 0; j < s->n_nets; j++) {
				char *fp;

				if (strcmp(s->nets[j].name, jstr(n, "name")))
					continue;
				fp = net_fingerprint(&s->nets[j]);
				keep = !strcmp(fp, jstr(n, "fp") ? jstr(n, "fp") : "");
				want_net[j] = !keep;
				free(fp);
			}
			if (!keep)
				json_object_array_add(rm_nets, json_object_new_string(jstr(n, "name")));
		}
		arr = jarr(p, "endpoints");
		for (size_t i = 0; i < json_object_array_length(arr); i++) {
			struct json_object *e = json_object_array_get_idx(arr, i);
			bool keep = false;

			for (size_t j = 0; j < s->n_eps; j++) {
				char *fp;

				if (strcmp(s->eps[j].name, jstr(e, "name")))
					continue;
				fp = ep_fingerprint(s, &s->eps[j]);
				keep = !strcmp(fp, jstr(e, "fp") ? jstr(e, "fp") : "");
				want_ep[j] = !keep;
				free(fp);
			}
			if (!keep)
				json_object_array_add(rm_eps, json_object_new_string(jstr(e, "name")));
		}
	}
	c.steps = (int)(json_object_array_length(rm_eps) + json_object_array_length(rm_nets));
	for (size_t i = 0; i < s->n_nets; i++)
		c.steps += want_net[i];
	for (size_t i = 0; i < s->n_eps; i++)
		c.steps += want_ep[i];
	c.steps += uplink_new(&st) + st.policy_changed;
	rm_ports = ports_diff(&c, s, p, &pp, rm_eps, want_ep, &ports_dirty);
	c.steps += (jlen(rm_ports) > 0) + ports_dirty;
	if (!c.steps && !cfg_dirty) {
		/* no endpoint or network changes; settings (dns_ttl, --dns) may still have */
		if (p)
			jset_int(p, "dns_ttl", s->dns_ttl);
		settings_commit(in, p, &st);
		if (strcmp(before, json_object_to_json_string_ext(in->state, JSON_C_TO_STRING_PLAIN))) {
			err = instance_save(in);
			if (err) {
				fprintf(stderr, "berth: save the state: %s\n", strerror(-err));
				goto out;
			}
		}
		/* and the agent or run commands may have been killed since: start them again */
		if (agent_ensure(in, o->verbose))
			fprintf(stderr, "berth: warning: the agent of instance %s did not start (see %s/agent.log)\n",
				in->name, in->run_dir);
		ports_hold(&c);
		sockhook_up(&c.dp, in->pin_dir);	/* host → published ports; warns, never fails */
		err = start_runs(in, s->project);
		goto out;
	}

	err = remove_phase(&c, s->project, rm_eps, rm_nets, rm_ports, false);
	if (err)
		goto out;

	/* phase two: add, each step journaled first */
	p = state_project(in, s->project);
	if (!p) {
		p = json_object_new_object();
		json_object_object_add(projects(in), s->project, p);
	}
	pl.p = p;
	pl.new_nets = json_object_new_array();
	pl.new_slots = json_object_new_array();
	add_eps = json_object_new_array();
	header = json_object_new_object();
	jset_str(header, "kind", "add");
	jset_str(header, "project", s->project);
	err = journal_begin(&c, header);
	if (!err && new_project) {
		op = op_new("registry");
		jset_str(op, "project", s->project);
		err = step(&c, op);
	}
	/* the next policy revision is active before the endpoints it guards appear */
	if (!err)
		err = settings_apply(&c, &st);
	for (size_t i = 0; !err && i < s->n_nets; i++)
		if (want_net[i])
			err = net_add(&c, &pl, &s->nets[i]);
	for (size_t i = 0; !err && i < s->n_eps; i++) {
		struct json_object *e = NULL;

		if (!want_ep[i])
			continue;
		err = ep_add(&c, &pl, &s->eps[i], &e);
		json_object_array_add(add_eps, e);
	}
	/* the published ports last: their backends are all there; held before the commit */
	if (!err)
		err = ports_add(&c, &pl, &pp, add_eps, &new_ports);
	if (!err)
		ports_hold(&c);
	if (err) {
		if (err != APPLY_USER_ERROR)
			fprintf(stderr, "berth: up %s failed at step %d of %d: %s\n", s->project,
				c.step, c.steps, strerror(-err));
		rollback(&c);
		if (!json_object_object_length(p) ||
		    (!json_object_array_length(jarr(p, "networks")) &&
		     !json_object_array_length(jarr(p, "endpoints")))) {
			json_object_object_del(projects(in), s->project);
			registry_remove(s->project);
		}
		instance_save(in);
		goto out;
	}
	/* commit: the state takes the additions, then the journal goes */
	for (size_t i = 0; i < json_object_array_length(pl.new_nets); i++)
		json_object_array_add(jarr(p, "networks"),
				      json_object_get(json_object_array_get_idx(pl.new_nets, i)));
	for (size_t i = 0; i < json_object_array_length(add_eps); i++)
		json_object_array_add(jarr(p, "endpoints"),
				      json_object_get(json_object_array_get_idx(add_eps, i)));
	{
		char *abs = realpath(s->file, NULL);

		jset_str(p, "file", abs ? abs : s->file);
		free(abs);
	}
	json_object_object_add(p, "ports", json_object_get(new_ports));
	jset_str(in->state, "txn", c.txn);
	jset_int(p, "dns_ttl", s->dns_ttl);
	settings_commit(in, p, &st);
	err = instance_save(in);
	if (err) {
		fprintf(stderr, "berth: save the state: %s\n", strerror(-err));
		rollback(&c);
		goto out;
	}
	journal_end(&c);
	/* the state names the new revision: the others go (and any a crash left) */
	if (policy_rev_delete(&c.dp, st.policy_rev, /* keep */ true))
		fprintf(stderr, "berth: warning: old policy revisions of instance %s are left in berth_policy_v1\n",
			in->name);
	/*
	 * The agent serves DNS from the state it watches; start it if none runs,
	 * and have it read the new state now (a reload answers once the new
	 * endpoints' sockets are open), so run commands find their resolver.
	 */
	if (agent_ensure(in, o->verbose) || agent_notify(in, "reload"))
		fprintf(stderr, "berth: warning: the agent of instance %s did not start: names will not resolve (see %s/agent.log)\n",
			in->name, in->run_dir);
	sockhook_up(&c.dp, in->pin_dir);	/* host → published ports; warns, never fails */
	err = start_runs(in, s->project);
out:
	json_object_put(pl.new_nets);
	json_object_put(pl.new_slots);
	json_object_put(add_eps);
	json_object_put(rm_eps);
	json_object_put(rm_nets);
	json_object_put(rm_ports);
	json_object_put(new_ports);
	pub_plan_free(&pp);
	free(want_net);
	free(want_ep);
	free(before);
	settings_free(&st);
	actx_close(&c);
	/* a new project that failed before its first step leaves no registry entry */
	if (err && new_project && !state_project(in, s->project))
		registry_remove(s->project);
	return err;
}

int apply_down(struct instance *in, const char *project, const struct apply_opts *o)
{
	struct json_object *p = state_project(in, project), *eps, *nets, *arr;
	bool had_policy;
	struct actx c;
	int err;

	if (!p) {
		registry_remove(project);
		/* an interrupted down finished by recovery: the agent may still run */
		if (!json_object_object_length(projects(in))) {
			agent_stop(in);
			sockhook_down(in->pin_dir);
		}
		return 0;
	}
	err = actx_open(&c, in, o);
	if (err)
		return err;
	eps = json_object_new_array();
	nets = json_object_new_array();
	arr = jarr(p, "endpoints");
	for (size_t i = 0; i < json_object_array_length(arr); i++)
		json_object_array_add(eps, json_object_new_string(
						   jstr(json_object_array_get_idx(arr, i), "name")));
	arr = jarr(p, "networks");
	for (size_t i = 0; i < json_object_array_length(arr); i++)
		json_object_array_add(nets, json_object_new_string(
						    jstr(json_object_array_get_idx(arr, i), "name")));
	c.steps = (int)(json_object_array_length(eps) + json_object_array_length(nets)) +
		  (jlen(jarr_get(p, "ports")) > 0);
	had_policy = jlen(jarr_get(p, "policy")) > 0;
	err = remove_phase(&c, project, eps, nets, jarr_get(p, "ports"), true);
	/* the last project takes the agent with it */
	if (!err && !json_object_object_length(projects(in))) {
		agent_stop(in);
		sockhook_down(in->pin_dir);	/* and the socket links */
	} else if (!err && had_policy) {
		policy_resync(&c);
	}
	/* the gateways of the networks that went are host addresses no more */
	if (!err && json_object_object_length(projects(in)) && !ensure_dp(&c))
		sockhook_addrs_sync(&c.dp);
	json_object_put(eps);
	json_object_put(nets);
	actx_close(&c);
	return err;
}
