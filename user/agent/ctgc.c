// SPDX-License-Identifier: GPL-2.0-only
/*
 * Conntrack garbage collection over the pinned maps.
 *
 * A walk reads the map with bpf_map_lookup_batch(): a whole bucket range per
 * syscall, resumed by bucket index, so entries deleted under it (by this
 * walk or by BPF) never send it back to the start. Kernels or map types
 * without batch operations get the key walk below.
 *
 * Walking a hash map with bpf_map_get_next_key() while deleting from it is
 * unsafe: asked for the key after one that is gone, the kernel starts over
 * from the first bucket. So the key walk only collects the keys it would
 * delete, deletes them in batches, and resumes after the last entry it knows
 * still exists. Entries BPF removes under the walk can still send it back to
 * the start, so every key walk is bounded by a number of steps proportional
 * to the map's size; the next pass finishes what a bounded one left.
 *
 * Between the walk's look and the delete, a packet may refresh a flow: each
 * candidate for expiry is looked up and judged again right before it is
 * deleted on its own, which narrows that window from the length of a walk
 * to two syscalls. Flushes (an interface going away, everything) do not
 * depend on the clock: their candidates go with bpf_map_delete_batch().
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

#include "pin.h"

#define WALK_BATCH 1024		/* entries a batch lookup reads; keys a key walk collects */
#define WALK_BATCH_MAX 65536	/* a bucket never holds more: beyond, the walk gives up */
#ifndef ENOTSUPP
#define ENOTSUPP 524		/* the kernel's, which reaches userspace from bpf(2) */
#endif

struct ct_gc_orphan {
	struct berth_ct_key nat;	/* the NAT entry's key */
	struct berth_nat val;		/* and its value when it was found orphaned */
};

/* ---- opening and checking the maps ---- */

int ct_maps_open(struct ct_maps *m, const char *pin_dir)
{
	m->key_walk = false;
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

/* ---- the flows a pass keeps, for the NAT walk ---- */

/*
 * The NAT walk asks of every entry whether its flow exists. The conntrack
 * walk just saw the masqueraded flows it keeps: a 64-bit hash of each, in an
 * open addressing set, answers "it exists" without a syscall. Only a positive
 * answer is trusted (a false one merely keeps a NAT entry a pass longer);
 * a miss, a flow created since or a true orphan, is asked of the map.
 */
struct kept_set {
	uint64_t *slot;		/* 0: empty */
	size_t cap, n;		/* cap: a power of two */
	bool failed;		/* out of memory: the set answers nothing */
};

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	x ^= x >> 33;
	return x;
}

static uint64_t key_hash(const struct berth_ct_key *k)
{
	uint64_t a, b, h;

	memcpy(&a, k, sizeof(a));
	memcpy(&b, (const char *)k + sizeof(a), sizeof(b));
	h = mix64(a ^ mix64(b + 0x9e3779b97f4a7c15ull));
	return h ? h : 1;
}

static void kept_insert(uint64_t *slot, size_t cap, uint64_t h)
{
	size_t i = h & (cap - 1);

	while (slot[i] && slot[i] != h)
		i = (i + 1) & (cap - 1);
	slot[i] = h;
}

static void kept_add(struct kept_set *s, const struct berth_ct_key *k)
{
	if (s->failed)
		return;
	/* at most half full */
	if (2 * (s->n + 1) > s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 4096;
		uint64_t *slot = calloc(cap, sizeof(*slot));

		if (!slot) {
			free(s->slot);
			*s = (struct kept_set){ .failed = true };
			return;
		}
		for (size_t i = 0; i < s->cap; i++)
			if (s->slot[i])
				kept_insert(slot, cap, s->slot[i]);
		free(s->slot);
		s->slot = slot;
		s->cap = cap;
	}
	kept_insert(s->slot, s->cap, key_hash(k));
	s->n++;
}

static bool kept_has(const struct kept_set *s, const struct berth_ct_key *k)
{
	uint64_t h;
	size_t i;

	if (!s || !s->n)
		return false;
	h = key_hash(k);
	for (i = h & (s->cap - 1); s->slot[i]; i = (i + 1) & (s->cap - 1))
		if (s->slot[i] == h)
			return true;
	return false;
}

static void kept_free(struct kept_set *s)
{
	free(s->slot);
	*s = (struct kept_set){ 0 };
}

/* ---- walks ---- */

enum drop_result { DROP_KEPT, DROP_REMOVED, DROP_GONE };

