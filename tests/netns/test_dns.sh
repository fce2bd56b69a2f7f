#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# berth's DNS at 127.0.0.11 inside the endpoints, per exercise step: 2.2 replicas behind
# one alias in rotating order, 2.3 service discovery on the default network, 4.3 several
# aliases of one endpoint; scoping per network, forwarding to an upstream, internal-only
# endpoints, a service that binds port 53 itself, TCP and truncation, live reload, the
# agent's lifecycle, `berth dns` and `up --dns`.
#
#   berth-t-PID-up                      berth-t-PID-h (host namespace of the instance)
#   +---------------------------+       +-------------------------------------------+
#   | dnsmasq 10.213.53.2:53    |       | berth agent: forwards from here           |
#   | outside.test → 192.0.2.7  | veth  | 10.213.53.1/30   berth0: the gateways     |
#   | log: $TMP/upstream.log    +-------+ bth* host veths                           |
#   +---------------------------+       +----+---------------+----------------------+
#                                            |               |
#                                  [ client: 127.0.0.11 ]  [ web ... ]  endpoints
#                                    lo tc: 127.0.0.11:53 → the agent's port
#
# Every `berth up` here gets --dns 10.213.53.2: the agent never asks the machine's
# resolver, and the host namespace has no route to anything but the upstream's /30.
#
# Run as root: tests/netns/test_dns.sh  (DEBUG=1 stops after a failure)
set -euo pipefail
source "$(dirname "$0")/lib.sh"

UP_NS="berth-t-$$-up"		# the upstream's namespace (a name of this script: scrub knows it)
UP_ADDR=10.213.53.2		# the upstream dnsmasq
# three of these make a TXT answer over 512 bytes: truncated over UDP without EDNS
BIG_TXT=$(printf 'x%.0s' $(seq 200))
UP_PEER=10.213.53.1		# its peer in the host namespace: where forwarded queries come from
UP_LINK=tdns$$			# the veth in the host namespace (gone with the upstream's namespace)

# ---- the test upstream ----

# upstream_start: dnsmasq in its own namespace, reached from $HOST over a veth /30.
upstream_start() {
	ip netns add "$UP_NS"
	ip -n "$HOST" link add "$UP_LINK" type veth peer name eth0 netns "$UP_NS"
	ip -n "$HOST" addr add "$UP_PEER/30" dev "$UP_LINK"
	ip -n "$HOST" link set "$UP_LINK" up
	ip -n "$UP_NS" link set lo up
	ip -n "$UP_NS" addr add "$UP_ADDR/30" dev eth0
	ip -n "$UP_NS" link set eth0 up
	: >"$TMP/upstream.log"
	# -C /dev/null, --pid-file=: no file of the machine read or written
	ip netns exec "$UP_NS" dnsmasq -k -C /dev/null --pid-file= --no-resolv --no-hosts \
		--listen-address="$UP_ADDR" --bind-interfaces --address=/outside.test/192.0.2.7 \
		--txt-record="big.outside.test,$BIG_TXT,$BIG_TXT,$BIG_TXT" \
		--log-queries --log-facility="$TMP/upstream.log" \
		</dev/null >"$TMP/upstream.out" 2>&1 &
	echo $! >"$TMP/upstream.pid"
	expect "the upstream dnsmasq answers outside.test" wait_until 10 upstream_ready
	cat "$TMP/upstream.log"
}

upstream_ready() {
	[[ $(ip netns exec "$HOST" dig +short +time=1 +tries=1 "@$UP_ADDR" outside.test 2>/dev/null) == 192.0.2.7 ]]
}

# upstream_saw NAME: the upstream's log has a query for NAME.
upstream_saw() { grep -qiE "query\[[A-Z]+\] $1 from" "$TMP/upstream.log"; }

upstream_stop() {
	local pid _

	if [[ -s $TMP/upstream.pid ]]; then
		pid=$(cat "$TMP/upstream.pid")
		kill -TERM "$pid" 2>/dev/null || true
		for _ in $(seq 50); do
			pid_gone "$pid" && break
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null || true
		: >"$TMP/upstream.pid"
	fi
	# both ends of the veth go with it; the /30 and its route with them
	ip -n "$HOST" link del "$UP_LINK" 2>/dev/null || true
	ip netns del "$UP_NS" 2>/dev/null || true
}

# ---- the agent ----

# agent_pids: the agents of this script's instance (by their command line; zombies have none).
agent_pids() {
	local d cmd

	for d in /proc/[0-9]*; do
		cmd=$(tr '\0' ' ' <"$d/cmdline" 2>/dev/null) || continue
		[[ $cmd == *" agent --host-netns $HOST "* ]] && echo "${d#/proc/}"
	done
	return 0
}

