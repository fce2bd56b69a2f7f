#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# berth config, end to end through the binary: the bundled examples, every
# compose file of the shared corpus, invalid specs with their file:line:column,
# project naming, default file lookup, .env, --json and -v.
# One line per test: PASS name / FAIL name / SKIP name: reason.
set -uo pipefail

cd "$(dirname "$0")/../.."
BERTH=$PWD/${BUILD:-build}/berth
SHARED=${SHARED:-$(cd .. && pwd)/shared}
PY=/usr/bin/python3
[[ -x $PY ]] || PY=python3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

pass() { echo "PASS $1"; }
fail() { echo "FAIL $1"; shift; [[ $# -gt 0 ]] && printf '  %s\n' "$@"; }

is_json() { "$PY" -c 'import json,sys; json.load(open(sys.argv[1]))' "$1" 2>/dev/null; }
is_yaml() { "$PY" -c 'import yaml,sys; d=yaml.safe_load(open(sys.argv[1])); assert d["name"] and d["networks"] is not None' "$1" 2>/dev/null; }

# 1. every example loads; text is YAML, --json is JSON, and both say the same
for f in examples/*/compose.yml; do
	name=config-example-$(basename "$(dirname "$f")")
	if ! "$BERTH" config -f "$f" >"$tmp/out.yml" 2>"$tmp/err"; then
		fail "$name" "exit $?" "$(cat "$tmp/err")"
	elif ! is_yaml "$tmp/out.yml"; then
		fail "$name" "text output is not YAML"
	elif ! "$BERTH" config --json -f "$f" >"$tmp/out.json" 2>/dev/null || ! is_json "$tmp/out.json"; then
		fail "$name" "--json output is not JSON"
	elif ! "$PY" - "$tmp/out.yml" "$tmp/out.json" <<'PYEOF'
import json, sys, yaml
t = yaml.safe_load(open(sys.argv[1])); j = json.load(open(sys.argv[2]))
def norm(x):
    if isinstance(x, dict): return {k: norm(v) for k, v in x.items() if v is not None}
    if isinstance(x, list): return [norm(v) for v in x]
    return x
assert norm(t) == norm(j), "text and JSON differ"
PYEOF
	then
		fail "$name" "text and --json outputs disagree"
	else
		pass "$name"
	fi
done

# 2. the shared corpus: real compose files berth must accept as they are
if [[ -d $SHARED/corpus ]]; then
	n=0 bad=()
	while IFS= read -r f; do
		n=$((n + 1))
		"$BERTH" config --json -f "$f" >"$tmp/c.json" 2>"$tmp/c.err" && is_json "$tmp/c.json" ||
			bad+=("$f: $(grep -m1 error "$tmp/c.err")")
	done < <(find "$SHARED/corpus" -name '*.yml' -o -name '*.yaml' | grep -E '/(docker-)?compose\.ya?ml$' | sort)
	if [[ $n -eq 0 ]]; then
		fail config-corpus "no compose files found under $SHARED/corpus"
	elif [[ ${#bad[@]} -ne 0 ]]; then
		fail config-corpus "${bad[@]}"
	else
		pass "config-corpus ($n files)"
	fi
else
	echo "SKIP config-corpus: $SHARED/corpus is missing (set SHARED=path/to/shared)"
fi

# 3. invalid specs: exit 1 and "FILE:LINE:COL: error: ..." as the header says
for f in tests/cli/invalid/*.yml; do
	want=$(sed -n 's/^# expect: //p' "$f")
	pos=${want%%: *} text=${want#*: }
	"$BERTH" config -f "$f" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	if [[ $rc -ne 1 ]]; then
		fail "invalid-$(basename "$f" .yml)" "exit $rc, want 1"
	elif ! grep -qF -- "$f:$pos: error: " "$tmp/err" || ! grep -F -- "$f:$pos: error: " "$tmp/err" | grep -qF -- "$text"; then
		fail "invalid-$(basename "$f" .yml)" "want $f:$pos: error: ...$text..." "got: $(cat "$tmp/err")"
	elif [[ -s $tmp/out ]]; then
		fail "invalid-$(basename "$f" .yml)" "printed a model for an invalid spec"
	else
		pass "invalid-$(basename "$f" .yml)"
	fi
done

# 4. every error is reported, not only the first
cat >"$tmp/many.yml" <<'YML'
services:
  a:
    ports: ["99999:80", "80:abc"]
    networks: [nope]
  b:
    deploy: {replicas: -1}
YML
"$BERTH" config -f "$tmp/many.yml" 2>"$tmp/err" >/dev/null
if [[ $(grep -c ': error: ' "$tmp/err") -ge 4 ]]; then pass config-all-errors; else fail config-all-errors "$(cat "$tmp/err")"; fi

# 5. --json errors are {"error": ...} on stdout
"$BERTH" config --json -f "$tmp/many.yml" >"$tmp/out" 2>/dev/null
if is_json "$tmp/out" && grep -q '"error"' "$tmp/out"; then pass config-json-error; else fail config-json-error "$(cat "$tmp/out")"; fi

# 6. project name: -p, then name:, then the directory normalised as compose does
mkdir -p "$tmp/My Proj.v2"
printf 'services:\n  web: {}\n' >"$tmp/My Proj.v2/compose.yaml"
got=$("$BERTH" config --json -f "$tmp/My Proj.v2/compose.yaml" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["name"])')
[[ $got == myprojv2 ]] && pass config-project-from-dir || fail config-project-from-dir "got '$got'"
got=$("$BERTH" config --json -f "$tmp/My Proj.v2/compose.yaml" -p other | "$PY" -c 'import json,sys; d=json.load(sys.stdin); print(d["name"], d["networks"][0]["name"], d["endpoints"][0]["name"])')
[[ $got == "other other_default other-web-1" ]] && pass config-project-flag || fail config-project-flag "got '$got'"
"$BERTH" config -f "$tmp/My Proj.v2/compose.yaml" -p Bad_Name >/dev/null 2>"$tmp/err"
[[ $? -eq 1 ]] && grep -q 'invalid project name' "$tmp/err" && pass config-project-invalid || fail config-project-invalid "$(cat "$tmp/err")"

# 7. no -f: compose.yaml in the current directory; options after the verb
got=$(cd "$tmp/My Proj.v2" && "$BERTH" config --json | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["services"][0]["name"])')
[[ $got == web ]] && pass config-default-file || fail config-default-file "got '$got'"
(cd "$tmp" && "$BERTH" config >/dev/null 2>"$tmp/err")
[[ $? -eq 1 ]] && grep -q 'no compose file' "$tmp/err" && pass config-no-file || fail config-no-file "$(cat "$tmp/err")"

# 8. .env beside the file, the environment winning over it, warnings for missing variables
mkdir -p "$tmp/envp"
cat >"$tmp/envp/compose.yml" <<'YML'
name: envp
services:
  web:
    ports: ["${WEB_PORT}:80", "${OTHER:-9000}:90"]
    x-berth: {run: "echo $$HOME ${UNSET_THING}"}
YML
printf 'WEB_PORT=8081\nOTHER=9001 # comment\n' >"$tmp/envp/.env"
OTHER=9555 "$BERTH" config --json -f "$tmp/envp/compose.yml" >"$tmp/out" 2>"$tmp/err"
got=$("$PY" -c 'import json,sys; s=json.load(open(sys.argv[1]))["services"][0]; print(s["ports"][0]["published"], s["ports"][1]["published"], s["run"])' "$tmp/out")
if [[ $got == '8081 9555 echo $HOME ' ]] && grep -q 'compose.yml:5:20: warning: variable UNSET_THING is not set' "$tmp/err"; then
	pass config-interpolation
else
	fail config-interpolation "got '$got'" "$(cat "$tmp/err")"
fi

# 9. -v lists the keys berth ignores, with positions
"$BERTH" config -v -f examples/part3.1-frontend-backend/compose.yml >/dev/null 2>"$tmp/err"
grep -qE 'compose.yml:[0-9]+:[0-9]+: note: ignored services\.nginx\.image' "$tmp/err" && pass config-verbose-ignored || fail config-verbose-ignored "$(cat "$tmp/err")"

# 10. deterministic: the same file gives the same model
a=$("$BERTH" config --json -f examples/part9.3-feature-store/compose.yml)
b=$("$BERTH" config --json -f examples/part9.3-feature-store/compose.yml)
[[ -n $a && $a == "$b" ]] && pass config-deterministic || fail config-deterministic

# 11. usage errors are exit 1 with one line
"$BERTH" frobnicate >/dev/null 2>&1; rc1=$?
"$BERTH" config -f /nonexistent/compose.yml >/dev/null 2>"$tmp/err"; rc2=$?
if [[ $rc1 -eq 1 && $rc2 -eq 1 ]] && grep -q '/nonexistent/compose.yml: error: cannot read the compose file: No such file or directory' "$tmp/err"; then
	pass config-usage-errors
else
	fail config-usage-errors "rc $rc1 $rc2" "$(cat "$tmp/err")"
fi

# 12. up's table-size and uplink options are checked before anything runs (no root, no instance)
bad_opts=0
for args in "--conntrack-max 15" "--conntrack-max 16777217" "--nat-max abc" "--nat-max -5" \
	"--nat-max 1e3" "--conntrack-max="; do
	# shellcheck disable=SC2086
	"$BERTH" up -f examples/part3.1-frontend-backend/compose.yml $args >"$tmp/out" 2>"$tmp/err"
	rc=$?
	if [[ $rc -ne 1 || -s $tmp/out || $(wc -l <"$tmp/err") -ne 1 ]] ||
		! grep -qE '^berth: --(conntrack|nat)-max .*(not a number|must be 16 to 16777216)$' "$tmp/err"; then
		bad_opts=1
		fail "up-size-options ($args)" "exit $rc" "$(cat "$tmp/err")"
	fi
done
"$BERTH" up -f examples/part3.1-frontend-backend/compose.yml --uplink= >/dev/null 2>"$tmp/err"
rc=$?
if [[ $rc -ne 1 ]] || ! grep -q '^berth: --uplink needs an interface name, or none$' "$tmp/err"; then
	bad_opts=1
	fail "up-uplink-empty" "exit $rc" "$(cat "$tmp/err")"
fi
[[ $bad_opts -eq 0 ]] && pass up-option-errors

# 13. x-berth instance settings appear in config's model only when set
printf 'x-berth:\n  nat_ports: "40000-40999"\n  conntrack_max: 1024\nservices:\n  a: {}\n' >"$tmp/knobs.yml"
got=$("$BERTH" config --json -f "$tmp/knobs.yml" | "$PY" -c 'import json,sys; d=json.load(sys.stdin); print(d.get("nat_ports"), d.get("conntrack_max"), d.get("nat_max"))')
[[ $got == "40000-40999 1024 None" ]] && pass config-instance-settings || fail config-instance-settings "got '$got'"

# 14. berth port's usage errors are said before anything runs (no root, no instance)
bad_port=0
for args in "port" "port a 80 b" "port web 80/sctp" "port web 0" "port web 70000" "port web 80-81" \
	"port web x/tcp"; do
	# shellcheck disable=SC2086
	"$BERTH" $args >"$tmp/out" 2>"$tmp/err"
	rc=$?
	if [[ $rc -ne 1 || -s $tmp/out || $(wc -l <"$tmp/err") -ne 1 ]] || ! grep -q '^berth: ' "$tmp/err"; then
		bad_port=1
		fail "port-usage ($args)" "exit $rc" "$(cat "$tmp/err")"
	fi
done
"$BERTH" port web 80/sctp --json >"$tmp/out" 2>/dev/null
if ! grep -qx '{"error":"berth: port 80/sctp: unknown protocol \\"sctp\\" (berth publishes tcp and udp)"}' "$tmp/out"; then
	bad_port=1
	fail "port-usage-json" "$(cat "$tmp/out")"
fi
[[ $bad_port -eq 0 ]] && pass port-usage-errors
