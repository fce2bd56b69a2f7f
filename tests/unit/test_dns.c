// SPDX-License-Identifier: GPL-2.0-only
/*
 * The DNS codec: queries as clients send them (with and without EDNS, mixed
 * case, escapes), every malformed kind RFC 9267 lists plus the EDNS rules of
 * RFC 6891, responses checked byte for byte and re-parsed, truncation at
 * 512/EDNS/TCP limits, the name codec round trip, reverse names, and the
 * linear-time bound on messages built to make a naive parser loop or go
 * quadratic. Messages are assembled field by field below, so each test shows
 * the bytes it is about.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "dns.h"

/* ---- message assembly ---- */

struct msg {
	uint8_t b[65536 + 64];
	size_t n;
};

static struct msg m;

static void m8(struct msg *x, uint8_t v)
{
	assert_true(x->n < sizeof(x->b));
	x->b[x->n++] = v;
}

static void m16(struct msg *x, uint16_t v)
{
	m8(x, v >> 8);
	m8(x, v & 0xff);
}

static void m32(struct msg *x, uint32_t v)
{
	m16(x, v >> 16);
	m16(x, v & 0xffff);
}

static void mraw(struct msg *x, const void *p, size_t n)
{
	assert_true(x->n + n <= sizeof(x->b));
	memcpy(x->b + x->n, p, n);
	x->n += n;
}

static void mname(struct msg *x, const char *text)
{
	uint8_t w[DNS_MAX_NAME];
	int n = dns_name_to_wire(text, w, sizeof(w));

	assert_true(n > 0);
	mraw(x, w, (size_t)n);
}

#define QR 0x8000
#define RD 0x0100

static void mhdr(struct msg *x, uint16_t id, uint16_t flags, uint16_t qd, uint16_t an, uint16_t ns,
		 uint16_t ar)
{
	x->n = 0;
	m16(x, id);
	m16(x, flags);
	m16(x, qd);
	m16(x, an);
	m16(x, ns);
	m16(x, ar);
}

static void mq(struct msg *x, const char *name, uint16_t type)
{
	mname(x, name);
	m16(x, type);
	m16(x, DNS_CLASS_IN);
}

/* An OPT record offering @size, with EDNS @version and the DO bit. */
static void mopt(struct msg *x, uint16_t size, uint8_t version, bool do_bit)
{
	m8(x, 0);
	m16(x, DNS_TYPE_OPT);
	m16(x, size);
	m8(x, 0);
	m8(x, version);
	m16(x, do_bit ? 0x8000 : 0);
	m16(x, 0);
}

/* After the owner: type, class IN, ttl 300 and @rdlen; the caller appends the rdata. */
static void mrr(struct msg *x, uint16_t type, uint16_t rdlen)
{
	m16(x, type);
	m16(x, DNS_CLASS_IN);
	m32(x, 300);
	m16(x, rdlen);
}

static void mptr(struct msg *x, uint16_t off)
{
	m16(x, 0xc000 | off);
}

/* A standard recursive query for @name/@type, optionally with EDNS 1232. */
static void make_query(const char *name, uint16_t type, bool edns)
{
	mhdr(&m, 0xbeef, RD, 1, 0, 0, edns);
	mq(&m, name, type);
	if (edns)
		mopt(&m, 1232, 0, false);
}

static int parse(struct dns_query *q)
{
	return dns_parse_query(m.b, m.n, q);
}

static int parse_resp(void)
{
	return dns_parse_response(m.b, m.n, NULL, NULL, NULL, NULL);
}

/* ---- valid queries ---- */

static void query_plain(void **state)
{
	struct dns_query q;

	(void)state;
	make_query("example.com", DNS_TYPE_A, false);
	assert_int_equal(parse(&q), 0);
	assert_int_equal(q.id, 0xbeef);
	assert_int_equal(q.opcode, 0);
	assert_true(q.rd);
	assert_false(q.cd);
	assert_false(q.ad);
	assert_false(q.no_question);
	assert_string_equal(q.q.name, "example.com");
	assert_int_equal(q.q.qtype, DNS_TYPE_A);
	assert_int_equal(q.q.qclass, DNS_CLASS_IN);
	assert_false(q.has_edns);
	assert_int_equal(q.edns_udp_size, 0);
	assert_int_equal(dns_udp_limit(&q), 512);
}

static void query_edns(void **state)
{
	struct dns_query q;

	(void)state;
	mhdr(&m, 7, 0, 1, 0, 0, 1);
	mq(&m, "web.myproj", DNS_TYPE_AAAA);
	mopt(&m, 4096, 0, true);
	assert_int_equal(parse(&q), 0);
	assert_false(q.rd);
	assert_true(q.has_edns);
	assert_int_equal(q.edns_udp_size, 4096);
	assert_int_equal(q.edns_version, 0);
	assert_true(q.edns_do);
	/* a client offering more still gets at most 1232 over UDP */
	assert_int_equal(dns_udp_limit(&q), DNS_EDNS_CAP);
}

static void query_edns_small_offer(void **state)
{
	struct dns_query q;

	(void)state;
	mhdr(&m, 7, 0, 1, 0, 0, 1);
	mq(&m, "a", DNS_TYPE_A);
	mopt(&m, 100, 0, false);
	assert_int_equal(parse(&q), 0);
	assert_int_equal(q.edns_udp_size, 100);
	assert_false(q.edns_do);
	/* RFC 6891 §6.2.5: below 512 means 512 */
	assert_int_equal(dns_udp_limit(&q), 512);
	q.edns_udp_size = 1000;
	assert_int_equal(dns_udp_limit(&q), 1000);
}

static void query_edns_options(void **state)
{
	static const uint8_t cookie[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	struct dns_query q;

	(void)state;
	mhdr(&m, 7, RD, 1, 0, 0, 1);
	mq(&m, "a.b", DNS_TYPE_A);
	m8(&m, 0);
	m16(&m, DNS_TYPE_OPT);
	m16(&m, 1232);
	m32(&m, 0);
	m16(&m, 4 + 8 + 4);
	m16(&m, 10); /* COOKIE */
	m16(&m, 8);
	mraw(&m, cookie, 8);
	m16(&m, 12); /* PADDING, empty */
	m16(&m, 0);
	assert_int_equal(parse(&q), 0);
	assert_true(q.has_edns);
}

static void query_types(void **state)
{
	static const uint16_t types[] = {
		DNS_TYPE_A, DNS_TYPE_AAAA, DNS_TYPE_PTR, DNS_TYPE_SRV,
		DNS_TYPE_TXT, DNS_TYPE_MX, DNS_TYPE_ANY, 65535,
	};
	struct dns_query q;

	(void)state;
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		make_query("db.myproj", types[i], i & 1);
		assert_int_equal(parse(&q), 0);
		assert_int_equal(q.q.qtype, types[i]);
		assert_int_equal(q.has_edns, i & 1);
	}
}

static void query_flags(void **state)
{
	struct dns_query q;

	(void)state;
	mhdr(&m, 0x0102, 0x0030, 1, 0, 0, 0); /* AD and CD, no RD */
	mq(&m, "x", DNS_TYPE_A);
	assert_int_equal(parse(&q), 0);
	assert_int_equal(q.id, 0x0102);
	assert_true(q.ad);
	assert_true(q.cd);
	assert_false(q.rd);
}

static void query_mixed_case(void **state)
{
	struct dns_query q;

	(void)state;
	make_query("WwW.ExAmPlE.CoM", DNS_TYPE_A, true);
	assert_int_equal(parse(&q), 0);
	/* case as sent: 0x20-randomising clients check it comes back unchanged */
	assert_string_equal(q.q.name, "WwW.ExAmPlE.CoM");
	assert_true(dns_name_eq(q.q.name, "www.example.com."));
}

static void query_escapes(void **state)
{
	static const uint8_t wire[] = { 3, 'a', '.', 'b', 2, 'c', '\\', 4, 0, ' ', 0xff, 0x7f, 0 };
	struct dns_query q;

	(void)state;
	mhdr(&m, 1, 0, 1, 0, 0, 0);
	mraw(&m, wire, sizeof(wire));
	m16(&m, DNS_TYPE_A);
	m16(&m, DNS_CLASS_IN);
	assert_int_equal(parse(&q), 0);
	assert_string_equal(q.q.name, "a\\.b.c\\\\.\\000\\032\\255\\127");
	/* and back to the same wire bytes */
	{
		uint8_t w[DNS_MAX_NAME];

		assert_int_equal(dns_name_to_wire(q.q.name, w, sizeof(w)), sizeof(wire));
		assert_memory_equal(w, wire, sizeof(wire));
	}
}

