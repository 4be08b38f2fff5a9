//! The one classification of what can go wrong with a server's certificate. rustls (webpki)
//! makes the decision; [`CertFailure::classify`] reads its typed error once, with the chain the
//! server presented, and keeps the facts (dates, names, issuer) until a renderer words them:
//! demo_client's refusal, step 4 of `--explain`, `demo_pki verify` and demo_server's start-up
//! check all call [`CertFailure::words`]. Nothing here reads an error's text.
//!
//! Some failures are told apart from the chain, not from the error, because webpki reports
//! them all as "unknown issuer":
//! - **self-signed**: the site's certificate names itself as its issuer and its signature
//!   verifies with its own public key;
//! - **incomplete chain**: the server sent its certificate alone, its issuer is not a CA of the
//!   file, and a CA of the file may sign intermediate CAs (no path length 0). A client cannot
//!   tell a missing intermediate from a stranger's CA; this rule names the likely one, and the
//!   words say both;
//! - **unknown issuer**: everything else.

use std::error::Error as StdError;

use rustls::{CertificateError, ExtendedKeyPurpose};
use rustls_pki_types::{CertificateDer, UnixTime};
use serde::Serialize;
use time::OffsetDateTime;
use x509_parser::prelude::{FromDer, X509Certificate};

use super::trust::{PinMismatch, TrustedCas, ca_name};
use crate::layout;
use crate::pki::inspect::{CertSummary, show_time};
use crate::pki::names::Name;

/// Which failure it is, without its facts: a stable code for programs and tests, a title for
/// people, and the check of step 4 it belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    UnknownIssuer,
    SelfSigned,
    IncompleteChain,
    CaUsedAsEndEntity,
    Expired,
    NotYetValid,
    NameMismatch,
    NameConstraint,
    WrongUsage,
    BadSignature,
    UnsupportedSignature,
    Revoked,
    /// Verified by a CA you trust, but not the pinned public key (`demo_client --pin`).
    PinMismatch,
    BadEncoding,
    Other,
}

/// The checks of step 4, in the order webpki and rustls make them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Check {
    /// Reading the certificates at all.
    Encoding,
    Dates,
    Usage,
    Chain,
    Signatures,
    NameConstraints,
    Name,
    /// After every other check passed: is it the pinned public key?
    Pin,
}

impl FailureKind {
    pub const ALL: [FailureKind; 15] = [
        FailureKind::UnknownIssuer,
        FailureKind::SelfSigned,
        FailureKind::IncompleteChain,
        FailureKind::CaUsedAsEndEntity,
        FailureKind::Expired,
        FailureKind::NotYetValid,
        FailureKind::NameMismatch,
        FailureKind::NameConstraint,
        FailureKind::WrongUsage,
        FailureKind::BadSignature,
        FailureKind::UnsupportedSignature,
        FailureKind::Revoked,
        FailureKind::PinMismatch,
        FailureKind::BadEncoding,
        FailureKind::Other,
    ];

    /// The stable name: `expired`, `self_signed`, ...
    pub fn code(self) -> &'static str {
        match self {
            FailureKind::UnknownIssuer => "unknown_issuer",
            FailureKind::SelfSigned => "self_signed",
            FailureKind::IncompleteChain => "incomplete_chain",
            FailureKind::CaUsedAsEndEntity => "ca_used_as_site_certificate",
            FailureKind::Expired => "expired",
            FailureKind::NotYetValid => "not_yet_valid",
            FailureKind::NameMismatch => "name_mismatch",
            FailureKind::NameConstraint => "name_constraint_violated",
            FailureKind::WrongUsage => "wrong_usage",
            FailureKind::BadSignature => "bad_signature",
            FailureKind::UnsupportedSignature => "unsupported_signature_algorithm",
            FailureKind::Revoked => "revoked",
            FailureKind::PinMismatch => "pin_mismatch",
            FailureKind::BadEncoding => "bad_encoding",
            FailureKind::Other => "other",
        }
    }

    /// The failure in a few words; no title contains another.
    pub fn title(self) -> &'static str {
        match self {
            FailureKind::UnknownIssuer => "issued by an unknown CA",
            FailureKind::SelfSigned => "self-signed certificate",
            FailureKind::IncompleteChain => "incomplete chain",
            FailureKind::CaUsedAsEndEntity => "a CA certificate used as the site's",
            FailureKind::Expired => "expired certificate",
            FailureKind::NotYetValid => "certificate not valid yet",
            FailureKind::NameMismatch => "certificate for another name",
            FailureKind::NameConstraint => "name outside the CA's name constraints",
            FailureKind::WrongUsage => "certificate not meant for a TLS server",
            FailureKind::BadSignature => "signature does not verify",
            FailureKind::UnsupportedSignature => "unsupported signature algorithm",
            FailureKind::Revoked => "revoked certificate",
            FailureKind::PinMismatch => "public key does not match the pin",
            FailureKind::BadEncoding => "damaged certificate",
            FailureKind::Other => "certificate refused",
        }
    }

    /// The check of step 4 that failed.
    pub fn check(self) -> Check {
        match self {
            FailureKind::BadEncoding | FailureKind::Other => Check::Encoding,
            FailureKind::Expired | FailureKind::NotYetValid => Check::Dates,
            FailureKind::CaUsedAsEndEntity | FailureKind::WrongUsage => Check::Usage,
            FailureKind::UnknownIssuer
            | FailureKind::SelfSigned
            | FailureKind::IncompleteChain
            | FailureKind::Revoked => Check::Chain,
            FailureKind::BadSignature | FailureKind::UnsupportedSignature => Check::Signatures,
            FailureKind::NameConstraint => Check::NameConstraints,
            FailureKind::NameMismatch => Check::Name,
            FailureKind::PinMismatch => Check::Pin,
        }
    }
}

