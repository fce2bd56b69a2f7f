// SPDX-License-Identifier: GPL-2.0-only
/*
 * Deciding the published ports of a project: fixed ones first (each checked
 * against other projects and the host's sockets), then the ports an earlier
 * `up` picked for random and first-free items (kept when still free), then
 * new picks. Every error is printed before the plan is given up, so one `up`
 * names every conflict.
 */
#include "publish.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <endian.h>
#include <errno.h>
#include <json.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dp.h"
#include "hold.h"
#include "ipv4.h"
#include "jsonx.h"
#include "ports.h"
#include "util.h"

#define PORT_RANGE_SYSCTL	"/proc/sys/net/ipv4/ip_local_port_range"
#define RESERVED_SYSCTL		"/proc/sys/net/ipv4/ip_local_reserved_ports"

/* A binding a project of the instance has, as state.json records it. */
struct held {
	uint8_t proto;
	uint16_t port;
	uint16_t target;
	uint32_t addr;		/* host order */
	const char *project, *service;
	bool random, first_free;
};

struct pctx {
	struct instance *in;
	const struct spec *s;
	struct held *others;	/* other projects', by (proto, port, addr) */
	size_t n_others;
	struct held *mine;	/* this project's, as the last up left them, the same order */
	size_t n_mine;
	struct held *sticky;	/* this project's picked ones, by (proto, target, addr) */
	size_t n_sticky;
	/* per protocol (tcp, udp): ports of this plan and of other projects, any address */
	struct port_set *taken[2];
	struct port_set reserved;
	unsigned range_lo, range_hi;
	bool has_range;
	/*
	 * The instance's datapath has no berth_pbind_v1 (a build before the bind
	 * hooks, or none yet): that build's agent may hold this project's ports
	 * by sockets, which would fail the bind test of its own ports.
	 */
	bool legacy_holds;
	int errors;
};

static int proto_idx(uint8_t proto)
{
	return proto == IPPROTO_UDP;
}

static const char *proto_name(uint8_t proto)
{
	return proto == IPPROTO_UDP ? "udp" : "tcp";
}

struct berth_port_key pub_key(const struct pub_binding *b)
{
	struct berth_port_key k;

	memset(&k, 0, sizeof(k));
	k.addr = htonl(b->host_ip);
	k.port = htons(b->host_port);
	k.proto = b->proto;
	return k;
}

const char *pub_key_str(const struct berth_port_key *k, char buf[32])
{
	char a[16];

	snprintf(buf, 32, "%s:%u/%s", ipv4_str(ntohl(k->addr), a), ntohs(k->port),
		 proto_name(k->proto));
	return buf;
}

static bool state_proto(struct json_object *e, uint8_t *proto)
{
	const char *p = jstr(e, "protocol");

	if (!p)
		return false;
	if (!strcmp(p, "tcp"))
		*proto = IPPROTO_TCP;
	else if (!strcmp(p, "udp"))
		*proto = IPPROTO_UDP;
	else
		return false;
	return true;
}

/* The key of a state entry's first binding: 0, or -EINVAL. */
static int pub_state_key(struct json_object *e, struct berth_port_key *k)
{
	uint32_t addr;
	int64_t port = jint(e, "host_port");

	memset(k, 0, sizeof(*k));
	if (!jstr(e, "host_ip") || !ipv4_parse(jstr(e, "host_ip"), &addr) || port < 1 ||
	    port > 65535 || !state_proto(e, &k->proto))
		return -EINVAL;
	k->addr = htonl(addr);
	k->port = htons((uint16_t)port);
	return 0;
}

int pub_state_run(struct json_object *e, struct berth_port_key *k, struct port_run *r)
{
	struct json_object *v;
	int64_t count;
	int err = pub_state_key(e, k);

	if (err)
		return err;
	if (!json_object_object_get_ex(e, "count", &v))
		return port_run_make(jint(e, "host_port"), jint(e, "target"), NULL, r);
	if (!json_object_is_type(v, json_type_int))
		return -EINVAL;
	count = json_object_get_int64(v);
	return port_run_make(jint(e, "host_port"), jint(e, "target"), &count, r);
}

