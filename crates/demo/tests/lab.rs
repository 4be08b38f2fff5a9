//! The failure lab, measured: every scenario against demo_client, curl, Python requests and
//! headless Chromium (trusting the lab CA through its NSS database), each verdict compared with
//! what scenarios.json says; `demo_lab check`; fresh certificates at each start; a taken port.

mod support;

use std::collections::BTreeMap;
use std::net::TcpStream;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use https_demo::lab::marker;
use https_demo::lab::scenarios::{Entry, Refusal, Verdict};
use support::browser::{chromium_with_profile, trust_in_nss};
use support::*;

fn entries(dir: &Path) -> Vec<Entry> {
    serde_json::from_str(&std::fs::read_to_string(dir.join("scenarios.json")).unwrap()).unwrap()
}

fn verdict(ok: bool, page: &str, name: &str) -> Verdict {
    if ok && page.contains(&marker(name)) {
        Verdict::Accept
    } else {
        Verdict::Refuse
    }
}

/// A HOME whose NSS database trusts the lab CA, and nothing else: Chromium reads it there.
struct ChromiumHome(tempfile::TempDir);

impl ChromiumHome {
    fn trusting(ca: &Path) -> ChromiumHome {
        let home = tempfile::tempdir().unwrap();
        trust_in_nss(home.path(), ca, "lab");
        ChromiumHome(home)
    }

    /// The page's DOM (empty on a refused certificate) and Chromium's log, where it names the
    /// error (`net_error -201 ... ERR_CERT_DATE_INVALID`).
    fn dump_dom(&self, profile: &str, url: &str) -> (String, String) {
        let home = self.0.path();
        let out = chromium_with_profile(
            home,
            profile,
            &["--enable-logging=stderr", "--v=0", "--dump-dom", url],
        );
        (text(&out.stdout), text(&out.stderr))
    }
}

const PYTHON_GET: &str = "import sys, requests\n\
r = requests.get(sys.argv[1], verify=sys.argv[2], timeout=10)\n\
print(r.text)";

