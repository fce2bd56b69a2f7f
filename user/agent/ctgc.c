// SPDX-License-Identifier: GPL-2.0-only
/*
 * Conntrack garbage collection over the pinned maps.
 *
 * Walking a hash map with bpf_map_get_next_key() while deleting from it is
 * unsafe: asked for the key after one that is gone, the kernel starts over
 * from the first bucket. So a walk only collects the keys it would delete,
 * deletes them in batches, and resumes after the last entry it knows still
 * exists. Entries BPF removes under the walk can still send it back to the
 * start, so every walk is bounded by a number of steps proportional to the
 * map's size; the next pass finishes what a bounded one left.
 *
 * Between the walk's look and the delete, a packet may refresh a flow: each
 * candidate is looked up and judged again right before it is deleted, which
 * narrows that window from the length of a walk to two syscalls.
 */
#include "ctgc.h"

#include <bpf/bpf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <berth/ct.h>

#define WALK_BATCH 1024	/* keys collected before they are deleted */

struct ct_gc_orphan {
	struct berth_ct_key nat;	/* the NAT entry's key */
	struct berth_nat val;		/* and its value when it was found orphaned */
};

/* ---- opening and checking the maps ---- */

static int pin_get(const char *dir, const char *name)
{
	char path[600];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = bpf_obj_get(path);
	return fd < 0 ? -errno : fd;
}

int ct_maps_open(struct ct_maps *m, const char *pin_dir)
{
	m->cfg_fd = pin_get(pin_dir, "berth_cfg_v1");
	m->ct_fd = pin_get(pin_dir, "berth_ct_v1");
	m->nat_fd = pin_get(pin_dir, "berth_nat_v1");
	if (m->cfg_fd >= 0 && m->ct_fd >= 0 && m->nat_fd >= 0)
		return 0;
	{
		int err = m->cfg_fd < 0 ? m->cfg_fd : m->ct_fd < 0 ? m->ct_fd : m->nat_fd;

		ct_maps_close(m);
		return err;
	}
}

void ct_maps_close(struct ct_maps *m)
{
	if (m->cfg_fd >= 0)
		close(m->cfg_fd);
	if (m->ct_fd >= 0)
		close(m->ct_fd);
	if (m->nat_fd >= 0)
		close(m->nat_fd);
	m->cfg_fd = m->ct_fd = m->nat_fd = -1;
}

/* A map of the layout this code was built for, or -EINVAL: never misread another. */
static int map_check(int fd, uint32_t key_size, uint32_t value_size, uint32_t *max_entries)
{
	struct bpf_map_info info;
	uint32_t len = sizeof(info);

	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return -errno;
	if (info.key_size != key_size || info.value_size != value_size)
		return -EINVAL;
	if (max_entries)
		*max_entries = info.max_entries;
	return 0;
}

uint64_t ct_clock_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void timeout_or(__u32 *t, __u32 def)
{
	if (!*t)
		*t = def;
}

/* The timeouts of berth_cfg_v1, a 0 (never set) replaced by ct.h's default. */
static int cfg_read(const struct ct_maps *m, struct berth_cfg *cfg)
{
	struct berth_cfg def;
	uint32_t zero = 0;
	int err;

	err = map_check(m->cfg_fd, sizeof(zero), sizeof(*cfg), NULL);
	if (err)
		return err;
	if (bpf_map_lookup_elem(m->cfg_fd, &zero, cfg))
		return -errno;
	berth_ct_default_timeouts(&def);
	timeout_or(&cfg->tcp_syn_timeout, def.tcp_syn_timeout);
	timeout_or(&cfg->tcp_est_timeout, def.tcp_est_timeout);
	timeout_or(&cfg->tcp_fin_timeout, def.tcp_fin_timeout);
	timeout_or(&cfg->tcp_close_timeout, def.tcp_close_timeout);
	timeout_or(&cfg->udp_timeout, def.udp_timeout);
	timeout_or(&cfg->udp_stream_timeout, def.udp_stream_timeout);
	timeout_or(&cfg->icmp_timeout, def.icmp_timeout);
	return 0;
}

/* ---- a bounded walk that deletes in batches ---- */