/* A copy of run @e cut to its bindings @first to @first + @n - 1, or @e itself for all of them. */
static struct json_object *run_slice(struct json_object *e, const struct port_run *r,
				     uint32_t first, uint32_t n)
{
	struct json_object *c = NULL;

	if (!first && n == r->count)
		return json_object_get(e);
	if (json_object_deep_copy(e, &c, NULL))
		return NULL;
	json_object_object_add(c, "host_port", json_object_new_int(r->host_port + (int)first));
	json_object_object_add(c, "target", json_object_new_int(r->target + (int)first));
	if (n > 1)
		json_object_object_add(c, "count", json_object_new_int64(n));
	else
		json_object_object_del(c, "count");
	return c;
}

int pub_state_pick(struct json_object *e, pub_pick_fn pick, void *arg, struct json_object *out)
{
	struct berth_port_key k;
	struct port_run r;
	uint32_t first = 0, n = 0;
	int taken = 0, err = pub_state_run(e, &k, &r);

	if (err)
		return err;
	for (uint32_t i = 0; i <= r.count; i++) {
		k.port = htons((uint16_t)(r.host_port + i));
		if (i < r.count && pick(&k, (uint16_t)(r.target + i), arg)) {
			if (!n++)
				first = i;
			continue;
		}
		if (n) {
			struct json_object *c = run_slice(e, &r, first, n);

			if (!c)
				return -ENOMEM;
			json_object_array_add(out, c);
			taken += (int)n;
		}
		n = 0;
	}
	return taken;
}

static bool jbool(struct json_object *o, const char *k)
{
	struct json_object *v;

	return json_object_object_get_ex(o, k, &v) && json_object_get_boolean(v);
}

struct json_object *pub_state_entry(const struct spec *s, const struct pub_binding *b)
{
	struct json_object *e = json_object_new_object();
	char a[16];

	json_object_object_add(e, "service", json_object_new_string(s->svcs[b->svc].name));
	json_object_object_add(e, "host_ip", json_object_new_string(ipv4_str(b->host_ip, a)));
	json_object_object_add(e, "host_port", json_object_new_int(b->host_port));
	json_object_object_add(e, "protocol", json_object_new_string(proto_name(b->proto)));
	json_object_object_add(e, "target", json_object_new_int(b->target));
	json_object_object_add(e, "random", json_object_new_boolean(b->random));
	json_object_object_add(e, "first_free", json_object_new_boolean(b->first_free));
	json_object_object_add(e, "endpoint", json_object_new_string(s->eps[b->ep].name));
	json_object_object_add(e, "network", json_object_new_string(s->nets[b->net].name));
	return e;
}

int pub_map_set(int fd, const struct berth_port_key *k, const struct berth_port *v)
{
	return bpf_map_update_elem(fd, k, v, BPF_ANY) ? -errno : 0;
}

int pub_map_del(int fd, const struct berth_port_key *k)
{
	return bpf_map_delete_elem(fd, k) && errno != ENOENT ? -errno : 0;
}

int pub_map_get(int fd, const struct berth_port_key *k, struct berth_port *v)
{
	return bpf_map_lookup_elem(fd, k, v) ? -errno : 0;
}

/* memcmp's order of two berth_port_keys, by their 8 bytes as one big-endian number */
int pub_key_cmp(const void *x, const void *y)
{
	uint64_t a, b;

	memcpy(&a, x, sizeof(a));
	memcpy(&b, y, sizeof(b));
	a = be64toh(a);
	b = be64toh(b);
	return a < b ? -1 : a > b;
}

static int pub_entry_cmp(const void *x, const void *y)
{
	return pub_key_cmp(&((const struct pub_entry *)x)->k, &((const struct pub_entry *)y)->k);
}

