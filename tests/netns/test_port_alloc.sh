#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Published ports as `up` decides them, without traffic: berth_port_v1's
# entries, `berth port`, random ports kept across ups and held (no bind takes
# them, the kernel picks none for an outgoing socket), the conflicts refused
# before anything changes, and the flows of a port that is repointed or
# removed cleared at once.
#
#   berth-t-PID-p (host namespace of the instance, lo up: 127.0.0.1 exists)
#   +---------------------------------------------------------------------+
#   | bind4/bind6 hooks: EADDRINUSE on every published host ip:port:proto |
#   | net.ipv4.ip_local_reserved_ports: every published port              |
#   | berth_port_v1: host ip:port:proto → replica 1 on its first network  |
#   |                that is not internal                                  |
#   +-----+-------------------+---------------------------------------------+
#         |                   |
#   [ tPID-P-web-1,2 ]  [ tPID-P-api-1 ]   (no traffic: the BPF side has its own tests)
#
# Run as root: tests/netns/test_port_alloc.sh  (DEBUG=1 stops after a failure)
set -euo pipefail
source "$(dirname "$0")/lib.sh"

H="berth-t-$$-p"

# hp ARGS...: berth on this script's instance
hp() { berth --host-netns "$H" "$@"; }

# bind6_fails ADDR6 PORT: a dual-stack TCP socket cannot bind [ADDR6]:PORT (EADDRINUSE)
bind6_fails() {
	nsenter --net="/run/netns/$H" "$PY" - "$@" <<'EOF'
import socket, sys
a, p = sys.argv[1], int(sys.argv[2])
s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
try:
    s.bind((a, p))
except OSError as e:
    sys.exit(0 if e.errno == 98 else f"[{a}]:{p}: {e}")
print(f"[{a}]:{p} could be bound")
sys.exit(1)
EOF
}

# HOST_RESERVED: the host's own reservations in the held test, longer than a page of text
# (5999 and the odd ports 20001-21999), as the sysctl prints them
HOST_RESERVED="5999,$(seq -s, 20001 2 21999)"

# reserved_plus PORT...: HOST_RESERVED with PORT... added, as the sysctl prints it
reserved_plus() {
	"$PY" -c '
import sys
ports = {int(p) for p in sys.argv[1].split(",")} | {int(p) for p in sys.argv[2:]}
out, run = [], None
for p in sorted(ports):
    if run and p == run[1] + 1:
        run[1] = p
    else:
        run = [p, p]; out.append(run)
print(",".join(str(a) if a == b else f"{a}-{b}" for a, b in out))' "$HOST_RESERVED" "$@"
}

# reserved: the instance namespace's net.ipv4.ip_local_reserved_ports
reserved() { ip netns exec "$H" cat /proc/sys/net/ipv4/ip_local_reserved_ports; }

# autobind_ports PROTO N: the local port the kernel picks for N sockets, one after the other
# (UDP: an unbound socket's sendto; TCP: a connect to a listener of this script's, closed
# with a RST so that no TIME_WAIT keeps the port)
autobind_ports() {
	nsenter --net="/run/netns/$H" "$PY" - "$@" <<'EOF'
import socket, struct, sys
proto, n = sys.argv[1], int(sys.argv[2])
srv = None
if proto == "tcp":
    srv = socket.socket(); srv.bind(("127.0.0.1", 5005)); srv.listen(16)
ports = []
for _ in range(n):
    if proto == "udp":
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.sendto(b"x", ("127.0.0.1", 9))
    else:
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.connect(srv.getsockname()); srv.accept()[0].close()
    ports.append(str(s.getsockname()[1])); s.close()
print(" ".join(ports))
EOF
}

# ports_ns: a host namespace of the test's own with lo up (127.0.0.1 bindings need it)
ports_ns() {
	ip netns add "$H"
	ns_track "$H"
	ip -n "$H" link set lo up
}

