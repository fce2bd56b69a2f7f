#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Traffic between endpoints, per exercise step: 1.2 a custom network, 4.1 a custom
# subnet with ip_range and static addresses, 4.2 several networks and the isolation
# between them, 1.3/1.4 network_mode host and none, and an x-berth run server.
#
#   berth-t-PID-h (host namespace of the instance)
#   +------------------------------------------------------------------------+
#   | berth0: every gateway /32      bth* host veths, tc ingress = berth BPF |
#   +----+-------------+-------------+------------------+--------------------+
#        |             |             |                  |
#      eth0          eth0          eth0   eth1        eth0
#   [ a: front ]  [ b: front    +    back ]   [ c: back ]     (isolation)
#   [ a ] <-> [ b ] on one network                            (bridge)
#   [ web 172.25.5.10 ] [ api 172.25.5.11 ] [ dyn 172.25.5.x ] (subnet)
#   [ srv: python3 -m http.server ] <-- curl -- [ cli ]        (run)
#   hostmode: no namespace, runs in berth-t-PID-h; none: lo only (modes)
#
# Run as root: tests/netns/test_connectivity.sh  (DEBUG=1 stops after a failure)
set -euo pipefail
source "$(dirname "$0")/lib.sh"

# 1.2: two endpoints on a user-defined network ping each other by address.
test_bridge_ping() {
	local p=t$$-bridge f a b

	f=$(compose bridge <<EOF
name: $p
services:
  a:
    networks: [mynet]
  b:
    networks: [mynet]
networks:
  mynet:
    driver: bridge
EOF
)
	up_project "$p" "$f"
	a=$(ep_ip "$p" a)
	b=$(ep_ip "$p" b)
	echo "a $a, b $b"
	expect "a reaches b" ping_ok "$p" a "$b"
	expect "b reaches a" ping_ok "$p" b "$a"
	expect "a reaches its gateway" ping_ok "$p" a "$(bh -p "$p" network inspect mynet --json |
		py 'd["gateway"]')"
}

# x-berth icc: false (Docker's enable_icc=false): endpoints of the network reach
# their gateway but not each other.
test_icc_false() {
	local p=t$$-icc f a b gw

	f=$(compose icc <<EOF
name: $p
services:
  a:
    networks: [quiet]
  b:
    networks: [quiet]
networks:
  quiet:
    x-berth: {icc: false}
EOF
)
	up_project "$p" "$f"
	a=$(ep_ip "$p" a)
	b=$(ep_ip "$p" b)
	gw=$(bh -p "$p" network inspect quiet --json | py 'd["gateway"]')
	expect_eq "network inspect: icc" "$(bh -p "$p" network inspect quiet --json | py 'd["icc"]')" False
	expect "a reaches its gateway" ping_ok "$p" a "$gw"
	expect "a does not reach b" ping_fails "$p" a "$b"
	expect "b does not reach a" ping_fails "$p" b "$a"
	expect "the drops are counted as icc" test "$(bh -p "$p" stats --json | py 'd["total"]["drop_icc"]["packets"]')" -ge 2
}

