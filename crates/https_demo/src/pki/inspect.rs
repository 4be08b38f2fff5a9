//! Step 4: read a certificate the way a person does. The one sentence that sums it up is
//! "From A to B I am X according to Y": valid from, valid to, the names, the issuer.

use std::fmt::Write as _;

use ::time::OffsetDateTime;
use anyhow::{Result, anyhow, bail};
use sha2::{Digest, Sha256};
use x509_parser::certification_request::X509CertificationRequest;
use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::prelude::*;

use super::names::Name;
use super::validity;

/// What a person wants to know about one certificate.
#[derive(Clone, Debug)]
pub struct CertSummary {
    pub subject: String,
    pub issuer: String,
    /// The subject and issuer as encoded (DER): what a chain is matched by, not their text.
    pub subject_der: Vec<u8>,
    pub issuer_der: Vec<u8>,
    pub issuer_name: String,
    /// The subject's own name: its common name when it has one (`alice`), else the whole DN.
    pub subject_name: String,
    /// The subjectAltNames; when there are none, the common name stands in.
    pub names: Vec<Name>,
    pub has_sans: bool,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
    pub key: String,
    pub signature: String,
    pub serial: String,
    pub sha256: String,
    /// The SPKI pin of its public key (`sha256//BASE64`), for `demo_client --pin` and curl's
    /// `--pinnedpubkey`.
    pub pin: String,
    pub is_ca: bool,
    pub path_len: Option<u32>,
    pub self_signed: bool,
    pub key_usage: Vec<String>,
    pub extended_key_usage: Vec<String>,
    pub permitted: Vec<Name>,
    /// What strict clients would refuse in this certificate alone.
    pub strict: Vec<StrictIssue>,
}

/// Something Python 3.13's default `ssl.VERIFY_X509_STRICT` and `openssl verify -x509_strict`
/// refuse in a certificate that rustls, browsers and curl accept. The Real Python tutorial's
/// `pki_helpers.py` makes a CA with the first four.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StrictIssue {
    /// Every certificate but a self-signed root must say which key signed it.
    NoAuthorityKeyId,
    /// A CA must name its own key, so that the certificates it signs can point at it.
    NoSubjectKeyId,
    /// A CA must say what its key may do (keyCertSign).
    CaWithoutKeyUsage,
    /// A CA's basicConstraints must be critical.
    CaBasicConstraintsNotCritical,
    /// A site's names belong in subjectAltName; its common name is not read.
    NoSubjectAltName,
}

impl StrictIssue {
    /// What is missing, in the words of the standard.
    pub fn missing(self) -> &'static str {
        match self {
            StrictIssue::NoAuthorityKeyId => "no Authority Key Identifier",
            StrictIssue::NoSubjectKeyId => "no Subject Key Identifier",
            StrictIssue::CaWithoutKeyUsage => "no keyUsage",
            StrictIssue::CaBasicConstraintsNotCritical => "a basicConstraints not marked critical",
            StrictIssue::NoSubjectAltName => "no subjectAltName",
        }
    }
}

/// Which clients refuse such a certificate.
pub const STRICT_CLIENTS: &str = "Python 3.13 and later (ssl.VERIFY_X509_STRICT, on by default) and `openssl \
     verify -x509_strict`";

/// The warning for a chain that verifies, when strict clients would refuse it: each
/// certificate's missing extensions, named, and the clients. `None` when none is missing.
pub fn strict_warning(what: &str, certs: &[&CertSummary]) -> Option<String> {
    let found: Vec<String> = certs
        .iter()
        .filter(|c| !c.strict.is_empty())
        .map(|c| {
            let what: Vec<&str> = c.strict.iter().map(|i| i.missing()).collect();
            let what = match what.split_last() {
                Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
                _ => what.join(""),
            };
            format!("{} has {what}", c.called())
        })
        .collect();
    if found.is_empty() {
        return None;
    }
    Some(format!(
        "Strict clients would refuse {what}: {}. {STRICT_CLIENTS} refuse it; rustls, browsers and curl \
         accept it. Certificates made with demo_pki (ca, csr, sign) have all of these.",
        found.join("; ")
    ))
}

