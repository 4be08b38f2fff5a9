//! Every certificate failure the trust core can classify from a real server, end to end: for each,
//! certificates made here (rcgen, or openssl the way tutorials do), a real demo_server presenting
//! them, and the three renderers (demo_client's refusal, `--explain`'s step 4, `demo_pki
//! verify`) naming the same classification. Not produced here: `revoked` (demo_client checks no
//! revocation lists) and `bad_encoding` (no server will present a certificate it cannot read).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use https_demo::tls::failure::FailureKind;
use rcgen::{
    BasicConstraints, CertificateParams, CustomExtension, DnType, ExtendedKeyUsagePurpose,
    GeneralSubtree, IsCa, Issuer, KeyPair, KeyUsagePurpose, NameConstraints, SigningKey,
};
use serde_json::Value;
use time::{Duration as Span, OffsetDateTime};

mod support;

use support::certs::{TestCa, now_window, test_ca, test_site};
use support::{SECRET, Server, repo, run_bounded, text};

/// What a case hands to the server and the clients.
struct Case {
    name: &'static str,
    expected: FailureKind,
    /// The site's chain (its certificate first) and key.
    cert: PathBuf,
    key: PathBuf,
    /// The CA file the clients trust.
    ca: PathBuf,
    /// demo_server refuses certificates outside their dates unless told this is a lab.
    invalid_dates: bool,
}

/// The tutorials' self-signed certificate for localhost (`site.pem`, `site.key` in `dir`):
/// `openssl req -x509 -newkey ec ... -subj /CN=localhost -addext subjectAltName=DNS:localhost`,
/// with `extra` arguments.
fn tutorial_self_signed(dir: &Path, extra: &[&str]) {
    let mut args = vec![
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-subj",
        "/CN=localhost",
        "-addext",
        "subjectAltName=DNS:localhost",
        "-days",
        "30",
        "-keyout",
        "site.key",
        "-out",
        "site.pem",
    ];
    args.extend(extra);
    openssl(dir, &args);
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = run_bounded(
        Command::new("openssl").current_dir(dir).args(args),
        Duration::from_secs(30),
    );
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        text(&out.stderr)
    );
}

/// A site certificate for `names` signed by `issuer`, with `eku`, written as `site.pem` (with
/// `extra_chain` after it) and `site.key`.
fn site(
    dir: &Path,
    issuer: &Issuer<'_, impl SigningKey>,
    names: &[&str],
    eku: ExtendedKeyUsagePurpose,
    extra_chain: &str,
) -> (PathBuf, PathBuf) {
    let key = KeyPair::generate().unwrap();
    let mut params =
        CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap();
    params.distinguished_name.push(DnType::CommonName, names[0]);
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![eku];
    params.use_authority_key_identifier_extension = true;
    (params.not_before, params.not_after) = now_window();
    let cert = params.signed_by(&key, issuer).unwrap();
    let (c, k) = (dir.join("site.pem"), dir.join("site.key"));
    std::fs::write(&c, format!("{}{extra_chain}", cert.pem())).unwrap();
    std::fs::write(&k, key.serialize_pem()).unwrap();
    (c, k)
}

fn ca_params(cn: &str, constraint: BasicConstraints) -> CertificateParams {
    let mut params = CertificateParams::default();
    params.distinguished_name.push(DnType::CommonName, cn);
    params.is_ca = IsCa::Ca(constraint);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    params.not_before = OffsetDateTime::now_utc() - Span::days(30);
    params.not_after = OffsetDateTime::now_utc() + Span::days(365);
    params
}

fn issuer(ca: &TestCa) -> Issuer<'_, &KeyPair> {
    Issuer::from_params(&ca.params, &ca.key)
}

