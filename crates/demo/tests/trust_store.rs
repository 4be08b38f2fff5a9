//! `demo_pki trust`: the CA put into and taken out of real stores, each in a place that leaves
//! the machine as it was: NSS databases under a temporary HOME, the Debian system store inside a
//! private mount namespace over temporary copies of its folders.

mod support;

use std::path::Path;
use std::process::Command;

use support::browser::chromium;
use support::*;

/// `demo_pki ARGS` with HOME set to `home` and the CA-bundle variables of this machine's
/// environment removed, so that what the doctor says depends on the test alone.
fn trust(home: &Path, args: &[&str]) -> Run {
    let mut cmd = demo_pki_cmd(home, args);
    cmd.env("HOME", home)
        .env_remove("SUDO_USER")
        .env_remove("REQUESTS_CA_BUNDLE")
        .env_remove("NODE_EXTRA_CA_CERTS");
    run(cmd)
}

fn certutil(home: &Path, args: &[&str]) -> Run {
    let mut cmd = Command::new("certutil");
    cmd.env("HOME", home).args(args);
    run(cmd)
}

fn tools_present() {
    assert!(
        Command::new("chromium").arg("--version").output().is_ok()
            && Command::new("certutil").arg("-H").output().is_ok(),
        "this test needs Chromium and NSS's certutil: apt-get install chromium libnss3-tools (./run_tests.sh does it)"
    );
}

/// The (nickname, trust flags) lines of `certutil -L`.
fn listed(home: &Path, db: &Path) -> Vec<(String, String)> {
    let out = certutil(home, &["-L", "-d", &format!("sql:{}", db.display())]).ok();
    out.stdout
        .lines()
        .skip(4)
        .filter_map(|l| {
            let l = l.trim_end();
            let (nick, flags) = l.rsplit_once(char::is_whitespace)?;
            Some((nick.trim().to_string(), flags.to_string()))
        })
        .collect()
}

/// The nickname demo_pki gives the CA: its name and the first 8 bytes of its SHA-256.
fn nickname_of(ca: &Path) -> String {
    let out = openssl(
        ca.parent().unwrap(),
        [
            "x509",
            "-noout",
            "-fingerprint",
            "-sha256",
            "-in",
            ca.to_str().unwrap(),
        ],
    )
    .ok();
    let hex: String = out
        .stdout
        .trim()
        .split('=')
        .nth(1)
        .unwrap()
        .split(':')
        .take(8)
        .collect();
    format!("HTTPS Demo CA (localhost only) {}", hex.to_lowercase())
}

fn new_db(home: &Path, db: &Path) {
    std::fs::create_dir_all(db).unwrap();
    certutil(
        home,
        &[
            "-N",
            "-d",
            &format!("sql:{}", db.display()),
            "--empty-password",
        ],
    )
    .ok();
}

fn chromium_dom(home: &Path, url: &str) -> String {
    text(&chromium(home, &["--dump-dom", url]).stdout)
}

