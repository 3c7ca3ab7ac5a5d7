#!/usr/bin/env bash
# mutate.sh — the mutation gate of the security rules.
#
# Each mutant in scripts/mutants.txt breaks one security rule with a
# one-line change: an exact source fragment of a file, found exactly once,
# and its replacement (so a mutant survives line moves, and a refactor that
# changes the fragment makes the gate fail loudly until the list is
# updated). Each mutant is applied to a scratch copy of the tree, one at a
# time, and only the tests that guard its rule run (go test -run). A mutant
# is killed when a test fails; the gate fails when any mutant survives.
#
# A mutant marked "equivalent" is not run (another layer enforces the same
# rule; the reason is printed), but its fragment must still be found. A
# mutant marked "known" awaits a missing test: it runs, its survival is
# reported but does not fail the gate, and its being killed does (remove
# the mark). MUTATE_STRICT=1 fails on known survivors too.
#
# Usage: scripts/mutate.sh [name-regex]     (make mutate)
#        scripts/mutate.sh -list            the mutation table (mutant, rule,
#                                           killing tests or equivalence) in
#                                           Markdown, from the list alone
#        scripts/mutate.sh -doc             writes that table into
#                                           docs/testing.md (between its
#                                           mutants:begin/end marks)
# The whole gate (no name-regex) first checks that docs/testing.md holds the
# table of the current list and says so when it does not (MUTATE_STRICT=1:
# fails).
# Environment: MUTATE_LIST (default scripts/mutants.txt), MUTATE_DIR (the
# scratch tree, default $TMPDIR/roamsign-mutate-<hash of the checkout's
# path>, locked while a run uses it), MUTATE_TIMEOUT (per go
# test, default 180s), MUTATE_STRICT, MUTATE_GOFLAGS (e.g. -count=1),
# GO (default go).
set -euo pipefail
shopt -u patsub_replacement 2>/dev/null || true # "&" in a replacement is literal

root="$(cd "$(dirname "$0")/.." && pwd)"
list="${MUTATE_LIST:-$root/scripts/mutants.txt}"
# One scratch tree per checkout (several checkouts may share a machine),
# kept between runs so that the build and test caches stay warm.
scratch="${MUTATE_DIR:-${TMPDIR:-/tmp}/roamsign-mutate-$(printf '%s' "$root" | sha256sum | cut -c1-12)}"
timeout="${MUTATE_TIMEOUT:-180s}"
only="${1:-}"
mode=gate
case "$only" in
-list) mode=list only="" ;;
-doc) mode=doc only="" ;;
-*) echo "mutate.sh: unknown option $only (usage: mutate.sh [name-regex | -list | -doc])" >&2; exit 2 ;;
esac
doc="$root/docs/testing.md"
GO="${GO:-go}"
# No vet (the unmutated tree is vetted elsewhere); test results are cached
# by content like any go test, so an unchanged tree re-runs quickly.
goflags="-vet=off ${MUTATE_GOFLAGS:-}"

# --- the list -------------------------------------------------------------

names=() files=() froms=() tos=() tests=() equivs=() knowns=() rules=()
add_mutant() {
	[ -n "$m_name" ] || return 0
	local missing=""
	[ -n "$m_file" ] || missing+=" file"
	[ -n "$m_from" ] || missing+=" from"
	[ -n "$m_equiv" ] || [ -n "$m_tests" ] || missing+=" test"
	[ -n "$m_equiv" ] || [ -n "$m_to$m_to_set" ] || missing+=" to"
	if [ -n "$missing" ]; then
		echo "mutate.sh: $list: mutant $m_name lacks:$missing" >&2
		exit 2
	fi
	names+=("$m_name") files+=("$m_file") froms+=("$m_from") tos+=("$m_to")
	tests+=("$m_tests") equivs+=("$m_equiv") knowns+=("$m_known") rules+=("$m_rule")
}
reset_mutant() { m_name="" m_file="" m_from="" m_to="" m_to_set="" m_tests="" m_equiv="" m_known="" m_rule=""; }
reset_mutant
lineno=0
while IFS= read -r line || [ -n "$line" ]; do
	lineno=$((lineno + 1))
	line="${line%$'\r'}"
	case "$line" in
	'#'*) continue ;;
	esac
	if [[ -z "${line//[[:space:]]/}" ]]; then
		add_mutant
		reset_mutant
		continue
	fi
	key="${line%%[[:space:]]*}"
	val="${line#"$key"}"
	val="${val#"${val%%[![:space:]]*}"}" # trim leading blanks; trailing blanks stay
	case "$key" in
	mutant) add_mutant; reset_mutant; m_name="$val" ;;
	rule) m_rule="$val" ;;
	file) m_file="$val" ;;
	from) m_from="$val" ;;
	to) m_to="$val" m_to_set=1 ;;
	test) m_tests+="$val"$'\n' ;;
	equivalent) m_equiv="$val" ;;
	known) m_known="$val" ;;
	*) echo "mutate.sh: $list:$lineno: unknown key '$key'" >&2; exit 2 ;;
	esac
