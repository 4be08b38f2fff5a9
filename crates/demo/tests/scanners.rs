//! demo_server as outside tools see it: sslyze's check against Mozilla's "intermediate"
//! configuration, testssl.sh's protocol, cipher and vulnerability checks, and the server's
//! resident memory after a flood and both scans.
//!
//! The tools are required: a missing one fails its test with the command that installs it
//! (./run_tests.sh installs both). All traffic stays on 127.0.0.1 (no DNS look-ups either).
//!
//! The figures (tool run times, findings, memory) are written straight to the test process's
//! stderr, which `cargo test` does not capture, so they show in CI's log even when every test
//! passes. The tests of this file run one at a time (a lock), so that neither the scanners nor
//! the memory figures are disturbed by another test's load.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use rustls::{ClientConfig, ClientConnection, StreamOwned};
use rustls_pki_types::ServerName;
use support::*;

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Holds the lock for one test and, when dropped (passed or failed), shows how long it took.
struct OneAtATime {
    _lock: MutexGuard<'static, ()>,
    test: &'static str,
    started: Instant,
}

impl Drop for OneAtATime {
    fn drop(&mut self) {
        show(format!(
            "{} took {:.1} s",
            self.test,
            self.started.elapsed().as_secs_f64()
        ));
    }
}

fn one_at_a_time(test: &'static str) -> OneAtATime {
    OneAtATime {
        _lock: ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner()),
        test,
        started: Instant::now(),
    }
}

/// A line for the record, on the real stderr (not the test harness's capture).
fn show(line: impl AsRef<str>) {
    let mut err = std::io::stderr().lock();
    for l in line.as_ref().lines() {
        let _ = writeln!(err, "[scanners] {l}");
    }
}

const SSLYZE_INSTALL: &str = "install it with `python3 -m pip install 'sslyze>=6,<7'` (or run ./run_tests.sh, which installs what the tests need)";
const TESTSSL_INSTALL: &str = "install it with `apt-get install testssl.sh` (or run ./run_tests.sh, which installs what the tests need)";

/// Runs `program args` briefly to see that it works; the error says what failed.
fn probe(program: &str, args: &[&str]) -> Result<(), String> {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run `{program}`: {e}"))?;
    let mut stderr = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let status = child.wait_timeout(Duration::from_secs(60));
    if status.is_none() {
        let _ = child.kill();
        let _ = child.wait();
    }
    let err = reader.join().unwrap_or_default();
    match status {
        Some(s) if s.success() => Ok(()),
        Some(s) => Err(format!(
            "`{program} {}` failed ({s}): {}",
            args.join(" "),
            err.trim()
        )),
        None => Err(format!("`{program} {}` hung", args.join(" "))),
    }
}

fn require_sslyze() {
    if let Err(e) = probe("python3", &["-m", "sslyze", "--help"]) {
        panic!("sslyze is missing ({e}): {SSLYZE_INSTALL}");
    }
}

fn require_testssl() {
    if let Err(e) = probe("testssl", &["--version"]) {
        panic!("testssl.sh is missing ({e}): {TESTSSL_INSTALL}");
    }
}

/// sslyze's full scan and its check against Mozilla's intermediate configuration, trusting the
/// bundled CA. The target's `{127.0.0.1}` gives the address, so no name is looked up, while
/// `localhost` is still the name sent (SNI) and checked.
fn sslyze(port: u16) -> Command {
    let mut cmd = Command::new("python3");
    cmd.current_dir(repo())
        .args(["-m", "sslyze", "--mozilla_config=intermediate"])
        .arg("--certinfo_ca_file")
        .arg(ca_file())
        .arg(format!("localhost:{port}{{127.0.0.1}}"));
    cmd
}

/// testssl.sh: protocols (-p), cipher categories (-s) and vulnerabilities (-U), findings as
/// flat JSON. `--ip` and `--nodns none` keep it on 127.0.0.1 with no DNS look-up; `--warnings
/// batch` makes it stop rather than prompt (there is no terminal).
fn testssl(port: u16, json: &Path) -> Command {
    let mut cmd = Command::new("testssl");
    cmd.current_dir(repo())
        .args(["--quiet", "--color", "0", "--warnings", "batch"])
        .args(["--ip", "127.0.0.1", "--nodns", "none"])
        .args(["--connect-timeout", "10", "--openssl-timeout", "10"])
        .args(["-p", "-s", "-U"])
        .arg("--add-ca")
        .arg(ca_file())
        .arg("--jsonfile")
        .arg(json)
        .arg(format!("https://localhost:{port}"));
    cmd
}

