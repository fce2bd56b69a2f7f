// SPDX-License-Identifier: GPL-2.0-only
#include "interp.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* Nesting such as ${A:-${B:-${C}}} is bounded so hostile input cannot recurse deeply. */
#define INTERP_MAX_DEPTH 16

struct sbuf {
	char *s;
	size_t n, cap;
};

static void sb_add(struct sbuf *b, const char *s, size_t n)
{
	if (b->n + n + 1 > b->cap) {
		b->cap = (b->n + n + 1) * 2;
		b->s = xrealloc(b->s, b->cap);
	}
	memcpy(b->s + b->n, s, n);
	b->n += n;
	b->s[b->n] = '\0';
}

static const char *lookup_in(const char *const *v, const char *name, size_t n)
{
	for (; v && *v; v++)
		if (!strncmp(*v, name, n) && (*v)[n] == '=')
			return *v + n + 1;
	return NULL;
}

const char *interp_lookup(const struct interp_env *env, const char *name, size_t n)
{
	const char *v = lookup_in(env->env, name, n);

	return v ? v : lookup_in((const char *const *)env->dotenv, name, n);
}

static bool name_start(char c)
{
	return isalpha((unsigned char)c) || c == '_';
}

static bool name_char(char c)
{
	return isalnum((unsigned char)c) || c == '_';
}

static void add_missing(char ***missing, const char *name, size_t n)
{
	size_t len = strv_len(*missing);

	for (size_t i = 0; i < len; i++)
		if (strlen((*missing)[i]) == n && !strncmp((*missing)[i], name, n))
			return;
	*missing = xrealloc(*missing, (len + 2) * sizeof(char *));
	(*missing)[len] = xstrndup(name, n);
	(*missing)[len + 1] = NULL;
}

static int expand(const char *in, size_t len, const struct interp_env *env, struct sbuf *out,
		  char **err, char ***missing, int depth);

/* ${...}: @p points after "${"; returns the length consumed including "}" or -EINVAL. */
static int expand_braced(const char *p, size_t len, const struct interp_env *env, struct sbuf *out,
			 char **err, char ***missing, int depth)
{
	size_t i = 0, nlen, close, nest = 1;
	const char *val, *word;
	char op[3] = "";
	bool set, nonempty;

	if (!len || !name_start(p[0])) {
		*err = xstrdup("invalid interpolation: expected a variable name after \"${\"");
		return -EINVAL;
	}
	while (i < len && name_char(p[i]))
		i++;
	nlen = i;
	if (i < len && p[i] == ':' && i + 1 < len && strchr("-?+", p[i + 1])) {
		op[0] = ':';
		op[1] = p[i + 1];
		i += 2;
	} else if (i < len && strchr("-?+", p[i])) {
		op[0] = p[i];
		i += 1;
	} else if (i >= len) {
		*err = xstrdup("invalid interpolation: missing \"}\"");
		return -EINVAL;
	} else if (p[i] != '}') {
		*err = xasprintf("invalid interpolation \"${%.*s\": unexpected character after the variable name",
				 (int)(i < len ? i + 1 : i), p);
		return -EINVAL;
	}
	/* find the matching brace, allowing nested ${...} in the word */
	for (close = i; close < len; close++) {
		if (p[close] == '$' && close + 1 < len && p[close + 1] == '{') {
			nest++;
			close++;
		} else if (p[close] == '}' && --nest == 0) {
			break;
		}
	}
	if (close >= len) {
		*err = xstrdup("invalid interpolation: missing \"}\"");
		return -EINVAL;
	}
	word = p + i;
	val = interp_lookup(env, p, nlen);
	set = val != NULL;
	nonempty = set && *val;
	if (!op[0] || (op[0] == ':' ? nonempty : set)) {
		if (op[0] == '+' || (op[0] == ':' && op[1] == '+')) {
			if (expand(word, close - i, env, out, err, missing, depth + 1))
				return -EINVAL;
		} else if (set) {
			sb_add(out, val, strlen(val));
		} else {
			add_missing(missing, p, nlen);
		}
		return (int)close + 1;
	}
	switch (op[0] == ':' ? op[1] : op[0]) {
	case '-':
		if (expand(word, close - i, env, out, err, missing, depth + 1))
			return -EINVAL;
		break;
	case '?':
		*err = xasprintf("required variable %.*s is missing a value%s%.*s", (int)nlen, p,
				 close > i ? ": " : "", (int)(close - i), word);
		return -EINVAL;
	default: /* '+' with the variable unset: empty */
		break;
	}
	return (int)close + 1;
}

