// SPDX-License-Identifier: GPL-2.0-only
/* Facts about the host namespace that the pure spec code takes as input. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "util.h"

int host_routed_subnets(struct ipv4_prefix **out, size_t *n)
{
	FILE *f = fopen("/proc/net/route", "re");
	char line[256];

	*out = NULL;
	*n = 0;
	if (!f)
		return -errno;
	/* Iface Destination Gateway Flags RefCnt Use Metric Mask ...; hex, network order */
	while (fgets(line, sizeof(line), f)) {
		unsigned dst, mask;
		char ifname[32];

		if (sscanf(line, "%31s %x %*x %*x %*d %*d %*d %x", ifname, &dst, &mask) != 3)
			continue;
		dst = __builtin_bswap32(dst);
		mask = __builtin_bswap32(mask);
		struct ipv4_prefix *p = VEC_PUSH(*out, *n);

		p->addr = dst & mask;
		p->len = (uint8_t)__builtin_popcount(mask);
	}
	fclose(f);
	return 0;
}
