//! ./start_https_server.sh as a person runs it: it builds what it needs, checks the bundled
//! certificate, and starts the server. It shares the tests' target folder, so that the release
//! build is made once (./run_tests.sh makes it before the tests).

mod support;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use support::*;

/// Starts the script and waits (bounded: the first release build takes minutes) for the
/// server's listening line. Returns the process and its port, and everything printed so far.
fn start(dir: &Path, target: &Path) -> (Child, u16, String) {
    let mut child = Command::new("./start_https_server.sh")
        .current_dir(dir)
        .args(["--listen", "127.0.0.1:0"])
        .env("CARGO_TARGET_DIR", target)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cannot run start_https_server.sh");
    let (tx, rx) = mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            let _ = tx.send(line);
        }
    });
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        std::io::copy(&mut std::io::BufReader::new(stderr), &mut std::io::sink())
    });
    let deadline = Instant::now() + Duration::from_secs(900);
    let mut seen = String::new();
    loop {
        match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(line) => {
                seen.push_str(&line);
                seen.push('\n');
                if let Some(rest) = line.strip_prefix("Listening on https://127.0.0.1:") {
                    return (child, rest.trim_end_matches('/').parse().unwrap(), seen);
                }
            }
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("the script never reported a listening address; it printed:\n{seen}");
            }
        }
    }
}

fn stop(mut child: Child) {
    // The script execs demo_server, so this PID is the server's.
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let status = child
        .wait_timeout(Duration::from_secs(15))
        .expect("server did not stop on SIGTERM");
    assert!(status.success(), "{status:?}");
}

fn fetch(port: u16, ca: &Path) -> String {
    let out = curl(&[
        "--cacert",
        ca.to_str().unwrap(),
        &format!("https://localhost:{port}/"),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    text(&out.stdout)
}

/// Whether the bundled certificate is valid now. It is the only test that looks at the bundled
/// set; the others make their own, so that the suite passes on any date.
fn bundled_set_is_current() -> bool {
    let out = run_bounded(
        Command::new("openssl").current_dir(checkout()).args([
            "x509",
            "-noout",
            "-checkend",
            "0",
            "-in",
            "certificates/site_public_key.pem",
        ]),
        Duration::from_secs(10),
    );
    out.status.success()
}

#[test]
fn the_start_script_serves_the_bundled_set_from_the_checkout() {
    if !bundled_set_is_current() {
        eprintln!(
            "SKIPPED: the bundled certificate (certificates/site_public_key.pem) has expired. \
             Regenerate it with ./start_https_server.sh (it makes a fresh set) and commit the new set."
        );
        return;
    }
    let before = std::fs::read(checkout().join("certificates/site_public_key.pem")).unwrap();
    let (child, port, printed) = start(&checkout(), &target_dir());
    assert_eq!(
        fetch(
            port,
            &checkout().join("ca_certificates_for_client/ca_public_key.pem")
        ),
        SECRET
    );
    assert!(!printed.contains("making a fresh set"), "{printed}");
    stop(child);
    assert_eq!(
        std::fs::read(checkout().join("certificates/site_public_key.pem")).unwrap(),
        before
    );
}

#[test]
fn the_start_script_makes_a_fresh_set_when_the_certificates_are_missing() {
    // A clone whose certificates are gone: the script says so and makes a fresh set.
    let copy = checkout_copy();
    std::fs::remove_dir_all(copy.path().join("certificates")).unwrap();
    let old_ca = copy.path().join("old_ca.pem");
    std::fs::rename(
        copy.path()
            .join("ca_certificates_for_client/ca_public_key.pem"),
        &old_ca,
    )
    .unwrap();
    let (child, port, printed) = start(copy.path(), &target_dir());
    assert!(
        printed.contains("certificates/site_public_key.pem is missing"),
        "{printed}"
    );
    assert!(printed.contains("making a fresh set"), "{printed}");
    let new_ca = copy
        .path()
        .join("ca_certificates_for_client/ca_public_key.pem");
    assert_eq!(fetch(port, &new_ca), SECRET);
    // The old CA no longer vouches for the new server.
    let out = curl(&[
        "--cacert",
        old_ca.to_str().unwrap(),
        &format!("https://localhost:{port}/"),
    ]);
    assert_eq!(out.status.code(), Some(60));
    stop(child);
}
