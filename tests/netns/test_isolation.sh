#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Isolation between networks and internal networks, with the exercise's own compose
# files (examples/part3.1-frontend-backend, examples/part3.2-multi-tier) and an outside
# behind the uplink: who reaches whom, by name and by address, and who reaches out.
#
#   berth-t-PID-out (outside)              berth-t-PID-h (host namespace of the instance)
#   +------------------------------+       +------------------------------------------+
#   | lo 203.0.113.10 (FAR):       | veth  | tupPID 198.51.100.1/24 = the uplink       |
#   |   HTTP server :8080          +-------+ default via 198.51.100.2                  |
#   | eth0 198.51.100.2: sniffer   |       | berth0 (gateways)   bth* veths            |
#   +------------------------------+       +---+---------+---------+---------+--------+
#                                              |         |         |         |
#   3.1:  [ nginx: frontend ] [ api: frontend, backend ] [ db: backend (internal) ]
#   3.2:  [ load-balancer: dmz ] [ web-app: dmz, app-tier ] [ api: app-tier, data-tier ]
#         [ database: data-tier ] [ cache: data-tier ]     (app-tier, data-tier internal)
#
# The reachability matrix is derived from the compose file (matrix_probes): X reaches Y by
# name iff they share a network; X reaches Y's address on network N iff X is on N; X
# reaches the outside iff X is on a network that is not internal.
#
# Run as root: tests/netns/test_isolation.sh  (DEBUG=1 stops after a failure)
set -euo pipefail
source "$(dirname "$0")/lib.sh"

EX31=$REPO/examples/part3.1-frontend-backend/compose.yml
EX32=$REPO/examples/part3.2-multi-tier/compose.yml
OUT_PORT=8080		# the outside's http.server

# matrix_probes FILE PS_JSON: one probe a line, "SRC KIND TARGET PORT WANT WHAT", for every
# ordered pair of services by name (KIND name) and by each of the target's addresses (addr),
# and for each service to the outside (out); WANT 1 = must connect, 0 = must not. Derived
# from the compose file alone (networks, internal, the port in each x-berth run command);
# fails when berth's endpoints are not on the networks the file names.
MATRIX_PY='
import json, re, sys, yaml
spec = yaml.safe_load(open(sys.argv[1]))
eps = json.load(open(sys.argv[2]))
far, far_port = sys.argv[3], sys.argv[4]
internal = {k: bool((v or {}).get("internal")) for k, v in (spec.get("networks") or {}).items()}
member, port = {}, {}
for name, svc in spec["services"].items():
    n = svc.get("networks") or ["default"]
    member[name] = set(n if isinstance(n, list) else n.keys())
    port[name] = int(re.search(r"\b(\d+)\b", svc["x-berth"]["run"]).group(1))
addrs = {e["service"]: [(i["key"], i["ipv4"]) for i in e["networks"]] for e in eps}
for name in member:
    got = set(k for k, _ in addrs.get(name, []))
    if got != member[name]:
        sys.exit("%s is on %s, the file says %s" % (name, sorted(got), sorted(member[name])))
for x in member:
    for y in member:
        if x == y:
            continue
        print(x, "name", y, port[y], int(bool(member[x] & member[y])),
              "%s -> %s:%d by name" % (x, y, port[y]))
        for net, ip in addrs[y]:
            print(x, "addr", ip, port[y], int(net in member[x]),
                  "%s -> %s:%d at %s (%s)" % (x, y, port[y], ip, net))
    print(x, "out", far, far_port, int(any(not internal.get(n, False) for n in member[x])),
          "%s -> outside %s:%s" % (x, far, far_port))
'

