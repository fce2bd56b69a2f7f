// SPDX-License-Identifier: GPL-2.0-only
#include "dp.h"

#include <bpf/bpf.h>
#include <arpa/inet.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dns.skel.h"
#include "endpoint.skel.h"
#include "sock.skel.h"
#include "uplink.skel.h"
#include "instance.h"
#include "netns.h"
#include "pin.h"
#include "sockhook.h"
#include "util.h"

/* The recorded fingerprint: a file of the instance's run directory. */
#define FINGERPRINT_FILE "datapath"

static bool dp_verbose;

/* The maps this build pins, and where dp_open puts their fds. */
static const struct {
	const char *name;
	size_t off;
} dp_maps[] = {
	{ "berth_net_v1", offsetof(struct dp, net_fd) },
	{ "berth_ep_v2", offsetof(struct dp, ep_fd) },
	{ "berth_fdb_v1", offsetof(struct dp, fdb_fd) },
	{ "berth_ip_v2", offsetof(struct dp, ip_fd) },
	{ "berth_cnt_v1", offsetof(struct dp, cnt_fd) },
	{ "berth_dns_v1", offsetof(struct dp, dns_fd) },
	{ "berth_cfg_v1", offsetof(struct dp, cfg_fd) },
	{ "berth_subnet_v1", offsetof(struct dp, subnet_fd) },
	{ "berth_ct_v1", offsetof(struct dp, ct_fd) },
	{ "berth_nat_v1", offsetof(struct dp, nat_fd) },
	{ "berth_policy_v1", offsetof(struct dp, policy_fd) },
	{ "berth_port_v1", offsetof(struct dp, port_fd) },
	{ "berth_skcfg_v1", offsetof(struct dp, skcfg_fd) },
	{ "berth_hostip_v1", offsetof(struct dp, hostip_fd) },
	{ "berth_skrev_v1", offsetof(struct dp, skrev_fd) },
	{ "berth_pbind_v1", offsetof(struct dp, pbind_fd) },
	{ "berth_frag_v1", offsetof(struct dp, frag_fd) },
};

/* Every fd of struct dp, for dp_close and the resets. */
static const size_t dp_fds[] = {
	offsetof(struct dp, prog_fd),	 offsetof(struct dp, dns_prog_fd),
	offsetof(struct dp, uplink_prog_fd), offsetof(struct dp, net_fd),
	offsetof(struct dp, ep_fd),	 offsetof(struct dp, fdb_fd),
	offsetof(struct dp, ip_fd),	 offsetof(struct dp, cnt_fd),
	offsetof(struct dp, dns_fd),	 offsetof(struct dp, cfg_fd),
	offsetof(struct dp, subnet_fd),	 offsetof(struct dp, ct_fd),
	offsetof(struct dp, nat_fd),	 offsetof(struct dp, policy_fd),
	offsetof(struct dp, ep_old_fd),	 offsetof(struct dp, ip_old_fd),
	offsetof(struct dp, port_fd),	 offsetof(struct dp, sock_prog_fd),
	offsetof(struct dp, skcfg_fd),	 offsetof(struct dp, hostip_fd),
	offsetof(struct dp, skrev_fd),	 offsetof(struct dp, pbind_fd),
	offsetof(struct dp, frag_fd),
};

#define DP_FD(dp, off) (*(int *)((char *)(dp) + (off)))

static void dp_reset(struct dp *dp)
{
	for (size_t i = 0; i < sizeof(dp_fds) / sizeof(dp_fds[0]); i++)
		DP_FD(dp, dp_fds[i]) = -1;
	dp->stale = false;
}

bool dp_map_known(const char *name)
{
	for (size_t i = 0; i < sizeof(dp_maps) / sizeof(dp_maps[0]); i++)
		if (!strcmp(dp_maps[i].name, name))
			return true;
	return false;
}

static int print_libbpf(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG || !dp_verbose)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

static bool pinned(const char *dir, const char *name)
{
	char path[600];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return !lstat(path, &st);
}

/* ---- the fingerprint of this build's objects ---- */

