//! Mutual TLS end to end: `demo_pki client-cert` makes a visitor's certificate, and the tools a
//! learner has read it (openssl's PKCS#12 reader, openssl verify's purposes).

mod support;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use support::*;
use tempfile::TempDir;

const PASS: &str = "correct horse battery staple";

/// A CA (unencrypted key, for the tests' speed) and a passphrase file in a fresh folder.
fn ca_dir() -> TempDir {
    let dir = TempDir::new().unwrap();
    demo_pki(dir.path(), words("ca --no-passphrase")).ok();
    write(dir.path(), "pass", format!("{PASS}\n"));
    dir
}

fn client_cert(dir: &Path, args: &str) -> Run {
    demo_pki(dir, words(&format!("client-cert {args}")))
}

#[test]
fn client_cert_is_for_client_authentication_only_and_its_p12_opens_with_the_passphrase() {
    let dir = ca_dir();
    let d = dir.path();
    let out = client_cert(d, "--name alice --p12 --passphrase-file pass").ok();
    assert!(out.stdout.contains("clientAuth"), "{}", out.stdout);
    assert_eq!(mode(&d.join("alice_key.pem")), 0o600);
    assert_eq!(mode(&d.join("alice.p12")), 0o600);
    assert_eq!(mode(&d.join("alice.pem")), 0o644);

    let text = openssl(
        d,
        words("x509 -in alice.pem -noout -subject -ext extendedKeyUsage,subjectAltName"),
    )
    .ok();
    assert!(
        text.stdout.contains("CN=alice") || text.stdout.contains("CN = alice"),
        "{}",
        text.stdout
    );
    assert!(
        text.stdout.contains("TLS Web Client Authentication"),
        "{}",
        text.stdout
    );
    assert!(
        !text.stdout.contains("Server Authentication"),
        "{}",
        text.stdout
    );
    // A plain person's name is no address: no subjectAltName.
    assert!(
        !text.stdout.contains("Subject Alternative Name"),
        "{}",
        text.stdout
    );
    openssl(
        d,
        words("verify -CAfile ca_public_key.pem -purpose sslclient alice.pem"),
    )
    .ok();
    openssl(
        d,
        words("verify -CAfile ca_public_key.pem -purpose sslserver alice.pem"),
    )
    .status
    .success()
    .then(|| panic!("a clientAuth-only certificate must not pass as a server's"));

    // OpenSSL 3 reads it without -legacy: PBES2 with AES, an HMAC-SHA-256 MAC.
    let info = openssl(
        d,
        words("pkcs12 -info -in alice.p12 -passin file:pass -nokeys"),
    )
    .ok();
    assert!(
        info.output().contains("PBES2, PBKDF2, AES-256-CBC"),
        "{}",
        info.output()
    );
    assert!(
        info.output().contains("subject=CN=alice") || info.output().contains("subject=CN = alice"),
        "{}",
        info.output()
    );
    let key = openssl(
        d,
        words("pkcs12 -in alice.p12 -passin file:pass -nocerts -noenc"),
    )
    .ok();
    let p12_key = openssl_public_key_of_pem_key(d, &key.stdout);
    assert_eq!(
        p12_key,
        openssl_public_key_of_key(d, "alice_key.pem", Some("pass"))
    );
    assert_eq!(p12_key, openssl_public_key_of_cert(d, "alice.pem"));
    write(d, "wrong", "not the passphrase\n");
    assert!(
        !openssl(
            d,
            words("pkcs12 -info -in alice.p12 -passin file:wrong -noout")
        )
        .status
        .success()
    );
}

fn openssl_public_key_of_pem_key(dir: &Path, pem: &str) -> String {
    write(dir, "from_p12_key.pem", pem);
    openssl_public_key_of_key(dir, "from_p12_key.pem", None)
}

#[test]
fn an_address_becomes_a_san_and_no_passphrase_gives_an_empty_p12_password() {
    let dir = ca_dir();
    let d = dir.path();
    client_cert(
        d,
        "--name alice@example.com --p12 --no-passphrase --out-dir .",
    )
    .ok();
    let text = openssl(
        d,
        words("x509 -in alice@example.com.pem -noout -ext subjectAltName"),
    )
    .ok();
    assert!(
        text.stdout.contains("email:alice@example.com"),
        "{}",
        text.stdout
    );
    openssl(
        d,
        [
            "pkcs12",
            "-info",
            "-in",
            "alice@example.com.p12",
            "-passin",
            "pass:",
            "-noout",
        ],
    )
    .ok();
}

