# Shell functions sourced by the scripts (start_https_server.sh, wireshark_lab.sh, run_tests.sh,
# bench/run.sh).

# release_bin_dir: where `cargo build --release` puts the binaries: CARGO_TARGET_DIR,
# build.target-dir in a Cargo config, or target/, as Cargo itself decides.
release_bin_dir() {
    local dir
    dir=$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
    echo "${dir:-target}/release"
}

# python_venv: puts the Python packages the tests and the benchmark
# drive into a virtual environment in the build folder (never into the system Python), and puts
# that environment first on PATH, so that `python3` in the tests and scripts is its interpreter.
#   python_venv PACKAGE_SPEC...      e.g. python_venv 'sslyze>=6,<7' cryptography
# Needs python3 with the venv module (Debian: apt-get install python3-venv).
python_venv() {
    local venv
    venv="$(dirname "$(release_bin_dir)")/python-venv"
    if [[ ! -x "$venv/bin/python3" ]]; then
        echo "python_venv: making a Python virtual environment at $venv" >&2
        python3 -m venv "$venv" || {
            echo "python_venv: python3 cannot make a virtual environment; on Debian/Ubuntu: apt-get install python3-venv" >&2
            return 1
        }
    fi
    local missing=()
    local spec
    for spec in "$@"; do
        # The import name is the distribution name up to its version bounds.
        "$venv/bin/python3" -c "import ${spec%%[<>=]*}" 2>/dev/null || missing+=("$spec")
    done
    if ((${#missing[@]})); then
        echo "python_venv: installing ${missing[*]} (pip, into $venv)" >&2
        "$venv/bin/python3" -m pip install --quiet --disable-pip-version-check "${missing[@]}" || {
            echo "python_venv: pip could not install ${missing[*]} into $venv" >&2
            return 1
        }
    fi
    export VIRTUAL_ENV="$venv"
    export PATH="$venv/bin:$PATH"
}

# wait_for FILE PATTERN: waits (bounded: 15 s) until FILE, a background process's log, contains
# PATTERN (its "Listening on" line, say); calls the script's `die` with the log otherwise.
wait_for() {
    local file=$1 pattern=$2
    for _ in $(seq 300); do
        grep -q "$pattern" "$file" 2>/dev/null && return 0
        sleep 0.05
    done
    die "timed out waiting for \"$pattern\" in $file: $(cat "$file" 2>/dev/null)"
}

# kill_all PID...: ends the background processes the script started, by PID, and reaps them.
kill_all() {
    local pid
    for pid in "$@"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
}
