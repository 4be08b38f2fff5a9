//! demo_mitm, the man in the middle, against real clients: verifying ones refuse its forged
//! certificate and lose nothing; careless ones are robbed, and it prints what it read.

mod support;

use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::Duration;

use support::*;

const TOKEN: &str = "Bearer test-token-31337";
const COOKIE: &str = "session=test-cookie-99";

/// demo_server, and demo_mitm in front of it, each on a port of its own.
struct Lab {
    server: Server,
    mitm: Peer,
    dir: tempfile::TempDir,
}

impl Lab {
    fn start() -> Lab {
        Lab::start_with(&["--handshake-timeout", "5", "--idle-timeout", "5"])
    }

    fn start_with(extra: &[&str]) -> Lab {
        let server = Server::start(&[]);
        let dir = tempfile::tempdir().unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_demo_mitm"));
        cmd.current_dir(repo())
            .args(["--listen", "127.0.0.1:0", "--upstream"])
            .arg(format!("localhost:{}", server.port))
            .arg("--upstream-ca")
            .arg(ca_file())
            .arg("--dir")
            .arg(dir.path())
            .args(extra);
        let mitm = Peer::start(cmd, |line| {
            line.strip_prefix("Listening on https://127.0.0.1:")?
                .trim_end_matches('/')
                .parse()
                .ok()
        });
        Lab { server, mitm, dir }
    }

    fn url(&self) -> String {
        format!("https://localhost:{}/", self.mitm.port)
    }

    fn attacker_ca(&self) -> PathBuf {
        self.dir.path().join("attacker_ca.pem")
    }

    fn demo_client(&self, args: &[&str]) -> Output {
        run_bounded(
            Command::new(env!("CARGO_BIN_EXE_demo_client"))
                .current_dir(repo())
                .args(["--timeout", "10"])
                .args(args)
                .env_remove("SSLKEYLOGFILE"),
            Duration::from_secs(30),
        )
    }

    fn python(&self, verify: &str) -> Output {
        let program = "import sys, requests\n\
             verify = False if sys.argv[1] == 'off' else sys.argv[1]\n\
             r = requests.get(sys.argv[2], verify=verify, timeout=10, headers={'Authorization': sys.argv[3], 'Cookie': sys.argv[4]})\n\
             print(r.text.strip())";
        run_bounded(
            Command::new("python3")
                .args(["-c", program, verify, &self.url(), TOKEN, COOKIE])
                .env_remove("REQUESTS_CA_BUNDLE")
                .env_remove("SSL_CERT_FILE"),
            Duration::from_secs(30),
        )
    }

    fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.mitm.pid())).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap()
    }
}

fn refused_with_nothing_stolen(lab: &Lab, out: &Output, words: &[&str]) {
    let said = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(
        !out.status.success(),
        "the client accepted the forgery: {said}"
    );
    for w in words {
        assert!(said.contains(w), "missing {w:?} in: {said}");
    }
    assert!(!said.contains(SECRET), "{said}");
    let log = lab
        .mitm
        .wait_for("the client did not trust the forged certificate (alert unknown_ca)");
    assert!(
        log.contains("REFUSED by 127.0.0.1:")
            && log.contains("the client did not trust the forged certificate (alert unknown_ca)"),
        "{log}"
    );
    assert!(!log.contains("STOLEN"), "{log}");
}

fn robbed(lab: &Lab, out: &Output, also: &[&str]) -> String {
    let said = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{said}");
    assert!(said.contains(SECRET), "{said}");
    let log = lab.mitm.wait_for("STOLEN");
    let stolen = log
        .lines()
        .find(|l| l.starts_with("STOLEN from 127.0.0.1:"))
        .unwrap_or_else(|| panic!("nothing stolen: {log}"))
        .to_string();
    assert!(stolen.contains("GET /"), "{stolen}");
    assert!(stolen.contains("\"fluffy tail\""), "{stolen}");
    for w in also {
        assert!(stolen.contains(w), "missing {w:?} in: {stolen}");
    }
    said
}

#[test]
fn demo_client_refuses_the_forgery_in_words_and_loses_nothing() {
    let lab = Lab::start();
    let out = lab.demo_client(&[&lab.url()]);
    refused_with_nothing_stolen(
        &lab,
        &out,
        &[
            "issued by an unknown CA",
            "Mallory's Interception CA",
            "This is what a man-in-the-middle looks like",
        ],
    );
}

#[test]
fn curl_with_the_demo_ca_refuses_the_forgery() {
    let lab = Lab::start();
    let ca = ca_file();
    let out = curl(&[
        "--cacert",
        ca.to_str().unwrap(),
        "-H",
        &format!("Authorization: {TOKEN}"),
        &lab.url(),
    ]);
    refused_with_nothing_stolen(&lab, &out, &["unable to get local issuer certificate"]);
}

