#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Published ports from outside: an "outside" namespace behind the instance's uplink reaches
# a server of the project through every `ports:` form: "8080:80", "9090-9091:8080-8081",
# "6060:6060/udp", "80" (a random host port, as `berth port` shows it) and
# "127.0.0.1:8081:80", which only the host itself may reach: not from outside, not even a
# TCP SYN built by hand addressed to 127.0.0.1 and the uplink's MAC (it is dropped and
# counted as drop_wire_to_loopback). The server sees the outside client's own address. A UDP
# port moved to another service sends the next datagram of the same flow to the new
# endpoint. The host's own server on another port of the uplink is left alone. Hairpin: an
# endpoint reaches a sibling's published port (and its own) through the uplink's address and
# its gateway's; the server logs the gateway's address, as the flow is source-translated.
#
#   berth-t-PID-out (outside)              berth-t-PID-h (host namespace of the instance)
#   +-------------------------------+      +------------------------------------------+
#   | eth0 198.51.100.2/24: curl,   | veth | tupPID 198.51.100.1/24 = the uplink      |
#   |   nc, udp-ask, raw SYNs       +------+ (--uplink): tc ingress DNATs published   |
#   | lo 203.0.113.10 (FAR)         |      | ports into the endpoints; a host server  |
#   +-------------------------------+      | on :7070 of its own                      |
#                                          +-----+------------------+-----------------+
#                                                |                  |
#                                  [ web: HTTP 80, echo 8080,   [ other: echo 6060 ]
#                                    8081, 6060 (tcp and udp) ]
#
# Run as root: tests/netns/test_ports.sh  (DEBUG=1 stops after a failure)
set -euo pipefail
source "$(dirname "$0")/lib.sh"

RAW_SPORT=47781		# the source port of the SYNs built by hand: found by the sniffer
UDP_SPORT=40123		# the one client port of the repointed UDP flow

# published PROJECT [UDP_SERVICE]: web publishes every form; 6060/udp is UDP_SERVICE's
# (web unless "other"). web serves HTTP on 80 (its log: one line per request, the client's
# address first) and echoes on 8080, 8081 and 6060 (its log: "tcp|udp PEER PEERPORT PORT");
# other echoes on 6060.
published() {
	local p=$1 udp=${2:-web} web_udp="" other_ports=""

	if [[ $udp == web ]]; then
		web_udp='      - "6060:6060/udp"'
	else
		other_ports='    ports: ["6060:6060/udp"]'
	fi
	mkdir -p "$TMP/www"
	echo "berth-published-$$" >"$TMP/www/index.html"
	cat <<EOF
name: $p
services:
  web:
    ports:
      - "8080:80"
      - "9090-9091:8080-8081"
$web_udp
      - "80"
      - "127.0.0.1:8081:80"
    x-berth:
      run: "$PY $NETTOOL http 0.0.0.0 80 $TMP/www $TMP/$p-http.log &
        exec $PY $NETTOOL serve 0.0.0.0 8080,8081,6060 $TMP/$p-echo.log"
  other:
$other_ports
    x-berth:
      run: "exec $PY $NETTOOL serve 0.0.0.0 6060 $TMP/$p-other.log"
EOF
}

# port_entries: how many entries the instance's berth_port_v1 holds; "none" when it is not
# pinned (no instance).
port_entries() {
	local pin=/sys/fs/bpf/berth/$HOST/berth_port_v1

	if [[ ! -e $pin ]]; then
		echo none
		return 0
	fi
	nsenter --net="/run/netns/$HOST" bpftool map dump pinned "$pin" -j |
		python3 -c 'import json, sys; print(len(json.load(sys.stdin)))'
}

# up_published PROJECT [UDP_SERVICE]: up with the uplink; both servers ready. The test
# skips when up published nothing (berth_port_v1 empty): the agent does not fill it yet.
up_published() {
	local p=$1

	up_out "$p" "$(published "$p" "${2:-web}" | compose "$p")"
	expect "web's HTTP server" wait_until 10 log_has "$TMP/$p-http.log" '^ready$'
	expect "web's echo server" wait_until 10 log_has "$TMP/$p-echo.log" '^ready$'
	expect "other's echo server" wait_until 10 log_has "$TMP/$p-other.log" '^ready$'
	if [[ $(port_entries) == 0 || $(port_entries) == none ]]; then
		skip_test "berth up left berth_port_v1 empty: published ports are not written yet"
	fi
}

