//! ClientHello and ServerHello, parsed with tls-parser from the bytes that crossed the wire.
//! They are the two messages an eavesdropper reads in full. Their values stay typed (rustls's
//! enums); [`super::iana`] names them when they are shown, and in the JSON.

use std::fmt;

use serde::{Serialize, Serializer};
use tls_parser::{TlsExtension, TlsMessage, TlsMessageHandshake};

use super::iana::{
    CipherSuite, Iana, NamedGroup, ProtocolVersion, SignatureScheme, named, named_all, named_opt,
};
use super::suite::Negotiated;

#[derive(Clone, Debug, Default, Serialize)]
pub struct ClientHello {
    /// From supported_versions when present, else the legacy version field.
    #[serde(serialize_with = "named_all")]
    pub versions: Vec<ProtocolVersion>,
    #[serde(serialize_with = "named_all")]
    pub cipher_suites: Vec<CipherSuite>,
    #[serde(serialize_with = "named_all")]
    pub groups: Vec<NamedGroup>,
    /// The groups for which a key share was sent, with its size.
    pub key_shares: Vec<KeyShare>,
    #[serde(serialize_with = "named_all")]
    pub signature_algorithms: Vec<SignatureScheme>,
    pub sni: Option<String>,
    pub alpn: Vec<String>,
    /// Also the key log's identifier of this connection.
    pub random: Random,
    /// The values offered only to keep servers honest (GREASE), and ECH.
    pub grease: Grease,
}

/// What a ClientHello offers that asks nothing of the server. GREASE (RFC 8701): reserved
/// values like 0x0a0a, 0x1a1a, ..., 0xfafa, sprinkled among the real suites, groups, versions
/// and extensions, so that a server that chokes on a value it does not know fails now, in
/// testing, not the day a real new value ships. A server must ignore them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Grease {
    pub cipher_suites: usize,
    pub groups: usize,
    pub versions: usize,
    pub extensions: usize,
    /// GREASE key shares and their sizes.
    pub key_shares: Vec<usize>,
    /// The encrypted_client_hello extension (0xfe0d) was sent. Without an ECH key published
    /// for this server (in its DNS HTTPS record), a browser sends a GREASE one: random bytes
    /// shaped like ECH, so that real ECH does not stand out on the wire.
    pub ech: bool,
}

/// Whether a 16-bit code point is a GREASE value (RFC 8701: 0x?a?a with both bytes equal).
pub fn is_grease(value: u16) -> bool {
    value & 0x0f0f == 0x0a0a && value >> 8 == value & 0xff
}

/// encrypted_client_hello's extension type (draft-ietf-tls-esni, as browsers send it).
const ECH_EXTENSION: u16 = 0xfe0d;

/// The extension types in a ClientHello's extensions block, in order.
fn extension_types(mut raw: &[u8]) -> Vec<u16> {
    let mut types = Vec::new();
    while raw.len() >= 4 {
        let kind = u16::from_be_bytes([raw[0], raw[1]]);
        let len = u16::from_be_bytes([raw[2], raw[3]]) as usize;
        types.push(kind);
        raw = raw.get(4 + len..).unwrap_or_default();
    }
    types
}

/// One key share a ClientHello carried: the group, and the size of the public key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyShare {
    pub group: NamedGroup,
    pub bytes: usize,
}

/// "X25519MLKEM768 (1216 bytes)".
impl fmt::Display for KeyShare {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({} bytes)", self.group.iana_name(), self.bytes)
    }
}

impl Serialize for KeyShare {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// 32 random bytes of a hello, shown (and serialised) in hex, the way key logs and Wireshark
/// write them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Random(pub [u8; 32]);

impl fmt::Display for Random {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex(&self.0))
    }
}

