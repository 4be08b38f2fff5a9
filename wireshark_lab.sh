#!/usr/bin/env bash
# The Wireshark lab: the same secret sent four ways on loopback, each captured with tshark.
#   1. plain HTTP                       the secret is in the packets
#   2. plain HTTP + pre-shared Fernet   only a token is in the packets, but the key was shared beforehand
#   3. HTTPS, TLS 1.3 and h2            only TLS records; the certificate is encrypted too
#   4. HTTPS, TLS 1.2 and HTTP/1.1      only TLS records; the certificate travels in clear
#   5. HTTPS to a TLS-terminating proxy (demo_server --upstream) in front of a plain-HTTP origin:
#      encrypted on the client's leg, in clear on the origin's ("forwarded to your origin server,
#      unencrypted", as seed 004 says of Cloudflare)
# The captures and the TLS key log go to one folder, ready for Wireshark.
#
# Usage: ./wireshark_lab.sh [OUTPUT_FOLDER]     (default: wireshark_lab_output)
set -euo pipefail
cd "$(dirname "$0")"
out="${1:-wireshark_lab_output}"
secret="fluffy tail"

die() { echo "wireshark_lab.sh: $*" >&2; exit 1; }

command -v tshark >/dev/null 2>&1 ||
    die "tshark is not installed. Install it (Debian/Ubuntu: sudo apt-get install tshark), then run this again."
if ! tshark -D 2>/dev/null | grep -qw lo; then
    die "no right to capture on the loopback interface 'lo'. Run as root, or add yourself to the wireshark group \
(sudo usermod -aG wireshark \"\$USER\", then log in again)."
fi
command -v cargo >/dev/null 2>&1 || die "Rust is not installed: get it from https://rustup.rs"

echo "Building demo_server, demo_client and demo_pki (release)..."
cargo build --release --quiet --bin demo_server --bin demo_client --bin demo_pki
# shellcheck source=scripts/common.sh
source scripts/common.sh
bin=$(release_bin_dir)

