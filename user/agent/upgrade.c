// SPDX-License-Identifier: GPL-2.0-only
#include "upgrade.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <json.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <berth/maps.h>

#include "agent.h"
#include "dp.h"
#include "instance.h"
#include "ipv4.h"
#include "jsonx.h"
#include "netns.h"
#include "pin.h"
#include "sockhook.h"

/* Where a load pins this build's programs until they replace the instance's. */
#define NEW_SUFFIX "_new"	/* bpffs refuses names with a dot */

struct upg {
	struct instance *in;
	const char *dir;	/* the pin directory */
	bool verbose;
	int ep_fd;		/* berth_ep_v2, once migrated: berth_ip_v1's slots come from it */
	char **before;		/* the pins before the load, NULL-terminated */
	char done[512];		/* what changed, for the closing line */
};

static void note(struct upg *u, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void note(struct upg *u, const char *fmt, ...)
{
	size_t n = strlen(u->done);
	va_list ap;

	if (n + 3 >= sizeof(u->done))
		return;
	if (n)
		n += (size_t)snprintf(u->done + n, sizeof(u->done) - n, "; ");
	va_start(ap, fmt);
	vsnprintf(u->done + n, sizeof(u->done) - n, fmt, ap);
	va_end(ap);
}

static void pin_remove(const char *dir, const char *name)
{
	char path[600];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	unlink(path);
}

/* The names pinned under @dir, NULL-terminated (NULL with errno on failure). */
static char **pins_list(const char *dir)
{
	struct dirent *e;
	char **names;
	size_t n = 0;
	DIR *d;

	d = opendir(dir);
	if (!d)
		return NULL;
	names = calloc(1, sizeof(*names));
	while (names && (e = readdir(d))) {
		char **grown;

		if (e->d_name[0] == '.')
			continue;
		grown = realloc(names, (n + 2) * sizeof(*names));
		if (!grown) {
			for (size_t i = 0; i < n; i++)
				free(names[i]);
			free(names);
			names = NULL;
			errno = ENOMEM;
			break;
		}
		names = grown;
		names[n] = strdup(e->d_name);
		names[++n] = NULL;
	}
	closedir(d);
	return names;
}

static void pins_free(char **names)
{
	for (size_t i = 0; names && names[i]; i++)
		free(names[i]);
	free(names);
}

static bool pins_has(char **names, const char *name)
{
	for (size_t i = 0; names && names[i]; i++)
		if (!strcmp(names[i], name))
			return true;
	return false;
}

/* ---- what state.json says ---- */

static struct json_object *projects_of(struct instance *in)
{
	struct json_object *ps;

	return json_object_object_get_ex(in->state, "projects", &ps) &&
			       json_object_is_type(ps, json_type_object)
		       ? ps
		       : NULL;
}

/* The identity of the service whose endpoint has host-side veth @ifindex (0: none). */
static uint32_t state_identity(struct instance *in, uint32_t ifindex)
{
	struct json_object *ps = projects_of(in), *ids, *v;

	if (!ps)
		return 0;
	json_object_object_foreach(ps, name, p) {
		struct json_object *eps = jarr_get(p, "endpoints");

		(void)name;
		for (size_t i = 0; i < jlen(eps); i++) {
			struct json_object *e = json_object_array_get_idx(eps, i);
			struct json_object *ifs = jarr_get(e, "interfaces");
			const char *svc = jstr(e, "service");

			for (size_t j = 0; j < jlen(ifs); j++) {
				if (jint(json_object_array_get_idx(ifs, j), "host_ifindex") != ifindex)
					continue;
				if (svc && json_object_object_get_ex(p, "identities", &ids) &&
				    json_object_object_get_ex(ids, svc, &v))
					return (uint32_t)json_object_get_int64(v);
				return 0;
			}
		}
	}
	return 0;
}

/*
 * Builds before policy identities recorded none. Each project's services get
 * theirs now, the way `up` hands them out (apply.c: identities_assign, from
 * identity_next, never reused), so that the migrated entries carry the
 * identities the next policy is compiled with: `up` keeps recorded ones.
 */
static int identities_fill(struct upg *u)
{
	struct json_object *ps = projects_of(u->in), *ids;
	int64_t next = instance_identity_next(u->in);
	bool changed = false;

	if (!ps)
		return 0;
	json_object_object_foreach(ps, name, p) {
		struct json_object *eps = jarr_get(p, "endpoints");

		(void)name;
		if (json_object_object_get_ex(p, "identities", &ids))
			continue;
		ids = json_object_new_object();
		for (size_t i = 0; i < jlen(eps); i++) {
			const char *svc = jstr(json_object_array_get_idx(eps, i), "service");

			if (svc && !json_object_object_get_ex(ids, svc, NULL))
				json_object_object_add(ids, svc, json_object_new_int64(next++));
		}
		json_object_object_add(p, "identities", ids);
		changed = true;
	}
	if (!changed)
		return 0;
	json_object_object_add(u->in->state, "identity_next", json_object_new_int64(next));
	return instance_save(u->in);
}

/* ---- migrating old-layout maps ---- */

typedef int (*convert_fn)(struct upg *u, const void *key, const void *old, uint32_t old_size,
			  void *out);

static int ep_convert(struct upg *u, const void *key, const void *old, uint32_t old_size,
		      void *out)
{
	struct berth_ep *ep = out;
	const struct berth_ep_v1_layout *o = old;
	uint32_t ifindex;

	if (old_size == sizeof(struct berth_ep)) {
		memcpy(out, old, sizeof(struct berth_ep));
		return 0;
	}
	if (old_size != sizeof(struct berth_ep_v1_layout))
		return -EPROTO;
	memcpy(&ifindex, key, sizeof(ifindex));
	memset(ep, 0, sizeof(*ep));
	ep->net_id = o->net_id;
	ep->slot = o->slot;
	ep->ip = o->ip;
	memcpy(ep->mac, o->mac, sizeof(ep->mac));
	memcpy(ep->host_mac, o->host_mac, sizeof(ep->host_mac));
	ep->identity = state_identity(u->in, ifindex);
	return 0;
}

static int ip_convert(struct upg *u, const void *key, const void *old, uint32_t old_size,
		      void *out)
{
	const struct berth_ip_v1_layout *o = old;
	struct berth_ip *ip = out;
	struct berth_ep ep;

	(void)key;
	if (old_size == sizeof(struct berth_ip)) {
		memcpy(out, old, sizeof(struct berth_ip));
		return 0;
	}
	if (old_size != sizeof(struct berth_ip_v1_layout))
		return -EPROTO;
	memset(ip, 0, sizeof(*ip));
	ip->net_id = o->net_id;
	ip->ifindex = o->ifindex;
	memcpy(ip->mac, o->mac, sizeof(ip->mac));
	/* slot and identity are the interface's: berth_ep_v2 has them by now */
	if (!bpf_map_lookup_elem(u->ep_fd, &o->ifindex, &ep)) {
		ip->identity = ep.identity;
		ip->slot = ep.slot;
	}
	return 0;
}

static int map_info(int fd, struct bpf_map_info *info)
{
	__u32 len = sizeof(*info);

	memset(info, 0, sizeof(*info));
	return bpf_obj_get_info_by_fd(fd, info, &len) ? -errno : 0;
}

/*
 * Every entry of @from (absent: nothing to do) into @to, converted. @to is
 * written over: a later try of an upgrade that failed copies again what
 * the old programs, still attached then, kept up to date.
 */
static int migrate(struct upg *u, const char *from, const char *to, convert_fn convert)
{
	unsigned char key[64], next[64], old[256], out[256];
	struct bpf_map_info fi, ti;
	int ffd, tfd, err = 0;
	bool first = true;
	uint64_t n = 0;

	ffd = pin_get(u->dir, from);
	if (ffd == -ENOENT)
		return 0;
	if (ffd < 0)
		return ffd;
	tfd = pin_get(u->dir, to);
	if (tfd < 0) {
		close(ffd);
		return tfd;
	}
	err = map_info(ffd, &fi);
	if (!err)
		err = map_info(tfd, &ti);
	if (!err && (fi.key_size != ti.key_size || fi.key_size > sizeof(key) ||
		     fi.value_size > sizeof(old) || ti.value_size > sizeof(out)))
		err = -EPROTO;
	while (!err && !bpf_map_get_next_key(ffd, first ? NULL : key, next)) {
		first = false;
		memcpy(key, next, fi.key_size);
		if (bpf_map_lookup_elem(ffd, key, old))
			continue;	/* gone meanwhile */
		memset(out, 0, sizeof(out));
		err = convert(u, key, old, fi.value_size, out);
		if (!err && bpf_map_update_elem(tfd, key, out, BPF_ANY))
			err = -errno;
		n++;
	}
	if (!err && errno != ENOENT)
		err = -errno;
	if (err == -EPROTO)
		fprintf(stderr, "berth: %s/%s: values of %u bytes, a layout this build does not know: cannot move them into %s\n",
			u->dir, from, fi.value_size, to);
	else if (err)
		fprintf(stderr, "berth: copy %s/%s into %s: %s\n", u->dir, from, to, strerror(-err));
	else
		note(u, "%s → %s (%" PRIu64 " entries)", from, to, n);
	close(ffd);
	close(tfd);
	return err;
}

/*
 * Every map an older build pinned that this one does not, and what becomes
 * of it, in order (berth_ip_v1 reads berth_ep_v2). A layout change adds a
 * line here: an unknown old map stops the upgrade before anything changes
 * rather than being unpinned with what it held. No convert: dropped.
 */
static const struct {
	const char *from, *to;
	convert_fn convert;
} migrations[] = {
	{ "berth_ep_v1", "berth_ep_v2", ep_convert },
	{ "berth_ip_v1", "berth_ip_v2", ip_convert },
};

static int migrations_check(struct upg *u)
{
	for (size_t i = 0; u->before[i]; i++) {
		const char *name = u->before[i];
		bool known = false;

		if (strncmp(name, "berth_", 6) || dp_map_known(name))
			continue;
		for (size_t m = 0; m < sizeof(migrations) / sizeof(migrations[0]); m++)
			known = known || !strcmp(migrations[m].from, name);
		if (!known) {
			fprintf(stderr, "berth: %s/%s: a map this build has no migration for (a newer berth's?): not upgraded\n",
				u->dir, name);
			return -EPROTO;
		}
	}
	return 0;
}

static int migrations_run(struct upg *u)
{
	int err = 0;

	for (size_t m = 0; !err && m < sizeof(migrations) / sizeof(migrations[0]); m++) {
		if (!migrations[m].convert)
			continue;
		err = migrate(u, migrations[m].from, migrations[m].to, migrations[m].convert);
		if (!err && !strcmp(migrations[m].to, "berth_ep_v2")) {
			u->ep_fd = pin_get(u->dir, "berth_ep_v2");
			err = u->ep_fd < 0 ? u->ep_fd : 0;
		}
	}
	return err;
}

/* berth_subnet_v1, when this load made it: every network's subnet, as net_add writes it. */
static int subnets_fill(struct upg *u)
{
	struct json_object *ps = projects_of(u->in);
	int fd, err = 0, n = 0;

	if (pins_has(u->before, "berth_subnet_v1") || !ps)
		return 0;
	fd = pin_get(u->dir, "berth_subnet_v1");
	if (fd < 0)
		return fd;
	json_object_object_foreach(ps, name, p) {
		struct json_object *nets = jarr_get(p, "networks");

		(void)name;
		for (size_t i = 0; !err && i < jlen(nets); i++) {
			struct json_object *net = json_object_array_get_idx(nets, i);
			const char *s = jstr(net, "subnet");
			struct berth_subnet_key k = { 0 };
			struct ipv4_prefix pf;
			__u32 id = (__u32)jint(net, "id");

			if (!s || ipv4_prefix_parse(s, &pf))
				continue;
			k.prefixlen = pf.len;
			k.addr = htonl(pf.addr);
			if (bpf_map_update_elem(fd, &k, &id, BPF_ANY))
				err = -errno;
			n++;
		}
	}
	close(fd);
	if (err)
		fprintf(stderr, "berth: fill %s/berth_subnet_v1: %s\n", u->dir, strerror(-err));
	else
		note(u, "berth_subnet_v1 filled (%d subnets)", n);
	return err;
}

/* ---- switching programs ---- */

/* Leftovers of an upgrade cut short: programs loaded but never switched to. */
static void new_pins_remove(const char *dir)
{
	static const char *const pins[] = { DP_PIN_ENDPOINT, DP_PIN_DNS, DP_PIN_UPLINK,
					    SOCKHOOK_PROG_PINS };

	for (size_t i = 0; i < sizeof(pins) / sizeof(pins[0]); i++) {
		char name[64];

		snprintf(name, sizeof(name), "%s" NEW_SUFFIX, pins[i]);
		pin_remove(dir, name);
	}
}

/* A load that failed: its programs, and the maps it created, which nothing uses. */
static void load_undo(struct upg *u)
{
	char **now = pins_list(u->dir);

	new_pins_remove(u->dir);
	for (size_t i = 0; now && now[i]; i++)
		if (!pins_has(u->before, now[i]) && !strncmp(now[i], "berth_", 6))
			pin_remove(u->dir, now[i]);
	pins_free(now);
}

/* prog_*_new over prog_*: whoever opens a pin from now on gets this build's program. */
static int pins_switch(struct upg *u)
{
	static const char *const pins[] = { DP_PIN_ENDPOINT, DP_PIN_DNS, DP_PIN_UPLINK,
					    SOCKHOOK_PROG_PINS };

	for (size_t i = 0; i < sizeof(pins) / sizeof(pins[0]); i++) {
		char from[600], to[600];

		snprintf(from, sizeof(from), "%s/%s" NEW_SUFFIX, u->dir, pins[i]);
		snprintf(to, sizeof(to), "%s/%s", u->dir, pins[i]);
		if (rename(from, to)) {
			int err = -errno;

			fprintf(stderr, "berth: rename %s to %s: %s\n", from, to, strerror(-err));
			return err;
		}
	}
	return 0;
}

/*
 * Every attach point the state knows, on this build's programs: tc replaces
 * berth's filter (its handle and priority) in place, so no packet meets
 * none. An interface or namespace that is gone is skipped with a warning;
 * any other failure is returned after the rest is done.
 */
static int reattach(struct upg *u, const struct dp *progs)
{
	struct json_object *ps = projects_of(u->in);
	int err = 0, e, veths = 0, lo = 0;
	const char *up = jstr(u->in->state, "uplink");
	char uplink[64] = "";

	json_object_object_foreach(ps, name, p) {
		struct json_object *eps = jarr_get(p, "endpoints");

		(void)name;
		for (size_t i = 0; i < jlen(eps); i++) {
			struct json_object *ep = json_object_array_get_idx(eps, i);
			struct json_object *ifs = jarr_get(ep, "interfaces");
			const char *ns = jstr(ep, "namespace"), *mode = jstr(ep, "mode");

			for (size_t j = 0; j < jlen(ifs); j++) {
				const char *host = jstr(json_object_array_get_idx(ifs, j),
							"host_interface");
				int ifindex = host ? (int)if_nametoindex(host) : 0;

				if (!ifindex) {
					fprintf(stderr, "berth: warning: %s of endpoint %s is gone: not attached\n",
						host ? host : "an interface", jstr(ep, "name"));
					continue;
				}
				e = dp_attach(progs, ifindex);
				if (e) {
					fprintf(stderr, "berth: attach the endpoint program to %s: %s\n",
						host, strerror(-e));
					err = err ? err : e;
					continue;
				}
				veths++;
			}
			/* apply attaches the DNS program in bridge-mode endpoints only */
			if (ns && mode && !strcmp(mode, "bridge")) {
				int fd = netns_open(ns);

				if (fd < 0) {
					fprintf(stderr, "berth: warning: namespace %s is gone: not attached\n",
						ns);
					continue;
				}
				e = dp_attach_lo(progs, fd);
				close(fd);
				if (e) {
					fprintf(stderr, "berth: attach the DNS program to lo in %s: %s\n",
						ns, strerror(-e));
					err = err ? err : e;
					continue;
				}
				lo++;
			}
		}
	}
	/* the uplink berth's filter is on: by the index the datapath holds, else by name */
	{
		struct berth_cfg cfg;
		__u32 zero = 0;
		int fd = pin_get(u->dir, "berth_cfg_v1"), ifindex = 0;

		if (fd >= 0 && !bpf_map_lookup_elem(fd, &zero, &cfg) &&
		    (cfg.flags & BERTH_CFG_UPLINK) && cfg.uplink_ifindex)
			ifindex = (int)cfg.uplink_ifindex;
		if (fd >= 0)
			close(fd);
		if (!ifindex && up && *up)
			ifindex = (int)if_nametoindex(up);
		if (ifindex) {
			e = dp_attach_uplink(progs, ifindex);
			if (e) {
				fprintf(stderr, "berth: attach the uplink program to ifindex %d: %s\n",
					ifindex, strerror(-e));
				err = err ? err : e;
			} else if (!if_indextoname((unsigned)ifindex, uplink)) {
				snprintf(uplink, sizeof(uplink), "ifindex %d", ifindex);
			}
		}
	}
	/* the instance's socket links, when it has them: swapped in place (BPF_LINK_UPDATE) */
	e = sockhook_relink(u->dir);
	err = err ? err : e;
	note(u, "programs replaced on %d host-side veths, lo of %d endpoints%s%s", veths, lo,
	     *uplink ? " and the uplink " : "", uplink);
	return err;
}

/* The maps this build does not have: the old programs, now detached, were their last users. */
static int old_maps_unpin(struct upg *u)
{
	char **now = pins_list(u->dir), gone[256] = "";
	int err = 0;

	if (!now)
		return -errno;
	for (size_t i = 0; now[i]; i++) {
		char path[600];

		if (strncmp(now[i], "berth_", 6) || dp_map_known(now[i]))
			continue;
		snprintf(path, sizeof(path), "%s/%s", u->dir, now[i]);
		if (unlink(path)) {
			err = -errno;
			fprintf(stderr, "berth: unpin %s: %s\n", path, strerror(-err));
			break;
		}
		snprintf(gone + strlen(gone), sizeof(gone) - strlen(gone), "%s%s", *gone ? ", " : "",
			 now[i]);
	}
	if (*gone)
		note(u, "unpinned %s", gone);
	pins_free(now);
	return err;
}

int dp_upgrade(struct instance *in, const struct dp_sizes *sizes, bool verbose, bool quiet)
{
	struct upg u = { .in = in, .dir = in->pin_dir, .verbose = verbose, .ep_fd = -1 };
	char from[40] = "a build that recorded none";
	bool switched = false;
	struct dp progs;
	uint64_t old_fp;
	int err;

	if (dp_status(in->pin_dir) != DP_OTHER)
		return 0;
	if (!dp_fingerprint_read(in->pin_dir, &old_fp))
		snprintf(from, sizeof(from), "%016" PRIx64, old_fp);
	if (!quiet)
		fprintf(stderr, "berth: instance %s runs the datapath of another build (%s): upgrading it to this build's (%016" PRIx64 ")\n",
			in->name, from, dp_fingerprint());
	new_pins_remove(in->pin_dir);
	u.before = pins_list(in->pin_dir);
	if (!u.before) {
		err = -errno;
		fprintf(stderr, "berth: read %s: %s\n", in->pin_dir, strerror(-err));
		return err;
	}

	err = migrations_check(&u);
	if (err)
		goto out;
	/* 1. this build's objects beside the old ones; nothing runs them yet */
	err = dp_load(in->pin_dir, NEW_SUFFIX, sizes, verbose);
	if (err) {
		fprintf(stderr, "berth: load this build's BPF objects into %s: %s\n", in->pin_dir,
			strerror(-err));
		goto undo;
	}
	/* 2. the maps they have and the old ones did not, filled */
	err = pins_has(u.before, "berth_ep_v1") ? identities_fill(&u) : 0;
	if (err)
		fprintf(stderr, "berth: record the identities in the state: %s\n", strerror(-err));
	if (!err)
		err = migrations_run(&u);
	if (!err)
		err = subnets_fill(&u);
	if (err)
		goto undo;
	/* 3. the pins name the new programs */
	err = pins_switch(&u);
	switched = true;
	if (err)
		goto out;
	/* 4. and every hook runs them */
	memset(&progs, -1, sizeof(progs));
	progs.stale = false;
	progs.prog_fd = pin_get(in->pin_dir, DP_PIN_ENDPOINT);
	progs.dns_prog_fd = pin_get(in->pin_dir, DP_PIN_DNS);
	progs.uplink_prog_fd = pin_get(in->pin_dir, DP_PIN_UPLINK);
	if (progs.prog_fd < 0 || progs.dns_prog_fd < 0 || progs.uplink_prog_fd < 0) {
		err = progs.prog_fd < 0 ? progs.prog_fd
		      : progs.dns_prog_fd < 0 ? progs.dns_prog_fd
					      : progs.uplink_prog_fd;
		fprintf(stderr, "berth: open the programs pinned in %s: %s\n", in->pin_dir,
			strerror(-err));
	} else {
		err = reattach(&u, &progs);
	}
	dp_close(&progs);
	if (err)
		goto out;
	/* 5. the old maps go; the fingerprint says the upgrade is complete */
	err = old_maps_unpin(&u);
	if (!err)
		err = dp_fingerprint_write(in->pin_dir);
	if (err) {
		fprintf(stderr, "berth: record the datapath of instance %s: %s\n", in->name,
			strerror(-err));
		goto out;
	}
	/* the agent (DNS, conntrack GC) of the old build goes too; this build's takes over */
	if (agent_stop(in) || agent_ensure(in, verbose))
		fprintf(stderr, "berth: warning: the agent of instance %s was not restarted (see %s/agent.log)\n",
			in->name, in->run_dir);
	if (!quiet)
		fprintf(stderr, "berth: instance %s upgraded: %s\n", in->name, u.done);
	goto out;
undo:
	load_undo(&u);
out:
	if (err && !switched)
		fprintf(stderr, "berth: the datapath of instance %s was not upgraded: it runs as it was, and the next berth up tries again\n",
			in->name);
	else if (err)
		fprintf(stderr, "berth: the upgrade of instance %s's datapath is not complete: each hook runs the old program or the new one, on its own maps; the next berth up completes it\n",
			in->name);
	if (u.ep_fd >= 0)
		close(u.ep_fd);
	pins_free(u.before);
	return err;
}
