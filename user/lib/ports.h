/* SPDX-License-Identifier: GPL-2.0-only */
/* compose `ports:` and `expose:` items. */
#ifndef BERTH_PORTS_H
#define BERTH_PORTS_H

#include <stdint.h>

#include "spec.h"

/*
 * Each returns NULL on success, or an allocated message saying what is wrong
 * (the caller adds the position and frees it).
 */
char *port_parse_range(const char *s, uint16_t *lo, uint16_t *hi);
char *port_parse_proto(const char *s, enum port_proto *proto);
/* `[[IP:][HOST[-HOST]]:]TARGET[-TARGET][/PROTO]` */
char *port_parse_short(const char *s, struct port_spec *p);
/* `PORT[-PORT][/PROTO]` */
char *port_parse_expose(const char *s, struct port_spec *p);
/* Range-length rules shared by the short and long syntax. */
char *port_check_lengths(struct port_spec *p);

#endif
