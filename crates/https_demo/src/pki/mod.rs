//! The certificate story, one step a module: become a CA, make a key and a CSR, sign the CSR,
//! inspect the result. The binary `demo_pki` is a thin layer over these.

pub mod ca;
pub mod client_cert;
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
        .map_err(|e| anyhow!("{shown} holds a damaged PEM block: {}", pem_error_words(&e)))?;
    if certs.is_empty() {
        return Err(anyhow!(
            "{shown} holds no certificate (no -----BEGIN CERTIFICATE----- block). Give a PEM certificate file."
        ));
    }
    Ok(certs)
}

/// The words for a PEM block whose base64 does not decode.
pub(crate) const BASE64_DAMAGED: &str = "the text between its -----BEGIN and -----END lines is not valid base64 \
     (a stray character, or a line cut or changed)";

/// A PEM parsing error in words. pki-types' own text prints the markers as byte arrays
/// ("missing section end marker: [67, 69, 82, ...]").
pub fn pem_error_words(e: &rustls_pki_types::pem::Error) -> String {
    use rustls_pki_types::pem::Error;
    let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).trim_end().to_string();
    match e {
        Error::MissingSectionEnd { end_marker } => {
            let label = text(end_marker);
            format!(
                "a -----BEGIN {label}----- line has no -----END {label}----- line after it (is the file cut short?)"
            )
        }
        Error::IllegalSectionStart { line } => {
            let mut line = text(line);
            if line.chars().count() > 80 {
                line = line.chars().take(80).collect::<String>() + "...";
            }
            format!(
                "the line \"{line}\" starts a PEM block but is not of the form -----BEGIN LABEL-----"
            )
        }
        Error::Base64Decode(_) => BASE64_DAMAGED.into(),
        Error::SectionTooLarge => "one of its PEM blocks is larger than 256 MB".into(),
        Error::NoItemsFound => "it holds no PEM block of the kind wanted".into(),
        Error::Io(e) => format!("it could not be read ({e})"),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls_pki_types::pem::{PemObject, SectionKind};

    fn error_of(pem: &str) -> String {
        let e = <(SectionKind, Vec<u8>)>::pem_slice_iter(pem.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .unwrap_err();
        pem_error_words(&e)
    }

    #[test]
    fn pem_errors_are_words_not_byte_arrays() {
        let cut = "-----BEGIN CERTIFICATE-----\nMIIB\n";
        assert_eq!(
            error_of(cut),
            "a -----BEGIN CERTIFICATE----- line has no -----END CERTIFICATE----- line after it (is the file cut short?)"
        );
        let start = "-----BEGIN CERTIFICATE---\nMIIB\n-----END CERTIFICATE-----\n";
        assert!(error_of(start).contains("\"-----BEGIN CERTIFICATE---\" starts a PEM block"));
        let b64 = "-----BEGIN CERTIFICATE-----\nMI*B\n-----END CERTIFICATE-----\n";
        assert!(error_of(b64).contains("not valid base64"));
        for pem in [cut, start, b64] {
            let words = error_of(pem);
            assert!(!words.contains('['), "{words}");
        }
    }
}
