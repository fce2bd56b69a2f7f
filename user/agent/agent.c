// SPDX-License-Identifier: GPL-2.0-only
/*
 * The agent's event loop and its DNS server. One epoll set holds: a UDP and
 * a TCP socket inside every endpoint (opened there with setns, so the socket
 * itself says who asks), TCP connections, one socket per forwarded query (in
 * the host namespace, connected to the upstream so the kernel drops replies
 * from anyone else), the API socket, an inotify watch on state.json, an
 * rtnetlink socket for the host namespace's IPv4 address events (which
 * berth_hostip_v1 follows) and a one-second tick for timeouts. The conntrack
 * GC runs in a thread of its own: a pass over a big table takes long enough
 * to stall DNS.
 */
#include "agent.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <json.h>
#include <limits.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>
#include <netlink/errno.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ctgc.h"
#include "dns.h"
#include "dp.h"
#include "instance.h"
#include "jsonx.h"
#include "names.h"
#include "netns.h"
#include "pin.h"
#include "sockhook.h"
#include "util.h"

#define DNS_ADDR	0x7f00000b	/* 127.0.0.11 */
#define MAX_INFLIGHT	1024		/* forwarded queries; REFUSED beyond, as Docker */
#define UPSTREAM_TIMEOUT_MS 2000
#define TCP_IDLE_MS	5000		/* idle TCP connections close after this */
#define TCP_PER_EP	32		/* connections per endpoint: TCP cannot starve UDP */
#define MAX_UPSTREAMS	4
#define MAX_ANSWERS	64
#define BERTH_AGENT_MAX_EPS 8192	/* as many as the datapath holds */

enum src_kind { SRC_UDP, SRC_TCP_LISTEN, SRC_TCP_CONN, SRC_FWD, SRC_API, SRC_INOTIFY, SRC_TICK,
		SRC_SIGNAL, SRC_ADDRS };

struct src {
	enum src_kind kind;
	int fd;
};

struct ep_socks {
	char *name;
	struct src udp, tcp;
	int n_conns;
	bool seen;		/* still in the state after a reload */
};

struct tcp_conn {
	struct src s;
	struct ep_socks *es;
	char ep[256];
	uint8_t buf[2 + 65535];
	size_t len;
	uint64_t last_ms;
	struct tcp_conn *next;
};

struct fwd {
	struct src s;
	uint16_t id, client_id;
	struct dns_question q;
	uint8_t *msg;		/* the query as the client sent it */
	size_t len;
	int server;		/* index into upstreams */
	uint64_t deadline_ms;
	/* where the answer goes: a UDP client, or a TCP connection by fd */
	int reply_fd;
	struct sockaddr_in client;
	bool tcp;
	/*
	 * A client on TCP wants whole answers: when the upstream's UDP answer
	 * is truncated, the same server is asked again over TCP.
	 */
	bool up_tcp;		/* the current upstream query goes over TCP */
	bool up_sent;		/* ... and is written */
	uint8_t *rbuf;		/* its answer: two-byte length, then the message */
	size_t rlen;
	struct fwd *next;
};

struct agent;

/*
 * The conntrack GC thread. It shares nothing with the DNS loop but the
 * options and the log (written whole lines at a time): it opens its own map
 * fds each pass, sleeps on its own timer, and leaves when stop_fd is written.
 */
struct ct_gc_thread {
	struct agent *a;
	pthread_t tid;
	bool running;
	int timer_fd;		/* every pass's start */
	int stop_fd;		/* an eventfd */
	struct ct_gc_state gc;	/* orphaned NAT entries from the last pass */
	int gc_err;		/* the last pass's failure, said once until it changes */
};

struct agent {
	const struct agent_opts *o;
	char run_dir[512];
	int epfd;
	FILE *log;
	struct names names;
	struct json_object *state;
	uint16_t dns_port;
	struct ep_socks *eps;
	size_t n_eps;
	struct tcp_conn *conns;
	struct fwd *fwds;
	int n_fwds;
	struct sockaddr_in upstreams[MAX_UPSTREAMS];
	int n_upstreams;
	struct src api, ino, tick, sig;
	/*
	 * The host namespace's IPv4 address events (libnl owns the socket; addrs.fd is
	 * its fd, -1 when there is no watch). Events only mark the addresses as changed:
	 * berth_hostip_v1 is synced once after the batch of events that held them.
	 */
	struct nl_sock *addr_sk;
	struct src addrs;
	bool addrs_changed;
	int hostip_err;		/* the last sync's failure, said once until it changes */
	struct ct_gc_thread gc;
	bool stop;
	bool echo;		/* log to stderr too: in the foreground, unless stderr is the log */
	int lock_fd;		/* agent.lock, held while this agent runs */
	/*
	 * Connections and forwarded queries freed while a batch of events is
	 * handled: a later event of the same batch may still point at them.
	 */
	void **dead;
	size_t n_dead;
};

static void bury(struct agent *a, void *p)
{
	*VEC_PUSH(a->dead, a->n_dead) = p;
}

static void graveyard_empty(struct agent *a)
{
	for (size_t i = 0; i < a->n_dead; i++)
		free(a->dead[i]);
	a->n_dead = 0;
}

/* ---- logging: levels, a file, and stderr in the foreground ---- */

enum { LOG_ERR, LOG_WARN, LOG_INFO, LOG_DEBUG };

/* One write(2) per line: two threads log, and `up` appends to the same file. */
static void log_line(int fd, const char *line)
{
	if (write(fd, line, strlen(line)) < 0)
		return;	/* nowhere left to say so */
}

/* Safe from both threads: it reads only what is set before the GC thread starts. */
__attribute__((format(printf, 3, 4))) static void alog(struct agent *a, int level, const char *fmt,
							...)
{
	static const char *const names[] = { "error", "warning", "info", "debug" };
	char when[32], *msg, *line;
	struct tm tm;
	time_t now;
	va_list ap;

	if (level > LOG_INFO + a->o->verbose)
		return;
	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	now = time(NULL);
	gmtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (a->log) {
		line = xasprintf("%s %s: %s\n", when, names[level], msg);
		log_line(fileno(a->log), line);
		free(line);
	}
	if (a->echo) {
		line = xasprintf("berth agent: %s: %s\n", names[level], msg);
		log_line(STDERR_FILENO, line);
		free(line);
	}
	free(msg);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int ep_add_fd(struct agent *a, struct src *s, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = s };

	return epoll_ctl(a->epfd, EPOLL_CTL_ADD, s->fd, &ev) ? -errno : 0;
}