done <"$list"
add_mutant
[ "${#names[@]}" -gt 0 ] || { echo "mutate.sh: no mutants in $list" >&2; exit 2; }

# --- the documented table ----------------------------------------------------

# cell TEXT: TEXT as one Markdown table cell (pipes escaped, one line).
cell() {
	local v="${1//|/\\|}"
	printf '%s' "${v//$'\n'/ }"
}

# table prints the mutation table: every mutant, the rule it breaks, the
# file it changes, and the tests that kill it (the gate proves it on every
# run) or the reason it is equivalent.
table() {
	local i t killers
	echo "| mutant | rule | file | killed by |"
	echo "|---|---|---|---|"
	for i in "${!names[@]}"; do
		if [ -n "${equivs[$i]}" ]; then
			killers="equivalent: $(cell "${equivs[$i]}")"
		else
			killers=""
			while read -r t; do
				[ -n "$t" ] || continue
				killers+="${killers:+; }\`$(cell "$t")\`"
			done <<<"${tests[$i]}"
			[ -z "${knowns[$i]}" ] || killers+=" (known survivor: $(cell "${knowns[$i]}"))"
		fi
		printf '| %s | %s | %s | %s |\n' "${names[$i]}" "$(cell "${rules[$i]}")" "${files[$i]}" "$killers"
	done
	echo
	echo "${#names[@]} mutants, $(printf '%s\n' "${equivs[@]}" | grep -c . || true) of them equivalent."
}

begin_mark='<!-- mutants:begin (generated by scripts/mutate.sh -doc; do not edit) -->'
end_mark='<!-- mutants:end -->'

# documented prints what docs/testing.md holds between the marks.
documented() {
	[ -f "$doc" ] || return 0
	awk -v b="$begin_mark" -v e="$end_mark" '$0 == e {on = 0} on {print} $0 == b {on = 1}' "$doc"
}

case "$mode" in
list)
	table
	exit 0
	;;
doc)
	grep -qxF "$begin_mark" "$doc" && grep -qxF "$end_mark" "$doc" || {
		echo "mutate.sh: $doc lacks the marks $begin_mark / $end_mark" >&2
		exit 2
	}
	new="$(table)"
	TABLE="$new" awk -v b="$begin_mark" -v e="$end_mark" '
		$0 == b {print; print ENVIRON["TABLE"]; skip = 1; next}
		$0 == e {skip = 0}
		!skip {print}' "$doc" >"$doc.tmp" && mv "$doc.tmp" "$doc"
	echo "mutate.sh: wrote the table of ${#names[@]} mutants into $doc" >&2
	exit 0
	;;
esac
# The whole gate (no name-regex) also checks the documented table: a
# stale table is reported, and fails the gate under MUTATE_STRICT=1.
if [ -z "$only" ] && [ "$(documented)" != "$(table)" ]; then
	diff <(documented) <(table) | head -20 >&2 || true
	if [ "${MUTATE_STRICT:-}" = 1 ]; then
		echo "mutate.sh: FAIL: the mutation table in docs/testing.md does not match scripts/mutants.txt — run scripts/mutate.sh -doc and commit it" >&2
		exit 1
	fi
	echo "mutate.sh: WARNING: the mutation table in docs/testing.md does not match scripts/mutants.txt — run scripts/mutate.sh -doc and commit it" >&2
fi

# --- the scratch tree -------------------------------------------------------

mkdir -p "$(dirname "$scratch")"
exec 8>"$scratch.lock"
if ! flock -n 8; then
	echo "mutate.sh: another run uses $scratch; waiting for it" >&2
	flock 8
fi
echo "mutate.sh: copying the tree to $scratch" >&2
rm -rf "$scratch"
mkdir -p "$scratch"
(cd "$root" && git ls-files -z --cached --others --exclude-standard |
	tar --null --no-recursion --ignore-failed-read -T - -cf - 2>/dev/null) | tar -xf - -C "$scratch"

# count_in TEXT FRAGMENT prints how many times FRAGMENT occurs in TEXT.
count_in() {
	local hay="$1" n=0
	while [[ "$hay" == *"$2"* ]]; do
		hay="${hay#*"$2"}"
		n=$((n + 1))
	done
	echo "$n"
}

# --- the gate ----------------------------------------------------------------

failed=0
rows=()
row() { rows+=("$(printf '| %s | %s | %s | %s | %s |' "$@")"); }

