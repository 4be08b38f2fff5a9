//! What the server knows about one visitor's connection: what was negotiated, and what the
//! client offered in its ClientHello. The log line and the /connection page both read it.

use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

use super::capture;

use crate::story::sequence::{self, Message, Shape, Side, Tickets};
use crate::wire::recording::Wire;

use crate::pki::inspect::CertSummary;
use crate::tls::trust::ClientAuth;
use crate::wire::hello::{self, ClientHello};
use crate::wire::iana::{self as names, CipherSuite, Iana, NamedGroup, ProtocolVersion};

#[derive(Clone, Debug, Serialize)]
pub struct ConnectionFacts {
    pub peer: std::net::SocketAddr,
    /// None over plain HTTP.
    pub tls: Option<TlsFacts>,
}

#[derive(Clone, Debug, Serialize)]
pub struct TlsFacts {
    /// Kept typed, named when shown ("TLS 1.3"): every open connection holds these.
    #[serde(serialize_with = "name_or_dash")]
    pub version: Option<ProtocolVersion>,
    /// Named by IANA when shown, e.g. TLS_AES_256_GCM_SHA384.
    #[serde(serialize_with = "name_or_dash")]
    pub cipher_suite: Option<CipherSuite>,
    /// "-" in the JSON and the log when rustls names none (a resumed TLS 1.2 session).
    #[serde(serialize_with = "name_or_dash")]
    pub key_exchange_group: Option<NamedGroup>,
    pub post_quantum: bool,
    pub alpn: Option<String>,
    pub sni: Option<String>,
    /// Whether the server asked for a client certificate (`--client-auth`); None: it did not.
    pub client_auth: Option<ClientAuth>,
    pub client_certificate_presented: bool,
    /// The visitor's certificate, which the server verified against its `--client-ca`.
    pub client_certificate: Option<ClientCertFacts>,
    /// The ClientHello's bytes as the server read them (at most [`capture::LIMIT`]), parsed only
    /// when a page shows them (as `offered`): parsed, it is some 60 small strings, kept for
    /// every open connection.
    #[serde(flatten, serialize_with = "offered_fields")]
    pub client_hello: Box<[u8]>,
    /// The records the server sent and received, for /handshake; dropped with the connection.
    #[serde(skip)]
    pub wire: Option<Seen>,
}

/// How many records the server notes per connection: the handshake flights (about 8 in
/// TLS 1.3: rustls sends its encrypted flight as one record), then the first requests and
/// responses. Each is 16 bytes; nothing past these is kept.
pub const RECORDS_KEPT: usize = 20;

/// The bytes the server keeps of what it sent: up to the ServerHello's random (5-byte record
/// header, 4-byte handshake header, 2-byte version, 32-byte random), for the key schedule's
/// sentence.
pub const HELLO_HEAD: usize = 43;

/// The server's own recording of one connection, with what it needs to name the messages.
#[derive(Clone, Debug)]
pub struct Seen {
    pub wire: Wire,
    pub shape: Shape,
    /// Bytes sent when the handshake finished: the session tickets went out before.
    pub handshake_end_sent: u64,
}

impl Seen {
    pub fn new(wire: Wire, conn: &rustls::ServerConnection) -> Seen {
        let handshake_end_sent = wire.totals().0;
        Seen {
            wire,
            shape: Shape {
                tls12: conn.protocol_version() == Some(rustls::ProtocolVersion::TLSv1_2),
                resumed: conn.handshake_kind() == Some(rustls::HandshakeKind::Resumed),
            },
            handshake_end_sent,
        }
    }

    /// The ServerHello's random in hex, from the first bytes the server sent.
    pub fn server_random(&self) -> Option<String> {
        let b = self.wire.snapshot().sent;
        let random = b.get(11..43).filter(|_| b[0] == 0x16 && b[5] == 2)?;
        Some(random.iter().map(|x| format!("{x:02x}")).collect())
    }

    /// The connection's messages so far, named.
    pub fn messages(&self) -> Vec<Message> {
        sequence::messages(
            &self.wire.snapshot().records,
            Side::Server,
            self.shape,
            Tickets::SentBefore(self.handshake_end_sent),
        )
    }
}

/// Who the visitor's certificate says they are. rustls completes a handshake with a client
/// certificate only when the server's verifier accepted it, so a certificate here was verified.
#[derive(Clone, Debug, Serialize)]
pub struct ClientCertFacts {
    /// The subject's common name: who the visitor is (`alice`).
    pub name: String,
    pub subject: String,
    /// The CA that issued it.
    pub issuer: String,
    /// "From A to B I am X according to Y".
    pub sentence: String,
    pub verified_by_server: bool,
}

impl ClientCertFacts {
    fn of(der: &[u8]) -> Option<ClientCertFacts> {
        let cert = CertSummary::from_der(der).ok()?;
        Some(ClientCertFacts {
            name: cert.subject_name.clone(),
            subject: cert.subject.clone(),
            issuer: cert.issuer_name.clone(),
            sentence: cert.sentence(),
            verified_by_server: true,
        })
    }
}

