//! THE trust core: the one place where a CA file becomes the judge of a server's certificate.
//! demo_client, `demo_client --explain` (which wraps the judge in a witness, see
//! [`super::witness`]), `demo_pki verify`, demo_server's start-up check and the tests all get
//! their verifier from [`verifier`], and their verdict from [`verify_chain`] or from rustls
//! during a handshake; what a refusal means is classified once, in [`super::failure`].
//!
//! Two variations, for demo_client only, both here so that every trust decision stays in one
//! file: [`Pinned`] (`--pin`) runs the same verifier, then requires the site's public key to be
//! the pinned one; [`AnyoneCanImpersonate`] (`--insecure`) believes any certificate, and is named
//! for what it allows.
//!
//! How we know system roots are not consulted: the verifier is rustls's `WebPkiServerVerifier`,
//! whose roots start from `RootCertStore::empty()` and get only the file's certificates, and
//! reqwest is handed a `ClientConfig` built on it with `tls_backend_preconfigured` (see
//! [`super::client`]). The test `system_roots_are_not_trusted` in `crates/demo/tests/client.rs`
//! checks it end to end.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Result, anyhow, bail};
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::{DigitallySignedStruct, SignatureScheme};
use rustls_pki_types::pem::{PemObject, SectionKind};
use rustls_pki_types::{CertificateDer, CertificateRevocationListDer, ServerName, UnixTime};

use super::failure::{CertFailure, Presented};
use crate::layout;
use crate::pki::inspect::CertSummary;

/// The certificates of the CAs the client believes, and the file they came from.
#[derive(Clone, Debug)]
pub struct TrustedCas {
    pub file: PathBuf,
    pub certs: Vec<CertificateDer<'static>>,
    pub summaries: Vec<CertSummary>,
    /// Revocation lists to check the site's certificate against (`demo_client --crl`); none by
    /// default, as a browser checks none for a private CA.
    pub crls: Vec<CertificateRevocationListDer<'static>>,
}

impl TrustedCas {
    /// Reads every certificate of a PEM file. Errors name the file and the next step.
    pub fn load(file: &Path) -> Result<Self> {
        let shown = file.display();
        if matches!(file.try_exists(), Ok(false)) {
            let cwd = match std::env::current_dir() {
                Ok(dir) if file.is_relative() => format!(" (looked in {})", dir.display()),
                _ => String::new(),
            };
            bail!(
                "the CA file {shown} does not exist{cwd}. Run demo_client from the repository root, \
                 pass the CA certificate with --ca-file, or make the demo set: {}",
                layout::REGENERATE
            );
        }
        let text = crate::files::read_bounded(file, crate::files::CA_FILE_LIMIT, "the CA file")?;
        let blocks = <(SectionKind, Vec<u8>)>::pem_slice_iter(&text)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| {
                anyhow!(
                    "the CA file {shown} holds a damaged PEM block ({}). Give the CA's certificate in PEM form with --ca-file.",
                    crate::pki::pem_error_words(&e)
                )
            })?;
        // pki-types skips ENCRYPTED PRIVATE KEY blocks, so look for the marker itself.
        if text.windows(16).any(|w| w == b"PRIVATE KEY-----") {
            bail!(
                "the CA file {shown} holds a private key. A client needs only the CA's certificate \
                 (ca_public_key.pem); keep keys away from clients."
            );
        }
        let mut certs = Vec::new();
        let mut summaries = Vec::new();
        for (kind, der) in blocks {
            if kind != SectionKind::Certificate {
                continue;
            }
            let n = certs.len() + 1;
            let summary = CertSummary::from_der(&der)
                .map_err(|e| anyhow!("the CA file {shown}, certificate {n}: {e}"))?;
            let der = CertificateDer::from(der);
            // The same check reqwest makes when it builds the client, done here so that the
            // error can name the file rather than say "invalid certificate".
            rustls::RootCertStore::empty()
                .add(der.clone())
                .map_err(|e| {
                    anyhow!("the CA file {shown}, certificate {n}, cannot be a trust anchor: {e}")
                })?;
            certs.push(der);
            summaries.push(summary);
        }
        if certs.is_empty() {
            bail!(
                "the CA file {shown} holds no certificate (no -----BEGIN CERTIFICATE----- block). \
                 Give the CA's PEM certificate with --ca-file (the demo's is {}).",
                layout::CA_CERT
            );
        }
        Ok(TrustedCas {
            file: file.to_path_buf(),
            certs,
            summaries,
            crls: Vec::new(),
        })
    }

    /// CAs held in memory (the failure lab's, made at its start); `file` is where they were
    /// written, for the words.
    pub fn from_certs(file: &Path, certs: Vec<CertificateDer<'static>>) -> Result<Self> {
        let summaries = certs
            .iter()
            .map(|der| CertSummary::from_der(der))
            .collect::<Result<_>>()?;
        Ok(TrustedCas {
            file: file.to_path_buf(),
            certs,
            summaries,
            crls: Vec::new(),
        })
    }

    /// Adds every CRL of a PEM file (`-----BEGIN X509 CRL-----`): the verifier then refuses a
    /// site certificate listed in one as revoked.
    pub fn with_crl_file(mut self, file: &Path) -> Result<Self> {
        let shown = file.display();
        let text = crate::files::read_bounded(file, crate::files::CA_FILE_LIMIT, "the CRL file")?;
        let crls = CertificateRevocationListDer::pem_slice_iter(&text)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| {
                anyhow!(
                    "the CRL file {shown} holds a damaged PEM block ({}). Give a PEM CRL with --crl.",
                    crate::pki::pem_error_words(&e)
                )
            })?;
        if crls.is_empty() {
            bail!(
                "the CRL file {shown} holds no CRL (no -----BEGIN X509 CRL----- block). Give a PEM \
                 certificate revocation list with --crl (demo_lab writes one: lab_output/crl.pem)."
            );
        }
        self.crls.extend(crls);
        Ok(self)
    }

    /// The CAs' names, for messages: `"HTTPS Demo CA (localhost only)"`.
    pub fn names(&self) -> String {
        self.summaries
            .iter()
            .map(ca_name)
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The trusted CA whose name is the issuer of `cert`, if one is.
    pub fn issuer_of(&self, cert: &CertSummary) -> Option<&CertSummary> {
        self.summaries
            .iter()
            .find(|ca| ca.subject_der == cert.issuer_der)
    }
}

