//! The logic behind the HTTPS demo. Data flows one way: the binaries call this library, and it
//! calls rustls, hyper, reqwest and rcgen.
//!
//! - [`acme`]: a certificate from an ACME CA (pebble, Let's Encrypt), the challenge answered, renewed.
//! - [`cli`]: what every binary does first.
//! - [`pki`]: become a CA, make a key and a CSR, sign it, inspect certificates.
//! - [`keys`] and [`passphrase`]: private keys and how they are unlocked.
//! - [`files`]: outputs written all or nothing, no clobber; keys with mode 0600; bounded reads.
//! - [`layout`]: where the bundled certificates live.
//! - [`tls`]: the trust core, the one classification of failures, the rustls configurations.
//! - [`client`]: the verifying client, its refusals in words, and `--explain`'s story.
//! - [`wire`]: bytes to typed TLS messages (the recording IO, ClientHello, ServerHello).
//! - [`lab`]: the failure lab: every bad certificate, served from a fresh lab CA, and the gallery.
//! - [`trust_store`]: the CA into and out of the NSS, system and Java stores; the trust doctor.
//! - [`mitm`]: the man in the middle: an interceptor that forges certificates and prints what it reads.
//! - [`proxy`]: the TLS-terminating proxy: HTTPS to the visitor, plain HTTP to the app behind it.

pub mod acme;
pub mod cli;
pub mod client;
pub mod files;
pub mod keys;
pub mod lab;
pub mod layout;
pub mod mitm;
pub mod passphrase;
pub mod pki;
pub mod proxy;
pub mod server;
pub mod story;
pub mod symmetric;
pub mod tls;
pub mod trust_store;
pub mod wire;
