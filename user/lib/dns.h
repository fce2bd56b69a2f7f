/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * DNS messages for the embedded server and its forwarder: pure functions over
 * byte buffers, no I/O. Every parser checks what RFC 9267 lists and runs in
 * time linear in the message length.
 */
#ifndef BERTH_DNS_H
#define BERTH_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DNS_HDR_LEN   12
#define DNS_MAX_LABEL 63
#define DNS_MAX_NAME  255 /* wire length limit */
/*
 * Longest presentation form plus its NUL: four labels holding 250 bytes that
 * all need \DDD escapes. DNS_MAX_NAME + 1 would cut such names short.
 */
#define DNS_MAX_NAME_TEXT 1004
#define DNS_MAX_UDP	  512  /* without EDNS */
#define DNS_EDNS_CAP	  1232 /* largest UDP answer we send even if the client offers more */
#define DNS_CLASS_IN	  1

enum {
	DNS_TYPE_A = 1,
	DNS_TYPE_NS = 2,
	DNS_TYPE_CNAME = 5,
	DNS_TYPE_SOA = 6,
	DNS_TYPE_PTR = 12,
	DNS_TYPE_MX = 15,
	DNS_TYPE_TXT = 16,
	DNS_TYPE_AAAA = 28,
	DNS_TYPE_SRV = 33,
	DNS_TYPE_OPT = 41,
	DNS_TYPE_ANY = 255,
};

enum {
	DNS_RCODE_NOERROR = 0,
	DNS_RCODE_FORMERR = 1,
	DNS_RCODE_SERVFAIL = 2,
	DNS_RCODE_NXDOMAIN = 3,
	DNS_RCODE_NOTIMP = 4,
	DNS_RCODE_REFUSED = 5,
	/* extended (RFC 6891): only with EDNS, the high bits go in the OPT record */
	DNS_RCODE_BADVERS = 16,
};

struct dns_question {
	/*
	 * Presentation form, no trailing dot ("" = root), case as sent. Label
	 * bytes '.' and '\\' are escaped as "\." and "\\", bytes outside
	 * 0x21..0x7e as "\DDD" (RFC 1035 §5.1), so the text is safe to log.
	 */
	char name[DNS_MAX_NAME_TEXT];
	uint16_t qtype, qclass;
};

struct dns_query {
	uint16_t id;
	uint8_t opcode;
	bool rd, cd, ad;
	/*
	 * Set by dns_parse_query when the question could not be read (qdcount 0
	 * or a malformed name): the response then carries no question. Negative
	 * so that a query filled in by hand echoes its question by default.
	 */
	bool no_question;
	struct dns_question q;
	bool has_edns;
	uint16_t edns_udp_size; /* as offered (0 if no EDNS); see dns_udp_limit() */
	uint8_t edns_version;
	bool edns_do;
};

/*
 * Parse a query. Returns
 *   0                  a well-formed standard query with exactly one question;
 *   DNS_RCODE_FORMERR  answer with that rcode;
 *   DNS_RCODE_NOTIMP   opcode other than QUERY: answer with that rcode;
 *   -1                 drop silently: shorter than a header, or QR=1.
 * For FORMERR and NOTIMP, *q has the id, opcode, flags and, unless
 * q->no_question, the first question. has_edns is set only for a valid OPT
 * record, so a FORMERR about the OPT itself goes back without one (RFC 6891 §7).
 *
 * FORMERR for: qdcount other than 1, any answer or authority record, a
 * malformed name anywhere (a pointer forward, to itself, into the header or
 * past the end, missing its second byte, or to bytes that run on into the
 * name pointing there; more than 127 pointer hops; label type 01/10 or a
 * label over 63; a name over 255; no terminator), a count or rdlength that
 * runs past the end, rdata that does not match its type (the names of NS,
 * CNAME, PTR, MX, SOA, SRV and the other types that carry names; A of 4 and
 * AAAA of 16 bytes in class IN; TXT strings filling the rdata; other types
 * are opaque), more than one OPT, an OPT not owned by the root or with
 * malformed options, trailing bytes after the last record, and an EDNS
 * version other than 0 (then has_edns and edns_version are set, so the
 * server may answer DNS_RCODE_BADVERS instead). Additional records other
 * than OPT (TSIG, SIG(0)) are checked for shape and otherwise ignored.
 */