# ct_flows SRC SPORT DST DPORT PROTO: how many berth_ct_v1 entries have this key.
ct_flows() {
	nsenter --net="/run/netns/$HOST" bpftool map dump pinned \
		"/sys/fs/bpf/berth/$HOST/berth_ct_v1" -j | python3 -c 'import json, socket, sys
want = (socket.inet_aton(sys.argv[1]), int(sys.argv[2]), socket.inet_aton(sys.argv[3]),
        int(sys.argv[4]), int(sys.argv[5]))
n = 0
for row in json.load(sys.stdin):
    # struct berth_ct_key: saddr, daddr, sport, dport (network order), proto
    k = bytes(int(b, 16) for b in row["key"])
    got = (k[0:4], int.from_bytes(k[8:10], "big"), k[4:8], int.from_bytes(k[10:12], "big"), k[12])
    n += got == want
print(n)' "$@"
}

# counted_uplink PROJECT REASON: packets under REASON in berth stats --json's uplink counters.
counted_uplink() {
	bh -p "$1" stats --json | python3 -c 'import json, sys
d = json.load(sys.stdin)
c = (d.get("uplink") or {}).get("counters") or {}
print(c.get(sys.argv[1], {}).get("packets", 0))' "$2"
}

# web_sniff PROJECT: a sniffer on web's interface, logging to $TMP/PROJECT-sniff.log.
web_sniff() {
	local ifc

	ifc=$(ps_json "$1" |
		py '[i["interface"] for e in d if e["service"] == "web" for i in e["networks"]][0]')
	spawn_exec 120 "$TMP/$1-sniff.out" "$1" web "$PY" "$NETTOOL" sniff "$ifc" \
		"$TMP/$1-sniff.log"
	expect "a sniffer in web" wait_until 10 log_has "$TMP/$1-sniff.log" '^ready$'
}

# uplink_mac: the uplink's MAC address.
uplink_mac() {
	ip -n "$HOST" -o link show dev "$UPLINK" | sed -n 's/.*link\/ether \([0-9a-f:]*\) .*/\1/p'
}

# out_curl URL [CURL ARGS...]: curl from the outside, 5 s at most.
out_curl() {
	local url=$1

	shift
	ip netns exec "$OUT_NS" curl -sS -m 5 "$@" "$url"
}

# out_tcp_echo PORT LINE: LINE over TCP to the uplink's PORT from the outside; prints the echo.
out_tcp_echo() {
	ip netns exec "$OUT_NS" sh -c "printf '%s\n' '$2' | nc -N -w 3 $UPLINK_ADDR $1"
}

# gateway_of PROJECT: the default network's gateway address.
gateway_of() { bh -p "$1" network inspect default --json | py 'd["gateway"]'; }

# "8080:80": curl from outside; the server logs the outside client's own address, from the
# next hop's side too (FAR), never the uplink's or the gateway's; counted as published_in.
test_tcp() {
	local p=t$$-tcp web gw out before after

	up_published "$p"
	web=$(ep_ip "$p" web)
	gw=$(gateway_of "$p")
	before=$(counted "$p" published_in)
	out=$(out_curl "http://$UPLINK_ADDR:8080/?from=out")
	expect_eq "web's page through uplink:8080" "$out" "berth-published-$$"
	out=$(out_curl "http://$UPLINK_ADDR:8080/?from=far" --interface "$FAR_ADDR")
	expect_eq "web's page through uplink:8080, from $FAR_ADDR" "$out" "berth-published-$$"
	echo "web's log:"
	sed 's/^/  /' "$TMP/$p-http.log"
	expect "the request from $OUT_ADDR logged with its address" \
		grep -qE "^$OUT_ADDR - .*GET /\?from=out " "$TMP/$p-http.log"
	expect "the request from $FAR_ADDR logged with its address" \
		grep -qE "^$FAR_ADDR - .*GET /\?from=far " "$TMP/$p-http.log"
	expect_fail "the uplink's address $UPLINK_ADDR logged" \
		grep -q "^$UPLINK_ADDR " "$TMP/$p-http.log"
	expect_fail "the gateway's address $gw logged" grep -q "^$gw " "$TMP/$p-http.log"
	after=$(counted "$p" published_in)
	echo "published_in: $before -> $after (web $web)"
	expect "published_in counted (2 connections)" [ "$after" -ge $((before + 6)) ]
}

