//! demo_server against bad bytes, slow clients, floods: each case of the table, with
//! real sockets on loopback, bounded in count and time.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use rustls::{ClientConnection, StreamOwned};
use rustls_pki_types::ServerName;
use support::*;

fn tls_client(port: u16, alpn: &[&[u8]]) -> StreamOwned<ClientConnection, TcpStream> {
    let config = tls_client_config(alpn);
    let name = ServerName::try_from("localhost").unwrap();
    let conn = ClientConnection::new(config, name).unwrap();
    let sock = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let mut tls = StreamOwned::new(conn, sock);
    while tls.conn.is_handshaking() {
        tls.conn.complete_io(&mut tls.sock).expect("TLS handshake");
    }
    tls
}

/// Reads until the peer closes; returns what it sent and when it closed. Gives up after `limit`.
fn until_closed(stream: &mut impl Read, started: Instant, limit: Duration) -> (Vec<u8>, Duration) {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while started.elapsed() < limit {
        match stream.read(&mut buf) {
            Ok(0) => return (got, started.elapsed()),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut => {}
            Err(_) => return (got, started.elapsed()),
        }
    }
    panic!(
        "the server kept the connection open for {limit:?}; it sent {:?}",
        text(&got)
    );
}

fn set_read_timeout(sock: &TcpStream) {
    sock.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
}

fn assert_still_serves(server: &Server) {
    let out = curl(&["--cacert", ca_file().to_str().unwrap(), &server.url("/")]);
    assert_eq!(text(&out.stdout), SECRET, "{}", text(&out.stderr));
}

#[test]
fn plain_http_on_the_tls_port_gets_a_400_that_names_the_https_url() {
    let server = Server::start(&[]);
    let out = curl(&["-i", &format!("http://127.0.0.1:{}/path", server.port)]);
    let answer = text(&out.stdout);
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(
        answer.contains(&format!(
            "Use https://127.0.0.1:{}/path instead",
            server.port
        )),
        "{answer}"
    );
    assert!(
        answer.to_lowercase().contains("connection: close"),
        "{answer}"
    );
    assert!(
        server.wait_for_log("plain HTTP sent to the HTTPS port"),
        "{}",
        server.logs()
    );
}

#[test]
fn random_bytes_and_malformed_records_are_closed_within_a_second() {
    let server = Server::start(&[]);
    // A fixed "random" sequence (xorshift), not starting with a TLS record type.
    let mut x: u32 = 0x9e3779b9;
    let noise: Vec<u8> = (0..512)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect();
    // A handshake record header whose body is not a ClientHello.
    let mut malformed = vec![0x16, 0x03, 0x01, 0x00, 0x20];
    malformed.extend_from_slice(&[0xff; 32]);
    for (what, bytes) in [("noise", &noise[..]), ("malformed record", &malformed[..])] {
        let mut sock = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
        set_read_timeout(&sock);
        let started = Instant::now();
        let _ = sock.write_all(bytes);
        let (_, after) = until_closed(&mut sock, started, Duration::from_secs(3));
        assert!(
            after < Duration::from_secs(1),
            "{what}: closed after {after:?}"
        );
    }
    assert!(
        server.wait_for_log("not TLS (first byte 0x"),
        "{}",
        server.logs()
    );
    assert!(
        server.wait_for_log("TLS handshake failed"),
        "{}",
        server.logs()
    );
    assert!(!server.logs().contains("panicked"), "{}", server.logs());
    assert_still_serves(&server);
}

#[test]
fn the_timeouts_default_to_10_10_and_30_seconds() {
    let out = run_bounded(
        std::process::Command::new(env!("CARGO_BIN_EXE_demo_server")).arg("--help"),
        Duration::from_secs(10),
    );
    let help = text(&out.stdout)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    for (option, default) in [
        ("--handshake-timeout", 10),
        ("--header-timeout", 10),
        ("--idle-timeout", 30),
    ] {
        let after = help
            .split(&format!("{option} <SECS>"))
            .nth(1)
            .unwrap_or_else(|| panic!("--help does not list {option}: {help}"));
        let shown = after.split("--").next().unwrap();
        assert!(
            shown.contains(&format!("[default: {default}]")),
            "{option} should default to {default} s: {shown}"
        );
    }
}

