//! End-to-end tests of demo_client: the real binary against real servers on loopback
//! (`openssl s_server` for TLS, Python for plain HTTP), one test per check the client makes,
//! each asserting the exact words the user sees.

use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use https_demo::layout;
use https_demo::pki::{self, inspect::CertSummary};
use tempfile::TempDir;
use time::{Duration as Span, OffsetDateTime, macros::datetime};

mod support;

use support::certs::{TestCa, now_window, test_ca, test_site};
use support::{Peer, SECRET, closed_port, repo};

/// `openssl s_server` on 127.0.0.1. With `www`, it serves the files of `dir` (so
/// /secret.txt is the secret); without, it completes the handshake and never answers (its stdin,
/// which it would send, stays open and silent).
fn openssl_server(dir: &Path, cert: &Path, key: &Path, pass: Option<&Path>, www: bool) -> Peer {
    let mut args = vec![
        "-cert".to_string(),
        cert.display().to_string(),
        "-key".to_string(),
        key.display().to_string(),
    ];
    if let Some(pass) = pass {
        args.extend(["-pass".to_string(), format!("file:{}", pass.display())]);
    }
    if www {
        args.push("-WWW".to_string());
    }
    Peer::openssl_server(dir, &args.iter().map(String::as_str).collect::<Vec<_>>())
}

/// Python's own file server, plain HTTP, on port 0; ready at its "Serving HTTP on" line.
fn python_http_server(dir: &Path) -> Peer {
    let mut cmd = Command::new("python3");
    cmd.args([
        "-u",
        "-m",
        "http.server",
        "--bind",
        "127.0.0.1",
        "0",
        "--directory",
    ])
    .arg(dir);
    Peer::start(cmd, |line| {
        let rest = line.strip_prefix("Serving HTTP on 127.0.0.1 port ")?;
        rest.split_whitespace().next()?.parse().ok()
    })
}

/// A plain-HTTP server that answers anything with 400 at once, as nginx and hyper do.
/// (http.server waits for a newline, which a ClientHello may not contain, so a TLS client
/// would then wait too, and the test would depend on random bytes.)
const PLAIN_400: &str = r#"
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0))
s.listen(16)
print("Listening on", s.getsockname()[1])
while True:
    c, _ = s.accept()
    c.settimeout(5)
    try:
        if c.recv(65536):
            c.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
    except OSError:
        pass
    c.close()
"#;

fn plain_400_server() -> Peer {
    Peer::python(PLAIN_400, &[])
}