no_agent() { [[ -z $(agent_pids) ]]; }

# ---- asking ----

# q PROJECT SERVICE[.N] DIG-ARGS...: dig inside the endpoint, bounded (2 s, 2 tries).
q() {
	local p=$1 s=$2

	shift 2
	bh -p "$p" exec "$s" -- dig +time=2 +tries=2 "$@"
}

# a PROJECT SERVICE NAME [DIG-ARGS...]: the A records of NAME, sorted, on one line.
a() {
	local p=$1 s=$2 n=$3

	shift 3
	q "$p" "$s" +short "$@" "$n" | sort -V | tr '\n' ' ' | sed 's/ $//'
}

# ips PROJECT SERVICE [NETKEY]: the addresses of every replica of SERVICE, as a() prints them.
ips() {
	ps_json "$1" | python3 -c 'import json, sys
svc, key = sys.argv[1], sys.argv[2]
out = [i["ipv4"] for e in json.load(sys.stdin) if e["service"] == svc
       for i in e["networks"] if not key or i["key"] == key]
print(" ".join(sorted(out, key=lambda x: tuple(map(int, x.split("."))))))' "$2" "${3:-}"
}

# status OUTPUT: the rcode of a full dig output; answers OUTPUT: its ANSWER count.
status() { sed -n 's/.*status: \([A-Z]*\),.*/\1/p' <<<"$1" | head -n1; }
answers() { sed -n 's/.*ANSWER: \([0-9]*\),.*/\1/p' <<<"$1" | head -n1; }
# qtime OUTPUT: dig's "Query time" in milliseconds
qtime() { sed -n 's/^;; Query time: \([0-9]*\) msec.*/\1/p' <<<"$1" | head -n1; }

# 2.2: three replicas behind the alias web, and three services sharing the alias pool:
# every address in each answer, a different one first from query to query.
test_replicas_alias() {
	local p=t$$-rr f out want first firsts="" i

	f=$(compose rr <<EOF
name: $p
services:
  app:
    deploy:
      replicas: 3
    networks:
      lan:
        aliases: [web]
  s1:
    networks:
      lan:
        aliases: [pool]
  s2:
    networks:
      lan:
        aliases: [pool]
  s3:
    networks:
      lan:
        aliases: [pool]
  client:
    networks: [lan]
networks:
  lan: {}
EOF
)
	up_project "$p" "$f" "$HOST" --dns "$UP_ADDR"
	want=$(ips "$p" app)
	echo "app replicas: $want"
	expect_eq "3 replicas" "$(wc -w <<<"$want")" 3
	for i in 1 2 3 4 5 6; do
		out=$(q "$p" client +short web)
		echo "query $i: $(tr '\n' ' ' <<<"$out")"
		expect_eq "dig +short web: every replica" "$(sort -V <<<"$out" | tr '\n' ' ' | sed 's/ $//')" "$want"
		firsts+="$(head -n1 <<<"$out") "
	done
	for first in $want; do
		expect "$first first in one of 6 answers (rotation)" grep -qw "$first" <<<"$firsts"
	done
	want="$(ips "$p" s1) $(ips "$p" s2) $(ips "$p" s3)"
	want=$(tr ' ' '\n' <<<"$want" | sort -V | tr '\n' ' ' | sed 's/ $//')
	expect_eq "pool: the three services that share the alias" "$(a "$p" client pool)" "$want"
	expect_eq "app: the service name, the three replicas too" "$(a "$p" client app)" "$(ips "$p" app)"
}

# 2.3: no networks declared: the default network; every service resolves every other,
# with dig, getent hosts and nslookup; TTL 0 without x-berth dns_ttl.
test_discovery() {
	local p=t$$-disc f s from ip out

	f=$(compose disc <<EOF
name: $p
services:
  database: {}
  redis-cache: {}
  message-queue: {}
EOF
)
	up_project "$p" "$f" "$HOST" --dns "$UP_ADDR"
	for s in database redis-cache message-queue; do
		ip=$(ep_ip "$p" "$s" default)
		for from in database redis-cache message-queue; do
			[[ $from == "$s" ]] && continue
			expect_eq "dig $s from $from" "$(a "$p" "$from" "$s")" "$ip"
			out=$(bh -p "$p" exec "$from" -- getent hosts "$s")
			echo "getent hosts $s from $from: $out"
			expect_eq "getent hosts $s from $from" "$(awk '{ print $1 }' <<<"$out")" "$ip"
		done
	done
	out=$(bh -p "$p" exec database -- nslookup redis-cache)
	echo "$out"
	expect "nslookup redis-cache: its address" grep -qx "Address: $(ep_ip "$p" redis-cache)" <<<"$out"
	out=$(q "$p" database +noall +answer message-queue)
	echo "$out"
	expect_eq "TTL 0 without dns_ttl" "$(awk '{ print $2 }' <<<"$out")" 0
	expect_eq "the replica name $p-database-1" "$(a "$p" redis-cache "$p-database-1")" \
		"$(ep_ip "$p" database)"
	expect_eq "database.default" "$(a "$p" redis-cache database.default)" "$(ep_ip "$p" database)"
	expect_eq "database.${p}_default" "$(a "$p" redis-cache "database.${p}_default")" \
		"$(ep_ip "$p" database)"
}