# "9090-9091:8080-8081": both ports of the range, each to its own target port.
test_range() {
	local p=t$$-range port target out

	up_published "$p"
	for port in 9090 9091; do
		target=$((port - 1010))
		out=$(out_tcp_echo "$port" "range-$port")
		expect_eq "the echo through uplink:$port" "$out" "range-$port"
		expect "uplink:$port reached target port $target from $OUT_ADDR" \
			grep -qE "^tcp $OUT_ADDR [0-9]+ $target\$" "$TMP/$p-echo.log"
	done
	grep -v '^ready$' "$TMP/$p-echo.log"
}

# "6060:6060/udp": a datagram from outside echoed back from the published port.
test_udp() {
	local p=t$$-udp out

	up_published "$p"
	out=$(ip netns exec "$OUT_NS" "$PY" "$NETTOOL" udp-ask "$UPLINK_ADDR" 6060) || true
	echo "web's echo log: $(grep -v '^ready$' "$TMP/$p-echo.log" | tr '\n' ';')"
	expect_eq "the echo of a datagram through uplink:6060/udp" "$out" ask
	expect "the datagram logged from $OUT_ADDR" grep -qE "^udp $OUT_ADDR [0-9]+ 6060\$" \
		"$TMP/$p-echo.log"
	# TCP 6060 is not published: the host's, which has no server there
	expect_fail "TCP to uplink:6060 (only udp is published)" \
		ip netns exec "$OUT_NS" nc -z -w 2 "$UPLINK_ADDR" 6060
}

# "80": the random host port `berth port web 80` shows answers from outside.
test_random() {
	local p=t$$-random port out lo hi

	up_published "$p"
	if ! berth help port >/dev/null 2>&1; then
		skip_test "berth has no port command yet: the random port cannot be read"
	fi
	bh -p "$p" port web
	port=$(bh -p "$p" port web 80/tcp --json |
		py '[b["host_port"] for b in d if b["random"]][0]')
	echo "random host port of web's 80: $port"
	read -r lo hi < <(ip netns exec "$HOST" sysctl -n net.ipv4.ip_local_port_range)
	expect "port $port in ip_local_port_range $lo-$hi" [ "$port" -ge "$lo" ]
	expect "port $port in ip_local_port_range $lo-$hi" [ "$port" -le "$hi" ]
	out=$(out_curl "http://$UPLINK_ADDR:$port/?from=random")
	expect_eq "web's page through the random port $port" "$out" "berth-published-$$"
	expect "the request logged from $OUT_ADDR" \
		grep -qE "^$OUT_ADDR - .*GET /\?from=random " "$TMP/$p-http.log"
}

