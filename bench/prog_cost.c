// SPDX-License-Identifier: GPL-2.0-only
/*
 * Per-packet cost of berth_tc_endpoint_ingress, by BPF_PROG_TEST_RUN.
 *
 * The program is loaded as berth loads it (cfg_record_redirect off), with
 * private maps, in a private network namespace whose lo (ifindex 1) plays
 * endpoint A's host-side veth:
 *
 *   net 1  10.0.1.0/24 gw 10.0.1.1
 *     A  10.0.1.2  ifindex 1     slot 7   (the sender)
 *     B  10.0.1.3  ifindex 1001  slot 8   (only recorded; redirect_peer is not carried out)
 *
 * Cases, each checked afterwards through berth_cnt_v1 (exactly N packets of the
 * expected verdict, nothing else), so that a figure never comes from the wrong path:
 *
 *   unicast  a 106-byte IPv4/UDP frame A → B's MAC (64 bytes of payload): the
 *            same-network path ending in bpf_redirect_peer(), as-is in the kernel's
 *            repeat loop, since the program leaves the frame untouched.
 *   arp      a 42-byte ARP request from A for B's address. The program rewrites
 *            the frame into the reply, and the kernel's repeat loop does not restore
 *            the frame between runs (the second run would see the reply and drop it
 *            as spoofed), so it is timed by N runs of repeat 1. Those include the
 *            kernel's timer reads around each run: the unicast frame is timed the
 *            same way too, and the difference to its repeat loop is that overhead,
 *            which "arp, corrected" subtracts.
 *
 * Usage: prog_cost [LOOP_RUNS [SINGLE_RUNS]] (1,000,000 and 200,000 by default).
 * Output: one tab-separated line per figure, "case  method  runs  ns/packet  verdict",
 * then a comment line. Exits 0, or 1 with the reason on stderr.
 */
#include <endian.h>
#include <errno.h>
#include <sched.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <linux/pkt_cls.h>

#include <berth/drop.h>
#include <berth/maps.h>

#include "endpoint.skel.h"
#include "topology.h"

#define DEFAULT_RUNS 1000000u	/* in the kernel's repeat loop */
#define DEFAULT_SINGLE 200000u	/* calls of repeat 1: a syscall and an skb each */

#define UDP_PAYLOAD 64

static const uint8_t frame_unicast[14 + 20 + 8 + UDP_PAYLOAD] = {
	MAC_B, MAC_A, BE16(0x0800),
	0x45, 0x00, BE16(20 + 8 + UDP_PAYLOAD), 0x00, 0x00, 0x40, 0x00, 64, 17, 0x00, 0x00,
	IP_A, IP_B,
	BE16(40000), BE16(11111), BE16(8 + UDP_PAYLOAD), 0x00, 0x00,
	/* the payload: zeros */
};

static const uint8_t frame_arp[14 + 28] = {
	MAC_BCAST, MAC_A, BE16(0x0806),
	BE16(1), BE16(0x0800), 6, 4, BE16(1),
	MAC_A, IP_A, MAC_ZERO, IP_B,
};

static struct berth_endpoint *skel;
static int ncpus;


static int map_put(struct bpf_map *map, const void *key, const void *val, const char *what)
{
	int err = bpf_map_update_elem(bpf_map__fd(map), key, val, BPF_ANY);

	if (err)
		fprintf(stderr, "prog_cost: write %s into %s: %s\n", what, bpf_map__name(map),
			strerror(-err));
	return err;
}

