//! Step 3: the CA checks the request and signs it. What the CA writes into the certificate is
//! its own decision (usages, validity, serial); from the request it takes only the subject,
//! the names and the public key, and only after checking the request's signature.

use std::path::Path;

use ::time::OffsetDateTime;
use anyhow::{Context, Result, anyhow, bail};
use rcgen::{
    CertificateParams, CertificateSigningRequestParams, ExtendedKeyUsagePurpose, GeneralSubtree,
    IsCa, Issuer, KeyPair, KeyUsagePurpose, PublicKeyData,
};
use rustls_pki_types::CertificateDer;
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::*;
use zeroize::Zeroizing;

use super::names::{is_permitted, show_san};
use super::{certificates_from_pem, random_serial, rcgen_err, validity};
use crate::{files, keys};

/// A CA ready to sign: its certificate, its key, and what it may vouch for.
pub struct Ca {
    pub cert_der: CertificateDer<'static>,
    pub key: KeyPair,
    pub name: String,
    pub not_after: OffsetDateTime,
    pub permitted: Vec<GeneralSubtree>,
}

impl Ca {
    /// Loads a CA certificate and its key, and checks that they belong together and that the
    /// certificate really is a CA.
    pub fn load(
        cert_path: &Path,
        key_path: &Path,
        passphrase: impl FnOnce() -> Result<Zeroizing<String>>,
    ) -> Result<Ca> {
        let shown = cert_path.display().to_string();
        let text = files::read_text(cert_path, "CA certificate")?;
        let cert_der = certificates_from_pem(&text, &shown)?.remove(0);
        let (_, cert) = X509Certificate::from_der(&cert_der)
            .map_err(|e| anyhow!("{shown} holds a damaged certificate ({e})"))?;
        let bc = cert.basic_constraints().ok().flatten().map(|b| b.value.ca);
        if bc != Some(true) {
            bail!(
                "{shown} is not a CA certificate (its basicConstraints do not say CA:TRUE), so it may not sign others. \
                 Give the CA certificate made with: demo_pki ca"
            );
        }
        if let Ok(Some(ku)) = cert.key_usage()
            && !ku.value.key_cert_sign()
        {
            bail!(
                "{shown} is a CA certificate whose key usage does not allow keyCertSign; it cannot sign certificates"
            );
        }
        let key = keys::to_key_pair(&keys::load(key_path, passphrase)?, key_path)?;
        if key.subject_public_key_info() != cert.public_key().raw {
            bail!(
                "the CA key {} does not match the CA certificate {shown}: they are from different CAs. \
                 Give the key that was made together with this certificate.",
                key_path.display()
            );
        }
        let not_after = cert.validity().not_after.to_datetime();
        if not_after <= validity::now() {
            bail!(
                "the CA certificate {shown} expired on {}; make a new CA with: demo_pki ca",
                super::inspect::show_time(not_after)
            );
        }
        let permitted = permitted_subtrees(&cert);
        let name = super::inspect::short_name(cert.subject());
        Ok(Ca {
            cert_der,
            key,
            name,
            not_after,
            permitted,
        })
    }
}

fn permitted_subtrees(cert: &X509Certificate<'_>) -> Vec<GeneralSubtree> {
    let Ok(Some(nc)) = cert.name_constraints() else {
        return vec![];
    };
    let Some(subtrees) = &nc.value.permitted_subtrees else {
        return vec![];
    };
    subtrees
        .iter()
        .filter_map(|s| match &s.base {
            GeneralName::DNSName(d) => Some(GeneralSubtree::DnsName(d.to_string())),
            GeneralName::IPAddress(b) if b.len() == 8 => Some(GeneralSubtree::IpAddress(
                rcgen::CidrSubnet::V4(b[..4].try_into().ok()?, b[4..].try_into().ok()?),
            )),
            GeneralName::IPAddress(b) if b.len() == 32 => Some(GeneralSubtree::IpAddress(
                rcgen::CidrSubnet::V6(b[..16].try_into().ok()?, b[16..].try_into().ok()?),
            )),
            _ => None,
        })
        .collect()
}

pub struct SignRequest {
    /// Validity in days; `None` for mkcert's 2 years 3 months.
    pub days: Option<i64>,
    /// Also allow the certificate to authenticate a TLS client.
    pub client_auth: bool,
}

pub struct Signed {
    pub cert_pem: String,
    pub not_after: OffsetDateTime,
    pub names: Vec<String>,
}