# port_map: berth_port_v1 decoded, one line per entry, sorted:
# "ADDR PORT PROTO -> BACKEND_IP BACKEND_PORT ifindex IFINDEX slot SLOT"
port_map() {
	nsenter --net="/run/netns/$H" bpftool -j map dump pinned "/sys/fs/bpf/berth/$H/berth_port_v1" |
		"$PY" -c '
import json, socket, struct, sys
for e in json.load(sys.stdin):
    k = bytes(int(x, 16) for x in e["key"]); v = bytes(int(x, 16) for x in e["value"])
    a, p, pr, _ = struct.unpack("!4sHBB", k)
    bi, bp, _, ifi, sl = struct.unpack("!4sHH4s4s", v)
    print(socket.inet_ntoa(a), p, pr, "->", socket.inet_ntoa(bi), bp,
          "ifindex", struct.unpack("<I", ifi)[0], "slot", struct.unpack("<I", sl)[0])' | sort
}

# state_map PROJECT: the same lines from state.json (ports, and the backends' interfaces);
# an entry is a run of "count" bindings (one without it), each port one further
state_map() {
	"$PY" - "/run/berth/$H/state.json" "$1" <<'EOF'
import json, sys
p = json.load(open(sys.argv[1]))["projects"][sys.argv[2]]
ifs = {(e["name"], f["network"]): f for e in p["endpoints"] for f in e["interfaces"]}
for b in p.get("ports", []):
    f = ifs[(b["endpoint"], b["network"])]
    for i in range(b.get("count", 1)):
        print(b["host_ip"], b["host_port"] + i, 17 if b["protocol"] == "udp" else 6, "->",
              f["ipv4"], b["target"] + i, "ifindex", f["host_ifindex"], "slot", f["slot"])
EOF
}

# bind_fails ADDR PORT PROTO: no other socket of the instance's namespace can bind it
# (with SO_REUSEADDR, as servers do)
bind_fails() {
	nsenter --net="/run/netns/$H" "$PY" - "$@" <<'EOF'
import socket, sys
a, p, proto = sys.argv[1], int(sys.argv[2]), sys.argv[3]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM if proto == "udp" else socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
try:
    s.bind((a, p))
except OSError:
    sys.exit(0)
print(f"{a}:{p}/{proto} could be bound")
sys.exit(1)
EOF
}

every_form() {
	cat <<EOF
name: $1
services:
  web:
    ports:
      - "8080:80"
      - "127.0.0.1:8081:80"
      - "80"
      - "9090-9091:8080-8081"
      - "8000-9000:81"
      - "6060:6060/udp"
      - target: 443
        published: "8443"
        host_ip: 127.0.0.1
        protocol: tcp
        mode: host
    expose: ["3000"]
    deploy: {replicas: 2}
    networks: [back, front]
  api:
    ports:
      - target: 5000
    networks: [front]
networks:
  back: {internal: true}
  front: {}
EOF
}

# Every form: the map holds what the state says, at replica 1's interface on its first
# network that is not internal; berth port prints it like docker port.
test_every_form() {
	local p=t$$-forms f out web1

	command -v bpftool >/dev/null || skip_test "needs bpftool"
	ports_ns
	f=$(every_form "$p" | compose forms)
	up_project "$p" "$f" "$H"
	out=$(port_map)
	echo "$out"
	expect_eq "9 entries" "$(wc -l <<<"$out")" 9
	expect_eq "the map is the state" "$out" "$(state_map "$p" | sort)"
	web1=$(ep_ip_h "$p" web front)
	expect_eq "every web entry at web-1 on front" \
		"$(grep -v ' 5000 ' <<<"$out" | awk '{ print $5 }' | sort -u)" "$web1"
	expect "0.0.0.0:8080 → 80" grep -qx "0.0.0.0 8080 6 -> $web1 80 .*" <<<"$out"
	expect "127.0.0.1:8081 → 80" grep -qx "127.0.0.1 8081 6 -> $web1 80 .*" <<<"$out"
	expect "ranges port by port" grep -qx "0.0.0.0 9091 6 -> $web1 8081 .*" <<<"$out"
	expect "first free of 8000-9000" grep -qx "0.0.0.0 8000 6 -> $web1 81 .*" <<<"$out"
	expect "udp" grep -qx "0.0.0.0 6060 17 -> $web1 6060 .*" <<<"$out"
	expect "long syntax" grep -qx "127.0.0.1 8443 6 -> $web1 443 .*" <<<"$out"

	out=$(hp -p "$p" port web)
	echo "$out"
	expect "docker port's lines" grep -qx '80/tcp -> 0.0.0.0:8080' <<<"$out"
	expect "udp line" grep -qx '6060/udp -> 0.0.0.0:6060' <<<"$out"
	expect_eq "8 bindings of web" "$(wc -l <<<"$out")" 8
	expect_eq "port web 6060/udp" "$(hp -p "$p" port web 6060/udp)" "0.0.0.0:6060"
	expect_eq "replica 2 shares them" "$(hp -p "$p" port web.2 | wc -l)" 8
	out=$(hp -p "$p" port api --json)
	expect_eq "api's random port from ip_local_port_range" \
		"$(py 'int(d[0]["host_port"]) >= 1024 and d[0]["random"] and d[0]["target"] == "5000"' <<<"$out")" True
	expect_fail "an unknown service" hp -p "$p" port nosuch
	expect_fail "a port not published" hp -p "$p" port web 81/udp
	expect_eq "ps shows web-1's ports" \
		"$(ps_json "$p" "$H" | py '" ".join(str("ports" in e) for e in d)')" "True False True"
}

