//! Let's Encrypt, offline: pebble (Let's Encrypt's ACME test server) started by the test is the
//! CA, with real validation (no PEBBLE_VA_ALWAYS_VALID). demo_server gets its certificate for
//! localhost over ACME, answering the challenge itself, and demo_client and curl verify it
//! against pebble's root; a challenge the CA cannot reach fails in words.
//!
//! Ports: demo_server binds port 0 and waits for the directory URL on its standard input
//! (`--acme -`); pebble is then configured with that port for its validator and binds port 0
//! for its two APIs, found from /proc. No port is ever chosen, released and reused.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use support::certs::{now_window, test_ca, test_site};
use support::*;

const PEBBLE: &str = "/usr/bin/pebble";

fn pebble_missing() -> bool {
    if Path::new(PEBBLE).exists() {
        return false;
    }
    eprintln!(
        "SKIPPED: pebble is not installed at {PEBBLE} (Debian/Ubuntu: apt-get install pebble; run_tests.sh installs it)"
    );
    true
}

/// pebble running with its own HTTPS certificate, its validator pointed at `validation_port`.
struct Pebble {
    peer: Peer,
    /// The CA of pebble's own HTTPS certificate: what demo_server trusts for the directory.
    api_ca: PathBuf,
    directory: String,
    /// pebble's issuing root, from its management API.
    root: PathBuf,
}

impl Pebble {
    fn start(dir: &Path, validation_port: u16, validity_secs: Option<u64>) -> Pebble {
        let ca = test_ca(dir, "api_ca.pem", "Pebble API test CA");
        let (from, to) = now_window();
        let (cert, key) = test_site(dir, &ca, &["localhost", "127.0.0.1"], from, to);
        let validity = validity_secs
            .map(|s| format!(r#", "certificateValidityPeriod": {s}"#))
            .unwrap_or_default();
        let config = dir.join("pebble.json");
        std::fs::write(
            &config,
            format!(
                r#"{{"pebble": {{"listenAddress": "127.0.0.1:0", "managementListenAddress": "127.0.0.1:0",
                "certificate": "{}", "privateKey": "{}", "httpPort": {validation_port}, "tlsPort": {validation_port},
                "ocspResponderURL": "", "externalAccountBindingRequired": false{validity}}}}}"#,
                cert.display(),
                key.display()
            ),
        )
        .unwrap();
        let mut cmd = Command::new(PEBBLE);
        cmd.arg("-config")
            .arg(&config)
            .env("PEBBLE_VA_NOSLEEP", "1")
            // Deterministic: no nonce rejected on purpose, a fresh challenge for every order.
            .env("PEBBLE_WFE_NONCEREJECT", "0")
            .env("PEBBLE_AUTHZREUSE", "0")
            .env_remove("PEBBLE_VA_ALWAYS_VALID");
        let peer = Peer::start_listening(cmd, 2);
        let api_ca = ca.file.clone();
        // Which of the two is the ACME API: the one that serves /dir.
        let ports = peer.ports();
        let (mut directory, mut management) = (None, None);
        for port in ports {
            let url = format!("https://127.0.0.1:{port}");
            let out = curl(&[
                "-o",
                "/dev/null",
                "-w",
                "%{http_code}",
                "--cacert",
                api_ca.to_str().unwrap(),
                &format!("{url}/dir"),
            ]);
            if text(&out.stdout) == "200" {
                directory = Some(format!("{url}/dir"));
            } else {
                management = Some(url);
            }
        }
        let (directory, management) = (directory.unwrap(), management.unwrap());
        let root = dir.join("pebble_root.pem");
        let out = curl(&[
            "--cacert",
            api_ca.to_str().unwrap(),
            "-o",
            root.to_str().unwrap(),
            &format!("{management}/roots/0"),
        ]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        Pebble {
            peer,
            api_ca,
            directory,
            root,
        }
    }
}

