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
#include "instance.h"
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
		const struct berth_port_key *pk = &snap->e[i].k;

		want[i] = (struct pbind_entry){ { .port = pk->port, .proto = pk->proto }, 1 };
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
		const struct pbind_entry *h = NULL;

		if (n_have)
			h = bsearch(&want[i], have, n_have, sizeof(*have), pbind_cmp);

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

/*
 * A whole file: 0, or -errno (-ENOENT when absent). A sysctl gives its text
 * to the first read() alone and EOF to any read at an offset past 0, so that
 * read asks for room for the longest list there is (every other port: about
 * 190 KB), not stdio's 1 KB blocks.
 */
static int read_all(const char *path, char **out)
{
	size_t len = 0, cap = 512 * 1024;
	char *buf;
	int fd;

	*out = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	buf = xmalloc(cap);
	for (;;) {
		ssize_t got = read(fd, buf + len, cap - len - 1);

		if (got < 0) {
			int err = -errno;

			close(fd);
			free(buf);
			return err;
		}
		if (!got)
			break;
		len += (size_t)got;
		if (len == cap - 1) {
			cap *= 2;
			buf = xrealloc(buf, cap);
		}
	}
	close(fd);
	buf[len] = '\0';
	*out = buf;
	return 0;
}

/* The ports of a list as the sysctl prints it; an absent file is an empty list when @absent_ok. */
static int read_set(const char *path, struct port_set *s, bool absent_ok)
{
	char *text, *msg;
	int err = read_all(path, &text);

	memset(s, 0, sizeof(*s));
	if (err == -ENOENT && absent_ok)
		return 0;
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

int hold_reserved_read(struct port_set *s)
{
	return read_set(RESERVED_SYSCTL, s, false);
}

/*
 * @path := @s in the sysctl's list format: the record file whole and at once
 * (file_write_atomic), the sysctl over several write()s, as it takes a long
 * list (the first replaces the list, the others add to it, a page or so each).
 */
static int write_set(const char *path, const struct port_set *s, bool record)
{
	char *text = port_set_format(s);
	size_t len = strlen(text), off = 0;
	int fd, err = 0;

	text = xrealloc(text, len + 2);
	memcpy(text + len++, "\n", 2);	/* the sysctl takes "\n" for none */
	if (record) {
		err = file_write_atomic(path, text, len);
		free(text);
		return err;
	}
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		err = -errno;
	while (!err && off < len) {
		ssize_t n = write(fd, text + off, len - off);

		if (n < 0)
			err = -errno;
		else if (!n)
			err = -EIO;
		else
			off += (size_t)n;
	}
	if (fd >= 0 && close(fd) && !err)
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
	err = hold_reserved_read(cur);
	if (err == -ENOENT || (!err && access(RESERVED_SYSCTL, W_OK))) {
		/* a kernel without it, or a read-only /proc/sys: nothing to hold there */
		free(cur);
		return 0;
	}
	if (!err)
		err = read_set(path, ours, true);
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
