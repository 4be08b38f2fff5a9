//! Certificates made for one test with rcgen: a CA, and site certificates with any dates and
//! names (expired, not yet valid, for another name), which demo_pki rightly refuses to make.

use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use time::{Duration as Span, OffsetDateTime};

use super::SECRET;

/// A CA made for one test, with its certificate in `ca.pem` of `dir`.
pub struct TestCa {
    pub params: CertificateParams,
    pub key: KeyPair,
    pub file: PathBuf,
}

pub fn test_ca(dir: &Path, file: &str, cn: &str) -> TestCa {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::default();
    params.distinguished_name.push(DnType::CommonName, cn);
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    params.not_before = OffsetDateTime::now_utc() - Span::days(3650);
    params.not_after = OffsetDateTime::now_utc() + Span::days(3650);
    let cert = params.self_signed(&key).unwrap();
    let file = dir.join(file);
    std::fs::write(&file, cert.pem()).unwrap();
    TestCa { params, key, file }
}

/// A site certificate and key signed by `ca`, written to `site.pem` and `site.key` in `dir`,
/// with the secret beside them.
pub fn test_site(
    dir: &Path,
    ca: &TestCa,
    names: &[&str],
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
) -> (PathBuf, PathBuf) {
    let key = KeyPair::generate().unwrap();
    let mut params =
        CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap();
    params.distinguished_name.push(DnType::CommonName, names[0]);
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.use_authority_key_identifier_extension = true;
    params.not_before = not_before;
    params.not_after = not_after;
    let issuer = Issuer::from_params(&ca.params, &ca.key);
    let cert = params.signed_by(&key, &issuer).unwrap();
    let (cert_file, key_file) = (dir.join("site.pem"), dir.join("site.key"));
    std::fs::write(&cert_file, cert.pem()).unwrap();
    std::fs::write(&key_file, key.serialize_pem()).unwrap();
    std::fs::write(dir.join("secret.txt"), format!("{SECRET}\n")).unwrap();
    (cert_file, key_file)
}

pub fn now_window() -> (OffsetDateTime, OffsetDateTime) {
    let now = OffsetDateTime::now_utc();
    (now - Span::days(1), now + Span::days(30))
}

/// A client certificate (extended key usage clientAuth) for `cn` signed by `ca`, with any dates
/// (demo_pki refuses to make an expired one): `NAME.pem` and `NAME_key.pem` in `dir`.
pub fn test_client(
    dir: &Path,
    ca: &TestCa,
    cn: &str,
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
) -> (PathBuf, PathBuf) {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::default();
    params.distinguished_name.push(DnType::CommonName, cn);
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    params.use_authority_key_identifier_extension = true;
    params.not_before = not_before;
    params.not_after = not_after;
    let issuer = Issuer::from_params(&ca.params, &ca.key);
    let cert = params.signed_by(&key, &issuer).unwrap();
    let (cert_file, key_file) = (
        dir.join(format!("{cn}.pem")),
        dir.join(format!("{cn}_key.pem")),
    );
    std::fs::write(&cert_file, cert.pem()).unwrap();
    std::fs::write(&key_file, key.serialize_pem()).unwrap();
    (cert_file, key_file)
}