#[test]
fn nss_in_a_fresh_home_chromium_and_a_firefox_profile_then_uninstall_leaves_the_rest() {
    tools_present();
    let server = Server::start(&[]);
    let ca = ca_file();
    let ca_arg = ca.to_str().unwrap();
    let home = tempfile::tempdir().unwrap();
    let home = home.path();
    let chromium_db = home.join(".pki/nssdb");
    let firefox_db = home.join(".mozilla/firefox/xxxx.default-release");
    // A Firefox profile that already trusts another CA, which must stay.
    new_db(home, &firefox_db);
    let dir = tempfile::tempdir().unwrap();
    let other = certs::test_ca(dir.path(), "other.pem", "Other CA");
    certutil(
        home,
        &[
            "-A",
            "-d",
            &format!("sql:{}", firefox_db.display()),
            "-t",
            "C,,",
            "-n",
            "Other CA",
            "-i",
            other.file.to_str().unwrap(),
        ],
    )
    .ok();

    // Before: nothing trusts it, and Chromium says so.
    let before = trust(home, &["trust", "status", "--store", "nss", "--ca", ca_arg]).ok();
    assert!(
        before.stdout.contains(&format!(
            "nss: NOT trusted by Chromium's NSS database at {} (it does not exist yet)",
            chromium_db.display()
        )),
        "{}",
        before.stdout
    );
    assert!(
        before.stdout.contains("Chromium: would NOT trust it"),
        "{}",
        before.stdout
    );

    let installed = trust(
        home,
        &["trust", "install", "--store", "nss", "--ca", ca_arg],
    )
    .ok();
    for line in [
        format!(
            "nss: added to Chromium's NSS database at {}",
            chromium_db.display()
        ),
        format!(
            "nss: added to the Firefox profile's NSS database at {}",
            firefox_db.display()
        ),
    ] {
        assert!(
            installed.stdout.contains(&line),
            "{line}\n{}",
            installed.stdout
        );
    }
    assert!(
        installed.stdout.contains("restart Chromium"),
        "{}",
        installed.stdout
    );
    assert!(
        installed.stdout.contains("restart Firefox"),
        "{}",
        installed.stdout
    );
    let nick = nickname_of(&ca);
    for db in [&chromium_db, &firefox_db] {
        assert!(
            listed(home, db).contains(&(nick.clone(), "C,,".to_string())),
            "{}: {:?}",
            db.display(),
            listed(home, db)
        );
    }
    let during = trust(home, &["trust", "status", "--store", "nss", "--ca", ca_arg]).ok();
    assert!(
        during.stdout.contains(&format!(
            "nss: trusted by Chromium's NSS database at {}\n",
            chromium_db.display()
        )) && during.stdout.contains(&format!(
            "nss: trusted by the Firefox profile's NSS database at {}\n",
            firefox_db.display()
        )),
        "{}",
        during.stdout
    );
    assert!(
        during.stdout.contains("Firefox: would trust it"),
        "{}",
        during.stdout
    );

    // Headless Chromium, given nothing but this HOME, now loads the demo.
    let dom = chromium_dom(home, &server.url("/connection"));
    assert!(
        !dom.contains("ERR_CERT")
            && !dom.contains("not private")
            && dom.contains("<h1>Your connection</h1>"),
        "Chromium did not load the page with the CA installed: {dom}"
    );

    let removed = trust(
        home,
        &["trust", "uninstall", "--store", "nss", "--ca", ca_arg],
    )
    .ok();
    assert!(
        removed.stdout.contains("removed from"),
        "{}",
        removed.stdout
    );
    for db in [&chromium_db, &firefox_db] {
        assert!(
            !listed(home, db).iter().any(|(n, _)| n == &nick),
            "{}: {:?}",
            db.display(),
            listed(home, db)
        );
    }
    assert_eq!(
        listed(home, &firefox_db),
        vec![("Other CA".to_string(), "C,,".to_string())],
        "the other CA must be untouched"
    );
    let after = trust(home, &["trust", "status", "--store", "nss", "--ca", ca_arg]).ok();
    assert!(
        after.stdout.contains(&format!(
            "nss: NOT trusted by Chromium's NSS database at {}\n",
            chromium_db.display()
        )),
        "{}",
        after.stdout
    );
}

#[test]
fn nss_with_an_existing_database_uninstall_goes_by_fingerprint_not_nickname() {
    tools_present();
    let ca = ca_file();
    let ca_arg = ca.to_str().unwrap();
    let home = tempfile::tempdir().unwrap();
    let home = home.path();
    let db = home.join(".pki/nssdb");
    new_db(home, &db);
    let db_arg = format!("sql:{}", db.display());
    // The README's old line put the CA in under its own nickname; another CA sits beside it.
    certutil(
        home,
        &[
            "-A",
            "-d",
            &db_arg,
            "-t",
            "C,,",
            "-n",
            "HTTPS Demo CA",
            "-i",
            ca_arg,
        ],
    )
    .ok();
    let dir = tempfile::tempdir().unwrap();
    let other = certs::test_ca(dir.path(), "other.pem", "Other CA");
    certutil(
        home,
        &[
            "-A",
            "-d",
            &db_arg,
            "-t",
            "CT,C,C",
            "-n",
            "Other CA",
            "-i",
            other.file.to_str().unwrap(),
        ],
    )
    .ok();

    let installed = trust(
        home,
        &["trust", "install", "--store", "nss", "--ca", ca_arg],
    )
    .ok();
    assert!(
        installed.stdout.contains(&format!(
            "already trusted in Chromium's NSS database at {}",
            db.display()
        )),
        "{}",
        installed.stdout
    );
    let removed = trust(
        home,
        &["trust", "uninstall", "--store", "nss", "--ca", ca_arg],
    )
    .ok();
    assert!(
        removed
            .stdout
            .contains("removed from Chromium's NSS database"),
        "{}",
        removed.stdout
    );
    assert_eq!(
        listed(home, &db),
        vec![("Other CA".to_string(), "CT,C,C".to_string())],
        "only the CA itself, found by its fingerprint, may go"
    );
    // Uninstalling the other CA's file's twin (same name, another key) removes nothing.
    let twin_dir = tempfile::tempdir().unwrap();
    let twin = certs::test_ca(twin_dir.path(), "twin.pem", "Other CA");
    let again = trust(
        home,
        &[
            "trust",
            "uninstall",
            "--store",
            "nss",
            "--ca",
            twin.file.to_str().unwrap(),
        ],
    )
    .ok();
    assert!(
        again.stdout.contains("not in Chromium's NSS database"),
        "{}",
        again.stdout
    );
    assert_eq!(listed(home, &db).len(), 1);
}