# 4.1: subnet, gateway, ip_range and static addresses, as seen inside the endpoints.
test_custom_subnet() {
	local p=t$$-subnet f out dyn

	f=$(compose subnet <<EOF
name: $p
services:
  web:
    container_name: t$$-web
    networks:
      custom-net:
        ipv4_address: 172.25.5.10
  api:
    container_name: t$$-api
    networks:
      custom-net:
        ipv4_address: 172.25.5.11
  dyn:
    networks: [custom-net]
networks:
  custom-net:
    driver: bridge
    ipam:
      config:
        - subnet: 172.25.0.0/16
          gateway: 172.25.0.1
          ip_range: 172.25.5.0/24
EOF
)
	up_project "$p" "$f"
	expect "namespace t$$-web (the container_name)" ns_exists "t$$-web"
	out=$(bh -p "$p" exec web -- ip -4 -o addr show eth0)
	echo "web: $out"
	expect "172.25.5.10/16 on web's eth0" grep -q 'inet 172\.25\.5\.10/16 ' <<<"$out"
	out=$(bh -p "$p" exec api -- ip -4 -o addr show eth0)
	echo "api: $out"
	expect "172.25.5.11/16 on api's eth0" grep -q 'inet 172\.25\.5\.11/16 ' <<<"$out"
	out=$(bh -p "$p" exec dyn -- ip -4 -o addr show eth0)
	echo "dyn: $out"
	dyn=$(sed -n 's/.* inet \([0-9.]*\)\/16 .*/\1/p' <<<"$out")
	expect "dyn's address inside the ip_range 172.25.5.0/24" grep -qE '^172\.25\.5\.[0-9]+$' <<<"$dyn"
	# the range's first address is a host address of the /16: dockerd hands it out too
	expect_fail "dyn's address a static one" grep -qxE '172\.25\.5\.1[01]' <<<"$dyn"
	expect_eq "ps reports dyn's address" "$(ep_ip "$p" dyn)" "$dyn"
	out=$(bh -p "$p" exec web -- ip route)
	echo "web routes: $out"
	expect "default via 172.25.0.1 dev eth0" grep -q '^default via 172\.25\.0\.1 dev eth0' <<<"$out"
	out=$(bh -p "$p" network inspect custom-net --json)
	expect_eq "network inspect subnet" "$(py 'd["subnet"]' <<<"$out")" 172.25.0.0/16
	expect_eq "network inspect gateway" "$(py 'd["gateway"]' <<<"$out")" 172.25.0.1
	expect_eq "network inspect ip_range" "$(py 'd["ip_range"]' <<<"$out")" 172.25.5.0/24
	expect "web reaches api" ping_ok "$p" web 172.25.5.11
	expect "dyn reaches web" ping_ok "$p" dyn 172.25.5.10
	expect "web reaches the gateway" ping_ok "$p" web 172.25.0.1
}

# 4.2: a two-network endpoint reaches both; single-network ones do not reach across.
test_isolation() {
	local p=t$$-iso f a b_front b_back c d before after out

	f=$(compose iso <<EOF
name: $p
services:
  a:
    networks: [front]
  b:
    networks: [front, back]
  c:
    networks: [back]
  d:
    networks: [sealed]
networks:
  front: {}
  back: {}
  sealed:
    internal: true
EOF
)
	up_project "$p" "$f"
	a=$(ep_ip "$p" a front)
	b_front=$(ep_ip "$p" b front)
	b_back=$(ep_ip "$p" b back)
	c=$(ep_ip "$p" c back)
	d=$(ep_ip "$p" d sealed)
	echo "a $a; b $b_front $b_back; c $c; d $d"
	out=$(bh -p "$p" exec b -- ip -4 -o addr)
	expect "b has eth0 on front" grep -q "eth0 *inet $b_front/" <<<"$out"
	expect "b has eth1 on back" grep -q "eth1 *inet $b_back/" <<<"$out"
	expect "b reaches a on front" ping_ok "$p" b "$a"
	expect "b reaches c on back" ping_ok "$p" b "$c"
	expect "a reaches b on front" ping_ok "$p" a "$b_front"
	expect "c reaches b on back" ping_ok "$p" c "$b_back"
	# a and c have default routes (front, back are not internal): the ping leaves for the
	# gateway MAC, and the BPF program must drop it as addressed to another network
	before=$(drops 72)
	expect "a does not reach c" ping_fails "$p" a "$c"
	expect "c does not reach a" ping_fails "$p" c "$a"
	expect "a does not reach b's back address" ping_fails "$p" a "$b_back"
	after=$(drops 72)
	echo "ISOLATION (72) drops: $before -> $after"
	expect "the ISOLATION counter to rise by 3 or more" [ "$after" -ge $((before + 3)) ]
	# an endpoint only on an internal network has no route out at all
	out=$(bh -p "$p" exec d -- ping -n -c1 -W1 "$a" 2>&1) && { echo "$out"; return 1; }
	echo "d -> a: $out"
	expect "d (internal only): Network is unreachable" grep -q 'Network is unreachable' <<<"$out"
}