/// Every case, each in its own folder of `root`.
fn cases(root: &Path) -> Vec<Case> {
    let mut cases = Vec::new();
    let mut add = |name: &'static str,
                   expected: FailureKind,
                   make: &dyn Fn(&Path) -> (PathBuf, PathBuf, PathBuf, bool)| {
        let dir = root.join(name);
        std::fs::create_dir(&dir).unwrap();
        std::fs::write(dir.join("secret.txt"), format!("{SECRET}\n")).unwrap();
        let (cert, key, ca, invalid_dates) = make(&dir);
        cases.push(Case {
            name,
            expected,
            cert,
            key,
            ca,
            invalid_dates,
        });
    };

    add("another_ca", FailureKind::UnknownIssuer, &|d| {
        let trusted = test_ca(d, "trusted.pem", "Trusted CA");
        let other = test_ca(d, "other.pem", "Mallory's CA");
        let (nb, na) = now_window();
        let (c, k) = test_site(d, &other, &["localhost"], nb, na);
        (c, k, trusted.file, false)
    });

    // The tutorial's command, with CA:FALSE: a plain self-signed site certificate.
    add("self_signed", FailureKind::SelfSigned, &|d| {
        tutorial_self_signed(d, &["-addext", "basicConstraints=critical,CA:FALSE"]);
        let trusted = test_ca(d, "trusted.pem", "Trusted CA");
        (d.join("site.pem"), d.join("site.key"), trusted.file, false)
    });

    // The tutorial's command as it is: OpenSSL's default extensions make it a CA (CA:TRUE).
    add(
        "tutorial_self_signed",
        FailureKind::CaUsedAsEndEntity,
        &|d| {
            tutorial_self_signed(d, &[]);
            let trusted = test_ca(d, "trusted.pem", "Trusted CA");
            (d.join("site.pem"), d.join("site.key"), trusted.file, false)
        },
    );

    // Root -> intermediate -> site, and the server sends its certificate without the intermediate.
    add("incomplete_chain", FailureKind::IncompleteChain, &|d| {
        let root_key = KeyPair::generate().unwrap();
        let root_params = ca_params("Root CA", BasicConstraints::Unconstrained);
        let root = root_params.self_signed(&root_key).unwrap();
        std::fs::write(d.join("root.pem"), root.pem()).unwrap();
        let root_issuer = Issuer::from_params(&root_params, &root_key);
        let mid_key = KeyPair::generate().unwrap();
        let mid_params = ca_params("Intermediate CA", BasicConstraints::Constrained(0));
        mid_params.signed_by(&mid_key, &root_issuer).unwrap();
        let mid_issuer = Issuer::new(mid_params, mid_key);
        let (c, k) = site(
            d,
            &mid_issuer,
            &["localhost"],
            ExtendedKeyUsagePurpose::ServerAuth,
            "",
        );
        (c, k, d.join("root.pem"), false)
    });

    add("expired", FailureKind::Expired, &|d| {
        let ca = test_ca(d, "ca.pem", "Test CA");
        let now = OffsetDateTime::now_utc();
        let (c, k) = test_site(
            d,
            &ca,
            &["localhost"],
            now - Span::days(30),
            now - Span::days(1),
        );
        (c, k, ca.file, true)
    });

    add("not_yet_valid", FailureKind::NotYetValid, &|d| {
        let ca = test_ca(d, "ca.pem", "Test CA");
        let now = OffsetDateTime::now_utc();
        let (c, k) = test_site(
            d,
            &ca,
            &["localhost"],
            now + Span::days(1),
            now + Span::days(30),
        );
        (c, k, ca.file, true)
    });

    add("another_name", FailureKind::NameMismatch, &|d| {
        let ca = test_ca(d, "ca.pem", "Test CA");
        let (nb, na) = now_window();
        let (c, k) = test_site(d, &ca, &["www.example.com"], nb, na);
        (c, k, ca.file, false)
    });

    add("name_constraints", FailureKind::NameConstraint, &|d| {
        let mut ca = test_ca(d, "ca.pem", "Loopback CA");
        ca.params.name_constraints = Some(NameConstraints {
            permitted_subtrees: vec![GeneralSubtree::DnsName("localhost".into())],
            excluded_subtrees: vec![],
        });
        std::fs::write(&ca.file, ca.params.self_signed(&ca.key).unwrap().pem()).unwrap();
        let (nb, na) = now_window();
        let (c, k) = test_site(d, &ca, &["localhost", "bank.example"], nb, na);
        (c, k, ca.file, false)
    });

    add("client_only", FailureKind::WrongUsage, &|d| {
        let ca = test_ca(d, "ca.pem", "Test CA");
        let (c, k) = site(
            d,
            &issuer(&ca),
            &["localhost"],
            ExtendedKeyUsagePurpose::ClientAuth,
            "",
        );
        (c, k, ca.file, false)
    });

    add("forged", FailureKind::BadSignature, &|d| {
        let trusted = test_ca(d, "trusted.pem", "Demo CA");
        let impostor = test_ca(d, "impostor.pem", "Demo CA");
        let (nb, na) = now_window();
        let (c, k) = test_site(d, &impostor, &["localhost"], nb, na);
        (c, k, trusted.file, false)
    });

    // ECDSA with SHA-1: OpenSSL still signs it; webpki accepts no SHA-1 signature.
    add("sha1", FailureKind::UnsupportedSignature, &|d| {
        std::fs::write(
            d.join("ext.cnf"),
            "subjectAltName=DNS:localhost\nextendedKeyUsage=serverAuth\nbasicConstraints=critical,CA:FALSE\n\
             authorityKeyIdentifier=keyid\n",
        )
        .unwrap();
        openssl(
            d,
            &[
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-nodes",
                "-subj",
                "/CN=SHA-1 CA",
                "-days",
                "30",
                "-keyout",
                "ca.key",
                "-out",
                "ca.pem",
            ],
        );
        openssl(
            d,
            &[
                "req",
                "-new",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-nodes",
                "-subj",
                "/CN=localhost",
                "-keyout",
                "site.key",
                "-out",
                "site.csr",
            ],
        );
        openssl(
            d,
            &[
                "x509",
                "-req",
                "-sha1",
                "-in",
                "site.csr",
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-days",
                "30",
                "-extfile",
                "ext.cnf",
                "-out",
                "site.pem",
            ],
        );
        (
            d.join("site.pem"),
            d.join("site.key"),
            d.join("ca.pem"),
            false,
        )
    });

    // A critical extension nobody knows: webpki's error has no rustls variant, and comes out as
    // the catch-all, in words.
    add("unknown_critical_extension", FailureKind::Other, &|d| {
        let ca = test_ca(d, "ca.pem", "Test CA");
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        (params.not_before, params.not_after) = now_window();
        let mut odd = CustomExtension::from_oid_content(&[1, 3, 6, 1, 4, 1, 99999, 1], vec![5, 0]);
        odd.set_criticality(true);
        params.custom_extensions = vec![odd];
        let cert = params.signed_by(&key, &issuer(&ca)).unwrap();
        std::fs::write(d.join("site.pem"), cert.pem()).unwrap();
        std::fs::write(d.join("site.key"), key.serialize_pem()).unwrap();
        (d.join("site.pem"), d.join("site.key"), ca.file, false)
    });

    cases
}

