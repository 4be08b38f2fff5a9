//! Files the way a PKI tool must handle them. A command that writes several files writes all of
//! them or none, never over an existing file by accident, never over one of its own inputs, and
//! private keys readable by their owner only. Every input is read with a size bound, so that
//! `/dev/zero` or a FIFO fed without end gets an answer rather than eating the memory.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::{Result, anyhow, bail};

/// Mode for files that hold a private key.
pub const PRIVATE: u32 = 0o600;
/// Mode for certificates, CSRs and other public material.
pub const PUBLIC: u32 = 0o644;

/// Largest PEM or DER file read (a certificate, a chain, a CSR, a key). A long chain of RSA-4096
/// certificates is some 10 KB; 1 MiB is far above any real one.
pub const PEM_LIMIT: u64 = 1 << 20;
/// Largest passphrase file read: the passphrase is its first line.
pub const PASSPHRASE_LIMIT: u64 = 4 << 10;
/// Largest CA file read (`--ca-file`). Debian's whole system bundle of some 150 roots is about
/// 220 KB.
pub const CA_FILE_LIMIT: u64 = 1 << 20;

/// A file named on the command line, and how to call it in a message ("the CA key (--ca-key)").
#[derive(Clone, Copy, Debug)]
pub struct Named<'a> {
    pub path: &'a Path,
    pub what: &'a str,
}

/// One file to be written.
pub struct Output<'a> {
    pub path: &'a Path,
    /// How to call it in a message, e.g. "the site key (--key)".
    pub what: &'a str,
    pub contents: &'a [u8],
    pub mode: u32,
}

impl<'a> Output<'a> {
    fn named(&self) -> Named<'a> {
        Named {
            path: self.path,
            what: self.what,
        }
    }
}

/// Refuses, before anything is made or written, a set of outputs that cannot be written whole:
/// two outputs that are one file, an output that is one of the `inputs` (followed through
/// symbolic and hard links), an output whose folder is missing or which is a folder, and, unless
/// `force`, an output that already exists.
pub fn check(outputs: &[Named<'_>], inputs: &[Named<'_>], force: bool) -> Result<()> {
    let ids: Vec<Identity> = outputs.iter().map(|o| Identity::of(o.path)).collect();
    for (i, out) in outputs.iter().enumerate() {
        for (j, other) in outputs.iter().enumerate().take(i) {
            if ids[i].same_as(&ids[j]) {
                bail!(
                    "{} {} and {} {} are the same file: one file cannot hold both. Nothing was written. \
                     Give each its own path.",
                    other.what,
                    other.path.display(),
                    out.what,
                    out.path.display()
                );
            }
        }
        for input in inputs {
            if ids[i].same_as(&Identity::of(input.path)) {
                bail!(
                    "{} {} is the same file as {} {}, which this command reads: writing it would destroy \
                     what it holds. Nothing was written. Choose another output path.",
                    out.what,
                    out.path.display(),
                    input.what,
                    input.path.display()
                );
            }
        }
    }
    for out in outputs {
        let (dir, _) = split(out.path)?;
        if !dir.is_dir() {
            let why = if dir.exists() {
                "is not a folder"
            } else {
                "does not exist"
            };
            bail!(
                "cannot write {}: {} {why}. Nothing was written. Create the folder first, or choose another path.",
                out.path.display(),
                dir.display()
            );
        }
        if out.path.is_dir() {
            bail!(
                "cannot write {}: it is a folder. Nothing was written. Give a file name.",
                out.path.display()
            );
        }
        if !force && fs::symlink_metadata(out.path).is_ok() {
            bail!(
                "{} already exists: nothing was written. Pass --force to replace it, or choose another output path.",
                out.path.display()
            );
        }
    }
    Ok(())
}

