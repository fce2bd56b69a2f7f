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
	if [[ -s $TMP/pids ]]; then
		while read -r p; do kill -KILL "$p" 2>/dev/null || true; done <"$TMP/pids"
		: >"$TMP/pids"
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