/// demo_server --acme -, listening, waiting for the directory URL.
fn acme_server(challenge: &str, api_ca: &Path) -> Server {
    Server::start(&[
        "--acme",
        "-",
        "--acme-ca",
        api_ca.to_str().unwrap(),
        "--acme-challenge",
        challenge,
        "--acme-email",
        "demo@example.com",
    ])
}

fn tell_directory(server: &mut Server, url: &str) {
    use std::io::Write;
    let stdin = server.stdin.as_mut().unwrap();
    writeln!(stdin, "{url}").unwrap();
    stdin.flush().unwrap();
}

/// The API CA must exist before demo_server starts (--acme-ca): made in its own folder.
fn api_ca_placeholder(dir: &Path) -> PathBuf {
    dir.join("api_ca.pem")
}

fn obtains_and_serves(challenge: &str) -> (Server, Pebble, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    // demo_server reads --acme-ca only once it has the URL, after pebble made it.
    let mut server = acme_server(challenge, &api_ca_placeholder(dir.path()));
    let pebble = Pebble::start(dir.path(), server.port, None);
    assert_eq!(pebble.api_ca, api_ca_placeholder(dir.path()));
    tell_directory(&mut server, &pebble.directory);
    let served = server.wait_for_said("ACME: now serving https", Duration::from_secs(30));
    let said = server.said();
    assert!(
        served,
        "no certificate; stdout:\n{said}\nstderr:\n{}\npebble:\n{}",
        server.logs(),
        pebble.peer.said()
    );
    for step in [
        "ACME: account created at https://127.0.0.1:",
        "ACME: order for localhost placed",
        "ACME: the CA's challenge: prove you control localhost.",
        "ACME: the CA's validator connected from 127.0.0.1:",
        "ACME: the CA checked our answer: we control localhost.",
        "ACME: CSR sent",
        "never leaves it",
        "I am localhost according to Pebble Intermediate CA",
        "ACME: renewal planned at",
    ] {
        assert!(said.contains(step), "missing {step:?} in:\n{said}");
    }
    assert!(said.contains(challenge), "{said}");
    // Its own private key is never printed.
    assert!(!said.contains("PRIVATE KEY") && !server.logs().contains("PRIVATE KEY"));
    let took: f64 = said
        .split("certificate issued ")
        .nth(1)
        .and_then(|rest| rest.split(" s after").next())
        .and_then(|s| s.parse().ok())
        .expect("issuance time");
    println!("bench: ACME issuance ({challenge}, PEBBLE_VA_NOSLEEP): {took:.2} s");
    assert!(took < 10.0, "issuance took {took} s");
    (server, pebble, dir)
}

fn verified_by_pebble_root(server: &Server, pebble: &Pebble) {
    let url = server.url("/");
    let out = run_bounded(
        Command::new(env!("CARGO_BIN_EXE_demo_client"))
            .arg("--ca-file")
            .arg(&pebble.root)
            .arg(&url),
        Duration::from_secs(30),
    );
    let said = text(&out.stdout);
    assert!(out.status.success(), "{said}{}", text(&out.stderr));
    assert!(said.contains(SECRET), "{said}");
    assert!(said.contains("Pebble Intermediate CA"), "{said}");
    let out = curl(&["--cacert", pebble.root.to_str().unwrap(), &url]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains(SECRET));
    // The bundled demo CA does not vouch for it: only pebble's root does.
    let out = run_bounded(
        Command::new(env!("CARGO_BIN_EXE_demo_client"))
            .arg("--ca-file")
            .arg(&pebble.api_ca)
            .arg(&url),
        Duration::from_secs(30),
    );
    assert!(!out.status.success());
}

#[test]
fn tls_alpn_01_certificate_from_pebble_is_verified_by_its_root() {
    if pebble_missing() {
        return;
    }
    let (server, pebble, _dir) = obtains_and_serves("tls-alpn-01");
    assert!(
        server.said().contains("with ALPN acme-tls/1"),
        "{}",
        server.said()
    );
    verified_by_pebble_root(&server, &pebble);
    // --explain tells the chain: the site's certificate, Pebble's intermediate, Pebble's root.
    let out = run_bounded(
        Command::new(env!("CARGO_BIN_EXE_demo_client"))
            .args(["--explain", "--ca-file"])
            .arg(&pebble.root)
            .arg(server.url("/")),
        Duration::from_secs(30),
    );
    let said = text(&out.stdout);
    assert!(out.status.success(), "{said}{}", text(&out.stderr));
    assert!(
        said.contains("Pebble Intermediate CA") && said.contains("Pebble Root CA"),
        "{said}"
    );
}

