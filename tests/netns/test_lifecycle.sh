#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# up, up again, up after an edit, down, a failing up and a killed up: what each
# leaves in the host namespace and on the machine.
#
#   berth-t-PID-h (host namespace of the instance)
#   +---------------------------------------------------------------------+
#   | berth0 (gateways)   bth* veths (one per endpoint and network)       |
#   +-----+-------------------+-------------------+-----------------------+
#         |                   |                   |
#   [ tPID-P-a-1 ]      [ tPID-P-b-1 ]      [ tPID-P-c-1 ]   ... (added, removed)
#   x-berth run → <cgroup2>/berth/berth-t-PID-h/<endpoint>
#   state, journal, logs → /run/berth/berth-t-PID-h; pins → /sys/fs/bpf/berth/berth-t-PID-h
#
# Each test compares ps --json, namespace inodes, host ifindexes and snapshots
# (tests/netns/lib.sh: snapshot) before and after.
#
# Run as root: tests/netns/test_lifecycle.sh  (DEBUG=1 stops after a failure)
set -euo pipefail
source "$(dirname "$0")/lib.sh"

# abc PROJECT SERVICES...: a file with those services on networks n1 (all) and n2 (a only);
# service a runs a server.
abc() {
	local p=$1 s

	shift
	echo "name: $p"
	echo "services:"
	for s in "$@"; do
		echo "  $s:"
		if [[ $s == a ]]; then
			echo "    networks: [n1, n2]"
			echo "    x-berth: {run: python3 -m http.server 8080 --bind 0.0.0.0}"
		else
			echo "    networks: [n1]"
		fi
	done
	echo "networks:"
	echo "  n1: {}"
	echo "  n2: {}"
}

# lines_of STATE SERVICE...: the ep_state lines of those services
lines_of() {
	local st=$1 s

	shift
	for s in "$@"; do
		awk -v s="$s" '$3 == s' <<<"$st"
	done
}

# A second up of the same file changes nothing.
test_up_twice() {
	local p=t$$-twice f st1 st2 links1 links2 routes1 routes2 pids1 pids2 err

	f=$(abc "$p" a b | compose twice)
	up_project "$p" "$f"
	st1=$(ep_state "$p")
	links1=$(ip -n "$HOST" -o link)
	routes1=$(ip -n "$HOST" route show table all)
	pids1=$(cg_pids "$HOST")
	echo "state after the first up:"
	echo "$st1"
	err=$(bh -p "$p" up -f "$f" 2>&1)
	echo "second up: $err"
	expect_fail "a step taken by the second up" grep -q '\[1/' <<<"$err"
	st2=$(ep_state "$p")
	links2=$(ip -n "$HOST" -o link)
	routes2=$(ip -n "$HOST" route show table all)
	pids2=$(cg_pids "$HOST")
	expect_eq "same namespaces, inodes, addresses, MACs and host ifindexes" "$st2" "$st1"
	expect_eq "same links in $HOST" "$links2" "$links1"
	expect_eq "same routes in $HOST" "$routes2" "$routes1"
	expect_eq "the same x-berth run processes" "$pids2" "$pids1"
	expect "a and b still talk" ping_ok "$p" b "$(ep_ip "$p" a n1)"
}

# up after adding a service adds only it; after removing one removes only it.
test_add_remove() {
	local p=t$$-edit f st1 st2 st3 hif b_ns

	f=$(abc "$p" a b | compose edit)
	up_project "$p" "$f"
	st1=$(ep_state "$p")
	echo "before: "
	echo "$st1"
	abc "$p" a b c >"$f"
	bh -p "$p" up -f "$f"
	st2=$(ep_state "$p")
	echo "after adding c:"
	echo "$st2"
	expect_eq "a and b untouched by adding c" "$(lines_of "$st2" a b)" "$(lines_of "$st1" a b)"
	expect "c's namespace" ns_exists "$p-c-1"
	expect "a reaches c" ping_ok "$p" a "$(ep_ip "$p" c n1)"
	b_ns=$(lines_of "$st2" b | awk '{ print $1 }')
	hif=$(lines_of "$st2" b | awk '{ print $9 }')
	abc "$p" a c >"$f"
	bh -p "$p" up -f "$f"
	st3=$(ep_state "$p")
	echo "after removing b:"
	echo "$st3"
	expect_eq "a and c untouched by removing b" "$(lines_of "$st3" a c)" "$(lines_of "$st2" a c)"
	expect_eq "b gone from ps" "$(lines_of "$st3" b)" ""
	expect_fail "b's namespace still there" ns_exists "$b_ns"
	expect_fail "b's host veth $hif still there" ip -n "$HOST" link show dev "$hif"
	expect "b's /etc/netns gone" [ ! -e "/etc/netns/$b_ns" ]
	expect "a reaches c" ping_ok "$p" c "$(ep_ip "$p" a n1)"
}

