/* SPDX-License-Identifier: GPL-2.0-only */
/* A pinned BPF object by its directory and name: the one way berth opens pins. */
#ifndef BERTH_PIN_H
#define BERTH_PIN_H

#include <bpf/bpf.h>
#include <errno.h>
#include <stdio.h>

/* A new fd for @dir/@name, or -errno (-ENOENT: not pinned). */
static inline int pin_get(const char *dir, const char *name)
{
	char path[600];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = bpf_obj_get(path);
	return fd < 0 ? -errno : fd;
}

#endif