/// A CA's own name: its common name when it has one.
pub fn ca_name(ca: &CertSummary) -> String {
    if ca.self_signed {
        ca.issuer_name.clone()
    } else if !ca.has_sans {
        ca.names[0].to_string()
    } else {
        ca.subject.clone()
    }
}

/// The one judge of a server's certificate: rustls's `WebPkiServerVerifier`, with the
/// certificates of `cas` as its only roots. Nothing else in the workspace builds one.
pub fn verifier(cas: &TrustedCas) -> Result<Arc<WebPkiServerVerifier>> {
    let mut roots = rustls::RootCertStore::empty();
    for der in &cas.certs {
        roots
            .add(der.clone())
            .map_err(|e| anyhow!("the CA file {}: {e}", cas.file.display()))?;
    }
    // With CRLs, only the site's certificate is looked up, and a certificate whose issuer
    // published no CRL is not refused for that: a CRL given is evidence against the certificates
    // it lists, not a demand that every CA publish one.
    WebPkiServerVerifier::builder_with_provider(Arc::new(roots), super::provider())
        .with_crls(cas.crls.iter().cloned())
        .only_check_end_entity_revocation()
        .allow_unknown_revocation_status()
        .build()
        .map_err(|e| match e {
            rustls::client::VerifierBuilderError::InvalidCrl(_) => anyhow!(
                "a CRL given with --crl cannot be read as an X.509 revocation list (damaged or not a CRL). \
                 Give the CRL file the CA published (PEM or DER inside PEM)."
            ),
            e => anyhow!("the CA file {}: {e}", cas.file.display()),
        })
}

/// Whether demo_server asks visitors for a certificate (mutual TLS), and what a visitor without
/// one gets: `required` refuses the handshake, `optional` serves the page anyway.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientAuth {
    Required,
    Optional,
}

impl ClientAuth {
    pub fn name(self) -> &'static str {
        match self {
            ClientAuth::Required => "required",
            ClientAuth::Optional => "optional",
        }
    }
}