# 1.3 and 1.4: network_mode host makes no namespace; none has only lo.
test_modes() {
	local p=t$$-modes f out want got

	f=$(compose modes <<EOF
name: $p
services:
  hostsvc:
    network_mode: host
  nonesvc:
    network_mode: none
  peer:
    networks: [n]
networks:
  n: {}
EOF
)
	up_project "$p" "$f"
	out=$(ps_json "$p")
	echo "$out"
	expect_eq "hostsvc has no networks" "$(py 'len([e["networks"] for e in d if e["service"] == "hostsvc"][0])' <<<"$out")" 0
	expect_eq "hostsvc has no namespace" "$(py '[e["namespace"] for e in d if e["service"] == "hostsvc"][0]' <<<"$out")" ""
	expect_eq "nonesvc has no networks" "$(py 'len([e["networks"] for e in d if e["service"] == "nonesvc"][0])' <<<"$out")" 0
	expect_fail "a namespace for hostsvc" ns_exists "$p-hostsvc-1"
	expect "a namespace for nonesvc" ns_exists "$p-nonesvc-1"
	# host mode runs in the instance's host namespace: it sees berth0 and the peer's veth
	got=$(bh -p "$p" exec hostsvc -- ip -o link | awk -F': ' '{ print $2 }' | sort)
	want=$(ip -n "$HOST" -o link | awk -F': ' '{ print $2 }' | sort)
	echo "hostsvc links: $(tr '\n' ' ' <<<"$got")"
	expect_eq "hostsvc sees the links of $HOST" "$got" "$want"
	expect "berth0 among them" grep -q '^berth0' <<<"$got"
	got=$(bh -p "$p" exec nonesvc -- ip -o link | awk -F': ' '{ print $2 }')
	echo "nonesvc links: $(tr '\n' ' ' <<<"$got")"
	expect_eq "nonesvc has only lo" "$got" lo
	got=$(bh -p "$p" exec nonesvc -- ip route)
	expect_eq "nonesvc has no routes" "$got" ""
}

# x-berth run: a server started in its endpoint, reached by a peer, its log kept.
test_run_server() {
	local p=t$$-run f srv i out=""

	f=$(compose run <<EOF
name: $p
services:
  srv:
    networks: [n]
    x-berth:
      run: python3 -m http.server 8080 --bind 0.0.0.0
  cli:
    networks: [n]
networks:
  n: {}
EOF
)
	up_project "$p" "$f"
	srv=$(ep_ip "$p" srv)
	# one or more: python3 may be a wrapper script (pyenv) that starts the real one
	expect "processes for srv in ps" [ "$(ps_json "$p" |
		py '[e.get("processes", 0) for e in d if e["service"] == "srv"][0]')" -ge 1 ]
	# the server needs a moment to bind: 30 tries, 0.2 s apart
	for i in $(seq 30); do
		out=$(bh -p "$p" exec cli -- curl -s -m 3 "http://$srv:8080/" 2>&1) && break
		out=""
		sleep 0.2
	done
	echo "curl after $i tries: $(head -c 200 <<<"$out")"
	expect "a directory listing from srv" grep -q 'Directory listing' <<<"$out"
	out=$(bh -p "$p" logs srv)
	echo "logs: $out"
	expect "the request line in berth logs" grep -q '"GET / HTTP/1.1" 200' <<<"$out"
	expect "the client's address in it" grep -qF "$(ep_ip "$p" cli)" <<<"$out"
}

netns_setup
command -v ping >/dev/null || skip_all "needs ping"
run bridge-ping test_bridge_ping
run icc-false test_icc_false
run custom-subnet test_custom_subnet
if command -v bpftool >/dev/null && command -v nsenter >/dev/null; then
	run multi-network-isolation test_isolation
else
	skip multi-network-isolation "needs bpftool and nsenter to read berth_cnt_v1"
fi
run host-and-none-modes test_modes
if command -v curl >/dev/null; then
	run run-server test_run_server
else
	skip run-server "needs curl"
fi
finish
exit "$FAILED"
