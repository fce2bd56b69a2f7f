#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Published ports from the host itself: processes of the instance's host namespace reach
# them at 127.0.0.1, at the gateway and at the uplink's address through the cgroup socket
# programs (bpf/sock.bpf.c: connect4, sendmsg4, recvmsg4, getpeername4; bind4 and bind6
# keep other sockets off published ports), with no NAT and
# no proxy: the endpoint sees the host's own address, the host's sockets see the published
# one. The programs are attached to the cgroup v2 root, so they run for every socket of
# the machine: sockets of an endpoint, of another namespace and of another instance must
# be left alone (the namespace cookie), and the last down detaches them.
#
#   berth-t-PID-out               berth-t-PID-h (host namespace)         berth-t-PID-h2
#   +---------------+  veth  +--------------------------------------+  +------------------+
#   | 198.51.100.2  +--------+ tupPID 198.51.100.1 (uplink)         |  | a second instance|
#   +---------------+        | lo 127.0.0.1: curl, probes           |  | publishing 8080  |
#                            | berth0: gateways   6 cgroup links    |  | (its own links)  |
#                            +-----+-------------------------+------+  +------------------+
#                                  |                         |
#                      [ web: http :80, echo :6060 ]   [ client ]       berth-t-PID-o
#                        127.0.0.1:8081->80/tcp                         (another namespace:
#                        8080->80/tcp, 6060->6060/udp                    lo only)
#
# Run as root: tests/netns/test_host_ports.sh  (DEBUG=1 stops after a failure)
set -euo pipefail
source "$(dirname "$0")/lib.sh"

HOST2="berth-t-$$-h2"
OTHER="berth-t-$$-o"

# web PROJECT PAGE: web serves PAGE over HTTP on 80 and echoes on 6060 (TCP and UDP);
# client publishes nothing. Logs: $TMP/PROJECT-http.log, $TMP/PROJECT-echo.log.
web() {
	mkdir -p "$TMP/www-$1"
	echo "$2" >"$TMP/www-$1/index.html"
	cat <<EOF
name: $1
services:
  web:
    networks: [front]
    ports:
      - "127.0.0.1:8081:80"
      - "8080:80"
      - "6060:6060/udp"
    x-berth:
      run: >-
        $PY $NETTOOL serve 0.0.0.0 6060 $TMP/$1-echo.log &
        exec $PY $NETTOOL http 0.0.0.0 80 $TMP/www-$1 $TMP/$1-http.log
  client:
    networks: [front]
networks:
  front: {}
EOF
}

# What the socket API shows a process (the published address, or what it was rewritten to):
#   tcp ADDR PORT   connect, then "peer A P" (getpeername) and "local A P"
#   udp ADDR PORT   unconnected: sendto, then "from A P DATA" (recvfrom)
#   cudp ADDR PORT  connected: "peer A P", then "from A P DATA"
# Exit 1 when nothing answers within 3 s (the error on stderr).
PROBE='import socket, sys
mode, addr, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
kind = socket.SOCK_STREAM if mode == "tcp" else socket.SOCK_DGRAM
s = socket.socket(socket.AF_INET, kind)
s.settimeout(3)
try:
    if mode == "udp":
        s.sendto(b"probe", (addr, port))
    else:
        s.connect((addr, port))
        print("peer %s %d" % s.getpeername())
    if mode == "tcp":
        print("local %s %d" % s.getsockname())
        sys.exit(0)
    if mode == "cudp":
        s.send(b"probe")
    data, peer = s.recvfrom(100)
    print("from %s %d %s" % (peer[0], peer[1], data.decode()))
except OSError as e:
    sys.exit("%s %s:%d: %s" % (mode, addr, port, e))'

# probe NETNS MODE ADDR PORT
probe() { ip netns exec "$1" "$PY" -c "$PROBE" "$2" "$3" "$4"; }

# fetch NETNS ADDR PORT: the page at ADDR:PORT, fetched from NETNS (3 s at most)
fetch() { ip netns exec "$1" curl -sS -m 3 "http://$2:$3/"; }