# matrix_run PROJECT FILE: every probe of matrix_probes at once (nc -z -w 2 inside SRC);
# prints the by-name matrix and every probe that went otherwise than wanted.
matrix_run() {
	local p=$1 f=$2 i n=0 src kind target port want what rc bad=0 pids=() lines=()

	ps_json "$p" >"$TMP/ps.json"
	"$PY" -c "$MATRIX_PY" "$f" "$TMP/ps.json" "$FAR_ADDR" "$OUT_PORT" >"$TMP/probes"
	while read -r src kind target port want what; do
		spawn 20 "$TMP/probe.$n" "$BERTH" --host-netns "$HOST" -p "$p" exec "$src" -- \
			nc -z -w 2 "$target" "$port"
		pids[n]=$SPAWNED
		lines[n]="$src $kind $target $port $want $what"
		n=$((n + 1))
	done <"$TMP/probes"
	: >"$TMP/results"
	for ((i = 0; i < n; i++)); do
		rc=0
		wait "${pids[i]}" || rc=$?
		read -r src kind target port want what <<<"${lines[i]}"
		echo "$src $kind $target $((rc == 0)) $want $what" >>"$TMP/results"
		if (((rc == 0) != want)); then
			bad=$((bad + 1))
			echo "WRONG: $what: $( ((rc == 0)) && echo connected || echo "failed (nc $rc)")," \
				"wanted $( ((want)) && echo a connection || echo none)"
			sed 's/^/    /' "$TMP/probe.$i"
		fi
	done
	# the by-name matrix as it came out (row reaches column), for the log
	python3 -c 'import sys
rows = [l.split(None, 5) for l in open(sys.argv[1])]
svcs = list(dict.fromkeys(r[0] for r in rows))
cell = {(r[0], r[2] if r[1] == "name" else "outside"): r[3] for r in rows if r[1] != "addr"}
w = max(len(s) for s in svcs + ["outside"]) + 1
print("".ljust(w) + "".join(s[:9].ljust(10) for s in svcs + ["outside"]))
for s in svcs:
    print(s.ljust(w) + "".join(("-" if s == t else "yes" if cell.get((s, t)) == "1" else "no").ljust(10)
                               for t in svcs + ["outside"]))' "$TMP/results"
	echo "$n probes, $bad wrong"
	((bad == 0))
}

# wait_servers PROJECT FILE: every service's x-berth run server listens.
wait_servers() {
	local p=$1 svc port

	"$PY" -c 'import re, sys, yaml
for name, svc in yaml.safe_load(open(sys.argv[1]))["services"].items():
    print(name, re.search(r"\b(\d+)\b", svc["x-berth"]["run"]).group(1))' "$2" |
		while read -r svc port; do
			expect "$svc listening on $port" wait_until 20 listening "$p" "$svc" "$port"
		done
}

# force_default_routes PROJECT: in every endpoint without a default route (those only on
# internal networks), one via the gateway of its first network, as a container with
# NET_ADMIN could add; the datapath alone must then keep them in.
force_default_routes() {
	local p=$1 svc key gw

	ps_json "$p" | py '["%s %s" % (e["service"], e["networks"][0]["key"]) for e in d]' |
		while read -r svc key; do
			[[ -z $(bh -p "$p" exec "$svc" -- ip route show default) ]] || continue
			gw=$(bh -p "$p" network inspect "$key" --json | py 'd["gateway"]')
			echo "forcing: $svc default via $gw ($key)"
			bh -p "$p" exec "$svc" -- ip route add default via "$gw"
		done
}

# flows_out LOG: TCP flows (distinct source ports) to the outside's server that arrived.
flows_out() {
	grep -v '^ready$' "$1" | awk -v port="$OUT_PORT" '$3 == 6 && $5 == port { print $4 }' |
		sort -u | wc -l
}

# not_from_uplink LOG: packets that arrived outside from anything but the uplink's address.
not_from_uplink() { grep -v '^ready$' "$1" | awk -v up="$UPLINK_ADDR" '$1 != up' | wc -l; }