enum drop_result { DROP_KEPT, DROP_REMOVED, DROP_GONE };

struct walk {
	int fd;
	uint64_t max_steps;
	/* 1: a candidate for deletion, 0: keep, <0: error */
	int (*pick)(struct walk *w, const struct berth_ct_key *k, const void *v);
	/* judge a candidate again and delete it: enum drop_result, or <0 */
	int (*drop)(struct walk *w, const struct berth_ct_key *k);
	uint64_t scanned, kept, removed;
	bool truncated;
};

struct cand {
	struct berth_ct_key k;
	uint64_t step;		/* position in the walk */
};

/*
 * Delete the batch; *@resume is the position of the last candidate kept,
 * which still exists and may be where the walk goes on.
 */
static int walk_flush(struct walk *w, struct cand *batch, size_t *n, const struct cand **resume)
{
	*resume = NULL;
	for (size_t i = 0; i < *n; i++) {
		int r = w->drop(w, &batch[i].k);

		if (r < 0)
			return r;
		if (r == DROP_REMOVED) {
			w->removed++;
		} else if (r == DROP_KEPT) {
			w->kept++;
			*resume = &batch[i];
		}
	}
	*n = 0;
	return 0;
}

static int walk(struct walk *w)
{
	struct cand *batch, live = { 0 };
	const struct cand *resume;
	struct berth_ct_key cur, next;
	/* the largest value walked is struct berth_ct (40 bytes) */
	uint64_t val[8];
	bool have_cur = false, have_live = false;
	uint64_t steps = 0;
	size_t n = 0;
	int err = 0;

	batch = malloc(WALK_BATCH * sizeof(*batch));
	if (!batch)
		return -ENOMEM;
	memset(&cur, 0, sizeof(cur));
	for (;;) {
		if (bpf_map_get_next_key(w->fd, have_cur ? &cur : NULL, &next)) {
			if (errno != ENOENT)
				err = -errno;
			break;
		}
		if (++steps > w->max_steps) {
			w->truncated = true;
			break;
		}
		/* gone since: cur still exists, and the next key after it is now another */
		if (bpf_map_lookup_elem(w->fd, &next, val)) {
			if (errno == ENOENT)
				continue;
			err = -errno;
			break;
		}
		cur = next;
		have_cur = true;
		w->scanned++;
		err = w->pick(w, &cur, val);
		if (err < 0)
			break;
		if (!err) {
			w->kept++;
			live = (struct cand){ cur, steps };
			have_live = true;
			continue;
		}
		err = 0;
		batch[n++] = (struct cand){ cur, steps };
		if (n < WALK_BATCH)
			continue;
		err = walk_flush(w, batch, &n, &resume);
		if (err)
			break;
		/* go on after the last entry that is still there: the ones after it are deleted */
		if (resume && (!have_live || resume->step > live.step)) {
			live = *resume;
			have_live = true;
		}
		cur = live.k;
		have_cur = have_live;
	}
	if (!err)
		err = walk_flush(w, batch, &n, &resume);
	free(batch);
	return err;
}

/* ---- conntrack entries ---- */

enum ct_mode { CT_EXPIRED, CT_IFINDEX, CT_ALL };

struct ct_walk {
	struct walk w;
	const struct ct_maps *m;
	enum ct_mode mode;
	struct berth_cfg cfg;
	uint64_t now_ns;
	uint32_t ifindex;
	uint64_t nat_removed;
};

#define CT_WALK(wp) ((struct ct_walk *)((char *)(wp) - offsetof(struct ct_walk, w)))

static bool ct_doomed(const struct ct_walk *c, const struct berth_ct_key *k,
		      const struct berth_ct *v)
{
	switch (c->mode) {
	case CT_EXPIRED:
		return berth_ct_expired(&c->cfg, k, v, c->now_ns);
	case CT_IFINDEX:
		return v->ifindex == c->ifindex;
	default:
		return true;
	}
}

static int ct_pick(struct walk *w, const struct berth_ct_key *k, const void *v)
{
	return ct_doomed(CT_WALK(w), k, v);
}

