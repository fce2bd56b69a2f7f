// SPDX-License-Identifier: GPL-2.0-only
#include "hold.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <berth/maps.h>

#include "dp.h"
#include "ports.h"
#include "publish.h"
#include "util.h"

#define RESERVED_SYSCTL "/proc/sys/net/ipv4/ip_local_reserved_ports"
#define RESERVED_OURS "reserved_ports"	/* in the run directory: the ports berth added */

static int pbind_cmp(const void *x, const void *y)
{
	return memcmp(x, y, sizeof(struct berth_pbind_key));
}

struct pbind_entry {
	struct berth_pbind_key k;	/* first: pbind_cmp compares it */
	uint32_t n;
};

/* berth_pbind_v1 := (port, protocol) → how many entries of @snap publish it. */
static int pbind_sync(const struct dp *dp, const struct pub_snapshot *snap)
{
	struct pbind_entry *want = xcalloc(snap->n + 1, sizeof(*want)), *have;
	struct berth_pbind_key *keys = NULL;
	uint32_t *vals = NULL;
	size_t n_want = 0, n_have = 0;
	int err;

	for (size_t i = 0; i < snap->n; i++) {
		struct berth_pbind_key k = { .port = snap->e[i].k.port, .proto = snap->e[i].k.proto };

		want[i] = (struct pbind_entry){ k, 1 };
	}
	if (snap->n)
		qsort(want, snap->n, sizeof(*want), pbind_cmp);
	for (size_t i = 0; i < snap->n; i++) {
		if (n_want && !pbind_cmp(&want[n_want - 1], &want[i]))
			want[n_want - 1].n++;
		else
			want[n_want++] = want[i];
	}
	err = dp_map_dump(dp->pbind_fd, sizeof(*keys), sizeof(*vals), (void **)&keys,
			  (void **)&vals, &n_have);
	have = xcalloc(n_have + 1, sizeof(*have));
	for (size_t j = 0; j < n_have; j++)
		have[j] = (struct pbind_entry){ keys[j], vals[j] };
	if (n_have)
		qsort(have, n_have, sizeof(*have), pbind_cmp);
	/* the new ones and the changed counts first, so no published port is ever unheld */
	for (size_t i = 0; !err && i < n_want; i++) {
		const struct pbind_entry *h = n_have ? bsearch(&want[i], have, n_have, sizeof(*have),
							       pbind_cmp)
						     : NULL;

		if ((!h || h->n != want[i].n) &&
		    bpf_map_update_elem(dp->pbind_fd, &want[i].k, &want[i].n, BPF_ANY))
			err = -errno;
	}
	for (size_t j = 0; !err && j < n_have; j++)
		if ((!n_want || !bsearch(&have[j], want, n_want, sizeof(*want), pbind_cmp)) &&
		    bpf_map_delete_elem(dp->pbind_fd, &have[j].k) && errno != ENOENT)
			err = -errno;
	if (err)
		fprintf(stderr, "berth: write berth_pbind_v1: %s\n", strerror(-err));
	free(want);
	free(have);
	free(keys);
	free(vals);
	return err;
}

/* A whole small file, or "" when absent: 0, or -errno. */
static int slurp(const char *path, char **out)
{
	FILE *f = fopen(path, "re");
	size_t len = 0, cap = 4096;
	char *buf;

	*out = NULL;
	if (!f)
		return errno == ENOENT ? (*out = xstrdup(""), 0) : -errno;
	buf = xcalloc(cap, 1);
	for (;;) {
		size_t got = fread(buf + len, 1, cap - len - 1, f);

		len += got;
		if (len < cap - 1)
			break;
		cap *= 2;
		buf = xrealloc(buf, cap);
	}
	buf[len] = '\0';
	if (ferror(f)) {
		fclose(f);
		free(buf);
		return -EIO;
	}
	fclose(f);
	*out = buf;
	return 0;
}

static int read_set(const char *path, struct port_set *s)
{
	char *text, *msg;
	int err = slurp(path, &text);

	memset(s, 0, sizeof(*s));
	if (err)
		return err;
	msg = port_set_parse(text, s);
	free(text);
	if (msg) {
		fprintf(stderr, "berth: %s: %s\n", path, msg);
		free(msg);
		return -EINVAL;
	}
	return 0;
}