# Addresses stay across ups: a service added first in the file, sorting first, takes none of
# the addresses the others hold.
test_sticky_ipam() {
	local p=t$$-sticky f f2 mid1 zed1 mid2 zed2 aaa fresh

	f=$(compose sticky <<EOF
name: $p
services:
  mid:
    networks: [n]
  zed:
    networks: [n]
networks:
  n: {}
EOF
)
	up_project "$p" "$f"
	mid1=$(ep_ip "$p" mid)
	zed1=$(ep_ip "$p" zed)
	f2=$(compose sticky2 <<EOF
name: $p
services:
  aaa:
    networks: [n]
  mid:
    networks: [n]
  zed:
    networks: [n]
networks:
  n: {}
EOF
)
	# what the new file gives without history, to show that history matters here
	fresh=$(berth config --json -p "$p" -f "$f2" |
		py '[i["ipv4"] for e in d["endpoints"] if e["service"] == "mid" for i in e["networks"]][0]')
	bh -p "$p" up -f "$f2"
	mid2=$(ep_ip "$p" mid)
	zed2=$(ep_ip "$p" zed)
	aaa=$(ep_ip "$p" aaa)
	echo "mid $mid1 -> $mid2, zed $zed1 -> $zed2, aaa $aaa; without history mid would get $fresh"
	expect_eq "mid keeps its address" "$mid2" "$mid1"
	expect_eq "zed keeps its address" "$zed2" "$zed1"
	expect "aaa gets an address mid does not hold" [ "$aaa" != "$mid1" ]
	expect "aaa gets an address zed does not hold" [ "$aaa" != "$zed1" ]
	expect "aaa reaches mid" ping_ok "$p" aaa "$mid1"
}

# down leaves nothing: namespaces, links, routes, pins, state, cgroups, processes.
test_down_clean() {
	local p=t$$-down f pids pid out

	f=$(compose down <<EOF
name: $p
services:
  a:
    networks: [n1, n2]
    deploy: {replicas: 2}
    x-berth: {run: python3 -m http.server 8080 --bind 0.0.0.0}
  b:
    container_name: t$$-down-bee
    networks: [n2]
    x-berth: {run: sleep 300}
  h:
    network_mode: host
  z:
    network_mode: none
networks:
  n1: {}
  n2: {internal: true}
EOF
)
	snapshot "$TMP/down.before" "$HOST"
	up_project "$p" "$f"
	pids=$(cg_pids "$HOST")
	echo "run processes: $(tr '\n' ' ' <<<"$pids")"
	expect "run processes while up" [ -n "$pids" ]
	bh -p "$p" down
	snapshot "$TMP/down.after" "$HOST"
	snap_compare "$TMP/down.before" "$TMP/down.after"
	for pid in $pids; do
		expect "process $pid gone" wait_until 5 pid_gone "$pid"
	done
	out=$(bh -p "$p" ps 2>&1) && { echo "$out"; return 1; }
	echo "ps after down: $out"
}

# A failing up rolls back: a namespace with an endpoint's name exists and is not berth's.
test_failed_up() {
	local p=t$$-fail f ino out rc=0 leak=0

	ip netns add "$p-b-1"
	ns_track "$p-b-1"
	ino=$(ns_inode "$p-b-1")
	f=$(abc "$p" a b c | compose fail)
	snapshot "$TMP/fail.before" "$HOST"
	project_track "$p" "$HOST"
	out=$(bh -p "$p" up -f "$f" 2>&1) || rc=$?
	echo "up: exit $rc"
	echo "$out"
	expect "a non-zero exit" [ "$rc" -ne 0 ]
	expect "the reason named" grep -q "namespace $p-b-1 exists already" <<<"$out"
	snapshot "$TMP/fail.after" "$HOST"
	snap_compare "$TMP/fail.before" "$TMP/fail.after" || leak=1
	expect_eq "the foreign namespace untouched" "$(ns_inode "$p-b-1")" "$ino"
	out=$(bh -p "$p" ps 2>&1) && { echo "$out"; return 1; }
	echo "ps: $out"
	# once the namespace is gone the same file comes up
	ip netns del "$p-b-1"
	bh -p "$p" up -f "$f"
	expect "a reaches b after all" ping_ok "$p" a "$(ep_ip "$p" b n1)"
	expect "nothing of the failed up left (see the difference above)" [ "$leak" = 0 ]
}