struct walk {
	int fd;
	uint32_t value_size;
	uint64_t max_steps;	/* of a key walk */
	bool key_walk;		/* no batch lookups: forced, or the kernel has none */
	bool no_delete_batch;	/* no batch deletes: the kernel has none */
	/*
	 * Candidates stay candidates whatever packets do meanwhile (a flush):
	 * deleted in batches without being judged again.
	 */
	bool timeless;
	/* 1: a candidate for deletion, 0: keep, <0: error */
	int (*pick)(struct walk *w, const struct berth_ct_key *k, const void *v);
	/* judge a candidate again and delete it: enum drop_result, or <0 */
	int (*drop)(struct walk *w, const struct berth_ct_key *k);
	/* a timeless walk: what follows the deletion of (@k, @v), or NULL; 0 or <0 */
	int (*removed_one)(struct walk *w, const struct berth_ct_key *k, const void *v);
	/* an entry the walk keeps (@v NULL: not at hand), or NULL */
	void (*kept_one)(struct walk *w, const struct berth_ct_key *k, const void *v);
	uint64_t scanned, kept, removed;
	bool truncated;
};

static bool batch_unsupported(int err)
{
	return err == EINVAL || err == ENOTSUPP || err == EOPNOTSUPP;
}

static void walk_keep(struct walk *w, const struct berth_ct_key *k, const void *v)
{
	w->kept++;
	if (w->kept_one)
		w->kept_one(w, k, v);
}

/* Judge a candidate again and delete it on its own. */
static int walk_drop(struct walk *w, const struct berth_ct_key *k)
{
	int r = w->drop(w, k);

	if (r == DROP_REMOVED)
		w->removed++;
	else if (r == DROP_KEPT)
		walk_keep(w, k, NULL);
	return r;
}

/* (@k, @v) was deleted; @v points into a batch buffer, maybe unaligned */
static int walk_removed(struct walk *w, const struct berth_ct_key *k, const void *v)
{
	uint64_t val[8];

	w->removed++;
	if (!w->removed_one)
		return 0;
	memcpy(val, v, w->value_size);
	return w->removed_one(w, k, val);
}

/*
 * Delete the candidates @idx of a timeless walk's batch (@keys, @vals): with
 * bpf_map_delete_batch(), which stops at a key that is gone, or one by one.
 */
static int walk_delete(struct walk *w, const struct berth_ct_key *keys, const char *vals,
		       const uint32_t *idx, uint32_t n)
{
	struct berth_ct_key *del;
	uint32_t i = 0;
	int err = 0;

	if (!n)
		return 0;
	del = malloc(n * sizeof(*del));
	if (!del)
		return -ENOMEM;
	for (uint32_t j = 0; j < n; j++)
		del[j] = keys[idx[j]];
	while (i < n && !err && !w->no_delete_batch) {
		uint32_t cnt = n - i, done;
		int e = bpf_map_delete_batch(w->fd, &del[i], &cnt, NULL) ? errno : 0;

		/*
		 * ENOENT: @cnt keys went before the one that is gone. Other errors
		 * may leave @cnt unwritten: the rest go one by one, and a key the
		 * batch did delete then reads as gone.
		 */
		done = !e ? n - i : e == ENOENT ? cnt : 0;
		for (uint32_t j = i; j < i + done && !err; j++)
			err = walk_removed(w, &del[j], vals + (size_t)idx[j] * w->value_size);
		i += done;
		if (e == ENOENT)
			i++;	/* gone meanwhile */
		else if (e)
			w->no_delete_batch = true;
	}
	for (; i < n && !err; i++) {
		if (!bpf_map_delete_elem(w->fd, &del[i]))
			err = walk_removed(w, &del[i], vals + (size_t)idx[i] * w->value_size);
		else if (errno != ENOENT)
			err = -errno;
	}
	free(del);
	return err;
}

/*
 * The batch walk. 1 when the kernel refuses batch lookups of this map (the
 * caller walks key by key), else 0 or -errno.
 */
