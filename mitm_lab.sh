#!/usr/bin/env bash
# The man-in-the-middle lab: demo_server, and demo_mitm in front of it, on loopback. Each client
# in turn talks to the interceptor, believing it is the server; the table shows who refused the
# forged certificate, who was robbed, and what the attacker read.
#
# Usage: ./mitm_lab.sh [OUTPUT_FOLDER]     (default: mitm_lab_output)
set -euo pipefail
cd "$(dirname "$0")"
out="${1:-mitm_lab_output}"
ca=ca_certificates_for_client/ca_public_key.pem
token="Bearer lab-token-42"
cookie="session=lab-cookie-7"

die() { echo "mitm_lab.sh: $*" >&2; exit 1; }
command -v cargo >/dev/null 2>&1 || die "Rust is not installed: get it from https://rustup.rs"
command -v curl >/dev/null 2>&1 || die "curl is not installed (Debian/Ubuntu: sudo apt-get install curl)."

echo "Building demo_server, demo_mitm, demo_client and demo_pki (release)..."
cargo build --release --quiet --bin demo_server --bin demo_mitm --bin demo_client --bin demo_pki
# shellcheck source=scripts/common.sh
source scripts/common.sh
bin=$(release_bin_dir)
python_venv requests >/dev/null || die "cannot get Python's requests package (see the line above)."

