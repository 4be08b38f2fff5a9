//! "Why isn't it trusted?": for each client a learner uses, whether it would trust the CA, why
//! not, and the one line that fixes it; with a URL, the verdict each installed client actually
//! gets on a real connection. Each client looks in a different place (mkcert's most common
//! issues are exactly these): curl and OpenSSL read the system bundle, Python requests reads
//! certifi's bundle, Node its own compiled-in list, Java its keystore, Chromium and Firefox
//! their NSS databases, a container the store inside its image, WSL's Windows side its own.

use std::fmt;
use std::path::Path;
use std::time::Duration;

use anyhow::{Result, anyhow, bail};

use super::command::{Cmd, RunError};
use super::system::Platform;
use super::{Ca, Store, StoreState, Trust};

/// The clients the doctor knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Client {
    CurlOpenssl,
    PythonRequests,
    Node,
    Java,
    Chromium,
    Firefox,
    Containers,
    Wsl,
}

impl fmt::Display for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Client::CurlOpenssl => "curl, OpenSSL",
            Client::PythonRequests => "Python requests",
            Client::Node => "Node",
            Client::Java => "Java",
            Client::Chromium => "Chromium",
            Client::Firefox => "Firefox",
            Client::Containers => "containers",
            Client::Wsl => "WSL",
        })
    }
}

/// Whether a client would trust the CA, why, and the fix when it would not.
#[derive(Debug)]
pub struct Advice {
    pub client: Client,
    /// None when the question does not apply here (not WSL; containers, which only their image
    /// decides).
    pub trusts: Option<bool>,
    pub why: String,
    pub fix: Option<String>,
}

impl fmt::Display for Advice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.trusts {
            Some(true) => write!(f, "{}: would trust it: {}", self.client, self.why)?,
            Some(false) => write!(f, "{}: would NOT trust it: {}", self.client, self.why)?,
            None => write!(f, "{}: {}", self.client, self.why)?,
        }
        if let Some(fix) = &self.fix {
            write!(f, "\n    fix: {fix}")?;
        }
        Ok(())
    }
}

fn state(states: &[StoreState], store: Store) -> impl Iterator<Item = &StoreState> {
    states.iter().filter(move |s| s.store == store)
}

fn trusted(states: &[StoreState], store: Store) -> bool {
    state(states, store).any(|s| s.trust == Trust::Trusted)
}

/// True when the PEM file named by an environment variable holds the CA.
fn env_file_holds(var: &str, ca: &Ca) -> Option<(String, bool)> {
    let file = std::env::var(var).ok().filter(|v| !v.is_empty())?;
    let holds = crate::files::read_bounded(Path::new(&file), 16 << 20, "the CA bundle")
        .is_ok_and(|text| ca.in_pem(&text));
    Some((file, holds))
}

