/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Policy revisions in berth_policy_v1. The entries of every project of an
 * instance (user/lib/policy_compile.h) are written under one revision; the
 * programs read only the revision berth_cfg_v1.policy_rev names, so a new set
 * is written beside the old one, switched to with one cfg write, and only
 * then is the old one deleted: no packet ever sees half of a set.
 */
#ifndef BERTH_POLICY_H
#define BERTH_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dp.h"
#include "policy_compile.h"

struct json_object;

/*
 * The number for a new revision: above @state_rev, the active one in
 * berth_cfg_v1 and every revision the map holds, so that no flow stamped
 * with a revision that was written once ever meets another set under it.
 */
uint32_t policy_rev_next(const struct dp *dp, uint32_t state_rev);
/* Write @n entries under revision @rev, after deleting what it held. */
int policy_rev_write(const struct dp *dp, uint32_t rev, const struct policy_entry *e, size_t n);
/* Delete every entry of revision @rev (@keep false) or of every revision but @rev (@keep true). */
int policy_rev_delete(const struct dp *dp, uint32_t rev, bool keep);

/* Entries as state.json keeps them: [{"from": F, "to": T, "proto": P, "ports": ["LO-HI"]}]. */
struct json_object *policy_to_json(const struct policy_entry *e, size_t n);
/* Appends the entries of @arr (NULL is empty) to *@e; entries it cannot read are skipped. */
void policy_from_json(struct json_object *arr, struct policy_entry **e, size_t *n);

#endif
