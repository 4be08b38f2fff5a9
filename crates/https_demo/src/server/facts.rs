//! What the server knows about one visitor's connection: what was negotiated, and what the
//! client offered in its ClientHello. The log line and the /connection page both read it.

use serde::{Serialize, Serializer};

use crate::wire::hello::{self, ClientHello};
use crate::wire::iana::{self as names, Iana, NamedGroup};

#[derive(Clone, Debug, Serialize)]
pub struct ConnectionFacts {
    pub peer: String,
    /// None over plain HTTP.
    pub tls: Option<TlsFacts>,
}

#[derive(Clone, Debug, Serialize)]
pub struct TlsFacts {
    pub version: String,
    /// IANA name, e.g. TLS_AES_256_GCM_SHA384.
    pub cipher_suite: String,
    /// "-" in the JSON and the log when rustls names none (a resumed TLS 1.2 session).
    #[serde(serialize_with = "group_or_dash")]
    pub key_exchange_group: Option<NamedGroup>,
    pub post_quantum: bool,
    pub alpn: Option<String>,
    pub sni: Option<String>,
    /// This server asks for none; a client may still hold one.
    pub client_certificate_presented: bool,
    /// The ClientHello's bytes as the server read them, parsed only when a page shows them
    /// (as `offered`): parsed, it is some 60 small strings, kept for every open connection.
    #[serde(rename = "offered", serialize_with = "parsed")]
    pub client_hello: Box<[u8]>,
}

fn group_or_dash<S: Serializer>(group: &Option<NamedGroup>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&group_name(*group))
}

fn group_name(group: Option<NamedGroup>) -> String {
    group.map_or_else(|| "-".into(), Iana::iana_name)
}

fn parsed<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
    hello::parse_client_hello(bytes).ok().serialize(s)
}

impl TlsFacts {
    /// The key-exchange group's name, for the log line and the page.
    pub fn group_name(&self) -> String {
        group_name(self.key_exchange_group)
    }

    /// The ClientHello, parsed; None if it cannot be.
    pub fn offered(&self) -> Option<ClientHello> {
        hello::parse_client_hello(&self.client_hello).ok()
    }

    /// The ClientHello's random in hex (the key log's name for the connection), read straight
    /// from the first record: type 0x16, 5-byte record header, 4-byte handshake header
    /// (type 1), 2-byte legacy version, then 32 random bytes.
    pub fn client_random(&self) -> Option<String> {
        let b = &self.client_hello;
        let random = b.get(11..43).filter(|_| b[0] == 0x16 && b[5] == 1)?;
        Some(random.iter().map(|x| format!("{x:02x}")).collect())
    }

    pub fn new(conn: &rustls::ServerConnection, client_hello: Vec<u8>) -> TlsFacts {
        let group = conn.negotiated_key_exchange_group().map(|g| g.name());
        TlsFacts {
            version: conn
                .protocol_version()
                .map(Iana::iana_name)
                .unwrap_or_else(|| "-".into()),
            cipher_suite: conn
                .negotiated_cipher_suite()
                .map(|s| s.suite().iana_name())
                .unwrap_or_else(|| "-".into()),
            post_quantum: group.is_some_and(names::is_post_quantum),
            key_exchange_group: group,
            alpn: conn
                .alpn_protocol()
                .map(|p| String::from_utf8_lossy(p).into_owned()),
            sni: conn.server_name().map(str::to_string),
            client_certificate_presented: conn.peer_certificates().is_some_and(|c| !c.is_empty()),
            client_hello: client_hello.into_boxed_slice(),
        }
    }
}