# "127.0.0.1:8081:80": nothing from outside reaches it: not uplink:8081, not a SYN to
# 127.0.0.1:8081 built by hand and sent to the uplink's MAC (the outside's kernel would
# never route 127/8 itself). A sniffer in web sees the SYNs of a control sent the same way
# to uplink:8080, and none of those to 127.0.0.1:8081; berth counts them.
test_loopback() {
	local p=t$$-lo web mac n before after lines

	up_published "$p"
	web=$(ep_ip "$p" web)
	web_sniff "$p"
	expect_fail "curl from outside to uplink:8081 (bound to 127.0.0.1 only)" \
		out_curl "http://$UPLINK_ADDR:8081/?from=uplink-8081" -o /dev/null
	mac=$(uplink_mac)
	echo "the uplink's MAC: $mac"
	# the control: the same hand-made SYNs reach web through uplink:8080
	ip netns exec "$OUT_NS" "$PY" "$NETTOOL" raw-syn eth0 "$mac" "$OUT_ADDR" \
		$((RAW_SPORT - 1)) "$UPLINK_ADDR" 8080 2
	expect "the control's SYNs seen in web ($OUT_ADDR:$((RAW_SPORT - 1)) → $web:80)" \
		wait_until 5 log_has "$TMP/$p-sniff.log" "^$OUT_ADDR $web 6 $((RAW_SPORT - 1)) 80\$"
	lines=$(wc -l <"$TMP/$p-http.log")
	before=$(counted_uplink "$p" drop_wire_to_loopback)
	ip netns exec "$OUT_NS" "$PY" "$NETTOOL" raw-syn eth0 "$mac" "$OUT_ADDR" "$RAW_SPORT" \
		127.0.0.1 8081 3
	sleep 1
	after=$(counted_uplink "$p" drop_wire_to_loopback)
	echo "drop_wire_to_loopback (uplink): $before -> $after"
	echo "seen in web:"
	grep -v '^ready$' "$TMP/$p-sniff.log" | sed 's/^/  /'
	n=$(sniffed "$TMP/$p-sniff.log" " $RAW_SPORT ")
	expect_eq "packets of the SYNs to 127.0.0.1:8081 seen in web" "$n" 0
	expect_eq "lines web's server logged meanwhile" "$(wc -l <"$TMP/$p-http.log")" "$lines"
	expect_fail "a request logged from uplink:8081" grep -q 'from=uplink-8081' \
		"$TMP/$p-http.log"
	expect "drop_wire_to_loopback up by 3" [ "$after" -ge $((before + 3)) ]
}

# A SYN from the wire to uplink:8080 whose source is other's address (a sibling's, forged):
# never delivered into web, counted as drop_spoofed_ip on the uplink.
test_spoofed_source() {
	local p=t$$-spoof web other mac before after

	up_published "$p"
	web=$(ep_ip "$p" web)
	other=$(ep_ip "$p" other)
	web_sniff "$p"
	mac=$(uplink_mac)
	before=$(counted_uplink "$p" drop_spoofed_ip)
	ip netns exec "$OUT_NS" "$PY" "$NETTOOL" raw-syn eth0 "$mac" "$other" "$RAW_SPORT" \
		"$UPLINK_ADDR" 8080 3
	# the control: the same from the outside's own address arrives
	ip netns exec "$OUT_NS" "$PY" "$NETTOOL" raw-syn eth0 "$mac" "$OUT_ADDR" \
		$((RAW_SPORT - 1)) "$UPLINK_ADDR" 8080 1
	expect "the control's SYN seen in web" \
		wait_until 5 log_has "$TMP/$p-sniff.log" "^$OUT_ADDR $web 6 $((RAW_SPORT - 1)) 80\$"
	after=$(counted_uplink "$p" drop_spoofed_ip)
	echo "drop_spoofed_ip (uplink): $before -> $after; seen in web:"
	grep -v '^ready$' "$TMP/$p-sniff.log" | sed 's/^/  /'
	expect_eq "SYNs from other's address $other seen in web" \
		"$(sniffed "$TMP/$p-sniff.log" "^$other ")" 0
	expect "drop_spoofed_ip up by 3" [ "$after" -ge $((before + 3)) ]
}

# A UDP port moved to another service: the next datagram of the same flow (same client
# address and port) goes to the new endpoint, none to the old.
test_repoint_udp() {
	local p=t$$-mv out n

	up_published "$p" web
	out=$(ip netns exec "$OUT_NS" "$PY" "$NETTOOL" udp-ask "$UPLINK_ADDR" 6060 \
		"$OUT_ADDR:$UDP_SPORT") || true
	expect_eq "the first datagram echoed (by web)" "$out" ask
	expect "web logged it" grep -qE "^udp $OUT_ADDR $UDP_SPORT 6060\$" "$TMP/$p-echo.log"
	up_out "$p" "$(published "$p" other | compose "$p")"
	bh -p "$p" port other || true
	out=$(ip netns exec "$OUT_NS" "$PY" "$NETTOOL" udp-ask "$UPLINK_ADDR" 6060 \
		"$OUT_ADDR:$UDP_SPORT") || true
	echo "web's echo log: $(grep -v '^ready$' "$TMP/$p-echo.log" | tr '\n' ';')"
	echo "other's echo log: $(grep -v '^ready$' "$TMP/$p-other.log" | tr '\n' ';')"
	expect_eq "the second datagram echoed (by other)" "$out" ask
	expect "other logged the second datagram" \
		grep -qE "^udp $OUT_ADDR $UDP_SPORT 6060\$" "$TMP/$p-other.log"
	n=$(grep -cE "^udp $OUT_ADDR $UDP_SPORT 6060\$" "$TMP/$p-echo.log" || true)
	expect_eq "datagrams of the flow web got" "$n" 1
}

