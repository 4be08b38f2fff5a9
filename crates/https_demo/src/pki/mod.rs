//! The certificate story, one step a module: become a CA, make a key and a CSR, sign the CSR,
//! inspect the result. The binary `demo_pki` is a thin layer over these.

pub mod ca;
pub mod csr;
pub mod demo_set;
pub mod inspect;
pub mod names;
pub mod sign;
pub mod validity;
pub mod verify;

pub use rcgen::KeyPair;

use anyhow::{Result, anyhow};

/// A random, positive 128-bit serial number (RFC 5280 allows up to 20 octets; CAs must use at
/// least 64 random bits since the CA/Browser Forum ballot 164).
pub(crate) fn random_serial() -> rcgen::SerialNumber {
    let mut bytes: [u8; 16] = rand::random();
    bytes[0] &= 0x7f;
    bytes[0] |= 0x40; // keep all 16 octets significant
    rcgen::SerialNumber::from_slice(&bytes)
}

pub(crate) fn rcgen_err(step: &str) -> impl FnOnce(rcgen::Error) -> anyhow::Error + '_ {
    move |e| anyhow!("{step}: {e}")
}

/// Parses every `CERTIFICATE` block of a PEM text, in order.
pub fn certificates_from_pem(
    text: &str,
    shown: &str,
) -> Result<Vec<rustls_pki_types::CertificateDer<'static>>> {
    use rustls_pki_types::{CertificateDer, pem::PemObject};
    let certs = CertificateDer::pem_slice_iter(text.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| anyhow!("{shown} holds a damaged PEM block ({e})"))?;
    if certs.is_empty() {
        return Err(anyhow!(
            "{shown} holds no certificate (no -----BEGIN CERTIFICATE----- block). Give a PEM certificate file."
        ));
    }
    Ok(certs)
}