# 4.3: one endpoint, several aliases: all one address, by any name it has; letters in
# any case; AAAA and the like NOERROR and empty; PTR; the project's dns_ttl.
test_aliases() {
	local p=t$$-alias f ip other name out ptr t

	f=$(compose alias <<EOF
name: $p
x-berth:
  dns_ttl: 7
services:
  nginx:
    container_name: t$$-nginx
    networks:
      frontnet:
        aliases: [webserver, api, frontend]
  other:
    networks: [frontnet]
  client:
    networks: [frontnet]
networks:
  frontnet: {}
EOF
)
	up_project "$p" "$f" "$HOST" --dns "$UP_ADDR"
	ip=$(ep_ip "$p" nginx)
	other=$(ep_ip "$p" other)
	echo "nginx $ip, other $other"
	for name in nginx webserver api frontend t$$-nginx webserver.frontnet \
		"api.${p}_frontnet" nginx.frontnet "frontend.${p}_frontnet" "t$$-nginx.frontnet" \
		WEBSERVER Api.FrontNet "T$$-NGINX" "Nginx.${p^^}_FRONTNET" webserver.; do
		expect_eq "dig $name" "$(a "$p" client "$name")" "$ip"
	done
	expect_eq "the endpoint name $p-other-1" "$(a "$p" client "$p-other-1")" "$other"
	expect_eq "$p-other-1.frontnet" "$(a "$p" client "$p-other-1.frontnet")" "$other"
	out=$(bh -p "$p" exec client -- getent hosts api)
	echo "getent hosts api: $out"
	expect_eq "getent hosts api" "$(awk '{ print $1 }' <<<"$out")" "$ip"
	# a known name has no other records: NOERROR, nothing, and nothing forwarded
	for t in AAAA MX TXT SRV; do
		out=$(q "$p" client "$t" webserver)
		echo "$t webserver: $(status "$out"), $(answers "$out") answers"
		expect_eq "$t webserver: NOERROR" "$(status "$out")" NOERROR
		expect_eq "$t webserver: no answers" "$(answers "$out")" 0
	done
	expect_fail "the upstream asked about webserver" upstream_saw webserver
	out=$(q "$p" client +noall +answer frontend)
	echo "$out"
	expect_eq "TTL 7 (x-berth dns_ttl)" "$(awk '{ print $2 }' <<<"$out")" 7
	ptr=$(q "$p" client +short -x "$ip")
	expect_eq "PTR of nginx's address" "$ptr" "t$$-nginx.${p}_frontnet."
	ptr=$(q "$p" client +short -x "$other")
	expect_eq "PTR of other's address" "$ptr" "$p-other-1.${p}_frontnet."
	out=$(q "$p" client +noall +answer -x "$ip")
	expect_eq "PTR TTL 7" "$(awk '{ print $2 }' <<<"$out")" 7
}

# Names are per network: a name only on back is NXDOMAIN from front, and never forwarded.
test_scoping() {
	local p=t$$-scope f out

	f=$(compose scope <<EOF
name: $p
services:
  aonly:
    networks: [front]
  bonly:
    container_name: t$$-bonly
    networks:
      back:
        aliases: [t$$-balias]
  both:
    networks: [front, back]
networks:
  front: {}
  back: {}
EOF
)
	up_project "$p" "$f" "$HOST" --dns "$UP_ADDR"
	for name in bonly "t$$-bonly" "t$$-balias" bonly.back "bonly.${p}_back" BONLY; do
		out=$(q "$p" aonly "$name")
		echo "$name from aonly: $(status "$out")"
		expect_eq "$name from aonly: NXDOMAIN" "$(status "$out")" NXDOMAIN
	done
	# both is on both networks: from aonly only its front address, from bonly its back one
	expect_eq "both from aonly: its front address" "$(a "$p" aonly both)" "$(ep_ip "$p" both front)"
	expect_eq "both from bonly: its back address" "$(a "$p" bonly both)" "$(ep_ip "$p" both back)"
	expect_eq "bonly from both" "$(a "$p" both bonly)" "$(ep_ip "$p" bonly back)"
	expect_eq "bonly.back from both" "$(a "$p" both bonly.back)" "$(ep_ip "$p" bonly back)"
	# a name.network of a network the endpoint is not on
	out=$(q "$p" aonly both.back)
	expect_eq "both.back from aonly: NXDOMAIN" "$(status "$out")" NXDOMAIN
	# PTR of an address on another network: not berth's to tell, not the endpoint's name
	out=$(q "$p" aonly +short -x "$(ep_ip "$p" bonly back)" || true)
	echo "PTR of bonly's address from aonly: $out"
	expect_fail "bonly's name in a PTR answer to aonly" grep -q bonly <<<"$out"
	cat "$TMP/upstream.log"
	for name in bonly "t$$-bonly" "t$$-balias" 'bonly\.back' "both\.back"; do
		expect_fail "the upstream saw $name" upstream_saw "$name"
	done
}