fn run(bin: &str, dir: &Path, args: &[&str]) -> Output {
    let mut cmd = Command::new(bin);
    cmd.current_dir(dir)
        .args(args)
        .env_remove("SSLKEYLOGFILE")
        .env_remove("RUST_LOG");
    run_bounded(&mut cmd, Duration::from_secs(30))
}

fn assert_no_debug_text(case: &str, said: &str) {
    for debug in ["Other(", "Error(", "{", "CertificateError", "OtherError"] {
        assert!(!said.contains(debug), "{case}: {debug:?} in:\n{said}");
    }
}

/// The text with its line wrapping undone.
fn flat(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn every_failure_is_named_the_same_by_the_client_explain_and_demo_pki_verify() {
    let root = tempfile::tempdir().unwrap();
    let cases = cases(root.path());
    // Every kind a real server can produce is in the table.
    for kind in FailureKind::ALL {
        // A pin is the client's own choice, which --explain and demo_pki verify do not take:
        // tests/mitm.rs checks its refusal.
        if !matches!(
            kind,
            FailureKind::Revoked | FailureKind::BadEncoding | FailureKind::PinMismatch
        ) {
            assert!(
                cases.iter().any(|c| c.expected == kind),
                "no case for {}",
                kind.code()
            );
        }
    }
    let mut wrong = Vec::new();
    for case in &cases {
        let (cert, key, ca) = (
            case.cert.to_str().unwrap(),
            case.key.to_str().unwrap(),
            case.ca.to_str().unwrap(),
        );
        let title = case.expected.title();
        let dir = case.cert.parent().unwrap();

        // demo_pki verify, offline.
        let out = run(
            env!("CARGO_BIN_EXE_demo_pki"),
            dir,
            &["verify", cert, "--ca-file", ca, "--name", "localhost"],
        );
        let said = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{}: {said}", case.name);
        assert_no_debug_text(case.name, &said);
        if !said.contains(&format!("against {ca}: {title}: ")) {
            wrong.push(format!("{} (demo_pki verify): {said}", case.name));
        }

        // A real server presents it.
        let mut args = vec!["--cert", cert, "--key", key];
        if case.invalid_dates {
            args.push("--allow-invalid-dates");
        }
        let server = Server::start(&args);
        let url = server.url("/");

        let out = run(
            env!("CARGO_BIN_EXE_demo_client"),
            dir,
            &["--ca-file", ca, "--timeout", "5", &url],
        );
        let said = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{}: {said}", case.name);
        assert_eq!(text(&out.stdout), "", "{}", case.name);
        assert_no_debug_text(case.name, &said);
        if !said.starts_with(&format!("demo_client: error: {title}: ")) {
            wrong.push(format!("{} (demo_client): {said}", case.name));
        }

        let out = run(
            env!("CARGO_BIN_EXE_demo_client"),
            dir,
            &["--explain", "--ca-file", ca, "--timeout", "5", &url],
        );
        assert_eq!(out.status.code(), Some(1), "{}", case.name);
        let story = flat(&text(&out.stdout));
        assert_no_debug_text(case.name, &story);
        assert!(
            story.contains("4. Certificate: FAILED.") && !story.contains("5. Keys"),
            "{}: {story}",
            case.name
        );
        if !story.contains(&format!("Why: {title}: ")) {
            wrong.push(format!("{} (--explain, why): {story}", case.name));
        }

        let out = run(
            env!("CARGO_BIN_EXE_demo_client"),
            dir,
            &["--json", "--ca-file", ca, "--timeout", "5", &url],
        );
        let story: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(story["failure"]["step"], 4, "{}", case.name);
        if story["certificate"]["failure"] != case.expected.code() {
            wrong.push(format!(
                "{} (--json): {} instead of {}",
                case.name,
                story["certificate"]["failure"],
                case.expected.code()
            ));
        }
        // The checks made before the failed one passed; none says "not checked" before it.
        let checks = story["certificate"]["checks"].as_array().unwrap();
        let failed = checks
            .iter()
            .position(|c| c["outcome"] == "failed")
            .unwrap_or_else(|| panic!("{}: no failed check in {checks:?}", case.name));
        assert!(
            checks[..failed].iter().all(|c| c["outcome"] == "passed"),
            "{}: {checks:?}",
            case.name
        );
        let detail = checks[failed]["detail"].as_str().unwrap_or_default();
        if !detail.starts_with(&format!("{title}: ")) {
            wrong.push(format!("{} (--explain, step 4): {detail}", case.name));
        }
    }
    assert!(wrong.is_empty(), "misclassified:\n{}", wrong.join("\n"));
}

/// The self-signed case says what the issue asks: it vouches for itself, anyone can make one,
/// and how to make a CA-signed one.
#[test]
fn a_self_signed_certificate_is_explained_with_the_way_out() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    tutorial_self_signed(d, &["-addext", "basicConstraints=critical,CA:FALSE"]);
    let out = run(
        env!("CARGO_BIN_EXE_demo_pki"),
        &repo(),
        &[
            "verify",
            d.join("site.pem").to_str().unwrap(),
            "--name",
            "localhost",
        ],
    );
    let said = flat(&text(&out.stderr));
    for expected in [
        "self-signed certificate:",
        "vouches for itself",
        "Anyone can make one",
        "`openssl req -x509 ...`",
        "`demo_pki ca`",
        "`demo_pki csr --name localhost`",
        "`demo_pki sign`",
    ] {
        assert!(said.contains(expected), "{expected:?} missing in: {said}");
    }
}