static int walk_batch(struct walk *w)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	/* the resume point: a bucket index for hash maps; room for any map's */
	uint64_t in[2] = { 0 }, out[2] = { 0 };
	/* the largest value walked is struct berth_ct (40 bytes) */
	uint64_t val[8];
	struct berth_ct_key *keys = NULL;
	char *vals = NULL;
	uint32_t *cand = NULL, cap = WALK_BATCH;
	bool first = true, last = false;
	int err = 0;

	if (w->value_size > sizeof(val))
		return -EINVAL;
	while (!last && !err) {
		uint32_t cnt = cap, n_cand = 0;

		if (!keys) {
			keys = malloc(cap * sizeof(*keys));
			vals = malloc((size_t)cap * w->value_size);
			cand = malloc(cap * sizeof(*cand));
			if (!keys || !vals || !cand) {
				err = -ENOMEM;
				break;
			}
		}
		if (bpf_map_lookup_batch(w->fd, first ? NULL : in, out, keys, vals, &cnt, &opts)) {
			if (errno == ENOENT) {
				last = true;	/* and @cnt entries came with the news */
			} else if (first && batch_unsupported(errno)) {
				err = 1;
				break;
			} else if (errno == ENOSPC && !cnt && cap < WALK_BATCH_MAX) {
				/* one bucket holds more than @cap entries */
				cap *= 2;
				free(keys);
				free(vals);
				free(cand);
				keys = NULL;
				vals = NULL;
				cand = NULL;
				continue;
			} else {
				err = -errno;
				break;
			}
		}
		first = false;
		memcpy(in, out, sizeof(in));
		for (uint32_t i = 0; i < cnt; i++) {
			int r;

			memcpy(val, vals + (size_t)i * w->value_size, w->value_size);
			w->scanned++;
			r = w->pick(w, &keys[i], val);
			if (r < 0) {
				err = r;
				break;
			}
			if (r)
				cand[n_cand++] = i;
			else
				walk_keep(w, &keys[i], val);
		}
		if (err)
			break;
		if (w->timeless) {
			err = walk_delete(w, keys, vals, cand, n_cand);
			continue;
		}
		for (uint32_t j = 0; j < n_cand && !err; j++) {
			int r = walk_drop(w, &keys[cand[j]]);

			err = r < 0 ? r : 0;
		}
	}
	free(keys);
	free(vals);
	free(cand);
	return err;
}

/* ---- the key walk: bounded, deleting in batches ---- */

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
		int r = walk_drop(w, &batch[i].k);

		if (r < 0)
			return r;
		if (r == DROP_KEPT)
			*resume = &batch[i];
	}
	*n = 0;
	return 0;
}

static int walk_keys(struct walk *w)
{
	struct cand *batch, live = { 0 };
	const struct cand *resume;
	struct berth_ct_key cur, next;
	uint64_t val[8];
	bool have_cur = false, have_live = false;
	uint64_t steps = 0;
	size_t n = 0;
	int err = 0;

	if (w->value_size > sizeof(val))
		return -EINVAL;
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
			walk_keep(w, &cur, val);
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

static int walk(struct walk *w, uint32_t max_entries)
{
	int err;

	w->max_steps = 2 * (uint64_t)max_entries + WALK_BATCH;
	if (!w->key_walk) {
		err = walk_batch(w);
		if (err <= 0)
			return err;
		/* refused before it read anything */
		w->key_walk = true;
	}
	return walk_keys(w);
}

/* ---- conntrack entries ---- */

enum ct_mode { CT_EXPIRED, CT_MATCH, CT_ALL };

struct ct_walk {
	struct walk w;
	const struct ct_maps *m;
	enum ct_mode mode;
	struct berth_cfg cfg;
	uint64_t now_ns;
	const uint32_t *ifindexes;	/* CT_MATCH: sorted */
	size_t n_ifindexes;
	const struct berth_port_key *ports;	/* CT_MATCH: sorted by port_key_cmp() */
	size_t n_ports;
	struct kept_set *kept;		/* CT_EXPIRED: the flows left, or NULL */
	uint64_t nat_removed;
};

#define CT_WALK(wp) ((struct ct_walk *)((char *)(wp) - offsetof(struct ct_walk, w)))

static int u32_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static int port_key_cmp(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct berth_port_key));
}

/*
 * A flow through a published port of @c: its own address, or the port's
 * every-address entry. In from the wire (BERTH_CT_DNAT) the address and port
 * the client reached are nat_addr:nat_port; a hairpin flow (BERTH_CT_HAIRPIN)
 * is keyed as its client sent it, so they are its key's daddr:dport.
 */
