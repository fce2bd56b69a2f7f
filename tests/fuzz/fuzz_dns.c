// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target over the DNS codec. The input is read three ways:
 *  - as a query: when dns_parse_query accepts it, a response (A records and
 *    PTRs, one compressible against the question) is built for UDP and TCP
 *    limits and must re-parse with dns_parse_response, carrying the same id
 *    and question, byte for byte as the client spelled it; an error answer
 *    (FORMERR, NOTIMP, BADVERS) must re-parse too;
 *  - as an upstream reply, through dns_parse_response;
 *  - as presentation text, through the name codec: text → wire → text → wire
 *    must be stable, and reverse names must survive dns_ptr_parse/name.
 * A broken property abort()s, so libFuzzer reports it as a crash.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns.h"

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: property failed: %s\n", __FILE__, __LINE__,        \
				#cond);                                                            \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

static uint8_t out[65536];

/* Build, re-parse, compare; returns the response length. */
static int respond(const struct dns_query *q, int rcode, size_t limit, const struct dns_rr *rrs,
		   size_t n_rrs)
{
	struct dns_question rq;
	int n, got_rcode;
	uint16_t id;
	bool tc;

	n = dns_build_response(out, sizeof(out), limit, q, rcode, true, true, rrs, n_rrs);
	/* header, a question of at most 259 bytes and an OPT always fit in 512 */
	CHECK(n > 0);
	CHECK((size_t)n <= limit);
	CHECK(dns_parse_response(out, (size_t)n, &id, &got_rcode, &tc, &rq) == 0);
	CHECK(id == q->id);
	CHECK(got_rcode == rcode);
	CHECK(tc == !!(out[2] & 0x02));
	CHECK(tc || (size_t)(out[6] << 8 | out[7]) == n_rrs);
	if (q->no_question) {
		CHECK(rq.qtype == 0 && !rq.name[0]);
	} else {
		CHECK(!strcmp(rq.name, q->q.name));
		CHECK(rq.qtype == q->q.qtype && rq.qclass == q->q.qclass);
	}
	return n;
}

static void query_round_trip(const uint8_t *data, size_t size, const struct dns_query *q)
{
	uint8_t wire[DNS_MAX_NAME];
	struct dns_rr rrs[6] = {
		{ .type = DNS_TYPE_A, .ttl = 600, .a = 0x0a000002 },
		{ .type = DNS_TYPE_A, .ttl = 600, .a = 0xac110003 },
		{ .type = DNS_TYPE_PTR, .ttl = 60, .ptr = "web.myproj" },
		{ .type = DNS_TYPE_PTR, .ttl = 60, .ptr = q->q.name },
		{ .type = DNS_TYPE_PTR, .ttl = 60, .ptr = "x.web.myproj" },
		{ .type = DNS_TYPE_A, .ttl = 0, .a = 0xffffffff },
	};
	uint32_t ip;
	char rev[32];
	int n;

	/* wire → text → wire is the identity: the question sits uncompressed at 12 */
	n = dns_name_to_wire(q->q.name, wire, sizeof(wire));
	CHECK(n > 0 && (size_t)n + 4 <= size - DNS_HDR_LEN);
	CHECK(!memcmp(wire, data + DNS_HDR_LEN, (size_t)n));

	respond(q, DNS_RCODE_NOERROR, dns_udp_limit(q), rrs, 6);
	n = respond(q, DNS_RCODE_NOERROR, 65535, rrs, 6);
	CHECK(!(out[2] & 0x02));
	respond(q, DNS_RCODE_NXDOMAIN, DNS_MAX_UDP, NULL, 0);

	if (!dns_ptr_parse(q->q.name, &ip)) {
		CHECK(!dns_ptr_name(ip, rev, sizeof(rev)));
		CHECK(dns_name_eq(rev, q->q.name));
	}
}

static void name_codec(const uint8_t *data, size_t size)
{
	uint8_t w1[DNS_MAX_NAME], msg[DNS_HDR_LEN + DNS_MAX_NAME] = { 0 };
	char text[1200], t2[DNS_MAX_NAME_TEXT], t3[DNS_MAX_NAME_TEXT];
	size_t len = size < sizeof(text) - 1 ? size : sizeof(text) - 1, next;
	uint32_t ip;
	char rev[32];
	int n1, n2;

	memcpy(text, data, len);
	text[len] = '\0';
	n1 = dns_name_to_wire(text, w1, sizeof(w1));
	if (n1 > 0) {
		memcpy(msg + DNS_HDR_LEN, w1, (size_t)n1);
		CHECK(!dns_name_read(msg, DNS_HDR_LEN + (size_t)n1, DNS_HDR_LEN, t2, sizeof(t2),
				     &next));
		CHECK(next == DNS_HDR_LEN + (size_t)n1);
		n2 = dns_name_to_wire(t2, msg, sizeof(msg));
		CHECK(n2 == n1 && !memcmp(msg, w1, (size_t)n1));
		CHECK(dns_name_eq(text, t2));
		/* the canonical text is a fixed point */
		memmove(msg + DNS_HDR_LEN, msg, (size_t)n2);
		CHECK(!dns_name_read(msg, DNS_HDR_LEN + (size_t)n2, DNS_HDR_LEN, t3, sizeof(t3),
				     &next));
		CHECK(!strcmp(t2, t3));
	} else {
		CHECK(!dns_name_eq(text, text));
	}
	if (!dns_ptr_parse(text, &ip)) {
		CHECK(!dns_ptr_name(ip, rev, sizeof(rev)));
		CHECK(dns_name_eq(rev, text));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dns_question rq;
	struct dns_query q;
	int rc, rcode;
	uint16_t id;
	bool tc;

	rc = dns_parse_query(data, size, &q);
	CHECK(rc == 0 || rc == -1 || rc == DNS_RCODE_FORMERR || rc == DNS_RCODE_NOTIMP);
	if (rc == 0)
		query_round_trip(data, size, &q);
	else if (rc > 0)
		respond(&q, q.has_edns && q.edns_version ? DNS_RCODE_BADVERS : rc, DNS_MAX_UDP,
			NULL, 0);

	if (!dns_parse_response(data, size, &id, &rcode, &tc, &rq)) {
		CHECK(size >= DNS_HDR_LEN && (data[2] & 0x80));
		CHECK(rcode >= 0 && rcode <= 0xfff);
		CHECK(strlen(rq.name) < sizeof(rq.name));
	}

	name_codec(data, size);
	return 0;
}