/// Writes every output, or none: each is first staged in a temporary file in its own folder
/// (written and synced, with its mode), then all are put in place by rename. When anything
/// fails, every file already put in place is put back as it was and the error names the path.
/// Without `force` the final step is a hard link, which fails if the target appeared meanwhile,
/// so even a file created by someone else during the run is not replaced.
pub fn write_all(outputs: &[Output<'_>], inputs: &[Named<'_>], force: bool) -> Result<()> {
    let named: Vec<Named> = outputs.iter().map(Output::named).collect();
    check(&named, inputs, force)?;
    let mut set = Staging::default();
    let result = set.stage(outputs).and_then(|()| set.install(force));
    match result {
        Ok(()) => {
            set.finish();
            Ok(())
        }
        Err(e) => {
            let restored = set.roll_back();
            Err(match restored {
                Ok(()) => anyhow!(
                    "{e}. Nothing was changed: every file is as it was before. Fix that and run the command again."
                ),
                Err(r) => anyhow!("{e}. Then putting the old files back failed too: {r}."),
            })
        }
    }
}

/// Writes one file all-or-nothing; see [`write_all`].
pub fn write_atomic(
    path: &Path,
    what: &str,
    contents: &[u8],
    mode: u32,
    force: bool,
) -> Result<()> {
    write_all(
        &[Output {
            path,
            what,
            contents,
            mode,
        }],
        &[],
        force,
    )
}

/// One output on its way: the temporary file, and the old file's copy while it is replaced.
struct Staged {
    target: PathBuf,
    tmp: PathBuf,
    /// A hard link to the file being replaced, to put it back if a later output fails.
    backup: Option<PathBuf>,
    installed: bool,
}

#[derive(Default)]
struct Staging {
    files: Vec<Staged>,
}