uint64_t dp_fingerprint(void)
{
	static uint64_t fp;
	const void *(*const objs[])(size_t *) = { berth_endpoint__elf_bytes, berth_dns__elf_bytes,
						  berth_uplink__elf_bytes, berth_sock__elf_bytes };

	if (fp)
		return fp;
	fp = 14695981039346656037ull;
	for (size_t i = 0; i < sizeof(objs) / sizeof(objs[0]); i++) {
		size_t n;
		const unsigned char *p = objs[i](&n);
		uint64_t len = n;

		/* each object's length first: the boundaries count too */
		for (size_t k = 0; k < sizeof(len); k++)
			fp = (fp ^ ((len >> (8 * k)) & 0xff)) * 1099511628211ull;
		for (size_t k = 0; k < n; k++)
			fp = (fp ^ p[k]) * 1099511628211ull;
	}
	return fp;
}

/* /run/berth/<instance>/datapath for /sys/fs/bpf/berth/<instance>; -EINVAL for other pin dirs. */
static int fingerprint_path(const char *pin_dir, char *buf, size_t size)
{
	size_t n = strlen(BERTH_PIN_DIR "/");
	const char *name = pin_dir + n;

	if (strncmp(pin_dir, BERTH_PIN_DIR "/", n) || !*name || strchr(name, '/'))
		return -EINVAL;
	snprintf(buf, size, BERTH_RUN_DIR "/%s/" FINGERPRINT_FILE, name);
	return 0;
}

int dp_fingerprint_read(const char *pin_dir, uint64_t *fp)
{
	char path[600], line[64];
	int err = fingerprint_path(pin_dir, path, sizeof(path));
	FILE *f;

	if (err)
		return err;
	f = fopen(path, "re");
	if (!f)
		return -errno;
	err = fgets(line, sizeof(line), f) && sscanf(line, "%" SCNx64, fp) == 1 ? 0 : -EINVAL;
	fclose(f);
	return err;
}

int dp_fingerprint_write(const char *pin_dir)
{
	char path[600], line[64];
	int err = fingerprint_path(pin_dir, path, sizeof(path));

	if (err)
		return err;
	snprintf(line, sizeof(line), "%016" PRIx64 "\n", dp_fingerprint());
	return file_write_atomic(path, line, strlen(line));
}

enum dp_status dp_status(const char *pin_dir)
{
	char path[600];
	uint64_t fp;

	if (!pinned(pin_dir, DP_PIN_ENDPOINT) && !pinned(pin_dir, DP_PIN_DNS) &&
	    !pinned(pin_dir, DP_PIN_UPLINK))
		return DP_ABSENT;
	/* pins outside berth's tree (no run directory to record in) are taken as they are */
	if (fingerprint_path(pin_dir, path, sizeof(path)))
		return DP_CURRENT;
	if (dp_fingerprint_read(pin_dir, &fp) || fp != dp_fingerprint())
		return DP_OTHER;
	return DP_CURRENT;
}

/* ---- loading ---- */

/* Every object declares the sized maps: each must ask for the size of its pin. */
static int set_sizes(struct bpf_object *obj, const char *dir, const struct dp_sizes *sizes)
{
	const struct {
		const char *name;
		uint32_t want, def;
	} sized[] = {
		{ "berth_ct_v1", sizes ? sizes->ct_max : 0, BERTH_CT_DEFAULT },
		{ "berth_nat_v1", sizes ? sizes->nat_max : 0, BERTH_NAT_DEFAULT },
	};

	for (size_t i = 0; i < sizeof(sized) / sizeof(sized[0]); i++) {
		struct bpf_map *m = bpf_object__find_map_by_name(obj, sized[i].name);
		uint32_t n = sized[i].want ? sized[i].want : sized[i].def, have = 0;

		if (!m)
			continue;
		if (!dp_pinned_map_size(dir, sized[i].name, &have))
			n = have;
		if (bpf_map__set_max_entries(m, n))
			return -EINVAL;
	}
	return 0;
}