/// A CA made the way the Real Python tutorial's `pki_helpers.py` makes one: basicConstraints
/// CA:TRUE not critical, no keyUsage, no key identifiers; and a site certificate it signed
/// without an Authority Key Identifier. rustls accepts it; strict clients do not, and every
/// renderer says so.
#[test]
fn a_tutorial_style_ca_works_with_a_warning_that_strict_clients_refuse_it() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("secret.txt"), format!("{SECRET}\n")).unwrap();
    std::fs::write(
        d.join("ca.cnf"),
        "[req]\ndistinguished_name = dn\nx509_extensions = ca_ext\nprompt = no\n[dn]\nCN = Tutorial CA\n\
         [ca_ext]\nbasicConstraints = CA:TRUE\nsubjectKeyIdentifier = none\nauthorityKeyIdentifier = none\n",
    )
    .unwrap();
    std::fs::write(
        d.join("site.cnf"),
        "subjectAltName = DNS:localhost\nsubjectKeyIdentifier = none\nauthorityKeyIdentifier = none\n",
    )
    .unwrap();
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
    ];
    let mut args = vec!["req", "-x509"];
    args.extend(ec);
    args.extend([
        "-config", "ca.cnf", "-days", "30", "-keyout", "ca.key", "-out", "ca.pem",
    ]);
    openssl(d, &args);
    let mut args = vec!["req", "-new"];
    args.extend(ec);
    args.extend([
        "-subj",
        "/CN=localhost",
        "-keyout",
        "site.key",
        "-out",
        "site.csr",
    ]);
    openssl(d, &args);
    openssl(
        d,
        &[
            "x509",
            "-req",
            "-in",
            "site.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "30",
            "-extfile",
            "site.cnf",
            "-out",
            "site.pem",
        ],
    );
    let named = [
        "Strict clients would refuse",
        "the certificate for localhost has no Authority Key Identifier",
        "the CA certificate Tutorial CA has no Subject Key Identifier, no keyUsage and a basicConstraints \
         not marked critical",
        "Python 3.13",
        "`openssl verify -x509_strict`",
    ];
    let assert_warns = |who: &str, said: &str| {
        let said = flat(said);
        for expected in named {
            assert!(
                said.contains(expected),
                "{who}: {expected:?} missing in: {said}"
            );
        }
    };

    // OpenSSL's strict mode refuses it, its default mode accepts it.
    let strict = run_bounded(
        Command::new("openssl").current_dir(d).args([
            "verify",
            "-x509_strict",
            "-CAfile",
            "ca.pem",
            "site.pem",
        ]),
        Duration::from_secs(30),
    );
    let said = text(&strict.stdout) + &text(&strict.stderr);
    assert!(
        !strict.status.success(),
        "openssl -x509_strict accepted it: {said}"
    );
    for error in [
        "Missing Authority Key Identifier",
        "Basic Constraints of CA cert not marked critical",
        "CA cert does not include key usage extension",
    ] {
        assert!(said.contains(error), "{error:?} missing in: {said}");
    }
    openssl(d, &["verify", "-CAfile", "ca.pem", "site.pem"]);

    // demo_pki verify and inspect.
    let out = run(
        env!("CARGO_BIN_EXE_demo_pki"),
        d,
        &[
            "verify",
            "site.pem",
            "--ca-file",
            "ca.pem",
            "--name",
            "localhost",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_warns("demo_pki verify", &text(&out.stdout));
    let out = run(env!("CARGO_BIN_EXE_demo_pki"), d, &["inspect", "ca.pem"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let said = flat(&text(&out.stdout));
    assert!(
        said.contains("the CA certificate Tutorial CA has no Subject Key Identifier")
            && said.contains("Python 3.13"),
        "demo_pki inspect: {said}"
    );

    // A real server presents it: demo_client and --explain succeed, and warn.
    let cert = d.join("site.pem");
    let key = d.join("site.key");
    let server = Server::start(&[
        "--cert",
        cert.to_str().unwrap(),
        "--key",
        key.to_str().unwrap(),
    ]);
    let url = server.url("/");
    let out = run(
        env!("CARGO_BIN_EXE_demo_client"),
        d,
        &["--ca-file", "ca.pem", "--timeout", "5", &url],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).starts_with(&format!("Secret message: {SECRET}")));
    assert_warns("demo_client", &text(&out.stdout));
    let out = run(
        env!("CARGO_BIN_EXE_demo_client"),
        d,
        &["--explain", "--ca-file", "ca.pem", "--timeout", "5", &url],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_warns("--explain", &text(&out.stdout));

    // Python with VERIFY_X509_STRICT (what 3.13 sets by default) refuses the same server; the
    // same Python without it accepts it.
    let python = |strict: bool| {
        let script = format!(
            "import socket, ssl, sys\n\
             ctx = ssl.create_default_context(cafile='ca.pem')\n\
             if {strict}: ctx.verify_flags |= ssl.VERIFY_X509_STRICT\n\
             s = socket.create_connection(('127.0.0.1', {port}), timeout=5)\n\
             try:\n    ctx.wrap_socket(s, server_hostname='localhost').close()\n\
             except ssl.SSLCertVerificationError as e:\n    print(e.verify_message); sys.exit(3)\n",
            strict = if strict { "True" } else { "False" },
            port = server.port
        );
        run_bounded(
            Command::new("python3").current_dir(d).args(["-c", &script]),
            Duration::from_secs(30),
        )
    };
    let refused = python(true);
    assert_eq!(
        refused.status.code(),
        Some(3),
        "python strict: {} {}",
        text(&refused.stdout),
        text(&refused.stderr)
    );
    let accepted = python(false);
    assert!(
        accepted.status.success(),
        "python: {}",
        text(&accepted.stderr)
    );
}