# Names berth does not know go to the --dns server, from the host namespace.
test_forwarding() {
	local p=t$$-fwd f out gw size

	f=$(compose fwd <<EOF
name: $p
services:
  client:
    networks: [n]
networks:
  n: {}
EOF
)
	up_project "$p" "$f" "$HOST" --dns "$UP_ADDR"
	gw=$(bh -p "$p" network inspect n --json | py 'd["gateway"]')
	out=$(bh -p "$p" exec client -- ip route)
	echo "client routes: $out"
	expect "the client's default route via its gateway" grep -q "^default via $gw dev eth0" <<<"$out"
	expect_eq "dig outside.test" "$(a "$p" client outside.test)" 192.0.2.7
	expect_eq "dig t$$-fwd.outside.test" "$(a "$p" client "t$$-fwd.outside.test")" 192.0.2.7
	expect_eq "dig +tcp t$$-tcp.outside.test" "$(a "$p" client "t$$-tcp.outside.test" +tcp)" 192.0.2.7
	out=$(bh -p "$p" exec client -- nslookup -type=A "t$$-ns.outside.test")
	echo "$out"
	expect "nslookup -type=A: 192.0.2.7" grep -qx "Address: 192.0.2.7" <<<"$out"
	# plain nslookup asks AAAA too, which this upstream refuses (SERVFAIL): the A still shows
	out=$(bh -p "$p" exec client -- nslookup outside.test || true)
	echo "$out"
	expect "nslookup: 192.0.2.7" grep -qx "Address: 192.0.2.7" <<<"$out"
	grep "outside.test" "$TMP/upstream.log"
	expect "the upstream saw t$$-fwd.outside.test from $UP_PEER (the host namespace)" \
		grep -q "query\[A\] t$$-fwd.outside.test from $UP_PEER\$" "$TMP/upstream.log"
	expect "the upstream saw t$$-tcp.outside.test" upstream_saw "t$$-tcp.outside.test"
	# a client on TCP gets the whole answer even when the upstream's UDP answer is
	# truncated: the agent asks again over TCP
	out=$(q "$p" client +tcp +noedns TXT big.outside.test)
	echo "$out" | grep -E 'flags|ANSWER:'
	expect_fail "no tc flag for the TCP client" grep -qE '^;; flags: [a-z ]*\btc\b' <<<"$out"
	expect_eq "dig +tcp +noedns TXT big.outside.test: one record" "$(answers "$out")" 1
	size=$(sed -n 's/^;; MSG SIZE  rcvd: \([0-9]*\)/\1/p' <<<"$out")
	echo "answer size: $size"
	expect "the whole answer, over 512 bytes" test "${size:-0}" -gt 512
	# the forwarded answer keeps the upstream's rcode
	out=$(q "$p" client "t$$-none.example")
	echo "t$$-none.example: $(status "$out")"
	expect "t$$-none.example went to the upstream" upstream_saw "t$$-none.example"
}