/// Checks a CSR and signs it with `ca`.
pub fn sign_csr(csr_pem: &str, csr_shown: &str, ca: &Ca, req: &SignRequest) -> Result<Signed> {
    if !csr_pem.contains("-----BEGIN CERTIFICATE REQUEST-----") {
        bail!(
            "{csr_shown} holds no certificate request (no -----BEGIN CERTIFICATE REQUEST----- block). Make one with: demo_pki csr"
        );
    }
    let csr = CertificateSigningRequestParams::from_pem(csr_pem).map_err(|e| match e {
        rcgen::Error::InvalidCertificationRequestSignature => anyhow!(
            "the signature of the CSR {csr_shown} does not verify: the request was changed after it was signed, \
             or it was signed with another key. Nothing was signed. Make a fresh request with: demo_pki csr"
        ),
        rcgen::Error::UnsupportedExtension => anyhow!(
            "the CSR {csr_shown} asks for an extension this CA does not copy (it takes subjectAltName, key usage and \
             extended key usage only). Make the request with: demo_pki csr"
        ),
        other => anyhow!("{csr_shown} is not a valid certificate request ({other}). Make one with: demo_pki csr"),
    })?;
    let sans = csr.params.subject_alt_names.clone();
    if sans.is_empty() {
        bail!(
            "the CSR {csr_shown} names no subjectAltName; modern clients ignore the common name and would reject the \
             certificate. Make a request with names: demo_pki csr --name localhost --name 127.0.0.1"
        );
    }
    if let Some(outside) = sans.iter().find(|s| !is_permitted(s, &ca.permitted)) {
        bail!(
            "{} is outside the name constraints of the CA \"{}\", so every client would reject the certificate. \
             Nothing was signed. This CA may vouch only for: {}",
            show_san(outside),
            ca.name,
            ca.permitted
                .iter()
                .map(show_subtree)
                .collect::<Vec<_>>()
                .join(", ")
        );
    }

    let (start, not_after) = validity::leaf_window(req.days, ca.not_after)?;
    let mut params = CertificateParams::default();
    params.distinguished_name = csr.params.distinguished_name.clone();
    params.subject_alt_names = sans;
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    if is_rsa(csr.public_key.algorithm()) {
        // TLS 1.2 RSA key exchange encrypts to the key; harmless and expected by old clients.
        params.key_usages.push(KeyUsagePurpose::KeyEncipherment);
    }
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    if req.client_auth {
        params
            .extended_key_usages
            .push(ExtendedKeyUsagePurpose::ClientAuth);
    }
    params.use_authority_key_identifier_extension = true;
    params.serial_number = Some(random_serial());
    params.not_before = start;
    params.not_after = not_after;

    let issuer = Issuer::from_ca_cert_der(&ca.cert_der, &ca.key)
        .map_err(rcgen_err("cannot read the CA certificate as an issuer"))?;
    let cert = params
        .signed_by(&csr.public_key, &issuer)
        .map_err(rcgen_err("cannot sign the certificate"))
        .context("signing failed")?;
    Ok(Signed {
        cert_pem: cert.pem(),
        not_after,
        names: params.subject_alt_names.iter().map(show_san).collect(),
    })
}

fn is_rsa(alg: &rcgen::SignatureAlgorithm) -> bool {
    [
        &rcgen::PKCS_RSA_SHA256,
        &rcgen::PKCS_RSA_SHA384,
        &rcgen::PKCS_RSA_SHA512,
    ]
    .contains(&alg)
}

fn show_subtree(s: &GeneralSubtree) -> String {
    match s {
        GeneralSubtree::DnsName(d) => d.clone(),
        GeneralSubtree::IpAddress(rcgen::CidrSubnet::V4(a, m)) => {
            format!(
                "{}/{}",
                std::net::Ipv4Addr::from(*a),
                m.iter().map(|b| b.count_ones()).sum::<u32>()
            )
        }
        GeneralSubtree::IpAddress(rcgen::CidrSubnet::V6(a, m)) => {
            format!(
                "{}/{}",
                std::net::Ipv6Addr::from(*a),
                m.iter().map(|b| b.count_ones()).sum::<u32>()
            )
        }
        GeneralSubtree::Rfc822Name(mail) => format!("email {mail}"),
        GeneralSubtree::DirectoryName(_) => "a directory name (distinguished name)".to_string(),
        _ => "a name of a kind demo_pki does not show".to_string(),
    }
}
