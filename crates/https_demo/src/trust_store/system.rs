//! The system store: what curl, OpenSSL, wget, git, Go and most programs trust. Each platform
//! has its own way in, built here as typed steps so that the platforms this machine cannot run
//! are unit-tested by their exact command lines, and Debian's are run for real.
//!
//! - Debian/Ubuntu: a `.crt` file in `/usr/local/share/ca-certificates/`, then
//!   `update-ca-certificates` (which rebuilds `/etc/ssl/certs/ca-certificates.crt`, and the Java
//!   keystore through its hook).
//! - Fedora/RHEL: `/etc/pki/ca-trust/source/anchors/`, then `update-ca-trust extract`.
//! - Arch: `/etc/ca-certificates/trust-source/anchors/`, then `update-ca-trust`.
//! - macOS: `security add-trusted-cert` into the System keychain (mkcert does the same).
//! - Windows: `certutil -addstore -f ROOT`; removal by SHA-256 through PowerShell, since
//!   `certutil -delstore` matches SHA-1 thumbprints or serials only.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::command::Cmd;
use super::{Ca, Outcome, Report, Store, StoreState, Trust};

/// update-ca-certificates runs its hooks (the Java keystore among them): give it time.
const LIMIT: Duration = Duration::from_secs(180);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Platform {
    Debian,
    Fedora,
    Arch,
    MacOs,
    Windows,
}

impl Platform {
    /// The platform this program runs on, when it has a system store we know.
    pub fn here() -> Option<Platform> {
        if cfg!(target_os = "macos") {
            return Some(Platform::MacOs);
        }
        if cfg!(windows) {
            return Some(Platform::Windows);
        }
        if Path::new("/usr/sbin/update-ca-certificates").exists()
            || Path::new("/usr/local/share/ca-certificates").is_dir()
        {
            Some(Platform::Debian)
        } else if Path::new("/etc/pki/ca-trust/source/anchors").is_dir() {
            Some(Platform::Fedora)
        } else if Path::new("/etc/ca-certificates/trust-source/anchors").is_dir() {
            Some(Platform::Arch)
        } else {
            None
        }
    }

    /// The folder the platform's tool reads anchors from, for the file-based ones.
    pub fn anchors(self) -> Option<&'static str> {
        match self {
            Platform::Debian => Some("/usr/local/share/ca-certificates"),
            Platform::Fedora => Some("/etc/pki/ca-trust/source/anchors"),
            Platform::Arch => Some("/etc/ca-certificates/trust-source/anchors"),
            Platform::MacOs | Platform::Windows => None,
        }
    }

    /// The bundle the platform's tools build, which OpenSSL and curl read.
    pub fn bundle(self) -> Option<&'static str> {
        match self {
            Platform::Debian | Platform::Arch => Some("/etc/ssl/certs/ca-certificates.crt"),
            Platform::Fedora => Some("/etc/pki/tls/certs/ca-bundle.crt"),
            Platform::MacOs | Platform::Windows => None,
        }
    }

    pub fn place(self) -> String {
        match self {
            Platform::Debian => {
                "the system store (Debian/Ubuntu: /usr/local/share/ca-certificates)".into()
            }
            Platform::Fedora => {
                "the system store (Fedora/RHEL: /etc/pki/ca-trust/source/anchors)".into()
            }
            Platform::Arch => {
                "the system store (Arch: /etc/ca-certificates/trust-source/anchors)".into()
            }
            Platform::MacOs => "the macOS System keychain".into(),
            Platform::Windows => "the Windows ROOT store".into(),
        }
    }

    /// Where install writes the CA; Debian's tool reads only files ending in `.crt`.
    pub fn anchor_file(self, ca: &Ca) -> Option<PathBuf> {
        let ext = if self == Platform::Fedora {
            "pem"
        } else {
            "crt"
        };
        self.anchors()
            .map(|dir| Path::new(dir).join(format!("https-demo-{}.{ext}", ca.short_id())))
    }
}