# ep_ip_h PROJECT SERVICE NETKEY: the endpoint's address on NETKEY, in this script's instance
ep_ip_h() {
	ps_json "$1" "$H" | py "[n['ipv4'] for e in d if e['service'] == '$2' and e['replica'] == 1 for n in e['networks'] if n['key'] == '$3'][0]"
}

# A random port stays across ups, is held (no other bind takes it, nor the kernel for an
# outgoing socket), and is let go when its item goes; the host's own reserved ports stay.
test_sticky_and_held() {
	local p=t$$-held f f2 r1 r2

	ports_ns
	ip netns exec "$H" sh -c "echo $HOST_RESERVED >/proc/sys/net/ipv4/ip_local_reserved_ports"
	expect_eq "the host's list, longer than a page" "$(reserved)" "$HOST_RESERVED"
	f=$(printf 'name: %s\nservices:\n  web:\n    ports: ["80", "7070:80", "7071:81/udp"]\n' "$p" |
		compose held)
	up_project "$p" "$f" "$H"
	r1=$(hp -p "$p" port web 80 | grep -v ':7070$')
	echo "random: $r1"
	hp -p "$p" up -f "$f" >"$TMP/held.out" 2>&1
	cat "$TMP/held.out"
	expect "the second up changes nothing" grep -q "is up" "$TMP/held.out"
	expect_fail "a step of the second up" grep -q '^berth: \[' "$TMP/held.out"
	r2=$(hp -p "$p" port web 80 | grep -v ':7070$')
	expect_eq "the random port is kept" "$r2" "$r1"
	expect "the random port is held" bind_fails 0.0.0.0 "${r1##*:}" tcp
	expect "7070/tcp is held at 127.0.0.1" bind_fails 127.0.0.1 7070 tcp
	expect "7071/udp is held" bind_fails 0.0.0.0 7071 udp
	expect "7070/tcp is held at [::] (dual-stack)" bind6_fails :: 7070
	expect "7070/tcp is held at [::ffff:127.0.0.1]" bind6_fails ::ffff:127.0.0.1 7070
	echo "reserved: $(reserved | cut -c1-200)..."
	expect "the kernel picks none of them" "$PY" -c '
import sys
have = set()
for part in sys.argv[1].split(","):
    lo, _, hi = part.partition("-"); have.update(range(int(lo), int(hi or lo) + 1))
want = {5999, 7070, 7071, int(sys.argv[2])} | set(range(20001, 22000, 2))
sys.exit(0 if want <= have else 1)' "$(reserved)" "${r1##*:}"
	expect_eq "no socket holds them" \
		"$(ip netns exec "$H" ss -Htanu state all | grep -cE ':(7070|7071) ' || true)" 0
	# another project cannot take them either
	f2=$(printf 'name: %s-b\nservices:\n  x:\n    ports: ["127.0.0.1:%s:80"]\n' "$p" "${r1##*:}" |
		compose held2)
	project_track "$p-b" "$H"
	expect_fail "another project on the random port" hp -p "$p-b" up -f "$f2"
	# the item goes: the port is free again once the agent has read the state
	printf 'name: %s\nservices:\n  web:\n    ports: ["7070:80"]\n' "$p" >"$f"
	hp -p "$p" up -f "$f"
	expect "7071/udp is let go" wait_until 5 expect_fail "7071/udp held" bind_fails 0.0.0.0 7071 udp
	expect "the random port is let go" \
		wait_until 5 expect_fail "random held" bind_fails 0.0.0.0 "${r1##*:}" tcp
	expect "7070/tcp still held" bind_fails 0.0.0.0 7070 tcp
	expect_eq "reserved: the host's and 7070" "$(reserved)" "$(reserved_plus 7070)"
	printf 'name: %s\nservices:\n  web:\n    ports: ["7070:80", "7073:83"]\n' "$p" >"$f"
	hp -p "$p" up -f "$f"
	expect_eq "reserved: one more" "$(reserved)" "$(reserved_plus 7070 7073)"
	berth --host-netns "$H" -p "$p" down
	expect_eq "down: the host's alone" "$(reserved)" "$HOST_RESERVED"
	expect_fail "7070/tcp held after down" bind_fails 0.0.0.0 7070 tcp
}