static void query_root(void **state)
{
	struct dns_query q;

	(void)state;
	make_query("", DNS_TYPE_NS, false);
	assert_int_equal(m.n, 12 + 1 + 4);
	assert_int_equal(parse(&q), 0);
	assert_string_equal(q.q.name, "");
	assert_int_equal(q.q.qtype, DNS_TYPE_NS);
}

/* The same name on the wire; returns its length. */
static size_t long_wire(uint8_t *w, int last)
{
	size_t n = 0;

	for (int l = 0; l < 4; l++) {
		int len = l < 3 ? 63 : last;

		w[n++] = (uint8_t)len;
		memset(w + n, 'a' + l, (size_t)len);
		n += (size_t)len;
	}
	w[n++] = 0;
	return n;
}

/* labels of 63, 63, 63 and @last bytes: with 61, 255 on the wire, the most there can be */
static void fill_long_name(char *out, int last)
{
	int p = 0;

	for (int l = 0; l < 4; l++) {
		int n = l < 3 ? 63 : last;

		if (l)
			out[p++] = '.';
		memset(out + p, 'a' + l, (size_t)n);
		p += n;
	}
	out[p] = '\0';
}

static void query_longest_name(void **state)
{
	char name[300];
	struct dns_query q;

	(void)state;
	fill_long_name(name, 61);
	make_query(name, DNS_TYPE_A, false);
	assert_int_equal(m.n, 12 + 255 + 4);
	assert_int_equal(parse(&q), 0);
	assert_string_equal(q.q.name, name);
}

static void query_other_additional_ignored(void **state)
{
	struct dns_query q;

	(void)state;
	/* a TSIG-shaped record beside the OPT: checked for shape, then ignored */
	mhdr(&m, 1, 0, 1, 0, 0, 2);
	mq(&m, "a", DNS_TYPE_A);
	mname(&m, "key.example");
	m16(&m, 250);
	m16(&m, 255);
	m32(&m, 0);
	m16(&m, 3);
	mraw(&m, "xyz", 3);
	mopt(&m, 1232, 0, false);
	assert_int_equal(parse(&q), 0);
	assert_true(q.has_edns);
	/* its owner may point at the question */
	mhdr(&m, 1, 0, 1, 0, 0, 1);
	mq(&m, "a", DNS_TYPE_A);
	mptr(&m, 12);
	mrr(&m, 250, 0);
	assert_int_equal(parse(&q), 0);
}

/* ---- malformed: header ---- */

static void query_short(void **state)
{
	struct dns_query q;

	(void)state;
	make_query("a", DNS_TYPE_A, false);
	assert_int_equal(dns_parse_query(m.b, 0, &q), -1);
	assert_int_equal(dns_parse_query(m.b, 11, &q), -1);
	assert_int_equal(dns_parse_response(m.b, 11, NULL, NULL, NULL, NULL), -1);
	/* a bare header is readable: qdcount says 1 but nothing follows */
	assert_int_equal(dns_parse_query(m.b, 12, &q), DNS_RCODE_FORMERR);
	assert_int_equal(q.id, 0xbeef);
	assert_true(q.no_question);
}

static void query_qr_set(void **state)
{
	struct dns_query q;

	(void)state;
	mhdr(&m, 1, QR | RD, 1, 0, 0, 0);
	mq(&m, "a", DNS_TYPE_A);
	assert_int_equal(parse(&q), -1);
	/* and the other way round: a query is not a reply */
	make_query("a", DNS_TYPE_A, false);
	assert_int_equal(parse_resp(), -1);
}

static void query_opcode(void **state)
{
	struct dns_query q;

	(void)state;
	for (unsigned int op = 1; op < 16; op++) {
		mhdr(&m, 0x4242, (uint16_t)(op << 11 | RD), 1, 0, 0, 0);
		mq(&m, "zone.example", 6);
		assert_int_equal(parse(&q), DNS_RCODE_NOTIMP);
		assert_int_equal(q.id, 0x4242);
		assert_int_equal(q.opcode, op);
		assert_true(q.rd);
		assert_false(q.no_question);
		assert_string_equal(q.q.name, "zone.example");
	}
	/* NOTIMP even when the rest is unreadable */
	mhdr(&m, 1, 5 << 11, 9, 9, 9, 9);
	assert_int_equal(parse(&q), DNS_RCODE_NOTIMP);
	assert_true(q.no_question);
}

static void query_qdcount(void **state)
{
	struct dns_query q;

	(void)state;
	mhdr(&m, 1, 0, 0, 0, 0, 0);
	assert_int_equal(parse(&q), DNS_RCODE_FORMERR);
	assert_true(q.no_question);
	mhdr(&m, 1, 0, 2, 0, 0, 0);
	mq(&m, "one", DNS_TYPE_A);
	mq(&m, "two", DNS_TYPE_A);
	assert_int_equal(parse(&q), DNS_RCODE_FORMERR);
	/* the first one is echoed in the error */
	assert_false(q.no_question);
	assert_string_equal(q.q.name, "one");
	/* RFC 9619: a reply with two questions is no reply to us either */
	m.b[2] |= QR >> 8;
	assert_int_equal(parse_resp(), -1);
}

static void query_answer_records(void **state)
{
	struct dns_query q;

	(void)state;
	mhdr(&m, 1, 0, 1, 1, 0, 0);
	mq(&m, "a", DNS_TYPE_A);
	mptr(&m, 12);
	mrr(&m, DNS_TYPE_A, 4);
	m32(&m, 0x0a000001);
	assert_int_equal(parse(&q), DNS_RCODE_FORMERR);
	assert_string_equal(q.q.name, "a");
	mhdr(&m, 1, 0, 1, 0, 1, 0);
	mq(&m, "a", DNS_TYPE_A);
	mptr(&m, 12);
	mrr(&m, DNS_TYPE_NS, 2);
	mptr(&m, 12);
	assert_int_equal(parse(&q), DNS_RCODE_FORMERR);
}

/* ---- malformed: names (RFC 9267 §2, §3) ---- */

/* A reply to "q" whose one answer (at offset 19) is owned by the raw bytes @name. */
static void resp_with_owner(const void *name, size_t n)
{
	mhdr(&m, 1, QR, 1, 1, 0, 0);
	mq(&m, "q", DNS_TYPE_A);
	mraw(&m, name, n);
	mrr(&m, DNS_TYPE_TXT, 0);
}

/* The same raw owner in a query's additional section, and as the question. */
static void expect_bad_name(const uint8_t *name, size_t n)
{
	struct dns_query q;

	resp_with_owner(name, n);
	assert_int_equal(parse_resp(), -1);

	mhdr(&m, 1, 0, 1, 0, 0, 1);
	mq(&m, "q", DNS_TYPE_A);
	mraw(&m, name, n);
	mrr(&m, DNS_TYPE_TXT, 0);
	assert_int_equal(parse(&q), DNS_RCODE_FORMERR);
	assert_string_equal(q.q.name, "q");

	mhdr(&m, 1, 0, 1, 0, 0, 0);
	mraw(&m, name, n);
	m16(&m, DNS_TYPE_A);
	m16(&m, DNS_CLASS_IN);
	assert_int_equal(parse(&q), DNS_RCODE_FORMERR);
	assert_true(q.no_question);
}

static void name_good_pointer(void **state)
{
	static const uint8_t owner[] = { 1, 'x', 0xc0, 12 };

	(void)state;
	/* the control for the cases below: a backward pointer to the question */
	resp_with_owner(owner, sizeof(owner));
	assert_int_equal(parse_resp(), 0);
}

static void name_self_pointer(void **state)
{
	/* the answer owner sits at 12 + 3 + 4 = 19 and points at itself */
	static const uint8_t owner[] = { 0xc0, 19 };
	static const uint8_t label_then_self[] = { 1, 'x', 0xc0, 19 };

	(void)state;
	resp_with_owner(owner, sizeof(owner));
	assert_int_equal(parse_resp(), -1);
	resp_with_owner(label_then_self, sizeof(label_then_self));
	assert_int_equal(parse_resp(), -1);
	/* the question can point nowhere: everything before it is header */
	mhdr(&m, 1, 0, 1, 0, 0, 0);
	mptr(&m, 12);
	m32(&m, 0x00010001);
	assert_int_equal(dns_parse_query(m.b, m.n, &(struct dns_query){ 0 }), DNS_RCODE_FORMERR);
}

