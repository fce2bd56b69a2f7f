/* SPDX-License-Identifier: GPL-2.0-only */
/* Internal to the spec loader: shared by spec.c, validate.c and ipam.c. */
#ifndef BERTH_SPEC_INT_H
#define BERTH_SPEC_INT_H

#include <yaml.h>

#include "interp.h"
#include "spec.h"

/* Replicas of one service; each is a namespace, so keep it sane. */
#define BERTH_MAX_REPLICAS 1024

/* ld->visited: 1 once interpolated, INTERP_FAILED when that failed */
#define INTERP_FAILED 2

struct loader {
	yaml_document_t doc;
	struct diag *d;
	const struct spec_opts *opts;
	struct spec *s;
	struct interp_env env;
	/* nodes already interpolated, by index (aliases share nodes) */
	unsigned char *visited;
	bool nets_bad;		/* top-level networks unusable: don't blame services */
	bool replicas_set;
};

__attribute__((format(printf, 3, 4)))
void ld_err(struct loader *ld, const yaml_node_t *n, const char *fmt, ...);

bool spec_service_name_valid(const char *name);
char *spec_endpoint_name(const struct spec *s, const struct service *svc, int replica);

/* Default network, names, network indices (spec.c's model is complete after it). */
void spec_resolve(struct loader *ld);
/* Checks across objects. */
void spec_validate(struct loader *ld);
/* Subnets for networks without one, addresses for endpoints. */
void spec_ipam(struct loader *ld);

#endif
