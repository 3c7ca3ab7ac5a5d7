#!/usr/bin/env bash
# Runs the README quick start as a newcomer does and checks it works:
#   1. `make serve` (builds bin/signserver and runs `signserver serve`) on embedded
#      defaults, in the background, with a fresh data directory;
#   2. waits until /readyz answers 200 (at most 120 s, compiling included);
#   3. signs the SHA-256 hash of one file through the HTTP API with the
#      example host client (go run ./examples/hostclient), using the demo
#      host's API key, the development CA, the demo PIN printed by the
#      server and the OTP from the development mailbox;
#   4. verifies the detached CMS signature (signserver verify, and openssl
#      cms -verify when openssl is installed);
#   4b. signs a folder of three PDF vouchers as one batch (one OTP);
#   5. stops the server with SIGTERM and checks it shut down cleanly.
# Exits non-zero on any failure, printing the server log.
#
# Environment: QUICKSTART_LISTEN / QUICKSTART_OPS_LISTEN choose the
# addresses (default: free loopback ports); QUICKSTART_KEEP=1 keeps the
# temporary directory.
set -euo pipefail
cd "$(dirname "$0")/.."

export PATH="$PATH:/usr/local/go/bin"

work="$(mktemp -d "${TMPDIR:-/tmp}/roamsign-quickstart.XXXXXX")"
data="$work/signserver-data"
log="$work/server.log"
server_pid=""

say() { printf 'quickstart: %s\n' "$*" >&2; }

fail() {
	say "FAIL: $*"
	if [ -s "$log" ]; then
		say "server log ($log):"
		tail -n 60 "$log" >&2 || true
	fi
	exit 1
}

# stop_server sends SIGTERM to the server's process group (make
# and the server binary it execs) and waits for it to be gone.
stop_server() {
	[ -n "$server_pid" ] || return 0
	kill -TERM -- "-$server_pid" 2>/dev/null || true
	for _ in $(seq 1 300); do
		kill -0 -- "-$server_pid" 2>/dev/null || { server_pid=""; return 0; }
		sleep 0.1
	done
	say "server did not stop within 30 s; killing it"
	kill -KILL -- "-$server_pid" 2>/dev/null || true
	server_pid=""
	return 1
}