const SSLYZE_LIMIT: Duration = Duration::from_secs(180);
const TESTSSL_LIMIT: Duration = Duration::from_secs(420);

fn timed(what: &str, cmd: &mut Command, limit: Duration) -> Output {
    let started = Instant::now();
    let out = run_bounded(cmd, limit);
    show(format!(
        "{what} took {:.1} s ({})",
        started.elapsed().as_secs_f64(),
        out.status
    ));
    out
}

/// The part of sslyze's report after its "COMPLIANCE AGAINST TLS CONFIGURATION" heading.
fn compliance_part(report: &str) -> Option<String> {
    let at = report.find("COMPLIANCE AGAINST TLS CONFIGURATION")?;
    Some(report[at..].trim_end().to_string())
}

fn assert_server_sane(server: &Server) {
    let logs = server.logs();
    assert!(
        !logs.contains("panicked"),
        "demo_server panicked during the scan:\n{logs}"
    );
    let out = curl(&["--cacert", ca_file().to_str().unwrap(), &server.url("/")]);
    assert_eq!(
        text(&out.stdout),
        SECRET,
        "demo_server no longer serves after the scan: {}",
        text(&out.stderr)
    );
}

#[test]
fn sslyze_finds_the_server_compliant_with_mozilla_intermediate() {
    let _one = one_at_a_time("sslyze_finds_the_server_compliant_with_mozilla_intermediate");
    require_sslyze();
    let server = Server::start(&[]);
    let out = timed("sslyze", &mut sslyze(server.port), SSLYZE_LIMIT);
    let report = text(&out.stdout);
    let compliance = compliance_part(&report).unwrap_or_else(|| {
        panic!(
            "sslyze did not check the server against Mozilla's configuration ({}):\n{report}\n{}",
            out.status,
            text(&out.stderr)
        )
    });
    show(&compliance);
    assert!(
        report.contains("Supplied CA file CA Store (N/A):   OK - Certificate is trusted"),
        "sslyze did not trust the server's chain with the bundled CA:\n{report}"
    );
    assert!(
        out.status.success(),
        "sslyze finds the server NOT compliant with Mozilla's intermediate configuration ({}):\n\
         {compliance}\n\n--- sslyze's whole report ---\n{report}\n--- its stderr ---\n{}",
        out.status,
        text(&out.stderr)
    );
    assert_server_sane(&server);
}

/// One finding of testssl.sh's flat JSON.
struct Finding {
    id: String,
    severity: String,
    finding: String,
}

fn findings(json: &Path) -> Vec<Finding> {
    let raw = std::fs::read_to_string(json)
        .unwrap_or_else(|e| panic!("testssl wrote no JSON at {}: {e}", json.display()));
    let value: serde_json::Value = serde_json::from_str(&raw)
        .unwrap_or_else(|e| panic!("testssl's JSON does not parse ({e}):\n{raw}"));
    let field = |f: &serde_json::Value, name: &str| {
        f.get(name)
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_string()
    };
    value
        .as_array()
        .unwrap_or_else(|| panic!("testssl's JSON is not a list of findings:\n{raw}"))
        .iter()
        .map(|f| Finding {
            id: field(f, "id"),
            severity: field(f, "severity"),
            finding: field(f, "finding"),
        })
        .collect()
}

/// What each of -p, -s and -U must have reported, so that a scan that stopped early fails.
const EXPECTED_IDS: &[&str] = &[
    "SSLv2",
    "SSLv3",
    "TLS1",
    "TLS1_1",
    "TLS1_2",
    "TLS1_3",
    "cipherlist_NULL",
    "cipherlist_EXPORT",
    "cipherlist_STRONG",
    "heartbleed",
    "CCS",
    "ROBOT",
    "secure_renego",
    "secure_client_renego",
    "CRIME_TLS",
    "POODLE_SSL",
    "fallback_SCSV",
    "SWEET32",
    "FREAK",
    "LOGJAM",
    "BEAST",
    "LUCKY13",
    "RC4",
];

