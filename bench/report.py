"""Turns bench/run.sh's measurements into the tables and the chart's data.

  report.py RESULTS.tsv HYPERFINE.json MACHINE.md OUTDIR RUNS SECS HOLD
      writes OUTDIR/table.md (Markdown) and OUTDIR/ratios.dat (for ratios.gp), prints the table
  report.py --update BENCHMARKS.md TABLE.md
      replaces what lies between the bench markers in BENCHMARKS.md with TABLE.md
"""

import json
import statistics
import sys
from collections import defaultdict

SERVERS = ["demo_server", "nginx", "python", "gunicorn"]
HEADERS = ["demo_server", "nginx", "Python http.server", "gunicorn"]
ROWS = [  # metric, label, format
    ("keepalive_rps", "keep-alive requests/s (wrk, 50 connections)", "{:,.0f}"),
    ("keepalive_p99_ms", "keep-alive p99 latency, ms", "{:.2f}"),
    ("keepalive_cpu_us", "server CPU per keep-alive request, µs", "{:.1f}"),
    ("ecdsa_full_per_s", "full TLS 1.3 handshakes/s, ECDSA P-256", "{:,.0f}"),
    ("ecdsa_full_cpu_us", "server CPU per ECDSA handshake, µs", "{:.0f}"),
    ("rsa_full_per_s", "full TLS 1.3 handshakes/s, RSA-2048", "{:,.0f}"),
    ("rsa_full_cpu_us", "server CPU per RSA handshake, µs", "{:.0f}"),
    ("resumed_per_s", "resumed handshakes/s (ECDSA)", "{:,.0f}"),
    ("resumed_cpu_us", "server CPU per resumed handshake, µs", "{:.0f}"),
    ("idle_conn_bytes", "memory per idle keep-alive TLS connection, bytes", "{:,.0f}"),
]
# demo_server / nginx, lower is better: (metric, label, target). "About the target, within
# 10%": a ratio up to target * 1.1 meets it.
NGINX_TARGETS = [
    ("rsa_full_cpu_us", "CPU per RSA handshake", 0.75),
    ("ecdsa_full_cpu_us", "CPU per ECDSA handshake", 0.53),
    ("resumed_cpu_us", "CPU per resumed handshake", 0.63),
    ("keepalive_cpu_us", "CPU per keep-alive request", 0.9),
]
THROUGHPUT = ["keepalive_rps", "ecdsa_full_per_s", "rsa_full_per_s", "resumed_per_s"]


def load(path):
    values = defaultdict(list)
    with open(path) as f:
        for line in f:
            server, metric, _run, value = line.rstrip("\n").split("\t")
            values[server, metric].append(float(value))
    return values


def cell(vals, fmt):
    if not vals:
        return "-"
    med = fmt.format(statistics.median(vals))
    if len(vals) == 1:
        return med
    return f"{med} ({fmt.format(min(vals))}–{fmt.format(max(vals))})"


