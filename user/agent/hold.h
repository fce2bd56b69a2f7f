/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Published ports are the instance's for as long as they are published:
 * nothing else of its host namespace may take one. Two things see to it,
 * with no socket and no descriptor per port:
 *
 *   - a bind() of another socket fails with EADDRINUSE: the cgroup bind4 and
 *     bind6 programs (bpf/sock.bpf.c) look the port up in berth_port_v1 and,
 *     for 0.0.0.0 and [::], in berth_pbind_v1;
 *   - the kernel never picks one as the local port of an outgoing connection
 *     or an unbound UDP socket: the instance namespace's
 *     net.ipv4.ip_local_reserved_ports has it (the replies of such a flow
 *     would otherwise meet the uplink program, which sends a published
 *     port's packets to its endpoint).
 *
 * Both follow berth_port_v1, which `up`, `down` and their rollbacks write:
 * hold_sync() makes them equal to it again.
 */
#ifndef BERTH_HOLD_H
#define BERTH_HOLD_H

struct dp;

struct pub_snapshot;

/*
 * berth_pbind_v1 and the reserved ports := what berth_port_v1 publishes, in
 * the current namespace (the instance's host one). @ports: the map as the
 * caller has it (publish.h), or NULL to read it. Of the sysctl, berth
 * changes only the ports it added itself, recorded in
 * @run_dir/reserved_ports: those the host had reserved before stay, and are
 * never taken away. Failures are said on stderr: -errno.
 */
int hold_sync(const struct dp *dp, const char *run_dir, const struct pub_snapshot *ports);

struct port_set;

/*
 * net.ipv4.ip_local_reserved_ports of the current namespace, whole however
 * long: 0, -ENOENT when the kernel has none, or -errno.
 */
int hold_reserved_read(struct port_set *s);

#endif