impl CertSummary {
    pub fn from_der(der: &[u8]) -> Result<Self> {
        let (_, cert) = X509Certificate::from_der(der)
            .map_err(|e| anyhow!("not a valid X.509 certificate ({e})"))?;
        let mut names = Vec::new();
        if let Ok(Some(san)) = cert.subject_alternative_name() {
            names = san.value.general_names.iter().map(general_name).collect();
        }
        let bc = cert
            .basic_constraints()
            .ok()
            .flatten()
            .map(|b| b.value.clone());
        let mut key_usage = Vec::new();
        let mut extended_key_usage = Vec::new();
        let mut permitted = Vec::new();
        for ext in cert.extensions() {
            match ext.parsed_extension() {
                ParsedExtension::KeyUsage(ku) => {
                    key_usage = ku.to_string().split(", ").map(|s| s.to_string()).collect();
                }
                ParsedExtension::ExtendedKeyUsage(eku) => {
                    let pairs = [
                        (eku.server_auth, "serverAuth"),
                        (eku.client_auth, "clientAuth"),
                        (eku.code_signing, "codeSigning"),
                        (eku.email_protection, "emailProtection"),
                        (eku.any, "any"),
                    ];
                    extended_key_usage = pairs
                        .iter()
                        .filter(|p| p.0)
                        .map(|p| p.1.to_string())
                        .collect();
                }
                ParsedExtension::NameConstraints(nc) => {
                    if let Some(subtrees) = &nc.permitted_subtrees {
                        permitted = subtrees.iter().map(|s| general_name(&s.base)).collect();
                    }
                }
                _ => {}
            }
        }
        Ok(CertSummary {
            subject: cert.subject().to_string(),
            issuer: cert.issuer().to_string(),
            subject_der: cert.subject().as_raw().to_vec(),
            issuer_der: cert.issuer().as_raw().to_vec(),
            issuer_name: short_name(cert.issuer()),
            subject_name: short_name(cert.subject()),
            has_sans: !names.is_empty(),
            names: if names.is_empty() {
                vec![Name::CommonName(short_name(cert.subject()))]
            } else {
                names
            },
            not_before: cert.validity().not_before.to_datetime(),
            not_after: cert.validity().not_after.to_datetime(),
            key: describe_key(cert.public_key()),
            signature: signature_name(&cert.signature_algorithm.algorithm.to_id_string()),
            serial: cert.raw_serial_as_string(),
            sha256: fingerprint(der),
            pin: crate::tls::trust::SpkiPin::of_certificate(der)
                .map(|p| p.to_string())
                .unwrap_or_default(),
            is_ca: bc.as_ref().is_some_and(|b| b.ca),
            path_len: bc.and_then(|b| b.path_len_constraint),
            self_signed: cert.subject() == cert.issuer(),
            key_usage,
            extended_key_usage,
            permitted,
            strict: strict_issues(&cert),
        })
    }

    /// How a message calls it: "the CA certificate Tutorial CA", "the certificate for localhost".
    pub fn called(&self) -> String {
        let first = self
            .names
            .first()
            .map(Name::to_string)
            .unwrap_or_else(|| "?".into());
        if self.is_ca {
            format!("the CA certificate {first}")
        } else {
            format!("the certificate for {first}")
        }
    }

    /// Whether the certificate may identify a TLS client: no extended key usage (any use), or
    /// one that lists clientAuth (or anyExtendedKeyUsage). The labels are the ones made above.
    pub fn may_identify_client(&self) -> bool {
        self.extended_key_usage.is_empty()
            || self
                .extended_key_usage
                .iter()
                .any(|u| u == "clientAuth" || u == "any")
    }

    /// "From A to B I am X according to Y".
    pub fn sentence(&self) -> String {
        format!(
            "From {} to {} I am {} according to {}.",
            show_time(self.not_before),
            show_time(self.not_after),
            join(&self.names),
            if self.self_signed {
                format!("{} itself", self.issuer_name)
            } else {
                self.issuer_name.clone()
            }
        )
    }