mkdir -p "$out"
rm -f "$out"/*.log "$out"/attacker_ca.pem
pids=()
cleanup() { kill_all "${pids[@]}"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

"$bin/demo_server" --listen 127.0.0.1:0 --passphrase-file secret/reminder.txt >"$out/server.log" 2>&1 &
pids+=($!)
wait_for "$out/server.log" "Listening on"
server_port=$(grep -m1 -o '127\.0\.0\.1:[0-9]*' "$out/server.log" | cut -d: -f2)

"$bin/demo_mitm" --listen 127.0.0.1:0 --upstream "localhost:$server_port" --dir "$out" >"$out/mitm.log" 2>&1 &
pids+=($!)
wait_for "$out/mitm.log" "Listening on"
mitm_port=$(grep -m1 -o 'Listening on https://127\.0\.0\.1:[0-9]*' "$out/mitm.log" | sed 's/.*://')
url="https://localhost:$mitm_port/"
pin=$("$bin/demo_pki" inspect certificates/site_public_key.pem | sed -n 's/^ *Pin: *//p')
[[ $pin == sha256//* ]] || die "demo_pki inspect printed no pin for certificates/site_public_key.pem"

py_get='import sys, requests
verify = {"ca": sys.argv[2], "off": False}[sys.argv[1]]
r = requests.get(sys.argv[3], verify=verify, timeout=10, headers={"Authorization": sys.argv[4], "Cookie": sys.argv[5]})
print(r.text.strip())'

printf '\nWhat a man in the middle sees (demo_mitm on %s, relaying to demo_server on %s):\n' "$mitm_port" "$server_port"
printf '%-44s %-8s %-44s %s\n' "client" "verdict" "what the attacker read" "the client's words"
row() {
    local name=$1; shift
    local before status log="$out/client.$(echo "$name" | tr -c 'a-zA-Z0-9' '_').log"
    before=$(wc -l <"$out/mitm.log")
    status=0
    "$@" >"$log" 2>&1 || status=$?
    sleep 0.2 # the interceptor prints its line as the connection ends
    local new stolen verdict words
    new=$(tail -n +"$((before + 1))" "$out/mitm.log")
    stolen=$(grep '^STOLEN' <<<"$new" | head -1 | sed -e 's/^STOLEN from [^:]*:[0-9]* ([^)]*): //' || true)
    if ((status != 0)); then
        verdict=refused
    elif [[ -n $stolen ]]; then
        verdict=robbed
    else
        verdict=accepted
    fi
    [[ -n $stolen ]] || stolen="nothing"
    # The first line a client printed; Python's last (the exception after its traceback), and its
    # warning without the path of the module that raised it.
    if head -1 "$log" | grep -q '^Traceback'; then
        words=$(grep -v '^ *$' "$log" | tail -1)
        # OpenSSL's reason, buried in the exception's text.
        if grep -q 'CERTIFICATE_VERIFY_FAILED' <<<"$words"; then
            words="SSLError: $(grep -o '\[SSL: CERTIFICATE_VERIFY_FAILED\][^(]*' <<<"$words" | head -1)"
        fi
    else
        words=$(grep -v '^ *$' "$log" | head -1)
    fi
    words=$(sed -e 's/^.*: \(InsecureRequestWarning\)/\1/' <<<"$words" | cut -c1-110)
    printf '%-44s %-8s %-44s %s\n' "$name" "$verdict" "$stolen" "$words"
}
row "demo_client (trusts the demo CA)" "$bin/demo_client" "$url"
row "curl --cacert demo CA" curl -sS --max-time 10 --cacert "$ca" -H "Authorization: $token" "$url"
row "python requests verify=demo CA" python3 -c "$py_get" ca "$ca" "$url" "$token" "$cookie"
row "curl -k" curl -sS -k --max-time 10 -H "Authorization: $token" -H "Cookie: $cookie" "$url"
row "python requests verify=False" python3 -c "$py_get" off "" "$url" "$token" "$cookie"
row "demo_client --insecure" "$bin/demo_client" --insecure "$url"
row "demo_client --ca-file attacker_ca.pem" "$bin/demo_client" --ca-file "$out/attacker_ca.pem" "$url"
row "demo_client --ca-file attacker_ca.pem --pin" "$bin/demo_client" --ca-file "$out/attacker_ca.pem" --pin "$pin" "$url"
# The other half of the root-store lesson: a CA with name constraints, as the demo's. Its key
# "stolen" (made here, in a temporary folder, and deleted on exit), it forges with openssl,
# which checks nothing; demo_pki verify judges the forgeries as a client would.
if command -v openssl >/dev/null 2>&1; then
    nc=$(mktemp -d)
    trap 'cleanup; rm -rf "$nc"' EXIT
    (cd "$nc" && "$bin/demo_pki" ca --no-passphrase >/dev/null 2>&1) || die "demo_pki ca failed in $nc"
    printf '\nWhat a stolen key of a name-constrained CA (like the demo CA: localhost, 127.0.0.0/8, ::1) could forge:\n'
    for name in localhost example.com; do
        openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$nc/k.pem" \
            -subj "/CN=$name" -out "$nc/r.pem" 2>/dev/null
        openssl x509 -req -in "$nc/r.pem" -CA "$nc/ca_public_key.pem" -CAkey "$nc/ca_private_key.pem" -days 1 \
            -out "$nc/forged.pem" -extfile <(printf 'subjectAltName=DNS:%s\nextendedKeyUsage=serverAuth\nauthorityKeyIdentifier=keyid\nsubjectKeyIdentifier=hash\n' "$name") \
            >/dev/null 2>&1 || die "openssl could not sign the forgery for $name"
        if said=$("$bin/demo_pki" verify "$nc/forged.pem" --ca-file "$nc/ca_public_key.pem" --name "$name" 2>&1); then
            printf '%-44s %-8s %s\n' "  a forgery for $name" "accepted" "$(head -1 <<<"$said" | sed 's/^[^:]*: //' | cut -c1-100)"
        else
            printf '%-44s %-8s %s\n' "  a forgery for $name" "refused" "$(sed 's/^demo_pki: error: [^:]*: //' <<<"$said" | cut -c1-100)"
        fi
    done
    echo "  The attacker CA above has no name constraints: trusted, it is believed for every name."
fi

printf '\nThe interceptor'"'"'s log: %s/mitm.log; each client'"'"'s output: %s/client.*.log\n' "$out" "$out"
