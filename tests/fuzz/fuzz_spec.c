// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target over the whole spec loader: YAML, interpolation, the
 * model, validation and IPAM. The input's first line, when it starts with
 * "#env ", is used as the .env file so interpolation gets fuzzed too.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "spec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const env[] = { "HOME=/root", "PORT=8080", "EMPTY=", NULL };
	static const struct ipv4_prefix routed[] = { { 0, 0 }, { 0xac110000, 16 }, { 0x0a000000, 8 } };
	struct spec_opts o = { .env = env, .routed = routed, .n_routed = 3 };
	struct diag d = { 0 };
	char *buf, *dotenv = NULL;
	struct spec *s;

	buf = malloc(size + 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	if (size > 5 && !memcmp(buf, "#env ", 5)) {
		char *nl = strchr(buf, '\n');

		dotenv = strndup(buf + 5, nl ? (size_t)(nl - buf - 5) : size - 5);
		o.dotenv = dotenv;
	}
	o.default_project = "fuzz";
	s = spec_load_buffer(buf, size, "fuzz.yml", &o, &d);
	for (size_t i = 0; i < d.n; i++)
		free(diag_format(&d.msgs[i]));
	spec_free(s);
	diag_free(&d);
	free(dotenv);
	free(buf);
	return 0;
}
