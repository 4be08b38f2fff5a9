//! What the negotiated version and cipher suite mean for the connection: whether its key
//! exchange was ephemeral, and how many bytes each encrypted record adds. The cipher suite's
//! parts (key exchange, cipher, mode) come from tls-parser's IANA table, not from its name.

use serde::{Serialize, Serializer};
use tls_parser::{TlsCipherEnc, TlsCipherEncMode, TlsCipherKx, TlsCipherSuite};

use super::iana::{CipherSuite, ProtocolVersion};

/// The version and cipher suite a ServerHello chose.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Negotiated {
    pub version: ProtocolVersion,
    pub suite: CipherSuite,
}

/// What one encrypted record adds to the bytes it carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecordOverhead {
    /// Type, version and length, in clear.
    pub header: usize,
    /// TLS 1.2's AES-GCM sends 8 bytes of its nonce with each record (RFC 5288).
    pub explicit_nonce: usize,
    /// The authentication tag (16 bytes for AES-GCM and ChaCha20-Poly1305).
    pub tag: usize,
    /// TLS 1.3 hides the real content type inside the encryption (RFC 8446 5.2).
    pub hidden_content_type: usize,
}

impl RecordOverhead {
    pub fn total(&self) -> usize {
        self.header + self.explicit_nonce + self.tag + self.hidden_content_type
    }
}

/// In the JSON, the total (`record_overhead: 22`).
impl Serialize for RecordOverhead {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(self.total() as u64)
    }
}

impl Negotiated {
    fn parts(&self) -> Option<&'static TlsCipherSuite> {
        TlsCipherSuite::from_id(u16::from(self.suite))
    }

    pub fn is_tls13(&self) -> bool {
        self.version == ProtocolVersion::TLSv1_3
    }

    /// Whether the key shares were made for this connection only (forward secrecy). TLS 1.3 has
    /// only ephemeral key exchanges; in TLS 1.2 only the (EC)DHE suites are, and they are the
    /// only ones rustls offers.
    pub fn is_ephemeral(&self) -> bool {
        self.is_tls13()
            || self
                .parts()
                .is_some_and(|p| matches!(p.kx, TlsCipherKx::Ecdhe | TlsCipherKx::Dhe))
    }

    /// Bytes each encrypted record adds, for the AEADs rustls speaks (AES-GCM and
    /// ChaCha20-Poly1305, both with a 16-byte tag); `None` for any other.
    pub fn record_overhead(&self) -> Option<RecordOverhead> {
        let parts = self.parts()?;
        let gcm = parts.enc == TlsCipherEnc::Aes && parts.enc_mode == TlsCipherEncMode::Gcm;
        let chacha = parts.enc == TlsCipherEnc::Chacha20_Poly1305;
        if !(gcm || chacha) {
            return None;
        }
        let plain = RecordOverhead {
            header: 5,
            explicit_nonce: 0,
            tag: 16,
            hidden_content_type: 0,
        };
        match self.version {
            ProtocolVersion::TLSv1_3 => Some(RecordOverhead {
                hidden_content_type: 1,
                ..plain
            }),
            ProtocolVersion::TLSv1_2 if gcm => Some(RecordOverhead {
                explicit_nonce: 8,
                ..plain
            }),
            ProtocolVersion::TLSv1_2 => Some(plain),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn overhead(version: ProtocolVersion, suite: CipherSuite) -> Option<usize> {
        Negotiated { version, suite }
            .record_overhead()
            .map(|o| o.total())
    }

    #[test]
    fn record_overhead_per_version_and_suite() {
        use CipherSuite as S;
        use ProtocolVersion as V;
        assert_eq!(overhead(V::TLSv1_3, S::TLS13_AES_256_GCM_SHA384), Some(22));
        assert_eq!(
            overhead(V::TLSv1_3, S::TLS13_CHACHA20_POLY1305_SHA256),
            Some(22)
        );
        assert_eq!(
            overhead(V::TLSv1_2, S::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256),
            Some(29)
        );
        assert_eq!(
            overhead(V::TLSv1_2, S::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256),
            Some(21)
        );
        assert_eq!(overhead(V::TLSv1_2, S::TLS_RSA_WITH_AES_128_CBC_SHA), None);
    }

    #[test]
    fn forward_secrecy_comes_from_the_key_exchange_not_the_name() {
        let tls12 = |suite| Negotiated {
            version: ProtocolVersion::TLSv1_2,
            suite,
        };
        assert!(tls12(CipherSuite::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384).is_ephemeral());
        assert!(!tls12(CipherSuite::TLS_RSA_WITH_AES_256_GCM_SHA384).is_ephemeral());
    }
}
