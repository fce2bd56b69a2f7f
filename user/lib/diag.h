/* SPDX-License-Identifier: GPL-2.0-only */
/* Diagnostics: errors and warnings with a file:line:column each. */
#ifndef BERTH_DIAG_H
#define BERTH_DIAG_H

#include <stdbool.h>
#include <stddef.h>

/* A position in the compose file, 1-based; line 0 means "no position". */
struct loc {
	int line;
	int col;
};

enum diag_level {
	DIAG_ERROR,
	DIAG_WARNING,
};

struct diag_msg {
	enum diag_level level;
	char *file;
	struct loc loc;
	char *text;
};

struct diag {
	struct diag_msg *msgs;
	size_t n;
	size_t n_errors;
	char *cur_file;
};

__attribute__((format(printf, 4, 5)))
void diag_add(struct diag *d, enum diag_level level, struct loc loc, const char *fmt, ...);
/* The file name recorded with each message added after this call. */
void diag_set_file(struct diag *d, const char *file);
/* "file:line:col: error: text", or "file: error: text" without a position. */
char *diag_format(const struct diag_msg *m);
/* The first message containing @needle, or NULL (for tests). */
const struct diag_msg *diag_find(const struct diag *d, const char *needle);
void diag_free(struct diag *d);

#endif
