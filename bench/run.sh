#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# make bench: berth's east-west datapath against a Linux bridge as Docker builds it,
# on one throwaway topology, DNS, outbound NAT to an outside namespace (with and without
# 1,000 other networks), then the endpoint program's per-packet cost.
#
#   berth: berth up --host-netns berth-bench-$$    bridge: netns brbench-$$, as dockerd 28 makes one
#
#   bench$$-cli-1        bench$$-srv-1              brbench-$$-cli     brbench-$$-srv
#   eth0 10.213.0.y      eth0 10.213.0.x            eth0 10.214.0.3    eth0 10.214.0.2
#     │ veth               ▲                          │ veth               │ veth
#   bth… tc ingress ───────┘ bpf_redirect_peer        vcli ──── br0 ──── vsrv
#   (and back the same way from srv's bth…)           br0 10.214.0.1/24, ip_forward=1, Docker's
#                                                     iptables (docker_rules): FORWARD, DOCKER-USER,
#                                                     DOCKER-FORWARD, DOCKER-CT, DOCKER-BRIDGE,
#                                                     DOCKER, DOCKER-ISOLATION-STAGE-1/2, nat
#                                                     MASQUERADE
#
#   server: CPU 1 (taskset), client: CPU 0, for every measurement on both sides:
#     latency     sockperf sr --tcp  /  sockperf pp --tcp -t 5 -m 64 --full-rtt
#     throughput  iperf3 -s -1       /  iperf3 -c -t 5
#     packet rate iperf3 -s -1       /  iperf3 -c -u -b 0 -l 64 -t 5 (received packets/s)
#   then build/bench/prog_cost (BPF_PROG_TEST_RUN, in a netns of its own).
#
# DNS, in berth's topology: berth's agent (127.0.0.11, pinned to CPU 1) against dnsmasq
# serving the same names from a hosts file (127.0.0.1:5353 in cli, CPU 1), both asked by
# dnsperf in cli (CPU 0), for local names and for names under fwd.test, which both forward
# to one upstream dnsmasq (CPU 0) in dnsbench-$$:
#
#   berth-bench-$$ (the agent) ── ip_forward=1 ── vdns 10.215.0.1 ──veth── eth0 10.215.0.2
#   (berth up --dns 10.215.0.2; dnsmasq in cli goes out its eth0, then this way)    dnsbench-$$
#
#     queries/s   dnsperf -c 4 -l 2 (at most 100 queries in flight): completed per second
#     latency     dnsperf -c 4 -l 1 -Q 10000 -v: p50/p99 of every answer's own latency
#
# Outbound (north-south: endpoint → outside, source-translated to the uplink's address),
# each datapath in namespaces of its own, with an "outside" namespace behind its uplink:
#
#   berth: berth up --host-netns berth-out-$$      bridge: netns brout-$$, as dockerd 28 makes one
#          --uplink up0
#
#   bout$$-cli-1                                    brout-$$-cli
#   eth0 10.218.0.x, default via its gateway        eth0 10.216.0.2, default via 10.216.0.1
#     │ veth                                          │ veth
#   bth… tc ingress: masquerade to 10.219.0.1,      vcli ── br0 10.216.0.1/24, ip_forward=1: routed
#     out of up0 (replies: up0's tc ingress)          out of up0; docker_rules with MASQUERADE
#   up0 10.219.0.1/24 (the uplink, default route)   up0 10.217.0.1/24 (default route)
#     │ veth                                          │ veth
#   eth0 10.219.0.2  wanberth-$$ (the server)       eth0 10.217.0.2  wanbr-$$ (the server)
#
#   The outside namespaces have no route to the endpoint subnets: only a translated flow
#   is answered, and every connection the servers accept must come from the uplink's
#   address (checked). Server on CPU 1 in the outside namespace, client on CPU 0 in the
#   endpoint, as above:
#     throughput   iperf3 -s -1                 /  iperf3 -c -t 5
#     conn. rate   connrate server (accepts, closes each with a RST)  /  connrate client: 3 s,
#                  32 connections in flight, each connect → the server's RST → close
#                  (why the server resets: bench/connrate.c)
#   Then both again with 1,000 other networks in each datapath:
#     berth    a second project, bnets$$, in the same instance: 1,000 networks spread over 4
#              endpoints (250 interfaces each). berth makes no network that no service uses,
#              and 1,000 endpoints of one network each take a minute to come up and go down.
#     bridge   1,000 more bridges in brout-$$ (no ports: ports add no rules), each with the
#              rules dockerd adds per network. They come after br0, and dockerd inserts a new
#              network's rules at the head of its chains, so br0's rules come last: the place
#              of the oldest network (docker0's on a Docker host).
#
# Nothing outside the namespaces above is touched: the bridges, their addresses, the
# sysctls and every iptables rule live in brbench-$$ and brout-$$ and go with them; the
# upstream's link, its addresses and ip_forward live in berth-bench-$$ and dnsbench-$$; the
# uplinks in berth-out-$$ and brout-$$.
#
# Published ports (outside → host address:port → endpoint): berth against Docker's per-port
# iptables DNAT and against an nftables dnat map, each in namespaces of its own; latency,
# throughput, and new-connection rate and the time to publish one more port with 0 to
# 100,000 other published ports. The topology is described above ports() below.
#
# Run as root from make bench (BUILD=build). ROUNDS=N
# (default 3) runs every figure N times and reports the median. BENCH_ONLY=outbound or
# BENCH_ONLY=ports runs that section's figures alone (results.md then holds those). DEBUG=1 stops before cleanup
# to look around.
# Prints the table and writes it, with the machine and the method, to $BUILD/bench/results.md;
# the tools' raw output goes to $BUILD/bench/raw/.
set -euo pipefail

readonly KSFT_SKIP=4
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
readonly BERTH="$BUILD/berth" PROG_COST="$BUILD/bench/prog_cost" CONNRATE="$BUILD/bench/connrate"
readonly SECS=5				# per figure: steady state, and make bench under 6 minutes
readonly ROUNDS=${ROUNDS:-3}		# figures are medians of this many runs: the VM is noisy
readonly LIMIT=$((SECS + 20))		# no client or server outlives this
readonly CPU_SRV=1 CPU_CLI=0
readonly PORT_LAT=11111 PORT_IPERF=5201
readonly DNS_SECS=2 DNS_LAT_SECS=1	# per DNS figure: a run at full speed, one at DNS_QPS
readonly DNS_QPS=10000			# the latency's fixed rate: under every server's maximum
readonly DNS_CLIENTS=4 DNS_PORT=5353	# dnsperf's sockets; dnsmasq's port in cli
readonly CPU_UP=$CPU_CLI			# the upstream: the server under test keeps CPU 1 to itself
readonly CONN_SECS=3 CONN_INFLIGHT=32	# connrate: long enough for a steady rate, 32 in flight
readonly PORT_CONN=5301
readonly OUT_NETS=1000 OUT_NET_EPS=4	# the other networks, and berth's endpoints holding them
readonly BENCH_ONLY=${BENCH_ONLY:-}

readonly PROJECT="bench$$"
readonly BERTH_NS="berth-bench-$$"
readonly BR_NS="brbench-$$"
readonly BR_SRV="brbench-$$-srv" BR_CLI="brbench-$$-cli"
readonly BR_SUBNET=10.214.0.0/24 BR_GW=10.214.0.1 BR_IP_SRV=10.214.0.2 BR_IP_CLI=10.214.0.3
readonly BERTH_SUBNET=10.213.0.0/24
readonly DNS_NS="dnsbench-$$" DNS_HOST_IP=10.215.0.1 DNS_UP_IP=10.215.0.2
# outbound: an instance and a bridge namespace, each with an outside namespace behind up0
readonly OUT_PROJECT="bout$$" NETS_PROJECT="bnets$$"
readonly OUT_BERTH_NS="berth-out-$$" OUT_BERTH_WAN="wanberth-$$"
readonly OUT_BERTH_SUBNET=10.218.0.0/24 OUT_BERTH_UP=10.219.0.1 OUT_BERTH_SRV=10.219.0.2
readonly OUT_BR_NS="brout-$$" OUT_BR_CLI="brout-$$-cli" OUT_BR_WAN="wanbr-$$"
readonly OUT_BR_SUBNET=10.216.0.0/24 OUT_BR_GW=10.216.0.1 OUT_BR_IP=10.216.0.2
readonly OUT_BR_UP=10.217.0.1 OUT_BR_SRV=10.217.0.2

TMP=""
BERTH_IP_SRV="" BERTH_NS_SRV="" BERTH_IP_CLI="" BERTH_NS_CLI="" BR_NF=""
RESULT="" JSON="" SERVER="" ROUND=0
AGENT_PID="" DNSMASQ_VER="" COST_OUT=""
OUT_BERTH_IP="" OUT_BERTH_EPNS="" OUT_DPS=""
EP_ARGV=()
NETNS_MADE=()		# namespaces this script added, deleted on exit
SERVERS=()		# pids of the servers this script started
BERTH_UPS=()		# "PROJECT HOST-NETNS" of every berth up this script ran, in order
OUT_BR_NETS=()		# "BRIDGE SUBNET" of brout-$$'s networks, in the order they were made

skip() { echo "SKIP bench: $*"; exit "$KSFT_SKIP"; }
die() { echo "bench: $*" >&2; exit 1; }