#[test]
fn python_requests_with_the_demo_ca_refuses_the_forgery() {
    let lab = Lab::start();
    let out = lab.python(ca_file().to_str().unwrap());
    refused_with_nothing_stolen(&lab, &out, &["CERTIFICATE_VERIFY_FAILED"]);
}

#[test]
fn curl_k_is_robbed_of_the_secret_and_its_authorization_header() {
    let lab = Lab::start();
    let out = curl(&[
        "-k",
        "--http1.1",
        "-H",
        &format!("Authorization: {TOKEN}"),
        "-H",
        &format!("Cookie: {COOKIE}"),
        &lab.url(),
    ]);
    robbed(
        &lab,
        &out,
        &[
            &format!("Authorization: {TOKEN}"),
            &format!("Cookie: {COOKIE}"),
            "HTTP/1.1",
        ],
    );
}

#[test]
fn python_verify_false_is_robbed() {
    let lab = Lab::start();
    let out = lab.python("off");
    let said = robbed(
        &lab,
        &out,
        &[
            &format!("Authorization: {TOKEN}"),
            &format!("Cookie: {COOKIE}"),
        ],
    );
    assert!(said.contains("InsecureRequestWarning"), "{said}");
}

#[test]
fn demo_client_insecure_warns_first_and_is_robbed() {
    let lab = Lab::start();
    let out = lab.demo_client(&["--insecure", &lab.url()]);
    let said = robbed(&lab, &out, &["(h2, for localhost)"]);
    let stderr = text(&out.stderr);
    assert!(
        stderr.starts_with(
            "demo_client: WARNING: --insecure: the server's certificate will NOT be verified"
        ),
        "{stderr}"
    );
    assert!(stderr.contains("man in the middle"), "{stderr}");
    assert!(said.contains("NOT verified (--insecure)"), "{said}");
    assert!(!said.contains("Verified:"), "{said}");
}

#[test]
fn trusting_the_attacker_root_is_believing_every_forgery() {
    let lab = Lab::start();
    let pem = std::fs::read_to_string(lab.attacker_ca()).unwrap();
    assert!(pem.contains("BEGIN CERTIFICATE") && !pem.contains("PRIVATE KEY"));
    let ca = lab.attacker_ca();
    let out = lab.demo_client(&["--ca-file", ca.to_str().unwrap(), &lab.url()]);
    let said = robbed(&lab, &out, &[]);
    assert!(
        said.contains(
            "Verified: the certificate for localhost was signed by Mallory's Interception CA"
        ),
        "{said}"
    );
}

