//! Running the binaries and the external tools (openssl, python3) to completion with a time
//! limit, and looking at what they leave on disk.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};
use std::time::Duration;

/// Longest any one command may take before the test fails (RSA 4096 generation included).
const COMMAND_LIMIT: Duration = Duration::from_secs(120);

/// What a user sees of one run.
#[derive(Debug)]
pub struct Run {
    pub what: String,
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Both streams, for tools that print verdicts on either.
    pub fn output(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }

    /// Panics, showing everything, unless the command succeeded.
    #[track_caller]
    pub fn ok(self) -> Self {
        assert!(
            self.status.success(),
            "{} failed ({}):\nstdout:\n{}\nstderr:\n{}",
            self.what,
            self.status,
            self.stdout,
            self.stderr
        );
        self
    }

    /// Panics unless the command failed with a message on stderr that contains every one of
    /// `needles`; returns stderr.
    #[track_caller]
    pub fn fails_with(self, needles: &[&str]) -> String {
        assert!(
            !self.status.success(),
            "{} succeeded but should have failed:\nstdout:\n{}\nstderr:\n{}",
            self.what,
            self.stdout,
            self.stderr
        );
        assert_eq!(
            self.status.code(),
            Some(1),
            "{} should exit with status 1, not be killed or crash: {}\n{}",
            self.what,
            self.status,
            self.stderr
        );
        for needle in needles {
            assert!(
                self.stderr.contains(needle),
                "{}: stderr lacks {needle:?}:\n{}",
                self.what,
                self.stderr
            );
        }
        self.stderr
    }
}

/// Runs a command with stdin from /dev/null, failing the test if it outlives [`COMMAND_LIMIT`].
#[track_caller]
pub fn run(mut cmd: Command) -> Run {
    let what = format!("{cmd:?}");
    let output = super::run_bounded(&mut cmd, COMMAND_LIMIT);
    Run {
        what,
        status: output.status,
        stdout: super::text(&output.stdout),
        stderr: super::text(&output.stderr),
    }
}

/// The words of a command line (for the tests' own arguments, which hold no spaces).
pub fn words(line: &str) -> Vec<&str> {
    line.split_whitespace().collect()
}

/// `demo_pki` with the passphrase variables removed, so that tests are hermetic.
pub fn demo_pki_cmd<I, S>(dir: &Path, args: I) -> Command
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_demo_pki"));
    cmd.current_dir(dir)
        .args(args)
        .env_remove("DEMO_PKI_PASSPHRASE")
        .env_remove("DEMO_PKI_CA_PASSPHRASE");
    cmd
}

/// Runs `demo_pki ARGS` in `dir`.
#[track_caller]
pub fn demo_pki<I, S>(dir: &Path, args: I) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    run(demo_pki_cmd(dir, args))
}

/// Runs `openssl ARGS` in `dir`.
#[track_caller]
pub fn openssl<I, S>(dir: &Path, args: I) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut cmd = Command::new("openssl");
    cmd.current_dir(dir).args(args);
    run(cmd)
}

/// `openssl verify -x509_strict -CAfile CA CERT`: Ok(output) when it says OK, else Err(output).
pub fn openssl_verify(dir: &Path, ca: &str, cert: &str) -> Result<String, String> {
    let run = openssl(dir, ["verify", "-x509_strict", "-CAfile", ca, cert]);
    let out = run.output();
    if run.status.success() && out.contains(&format!("{cert}: OK")) {
        Ok(out)
    } else {
        Err(out)
    }
}

/// The public key (PEM) of a private key file, read by OpenSSL with the passphrase in `pass_file`.
#[track_caller]
pub fn openssl_public_key_of_key(dir: &Path, key: &str, pass_file: Option<&str>) -> String {
    let mut args = vec!["pkey", "-in", key, "-pubout"];
    let passin;
    if let Some(p) = pass_file {
        passin = format!("file:{p}");
        args.extend(["-passin", &passin]);
    }
    let out = openssl(dir, &args).ok().stdout;
    assert!(out.contains("-----BEGIN PUBLIC KEY-----"), "{out}");
    out
}

/// The public key (PEM) in a certificate, as OpenSSL reads it.
#[track_caller]
pub fn openssl_public_key_of_cert(dir: &Path, cert: &str) -> String {
    let out = openssl(dir, ["x509", "-in", cert, "-pubkey", "-noout"])
        .ok()
        .stdout;
    assert!(out.contains("-----BEGIN PUBLIC KEY-----"), "{out}");
    out
}