cleanup() {
	stop_server || true
	if [ "${QUICKSTART_KEEP:-}" = 1 ]; then
		say "kept $work"
	else
		rm -rf "$work"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# shellcheck source=scripts/lib.sh
. scripts/lib.sh

for tool in go make setsid python3; do
	command -v "$tool" >/dev/null || fail "$tool not found; install the prerequisites (README: Go 1.26, make deps)"
done

listen="${QUICKSTART_LISTEN:-127.0.0.1:$(free_port)}"
ops="${QUICKSTART_OPS_LISTEN:-127.0.0.1:$(free_port)}"

# 1. The README's first command, configured only through its documented
#    environment variables. setsid gives the server its own process group
#    so that stop_server reaches the server binary.
say "starting: make serve (data dir $data, API https://$listen, ops http://$ops)"
ROAMSIGN_DATA_DIR="$data" ROAMSIGN_LISTEN="$listen" ROAMSIGN_OPS_LISTEN="$ops" \
	setsid make --no-print-directory serve >"$log" 2>&1 </dev/null &
server_pid=$!

# 2. Readiness.
rc=0
wait_ready "$server_pid" "http://$ops/readyz" 120 || rc=$?
[ "$rc" -ne 2 ] || fail "the server exited before it was ready"
[ "$rc" -eq 0 ] || fail "/readyz not ready within 120 s"
say "ready: http://$ops/readyz"

# The server prints the demo signers with their PINs; use the first one, as
# a newcomer copying from the console would.
signer() { awk '$1 ~ /^[0-9]+$/ && length($1) == 12 && $(NF-1) == "PIN" { print $1, $NF; exit }' "$log"; }
user="" pin=""
for _ in $(seq 1 50); do
	read -r user pin < <(signer) || true
	[ -n "$pin" ] && break
	sleep 0.1
done
[ -n "$user" ] && [ -n "$pin" ] || fail "the server did not print a demo signer with its PIN"
for f in "$data/demo-host.apikey" "$data/ca/ca.pem"; do
	[ -s "$f" ] || fail "missing $f after start"
done

# 3. A host system signs the hash of one file through the HTTP API.
doc="$work/voucher.txt"
printf 'BAUCAR BAYARAN PV2026/000999\nAmaun RM 1,234.50\n%s\n' "$(date -u +%FT%TZ)" >"$doc"
say "signing the SHA-256 hash of $doc as $user via https://$listen/v1/"
printf '%s\n' "$pin" | go run ./examples/hostclient \
	-url "https://$listen" \
	-api-key-file "$data/demo-host.apikey" \
	-ca "$data/ca/ca.pem" \
	-user "$user" \
	-file "$doc" \
	-form cms \
	-out "$work/voucher.p7s" \
	-dev-mailbox "https://$listen/dev/mailbox.json" \
	|| fail "hostclient could not sign"
[ -s "$work/voucher.p7s" ] || fail "no signature written"

# 4. Independent checks of the signature.
out="$(go run ./examples/signserver verify "$work/voucher.p7s" -content "$doc" -data-dir "$data")" \
	|| fail "signserver verify rejected the signature: $out"
case "$out" in
*": valid"*) say "signserver verify: valid" ;;
*) fail "signserver verify did not report valid: $out" ;;
esac
if command -v openssl >/dev/null; then
	openssl cms -verify -binary -inform DER -in "$work/voucher.p7s" -content "$doc" \
		-CAfile "$data/ca/ca.pem" -purpose any -out /dev/null 2>"$work/openssl.err" \
		|| fail "openssl cms -verify rejected the signature: $(cat "$work/openssl.err")"
	say "openssl cms -verify: ok"
fi
# A changed file must not verify.
printf 'tampered\n' >>"$doc"
if go run ./examples/signserver verify "$work/voucher.p7s" -content "$doc" -data-dir "$data" >/dev/null 2>&1; then
	fail "signserver verify accepted a signature over a changed file"
fi

# 4b. A folder of PDFs signed as a batch with one OTP (PAdES prepared and
#     completed by the host; only hashes travel), checked by pdfsig.
mkdir -p "$work/vouchers"
for id in pv-0001 pv-0002 pv-0003; do
	curl -sf --cacert "$data/ca/ca.pem" -o "$work/vouchers/$id.pdf" "https://$listen/demo/sample/$id" \
		|| fail "cannot fetch sample voucher $id"
done
printf '%s\n' "$pin" | go run ./examples/hostclient \
	-url "https://$listen" -api-key-file "$data/demo-host.apikey" -ca "$data/ca/ca.pem" \
	-user "$user" -dir "$work/vouchers" -reason "Perakuan 1" \
	-dev-mailbox "https://$listen/dev/mailbox.json" \
	|| fail "hostclient could not sign the folder"
for id in pv-0001 pv-0002 pv-0003; do
	f="$work/vouchers/signed/$id.pdf"
	[ -s "$f" ] || fail "no signed $f"
	if command -v pdfsig >/dev/null; then
		pdfsig "$f" 2>&1 | grep -q "Signature is Valid." || fail "pdfsig does not report a valid signature in $f"
	fi
	go run ./examples/signserver verify "$f" -data-dir "$data" >/dev/null || fail "signserver verify rejected $f"
done
say "folder batch: 3 PDFs signed with one OTP, valid"

# 5. Graceful shutdown.
stop_server || fail "the server did not stop on SIGTERM"
grep -q 'signserver stopped' "$log" || fail "no clean shutdown in the server log"
say "OK: quick start works (server up, hash signed via the HTTP API, signature valid, clean shutdown)"
