#!/usr/bin/env bash
# Let's Encrypt, offline: pebble (Let's Encrypt's own ACME test server) is the CA. demo_server
# asks it for a certificate for localhost, proves it controls localhost by answering the CA's
# challenge on its own port, and serves with the certificate; demo_client and curl verify it
# against pebble's root. Validation is real: pebble's validator connects to demo_server.
#
# Usage: ./acme_lab.sh [tls-alpn-01|http-01]     (default: tls-alpn-01)
#
# Everything (pebble's config and its own HTTPS certificate, the logs) lives in a temporary
# folder, removed at the end with the processes the script started.
set -euo pipefail
cd "$(dirname "$0")"
challenge="${1:-tls-alpn-01}"

die() { echo "acme_lab.sh: $*" >&2; exit 1; }

case "$challenge" in
    tls-alpn-01|http-01) ;;
    *) die "unknown challenge '$challenge': use tls-alpn-01 or http-01" ;;
esac
# pebble, and ss (iproute2) to find the ports pebble binds: installed with apt when missing.
missing=()
command -v pebble >/dev/null 2>&1 || missing+=(pebble)
command -v ss >/dev/null 2>&1 || missing+=(iproute2)
if ((${#missing[@]})); then
    if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
        echo "Installing ${missing[*]} (apt-get)..."
        { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null; } ||
            die "apt-get could not install ${missing[*]}"
    else
        die "${missing[*]} not installed. Install (Debian/Ubuntu: sudo apt-get install ${missing[*]}), then run this again."
    fi
fi
for tool in openssl curl; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool is not installed (Debian/Ubuntu: sudo apt-get install $tool)."
done
command -v cargo >/dev/null 2>&1 || die "Rust is not installed: get it from https://rustup.rs"

echo "Building demo_server and demo_client (release)..."
cargo build --release --quiet --bin demo_server --bin demo_client
# shellcheck source=scripts/common.sh
source scripts/common.sh
bin=$(release_bin_dir)

work=$(mktemp -d)
pids=()
cleanup() { kill_all "${pids[@]}"; rm -rf "$work"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

# 1. pebble's own HTTPS certificate (its API, where demo_server talks ACME), from a throwaway CA:
#    demo_server trusts that CA for the directory only (--acme-ca), never for the site.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
    -keyout "$work/api_ca.key" -out "$work/api_ca.pem" -subj "/CN=acme_lab pebble API CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=localhost" \
    -keyout "$work/api.key" -out "$work/api.csr" 2>/dev/null
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\nauthorityKeyIdentifier=keyid\n' >"$work/api.ext"
openssl x509 -req -in "$work/api.csr" -CA "$work/api_ca.pem" -CAkey "$work/api_ca.key" -days 1 \
    -extfile "$work/api.ext" -out "$work/api.pem" 2>/dev/null

# 2. demo_server first, on a port the system picks: pebble must be told that port (its validator
#    connects there), and it reads it only at start. So demo_server waits for the directory URL
#    on its standard input (--acme -), which pebble has only once it runs.
mkfifo "$work/directory"
"$bin/demo_server" --listen 127.0.0.1:0 --acme - --acme-ca "$work/api_ca.pem" --acme-challenge "$challenge" \
    <>"$work/directory" >"$work/server.log" 2>&1 &
pids+=("$!")
server_pid=$!
wait_for "$work/server.log" "Listening on"
port=$(grep -m1 -o '127\.0\.0\.1:[0-9]*' "$work/server.log" | cut -d: -f2)

# 3. pebble, on loopback, its validator pointed at demo_server's port for both challenges.
#    PEBBLE_VA_NOSLEEP: no random delay before validating. PEBBLE_VA_ALWAYS_VALID stays unset:
#    the validation really happens.
cat >"$work/pebble.json" <<JSON
{
  "pebble": {
    "listenAddress": "127.0.0.1:0",
    "managementListenAddress": "127.0.0.1:0",
    "certificate": "$work/api.pem",
    "privateKey": "$work/api.key",
    "httpPort": $port,
    "tlsPort": $port,
    "ocspResponderURL": "",
    "externalAccountBindingRequired": false
  }
}
JSON
env -u PEBBLE_VA_ALWAYS_VALID PEBBLE_VA_NOSLEEP=1 pebble -config "$work/pebble.json" >"$work/pebble.log" 2>&1 &
pebble_pid=$!
pids+=("$pebble_pid")
# pebble binds two ports (port 0) and prints neither: find them, and tell the ACME API (which
# serves /dir) from the management API (which serves /roots/0).
directory="" management=""
for _ in $(seq 300); do
    ports=$(ss -Hltnp 2>/dev/null | grep "pid=$pebble_pid," | grep -o '127\.0\.0\.1:[0-9]*' | cut -d: -f2 || true)
    if [[ $(wc -w <<<"$ports") -ge 2 ]]; then
        for p in $ports; do
            if [[ $(curl -s -o /dev/null -w '%{http_code}' --cacert "$work/api_ca.pem" "https://127.0.0.1:$p/dir") == 200 ]]; then
                directory="https://127.0.0.1:$p/dir"
            else
                management="https://127.0.0.1:$p"
            fi
        done
        break
    fi
    kill -0 "$pebble_pid" 2>/dev/null || die "pebble stopped: $(cat "$work/pebble.log")"
    sleep 0.05
done
[[ -n "$directory" && -n "$management" ]] || die "pebble did not start its two APIs: $(cat "$work/pebble.log")"
curl -sS --cacert "$work/api_ca.pem" "$management/roots/0" -o "$work/pebble_root.pem" ||
    die "cannot fetch pebble's root from $management/roots/0"
echo "pebble runs: ACME directory $directory; its issuing root ($(openssl x509 -in "$work/pebble_root.pem" -noout -subject)) fetched from $management/roots/0."
echo "demo_server listens on port $port; pebble's validator will connect there ($challenge)."
echo

# 4. The order, as demo_server tells it.
echo "$directory" >"$work/directory"
for _ in $(seq 300); do
    grep -q "now serving https" "$work/server.log" && break
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.05
done
grep -E '^(ACME|demo_server: error)' "$work/server.log" | sed 's/^/  /'
grep -q "now serving https" "$work/server.log" || die "demo_server got no certificate (its log: $(cat "$work/server.log"))"
echo

# 5. Clients that trust pebble's root, and only it.
echo "$ demo_client --ca-file PEBBLE_ROOT https://localhost:$port/"
"$bin/demo_client" --ca-file "$work/pebble_root.pem" "https://localhost:$port/" | sed 's/^/  /'
echo "$ curl --cacert PEBBLE_ROOT https://localhost:$port/"
printf '  %s\n' "$(curl -sS --cacert "$work/pebble_root.pem" "https://localhost:$port/")"
echo
echo "Done: stopping demo_server and pebble."