impl Serialize for Random {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl Random {
    fn from_slice(bytes: &[u8]) -> Random {
        let mut random = [0u8; 32];
        let n = bytes.len().min(32);
        random[..n].copy_from_slice(&bytes[..n]);
        Random(random)
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct ServerHello {
    #[serde(serialize_with = "named")]
    pub version: ProtocolVersion,
    #[serde(serialize_with = "named")]
    pub cipher_suite: CipherSuite,
    /// The key-exchange group of the key share the server answered with (TLS 1.3).
    #[serde(serialize_with = "named_opt")]
    pub group: Option<NamedGroup>,
    pub random: Random,
    /// A HelloRetryRequest: the server asked the client to send another key share.
    pub hello_retry_request: bool,
}

impl ServerHello {
    pub fn negotiated(&self) -> Negotiated {
        Negotiated {
            version: self.version,
            suite: self.cipher_suite,
        }
    }

    pub fn is_tls12(&self) -> bool {
        self.version == ProtocolVersion::TLSv1_2
    }
}

/// SHA-256("HelloRetryRequest"): the random a HelloRetryRequest carries (RFC 8446 4.1.3).
pub(crate) const HRR_RANDOM: [u8; 32] = [
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
    0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
];

/// Joins the handshake records at the start of `wire` (a hello may span several records) and
/// returns the first handshake message's bytes.
fn first_handshake(wire: &[u8]) -> Result<Vec<u8>, String> {
    let mut joined = Vec::new();
    let mut rest = wire;
    while !rest.is_empty() {
        let (after, record) = tls_parser::parse_tls_raw_record(rest)
            .map_err(|_| "incomplete TLS record".to_string())?;
        if record.hdr.record_type != tls_parser::TlsRecordType::Handshake {
            break;
        }
        joined.extend_from_slice(record.data);
        rest = after;
        // Handshake header: type (1), length (3).
        if joined.len() >= 4 {
            let len = u32::from_be_bytes([0, joined[1], joined[2], joined[3]]) as usize;
            if joined.len() >= 4 + len {
                joined.truncate(4 + len);
                return Ok(joined);
            }
        }
    }
    Err("no complete handshake message".into())
}

/// Bytes as lowercase hex, the way key logs and Wireshark write randoms.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Key shares as sent: a list of (group, key) entries (RFC 8446 4.2.8).
fn key_share_entries(mut data: &[u8]) -> Vec<(u16, usize)> {
    let mut entries = Vec::new();
    while data.len() >= 4 {
        let group = u16::from_be_bytes([data[0], data[1]]);
        let len = u16::from_be_bytes([data[2], data[3]]) as usize;
        if data.len() < 4 + len {
            break;
        }
        entries.push((group, len));
        data = &data[4 + len..];
    }
    entries
}

/// A tls-parser (nom) error in words: where in `whole` the bytes stopped making sense.
fn parse_error(e: &tls_parser::Err<tls_parser::nom::error::Error<&[u8]>>, whole: &[u8]) -> String {
    match e {
        tls_parser::Err::Incomplete(_) => {
            format!("its {} bytes end before its fields do", whole.len())
        }
        tls_parser::Err::Error(e) | tls_parser::Err::Failure(e) => format!(
            "byte {} of its {} does not fit the format RFC 8446 gives it",
            whole.len().saturating_sub(e.input.len()) + 1,
            whole.len()
        ),
    }
}

pub fn parse_client_hello(wire: &[u8]) -> Result<ClientHello, String> {
    let message = first_handshake(wire)?;
    let (_, parsed) = tls_parser::parse_tls_message_handshake(&message)
        .map_err(|e| format!("not a ClientHello: {}", parse_error(&e, &message)))?;
    let TlsMessage::Handshake(TlsMessageHandshake::ClientHello(ch)) = parsed else {
        return Err("the first handshake message is not a ClientHello".into());
    };
    let mut hello = ClientHello {
        versions: vec![ProtocolVersion::from(ch.version.0)],
        cipher_suites: ch.ciphers.iter().map(|c| CipherSuite::from(c.0)).collect(),
        random: Random::from_slice(ch.random),
        ..Default::default()
    };
    let raw = ch.ext.unwrap_or_default();
    let types = extension_types(raw);
    hello.grease.extensions = types.iter().filter(|t| is_grease(**t)).count();
    hello.grease.ech = types.contains(&ECH_EXTENSION);
    hello.grease.cipher_suites = ch.ciphers.iter().filter(|c| is_grease(c.0)).count();
    let (_, extensions) = tls_parser::parse_tls_client_hello_extensions(raw)
        .map_err(|e| format!("damaged ClientHello extensions: {}", parse_error(&e, raw)))?;
    for ext in extensions {
        match ext {
            TlsExtension::SupportedVersions(v) => {
                hello.grease.versions = v.iter().filter(|v| is_grease(v.0)).count();
                hello.versions = v.iter().map(|v| ProtocolVersion::from(v.0)).collect()
            }
            TlsExtension::EllipticCurves(groups) => {
                hello.grease.groups = groups.iter().filter(|g| is_grease(g.0)).count();
                hello.groups = groups.iter().map(|g| NamedGroup::from(g.0)).collect()
            }
            TlsExtension::SignatureAlgorithms(algs) => {
                hello.signature_algorithms =
                    algs.iter().map(|a| SignatureScheme::from(*a)).collect()
            }
            TlsExtension::SNI(names) => {
                hello.sni = names
                    .first()
                    .map(|(_, name)| String::from_utf8_lossy(name).into_owned());
            }
            TlsExtension::ALPN(protocols) => {
                hello.alpn = protocols
                    .iter()
                    .map(|p| String::from_utf8_lossy(p).into_owned())
                    .collect()
            }
            TlsExtension::KeyShare(data) if data.len() >= 2 => {
                let entries = key_share_entries(&data[2..]);
                hello.grease.key_shares = entries
                    .iter()
                    .filter(|(g, _)| is_grease(*g))
                    .map(|(_, bytes)| *bytes)
                    .collect();
                hello.key_shares = entries
                    .into_iter()
                    .map(|(g, bytes)| KeyShare {
                        group: NamedGroup::from(g),
                        bytes,
                    })
                    .collect();
            }
            _ => {}
        }
    }
    Ok(hello)
}

pub fn parse_server_hello(wire: &[u8]) -> Result<ServerHello, String> {
    let message = first_handshake(wire)?;
    let (_, parsed) = tls_parser::parse_tls_message_handshake(&message)
        .map_err(|e| format!("not a ServerHello: {}", parse_error(&e, &message)))?;
    let TlsMessage::Handshake(TlsMessageHandshake::ServerHello(sh)) = parsed else {
        return Err("the first handshake message from the server is not a ServerHello".into());
    };
    let mut hello = ServerHello {
        version: ProtocolVersion::from(sh.version.0),
        cipher_suite: CipherSuite::from(sh.cipher.0),
        random: Random::from_slice(sh.random),
        hello_retry_request: sh.random == HRR_RANDOM,
        group: None,
    };
    let raw = sh.ext.unwrap_or_default();
    let (_, extensions) = tls_parser::parse_tls_server_hello_extensions(raw)
        .map_err(|e| format!("damaged ServerHello extensions: {}", parse_error(&e, raw)))?;
    for ext in extensions {
        match ext {
            TlsExtension::SupportedVersions(v) if !v.is_empty() => {
                hello.version = ProtocolVersion::from(v[0].0)
            }
            TlsExtension::KeyShare(data) if data.len() >= 2 => {
                hello.group = Some(NamedGroup::from(u16::from_be_bytes([data[0], data[1]])));
            }
            _ => {}
        }
    }
    Ok(hello)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use rustls::{ClientConfig, ClientConnection, RootCertStore, ServerConfig, ServerConnection};

    use super::*;

    #[test]
    fn grease_values_are_the_sixteen_reserved_ones() {
        let all: Vec<u16> = (0..=u16::MAX).filter(|v| is_grease(*v)).collect();
        assert_eq!(all.len(), 16);
        assert_eq!((all[0], all[15]), (0x0a0a, 0xfafa));
        assert!(!is_grease(0x0a1a) && !is_grease(0x1301));
    }

    /// A real rustls exchange in memory: the client's first flight and the server's answer.
    fn handshake_bytes() -> (Vec<u8>, Vec<u8>) {
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["localhost".into()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        let provider = crate::tls::provider();
        let mut roots = RootCertStore::empty();
        roots.add(cert.der().clone()).unwrap();
        let mut client_config = ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        client_config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        let server_config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                vec![cert.der().clone()],
                rustls_pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
            )
            .unwrap();
        let mut client =
            ClientConnection::new(Arc::new(client_config), "localhost".try_into().unwrap())
                .unwrap();
        let mut server = ServerConnection::new(Arc::new(server_config)).unwrap();
        let mut client_hello = Vec::new();
        client.write_tls(&mut client_hello).unwrap();
        server.read_tls(&mut client_hello.as_slice()).unwrap();
        server.process_new_packets().unwrap();
        let mut server_flight = Vec::new();
        server.write_tls(&mut server_flight).unwrap();
        (client_hello, server_flight)
    }

    #[test]
    fn parses_what_rustls_really_sends() {
        let (client_bytes, server_bytes) = handshake_bytes();
        let ch = parse_client_hello(&client_bytes).unwrap();
        assert_eq!(ch.sni.as_deref(), Some("localhost"));
        assert_eq!(ch.alpn, ["h2", "http/1.1"]);
        assert_eq!(
            ch.versions,
            [ProtocolVersion::TLSv1_3, ProtocolVersion::TLSv1_2]
        );
        assert_eq!(ch.groups[0], NamedGroup::X25519MLKEM768);
        assert_eq!(ch.key_shares[0].group, NamedGroup::X25519MLKEM768);
        assert_eq!(ch.key_shares[0].bytes, 1216, "{:?}", ch.key_shares);
        assert!(
            ch.cipher_suites
                .contains(&CipherSuite::TLS13_AES_128_GCM_SHA256),
            "{:?}",
            ch.cipher_suites
        );
        assert!(
            ch.signature_algorithms
                .contains(&SignatureScheme::ECDSA_NISTP256_SHA256)
        );
        let json = serde_json::to_value(&ch).unwrap();
        assert_eq!(json["versions"], serde_json::json!(["TLS 1.3", "TLS 1.2"]));
        assert_eq!(json["key_shares"][0], "X25519MLKEM768 (1216 bytes)");
        assert_eq!(json["random"].as_str().unwrap().len(), 64);

        let sh = parse_server_hello(&server_bytes).unwrap();
        assert_eq!(sh.version, ProtocolVersion::TLSv1_3);
        assert_eq!(sh.group, Some(NamedGroup::X25519MLKEM768));
        assert!(sh.negotiated().record_overhead().is_some(), "{sh:?}");
        assert!(!sh.hello_retry_request);
        assert_ne!(sh.random, ch.random);
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(parse_client_hello(b"GET / HTTP/1.1\r\n\r\n").is_err());
        assert!(parse_client_hello(&[0x16, 0x03, 0x01, 0x00, 0x05, 1, 2, 3, 4, 5]).is_err());
        assert!(parse_server_hello(&[]).is_err());
    }

    #[test]
    fn parse_errors_are_words_not_debug_text() {
        // A handshake record holding a ClientHello header whose body is cut short.
        let wire = [0x16, 0x03, 0x01, 0x00, 0x08, 1, 0, 0, 4, 3, 3, 0xaa, 0xbb];
        let err = parse_client_hello(&wire).unwrap_err();
        assert!(err.starts_with("not a ClientHello: "), "{err}");
        for debug in ["Error(", "Incomplete(", "{", "code:"] {
            assert!(!err.contains(debug), "{err}");
        }
    }
}