#[test]
fn status_names_the_python_and_node_fixes_and_reports_real_connections() {
    let server = Server::start(&[]);
    let ca = ca_file();
    let ca_arg = ca.to_str().unwrap();
    let home = tempfile::tempdir().unwrap();
    let home = home.path();
    let url = server.url("/");

    let plain = trust(home, &["trust", "status", "--ca", ca_arg, "--url", &url]).ok();
    let out = &plain.stdout;
    assert!(
        out.contains(
            "Python requests: would NOT trust it: requests uses certifi's own bundle, not the system store, and \
             REQUESTS_CA_BUNDLE is not set\n    fix: sudo demo_pki trust install --store system && export \
             REQUESTS_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt\n"
        ),
        "{out}"
    );
    assert!(
        out.contains(&format!("    fix: export NODE_EXTRA_CA_CERTS={ca_arg}\n")),
        "{out}"
    );
    assert!(
        out.contains("system: NOT trusted by the system store"),
        "{out}"
    );
    // The real connections: no client trusts the demo CA through its own store here.
    assert!(out.contains("  curl: REFUSED the certificate: "), "{out}");
    assert!(
        out.contains("  Python requests: REFUSED the certificate: "),
        "{out}"
    );
    // Node is not among what run_tests.sh installs: where it is missing, the doctor says so.
    let node = Command::new("node").arg("--version").output().is_ok();
    if node {
        assert!(out.contains("  Node: REFUSED the certificate: "), "{out}");
    } else {
        assert!(
            out.contains("  Node: not tried: node is missing: apt-get install nodejs"),
            "{out}"
        );
    }
    assert!(
        out.contains("  openssl s_client: did not connect: "),
        "{out}"
    );

    // The fixes the doctor gave, applied: Python and Node now trust it, and say so for real.
    let mut cmd = demo_pki_cmd(home, ["trust", "status", "--ca", ca_arg, "--url", &url]);
    cmd.env("HOME", home)
        .env_remove("SUDO_USER")
        .env("REQUESTS_CA_BUNDLE", &ca)
        .env("NODE_EXTRA_CA_CERTS", &ca);
    let fixed = run(cmd).ok();
    let out = &fixed.stdout;
    assert!(
        out.contains(&format!(
            "Python requests: would trust it: REQUESTS_CA_BUNDLE={ca_arg} holds it\n"
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "Node: would trust it: NODE_EXTRA_CA_CERTS={ca_arg} holds it\n"
        )),
        "{out}"
    );
    assert!(
        out.contains("  Python requests: connected, certificate trusted"),
        "{out}"
    );
    if node {
        assert!(
            out.contains("  Node: connected, certificate trusted"),
            "{out}"
        );
    }
    assert!(out.contains("  curl: REFUSED the certificate: "), "{out}");
}

