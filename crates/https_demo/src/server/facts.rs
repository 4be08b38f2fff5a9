//! What the server knows about one visitor's connection: what was negotiated, and what the
//! client offered in its ClientHello. The log line and the /connection page both read it.

use serde::Serialize;

use crate::explain::hello::ClientHello;
use crate::explain::names;

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
    pub key_exchange_group: String,
    pub post_quantum: bool,
    pub alpn: Option<String>,
    pub sni: Option<String>,
    /// This server asks for none; a client may still hold one.
    pub client_certificate_presented: bool,
    /// The ClientHello as the server read it; None if it could not be parsed.
    pub offered: Option<ClientHello>,
}

impl TlsFacts {
    pub fn new(conn: &rustls::ServerConnection, offered: Option<ClientHello>) -> TlsFacts {
        let group = conn
            .negotiated_key_exchange_group()
            .map(|g| names::group(u16::from(g.name())))
            .unwrap_or_else(|| "-".into());
        TlsFacts {
            version: conn
                .protocol_version()
                .map(|v| names::version(u16::from(v)))
                .unwrap_or_else(|| "-".into()),
            cipher_suite: conn
                .negotiated_cipher_suite()
                .map(|s| names::cipher_suite(u16::from(s.suite())))
                .unwrap_or_else(|| "-".into()),
            post_quantum: names::is_post_quantum(&group),
            key_exchange_group: group,
            alpn: conn
                .alpn_protocol()
                .map(|p| String::from_utf8_lossy(p).into_owned()),
            sni: conn.server_name().map(str::to_string),
            client_certificate_presented: conn.peer_certificates().is_some_and(|c| !c.is_empty()),
            offered,
        }
    }
}