#[test]
fn client_cert_refuses_in_words_and_writes_nothing() {
    let dir = ca_dir();
    let d = dir.path();
    // The demo CA may vouch only for loopback names: a service's DNS name is outside.
    let before = snapshot(d);
    client_cert(d, "--name backup.example.com --no-passphrase").fails_with(&[
        "DNS:backup.example.com is outside the name constraints",
        "Nothing was written",
    ]);
    client_cert(d, "--name alice --no-passphrase --ca-key nowhere.pem")
        .fails_with(&["nowhere.pem"]);
    assert_eq!(before, snapshot(d));
    client_cert(d, "--name alice --no-passphrase").ok();
    client_cert(d, "--name alice --no-passphrase").fails_with(&["alice", "--force"]);
}

// ---------------------------------------------------------------------------------------------
// demo_server --client-ca: who gets in, seen from curl, Python and openssl s_client.

/// Visitors' certificates: alice's from the CA the server trusts for visitors, and a stranger's
/// (also named alice) from another CA. Keys unencrypted, except `alice_enc_key.pem`.
struct Visitors {
    dir: TempDir,
}

impl Visitors {
    fn new() -> Visitors {
        let dir = TempDir::new().unwrap();
        let d = dir.path();
        write(d, "pass", format!("{PASS}\n"));
        for (sub, cn) in [("ours", "Visitors CA"), ("stranger", "Stranger CA")] {
            std::fs::create_dir(d.join(sub)).unwrap();
            demo_pki(&d.join(sub), ["ca", "--no-passphrase", "--cn", cn]).ok();
            client_cert(&d.join(sub), "--name alice --no-passphrase").ok();
        }
        client_cert(
            &d.join("ours"),
            "--name bob --passphrase-file ../pass --p12",
        )
        .ok();
        Visitors { dir }
    }
    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }
    fn client_ca(&self) -> String {
        self.path("ours/ca_public_key.pem")
    }
    fn server(&self, mode: &str) -> Server {
        Server::start(&["--client-ca", &self.client_ca(), "--client-auth", mode])
    }
}

const TLS_VERSIONS: [(&str, &str); 2] = [("--tls-max", "1.2"), ("--tlsv1.3", "")];

fn curl_tls(
    server: &Server,
    cert: Option<(&str, &str)>,
    version: (&str, &str),
) -> std::process::Output {
    let ca = ca_file().display().to_string();
    let url = server.url("/");
    let mut args = vec!["--cacert", ca.as_str(), version.0];
    if !version.1.is_empty() {
        args.push(version.1);
    }
    args.push(&url);
    if let Some((c, k)) = cert {
        args.extend(["--cert", c, "--key", k]);
    }
    curl(&args)
}