static bool ct_port_match(const struct ct_walk *c, const struct berth_ct_key *k,
			  const struct berth_ct *v)
{
	bool hairpin = v->flags & BERTH_CT_HAIRPIN;
	struct berth_port_key pk;

	if (!c->n_ports || !(v->flags & (BERTH_CT_DNAT | BERTH_CT_HAIRPIN)))
		return false;
	memset(&pk, 0, sizeof(pk));
	pk.addr = hairpin ? k->daddr : v->nat_addr;
	pk.port = hairpin ? k->dport : v->nat_port;
	pk.proto = k->proto;
	if (bsearch(&pk, c->ports, c->n_ports, sizeof(pk), port_key_cmp))
		return true;
	pk.addr = 0;
	return bsearch(&pk, c->ports, c->n_ports, sizeof(pk), port_key_cmp) != NULL;
}

static bool ct_doomed(const struct ct_walk *c, const struct berth_ct_key *k,
		      const struct berth_ct *v)
{
	switch (c->mode) {
	case CT_EXPIRED:
		return berth_ct_expired(&c->cfg, k, v, c->now_ns);
	case CT_MATCH:
		return (c->n_ifindexes && bsearch(&v->ifindex, c->ifindexes, c->n_ifindexes,
						  sizeof(uint32_t), u32_cmp)) ||
		       ct_port_match(c, k, v);
	default:
		return true;
	}
}

static int ct_pick(struct walk *w, const struct berth_ct_key *k, const void *v)
{
	return ct_doomed(CT_WALK(w), k, v);
}

static void ct_kept(struct walk *w, const struct berth_ct_key *k, const void *vp)
{
	struct ct_walk *c = CT_WALK(w);
	const struct berth_ct *v = vp;

	/* only masqueraded flows have NAT entries to ask about them */
	if (c->kept && (!v || v->flags & BERTH_CT_SNAT))
		kept_add(c->kept, k);
}

/*
 * The NAT entry of a masqueraded flow: its reply tuple as it arrives on the
 * uplink. A hairpin flow's: its backend's reply tuple with the backend's port
 * zeroed, backend:0 → gateway:nat_port (bpf/lib/nat.h's snat_key).
 */
static struct berth_ct_key ct_nat_key(const struct berth_ct_key *k, const struct berth_ct *v)
{
	bool hairpin = v->flags & BERTH_CT_HAIRPIN;
	struct berth_ct_key n;

	memset(&n, 0, sizeof(n));
	n.saddr = hairpin ? v->backend : k->daddr;
	n.daddr = v->nat_addr;
	n.sport = hairpin ? 0 : k->dport;	/* ICMP echo: 0, as in the reply's key */
	n.dport = v->nat_port;
	n.proto = k->proto;
	return n;
}

/* Flow (@k, @v) is deleted: then its translation, the reverse of the order BPF creates them in. */
static int ct_removed(struct walk *w, const struct berth_ct_key *k, const void *vp)
{
	struct ct_walk *c = CT_WALK(w);
	const struct berth_ct *v = vp;
	struct berth_ct_key nk;
	struct berth_nat nv;

	if (!(v->flags & BERTH_CT_SNAT) || c->mode == CT_ALL)
		return 0;	/* ct_flush_all empties the NAT map next */
	nk = ct_nat_key(k, v);
	if (bpf_map_lookup_elem(c->m->nat_fd, &nk, &nv))
		return errno == ENOENT ? 0 : -errno;
	/* only this flow's: a new flow may already hold the port */
	if (memcmp(&nv.ct, k, sizeof(*k)))
		return 0;
	if (!bpf_map_delete_elem(c->m->nat_fd, &nk))
		c->nat_removed++;
	else if (errno != ENOENT)
		return -errno;
	return 0;
}

static int ct_drop(struct walk *w, const struct berth_ct_key *k)
{
	struct ct_walk *c = CT_WALK(w);
	struct berth_ct v;
	int err;

	if (bpf_map_lookup_elem(w->fd, k, &v))
		return errno == ENOENT ? DROP_GONE : -errno;
	if (!ct_doomed(c, k, &v))
		return DROP_KEPT;	/* a packet came meanwhile */
	if (bpf_map_delete_elem(w->fd, k))
		return errno == ENOENT ? DROP_GONE : -errno;
	err = ct_removed(w, k, &v);
	return err ? err : DROP_REMOVED;
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
	c->w.value_size = sizeof(struct berth_ct);
	c->w.key_walk = c->m->key_walk;
	c->w.no_delete_batch = c->m->key_walk;
	/* a flush takes a flow whatever its packets do; expiry is judged again at the delete */
	c->w.timeless = c->mode != CT_EXPIRED;
	c->w.pick = ct_pick;
	c->w.drop = ct_drop;
	c->w.removed_one = ct_removed;
	c->w.kept_one = ct_kept;
	return walk(&c->w, max);
}