#[test]
fn testssl_finds_nothing_of_medium_severity_or_above() {
    let _one = one_at_a_time("testssl_finds_nothing_of_medium_severity_or_above");
    require_testssl();
    let server = Server::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("testssl.json");
    let out = timed("testssl", &mut testssl(server.port, &json), TESTSSL_LIMIT);
    let screen = text(&out.stdout);
    assert!(
        out.status.success() && json.exists(),
        "testssl failed ({}):\n{screen}\n{}",
        out.status,
        text(&out.stderr)
    );
    let all = findings(&json);
    for f in &all {
        show(format!(
            "testssl {:<8} {:<24} {}",
            f.severity, f.id, f.finding
        ));
    }
    let missing: Vec<_> = EXPECTED_IDS
        .iter()
        .filter(|id| !all.iter().any(|f| f.id == **id))
        .collect();
    assert!(
        missing.is_empty(),
        "testssl's scan is incomplete: no finding for {missing:?}:\n{screen}"
    );
    let bad: Vec<String> = all
        .iter()
        .filter(|f| {
            matches!(
                f.severity.as_str(),
                "MEDIUM" | "HIGH" | "CRITICAL" | "WARN" | "FATAL"
            )
        })
        .map(|f| format!("{} {}: {}", f.severity, f.id, f.finding))
        .collect();
    assert!(
        bad.is_empty(),
        "testssl reports (WARN and FATAL are problems of the scan itself):\n{}\n\n--- its screen ---\n{screen}",
        bad.join("\n")
    );
    assert_server_sane(&server);
}

// ---------------------------------------------------------------------------------------------
// Memory

fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

/// One HTTP/1.1 request over a new TLS connection (a full handshake each time).
fn one_request(config: &Arc<ClientConfig>, port: u16) -> Result<(), String> {
    let name = ServerName::try_from("localhost").unwrap();
    let conn = ClientConnection::new(config.clone(), name).map_err(|e| e.to_string())?;
    let sock = TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
    sock.set_read_timeout(Some(Duration::from_secs(10)))
        .map_err(|e| e.to_string())?;
    let mut tls = StreamOwned::new(conn, sock);
    tls.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .map_err(|e| e.to_string())?;
    let mut got = Vec::new();
    match tls.read_to_end(&mut got) {
        Ok(_) => {}
        // The server may close without close_notify after Connection: close.
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {}
        Err(e) => return Err(e.to_string()),
    }
    let got = text(&got);
    if got.starts_with("HTTP/1.1 200") && got.ends_with(SECRET) {
        Ok(())
    } else {
        Err(format!("unexpected answer: {got:?}"))
    }
}