/// What went wrong, with the facts a person needs to act on it. Names are plain
/// (`localhost`, `127.0.0.1`), dates UTC.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CertFailure {
    /// No CA of the file issued it: `issuer` is the name the certificate gives.
    UnknownIssuer {
        issuer: String,
    },
    /// The site's certificate signed itself.
    SelfSigned {
        subject: String,
    },
    /// The server sent its certificate alone; `issuer` is not a CA of the file.
    IncompleteChain {
        issuer: String,
    },
    /// The site's certificate says CA:TRUE (what `openssl req -x509` makes).
    CaUsedAsEndEntity {
        names: Vec<Name>,
        self_signed: bool,
    },
    Expired {
        whose: String,
        not_after: OffsetDateTime,
        now: OffsetDateTime,
    },
    NotYetValid {
        whose: String,
        not_before: OffsetDateTime,
        now: OffsetDateTime,
    },
    NameMismatch {
        asked: String,
        holds: Vec<Name>,
    },
    NameConstraint {
        ca: String,
        permitted: Vec<Name>,
        holds: Vec<Name>,
    },
    /// No serverAuth in the extended key usage; `holds` is what it has.
    WrongUsage {
        holds: Vec<String>,
    },
    BadSignature {
        issuer: String,
    },
    UnsupportedSignature {
        algorithm: String,
    },
    Revoked {
        subject: String,
    },
    /// Every check passed, but the site's public key is not the pinned one. `presented` is
    /// `None` when its key could not be read.
    PinMismatch {
        pinned: String,
        presented: Option<String>,
        issuer: String,
    },
    BadEncoding,
    /// Any other refusal; `why` says it in words when webpki's error is one we know.
    Other {
        why: Option<&'static str>,
    },
}

/// What the classifier may look at besides the error.
pub struct Presented<'a> {
    /// As the server sent it, its own certificate first; empty when unknown.
    pub chain: &'a [CertificateDer<'static>],
    /// The name the client asked for.
    pub name: &'a str,
    pub cas: &'a TrustedCas,
}

/// Who reads the words, which decides the next step offered.
pub enum Audience<'a> {
    /// demo_client: the CA file it trusts, and the URL it fetched with a name the certificate
    /// holds, when there is one.
    Client {
        ca_file: &'a str,
        by_a_name_it_holds: Option<String>,
    },
    /// `demo_pki verify` and demo_server's start-up check.
    Pki { ca_file: &'a str },
}

/// A failure in words: each renderer puts these together its own way.
pub struct Words {
    /// What failed, with the values.
    pub what: String,
    /// What it would mean on a real site: what an attacker would gain had the client gone on.
    pub meaning: String,
    /// What to do next.
    pub next: String,
}

impl Words {
    /// The three in one paragraph.
    pub fn paragraph(&self) -> String {
        format!("{} {} {}", self.what, self.meaning, self.next)
    }
}