#[test]
fn http_01_certificate_from_pebble_is_verified_by_its_root() {
    if pebble_missing() {
        return;
    }
    let (server, pebble, _dir) = obtains_and_serves("http-01");
    assert!(
        server
            .said()
            .contains("over plain HTTP and asked for /.well-known/acme-challenge/"),
        "{}",
        server.said()
    );
    verified_by_pebble_root(&server, &pebble);
    // Any other plain-HTTP request on the port still gets the 400 that says to use https://.
    let out = curl(&[
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        &format!(
            "http://localhost:{}/.well-known/acme-challenge/guess",
            server.port
        ),
    ]);
    assert_eq!(text(&out.stdout), "400");
}

#[test]
fn a_short_lived_certificate_is_renewed_without_a_restart() {
    if pebble_missing() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut server = acme_server("tls-alpn-01", &api_ca_placeholder(dir.path()));
    // 12 s of life: renewed 8 s in.
    let pebble = Pebble::start(dir.path(), server.port, Some(12));
    tell_directory(&mut server, &pebble.directory);
    assert!(
        server.wait_for_said("ACME: now serving https", Duration::from_secs(30)),
        "{}\n{}",
        server.said(),
        server.logs()
    );
    // Renewed before the first one expires: within its 12 s, counted from when we got it.
    assert!(
        server.wait_for_said(
            "ACME: now serving the renewed certificate, without a restart",
            Duration::from_secs(12)
        ),
        "not renewed within the certificate's lifetime:\n{}\n{}",
        server.said(),
        server.logs()
    );
    verified_by_pebble_root(&server, &pebble);
}

#[test]
fn a_challenge_the_ca_cannot_reach_fails_in_words() {
    if pebble_missing() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut server = acme_server("tls-alpn-01", &api_ca_placeholder(dir.path()));
    // pebble's validator is sent to a port where nobody listens.
    let nobody = closed_port();
    let pebble = Pebble::start(dir.path(), nobody.port, None);
    tell_directory(&mut server, &pebble.directory);
    let status = server
        .wait_exit(Duration::from_secs(40))
        .expect("demo_server should give up, not hang");
    assert!(!status.success());
    let expected = format!(
        "the CA could not reach us on port {}: it could not verify that we control localhost, so it will not vouch for us",
        nobody.port
    );
    assert!(server.wait_for_log(&expected), "{}", server.logs());
    let logs = server.logs();
    assert!(logs.contains("Next:"), "{logs}");
    for debug in ["Other(", "Error(", "Api(", "Problem {"] {
        assert!(!logs.contains(debug), "{debug} in {logs}");
    }
}

#[test]
fn acme_lab_script_gets_a_certificate_from_pebble_and_verifies_it() {
    if pebble_missing() {
        return;
    }
    let copy = checkout_copy();
    let out = run_bounded(
        Command::new("./acme_lab.sh")
            .arg("http-01")
            .current_dir(copy.path())
            .env("CARGO_TARGET_DIR", target_dir()),
        Duration::from_secs(1200),
    );
    let said = text(&out.stdout);
    assert!(out.status.success(), "{said}\n{}", text(&out.stderr));
    for line in [
        "ACME: the CA's validator connected from 127.0.0.1:",
        "I am localhost according to Pebble Intermediate CA",
        "Secret message: fluffy tail",
        "Verified: the certificate for localhost leads to Pebble Root CA",
        "Done: stopping demo_server and pebble.",
    ] {
        assert!(said.contains(line), "missing {line:?} in:\n{said}");
    }
}