int dns_parse_query(const uint8_t *msg, size_t len, struct dns_query *q);

/* The largest UDP response for @q: 512 without EDNS, else the offer clamped to 512..1232. */
size_t dns_udp_limit(const struct dns_query *q);

/* One answer record to put in a response. */
struct dns_rr {
	uint16_t type; /* DNS_TYPE_A or DNS_TYPE_PTR */
	uint32_t ttl;
	uint32_t a;	 /* A: IPv4 in HOST byte order */
	const char *ptr; /* PTR: target name, presentation form without trailing dot */
};

/*
 * Build a response to @q into @buf: header (id, QR=1, opcode, AA=@aa, RD and
 * CD copied, RA=@ra, rcode), the question echoed byte for byte as the client
 * spelled it (none if q->no_question), the answers in class IN (owner = a
 * pointer to the question), and an OPT record when the query had EDNS (UDP
 * size DNS_EDNS_CAP, version 0, DO copied, the high bits of @rcode).
 *
 * @limit is the largest message allowed (dns_udp_limit() for UDP, 65535 for
 * TCP); answers are fitted into min(@cap, @limit). If they do not all fit,
 * none are sent and TC=1 (whole RRsets or nothing, RFC 2181 §9); the OPT
 * record always stays. Names in PTR rdata are compressed against earlier
 * names with the same spelling (exact bytes, so the client sees the case it
 * was given).
 *
 * Returns the length, -ENOSPC if header+question+OPT do not fit, -EINVAL
 * for a bad question or PTR name, an unknown rr type, answers without a
 * question, or an rcode over 15 without EDNS.
 */
int dns_build_response(uint8_t *buf, size_t cap, size_t limit, const struct dns_query *q, int rcode,
		       bool aa, bool ra, const struct dns_rr *rrs, size_t n_rrs);

/*
 * For forwarding: check a whole message (every section, every name and
 * rdlength, linear time, the same rules as dns_parse_query) and read its id,
 * rcode (extended with the OPT bits when there is one), TC bit and question.
 * Returns 0 or -1: malformed, QR=0 (a query is not a reply), or qdcount over
 * 1 (RFC 9619). With qdcount 0, *q is zeroed: qtype 0 matches no query.
 * Trailing bytes are rejected. Any out pointer may be NULL.
 */
int dns_parse_response(const uint8_t *msg, size_t len, uint16_t *id, int *rcode, bool *tc,
		       struct dns_question *q);

/*
 * Read the possibly compressed name at @off of @msg into presentation form
 * (as in struct dns_question) in @out; *next is the offset just after it.
 * Returns 0, -EBADMSG for a malformed name, -ENOSPC if @cap is too small
 * (DNS_MAX_NAME_TEXT always suffices).
 */
int dns_name_read(const uint8_t *msg, size_t len, size_t off, char *out, size_t cap, size_t *next);

/*
 * Case-insensitive comparison of two presentation-form names (ASCII only, as
 * DNS does, RFC 4343), ignoring one trailing dot on either; escapes are
 * decoded, so "a\.b" equals "a\046b". A name that is not valid equals nothing.
 */
bool dns_name_eq(const char *a, const char *b);

/*
 * Text → wire (uncompressed), for building. Accepts \X and \DDD escapes and
 * one trailing dot; "" and "." are the root. Returns the wire length, or
 * -EINVAL (empty label, label > 63, name > 255, bad escape) or -ENOSPC.
 */
int dns_name_to_wire(const char *text, uint8_t *out, size_t cap);

/* @ip (host order) a.b.c.d → "d.c.b.a.in-addr.arpa"; 0 or -ENOSPC (29 bytes suffice). */
int dns_ptr_name(uint32_t ip, char *out, size_t cap);
/*
 * "d.c.b.a.in-addr.arpa" (any case, optional trailing dot) → host-order IP.
 * Exactly four decimal labels 0..255 without leading zeros; 0 or -EINVAL.
 */
int dns_ptr_parse(const char *name, uint32_t *ip);

/* Set a message's id in place (forwarding rewrites ids). */
static inline void dns_set_id(uint8_t *msg, uint16_t id)
{
	msg[0] = (uint8_t)(id >> 8);
	msg[1] = (uint8_t)id;
}

#endif
