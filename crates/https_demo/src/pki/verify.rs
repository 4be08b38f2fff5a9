//! Step 5, offline: what a client does with a certificate. The chain must lead to a CA it
//! trusts, every signature must verify, the dates must hold now, the name asked for must be
//! among the certificate's names, and the CA's name constraints must allow it. The trust core
//! ([`crate::tls::trust`]) judges, with the very verifier demo_client uses; the refusal is
//! classified once ([`crate::tls::failure`]); this module only words the outcome for a file.

use std::path::Path;

use anyhow::{Result, anyhow};
use rustls_pki_types::UnixTime;

use super::inspect::{CertSummary, strict_warning};
use crate::tls::failure::{Audience, CertFailure};
use crate::tls::trust::{self, TrustedCas};

/// The words of a refusal for a certificate file: its title, then what failed, what it would
/// mean, and what to do.
pub fn refusal(failure: &CertFailure, cert_shown: &str, cas: &TrustedCas) -> String {
    let ca_file = cas.file.display().to_string();
    let words = failure.words(cert_shown, cas, &Audience::Pki { ca_file: &ca_file });
    format!("{}: {}", failure.title(), words.paragraph())
}

/// What `demo_pki verify` found: the site's certificate, and the refusal if there was one.
pub struct Verdict {
    pub leaf: CertSummary,
    /// The CAs it was judged against.
    pub cas: TrustedCas,
    pub refused: Option<CertFailure>,
    /// When it verifies: what strict clients would still refuse in the chain.
    pub strict_warning: Option<String>,
}

/// Reads a leaf (with any intermediates) and a CA file, and judges one against the other for
/// `name`, now.
pub fn verify_files(
    cert_pem: &str,
    cert_shown: &str,
    ca_file: &Path,
    name: &str,
) -> Result<Verdict> {
    let chain = super::certificates_from_pem(cert_pem, cert_shown)?;
    let cas = TrustedCas::load(ca_file)?;
    let leaf = CertSummary::from_der(&chain[0]).map_err(|e| anyhow!("{cert_shown}: {e}"))?;
    let server_name = trust::server_name(name)?;
    let refused = trust::verify_chain(&cas, &chain, &server_name, UnixTime::now())?.err();
    let summaries: Vec<CertSummary> = chain
        .iter()
        .filter_map(|der| CertSummary::from_der(der).ok())
        .collect();
    let mut certs: Vec<&CertSummary> = summaries.iter().collect();
    certs.extend(summaries.last().and_then(|top| cas.issuer_of(top)));
    let strict_warning = strict_warning("this chain", &certs);
    Ok(Verdict {
        leaf,
        cas,
        refused,
        strict_warning,
    })
}