/*
 * A pin libbpf would refuse to reuse, named: a map whose layout changed
 * must have been given a new name (the _vN suffix), and this says which did not.
 */
static int pins_check(struct bpf_object *obj)
{
	struct bpf_map *m;

	bpf_object__for_each_map(m, obj) {
		const char *path = bpf_map__pin_path(m);
		struct bpf_map_info info;
		__u32 len = sizeof(info);
		int fd;

		if (!path)
			continue;
		fd = bpf_obj_get(path);
		if (fd < 0)
			continue;
		memset(&info, 0, sizeof(info));
		if (bpf_obj_get_info_by_fd(fd, &info, &len)) {
			int err = -errno;

			close(fd);
			return err;
		}
		close(fd);
		if (info.type != bpf_map__type(m) || info.key_size != bpf_map__key_size(m) ||
		    info.value_size != bpf_map__value_size(m) ||
		    info.max_entries != bpf_map__max_entries(m) ||
		    info.map_flags != bpf_map__map_flags(m)) {
			fprintf(stderr, "berth: %s is pinned with another layout (type %u, key %u B, value %u B, %u entries, flags %#x) than this build's (type %u, key %u B, value %u B, %u entries, flags %#x): its name should have changed with it\n",
				path, info.type, info.key_size, info.value_size, info.max_entries,
				info.map_flags, bpf_map__type(m), bpf_map__key_size(m),
				bpf_map__value_size(m), bpf_map__max_entries(m),
				bpf_map__map_flags(m));
			return -EINVAL;
		}
	}
	return 0;
}

/*
 * Load a skeleton, pinning its maps by name (or reusing the pins) and its
 * program as @pin under @dir. One per program so each object stays small.
 */
#define DEFINE_DP_LOAD(skel_name, prog)								\
	static int dp_load_##skel_name(const char *dir, const char *pin,			\
				       const struct dp_sizes *sizes)				\
	{											\
		LIBBPF_OPTS(bpf_object_open_opts, opts, .pin_root_path = dir);			\
		struct berth_##skel_name *skel;							\
		char path[600];									\
		int err;									\
												\
		skel = berth_##skel_name##__open_opts(&opts);					\
		if (!skel)									\
			return -errno;								\
		err = set_sizes(skel->obj, dir, sizes);						\
		if (!err)									\
			err = pins_check(skel->obj);						\
		if (!err)									\
			err = berth_##skel_name##__load(skel);					\
		if (!err) {									\
			snprintf(path, sizeof(path), "%s/%s", dir, pin);			\
			err = bpf_program__pin(skel->progs.prog, path);				\
		}										\
		berth_##skel_name##__destroy(skel);						\
		return err;									\
	}

DEFINE_DP_LOAD(endpoint, berth_tc_endpoint_ingress)
DEFINE_DP_LOAD(dns, berth_tc_dns_lo)
DEFINE_DP_LOAD(uplink, berth_tc_uplink_ingress)

/*
 * The socket programs: one object, six programs, each pinned as its
 * sockhooks[] name plus the suffix @pin carries after DP_PIN_SOCK (upgrades
 * load beside the running ones). connect4 is pinned last, so a load a crash
 * cut short is seen as absent and done again, over its leftovers.
 */
static int dp_load_sock(const char *dir, const char *pin, const struct dp_sizes *sizes)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts, .pin_root_path = dir);
	const char *suffix = pin + strlen(DP_PIN_SOCK);
	struct berth_sock *skel;
	char path[600];
	int err;

	if (strncmp(pin, DP_PIN_SOCK, strlen(DP_PIN_SOCK)))
		return -EINVAL;
	skel = berth_sock__open_opts(&opts);
	if (!skel)
		return -errno;
	err = set_sizes(skel->obj, dir, sizes);
	if (!err)
		err = pins_check(skel->obj);
	if (!err)
		err = berth_sock__load(skel);
	for (size_t i = 0; !err && i < SOCKHOOK_N; i++) {
		struct bpf_program *prog =
			bpf_object__find_program_by_name(skel->obj, sockhooks[i].prog);

		snprintf(path, sizeof(path), "%s/%s%s", dir, sockhooks[i].prog_pin, suffix);
		unlink(path);
		err = prog ? bpf_program__pin(prog, path) : -ENOENT;
	}
	berth_sock__destroy(skel);
	return err;
}