int pub_map_snapshot(int fd, struct pub_snapshot *snap)
{
	struct berth_port_key *keys = NULL;
	struct berth_port *vals = NULL;
	size_t n = 0;
	int err;

	memset(snap, 0, sizeof(*snap));
	err = dp_map_dump(fd, sizeof(*keys), sizeof(*vals), (void **)&keys, (void **)&vals, &n);
	if (!err && n) {
		snap->e = xcalloc(n, sizeof(*snap->e));
		for (size_t i = 0; i < n; i++)
			snap->e[i] = (struct pub_entry){ keys[i], vals[i] };
		snap->n = n;
		qsort(snap->e, snap->n, sizeof(*snap->e), pub_entry_cmp);
	}
	free(keys);
	free(vals);
	return err;
}

int pub_snapshot_get(const struct pub_snapshot *snap, const struct berth_port_key *k,
		     struct berth_port *v)
{
	struct pub_entry key = { .k = *k };
	const struct pub_entry *e;

	e = snap->n ? bsearch(&key, snap->e, snap->n, sizeof(*snap->e), pub_entry_cmp) : NULL;
	if (!e)
		return -ENOENT;
	*v = e->v;
	return 0;
}

/* A write of pub_snapshot_apply(), with its place among the writes. */
struct pub_write {
	struct pub_entry e;	/* first: pub_entry_cmp compares it */
	size_t idx;
};

static int pub_write_cmp(const void *x, const void *y)
{
	const struct pub_write *a = x, *b = y;
	int c = pub_entry_cmp(&a->e, &b->e);

	return c ? c : a->idx < b->idx ? -1 : a->idx > b->idx;
}

void pub_snapshot_apply(struct pub_snapshot *snap, const struct berth_port_key *keys,
			const struct berth_port *vals, size_t n)
{
	struct pub_write *add = NULL;
	struct pub_entry *out;
	size_t n_add = 0, i = 0, j = 0, k = 0;

	for (size_t x = 0; x < n; x++) {
		struct pub_entry key = { .k = keys[x] }, *e;

		e = snap->n ? bsearch(&key, snap->e, snap->n, sizeof(*snap->e), pub_entry_cmp)
			    : NULL;
		if (e)
			e->v = vals[x];
		else
			*VEC_PUSH(add, n_add) = (struct pub_write){ { keys[x], vals[x] }, x };
	}
	if (!n_add)
		return;
	qsort(add, n_add, sizeof(*add), pub_write_cmp);
	/* a key written twice is in the map once, with the last value written */
	for (size_t x = 1; x < n_add; x++) {
		if (pub_entry_cmp(&add[k].e, &add[x].e))
			k++;
		add[k] = add[x];
	}
	n_add = k + 1;
	k = 0;
	out = xcalloc(snap->n + n_add, sizeof(*out));
	while (i < snap->n || j < n_add)
		out[k++] = j == n_add || (i < snap->n && pub_entry_cmp(&snap->e[i], &add[j].e) < 0)
				   ? snap->e[i++]
				   : add[j++].e;
	free(snap->e);
	free(add);
	snap->e = out;
	snap->n = k;
}

void pub_snapshot_free(struct pub_snapshot *snap)
{
	free(snap->e);
	snap->e = NULL;
	snap->n = 0;
}

/* ---- what the instance's projects hold ---- */

static int held_cmp(const void *x, const void *y)
{
	const struct held *a = x, *b = y;

	if (a->proto != b->proto)
		return a->proto < b->proto ? -1 : 1;
	if (a->port != b->port)
		return a->port < b->port ? -1 : 1;
	return a->addr < b->addr ? -1 : a->addr > b->addr;
}

