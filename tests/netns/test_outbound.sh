#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The way out: endpoints of non-internal networks reach a server in an "outside"
# namespace behind the instance's uplink, masqueraded to the uplink's address (TCP with
# curl, UDP with nc -u, ping, ICMP errors back); the host namespace's own traffic on the
# uplink is left alone; wire traffic addressed to endpoint subnets or 127.0.0.0/8 is
# dropped and counted; a spoofed source never leaves; a full conntrack table refuses new
# flows and keeps the established one.
#
#   berth-t-PID-out (outside)              berth-t-PID-h (host namespace of the instance)
#   +-------------------------------+      +------------------------------------------+
#   | lo 203.0.113.10 (FAR):        | veth | tupPID 198.51.100.1/24 = the uplink      |
#   |   HTTP, echo servers          +------+ (--uplink), default via 198.51.100.2     |
#   | eth0 198.51.100.2/24: sniffer |      | berth0 (gateways)   bth* veths           |
#   +-------------------------------+      +-----+------------------+-----------------+
#                                                |                  |
#                                          [ web: front ]     [ db: back (internal) ]
#
# Run as root: tests/netns/test_outbound.sh  (DEBUG=1 stops after a failure)
set -euo pipefail
source "$(dirname "$0")/lib.sh"

CT_MAX=16	# x-berth conntrack_max of the full-table test

# front_back PROJECT [TOP-LEVEL X-BERTH]: web and a on front, db on the internal back;
# db runs an echo server on 5432.
front_back() {
	cat <<EOF
name: $1
services:
  web:
    networks: [front]
  a:
    networks: [front]
  db:
    networks: [back]
    x-berth:
      run: $PY $NETTOOL serve 0.0.0.0 5432 $TMP/$1-db.log
networks:
  front: {}
  back:
    internal: true
${2:+x-berth: $2}
EOF
}

# uplink_progs: the BPF programs attached to the uplink (tc or tcx, either direction).
uplink_progs() {
	ip netns exec "$HOST" bpftool net show dev "$UPLINK" -j | python3 -c 'import json, sys
for d in json.load(sys.stdin):
    for kind, rows in d.items():
        for r in rows or []:
            if isinstance(r, dict) and r.get("devname") == sys.argv[1]:
                print(kind, r.get("kind", ""), r.get("name", ""))' "$UPLINK"
}

# in_local_range PORT: PORT is inside the host namespace's ip_local_port_range.
in_local_range() {
	local lo hi

	read -r lo hi < <(ip netns exec "$HOST" sysctl -n net.ipv4.ip_local_port_range)
	((lo <= $1 && $1 <= hi))
}

# TCP: curl from an endpoint; the outside sees the uplink's address; the answer comes back.
test_tcp() {
	local p=t$$-tcp web out line port

	up_out "$p" "$(front_back "$p" | compose tcp)"
	web=$(ep_ip "$p" web)
	out_http 8080 "$TMP/http.log"
	out=$(bh -p "$p" exec web -- curl -sS -m 5 "http://$FAR_ADDR:8080/?from=web")
	echo "curl: $out"
	expect_eq "the outside's page, through the uplink" "$out" "berth-outside-$$"
	line=$(grep -F 'GET /?from=web' "$TMP/http.log" || true)
	echo "server log: $line"
	expect "the request seen from the uplink's address $UPLINK_ADDR" \
		grep -q "^$UPLINK_ADDR - " <<<"$line"
	expect_fail "the endpoint's own address $web seen outside" grep -qF "$web" "$TMP/http.log"
	# the echo server logs the source port too: from berth's SNAT range
	out_serve 7 "$TMP/echo.log"
	out=$(bh -p "$p" exec web -- sh -c "printf 'tcp-line\n' | nc -N -w 3 $FAR_ADDR 7")
	expect_eq "the echo of a line over TCP" "$out" tcp-line
	line=$(grep '^tcp ' "$TMP/echo.log")
	echo "echo log: $line"
	read -r _ _ port _ <<<"$line"
	expect "the TCP peer is $UPLINK_ADDR" grep -q "^tcp $UPLINK_ADDR " <<<"$line"
	expect_fail "SNAT source port $port inside the host's ip_local_port_range" in_local_range "$port"
	expect "snat counted" [ "$(counted "$p" snat)" -ge 2 ]
	expect "reply_nat counted" [ "$(counted "$p" reply_nat)" -ge 2 ]
	# a closed port answers with a RST, translated back like any reply
	out=$(bh -p "$p" exec web -- nc -zv -w 3 "$FAR_ADDR" 9 2>&1) && return 1
	echo "closed port: $out"
	expect "connection refused (the RST came back)" grep -qi refused <<<"$out"
}