#[test]
fn a_silent_tcp_client_is_closed_by_the_handshake_timeout() {
    // A short timeout keeps the test fast; the defaults are checked on --help below.
    let server = Server::start(&["--handshake-timeout", "2"]);
    let mut sock = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    set_read_timeout(&sock);
    let (_, after) = until_closed(&mut sock, Instant::now(), Duration::from_secs(6));
    assert!(
        after >= Duration::from_millis(1800) && after <= Duration::from_secs(4),
        "closed after {after:?}"
    );
    assert!(
        server.wait_for_log("no TLS handshake within 2 s"),
        "{}",
        server.logs()
    );
}

#[test]
fn half_a_request_head_then_silence_is_closed_at_the_head_timeout() {
    let server = Server::start(&["--header-timeout", "2"]);
    let mut tls = tls_client(server.port, &[b"http/1.1"]);
    set_read_timeout(&tls.sock);
    let started = Instant::now();
    tls.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\n")
        .unwrap();
    tls.flush().unwrap();
    let (_, after) = until_closed(&mut tls, started, Duration::from_secs(6));
    assert!(
        after >= Duration::from_millis(1500) && after < Duration::from_secs(3),
        "closed after {after:?}"
    );
    assert!(
        server.wait_for_log("request head not complete within 2 s"),
        "{}",
        server.logs()
    );
}

#[test]
fn a_trickled_request_head_does_not_extend_the_deadline() {
    let server = Server::start(&["--header-timeout", "2"]);
    let mut tls = tls_client(server.port, &[b"http/1.1"]);
    set_read_timeout(&tls.sock);
    let started = Instant::now();
    tls.write_all(b"GET / HTTP/1.1\r\n").unwrap();
    // One header line every 0.5 s, each well inside the timeout, for up to 5 s.
    let mut closed_at = None;
    for i in 0..10 {
        std::thread::sleep(Duration::from_millis(500));
        if tls
            .write_all(format!("X-Trickle-{i}: x\r\n").as_bytes())
            .and_then(|()| tls.flush())
            .is_err()
        {
            closed_at = Some(started.elapsed());
            break;
        }
        let mut probe = [0u8; 1];
        match tls.read(&mut probe) {
            Ok(0) => {
                closed_at = Some(started.elapsed());
                break;
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            _ => {
                closed_at = Some(started.elapsed());
                break;
            }
        }
    }
    let at = closed_at.expect("the trickling client was never closed");
    assert!(at < Duration::from_secs(3), "closed after {at:?}");
}

#[test]
fn an_h2_client_that_never_sends_its_preface_is_closed_at_the_head_timeout() {
    let server = Server::start(&["--header-timeout", "2"]);
    let mut tls = tls_client(server.port, &[b"h2"]);
    assert_eq!(tls.conn.alpn_protocol(), Some(&b"h2"[..]));
    set_read_timeout(&tls.sock);
    let (_, after) = until_closed(&mut tls, Instant::now(), Duration::from_secs(6));
    assert!(after < Duration::from_secs(3), "closed after {after:?}");
}

#[test]
fn an_idle_keep_alive_connection_is_closed_at_the_idle_timeout() {
    let server = Server::start(&["--idle-timeout", "2", "--header-timeout", "10"]);
    let mut tls = tls_client(server.port, &[b"http/1.1"]);
    set_read_timeout(&tls.sock);
    tls.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .unwrap();
    tls.flush().unwrap();
    let started = Instant::now();
    let (got, after) = until_closed(&mut tls, started, Duration::from_secs(6));
    assert!(text(&got).ends_with(SECRET), "{}", text(&got));
    assert!(
        after >= Duration::from_millis(1500) && after < Duration::from_secs(3),
        "closed after {after:?}"
    );
    assert!(
        server.wait_for_log("idle for 2 s: closed"),
        "{}",
        server.logs()
    );
}

#[test]
fn a_100kb_header_line_gets_431() {
    let server = Server::start(&[]);
    let mut tls = tls_client(server.port, &[b"http/1.1"]);
    set_read_timeout(&tls.sock);
    let big = "a".repeat(100 * 1024);
    let started = Instant::now();
    let _ = tls
        .write_all(format!("GET / HTTP/1.1\r\nHost: localhost\r\nX-Big: {big}\r\n\r\n").as_bytes());
    let _ = tls.flush();
    let (got, _) = until_closed(&mut tls, started, Duration::from_secs(5));
    assert!(text(&got).starts_with("HTTP/1.1 431"), "{}", text(&got));
    assert_still_serves(&server);
}

#[test]
fn two_thousand_idle_connections_do_not_keep_a_real_request_out() {
    rlimit::increase_nofile_limit(8192).unwrap();
    let server = Server::start(&[]);
    let mut idle = Vec::with_capacity(2000);
    for _ in 0..2000 {
        idle.push(TcpStream::connect(("127.0.0.1", server.port)).unwrap());
    }
    let started = Instant::now();
    let out = curl(&[
        "--cacert",
        ca_file().to_str().unwrap(),
        "-w",
        " %{response_code}",
        &server.url("/"),
    ]);
    let took = started.elapsed();
    assert_eq!(
        text(&out.stdout),
        format!("{SECRET} 200"),
        "{}",
        text(&out.stderr)
    );
    assert!(
        took < Duration::from_secs(2),
        "the real request took {took:?}"
    );
    // The oldest idle sockets were closed to make room.
    let mut first = &idle[0];
    set_read_timeout(first);
    let (_, _) = until_closed(&mut first, Instant::now(), Duration::from_secs(5));
    drop(idle);
}

/// Reads `count` whole HTTP/1.1 responses (each sized by its Content-Length), however the
/// server split or joined them into records. Gives up after 5 s.
fn read_responses(tls: &mut impl Read, count: usize) -> Vec<String> {
    let started = Instant::now();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        if let Some(answers) = split_responses(&got, count) {
            return answers;
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "no {count} whole answers in 5 s; got {:?}",
            text(&got)
        );
        match tls.read(&mut buf) {
            Ok(0) => panic!("closed after {:?}", text(&got)),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut => {}
            Err(e) => panic!("{e} after {:?}", text(&got)),
        }
    }
}