# Fragments first: a stale list fails before any test runs.
for i in "${!names[@]}"; do
	f="$scratch/${files[$i]}"
	if [ ! -f "$f" ]; then
		echo "mutate.sh: mutant ${names[$i]}: file ${files[$i]} does not exist — update $list" >&2
		failed=1
		continue
	fi
	n="$(count_in "$(<"$f")" "${froms[$i]}")"
	if [ "$n" != 1 ]; then
		echo "mutate.sh: mutant ${names[$i]}: fragment found $n times in ${files[$i]} (must be exactly once) — update $list:" >&2
		echo "    ${froms[$i]}" >&2
		failed=1
	fi
done
[ "$failed" = 0 ] || { echo "mutate.sh: FAIL: the mutant list does not match the code" >&2; exit 1; }

# Baseline: every test the gate relies on passes on the unmutated tree:
# per package, the top-level tests of its -run patterns, in one go test.
declare -A tops=()
for i in "${!names[@]}"; do
	[ -z "$only" ] || [[ "${names[$i]}" =~ $only ]] || continue
	[ -z "${equivs[$i]}" ] || continue
	while read -r pkg run; do
		[ -n "$pkg" ] || continue
		top="${run%%/*}"
		top="${top#^}"
		top="${top%$}"
		case "|${tops["$pkg"]:-}|" in
		*"|$top|"*) ;;
		*) tops["$pkg"]+="${tops["$pkg"]:+|}$top" ;;
		esac
	done <<<"${tests[$i]}"
done
for pkg in "${!tops[@]}"; do
	run="^(${tops[$pkg]})\$"
	echo "mutate.sh: baseline: go test -run '$run' $pkg" >&2
	if ! out="$(cd "$scratch" && "$GO" test $goflags -timeout "$timeout" -run "$run" "$pkg" 2>&1)"; then
		echo "$out" | tail -30 >&2
		echo "mutate.sh: FAIL: baseline: go test -run '$run' $pkg fails without any mutant" >&2
		exit 1
	fi
	if ! grep -q '^ok' <<<"$out" || grep -q 'no tests to run' <<<"$out"; then
		echo "$out" >&2
		echo "mutate.sh: FAIL: baseline: go test -run '$run' $pkg runs no test — update $list" >&2
		exit 1
	fi
done

total_start=$SECONDS
for i in "${!names[@]}"; do
	name="${names[$i]}" file="${files[$i]}"
	[ -z "$only" ] || [[ "$name" =~ $only ]] || continue
	pkgs="$(awk 'NF {print $1}' <<<"${tests[$i]}" | sort -u | paste -sd' ' -)"
	if [ -n "${equivs[$i]}" ]; then
		row "$name" "$(dirname "$file")" "—" "equivalent: ${equivs[$i]}" "—"
		continue
	fi
	start=$SECONDS
	f="$scratch/$file"
	orig="$(cat "$f"; printf x)"
	orig="${orig%x}"
	printf '%s' "${orig/"${froms[$i]}"/"${tos[$i]}"}" >"$f"
	result="" ran=""
	while read -r pkg run; do
		[ -n "$pkg" ] || continue
		ran+="${ran:+, }$pkg -run $run"
		if ! out="$(cd "$scratch" && "$GO" test $goflags -timeout "$timeout" -run "$run" "$pkg" 2>&1)"; then
			if grep -q '\[build failed\]\|\[setup failed\]' <<<"$out"; then
				result="ERROR: the mutant does not build"
				echo "$out" | tail -20 >&2
			else
				# The most specific failed test names the killer.
				first="$(grep -o -- '--- FAIL: [^ ]*' <<<"$out" | sed 's/--- FAIL: //' | awk '{print length, $0}' | sort -rn | head -1 | cut -d' ' -f2-)"
				result="killed by ${first:-$pkg}"
			fi
			break
		fi
	done <<<"${tests[$i]}"
	printf '%s' "$orig" >"$f"
	[ -n "$result" ] || result="SURVIVED"
	case "$result" in
	ERROR*) failed=1 ;;
	killed*)
		if [ -n "${knowns[$i]}" ]; then
			result="$result — FAIL: marked known (${knowns[$i]}); remove the mark"
			failed=1
		fi
		;;
	SURVIVED)
		if [ -n "${knowns[$i]}" ]; then
			result="survived (known: ${knowns[$i]})"
			[ "${MUTATE_STRICT:-}" != 1 ] || failed=1
		else
			result="SURVIVED — FAIL: ${rules[$i]}"
			failed=1
		fi
		;;
	esac
	row "$name" "$pkgs" "$ran" "$result" "$((SECONDS - start))s"
	echo "mutate.sh: $name: $result ($((SECONDS - start))s)" >&2
done

echo
echo "| mutant | package | tests run | result | time |"
echo "|---|---|---|---|---|"
printf '%s\n' "${rows[@]}"
echo
echo "mutants: ${#rows[@]}, time $((SECONDS - total_start))s after the baseline"
if [ "$failed" != 0 ]; then
	echo "mutate.sh: FAIL" >&2
	exit 1
fi
echo "mutate.sh: every mutant was killed or is accounted for" >&2