static int sticky_cmp(const void *x, const void *y)
{
	const struct held *a = x, *b = y;

	if (a->proto != b->proto)
		return a->proto < b->proto ? -1 : 1;
	if (a->target != b->target)
		return a->target < b->target ? -1 : 1;
	if (a->addr != b->addr)
		return a->addr < b->addr ? -1 : 1;
	return strcmp(a->service, b->service);
}

static void held_collect(struct pctx *c)
{
	struct json_object *ps;

	if (!json_object_object_get_ex(c->in->state, "projects", &ps) ||
	    !json_object_is_type(ps, json_type_object))
		return;
	json_object_object_foreach(ps, name, p) {
		struct json_object *arr = jarr_get(p, "ports");
		bool own = !strcmp(name, c->s->project);

		for (size_t i = 0; i < jlen(arr); i++) {
			struct json_object *e = json_object_array_get_idx(arr, i);
			struct held one = { .project = name, .service = jstr(e, "service") };
			struct berth_port_key k;
			struct port_run r;

			if (pub_state_run(e, &k, &r) || !one.service)
				continue;
			one.proto = k.proto;
			one.addr = ntohl(k.addr);
			one.random = jbool(e, "random");
			one.first_free = jbool(e, "first_free");
			for (uint32_t j = 0; j < r.count; j++) {
				struct held *h = own ? VEC_PUSH(c->mine, c->n_mine)
						     : VEC_PUSH(c->others, c->n_others);

				*h = one;
				h->port = (uint16_t)(r.host_port + j);
				h->target = (uint16_t)(r.target + j);
				if (own && (h->random || h->first_free))
					*VEC_PUSH(c->sticky, c->n_sticky) = *h;
			}
			if (!own)
				port_set_add(c->taken[proto_idx(k.proto)], r.host_port,
					     r.host_port + r.count - 1);
		}
	}
	if (c->n_others)
		qsort(c->others, c->n_others, sizeof(*c->others), held_cmp);
	if (c->n_mine)
		qsort(c->mine, c->n_mine, sizeof(*c->mine), held_cmp);
	if (c->n_sticky)
		qsort(c->sticky, c->n_sticky, sizeof(*c->sticky), sticky_cmp);
}

/* A binding of @arr on @port/@proto whose address is @addr, or 0, or @addr is 0. */
static const struct held *held_clash(const struct held *arr, size_t n, uint32_t addr,
				     uint16_t port, uint8_t proto)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (arr[mid].proto < proto || (arr[mid].proto == proto && arr[mid].port < port))
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = lo; i < n && arr[i].proto == proto && arr[i].port == port; i++)
		if (!addr || !arr[i].addr || arr[i].addr == addr)
			return &arr[i];
	return NULL;
}

/*
 * This project published @addr:@port/@proto exactly so before: the bind
 * hooks have kept every other socket off it since, so it needs no new test.
 * A port moved to another address is tested there like a new one.
 */
static bool held_exact(const struct pctx *c, uint32_t addr, uint16_t port, uint8_t proto)
{
	size_t lo = 0, hi = c->n_mine;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct held *h = &c->mine[mid];

		if (held_cmp(h, &(struct held){ .proto = proto, .port = port, .addr = addr }) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < c->n_mine && c->mine[lo].proto == proto && c->mine[lo].port == port &&
	       c->mine[lo].addr == addr;
}

/* A test of the host's sockets is owed: not this project's exact binding, nor an old agent's. */
static bool test_owed(const struct pctx *c, uint32_t addr, uint16_t port, uint8_t proto)
{
	if (held_exact(c, addr, port, proto))
		return false;
	return !(c->legacy_holds && held_clash(c->mine, c->n_mine, addr, port, proto));
}

/* ---- the host's sockets ---- */

/*
 * Bind a socket to @addr:@port in the current namespace and close it again:
 * 0 when free, -EADDRINUSE when another socket has it. A TCP connection in
 * TIME_WAIT on the port owns nothing (SO_REUSEADDR); a listener, or a socket
 * bound without SO_REUSEADDR (a client's), does. The probe's mark lets it
 * past the bind hooks (hold.h), so a port this instance publishes already
 * is tested against the host's sockets like any other.
 */
static int bind_test(uint32_t addr, uint16_t port, uint8_t proto)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port),
				  .sin_addr.s_addr = htonl(addr) };
	uint32_t mark = BERTH_SOCK_MARK_PROBE;
	int one = 1, err = 0;
	int fd = socket(AF_INET, (proto == IPPROTO_UDP ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC,
			0);

	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof(mark)))
		err = -errno;
	if (!err && proto == IPPROTO_TCP &&
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)))
		err = -errno;
	if (!err && bind(fd, (struct sockaddr *)&sa, sizeof(sa)))
		err = -errno;
	close(fd);
	return err;
}

