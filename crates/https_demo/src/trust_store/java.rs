//! Java's own store: the `cacerts` keystore of the JDK that `$JAVA_HOME` (or `java` on PATH)
//! names, changed with that JDK's `keytool`. Java reads neither NSS nor, outside Debian's
//! ca-certificates-java hook, the system store (mkcert #182).

use std::path::{Path, PathBuf};
use std::time::Duration;

use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

use super::command::Cmd;
use super::{Ca, Outcome, Report, Store, StoreState, Trust};

const LIMIT: Duration = Duration::from_secs(60);
/// The password every JDK ships `cacerts` with; it guards integrity, not secrecy.
const STOREPASS: &str = "changeit";

/// A JDK's keytool and its cacerts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Keystore {
    pub keytool: PathBuf,
    pub cacerts: PathBuf,
}

impl Keystore {
    /// `$JAVA_HOME`'s, else that of the `java` found on PATH.
    pub fn find() -> Option<Keystore> {
        let java_home = match std::env::var_os("JAVA_HOME").filter(|h| !h.is_empty()) {
            Some(home) => PathBuf::from(home),
            None => {
                let java = std::env::var_os("PATH").and_then(|paths| {
                    std::env::split_paths(&paths)
                        .map(|p| p.join("java"))
                        .find(|p| p.is_file())
                })?;
                // /usr/bin/java -> /usr/lib/jvm/<jdk>/bin/java: the JDK is two levels up.
                std::fs::canonicalize(java)
                    .ok()?
                    .parent()?
                    .parent()?
                    .to_path_buf()
            }
        };
        Some(Keystore::of(&java_home))
    }

    pub fn of(java_home: &Path) -> Keystore {
        Keystore {
            keytool: java_home.join("bin/keytool"),
            cacerts: java_home.join("lib/security/cacerts"),
        }
    }

    fn base(&self, command: &str) -> Vec<String> {
        vec![
            command.into(),
            "-keystore".into(),
            self.cacerts.display().to_string(),
            "-storepass".into(),
            STOREPASS.into(),
        ]
    }

    fn cmd(&self, args: Vec<String>) -> Cmd {
        Cmd::new(self.keytool.display().to_string(), args)
    }

    pub fn import(&self, ca: &Ca) -> Cmd {
        let mut args = self.base("-importcert");
        args.extend([
            "-noprompt".into(),
            "-alias".into(),
            alias(ca),
            "-file".into(),
            ca.file.display().to_string(),
        ]);
        self.cmd(args)
    }

    pub fn delete(&self, alias: &str) -> Cmd {
        let mut args = self.base("-delete");
        args.extend(["-alias".into(), alias.into()]);
        self.cmd(args)
    }

    fn list(&self) -> Cmd {
        let mut args = self.base("-list");
        args.push("-rfc".into());
        self.cmd(args)
    }

    /// The aliases whose certificate is this CA.
    fn aliases(&self, ca: &Ca) -> Result<Vec<String>, String> {
        let out = self.list().run(LIMIT).map_err(|e| e.to_string())?;
        Ok(parse_rfc_list(&out.stdout)
            .into_iter()
            .filter(|(_, pem)| {
                CertificateDer::pem_slice_iter(pem.as_bytes())
                    .filter_map(|c| c.ok())
                    .any(|c| ca.is(&c))
            })
            .map(|(alias, _)| alias)
            .collect())
    }

    fn place(&self) -> String {
        format!("Java's keystore {}", self.cacerts.display())
    }
}

pub fn alias(ca: &Ca) -> String {
    format!("https-demo-{}", ca.short_id())
}

/// `keytool -list -rfc`: "Alias name: X" then the entry's PEM, for each entry.
fn parse_rfc_list(out: &str) -> Vec<(String, String)> {
    let mut entries: Vec<(String, String)> = Vec::new();
    for line in out.lines() {
        if let Some(alias) = line.strip_prefix("Alias name: ") {
            entries.push((alias.trim().to_string(), String::new()));
        } else if let Some((_, pem)) = entries.last_mut() {
            pem.push_str(line);
            pem.push('\n');
        }
    }
    entries
}