/// Runs demo_client in `cwd` with a clean environment for what it reads.
fn client(cwd: &Path, args: &[&str], env: &[(&str, &Path)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_demo_client"));
    cmd.current_dir(cwd)
        .args(args)
        .env_remove("SSLKEYLOGFILE")
        .env_remove("RUST_LOG")
        .env_remove("SSL_CERT_FILE")
        .env_remove("SSL_CERT_DIR");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8(out.stderr.clone()).unwrap()
}

/// The error message of a failed run (exit status 1, nothing on stdout), without its prefix.
fn failure(out: &Output) -> String {
    assert_eq!(out.status.code(), Some(1), "stderr: {}", stderr(out));
    assert_eq!(stdout(out), "");
    let err = stderr(out);
    let msg = err
        .strip_prefix("demo_client: error: ")
        .unwrap_or_else(|| panic!("one error line: {err}"));
    assert_eq!(msg.lines().count(), 1, "one error line: {err}");
    msg.trim_end().to_string()
}

/// A TLS server whose certificate for localhost and 127.0.0.1 comes from a CA the client does
/// not trust by default.
fn server_of_another_ca(cn: &str) -> (TempDir, TestCa, Peer) {
    let dir = tempfile::tempdir().unwrap();
    let ca = test_ca(dir.path(), "other_ca.pem", cn);
    let (nb, na) = now_window();
    let (cert, key) = test_site(dir.path(), &ca, &["localhost", "127.0.0.1"], nb, na);
    let server = openssl_server(dir.path(), &cert, &key, None, true);
    (dir, ca, server)
}

fn unknown_issuer_message() -> String {
    format!(
        "issued by an unknown CA: the server's certificate was issued by Other CA, which is not a CA you trust \
         ({} holds only HTTPS Demo CA (localhost only)). Anyone can make a certificate for any name; only a CA \
         you trust makes it proof. This is what a man-in-the-middle looks like: had the client gone on, whoever \
         holds this certificate's key would read and change everything sent, the secret included. If you \
         expected this server, trust the CA that did issue its certificate: pass that CA's certificate with \
         --ca-file.",
        layout::CA_CERT
    )
}

#[test]
fn fetches_the_secret_from_the_bundled_server_and_says_what_was_verified() {
    let repo = repo();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("secret.txt"), format!("{SECRET}\n")).unwrap();
    let server = openssl_server(
        dir.path(),
        &repo.join(layout::SITE_CERT),
        &repo.join(layout::SITE_KEY),
        Some(&repo.join(layout::PASSPHRASE)),
        true,
    );
    let url = format!("https://localhost:{}/secret.txt", server.port);
    let out = client(&repo, &[&url], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stderr(&out), "");

    let site_pem = std::fs::read_to_string(repo.join(layout::SITE_CERT)).unwrap();
    let site = pki::certificates_from_pem(&site_pem, "site").unwrap();
    let sentence = CertSummary::from_der(&site[0]).unwrap().sentence();
    assert_eq!(
        stdout(&out),
        format!(
            "Secret message: {SECRET}\n\
             Verified: the certificate for localhost was signed by HTTPS Demo CA (localhost only), from {}; \
             TLS 1.3, HTTP/1.0.\n\
             The certificate says: {sentence}\n",
            layout::CA_CERT
        )
    );
}

#[test]
fn plain_http_says_the_message_travelled_in_clear_text() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("secret.txt"), format!("{SECRET}\n")).unwrap();
    let server = python_http_server(dir.path());
    let url = format!("http://127.0.0.1:{}/secret.txt", server.port);
    // No CA file is needed for http://: run where there is none.
    let out = client(dir.path(), &[&url], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        format!(
            "Secret message: {SECRET}\n\
             Not protected: it came from 127.0.0.1:{port} over plain HTTP, so the message \
             travelled in clear text (anyone on the path could read it, or change it) and nothing proved who \
             answered.\n",
            port = server.port
        )
    );
}

#[test]
fn a_certificate_from_another_ca_is_called_a_man_in_the_middle() {
    let (_dir, ca, server) = server_of_another_ca("Other CA");
    let url = format!("https://localhost:{}/secret.txt", server.port);
    let out = client(&repo(), &[&url], &[]);
    assert_eq!(failure(&out), unknown_issuer_message());

    // The same server is believed by a client that trusts its CA: only trust differs.
    let ca_file = ca.file.display().to_string();
    let out = client(&repo(), &[&url, "--ca-file", &ca_file], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains(&format!("was signed by Other CA, from {ca_file};")),
        "{}",
        stdout(&out)
    );
}

/// rustls-native-certs, which reqwest's platform verifier uses for the system's roots, reads
/// SSL_CERT_FILE and SSL_CERT_DIR: pointing them at the server's CA would make the server
/// trusted if system roots were consulted at all.
#[test]
fn system_roots_are_not_trusted() {
    let (dir, ca, server) = server_of_another_ca("Other CA");
    let url = format!("https://localhost:{}/secret.txt", server.port);
    let out = client(
        &repo(),
        &[&url],
        &[("SSL_CERT_FILE", &ca.file), ("SSL_CERT_DIR", dir.path())],
    );
    assert_eq!(failure(&out), unknown_issuer_message());
}

