//! The demo as a person runs it: demo_client against demo_server, both real processes.

mod support;

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use support::certs::{now_window, test_ca, test_site};
use support::*;
use time::{Duration as Span, OffsetDateTime};

fn client(args: &[&str]) -> Output {
    run_bounded(
        Command::new(env!("CARGO_BIN_EXE_demo_client"))
            .current_dir(repo())
            .args(args)
            .env_remove("SSLKEYLOGFILE"),
        Duration::from_secs(30),
    )
}

/// demo_server with a certificate and key of a test's own.
fn server_with(cert: &Path, key: &Path, extra: &[&str]) -> Server {
    let mut args = vec![
        "--cert",
        cert.to_str().unwrap(),
        "--key",
        key.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    Server::start(&args)
}

#[test]
fn the_client_gets_the_secret_from_the_server_over_tls13() {
    let server = Server::start(&[]);
    let out = client(&[&server.url("/")]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let said = text(&out.stdout);
    assert!(
        said.starts_with(&format!("Secret message: {SECRET}\n")),
        "{said}"
    );
    assert!(
        said.contains("TLS 1.3") && said.contains("HTTP/2"),
        "{said}"
    );
    assert!(
        said.contains("signed by HTTPS Demo CA (localhost only)"),
        "{said}"
    );
    assert!(
        server.wait_for_log("version=\"TLS 1.3\""),
        "{}",
        server.logs()
    );
}

#[test]
fn the_client_gets_the_secret_over_plain_http_and_says_it_was_in_clear() {
    let server = Server::start(&["--plain-http"]);
    let out = client(&[&format!("http://127.0.0.1:{}/", server.port)]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let said = text(&out.stdout);
    assert!(
        said.starts_with(&format!("Secret message: {SECRET}\n")),
        "{said}"
    );
    assert!(said.contains("clear text"), "{said}");
}

#[test]
fn the_client_refuses_a_server_certified_by_another_ca() {
    let dir = tempfile::tempdir().unwrap();
    let ca = test_ca(dir.path(), "other_ca.pem", "Mallory's CA");
    let (nb, na) = now_window();
    let (cert, key) = test_site(dir.path(), &ca, &["localhost", "127.0.0.1"], nb, na);
    let server = server_with(&cert, &key, &[]);
    // The server itself warns that clients will refuse it.
    assert!(
        server.wait_for_log("demo_client will refuse this server"),
        "{}",
        server.logs()
    );
    let out = client(&[&server.url("/")]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains(
            "issued by an unknown CA: the server's certificate was issued by Mallory's CA"
        ),
        "{err}"
    );
    assert!(
        err.contains("This is what a man-in-the-middle looks like"),
        "{err}"
    );
}

#[test]
fn the_client_refuses_an_expired_certificate_and_gives_the_dates() {
    let dir = tempfile::tempdir().unwrap();
    let ca = test_ca(dir.path(), "ca.pem", "Test CA");
    let now = OffsetDateTime::now_utc();
    let (cert, key) = test_site(
        dir.path(),
        &ca,
        &["localhost"],
        now - Span::days(30),
        now - Span::days(1),
    );
    // demo_server refuses to serve it unless asked to show what clients do.
    let refused = Server::try_start(
        &[
            "--cert",
            cert.to_str().unwrap(),
            "--key",
            key.to_str().unwrap(),
        ],
        &[],
    );
    let err = refused
        .err()
        .expect("an expired certificate must be refused at startup");
    assert!(
        err.contains("is not valid now") && err.contains("demo_pki -- demo --force"),
        "{err}"
    );
    let server = server_with(&cert, &key, &["--allow-invalid-dates"]);
    let out = client(&["--ca-file", ca.file.to_str().unwrap(), &server.url("/")]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("the server's certificate expired on"), "{err}");
}

#[test]
fn the_client_refuses_a_certificate_for_another_name_and_lists_its_names() {
    let dir = tempfile::tempdir().unwrap();
    let ca = test_ca(dir.path(), "ca.pem", "Test CA");
    let (nb, na) = now_window();
    let (cert, key) = test_site(dir.path(), &ca, &["www.example.com", "example.com"], nb, na);
    let server = server_with(&cert, &key, &[]);
    let out = client(&["--ca-file", ca.file.to_str().unwrap(), &server.url("/")]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("is for www.example.com, example.com, but localhost was asked for"),
        "{err}"
    );
}
