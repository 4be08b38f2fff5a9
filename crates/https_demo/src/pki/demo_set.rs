//! The bundled set the demo runs on, made in one go: a fresh name-constrained CA, the site's key
//! and CSR, the site certificate, and the passphrase reminder. The CA key is discarded unless the
//! caller asks for it somewhere outside the repository.

use std::path::Path;

use anyhow::{Result, bail};
use time::OffsetDateTime;

use super::names::{LOCAL_ONLY, Subject};
use super::{ca, csr, sign};
use crate::files::{self, Output, PRIVATE, PUBLIC};
use crate::keys::{self, KeyType};
use crate::layout::Layout;

pub struct DemoSetRequest<'a> {
    pub layout: &'a Layout,
    pub site_key_type: KeyType,
    pub ca_key_type: KeyType,
    /// Where to keep the CA key (encrypted with `ca_passphrase`); `None` discards it.
    pub ca_key_out: Option<(&'a Path, &'a str)>,
    pub force: bool,
}

pub struct DemoSet {
    pub site_not_after: OffsetDateTime,
    pub ca_not_after: OffsetDateTime,
}

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

pub fn create(req: &DemoSetRequest<'_>) -> Result<DemoSet> {
    let l = req.layout;
    if let Some((path, _)) = req.ca_key_out
        && l.contains(path)
    {
        bail!(
            "refusing to write the CA key to {}: it is inside the repository, where it could be committed. \
             Whoever holds it can vouch for sites to everyone who trusts the CA. Choose a path outside {}.",
            path.display(),
            l.root.display()
        );
    }
    let mut targets = vec![
        l.ca_cert(),
        l.site_cert(),
        l.site_key(),
        l.site_csr(),
        l.passphrase(),
    ];
    if let Some((path, _)) = req.ca_key_out {
        targets.push(path.to_path_buf());
    }
    files::check_free(
        &targets.iter().map(|p| p.as_path()).collect::<Vec<_>>(),
        req.force,
    )?;

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
    let reminder = format!("{}\n", passphrase.as_str());
    let ca_key = match req.ca_key_out {
        Some((_, pass)) => Some(keys::to_pem(&ca.key, Some(pass))?),
        None => None,
    };
    for dir in [l.ca_cert(), l.site_cert(), l.passphrase()] {
        if let Some(parent) = dir.parent() {
            std::fs::create_dir_all(parent)?;
        }
    }
    let (ca_cert, site_cert, key_path, csr_path, pass_path) = (
        l.ca_cert(),
        l.site_cert(),
        l.site_key(),
        l.site_csr(),
        l.passphrase(),
    );
    let mut outputs = vec![
        Output {
            path: &ca_cert,
            contents: new_ca.cert_pem.as_bytes(),
            mode: PUBLIC,
        },
        Output {
            path: &key_path,
            contents: site_key.as_bytes(),
            mode: PRIVATE,
        },
        Output {
            path: &csr_path,
            contents: new_csr.csr_pem.as_bytes(),
            mode: PUBLIC,
        },
        Output {
            path: &site_cert,
            contents: signed.cert_pem.as_bytes(),
            mode: PUBLIC,
        },
        Output {
            path: &pass_path,
            contents: reminder.as_bytes(),
            mode: PRIVATE,
        },
    ];
    if let (Some((path, _)), Some(pem)) = (req.ca_key_out, ca_key.as_ref()) {
        outputs.push(Output {
            path,
            contents: pem.as_bytes(),
            mode: 0o400,
        });
    }
    files::write_all(&outputs, req.force)?;
    Ok(DemoSet {
        site_not_after: signed.not_after,
        ca_not_after: new_ca.not_after,
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
