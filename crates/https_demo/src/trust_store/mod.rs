//! Trust stores: put the CA where browsers and tools look for CAs, take it out again, and answer
//! "why isn't it trusted?". One module per kind of store ([`nss`] for Chromium and Firefox,
//! [`system`] for curl, OpenSSL and most programs, [`java`] for the JVM), and [`doctor`] for the
//! clients a learner uses. What we installed is always found again by the CA's SHA-256
//! fingerprint, never by a name alone, so that uninstall touches nothing else.

pub mod command;
pub mod doctor;
pub mod java;
pub mod nss;
pub mod system;

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use anyhow::{Result, bail};
use base64::Engine as _;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

use crate::pki::inspect::{CertSummary, fingerprint};
use crate::tls::trust::{TrustedCas, ca_name};

/// The CA being installed, removed or looked for.
#[derive(Clone, Debug)]
pub struct Ca {
    /// The file it was read from, absolute (the stores' tools are given this path).
    pub file: PathBuf,
    pub der: Vec<u8>,
    pub summary: CertSummary,
    /// Its own name: "HTTPS Demo CA (localhost only)".
    pub name: String,
}

impl Ca {
    /// Reads the one CA certificate of a PEM file (with the trust core's bounded read).
    pub fn load(file: &Path) -> Result<Ca> {
        let shown = file.display();
        if matches!(file.try_exists(), Ok(false)) {
            bail!(
                "the CA file {shown} does not exist. Run demo_pki trust from the repository root (the default is {}), \
                 or pass the CA certificate with --ca FILE. Nothing was changed.",
                crate::layout::CA_CERT
            );
        }
        let cas = TrustedCas::load(file)?;
        if cas.certs.len() != 1 {
            bail!(
                "{shown} holds {} certificates; install one CA at a time (split the file, one certificate per file). \
                 Nothing was changed.",
                cas.certs.len()
            );
        }
        let summary = cas.summaries[0].clone();
        if !summary.is_ca {
            bail!(
                "{shown} holds {}, which is not a CA certificate (no basicConstraints CA:TRUE): a store would not \
                 accept it as a CA. Give the CA's certificate, e.g. {}. Nothing was changed.",
                summary.called(),
                crate::layout::CA_CERT
            );
        }
        Ok(Ca {
            file: std::path::absolute(file).unwrap_or_else(|_| file.to_path_buf()),
            der: cas.certs[0].to_vec(),
            name: ca_name(&summary),
            summary,
        })
    }

    /// "AB:CD:...", the identity every store is searched by.
    pub fn fingerprint(&self) -> &str {
        &self.summary.sha256
    }

    /// The first 8 bytes of the fingerprint in lower-case hex, for file names and nicknames.
    pub fn short_id(&self) -> String {
        self.summary
            .sha256
            .split(':')
            .take(8)
            .collect::<String>()
            .to_lowercase()
    }

    /// The fingerprint as 64 hex digits without colons (macOS `security -Z`, PowerShell).
    pub fn hex(&self) -> String {
        self.summary.sha256.replace(':', "")
    }

    /// The name it gets in NSS and Java stores: readable, and distinct per CA.
    pub fn nickname(&self) -> String {
        format!("{} {}", self.name, self.short_id())
    }

    /// True when `der` is this very certificate.
    pub fn is(&self, der: &[u8]) -> bool {
        fingerprint(der) == self.summary.sha256
    }

    /// True when one of the PEM certificates in `text` is this one.
    pub fn in_pem(&self, text: &[u8]) -> bool {
        CertificateDer::pem_slice_iter(text)
            .filter_map(|c| c.ok())
            .any(|c| self.is(&c))
    }

    pub fn pem(&self) -> String {
        let b64 = base64::engine::general_purpose::STANDARD.encode(&self.der);
        let mut pem = String::from("-----BEGIN CERTIFICATE-----\n");
        for line in b64.as_bytes().chunks(64) {
            pem.push_str(std::str::from_utf8(line).unwrap_or_default());
            pem.push('\n');
        }
        pem.push_str("-----END CERTIFICATE-----\n");
        pem
    }

    /// The names it may vouch for; empty when it has no name constraints.
    pub fn permitted(&self) -> &[crate::pki::names::Name] {
        &self.summary.permitted
    }

    /// Refuses a CA without name constraints unless the user said `--unconstrained`: trusting
    /// it lets its key vouch for every site there is.
    pub fn check_constraints(&self, unconstrained: bool) -> Result<()> {
        if self.permitted().is_empty() && !unconstrained {
            bail!(
                "{} ({}) has no name constraints: once a store trusts it, it can vouch for ANY site (your bank, your \
                 mail, any https:// name at all) to every program that trusts that store, and whoever holds or \
                 steals its private key can impersonate all of them to you. Nothing was installed. If that is \
                 really what you want, run again with --unconstrained; otherwise make a loopback-only CA with \
                 `demo_pki ca` (name-constrained by default).",
                self.name,
                self.file.display()
            );
        }
        Ok(())
    }
}

/// The kinds of store `demo_pki trust` manages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Store {
    Nss,
    System,
    Java,
}

impl Store {
    pub const ALL: [Store; 3] = [Store::Nss, Store::System, Store::Java];
}