static void src_close(struct agent *a, struct src *s)
{
	if (s->fd < 0)
		return;
	epoll_ctl(a->epfd, EPOLL_CTL_DEL, s->fd, NULL);
	close(s->fd);
	s->fd = -1;
}

/* ---- the state and what follows from it ---- */

static void read_upstreams(struct agent *a)
{
	struct json_object *servers;
	char path[600], line[512];
	FILE *f = NULL;

	a->n_upstreams = 0;
	/* `berth up --dns` is remembered by the instance and wins */
	if (json_object_object_get_ex(a->state, "dns_servers", &servers) &&
	    json_object_is_type(servers, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(servers) && a->n_upstreams < MAX_UPSTREAMS; i++) {
			struct sockaddr_in *s = &a->upstreams[a->n_upstreams];

			memset(s, 0, sizeof(*s));
			s->sin_family = AF_INET;
			s->sin_port = htons(53);
			if (inet_pton(AF_INET, json_object_get_string(json_object_array_get_idx(servers, i)),
				      &s->sin_addr) == 1)
				a->n_upstreams++;
		}
		if (a->n_upstreams)
			return;
	}
	/* the host namespace's resolv.conf, as `ip netns exec` would show it */
	if (strcmp(a->o->instance, "host")) {
		snprintf(path, sizeof(path), NETNS_ETC_DIR "/%s/resolv.conf", a->o->instance);
		f = fopen(path, "re");
	}
	if (!f)
		f = fopen("/etc/resolv.conf", "re");
	while (f && fgets(line, sizeof(line), f) && a->n_upstreams < MAX_UPSTREAMS) {
		char addr[64];
		struct sockaddr_in *s = &a->upstreams[a->n_upstreams];

		if (sscanf(line, " nameserver %63s", addr) != 1)
			continue;
		memset(s, 0, sizeof(*s));
		s->sin_family = AF_INET;
		s->sin_port = htons(53);
		if (inet_pton(AF_INET, addr, &s->sin_addr) == 1)
			a->n_upstreams++;
	}
	if (f)
		fclose(f);
}

/* Open a socket of @type bound to 127.0.0.11:port inside endpoint @name. */
static int ep_socket(struct agent *a, const char *name, int type)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(a->dns_port),
				  .sin_addr.s_addr = htonl(DNS_ADDR) };
	int nsfd, saved, fd, err, one = 1;

	nsfd = netns_open(name);
	if (nsfd < 0)
		return nsfd;
	err = netns_enter(nsfd, &saved);
	close(nsfd);
	if (err)
		return err;
	fd = socket(AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		err = -errno;
	} else {
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) ||
		    (type == SOCK_STREAM && listen(fd, 16)))
			err = -errno;
		else
			err = 0;
		if (err)
			close(fd);
	}
	/* back to the host namespace: failure here would put every later socket in the wrong place */
	if (netns_leave(saved)) {
		alog(a, LOG_ERR, "cannot return to the host namespace: exiting");
		exit(2);
	}
	return err ? err : fd;
}

static struct ep_socks *socks_find(struct agent *a, const char *name)
{
	for (size_t i = 0; i < a->n_eps; i++)
		if (a->eps[i].name && !strcmp(a->eps[i].name, name))
			return &a->eps[i];
	return NULL;
}

static void fwd_free(struct agent *a, struct fwd *f);

static void socks_close(struct agent *a, struct ep_socks *es)
{
	/* forwarded queries of this endpoint have nowhere to answer: the fd may be reused */
	for (struct fwd *f = a->fwds, *next; f; f = next) {
		next = f->next;
		if (!f->tcp && f->reply_fd == es->udp.fd)
			fwd_free(a, f);
	}
	src_close(a, &es->udp);
	src_close(a, &es->tcp);
	for (struct tcp_conn *c = a->conns; c; c = c->next)
		if (c->es == es)
			c->es = NULL;
	free(es->name);
	es->name = NULL;
}

static void reload(struct agent *a)
{
	char path[600];
	struct json_object *st, *v;

	snprintf(path, sizeof(path), "%s/state.json", a->run_dir);
	st = access(path, F_OK) ? json_object_new_object() : json_object_from_file(path);
	if (!st) {
		alog(a, LOG_WARN, "cannot read %s: %s", path, json_util_get_last_err());
		return;
	}
	json_object_put(a->state);
	a->state = st;
	names_build(&a->names, st);
	if (json_object_object_get_ex(st, "dns_port", &v))
		a->dns_port = (uint16_t)json_object_get_int(v);
	read_upstreams(a);

	for (size_t i = 0; i < a->n_eps; i++)
		a->eps[i].seen = false;
	for (size_t i = 0; i < a->names.n_eps; i++) {
		const struct name_ep *ne = &a->names.eps[i];
		struct ep_socks *es = socks_find(a, ne->name);

		if (!ne->dns || !a->dns_port)
			continue;
		if (es) {
			es->seen = true;
			continue;
		}
		/* a new endpoint: reuse a free slot (pointers to slots stay valid) */
		es = NULL;
		for (size_t j = 0; j < a->n_eps && !es; j++)
			if (!a->eps[j].name)
				es = &a->eps[j];
		if (!es) {
			if (a->n_eps == BERTH_AGENT_MAX_EPS) {
				alog(a, LOG_ERR, "too many endpoints; %s gets no DNS", ne->name);
				continue;
			}
			es = &a->eps[a->n_eps++];
		}
		memset(es, 0, sizeof(*es));
		es->udp = (struct src){ SRC_UDP, ep_socket(a, ne->name, SOCK_DGRAM) };
		es->tcp = (struct src){ SRC_TCP_LISTEN, ep_socket(a, ne->name, SOCK_STREAM) };
		if (es->udp.fd < 0 || es->tcp.fd < 0) {
			alog(a, LOG_ERR, "listen in %s on 127.0.0.11:%u: %s", ne->name, a->dns_port,
			     strerror(-(es->udp.fd < 0 ? es->udp.fd : es->tcp.fd)));
			if (es->udp.fd >= 0)
				close(es->udp.fd);
			if (es->tcp.fd >= 0)
				close(es->tcp.fd);
			continue;
		}
		es->name = xstrdup(ne->name);
		es->seen = true;
		ep_add_fd(a, &es->udp, EPOLLIN);
		ep_add_fd(a, &es->tcp, EPOLLIN);
		alog(a, LOG_DEBUG, "serving DNS in %s", ne->name);
	}
	for (size_t i = 0; i < a->n_eps; i++) {
		if (a->eps[i].name && !a->eps[i].seen) {
			alog(a, LOG_DEBUG, "endpoint %s is gone", a->eps[i].name);
			socks_close(a, &a->eps[i]);
		}
	}
	alog(a, LOG_INFO, "%zu endpoints, %zu names, %d upstream servers", a->names.n_eps,
	     a->names.n_entries, a->n_upstreams);
}

