//! ClientHello and ServerHello, parsed with tls-parser from the bytes that crossed the wire.
//! They are the two messages an eavesdropper reads in full.

use serde::Serialize;
use tls_parser::{TlsExtension, TlsMessage, TlsMessageHandshake};

use super::iana;

#[derive(Clone, Debug, Default, Serialize)]
pub struct ClientHello {
    /// From supported_versions when present, else the legacy version field.
    pub versions: Vec<String>,
    pub cipher_suites: Vec<String>,
    pub groups: Vec<String>,
    /// The groups for which a key share was sent, with its size.
    pub key_shares: Vec<String>,
    pub signature_algorithms: Vec<String>,
    pub sni: Option<String>,
    pub alpn: Vec<String>,
    /// 32 random bytes, hex: also the key log's identifier of this connection.
    pub random: String,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct ServerHello {
    pub version: String,
    pub cipher_suite: String,
    /// The key-exchange group of the key share the server answered with (TLS 1.3).
    pub group: Option<String>,
    pub random: String,
    /// A HelloRetryRequest: the server asked the client to send another key share.
    pub hello_retry_request: bool,
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

pub fn parse_client_hello(wire: &[u8]) -> Result<ClientHello, String> {
    let message = first_handshake(wire)?;
    let (_, parsed) = tls_parser::parse_tls_message_handshake(&message)
        .map_err(|e| format!("not a ClientHello: {e:?}"))?;
    let TlsMessage::Handshake(TlsMessageHandshake::ClientHello(ch)) = parsed else {
        return Err("the first handshake message is not a ClientHello".into());
    };
    let mut hello = ClientHello {
        versions: vec![iana::version(ch.version.0)],
        cipher_suites: ch.ciphers.iter().map(|c| iana::cipher_suite(c.0)).collect(),
        random: hex(ch.random),
        ..Default::default()
    };
    let (_, extensions) = tls_parser::parse_tls_client_hello_extensions(ch.ext.unwrap_or_default())
        .map_err(|e| format!("damaged ClientHello extensions: {e:?}"))?;
    for ext in extensions {
        match ext {
            TlsExtension::SupportedVersions(v) => {
                hello.versions = v.iter().map(|v| iana::version(v.0)).collect()
            }
            TlsExtension::EllipticCurves(groups) => {
                hello.groups = groups.iter().map(|g| iana::group(g.0)).collect()
            }
            TlsExtension::SignatureAlgorithms(algs) => {
                hello.signature_algorithms =
                    algs.iter().map(|a| iana::signature_scheme(*a)).collect()
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
                hello.key_shares = key_share_entries(&data[2..])
                    .into_iter()
                    .map(|(g, len)| format!("{} ({len} bytes)", iana::group(g)))
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
        .map_err(|e| format!("not a ServerHello: {e:?}"))?;
    let TlsMessage::Handshake(TlsMessageHandshake::ServerHello(sh)) = parsed else {
        return Err("the first handshake message from the server is not a ServerHello".into());
    };
    let mut hello = ServerHello {
        version: iana::version(sh.version.0),
        cipher_suite: iana::cipher_suite(sh.cipher.0),
        random: hex(sh.random),
        hello_retry_request: sh.random == HRR_RANDOM,
        group: None,
    };
    let (_, extensions) = tls_parser::parse_tls_server_hello_extensions(sh.ext.unwrap_or_default())
        .map_err(|e| format!("damaged ServerHello extensions: {e:?}"))?;
    for ext in extensions {
        match ext {
            TlsExtension::SupportedVersions(v) if !v.is_empty() => {
                hello.version = iana::version(v[0].0)
            }
            TlsExtension::KeyShare(data) if data.len() >= 2 => {
                hello.group = Some(iana::group(u16::from_be_bytes([data[0], data[1]])));
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
        assert_eq!(ch.versions, ["TLS 1.3", "TLS 1.2"]);
        assert_eq!(ch.groups[0], "X25519MLKEM768");
        assert!(
            ch.key_shares[0].starts_with("X25519MLKEM768 ("),
            "{:?}",
            ch.key_shares
        );
        assert!(
            ch.cipher_suites
                .iter()
                .any(|s| s == "TLS_AES_128_GCM_SHA256"),
            "{:?}",
            ch.cipher_suites
        );
        assert!(
            ch.signature_algorithms
                .iter()
                .any(|s| s == "ecdsa_secp256r1_sha256")
        );
        assert_eq!(ch.random.len(), 64);

        let sh = parse_server_hello(&server_bytes).unwrap();
        assert_eq!(sh.version, "TLS 1.3");
        assert_eq!(sh.group.as_deref(), Some("X25519MLKEM768"));
        assert!(
            sh.cipher_suite.starts_with("TLS_AES_") || sh.cipher_suite.starts_with("TLS_CHACHA20")
        );
        assert!(!sh.hello_retry_request);
        assert_ne!(sh.random, ch.random);
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(parse_client_hello(b"GET / HTTP/1.1\r\n\r\n").is_err());
        assert!(parse_client_hello(&[0x16, 0x03, 0x01, 0x00, 0x05, 1, 2, 3, 4, 5]).is_err());
        assert!(parse_server_hello(&[]).is_err());
    }
}
