#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# IP fragments of the flows berth translates. A UDP datagram or an ICMP echo larger than the
# 1500-byte MTU leaves its sender in fragments; the first carries the ports, the later ones
# of the same datagram (source, destination, protocol, IP id) must get the same address
# translation, both ways:
#   - published UDP: the outside sends 4000 random bytes to uplink:6060; the endpoint's
#     echo server gets them from the outside client's own address, and its 4000-byte echo
#     comes back with the same sha256;
#   - masquerade: an endpoint sends 4000 random bytes to an echo server outside, which sees
#     the uplink's address; the 4000-byte reply comes back with the same sha256;
#   - ping -s 3000 from an endpoint: three of three answered;
#   - a 100-byte datagram through the published port, as before (no fragments).
# Each checks in /proc/net/snmp (one per namespace) that the large datagrams really were
# fragmented and reassembled at both ends, so that it cannot pass unfragmented, and that
# drop_fragment (berth stats, the project's and the uplink's) did not move.
#
#   berth-t-PID-out (outside)              berth-t-PID-h (host namespace of the instance)
#   +-------------------------------+      +------------------------------------------+
#   | eth0 198.51.100.2/24: the big | veth | tupPID 198.51.100.1/24 = the uplink      |
#   |   UDP client (to uplink:6060) +------+ (--uplink), MTU 1500: DNATs 6060/udp in, |
#   | lo 203.0.113.10 (FAR): UDP    |      | masquerades the endpoint's flows out     |
#   |   echo on 7070, answers pings |      +---------------------+--------------------+
#   +-------------------------------+                            |
#                                                [ app: UDP echo on 6060, published   ]
#                                                [ "6060:6060/udp"; the big UDP client ]
#                                                [ and ping -s 3000 run in it (exec)   ]
#
# Run as root: tests/netns/test_fragments.sh  (DEBUG=1 stops after a failure)
set -euo pipefail
source "$(dirname "$0")/lib.sh"

BIG=4000		# bytes of UDP payload: three fragments at MTU 1500
SMALL=100
OUT_PORT=7070		# the outside's UDP echo (on FAR)

# app PROJECT: one service, app, publishing its UDP echo on 6060 (its log: "udp PEER PEERPORT
# PORT" per datagram).
app() {
	cat <<EOF
name: $1
services:
  app:
    ports:
      - "6060:6060/udp"
    x-berth:
      run: "exec $PY $NETTOOL serve 0.0.0.0 6060 $TMP/$1-echo.log"
EOF
}

# up_app PROJECT: up with the uplink, app's echo server ready.
up_app() {
	up_out "$1" "$(app "$1" | compose "$1")"
	expect "app's echo server" wait_until 10 log_has "$TMP/$1-echo.log" '^ready$'
}

# The UDP client of these tests (nettool.py has none that sends a payload of a given size):
# udp_echo.py HOST PORT SIZE sends SIZE random bytes, waits 3 s for their echo, and tries
# twice; prints what it sent and got (sizes, sha256, the replier), "intact" and exits 0 when
# the same bytes came back. DF is never set, so the kernel fragments whatever the path's MTU.
write_client() {
	cat >"$TMP/udp_echo.py" <<'EOF'
import hashlib, os, socket, sys, time

host, port, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IP, getattr(socket, "IP_MTU_DISCOVER", 10),
	     getattr(socket, "IP_PMTUDISC_DONT", 0))
for attempt in (1, 2):
	data = os.urandom(size)
	want = hashlib.sha256(data).hexdigest()
	s.sendto(data, (host, port))
	print("try %d: sent %d bytes sha256 %s" % (attempt, size, want))
	end = time.time() + 3
	while time.time() < end:
		s.settimeout(max(0.01, end - time.time()))
		try:
			got, peer = s.recvfrom(65535)
		except OSError as e:
			print("try %d: no echo in 3 s (%s)" % (attempt, e or "timeout"))
			break
		print("try %d: got %d bytes sha256 %s from %s:%d" %
		      (attempt, len(got), hashlib.sha256(got).hexdigest(), *peer))
		if got == data:
			print("intact")
			sys.exit(0)
