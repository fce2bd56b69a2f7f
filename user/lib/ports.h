/* SPDX-License-Identifier: GPL-2.0-only */
/* compose `ports:` and `expose:` items. */
#ifndef BERTH_PORTS_H
#define BERTH_PORTS_H

#include <stdbool.h>
#include <stdint.h>

#include "spec.h"

/*
 * Each returns NULL on success, or an allocated message saying what is wrong
 * (the caller adds the position and frees it).
 */
char *port_parse_range(const char *s, uint16_t *lo, uint16_t *hi);
char *port_parse_proto(const char *s, enum port_proto *proto);
/* `[[IP:][HOST[-HOST]]:]TARGET[-TARGET][/PROTO]` */
char *port_parse_short(const char *s, struct port_spec *p);
/* `PORT[-PORT][/PROTO]` */
char *port_parse_expose(const char *s, struct port_spec *p);
/* Range-length rules shared by the short and long syntax. */
char *port_check_lengths(struct port_spec *p);

/* ---- choosing host ports: pure, the host's facts come in as arguments ---- */

/* A set of port numbers, 0 to 65535 (8 KiB). */
struct port_set {
	uint64_t w[65536 / 64];
};

void port_set_add(struct port_set *s, unsigned lo, unsigned hi);
bool port_set_has(const struct port_set *s, unsigned port);
/*
 * Add the ports of a list as net.ipv4.ip_local_reserved_ports prints it
 * ("8080,9000-9010", or empty) to @s. NULL, or an allocated message.
 */
char *port_set_parse(const char *list, struct port_set *s);
/* @s as that list: ranges of adjacent ports joined, "" when empty. Allocated. */
char *port_set_format(const struct port_set *s);

/* Whether the host has @port in use: 0 free, 1 in use, or -errno (the choice stops). */
typedef int (*port_busy_fn)(uint16_t port, void *arg);

/*
 * The first port of [@lo, @hi], going up from @start and wrapping around to
 * @lo (a @start outside the range means @lo), that is in neither @skip nor
 * @taken (either may be NULL) and that @busy (may be NULL) does not find in
 * use. Returns the port, 0 when every port is excluded, or @busy's -errno.
 * @skip and @taken are consulted before @busy, which binds a socket.
 */
int port_pick(uint16_t lo, uint16_t hi, uint16_t start, const struct port_set *skip,
	      const struct port_set *taken, port_busy_fn busy, void *arg);

/* ---- runs: how state.json records a project's published ports ---- */

/*
 * @count bindings, host_port + i -> target + i for i < count, alike in
 * everything else (service, address, protocol, backend): a range of 50 000
 * ports is one entry of state.json, not 50 000.
 */
struct port_run {
	uint16_t host_port;
	uint16_t target;
	uint32_t count;
	/*
	 * The rest of the bindings, numbered by the writer: only runs with the
	 * same tag merge, and tag 0 (a random or first-free port, which stays
	 * with its item) never does.
	 */
	uint32_t tag;
};

/*
 * A run from a state entry's numbers; @count NULL when the entry has none
 * (one binding, as every entry before runs). 0, or -EINVAL when a port of
 * the run falls outside 1-65535 or @count is below 1.
 */
int port_run_make(int64_t host_port, int64_t target, const int64_t *count, struct port_run *r);

/*
 * Merge each run of @r into the one before it where it carries that one on:
 * the same tag, not 0, and host port and target both one past its last.
 * The runs left are at the front of @r, in their order; returns how many.
 */
size_t port_runs_merge(struct port_run *r, size_t n);

#endif
