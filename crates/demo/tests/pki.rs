//! Integration tests of `demo_pki`: the real binary in temporary folders, checked with the tools
//! users check with (openssl, Python's ssl, rustls) and by what a user sees (exit status, the
//! message on stderr, the files on disk).

mod support;

use std::fs;
use std::path::Path;

use https_demo::tls::failure::{CertFailure, FailureKind};
use https_demo::tls::trust::{self, TrustedCas};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, CertificateSigningRequestDer, UnixTime};
use support::*;
use tempfile::TempDir;
use x509_parser::prelude::*;

const KEY_TYPES: [&str; 6] = [
    "ecdsa-p256",
    "ecdsa-p384",
    "ed25519",
    "rsa2048",
    "rsa3072",
    "rsa4096",
];

// Where `demo_pki demo` puts the set, relative to its --root (as in the repository).
const CA_CERT: &str = "ca_certificates_for_client/ca_public_key.pem";
const SITE_CERT: &str = "certificates/site_public_key.pem";
const SITE_KEY: &str = "certificates/site_private_key.pem";
const SITE_CSR: &str = "certificates/site_csr.pem";
const PASSPHRASE: &str = "secret/reminder.txt";

const PASS: &str = "correct horse battery staple";

// ---------------------------------------------------------------------------------------------
// Helpers

/// The demo client's own judge (the trust core: rustls's verifier trusting only `ca`), with its
/// refusal classified.
fn rustls_verify(ca_pem: &Path, cert_pem: &Path, name: &str) -> Result<(), CertFailure> {
    let cas = TrustedCas::load(ca_pem).unwrap();
    let leaf = CertificateDer::from_pem_file(cert_pem).unwrap();
    let name = trust::server_name(name).unwrap();
    trust::verify_chain(&cas, &[leaf], &name, UnixTime::now()).unwrap()
}

