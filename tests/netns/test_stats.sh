#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# berth stats: the datapath's verdict counters per endpoint interface and in
# total, read from the pinned map, match the traffic the test makes.
#
#   berth-t-PID-h (host namespace of the instance)
#   +--------------------------------------------------------+
#   | berth0 (gateways)              bth* veths              |
#   +------+-----------------------+-----------------+-------+
#          |                       |                 |
#   [ tPID-st-a-1: front, back ] [ tPID-st-b-1: back ] [ tPID-st-c-1: other ]
#
# Run as root: tests/netns/test_stats.sh  (DEBUG=1 stops after a failure)
set -euo pipefail
source "$(dirname "$0")/lib.sh"

P=t$$-st

spec() {
	cat <<EOF
name: $P
services:
  a:
    networks: [front, back]
  b:
    networks: [back]
  c:
    networks: [other]
networks:
  front: {}
  back: {}
  other: {}
EOF
}

test_stats() {
	local out b_ip c_ip

	up_project "$P" "$(spec | compose stats)"
	b_ip=$(ep_ip "$P" b back)
	c_ip=$(ep_ip "$P" c other)
	ping_ok "$P" a "$b_ip"
	# a reaches c only through its gateway: BPF drops it as isolation
	ping_fails "$P" a "$c_ip"
	out=$(bh -p "$P" stats --json)
	python3 -c 'import json, sys
d = json.load(sys.stdin)
eps = {e["name"]: e for e in d["endpoints"]}
a = eps[sys.argv[1]]
nets = [i["network"].split("_")[-1] for i in a["interfaces"]]
assert nets == ["front", "back"], nets
back = a["interfaces"][1]["counters"]
assert back["forward"]["packets"] >= 1, back
assert back["arp_reply"]["packets"] >= 1, back
front = a["interfaces"][0]["counters"]
assert front["drop_isolation"]["packets"] >= 1, front
t = d["total"]
assert t["forward"]["packets"] >= 2, t           # the echo request and its reply
assert t["drop_isolation"]["packets"] == front["drop_isolation"]["packets"], t
slots = [i["slot"] for e in d["endpoints"] for i in e["interfaces"]]
assert len(slots) == len(set(slots)) == 4, slots
' "$P-a-1" <<<"$out" || { echo "$out"; return 1; }
	# the text form says the same
	out=$(bh -p "$P" stats)
	echo "$out" | grep -q "drop_isolation:" || { echo "$out"; return 1; }
}

netns_setup
run stats-counters test_stats
finish
exit "$FAILED"