fn no_java() -> String {
    "no Java here (JAVA_HOME is unset and no java on PATH)".into()
}

fn missing(ks: &Keystore) -> Option<String> {
    (!ks.cacerts.is_file()).then(|| format!("{} does not exist", ks.cacerts.display()))
}

/// Why the keystore cannot be written by this user, if it cannot. Opening it for appending
/// writes nothing.
fn not_writable(ks: &Keystore, verb: &str) -> Option<String> {
    std::fs::OpenOptions::new()
        .append(true)
        .open(&ks.cacerts)
        .err()
        .map(|e| match e.kind() {
            std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::ReadOnlyFilesystem => {
                format!(
                    "{} is not writable by this user: sudo demo_pki trust {verb} --store java",
                    ks.cacerts.display()
                )
            }
            _ => format!("cannot open {} for writing: {e}", ks.cacerts.display()),
        })
}

fn report(place: String, outcome: Outcome) -> Report {
    Report {
        store: Store::Java,
        place,
        outcome,
        restart: Some("restart the Java programs that are running".into()),
    }
}

pub fn install(ca: &Ca) -> Report {
    let Some(ks) = Keystore::find() else {
        return report("Java's keystore".into(), Outcome::Skipped(no_java()));
    };
    if let Some(why) = missing(&ks) {
        return report(ks.place(), Outcome::Skipped(why));
    }
    let outcome = match ks.aliases(ca) {
        Ok(found) if !found.is_empty() => Outcome::AlreadyThere,
        Ok(_) => match not_writable(&ks, "install") {
            Some(why) => Outcome::Failed(why),
            None => match ks.import(ca).run(LIMIT) {
                Ok(_) => Outcome::Added,
                Err(e) => Outcome::Failed(e.to_string()),
            },
        },
        Err(e) => Outcome::Failed(e),
    };
    report(ks.place(), outcome)
}

pub fn uninstall(ca: &Ca) -> Report {
    let Some(ks) = Keystore::find() else {
        return report("Java's keystore".into(), Outcome::Skipped(no_java()));
    };
    if let Some(why) = missing(&ks) {
        return report(ks.place(), Outcome::Skipped(why));
    }
    let outcome = match ks.aliases(ca) {
        Ok(found) if found.is_empty() => Outcome::NotThere,
        Ok(found) => match not_writable(&ks, "uninstall") {
            Some(why) => Outcome::Failed(why),
            None => found
                .iter()
                .try_for_each(|alias| ks.delete(alias).run(LIMIT).map(|_| ()))
                .map(|()| Outcome::Removed)
                .unwrap_or_else(|e| Outcome::Failed(e.to_string())),
        },
        Err(e) => Outcome::Failed(e),
    };
    report(ks.place(), outcome)
}

pub fn status(ca: &Ca) -> StoreState {
    let Some(ks) = Keystore::find() else {
        return StoreState {
            store: Store::Java,
            place: "Java keystore".into(),
            trust: Trust::Absent(no_java()),
        };
    };
    let trust = match missing(&ks) {
        Some(why) => Trust::Absent(why),
        None => match ks.aliases(ca) {
            Ok(found) if found.is_empty() => Trust::NotTrusted,
            Ok(_) => Trust::Trusted,
            Err(e) => Trust::Unknown(e),
        },
    };
    StoreState {
        store: Store::Java,
        place: ks.place(),
        trust,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keytool_lines_name_the_jdk_keystore() {
        let ks = Keystore::of(Path::new("/usr/lib/jvm/java-17"));
        assert_eq!(
            ks.delete("https-demo-0011223344556677").to_string(),
            "/usr/lib/jvm/java-17/bin/keytool -delete -keystore /usr/lib/jvm/java-17/lib/security/cacerts \
             -storepass changeit -alias https-demo-0011223344556677"
        );
        let listed = "Alias name: a\nCreation date: x\n-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n\
                      Alias name: b\n-----BEGIN CERTIFICATE-----\nBBBB\n-----END CERTIFICATE-----\n";
        let entries = parse_rfc_list(listed);
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[1].0, "b");
        assert!(entries[1].1.contains("BBBB"));
    }
}
