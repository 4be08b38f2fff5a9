//! `demo_client --explain`: the story of the one connection that carried the request, step by
//! step, with the real values: the TCP connection, the ClientHello and ServerHello parsed from
//! the bytes on the wire, the certificate and each check made on it, the keys, the encrypted
//! request and response, and what an eavesdropper saw.
//!
//! - [`run`]: makes the connection (TCP, tokio-rustls, hyper) through a recording IO, and
//!   collects the facts.
//! - [`checks`]: the certificate checks in words, from the verifier's verdict.
//! - [`http`]: the one GET, with hyper, over that TLS stream.
//! - [`eavesdropper`]: what the path saw, from the recorded bytes.
//! - [`story`]: the facts, serialisable: `--json` prints them as they are.
//! - [`render`]: the facts in plain words.
//! - [`tickets`]: counts the server's session tickets, to name the record that carried them.

pub mod checks;
pub mod eavesdropper;
pub mod http;
pub mod render;
pub mod run;
pub mod story;
pub mod tickets;

pub use render::render;
pub use run::tell;
pub use story::Story;

impl Story {
    /// The same facts for a program to read.
    pub fn json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    }
}