# Part 3.1 as the exercise checks it, then the whole matrix.
#   nginx -> api:5000 yes; nginx -> db:5432 no (by name and by address); api -> db:5432
#   yes; db -> outside no (and not with a default route it adds itself); nginx and api
#   (frontend is not internal) -> outside yes, seen as the uplink's address.
test_frontend_backend() {
	local p=t$$-p31 db gw before after sniff_before out

	up_out "$p" "$EX31"
	wait_servers "$p" "$EX31"
	out_http "$OUT_PORT" "$TMP/http.log"
	out_sniff "$TMP/sniff.log"
	db=$(ep_ip "$p" db backend)
	expect "nginx reaches api:5000 (nc -zv api 5000)" tcp_ok "$p" nginx api 5000
	expect "nginx does not reach db:5432 by name" tcp_fails "$p" nginx db 5432
	before=$(counted "$p" drop_isolation)
	expect "nginx does not reach db at $db:5432" tcp_fails "$p" nginx "$db" 5432
	after=$(counted "$p" drop_isolation)
	echo "drop_isolation: $before -> $after"
	expect "drop_isolation counts nginx's SYNs to db" [ "$after" -gt "$before" ]
	expect "api reaches db:5432" tcp_ok "$p" api db 5432
	out=$(bh -p "$p" exec db -- ping -n -c1 -W1 "$FAR_ADDR" 2>&1) && { echo "$out"; return 1; }
	echo "db -> $FAR_ADDR: $out"
	expect "db has no way out: Network is unreachable" grep -q 'Network is unreachable' <<<"$out"
	out=$(bh -p "$p" exec nginx -- curl -sS -m 5 "http://$FAR_ADDR:$OUT_PORT/?from=nginx")
	expect_eq "nginx fetches from the outside" "$out" "berth-outside-$$"
	expect "api reaches the outside (through frontend)" tcp_ok "$p" api "$FAR_ADDR" "$OUT_PORT"
	expect "the outside saw nginx as $UPLINK_ADDR" \
		grep -q "^$UPLINK_ADDR - .*GET /?from=nginx" "$TMP/http.log"
	# db with a default route of its own: the datapath keeps it in
	gw=$(bh -p "$p" network inspect backend --json | py 'd["gateway"]')
	bh -p "$p" exec db -- ip route add default via "$gw"
	sniff_before=$(sniffed "$TMP/sniff.log" .)
	before=$(counted "$p" drop_internal)
	expect_fail "db (default via $gw) pings the outside" \
		bh -p "$p" exec db -- ping -n -c2 -i0.3 -W1 "$FAR_ADDR"
	expect_fail "db (default via $gw) connects to the outside" \
		bh -p "$p" exec db -- nc -z -w 2 "$FAR_ADDR" "$OUT_PORT"
	expect_fail "db (default via $gw) reaches nginx's address" \
		bh -p "$p" exec db -- nc -z -w 2 "$(ep_ip "$p" nginx)" 80
	after=$(counted "$p" drop_internal)
	echo "drop_internal: $before -> $after"
	expect "drop_internal counts db's attempts (2 pings, 1+ SYN)" [ "$after" -ge $((before + 3)) ]
	expect_eq "packets of db's attempts seen outside" "$(sniffed "$TMP/sniff.log" .)" "$sniff_before"
	# and the whole matrix, derived from the file (db's forced route changes nothing)
	matrix_run "$p" "$EX31"
}

# Part 3.2: every ordered pair of the five services, by name and by every address, both
# directions, and each service to the outside. From the file's membership:
#   load-balancer: dmz; web-app: dmz, app-tier; api: app-tier, data-tier;
#   database: data-tier; cache: data-tier; only dmz is not internal. So (row -> column):
#                   load-bal  web-app  api  database  cache  outside
#     load-balancer    -       yes     no     no       no     yes
#     web-app         yes       -      yes    no       no     yes
#     api             no       yes      -     yes      yes    no
#     database        no       no      yes     -       yes    no
#     cache           no       no      yes    yes       -     no
#   and by address: web-app does not reach api's data-tier address, api does not reach
#   web-app's dmz address, and so on: an address is reached only from its own network.
# FORCE=1: first give the internal-only endpoints a default route through their gateway
# (same expectations: only the datapath keeps them in).
test_three_tier() {
	local p=t$$-p32${FORCE:+f} out ok

	up_out "$p" "$EX32"
	wait_servers "$p" "$EX32"
	out_http "$OUT_PORT" "$TMP/http.log"
	out_sniff "$TMP/sniff.log"
	[[ -z ${FORCE:-} ]] || force_default_routes "$p"
	matrix_run "$p" "$EX32"
	ok=$(awk '$2 == "out" && $4 == 1' "$TMP/results" | wc -l)
	echo "flows out: $(flows_out "$TMP/sniff.log") seen outside, $ok connected"
	expect_eq "flows that arrived outside: only the connected ones" \
		"$(flows_out "$TMP/sniff.log")" "$ok"
	expect_eq "packets outside not from $UPLINK_ADDR" "$(not_from_uplink "$TMP/sniff.log")" 0
}

netns_setup
for t in nc curl ping; do
	command -v "$t" >/dev/null || skip_all "needs $t"
done
"$PY" -c 'import yaml' 2>/dev/null || skip_all "needs python3's yaml module ($PY)"
outside_start
run part3.1-frontend-backend test_frontend_backend
run part3.2-three-tier-matrix test_three_tier
FORCE=1 run part3.2-three-tier-matrix-forced-routes test_three_tier
outside_stop
finish
exit "$FAILED"
