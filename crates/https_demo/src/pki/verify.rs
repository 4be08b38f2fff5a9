//! Step 5: what a client does with a certificate. The chain must lead to a CA it trusts, every
//! signature must verify, the dates must hold now, the name asked for must be among the
//! certificate's names, and the CA's name constraints must allow it. rustls (webpki) does all
//! of it; this module only words the outcome.

use std::sync::Arc;

use anyhow::{Result, anyhow};
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::ServerCertVerifier;
use rustls::{CertificateError, Error as TlsError};
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};

use super::inspect::CertSummary;

/// Verifies `chain` (leaf first) for `name` against the CA certificates in `roots`, as
/// demo_client and every browser would.
pub fn verify_chain(
    chain: &[CertificateDer<'static>],
    roots: &[CertificateDer<'static>],
    name: &str,
) -> Result<(), TlsError> {
    let mut store = rustls::RootCertStore::empty();
    for root in roots {
        store.add(root.clone())?;
    }
    let verifier =
        WebPkiServerVerifier::builder_with_provider(Arc::new(store), crate::tls::provider())
            .build()
            .map_err(|e| TlsError::General(e.to_string()))?;
    let server_name = ServerName::try_from(name.to_string())
        .map_err(|_| TlsError::General(format!("{name:?} is not a DNS name or IP address")))?;
    let (leaf, intermediates) = chain
        .split_first()
        .ok_or(TlsError::NoCertificatesPresented)?;
    verifier
        .verify_server_cert(leaf, intermediates, &server_name, &[], UnixTime::now())
        .map(|_| ())
}

/// The verdict in words, for a person: what failed and what to do.
pub fn explain(err: &TlsError, leaf: &CertSummary, name: &str, ca_shown: &str) -> String {
    match err {
        TlsError::InvalidCertificate(e) => match e {
            CertificateError::UnknownIssuer => format!(
                "the certificate was not issued by the CA in {ca_shown}: nothing vouches for it. \
                 It says \"{}\"",
                leaf.sentence()
            ),
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => format!(
                "the certificate expired on {}",
                super::inspect::show_time(leaf.not_after)
            ),
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => format!(
                "the certificate is not valid until {}",
                super::inspect::show_time(leaf.not_before)
            ),
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
                format!(
                    "the certificate is not for {name}: it holds only {}",
                    leaf.names.join(", ")
                )
            }
            CertificateError::BadSignature => {
                "a signature in the chain does not verify: the certificate was altered or forged"
                    .into()
            }
            CertificateError::Other(o) if o.to_string().contains("NameConstraint") => format!(
                "the CA's name constraints do not allow {name}: the CA may not vouch for that name"
            ),
            other => format!("the certificate was refused: {other:?}"),
        },
        other => format!("verification failed: {other}"),
    }
}

/// Reads a leaf (with any intermediates) and CA file and verifies one against the other.
pub fn verify_files(
    cert_pem: &str,
    cert_shown: &str,
    ca_pem: &str,
    ca_shown: &str,
    name: &str,
) -> Result<CertSummary> {
    let chain = super::certificates_from_pem(cert_pem, cert_shown)?;
    let roots = super::certificates_from_pem(ca_pem, ca_shown)?;
    let leaf = CertSummary::from_der(&chain[0]).map_err(|e| anyhow!("{cert_shown}: {e}"))?;
    verify_chain(&chain, &roots, name).map_err(|e| {
        anyhow!(
            "{cert_shown} does not verify for {name}: {}",
            explain(&e, &leaf, name, ca_shown)
        )
    })?;
    Ok(leaf)
}
