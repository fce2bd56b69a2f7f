// SPDX-License-Identifier: GPL-2.0-only
#include "ipv4.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool ipv4_parse(const char *s, uint32_t *out)
{
	uint32_t a = 0;

	for (int part = 0; part < 4; part++) {
		unsigned v = 0;
		int digits = 0;

		if (part && *s++ != '.')
			return false;
		if (s[0] == '0' && s[1] >= '0' && s[1] <= '9')
			return false;	/* "010" is octal to inet_aton: refuse it */
		while (*s >= '0' && *s <= '9' && digits < 4) {
			v = v * 10 + (unsigned)(*s++ - '0');
			digits++;
		}
		if (!digits || v > 255)
			return false;
		a = a << 8 | v;
	}
	if (*s)
		return false;
	*out = a;
	return true;
}

int ipv4_prefix_parse(const char *s, struct ipv4_prefix *out)
{
	const char *slash = strchr(s, '/');
	char addr[16];
	char *end;
	long len;
	uint32_t a;

	if (!slash || (size_t)(slash - s) >= sizeof(addr))
		return -EINVAL;
	memcpy(addr, s, (size_t)(slash - s));
	addr[slash - s] = '\0';
	if (!ipv4_parse(addr, &a) || !slash[1] || slash[1] == '+' || slash[1] == '-')
		return -EINVAL;
	errno = 0;
	len = strtol(slash + 1, &end, 10);
	if (errno || *end || len < 0 || len > 32)
		return -EINVAL;
	out->addr = a & ipv4_mask((uint8_t)len);
	out->len = (uint8_t)len;
	return out->addr == a ? 0 : -EDOM;
}

const char *ipv4_str(uint32_t a, char *buf)
{
	snprintf(buf, 16, "%u.%u.%u.%u", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255);
	return buf;
}

const char *ipv4_prefix_str(struct ipv4_prefix p, char *buf)
{
	char a[16];

	snprintf(buf, 20, "%s/%u", ipv4_str(p.addr, a), p.len & 63u);
	return buf;
}
