//! The handshake story: what each side said in the clear, parsed from the real bytes with
//! tls-parser, and in words a learner reads.
//!
//! - [`wire`]: records the bytes of a connection, and where each TLS record starts.
//! - [`flight`]: which handshake messages crossed in clear.
//! - [`hello`]: the ClientHello and ServerHello, field by field.
//! - [`names`]: IANA code points as people name them.

pub mod flight;
pub mod hello;
pub mod names;
pub mod wire;