# Internal-only: nothing leaves; outside names are NXDOMAIN at once; its own network's
# names still resolve.
test_internal() {
	local p=t$$-int f out ms

	f=$(compose int <<EOF
name: $p
services:
  sealed:
    networks: [vault]
  peer:
    networks: [vault]
networks:
  vault:
    internal: true
EOF
)
	up_project "$p" "$f" "$HOST" --dns "$UP_ADDR"
	out=$(q "$p" sealed "t$$-int.outside.test")
	echo "$out"
	ms=$(qtime "$out")
	expect_eq "outside name from an internal-only endpoint: NXDOMAIN" "$(status "$out")" NXDOMAIN
	expect "an answer within 1 s (got ${ms:-no} ms)" [ "${ms:-9999}" -lt 1000 ]
	out=$(q "$p" sealed +tcp "t$$-inttcp.outside.test")
	expect_eq "over TCP too: NXDOMAIN" "$(status "$out")" NXDOMAIN
	out=$(q "$p" sealed -x 192.0.2.7)
	expect_eq "PTR of an outside address: NXDOMAIN" "$(status "$out")" NXDOMAIN
	expect_eq "peer from sealed" "$(a "$p" sealed peer)" "$(ep_ip "$p" peer)"
	expect_fail "the upstream saw t$$-int.outside.test" upstream_saw "t$$-int.outside.test"
	expect_fail "the upstream saw t$$-inttcp.outside.test" upstream_saw "t$$-inttcp.outside.test"
	expect_fail "the upstream saw a PTR query" grep -q 'query\[PTR\] 7\.2\.0\.192' "$TMP/upstream.log"
}

# A service that binds port 53 on all its addresses (pihole): 127.0.0.11 is still berth's.
test_pihole() {
	local p=t$$-pi f pi web out got i

	f=$(compose pi <<EOF
name: $p
services:
  pihole:
    networks: [n]
    x-berth:
      run: exec dnsmasq -k -C /dev/null --pid-file= --no-resolv --no-hosts --port 53 --address=/pi.test/198.51.100.9 --log-queries --log-facility=-
  web:
    networks: [n]
networks:
  n: {}
EOF
)
	up_project "$p" "$f" "$HOST" --dns "$UP_ADDR"
	pi=$(ep_ip "$p" pihole)
	web=$(ep_ip "$p" web)
	# dnsmasq needs a moment to bind: 50 tries, 0.1 s apart
	for i in $(seq 50); do
		got=$(bh -p "$p" exec pihole -- dig +short +time=1 +tries=1 "@$pi" pi.test 2>&1) &&
			[[ $got == 198.51.100.9 ]] && break
		sleep 0.1
	done
	echo "pi.test at $pi after $i tries: $got"
	if command -v ss >/dev/null; then
		out=$(bh -p "$p" exec pihole -- ss -Hlnu)
		echo "$out"
		expect "the service's dnsmasq holds 0.0.0.0:53" grep -q '0\.0\.0\.0:53 ' <<<"$out"
	fi
	expect_eq "dig @$pi pi.test: the service's dnsmasq, once up" "$got" 198.51.100.9
	out=$(bh -p "$p" exec pihole -- dig +short +time=2 +tries=2 "@$pi" pi.test)
	expect_eq "dig @$pi pi.test: the service's dnsmasq" "$out" 198.51.100.9
	expect_eq "dig @$pi pi.test from web" \
		"$(bh -p "$p" exec web -- dig +short +time=2 +tries=2 "@$pi" pi.test)" 198.51.100.9
	expect_eq "dig @127.0.0.1 pi.test" \
		"$(bh -p "$p" exec pihole -- dig +short +time=2 +tries=2 @127.0.0.1 pi.test)" 198.51.100.9
	expect_eq "dig @127.0.0.11 web from pihole: berth" "$(a "$p" pihole web @127.0.0.11)" "$web"
	expect_eq "dig @127.0.0.11 +tcp web from pihole: berth" "$(a "$p" pihole web @127.0.0.11 +tcp)" "$web"
	expect_eq "dig web from pihole (resolv.conf): berth" "$(a "$p" pihole web)" "$web"
	expect_eq "dig pihole from web: berth" "$(a "$p" web pihole)" "$pi"
	# pi.test through 127.0.0.11 is not the service's: berth forwards it to the upstream
	out=$(q "$p" pihole @127.0.0.11 pi.test || true)
	echo "pi.test at 127.0.0.11: $(status "$out")"
	expect_fail "198.51.100.9 from 127.0.0.11" grep -q 198.51.100.9 <<<"$out"
	expect "the upstream saw pi.test (berth forwarded it)" upstream_saw 'pi\.test'
	out=$(bh -p "$p" logs pihole)
	echo "$out"
	expect "the service's dnsmasq saw pi.test from $web" grep -q "query\[A\] pi.test from $web" <<<"$out"
	expect_fail "the service's dnsmasq saw web" grep -q "query\[A\] web from" <<<"$out"
}