#[test]
fn required_lets_alice_in_by_name_and_refuses_no_certificate_and_a_strangers_over_tls12_and_13() {
    let v = Visitors::new();
    let server = v.server("required");
    let (alice, alice_key) = (v.path("ours/alice.pem"), v.path("ours/alice_key.pem"));
    let (stranger, stranger_key) = (
        v.path("stranger/alice.pem"),
        v.path("stranger/alice_key.pem"),
    );
    for version in TLS_VERSIONS {
        let ok = curl_tls(&server, Some((&alice, &alice_key)), version);
        let body = text(&ok.stdout);
        assert!(ok.status.success(), "{version:?}: {}", text(&ok.stderr));
        assert!(
            body.starts_with("Hello, alice: your certificate from Visitors CA says \"From "),
            "{body}"
        );
        assert!(
            body.contains("I am alice according to Visitors CA."),
            "{body}"
        );
        assert!(body.contains(SECRET), "{body}");

        let none = curl_tls(&server, None, version);
        assert!(
            !none.status.success(),
            "{version:?}: no certificate got in: {}",
            text(&none.stdout)
        );
        assert!(!text(&none.stdout).contains(SECRET));
        let strange = curl_tls(&server, Some((&stranger, &stranger_key)), version);
        assert!(
            !strange.status.success(),
            "{version:?}: a stranger's certificate got in"
        );
        assert!(!text(&strange.stdout).contains(SECRET));
    }
    assert!(
        server.wait_for_log("client_cert=\"CN=alice\""),
        "{}",
        server.logs()
    );
    // An encrypted key, its passphrase given to curl.
    let ca = ca_file().display().to_string();
    let (bob, bob_key) = (v.path("ours/bob.pem"), v.path("ours/bob_key.pem"));
    let url = server.url("/");
    let out = curl(&[
        "--cacert", &ca, "--cert", &bob, "--key", &bob_key, "--pass", PASS, &url,
    ]);
    assert!(
        text(&out.stdout).starts_with("Hello, bob:"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn optional_serves_everyone_and_greets_only_the_certified() {
    let v = Visitors::new();
    let server = v.server("optional");
    let (alice, alice_key) = (v.path("ours/alice.pem"), v.path("ours/alice_key.pem"));
    for version in TLS_VERSIONS {
        let none = curl_tls(&server, None, version);
        assert_eq!(
            text(&none.stdout),
            SECRET,
            "{version:?}: {}",
            text(&none.stderr)
        );
        let ok = curl_tls(&server, Some((&alice, &alice_key)), version);
        assert!(
            text(&ok.stdout).starts_with("Hello, alice:"),
            "{}",
            text(&ok.stderr)
        );
        // Optional is not "anything goes": a certificate offered is judged.
        let strange = curl_tls(
            &server,
            Some((
                &v.path("stranger/alice.pem"),
                &v.path("stranger/alice_key.pem"),
            )),
            version,
        );
        assert!(
            !strange.status.success(),
            "{version:?}: a stranger's certificate got in"
        );
    }
    let ca = ca_file().display().to_string();
    let url = server.url("/connection");
    let page = curl(&["--cacert", &ca, &url]);
    assert!(
        text(&page.stdout).contains("this server asks for one, and lets you in without"),
        "{}",
        text(&page.stdout)
    );
    let json = curl(&[
        "--cacert",
        &ca,
        "-H",
        "Accept: application/json",
        "--cert",
        &alice,
        "--key",
        &alice_key,
        &url,
    ]);
    let json: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let tls = &json["connection"]["tls"];
    assert_eq!(tls["client_auth"], "optional");
    assert_eq!(tls["client_certificate"]["name"], "alice");
    assert_eq!(tls["client_certificate"]["verified_by_server"], true);
    assert!(
        tls["client_certificate"]["sentence"]
            .as_str()
            .unwrap()
            .contains("I am alice according to Visitors CA.")
    );
    let html = curl(&[
        "--cacert",
        &ca,
        "-H",
        "Accept: text/html",
        "--cert",
        &alice,
        "--key",
        &alice_key,
        &url,
    ]);
    assert!(
        text(&html.stdout).contains("presented, and verified by this server"),
        "{}",
        text(&html.stdout)
    );
}

/// Python's requests with `cert=(crt, key)`: the status and body, or the exception's class.
fn python_get(url: &str, cert: Option<(&str, &str)>) -> String {
    let program = r#"
import sys, requests
url, ca = sys.argv[1], sys.argv[2]
cert = (sys.argv[3], sys.argv[4]) if len(sys.argv) > 4 else None
try:
    r = requests.get(url, verify=ca, cert=cert, timeout=10)
    print(r.status_code, r.text)
except requests.exceptions.RequestException as e:
    print("refused", type(e).__name__, e)
"#;
    let mut cmd = std::process::Command::new("python3");
    cmd.args(["-c", program, url, &ca_file().display().to_string()]);
    if let Some((c, k)) = cert {
        cmd.args([c, k]);
    }
    run(cmd).ok().stdout
}

#[test]
fn python_requests_with_a_client_certificate() {
    let v = Visitors::new();
    let server = v.server("required");
    let url = server.url("/");
    let ok = python_get(
        &url,
        Some((&v.path("ours/alice.pem"), &v.path("ours/alice_key.pem"))),
    );
    assert!(ok.starts_with("200 Hello, alice:"), "{ok}");
    let none = python_get(&url, None);
    assert!(none.starts_with("refused"), "{none}");
    let strange = python_get(
        &url,
        Some((
            &v.path("stranger/alice.pem"),
            &v.path("stranger/alice_key.pem"),
        )),
    );
    assert!(strange.starts_with("refused"), "{strange}");
}

/// `openssl s_client -cert -key` sending one request; all it printed.
fn s_client(dir: &Path, port: u16, cert: Option<(&str, &str)>, tls: &str) -> Run {
    write(
        dir,
        "request",
        "GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
    );
    let mut line = format!(
        "openssl s_client -connect 127.0.0.1:{port} -servername localhost -CAfile {} -verify_return_error -ign_eof {tls}",
        ca_file().display()
    );
    if let Some((c, k)) = cert {
        line.push_str(&format!(" -cert {c} -key {k}"));
    }
    let mut cmd = std::process::Command::new("sh");
    cmd.current_dir(dir)
        .args(["-c", &format!("{line} < request")]);
    run(cmd)
}

#[test]
fn openssl_s_client_with_a_client_certificate() {
    let v = Visitors::new();
    let d = v.dir.path();
    for mode in ["required", "optional"] {
        let server = v.server(mode);
        for tls in ["-tls1_2", "-tls1_3"] {
            let ok = s_client(
                d,
                server.port,
                Some((&v.path("ours/alice.pem"), &v.path("ours/alice_key.pem"))),
                tls,
            );
            assert!(
                ok.stdout.contains("Hello, alice:"),
                "{mode} {tls}: {}",
                ok.output()
            );
            let none = s_client(d, server.port, None, tls);
            assert_eq!(
                none.stdout.contains(SECRET),
                mode == "optional",
                "{mode} {tls}: {}",
                none.output()
            );
            // The server's CertificateRequest names the CAs it accepts; s_client prints them.
            assert!(
                none.stdout
                    .contains("Acceptable client certificate CA names"),
                "{}",
                none.stdout
            );
            assert!(
                none.stdout.contains("CN=Visitors CA") || none.stdout.contains("CN = Visitors CA"),
                "{}",
                none.stdout
            );
            let strange = s_client(
                d,
                server.port,
                Some((
                    &v.path("stranger/alice.pem"),
                    &v.path("stranger/alice_key.pem"),
                )),
                tls,
            );
            assert!(
                !strange.stdout.contains(SECRET),
                "{mode} {tls}: {}",
                strange.output()
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// demo_client --cert --key: presents it, and says in words why a server refused.

fn demo_client(dir: &Path, server: &Server, args: &[&str]) -> Run {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_demo_client"));
    cmd.current_dir(dir)
        .args([
            "--ca-file",
            &ca_file().display().to_string(),
            "--timeout",
            "5",
        ])
        .args(args)
        .arg(server.url("/"))
        .env_remove("SSLKEYLOGFILE")
        .env_remove("DEMO_CLIENT_PASSPHRASE");
    run(cmd)
}

#[test]
fn demo_client_presents_its_certificate_and_says_why_it_was_refused_over_tls12_and_13() {
    let v = Visitors::new();
    let d = v.dir.path();
    // A site's certificate (serverAuth only) from the visitors' CA, offered as a client's.
    let ours = d.join("ours");
    demo_pki(&ours, words("csr --name localhost --no-passphrase")).ok();
    demo_pki(&ours, words("sign")).ok();
    for tls in [None, Some("1.2")] {
        let mut args = vec![
            "--client-ca".to_string(),
            v.client_ca(),
            "--client-auth".into(),
            "required".into(),
        ];
        if let Some(max) = tls {
            args.extend(["--tls-max".into(), max.into()]);
        }
        let server = Server::start(&args.iter().map(String::as_str).collect::<Vec<_>>());
        let ok = demo_client(
            d,
            &server,
            &words("--cert ours/bob.pem --key ours/bob_key.pem --passphrase-file pass"),
        )
        .ok();
        assert!(
            ok.stdout
                .contains("Hello, bob: your certificate from Visitors CA says"),
            "{tls:?}: {}",
            ok.stdout
        );
        assert!(ok.stdout.contains(SECRET));

        demo_client(d, &server, &[]).fails_with(&[
            "asked for a client certificate",
            "presented none",
            "it accepts certificates from: Visitors CA",
            "--cert FILE --key FILE",
        ]);
        demo_client(
            d,
            &server,
            &words("--cert stranger/alice.pem --key stranger/alice_key.pem"),
        )
        .fails_with(&[
            "refused your client certificate",
            "issued by Stranger CA, a CA the server does not accept",
            "it accepts certificates from: Visitors CA",
        ]);
        demo_client(
            d,
            &server,
            &words("--cert ours/site_public_key.pem --key ours/site_private_key.pem"),
        )
        .fails_with(&[
            "not meant to identify a TLS client",
            "serverAuth, without clientAuth",
        ]);
        assert!(
            server.wait_for_log(
                "TLS handshake refused: client certificate required: the visitor presented none"
            ),
            "{}",
            server.logs()
        );
        assert!(server.wait_for_log(
            "client certificate refused: issued by a CA not in --client-ca (accepted: Visitors CA)"
        ));
        assert!(server.wait_for_log("client certificate refused: not meant for a TLS client"));
    }
    // Caught before connecting: the key of another certificate.
    let server = v.server("required");
    demo_client(
        d,
        &server,
        &words("--cert ours/alice.pem --key ours/bob_key.pem --passphrase-file pass"),
    )
    .fails_with(&[
        "the key ours/bob_key.pem does not match the certificate ours/alice.pem",
        "Nothing was sent",
    ]);
    assert!(!server.logs().contains("bob"), "{}", server.logs());
}

#[test]
fn an_expired_client_certificate_is_refused_in_words_on_both_sides() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    let ca = certs::test_ca(d, "visitors_ca.pem", "Visitors CA");
    let now = time::OffsetDateTime::now_utc();
    let ended = now - time::Duration::days(2);
    certs::test_client(d, &ca, "carol", now - time::Duration::days(30), ended);
    let server = Server::start(&["--client-ca", &ca.file.display().to_string()]);
    demo_client(d, &server, &words("--cert carol.pem --key carol_key.pem")).fails_with(&[
        "refused your client certificate: it expired on",
        "demo_pki client-cert",
    ]);
    assert!(
        server.wait_for_log("client certificate refused: expired"),
        "{}",
        server.logs()
    );
}

#[test]
fn the_bundled_set_lets_alice_in_with_the_default_client_ca() {
    // demo_server --client-auth without --client-ca trusts the bundled client CA.
    let server = Server::start(&["--client-auth", "required"]);
    let ok = demo_client(
        &repo(),
        &server,
        &words("--cert clients/alice.pem --key clients/alice_key.pem --passphrase-file secret/reminder.txt"),
    )
    .ok();
    assert!(
        ok.stdout
            .contains("Hello, alice: your certificate from HTTPS Demo Client CA says"),
        "{}",
        ok.stdout
    );
    demo_client(&repo(), &server, &[])
        .fails_with(&["it accepts certificates from: HTTPS Demo Client CA"]);
    // Its .p12 opens with the same passphrase.
    openssl(
        &repo(),
        words("pkcs12 -info -in clients/alice.p12 -passin file:secret/reminder.txt -noout"),
    )
    .ok();
}

#[test]
fn explain_tells_the_certificate_request_and_the_clients_answer_matched_with_the_servers_log() {
    let v = Visitors::new();
    let d = v.dir.path();
    for (tls, clear) in [(None, false), (Some("1.2"), true)] {
        let mut args = vec!["--client-ca".to_string(), v.client_ca()];
        if let Some(max) = tls {
            args.extend(["--tls-max".into(), max.into()]);
        }
        let server = Server::start(&args.iter().map(String::as_str).collect::<Vec<_>>());
        let out = demo_client(
            d,
            &server,
            &words("--explain --cert ours/alice.pem --key ours/alice_key.pem"),
        )
        .ok();
        let story = out.stdout.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(story.contains("the server asked who YOU are (mutual TLS), in a CertificateRequest: it accepts certificates from Visitors CA, signed with"), "{story}");
        assert!(
            story.contains("The client answered with its Certificate (From "),
            "{story}"
        );
        assert!(
            story.contains("I am alice according to Visitors CA.) and a CertificateVerify"),
            "{story}"
        );
        assert_eq!(
            story.contains("the client's Certificate travels in clear"),
            clear,
            "{story}"
        );
        assert_eq!(
            story.contains("the client's Certificate is encrypted"),
            !clear,
            "{story}"
        );
        // The same connection, as the server logged it.
        let random = out
            .stdout
            .lines()
            .find_map(|l| l.trim_start().strip_prefix("Client random:"))
            .unwrap()
            .trim()
            .to_string();
        let needle = format!("client_random=\"{random}\"");
        assert!(server.wait_for_log(&needle), "{}", server.logs());
        let line = server
            .logs()
            .lines()
            .find(|l| l.contains(&needle))
            .unwrap()
            .to_string();
        assert!(line.contains("client_cert=\"CN=alice\""), "{line}");
        assert!(
            line.contains(if clear { "TLS 1.2" } else { "TLS 1.3" }),
            "{line}"
        );

        // Without a certificate: the empty answer, and the refusal in words, in the story.
        let refused = demo_client(d, &server, &words("--explain"));
        assert!(!refused.status.success());
        let story = refused
            .stdout
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        assert!(
            story.contains(
                "The client had no certificate: it answered with an empty Certificate message"
            ),
            "{story}"
        );
        assert!(story.contains("asked for a client certificate"), "{story}");
        assert!(
            story.contains("it accepts certificates from: Visitors CA"),
            "{story}"
        );
    }
}

/// Headless Chromium with alice's .p12 in its NSS database presents it, without a prompt, and is
/// greeted by name. Chromium presents a client certificate unasked only under the managed policy
/// AutoSelectCertificateForUrls, which Linux Chromium reads from /etc/chromium/policies/managed
/// alone: Chromium runs in a private mount namespace (`unshare -m`) in which a temporary copy of
/// /etc/chromium, with the policy, is bound over it, so the machine's own /etc is untouched.
#[test]
fn chromium_presents_alices_p12_and_the_page_greets_her() {
    let namespaces = running_as_root()
        && run_bounded(
            Command::new("unshare").args(["-m", "true"]),
            Duration::from_secs(10),
        )
        .status
        .success();
    if !namespaces {
        eprintln!(
            "SKIPPED: this test needs root and `unshare -m` (a private mount namespace) to give \
             Chromium its certificate policy without touching /etc"
        );
        return;
    }
    let server = Server::start(&["--client-auth", "required"]);
    let home = tempfile::tempdir().unwrap();
    support::browser::trust_in_nss(home.path(), &ca_file(), "HTTPS Demo CA");
    let pass = std::fs::read_to_string(repo().join("secret/reminder.txt")).unwrap();
    let pass = pass.lines().next().unwrap();
    let db = format!("sql:{}", home.path().join(".pki/nssdb").display());
    let p12 = repo().join("clients/alice.p12");
    let imported = run_bounded(
        Command::new("pk12util").env("HOME", home.path()).args([
            "-d",
            &db,
            "-i",
            p12.to_str().unwrap(),
            "-W",
            pass,
        ]),
        Duration::from_secs(20),
    );
    assert!(
        imported.status.success(),
        "pk12util: {}",
        text(&imported.stderr)
    );

    let etc = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir("/etc/chromium").unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_file() {
            std::fs::copy(entry.path(), etc.path().join(entry.file_name())).unwrap();
        }
    }
    let managed = etc.path().join("policies/managed");
    std::fs::create_dir_all(&managed).unwrap();
    let pattern = format!("https://localhost:{}", server.port);
    let rule = serde_json::json!({ "pattern": pattern, "filter": {} }).to_string();
    std::fs::write(
        managed.join("client_cert.json"),
        serde_json::json!({ "AutoSelectCertificateForUrls": [rule] }).to_string(),
    )
    .unwrap();

    let url = server.url("/");
    let mut cmd = Command::new("unshare");
    cmd.env("HOME", home.path())
        .args([
            "-m",
            "sh",
            "-c",
            "mount --bind \"$0\" /etc/chromium && exec chromium \"$@\"",
        ])
        .arg(etc.path())
        .args(support::browser::chromium_flags(home.path(), "profile"))
        .args(["--dump-dom", &url]);
    let out = run_bounded(&mut cmd, Duration::from_secs(90));
    let dom = text(&out.stdout);
    assert!(
        dom.contains("Hello, alice"),
        "Chromium was not greeted as alice: {dom}\n{}",
        text(&out.stderr)
    );
    assert!(
        server.wait_for_log("client_cert=\"CN=alice\""),
        "{}",
        server.logs()
    );
}
