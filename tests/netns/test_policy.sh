#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Policy rules (top-level x-berth policy): a service named as `to` accepts new flows only
# as its rules allow, others are unaffected, rules never open what isolation closes, and a
# rule change under load keeps the flows that stay allowed and stops the ones that do not.
#
#   berth-t-PID-h (host namespace of the instance; no uplink: nothing leaves here)
#   +----------------------------------------------------------------+
#   | berth0 (gateways)               bth* veths                     |
#   +------+------------------+-------------------+------------------+
#          |                  |                   |
#     [ web ]           [ api: echo :5000 ]  [ db: echo :5432 ... ]   network n
#   isolation:  [ a: one ]  [ b: one, two; echo :7 ]  [ c: two; echo :7 ]
#
# The servers are tests/netns/nettool.py serve (TCP and UDP echo), started by x-berth run.
#
# Run as root: tests/netns/test_policy.sh  (DEBUG=1 stops after a failure)
set -euo pipefail
source "$(dirname "$0")/lib.sh"

# three PROJECT RULES...: web, api (echo on 5000) and db (echo on DB_PORTS, else 5432,5433)
# on one network; each RULE a line of the policy list, as flow YAML.
three() {
	local p=$1 r

	shift
	cat <<EOF
name: $p
services:
  web:
    networks: [n]
  api:
    networks: [n]
    x-berth:
      run: $PY $NETTOOL serve 0.0.0.0 5000 $TMP/$p-api.log
  db:
    networks: [n]
    x-berth:
      run: $PY $NETTOOL serve 0.0.0.0 ${DB_PORTS:-5432,5433} $TMP/$p-db.log
networks:
  n: {}
x-berth:
  policy:
EOF
	for r in "$@"; do echo "    - $r"; done
	[[ $# -gt 0 ]] || echo "    []"
}

# servers_ready PROJECT SERVICE...: their echo servers said ready.
servers_ready() {
	local p=$1 s

	shift
	for s in "$@"; do
		expect "$s's echo server" wait_until 20 log_has "$TMP/$p-$s.log" '^ready$'
	done
}

# udp_ok PROJECT SERVICE ADDR PORT / udp_fails: a datagram answered (or not) within 2 s.
udp_ok() { bh -p "$1" exec "$2" -- "$PY" "$NETTOOL" udp-ask "$3" "$4" >/dev/null; }
udp_fails() {
	if bh -p "$1" exec "$2" -- "$PY" "$NETTOOL" udp-ask "$3" "$4"; then
		echo "expected no answer from $3:$4/udp to $2"
		return 1
	fi
}

# The issue's example: only api may open flows to db, only TCP, only to 5432.
test_policy_basic() {
	local p=t$$-pol f db before after out

	f=$(three "$p" '{from: api, to: db, proto: tcp, ports: [5432]}' | compose pol)
	up_project "$p" "$f"
	servers_ready "$p" api db
	db=$(ep_ip "$p" db)
	expect "api -> db:5432" tcp_ok "$p" api db 5432
	out=$(bh -p "$p" exec api -- sh -c 'printf "SELECT 1;\n" | nc -N -w 3 db 5432')
	expect_eq "db's echo to api" "$out" "SELECT 1;"
	before=$(counted "$p" drop_policy)
	expect "web -/-> db:5432" tcp_fails "$p" web db 5432
	after=$(counted "$p" drop_policy)
	echo "drop_policy: $before -> $after"
	expect "drop_policy counts web's SYNs" [ "$after" -gt "$before" ]
	expect "api -/-> db:5433 (not in the rule)" tcp_fails "$p" api "$db" 5433
	expect "api -/-> db:5432/udp (tcp only)" udp_fails "$p" api "$db" 5432
	expect "api -/-> db by ping (tcp only)" ping_fails "$p" api "$db"
	expect "web -/-> db by ping" ping_fails "$p" web "$db"
	# services never named as `to` are unaffected, db's own new flows included
	expect "db -> api:5000" tcp_ok "$p" db api 5000
	expect "db -> api:5000/udp" udp_ok "$p" db api 5000
	expect "web -> api:5000" tcp_ok "$p" web api 5000
	expect "db pings web" ping_ok "$p" db "$(ep_ip "$p" web)"
	expect "web pings api" ping_ok "$p" web "$(ep_ip "$p" api)"
	after=$(counted "$p" drop_policy)
	echo "drop_policy at the end: $after"
	expect "every refused attempt counted (2+ SYNs web, 2+ api:5433, 1 datagram, 2 pings)" \
		[ "$after" -ge $((before + 6)) ]
}

# Protocols, port ranges, icmp, and a rule with no proto (any).
test_policy_protocols() {
	local p=t$$-proto f db

	f=$(DB_PORTS=5432,5433,5500 three "$p" \
		'{from: web, to: db, proto: udp, ports: ["5400-5499"]}' \
		'{from: web, to: db, proto: icmp}' \
		'{from: api, to: db}' | compose proto)
	up_project "$p" "$f"
	servers_ready "$p" api db
	db=$(ep_ip "$p" db)
	expect "web -> db:5432/udp (in 5400-5499)" udp_ok "$p" web "$db" 5432
	expect "web -> db:5433/udp (in 5400-5499)" udp_ok "$p" web "$db" 5433
	expect "web -/-> db:5500/udp (outside 5400-5499)" udp_fails "$p" web "$db" 5500
	expect "web -/-> db:5432/tcp (udp and icmp only)" tcp_fails "$p" web "$db" 5432
	expect "web pings db (icmp)" ping_ok "$p" web "$db"
	expect "api -> db:5432/tcp (any)" tcp_ok "$p" api "$db" 5432
	expect "api -> db:5500/tcp (any)" tcp_ok "$p" api "$db" 5500
	expect "api -> db:5500/udp (any)" udp_ok "$p" api "$db" 5500
	expect "api pings db (any)" ping_ok "$p" api "$db"
}

# Rules only narrow what isolation allows: a rule between services of different networks
# opens nothing; one that names c guards it from b, its neighbour on two.
test_policy_within_isolation() {
	local p=t$$-piso f c before after

	f=$(compose piso <<EOF
name: $p
services:
  a:
    networks: [one]
  b:
    networks: [one, two]
    x-berth:
      run: $PY $NETTOOL serve 0.0.0.0 7 $TMP/$p-b.log
  c:
    networks: [two]
    x-berth:
      run: $PY $NETTOOL serve 0.0.0.0 7 $TMP/$p-c.log
networks:
  one: {}
  two: {}
x-berth:
  policy:
    - {from: a, to: c, proto: tcp, ports: [7]}
EOF
)
	up_project "$p" "$f"
	servers_ready "$p" b c
	c=$(ep_ip "$p" c two)
	before=$(counted "$p" drop_isolation)
	expect "a -/-> c:7 (a rule, but no shared network)" tcp_fails "$p" a "$c" 7
	after=$(counted "$p" drop_isolation)
	echo "drop_isolation: $before -> $after"
	expect "drop_isolation counts a's SYNs" [ "$after" -gt "$before" ]
	before=$(counted "$p" drop_policy)
	expect "b -/-> c:7 (c is guarded, b has no rule)" tcp_fails "$p" b "$c" 7
	after=$(counted "$p" drop_policy)
	echo "drop_policy: $before -> $after"
	expect "drop_policy counts b's SYNs" [ "$after" -gt "$before" ]
	expect "a -> b:7 (b is not guarded)" tcp_ok "$p" a b 7
	expect "c -> b:7 (b is not guarded)" tcp_ok "$p" c "$(ep_ip "$p" b two)" 7
}

now() { date +%s.%N; }

# oks_after LOG TIME: echoes the ticker logged after TIME.
oks_after() { awk -v t="$2" '$1 == "ok" && $3 > t' "$1" | wc -l; }

# A long-running api -> db connection (a line every 100 ms over one TCP connection) while
# `berth up` changes the rules: kept by rules that still allow it (though api becomes a
# guarded `to` itself, so its replies from db must pass as replies), stopped at its next
# packet by rules that deny it, new flows refused from then on.
test_policy_change_under_load() {
	local p=t$$-load f t1 t2 n1 n2 before after last

	f=$(three "$p" '{from: api, to: db, proto: tcp, ports: [5432]}' | compose load)
	up_project "$p" "$f"
	servers_ready "$p" api db
	spawn_exec 90 "$TMP/ticker.out" "$p" api "$PY" "$NETTOOL" ticker db 5432 "$TMP/ticker.log" 60
	expect "the connection's first 10 echoes" wait_until 10 log_has "$TMP/ticker.log" '^ok 10 '
	# 1. rules that still allow it
	three "$p" '{from: api, to: db, proto: tcp, ports: [5432, "6000-6010"]}' \
		'{from: web, to: api, proto: tcp, ports: [5000]}' >"$f"
	before=$(drops_total "$p")
	bh -p "$p" up -f "$f"
	t1=$(now)
	sleep 2
	n1=$(oks_after "$TMP/ticker.log" "$t1")
	after=$(drops_total "$p")
	echo "after the allowing change: $n1 echoes in 2 s; drops $before -> $after;" \
		"last: $(tail -n1 "$TMP/ticker.log")"
	expect_fail "an error on the connection" grep -q '^err' "$TMP/ticker.log"
	expect "10 or more echoes in the 2 s after it" [ "$n1" -ge 10 ]
	expect_eq "drops while the rules changed to allowing ones" "$after" "$before"
	expect "web -> api:5000 (the new rule)" tcp_ok "$p" web api 5000
	expect "db -/-> api:5000 (api is guarded now)" tcp_fails "$p" db api 5000
	# 2. rules that deny it
	three "$p" '{from: web, to: db, proto: tcp, ports: [5432]}' >"$f"
	before=$(counted "$p" drop_policy)
	bh -p "$p" up -f "$f"
	t2=$(now)
	expect "the connection to fail" wait_until 5 log_has "$TMP/ticker.log" '^err'
	n2=$(oks_after "$TMP/ticker.log" "$(awk -v t="$t2" 'BEGIN { printf "%.3f", t + 0.5 }')")
	last=$(grep '^ok' "$TMP/ticker.log" | tail -n1)
	echo "after the denying change at $t2: last $last; $(grep '^err' "$TMP/ticker.log")"
	expect_eq "echoes later than 0.5 s after the denying up returned" "$n2" 0
	after=$(counted "$p" drop_policy)
	echo "drop_policy: $before -> $after"
	expect "drop_policy counts the stopped connection's packets" [ "$after" -gt "$before" ]
	expect "api -/-> db:5432 (a new flow)" tcp_fails "$p" api db 5432
	expect "web -> db:5432 (now allowed)" tcp_ok "$p" web db 5432
	# 3. back to the first rules: api's new flows pass again, web's do not
	three "$p" '{from: api, to: db, proto: tcp, ports: [5432]}' >"$f"
	bh -p "$p" up -f "$f"
	expect "api -> db:5432 again" tcp_ok "$p" api db 5432
	expect "web -/-> db:5432 again" tcp_fails "$p" web db 5432
}

netns_setup
for t in nc ping bpftool; do
	command -v "$t" >/dev/null || skip_all "needs $t"
done
run policy-api-to-db test_policy_basic
run policy-protocols-and-ranges test_policy_protocols
run policy-within-isolation test_policy_within_isolation
run policy-change-under-load test_policy_change_under_load
finish
exit "$FAILED"