# The kernel's own picks go around published ports: with ip_local_port_range 40000-40001 and
# 40000 published (TCP and UDP), every outgoing socket of the host gets 40001.
test_autobind_avoids() {
	local p=t$$-auto f

	ports_ns
	ip netns exec "$H" sysctl -qw net.ipv4.ip_local_port_range="40000 40001"
	f=$(printf 'name: %s
services:
  web:
    ports: ["40000:80", "40000:80/udp"]
' "$p" |
		compose auto)
	up_project "$p" "$f" "$H"
	expect_eq "UDP sockets, one after the other" "$(autobind_ports udp 6)" \
		"40001 40001 40001 40001 40001 40001"
	expect_eq "TCP connections, one after the other" "$(autobind_ports tcp 6)" \
		"40001 40001 40001 40001 40001 40001"
}

# Conflicts: each one line FILE:L:C, exit 1, before anything is made.
test_conflicts() {
	local p=t$$-clash f g rc=0

	ports_ns
	f=$(printf 'name: %s\nservices:\n  web:\n    ports: ["8080:80", "8000:81", "6060:6060/udp"]\n' "$p" |
		compose clash)
	up_project "$p" "$f" "$H"
	# another process on 7070, and on 8001 of 8000-8001
	spawn_in "$H" 60 "$TMP/squat.out" "$PY" -c '
import socket, time
s = socket.socket(); s.bind(("0.0.0.0", 7070)); s.listen()
t = socket.socket(); t.bind(("127.0.0.1", 8001)); t.listen()
print("ready", flush=True); time.sleep(60)'
	expect "the squatter" wait_until 5 log_has "$TMP/squat.out" '^ready$'
	g=$(cat <<EOF | compose clash2
name: $p-b
services:
  x:
    ports:
      - "7070:80"
      - "127.0.0.1:8080:80"
      - "8000-8001:81"
      - "10.99.99.99:7071:80"
      - "6060:6060/udp"
      - "7070:80/udp"
EOF
)
	project_track "$p-b" "$H"
	hp -p "$p-b" up -f "$g" >"$TMP/clash.out" 2>&1 || rc=$?
	cat "$TMP/clash.out"
	expect_eq "exit code" "$rc" 1
	expect "a process's port" grep -qF "$g:5:9: error: service x: host port 0.0.0.0:7070/tcp is in use by another process on instance $H" "$TMP/clash.out"
	expect "0.0.0.0 of another project against one address" grep -qF "$g:6:9: error: service x: host port 127.0.0.1:8080/tcp is already published by project $p (service web)" "$TMP/clash.out"
	expect "a range too small" grep -qF "$g:7:9: error: service x: no free host port in 0.0.0.0:8000-8001/tcp for 81" "$TMP/clash.out"
	expect "an address the host lacks" grep -qF "$g:8:9: error: service x: host address 10.99.99.99 is not an address of instance $H" "$TMP/clash.out"
	expect "udp of another project" grep -qF "$g:9:9: error: service x: host port 0.0.0.0:6060/udp is already published by project $p" "$TMP/clash.out"
	expect_fail "7070/udp is free" grep -q ':10:9:' "$TMP/clash.out"
	expect_fail "a step was taken" grep -q '^berth: \[' "$TMP/clash.out"
	expect_eq "no namespace of $p-b" "$(ip netns list | grep -c "^$p-b-" || true)" 0
	expect_fail "$p-b registered" grep -q "\"$p-b\"" /run/berth/registry.json
}

