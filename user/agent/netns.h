/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Named network namespaces, kept the way iproute2 keeps them (an nsfs bind mount on
 * /run/netns/NAME) so that `ip netns exec`, `ip -n` and `nsenter --net` see berth's
 * endpoints. Functions return 0 or -errno unless stated.
 *
 * berth is single-threaded: setns() moves only the calling thread, and this module
 * assumes that thread is the whole process.
 */
#ifndef BERTH_NETNS_H
#define BERTH_NETNS_H

#include <stdbool.h>

#define NETNS_RUN_DIR "/run/netns"
/* Per-namespace resolv.conf and hosts, bind-mounted over /etc by `ip netns exec`. */
#define NETNS_ETC_DIR "/etc/netns"

/* `ip netns add` plus lo up; the caller's netns is unchanged; -EEXIST if NAME is taken. */
int netns_create(const char *name);
/* `ip netns del` plus /etc/netns/NAME/{resolv.conf,hosts}; 0 if absent, -ENOTEMPTY: see .c. */
int netns_delete(const char *name);
/* An O_RDONLY|O_CLOEXEC fd of the netns bound to NAME, or -errno (-ENOENT if none is). */
int netns_open(const char *name);
/* The same for any nsfs path (/proc/PID/ns/net, another runtime's bind mount). */
int netns_open_path(const char *path);
/* True if a netns is bound to /run/netns/NAME; a stale file left by a crash is not one. */
bool netns_exists(const char *name);

/* Moves the calling thread into the netns of @fd; *saved_fd gets an fd of the one it left. */
int netns_enter(int fd, int *saved_fd);
/* Goes back to @saved_fd and closes it; failure leaves us in the wrong netns: treat as fatal. */
int netns_leave(int saved_fd);

/* Writes a sysctl of the CURRENT netns: "net/ipv4/conf/eth0/forwarding" or a /proc/sys path. */
int sysctl_write(const char *key, const char *value);

#endif