# TCP, and a UDP answer over 512 bytes: TC set, the full answer over TCP.
test_tcp_truncation() {
	local p=t$$-big f want out

	f=$(compose big <<EOF
name: $p
services:
  web:
    deploy:
      replicas: 40
    networks: [big]
  client:
    networks: [big]
networks:
  big:
    ipam:
      config:
        - subnet: 10.213.60.0/24
EOF
)
	up_project "$p" "$f" "$HOST" --dns "$UP_ADDR"
	want=$(ips "$p" web)
	expect_eq "40 replicas" "$(wc -w <<<"$want")" 40
	expect_eq "dig +tcp web: all 40" "$(a "$p" client web +tcp)" "$want"
	out=$(q "$p" client +ignore +noedns web)
	echo "$out" | grep -E 'flags|status'
	expect "the tc flag without EDNS (40 A records > 512 bytes)" \
		grep -qE '^;; flags: [a-z ]*\btc\b' <<<"$out"
	out=$(q "$p" client +noedns web)
	echo "$out" | grep -E 'Truncated|flags'
	expect "dig retried over TCP" grep -q 'Truncated, retrying in TCP mode' <<<"$out"
	expect_eq "dig +noedns web (over TCP): all 40" "$(a "$p" client web +noedns)" "$want"
	# EDNS: the client's size counts (600 is too small), up to 1232 (enough here)
	out=$(q "$p" client +ignore +bufsize=600 web)
	expect "tc with an EDNS size of 600" grep -qE '^;; flags: [a-z ]*\btc\b' <<<"$out"
	out=$(q "$p" client +ignore +bufsize=4096 web)
	echo "$out" | grep -E 'flags|MSG SIZE'
	expect_fail "tc with an EDNS size of 4096" grep -qE '^;; flags: [a-z ]*\btc\b' <<<"$out"
	expect_eq "EDNS 4096: all 40 over UDP" "$(answers "$out")" 40
	# a small answer over TCP
	expect_eq "dig +tcp client" "$(a "$p" web client +tcp)" "$(ep_ip "$p" client)"
}

# A replica added by a later up is in the next answers (the agent reloads the state).
test_scale_up() {
	local p=t$$-scale f want out="" i

	f=$(compose scale <<EOF
name: $p
services:
  web:
    deploy:
      replicas: 2
    networks: [n]
  client:
    networks: [n]
networks:
  n: {}
EOF
)
	up_project "$p" "$f" "$HOST" --dns "$UP_ADDR"
	expect_eq "2 replicas" "$(a "$p" client web)" "$(ips "$p" web)"
	sed -i 's/replicas: 2/replicas: 3/' "$f"
	up_project "$p" "$f" "$HOST" --dns "$UP_ADDR"
	want=$(ips "$p" web)
	expect_eq "3 replicas in ps" "$(wc -w <<<"$want")" 3
	# the agent reloads on the state change: up to ~2 s
	for i in $(seq 10); do
		out=$(a "$p" client web)
		[[ $out == "$want" ]] && break
		sleep 0.2
	done
	echo "after $i tries: $out"
	expect_eq "the third replica in the answer" "$out" "$want"
	expect_eq "$p-web-3 resolves" "$(a "$p" client "$p-web-3")" "$(ep_ip "$p" web.3)"
	# and back down: the third goes from the answers
	sed -i 's/replicas: 3/replicas: 2/' "$f"
	up_project "$p" "$f" "$HOST" --dns "$UP_ADDR"
	want=$(ips "$p" web)
	for i in $(seq 10); do
		out=$(a "$p" client web)
		[[ $out == "$want" ]] && break
		sleep 0.2
	done
	expect_eq "2 replicas again" "$out" "$want"
	out=$(q "$p" client "$p-web-3")
	expect_fail "$p-web-3 forwarded or answered after it went" \
		grep -q 'ANSWER: [1-9]' <<<"$out"
}

# agent_pid: the pid of agent.pid, checked to be berth's agent of this instance.
agent_pid() {
	local pid

	pid=$(cat "/run/berth/$HOST/agent.pid" 2>/dev/null) || return 1
	[[ $pid =~ ^[0-9]+$ ]] || return 1
	[[ $(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) == *" agent --host-netns $HOST "* ]] ||
		return 1
	echo "$pid"
}

web_resolves() { [[ $(a "$1" client web +time=1 +tries=1 2>/dev/null) == "$2" ]]; }