impl Staging {
    fn stage(&mut self, outputs: &[Output<'_>]) -> Result<()> {
        for out in outputs {
            let (dir, name) = split(out.path)?;
            let tmp = sibling(&dir, &name, "tmp");
            // Recorded before it exists, so that a half-written temporary file is removed too.
            self.files.push(Staged {
                target: out.path.to_path_buf(),
                tmp: tmp.clone(),
                backup: None,
                installed: false,
            });
            let written = (|| {
                let mut file = OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(out.mode)
                    .open(&tmp)?;
                // The mode given to open() is reduced by the umask; a key must be exactly 0600.
                file.set_permissions(fs::Permissions::from_mode(out.mode))?;
                file.write_all(out.contents)?;
                file.sync_all()
            })();
            written.map_err(|e| {
                anyhow!(
                    "cannot write {}: {} (making a new file in the folder {})",
                    out.path.display(),
                    io_words(&e),
                    dir.display()
                )
            })?;
        }
        Ok(())
    }

    fn install(&mut self, force: bool) -> Result<()> {
        if force {
            // Keep every file about to be replaced (a second name for it, so nothing is copied or
            // changed) before the first rename, so that any failure can put all of them back.
            for staged in &mut self.files {
                if fs::symlink_metadata(&staged.target).is_ok() {
                    let (dir, name) = split(&staged.target)?;
                    let backup = sibling(&dir, &name, "old");
                    fs::hard_link(&staged.target, &backup).map_err(|e| {
                        anyhow!(
                            "cannot replace {}: keeping its old version aside failed: {}",
                            staged.target.display(),
                            io_words(&e)
                        )
                    })?;
                    staged.backup = Some(backup);
                }
            }
        }
        for staged in &mut self.files {
            let put = if force {
                fs::rename(&staged.tmp, &staged.target)
            } else {
                fs::hard_link(&staged.tmp, &staged.target)
            };
            put.map_err(|e| {
                if !force && e.kind() == io::ErrorKind::AlreadyExists {
                    anyhow!(
                        "{} appeared while this command ran; it was not replaced. Pass --force to replace it",
                        staged.target.display()
                    )
                } else {
                    anyhow!(
                        "cannot write {}: {}",
                        staged.target.display(),
                        io_words(&e)
                    )
                }
            })?;
            staged.installed = true;
        }
        for staged in &self.files {
            if let Some(dir) = staged.target.parent() {
                sync_dir(dir);
            }
        }
        Ok(())
    }

    /// Removes the temporary files and the old versions once every output is in place.
    fn finish(self) {
        for staged in self.files {
            let _ = fs::remove_file(&staged.tmp);
            if let Some(backup) = staged.backup {
                let _ = fs::remove_file(backup);
            }
        }
    }

    /// Puts every replaced file back and removes every new one.
    fn roll_back(self) -> Result<()> {
        let mut failures = Vec::new();
        for staged in self.files.iter().rev() {
            if staged.installed {
                let undone = match &staged.backup {
                    Some(backup) => fs::rename(backup, &staged.target),
                    None => fs::remove_file(&staged.target),
                };
                if let Err(e) = undone {
                    failures.push(format!("{}: {}", staged.target.display(), io_words(&e)));
                }
            } else if let Some(backup) = &staged.backup {
                let _ = fs::remove_file(backup);
            }
            let _ = fs::remove_file(&staged.tmp);
        }
        if failures.is_empty() {
            Ok(())
        } else {
            bail!("{}", failures.join("; "))
        }
    }
}

/// The folder a path is in ("." for a bare name) and its file name.
fn split(path: &Path) -> Result<(PathBuf, std::ffi::OsString)> {
    let name = path
        .file_name()
        .ok_or_else(|| anyhow!("{} is not a file name", path.display()))?;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    Ok((dir, name.to_owned()))
}

/// A hidden name beside `name` in `dir` that no one else uses: `.NAME.KIND-PID-RANDOM`.
fn sibling(dir: &Path, name: &std::ffi::OsStr, kind: &str) -> PathBuf {
    dir.join(format!(
        ".{}.{kind}-{}-{:016x}",
        name.to_string_lossy(),
        std::process::id(),
        rand::random::<u64>()
    ))
}

/// Makes the renames in `dir` durable. Best effort: some file systems refuse to sync a folder.
fn sync_dir(dir: &Path) {
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

/// What makes two paths one file: the folder entry the name is (what a rename replaces), the
/// file it leads to through symbolic links, and the inode (which hard links share).
struct Identity {
    entry: Option<PathBuf>,
    resolved: Option<PathBuf>,
    inode: Option<(u64, u64)>,
}

impl Identity {
    fn of(path: &Path) -> Identity {
        let entry = split(path)
            .ok()
            .and_then(|(dir, name)| Some(fs::canonicalize(dir).ok()?.join(name)));
        Identity {
            entry,
            resolved: fs::canonicalize(path).ok(),
            inode: fs::metadata(path).ok().map(|m| (m.dev(), m.ino())),
        }
    }

    fn same_as(&self, other: &Identity) -> bool {
        let paths = [&self.entry, &self.resolved];
        let others = [&other.entry, &other.resolved];
        let same_path = paths
            .iter()
            .any(|p| p.is_some() && others.iter().any(|o| o == p));
        same_path || (self.inode.is_some() && self.inode == other.inode)
    }
}

/// An I/O error in words, without the "(os error N)" a user cannot act on.
pub(crate) fn io_words(e: &io::Error) -> String {
    use io::ErrorKind::*;
    match e.kind() {
        PermissionDenied => "permission denied".into(),
        NotFound => "a folder on the way does not exist".into(),
        IsADirectory => "it is a folder".into(),
        NotADirectory => "a part of the path is a file, not a folder".into(),
        ReadOnlyFilesystem => "the file system is read-only".into(),
        StorageFull => "the disk is full".into(),
        _ if e.raw_os_error() == Some(libc::ENAMETOOLONG) => "the name is too long".into(),
        _ => e.to_string(),
    }
}

/// "1 MiB", "4 KiB": a limit as a person reads it.
fn show_size(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 20 && b % (1 << 20) == 0 => format!("{} MiB", b >> 20),
        b if b >= 1 << 10 && b % (1 << 10) == 0 => format!("{} KiB", b >> 10),
        b => format!("{b} bytes"),
    }
}

/// Reads a whole file of at most `limit` bytes, naming it (as `what`) and the next step when
/// that fails. It reads at most `limit + 1` bytes, so that `/dev/zero` or a FIFO that never ends
/// is refused at once instead of filling the memory.
pub fn read_bounded(path: &Path, limit: u64, what: &str) -> Result<Vec<u8>> {
    let shown = path.display();
    let cannot = |e: io::Error| match e.kind() {
        io::ErrorKind::NotFound => anyhow!(
            "{what} {shown} does not exist. Check the path, or make the file first (see demo_pki --help)."
        ),
        io::ErrorKind::PermissionDenied => anyhow!(
            "cannot read {what} {shown}: permission denied. Run as the file's owner or fix its mode."
        ),
        io::ErrorKind::IsADirectory => {
            anyhow!("{what} {shown} is a folder, not a file. Give the file's path.")
        }
        _ => anyhow!("cannot read {what} {shown}: {}", io_words(&e)),
    };
    let file = File::open(path).map_err(cannot)?;
    let mut bytes = Vec::new();
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(cannot)?;
    if bytes.len() as u64 > limit {
        bail!(
            "{what} {shown} holds more than {}, the limit for such a file, so it cannot be one: \
             nothing past the limit was read. Check the path.",
            show_size(limit)
        );
    }
    Ok(bytes)
}

/// Reads a PEM file of at most [`PEM_LIMIT`] bytes as text, with the messages of
/// [`read_bounded`], and the openssl command to convert it when it is DER.
pub fn read_text(path: &Path, what: &str) -> Result<String> {
    read_text_bounded(path, PEM_LIMIT, what)
}

/// [`read_text`] with another limit (a CA file: [`CA_FILE_LIMIT`]).
pub fn read_text_bounded(path: &Path, limit: u64, what: &str) -> Result<String> {
    let bytes = read_bounded(path, limit, what)?;
    String::from_utf8(bytes).map_err(|e| {
        anyhow!(
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

    fn out<'a>(path: &'a Path, contents: &'a [u8]) -> Output<'a> {
        Output {
            path,
            what: "the file",
            contents,
            mode: PUBLIC,
        }
    }

    fn names_in(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn refuses_to_overwrite_without_force_and_keeps_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key.pem");
        write_atomic(&path, "the key", b"old", PRIVATE, false).unwrap();
        let err = write_atomic(&path, "the key", b"new", PRIVATE, false).unwrap_err();
        assert!(err.to_string().contains("already exists"), "{err}");
        assert_eq!(fs::read(&path).unwrap(), b"old");
        write_atomic(&path, "the key", b"new", PRIVATE, true).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"new");
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(
            names_in(dir.path()),
            ["key.pem"],
            "no temporary file is left behind"
        );
    }

    #[test]
    fn write_all_writes_nothing_when_one_target_exists() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a");
        let b = dir.path().join("b");
        fs::write(&b, "keep").unwrap();
        assert!(write_all(&[out(&a, b"1"), out(&b, b"2")], &[], false).is_err());
        assert!(!a.exists());
        assert_eq!(fs::read(&b).unwrap(), b"keep");
    }

    #[test]
    fn a_failure_while_putting_files_in_place_puts_every_old_file_back() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b, c) = (
            dir.path().join("a"),
            dir.path().join("b"),
            dir.path().join("c"),
        );
        fs::write(&a, "old a").unwrap();
        fs::write(&c, "old c").unwrap();
        let outputs = [out(&a, b"new a"), out(&b, b"new b"), out(&c, b"new c")];
        let mut set = Staging::default();
        set.stage(&outputs).unwrap();
        // c's staged file vanishes: the third rename fails, after a and b are in place.
        fs::remove_file(&set.files[2].tmp).unwrap();
        let err = set.install(true).unwrap_err().to_string();
        assert!(
            err.contains(&format!("cannot write {}", c.display())),
            "{err}"
        );
        assert_eq!(
            fs::read(&a).unwrap(),
            b"new a",
            "a was not in place before the failure"
        );
        set.roll_back().unwrap();
        assert_eq!(fs::read(&a).unwrap(), b"old a");
        assert_eq!(fs::read(&c).unwrap(), b"old c");
        assert!(!b.exists(), "a new file stays after a failure");
        assert_eq!(names_in(dir.path()), ["a", "c"], "temporary files are left");
    }