impl CertFailure {
    /// Reads rustls's verdict. `None` when `err` is not about the certificate (an alert, a
    /// protocol error): those are the connection's failures, not the certificate's.
    #[allow(deprecated)]
    pub fn classify(err: &rustls::Error, p: &Presented<'_>) -> Option<CertFailure> {
        let rustls::Error::InvalidCertificate(cert) = err else {
            return None;
        };
        let certs: Vec<CertSummary> = p
            .chain
            .iter()
            .filter_map(|der| CertSummary::from_der(der).ok())
            .collect();
        let leaf = certs.first();
        let leaf_names = || leaf.map(|c| c.names.clone()).unwrap_or_default();
        let top_issuer = || {
            certs
                .last()
                .map(|c| c.issuer_name.clone())
                // The chain is unknown (the server did not show it again): the words say less.
                .unwrap_or_default()
        };
        Some(match cert {
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                let now = match cert {
                    CertificateError::ExpiredContext { time, .. } => at(*time),
                    _ => crate::pki::validity::now(),
                };
                let (whose, c) = first_outside(&certs, |c| now > c.not_after);
                CertFailure::Expired {
                    whose,
                    not_after: match (cert, c) {
                        (CertificateError::ExpiredContext { not_after, .. }, _) => at(*not_after),
                        (_, Some(c)) => c.not_after,
                        _ => now,
                    },
                    now,
                }
            }
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                let now = match cert {
                    CertificateError::NotValidYetContext { time, .. } => at(*time),
                    _ => crate::pki::validity::now(),
                };
                let (whose, c) = first_outside(&certs, |c| now < c.not_before);
                CertFailure::NotYetValid {
                    whose,
                    not_before: match (cert, c) {
                        (CertificateError::NotValidYetContext { not_before, .. }, _) => {
                            at(*not_before)
                        }
                        (_, Some(c)) => c.not_before,
                        _ => now,
                    },
                    now,
                }
            }
            CertificateError::UnknownIssuer => match (p.chain.first(), leaf) {
                (Some(der), Some(leaf)) if leaf.self_signed && signs_itself(der) => {
                    CertFailure::SelfSigned {
                        subject: first(&leaf.names),
                    }
                }
                (Some(_), Some(leaf))
                    if p.chain.len() == 1
                        && p.cas.issuer_of(leaf).is_none()
                        && p.cas
                            .summaries
                            .iter()
                            .any(|ca| ca.is_ca && ca.path_len != Some(0)) =>
                {
                    CertFailure::IncompleteChain {
                        issuer: leaf.issuer_name.clone(),
                    }
                }
                _ => CertFailure::UnknownIssuer {
                    issuer: top_issuer(),
                },
            },
            CertificateError::BadSignature => CertFailure::BadSignature {
                issuer: top_issuer(),
            },
            CertificateError::UnsupportedSignatureAlgorithm
            | CertificateError::UnsupportedSignatureAlgorithmContext { .. }
            | CertificateError::UnsupportedSignatureAlgorithmForPublicKeyContext { .. } => {
                CertFailure::UnsupportedSignature {
                    algorithm: certs
                        .iter()
                        .map(|c| c.signature.clone())
                        .collect::<Vec<_>>()
                        .join(", "),
                }
            }
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
                CertFailure::NameMismatch {
                    asked: p.name.to_string(),
                    // A name only in the common name is no name to a client (webpki, browsers).
                    holds: match leaf {
                        Some(c) if !c.has_sans => Vec::new(),
                        _ => leaf_names(),
                    },
                }
            }
            CertificateError::InvalidPurpose | CertificateError::InvalidPurposeContext { .. } => {
                CertFailure::WrongUsage {
                    holds: match cert {
                        CertificateError::InvalidPurposeContext { presented, .. } => presented
                            .iter()
                            .map(|p| match p {
                                ExtendedKeyPurpose::ServerAuth => "serverAuth".to_string(),
                                ExtendedKeyPurpose::ClientAuth => "clientAuth".to_string(),
                                ExtendedKeyPurpose::Other(oid) => oid
                                    .iter()
                                    .map(|n| n.to_string())
                                    .collect::<Vec<_>>()
                                    .join("."),
                            })
                            .collect(),
                        _ => leaf
                            .map(|c| c.extended_key_usage.clone())
                            .unwrap_or_default(),
                    },
                }
            }
            CertificateError::Revoked => CertFailure::Revoked {
                subject: first(&leaf_names()),
            },
            CertificateError::BadEncoding => CertFailure::BadEncoding,
            CertificateError::Other(other) => {
                let inner: &(dyn StdError + 'static) = &*other.0;
                if let Some(pin) = inner.downcast_ref::<PinMismatch>() {
                    return Some(CertFailure::PinMismatch {
                        pinned: pin.pinned.to_string(),
                        presented: pin.presented.as_ref().map(ToString::to_string),
                        issuer: top_issuer(),
                    });
                }
                match inner.downcast_ref::<webpki::Error>() {
                    Some(webpki::Error::CaUsedAsEndEntity) => CertFailure::CaUsedAsEndEntity {
                        names: leaf_names(),
                        self_signed: matches!((p.chain.first(), leaf),
                            (Some(der), Some(l)) if l.self_signed && signs_itself(der)),
                    },
                    Some(webpki::Error::NameConstraintViolation) => {
                        // The CA that set the constraint: an intermediate sent, or the root.
                        let constraining = certs
                            .iter()
                            .skip(1)
                            .chain(certs.last().and_then(|top| p.cas.issuer_of(top)))
                            .find(|c| !c.permitted.is_empty());
                        CertFailure::NameConstraint {
                            ca: constraining.map(ca_name).unwrap_or_else(|| p.cas.names()),
                            permitted: constraining
                                .map(|c| c.permitted.clone())
                                .unwrap_or_default(),
                            holds: leaf_names(),
                        }
                    }
                    Some(e) => CertFailure::Other { why: webpki_why(e) },
                    None => CertFailure::Other { why: None },
                }
            }
            _ => CertFailure::Other { why: None },
        })
    }

    pub fn kind(&self) -> FailureKind {
        match self {
            CertFailure::UnknownIssuer { .. } => FailureKind::UnknownIssuer,
            CertFailure::SelfSigned { .. } => FailureKind::SelfSigned,
            CertFailure::IncompleteChain { .. } => FailureKind::IncompleteChain,
            CertFailure::CaUsedAsEndEntity { .. } => FailureKind::CaUsedAsEndEntity,
            CertFailure::Expired { .. } => FailureKind::Expired,
            CertFailure::NotYetValid { .. } => FailureKind::NotYetValid,
            CertFailure::NameMismatch { .. } => FailureKind::NameMismatch,
            CertFailure::NameConstraint { .. } => FailureKind::NameConstraint,
            CertFailure::WrongUsage { .. } => FailureKind::WrongUsage,
            CertFailure::BadSignature { .. } => FailureKind::BadSignature,
            CertFailure::UnsupportedSignature { .. } => FailureKind::UnsupportedSignature,
            CertFailure::Revoked { .. } => FailureKind::Revoked,
            CertFailure::PinMismatch { .. } => FailureKind::PinMismatch,
            CertFailure::BadEncoding => FailureKind::BadEncoding,
            CertFailure::Other { .. } => FailureKind::Other,
        }
    }

    pub fn code(&self) -> &'static str {
        self.kind().code()
    }

    pub fn title(&self) -> &'static str {
        self.kind().title()
    }

    /// The words, for `cert` (how the certificate is called: "the server's certificate", or
    /// its file) and `cas` (the CAs trusted).
    pub fn words(&self, cert: &str, cas: &TrustedCas, audience: &Audience<'_>) -> Words {
        let ca_file = match audience {
            Audience::Client { ca_file, .. } | Audience::Pki { ca_file } => *ca_file,
        };
        let trusted = cas.names();
        let pki = matches!(audience, Audience::Pki { .. });
        let regenerate = if pki {
            format!(
                "Make a fresh certificate with demo_pki (for the demo's set: `{}`).",
                layout::REGENERATE
            )
        } else {
            format!(
                "If this is the demo's server, make a fresh set with `{}` and restart the server.",
                layout::REGENERATE
            )
        };
        let ca_signed = |name: &str| {
            format!(
                "To make a CA-signed certificate with demo_pki: `demo_pki ca` (your CA), `demo_pki csr --name \
                 {name}` (the site's key and request), `demo_pki sign` (the CA signs it); give the server \
                 site_public_key.pem and its key, and {} ca_public_key.pem.",
                if pki {
                    "verify with --ca-file"
                } else {
                    "the client --ca-file"
                }
            )
        };
        let (what, meaning, next) = match self {
            CertFailure::UnknownIssuer { issuer } => (
                if issuer.is_empty() {
                    format!("{cert} was not issued by a CA you trust ({ca_file} holds only {trusted}).")
                } else {
                    format!(
                        "{cert} was issued by {issuer}, which is not a CA you trust ({ca_file} holds only {trusted})."
                    )
                },
                "Anyone can make a certificate for any name; only a CA you trust makes it proof. This is what a \
                 man-in-the-middle looks like: had the client gone on, whoever holds this certificate's key would \
                 read and change everything sent, the secret included."
                    .to_string(),
                if pki {
                    format!("Verify it against the CA that issued it (--ca-file), or sign it with {trusted}.")
                } else {
                    "If you expected this server, trust the CA that did issue its certificate: pass that CA's \
                     certificate with --ca-file."
                        .to_string()
                },
            ),
            CertFailure::SelfSigned { subject } => (
                format!(
                    "{cert} for {subject} is self-signed: it names itself as its issuer and vouches for itself, \
                     and no CA you trust ({ca_file}) signed it."
                ),
                "Anyone can make one for any name in one command (`openssl req -x509 ...`), so it proves \
                 nothing: had the client gone on, a man-in-the-middle's self-signed certificate would have \
                 been believed just the same."
                    .to_string(),
                ca_signed(subject),
            ),
            CertFailure::IncompleteChain { issuer } => (
                format!(
                    "{cert} came alone, issued by {issuer}, which is not a CA in {ca_file}. If {issuer} is an \
                     intermediate CA of {trusted}, the server did not send it, and the chain is incomplete."
                ),
                "A client cannot tell a missing link from a stranger's CA: going on would trust an issuer that \
                 nothing you trust vouched for."
                    .to_string(),
                "Have the server send its chain: its certificate, then the intermediate CA's certificate, in one \
                 PEM file (the site's first). If the issuer is not an intermediate of a CA you trust, trust its CA \
                 instead."
                    .to_string(),
            ),
            CertFailure::CaUsedAsEndEntity { names, self_signed } => (
                format!(
                    "{cert} for {} says it is a CA (basicConstraints CA:TRUE){}: a CA's certificate signs other \
                     certificates and may not be a site's own.",
                    join_or(names, "no name"),
                    if *self_signed {
                        ", and it signed itself, so it also vouches for itself"
                    } else {
                        ""
                    }
                ),
                "This is what `openssl req -x509` makes by default, and anyone can make one for any name: \
                 believing it would prove nothing about who the server is, and a site's key that is a CA's key \
                 could sign certificates for any other site."
                    .to_string(),
                ca_signed(&names.first().map_or_else(|| "localhost".into(), Name::to_string)),
            ),
            CertFailure::Expired {
                whose,
                not_after,
                now,
            } => (
                format!(
                    "{} expired on {} (it is now {}).",
                    whose_or(whose, cert),
                    show_time(*not_after),
                    show_time(*now)
                ),
                "An expired certificate no longer proves who the server is: its CA no longer answers for it, \
                 and its key may have leaked since; had the client gone on, whoever holds that key could \
                 pose as the site."
                    .to_string(),
                regenerate.clone(),
            ),
            CertFailure::NotYetValid {
                whose,
                not_before,
                now,
            } => (
                format!(
                    "{} is not valid until {} (it is now {}).",
                    whose_or(whose, cert),
                    show_time(*not_before),
                    show_time(*now)
                ),
                "A certificate proves nothing before its start date; a clock set wrong makes every certificate \
                 look like this."
                    .to_string(),
                format!(
                    "Check this computer's clock; if it is right, the certificate was made with a start date in \
                     the future. {regenerate}"
                ),
            ),
            CertFailure::NameMismatch { asked, holds } => (
                format!(
                    "{cert} is for {}, but {asked} was asked for.",
                    join_or(
                        holds,
                        "no name at all (it has no subjectAltName, and a name only in its common name \
                         is not read since 2017)"
                    )
                ),
                "A certificate proves only the names it holds: this could be another site's certificate, or a \
                 man-in-the-middle's, and going on would send the secret to whoever holds it."
                    .to_string(),
                match audience {
                    Audience::Client {
                        by_a_name_it_holds: Some(url),
                        ..
                    } => format!(
                        "If you expected this server, connect by a name it holds ({url}), or give the server a \
                         certificate for {asked}."
                    ),
                    _ => format!(
                        "Give the server a certificate for {asked} (demo_pki csr --name {asked}, then demo_pki \
                         sign), or ask for a name it holds."
                    ),
                },
            ),
            CertFailure::NameConstraint {
                ca,
                permitted,
                holds,
            } => (
                format!(
                    "{ca} may vouch only for {}, and {cert} names {}.",
                    join_or(permitted, "the names it permits"),
                    join_or(holds, "other names")
                ),
                "A name constraint limits the harm a CA can do, even if its key leaked: a certificate outside \
                 it is what a misused CA key makes, and believing it would let that CA impersonate any site."
                    .to_string(),
                format!("Ask only for names within {ca}'s constraints, or have a CA that may vouch for them sign it."),
            ),
            CertFailure::WrongUsage { holds } => (
                format!(
                    "{cert}'s extended key usage is {}: it lacks serverAuth, so it is not meant for a TLS server.",
                    join_or(holds, "empty")
                ),
                "A key certified for another purpose (signing code, e-mail, a client's identity) must not \
                 prove a server: going on would let whoever holds such a key pose as a site."
                    .to_string(),
                format!(
                    "Sign the site's certificate with serverAuth (demo_pki sign does). {}",
                    if pki { "" } else { &regenerate }
                )
                .trim_end()
                .to_string(),
            ),
            CertFailure::BadSignature { issuer } => (
                format!(
                    "{cert} names {} as its issuer, but the signature on it does not verify with the key of \
                     that CA in {ca_file}: another key signed it under the same name.",
                    if issuer.is_empty() {
                        "a CA you trust"
                    } else {
                        issuer
                    }
                ),
                "This is what a forged certificate looks like; going on would trust whoever made it."
                    .to_string(),
                if pki {
                    "It is also what you see when `demo_pki demo` made a new CA and this certificate comes from \
                     the old set: verify it against the CA file of its own set, or sign it again."
                        .to_string()
                } else {
                    "It is also what you see when `demo_pki demo` made a new CA and the server or the client still \
                     has the old set: restart the server, and pass the CA file of the set it uses with --ca-file."
                        .to_string()
                },
            ),
            CertFailure::UnsupportedSignature { algorithm } => (
                format!(
                    "a signature in the chain uses an algorithm rustls does not accept ({}).",
                    if algorithm.is_empty() { "unknown" } else { algorithm }
                ),
                "Old algorithms (SHA-1, MD5, RSA keys under 2048 bits) can be forged: a signature nobody can check \
                 proves nothing."
                    .to_string(),
                "Sign with ECDSA P-256, Ed25519 or RSA with SHA-256 (demo_pki's key types).".to_string(),
            ),
            CertFailure::Revoked { subject } => (
                format!("{cert} for {subject} has been revoked by its CA."),
                "A CA revokes a certificate when its key leaked or it was issued wrongly: whoever holds that key \
                 could pose as the site."
                    .to_string(),
                "The site needs a new certificate from its CA.".to_string(),
            ),
            CertFailure::PinMismatch {
                pinned,
                presented,
                issuer,
            } => (
                format!(
                    "{cert} verified against {ca_file}{}, but its public key is {}, and you pinned {pinned}.",
                    if issuer.is_empty() {
                        String::new()
                    } else {
                        format!(" (issued by {issuer})")
                    },
                    presented.as_deref().unwrap_or("unreadable")
                ),
                "A pin names the one key the real server holds: a certificate with another key, even one a \
                 trusted CA signed, is someone else's. This is what a man-in-the-middle whose root is in your \
                 trust store (TLS inspection, malware, a misused CA) looks like: had the client gone on, he \
                 would have read everything sent."
                    .to_string(),
                "If the server really changed its key, get its new pin (demo_pki inspect on its certificate \
                 prints \"Pin:\") from a source you trust, not from this connection."
                    .to_string(),
            ),
            CertFailure::BadEncoding => (
                format!("{cert} is damaged: it is not a well-formed X.509 certificate."),
                "Nothing can be checked in a certificate that cannot be read, so it proves nothing.".to_string(),
                regenerate.clone(),
            ),
            CertFailure::Other { why } => (
                format!(
                    "{cert} was refused{}. It was checked for its dates, its usage, a chain to a CA in {ca_file}, \
                     the signatures, the CA's name constraints and the name.",
                    why.map(|w| format!(": {w}")).unwrap_or_default()
                ),
                "A certificate that fails any check proves nothing about who the server is.".to_string(),
                "Do not trust this server until you know why; `demo_pki inspect` shows what the certificate holds."
                    .to_string(),
            ),
        };
        Words {
            what,
            meaning,
            next,
        }
    }
}