impl std::str::FromStr for ClientAuth {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "required" => Ok(ClientAuth::Required),
            "optional" => Ok(ClientAuth::Optional),
            other => Err(format!(
                "{other:?} is not a client-auth mode; choose required (no certificate, no connection) or optional \
                 (a visitor without one still gets the page)"
            )),
        }
    }
}

/// The one judge of a visitor's certificate (mutual TLS), beside the judge of a server's: rustls's
/// `WebPkiClientVerifier` with the certificates of `cas` as its only roots. It checks the chain,
/// the signatures, the dates and that the certificate may identify a client (extended key usage
/// clientAuth); it checks no name, since a client has no name it connects to. The server's
/// CertificateRequest names these CAs, so that a client can pick the certificate they issued.
pub fn client_verifier(
    cas: &TrustedCas,
    mode: ClientAuth,
) -> Result<Arc<dyn rustls::server::danger::ClientCertVerifier>> {
    let mut roots = rustls::RootCertStore::empty();
    for der in &cas.certs {
        roots
            .add(der.clone())
            .map_err(|e| anyhow!("the client CA file {}: {e}", cas.file.display()))?;
    }
    let builder = rustls::server::WebPkiClientVerifier::builder_with_provider(
        Arc::new(roots),
        super::provider(),
    );
    let builder = match mode {
        ClientAuth::Required => builder,
        ClientAuth::Optional => builder.allow_unauthenticated(),
    };
    builder
        .build()
        .map_err(|e| anyhow!("the client CA file {}: {e}", cas.file.display()))
}

/// The name a client asks for, as rustls checks it: a DNS name or an IP address.
pub fn server_name(name: &str) -> Result<ServerName<'static>> {
    ServerName::try_from(name.to_string())
        .map_err(|_| anyhow!("{name} is neither a DNS name nor an IP address"))
}

/// Judges `chain` (the site's certificate first, then any intermediates) for `name` at `now`,
/// offline, exactly as a handshake would: the same verifier, the same call. A refusal comes
/// back classified.
pub fn verify_chain(
    cas: &TrustedCas,
    chain: &[CertificateDer<'static>],
    name: &ServerName<'static>,
    now: UnixTime,
) -> Result<Result<(), CertFailure>> {
    let judge = verifier(cas)?;
    let Some((leaf, intermediates)) = chain.split_first() else {
        bail!("no certificate to verify");
    };
    Ok(judge
        .verify_server_cert(leaf, intermediates, name, &[], now)
        .map(|_| ())
        .map_err(|e| {
            CertFailure::classify(
                &e,
                &Presented {
                    chain,
                    name: &name.to_str(),
                    cas,
                },
            )
            // The verifier refuses only certificates; anything else is still a refusal.
            .unwrap_or(CertFailure::Other { why: None })
        }))
}

/// An SPKI pin, as curl's `--pinnedpubkey` and HPKP write it: `sha256//` and the base64 of the
/// SHA-256 of the certificate's SubjectPublicKeyInfo. It names a key, not a certificate: a
/// renewed certificate for the same key keeps its pin, and no CA can make another that matches.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpkiPin(pub [u8; 32]);

impl SpkiPin {
    /// Reads `sha256//BASE64`.
    pub fn parse(text: &str) -> Result<SpkiPin> {
        use base64::Engine;
        let how = "give it as sha256// and the base64 of the SHA-256 of the server's public key \
                   (demo_pki inspect prints it as \"Pin:\")";
        let Some(b64) = text.trim().strip_prefix("sha256//") else {
            bail!("the pin {text:?} does not start with sha256//: {how}");
        };
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .map_err(|_| anyhow!("the pin {text:?} is not valid base64 after sha256//: {how}"))?;
        let hash: [u8; 32] = bytes.try_into().map_err(|b: Vec<u8>| {
            anyhow!(
                "the pin {text:?} holds {} bytes, and a SHA-256 is 32: {how}",
                b.len()
            )
        })?;
        Ok(SpkiPin(hash))
    }

    /// The pin of a certificate's public key.
    pub fn of_certificate(der: &[u8]) -> Result<SpkiPin> {
        use sha2::Digest;
        use x509_parser::prelude::{FromDer, X509Certificate};
        let (_, cert) = X509Certificate::from_der(der)
            .map_err(|e| anyhow!("not a valid X.509 certificate ({e})"))?;
        Ok(SpkiPin(
            sha2::Sha256::digest(cert.tbs_certificate.subject_pki.raw).into(),
        ))
    }
}

impl std::fmt::Display for SpkiPin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use base64::Engine;
        write!(
            f,
            "sha256//{}",
            base64::engine::general_purpose::STANDARD.encode(self.0)
        )
    }
}

