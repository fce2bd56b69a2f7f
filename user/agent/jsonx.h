/* SPDX-License-Identifier: GPL-2.0-only */
/* Typed reads of state.json's objects (json-c), shared by the agent and the CLI. */
#ifndef BERTH_JSONX_H
#define BERTH_JSONX_H

#include <json.h>
#include <stddef.h>
#include <stdint.h>

/* The string at @k, or NULL when absent or not a string. */
static inline const char *jstr(struct json_object *o, const char *k)
{
	struct json_object *v;

	return json_object_object_get_ex(o, k, &v) && json_object_is_type(v, json_type_string)
		       ? json_object_get_string(v)
		       : NULL;
}

/* The integer at @k, or 0. */
static inline int64_t jint(struct json_object *o, const char *k)
{
	struct json_object *v;

	return json_object_object_get_ex(o, k, &v) ? json_object_get_int64(v) : 0;
}

/* The array at @k, or NULL. */
static inline struct json_object *jarr_get(struct json_object *o, const char *k)
{
	struct json_object *v;

	return json_object_object_get_ex(o, k, &v) && json_object_is_type(v, json_type_array) ? v
												 : NULL;
}

/* Length of an array that may be NULL. */
static inline size_t jlen(struct json_object *arr)
{
	return arr ? json_object_array_length(arr) : 0;
}

#endif