#[test]
fn an_unconstrained_ca_is_refused_without_the_flag_and_nothing_is_installed() {
    let dir = tempfile::tempdir().unwrap();
    let wide = certs::test_ca(dir.path(), "wide.pem", "Wide Open CA");
    let home = tempfile::tempdir().unwrap();
    let home = home.path();
    // Outside a private namespace, only this HOME's NSS databases are at stake.
    let refused = trust(
        home,
        &[
            "trust",
            "install",
            "--store",
            "nss",
            "--ca",
            wide.file.to_str().unwrap(),
        ],
    );
    let stderr = refused.fails_with(&[
        "Wide Open CA",
        "has no name constraints",
        "it can vouch for ANY site",
        "to every program that trusts that store",
        "Nothing was installed",
        "--unconstrained",
    ]);
    assert!(!stderr.contains("Error("), "{stderr}");
    assert!(!home.join(".pki").exists(), "an NSS database was made");

    // Every store at once, where the system and Java stores are temporary copies.
    match no_private_namespace() {
        Some(why) => eprintln!("the all-stores refusal was not tried: {why}"),
        None => {
            let before = system_store_snapshot();
            let ran = in_private_store(
                r#"
before=$(sha256sum /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/java/cacerts)
"$PKI" trust install --ca "$1" && echo "INSTALL: done" || echo "INSTALL: refused ($?)"
after=$(sha256sum /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/java/cacerts)
[ "$before" = "$after" ] && echo "STORES: unchanged" || echo "STORES: CHANGED"
ls -A /usr/local/share/ca-certificates "$HOME"
"#,
                &[wide.file.to_str().unwrap()],
            )
            .ok();
            assert!(
                ran.stdout.contains("INSTALL: refused (1)")
                    && ran.stdout.contains("STORES: unchanged")
                    && !ran.stdout.contains("https-demo-")
                    && !ran.stdout.contains(".pki"),
                "{}\n{}",
                ran.stdout,
                ran.stderr
            );
            assert!(
                ran.stderr.contains("has no name constraints"),
                "{}",
                ran.stderr
            );
            assert!(
                system_store_snapshot() == before,
                "the machine's store changed"
            );
        }
    }

    // Asked for plainly, it is installed (into this HOME's NSS database only).
    let allowed = trust(
        home,
        &[
            "trust",
            "install",
            "--unconstrained",
            "--store",
            "nss",
            "--ca",
            wide.file.to_str().unwrap(),
        ],
    )
    .ok();
    assert!(
        allowed.stdout.contains("may vouch for: ANY name"),
        "{}",
        allowed.stdout
    );
    assert!(
        allowed.stdout.contains("added to Chromium's NSS database"),
        "{}",
        allowed.stdout
    );
}

