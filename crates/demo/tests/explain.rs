//! `demo_client --explain` and `--json`: the story of one real connection, checked against what
//! the other side saw: demo_server's log line for that very connection (found by its client
//! random), the key log, demo_server's /connection JSON, and `openssl s_server` for a
//! HelloRetryRequest.

mod support;

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use https_demo::layout;
use https_demo::pki::{self, inspect::CertSummary};
use https_demo::wire::iana::Iana;
use serde_json::Value;
use support::certs::{now_window, test_ca, test_site};
use support::*;

fn client(args: &[&str], env: &[(&str, &Path)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_demo_client"));
    cmd.current_dir(repo())
        .args(args)
        .env_remove("SSLKEYLOGFILE")
        .env_remove("RUST_LOG");
    for (k, v) in env {
        cmd.env(k, v);
    }
    run_bounded(&mut cmd, Duration::from_secs(30))
}

/// The text with its line wrapping undone, for sentences that span lines.
fn flat(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The value of a `Label:   value` row of the story.
fn row(story: &str, label: &str) -> String {
    story
        .lines()
        .find_map(|l| l.trim_start().strip_prefix(label))
        .unwrap_or_else(|| panic!("no row {label:?} in:\n{story}"))
        .trim()
        .to_string()
}

/// `key="value"` from a log line.
fn field(line: &str, key: &str) -> String {
    let start = format!("{key}=\"");
    let from = line
        .find(&start)
        .unwrap_or_else(|| panic!("no {key} in {line}"))
        + start.len();
    line[from..].split('"').next().unwrap().to_string()
}

/// demo_server's "TLS connection" line for the connection with this client random.
fn server_line(server: &Server, random: &str) -> String {
    let needle = format!("client_random=\"{random}\"");
    assert!(server.wait_for_log(&needle), "{}", server.logs());
    server
        .logs()
        .lines()
        .find(|l| l.contains(&needle))
        .unwrap()
        .to_string()
}

/// The steps' headings appear once each, in order.
fn assert_in_order(story: &str, headings: &[&str]) {
    let mut from = 0;
    for h in headings {
        let at = story[from..]
            .find(h)
            .unwrap_or_else(|| panic!("{h:?} missing or out of order in:\n{story}"));
        from += at + h.len();
    }
}

fn bundled_sentence() -> String {
    let pem = std::fs::read_to_string(repo().join(layout::SITE_CERT)).unwrap();
    let chain = pki::certificates_from_pem(&pem, "site").unwrap();
    CertSummary::from_der(&chain[0]).unwrap().sentence()
}

#[test]
fn explain_tells_every_step_with_the_values_the_server_saw() {
    let server = Server::start(&[]);
    let out = client(&["--explain", &server.url("/")], &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stderr), "");
    let story = text(&out.stdout);
    assert_in_order(
        &story,
        &[
            &format!(
                "1. TCP connection: connected to 127.0.0.1:{} in ",
                server.port
            ),
            "2. ClientHello: sent at ",
            "3. ServerHello: received at ",
            "4. Certificate: verified.",
            "5. Keys: agreed by both sides, never sent.",
            "6. Encrypted request and response: HTTP/2, 200 OK in ",
            &format!("Secret message: {SECRET}\n"),
            "7. What an eavesdropper saw:",
            "In clear:",
            "Hidden:",
            "The records, as seen on the path",
            "client -> server  handshake",
            "ClientHello",
            "server -> client  handshake",
            "ServerHello",
        ],
    );

    let random = row(&story, "Client random:");
    assert_eq!(random.len(), 64, "{story}");
    let line = server_line(&server, &random);
    assert_eq!(row(&story, "TLS version:"), field(&line, "version"));
    assert_eq!(row(&story, "Cipher suite:"), field(&line, "suite"));
    assert_eq!(row(&story, "Server name (SNI):"), field(&line, "sni"));
    assert_eq!(row(&story, "ALPN:"), "h2, http/1.1");
    let group = field(&line, "group");
    assert!(
        row(&story, "Key exchange:").starts_with(&format!("{group}: a post-quantum hybrid")),
        "{story}"
    );
    let story = flat(&story);
    assert!(
        story.contains(&format!("was chosen by ALPN ({})", field(&line, "alpn"))),
        "{story}"
    );
    for expected in [
        "The certificate came encrypted (TLS 1.3 encrypts everything after the ServerHello)"
            .to_string(),
        format!("1. {}", bundled_sentence()),
        "passed chain: The chain leads to HTTPS Demo CA (localhost only), a CA in \
         ca_certificates_for_client/ca_public_key.pem"
            .to_string(),
        "passed signatures: The signature on localhost's certificate (ECDSA with SHA-256) verifies"
            .to_string(),
        "passed dates: It is ".to_string(),
        "passed name: You asked for localhost; the certificate holds localhost, 127.0.0.1, ::1."
            .to_string(),
        "passed name constraints: HTTPS Demo CA (localhost only) may vouch only for localhost"
            .to_string(),
        "passed key possession: The server signed the handshake (CertificateVerify)".to_string(),
        "they never crossed the wire".to_string(),
        "(forward secrecy)".to_string(),
        "- the certificate: TLS 1.3 encrypts everything after the ServerHello".to_string(),
        "Key log: none was written (SSLKEYLOGFILE is not set)".to_string(),
        "Edit > Preferences > Protocols > TLS > (Pre)-Master-Secret log filename".to_string(),
    ] {
        assert!(
            story.contains(&expected),
            "{expected:?} missing in:\n{story}"
        );
    }
}

#[test]
fn json_gives_the_same_facts_and_the_key_log_files_them_under_the_client_random() {
    let server = Server::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys.log");
    // --json alone implies --explain.
    let out = client(&["--json", &server.url("/")], &[("SSLKEYLOGFILE", &keys)]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let story: Value = serde_json::from_slice(&out.stdout).unwrap();

    let random = story["client_hello"]["hello"]["random"].as_str().unwrap();
    let line = server_line(&server, random);
    let server_hello = &story["server_hello"]["hello"];
    assert_eq!(server_hello["version"], field(&line, "version"));
    assert_eq!(server_hello["cipher_suite"], field(&line, "suite"));
    assert_eq!(story["server_hello"]["group"], field(&line, "group"));
    assert_eq!(story["server_hello"]["post_quantum"], true);
    assert_eq!(story["client_hello"]["hello"]["sni"], field(&line, "sni"));
    assert_eq!(story["exchange"]["alpn"], field(&line, "alpn"));
    assert_eq!(story["exchange"]["http_version"], "HTTP/2");
    assert_eq!(story["exchange"]["status"], 200);
    assert_eq!(story["exchange"]["message"], SECRET);
    assert!(story["failure"].is_null(), "{story}");

    let certificate = &story["certificate"];
    assert_eq!(certificate["outcome"], "passed");
    assert_eq!(certificate["encrypted"], true);
    assert_eq!(certificate["trusted_ca"], "HTTPS Demo CA (localhost only)");
    assert_eq!(certificate["chain"][0]["sentence"], bundled_sentence());
    let checks: Vec<&str> = certificate["checks"]
        .as_array()
        .unwrap()
        .iter()
        .inspect(|c| assert_eq!(c["outcome"], "passed", "{c}"))
        .map(|c| c["check"].as_str().unwrap())
        .collect();
    assert_eq!(
        checks,
        [
            "dates",
            "usage",
            "chain",
            "signatures",
            "name_constraints",
            "name",
            "key_possession"
        ]
    );

    // Encryption costs bytes: every record carries a header and a tag.
    for way in ["request", "response"] {
        let t = &story["exchange"][way];
        assert!(
            t["wire_bytes"].as_u64().unwrap() > t["plaintext_bytes"].as_u64().unwrap(),
            "{t}"
        );
    }
    let first = &story["eavesdropper"]["records"][0];
    assert_eq!(
        (&first["from"], &first["clear"][0]),
        (&Value::from("client"), &Value::from("ClientHello"))
    );

    // The key log names this very connection: the client random that crossed the wire.
    assert_eq!(story["key_log_file"], keys.display().to_string());
    assert_eq!(story["keys"]["filed_under_client_random"], true);
    let logged = std::fs::read_to_string(&keys).unwrap();
    assert!(
        logged.contains(&format!("CLIENT_HANDSHAKE_TRAFFIC_SECRET {random} ")),
        "{logged}"
    );
    assert!(
        logged.lines().all(|l| l.split(' ').nth(1) == Some(random)),
        "{logged}"
    );
    assert!(
        text(&out.stderr).contains("TLS secrets are being written to"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_certificate_from_another_ca_fails_the_certificate_step_and_the_story_stops() {
    let dir = tempfile::tempdir().unwrap();
    let ca = test_ca(dir.path(), "other_ca.pem", "Mallory's CA");
    let (nb, na) = now_window();
    let (cert, key) = test_site(dir.path(), &ca, &["localhost", "127.0.0.1"], nb, na);
    let server = Server::start(&[
        "--cert",
        cert.to_str().unwrap(),
        "--key",
        key.to_str().unwrap(),
    ]);
    let out = client(&["--explain", &server.url("/")], &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let story = text(&out.stdout);
    assert_in_order(
        &story,
        &[
            "1. TCP connection: connected",
            "2. ClientHello: sent",
            "3. ServerHello: received",
            "4. Certificate: FAILED.",
            "The story stops here: no request was sent",
        ],
    );
    for absent in ["5. Keys", "6. Encrypted", "7. What", "Secret message"] {
        assert!(!story.contains(absent), "{absent:?} in:\n{story}");
    }
    let story = flat(&story);
    for expected in [
        "passed dates:",
        "passed usage:",
        "FAILED chain: issued by an unknown CA: the server's certificate was issued by Mallory's CA, which is \
         not a CA you trust (ca_certificates_for_client/ca_public_key.pem holds only HTTPS Demo CA (localhost \
         only)).",
        "- signatures: not checked",
        "- name: not checked",
        // The same words as without --explain.
        "Why: issued by an unknown CA: the server's certificate was issued by Mallory's CA, which is not a CA \
         you trust (ca_certificates_for_client/ca_public_key.pem holds only HTTPS Demo CA (localhost only)). \
         Anyone can make a certificate for any name;",
    ] {
        assert!(
            story.contains(expected),
            "{expected:?} missing in:\n{story}"
        );
    }

    let out = client(&["--json", &server.url("/")], &[]);
    assert_eq!(out.status.code(), Some(1));
    let story: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(story["failure"]["step"], 4);
    assert_eq!(story["certificate"]["outcome"], "failed");
    assert_eq!(story["certificate"]["failure"], "unknown_issuer");
    assert!(story["keys"].is_null() && story["exchange"].is_null());
}

/// webpki reports a name-constraints violation only as an opaque error; the story must still
/// name the check that failed.
#[test]
fn a_name_outside_the_ca_name_constraints_fails_that_check() {
    use rcgen::{GeneralSubtree, NameConstraints};
    let dir = tempfile::tempdir().unwrap();
    let mut ca = test_ca(dir.path(), "loopback_ca.pem", "Loopback CA");
    ca.params.name_constraints = Some(NameConstraints {
        permitted_subtrees: vec![GeneralSubtree::DnsName("localhost".into())],
        excluded_subtrees: vec![],
    });
    std::fs::write(&ca.file, ca.params.self_signed(&ca.key).unwrap().pem()).unwrap();
    let (nb, na) = now_window();
    let (cert, key) = test_site(dir.path(), &ca, &["localhost", "bank.example"], nb, na);
    let server = Server::start(&[
        "--cert",
        cert.to_str().unwrap(),
        "--key",
        key.to_str().unwrap(),
    ]);
    let out = client(
        &[
            "--explain",
            "--ca-file",
            ca.file.to_str().unwrap(),
            &server.url("/"),
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let story = flat(&text(&out.stdout));
    for expected in [
        "4. Certificate: FAILED.",
        "passed chain:",
        "FAILED name constraints:",
        "The story stops here",
    ] {
        assert!(
            story.contains(expected),
            "{expected:?} missing in:\n{story}"
        );
    }
    assert!(!story.contains("5. Keys"), "{story}");
}

#[test]
fn nothing_listening_stops_the_story_at_the_tcp_step() {
    let closed = closed_port();
    let port = closed.port;
    let out = client(&["--explain", &format!("https://127.0.0.1:{port}/")], &[]);
    assert_eq!(out.status.code(), Some(1));
    let story = text(&out.stdout);
    assert!(story.contains("1. TCP connection: FAILED"), "{story}");
    assert!(
        flat(&story).contains(&format!(
            "Why: nothing is listening on 127.0.0.1:{port} (connection refused)."
        )),
        "{story}"
    );
    assert!(!story.contains("2. ClientHello"), "{story}");

    let out = client(&["--explain", "http://127.0.0.1:9/"], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("--explain tells the story of a TLS connection"),
        "{}",
        text(&out.stderr)
    );
}

/// `openssl s_server -WWW` with the demo set's certificate, serving `secret.txt` from a
/// temporary directory; ready once it listens, killed by its PID when dropped.
struct OpenSsl {
    peer: Peer,
    _dir: tempfile::TempDir,
}

impl OpenSsl {
    fn start(extra: &[&str]) -> OpenSsl {
        let repo = repo();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("secret.txt"), format!("{SECRET}\n")).unwrap();
        let path = |p: &str| repo.join(p).display().to_string();
        let pass = format!("file:{}", path(layout::PASSPHRASE));
        let (cert, key) = (path(layout::SITE_CERT), path(layout::SITE_KEY));
        let mut args = vec!["-cert", &cert, "-key", &key, "-pass", &pass, "-WWW"];
        args.extend(extra);
        OpenSsl {
            peer: Peer::openssl_server(dir.path(), &args),
            _dir: dir,
        }
    }

    fn url(&self) -> String {
        format!("https://localhost:{}/secret.txt", self.peer.port)
    }
}

#[test]
fn in_tls12_the_story_says_the_certificate_travelled_in_clear() {
    let server = Server::start(&["--tls-max", "1.2", "--http1-only"]);
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys.log");
    let out = client(
        &["--explain", &server.url("/")],
        &[("SSLKEYLOGFILE", &keys)],
    );
    assert!(out.status.success(), "{}", text(&out.stdout));
    let story = text(&out.stdout);
    let random = row(&story, "Client random:");
    let line = server_line(&server, &random);
    assert_eq!(row(&story, "TLS version:"), "TLS 1.2");
    assert_eq!(field(&line, "version"), "TLS 1.2");
    assert_eq!(row(&story, "Cipher suite:"), field(&line, "suite"));
    assert!(
        row(&story, "Key exchange:").starts_with(&format!("{}: a classic", field(&line, "group"))),
        "{story}"
    );
    assert_eq!(row(&story, "Server name (SNI):"), field(&line, "sni"));
    assert!(
        story.contains(&format!("Secret message: {SECRET}\n")),
        "{story}"
    );
    // The eavesdropper's view lists the Certificate message among the clear records.
    assert!(
        story
            .lines()
            .any(|l| l.contains("server -> client  handshake") && l.contains("Certificate")),
        "{story}"
    );
    // TLS 1.2 has one secret per connection, filed under the client random.
    let logged = std::fs::read_to_string(&keys).unwrap();
    assert_eq!(
        logged
            .lines()
            .map(|l| l.split(' ').take(2).collect::<Vec<_>>())
            .collect::<Vec<_>>(),
        [["CLIENT_RANDOM", random.as_str()]],
        "{logged}"
    );
    let story = flat(&story);
    for expected in [
        "4. Certificate: verified. The certificate travelled in clear (TLS 1.2 encrypts only after the \
         handshake), a Certificate message of"
            .to_string(),
        "anyone on the path could read who the server claims to be and who vouches for it.".to_string(),
        "- the certificate, because this is TLS 1.2: who the server claims to be and who vouches for it"
            .to_string(),
        "TLS 1.2 names it in the ServerKeyExchange message".to_string(),
        "passed key possession: The server signed the handshake (its ServerKeyExchange)".to_string(),
        "CLIENT_RANDOM (the master secret)".to_string(),
        "6. Encrypted request and response: HTTP/1.1, 200 OK in".to_string(),
        format!("HTTP/1.1 was chosen by ALPN ({})", field(&line, "alpn")),
    ] {
        assert!(
            story.contains(&expected),
            "{expected:?} missing in:\n{story}"
        );
    }
}

#[test]
fn a_hello_retry_request_is_told() {
    // The client sends key shares for X25519MLKEM768 and X25519 only; a server that accepts
    // only secp384r1 must ask again.
    let server = OpenSsl::start(&["-groups", "secp384r1"]);
    let out = client(&["--explain", &server.url()], &[]);
    assert!(out.status.success(), "{}", text(&out.stdout));
    let story = text(&out.stdout);
    assert!(
        story.contains("3. ServerHello: received at ")
            && story.contains("in clear, after a HelloRetryRequest."),
        "{story}"
    );
    assert!(
        row(&story, "Key exchange:").starts_with("secp384r1: a classic"),
        "{story}"
    );
    assert!(
        story.lines().any(|l| l.ends_with("  HelloRetryRequest")),
        "{story}"
    );
    let story = flat(&story);
    assert!(
        story.contains("so it asked for secp384r1. The client sent a second ClientHello (")
            && story.contains("bytes) with the key share secp384r1 ("),
        "{story}"
    );
}

/// The server's /connection JSON, fetched on the very connection whose story is told: what the
/// server saw must be what the client says it sent and got.
#[test]
fn the_connection_page_fetched_with_json_agrees_with_the_story() {
    for extra in [&[][..], &["--tls-max", "1.2"][..]] {
        let server = Server::start(extra);
        let out = client(&["--json", &server.url("/connection")], &[]);
        assert!(out.status.success(), "{}", text(&out.stdout));
        let story: Value = serde_json::from_slice(&out.stdout).unwrap();
        let exchange = &story["exchange"];
        assert_eq!(exchange["content_type"], "application/json", "{story:#}");
        let seen: Value = serde_json::from_str(exchange["message"].as_str().unwrap()).unwrap();
        let tls = &seen["connection"]["tls"];
        let (sent, got) = (&story["client_hello"]["hello"], &story["server_hello"]);
        // The same connection: the client random the server read is the one the client sent.
        assert_eq!(tls["offered"]["random"], sent["random"], "{seen:#}");
        for key in [
            "versions",
            "cipher_suites",
            "groups",
            "key_shares",
            "alpn",
            "sni",
        ] {
            assert_eq!(tls["offered"][key], sent[key], "{key}: {seen:#}");
        }
        assert_eq!(tls["version"], got["hello"]["version"]);
        assert_eq!(tls["cipher_suite"], got["hello"]["cipher_suite"]);
        assert_eq!(tls["key_exchange_group"], got["group"]);
        assert_eq!(tls["alpn"], exchange["alpn"]);
        let expected = if extra.is_empty() {
            "TLS 1.3"
        } else {
            "TLS 1.2"
        };
        assert_eq!(tls["version"], expected, "{seen:#}");
    }
}

/// Plain `demo_client .../connection` prints the server's JSON alone, for a program to read; it
/// reports the suites this client offers (its rustls provider's) and the version it got.
#[test]
fn demo_client_prints_the_connection_json_as_it_came() {
    let server = Server::start(&[]);
    let out = client(&[&server.url("/connection")], &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let seen: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON alone ({e}): {}", text(&out.stdout)));
    let tls = &seen["connection"]["tls"];
    assert_eq!(tls["version"], "TLS 1.3", "{seen:#}");
    assert_eq!(tls["alpn"], "h2");
    assert_eq!(seen["http_version"], "HTTP/2.0");
    // rustls offers its provider's suites in order, then the renegotiation signal (RFC 5746).
    let mut suites: Vec<String> = https_demo::tls::provider()
        .cipher_suites
        .iter()
        .map(|s| s.suite().iana_name())
        .collect();
    suites.push("TLS_EMPTY_RENEGOTIATION_INFO_SCSV".into());
    assert_eq!(tls["offered"]["cipher_suites"], serde_json::json!(suites));
    assert!(
        suites.contains(&tls["cipher_suite"].as_str().unwrap().to_string()),
        "{seen:#}"
    );
    // The same address without /connection still answers with the message, in words.
    let out = client(&[&server.url("/")], &[]);
    assert!(
        text(&out.stdout).starts_with(&format!("Secret message: {SECRET}\n")),
        "{}",
        text(&out.stdout)
    );
}
