#!/usr/bin/env bash
# Installs the Debian packages the test suite needs, when any is missing.
# Runs apt-get as root, or through sudo when available.
set -euo pipefail

packages=(softhsm2 opensc poppler-utils qpdf libnss3-tools openssl chromium python3-aiosmtpd nginx gcc curl)
# command or file that proves each package is present
probes=(/usr/lib/softhsm/libsofthsm2.so /usr/bin/pkcs11-tool /usr/bin/pdfsig /usr/bin/qpdf /usr/bin/certutil /usr/bin/openssl /usr/bin/chromium /usr/lib/python3/dist-packages/aiosmtpd /usr/sbin/nginx /usr/bin/gcc /usr/bin/curl)

missing=()
for i in "${!packages[@]}"; do
	if [ ! -e "${probes[$i]}" ]; then
		missing+=("${packages[$i]}")
	fi
done

pg=/usr/lib/postgresql/15/bin
if [ ! -x "$pg/initdb" ]; then
	missing+=(postgresql-15)
fi

if [ ${#missing[@]} -eq 0 ]; then
	exit 0
fi

echo "install-deps: installing ${missing[*]}" >&2
sudo=""
if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null; then
		sudo="sudo"
	else
		echo "install-deps: missing ${missing[*]}; run as root or install them" >&2
		exit 1
	fi
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update
$sudo apt-get install -y --no-install-recommends "${missing[@]}"
