//! THE trust core: the one place where a CA file becomes the judge of a server's certificate.
//! demo_client, `demo_client --explain` (which wraps the judge in a witness, see
//! [`super::witness`]), `demo_pki verify`, demo_server's start-up check and the tests all get
//! their verifier from [`verifier`], and their verdict from [`verify_chain`] or from rustls
//! during a handshake; what a refusal means is classified once, in [`super::failure`].
//!
//! How we know system roots are not consulted: the verifier is rustls's `WebPkiServerVerifier`,
//! whose roots start from `RootCertStore::empty()` and get only the file's certificates, and
//! reqwest is handed a `ClientConfig` built on it with `tls_backend_preconfigured` (see
//! [`super::client`]). The test `system_roots_are_not_trusted` in `crates/demo/tests/client.rs`
//! checks it end to end.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Result, anyhow, bail};
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::ServerCertVerifier;
use rustls_pki_types::pem::{PemObject, SectionKind};
use rustls_pki_types::{CertificateDer, CertificateRevocationListDer, ServerName, UnixTime};

use super::failure::{CertFailure, Presented};
use crate::layout;
use crate::pki::inspect::CertSummary;

/// The certificates of the CAs the client believes, and the file they came from.
#[derive(Clone, Debug)]
pub struct TrustedCas {
    pub file: PathBuf,
    pub certs: Vec<CertificateDer<'static>>,
    pub summaries: Vec<CertSummary>,
    /// Revocation lists to check the site's certificate against (`demo_client --crl`); none by
    /// default, as a browser checks none for a private CA.
    pub crls: Vec<CertificateRevocationListDer<'static>>,
}

impl TrustedCas {
    /// Reads every certificate of a PEM file. Errors name the file and the next step.
    pub fn load(file: &Path) -> Result<Self> {
        let shown = file.display();
        if matches!(file.try_exists(), Ok(false)) {
            let cwd = match std::env::current_dir() {
                Ok(dir) if file.is_relative() => format!(" (looked in {})", dir.display()),
                _ => String::new(),
            };
            bail!(
                "the CA file {shown} does not exist{cwd}. Run demo_client from the repository root, \
                 pass the CA certificate with --ca-file, or make the demo set: {}",
                layout::REGENERATE
            );
        }
        let text = crate::files::read_bounded(file, crate::files::CA_FILE_LIMIT, "the CA file")?;
        let blocks = <(SectionKind, Vec<u8>)>::pem_slice_iter(&text)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| {
                anyhow!(
                    "the CA file {shown} holds a damaged PEM block ({}). Give the CA's certificate in PEM form with --ca-file.",
                    crate::pki::pem_error_words(&e)
                )
            })?;
        // pki-types skips ENCRYPTED PRIVATE KEY blocks, so look for the marker itself.
        if text.windows(16).any(|w| w == b"PRIVATE KEY-----") {
            bail!(
                "the CA file {shown} holds a private key. A client needs only the CA's certificate \
                 (ca_public_key.pem); keep keys away from clients."
            );
        }
        let mut certs = Vec::new();
        let mut summaries = Vec::new();
        for (kind, der) in blocks {
            if kind != SectionKind::Certificate {
                continue;
            }
            let n = certs.len() + 1;
            let summary = CertSummary::from_der(&der)
                .map_err(|e| anyhow!("the CA file {shown}, certificate {n}: {e}"))?;
            let der = CertificateDer::from(der);
            // The same check reqwest makes when it builds the client, done here so that the
            // error can name the file rather than say "invalid certificate".
            rustls::RootCertStore::empty()
                .add(der.clone())
                .map_err(|e| {
                    anyhow!("the CA file {shown}, certificate {n}, cannot be a trust anchor: {e}")
                })?;
            certs.push(der);
            summaries.push(summary);
        }
        if certs.is_empty() {
            bail!(
                "the CA file {shown} holds no certificate (no -----BEGIN CERTIFICATE----- block). \
                 Give the CA's PEM certificate with --ca-file (the demo's is {}).",
                layout::CA_CERT
            );
        }
        Ok(TrustedCas {
            file: file.to_path_buf(),
            certs,
            summaries,
            crls: Vec::new(),
        })
    }

    /// Adds every CRL of a PEM file (`-----BEGIN X509 CRL-----`): the verifier then refuses a
    /// site certificate listed in one as revoked.
    pub fn with_crl_file(mut self, file: &Path) -> Result<Self> {
        let shown = file.display();
        let text = crate::files::read_bounded(file, crate::files::CA_FILE_LIMIT, "the CRL file")?;
        let crls = CertificateRevocationListDer::pem_slice_iter(&text)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| {
                anyhow!(
                    "the CRL file {shown} holds a damaged PEM block ({}). Give a PEM CRL with --crl.",
                    crate::pki::pem_error_words(&e)
                )
            })?;
        if crls.is_empty() {
            bail!(
                "the CRL file {shown} holds no CRL (no -----BEGIN X509 CRL----- block). Give a PEM \
                 certificate revocation list with --crl (demo_lab writes one: lab_output/crl.pem)."
            );
        }
        self.crls.extend(crls);
        Ok(self)
    }

    /// The CAs' names, for messages: `"HTTPS Demo CA (localhost only)"`.
    pub fn names(&self) -> String {
        self.summaries
            .iter()
            .map(ca_name)
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The trusted CA whose name is the issuer of `cert`, if one is.
    pub fn issuer_of(&self, cert: &CertSummary) -> Option<&CertSummary> {
        self.summaries
            .iter()
            .find(|ca| ca.subject_der == cert.issuer_der)
    }
}

