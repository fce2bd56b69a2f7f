// SPDX-License-Identifier: GPL-2.0-only
/*
 * DNS message codec for the embedded server: query parsing, response
 * building, whole-message checks for the forwarder, and the name codec.
 *
 * Every read is bounds-checked before it happens, and every loop is bounded
 * by the message length: a name costs at most 255 bytes of labels plus
 * DNS_MAX_HOPS pointer hops, and each record consumes at least one byte, so
 * a whole message is checked in time linear in its length (RFC 9267).
 */
#include "dns.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/*
 * A compressed name of 255 bytes has at most 127 labels, and a sensible
 * encoder never needs more than one pointer per label; the limit keeps a
 * chain of pointer-to-pointer hops from costing more than a name is worth.
 */
#define DNS_MAX_HOPS   127
#define DNS_RR_FIXED   10 /* type, class, ttl, rdlength */
#define DNS_OPT_LEN    (1 + DNS_RR_FIXED)
#define DNS_PTR_MASK   0xc0
#define DNS_MAX_OFFSET 0x3fff /* what a 14-bit pointer can reach */

/* header flags */
#define F_QR	  0x8000
#define F_AA	  0x0400
#define F_TC	  0x0200
#define F_RD	  0x0100
#define F_RA	  0x0080
#define F_AD	  0x0020
#define F_CD	  0x0010
#define OPCODE(f) (((f) >> 11) & 0xf)
#define EDNS_DO	  0x8000

#define DNS_CLASS_NONE 254
#define DNS_CLASS_ANY  255

enum dns_section { SEC_ANSWER, SEC_AUTHORITY, SEC_ADDITIONAL };

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

static int ascii_lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

/* ---- names: wire → text ---- */

/* Append one label in presentation form (RFC 1035 §5.1 escapes). */
static int text_put_label(char *out, size_t cap, size_t *pos, const uint8_t *label, size_t n)
{
	size_t p = *pos;

	if (p) {
		if (p + 1 >= cap)
			return -ENOSPC;
		out[p++] = '.';
	}
	for (size_t i = 0; i < n; i++) {
		uint8_t c = label[i];

		if (c == '.' || c == '\\') {
			if (p + 2 >= cap)
				return -ENOSPC;
			out[p++] = '\\';
			out[p++] = (char)c;
		} else if (c < 0x21 || c > 0x7e) {
			if (p + 4 >= cap)
				return -ENOSPC;
			snprintf(out + p, 5, "\\%03u", c);
			p += 4;
		} else {
			if (p + 1 >= cap)
				return -ENOSPC;
			out[p++] = (char)c;
		}
	}
	out[p] = '\0';
	*pos = p;
	return 0;
}

/*
 * Walk the name at @off. Its in-line part must end by @end (the end of the
 * rdata it sits in, or of the message). A pointer may only go strictly
 * before the start of the run of labels it ends, and not into the header,
 * and the run it leads to must end before that start too: a compression
 * target is always a name written earlier, whole. So every hop moves
 * backwards over bytes not yet seen, no loop is possible, and one name
 * never reads more than the message. @text, when not NULL, receives the
 * presentation form. Returns the uncompressed wire length, -EBADMSG or
 * -ENOSPC.
 */
static int name_walk(const uint8_t *msg, size_t off, size_t end, char *text, size_t cap,
		     size_t *next)
{
	size_t pos = off, run = off, tpos = 0, wlen = 0;
	unsigned int hops = 0;
	bool jumped = false;
	int err;

	if (text) {
		if (!cap)
			return -ENOSPC;
		text[0] = '\0';
	}
	for (;;) {
		uint8_t c;

		if (pos >= end)
			return -EBADMSG; /* no terminator before the end */
		c = msg[pos];
		if (c == 0)
			break;
		if ((c & DNS_PTR_MASK) == DNS_PTR_MASK) {
			size_t target;

			/* check before reading: a pointer may be the last byte */
			if (pos + 1 >= end)
				return -EBADMSG;
			target = (size_t)(c & ~DNS_PTR_MASK) << 8 | msg[pos + 1];
			if (target < DNS_HDR_LEN || target >= run || ++hops > DNS_MAX_HOPS)
				return -EBADMSG;
			if (!jumped) {
				*next = pos + 2;
				jumped = true;
			}
			end = run;
			pos = run = target;
			continue;
		}
		if (c > DNS_MAX_LABEL)
			return -EBADMSG; /* 01 and 10 label types, RFC 6891 §5 */
		if (pos + 1 + c > end)
			return -EBADMSG;
		/* + 1 for this length byte, + 1 for the root still to come */
		if (wlen + 1 + c + 1 > DNS_MAX_NAME)
			return -EBADMSG;
		if (text) {
			err = text_put_label(text, cap, &tpos, msg + pos + 1, c);
			if (err)
				return err;
		}
		wlen += 1 + (size_t)c;
		pos += 1 + (size_t)c;
	}
	if (!jumped)
		*next = pos + 1;
	return (int)wlen + 1;
}

