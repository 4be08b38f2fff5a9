//! Running the real binaries in tests: start them, wait for their readiness line (never a bare
//! sleep), and stop them by PID.

#![allow(dead_code)]

pub mod browser;
pub mod certs;
pub mod listening;
pub mod tools;

#[allow(unused_imports)] // not every test binary runs the tools
pub use tools::*;

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

pub const SECRET: &str = "fluffy tail";

/// The repository checkout: its scripts and sources. Tests read it, never write into it, and do
/// not serve its bundled certificate (which expires): they use [`repo`].
pub fn checkout() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// A folder laid out like the repository root (`certificates/`, `ca_certificates_for_client/`,
/// `secret/`) with a demo set made fresh by `demo_pki demo` for this test binary, so that the
/// tests pass on any date and the binaries find their default files when run in it. Made once
/// per test process, under Cargo's per-target temporary folder, never in the checkout.
pub fn repo() -> PathBuf {
    static HOME: OnceLock<PathBuf> = OnceLock::new();
    HOME.get_or_init(|| {
        let dir = tempfile::Builder::new()
            .prefix("fresh-demo-set-")
            .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
            .expect("cannot make a temporary folder under CARGO_TARGET_TMPDIR")
            .keep();
        make_demo_set(&dir);
        dir
    })
    .clone()
}

/// Runs `demo_pki demo --root DIR`: a fresh CA, site key, CSR, certificate and passphrase.
pub fn make_demo_set(root: &Path) {
    let out = run_bounded(
        Command::new(env!("CARGO_BIN_EXE_demo_pki"))
            .args(["demo", "--root"])
            .arg(root)
            .env_remove("DEMO_PKI_PASSPHRASE")
            .env_remove("DEMO_PKI_CA_PASSPHRASE"),
        Duration::from_secs(60),
    );
    assert!(
        out.status.success(),
        "demo_pki demo --root {} failed: {}",
        root.display(),
        text(&out.stderr)
    );
}

/// The target folder the tests' binaries were built in (CARGO_TARGET_DIR or `target/`), so that
/// scripts run by a test find a build there instead of making their own.
pub fn target_dir() -> PathBuf {
    Path::new(env!("CARGO_BIN_EXE_demo_server"))
        .parent()
        .and_then(Path::parent)
        .expect("the binary lives in target/<profile>/")
        .to_path_buf()
}

/// A copy of the checkout's tracked files in a temporary folder, with a fresh demo set instead
/// of the bundled one: scripts run there as in a clone, and write nothing into the checkout.
/// Modification times are kept, so that Cargo, pointed at [`target_dir`], finds the sources
/// unchanged and reuses the build instead of compiling the copy again.
pub fn checkout_copy() -> tempfile::TempDir {
    let copy = tempfile::tempdir().unwrap();
    let files = run_bounded(
        Command::new("git")
            .current_dir(checkout())
            .args(["ls-files", "-z"]),
        Duration::from_secs(30),
    );
    assert!(
        files.status.success(),
        "git ls-files: {}",
        text(&files.stderr)
    );
    let bundled = [
        "certificates/",
        "ca_certificates_for_client/",
        "secret/",
        "clients/",
    ];
    for name in text(&files.stdout).split('\0').filter(|n| !n.is_empty()) {
        let (from, to) = (checkout().join(name), copy.path().join(name));
        if bundled.iter().any(|b| name.starts_with(b)) || !from.exists() {
            continue;
        }
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(&from, &to).unwrap();
        let modified = std::fs::metadata(&from).unwrap().modified().unwrap();
        std::fs::File::options()
            .write(true)
            .open(&to)
            .and_then(|f| f.set_modified(modified))
            .unwrap();
    }
    make_demo_set(copy.path());
    copy
}

/// Runs one of the checkout's lab scripts (`./wireshark_lab.sh`, `./mitm_lab.sh`) in a copy of
/// the checkout with a fresh demo set, writing into `out_dir`, on the tests' release build.
/// Returns what it printed, after checking that it succeeded.
pub fn run_lab_script(script: &str, out_dir: &Path) -> String {
    let copy = checkout_copy();
    let out = run_bounded(
        Command::new(format!("./{script}"))
            .current_dir(copy.path())
            .arg(out_dir)
            .env("CARGO_TARGET_DIR", target_dir())
            .env_remove("SSLKEYLOGFILE")
            .env_remove("SECRET_KEY"),
        Duration::from_secs(1200),
    );
    let said = text(&out.stdout);
    assert!(out.status.success(), "{said}\n{}", text(&out.stderr));
    said
}