/* ---- answering ---- */

static void send_reply(struct agent *a, int fd, const struct sockaddr_in *to, bool tcp,
		       const uint8_t *msg, size_t len)
{
	if (tcp) {
		uint8_t hdr[2] = { (uint8_t)(len >> 8), (uint8_t)len };
		struct iovec iov[2] = { { hdr, 2 }, { (void *)msg, len } };
		struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 2 };

		/* half an answer would corrupt the stream: such a client is cut off */
		if (sendmsg(fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL) != (ssize_t)(len + 2)) {
			alog(a, LOG_DEBUG, "TCP answer not sent whole: closing the connection");
			shutdown(fd, SHUT_RDWR);
		}
		return;
	}
	if (sendto(fd, msg, len, MSG_DONTWAIT, (const struct sockaddr *)to, sizeof(*to)) < 0)
		alog(a, LOG_DEBUG, "UDP answer not sent: %s", strerror(errno));
}

static void reply_rcode(struct agent *a, int fd, const struct sockaddr_in *to, bool tcp,
			const struct dns_query *q, int rcode, bool aa)
{
	uint8_t out[DNS_EDNS_CAP];
	int len = dns_build_response(out, sizeof(out), tcp ? sizeof(out) : dns_udp_limit(q), q, rcode,
				     aa, true, NULL, 0);

	if (len > 0)
		send_reply(a, fd, to, tcp, out, (size_t)len);
}

static void forward(struct agent *a, int fd, const struct sockaddr_in *to, bool tcp,
		    const struct dns_query *q, const uint8_t *msg, size_t len);

/*
 * Answer one query from endpoint @ep_name: its names, PTR for endpoint
 * addresses, NXDOMAIN for berth names out of its scope; anything else is
 * forwarded upstream.
 */
static void answer(struct agent *a, const char *ep_name, int fd, const struct sockaddr_in *to,
		   bool tcp, const uint8_t *msg, size_t len)
{
	static uint8_t out[65535];
	struct dns_rr rrs[MAX_ANSWERS];
	uint32_t ips[MAX_ANSWERS], ptr_ip;
	const struct name_ep *ep;
	struct dns_query q;
	char ptr[512];
	size_t n_ips = 0, n_rrs = 0;
	int r, rcode = DNS_RCODE_NOERROR;

	r = dns_parse_query(msg, len, &q);
	if (r < 0)
		return;
	if (r > 0) {
		reply_rcode(a, fd, to, tcp, &q, r, false);
		return;
	}
	ep = names_ep(&a->names, ep_name);
	if (!ep) {
		reply_rcode(a, fd, to, tcp, &q, DNS_RCODE_REFUSED, false);
		return;
	}
	if (q.q.qtype == DNS_TYPE_PTR && !dns_ptr_parse(q.q.name, &ptr_ip)) {
		switch (names_ptr(&a->names, ep, ptr_ip, ptr, sizeof(ptr))) {
		case NAMES_FOUND:
			rrs[n_rrs++] = (struct dns_rr){ .type = DNS_TYPE_PTR, .ttl = ep->ttl, .ptr = ptr };
			goto reply;
		case NAMES_NXDOMAIN:
			rcode = DNS_RCODE_NXDOMAIN;
			goto reply;
		case NAMES_FORWARD:
			forward(a, fd, to, tcp, &q, msg, len);
			return;
		}
	}
	switch (names_lookup(&a->names, ep, q.q.name,
			     /* rotate */ q.q.qtype == DNS_TYPE_A || q.q.qtype == DNS_TYPE_ANY, ips,
			     MAX_ANSWERS, &n_ips)) {
	case NAMES_FOUND:
		/* AAAA, MX, TXT, SRV of a known name: NOERROR, no records, never forwarded */
		if (q.q.qtype == DNS_TYPE_A || q.q.qtype == DNS_TYPE_ANY)
			for (size_t i = 0; i < n_ips; i++)
				rrs[n_rrs++] = (struct dns_rr){ .type = DNS_TYPE_A, .ttl = ep->ttl,
								.a = ips[i] };
		break;
	case NAMES_NXDOMAIN:
		rcode = DNS_RCODE_NXDOMAIN;
		break;
	case NAMES_FORWARD:
		forward(a, fd, to, tcp, &q, msg, len);
		return;
	}
reply:
	r = dns_build_response(out, sizeof(out), tcp ? sizeof(out) : dns_udp_limit(&q), &q, rcode,
			       /* aa */ true, /* ra */ true, rrs, n_rrs);
	if (r > 0)
		send_reply(a, fd, to, tcp, out, (size_t)r);
	alog(a, LOG_DEBUG, "%s asked %s type %u: rcode %d, %zu answers", ep_name, q.q.name,
	     q.q.qtype, rcode, n_rrs);
}

/* ---- forwarding ---- */

static void fwd_free(struct agent *a, struct fwd *f)
{
	struct fwd **pp = &a->fwds;

	while (*pp && *pp != f)
		pp = &(*pp)->next;
	if (*pp)
		*pp = f->next;
	src_close(a, &f->s);
	free(f->msg);
	free(f->rbuf);
	f->msg = f->rbuf = NULL;
	bury(a, f);
	a->n_fwds--;
}

static uint16_t random_id(void)
{
	uint16_t id;

	if (getrandom(&id, sizeof(id), 0) != sizeof(id))
		id = (uint16_t)(now_ms() * 2654435761u);
	return id;
}

/* Send @f to upstream @f->server with a fresh id and source port. */
static int fwd_send(struct agent *a, struct fwd *f)
{
	uint16_t id;

	f->up_tcp = false;
	src_close(a, &f->s);
	f->s.fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (f->s.fd < 0)
		return -errno;
	/* connected: the kernel hands us only what comes from that server and port */
	if (connect(f->s.fd, (struct sockaddr *)&a->upstreams[f->server], sizeof(a->upstreams[0])))
		return -errno;
	id = random_id();
	f->id = id;
	dns_set_id(f->msg, id);
	if (send(f->s.fd, f->msg, f->len, 0) < 0)
		return -errno;
	f->deadline_ms = now_ms() + UPSTREAM_TIMEOUT_MS;
	return ep_add_fd(a, &f->s, EPOLLIN);
}