/// The advice for every client, from the stores' states and the environment.
pub fn advise(ca: &Ca, states: &[StoreState]) -> Vec<Advice> {
    let platform = Platform::here();
    let bundle = platform.and_then(Platform::bundle);
    let system = trusted(states, Store::System);
    let ca_file = ca.file.display().to_string();
    let install_system = "sudo demo_pki trust install --store system".to_string();
    let mut advice = Vec::new();

    advice.push(Advice {
        client: Client::CurlOpenssl,
        trusts: Some(system),
        why: if system {
            format!(
                "they read the system bundle {}, which holds it",
                bundle.unwrap_or("?")
            )
        } else {
            "they read the system store, which does not hold it".into()
        },
        fix: (!system)
            .then(|| format!("{install_system}   (or, per call: curl --cacert {ca_file})")),
    });

    let python = match env_file_holds("REQUESTS_CA_BUNDLE", ca) {
        Some((file, true)) => (true, format!("REQUESTS_CA_BUNDLE={file} holds it")),
        Some((file, false)) => (false, format!("REQUESTS_CA_BUNDLE={file} does not hold it")),
        None => (
            false,
            "requests uses certifi's own bundle, not the system store, and REQUESTS_CA_BUNDLE is not set".into(),
        ),
    };
    let python_fix = match bundle {
        Some(bundle) if system => format!("export REQUESTS_CA_BUNDLE={bundle}"),
        Some(bundle) => format!("{install_system} && export REQUESTS_CA_BUNDLE={bundle}"),
        None => format!("export REQUESTS_CA_BUNDLE={ca_file}"),
    };
    advice.push(Advice {
        client: Client::PythonRequests,
        trusts: Some(python.0),
        why: python.1,
        fix: (!python.0).then_some(python_fix),
    });

    let node = match env_file_holds("NODE_EXTRA_CA_CERTS", ca) {
        Some((file, true)) => (true, format!("NODE_EXTRA_CA_CERTS={file} holds it")),
        Some((file, false)) => (false, format!("NODE_EXTRA_CA_CERTS={file} does not hold it")),
        None => (
            false,
            "Node trusts its own compiled-in list, not the system store (unless started with --use-system-ca), \
             and NODE_EXTRA_CA_CERTS is not set"
                .into(),
        ),
    };
    advice.push(Advice {
        client: Client::Node,
        trusts: Some(node.0),
        why: node.1,
        fix: (!node.0).then(|| format!("export NODE_EXTRA_CA_CERTS={ca_file}")),
    });

    let java = state(states, Store::Java).next();
    let java_trusts = trusted(states, Store::Java);
    advice.push(match java.map(|s| &s.trust) {
        Some(Trust::Absent(why)) => Advice {
            client: Client::Java,
            trusts: None,
            why: why.clone(),
            fix: None,
        },
        _ => Advice {
            client: Client::Java,
            trusts: Some(java_trusts),
            why: "Java reads its own keystore (cacerts), not NSS".into(),
            fix: (!java_trusts).then(|| "sudo demo_pki trust install --store java".into()),
        },
    });

    let nss = |firefox: bool| {
        state(states, Store::Nss)
            .filter(move |s| s.place.contains("Firefox") == firefox)
            .collect::<Vec<_>>()
    };
    let chromium = nss(false).iter().any(|s| s.trust == Trust::Trusted);
    advice.push(Advice {
        client: Client::Chromium,
        trusts: Some(chromium),
        why:
            "on Linux, Chromium and Chrome read the NSS database ~/.pki/nssdb, not the system store"
                .into(),
        fix: (!chromium)
            .then(|| "demo_pki trust install --store nss, then restart Chromium".into()),
    });

    let profiles = nss(true);
    // Firefox reads the system store too when this pref is on, but only on Windows and macOS.
    let enterprise = matches!(platform, Some(Platform::MacOs | Platform::Windows))
        && system
        && super::home().is_some_and(|home| enterprise_roots(&home));
    let firefox =
        !profiles.is_empty() && (enterprise || profiles.iter().all(|s| s.trust == Trust::Trusted));
    advice.push(Advice {
        client: Client::Firefox,
        trusts: (!profiles.is_empty()).then_some(firefox),
        why: if profiles.is_empty() {
            "no Firefox profile found (~/.mozilla/firefox, snap, flatpak)".into()
        } else if enterprise {
            "security.enterprise_roots.enabled is on, so Firefox also reads the system store, which holds it".into()
        } else {
            "each Firefox profile has its own NSS database; the system store counts only with \
             security.enterprise_roots.enabled, which Firefox honours on Windows and macOS"
                .into()
        },
        fix: (!profiles.is_empty() && !firefox)
            .then(|| "demo_pki trust install --store nss, then restart Firefox".into()),
    });

    advice.push(Advice {
        client: Client::Containers,
        trusts: None,
        why: "a container trusts the store inside its image, not this machine's".into(),
        fix: Some(format!(
            "in the Dockerfile (Debian-based image): COPY {} /usr/local/share/ca-certificates/https-demo.crt, then \
             RUN update-ca-certificates",
            Path::new(&ca_file)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or(ca_file.clone())
        )),
    });

    let wsl = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .is_ok_and(|r| r.to_lowercase().contains("microsoft"));
    advice.push(Advice {
        client: Client::Wsl,
        trusts: None,
        why: if wsl {
            "this is WSL: Windows programs (Edge, Chrome for Windows) read the Windows store, which Linux here \
             cannot change"
                .into()
        } else {
            "this is not WSL: no Windows store to care about".into()
        },
        fix: wsl.then(|| {
            format!(
                "in an administrator PowerShell on Windows: certutil -addstore -f ROOT \\\\wsl$\\<distro>{ca_file}"
            )
        }),
    });
    advice
}

/// True when a Firefox profile sets `security.enterprise_roots.enabled` to true (in prefs.js,
/// which Firefox writes, or user.js, which a person or policy writes).
fn enterprise_roots(home: &Path) -> bool {
    super::nss::databases(home)
        .iter()
        .filter(|db| db.browser == super::nss::Browser::Firefox)
        .flat_map(|db| [db.dir.join("prefs.js"), db.dir.join("user.js")])
        .filter_map(|file| {
            crate::files::read_bounded(&file, 16 << 20, "a Firefox preferences file").ok()
        })
        .any(|text| {
            String::from_utf8_lossy(&text).lines().any(|line| {
                let line: String = line.chars().filter(|c| !c.is_whitespace()).collect();
                line.starts_with("user_pref(\"security.enterprise_roots.enabled\",true)")
                    || line.starts_with("pref(\"security.enterprise_roots.enabled\",true)")
            })
        })
}

/// What a real connection with one client gave.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// It connected and verified the certificate.
    Trusted,
    /// It refused the certificate, in its own words.
    Refused(String),
    /// It failed for another reason (or OpenSSL, which does not tell the two apart), in its words.
    Failed(String),
    /// The client is not installed here.
    NotInstalled(String),
}

