//! The sentences both tellings share: `demo_client --explain` (the client's side, in a
//! terminal) and the server's `/handshake` page say the same steps in the same words, from here.

use crate::wire::hello::{ClientHello, is_grease};
use crate::wire::iana::{self as names, CipherSuite, Iana, NamedGroup, ProtocolVersion};

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

/// Step 4: how the server's certificate crossed the wire. `clear_bytes`: in TLS 1.2, the size
/// of the Certificate message read in clear.
pub fn certificate_on_the_wire(tls12: bool, clear_bytes: Option<usize>) -> String {
    if tls12 {
        format!(
            "The certificate travelled in clear (TLS 1.2 encrypts only after the handshake){}: anyone on \
             the path could read who the server claims to be and who vouches for it.",
            clear_bytes
                .map(|b| format!(", a Certificate message of {b} bytes"))
                .unwrap_or_default()
        )
    } else {
        "The certificate came encrypted (TLS 1.3 encrypts everything after the ServerHello): an \
         eavesdropper does not see who the server claims to be."
            .into()
    }
}

/// Mutual TLS: how the client's certificate crossed the wire.
pub fn client_certificate_on_the_wire(tls12: bool) -> &'static str {
    if tls12 {
        "In TLS 1.2 the client's Certificate travels in clear: anyone on the path can read who is \
         connecting (TLS 1.3 encrypts it)."
    } else {
        "In TLS 1.3 the client's Certificate is encrypted: an eavesdropper does not learn who is \
         connecting."
    }
}

/// Step 2: what a ClientHello carries that a learner meets nowhere else, one paragraph each
/// (none when the hello has none of it: rustls sends no GREASE). "This server" is the demo's:
/// rustls with this crate's provider.
pub fn hello_notes(hello: &ClientHello) -> Vec<String> {
    let server_suites: Vec<CipherSuite> = crate::tls::provider()
        .cipher_suites
        .iter()
        .map(|s| s.suite())
        .collect();
    let mut notes = Vec::new();
    let g = &hello.grease;
    let greased = g.cipher_suites + g.groups + g.versions + g.extensions + g.key_shares.len();
    if greased > 0 {
        notes.push(format!(
            "GREASE: {greased} of the values offered are random-looking reserved numbers (0x0a0a, 0x1a1a, \
             ... 0xfafa): {} among the cipher suites, {} among the groups, {} among the versions, {} among \
             the extensions{}. They mean nothing. Clients send them so that a server that breaks on a value \
             it does not know breaks today, not the day a real new value ships (RFC 8701). A server must \
             ignore them.",
            g.cipher_suites,
            g.groups,
            g.versions,
            g.extensions,
            match g.key_shares.first() {
                Some(size) => format!(", and a {size}-byte key share"),
                None => String::new(),
            }
        ));
    }
    let legacy: Vec<String> = hello
        .cipher_suites
        .iter()
        .filter(|c| !is_grease(u16::from(**c)) && !server_suites.contains(c))
        .map(|c| c.iana_name())
        .collect();
    if !legacy.is_empty() {
        notes.push(format!(
            "Legacy suites: {} of the suites offered are ones this server never picks: {}. They are there \
             for old servers (CBC mode, or RSA key transport without forward secrecy); a modern server \
             chooses an AEAD suite with an ephemeral key exchange.",
            legacy.len(),
            legacy.join(", ")
        ));
    }
    for share in hello
        .key_shares
        .iter()
        .filter(|k| names::is_post_quantum(k.group))
    {
        notes.push(format!(
            "Post-quantum key share: {} is {} bytes, an X25519 public key and an ML-KEM-768 public key side \
             by side, sent at once in case the server picks it; it is why this ClientHello is over a \
             kilobyte.",
            share.group.iana_name(),
            share.bytes
        ));
    }
    if g.ech {
        notes.push(
            "ECH: an encrypted_client_hello extension was sent. This server publishes no ECH key, so it \
             is ECH GREASE: random bytes shaped like a real encrypted ClientHello, so that real ECH does \
             not stand out on the wire."
                .into(),
        );
    }
    notes
}

/// What an eavesdropper on the path saw of one connection: facts both sides know.
pub struct OnThePath<'a> {
    pub tls12: bool,
    /// The two ends, as addresses and ports.
    pub client: Option<&'a str>,
    pub server: Option<&'a str>,
    pub hello: Option<&'a ClientHello>,
    pub version: Option<ProtocolVersion>,
    pub suite: Option<CipherSuite>,
    pub group: Option<NamedGroup>,
    pub alpn_chosen: Option<&'a str>,
    /// The server certificate's sentence.
    pub certificate: Option<&'a str>,
    pub records: usize,
    /// "GET /path", and "200 OK": what the encrypted records carried.
    pub request: Option<String>,
    pub response: Option<String>,
}

impl OnThePath<'_> {
    /// Step 7: what was readable by anyone on the path, and what was hidden.
    pub fn seen(&self) -> (Vec<String>, Vec<String>) {
        let mut in_clear = Vec::new();
        let mut hidden = Vec::new();
        if self.client.is_some() || self.server.is_some() {
            in_clear.push(format!(
                "who talked to whom: {} and {} (IP addresses and ports), when, and how much",
                self.client.unwrap_or("the client"),
                self.server.unwrap_or("the server")
            ));
        }
        if let Some(hello) = self.hello {
            in_clear.push(format!(
                "the ClientHello: the name asked for ({}), the protocols offered (ALPN {}), the versions, \
                 cipher suites, groups and key shares offered, and the client random",
                hello
                    .sni
                    .as_deref()
                    .map(|s| format!("SNI {s}"))
                    .unwrap_or_else(|| "no SNI: an IP address is not sent".into()),
                hello.alpn.join(", ")
            ));
        }
        if let (Some(version), Some(suite)) = (self.version, self.suite) {
            in_clear.push(format!(
                "the ServerHello: {}, {}, {} and the server random",
                version.iana_name(),
                suite.iana_name(),
                self.group
                    .map(Iana::iana_name)
                    .unwrap_or_else(|| "the key-exchange group".into())
            ));
        }
        let chosen = match self.alpn_chosen {
            Some(alpn) => format!("the protocol the server chose (ALPN {alpn})"),
            None => "that the server chose no protocol by ALPN".into(),
        };
        if self.tls12 {
            in_clear.push(format!(
                "the certificate, because this is TLS 1.2: who the server claims to be and who vouches for \
                 it (\"{}\")",
                self.certificate.unwrap_or_default()
            ));
            in_clear.push(format!("{chosen}, in its ServerHello"));
        } else {
            hidden.push(
                "the certificate: TLS 1.3 encrypts everything after the ServerHello, so who the server \
                 claims to be and who vouches for it are hidden"
                    .into(),
            );
            hidden.push(format!("{chosen}, in the encrypted EncryptedExtensions"));
        }
        in_clear.push(format!(
            "the type, size and time of every TLS record ({} records)",
            self.records
        ));
        if let Some(request) = &self.request {
            hidden.push(format!("the request: {request} and its headers"));
        }
        if let Some(response) = &self.response {
            hidden.push(format!("the response: {response} and its body"));
        }
        hidden.push(
            "the session keys: they never crossed the wire; without them the records are noise"
                .into(),
        );
        (in_clear, hidden)
    }
}
