//! IANA code points as people name them. The story keeps rustls's typed values (its
//! `ProtocolVersion`, `CipherSuite`, `NamedGroup`, `SignatureScheme`, `HandshakeType`,
//! `ContentType`) and decides with them; their names are made here, only to be shown.

use serde::Serializer;

pub use rustls::{
    CipherSuite, ContentType, HandshakeType, NamedGroup, ProtocolVersion, SignatureScheme,
};

/// GREASE values (RFC 8701) are sent on purpose to keep servers tolerant of unknown values.
pub fn is_grease(v: u16) -> bool {
    v & 0x0f0f == 0x0a0a && (v >> 8) == (v & 0xff)
}

/// A typed code point, and the name people (and Wireshark, and the RFCs) give it.
pub trait Iana: Copy {
    fn iana_name(self) -> String;
}

impl Iana for ProtocolVersion {
    fn iana_name(self) -> String {
        match self {
            ProtocolVersion::TLSv1_3 => "TLS 1.3".into(),
            ProtocolVersion::TLSv1_2 => "TLS 1.2".into(),
            ProtocolVersion::TLSv1_1 => "TLS 1.1".into(),
            ProtocolVersion::TLSv1_0 => "TLS 1.0".into(),
            ProtocolVersion::SSLv3 => "SSL 3.0".into(),
            v => unknown(u16::from(v)),
        }
    }
}

impl Iana for CipherSuite {
    fn iana_name(self) -> String {
        let id = u16::from(self);
        if is_grease(id) {
            return "GREASE".into();
        }
        match tls_parser::TlsCipherSuite::from_id(id) {
            Some(suite) => suite.name.to_string(),
            None if self == CipherSuite::TLS_EMPTY_RENEGOTIATION_INFO_SCSV => {
                "TLS_EMPTY_RENEGOTIATION_INFO_SCSV".into()
            }
            None => unknown(id),
        }
    }
}

impl Iana for NamedGroup {
    fn iana_name(self) -> String {
        match self {
            NamedGroup::X25519 => "X25519",
            NamedGroup::X448 => "X448",
            NamedGroup::secp256r1 => "secp256r1",
            NamedGroup::secp384r1 => "secp384r1",
            NamedGroup::secp521r1 => "secp521r1",
            NamedGroup::FFDHE2048 => "ffdhe2048",
            NamedGroup::FFDHE3072 => "ffdhe3072",
            NamedGroup::FFDHE4096 => "ffdhe4096",
            NamedGroup::FFDHE6144 => "ffdhe6144",
            NamedGroup::FFDHE8192 => "ffdhe8192",
            NamedGroup::MLKEM512 => "MLKEM512",
            NamedGroup::MLKEM768 => "MLKEM768",
            NamedGroup::MLKEM1024 => "MLKEM1024",
            NamedGroup::X25519MLKEM768 => "X25519MLKEM768",
            NamedGroup::secp256r1MLKEM768 => "SecP256r1MLKEM768",
            g if u16::from(g) == SECP384R1_MLKEM1024 => "SecP384r1MLKEM1024",
            g if u16::from(g) == X25519_KYBER768_DRAFT => "X25519Kyber768Draft00",
            g => return unknown(u16::from(g)),
        }
        .into()
    }
}

impl Iana for SignatureScheme {
    fn iana_name(self) -> String {
        match u16::from(self) {
            0x0401 => "rsa_pkcs1_sha256",
            0x0501 => "rsa_pkcs1_sha384",
            0x0601 => "rsa_pkcs1_sha512",
            0x0201 => "rsa_pkcs1_sha1",
            0x0403 => "ecdsa_secp256r1_sha256",
            0x0503 => "ecdsa_secp384r1_sha384",
            0x0603 => "ecdsa_secp521r1_sha512",
            0x0203 => "ecdsa_sha1",
            0x0804 => "rsa_pss_rsae_sha256",
            0x0805 => "rsa_pss_rsae_sha384",
            0x0806 => "rsa_pss_rsae_sha512",
            0x0809 => "rsa_pss_pss_sha256",
            0x080a => "rsa_pss_pss_sha384",
            0x080b => "rsa_pss_pss_sha512",
            0x0807 => "ed25519",
            0x0808 => "ed448",
            0x0904 => "mldsa44",
            0x0905 => "mldsa65",
            0x0906 => "mldsa87",
            v => return unknown(v),
        }
        .into()
    }
}