# UDP with nc -u; an ICMP port unreachable comes back to the right endpoint.
test_udp() {
	local p=t$$-udp out line port before

	up_out "$p" "$(front_back "$p" | compose udp)"
	out_serve 7 "$TMP/echo.log"
	out=$(bh -p "$p" exec web -- sh -c "printf 'udp-line\n' | timeout 5 nc -u -w 2 $FAR_ADDR 7") || true
	echo "nc -u: $out"
	echo "the outside's echo server: $(grep -v '^ready$' "$TMP/echo.log" | tr '\n' ';')"
	expect_eq "the echo of a datagram" "$out" udp-line
	line=$(grep '^udp ' "$TMP/echo.log")
	echo "echo log: $line"
	read -r _ _ port _ <<<"$line"
	expect "the UDP peer is $UPLINK_ADDR" grep -q "^udp $UPLINK_ADDR " <<<"$line"
	expect_fail "SNAT source port $port inside the host's ip_local_port_range" in_local_range "$port"
	before=$(counted "$p" icmp_error_nat)
	out=$(bh -p "$p" exec web -- "$PY" "$NETTOOL" udp-refused "$FAR_ADDR" 9) || true
	echo "to a closed UDP port: $out"
	expect_eq "port unreachable translated back to web" "$out" refused
	expect "icmp_error_nat counted" [ "$(counted "$p" icmp_error_nat)" -gt "$before" ]
}

# ping: the outside sees echo requests from the uplink's address, the replies come back.
test_ping() {
	local p=t$$-ping web n out

	up_out "$p" "$(front_back "$p" | compose ping)"
	web=$(ep_ip "$p" web)
	out_sniff "$TMP/sniff.log"
	expect "web pings $FAR_ADDR" ping_ok "$p" web "$FAR_ADDR"
	expect "three of three answered" bh -p "$p" exec web -- ping -n -c3 -i0.2 -W2 "$FAR_ADDR"
	n=$(sniffed "$TMP/sniff.log" "^$UPLINK_ADDR $FAR_ADDR 1 8 0\$")
	echo "echo requests from $UPLINK_ADDR seen outside: $n"
	expect "4 or more echo requests from $UPLINK_ADDR" [ "$n" -ge 4 ]
	expect_eq "packets from $web seen outside" "$(sniffed "$TMP/sniff.log" "^$web ")" 0
	expect "a, on the same network, pings out too" ping_ok "$p" a "$FAR_ADDR"
	# TTL 1: the host answers time exceeded (traceroute's first hop), nothing leaves
	n=$(sniffed "$TMP/sniff.log" "^$UPLINK_ADDR $FAR_ADDR 1 8 0\$")
	out=$(bh -p "$p" exec web -- ping -n -c1 -t1 -W2 "$FAR_ADDR" 2>&1 || true)
	echo "$out"
	expect "TTL 1 answered with time exceeded" grep -qi "time to live exceeded" <<<"$out"
	expect_eq "echo requests seen outside after the TTL-1 ping" \
		"$(sniffed "$TMP/sniff.log" "^$UPLINK_ADDR $FAR_ADDR 1 8 0\$")" "$n"
	expect "counted as to_host_icmp_error" [ "$(counted "$p" to_host_icmp_error)" -ge 1 ]
}

