// SPDX-License-Identifier: GPL-2.0-only
/*
 * New TCP connections per second, for make bench's outbound figures.
 *
 *   connrate server ADDR PORT SECONDS
 *   connrate client ADDR PORT SECONDS INFLIGHT
 *
 * The server accepts every connection and closes it at once with SO_LINGER 0, that
 * is with a RST, until SECONDS have passed or SIGTERM/SIGINT; then it prints how many
 * it accepted and from which addresses ("peer ADDR COUNT"), so that the caller can
 * see the address the connections arrived from (the masquerade address).
 *
 * The client keeps INFLIGHT non-blocking connections open at all times for SECONDS:
 * each one is connect()ed, waits until the server has closed it, and is closed; a new
 * one takes its place. A connection counts when the client saw it established and
 * then closed by the server, so that each one is a full round through the datapath
 * both ways (the SYN and the ACK out, the SYN-ACK and the RST back in).
 *
 * Why the server resets, and not the client: a connection the server ends with a
 * RST leaves TIME_WAIT nowhere. The client did not close first, so its ephemeral
 * port is free again as soon as it closes the socket; the server closed abortively.
 * A NAT on the way sees the whole life of a flow, from SYN to RST, with the closing
 * packet coming back from the outside through the reverse translation, as when a
 * server ends a request; the flow's state then waits out the NAT's short closing
 * timeout, instead of two minutes of TIME_WAIT for every connection. Had the client
 * reset instead, it would not wait for the server at all, and the figure would count
 * handshakes the server may not even have accepted yet. Had either side closed
 * normally, the active closer's TIME_WAIT would exhaust the port range within
 * seconds at these rates (about 28,000 ephemeral ports, 60 s of TIME_WAIT), which
 * is what SO_LINGER 0 is for in load generators; the bench measures the datapath,
 * not that limit. The client's ports come round again every second or two, so the
 * NAT also meets a new SYN on a tuple whose previous flow it still remembers as closing.
 *
 * Client output, one "key<TAB>value" line each:
 *   connections  completed within SECONDS
 *   seconds      the measured time
 *   per_second   connections / seconds
 *   failed       refused, unreachable or otherwise failed connects
 *   timed_out    connections not done within CONN_TIMEOUT_MS (aborted, counted apart)
 *   unfinished   connections still in flight at the end (aborted, not counted)
 *   p50_us, p99_us, max_us   time from connect() to the server's close, completed ones
 *   first_error  the first failure's cause, when there was one
 * Exit: 0, or 1 with the cause on stderr (a bad argument, a system call that must not
 * fail). A run in which no connection completed still prints its lines and exits 0:
 * the caller judges the figures.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define LISTEN_BACKLOG	4096
#define MAX_INFLIGHT	4096
#define CONN_TIMEOUT_MS 3000	/* beyond a SYN's first retransmission (1 s) and its second */
#define MAX_PEERS	16
#define EVENTS		64

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

/* Without SA_RESTART, so that a blocking accept() returns EINTR and the loop ends. */
static int signals_catch(void)
{
	struct sigaction sa = { .sa_handler = on_signal };
	int sigs[] = { SIGTERM, SIGINT, SIGALRM };

	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		if (sigaction(sigs[i], &sa, NULL))
			return -errno;
	return 0;
}

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static int parse_uint(const char *s, unsigned long max, const char *what, unsigned long *out)
{
	char *end;

	errno = 0;
	*out = strtoul(s, &end, 10);
	if (errno || end == s || *end || *out == 0 || *out > max) {
		fprintf(stderr, "connrate: %s %s: want a number from 1 to %lu\n", what, s, max);
		return -EINVAL;
	}
	return 0;
}

static int parse_addr(const char *addr, unsigned long port, struct sockaddr_in *sin)
{
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, addr, &sin->sin_addr) != 1) {
		fprintf(stderr, "connrate: %s: not an IPv4 address\n", addr);
		return -EINVAL;
	}
	return 0;
}

