//! Mutual TLS end to end: `demo_pki client-cert` makes a visitor's certificate, and the tools a
//! learner has read it (openssl's PKCS#12 reader, openssl verify's purposes).

mod support;

use std::path::Path;

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