# A UDP port moved to another service: the old endpoint's flows of it leave conntrack at
# once (Docker's stale UDP conntrack entries keep sending a flow to the old container).
test_repoint_clears() {
	local p=t$$-mvct web n out

	up_published "$p" web
	web=$(ep_ip "$p" web)
	out=$(ip netns exec "$OUT_NS" "$PY" "$NETTOOL" udp-ask "$UPLINK_ADDR" 6060 \
		"$OUT_ADDR:$UDP_SPORT") || true
	expect_eq "a datagram echoed (by web)" "$out" ask
	n=$(ct_flows "$OUT_ADDR" "$UDP_SPORT" "$web" 6060 17)
	expect_eq "conntrack entries of the flow to web:6060 while published" "$n" 1
	up_out "$p" "$(published "$p" other | compose "$p")"
	n=$(ct_flows "$OUT_ADDR" "$UDP_SPORT" "$web" 6060 17)
	expect_eq "conntrack entries of the flow to web:6060 after 6060/udp moved to other" "$n" 0
}

# The host's own server on uplink:7070 beside the published ports: reached from outside,
# the client's address seen, no berth counter moved.
test_host_server() {
	local p=t$$-host before after out

	up_published "$p"
	mkdir -p "$TMP/hostwww"
	echo "berth-host-$$" >"$TMP/hostwww/index.html"
	spawn_in "$HOST" 120 "$TMP/$p-hosthttp.out" "$PY" "$NETTOOL" http 0.0.0.0 7070 \
		"$TMP/hostwww" "$TMP/$p-hosthttp.log"
	expect "the host's web server" wait_until 10 log_has "$TMP/$p-hosthttp.log" '^ready$'
	sleep 0.5
	before=$(cnt_dump)
	out=$(out_curl "http://$UPLINK_ADDR:7070/")
	expect_eq "the host's own page on uplink:7070" "$out" "berth-host-$$"
	after=$(cnt_dump)
	if [[ $after != "$before" ]]; then
		echo "berth_cnt_v1 changed for the host's own traffic (slot reason packets):"
		diff <(echo "$before") <(echo "$after") || true
		return 1
	fi
	expect "the host's server logged $OUT_ADDR" grep -q "^$OUT_ADDR - " "$TMP/$p-hosthttp.log"
	out=$(out_curl "http://$UPLINK_ADDR:8080/")
	expect_eq "web's page on uplink:8080 all the same" "$out" "berth-published-$$"
}

# hairpin_curl PROJECT SERVICE URL: curl from inside an endpoint, 5 s at most.
hairpin_curl() { bh -p "$1" exec "$2" -- curl -sS -m 5 "$3"; }