/// `total` requests from `threads` threads at once; all must succeed.
fn requests(port: u16, threads: usize, total: usize) {
    let config = tls_client_config(&[b"http/1.1"]);
    let workers: Vec<_> = (0..threads)
        .map(|_| {
            let config = config.clone();
            std::thread::spawn(move || {
                for _ in 0..total / threads {
                    one_request(&config, port).expect("a real request during the flood");
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
}

/// 2,000 idle TCP connections at once (about twice the default cap of 1,024: the oldest idle
/// ones are shed), 200 real TLS requests while they are open, then, with them closed, 200 more.
/// Returns VmRSS with the 2,000 open.
fn flood(port: u16, pid: u32, round: usize) -> u64 {
    let mut idle = Vec::with_capacity(2000);
    for _ in 0..2000 {
        idle.push(TcpStream::connect(("127.0.0.1", port)).unwrap());
    }
    std::thread::sleep(Duration::from_millis(500));
    let open = status_kib(pid, "VmRSS");
    requests(port, 4, 200);
    drop(idle);
    requests(port, 4, 200);
    std::thread::sleep(Duration::from_secs(1));
    show(format!(
        "memory: flood {round}: VmRSS {} with 2,000 idle connections open, {} after them and 400 TLS requests",
        mib(open),
        mib(status_kib(pid, "VmRSS"))
    ));
    open
}

/// How far above its baseline the server's resident memory may stay after the floods and scans.
///
/// Measured here (glibc 2.36, 2 cores): baseline 11.3 MiB; with the flood's connections open
/// about 22 MiB (roughly 9 KiB for each of the 1,024 connections the cap keeps); a second after
/// the last one closed, 12.1-12.6 MiB, because the server then calls malloc_trim (server/tuning/trim.rs).
/// Without that call glibc keeps the freed heap and VmRSS stays near 20 MiB, which this bound
/// catches. 3 MiB is twice what stays; 15% covers a larger baseline on other machines. A leak of
/// 1 KiB per connection would leave 7 MiB over the test's 7,200 connections.
fn allowed(baseline_kib: u64) -> u64 {
    baseline_kib + (3 * 1024).max(baseline_kib * 15 / 100)
}

/// How much VmRSS may still grow from the end of the first flood to the end of the test (two
/// more floods and both scanners, 4,800 more connections and 800 more requests). Measured: at
/// most 0.7 MiB (freed chunks reused, a little fragmentation). A leak of 1 KiB per connection
/// would add 4.7 MiB (tried: a deliberate 1 KiB leak per connection grew it by 6.5 MiB).
const MAX_GROWTH_KIB: u64 = 3 * 1024;

#[test]
fn memory_comes_back_after_a_flood_and_the_scanners() {
    let _one = one_at_a_time("memory_comes_back_after_a_flood_and_the_scanners");
    require_sslyze();
    require_testssl();
    rlimit::increase_nofile_limit(8192).unwrap();
    let server = Server::start(&[]);
    let pid = server.pid();

    // Warm up: a request of each kind, so that one-time allocations are in the baseline.
    requests(server.port, 1, 2);
    let out = curl(&[
        "--http2",
        "--cacert",
        ca_file().to_str().unwrap(),
        &server.url("/"),
    ]);
    assert_eq!(text(&out.stdout), SECRET, "{}", text(&out.stderr));
    std::thread::sleep(Duration::from_secs(1));
    let baseline = status_kib(pid, "VmRSS");
    show(format!("memory: baseline VmRSS {}", mib(baseline)));

    let mut sampled_peak = flood(server.port, pid, 1);
    let after_first = status_kib(pid, "VmRSS");
    // Both scanners against the same process (their verdicts are the other tests' business).
    timed(
        "sslyze (memory test)",
        &mut sslyze(server.port),
        SSLYZE_LIMIT,
    );
    let dir = tempfile::tempdir().unwrap();
    timed(
        "testssl (memory test)",
        &mut testssl(server.port, &dir.path().join("testssl.json")),
        TESTSSL_LIMIT,
    );
    show(format!(
        "memory: after sslyze and testssl VmRSS {}",
        mib(status_kib(pid, "VmRSS"))
    ));
    sampled_peak = sampled_peak.max(flood(server.port, pid, 2));
    sampled_peak = sampled_peak.max(flood(server.port, pid, 3));
    assert_server_sane(&server);

    // Connections close within a second or two, then the server trims its heap; bounded wait.
    let limit = allowed(baseline);
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut after = status_kib(pid, "VmRSS");
    while after > limit && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(250));
        after = status_kib(pid, "VmRSS");
    }
    // VmHWM can lag a sample of VmRSS a little (the kernel batches its counters).
    let peak = status_kib(pid, "VmHWM").max(sampled_peak);
    let growth = after.saturating_sub(after_first);
    show(format!(
        "memory: baseline {}, peak {}, after {} (allowed: {} = baseline + max(3 MiB, 15%)); \
         growth since the first flood {} (allowed: {})",
        mib(baseline),
        mib(peak),
        mib(after),
        mib(limit),
        mib(growth),
        mib(MAX_GROWTH_KIB)
    ));
    assert!(
        after <= limit,
        "demo_server's resident memory did not come back: baseline {}, peak {}, after {}, allowed {}",
        mib(baseline),
        mib(peak),
        mib(after),
        mib(limit)
    );
    assert!(
        growth <= MAX_GROWTH_KIB,
        "demo_server's resident memory kept growing after the first flood (a leak?): {} then {} \
         after two more floods and both scanners",
        mib(after_first),
        mib(after)
    );
}
