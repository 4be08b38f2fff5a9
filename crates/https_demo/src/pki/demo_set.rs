//! The bundled set the demo runs on, made in one go: a fresh name-constrained CA, the site's key
//! and CSR, the site certificate, and the passphrase reminder. The CA key is discarded unless the
//! caller asks for it somewhere outside the repository.
//!
//! For mutual TLS, a second CA, the client CA, whose certificate the server trusts for visitors
//! (`demo_server --client-auth`), and one visitor, alice: her certificate, her key and her .p12,
//! both encrypted with the same passphrase as the site key (one secret to find, in
//! secret/reminder.txt). The client CA's key is always discarded: nobody can make another
//! visitor that this server lets in.

use std::path::{Path, PathBuf};

use anyhow::{Result, anyhow, bail};
use time::OffsetDateTime;

use super::names::{LOCAL_ONLY, Subject};
use super::{ca, csr, sign};
use crate::files::{self, Named, Output, PRIVATE, PUBLIC};
use crate::keys::{self, KeyType};
use crate::layout::Layout;

pub struct DemoSetRequest<'a> {
    pub layout: &'a Layout,
    pub site_key_type: KeyType,
    pub ca_key_type: KeyType,
    /// Where to keep the CA key (encrypted); `None` discards it.
    pub ca_key_out: Option<&'a Path>,
    /// Files the command reads (a passphrase file), which no output may overwrite.
    pub inputs: &'a [Named<'a>],
    pub force: bool,
}

pub struct DemoSet {
    pub site_not_after: OffsetDateTime,
    pub ca_not_after: OffsetDateTime,
    pub client_not_after: OffsetDateTime,
}

/// The bundled visitor of the mutual-TLS step.
pub const CLIENT_NAME: &str = "alice";
pub const CLIENT_CA_NAME: &str = "HTTPS Demo Client CA";

pub fn tutorial_subject(common_name: &str) -> Subject {
    Subject {
        country: Some("US".into()),
        state: Some("Maryland".into()),
        locality: Some("Baltimore".into()),
        organization: Some("HTTPS Demo".into()),
        common_name: common_name.into(),
    }
}

pub const SITE_NAMES: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

/// The bundled site certificate lives a year: Mozilla's "intermediate" server profile (which
/// sslyze checks) allows at most 366 days, stricter than Apple's 825 that `sign` enforces.
/// ./start_https_server.sh makes a fresh set when it expires.
pub const DEMO_SITE_DAYS: i64 = 365;

/// The kept CA key is read-only even for its owner, as mkcert keeps its CA key.
const CA_KEY_MODE: u32 = 0o400;

/// Whether `dir` is this repository's root: the workspace's Cargo.toml, with the library beside
/// it. (Not the certificate folders: they may be the very thing missing.)
pub fn is_repository_root(dir: &Path) -> bool {
    let manifest = files::read_text(&dir.join("Cargo.toml"), "Cargo.toml").unwrap_or_default();
    manifest.contains("[workspace]") && dir.join("crates/https_demo/Cargo.toml").is_file()
}

/// The repository root at or above `dir`, if `dir` is inside the repository.
pub fn find_repository_root(dir: &Path) -> Option<PathBuf> {
    let dir = std::path::absolute(dir).ok()?;
    dir.ancestors()
        .find(|d| is_repository_root(d))
        .map(Path::to_path_buf)
}

/// The set's files with the words that name them, the kept CA key last.
fn outputs<'a>(req: &DemoSetRequest<'a>, paths: &'a [PathBuf; 9]) -> Vec<Named<'a>> {
    let whats = [
        "the CA certificate",
        "the site key",
        "the site CSR",
        "the site certificate",
        "the passphrase reminder",
        "the client CA certificate",
        "alice's client certificate",
        "alice's client key",
        "alice's PKCS#12 file",
    ];
    let mut named: Vec<Named> = paths
        .iter()
        .zip(whats)
        .map(|(path, what)| Named { path, what })
        .collect();
    if let Some(path) = req.ca_key_out {
        named.push(Named {
            path,
            what: "the CA key (--keep-ca-key)",
        });
    }
    named
}

fn set_paths(l: &Layout) -> [PathBuf; 9] {
    [
        l.ca_cert(),
        l.site_key(),
        l.site_csr(),
        l.site_cert(),
        l.passphrase(),
        l.root.join(crate::layout::CLIENT_CA_CERT),
        l.root.join(crate::layout::CLIENT_CERT),
        l.root.join(crate::layout::CLIENT_KEY),
        l.root.join(crate::layout::CLIENT_P12),
    ]
}

/// Everything that can be refused before a key is made or a passphrase asked: the CA key inside
/// the repository, outputs that are one file or an input, outputs that exist (without force).
/// Makes the set's folders when they are missing.
pub fn prepare(req: &DemoSetRequest<'_>) -> Result<()> {
    let l = req.layout;
    if let Some(path) = req.ca_key_out
        && l.contains(path)
    {
        bail!(
            "refusing to write the CA key to {}: it is inside the repository, where it could be committed. \
             Whoever holds it can vouch for sites to everyone who trusts the CA. Choose a path outside {}.",
            path.display(),
            l.root.display()
        );
    }
    let paths = set_paths(l);
    for path in &paths {
        if let Some(dir) = path.parent()
            && !dir.is_dir()
        {
            std::fs::create_dir_all(dir).map_err(|e| {
                anyhow!(
                    "cannot make the folder {}: {}. Nothing of the old set was changed.",
                    dir.display(),
                    files::io_words(&e)
                )
            })?;
        }
    }
    files::check(&outputs(req, &paths), req.inputs, req.force)
}