#[test]
fn a_ca_with_the_same_name_and_another_key_is_a_forgery() {
    let dir = tempfile::tempdir().unwrap();
    let trusted = test_ca(dir.path(), "trusted_ca.pem", "Demo CA");
    let impostor = test_ca(dir.path(), "impostor_ca.pem", "Demo CA");
    let (nb, na) = now_window();
    let (cert, key) = test_site(dir.path(), &impostor, &["localhost"], nb, na);
    let server = openssl_server(dir.path(), &cert, &key, None, true);
    let url = format!("https://localhost:{}/secret.txt", server.port);
    let ca_file = trusted.file.display().to_string();
    let out = client(dir.path(), &[&url, "--ca-file", &ca_file], &[]);
    assert_eq!(
        failure(&out),
        format!(
            "signature does not verify: the server's certificate names Demo CA as its issuer, but the signature \
             on it does not verify with the key of that CA in {ca_file}: another key signed it under the same \
             name. This is what a forged certificate looks like; going on would trust whoever made it. It is also what you see when `demo_pki demo` made a new CA and the server or \
             the client still has the old set: restart the server, and pass the CA file of the set it uses with \
             --ca-file."
        )
    );
}

/// Splits "... (it is now T) ..." and checks T is within a minute of now.
fn assert_now_in(msg: &str, before: &str, after: &str) {
    let rest = msg
        .strip_prefix(before)
        .unwrap_or_else(|| panic!("{msg}\n  should start with\n{before}"));
    let (now, tail) = rest.split_once(')').unwrap();
    assert_eq!(tail, after, "{msg}");
    let format =
        time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second] UTC");
    let shown = time::PrimitiveDateTime::parse(now, format)
        .unwrap()
        .assume_utc();
    assert!(
        (OffsetDateTime::now_utc() - shown).abs() < Span::minutes(1),
        "{msg}"
    );
}

#[test]
fn an_expired_certificate_gives_the_dates_and_how_to_make_a_new_one() {
    let dir = tempfile::tempdir().unwrap();
    let ca = test_ca(dir.path(), "ca.pem", "Demo CA");
    let (cert, key) = test_site(
        dir.path(),
        &ca,
        &["localhost"],
        datetime!(2020-01-01 00:00 UTC),
        datetime!(2021-01-01 00:00 UTC),
    );
    let server = openssl_server(dir.path(), &cert, &key, None, true);
    let url = format!("https://localhost:{}/secret.txt", server.port);
    let ca_file = ca.file.display().to_string();
    let out = client(dir.path(), &[&url, "--ca-file", &ca_file], &[]);
    assert_now_in(
        &failure(&out),
        "expired certificate: the server's certificate expired on 2021-01-01 00:00:00 UTC (it is now ",
        &format!(
            ". An expired certificate no longer proves who the server is: its CA no longer answers for it, and \
             its key may have leaked since; had the client gone on, whoever holds that key could pose as the \
             site. If this is the demo's server, make a fresh set with `{}` and restart the server.",
            layout::REGENERATE
        ),
    );
}

#[test]
fn a_certificate_not_valid_yet_gives_the_dates() {
    let dir = tempfile::tempdir().unwrap();
    let ca = test_ca(dir.path(), "ca.pem", "Demo CA");
    let (cert, key) = test_site(
        dir.path(),
        &ca,
        &["localhost"],
        datetime!(2090-01-01 00:00 UTC),
        datetime!(2091-01-01 00:00 UTC),
    );
    let server = openssl_server(dir.path(), &cert, &key, None, true);
    let url = format!("https://localhost:{}/secret.txt", server.port);
    let ca_file = ca.file.display().to_string();
    let out = client(dir.path(), &[&url, "--ca-file", &ca_file], &[]);
    assert_now_in(
        &failure(&out),
        "certificate not valid yet: the server's certificate is not valid until 2090-01-01 00:00:00 UTC (it is \
         now ",
        &format!(
            ". A certificate proves nothing before its start date; a clock set wrong makes every certificate look \
             like this. Check this computer's clock; if it is right, the certificate was made with a start date in the \
             future. If this is the demo's server, make a fresh set with `{}` and restart the server.",
            layout::REGENERATE
        ),
    );
}