fn cert_der(path: &Path) -> CertificateDer<'static> {
    CertificateDer::from_pem_file(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The subject key identifier, and the authority key identifier when there is one.
fn key_ids(cert: &X509Certificate<'_>) -> (Option<Vec<u8>>, Option<Vec<u8>>) {
    let (mut ski, mut aki) = (None, None);
    for ext in cert.extensions() {
        match ext.parsed_extension() {
            ParsedExtension::SubjectKeyIdentifier(id) => ski = Some(id.0.to_vec()),
            ParsedExtension::AuthorityKeyIdentifier(a) => {
                aki = a.key_identifier.as_ref().map(|id| id.0.to_vec())
            }
            _ => {}
        }
    }
    (ski, aki)
}

/// Seconds between notBefore and notAfter.
fn lifetime(cert: &X509Certificate<'_>) -> i64 {
    cert.validity().not_after.timestamp() - cert.validity().not_before.timestamp()
}

/// "YYYY-MM-DD HH:MM:SS UTC", as inspect shows times.
fn shown(t: &ASN1Time) -> String {
    https_demo::pki::inspect::show_time(t.to_datetime())
}

/// Checks that a new key file is readable by its owner only and encrypted as
/// [`assert_pbes2_aes256`] says.
#[track_caller]
fn assert_encrypted_pkcs8(dir: &Path, key: &str) {
    assert_eq!(
        mode(&dir.join(key)),
        0o600,
        "{key} must be readable by its owner only"
    );
    assert_pbes2_aes256(dir, key);
}

/// Checks that a key file is PKCS#8 encrypted with PBES2 / PBKDF2-HMAC-SHA256 / AES-256-CBC, as
/// OpenSSL parses it. (Git does not keep a checked-out file's mode, so the bundled key is checked
/// with this only.)
#[track_caller]
fn assert_pbes2_aes256(dir: &Path, key: &str) {
    let text = fs::read_to_string(dir.join(key)).unwrap();
    assert!(
        text.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----\n"),
        "{key}:\n{text}"
    );
    let asn1 = openssl(dir, ["asn1parse", "-in", key]).ok().stdout;
    for part in ["PBES2", "PBKDF2", "hmacWithSHA256", "aes-256-cbc"] {
        assert!(
            asn1.contains(part),
            "{key} is not encrypted with {part}:\n{asn1}"
        );
    }
}

/// A CA and a CSR made by `demo_pki` in a temporary folder: the CA key encrypted with [`PASS`]
/// (in pass.txt), the site key unencrypted. Default file names throughout.
struct Pki {
    dir: TempDir,
}

impl Pki {
    fn new() -> Pki {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        write(d, "pass.txt", format!("{PASS}\n"));
        demo_pki(d, words("ca --passphrase-file pass.txt")).ok();
        let csr = "csr --name localhost --name 127.0.0.1 --name ::1 --no-passphrase";
        demo_pki(d, words(csr)).ok();
        Pki { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `demo_pki sign --ca-passphrase-file pass.txt EXTRA`.
    fn sign(&self, extra: &str) -> Run {
        let line = format!("sign --ca-passphrase-file pass.txt {extra}");
        demo_pki(self.path(), words(&line))
    }

    /// Runs `demo_pki LINE`, expects failure with every one of `needles` in the message, and
    /// checks that no file in the folder was created, changed or removed.
    #[track_caller]
    fn refuses(&self, line: &str, needles: &[&str]) -> String {
        let before = snapshot(self.path());
        let stderr = demo_pki(self.path(), words(line)).fails_with(needles);
        assert_eq!(
            snapshot(self.path()),
            before,
            "demo_pki {line} failed but changed files"
        );
        stderr
    }
}

// ---------------------------------------------------------------------------------------------
// 1 and 2: the bundled set

#[test]
fn bundled_certificate_verifies_with_openssl_x509_strict() {
    let out = openssl_verify(&repo(), CA_CERT, SITE_CERT).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        out.contains("certificates/site_public_key.pem: OK"),
        "{out}"
    );
}

#[test]
fn bundled_certificate_verifies_with_python_strict_over_tls_to_openssl_s_server() {
    let root = repo();
    let (_server, port) = start_s_server(&root, SITE_CERT, SITE_KEY, PASSPHRASE);
    let script = format!(
        r#"
import socket, ssl, sys
ctx = ssl.create_default_context(cafile=sys.argv[1])
ctx.verify_flags |= ssl.VERIFY_X509_STRICT
assert ctx.verify_mode == ssl.CERT_REQUIRED and ctx.check_hostname
with socket.create_connection(("127.0.0.1", {port}), timeout=10) as sock:
    with ctx.wrap_socket(sock, server_hostname="localhost") as tls:
        print("verified localhost over", tls.version())
"#
    );
    let mut cmd = std::process::Command::new("python3");
    cmd.current_dir(&root).args(["-c", &script, CA_CERT]);
    let run = run(cmd).ok();
    assert!(
        run.stdout.contains("verified localhost over TLS"),
        "{run:?}"
    );
}

#[test]
fn bundled_certificate_verifies_with_rustls_for_its_names_and_no_other() {
    let root = repo();
    let (ca, cert) = (root.join(CA_CERT), root.join(SITE_CERT));
    for name in ["localhost", "127.0.0.1", "::1"] {
        rustls_verify(&ca, &cert, name).unwrap_or_else(|e| {
            panic!(
                "rustls rejects the bundled certificate for {name}: {}",
                e.title()
            )
        });
    }
    let err = rustls_verify(&ca, &cert, "example.com").expect_err("not for example.com");
    assert_eq!(err.kind(), FailureKind::NameMismatch, "{}", err.title());
}

#[test]
fn bundled_key_opens_with_the_reminder_and_matches_the_certificate_and_the_csr() {
    let root = repo();
    let from_key = openssl_public_key_of_key(&root, SITE_KEY, Some(PASSPHRASE));
    let from_cert = openssl_public_key_of_cert(&root, SITE_CERT);
    let from_csr = openssl_verified_csr_public_key(&root, SITE_CSR);
    assert_eq!(
        from_key, from_cert,
        "the bundled key is not the certificate's"
    );
    assert_eq!(
        from_csr, from_cert,
        "the bundled CSR and certificate differ"
    );
    assert_pbes2_aes256(&root, SITE_KEY);
}

// ---------------------------------------------------------------------------------------------
// 3: name constraints

#[test]
fn sign_refuses_names_outside_the_ca_name_constraints() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    demo_pki(d, words("ca --no-passphrase")).ok();
    for (csr, names, outside) in [
        ("example.pem", "--name example.com", "DNS:example.com"),
        (
            "mixed.pem",
            "--name localhost --name example.com",
            "DNS:example.com",
        ),
        ("lan.pem", "--name localhost --name 10.0.0.1", "IP:10.0.0.1"),
    ] {
        let line = format!("csr --no-passphrase --csr {csr} --key key-{csr} {names}");
        demo_pki(d, words(&line)).ok();
        let before = snapshot(d);
        let line = format!("sign --csr {csr} --out cert.pem");
        demo_pki(d, words(&line)).fails_with(&[
            &format!("{outside} is outside the name constraints"),
            "localhost, 127.0.0.0/8, ::1/128",
            "Nothing was signed",
        ]);
        assert_eq!(snapshot(d), before, "a refused sign wrote files");
    }
    // Control: a loopback CSR is signed by the same CA.
    demo_pki(d, words("csr --no-passphrase --name localhost")).ok();
    demo_pki(d, ["sign"]).ok();
    openssl_verify(d, "ca_public_key.pem", "site_public_key.pem").unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn clients_reject_a_certificate_outside_the_ca_name_constraints() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    demo_pki(d, words("ca --no-passphrase")).ok();
    let ca_pem = fs::read_to_string(d.join("ca_public_key.pem")).unwrap();
    let ca_key_pem = fs::read_to_string(d.join("ca_private_key.pem")).unwrap();
    let issuer =
        rcgen::Issuer::from_ca_cert_pem(&ca_pem, rcgen::KeyPair::from_pem(&ca_key_pem).unwrap())
            .unwrap();
    // demo_pki refuses to make it, so make it the way a CA without the check would: with
    // demo_pki's extensions, for example.com. The control differs only in the name.
    for (file, name) in [("bad", "example.com"), ("good", "localhost")] {
        let mut params = rcgen::CertificateParams::new(vec![name.to_string()]).unwrap();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        params.is_ca = rcgen::IsCa::ExplicitNoCa;
        params.key_usages = vec![rcgen::KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
        params.use_authority_key_identifier_extension = true;
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &issuer).unwrap();
        write(d, &format!("{file}.pem"), cert.pem());
        write(d, &format!("{file}_key.pem"), key.serialize_pem());
    }
    let ca = "ca_public_key.pem";

    // OpenSSL. X509_V_ERR_PERMITTED_VIOLATION (47) is its name-constraints violation.
    let err = openssl_verify(d, ca, "bad.pem")
        .expect_err("openssl accepted a certificate outside the CA's name constraints");
    assert!(
        err.contains("error 47 at 0 depth lookup: permitted subtree violation"),
        "openssl rejects it, but not for the name constraints:\n{err}"
    );
    openssl_verify(d, ca, "good.pem").unwrap_or_else(|e| panic!("{e}"));

    // rustls, as the demo client.
    let err = rustls_verify(&d.join(ca), &d.join("bad.pem"), "example.com")
        .expect_err("rustls accepted a certificate outside the CA's name constraints");
    assert_eq!(
        err.kind(),
        FailureKind::NameConstraint,
        "rustls rejects it, but not for the name constraints: {}",
        err.title()
    );
    rustls_verify(&d.join(ca), &d.join("good.pem"), "localhost")
        .unwrap_or_else(|e| panic!("rustls rejects the control certificate: {}", e.title()));

    // Python's ssl, strict, over a real handshake.
    let bad = python_handshake(d, "bad.pem", "bad_key.pem", None, ca, &["example.com"]);
    assert!(!bad.status.success(), "python accepted it: {bad:?}");
    assert!(
        bad.stderr.contains(
            "CERTIFICATE_VERIFY_FAILED] certificate verify failed: permitted subtree violation"
        ),
        "{bad:?}"
    );
    python_handshake(d, "good.pem", "good_key.pem", None, ca, &["localhost"]).ok();
}

// ---------------------------------------------------------------------------------------------
// 4: a fresh demo set, and the ca/csr/sign steps, for every key type

/// `demo_pki demo` with these key types, then every check a user or client would make.
fn check_fresh_demo_set(site: &str, ca: &str) {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let line = format!("demo --root . --key-type {site} --ca-key-type {ca}");
    let run = demo_pki(d, words(&line)).ok();
    assert!(run.stdout.contains("Made a fresh demo set"), "{run:?}");

    openssl_verify(d, CA_CERT, SITE_CERT)
        .unwrap_or_else(|e| panic!("site {site}, CA {ca}: openssl verify: {e}"));
    let from_key = openssl_public_key_of_key(d, SITE_KEY, Some(PASSPHRASE));
    let from_cert = openssl_public_key_of_cert(d, SITE_CERT);
    let from_csr = openssl_verified_csr_public_key(d, SITE_CSR);
    assert_eq!(
        from_key, from_cert,
        "site {site}: the key is not the certificate's"
    );
    assert_eq!(
        from_csr, from_cert,
        "site {site}: CSR and certificate differ"
    );
    assert_encrypted_pkcs8(d, SITE_KEY);
    assert_eq!(mode(&d.join(PASSPHRASE)), 0o600);

    let names = ["localhost", "127.0.0.1", "::1"];
    let py = python_handshake(d, SITE_CERT, SITE_KEY, Some(PASSPHRASE), CA_CERT, &names).ok();
    assert_eq!(
        py.stdout.matches(": verified over TLS").count(),
        3,
        "{py:?}"
    );
    for name in names {
        rustls_verify(&d.join(CA_CERT), &d.join(SITE_CERT), name)
            .unwrap_or_else(|e| panic!("site {site}, CA {ca}: rustls, {name}: {}", e.title()));
    }

    let ca_der = cert_der(&d.join(CA_CERT));
    let site_der = cert_der(&d.join(SITE_CERT));
    let (_, ca_cert) = X509Certificate::from_der(&ca_der).unwrap();
    let (_, cert) = X509Certificate::from_der(&site_der).unwrap();
    let ku = cert.key_usage().unwrap().expect("keyUsage").value;
    assert!(ku.digital_signature());
    assert_eq!(
        ku.key_encipherment(),
        site.starts_with("rsa"),
        "site {site}: keyEncipherment must be there for RSA keys only"
    );
    // Mozilla's "intermediate" profile (sslyze checks it) allows 366 days at most.
    let secs = lifetime(&cert);
    assert!(secs > 0 && secs <= 366 * 86_400, "{secs} s");
    for (what, c) in [("site", &cert), ("CA", &ca_cert)] {
        assert_eq!(c.raw_serial().len(), 16, "{what} serial");
        assert!(c.raw_serial()[0] & 0x80 == 0, "{what} serial is negative");
        let (ski, aki) = key_ids(c);
        assert!(
            ski.is_some(),
            "{what} certificate has no subjectKeyIdentifier"
        );
        assert!(
            aki.is_some(),
            "{what} certificate has no authorityKeyIdentifier"
        );
    }
    assert_eq!(
        key_ids(&cert).1,
        key_ids(&ca_cert).0,
        "the site's AKI must be the CA's SKI"
    );
}

/// `ca`, `csr` and `sign` one by one with these key types (the CA key encrypted and read back
/// from its file, which `demo` never does), then the same checks.
fn check_cli_flow(site: &str, ca: &str) {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "ca_pass.txt", "a CA passphrase\n");
    write(d, "site_pass.txt", "a site passphrase\n");
    let line = format!("ca --key-type {ca} --passphrase-file ca_pass.txt");
    demo_pki(d, words(&line)).ok();
    let line = format!(
        "csr --key-type {site} --passphrase-file site_pass.txt --name localhost --name 127.0.0.1"
    );
    demo_pki(d, words(&line)).ok();
    let run = demo_pki(d, words("sign --ca-passphrase-file ca_pass.txt")).ok();
    assert!(
        run.stdout.contains("The CSR's signature verifies"),
        "{run:?}"
    );

    openssl_verify(d, "ca_public_key.pem", "site_public_key.pem")
        .unwrap_or_else(|e| panic!("site {site}, CA {ca}: {e}"));
    assert_eq!(
        openssl_public_key_of_key(d, "ca_private_key.pem", Some("ca_pass.txt")),
        openssl_public_key_of_cert(d, "ca_public_key.pem"),
        "CA {ca}: the CA key is not the CA certificate's"
    );
    assert_eq!(
        openssl_public_key_of_key(d, "site_private_key.pem", Some("site_pass.txt")),
        openssl_public_key_of_cert(d, "site_public_key.pem"),
        "site {site}: the key is not the certificate's"
    );
    assert_encrypted_pkcs8(d, "ca_private_key.pem");
    assert_encrypted_pkcs8(d, "site_private_key.pem");
    let (cert, key) = ("site_public_key.pem", "site_private_key.pem");
    let names = ["localhost", "127.0.0.1"];
    python_handshake(
        d,
        cert,
        key,
        Some("site_pass.txt"),
        "ca_public_key.pem",
        &names,
    )
    .ok();
}