static void name_two_cycle(void **state)
{
	(void)state;
	/* two pointers at each other: 19 → 21 → 19 */
	resp_with_owner((const uint8_t[]){ 0xc0, 21, 0xc0, 19 }, 4);
	assert_int_equal(parse_resp(), -1);
	/*
	 * A cycle that starts backwards: answer 1's rdata (opaque TXT, at 31)
	 * holds "b" + pointer to answer 2's owner (at 36), which is "a" + a
	 * pointer back to 31. Every hop must land before where its run began.
	 */
	mhdr(&m, 1, QR, 1, 2, 0, 0);
	mq(&m, "q", DNS_TYPE_A);  /* 12..18 */
	mptr(&m, 12);		  /* 19 */
	mrr(&m, DNS_TYPE_TXT, 5); /* rdata at 31 */
	mraw(&m, (const uint8_t[]){ 1, 'b', 0xc0, 36, 0 }, 5);
	assert_int_equal(m.n, 36);
	mraw(&m, (const uint8_t[]){ 1, 'a', 0xc0, 31 }, 4);
	mrr(&m, DNS_TYPE_TXT, 0);
	assert_int_equal(parse_resp(), -1);
}

static void name_target_overlaps(void **state)
{
	(void)state;
	/*
	 * A backward pointer whose target runs on into the name that points
	 * to it: answer 1's opaque rdata ends in a length byte 4 (at 31), and
	 * answer 2's owner (at 32) is "b" + a pointer to 31, whose label then
	 * swallows the owner's own bytes. No encoder writes that; a target is
	 * a whole earlier name.
	 */
	mhdr(&m, 1, QR, 1, 2, 0, 0);
	mq(&m, "q", DNS_TYPE_A);
	mptr(&m, 12);
	mrr(&m, 0xff00, 1);
	m8(&m, 4);
	assert_int_equal(m.n, 32);
	mraw(&m, (const uint8_t[]){ 1, 'b', 0xc0, 31 }, 4);
	m16(&m, 0x0010); /* its type: TXT, and the 0 that would end the name */
	m16(&m, DNS_CLASS_IN);
	m32(&m, 0);
	m16(&m, 0);
	assert_int_equal(parse_resp(), -1);
}

static void name_forward_pointer(void **state)
{
	(void)state;
	/* to a perfectly good name that comes later */
	mhdr(&m, 1, QR, 1, 2, 0, 0);
	mq(&m, "q", DNS_TYPE_A);
	mptr(&m, 31); /* 19 → 31 */
	mrr(&m, DNS_TYPE_TXT, 0);
	assert_int_equal(m.n, 31);
	mname(&m, "later");
	mrr(&m, DNS_TYPE_TXT, 0);
	assert_int_equal(parse_resp(), -1);
	expect_bad_name((const uint8_t[]){ 0xc0, 40 }, 2);
}

static void name_pointer_out_of_range(void **state)
{
	(void)state;
	expect_bad_name((const uint8_t[]){ 0xc0, 0xff }, 2);
	expect_bad_name((const uint8_t[]){ 0xff, 0xff }, 2);
	/* into the header */
	expect_bad_name((const uint8_t[]){ 0xc0, 0 }, 2);
	expect_bad_name((const uint8_t[]){ 0xc0, 11 }, 2);
}

static void name_pointer_last_byte(void **state)
{
	struct dns_query q;

	(void)state;
	/* the message ends on the first byte of a pointer */
	mhdr(&m, 1, QR, 1, 1, 0, 0);
	mq(&m, "q", DNS_TYPE_A);
	m8(&m, 0xc0);
	assert_int_equal(parse_resp(), -1);
	mhdr(&m, 1, 0, 1, 0, 0, 1);
	mq(&m, "q", DNS_TYPE_A);
	m8(&m, 1);
	m8(&m, 'x');
	m8(&m, 0xc0);
	assert_int_equal(parse(&q), DNS_RCODE_FORMERR);
	/* and in rdata: the pointer's second byte lies past the rdlength */
	mhdr(&m, 1, QR, 1, 1, 0, 0);
	mq(&m, "q", DNS_TYPE_A);
	mptr(&m, 12);
	mrr(&m, DNS_TYPE_CNAME, 1);
	mptr(&m, 12);
	assert_int_equal(parse_resp(), -1);
}

static void name_label_too_long(void **state)
{
	uint8_t name[70] = { 64 };

	(void)state;
	memset(name + 1, 'x', 64);
	name[65] = 0;
	expect_bad_name(name, 66);
	/* the reserved label types 01 and 10 */
	name[0] = 0x40;
	expect_bad_name(name, 66);
	name[0] = 0x80;
	expect_bad_name(name, 66);
	/* 63 is fine */
	name[0] = 63;
	name[64] = 0;
	resp_with_owner(name, 65);
	assert_int_equal(parse_resp(), 0);
}

static void name_too_long(void **state)
{
	uint8_t name[400];
	size_t n = 0;

	(void)state;
	for (int l = 0; l < 5; l++) {
		name[n++] = 63;
		memset(name + n, 'a', 63);
		n += 63;
	}
	name[n++] = 0;
	expect_bad_name(name, n);
	/* 256 exactly: 63, 63, 63, 62 */
	n = long_wire(name, 62);
	assert_int_equal(n, 256);
	expect_bad_name(name, n);
	/* and 255 is fine */
	n = long_wire(name, 61);
	resp_with_owner(name, n);
	assert_int_equal(parse_resp(), 0);
}

static void name_too_long_through_pointer(void **state)
{
	char text[300];

	(void)state;
	/* each part is short; together, a label and the 255-byte question make 257 */
	fill_long_name(text, 61);
	mhdr(&m, 1, QR, 1, 1, 0, 0);
	mq(&m, text, DNS_TYPE_A);
	m8(&m, 1);
	m8(&m, 'x');
	mptr(&m, 12);
	mrr(&m, DNS_TYPE_TXT, 0);
	assert_int_equal(parse_resp(), -1);
	/* the question alone is fine */
	mhdr(&m, 1, QR, 1, 1, 0, 0);
	mq(&m, text, DNS_TYPE_A);
	mptr(&m, 12);
	mrr(&m, DNS_TYPE_TXT, 0);
	assert_int_equal(parse_resp(), 0);
}

static void name_missing_terminator(void **state)
{
	struct dns_query q;

	(void)state;
	mhdr(&m, 1, 0, 1, 0, 0, 0);
	mraw(&m, "\003abc\003def", 8);
	assert_int_equal(parse(&q), DNS_RCODE_FORMERR);
	assert_true(q.no_question);
	/* a label running past the end */
	mhdr(&m, 1, 0, 1, 0, 0, 0);
	mraw(&m, "\011abc", 4);
	assert_int_equal(parse(&q), DNS_RCODE_FORMERR);
	/* the name ends but the question has no type and class */
	mhdr(&m, 1, 0, 1, 0, 0, 0);
	mname(&m, "abc");
	m16(&m, DNS_TYPE_A);
	assert_int_equal(parse(&q), DNS_RCODE_FORMERR);
	assert_true(q.no_question);
	/*
	 * In rdata: a CNAME target cut off by its rdlength, where the next
	 * record's owner (the root) would supply the terminator.
	 */
	mhdr(&m, 1, QR, 1, 2, 0, 0);
	mq(&m, "q", DNS_TYPE_A);
	mptr(&m, 12);
	mrr(&m, DNS_TYPE_CNAME, 4);
	mraw(&m, "\003abc", 4);
	m8(&m, 0);
	mrr(&m, DNS_TYPE_TXT, 0);
	assert_int_equal(parse_resp(), -1);
}

static void pointer_hop_limit(void **state)
{
	(void)state;
	/*
	 * 127 pointer-only hops are allowed, 128 are not: owner k is a pointer
	 * to owner k - 1, the first one to the question.
	 */
	for (int hops = 127; hops <= 128; hops++) {
		size_t prev = 12;

		mhdr(&m, 1, QR, 1, (uint16_t)hops, 0, 0);
		mq(&m, "q", DNS_TYPE_A);
		for (int k = 0; k < hops; k++) {
			size_t here = m.n;

			mptr(&m, (uint16_t)prev);
			mrr(&m, DNS_TYPE_TXT, 0);
			prev = here;
		}
		assert_int_equal(parse_resp(), hops == 127 ? 0 : -1);
	}
}

/* ---- malformed: counts, rdlength, rdata (RFC 9267 §4-6) ---- */