    /// Whether it is valid now, and for how long.
    pub fn validity_now(&self, now: OffsetDateTime) -> String {
        if now < self.not_before {
            format!("NOT YET VALID: it starts on {}", show_time(self.not_before))
        } else if now > self.not_after {
            format!(
                "EXPIRED on {}, {} days ago",
                show_time(self.not_after),
                (now - self.not_after).whole_days()
            )
        } else {
            format!(
                "valid now, {} days left",
                (self.not_after - now).whole_days()
            )
        }
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "  {}", self.sentence());
        let mut row = |k: &str, v: &str| {
            if !v.is_empty() {
                let _ = writeln!(out, "  {k:<17} {v}");
            }
        };
        row("Subject:", &self.subject);
        row("Issuer:", &self.issuer);
        row(
            "Names (SAN):",
            &if self.has_sans {
                labelled(&self.names)
            } else {
                "none".into()
            },
        );
        row("Valid:", &self.validity_now(validity::now()));
        row("Public key:", &self.key);
        row("Signature:", &self.signature);
        row("Serial:", &self.serial);
        row("SHA-256:", &self.sha256);
        row("Pin:", &self.pin);
        let ca = match (self.is_ca, self.path_len) {
            (true, Some(n)) => format!("yes, may sign site certificates (path length {n})"),
            (true, None) => "yes, may sign certificates and other CAs".into(),
            (false, _) => "no, an end-entity (site) certificate".into(),
        };
        row("CA:", &ca);
        row("Key usage:", &self.key_usage.join(", "));
        row("Extended usage:", &self.extended_key_usage.join(", "));
        if !self.permitted.is_empty() {
            row("May vouch only for:", &labelled(&self.permitted));
        }
        out
    }
}

