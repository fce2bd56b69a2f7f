/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Published ports: the host address, port and protocol each `ports:` item of
 * a service gets, decided and checked against the instance before an `up`
 * changes anything. Fixed host ports are checked; random ones come from the
 * instance's net.ipv4.ip_local_port_range, skipping ip_local_reserved_ports
 * and ports in use; a host range for one target takes its first free port.
 * Ports an earlier `up` picked stay with their item (state.json, "ports" of
 * the project). "In use" is asked of the kernel by binding a socket in the
 * instance's host namespace, the one the process is in, past the bind hooks
 * that keep published ports from every other socket (hold.h).
 *
 * The bindings go into berth_port_v1 (apply.c), one entry per (host address,
 * port, protocol), pointing at replica 1 of the service on its first network
 * that is not internal: the one its default route uses. Replicas share a
 * fixed host port; until services have VIPs, the first replica answers it.
 */
#ifndef BERTH_PUBLISH_H
#define BERTH_PUBLISH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <berth/maps.h>

#include "instance.h"
#include "ports.h"
#include "spec.h"

struct json_object;

struct pub_binding {
	uint32_t host_ip;	/* host order; 0: every address of the host */
	uint16_t host_port;
	uint16_t target;	/* the port inside the endpoint */
	uint8_t proto;		/* IPPROTO_TCP or IPPROTO_UDP */
	bool random;		/* no host port in the file: berth picked it */
	bool first_free;	/* a host range for one target: berth picked a port of it */
	int svc;		/* index into spec->svcs */
	int ep;			/* index into spec->eps: the backend, replica 1 */
	int net;		/* index into spec->nets: the backend's network */
	const struct port_spec *item;
};

struct pub_plan {
	struct pub_binding *b;
	size_t n;
};

/* apply_up() result for a conflict the user must resolve; the same as APPLY_USER_ERROR */
#define PUB_USER_ERROR 1

/*
 * Every binding of @s, checked against the other projects of @in, the host's
 * sockets and each other. Errors are printed (FILE:L:C: error: ...), all of
 * them: PUB_USER_ERROR; a system failure: -errno.
 */
int pub_plan_make(struct instance *in, const struct spec *s, struct pub_plan *pl);
void pub_plan_free(struct pub_plan *pl);

/* berth_port_v1's key of a binding. */
struct berth_port_key pub_key(const struct pub_binding *b);
/*
 * An entry of a project's "ports" in state.json is a run (ports.h): "count"
 * bindings from "host_port" -> "target" on, each port one further, one when
 * there is no "count" (files from before runs). The key of its first
 * binding and the run: 0, or -EINVAL.
 */
int pub_state_run(struct json_object *e, struct berth_port_key *k, struct port_run *r);
/* Whether pub_state_pick() takes the binding @k -> @target. */
typedef bool (*pub_pick_fn)(const struct berth_port_key *k, uint16_t target, void *arg);
/*
 * The bindings of the run @e that @pick takes, added to @out as runs again
 * (copies of @e with their own "host_port", "target" and "count"; @e itself
 * when it takes all). How many bindings it took, -EINVAL (not a run) or -ENOMEM.
 */
int pub_state_pick(struct json_object *e, pub_pick_fn pick, void *arg, struct json_object *out);
/* "0.0.0.0:8080/tcp" */
const char *pub_key_str(const struct berth_port_key *k, char buf[32]);

/* The state entry of @b without its backend's values (apply.c adds them). */
struct json_object *pub_state_entry(const struct spec *s, const struct pub_binding *b);

/* berth_port_v1 by fd: write, delete (an absent entry is fine), read (-ENOENT: none). */
int pub_map_set(int fd, const struct berth_port_key *k, const struct berth_port *v);
int pub_map_del(int fd, const struct berth_port_key *k);
int pub_map_get(int fd, const struct berth_port_key *k, struct berth_port *v);

/*
 * The whole of berth_port_v1 at once (batch lookups, a key walk where the
 * kernel has none), sorted by key: an `up` compares every binding with the
 * map in memory instead of a lookup each. Only `up`, under the instance's
 * lock, writes the map, so the copy stays true while it runs.
 */
struct pub_entry {
	struct berth_port_key k;
	struct berth_port v;
};
struct pub_snapshot {
	struct pub_entry *e;
	size_t n;
};
int pub_map_snapshot(int fd, struct pub_snapshot *snap);
/* 0 and *@v, or -ENOENT */
int pub_snapshot_get(const struct pub_snapshot *snap, const struct berth_port_key *k,
		     struct berth_port *v);
/* @n writes to the map, made in the copy too (an existing key takes the new value). */
void pub_snapshot_apply(struct pub_snapshot *snap, const struct berth_port_key *keys,
			const struct berth_port *vals, size_t n);
void pub_snapshot_free(struct pub_snapshot *snap);
/* The order of berth_port_keys everywhere: memcmp's, faster. */
int pub_key_cmp(const void *x, const void *y);

#endif