# up_web PROJECT: the project up, with an uplink, its server ready.
up_web() {
	up_out "$1" "$(web "$1" "berth-web-$1" | compose "$1")"
	expect "web's HTTP server" wait_until 10 log_has "$TMP/$1-http.log" '^ready$'
	expect "web's echo server" wait_until 10 log_has "$TMP/$1-echo.log" '^ready$'
}

# ports_filled HOSTNS: berth_port_v1 of the instance holds the project's three bindings.
ports_filled() {
	local n

	n=$(nsenter --net="/run/netns/$1" bpftool map dump pinned \
		"/sys/fs/bpf/berth/$1/berth_port_v1" -j | python3 -c 'import json, sys
print(len(json.load(sys.stdin)))')
	if [[ $n != 3 ]]; then
		echo "berth_port_v1 of $1 holds $n entries, not the 3 bindings of the file (does up publish ports?)"
		return 1
	fi
}

# sock_links HOSTNS: the ids of the instance's pinned cgroup links, one per line.
sock_links() {
	local l

	for l in /sys/fs/bpf/berth/"$1"/link_sock_*; do
		[[ -e $l ]] || continue
		bpftool link show pinned "$l" -j | python3 -c 'import json, sys
print(json.load(sys.stdin)["id"])'
	done
}

# host_addr HOSTNS ADDR: ADDR is an address of NETNS.
host_addr() { ip -n "$1" -4 -o addr show | awk '{ sub("/.*", "", $4); print $4 }' | grep -qxF "$2"; }

# hostip HOSTNS: the addresses in the instance's berth_hostip_v1, one per line (the key's
# bytes are the address in network order). Fails when the map cannot be read.
hostip() {
	bpftool map dump pinned "/sys/fs/bpf/berth/$1/berth_hostip_v1" -j |
		python3 -c 'import json, sys
for e in json.load(sys.stdin):
    print(".".join(str(int(b, 16)) for b in e["key"]))'
}

# hostip_has HOSTNS ADDR / hostip_lacks HOSTNS ADDR: the map (readable) has ADDR, or not.
hostip_has() { hostip "$1" | grep -qxF "$2"; }
hostip_lacks() {
	local out

	out=$(hostip "$1") || return 1
	! grep -qxF "$2" <<<"$out"
}

# The links exist, one per hook, on the cgroup v2 root, pinned under the instance.
test_links() {
	local p=t$$-links ids

	up_web "$p"
	ids=$(sock_links "$HOST")
	echo "links of $HOST: $(tr '\n' ' ' <<<"$ids")"
	expect_eq "six links pinned" "$(wc -l <<<"$ids")" 6
	bpftool link show -j | python3 -c 'import json, sys
want = set(int(i) for i in sys.argv[1].split())
got = {l["id"]: l for l in json.load(sys.stdin) if l["id"] in want}
types = sorted(l["attach_type"] for l in got.values())
print(types)
assert types == ["cgroup_inet4_bind", "cgroup_inet4_connect", "cgroup_inet4_getpeername",
                 "cgroup_inet6_bind", "cgroup_udp4_recvmsg", "cgroup_udp4_sendmsg"], types
assert all(l["type"] == "cgroup" for l in got.values())' "$ids"
	# a second up keeps them (no second set)
	bh -p "$p" up -f "$TMP/$p/compose.yml" --uplink "$UPLINK"
	expect_eq "the same links after another up" "$(sock_links "$HOST")" "$ids"
}

# TCP from the host: 127.0.0.1 (both bindings), the gateway and the uplink's address
# (the every-address binding); the endpoint sees the host's own address, not 127.0.0.1.
test_tcp_from_host() {
	local p=t$$-tcp out gw client

	up_web "$p"
	ports_filled "$HOST"
	gw=$(ip -n "$HOST" -4 -o addr show dev berth0 | awk '{ sub("/.*", "", $4); print $4; exit }')
	for a in 127.0.0.1:8081 127.0.0.1:8080 "$gw:8080" "$UPLINK_ADDR:8080" 127.0.0.2:8080; do
		out=$(fetch "$HOST" "${a%:*}" "${a#*:}")
		expect_eq "the page at $a from the host" "$out" "berth-web-$p"
	done
	client=$(grep -F 'GET / ' "$TMP/$p-http.log" | awk '{ print $1 }' | sort -u)
	echo "web saw requests from: $client"
	expect "one client address" [ "$(wc -l <<<"$client")" -eq 1 ]
	expect_fail "web saw 127.0.0.1 (a proxy, or loopback leaking out)" [ "$client" == 127.0.0.1 ]
	expect "web saw an address of the host namespace" host_addr "$HOST" "$client"
	# getpeername: the published address, not the endpoint's
	out=$(probe "$HOST" tcp 127.0.0.1 8080)
	echo "$out"
	expect "getpeername shows 127.0.0.1:8080" grep -qx "peer 127.0.0.1 8080" <<<"$out"
	out=$(probe "$HOST" tcp "$UPLINK_ADDR" 8080)
	echo "$out"
	expect "getpeername shows $UPLINK_ADDR:8080" grep -qx "peer $UPLINK_ADDR 8080" <<<"$out"
}

# An address the host namespace gains after up (DHCP, ip addr add) reaches a port published
# on every address, with no other up: the agent follows the namespace's IPv4 address events
# into berth_hostip_v1. An address it loses leaves the map.
test_new_host_address() {
	local p=t$$-addr a=10.77.0.1 out

	up_web "$p"
	ports_filled "$HOST"
	expect "berth_hostip_v1 holds the uplink's address" hostip_has "$HOST" "$UPLINK_ADDR"
	expect "berth_hostip_v1 lacks $a before the host has it" hostip_lacks "$HOST" "$a"
	at_cleanup "ip -n $HOST addr del $a/32 dev $UPLINK"
	at_cleanup "ip -n $HOST addr del 10.77.0.2/32 dev $UPLINK"
	ip -n "$HOST" addr add "$a/32" dev "$UPLINK"
	expect "$a in berth_hostip_v1 within 5 s of ip addr add" \
		wait_until 5 hostip_has "$HOST" "$a"
	out=$(fetch "$HOST" "$a" 8080)
	expect_eq "the page at $a:8080 from the host" "$out" "berth-web-$p"
	ip -n "$HOST" addr del "$a/32" dev "$UPLINK"
	expect "$a gone from berth_hostip_v1 within 5 s of ip addr del" \
		wait_until 5 hostip_lacks "$HOST" "$a"
	expect "the other addresses stay" hostip_has "$HOST" "$UPLINK_ADDR"
	# a burst of changes (as a DHCP renewal makes) ends up right too
	printf '%s\n' "address add $a/32 dev $UPLINK" "address add 10.77.0.2/32 dev $UPLINK" \
		"address del 10.77.0.2/32 dev $UPLINK" | ip -n "$HOST" -batch -
	expect "$a back in berth_hostip_v1" wait_until 5 hostip_has "$HOST" "$a"
	expect "10.77.0.2, added and removed, not in it" wait_until 5 hostip_lacks "$HOST" 10.77.0.2
	expect_eq "the page at $a:8080 again" "$(fetch "$HOST" "$a" 8080)" "berth-web-$p"
	ip -n "$HOST" addr del "$a/32" dev "$UPLINK"
	expect "$a gone again" wait_until 5 hostip_lacks "$HOST" "$a"
}

# A port bound to 127.0.0.1 is reached there only; an unpublished port is the host's own.
test_loopback_binding() {
	local p=t$$-lo gw out

	up_web "$p"
	ports_filled "$HOST"
	gw=$(ip -n "$HOST" -4 -o addr show dev berth0 | awk '{ sub("/.*", "", $4); print $4; exit }')
	expect_fail "127.0.0.1:8081 reached at the uplink's address" fetch "$HOST" "$UPLINK_ADDR" 8081
	expect_fail "127.0.0.1:8081 reached at the gateway" fetch "$HOST" "$gw" 8081
	expect_fail "127.0.0.1:8081 reached at 127.0.0.2" fetch "$HOST" 127.0.0.2 8081
	expect_eq "requests web got" "$(grep -cF 'GET / ' "$TMP/$p-http.log" || true)" 0
	# a server of the host on a port nobody published is untouched
	mkdir -p "$TMP/hostwww"
	echo "berth-host-$$" >"$TMP/hostwww/index.html"
	spawn_in "$HOST" 60 "$TMP/hosthttp.out" "$PY" "$NETTOOL" http 127.0.0.1 9090 \
		"$TMP/hostwww" "$TMP/hosthttp.log"
	expect "the host's own server" wait_until 10 log_has "$TMP/hosthttp.log" '^ready$'
	out=$(fetch "$HOST" 127.0.0.1 9090)
	expect_eq "the host's own server at 127.0.0.1:9090" "$out" "berth-host-$$"
	out=$(probe "$HOST" tcp 127.0.0.1 9090)
	expect "its peer is itself" grep -qx "peer 127.0.0.1 9090" <<<"$out"
}

# UDP from the host: replies come from the published address (recvmsg4), connected or not.
test_udp_from_host() {
	local p=t$$-udp out

	up_web "$p"
	ports_filled "$HOST"
	out=$(probe "$HOST" udp 127.0.0.1 6060)
	echo "$out"
	expect "the echo from 127.0.0.1:6060" grep -qx "from 127.0.0.1 6060 probe" <<<"$out"
	out=$(probe "$HOST" udp "$UPLINK_ADDR" 6060)
	echo "$out"
	expect "the echo from $UPLINK_ADDR:6060" grep -qx "from $UPLINK_ADDR 6060 probe" <<<"$out"
	out=$(probe "$HOST" cudp 127.0.0.1 6060)
	echo "$out"
	expect "connected: getpeername 127.0.0.1:6060" grep -qx "peer 127.0.0.1 6060" <<<"$out"
	expect "connected: the echo from 127.0.0.1:6060" grep -qx "from 127.0.0.1 6060 probe" <<<"$out"
	expect "web's echo server got the datagrams" [ "$(grep -c '^udp ' "$TMP/$p-echo.log")" -ge 3 ]
	expect_fail "web saw 127.0.0.1" grep -q '^udp 127\.' "$TMP/$p-echo.log"
	# TCP 6060 is not published: nothing is rewritten, nothing listens on the host
	expect_fail "TCP to 127.0.0.1:6060 (only UDP is published)" probe "$HOST" tcp 127.0.0.1 6060
	expect_eq "TCP connections web's echo server got" "$(grep -c '^tcp ' "$TMP/$p-echo.log" || true)" 0
}

# The same connect from an endpoint or from another namespace is not rewritten: each
# reaches its own 127.0.0.1:8080, which each could bind (the bind hooks hold the port in
# the instance's host namespace alone).
test_other_namespaces() {
	local p=t$$-ns out

	up_web "$p"
	ports_filled "$HOST"
	ip netns add "$OTHER"
	ns_track "$OTHER"
	ip -n "$OTHER" link set lo up
	mkdir -p "$TMP/otherwww" "$TMP/epwww"
	echo "berth-other-$$" >"$TMP/otherwww/index.html"
	echo "berth-endpoint-$$" >"$TMP/epwww/index.html"
	spawn_in "$OTHER" 60 "$TMP/otherhttp.out" "$PY" "$NETTOOL" http 127.0.0.1 8080 \
		"$TMP/otherwww" "$TMP/otherhttp.log"
	spawn_exec 60 "$TMP/ephttp.out" "$p" client "$PY" "$NETTOOL" http 127.0.0.1 8080 \
		"$TMP/epwww" "$TMP/ephttp.log"
	expect "the other namespace's server" wait_until 10 log_has "$TMP/otherhttp.log" '^ready$'
	expect "the client endpoint's server" wait_until 10 log_has "$TMP/ephttp.log" '^ready$'
	out=$(fetch "$OTHER" 127.0.0.1 8080)
	expect_eq "127.0.0.1:8080 in another namespace is its own" "$out" "berth-other-$$"
	out=$(bh -p "$p" exec client -- curl -sS -m 3 http://127.0.0.1:8080/)
	expect_eq "127.0.0.1:8080 in an endpoint is its own" "$out" "berth-endpoint-$$"
	out=$(bh -p "$p" exec web -- "$PY" -c "$PROBE" udp 127.0.0.1 6060)
	echo "in web: $out"
	expect "in web, 127.0.0.1:6060 is web's own echo server, unchanged" \
		grep -qx "from 127.0.0.1 6060 probe" <<<"$out"
	expect "and web's server saw it from 127.0.0.1" grep -q '^udp 127\.0\.0\.1 ' "$TMP/$p-echo.log"
	expect_eq "requests web got" "$(grep -cF 'GET / ' "$TMP/$p-http.log" || true)" 0
	# and the host itself still is rewritten
	expect_eq "the host: web's page" "$(fetch "$HOST" 127.0.0.1 8080)" "berth-web-$p"
}

# Two instances publish the same port: each host namespace reaches its own; one's down
# takes its links and leaves the other's working.
test_two_instances() {
	local p1=t$$-one p2=t$$-two ids1 ids2 id

	ip netns add "$HOST2"
	ns_track "$HOST2"
	ip -n "$HOST2" link set lo up
	up_web "$p1"
	up_project "$p2" "$(web "$p2" "berth-web-$p2" | compose "$p2")" "$HOST2"
	expect "two's HTTP server" wait_until 10 log_has "$TMP/$p2-http.log" '^ready$'
	ports_filled "$HOST"
	ports_filled "$HOST2"
	expect_eq "$HOST: its own web" "$(fetch "$HOST" 127.0.0.1 8080)" "berth-web-$p1"
	expect_eq "$HOST2: its own web" "$(fetch "$HOST2" 127.0.0.1 8080)" "berth-web-$p2"
	ids1=$(sock_links "$HOST")
	ids2=$(sock_links "$HOST2")
	expect_eq "six links each" "$(wc -l <<<"$ids1") $(wc -l <<<"$ids2")" "6 6"
	berth --host-netns "$HOST2" -p "$p2" down
	for id in $ids2; do
		expect_fail "link $id of $HOST2 still attached" bpftool link show id "$id"
	done
	for id in $ids1; do
		expect "link $id of $HOST attached" bpftool link show id "$id"
	done
	expect_eq "$HOST: still its own web" "$(fetch "$HOST" 127.0.0.1 8080)" "berth-web-$p1"
	expect_fail "$HOST2 reaches a web at 127.0.0.1:8080" fetch "$HOST2" 127.0.0.1 8080
}

# The last down detaches the links; nothing of them is left.
test_down_detaches() {
	local p=t$$-down ids id

	up_web "$p"
	ids=$(sock_links "$HOST")
	expect_eq "six links" "$(wc -l <<<"$ids")" 6
	bh -p "$p" down
	for id in $ids; do
		expect_fail "link $id still attached after the last down" bpftool link show id "$id"
	done
	expect_fail "127.0.0.1:8080 answered after down" fetch "$HOST" 127.0.0.1 8080
}

netns_setup
for t in curl bpftool; do
	command -v "$t" >/dev/null || skip_all "needs $t"
done
[[ -n $(cgroup2_root) ]] || skip_all "no cgroup v2 mount: the socket programs attach to its root"
"$PY" -c 'import socket, sys
s = socket.socket()
try:
    s.getsockopt(socket.SOL_SOCKET, 71, 8)
except OSError as e:
    sys.exit(1)' || skip_all "no SO_NETNS_COOKIE (Linux 5.14): the socket programs cannot tell namespaces apart"
# lo up, for the host's own server on 127.0.0.1; the baseline again, with it up
ip -n "$HOST" link set lo up
snapshot "$TMP/baseline" "$HOST"
outside_start
run sock-links-attached test_links
run tcp-from-host test_tcp_from_host
run new-host-address-reaches-published-port test_new_host_address
run loopback-binding-only-at-127.0.0.1 test_loopback_binding
run udp-from-host test_udp_from_host
run endpoints-and-other-namespaces-untouched test_other_namespaces
run two-instances-each-its-own test_two_instances
run down-detaches test_down_detaches
outside_stop
finish
exit "$FAILED"
