//! NSS, the certificate library of Chromium (on Linux) and Firefox: Chromium reads
//! `~/.pki/nssdb`, each Firefox profile its own `cert9.db` (also under the snap and flatpak
//! folders). `certutil` (libnss3-tools) is the only supported way to change them; a fresh HOME
//! has no `~/.pki/nssdb` at all, and `certutil -A` then fails with SEC_ERROR_BAD_DATABASE, so
//! install makes it first (as Chromium would, with an empty password).

use std::path::{Path, PathBuf};
use std::time::Duration;

use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

use super::command::Cmd;
use super::{Ca, Outcome, Report, Store, StoreState, Trust};

const LIMIT: Duration = Duration::from_secs(30);

/// Which browser reads a database.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Browser {
    Chromium,
    Firefox,
}

/// One NSS database.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Db {
    pub browser: Browser,
    pub dir: PathBuf,
}

impl Db {
    fn arg(&self) -> String {
        format!("sql:{}", self.dir.display())
    }

    pub fn place(&self) -> String {
        match self.browser {
            Browser::Chromium => format!("Chromium's NSS database at {}", self.dir.display()),
            Browser::Firefox => format!(
                "the Firefox profile's NSS database at {}",
                self.dir.display()
            ),
        }
    }

    fn restart(&self) -> String {
        match self.browser {
            Browser::Chromium => "restart Chromium (and Chrome) to see it".into(),
            Browser::Firefox => "restart Firefox to see it".into(),
        }
    }

    pub fn add(&self, ca: &Ca) -> Cmd {
        Cmd::new(
            "certutil",
            [
                "-A".into(),
                "-d".into(),
                self.arg(),
                "-t".into(),
                "C,,".into(),
                "-n".into(),
                ca.nickname(),
                "-i".into(),
                ca.file.display().to_string(),
            ],
        )
    }

    pub fn create(&self) -> Cmd {
        Cmd::new(
            "certutil",
            [
                "-N".into(),
                "-d".into(),
                self.arg(),
                "--empty-password".into(),
            ],
        )
    }

    fn list(&self) -> Cmd {
        Cmd::new("certutil", ["-L".into(), "-d".into(), self.arg()])
    }

    fn export(&self, nickname: &str) -> Cmd {
        Cmd::new(
            "certutil",
            [
                "-L".into(),
                "-d".into(),
                self.arg(),
                "-n".into(),
                nickname.to_string(),
                "-a".into(),
            ],
        )
    }

    pub fn delete(&self, nickname: &str) -> Cmd {
        Cmd::new(
            "certutil",
            [
                "-D".into(),
                "-d".into(),
                self.arg(),
                "-n".into(),
                nickname.to_string(),
            ],
        )
    }

    fn exists(&self) -> bool {
        self.dir.join("cert9.db").is_file()
    }

    /// The entries that hold this CA (by fingerprint), with their trust flags, and whether the
    /// nickname also names other certificates.
    fn find(&self, ca: &Ca) -> Result<Vec<Entry>, String> {
        let listed = self.list().run(LIMIT).map_err(|e| e.to_string())?;
        let mut found = Vec::new();
        for (nickname, flags) in parse_list(&listed.stdout) {
            let pem = self
                .export(&nickname)
                .run(LIMIT)
                .map_err(|e| e.to_string())?;
            let ders: Vec<CertificateDer<'_>> =
                CertificateDer::pem_slice_iter(pem.stdout.as_bytes())
                    .filter_map(|c| c.ok())
                    .collect();
            if ders.iter().any(|d| ca.is(d)) {
                found.push(Entry {
                    others: ders.iter().any(|d| !ca.is(d)),
                    nickname,
                    flags,
                });
            }
        }
        Ok(found)
    }
}

struct Entry {
    nickname: String,
    flags: String,
    /// The nickname also names certificates that are not this CA: deleting by nickname could
    /// take one of them, so it is left alone.
    others: bool,
}

/// True when the flags "SSL,S/MIME,JAR" make it a CA trusted for TLS servers ("C" in the first).
fn trusted_for_tls(flags: &str) -> bool {
    flags.split(',').next().is_some_and(|ssl| ssl.contains('C'))
}

/// The (nickname, trust flags) pairs of `certutil -L`: after a header, each line is the
/// nickname padded to a column, then the flags as one word.
pub fn parse_list(out: &str) -> Vec<(String, String)> {
    out.lines()
        .skip_while(|l| !l.starts_with("Certificate Nickname"))
        .skip(1)
        .filter_map(|line| {
            let line = line.trim_end();
            if line.trim().is_empty() || line.trim_start().starts_with("SSL,S/MIME") {
                return None;
            }
            let (nick, flags) = line.rsplit_once(char::is_whitespace)?;
            Some((nick.trim().to_string(), flags.to_string()))
        })
        .collect()
}

/// Chromium's database (even when it does not exist yet) and every Firefox profile's.
pub fn databases(home: &Path) -> Vec<Db> {
    let mut dbs = vec![Db {
        browser: Browser::Chromium,
        dir: home.join(".pki/nssdb"),
    }];
    for base in [
        ".mozilla/firefox",
        "snap/firefox/common/.mozilla/firefox",
        ".var/app/org.mozilla.firefox/.mozilla/firefox",
    ] {
        let Ok(entries) = std::fs::read_dir(home.join(base)) else {
            continue;
        };
        let mut profiles: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.join("cert9.db").is_file())
            .collect();
        profiles.sort();
        dbs.extend(profiles.into_iter().map(|dir| Db {
            browser: Browser::Firefox,
            dir,
        }));
    }
    dbs
}