int dns_name_read(const uint8_t *msg, size_t len, size_t off, char *out, size_t cap, size_t *next)
{
	int n = name_walk(msg, off, len, out, cap, next);

	return n < 0 ? n : 0;
}

/* ---- names: text → wire ---- */

int dns_name_to_wire(const char *text, uint8_t *out, size_t cap)
{
	const char *s = text;
	size_t wlen = 0;

	/* "" and "." are the root; any other name must not start with a dot */
	if (s[0] == '.' && s[1] == '\0')
		s++;
	while (*s) {
		size_t lpos = wlen++, n = 0;

		while (*s && *s != '.') {
			unsigned int c = (unsigned char)*s++;

			if (c == '\\') {
				if (!*s)
					return -EINVAL;
				if (*s >= '0' && *s <= '9') {
					if (s[1] < '0' || s[1] > '9' || s[2] < '0' || s[2] > '9')
						return -EINVAL;
					c = (unsigned int)((s[0] - '0') * 100 + (s[1] - '0') * 10 +
							   (s[2] - '0'));
					if (c > 255)
						return -EINVAL;
					s += 3;
				} else {
					c = (unsigned char)*s++;
				}
			}
			if (++n > DNS_MAX_LABEL)
				return -EINVAL;
			/* room for this byte and the root label after it */
			if (wlen + 1 >= DNS_MAX_NAME)
				return -EINVAL;
			if (wlen >= cap)
				return -ENOSPC;
			out[wlen++] = (uint8_t)c;
		}
		if (!n)
			return -EINVAL; /* empty label: "..", or a leading dot */
		if (lpos >= cap)
			return -ENOSPC;
		out[lpos] = (uint8_t)n;
		/* a dot that ends the text is the one trailing dot allowed */
		if (*s == '.')
			s++;
	}
	if (wlen >= cap)
		return -ENOSPC;
	out[wlen++] = 0;
	return (int)wlen;
}

static bool wire_eq_nocase(const uint8_t *a, const uint8_t *b, size_t n)
{
	/* length bytes are at most 63, below 'A', so folding them changes nothing */
	for (size_t i = 0; i < n; i++)
		if (ascii_lower(a[i]) != ascii_lower(b[i]))
			return false;
	return true;
}

bool dns_name_eq(const char *a, const char *b)
{
	uint8_t wa[DNS_MAX_NAME], wb[DNS_MAX_NAME];
	int na = dns_name_to_wire(a, wa, sizeof(wa));
	int nb = dns_name_to_wire(b, wb, sizeof(wb));

	return na > 0 && na == nb && wire_eq_nocase(wa, wb, (size_t)na);
}

/* ---- reverse names ---- */

int dns_ptr_name(uint32_t ip, char *out, size_t cap)
{
	int n = snprintf(out, cap, "%u.%u.%u.%u.in-addr.arpa", ip & 0xff, (ip >> 8) & 0xff,
			 (ip >> 16) & 0xff, ip >> 24);

	return n < 0 || (size_t)n >= cap ? -ENOSPC : 0;
}

