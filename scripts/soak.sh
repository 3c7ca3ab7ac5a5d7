#!/usr/bin/env bash
# Soak: runs examples/signserver under bench/loadgen for SOAK_TIME and
# samples the server's resident memory every SOAK_SAMPLE, printing a table
# of VmRSS over time and the load generator's summary.
#
#   scripts/soak.sh                                  # 10 min, SoftHSM2 (PKCS#11) + PostgreSQL
#   SOAK_TIME=2m SOAK_STORE=sqlite SOAK_KEYS=software scripts/soak.sh
#
# SOAK_STORE: postgres (a throwaway PostgreSQL 15 cluster with its default
#             durability, started as an unprivileged user) or sqlite.
# SOAK_KEYS:  pkcs11 (a throwaway SoftHSM2 token) or software.
# SOAK_HOSTS, SOAK_HASHES: load shape (default 4 hosts, 10 hashes).
# Nothing outside a new temporary directory is touched; it is removed at
# the end. Needs softhsm2 and /usr/lib/postgresql/15/bin (make deps).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh
. scripts/lib.sh

soak_time="${SOAK_TIME:-10m}"
sample="${SOAK_SAMPLE:-60}"
store="${SOAK_STORE:-postgres}"
keys="${SOAK_KEYS:-pkcs11}"
hosts="${SOAK_HOSTS:-4}"
hashes="${SOAK_HASHES:-10}"
pgbin="${PGTEST_BIN:-/usr/lib/postgresql/15/bin}"

work="$(mktemp -d)"
chmod 755 "$work"
pids=()
pg_data=""
pg_user=""
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	if [ -n "$pg_data" ]; then
		as_pg "$pgbin/pg_ctl" -D "$pg_data" -m fast -w stop >/dev/null 2>&1 || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT

as_pg() {
	if [ -n "$pg_user" ]; then
		runuser -u "$pg_user" -- "$@"
	else
		"$@"
	fi
}

serve_flags=()
case "$keys" in
pkcs11)
	mkdir -p "$work/tokens"
	printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' "$work/tokens" >"$work/softhsm2.conf"
	export SOFTHSM2_CONF="$work/softhsm2.conf"
	softhsm2-util --init-token --free --label soak --pin 246810 --so-pin 13579111 >/dev/null
	module=/usr/lib/softhsm/libsofthsm2.so
	[ -e "$module" ] || module="$(dpkg -L softhsm2 2>/dev/null | grep 'libsofthsm2.so$' | head -n1)"
	serve_flags+=(-pkcs11-uri "pkcs11:token=soak?module-path=$module&pin-value=246810")
	;;
software) ;;
*) echo "soak: SOAK_KEYS must be pkcs11 or software" >&2; exit 2 ;;
esac

case "$store" in
postgres)
	if [ "$(id -u)" -eq 0 ]; then
		pg_user=roamsign-pg
		id "$pg_user" >/dev/null 2>&1 || useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$pg_user"
	fi
	pg_data="$work/pg/data"
	mkdir -p "$work/pg"
	[ -z "$pg_user" ] || chown "$pg_user" "$work/pg"
	as_pg "$pgbin/initdb" -D "$pg_data" -U postgres -A trust -E UTF8 --locale=C >/dev/null
	pg_port="$(free_port)"
	as_pg "$pgbin/pg_ctl" -D "$pg_data" -l "$work/pg/log" -w -t 60 \
		-o "-p $pg_port -k $work/pg -h 127.0.0.1 -c max_connections=200" start >/dev/null
	serve_flags+=(-postgres-dsn "postgres://postgres@127.0.0.1:$pg_port/postgres?sslmode=disable")
	;;
sqlite) ;;
*) echo "soak: SOAK_STORE must be postgres or sqlite" >&2; exit 2 ;;
esac

go build -o "$work/signserver" ./examples/signserver
go build -o "$work/loadgen" ./bench/loadgen
port="$(free_port)"
ops="$(free_port)"
data="$work/data"
"$work/signserver" serve -dev -data-dir "$data" -listen "127.0.0.1:$port" -ops-listen "127.0.0.1:$ops" \
	-rate-per-user -1 -rate-per-user-host -1 -rate-per-host -1 -log-level warn "${serve_flags[@]}" >"$work/server.log" 2>&1 &
server=$!
pids+=("$server")
wait_ready "$server" "http://127.0.0.1:$ops/readyz" 60 || { cat "$work/server.log"; exit 1; }

rss() { awk '/^VmRSS/ {printf "%.0f", $2/1024}' "/proc/$server/status"; }
hwm() { awk '/^VmHWM/ {printf "%.0f", $2/1024}' "/proc/$server/status"; }

echo "soak: keys=$keys store=$store hosts=$hosts hashes=$hashes time=$soak_time sample=${sample}s"
echo "soak: $(nproc) CPUs, $(go version | cut -d' ' -f3), load $(cut -d' ' -f1-3 /proc/loadavg)"
times=("$(date -u +%H:%M:%S) (idle)")
values=("$(rss)")
"$work/loadgen" -url "https://127.0.0.1:$port" -api-key-file "$data/demo-host.apikey" -ca-file "$data/ca/ca.pem" \
	-users '850715015123:Kewangan#2026,900101145678:Perakuan@77' -hosts "$hosts" -hashes "$hashes" \
	-duration "$soak_time" -count 0 >"$work/loadgen.out" 2>&1 &
gen=$!
pids+=("$gen")
while kill -0 "$gen" 2>/dev/null; do
	for _ in $(seq 1 "$sample"); do
		kill -0 "$gen" 2>/dev/null || break
		sleep 1
	done
	kill -0 "$server" 2>/dev/null || { echo "soak: the server died"; cat "$work/server.log"; exit 1; }
	times+=("$(date -u +%H:%M:%S)")
	values+=("$(rss)")
done
status=0
wait "$gen" || status=$?

printf '\n| Time (UTC) |'
for t in "${times[@]}"; do printf ' %s |' "$t"; done
printf '\n|---|'
for _ in "${times[@]}"; do printf -- '---|'; done
printf '\n| VmRSS MiB |'
for v in "${values[@]}"; do printf ' %s |' "$v"; done
printf '\n\npeak VmHWM %s MiB\n\n' "$(hwm)"
cat "$work/loadgen.out"
exit "$status"
