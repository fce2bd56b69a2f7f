#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# berth exec's exit codes and replica selection, and the JSON of the commands
# that act on a project (up, ps, network ls/inspect, down, and their errors).
#
#   berth-t-PID-h (host namespace of the instance)
#   +----------------------------------------------------------+
#   | berth0 (gateways)          bth* veths                    |
#   +-----+----------------+----------------+------------------+
#         |                |                |
#   [ tPID-cli-web-1 ] [ tPID-cli-web-2 ] [ tPID-cli-db-1: eth0 front, eth1 back ]
#
# Run as root: tests/netns/test_exec_json.sh  (DEBUG=1 stops after a failure)
set -euo pipefail
source "$(dirname "$0")/lib.sh"

P=t$$-cli

spec() {
	cat <<EOF
name: $P
services:
  web:
    networks: [front]
    deploy: {replicas: 2}
  db:
    networks: [front, back]
networks:
  front: {}
  back: {internal: true}
EOF
}

# exec_rc WANT ARGS...: berth ARGS exits WANT.
exec_rc() {
	local want=$1 rc=0

	shift
	bh -p "$P" "$@" || rc=$?
	echo "berth $* -> $rc"
	expect_eq "exit status of berth $*" "$rc" "$want"
}

test_exec_codes() {
	local out rc

	up_project "$P" "$(spec | compose exec)"
	exec_rc 0 exec web -- true
	exec_rc 3 exec web -- sh -c 'exit 3'
	exec_rc 127 exec web -- "berth-t-$$-nosuchcmd"
	exec_rc 125 exec nosuchsvc -- true
	exec_rc 125 exec web.3 -- true
	exec_rc 125 exec web
	rc=0
	berth --host-netns "$HOST" -p "t$$-nosuchproject" exec web -- true || rc=$?
	expect_eq "exec in a project that is not up" "$rc" 125
	# replicas: web.2 is the second namespace
	out=$(bh -p "$P" exec web.2 -- ip -4 -o addr show eth0)
	echo "web.2: $out"
	expect "web.2 has the address ps gives it" grep -qF " $(ep_ip "$P" web.2)/" <<<"$out"
	out=$(bh -p "$P" exec web -- ip -4 -o addr show eth0)
	expect "web is web.1" grep -qF " $(ep_ip "$P" web.1)/" <<<"$out"
	expect "web.1 and web.2 differ" [ "$(ep_ip "$P" web.1)" != "$(ep_ip "$P" web.2)" ]
	# the command's output and stdout/stderr pass through
	expect_eq "stdout passes through" "$(bh -p "$P" exec db -- echo hello)" hello
}

# json_ok WHAT: stdin must parse as JSON.
json_ok() {
	local what=$1

	cat >"$TMP/json.in"
	if ! python3 -m json.tool "$TMP/json.in" >/dev/null; then
		echo "not JSON: $what:"
		cat "$TMP/json.in"
		return 1
	fi
}

test_json() {
	local f out

	f=$(spec | compose json)
	project_track "$P" "$HOST"
	out=$(bh -p "$P" up -f "$f" --json)
	echo "up: $out"
	json_ok "up --json" <<<"$out"
	expect_eq "up --json project" "$(py 'd["project"]' <<<"$out")" "$P"
	out=$(bh -p "$P" ps --json)
	json_ok "ps --json" <<<"$out"
	python3 -c 'import json, sys
eps = json.load(sys.stdin)
assert isinstance(eps, list) and len(eps) == 3, "3 endpoints, got %r" % eps
seen = set()
for e in eps:
    for k, t in (("service", str), ("replica", int), ("namespace", str), ("networks", list)):
        assert isinstance(e.get(k), t), "%s: %r is not %s" % (k, e.get(k), t.__name__)
    assert e["replica"] >= 1, "replica counts from 1: %r" % e
    seen.add((e["service"], e["replica"]))
    for n in e["networks"]:
        for k in ("name", "key", "interface", "ipv4", "mac"):
            assert isinstance(n.get(k), str) and n[k], "networks[].%s missing in %r" % (k, n)
    names = [n["interface"] for n in e["networks"]]
    assert names == ["eth%d" % i for i in range(len(names))], "interfaces %r" % names
assert seen == {("web", 1), ("web", 2), ("db", 1)}, "endpoints %r" % seen
db = [e for e in eps if e["service"] == "db"][0]
assert [n["key"] for n in db["networks"]] == ["front", "back"], db
' <<<"$out" || { echo "$out"; return 1; }
	out=$(bh -p "$P" network ls --json)
	json_ok "network ls --json" <<<"$out"
	expect_eq "network ls keys" "$(py 'sorted(n["key"] for n in d)' <<<"$out" | tr '\n' ' ')" "back front "
	out=$(bh -p "$P" network inspect front --json)
	json_ok "network inspect --json" <<<"$out"
	expect_eq "front has 3 endpoints" "$(py 'len(d["endpoints"])' <<<"$out")" 3
	out=$(bh -p "$P" network inspect back --json)
	expect_eq "back is internal" "$(py 'd["internal"]' <<<"$out")" True
	# errors are JSON too
	out=$(bh -p "$P" network inspect nosuch --json 2>/dev/null) && return 1
	json_ok "network inspect of a missing network" <<<"$out"
	expect "an error key" py 'd["error"]' <<<"$out"
	out=$(berth --host-netns "$HOST" -p "t$$-nosuchproject" ps --json 2>/dev/null) && return 1
	json_ok "ps of a project that is not up" <<<"$out"
	expect "an error key" py 'd["error"]' <<<"$out"
	out=$(bh -p "$P" down --json)
	echo "down: $out"
	json_ok "down --json" <<<"$out"
}

netns_setup
run exec-exit-codes test_exec_codes
run json-outputs test_json
finish
exit "$FAILED"
