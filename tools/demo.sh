#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# make demo: berth on a bundled example from the exercise, in a throwaway host
# namespace so the machine's own network is never touched.
#
#   outside namespace berth-demo-PID-out: 198.51.100.1, a web server
#     │ veth (the uplink, up0 198.51.100.2 in the host namespace)
#   host namespace berth-demo-PID (the instance)
#     ├─ frontend: nginx (publishes 80:80), api   (pings work; out through the uplink)
#     └─ backend (internal): api, db              (api reaches db; nginx cannot; db never out)
set -euo pipefail

cd "$(dirname "$0")/.."
BERTH=${BERTH:-build/berth}
FILE=examples/part3.1-frontend-backend/compose.yml
HOST=berth-demo-$$
OUT=berth-demo-$$-out
P=demo$$
SERVER_PID=""

cleanup() {
	[[ -n $SERVER_PID ]] && kill "$SERVER_PID" 2>/dev/null || true
	"$BERTH" down -p "$P" --host-netns "$HOST" >/dev/null 2>&1 || true
	ip netns del "$HOST" 2>/dev/null || true
	ip netns del "$OUT" 2>/dev/null || true
	rm -rf "${WWW:-}"
}
trap cleanup EXIT

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }

ip netns add "$HOST"
ip netns add "$OUT"
ip -n "$HOST" link set lo up
ip -n "$OUT" link set lo up
ip -n "$HOST" link add up0 type veth peer name eth0 netns "$OUT"
ip -n "$HOST" addr add 198.51.100.2/24 dev up0
ip -n "$HOST" link set up0 up
ip -n "$OUT" addr add 198.51.100.1/24 dev eth0
ip -n "$OUT" link set eth0 up
ip -n "$HOST" route add default via 198.51.100.1
# the outside's web server, which logs who it sees
WWW=$(mktemp -d)
echo "hello from outside" >"$WWW/index.html"
timeout 120 ip netns exec "$OUT" python3 -m http.server 8000 --bind 198.51.100.1 \
	--directory "$WWW" >"$WWW/log" 2>&1 &
SERVER_PID=$!

say "the model berth makes of $FILE"
run "$BERTH" config -f "$FILE" -p "$P" | sed -n '1,/^services:/p' | head -n 30

say "berth up (instance: host namespace $HOST, uplink up0)"
run "$BERTH" up -f "$FILE" -p "$P" --host-netns "$HOST" --uplink up0 --dns 198.51.100.1

say "endpoints"
"$BERTH" ps -p "$P" --json | python3 -c '
import json, sys
for e in json.load(sys.stdin):
    nets = ", ".join("%s=%s (%s)" % (n["key"], n["ipv4"], n["interface"]) for n in e["networks"])
    print("  %-28s %s" % (e["namespace"], nets))'

addr() { "$BERTH" ps -p "$P" --json | python3 -c '
import json, sys
svc, key = sys.argv[1], sys.argv[2]
for e in json.load(sys.stdin):
    for n in e["networks"]:
        if e["service"] == svc and n["key"] == key: print(n["ipv4"])' "$1" "$2"; }

api_front=$(addr api frontend)
db_back=$(addr db backend)

say "names: berth's DNS at 127.0.0.11 in every endpoint, scoped per network"
run "$BERTH" exec -p "$P" nginx -- getent hosts api
run "$BERTH" exec -p "$P" api -- getent hosts db
if "$BERTH" exec -p "$P" nginx -- getent hosts db; then
	echo "unexpected: nginx resolved db, which is on backend only"; exit 1
else
	echo "(nginx cannot resolve db: it is not on backend)"
fi

say "nginx -> api over frontend: works"
run "$BERTH" exec -p "$P" nginx -- ping -c 2 -W 1 "$api_front"

say "api -> db over backend: works"
run "$BERTH" exec -p "$P" api -- ping -c 2 -W 1 "$db_back"

say "nginx -> db: different networks, dropped by BPF"
if "$BERTH" exec -p "$P" nginx -- ping -c 2 -W 1 "$db_back"; then
	echo "unexpected: nginx reached db"; exit 1
fi

say "api -> the outside's web server: masqueraded to the uplink's address"
run "$BERTH" exec -p "$P" api -- curl -s -m 5 http://198.51.100.1:8000/
echo "the server saw: $(grep -o '^[0-9.]* ' "$WWW/log" | sort -u | tr -d ' ' | paste -sd ' ')"

say "db -> outside: backend is internal, no way out"
if "$BERTH" exec -p "$P" db -- curl -s -m 2 http://198.51.100.1:8000/ >/dev/null; then
	echo "unexpected: db reached the outside"; exit 1
else
	echo "(db has no way out)"
fi

say "the outside -> nginx's published port 80, translated by the uplink's program"
for _ in $(seq 1 50); do	# nginx's stand-in server may still be starting
	ip netns exec "$OUT" curl -s -m 1 -o /dev/null http://198.51.100.2:80/ && break
	sleep 0.2
done
run ip netns exec "$OUT" curl -s -m 5 -o /dev/null -w "HTTP %{http_code}\n" http://198.51.100.2:80/
"$BERTH" logs -p "$P" nginx | tail -n 1
echo "(nginx saw the outside client's own address: no proxy)"

say "the host -> 127.0.0.1:80: cgroup socket programs send it to nginx"
run ip netns exec "$HOST" curl -s -m 5 -o /dev/null -w "HTTP %{http_code}\n" http://127.0.0.1:80/
run "$BERTH" port -p "$P" nginx

say "berth stats: verdicts by reason, conntrack and NAT fill"
"$BERTH" stats -p "$P" --json | python3 -c '
import json, sys
d = json.load(sys.stdin)
for r, v in sorted(d["total"].items()): print("  %-22s %d packets" % (r, v["packets"]))
for t in ("conntrack", "nat"): print("  %-22s %d of %d" % (t, d[t]["entries"], d[t]["max"]))'

say "verdict counters (bpftool map dump pinned /sys/fs/bpf/berth/$HOST/berth_cnt_v1)"
bpftool map dump pinned "/sys/fs/bpf/berth/$HOST/berth_cnt_v1" -j | python3 -c '
import json, sys
names = {1: "forward", 2: "arp-reply", 3: "to-host", 4: "arp-to-host", 5: "snat",
         6: "reply-nat", 10: "published-in", 11: "published-reply", 72: "drop-isolation",
         73: "drop-internal", 71: "drop-no-fdb", 74: "drop-broadcast", 75: "drop-ethertype"}
tot = {}
for e in json.load(sys.stdin):
    k = e["formatted"]["key"]; r = k["reason"]
    pk = sum(v["value"]["packets"] for v in e["formatted"]["values"])
    tot[r] = tot.get(r, 0) + pk
for r in sorted(tot): print("  %-16s %d packets" % (names.get(r, "reason %d" % r), tot[r]))'

say "berth down"
run "$BERTH" down -p "$P" --host-netns "$HOST"
echo "left behind: $(ip netns list | grep -c "^$P-" || true) namespaces"
kill "$SERVER_PID" 2>/dev/null || true
wait "$SERVER_PID" 2>/dev/null || true
SERVER_PID=""