# A port the project moves to another address is tested against the host's sockets there:
# a process on 127.0.0.2:7072 (allowed while only 127.0.0.1:7072 is published) makes the
# move to 0.0.0.0:7072 an error, and the old binding stays.
test_moved_port() {
	local p=t$$-move f rc=0

	ports_ns
	f=$(printf 'name: %s
services:
  web:
    ports: ["127.0.0.1:7072:80"]
' "$p" | compose move)
	up_project "$p" "$f" "$H"
	expect "127.0.0.1:7072 is held" bind_fails 127.0.0.1 7072 tcp
	spawn_in "$H" 60 "$TMP/move.out" "$PY" -c '
import socket, time
s = socket.socket(); s.bind(("127.0.0.2", 7072)); s.listen()
print("ready", flush=True); time.sleep(60)'
	expect "the process on 127.0.0.2:7072" wait_until 5 log_has "$TMP/move.out" '^ready$'
	sed -i 's/"127.0.0.1:7072:80"/"7072:80"/' "$f"
	hp -p "$p" up -f "$f" >"$TMP/move-up.out" 2>&1 || rc=$?
	cat "$TMP/move-up.out"
	expect_eq "exit code" "$rc" 1
	expect "the process's port" grep -qF "$f:4:13: error: service web: host port 0.0.0.0:7072/tcp is in use by another process on instance $H" "$TMP/move-up.out"
	expect_eq "the old binding stays" "$(hp -p "$p" port web)" "80/tcp -> 127.0.0.1:7072"
}

# A port repointed (another target) or removed: its DNAT flows go at once; others stay.
test_flows_cleared() {
	local p=t$$-flows f m left

	command -v bpftool >/dev/null || skip_test "needs bpftool"
	ports_ns
	f=$(printf 'name: %s\nservices:\n  web:\n    ports: ["8080:80", "9090:90", "6060:6060/udp"]\n' "$p" |
		compose flows)
	up_project "$p" "$f" "$H"
	m=/sys/fs/bpf/berth/$H/berth_ct_v1
	# flows in through 8080/tcp, 9090/tcp and 6060/udp of the uplink address 198.51.100.1
	ct_plant() {	# SPORT_HI SPORT_LO PROTO NATPORT_HI NATPORT_LO
		nsenter --net="/run/netns/$H" bpftool map update pinned "$m" \
			key 192 0 2 1 172 17 0 2 "$1" "$2" 0 80 "$3" 0 0 0 \
			value 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 1 0 0 0 1 0 0 0 \
			198 51 100 1 "$4" "$5" 3 0x40 0 0 0 0
	}
	ct_plant 0x9c 0x40 6 0x1f 0x90
	ct_plant 0x9c 0x41 6 0x23 0x82
	ct_plant 0x9c 0x42 17 0x17 0xac
	sed -i -e 's/"8080:80"/"8080:88"/' -e 's|, "6060:6060/udp"||' "$f"
	hp -p "$p" up -f "$f"
	left=$(nsenter --net="/run/netns/$H" bpftool -j map dump pinned "$m" |
		py '" ".join(str(e["formatted"]["key"]["sport"]) for e in d)')
	echo "flows left (sport as read on this machine): $left"
	expect_eq "only 9090's flow is left" "$left" "$((0x419c))"
}

# state_runs PROJECT: the project's entries of "ports" in state.json, one line each, sorted:
# "PROTO HOST_PORT TARGET COUNT" (COUNT "-" when the entry has none), random ports as "R"
state_runs() {
	"$PY" - "/run/berth/$H/state.json" "$1" <<'EOF' | sort
import json, sys
for b in json.load(open(sys.argv[1]))["projects"][sys.argv[2]].get("ports", []):
    print(b["protocol"], "R" if b["random"] else b["host_port"], b["target"], b.get("count", "-"))
EOF
}

# runs_check PROJECT WHAT N RUNS: state.json has RUNS (printf text, state_runs' lines) and
# berth_port_v1 its N bindings
runs_check() {
	local out

	out=$(state_runs "$1")
	echo "$out"
	expect_eq "$2" "$out" "$(printf '%b' "$4")"
	out=$(port_map)
	expect_eq "$3 map entries" "$(wc -l <<<"$out")" "$3"
	expect_eq "the map is the state" "$out" "$(state_map "$1" | sort)"
}

# A range is one entry of state.json, a run with "count", read back binding by binding by
# everything that reads the state; an up that drops the middle of a run keeps the rest as
# two, and a state from before runs (an entry per binding) still reads the same.
test_runs() {
	local p=t$$-runs f

	command -v bpftool >/dev/null || skip_test "needs bpftool"
	ports_ns
	f=$(printf 'name: %s\nservices:\n  web:\n    ports: ["20000-20999:30000-30999", "21000:31000", "21001:31001/udp", "80"]\n' \
		"$p" | compose runs)
	up_project "$p" "$f" "$H"
	runs_check "$p" "a run across two items, udp and the random port apart" 1003 \
		'tcp 20000 30000 1001\ntcp R 80 -\nudp 21001 31001 -'
	expect_eq "port web 30500" "$(hp -p "$p" port web 30500)" "0.0.0.0:20500"
	expect_eq "port web 31000" "$(hp -p "$p" port web 31000/tcp)" "0.0.0.0:21000"
	expect_eq "berth port lists every binding" "$(hp -p "$p" port web | wc -l)" 1003
	expect_eq "ps lists every binding" \
		"$(ps_json "$p" "$H" | py 'len(d[0]["ports"])')" 1003

	# the middle of the run goes: what is left of it stays, as two runs
	sed -i 's/"20000-20999:30000-30999", "21000:31000"/"20000-20399:30000-30399", "20600-21000:30600-31000"/' "$f"
	hp -p "$p" up -f "$f"
	runs_check "$p" "two runs left" 803 \
		'tcp 20000 30000 400\ntcp 20600 30600 401\ntcp R 80 -\nudp 21001 31001 -'
	expect_fail "20500 is gone" grep -q '^0.0.0.0 20500 ' <<<"$(port_map)"

	# the state as a build before runs wrote it: one entry per binding, no "count"
	"$PY" - "/run/berth/$H/state.json" "$p" <<'EOF'
import json, sys
st = json.load(open(sys.argv[1]))
p = st["projects"][sys.argv[2]]
old = []
for b in p["ports"]:
    for i in range(b.pop("count", 1)):
        old.append(dict(b, host_port=b["host_port"] + i, target=b["target"] + i))
p["ports"] = old
json.dump(st, open(sys.argv[1], "w"))
EOF
	expect_eq "the old state: an entry per binding" "$(state_runs "$p" | wc -l)" 803
	expect_eq "berth port reads it" "$(hp -p "$p" port web 30700)" "0.0.0.0:20700"
	hp -p "$p" up -f "$f" >"$TMP/runs.out" 2>&1
	cat "$TMP/runs.out"
	expect "an up over the old state changes nothing" grep -q "is up" "$TMP/runs.out"
	expect_fail "a step of that up" grep -q '^berth: \[' "$TMP/runs.out"
	expect_eq "the map is the old state" "$(port_map)" "$(state_map "$p" | sort)"
}

netns_setup
run every-form-in-the-map test_every_form
run random-ports-kept-and-held test_sticky_and_held
run autobind-avoids-published-ports test_autobind_avoids
run conflicts-refused-before-anything test_conflicts
run moved-port-tested-at-its-new-address test_moved_port
run repointed-ports-lose-their-flows test_flows_cleared
run ranges-are-runs-in-the-state test_runs
finish
exit "$FAILED"
