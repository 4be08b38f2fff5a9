//! The attacker's CA, made fresh at start, and the certificates it forges: one per name a client
//! asks for (its SNI), kept in a bounded cache. Its key lives in memory only and dies with the
//! process; only its certificate is written, so that a lesson can trust it on purpose.
//!
//! Unlike the demo CA, it has no name constraints: trusted, it vouches for any name at all,
//! which is what makes a root in a trust store a master key.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use anyhow::{Result, anyhow};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};
use rustls::ServerConfig;
use rustls_pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use time::{Duration, OffsetDateTime};

/// The attacker CA's name, as clients will show it.
pub const CA_NAME: &str = "Mallory's Interception CA (not name-constrained)";

/// An ECDSA P-256 CA, not name-constrained, and its certificate in PEM.
pub struct AttackerCa {
    params: CertificateParams,
    key: KeyPair,
    pub pem: String,
}

impl AttackerCa {
    pub fn new() -> Result<AttackerCa> {
        let key =
            KeyPair::generate().map_err(|e| anyhow!("cannot make the attacker CA's key: {e}"))?;
        let mut params = CertificateParams::default();
        params.distinguished_name.push(DnType::CommonName, CA_NAME);
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let now = OffsetDateTime::now_utc();
        params.not_before = now - Duration::hours(1);
        params.not_after = now + Duration::days(30);
        let cert = params
            .self_signed(&key)
            .map_err(|e| anyhow!("cannot make the attacker CA's certificate: {e}"))?;
        Ok(AttackerCa {
            pem: cert.pem(),
            params,
            key,
        })
    }
}

/// Forges a certificate per name, signed by the attacker CA, and keeps the TLS configuration
/// that presents it: at most `limit` names, the oldest forgotten first.
pub struct Forger {
    ca: AttackerCa,
    /// One key for every forged certificate, as mitmproxy does: making a key per name would
    /// only cost time.
    leaf_key: KeyPair,
    limit: usize,
    cache: Mutex<Cache>,
}

#[derive(Default)]
struct Cache {
    configs: HashMap<String, Arc<ServerConfig>>,
    order: VecDeque<String>,
}

impl Forger {
    pub fn new(ca: AttackerCa, limit: usize) -> Result<Forger> {
        Ok(Forger {
            ca,
            leaf_key: KeyPair::generate().map_err(|e| anyhow!("cannot make a key: {e}"))?,
            limit: limit.max(1),
            cache: Mutex::new(Cache::default()),
        })
    }

    pub fn ca(&self) -> &AttackerCa {
        &self.ca
    }

    /// How many names have a forged certificate now.
    pub fn cached(&self) -> usize {
        self.lock().configs.len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Cache> {
        self.cache.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The server configuration that presents a forged certificate for `name`, offering ALPN
    /// h2 and http/1.1 as a real server would.
    pub fn config_for(&self, name: &str) -> Result<Arc<ServerConfig>> {
        let name = name.to_ascii_lowercase();
        if let Some(config) = self.lock().configs.get(&name) {
            return Ok(config.clone());
        }
        let config = Arc::new(self.forge(&name)?);
        let mut cache = self.lock();
        if !cache.configs.contains_key(&name) {
            while cache.order.len() >= self.limit {
                if let Some(old) = cache.order.pop_front() {
                    cache.configs.remove(&old);
                }
            }
            cache.order.push_back(name.clone());
            cache.configs.insert(name, config.clone());
        }
        Ok(config)
    }

    fn forge(&self, name: &str) -> Result<ServerConfig> {
        let mut params = CertificateParams::default();
        params.distinguished_name.push(DnType::CommonName, name);
        params.subject_alt_names = vec![match name.parse::<IpAddr>() {
            Ok(ip) => SanType::IpAddress(ip),
            Err(_) => SanType::DnsName(
                name.to_string()
                    .try_into()
                    .map_err(|_| anyhow!("{name} cannot be a certificate's name"))?,
            ),
        }];
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.use_authority_key_identifier_extension = true;
        let now = OffsetDateTime::now_utc();
        params.not_before = now - Duration::hours(1);
        params.not_after = now + Duration::days(30);
        let issuer = Issuer::from_params(&self.ca.params, &self.ca.key);
        let cert = params
            .signed_by(&self.leaf_key, &issuer)
            .map_err(|e| anyhow!("cannot forge a certificate for {name}: {e}"))?;
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.leaf_key.serialize_der()));
        let mut config = ServerConfig::builder_with_provider(crate::tls::provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| anyhow!("TLS configuration refused: {e}"))?
            .with_no_client_auth()
            // The forged certificate alone, as mitmproxy sends it: a client that trusts the
            // attacker CA has it already.
            .with_single_cert(vec![cert.der().clone()], key)
            .map_err(|e| anyhow!("cannot use the forged certificate for {name}: {e}"))?;
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cache_is_bounded_and_reuses_a_name() {
        let forger = Forger::new(AttackerCa::new().unwrap(), 2).unwrap();
        let a = forger.config_for("localhost").unwrap();
        let again = forger.config_for("LOCALHOST").unwrap();
        assert!(Arc::ptr_eq(&a, &again));
        forger.config_for("127.0.0.1").unwrap();
        forger.config_for("example.com").unwrap();
        assert_eq!(forger.cached(), 2);
    }
}
