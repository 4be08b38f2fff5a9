//! demo_server and the protocols' fine print: TLS 1.2 renegotiation, h2 pings and GOAWAY, the
//! HTTP/1.1 Host rule, header counts. Real sockets on loopback, short timeouts given as flags.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use rustls::{ClientConnection, StreamOwned};
use rustls_pki_types::ServerName;
use support::*;

fn tls_client(port: u16, alpn: &[&[u8]]) -> StreamOwned<ClientConnection, TcpStream> {
    let config = tls_client_config(alpn);
    let name = ServerName::try_from("localhost").unwrap();
    let conn = ClientConnection::new(config, name).unwrap();
    let sock = TcpStream::connect(("127.0.0.1", port)).unwrap();
    sock.set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let mut tls = StreamOwned::new(conn, sock);
    while tls.conn.is_handshaking() {
        tls.conn.complete_io(&mut tls.sock).expect("TLS handshake");
    }
    tls
}

fn would_block(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
    )
}

#[test]
fn a_tls12_renegotiation_attempt_gets_no_renegotiation_at_once() {
    let server = Server::start(&["--header-timeout", "5"]);
    let mut child = Command::new("openssl")
        .args(["s_client", "-tls1_2", "-msg", "-servername", "localhost"])
        .args(["-connect", &format!("127.0.0.1:{}", server.port)])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("openssl s_client");
    let (tx, rx) = mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let wait_for = |needle: &str, limit: Duration| {
        let deadline = Instant::now() + limit;
        let mut seen = String::new();
        while let Ok(line) = rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            seen.push_str(&line);
            seen.push('\n');
            if line.contains(needle) {
                return Ok(());
            }
        }
        Err(seen)
    };
    // The end of s_client's session summary: the handshake is done.
    wait_for("Verify return code", Duration::from_secs(10)).expect("the TLS 1.2 handshake");
    let mut stdin = child.stdin.take().unwrap();
    let asked = Instant::now();
    stdin.write_all(b"R\n").unwrap();
    stdin.flush().unwrap();
    let answer = wait_for("no_renegotiation", Duration::from_secs(3));
    let took = asked.elapsed();
    let _ = child.kill();
    let _ = child.wait();
    drop(stdin);
    if let Err(seen) = answer {
        panic!("no no_renegotiation alert within 3 s; s_client printed:\n{seen}");
    }
    assert!(took < Duration::from_secs(2), "the alert took {took:?}");
}

/// One HTTP/2 frame as read off the wire.
struct Frame {
    kind: u8,
    flags: u8,
    stream: u32,
    payload: Vec<u8>,
}

const DATA: u8 = 0;
const HEADERS: u8 = 1;
const SETTINGS: u8 = 4;
const PING: u8 = 6;
const GOAWAY: u8 = 7;
const ACK: u8 = 1;
const END_STREAM: u8 = 1;

fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let len = payload.len() as u32;
    let mut out = vec![(len >> 16) as u8, (len >> 8) as u8, len as u8, kind, flags];
    out.extend_from_slice(&stream.to_be_bytes());
    out.extend_from_slice(payload);
    out
}

/// A minimal h2 client over TLS: enough to send one GET, pings, and read what comes back.
struct H2 {
    tls: StreamOwned<ClientConnection, TcpStream>,
    buf: Vec<u8>,
    closed: bool,
}

impl H2 {
    fn connect(port: u16) -> H2 {
        let mut tls = tls_client(port, &[b"h2"]);
        assert_eq!(tls.conn.alpn_protocol(), Some(&b"h2"[..]));
        let mut hello = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
        hello.extend(frame(SETTINGS, 0, 0, &[]));
        tls.write_all(&hello).unwrap();
        H2 {
            tls,
            buf: Vec::new(),
            closed: false,
        }
    }

    fn send(&mut self, bytes: &[u8]) {
        // Once the server has closed, writes may fail: the test looks at what was read.
        let _ = self.tls.write_all(bytes).and_then(|()| self.tls.flush());
    }

    /// `GET /` on stream `id`: HPACK :method GET, :scheme https, :path /, :authority localhost.
    fn get(&mut self, id: u32) {
        let mut block = vec![0x82, 0x87, 0x84, 0x41, 9];
        block.extend_from_slice(b"localhost");
        self.send(&frame(HEADERS, 0x4 | END_STREAM, id, &block));
    }

    /// The frames that arrive within `wait`, answering the server's SETTINGS and PINGs as a
    /// client must.
    fn read_for(&mut self, wait: Duration) -> Vec<Frame> {
        let until = Instant::now() + wait;
        let mut frames = Vec::new();
        let mut chunk = [0u8; 4096];
        while !self.closed && Instant::now() < until {
            match self.tls.read(&mut chunk) {
                Ok(0) => self.closed = true,
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if would_block(&e) => {}
                Err(_) => self.closed = true,
            }
            while self.buf.len() >= 9 {
                let len = u32::from_be_bytes([0, self.buf[0], self.buf[1], self.buf[2]]) as usize;
                if self.buf.len() < 9 + len {
                    break;
                }
                let f = Frame {
                    kind: self.buf[3],
                    flags: self.buf[4],
                    stream: u32::from_be_bytes(self.buf[5..9].try_into().unwrap()) & 0x7fff_ffff,
                    payload: self.buf[9..9 + len].to_vec(),
                };
                self.buf.drain(..9 + len);
                if f.kind == SETTINGS && f.flags & ACK == 0 {
                    self.send(&frame(SETTINGS, ACK, 0, &[]));
                }
                if f.kind == PING && f.flags & ACK == 0 {
                    let payload = f.payload.clone();
                    self.send(&frame(PING, ACK, 0, &payload));
                }
                frames.push(f);
            }
        }
        frames
    }
}

