//! README's recipes ("Our certificate in gunicorn, nginx, uwsgi and Caddy"), run as written: each
//! line is read from README.md, only its port changed to one the system chooses, in a fresh copy
//! of the repository layout with its own certificates. Each server then has to satisfy
//! demo_client, curl and Python with VERIFY_X509_STRICT.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use support::*;
use tempfile::TempDir;

/// The recipes' address in README.md, and the origin's (the plain-HTTP app behind nginx and Caddy).
const SITE: &str = "127.0.0.1:8443";
const ORIGIN: &str = "127.0.0.1:8000";
const SECTION: &str = "## Our certificate in gunicorn, nginx, uwsgi and Caddy";

/// The indented command lines of README's recipes section, as written.
fn readme_lines() -> Vec<String> {
    let readme = std::fs::read_to_string(checkout().join("README.md")).unwrap();
    let start = readme
        .find(SECTION)
        .unwrap_or_else(|| panic!("README.md has no section {SECTION:?}"));
    let section = &readme[start + SECTION.len()..];
    let section = &section[..section.find("\n## ").unwrap_or(section.len())];
    section
        .lines()
        .filter_map(|line| line.strip_prefix("    "))
        .map(str::to_owned)
        .collect()
}

/// README's line that starts with `start`, split into words, with "$PWD/" replaced by `dir`.
fn readme_command(start: &str, dir: &Path) -> Vec<String> {
    let lines: Vec<String> = readme_lines()
        .into_iter()
        .filter(|line| line.starts_with(start))
        .collect();
    assert_eq!(
        lines.len(),
        1,
        "README's recipes should hold one line starting with {start:?}: {lines:?}"
    );
    lines[0]
        .split_whitespace()
        .map(|word| word.replace("\"$PWD/\"", &format!("{}/", dir.display())))
        .collect()
}

/// `words` with `from` (an address README names) changed to `to`.
fn replaced(words: &[String], from: &str, to: &str) -> Vec<String> {
    assert!(
        words.iter().any(|w| w.contains(from)),
        "{words:?} does not name {from}"
    );
    words.iter().map(|w| w.replace(from, to)).collect()
}

/// `words` as a command run in `dir`.
fn command(words: &[String], dir: &Path) -> Command {
    let mut cmd = Command::new(&words[0]);
    cmd.args(&words[1..])
        .current_dir(dir)
        // gunicorn's control socket and Caddy's data live under HOME: keep them in the copy.
        .env("HOME", dir)
        .env("XDG_DATA_HOME", dir)
        .env("XDG_CONFIG_HOME", dir);
    cmd
}

