#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# make demo: berth on a bundled example from the exercise, in a throwaway host
# namespace so the machine's own network is never touched.
#
#   host namespace berth-demo-PID (the instance)
#     ├─ frontend: nginx, api        (172.x: pings work)
#     └─ backend (internal): api, db (api reaches db; nginx cannot)
set -euo pipefail

cd "$(dirname "$0")/.."
BERTH=${BERTH:-build/berth}
FILE=examples/part3.1-frontend-backend/compose.yml
HOST=berth-demo-$$
P=demo$$

cleanup() {
	"$BERTH" down -p "$P" --host-netns "$HOST" >/dev/null 2>&1 || true
	ip netns del "$HOST" 2>/dev/null || true
}
trap cleanup EXIT

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }

ip netns add "$HOST"
ip -n "$HOST" link set lo up

say "the model berth makes of $FILE"
run "$BERTH" config -f "$FILE" -p "$P" | sed -n '1,/^services:/p' | head -n 30

say "berth up (instance: host namespace $HOST)"
run "$BERTH" up -f "$FILE" -p "$P" --host-netns "$HOST"

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

say "verdict counters (bpftool map dump pinned /sys/fs/bpf/berth/$HOST/berth_cnt_v1)"
bpftool map dump pinned "/sys/fs/bpf/berth/$HOST/berth_cnt_v1" -j | python3 -c '
import json, sys
names = {1: "forward", 2: "arp-reply", 3: "to-host", 4: "arp-to-host", 72: "drop-isolation",
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
