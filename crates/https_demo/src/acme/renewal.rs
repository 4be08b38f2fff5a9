//! The certificate the listener serves, swapped in place when a renewed one arrives (no
//! restart, no dropped connection), and the loop that renews it before it expires.
//!
//! Pebble's certificates can live minutes; Let's Encrypt's live 90 days (and will live 45).
//! Renewing at two thirds of the lifetime is what Certbot and Let's Encrypt advise: a third
//! of the lifetime is left to retry if the CA is down.

use std::fmt;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use time::OffsetDateTime;

use super::challenge::{ACME_TLS_ALPN, Answers};
use crate::pki::inspect::{CertSummary, show_time};
use crate::pki::validity;

/// The resolver of a server whose certificate comes from ACME: the CA's validator (a
/// ClientHello offering only `acme-tls/1`) gets the challenge certificate; everyone else gets
/// the current site certificate (none before the first is issued: the handshake then fails).
pub struct SiteCert {
    answers: Arc<Answers>,
    current: RwLock<Option<Arc<CertifiedKey>>>,
}

impl SiteCert {
    pub fn new(answers: Arc<Answers>) -> SiteCert {
        SiteCert {
            answers,
            current: RwLock::new(None),
        }
    }

    /// From the next handshake on, serve `key` (connections already open keep theirs).
    pub fn install(&self, key: Arc<CertifiedKey>) {
        if let Ok(mut current) = self.current.write() {
            *current = Some(key);
        }
    }
}

impl fmt::Debug for SiteCert {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SiteCert")
    }
}

impl ResolvesServerCert for SiteCert {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        // RFC 8737 §3: the validator offers acme-tls/1 and nothing else. A browser never does.
        let validator = hello.alpn().is_some_and(|mut offered| {
            let first = offered.next();
            first == Some(ACME_TLS_ALPN) && offered.next().is_none()
        });
        if validator {
            return self.answers.tls_alpn01(hello.server_name()?);
        }
        let current = self.current.read().ok()?.clone();
        if current.is_none() {
            // rustls only says "no server certificate chain resolved": say why, and what to do.
            tracing::warn!(
                "ACME: a visitor asked for {} before the CA issued our certificate, so its handshake \
                 fails. Next: wait for the \"certificate issued\" line, then connect again.",
                hello.server_name().unwrap_or("this server")
            );
        }
        current
    }
}

/// When to renew a certificate: at two thirds of its lifetime.
pub fn renew_at(leaf: &CertSummary) -> OffsetDateTime {
    leaf.not_before + (leaf.not_after - leaf.not_before) * 2 / 3
}

/// How long from now until `at` (zero if past).
pub fn until(at: OffsetDateTime) -> Duration {
    (at - validity::now()).try_into().unwrap_or(Duration::ZERO)
}

/// After a failed renewal: a quarter of what is left of the certificate, between 5 s and an hour.
pub fn retry_after(leaf: &CertSummary) -> Duration {
    (until(leaf.not_after) / 4).clamp(Duration::from_secs(5), Duration::from_secs(3600))
}

/// "Renewal planned at ... (two thirds of its lifetime)".
pub fn plan(leaf: &CertSummary) -> String {
    format!(
        "ACME: renewal planned at {}, two thirds into its lifetime (it expires {}); the renewed \
         certificate will be served without a restart.",
        show_time(renew_at(leaf)),
        show_time(leaf.not_after)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renews_at_two_thirds_of_the_lifetime() {
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["localhost".to_string()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        let mut leaf = CertSummary::from_der(cert.der()).unwrap();
        leaf.not_before = time::macros::datetime!(2026-01-01 0:00 UTC);
        leaf.not_after = time::macros::datetime!(2026-01-01 0:03 UTC);
        assert_eq!(
            renew_at(&leaf),
            time::macros::datetime!(2026-01-01 0:02 UTC)
        );
    }
}
