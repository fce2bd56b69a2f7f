#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Two berth instances side by side, each in its own host namespace, with the same
# subnet: each works, and one's down leaves the other alone.
#
#   berth-t-PID-h                            berth-t-PID-h2
#   +-------------------------------+        +-------------------------------+
#   | berth0 10.123.0.1  bth* veths |        | berth0 10.123.0.1  bth* veths |
#   | pins, state: .../berth-t-PID-h|        | pins, state: .../berth-t-PID-h2|
#   +------+---------------+--------+        +------+---------------+--------+
#          |               |                        |               |
#   [ tPID-one-a-1 ] [ tPID-one-b-1 ]        [ tPID-two-a-1 ] [ tPID-two-b-1 ]
#     10.123.0.x       10.123.0.y              10.123.0.x       10.123.0.y
#
# Run as root: tests/netns/test_instances.sh  (DEBUG=1 stops after a failure)
set -euo pipefail
source "$(dirname "$0")/lib.sh"

HOST2="berth-t-$$-h2"

pair() {
	cat <<EOF
name: $1
services:
  a:
    networks: [n]
    x-berth: {run: sleep 300}
  b:
    networks: [n]
networks:
  n:
    ipam:
      config:
        - subnet: 10.123.0.0/24
EOF
}

test_two_instances() {
	local f1 f2 one=t$$-one two=t$$-two st2 pins2 pids2 out rc=0

	ip netns add "$HOST2"
	ns_track "$HOST2"
	f1=$(pair "$one" | compose one)
	f2=$(pair "$two" | compose two)
	up_project "$one" "$f1" "$HOST"
	up_project "$two" "$f2" "$HOST2"
	expect "one: a reaches b" ping_ok "$one" a "$(ep_ip "$one" b n "$HOST")" "$HOST"
	expect "two: a reaches b" ping_ok "$two" a "$(ep_ip "$two" b n "$HOST2")" "$HOST2"
	expect_eq "the same addresses in both" "$(ep_ip "$one" b n "$HOST")" "$(ep_ip "$two" b n "$HOST2")"
	expect "pins of $HOST" [ -e "/sys/fs/bpf/berth/$HOST/berth_cnt_v1" ]
	expect "pins of $HOST2" [ -e "/sys/fs/bpf/berth/$HOST2/berth_cnt_v1" ]
	# a project belongs to one instance
	out=$(berth --host-netns "$HOST2" -p "$one" ps 2>&1) || rc=$?
	echo "ps of $one on $HOST2: exit $rc: $out"
	expect "ps of $one on the wrong instance refused" [ "$rc" -ne 0 ]
	rc=0
	# (another subnet, so that the refusal is for the project's name, not an overlap)
	out=$(berth --host-netns "$HOST2" -p "$one" up \
		-f "$(pair "$one" | sed 's/10\.123\./10.124./' | compose one-moved)" 2>&1) || rc=$?
	echo "up of $one on $HOST2: exit $rc: $out"
	expect "up of $one on a second instance refused" [ "$rc" -ne 0 ]
	expect "and said why" grep -q "already up on instance $HOST" <<<"$out"

	st2=$(ep_state "$two" "$HOST2")
	pins2=$(ls "/sys/fs/bpf/berth/$HOST2")
	pids2=$(cg_pids "$HOST2")
	berth --host-netns "$HOST" -p "$one" down
	expect_eq "two's endpoints untouched by one's down" "$(ep_state "$two" "$HOST2")" "$st2"
	expect_eq "two's pins untouched" "$(ls "/sys/fs/bpf/berth/$HOST2")" "$pins2"
	expect_eq "two's processes untouched" "$(cg_pids "$HOST2")" "$pids2"
	expect "two: a still reaches b" ping_ok "$two" a "$(ep_ip "$two" b n "$HOST2")" "$HOST2"
	expect_fail "a namespace of one left" grep -q "^$one-" <(ip netns list)
	expect "no pins of $HOST left" [ ! -e "/sys/fs/bpf/berth/$HOST" ]
	expect "no state of $HOST left" [ ! -e "/run/berth/$HOST" ]
	expect_eq "$HOST back to lo only" "$(ip -n "$HOST" -o link | awk -F': ' '{ print $2 }')" lo
	berth --host-netns "$HOST2" -p "$two" down
	expect "no pins of $HOST2 left" [ ! -e "/sys/fs/bpf/berth/$HOST2" ]
	expect_eq "$HOST2 back to lo only" "$(ip -n "$HOST2" -o link | awk -F': ' '{ print $2 }')" lo
}

# --host-netns must name an existing namespace; berth does not make it.
test_missing_host_netns() {
	local out rc=0

	out=$(berth --host-netns "berth-t-$$-nosuch" -p "t$$-none" up \
		-f "$(pair "t$$-none" | compose none)" 2>&1) || rc=$?
	echo "exit $rc: $out"
	expect "a non-zero exit" [ "$rc" -ne 0 ]
	expect "the namespace named" grep -q "berth-t-$$-nosuch" <<<"$out"
	expect "not created" [ ! -e "/run/netns/berth-t-$$-nosuch" ]
	expect_fail "an endpoint namespace" grep -q "^t$$-none-" <(ip netns list)
}

netns_setup
command -v ping >/dev/null || skip_all "needs ping"
run two-instances-side-by-side test_two_instances
run missing-host-netns-refused test_missing_host_netns
finish
exit "$FAILED"
