//! Observers for the one connection `demo_client --explain` tells the story of. In TLS 1.3 the
//! certificate travels encrypted, so the bytes on the wire cannot show it: the client's own
//! verifier is where it can be seen. These wrappers record what passes through and hand every
//! decision to the real rustls code unchanged.

use std::sync::{Arc, Mutex, MutexGuard};

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::{DigitallySignedStruct, DistinguishedName, KeyLog, KeyLogFile, SignatureScheme};
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};

/// What the verifier was shown and what it decided.
#[derive(Clone, Debug, Default)]
pub struct Seen {
    /// The chain as the server presented it, its own certificate first.
    pub chain: Vec<CertificateDer<'static>>,
    /// The name the certificate was checked against.
    pub name: Option<String>,
    /// The verdict of rustls's `WebPkiServerVerifier` on the chain.
    pub verdict: Option<Result<(), rustls::Error>>,
    /// The server's signature over the handshake, made with the certificate's private key.
    pub handshake_signature: Option<(SignatureScheme, Result<(), rustls::Error>)>,
}

/// A [`ServerCertVerifier`] that records, then returns exactly what `WebPkiServerVerifier`
/// returns: the trust decision stays rustls's.
#[derive(Debug)]
pub struct Witness {
    inner: Arc<WebPkiServerVerifier>,
    seen: Mutex<Seen>,
}

impl Witness {
    pub fn new(inner: Arc<WebPkiServerVerifier>) -> Witness {
        Witness {
            inner,
            seen: Mutex::new(Seen::default()),
        }
    }

    pub fn seen(&self) -> Seen {
        self.lock().clone()
    }

    fn lock(&self) -> MutexGuard<'_, Seen> {
        self.seen.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn note_signature(
        &self,
        dss: &DigitallySignedStruct,
        result: &Result<HandshakeSignatureValid, rustls::Error>,
    ) {
        self.lock().handshake_signature = Some((
            dss.scheme,
            result.as_ref().map(|_| ()).map_err(Clone::clone),
        ));
    }
}

impl ServerCertVerifier for Witness {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let result = self.inner.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        );
        let mut seen = self.lock();
        seen.chain = std::iter::once(end_entity)
            .chain(intermediates)
            .map(|c| c.clone().into_owned())
            .collect();
        seen.name = Some(server_name.to_str().into_owned());
        seen.verdict = Some(result.as_ref().map(|_| ()).map_err(Clone::clone));
        result
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let result = self.inner.verify_tls12_signature(message, cert, dss);
        self.note_signature(dss, &result);
        result
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let result = self.inner.verify_tls13_signature(message, cert, dss);
        self.note_signature(dss, &result);
        result
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }

    fn requires_raw_public_keys(&self) -> bool {
        self.inner.requires_raw_public_keys()
    }

    fn root_hint_subjects(&self) -> Option<&[DistinguishedName]> {
        self.inner.root_hint_subjects()
    }
}

/// One secret rustls derived: its key-log label and the client random it is filed under. The
/// secret itself is not kept.
#[derive(Clone, Debug)]
pub struct SecretLabel {
    pub label: String,
    pub client_random: Vec<u8>,
}

/// A [`KeyLog`] that notes which secrets were derived, and writes them to SSLKEYLOGFILE through
/// rustls's own `KeyLogFile` when asked to.
#[derive(Debug)]
pub struct KeyLogWitness {
    file: Option<KeyLogFile>,
    labels: Mutex<Vec<SecretLabel>>,
}

impl KeyLogWitness {
    pub fn new(to_file: bool) -> KeyLogWitness {
        KeyLogWitness {
            file: to_file.then(KeyLogFile::new),
            labels: Mutex::new(Vec::new()),
        }
    }

    pub fn labels(&self) -> Vec<SecretLabel> {
        self.labels
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

impl KeyLog for KeyLogWitness {
    fn log(&self, label: &str, client_random: &[u8], secret: &[u8]) {
        self.labels
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(SecretLabel {
                label: label.to_string(),
                client_random: client_random.to_vec(),
            });
        if let Some(file) = &self.file {
            file.log(label, client_random, secret);
        }
    }
}
