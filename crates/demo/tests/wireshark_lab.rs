//! ./wireshark_lab.sh end to end, and its captures checked independently with tshark.

mod support;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use support::*;

/// The TCP payload bytes of a capture's packets (only one port's, if given), as one hex string.
fn payload_hex(pcap: &Path, port: Option<u16>) -> String {
    let filter = port.map(|p| format!("tcp.port == {p}"));
    let mut tshark = Command::new("tshark");
    tshark.args(["-r", pcap.to_str().unwrap()]);
    if let Some(filter) = &filter {
        tshark.args(["-Y", filter]);
    }
    tshark.args(["-T", "fields", "-e", "tcp.payload"]);
    let out = run_bounded(&mut tshark, Duration::from_secs(60));
    text(&out.stdout).replace([':', '\n'], "")
}

/// The port after `prefix` in a server's log (its Listening line, the proxy's Forwarding line).
fn port_after(log: &str, prefix: &str) -> u16 {
    log.lines()
        .find_map(|l| {
            l.strip_prefix(prefix)?
                .split("://127.0.0.1:")
                .nth(1)?
                .split('/')
                .next()?
                .parse()
                .ok()
        })
        .unwrap_or_else(|| panic!("no {prefix:?} line with a port: {log}"))
}

fn hex(s: &str) -> String {
    s.bytes().map(|b| format!("{b:02x}")).collect()
}

/// The application data tshark reads from a TLS capture with the key log.
fn decrypted(pcap: &Path, keylog: &Path) -> String {
    let out = run_bounded(
        Command::new("tshark").args([
            "-r",
            pcap.to_str().unwrap(),
            "-o",
            &format!("tls.keylog_file:{}", keylog.display()),
            "-Y",
            "http || http2",
            "-T",
            "fields",
            "-e",
            "http.file_data",
            "-e",
            "http2.data.data",
        ]),
        Duration::from_secs(60),
    );
    text(&out.stdout)
}

#[test]
fn the_lab_captures_http_fernet_and_https_and_the_key_log_opens_https() {
    assert!(
        Command::new("tshark").arg("--version").output().is_ok(),
        "this test needs tshark: apt-get install tshark (./run_tests.sh does it)"
    );
    let out_dir = tempfile::tempdir().unwrap();
    let dir = out_dir.path();
    // The lab serves the bundled set: it runs in a copy of the checkout with a fresh one.
    let said = run_lab_script("wireshark_lab.sh", dir);
    let row = |name: &str| table_row(&said, name);
    let cells = |name: &str| {
        row(name)
            .split_whitespace()
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    assert!(
        cells("\"fluffy tail\" in the packets").ends_with(&[
            "yes".into(),
            "no".into(),
            "no".into(),
            "no".into()
        ]),
        "{said}"
    );
    assert!(
        row("server certificate").contains("no, encrypted")
            && row("server certificate").contains("yes, readable"),
        "{said}"
    );
    assert!(
        cells("secret recovered with the key log").ends_with(&["yes".into(), "yes".into()]),
        "{said}"
    );

    // The same facts, checked in the captures themselves.
    let secret = hex(SECRET);
    let http = payload_hex(&dir.join("http.pcapng"), None);
    assert!(
        http.contains(&secret),
        "the HTTP capture must show the secret in clear"
    );
    let fernet = payload_hex(&dir.join("fernet.pcapng"), None);
    assert!(
        !fernet.contains(&secret),
        "the Fernet capture must not show the secret"
    );
    let wire = String::from_utf8(
        (0..fernet.len())
            .step_by(2)
            .filter_map(|i| u8::from_str_radix(&fernet[i..i + 2], 16).ok())
            .collect(),
    )
    .unwrap_or_default();
    let token = wire
        .split(|c: char| !(c.is_ascii_alphanumeric() || "_-=".contains(c)))
        .find(|w| w.starts_with("gAAAAA"))
        .expect("a Fernet token on the wire");
    let key = https_demo::symmetric::parse_key(
        std::fs::read_to_string(dir.join("fernet.key"))
            .unwrap()
            .trim(),
    )
    .unwrap();
    assert_eq!(
        https_demo::symmetric::decrypt(&key, token).unwrap(),
        SECRET,
        "the token on the wire is valid"
    );
    // Behind the proxy: the same secret, encrypted on the client's leg, in clear on the origin's
    // (what seed 004 says of Cloudflare: "forwarded to your origin server, unencrypted").
    let legs = cells("\"fluffy tail\" on this leg");
    assert!(legs.ends_with(&["no".into(), "yes".into()]), "{said}");
    assert!(
        row("readable on this leg").contains("X-Forwarded-For: 127.0.0.1"),
        "{said}"
    );
    let log = std::fs::read_to_string(dir.join("proxy.server.log")).unwrap();
    let (tls_port, origin_port) = (
        port_after(&log, "Listening on"),
        port_after(&log, "Forwarding"),
    );
    let pcap = dir.join("proxy.pcapng");
    let (tls_leg, origin_leg) = (
        payload_hex(&pcap, Some(tls_port)),
        payload_hex(&pcap, Some(origin_port)),
    );
    assert!(
        tls_leg.len() > 2000 && !tls_leg.contains(&secret),
        "the client's leg must carry TLS records, and not the secret in clear"
    );
    assert!(
        origin_leg.contains(&secret) && origin_leg.contains(&hex("x-forwarded-proto: https")),
        "the origin's leg must carry the secret and the forwarded headers in clear"
    );

    let keylog = dir.join("keys.log");
    for (name, version) in [
        ("https-tls13.pcapng", "1.3 with h2"),
        ("https-tls12.pcapng", "1.2 with HTTP/1.1"),
    ] {
        let pcap = dir.join(name);
        let bytes = payload_hex(&pcap, None);
        assert!(
            !bytes.contains(&secret) && !bytes.contains(&hex(token)),
            "TLS {version}: secret or token visible"
        );
        let plain = decrypted(&pcap, &keylog);
        assert!(
            plain.contains(SECRET) || plain.contains(&secret),
            "TLS {version}: tshark did not recover the secret: {plain}"
        );
    }
}
