//! The handshake story: what each side said in the clear, parsed from the real bytes with
//! tls-parser, and in words a learner reads.

pub mod hello;
pub mod names;
