//! What the server proves and how: its certificate chain, its private key, and a TLS
//! configuration that offers TLS 1.3 and 1.2 with rustls's safe defaults and nothing weaker.

use std::path::Path;
use std::sync::Arc;

use anyhow::{Result, anyhow, bail};
use rustls::ServerConfig;
use rustls::crypto::CryptoProvider;
use rustls::sign::CertifiedKey;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use zeroize::Zeroizing;

use crate::pki::inspect::{CertSummary, show_time};
use crate::pki::{certificates_from_pem, validity, verify};
use crate::{files, keys, layout};

/// The site's certificate chain and the key that proves it.
pub struct Identity {
    pub chain: Vec<CertificateDer<'static>>,
    pub key: Arc<CertifiedKey>,
    pub leaf: CertSummary,
}

/// Loads and checks the chain and key. Refuses a key that does not match the certificate, and
/// a certificate outside its validity unless `allow_invalid_dates` (for showing what clients do).
pub fn load_identity(
    cert_path: &Path,
    key_path: &Path,
    passphrase: impl FnOnce() -> Result<Zeroizing<String>>,
    allow_invalid_dates: bool,
) -> Result<Identity> {
    let shown = cert_path.display().to_string();
    let chain = certificates_from_pem(&files::read_text(cert_path, "certificate file")?, &shown)?;
    let leaf = CertSummary::from_der(&chain[0]).map_err(|e| anyhow!("{shown}: {e}"))?;
    let now = validity::now();
    if !allow_invalid_dates && (now < leaf.not_before || now > leaf.not_after) {
        bail!(
            "the certificate {shown} is not valid now: it is valid from {} to {}, and it is {}. \
             Clients would refuse it. Make a fresh set with: {}",
            show_time(leaf.not_before),
            show_time(leaf.not_after),
            show_time(now),
            layout::REGENERATE
        );
    }
    let key: PrivateKeyDer<'static> = keys::load(key_path, passphrase)?;
    let provider = super::provider();
    let signing_key = provider.key_provider.load_private_key(key).map_err(|e| {
        anyhow!(
            "rustls cannot use the key {} ({e}); use an ECDSA, Ed25519 or RSA key",
            key_path.display()
        )
    })?;
    let certified = CertifiedKey::new(chain.clone(), signing_key);
    if let Err(rustls::Error::InconsistentKeys(_)) = certified.keys_match() {
        bail!(
            "the key {} does not match the certificate {shown}: the certificate was issued for another key. \
             Give the key that was made with its CSR, or make a fresh set with: {}",
            key_path.display(),
            layout::REGENERATE
        );
    }
    Ok(Identity {
        chain,
        key: Arc::new(certified),
        leaf,
    })
}

/// Choices a person may narrow for a lab (compare TLS 1.2 with 1.3, h2 with HTTP/1.1); the
/// defaults offer both, and nothing below TLS 1.2 can be asked for.
#[derive(Clone, Copy, Debug, Default)]
pub struct Offer {
    pub tls12_only: bool,
    pub http1_only: bool,
    /// No session cache and no TLS 1.3 tickets: every connection pays a full handshake (what a
    /// benchmark of handshakes needs; clients would otherwise resume).
    pub no_resumption: bool,
}

/// The server's TLS configuration: TLS 1.3 and 1.2, rustls's default cipher suites and
/// key-exchange groups (X25519MLKEM768 first), ALPN h2 then http/1.1, and a key log when
/// SSLKEYLOGFILE is set. With `clients`, it asks each visitor for a certificate and lets that
/// verifier judge it (see [`super::trust::client_verifier`]).
pub fn server_config(
    identity: &Identity,
    provider: Arc<CryptoProvider>,
    offer: Offer,
    clients: Option<Arc<dyn rustls::server::danger::ClientCertVerifier>>,
) -> Result<Arc<ServerConfig>> {
    let certificate = Arc::new(rustls::sign::SingleCertAndKey::from(identity.key.clone()));
    Ok(Arc::new(config_with_resolver(
        certificate,
        provider,
        offer,
        clients,
    )?))
}

/// [`server_config`] for a certificate that changes while the server runs (ACME: obtained
/// after the listener is up, renewed in place): `certificate` picks it at each handshake.
pub fn config_with_resolver(
    certificate: Arc<dyn rustls::server::ResolvesServerCert>,
    provider: Arc<CryptoProvider>,
    offer: Offer,
    clients: Option<Arc<dyn rustls::server::danger::ClientCertVerifier>>,
) -> Result<ServerConfig> {
    let versions: &[&rustls::SupportedProtocolVersion] = if offer.tls12_only {
        &[&rustls::version::TLS12]
    } else {
        rustls::DEFAULT_VERSIONS
    };
    let builder = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(versions)
        .map_err(|e| anyhow!("TLS configuration refused: {e}"))?;
    // Mutual TLS: the judge of visitors' certificates comes from the trust core.
    let builder = match clients {
        Some(verifier) => builder.with_client_cert_verifier(verifier),
        None => builder.with_no_client_auth(),
    };
    let mut config = builder.with_cert_resolver(certificate);
    config.alpn_protocols = if offer.http1_only {
        vec![b"http/1.1".to_vec()]
    } else {
        vec![b"h2".to_vec(), b"http/1.1".to_vec()]
    };
    config.key_log = Arc::new(rustls::KeyLogFile::new());
    if offer.no_resumption {
        // rustls's defaults: 256 sessions in memory, 2 TLS 1.3 tickets per connection, no
        // stateless ticketer.
        config.session_storage = Arc::new(rustls::server::NoServerSessionStorage {});
        config.send_tls13_tickets = 0;
    }
    Ok(config)
}

/// Whether the chain leads to the CA in `ca_path` for the certificate's first name, as
/// demo_client will check it. Returns a warning to show when it does not.
pub fn check_against_ca(identity: &Identity, ca_path: &Path) -> Option<String> {
    let cas = match super::trust::TrustedCas::load(ca_path) {
        Ok(cas) => cas,
        Err(e) => {
            return Some(format!(
                "cannot check that clients will trust this certificate: {e:#}"
            ));
        }
    };
    let name = identity.leaf.names.first()?.to_string();
    let verdict = super::trust::server_name(&name).and_then(|name| {
        super::trust::verify_chain(
            &cas,
            &identity.chain,
            &name,
            rustls_pki_types::UnixTime::now(),
        )
    });
    match verdict {
        Ok(Ok(())) => None,
        // Dates were checked (or deliberately allowed) by load_identity.
        Ok(Err(f)) if f.kind().check() == super::failure::Check::Dates => None,
        Ok(Err(f)) => Some(format!(
            "demo_client will refuse this server: {}",
            verify::refusal(&f, "this server's certificate", &cas)
        )),
        Err(e) => Some(format!(
            "cannot check that clients will trust this certificate: {e:#}"
        )),
    }
}
