//! The facts of one connection's story, step by step. The text and the JSON are two renderings
//! of these same facts; nothing is said that is not here.

use serde::Serialize;

use crate::wire::flight::ClearMessage;
use crate::wire::hello::{ClientHello, ServerHello};
use crate::wire::iana::{ContentType, HandshakeType, NamedGroup, named, named_all, named_opt};
use crate::wire::suite::RecordOverhead;

#[derive(Clone, Debug, Serialize)]
pub struct Story {
    pub url: String,
    /// The name the certificate must hold.
    pub server_name: String,
    pub ca_file: String,
    /// Where the TLS secrets were written, when SSLKEYLOGFILE asked for it.
    pub key_log_file: Option<String>,
    pub tcp: Option<Tcp>,
    pub client_hello: Option<ClientHelloStep>,
    pub server_hello: Option<ServerHelloStep>,
    pub certificate: Option<CertificateStep>,
    pub keys: Option<Keys>,
    pub exchange: Option<Exchange>,
    pub eavesdropper: Option<Eavesdropper>,
    /// The step where the story stopped, and why. `None` when the secret was fetched.
    pub failure: Option<Failure>,
    /// Every record of the connection, named: the sequence diagram (the server's /handshake
    /// draws the same list from its side).
    pub messages: Vec<crate::story::sequence::Message>,
}

impl Story {
    /// Whether the server chose TLS 1.2, in which the certificate travels in clear and
    /// encryption starts only at ChangeCipherSpec.
    pub fn is_tls12(&self) -> bool {
        self.server_hello
            .as_ref()
            .is_some_and(|s| s.hello.is_tls12())
    }
}

/// Step 1.
#[derive(Clone, Debug, Serialize)]
pub struct Tcp {
    /// Every address the name resolved to, in the order tried.
    pub resolved: Vec<String>,
    /// Addresses that were tried first and failed, with why.
    pub failed_attempts: Vec<String>,
    pub connected_to: Option<String>,
    pub local_address: Option<String>,
    pub micros: u64,
}

/// Step 2.
#[derive(Clone, Debug, Serialize)]
pub struct ClientHelloStep {
    pub at_micros: u64,
    /// The ClientHello message with its handshake header, as counted on the wire.
    pub bytes: usize,
    pub hello: ClientHello,
}