/// Names as people write them: "localhost, 127.0.0.1, ::1".
pub fn join(names: &[Name]) -> String {
    names
        .iter()
        .map(Name::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Names as openssl prints them: "DNS:localhost, IP:127.0.0.1".
fn labelled(names: &[Name]) -> String {
    names
        .iter()
        .map(Name::labelled)
        .collect::<Vec<_>>()
        .join(", ")
}

/// What strict clients refuse in `cert` alone (RFC 5280's MUSTs that OpenSSL's strict mode
/// enforces).
fn strict_issues(cert: &X509Certificate<'_>) -> Vec<StrictIssue> {
    let has = |oid| cert.get_extension_unique(oid).ok().flatten().is_some();
    let (aki, ski, ku, san) = (
        has(&x509_parser::oid_registry::OID_X509_EXT_AUTHORITY_KEY_IDENTIFIER),
        has(&x509_parser::oid_registry::OID_X509_EXT_SUBJECT_KEY_IDENTIFIER),
        has(&x509_parser::oid_registry::OID_X509_EXT_KEY_USAGE),
        has(&x509_parser::oid_registry::OID_X509_EXT_SUBJECT_ALT_NAME),
    );
    let bc = cert.basic_constraints().ok().flatten();
    let is_ca = bc.as_ref().is_some_and(|b| b.value.ca);
    let self_issued = cert.subject() == cert.issuer();
    let mut issues = Vec::new();
    if !aki && !self_issued {
        issues.push(StrictIssue::NoAuthorityKeyId);
    }
    if is_ca {
        if !ski {
            issues.push(StrictIssue::NoSubjectKeyId);
        }
        if !ku {
            issues.push(StrictIssue::CaWithoutKeyUsage);
        }
        if bc.is_some_and(|b| !b.critical) {
            issues.push(StrictIssue::CaBasicConstraintsNotCritical);
        }
    } else if !san {
        issues.push(StrictIssue::NoSubjectAltName);
    }
    issues
}

/// The inspect command: every certificate of a chain in order, or a CSR.
pub fn inspect_pem(text: &str, shown: &str) -> Result<String> {
    use rustls_pki_types::pem::{PemObject, SectionKind};
    if text.contains("PRIVATE KEY-----") {
        bail!(
            "{shown} holds a private key; inspect shows certificates and requests only, and never prints keys"
        );
    }
    let blocks = <(SectionKind, Vec<u8>)>::pem_slice_iter(text.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| {
            anyhow!(
                "{shown} holds a damaged PEM block: {}",
                super::pem_error_words(&e)
            )
        })?;
    let certs = blocks
        .iter()
        .filter(|(k, _)| *k == SectionKind::Certificate)
        .count();
    if blocks.is_empty() {
        bail!(
            "{shown} holds no certificate or certificate request in PEM form (no -----BEGIN CERTIFICATE----- line)"
        );
    }
    let mut out = String::new();
    let mut n = 0;
    for (kind, der) in &blocks {
        match kind {
            SectionKind::Certificate => {
                n += 1;
                let summary = CertSummary::from_der(der)
                    .map_err(|e| anyhow!("{shown}, certificate {n}: {e}"))?;
                let _ = writeln!(out, "Certificate {n} of {certs} in {shown}:");
                out.push_str(&summary.render());
                if let Some(warning) = strict_warning("this certificate", &[&summary]) {
                    let _ = writeln!(out, "  {warning}");
                }
            }
            SectionKind::Csr => out.push_str(&describe_csr(der, shown)?),
            other => {
                let _ = writeln!(
                    out,
                    "({shown} also holds a {} block, skipped)",
                    section_label(*other)
                );
            }
        }
        out.push('\n');
    }
    Ok(out.trim_end().to_string() + "\n")
}

/// The PEM label of a section, as it stands after -----BEGIN.
fn section_label(kind: rustls_pki_types::pem::SectionKind) -> &'static str {
    use rustls_pki_types::pem::SectionKind::*;
    match kind {
        Certificate => "CERTIFICATE",
        PublicKey => "PUBLIC KEY",
        RsaPrivateKey => "RSA PRIVATE KEY",
        PrivateKey => "PRIVATE KEY",
        EcPrivateKey => "EC PRIVATE KEY",
        Crl => "X509 CRL",
        Csr => "CERTIFICATE REQUEST",
        EchConfigList => "ECHCONFIG",
        _ => "other",
    }
}

fn describe_csr(der: &[u8], shown: &str) -> Result<String> {
    let (_, csr) = X509CertificationRequest::from_der(der)
        .map_err(|e| anyhow!("{shown} holds a damaged certificate request ({e})"))?;
    let info = &csr.certification_request_info;
    let mut names = Vec::new();
    if let Some(exts) = csr.requested_extensions() {
        for ext in exts {
            if let ParsedExtension::SubjectAlternativeName(san) = ext {
                names.extend(san.general_names.iter().map(general_name));
            }
        }
    }
    let verified = match csr.verify_signature() {
        Ok(()) => {
            "verifies: whoever made this request holds the private key of the public key in it"
        }
        Err(_) => {
            "DOES NOT VERIFY: the request was altered, or signed with another key; a CA must refuse it"
        }
    };
    let mut out = format!("Certificate request in {shown}:\n");
    let who = if names.is_empty() {
        short_name(&info.subject)
    } else {
        join(&names)
    };
    let _ = writeln!(out, "  I am {who}, and I ask a CA to vouch for it.");
    let _ = writeln!(out, "  {:<17} {}", "Subject:", info.subject);
    let _ = writeln!(
        out,
        "  {:<17} {}",
        "Names (SAN):",
        if names.is_empty() {
            "none (clients will reject a certificate without them)".into()
        } else {
            labelled(&names)
        }
    );
    let _ = writeln!(
        out,
        "  {:<17} {}",
        "Public key:",
        describe_key(&info.subject_pki)
    );
    let _ = writeln!(
        out,
        "  {:<17} {}",
        "Signature:",
        signature_name(&csr.signature_algorithm.algorithm.to_id_string())
    );
    let _ = writeln!(out, "  {:<17} {verified}", "Self-signature:");
    let _ = writeln!(out, "  {:<17} {}", "SHA-256:", fingerprint(der));
    Ok(out)
}

pub fn show_time(t: OffsetDateTime) -> String {
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC",
        t.year(),
        t.month() as u8,
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// The common name when there is one, else the whole name.
pub fn short_name(name: &X509Name<'_>) -> String {
    name.iter_common_name()
        .next()
        .and_then(|cn| cn.as_str().ok())
        .map(str::to_string)
        .unwrap_or_else(|| name.to_string())
}

pub fn fingerprint(der: &[u8]) -> String {
    Sha256::digest(der)
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// A name of a certificate or a name constraint, typed: an IP SAN holds 4 or 16 bytes, an IP
/// name constraint 8 or 32 (the address, then the mask).
fn general_name(name: &GeneralName<'_>) -> Name {
    let prefix = |mask: &[u8]| mask.iter().map(|x| x.count_ones()).sum::<u32>() as u8;
    match name {
        GeneralName::DNSName(d) => Name::Dns(d.to_string()),
        GeneralName::IPAddress(b) => match b.len() {
            4 => Name::Ip(std::net::Ipv4Addr::new(b[0], b[1], b[2], b[3]).into()),
            16 => Name::Ip(
                std::net::Ipv6Addr::from(<[u8; 16]>::try_from(*b).unwrap_or_default()).into(),
            ),
            8 => Name::IpRange(
                std::net::Ipv4Addr::new(b[0], b[1], b[2], b[3]).into(),
                prefix(&b[4..]),
            ),
            32 => Name::IpRange(
                std::net::Ipv6Addr::from(<[u8; 16]>::try_from(&b[..16]).unwrap_or_default()).into(),
                prefix(&b[16..]),
            ),
            n => Name::Other(format!(
                "an IP address field of {n} bytes (4 or 16 expected)"
            )),
        },
        other => Name::Other(other.to_string()),
    }
}

fn describe_key(spki: &SubjectPublicKeyInfo<'_>) -> String {
    let alg = spki.algorithm.algorithm.to_id_string();
    let curve = spki
        .algorithm
        .parameters
        .as_ref()
        .and_then(|p| p.as_oid().ok())
        .map(|o| o.to_id_string());
    match (alg.as_str(), curve.as_deref()) {
        ("1.2.840.10045.2.1", Some("1.2.840.10045.3.1.7")) => "ECDSA P-256 (256 bits)".into(),
        ("1.2.840.10045.2.1", Some("1.3.132.0.34")) => "ECDSA P-384 (384 bits)".into(),
        ("1.2.840.10045.2.1", Some("1.3.132.0.35")) => "ECDSA P-521 (521 bits)".into(),
        ("1.3.101.112", _) => "Ed25519 (256 bits)".into(),
        ("1.2.840.113549.1.1.1", _) => {
            let bits = spki.parsed().map(|k| k.key_size()).unwrap_or(0);
            let weak = if bits < 2048 {
                " — WEAK, refuse it"
            } else {
                ""
            };
            format!("RSA {bits} bits{weak}")
        }
        (other, _) => format!("algorithm {other}"),
    }
}

fn signature_name(oid: &str) -> String {
    match oid {
        "1.2.840.10045.4.3.2" => "ECDSA with SHA-256",
        "1.2.840.10045.4.3.3" => "ECDSA with SHA-384",
        "1.2.840.10045.4.3.4" => "ECDSA with SHA-512",
        "1.3.101.112" => "Ed25519",
        "1.2.840.113549.1.1.11" => "RSA PKCS#1 v1.5 with SHA-256",
        "1.2.840.113549.1.1.12" => "RSA PKCS#1 v1.5 with SHA-384",
        "1.2.840.113549.1.1.13" => "RSA PKCS#1 v1.5 with SHA-512",
        "1.2.840.113549.1.1.10" => "RSA-PSS",
        "1.2.840.113549.1.1.5" => "RSA with SHA-1 — WEAK, rejected by modern clients",
        other => return format!("algorithm {other}"),
    }
    .to_string()
}