static void fwd_fail(struct agent *a, struct fwd *f)
{
	struct dns_query q = { .id = f->client_id, .rd = true, .q = f->q };

	reply_rcode(a, f->reply_fd, &f->client, f->tcp, &q, DNS_RCODE_SERVFAIL, false);
	fwd_free(a, f);
}

/* The next server, or SERVFAIL when none is left. */
static void fwd_next(struct agent *a, struct fwd *f)
{
	while (++f->server < a->n_upstreams)
		if (!fwd_send(a, f))
			return;
	fwd_fail(a, f);
}

static void forward(struct agent *a, int fd, const struct sockaddr_in *to, bool tcp,
		    const struct dns_query *q, const uint8_t *msg, size_t len)
{
	struct fwd *f;

	if (a->n_fwds >= MAX_INFLIGHT) {
		reply_rcode(a, fd, to, tcp, q, DNS_RCODE_REFUSED, false);
		return;
	}
	if (!a->n_upstreams) {
		reply_rcode(a, fd, to, tcp, q, DNS_RCODE_SERVFAIL, false);
		return;
	}
	f = xcalloc(1, sizeof(*f));
	f->s = (struct src){ SRC_FWD, -1 };
	f->client_id = q->id;
	f->q = q->q;
	f->msg = xmalloc(len);
	memcpy(f->msg, msg, len);
	f->len = len;
	f->reply_fd = fd;
	if (to)
		f->client = *to;
	f->tcp = tcp;
	f->server = -1;
	f->next = a->fwds;
	a->fwds = f;
	a->n_fwds++;
	alog(a, LOG_DEBUG, "forwarding %s type %u", q->q.name, q->q.qtype);
	fwd_next(a, f);
}

static void fwd_next(struct agent *a, struct fwd *f);

/* Ask the same server again over TCP: its UDP answer was truncated. */
static int fwd_send_tcp(struct agent *a, struct fwd *f)
{
	src_close(a, &f->s);
	f->s.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (f->s.fd < 0)
		return -errno;
	if (connect(f->s.fd, (struct sockaddr *)&a->upstreams[f->server], sizeof(a->upstreams[0])) &&
	    errno != EINPROGRESS)
		return -errno;
	f->up_tcp = true;
	f->up_sent = false;
	f->rlen = 0;
	if (!f->rbuf)
		f->rbuf = xmalloc(2 + 65535);
	f->id = random_id();
	dns_set_id(f->msg, f->id);
	f->deadline_ms = now_ms() + UPSTREAM_TIMEOUT_MS;
	/* writable once connected */
	return ep_add_fd(a, &f->s, EPOLLOUT);
}

/* An answer from upstream: relay it if it answers what we asked. */
static void fwd_answer(struct agent *a, struct fwd *f, uint8_t *msg, size_t len)
{
	struct dns_question rq;
	uint16_t id;
	int rcode;
	bool tc;

	/* only the reply to what we asked: same id, same question */
	if (dns_parse_response(msg, len, &id, &rcode, &tc, &rq) || id != f->id ||
	    rq.qtype != f->q.qtype || rq.qclass != f->q.qclass || !dns_name_eq(rq.name, f->q.name)) {
		alog(a, LOG_DEBUG, "ignored a reply that does not match %s", f->q.name);
		if (f->up_tcp)
			fwd_next(a, f);	/* a TCP stream that says something else is done */
		return;
	}
	if (rcode == DNS_RCODE_SERVFAIL || rcode == DNS_RCODE_REFUSED) {
		fwd_next(a, f);
		return;
	}
	if (tc && f->tcp && !f->up_tcp) {
		if (fwd_send_tcp(a, f))
			fwd_next(a, f);
		return;
	}
	dns_set_id(msg, f->client_id);
	send_reply(a, f->reply_fd, &f->client, f->tcp, msg, len);
	fwd_free(a, f);
}

static void fwd_tcp_event(struct agent *a, struct fwd *f, uint32_t events)
{
	size_t mlen;
	ssize_t n;

	if (!f->up_sent) {
		uint8_t hdr[2] = { (uint8_t)(f->len >> 8), (uint8_t)f->len };
		struct iovec iov[2] = { { hdr, 2 }, { f->msg, f->len } };
		struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 2 };
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &f->s };
		int soerr = 0;
		socklen_t sl = sizeof(soerr);

		if ((events & (EPOLLERR | EPOLLHUP)) ||
		    getsockopt(f->s.fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) || soerr ||
		    sendmsg(f->s.fd, &mh, MSG_NOSIGNAL) != (ssize_t)(f->len + 2) ||
		    epoll_ctl(a->epfd, EPOLL_CTL_MOD, f->s.fd, &ev)) {
			fwd_next(a, f);
			return;
		}
		f->up_sent = true;
		return;
	}
	n = recv(f->s.fd, f->rbuf + f->rlen, 2 + 65535 - f->rlen, 0);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		fwd_next(a, f);
		return;
	}
	f->rlen += (size_t)n;
	if (f->rlen < 2)
		return;
	mlen = (size_t)f->rbuf[0] << 8 | f->rbuf[1];
	if (f->rlen >= 2 + mlen)
		fwd_answer(a, f, f->rbuf + 2, mlen);
}

static void fwd_event(struct agent *a, struct fwd *f, uint32_t events)
{
	uint8_t buf[65535];
	ssize_t n;

	if (f->up_tcp) {
		fwd_tcp_event(a, f, events);
		return;
	}
	n = recv(f->s.fd, buf, sizeof(buf), 0);
	if (n < 0) {
		if (errno == ECONNREFUSED)
			fwd_next(a, f);
		return;
	}
	fwd_answer(a, f, buf, (size_t)n);
}

/* ---- TCP ---- */

static void conn_free(struct agent *a, struct tcp_conn *c)
{
	struct tcp_conn **pp = &a->conns;

	while (*pp && *pp != c)
		pp = &(*pp)->next;
	if (*pp)
		*pp = c->next;
	/* forwarded queries of this connection have nowhere to answer */
	for (struct fwd *f = a->fwds, *next; f; f = next) {
		next = f->next;
		if (f->tcp && f->reply_fd == c->s.fd)
			fwd_free(a, f);
	}
	if (c->es)
		c->es->n_conns--;
	src_close(a, &c->s);
	bury(a, c);
}

