#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Smoke test of user/agent/proc.c (spawn, cgroup kill, exec) in a throwaway endpoint.
#
#   host (netns, mounts, /etc untouched)      netns procsmoke-$$ (ip netns add: lo only)
#   -----------------------------------       -----------------------------------------
#   this script                                /etc/hosts = bind of /etc/netns/procsmoke-$$/hosts
#    └─ proc_smoke spawn ──setns+unshare──▶    sh -c 'sleep 300 & sleep 300'   cgroup $CG/tree
#    └─ proc_smoke spawn ──────────────────▶   sh -c 'cat /etc/hosts; ip -o link' cgroup $CG/look
#    └─ proc_smoke exec  ──────────────────▶   true | exit 3 | nosuchcmd | sleep (SIGTERM fwd)
#
#   $CG = <cgroup2 root>/procsmoke-$$; logs and the driver live in a mktemp -d directory.
#
# Run as root from the repository root or anywhere:  tests/netns/proc_smoke.sh
# PROC_SMOKE=/tmp/proc_smoke uses a driver built by hand; otherwise one is built here.
# DEBUG=1 stops before cleanup so that the namespace, cgroups and logs can be inspected.
# Exits 4 (kselftest's SKIP) with a reason when it cannot run.
set -euo pipefail

readonly KSFT_SKIP=4
readonly NS="procsmoke-$$"
readonly MARKER="10.99.99.99 procsmoke-marker-$$"
REPO=$(cd "$(dirname "$0")/../.." && pwd)
TMP=""
CG=""
BIN=""
FWD_PID=""
FAILED=0
MADE_ETC_NETNS=0

skip() { echo "SKIP proc_smoke: $*"; exit "$KSFT_SKIP"; }

cleanup() {
	local rc=$?

	set +e
	if [[ "${DEBUG:-0}" == 1 ]]; then
		echo "DEBUG: netns $NS, cgroup $CG, files $TMP"
		read -r -p "DEBUG: press Enter to clean up " _ || true
	fi
	# Only what this script started, by pid or by its own cgroup.
	[[ -n "$FWD_PID" ]] && kill -KILL "$FWD_PID" 2>/dev/null
	if [[ -n "$CG" && -d "$CG" ]]; then
		if [[ -n "$BIN" && -x "$BIN" ]]; then
			"$BIN" kill "$CG" 3000
		else
			find "$CG" -name cgroup.procs -exec cat {} + 2>/dev/null |
				while read -r pid; do kill -KILL "$pid" 2>/dev/null; done
			sleep 0.2
			find "$CG" -depth -type d -exec rmdir {} \; 2>/dev/null
		fi
		[[ -d "$CG" ]] && echo "cleanup: could not remove $CG"
	fi
	ip netns del "$NS" 2>/dev/null
	rm -rf "/etc/netns/$NS"
	[[ "$MADE_ETC_NETNS" == 1 ]] && rmdir /etc/netns 2>/dev/null
	[[ -n "$TMP" ]] && rm -rf "$TMP"
	exit "$rc"
}

# run NAME FUNC: one PASS/FAIL line; the test's output only when it fails.
run() {
	local name=$1 out="$TMP/out.$1"

	shift
	if "$@" >"$out" 2>&1; then
		echo "PASS $name"
	else
		echo "FAIL $name"
		sed 's/^/    /' "$out"
		FAILED=1
	fi
}

# Functions called from `if` run without errexit: every check returns on its own.
expect() {
	local what=$1

	shift
	"$@" && return 0
	echo "expected: $what"
	return 1
}

# wait_until SECONDS CMD...: polls CMD every 50 ms.
wait_until() {
	local end=$((SECONDS + $1))

	shift
	until "$@"; do
		((SECONDS < end)) || return 1
		sleep 0.05
	done
}

