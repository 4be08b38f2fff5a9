#!/usr/bin/env bash
# Starts the HTTPS demo server on https://localhost:8080/ with the bundled certificate and key.
# Extra arguments go to demo_server, e.g.: ./start_https_server.sh --listen 127.0.0.1:8443
# Mutual TLS: ./start_https_server.sh --client-auth optional (or required) asks visitors for a
# certificate from the bundled client CA (certificates/client_ca_public_key.pem; --client-ca FILE
# for another), such as alice's: demo_client --cert clients/alice.pem --key clients/alice_key.pem
# --passphrase-file secret/reminder.txt
# Then, in a second terminal: cargo run --release --bin demo_client
set -euo pipefail
cd "$(dirname "$0")"

if ! command -v cargo >/dev/null 2>&1; then
    echo "start_https_server.sh: Rust is not installed. Install it from https://rustup.rs, then run this again." >&2
    exit 1
fi
echo "Building demo_server and demo_pki (release; the first build takes a few minutes)..."
cargo build --release --quiet --bin demo_server --bin demo_pki
# shellcheck source=scripts/common.sh
source scripts/common.sh
bin=$(release_bin_dir)
for b in demo_server demo_pki; do
    if [ ! -x "$bin/$b" ]; then
        echo "start_https_server.sh: the build did not leave $bin/$b. Run \`cargo build --release\` to see why, then run this again." >&2
        exit 1
    fi
done

regenerate() {
    echo "$1: making a fresh set with demo_pki (a new CA; the client trusts the new one)."
    "$bin/demo_pki" demo --root . --force
}

set_files=(certificates/site_public_key.pem certificates/site_private_key.pem secret/reminder.txt
    ca_certificates_for_client/ca_public_key.pem certificates/client_ca_public_key.pem
    clients/alice.pem clients/alice_key.pem)
for f in "${set_files[@]}"; do
    if [ ! -f "$f" ]; then
        regenerate "The bundled certificate set is incomplete ($f is missing)"
        break
    fi
done
if ! check=$("$bin/demo_pki" verify certificates/site_public_key.pem 2>&1); then
    case "$check" in
        # The titles of the two date failures (FailureKind::Expired and NotYetValid in tls/failure.rs).
        *"expired certificate"* | *"certificate not valid yet"*)
            echo "$check"
            regenerate "The bundled certificate is out of date"
            ;;
        *)
            # Someone's own certificate: report it, but never overwrite it.
            echo "$check" >&2
            echo "Starting anyway: demo_client will refuse this server until the certificate verifies." >&2
            ;;
    esac
fi

exec "$bin/demo_server" --passphrase-file secret/reminder.txt "$@"
