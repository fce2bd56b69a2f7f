#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Upgrades: an instance brought up by an older berth, built from this repository's own
# history, runs this build's datapath after this build's `berth up` of the same file, and
# the connections it carried live on: berth_ep_v1/berth_ip_v1 moved into
# berth_ep_v2/berth_ip_v2 (identities included, so policy works on the kept endpoints),
# every hook on the new programs, the old maps unpinned. Read-only commands leave an old
# datapath alone; a down removes one without upgrading it.
#
#   berth-t-PID-out (outside)              berth-t-PID-h (host namespace of the instance)
#   +-------------------------------+      +------------------------------------------+
#   | lo 203.0.113.10 (FAR): echo 7 | veth | tupPID 198.51.100.1/24: the uplink,      |
#   | eth0 198.51.100.2/24          +------+ default via 198.51.100.2                 |
#   +-------------------------------+      | berth0 (gateways)   bth* veths           |
#                                          +----+------------+------------+-----------+
#                                               |            |            |
#                                       [ a: echo :7 ]  [ b: tickers ]  [ c ]   network n
#
# The old builds (OLD_REVS, revisions of this repository): af7acdd~1, the last with
# berth_ep_v1/berth_ip_v1 in today's layouts, an uplink program and conntrack; d730e60,
# the layouts before policy identities (24- and 16-byte values), no uplink program, no
# conntrack. Each is built from `git archive` into the test's temporary directory (no
# worktree; ~10 s). A clone without that history (a shallow one) skips, saying so.
#
# Run as root: tests/netns/test_upgrade.sh  (DEBUG=1 stops after a failure)
set -euo pipefail
source "$(dirname "$0")/lib.sh"

OLD_REVS=${OLD_REVS:-"af7acdd~1 d730e60"}
PINS=/sys/fs/bpf/berth/$HOST
OLD=""

# old_build REV: berth at REV of this repository's history, built once under $TMP; sets OLD
# to the binary. Skips the test when the history is not there or the tree does not build.
old_build() {
	local rev=$1 sha dir

	command -v git >/dev/null || skip_test "needs git (berth's history builds the old berth)"
	sha=$(git -C "$REPO" rev-parse -q --verify "$rev^{commit}" 2>/dev/null) ||
		skip_test "no $rev in this clone's history (a shallow clone?): no old berth to upgrade from"
	dir=$TMP/old-${sha:0:12}
	if [[ ! -x $dir/build/berth ]]; then
		rm -rf "$dir"
		mkdir -p "$dir"
		git -C "$REPO" archive "$sha" | tar -x -C "$dir"
		make -C "$dir" -j"$(nproc)" BUILD=build build/berth >"$dir.log" 2>&1 ||
			skip_test "berth at $rev does not build here: $(tail -n1 "$dir.log")"
	fi
	OLD=$dir/build/berth
}

# old_has_uplink: the old build has an uplink program, and so --uplink (bpf/uplink.bpf.c).
old_has_uplink() { [[ -e $(dirname "$(dirname "$OLD")")/bpf/uplink.bpf.c ]]; }

# ob ARGS...: the old berth on this script's instance.
ob() { timeout -k 5 120 "$OLD" --host-netns "$HOST" "$@" </dev/null; }

# abc PROJECT [TOP-LEVEL POLICY RULE]: a runs an echo server on 7; b and c are clients.
abc() {
	cat <<EOF
name: $1
services:
  a:
    networks: [n]
    x-berth:
      run: $PY $NETTOOL serve 0.0.0.0 7 $TMP/$1-a.log
  b:
    networks: [n]
  c:
    networks: [n]
networks:
  n: {}
EOF
	if [[ -n ${2:-} ]]; then
		echo "x-berth:"
		echo "  policy:"
		echo "    - $2"
	fi
}

pinned() { [[ -e $PINS/$1 ]]; }
prog_id() { bpftool prog show pinned "$PINS/$1" -j | py 'd["id"]'; }

# tc_ids NETNS: "DEVICE KIND PROG_ID" of every tc program attached in NETNS.
tc_ids() {
	nsenter --net="/run/netns/$1" bpftool net show -j | python3 -c 'import json, sys
for d in json.load(sys.stdin):
    for r in d.get("tc") or []:
        print(r["devname"], r["kind"], r["id"])'
}

# hooks PROJECT: "WHERE PROG_ID" of berth's hooks: host-side veths, lo of each endpoint, uplink.
hooks() {
	local ns

	tc_ids "$HOST" | awk '$1 ~ /^bth/ || $1 == "'"$UPLINK"'" { print $1, $3 }' | sort
	for ns in $(ps_json "$1" | py '[e["namespace"] for e in d]'); do
		tc_ids "$ns" | awk -v ns="$ns" '$1 == "lo" { print ns "/lo", $3 }'
	done
}