cleanup() {
	local rc=$? pid ns i project host ups=("${BERTH_UPS[@]}")

	set +e
	if [[ "${DEBUG:-0}" == 1 ]]; then
		echo "DEBUG: namespaces ${NETNS_MADE[*]} (and berth's endpoints), files $TMP"
		read -r -p "DEBUG: press Enter to clean up " _ || true
	fi
	# Only what this script started, by pid.
	for pid in "${SERVERS[@]}"; do
		kill -TERM "$pid" 2>/dev/null
	done
	for pid in "${SERVERS[@]}"; do
		wait_pid 3 "$pid" || kill -KILL "$pid" 2>/dev/null
	done
	for ((i = ${#ups[@]} - 1; i >= 0; i--)); do
		read -r project host <<<"${ups[i]}"
		berth_down "$project" "$host"
	done
	# berth names endpoint namespaces after the project: anything left is ours
	for i in "${ups[@]}"; do
		for ns in /run/netns/"${i%% *}"-*; do
			[[ -e "$ns" ]] || continue
			echo "bench: berth left $ns behind; deleting it"
			ip netns del "${ns##*/}"
			rm -rf "/etc/netns/${ns##*/}"
		done
	done
	for ns in "${NETNS_MADE[@]}"; do
		ip netns del "$ns" 2>/dev/null
	done
	[[ -n "$TMP" ]] && rm -rf "$TMP"
	exit "$rc"
}

# wait_pid SECONDS PID: waits for a child to end; 1 if it is still there.
wait_pid() {
	local end=$((SECONDS + $1))

	while kill -0 "$2" 2>/dev/null; do
		((SECONDS < end)) || return 1
		sleep 0.05
	done
	wait "$2" 2>/dev/null || true
}

# wait_listen NETNS PROTO PORT: polls until a socket is bound there (5 s).
wait_listen() {
	local end=$((SECONDS + 5)) flag=-ltn

	[[ $2 == udp ]] && flag=-lun
	until [[ -n "$(ip netns exec "$1" ss -H "$flag" "sport = :$3" 2>/dev/null)" ]]; do
		((SECONDS < end)) || die "no $2 server on port $3 in $1 after 5 s"
		sleep 0.05
	done
}

netns_add() {
	ip netns add "$1"
	NETNS_MADE+=("$1")
}

# berth_up PROJECT HOST-NETNS FILE [ARGS...]: up, remembered for cleanup before it starts
berth_up() {
	local project=$1 host=$2 file=$3

	shift 3
	BERTH_UPS+=("$project $host")
	"$BERTH" up -f "$file" -p "$project" --host-netns "$host" "$@" >"$TMP/up-$project.log" 2>&1 ||
		{ cat "$TMP/up-$project.log"; die "berth up $project in $host failed"; }
}

# berth_down PROJECT HOST-NETNS: once (cleanup calls it for every up; a second is a no-op)
berth_down() {
	local i keep=()

	for i in "${BERTH_UPS[@]}"; do [[ $i == "$1 $2" ]] || keep+=("$i"); done
	[[ ${#keep[@]} -lt ${#BERTH_UPS[@]} ]] || return 0
	"$BERTH" down -p "$1" --host-netns "$2" >"$TMP/down-$1.log" 2>&1 ||
		{ echo "bench: berth down $1 failed:"; cat "$TMP/down-$1.log"; }
	BERTH_UPS=("${keep[@]}")
}

# berth_ep PROJECT HOST-NETNS SERVICE: "ADDRESS NETNS" of the service's first endpoint
berth_ep() {
	"$BERTH" ps -p "$1" --host-netns "$2" --json | python3 -c '
import json, sys
e = [e for e in json.load(sys.stdin) if e["service"] == sys.argv[1]][0]
print(e["networks"][0]["ipv4"], e["namespace"])' "$3"
}

# ---- the two datapaths --------------------------------------------------------------------

# ep_argv DATAPATH ROLE: EP_ARGV becomes the prefix that runs a command in the srv or cli
# endpoint, bounded by LIMIT. A prefix, not a function: "${EP_ARGV[@]}" CMD & makes $! the
# pid of timeout itself, whose SIGTERM reaches the whole command (a function would put a
# subshell in between, and killing that would orphan the server).
ep_argv() {
	if [[ $1 == berth ]]; then
		EP_ARGV=(timeout -k 2 "$LIMIT" "$BERTH" exec -p "$PROJECT" --host-netns "$BERTH_NS"
			"$2" --)
	else
		EP_ARGV=(timeout -k 2 "$LIMIT" ip netns exec "brbench-$$-$2")
	fi
}

in_ep() {
	ep_argv "$1" "$2"
	shift 2
	"${EP_ARGV[@]}" "$@"
}

berth_setup() {
	netns_add "$BERTH_NS"
	cat >"$TMP/compose.yml" <<-EOF
	name: $PROJECT
	services:
	  srv:
	    networks:
	      net:
	        aliases: [api, db]
	  cli:
	    networks: [net]
	networks:
	  net:
	    ipam:
	      config:
	        - subnet: $BERTH_SUBNET
	EOF
	berth_up "$PROJECT" "$BERTH_NS" "$TMP/compose.yml" --dns "$DNS_UP_IP"
	"$BERTH" ps -p "$PROJECT" --host-netns "$BERTH_NS" --json >"$TMP/ps.json"
	read -r BERTH_IP_SRV BERTH_NS_SRV BERTH_IP_CLI BERTH_NS_CLI < <(python3 -c '
import json, sys
eps = {e["service"]: e for e in json.load(open(sys.argv[1]))}
print(" ".join(e["networks"][0]["ipv4"] + " " + e["namespace"] for e in (eps["srv"], eps["cli"])))
' "$TMP/ps.json")
}

# docker_rules NETNS "BRIDGE SUBNET"...: the iptables rules dockerd 28.0 keeps for these
# bridge networks (libnetwork's bridge driver, iptables backend, ICC on, no published port),
# the networks given in the order they were made, loaded into NETNS in one iptables-restore,
# which replaces the filter and nat tables whole. dockerd inserts each new network's rules
# at the head of DOCKER-BRIDGE, DOCKER-CT, DOCKER-FORWARD, the isolation chains and nat's
# POSTROUTING and DOCKER, and appends its DROP to DOCKER: the newest network comes first.
docker_rules() {
	local ns=$1 i br subnet
	local -a nets=("${@:2}") newest=()

	for ((i = ${#nets[@]} - 1; i >= 0; i--)); do newest+=("${nets[i]}"); done
	{
		echo '*filter'
		# the policy dockerd sets when it turned ip_forward on itself
		printf '%s\n' ':INPUT ACCEPT [0:0]' ':FORWARD DROP [0:0]' ':OUTPUT ACCEPT [0:0]'
		printf ':%s - [0:0]\n' DOCKER DOCKER-BRIDGE DOCKER-CT DOCKER-FORWARD \
			DOCKER-ISOLATION-STAGE-1 DOCKER-ISOLATION-STAGE-2 DOCKER-USER
		printf '%s\n' '-A FORWARD -j DOCKER-USER' '-A FORWARD -j DOCKER-FORWARD'
		for i in "${nets[@]}"; do
			br=${i% *}
			echo "-A DOCKER ! -i $br -o $br -j DROP"
		done
		for i in "${newest[@]}"; do
			echo "-A DOCKER-BRIDGE -o ${i% *} -j DOCKER"
		done
		for i in "${newest[@]}"; do
			echo "-A DOCKER-CT -o ${i% *} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT"
		done
		printf '%s\n' '-A DOCKER-FORWARD -j DOCKER-CT' \
			'-A DOCKER-FORWARD -j DOCKER-ISOLATION-STAGE-1' '-A DOCKER-FORWARD -j DOCKER-BRIDGE'
		for i in "${newest[@]}"; do
			echo "-A DOCKER-FORWARD -i ${i% *} -j ACCEPT"
		done
		for i in "${newest[@]}"; do
			br=${i% *}
			echo "-A DOCKER-ISOLATION-STAGE-1 -i $br ! -o $br -j DOCKER-ISOLATION-STAGE-2"
		done
		for i in "${newest[@]}"; do
			echo "-A DOCKER-ISOLATION-STAGE-2 -o ${i% *} -j DROP"
		done
		printf '%s\n' '-A DOCKER-USER -j RETURN' 'COMMIT'
		echo '*nat'
		printf '%s\n' ':PREROUTING ACCEPT [0:0]' ':INPUT ACCEPT [0:0]' ':OUTPUT ACCEPT [0:0]' \
			':POSTROUTING ACCEPT [0:0]' ':DOCKER - [0:0]'
		echo '-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER'
		echo '-A OUTPUT ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j DOCKER'
		for i in "${newest[@]}"; do
			read -r br subnet <<<"$i"
			echo "-A POSTROUTING -s $subnet ! -o $br -j MASQUERADE"
		done
		for i in "${newest[@]}"; do
			echo "-A DOCKER -i ${i% *} -j RETURN"
		done
		echo 'COMMIT'
	} >"$TMP/rules-$ns"
	ip netns exec "$ns" iptables-restore "$TMP/rules-$ns" ||
		die "iptables-restore in $ns refused $TMP/rules-$ns"
}

# bridge_port NETNS BRIDGE PORT EP-NETNS ADDRESS GATEWAY: an endpoint on a bridge, as
# dockerd makes one: veth PORT on BRIDGE, eth0 in EP-NETNS with ADDRESS/24, default via GATEWAY
bridge_port() {
	local ns=$1 br=$2 port=$3 ep=$4 ip=$5 gw=$6 mac

	# Docker's MAC: 02:42 and the address
	mac=$(printf '02:42:%02x:%02x:%02x:%02x' ${ip//./ })
	ip -n "$ns" link add "$port" type veth peer name eth0 netns "$ep"
	ip -n "$ns" link set "$port" master "$br" up
	ip -n "$ep" link set lo up
	ip -n "$ep" link set eth0 address "$mac" up
	ip -n "$ep" addr add "$ip/24" dev eth0
	ip -n "$ep" route add default via "$gw"
	# as in berth's endpoints (and Docker's on a network without IPv6)
	ip netns exec "$ep" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
		net.ipv6.conf.default.disable_ipv6=1
}

# A bridge network as dockerd makes one, with its two endpoints.
bridge_setup() {
	netns_add "$BR_NS"
	netns_add "$BR_SRV"
	netns_add "$BR_CLI"
	ip -n "$BR_NS" link set lo up
	ip -n "$BR_NS" link add br0 type bridge
	ip -n "$BR_NS" addr add "$BR_GW/24" dev br0
	ip -n "$BR_NS" link set br0 up
	ip netns exec "$BR_NS" sysctl -qw net.ipv4.ip_forward=1
	bridge_port "$BR_NS" br0 vsrv "$BR_SRV" "$BR_IP_SRV" "$BR_GW"
	bridge_port "$BR_NS" br0 vcli "$BR_CLI" "$BR_IP_CLI" "$BR_GW"
	docker_rules "$BR_NS" "br0 $BR_SUBNET"
	# dockerd turns this on so that bridged frames meet the rules above; read, never written
	BR_NF=$(ip netns exec "$BR_NS" cat /proc/sys/net/bridge/bridge-nf-call-iptables \
		2>/dev/null || echo absent)
}

# dp_addr DATAPATH ROLE, dp_netns DATAPATH ROLE
dp_addr() {
	case $1-$2 in
	berth-srv) echo "$BERTH_IP_SRV" ;; berth-cli) echo "$BERTH_IP_CLI" ;;
	bridge-srv) echo "$BR_IP_SRV" ;; bridge-cli) echo "$BR_IP_CLI" ;;
	esac
}
dp_netns() {
	case $1-$2 in
	berth-srv) echo "$BERTH_NS_SRV" ;; berth-cli) echo "$BERTH_NS_CLI" ;;
	bridge-srv) echo "$BR_SRV" ;; bridge-cli) echo "$BR_CLI" ;;
	esac
}

# The first packets of a pair pay for ARP and, on the bridge, for learning: not measured.
warm_up() {
	in_ep "$1" cli ping -q -c 3 -i 0.2 -W 1 "$(dp_addr "$1" srv)" >/dev/null ||
		die "$1: cli cannot ping srv ($(dp_addr "$1" srv))"
}

# server_start DATAPATH LOG CMD...: a server in srv on CPU_SRV; its pid in SERVER.
server_start() {
	local dp=$1 log=$2

	shift 2
	ep_argv "$dp" srv
	"${EP_ARGV[@]}" taskset -c "$CPU_SRV" "$@" >"$log" 2>&1 &
	SERVER=$!
	SERVERS+=("$SERVER")
}

server_stop() {
	local pid=$1 p keep=()

	kill -TERM "$pid" 2>/dev/null || true
	wait_pid 3 "$pid" || { kill -KILL "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true; }
	for p in "${SERVERS[@]}"; do [[ $p == "$pid" ]] || keep+=("$p"); done
	SERVERS=("${keep[@]}")
}

# ---- measurements: each one the same on both datapaths -------------------------------------

# Each measure_* runs in this shell, never in $(...), so that cleanup knows every server
# it started; it leaves its figures in RESULT.


# sockperf_rtt DATAPATH LOG: "p50 p99 mean" in µs from sockperf pp's output. With
# --full-rtt the percentiles are whole round trips, not sockperf's default RTT/2.
sockperf_rtt() {
	sed 's/\x1b\[[0-9;]*m//g' "$2" | awk '
		/percentile 50.000 =/ { p50 = $NF }
		/percentile 99.000 =/ { p99 = $NF }
		/avg-rtt=/ { sub(/.*avg-rtt=/, ""); sub(/ .*/, ""); avg = $0 }
		END { if (p50 == "" || p99 == "") exit 1; print p50, p99, avg }' ||
		{ cat "$2" >&2; die "$1: no percentiles in sockperf's output"; }
}

# measure_latency DATAPATH: "p50 p99 avg" of the TCP round trip in microseconds.
measure_latency() {
	local dp=$1 ip log="$TMP/lat-$1-$ROUND"

	ip=$(dp_addr "$dp" srv)
	server_start "$dp" "$log.srv" sockperf sr --tcp -i "$ip" -p "$PORT_LAT"
	wait_listen "$(dp_netns "$dp" srv)" tcp "$PORT_LAT"
	in_ep "$dp" cli taskset -c "$CPU_CLI" sockperf pp --tcp -i "$ip" -p "$PORT_LAT" -t "$SECS" \
		-m 64 --full-rtt >"$log.cli" 2>&1 ||
		{ cat "$log.cli"; die "$dp: sockperf pp failed"; }
	server_stop "$SERVER"
	RESULT=$(sockperf_rtt "$dp" "$log.cli")
}

# iperf DATAPATH NAME CLIENT-ARGS...: one iperf3 test; JSON gets the client's JSON file.
iperf() {
	local dp=$1 name=$2 ip

	shift 2
	ip=$(dp_addr "$dp" srv)
	JSON="$TMP/$name-$dp-$ROUND.json"
	server_start "$dp" "$TMP/$name-$dp.srv" iperf3 -s -1 -B "$ip" -p "$PORT_IPERF"
	wait_listen "$(dp_netns "$dp" srv)" tcp "$PORT_IPERF"
	in_ep "$dp" cli taskset -c "$CPU_CLI" iperf3 -c "$ip" -p "$PORT_IPERF" -t "$SECS" -J "$@" \
		>"$JSON" 2>&1 || { cat "$JSON"; die "$dp: iperf3 $name failed"; }
	wait_pid 5 "$SERVER" || true	# -1: the server ends after its one test
	server_stop "$SERVER"
}

# tcp_counters NETNS: "retransmitted-segments dsacked-segments" of the namespace so far
# (absolute, and without touching nstat's history file, which all namespaces share)
tcp_counters() {
	ip netns exec "$1" nstat -a -s -z TcpRetransSegs TcpExtTCPDSACKRecvSegs |
		awk '$1 == "TcpRetransSegs" { r = $2 } $1 == "TcpExtTCPDSACKRecvSegs" { d = $2 }
		     END { print r + 0, d + 0 }'
}

# measure_throughput DATAPATH: "Gbit/s retransmits spurious" (the rate as the receiver
# counted; spurious: retransmitted segments the receiver reports it already had, by DSACK).
measure_throughput() {
	local ns r0 d0 r1 d1

	ns=$(dp_netns "$1" cli)
	read -r r0 d0 < <(tcp_counters "$ns")
	iperf "$1" tcp
	read -r r1 d1 < <(tcp_counters "$ns")
	RESULT=$(python3 -c '
import json, sys
e = json.load(open(sys.argv[1]))["end"]
print("%.3f" % (e["sum_received"]["bits_per_second"] / 1e9))
' "$JSON")
	RESULT="$RESULT $((r1 - r0)) $((d1 - d0))"
}

# measure_pps DATAPATH: "received-pps sent-pps loss%": the receiver's count over its time.
measure_pps() {
	iperf "$1" udp -u -b 0 -l 64
	RESULT=$(python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))["end"]
rx, tx = r["sum_received"], r["sum_sent"]
got = rx["packets"] - rx["lost_packets"]
print("%.0f %.0f %.2f" % (got / rx["seconds"], tx["packets"] / tx["seconds"], rx["lost_percent"]))
' "$JSON")
}

# What each datapath did, so that a figure cannot come from a path that was not meant.
berth_forwarded() {
	local pin="/sys/fs/bpf/berth/$BERTH_NS/berth_cnt_v1"

	bpftool -j map dump pinned "$pin" 2>/dev/null | python3 -c '
import json, sys
n = 0
for e in json.load(sys.stdin):
    k = e.get("formatted", {}).get("key", {})
    if k.get("reason") == 1:   # BERTH_PASS_FORWARD
        n += sum(c["value"]["packets"] for c in e["formatted"]["values"])
print(n)' 2>/dev/null || echo "?"
}
bridge_forwarded() {
	local chain

	for chain in DOCKER-CT DOCKER-FORWARD; do
		ip netns exec "$BR_NS" iptables -w -t filter -L "$chain" -v -x -n
	done | awk '$3 == "ACCEPT" { n += $1 } END { print n + 0 }'
}

# ---- DNS: berth's agent against dnsmasq, in berth's topology ------------------------------

# dnsmasq as every server here runs it: in the foreground, reading nothing but its
# arguments, logging to its log file, as root (its files are in TMP), no cache (each
# fwd.test query goes upstream, as berth forwards every one)
readonly -a DNSMASQ=(dnsmasq -k -C /dev/null --log-facility=- --user=root --no-resolv --no-hosts
	--bind-interfaces --cache-size=0)

# The upstream both forward fwd.test to, in a namespace of its own on a veth from berth's
# host namespace, where the agent's forwarding sockets live; dnsmasq in cli reaches it out
# its eth0 and through the host namespace, as a container's own resolver would.
dns_setup() {
	local i

	netns_add "$DNS_NS"
	ip -n "$BERTH_NS" link add vdns type veth peer name eth0 netns "$DNS_NS"
	ip -n "$BERTH_NS" addr add "$DNS_HOST_IP/30" dev vdns
	ip -n "$BERTH_NS" link set vdns up
	ip -n "$DNS_NS" link set lo up
	ip -n "$DNS_NS" addr add "$DNS_UP_IP/30" dev eth0
	ip -n "$DNS_NS" link set eth0 up
	ip -n "$DNS_NS" route add "$BERTH_SUBNET" via "$DNS_HOST_IP"
	ip netns exec "$BERTH_NS" sysctl -qw net.ipv4.ip_forward=1

	# the agent berth up started: on the server's CPU, as dnsmasq will be
	AGENT_PID=$(cat "/run/berth/$BERTH_NS/agent.pid" 2>/dev/null) && [[ -n $AGENT_PID ]] ||
		die "no agent pid in /run/berth/$BERTH_NS/agent.pid"
	taskset -a -pc "$CPU_SRV" "$AGENT_PID" >/dev/null
	DNSMASQ_VER=$(dnsmasq --version | awk 'NR == 1 { print $3 }')

	# every kind of name berth answers in cli, and dnsmasq's hosts file with berth's answers
	python3 -c '
import json, subprocess, sys
berth, project, ns, tmp = sys.argv[1:5]
hosts, queries = [], []
for name in sys.argv[5:]:
    r = json.loads(subprocess.run([berth, "dns", name, "--from", "cli", "-p", project,
                                   "--host-netns", ns, "--json"],
                                  check=True, capture_output=True, text=True).stdout)
    if r["verdict"] != "answer" or not r["ipv4"]:
        sys.exit("berth dns %s: %s" % (name, r["verdict"]))
    hosts += ["%s %s" % (ip, name) for ip in r["ipv4"]]
    queries.append(name + " A")
open(tmp + "/dns-hosts", "w").write("\n".join(hosts) + "\n")
open(tmp + "/dns-local.txt", "w").write("\n".join(queries) + "\n")
' "$BERTH" "$PROJECT" "$BERTH_NS" "$TMP" srv cli api db "$PROJECT-srv-1" "$PROJECT-cli-1" ||
		die "cannot list berth's names"
	# distinct names: nothing on the way can answer one from another's reply
	for ((i = 1; i <= 1000; i++)); do echo "q$i.fwd.test A"; done >"$TMP/dns-fwd.txt"
}

# dnsperf_run LOG ADDR PORT KIND ARGS...: dnsperf in cli on CPU_CLI
dnsperf_run() {
	local log=$1 addr=$2 port=$3 kind=$4

	shift 4
	in_ep berth cli taskset -c "$CPU_CLI" dnsperf -s "$addr" -p "$port" -d "$TMP/dns-$kind.txt" \
		-c "$DNS_CLIENTS" "$@" >"$log" 2>&1 || { tail -20 "$log"; die "dnsperf $* failed"; }
}

# measure_dns SERVER KIND: "queries/s p50 p99 cpu" of berth's agent or of dnsmasq, for
# local names or forwarded ones: the rate at full speed, the percentiles (µs) of the
# answers at DNS_QPS, and the server's CPU time (µs) per query answered at full speed.
measure_dns() {
	local srv=$1 kind=$2 log="$TMP/dns-$1-$2-$ROUND" addr=127.0.0.11 port=53 pid=$AGENT_PID
	local started=() end t0 t1 p

	if [[ $kind == fwd ]]; then
		timeout -k 2 "$LIMIT" ip netns exec "$DNS_NS" taskset -c "$CPU_UP" "${DNSMASQ[@]}" \
			--listen-address="$DNS_UP_IP" --address=/fwd.test/192.0.2.1 >"$log.up" 2>&1 &
		SERVER=$!
		SERVERS+=("$SERVER") started+=("$SERVER")
		wait_listen "$DNS_NS" udp 53
	fi
	if [[ $srv == dnsmasq ]]; then
		ep_argv berth cli
		"${EP_ARGV[@]}" taskset -c "$CPU_SRV" "${DNSMASQ[@]}" --pid-file="$log.pid" \
			--listen-address=127.0.0.1 --port="$DNS_PORT" --addn-hosts="$TMP/dns-hosts" \
			--server="/fwd.test/$DNS_UP_IP" >"$log.srv" 2>&1 &
		SERVER=$!
		SERVERS+=("$SERVER") started+=("$SERVER")
		wait_listen "$BERTH_NS_CLI" udp "$DNS_PORT"
		end=$((SECONDS + 5))
		until [[ -s $log.pid ]]; do
			((SECONDS < end)) || die "dnsmasq in cli wrote no pid file"
			sleep 0.05
		done
		pid=$(<"$log.pid") addr=127.0.0.1 port=$DNS_PORT
	fi
	read -r t0 _ <"/proc/$pid/schedstat"
	dnsperf_run "$log.qps" "$addr" "$port" "$kind" -l "$DNS_SECS"
	read -r t1 _ <"/proc/$pid/schedstat"
	dnsperf_run "$log.lat" "$addr" "$port" "$kind" -l "$DNS_LAT_SECS" -Q "$DNS_QPS" -v
	for p in "${started[@]}"; do server_stop "$p"; done
	# every answer NOERROR: from the names file or, for fwd.test, from the upstream
	RESULT=$(python3 -c '
import math, re, sys
qps_log, lat_log, cpu_ns = sys.argv[1], sys.argv[2], int(sys.argv[3])
def field(name, path):
    m = re.search(r"^\s*" + name + r":\s+([0-9.]+)", open(path).read(), re.M)
    if not m:
        sys.exit("no %s in %s" % (name, path))
    return float(m.group(1))
codes = re.search(r"Response codes:\s+(.*)", open(qps_log).read())
if not codes or not codes.group(1).startswith("NOERROR") or "," in codes.group(1):
    sys.exit("%s: answers %s" % (qps_log, codes.group(1) if codes else "none"))
lat = []
for line in open(lat_log):
    f = line.split()
    if line.startswith("> "):
        if f[1] != "NOERROR":
            sys.exit("%s: %s" % (lat_log, line.strip()))
        lat.append(float(f[-1]) * 1e6)
if not lat:
    sys.exit("%s: no answers" % lat_log)
lost = field("Queries lost", qps_log) + field("Queries lost", lat_log)
if lost:
    print("bench: warning: %d queries lost in %s, %s" % (lost, qps_log, lat_log), file=sys.stderr)
lat.sort()
pct = lambda p: lat[max(0, math.ceil(p / 100 * len(lat)) - 1)]
print("%.0f %.0f %.0f %.2f" % (field("Queries per second", qps_log), pct(50), pct(99),
                               cpu_ns / 1e3 / field("Queries completed", qps_log)))
' "$log.qps" "$log.lat" "$((t1 - t0))") || die "$srv: no DNS figures ($kind)"
}

# ---- outbound: endpoint → outside through each datapath's NAT ------------------------------

# wan_setup HOST-NETNS WAN-NETNS HOST-IP WAN-IP: the outside, a namespace on a veth whose
# end in HOST-NETNS, up0, is the uplink and the default route's interface. WAN-NETNS has no
# route to any endpoint subnet: it answers translated flows only.
wan_setup() {
	local host=$1 wan=$2 hip=$3 wip=$4

	netns_add "$wan"
	ip -n "$host" link add up0 type veth peer name eth0 netns "$wan"
	ip -n "$wan" link set lo up
	ip netns exec "$wan" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
		net.ipv6.conf.default.disable_ipv6=1
	ip -n "$wan" addr add "$wip/24" dev eth0
	ip -n "$wan" link set eth0 up
	ip -n "$host" addr add "$hip/24" dev up0
	ip -n "$host" link set up0 up
	ip -n "$host" route add default via "$wip"
}

# subnet_nth I: the I-th of the other networks' subnets, 10.64.0.0/24 onwards
subnet_nth() { echo "10.$((64 + $1 / 256)).$(($1 % 256)).0/24"; }

out_berth_setup() {
	netns_add "$OUT_BERTH_NS"
	ip -n "$OUT_BERTH_NS" link set lo up
	wan_setup "$OUT_BERTH_NS" "$OUT_BERTH_WAN" "$OUT_BERTH_UP" "$OUT_BERTH_SRV"
	cat >"$TMP/out.yml" <<-EOF
	name: $OUT_PROJECT
	services:
	  cli:
	    networks: [net]
	networks:
	  net:
	    ipam:
	      config:
	        - subnet: $OUT_BERTH_SUBNET
	EOF
	berth_up "$OUT_PROJECT" "$OUT_BERTH_NS" "$TMP/out.yml" --uplink up0
	read -r OUT_BERTH_IP OUT_BERTH_EPNS < <(berth_ep "$OUT_PROJECT" "$OUT_BERTH_NS" cli)
}

# berth's other networks: one project of OUT_NETS networks over OUT_NET_EPS services
out_berth_nets() {
	local i j per=$(((OUT_NETS + OUT_NET_EPS - 1) / OUT_NET_EPS))

	{
		echo "name: $NETS_PROJECT"
		echo "services:"
		for ((j = 0; j < OUT_NET_EPS; j++)); do
			echo "  s$j:"
			echo "    networks:"
			for ((i = j * per; i < (j + 1) * per && i < OUT_NETS; i++)); do
				echo "      - n$i"
			done
		done
		echo "networks:"
		for ((i = 0; i < OUT_NETS; i++)); do
			printf '  n%d:\n    ipam:\n      config:\n        - subnet: %s\n' "$i" \
				"$(subnet_nth "$i")"
		done
	} >"$TMP/nets.yml"
	berth_up "$NETS_PROJECT" "$OUT_BERTH_NS" "$TMP/nets.yml" --uplink up0
}

# A bridge network as dockerd makes one, its endpoint reaching out through up0.
out_bridge_setup() {
	netns_add "$OUT_BR_NS"
	netns_add "$OUT_BR_CLI"
	ip -n "$OUT_BR_NS" link set lo up
	ip -n "$OUT_BR_NS" link add br0 type bridge
	ip -n "$OUT_BR_NS" addr add "$OUT_BR_GW/24" dev br0
	ip -n "$OUT_BR_NS" link set br0 up
	ip netns exec "$OUT_BR_NS" sysctl -qw net.ipv4.ip_forward=1
	bridge_port "$OUT_BR_NS" br0 vcli "$OUT_BR_CLI" "$OUT_BR_IP" "$OUT_BR_GW"
	wan_setup "$OUT_BR_NS" "$OUT_BR_WAN" "$OUT_BR_UP" "$OUT_BR_SRV"
	OUT_BR_NETS=("br0 $OUT_BR_SUBNET")
	docker_rules "$OUT_BR_NS" "${OUT_BR_NETS[@]}"
}

# The bridge side's other networks: OUT_NETS bridges named as dockerd names them (br- and
# 12 hex digits of the network id), each with its gateway address, then the rules for all.
out_bridge_nets() {
	local i br subnet

	for ((i = 1; i <= OUT_NETS; i++)); do
		br=$(printf 'br-%012x' "$i")
		subnet=$(subnet_nth $((i - 1)))
		echo "link add $br type bridge"
		echo "addr add ${subnet%.0/24}.1/24 dev $br"
		echo "link set $br up"
		OUT_BR_NETS+=("$br $subnet")
	done >"$TMP/bridges.batch"
	ip -n "$OUT_BR_NS" -b "$TMP/bridges.batch"
	docker_rules "$OUT_BR_NS" "${OUT_BR_NETS[@]}"
}

# out_* DATAPATH: the outbound endpoint's namespace, the outside namespace, the server's
# address there, and the address the server must see (the uplink's)
out_epns() { if [[ $1 == berth ]]; then echo "$OUT_BERTH_EPNS"; else echo "$OUT_BR_CLI"; fi; }
out_wan() { if [[ $1 == berth ]]; then echo "$OUT_BERTH_WAN"; else echo "$OUT_BR_WAN"; fi; }
out_srv() { if [[ $1 == berth ]]; then echo "$OUT_BERTH_SRV"; else echo "$OUT_BR_SRV"; fi; }
out_masq() { if [[ $1 == berth ]]; then echo "$OUT_BERTH_UP"; else echo "$OUT_BR_UP"; fi; }

# out_ep_argv DATAPATH: EP_ARGV runs a command in the outbound endpoint, bounded by LIMIT
out_ep_argv() {
	if [[ $1 == berth ]]; then
		EP_ARGV=(timeout -k 2 "$LIMIT" "$BERTH" exec -p "$OUT_PROJECT" --host-netns \
			"$OUT_BERTH_NS" cli --)
	else
		EP_ARGV=(timeout -k 2 "$LIMIT" ip netns exec "$OUT_BR_CLI")
	fi
}

# wan_server_start DATAPATH LOG CMD...: a server in the outside namespace on CPU_SRV; its
# pid (that of timeout, which passes SIGTERM on) in SERVER
wan_server_start() {
	local dp=$1 log=$2

	shift 2
	timeout -k 2 "$LIMIT" ip netns exec "$(out_wan "$dp")" taskset -c "$CPU_SRV" "$@" \
		>"$log" 2>&1 &
	SERVER=$!
	SERVERS+=("$SERVER")
}

# connrate_run DATAPATH LOG SECONDS INFLIGHT: connrate from the endpoint to the outside; the
# client's "key value" lines in LOG.cli, the server's in LOG.srv. Dies unless connections
# completed and every one the server accepted came from the uplink's address.
connrate_run() {
	local dp=$1 log=$2 seen n

	wan_server_start "$dp" "$log.srv" "$CONNRATE" server "$(out_srv "$dp")" "$PORT_CONN" "$LIMIT"
	wait_listen "$(out_wan "$dp")" tcp "$PORT_CONN"
	out_ep_argv "$dp"
	"${EP_ARGV[@]}" taskset -c "$CPU_CLI" "$CONNRATE" client "$(out_srv "$dp")" "$PORT_CONN" \
		"$3" "$4" >"$log.cli" 2>&1 || { cat "$log.cli"; die "$dp: connrate client failed"; }
	server_stop "$SERVER"	# it prints what it saw as it ends
	n=$(awk -F'\t' '$1 == "connections" { print $2 }' "$log.cli")
	((${n:-0} > 0)) || die "$dp: no connection from the endpoint to $(out_srv "$dp") outside:" \
		"$(awk -F'\t' '$1 == "first_error" { print $2 }' "$log.cli")"
	seen=$(awk -F'\t' '$1 == "peer" { printf "%s%s", s, $2; s = " " }' "$log.srv")
	[[ $seen == "$(out_masq "$dp")" ]] || die "$dp: the outside saw connections from" \
		"'$seen', not from the uplink's address $(out_masq "$dp") alone"
}

# out_check DATAPATH PHASE: the first connections pay for ARP and routes, not measured, and
# show that the path is there and translated
out_check() {
	connrate_run "$1" "$TMP/ocheck-$2-$1" 1 1
}

# measure_out_tp DATAPATH PHASE: "Gbit/s retransmits spurious", as measure_throughput; the
# server must have seen the uplink's address
measure_out_tp() {
	local dp=$1 f="$TMP/otp-$2-$1-$ROUND" ns r0 d0 r1 d1

	ns=$(out_epns "$dp")
	wan_server_start "$dp" "$f-srv.json" iperf3 -s -1 -J -B "$(out_srv "$dp")" -p "$PORT_IPERF"
	wait_listen "$(out_wan "$dp")" tcp "$PORT_IPERF"
	read -r r0 d0 < <(tcp_counters "$ns")
	out_ep_argv "$dp"
	"${EP_ARGV[@]}" taskset -c "$CPU_CLI" iperf3 -c "$(out_srv "$dp")" -p "$PORT_IPERF" \
		-t "$SECS" -J >"$f.json" 2>&1 || { cat "$f.json"; die "$dp: outbound iperf3 failed"; }
	read -r r1 d1 < <(tcp_counters "$ns")
	wait_pid 5 "$SERVER" || true	# -1: the server ends after its one test
	server_stop "$SERVER"
	RESULT=$(python3 -c '
import json, sys
cli, srv, masq = sys.argv[1:4]
peer = json.load(open(srv))["start"]["connected"][0]["remote_host"]
if peer != masq:
    sys.exit("the outside saw %s, not the uplink address %s" % (peer, masq))
print("%.3f" % (json.load(open(cli))["end"]["sum_received"]["bits_per_second"] / 1e9))
' "$f.json" "$f-srv.json" "$(out_masq "$dp")") || die "$dp: outbound throughput ($f-srv.json)"
	RESULT="$RESULT $((r1 - r0)) $((d1 - d0))"
}

# out_drops DATAPATH: "DROPPED REASONS FLOWS": the packets the datapath has dropped so far,
# by reason ("reason:packets,..."), and the flows its NAT holds now. berth: its drop_*
# counters and NAT entries; bridge: conntrack's drop, early_drop and insert_failed, the
# packets of every DROP rule and of FORWARD's policy, and the conntrack entries.
out_drops() {
	if [[ $1 == berth ]]; then
		"$BERTH" stats -p "$OUT_PROJECT" --host-netns "$OUT_BERTH_NS" --json | python3 -c '
import json, sys
s = json.load(sys.stdin)
d = {}
for c in (s["total"], s.get("uplink", {}).get("counters", {})):
    for k, v in c.items():
        if k.startswith("drop_"):
            d[k] = d.get(k, 0) + v["packets"]
print(sum(d.values()), ",".join("%s:%d" % kv for kv in sorted(d.items())) or "-",
      s["nat"]["entries"])'
		return
	fi
	{
		ip netns exec "$OUT_BR_NS" cat /proc/net/stat/nf_conntrack
		echo "count $(ip netns exec "$OUT_BR_NS" cat /proc/sys/net/netfilter/nf_conntrack_count)"
		ip netns exec "$OUT_BR_NS" iptables -w -t filter -L -v -x -n
	} | python3 -c '
import re, sys
lines = sys.stdin.read().splitlines()
cols = lines[0].split()
d = {}
for line in lines[1:]:
    f = line.split()
    if len(f) == len(cols) and all(re.fullmatch("[0-9a-f]+", x) for x in f):
        for k in ("drop", "early_drop", "insert_failed"):
            d["conntrack_" + k] = d.get("conntrack_" + k, 0) + int(f[cols.index(k)], 16)
    elif f and f[0] == "count":
        count = int(f[1])
    elif line.startswith("Chain FORWARD (policy DROP"):
        d["forward_policy"] = int(f[4])
    elif len(f) > 2 and f[2] == "DROP" and f[0].isdigit():
        d["drop_rules"] = d.get("drop_rules", 0) + int(f[0])
d = {k: v for k, v in d.items() if v}
print(sum(d.values()), ",".join("%s:%d" % kv for kv in sorted(d.items())) or "-", count)'
}

# measure_out_conn DATAPATH PHASE: "connections/s p50-µs p99-µs failed dropped flows"
# (failed: refused, unreachable or timed out; dropped: packets the datapath dropped during
# the run; flows: in its NAT at the end)
measure_out_conn() {
	local log="$TMP/oconn-$2-$1-$ROUND" d0 d1 flows

	read -r d0 _ _ < <(out_drops "$1")
	connrate_run "$1" "$log" "$CONN_SECS" "$CONN_INFLIGHT"
	read -r d1 _ flows < <(out_drops "$1")
	RESULT=$(awk -F'\t' '{ v[$1] = $2 }
		END { print v["per_second"], v["p50_us"], v["p99_us"], v["failed"] + v["timed_out"] }' \
		"$log.cli")
	RESULT="$RESULT $((d1 - d0)) $flows"
}

# The outbound section: both datapaths as they are, then with OUT_NETS other networks.
# Figures go into V[KEY-PHASE,DATAPATH].
outbound() {
	local phase dp order a b c d e f with t0

	OUT_DPS="berth bridge"
	out_berth_setup
	out_bridge_setup
	echo "bench: outbound: berth $OUT_PROJECT in $OUT_BERTH_NS (cli $OUT_BERTH_IP), uplink up0" \
		"$OUT_BERTH_UP, outside $OUT_BERTH_SRV in $OUT_BERTH_WAN"
	echo "bench: outbound: bridge br0 in $OUT_BR_NS (cli $OUT_BR_IP), up0 $OUT_BR_UP, outside" \
		"$OUT_BR_SRV in $OUT_BR_WAN"
	for phase in base nets; do
		with=""
		if [[ $phase == nets ]]; then
			with=" with $OUT_NETS other networks"
			echo "bench: outbound: adding $OUT_NETS networks to each datapath ..."
			t0=$SECONDS
			out_bridge_nets
			V[nets-time,bridge]=$((SECONDS - t0))
			t0=$SECONDS
			out_berth_nets
			V[nets-time,berth]=$((SECONDS - t0))
		fi
		for dp in $OUT_DPS; do out_check "$dp" "$phase"; done
		for ((ROUND = 1; ROUND <= ROUNDS; ROUND++)); do
			if ((ROUND % 2)); then order="berth bridge"; else order="bridge berth"; fi
			echo "bench: outbound round $ROUND/$ROUNDS$with: throughput, connection rate ($order)"
			for dp in $order; do
				measure_out_tp "$dp" "$phase"
				read -r a b c <<<"$RESULT"
				V[otp-$phase,$dp]+=" $a" V[oretr-$phase,$dp]+=" $b" V[odsack-$phase,$dp]+=" $c"
			done
			for dp in $order; do
				measure_out_conn "$dp" "$phase"
				read -r a b c d e f <<<"$RESULT"
				V[ocr-$phase,$dp]+=" $a" V[oc50-$phase,$dp]+=" $b" V[oc99-$phase,$dp]+=" $c"
				V[ofail-$phase,$dp]+=" $d" V[odrop-$phase,$dp]+=" $e" V[oflows-$phase,$dp]+=" $f"
			done
		done
	done
	for dp in $OUT_DPS; do
		read -r _ a _ < <(out_drops "$dp")
		V[odrops,$dp]=$a
	done
	# each datapath with the other networks, against itself without them
	for dp in $OUT_DPS; do
		V[otp-keep,$dp]=$(ratio "$(median_of otp-nets "$dp")" "$(median_of otp-base "$dp")")
		V[ocr-keep,$dp]=$(ratio "$(median_of ocr-nets "$dp")" "$(median_of ocr-base "$dp")")
	done
}

# ---- report -----------------------------------------------------------------------------

ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { if (a != "-" && b != "-" && b > 0) printf "%.2f", a / b
					 else print "-" }'
}

# summary SCALE FORMAT VALUES...: "median (min–max)", each value divided by SCALE; "-" for none
summary() {
	local scale=$1 fmt=$2

	shift 2
	(($#)) || { echo "-"; return 0; }
	printf '%s\n' "$@" | sort -g | awk -v s="$scale" -v f="$fmt" '
		{ v[NR] = $1 / s }
		END {
			m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
			if (NR == 1) printf f, m
			else printf f " (" f "–" f ")", m, v[1], v[NR]
		}'
}

median() { summary 1 '%.6g' "$@" | cut -d' ' -f1; }

# median_of KEY DATAPATH: the median of V[KEY,DATAPATH]'s figures
median_of() {
	local v

	read -ra v <<<"${V[$1,$2]:-}"
	median "${v[@]}"
}

# row NAME SCALE FORMAT KEY [OTHER]: one table row, the ratio of the medians; berth against
# OTHER (default bridge)
row() {
	local name=$1 scale=$2 fmt=$3 key=$4 other=${5:-bridge} b r

	read -ra b <<<"${V[$key,berth]:-}"
	read -ra r <<<"${V[$key,$other]:-}"
	echo "| $name | $(summary "$scale" "$fmt" "${b[@]}") |" \
		"$(summary "$scale" "$fmt" "${r[@]}") |" \
		"$(ratio "$(median "${b[@]}")" "$(median "${r[@]}")") |"
}

# ---- the sections ---------------------------------------------------------------------------

# East-west and DNS, in berth-bench-$$, brbench-$$ and dnsbench-$$.
eastwest() {
	local dp order kind a b c d

	berth_setup
	bridge_setup
	dns_setup
	[[ $BR_NF == 1 ]] || echo "bench: warning: bridge-nf-call-iptables is $BR_NF in $BR_NS:" \
		"bridged frames skip Docker's rules, so the baseline is cheaper than Docker's"
	echo "bench: berth $PROJECT in $BERTH_NS: srv $BERTH_IP_SRV, cli $BERTH_IP_CLI;" \
		"bridge br0 in $BR_NS: srv $BR_IP_SRV, cli $BR_IP_CLI" \
		"(bridge-nf-call-iptables $BR_NF); DNS: berth's agent (pid $AGENT_PID) and dnsmasq" \
		"$DNSMASQ_VER in cli, upstream $DNS_UP_IP in $DNS_NS"
	for dp in berth bridge; do warm_up "$dp"; done

	# Round after round of every metric, the two datapaths back to back and in turn first,
	# so that a drift of the machine (it is a VM) hits both alike; the medians are reported.
	for ((ROUND = 1; ROUND <= ROUNDS; ROUND++)); do
		if ((ROUND % 2)); then order="berth bridge"; else order="bridge berth"; fi
		echo "bench: round $ROUND/$ROUNDS: latency, throughput, packet rate ($order), DNS"
		for dp in $order; do
			measure_latency "$dp"
			read -r a b c <<<"$RESULT"
			V[p50,$dp]+=" $a" V[p99,$dp]+=" $b" V[avg,$dp]+=" $c"
		done
		for dp in $order; do
			measure_throughput "$dp"
			read -r a b c <<<"$RESULT"
			V[tp,$dp]+=" $a" V[retr,$dp]+=" $b" V[dsack,$dp]+=" $c"
		done
		for dp in $order; do
			measure_pps "$dp"
			read -r a b c <<<"$RESULT"
			V[pps,$dp]+=" $a" V[ppstx,$dp]+=" $b" V[loss,$dp]+=" $c"
		done
		for kind in local fwd; do
			for dp in ${order/bridge/dnsmasq}; do
				measure_dns "$dp" "$kind"
				read -r a b c d <<<"$RESULT"
				V[dq-$kind,$dp]+=" $a" V[d50-$kind,$dp]+=" $b" V[d99-$kind,$dp]+=" $c"
				V[dcpu-$kind,$dp]+=" $d"
			done
		done
	done
	V[fwd,berth]=$(berth_forwarded)
	V[fwd,bridge]=$(bridge_forwarded)
}

measure_prog_cost() {
	echo "bench: endpoint program cost (BPF_PROG_TEST_RUN) ..."
	COST_OUT=$(taskset -c "$CPU_SRV" "$PROG_COST" 1000000 200000) || die "prog_cost failed"
	COST_UNI=$(awk -F'\t' '$1 == "unicast" && $2 == "repeat-loop" { print $4 }' <<<"$COST_OUT")
	COST_UNI1=$(awk -F'\t' '$1 == "unicast" && $2 == "single-runs" { print $4 }' <<<"$COST_OUT")
	COST_ARP1=$(awk -F'\t' '$1 == "arp" && $2 == "single-runs" { print $4 }' <<<"$COST_OUT")
	COST_ARP=$(awk -F'\t' '$1 == "arp" && $2 == "corrected" { print $4 }' <<<"$COST_OUT")
}

report_eastwest() {
	echo "Two endpoints on one network; server pinned to CPU $CPU_SRV," \
		"client to CPU $CPU_CLI. berth: tc ingress + bpf_redirect_peer;"
	echo "bridge: br0 with Docker's iptables rules (bridge-nf-call-iptables $BR_NF)."
	echo "Each figure: the median of $ROUNDS runs of ${SECS} s, (min–max) beside it;" \
		"the ratio is of the medians."
	echo
	echo "| metric | berth | bridge | berth / bridge |"
	echo "| --- | ---: | ---: | ---: |"
	row "TCP RTT p50, µs (sockperf pp --full-rtt; lower is better)" 1 '%.1f' p50
	row "TCP RTT p99, µs (lower is better)" 1 '%.1f' p99
	row "TCP RTT mean, µs (lower is better)" 1 '%.1f' avg
	row "TCP throughput, Gbit/s (iperf3, receiver)" 1 '%.2f' tp
	row "UDP 64 B received, kpps (iperf3 -u -b 0 -l 64, receiver)" 1000 '%.1f' pps
	echo
	echo "| also seen | berth | bridge | berth / bridge |"
	echo "| --- | ---: | ---: | ---: |"
	row "TCP segments retransmitted per throughput run" 1 '%.0f' retr
	row "… of them DSACKed by the receiver (spurious)" 1 '%.0f' dsack
	row "UDP 64 B sent, kpps" 1000 '%.1f' ppstx
	row "UDP 64 B lost at the receiver, %" 1 '%.2f' loss
	row "frames forwarded (berth: PASS_FORWARD; bridge: ACCEPTs of DOCKER-CT, DOCKER-FORWARD)" \
		1 '%.0f' fwd
	echo
	echo "| endpoint program, BPF_PROG_TEST_RUN on CPU $CPU_SRV | ns/packet |"
	echo "| --- | ---: |"
	echo "| same-network unicast, 106 B IPv4/UDP → redirect_peer" \
		"(one call, repeat 1,000,000) | $COST_UNI |"
	echo "| ARP request for a peer → reply (200,000 calls of repeat 1," \
		"timer overhead subtracted) | $COST_ARP |"
	echo "| (ARP, 200,000 calls of repeat 1 as measured / unicast the same way)" \
		"| $COST_ARP1 / $COST_UNI1 |"
	echo
	echo "RTT is sockperf's round trip (--full-rtt), not its default one-way RTT/2."
	echo "The repeat loop reuses one skb: an ARP request, rewritten into its reply by"
	echo "the first run, would be dropped as spoofed by the next, so ARP is timed one"
	echo "run per call."
	echo
	echo "## DNS"
	echo
	echo "berth's agent at 127.0.0.11 against dnsmasq $DNSMASQ_VER on 127.0.0.1:$DNS_PORT" \
		"in the same endpoint (cli), serving the same names"
	echo "(berth's from its compose file, dnsmasq's from a hosts file of berth's answers;" \
		"both TTL 0), asked by dnsperf in cli"
	echo "on CPU $CPU_CLI, the server on CPU $CPU_SRV. Local: $(wc -l <"$TMP/dns-local.txt")" \
		"names in turn (services, aliases, endpoints)."
	echo "Forwarded: 1,000 names under fwd.test, which both send to one upstream dnsmasq" \
		"(--address=/fwd.test/192.0.2.1,"
	echo "CPU $CPU_UP) in a namespace of its own, reached from the agent in berth's host" \
		"namespace and from dnsmasq out of"
	echo "cli's eth0 through it; dnsmasq with no cache, so that each query goes upstream."
	echo "Queries/s: completed per second in ${DNS_SECS} s at full speed (-c $DNS_CLIENTS," \
		"at most 100 in flight). p50/p99: of every"
	echo "answer's latency as dnsperf -v prints it, in ${DNS_LAT_SECS} s at a fixed" \
		"$DNS_QPS queries/s. Every answer NOERROR."
	echo
	echo "| DNS | berth | dnsmasq | berth / dnsmasq |"
	echo "| --- | ---: | ---: | ---: |"
	row "local names, kqueries/s (dnsperf, full speed; higher is better)" 1000 '%.1f' \
		dq-local dnsmasq
	row "local names, p50 µs at $DNS_QPS queries/s (lower is better)" 1 '%.0f' d50-local dnsmasq
	row "local names, p99 µs at $DNS_QPS queries/s" 1 '%.0f' d99-local dnsmasq
	row "forwarded names, kqueries/s (dnsperf, full speed)" 1000 '%.1f' dq-fwd dnsmasq
	row "forwarded names, p50 µs at $DNS_QPS queries/s" 1 '%.0f' d50-fwd dnsmasq
	row "forwarded names, p99 µs at $DNS_QPS queries/s" 1 '%.0f' d99-fwd dnsmasq
	row "server CPU per local query at full speed, µs (scheduler's count)" 1 '%.2f' \
		dcpu-local dnsmasq
	row "server CPU per forwarded query at full speed, µs" 1 '%.2f' dcpu-fwd dnsmasq
}

report_outbound() {
	local n=$OUT_NETS

	echo "## Outbound: endpoint → outside, source-translated to the uplink's address"
	echo
	echo "One endpoint reaching a server in an outside namespace behind the uplink (up0, a veth)."
	echo "berth: \`berth up --uplink up0\`, the endpoint's gateway, BPF masquerade. bridge:"
	echo "br0 routed out of up0 (ip_forward=1) with dockerd 28's iptables rules and its"
	echo "MASQUERADE. Every connection the servers accepted came from the uplink's address."
	echo "Server on CPU $CPU_SRV (outside), client on CPU $CPU_CLI (endpoint); medians of $ROUNDS" \
		"runs. Throughput: iperf3, ${SECS} s."
	echo "Connections: bench/connrate for ${CONN_SECS} s, $CONN_INFLIGHT in flight; each one" \
		"connect → the server accepts and closes"
	echo "with a RST → the client sees it and closes; its time is from connect() to then."
	echo "\"with $n networks\": $n other networks in the same datapath, made after the" \
		"endpoint's: berth, one more project"
	echo "in the instance, $n networks over $OUT_NET_EPS endpoints; bridge, $n more bridges" \
		"with dockerd's per-network rules,"
	echo "inserted ahead of br0's, as ahead of the oldest network's: each packet out walks" \
		"about 5 × $((n + 1)) rules, each reply $((n + 1))."
	echo
	echo "| outbound | berth | bridge | berth / bridge |"
	echo "| --- | ---: | ---: | ---: |"
	row "TCP throughput, Gbit/s (iperf3, receiver)" 1 '%.2f' otp-base
	row "new connections, k/s (connrate; higher is better)" 1000 '%.1f' ocr-base
	row "connection time p50, µs (lower is better)" 1 '%.0f' oc50-base
	row "connection time p99, µs" 1 '%.0f' oc99-base
	row "with $n networks: TCP throughput, Gbit/s" 1 '%.2f' otp-nets
	row "with $n networks: new connections, k/s" 1000 '%.1f' ocr-nets
	row "with $n networks: connection time p50, µs" 1 '%.0f' oc50-nets
	row "with $n networks: connection time p99, µs" 1 '%.0f' oc99-nets
	echo
	echo "| outbound, also seen | berth | bridge | berth / bridge |"
	echo "| --- | ---: | ---: | ---: |"
	row "throughput with $n networks / without (each datapath its own)" 1 '%.2f' otp-keep
	row "connection rate with $n networks / without" 1 '%.2f' ocr-keep
	row "TCP segments retransmitted per throughput run" 1 '%.0f' oretr-base
	row "… of them DSACKed by the receiver (spurious)" 1 '%.0f' odsack-base
	row "TCP segments retransmitted per throughput run, with $n networks" 1 '%.0f' oretr-nets
	row "… of them DSACKed by the receiver (spurious)" 1 '%.0f' odsack-nets
	row "failed or timed-out connections per run (refused, unreachable, > 3 s)" 1 '%.0f' \
		ofail-base
	row "… with $n networks" 1 '%.0f' ofail-nets
	row "packets the datapath dropped per connection run" 1 '%.0f' odrop-base
	row "… with $n networks" 1 '%.0f' odrop-nets
	row "flows in the NAT after a connection run (berth: NAT entries; bridge: conntrack)" 1 \
		'%.0f' oflows-base
	echo
	echo "Drops over all outbound runs, by reason: berth ${V[odrops,berth]:--}; bridge" \
		"${V[odrops,bridge]:--}."
	# not a comparison: dockerd makes a network at a time, each with its own iptables calls
	echo "Adding the $n networks took ${V[nets-time,berth]:--} s for berth (one \`berth up\`)" \
		"and ${V[nets-time,bridge]:--} s for the bridge side (one ip -batch, one iptables-restore)."
}

# ---- published ports: outside → host address:port → endpoint, three datapaths -------------

# Each datapath in namespaces of its own, the client in an outside namespace behind up0,
# which has two host addresses (one address has only 65,535 ports):
#
#   berth: berth up --host-netns berth-pp-$$ --uplink up0, the server in the endpoint srv
#   iptables: ipp-$$, br0 10.226.0.1/24 and ipp-$$-srv 10.226.0.2, ip_forward=1,
#     docker_rules plus what dockerd 28 adds per published port (no userland proxy):
#       nat DOCKER:    [-d HOST_IP/32] ! -i br0 -p tcp -m tcp --dport P -j DNAT --to-destination IP:T
#       filter DOCKER: -d IP/32 ! -i br0 -o br0 -p tcp -m tcp --dport T -j ACCEPT
#   nftables: npp-$$, the same bridge and server, one table: a prerouting chain
#       dnat ip to ip daddr . tcp dport map @ports (one map of HOST_IP . P : IP . T), a
#       stateful forward chain and a masquerade for br0's subnet
#
#   each: up0 10.224.0.1/24 and 10.224.0.3/24 ── veth ── eth0 10.224.0.2, the client's
#   namespace (wanpp-{b,i,n}-$$), with no route to any endpoint subnet
#
# The measured ports are 0.0.0.0:8080 → sockperf, :8081 → iperf3, :8082 → connrate. The
# "other" ports are N/2 on each host address, 10000 upward, each onto the same port of
# the server (nothing listens there). In Docker's chains the measured ports come after the
# others, as the newest container's would.
readonly PP_SIZES="0 1000 10000 100000"
readonly PP_A1=10.224.0.1 PP_A2=10.224.0.3 PP_CLIENT=10.224.0.2
readonly PP_BR_GW=10.226.0.1 PP_BR_SRV=10.226.0.2 PP_BR_SUBNET=10.226.0.0/24
readonly PP_BERTH_SUBNET=10.225.0.0/24
readonly PP_PUB_LAT=8080 PP_PUB_IPERF=8081 PP_PUB_CONN=8082 PP_ONE_MORE=9000 PP_OTHER_BASE=10000
readonly PP_PROJECT="bpp$$" PP_BERTH_NS="berth-pp-$$"
readonly PP_UP_LIMIT=180		# a berth up of the section that takes longer fails it
PP_DPS="berth iptables nftables"
PP_BERTH_IP="" PP_BERTH_EPNS=""

pp_wan() { echo "wanpp-${1:0:1}-$$"; }
pp_host() {
	case $1 in berth) echo "$PP_BERTH_NS" ;; iptables) echo "ipp-$$" ;; nftables) echo "npp-$$" ;; esac
}
pp_srv_ip() { if [[ $1 == berth ]]; then echo "$PP_BERTH_IP"; else echo "$PP_BR_SRV"; fi; }
pp_srv_ns() { if [[ $1 == berth ]]; then echo "$PP_BERTH_EPNS"; else echo "$(pp_host "$1")-srv"; fi; }

# pp_srv_argv DATAPATH: EP_ARGV runs a command in the server's namespace, bounded by LIMIT
pp_srv_argv() {
	if [[ $1 == berth ]]; then
		EP_ARGV=(timeout -k 2 "$LIMIT" "$BERTH" exec -p "$PP_PROJECT" --host-netns \
			"$PP_BERTH_NS" srv --)
	else
		EP_ARGV=(timeout -k 2 "$LIMIT" ip netns exec "$(pp_srv_ns "$1")")
	fi
}

pp_server_start() {
	local dp=$1 log=$2

	shift 2
	pp_srv_argv "$dp"
	"${EP_ARGV[@]}" taskset -c "$CPU_SRV" "$@" >"$log" 2>&1 &
	SERVER=$!
	SERVERS+=("$SERVER")
}

# pp_client DATAPATH CMD...: a client in the outside namespace on CPU_CLI, bounded by LIMIT
pp_client() {
	local dp=$1

	shift
	timeout -k 2 "$LIMIT" ip netns exec "$(pp_wan "$dp")" taskset -c "$CPU_CLI" "$@"
}

# pp_berth_file SIZE [EXTRA-ITEM]: the compose file with SIZE other ports
pp_berth_file() {
	local n=$(($1 / 2)) f="$TMP/pp-$1${2:+-more}.yml" items a

	items="\"$PP_PUB_LAT:$PORT_LAT\", \"$PP_PUB_IPERF:$PORT_IPERF\", \"$PP_PUB_CONN:$PORT_CONN\""
	if ((n > 0)); then
		for a in "$PP_A1" "$PP_A2"; do
			items+=", \"$a:$PP_OTHER_BASE-$((PP_OTHER_BASE + n - 1)):$PP_OTHER_BASE-$((PP_OTHER_BASE + n - 1))\""
		done
	fi
	[[ -z ${2:-} ]] || items+=", \"$2\""
	cat >"$f" <<-EOF
	name: $PP_PROJECT
	services:
	  srv:
	    networks: [net]
	    ports: [$items]
	networks:
	  net:
	    ipam:
	      config:
	        - subnet: $PP_BERTH_SUBNET
	EOF
	echo "$f"
}

# pp_berth_up FILE: berth up of the section's project, bounded; its time in ms in RESULT
pp_berth_up() {
	local t0 t1

	[[ " ${BERTH_UPS[*]} " == *" $PP_PROJECT $PP_BERTH_NS "* ]] ||
		BERTH_UPS+=("$PP_PROJECT $PP_BERTH_NS")
	t0=$(date +%s%N)
	timeout -k 5 "$PP_UP_LIMIT" "$BERTH" up -f "$1" -p "$PP_PROJECT" --host-netns "$PP_BERTH_NS" \
		--uplink up0 >"$TMP/up-$PP_PROJECT.log" 2>&1 ||
		{ tail -5 "$TMP/up-$PP_PROJECT.log"; die "berth up $1 failed or took over $PP_UP_LIMIT s"; }
	t1=$(date +%s%N)
	RESULT=$(((t1 - t0) / 1000000))
}

# pp_bridge_setup DATAPATH: br0 and the server's namespace, as out_bridge_setup
pp_bridge_setup() {
	local ns

	ns=$(pp_host "$1")
	netns_add "$ns"
	netns_add "$ns-srv"
	ip -n "$ns" link set lo up
	ip -n "$ns" link add br0 type bridge
	ip -n "$ns" addr add "$PP_BR_GW/24" dev br0
	ip -n "$ns" link set br0 up
	ip netns exec "$ns" sysctl -qw net.ipv4.ip_forward=1
	bridge_port "$ns" br0 vsrv "$ns-srv" "$PP_BR_SRV" "$PP_BR_GW"
}

pp_setup() {
	local dp

	for dp in $PP_DPS; do
		if [[ $dp == berth ]]; then
			netns_add "$PP_BERTH_NS"
			ip -n "$PP_BERTH_NS" link set lo up
		else
			pp_bridge_setup "$dp"
		fi
		wan_setup "$(pp_host "$dp")" "$(pp_wan "$dp")" "$PP_A1" "$PP_CLIENT"
		ip -n "$(pp_host "$dp")" addr add "$PP_A2/24" dev up0
	done
	pp_berth_up "$(pp_berth_file 0)"
	read -r PP_BERTH_IP PP_BERTH_EPNS < <(berth_ep "$PP_PROJECT" "$PP_BERTH_NS" srv)
}

# pp_rules DATAPATH SIZE: the iptables-restore or nft file of that many other ports
pp_rules() {
	local dp=$1 f="$TMP/pp-rules-$1-$2" ns

	ns=$(pp_host "$dp")
	if [[ $dp == iptables ]]; then
		docker_rules "$ns" "br0 $PP_BR_SUBNET"	# writes $TMP/rules-$ns (and loads it)
		python3 - "$TMP/rules-$ns" "$2" "$PP_A1" "$PP_A2" "$PP_BR_SRV" "$PP_OTHER_BASE" \
			"$PP_PUB_LAT:$PORT_LAT" "$PP_PUB_IPERF:$PORT_IPERF" "$PP_PUB_CONN:$PORT_CONN" \
			>"$f" <<-'PY'
		import sys
		base, size, a1, a2, srv, first = sys.argv[1], int(sys.argv[2]), *sys.argv[3:7]
		first = int(first)
		binds = [(a, p, p) for p in range(first, first + size // 2) for a in (a1, a2)]
		binds += [(None, *map(int, m.split(":"))) for m in sys.argv[7:]]
		acc = ["-A DOCKER -d %s/32 ! -i br0 -o br0 -p tcp -m tcp --dport %d -j ACCEPT" % (srv, t)
		       for _, _, t in binds]
		dnat = ["-A DOCKER %s! -i br0 -p tcp -m tcp --dport %d -j DNAT --to-destination %s:%d"
		        % ("-d %s/32 " % a if a else "", p, srv, t) for a, p, t in binds]
		out, table = [], None
		for line in open(base).read().splitlines():
		    if line.startswith("*"):
		        table = line
		    if table == "*filter" and line == "-A DOCKER ! -i br0 -o br0 -j DROP":
		        out += acc
		    if table == "*nat" and line == "COMMIT":
		        out += dnat
		    out.append(line)
		print("\n".join(out))
		PY
		[[ -s $f ]] || die "cannot write $f"
	else
		python3 - "$2" "$PP_A1" "$PP_A2" "$PP_BR_SRV" "$PP_OTHER_BASE" "$PP_BR_SUBNET" \
			"$PP_PUB_LAT:$PORT_LAT" "$PP_PUB_IPERF:$PORT_IPERF" "$PP_PUB_CONN:$PORT_CONN" \
			>"$f" <<-'PY'
		import sys
		size, a1, a2, srv, first, subnet = int(sys.argv[1]), *sys.argv[2:7]
		first = int(first)
		el = ["%s . %d : %s . %d" % (a, p, srv, p)
		      for p in range(first, first + size // 2) for a in (a1, a2)]
		for m in sys.argv[7:]:
		    p, t = m.split(":")
		    el += ["%s . %s : %s . %s" % (a, p, srv, t) for a in (a1, a2)]
		print("flush ruleset")
		print("table ip berth_bench {")
		print(" map ports {")
		print("  type ipv4_addr . inet_service : ipv4_addr . inet_service")
		print("  elements = { " + ",\n   ".join(el) + " }")
		print(" }")
		print(" chain prerouting {")
		print("  type nat hook prerouting priority dstnat; policy accept;")
		print("  meta l4proto tcp dnat ip to ip daddr . tcp dport map @ports")
		print(" }")
		print(" chain forward {")
		print("  type filter hook forward priority filter; policy drop;")
		print("  ct state established,related accept")
		print("  ct status dnat oifname \"br0\" accept")
		print("  iifname \"br0\" accept")
		print(" }")
		print(" chain postrouting {")
		print("  type nat hook postrouting priority srcnat; policy accept;")
		print("  ip saddr %s oifname != \"br0\" masquerade" % subnet)
		print(" }")
		print("}")
		PY
		[[ -s $f ]] || die "cannot write $f"
	fi
	echo "$f"
}

# pp_load DATAPATH SIZE: the datapath with SIZE other ports (and the measured ones); the
# time the load took, ms, in RESULT (berth: berth up; iptables: one iptables-restore of
# both tables; nftables: one nft -f)
pp_load() {
	local dp=$1 f t0 t1 ns

	ns=$(pp_host "$dp")
	if [[ $dp == berth ]]; then
		pp_berth_up "$(pp_berth_file "$2")"
		return
	fi
	f=$(pp_rules "$dp" "$2")
	t0=$(date +%s%N)
	if [[ $dp == iptables ]]; then
		timeout 120 ip netns exec "$ns" iptables-restore "$f" || die "iptables-restore $f failed"
	else
		timeout 120 ip netns exec "$ns" nft -f "$f" || die "nft -f $f failed"
	fi
	t1=$(date +%s%N)
	RESULT=$(((t1 - t0) / 1000000))
}

# pp_one_more DATAPATH SIZE: publish one more port, its time in ms in RESULT. berth: berth
# up with the file of SIZE and one more item; iptables: the one nat rule (dockerd adds the
# filter ACCEPT with a second call); nftables: one element.
pp_one_more() {
	local dp=$1 ns t0 t1 rc=0

	ns=$(pp_host "$dp")
	if [[ $dp == berth ]]; then
		pp_berth_up "$(pp_berth_file "$2" "$PP_A1:$PP_ONE_MORE:$PP_ONE_MORE")"
		return
	fi
	t0=$(date +%s%N)
	if [[ $dp == iptables ]]; then
		timeout 60 ip netns exec "$ns" iptables -w -t nat -A DOCKER -d "$PP_A1/32" ! -i br0 \
			-p tcp -m tcp --dport "$PP_ONE_MORE" -j DNAT \
			--to-destination "$PP_BR_SRV:$PP_ONE_MORE" || rc=$?
	else
		timeout 60 ip netns exec "$ns" nft add element ip berth_bench ports \
			"{ $PP_A1 . $PP_ONE_MORE : $PP_BR_SRV . $PP_ONE_MORE }" || rc=$?
	fi
	t1=$(date +%s%N)
	((rc == 0)) || die "$dp: publishing one more port failed"
	RESULT=$(((t1 - t0) / 1000000))
}

# pp_conn DATAPATH LOG SECONDS INFLIGHT: connrate from outside to A1:PP_PUB_CONN; RESULT
# "per_second p50 p99 failed". Dies unless connections completed and the server saw the
# client's own address (no proxy, no masquerade on the way in).
pp_conn() {
	local dp=$1 log=$2 n seen

	pp_server_start "$dp" "$log.srv" "$CONNRATE" server "$(pp_srv_ip "$dp")" "$PORT_CONN" "$LIMIT"
	wait_listen "$(pp_srv_ns "$dp")" tcp "$PORT_CONN"
	pp_client "$dp" "$CONNRATE" client "$PP_A1" "$PP_PUB_CONN" "$3" "$4" >"$log.cli" 2>&1 ||
		{ cat "$log.cli"; die "$dp: connrate client failed"; }
	server_stop "$SERVER"
	n=$(awk -F'\t' '$1 == "connections" { print $2 }' "$log.cli")
	((${n:-0} > 0)) || die "$dp: no connection from outside to $PP_A1:$PP_PUB_CONN:" \
		"$(awk -F'\t' '$1 == "first_error" { print $2 }' "$log.cli")"
	seen=$(awk -F'\t' '$1 == "peer" { printf "%s%s", s, $2; s = " " }' "$log.srv")
	[[ $seen == "$PP_CLIENT" ]] || die "$dp: the server saw connections from '$seen', not" \
		"from the client's address $PP_CLIENT alone"
	RESULT=$(awk -F'\t' '{ v[$1] = $2 }
		END { print v["per_second"], v["p50_us"], v["p99_us"], v["failed"] + v["timed_out"] }' \
		"$log.cli")
}

# pp_latency DATAPATH: "p50 p99 avg" µs of the TCP round trip through A1:PP_PUB_LAT
pp_latency() {
	local dp=$1 log="$TMP/pplat-$1-$ROUND"

	pp_server_start "$dp" "$log.srv" sockperf sr --tcp -i "$(pp_srv_ip "$dp")" -p "$PORT_LAT"
	wait_listen "$(pp_srv_ns "$dp")" tcp "$PORT_LAT"
	pp_client "$dp" sockperf pp --tcp -i "$PP_A1" -p "$PP_PUB_LAT" -t "$SECS" -m 64 --full-rtt \
		>"$log.cli" 2>&1 || { cat "$log.cli"; die "$dp: sockperf pp through a published port failed"; }
	server_stop "$SERVER"
	RESULT=$(sockperf_rtt "$dp" "$log.cli")
}

# pp_tp DATAPATH: Gbit/s through A1:PP_PUB_IPERF, as the receiver counted; the server must
# have seen the client's address
pp_tp() {
	local dp=$1 f="$TMP/pptp-$1-$ROUND"

	pp_server_start "$dp" "$f-srv.json" iperf3 -s -1 -J -B "$(pp_srv_ip "$dp")" -p "$PORT_IPERF"
	wait_listen "$(pp_srv_ns "$dp")" tcp "$PORT_IPERF"
	pp_client "$dp" iperf3 -c "$PP_A1" -p "$PP_PUB_IPERF" -t "$SECS" -J >"$f.json" 2>&1 ||
		{ cat "$f.json"; die "$dp: iperf3 through a published port failed"; }
	wait_pid 5 "$SERVER" || true
	server_stop "$SERVER"
	RESULT=$(python3 -c '
import json, sys
cli, srv, want = sys.argv[1:4]
peer = json.load(open(srv))["start"]["connected"][0]["remote_host"]
if peer != want:
    sys.exit("the server saw %s, not the client %s" % (peer, want))
print("%.3f" % (json.load(open(cli))["end"]["sum_received"]["bits_per_second"] / 1e9))
' "$f.json" "$f-srv.json" "$PP_CLIENT") || die "$dp: published-port throughput ($f-srv.json)"
}

# The published-ports section. Figures in V[KEY,DATAPATH]; per size: pcr-N (k/s), pc50-N,
# pc99-N, pfail-N, pload-N (ms), pmore-N (ms).
ports() {
	local dp order size a b c d t0

	t0=$SECONDS
	pp_setup
	for dp in iptables nftables; do pp_load "$dp" 0; done
	echo "bench: ports: berth $PP_PROJECT in $PP_BERTH_NS (srv $PP_BERTH_IP); iptables" \
		"ipp-$$, nftables npp-$$ (srv $PP_BR_SRV); client $PP_CLIENT → $PP_A1 in wanpp-*-$$"
	for dp in $PP_DPS; do pp_conn "$dp" "$TMP/ppcheck-$dp" 1 1; done
	for ((ROUND = 1; ROUND <= ROUNDS; ROUND++)); do
		order=$(echo $PP_DPS | awk -v r="$ROUND" '{ for (i = 0; i < NF; i++)
			printf "%s%s", i ? " " : "", $((i + r - 1) % NF + 1) }')
		echo "bench: ports round $ROUND/$ROUNDS: latency, throughput ($order)"
		for dp in $order; do
			pp_latency "$dp"
			read -r a b c <<<"$RESULT"
			V[pp50,$dp]+=" $a" V[pp99,$dp]+=" $b" V[ppavg,$dp]+=" $c"
		done
		for dp in $order; do
			pp_tp "$dp"
			V[pptp,$dp]+=" $RESULT"
		done
	done
	for size in $PP_SIZES; do
		echo "bench: ports: $size other published ports ..."
		for dp in $PP_DPS; do
			pp_load "$dp" "$size"
			V[pload-$size,$dp]=$RESULT
			# not measured: shows the path, and warms it up as the measured runs load it
			pp_conn "$dp" "$TMP/ppcheck-$size-$dp" 1 "$CONN_INFLIGHT"
		done
		for ((ROUND = 1; ROUND <= ROUNDS; ROUND++)); do
			for dp in $PP_DPS; do
				pp_conn "$dp" "$TMP/ppconn-$size-$dp-$ROUND" "$CONN_SECS" "$CONN_INFLIGHT"
				read -r a b c d <<<"$RESULT"
				V[pcr-$size,$dp]+=" $a" V[pc50-$size,$dp]+=" $b" V[pc99-$size,$dp]+=" $c"
				V[pfail-$size,$dp]+=" $d"
			done
		done
		for dp in $PP_DPS; do
			pp_one_more "$dp" "$size"
			V[pmore-$size,$dp]=$RESULT
		done
	done
	# each datapath at its largest size against itself at 0
	for dp in $PP_DPS; do
		for size in $PP_SIZES; do
			if [[ -n ${V[pcr-$size,$dp]:-} ]]; then V[pmax,$dp]=$size; fi
		done
		V[pkeep,$dp]=$(ratio "$(median_of "pcr-${V[pmax,$dp]}" "$dp")" "$(median_of pcr-0 "$dp")")
	done
	V[ptime,all]=$((SECONDS - t0))
}

# row3 NAME SCALE FORMAT KEY: berth, iptables, nftables, then berth / each
row3() {
	local name=$1 scale=$2 fmt=$3 key=$4 dp line m=() v

	line="| $name |"
	for dp in berth iptables nftables; do
		read -ra v <<<"${V[$key,$dp]:-}"
		line+=" $(summary "$scale" "$fmt" "${v[@]}") |"
		m+=("$(median "${v[@]}")")
	done
	echo "$line $(ratio "${m[0]}" "${m[1]}") | $(ratio "${m[0]}" "${m[2]}") |"
}

report_ports() {
	local size

	echo "## Published ports: outside → host address:port → endpoint"
	echo
	echo "A client in an outside namespace behind the uplink (up0, a veth; host addresses" \
		"$PP_A1 and $PP_A2) reaches a server"
	echo "in an endpoint through a published port of $PP_A1. berth: \`berth up --uplink up0\`" \
		"with the service's \`ports:\`. iptables:"
	echo "Docker 28's rules (docker_rules) plus, per published port, its nat DOCKER DNAT rule and" \
		"its filter DOCKER ACCEPT rule;"
	echo "no userland proxy. nftables: one prerouting rule, \`dnat ip to ip daddr . tcp dport" \
		"map @ports\`, a stateful forward chain."
	echo "\"N other ports\": N more published ports, N/2 on each host address, onto a server" \
		"port nothing listens on; in Docker's"
	echo "chains the measured ports come after them, as the newest container's would. Every" \
		"connection the servers accepted came"
	echo "from the client's own address. Server on CPU $CPU_SRV, client on CPU $CPU_CLI;" \
		"medians of $ROUNDS runs; connections: connrate,"
	echo "${CONN_SECS} s, $CONN_INFLIGHT in flight, as in the outbound section."
	echo
	echo "| published ports | berth | iptables | nftables | berth / iptables | berth / nftables |"
	echo "| --- | ---: | ---: | ---: | ---: | ---: |"
	row3 "TCP RTT p50, µs (sockperf pp --full-rtt; lower is better)" 1 '%.1f' pp50
	row3 "TCP RTT p99, µs" 1 '%.1f' pp99
	row3 "TCP throughput, Gbit/s (iperf3, receiver)" 1 '%.2f' pptp
	for size in $PP_SIZES; do
		row3 "new connections, k/s, $size other ports (higher is better)" 1000 '%.1f' \
			"pcr-$size"
	done
	for size in $PP_SIZES; do
		row3 "connection time p50, µs, $size other ports" 1 '%.0f' "pc50-$size"
	done
	for size in $PP_SIZES; do
		row3 "time to publish one more port, ms, $size other ports (lower is better)" 1 \
			'%.0f' "pmore-$size"
	done
	echo
	echo "| published ports, also seen | berth | iptables | nftables | berth / iptables |" \
		"berth / nftables |"
	echo "| --- | ---: | ---: | ---: | ---: | ---: |"
	echo "| connection rate at the largest size measured / at 0 (each its own; 1 is flat):" \
		"berth at ${V[pmax,berth]:--}, iptables at ${V[pmax,iptables]:--}, nftables at" \
		"${V[pmax,nftables]:--} other ports | ${V[pkeep,berth]} | ${V[pkeep,iptables]} |" \
		"${V[pkeep,nftables]} | | |"
	for size in $PP_SIZES; do
		row3 "connection time p99, µs, $size other ports" 1 '%.0f' "pc99-$size"
	done
	for size in $PP_SIZES; do
		row3 "failed or timed-out connections per run, $size other ports" 1 '%.0f' \
			"pfail-$size"
	done
	for size in $PP_SIZES; do
		row3 "time to load $size other ports, ms (berth up; iptables-restore; nft -f)" 1 \
			'%.0f' "pload-$size"
	done
	echo
	echo "Publishing one more port: berth, one \`berth up\` of the file with one more item" \
		"(the whole command: parse, plan, map"
	echo "writes, the bind hooks' map and the reserved ports); iptables, one \`iptables -t nat -A DOCKER ...\`" \
		"($(iptables -V 2>/dev/null); dockerd makes"
	echo "a second call for the filter ACCEPT rule); nftables, one \`nft add element\`."
	echo "The section took ${V[ptime,all]} s."
}

main() {
	local cmd cpu kernel ncpu out
	local -a raw
	local -A V	# V[metric,datapath]: the figure of every round, space-separated

	[[ $EUID -eq 0 ]] || skip "needs root (namespaces, BPF, iptables in a namespace)"
	case $BENCH_ONLY in
	"") cmd="sockperf bpftool dnsperf dnsmasq nft" ;;
	outbound) cmd="" ;;
	ports) cmd="sockperf nft" ;;
	*) die "BENCH_ONLY=$BENCH_ONLY: want nothing (all), outbound or ports" ;;
	esac
	for cmd in $cmd iperf3 iptables iptables-restore taskset python3 ss nstat timeout; do
		command -v "$cmd" >/dev/null || skip "needs $cmd (make deps installs it)"
	done
	[[ -x $BERTH && -x $PROG_COST && -x $CONNRATE ]] ||
		die "build $BERTH, $PROG_COST and $CONNRATE first (make bench)"
	(($(nproc) >= 2)) || skip "needs 2 CPUs to pin server and client apart"
	[[ $ROUNDS =~ ^[1-9][0-9]?$ ]] || die "ROUNDS=$ROUNDS: want a number from 1 to 99"

	trap cleanup EXIT
	# a signal ends the script through exit, so that cleanup runs (once the foreground
	# command, bounded by LIMIT, is done)
	trap 'exit 130' INT
	trap 'exit 143' TERM
	TMP=$(mktemp -d /tmp/berth-bench.XXXXXX)
	mkdir -p "$BUILD/bench"
	cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
	kernel=$(uname -r)
	ncpu=$(nproc)
	echo "bench: $ncpu CPUs ($cpu), kernel $kernel; server on CPU $CPU_SRV, client on CPU" \
		"$CPU_CLI; $ROUNDS rounds of ${SECS} s figures${BENCH_ONLY:+; $BENCH_ONLY only}"

	[[ -n $BENCH_ONLY ]] || eastwest
	if [[ $BENCH_ONLY != ports ]]; then
		outbound
		# its 1,000 networks go now rather than in cleanup: nothing else is running
		berth_down "$NETS_PROJECT" "$OUT_BERTH_NS"
	fi
	if [[ $BENCH_ONLY != outbound ]]; then
		ports
		berth_down "$PP_PROJECT" "$PP_BERTH_NS"
	fi
	[[ -n $BENCH_ONLY ]] || measure_prog_cost

	out="$BUILD/bench/results.md"
	{
		echo "# berth bench"
		echo
		echo "$(date -u +%Y-%m-%dT%H:%M:%SZ): $ncpu CPUs, $cpu, kernel" \
			"$kernel.${BENCH_ONLY:+ Only the $BENCH_ONLY figures (BENCH_ONLY=$BENCH_ONLY).}"
		[[ -n $BENCH_ONLY ]] || report_eastwest
		if [[ $BENCH_ONLY != ports ]]; then
			echo
			report_outbound
		fi
		if [[ $BENCH_ONLY != outbound ]]; then
			echo
			report_ports
		fi
	} >"$out"
	# the tools' own output, for a second look at a figure
	rm -rf "$BUILD/bench/raw"
	mkdir -p "$BUILD/bench/raw"
	shopt -s nullglob
	raw=("$TMP"/lat-* "$TMP"/*.json "$TMP"/dns-*.qps "$TMP"/dns-*.lat "$TMP"/dns-host[s]
		"$TMP"/oconn-* "$TMP"/rules-* "$TMP"/pplat-* "$TMP"/ppconn-*)
	shopt -u nullglob
	((${#raw[@]} == 0)) || cp "${raw[@]}" "$BUILD/bench/raw/"
	[[ -z ${COST_OUT:-} ]] || printf '%s\n' "$COST_OUT" >"$BUILD/bench/raw/prog_cost.tsv"
	echo
	cat "$out"
	echo
	echo "bench: written to $out (the tools' output in $BUILD/bench/raw/)"
}

main "$@"