/// `count` responses if `bytes` holds that many whole ones, and nothing more.
fn split_responses(bytes: &[u8], count: usize) -> Option<Vec<String>> {
    let mut answers = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        let head_end = rest.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
        let head = text(&rest[..head_end]).to_lowercase();
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .map(|v| v.trim().parse().expect("a numeric Content-Length"))
            .expect("the demo's answers carry a Content-Length");
        let whole = head_end + length;
        if rest.len() < whole {
            return None;
        }
        answers.push(text(&rest[..whole]));
        rest = &rest[whole..];
    }
    assert!(
        answers.len() <= count,
        "more answers than asked for: {answers:?}"
    );
    (answers.len() == count).then_some(answers)
}

#[test]
fn a_kept_alive_connection_serves_before_and_after_it_parks_and_pipelined_requests_too() {
    let server = Server::try_start(
        &[],
        &[("RUST_LOG", "info,https_demo::server::tuning::park=trace")],
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let parked = "idle HTTP/1.1 connection parked";
    let mut tls = tls_client(server.port, &[b"http/1.1"]);
    set_read_timeout(&tls.sock);
    let get = b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n";
    tls.write_all(get).unwrap();
    let first = &read_responses(&mut tls, 1)[0];
    assert!(first.starts_with("HTTP/1.1 200"), "{first}");
    // Idle long past the 10 ms after which the connection gives hyper's buffers back: the
    // server says (at trace level) that it parked.
    assert!(
        server.wait_for_log(parked),
        "never parked: {}",
        server.logs()
    );
    tls.write_all(get).unwrap();
    let second = &read_responses(&mut tls, 1)[0];
    assert!(second.starts_with("HTTP/1.1 200"), "{second}");
    assert!(second.ends_with(SECRET), "{second}");
    assert!(
        !second.to_lowercase().contains("connection: close"),
        "{second}"
    );
    // Two requests in one write: both answered, in order, on the same connection.
    let mut two = get.to_vec();
    two.extend_from_slice(b"GET /nothing-here HTTP/1.1\r\nHost: localhost\r\n\r\n");
    tls.write_all(&two).unwrap();
    let answers = read_responses(&mut tls, 2);
    assert!(answers[0].starts_with("HTTP/1.1 200"), "{answers:?}");
    assert!(answers[0].ends_with(SECRET), "{answers:?}");
    assert!(answers[1].starts_with("HTTP/1.1 404"), "{answers:?}");
    assert_still_serves(&server);
}

#[test]
fn two_hundred_aborted_handshakes_make_a_few_log_lines_that_count_them_all() {
    let server = Server::start(&[]);
    let config = tls_client_config(&[b"h2"]);
    for _ in 0..200 {
        // A real ClientHello, then the client hangs up mid-handshake.
        let name = ServerName::try_from("localhost").unwrap();
        let mut conn = ClientConnection::new(config.clone(), name).unwrap();
        let mut hello = Vec::new();
        conn.write_tls(&mut hello).unwrap();
        let mut sock = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
        sock.write_all(&hello).unwrap();
    }
    // Each aborted handshake is either logged in full or counted in a summary line.
    let count = |logs: &str| {
        let lines: Vec<&str> = logs
            .lines()
            .filter(|l| l.contains("TLS handshake failed") || l.contains("TLS handshakes failed"))
            .collect();
        let told: u64 = lines
            .iter()
            .map(|l| match l.split_once(" more TLS handshakes failed") {
                Some((before, _)) => before.rsplit(' ').next().unwrap().parse::<u64>().unwrap(),
                None => 1,
            })
            .sum();
        (lines.len(), told)
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while count(&server.logs()).1 < 200 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let logs = server.logs();
    let (lines, told) = count(&logs);
    assert_eq!(told, 200, "{logs}");
    assert!(
        lines <= 10,
        "{lines} lines for 200 aborted handshakes:\n{logs}"
    );
    assert!(logs.lines().count() <= 20, "{logs}");
    assert_still_serves(&server);
}

#[test]
fn busy_slots_and_a_connect_flood_do_not_keep_real_requests_out() {
    rlimit::increase_nofile_limit(8192).unwrap();
    let server = Server::start(&["--max-connections", "4"]);
    let ca = ca_file();
    // Every slot busy: four slow requests in flight.
    let slow: Vec<_> = (0..4)
        .map(|_| {
            let (ca, url) = (ca.clone(), server.url("/delay/6"));
            std::thread::spawn(move || curl(&["--cacert", ca.to_str().unwrap(), &url]))
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(10);
    while server.logs().matches("holding the answer").count() < 4 {
        assert!(Instant::now() < deadline, "{}", server.logs());
        std::thread::sleep(Duration::from_millis(20));
    }
    // A flood of empty connects, kept open: first 1,100 at once (more than the server keeps
    // silent sockets), then one a millisecond while the real requests come in.
    let flooded = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flood = {
        let (stop, flooded, port) = (stop.clone(), flooded.clone(), server.port);
        std::thread::spawn(move || {
            let mut held = Vec::new();
            while !stop.load(std::sync::atomic::Ordering::Relaxed) && held.len() < 4000 {
                if let Ok(s) = TcpStream::connect(("127.0.0.1", port)) {
                    held.push(s);
                    flooded.store(held.len(), std::sync::atomic::Ordering::Relaxed);
                }
                if held.len() > 1100 {
                    std::thread::sleep(Duration::from_millis(1));
                }
            }
        })
    };
    while flooded.load(std::sync::atomic::Ordering::Relaxed) < 1100 {
        assert!(Instant::now() < deadline, "the flood did not get going");
        std::thread::sleep(Duration::from_millis(10));
    }
    let mut failed = Vec::new();
    for _ in 0..10 {
        let out = curl(&[
            "--cacert",
            ca.to_str().unwrap(),
            "--max-time",
            "3",
            &server.url("/"),
        ]);
        if text(&out.stdout) != SECRET {
            failed.push(text(&out.stderr));
        }
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    flood.join().unwrap();
    assert!(
        failed.is_empty(),
        "{} of 10 real requests failed during the flood: {failed:?}\n{}",
        failed.len(),
        server.logs()
    );
    // The flood displaced its own oldest sockets.
    assert!(
        server.wait_for_log("closed before its handshake to make room"),
        "{}",
        server.logs()
    );
    for s in slow {
        let out = s.join().unwrap();
        assert_eq!(text(&out.stdout), format!("{SECRET} (after 6 s)"));
    }
}
