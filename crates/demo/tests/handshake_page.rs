//! GET /handshake draws the visitor's own connection from the records the server itself sent
//! and received: checked with curl (TLS 1.2 and 1.3) against what each version leaves readable.

mod support;

use support::browser::{chromium, trust_in_nss};
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
    let list = messages(&json);
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
    // Who vouched: the certificate's sentence, naming the CA the browser trusts.
    assert!(
        home.contains("I am localhost") && home.contains("according to HTTPS Demo CA"),
        "{home}"
    );
    assert!(home.contains("trust store"), "{home}");
}

/// Chromium, trusting the demo CA through its NSS database, loads /handshake: the DOM holds the
/// diagram, and the ClientHello's size on it is the one the server logged for that connection.
/// Screenshots at 1280 and 390 px wide go to $HANDSHAKE_SHOTS when set (to look at them).
#[test]
fn chromium_sees_its_own_handshake_drawn() {
    let server = Server::start(&[]);
    let home = tempfile::tempdir().unwrap();
    trust_in_nss(home.path(), &ca_file(), "HTTPS Demo CA");
    let url = server.url("/handshake");
    let dom = text(&chromium(home.path(), &["--dump-dom", &url]).stdout);
    assert!(
        !dom.contains("ERR_CERT"),
        "Chromium refused the certificate: {dom}"
    );
    let svg = &dom[dom
        .find("<svg")
        .unwrap_or_else(|| panic!("no <svg> in {dom}"))..];
    for needle in [
        "ClientHello",
        "ServerHello",
        "Certificate",
        "Finished",
        "HTTP request",
    ] {
        assert!(svg.contains(needle), "no {needle} in {svg}");
    }
    // What Chromium offers that a learner meets nowhere else, explained from its ClientHello.
    for needle in [
        "GREASE: ",
        "Legacy suites: ",
        "X25519MLKEM768",
        "premaster secret",
    ] {
        assert!(dom.contains(needle), "no {needle} in {dom}");
    }
    // The ClientHello's name, then its record's size on the next line: "1917 B · ...". The
    // log counts the message, the record less its 5-byte header.
    let after = &svg[svg
        .find("ClientHello</text>")
        .unwrap_or_else(|| panic!("{svg}"))..];
    let after = &after["ClientHello</text>".len()..];
    let after = &after[after.find('>').unwrap() + 1..];
    let record: usize = after
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap_or_else(|_| panic!("no size after the ClientHello in {svg}"));
    let random = dom
        .split("class=\"random\">")
        .nth(1)
        .and_then(|r| r.split('<').next())
        .unwrap_or_else(|| panic!("no client random in {dom}"));
    assert!(
        server.wait_for_log(&format!(
            "client_random=\"{random}\" client_hello_bytes={}",
            record - 5
        )),
        "{}",
        server.logs()
    );
    let shots = std::env::var_os("HANDSHAKE_SHOTS")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| home.path().to_path_buf());
    for width in [1280, 390] {
        let shot = shots.join(format!("handshake-{width}.png"));
        chromium(
            home.path(),
            &[
                &format!(
                    "--window-size={width},{}",
                    if width > 1000 { 3000 } else { 6000 }
                ),
                &format!("--screenshot={}", shot.display()),
                &url,
            ],
        );
        assert!(shot.exists(), "no screenshot at {width} px");
    }
    // And in dark mode (prefers-color-scheme: dark; Blink's setting 0 is dark).
    let shot = shots.join("handshake-390-dark.png");
    chromium(
        home.path(),
        &[
            "--blink-settings=preferredColorScheme=0",
            "--window-size=390,1400",
            &format!("--screenshot={}", shot.display()),
            &url,
        ],
    );
    assert!(shot.exists(), "no dark-mode screenshot");
}

fn demo_client(args: &[&str]) -> std::process::Output {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_demo_client"));
    cmd.current_dir(repo())
        .args(args)
        .env_remove("SSLKEYLOGFILE")
        .env_remove("RUST_LOG");
    run_bounded(&mut cmd, std::time::Duration::from_secs(30))
}

/// Each side's messages in order, up to the first HTTP record: the handshake as one side sent it.
fn handshake_of(list: &[(String, String, bool)], from: &str) -> Vec<String> {
    list.iter()
        .filter(|(_, f, _)| f == from)
        .map(|(n, _, _)| n.clone())
        .take_while(|n| !n.starts_with("HTTP"))
        .collect()
}

/// /handshake's list (the server's view of a curl connection) names the same messages in the
/// same order as `demo_client --explain --json` (the client's view of its own TLS 1.3
/// connection), side by side; and --explain opens with the same list drawn in text.
/// The `messages` list of a /handshake or `demo_client --json` answer: name, sender, clear.
fn messages(json: &serde_json::Value) -> Vec<(String, String, bool)> {
    json["messages"]
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
        .collect()
}

#[test]
fn the_server_and_the_client_name_the_same_messages() {
    let (server_view, json) = handshake_over_curl(&["--tlsv1.3"]);
    let server = Server::start(&[]);
    let out = demo_client(&["--json", &server.url("/")]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let story = json_of(&text(&out.stdout));
    let client_view = messages(&story);
    for side in ["client", "server"] {
        assert_eq!(
            handshake_of(&server_view, side),
            handshake_of(&client_view, side),
            "{side}: server's {json:#}\nclient's {story:#}"
        );
    }
    assert!(
        client_view
            .iter()
            .any(|(n, f, c)| n == "HTTP request" && f == "client" && !c)
    );
    assert!(
        client_view
            .iter()
            .any(|(n, f, c)| n == "HTTP response" && f == "server" && !c)
    );

    let out = demo_client(&["--explain", &server.url("/")]);
    let told = text(&out.stdout);
    let diagram = told.split("\n1. ").next().unwrap();
    for needle in [
        "CLIENT",
        "SERVER",
        "-- ClientHello ",
        "<-- ServerHello ",
        "+ Certificate",
        "HTTP response",
    ] {
        assert!(
            diagram.contains(needle),
            "no {needle} before step 1 in {told}"
        );
    }
}

/// The page and `--explain` tell the steps in the same words (one source, story/words.rs): over
/// TLS 1.2 both say how the certificate crossed the wire, both list the same things an
/// eavesdropper read, and both set RSA key transport beside what happened.
#[test]
fn the_page_and_explain_tell_the_steps_in_the_same_words() {
    let server = Server::start(&["--tls-max", "1.2"]);
    let ca = ca_file();
    let out = curl(&[
        "-sS",
        "--http1.1",
        "--cacert",
        ca.to_str().unwrap(),
        &server.url("/handshake"),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let page = text(&out.stdout).replace("&quot;", "\"");
    let page = page.split_whitespace().collect::<Vec<_>>().join(" ");
    let out = demo_client(&["--explain", &server.url("/")]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let told = text(&out.stdout);
    let told = told.split_whitespace().collect::<Vec<_>>().join(" ");
    for shared in [
        "The certificate travelled in clear (TLS 1.2 encrypts only after the handshake), a Certificate \
         message of",
        "anyone on the path could read who the server claims to be and who vouches for it.",
        "the certificate, because this is TLS 1.2: who the server claims to be and who vouches for it",
        "the session keys: they never crossed the wire; without them the records are noise",
        "The tutorial describes RSA key transport",
        "In TLS 1.2 the seed's recipe holds nearly as written",
    ] {
        let shared = shared.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(
            page.contains(&shared),
            "/handshake lacks {shared:?}: {page}"
        );
        assert!(told.contains(&shared), "--explain lacks {shared:?}: {told}");
    }
}