/* ---- server ----------------------------------------------------------------------------- */

struct peer {
	struct in_addr addr;
	unsigned long count;
};

static void peer_count(struct peer *peers, size_t *n, unsigned long *others, struct in_addr a)
{
	for (size_t i = 0; i < *n; i++) {
		if (peers[i].addr.s_addr == a.s_addr) {
			peers[i].count++;
			return;
		}
	}
	if (*n == MAX_PEERS) {
		(*others)++;
		return;
	}
	peers[*n].addr = a;
	peers[(*n)++].count = 1;
}

static int run_server(const struct sockaddr_in *sin, unsigned long seconds)
{
	struct linger abort_close = { .l_onoff = 1, .l_linger = 0 };
	struct peer peers[MAX_PEERS];
	unsigned long accepted = 0, others = 0;
	size_t npeers = 0;
	int one = 1, lfd, err;

	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0) {
		err = -errno;
		fprintf(stderr, "connrate: socket: %s\n", strerror(errno));
		return err;
	}
	/*
	 * Set on the listener, SO_LINGER is copied into every socket accept() returns, so
	 * that each connection costs the server accept() and close() and nothing more.
	 */
	if (setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    setsockopt(lfd, SOL_SOCKET, SO_LINGER, &abort_close, sizeof(abort_close))) {
		err = -errno;
		fprintf(stderr, "connrate: setsockopt on the listener: %s\n", strerror(errno));
		goto close_lfd;
	}
	if (bind(lfd, (const struct sockaddr *)sin, sizeof(*sin)) || listen(lfd, LISTEN_BACKLOG)) {
		err = -errno;
		fprintf(stderr, "connrate: listen on %s:%u: %s\n", inet_ntoa(sin->sin_addr),
			ntohs(sin->sin_port), strerror(errno));
		goto close_lfd;
	}
	alarm((unsigned int)seconds);
	while (!stop) {
		struct sockaddr_in from;
		socklen_t len = sizeof(from);
		int fd = accept4(lfd, (struct sockaddr *)&from, &len, SOCK_CLOEXEC);

		if (fd < 0) {
			/* a connection reset while queued, or our own signal: go on, or end */
			if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO)
				continue;
			err = -errno;
			fprintf(stderr, "connrate: accept: %s\n", strerror(errno));
			goto close_lfd;
		}
		close(fd);
		accepted++;
		peer_count(peers, &npeers, &others, from.sin_addr);
	}
	printf("accepted\t%lu\n", accepted);
	for (size_t i = 0; i < npeers; i++)
		printf("peer\t%s\t%lu\n", inet_ntoa(peers[i].addr), peers[i].count);
	if (others)
		printf("peers_more\t%lu\n", others);
	err = 0;
close_lfd:
	close(lfd);
	return err;
}

/* ---- client ----------------------------------------------------------------------------- */

enum conn_state { CONN_IDLE, CONN_CONNECTING, CONN_ESTABLISHED };

struct conn {
	int fd;
	enum conn_state state;
	uint64_t t0;
};

struct client {
	struct sockaddr_in dst;
	int epfd;
	struct conn *conns;
	uint32_t *times;	/* µs of every completed connection */
	size_t ntimes, cap;
	unsigned long failed, timed_out, unfinished;
	char first_error[96];
};

static void note_failure(struct client *c, const char *what, int errnum)
{
	c->failed++;
	if (!c->first_error[0])
		snprintf(c->first_error, sizeof(c->first_error), "%s: %s", what, strerror(errnum));
}

/* Closes a connection that the server has not closed: abortively, to leave no TIME_WAIT. */
static void conn_abort(struct client *c, struct conn *k)
{
	struct linger abort_close = { .l_onoff = 1, .l_linger = 0 };

	setsockopt(k->fd, SOL_SOCKET, SO_LINGER, &abort_close, sizeof(abort_close));
	epoll_ctl(c->epfd, EPOLL_CTL_DEL, k->fd, NULL);
	close(k->fd);
	k->fd = -1;
	k->state = CONN_IDLE;
}

