//! Headless Chromium for the tests: the flags that keep it off the network and out of the
//! machine's profile, and an NSS database (Chromium's trust store on Linux) under a temporary
//! HOME that trusts the CA a test gives it.

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use super::{run_bounded, text};

/// Runs headless Chromium with HOME = `home` (whose `.pki/nssdb` it trusts), a profile under
/// `home/profile`, and `args` (`--dump-dom URL`, `--screenshot=FILE URL`...), bounded in time.
pub fn chromium(home: &Path, args: &[&str]) -> Output {
    chromium_with_profile(home, "profile", args)
}

/// [`chromium`] with the profile folder `home/profile`, for tests that run several at once.
pub fn chromium_with_profile(home: &Path, profile: &str, args: &[&str]) -> Output {
    let mut cmd = Command::new("chromium");
    cmd.env("HOME", home).args(chromium_flags(home, profile));
    run_bounded(cmd.args(args), Duration::from_secs(90))
}

/// The flags every test run of Chromium gets: headless, off the network, its own profile.
pub fn chromium_flags(home: &Path, profile: &str) -> Vec<String> {
    [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
    ]
    .into_iter()
    .map(String::from)
    .chain([format!("--user-data-dir={}", home.join(profile).display())])
    .collect()
}

/// Makes `home/.pki/nssdb` and adds `ca` to it as a trusted CA (`C,,`) named `nickname`.
pub fn trust_in_nss(home: &Path, ca: &Path, nickname: &str) {
    let db = home.join(".pki/nssdb");
    std::fs::create_dir_all(&db).unwrap();
    let db_arg = format!("sql:{}", db.display());
    for args in [
        vec!["-d", &db_arg, "-N", "--empty-password"],
        vec![
            "-d",
            &db_arg,
            "-A",
            "-t",
            "C,,",
            "-n",
            nickname,
            "-i",
            ca.to_str().unwrap(),
        ],
    ] {
        let out = run_bounded(
            Command::new("certutil").env("HOME", home).args(&args),
            Duration::from_secs(20),
        );
        assert!(
            out.status.success(),
            "certutil {args:?}: {}",
            text(&out.stderr)
        );
    }
}