def report(results, hyperfine, machine, outdir, runs, secs, hold, smoke=False):
    values = load(results)
    med = {k: statistics.median(v) for k, v in values.items()}
    out = []
    if smoke:
        out.append(
            "SMOKE RESULT: every server answered and every tool ran. The counts are far too small to "
            "measure anything, so the figures are noise and no ratio is judged against its target; "
            "`bench/run.sh` (without --smoke) measures.\n"
        )
    out.append(f"Median of {runs} run(s) (min–max in brackets); each measurement lasts {secs} s.\n")
    out.append(machine.rstrip("\n") + "\n")
    out.append("| | " + " | ".join(HEADERS) + " |")
    out.append("|---|" + "---:|" * len(SERVERS))
    for metric, label, fmt in ROWS:
        out.append(f"| {label} | " + " | ".join(cell(values.get((s, metric), []), fmt) for s in SERVERS) + " |")
    out.append(f"\nMemory: the servers' RSS growth while {hold:,} idle keep-alive connections are held, divided by {hold:,}.\n")

    hf = {r["command"]: r for r in json.load(open(hyperfine))["results"]}
    ms = lambda r, k: r[k] * 1000  # noqa: E731
    out.append("| one request, wall time (hyperfine) | median, ms | mean ± σ, ms | min–max, ms |")
    out.append("|---|---:|---:|---:|")
    for name in ["demo_client", "curl"]:
        r = hf[name]
        out.append(
            f"| `{name}` | {ms(r, 'median'):.1f} | {ms(r, 'mean'):.1f} ± {ms(r, 'stddev'):.1f} | "
            f"{ms(r, 'min'):.1f}–{ms(r, 'max'):.1f} |"
        )

    rows, chart = [], []
    for metric, label, target in NGINX_TARGETS:
        ratio = med[("demo_server", metric)] / med[("nginx", metric)]
        ok = ratio <= target * 1.1
        rows.append((f"demo_server / nginx, {label}", f"{ratio:.2f}", f"≈ {target} (≤ {target * 1.1:.2f})", ok))
        chart.append((label.replace("CPU per ", "CPU/").replace(" handshake", "").replace(" request", ""), ratio, target))
    mine, theirs = med[("demo_server", "idle_conn_bytes")], med[("nginx", "idle_conn_bytes")]
    if mine > 0 and theirs > 0:
        ratio = mine / theirs
        rows.append(("demo_server / nginx, memory per idle connection", f"{ratio:.2f}", "< 1", ratio < 1))
        chart.append(("memory/idle conn", ratio, 1.0))
    else:
        # RSS can shrink while a few connections are held (the allocator gives pages back):
        # with the smoke run's 50 connections the growth is noise, and no ratio is honest.
        rows.append(("demo_server / nginx, memory per idle connection", "-", "< 1", None))
    client = hf["demo_client"]["median"] / hf["curl"]["median"]
    rows.append(("demo_client / curl, one request (median wall time)", f"{client:.2f}", "≤ 1", client <= 1))
    chart.append(("demo_client/curl", client, 1.0))
    for peer, name in [("python", "Python http.server"), ("gunicorn", "gunicorn")]:
        for metric in THROUGHPUT:
            ratio = med[("demo_server", metric)] / med[(peer, metric)]
            label = next(lbl for m, lbl, _ in ROWS if m == metric)
            rows.append((f"demo_server / {name}, {label}", f"{ratio:.1f}×", "≥ 10×", ratio >= 10))
    out.append("\n| ratio (same run) | measured | target | |")
    out.append("|---|---:|---:|---|")
    for label, measured, target, ok in rows:
        if smoke:
            verdict = "smoke: not judged"
        elif ok is None:
            verdict = "not measured (RSS did not grow)"
        else:
            verdict = "met" if ok else "**missed**"
        out.append(f"| {label} | {measured} | {target} | {verdict} |")
    out.append("\n![demo_server / nginx and demo_client / curl: measured ratios against targets](bench/ratios.png)")
    text = "\n".join(out) + "\n"
    with open(f"{outdir}/table.md", "w") as f:
        f.write(text)
    with open(f"{outdir}/ratios.dat", "w") as f:
        f.write("# label measured target\n")
        for label, measured, target in chart:
            f.write(f'"{label}" {measured:.3f} {target}\n')
    print(text)


BEGIN, END = "<!-- bench/run.sh writes from here -->", "<!-- to here -->"


def update(doc, table):
    text = open(doc).read()
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    with open(doc, "w") as f:
        f.write(head + BEGIN + "\n" + open(table).read() + END + tail)


if __name__ == "__main__":
    if sys.argv[1] == "--update":
        update(sys.argv[2], sys.argv[3])
    else:
        smoke = "--smoke" in sys.argv[8:]
        r, h, m, o, runs, secs, hold = sys.argv[1:8]
        report(r, h, open(m).read(), o, int(runs), secs, int(hold), smoke)
