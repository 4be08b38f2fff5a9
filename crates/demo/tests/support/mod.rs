//! Running the real binaries in tests: start them, wait for their readiness line (never a bare
//! sleep), and stop them by PID.

#![allow(dead_code)]

pub mod certs;

use std::io::{BufRead, BufReader, Read};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const SECRET: &str = "fluffy tail";

/// The repository root, where the bundled certificates live.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

pub fn ca_file() -> PathBuf {
    repo().join("ca_certificates_for_client/ca_public_key.pem")
}

/// A running demo_server.
pub struct Server {
    child: Child,
    pub port: u16,
    pub stdout: Arc<Mutex<String>>,
    pub stderr: Arc<Mutex<String>>,
}

/// Reads a pipe to its end on a thread, byte for byte.
fn read_all<R: Read + Send + 'static>(mut pipe: R) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = pipe.read_to_end(&mut buf);
        buf
    })
}

/// Collects a pipe into a string on a thread, line by line; sends each line to `lines`. The
/// thread ends when the pipe closes (the process exited).
fn collect<R: Read + Send + 'static>(
    pipe: R,
    lines: Option<mpsc::Sender<String>>,
) -> (Arc<Mutex<String>>, std::thread::JoinHandle<()>) {
    let buf = Arc::new(Mutex::new(String::new()));
    let out = buf.clone();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines().map_while(Result::ok) {
            out.lock().unwrap().push_str(&line);
            out.lock().unwrap().push('\n');
            if let Some(tx) = &lines {
                let _ = tx.send(line);
            }
        }
    });
    (buf, reader)
}

impl Server {
    /// Starts demo_server on 127.0.0.1:0 with the bundled files and `extra` arguments, and
    /// waits until it prints the address it bound.
    pub fn start(extra: &[&str]) -> Server {
        Self::try_start(extra, &[]).unwrap_or_else(|e| panic!("{e}"))
    }

    pub fn try_start(extra: &[&str], env: &[(&str, &str)]) -> Result<Server, String> {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_demo_server"));
        cmd.current_dir(repo())
            .args(["--listen", "127.0.0.1:0"])
            .args(extra)
            .env("RUST_LOG", "info")
            .env_remove("SSLKEYLOGFILE")
            .env_remove("SECRET_KEY")
            .env_remove("DEMO_SERVER_PASSPHRASE")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if !extra
            .iter()
            .any(|a| *a == "--plain-http" || a.starts_with("--passphrase-file"))
        {
            cmd.args(["--passphrase-file", "secret/reminder.txt"]);
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd
            .spawn()
            .map_err(|e| format!("cannot start demo_server: {e}"))?;
        let (tx, rx) = mpsc::channel();
        let (stdout, _) = collect(child.stdout.take().unwrap(), Some(tx));
        let (stderr, stderr_reader) = collect(child.stderr.take().unwrap(), None);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) => {
                    if let Some(rest) = line.split("://127.0.0.1:").nth(1) {
                        let port = rest.trim_end_matches('/').parse().unwrap();
                        return Ok(Server {
                            child,
                            port,
                            stdout,
                            stderr,
                        });
                    }
                }
                Err(_) => {
                    let status = child.wait_timeout(Duration::from_secs(5));
                    let _ = child.kill();
                    // Once it has exited, its stderr is complete when the reader reaches the end.
                    if status.is_some() {
                        let _ = stderr_reader.join();
                    }
                    return Err(format!(
                        "demo_server did not report a listening address (status {status:?}); stderr:\n{}",
                        stderr.lock().unwrap()
                    ));
                }
            }
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("https://localhost:{}{path}", self.port)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends a signal (by PID) and waits for the exit, bounded.
    pub fn signal_and_wait(&mut self, signal: &str, limit: Duration) -> Option<ExitStatus> {
        let _ = Command::new("kill")
            .args([&format!("-{signal}"), &self.child.id().to_string()])
            .status();
        self.child.wait_timeout(limit)
    }

    pub fn logs(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Waits (bounded) until the server has logged `needle`: a log line may follow the event
    /// a test saw by a few milliseconds.
    pub fn wait_for_log(&self, needle: &str) -> bool {
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if self.logs().contains(needle) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub trait WaitTimeout {
    fn wait_timeout(&mut self, limit: Duration) -> Option<ExitStatus>;
}

impl WaitTimeout for Child {
    fn wait_timeout(&mut self, limit: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

/// Runs a command to completion with a bound on its time; panics if it hangs.
pub fn run_bounded(cmd: &mut Command, limit: Duration) -> Output {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
    let out = read_all(child.stdout.take().unwrap());
    let err = read_all(child.stderr.take().unwrap());
    let status = child.wait_timeout(limit).unwrap_or_else(|| {
        let _ = child.kill();
        panic!("{cmd:?} did not finish within {limit:?}")
    });
    // The pipes close when the process exits: the readers then finish.
    let stdout = out.join().unwrap_or_default();
    let stderr = err.join().unwrap_or_default();
    Output {
        status,
        stdout,
        stderr,
    }
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A port nothing listens on (bound, then released).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn curl(args: &[&str]) -> Output {
    run_bounded(
        Command::new("curl")
            .args(["-sS", "--max-time", "10"])
            .args(args),
        Duration::from_secs(15),
    )
}

/// A rustls client configuration that trusts only the bundled CA, as demo_client does, offering
/// these ALPN protocols.
pub fn tls_client_config(alpn: &[&[u8]]) -> Arc<rustls::ClientConfig> {
    use rustls_pki_types::{CertificateDer, pem::PemObject};
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(ca_file()).unwrap() {
        roots.add(cert.unwrap()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Arc::new(config)
}
