//! demo_server --upstream, the TLS-terminating proxy, in front of a real plain-HTTP app (a
//! Python origin): what the origin is told about the client, bodies streamed both ways in
//! bounded memory, an origin that is down or slow in words, and requests that would make it an
//! open proxy refused.

mod support;

use std::process::{Command, Output};
use std::time::{Duration, Instant};

use support::*;

/// The origin: echoes the headers it received (`/headers`), sends N bytes (`/download/N`),
/// reads an upload and answers its length and SHA-256 (`POST /upload`), answers late
/// (`/slow`), stops in the middle of its answer (`/stalls`). It prints each request it sees, so that a test knows what reached it.
const ORIGIN: &str = r#"
import hashlib, http.server, json, sys, time
class Origin(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *args):
        pass
    def reply(self, body, kind="application/json"):
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def do_GET(self):
        print("origin saw", self.command, self.path, flush=True)
        if self.path == "/headers":
            self.reply(json.dumps(list(self.headers.items())).encode())
        elif self.path.startswith("/download/"):
            n = int(self.path.split("/")[2])
            self.send_response(200)
            self.send_header("Content-Length", str(n))
            self.end_headers()
            piece = b"x" * 65536
            while n > 0:
                self.wfile.write(piece[:n])
                n -= len(piece[:n])
        elif self.path == "/slow":
            time.sleep(5)
            self.reply(b"too late")
        elif self.path == "/stalls":
            self.send_response(200)
            self.send_header("Content-Length", "100000")
            self.end_headers()
            self.wfile.write(b"x" * 1000)
            self.wfile.flush()
            time.sleep(5)
        else:
            self.reply(b"fluffy tail from the origin", "text/plain")
    def do_POST(self):
        print("origin saw", self.command, self.path, flush=True)
        left = int(self.headers["Content-Length"])
        digest, got = hashlib.sha256(), 0
        while left > 0:
            piece = self.rfile.read(min(65536, left))
            if not piece:
                break
            digest.update(piece)
            got += len(piece)
            left -= len(piece)
        self.reply(json.dumps({"bytes": got, "sha256": digest.hexdigest()}).encode())
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Origin)
print("Listening on", server.server_address[1], flush=True)
server.serve_forever()
"#;

fn origin() -> Peer {
    Peer::python(ORIGIN, &[])
}

/// demo_server in front of `origin` with `extra` arguments.
fn proxy_to(port: u16, extra: &[&str]) -> Server {
    let upstream = format!("http://127.0.0.1:{port}");
    let mut args = vec!["--upstream", &upstream];
    args.extend_from_slice(extra);
    Server::start(&args)
}

/// curl through the proxy, trusting only the demo CA; `-w` adds the status as the last line.
fn fetch(server: &Server, path: &str, args: &[&str]) -> (u16, String) {
    let ca = ca_file();
    let url = server.url(path);
    let out = curl(
        &[
            &["--cacert", ca.to_str().unwrap(), "-w", "\n%{http_code}"][..],
            args,
            &[url.as_str()],
        ]
        .concat(),
    );
    let said = text(&out.stdout);
    let (body, status) = said.rsplit_once('\n').unwrap_or(("", &said));
    let status = status
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("curl {path}: {said} {}", text(&out.stderr)));
    (status, body.to_string())
}

/// The headers the origin received, as (lowercase name, value) pairs.
fn origin_saw(body: &str) -> Vec<(String, String)> {
    let pairs: Vec<(String, String)> =
        serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"));
    pairs
        .into_iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v))
        .collect()
}

fn header<'a>(seen: &'a [(String, String)], name: &str) -> Option<&'a str> {
    seen.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

