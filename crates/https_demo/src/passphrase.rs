//! Where passphrases come from: a file, an environment variable, or a no-echo prompt on a
//! terminal. Never from a command-line argument, which every user can read in the process list.

use std::io::IsTerminal;
use std::path::Path;

use anyhow::{Result, bail};
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
            let text = Zeroizing::new(files::read_text(path, "passphrase file")?);
            let line = text.lines().next().unwrap_or("");
            if line.is_empty() {
                bail!(
                    "passphrase file {} is empty; write the passphrase on its first line",
                    path.display()
                );
            }
            return Ok(Zeroizing::new(line.to_string()));
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