__attribute__((format(printf, 4, 5))) static void perr(struct pctx *c, const struct service *svc,
						       const struct port_spec *item,
						       const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s:%d:%d: error: service %s: ", c->s->file, item->loc.line, item->loc.col,
		svc->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	c->errors++;
}

struct busy {
	struct pctx *c;
	uint32_t addr;
	uint8_t proto;
};

/* port_pick()'s question: in use by someone else than this project? */
static int busy_check(uint16_t port, void *arg)
{
	struct busy *b = arg;
	int err;

	if (!test_owed(b->c, b->addr, port, b->proto))
		return 0;
	err = bind_test(b->addr, port, b->proto);
	return !err ? 0 : err == -EADDRINUSE ? 1 : err;
}

/* A bind test's failure other than "in use": said for the item; a system error goes up. */
static int bind_failure(struct pctx *c, const struct service *svc, const struct port_spec *item,
			uint32_t addr, int err)
{
	char a[16];

	if (err == -EADDRNOTAVAIL) {
		perr(c, svc, item, "host address %s is not an address of instance %s",
		     ipv4_str(addr, a), c->in->name);
		return 0;
	}
	fprintf(stderr, "berth: check host ports on instance %s: %s\n", c->in->name,
		strerror(-err));
	return err;
}

/* ---- the instance's port range ---- */

static int read_line(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "re");
	int err = 0;

	if (!f)
		return -errno;
	if (!fgets(buf, (int)size, f))
		buf[0] = '\0';
	if (ferror(f))
		err = -EIO;
	fclose(f);
	return err;
}

/* ip_local_port_range and ip_local_reserved_ports, read once, when a random port is wanted. */
static int range_read(struct pctx *c)
{
	char line[256];
	int err;

	if (c->has_range)
		return 0;
	err = read_line(PORT_RANGE_SYSCTL, line, sizeof(line));
	if (!err && (sscanf(line, "%u %u", &c->range_lo, &c->range_hi) != 2 || !c->range_lo ||
		     c->range_lo > c->range_hi || c->range_hi > 65535))
		err = -EINVAL;
	if (err) {
		fprintf(stderr, "berth: read %s in instance %s: %s\n", PORT_RANGE_SYSCTL,
			c->in->name, strerror(-err));
		return err;
	}
	/* absent on some kernels: nothing is reserved then */
	err = hold_reserved_read(&c->reserved);
	if (err && err != -ENOENT) {
		fprintf(stderr, "berth: read %s in instance %s: %s\n", RESERVED_SYSCTL, c->in->name,
			strerror(-err));
		return err;
	}
	c->has_range = true;
	return 0;
}

/* ---- the plan ---- */

/* The backend of service @i: its replica 1, on its first network that is not internal. */
static bool backend_of(const struct spec *s, int i, int *ep, int *net)
{
	for (size_t e = 0; e < s->n_eps; e++) {
		if (s->eps[e].svc != i || s->eps[e].replica != 1)
			continue;
		for (size_t k = 0; k < s->eps[e].n_addrs; k++) {
			int n = s->eps[e].addrs[k].net;

			if (!s->nets[n].internal) {
				*ep = (int)e;
				*net = n;
				return true;
			}
		}
	}
	return false;
}