static void tcp_accept(struct agent *a, struct ep_socks *es)
{
	struct tcp_conn *c;
	int fd = accept4(es->tcp.fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (fd < 0)
		return;
	if (es->n_conns >= TCP_PER_EP) {
		close(fd);
		return;
	}
	c = xcalloc(1, sizeof(*c));
	c->s = (struct src){ SRC_TCP_CONN, fd };
	c->es = es;
	snprintf(c->ep, sizeof(c->ep), "%s", es->name);
	c->last_ms = now_ms();
	c->next = a->conns;
	a->conns = c;
	es->n_conns++;
	ep_add_fd(a, &c->s, EPOLLIN);
}

static void tcp_readable(struct agent *a, struct tcp_conn *c)
{
	ssize_t n = recv(c->s.fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);

	if (n <= 0) {
		if (n == 0 || (errno != EAGAIN && errno != EINTR))
			conn_free(a, c);
		return;
	}
	c->len += (size_t)n;
	c->last_ms = now_ms();
	/* RFC 7766: each message has a two-byte length; several may be pipelined */
	while (c->len >= 2) {
		size_t mlen = (size_t)c->buf[0] << 8 | c->buf[1];

		if (!mlen) {
			conn_free(a, c);
			return;
		}
		if (c->len < 2 + mlen)
			break;
		answer(a, c->ep, c->s.fd, NULL, /* tcp */ true, c->buf + 2, mlen);
		memmove(c->buf, c->buf + 2 + mlen, c->len - 2 - mlen);
		c->len -= 2 + mlen;
	}
}

/* ---- UDP ---- */

static void udp_readable(struct agent *a, struct ep_socks *es)
{
	uint8_t buf[65535];
	struct sockaddr_in from;
	socklen_t fl;

	/* a bounded batch per wakeup, so one busy endpoint cannot starve the rest */
	for (int i = 0; i < 64; i++) {
		ssize_t n;

		fl = sizeof(from);
		n = recvfrom(es->udp.fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
		if (n < 0)
			return;
		answer(a, es->name, es->udp.fd, &from, /* tcp */ false, buf, (size_t)n);
	}
}

/* ---- the API socket ---- */

static void api_request(struct agent *a)
{
	char buf[512], out[256];
	struct json_object *req, *cmd;
	const char *c = "";
	ssize_t n;
	int fd = accept4(a->api.fd, NULL, NULL, SOCK_CLOEXEC);

	if (fd < 0)
		return;
	/* a local client writes one short line at once; don't let it hold the loop */
	{
		struct pollfd p = { .fd = fd, .events = POLLIN };

		if (poll(&p, 1, 1000) <= 0) {
			close(fd);
			return;
		}
	}
	n = recv(fd, buf, sizeof(buf) - 1, 0);
	buf[n > 0 ? n : 0] = '\0';
	req = json_tokener_parse(buf);
	if (req && json_object_object_get_ex(req, "cmd", &cmd) && json_object_get_string(cmd))
		c = json_object_get_string(cmd);
	if (!strcmp(c, "ping")) {
		snprintf(out, sizeof(out), "{\"ok\": true, \"pid\": %d, \"endpoints\": %zu, \"names\": %zu}\n",
			 getpid(), a->names.n_eps, a->names.n_entries);
	} else if (!strcmp(c, "reload")) {
		reload(a);
		snprintf(out, sizeof(out), "{\"ok\": true}\n");
	} else if (!strcmp(c, "stop")) {
		a->stop = true;
		snprintf(out, sizeof(out), "{\"ok\": true}\n");
	} else {
		snprintf(out, sizeof(out), "{\"error\": \"unknown command\"}\n");
	}
	if (send(fd, out, strlen(out), MSG_NOSIGNAL) < 0)
		alog(a, LOG_DEBUG, "API reply: %s", strerror(errno));
	json_object_put(req);
	close(fd);
}

static void tick(struct agent *a)
{
	uint64_t t = now_ms(), exp;

	if (read(a->tick.fd, &exp, sizeof(exp)) < 0)
		exp = 0;
	for (struct fwd *f = a->fwds, *next; f; f = next) {
		next = f->next;
		if (t >= f->deadline_ms)
			fwd_next(a, f);
	}
	for (struct tcp_conn *c = a->conns, *next; c; c = next) {
		next = c->next;
		if (t - c->last_ms >= TCP_IDLE_MS)
			conn_free(a, c);
	}
}

/* ---- the host's addresses: berth_hostip_v1 follows them ---- */

/*
 * The socket programs take a port published on every address as reached at
 * any address of the host namespace in berth_hostip_v1 (docs/maps.md). `up`
 * writes the map; between two `up`s the host gains and loses addresses
 * (DHCP, `ip addr add`), so the agent, which runs in that namespace, syncs
 * the map whenever the kernel says an IPv4 address came or went.
 */

static int addr_event(struct nl_msg *msg, void *arg)
{
	struct agent *a = arg;
	int type = nlmsg_hdr(msg)->nlmsg_type;

	if (type == RTM_NEWADDR || type == RTM_DELADDR)
		a->addrs_changed = true;
	return NL_OK;
}

/* Not fatal: DNS goes on, and the map changes at `up` only, as it did before the watch. */
static void addrs_watch(struct agent *a)
{
	int err;

	a->addr_sk = nl_socket_alloc();
	if (!a->addr_sk) {
		alog(a, LOG_WARN, "watch the host's addresses: %s; berth_hostip_v1 follows up only",
		     strerror(ENOMEM));
		return;
	}
	/* events are no replies to a request of ours: no sequence numbers to check */
	nl_socket_disable_seq_check(a->addr_sk);
	nl_socket_modify_cb(a->addr_sk, NL_CB_VALID, NL_CB_CUSTOM, addr_event, a);
	err = nl_connect(a->addr_sk, NETLINK_ROUTE);
	err = err ? err : nl_socket_add_membership(a->addr_sk, RTNLGRP_IPV4_IFADDR);
	err = err ? err : nl_socket_set_nonblocking(a->addr_sk);
	if (!err) {
		a->addrs = (struct src){ SRC_ADDRS, nl_socket_get_fd(a->addr_sk) };
		if (ep_add_fd(a, &a->addrs, EPOLLIN))
			err = -nl_syserr2nlerr(errno);
	}
	if (err) {
		alog(a, LOG_WARN, "watch the host's addresses: %s; berth_hostip_v1 follows up only",
		     nl_geterror(err));
		nl_socket_free(a->addr_sk);
		a->addr_sk = NULL;
		a->addrs.fd = -1;
	}
}

static void addrs_unwatch(struct agent *a)
{
	if (!a->addr_sk)
		return;
	epoll_ctl(a->epfd, EPOLL_CTL_DEL, a->addrs.fd, NULL);
	nl_socket_free(a->addr_sk);	/* closes addrs.fd */
	a->addr_sk = NULL;
	a->addrs.fd = -1;
}

/* A bounded batch of events per wakeup; the loop syncs the map after the batch. */
static void addrs_readable(struct agent *a)
{
	for (int i = 0; i < 64; i++) {
		int err = nl_recvmsgs_default(a->addr_sk);

		if (err == -NLE_AGAIN)
			return;
		if (err < 0) {
			/*
			 * The socket overflowed (ENOBUFS, which libnl reports as NLE_NOMEM):
			 * events are lost. A sync reads every address anyway, so it is the
			 * full resync.
			 */
			alog(a, LOG_DEBUG, "host address events: %s; reading every address again",
			     err == -NLE_NOMEM ? "some lost (ENOBUFS)" : nl_geterror(err));
			a->addrs_changed = true;
		}
	}
}

static void hostip_changed(void *arg, __be32 addr, bool added)
{
	char s[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &addr, s, sizeof(s));
	alog(arg, LOG_DEBUG, "host address %s %s berth_hostip_v1", s,
	     added ? "added to" : "removed from");
}

/*
 * berth_hostip_v1 := the namespace's IPv4 addresses, on the map as pinned now
 * (opened each time: `up` may have made it or `down` removed it since). No
 * datapath yet, or another build's (its maps, until an `up` upgrades it), is
 * left alone.
 */
static void hostip_sync(struct agent *a)
{
	char pin_dir[600];
	int fd, err;

	a->addrs_changed = false;
	snprintf(pin_dir, sizeof(pin_dir), BERTH_PIN_DIR "/%s", a->o->instance);
	if (dp_status(pin_dir) == DP_OTHER) {
		alog(a, LOG_DEBUG, "%s holds another build's datapath: berth_hostip_v1 is left to up",
		     pin_dir);
		return;
	}
	fd = pin_get(pin_dir, "berth_hostip_v1");
	err = fd == -ENOENT ? 0 : fd < 0 ? fd : sockhook_hostip_sync(fd, hostip_changed, a);
	if (fd >= 0)
		close(fd);
	if (err && err != a->hostip_err)
		alog(a, LOG_WARN, "sync the host's addresses into %s/berth_hostip_v1: %s", pin_dir,
		     strerror(-err));
	a->hostip_err = err;
}

/* ---- the conntrack GC thread ---- */

/*
 * Seconds between conntrack GC passes: CT_GC_INTERVAL_S, or
 * BERTH_CT_GC_INTERVAL for tests that cannot wait.
 */
static unsigned int ct_gc_interval(struct agent *a)
{
	const char *env = getenv("BERTH_CT_GC_INTERVAL");
	unsigned long s;
	char *end;

	if (!env || !*env)
		return CT_GC_INTERVAL_S;
	errno = 0;
	s = strtoul(env, &end, 10);
	if (errno || *end || s < 1 || s > 86400) {
		alog(a, LOG_WARN, "BERTH_CT_GC_INTERVAL=%s is not 1..86400 seconds; using %u", env,
		     CT_GC_INTERVAL_S);
		return CT_GC_INTERVAL_S;
	}
	return (unsigned int)s;
}

/*
 * One conntrack GC pass over the instance's pinned maps, opened afresh each
 * time: an instance without a datapath yet (or one `up` re-created) is no
 * error, and the agent never loads or pins anything itself.
 */
static void ct_gc_pass(struct ct_gc_thread *t)
{
	struct agent *a = t->a;
	char pin_dir[600];
	struct ct_gc_stats st;
	struct ct_maps m;
	uint64_t start = now_ms();
	int err;

	snprintf(pin_dir, sizeof(pin_dir), BERTH_PIN_DIR "/%s", a->o->instance);
	err = ct_maps_open(&m, pin_dir);
	if (!err) {
		err = ct_gc(&m, &t->gc, ct_clock_ns(), &st);
		ct_maps_close(&m);
	}
	if (err) {
		if (err != t->gc_err) {
			if (err == -ENOENT)
				alog(a, LOG_DEBUG, "conntrack GC: no maps pinned under %s yet",
				     pin_dir);
			else
				alog(a, LOG_WARN, "conntrack GC over %s: %s", pin_dir,
				     strerror(-err));
		}
		if (err == -ENOENT)
			ct_gc_state_free(&t->gc);	/* those maps are gone */
		t->gc_err = err;
		return;
	}
	t->gc_err = 0;
	alog(a, st.expired || st.orphans ? LOG_INFO : LOG_DEBUG,
	     "conntrack GC: removed %" PRIu64 " expired flows (%" PRIu64 " NAT entries with them)"
	     " and %" PRIu64 " orphaned NAT entries; %" PRIu64 " flows and %" PRIu64
	     " NAT entries left, %" PRIu64 " orphans pending; %" PRIu64 " ms%s%s",
	     st.expired, st.nat, st.orphans, st.entries, st.nat_entries, st.pending,
	     now_ms() - start, st.key_walk ? "; walked key by key (no batch lookups)" : "",
	     st.truncated ? "; the walk stopped at its bound, the next pass goes on" : "");
}

static void *ct_gc_main(void *arg)
{
	struct ct_gc_thread *t = arg;
	struct pollfd p[2] = { { .fd = t->stop_fd, .events = POLLIN },
			       { .fd = t->timer_fd, .events = POLLIN } };

	/* on a busy machine DNS comes first */
	if (setpriority(PRIO_PROCESS, (id_t)gettid(), 10))
		alog(t->a, LOG_DEBUG, "conntrack GC: cannot lower its priority: %s",
		     strerror(errno));
	for (;;) {
		uint64_t exp;

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			alog(t->a, LOG_ERR, "conntrack GC: poll: %s; no more passes",
			     strerror(errno));
			break;
		}
		if (p[0].revents)
			break;
		if (p[1].revents && read(t->timer_fd, &exp, sizeof(exp)) == sizeof(exp))
			ct_gc_pass(t);
	}
	return NULL;
}

static int ct_gc_start(struct agent *a)
{
	struct ct_gc_thread *t = &a->gc;
	struct itimerspec its = { 0 };
	sigset_t all, old;
	int err;

	t->a = a;
	its.it_interval.tv_sec = its.it_value.tv_sec = ct_gc_interval(a);
	t->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
	if (t->timer_fd < 0)
		return -errno;
	if (timerfd_settime(t->timer_fd, 0, &its, NULL))
		return -errno;
	t->stop_fd = eventfd(0, EFD_CLOEXEC);
	if (t->stop_fd < 0)
		return -errno;
	/* signals are the loop's (signalfd): the thread takes none */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = -pthread_create(&t->tid, NULL, ct_gc_main, t);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err)
		return err;
	t->running = true;
	return 0;
}