static int expand(const char *in, size_t len, const struct interp_env *env, struct sbuf *out,
		  char **err, char ***missing, int depth)
{
	size_t i = 0;

	if (depth > INTERP_MAX_DEPTH) {
		*err = xstrdup("interpolation nested too deeply");
		return -EINVAL;
	}
	sb_add(out, "", 0);
	while (i < len) {
		const char *dollar = memchr(in + i, '$', len - i);
		size_t j;
		int used;

		if (!dollar) {
			sb_add(out, in + i, len - i);
			break;
		}
		sb_add(out, in + i, (size_t)(dollar - (in + i)));
		i = (size_t)(dollar - in) + 1;
		if (i < len && in[i] == '$') {
			sb_add(out, "$", 1);
			i++;
		} else if (i < len && in[i] == '{') {
			used = expand_braced(in + i + 1, len - i - 1, env, out, err, missing, depth);
			if (used < 0)
				return -EINVAL;
			i += 1 + (size_t)used;
		} else if (i < len && name_start(in[i])) {
			const char *val;

			for (j = i; j < len && name_char(in[j]); j++)
				;
			val = interp_lookup(env, in + i, j - i);
			if (val)
				sb_add(out, val, strlen(val));
			else
				add_missing(missing, in + i, j - i);
			i = j;
		} else {
			*err = xstrdup("invalid interpolation: \"$\" must be followed by a name, \"{\" or "
				       "another \"$\" (write \"$$\" for a literal \"$\")");
			return -EINVAL;
		}
	}
	return 0;
}

int interp_expand(const char *in, const struct interp_env *env, char **out, char **err,
		  char ***missing)
{
	struct sbuf b = { 0 };

	*err = NULL;
	if (expand(in, strlen(in), env, &b, err, missing, 0)) {
		free(b.s);
		*out = NULL;
		return -EINVAL;
	}
	*out = b.s ? b.s : xstrdup("");
	return 0;
}

static char *dotenv_value(const char *v, const char *end)
{
	struct sbuf b = { 0 };

	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	if (v < end && (*v == '\'' || *v == '"')) {
		char q = *v++;

		while (v < end && *v != q) {
			if (q == '"' && *v == '\\' && v + 1 < end) {
				char c = v[1];

				c = c == 'n' ? '\n' : c == 't' ? '\t' : c;
				sb_add(&b, &c, 1);
				v += 2;
				continue;
			}
			sb_add(&b, v++, 1);
		}
	} else {
		const char *e = v;

		/* an unquoted value ends at " #" */
		while (e < end && !(*e == '#' && e > v && (e[-1] == ' ' || e[-1] == '\t')))
			e++;
		while (e > v && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
			e--;
		sb_add(&b, v, (size_t)(e - v));
	}
	sb_add(&b, "", 0);
	return b.s;
}

char **dotenv_parse(const char *text, int *bad_line)
{
	char **kv = xcalloc(1, sizeof(char *));
	size_t n = 0;
	int line = 0;

	*bad_line = 0;
	while (text && *text) {
		const char *end = strchr(text, '\n'), *p = text, *eq, *k;
		char *val;

		if (!end)
			end = text + strlen(text);
		line++;
		while (p < end && isspace((unsigned char)*p))
			p++;
		if (p < end && *p != '#') {
			if (end - p > 7 && !strncmp(p, "export ", 7))
				p += 7;
			k = p;
			while (p < end && name_char(*p))
				p++;
			eq = p;
			while (eq < end && (*eq == ' ' || *eq == '\t'))
				eq++;
			if (p == k || !name_start(*k) || eq >= end || *eq != '=') {
				if (!*bad_line)
					*bad_line = line;
			} else {
				val = dotenv_value(eq + 1, end);
				kv = xrealloc(kv, (n + 2) * sizeof(char *));
				kv[n++] = xasprintf("%.*s=%s", (int)(p - k), k, val);
				kv[n] = NULL;
				free(val);
			}
		}
		text = *end ? end + 1 : end;
	}
	return kv;
}
