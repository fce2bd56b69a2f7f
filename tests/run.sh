#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Runs test tiers by name (unit, cli, fuzz) and closes with one line,
# "berth: N passed, N failed[, N skipped]"; exits non-zero if any failed.
# Tests are found by file name: build/tests/unit/test_*, tests/cli/test_*.sh,
# build/tests/fuzz/fuzz_*.
set -uo pipefail

cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
SHARED=${SHARED:-$(cd .. && pwd)/shared}
FUZZ_SECONDS=${FUZZ_SECONDS:-60}
export BUILD SHARED

passed=0 failed=0 skipped=0
log=$(mktemp -d)
trap 'rm -rf "$log"' EXIT

# cmocka prints "[  PASSED  ] N test(s)." and "[  FAILED  ] N test(s), listed below:"
run_unit() {
	local t out p f rc
	for t in "$BUILD"/tests/unit/test_*; do
		[[ -x $t && $t != *.d ]] || continue
		out=$log/$(basename "$t").out
		"$t" >"$out" 2>&1
		rc=$?
		p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$out" | tail -n1)
		f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$out" | tail -n1)
		p=${p:-0} f=${f:-0}
		# a crash (ASan, UBSan) before cmocka's summary is a failure too
		if [[ $rc -ne 0 && $f -eq 0 ]]; then f=1; fi
		passed=$((passed + p)) failed=$((failed + f))
		if [[ $f -ne 0 ]]; then
			echo "FAIL unit $(basename "$t") ($p passed, $f failed)"
			cat "$out"
		else
			echo "PASS unit $(basename "$t") ($p tests)"
		fi
	done
}

# each script prints "PASS name", "FAIL name" or "SKIP name: reason" lines
run_cli() {
	local t out p f s
	for t in tests/cli/test_*.sh; do
		out=$log/$(basename "$t").out
		bash "$t" >"$out" 2>&1
		local rc=$?
		p=$(grep -c '^PASS ' "$out")
		f=$(grep -c '^FAIL ' "$out")
		s=$(grep -c '^SKIP ' "$out")
		if [[ $rc -ne 0 && $f -eq 0 ]]; then f=1; echo "FAIL cli $(basename "$t") exited $rc"; fi
		passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
		grep -E '^(PASS|FAIL|SKIP) ' "$out" | sed 's/^/cli: /'
		[[ $f -ne 0 ]] && cat "$out"
	done
}

# replay the committed corpus, then fuzz for FUZZ_SECONDS from it (plus the
# examples and the shared compose corpus) in a scratch directory
run_fuzz() {
	local t name seeds work out
	for t in "$BUILD"/tests/fuzz/fuzz_*; do
		[[ -x $t && $t != *.d ]] || continue
		name=$(basename "$t")
		seeds=tests/fuzz/corpus/$name
		out=$log/$name.out
		if "$t" -runs=0 "$seeds" >"$out" 2>&1; then
			passed=$((passed + 1)); echo "PASS fuzz $name: replayed $(ls "$seeds" | wc -l) inputs"
		else
			failed=$((failed + 1)); echo "FAIL fuzz $name: replay"; tail -n 40 "$out"
		fi
		work=$BUILD/fuzz-work/$name
		rm -rf "$work" && mkdir -p "$work"
		cp "$seeds"/* "$work"/
		if [[ $name == fuzz_spec ]]; then
			find examples "$SHARED/corpus" -name '*.y*ml' 2>/dev/null | head -n 200 |
				while read -r f; do cp "$f" "$work/$(echo "$f" | tr '/' '_')"; done
		fi
		if "$t" -max_total_time="$FUZZ_SECONDS" -timeout=10 -rss_limit_mb=2048 -max_len=8192 \
			-artifact_prefix="$BUILD/fuzz-work/$name-" "$work" >"$out" 2>&1; then
			passed=$((passed + 1))
			echo "PASS fuzz $name: $(grep -o 'Done [0-9]* runs' "$out" | tail -n1) in ${FUZZ_SECONDS}s"
		else
			failed=$((failed + 1)); echo "FAIL fuzz $name (crash input under $BUILD/fuzz-work/)"
			tail -n 60 "$out"
		fi
	done
}

for tier in "$@"; do
	case $tier in
	unit) run_unit ;;
	cli) run_cli ;;
	fuzz) run_fuzz ;;
	*) echo "tests/run.sh: unknown tier $tier" >&2; exit 2 ;;
	esac
done

if [[ $skipped -ne 0 ]]; then
	echo "berth: $passed passed, $failed failed, $skipped skipped"
else
	echo "berth: $passed passed, $failed failed"
fi
[[ $failed -eq 0 && $passed -gt 0 ]]