/* Stop the thread, after the pass it may be in; then nothing of it is left. */
static void ct_gc_stop(struct agent *a)
{
	struct ct_gc_thread *t = &a->gc;
	uint64_t one = 1;

	if (t->running) {
		if (write(t->stop_fd, &one, sizeof(one)) != sizeof(one)) {
			/* left as it is, fds and all: the process is ending */
			alog(a, LOG_ERR, "conntrack GC: cannot stop the thread: %s",
			     strerror(errno));
			return;
		}
		pthread_join(t->tid, NULL);
		t->running = false;
	}
	if (t->stop_fd >= 0)
		close(t->stop_fd);
	if (t->timer_fd >= 0)
		close(t->timer_fd);
	t->stop_fd = t->timer_fd = -1;
	ct_gc_state_free(&t->gc);
}

static int api_listen(struct agent *a)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/agent.sock", a->run_dir);
	unlink(sa.sun_path);
	a->api = (struct src){ SRC_API, socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0) };
	if (a->api.fd < 0 || bind(a->api.fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    listen(a->api.fd, 8))
		return -errno;
	chmod(sa.sun_path, 0600);
	return ep_add_fd(a, &a->api, EPOLLIN);
}

/* Two sockets per endpoint plus connections and forwards: the soft limit of 1024 is too few. */
static void raise_nofile(struct agent *a)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl))
		alog(a, LOG_WARN, "cannot raise the open-file limit: %s", strerror(errno));
}

