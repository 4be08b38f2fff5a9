//! Bytes to typed TLS messages: what each side said in the clear, parsed from the real bytes
//! with tls-parser. The story told from them is [`crate::client::explain`].
//!
//! - [`recording`]: records the bytes of a connection, and where each TLS record starts.
//! - [`flight`]: which handshake messages crossed in clear.
//! - [`hello`]: the ClientHello and ServerHello, field by field.
//! - [`iana`]: IANA code points (versions, cipher suites, groups, signature schemes) as people
//!   name them; the values themselves stay rustls's typed enums until they are shown.
//! - [`suite`]: what the negotiated version and suite mean: forward secrecy, record overhead.

pub mod flight;
pub mod hello;
pub mod iana;
pub mod recording;
pub mod suite;