fn no_home() -> Vec<Report> {
    vec![Report {
        store: Store::Nss,
        place: "the browsers' NSS databases".into(),
        outcome: Outcome::Skipped("HOME is not set, so there is no home folder to look in".into()),
        restart: None,
    }]
}

/// Under sudo, HOME may be root's: the user's browsers would not see the CA.
fn under_sudo() -> Option<Vec<Report>> {
    let user = super::sudo_user()?;
    Some(vec![Report {
        store: Store::Nss,
        place: "the browsers' NSS databases".into(),
        outcome: Outcome::Skipped(format!(
            "running through sudo, so HOME may be root's and not {user}'s: run `demo_pki trust install --store \
             nss` (or uninstall) as {user}, without sudo"
        )),
        restart: None,
    }])
}

pub fn install(ca: &Ca) -> Vec<Report> {
    each_database(|db| install_one(db, ca))
}

/// `act` on each NSS database of this user (Chromium's, every Firefox profile's), one report
/// each; nothing under sudo, whose HOME may be root's.
fn each_database(act: impl Fn(&Db) -> Outcome) -> Vec<Report> {
    if let Some(skipped) = under_sudo() {
        return skipped;
    }
    let Some(home) = super::home() else {
        return no_home();
    };
    databases(&home)
        .into_iter()
        .map(|db| Report {
            store: Store::Nss,
            place: db.place(),
            outcome: act(&db),
            restart: Some(db.restart()),
        })
        .collect()
}

fn install_one(db: &Db, ca: &Ca) -> Outcome {
    if !db.exists() {
        if let Err(e) = std::fs::create_dir_all(&db.dir) {
            return Outcome::Failed(format!("cannot make the folder {}: {e}", db.dir.display()));
        }
        if let Err(e) = db.create().run(LIMIT) {
            return Outcome::Failed(e.to_string());
        }
    }
    match db.find(ca) {
        Ok(found) if found.iter().any(|e| trusted_for_tls(&e.flags)) => {
            return Outcome::AlreadyThere;
        }
        Ok(_) => {}
        Err(e) => return Outcome::Failed(e),
    }
    match db.add(ca).run(LIMIT) {
        Ok(_) => Outcome::Added,
        Err(e) => Outcome::Failed(e.to_string()),
    }
}

pub fn uninstall(ca: &Ca) -> Vec<Report> {
    each_database(|db| {
        if db.exists() {
            uninstall_one(db, ca)
        } else {
            Outcome::NotThere
        }
    })
}

fn uninstall_one(db: &Db, ca: &Ca) -> Outcome {
    let found = match db.find(ca) {
        Ok(found) => found,
        Err(e) => return Outcome::Failed(e),
    };
    if found.is_empty() {
        return Outcome::NotThere;
    }
    for entry in &found {
        if entry.others {
            return Outcome::Failed(format!(
                "the nickname {:?} names this CA and other certificates too; deleting by that nickname could remove \
                 one of them, so nothing was removed. Remove it by hand: {}",
                entry.nickname,
                db.delete(&entry.nickname)
            ));
        }
        if let Err(e) = db.delete(&entry.nickname).run(LIMIT) {
            return Outcome::Failed(e.to_string());
        }
    }
    Outcome::Removed
}

pub fn status(ca: &Ca) -> Vec<StoreState> {
    let Some(home) = super::home() else {
        return vec![StoreState {
            store: Store::Nss,
            place: "NSS database".into(),
            trust: Trust::Absent("HOME is not set".into()),
        }];
    };
    databases(&home)
        .into_iter()
        .map(|db| {
            let trust = if !db.exists() {
                Trust::NotTrusted
            } else {
                match db.find(ca) {
                    Ok(found) if found.iter().any(|e| trusted_for_tls(&e.flags)) => Trust::Trusted,
                    Ok(_) => Trust::NotTrusted,
                    Err(e) => Trust::Unknown(e),
                }
            };
            StoreState {
                store: Store::Nss,
                place: if db.exists() {
                    db.place()
                } else {
                    format!("{} (it does not exist yet)", db.place())
                },
                trust,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certutil_list_is_read_with_nicknames_that_hold_spaces() {
        let out = "\nCertificate Nickname                                         Trust Attributes\n\
                   \x20                                                            SSL,S/MIME,JAR/XPI\n\n\
                   HTTPS Demo CA (localhost only) 0a1b2c3d4e5f6a7b              C,,  \n\
                   other                                                        CT,C,C\n";
        assert_eq!(
            parse_list(out),
            vec![
                (
                    "HTTPS Demo CA (localhost only) 0a1b2c3d4e5f6a7b".to_string(),
                    "C,,".to_string()
                ),
                ("other".to_string(), "CT,C,C".to_string())
            ]
        );
        assert!(trusted_for_tls("C,,"));
        assert!(!trusted_for_tls(",C,"));
    }
}