fn name_or_dash<T: Iana, S: Serializer>(value: &Option<T>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&name(*value))
}

/// A negotiated value's name, or "-" when there is none.
pub fn name<T: Iana>(value: Option<T>) -> String {
    value.map_or_else(|| "-".into(), Iana::iana_name)
}

/// What the client offered, as far as the server can tell.
pub enum Offered {
    Parsed(Box<ClientHello>),
    /// Larger than the server keeps: only its size is known.
    TooLarge {
        size: usize,
    },
    /// Kept whole, but not a ClientHello tls-parser can read.
    Unreadable,
}

/// `offered`, and `client_hello_bytes` (its size); when it was too large to keep,
/// `offered_not_kept` says so in words instead of a bare null.
fn offered_fields<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
    let mut map = s.serialize_map(None)?;
    let size = client_hello_size(bytes);
    match offered(bytes) {
        Offered::Parsed(hello) => map.serialize_entry("offered", &hello)?,
        Offered::TooLarge { size } => {
            map.serialize_entry("offered", &None::<ClientHello>)?;
            map.serialize_entry("offered_not_kept", &too_large(size))?;
        }
        Offered::Unreadable => map.serialize_entry("offered", &None::<ClientHello>)?,
    }
    map.serialize_entry("client_hello_bytes", &size)?;
    map.end()
}

/// The sentence for a ClientHello over the capture limit.
pub fn too_large(size: usize) -> String {
    format!(
        "The ClientHello was {size} bytes, more than the {} bytes this server keeps for each \
         connection (a browser's is 0.5 to 2 KB), so what it offered is not shown.",
        capture::LIMIT
    )
}

/// The ClientHello's size as its handshake header declares it, header included (type 0x16,
/// 5-byte record header, then type 1 and a 3-byte length).
fn client_hello_size(b: &[u8]) -> Option<usize> {
    let len = b.get(6..9).filter(|_| b[0] == 0x16 && b[5] == 1)?;
    Some(4 + (usize::from(len[0]) << 16 | usize::from(len[1]) << 8 | usize::from(len[2])))
}

fn offered(bytes: &[u8]) -> Offered {
    match (hello::parse_client_hello(bytes), client_hello_size(bytes)) {
        (Ok(hello), _) => Offered::Parsed(Box::new(hello)),
        // A record header (5 bytes) for every 16 KB, at least one: more than was kept.
        (Err(_), Some(size)) if size + 5 > bytes.len() && bytes.len() >= capture::LIMIT => {
            Offered::TooLarge { size }
        }
        (Err(_), _) => Offered::Unreadable,
    }
}

impl TlsFacts {
    /// The key-exchange group's name, for the log line and the page.
    pub fn version_name(&self) -> String {
        name(self.version)
    }

    pub fn suite_name(&self) -> String {
        name(self.cipher_suite)
    }

    pub fn group_name(&self) -> String {
        name(self.key_exchange_group)
    }

    /// The ClientHello's size with its handshake header, as its header declares it.
    pub fn client_hello_bytes(&self) -> Option<usize> {
        client_hello_size(&self.client_hello)
    }

    /// What the client offered in its ClientHello.
    pub fn offered(&self) -> Offered {
        offered(&self.client_hello)
    }

    /// The ClientHello's random in hex (the key log's name for the connection), read straight
    /// from the first record: type 0x16, 5-byte record header, 4-byte handshake header
    /// (type 1), 2-byte legacy version, then 32 random bytes.
    pub fn client_random(&self) -> Option<String> {
        let b = &self.client_hello;
        let random = b.get(11..43).filter(|_| b[0] == 0x16 && b[5] == 1)?;
        Some(random.iter().map(|x| format!("{x:02x}")).collect())
    }

    /// The client certificate's subject, for the log line ("-" when none).
    pub fn client_subject(&self) -> &str {
        self.client_certificate
            .as_ref()
            .map_or("-", |c| c.subject.as_str())
    }

    pub fn new(
        conn: &rustls::ServerConnection,
        client_hello: Vec<u8>,
        client_auth: Option<ClientAuth>,
    ) -> TlsFacts {
        let presented = conn.peer_certificates().and_then(|c| c.first());
        let group = conn.negotiated_key_exchange_group().map(|g| g.name());
        TlsFacts {
            version: conn.protocol_version(),
            cipher_suite: conn.negotiated_cipher_suite().map(|s| s.suite()),
            post_quantum: group.is_some_and(names::is_post_quantum),
            key_exchange_group: group,
            alpn: conn
                .alpn_protocol()
                .map(|p| String::from_utf8_lossy(p).into_owned()),
            sni: conn.server_name().map(str::to_string),
            client_auth,
            client_certificate_presented: presented.is_some(),
            client_certificate: presented.and_then(|der| ClientCertFacts::of(der)),
            client_hello: client_hello.into_boxed_slice(),
            wire: None,
        }
    }
}