/// Makes the set and writes it whole, or changes nothing. `ca_passphrase` encrypts the kept CA
/// key (`ca_key_out`).
pub fn create(req: &DemoSetRequest<'_>, ca_passphrase: Option<&str>) -> Result<DemoSet> {
    prepare(req)?;
    let permitted: Vec<String> = LOCAL_ONLY.iter().map(|s| s.to_string()).collect();
    let new_ca = ca::create(&ca::CaRequest {
        subject: &tutorial_subject("HTTPS Demo CA (localhost only)"),
        key_type: req.ca_key_type,
        days: super::validity::DEFAULT_CA_DAYS,
        permitted: &permitted,
    })?;
    let names: Vec<String> = SITE_NAMES.iter().map(|s| s.to_string()).collect();
    let new_csr = csr::create(&csr::CsrRequest {
        subject: &tutorial_subject("localhost"),
        names: &names,
        key_type: req.site_key_type,
    })?;
    let ca = sign::Ca {
        cert_der: super::certificates_from_pem(&new_ca.cert_pem, "the new CA")?.remove(0),
        key: new_ca.key,
        name: "HTTPS Demo CA (localhost only)".into(),
        not_after: new_ca.not_after,
        permitted: permitted
            .iter()
            .map(|p| super::names::parse_permitted(p))
            .collect::<Result<_>>()?,
    };
    let signed = sign::sign_csr(
        &new_csr.csr_pem,
        "the new CSR",
        &ca,
        &sign::SignRequest {
            days: Some(DEMO_SITE_DAYS),
            client_auth: false,
        },
    )?;

    let passphrase = new_passphrase();
    let site_key = keys::to_pem(&new_csr.key, Some(&passphrase))?;
    let reminder = zeroize::Zeroizing::new(format!("{}\n", passphrase.as_str()));
    let ca_key = match (req.ca_key_out, ca_passphrase) {
        (Some(_), Some(pass)) => Some(keys::to_pem(&ca.key, Some(pass))?),
        (Some(path), None) => bail!("no passphrase to encrypt the CA key {}", path.display()),
        (None, _) => None,
    };
    // Mutual TLS: the client CA (its key dropped at the end of this function) and alice.
    let new_client_ca = ca::create(&ca::CaRequest {
        subject: &tutorial_subject(CLIENT_CA_NAME),
        key_type: req.ca_key_type,
        days: super::validity::DEFAULT_CA_DAYS,
        permitted: &permitted,
    })?;
    let client_ca = sign::Ca {
        cert_der: super::certificates_from_pem(&new_client_ca.cert_pem, "the new client CA")?
            .remove(0),
        key: new_client_ca.key,
        name: CLIENT_CA_NAME.into(),
        not_after: new_client_ca.not_after,
        permitted: ca.permitted.clone(),
    };
    let alice = super::client_cert::create(
        &super::client_cert::ClientCertRequest {
            name: CLIENT_NAME,
            key_type: req.site_key_type,
            days: Some(DEMO_SITE_DAYS),
        },
        &client_ca,
    )?;
    let alice_key = keys::to_pem(&alice.key, Some(&passphrase))?;
    let alice_p12 = super::client_cert::to_p12(
        CLIENT_NAME,
        &alice.key,
        &alice.cert_der,
        &client_ca.cert_der,
        &passphrase,
    )?;

    let paths = set_paths(req.layout);
    let contents: [&[u8]; 9] = [
        new_ca.cert_pem.as_bytes(),
        site_key.as_bytes(),
        new_csr.csr_pem.as_bytes(),
        signed.cert_pem.as_bytes(),
        reminder.as_bytes(),
        new_client_ca.cert_pem.as_bytes(),
        alice.cert_pem.as_bytes(),
        alice_key.as_bytes(),
        &alice_p12,
    ];
    let modes = [
        PUBLIC,
        PRIVATE,
        PUBLIC,
        PUBLIC,
        PRIVATE,
        PUBLIC,
        PUBLIC,
        PRIVATE,
        PRIVATE,
        CA_KEY_MODE,
    ];
    let ca_key_bytes = ca_key.as_ref().map(|pem| pem.as_bytes());
    let outputs: Vec<Output> = outputs(req, &paths)
        .into_iter()
        .zip(contents.into_iter().chain(ca_key_bytes))
        .zip(modes)
        .map(|((named, contents), mode)| Output {
            path: named.path,
            what: named.what,
            contents,
            mode,
        })
        .collect();
    files::write_all(&outputs, req.inputs, req.force)?;
    Ok(DemoSet {
        site_not_after: signed.not_after,
        ca_not_after: new_ca.not_after,
        client_not_after: alice.not_after,
    })
}

/// 24 random letters and digits (about 143 bits): the demo's passphrase is committed on purpose,
/// to show where a real deployment keeps it, but it is still not a guessable one.
fn new_passphrase() -> zeroize::Zeroizing<String> {
    use rand::Rng;
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    let mut rng = rand::rng();
    zeroize::Zeroizing::new(
        (0..24)
            .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
            .collect(),
    )
}
