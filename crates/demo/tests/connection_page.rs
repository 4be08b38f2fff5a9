//! GET /connection shows each visitor their own connection: checked against what the client
//! itself reports having used.

mod support;

use std::process::Command;
use std::time::Duration;

use support::*;

fn json_of(value: &str) -> serde_json::Value {
    serde_json::from_str(value).unwrap_or_else(|e| panic!("not JSON ({e}): {value}"))
}

/// What curl -v says it negotiated: ("TLSv1.3", "TLS_AES_256_GCM_SHA384"), OpenSSL names as curl
/// prints them.
fn curl_negotiated(stderr: &str) -> (String, String) {
    let line = stderr
        .lines()
        .find(|l| l.contains("SSL connection using"))
        .expect("curl -v names the cipher");
    let rest = line.split("SSL connection using ").nth(1).unwrap();
    let (version, suite) = rest.split_once(" / ").unwrap();
    (
        version.trim().to_string(),
        suite.split_whitespace().next().unwrap().to_string(),
    )
}

/// OpenSSL's name for a suite in IANA's words (TLS 1.3 names are the same in both).
fn iana_name(openssl_name: &str) -> String {
    let out = run_bounded(
        Command::new("openssl").args(["ciphers", "-stdname", "ALL"]),
        Duration::from_secs(10),
    );
    text(&out.stdout)
        .lines()
        .find_map(|l| {
            let mut parts = l.split(" - ");
            let (iana, ossl) = (
                parts.next()?.trim(),
                parts.next()?.split_whitespace().next()?,
            );
            (ossl == openssl_name).then(|| iana.to_string())
        })
        .unwrap_or_else(|| openssl_name.to_string())
}

fn check_against_curl(extra: &[&str], expect_version: &str) {
    let server = Server::start(&[]);
    let ca = ca_file();
    let mut args = vec![
        "-v",
        "-H",
        "Accept: application/json",
        "--cacert",
        ca.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let url = server.url("/connection");
    args.push(&url);
    let out = curl(&args);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let facts = json_of(&text(&out.stdout));
    let tls = &facts["connection"]["tls"];
    let (curl_version, curl_suite) = curl_negotiated(&text(&out.stderr));
    assert_eq!(curl_version, expect_version);
    assert_eq!(tls["version"], expect_version.replace("TLSv", "TLS "));
    assert_eq!(tls["cipher_suite"], iana_name(&curl_suite), "{facts:#}");
    let offered: Vec<&str> = tls["offered"]["cipher_suites"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    assert!(
        offered.contains(&iana_name(&curl_suite).as_str()),
        "{offered:?}"
    );
    assert_eq!(tls["sni"], "localhost");
    assert!(
        facts["server_certificate"]
            .as_str()
            .unwrap()
            .starts_with("From "),
        "{facts:#}"
    );
    // The client random in the page is the one the server logged for that connection.
    let random = tls["offered"]["random"].as_str().unwrap();
    assert!(
        server.wait_for_log(&format!("client_random=\"{random}\"")),
        "{}",
        server.logs()
    );
}

#[test]
fn connection_json_matches_what_curl_used_with_tls13() {
    check_against_curl(&[], "TLSv1.3");
}

#[test]
fn connection_json_matches_what_curl_used_with_tls12() {
    check_against_curl(&["--tls-max", "1.2"], "TLSv1.2");
}

#[test]
fn browsers_get_html_and_command_line_clients_keep_plain_text() {
    let server = Server::start(&[]);
    let ca = ca_file();
    let ca = ca.to_str().unwrap();
    let page = text(
        &curl(&[
            "--cacert",
            ca,
            "-H",
            "Accept: text/html,*/*;q=0.8",
            &server.url("/"),
        ])
        .stdout,
    );
    assert!(
        page.starts_with("<!doctype html>")
            && page.contains(SECRET)
            && page.contains("href=\"/connection\""),
        "{page}"
    );
    assert!(
        !page.contains("<script") && !page.contains("http://") && !page.contains("https://"),
        "no external assets, no JS"
    );
    let plain = text(&curl(&["--cacert", ca, &server.url("/")]).stdout);
    assert_eq!(plain, SECRET);
    let conn = text(
        &curl(&[
            "--cacert",
            ca,
            "-H",
            "Accept: text/html",
            &server.url("/connection"),
        ])
        .stdout,
    );
    assert!(
        conn.contains("Your connection")
            && conn.contains("TLS 1.3")
            && conn.contains("What your client offered"),
        "{conn}"
    );
}

#[test]
fn the_plain_http_connection_page_says_nothing_was_encrypted() {
    let server = Server::start(&["--plain-http"]);
    let out = curl(&[
        "-H",
        "Accept: application/json",
        &format!("http://127.0.0.1:{}/connection", server.port),
    ]);
    let facts = json_of(&text(&out.stdout));
    assert!(facts["connection"]["tls"].is_null(), "{facts:#}");
    let html = text(&curl(&[&format!("http://127.0.0.1:{}/connection", server.port)]).stdout);
    assert!(html.contains("plain HTTP"), "{html}");
}

/// GET `path` over TLS 1.3 with a ClientHello inflated past 16 KB (a long ALPN list, which
/// rustls sends as it is; http/1.1 last, so that the server still picks it).
fn get_with_a_huge_client_hello(port: u16, path: &str, accept: &str) -> String {
    use rustls_pki_types::ServerName;
    use std::io::{Read, Write};

    let mut alpn: Vec<&[u8]> = vec![&[b'x'; 200][..]; 100];
    alpn.push(b"http/1.1");
    let config = tls_client_config(&alpn);
    let name = ServerName::try_from("localhost").unwrap();
    let conn = rustls::ClientConnection::new(config, name).unwrap();
    let sock = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut tls = rustls::StreamOwned::new(conn, sock);
    write!(
        tls,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nAccept: {accept}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = Vec::new();
    let _ = tls.read_to_end(&mut answer);
    let answer = text(&answer);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    answer.split_once("\r\n\r\n").unwrap().1.to_string()
}

#[test]
fn a_client_hello_too_large_to_keep_is_named_with_its_size() {
    let server = Server::start(&[]);
    let facts = json_of(&get_with_a_huge_client_hello(
        server.port,
        "/connection",
        "application/json",
    ));
    let tls = &facts["connection"]["tls"];
    let size = tls["client_hello_bytes"]
        .as_u64()
        .expect("the ClientHello's size");
    assert!(size > 20_000, "{facts:#}");
    assert!(tls["offered"].is_null(), "{facts:#}");
    let why = tls["offered_not_kept"].as_str().unwrap_or_default();
    assert!(
        why.contains(&format!("The ClientHello was {size} bytes")) && why.contains("not shown"),
        "{facts:#}"
    );
    let html = get_with_a_huge_client_hello(server.port, "/connection", "text/html");
    assert!(html.contains("What your client offered"), "{html}");
    assert!(html.contains("bytes, more than the 16384 bytes"), "{html}");
    // A usual ClientHello: its size, and no excuse.
    let out = curl(&[
        "-H",
        "Accept: application/json",
        "--cacert",
        ca_file().to_str().unwrap(),
        &server.url("/connection"),
    ]);
    let facts = json_of(&text(&out.stdout));
    let tls = &facts["connection"]["tls"];
    assert!(tls["offered"]["cipher_suites"].is_array(), "{facts:#}");
    assert!(
        tls["client_hello_bytes"].as_u64().unwrap() > 200,
        "{facts:#}"
    );
    assert!(tls.get("offered_not_kept").is_none(), "{facts:#}");
}
