//! Step 4 in words: the checks the client made on the server's certificate, each with its
//! outcome and the real values. The decision is rustls's (webpki's); this module reads the
//! verdict and says which check it was. webpki checks in this order: each certificate's dates
//! and usage, then finds a trusted CA by the issuer's name, verifies the signatures from that
//! CA down, then the CA's name constraints; rustls then checks the name asked for
//! (`WebPkiServerVerifier::verify_server_cert`), and later the server's handshake signature.
//! So a failed check means every check before it passed, and those after it never ran.

use rustls::SignatureScheme;
use time::OffsetDateTime;

use super::story::{ChainCertificate, Check, Outcome};
use crate::pki::inspect::{CertSummary, join, show_time, strict_warning};
use crate::tls::failure::{self, Audience, CertFailure, Presented};
use crate::tls::trust::{TrustedCas, ca_name};
use crate::tls::witness::Seen;
use crate::wire::iana::Iana;

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Dates,
    Usage,
    Chain,
    Signatures,
    NameConstraints,
    Name,
    KeyPossession,
}

const ORDER: [Kind; 7] = [
    Kind::Dates,
    Kind::Usage,
    Kind::Chain,
    Kind::Signatures,
    Kind::NameConstraints,
    Kind::Name,
    Kind::KeyPossession,
];

/// The check of step 4 a classified failure belongs to; `None` when the certificates could not
/// even be read, so that no check ran.
fn kind_of(check: failure::Check) -> Option<Kind> {
    Some(match check {
        // `--explain` takes no pin: a pin's refusal is shown as the verification's.
        failure::Check::Encoding | failure::Check::Pin => return None,
        failure::Check::Dates => Kind::Dates,
        failure::Check::Usage => Kind::Usage,
        failure::Check::Chain => Kind::Chain,
        failure::Check::Signatures => Kind::Signatures,
        failure::Check::NameConstraints => Kind::NameConstraints,
        failure::Check::Name => Kind::Name,
    })
}

/// What step 4 shows, from what the verifier saw.
pub struct Verdict {
    pub outcome: Outcome,
    pub chain: Vec<ChainCertificate>,
    pub checks: Vec<Check>,
    pub trusted_ca: Option<String>,
    /// The classified failure of the certificate, when it was refused.
    pub failure: Option<CertFailure>,
    /// When it verified: what strict clients would still refuse in the chain.
    pub strict_warning: Option<String>,
}