#[test]
fn the_origin_learns_the_client_and_https_and_no_hop_by_hop_header() {
    let app = origin();
    let server = proxy_to(app.port, &[]);
    let host = format!("localhost:{}", server.port);
    for version in ["--http1.1", "--http2"] {
        let (status, body) = fetch(
            &server,
            "/headers",
            &[
                version,
                "-H",
                "X-Forwarded-For: 203.0.113.7",
                "-H",
                "X-Forwarded-Proto: http",
                "-H",
                "X-Hop: private to the first hop",
                "-H",
                "Connection: X-Hop",
            ],
        );
        assert_eq!(status, 200, "{version}: {body}");
        let seen = origin_saw(&body);
        // The client's claim is kept, the real peer appended: the origin believes the last.
        assert_eq!(
            header(&seen, "x-forwarded-for"),
            Some("203.0.113.7, 127.0.0.1"),
            "{version}: {seen:?}"
        );
        assert_eq!(
            header(&seen, "x-forwarded-proto"),
            Some("https"),
            "{version}: {seen:?}"
        );
        assert_eq!(
            header(&seen, "forwarded"),
            Some(format!("for=127.0.0.1;proto=https;host=\"{host}\"").as_str()),
            "{version}: {seen:?}"
        );
        assert_eq!(
            header(&seen, "host"),
            Some(host.as_str()),
            "{version}: {seen:?}"
        );
        // HTTP/1.1 only: h2 has no Connection header (curl drops it), so X-Hop is an ordinary one.
        if version == "--http1.1" {
            assert_eq!(header(&seen, "x-hop"), None, "{version}: {seen:?}");
        }
    }
    // The server's own pages are about the TLS leg, and stay its own.
    let (status, body) = fetch(&server, "/connection", &["-H", "Accept: application/json"]);
    assert_eq!(status, 200, "{body}");
    let facts: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(facts["connection"]["tls"]["alpn"], "h2", "{body}");
    let (_, page) = fetch(&server, "/", &[]);
    assert_eq!(page, "fluffy tail from the origin");
    let said = app.wait_for("origin saw GET /");
    assert!(
        !said.contains("/connection"),
        "the origin must not see the proxy's own page: {said}"
    );
}

#[test]
fn ten_megabytes_stream_up_and_down_in_bounded_memory() {
    const SIZE: usize = 10 * 1024 * 1024;
    let app = origin();
    let server = proxy_to(app.port, &[]);
    let dir = tempfile::tempdir().unwrap();
    let upload = dir.path().join("upload.bin");
    let data: Vec<u8> = (0..SIZE).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(&upload, &data).unwrap();
    let digest = sha256sum(&upload);
    let send = |version: &str| {
        let (status, body) = fetch(
            &server,
            "/upload",
            &[version, "--data-binary", &format!("@{}", upload.display())],
        );
        assert_eq!(status, 200, "{version}: {body}");
        let answer: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(answer["bytes"], SIZE, "{version}: {body}");
        assert_eq!(answer["sha256"], digest.as_str(), "{version}: {body}");
    };
    let receive = |version: &str, size: usize| {
        let got = dir.path().join("download.bin");
        let (status, _) = fetch(
            &server,
            &format!("/download/{size}"),
            &[version, "-o", got.to_str().unwrap()],
        );
        assert_eq!(status, 200, "{version}");
        assert_eq!(
            std::fs::metadata(&got).unwrap().len(),
            size as u64,
            "{version}"
        );
    };
    // Warm up: the pools, the TLS and HTTP machinery on both legs, at their working size.
    for version in ["--http1.1", "--http2"] {
        receive(version, 1024 * 1024);
    }
    let baseline = status_kib(server.pid(), "VmHWM");
    for version in ["--http1.1", "--http2"] {
        send(version);
        receive(version, SIZE);
    }
    let peak = status_kib(server.pid(), "VmHWM");
    // A proxy that held a body whole would grow by at least its 10 MiB; streaming, it holds a
    // few pieces of 64 KiB (and h2's 1 MiB receive window). Half the body tells them apart.
    let grew = peak.saturating_sub(baseline);
    assert!(
        grew < (SIZE / 2 / 1024) as u64,
        "demo_server's peak memory grew by {grew} KiB ({baseline} -> {peak}) moving 10 MiB each way"
    );
    eprintln!(
        "proxy: peak memory grew by {grew} KiB moving 10 MiB up and down, over HTTP/1.1 and h2"
    );
}