/// Everything the Debian system store is made of, for comparing before and after.
fn system_store_snapshot() -> Vec<(String, Vec<u8>)> {
    let mut files = vec![];
    for file in [
        "/etc/ssl/certs/ca-certificates.crt",
        "/etc/ssl/certs/java/cacerts",
        "/etc/ca-certificates.conf",
    ] {
        files.push((file.to_string(), std::fs::read(file).unwrap_or_default()));
    }
    for dir in ["/usr/local/share/ca-certificates", "/etc/ssl/certs"] {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .map(|d| {
                d.filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        files.push((dir.to_string(), names.join("\n").into_bytes()));
    }
    files
}

/// Why the system store cannot be changed here without changing this machine's, if it cannot.
fn no_private_namespace() -> Option<String> {
    if !running_as_root() {
        return Some(
            "the system-store steps need root (a private mount namespace with bind mounts over /etc/ssl/certs)"
                .into(),
        );
    }
    if !Path::new("/usr/sbin/update-ca-certificates").exists() {
        return Some(
            "the system-store steps run on Debian/Ubuntu (no update-ca-certificates here)".into(),
        );
    }
    match Command::new("unshare").args(["-m", "true"]).output() {
        Ok(o) if o.status.success() => None,
        Ok(o) => Some(format!(
            "`unshare -m` is not permitted here ({}), so the system store cannot be changed without changing this \
             machine's",
            text(&o.stderr).trim()
        )),
        Err(e) => Some(format!("`unshare` cannot run here ({e})")),
    }
}

/// Runs `body` with sh in a private mount namespace where the Debian store's folders
/// (/usr/local/share/ca-certificates, /etc/ssl/certs with Java's cacerts, /etc/ca-certificates
/// and its .conf) are temporary copies: whatever it writes there vanishes with the namespace.
/// In `body`, $PKI is demo_pki and $1.. are `args`. The CA-bundle variables are removed.
fn in_private_store(body: &str, args: &[&str]) -> Run {
    let scratch = tempfile::tempdir().unwrap();
    let script = format!(
        r#"
set -e
T="$SCRATCH"
cp -a /usr/local/share/ca-certificates "$T/local"
cp -a /etc/ssl/certs "$T/certs"
cp -a /etc/ca-certificates "$T/etc-ca"
cp -a /etc/ca-certificates.conf "$T/ca.conf"
mount --bind "$T/local" /usr/local/share/ca-certificates
mount --bind "$T/certs" /etc/ssl/certs
mount --bind "$T/etc-ca" /etc/ca-certificates
mount --bind "$T/ca.conf" /etc/ca-certificates.conf
{body}"#
    );
    let mut cmd = Command::new("unshare");
    cmd.args(["-m", "sh", "-c", &script, "sh"])
        .args(args)
        .env("SCRATCH", scratch.path())
        .env("PKI", env!("CARGO_BIN_EXE_demo_pki"))
        .env("HOME", scratch.path());
    for var in [
        "CURL_CA_BUNDLE",
        "SSL_CERT_FILE",
        "SSL_CERT_DIR",
        "REQUESTS_CA_BUNDLE",
        "NODE_EXTRA_CA_CERTS",
        "SUDO_USER",
    ] {
        cmd.env_remove(var);
    }
    run(cmd)
}

#[test]
fn system_store_on_debian_in_a_private_mount_namespace() {
    if let Some(why) = no_private_namespace() {
        eprintln!("SKIPPED: {why}");
        return;
    }
    let server = Server::start(&[]);
    let ca = ca_file();
    let url = server.url("/");
    let before = system_store_snapshot();
    let script = r#"
CA="$1"; URL="$2"
echo "== install without the tool"
PATH=/usr/bin:/bin "$PKI" trust install --store system --ca "$CA" || echo "EXIT: $?"
ls -A /usr/local/share/ca-certificates
echo "== install"
"$PKI" trust install --store system --ca "$CA"
echo "== curl after install"
curl -sS -o /dev/null --max-time 10 "$URL" 2>&1 && echo "CURL: trusted" || echo "CURL: refused ($?)"
echo "== status after install"
"$PKI" trust status --store system --store java --ca "$CA" --url "$URL"
echo "== uninstall"
"$PKI" trust uninstall --store system --ca "$CA"
echo "== curl after uninstall"
curl -sS -o /dev/null --max-time 10 "$URL" 2>&1 && echo "CURL: trusted" || echo "CURL: refused ($?)"
echo "== status after uninstall"
"$PKI" trust status --store system --store java --ca "$CA"
"#;
    let ran = in_private_store(script, &[ca.to_str().unwrap(), &url]).ok();
    let out = &ran.stdout;
    let section = |name: &str| {
        out.split(&format!("== {name}\n"))
            .nth(1)
            .and_then(|s| s.split("\n== ").next())
            .unwrap_or_else(|| panic!("no {name} section: {out}\n{}", ran.stderr))
            .to_string()
    };
    assert!(
        section("install").contains(
            "system: added to the system store (Debian/Ubuntu: /usr/local/share/ca-certificates)"
        ),
        "{out}"
    );
    // A failed update takes its anchor file out again: no half-installed CA.
    let without = section("install without the tool");
    assert!(
        without.contains("system: FAILED for the system store")
            && without
                .contains("update-ca-certificates is missing: apt-get install ca-certificates")
            && without.contains("was removed again")
            && without
                .split("EXIT: 1\n")
                .nth(1)
                .is_some_and(|listing| !listing.contains("https-demo-")),
        "{out}"
    );
    assert!(
        section("curl after install").contains("CURL: trusted"),
        "{out}"
    );
    let status = section("status after install");
    for line in [
        "system: trusted by the system store (Debian/Ubuntu: /usr/local/share/ca-certificates)",
        "curl, OpenSSL: would trust it: they read the system bundle /etc/ssl/certs/ca-certificates.crt, which holds it",
        "    fix: export REQUESTS_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt\n",
        "  curl: connected, certificate trusted",
        "  openssl s_client: connected, certificate trusted",
    ] {
        assert!(status.contains(line), "{line}\n{out}");
    }
    // Debian's Java hook follows the system store, in and out.
    let java_hook = Path::new("/etc/ca-certificates/update.d/jks-keystore").exists();
    if java_hook {
        assert!(status.contains("java: trusted by Java's keystore"), "{out}");
        assert!(
            section("uninstall").contains("java: removed from Java's keystore"),
            "{out}"
        );
        assert!(
            section("status after uninstall").contains("java: NOT trusted by Java's keystore"),
            "{out}"
        );
    }
    assert!(
        section("uninstall").contains("system: removed from the system store"),
        "{out}"
    );
    let refused = section("curl after uninstall");
    assert!(
        refused.contains("CURL: refused (60)")
            && refused.contains("unable to get local issuer certificate"),
        "{out}"
    );
    assert!(
        section("status after uninstall").contains("system: NOT trusted by the system store"),
        "{out}"
    );
    assert!(
        system_store_snapshot() == before,
        "the machine's system store changed outside the namespace"
    );
}

#[test]
fn java_keystore_of_a_temporary_java_home() {
    let Some(keytool) = ["/usr/bin/keytool"]
        .into_iter()
        .map(std::path::PathBuf::from)
        .find(|p| p.exists())
        .and_then(|p| std::fs::canonicalize(p).ok())
    else {
        eprintln!("SKIPPED: no keytool here (apt-get install default-jre-headless)");
        return;
    };
    // A JAVA_HOME whose keytool is the real one and whose cacerts is a new keystore holding
    // another CA, so that the machine's own keystore is never touched.
    let java_home = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(java_home.path().join("bin")).unwrap();
    std::fs::create_dir_all(java_home.path().join("lib/security")).unwrap();
    std::os::unix::fs::symlink(&keytool, java_home.path().join("bin/keytool")).unwrap();
    let cacerts = java_home.path().join("lib/security/cacerts");
    let other = certs::test_ca(java_home.path(), "other.pem", "Other CA");
    let mut cmd = Command::new(&keytool);
    cmd.args([
        "-importcert",
        "-noprompt",
        "-storepass",
        "changeit",
        "-alias",
        "other",
        "-keystore",
    ])
    .arg(&cacerts)
    .arg("-file")
    .arg(&other.file);
    run(cmd).ok();
    let aliases = || {
        let mut cmd = Command::new(&keytool);
        cmd.args(["-list", "-storepass", "changeit", "-keystore"])
            .arg(&cacerts);
        let out = run(cmd).ok().stdout;
        let mut v: Vec<String> = out
            .lines()
            .filter(|l| l.contains("trustedCertEntry"))
            .map(|l| l.split(',').next().unwrap().to_string())
            .collect();
        v.sort();
        v
    };
    let ca = ca_file();
    let home = tempfile::tempdir().unwrap();
    let java = |verb: &str| {
        let mut cmd = demo_pki_cmd(
            home.path(),
            [
                "trust",
                verb,
                "--store",
                "java",
                "--ca",
                ca.to_str().unwrap(),
            ],
        );
        cmd.env("HOME", home.path())
            .env("JAVA_HOME", java_home.path());
        run(cmd).ok().stdout
    };
    let place = format!("Java's keystore {}", cacerts.display());
    let installed = java("install");
    assert!(
        installed.contains(&format!("java: added to {place}")),
        "{installed}"
    );
    let alias = aliases()
        .into_iter()
        .find(|a| a != "other")
        .expect("no alias added");
    assert!(alias.starts_with("https-demo-"), "{alias}");
    assert!(java("status").contains(&format!("java: trusted by {place}")));
    let removed = java("uninstall");
    assert!(
        removed.contains(&format!("java: removed from {place}")),
        "{removed}"
    );
    assert_eq!(aliases(), ["other"], "only the CA itself may go");
    assert!(java("status").contains(&format!("java: NOT trusted by {place}")));
}

#[test]
fn help_lists_trust_and_its_three_commands() {
    let help = demo_pki(Path::new("."), ["--help"]).ok().stdout;
    assert!(
        help.lines()
            .any(|l| l.split_whitespace().next() == Some("trust")
                && l.split_whitespace().count() > 6),
        "{help}"
    );
    let help = demo_pki(Path::new("."), ["trust", "--help"]).ok().stdout;
    for command in ["install", "uninstall", "status"] {
        assert!(
            help.lines()
                .any(|l| l.split_whitespace().next() == Some(command)
                    && l.split_whitespace().count() > 6),
            "{command}: {help}"
        );
    }
    let refused = demo_pki(Path::new("."), ["trust", "install", "--store", "browser"]);
    assert!(
        !refused.status.success()
            && refused
                .stderr
                .contains("unknown store \"browser\": the stores are nss"),
        "{}",
        refused.stderr
    );
}
