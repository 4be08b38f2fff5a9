//! GET /handshake draws the visitor's own connection from the records the server itself sent
//! and received: checked with curl (TLS 1.2 and 1.3) against what each version leaves readable.

mod support;

use support::*;

fn json_of(value: &str) -> serde_json::Value {
    serde_json::from_str(value).unwrap_or_else(|e| panic!("not JSON ({e}): {value}"))
}

/// /handshake's JSON over curl: (name, from, clear) per message, and the whole JSON.
fn handshake_over_curl(extra: &[&str]) -> (Vec<(String, String, bool)>, serde_json::Value) {
    let server = Server::start(&[]);
    let ca = ca_file();
    let url = server.url("/handshake");
    let mut args = vec![
        "-sS",
        "--http1.1",
        "-H",
        "Accept: application/json",
        "--cacert",
        ca.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    args.push(&url);
    let out = curl(&args);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let json = json_of(&text(&out.stdout));
    let list = json["messages"]
        .as_array()
        .unwrap_or_else(|| panic!("no messages: {json:#}"))
        .iter()
        .map(|m| {
            (
                m["name"].as_str().unwrap().to_string(),
                m["from"].as_str().unwrap().to_string(),
                m["clear"].as_bool().unwrap(),
            )
        })
        .collect();
    // The ClientHello's size on the page is the one the server logged for that connection,
    // found by its client random.
    let random = json["client_random"].as_str().unwrap();
    let hello_record = json["messages"][0]["bytes"].as_u64().unwrap();
    assert!(
        server.wait_for_log(&format!(
            "client_random=\"{random}\" client_hello_bytes={}",
            hello_record - 5
        )),
        "{}",
        server.logs()
    );
    (list, json)
}

fn clear_of(list: &[(String, String, bool)], name: &str) -> bool {
    list.iter()
        .find(|(n, from, _)| n == name && from == "server")
        .unwrap_or_else(|| panic!("no {name} from the server in {list:?}"))
        .2
}

#[test]
fn over_tls13_the_certificate_is_encrypted_and_every_message_is_named() {
    let (list, json) = handshake_over_curl(&["--tlsv1.3"]);
    let names: Vec<&str> = list.iter().map(|(n, _, _)| n.as_str()).collect();
    assert_eq!(
        &names[..names.len().min(7)],
        [
            "ClientHello",
            "ServerHello",
            "EncryptedExtensions",
            "Certificate",
            "CertificateVerify",
            "Finished",
            "Finished"
        ],
        "{json:#}"
    );
    assert!(names.contains(&"HTTP request"), "{json:#}");
    assert!(!clear_of(&list, "Certificate"), "{json:#}");
    assert!(clear_of(&list, "ServerHello"), "{json:#}");
}

#[test]
fn over_tls12_the_certificate_is_readable_on_the_path() {
    let (list, json) = handshake_over_curl(&["--tls-max", "1.2"]);
    assert_eq!(json["version"], "TLS 1.2", "{json:#}");
    assert!(clear_of(&list, "Certificate"), "{json:#}");
    assert!(!clear_of(&list, "Finished"), "{json:#}");
}

#[test]
fn the_html_page_draws_the_diagram_and_links_back() {
    let server = Server::start(&[]);
    let ca = ca_file();
    let url = server.url("/handshake");
    let out = curl(&[
        "-sS",
        "--cacert",
        ca.to_str().unwrap(),
        "-H",
        "Accept: text/html",
        &url,
    ]);
    let page = text(&out.stdout);
    for needle in [
        "<svg",
        "ClientHello",
        "ServerHello",
        "Certificate",
        "Finished",
        "HTTP request",
        "href=\"/connection\"",
    ] {
        assert!(page.contains(needle), "no {needle} in {page}");
    }
    let home = text(
        &curl(&[
            "-sS",
            "--cacert",
            ca.to_str().unwrap(),
            "-H",
            "Accept: text/html",
            &server.url("/"),
        ])
        .stdout,
    );
    assert!(home.contains("href=\"/handshake\""), "{home}");
}
