//! The rustls configurations: the one place that says what each side trusts and offers.
//!
//! - [`trust`]: the trust core, CA file to verifier, and the offline verdict.
//! - [`failure`]: what a refusal means, classified once.
//! - [`client`] and [`server`]: the configurations each side offers.
//! - [`witness`]: what `demo_client --explain` watches through.

pub mod client;
pub mod failure;
pub mod server;
pub mod trust;
pub mod witness;

use std::sync::Arc;

use rustls::crypto::CryptoProvider;

/// aws-lc-rs, the only rustls provider with the post-quantum hybrid group X25519MLKEM768, which
/// rustls prefers by default (feature `prefer-post-quantum`).
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}
