#!/usr/bin/env bash
# The benchmark: demo_server against nginx, Python's http.server and gunicorn, on this machine,
# in one run, with ratios. See BENCHMARKS.md for what it measures and the latest results.
#
#   bench/run.sh           the full run (3 runs per server, about 6 minutes on 2 cores); writes
#                          the table and the chart into BENCHMARKS.md and bench/ratios.png
#   bench/run.sh --smoke   tiny counts, to prove every tool and server works (under 2 minutes);
#                          fails loudly when one does not, asserts nothing about speed, and
#                          leaves BENCHMARKS.md alone
#
# Installs what is missing: apt nginx, wrk, nghttp2-client (h2load), hyperfine, gnuplot-nox;
# gunicorn (pip, into a virtual environment in the build folder). Uses sudo for apt when not run as root. Every server is pinned to CPU 0 and every
# load generator to CPU 1 (taskset); each server gets one worker (one tokio worker thread).
# Ports BENCH_PORT_BASE+1..+4 (default 29441..29444, below the ephemeral range so that load generators never hold them) must be free.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

smoke=false
case "${1:-}" in
    "") ;;
    --smoke) smoke=true ;;
    -h | --help)
        sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'
        exit 0
        ;;
    *)
        echo "bench/run.sh: unknown argument $1 (try --help)" >&2
        exit 2
        ;;
esac

if $smoke; then
    runs=1 secs=1 hold=50 hf_runs=3
else
    runs=3 secs=4 hold=1000 hf_runs=20
fi
base=${BENCH_PORT_BASE:-29440}
declare -A port=([demo_server]=$((base + 1)) [nginx]=$((base + 2)) [python]=$((base + 3)) [gunicorn]=$((base + 4)))
servers=(demo_server nginx python gunicorn)

say() { echo "bench: $*" >&2; }
die() {
    echo "bench: FAILED: $*" >&2
    exit 1
}

