#!/usr/bin/env bash
# Runs every fuzz target in the module for FUZZTIME each (default 20s).
# Seed corpora and committed crashers (testdata/fuzz) are replayed by the
# ordinary `go test` run; this script explores further.
#   FUZZTIME=10m scripts/fuzz.sh            # the full campaign
#   scripts/fuzz.sh ./verify                # one package
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime="${FUZZTIME:-20s}"
pkgs=("$@")
if [ ${#pkgs[@]} -eq 0 ]; then
	mapfile -t pkgs < <(grep -rl --include='*_test.go' '^func Fuzz' . | xargs -n1 dirname | sort -u)
fi
for pkg in "${pkgs[@]}"; do
	for name in $(grep -h -o "^func Fuzz[A-Za-z0-9_]*" "$pkg"/*_test.go | sed "s/^func //" || true); do
		echo "== $pkg $name ($fuzztime)"
		go test -run='^$' -fuzz="^${name}\$" -fuzztime="$fuzztime" -fuzzminimizetime=200x "$pkg"
	done
done