not() { ! "$@"; }
has_child() { pgrep -P "$1" >/dev/null; }
cg_empty() { grep -qx 'populated 0' "$1/cgroup.events"; }
# A zombie counts as gone: it has left its cgroup, and PID 1 of some VMs reaps orphans late.
pid_gone() { [[ ! -e /proc/$1 ]] || [[ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" == Z ]]; }
comm_count() {	# comm_count CGROUP_DIR COMM: how many of its pids run COMM
	local pid n=0

	for pid in $("$BIN" pids "$1"); do
		[[ "$(cat "/proc/$pid/comm" 2>/dev/null)" == "$2" ]] && n=$((n + 1))
	done
	echo "$n"
}
two_sleeps() { [[ "$(comm_count "$CG/tree" sleep)" == 2 ]]; }
section() { sed -n "/^==$2\$/,/^==/p" "$1" | sed '1d;$d'; }

test_root() {
	echo "cgroup2 root: $ROOT"
	expect "a cgroup2 mount" [ "$(stat -f -c %T "$ROOT")" = cgroup2fs ] || return 1
	expect "the first cgroup2 line of /proc/mounts" \
		[ "$ROOT" = "$(awk '$3 == "cgroup2" {print $2; exit}' /proc/mounts)" ]
}

test_spawn_tree() {
	local sid netns

	TREE_PID=$("$BIN" spawn "$CG/tree" "$NS" "$TMP/logs/tree.log" 'sleep 300 & sleep 300') ||
		return 1
	echo "pid $TREE_PID; cgroup.procs: $(tr '\n' ' ' <"$CG/tree/cgroup.procs")"
	expect "the process outlives proc_smoke" kill -0 "$TREE_PID" || return 1
	expect "both sleeps in $CG/tree" wait_until 5 two_sleeps || return 1
	expect "the pid reported is in the cgroup" grep -qx "$TREE_PID" "$CG/tree/cgroup.procs" ||
		return 1
	sid=$(awk '{print $6}' "/proc/$TREE_PID/stat")
	expect "a session of its own (sid $sid)" [ "$sid" = "$TREE_PID" ] || return 1
	netns=$(stat -L -c %i "/run/netns/$NS")
	expect "inside netns $NS" [ "$(readlink "/proc/$TREE_PID/ns/net")" = "net:[$netns]" ] ||
		return 1
	expect "a private mount namespace" \
		[ "$(readlink "/proc/$TREE_PID/ns/mnt")" != "$(readlink /proc/self/ns/mnt)" ] || return 1
	expect "stdin is /dev/null" [ "$(readlink "/proc/$TREE_PID/fd/0")" = /dev/null ] || return 1
	expect "stdout is the log" [ "$(readlink "/proc/$TREE_PID/fd/1")" = "$TMP/logs/tree.log" ] ||
		return 1
	expect "log created 0640" [ "$(stat -c %a "$TMP/logs/tree.log")" = 640 ]
}

test_spawn_view() {
	local log="$TMP/logs/look.log" links

	"$BIN" spawn "$CG/look" "$NS" "$log" \
		'echo ==hosts; cat /etc/hosts; echo ==link; ip -o link; echo ==end' >/dev/null || return 1
	expect "the command to finish" wait_until 5 cg_empty "$CG/look" || return 1
	cat "$log"
	expect "the marker in its /etc/hosts" grep -qxF "$MARKER" <(section "$log" hosts) || return 1
	links=$(section "$log" link | awk -F': ' '{print $2}' | tr '\n' ' ')
	expect "only lo in its netns (saw: $links)" [ "$links" = "lo " ] || return 1
	expect "the host's /etc/hosts unchanged" not grep -qF "$MARKER" /etc/hosts || return 1
	expect "no /etc bind mount leaked to the host" \
		not grep -q " /etc/hosts " /proc/self/mountinfo || return 1
	"$BIN" kill "$CG/look" 1000 || return 1
	expect "$CG/look removed" [ ! -e "$CG/look" ]
}

test_kill_tree() {
	local pids pid

	pids=$("$BIN" pids "$CG/tree") || return 1
	echo "pids before: $(tr '\n' ' ' <<<"$pids")"
	expect "something to kill" [ -n "$pids" ] || return 1
	"$BIN" kill "$CG/tree" 2000 || return 1
	expect "$CG/tree removed" [ ! -e "$CG/tree" ] || return 1
	for pid in $pids; do
		expect "pid $pid gone" wait_until 2 pid_gone "$pid" || return 1
	done
	expect "kill of a missing cgroup is 0" "$BIN" kill "$CG/tree" 100
}

# kill_einval DIR: proc_kill_cgroup(DIR) is refused before it touches anything.
kill_einval() {
	local out

	out=$("$BIN" kill "$1" 100 2>&1) && return 1
	echo "kill $1: $out"
	grep -q 'Invalid argument' <<<"$out"
}

test_kill_refuses() {
	expect "refuse the cgroup2 root" kill_einval "$ROOT" || return 1
	expect "refuse .. out of the root" kill_einval "$ROOT/x/../.." || return 1
	expect "refuse a path outside cgroup2" kill_einval /tmp/x
}

test_spawn_failures() {
	local log="$TMP/logs/fail.log" out

	# Missing netns: nothing left, not even the parents it created.
	out=$("$BIN" spawn "$CG/new/deep/x" "nosuch-$NS" "$log" 'sleep 300' 2>&1) && return 1
	echo "$out"
	expect "ENOENT" grep -q 'No such file' <<<"$out" || return 1
	expect "$CG/new removed again" [ ! -e "$CG/new" ] || return 1
	expect "the reason in the log" grep -q "berth: spawn: namespace nosuch-$NS: No such file" "$log" ||
		return 1
	# An existing cgroup is refused: kill must only end one command's tree.
	mkdir -p "$CG/taken"
	out=$("$BIN" spawn "$CG/taken" "$NS" "$log" 'sleep 300' 2>&1) && return 1
	echo "$out"
	expect "EEXIST" grep -q 'File exists' <<<"$out" || return 1
	expect "no process in $CG/taken" [ -z "$(cat "$CG/taken/cgroup.procs")" ] || return 1
	rmdir "$CG/taken"
	# A bind that fails after the child joined its cgroup: the undo path must empty it.
	touch "/etc/netns/$NS/procsmoke-nothere-$$"
	out=$("$BIN" spawn "$CG/bind" "$NS" "$log" 'sleep 300' 2>&1) && return 1
	rm -f "/etc/netns/$NS/procsmoke-nothere-$$"
	echo "$out"
	expect "$CG/bind removed" [ ! -e "$CG/bind" ] || return 1
	expect "the bind named in the log" grep -q "bind /etc/netns/$NS/procsmoke-nothere-$$ over" "$log"
}

# exec_rc WANT ARGS...: proc_smoke exec ARGS exits WANT.
exec_rc() {
	local want=$1 rc=0

	shift
	"$BIN" exec "$@" || rc=$?
	echo "exec $* -> $rc"
	expect "exit status $want" [ "$rc" = "$want" ]
}

test_exec_codes() {
	exec_rc 0 "$NS" true || return 1
	exec_rc 3 "$NS" sh -c 'exit 3' || return 1
	exec_rc 127 "$NS" "procsmoke-nosuchcmd-$$" || return 1
	exec_rc 126 "$NS" /etc/hosts || return 1
	exec_rc 143 "$NS" sh -c 'kill -TERM $$' || return 1
	exec_rc 0 - true || return 1
	exec_rc 125 "nosuch-$NS" true 2>"$TMP/exec.err" || return 1
	cat "$TMP/exec.err"
	expect "one line saying why" \
		[ "$(cat "$TMP/exec.err")" = "berth: exec: namespace nosuch-$NS: No such file or directory" ]
}

test_exec_view() {
	local out

	out=$("$BIN" exec "$NS" sh -c 'cat /etc/hosts; echo ==link; ip -o link') ||
		{ echo "exec failed: $out"; return 1; }
	echo "$out"
	expect "the marker" grep -qxF "$MARKER" <<<"$out" || return 1
	expect "only lo" [ "$(sed -n '/^==link$/,$p' <<<"$out" | awk -F': ' 'NR > 1 {print $2}')" = lo ]
}

test_exec_forward() {
	local rc=0 child start

	"$BIN" exec "$NS" sleep 30 &
	FWD_PID=$!
	expect "the command started" wait_until 5 has_child "$FWD_PID" || return 1
	child=$(pgrep -P "$FWD_PID")
	start=$SECONDS
	kill -TERM "$FWD_PID"
	wait "$FWD_PID" || rc=$?
	FWD_PID=""
	echo "exec sleep 30, SIGTERM to proc_smoke -> $rc after $((SECONDS - start)) s"
	expect "143 (SIGTERM reached the command)" [ "$rc" = 143 ] || return 1
	expect "the command gone" wait_until 2 pid_gone "$child"
}

[[ $EUID -eq 0 ]] || skip "needs root"
command -v ip >/dev/null || skip "needs ip (iproute2)"
command -v pgrep >/dev/null || skip "needs pgrep (procps)"

trap cleanup EXIT
# A plain exit runs the EXIT trap, whatever the signal would have done.
trap 'exit 130' INT
trap 'exit 143' TERM
TMP=$(mktemp -d /tmp/procsmoke.XXXXXX)
if [[ -n "${PROC_SMOKE:-}" ]]; then
	BIN=$PROC_SMOKE
else
	BIN="$TMP/proc_smoke"
	gcc -Wall -Wextra -Werror -Wno-format-truncation -I"$REPO/user/agent" "$REPO/user/agent/proc.c" \
		"$REPO/tests/netns/proc_smoke.c" -o "$BIN"
fi
ROOT=$("$BIN" root) || skip "no cgroup2 mount in /proc/mounts"
CG="$ROOT/procsmoke-$$"
TREE_PID=""

[[ -d /etc/netns ]] || MADE_ETC_NETNS=1
ip netns add "$NS"
mkdir -p "/etc/netns/$NS"
printf '127.0.0.1 localhost\n%s\n' "$MARKER" >"/etc/netns/$NS/hosts"

run root test_root
run spawn-tree test_spawn_tree
run spawn-view test_spawn_view
run kill-tree test_kill_tree
run kill-refuses test_kill_refuses
run spawn-failures test_spawn_failures
run exec-codes test_exec_codes
run exec-view test_exec_view
run exec-forward test_exec_forward

exit "$FAILED"