# The host namespace's own traffic on the uplink: a web server and an SSH-like session in
# it reached from outside, its own connections out; no berth counter moves.
test_host_traffic() {
	local p=t$$-host before after out

	up_out "$p" "$(front_back "$p" | compose host)"
	mkdir -p "$TMP/hostwww"
	echo "berth-host-$$" >"$TMP/hostwww/index.html"
	spawn_in "$HOST" 120 "$TMP/hosthttp.out" "$PY" "$NETTOOL" http "$UPLINK_ADDR" 8080 \
		"$TMP/hostwww" "$TMP/hosthttp.log"
	spawn_in "$HOST" 120 "$TMP/hostssh.out" "$PY" "$NETTOOL" serve "$UPLINK_ADDR" 22 \
		"$TMP/hostssh.log"
	out_http 8081 "$TMP/http.log"
	out_serve 7 "$TMP/echo.log"
	expect "the host's sshd stand-in" wait_until 10 log_has "$TMP/hostssh.log" '^ready$'
	expect "the host's web server" wait_until 10 log_has "$TMP/hosthttp.log" '^ready$'
	sleep 0.5
	before=$(cnt_dump)
	echo "berth_cnt_v1 before:"
	sed 's/^/  /' <<<"$before"
	out=$(ip netns exec "$OUT_NS" curl -sS -m 5 "http://$UPLINK_ADDR:8080/")
	expect_eq "the host's web server, from outside" "$out" "berth-host-$$"
	# an interactive session: 3 s of lines both ways on one connection to port 22
	expect "an SSH-like session from outside, 3 s without a loss" ip netns exec "$OUT_NS" \
		"$PY" "$NETTOOL" ticker "$UPLINK_ADDR" 22 "$TMP/ssh.ticker" 3
	tail -n1 "$TMP/ssh.ticker"
	expect "the session ran to its end" grep -q '^done' "$TMP/ssh.ticker"
	expect "the outside pings the host" ip netns exec "$OUT_NS" ping -n -c2 -i0.2 -W1 "$UPLINK_ADDR"
	# and the host's own connections out, whose replies come in on the uplink
	out=$(ip netns exec "$HOST" curl -sS -m 5 "http://$FAR_ADDR:8081/")
	expect_eq "the host's own fetch from outside" "$out" "berth-outside-$$"
	out=$(ip netns exec "$HOST" "$PY" "$NETTOOL" udp-ask "$FAR_ADDR" 7)
	expect_eq "the host's own datagram answered" "$out" ask
	expect "the host pings outside" ip netns exec "$HOST" ping -n -c2 -i0.2 -W1 "$FAR_ADDR"
	after=$(cnt_dump)
	if [[ $after != "$before" ]]; then
		echo "berth_cnt_v1 changed for the host's own traffic (slot reason packets):"
		diff <(echo "$before") <(echo "$after") || true
		return 1
	fi
	expect "the host's server logged the outside's address" grep -q "^$OUT_ADDR - " \
		"$TMP/hosthttp.log"
}

# counted_uplink PROJECT REASON: packets under REASON that berth stats --json shows for the
# uplink's program (slot BERTH_SLOT_UPLINK, no endpoint's): in an "uplink" object's
# counters if it has one, else in the total.
counted_uplink() {
	bh -p "$1" stats --json | python3 -c 'import json, sys
d = json.load(sys.stdin)
c = (d.get("uplink") or {}).get("counters") or d.get("total", {})
print(c.get(sys.argv[1], {}).get("packets", 0))' "$2"
}

# Wire traffic addressed to endpoint subnets (a route in the outside via the uplink) or
# to 127.0.0.0/8 never reaches them; drop_wire_to_endpoint and drop_wire_to_loopback count it.
test_wire_to_endpoint() {
	local p=t$$-wire web db net before after raw_before raw_after mac lo_before lo_after

	up_out "$p" "$(front_back "$p" | compose wire)"
	web=$(ep_ip "$p" web)
	db=$(ep_ip "$p" db)
	expect "db's server" wait_until 10 log_has "$TMP/$p-db.log" '^ready$'
	for net in front back; do
		net=$(bh -p "$p" network inspect "$net" --json | py 'd["subnet"]')
		ip -n "$OUT_NS" route add "$net" via "$UPLINK_ADDR"
		at_cleanup "ip -n $OUT_NS route del $net via $UPLINK_ADDR"
	done
	ip -n "$OUT_NS" route
	before=$(counted_uplink "$p" drop_wire_to_endpoint)
	raw_before=$(drops 82)
	lo_before=$(drops 83)
	expect_fail "the outside's ping answered by web $web" \
		ip netns exec "$OUT_NS" ping -n -c2 -i0.3 -W1 "$web"
	expect_fail "the outside's TCP connection to db $db:5432 (internal)" \
		ip netns exec "$OUT_NS" nc -z -w 2 "$db" 5432
	expect_fail "db's server saw a connection" grep -q '^tcp ' "$TMP/$p-db.log"
	# 127.0.0.1 cannot be routed from a namespace: a frame built by hand, to the uplink's MAC
	mac=$(ip -n "$HOST" -o link show dev "$UPLINK" | sed -n 's/.*link\/ether \([0-9a-f:]*\) .*/\1/p')
	ip netns exec "$OUT_NS" "$PY" "$NETTOOL" raw-ping eth0 "$mac" "$OUT_ADDR" 127.0.0.1 3
	sleep 0.3
	after=$(counted_uplink "$p" drop_wire_to_endpoint)
	raw_after=$(drops 82)
	lo_after=$(drops 83)
	echo "drop_wire_to_endpoint: berth_cnt_v1 (any slot) $raw_before -> $raw_after," \
		"berth stats --json $before -> $after"
	echo "drop_wire_to_loopback: berth_cnt_v1 (any slot) $lo_before -> $lo_after"
	expect "the datapath's drop_wire_to_endpoint up by 3 or more (2 pings, 1+ SYN)" \
		[ "$raw_after" -ge $((raw_before + 3)) ]
	expect "the datapath's drop_wire_to_loopback up by 3" [ "$lo_after" -ge $((lo_before + 3)) ]
	expect "berth stats --json: drop_wire_to_endpoint up by 3 or more" \
		[ "$after" -ge $((before + 3)) ]
}