/// One step of an install or uninstall.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// Write the CA's PEM there (mode 0644).
    Write(PathBuf),
    /// Remove every file in this folder that holds exactly this CA (by fingerprint).
    RemoveMatching(PathBuf),
    Run(Cmd),
}

pub fn install_plan(platform: Platform, ca: &Ca) -> Vec<Step> {
    let file = ca.file.display().to_string();
    match platform {
        Platform::Debian => vec![
            Step::Write(platform.anchor_file(ca).unwrap_or_default()),
            Step::Run(Cmd::new("update-ca-certificates", Vec::<String>::new())),
        ],
        Platform::Fedora => vec![
            Step::Write(platform.anchor_file(ca).unwrap_or_default()),
            Step::Run(Cmd::new("update-ca-trust", ["extract"])),
        ],
        Platform::Arch => vec![
            Step::Write(platform.anchor_file(ca).unwrap_or_default()),
            Step::Run(Cmd::new("update-ca-trust", Vec::<String>::new())),
        ],
        Platform::MacOs => vec![Step::Run(Cmd::new(
            "security",
            [
                "add-trusted-cert",
                "-d",
                "-r",
                "trustRoot",
                "-k",
                "/Library/Keychains/System.keychain",
                &file,
            ],
        ))],
        Platform::Windows => vec![Step::Run(Cmd::new(
            "certutil",
            ["-addstore", "-f", "ROOT", &file],
        ))],
    }
}

pub fn uninstall_plan(platform: Platform, ca: &Ca) -> Vec<Step> {
    match platform {
        Platform::Debian => vec![
            Step::RemoveMatching(platform.anchors().unwrap_or_default().into()),
            // Not --fresh: a plain run hands its hooks the list of removed certificates, and
            // the Java hook (ca-certificates-java) then drops the CA from cacerts too.
            Step::Run(Cmd::new("update-ca-certificates", Vec::<String>::new())),
        ],
        Platform::Fedora => vec![
            Step::RemoveMatching(platform.anchors().unwrap_or_default().into()),
            Step::Run(Cmd::new("update-ca-trust", ["extract"])),
        ],
        Platform::Arch => vec![
            Step::RemoveMatching(platform.anchors().unwrap_or_default().into()),
            Step::Run(Cmd::new("update-ca-trust", Vec::<String>::new())),
        ],
        Platform::MacOs => vec![
            Step::Run(Cmd::new(
                "security",
                ["remove-trusted-cert", "-d", &ca.file.display().to_string()],
            )),
            Step::Run(Cmd::new(
                "security",
                [
                    "delete-certificate",
                    "-Z",
                    &ca.hex(),
                    "/Library/Keychains/System.keychain",
                ],
            )),
        ],
        Platform::Windows => vec![Step::Run(Cmd::new(
            "powershell",
            [
                "-NoProfile".to_string(),
                "-Command".to_string(),
                format!(
                    "Get-ChildItem Cert:\\LocalMachine\\Root | Where-Object {{ $_.GetCertHashString('SHA256') -eq '{}' }} | Remove-Item",
                    ca.hex()
                ),
            ],
        ))],
    }
}

/// True when the system store's updates are copied into Java's keystore (Debian's
/// ca-certificates-java hook).
pub fn java_follows() -> bool {
    Platform::here() == Some(Platform::Debian)
        && Path::new("/etc/ca-certificates/update.d/jks-keystore").exists()
}

fn unknown_platform(store: &str) -> String {
    format!(
        "this system has no {store} we know (none of /usr/local/share/ca-certificates, /etc/pki/ca-trust, \
         /etc/ca-certificates/trust-source); add the CA with your distribution's tool"
    )
}

fn needs_root(verb: &str) -> String {
    format!("changing the system store needs root: sudo demo_pki trust {verb} --store system")
}

