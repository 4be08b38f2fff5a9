//! The symmetric step: demo_server --fernet and demo_client --fernet, and tokens that
//! interoperate with Python's cryptography.fernet both ways.

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use support::*;

fn new_key() -> String {
    let out = run_bounded(
        Command::new(env!("CARGO_BIN_EXE_demo_pki")).arg("fernet-key"),
        Duration::from_secs(10),
    );
    assert!(out.status.success());
    text(&out.stdout).trim().to_string()
}

fn client(url: &str, key: Option<&str>) -> std::process::Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_demo_client"));
    cmd.current_dir(repo())
        .args(["--fernet", url])
        .env_remove("SECRET_KEY");
    if let Some(key) = key {
        cmd.env("SECRET_KEY", key);
    }
    run_bounded(&mut cmd, Duration::from_secs(20))
}

fn python(script: &str, key: &str) -> std::process::Output {
    run_bounded(
        Command::new("python3")
            .args(["-c", script])
            .env("SECRET_KEY", key),
        Duration::from_secs(20),
    )
}

/// A Python server that answers every GET with one fixed body; killed on drop.
struct PyServer(Child, u16);

impl PyServer {
    fn serving(body: &str) -> PyServer {
        let script = "import http.server, sys\n\
            body = sys.argv[1].encode()\n\
            class H(http.server.BaseHTTPRequestHandler):\n\
            \x20   def do_GET(self):\n\
            \x20       self.send_response(200); self.send_header('Content-Length', str(len(body))); self.end_headers(); self.wfile.write(body)\n\
            \x20   def log_message(self, *a): pass\n\
            s = http.server.HTTPServer(('127.0.0.1', 0), H)\n\
            print(s.server_address[1], flush=True)\n\
            s.serve_forever()\n";
        let mut child = Command::new("python3")
            .args(["-c", script, body])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line
            .trim()
            .parse()
            .expect("the Python server prints its port");
        PyServer(child, port)
    }
    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.1)
    }
}

impl Drop for PyServer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn the_client_decrypts_the_servers_token_with_the_shared_key() {
    let key = new_key();
    let server = Server::try_start(&["--fernet"], &[("SECRET_KEY", &key)]).unwrap();
    let url = format!("http://127.0.0.1:{}/", server.port);
    let token = text(&curl(&[&url]).stdout);
    assert!(
        token.starts_with("gAAAAA") && !token.contains(SECRET),
        "{token}"
    );
    let out = client(&url, Some(&key));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).starts_with(&format!("Secret message: {SECRET}\n")),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn the_servers_tokens_decrypt_in_python() {
    let key = new_key();
    let server = Server::try_start(&["--fernet"], &[("SECRET_KEY", &key)]).unwrap();
    let script = format!(
        "import os, urllib.request\nfrom cryptography.fernet import Fernet\n\
         token = urllib.request.urlopen('http://127.0.0.1:{}/', timeout=10).read()\n\
         print(Fernet(os.environ['SECRET_KEY'].encode()).decrypt(token).decode(), end='')\n",
        server.port
    );
    let out = python(&script, &key);
    assert!(
        out.status.success(),
        "needs PyPI cryptography (pip install cryptography): {}",
        text(&out.stderr)
    );
    assert_eq!(text(&out.stdout), SECRET);
}

#[test]
fn pythons_tokens_decrypt_in_the_client() {
    let key = new_key();
    let made = python(
        "import os\nfrom cryptography.fernet import Fernet\n\
         print(Fernet(os.environ['SECRET_KEY'].encode()).encrypt(b'made in Python').decode(), end='')\n",
        &key,
    );
    assert!(
        made.status.success(),
        "needs PyPI cryptography (pip install cryptography): {}",
        text(&made.stderr)
    );
    let server = PyServer::serving(&text(&made.stdout));
    let out = client(&server.url(), Some(&key));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).starts_with("Secret message: made in Python\n"));
}

#[test]
fn missing_malformed_and_wrong_keys_and_a_tampered_token_each_say_what_is_wrong() {
    let key = new_key();
    let token = {
        let out = python(
            "import os\nfrom cryptography.fernet import Fernet\n\
             print(Fernet(os.environ['SECRET_KEY'].encode()).encrypt(b'fluffy tail').decode(), end='')\n",
            &key,
        );
        assert!(out.status.success(), "{}", text(&out.stderr));
        text(&out.stdout)
    };
    let good = PyServer::serving(&token);
    let mut bytes = token.clone().into_bytes();
    let mid = bytes.len() / 2;
    bytes[mid] = if bytes[mid] == b'A' { b'B' } else { b'A' };
    let tampered = PyServer::serving(&String::from_utf8(bytes).unwrap());

    let cases: [(&str, Option<&str>, &str); 4] = [
        (&good.url(), None, "SECRET_KEY is not set"),
        (&good.url(), Some("not-a-key"), "is not a Fernet key"),
        (&good.url(), Some(&new_key()), "InvalidToken"),
        (&tampered.url(), Some(&key), "changed on the way"),
    ];
    for (url, key, expected) in cases {
        let out = client(url, key);
        assert_eq!(out.status.code(), Some(1), "{expected}");
        assert!(
            text(&out.stderr).contains(expected),
            "{expected}: {}",
            text(&out.stderr)
        );
    }
    // The server refuses to start without a key, at once.
    let err = Server::try_start(&["--fernet"], &[])
        .err()
        .expect("started without SECRET_KEY");
    assert!(err.contains("SECRET_KEY is not set"), "{err}");
}