/* The NAT entry of a masqueraded flow: its reply tuple as it arrives on the uplink. */
static struct berth_ct_key ct_nat_key(const struct berth_ct_key *k, const struct berth_ct *v)
{
	struct berth_ct_key n;

	memset(&n, 0, sizeof(n));
	n.saddr = k->daddr;
	n.daddr = v->nat_addr;
	n.sport = k->dport;	/* ICMP echo: 0, as in the reply's key */
	n.dport = v->nat_port;
	n.proto = k->proto;
	return n;
}

static int ct_drop(struct walk *w, const struct berth_ct_key *k)
{
	struct ct_walk *c = CT_WALK(w);
	struct berth_ct v;
	struct berth_nat nv;
	struct berth_ct_key nk;

	if (bpf_map_lookup_elem(w->fd, k, &v))
		return errno == ENOENT ? DROP_GONE : -errno;
	if (!ct_doomed(c, k, &v))
		return DROP_KEPT;	/* a packet came meanwhile */
	if (bpf_map_delete_elem(w->fd, k))
		return errno == ENOENT ? DROP_GONE : -errno;
	if (!(v.flags & BERTH_CT_SNAT))
		return DROP_REMOVED;
	/* flow first, then its translation: the reverse of the order BPF creates them in */
	nk = ct_nat_key(k, &v);
	if (bpf_map_lookup_elem(c->m->nat_fd, &nk, &nv)) {
		if (errno != ENOENT)
			return -errno;
	} else if (!memcmp(&nv.ct, k, sizeof(*k))) {
		/* only this flow's: a new flow may already hold the port */
		if (!bpf_map_delete_elem(c->m->nat_fd, &nk))
			c->nat_removed++;
		else if (errno != ENOENT)
			return -errno;
	}
	return DROP_REMOVED;
}

static int ct_walk_run(struct ct_walk *c)
{
	uint32_t max;
	int err;

	err = map_check(c->m->ct_fd, sizeof(struct berth_ct_key), sizeof(struct berth_ct), &max);
	if (!err)
		err = map_check(c->m->nat_fd, sizeof(struct berth_ct_key), sizeof(struct berth_nat),
				NULL);
	if (err)
		return err;
	c->w.fd = c->m->ct_fd;
	c->w.max_steps = 2 * (uint64_t)max + WALK_BATCH;
	c->w.pick = ct_pick;
	c->w.drop = ct_drop;
	return walk(&c->w);
}

/* ---- NAT entries ---- */

struct nat_walk {
	struct walk w;
	const struct ct_maps *m;
	bool all;			/* ct_flush_all: every entry goes */
	const struct ct_gc_state *prev;	/* orphans of the last pass (NULL: remove none) */
	struct ct_gc_orphan *seen;	/* orphans of this pass, kept for the next */
	size_t n_seen, cap_seen;
};

#define NAT_WALK(wp) ((struct nat_walk *)((char *)(wp) - offsetof(struct nat_walk, w)))

static int orphan_cmp(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct ct_gc_orphan));
}

/* 1 if the entry's flow is missing, 0 if not, or -errno */
static int nat_orphaned(const struct nat_walk *n, const struct berth_nat *v)
{
	struct berth_ct ct;

	if (!bpf_map_lookup_elem(n->m->ct_fd, &v->ct, &ct))
		return 0;
	return errno == ENOENT ? 1 : -errno;
}

/* Was (@k, @v) orphaned in the last pass already? */
static bool nat_was_orphan(const struct nat_walk *n, const struct berth_ct_key *k,
			   const struct berth_nat *v)
{
	struct ct_gc_orphan o;

	if (!n->prev || !n->prev->n_orphans)
		return false;
	memset(&o, 0, sizeof(o));
	o.nat = *k;
	o.val = *v;
	return bsearch(&o, n->prev->orphans, n->prev->n_orphans, sizeof(o), orphan_cmp) != NULL;
}

