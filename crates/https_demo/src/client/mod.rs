//! The verifying client: fetch the secret message from the demo's server, say what was verified,
//! and when it fails, explain in plain words which check failed and what to do next. What the
//! client trusts is decided in [`crate::tls::trust`], not here.
//!
//! - [`target`]: the server a URL names.
//! - [`fetch`]: one GET, with a time limit, and a report of what was verified.
//! - [`diagnose`]: from a failed request to a sentence a person can act on.
//! - [`probe`]: whether a port speaks TLS, for an http:// URL that reached an HTTPS server.
//! - [`explain`]: the story of one connection, step by step (`demo_client --explain`).

pub mod diagnose;
pub mod explain;
pub mod fetch;
pub mod probe;
pub mod target;

pub use fetch::{Client, DEFAULT_URL, Fetched, Request};
