// SPDX-License-Identifier: GPL-2.0-only
#include "policy.h"

#include <bpf/bpf.h>
#include <errno.h>
#include <json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonx.h"
#include "util.h"

uint32_t policy_rev_next(const struct dp *dp, uint32_t state_rev)
{
	struct berth_policy_key cur, next;
	uint32_t max = state_rev;
	struct berth_cfg cfg;
	bool first = true;

	/* a revision that a failed up or a lost state save left behind is never reused */
	if (!dp_cfg_get(dp, &cfg) && cfg.policy_rev > max)
		max = cfg.policy_rev;
	while (!bpf_map_get_next_key(dp->policy_fd, first ? NULL : &cur, &next)) {
		if (next.rev > max)
			max = next.rev;
		cur = next;
		first = false;
	}
	return max + 1;
}

int policy_rev_write(const struct dp *dp, uint32_t rev, const struct policy_entry *e, size_t n)
{
	int err;

	/* the revision starts empty, whatever an earlier attempt left under its number */
	err = policy_rev_delete(dp, rev, /* keep */ false);
	if (err)
		return err;
	for (size_t i = 0; i < n; i++) {
		struct berth_policy_key k = { .rev = rev, .from_id = e[i].from_id,
					      .to_id = e[i].to_id, .proto = e[i].proto };
		struct berth_policy v = { .n = e[i].n };

		if (e[i].n > BERTH_POLICY_RANGES)
			return -E2BIG;
		for (uint32_t j = 0; j < e[i].n; j++) {
			v.r[j].lo = e[i].r[j].lo;
			v.r[j].hi = e[i].r[j].hi;
		}
		if (bpf_map_update_elem(dp->policy_fd, &k, &v, BPF_ANY))
			return -errno;
	}
	return 0;
}

int policy_rev_delete(const struct dp *dp, uint32_t rev, bool keep)
{
	struct berth_policy_key *keys = NULL, cur, next;
	bool first = true;
	size_t n = 0;
	int err = 0;

	/* collect first: deleting while walking a hash map can restart the walk */
	while (!bpf_map_get_next_key(dp->policy_fd, first ? NULL : &cur, &next)) {
		if ((next.rev == rev) != keep)
			*VEC_PUSH(keys, n) = next;
		cur = next;
		first = false;
	}
	if (errno != ENOENT)
		err = -errno;
	for (size_t i = 0; i < n; i++)
		if (bpf_map_delete_elem(dp->policy_fd, &keys[i]) && errno != ENOENT && !err)
			err = -errno;
	free(keys);
	return err;
}

static const char *proto_name(uint8_t p)
{
	return p == 1 ? "icmp" : p == 6 ? "tcp" : p == 17 ? "udp" : "marker";
}

struct json_object *policy_to_json(const struct policy_entry *e, size_t n)
{
	struct json_object *arr = json_object_new_array();

	for (size_t i = 0; i < n; i++) {
		struct json_object *o = json_object_new_object(), *ports;

		json_object_object_add(o, "from", json_object_new_int64(e[i].from_id));
		json_object_object_add(o, "to", json_object_new_int64(e[i].to_id));
		json_object_object_add(o, "proto", json_object_new_string(proto_name(e[i].proto)));
		ports = json_object_new_array();
		for (uint32_t j = 0; j < e[i].n; j++) {
			char r[16];

			snprintf(r, sizeof(r), "%u-%u", e[i].r[j].lo, e[i].r[j].hi);
			json_object_array_add(ports, json_object_new_string(r));
		}
		json_object_object_add(o, "ports", ports);
		json_object_array_add(arr, o);
	}
	return arr;
}

void policy_from_json(struct json_object *arr, struct policy_entry **e, size_t *n)
{
	for (size_t i = 0; i < jlen(arr); i++) {
		struct json_object *o = json_object_array_get_idx(arr, i);
		struct json_object *ports = jarr_get(o, "ports");
		const char *p = jstr(o, "proto");
		struct policy_entry x = { .from_id = (uint32_t)jint(o, "from"),
					  .to_id = (uint32_t)jint(o, "to") };

		if (!p || !x.to_id || jlen(ports) > BERTH_POLICY_RANGES)
			continue;
		x.proto = !strcmp(p, "icmp") ? 1 : !strcmp(p, "tcp") ? 6 : !strcmp(p, "udp") ? 17 : 0;
		for (size_t j = 0; j < jlen(ports); j++) {
			const char *r = json_object_get_string(json_object_array_get_idx(ports, j));
			unsigned lo, hi;

			if (!r || sscanf(r, "%u-%u", &lo, &hi) != 2 || lo > hi || hi > 65535)
				continue;
			x.r[x.n].lo = (uint16_t)lo;
			x.r[x.n].hi = (uint16_t)hi;
			x.n++;
		}
		*VEC_PUSH(*e, *n) = x;
	}
}