static struct pub_binding *binding_add(struct pub_plan *pl, int svc, int ep, int net,
				       const struct port_spec *item, uint16_t target)
{
	struct pub_binding *b = VEC_PUSH(pl->b, pl->n);

	b->host_ip = item->host_ip;
	b->target = target;
	b->proto = item->proto == PORT_UDP ? IPPROTO_UDP : IPPROTO_TCP;
	b->svc = svc;
	b->ep = ep;
	b->net = net;
	b->item = item;
	b->random = !item->host_lo;
	b->first_free = item->n_to_one;
	return b;
}

/* A fixed host port: the file's, unless another project or another process has it. */
static int fixed_check(struct pctx *c, const struct pub_binding *b)
{
	const struct service *svc = &c->s->svcs[b->svc];
	const struct held *h;
	char a[16];
	int err;

	h = held_clash(c->others, c->n_others, b->host_ip, b->host_port, b->proto);
	if (h) {
		perr(c, svc, b->item, "host port %s:%u/%s is already published by project %s (service %s)",
		     ipv4_str(b->host_ip ? b->host_ip : h->addr, a), b->host_port,
		     proto_name(b->proto), h->project, h->service);
		return 0;
	}
	if (!test_owed(c, b->host_ip, b->host_port, b->proto))
		return 0;
	err = bind_test(b->host_ip, b->host_port, b->proto);
	if (err == -EADDRINUSE) {
		perr(c, svc, b->item, "host port %s:%u/%s is in use by another process on instance %s",
		     ipv4_str(b->host_ip, a), b->host_port, proto_name(b->proto), c->in->name);
		return 0;
	}
	return err ? bind_failure(c, svc, b->item, b->host_ip, err) : 0;
}

/* The port an earlier up picked for this item, if it is still this item's to take. */
static uint16_t sticky_find(struct pctx *c, const struct pub_binding *b)
{
	struct held want = { .proto = b->proto, .target = b->target, .addr = b->host_ip,
			     .service = c->s->svcs[b->svc].name };
	const struct port_spec *it = b->item;
	size_t lo = 0, hi = c->n_sticky;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (sticky_cmp(&c->sticky[mid], &want) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = lo; i < c->n_sticky && !sticky_cmp(&c->sticky[i], &want); i++) {
		const struct held *h = &c->sticky[i];

		if (h->random != b->random || h->first_free != b->first_free)
			continue;
		if (b->first_free && (h->port < it->host_lo || h->port > it->host_hi))
			continue;
		if (port_set_has(c->taken[proto_idx(b->proto)], h->port) ||
		    held_clash(c->others, c->n_others, b->host_ip, h->port, b->proto))
			continue;
		return h->port;
	}
	return 0;
}

/* A new port for a random or first-free binding. */
static int pick(struct pctx *c, struct pub_binding *b)
{
	const struct service *svc = &c->s->svcs[b->svc];
	struct busy q = { .c = c, .addr = b->host_ip, .proto = b->proto };
	uint16_t lo, hi, start;
	uint32_t r = 0;
	char a[16];
	int port, err;

	if (b->random) {
		err = range_read(c);
		if (err)
			return err;
		lo = (uint16_t)c->range_lo;
		hi = (uint16_t)c->range_hi;
		/* anywhere in the range, as the kernel picks ephemeral ports */
		if (getrandom(&r, sizeof(r), 0) != sizeof(r))
			r = (uint32_t)getpid();
		start = (uint16_t)(lo + r % ((uint32_t)hi - lo + 1));
		port = port_pick(lo, hi, start, &c->reserved, c->taken[proto_idx(b->proto)],
				 busy_check, &q);
	} else {
		lo = b->item->host_lo;
		hi = b->item->host_hi;
		port = port_pick(lo, hi, lo, NULL, c->taken[proto_idx(b->proto)], busy_check, &q);
	}
	if (port < 0)
		return bind_failure(c, svc, b->item, b->host_ip, port);
	if (!port && b->random)
		perr(c, svc, b->item, "no free host port on %s for %u/%s: net.ipv4.ip_local_port_range %u-%u of instance %s is all published, reserved or in use",
		     ipv4_str(b->host_ip, a), b->target, proto_name(b->proto), lo, hi, c->in->name);
	else if (!port)
		perr(c, svc, b->item, "no free host port in %s:%u-%u/%s for %u: every one is published or in use",
		     ipv4_str(b->host_ip, a), lo, hi, proto_name(b->proto), b->target);
	b->host_port = (uint16_t)port;
	return 0;
}

