//! Where the demo keeps its files, relative to the repository root (the classic demo's layout).

use std::path::{Path, PathBuf};

pub const CA_CERT: &str = "ca_certificates_for_client/ca_public_key.pem";
pub const SITE_CERT: &str = "certificates/site_public_key.pem";
pub const SITE_KEY: &str = "certificates/site_private_key.pem";
pub const SITE_CSR: &str = "certificates/site_csr.pem";
pub const PASSPHRASE: &str = "secret/reminder.txt";
/// Mutual TLS: the CA whose certificates the server accepts from visitors (`demo_server
/// --client-auth`), and the certificate of the bundled visitor, alice. Her key is encrypted with
/// the same passphrase as the site key ([`PASSPHRASE`]); her .p12 too.
pub const CLIENT_CA_CERT: &str = "certificates/client_ca_public_key.pem";
pub const CLIENT_CERT: &str = "clients/alice.pem";
pub const CLIENT_KEY: &str = "clients/alice_key.pem";
pub const CLIENT_P12: &str = "clients/alice.p12";

/// The command that makes the whole bundled set again.
pub const REGENERATE: &str = "cargo run --release --bin demo_pki -- demo --force";

/// The bundled set, under a root folder.
#[derive(Clone, Debug)]
pub struct Layout {
    pub root: PathBuf,
}

impl Layout {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Layout { root: root.into() }
    }
    pub fn ca_cert(&self) -> PathBuf {
        self.root.join(CA_CERT)
    }
    pub fn site_cert(&self) -> PathBuf {
        self.root.join(SITE_CERT)
    }
    pub fn site_key(&self) -> PathBuf {
        self.root.join(SITE_KEY)
    }
    pub fn site_csr(&self) -> PathBuf {
        self.root.join(SITE_CSR)
    }
    pub fn passphrase(&self) -> PathBuf {
        self.root.join(PASSPHRASE)
    }
    pub fn contains(&self, path: &Path) -> bool {
        let abs = |p: &Path| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
        abs(path).starts_with(abs(&self.root))
    }
}