/* The topology of the comment at the top, written the way berth's agent writes it. */
static int topo_write(void)
{
	static const uint8_t mac_a[6] = { MAC_A }, mac_b[6] = { MAC_B }, host[6] = { MAC_HOST };
	static const uint8_t subnet[4] = { 10, 0, 1, 0 }, gw[4] = { IP_GW1 };
	static const uint8_t ip_a[4] = { IP_A }, ip_b[4] = { IP_B };
	struct berth_net net = { .mask = htobe32(~0u << 8), .flags = BERTH_NET_PRESENT };
	struct berth_ep ep = { .net_id = NET_1, .slot = SLOT_A };
	struct berth_fdb_key fk_a = { .net_id = NET_1 }, fk_b = { .net_id = NET_1 };
	struct berth_fdb fdb_a = { .ifindex = IFX_A, .slot = SLOT_A };
	struct berth_fdb fdb_b = { .ifindex = IFX_B, .slot = SLOT_B };
	struct berth_ip_key ik_a = {}, ik_b = {};
	struct berth_ip ipv_a = { .net_id = NET_1, .ifindex = IFX_A };
	struct berth_ip ipv_b = { .net_id = NET_1, .ifindex = IFX_B };
	uint32_t net_id = NET_1, ifx_a = IFX_A;
	int err;

	memcpy(&net.subnet, subnet, 4);
	memcpy(&net.gateway, gw, 4);
	memcpy(&ep.ip, ip_a, 4);
	memcpy(ep.mac, mac_a, 6);
	memcpy(ep.host_mac, host, 6);
	memcpy(fk_a.mac, mac_a, 6);
	memcpy(fk_b.mac, mac_b, 6);
	memcpy(&ik_a.ip, ip_a, 4);
	memcpy(&ik_b.ip, ip_b, 4);
	memcpy(ipv_a.mac, mac_a, 6);
	memcpy(ipv_b.mac, mac_b, 6);

	err = map_put(skel->maps.berth_net_v1, &net_id, &net, "net 1");
	if (!err)
		err = map_put(skel->maps.berth_ep_v2, &ifx_a, &ep, "endpoint A");
	if (!err)
		err = map_put(skel->maps.berth_fdb_v1, &fk_a, &fdb_a, "A's MAC");
	if (!err)
		err = map_put(skel->maps.berth_fdb_v1, &fk_b, &fdb_b, "B's MAC");
	if (!err)
		err = map_put(skel->maps.berth_ip_v2, &ik_a, &ipv_a, "A's address");
	if (!err)
		err = map_put(skel->maps.berth_ip_v2, &ik_b, &ipv_b, "B's address");
	return err;
}

static int counters_clear(void)
{
	int fd = bpf_map__fd(skel->maps.berth_cnt_v1);
	struct berth_cnt_key key;

	while (bpf_map_get_next_key(fd, NULL, &key) == 0) {
		if (bpf_map_delete_elem(fd, &key))
			return -errno;
	}
	return 0;
}

/* berth_cnt_v1 must hold only (SLOT_A, @reason), @runs packets: the path timed is the one meant. */
static int counters_check(const char *name, uint32_t reason, uint64_t runs)
{
	int fd = bpf_map__fd(skel->maps.berth_cnt_v1);
	struct berth_cnt_key key, *prev = NULL;
	struct berth_cnt *vals = calloc(ncpus, sizeof(*vals));
	int bad = 0;

	if (!vals)
		return -ENOMEM;
	while (bpf_map_get_next_key(fd, prev, &key) == 0) {
		uint64_t p = 0;

		if (bpf_map_lookup_elem(fd, &key, vals)) {
			free(vals);
			return -errno;
		}
		for (int cpu = 0; cpu < ncpus; cpu++)
			p += vals[cpu].packets;
		if (key.slot != SLOT_A || key.reason != reason || p != runs) {
			fprintf(stderr,
				"prog_cost: %s: counter {slot %u, reason %u}: %llu packets, "
				"want only {slot %u, reason %u}: %llu\n",
				name, key.slot, key.reason, (unsigned long long)p, SLOT_A, reason,
				(unsigned long long)runs);
			bad = 1;
		}
		prev = &key;
	}
	free(vals);
	if (!prev) {
		fprintf(stderr, "prog_cost: %s: no counter at all\n", name);
		bad = 1;
	}
	return bad ? -EPROTO : 0;
}

/*
 * Runs the program on @frame @runs times, in one kernel repeat loop (@loop) or
 * as @runs calls of repeat 1; *ns gets the mean nanoseconds per run.
 */