/// Step 3.
#[derive(Clone, Debug, Serialize)]
pub struct ServerHelloStep {
    pub at_micros: u64,
    pub bytes: usize,
    pub hello: ServerHello,
    /// The key-exchange group: from the ServerHello's key share in TLS 1.3, from the
    /// ServerKeyExchange message in TLS 1.2.
    #[serde(serialize_with = "named_opt")]
    pub group: Option<NamedGroup>,
    pub group_explained: Option<String>,
    pub post_quantum: bool,
    /// When the server first answered with a HelloRetryRequest.
    pub retry: Option<Retry>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Retry {
    /// The group the server asked for.
    #[serde(serialize_with = "named_opt")]
    pub group: Option<NamedGroup>,
    /// The second ClientHello, with a key share for that group.
    pub client_hello: ClientHello,
    pub client_hello_bytes: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Passed,
    Failed,
    NotChecked,
}

/// Step 4.
#[derive(Clone, Debug, Serialize)]
pub struct CertificateStep {
    pub outcome: Outcome,
    /// TLS 1.3 sends the certificate encrypted; TLS 1.2 in clear.
    pub encrypted: bool,
    /// In TLS 1.2, the size of the Certificate message read in clear on the wire.
    pub seen_in_clear_bytes: Option<usize>,
    pub chain: Vec<ChainCertificate>,
    pub checks: Vec<Check>,
    /// The CA of the trusted file that the chain leads to.
    pub trusted_ca: Option<String>,
    /// The failure's stable name (`expired`, `self_signed`, ...) when the certificate was
    /// refused: the same classification as demo_client's and `demo_pki verify`'s.
    pub failure: Option<&'static str>,
    /// When it verified: what strict clients (Python 3.13, `openssl verify -x509_strict`) would
    /// still refuse in the chain.
    pub strict_warning: Option<String>,
    /// Mutual TLS: the server's CertificateRequest and this client's answer, when it asked.
    pub client_auth: Option<ClientAuthStep>,
}

/// Mutual TLS, as this connection carried it: what the server's CertificateRequest asked for
/// (as rustls read it from the server's bytes), and whether the client answered with a
/// Certificate and a CertificateVerify (the signature over the handshake so far that proves it
/// holds the certificate's key).
#[derive(Clone, Debug, Serialize)]
pub struct ClientAuthStep {
    /// The CAs the server accepts, by name.
    pub accepted_cas: Vec<String>,
    /// The signature schemes the server accepts for the CertificateVerify.
    #[serde(serialize_with = "named_all")]
    pub signature_schemes: Vec<rustls::SignatureScheme>,
    /// The sentence of the certificate the client sent; None when it had none (an empty
    /// Certificate message, and no CertificateVerify).
    pub presented: Option<String>,
    /// TLS 1.2 sends the client's Certificate in clear; TLS 1.3 encrypts it.
    pub in_clear: bool,
}

#[derive(Clone, Debug, Serialize)]
pub struct ChainCertificate {
    /// "From A to B I am X according to Y".
    pub sentence: String,
    pub subject: String,
    pub issuer: String,
    pub signature: String,
    pub sha256: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct Check {
    /// dates, usage, chain, signatures, name_constraints, name, key_possession
    pub check: &'static str,
    pub outcome: Outcome,
    pub detail: String,
}

/// Step 5.
#[derive(Clone, Debug, Serialize)]
pub struct Keys {
    #[serde(serialize_with = "named_opt")]
    pub group: Option<NamedGroup>,
    pub post_quantum: bool,
    /// The key shares were made for this connection only (forward secrecy).
    pub ephemeral: bool,
    /// The secrets rustls derived, by their key-log labels. The secrets are not kept.
    pub secrets: Vec<String>,
    /// All of them were filed under the client random that crossed the wire.
    pub filed_under_client_random: bool,
}

/// Step 6.
#[derive(Clone, Debug, Serialize)]
pub struct Exchange {
    /// "HTTP/2" or "HTTP/1.1", as ALPN chose.
    pub http_version: String,
    pub alpn: Option<String>,
    pub request: Traffic,
    pub response: Traffic,
    /// What each encrypted record adds to the bytes it carries, for this version and suite
    /// (its total, in the JSON).
    pub record_overhead: Option<RecordOverhead>,
    pub status: u16,
    pub reason: String,
    pub content_type: Option<String>,
    /// The body: the secret message, or the JSON of /connection.
    pub message: String,
    pub micros: u64,
}

impl Traffic {
    /// The bytes of TLS's own messages among these records (session tickets, the alert that
    /// closes the connection): what is left of the wire bytes once the HTTP bytes and every
    /// record's overhead are counted. They are inside `wire_bytes` and `records`, not beside.
    pub fn tls_own_bytes(&self, overhead: &RecordOverhead) -> u64 {
        self.wire_bytes
            .saturating_sub(self.plaintext_bytes + (overhead.total() * self.records) as u64)
    }
}

/// One direction of the encrypted exchange, after the handshake.
#[derive(Clone, Debug, Serialize)]
pub struct Traffic {
    /// HTTP bytes, as hyper wrote or read them.
    pub plaintext_bytes: u64,
    /// TLS bytes on the wire.
    pub wire_bytes: u64,
    pub records: usize,
}

/// Step 7.
#[derive(Clone, Debug, Serialize)]
pub struct Eavesdropper {
    pub in_clear: Vec<String>,
    pub hidden: Vec<String>,
    /// The handshake messages readable on the wire, each way.
    pub clear_from_client: Vec<ClearMessage>,
    pub clear_from_server: Vec<ClearMessage>,
    pub records: Vec<SeenRecord>,
    pub records_total: usize,
    pub bytes_from_client: u64,
    pub bytes_from_server: u64,
}

#[derive(Clone, Debug, Serialize)]
pub struct SeenRecord {
    pub at_micros: u64,
    pub from: Side,
    #[serde(serialize_with = "named")]
    pub content_type: ContentType,
    pub bytes: usize,
    /// The handshake messages it carries in clear.
    #[serde(serialize_with = "named_all")]
    pub clear: Vec<HandshakeType>,
    pub encrypted: bool,
}

/// Who sent a record ("client" or "server" in the JSON).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    Client,
    Server,
}

#[derive(Clone, Debug, Serialize)]
pub struct Failure {
    pub step: u8,
    pub explanation: String,
}
