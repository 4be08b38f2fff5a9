//! Step 3 of getting a certificate, "the CA verifies the information provided", done for real:
//! the CA gives us a token, and its validator connects to localhost on our port to see that we
//! can answer with it (and our account key's thumbprint). Two ways, both on demo_server's one
//! listener:
//!
//! - `tls-alpn-01` (RFC 8737): the validator opens a TLS handshake offering only the ALPN
//!   protocol `acme-tls/1`; we answer with a self-signed certificate for the name that carries
//!   the SHA-256 of the key authorization in a critical acmeIdentifier extension. The handshake
//!   is the whole proof: the connection is then closed.
//! - `http-01` (RFC 8555 §8.3): the validator sends a plain-HTTP `GET
//!   /.well-known/acme-challenge/TOKEN` and expects the key authorization as the body. Real CAs
//!   send it to port 80; pebble to its `httpPort`, which the lab sets to demo_server's TLS port.
//!   That port already tells plain HTTP from TLS by the first byte (server/sniff.rs), so the
//!   token is answered there, in clear, as the standard requires, and any other plain request
//!   still gets the 400 that says to use https://.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use anyhow::{Result, anyhow};
use rcgen::{CertificateParams, CustomExtension, KeyPair};
use rustls::sign::CertifiedKey;
use rustls_pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

/// The ALPN protocol of tls-alpn-01: a client offering it is the CA's validator.
pub const ACME_TLS_ALPN: &[u8] = b"acme-tls/1";
/// Where http-01 tokens live.
pub const HTTP01_PREFIX: &str = "/.well-known/acme-challenge/";

/// The challenges we are answering right now, shared by the order (which sets them) and the
/// listener (which answers the validator).
#[derive(Default)]
pub struct Answers {
    /// http-01: token -> key authorization.
    http01: RwLock<HashMap<String, String>>,
    /// tls-alpn-01: name -> the acmeIdentifier certificate.
    tls_alpn01: RwLock<HashMap<String, Arc<CertifiedKey>>>,
    /// How many times the validator got an answer from us: our side of the validation.
    seen: AtomicU64,
}

impl Answers {
    pub fn set_http01(&self, token: &str, key_authorization: &str) {
        if let Ok(mut map) = self.http01.write() {
            map.insert(token.to_string(), key_authorization.to_string());
        }
    }

    /// Makes the acmeIdentifier certificate for `name` from the SHA-256 of the key
    /// authorization, and serves it to validators asking for `name`.
    pub fn set_tls_alpn01(&self, name: &str, digest: &[u8]) -> Result<()> {
        let cert = acme_identifier_certificate(name, digest)?;
        if let Ok(mut map) = self.tls_alpn01.write() {
            map.insert(name.to_string(), cert);
        }
        Ok(())
    }

    /// Forgets every challenge: once the CA has decided, nobody should get an answer.
    pub fn clear(&self) {
        if let Ok(mut map) = self.http01.write() {
            map.clear();
        }
        if let Ok(mut map) = self.tls_alpn01.write() {
            map.clear();
        }
    }

    /// The answer to a token. A request for any token is a validator reaching us (with an
    /// unknown one, an answer it will not accept: the other server's, or an old order's).
    pub fn http01(&self, token: &str) -> Option<String> {
        self.seen.fetch_add(1, Ordering::Relaxed);
        self.http01.read().ok()?.get(token).cloned()
    }

    /// The validator's tls-alpn-01 handshake completed on our listener: narrate it.
    pub fn tls_alpn01_seen(&self, peer: SocketAddr, sni: Option<&str>) {
        self.seen.fetch_add(1, Ordering::Relaxed);
        println!(
            "ACME: the CA's validator connected from {peer} asking for {} with ALPN acme-tls/1: we showed \
             it the challenge certificate (our answer inside); it now knows that whoever holds our account \
             key answers on this port.",
            sni.unwrap_or("no name")
        );
    }