#[test]
fn a_certificate_for_another_name_lists_the_names_it_holds() {
    let dir = tempfile::tempdir().unwrap();
    let ca = test_ca(dir.path(), "ca.pem", "Demo CA");
    let (nb, na) = now_window();
    let (cert, key) = test_site(
        dir.path(),
        &ca,
        &["www.example.com", "example.com", "192.0.2.1"],
        nb,
        na,
    );
    let server = openssl_server(dir.path(), &cert, &key, None, true);
    let port = server.port;
    let ca_file = ca.file.display().to_string();
    let url = format!("https://localhost:{port}/secret.txt");
    let out = client(dir.path(), &[&url, "--ca-file", &ca_file], &[]);
    assert_eq!(
        failure(&out),
        format!(
            "certificate for another name: the server's certificate is for www.example.com, example.com, \
             192.0.2.1, but localhost was asked for. A certificate proves only the names it holds: this could be \
             another site's certificate, or a man-in-the-middle's, and going on would send the secret to whoever \
             holds it. If you expected this server, connect by a name it holds \
             (https://www.example.com:{port}/secret.txt), or give the server a certificate for localhost."
        )
    );
}

#[test]
fn connection_refused_says_how_to_start_the_server() {
    let closed = closed_port();
    let port = closed.port;
    let url = format!("https://localhost:{port}/");
    let out = client(&repo(), &[&url], &[]);
    assert_eq!(
        failure(&out),
        format!(
            "nothing is listening on localhost:{port} (connection refused). Start the server first \
             (./start_https_server.sh), or check the port in the URL."
        )
    );
}

#[test]
fn a_plain_http_server_behind_an_https_url_is_named() {
    let server = plain_400_server();
    let port = server.port;
    let out = client(&repo(), &[&format!("https://localhost:{port}/")], &[]);
    assert_eq!(
        failure(&out),
        format!(
            "the server at localhost:{port} answered in plain HTTP, not TLS (what came back is not a TLS record). \
             Use http://localhost:{port}/ if you meant plain HTTP, or check the port."
        )
    );
}

#[test]
fn an_http_url_to_a_tls_server_suggests_https() {
    let repo = repo();
    let dir = tempfile::tempdir().unwrap();
    let server = openssl_server(
        dir.path(),
        &repo.join(layout::SITE_CERT),
        &repo.join(layout::SITE_KEY),
        Some(&repo.join(layout::PASSPHRASE)),
        true,
    );
    let port = server.port;
    let out = client(&repo, &[&format!("http://localhost:{port}/")], &[]);
    assert_eq!(
        failure(&out),
        format!(
            "the server at localhost:{port} speaks HTTPS (TLS) on this port, and the URL asks for plain HTTP \
             (http://): it closed the connection without an HTTP answer. The scheme is the problem, not the \
             path: use https://localhost:{port}/."
        )
    );
}

/// demo_server answers plain HTTP on its TLS port with a 400 naming the https:// URL; the client
/// says that the scheme, not the path, is wrong.
#[test]
fn an_http_url_to_demo_servers_tls_port_names_the_scheme() {
    let server = support::Server::start(&[]);
    let port = server.port;
    let out = client(&repo(), &[&format!("http://localhost:{port}/secret")], &[]);
    let said = failure(&out);
    assert_eq!(
        said,
        format!(
            "the server at localhost:{port} speaks HTTPS (TLS) on this port, and the URL asks for plain HTTP \
             (http://): it answered 400 Bad Request to the plain HTTP request. The scheme is the problem, not \
             the path: use https://localhost:{port}/secret."
        )
    );
    assert!(!said.contains("path."), "{said}");
}

