#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# make bench: berth's east-west datapath against a Linux bridge as Docker builds it,
# on one throwaway topology, then the endpoint program's per-packet cost.
#
#   berth: berth up --host-netns berth-bench-$$    bridge: netns brbench-$$, as dockerd makes one
#
#   bench$$-cli-1        bench$$-srv-1              brbench-$$-cli     brbench-$$-srv
#   eth0 10.213.0.y      eth0 10.213.0.x            eth0 10.214.0.3    eth0 10.214.0.2
#     │ veth               ▲                          │ veth               │ veth
#   bth… tc ingress ───────┘ bpf_redirect_peer        vcli ──── br0 ──── vsrv
#   (and back the same way from srv's bth…)           br0 10.214.0.1/24, ip_forward=1, Docker's
#                                                     iptables: FORWARD, DOCKER-USER, DOCKER,
#                                                     DOCKER-ISOLATION-STAGE-1/2, nat MASQUERADE
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
# Nothing outside the namespaces above is touched: the bridge, its addresses, the
# sysctls and every iptables rule live in brbench-$$ and go with it; the upstream's link,
# its addresses and ip_forward live in berth-bench-$$ and dnsbench-$$. Run as root from
# make bench (BUILD=build). ROUNDS=N (default 3) runs every figure N times and reports
# the median. DEBUG=1 stops before cleanup to look around.
# Prints the table and writes it, with the machine and the method, to $BUILD/bench/results.md;
# the tools' raw output goes to $BUILD/bench/raw/.
set -euo pipefail

readonly KSFT_SKIP=4
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
readonly BERTH="$BUILD/berth" PROG_COST="$BUILD/bench/prog_cost"
readonly SECS=5				# per figure: steady state, and make bench under 2 minutes
readonly ROUNDS=${ROUNDS:-3}		# figures are medians of this many runs: the VM is noisy
readonly LIMIT=$((SECS + 20))		# no client or server outlives this
readonly CPU_SRV=1 CPU_CLI=0
readonly PORT_LAT=11111 PORT_IPERF=5201
readonly DNS_SECS=2 DNS_LAT_SECS=1	# per DNS figure: a run at full speed, one at DNS_QPS
readonly DNS_QPS=10000			# the latency's fixed rate: under every server's maximum
readonly DNS_CLIENTS=4 DNS_PORT=5353	# dnsperf's sockets; dnsmasq's port in cli
readonly CPU_UP=$CPU_CLI			# the upstream: the server under test keeps CPU 1 to itself

readonly PROJECT="bench$$"
readonly BERTH_NS="berth-bench-$$"
readonly BR_NS="brbench-$$"
readonly BR_SRV="brbench-$$-srv" BR_CLI="brbench-$$-cli"
readonly BR_SUBNET=10.214.0.0/24 BR_GW=10.214.0.1 BR_IP_SRV=10.214.0.2 BR_IP_CLI=10.214.0.3
readonly BERTH_SUBNET=10.213.0.0/24
readonly DNS_NS="dnsbench-$$" DNS_HOST_IP=10.215.0.1 DNS_UP_IP=10.215.0.2

TMP=""
BERTH_IP_SRV="" BERTH_NS_SRV="" BERTH_IP_CLI="" BERTH_NS_CLI="" BR_NF=""
RESULT="" JSON="" SERVER="" ROUND=0
AGENT_PID="" DNSMASQ_VER=""
EP_ARGV=()
NETNS_MADE=()		# namespaces this script added, deleted on exit
SERVERS=()		# pids of the servers this script started
BERTH_UP=0

skip() { echo "SKIP bench: $*"; exit "$KSFT_SKIP"; }
die() { echo "bench: $*" >&2; exit 1; }