int pub_plan_make(struct instance *in, const struct spec *s, struct pub_plan *pl)
{
	struct pctx c = { .in = in, .s = s };
	size_t first_picked;
	char pbind[600];
	int err = 0;

	memset(pl, 0, sizeof(*pl));
	snprintf(pbind, sizeof(pbind), "%s/berth_pbind_v1", in->pin_dir);
	c.legacy_holds = access(pbind, F_OK) != 0;
	c.taken[0] = xcalloc(1, sizeof(struct port_set));
	c.taken[1] = xcalloc(1, sizeof(struct port_set));
	held_collect(&c);

	/* the file's bindings, fixed ones first: picks go around them */
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < s->n_svcs; i++) {
			const struct service *svc = &s->svcs[i];
			int ep, net;

			/* no replica to answer (replicas: 0): nothing is published */
			if (svc->mode != NET_MODE_BRIDGE || !backend_of(s, (int)i, &ep, &net))
				continue;
			for (size_t j = 0; j < svc->n_ports; j++) {
				const struct port_spec *it = &svc->ports[j];
				bool fixed = it->host_lo && !it->n_to_one;

				if (fixed != !pass || it->proto == PORT_SCTP)
					continue;
				if (!fixed) {
					/* one host port for the single target, or one per target */
					for (unsigned t = it->target_lo; t <= it->target_hi; t++)
						binding_add(pl, (int)i, ep, net, it, (uint16_t)t);
					continue;
				}
				for (unsigned t = it->target_lo; t <= it->target_hi && !err; t++) {
					struct pub_binding *b = binding_add(pl, (int)i, ep, net, it,
									    (uint16_t)t);

					b->host_port = (uint16_t)(it->host_lo + (t - it->target_lo));
					port_set_add(c.taken[proto_idx(b->proto)], b->host_port,
						     b->host_port);
					err = fixed_check(&c, b);
				}
			}
			if (err)
				goto out;
		}
	}
	/* ports picked by an earlier up stay with their item, then the others get new ones */
	first_picked = 0;
	while (first_picked < pl->n && !pl->b[first_picked].random &&
	       !pl->b[first_picked].first_free)
		first_picked++;
	for (size_t i = first_picked; i < pl->n; i++) {
		struct pub_binding *b = &pl->b[i];

		b->host_port = sticky_find(&c, b);
		if (b->host_port)
			port_set_add(c.taken[proto_idx(b->proto)], b->host_port, b->host_port);
	}
	for (size_t i = first_picked; i < pl->n && !err; i++) {
		struct pub_binding *b = &pl->b[i];

		if (b->host_port)
			continue;
		err = pick(&c, b);
		if (b->host_port)
			port_set_add(c.taken[proto_idx(b->proto)], b->host_port, b->host_port);
	}
out:
	free(c.taken[0]);
	free(c.taken[1]);
	free(c.others);
	free(c.mine);
	free(c.sticky);
	if (!err && c.errors)
		err = PUB_USER_ERROR;
	if (err)
		pub_plan_free(pl);
	return err;
}

void pub_plan_free(struct pub_plan *pl)
{
	free(pl->b);
	pl->b = NULL;
	pl->n = 0;
}