static void count_overrun(void **state)
{
	struct dns_query q;

	(void)state;
	/* arcount 2, one OPT */
	mhdr(&m, 1, 0, 1, 0, 0, 2);
	mq(&m, "a", DNS_TYPE_A);
	mopt(&m, 1232, 0, false);
	assert_int_equal(parse(&q), DNS_RCODE_FORMERR);
	assert_false(q.has_edns);
	/* replies: one record short in each section */
	for (int sec = 0; sec < 3; sec++) {
		uint16_t c[3] = { 0 };

		c[sec] = 2;
		mhdr(&m, 1, QR, 1, c[0], c[1], c[2]);
		mq(&m, "a", DNS_TYPE_A);
		mptr(&m, 12);
		mrr(&m, DNS_TYPE_A, 4);
		m32(&m, 1);
		assert_int_equal(parse_resp(), -1);
		m.b[7 + 2 * sec] = 1;
		assert_int_equal(parse_resp(), 0);
	}
	/* the largest counts over an empty body */
	mhdr(&m, 1, QR, 0, 0xffff, 0xffff, 0xffff);
	assert_int_equal(parse_resp(), -1);
	mhdr(&m, 1, QR, 1, 0, 0, 0);
	assert_int_equal(parse_resp(), -1);
}

static void rdlength_overrun(void **state)
{
	struct dns_query q;

	(void)state;
	mhdr(&m, 1, 0, 1, 0, 0, 1);
	mq(&m, "a", DNS_TYPE_A);
	m8(&m, 0);
	m16(&m, DNS_TYPE_OPT);
	m16(&m, 1232);
	m32(&m, 0);
	m16(&m, 10);
	m16(&m, 10);
	assert_int_equal(parse(&q), DNS_RCODE_FORMERR);
	mhdr(&m, 1, QR, 1, 1, 0, 0);
	mq(&m, "a", DNS_TYPE_A);
	mptr(&m, 12);
	mrr(&m, DNS_TYPE_A, 4);
	m16(&m, 0x0a00);
	assert_int_equal(parse_resp(), -1);
	/* the fixed part itself cut short */
	mhdr(&m, 1, QR, 1, 1, 0, 0);
	mq(&m, "a", DNS_TYPE_A);
	mptr(&m, 12);
	m16(&m, DNS_TYPE_A);
	m16(&m, DNS_CLASS_IN);
	assert_int_equal(parse_resp(), -1);
}

static void rdata_shape(void **state)
{
	(void)state;
	/* A must be 4 bytes in class IN, AAAA 16 */
	mhdr(&m, 1, QR, 1, 1, 0, 0);
	mq(&m, "a", DNS_TYPE_A);
	mptr(&m, 12);
	mrr(&m, DNS_TYPE_A, 5);
	mraw(&m, "\001\002\003\004\005", 5);
	assert_int_equal(parse_resp(), -1);
	mhdr(&m, 1, QR, 1, 1, 0, 0);
	mq(&m, "a", DNS_TYPE_AAAA);
	mptr(&m, 12);
	mrr(&m, DNS_TYPE_AAAA, 4);
	m32(&m, 1);
	assert_int_equal(parse_resp(), -1);
	/* a CNAME with a byte after its name */
	mhdr(&m, 1, QR, 1, 1, 0, 0);
	mq(&m, "a", DNS_TYPE_A);
	mptr(&m, 12);
	mrr(&m, DNS_TYPE_CNAME, 4);
	mname(&m, "b");
	m8(&m, 0);
	assert_int_equal(parse_resp(), -1);
	/* TXT: character-strings that fill the rdata exactly */
	mhdr(&m, 1, QR, 1, 1, 0, 0);
	mq(&m, "a", DNS_TYPE_TXT);
	mptr(&m, 12);
	mrr(&m, DNS_TYPE_TXT, 6);
	mraw(&m, "\002hi\002yo", 6);
	assert_int_equal(parse_resp(), 0);
	m.b[m.n - 3] = 3;
	assert_int_equal(parse_resp(), -1);
	/* empty rdata is how RFC 2136 deletes, in classes ANY and NONE only */
	static const uint16_t classes[] = { DNS_CLASS_IN, 3 /* CH */, 254 /* NONE */, 255 /* ANY */ };
	for (size_t i = 0; i < 4; i++) {
		mhdr(&m, 1, QR, 1, 1, 0, 0);
		mq(&m, "a", DNS_TYPE_A);
		mptr(&m, 12);
		m16(&m, DNS_TYPE_CNAME);
		m16(&m, classes[i]);
		m32(&m, 0);
		m16(&m, 0);
		assert_int_equal(parse_resp(), classes[i] < 254 ? -1 : 0);
	}
	/* an MX whose exchange loops */
	mhdr(&m, 1, QR, 1, 1, 0, 0);
	mq(&m, "a", DNS_TYPE_MX);
	mptr(&m, 12);
	mrr(&m, DNS_TYPE_MX, 4);
	m16(&m, 10);
	mptr(&m, (uint16_t)m.n);
	assert_int_equal(parse_resp(), -1);
	/* an SOA short of its 20 bytes of numbers, then whole */
	mhdr(&m, 1, QR, 1, 0, 1, 0);
	mq(&m, "a", DNS_TYPE_A);
	mptr(&m, 12);
	mrr(&m, DNS_TYPE_SOA, 2 + 2 + 16);
	mptr(&m, 12);
	mptr(&m, 12);
	mraw(&m, "0123456789abcdef", 16);
	assert_int_equal(parse_resp(), -1);
	mhdr(&m, 1, QR, 1, 0, 1, 0);
	mq(&m, "a", DNS_TYPE_A);
	mptr(&m, 12);
	mrr(&m, DNS_TYPE_SOA, 2 + 2 + 20);
	mptr(&m, 12);
	mptr(&m, 12);
	mraw(&m, "0123456789abcdefghij", 20);
	assert_int_equal(parse_resp(), 0);
}

static void trailing_garbage(void **state)
{
	struct dns_query q;

	(void)state;
	make_query("a", DNS_TYPE_A, true);
	m8(&m, 0);
	assert_int_equal(parse(&q), DNS_RCODE_FORMERR);
	assert_string_equal(q.q.name, "a");
	mhdr(&m, 1, QR, 1, 0, 0, 0);
	mq(&m, "a", DNS_TYPE_A);
	m16(&m, 0);
	assert_int_equal(parse_resp(), -1);
}

/* ---- EDNS rules (RFC 6891) ---- */

static void edns_duplicate_opt(void **state)
{
	struct dns_query q;

	(void)state;
	mhdr(&m, 1, RD, 1, 0, 0, 2);
	mq(&m, "a", DNS_TYPE_A);
	mopt(&m, 1232, 0, false);
	mopt(&m, 1232, 0, false);
	assert_int_equal(parse(&q), DNS_RCODE_FORMERR);
	/* the FORMERR goes back without an OPT of its own */
	assert_false(q.has_edns);
	assert_false(q.no_question);
	m.b[2] |= QR >> 8;
	assert_int_equal(parse_resp(), -1);
}

static void edns_opt_misplaced(void **state)
{
	struct dns_query q;

	(void)state;
	for (int sec = 0; sec < 2; sec++) {
		mhdr(&m, 1, QR, 1, !sec, sec, 0);
		mq(&m, "a", DNS_TYPE_A);
		mopt(&m, 1232, 0, false);
		assert_int_equal(parse_resp(), -1);
		m.b[2] &= ~(QR >> 8);
		assert_int_equal(parse(&q), DNS_RCODE_FORMERR);
	}
	/* owned by a name other than the root */
	mhdr(&m, 1, 0, 1, 0, 0, 1);
	mq(&m, "a", DNS_TYPE_A);
	mptr(&m, 12);
	m16(&m, DNS_TYPE_OPT);
	m16(&m, 1232);
	m32(&m, 0);
	m16(&m, 0);
	assert_int_equal(parse(&q), DNS_RCODE_FORMERR);
	assert_false(q.has_edns);
}

static void edns_bad_options(void **state)
{
	struct dns_query q;

	(void)state;
	/* an option claiming 8 bytes with 4 left in the rdata */
	mhdr(&m, 1, 0, 1, 0, 0, 1);
	mq(&m, "a", DNS_TYPE_A);
	m8(&m, 0);
	m16(&m, DNS_TYPE_OPT);
	m16(&m, 1232);
	m32(&m, 0);
	m16(&m, 8);
	m16(&m, 10);
	m16(&m, 8);
	m32(&m, 0);
	assert_int_equal(parse(&q), DNS_RCODE_FORMERR);
	/* three stray bytes: not even an option header */
	mhdr(&m, 1, 0, 1, 0, 0, 1);
	mq(&m, "a", DNS_TYPE_A);
	m8(&m, 0);
	m16(&m, DNS_TYPE_OPT);
	m16(&m, 1232);
	m32(&m, 0);
	m16(&m, 3);
	mraw(&m, "abc", 3);
	assert_int_equal(parse(&q), DNS_RCODE_FORMERR);
}

