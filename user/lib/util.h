/* SPDX-License-Identifier: GPL-2.0-only */
/* Small allocation and string helpers shared by user/lib. */
#ifndef BERTH_UTIL_H
#define BERTH_UTIL_H

#include <stdarg.h>
#include <stddef.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/*
 * Allocation failure in a short-lived CLI process has no useful recovery:
 * these abort with a message instead of threading ENOMEM through every parser.
 */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
__attribute__((format(printf, 1, 2))) char *xasprintf(const char *fmt, ...);
char *xvasprintf(const char *fmt, va_list ap);

/* Grow an array by one zeroed element; returns a pointer to it. */
#define VEC_PUSH(arr, n) \
	((arr) = xrealloc((arr), ((n) + 1) * sizeof(*(arr))), \
	 memset(&(arr)[(n)], 0, sizeof(*(arr))), &(arr)[(n)++])

/* Free a NULL-terminated array of strings. */
void strv_free(char **v);
size_t strv_len(char *const *v);

#endif