/* @path := @s as the sysctl writes it; @atomic: a new file renamed over the old one. */
static int write_set(const char *path, const struct port_set *s, bool atomic)
{
	char tmp[600], *text = port_set_format(s);
	const char *to = path;
	int fd, err = 0;
	size_t len;

	if (atomic) {
		snprintf(tmp, sizeof(tmp), "%s.new", path);
		to = tmp;
	}
	fd = open(to, O_WRONLY | O_CLOEXEC | (atomic ? O_CREAT | O_TRUNC : 0), 0644);
	len = strlen(text);
	text = xrealloc(text, len + 2);
	memcpy(text + len, "\n", 2);	/* the sysctl takes "\n" for none */
	if (fd < 0 || write(fd, text, len + 1) != (ssize_t)(len + 1))
		err = -errno;
	if (fd >= 0 && close(fd) && !err)
		err = -errno;
	if (!err && atomic && rename(tmp, path))
		err = -errno;
	free(text);
	return err;
}

static bool set_eq(const struct port_set *a, const struct port_set *b)
{
	return !memcmp(a, b, sizeof(*a));
}

/*
 * The sysctl := (what it has, less the ports berth added) + @want. What
 * berth added is recorded first as the union of before and after, so that a
 * crash between the writes leaves no port of berth's counted as the host's.
 */
static int reserved_sync(const char *run_dir, const struct port_set *want)
{
	struct port_set *cur = xcalloc(6, sizeof(*cur)), *ours = cur + 1, *admin = cur + 2;
	struct port_set *next = cur + 3, *ours_next = cur + 4, *both = cur + 5;
	char path[600];
	int err;

	snprintf(path, sizeof(path), "%s/%s", run_dir, RESERVED_OURS);
	err = read_set(RESERVED_SYSCTL, cur);
	if (err == -ENOENT || (!err && access(RESERVED_SYSCTL, W_OK))) {
		/* a kernel without it, or a read-only /proc/sys: nothing to hold there */
		free(cur);
		return 0;
	}
	if (!err)
		err = read_set(path, ours);
	for (size_t i = 0; !err && i < sizeof(cur->w) / sizeof(cur->w[0]); i++) {
		admin->w[i] = cur->w[i] & ~ours->w[i];
		next->w[i] = admin->w[i] | want->w[i];
		ours_next->w[i] = want->w[i] & ~admin->w[i];
		both->w[i] = ours->w[i] | ours_next->w[i];
	}
	if (!err && !set_eq(both, ours))
		err = write_set(path, both, true);
	if (!err && !set_eq(cur, next))
		err = write_set(RESERVED_SYSCTL, next, false);
	if (!err && (!set_eq(both, ours_next) || access(path, F_OK)))
		err = write_set(path, ours_next, true);
	if (err)
		fprintf(stderr, "berth: reserve published ports in %s: %s\n", RESERVED_SYSCTL,
			strerror(-err));
	free(cur);
	return err;
}

int hold_sync(const struct dp *dp, const char *run_dir, const struct pub_snapshot *ports)
{
	struct pub_snapshot own = { 0 };
	struct port_set *want;
	int err, err2;

	/* another build's pins: its own way of holding ports, until the upgrade */
	if (dp->stale || dp->port_fd < 0 || dp->pbind_fd < 0)
		return 0;
	if (!ports) {
		err = pub_map_snapshot(dp->port_fd, &own);
		if (err) {
			fprintf(stderr, "berth: read berth_port_v1: %s\n", strerror(-err));
			return err;
		}
		ports = &own;
	}
	want = xcalloc(1, sizeof(*want));
	for (size_t i = 0; i < ports->n; i++)
		port_set_add(want, ntohs(ports->e[i].k.port), ntohs(ports->e[i].k.port));
	err = pbind_sync(dp, ports);
	err2 = reserved_sync(run_dir, want);
	free(want);
	pub_snapshot_free(&own);
	return err ? err : err2;
}
