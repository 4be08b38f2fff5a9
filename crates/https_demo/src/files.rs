//! Writing files the way a PKI tool must: all or nothing, never over an existing file by
//! accident, and private keys readable by their owner only.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

/// Mode for files that hold a private key.
pub const PRIVATE: u32 = 0o600;
/// Mode for certificates, CSRs and other public material.
pub const PUBLIC: u32 = 0o644;

/// One file to be written.
pub struct Output<'a> {
    pub path: &'a Path,
    pub contents: &'a [u8],
    pub mode: u32,
}

/// Refuses, before anything is written, when any of `paths` exists and `force` is off, so that a
/// command which writes a key and a certificate never leaves one new file beside one old one.
pub fn check_free(paths: &[&Path], force: bool) -> Result<()> {
    if force {
        return Ok(());
    }
    for path in paths {
        if path.exists() {
            bail!(
                "{} already exists: nothing was written. Pass --force to replace it, or choose another output path.",
                path.display()
            );
        }
    }
    Ok(())
}

/// Writes every output, each atomically (a temporary file in the same folder, synced, then
/// renamed over the target). Checks them all first with [`check_free`].
pub fn write_all(outputs: &[Output<'_>], force: bool) -> Result<()> {
    let paths: Vec<&Path> = outputs.iter().map(|o| o.path).collect();
    check_free(&paths, force)?;
    for output in outputs {
        write_atomic(output.path, output.contents, output.mode, force)?;
    }
    Ok(())
}

/// Writes one file atomically with the given mode. Without `force`, an existing target is left
/// untouched and reported (the final step is a hard link, which fails if the target exists, so
/// even a file that appears meanwhile is not replaced).
pub fn write_atomic(path: &Path, contents: &[u8], mode: u32, force: bool) -> Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if !dir.is_dir() {
        bail!(
            "cannot write {}: the folder {} does not exist. Create it first (mkdir -p {}).",
            path.display(),
            dir.display(),
            dir.display()
        );
    }
    let name = path
        .file_name()
        .with_context(|| format!("{} is not a file name", path.display()))?;
    let tmp = dir.join(format!(
        ".{}.tmp-{}-{:016x}",
        name.to_string_lossy(),
        std::process::id(),
        rand::random::<u64>()
    ));
    let result = (|| -> Result<()> {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&tmp)
            .with_context(|| format!("cannot create a file in {}", dir.display()))?;
        file.write_all(contents)?;
        file.sync_all()?;
        if force {
            fs::rename(&tmp, path)
        } else {
            fs::hard_link(&tmp, path).and_then(|()| fs::remove_file(&tmp))
        }
        .with_context(|| format!("cannot write {}", path.display()))
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
        if !force && path.exists() {
            bail!(
                "{} already exists: nothing was written. Pass --force to replace it.",
                path.display()
            );
        }
    }
    result
}

/// Reads a whole file, naming it and the next step when that fails.
pub fn read(path: &Path, what: &str) -> Result<Vec<u8>> {
    fs::read(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => anyhow::anyhow!(
            "{what} {} does not exist. Check the path, or make the file first (see demo_pki --help).",
            path.display()
        ),
        std::io::ErrorKind::PermissionDenied => anyhow::anyhow!(
            "cannot read {what} {}: permission denied. Run as the file's owner or fix its mode.",
            path.display()
        ),
        _ => anyhow::anyhow!("cannot read {what} {}: {e}", path.display()),
    })
}

/// Reads a text file (PEM), with the same messages as [`read`].
pub fn read_text(path: &Path, what: &str) -> Result<String> {
    let bytes = read(path, what)?;
    String::from_utf8(bytes).map_err(|e| {
        anyhow::anyhow!(
            "{what} {} is not a PEM text file (it holds binary data). {}",
            path.display(),
            der_hint(e.as_bytes(), path)
        )
    })
}

/// The openssl command that turns this binary file into PEM, when it is DER we recognise.
fn der_hint(bytes: &[u8], path: &Path) -> String {
    use x509_parser::prelude::{FromDer, X509Certificate, X509CertificationRequest};
    let p = path.display();
    let (command, kind) = if X509Certificate::from_der(bytes).is_ok() {
        ("x509", "certificate")
    } else if X509CertificationRequest::from_der(bytes).is_ok() {
        ("req", "certificate request")
    } else {
        return "Give the PEM file (it starts with a -----BEGIN line).".into();
    };
    format!("It is a DER {kind}; convert it: openssl {command} -inform der -in {p} -out {p}.pem")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn refuses_to_overwrite_without_force_and_keeps_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key.pem");
        write_atomic(&path, b"old", PRIVATE, false).unwrap();
        let err = write_atomic(&path, b"new", PRIVATE, false).unwrap_err();
        assert!(err.to_string().contains("already exists"), "{err}");
        assert_eq!(fs::read(&path).unwrap(), b"old");
        write_atomic(&path, b"new", PRIVATE, true).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"new");
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let leftovers = fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(leftovers, 1, "no temporary file is left behind");
    }

    #[test]
    fn write_all_writes_nothing_when_one_target_exists() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a");
        let b = dir.path().join("b");
        fs::write(&b, "keep").unwrap();
        let outputs = [
            Output {
                path: &a,
                contents: b"1",
                mode: PUBLIC,
            },
            Output {
                path: &b,
                contents: b"2",
                mode: PUBLIC,
            },
        ];
        assert!(write_all(&outputs, false).is_err());
        assert!(!a.exists());
        assert_eq!(fs::read(&b).unwrap(), b"keep");
    }

    #[test]
    fn binary_input_names_the_openssl_command_for_its_kind() {
        let key = rcgen::KeyPair::generate().unwrap();
        let params = rcgen::CertificateParams::new(vec!["localhost".into()]).unwrap();
        let csr = params.serialize_request(&key).unwrap();
        let cert = params.self_signed(&key).unwrap();
        let dir = tempfile::tempdir().unwrap();
        for (name, bytes, hint) in [
            ("cert.der", cert.der().to_vec(), "openssl x509 -inform der"),
            ("csr.der", csr.der().to_vec(), "openssl req -inform der"),
            (
                "noise.bin",
                vec![0xff, 0xfe, 0x00, 0x80],
                "Give the PEM file",
            ),
        ] {
            let path = dir.path().join(name);
            fs::write(&path, bytes).unwrap();
            let err = read_text(&path, "the file").unwrap_err().to_string();
            assert!(err.contains("is not a PEM text file"), "{err}");
            assert!(err.contains(hint), "{name}: {err}");
        }
    }
}