impl Iana for HandshakeType {
    /// The RFCs' names (ClientHello, NewSessionTicket, ...), which are rustls's.
    fn iana_name(self) -> String {
        match self.as_str() {
            Some(name) => name.into(),
            None => format!("handshake message {}", u8::from(self)),
        }
    }
}

impl Iana for ContentType {
    /// As RFC 8446 and Wireshark write them: change_cipher_spec, application_data.
    fn iana_name(self) -> String {
        match self {
            ContentType::ChangeCipherSpec => "change_cipher_spec".into(),
            ContentType::Alert => "alert".into(),
            ContentType::Handshake => "handshake".into(),
            ContentType::ApplicationData => "application_data".into(),
            ContentType::Heartbeat => "heartbeat".into(),
            other => format!("type {}", u8::from(other)),
        }
    }
}

/// Code points rustls 0.23 has no name for.
const SECP384R1_MLKEM1024: u16 = 0x11ed;
const X25519_KYBER768_DRAFT: u16 = 0x6399;

fn unknown(v: u16) -> String {
    if is_grease(v) {
        "GREASE".into()
    } else {
        format!("0x{v:04x}")
    }
}

/// Whether a key-exchange group resists a future quantum computer: ML-KEM, alone or in a hybrid.
pub fn is_post_quantum(group: NamedGroup) -> bool {
    matches!(
        group,
        NamedGroup::X25519MLKEM768
            | NamedGroup::secp256r1MLKEM768
            | NamedGroup::MLKEM512
            | NamedGroup::MLKEM768
            | NamedGroup::MLKEM1024
    ) || matches!(
        u16::from(group),
        SECP384R1_MLKEM1024 | X25519_KYBER768_DRAFT
    )
}

/// What a group is, in a sentence.
pub fn explain_group(group: NamedGroup) -> String {
    let name = group.iana_name();
    match group {
        NamedGroup::X25519MLKEM768 => format!(
            "{name}: a post-quantum hybrid. The key is agreed twice, with classic X25519 and with \
             ML-KEM-768 (the NIST standard, FIPS 203), and both results are combined, so the session \
             stays secret unless BOTH are broken, even by a future quantum computer recording today's \
             traffic."
        ),
        NamedGroup::MLKEM512 | NamedGroup::MLKEM768 | NamedGroup::MLKEM1024 => format!(
            "{name}: a post-quantum key exchange (ML-KEM alone, FIPS 203), with no classic curve \
             beside it."
        ),
        g if is_post_quantum(g) => format!(
            "{name}: a post-quantum hybrid key exchange (classic elliptic curve plus ML-KEM)."
        ),
        _ => format!(
            "{name}: a classic elliptic-curve (or finite-field) Diffie-Hellman exchange, not \
             post-quantum."
        ),
    }
}

/// For `#[serde(serialize_with)]`: a code point as its name, so that the JSON reads as the text.
pub fn named<T: Iana, S: Serializer>(v: &T, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&v.iana_name())
}

/// A list of code points, as their names.
pub fn named_all<T: Iana, S: Serializer>(v: &[T], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(v.iter().map(|x| x.iana_name()))
}

/// An optional code point, as its name or null.
pub fn named_opt<T: Iana, S: Serializer>(v: &Option<T>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(x) => s.serialize_some(&x.iana_name()),
        None => s.serialize_none(),
    }
}

/// Names, joined for a sentence: "TLS 1.3, TLS 1.2".
pub fn join<T: Iana>(v: &[T]) -> String {
    v.iter()
        .map(|x| x.iana_name())
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_the_iana_ones_and_decisions_are_typed() {
        assert_eq!(ProtocolVersion::TLSv1_3.iana_name(), "TLS 1.3");
        assert_eq!(ProtocolVersion::from(0x7a7a).iana_name(), "GREASE");
        assert_eq!(
            CipherSuite::TLS13_AES_256_GCM_SHA384.iana_name(),
            "TLS_AES_256_GCM_SHA384"
        );
        assert_eq!(NamedGroup::from(0x11ed).iana_name(), "SecP384r1MLKEM1024");
        assert_eq!(
            SignatureScheme::ECDSA_NISTP256_SHA256.iana_name(),
            "ecdsa_secp256r1_sha256"
        );
        assert_eq!(HandshakeType::Certificate.iana_name(), "Certificate");
        assert!(is_post_quantum(NamedGroup::X25519MLKEM768));
        assert!(is_post_quantum(NamedGroup::from(0x11ed)));
        assert!(!is_post_quantum(NamedGroup::X25519));
    }
}
