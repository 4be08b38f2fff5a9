//! The programs the stores are managed with (certutil, update-ca-certificates, keytool, ...),
//! as typed command lines: built and unit-tested on any machine, run with a time limit, and
//! their failures put in words that say what to install or what went wrong.

use std::fmt;
use std::io::{self, Read};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// One command line, exactly as it would be typed (the program, then each argument).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cmd {
    pub program: String,
    pub args: Vec<String>,
}

/// How a command did not give an answer.
#[derive(Debug)]
pub enum RunError {
    /// The program is not installed; `package` is how to get it.
    Missing {
        program: String,
        package: String,
    },
    TimedOut {
        line: String,
        limit: Duration,
    },
    /// It ran and exited non-zero; `said` is what it printed (stderr, then stdout).
    Failed {
        line: String,
        status: ExitStatus,
        said: String,
    },
    Other {
        line: String,
        error: io::Error,
    },
}

impl fmt::Display for RunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RunError::Missing { program, package } => {
                write!(f, "{program} is missing: {package}")
            }
            RunError::TimedOut { line, limit } => write!(
                f,
                "`{line}` did not finish within {} s and was stopped",
                limit.as_secs()
            ),
            RunError::Failed { line, status, said } => {
                write!(f, "`{line}` failed ({status}): {}", said.trim())
            }
            RunError::Other { line, error } => write!(f, "cannot run `{line}`: {error}"),
        }
    }
}

impl std::error::Error for RunError {}

/// What a finished command printed.
#[derive(Debug)]
pub struct Ran {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

/// How to get a program the stores need, when it is missing.
fn package_of(program: &str) -> String {
    let name = program.rsplit('/').next().unwrap_or(program);
    match name {
        "certutil" => {
            "apt-get install libnss3-tools (Fedora: dnf install nss-tools; Arch: pacman -S nss)"
                .into()
        }
        "update-ca-certificates" => "apt-get install ca-certificates".into(),
        "update-ca-trust" => "dnf install ca-certificates (Arch: pacman -S ca-certificates)".into(),
        "keytool" | "java" => "apt-get install default-jre-headless, or set JAVA_HOME".into(),
        "curl" => "apt-get install curl".into(),
        "openssl" => "apt-get install openssl".into(),
        "node" => "apt-get install nodejs".into(),
        "python3" => "apt-get install python3".into(),
        other => format!("install {other}"),
    }
}

impl Cmd {
    pub fn new<I, S>(program: impl Into<String>, args: I) -> Cmd
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Cmd {
            program: program.into(),
            args: args.into_iter().map(Into::into).collect(),
        }
    }

    /// Runs it with stdin closed and a time limit; a non-zero exit is an error.
    pub fn run(&self, limit: Duration) -> Result<Ran, RunError> {
        let ran = self.run_any(limit)?;
        if ran.status.success() {
            return Ok(ran);
        }
        // Some tools (keytool) put their error on stdout and a warning on stderr: keep both.
        let said = format!("{}\n{}", ran.stderr.trim(), ran.stdout.trim())
            .trim()
            .to_string();
        Err(RunError::Failed {
            line: self.to_string(),
            status: ran.status,
            said,
        })
    }

    /// Runs it with stdin closed and a time limit, whatever its exit status.
    pub fn run_any(&self, limit: Duration) -> Result<Ran, RunError> {
        let line = self.to_string();
        let mut child = match Command::new(&self.program)
            .args(&self.args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
        {
            Ok(child) => child,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(RunError::Missing {
                    program: self.program.clone(),
                    package: package_of(&self.program),
                });
            }
            Err(error) => return Err(RunError::Other { line, error }),
        };
        let read = |pipe: Option<Box<dyn Read + Send>>| {
            std::thread::spawn(move || {
                let mut buf = Vec::new();
                if let Some(mut pipe) = pipe {
                    // Bounded: no tool we run prints more than a few megabytes.
                    let _ = pipe.by_ref().take(64 << 20).read_to_end(&mut buf);
                }
                String::from_utf8_lossy(&buf).into_owned()
            })
        };
        let out = read(child.stdout.take().map(|p| Box::new(p) as _));
        let err = read(child.stderr.take().map(|p| Box::new(p) as _));
        let start = Instant::now();
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if start.elapsed() < limit => {
                    std::thread::sleep(Duration::from_millis(20))
                }
                Ok(None) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(RunError::TimedOut { line, limit });
                }
                Err(error) => return Err(RunError::Other { line, error }),
            }
        };
        Ok(Ran {
            status,
            stdout: out.join().unwrap_or_default(),
            stderr: err.join().unwrap_or_default(),
        })
    }
}

/// The line as a shell would take it: arguments with spaces or quotes are single-quoted.
impl fmt::Display for Cmd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let quote = |s: &str| {
            if !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_./:,=@+%".contains(c))
            {
                s.to_string()
            } else {
                format!("'{}'", s.replace('\'', r"'\''"))
            }
        };
        write!(f, "{}", quote(&self.program))?;
        for arg in &self.args {
            write!(f, " {}", quote(arg))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_is_shown_as_typed() {
        let cmd = Cmd::new("certutil", ["-n", "HTTPS Demo CA", "-t", "C,,"]);
        assert_eq!(cmd.to_string(), "certutil -n 'HTTPS Demo CA' -t C,,");
    }

    #[test]
    fn a_missing_program_names_its_package() {
        let err = Cmd::new("certutil-not-here", Vec::<String>::new())
            .run(Duration::from_secs(5))
            .unwrap_err();
        assert!(matches!(err, RunError::Missing { .. }));
    }

    #[test]
    fn a_slow_program_is_stopped() {
        let err = Cmd::new("sleep", ["5"])
            .run(Duration::from_millis(200))
            .unwrap_err();
        assert!(matches!(err, RunError::TimedOut { .. }));
    }
}