# --- Tools ------------------------------------------------------------------------------------
sudo=()
[[ $(id -u) -eq 0 ]] || sudo=(sudo)
apt_packages=()
command -v nginx >/dev/null || [[ -x /usr/sbin/nginx ]] || apt_packages+=(nginx)
command -v wrk >/dev/null || apt_packages+=(wrk)
command -v h2load >/dev/null || apt_packages+=(nghttp2-client)
command -v hyperfine >/dev/null || apt_packages+=(hyperfine)
command -v gnuplot >/dev/null || apt_packages+=(gnuplot-nox)
command -v curl >/dev/null || apt_packages+=(curl)
command -v openssl >/dev/null || apt_packages+=(openssl)
command -v taskset >/dev/null || apt_packages+=(util-linux)
python3 -c 'import ensurepip, venv' 2>/dev/null || apt_packages+=(python3-venv)
if ((${#apt_packages[@]})); then
    say "installing ${apt_packages[*]} (apt-get)"
    "${sudo[@]}" apt-get update -qq
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${apt_packages[@]}"
fi
# gunicorn into the build folder's virtual environment, first on PATH from here on.
# shellcheck source=scripts/common.sh
source "$repo/scripts/common.sh"
python_venv gunicorn || die "could not install gunicorn"
nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)
(($(nproc) >= 2)) || die "needs 2 CPUs (server on one, load generator on the other); this machine has $(nproc)"

for name in "${servers[@]}"; do
    if (exec 3<>"/dev/tcp/127.0.0.1/${port[$name]}") 2>/dev/null; then
        die "port ${port[$name]} (for $name) is already taken; free it or set BENCH_PORT_BASE"
    fi
done

say "building demo_server, demo_client and demo_pki (release)"
cargo build --release --quiet --bin demo_server --bin demo_client --bin demo_pki
bin=$(release_bin_dir)

# --- Processes we start, and their end --------------------------------------------------------
tmp=$(mktemp -d "${TMPDIR:-/tmp}/https-demo-bench.XXXXXX")
chmod 700 "$tmp"
started=() # PIDs of everything started in the background

stop_pid() { # PID: TERM, up to 5 s, then KILL
    local pid=$1 i
    kill -TERM "$pid" 2>/dev/null || return 0
    for ((i = 0; i < 50; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}
cleanup() {
    local pid
    for pid in "${started[@]}"; do stop_pid "$pid"; done
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- Certificates: the repo's own demo_pki, one set per key type, plain keys in $tmp ----------
for kt in ecdsa-p256 rsa2048; do
    d=$tmp/$kt
    mkdir -m 700 "$d"
    "$bin/demo_pki" ca --no-passphrase --key-type "$kt" --cn "Bench CA" --cert "$d/ca.pem" --key "$d/ca.key" >/dev/null
    "$bin/demo_pki" csr --no-passphrase --key-type "$kt" --name localhost --name 127.0.0.1 \
        --key "$d/site.key" --csr "$d/site.csr" >/dev/null
    "$bin/demo_pki" sign --csr "$d/site.csr" --ca-cert "$d/ca.pem" --ca-key "$d/ca.key" --out "$d/site.pem" >/dev/null
done
say "certificates made with demo_pki in $tmp (ECDSA P-256 and RSA-2048)"

# --- Servers ----------------------------------------------------------------------------------
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true # hold 1,000 connections

write_nginx_conf() { # KEYDIR RESUMPTION(on|off) PORT -> nginx.conf in $tmp/nginx
    local d=$1 resume=$2 p=$3 cache=off
    [[ $resume == on ]] && cache=shared:SSL:10m
    mkdir -p "$tmp/nginx"
    cat >"$tmp/nginx/nginx.conf" <<EOF
worker_processes 1;
worker_rlimit_nofile 8192;
pid $tmp/nginx/nginx.pid;
error_log $tmp/nginx/error.log;
events { worker_connections 4096; }
http {
    access_log $tmp/nginx/access.log;
    client_body_temp_path $tmp/nginx;
    proxy_temp_path $tmp/nginx;
    fastcgi_temp_path $tmp/nginx;
    uwsgi_temp_path $tmp/nginx;
    scgi_temp_path $tmp/nginx;
    server {
        listen 127.0.0.1:$p ssl;
        ssl_certificate $d/site.pem;
        ssl_certificate_key $d/site.key;
        ssl_protocols TLSv1.3;
        ssl_session_cache $cache;
        ssl_session_tickets $resume;
        keepalive_requests 1000000;
        location / { default_type text/plain; return 200 "fluffy tail"; }
    }
}
EOF
}

pid= # the running server's PID
start_server() { # NAME KEYTYPE RESUMPTION(on|off)
    local name=$1 d=$tmp/$2 resume=$3 p=${port[$1]} log=$tmp/$1.log
    case $name in
        demo_server)
            local flags=()
            [[ $resume == off ]] && flags=(--no-resumption)
            taskset -c 0 "$bin/demo_server" --listen "127.0.0.1:$p" --cert "$d/site.pem" --key "$d/site.key" \
                --ca-file "$d/ca.pem" --threads 1 "${flags[@]}" >"$log" 2>&1 &
            ;;
        nginx)
            write_nginx_conf "$d" "$resume" "$p"
            taskset -c 0 "$nginx_bin" -p "$tmp/nginx" -c "$tmp/nginx/nginx.conf" -g 'daemon off;' >"$log" 2>&1 &
            ;;
        python)
            local flags=()
            [[ $resume == off ]] && flags=(--no-resumption)
            taskset -c 0 python3 "$repo/bench/peers/http_server.py" "$p" "$d/site.pem" "$d/site.key" "${flags[@]}" >"$log" 2>&1 &
            ;;
        gunicorn)
            BENCH_NO_RESUMPTION=$([[ $resume == off ]] && echo 1 || echo 0) taskset -c 0 \
                python3 -m gunicorn --chdir "$repo/bench/peers" -c "$repo/bench/peers/gunicorn_conf.py" \
                --workers 1 --worker-class gthread --threads 4 --worker-connections 4096 --keep-alive 75 \
                --certfile "$d/site.pem" --keyfile "$d/site.key" --bind "127.0.0.1:$p" gunicorn_app:app >"$log" 2>&1 &
            ;;
    esac
    pid=$!
    started+=("$pid")
    local i body
    for ((i = 0; i < 150; i++)); do
        kill -0 "$pid" 2>/dev/null || die "$name exited at startup: $(tail -5 "$log")"
        body=$(curl -s --max-time 2 --tlsv1.3 --http1.1 --cacert "$d/ca.pem" "https://127.0.0.1:$p/" 2>/dev/null) || true
        [[ $body == "fluffy tail" ]] && return 0
        sleep 0.1
    done
    die "$name did not answer \"fluffy tail\" on https://127.0.0.1:$p/ within 15 s: $(tail -5 "$log")"
}

forget() { # PID: no longer ours to stop
    local keep=() p
    for p in "${started[@]}"; do [[ $p == "$1" ]] || keep+=("$p"); done
    started=("${keep[@]}")
}

stop_server() {
    stop_pid "$pid"
    forget "$pid"
}

server_pids() { echo "$pid" $(pgrep -P "$pid" || true); }

cpu_ticks() { # utime+stime of the server and its children (nginx's worker, gunicorn's worker)
    local p total=0
    for p in $(server_pids); do
        total=$((total + $(sed 's/.*) //' "/proc/$p/stat" | awk '{print $12 + $13}')))
    done
    echo "$total"
}

rss_kb() {
    local p total=0
    for p in $(server_pids); do
        total=$((total + $(awk '/^VmRSS:/ {print $2}' "/proc/$p/status")))
    done
    echo "$total"
}

results=$tmp/results.tsv
record() { printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" >>"$results"; }
tick=$(getconf CLK_TCK)
us_per_op() { awk -v t="$1" -v n="$2" -v hz="$tick" 'BEGIN { printf "%.1f", t / hz * 1e6 / n }'; }

# Whether a second connection resumes the first one's session (TLS 1.3 tickets), as it must
# with resumption on and must not with it off.
check_resumption() { # NAME RESUMPTION
    local name=$1 want=$2 p=${port[$1]} sess=$tmp/session.pem got=off
    local request='GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n'
    rm -f "$sess"
    # s_client's exit status is 1 when a server closes without close_notify (Python), and it
    # saves no session when the server sends no ticket: judge by the answer and the session.
    local out
    out=$(printf "$request" | timeout 10 openssl s_client -connect "127.0.0.1:$p" -tls1_3 -alpn http/1.1 \
        -ign_eof -sess_out "$sess" 2>/dev/null) || true
    grep -q 'fluffy tail' <<<"$out" || die "$name: openssl s_client got no answer"
    if [[ -s $sess ]]; then
        out=$(printf "$request" | timeout 10 openssl s_client -connect "127.0.0.1:$p" -tls1_3 -alpn http/1.1 \
            -ign_eof -sess_in "$sess" 2>/dev/null) || true
        grep -q '^Reused, TLSv1.3' <<<"$out" && got=on
    fi
    rm -f "$sess"
    [[ $got == "$want" ]] || die "$name: session resumption is $got, but this row needs it $want"
}

keep_alive() { # NAME RUN: wrk, 50 connections
    local name=$1 run=$2 before after out
    before=$(cpu_ticks)
    out=$(taskset -c 1 timeout $((secs + 30)) wrk -t1 -c50 -d"${secs}s" --latency "https://127.0.0.1:${port[$name]}/") ||
        die "$name: wrk failed: $out"
    after=$(cpu_ticks)
    grep -q 'Non-2xx' <<<"$out" && die "$name: wrk got errors: $out"
    local n rps p99
    n=$(awk '/requests in/ {print $1}' <<<"$out")
    rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
    # wrk prints 99% latency as 1.23ms, 456.00us or 1.01s.
    p99=$(awk '$1 == "99%" { v = $2; u = v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v);
        printf "%.3f", v * (u == "us" ? 0.001 : u == "s" ? 1000 : u == "m" ? 60000 : 1) }' <<<"$out")
    [[ -n $n && $n -gt 0 && -n $rps && -n $p99 ]] || die "$name: cannot read wrk's output: $out"
    record "$name" keepalive_rps "$run" "$rps"
    record "$name" keepalive_p99_ms "$run" "$p99"
    record "$name" keepalive_cpu_us "$run" "$(us_per_op $((after - before)) "$n")"
}

h2load_close() { # PORT N: N requests on 50 connections, each closed after its answer
    taskset -c 1 timeout 120 h2load -c 50 -m 1 --h1 -H 'Connection: close' -n "$2" "https://127.0.0.1:$1/" 2>&1
}

handshakes() { # NAME ROW RUN: h2load, a new connection per request
    local name=$1 row=$2 run=$3 p=${port[$1]} before after out n
    # h2load's timed mode (-D) hangs at its end with Connection: close (nghttp2 1.52), so a
    # short first round (which also warms up) sizes the request count to last about $secs s.
    out=$(h2load_close "$p" 200) || die "$name: h2load failed: $out"
    n=$(awk -v s="$secs" '/^finished in/ { n = int($4 * s); print (n < 200 ? 200 : n) }' <<<"$out")
    [[ -n $n ]] || die "$name: cannot read h2load's output: $out"
    before=$(cpu_ticks)
    out=$(h2load_close "$p" "$n") || die "$name: h2load failed: $out"
    after=$(cpu_ticks)
    local ok failed rate
    ok=$(awk '/^requests:/ {print $8}' <<<"$out")
    failed=$(awk '/^requests:/ {print $10 + $12}' <<<"$out")
    rate=$(awk '/^finished in/ {print $4}' <<<"$out")
    [[ -n $ok && $ok -gt 0 ]] || die "$name: h2load completed no request: $out"
    ((failed == 0)) || die "$name: h2load: $failed of $n requests failed: $out"
    grep -q 'TLS Protocol: TLSv1.3' <<<"$out" || die "$name: h2load did not use TLS 1.3: $out"
    record "$name" "${row}_per_s" "$run" "$rate"
    record "$name" "${row}_cpu_us" "$run" "$(us_per_op $((after - before)) "$ok")"
}

idle_memory() { # NAME RUN: RSS growth while holding $hold idle keep-alive TLS connections
    local name=$1 run=$2 before after i holder fd
    before=$(rss_kb)
    rm -f "$tmp/hold.in" "$tmp/hold.out"
    mkfifo "$tmp/hold.in"
    taskset -c 1 python3 "$repo/bench/hold.py" "${port[$name]}" "$hold" <"$tmp/hold.in" >"$tmp/hold.out" 2>&1 &
    holder=$!
    started+=("$holder")
    exec {fd}>"$tmp/hold.in" # holds the holder's stdin open; closing it lets the holder go
    for ((i = 0; i < 600; i++)); do
        grep -q '^held' "$tmp/hold.out" && break
        kill -0 "$holder" 2>/dev/null || break
        sleep 0.1
    done
    grep -q "^held $hold\$" "$tmp/hold.out" || die "$name: could not hold $hold connections: $(tail -3 "$tmp/hold.out")"
    after=$(rss_kb)
    exec {fd}>&-
    stop_pid "$holder"
    forget "$holder"
    record "$name" idle_conn_bytes "$run" $(((after - before) * 1024 / hold))
}

client_vs_curl() { # demo_client and curl, one request each, against demo_server
    local d=$tmp/ecdsa-p256 url="https://127.0.0.1:${port[demo_server]}/"
    "$bin/demo_client" --ca-file "$d/ca.pem" "$url" | grep -q 'fluffy tail' || die "demo_client did not get the message"
    taskset -c 1 timeout 300 hyperfine -N --style basic --warmup 3 --runs "$hf_runs" --export-json "$tmp/hyperfine.json" \
        -n demo_client "$bin/demo_client --ca-file $d/ca.pem $url" \
        -n curl "curl -s --cacert $d/ca.pem $url" >"$tmp/hyperfine.txt" 2>&1 ||
        die "hyperfine failed: $(tail -5 "$tmp/hyperfine.txt")"
}

# --- The run ----------------------------------------------------------------------------------
load=$(cut -d' ' -f1-3 /proc/loadavg)
say "load average before: $load; $runs run(s) of ${secs} s per measurement"
started_at=$SECONDS
for ((run = 1; run <= runs; run++)); do
    for name in "${servers[@]}"; do
        say "run $run/$runs: $name"
        start_server "$name" ecdsa-p256 on
        check_resumption "$name" on
        keep_alive "$name" "$run"
        handshakes "$name" resumed "$run"
        idle_memory "$name" "$run"
        if [[ $name == demo_server && $run == 1 ]]; then client_vs_curl; fi
        stop_server
        start_server "$name" ecdsa-p256 off
        check_resumption "$name" off
        handshakes "$name" ecdsa_full "$run"
        stop_server
        start_server "$name" rsa2048 off
        check_resumption "$name" off
        handshakes "$name" rsa_full "$run"
        stop_server
    done
done
say "measured in $((SECONDS - started_at)) s"

# --- ACME issuance: a certificate from pebble, real validation (where pebble is installed) ---
acme_line=""
if command -v pebble >/dev/null; then
    say "ACME: demo_server gets a certificate from pebble (./acme_lab.sh)"
    acme_out=$("$repo/acme_lab.sh" 2>&1) || die "acme_lab.sh failed: $(tail -5 <<<"$acme_out")"
    took=$(grep -o 'certificate issued [0-9.]* s' <<<"$acme_out" | head -1 | grep -o '[0-9.]\+' || true)
    [[ -n $took ]] || die "acme_lab.sh printed no issuance time: $(tail -5 <<<"$acme_out")"
    acme_line="- ACME issuance (demo_server --acme, pebble, tls-alpn-01, PEBBLE_VA_NOSLEEP=1): $took s from the order to the certificate (target: under 2 s)"
    say "ACME issuance: $took s"
else
    say "pebble is not installed: no ACME issuance line (apt-get install pebble)"
fi

out=$tmp/report
mkdir -p "$out"
{
    echo "- When: $(date -u '+%Y-%m-%d %H:%M UTC'); load average before the run: $load (1, 5, 15 min)"
    echo "- CPU: $(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo), $(nproc) cores; RAM $(awk '/^MemTotal/ {printf "%.1f GB", $2 / 1048576}' /proc/meminfo); $(uname -sr)"
    echo "- $("$nginx_bin" -v 2>&1 | sed 's/^nginx version: //'), $(openssl version | cut -d' ' -f1-2), Python $(python3 -c 'import platform; print(platform.python_version())'), gunicorn $(python3 -m gunicorn --version | awk '{print $NF}' | tr -d ')'), $(rustc --version | cut -d' ' -f1-2)"
    echo "- wrk $(wrk -v 2>&1 | awk 'NR == 1 {print $2}'), h2load $(h2load --version | awk '{print $NF}'), $(hyperfine --version)"
    if [[ -n $acme_line ]]; then echo "$acme_line"; fi
} >"$tmp/machine.md"
report_flags=()
$smoke && report_flags=(--smoke)
python3 "$repo/bench/report.py" "$results" "$tmp/hyperfine.json" "$tmp/machine.md" "$out" "$runs" "$secs" "$hold" "${report_flags[@]}"
gnuplot -e "datafile='$out/ratios.dat'; outfile='$out/ratios.png'" "$repo/bench/ratios.gp" || die "gnuplot failed"
[[ -s $out/ratios.png ]] || die "gnuplot wrote no chart"
if $smoke; then
    say "smoke run passed: every server answered and every tool ran (numbers not kept)"
else
    python3 "$repo/bench/report.py" --update "$repo/BENCHMARKS.md" "$out/table.md"
    cp "$out/ratios.png" "$repo/bench/ratios.png"
    say "BENCHMARKS.md and bench/ratios.png updated"
fi
