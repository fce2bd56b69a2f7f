/* SPDX-License-Identifier: GPL-2.0-only */
/* IPv4 addresses and prefixes in host byte order. */
#ifndef BERTH_IPV4_H
#define BERTH_IPV4_H

#include <stdbool.h>
#include <stdint.h>

#include "spec.h"

/* Strict dotted quad: four decimal parts 0..255, no leading zeros beyond "0". */
bool ipv4_parse(const char *s, uint32_t *out);
/* "a.b.c.d/len", with the host bits zero. Returns 0, -EINVAL (syntax) or -EDOM (host bits set). */
int ipv4_prefix_parse(const char *s, struct ipv4_prefix *out);
/* Writes into buf (at least 16 bytes) and returns it. */
const char *ipv4_str(uint32_t a, char *buf);
/* "a.b.c.d/len" into buf (at least 20 bytes). */
const char *ipv4_prefix_str(struct ipv4_prefix p, char *buf);

static inline uint32_t ipv4_mask(uint8_t len)
{
	return len ? ~(uint32_t)0 << (32 - len) : 0;
}

static inline uint32_t ipv4_prefix_last(struct ipv4_prefix p)
{
	return p.addr | ~ipv4_mask(p.len);
}

static inline bool ipv4_prefix_contains(struct ipv4_prefix p, uint32_t a)
{
	return (a & ipv4_mask(p.len)) == p.addr;
}

static inline bool ipv4_prefix_overlap(struct ipv4_prefix a, struct ipv4_prefix b)
{
	uint8_t len = a.len < b.len ? a.len : b.len;

	return (a.addr & ipv4_mask(len)) == (b.addr & ipv4_mask(len));
}

/* @inner lies entirely inside @outer. */
static inline bool ipv4_prefix_within(struct ipv4_prefix inner, struct ipv4_prefix outer)
{
	return inner.len >= outer.len && ipv4_prefix_contains(outer, inner.addr);
}

/* Not this-network (0/8), loopback (127/8), multicast or reserved (224/3), nor /0. */
static inline bool ipv4_subnet_usable(struct ipv4_prefix p)
{
	uint8_t first = (uint8_t)(p.addr >> 24);

	return p.len >= 8 && first != 0 && first != 127 && first < 224;
}

#endif
