//! The client's rustls configuration: what it trusts comes from [`super::trust`] (the CA file,
//! and nothing else); this module sets what it offers (versions, groups, ALPN, key log).
//! Everything else about the client (timeouts, proxies, redirects) is in [`crate::client`].
//!
//! How we know system roots are not consulted: reqwest is handed the config built here with
//! `tls_backend_preconfigured`. In reqwest 0.13.5's source (`src/async_impl/client.rs`,
//! `ClientBuilder::build`) such a config takes the `TlsBackend::BuiltRustls` arm and is used as
//! it is; `rustls_platform_verifier::Verifier`, the only code that loads the system's roots
//! (through rustls-native-certs, which also reads `SSL_CERT_FILE`), is built only in the
//! `TlsBackend::Rustls` arm. The test `system_roots_are_not_trusted` in
//! `crates/demo/tests/client.rs` points `SSL_CERT_FILE` at the server's real CA and expects the
//! client to refuse the server all the same. `demo_client --explain` connects with the same
//! configuration, its verifier wrapped in a witness that returns the verdict unchanged (see
//! [`super::witness`]).

use std::fs::OpenOptions;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use anyhow::{Result, anyhow, bail};
use rustls::client::danger::ServerCertVerifier;
use rustls::client::{ResolvesClientCert, WebPkiServerVerifier};
use rustls::sign::CertifiedKey;
use rustls::{ClientConfig, KeyLog, KeyLogFile, NoKeyLog, SignatureScheme};
use zeroize::Zeroizing;

use crate::pki::inspect::CertSummary;

use super::trust::{AnyoneCanImpersonate, Pinned, SpkiPin, TrustedCas, verifier};
use super::witness::{KeyLogWitness, Witness};

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

/// How the server's certificate is judged: by the trust core's verifier itself (the plain
/// client), or by a witness around it that records and returns the same verdict (--explain).
enum Judge {
    Plain(Arc<WebPkiServerVerifier>),
    Witnessed(Arc<dyn ServerCertVerifier>),
    /// `--pin`: the same verifier, then the pin ([`super::trust::Pinned`]).
    Pinned(Arc<Pinned>),
    /// `--insecure`: no judge at all ([`AnyoneCanImpersonate`]).
    Insecure(Arc<AnyoneCanImpersonate>),
}

/// The client's one rustls configuration: the aws-lc-rs provider with its default versions
/// (TLS 1.3 and 1.2) and groups (X25519MLKEM768 first), ALPN h2 then http/1.1, and the judge.
/// The plain client and `demo_client --explain` both connect with it.
fn config(
    judge: Judge,
    key_log: Arc<dyn KeyLog>,
    asker: Arc<ClientCertAsker>,
) -> Result<ClientConfig> {
    let builder = ClientConfig::builder_with_provider(super::provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| anyhow!("TLS configuration refused: {e}"))?;
    let mut config = match judge {
        Judge::Plain(verifier) => builder.with_webpki_verifier(verifier),
        // Only so that --explain's witness can watch the same verifier decide.
        Judge::Witnessed(witness) => builder
            .dangerous()
            .with_custom_certificate_verifier(witness),
        Judge::Pinned(pinned) => builder.dangerous().with_custom_certificate_verifier(pinned),
        Judge::Insecure(anyone) => builder.dangerous().with_custom_certificate_verifier(anyone),
    }
    // Always through the asker, with a certificate or without: it sees whether the server asked
    // for one, and which CAs it named.
    .with_client_cert_resolver(asker);
    // reqwest uses a preconfigured config as it is: ALPN is ours to set.
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    config.key_log = key_log;
    Ok(config)
}

/// A reqwest client builder that trusts the CAs in `cas` and nothing else, and reports the
/// server's certificate and TLS version on each response (`reqwest::tls::TlsInfo`). With
/// `key_log`, rustls's `KeyLogFile` writes the TLS secrets to SSLKEYLOGFILE.
pub fn builder(
    cas: &TrustedCas,
    key_log: bool,
    asker: Arc<ClientCertAsker>,
) -> Result<reqwest::ClientBuilder> {
    let key_log: Arc<dyn KeyLog> = if key_log {
        Arc::new(KeyLogFile::new())
    } else {
        Arc::new(NoKeyLog)
    };
    let config = config(Judge::Plain(verifier(cas)?), key_log, asker)?;
    Ok(reqwest_builder(config))
}