#[test]
fn a_server_silent_during_the_handshake_times_out_in_the_tls_phase() {
    // The kernel completes the TCP handshake for a listening socket; nobody ever reads.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let started = Instant::now();
    let out = client(
        &repo(),
        &[&format!("https://127.0.0.1:{port}/"), "--timeout", "1"],
        &[],
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(
        failure(&out),
        format!(
            "no TLS connection to 127.0.0.1:{port} within 1 second: the TCP connection or the TLS handshake did \
             not finish. A server that accepts the connection but never answers the TLS hello may not speak TLS \
             on that port (a plain-HTTP server waits like this): check the port, or try http://127.0.0.1:{port}/."
        )
    );
    drop(listener);
}

#[test]
fn a_server_silent_after_the_handshake_times_out_waiting_for_the_answer() {
    let repo = repo();
    let dir = tempfile::tempdir().unwrap();
    let server = openssl_server(
        dir.path(),
        &repo.join(layout::SITE_CERT),
        &repo.join(layout::SITE_KEY),
        Some(&repo.join(layout::PASSPHRASE)),
        false,
    );
    let port = server.port;
    let out = client(
        &repo,
        &[&format!("https://localhost:{port}/"), "--timeout", "1.5"],
        &[],
    );
    assert_eq!(
        failure(&out),
        format!(
            "connected and verified the TLS certificate of localhost:{port}, but the server sent no complete \
             answer within 1.5 seconds. It may be stuck or busy: try again, or allow longer with --timeout."
        )
    );
}

#[test]
fn a_missing_or_garbage_ca_file_is_named_with_the_next_step() {
    let dir = tempfile::tempdir().unwrap();
    // The CA file is read before any connection: no server is needed.
    let url = "https://localhost:9/";
    let out = client(dir.path(), &[url], &[]);
    assert_eq!(
        failure(&out),
        format!(
            "the CA file {} does not exist (looked in {}). Run demo_client from the repository root, pass the CA \
             certificate with --ca-file, or make the demo set: {}",
            layout::CA_CERT,
            dir.path().canonicalize().unwrap().display(),
            layout::REGENERATE
        )
    );

    std::fs::write(dir.path().join("garbage.pem"), "not a certificate\n").unwrap();
    let out = client(dir.path(), &[url, "--ca-file", "garbage.pem"], &[]);
    assert_eq!(
        failure(&out),
        format!(
            "the CA file garbage.pem holds no certificate (no -----BEGIN CERTIFICATE----- block). Give the CA's \
             PEM certificate with --ca-file (the demo's is {}).",
            layout::CA_CERT
        )
    );

    let key = repo().join(layout::SITE_KEY);
    let out = client(dir.path(), &[url, "--ca-file", key.to_str().unwrap()], &[]);
    assert_eq!(
        failure(&out),
        format!(
            "the CA file {} holds a private key. A client needs only the CA's certificate (ca_public_key.pem); \
             keep keys away from clients.",
            key.display()
        )
    );
}

#[test]
fn sslkeylogfile_gets_the_tls_secrets_and_says_so() {
    let repo = repo();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("secret.txt"), format!("{SECRET}\n")).unwrap();
    let server = openssl_server(
        dir.path(),
        &repo.join(layout::SITE_CERT),
        &repo.join(layout::SITE_KEY),
        Some(&repo.join(layout::PASSPHRASE)),
        true,
    );
    let keys = dir.path().join("keys.log");
    let url = format!("https://localhost:{}/secret.txt", server.port);
    let out = client(&repo, &[&url], &[("SSLKEYLOGFILE", &keys)]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).starts_with(&format!("Secret message: {SECRET}\n")));
    assert_eq!(
        stderr(&out),
        format!(
            "demo_client: TLS secrets are being written to {} (SSLKEYLOGFILE): with it, anyone who captured this \
             traffic can read it. Delete the file when you are done.\n",
            keys.display()
        )
    );
    let logged = std::fs::read_to_string(&keys).unwrap();
    assert!(logged.contains("CLIENT_TRAFFIC_SECRET_0 "), "{logged}");
    let mode = std::fs::metadata(&keys).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
}
