//! What the client trusts: the CA certificates in one PEM file, and nothing else. This is the one
//! place that decides it; everything else about the client (timeouts, proxies, redirects) is in
//! [`crate::client`].
//!
//! How we know system roots are not consulted: the rustls `ClientConfig` is built here, its
//! verifier a `WebPkiServerVerifier` whose roots start from `RootCertStore::empty()` and get only
//! the file's certificates, and reqwest is handed it with `tls_backend_preconfigured`. In reqwest
//! 0.13.5's source (`src/async_impl/client.rs`, `ClientBuilder::build`) such a config takes the
//! `TlsBackend::BuiltRustls` arm and is used as it is; `rustls_platform_verifier::Verifier`, the
//! only code that loads the system's roots (through rustls-native-certs, which also reads
//! `SSL_CERT_FILE`), is built only in the `TlsBackend::Rustls` arm. The test
//! `system_roots_are_not_trusted` in `crates/demo/tests/client.rs` checks it end to end: it
//! points `SSL_CERT_FILE` at the server's real CA and expects the client to refuse the server all
//! the same. `demo_client --explain` connects with the very same configuration, its verifier
//! wrapped in a witness that returns the verdict unchanged (see [`super::observe`]).

use std::fs::OpenOptions;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Result, anyhow, bail};
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::ServerCertVerifier;
use rustls::{ClientConfig, KeyLog, KeyLogFile, NoKeyLog};
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::{PemObject, SectionKind};

use super::observe::{KeyLogWitness, Witness};
use crate::layout;
use crate::pki::inspect::CertSummary;

/// The certificates of the CAs the client believes, and the file they came from.
#[derive(Clone, Debug)]
pub struct TrustedCas {
    pub file: PathBuf,
    pub certs: Vec<CertificateDer<'static>>,
    pub summaries: Vec<CertSummary>,
}

impl TrustedCas {
    /// Reads every certificate of a PEM file. Errors name the file and the next step.
    pub fn load(file: &Path) -> Result<Self> {
        let shown = file.display();
        let text = std::fs::read(file).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => {
                let cwd = match std::env::current_dir() {
                    Ok(dir) if file.is_relative() => format!(" (looked in {})", dir.display()),
                    _ => String::new(),
                };
                anyhow!(
                    "the CA file {shown} does not exist{cwd}. Run demo_client from the repository root, \
                     pass the CA certificate with --ca-file, or make the demo set: {}",
                    layout::REGENERATE
                )
            }
            _ => anyhow!("cannot read the CA file {shown}: {e}. Fix its permissions or pass another --ca-file."),
        })?;
        let blocks = <(SectionKind, Vec<u8>)>::pem_slice_iter(&text)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| {
                anyhow!(
                    "the CA file {shown} holds a damaged PEM block ({e}). Give the CA's certificate in PEM form with --ca-file."
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
        })
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
        self.summaries.iter().find(|ca| ca.subject == cert.issuer)
    }
}

/// A CA's own name: its common name when it has one.
pub fn ca_name(ca: &CertSummary) -> String {
    if ca.self_signed {
        ca.issuer_name.clone()
    } else if !ca.has_sans {
        ca.names[0].clone()
    } else {
        ca.subject.clone()
    }
}

/// Where TLS secrets go when `SSLKEYLOGFILE` is set, so that Wireshark can decrypt a capture.
/// The file is opened here, the way rustls' `KeyLogFile` opens it (append, create, mode 0600),
/// because rustls only logs a warning when it cannot, and the capture would then be unreadable.
pub fn key_log_file() -> Result<Option<PathBuf>> {
    let Some(path) = std::env::var_os("SSLKEYLOGFILE").filter(|p| !p.is_empty()) else {
        return Ok(None);
    };
    let path = PathBuf::from(path);
    OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o600)
        .open(&path)
        .map_err(|e| {
            anyhow!(
                "SSLKEYLOGFILE is {}, but that file cannot be written ({e}). Fix the path, or unset SSLKEYLOGFILE.",
                path.display()
            )
        })?;
    Ok(Some(path))
}

/// The one judge of the server's certificate: rustls's `WebPkiServerVerifier`, with the
/// certificates of `cas` as its only roots.
fn verifier(cas: &TrustedCas) -> Result<Arc<WebPkiServerVerifier>> {
    let mut roots = rustls::RootCertStore::empty();
    for der in &cas.certs {
        roots
            .add(der.clone())
            .map_err(|e| anyhow!("the CA file {}: {e}", cas.file.display()))?;
    }
    WebPkiServerVerifier::builder_with_provider(Arc::new(roots), super::provider())
        .build()
        .map_err(|e| anyhow!("the CA file {}: {e}", cas.file.display()))
}

/// The client's one rustls configuration: the aws-lc-rs provider with its default versions
/// (TLS 1.3 and 1.2) and groups (X25519MLKEM768 first), ALPN h2 then http/1.1, and `verifier`,
/// which is [`verifier`] or a witness around it. The plain client and `demo_client --explain`
/// both connect with it.
fn config(verifier: Arc<dyn ServerCertVerifier>, key_log: Arc<dyn KeyLog>) -> Result<ClientConfig> {
    let mut config = ClientConfig::builder_with_provider(super::provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| anyhow!("TLS configuration refused: {e}"))?
        // `with_root_certificates` would build the same WebPkiServerVerifier; going through
        // `dangerous()` only lets --explain's witness watch it.
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    // reqwest uses a preconfigured config as it is: ALPN is ours to set.
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    config.key_log = key_log;
    Ok(config)
}

/// A reqwest client builder that trusts the CAs in `cas` and nothing else, and reports the
/// server's certificate and TLS version on each response (`reqwest::tls::TlsInfo`). With
/// `key_log`, rustls's `KeyLogFile` writes the TLS secrets to SSLKEYLOGFILE.
pub fn builder(cas: &TrustedCas, key_log: bool) -> Result<reqwest::ClientBuilder> {
    let key_log: Arc<dyn KeyLog> = if key_log {
        Arc::new(KeyLogFile::new())
    } else {
        Arc::new(NoKeyLog)
    };
    let config = config(verifier(cas)?, key_log)?;
    Ok(reqwest::Client::builder()
        .tls_backend_preconfigured(config)
        .tls_info(true))
}

/// The same configuration for `demo_client --explain`, which makes its own connection so that
/// it can record its bytes, with two witnesses that only watch: the verifier's verdict is
/// returned to rustls unchanged, and the secrets still go to SSLKEYLOGFILE when asked.
pub struct Observed {
    pub config: Arc<ClientConfig>,
    pub witness: Arc<Witness>,
    pub key_log: Arc<KeyLogWitness>,
}

pub fn observed_config(cas: &TrustedCas, key_log: bool) -> Result<Observed> {
    let witness = Arc::new(Witness::new(verifier(cas)?));
    let key_log = Arc::new(KeyLogWitness::new(key_log));
    Ok(Observed {
        config: Arc::new(config(witness.clone(), key_log.clone())?),
        witness,
        key_log,
    })
}

/// A builder for http:// URLs. No TLS happens there (redirects are off); and so that none could
/// succeed by surprise, it trusts no CA at all rather than the system's.
pub fn plain_builder() -> reqwest::ClientBuilder {
    reqwest::Client::builder().tls_certs_only([])
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
