// SPDX-License-Identifier: GPL-2.0-only
#include "diag.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

void diag_set_file(struct diag *d, const char *file)
{
	free(d->cur_file);
	d->cur_file = file ? xstrdup(file) : NULL;
}

void diag_add(struct diag *d, enum diag_level level, struct loc loc, const char *fmt, ...)
{
	struct diag_msg *m = VEC_PUSH(d->msgs, d->n);
	va_list ap;

	m->level = level;
	m->loc = loc;
	m->file = d->cur_file ? xstrdup(d->cur_file) : NULL;
	va_start(ap, fmt);
	m->text = xvasprintf(fmt, ap);
	va_end(ap);
	if (level == DIAG_ERROR)
		d->n_errors++;
}

char *diag_format(const struct diag_msg *m)
{
	const char *lvl = m->level == DIAG_ERROR ? "error" : "warning";
	const char *file = m->file ? m->file : "berth";

	if (m->loc.line > 0)
		return xasprintf("%s:%d:%d: %s: %s", file, m->loc.line, m->loc.col, lvl, m->text);
	return xasprintf("%s: %s: %s", file, lvl, m->text);
}

const struct diag_msg *diag_find(const struct diag *d, const char *needle)
{
	for (size_t i = 0; i < d->n; i++)
		if (strstr(d->msgs[i].text, needle))
			return &d->msgs[i];
	return NULL;
}

void diag_free(struct diag *d)
{
	for (size_t i = 0; i < d->n; i++) {
		free(d->msgs[i].file);
		free(d->msgs[i].text);
	}
	free(d->msgs);
	free(d->cur_file);
	memset(d, 0, sizeof(*d));
}