/// webpki's errors that have no rustls variant, in words.
fn webpki_why(e: &webpki::Error) -> Option<&'static str> {
    use webpki::Error::*;
    Some(match e {
        EndEntityUsedAsCa => "a site's certificate (not a CA) signed another certificate",
        PathLenConstraintViolated => "a CA signed more levels of CAs than its path length allows",
        UnsupportedCriticalExtension => "it has a critical extension that rustls does not know",
        MalformedExtensions | ExtensionValueInvalid => "one of its extensions is malformed",
        UnsupportedCertVersion => "it is not an X.509 version 3 certificate",
        InvalidCertValidity => "its end date comes before its start date",
        MaximumPathDepthExceeded | MaximumPathBuildCallsExceeded => "its chain is too long",
        CertDistrusted => "its key is explicitly distrusted",
        _ => return None,
    })
}

/// Whether a certificate's signature verifies with its own public key.
fn signs_itself(der: &CertificateDer<'_>) -> bool {
    X509Certificate::from_der(der)
        .map(|(_, c)| c.verify_signature(None).is_ok())
        .unwrap_or(false)
}

fn at(t: UnixTime) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(t.as_secs() as i64).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// The first certificate outside its dates: how to call it ("" for the site's own), and its
/// summary.
fn first_outside(
    certs: &[CertSummary],
    outside: impl Fn(&CertSummary) -> bool,
) -> (String, Option<&CertSummary>) {
    match certs.iter().enumerate().find(|(_, c)| outside(c)) {
        Some((0, c)) => (String::new(), Some(c)),
        Some((_, c)) => (format!("the intermediate CA {}", ca_name(c)), Some(c)),
        None => (String::new(), None),
    }
}