cleanup() {
	local rc=$? pid ns

	set +e
	if [[ "${DEBUG:-0}" == 1 ]]; then
		echo "DEBUG: namespaces ${NETNS_MADE[*]} (and $PROJECT-*), files $TMP"
		read -r -p "DEBUG: press Enter to clean up " _ || true
	fi
	# Only what this script started, by pid.
	for pid in "${SERVERS[@]}"; do
		kill -TERM "$pid" 2>/dev/null
	done
	for pid in "${SERVERS[@]}"; do
		wait_pid 3 "$pid" || kill -KILL "$pid" 2>/dev/null
	done
	if ((BERTH_UP)); then
		"$BERTH" down -p "$PROJECT" --host-netns "$BERTH_NS" >"$TMP/down.log" 2>&1 ||
			{ echo "bench: berth down failed:"; cat "$TMP/down.log"; }
	fi
	# berth names endpoint namespaces after the project: anything left is ours
	for ns in /run/netns/"$PROJECT"-*; do
		[[ -e "$ns" ]] || continue
		echo "bench: berth left $ns behind; deleting it"
		ip netns del "${ns##*/}"
		rm -rf "/etc/netns/${ns##*/}"
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
	BERTH_UP=1
	"$BERTH" up -f "$TMP/compose.yml" -p "$PROJECT" --host-netns "$BERTH_NS" \
		--dns "$DNS_UP_IP" >"$TMP/up.log" 2>&1 || { cat "$TMP/up.log"; die "berth up failed"; }
	"$BERTH" ps -p "$PROJECT" --host-netns "$BERTH_NS" --json >"$TMP/ps.json"
	read -r BERTH_IP_SRV BERTH_NS_SRV BERTH_IP_CLI BERTH_NS_CLI < <(python3 -c '
import json, sys
eps = {e["service"]: e for e in json.load(open(sys.argv[1]))}
print(" ".join(e["networks"][0]["ipv4"] + " " + e["namespace"] for e in (eps["srv"], eps["cli"])))
' "$TMP/ps.json")
}

# A bridge network as dockerd makes one (libnetwork's bridge driver, iptables backend).
bridge_setup() {
	local role ip mac

	netns_add "$BR_NS"
	netns_add "$BR_SRV"
	netns_add "$BR_CLI"
	ip -n "$BR_NS" link set lo up
	ip -n "$BR_NS" link add br0 type bridge
	ip -n "$BR_NS" addr add "$BR_GW/24" dev br0
	ip -n "$BR_NS" link set br0 up
	ip netns exec "$BR_NS" sysctl -qw net.ipv4.ip_forward=1
	for role in srv cli; do
		if [[ $role == srv ]]; then ip=$BR_IP_SRV; else ip=$BR_IP_CLI; fi
		# Docker's MAC: 02:42 and the address
		mac=$(printf '02:42:%02x:%02x:%02x:%02x' ${ip//./ })
		ip -n "$BR_NS" link add "v$role" type veth peer name eth0 netns "brbench-$$-$role"
		ip -n "$BR_NS" link set "v$role" master br0 up
		ip -n "brbench-$$-$role" link set lo up
		ip -n "brbench-$$-$role" link set eth0 address "$mac" up
		ip -n "brbench-$$-$role" addr add "$ip/24" dev eth0
		ip -n "brbench-$$-$role" route add default via "$BR_GW"
		# as in berth's endpoints (and Docker's on a network without IPv6)
		ip netns exec "brbench-$$-$role" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
			net.ipv6.conf.default.disable_ipv6=1
	done

	ipt() { ip netns exec "$BR_NS" iptables -w "$@"; }
	ipt -t nat -N DOCKER
	ipt -t nat -A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER
	ipt -t nat -A OUTPUT ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j DOCKER
	ipt -t nat -A POSTROUTING -s "$BR_SUBNET" ! -o br0 -j MASQUERADE
	ipt -t nat -A DOCKER -i br0 -j RETURN
	ipt -N DOCKER
	ipt -N DOCKER-ISOLATION-STAGE-1
	ipt -N DOCKER-ISOLATION-STAGE-2
	ipt -N DOCKER-USER
	ipt -P FORWARD DROP
	ipt -A FORWARD -j DOCKER-USER
	ipt -A FORWARD -j DOCKER-ISOLATION-STAGE-1
	ipt -A FORWARD -o br0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
	ipt -A FORWARD -o br0 -j DOCKER
	ipt -A FORWARD -i br0 ! -o br0 -j ACCEPT
	ipt -A FORWARD -i br0 -o br0 -j ACCEPT
	ipt -A DOCKER-ISOLATION-STAGE-1 -i br0 ! -o br0 -j DOCKER-ISOLATION-STAGE-2
	ipt -A DOCKER-ISOLATION-STAGE-1 -j RETURN
	ipt -A DOCKER-ISOLATION-STAGE-2 -o br0 -j DROP
	ipt -A DOCKER-ISOLATION-STAGE-2 -j RETURN
	ipt -A DOCKER-USER -j RETURN
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
	# --full-rtt: the percentiles are whole round trips, not sockperf's default RTT/2
	RESULT=$(sed 's/\x1b\[[0-9;]*m//g' "$log.cli" | awk '
		/percentile 50.000 =/ { p50 = $NF }
		/percentile 99.000 =/ { p99 = $NF }
		/avg-rtt=/ { sub(/.*avg-rtt=/, ""); sub(/ .*/, ""); avg = $0 }
		END { if (p50 == "" || p99 == "") exit 1; print p50, p99, avg }') ||
		{ cat "$log.cli"; die "$dp: no percentiles in sockperf's output"; }
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
	ip netns exec "$BR_NS" iptables -w -t filter -L FORWARD -v -x -n |
		awk '$3 == "ACCEPT" { n += $1 } END { print n + 0 }'
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

# ---- report -----------------------------------------------------------------------------

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }

# summary SCALE FORMAT VALUES...: "median (min–max)", each value divided by SCALE
summary() {
	local scale=$1 fmt=$2

	shift 2
	printf '%s\n' "$@" | sort -g | awk -v s="$scale" -v f="$fmt" '
		{ v[NR] = $1 / s }
		END {
			m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
			if (NR == 1) printf f, m
			else printf f " (" f "–" f ")", m, v[1], v[NR]
		}'
}

median() { summary 1 '%.6g' "$@" | cut -d' ' -f1; }

# row NAME SCALE FORMAT KEY [OTHER]: one table row, the ratio of the medians; berth against
# OTHER (default bridge)
row() {
	local name=$1 scale=$2 fmt=$3 key=$4 other=${5:-bridge} b r

	read -ra b <<<"${V[$key,berth]}"
	read -ra r <<<"${V[$key,$other]}"
	echo "| $name | $(summary "$scale" "$fmt" "${b[@]}") |" \
		"$(summary "$scale" "$fmt" "${r[@]}") |" \
		"$(ratio "$(median "${b[@]}")" "$(median "${r[@]}")") |"
}

main() {
	local dp cmd cpu kernel ncpu cost_out out a b c d order kind
	local -A V	# V[metric,datapath]: the figure of every round, space-separated

	[[ $EUID -eq 0 ]] || skip "needs root (namespaces, BPF, iptables in a namespace)"
	for cmd in sockperf iperf3 iptables taskset python3 bpftool ss timeout dnsperf dnsmasq; do
		command -v "$cmd" >/dev/null || skip "needs $cmd (make deps installs it)"
	done
	[[ -x $BERTH && -x $PROG_COST ]] || die "build $BERTH and $PROG_COST first (make bench)"
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
		"$CPU_CLI; $ROUNDS rounds of ${SECS} s figures"

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

	echo "bench: endpoint program cost (BPF_PROG_TEST_RUN) ..."
	cost_out=$(taskset -c "$CPU_SRV" "$PROG_COST" 1000000 200000) || die "prog_cost failed"
	COST_UNI=$(awk -F'\t' '$1 == "unicast" && $2 == "repeat-loop" { print $4 }' <<<"$cost_out")
	COST_UNI1=$(awk -F'\t' '$1 == "unicast" && $2 == "single-runs" { print $4 }' <<<"$cost_out")
	COST_ARP1=$(awk -F'\t' '$1 == "arp" && $2 == "single-runs" { print $4 }' <<<"$cost_out")
	COST_ARP=$(awk -F'\t' '$1 == "arp" && $2 == "corrected" { print $4 }' <<<"$cost_out")

	out="$BUILD/bench/results.md"
	{
		echo "# berth bench"
		echo
		echo "$(date -u +%Y-%m-%dT%H:%M:%SZ): $ncpu CPUs, $cpu, kernel $kernel."
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
		row "frames forwarded (berth: PASS_FORWARD; bridge: FORWARD ACCEPT)" 1 '%.0f' fwd
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
	} >"$out"
	# the tools' own output, for a second look at a figure
	rm -rf "$BUILD/bench/raw"
	mkdir -p "$BUILD/bench/raw"
	cp "$TMP"/lat-* "$TMP"/*.json "$TMP"/dns-*.qps "$TMP"/dns-*.lat "$TMP"/dns-hosts "$BUILD/bench/raw/"
	printf '%s\n' "$cost_out" >"$BUILD/bench/raw/prog_cost.tsv"
	echo
	cat "$out"
	echo
	echo "bench: written to $out (the tools' output in $BUILD/bench/raw/)"
}

main "$@"