static void edns_version(void **state)
{
	struct dns_query q;

	(void)state;
	mhdr(&m, 1, 0, 1, 0, 0, 1);
	mq(&m, "a", DNS_TYPE_A);
	mopt(&m, 1232, 1, true);
	assert_int_equal(parse(&q), DNS_RCODE_FORMERR);
	/* enough for the server to answer BADVERS instead */
	assert_true(q.has_edns);
	assert_int_equal(q.edns_version, 1);
	assert_false(q.no_question);
}

/* ---- building ---- */

static uint8_t out[65536];

static void build_a_exact(void **state)
{
	static const uint8_t want[] = {
		0xbe, 0xef, 0x85, 0x80, 0, 1, 0, 1, 0, 0, 0, 0,	/* QR AA RD RA; 1 q, 1 an */
		7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0, 0, 1, 0, 1,
		0xc0, 12, 0, 1, 0, 1, 0, 0, 2, 0x58, 0, 4, 10, 0, 0, 2,	/* ttl 600 */
	};
	struct dns_rr rr = { .type = DNS_TYPE_A, .ttl = 600, .a = 0x0a000002 };
	struct dns_query q;
	struct dns_question qq;
	uint16_t id;
	int n, rcode;
	bool tc;

	(void)state;
	make_query("example.com", DNS_TYPE_A, false);
	assert_int_equal(parse(&q), 0);
	n = dns_build_response(out, sizeof(out), dns_udp_limit(&q), &q, DNS_RCODE_NOERROR,
			       /* aa */ true, /* ra */ true, &rr, 1);
	assert_int_equal(n, sizeof(want));
	assert_memory_equal(out, want, sizeof(want));
	assert_int_equal(dns_parse_response(out, (size_t)n, &id, &rcode, &tc, &qq), 0);
	assert_int_equal(id, 0xbeef);
	assert_int_equal(rcode, 0);
	assert_false(tc);
	assert_string_equal(qq.name, "example.com");
	assert_int_equal(qq.qtype, DNS_TYPE_A);
	assert_int_equal(qq.qclass, DNS_CLASS_IN);
}

static void build_edns_exact(void **state)
{
	static const uint8_t want[] = {
		0, 7, 0x84, 0x10, 0, 1, 0, 0, 0, 0, 0, 1,	/* QR AA CD, no RD, no RA */
		1, 'X', 0, 0, 28, 0, 1,
		0, 0, 41, 0x04, 0xd0, 0, 0, 0x80, 0, 0, 0,	/* OPT 1232, DO */
	};
	struct dns_query q;
	int n;

	(void)state;
	mhdr(&m, 7, 0x0010, 1, 0, 0, 1);
	mq(&m, "X", DNS_TYPE_AAAA);
	mopt(&m, 4096, 0, true);
	assert_int_equal(parse(&q), 0);
	/* a known name without AAAA: NOERROR and no answers */
	n = dns_build_response(out, sizeof(out), dns_udp_limit(&q), &q, DNS_RCODE_NOERROR,
			       /* aa */ true, /* ra */ false, NULL, 0);
	assert_int_equal(n, sizeof(want));
	assert_memory_equal(out, want, sizeof(want));
	assert_int_equal(dns_parse_response(out, (size_t)n, NULL, NULL, NULL, NULL), 0);
}

static void build_nxdomain(void **state)
{
	struct dns_question qq;
	struct dns_query q;
	int n, rcode;

	(void)state;
	make_query("nope.myproj", DNS_TYPE_A, true);
	assert_int_equal(parse(&q), 0);
	n = dns_build_response(out, sizeof(out), 512, &q, DNS_RCODE_NXDOMAIN, true, true, NULL, 0);
	assert_true(n > 0);
	assert_int_equal(out[3] & 0xf, DNS_RCODE_NXDOMAIN);
	assert_int_equal(out[7], 0);
	assert_int_equal(out[11], 1);
	assert_int_equal(dns_parse_response(out, (size_t)n, NULL, &rcode, NULL, &qq), 0);
	assert_int_equal(rcode, DNS_RCODE_NXDOMAIN);
	assert_string_equal(qq.name, "nope.myproj");
}

static void build_ptr(void **state)
{
	/*
	 * The target shares "myproj" with nothing, but a second answer's target
	 * shares "web.myproj" with the first: it becomes "x" + pointer.
	 */
	struct dns_rr rrs[] = {
		{ .type = DNS_TYPE_PTR, .ttl = 60, .ptr = "web.myproj" },
		{ .type = DNS_TYPE_PTR, .ttl = 60, .ptr = "x.web.myproj" },
	};
	struct dns_query q;
	struct dns_question qq;
	size_t first;
	char name[DNS_MAX_NAME_TEXT];
	size_t next;
	int n;

	(void)state;
	make_query("2.0.17.172.in-addr.arpa", DNS_TYPE_PTR, false);
	assert_int_equal(parse(&q), 0);
	n = dns_build_response(out, sizeof(out), 512, &q, 0, true, true, rrs, 2);
	assert_true(n > 0);
	assert_int_equal(dns_parse_response(out, (size_t)n, NULL, NULL, NULL, &qq), 0);
	assert_string_equal(qq.name, "2.0.17.172.in-addr.arpa");
	/* answer 1: owner pointer, 10 bytes, then the target in full */
	first = 12 + strlen("2.0.17.172.in-addr.arpa") + 2 + 4;
	assert_int_equal(out[first], 0xc0);
	assert_int_equal(out[first + 1], 12);
	assert_int_equal(out[first + 10] << 8 | out[first + 11], 12); /* rdlength */
	assert_int_equal(dns_name_read(out, (size_t)n, first + 12, name, sizeof(name), &next), 0);
	assert_string_equal(name, "web.myproj");
	/* answer 2: its rdata is "\1x" + a pointer to answer 1's target */
	assert_int_equal(out[next + 10] << 8 | out[next + 11], 4);
	assert_int_equal(out[next + 12], 1);
	assert_int_equal(out[next + 13], 'x');
	assert_int_equal((out[next + 14] & 0x3f) << 8 | out[next + 15], first + 12);
	assert_int_equal(dns_name_read(out, (size_t)n, next + 12, name, sizeof(name), &next), 0);
	assert_string_equal(name, "x.web.myproj");
	assert_int_equal(next, (size_t)n);
}

static void build_ptr_against_question(void **state)
{
	/* a target under the question's own suffix points into the question */
	struct dns_rr rr = { .type = DNS_TYPE_PTR, .ptr = "host.in-addr.arpa" };
	struct dns_rr cased = { .type = DNS_TYPE_PTR, .ptr = "host.IN-ADDR.arpa" };
	struct dns_query q;
	char name[DNS_MAX_NAME_TEXT];
	size_t rdata, next;
	int n;

	(void)state;
	make_query("1.0.0.10.in-addr.arpa", DNS_TYPE_PTR, false);
	assert_int_equal(parse(&q), 0);
	n = dns_build_response(out, sizeof(out), 512, &q, 0, true, true, &rr, 1);
	rdata = 12 + 23 + 4 + 12;
	assert_int_equal(n, rdata + 5 + 2);
	assert_int_equal(out[rdata + 5], 0xc0);
	assert_int_equal(out[rdata + 6], 12 + 9); /* "in-addr.arpa" of the question */
	assert_int_equal(dns_name_read(out, (size_t)n, rdata, name, sizeof(name), &next), 0);
	assert_string_equal(name, "host.in-addr.arpa");
	/* only what is spelled the same is shared: the client gets what we were given */
	n = dns_build_response(out, sizeof(out), 512, &q, 0, true, true, &cased, 1);
	assert_int_equal(dns_name_read(out, (size_t)n, rdata, name, sizeof(name), &next), 0);
	assert_string_equal(name, "host.IN-ADDR.arpa");
	assert_int_equal(dns_parse_response(out, (size_t)n, NULL, NULL, NULL, NULL), 0);
}

static struct dns_rr many[200];

static void fill_many(void)
{
	for (size_t i = 0; i < 200; i++)
		many[i] = (struct dns_rr){
			.type = DNS_TYPE_A, .ttl = 5, .a = 0x0a000000 + (uint32_t)i };
}