#[test]
fn a_pin_refuses_even_a_forgery_from_a_trusted_root() {
    let lab = Lab::start();
    let inspected = demo_pki(&repo(), ["inspect", "certificates/site_public_key.pem"]).ok();
    let pin = inspected
        .output()
        .lines()
        .find_map(|l| l.trim().strip_prefix("Pin:"))
        .map(|p| p.trim().to_string())
        .unwrap_or_else(|| panic!("no pin in: {}", inspected.output()));
    let ca = lab.attacker_ca();
    let out = lab.demo_client(&["--ca-file", ca.to_str().unwrap(), "--pin", &pin, &lab.url()]);
    let said = text(&out.stderr);
    assert!(!out.status.success(), "{said}");
    assert!(
        said.contains("public key does not match the pin")
            && said.contains(&format!("you pinned {pin}")),
        "{said}"
    );
    assert!(!lab.mitm.said().contains("STOLEN"), "{}", lab.mitm.said());
    // The real server, with the same pin, is believed.
    let out = lab.demo_client(&["--pin", &pin, &lab.server.url("/")]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains(&format!("Pinned: its public key is {pin}")));
    // The same pin in curl's --pinnedpubkey: the format is curl's, and curl agrees.
    let ca = ca_file();
    let out = curl(&[
        "--cacert",
        ca.to_str().unwrap(),
        "--pinnedpubkey",
        &pin,
        &lab.server.url("/"),
    ]);
    assert!(text(&out.stdout).contains(SECRET), "{}", text(&out.stderr));
    // A pin that is not one is refused before anything is sent.
    let out = lab.demo_client(&["--pin", "sha256//nope", &lab.url()]);
    assert!(
        text(&out.stderr).contains("a SHA-256 is 32"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn explain_through_the_interceptor_fails_at_step_4_showing_the_forgery() {
    let lab = Lab::start();
    let out = lab.demo_client(&["--explain", &lab.url()]);
    let said = text(&out.stdout);
    assert!(!out.status.success(), "{said}");
    assert!(said.contains("4. Certificate: FAILED."), "{said}");
    let step4 = said.split("4. Certificate").nth(1).unwrap();
    assert!(step4.contains("Mallory's Interception CA"), "{said}");
    let flat = step4.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        flat.contains("Side by side: the certificate presented says")
            && flat.contains("the real one for localhost would have said \"I am localhost according to HTTPS Demo CA (localhost only)\""),
        "{said}"
    );
    assert!(
        !said.lines().any(|l| l.starts_with("5. ")),
        "the story went past step 4: {said}"
    );
}

#[test]
fn it_survives_a_refusal_h2_http1_and_200_connections_without_growing() {
    let lab = Lab::start();
    let out = lab.demo_client(&[&lab.url()]);
    assert!(!out.status.success());
    for version in ["--http2", "--http1.1"] {
        let out = curl(&["-k", version, "-w", " %{http_version}", &lab.url()]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert!(text(&out.stdout).contains(SECRET));
    }
    let log = lab.mitm.wait_for("(HTTP/1.1, for localhost)");
    assert!(
        log.contains("(h2, for localhost)") && log.contains("(HTTP/1.1, for localhost)"),
        "{log}"
    );
    // Each URL on its own connection: "Connection: close" after every answer.
    let many = |n: usize| {
        let mut args = vec![
            "-k",
            "--http1.1",
            "-H",
            "Connection: close",
            "-o",
            "/dev/null",
        ];
        let url = lab.url();
        let urls = vec![url; n];
        args.extend(urls.iter().map(String::as_str));
        let out = run_bounded(
            Command::new("curl")
                .args(["-sS", "--max-time", "120"])
                .args(&args),
            Duration::from_secs(150),
        );
        assert!(out.status.success(), "{}", text(&out.stderr));
    };
    many(20);
    let before = lab.rss_kib();
    many(200);
    let after = lab.rss_kib();
    let stolen = lab.mitm.said().matches("STOLEN").count();
    assert!(stolen >= 222, "{stolen} requests relayed");
    // One name, one forged certificate: 200 more connections may not cost more than 4 MiB (about
    // 100 KiB seen here; one upstream connection leaked per client is more than 20 KiB each).
    assert!(
        after < before + 4 * 1024,
        "VmRSS {before} KiB -> {after} KiB"
    );
    // And it still answers.
    let out = curl(&["-k", &lab.url()]);
    assert!(text(&out.stdout).contains(SECRET));
}

#[test]
fn it_relays_to_its_upstream_only_never_to_another_host() {
    let lab = Lab::start();
    // An absolute URI naming another host.
    let out = curl(&[
        "-k",
        "--http1.1",
        "--request-target",
        "http://evil.example/",
        "-w",
        "\n%{http_code}",
        &lab.url(),
    ]);
    let said = text(&out.stdout);
    assert!(said.ends_with("403"), "{said}");
    assert!(said.contains("it relays only to its upstream"), "{said}");
    // CONNECT, as to a forward proxy.
    let out = curl(&[
        "--proxy",
        &format!("https://localhost:{}", lab.mitm.port),
        "--proxy-insecure",
        "--proxytunnel",
        "http://evil.example/",
    ]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("403"), "{}", text(&out.stderr));
    // CONNECT even to the name it forged for: it opens no tunnels.
    let out = curl(&[
        "--proxy",
        &format!("https://localhost:{}", lab.mitm.port),
        "--proxy-insecure",
        "--proxytunnel",
        "-k",
        &lab.server.url("/"),
    ]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("403"), "{}", text(&out.stderr));
    let log = lab.mitm.wait_for("CONNECT localhost");
    assert_eq!(log.matches("BLOCKED from 127.0.0.1:").count(), 3, "{log}");
    assert!(!log.contains("STOLEN"), "{log}");
}

#[test]
fn the_lab_prints_one_row_per_client() {
    let out_dir = tempfile::tempdir().unwrap();
    let said = run_lab_script("mitm_lab.sh", out_dir.path());
    let row = |name: &str| table_row(&said, name);
    for refused in [
        "demo_client (trusts the demo CA)",
        "curl --cacert demo CA",
        "python requests verify=demo CA",
        "demo_client --ca-file attacker_ca.pem --pin",
    ] {
        let r = row(refused);
        assert!(r.contains(" refused ") && r.contains(" nothing "), "{r}");
    }
    for careless in [
        "curl -k",
        "python requests verify=False",
        "demo_client --insecure",
    ] {
        let r = row(careless);
        assert!(r.contains(" robbed ") && r.contains("fluffy tail"), "{r}");
    }
    assert!(row("curl -k").contains("Authorization: Bearer"));
    let root = row("demo_client --ca-file attacker_ca.pem  ");
    assert!(root.contains(" robbed "), "{root}");
    // A name-constrained CA's stolen key forges for its own names only.
    assert!(row("  a forgery for localhost").contains(" accepted "));
    let outside = row("  a forgery for example.com");
    assert!(
        outside.contains(" refused ") && outside.contains("name outside the CA's name constraints"),
        "{outside}"
    );
}

#[test]
fn silent_clients_are_dropped_at_the_handshake_timeout_and_the_cap_holds() {
    let lab = Lab::start_with(&["--handshake-timeout", "1", "--max-connections", "2"]);
    let addr = ("127.0.0.1", lab.mitm.port);
    let silent: Vec<_> = (0..2)
        .map(|_| std::net::TcpStream::connect(addr).unwrap())
        .collect();
    // The third is closed at once: both places are taken.
    let mut third = std::net::TcpStream::connect(addr).unwrap();
    third
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut buf = [0u8; 1];
    assert_eq!(std::io::Read::read(&mut third, &mut buf).unwrap_or(0), 0);
    assert!(
        lab.mitm
            .wait_for("BUSY")
            .contains("connections are open already")
    );
    // The silent two are given up on after a second, and the place is free again.
    let log = lab.mitm.wait_for("GAVE UP");
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while lab.mitm.said().matches("GAVE UP on 127.0.0.1:").count() < 2
        && std::time::Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(
        lab.mitm.said().matches("GAVE UP on 127.0.0.1:").count(),
        2,
        "{log}"
    );
    drop(silent);
    let out = curl(&["-k", &lab.url()]);
    assert!(text(&out.stdout).contains(SECRET), "{}", text(&out.stderr));
}

#[test]
fn an_unreachable_upstream_and_bad_arguments_are_said_in_words() {
    let closed = closed_port();
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_demo_mitm"));
    cmd.current_dir(repo())
        .args(["--listen", "127.0.0.1:0", "--upstream"])
        .arg(format!("127.0.0.1:{}", closed.port))
        .arg("--dir")
        .arg(dir.path());
    let mitm = Peer::start(cmd, |line| {
        line.strip_prefix("Listening on https://127.0.0.1:")?
            .trim_end_matches('/')
            .parse()
            .ok()
    });
    let out = curl(&[
        "-k",
        "-w",
        "\n%{http_code}",
        &format!("https://localhost:{}/", mitm.port),
    ]);
    let said = text(&out.stdout);
    assert!(said.ends_with("502"), "{said}");
    assert!(
        said.contains("nothing listens on the upstream") && said.contains("start demo_server"),
        "{said}"
    );
    assert!(
        mitm.wait_for("UPSTREAM FAILED")
            .contains("UPSTREAM FAILED for 127.0.0.1:")
    );

    for (args, words) in [
        (vec!["--upstream", "nope"], "is not HOST:PORT"),
        (
            vec!["--upstream-ca", "/nonexistent/ca.pem"],
            "--upstream-ca /nonexistent/ca.pem does not exist",
        ),
    ] {
        let out = run_bounded(
            Command::new(env!("CARGO_BIN_EXE_demo_mitm"))
                .current_dir(repo())
                .args(["--listen", "127.0.0.1:0", "--dir"])
                .arg(dir.path())
                .args(&args),
            Duration::from_secs(10),
        );
        assert!(!out.status.success());
        let err = text(&out.stderr);
        assert!(
            err.starts_with("demo_mitm: error: ") && err.contains(words),
            "{err}"
        );
    }
}

#[test]
fn an_idle_connection_is_closed_after_the_idle_timeout_h2_and_http1() {
    let lab = Lab::start_with(&["--idle-timeout", "1"]);
    for alpn in ["h2", "http/1.1"] {
        // Handshake done (it trusts nothing, but goes on), then silence, with stdin held open.
        let mut client = Command::new("openssl")
            .args(["s_client", "-connect"])
            .arg(format!("127.0.0.1:{}", lab.mitm.port))
            .args(["-servername", "localhost", "-alpn", alpn, "-quiet"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let started = std::time::Instant::now();
        let status = client.wait_timeout(Duration::from_secs(8));
        if status.is_none() {
            let _ = client.kill();
            let _ = client.wait();
        }
        assert!(
            status.is_some(),
            "an idle {alpn} connection was still open after 8 s"
        );
        assert!(
            started.elapsed() >= Duration::from_millis(900),
            "{alpn}: closed too early"
        );
    }
}
