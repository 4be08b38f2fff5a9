//! Step 2: the site makes its own key pair and asks the CA to vouch for it with a Certificate
//! Signing Request. The request carries the public key and the names; the private key never
//! leaves the site.

use anyhow::Result;
use rcgen::{CertificateParams, KeyPair};

use super::names::{Subject, parse_sans};
use super::rcgen_err;
use crate::keys::KeyType;

pub struct CsrRequest<'a> {
    pub subject: &'a Subject,
    /// DNS names and IP addresses, typed as mkcert does.
    pub names: &'a [String],
    pub key_type: KeyType,
}

pub struct NewCsr {
    pub csr_pem: String,
    pub key: KeyPair,
}

pub fn create(req: &CsrRequest<'_>) -> Result<NewCsr> {
    let mut params = CertificateParams::default();
    params.subject_alt_names = parse_sans(req.names)?;
    params.distinguished_name = req.subject.to_dn()?;
    let key = req.key_type.generate()?;
    let csr = params
        .serialize_request(&key)
        .map_err(rcgen_err("cannot make the CSR"))?;
    let csr_pem = csr.pem().map_err(rcgen_err("cannot encode the CSR"))?;
    Ok(NewCsr { csr_pem, key })
}
