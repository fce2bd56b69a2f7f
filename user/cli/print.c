// SPDX-License-Identifier: GPL-2.0-only
#include "print.h"

#include <ctype.h>
#include <inttypes.h>
#include <json.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void pr_init(struct printer *p, bool json, FILE *out)
{
	memset(p, 0, sizeof(*p));
	p->json = json;
	p->out = out;
}

void pr_end(struct printer *p)
{
	if (p->json && p->stack[0]) {
		fprintf(p->out, "%s\n",
			json_object_to_json_string_ext(p->stack[0], JSON_C_TO_STRING_PRETTY |
									   JSON_C_TO_STRING_SPACED |
									   JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(p->stack[0]);
		p->stack[0] = NULL;
	}
}

/* JSON: attach @o under @key (or append) to the open container. */
static void json_add(struct printer *p, const char *key, struct json_object *o)
{
	struct json_object *top = p->depth ? p->stack[p->depth - 1] : NULL;

	if (!top) {
		p->stack[0] = o;
		return;
	}
	if (json_object_is_type(top, json_type_array))
		json_object_array_add(top, o);
	else
		json_object_object_add(top, key, o);
}

static void indent(struct printer *p, int n)
{
	for (int i = 0; i < n; i++)
		fputc(' ', p->out);
}

/*
 * Text: a field of the container at depth d sits at 2*(d-1) columns; the
 * first field of an object inside a list takes the list's "- " instead.
 */
static void text_lead(struct printer *p)
{
	int d = p->depth;

	if (d >= 1 && p->dash[d - 1]) {
		indent(p, 2 * (d - 2));
		fputs("- ", p->out);
		p->dash[d - 1] = false;
	} else {
		indent(p, 2 * (d - 1));
	}
}

static bool needs_quotes(const char *s)
{
	/* YAML 1.1 readers turn these into booleans or null */
	static const char *const words[] = { "true", "false", "yes", "no", "on", "off", "y", "n",
					     "null", "~" };
	char *end;

	if (!*s || strchr("-?:,[]{}#&*!|>'\"%@` .+=<", s[0]) || strstr(s, ": ") || strstr(s, " #") ||
	    s[strlen(s) - 1] == ' ' || s[strlen(s) - 1] == ':' || strpbrk(s, "\n\t\r"))
		return true;
	/* digits with '_' or '-' (1_000, 2024-01-01) are numbers or dates to YAML 1.1 */
	if (isdigit((unsigned char)s[0]) && strpbrk(s, "_-"))
		return true;
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (!strcasecmp(s, words[i]))
			return true;
	/* what YAML would read back as a number: 10, 1.5, 0x10, 1e3, 1:30 (sexagesimal) */
	strtod(s, &end);
	return !*end || strspn(s, "0123456789:") == strlen(s) || !strncasecmp(s, "0x", 2) ||
	       !strncasecmp(s, "0o", 2);
}

/* Text: a list's "key:" line waits for its first item, so that an empty one prints "key: []". */
static void text_flush_key(struct printer *p)
{
	int d = p->depth;

	if (d < 1 || !p->pending[d - 1])
		return;
	p->depth--;
	text_lead(p);
	fprintf(p->out, "%s:\n", p->pending[d - 1]);
	p->depth++;
	p->pending[d - 1] = NULL;
}

static void text_scalar(struct printer *p, const char *key, const char *val, bool quote)
{
	text_flush_key(p);
	if (p->depth && p->in_array[p->depth - 1]) {
		indent(p, 2 * (p->depth - 1));
		fputs("- ", p->out);
	} else {
		text_lead(p);
		fprintf(p->out, "%s: ", key);
	}
	if (quote && needs_quotes(val)) {
		fputc('"', p->out);
		for (const char *c = val; *c; c++) {
			if (*c == '\n')
				fputs("\\n", p->out);
			else if (*c == '\t')
				fputs("\\t", p->out);
			else if (*c == '\r')
				fputs("\\r", p->out);
			else
				fprintf(p->out, *c == '"' || *c == '\\' ? "\\%c" : "%c", *c);
		}
		fputc('"', p->out);
	} else {
		fputs(val, p->out);
	}
	fputc('\n', p->out);
}

static void open_container(struct printer *p, const char *key, bool array)
{
	bool in_array = p->depth && p->in_array[p->depth - 1];

	if (p->depth >= PR_MAX_DEPTH)
		return;
	if (p->json) {
		struct json_object *o = array ? json_object_new_array() : json_object_new_object();

		json_add(p, key, o);
		p->stack[p->depth] = o;
	} else {
		text_flush_key(p);
		if (!in_array && p->depth && !array) {
			text_lead(p);
			fprintf(p->out, "%s:\n", key);
		}
	}
	p->pending[p->depth] = !p->json && array && !in_array ? key : NULL;
	p->in_array[p->depth] = array;
	/* an object inside a list starts a "- " item */
	p->dash[p->depth] = in_array && !array;
	p->depth++;
}

static void close_container(struct printer *p)
{
	if (p->depth <= 0)
		return;
	if (!p->json && p->pending[p->depth - 1]) {
		const char *key = p->pending[p->depth - 1];

		p->pending[p->depth - 1] = NULL;
		p->depth--;
		text_lead(p);
		fprintf(p->out, "%s: []\n", key);
		return;
	}
	p->depth--;
}

void pr_obj_open(struct printer *p, const char *key)
{
	open_container(p, key, false);
}

void pr_obj_close(struct printer *p)
{
	close_container(p);
}

void pr_arr_open(struct printer *p, const char *key)
{
	open_container(p, key, true);
}

void pr_arr_close(struct printer *p)
{
	close_container(p);
}

void pr_str(struct printer *p, const char *key, const char *val)
{
	if (p->json)
		json_add(p, key, val ? json_object_new_string(val) : NULL);
	else if (val)
		text_scalar(p, key, val, true);
}

void pr_int(struct printer *p, const char *key, int64_t val)
{
	char buf[24];

	if (p->json) {
		json_add(p, key, json_object_new_int64(val));
		return;
	}
	snprintf(buf, sizeof(buf), "%" PRId64, val);
	text_scalar(p, key, buf, false);
}

void pr_bool(struct printer *p, const char *key, bool val)
{
	if (p->json)
		json_add(p, key, json_object_new_boolean(val));
	else
		text_scalar(p, key, val ? "true" : "false", false);
}

void pr_error(bool json, const char *msg)
{
	if (json) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "error", json_object_new_string(msg));
		printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
								       JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(o);
	}
	fprintf(stderr, "%s\n", msg);
}