fn whose_or(whose: &str, cert: &str) -> String {
    if whose.is_empty() {
        cert.to_string()
    } else {
        whose.to_string()
    }
}

fn first(names: &[Name]) -> String {
    names
        .first()
        .map_or_else(|| "no name".into(), Name::to_string)
}

/// Names (or usages) as people write them, "localhost, ::1"; `none` when there are none.
fn join_or<T: std::fmt::Display>(items: &[T], none: &str) -> String {
    let items: Vec<String> = items.iter().map(ToString::to_string).collect();
    if items.iter().all(String::is_empty) {
        none.to_string()
    } else {
        items.join(", ")
    }
}

/// Mutual TLS: why a visitor's certificate, or its absence, was refused. One classification for
/// both sides. The server reads rustls's typed verdict ([`ClientCertFailure::from_server_error`]);
/// the client reads the server's alert together with what it knows
/// ([`ClientCertFailure::from_alert`]): the CAs the server's CertificateRequest named, and its own
/// certificate. Alerts alone are terse (OpenSSL answers a missing certificate in TLS 1.2 with a
/// bare handshake_failure), and the client's own facts say which it was.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClientCertFailure {
    /// The server requires a certificate and none was presented.
    Required {
        accepted: Vec<String>,
    },
    /// Issued by a CA the server does not accept.
    UnknownCa {
        issuer: Option<String>,
        accepted: Vec<String>,
    },
    Expired {
        not_after: Option<OffsetDateTime>,
    },
    NotYetValid {
        not_before: Option<OffsetDateTime>,
    },
    /// Not meant to identify a TLS client: its extended key usage lacks clientAuth.
    WrongUsage {
        usages: Vec<String>,
    },
    /// Refused for another reason, named by the alert or by rustls.
    Other {
        why: String,
    },
}

