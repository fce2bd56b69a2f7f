// SPDX-License-Identifier: GPL-2.0-only
#include "ports.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ipv4.h"
#include "util.h"

const char *port_proto_name(enum port_proto p)
{
	switch (p) {
	case PORT_UDP:
		return "udp";
	case PORT_SCTP:
		return "sctp";
	default:
		return "tcp";
	}
}

static char *port_parse_one(const char *s, size_t n, uint16_t *out)
{
	unsigned long v = 0;

	if (!n)
		return xstrdup("missing port number");
	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return xasprintf("invalid port \"%.*s\": not a number", (int)n, s);
	while (n > 1 && *s == '0') {	/* "0080" is 80, as Docker reads it */
		s++;
		n--;
	}
	if (n > 5)
		return xasprintf("port %.*s is out of range 1-65535", (int)n, s);
	for (size_t i = 0; i < n; i++)
		v = v * 10 + (unsigned long)(s[i] - '0');
	if (v < 1 || v > 65535)
		return xasprintf("port %lu is out of range 1-65535", v);
	*out = (uint16_t)v;
	return NULL;
}

char *port_parse_range(const char *s, uint16_t *lo, uint16_t *hi)
{
	const char *dash = strchr(s, '-');
	char *err;

	if (!dash) {
		err = port_parse_one(s, strlen(s), lo);
		*hi = *lo;
		return err;
	}
	err = port_parse_one(s, (size_t)(dash - s), lo);
	if (!err)
		err = port_parse_one(dash + 1, strlen(dash + 1), hi);
	if (!err && *hi < *lo)
		err = xasprintf("port range %s is reversed", s);
	return err;
}

char *port_parse_proto(const char *s, enum port_proto *proto)
{
	if (!strcasecmp(s, "tcp"))
		*proto = PORT_TCP;
	else if (!strcasecmp(s, "udp"))
		*proto = PORT_UDP;
	else if (!strcasecmp(s, "sctp"))
		*proto = PORT_SCTP;
	else
		return xasprintf("unknown protocol \"%s\" (expected tcp, udp or sctp)", s);
	return NULL;
}

char *port_check_lengths(struct port_spec *p)
{
	unsigned host_n = (unsigned)p->host_hi - p->host_lo;
	unsigned target_n = (unsigned)p->target_hi - p->target_lo;

	if (!p->host_lo || host_n == target_n)
		return NULL;
	if (target_n == 0) {
		/* "8000-9000:80": the first free port of the host range */
		p->n_to_one = true;
		return NULL;
	}
	return xasprintf("host port range %u-%u and container port range %u-%u are of unequal length",
			 p->host_lo, p->host_hi, p->target_lo, p->target_hi);
}

/* Split off "/proto"; returns the rest in an allocated string. */
static char *split_proto(const char *s, enum port_proto *proto, char **err)
{
	const char *slash = strrchr(s, '/');

	*proto = PORT_TCP;
	*err = NULL;
	if (!slash)
		return xstrdup(s);
	*err = port_parse_proto(slash + 1, proto);
	return xstrndup(s, (size_t)(slash - s));
}

char *port_parse_short(const char *s, struct port_spec *p)
{
	char *err, *body, *parts[3];
	int n = 1;

	body = split_proto(s, &p->proto, &err);
	if (err)
		goto out;
	if (!*body) {
		err = xstrdup("empty port mapping");
		goto out;
	}
	parts[0] = body;
	for (char *c = body; *c; c++) {
		if (*c != ':')
			continue;
		if (n == 3 && ipv4_parse(body, &p->host_ip)) {
			err = xasprintf("invalid port mapping \"%s\": too many ':' (expected [IP:][HOST:]CONTAINER)", s);
			goto out;
		}
		if (n == 3 || body[0] == '[') {
			err = xasprintf("IPv6 host address in \"%s\": berth has no IPv6 yet; "
					"bind to an IPv4 address or leave the address out", s);
			goto out;
		}
		*c = '\0';
		parts[n++] = c + 1;
	}
	if (body[0] == '[') {
		err = xasprintf("IPv6 host address in \"%s\": berth has no IPv6 yet; "
				"bind to an IPv4 address or leave the address out", s);
		goto out;
	}
	err = port_parse_range(parts[n - 1], &p->target_lo, &p->target_hi);
	if (err)
		goto out;
	if (n >= 2 && *parts[n - 2]) {
		err = port_parse_range(parts[n - 2], &p->host_lo, &p->host_hi);
		if (err)
			goto out;
	}
	if (n == 3 && *parts[0] && !ipv4_parse(parts[0], &p->host_ip)) {
		err = xasprintf("invalid host address \"%s\" in \"%s\"", parts[0], s);
		goto out;
	}
	err = port_check_lengths(p);
out:
	free(body);
	return err;
}