/// The public key (PEM) in a CSR, after OpenSSL checked its self-signature. (OpenSSL 3.0's
/// `req -verify` exits 0 even when the signature is bad, so the verdict is read from its output.)
#[track_caller]
pub fn openssl_verified_csr_public_key(dir: &Path, csr: &str) -> String {
    let run = openssl(dir, ["req", "-verify", "-in", csr, "-noout", "-pubkey"]).ok();
    let out = run.output();
    assert!(
        out.contains("verify OK") && !out.contains("verify failure"),
        "openssl does not accept the CSR {csr}:\n{out}"
    );
    assert!(run.stdout.contains("-----BEGIN PUBLIC KEY-----"), "{out}");
    run.stdout
}

/// A TLS handshake inside one Python process, over a socket pair: the server side loads `cert`
/// and `key` (decrypted with the first line of `pass_file`), the client side trusts `ca` only,
/// with VERIFY_X509_STRICT (Python 3.13's default) and hostname checking, for each name.
pub const PYTHON_HANDSHAKE: &str = r#"
import socket, ssl, sys, threading
cert, key, pass_file, ca = sys.argv[1:5]
names = sys.argv[5:]
password = open(pass_file).read().splitlines()[0] if pass_file != "-" else None
server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
server.load_cert_chain(cert, key, password=password)
client = ssl.create_default_context(cafile=ca)
client.verify_flags |= ssl.VERIFY_X509_STRICT
assert client.verify_mode == ssl.CERT_REQUIRED and client.check_hostname
for name in names:
    a, b = socket.socketpair()
    a.settimeout(30)
    b.settimeout(30)
    def serve():
        try:
            with server.wrap_socket(a, server_side=True) as s:
                s.sendall(b"hello")
        except (ssl.SSLError, OSError):
            pass
    t = threading.Thread(target=serve, daemon=True)
    t.start()
    try:
        with client.wrap_socket(b, server_hostname=name) as c:
            assert c.recv(5) == b"hello"
            print(f"{name}: verified over {c.version()}")
    finally:
        b.close()
        a.close()
    t.join(30)
"#;

/// Runs [`PYTHON_HANDSHAKE`].
#[track_caller]
pub fn python_handshake(
    dir: &Path,
    cert: &str,
    key: &str,
    pass_file: Option<&str>,
    ca: &str,
    names: &[&str],
) -> Run {
    let mut cmd = Command::new("python3");
    cmd.current_dir(dir)
        .args([
            "-c",
            PYTHON_HANDSHAKE,
            cert,
            key,
            pass_file.unwrap_or("-"),
            ca,
        ])
        .args(names);
    run(cmd)
}

/// `openssl s_server -www` on 127.0.0.1 (port 0) with a certificate and an encrypted key;
/// ready once it listens. Returns the server (killed when dropped) and its port.
#[track_caller]
pub fn start_s_server(dir: &Path, cert: &str, key: &str, pass_file: &str) -> (super::Peer, u16) {
    let pass = format!("file:{pass_file}");
    let server =
        super::Peer::openssl_server(dir, &["-cert", cert, "-key", key, "-pass", &pass, "-www"]);
    let port = server.port;
    (server, port)
}

/// Every file under `dir` with its bytes, to prove that a failed command wrote nothing.
pub fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let bytes = fs::read(&path).unwrap_or_default();
                files.insert(path.strip_prefix(dir).unwrap().to_path_buf(), bytes);
            }
        }
    }
    files
}

/// Permission bits of a file.
pub fn mode(path: &Path) -> u32 {
    fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

/// Whether the tests run as root (who can read files whatever their mode).
pub fn running_as_root() -> bool {
    let probe = tempfile::NamedTempFile::new().unwrap();
    fs::metadata(probe.path()).unwrap().uid() == 0
}

/// Standard base64 with line breaks every 64 characters, as in PEM.
pub fn pem_encode(label: &str, der: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut b64 = String::new();
    for chunk in der.chunks(3) {
        let n = chunk.len();
        let v = (chunk[0] as u32) << 16
            | (*chunk.get(1).unwrap_or(&0) as u32) << 8
            | *chunk.get(2).unwrap_or(&0) as u32;
        for i in 0..4 {
            if i <= n {
                b64.push(ALPHABET[(v >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                b64.push('=');
            }
        }
    }
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).unwrap());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// Writes a file in `dir` and returns its name, for the many small passphrase files.
pub fn write(dir: &Path, name: &str, contents: impl AsRef<[u8]>) -> String {
    fs::write(dir.join(name), contents).unwrap();
    name.to_string()
}
