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
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Result, anyhow};
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::ServerCertVerifier;
use rustls::{ClientConfig, KeyLog, KeyLogFile, NoKeyLog};

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
fn config(judge: Judge, key_log: Arc<dyn KeyLog>) -> Result<ClientConfig> {
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
    let config = config(Judge::Plain(verifier(cas)?), key_log)?;
    Ok(reqwest_builder(config))
}

/// [`builder`] with a pin: the CA file's verdict first, then the site's public key must be
/// `pin`.
pub fn pinned_builder(
    cas: &TrustedCas,
    pin: SpkiPin,
    key_log: bool,
) -> Result<reqwest::ClientBuilder> {
    let judge = Judge::Pinned(Arc::new(Pinned::new(cas, pin)?));
    Ok(reqwest_builder(config(judge, key_log_of(key_log))?))
}

/// `demo_client --insecure`: a client that believes any certificate, to show what that costs.
pub fn insecure_builder(key_log: bool) -> Result<reqwest::ClientBuilder> {
    let judge = Judge::Insecure(Arc::new(AnyoneCanImpersonate::new()));
    Ok(reqwest_builder(config(judge, key_log_of(key_log))?))
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
}

pub fn observed_config(cas: &TrustedCas, key_log: bool) -> Result<Observed> {
    let witness = Arc::new(Witness::new(verifier(cas)?));
    let key_log = Arc::new(KeyLogWitness::new(key_log));
    Ok(Observed {
        config: Arc::new(config(Judge::Witnessed(witness.clone()), key_log.clone())?),
        witness,
        key_log,
    })
}

/// A builder for http:// URLs. No TLS happens there (redirects are off); and so that none could
/// succeed by surprise, it trusts no CA at all rather than the system's.
pub fn plain_builder() -> reqwest::ClientBuilder {
    reqwest::Client::builder().tls_certs_only([])
}