static const struct {
	const char *pin;
	int (*load)(const char *dir, const char *pin, const struct dp_sizes *sizes);
	size_t off;
} dp_progs[] = {
	{ DP_PIN_ENDPOINT, dp_load_endpoint, offsetof(struct dp, prog_fd) },
	{ DP_PIN_DNS, dp_load_dns, offsetof(struct dp, dns_prog_fd) },
	{ DP_PIN_UPLINK, dp_load_uplink, offsetof(struct dp, uplink_prog_fd) },
	{ DP_PIN_SOCK, dp_load_sock, offsetof(struct dp, sock_prog_fd) },
};

int dp_load(const char *pin_dir, const char *suffix, const struct dp_sizes *sizes, bool verbose)
{
	dp_verbose = verbose;
	libbpf_set_print(print_libbpf);
	for (size_t i = 0; i < sizeof(dp_progs) / sizeof(dp_progs[0]); i++) {
		char pin[64];
		int err;

		snprintf(pin, sizeof(pin), "%s%s", dp_progs[i].pin, suffix);
		err = dp_progs[i].load(pin_dir, pin, sizes);
		if (err)
			return err;
	}
	return 0;
}

/* Open every pin there is: maps of this build (else, stale, the older ep/ip), programs. */
static int open_pins(struct dp *dp, const char *pin_dir)
{
	int n = 0;

	for (size_t i = 0; i < sizeof(dp_progs) / sizeof(dp_progs[0]); i++)
		DP_FD(dp, dp_progs[i].off) = pin_get(pin_dir, dp_progs[i].pin);
	for (size_t i = 0; i < sizeof(dp_maps) / sizeof(dp_maps[0]); i++) {
		int fd = pin_get(pin_dir, dp_maps[i].name);

		DP_FD(dp, dp_maps[i].off) = fd < 0 ? -1 : fd;
		n += fd >= 0;
	}
	dp->ep_old_fd = pin_get(pin_dir, "berth_ep_v1");
	dp->ip_old_fd = pin_get(pin_dir, "berth_ip_v1");
	for (size_t i = 0; i < sizeof(dp_fds) / sizeof(dp_fds[0]); i++)
		if (DP_FD(dp, dp_fds[i]) < 0)
			DP_FD(dp, dp_fds[i]) = -1;
	n += dp->ep_old_fd >= 0 || dp->ip_old_fd >= 0;
	return n ? 0 : -ENOENT;
}

int dp_open(struct dp *dp, const char *pin_dir, const struct dp_sizes *sizes, bool verbose)
{
	enum dp_status status;
	int err;

	dp_verbose = verbose;
	libbpf_set_print(print_libbpf);
	dp_reset(dp);
	err = bpffs_ensure();
	if (err)
		return err;
	err = mkdir_p(pin_dir, 0700);
	if (err)
		return err;
	status = dp_status(pin_dir);
	if (status == DP_OTHER) {
		/* another build's: used as it is until an up replaces it (dp_upgrade) */
		dp->stale = true;
		err = open_pins(dp, pin_dir);
		if (err)
			dp_close(dp);
		return err;
	}
	for (size_t i = 0; i < sizeof(dp_progs) / sizeof(dp_progs[0]); i++) {
		int fd = pin_get(pin_dir, dp_progs[i].pin);

		/* absent: loaded now (the first up, or one a crash cut short) */
		if (fd == -ENOENT) {
			err = dp_progs[i].load(pin_dir, dp_progs[i].pin, sizes);
			fd = err ? err : pin_get(pin_dir, dp_progs[i].pin);
		}
		if (fd < 0) {
			dp_close(dp);
			return fd;
		}
		DP_FD(dp, dp_progs[i].off) = fd;
	}
	for (size_t i = 0; i < sizeof(dp_maps) / sizeof(dp_maps[0]); i++) {
		int fd = pin_get(pin_dir, dp_maps[i].name);

		if (fd < 0) {
			dp_close(dp);
			return fd;
		}
		DP_FD(dp, dp_maps[i].off) = fd;
	}
	/* the first load records whose objects these are; a failure only costs a reload later */
	if (status == DP_ABSENT)
		dp_fingerprint_write(pin_dir);
	return 0;
}