/// Which client-certificate failure it is, without its facts: a stable code and a title, as
/// [`FailureKind`] has for the server's certificate. Every title starts with "client
/// certificate", so that none reads as a refusal of the server's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ClientCertKind {
    Required,
    UnknownCa,
    Expired,
    NotYetValid,
    WrongUsage,
    Other,
}

impl ClientCertKind {
    pub const ALL: [ClientCertKind; 6] = [
        ClientCertKind::Required,
        ClientCertKind::UnknownCa,
        ClientCertKind::Expired,
        ClientCertKind::NotYetValid,
        ClientCertKind::WrongUsage,
        ClientCertKind::Other,
    ];

    /// The stable name: `client_certificate_required`, ...
    pub fn code(self) -> &'static str {
        match self {
            ClientCertKind::Required => "client_certificate_required",
            ClientCertKind::UnknownCa => "client_certificate_unknown_ca",
            ClientCertKind::Expired => "client_certificate_expired",
            ClientCertKind::NotYetValid => "client_certificate_not_yet_valid",
            ClientCertKind::WrongUsage => "client_certificate_wrong_usage",
            ClientCertKind::Other => "client_certificate_refused",
        }
    }

    /// The failure in a few words; no title contains another.
    pub fn title(self) -> &'static str {
        match self {
            ClientCertKind::Required => "client certificate required",
            ClientCertKind::UnknownCa => "client certificate from a CA the server does not accept",
            ClientCertKind::Expired => "client certificate expired",
            ClientCertKind::NotYetValid => "client certificate not valid yet",
            ClientCertKind::WrongUsage => "client certificate not meant for a TLS client",
            ClientCertKind::Other => "client certificate refused",
        }
    }
}

impl ClientCertFailure {
    pub fn kind(&self) -> ClientCertKind {
        match self {
            ClientCertFailure::Required { .. } => ClientCertKind::Required,
            ClientCertFailure::UnknownCa { .. } => ClientCertKind::UnknownCa,
            ClientCertFailure::Expired { .. } => ClientCertKind::Expired,
            ClientCertFailure::NotYetValid { .. } => ClientCertKind::NotYetValid,
            ClientCertFailure::WrongUsage { .. } => ClientCertKind::WrongUsage,
            ClientCertFailure::Other { .. } => ClientCertKind::Other,
        }
    }