impl fmt::Display for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Store::Nss => "nss",
            Store::System => "system",
            Store::Java => "java",
        })
    }
}

impl FromStr for Store {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "nss" => Ok(Store::Nss),
            "system" => Ok(Store::System),
            "java" => Ok(Store::Java),
            other => Err(format!(
                "unknown store {other:?}: the stores are nss (Chromium, Firefox), system (curl, OpenSSL, most \
                 programs) and java"
            )),
        }
    }
}

/// What happened in one place (one NSS database, the system store, one Java keystore).
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Added,
    AlreadyThere,
    Removed,
    NotThere,
    /// Nothing to do here, and why (no Java, no Firefox profile).
    Skipped(String),
    /// It could not be done: the reason and the next step, in words.
    Failed(String),
}

/// One line of install/uninstall's report.
#[derive(Debug)]
pub struct Report {
    pub store: Store,
    /// "Chromium's NSS database at /home/me/.pki/nssdb".
    pub place: String,
    pub outcome: Outcome,
    /// What must restart to see the change ("restart Chromium").
    pub restart: Option<String>,
}

impl Report {
    pub fn failed(&self) -> bool {
        matches!(self.outcome, Outcome::Failed(_))
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let place = &self.place;
        match &self.outcome {
            Outcome::Added => write!(f, "added to {place}")?,
            Outcome::AlreadyThere => write!(f, "already trusted in {place}: nothing to do")?,
            Outcome::Removed => write!(f, "removed from {place}")?,
            Outcome::NotThere => write!(f, "not in {place}: nothing to remove")?,
            Outcome::Skipped(why) => return write!(f, "skipped {place}: {why}"),
            Outcome::Failed(why) => return write!(f, "FAILED for {place}: {why}"),
        }
        match (&self.outcome, &self.restart) {
            (Outcome::Added | Outcome::Removed, Some(restart)) => write!(f, "; {restart}"),
            _ => Ok(()),
        }
    }
}

/// Whether one place trusts the CA.
#[derive(Debug, PartialEq, Eq)]
pub enum Trust {
    Trusted,
    NotTrusted,
    /// It could not be told (the tool is missing, the store unreadable), and why.
    Unknown(String),
    /// There is no such store here (no Java, no Firefox profile).
    Absent(String),
}

/// One line of status: a place and whether it trusts the CA.
#[derive(Debug)]
pub struct StoreState {
    pub store: Store,
    pub place: String,
    pub trust: Trust,
}

impl fmt::Display for StoreState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let place = &self.place;
        match &self.trust {
            Trust::Trusted => write!(f, "trusted by {place}"),
            Trust::NotTrusted => write!(f, "NOT trusted by {place}"),
            Trust::Unknown(why) => write!(f, "unknown for {place}: {why}"),
            Trust::Absent(why) => write!(f, "no {place}: {why}"),
        }
    }
}

/// Adds the CA to each store named (all when none is), after the name-constraint check.
pub fn install(ca: &Ca, stores: &[Store], unconstrained: bool) -> Result<Vec<Report>> {
    ca.check_constraints(unconstrained)?;
    Ok(chosen(stores)
        .into_iter()
        .flat_map(|store| match store {
            Store::Nss => nss::install(ca),
            Store::System => vec![system::install(ca)],
            Store::Java => vec![java::install(ca)],
        })
        .collect())
}

/// Removes from each store named (all when none is) exactly the certificate whose fingerprint is
/// the CA's.
pub fn uninstall(ca: &Ca, stores: &[Store]) -> Vec<Report> {
    let chosen = chosen(stores);
    chosen
        .iter()
        .flat_map(|store| match store {
            Store::Nss => nss::uninstall(ca),
            Store::System => {
                let mut reports = vec![system::uninstall(ca)];
                // Debian's ca-certificates-java hook copies what the system store gains into
                // Java's cacerts, and update-ca-certificates does not always take it out again
                // (seen on Debian 12): the copy system install caused goes with it.
                if system::java_follows() && !chosen.contains(&Store::Java) {
                    reports.push(java::uninstall(ca));
                }
                reports
            }
            Store::Java => vec![java::uninstall(ca)],
        })
        .collect()
}

/// Whether each store trusts the CA.
pub fn states(ca: &Ca, stores: &[Store]) -> Vec<StoreState> {
    chosen(stores)
        .into_iter()
        .flat_map(|store| match store {
            Store::Nss => nss::status(ca),
            Store::System => vec![system::status(ca)],
            Store::Java => vec![java::status(ca)],
        })
        .collect()
}

fn chosen(stores: &[Store]) -> Vec<Store> {
    if stores.is_empty() {
        Store::ALL.to_vec()
    } else {
        let mut v = stores.to_vec();
        v.dedup();
        v
    }
}

/// True when this process runs as root (the system stores are root's to change).
fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// The user who ran `sudo demo_pki ...`, whose browsers' databases are in their own HOME, not
/// root's.
fn sudo_user() -> Option<String> {
    std::env::var("SUDO_USER")
        .ok()
        .filter(|u| !u.is_empty() && is_root())
}

/// The user's home folder, where the NSS databases live.
fn home() -> Option<PathBuf> {
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
}
