#!/usr/bin/env bash
# Installs what the tests need when it is missing, then runs them and the benchmark's smoke mode
# (bench/run.sh --smoke, which installs its own tools): ./run_tests.sh [cargo test args]
#   apt (Debian/Ubuntu): openssl, curl, python3 with venv, testssl.sh (the `testssl` command),
#        tshark (the Wireshark lab), chromium and libnss3-tools (the browser test), pebble (the ACME tests)
#   pip, into a virtual environment in the build folder (scripts/python_venv.sh): sslyze 6.x,
#        cryptography (Fernet interoperability), requests, flask and gunicorn (the recipes)
#   apt, for the README's recipes: nginx, uwsgi-core, uwsgi-plugin-python3, caddy
# Uses sudo for apt when not run as root.
set -euo pipefail
cd "$(dirname "$0")"

sudo=()
if [[ $(id -u) -ne 0 ]]; then
    sudo=(sudo)
fi

apt_packages=()
command -v openssl >/dev/null || apt_packages+=(openssl)
command -v curl >/dev/null || apt_packages+=(curl)
command -v testssl >/dev/null || apt_packages+=(testssl.sh)
command -v python3 >/dev/null || apt_packages+=(python3)
command -v tshark >/dev/null || apt_packages+=(tshark)
command -v chromium >/dev/null || apt_packages+=(chromium)
command -v certutil >/dev/null || apt_packages+=(libnss3-tools)
# The README's recipes (tests/recipes.rs): our certificate in nginx, uwsgi and Caddy.
command -v nginx >/dev/null || apt_packages+=(nginx)
command -v uwsgi >/dev/null || apt_packages+=(uwsgi-core)
[[ -e /usr/lib/uwsgi/plugins/python3_plugin.so ]] || apt_packages+=(uwsgi-plugin-python3)
command -v caddy >/dev/null || apt_packages+=(caddy)
# Let's Encrypt's ACME test server, the CA of the acme tests and ./acme_lab.sh.
command -v pebble >/dev/null || apt_packages+=(pebble)
# Debian's python3 makes virtual environments only with python3-venv (ensurepip).
python3 -c 'import ensurepip, venv' 2>/dev/null || apt_packages+=(python3-venv)
if ((${#apt_packages[@]})); then
    echo "run_tests.sh: installing ${apt_packages[*]} (apt-get)"
    "${sudo[@]}" apt-get update -qq
    # tshark asks whether non-root users may capture; the tests run as root and need no setuid.
    echo "wireshark-common wireshark-common/install-setuid boolean false" | "${sudo[@]}" debconf-set-selections 2>/dev/null || true
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${apt_packages[@]}"
fi

# Python packages into a virtual environment in the build folder, first on PATH from here on.
# shellcheck source=scripts/common.sh
source scripts/common.sh
python_venv 'sslyze>=6,<7' cryptography requests
# The README's recipes serve the seed's Flask app with gunicorn (and uwsgi, from this venv).
python_venv flask gunicorn

# The release build, once: the start-script and Wireshark-lab tests and the benchmark use it.
cargo build --release --workspace --quiet

# --no-fail-fast: one failing test binary does not hide the results of the others.
cargo test --workspace --no-fail-fast "$@"

# The benchmark in smoke mode: tiny counts, proves that every server and tool works, asserts
# nothing about speed. It installs its own tools (nginx, wrk, h2load, hyperfine, gunicorn).
# Skipped when arguments pick some of the tests.
if (($# == 0)); then
    bench/run.sh --smoke
fi
