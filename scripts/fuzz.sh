#!/usr/bin/env bash
# Runs every fuzz target in the module for FUZZTIME each (default 20s) and
# prints a table of executions per target at the end.
# Seed corpora and committed crashers (testdata/fuzz) are replayed by the
# ordinary `go test` run; this script explores further.
#   FUZZTIME=10m scripts/fuzz.sh                 # the full campaign, one target at a time
#   FUZZTIME=10m FUZZJOBS=3 scripts/fuzz.sh      # three targets side by side, one worker each
#   scripts/fuzz.sh ./verify                     # one package
# FUZZLOG names the directory for one log per target (default: a new temp dir).
# FUZZNICE=19 runs the fuzzers at that niceness, so other work keeps the CPU.
# A target that fails leaves its crasher in <package>/testdata/fuzz/<target>/;
# commit it as a regression case. The script exits non-zero if any target failed.
# Do not suspend the fuzzers (SIGSTOP): the coordinator then reports its
# stopped workers as hung, with a "failing input" that is not one.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime="${FUZZTIME:-20s}"
jobs="${FUZZJOBS:-1}"
logdir="${FUZZLOG:-$(mktemp -d)}"
mkdir -p "$logdir"
pkgs=("$@")
if [ ${#pkgs[@]} -eq 0 ]; then
	mapfile -t pkgs < <(grep -rl --include='*_test.go' '^func Fuzz' . | xargs -n1 dirname | sort -u)
fi

targets=()
for pkg in "${pkgs[@]}"; do
	for name in $(grep -h -o "^func Fuzz[A-Za-z0-9_]*" "$pkg"/*_test.go | sed "s/^func //" || true); do
		targets+=("$pkg $name")
	done
done

parallel=()
if [ "$jobs" -gt 1 ]; then
	parallel=(-parallel=1)
fi
nice=()
if [ -n "${FUZZNICE:-}" ]; then
	nice=(nice -n "$FUZZNICE")
fi

run_one() {
	local pkg="$1" name="$2"
	local log="$logdir/${pkg//[.\/]/_}_$name.log"
	echo "== $pkg $name ($fuzztime) -> $log"
	if "${nice[@]}" go test -run='^$' -fuzz="^${name}\$" -fuzztime="$fuzztime" \
		-fuzzminimizetime=200x "${parallel[@]}" "$pkg" >"$log" 2>&1; then
		echo "ok" >>"$log.result"
	elif ! grep -q 'Failing input written' "$log" && grep -qx '    context deadline exceeded' "$log"; then
		# Go 1.26's fuzz coordinator can report its own -fuzztime deadline
		# as a failure, without an input (golang/go#75804, fixed in Go
		# 1.27): the target ran its full time and nothing failed.
		echo "ok (deadline race, golang/go#75804)" >>"$log.result"
	else
		echo "FAIL" >>"$log.result"
		tail -n 30 "$log"
	fi
}

running=0
for t in "${targets[@]}"; do
	# shellcheck disable=SC2086
	run_one $t &
	running=$((running + 1))
	if [ "$running" -ge "$jobs" ]; then
		wait -n || true
		running=$((running - 1))
	fi
done
wait || true

# Summary: the last progress line of each target.
failed=0
printf '\n| Target | Package | Elapsed | Execs | New interesting | Corpus | Result |\n'
printf '|---|---|---|---:|---:|---:|---|\n'
for t in "${targets[@]}"; do
	set -- $t
	pkg="$1" name="$2"
	log="$logdir/${pkg//[.\/]/_}_$name.log"
	res="$(cat "$log.result" 2>/dev/null || echo missing)"
	case "$res" in ok*) ;; *) failed=1 ;; esac
	line="$(grep -E '^fuzz: elapsed: .*execs: ' "$log" | tail -n 1 || true)"
	elapsed="$(sed -nE 's/^fuzz: elapsed: ([^,]+),.*/\1/p' <<<"$line")"
	execs="$(sed -nE 's/.*execs: ([0-9]+).*/\1/p' <<<"$line")"
	newi="$(sed -nE 's/.*new interesting: ([0-9]+).*/\1/p' <<<"$line")"
	total="$(sed -nE 's/.*\(total: ([0-9]+)\).*/\1/p' <<<"$line")"
	printf '| `%s` | `%s` | %s | %s | %s | %s | %s |\n' "$name" "$pkg" "${elapsed:--}" "${execs:--}" "${newi:--}" "${total:--}" "$res"
done
exit "$failed"