int dns_ptr_parse(const char *name, uint32_t *ip)
{
	static const char suffix[] = "in-addr.arpa";
	const char *s = name;
	uint32_t v = 0;
	size_t rest;

	for (int i = 0; i < 4; i++) {
		unsigned int octet = 0, digits = 0;

		/* a leading zero makes a different name, not the same address */
		if (s[0] == '0' && s[1] >= '0' && s[1] <= '9')
			return -EINVAL;
		for (; *s >= '0' && *s <= '9' && digits < 4; s++, digits++)
			octet = octet * 10 + (unsigned int)(*s - '0');
		if (!digits || digits > 3 || octet > 255 || *s != '.')
			return -EINVAL;
		s++;
		v |= (uint32_t)octet << (8 * i);
	}
	rest = strlen(s);
	if (rest == sizeof(suffix) && s[rest - 1] == '.')
		rest--;
	if (rest != sizeof(suffix) - 1)
		return -EINVAL;
	for (size_t i = 0; i < rest; i++)
		if (ascii_lower((unsigned char)s[i]) != suffix[i])
			return -EINVAL;
	*ip = v;
	return 0;
}

/* ---- records ---- */

struct edns_info {
	unsigned int count;
	uint16_t udp_size;
	uint8_t ext_rcode, version;
	bool do_bit;
};

/* EDNS options are TLVs that must fill the rdata exactly (RFC 6891 §6.1.2). */
static int opt_rdata_check(const uint8_t *msg, size_t pos, size_t end)
{
	while (pos < end) {
		if (end - pos < 4 || get16(msg + pos + 2) > end - pos - 4)
			return -EBADMSG;
		pos += 4 + (size_t)get16(msg + pos + 2);
	}
	return 0;
}

/*
 * The rdata of the types RFC 1035 lets carry compressed names, and a few
 * later ones with names, is checked like any owner name: a relayed answer
 * must not carry a pointer loop to a client's stub resolver.
 */
static int rdata_check(const uint8_t *msg, uint16_t type, uint16_t class, size_t pos, size_t end)
{
	size_t fixed = 0, names = 1, tail = 0;

	/* RFC 2136 uses empty rdata in classes ANY and NONE to delete RRsets */
	if (pos == end && (class == DNS_CLASS_ANY || class == DNS_CLASS_NONE))
		return 0;
	switch (type) {
	case DNS_TYPE_A:
		return class == DNS_CLASS_IN && end - pos != 4 ? -EBADMSG : 0;
	case DNS_TYPE_AAAA:
		return class == DNS_CLASS_IN && end - pos != 16 ? -EBADMSG : 0;
	case DNS_TYPE_OPT:
		return opt_rdata_check(msg, pos, end);
	case DNS_TYPE_TXT:
		/* character-strings, each with its length byte, filling the rdata */
		while (pos < end)
			pos += 1 + (size_t)msg[pos];
		return pos == end ? 0 : -EBADMSG;
	case DNS_TYPE_NS:
	case 3: /* MD */
	case 4: /* MF */
	case DNS_TYPE_CNAME:
	case 7: /* MB */
	case 8: /* MG */
	case 9: /* MR */
	case DNS_TYPE_PTR:
	case 39: /* DNAME */
		break;
	case 14: /* MINFO */
	case 17: /* RP */
		names = 2;
		break;
	case DNS_TYPE_SOA:
		names = 2;
		tail = 20;
		break;
	case DNS_TYPE_MX:
	case 18: /* AFSDB */
	case 21: /* RT */
	case 36: /* KX */
		fixed = 2;
		break;
	case DNS_TYPE_SRV:
		fixed = 6;
		break;
	default:
		return 0; /* opaque */
	}
	if (end - pos < fixed)
		return -EBADMSG;
	pos += fixed;
	/* each name's in-line part must stay inside the rdata */
	for (size_t i = 0; i < names; i++)
		if (name_walk(msg, pos, end, NULL, 0, &pos) < 0)
			return -EBADMSG;
	return end - pos == tail ? 0 : -EBADMSG;
}

/* One resource record at *off: owner, fixed part, rdata in bounds and in shape. */
static int rr_check(const uint8_t *msg, size_t len, size_t *off, enum dns_section sec,
		    struct edns_info *e)
{
	size_t pos, rdata, rdlen;
	uint16_t type, class;
	uint32_t ttl;
	int owner;