# The agent killed: the datapath goes on, DNS stops; the next up, even of an unchanged
# file, starts it again.
test_agent_kill() {
	local p=t$$-kill f pid pid2 web out

	f=$(compose kill <<EOF
name: $p
services:
  web:
    networks: [n]
  client:
    networks: [n]
networks:
  n: {}
EOF
)
	up_project "$p" "$f" "$HOST" --dns "$UP_ADDR"
	web=$(ep_ip "$p" web)
	expect "DNS before the kill" web_resolves "$p" "$web"
	pid=$(agent_pid) || { echo "agent.pid: $(cat "/run/berth/$HOST/agent.pid" 2>&1)"; return 1; }
	echo "agent $pid: $(tr '\0' ' ' <"/proc/$pid/cmdline")"
	expect_eq "one agent for the instance" "$(agent_pids | tr '\n' ' ')" "$pid "
	kill -KILL "$pid"
	expect "the agent gone after kill -9" wait_until 5 pid_gone "$pid"
	expect "client reaches web without the agent" ping_ok "$p" client "$web"
	expect "web reaches client without the agent" ping_ok "$p" web "$(ep_ip "$p" client)"
	out=$(bh -p "$p" exec client -- dig +time=1 +tries=1 web 2>&1) && {
		echo "$out"
		echo "expected: no DNS answer without the agent"
		return 1
	}
	echo "dig without the agent: $(grep -m1 ';;' <<<"$out")"
	# the same file, nothing to change: up must still bring the agent back
	up_project "$p" "$f" "$HOST" --dns "$UP_ADDR"
	expect "DNS after the next up (the agent started again)" wait_until 3 web_resolves "$p" "$web"
	pid2=$(agent_pid) || { echo "no live agent in agent.pid after up"; return 1; }
	echo "new agent $pid2"
	expect_eq "one agent for the instance" "$(agent_pids | tr '\n' ' ')" "$pid2 "
}

# The agent stays while a project is up; the last down stops it and leaves nothing.
test_agent_down() {
	local p=t$$-down p2=t$$-down2 f f2 pid web

	f=$(compose down <<EOF
name: $p
services:
  web:
    networks: [n]
  client:
    networks: [n]
networks:
  n: {}
EOF
)
	f2=$(compose down2 <<EOF
name: $p2
services:
  solo: {}
EOF
)
	up_project "$p" "$f" "$HOST" --dns "$UP_ADDR"
	up_project "$p2" "$f2" "$HOST" --dns "$UP_ADDR"
	web=$(ep_ip "$p" web)
	pid=$(agent_pid) || { echo "agent.pid: $(cat "/run/berth/$HOST/agent.pid" 2>&1)"; return 1; }
	expect_eq "one agent for two projects" "$(agent_pids | tr '\n' ' ')" "$pid "
	bh -p "$p2" down
	expect "the agent still runs while $p is up" [ -e "/proc/$pid" ]
	expect "DNS still answers" web_resolves "$p" "$web"
	bh -p "$p" down
	expect "the agent gone after the last down" wait_until 5 pid_gone "$pid"
	expect "no agent of $HOST left" wait_until 5 no_agent
	expect_fail "/run/berth/$HOST still there" [ -e "/run/berth/$HOST" ]
}

# Every project down: no agent of this instance runs.
test_no_agent_left() {
	expect "no agent of $HOST once every project is down" wait_until 5 no_agent
	agent_pids
}

# berth dns NAME --from SERVICE[.N] [--json]
test_berth_dns() {
	local p=t$$-bdns f out

	f=$(compose bdns <<EOF
name: $p
x-berth:
  dns_ttl: 7
services:
  web:
    deploy:
      replicas: 2
    networks: [front]
  client:
    networks: [front]
  other:
    networks: [back]
  sealed:
    networks: [vault]
networks:
  front: {}
  back: {}
  vault:
    internal: true
EOF
)
	up_project "$p" "$f" "$HOST" --dns "$UP_ADDR"
	out=$(bh -p "$p" dns web --from client --json)
	echo "$out"
	expect_eq "verdict" "$(py 'd["verdict"]' <<<"$out")" answer
	expect_eq "from" "$(py 'd["from"]' <<<"$out")" "$p-client-1"
	expect_eq "the addresses" "$(py '" ".join(sorted(d["ipv4"], key=lambda x: tuple(map(int, x.split(".")))))' <<<"$out")" \
		"$(ips "$p" web)"
	expect_eq "ttl" "$(py 'd["ttl"]' <<<"$out")" 7
	out=$(bh -p "$p" dns WEB.front --from client.1 --json)
	expect_eq "WEB.front from client.1" "$(py 'len(d["ipv4"])' <<<"$out")" 2
	out=$(bh -p "$p" dns other --from client --json)
	expect_eq "other from client: nxdomain" "$(py 'd["verdict"]' <<<"$out")" nxdomain
	out=$(bh -p "$p" dns outside.test --from client --json)
	expect_eq "outside.test from client: forward" "$(py 'd["verdict"]' <<<"$out")" forward
	out=$(bh -p "$p" dns outside.test --from sealed --json)
	expect_eq "outside.test from sealed: nxdomain" "$(py 'd["verdict"]' <<<"$out")" nxdomain
	out=$(bh -p "$p" dns "$(ep_ip "$p" web.2 | awk -F. '{ print $4"."$3"."$2"."$1 }').in-addr.arpa" \
		--from client --json)
	echo "$out"
	expect_eq "PTR of web.2" "$(py 'd.get("ptr")' <<<"$out")" "$p-web-2.${p}_front"
	out=$(bh -p "$p" dns web --from client)
	echo "$out"
	expect "the text form lists an address" grep -qF "$(ep_ip "$p" web.1)" <<<"$out"
	expect_fail "--from a service that is not there" bh -p "$p" dns web --from nosuch
}

