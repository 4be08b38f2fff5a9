//! The sentences both tellings share: `demo_client --explain` (the client's side, in a
//! terminal) and the server's `/handshake` page say the same steps in the same words, from here.

use crate::wire::iana::{Iana, NamedGroup};

/// The seven steps of one connection's story (seed 002's steps, told from the real bytes).
pub const TITLES: [&str; 7] = [
    "TCP connection",
    "ClientHello",
    "ServerHello",
    "Certificate",
    "Keys",
    "Encrypted request and response",
    "What an eavesdropper saw",
];

/// What the key exchange on this connection was, in the words of step 5.
#[derive(Clone, Copy, Debug)]
pub struct KeyExchange {
    pub group: Option<NamedGroup>,
    pub tls12: bool,
    pub post_quantum: bool,
    /// The key shares were made for this connection only.
    pub ephemeral: bool,
}

impl KeyExchange {
    fn group_name(&self) -> String {
        self.group
            .map(Iana::iana_name)
            .unwrap_or_else(|| "key-exchange".into())
    }

    /// How the keys were agreed: step 5's paragraph.
    pub fn agreed(&self) -> String {
        let group = self.group_name();
        let mut text = if self.tls12 {
            format!(
                "Each side made a fresh {group} key pair and sent only its public half. From the two, each side \
                 computed the same shared secret, and from it and the two randoms the master secret and the \
                 session keys."
            )
        } else if self.post_quantum {
            format!(
                "The client made a fresh {group} key pair and sent its public half; the server answered with \
                 its own fresh public half and an ML-KEM ciphertext that only the client's private key opens. \
                 From these, each side computed the same shared secret, and from it and the handshake so far \
                 (which holds both randoms) the session keys."
            )
        } else {
            format!(
                "Each side made a fresh {group} key pair and sent only its public half. From the two, each side \
                 computed the same shared secret, and from it and the handshake so far (which holds both randoms) \
                 the session keys."
            )
        };
        text.push_str(
            " The keys never crossed the wire: an eavesdropper has both public halves and both randoms, and \
             still cannot compute them.",
        );
        if self.ephemeral {
            text.push_str(
                " The key pairs were made for this connection only and are gone now (forward secrecy): even \
                 the server's private key, stolen later, would not decrypt a recording of it.",
            );
        } else {
            text.push_str(" This key exchange is not ephemeral: it gives no forward secrecy.");
        }
        if self.post_quantum {
            text.push_str(
                " The exchange is post-quantum: a recording kept for a future quantum computer stays secret.",
            );
        }
        text
    }

    /// Seed 002 (steps 5 and 6) and seed 003 describe RSA key transport: the client encrypts a
    /// premaster secret with the server's public key. Set beside what happened here.
    pub fn contrast_with_rsa_transport(&self) -> String {
        let instead = if self.post_quantum {
            format!(
                "a hybrid key exchange, {}: classical X25519 and post-quantum ML-KEM together, both \
                 made fresh for this connection",
                self.group_name()
            )
        } else {
            format!(
                "an ephemeral Diffie-Hellman exchange ((EC)DHE) over {}, made fresh for this connection",
                self.group_name()
            )
        };
        let removed = if self.tls12 {
            "TLS 1.2 still allows it, but this server offers only ECDHE suites, and TLS 1.3 removed it \
             altogether (RFC 8446, section 1.2)"
        } else {
            "TLS 1.3 removed it (RFC 8446, section 1.2)"
        };
        format!(
            "The tutorial describes RSA key transport: the client makes a premaster secret, encrypts it with \
             the server's public key from the certificate, and only the server's private key decrypts it. \
             {removed}. On this connection instead: {instead}. Why: with key transport, anyone who \
             recorded the connection and later steals the server's private key decrypts the premaster \
             secret and so the whole recording. Here the server's key only signs the handshake \
             (CertificateVerify); the secret comes from key pairs that are thrown away, so a stolen \
             server key opens no recording (forward secrecy)."
        )
    }

    /// Seed 003's "client random + server random + premaster secret -> session key", mapped onto
    /// the key schedule this connection used, with its randoms.
    pub fn key_schedule(&self, client_random: &str, server_random: &str) -> String {
        if self.tls12 {
            format!(
                "In TLS 1.2 the seed's recipe holds nearly as written: master secret = PRF(shared secret \
                 from {}, \"master secret\", client random {client_random} + server random \
                 {server_random}), and the session keys come from the master secret and both randoms \
                 again (RFC 5246, section 8.1).",
                self.group_name()
            )
        } else {
            format!(
                "In TLS 1.3 the seed's recipe becomes a key schedule (RFC 8446, section 7.1): the shared \
                 secret from {} goes through HKDF-Extract into the handshake secret; the randoms enter \
                 through the transcript hash, the hash of every handshake message so far, from the \
                 ClientHello (client random {client_random}) and the ServerHello (server random \
                 {server_random}) on. From the handshake secret and that hash come the handshake traffic \
                 keys (which encrypted the Certificate), then the master secret, and from it and the \
                 hash up to the server's Finished the application traffic keys that encrypted the \
                 request and response.",
                self.group_name()
            )
        }
    }
}
