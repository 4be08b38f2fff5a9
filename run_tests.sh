#!/usr/bin/env bash
# Installs what the tests need when it is missing, then runs them and the benchmark's smoke mode
# (bench/run.sh --smoke, which installs its own tools): ./run_tests.sh [cargo test args]
#   apt (Debian/Ubuntu): openssl, curl, python3 with pip, testssl.sh (the `testssl` command),
#        tshark (the Wireshark lab), chromium and libnss3-tools (the browser test)
#   pip: sslyze 6.x (run as `python3 -m sslyze`, so no entry point on PATH is needed) and
#        cryptography (Fernet interoperability)
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
if ! python3 -c 'import sslyze, cryptography' 2>/dev/null && ! python3 -m pip --version >/dev/null 2>&1; then
    apt_packages+=(python3-pip)
fi
if ((${#apt_packages[@]})); then
    echo "run_tests.sh: installing ${apt_packages[*]} (apt-get)"
    "${sudo[@]}" apt-get update -qq
    # tshark asks whether non-root users may capture; the tests run as root and need no setuid.
    echo "wireshark-common wireshark-common/install-setuid boolean false" | "${sudo[@]}" debconf-set-selections 2>/dev/null || true
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${apt_packages[@]}"
fi

# sslyze into the python3 on PATH. A Debian system Python refuses pip installs (PEP 668) unless
# told otherwise; a pyenv or virtualenv Python takes the first form.
if ! python3 -c 'import sslyze, cryptography' 2>/dev/null; then
    echo "run_tests.sh: installing sslyze and cryptography (pip)"
    installed=false
    for extra in "" "--user" "--break-system-packages" "--user --break-system-packages"; do
        # shellcheck disable=SC2086 # $extra is zero, one or two options
        if python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore \
            $extra 'sslyze>=6,<7' cryptography; then
            installed=true
            break
        fi
    done
    if ! $installed || ! python3 -m sslyze --help >/dev/null || ! python3 -c 'import cryptography'; then
        echo "run_tests.sh: could not install sslyze and cryptography for $(command -v python3)" >&2
        exit 1
    fi
fi

# --no-fail-fast: one failing test binary does not hide the results of the others.
cargo test --workspace --no-fail-fast "$@"

# The benchmark in smoke mode: tiny counts, proves that every server and tool works, asserts
# nothing about speed. It installs its own tools (nginx, wrk, h2load, hyperfine, gunicorn).
# Skipped when arguments pick some of the tests.
if (($# == 0)); then
    bench/run.sh --smoke
fi