	owner = name_walk(msg, *off, len, NULL, 0, &pos);
	if (owner < 0 || len - pos < DNS_RR_FIXED)
		return -EBADMSG;
	type = get16(msg + pos);
	class = get16(msg + pos + 2);
	ttl = get32(msg + pos + 4);
	rdlen = get16(msg + pos + 8);
	rdata = pos + DNS_RR_FIXED;
	if (rdlen > len - rdata)
		return -EBADMSG;
	if (rdata_check(msg, type, class, rdata, rdata + rdlen))
		return -EBADMSG;
	if (type == DNS_TYPE_OPT) {
		/* one OPT, in the additional section, owned by the root (RFC 6891 §6.1.1) */
		if (sec != SEC_ADDITIONAL || e->count++ || owner != 1)
			return -EBADMSG;
		e->udp_size = class;
		e->ext_rcode = (uint8_t)(ttl >> 24);
		e->version = (uint8_t)(ttl >> 16);
		e->do_bit = ttl & EDNS_DO;
	}
	*off = rdata + rdlen;
	return 0;
}

/* Every record of the three record sections, then nothing after them. */
static int sections_check(const uint8_t *msg, size_t len, size_t off, const uint16_t count[3],
			  struct edns_info *e)
{
	for (int sec = SEC_ANSWER; sec <= SEC_ADDITIONAL; sec++)
		for (unsigned int i = 0; i < count[sec]; i++)
			if (rr_check(msg, len, &off, (enum dns_section)sec, e))
				return -EBADMSG;
	return off == len ? 0 : -EBADMSG;
}

static int question_read(const uint8_t *msg, size_t len, size_t *off, struct dns_question *q)
{
	struct dns_question tmp;
	size_t pos;

	if (name_walk(msg, *off, len, tmp.name, sizeof(tmp.name), &pos) < 0 || len - pos < 4)
		return -EBADMSG;
	tmp.qtype = get16(msg + pos);
	tmp.qclass = get16(msg + pos + 2);
	*off = pos + 4;
	/* only a whole question reaches the caller */
	memcpy(q, &tmp, sizeof(tmp));
	return 0;
}

/* ---- parsing ---- */

int dns_parse_query(const uint8_t *msg, size_t len, struct dns_query *q)
{
	struct edns_info e = { 0 };
	uint16_t flags, qd, count[3];
	size_t off = DNS_HDR_LEN;

	memset(q, 0, sizeof(*q));
	q->no_question = true;
	if (len < DNS_HDR_LEN)
		return -1;
	flags = get16(msg + 2);
	/* answering a response could start a loop between two servers */
	if (flags & F_QR)
		return -1;
	q->id = get16(msg);
	q->opcode = OPCODE(flags);
	q->rd = flags & F_RD;
	q->ad = flags & F_AD;
	q->cd = flags & F_CD;
	qd = get16(msg + 4);
	for (int i = 0; i < 3; i++)
		count[i] = get16(msg + 6 + 2 * i);

	/* the first question is read whatever else is wrong, so the error can echo it */
	if (qd && !question_read(msg, len, &off, &q->q))
		q->no_question = false;
	if (q->opcode != 0)
		return DNS_RCODE_NOTIMP;
	if (q->no_question || qd != 1 || count[SEC_ANSWER] || count[SEC_AUTHORITY])
		return DNS_RCODE_FORMERR;
	if (sections_check(msg, len, off, count, &e))
		return DNS_RCODE_FORMERR;
	if (e.count) {
		q->has_edns = true;
		q->edns_udp_size = e.udp_size;
		q->edns_version = e.version;
		q->edns_do = e.do_bit;
		/* BADVERS would be the precise answer; the caller may send it (see dns.h) */
		if (e.version != 0)
			return DNS_RCODE_FORMERR;
	}
	return 0;
}

size_t dns_udp_limit(const struct dns_query *q)
{
	/* RFC 6891 §6.2.5: offers below 512 mean 512 */
	if (!q->has_edns || q->edns_udp_size <= DNS_MAX_UDP)
		return DNS_MAX_UDP;
	return q->edns_udp_size < DNS_EDNS_CAP ? q->edns_udp_size : DNS_EDNS_CAP;
}

int dns_parse_response(const uint8_t *msg, size_t len, uint16_t *id, int *rcode, bool *tc,
		       struct dns_question *q)
{
	struct dns_question tmp = { 0 };
	struct edns_info e = { 0 };
	uint16_t flags, qd, count[3];
	size_t off = DNS_HDR_LEN;