static int setup(struct agent *a)
{
	struct itimerspec its = { .it_interval = { 1, 0 }, .it_value = { 1, 0 } };
	char path[600];
	sigset_t mask;
	int err;

	a->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (a->epfd < 0)
		return -errno;
	err = api_listen(a);
	if (err)
		return err;
	/* state.json is replaced by rename: watch the directory for it */
	a->ino = (struct src){ SRC_INOTIFY, inotify_init1(IN_NONBLOCK | IN_CLOEXEC) };
	if (a->ino.fd < 0 || inotify_add_watch(a->ino.fd, a->run_dir, IN_MOVED_TO | IN_CLOSE_WRITE) < 0)
		return -errno;
	ep_add_fd(a, &a->ino, EPOLLIN);
	a->tick = (struct src){ SRC_TICK, timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC) };
	if (a->tick.fd < 0 || timerfd_settime(a->tick.fd, 0, &its, NULL))
		return -errno;
	ep_add_fd(a, &a->tick, EPOLLIN);
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	a->sig = (struct src){ SRC_SIGNAL, signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC) };
	if (a->sig.fd < 0)
		return -errno;
	ep_add_fd(a, &a->sig, EPOLLIN);
	snprintf(path, sizeof(path), "%s/agent.pid", a->run_dir);
	{
		char pid[32];

		snprintf(pid, sizeof(pid), "%d\n", getpid());
		file_write_atomic(path, pid, strlen(pid));
	}
	return 0;
}