/// The line of a lab's table that starts with `name`.
pub fn table_row(said: &str, name: &str) -> String {
    said.lines()
        .find(|l| l.starts_with(name))
        .unwrap_or_else(|| panic!("no row {name}: {said}"))
        .to_string()
}

pub fn ca_file() -> PathBuf {
    repo().join("ca_certificates_for_client/ca_public_key.pem")
}

/// A running demo_server.
pub struct Server {
    child: Child,
    pub port: u16,
    /// Its standard input (`demo_server --acme -` reads the directory URL there).
    pub stdin: Option<std::process::ChildStdin>,
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
    let reader = collect_lines(pipe, buf.clone(), lines);
    (buf, reader)
}

/// Appends every line of `pipe` to `buf`, in the background.
fn collect_into<R: Read + Send + 'static>(pipe: R, buf: Arc<Mutex<String>>) {
    collect_lines(pipe, buf, None);
}

fn collect_lines<R: Read + Send + 'static>(
    pipe: R,
    out: Arc<Mutex<String>>,
    lines: Option<mpsc::Sender<String>>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines().map_while(Result::ok) {
            out.lock().unwrap().push_str(&line);
            out.lock().unwrap().push('\n');
            if let Some(tx) = &lines {
                let _ = tx.send(line);
            }
        }
    })
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
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if !extra
            .iter()
            .any(|a| *a == "--plain-http" || *a == "--acme" || a.starts_with("--passphrase-file"))
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
        let stdin = child.stdin.take();
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
                            stdin,
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

    /// Everything it printed on stdout so far.
    pub fn said(&self) -> String {
        self.stdout.lock().unwrap().clone()
    }

    /// Waits (bounded by `limit`) until it has printed `needle` on stdout, or exited; true if
    /// it printed it.
    pub fn wait_for_said(&mut self, needle: &str, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if self.said().contains(needle) {
                return true;
            }
            if let Ok(Some(_)) = self.child.try_wait() {
                std::thread::sleep(Duration::from_millis(50));
                return self.said().contains(needle);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    /// Waits (bounded) for it to exit by itself.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<ExitStatus> {
        self.child.wait_timeout(limit)
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

/// Starts `cmd` with its three streams piped; returns it and how it was called, for messages.
fn spawn_piped(cmd: &mut Command) -> (Child, String) {
    let shown = format!("{cmd:?}");
    let child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {shown}: {e}"));
    (child, shown)
}

/// A peer process started on port 0 (`openssl s_server`, Python): ready once it printed the
/// address it bound, killed by its PID when dropped.
pub struct Peer {
    child: Child,
    pub port: u16,
    pub output: Arc<Mutex<String>>,
}

impl Peer {
    /// Starts `cmd` and waits (bounded) for a line of its stdout from which `port_of` reads the
    /// port it listens on.
    pub fn start(mut cmd: Command, port_of: fn(&str) -> Option<u16>) -> Peer {
        let (mut child, shown) = spawn_piped(&mut cmd);
        let (tx, rx) = mpsc::channel();
        let (output, _) = collect(child.stdout.take().unwrap(), Some(tx));
        let (errors, _) = collect(child.stderr.take().unwrap(), None);
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                Ok(line) => {
                    if let Some(port) = port_of(&line) {
                        return Peer {
                            child,
                            port,
                            output,
                        };
                    }
                }
                Err(_) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!(
                        "{shown} never said where it listens; stdout:\n{}\nstderr:\n{}",
                        output.lock().unwrap(),
                        errors.lock().unwrap()
                    );
                }
            }
        }
    }

    /// Starts `cmd` (told to bind port 0) and waits (bounded) until its process listens on
    /// `count` TCP ports, read from `/proc` (for peers that do not print the port they got:
    /// nginx, pebble, uwsgi, Caddy). `port` is the lowest; [`Peer::ports`] gives them all.
    pub fn start_listening(mut cmd: Command, count: usize) -> Peer {
        let (mut child, shown) = spawn_piped(&mut cmd);
        // These peers log on stderr: both streams go into the one text tests read.
        let (output, _) = collect(child.stdout.take().unwrap(), None);
        collect_into(child.stderr.take().unwrap(), output.clone());
        match listening::wait_listening(child.id(), count, Duration::from_secs(20)) {
            Some(ports) => Peer {
                child,
                port: ports[0],
                output,
            },
            None => {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "{shown} never listened on {count} port(s); stdout and stderr:\n{}",
                    output.lock().unwrap()
                );
            }
        }
    }

    /// Every TCP port the peer's process listens on now, sorted.
    pub fn ports(&self) -> Vec<u16> {
        listening::listening_ports(self.child.id())
    }

    /// `openssl s_server` on 127.0.0.1, port 0, with `args` (-cert, -key, -WWW...), run in `dir`.
    /// Ready at its `ACCEPT 127.0.0.1:PORT` line.
    pub fn openssl_server(dir: &Path, args: &[&str]) -> Peer {
        let mut cmd = Command::new("openssl");
        cmd.current_dir(dir)
            .args(["s_server", "-accept", "127.0.0.1:0"])
            .args(args);
        Peer::start(cmd, |line| {
            line.strip_prefix("ACCEPT 127.0.0.1:")?.trim().parse().ok()
        })
    }

    /// A Python program (`python3 -u -c PROGRAM ARGS`) that prints `Listening on PORT` once its
    /// socket listens.
    pub fn python(program: &str, args: &[&str]) -> Peer {
        let mut cmd = Command::new("python3");
        cmd.args(["-u", "-c", program]).args(args);
        Peer::start(cmd, |line| {
            line.strip_prefix("Listening on ")?.trim().parse().ok()
        })
    }
}