	if (len < DNS_HDR_LEN)
		return -1;
	flags = get16(msg + 2);
	qd = get16(msg + 4);
	if (!(flags & F_QR) || qd > 1)
		return -1;
	for (int i = 0; i < 3; i++)
		count[i] = get16(msg + 6 + 2 * i);
	if (qd && question_read(msg, len, &off, &tmp))
		return -1;
	if (sections_check(msg, len, off, count, &e))
		return -1;
	if (id)
		*id = get16(msg);
	if (rcode)
		*rcode = (int)(flags & 0xf) | (e.count ? e.ext_rcode << 4 : 0);
	if (tc)
		*tc = flags & F_TC;
	if (q)
		memcpy(q, &tmp, sizeof(tmp));
	return 0;
}

/* ---- building ---- */

/*
 * Where names already written start, for compression: each entry is one
 * label position in @buf and the uncompressed length of the name from there.
 */
#define CTAB_SIZE 256

struct ctab {
	unsigned int n;
	struct {
		uint16_t off;
		uint16_t wlen;
	} e[CTAB_SIZE];
};

static void ctab_add(struct ctab *ct, size_t off, size_t wlen)
{
	/* a full table only costs compression, never correctness */
	if (ct->n >= CTAB_SIZE || off > DNS_MAX_OFFSET)
		return;
	ct->e[ct->n].off = (uint16_t)off;
	ct->e[ct->n].wlen = (uint16_t)wlen;
	ct->n++;
}

/* Does the name at @off of our own output spell @wire exactly? */
static bool ctab_match(const uint8_t *buf, size_t off, const uint8_t *wire)
{
	/* our output holds only backward pointers, but stay bounded regardless */
	for (unsigned int steps = 0; steps <= DNS_MAX_NAME; steps++) {
		uint8_t c = buf[off];

		if ((c & DNS_PTR_MASK) == DNS_PTR_MASK) {
			off = (size_t)(c & ~DNS_PTR_MASK) << 8 | buf[off + 1];
			continue;
		}
		if (c != *wire || memcmp(buf + off + 1, wire + 1, c))
			return false;
		if (!c)
			return true;
		off += 1 + (size_t)c;
		wire += 1 + (size_t)c;
	}
	return false;
}

/* Where the name @wire (of @wlen bytes) already is in @buf, or -1. */
static int ctab_find(const struct ctab *ct, const uint8_t *buf, const uint8_t *wire, size_t wlen)
{
	for (unsigned int k = 0; k < ct->n; k++)
		if (ct->e[k].wlen == wlen && ctab_match(buf, ct->e[k].off, wire))
			return ct->e[k].off;
	return -1;
}

/* Write @wire at *pos, ending in a pointer to the longest suffix already in @buf. */
static int name_put(uint8_t *buf, size_t max, size_t *pos, const uint8_t *wire, size_t wlen,
		    struct ctab *ct)
{
	size_t head = wlen - 1, need;
	int ptr = -1;

	for (size_t i = 0; wire[i]; i += wire[i] + 1u) {
		ptr = ctab_find(ct, buf, wire + i, wlen - i);
		if (ptr >= 0) {
			head = i;
			break;
		}
	}
	need = head + (ptr >= 0 ? 2 : 1);
	if (need > max - *pos)
		return -ENOSPC;
	for (size_t j = 0; j < head; j += wire[j] + 1u)
		ctab_add(ct, *pos + j, wlen - j);
	memcpy(buf + *pos, wire, head);
	*pos += head;
	if (ptr >= 0) {
		put16(buf + *pos, (uint16_t)(DNS_PTR_MASK << 8 | ptr));
		*pos += 2;
	} else {
		buf[(*pos)++] = 0;
	}
	return 0;
}

static int rr_put(uint8_t *buf, size_t max, size_t *pos, const struct dns_rr *rr, bool root_owner,
		  struct ctab *ct)
{
	size_t owner = root_owner ? 1 : 2, rdlen_at;
	uint8_t wire[DNS_MAX_NAME];
	int n, err;