    #[test]
    fn a_failure_while_staging_changes_nothing_and_names_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a");
        fs::write(&a, "old a").unwrap();
        let blocker = dir.path().join("not_a_folder");
        fs::write(&blocker, "").unwrap();
        let inside = blocker.join("b");
        let mut set = Staging::default();
        let err = set
            .stage(&[out(&a, b"new a"), out(&inside, b"new b")])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(&format!("cannot write {}", inside.display())),
            "{err}"
        );
        set.roll_back().unwrap();
        assert_eq!(fs::read(&a).unwrap(), b"old a");
        assert_eq!(names_in(dir.path()), ["a", "not_a_folder"]);
        // And through write_all, which refuses it before staging anything.
        let err = write_all(&[out(&a, b"new a"), out(&inside, b"new b")], &[], true)
            .unwrap_err()
            .to_string();
        assert!(err.contains("is not a folder"), "{err}");
        assert_eq!(fs::read(&a).unwrap(), b"old a");
    }

    #[test]
    fn the_same_file_twice_is_refused_through_any_name() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let key = d.join("key.pem");
        fs::write(&key, "the key").unwrap();
        std::os::unix::fs::symlink(&key, d.join("link.pem")).unwrap();
        fs::hard_link(&key, d.join("hard.pem")).unwrap();
        fs::create_dir(d.join("sub")).unwrap();
        let n = |p: &'static str| d.join(p);
        let (fresh, dotted) = (n("new.pem"), n("sub/../new.pem"));
        let (link, hard) = (n("link.pem"), n("hard.pem"));
        let named = |path| Named {
            path,
            what: "the output",
        };
        let input = Named {
            path: &key,
            what: "the key (--key)",
        };
        // Two outputs, one file (not yet existing, spelt two ways).
        let err = check(&[named(&fresh), named(&dotted)], &[], true).unwrap_err();
        assert!(err.to_string().contains("are the same file"), "{err}");
        // An output that is an input, by its own name, a symbolic link, a hard link.
        for path in [&key, &link, &hard] {
            let err = check(&[named(path)], &[input], true).unwrap_err();
            assert!(
                err.to_string()
                    .contains("is the same file as the key (--key)"),
                "{err}"
            );
        }
        // An input through a symbolic link, the output by the real name.
        let via_link = Named {
            path: &link,
            what: "the key (--key)",
        };
        assert!(check(&[named(&key)], &[via_link], true).is_err());
        // Control: distinct files pass.
        check(&[named(&fresh)], &[input], true).unwrap();
    }

    #[test]
    fn endless_inputs_are_refused_at_the_limit() {
        let started = std::time::Instant::now();
        let err = read_bounded(Path::new("/dev/zero"), PEM_LIMIT, "the file")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("the file /dev/zero holds more than 1 MiB"),
            "{err}"
        );

        // A FIFO whose writer never stops.
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: mkfifo reads a NUL-terminated path and nothing else.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let writer = {
            let fifo = fifo.clone();
            std::thread::spawn(move || {
                let mut f = OpenOptions::new().write(true).open(fifo).unwrap();
                // Ends with a broken pipe once the reader has had enough.
                while f.write_all(&[b'A'; 4096]).is_ok() {}
            })
        };
        let err = read_bounded(&fifo, PASSPHRASE_LIMIT, "passphrase file")
            .unwrap_err()
            .to_string();
        assert!(err.contains("holds more than 4 KiB"), "{err}");
        writer.join().unwrap();
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
        // Control: a file at the limit is read whole.
        let exact = dir.path().join("exact");
        fs::write(&exact, vec![b'x'; PASSPHRASE_LIMIT as usize]).unwrap();
        assert_eq!(
            read_bounded(&exact, PASSPHRASE_LIMIT, "f").unwrap().len(),
            4096
        );
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