/// Why a pinned client refused a certificate that its CA file would have accepted: carried to
/// the classification inside `CertificateError::Other`, and read back by type.
#[derive(Debug)]
pub struct PinMismatch {
    pub pinned: SpkiPin,
    /// `None` when the certificate's public key could not be read.
    pub presented: Option<SpkiPin>,
}

impl std::fmt::Display for PinMismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the server's public key does not match the pin")
    }
}

impl std::error::Error for PinMismatch {}

/// The trust core's verifier, then one more check: the site's public key must be the pinned
/// one. A certificate from a CA you trust is not enough: a CA you trust (or a root someone
/// slipped into your store) could have signed a forgery, and it would carry another key.
#[derive(Debug)]
pub struct Pinned {
    inner: Arc<WebPkiServerVerifier>,
    pin: SpkiPin,
}

impl Pinned {
    pub fn new(cas: &TrustedCas, pin: SpkiPin) -> Result<Pinned> {
        Ok(Pinned {
            inner: verifier(cas)?,
            pin,
        })
    }
}

impl ServerCertVerifier for Pinned {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let verified = self.inner.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        )?;
        let presented = SpkiPin::of_certificate(end_entity).ok();
        if presented.as_ref() == Some(&self.pin) {
            return Ok(verified);
        }
        Err(rustls::Error::InvalidCertificate(
            rustls::CertificateError::Other(rustls::OtherError(Arc::new(PinMismatch {
                pinned: self.pin.clone(),
                presented,
            }))),
        ))
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// `demo_client --insecure`, `curl -k`, Python's `verify=False`: any certificate at all is
/// accepted, so anyone on the path can pose as the server with one made a second ago. Only the
/// handshake's own signature is still checked, which proves only that the man in the middle
/// holds the key of the certificate he made. It exists to show that danger, nothing else.
#[derive(Debug)]
pub struct AnyoneCanImpersonate {
    provider: Arc<rustls::crypto::CryptoProvider>,
}

impl AnyoneCanImpersonate {
    pub fn new() -> AnyoneCanImpersonate {
        AnyoneCanImpersonate {
            provider: super::provider(),
        }
    }
}

impl Default for AnyoneCanImpersonate {
    fn default() -> Self {
        Self::new()
    }
}

impl ServerCertVerifier for AnyoneCanImpersonate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_text(text: &str) -> Result<TrustedCas> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ca.pem");
        std::fs::write(&path, text).unwrap();
        TrustedCas::load(&path)
    }

    #[test]
    fn the_bundled_ca_loads_with_its_name() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let cas = TrustedCas::load(&root.join(layout::CA_CERT)).unwrap();
        assert_eq!(cas.certs.len(), 1);
        assert_eq!(cas.names(), "HTTPS Demo CA (localhost only)");
    }

    #[test]
    fn missing_garbage_and_key_files_are_refused_by_name() {
        let err = TrustedCas::load(Path::new("/nonexistent/ca.pem"))
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("the CA file /nonexistent/ca.pem does not exist"),
            "{err}"
        );
        assert!(err.contains(layout::REGENERATE), "{err}");

        let err = load_text("hello\n").unwrap_err().to_string();
        assert!(err.contains("holds no certificate"), "{err}");

        let err = load_text("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("certificate 1"), "{err}");

        let err = load_text("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("holds a private key"), "{err}");
    }

    #[test]
    fn pins_read_back_as_written_and_bad_ones_are_refused_in_words() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let cas = TrustedCas::load(&root.join(layout::CA_CERT)).unwrap();
        let pin = SpkiPin::of_certificate(&cas.certs[0]).unwrap();
        assert_eq!(SpkiPin::parse(&pin.to_string()).unwrap(), pin);
        assert!(pin.to_string().starts_with("sha256//"));
        for bad in ["abc", "sha256//!!!", "sha256//AAAA"] {
            let err = SpkiPin::parse(bad).unwrap_err().to_string();
            assert!(err.contains("demo_pki inspect"), "{err}");
        }
    }
}
