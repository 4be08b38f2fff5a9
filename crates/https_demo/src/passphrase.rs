//! Where passphrases come from: a file, an environment variable, or a no-echo prompt on a
//! terminal. Never from a command-line argument, which every user can read in the process list.

use std::io::IsTerminal;
use std::path::Path;

use anyhow::{Result, anyhow, bail};
use zeroize::Zeroizing;

use crate::files;

/// Shortest passphrase accepted for a new key; anything shorter falls to a dictionary at once.
pub const MIN_LEN: usize = 8;

/// How to obtain one passphrase.
#[derive(Clone, Debug)]
pub struct Source<'a> {
    /// A file whose first line is the passphrase.
    pub file: Option<&'a Path>,
    /// The flag that names `file`, for errors.
    pub flag: &'a str,
    /// An environment variable that may hold it.
    pub env_var: &'a str,
    /// Which key it unlocks, for the prompt and for errors.
    pub purpose: &'a str,
}

impl Source<'_> {
    /// Reads the passphrase of an existing key.
    pub fn read(&self) -> Result<Zeroizing<String>> {
        self.obtain(false)
    }

    /// Reads the passphrase for a new key: asked twice on a terminal, and refused when short.
    pub fn read_new(&self) -> Result<Zeroizing<String>> {
        let pass = self.obtain(true)?;
        if pass.chars().count() < MIN_LEN {
            bail!(
                "the passphrase for {} is shorter than {MIN_LEN} characters; choose a longer one (or pass --no-passphrase to write the key unencrypted)",
                self.purpose
            );
        }
        Ok(pass)
    }

    fn obtain(&self, confirm: bool) -> Result<Zeroizing<String>> {
        if let Some(path) = self.file {
            return from_file(path);
        }
        if let Ok(value) = std::env::var(self.env_var) {
            if value.is_empty() {
                bail!(
                    "{} is set but empty; set it to the passphrase for {}",
                    self.env_var,
                    self.purpose
                );
            }
            return Ok(Zeroizing::new(value));
        }
        if std::io::stdin().is_terminal() {
            let prompt = format!("Passphrase for {}: ", self.purpose);
            let pass = Zeroizing::new(rpassword::prompt_password(prompt)?);
            if confirm {
                let again = Zeroizing::new(rpassword::prompt_password("Again, to confirm: ")?);
                if *again != *pass {
                    bail!("the two passphrases differ; nothing was written");
                }
            }
            return Ok(pass);
        }
        bail!(
            "no passphrase for {}: pass {} FILE, set {}, or run in a terminal to be asked",
            self.purpose,
            self.flag,
            self.env_var
        )
    }
}

/// The passphrase in a file: its first line, without the line end. A UTF-8 byte order mark
/// (which Windows Notepad writes) is not part of it. A Windows line end (CRLF) is accepted, with
/// a note: `openssl -passin file:` strips only the LF, so it would take the CR as part of the
/// passphrase and refuse the key.
pub fn from_file(path: &Path) -> Result<Zeroizing<String>> {
    let shown = path.display();
    let bytes = Zeroizing::new(files::read_bounded(
        path,
        files::PASSPHRASE_LIMIT,
        "passphrase file",
    )?);
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes[..]);
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let what = if bytes.starts_with(b"\xFF\xFE") || bytes.starts_with(b"\xFE\xFF") {
            "is UTF-16 text (as some Windows editors save it), not UTF-8. Save it as UTF-8".to_string()
        } else {
            format!(
                "is not UTF-8 text (byte {} is not valid UTF-8), so it holds no passphrase this tool can \
                 read. Check the path, or write the passphrase as UTF-8 text",
                e.valid_up_to() + 1
            )
        };
        anyhow!("the passphrase file {shown} {what} on its first line")
    })?;
    let line = text.split('\n').next().unwrap_or("");
    let line = match line.strip_suffix('\r') {
        Some(line) => {
            eprintln!(
                "note: the passphrase file {shown} ends its first line with CR LF (a Windows line end); the CR \
                 is not taken as part of the passphrase. `openssl -passin file:{shown}` would take it, and refuse \
                 the key: write the file with a plain LF line end to use it with openssl too."
            );
            line
        }
        None => line,
    };
    if line.is_empty() {
        bail!("passphrase file {shown} is empty; write the passphrase on its first line");
    }
    Ok(Zeroizing::new(line.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_line_without_bom_or_line_end_is_the_passphrase() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pass.txt");
        for (contents, expected) in [
            (&b"secret words\n"[..], "secret words"),
            (b"secret words", "secret words"),
            (b"secret words\r\n", "secret words"),
            (b"\xEF\xBB\xBFsecret words\r\nsecond line\n", "secret words"),
            (b" spaces count \n", " spaces count "),
        ] {
            std::fs::write(&path, contents).unwrap();
            assert_eq!(from_file(&path).unwrap().as_str(), expected, "{contents:?}");
        }
    }

    #[test]
    fn a_file_that_is_not_utf8_is_named_as_such() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pass.txt");
        std::fs::write(&path, b"\xFF\xFEs\0e\0c\0r\0e\0t\0").unwrap();
        let err = from_file(&path).unwrap_err().to_string();
        assert!(err.contains("is UTF-16 text"), "{err}");
        std::fs::write(&path, b"caf\xE9 au lait\n").unwrap();
        let err = from_file(&path).unwrap_err().to_string();
        assert!(err.contains("is not UTF-8 text (byte 4"), "{err}");
        assert!(!err.contains("PEM"), "{err}");
    }
}