/// SHA-256 of a file, by coreutils' `sha256sum`.
fn sha256sum(path: &std::path::Path) -> String {
    let out = run_bounded(Command::new("sha256sum").arg(path), Duration::from_secs(30));
    text(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string()
}

#[test]
fn an_origin_that_is_down_gives_502_in_words() {
    let closed = closed_port();
    let server = proxy_to(closed.port, &[]);
    let (status, page) = fetch(&server, "/", &[]);
    assert_eq!(status, 502, "{page}");
    let origin = format!("http://127.0.0.1:{}/", closed.port);
    for words in [
        "502 Bad Gateway",
        origin.as_str(),
        "nothing listens there (connection refused)",
        "Start the app on that port",
    ] {
        assert!(page.contains(words), "missing {words:?}: {page}");
    }
    assert!(
        server.wait_for_log("no answer from the origin"),
        "{}",
        server.logs()
    );
}

#[test]
fn a_silent_origin_gives_504_in_words_after_the_timeout() {
    let app = origin();
    let server = proxy_to(app.port, &["--upstream-timeout", "1"]);
    let started = Instant::now();
    let (status, page) = fetch(&server, "/slow", &[]);
    assert_eq!(status, 504, "{page}");
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    assert!(
        page.contains("sent no answer within 1 s (--upstream-timeout)")
            && page.contains("--upstream-timeout"),
        "{page}"
    );
}

#[test]
fn a_long_transfer_outlives_the_idle_timeout_and_a_stalled_one_is_cut_off() {
    let app = origin();
    let server = proxy_to(
        app.port,
        &["--idle-timeout", "1", "--upstream-timeout", "1"],
    );
    // Large enough that the sockets' buffers (several MB on loopback) cannot hold the rest
    // while curl takes its time: the server is still sending after the idle timeout.
    let size = 40 * 1024 * 1024;
    for version in ["--http1.1", "--http2"] {
        // About 4 s at 10 MB/s: four times the idle timeout, and the connection is never idle.
        let started = Instant::now();
        let out = curl(&[
            "--cacert",
            ca_file().to_str().unwrap(),
            version,
            "--limit-rate",
            "10M",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code} %{size_download}",
            &server.url(&format!("/download/{size}")),
        ]);
        assert_eq!(
            text(&out.stdout),
            format!("200 {size}"),
            "{version}: {}",
            text(&out.stderr)
        );
        assert!(
            started.elapsed() > Duration::from_millis(1500),
            "{version}: too fast to prove anything"
        );
        // The origin stops after 1,000 of 100,000 bytes: the answer is cut off, visibly.
        let out = curl(&[
            "--cacert",
            ca_file().to_str().unwrap(),
            version,
            "-o",
            "/dev/null",
            &server.url("/stalls"),
        ]);
        assert!(
            !out.status.success(),
            "{version}: a cut-off answer must not look whole"
        );
    }
    assert!(
        server.wait_for_log("answer cut off: the origin sent nothing more of its answer for 1 s"),
        "{}",
        server.logs()
    );
}

#[test]
fn full_urls_and_tunnels_are_refused_and_never_reach_the_origin() {
    let app = origin();
    let server = proxy_to(app.port, &[]);
    let (status, page) = fetch(
        &server,
        "/",
        &["--http1.1", "--request-target", "http://example.com/secret"],
    );
    assert_eq!(status, 403, "{page}");
    assert!(
        page.contains("GET http://example.com/secret refused")
            && page.contains("not an open proxy"),
        "{page}"
    );
    let (status, page) = fetch(
        &server,
        "/",
        &[
            "--http1.1",
            "-X",
            "CONNECT",
            "--request-target",
            "example.com:443",
        ],
    );
    assert_eq!(status, 403, "{page}");
    assert!(page.contains("opens no tunnels"), "{page}");
    // The origin answers what does reach it, and saw nothing of the two.
    assert_eq!(fetch(&server, "/", &[]).0, 200);
    let said = app.wait_for("origin saw GET /");
    assert!(
        !said.contains("secret") && !said.contains("CONNECT"),
        "{said}"
    );
}

fn demo_server(args: &[&str]) -> Output {
    run_bounded(
        Command::new(env!("CARGO_BIN_EXE_demo_server"))
            .current_dir(repo())
            .args([
                "--listen",
                "127.0.0.1:0",
                "--passphrase-file",
                "secret/reminder.txt",
            ])
            .args(args),
        Duration::from_secs(20),
    )
}

#[test]
fn an_origin_off_this_machine_or_over_https_is_refused_at_start() {
    for (url, words) in [
        ("https://127.0.0.1:5000", "must be a plain http:// URL"),
        ("http://10.0.0.5:80", "must be on this machine"),
        ("127.0.0.1:5000", "is not an origin URL"),
    ] {
        let out = demo_server(&["--upstream", url]);
        let err = text(&out.stderr);
        assert!(!out.status.success(), "{url}: {err}");
        assert!(
            err.contains(words) && err.contains("--upstream http://127.0.0.1:5000"),
            "{url}: {err}"
        );
        assert!(text(&out.stdout).is_empty(), "{url}: started anyway");
    }
}
