/* SPDX-License-Identifier: GPL-2.0-only */
/* compose variable interpolation: $VAR, ${VAR}, ${VAR:-x}, ${VAR-x}, ${VAR:?e}, ${VAR?e}, ${VAR:+x}, ${VAR+x}, $$ */
#ifndef BERTH_INTERP_H
#define BERTH_INTERP_H

#include <stddef.h>

struct interp_env {
	const char *const *env;	/* KEY=VALUE, NULL-terminated; wins over dotenv */
	char **dotenv;		/* KEY=VALUE from the .env file, NULL-terminated */
};

/*
 * Expand @in. Returns 0 with *out allocated; or -EINVAL with *err allocated
 * (bad syntax, or a ${VAR:?message} whose variable is unset). Each unset
 * variable used without a default is appended to *missing (NULL-terminated,
 * allocated names) so the caller can warn.
 */
int interp_expand(const char *in, const struct interp_env *env, char **out, char **err,
		  char ***missing);

/*
 * Parse a .env file: KEY=VALUE lines, `export ` prefix, # comments, single
 * quotes literal, double quotes with \n \t \\ \" escapes. Returns a
 * NULL-terminated KEY=VALUE list; a line that is not an assignment is
 * reported in *bad_line (1-based) and skipped.
 */
char **dotenv_parse(const char *text, int *bad_line);

const char *interp_lookup(const struct interp_env *env, const char *name, size_t n);

#endif