#[test]
fn every_client_gives_the_verdict_scenarios_json_expects() {
    assert!(
        Command::new("chromium").arg("--version").output().is_ok()
            && Command::new("certutil").arg("-H").output().is_ok(),
        "this test needs Chromium and NSS's certutil: apt-get install chromium libnss3-tools (./run_tests.sh does it)"
    );
    let dir = tempfile::tempdir().unwrap();
    let _lab = Peer::demo_lab(dir.path());
    let (ca, crl) = (dir.path().join("ca.pem"), dir.path().join("crl.pem"));
    let (ca_arg, crl_arg) = (ca.to_str().unwrap(), crl.to_str().unwrap());
    let entries = entries(dir.path());
    assert!(entries.len() >= 16, "{entries:?}");
    assert!(
        entries.iter().any(|e| e.name == "client-cert-required"),
        "{entries:?}"
    );
    let browser = ChromiumHome::trusting(&ca);
    let mut wrong = Vec::new();
    for e in &entries {
        let mut measured = BTreeMap::new();

        // demo_client: its verdict, and a refusal in its classification's words.
        let out = run_bounded(
            Command::new(env!("CARGO_BIN_EXE_demo_client")).args([
                "--ca-file",
                ca_arg,
                "--crl",
                crl_arg,
                "--timeout",
                "10",
                &e.url,
            ]),
            Duration::from_secs(20),
        );
        let v = verdict(out.status.success(), &text(&out.stdout), &e.name);
        let said = text(&out.stderr);
        if v == Verdict::Refuse {
            let kind = e
                .failure
                .as_deref()
                .and_then(Refusal::from_code)
                .unwrap_or_else(|| {
                    panic!(
                        "{}: demo_client refused, scenarios.json names no failure: {said}",
                        e.name
                    )
                });
            assert!(
                said.contains(&format!("demo_client: error: {}", kind.title())),
                "{}: demo_client's refusal does not start with \"{}\": {said}",
                e.name,
                kind.title()
            );
            for debug in ["Other(", "Error(", "{ ", "Some("] {
                assert!(!said.contains(debug), "{}: debug text in {said}", e.name);
            }
            assert_eq!(
                e.demo_client_says.as_deref(),
                Some(kind.title()),
                "{}",
                e.name
            );
        }
        measured.insert("demo_client", (v, e.expect.demo_client));

        let out = curl(&["--cacert", ca_arg, "--crlfile", crl_arg, &e.url]);
        let v = verdict(out.status.success(), &text(&out.stdout), &e.name);
        measured.insert("curl", (v, e.expect.curl));

        let out = run_bounded(
            Command::new("python3").args(["-c", PYTHON_GET, &e.url, ca_arg]),
            Duration::from_secs(20),
        );
        let v = verdict(out.status.success(), &text(&out.stdout), &e.name);
        measured.insert("python", (v, e.expect.python));

        let (dom, log) = browser.dump_dom(&format!("profile-{}", e.name), &e.url);
        let v = verdict(true, &dom, &e.name);
        if v == Verdict::Refuse && e.chromium_says.starts_with("NET::") {
            // Every code chromium_says names; where Chromium races, it names more than one.
            let codes: Vec<&str> = e
                .chromium_says
                .split("NET::")
                .skip(1)
                .map(|rest| {
                    let end = rest
                        .find(|c: char| !(c.is_ascii_uppercase() || c == '_'))
                        .unwrap_or(rest.len());
                    &rest[..end]
                })
                .collect();
            assert!(
                codes
                    .iter()
                    .any(|code| log.contains(&format!("net::{code}"))),
                "{}: Chromium refused, but not with {codes:?}:\n{}",
                e.name,
                log.lines()
                    .filter(|l| l.contains("ERR_"))
                    .collect::<Vec<_>>()
                    .join("\n")
            );
        }
        measured.insert("chromium", (v, e.expect.chromium));

        for (client, (got, want)) in measured {
            if got != want {
                wrong.push(format!(
                    "{}: {client} {}s, scenarios.json expects {}",
                    e.name,
                    got.word(),
                    want.word()
                ));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "measured verdicts differ:\n{}",
        wrong.join("\n")
    );
}

fn serials(dir: &Path) -> BTreeMap<String, (String, String, Verdict)> {
    entries(dir)
        .into_iter()
        .map(|e| (e.name, (e.serial, e.sha256, e.expect.demo_client)))
        .collect()
}

fn check(dir: &Path) -> String {
    let out = run_bounded(
        Command::new(env!("CARGO_BIN_EXE_demo_lab"))
            .args(["check", "--dir"])
            .arg(dir),
        Duration::from_secs(60),
    );
    let shown = text(&out.stdout);
    assert!(
        out.status.success(),
        "demo_lab check failed:\n{shown}{}",
        text(&out.stderr)
    );
    shown
}

#[test]
fn check_passes_and_each_start_makes_fresh_certificates_with_the_same_verdicts() {
    let dir = tempfile::tempdir().unwrap();
    let first = {
        let lab = Peer::demo_lab(dir.path());
        let ca = dir.path().join("ca.pem");
        let gallery = curl(&[
            "--cacert",
            ca.to_str().unwrap(),
            &format!("https://localhost:{}/", lab.port),
        ]);
        let page = text(&gallery.stdout);
        assert!(gallery.status.success(), "{}", text(&gallery.stderr));
        for e in entries(dir.path()) {
            for shown in [
                format!("<a href=\"{}\">{}</a>", e.url, e.name),
                e.chromium_says,
            ] {
                assert!(page.contains(&shown), "the gallery lacks {shown}: {page}");
            }
        }
        for external in ["<script", "src=", "http://", "<link"] {
            assert!(
                !page.contains(external),
                "the gallery has {external}: {page}"
            );
        }
        let table = check(dir.path());
        assert!(
            table.contains("Every verdict is the one scenarios.json expects"),
            "{table}"
        );
        let revoked = table.lines().find(|l| l.starts_with("revoked ")).unwrap();
        assert_eq!(
            words(revoked)[1..4],
            ["refuse", "refuse", "revoked"],
            "{table}"
        );
        // Mutual TLS: refused by the server, in demo_client's words naming the CA it accepts;
        // then the same scenario with the lab's client certificate, accepted.
        let without = table
            .lines()
            .find(|l| l.starts_with("client-cert-required "))
            .unwrap();
        assert_eq!(
            words(without)[1..4],
            ["refuse", "refuse", "client_certificate_required"],
            "{table}"
        );
        assert!(
            without.contains("it accepts certificates from: HTTPS Demo Lab Client CA"),
            "{table}"
        );
        let with = table
            .lines()
            .find(|l| l.starts_with("client-cert-required + client.pem "))
            .unwrap();
        assert_eq!(words(with)[3..6], ["accept", "accept", "-"], "{table}");
        serials(dir.path())
    };
    let lab = Peer::demo_lab(dir.path());
    check(dir.path());
    let second = serials(dir.path());
    drop(lab);
    // With the lab stopped, the check says so rather than count refusals.
    let out = run_bounded(
        Command::new(env!("CARGO_BIN_EXE_demo_lab"))
            .args(["check", "--dir"])
            .arg(dir.path()),
        Duration::from_secs(60),
    );
    let said = text(&out.stderr);
    assert!(
        !out.status.success() && said.contains("Is the lab running? Start it with demo_lab --dir"),
        "{said}"
    );
    assert_eq!(
        first.keys().collect::<Vec<_>>(),
        second.keys().collect::<Vec<_>>()
    );
    for (name, (serial, sha, verdict)) in &first {
        let (serial2, sha2, verdict2) = &second[name];
        assert_ne!(serial, serial2, "{name}: the same serial twice");
        assert_ne!(sha, sha2, "{name}: the same certificate twice");
        assert_eq!(verdict, verdict2, "{name}");
    }
}

/// Mutual TLS: without a client certificate demo_client says why and what to do; with the one the
/// lab wrote (a plain key, mode 0600), demo_client, curl and Python requests get the page.
#[test]
fn client_cert_required_is_passed_with_the_labs_client_certificate() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let _lab = Peer::demo_lab(dir.path());
    let e = entries(dir.path())
        .into_iter()
        .find(|e| e.name == "client-cert-required")
        .unwrap();
    let path = |file: &str| dir.path().join(file).to_str().unwrap().to_string();
    let (ca, cert, key) = (path("ca.pem"), path("client.pem"), path("client_key.pem"));
    let mode = std::fs::metadata(&key).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "client_key.pem has mode {mode:o}");
    let key_pem = std::fs::read_to_string(&key).unwrap();
    assert!(
        key_pem.starts_with("-----BEGIN PRIVATE KEY-----"),
        "not a plain key"
    );

    let demo_client = |extra: &[&str]| {
        run_bounded(
            Command::new(env!("CARGO_BIN_EXE_demo_client"))
                .args(["--ca-file", &ca, "--timeout", "10"])
                .args(extra)
                .arg(&e.url)
                .stdin(std::process::Stdio::null()),
            Duration::from_secs(20),
        )
    };
    let out = demo_client(&[]);
    let said = text(&out.stderr);
    assert!(!out.status.success(), "{said}");
    for needle in [
        "demo_client: error: client certificate required: ",
        "asked for a client certificate",
        "it accepts certificates from: HTTPS Demo Lab Client CA",
        "--cert FILE --key FILE",
    ] {
        assert!(said.contains(needle), "no {needle:?} in: {said}");
    }
    assert_eq!(
        e.failure.as_deref(),
        Some("client_certificate_required"),
        "{e:?}"
    );

    // The plain key needs no --passphrase-file.
    let out = demo_client(&["--cert", &cert, "--key", &key]);
    assert!(
        out.status.success() && text(&out.stdout).contains(&marker(&e.name)),
        "demo_client with the lab's certificate: {}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let out = curl(&["--cacert", &ca, "--cert", &cert, "--key", &key, &e.url]);
    assert!(
        out.status.success() && text(&out.stdout).contains(&marker(&e.name)),
        "curl with the lab's certificate: {}",
        text(&out.stderr)
    );
    let python = "import sys, requests\n\
r = requests.get(sys.argv[1], verify=sys.argv[2], cert=(sys.argv[3], sys.argv[4]), timeout=10)\n\
print(r.text)";
    let out = run_bounded(
        Command::new("python3").args(["-c", python, &e.url, &ca, &cert, &key]),
        Duration::from_secs(20),
    );
    assert!(
        out.status.success() && text(&out.stdout).contains(&marker(&e.name)),
        "Python requests with the lab's certificate: {}",
        text(&out.stderr)
    );
}

#[test]
fn a_taken_port_is_named_and_nothing_is_left_listening() {
    let held = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = held.local_addr().unwrap().port();
    // The third listener collides: the two before it were taken, and must be let go.
    let base = port - 2;
    let dir = tempfile::tempdir().unwrap();
    let out = run_bounded(
        Command::new(env!("CARGO_BIN_EXE_demo_lab"))
            .arg("--dir")
            .arg(dir.path())
            .args(["--port-base", &base.to_string()]),
        Duration::from_secs(20),
    );
    let said = text(&out.stderr);
    assert!(!out.status.success(), "{said}");
    // Normally port (scenario expired) collides; another test's lab may hold a lower one.
    let named = (base..=port).find(|p| said.contains(&format!("port {p} (")));
    assert!(
        named.is_some()
            && said.contains("is taken by another program, so the lab did not start")
            && said.contains(&format!("--port-base (now {base}")),
        "{said}"
    );
    assert!(!said.contains("Error("), "{said}");
    assert!(!text(&out.stdout).contains("Lab ready"));
    for p in [base, base + 1] {
        assert!(
            TcpStream::connect(("127.0.0.1", p)).is_err(),
            "port {p} still listens after the lab refused to start"
        );
    }
    assert!(
        !dir.path().join("scenarios.json").exists(),
        "a lab that did not start wrote its scenarios"
    );
}