int agent_run(const struct agent_opts *o)
{
	struct agent a = { .o = o, .epfd = -1, .lock_fd = -1, .addrs = { SRC_ADDRS, -1 },
			   .gc = { .timer_fd = -1, .stop_fd = -1 } };
	char path[600];
	int err;

	a.eps = xcalloc(BERTH_AGENT_MAX_EPS, sizeof(*a.eps));
	snprintf(a.run_dir, sizeof(a.run_dir), BERTH_RUN_DIR "/%s", o->instance);
	if (strcmp(o->instance, "host")) {
		int fd = netns_open(o->instance), saved;

		if (fd < 0 || netns_enter(fd, &saved)) {
			fprintf(stderr, "berth agent: host namespace %s: %s\n", o->instance,
				strerror(fd < 0 ? -fd : errno));
			return 2;
		}
		close(fd);
		close(saved);
	}
	err = mkdir_p(a.run_dir, 0755);
	snprintf(path, sizeof(path), "%s/agent.log", a.run_dir);
	a.log = err ? NULL : fopen(path, "ae");
	a.echo = o->foreground;
	if (a.log) {
		struct stat l, e;

		/* started by `up`, stderr already is the log: don't write every line twice */
		if (!fstat(fileno(a.log), &l) && !fstat(2, &e) && l.st_ino == e.st_ino &&
		    l.st_dev == e.st_dev)
			a.echo = false;
	}
	if (!err) {
		/* one agent per instance: the lock is held for the agent's whole life */
		snprintf(path, sizeof(path), "%s/agent.lock", a.run_dir);
		a.lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
		if (a.lock_fd < 0 || flock(a.lock_fd, LOCK_EX | LOCK_NB)) {
			alog(&a, LOG_ERR, "another agent runs for instance %s (%s)", o->instance, path);
			return 1;
		}
	}
	raise_nofile(&a);
	err = err ? err : setup(&a);
	err = err ? err : ct_gc_start(&a);
	if (err) {
		alog(&a, LOG_ERR, "start: %s", strerror(-err));
		return 2;
	}
	alog(&a, LOG_INFO, "agent of instance %s started (pid %d)", o->instance, getpid());
	reload(&a);
	/* watching first: a change between the sync and the watch would go unseen */
	addrs_watch(&a);
	hostip_sync(&a);
	while (!a.stop) {
		struct epoll_event evs[64];
		int n = epoll_wait(a.epfd, evs, 64, -1);

		if (n < 0 && errno != EINTR) {
			alog(&a, LOG_ERR, "epoll: %s", strerror(errno));
			break;
		}
		for (int i = 0; i < n && !a.stop; i++) {
			struct src *s = evs[i].data.ptr;

			if (s->fd < 0)
				continue;	/* closed by an earlier event of this batch */
			switch (s->kind) {
			case SRC_UDP:
				udp_readable(&a, (struct ep_socks *)((char *)s - offsetof(struct ep_socks, udp)));
				break;
			case SRC_TCP_LISTEN:
				tcp_accept(&a, (struct ep_socks *)((char *)s - offsetof(struct ep_socks, tcp)));
				break;
			case SRC_TCP_CONN:
				tcp_readable(&a, (struct tcp_conn *)s);
				break;
			case SRC_FWD:
				fwd_event(&a, (struct fwd *)s, evs[i].events);
				break;
			case SRC_API:
				api_request(&a);
				break;
			case SRC_INOTIFY: {
				char buf[4096] __attribute__((aligned(8)));
				bool state = false;
				ssize_t len = read(a.ino.fd, buf, sizeof(buf));

				for (char *p = buf; len > 0 && p < buf + len;) {
					struct inotify_event *ev = (struct inotify_event *)p;

					if (ev->len && !strcmp(ev->name, "state.json"))
						state = true;
					p += sizeof(*ev) + ev->len;
				}
				if (state)
					reload(&a);
				break;
			}
			case SRC_TICK:
				tick(&a);
				break;
			case SRC_ADDRS:
				addrs_readable(&a);
				break;
			case SRC_SIGNAL: {
				struct signalfd_siginfo si;

				if (read(a.sig.fd, &si, sizeof(si)) == sizeof(si)) {
					if (si.ssi_signo == SIGHUP)
						reload(&a);
					else
						a.stop = true;
				}
				break;
			}
			}
		}
		graveyard_empty(&a);
		/* once per batch, however many address events it held */
		if (a.addrs_changed)
			hostip_sync(&a);
	}
	alog(&a, LOG_INFO, "agent of instance %s stopping", o->instance);
	ct_gc_stop(&a);
	addrs_unwatch(&a);
	snprintf(path, sizeof(path), "%s/agent.sock", a.run_dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/agent.pid", a.run_dir);
	unlink(path);
	while (a.conns)
		conn_free(&a, a.conns);
	while (a.fwds)
		fwd_free(&a, a.fwds);
	graveyard_empty(&a);
	free(a.dead);
	for (size_t i = 0; i < a.n_eps; i++)
		if (a.eps[i].name)
			socks_close(&a, &a.eps[i]);
	free(a.eps);
	names_free(&a.names);
	json_object_put(a.state);
	if (a.log)
		fclose(a.log);
	close(a.epfd);
	close(a.lock_fd);	/* the lock goes last: the files above were this agent's */
	return 0;
}

/* ---- the CLI side ---- */

static int api_call(const struct instance *in, const char *cmd, char *reply, size_t size)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char req[64];
	int fd, err = 0;
	ssize_t n;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/agent.sock", in->run_dir);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		err = -errno;
		goto out;
	}
	snprintf(req, sizeof(req), "{\"cmd\": \"%s\"}\n", cmd);
	if (send(fd, req, strlen(req), MSG_NOSIGNAL) < 0) {
		err = -errno;
		goto out;
	}
	{
		struct pollfd p = { .fd = fd, .events = POLLIN };

		if (poll(&p, 1, 3000) <= 0) {
			err = -ETIMEDOUT;
			goto out;
		}
	}
	n = recv(fd, reply, size - 1, 0);
	reply[n > 0 ? n : 0] = '\0';
out:
	close(fd);
	return err;
}

int agent_notify(const struct instance *in, const char *cmd)
{
	char reply[256];
	int err = api_call(in, cmd, reply, sizeof(reply));

	return err == -ENOENT || err == -ECONNREFUSED ? 0 : err;
}

/* The agent holds agent.lock while it runs. */
static bool agent_running(const struct instance *in)
{
	char path[600];
	int fd;
	bool held;

	snprintf(path, sizeof(path), "%s/agent.lock", in->run_dir);
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return false;
	held = flock(fd, LOCK_EX | LOCK_NB) != 0;
	close(fd);
	return held;
}

/* The pid in agent.pid, if that process is a berth agent. */
static pid_t agent_pid(const struct instance *in)
{
	char path[600], buf[4096];
	long pid = 0;
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "%s/agent.pid", in->run_dir);
	f = fopen(path, "re");
	if (!f)
		return 0;
	if (fscanf(f, "%ld", &pid) != 1)
		pid = 0;
	fclose(f);
	if (pid <= 1)
		return 0;
	snprintf(path, sizeof(path), "/proc/%ld/cmdline", pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* argv[0] then "agent": NUL-separated */
	return n > strlen(buf) + 1 && !strcmp(buf + strlen(buf) + 1, "agent") ? (pid_t)pid : 0;
}

int agent_stop(const struct instance *in)
{
	static const int sigs[] = { 0, SIGTERM, SIGKILL };
	char reply[256];

	api_call(in, "stop", reply, sizeof(reply));
	for (size_t s = 0; s < sizeof(sigs) / sizeof(sigs[0]); s++) {
		pid_t pid = agent_pid(in);

		if (sigs[s] && pid)
			kill(pid, sigs[s]);
		for (int i = 0; i < 100; i++) {
			struct timespec ts = { 0, 20 * 1000 * 1000 };

			if (!agent_running(in))
				return 0;
			nanosleep(&ts, NULL);
		}
	}
	return -ETIMEDOUT;
}

int agent_ensure(const struct instance *in, bool verbose)
{
	char reply[256], self[PATH_MAX], log[600];
	ssize_t n;
	pid_t pid;

	if (!api_call(in, "ping", reply, sizeof(reply)))
		return 0;
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n < 0)
		return -errno;
	self[n] = '\0';
	snprintf(log, sizeof(log), "%s/agent.log", in->run_dir);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (!pid) {
		/* a daemon: own session, no terminal, the instance's log for stdio */
		int fd = open("/dev/null", O_RDONLY);
		char *argv[6] = { self, "agent", NULL, NULL, NULL, NULL };
		int k = 2;

		if (fd >= 0)
			dup2(fd, 0);
		fd = open(log, O_WRONLY | O_APPEND | O_CREAT, 0640);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		setsid();
		if (fork())
			_exit(0);
		if (strcmp(in->name, "host")) {
			argv[k++] = "--host-netns";
			argv[k++] = (char *)in->name;
		}
		if (verbose)
			argv[k++] = "-v";
		execv(self, argv);
		_exit(127);
	}
	waitpid(pid, NULL, 0);
	/* ready when it answers: bounded wait */
	for (int i = 0; i < 100; i++) {
		struct timespec ts = { 0, 20 * 1000 * 1000 };

		if (!api_call(in, "ping", reply, sizeof(reply)))
			return 0;
		nanosleep(&ts, NULL);
	}
	return -ETIMEDOUT;
}