# A source address that is not the endpoint's never leaves: not an address of no one, not
# another endpoint's (a sends as web); drop_spoofed_ip counts them.
test_spoofed_source() {
	local p=t$$-spoof b gw mac before after seen_before seen_after

	up_out "$p" "$(front_back "$p" | compose spoof)"
	b=$(ep_ip "$p" web)
	gw=$(bh -p "$p" network inspect front --json | py 'd["gateway"]')
	out_sniff "$TMP/sniff.log"
	out_serve 7 "$TMP/echo.log"
	expect "a pings out with its own address" ping_ok "$p" a "$FAR_ADDR"
	# a permanent entry for the gateway: the spoofed packets are sent, not lost to ARP
	mac=$(bh -p "$p" exec a -- ip neigh show "$gw" dev eth0 | sed -n 's/.*lladdr \([0-9a-f:]*\).*/\1/p')
	echo "gateway $gw is $mac"
	bh -p "$p" exec a -- ip neigh replace "$gw" lladdr "$mac" dev eth0 nud permanent
	bh -p "$p" exec a -- ip addr add 10.77.0.5/32 dev eth0
	bh -p "$p" exec a -- ip addr add "$b/32" dev eth0
	sleep 0.5
	seen_before=$(sniffed "$TMP/sniff.log" .)
	before=$(counted "$p" drop_spoofed_ip)
	expect_fail "a ping from 10.77.0.5 answered" \
		bh -p "$p" exec a -- ping -n -c2 -i0.3 -W1 -I 10.77.0.5 "$FAR_ADDR"
	expect_fail "a datagram from 10.77.0.5 answered" \
		bh -p "$p" exec a -- "$PY" "$NETTOOL" udp-ask "$FAR_ADDR" 7 10.77.0.5
	expect_fail "a TCP connection from 10.77.0.5" \
		bh -p "$p" exec a -- nc -z -w 2 -s 10.77.0.5 "$FAR_ADDR" 7
	expect_fail "a ping from web's address $b answered" \
		bh -p "$p" exec a -- ping -n -c2 -i0.3 -W1 -I "$b" "$FAR_ADDR"
	sleep 0.5
	seen_after=$(sniffed "$TMP/sniff.log" .)
	after=$(counted "$p" drop_spoofed_ip)
	echo "packets seen outside: $seen_before -> $seen_after; drop_spoofed_ip: $before -> $after"
	if ((seen_after != seen_before)); then
		echo "seen outside:"
		grep -v '^ready$' "$TMP/sniff.log" | tail -n +"$((seen_before + 1))"
		return 1
	fi
	expect_fail "the echo server heard anything" grep -qE '^(tcp|udp) ' "$TMP/echo.log"
	expect "drop_spoofed_ip up by 6 or more (4 pings, a datagram, 1+ SYN)" \
		[ "$after" -ge $((before + 6)) ]
}

# ct_fill PROJECT: "COUNT MAX" of the conntrack table as berth stats --json reports it.
ct_fill() {
	bh -p "$1" stats --json | python3 -c 'import json, sys
d = json.load(sys.stdin)
ct = d.get("conntrack") or d.get("ct") or {}
print(ct.get("entries", ct.get("count")), ct.get("max", ct.get("max_entries")))'
}

