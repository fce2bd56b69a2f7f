#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Runs test tiers by name (unit, bpf, cli, netns, fuzz) and closes with one line,
# "berth: N passed, N failed[, N skipped]"; exits non-zero if any failed.
# Tests are found by file name: build/tests/unit/test_*, build/tests/bpf/test_*,
# tests/cli/test_*.sh, tests/netns/test_*.sh, build/tests/fuzz/fuzz_*.
set -uo pipefail

cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
SHARED=${SHARED:-$(cd .. && pwd)/shared}
FUZZ_SECONDS=${FUZZ_SECONDS:-60}
export BUILD SHARED

passed=0 failed=0 skipped=0
log=$(mktemp -d)
trap 'rm -rf "$log"' EXIT

# cmocka prints "[  PASSED  ] N test(s)." and "[  FAILED  ] N test(s), listed below:";
# a program that cannot run here prints "SKIP ...: reason" and exits 77
run_cmocka() {
	local tier=$1 t out p f s rc
	for t in "$BUILD"/tests/"$tier"/test_*; do
		[[ -x $t && $t != *.d ]] || continue
		out=$log/$(basename "$t").out
		"$t" >"$out" 2>&1
		rc=$?
		if [[ $rc -eq 77 ]]; then
			skipped=$((skipped + 1))
			grep -m1 '^SKIP ' "$out" || echo "SKIP $tier $(basename "$t"): exited 77"
			continue
		fi
		p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$out" | tail -n1)
		f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$out" | tail -n1)
		s=$(sed -n 's/^\[  SKIPPED \] \([0-9]*\) test(s).*/\1/p' "$out" | tail -n1)
		p=${p:-0} f=${f:-0} s=${s:-0}
		# a crash (ASan, UBSan) before cmocka's summary is a failure too
		if [[ $rc -ne 0 && $f -eq 0 ]]; then f=1; fi
		passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
		if [[ $f -ne 0 ]]; then
			echo "FAIL $tier $(basename "$t") ($p passed, $f failed, $s skipped)"
			cat "$out"
		else
			if [[ $s -ne 0 ]]; then
				echo "PASS $tier $(basename "$t") ($p tests, $s skipped)"
				# a skipped test says why on a line of its own
				grep '^SKIP ' "$out" || echo "SKIP $tier $(basename "$t"): $s tests, no reason given"
			else
				echo "PASS $tier $(basename "$t") ($p tests)"
			fi
		fi
	done
}

# BPF_PROG_TEST_RUN and a private network namespace need root; skip loudly without
run_bpf() {
	if [[ $EUID -ne 0 ]]; then
		skipped=$((skipped + 1))
		echo "SKIP bpf: not root: BPF_PROG_TEST_RUN needs CAP_BPF, CAP_NET_ADMIN and" \
			"CAP_SYS_ADMIN (run: sudo make test-bpf)"
		return
	fi
	if [[ ! -e /proc/sys/kernel/unprivileged_bpf_disabled ]]; then
		skipped=$((skipped + 1))
		echo "SKIP bpf: this kernel has no bpf() syscall (CONFIG_BPF_SYSCALL is off)"
		return
	fi
	# each program skips itself (exit 77) when it cannot load or test-run BPF here
	run_cmocka bpf
}

# tests/TIER/test_*.sh: each script prints "PASS name", "FAIL name" or "SKIP name: reason" lines
run_scripts() {
	local tier=$1 t out p f s
	for t in tests/"$tier"/test_*.sh; do
		out=$log/$(basename "$t").out
		bash "$t" >"$out" 2>&1
		local rc=$?
		p=$(grep -c '^PASS ' "$out")
		f=$(grep -c '^FAIL ' "$out")
		s=$(grep -c '^SKIP ' "$out")
		if [[ $rc -ne 0 && $f -eq 0 ]]; then f=1; echo "FAIL $tier $(basename "$t") exited $rc"; fi
		passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
		grep -E '^(PASS|FAIL|SKIP) ' "$out" | sed "s/^/$tier: /"
		[[ $f -ne 0 ]] && cat "$out"
	done
}

# berth up/down in throwaway namespaces (tests/netns/lib.sh) need root and a working
# `ip netns`; skip loudly without
run_netns() {
	local probe=berth-probe-$$ err
	if [[ $EUID -ne 0 ]]; then
		skipped=$((skipped + 1))
		echo "SKIP netns: not root: network namespaces, BPF and cgroups need root" \
			"(run: sudo make test-netns)"
		return
	fi
	if ! err=$(ip netns add "$probe" 2>&1); then
		skipped=$((skipped + 1))
		echo "SKIP netns: ip netns is unusable here: ${err:-ip netns add failed}"
		return
	fi
	ip netns del "$probe"
	run_scripts netns
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
	unit) run_cmocka unit ;;
	bpf) run_bpf ;;
	cli) run_scripts cli ;;
	netns) run_netns ;;
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