/// A CA's own name: its common name when it has one.
pub fn ca_name(ca: &CertSummary) -> String {
    if ca.self_signed {
        ca.issuer_name.clone()
    } else if !ca.has_sans {
        ca.names[0].to_string()
    } else {
        ca.subject.clone()
    }
}

/// The one judge of a server's certificate: rustls's `WebPkiServerVerifier`, with the
/// certificates of `cas` as its only roots. Nothing else in the workspace builds one.
pub fn verifier(cas: &TrustedCas) -> Result<Arc<WebPkiServerVerifier>> {
    let mut roots = rustls::RootCertStore::empty();
    for der in &cas.certs {
        roots
            .add(der.clone())
            .map_err(|e| anyhow!("the CA file {}: {e}", cas.file.display()))?;
    }
    // With CRLs, only the site's certificate is looked up, and a certificate whose issuer
    // published no CRL is not refused for that: a CRL given is evidence against the certificates
    // it lists, not a demand that every CA publish one.
    WebPkiServerVerifier::builder_with_provider(Arc::new(roots), super::provider())
        .with_crls(cas.crls.iter().cloned())
        .only_check_end_entity_revocation()
        .allow_unknown_revocation_status()
        .build()
        .map_err(|e| match e {
            rustls::client::VerifierBuilderError::InvalidCrl(_) => anyhow!(
                "a CRL given with --crl cannot be read as an X.509 revocation list (damaged or not a CRL). \
                 Give the CRL file the CA published (PEM or DER inside PEM)."
            ),
            e => anyhow!("the CA file {}: {e}", cas.file.display()),
        })
}

/// The name a client asks for, as rustls checks it: a DNS name or an IP address.
pub fn server_name(name: &str) -> Result<ServerName<'static>> {
    ServerName::try_from(name.to_string())
        .map_err(|_| anyhow!("{name} is neither a DNS name nor an IP address"))
}

/// Judges `chain` (the site's certificate first, then any intermediates) for `name` at `now`,
/// offline, exactly as a handshake would: the same verifier, the same call. A refusal comes
/// back classified.
pub fn verify_chain(
    cas: &TrustedCas,
    chain: &[CertificateDer<'static>],
    name: &ServerName<'static>,
    now: UnixTime,
) -> Result<Result<(), CertFailure>> {
    let judge = verifier(cas)?;
    let Some((leaf, intermediates)) = chain.split_first() else {
        bail!("no certificate to verify");
    };
    Ok(judge
        .verify_server_cert(leaf, intermediates, name, &[], now)
        .map(|_| ())
        .map_err(|e| {
            CertFailure::classify(
                &e,
                &Presented {
                    chain,
                    name: &name.to_str(),
                    cas,
                },
            )
            // The verifier refuses only certificates; anything else is still a refusal.
            .unwrap_or(CertFailure::Other { why: None })
        }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_text(text: &str) -> Result<TrustedCas> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ca.pem");
        std::fs::write(&path, text).unwrap();
        TrustedCas::load(&path)
    }

    #[test]
    fn the_bundled_ca_loads_with_its_name() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let cas = TrustedCas::load(&root.join(layout::CA_CERT)).unwrap();
        assert_eq!(cas.certs.len(), 1);
        assert_eq!(cas.names(), "HTTPS Demo CA (localhost only)");
    }

    #[test]
    fn missing_garbage_and_key_files_are_refused_by_name() {
        let err = TrustedCas::load(Path::new("/nonexistent/ca.pem"))
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("the CA file /nonexistent/ca.pem does not exist"),
            "{err}"
        );
        assert!(err.contains(layout::REGENERATE), "{err}");

        let err = load_text("hello\n").unwrap_err().to_string();
        assert!(err.contains("holds no certificate"), "{err}");

        let err = load_text("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("certificate 1"), "{err}");

        let err = load_text("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("holds a private key"), "{err}");
    }
}