# A full table refuses new flows (counted) and keeps the established one going.
test_conntrack_full() {
	local p=t$$-ctfull ok1 ok2 n replied before after fill

	up_out "$p" "$(front_back "$p" "{conntrack_max: $CT_MAX}" | compose ctfull)"
	out_serve 7,8 "$TMP/echo.log"
	out_http 8080 "$TMP/http.log"
	spawn_exec 60 "$TMP/ticker.out" "$p" web "$PY" "$NETTOOL" ticker "$FAR_ADDR" 7 \
		"$TMP/ticker.log" 40
	expect "the established flow's first echoes" wait_until 10 log_has "$TMP/ticker.log" '^ok 5 '
	# fill it: far more UDP flows (one per source port) than the table holds
	n=$((CT_MAX * 2 + 16))
	before=$(counted "$p" drop_conntrack_full)
	replied=$(bh -p "$p" exec a -- "$PY" "$NETTOOL" udp-flows "$FAR_ADDR" 8 "$n" 2)
	echo "UDP flows: $replied of $n answered"
	expect "fewer than $CT_MAX of them answered" [ "$replied" -lt "$CT_MAX" ]
	expect "some of them answered" [ "$replied" -ge 1 ]
	fill=$(ct_fill "$p")
	echo "conntrack (entries max): $fill"
	expect_eq "berth stats: the table full" "$fill" "$CT_MAX $CT_MAX"
	expect_fail "a new TCP flow out" bh -p "$p" exec a -- nc -z -w 2 "$FAR_ADDR" 8
	expect_fail "curl, a new flow, answered" \
		bh -p "$p" exec web -- curl -sS -m 3 -o /dev/null "http://$FAR_ADDR:8080/"
	expect_fail "a new UDP flow answered" bh -p "$p" exec a -- "$PY" "$NETTOOL" udp-ask "$FAR_ADDR" 8
	expect_fail "a new ping answered" bh -p "$p" exec a -- ping -n -c1 -W1 "$FAR_ADDR"
	after=$(counted "$p" drop_conntrack_full)
	echo "drop_conntrack_full: $before -> $after"
	expect "drop_conntrack_full up by more than $((n - CT_MAX))" [ "$after" -gt $((before + n - CT_MAX)) ]
	# the established one never noticed
	ok1=$(grep -c '^ok ' "$TMP/ticker.log")
	sleep 2
	ok2=$(grep -c '^ok ' "$TMP/ticker.log")
	echo "established flow: $ok1 -> $ok2 echoes; last: $(tail -n1 "$TMP/ticker.log")"
	expect_fail "an error on the established flow" grep -q '^err' "$TMP/ticker.log"
	expect "10 or more echoes in 2 s on the established flow" [ "$ok2" -ge $((ok1 + 10)) ]
}

# The uplink after the instance's last project is down: no berth filter left on it, its
# address and the default route as they were, the host's own traffic going.
test_uplink_released() {
	local p=t$$-rel out

	up_out "$p" "$(front_back "$p" | compose rel)"
	out=$(uplink_progs)
	echo "programs on the uplink while up: $out"
	expect "a program on the uplink while up" [ -n "$out" ]
	bh -p "$p" down
	expect_eq "programs on the uplink after down" "$(uplink_progs)" ""
	expect_eq "the uplink's address kept" \
		"$(ip -n "$HOST" -4 -o addr show dev "$UPLINK" | awk '{ print $4 }')" "$UPLINK_ADDR/24"
	expect_eq "the default route kept (via, dev)" \
		"$(ip -n "$HOST" route show default | awk '{ print $3, $5 }')" "$OUT_ADDR $UPLINK"
	expect "the host still reaches outside" ip netns exec "$HOST" ping -n -c1 -W1 "$FAR_ADDR"
}

netns_setup
for t in ping nc curl bpftool tc; do
	command -v "$t" >/dev/null || skip_all "needs $t"
done
outside_start
run outbound-tcp test_tcp
run outbound-udp test_udp
run outbound-ping test_ping
run host-own-traffic-untouched test_host_traffic
run wire-to-endpoint-dropped test_wire_to_endpoint
run spoofed-source-never-leaves test_spoofed_source
run conntrack-full test_conntrack_full
run uplink-released test_uplink_released
outside_stop
finish
exit "$FAILED"
