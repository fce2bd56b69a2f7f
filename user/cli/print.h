/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * One print call per field for both outputs (iproute2's print_*(PRINT_ANY)):
 * in JSON mode the calls build a json-c tree printed at pr_end(); in text
 * mode they print indented YAML as they come.
 */
#ifndef BERTH_PRINT_H
#define BERTH_PRINT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define PR_MAX_DEPTH 16

struct printer {
	bool json;
	FILE *out;
	int depth;
	struct json_object *stack[PR_MAX_DEPTH];
	bool dash[PR_MAX_DEPTH];	/* text: the next field opens a list item */
	bool in_array[PR_MAX_DEPTH];
	const char *pending[PR_MAX_DEPTH];	/* text: a list key not printed yet */
};

void pr_init(struct printer *p, bool json, FILE *out);
/* Prints the JSON document (JSON mode); nothing in text mode. */
void pr_end(struct printer *p);

/* @key is NULL inside arrays. */
void pr_obj_open(struct printer *p, const char *key);
void pr_obj_close(struct printer *p);
void pr_arr_open(struct printer *p, const char *key);
void pr_arr_close(struct printer *p);
/* A NULL @val prints JSON null; text mode leaves the field out. */
void pr_str(struct printer *p, const char *key, const char *val);
void pr_int(struct printer *p, const char *key, int64_t val);
void pr_bool(struct printer *p, const char *key, bool val);

/* An error as {"error": "..."} in JSON mode, "berth: ..." on stderr otherwise. */
void pr_error(bool json, const char *msg);

#endif