int dp_open_ro(struct dp *dp, const char *pin_dir, bool verbose)
{
	int err;

	dp_verbose = verbose;
	libbpf_set_print(print_libbpf);
	dp_reset(dp);
	dp->stale = dp_status(pin_dir) == DP_OTHER;
	err = open_pins(dp, pin_dir);
	if (err)
		dp_close(dp);
	return err;
}

void dp_close(struct dp *dp)
{
	for (size_t i = 0; i < sizeof(dp_fds) / sizeof(dp_fds[0]); i++)
		if (DP_FD(dp, dp_fds[i]) >= 0)
			close(DP_FD(dp, dp_fds[i]));
	dp_reset(dp);
}

static int tc_ingress_attach(int prog_fd, int ifindex)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = BPF_TC_INGRESS);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = BERTH_TC_HANDLE, .priority = BERTH_TC_PRIO,
		    .prog_fd = prog_fd, .flags = BPF_TC_F_REPLACE);
	int err;

	err = bpf_tc_hook_create(&hook);
	if (err && err != -EEXIST)
		return err;
	return bpf_tc_attach(&hook, &opts);
}

int dp_attach(const struct dp *dp, int ifindex)
{
	return tc_ingress_attach(dp->prog_fd, ifindex);
}

int dp_attach_uplink(const struct dp *dp, int ifindex)
{
	return tc_ingress_attach(dp->uplink_prog_fd, ifindex);
}

int dp_detach_uplink(int ifindex)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = BPF_TC_INGRESS);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = BERTH_TC_HANDLE, .priority = BERTH_TC_PRIO);
	int err;

	/* only berth's own filter: the clsact qdisc and others' filters stay */
	err = bpf_tc_detach(&hook, &opts);
	return err == -ENOENT || err == -ENODEV ? 0 : err;
}

int dp_map_size(int map_fd, uint32_t *max_entries)
{
	struct bpf_map_info info = { 0 };
	__u32 len = sizeof(info);

	if (bpf_obj_get_info_by_fd(map_fd, &info, &len))
		return -errno;
	*max_entries = info.max_entries;
	return 0;
}

int dp_map_count(int map_fd, size_t key_size, uint64_t *count)
{
	unsigned char key[64], next[64];
	void *prev = NULL;

	if (key_size > sizeof(key))
		return -EINVAL;
	*count = 0;
	while (!bpf_map_get_next_key(map_fd, prev, next)) {
		(*count)++;
		memcpy(key, next, key_size);
		prev = key;
	}
	return errno == ENOENT ? 0 : -errno;
}

/* The key walk, for kernels without batch lookups of hash maps. */
static int dump_walk(int fd, size_t ksz, size_t vsz, unsigned char **keys, unsigned char **vals,
		     size_t *n)
{
	unsigned char cur[64], next[64];
	bool first = true;

	if (ksz > sizeof(cur))
		return -EINVAL;
	while (!bpf_map_get_next_key(fd, first ? NULL : cur, next)) {
		*keys = xrealloc(*keys, (*n + 1) * ksz);
		*vals = xrealloc(*vals, (*n + 1) * vsz);
		memcpy(*keys + *n * ksz, next, ksz);
		/* deleted under the walk: not there */
		if (!bpf_map_lookup_elem(fd, next, *vals + *n * vsz))
			(*n)++;
		memcpy(cur, next, ksz);
		first = false;
	}
	return errno == ENOENT ? 0 : -errno;
}