pub fn verdict(seen: &Seen, cas: &TrustedCas, now: OffsetDateTime, tls12: bool) -> Verdict {
    let summaries: Vec<CertSummary> = seen
        .chain
        .iter()
        .filter_map(|der| CertSummary::from_der(der).ok())
        .collect();
    let chain = summaries
        .iter()
        .map(|c| ChainCertificate {
            sentence: c.sentence(),
            subject: c.subject.clone(),
            issuer: c.issuer.clone(),
            signature: c.signature.clone(),
            sha256: c.sha256.clone(),
        })
        .collect();
    let ca = summaries.last().and_then(|top| cas.issuer_of(top));
    let facts = Facts {
        certs: &summaries,
        ca,
        cas,
        name: seen.name.clone().unwrap_or_default(),
        now,
        signature: seen.handshake_signature.as_ref().map(|(s, _)| *s),
        tls12,
    };
    // Which check failed, if one did: the classification's, or the server's signature. A
    // failure that belongs to no check (the certificates could not be read) is shown first.
    let failure = match &seen.verdict {
        Some(Err(e)) => Some(
            CertFailure::classify(
                e,
                &Presented {
                    chain: &seen.chain,
                    name: &facts.name,
                    cas,
                },
            )
            .unwrap_or(CertFailure::Other { why: None }),
        ),
        _ => None,
    };
    let failure_words = failure.as_ref().map(|f| {
        let ca_file = cas.file.display().to_string();
        let words = f.words(
            "the server's certificate",
            cas,
            &Audience::Client {
                ca_file: &ca_file,
                by_a_name_it_holds: None,
            },
        );
        format!(
            "{}: {} {}{}",
            f.title(),
            words.what,
            words.meaning,
            side_by_side(f, &summaries, cas, seen.name.as_deref().unwrap_or_default())
        )
    });
    let (failed, other) = match (&failure, &seen.verdict, &seen.handshake_signature) {
        (Some(f), _, _) => match kind_of(f.kind().check()) {
            Some(kind) => (Some(kind), None),
            None => (None, failure_words.clone()),
        },
        (None, Some(Ok(())), Some((_, Err(_)))) => (Some(Kind::KeyPossession), None),
        (None, Some(_), _) => (None, None),
        (None, None, _) => (None, Some("the server sent no certificate".to_string())),
    };
    // The handshake may stop between the certificate and the server's signature.
    let signed = seen.handshake_signature.is_some();
    let reached = |kind: Kind| match (failed, &other) {
        (_, Some(_)) => Outcome::NotChecked,
        (Some(f), None) if kind == f => Outcome::Failed,
        (Some(f), None) if kind > f => Outcome::NotChecked,
        _ if kind == Kind::KeyPossession && !signed => Outcome::NotChecked,
        _ => Outcome::Passed,
    };
    let mut checks: Vec<Check> = ORDER
        .iter()
        .map(|&kind| {
            let outcome = reached(kind);
            Check {
                check: facts.id(kind),
                outcome,
                detail: match outcome {
                    Outcome::NotChecked => "not checked: the handshake stopped before it".into(),
                    Outcome::Passed => facts.passed(kind),
                    Outcome::Failed if kind == Kind::KeyPossession => facts.key_not_held(),
                    Outcome::Failed => failure_words.clone().unwrap_or_default(),
                },
            }
        })
        .collect();
    if let Some(text) = other {
        checks.insert(
            0,
            Check {
                check: "verification",
                outcome: Outcome::Failed,
                detail: text,
            },
        );
    }
    let outcome = if checks.iter().all(|c| c.outcome == Outcome::Passed) {
        Outcome::Passed
    } else {
        Outcome::Failed
    };
    Verdict {
        outcome,
        chain,
        checks,
        trusted_ca: ca.map(ca_name),
        strict_warning: match (&outcome, &failure) {
            (Outcome::Passed, None) => {
                let mut certs: Vec<&CertSummary> = summaries.iter().collect();
                certs.extend(ca);
                strict_warning("this server's chain", &certs)
            }
            _ => None,
        },
        failure,
    }
}

/// The values the sentences are made of.
struct Facts<'a> {
    certs: &'a [CertSummary],
    ca: Option<&'a CertSummary>,
    cas: &'a TrustedCas,
    name: String,
    now: OffsetDateTime,
    signature: Option<SignatureScheme>,
    tls12: bool,
}