    /// A stable code, for programs and tests.
    pub fn code(&self) -> &'static str {
        self.kind().code()
    }

    /// The failure in a few words, as a refusal's first words.
    pub fn title(&self) -> &'static str {
        self.kind().title()
    }

    /// The client's reading of a refusal, when the server had asked for a certificate
    /// (`asked`, from its CertificateRequest). `ours` is the certificate presented, if any.
    /// `alert` is None when the connection closed without one the client could read: in TLS 1.3
    /// the server judges the client's certificate after the client's handshake is over, and its
    /// alert may be lost behind the request already sent.
    pub fn from_alert(
        alert: Option<&rustls::AlertDescription>,
        asked: Option<&crate::tls::client::CertRequestSeen>,
        ours: Option<&CertSummary>,
        now: OffsetDateTime,
    ) -> Option<ClientCertFailure> {
        use rustls::AlertDescription as A;
        let asked = asked?;
        let accepted = asked.ca_names.clone();
        let Some(ours) = ours.filter(|_| asked.presented) else {
            return matches!(
                alert,
                None | Some(A::CertificateRequired | A::HandshakeFailure)
            )
            .then_some(ClientCertFailure::Required { accepted });
        };
        let expired = || ClientCertFailure::Expired {
            not_after: Some(ours.not_after),
        };
        let early = || ClientCertFailure::NotYetValid {
            not_before: Some(ours.not_before),
        };
        let stranger = !asked.ca_ders.is_empty() && !asked.ca_ders.contains(&ours.issuer_der);
        let unknown = || ClientCertFailure::UnknownCa {
            issuer: Some(ours.issuer_name.clone()),
            accepted: accepted.clone(),
        };
        let usage = || ClientCertFailure::WrongUsage {
            usages: ours.extended_key_usage.clone(),
        };
        Some(match alert {
            Some(A::CertificateExpired) if now < ours.not_before => early(),
            Some(A::CertificateExpired) => expired(),
            Some(A::UnknownCA) => unknown(),
            Some(A::UnsupportedCertificate) => usage(),
            // A terser alert: the client's own facts say which check it was.
            _ if now > ours.not_after => expired(),
            _ if now < ours.not_before => early(),
            _ if !ours.may_identify_client() => usage(),
            _ if stranger => unknown(),
            None => ClientCertFailure::Other {
                why: "it closed the connection after seeing it, without an alert this client could read".into(),
            },
            Some(
                alert @ (A::BadCertificate
                | A::CertificateUnknown
                | A::DecryptError
                | A::AccessDenied
                | A::HandshakeFailure
                | A::CertificateRequired),
            ) => ClientCertFailure::Other {
                why: format!(
                    "it answered with the alert {}",
                    crate::client::diagnose::alert_name(alert)
                ),
            },
            Some(_) => return None,
        })
    }

    /// The server's reading of its own handshake failure: `Some` when it was about the
    /// visitor's certificate. `accepted` names the CAs of `--client-ca`.
    pub fn from_server_error(e: &rustls::Error, accepted: &[String]) -> Option<ClientCertFailure> {
        let time = |t: &UnixTime| OffsetDateTime::from_unix_timestamp(t.as_secs() as i64).ok();
        Some(match e {
            rustls::Error::NoCertificatesPresented => ClientCertFailure::Required {
                accepted: accepted.to_vec(),
            },
            rustls::Error::InvalidCertificate(c) => match c {
                CertificateError::UnknownIssuer => ClientCertFailure::UnknownCa {
                    issuer: None,
                    accepted: accepted.to_vec(),
                },
                CertificateError::Expired => ClientCertFailure::Expired { not_after: None },
                CertificateError::ExpiredContext { not_after, .. } => ClientCertFailure::Expired {
                    not_after: time(not_after),
                },
                CertificateError::NotValidYet => {
                    ClientCertFailure::NotYetValid { not_before: None }
                }
                CertificateError::NotValidYetContext { not_before, .. } => {
                    ClientCertFailure::NotYetValid {
                        not_before: time(not_before),
                    }
                }
                CertificateError::InvalidPurpose
                | CertificateError::InvalidPurposeContext { .. } => {
                    ClientCertFailure::WrongUsage { usages: Vec::new() }
                }
                other => ClientCertFailure::Other {
                    why: format!("rustls refused it: {other}"),
                },
            },
            _ => return None,
        })
    }

    /// What the client tells its user: what happened and what to do next.
    pub fn client_words(&self, at: &str) -> String {
        let cas = |accepted: &[String]| match accepted {
            [] => "it named no CA".to_string(),
            names => format!("it accepts certificates from: {}", names.join(", ")),
        };
        match self {
            ClientCertFailure::Required { accepted } => format!(
                "the server at {at} asked for a client certificate (mutual TLS: the visitor proves who they are \
                 too) and demo_client presented none, so it refused the connection; {}. Give yours with \
                 --cert FILE --key FILE (demo_pki client-cert --name NAME --ca CA_FILE --ca-key CA_KEY makes one).",
                cas(accepted)
            ),
            ClientCertFailure::UnknownCa { issuer, accepted } => format!(
                "the server at {at} refused your client certificate: it was issued by {}, a CA the server does not \
                 accept; {}. Use a certificate issued by one of those.",
                issuer.as_deref().unwrap_or("a CA"),
                cas(accepted)
            ),
            ClientCertFailure::Expired { not_after } => format!(
                "the server at {at} refused your client certificate: it expired{}. Make a fresh one with \
                 demo_pki client-cert --force.",
                not_after
                    .map(|t| format!(" on {}", show_time(t)))
                    .unwrap_or_default()
            ),
            ClientCertFailure::NotYetValid { not_before } => format!(
                "the server at {at} refused your client certificate: it is not valid yet{}. Check this machine's \
                 clock, or wait.",
                not_before
                    .map(|t| format!(" (it starts on {})", show_time(t)))
                    .unwrap_or_default()
            ),
            ClientCertFailure::WrongUsage { usages } => format!(
                "the server at {at} refused your client certificate: it is not meant to identify a TLS client \
                 (its extended key usage is {}, without clientAuth), so a site's certificate cannot stand in for \
                 a visitor's. Make a client certificate with demo_pki client-cert --name NAME.",
                if usages.is_empty() {
                    "unknown".to_string()
                } else {
                    usages.join(", ")
                }
            ),
            ClientCertFailure::Other { why } => {
                format!("the server at {at} refused your client certificate: {why}.")
            }
        }
    }

    /// What the server logs about the visitor whose handshake it refused.
    pub fn server_words(&self) -> String {
        match self {
            ClientCertFailure::Required { accepted } => format!(
                "client certificate required: the visitor presented none (--client-auth required; accepted CAs: {})",
                accepted.join(", ")
            ),
            ClientCertFailure::UnknownCa { accepted, .. } => format!(
                "client certificate refused: issued by a CA not in --client-ca (accepted: {})",
                accepted.join(", ")
            ),
            ClientCertFailure::Expired { not_after } => format!(
                "client certificate refused: expired{}",
                not_after.map(|t| format!(" on {}", show_time(t))).unwrap_or_default()
            ),
            ClientCertFailure::NotYetValid { not_before } => format!(
                "client certificate refused: not valid yet{}",
                not_before.map(|t| format!(" (starts on {})", show_time(t))).unwrap_or_default()
            ),
            ClientCertFailure::WrongUsage { .. } => {
                "client certificate refused: not meant for a TLS client (its extended key usage lacks clientAuth)".into()
            }
            ClientCertFailure::Other { why } => format!("client certificate refused: {why}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::sync::Arc;

    use rustls::OtherError;

    use super::*;

    fn demo_cas() -> TrustedCas {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        TrustedCas::load(&root.join(layout::CA_CERT)).unwrap()
    }

    fn classify(e: CertificateError) -> FailureKind {
        let cas = demo_cas();
        let p = Presented {
            chain: &[],
            name: "localhost",
            cas: &cas,
        };
        CertFailure::classify(&rustls::Error::InvalidCertificate(e), &p)
            .unwrap()
            .kind()
    }

    /// webpki's errors arrive boxed in `OtherError`; the downcast works only if our webpki is
    /// rustls's. If the two ever differ, this goes red.
    #[test]
    fn webpki_errors_inside_other_are_read_by_type() {
        let other = |e: webpki::Error| CertificateError::Other(OtherError(Arc::new(e)));
        assert_eq!(
            classify(other(webpki::Error::NameConstraintViolation)),
            FailureKind::NameConstraint
        );
        assert_eq!(
            classify(other(webpki::Error::CaUsedAsEndEntity)),
            FailureKind::CaUsedAsEndEntity
        );
        let cas = demo_cas();
        let p = Presented {
            chain: &[],
            name: "localhost",
            cas: &cas,
        };
        let f = CertFailure::classify(
            &rustls::Error::InvalidCertificate(other(webpki::Error::PathLenConstraintViolated)),
            &p,
        )
        .unwrap();
        assert!(matches!(f, CertFailure::Other { why: Some(_) }));
    }

    /// A pin's refusal comes back from our own verifier inside `Other`, and is read by type.
    #[test]
    fn a_pin_mismatch_is_read_by_type_with_both_pins() {
        use crate::tls::trust::{PinMismatch, SpkiPin};
        let cas = demo_cas();
        let p = Presented {
            chain: &[],
            name: "localhost",
            cas: &cas,
        };
        let err = rustls::Error::InvalidCertificate(CertificateError::Other(OtherError(Arc::new(
            PinMismatch {
                pinned: SpkiPin([1; 32]),
                presented: Some(SpkiPin([2; 32])),
            },
        ))));
        let f = CertFailure::classify(&err, &p).unwrap();
        assert_eq!(f.kind(), FailureKind::PinMismatch);
        let words = f.words(
            "the server's certificate",
            &cas,
            &Audience::Client {
                ca_file: "ca.pem",
                by_a_name_it_holds: None,
            },
        );
        assert!(
            words.what.contains(&SpkiPin([2; 32]).to_string())
                && words
                    .what
                    .contains(&format!("you pinned {}", SpkiPin([1; 32]))),
            "{}",
            words.what
        );
    }

    #[test]
    fn errors_that_are_not_the_certificates_are_not_classified() {
        let cas = demo_cas();
        let p = Presented {
            chain: &[],
            name: "localhost",
            cas: &cas,
        };
        assert!(CertFailure::classify(&rustls::Error::NoCertificatesPresented, &p).is_none());
    }

    /// Renderers and tests find a failure by its title and its code: each must be its own,
    /// among the server certificate's failures and the client certificate's alike (a client
    /// certificate's refusal is worded after its title, as a server certificate's is).
    #[test]
    fn titles_and_codes_are_distinct_and_none_contains_another() {
        // (family, code, title): within a family no title may contain another; across the two,
        // none may begin another ("client certificate expired" holds "certificate expired").
        let all: Vec<(u8, &str, &str)> = FailureKind::ALL
            .iter()
            .map(|k| (0, k.code(), k.title()))
            .chain(ClientCertKind::ALL.iter().map(|k| (1, k.code(), k.title())))
            .collect();
        for (i, (family_a, code_a, title_a)) in all.iter().enumerate() {
            for (family_b, code_b, title_b) in &all[i + 1..] {
                assert_ne!(code_a, code_b);
                let clash = if family_a == family_b {
                    title_a.contains(title_b) || title_b.contains(title_a)
                } else {
                    title_a.starts_with(title_b) || title_b.starts_with(title_a)
                };
                assert!(!clash, "{code_a} / {code_b}");
            }
        }
    }
}