macro_rules! key_type_tests {
    ($($name:ident: $t:literal, $next:literal;)*) => {$(
        mod $name {
            #[test]
            fn demo_set_verifies_everywhere() {
                super::check_fresh_demo_set($t, $t);
            }
            #[test]
            fn ca_csr_sign_verify_everywhere() {
                // The CA key type is the next one in the list, so that every type signs and
                // is signed by another.
                super::check_cli_flow($t, $next);
            }
        }
    )*};
}

key_type_tests! {
    ecdsa_p256: "ecdsa-p256", "ecdsa-p384";
    ecdsa_p384: "ecdsa-p384", "ed25519";
    ed25519: "ed25519", "rsa2048";
    rsa2048: "rsa2048", "rsa3072";
    rsa3072: "rsa3072", "rsa4096";
    rsa4096: "rsa4096", "ecdsa-p256";
}

#[test]
fn the_key_types_tested_are_those_the_help_offers() {
    let help = demo_pki(Path::new("."), words("csr --help")).ok().stdout;
    let offered = KEY_TYPES.join(", ").replace(", rsa4096", " or rsa4096");
    assert!(help.contains(&offered), "{help}");
}

#[test]
fn plain_keys_of_every_type_are_readable_by_openssl() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for t in KEY_TYPES.iter().filter(|t| **t != "rsa4096") {
        let line = format!(
            "csr --no-passphrase --name localhost --key-type {t} --key {t}.pem --csr {t}_csr.pem"
        );
        demo_pki(d, words(&line)).ok();
        assert_eq!(
            openssl_public_key_of_key(d, &format!("{t}.pem"), None),
            openssl_verified_csr_public_key(d, &format!("{t}_csr.pem")),
            "{t}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// 5: bad input

#[test]
fn wrong_passphrase_is_named_with_the_file_and_nothing_is_written() {
    let pki = Pki::new();
    let d = pki.path();
    write(d, "wrong.txt", "not the passphrase\n");
    pki.refuses(
        "sign --ca-passphrase-file wrong.txt",
        &["wrong passphrase for ca_private_key.pem"],
    );
    // The same through the environment, with an absolute path.
    let key = d.join("ca_private_key.pem");
    let before = snapshot(d);
    let mut cmd = demo_pki_cmd(d, ["sign", "--ca-key", key.to_str().unwrap()]);
    cmd.env("DEMO_PKI_CA_PASSPHRASE", "not the passphrase");
    run(cmd).fails_with(&[&format!("wrong passphrase for {}", key.display())]);
    assert_eq!(snapshot(d), before);
    // Control: the right one works.
    pki.sign("").ok();
}

#[test]
fn legacy_proc_type_encrypted_keys_are_refused_with_the_conversion_command() {
    let pki = Pki::new();
    let d = pki.path();
    write(d, "pass2.txt", format!("{PASS}\n"));
    let to_legacy = "pkey -in ca_private_key.pem -passin file:pass.txt -traditional -aes256 \
                     -passout file:pass2.txt -out legacy_ec.pem";
    openssl(d, words(to_legacy)).ok();
    openssl(
        d,
        words("genrsa -aes256 -traditional -passout file:pass.txt -out legacy_rsa.pem 2048"),
    )
    .ok();
    for (file, label) in [
        ("legacy_ec.pem", "EC PRIVATE KEY"),
        ("legacy_rsa.pem", "RSA PRIVATE KEY"),
    ] {
        let text = fs::read_to_string(d.join(file)).unwrap();
        assert!(
            text.contains(&format!("BEGIN {label}")) && text.contains("Proc-Type: 4,ENCRYPTED"),
            "{text}"
        );
        pki.refuses(
            &format!("sign --ca-passphrase-file pass.txt --ca-key {file}"),
            &[
                &format!("{file} is a legacy OpenSSL encrypted key (Proc-Type: 4,ENCRYPTED)"),
                &format!("openssl pkcs8 -topk8 -v2 aes-256-cbc -in {file} -out key-pkcs8.pem"),
            ],
        );
    }
    // The advice works.
    let advice = "pkcs8 -topk8 -v2 aes-256-cbc -in legacy_ec.pem -out key-pkcs8.pem \
                  -passin file:pass.txt -passout file:pass2.txt";
    openssl(d, words(advice)).ok();
    pki.sign("--ca-key key-pkcs8.pem").ok();
    openssl_verify(d, "ca_public_key.pem", "site_public_key.pem").unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn pkcs12_style_encrypted_keys_are_refused_with_the_conversion_command() {
    let pki = Pki::new();
    let d = pki.path();
    write(d, "pass2.txt", format!("{PASS}\n"));
    let to_p12 = "pkcs8 -topk8 -v1 PBE-SHA1-3DES -in ca_private_key.pem -passin file:pass.txt \
                  -passout file:pass2.txt -out p12.pem";
    openssl(d, words(to_p12)).ok();
    let asn1 = openssl(d, words("asn1parse -in p12.pem")).ok().stdout;
    assert!(asn1.contains("pbeWithSHA1And3-KeyTripleDES-CBC"), "{asn1}");
    pki.refuses(
        "sign --ca-passphrase-file pass.txt --ca-key p12.pem",
        &[
            "p12.pem is encrypted with an old PKCS#5 v1.5 / PKCS#12 scheme",
            "openssl pkcs8 -topk8 -v2 aes-256-cbc -in p12.pem -out key-pkcs8.pem",
        ],
    );
    // The advice works.
    let advice = "pkcs8 -topk8 -v2 aes-256-cbc -in p12.pem -out key-pkcs8.pem \
                  -passin file:pass.txt -passout file:pass2.txt";
    openssl(d, words(advice)).ok();
    pki.sign("--ca-key key-pkcs8.pem").ok();
}

#[test]
fn csr_whose_signature_does_not_verify_is_refused() {
    let pki = Pki::new();
    let d = pki.path();
    let mut der = CertificateSigningRequestDer::from_pem_file(d.join("site_csr.pem"))
        .unwrap()
        .as_ref()
        .to_vec();
    // The signature BIT STRING ends the CSR; change one bit near its end.
    let at = der.len() - 3;
    der[at] ^= 0x01;
    write(d, "tampered.pem", pem_encode("CERTIFICATE REQUEST", &der));
    // Still a well-formed request, only its signature is wrong: OpenSSL says so...
    let check = openssl(d, words("req -verify -noout -in tampered.pem")).output();
    assert!(check.contains("verify failure"), "{check}");
    // ...so does inspect...
    let shown = demo_pki(d, words("inspect tampered.pem")).ok().stdout;
    assert!(
        shown.contains("Self-signature:   DOES NOT VERIFY"),
        "{shown}"
    );
    // ...and sign refuses it.
    pki.refuses(
        "sign --ca-passphrase-file pass.txt --csr tampered.pem",
        &[
            "the signature of the CSR tampered.pem does not verify",
            "Nothing was signed",
            "demo_pki csr",
        ],
    );
}

#[test]
fn a_certificate_that_is_not_a_ca_is_refused_as_the_ca() {
    let pki = Pki::new();
    pki.sign("").ok();
    pki.refuses(
        "sign --ca-passphrase-file pass.txt --ca-cert site_public_key.pem \
         --ca-key site_private_key.pem --out other.pem",
        &["site_public_key.pem is not a CA certificate", "demo_pki ca"],
    );
}

#[test]
fn a_ca_key_that_does_not_match_the_ca_certificate_is_refused() {
    let pki = Pki::new();
    let line = "ca --no-passphrase --cert other_ca.pem --key other_ca_key.pem";
    demo_pki(pki.path(), words(line)).ok();
    pki.refuses(
        "sign --ca-key other_ca_key.pem",
        &[
            "the CA key other_ca_key.pem does not match the CA certificate ca_public_key.pem",
            "Give the key that was made together with this certificate",
        ],
    );
}

#[test]
fn existing_outputs_are_kept_unless_force() {
    let pki = Pki::new();
    let d = pki.path();
    write(d, "site_public_key.pem", "old certificate\n");
    pki.refuses(
        "sign --ca-passphrase-file pass.txt",
        &["site_public_key.pem already exists", "--force"],
    );
    pki.sign("--force").ok();
    let new = fs::read_to_string(d.join("site_public_key.pem")).unwrap();
    assert!(new.starts_with("-----BEGIN CERTIFICATE-----"), "{new}");
    openssl_verify(d, "ca_public_key.pem", "site_public_key.pem").unwrap_or_else(|e| panic!("{e}"));

    // A command that writes two files writes neither when one exists.
    pki.refuses(
        "ca --no-passphrase --cert new_ca.pem",
        &["ca_private_key.pem already exists", "--force"],
    );
    pki.refuses(
        "csr --no-passphrase --name localhost --key new_key.pem",
        &["site_csr.pem already exists", "--force"],
    );

    // The whole demo set.
    let set = tempfile::tempdir().unwrap();
    demo_pki(set.path(), words("demo --root .")).ok();
    let before = snapshot(set.path());
    demo_pki(set.path(), words("demo --root .")).fails_with(&["already exists", "--force"]);
    assert_eq!(snapshot(set.path()), before);
    demo_pki(set.path(), words("demo --root . --force")).ok();
    let after = snapshot(set.path());
    assert_eq!(
        after.keys().collect::<Vec<_>>(),
        before.keys().collect::<Vec<_>>()
    );
    for file in [CA_CERT, SITE_CERT, SITE_KEY, SITE_CSR, PASSPHRASE] {
        let file = Path::new(file);
        assert_ne!(
            after[file],
            before[file],
            "{} was not replaced",
            file.display()
        );
    }
    openssl_verify(set.path(), CA_CERT, SITE_CERT).unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn missing_files_are_named() {
    let pki = Pki::new();
    pki.refuses(
        "sign --ca-passphrase-file pass.txt --csr no_such_csr.pem",
        &["CSR no_such_csr.pem does not exist", "Check the path"],
    );
    pki.refuses(
        "sign --ca-passphrase-file pass.txt --ca-cert no_such_ca.pem",
        &["CA certificate no_such_ca.pem does not exist"],
    );
    pki.refuses(
        "sign --ca-passphrase-file pass.txt --ca-key no_such_key.pem",
        &["private key file no_such_key.pem does not exist"],
    );
    pki.refuses(
        "sign --ca-passphrase-file no_such_pass.txt",
        &["passphrase file no_such_pass.txt does not exist"],
    );
    pki.refuses("inspect nothing.pem", &["file nothing.pem does not exist"]);
}

#[test]
fn unreadable_files_are_named() {
    if running_as_root() {
        // root reads a file whatever its mode, so chmod 000 cannot make one unreadable here.
        eprintln!("skipped: running as root");
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    let pki = Pki::new();
    let csr = pki.path().join("site_csr.pem");
    fs::set_permissions(&csr, fs::Permissions::from_mode(0o000)).unwrap();
    pki.refuses(
        "sign --ca-passphrase-file pass.txt",
        &["cannot read CSR site_csr.pem: permission denied"],
    );
}

#[test]
fn garbage_files_are_named() {
    let pki = Pki::new();
    let d = pki.path();
    write(d, "garbage.txt", "this is not PEM at all\n");
    write(d, "garbage.bin", [0x30, 0x82, 0xff, 0xfe, 0x00, 0x9c, 0xc3]);
    pki.refuses(
        "sign --ca-passphrase-file pass.txt --csr garbage.txt",
        &["garbage.txt holds no certificate request", "demo_pki csr"],
    );
    pki.refuses(
        "sign --ca-passphrase-file pass.txt --csr garbage.bin",
        &["garbage.bin is not a PEM text file"],
    );
    pki.refuses(
        "sign --ca-passphrase-file pass.txt --ca-cert garbage.txt",
        &["garbage.txt holds no certificate"],
    );
    pki.refuses(
        "sign --ca-passphrase-file pass.txt --ca-key garbage.txt",
        &["garbage.txt is not a PEM private key"],
    );
    pki.refuses("inspect garbage.txt", &["garbage.txt holds no certificate"]);
}

#[test]
fn more_than_825_days_is_refused() {
    let pki = Pki::new();
    pki.refuses(
        "sign --ca-passphrase-file pass.txt --days 826",
        &["826 days", "at most 825 days", "Apple"],
    );
    // Control: 825 is accepted, and is what the certificate says.
    pki.sign("--days 825").ok();
    let der = cert_der(&pki.path().join("site_public_key.pem"));
    let (_, cert) = X509Certificate::from_der(&der).unwrap();
    assert_eq!(lifetime(&cert), 825 * 86_400);
}

#[test]
fn passphrases_shorter_than_8_characters_are_refused() {
    let pki = Pki::new();
    let d = pki.path();
    write(d, "short.txt", "1234567\n");
    pki.refuses(
        "csr --name localhost --key k.pem --csr c.pem --passphrase-file short.txt",
        &["the passphrase for the new site key k.pem is shorter than 8 characters"],
    );
    pki.refuses(
        "ca --cert c.pem --key k.pem --passphrase-file short.txt",
        &["the passphrase for the new CA key k.pem is shorter than 8 characters"],
    );
    let before = snapshot(d);
    let mut cmd = demo_pki_cmd(d, words("csr --name localhost --key k.pem --csr c.pem"));
    cmd.env("DEMO_PKI_PASSPHRASE", "short");
    run(cmd).fails_with(&["shorter than 8 characters"]);
    assert_eq!(snapshot(d), before);
    // Control: 8 characters are enough.
    write(d, "eight.txt", "12345678\n");
    let line = "csr --name localhost --key k.pem --csr c.pem --passphrase-file eight.txt";
    demo_pki(d, words(line)).ok();
    assert_encrypted_pkcs8(d, "k.pem");
}

#[test]
fn no_passphrase_and_no_terminal_is_refused_at_once() {
    // `run` gives stdin /dev/null, removes the variables, and fails the test on a hang.
    let pki = Pki::new();
    pki.refuses(
        "csr --name localhost --key k.pem --csr c.pem",
        &[
            "no passphrase for the new site key k.pem",
            "--passphrase-file",
            "DEMO_PKI_PASSPHRASE",
            "terminal",
        ],
    );
    pki.refuses(
        "ca --cert c.pem --key k.pem",
        &[
            "no passphrase for the new CA key k.pem",
            "--passphrase-file",
            "DEMO_PKI_CA_PASSPHRASE",
        ],
    );
    pki.refuses(
        "sign",
        &[
            "no passphrase for the CA key ca_private_key.pem",
            "--ca-passphrase-file",
            "DEMO_PKI_CA_PASSPHRASE",
        ],
    );
}

// ---------------------------------------------------------------------------------------------
// 6: how keys are written

#[test]
fn new_keys_are_pkcs8_pbes2_aes256_mode_0600_and_plain_only_when_asked() {
    let pki = Pki::new();
    let d = pki.path();
    assert_encrypted_pkcs8(d, "ca_private_key.pem");
    openssl_public_key_of_key(d, "ca_private_key.pem", Some("pass.txt"));

    let line = "csr --name localhost --key enc.pem --csr enc_csr.pem --passphrase-file pass.txt";
    demo_pki(d, words(line)).ok();
    assert_encrypted_pkcs8(d, "enc.pem");
    assert_eq!(
        openssl_public_key_of_key(d, "enc.pem", Some("pass.txt")),
        openssl_verified_csr_public_key(d, "enc_csr.pem")
    );

    // The fixture's site key was made with --no-passphrase.
    let plain = fs::read_to_string(d.join("site_private_key.pem")).unwrap();
    assert!(
        plain.starts_with("-----BEGIN PRIVATE KEY-----\n"),
        "{plain}"
    );
    assert_eq!(mode(&d.join("site_private_key.pem")), 0o600);
    let asn1 = openssl(d, words("asn1parse -in site_private_key.pem"))
        .ok()
        .stdout;
    assert!(!asn1.contains("PBES2"), "{asn1}");
    assert_eq!(
        openssl_public_key_of_key(d, "site_private_key.pem", None),
        openssl_verified_csr_public_key(d, "site_csr.pem")
    );
    let line = "ca --no-passphrase --key plain_ca.pem --cert plain_ca_cert.pem";
    let run = demo_pki(d, words(line)).ok();
    assert!(run.stdout.contains("UNENCRYPTED"), "{run:?}");
    let plain = fs::read_to_string(d.join("plain_ca.pem")).unwrap();
    assert!(
        plain.starts_with("-----BEGIN PRIVATE KEY-----\n"),
        "{plain}"
    );
    assert_eq!(mode(&d.join("plain_ca.pem")), 0o600);
}

// ---------------------------------------------------------------------------------------------
// 7: inspect

#[test]
fn inspect_shows_a_chain_in_order_with_the_sentence() {
    let root = repo();
    let dir = tempfile::tempdir().unwrap();
    let mut chain = fs::read_to_string(root.join(SITE_CERT)).unwrap();
    chain.push_str(&fs::read_to_string(root.join(CA_CERT)).unwrap());
    write(dir.path(), "chain.pem", chain);
    let out = demo_pki(dir.path(), words("inspect chain.pem")).ok().stdout;

    let site_der = cert_der(&root.join(SITE_CERT));
    let ca_der = cert_der(&root.join(CA_CERT));
    let (_, site) = X509Certificate::from_der(&site_der).unwrap();
    let (_, ca) = X509Certificate::from_der(&ca_der).unwrap();
    let ca_name = "HTTPS Demo CA (localhost only)";
    let site_sentence = format!(
        "From {} to {} I am localhost, 127.0.0.1, ::1 according to {ca_name}.",
        shown(&site.validity().not_before),
        shown(&site.validity().not_after)
    );
    let ca_sentence = format!(
        "From {} to {} I am {ca_name} according to {ca_name} itself.",
        shown(&ca.validity().not_before),
        shown(&ca.validity().not_after)
    );
    let in_order = [
        "Certificate 1 of 2 in chain.pem:",
        &site_sentence,
        "CA:               no, an end-entity (site) certificate",
        "Certificate 2 of 2 in chain.pem:",
        &ca_sentence,
        "May vouch only for: DNS:localhost, IP:127.0.0.0/8, IP:::1/128",
    ];
    let mut from = 0;
    for part in in_order {
        let at = out[from..]
            .find(part)
            .unwrap_or_else(|| panic!("inspect lacks {part:?} (in this order):\n{out}"));
        from += at + part.len();
    }
}

#[test]
fn inspect_on_a_csr_says_its_signature_verifies() {
    let out = demo_pki(&repo(), ["inspect", SITE_CSR]).ok().stdout;
    let header = format!("Certificate request in {SITE_CSR}:");
    for part in [
        header.as_str(),
        "I am localhost, 127.0.0.1, ::1, and I ask a CA to vouch for it.",
        "Self-signature:   verifies: whoever made this request holds the private key",
    ] {
        assert!(out.contains(part), "inspect lacks {part:?}:\n{out}");
    }
}

#[test]
fn inspect_refuses_private_keys_without_printing_them() {
    let pki = Pki::new();
    let d = pki.path();
    // The fixture's site key is plain, the CA key encrypted.
    for key in ["site_private_key.pem", "ca_private_key.pem"] {
        let text = fs::read_to_string(d.join(key)).unwrap();
        let run = demo_pki(d, ["inspect", key]);
        assert!(run.stdout.is_empty(), "{run:?}");
        let stderr = run.fails_with(&[&format!("{key} holds a private key"), "never prints keys"]);
        for line in text
            .lines()
            .filter(|l| !l.starts_with("-----") && l.len() >= 16)
        {
            assert!(!stderr.contains(&line[..16]), "key material in: {stderr}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// 8: help

#[test]
fn help_lists_every_subcommand_with_a_one_line_explanation() {
    let help = demo_pki(Path::new("."), ["--help"]).ok().stdout;
    for command in ["ca", "csr", "sign", "inspect", "demo"] {
        let line = help
            .lines()
            .find(|l| l.split_whitespace().next() == Some(command))
            .unwrap_or_else(|| panic!("--help does not list {command}:\n{help}"));
        let explanation = line.trim_start()[command.len()..].trim();
        assert!(
            explanation.split_whitespace().count() >= 5,
            "{command} has no real explanation: {line:?}"
        );
        demo_pki(Path::new("."), ["help", command]).ok();
    }
}

// ---------------------------------------------------------------------------------------------
// 9: nothing lost, nothing read without a bound

/// A fresh demo set made with `demo --root .` in a temporary folder.
fn demo_set() -> TempDir {
    let dir = tempfile::tempdir().unwrap();
    demo_pki(dir.path(), words("demo --root .")).ok();
    dir
}

/// Runs `demo_pki LINE` in `dir`, expects it to fail naming every one of `needles` and saying
/// that nothing was written or changed, and checks that no file under `dir` changed.
#[track_caller]
fn refused_without_change(dir: &Path, line: &str, needles: &[&str]) -> String {
    let before = snapshot(dir);
    let run = demo_pki(dir, words(line));
    // Files first: what is lost matters more than what is said.
    assert_eq!(
        snapshot(dir),
        before,
        "demo_pki {line} changed files: {run:?}"
    );
    let stderr = run.fails_with(needles);
    assert!(
        stderr.contains("Nothing was written") || stderr.contains("Nothing was changed"),
        "{stderr}"
    );
    stderr
}

#[test]
fn demo_force_changes_nothing_when_the_reminder_cannot_be_written() {
    // A reminder path that cannot be written, even by root: it is a folder (with a file in it).
    let set = demo_set();
    let d = set.path();
    fs::remove_file(d.join(PASSPHRASE)).unwrap();
    fs::create_dir(d.join(PASSPHRASE)).unwrap();
    write(d, &format!("{PASSPHRASE}/inside"), "x");
    refused_without_change(d, "demo --root . --force", &[PASSPHRASE, "is a folder"]);

    // The issue's own case: a folder that is not writable. Root writes there anyway, so as root
    // the command runs as nobody (setpriv), on a set that nobody owns.
    use std::os::unix::fs::PermissionsExt;
    let set = demo_set();
    let d = set.path();
    let cmd = if running_as_root() {
        const NOBODY: u32 = 65534;
        for path in std::iter::once(d.to_path_buf()).chain(snapshot(d).keys().map(|f| d.join(f))) {
            std::os::unix::fs::chown(&path, Some(NOBODY), Some(NOBODY)).unwrap();
        }
        for folder in ["certificates", "ca_certificates_for_client", "secret"] {
            std::os::unix::fs::chown(d.join(folder), Some(NOBODY), Some(NOBODY)).unwrap();
        }
        let mut cmd = std::process::Command::new("setpriv");
        cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(env!("CARGO_BIN_EXE_demo_pki"))
            .args(words("demo --root . --force"))
            .current_dir(d);
        cmd
    } else {
        demo_pki_cmd(d, words("demo --root . --force"))
    };
    let secret = d.join("secret");
    fs::set_permissions(&secret, fs::Permissions::from_mode(0o500)).unwrap();
    let before = snapshot(d);
    let run = run(cmd);
    assert_eq!(snapshot(d), before, "demo --force changed files: {run:?}");
    let stderr = run.fails_with(&[
        "cannot write ./secret/reminder.txt: permission denied",
        "Nothing was changed",
    ]);
    assert!(!stderr.contains("os error"), "{stderr}");
    fs::set_permissions(&secret, fs::Permissions::from_mode(0o700)).unwrap();
}

#[test]
fn demo_keep_ca_key_where_it_cannot_be_written_changes_nothing() {
    let set = demo_set();
    let d = set.path();
    write(d, "pass.txt", format!("{PASS}\n"));
    // Outside the set's folders, under a path whose "folder" is a regular file.
    let elsewhere = tempfile::tempdir().unwrap();
    write(elsewhere.path(), "a_file", "");
    let kept = elsewhere.path().join("a_file/ca_key.pem");
    let line = format!(
        "demo --root . --force --ca-passphrase-file pass.txt --keep-ca-key {}",
        kept.display()
    );
    refused_without_change(d, &line, &[&kept.display().to_string(), "is not a folder"]);
    // Control: the same with a folder that exists writes the set and the key.
    let kept = elsewhere.path().join("ca_key.pem");
    let line = format!(
        "demo --root . --force --ca-passphrase-file pass.txt --keep-ca-key {}",
        kept.display()
    );
    demo_pki(d, words(&line)).ok();
    assert_eq!(mode(&kept), 0o400);
    assert_eq!(
        openssl_public_key_of_key(d, kept.to_str().unwrap(), Some("pass.txt")),
        openssl_public_key_of_cert(d, CA_CERT)
    );
}

#[test]
fn an_output_that_is_another_output_or_an_input_is_refused_before_writing() {
    let pki = Pki::new();
    let d = pki.path();
    // Two outputs, one file: with and without --force, whether or not it exists.
    for line in [
        "csr --name localhost --no-passphrase --key x.pem --csr x.pem",
        "csr --name localhost --no-passphrase --key x.pem --csr x.pem --force",
        "csr --name localhost --no-passphrase --key x.pem --csr ./sub/../x.pem --force",
    ] {
        fs::create_dir_all(d.join("sub")).unwrap();
        refused_without_change(d, line, &["are the same file", "x.pem"]);
        assert!(!d.join("x.pem").exists());
    }
    write(d, "x.pem", "keep me");
    refused_without_change(
        d,
        "csr --name localhost --no-passphrase --key x.pem --csr x.pem --force",
        &["the site key (--key) x.pem and the CSR (--csr) x.pem are the same file"],
    );
    // An output over an input: by name, through a symbolic link, through a hard link.
    std::os::unix::fs::symlink("ca_private_key.pem", d.join("link.pem")).unwrap();
    fs::hard_link(d.join("ca_private_key.pem"), d.join("hard.pem")).unwrap();
    for (key, out) in [
        ("ca_private_key.pem", "ca_private_key.pem"),
        ("link.pem", "ca_private_key.pem"),
        ("ca_private_key.pem", "link.pem"),
        ("ca_private_key.pem", "hard.pem"),
    ] {
        let line = format!("sign --ca-passphrase-file pass.txt --ca-key {key} --out {out} --force");
        refused_without_change(
            d,
            &line,
            &[&format!(
                "the certificate (--out) {out} is the same file as the CA key (--ca-key) {key}"
            )],
        );
    }
    refused_without_change(
        d,
        "sign --ca-passphrase-file pass.txt --out site_csr.pem --force",
        &["is the same file as the CSR (--csr) site_csr.pem"],
    );
    refused_without_change(
        d,
        "ca --passphrase-file pass.txt --key pass.txt --cert other.pem --force",
        &["is the same file as the passphrase file (--passphrase-file) pass.txt"],
    );
    // The CA key still opens and signs.
    pki.sign("--force").ok();
}

#[test]
fn inputs_are_read_with_a_bound() {
    let pki = Pki::new();
    let d = pki.path();
    // Over the limit by one byte, as a regular file, and endless.
    write(d, "big.pem", vec![b'A'; (1 << 20) + 1]);
    write(d, "big_pass.txt", vec![b'A'; (4 << 10) + 1]);
    let started = std::time::Instant::now();
    for (line, needle) in [
        ("inspect big.pem", "file big.pem holds more than 1 MiB"),
        ("inspect /dev/zero", "file /dev/zero holds more than 1 MiB"),
        (
            "sign --ca-passphrase-file big_pass.txt --force",
            "passphrase file big_pass.txt holds more than 4 KiB",
        ),
        (
            "sign --ca-passphrase-file /dev/zero --force",
            "passphrase file /dev/zero holds more than 4 KiB",
        ),
        (
            "sign --ca-passphrase-file pass.txt --csr /dev/zero --force",
            "CSR /dev/zero holds more than 1 MiB",
        ),
        (
            "verify ca_public_key.pem --ca-file /dev/zero",
            "CA file /dev/zero holds more than 1 MiB",
        ),
    ] {
        refused_without_change_or_write(d, line, needle);
    }
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
    // Control: a passphrase file of exactly 4 KiB is read (its first line is the passphrase).
    let mut exact = format!("{PASS}\n").into_bytes();
    exact.resize(4 << 10, b'#');
    write(d, "exact.txt", exact);
    demo_pki(d, words("sign --force --ca-passphrase-file exact.txt")).ok();
}

/// For commands that write nothing at all (inspect, verify) or refuse: fails naming `needle`.
#[track_caller]
fn refused_without_change_or_write(dir: &Path, line: &str, needle: &str) {
    let before = snapshot(dir);
    let stderr = demo_pki(dir, words(line)).fails_with(&[needle, "Check the path"]);
    assert!(!stderr.contains("os error"), "{stderr}");
    assert_eq!(snapshot(dir), before, "demo_pki {line} changed files");
}

#[test]
fn damaged_pem_is_described_in_words() {
    let pki = Pki::new();
    let d = pki.path();
    let cert = fs::read_to_string(d.join("ca_public_key.pem")).unwrap();
    let cut = &cert[..cert.len() / 2];
    write(d, "cut.pem", cut);
    let key = fs::read_to_string(d.join("site_private_key.pem")).unwrap();
    write(d, "cut_key.pem", &key[..key.len() / 2]);
    let stars = cert.replacen("MII", "M*I", 1);
    write(d, "stars.pem", stars);
    let ca_key = fs::read_to_string(d.join("ca_private_key.pem")).unwrap();
    write(d, "cut_ca_key.pem", &ca_key[..ca_key.len() / 2]);
    write(d, "stars_ca_key.pem", ca_key.replacen("MI", "M*", 1));
    for (line, needle) in [
        (
            "inspect cut.pem",
            "a -----BEGIN CERTIFICATE----- line has no -----END CERTIFICATE----- line after it",
        ),
        (
            "sign --ca-passphrase-file pass.txt --ca-cert cut.pem --out o.pem",
            "a -----BEGIN CERTIFICATE----- line has no -----END CERTIFICATE----- line after it",
        ),
        (
            "sign --ca-passphrase-file pass.txt --ca-key cut_key.pem --out o.pem",
            "a -----BEGIN PRIVATE KEY----- line has no -----END PRIVATE KEY----- line after it",
        ),
        ("inspect stars.pem", "is not valid base64"),
        (
            "sign --ca-passphrase-file pass.txt --ca-key cut_ca_key.pem --out o.pem",
            "a -----BEGIN ENCRYPTED PRIVATE KEY----- line has no -----END ENCRYPTED PRIVATE KEY----- line",
        ),
        (
            "sign --ca-passphrase-file pass.txt --ca-key stars_ca_key.pem --out o.pem",
            "is not valid base64",
        ),
    ] {
        let stderr = pki.refuses(line, &[needle]);
        assert!(!stderr.contains("[6"), "byte arrays in: {stderr}");
    }
}

#[test]
fn passphrase_files_bom_crlf_and_not_utf8() {
    let pki = Pki::new();
    let d = pki.path();
    // Notepad's way: a byte order mark and a Windows line end. The passphrase is still PASS.
    write(d, "windows.txt", format!("\u{feff}{PASS}\r\n"));
    let run = demo_pki(d, words("sign --ca-passphrase-file windows.txt")).ok();
    assert!(
        run.stderr.contains("ends its first line with CR LF")
            && run
                .stderr
                .contains("`openssl -passin file:windows.txt` would take it"),
        "{run:?}"
    );
    // ...and that note is true: openssl takes the CR (and here the mark) as part of it.
    let plain_crlf = write(d, "crlf.txt", format!("{PASS}\r\n"));
    let openssl_run = openssl(
        d,
        [
            "pkey",
            "-in",
            "ca_private_key.pem",
            "-passin",
            &format!("file:{plain_crlf}"),
            "-noout",
        ],
    );
    assert!(!openssl_run.status.success(), "{openssl_run:?}");
    // Control: a plain LF file works with both, and gets no note.
    let run = pki.sign("--force").ok();
    assert!(!run.stderr.contains("CR LF"), "{run:?}");

    // Latin-1 and UTF-16 files are named as what they are, not as "not a PEM text file".
    write(d, "latin1.txt", b"caf\xe9 au lait\n");
    let stderr = pki.refuses(
        "sign --force --ca-passphrase-file latin1.txt",
        &["the passphrase file latin1.txt is not UTF-8 text"],
    );
    assert!(!stderr.contains("PEM"), "{stderr}");
    let utf16: Vec<u8> = [0xff, 0xfe]
        .into_iter()
        .chain(PASS.encode_utf16().flat_map(|u| u.to_le_bytes()))
        .collect();
    write(d, "utf16.txt", utf16);
    pki.refuses(
        "sign --force --ca-passphrase-file utf16.txt",
        &[
            "the passphrase file utf16.txt is UTF-16 text",
            "Save it as UTF-8",
        ],
    );
}

#[test]
fn the_ca_key_passphrase_comes_from_one_variable_for_every_command() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let with_env = |line: &str, var: &str| {
        let mut cmd = demo_pki_cmd(d, words(line));
        cmd.env(var, PASS);
        run(cmd)
    };
    // ca makes the CA key with DEMO_PKI_CA_PASSPHRASE, and sign opens it with the same.
    with_env("ca", "DEMO_PKI_CA_PASSPHRASE").ok();
    write(d, "pass.txt", format!("{PASS}\n"));
    openssl_public_key_of_key(d, "ca_private_key.pem", Some("pass.txt"));
    demo_pki(d, words("csr --no-passphrase --name localhost")).ok();
    with_env("sign", "DEMO_PKI_CA_PASSPHRASE").ok();
    // The site key's variable is not taken for a CA key, and the message says which one is.
    let before = snapshot(d);
    with_env("ca --cert c2.pem --key k2.pem", "DEMO_PKI_PASSPHRASE").fails_with(&[
        "DEMO_PKI_PASSPHRASE is set, but it holds the site key's passphrase",
        "DEMO_PKI_CA_PASSPHRASE",
        "Nothing was written",
    ]);
    assert_eq!(snapshot(d), before);
    // The site key's passphrase: DEMO_PKI_PASSPHRASE.
    with_env(
        "csr --name localhost --key s.pem --csr s_csr.pem",
        "DEMO_PKI_PASSPHRASE",
    )
    .ok();
    openssl_public_key_of_key(d, "s.pem", Some("pass.txt"));
}

#[test]
fn demo_outside_the_repository_root_is_refused_unless_root_is_given() {
    // A stand-in repository: the workspace manifest and the library's.
    let repo = tempfile::tempdir().unwrap();
    let r = repo.path();
    write(
        r,
        "Cargo.toml",
        "[workspace]\nmembers = [\"crates/https_demo\"]\n",
    );
    fs::create_dir_all(r.join("crates/https_demo")).unwrap();
    write(r, "crates/https_demo/Cargo.toml", "[package]\n");
    let before = snapshot(r);
    let stderr = demo_pki(&r.join("crates"), ["demo"]).fails_with(&[
        "is not that root",
        "Nothing was written",
        &format!("whose root is {}", r.display()),
    ]);
    assert!(stderr.contains("--root"), "{stderr}");
    assert_eq!(snapshot(r), before);
    let elsewhere = tempfile::tempdir().unwrap();
    demo_pki(elsewhere.path(), ["demo"]).fails_with(&["is not that root", "--root DIR"]);
    assert!(snapshot(elsewhere.path()).is_empty());

    // From the root, and anywhere with --root, it writes, and says where.
    let run = demo_pki(r, ["demo"]).ok();
    assert!(
        run.stdout
            .contains(&format!("Made a fresh demo set under {}", r.display())),
        "{run:?}"
    );
    let run = demo_pki(elsewhere.path(), words("demo --root set")).ok();
    let at = elsewhere.path().join("set");
    assert!(
        run.stdout
            .contains(&format!("Made a fresh demo set under {}", at.display())),
        "{run:?}"
    );
    openssl_verify(&at, CA_CERT, SITE_CERT).unwrap_or_else(|e| panic!("{e}"));
}