# map_rows MAP: the entries of a pinned map as "KEY-JSON<tab>VALUE-JSON" lines (formatted by BTF).
map_rows() {
	bpftool map dump pinned "$PINS/$1" -j | python3 -c 'import json, sys
for r in json.load(sys.stdin):
    f = r["formatted"]
    print(json.dumps(f["key"], sort_keys=True) + "\t" + json.dumps(f["value"], sort_keys=True))'
}

now() { date +%s.%N; }
# oks_after LOG TIME: the echoes a ticker logged after TIME.
oks_after() { awk -v t="$2" '$1 == "ok" && $3 > t' "$1" | wc -l; }

# ep_expected PROJECT: "IFINDEX SLOT IDENTITY" per endpoint interface, as state.json has them.
ep_expected() {
	python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
p = d["projects"][sys.argv[2]]
for e in p["endpoints"]:
    for i in e["interfaces"]:
        print(i["host_ifindex"], i["slot"], p["identities"][e["service"]])' \
		"/run/berth/$HOST/state.json" "$1" | sort
}

# The old berth's instance, carrying connections, upgraded by this build's up.
test_upgrade_from() {
	local rev=$1 p=t$$-up f args=() out t id_ep id_dns id_up old_ep n got want ip_a m
	local outbound=false

	old_build "$rev"
	# the tickers' logs, fresh for each test (nettool appends)
	rm -f "$TMP/ew.log" "$TMP/ns.log" "$TMP/far.log"
	f=$(abc "$p" | compose "up-$rev")
	# builds with an uplink program are given the outside's; older ones know no --uplink
	if old_has_uplink; then
		args=(--uplink "$UPLINK")
		outbound=true
	fi
	project_track "$p" "$HOST"
	ob -p "$p" up -f "$f" "${args[@]}"
	expect "a's echo server" wait_until 20 log_has "$TMP/$p-a.log" '^ready$'
	expect "the old datapath's berth_ep_v1" pinned berth_ep_v1
	expect_fail "a berth_ep_v2 before the upgrade" pinned berth_ep_v2
	old_ep=$(prog_id prog_endpoint)
	ip_a=$(ep_ip "$p" a)

	# connections that must outlive the upgrade: b -> a, and b -> the outside (masqueraded)
	spawn_in "$p-b-1" 120 "$TMP/ew.out" "$PY" "$NETTOOL" ticker "$ip_a" 7 "$TMP/ew.log" 60
	expect "b -> a's first 10 echoes" wait_until 10 log_has "$TMP/ew.log" '^ok 10 '
	if $outbound; then
		out_serve 7 "$TMP/far.log"
		spawn_in "$p-b-1" 120 "$TMP/ns.out" "$PY" "$NETTOOL" ticker "$FAR_ADDR" 7 \
			"$TMP/ns.log" 60
		expect "b -> FAR's first 10 echoes" wait_until 10 log_has "$TMP/ns.log" '^ok 10 '
	fi

	# read-only commands of this build read the old datapath and leave it as it is
	bh -p "$p" stats --json >"$TMP/stats.json" 2>"$TMP/stats.err"
	cat "$TMP/stats.err"
	expect "stats --json of the old datapath" py 'd["project"]' <"$TMP/stats.json"
	expect "stats says the datapath is older" grep -q 'older datapath; run berth up' \
		"$TMP/stats.err"
	bh -p "$p" ps >/dev/null
	expect "berth_ep_v1 still pinned after stats and ps" pinned berth_ep_v1
	expect_fail "berth_ep_v2 pinned by stats or ps" pinned berth_ep_v2
	expect_eq "the old endpoint program after stats" "$(prog_id prog_endpoint)" "$old_ep"

	# the upgrade: this build's up of the same file
	out=$(bh -p "$p" up -f "$f" "${args[@]}" 2>&1)
	t=$(now)
	echo "$out"
	expect "up says it upgraded" grep -q "instance $HOST upgraded" <<<"$out"
	sleep 2
	n=$(oks_after "$TMP/ew.log" "$t")
	echo "b -> a: $n echoes in the 2 s after the up; last: $(tail -n1 "$TMP/ew.log")"
	grep -v '^ok' "$TMP/ew.log" || true
	expect_fail "an error on b -> a" grep -q '^err' "$TMP/ew.log"
	expect "10 or more b -> a echoes after the up" [ "$n" -ge 10 ]
	if $outbound; then
		n=$(oks_after "$TMP/ns.log" "$t")
		echo "b -> FAR: $n echoes after the up; last: $(tail -n1 "$TMP/ns.log")"
		expect_fail "an error on b -> FAR" grep -q '^err' "$TMP/ns.log"
		expect "10 or more b -> FAR echoes after the up" [ "$n" -ge 10 ]
	fi

	# the pins: new maps, old ones gone, the programs this build's
	for m in berth_ep_v2 berth_ip_v2 berth_cfg_v1 berth_ct_v1 berth_nat_v1 berth_subnet_v1; do
		expect "$m pinned" pinned "$m"
	done
	for m in berth_ep_v1 berth_ip_v1 prog_endpoint_new prog_dns_new prog_uplink_new; do
		expect_fail "$m still pinned" pinned "$m"
	done
	expect "the fingerprint recorded" [ -s "/run/berth/$HOST/datapath" ]
	id_ep=$(prog_id prog_endpoint)
	id_dns=$(prog_id prog_dns)
	id_up=$(prog_id prog_uplink)
	expect "a new endpoint program pinned" [ "$id_ep" != "$old_ep" ]
	hooks "$p" >"$TMP/hooks"
	cat "$TMP/hooks"
	expect_eq "hooks: 3 veths, 3 lo, the uplink" "$(wc -l <"$TMP/hooks")" 7
	expect_eq "hooks on another program than the pinned ones" \
		"$(awk -v e="$id_ep" -v d="$id_dns" -v u="$id_up" \
			'!($1 ~ /^bth/ && $2 == e) && !($1 ~ /\/lo$/ && $2 == d) &&
			 !($1 == "'"$UPLINK"'" && $2 == u)' "$TMP/hooks")" ""

	# the migrated entries: slot and identity of each interface, as the state has them
	want=$(ep_expected "$p")
	got=$(map_rows berth_ep_v2 | python3 -c 'import json, sys
for l in sys.stdin:
    k, v = l.split("\t", 1)
    v = json.loads(v)
    print(json.loads(k), v["slot"], v["identity"])' | sort)
	expect_eq "berth_ep_v2: ifindex slot identity" "$got" "$want"
	got=$(map_rows berth_ip_v2 | python3 -c 'import json, sys
for l in sys.stdin:
    v = json.loads(l.split("\t", 1)[1])
    print(v["ifindex"], v["slot"], v["identity"])' | sort)
	expect_eq "berth_ip_v2: ifindex slot identity" "$got" "$want"

	# everything works on the new datapath: stats, new flows, names, the agent of this build
	bh -p "$p" stats --json >"$TMP/stats.json" 2>"$TMP/stats.err"
	expect_fail "stats still says the datapath is older" grep -q 'older datapath' \
		"$TMP/stats.err"
	expect "stats --json after the upgrade" py 'd["total"]["forward"]["packets"]' \
		<"$TMP/stats.json"
	expect "ping b -> a" ping_ok "$p" b "$ip_a"
	expect "b -> a:7, a new flow" tcp_ok "$p" b "$ip_a" 7
	expect_eq "b resolves a (the DNS program and the agent)" \
		"$(bh -p "$p" exec b -- dig +short +time=2 +tries=2 -q a)" "$ip_a"
	expect_eq "the agent is this build's" \
		"$(readlink "/proc/$(cat "/run/berth/$HOST/agent.pid")/exe")" "$(readlink -f "$BERTH")"
	if $outbound; then
		expect "b -> FAR:7, a new masqueraded flow" tcp_ok "$p" b "$FAR_ADDR" 7
	fi

	# another up of this build: nothing to upgrade, the same programs
	out=$(bh -p "$p" up -f "$f" "${args[@]}" 2>&1)
	expect_fail "a second upgrade" grep -q upgrad <<<"$out"
	expect_eq "the endpoint program after a second up" "$(prog_id prog_endpoint)" "$id_ep"

	# policy on the kept endpoints: their identities are the ones it is compiled with
	abc "$p" '{from: b, to: a, proto: tcp, ports: [7]}' >"$f"
	bh -p "$p" up -f "$f" "${args[@]}"
	expect "b -> a:7 (allowed)" tcp_ok "$p" b "$ip_a" 7
	expect "c -/-> a:7 (a is guarded)" tcp_fails "$p" c "$ip_a" 7
	expect_fail "an error on b -> a after the policy" grep -q '^err' "$TMP/ew.log"

	bh -p "$p" down
	expect_fail "pins left after down" [ -e "$PINS" ]
	expect_fail "files left after down" [ -e "/run/berth/$HOST" ]
}

# An old datapath taken down by this build: removed as it is, never upgraded first.
test_down_old() {
	local rev=$1 p=t$$-dn f out

	old_build "$rev"
	f=$(abc "$p" | compose "dn-$rev")
	project_track "$p" "$HOST"
	ob -p "$p" up -f "$f"
	out=$(bh -p "$p" down 2>&1)
	echo "$out"
	expect_fail "down upgraded" grep -q upgrad <<<"$out"
	expect_fail "pins left after down" [ -e "$PINS" ]
	expect_fail "files left after down" [ -e "/run/berth/$HOST" ]
}

netns_setup
for t in nc ping dig bpftool make tar; do
	command -v "$t" >/dev/null || skip_all "needs $t"
done
outside_start
for rev in $OLD_REVS; do
	run "upgrade-from-$rev" test_upgrade_from "$rev"
	run "down-of-$rev" test_down_old "$rev"
done
outside_stop
finish
exit "$FAILED"