sys.exit(1)
EOF
}

# frags: "FragCreates ReasmOKs" of /proc/net/snmp: datagrams this namespace fragmented
# (fragments made) and reassembled.
FRAGS_AWK='/^Ip:/ { if (!h) { for (i = 2; i <= NF; i++) k[$i] = i; h = 1 }
	else print $k["FragCreates"], $k["ReasmOKs"] }'
out_frags() { ip netns exec "$OUT_NS" awk "$FRAGS_AWK" /proc/net/snmp; }
app_frags() { bh -p "$1" exec app -- awk "$FRAGS_AWK" /proc/net/snmp; }

# frag_drops PROJECT: drop_fragment packets in berth stats --json: the project's total plus
# the uplink's (instance-wide).
frag_drops() {
	bh -p "$1" stats --json | python3 -c 'import json, sys
d = json.load(sys.stdin)
t = d.get("total", {}).get("drop_fragment", {}).get("packets", 0)
u = ((d.get("uplink") or {}).get("counters") or {}).get("drop_fragment", {}).get("packets", 0)
print(t + u)'
}

# rose WHAT BEFORE AFTER FIELD MIN: field FIELD (1 FragCreates, 2 ReasmOKs) of a frags pair
# went up by MIN or more.
rose() {
	local b a

	b=$(cut -d' ' -f"$4" <<<"$2")
	a=$(cut -d' ' -f"$4" <<<"$3")
	expect "$1 ($b -> $a)" [ "$a" -ge $((b + $5)) ]
}

# published_echo PROJECT SIZE: SIZE bytes from outside to uplink:6060/udp and the echo back;
# the client's words in OUT, the fragment counters before and after in OB OA (outside),
# AB AA (app), DB DA (drop_fragment), each shown.
published_echo() {
	local p=$1

	OB=$(out_frags)
	AB=$(app_frags "$p")
	DB=$(frag_drops "$p")
	OUT=$(ip netns exec "$OUT_NS" "$PY" "$TMP/udp_echo.py" "$UPLINK_ADDR" 6060 "$2") || true
	OA=$(out_frags)
	AA=$(app_frags "$p")
	DA=$(frag_drops "$p")
	echo "client (outside): ${OUT//$'\n'/; }"
	echo "app's echo log: $(grep -v '^ready$' "$TMP/$p-echo.log" | tr '\n' ';')"
	echo "FragCreates ReasmOKs: outside $OB -> $OA, app $AB -> $AA; drop_fragment $DB -> $DA"
}

# "6060:6060/udp", 4000 bytes from outside: fragments in, the echo's fragments out.
test_published_big() {
	local p=t$$-pub

	up_app "$p"
	published_echo "$p" "$BIG"
	expect "the $BIG-byte echo through uplink:6060/udp, intact" grep -qx intact <<<"$OUT"
	expect "the datagram logged from the outside client's $OUT_ADDR" \
		grep -qE "^udp $OUT_ADDR [0-9]+ 6060\$" "$TMP/$p-echo.log"
	expect_fail "the uplink's address $UPLINK_ADDR logged" \
		grep -q "^udp $UPLINK_ADDR " "$TMP/$p-echo.log"
	rose "the outside fragmented the request" "$OB" "$OA" 1 2
	rose "app reassembled the request" "$AB" "$AA" 2 1
	rose "app fragmented the echo" "$AB" "$AA" 1 2
	rose "the outside reassembled the echo" "$OB" "$OA" 2 1
	expect_eq "drop_fragment after the exchange" "$DA" "$DB"
}

