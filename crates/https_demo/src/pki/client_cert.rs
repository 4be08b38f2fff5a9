//! Mutual TLS, the visitor's side: a certificate that says who a person or a service is, signed
//! by a CA the server trusts, like `mkcert -client`. It may identify a TLS client and nothing
//! else (extended key usage clientAuth only): a stolen client certificate cannot stand in for a
//! web site. A browser imports it as a PKCS#12 file (`.p12`), key and certificates in one
//! passphrase-protected bundle.

use anyhow::{Result, anyhow, bail};
use rcgen::{
    CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    SanType,
};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use zeroize::Zeroizing;

use super::names::{Name, is_permitted, show_san};
use super::sign::Ca;
use super::{random_serial, rcgen_err, validity};
use crate::keys::KeyType;

pub struct ClientCertRequest<'a> {
    /// Who the certificate is for: `alice`, `alice@example.com`, `backup.example.com`.
    pub name: &'a str,
    pub key_type: KeyType,
    /// Validity in days; `None` for mkcert's 2 years 3 months.
    pub days: Option<i64>,
}

pub struct NewClientCert {
    pub key: KeyPair,
    pub cert_pem: String,
    pub cert_der: Vec<u8>,
    pub not_after: OffsetDateTime,
    /// The subjectAltName written, if the name is one (an email address, a DNS name, an IP).
    pub san: Option<String>,
}

/// The subjectAltName a client name fits, decided as mkcert -client does for what is clearly an
/// address: an email address is an rfc822Name, an IP address an IP SAN, a dotted DNS name a DNS
/// SAN (a service). A plain person's name (`alice`, `Alice Smith`) is no address of any kind, so
/// it stays in the common name only: a DNS SAN `alice` would claim a host that does not exist.
pub fn san_for(name: &str) -> Option<SanType> {
    if let Some((local, domain)) = name.split_once('@') {
        let domain_ok = matches!(Name::parse(domain), Ok(Name::Dns(_)));
        if !local.is_empty() && !local.contains(char::is_whitespace) && domain_ok {
            return name.to_string().try_into().ok().map(SanType::Rfc822Name);
        }
        return None;
    }
    match Name::parse(name) {
        Ok(Name::Ip(ip)) => Some(SanType::IpAddress(ip)),
        Ok(Name::Dns(dns)) if dns.contains('.') => dns.try_into().ok().map(SanType::DnsName),
        _ => None,
    }
}

/// A file name for `name`'s files: letters, digits and `.@_-` kept, anything else (a space, a
/// slash) becomes `_`, so that the name can never point outside the output folder.
pub fn file_stem(name: &str) -> String {
    let stem: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "@_-.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    match stem.trim_start_matches('.') {
        "" => "client".into(),
        s => s.to_string(),
    }
}

/// Makes a key and a client certificate for `req.name`, signed by `ca`.
pub fn create(req: &ClientCertRequest<'_>, ca: &Ca) -> Result<NewClientCert> {
    let name = req.name.trim();
    if name.is_empty() {
        bail!(
            "the name (--name) must not be empty: give who the certificate is for, e.g. --name alice"
        );
    }
    if name.chars().count() > 64 {
        bail!(
            "the name {name:?} is longer than 64 characters, the most a common name may hold; give a shorter one"
        );
    }
    let san = san_for(name);
    if let Some(san) = &san
        && !is_permitted(san, &ca.permitted)
    {
        bail!(
            "{} is outside the name constraints of the CA \"{}\", so every server would reject the certificate. \
             Nothing was written. Give a plain name (e.g. --name alice), or use a CA without name constraints.",
            show_san(san),
            ca.name
        );
    }
    let (start, not_after) = validity::leaf_window(req.days, ca.not_after)?;
    let mut params = CertificateParams::default();
    params
        .distinguished_name
        .push(DnType::CommonName, name.to_string());
    params.subject_alt_names = san.iter().cloned().collect();
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    // clientAuth only: the certificate proves who a visitor is, and cannot serve a web site.
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    params.use_authority_key_identifier_extension = true;
    params.serial_number = Some(random_serial());
    params.not_before = start;
    params.not_after = not_after;

    let key = req.key_type.generate()?;
    let issuer = Issuer::from_ca_cert_der(&ca.cert_der, &ca.key)
        .map_err(rcgen_err("cannot read the CA certificate as an issuer"))?;
    let cert = params
        .signed_by(&key, &issuer)
        .map_err(rcgen_err("cannot sign the client certificate"))?;
    Ok(NewClientCert {
        cert_pem: cert.pem(),
        cert_der: cert.der().to_vec(),
        key,
        not_after,
        san: san.as_ref().map(show_san),
    })
}

/// A PKCS#12 bundle of the key, the certificate and its CA, as browsers and operating systems
/// import it. Written with PBES2 (PBKDF2-HMAC-SHA-256, AES-256-CBC) and an HMAC-SHA-256 MAC:
/// what OpenSSL 3 writes and reads by default; the legacy RC2/3DES forms need `-legacy` there.
/// `password` may be empty (for `--no-passphrase`): the file is then readable by anyone.
pub fn to_p12(
    name: &str,
    key: &KeyPair,
    cert_der: &[u8],
    ca_der: &[u8],
    password: &str,
) -> Result<Zeroizing<Vec<u8>>> {
    use p12_keystore::{
        Certificate, EncryptionAlgorithm, KeyStore, KeyStoreEntry, MacAlgorithm, PrivateKey,
        PrivateKeyChain,
    };
    let p12_err = |what: &'static str| move |e: p12_keystore::error::Error| anyhow!("{what}: {e}");
    let key_der = Zeroizing::new(key.serialize_der());
    let private = PrivateKey::from_der(&key_der).map_err(p12_err("cannot read the new key"))?;
    let leaf = Certificate::from_der(cert_der).map_err(p12_err("cannot read the certificate"))?;
    let ca = Certificate::from_der(ca_der).map_err(p12_err("cannot read the CA certificate"))?;
    // The local key id ties the key to its certificate inside the file.
    let key_id = Sha256::digest(cert_der)[..20].to_vec();
    let mut store = KeyStore::new();
    store.add_entry(
        name,
        KeyStoreEntry::PrivateKeyChain(PrivateKeyChain::new(key_id, private, [leaf, ca])),
    );
    let bytes = store
        .writer(password)
        .encryption_algorithm(EncryptionAlgorithm::PbeWithHmacSha256AndAes256)
        .mac_algorithm(MacAlgorithm::HmacSha256)
        .encryption_iterations(100_000)
        .mac_iterations(100_000)
        .write()
        .map_err(p12_err("cannot write the PKCS#12 file"))?;
    Ok(Zeroizing::new(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_get_a_san_only_when_they_are_an_address() {
        assert!(matches!(
            san_for("alice@example.com"),
            Some(SanType::Rfc822Name(_))
        ));
        assert!(matches!(
            san_for("backup.example.com"),
            Some(SanType::DnsName(_))
        ));
        assert!(matches!(san_for("127.0.0.1"), Some(SanType::IpAddress(_))));
        assert!(san_for("alice").is_none());
        assert!(san_for("Alice Smith").is_none());
        assert!(san_for("a b@example.com").is_none());
    }

    #[test]
    fn file_stems_stay_in_the_folder() {
        assert_eq!(file_stem("alice"), "alice");
        assert_eq!(file_stem("Alice Smith"), "Alice_Smith");
        assert_eq!(file_stem("../etc/passwd"), "_etc_passwd");
        assert!(!file_stem("../x").contains('/'));
        assert_eq!(file_stem(".."), "client");
    }
}
