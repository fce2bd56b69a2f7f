/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Upgrading an instance's datapath in place. The pins of an instance made by
 * another berth build (dp_status() says DP_OTHER) keep running that build's
 * programs; `berth up` of this build replaces them before it applies the
 * file, with no packet left without a program and no flow forgotten:
 *
 *   1. load this build's objects: maps reused by pin name (same layouts),
 *      new ones created (berth_ep_v2 ...), programs pinned as prog_*_new;
 *   2. copy the entries of old-layout maps into their new versions
 *      (berth_ep_v1 → berth_ep_v2, berth_ip_v1 → berth_ip_v2) and fill new
 *      maps the state describes (berth_subnet_v1);
 *   3. rename prog_*_new over prog_* (bpffs renames atomically);
 *   4. replace berth's tc filter (BPF_TC_F_REPLACE) on every host-side veth,
 *      on lo in every endpoint namespace and on the uplink;
 *   5. unpin the maps this build no longer has, record the fingerprint, and
 *      restart the agent so that this build's serves the instance.
 *
 * Until step 5 nothing records the new build: a failure or a crash leaves
 * the instance working (old or new programs, each on consistent maps) and
 * the next `up` does it all again. docs/maps.md#upgrades has the details.
 */
#ifndef BERTH_UPGRADE_H
#define BERTH_UPGRADE_H

#include <stdbool.h>

struct instance;
struct dp_sizes;

/*
 * Bring the datapath of @in (locked, its host namespace entered) to this
 * build's. 0 when there is nothing to do (no datapath yet, or this build's)
 * or when it is done; -errno with the reason printed. Maps the load creates
 * take @sizes (NULL or 0: the defaults). Says what it did unless @quiet.
 */
int dp_upgrade(struct instance *in, const struct dp_sizes *sizes, bool verbose, bool quiet);

#endif