static int measure(const char *name, const uint8_t *frame, size_t len, bool loop, uint32_t runs,
		   int want_verdict, uint32_t want_reason, double *ns)
{
	int prog_fd = bpf_program__fd(skel->progs.berth_tc_endpoint_ingress);
	uint8_t data[256];
	struct __sk_buff ctx = { .ifindex = IFX_A };
	uint64_t total = 0;
	int err;

	err = counters_clear();
	if (err) {
		fprintf(stderr, "prog_cost: clear berth_cnt_v1: %s\n", strerror(-err));
		return err;
	}
	for (uint32_t i = 0; i < (loop ? 1 : runs); i++) {
		/* the kernel copies the frame in for every call: a fresh request each time */
		memcpy(data, frame, len);
		LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = data, .data_size_in = len,
			    .ctx_in = &ctx, .ctx_size_in = sizeof(ctx),
			    .repeat = loop ? runs : 1);
		err = bpf_prog_test_run_opts(prog_fd, &opts);
		if (err) {
			fprintf(stderr, "prog_cost: %s: BPF_PROG_TEST_RUN: %s\n", name,
				strerror(-err));
			return err;
		}
		if ((int)opts.retval != want_verdict) {
			fprintf(stderr, "prog_cost: %s: verdict %s (%u), want %s\n", name,
				verdict_name(opts.retval), opts.retval, verdict_name(want_verdict));
			return -EPROTO;
		}
		total += opts.duration;
	}
	err = counters_check(name, want_reason, runs);
	if (err)
		return err;
	*ns = loop ? (double)total : (double)total / runs;
	return 0;
}

static int print_libbpf(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return level == LIBBPF_WARN ? vfprintf(stderr, fmt, ap) : 0;
}

static int skel_load(void)
{
	struct bpf_map *map;
	int err;

	skel = berth_endpoint__open();
	if (!skel) {
		err = -errno;
		fprintf(stderr, "prog_cost: open the endpoint skeleton: %s\n", strerror(-err));
		return err;
	}
	/* private maps: nothing under /sys/fs/bpf, nothing shared with a running instance */
	bpf_object__for_each_map(map, skel->obj) {
		err = bpf_map__set_pin_path(map, NULL);
		if (err) {
			fprintf(stderr, "prog_cost: unpin %s: %s\n", bpf_map__name(map),
				strerror(-err));
			return err;
		}
	}
	err = berth_endpoint__load(skel);
	if (err)
		fprintf(stderr, "prog_cost: load the endpoint skeleton: %s\n", strerror(-err));
	return err;
}

int main(int argc, char **argv)
{
	uint32_t runs = DEFAULT_RUNS, single = DEFAULT_SINGLE;
	double uni_loop, uni_single, arp_single, overhead;
	int err;

	if (argc > 1)
		runs = strtoul(argv[1], NULL, 10);
	if (argc > 2)
		single = strtoul(argv[2], NULL, 10);
	if (argc > 3 || !runs || !single) {
		fprintf(stderr, "usage: prog_cost [LOOP_RUNS [SINGLE_RUNS]]   (default %u %u)\n",
			DEFAULT_RUNS, DEFAULT_SINGLE);
		return 1;
	}
	if (unshare(CLONE_NEWNET)) {
		fprintf(stderr, "prog_cost: unshare(CLONE_NEWNET): %s (needs root)\n",
			strerror(errno));
		return 1;
	}
	libbpf_set_print(print_libbpf);
	ncpus = libbpf_num_possible_cpus();
	if (ncpus <= 0) {
		fprintf(stderr, "prog_cost: libbpf_num_possible_cpus: %s\n", strerror(-ncpus));
		return 1;
	}
	err = skel_load();
	if (!err)
		err = topo_write();
	if (!err)
		err = measure("unicast", frame_unicast, sizeof(frame_unicast), /* loop */ true,
			      runs, TC_ACT_REDIRECT, BERTH_PASS_FORWARD, &uni_loop);
	if (!err)
		err = measure("unicast", frame_unicast, sizeof(frame_unicast), /* loop */ false,
			      single, TC_ACT_REDIRECT, BERTH_PASS_FORWARD, &uni_single);
	if (!err)
		err = measure("arp", frame_arp, sizeof(frame_arp), /* loop */ false, single,
			      TC_ACT_REDIRECT, BERTH_PASS_ARP_REPLY, &arp_single);
	berth_endpoint__destroy(skel);
	if (err)
		return 1;

	overhead = uni_single - uni_loop;
	printf("unicast\trepeat-loop\t%u\t%.1f\tTC_ACT_REDIRECT\n", runs, uni_loop);
	printf("unicast\tsingle-runs\t%u\t%.1f\tTC_ACT_REDIRECT\n", single, uni_single);
	printf("arp\tsingle-runs\t%u\t%.1f\tTC_ACT_REDIRECT\n", single, arp_single);
	printf("arp\tcorrected\t%u\t%.1f\tTC_ACT_REDIRECT\n", single,
	       arp_single - (overhead > 0 ? overhead : 0));
	printf("# single-run timer overhead: %.1f ns (unicast single-runs - repeat-loop)\n",
	       overhead);
	return 0;
}