# An endpoint's 4000 bytes to the outside, masqueraded, and the fragmented reply back.
test_masquerade_big() {
	local p=t$$-masq out ob oa ab aa db da

	up_app "$p"
	out_serve "$OUT_PORT" "$TMP/out-echo.log"
	ob=$(out_frags)
	ab=$(app_frags "$p")
	db=$(frag_drops "$p")
	out=$(bh -p "$p" exec app -- "$PY" "$TMP/udp_echo.py" "$FAR_ADDR" "$OUT_PORT" "$BIG") ||
		true
	oa=$(out_frags)
	aa=$(app_frags "$p")
	da=$(frag_drops "$p")
	echo "client (app): ${out//$'\n'/; }"
	echo "the outside's echo log: $(grep -v '^ready$' "$TMP/out-echo.log" | tr '\n' ';')"
	echo "FragCreates ReasmOKs: app $ab -> $aa, outside $ob -> $oa; drop_fragment $db -> $da"
	expect "the $BIG-byte reply from $FAR_ADDR:$OUT_PORT, intact" grep -qx intact <<<"$out"
	expect "the datagram seen outside from the uplink's address $UPLINK_ADDR" \
		grep -qE "^udp $UPLINK_ADDR [0-9]+ $OUT_PORT\$" "$TMP/out-echo.log"
	expect_fail "a datagram seen outside from another address" \
		grep -qvE "^(ready|udp $UPLINK_ADDR .*)\$" "$TMP/out-echo.log"
	rose "app fragmented the request" "$ab" "$aa" 1 2
	rose "the outside reassembled the request" "$ob" "$oa" 2 1
	rose "the outside fragmented the reply" "$ob" "$oa" 1 2
	rose "app reassembled the reply" "$ab" "$aa" 2 1
	expect_eq "drop_fragment after the exchange" "$da" "$db"
}

# ping -s 3000: 3008-byte echo requests out in fragments, the replies back in fragments.
test_ping_big() {
	local p=t$$-ping out rc=0 db da ab aa

	up_app "$p"
	expect "app pings $FAR_ADDR (small)" ping_ok "$p" app "$FAR_ADDR"
	ab=$(app_frags "$p")
	db=$(frag_drops "$p")
	out=$(bh -p "$p" exec app -- ping -n -c 3 -s 3000 -W 2 "$FAR_ADDR" 2>&1) || rc=$?
	aa=$(app_frags "$p")
	da=$(frag_drops "$p")
	echo "$out"
	echo "ping exit $rc; FragCreates ReasmOKs of app $ab -> $aa; drop_fragment $db -> $da"
	expect_eq "ping -s 3000's exit code" "$rc" 0
	expect "3 of 3 answered" grep -qE '^3 packets transmitted, 3 received' <<<"$out"
	rose "app fragmented the requests" "$ab" "$aa" 1 6
	rose "app reassembled the replies" "$ab" "$aa" 2 3
	expect_eq "drop_fragment after the pings" "$da" "$db"
}

# 100 bytes through the published port: no fragment anywhere, echoed as before.
test_published_small() {
	local p=t$$-small

	up_app "$p"
	published_echo "$p" "$SMALL"
	expect "the $SMALL-byte echo through uplink:6060/udp, intact" grep -qx intact <<<"$OUT"
	expect "the datagram logged from the outside client's $OUT_ADDR" \
		grep -qE "^udp $OUT_ADDR [0-9]+ 6060\$" "$TMP/$p-echo.log"
	expect_eq "FragCreates ReasmOKs of the outside (nothing fragmented)" "$OA" "$OB"
	expect_eq "drop_fragment after the exchange" "$DA" "$DB"
}

netns_setup
for t in ping awk; do
	command -v "$t" >/dev/null || skip_all "needs $t"
done
write_client
outside_start
run published-udp-fragments test_published_big
run masquerade-udp-fragments test_masquerade_big
run ping-fragments test_ping_big
run published-udp-small test_published_small
outside_stop
finish
exit "$FAILED"