static void build_truncate_512(void **state)
{
	struct dns_query q;
	uint16_t ancount;
	int n;
	bool tc;

	(void)state;
	fill_many();
	make_query("tasks.myproj", DNS_TYPE_A, false);
	assert_int_equal(parse(&q), 0);
	/* 12 + 18 + 40 * 16 = 670 > 512 */
	n = dns_build_response(out, sizeof(out), dns_udp_limit(&q), &q, 0, true, true, many, 40);
	assert_int_equal(n, 12 + 18);
	assert_int_equal(dns_parse_response(out, (size_t)n, NULL, NULL, &tc, NULL), 0);
	assert_true(tc);
	ancount = (uint16_t)(out[6] << 8 | out[7]);
	assert_int_equal(ancount, 0);
	/* the same over TCP: all 40 */
	n = dns_build_response(out, sizeof(out), 65535, &q, 0, true, true, many, 40);
	assert_int_equal(n, 12 + 18 + 40 * 16);
	assert_int_equal(dns_parse_response(out, (size_t)n, NULL, NULL, &tc, NULL), 0);
	assert_false(tc);
	assert_int_equal(out[7], 40);
	/* 30 answers make 510 bytes: the edge fits */
	n = dns_build_response(out, sizeof(out), 512, &q, 0, true, true, many, 30);
	assert_int_equal(n, 510);
	assert_false(out[2] & 0x02);
	n = dns_build_response(out, sizeof(out), 509, &q, 0, true, true, many, 30);
	assert_int_equal(n, 30);
	assert_true(out[2] & 0x02);
}

static void build_truncate_edns(void **state)
{
	struct dns_query q;
	size_t lim;
	int n;
	bool tc;

	(void)state;
	fill_many();
	make_query("tasks.myproj", DNS_TYPE_A, true);
	assert_int_equal(parse(&q), 0);
	lim = dns_udp_limit(&q);
	assert_int_equal(lim, 1232);
	/* 40 answers fit in 1232 */
	n = dns_build_response(out, sizeof(out), lim, &q, 0, true, true, many, 40);
	assert_int_equal(n, 12 + 18 + 40 * 16 + 11);
	/* 100 do not: TC, and the OPT record stays */
	n = dns_build_response(out, sizeof(out), lim, &q, 0, true, true, many, 100);
	assert_int_equal(n, 12 + 18 + 11);
	assert_int_equal(dns_parse_response(out, (size_t)n, NULL, NULL, &tc, NULL), 0);
	assert_true(tc);
	assert_int_equal(out[11], 1);
	/* the OPT is counted: 74 answers make 1225 bytes with it, 75 make 1241 */
	n = dns_build_response(out, sizeof(out), lim, &q, 0, true, true, many, 74);
	assert_int_equal(n, 12 + 18 + 74 * 16 + 11);
	n = dns_build_response(out, sizeof(out), lim, &q, 0, true, true, many, 75);
	assert_int_equal(n, 12 + 18 + 11);
	/* and the buffer's capacity bounds it as well as the limit */
	n = dns_build_response(out, 200, 65535, &q, 0, true, true, many, 40);
	assert_int_equal(n, 12 + 18 + 11);
	assert_true(out[2] & 0x02);
}

static void build_enospc(void **state)
{
	struct dns_query q;

	(void)state;
	fill_many();
	make_query("example.com", DNS_TYPE_A, true);
	assert_int_equal(parse(&q), 0);
	/* header 12 + question 17 + OPT 11 = 40 */
	assert_int_equal(dns_build_response(out, 39, 512, &q, 0, true, true, NULL, 0), -ENOSPC);
	assert_int_equal(dns_build_response(out, 512, 39, &q, 0, true, true, NULL, 0), -ENOSPC);
	assert_int_equal(dns_build_response(out, 40, 512, &q, 0, true, true, NULL, 0), 40);
	/* no room for the one answer: TC rather than an error */
	assert_int_equal(dns_build_response(out, 40, 512, &q, 0, true, true, many, 1), 40);
	assert_true(out[2] & 0x02);
}

static void build_einval(void **state)
{
	struct dns_rr bad_ptr = { .type = DNS_TYPE_PTR, .ptr = "a..b" };
	struct dns_rr null_ptr = { .type = DNS_TYPE_PTR };
	struct dns_rr aaaa = { .type = DNS_TYPE_AAAA };
	struct dns_rr rrs[41];
	struct dns_query q;

	(void)state;
	make_query("example.com", DNS_TYPE_A, false);
	assert_int_equal(parse(&q), 0);
	assert_int_equal(dns_build_response(out, sizeof(out), 512, &q, 0, 1, 1, &bad_ptr, 1),
			 -EINVAL);
	assert_int_equal(dns_build_response(out, sizeof(out), 512, &q, 0, 1, 1, &null_ptr, 1),
			 -EINVAL);
	assert_int_equal(dns_build_response(out, sizeof(out), 512, &q, 0, 1, 1, &aaaa, 1), -EINVAL);
	/* a bad record after the truncation point is still an error */
	fill_many();
	memcpy(rrs, many, sizeof(rrs));
	rrs[40] = bad_ptr;
	assert_int_equal(dns_build_response(out, sizeof(out), 512, &q, 0, 1, 1, rrs, 41), -EINVAL);
	/* extended rcodes need EDNS */
	assert_int_equal(
		dns_build_response(out, sizeof(out), 512, &q, DNS_RCODE_BADVERS, 1, 1, NULL, 0),
		-EINVAL);
	assert_int_equal(dns_build_response(out, sizeof(out), 512, &q, -1, 1, 1, NULL, 0), -EINVAL);
	/* a question name the codec cannot write */
	strcpy(q.q.name, "a\\");
	assert_int_equal(dns_build_response(out, sizeof(out), 512, &q, 0, 1, 1, NULL, 0), -EINVAL);
	/* answers need a question to own them */
	q.no_question = true;
	assert_int_equal(dns_build_response(out, sizeof(out), 512, &q, 0, 1, 1, many, 1), -EINVAL);
}

static void build_formerr_no_question(void **state)
{
	struct dns_question qq;
	struct dns_query q;
	int n, rcode;

	(void)state;
	mhdr(&m, 0x1111, RD, 0, 0, 0, 0);
	assert_int_equal(parse(&q), DNS_RCODE_FORMERR);
	n = dns_build_response(out, sizeof(out), 512, &q, DNS_RCODE_FORMERR, false, true, NULL, 0);
	assert_int_equal(n, 12);
	assert_int_equal(out[4] << 8 | out[5], 0);
	assert_int_equal(dns_parse_response(out, (size_t)n, NULL, &rcode, NULL, &qq), 0);
	assert_int_equal(rcode, DNS_RCODE_FORMERR);
	/* no question: qtype 0, which no query carries */
	assert_int_equal(qq.qtype, 0);
}

static void build_notimp_and_badvers(void **state)
{
	struct dns_query q;
	int n, rcode;

	(void)state;
	mhdr(&m, 3, 4 << 11, 1, 0, 0, 0); /* NOTIFY */
	mq(&m, "zone", DNS_TYPE_SOA);
	assert_int_equal(parse(&q), DNS_RCODE_NOTIMP);
	n = dns_build_response(out, sizeof(out), 512, &q, DNS_RCODE_NOTIMP, false, false, NULL, 0);
	assert_true(n > 0);
	assert_int_equal((out[2] >> 3) & 0xf, 4); /* opcode echoed */
	assert_int_equal(dns_parse_response(out, (size_t)n, NULL, &rcode, NULL, NULL), 0);
	assert_int_equal(rcode, DNS_RCODE_NOTIMP);
	/* BADVERS = 16: 0 in the header, 1 in the OPT's extended rcode */
	mhdr(&m, 3, 0, 1, 0, 0, 1);
	mq(&m, "a", DNS_TYPE_A);
	mopt(&m, 1232, 2, false);
	assert_int_equal(parse(&q), DNS_RCODE_FORMERR);
	n = dns_build_response(out, sizeof(out), 512, &q, DNS_RCODE_BADVERS, false, false, NULL, 0);
	assert_true(n > 0);
	assert_int_equal(out[3] & 0xf, 0);
	assert_int_equal(out[n - 6], 1);
	assert_int_equal(out[n - 5], 0); /* our version */
	assert_int_equal(dns_parse_response(out, (size_t)n, NULL, &rcode, NULL, NULL), 0);
	assert_int_equal(rcode, DNS_RCODE_BADVERS);
}