static int nat_pick(struct walk *w, const struct berth_ct_key *k, const void *vp)
{
	struct nat_walk *n = NAT_WALK(w);
	const struct berth_nat *v = vp;
	int r;

	if (n->all)
		return 1;
	r = nat_orphaned(n, v);
	if (r <= 0)
		return r;
	if (nat_was_orphan(n, k, v))
		return 1;
	/* maybe a flow being created: remembered, and removed next pass if still orphaned */
	if (n->n_seen == n->cap_seen) {
		size_t cap = n->cap_seen ? 2 * n->cap_seen : 64;
		struct ct_gc_orphan *s = realloc(n->seen, cap * sizeof(*s));

		if (!s)
			return -ENOMEM;
		n->seen = s;
		n->cap_seen = cap;
	}
	memset(&n->seen[n->n_seen], 0, sizeof(n->seen[0]));
	n->seen[n->n_seen].nat = *k;
	n->seen[n->n_seen].val = *v;
	n->n_seen++;
	return 0;
}

static int nat_drop(struct walk *w, const struct berth_ct_key *k)
{
	struct nat_walk *n = NAT_WALK(w);
	struct berth_nat v;
	int r;

	if (bpf_map_lookup_elem(w->fd, k, &v))
		return errno == ENOENT ? DROP_GONE : -errno;
	if (!n->all) {
		r = nat_orphaned(n, &v);
		if (r < 0)
			return r;
		/* its flow arrived, or the entry was taken by another flow since */
		if (!r || !nat_was_orphan(n, k, &v))
			return DROP_KEPT;
	}
	if (bpf_map_delete_elem(w->fd, k))
		return errno == ENOENT ? DROP_GONE : -errno;
	return DROP_REMOVED;
}

static int nat_walk_run(struct nat_walk *n)
{
	uint32_t max;
	int err;

	err = map_check(n->m->nat_fd, sizeof(struct berth_ct_key), sizeof(struct berth_nat), &max);
	if (err)
		return err;
	n->w.fd = n->m->nat_fd;
	n->w.max_steps = 2 * (uint64_t)max + WALK_BATCH;
	n->w.pick = nat_pick;
	n->w.drop = nat_drop;
	return walk(&n->w);
}

/* ---- the passes ---- */

void ct_gc_state_free(struct ct_gc_state *gs)
{
	free(gs->orphans);
	gs->orphans = NULL;
	gs->n_orphans = 0;
}

int ct_gc(const struct ct_maps *m, struct ct_gc_state *gs, uint64_t now_ns,
	  struct ct_gc_stats *st)
{
	struct ct_walk c = { .m = m, .mode = CT_EXPIRED, .now_ns = now_ns };
	struct nat_walk n = { .m = m, .prev = gs };
	struct ct_gc_stats local;
	int err;

	if (!st)
		st = &local;
	memset(st, 0, sizeof(*st));
	err = cfg_read(m, &c.cfg);
	if (err)
		return err;
	err = ct_walk_run(&c);
	st->scanned = c.w.scanned;
	st->expired = c.w.removed;
	st->nat = c.nat_removed;
	st->entries = c.w.kept;
	st->truncated = c.w.truncated;
	if (err)
		return err;

	err = nat_walk_run(&n);
	st->orphans = n.w.removed;
	st->nat_entries = n.w.kept;
	st->truncated |= n.w.truncated;
	if (err) {
		free(n.seen);
		return err;
	}
	/* orphans found this pass that a later one may remove; the rest are gone or removed */
	if (n.n_seen)
		qsort(n.seen, n.n_seen, sizeof(*n.seen), orphan_cmp);
	st->pending = n.n_seen;
	if (gs) {
		free(gs->orphans);
		gs->orphans = n.seen;
		gs->n_orphans = n.n_seen;
	} else {
		free(n.seen);
	}
	return 0;
}

int ct_flush_ifindex(const struct ct_maps *m, uint32_t ifindex)
{
	struct ct_walk c = { .m = m, .mode = CT_IFINDEX, .ifindex = ifindex };
	int err = ct_walk_run(&c);

	return err ? err : (int)c.w.removed;
}

int ct_flush_all(const struct ct_maps *m)
{
	struct ct_walk c = { .m = m, .mode = CT_ALL };
	struct nat_walk n = { .m = m, .all = true };
	int err;

	err = ct_walk_run(&c);
	if (!err)
		err = nat_walk_run(&n);
	free(n.seen);
	return err ? err : (int)c.w.removed;
}