/* ---- NAT entries ---- */

struct nat_walk {
	struct walk w;
	const struct ct_maps *m;
	bool all;			/* ct_flush_all: every entry goes */
	const struct ct_gc_state *prev;	/* orphans of the last pass (NULL: remove none) */
	const struct kept_set *kept;	/* flows the conntrack walk left, or NULL */
	struct ct_gc_orphan *seen;	/* orphans of this pass, kept for the next */
	size_t n_seen, cap_seen;
};

#define NAT_WALK(wp) ((struct nat_walk *)((char *)(wp) - offsetof(struct nat_walk, w)))

static int orphan_cmp(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct ct_gc_orphan));
}

/*
 * 1 if the entry's flow is missing, 0 if not, or -errno. @kept: the flows
 * the conntrack walk left, trusted to say one exists, or NULL to ask the map.
 */
static int nat_orphaned(const struct nat_walk *n, const struct kept_set *kept,
			const struct berth_nat *v)
{
	struct berth_ct ct;

	if (kept_has(kept, &v->ct))
		return 0;
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
	r = nat_orphaned(n, n->kept, v);
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
		/* the map itself, never the set: a flow may have come since the walk */
		r = nat_orphaned(n, NULL, &v);
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
	n->w.value_size = sizeof(struct berth_nat);
	n->w.key_walk = n->m->key_walk;
	n->w.no_delete_batch = n->m->key_walk;
	n->w.timeless = n->all;
	n->w.pick = nat_pick;
	n->w.drop = nat_drop;
	return walk(&n->w, max);
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
	struct kept_set kept = { 0 };
	struct ct_walk c = { .m = m, .mode = CT_EXPIRED, .now_ns = now_ns, .kept = &kept };
	struct nat_walk n = { .m = m, .prev = gs, .kept = &kept };
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
	st->key_walk = c.w.key_walk;
	if (err)
		goto free_kept;

	err = nat_walk_run(&n);
	st->orphans = n.w.removed;
	st->nat_entries = n.w.kept;
	st->truncated |= n.w.truncated;
	st->key_walk |= n.w.key_walk;
	if (err) {
		free(n.seen);
		goto free_kept;
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
free_kept:
	kept_free(&kept);
	return err;
}

int ct_flush_match(const struct ct_maps *m, const uint32_t *ifindexes, size_t n_ifs,
		   const struct berth_port_key *ports, size_t n)
{
	struct ct_walk c = { .m = m, .mode = CT_MATCH };
	struct berth_port_key *keys = NULL;
	uint32_t *sorted = NULL;
	int err = -ENOMEM;

	if (!n_ifs && !n)
		return 0;
	if (n_ifs) {
		sorted = malloc(n_ifs * sizeof(*sorted));
		if (!sorted)
			goto out;
		memcpy(sorted, ifindexes, n_ifs * sizeof(*sorted));
		qsort(sorted, n_ifs, sizeof(*sorted), u32_cmp);
	}
	if (n) {
		keys = malloc(n * sizeof(*keys));
		if (!keys)
			goto out;
		/* compared whole: the pad byte must not tell two equal keys apart */
		for (size_t i = 0; i < n; i++) {
			memset(&keys[i], 0, sizeof(keys[i]));
			keys[i].addr = ports[i].addr;
			keys[i].port = ports[i].port;
			keys[i].proto = ports[i].proto;
		}
		qsort(keys, n, sizeof(*keys), port_key_cmp);
	}
	c.ifindexes = sorted;
	c.n_ifindexes = n_ifs;
	c.ports = keys;
	c.n_ports = n;
	err = ct_walk_run(&c);
out:
	free(sorted);
	free(keys);
	return err ? err : (int)c.w.removed;
}

int ct_flush_ifindexes(const struct ct_maps *m, const uint32_t *ifindexes, size_t n)
{
	return ct_flush_match(m, ifindexes, n, NULL, 0);
}

int ct_flush_ports(const struct ct_maps *m, const struct berth_port_key *ports, size_t n)
{
	return ct_flush_match(m, NULL, 0, ports, n);
}

int ct_flush_ifindex(const struct ct_maps *m, uint32_t ifindex)
{
	return ct_flush_ifindexes(m, &ifindex, 1);
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