static void build_root_question(void **state)
{
	struct dns_rr rr = { .type = DNS_TYPE_A, .a = 1 };
	struct dns_query q;
	int n;

	(void)state;
	make_query("", DNS_TYPE_A, false);
	assert_int_equal(parse(&q), 0);
	n = dns_build_response(out, sizeof(out), 512, &q, 0, true, true, &rr, 1);
	/* the root owner is one byte, shorter than a pointer to it */
	assert_int_equal(n, 12 + 5 + 1 + 10 + 4);
	assert_int_equal(out[17], 0);
	assert_int_equal(dns_parse_response(out, (size_t)n, NULL, NULL, NULL, NULL), 0);
}

static void set_id(void **state)
{
	uint16_t id;

	(void)state;
	make_query("a", DNS_TYPE_A, false);
	m.b[2] |= QR >> 8;
	dns_set_id(m.b, 0xa55a);
	assert_int_equal(dns_parse_response(m.b, m.n, &id, NULL, NULL, NULL), 0);
	assert_int_equal(id, 0xa55a);
}

/* ---- the name codec ---- */

static void name_to_wire(void **state)
{
	uint8_t w[DNS_MAX_NAME + 8];
	char name[300];

	(void)state;
	assert_int_equal(dns_name_to_wire("", w, sizeof(w)), 1);
	assert_int_equal(w[0], 0);
	assert_int_equal(dns_name_to_wire(".", w, sizeof(w)), 1);
	assert_int_equal(dns_name_to_wire("ab.c", w, sizeof(w)), 6);
	assert_memory_equal(w, "\002ab\001c", 6);
	assert_int_equal(dns_name_to_wire("ab.c.", w, sizeof(w)), 6);
	assert_int_equal(dns_name_to_wire("a\\.b", w, sizeof(w)), 5);
	assert_memory_equal(w, "\003a.b", 5);
	assert_int_equal(dns_name_to_wire("a\\046b\\\\\\000", w, sizeof(w)), 7);
	assert_memory_equal(w, "\005a.b\\\000", 7);
	assert_int_equal(dns_name_to_wire("\\a\\-", w, sizeof(w)), 4);
	assert_memory_equal(w, "\002a-", 4);
	/* an escaped dot at the end is part of the label, not a trailing dot */
	assert_int_equal(dns_name_to_wire("a\\.", w, sizeof(w)), 4);
	assert_int_equal(dns_name_to_wire("a\\\\.", w, sizeof(w)), 4);
	assert_memory_equal(w, "\002a\\", 4);

	static const char *const bad[] = {
		"..", "a..b", ".a", "a.b..", "a\\", "a\\1", "a\\12", "a\\1x2", "a\\256",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (dns_name_to_wire(bad[i], w, sizeof(w)) != -EINVAL)
			print_message("  \"%s\" was accepted\n", bad[i]);
		assert_int_equal(dns_name_to_wire(bad[i], w, sizeof(w)), -EINVAL);
	}
	memset(name, 'x', 64);
	name[63] = '\0';
	assert_int_equal(dns_name_to_wire(name, w, sizeof(w)), 65);
	name[63] = 'x';
	name[64] = '\0';
	assert_int_equal(dns_name_to_wire(name, w, sizeof(w)), -EINVAL);
	fill_long_name(name, 61);
	assert_int_equal(dns_name_to_wire(name, w, sizeof(w)), 255);
	strcat(name, ".");
	assert_int_equal(dns_name_to_wire(name, w, sizeof(w)), 255);
	fill_long_name(name, 62);
	assert_int_equal(dns_name_to_wire(name, w, sizeof(w)), -EINVAL);
	/* escapes count as one byte */
	assert_int_equal(dns_name_to_wire("\\000\\001", w, sizeof(w)), 4);
	/* a short buffer */
	assert_int_equal(dns_name_to_wire("abc", w, 4), -ENOSPC);
	assert_int_equal(dns_name_to_wire("abc", w, 5), 5);
}

static void name_read_escapes(void **state)
{
	static const uint8_t msg[] = {
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		4, 'a', '.', '\\', 0x80, 1, '"', 0,	/* at 12 */
		1, 'z', 0xc0, 12,			/* at 20 */
	};
	char text[DNS_MAX_NAME_TEXT];
	size_t next;

	(void)state;
	assert_int_equal(dns_name_read(msg, sizeof(msg), 12, text, sizeof(text), &next), 0);
	assert_string_equal(text, "a\\.\\\\\\128.\"");
	assert_int_equal(next, 20);
	assert_int_equal(dns_name_read(msg, sizeof(msg), 20, text, sizeof(text), &next), 0);
	assert_string_equal(text, "z.a\\.\\\\\\128.\"");
	assert_int_equal(next, sizeof(msg));
	/* a buffer too small is an error, never a cut name */
	assert_int_equal(dns_name_read(msg, sizeof(msg), 12, text, 11, &next), -ENOSPC);
	assert_int_equal(dns_name_read(msg, sizeof(msg), 12, text, 12, &next), 0);
	assert_int_equal(strlen(text), 11);
	assert_int_equal(dns_name_read(msg, sizeof(msg) - 1, 20, text, sizeof(text), &next),
			 -EBADMSG);
}

static void name_worst_text(void **state)
{
	/* 250 bytes that all need \DDD, in four labels: the longest text there is */
	uint8_t w[DNS_MAX_NAME];
	struct dns_query q;
	size_t n = 0;

	(void)state;
	for (int l = 0; l < 4; l++) {
		int len = l < 3 ? 63 : 61;

		w[n++] = (uint8_t)len;
		memset(w + n, 0xff, (size_t)len);
		n += (size_t)len;
	}
	w[n++] = 0;
	assert_int_equal(n, 255);
	mhdr(&m, 1, 0, 1, 0, 0, 0);
	mraw(&m, w, n);
	m16(&m, DNS_TYPE_A);
	m16(&m, DNS_CLASS_IN);
	assert_int_equal(parse(&q), 0);
	assert_int_equal(strlen(q.q.name), DNS_MAX_NAME_TEXT - 1);
	n = (size_t)dns_build_response(out, sizeof(out), 512, &q, 0, 0, 0, NULL, 0);
	assert_int_equal(n, 12 + 255 + 4);
	assert_memory_equal(out + 12, w, 255);
}

static void name_round_trip(void **state)
{
	/* canonical spellings come back as they went in, byte for byte */
	static const char *const names[] = {
		"example.com",
		"ExAmPlE.CoM",
		"a\\.b.c",
		"a\\\\b",
		"\\000\\255.x",
		"x\\032y",
		"_http._tcp.web.myproj",
		"xn--bcher-kva.example",
		"\"quoted\";@(x)",
		"",
		"a-b_c.d*e",
	};
	/* others come back canonical, and equal by dns_name_eq */
	static const char *const loose[][2] = {
		{ "a.b.", "a.b" }, { "\\a\\b", "ab" }, { "a\\046b", "a\\.b" },
		{ "\\065\\066", "AB" }, { "x y", "x\\032y" }, { ".", "" },
	};
	struct dns_question qq;
	struct dns_query q;
	int n;

	(void)state;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]) + 6; i++) {
		bool canon = i < sizeof(names) / sizeof(names[0]);
		const char *in = canon ? names[i] : loose[i - sizeof(names) / sizeof(names[0])][0];
		const char *want = canon ? in : loose[i - sizeof(names) / sizeof(names[0])][1];

		make_query(in, DNS_TYPE_A, true);
		assert_int_equal(parse(&q), 0);
		assert_string_equal(q.q.name, want);
		assert_true(dns_name_eq(q.q.name, in));
		n = dns_build_response(out, sizeof(out), 65535, &q, 0, true, true, NULL, 0);
		assert_true(n > 0);
		/* the question goes back as the client sent it */
		assert_memory_equal(out + 12, m.b + 12, m.n - 12 - 11);
		assert_int_equal(dns_parse_response(out, (size_t)n, NULL, NULL, NULL, &qq), 0);
		assert_string_equal(qq.name, want);
	}
}

static void name_eq(void **state)
{
	(void)state;
	assert_true(dns_name_eq("web.myproj", "WEB.MyProj"));
	assert_true(dns_name_eq("web.myproj.", "web.myproj"));
	assert_true(dns_name_eq("web.myproj", "web.myproj."));
	assert_true(dns_name_eq("", "."));
	assert_true(dns_name_eq("a\\.b", "A\\046B"));
	assert_false(dns_name_eq("a\\.b", "a.b"));
	assert_false(dns_name_eq("web.myproj", "web.myproj2"));
	assert_false(dns_name_eq("web", "web.myproj"));
	assert_false(dns_name_eq("web.myproj..", "web.myproj"));
	assert_false(dns_name_eq("web..myproj", "web..myproj"));
	/* ASCII only: bytes above 0x7f are never folded */
	assert_false(dns_name_eq("\\196", "\\228"));
	assert_true(dns_name_eq("\\196", "\\196"));
	/* '[' and '{ ' differ by 0x20 but are not letters */
	assert_false(dns_name_eq("[", "{"));
}

