//! Bytes to typed TLS messages: what each side said in the clear, parsed from the real bytes
//! with tls-parser. The story told from them is [`crate::client::explain`].
//!
//! - [`recording`]: records the bytes of a connection, and where each TLS record starts.
//! - [`flight`]: which handshake messages crossed in clear.
//! - [`hello`]: the ClientHello and ServerHello, field by field.
//! - [`iana`]: IANA code points (versions, cipher suites, groups, signature schemes) as people
//!   name them.

pub mod flight;
pub mod hello;
pub mod iana;
pub mod recording;
