# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash
#
# Shared helpers of the netns tier, sourced by tests/netns/test_*.sh.
#
#   root namespace: untouched (no link, route, address or rule is made here)
#   +-- berth-t-PID-h  throwaway host namespace made by netns_setup: berth's
#   |   |             instance (--host-netns), holds berth0 (the gateways),
#   |   |             one bth* veth per endpoint and network, tc programs
#   |   +-- tPID-<project>-<service>-<n>   endpoint namespaces berth makes
#   +-- /sys/fs/bpf/berth/berth-t-PID-h, /run/berth/berth-t-PID-h,
#       <cgroup2>/berth/berth-t-PID-h, /etc/netns/tPID-*: what berth keeps
#
# Every name a test makes carries its script's PID ("t$$-..." projects and
# container names, "berth-t-$$-..." host namespaces), so scripts can run side
# by side and a leak check looks only at its own names.
#
# A script sources this file, calls netns_setup, runs each test with
# `run NAME FUNCTION`, and ends with `finish`. run prints one line, "PASS NAME",
# "FAIL NAME" and the test's output indented, or "SKIP NAME: reason". A test
# function runs in a subshell with errexit on, so any failing command fails the
# test; `expect WHAT CMD...` says what was expected first. After each test the
# projects it brought up (up_project) are taken down and the namespaces it made
# (ns_track) deleted. DEBUG=1 stops after a failure, before that cleanup, so
# the environment can be inspected (ip netns exec NS sh, build/berth ps ...).
#
# Servers and long-lived clients run in the background with spawn (bounded by timeout,
# stopped by the test's cleanup); tests/netns/nettool.py has the ones the tools installed
# lack. A script that needs a way out calls outside_start for an "outside" namespace behind
# an uplink veth (see "the outside" below) and outside_stop before finish.

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# BERTH, else $BUILD/berth (BUILD relative to the repository, as tests/run.sh sets it)
if [[ -z ${BERTH:-} ]]; then
	BERTH=${BUILD:-build}/berth
	[[ $BERTH == /* ]] || BERTH=$REPO/$BERTH
fi
[[ $BERTH == /* ]] || BERTH=$PWD/$BERTH
readonly SKIP_RC=77		# a test function's "skip me" exit code
# what belongs to this script: projects and endpoints "tPID-...", namespaces "berth-t-PID-..."
readonly TAG="t$$-|berth-t-$$-"
HOST="berth-t-$$-h"
TMP=""
FAILED=0
SCRIPT=$(basename "$0" .sh)

# ---- printing ----

pass() { echo "PASS $1"; }
fail() {
	echo "FAIL $1"
	[[ -n ${2:-} && -f $2 ]] && sed 's/^/    /' "$2"
	FAILED=1
}
skip() { echo "SKIP $1: $2"; }
# The whole script cannot run here: one SKIP line, and exit 0 so the runner counts it as a skip.
skip_all() {
	skip "$SCRIPT" "$1"
	exit 0
}
# Inside a test: stop it and report it skipped with this reason.
skip_test() {
	echo "$1"
	exit "$SKIP_RC"
}

# expect WHAT CMD...: runs CMD; if it fails, says what was expected and fails the test.
expect() {
	local what=$1

	shift
	if ! "$@"; then
		echo "expected: $what"
		return 1
	fi
}

# expect_eq WHAT GOT WANT
expect_eq() {
	if [[ $2 != "$3" ]]; then
		echo "expected: $1"
		echo "  got:  $2"
		echo "  want: $3"
		return 1
	fi
}

# expect_fail WHAT CMD...: CMD must fail (WHAT says what must not be).
expect_fail() {
	local what=$1

	shift
	if "$@"; then
		echo "expected not: $what"
		return 1
	fi
}

# wait_until SECONDS CMD...: polls CMD every 0.1 s, at most SECONDS.
wait_until() {
	local end=$((SECONDS + $1))

	shift
	until "$@"; do
		((SECONDS < end)) || return 1
		sleep 0.1
	done
}

# ---- berth ----

# berth ARGS...: the binary under test, bounded in time, stdin closed.
berth() {
	timeout -k 5 "${BERTH_TIMEOUT:-120}" "$BERTH" "$@" </dev/null
}

# bh ARGS...: berth on this script's instance.
bh() { berth --host-netns "$HOST" "$@"; }

# compose NAME: stdin → $TMP/NAME/compose.yml; prints the path.
compose() {
	mkdir -p "$TMP/$1"
	cat >"$TMP/$1/compose.yml"
	echo "$TMP/$1/compose.yml"
}

# up_project PROJECT FILE [HOSTNS [ARGS...]]: berth up, remembered for cleanup; shows its output.
up_project() {
	local p=$1 f=$2 h=${3:-$HOST}

	shift 2
	[[ $# -gt 0 ]] && shift
	project_track "$p" "$h"
	berth --host-netns "$h" -p "$p" up -f "$f" "$@"
}

project_track() { echo "$1 $2" >>"$TMP/projects"; }
ns_track() { echo "$1" >>"$TMP/netns"; }

# ps_json PROJECT [HOSTNS]
ps_json() { berth --host-netns "${2:-$HOST}" -p "$1" ps --json; }

# py EXPR: evaluate a python expression over the JSON on stdin (bound to d); prints it.
py() {
	python3 -c 'import json, sys
d = json.load(sys.stdin)
r = eval(sys.argv[1])
if isinstance(r, (list, tuple)):
    print("\n".join(str(x) for x in r))
elif r is not None:
    print(r)' "$1"
}

# ep_ip PROJECT SERVICE[.N] [NETKEY [HOSTNS]]: the endpoint's address (on NETKEY, else its first).
ep_ip() {
	ps_json "$1" "${4:-}" | python3 -c 'import json, sys
eps, target, key = json.load(sys.stdin), sys.argv[1], sys.argv[2]
svc, _, n = target.partition(".")
for e in eps:
    if e["service"] == svc and e["replica"] == int(n or 1):
        for i in e["networks"]:
            if not key or i["key"] == key:
                print(i["ipv4"]); sys.exit(0)
sys.exit("no address for %s on %s" % (target, key or "any network"))' "$2" "${3:-}"
}

# ep_state PROJECT [HOSTNS]: one line per endpoint interface: namespace, its inode, service,
# replica, network key, interface, address, MAC, host interface and its ifindex.
ep_state() {
	local h=${2:-$HOST} ns svc rep key ifc ip mac hif ino idx

	ps_json "$1" "$h" | python3 -c 'import json, sys
for e in json.load(sys.stdin):
    for i in e["networks"]:
        print(e["namespace"], e["service"], e["replica"], i["key"], i["interface"],
              i["ipv4"], i["mac"], i.get("host_interface"))' |
		while read -r ns svc rep key ifc ip mac hif; do
			ino=$(stat -L -c %i "/run/netns/$ns")
			idx=$(ip -n "$h" -o link show dev "$hif" | cut -d: -f1)
			echo "$ns $ino $svc $rep $key $ifc $ip $mac $hif $idx"
		done
}

ns_inode() { stat -L -c %i "/run/netns/$1"; }
ns_exists() { [[ -e /run/netns/$1 ]]; }

# ping_ok PROJECT SERVICE ADDR [HOSTNS]: up to 3 single pings of one second.
ping_ok() {
	local _

	for _ in 1 2 3; do
		berth --host-netns "${4:-$HOST}" -p "$1" exec "$2" -- ping -n -c1 -W1 "$3" && return 0
	done
	return 1
}

# ping_fails PROJECT SERVICE ADDR [HOSTNS]: one ping, which must get no answer.
ping_fails() {
	if berth --host-netns "${4:-$HOST}" -p "$1" exec "$2" -- ping -n -c1 -W1 "$3"; then
		echo "expected no answer from $3 to $2"
		return 1
	fi
}

# drops REASON [HOSTNS]: packets counted under REASON (include/berth/drop.h) in berth_cnt_v1.
drops() {
	local h=${2:-$HOST}

	nsenter --net="/run/netns/$h" bpftool map dump pinned \
		"/sys/fs/bpf/berth/$h/berth_cnt_v1" -j | python3 -c 'import json, sys
want, total = int(sys.argv[1]), 0
for row in json.load(sys.stdin):
    f = row.get("formatted")
    if f:
        if f["key"]["reason"] == want:
            total += sum(v["value"]["packets"] for v in f["values"])
        continue
    # no BTF: the key is (u32 slot, u32 reason), the value (u64 packets, u64 bytes), little endian
    k = [int(b, 16) for b in row["key"]]
    if int.from_bytes(bytes(k[4:8]), "little") == want:
        for v in row["values"]:
            total += int.from_bytes(bytes(int(b, 16) for b in v["value"][:8]), "little")
print(total)' "$1"
}

# ---- counters ----

# counted PROJECT REASON [HOSTNS]: packets under REASON (a name of berth_reason_name in
# include/berth/drop.h: drop_policy, snat, ...) in `berth stats --json`'s total; 0 if none.
counted() {
	berth --host-netns "${3:-$HOST}" -p "$1" stats --json | python3 -c 'import json, sys
d = json.load(sys.stdin)
print(d.get("total", {}).get(sys.argv[1], {}).get("packets", 0))' "$2"
}

# drops_total PROJECT [HOSTNS]: packets under every drop_* reason in stats --json's total.
drops_total() {
	berth --host-netns "${2:-$HOST}" -p "$1" stats --json | python3 -c 'import json, sys
d = json.load(sys.stdin)
print(sum(v.get("packets", 0) for k, v in d.get("total", {}).items() if k.startswith("drop_")))'
}

# cnt_dump [HOSTNS]: every row of the instance's berth_cnt_v1, whatever its slot (endpoint
# interfaces, the uplink's, 0): "slot reason packets", sorted. Empty when nothing is pinned.
cnt_dump() {
	local h=${1:-$HOST} pin

	pin=/sys/fs/bpf/berth/$h/berth_cnt_v1
	[[ -e $pin ]] || return 0
	nsenter --net="/run/netns/$h" bpftool map dump pinned "$pin" -j | python3 -c 'import json, sys
rows = []
for row in json.load(sys.stdin):
    f = row.get("formatted")
    if f:
        rows.append((f["key"]["slot"], f["key"]["reason"],
                     sum(v["value"]["packets"] for v in f["values"])))
        continue
    k = bytes(int(b, 16) for b in row["key"])
    rows.append((int.from_bytes(k[0:4], "little"), int.from_bytes(k[4:8], "little"),
                 sum(int.from_bytes(bytes(int(b, 16) for b in v["value"][:8]), "little")
                     for v in row["values"])))
for r in sorted(rows):
    print("%d %d %d" % r)'
}

# ---- background processes ----

# The interpreter itself, not a wrapper (pyenv's shim): its pid is the one to stop.
PY=$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null || echo python3)
NETTOOL=$REPO/tests/netns/nettool.py	# echo servers, a sniffer, long-lived clients

# spawn SECONDS LOG CMD...: CMD (a program, not a function) in the background, stdout and
# stderr to LOG, stopped by timeout after SECONDS at the latest and by the test's cleanup
# (TERM, then KILL). Sets SPAWNED to its pid.
spawn() {
	local secs=$1 log=$2

	shift 2
	timeout -k 2 "$secs" "$@" </dev/null >"$log" 2>&1 &
	SPAWNED=$!
	echo "$SPAWNED $(pid_start "$SPAWNED")" >>"$TMP/pids"
}

# pid_start PID: the process's start time (field 22 of /proc/PID/stat), which tells it from
# a later process given the same pid.
pid_start() { sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | awk '{ print $20 }'; }

# pid_ours PID START: PID is still the process that started at START (START empty: assumed).
pid_ours() { [[ -z $2 || $(pid_start "$1") == "$2" ]]; }

# spawn_exec SECONDS LOG PROJECT SERVICE[.N] CMD...: spawn, inside the endpoint (berth exec
# passes TERM on to CMD).
spawn_exec() {
	local secs=$1 log=$2 p=$3 svc=$4

	shift 4
	spawn "$secs" "$log" "$BERTH" --host-netns "$HOST" -p "$p" exec "$svc" -- "$@"
}

# spawn_in NETNS SECONDS LOG CMD...: spawn, inside a namespace of the test's own.
spawn_in() {
	local ns=$1 secs=$2 log=$3

	shift 3
	spawn "$secs" "$log" ip netns exec "$ns" "$@"
}

# all_gone: every "PID START" on stdin is gone (or no longer that process).
all_gone() {
	local p t

	while read -r p t; do
		pid_gone "$p" || ! pid_ours "$p" "$t" || return 1
	done
}

# bg_stop_all: every process spawned by the test that still runs: TERM, 3 s, KILL. Only
# those: a pid whose start time changed is someone else's now.
bg_stop_all() {
	local p t _

	while read -r p t; do
		pid_ours "$p" "$t" && kill -TERM "$p" 2>/dev/null || true
	done <"$TMP/pids"
	for _ in $(seq 30); do
		all_gone <"$TMP/pids" && break
		sleep 0.1
	done
	while read -r p t; do
		pid_ours "$p" "$t" && kill -KILL "$p" 2>/dev/null || true
	done <"$TMP/pids"
	: >"$TMP/pids"
}

# at_cleanup 'COMMAND': run (eval) by the test's cleanup, before its projects go down.
at_cleanup() { echo "$1" >>"$TMP/cleanup"; }

# log_has FILE ERE: a line of FILE matches ERE (for wait_until).
log_has() { [[ -f $1 ]] && grep -qE "$2" "$1"; }

# listening PROJECT SERVICE PORT: something listens on TCP PORT in the endpoint.
listening() {
	[[ -n $(berth --host-netns "$HOST" -p "$1" exec "$2" -- ss -Hltn "sport = :$3" 2>/dev/null) ]]
}

# tcp_ok PROJECT SERVICE ADDR PORT: a TCP connection from the endpoint, up to 3 s.
tcp_ok() { berth --host-netns "$HOST" -p "$1" exec "$2" -- nc -z -w 3 "$3" "$4"; }

# tcp_fails PROJECT SERVICE ADDR PORT: no TCP connection within 2 s.
tcp_fails() {
	if berth --host-netns "$HOST" -p "$1" exec "$2" -- nc -z -w 2 "$3" "$4"; then
		echo "expected no connection from $2 to $3:$4"
		return 1
	fi
}

# ---- the outside: a namespace behind the instance's uplink ----
#
#   berth-t-PID-out (outside)            berth-t-PID-h (the instance's host namespace)
#   +------------------------------+     +-------------------------------------------+
#   | lo: 203.0.113.10/32 (FAR)    | veth| tupPID 198.51.100.1/24: the uplink, whose  |
#   | eth0: 198.51.100.2/24        +-----+ address berth masquerades to;              |
#   |   servers, a sniffer on eth0 |     | default via 198.51.100.2                   |
#   +------------------------------+     +-------------------------------------------+
#
# FAR is beyond the next hop, so that the datapath has to route through the gateway.
# IPv6 is off on both ends (no router solicitations in counters or the sniffer). A script
# calls outside_start after netns_setup and outside_stop before finish; berth up gets
# --uplink "$UPLINK" (up_out).
OUT_NS="berth-t-$$-out"
UPLINK="tup$$"			# "tup" + a pid of at most 7 digits: within IFNAMSIZ
UPLINK_ADDR=198.51.100.1
OUT_ADDR=198.51.100.2
FAR_ADDR=203.0.113.10

outside_setup() {
	ip netns add "$OUT_NS"
	ip -n "$HOST" link add "$UPLINK" type veth peer name eth0 netns "$OUT_NS"
	ip netns exec "$HOST" sysctl -qw "net.ipv6.conf.$UPLINK.disable_ipv6=1"
	ip netns exec "$OUT_NS" sysctl -qw net.ipv6.conf.eth0.disable_ipv6=1
	ip -n "$HOST" addr add "$UPLINK_ADDR/24" dev "$UPLINK"
	ip -n "$HOST" link set "$UPLINK" up
	ip -n "$HOST" route add default via "$OUT_ADDR" dev "$UPLINK"
	ip -n "$OUT_NS" link set lo up
	ip -n "$OUT_NS" addr add "$FAR_ADDR/32" dev lo
	ip -n "$OUT_NS" addr add "$OUT_ADDR/24" dev eth0
	ip -n "$OUT_NS" link set eth0 up
	expect "$HOST reaches $FAR_ADDR in $OUT_NS" \
		wait_until 5 ip netns exec "$HOST" ping -n -c1 -W1 "$FAR_ADDR"
}

# outside_start: the outside, once per script, as a test line of its own; the script
# ends there if it cannot be made.
outside_start() {
	run outside-namespace outside_setup
	if [[ $FAILED != 0 ]]; then
		outside_stop
		finish
		exit "$FAILED"
	fi
}

# outside_stop: the link first (deleting a namespace is asynchronous), then the namespace.
outside_stop() {
	ip -n "$HOST" link del "$UPLINK" 2>/dev/null || true
	ip netns del "$OUT_NS" 2>/dev/null || true
}

# up_out PROJECT FILE [ARGS...]: up_project with --uplink "$UPLINK".
up_out() {
	local p=$1 f=$2

	shift 2
	up_project "$p" "$f" "$HOST" --uplink "$UPLINK" "$@"
}

# out_serve PORT[,PORT...] LOG [ADDR]: nettool's TCP and UDP echo in the outside (on FAR
# unless ADDR), until the test ends. Each of these out_* starts LOG afresh.
out_serve() {
	: >"$2"
	spawn_in "$OUT_NS" 600 "$2.out" "$PY" "$NETTOOL" serve "${3:-$FAR_ADDR}" "$1" "$2"
	expect "the outside's echo server on $1" wait_until 10 log_has "$2" '^ready$'
}

# out_http PORT LOG: an HTTP server (nettool http) on FAR:PORT in the outside, until the
# test ends, serving "berth-outside-PID"; LOG gets its request lines, which begin with the
# client's address.
out_http() {
	mkdir -p "$TMP/www"
	echo "berth-outside-$$" >"$TMP/www/index.html"
	: >"$2"
	spawn_in "$OUT_NS" 600 "$2.out" "$PY" "$NETTOOL" http "$FAR_ADDR" "$1" "$TMP/www" "$2"
	expect "the outside's http server on $1" wait_until 10 log_has "$2" '^ready$'
}

# out_sniff LOG: every IPv4 packet arriving at the outside's eth0, until the test ends.
out_sniff() {
	: >"$1"
	spawn_in "$OUT_NS" 600 "$1.out" "$PY" "$NETTOOL" sniff eth0 "$1"
	expect "the outside's sniffer" wait_until 10 log_has "$1" '^ready$'
}

# sniffed LOG ERE: how many sniffed packets match ERE (fields: SRC DST PROTO SPORT DPORT).
sniffed() { grep -v '^ready$' "$1" | grep -cE "$2" || true; }

# cgroup2 mount point, from /proc/mounts
cgroup2_root() { awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts; }

# cg_pids HOSTNS: every pid in the instance's cgroups (the x-berth run commands).
cg_pids() {
	local root

	root=$(cgroup2_root)
	[[ -n $root && -d $root/berth/$1 ]] || return 0
	find "$root/berth/$1" -name cgroup.procs -exec cat {} + 2>/dev/null | sort -n
}

# A zombie counts as gone: it holds nothing, and some PID 1s never reap orphans.
pid_gone() { [[ ! -e /proc/$1 ]] || [[ $(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) == Z ]]; }

# ---- leak checks ----

# snapshot FILE [HOSTNS...]: what this script's berth projects could leave behind.
# Machine-wide places are filtered to this script's names (other scripts may run beside it).
snapshot() {
	local f=$1 h root

	shift
	root=$(cgroup2_root)
	{
		echo "== ip netns list"
		ip netns list | awk '{ print $1 }' | grep -E "$TAG" | sort || true
		for h in "$@"; do
			if ! ns_exists "$h"; then
				echo "== host namespace $h: absent"
				continue
			fi
			echo "== ip -n $h link"
			ip -n "$h" -o link show
			echo "== ip -n $h addr"
			ip -n "$h" -o addr show
			echo "== ip -n $h route"
			ip -n "$h" route show table all
			echo "== ip -n $h neigh"
			ip -n "$h" neigh show
		done
		echo "== pins under /sys/fs/bpf"
		find /sys/fs/bpf -maxdepth 3 2>/dev/null | grep -E "$TAG" | sort || true
		echo "== files under /run/berth"
		find /run/berth 2>/dev/null | grep -E "$TAG" | sort || true
		echo "== /run/berth/registry.json"
		grep -E "$TAG" /run/berth/registry.json 2>/dev/null || true
		echo "== cgroups under $root/berth"
		if [[ -n $root && -d $root/berth ]]; then
			find "$root/berth" -type d | grep -E "$TAG" | sort || true
		fi
		for h in "$@"; do
			echo "pids of $h: $(cg_pids "$h" | tr '\n' ' ')"
		done
		echo "== ls /etc/netns"
		find /etc/netns -mindepth 1 -maxdepth 1 -printf '%f\n' 2>/dev/null | grep -E "$TAG" |
			sort || true
	} >"$f"
}

# snap_compare BEFORE AFTER: prints the difference and fails when there is one.
snap_compare() {
	if ! diff -u "$1" "$2" >"$TMP/snap.diff"; then
		echo "left behind (diff before → after):"
		cat "$TMP/snap.diff"
		return 1
	fi
}

# ---- running ----

debug_stop() {
	[[ ${DEBUG:-0} == 1 ]] || return 0
	echo "DEBUG: stopped after $1: host namespace $HOST, files $TMP, berth $BERTH"
	echo "DEBUG: try: ip netns list | grep t$$; $BERTH --host-netns $HOST -p PROJECT ps"
	read -r -p "DEBUG: press Enter to clean up and go on " _ </dev/tty || true
}

# Take down what the last test brought up, delete what it made.
test_cleanup() {
	local p h n

	# background processes first (spawn): a berth exec among them holds its endpoint
	if [[ -s $TMP/pids ]]; then
		bg_stop_all
	fi
	if [[ -s $TMP/cleanup ]]; then
		tac "$TMP/cleanup" | while read -r n; do eval "$n" >/dev/null 2>&1 || true; done
		: >"$TMP/cleanup"
	fi
	if [[ -s $TMP/projects ]]; then
		tac "$TMP/projects" | while read -r p h; do
			# never without --host-netns: the machine's own instance is not ours
			if ns_exists "$h"; then
				timeout -k 5 120 "$BERTH" --host-netns "$h" -p "$p" down \
					</dev/null >/dev/null 2>&1 || true
			fi
		done
		: >"$TMP/projects"
	fi
	if [[ -s $TMP/netns ]]; then
		tac "$TMP/netns" | while read -r n; do
			ip netns del "$n" 2>/dev/null || true
			rm -rf "/etc/netns/$n"
		done
		: >"$TMP/netns"
	fi
	return 0
}

# run NAME FUNCTION [ARGS...]: one PASS/FAIL/SKIP line; the output only on failure.
run() {
	local name=$1 out="$TMP/out.$1" rc

	shift
	set +e
	(
		set -e
		"$@"
	) >"$out" 2>&1
	rc=$?
	set -e
	if ((rc == 0)); then
		pass "$name"
	elif ((rc == SKIP_RC)); then
		skip "$name" "$(tail -n1 "$out")"
	else
		fail "$name" "$out"
		debug_stop "$name"
	fi
	test_cleanup
}

# What berth should have removed and did not (finish reports it): remove it, so that a
# berth bug does not litter the machine. Only this script's names; only its instances' pids.
scrub() {
	local root d pid

	root=$(cgroup2_root)
	if [[ -n $root && -d $root/berth ]]; then
		for d in $(find "$root/berth" -mindepth 1 -maxdepth 1 -type d | grep -E "$TAG"); do
			find "$d" -name cgroup.procs -exec cat {} + 2>/dev/null | while read -r pid; do
				kill -KILL "$pid" 2>/dev/null
			done
			sleep 0.2
			find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null
		done
		rmdir "$root/berth" 2>/dev/null
	fi
	for d in $(ip netns list | awk '{ print $1 }' | grep -E "$TAG"); do
		ip netns del "$d" 2>/dev/null
	done
	for d in $(find /etc/netns /sys/fs/bpf/berth /run/berth -mindepth 1 -maxdepth 1 \
		2>/dev/null | grep -E "$TAG"); do
		rm -rf "$d"
	done
	rmdir /sys/fs/bpf/berth 2>/dev/null
}

cleanup() {
	local rc=$?

	set +e
	if [[ ${DEBUG:-0} == 1 && $FAILED != 0 ]]; then
		debug_stop "the last test"
	fi
	if [[ -n $TMP && -d $TMP ]]; then
		test_cleanup
		rm -rf "$TMP"
	fi
	scrub
	exit "$rc"
}

# netns_setup: check that the tier can run here, make the host namespace, take the baseline.
netns_setup() {
	local t

	[[ $EUID -eq 0 ]] || skip_all "needs root (network namespaces, BPF, cgroups)"
	for t in ip python3 timeout nsenter; do
		command -v "$t" >/dev/null || skip_all "needs $t"
	done
	[[ -x $BERTH ]] || skip_all "no berth binary at $BERTH (run make)"
	trap cleanup EXIT
	TMP=$(mktemp -d "/tmp/berth-t-$$.XXXXXX")
	: >"$TMP/projects"
	: >"$TMP/netns"
	: >"$TMP/pids"
	: >"$TMP/cleanup"
	ip netns add "$HOST" 2>"$TMP/netns.err" ||
		skip_all "ip netns add fails: $(cat "$TMP/netns.err")"
	snapshot "$TMP/baseline" "$HOST"
}

# finish: the script's last check: nothing of it is left. Then: exit "$FAILED".
finish() {
	test_cleanup
	snapshot "$TMP/final" "$HOST"
	if snap_compare "$TMP/baseline" "$TMP/final" >"$TMP/out.final" 2>&1; then
		pass "$SCRIPT: nothing left behind"
	else
		fail "$SCRIPT: nothing left behind" "$TMP/out.final"
	fi
}