pub fn install(ca: &Ca) -> Report {
    let Some(platform) = Platform::here() else {
        return report(None, Outcome::Skipped(unknown_platform("system store")));
    };
    if let Some(bundle) = platform.bundle()
        && bundle_holds(bundle, ca) == Some(true)
    {
        return report(Some(platform), Outcome::AlreadyThere);
    }
    if let Some(why) = not_root(platform, "install") {
        return report(Some(platform), Outcome::Failed(why));
    }
    report(
        Some(platform),
        execute(&install_plan(platform, ca), ca, Outcome::Added),
    )
}

/// The file-based stores are root's, and so is running their update tool: say so before
/// trying, rather than after a half-done step.
fn not_root(platform: Platform, verb: &str) -> Option<String> {
    (platform.anchors().is_some() && !super::is_root()).then(|| needs_root(verb))
}

pub fn uninstall(ca: &Ca) -> Report {
    let Some(platform) = Platform::here() else {
        return report(None, Outcome::Skipped(unknown_platform("system store")));
    };
    let plan = uninstall_plan(platform, ca);
    // Only our own anchor files are removed; a CA trusted some other way is left alone.
    if let Some(Step::RemoveMatching(dir)) = plan.first()
        && matching(dir, ca).is_empty()
    {
        return report(Some(platform), Outcome::NotThere);
    }
    if let Some(why) = not_root(platform, "uninstall") {
        return report(Some(platform), Outcome::Failed(why));
    }
    report(Some(platform), execute(&plan, ca, Outcome::Removed))
}

pub fn status(ca: &Ca) -> StoreState {
    let platform = Platform::here();
    let place = platform
        .map(Platform::place)
        .unwrap_or("the system store".into());
    let trust = match platform.and_then(|p| p.bundle()) {
        None => Trust::Unknown(unknown_platform("bundle")),
        Some(bundle) => match bundle_holds(bundle, ca) {
            Some(true) => Trust::Trusted,
            Some(false) => Trust::NotTrusted,
            None => Trust::Unknown(format!("cannot read {bundle}")),
        },
    };
    StoreState {
        store: Store::System,
        place,
        trust,
    }
}

/// Whether the bundle OpenSSL reads holds the CA; None when it cannot be read.
pub fn bundle_holds(bundle: &str, ca: &Ca) -> Option<bool> {
    // A full bundle is about 200 KB; 16 MB is far beyond any real one.
    let text = crate::files::read_bounded(Path::new(bundle), 16 << 20, "the CA bundle").ok()?;
    Some(ca.in_pem(&text))
}

fn report(platform: Option<Platform>, outcome: Outcome) -> Report {
    Report {
        store: Store::System,
        place: platform.map(Platform::place).unwrap_or("the system store".into()),
        outcome,
        restart: Some(
            "programs read it when they start: restart long-running ones (browsers that use it, servers)".into(),
        ),
    }
}

/// The files in `dir` (and its subfolders, which update-ca-certificates also reads) that hold
/// exactly this CA.
fn matching(dir: &Path, ca: &Ca) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut folders = vec![dir.to_path_buf()];
    while let Some(folder) = folders.pop() {
        let Ok(entries) = std::fs::read_dir(&folder) else {
            continue;
        };
        for path in entries.filter_map(|e| e.ok().map(|e| e.path())) {
            if path.is_dir() {
                folders.push(path);
            } else if let Ok(bytes) =
                crate::files::read_bounded(&path, crate::files::CA_FILE_LIMIT, "an anchor file")
                && ca.in_pem(&bytes)
            {
                found.push(path);
            }
        }
    }
    found
}