    /// How many validator connections we answered so far.
    pub fn seen(&self) -> u64 {
        self.seen.load(Ordering::Relaxed)
    }

    pub fn tls_alpn01(&self, name: &str) -> Option<Arc<CertifiedKey>> {
        self.tls_alpn01.read().ok()?.get(name).cloned()
    }
}

/// RFC 8737 §3: self-signed, the name in subjectAltName, and the critical acmeIdentifier
/// extension holding the digest. Its key is made for this one proof and dropped with it.
fn acme_identifier_certificate(name: &str, digest: &[u8]) -> Result<Arc<CertifiedKey>> {
    if digest.len() != 32 {
        return Err(anyhow!("a tls-alpn-01 digest is 32 bytes (SHA-256)"));
    }
    let key = KeyPair::generate().map_err(|e| anyhow!("cannot make the challenge key: {e}"))?;
    let mut params = CertificateParams::new(vec![name.to_string()])
        .map_err(|e| anyhow!("cannot make the challenge certificate for {name}: {e}"))?;
    params
        .custom_extensions
        .push(CustomExtension::new_acme_identifier(digest));
    let cert = params
        .self_signed(&key)
        .map_err(|e| anyhow!("cannot sign the challenge certificate: {e}"))?;
    let der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    let signing = crate::tls::provider()
        .key_provider
        .load_private_key(der)
        .map_err(|e| anyhow!("rustls cannot use the challenge key: {e}"))?;
    Ok(Arc::new(CertifiedKey::new(
        vec![cert.der().clone()],
        signing,
    )))
}

/// The path's token, when a plain-HTTP request head asks for an http-01 answer we hold.
pub fn http01_token(request_line: &str) -> Option<&str> {
    let mut words = request_line.split_whitespace();
    (words.next()? == "GET").then_some(())?;
    words.next()?.strip_prefix(HTTP01_PREFIX)
}

/// Answers the validator's http-01 request with the key authorization, and narrates it.
pub async fn answer_http01(mut stream: TcpStream, peer: SocketAddr, token: &str, answer: &str) {
    let response = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{answer}",
        answer.len()
    );
    let _ = stream.write_all(response.as_bytes()).await;
    let _ = stream.shutdown().await;
    println!(
        "ACME: the CA's validator connected from {peer} over plain HTTP and asked for \
         {HTTP01_PREFIX}{token}: we answered with the key authorization (the token and our account \
         key's thumbprint); it now knows that whoever holds our account key answers on this port."
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_get_under_the_challenge_path_is_a_token() {
        assert_eq!(
            http01_token("GET /.well-known/acme-challenge/abc HTTP/1.1"),
            Some("abc")
        );
        assert_eq!(http01_token("GET / HTTP/1.1"), None);
        assert_eq!(
            http01_token("POST /.well-known/acme-challenge/abc HTTP/1.1"),
            None
        );
    }

    #[test]
    fn the_challenge_certificate_carries_the_digest_in_a_critical_extension() {
        let answers = Answers::default();
        answers.set_tls_alpn01("localhost", &[7u8; 32]).unwrap();
        let cert = answers.tls_alpn01("localhost").unwrap();
        let (_, parsed) = x509_parser::parse_x509_certificate(cert.cert[0].as_ref()).unwrap();
        // id-pe-acmeIdentifier, 1.3.6.1.5.5.7.1.31 (RFC 8737 §6.1).
        let ext = parsed
            .extensions()
            .iter()
            .find(|e| e.oid.to_id_string() == "1.3.6.1.5.5.7.1.31")
            .expect("acmeIdentifier extension");
        assert!(ext.critical);
        // An OCTET STRING of the 32 bytes.
        assert_eq!(&ext.value[2..], &[7u8; 32]);
        assert!(answers.tls_alpn01("example.com").is_none());
        answers.clear();
        assert!(answers.tls_alpn01("localhost").is_none());
    }
}