impl Peer {
    /// demo_lab writing into `dir`, every listener on a port the system chooses: ready at its
    /// `Lab ready: N scenarios at https://localhost:PORT/` line (`port` is the gallery's).
    pub fn demo_lab(dir: &Path) -> Peer {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_demo_lab"));
        cmd.arg("--dir").arg(dir).args(["--port-base", "0"]);
        Peer::start(cmd, |line| {
            line.strip_prefix("Lab ready: ")?
                .split("https://localhost:")
                .nth(1)?
                .split('/')
                .next()?
                .parse()
                .ok()
        })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends a signal (by PID) and waits for the exit, bounded: for peers whose children outlive
    /// a SIGKILL of their parent (gunicorn's workers), stopped with the signal that ends them all.
    pub fn signal_and_wait(&mut self, signal: &str, limit: Duration) -> Option<ExitStatus> {
        let _ = Command::new("kill")
            .args([&format!("-{signal}"), &self.child.id().to_string()])
            .status();
        self.child.wait_timeout(limit)
    }

    /// Everything the peer printed on stdout so far.
    pub fn said(&self) -> String {
        self.output.lock().unwrap().clone()
    }

    /// Waits (bounded) until the peer has printed `needle`; returns all it printed.
    pub fn wait_for(&self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline && !self.said().contains(needle) {
            std::thread::sleep(Duration::from_millis(20));
        }
        self.said()
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port on which a connection is refused: bound by a socket that does not listen, and held
/// for as long as the value lives, so that nothing else can take it meanwhile.
pub struct ClosedPort {
    _socket: socket2::Socket,
    pub port: u16,
}

pub fn closed_port() -> ClosedPort {
    held_port(false)
}

/// A port on 127.0.0.1 bound (never listening) and held while the value lives; with
/// `reuse_port`, SO_REUSEPORT is set so that another program may listen on it too.
fn held_port(reuse_port: bool) -> ClosedPort {
    use socket2::{Domain, Socket, Type};
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    if reuse_port {
        socket.set_reuse_port(true).unwrap();
    }
    socket
        .bind(&std::net::SocketAddr::from(([127, 0, 0, 1], 0)).into())
        .unwrap();
    let port = socket.local_addr().unwrap().as_socket().unwrap().port();
    ClosedPort {
        _socket: socket,
        port,
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

/// A field of /proc/PID/status in KiB (VmRSS: resident now; VmHWM: the peak so far).
pub fn status_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status:\n{status}"))
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
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

/// A port held for a server that cannot bind port 0 itself (nginx): bound with SO_REUSEPORT and
/// never listening, so the server binds it too with its own reuseport option and alone accepts
/// on it, while no other user's socket can take it. Held for as long as the value lives.
pub fn reusable_port() -> ClosedPort {
    held_port(true)
}