	if (max - *pos < owner + DNS_RR_FIXED)
		return -ENOSPC;
	/* the owner is the question, which always starts right after the header */
	if (root_owner)
		buf[*pos] = 0;
	else
		put16(buf + *pos, DNS_PTR_MASK << 8 | DNS_HDR_LEN);
	*pos += owner;
	put16(buf + *pos, rr->type);
	put16(buf + *pos + 2, DNS_CLASS_IN);
	put32(buf + *pos + 4, rr->ttl);
	rdlen_at = *pos + 8;
	*pos += DNS_RR_FIXED;
	if (rr->type == DNS_TYPE_A) {
		if (max - *pos < 4)
			return -ENOSPC;
		put32(buf + *pos, rr->a);
		*pos += 4;
	} else {
		n = dns_name_to_wire(rr->ptr, wire, sizeof(wire));
		if (n < 0)
			return -EINVAL;
		err = name_put(buf, max, pos, wire, (size_t)n, ct);
		if (err)
			return err;
	}
	put16(buf + rdlen_at, (uint16_t)(*pos - rdlen_at - 2));
	return 0;
}

int dns_build_response(uint8_t *buf, size_t cap, size_t limit, const struct dns_query *q, int rcode,
		       bool aa, bool ra, const struct dns_rr *rrs, size_t n_rrs)
{
	size_t max = cap < limit ? cap : limit, opt_len = q->has_edns ? DNS_OPT_LEN : 0;
	size_t pos = DNS_HDR_LEN, qlen = 0, ancount = 0, answers_start;
	uint8_t qwire[DNS_MAX_NAME], wire[DNS_MAX_NAME];
	struct ctab ct;
	uint16_t flags;
	int n, err;

	if (rcode < 0 || rcode > 0xfff || (rcode > 0xf && !q->has_edns))
		return -EINVAL;
	if (n_rrs && q->no_question)
		return -EINVAL; /* an answer needs an owner */
	/* check every record first, so a bad one is not hidden by truncation */
	for (size_t i = 0; i < n_rrs; i++) {
		if (rrs[i].type == DNS_TYPE_A)
			continue;
		if (rrs[i].type != DNS_TYPE_PTR || !rrs[i].ptr ||
		    dns_name_to_wire(rrs[i].ptr, wire, sizeof(wire)) < 0)
			return -EINVAL;
	}
	if (!q->no_question) {
		n = dns_name_to_wire(q->q.name, qwire, sizeof(qwire));
		if (n < 0)
			return -EINVAL;
		qlen = (size_t)n;
	}
	if (max > UINT16_MAX)
		max = UINT16_MAX;
	if (max < DNS_HDR_LEN + (qlen ? qlen + 4 : 0) + opt_len)
		return -ENOSPC;

	ct.n = 0;
	if (qlen) {
		memcpy(buf + pos, qwire, qlen);
		for (size_t j = 0; qwire[j]; j += qwire[j] + 1u)
			ctab_add(&ct, pos + j, qlen - j);
		pos += qlen;
		put16(buf + pos, q->q.qtype);
		put16(buf + pos + 2, q->q.qclass);
		pos += 4;
	}
	answers_start = pos;
	flags = F_QR | (uint16_t)((q->opcode & 0xf) << 11) | (aa ? F_AA : 0) | (q->rd ? F_RD : 0) |
		(ra ? F_RA : 0) | (q->cd ? F_CD : 0) | (rcode & 0xf);
	for (size_t i = 0; i < n_rrs; i++) {
		err = rr_put(buf, max - opt_len, &pos, &rrs[i], qlen == 1, &ct);
		if (err == -ENOSPC) {
			/* all or nothing: the client retries over TCP for the rest */
			pos = answers_start;
			ancount = 0;
			flags |= F_TC;
			break;
		}
		if (err)
			return err;
		ancount++;
	}
	if (q->has_edns) {
		buf[pos] = 0;
		put16(buf + pos + 1, DNS_TYPE_OPT);
		put16(buf + pos + 3, DNS_EDNS_CAP);
		/* extended rcode, version 0, DO copied from the query (RFC 3225 §3) */
		put32(buf + pos + 5, (uint32_t)(rcode >> 4) << 24 | (q->edns_do ? EDNS_DO : 0));
		put16(buf + pos + 9, 0);
		pos += DNS_OPT_LEN;
	}
	put16(buf, q->id);
	put16(buf + 2, flags);
	put16(buf + 4, qlen ? 1 : 0);
	put16(buf + 6, (uint16_t)ancount);
	put16(buf + 8, 0);
	put16(buf + 10, q->has_edns ? 1 : 0);
	return (int)pos;
}