impl Facts<'_> {
    fn id(&self, kind: Kind) -> &'static str {
        match kind {
            Kind::Dates => "dates",
            Kind::Usage => "usage",
            Kind::Chain => "chain",
            Kind::Signatures => "signatures",
            Kind::NameConstraints => "name_constraints",
            Kind::Name => "name",
            Kind::KeyPossession => "key_possession",
        }
    }

    fn ca_file(&self) -> String {
        self.cas.file.display().to_string()
    }

    fn ca(&self) -> String {
        self.ca.map(ca_name).unwrap_or_else(|| self.cas.names())
    }

    /// The site's names, plain: "localhost, 127.0.0.1, ::1".
    fn site_names(&self) -> String {
        self.certs
            .first()
            .map(|c| join(&c.names))
            .unwrap_or_default()
    }

    fn who(&self, i: usize) -> String {
        match self.certs.get(i) {
            Some(c) if i == 0 => format!("{}'s certificate", first_name(c)),
            Some(c) => format!("the intermediate CA {}", ca_name(c)),
            None => "the certificate".into(),
        }
    }

    fn dates(&self, c: &CertSummary) -> String {
        format!("{} to {}", show_time(c.not_before), show_time(c.not_after))
    }

    fn passed(&self, kind: Kind) -> String {
        match kind {
            Kind::Dates => format!(
                "It is {}, within the dates of every certificate sent ({}).",
                show_time(self.now),
                self.certs
                    .iter()
                    .enumerate()
                    .map(|(i, c)| format!("{}: {}", self.who(i), self.dates(c)))
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
            Kind::Usage => match self.certs.first() {
                Some(leaf) if leaf.extended_key_usage.is_empty() => {
                    "The certificate may serve a TLS server: no extended key usage limits it."
                        .into()
                }
                Some(leaf) => format!(
                    "The certificate is meant for a TLS server (extended key usage: {}).",
                    leaf.extended_key_usage.join(", ")
                ),
                None => String::new(),
            },
            Kind::Chain => {
                let mut path: Vec<String> = self
                    .certs
                    .iter()
                    .enumerate()
                    .map(|(i, c)| {
                        if i == 0 {
                            first_name(c).to_string()
                        } else {
                            ca_name(c)
                        }
                    })
                    .collect();
                path.push(self.ca());
                format!(
                    "The chain leads to {}, a CA in {}: {}.",
                    self.ca(),
                    self.ca_file(),
                    path.join(" <- ")
                )
            }
            Kind::Signatures => self
                .certs
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    let by = if i + 1 == self.certs.len() {
                        format!("the public key of {}, from {}", self.ca(), self.ca_file())
                    } else {
                        format!("the public key of {}", ca_name(&self.certs[i + 1]))
                    };
                    format!(
                        "The signature on {} ({}) verifies with {by}.",
                        self.who(i),
                        c.signature
                    )
                })
                .collect::<Vec<_>>()
                .join(" "),
            Kind::NameConstraints => {
                let limits: Vec<String> = self
                    .certs
                    .iter()
                    .skip(1)
                    .chain(self.ca)
                    .filter(|c| !c.permitted.is_empty())
                    .map(|c| format!("{} may vouch only for {}", ca_name(c), join(&c.permitted)))
                    .collect();
                if limits.is_empty() {
                    format!(
                        "{} sets no name constraints: it may vouch for any name.",
                        self.ca()
                    )
                } else {
                    format!(
                        "{}; the certificate's names ({}) are all within that.",
                        limits.join("; "),
                        self.site_names()
                    )
                }
            }
            Kind::Name => format!(
                "You asked for {}; the certificate holds {}.",
                self.name,
                self.site_names()
            ),
            Kind::KeyPossession => format!(
                "The server signed the handshake ({}) with the private key of its certificate ({}), \
                 and the signature verifies: it holds the key, not just a copy of the certificate.",
                if self.tls12 {
                    "its ServerKeyExchange"
                } else {
                    "CertificateVerify"
                },
                self.signature.map(Iana::iana_name).unwrap_or_default()
            ),
        }
    }

    fn key_not_held(&self) -> String {
        match self.signature {
            Some(s) => format!(
                "The server's handshake signature ({}) does not verify with its certificate's public key: \
                 it does not hold the certificate's private key.",
                s.iana_name()
            ),
            None => String::new(),
        }
    }
}

/// For a certificate no CA you trust vouches for (what an interceptor presents): what it says
/// next to what the real one, from a CA you trust, would have said.
fn side_by_side(f: &CertFailure, certs: &[CertSummary], cas: &TrustedCas, name: &str) -> String {
    let forgery = matches!(
        f,
        CertFailure::UnknownIssuer { .. }
            | CertFailure::SelfSigned { .. }
            | CertFailure::BadSignature { .. }
    );
    match certs.first() {
        Some(presented) if forgery => format!(
            " Side by side: the certificate presented says \"{}\"; the real one for {name} would have said \
             \"I am {name} according to {}\".",
            presented.sentence().trim_end_matches('.'),
            cas.names()
        ),
        _ => String::new(),
    }
}

fn first_name(c: &CertSummary) -> String {
    c.names
        .first()
        .map(ToString::to_string)
        .unwrap_or_else(|| "the server".into())
}