#[test]
fn an_idle_h2_connection_pinged_often_lives_the_idle_timeout_and_ends_with_goaway() {
    let server = Server::start(&["--idle-timeout", "3", "--header-timeout", "1"]);
    let mut h2 = H2::connect(server.port);
    h2.get(1);
    let mut answered = false;
    let deadline = Instant::now() + Duration::from_secs(5);
    while !answered && Instant::now() < deadline {
        answered = h2
            .read_for(Duration::from_millis(100))
            .iter()
            .any(|f| f.kind == DATA && f.stream == 1 && f.flags & END_STREAM != 0);
    }
    assert!(answered, "no answer to GET /");
    let idle_from = Instant::now();
    // A ping every 0.5 s, twice as often as the head timeout: the connection is idle all along.
    let mut goaway = None;
    while !h2.closed && idle_from.elapsed() < Duration::from_secs(8) {
        h2.send(&frame(PING, 0, 0, b"12345678"));
        for f in h2.read_for(Duration::from_millis(500)) {
            if f.kind == GOAWAY && goaway.is_none() {
                goaway = Some(idle_from.elapsed());
            }
        }
    }
    let lived = idle_from.elapsed();
    assert!(h2.closed, "still open after {lived:?} of pings");
    assert!(
        lived >= Duration::from_millis(2500),
        "closed after {lived:?} idle, before the 3 s idle timeout"
    );
    let goaway = goaway.unwrap_or_else(|| panic!("closed after {lived:?} without a GOAWAY"));
    assert!(
        goaway >= Duration::from_millis(2500),
        "GOAWAY at {goaway:?}"
    );
    assert!(
        server.wait_for_log("idle for 3 s: closed"),
        "{}",
        server.logs()
    );
}

/// Sends one HTTP/1.1 request head on a fresh connection and returns the status line.
fn status_of(port: u16, head: &str) -> String {
    let mut tls = tls_client(port, &[b"http/1.1"]);
    tls.write_all(head.as_bytes()).unwrap();
    tls.flush().unwrap();
    let mut got = Vec::new();
    let mut chunk = [0u8; 4096];
    let deadline = Instant::now() + Duration::from_secs(5);
    while !got.windows(2).any(|w| w == b"\r\n") && Instant::now() < deadline {
        match tls.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => got.extend_from_slice(&chunk[..n]),
            Err(e) if would_block(&e) => {}
            Err(_) => break,
        }
    }
    text(&got).lines().next().unwrap_or_default().to_string()
}

#[test]
fn http11_requests_need_exactly_one_host_header() {
    let server = Server::start(&[]);
    let port = server.port;
    for (what, head, status) in [
        (
            "one Host",
            "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n",
            "HTTP/1.1 200 OK",
        ),
        (
            "no Host",
            "GET / HTTP/1.1\r\nAccept: */*\r\n\r\n",
            "HTTP/1.1 400 Bad Request",
        ),
        (
            "two Hosts",
            "GET / HTTP/1.1\r\nHost: localhost\r\nHost: example.com\r\n\r\n",
            "HTTP/1.1 400 Bad Request",
        ),
        (
            "HTTP/1.0 needs none",
            "GET / HTTP/1.0\r\n\r\n",
            "HTTP/1.0 200 OK",
        ),
    ] {
        assert_eq!(status_of(port, head), status, "{what}");
    }
}

#[test]
fn up_to_100_header_fields_are_answered_and_more_get_431_as_documented() {
    let server = Server::start(&[]);
    // hyper's limit, documented beside --max-header-bytes: the README's words are the promise.
    let readme = std::fs::read_to_string(checkout().join("README.md")).unwrap();
    assert!(
        readme.contains("more than 100 header fields"),
        "the README no longer documents the limit"
    );
    let head = |fields: usize| {
        let mut head = String::from("GET / HTTP/1.1\r\nHost: localhost\r\n");
        for i in 1..fields {
            head.push_str(&format!("X-{i:02}: value\r\n"));
        }
        head + "\r\n"
    };
    assert_eq!(status_of(server.port, &head(100)), "HTTP/1.1 200 OK");
    // The case: 101 fields in a 1.3 KB head, far below --max-header-bytes.
    let over = head(101);
    assert!(over.len() > 1300 && over.len() < 2000, "{}", over.len());
    assert_eq!(
        status_of(server.port, &over),
        "HTTP/1.1 431 Request Header Fields Too Large"
    );
}