static void conn_done(struct client *c, struct conn *k, uint64_t now)
{
	if (c->ntimes == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 1 << 16;
		uint32_t *t = realloc(c->times, cap * sizeof(*t));

		if (!t) {
			fprintf(stderr, "connrate: out of memory for %zu times\n", cap);
			exit(1);
		}
		c->times = t;
		c->cap = cap;
	}
	c->times[c->ntimes++] = (uint32_t)(now - k->t0);
	/* the server's RST has already closed it in the kernel: close() sends nothing */
	close(k->fd);
	k->fd = -1;
	k->state = CONN_IDLE;
}

/* 0 when a connect is under way (or failed and was counted); -errno when it must stop. */
static int conn_open(struct client *c, uint32_t slot)
{
	struct conn *k = &c->conns[slot];
	struct epoll_event ev = { .events = EPOLLOUT | EPOLLIN | EPOLLRDHUP, .data.u32 = slot };
	int err;

	k->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (k->fd < 0) {
		err = -errno;
		fprintf(stderr, "connrate: socket: %s\n", strerror(errno));
		return err;
	}
	k->t0 = now_us();
	if (connect(k->fd, (const struct sockaddr *)&c->dst, sizeof(c->dst)) &&
	    errno != EINPROGRESS) {
		/* out of local ports, no route: counted; the slot is tried again later */
		note_failure(c, "connect", errno);
		close(k->fd);
		k->fd = -1;
		return 0;
	}
	if (epoll_ctl(c->epfd, EPOLL_CTL_ADD, k->fd, &ev)) {
		err = -errno;
		fprintf(stderr, "connrate: epoll_ctl: %s\n", strerror(errno));
		close(k->fd);
		k->fd = -1;
		return err;
	}
	k->state = CONN_CONNECTING;
	return 0;
}

static void conn_event(struct client *c, struct conn *k, uint32_t events, uint64_t now)
{
	bool closed = events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR);
	int soerr = 0;
	socklen_t len = sizeof(soerr);

	if (k->state == CONN_CONNECTING) {
		getsockopt(k->fd, SOL_SOCKET, SO_ERROR, &soerr, &len);
		if (soerr == ECONNRESET) {
			/* established, then reset by the server before we looked: done */
			conn_done(c, k, now);
			return;
		}
		if (soerr) {
			note_failure(c, "connect", soerr);
			conn_abort(c, k);
			return;
		}
		if (!(events & EPOLLOUT) && !closed)
			return;
		k->state = CONN_ESTABLISHED;
		if (!closed) {
			/* writable for good now: wait for the server's close alone */
			struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP,
						  .data = { .u32 = (uint32_t)(k - c->conns) } };

			epoll_ctl(c->epfd, EPOLL_CTL_MOD, k->fd, &ev);
			return;
		}
	}
	if (closed)
		conn_done(c, k, now);
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

static uint32_t percentile(const uint32_t *v, size_t n, unsigned int p)
{
	size_t i = (n * p + 99) / 100;

	if (!n)
		return 0;
	return v[i ? i - 1 : 0];
}

