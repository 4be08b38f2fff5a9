//! Step 1 of the story: become a Certificate Authority. A CA is only a key pair and a
//! self-signed certificate that says "this key may sign other certificates".

use anyhow::Result;
use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair, KeyUsagePurpose, NameConstraints};
use time::{Duration, OffsetDateTime};

use super::names::{Subject, parse_permitted};
use super::{random_serial, rcgen_err, validity};
use crate::keys::KeyType;

pub struct CaRequest<'a> {
    pub subject: &'a Subject,
    pub key_type: KeyType,
    pub days: i64,
    /// Names and ranges the CA may vouch for (critical nameConstraints); empty means any.
    pub permitted: &'a [String],
}

pub struct NewCa {
    pub cert_pem: String,
    pub key: KeyPair,
    pub not_after: OffsetDateTime,
}

pub fn create(req: &CaRequest<'_>) -> Result<NewCa> {
    if !(1..=9125).contains(&req.days) {
        anyhow::bail!(
            "a CA's validity must be between 1 and 9125 days (25 years); the default is 3650"
        );
    }
    let key = req.key_type.generate()?;
    let mut params = CertificateParams::default();
    params.distinguished_name = req.subject.to_dn()?;
    // Path length 0: this CA signs site certificates only, never another CA.
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    // Strict verifiers (OpenSSL -x509_strict, Python 3.13) want both key identifiers.
    params.use_authority_key_identifier_extension = true;
    params.serial_number = Some(random_serial());
    params.not_before = validity::now();
    params.not_after = params.not_before + Duration::days(req.days);
    if !req.permitted.is_empty() {
        let permitted_subtrees = req
            .permitted
            .iter()
            .map(|p| parse_permitted(p))
            .collect::<Result<Vec<_>>>()?;
        params.name_constraints = Some(NameConstraints {
            permitted_subtrees,
            excluded_subtrees: vec![],
        });
    }
    let cert = params
        .self_signed(&key)
        .map_err(rcgen_err("cannot make the CA certificate"))?;
    Ok(NewCa {
        cert_pem: cert.pem(),
        key,
        not_after: params.not_after,
    })
}