/// [`builder`] with a pin: the CA file's verdict first, then the site's public key must be
/// `pin`.
pub fn pinned_builder(
    cas: &TrustedCas,
    pin: SpkiPin,
    key_log: bool,
    asker: Arc<ClientCertAsker>,
) -> Result<reqwest::ClientBuilder> {
    let judge = Judge::Pinned(Arc::new(Pinned::new(cas, pin)?));
    Ok(reqwest_builder(config(judge, key_log_of(key_log), asker)?))
}

/// `demo_client --insecure`: a client that believes any certificate, to show what that costs.
pub fn insecure_builder(
    key_log: bool,
    asker: Arc<ClientCertAsker>,
) -> Result<reqwest::ClientBuilder> {
    let judge = Judge::Insecure(Arc::new(AnyoneCanImpersonate::new()));
    Ok(reqwest_builder(config(judge, key_log_of(key_log), asker)?))
}

fn key_log_of(key_log: bool) -> Arc<dyn KeyLog> {
    if key_log {
        Arc::new(KeyLogFile::new())
    } else {
        Arc::new(NoKeyLog)
    }
}

fn reqwest_builder(config: ClientConfig) -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .tls_backend_preconfigured(config)
        .tls_info(true)
}

/// The same configuration for `demo_client --explain`, which makes its own connection so that
/// it can record its bytes, with two witnesses that only watch: the verifier's verdict is
/// returned to rustls unchanged, and the secrets still go to SSLKEYLOGFILE when asked.
pub struct Observed {
    pub config: Arc<ClientConfig>,
    pub witness: Arc<Witness>,
    pub key_log: Arc<KeyLogWitness>,
    pub asker: Arc<ClientCertAsker>,
}

pub fn observed_config(
    cas: &TrustedCas,
    key_log: bool,
    asker: Arc<ClientCertAsker>,
) -> Result<Observed> {
    let witness = Arc::new(Witness::new(verifier(cas)?));
    let key_log = Arc::new(KeyLogWitness::new(key_log));
    Ok(Observed {
        config: Arc::new(config(
            Judge::Witnessed(witness.clone()),
            key_log.clone(),
            asker.clone(),
        )?),
        witness,
        key_log,
        asker,
    })
}

/// The visitor's own certificate and key, for mutual TLS (`demo_client --cert --key`).
#[derive(Debug)]
pub struct ClientIdentity {
    pub key: Arc<CertifiedKey>,
    pub leaf: CertSummary,
    pub cert_file: PathBuf,
}

/// Loads a client certificate (chain) and its key (encrypted PKCS#8 asks `passphrase`), and
/// refuses, before any connection, a key that is not the certificate's: the server would refuse
/// the signature that proves possession, with an alert that does not say why.
pub fn load_client_identity(
    cert_path: &Path,
    key_path: &Path,
    passphrase: impl FnOnce() -> Result<Zeroizing<String>>,
) -> Result<ClientIdentity> {
    let shown = cert_path.display().to_string();
    let text = crate::files::read_text(cert_path, "client certificate (--cert)")?;
    let chain = crate::pki::certificates_from_pem(&text, &shown)?;
    let leaf = CertSummary::from_der(&chain[0]).map_err(|e| anyhow!("{shown}: {e}"))?;
    let key = crate::keys::load(key_path, passphrase)?;
    let signing_key = super::provider()
        .key_provider
        .load_private_key(key)
        .map_err(|e| {
            anyhow!(
                "rustls cannot use the key {} ({e}); use an ECDSA, Ed25519 or RSA key",
                key_path.display()
            )
        })?;
    let certified = CertifiedKey::new(chain, signing_key);
    if let Err(rustls::Error::InconsistentKeys(_)) = certified.keys_match() {
        bail!(
            "the key {} does not match the certificate {shown}: the certificate was issued for another key, so \
             the server would refuse the proof of possession. Nothing was sent. Give the key made together with \
             the certificate (demo_pki client-cert writes NAME.pem and NAME_key.pem side by side).",
            key_path.display()
        );
    }
    Ok(ClientIdentity {
        key: Arc::new(certified),
        leaf,
        cert_file: cert_path.to_path_buf(),
    })
}