/// Runs the steps in order. When a step fails after an anchor file was made, the file is
/// taken out again, so that a failed install leaves no half-trusted CA behind for the next
/// update to pick up.
fn execute(plan: &[Step], ca: &Ca, done: Outcome) -> Outcome {
    let mut made: Vec<&Path> = Vec::new();
    for step in plan {
        let result = match step {
            Step::Write(path) => {
                let existed = path.exists();
                crate::files::write_atomic(
                    path,
                    "the anchor file",
                    ca.pem().as_bytes(),
                    crate::files::PUBLIC,
                    true,
                )
                .map(|()| {
                    if !existed {
                        made.push(path);
                    }
                })
                .map_err(|e| format!("{e:#}"))
            }
            Step::RemoveMatching(dir) => matching(dir, ca).iter().try_for_each(|file| {
                std::fs::remove_file(file).map_err(|e| {
                    if e.kind() == std::io::ErrorKind::PermissionDenied {
                        needs_root("uninstall")
                    } else {
                        format!("cannot remove {}: {e}", file.display())
                    }
                })
            }),
            Step::Run(cmd) => cmd.run(LIMIT).map(|_| ()).map_err(|e| e.to_string()),
        };
        if let Err(why) = result {
            let undone: Vec<String> = made
                .iter()
                .filter(|path| std::fs::remove_file(path).is_ok())
                .map(|path| path.display().to_string())
                .collect();
            return Outcome::Failed(if undone.is_empty() {
                why
            } else {
                format!(
                    "{why}. The anchor file {} was removed again.",
                    undone.join(", ")
                )
            });
        }
    }
    done
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pki::inspect::CertSummary;

    fn ca() -> Ca {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "Plan CA");
        let cert = params.self_signed(&key).unwrap();
        let summary = CertSummary::from_der(cert.der()).unwrap();
        Ca {
            file: "/tmp/ca.pem".into(),
            der: cert.der().to_vec(),
            name: "Plan CA".into(),
            summary,
        }
    }

    fn lines(plan: &[Step]) -> Vec<String> {
        plan.iter()
            .map(|s| match s {
                Step::Write(p) => format!("write {}", p.display()),
                Step::RemoveMatching(p) => format!("remove ours from {}", p.display()),
                Step::Run(c) => c.to_string(),
            })
            .collect()
    }

    #[test]
    fn each_platform_gets_its_own_command_lines() {
        let ca = ca();
        let id = ca.short_id();
        assert_eq!(id.len(), 16);
        assert_eq!(
            lines(&install_plan(Platform::Debian, &ca)),
            [
                format!("write /usr/local/share/ca-certificates/https-demo-{id}.crt"),
                "update-ca-certificates".into()
            ]
        );
        assert_eq!(
            lines(&uninstall_plan(Platform::Debian, &ca)),
            [
                "remove ours from /usr/local/share/ca-certificates",
                "update-ca-certificates"
            ]
        );
        assert_eq!(
            lines(&install_plan(Platform::Fedora, &ca)),
            [
                format!("write /etc/pki/ca-trust/source/anchors/https-demo-{id}.pem"),
                "update-ca-trust extract".into()
            ]
        );
        assert_eq!(
            lines(&install_plan(Platform::Arch, &ca)),
            [
                format!("write /etc/ca-certificates/trust-source/anchors/https-demo-{id}.crt"),
                "update-ca-trust".into()
            ]
        );
        assert_eq!(
            lines(&install_plan(Platform::MacOs, &ca)),
            [
                "security add-trusted-cert -d -r trustRoot -k /Library/Keychains/System.keychain /tmp/ca.pem"
            ]
        );
        assert_eq!(
            lines(&uninstall_plan(Platform::MacOs, &ca)),
            [
                "security remove-trusted-cert -d /tmp/ca.pem".to_string(),
                format!(
                    "security delete-certificate -Z {} /Library/Keychains/System.keychain",
                    ca.hex()
                )
            ]
        );
        assert_eq!(
            lines(&install_plan(Platform::Windows, &ca)),
            ["certutil -addstore -f ROOT /tmp/ca.pem"]
        );
        let windows = uninstall_plan(Platform::Windows, &ca);
        let Step::Run(cmd) = &windows[0] else {
            panic!("{windows:?}")
        };
        assert_eq!(cmd.program, "powershell");
        assert_eq!(
            cmd.args[2],
            format!(
                "Get-ChildItem Cert:\\LocalMachine\\Root | Where-Object {{ $_.GetCertHashString('SHA256') -eq '{}' }} | Remove-Item",
                ca.hex()
            )
        );
        assert_eq!(ca.hex().len(), 64);
    }
}