# Hairpin: other reaches web's "8080:80" through the uplink's address and through its own
# gateway; web reaches its own port the same way. web's server logs the gateway's address
# (the flow is source-translated, so the replies come back through berth), never other's
# own; UDP through "6060:6060/udp" too. Counted as hairpin and hairpin_reply.
test_hairpin() {
	local p=t$$-hp gw other before after out

	up_published "$p"
	gw=$(gateway_of "$p")
	other=$(ep_ip "$p" other)
	before=$(counted "$p" hairpin)
	out=$(hairpin_curl "$p" other "http://$UPLINK_ADDR:8080/?from=sibling") || true
	expect_eq "web's page from other through uplink:8080" "$out" "berth-published-$$"
	out=$(hairpin_curl "$p" other "http://$gw:8080/?from=gateway") || true
	expect_eq "web's page from other through its gateway $gw:8080" "$out" \
		"berth-published-$$"
	out=$(hairpin_curl "$p" web "http://$UPLINK_ADDR:8080/?from=self") || true
	expect_eq "web's own page through uplink:8080, from web" "$out" "berth-published-$$"
	out=$(bh -p "$p" exec other -- "$PY" "$NETTOOL" udp-ask "$UPLINK_ADDR" 6060) || true
	expect_eq "the echo of other's datagram through uplink:6060/udp" "$out" ask
	echo "web's log:"
	sed 's/^/  /' "$TMP/$p-http.log"
	echo "web's echo log: $(grep -v '^ready$' "$TMP/$p-echo.log" | tr '\n' ';')"
	expect "the sibling's request logged from the gateway $gw" \
		grep -qE "^$gw - .*GET /\?from=sibling " "$TMP/$p-http.log"
	expect "the request to the gateway's address logged from the gateway $gw" \
		grep -qE "^$gw - .*GET /\?from=gateway " "$TMP/$p-http.log"
	expect "web's own request logged from the gateway $gw" \
		grep -qE "^$gw - .*GET /\?from=self " "$TMP/$p-http.log"
	expect_fail "other's own address $other logged" grep -q "^$other " "$TMP/$p-http.log"
	expect "other's datagram logged from the gateway $gw" \
		grep -qE "^udp $gw [0-9]+ 6060\$" "$TMP/$p-echo.log"
	after=$(counted "$p" hairpin)
	echo "hairpin: $before -> $after; hairpin_reply: $(counted "$p" hairpin_reply)"
	expect "hairpin counted (3 connections and a datagram)" [ "$after" -ge $((before + 10)) ]
	expect "hairpin_reply counted" [ "$(counted "$p" hairpin_reply)" -ge 4 ]
	# bulk both ways (segmentation offload through the rewrites): 3 MB echoed through
	# uplink:9090 (web's 8080) from other, and a 3 MB page down from web
	local big=$TMP/www/big.bin
	head -c 3000000 /dev/urandom >"$big"
	out=$(bh -p "$p" exec other -- sh -c \
		"nc -N -w 10 $UPLINK_ADDR 9090 <$big | cmp - $big && echo same")
	expect_eq "3 MB echoed through uplink:9090 from other" "$out" same
	out=$(bh -p "$p" exec other -- sh -c \
		"curl -sS -m 10 http://$UPLINK_ADDR:8080/big.bin | cmp - $big && echo same")
	expect_eq "a 3 MB page through uplink:8080 from other" "$out" same
	# 127.0.0.1 in an endpoint is its own loopback: nothing of the host's answers there
	expect_fail "other's own 127.0.0.1:8080 answered (nothing listens there)" \
		hairpin_curl "$p" other "http://127.0.0.1:8080/"
}

# down takes the ports away: berth_port_v1 empty, uplink:8080 refused.
test_down() {
	local p=t$$-down n

	up_published "$p"
	bh -p "$p" down
	n=$(port_entries)
	echo "berth_port_v1 after down: $n entries"
	expect "berth_port_v1 empty (or gone with the instance) after down" \
		grep -qxE '0|none' <<<"$n"
	expect_fail "uplink:8080 answered after down" \
		ip netns exec "$OUT_NS" nc -z -w 2 "$UPLINK_ADDR" 8080
}

netns_setup
for t in nc curl bpftool; do
	command -v "$t" >/dev/null || skip_all "needs $t"
done
# lo up, as on any host: "127.0.0.1:8081:80" needs 127.0.0.1; the baseline again, with it up
ip -n "$HOST" link set lo up
snapshot "$TMP/baseline" "$HOST"
outside_start
run published-tcp-client-address test_tcp
run published-port-range test_range
run published-udp test_udp
run published-random-port test_random
run published-loopback-not-from-wire test_loopback
run published-spoofed-source-dropped test_spoofed_source
run published-udp-repointed test_repoint_udp
run published-udp-repointed-flow-cleared test_repoint_clears
run host-server-untouched test_host_server
run published-hairpin test_hairpin
run published-down test_down
outside_stop
finish
exit "$FAILED"