/// What the server's CertificateRequest asked for, as the client saw it.
#[derive(Clone, Debug, Default)]
pub struct CertRequestSeen {
    /// The CAs the server accepts, by name (`Visitors CA`), from the request's
    /// certificate_authorities.
    pub ca_names: Vec<String>,
    /// The same names as encoded, to compare with a certificate's issuer.
    pub ca_ders: Vec<Vec<u8>>,
    pub schemes: Vec<SignatureScheme>,
    /// Whether this client answered with a certificate.
    pub presented: bool,
}

/// The client's side of mutual TLS: rustls asks it for a certificate when, and only when, the
/// server sent a CertificateRequest; it answers with the visitor's certificate (if any) and
/// remembers the request, so that a refusal can name the CAs the server accepts.
#[derive(Debug, Default)]
pub struct ClientCertAsker {
    identity: Option<Arc<CertifiedKey>>,
    seen: Mutex<Option<CertRequestSeen>>,
}

impl ClientCertAsker {
    pub fn new(identity: Option<&ClientIdentity>) -> ClientCertAsker {
        ClientCertAsker {
            identity: identity.map(|i| i.key.clone()),
            seen: Mutex::new(None),
        }
    }

    /// The server's CertificateRequest, if it sent one.
    pub fn seen(&self) -> Option<CertRequestSeen> {
        self.seen.lock().ok()?.clone()
    }
}

impl ResolvesClientCert for ClientCertAsker {
    fn resolve(
        &self,
        root_hint_subjects: &[&[u8]],
        sigschemes: &[SignatureScheme],
    ) -> Option<Arc<CertifiedKey>> {
        let ca_ders: Vec<Vec<u8>> = root_hint_subjects.iter().map(|n| name_der(n)).collect();
        let seen = CertRequestSeen {
            ca_names: ca_ders.iter().map(|der| ca_name_of(der)).collect(),
            ca_ders,
            schemes: sigschemes.to_vec(),
            presented: self.identity.is_some(),
        };
        if let Ok(mut slot) = self.seen.lock() {
            *slot = Some(seen);
        }
        self.identity.clone()
    }

    fn has_certs(&self) -> bool {
        self.identity.is_some()
    }
}

/// A distinguished name as a certificate encodes it (a DER SEQUENCE): rustls hands the
/// CertificateRequest's names over without the outer SEQUENCE header.
pub fn name_der(inner: &[u8]) -> Vec<u8> {
    if inner.first() == Some(&0x30) && is_whole_name(inner) {
        return inner.to_vec();
    }
    let mut der = vec![0x30];
    let len = inner.len();
    if len < 0x80 {
        der.push(len as u8);
    } else {
        let bytes: Vec<u8> = len
            .to_be_bytes()
            .into_iter()
            .skip_while(|b| *b == 0)
            .collect();
        der.push(0x80 | bytes.len() as u8);
        der.extend(bytes);
    }
    der.extend_from_slice(inner);
    der
}

/// A CA's name from its DER distinguished name: the common name when it has one.
pub fn ca_name_of(der: &[u8]) -> String {
    use x509_parser::prelude::FromDer;
    match x509_parser::x509::X509Name::from_der(der) {
        Ok((_, name)) => crate::pki::inspect::short_name(&name),
        Err(_) => "(a name this client cannot read)".into(),
    }
}

/// Whether `der` is exactly one encoded distinguished name.
fn is_whole_name(der: &[u8]) -> bool {
    use x509_parser::prelude::FromDer;
    matches!(x509_parser::x509::X509Name::from_der(der), Ok((rest, _)) if rest.is_empty())
}

/// A builder for http:// URLs. No TLS happens there (redirects are off); and so that none could
/// succeed by surprise, it trusts no CA at all rather than the system's.
pub fn plain_builder() -> reqwest::ClientBuilder {
    reqwest::Client::builder().tls_certs_only([])
}