#[derive(Debug)]
pub struct Probe {
    pub client: &'static str,
    pub verdict: Verdict,
}

impl fmt::Display for Probe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let client = self.client;
        match &self.verdict {
            Verdict::Trusted => write!(f, "{client}: connected, certificate trusted"),
            Verdict::Refused(said) => write!(f, "{client}: REFUSED the certificate: {said}"),
            Verdict::Failed(said) => write!(f, "{client}: did not connect: {said}"),
            Verdict::NotInstalled(why) => write!(f, "{client}: not tried: {why}"),
        }
    }
}

const PROBE_LIMIT: Duration = Duration::from_secs(20);

const PYTHON: &str = r#"
import sys
try:
    import requests
except ImportError:
    sys.exit(3)
try:
    requests.get(sys.argv[1], timeout=10)
except requests.exceptions.SSLError as e:
    print(e, file=sys.stderr); sys.exit(2)
except Exception as e:
    print(e, file=sys.stderr); sys.exit(1)
"#;

const NODE: &str = r#"
const r = require('https').get(process.argv[1], {timeout: 10000}, res => { res.resume(); process.exit(0); });
r.on('timeout', () => { console.error('timed out'); process.exit(1); });
r.on('error', e => {
  console.error(`${e.code}: ${e.message}`);
  const cert = /CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)|LEAF_SIGNATURE/.test(e.code || '');
  process.exit(cert ? 2 : 1);
});
"#;

/// The last non-empty line a tool printed: its verdict, without the noise before it.
fn last_words(s: &str) -> String {
    s.lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("(it printed nothing)")
        .trim()
        .to_string()
}

/// Runs a probe; exit 0 is trusted, `refused` the exit code that means "certificate refused",
/// `absent` the one that means "not installed".
fn probe(client: &'static str, cmd: Cmd, refused: Option<i32>, absent: Option<i32>) -> Probe {
    let verdict = match cmd.run_any(PROBE_LIMIT) {
        Err(RunError::Missing { program, package }) => {
            Verdict::NotInstalled(format!("{program} is missing: {package}"))
        }
        Err(e) => Verdict::Failed(e.to_string()),
        Ok(ran) => match ran.status.code() {
            Some(0) => Verdict::Trusted,
            code if code.is_some() && code == absent => Verdict::NotInstalled(
                "the requests package is not importable: pip install requests".into(),
            ),
            code if code.is_some() && code == refused => Verdict::Refused(last_words(&ran.stderr)),
            _ => Verdict::Failed(last_words(&format!("{}\n{}", ran.stdout, ran.stderr))),
        },
    };
    Probe { client, verdict }
}

/// A real connection to `url` with each client installed here, with no CA file given: each
/// trusts only its own store.
pub fn probes(url: &str) -> Result<Vec<Probe>> {
    let parsed = reqwest::Url::parse(url).map_err(|e| {
        anyhow!("--url {url:?} is not a URL ({e}); give one like https://localhost:8080/")
    })?;
    if parsed.scheme() != "https" {
        bail!(
            "--url {url} is not an https:// URL; the doctor checks certificates, so give https://HOST:PORT/"
        );
    }
    let host = parsed.host_str().ok_or_else(|| {
        anyhow!("--url {url} names no host; give one like https://localhost:8080/")
    })?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let port = parsed.port_or_known_default().unwrap_or(443);
    let connect = if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    };
    Ok(vec![
        // curl's exit code 60: "Peer certificate cannot be authenticated with known CA certificates".
        probe(
            "curl",
            Cmd::new("curl", ["-sS", "-o", "/dev/null", "--max-time", "10", url]),
            Some(60),
            None,
        ),
        probe(
            "Python requests",
            Cmd::new("python3", ["-c", PYTHON, url]),
            Some(2),
            Some(3),
        ),
        probe("Node", Cmd::new("node", ["-e", NODE, url]), Some(2), None),
        probe(
            "openssl s_client",
            Cmd::new(
                "openssl",
                [
                    "s_client",
                    "-connect",
                    &connect,
                    "-servername",
                    host,
                    "-verify_return_error",
                    "-brief",
                ],
            ),
            None,
            None,
        ),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn firefox_enterprise_roots_is_read_from_a_profile() {
        let home = tempfile::tempdir().unwrap();
        let profile = home.path().join(".mozilla/firefox/abcd.default-release");
        std::fs::create_dir_all(&profile).unwrap();
        std::fs::write(profile.join("cert9.db"), b"").unwrap();
        std::fs::write(
            profile.join("prefs.js"),
            "user_pref(\"security.enterprise_roots.enabled\", false);\n",
        )
        .unwrap();
        assert!(!enterprise_roots(home.path()));
        std::fs::write(
            profile.join("user.js"),
            "user_pref(\"security.enterprise_roots.enabled\", true);\n",
        )
        .unwrap();
        assert!(enterprise_roots(home.path()));
    }
}