static int run_client(struct client *c, unsigned long seconds, unsigned long inflight)
{
	struct epoll_event events[EVENTS];
	uint64_t start, end, now;
	int err = 0;

	c->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (c->epfd < 0) {
		err = -errno;
		fprintf(stderr, "connrate: epoll_create1: %s\n", strerror(errno));
		return err;
	}
	c->conns = calloc(inflight, sizeof(*c->conns));
	if (!c->conns) {
		err = -ENOMEM;
		fprintf(stderr, "connrate: out of memory\n");
		goto close_ep;
	}
	for (size_t i = 0; i < inflight; i++)
		c->conns[i].fd = -1;

	start = now_us();
	end = start + seconds * 1000000u;
	now = start;
	while (now < end && !stop) {
		int n, timeout_ms = (int)((end - now + 999) / 1000);

		/* fill idle slots; one that fails at once waits for the next round */
		for (uint32_t i = 0; i < inflight; i++) {
			if (c->conns[i].state != CONN_IDLE)
				continue;
			err = conn_open(c, i);
			if (err)
				goto abort_all;
		}
		if (timeout_ms > 10)
			timeout_ms = 10;	/* the connection timeouts are checked this often */
		n = epoll_wait(c->epfd, events, EVENTS, timeout_ms);
		if (n < 0 && errno != EINTR) {
			err = -errno;
			fprintf(stderr, "connrate: epoll_wait: %s\n", strerror(errno));
			goto abort_all;
		}
		now = now_us();
		for (int i = 0; i < n && now < end; i++)
			conn_event(c, &c->conns[events[i].data.u32], events[i].events, now);
		for (uint32_t i = 0; i < inflight; i++) {
			struct conn *k = &c->conns[i];

			if (k->state != CONN_IDLE && now - k->t0 > CONN_TIMEOUT_MS * 1000u) {
				c->timed_out++;
				if (!c->first_error[0])
					snprintf(c->first_error, sizeof(c->first_error),
						 "no close from the server within %d ms",
						 CONN_TIMEOUT_MS);
				conn_abort(c, k);
			}
		}
	}
	if (now > end)
		now = end;
	qsort(c->times, c->ntimes, sizeof(*c->times), cmp_u32);
	printf("connections\t%zu\n", c->ntimes);
	printf("seconds\t%.3f\n", (double)(now - start) / 1e6);
	printf("per_second\t%.0f\n", now > start ? c->ntimes / ((double)(now - start) / 1e6) : 0);
	printf("failed\t%lu\n", c->failed);
	printf("timed_out\t%lu\n", c->timed_out);
	err = 0;
abort_all:
	for (size_t i = 0; i < inflight; i++) {
		if (c->conns[i].state == CONN_IDLE)
			continue;
		c->unfinished++;
		conn_abort(c, &c->conns[i]);
	}
	if (!err) {
		printf("unfinished\t%lu\n", c->unfinished);
		printf("p50_us\t%u\n", percentile(c->times, c->ntimes, 50));
		printf("p99_us\t%u\n", percentile(c->times, c->ntimes, 99));
		printf("max_us\t%u\n", c->ntimes ? c->times[c->ntimes - 1] : 0);
		if (c->first_error[0])
			printf("first_error\t%s\n", c->first_error);
	}
	free(c->conns);
	free(c->times);
close_ep:
	close(c->epfd);
	return err;
}

static void usage(void)
{
	fprintf(stderr, "usage: connrate server ADDR PORT SECONDS\n"
			"       connrate client ADDR PORT SECONDS INFLIGHT\n");
}

int main(int argc, char **argv)
{
	unsigned long port, seconds, inflight;
	struct sockaddr_in sin;
	int err;

	if (argc < 5) {
		usage();
		return 1;
	}
	if (parse_uint(argv[3], 65535, "port", &port) ||
	    parse_uint(argv[4], 3600, "seconds", &seconds) || parse_addr(argv[2], port, &sin))
		return 1;
	err = signals_catch();
	if (err) {
		fprintf(stderr, "connrate: sigaction: %s\n", strerror(-err));
		return 1;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!strcmp(argv[1], "server") && argc == 5) {
		err = run_server(&sin, seconds);
	} else if (!strcmp(argv[1], "client") && argc == 6) {
		struct client c = { .dst = sin };

		if (parse_uint(argv[5], MAX_INFLIGHT, "in-flight connections", &inflight))
			return 1;
		err = run_client(&c, seconds, inflight);
	} else {
		usage();
		return 1;
	}
	return err ? 1 : 0;
}