mkdir -p "$out"
rm -f "$out"/*.pcapng "$out"/keys.log "$out"/*.log "$out"/fernet.key
pids=()
cleanup() { kill_all "${pids[@]}"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

# Starts demo_server with the given arguments on a free port; sets $port and $server_pid.
start_server() {
    local log=$1; shift
    "$bin/demo_server" --listen 127.0.0.1:0 "$@" >"$log" 2>&1 &
    server_pid=$!
    pids+=("$server_pid")
    wait_for "$log" "Listening on"
    port=$(grep -m1 -o '127\.0\.0\.1:[0-9]*' "$log" | cut -d: -f2)
}

# Captures one client run on $port (and on $also_port, when set): capture NAME CLIENT-ARGS...
capture() {
    local name=$1; shift
    local pcap="$out/$name.pcapng"
    tshark -i lo -f "tcp port $port${also_port:+ or tcp port $also_port}" -w "$pcap" >"$out/$name.tshark.log" 2>&1 &
    local tshark_pid=$!
    pids+=("$tshark_pid")
    wait_for "$out/$name.tshark.log" "Capture started"
    "$@" >"$out/$name.client.log" 2>&1 || die "the client failed for $name: $(cat "$out/$name.client.log")"
    # Let the last FIN/ACK reach the capture before stopping it.
    sleep 0.3
    kill -INT "$tshark_pid"
    wait "$tshark_pid" 2>/dev/null || true
    kill "$server_pid"
    wait "$server_pid" 2>/dev/null || true
}

hex_of() { printf '%s' "$1" | od -An -tx1 | tr -d ' \n'; }
# The TCP payload bytes of a capture, as one hex string.
payload_hex() { tshark -r "$1" -T fields -e tcp.payload 2>/dev/null | tr -d ':\n'; }
contains() { [[ "$(payload_hex "$1")" == *"$(hex_of "$2")"* ]] && echo yes || echo no; }
bytes_packets() {
    tshark -r "$1" -T fields -e frame.len 2>/dev/null | awk '{ s += $1; n += 1 } END { printf "%d bytes, %d packets", s, n }'
}
field() { tshark -r "$1" -Y "$2" -T fields -e "$3" 2>/dev/null | sed '/^$/d' | head -1; }
# The secret as tshark reads it from a capture, decrypted with the key log.
decrypted() {
    local data
    data=$(tshark -r "$1" -o "tls.keylog_file:$out/keys.log" -Y 'http || http2' \
        -T fields -e http.file_data -e http2.data.data 2>/dev/null | tr -d '\t\n')
    if [[ "$data" == *"$secret"* || "$data" == *"$(hex_of "$secret")"* ]]; then echo yes; else echo no; fi
}

echo "1/5 plain HTTP"
start_server "$out/http.server.log" --plain-http
capture http "$bin/demo_client" "http://127.0.0.1:$port/"

echo "2/5 plain HTTP with a pre-shared Fernet key"
SECRET_KEY=$("$bin/demo_pki" fernet-key 2>/dev/null)
export SECRET_KEY
# Kept beside the capture, so that you can decrypt the token you see in it yourself.
(umask 077 && printf '%s\n' "$SECRET_KEY" >"$out/fernet.key")
start_server "$out/fernet.server.log" --fernet
capture fernet "$bin/demo_client" --fernet "http://127.0.0.1:$port/"
token=$(grep -o 'gAAAAA[A-Za-z0-9_=-]*' <<<"$(tshark -r "$out/fernet.pcapng" -Y http -T fields -e http.file_data 2>/dev/null)" | head -1 || true)

echo "3/5 HTTPS: TLS 1.3, h2"
start_server "$out/https-tls13.server.log" --passphrase-file secret/reminder.txt
capture https-tls13 env SSLKEYLOGFILE="$out/keys.log" "$bin/demo_client" "https://localhost:$port/"

echo "4/5 HTTPS: TLS 1.2, HTTP/1.1"
start_server "$out/https-tls12.server.log" --passphrase-file secret/reminder.txt --tls-max 1.2 --http1-only
capture https-tls12 env SSLKEYLOGFILE="$out/keys.log" "$bin/demo_client" "https://localhost:$port/"

echo "5/5 HTTPS to a TLS-terminating proxy, plain HTTP from it to the origin"
# The origin is the same app in plain HTTP; the proxy terminates TLS and forwards to it.
start_server "$out/origin.server.log" --plain-http
origin_port=$port; origin_pid=$server_pid
start_server "$out/proxy.server.log" --passphrase-file secret/reminder.txt --upstream "http://127.0.0.1:$origin_port"
also_port=$origin_port
capture proxy "$bin/demo_client" "https://localhost:$port/"
also_port=
kill "$origin_pid"
wait "$origin_pid" 2>/dev/null || true

row() { printf '%-34s %-22s %-22s %-26s %-26s\n' "$@"; }
cert_in_clear() { [ -n "$(field "$1" 'tls.handshake.type == 11' tls.handshake.type)" ] && echo "yes, readable" || echo "no, encrypted"; }
h="$out/http.pcapng"; f="$out/fernet.pcapng"; t3="$out/https-tls13.pcapng"; t2="$out/https-tls12.pcapng"
echo
echo "What an eavesdropper on loopback saw:"
row "" "HTTP" "HTTP + Fernet" "HTTPS (TLS 1.3, h2)" "HTTPS (TLS 1.2, HTTP/1.1)"
row "\"$secret\" in the packets" "$(contains "$h" "$secret")" "$(contains "$f" "$secret")" "$(contains "$t3" "$secret")" "$(contains "$t2" "$secret")"
row "Fernet token in the packets" "-" "$([ -n "$token" ] && contains "$f" "$token" || echo no)" \
    "$([ -n "$token" ] && contains "$t3" "$token" || echo no)" "$([ -n "$token" ] && contains "$t2" "$token" || echo no)"
row "readable instead" "request, headers" "headers, the token" \
    "SNI $(field "$t3" tls.handshake.extensions_server_name tls.handshake.extensions_server_name)" \
    "SNI $(field "$t2" tls.handshake.extensions_server_name tls.handshake.extensions_server_name)"
row "ALPN offered in clear" "-" "-" "$(field "$t3" tls.handshake.extensions_alpn_str tls.handshake.extensions_alpn_str)" \
    "$(field "$t2" tls.handshake.extensions_alpn_str tls.handshake.extensions_alpn_str)"
row "server certificate" "none" "none" "$(cert_in_clear "$t3")" "$(cert_in_clear "$t2")"
row "bytes and packets" "$(bytes_packets "$h")" "$(bytes_packets "$f")" "$(bytes_packets "$t3")" "$(bytes_packets "$t2")"
row "secret recovered with the key log" "-" "-" "$(decrypted "$t3")" "$(decrypted "$t2")"
# The two legs of the proxy's capture, each on its own port.
p="$out/proxy.pcapng"
leg_hex() { tshark -r "$p" -Y "tcp.port == $1" -T fields -e tcp.payload 2>/dev/null | tr -d ':\n'; }
on_leg() { [[ "$(leg_hex "$1")" == *"$(hex_of "$secret")"* ]] && echo yes || echo no; }
xff=$(tshark -r "$p" -d "tcp.port==$origin_port,http" -Y http.x_forwarded_for -T fields -e http.x_forwarded_for 2>/dev/null | head -1)
leg() { printf '%-34s %-28s %-28s\n' "$@"; }
echo
echo "Behind a TLS-terminating proxy (demo_server --upstream): encrypted to the proxy, in clear to the origin:"
leg "" "client -> proxy (HTTPS)" "proxy -> origin (HTTP)"
leg "\"$secret\" on this leg" "$(on_leg "$port")" "$(on_leg "$origin_port")"
leg "readable on this leg" "SNI $(field "$p" "tcp.port == $port && tls.handshake.extensions_server_name" tls.handshake.extensions_server_name)" \
    "request, X-Forwarded-For: ${xff:-none}"
echo "Whoever can watch the origin's leg reads everything: keep it on this machine (demo_server forwards to loopback only)."
echo
echo "The captures and the key log are in $out/:"
ls -1 "$out"/*.pcapng "$out"/keys.log "$out"/fernet.key | sed 's/^/  /'
echo "Open one in Wireshark (wireshark $t3). To decrypt the HTTPS ones: Edit, Preferences, Protocols, TLS,"
echo "(Pre)-Master-Secret log filename: $out/keys.log. Whoever holds that file can read the traffic."