char *port_parse_expose(const char *s, struct port_spec *p)
{
	char *err, *body = split_proto(s, &p->proto, &err);

	if (!err)
		err = port_parse_range(body, &p->target_lo, &p->target_hi);
	free(body);
	return err;
}

/* ---- choosing host ports ---- */

void port_set_add(struct port_set *s, unsigned lo, unsigned hi)
{
	if (hi > 65535)
		hi = 65535;
	for (unsigned p = lo; p <= hi; p++)
		s->w[p / 64] |= 1ull << (p % 64);
}

bool port_set_has(const struct port_set *s, unsigned port)
{
	return port <= 65535 && (s->w[port / 64] >> (port % 64)) & 1;
}

char *port_set_parse(const char *list, struct port_set *s)
{
	char *copy = xstrdup(list), *save = NULL, *err = NULL;
	size_t n = strlen(copy);

	/* the sysctl ends its line with a newline */
	while (n && isspace((unsigned char)copy[n - 1]))
		copy[--n] = '\0';
	for (char *tok = strtok_r(copy, ",", &save); tok && !err;
	     tok = strtok_r(NULL, ",", &save)) {
		uint16_t lo, hi;

		err = port_parse_range(tok, &lo, &hi);
		if (!err)
			port_set_add(s, lo, hi);
	}
	free(copy);
	return err;
}

char *port_set_format(const struct port_set *s)
{
	size_t len = 0, cap = 64;
	char *out = xcalloc(cap, 1);

	for (unsigned p = 1; p < 65536; p++) {
		unsigned hi = p;
		int n;

		if (!port_set_has(s, p))
			continue;
		while (hi < 65535 && port_set_has(s, hi + 1))
			hi++;
		/* ",65535-65535" at most */
		if (len + 16 > cap) {
			cap *= 2;
			out = xrealloc(out, cap);
		}
		n = hi == p ? snprintf(out + len, cap - len, "%s%u", len ? "," : "", p)
			    : snprintf(out + len, cap - len, "%s%u-%u", len ? "," : "", p, hi);
		len += (size_t)n;
		p = hi;
	}
	return out;
}

int port_pick(uint16_t lo, uint16_t hi, uint16_t start, const struct port_set *skip,
	      const struct port_set *taken, port_busy_fn busy, void *arg)
{
	unsigned span, first;

	if (!lo || hi < lo)
		return 0;
	span = (unsigned)hi - lo + 1;
	first = start >= lo && start <= hi ? (unsigned)start - lo : 0;
	for (unsigned i = 0; i < span; i++) {
		unsigned port = lo + (first + i) % span;
		int r;

		if ((skip && port_set_has(skip, port)) || (taken && port_set_has(taken, port)))
			continue;
		r = busy ? busy((uint16_t)port, arg) : 0;
		if (r < 0)
			return r;
		if (!r)
			return (int)port;
	}
	return 0;
}

int port_run_make(int64_t host_port, int64_t target, const int64_t *count, struct port_run *r)
{
	int64_t n = count ? *count : 1;

	memset(r, 0, sizeof(*r));
	if (n < 1 || host_port < 1 || target < 1 || host_port + n - 1 > 65535 ||
	    target + n - 1 > 65535)
		return -EINVAL;
	r->host_port = (uint16_t)host_port;
	r->target = (uint16_t)target;
	r->count = (uint32_t)n;
	return 0;
}

size_t port_runs_merge(struct port_run *r, size_t n)
{
	size_t out = 0;

	for (size_t i = 0; i < n; i++) {
		struct port_run *last = out ? &r[out - 1] : NULL;

		if (last && last->tag && last->tag == r[i].tag &&
		    (uint32_t)last->host_port + last->count == r[i].host_port &&
		    (uint32_t)last->target + last->count == r[i].target) {
			last->count += r[i].count;
			continue;
		}
		r[out++] = r[i];
	}
	return out;
}