# up --dns X, then up --dns Y on the same instance: an error naming both.
test_dns_conflict() {
	local p=t$$-dx p2=t$$-dy f f2 out rc=0

	f=$(compose dx <<EOF
name: $p
services:
  client: {}
EOF
)
	f2=$(compose dy <<EOF
name: $p2
services:
  solo: {}
EOF
)
	up_project "$p" "$f" "$HOST" --dns "$UP_ADDR"
	# the same project again, another server
	out=$(bh -p "$p" up -f "$f" --dns "$UP_PEER" 2>&1) || rc=$?
	echo "rc $rc: $out"
	expect_eq "up --dns $UP_PEER after --dns $UP_ADDR: exit 1" "$rc" 1
	expect "the error names $UP_ADDR" grep -qF "$UP_ADDR" <<<"$out"
	expect "the error names $UP_PEER" grep -qF "$UP_PEER" <<<"$out"
	# another project on the instance
	rc=0
	project_track "$p2" "$HOST"
	out=$(bh -p "$p2" up -f "$f2" --dns "$UP_PEER" 2>&1) || rc=$?
	echo "rc $rc: $out"
	expect_eq "another project, --dns $UP_PEER: exit 1" "$rc" 1
	expect "the error names $UP_ADDR" grep -qF "$UP_ADDR" <<<"$out"
	expect "the error names $UP_PEER" grep -qF "$UP_PEER" <<<"$out"
	expect_fail "a namespace for $p2" ns_exists "$p2-solo-1"
	# the same server again, or none: fine, and the instance keeps its upstream
	up_project "$p" "$f" "$HOST" --dns "$UP_ADDR"
	expect_eq "forwarding still to $UP_ADDR" "$(a "$p" client "t$$-dx.outside.test")" 192.0.2.7
}

# After the refused up of a new project nothing of it remains, the registry included:
# it can then be brought up on another instance.
test_dns_conflict_no_trace() {
	local p=t$$-nx p2=t$$-ny h2=berth-t-$$-h2 f f2 out rc=0

	f=$(compose nx <<EOF
name: $p
services:
  client: {}
EOF
)
	f2=$(compose ny <<EOF
name: $p2
services:
  solo: {}
EOF
)
	up_project "$p" "$f" "$HOST" --dns "$UP_ADDR"
	project_track "$p2" "$HOST"
	out=$(bh -p "$p2" up -f "$f2" --dns "$UP_PEER" 2>&1) || rc=$?
	echo "rc $rc: $out"
	expect_eq "exit 1" "$rc" 1
	grep -F "\"$p2\"" /run/berth/registry.json || true
	# a second throwaway instance (its host namespace has no link at all)
	ip netns add "$h2"
	ns_track "$h2"
	expect "$p2 up on another instance" up_project "$p2" "$f2" "$h2" --dns "$UP_ADDR"
}

netns_setup
for t in dig nslookup getent dnsmasq ping; do
	command -v "$t" >/dev/null || skip_all "needs $t"
done
on_exit() {
	local rc=$? pid

	set +e
	upstream_stop
	# an agent berth did not stop (a berth bug): ours, found by its instance name
	for pid in $(agent_pids); do kill -KILL "$pid" 2>/dev/null; done
	(exit "$rc")
	cleanup
}
trap on_exit EXIT
run upstream upstream_start
if [[ ! -s $TMP/upstream.pid ]] || ! upstream_ready; then
	skip dns "no test upstream (see FAIL upstream)"
	FAILED=1
else
	run replicas-alias-rotation test_replicas_alias
	run compose-discovery test_discovery
	run aliases-case-aaaa-ptr-ttl test_aliases
	run network-scoping test_scoping
	run forwarding test_forwarding
	run internal-only test_internal
	run pihole-port-53 test_pihole
	run tcp-and-truncation test_tcp_truncation
	run scale-up-reload test_scale_up
	run agent-kill-and-restart test_agent_kill
	run agent-last-down test_agent_down
	run no-agent-left test_no_agent_left
	run berth-dns-cli test_berth_dns
	run dns-conflict test_dns_conflict
	run dns-conflict-no-trace test_dns_conflict_no_trace
fi
upstream_stop
run no-agent-at-end test_no_agent_left
finish
exit "$FAILED"