int dp_map_dump(int fd, size_t ksz, size_t vsz, void **keys_out, void **vals_out, size_t *n)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	enum { CHUNK = 16384 };
	unsigned char *kbuf = xcalloc(CHUNK, ksz), *vbuf = xcalloc(CHUNK, vsz);
	unsigned char *keys = NULL, *vals = NULL;
	uint64_t in[2] = { 0 }, out[2] = { 0 };	/* a bucket index for hash maps */
	bool first = true, last = false;
	int err = 0;

	*n = 0;
	while (!last && !err) {
		uint32_t cnt = CHUNK;

		if (bpf_map_lookup_batch(fd, first ? NULL : in, out, kbuf, vbuf, &cnt, &opts)) {
			if (errno == ENOENT) {
				last = true;	/* with @cnt entries of the last buckets */
			} else if ((first && (errno == EINVAL || errno == EOPNOTSUPP ||
					      errno == 524 /* ENOTSUPP */)) ||
				   (errno == ENOSPC && !cnt)) {
				/* no batch lookups here, or a bucket larger than a chunk */
				*n = 0;
				err = dump_walk(fd, ksz, vsz, &keys, &vals, n);
				break;
			} else {
				err = -errno;
				break;
			}
		}
		first = false;
		memcpy(in, out, sizeof(in));
		if (!cnt)
			continue;
		keys = xrealloc(keys, (*n + cnt) * ksz);
		vals = xrealloc(vals, (*n + cnt) * vsz);
		memcpy(keys + *n * ksz, kbuf, cnt * ksz);
		memcpy(vals + *n * vsz, vbuf, cnt * vsz);
		*n += cnt;
	}
	free(kbuf);
	free(vbuf);
	if (err) {
		free(keys);
		free(vals);
		keys = vals = NULL;
		*n = 0;
	}
	*keys_out = keys;
	*vals_out = vals;
	return err;
}

int dp_attach_lo(const struct dp *dp, int netns_fd)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = 1 /* lo */, .attach_point = BPF_TC_EGRESS);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = BERTH_TC_HANDLE, .priority = BERTH_TC_PRIO,
		    .prog_fd = dp->dns_prog_fd, .flags = BPF_TC_F_REPLACE);
	int saved, err, err2;

	/* libbpf talks tc over a netlink socket of the current namespace */
	err = netns_enter(netns_fd, &saved);
	if (err)
		return err;
	err = bpf_tc_hook_create(&hook);
	if (!err || err == -EEXIST)
		err = bpf_tc_attach(&hook, &opts);
	err2 = netns_leave(saved);
	return err ? err : err2;
}

int dp_dns_set(const struct dp *dp, uint16_t port)
{
	struct berth_dns_cfg v = { .addr = htonl(0x7f00000b), .port = htons(port) };
	__u32 zero = 0;

	return bpf_map_update_elem(dp->dns_fd, &zero, &v, BPF_ANY) ? -errno : 0;
}

static int upd(int fd, const void *k, const void *v)
{
	return bpf_map_update_elem(fd, k, v, BPF_ANY) ? -errno : 0;
}

/*
 * Deleting what is not there is fine: every undo is idempotent. So is
 * deleting from a map the datapath does not have (a stale one's: fd -1).
 */
static int del(int fd, const void *k)
{
	if (fd < 0)
		return 0;
	return bpf_map_delete_elem(fd, k) && errno != ENOENT ? -errno : 0;
}

int dp_net_set(const struct dp *dp, uint32_t id, const struct berth_net *net)
{
	return upd(dp->net_fd, &id, net);
}

int dp_net_del(const struct dp *dp, uint32_t id)
{
	struct berth_net zero = { 0 };

	/* an array map cannot delete: a zeroed entry has no BERTH_NET_PRESENT */
	return upd(dp->net_fd, &id, &zero);
}

int dp_ep_set(const struct dp *dp, uint32_t ifindex, const struct berth_ep *ep)
{
	/* another build's maps may have another layout: only an upgraded datapath is written */
	if (dp->stale)
		return -ESTALE;
	return upd(dp->ep_fd, &ifindex, ep);
}