/// A fresh folder laid out like the repository: a new demo set, and a copy of recipes/.
fn site() -> TempDir {
    let dir = tempfile::Builder::new()
        .prefix("recipes-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .unwrap();
    make_demo_set(dir.path());
    let recipes = dir.path().join("recipes");
    std::fs::create_dir(&recipes).unwrap();
    for file in ["app.py", "nginx.conf", "Caddyfile", "verify_strict.py"] {
        std::fs::copy(checkout().join("recipes").join(file), recipes.join(file)).unwrap();
    }
    dir
}

/// The Python virtual environment the tests' `python3` belongs to (README says target/python-venv).
fn venv() -> PathBuf {
    let out = run(python3(&["-c", "import sys; print(sys.prefix)"])).ok();
    PathBuf::from(out.stdout.trim())
}

fn python3(args: &[&str]) -> Command {
    let mut cmd = Command::new("python3");
    cmd.args(args);
    cmd
}

/// Runs README's `demo_pki key decrypt` line: the plain key the servers without a passphrase
/// option need.
fn plain_key(dir: &Path) -> PathBuf {
    let words = readme_command("cargo run --release --bin demo_pki -- key decrypt", dir);
    let args = &words[words.iter().position(|w| w == "--").unwrap() + 1..];
    let said = demo_pki(dir, args).ok().stdout;
    assert!(said.contains("NOT encrypted"), "{said}");
    let key = dir.join("recipes/site_plain_key.pem");
    assert_eq!(
        mode(&key),
        0o600,
        "the plain key must be readable by its owner only"
    );
    key
}

/// A file copied into the site's recipes/ with README's addresses replaced.
fn rewrite(dir: &Path, file: &str, replacements: &[(&str, &str)]) {
    let path = dir.join("recipes").join(file);
    let mut text = std::fs::read_to_string(&path).unwrap();
    for (from, to) in replacements {
        assert!(text.contains(from), "recipes/{file} does not hold {from:?}");
        text = text.replace(from, to);
    }
    std::fs::write(path, text).unwrap();
}

/// gunicorn, stopped with SIGINT (its quick shutdown) when dropped: its master then ends its workers, which a
/// SIGKILL of the master alone would leave running.
struct Gunicorn(Peer);

impl Gunicorn {
    fn start(words: &[String], dir: &Path, from: &str) -> Gunicorn {
        Gunicorn(Peer::start_listening(
            command(&replaced(words, from, "127.0.0.1:0"), dir),
            1,
        ))
    }
}

impl Drop for Gunicorn {
    fn drop(&mut self) {
        self.0.signal_and_wait("INT", Duration::from_secs(10));
    }
}

/// The plain-HTTP origin (README's gunicorn line for nginx and Caddy), on a port of its own.
fn origin(dir: &Path) -> Gunicorn {
    let words = readme_command(&format!("gunicorn --bind {ORIGIN}"), dir);
    Gunicorn::start(&words, dir, ORIGIN)
}

/// README's three checks (demo_client, curl, Python with VERIFY_X509_STRICT) each fetch the
/// secret from the server at `port`, trusting only the site's demo CA.
fn verified_everywhere(dir: &Path, port: u16, server: &Peer) {
    let readme_url = format!("https://localhost:{}/", SITE.rsplit(':').next().unwrap());
    let url = format!("https://localhost:{port}/");
    let check = |start: &str| replaced(&readme_command(start, dir), &readme_url, &url);

    let words = check("cargo run --release --bin demo_client --");
    let args = &words[words.iter().position(|w| w == "--").unwrap() + 1..];
    let mut client = Command::new(env!("CARGO_BIN_EXE_demo_client"));
    client.current_dir(dir).args(args).args(["--timeout", "10"]);
    let said = run(client).stdout;
    assert!(
        said.contains(&format!("Secret message: {SECRET}")) && said.contains("Verified:"),
        "demo_client against {url}:\n{said}\nserver:\n{}",
        server.said()
    );

    let mut curl = command(&check("curl --cacert"), dir);
    curl.args(["-sS", "--max-time", "10"]);
    let out = run(curl);
    assert_eq!(out.stdout, SECRET, "curl: {}", out.stderr);

    let strict = run(command(&check("python3 recipes/verify_strict.py"), dir));
    assert_eq!(
        strict.stdout.trim(),
        SECRET,
        "Python strict: {}",
        strict.stderr
    );
}

#[test]
fn gunicorn_serves_the_app_with_the_plain_key_demo_pki_writes() {
    let dir = site();
    plain_key(dir.path());
    let words = readme_command("gunicorn --certfile", dir.path());
    let server = Gunicorn::start(&words, dir.path(), SITE);
    verified_everywhere(dir.path(), server.0.port, &server.0);
}

#[test]
fn nginx_serves_the_app_with_the_encrypted_key_and_its_password_file() {
    let dir = site();
    let origin = origin(dir.path());
    // nginx refuses port 0, so the test holds a port (bound, never listening, SO_REUSEPORT) that
    // nginx shares with `reuseport`: nobody else can take it, and it is never released.
    let held = reusable_port();
    rewrite(
        dir.path(),
        "nginx.conf",
        &[
            (
                &format!("listen {SITE} ssl;"),
                &format!("listen 127.0.0.1:{} ssl reuseport;", held.port),
            ),
            (ORIGIN, &format!("127.0.0.1:{}", origin.0.port)),
        ],
    );
    let words = readme_command("nginx ", dir.path());
    let server = Peer::start_listening(command(&words, dir.path()), 1);
    assert_eq!(server.port, held.port);
    verified_everywhere(dir.path(), server.port, &server);
}

#[test]
fn uwsgi_serves_the_app_over_its_https_socket() {
    let dir = site();
    plain_key(dir.path());
    let words = replaced(
        &readme_command("uwsgi ", dir.path()),
        "target/python-venv",
        venv().to_str().unwrap(),
    );
    let server = Peer::start_listening(
        command(&replaced(&words, SITE, "127.0.0.1:0"), dir.path()),
        1,
    );
    verified_everywhere(dir.path(), server.port, &server);
}

#[test]
fn caddy_serves_the_app_with_our_certificate_not_its_own() {
    let dir = site();
    plain_key(dir.path());
    let origin = origin(dir.path());
    rewrite(
        dir.path(),
        "Caddyfile",
        &[
            (
                &format!("https://localhost:{}", SITE.rsplit(':').next().unwrap()),
                "https://localhost:0",
            ),
            (ORIGIN, &format!("127.0.0.1:{}", origin.0.port)),
        ],
    );
    let words = readme_command("caddy ", dir.path());
    let server = Peer::start_listening(command(&words, dir.path()), 1);
    verified_everywhere(dir.path(), server.port, &server);
}

#[test]
fn key_decrypt_writes_the_same_key_plain_and_refuses_to_replace_or_guess() {
    let dir = site();
    let key = plain_key(dir.path());
    let d = dir.path();
    // The plain copy is the certificate's key.
    assert_eq!(
        openssl_public_key_of_key(d, key.to_str().unwrap(), None),
        openssl_public_key_of_cert(d, "certificates/site_public_key.pem")
    );
    let before = std::fs::read(&key).unwrap();
    let args = [
        "key",
        "decrypt",
        "--key",
        "certificates/site_private_key.pem",
        "--passphrase-file",
        "secret/reminder.txt",
        "--out",
        "recipes/site_plain_key.pem",
    ];
    demo_pki(d, args).fails_with(&["already exists", "nothing was written"]);
    assert_eq!(std::fs::read(&key).unwrap(), before);
    // A plain key has nothing to decrypt.
    demo_pki(
        d,
        [
            "key",
            "decrypt",
            "--key",
            "recipes/site_plain_key.pem",
            "--out",
            "again.pem",
        ],
    )
    .fails_with(&["is not encrypted"]);
    // A wrong passphrase writes nothing.
    write(d, "wrong.txt", "not the passphrase\n");
    demo_pki(
        d,
        [
            "key",
            "decrypt",
            "--passphrase-file",
            "wrong.txt",
            "--out",
            "other.pem",
        ],
    )
    .fails_with(&["wrong passphrase"]);
    assert!(!d.join("other.pem").exists() && !d.join("again.pem").exists());
}
