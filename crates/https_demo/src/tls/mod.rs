//! The rustls configurations: the one place that says what each side trusts and offers.

pub mod client;
pub mod observe;
pub mod server;

use std::sync::Arc;

use rustls::crypto::CryptoProvider;

/// aws-lc-rs, the only rustls provider with the post-quantum hybrid group X25519MLKEM768, which
/// rustls prefers by default (feature `prefer-post-quantum`).
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}