int dp_fdb_set(const struct dp *dp, uint32_t net_id, const uint8_t mac[6], uint32_t ifindex,
	       uint32_t slot)
{
	struct berth_fdb_key k = { .net_id = net_id };
	struct berth_fdb v = { .ifindex = ifindex, .slot = slot };

	memcpy(k.mac, mac, 6);
	return upd(dp->fdb_fd, &k, &v);
}

int dp_ip_set(const struct dp *dp, uint32_t ip_be, uint32_t net_id, uint32_t ifindex,
	      const uint8_t mac[6], uint32_t identity, uint32_t slot)
{
	struct berth_ip_key k = { .ip = ip_be };
	struct berth_ip v = { .net_id = net_id, .ifindex = ifindex, .identity = identity,
			      .slot = slot };

	if (dp->stale)
		return -ESTALE;
	memcpy(v.mac, mac, 6);
	return upd(dp->ip_fd, &k, &v);
}

int dp_cfg_get(const struct dp *dp, struct berth_cfg *cfg)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(dp->cfg_fd, &zero, cfg) ? -errno : 0;
}

int dp_cfg_set(const struct dp *dp, const struct berth_cfg *cfg)
{
	__u32 zero = 0;

	return upd(dp->cfg_fd, &zero, cfg);
}

int dp_subnet_set(const struct dp *dp, uint32_t addr_be, uint8_t prefixlen, uint32_t net_id)
{
	/* the LPM trie's prefix counts the bits of addr, the key's only data */
	struct berth_subnet_key k = { .prefixlen = prefixlen, .addr = addr_be };

	return upd(dp->subnet_fd, &k, &net_id);
}

int dp_subnet_del(const struct dp *dp, uint32_t addr_be, uint8_t prefixlen)
{
	struct berth_subnet_key k = { .prefixlen = prefixlen, .addr = addr_be };

	return del(dp->subnet_fd, &k);
}

int dp_pinned_map_size(const char *pin_dir, const char *name, uint32_t *max_entries)
{
	int fd = pin_get(pin_dir, name), err;

	if (fd < 0)
		return fd;
	err = dp_map_size(fd, max_entries);
	close(fd);
	return err;
}

int dp_ep_del(const struct dp *dp, uint32_t ifindex, uint32_t net_id, const uint8_t mac[6],
	      uint32_t ip_be, uint32_t slot)
{
	struct berth_fdb_key fk = { .net_id = net_id };
	struct berth_ip_key ik = { .ip = ip_be };
	int err = 0, e;

	memcpy(fk.mac, mac, 6);
	if ((e = del(dp->ep_fd, &ifindex)))
		err = e;
	if ((e = del(dp->fdb_fd, &fk)))
		err = e;
	if ((e = del(dp->ip_fd, &ik)))
		err = e;
	/* a stale datapath may still hold them in its older maps (same keys, other values) */
	if (dp->ep_old_fd >= 0 && (e = del(dp->ep_old_fd, &ifindex)))
		err = e;
	if (dp->ip_old_fd >= 0 && (e = del(dp->ip_old_fd, &ik)))
		err = e;
	/* the slot may be reused by another endpoint: its counters go with it */
	for (uint32_t r = 0; r < BERTH_REASON_MAX; r++) {
		struct berth_cnt_key ck = { .slot = slot, .reason = r };

		if ((e = del(dp->cnt_fd, &ck)))
			err = e;
	}
	return err;
}

int dp_counter(const struct dp *dp, uint32_t slot, uint32_t reason, uint64_t *packets,
	       uint64_t *bytes)
{
	struct berth_cnt_key k = { .slot = slot, .reason = reason };
	int ncpu = libbpf_num_possible_cpus();
	struct berth_cnt *v;

	*packets = *bytes = 0;
	if (ncpu < 0)
		return ncpu;
	v = calloc((size_t)ncpu, sizeof(*v));
	if (!v)
		return -ENOMEM;
	if (!bpf_map_lookup_elem(dp->cnt_fd, &k, v)) {
		for (int i = 0; i < ncpu; i++) {
			*packets += v[i].packets;
			*bytes += v[i].bytes;
		}
	}
	free(v);
	return 0;
}