# An up killed half way is settled by the next command: all there, or nothing.
test_killed_up() {
	local p=t$$-kill f n=30 i start ms delay pid rc out listed journal="" attempt

	f=$(
		{
			echo "name: $p"
			echo "services:"
			for i in $(seq -w 1 "$n"); do
				printf '  s%s:\n    networks: [n]\n    x-berth: {run: sleep 300}\n' "$i"
			done
			echo "networks:"
			echo "  n: {}"
		} | compose kill
	)
	# how long a whole up takes here, to kill the real one about half way
	project_track "t$$-cal" "$HOST"
	start=$(date +%s%N)
	bh -p "t$$-cal" up -f "$f" 2>/dev/null
	ms=$((($(date +%s%N) - start) / 1000000))
	bh -p "t$$-cal" down 2>/dev/null
	echo "a whole up of $n services takes $ms ms"
	snapshot "$TMP/kill.before" "$HOST"
	project_track "$p" "$HOST"
	for attempt in 50 30 70 15; do
		delay=$(awk -v ms="$ms" -v pc="$attempt" 'BEGIN { printf "%.3f", ms * pc / 100000 }')
		"$BERTH" --host-netns "$HOST" -p "$p" up -f "$f" </dev/null >"$TMP/kill.out" 2>&1 &
		pid=$!
		echo "$pid" >>"$TMP/pids"
		sleep "$delay"
		kill -KILL "$pid" 2>/dev/null || true
		rc=0
		wait "$pid" || rc=$?
		echo "attempt at ${delay}s: up exited $rc; $(grep -c '^berth: \[' "$TMP/kill.out") steps printed"
		if [[ $rc -eq 137 ]]; then
			[[ -e /run/berth/$HOST/journal ]] && journal=" (journal left)"
			break
		fi
		bh -p "$p" down >/dev/null 2>&1 || true
	done
	[[ $rc -eq 137 ]] || skip_test "up of $n services always finished before the kill ($ms ms)"
	echo "killed at ${delay}s$journal; $(ip netns list | grep -c "^$p-") namespaces of $p exist"
	# the next command settles it
	rc=0
	out=$(bh -p "$p" ps --json 2>"$TMP/kill.err") || rc=$?
	echo "ps: exit $rc; $(cat "$TMP/kill.err")"
	expect "no journal left after ps" [ ! -e "/run/berth/$HOST/journal" ]
	if [[ $rc -eq 0 ]]; then
		listed=$(py 'len(d)' <<<"$out")
		echo "project is up with $listed endpoints"
		expect_eq "all endpoints listed" "$listed" "$n"
		expect_eq "all namespaces there" "$(ip netns list | grep -c "^$p-")" "$n"
		expect "s01 reaches s$n" ping_ok "$p" s01 "$(ep_ip "$p" "s$n")"
	else
		echo "project is absent"
		expect_eq "no namespace of $p" "$(ip netns list | grep -c "^$p-" || true)" 0
		expect_eq "no run process" "$(cg_pids "$HOST")" ""
	fi
	bh -p "$p" down || true
	snapshot "$TMP/kill.after" "$HOST"
	snap_compare "$TMP/kill.before" "$TMP/kill.after"
}

netns_setup
command -v ping >/dev/null || skip_all "needs ping"
run up-twice-is-a-no-op test_up_twice
run up-adds-and-removes-only-the-change test_add_remove
run addresses-stay-across-ups test_sticky_ipam
run down-leaves-nothing test_down_clean
run failed-up-rolls-back test_failed_up
run killed-up-is-settled test_killed_up
finish
exit "$FAILED"