/* ---- reverse names ---- */

static void ptr_names(void **state)
{
	static const uint32_t ips[] = { 0, 0x0a000001, 0xac110002, 0xffffffff, 0x7f000001 };
	char name[64];
	uint32_t ip;

	(void)state;
	assert_int_equal(dns_ptr_name(0xac110002, name, sizeof(name)), 0);
	assert_string_equal(name, "2.0.17.172.in-addr.arpa");
	for (size_t i = 0; i < sizeof(ips) / sizeof(ips[0]); i++) {
		assert_int_equal(dns_ptr_name(ips[i], name, sizeof(name)), 0);
		assert_int_equal(dns_ptr_parse(name, &ip), 0);
		assert_int_equal(ip, ips[i]);
	}
	assert_int_equal(dns_ptr_name(0xffffffff, name, 29), 0);
	assert_int_equal(dns_ptr_name(0xffffffff, name, 28), -ENOSPC);

	assert_int_equal(dns_ptr_parse("4.3.2.1.IN-ADDR.ARPA.", &ip), 0);
	assert_int_equal(ip, 0x01020304);
	static const char *const bad[] = {
		"3.2.1.in-addr.arpa",
		"5.4.3.2.1.in-addr.arpa",
		"04.3.2.1.in-addr.arpa",
		"256.3.2.1.in-addr.arpa",
		"1000.3.2.1.in-addr.arpa",
		"4.3.2.1.in-addr.arpa.com",
		"4.3.2.1.in-addr.arpa..",
		"4.3.2.1.ip6.arpa",
		"4.3..1.in-addr.arpa",
		"a.3.2.1.in-addr.arpa",
		"-4.3.2.1.in-addr.arpa",
		"4.3.2.1in-addr.arpa",
		"",
		"in-addr.arpa",
		"4.3.2.1.in-addr.arp",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (dns_ptr_parse(bad[i], &ip) != -EINVAL)
			print_message("  \"%s\" was accepted\n", bad[i]);
		assert_int_equal(dns_ptr_parse(bad[i], &ip), -EINVAL);
	}
	assert_int_equal(dns_ptr_parse("0.0.0.0.in-addr.arpa", &ip), 0);
	assert_int_equal(ip, 0);
}

/* ---- linear time (RFC 9267 §2) ---- */

static double ms_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) * 1e3 + (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

/* Both parsers on m, as a query and as a reply; under 50 ms even with sanitizers. */
static void expect_fast(int want_query, int want_resp)
{
	struct timespec t0;
	struct dns_query q;
	double ms;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	m.b[2] &= ~(QR >> 8);
	assert_int_equal(parse(&q), want_query);
	m.b[2] |= QR >> 8;
	assert_int_equal(parse_resp(), want_resp);
	ms = ms_since(&t0);
	if (ms >= 50)
		print_message("  %zu-byte message took %.1f ms\n", m.n, ms);
	assert_true(ms < 50);
}

static void linear_pointer_floods(void **state)
{
	(void)state;
	/* 65535 bytes of pointers to offset 12, with every count at its maximum */
	mhdr(&m, 1, 0, 0xffff, 0xffff, 0xffff, 0xffff);
	while (m.n < 65535)
		mptr(&m, 12);
	m.n = 65535;
	expect_fast(DNS_RCODE_FORMERR, -1);

	/* each pointer to the one before it: a chain 32k hops long */
	mhdr(&m, 1, 0, 1, 0, 0, 0xffff);
	mq(&m, "q", DNS_TYPE_A);
	while (m.n + 2 <= 65535)
		mptr(&m, (uint16_t)(m.n - 2 < 12 ? 12 : m.n - 2));
	expect_fast(DNS_RCODE_FORMERR, -1);

	/* records whose owners form one long chain: quadratic without a hop limit */
	mhdr(&m, 1, 0, 1, 0, 0, 0);
	mq(&m, "q", DNS_TYPE_A);
	{
		size_t prev = 12;
		uint16_t n = 0;

		while (m.n + 12 <= 65535) {
			size_t here = m.n;

			mptr(&m, (uint16_t)(prev > 0x3fff ? 12 : prev));
			mrr(&m, DNS_TYPE_TXT, 0);
			prev = here;
			n++;
		}
		m.b[10] = n >> 8;
		m.b[11] = n & 0xff;
	}
	expect_fast(DNS_RCODE_FORMERR, -1);
}

static void linear_worst_accepted(void **state)
{
	size_t deep = 12;

	(void)state;
	/*
	 * The most work a valid message can ask for: a 127-hop chain, then
	 * every further record's owner at the end of it, each costing 127
	 * hops, and a 255-byte question at the bottom.
	 */
	char name[300];
	uint16_t n = 0;

	fill_long_name(name, 61);
	mhdr(&m, 1, 0, 1, 0, 0, 0);
	mq(&m, name, DNS_TYPE_A);
	while (m.n + 12 <= 65535) {
		size_t here = m.n;

		mptr(&m, (uint16_t)deep);
		mrr(&m, DNS_TYPE_TXT, 0);
		if (n < 126)
			deep = here;
		n++;
	}
	m.b[10] = n >> 8;
	m.b[11] = n & 0xff;
	/* the owners are 255 bytes long each: the bound is hops, not the name */
	expect_fast(0, 0);
	assert_true(n > 5000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(query_plain),
		cmocka_unit_test(query_edns),
		cmocka_unit_test(query_edns_small_offer),
		cmocka_unit_test(query_edns_options),
		cmocka_unit_test(query_types),
		cmocka_unit_test(query_flags),
		cmocka_unit_test(query_mixed_case),
		cmocka_unit_test(query_escapes),
		cmocka_unit_test(query_root),
		cmocka_unit_test(query_longest_name),
		cmocka_unit_test(query_other_additional_ignored),
		cmocka_unit_test(query_short),
		cmocka_unit_test(query_qr_set),
		cmocka_unit_test(query_opcode),
		cmocka_unit_test(query_qdcount),
		cmocka_unit_test(query_answer_records),
		cmocka_unit_test(name_good_pointer),
		cmocka_unit_test(name_self_pointer),
		cmocka_unit_test(name_two_cycle),
		cmocka_unit_test(name_target_overlaps),
		cmocka_unit_test(name_forward_pointer),
		cmocka_unit_test(name_pointer_out_of_range),
		cmocka_unit_test(name_pointer_last_byte),
		cmocka_unit_test(name_label_too_long),
		cmocka_unit_test(name_too_long),
		cmocka_unit_test(name_too_long_through_pointer),
		cmocka_unit_test(name_missing_terminator),
		cmocka_unit_test(pointer_hop_limit),
		cmocka_unit_test(count_overrun),
		cmocka_unit_test(rdlength_overrun),
		cmocka_unit_test(rdata_shape),
		cmocka_unit_test(trailing_garbage),
		cmocka_unit_test(edns_duplicate_opt),
		cmocka_unit_test(edns_opt_misplaced),
		cmocka_unit_test(edns_bad_options),
		cmocka_unit_test(edns_version),
		cmocka_unit_test(build_a_exact),
		cmocka_unit_test(build_edns_exact),
		cmocka_unit_test(build_nxdomain),
		cmocka_unit_test(build_ptr),
		cmocka_unit_test(build_ptr_against_question),
		cmocka_unit_test(build_truncate_512),
		cmocka_unit_test(build_truncate_edns),
		cmocka_unit_test(build_enospc),
		cmocka_unit_test(build_einval),
		cmocka_unit_test(build_formerr_no_question),
		cmocka_unit_test(build_notimp_and_badvers),
		cmocka_unit_test(build_root_question),
		cmocka_unit_test(set_id),
		cmocka_unit_test(name_to_wire),
		cmocka_unit_test(name_read_escapes),
		cmocka_unit_test(name_worst_text),
		cmocka_unit_test(name_round_trip),
		cmocka_unit_test(name_eq),
		cmocka_unit_test(ptr_names),
		cmocka_unit_test(linear_pointer_floods),
		cmocka_unit_test(linear_worst_accepted),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
