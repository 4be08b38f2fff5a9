//! demo_server end to end: real process, real TLS, ephemeral loopback ports.

mod support;

use std::process::Command;
use std::time::{Duration, Instant};

use support::*;

#[test]
fn curl_trusting_the_bundled_ca_gets_the_secret_over_tls13_and_h2() {
    let server = Server::start(&[]);
    let ca = ca_file();
    let out = curl(&[
        "--cacert",
        ca.to_str().unwrap(),
        "-w",
        "\n%{http_version} %{response_code}",
        &server.url("/"),
    ]);
    assert!(out.status.success(), "curl failed: {}", text(&out.stderr));
    assert_eq!(text(&out.stdout), format!("{SECRET}\n2 200"));
    let out = curl(&[
        "--http1.1",
        "--tlsv1.3",
        "--cacert",
        ca.to_str().unwrap(),
        "-w",
        "\n%{http_version}",
        &server.url("/"),
    ]);
    assert_eq!(text(&out.stdout), format!("{SECRET}\n1.1"));
    assert!(
        server.wait_for_log("alpn=\"http/1.1\""),
        "{}",
        server.logs()
    );
    let logs = server.logs();
    assert!(
        logs.contains("version=\"TLS 1.3\"") && logs.contains("alpn=\"h2\""),
        "{logs}"
    );
    assert!(logs.contains("sni=\"localhost\""), "{logs}");
}

#[test]
fn curl_with_only_the_system_roots_refuses_the_server() {
    let server = Server::start(&[]);
    let out = curl(&[&server.url("/")]);
    // 60: "SSL certificate problem": the demo CA is in no system store.
    assert_eq!(out.status.code(), Some(60), "{}", text(&out.stderr));
    assert!(
        server.wait_for_log("TLS handshake failed"),
        "{}",
        server.logs()
    );
}

#[test]
fn tls12_is_offered_and_nothing_older() {
    let server = Server::start(&[]);
    let ca = ca_file();
    let out = curl(&[
        "--tls-max",
        "1.2",
        "-w",
        "\n%{ssl_version}",
        "--cacert",
        ca.to_str().unwrap(),
        &server.url("/"),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    // TLS 1.1 offered for real: OpenSSL 3 offers it only at security level 0. The control
    // (an s_server that allows TLS 1.1) shows that this client does speak it.
    let tls11 = |port: u16| {
        run_bounded(
            Command::new("openssl").args([
                "s_client",
                "-connect",
                &format!("127.0.0.1:{port}"),
                "-tls1_1",
                "-cipher",
                "DEFAULT@SECLEVEL=0",
            ]),
            Duration::from_secs(10),
        )
    };
    let site = repo();
    let control = Peer::openssl_server(
        &site,
        &[
            "-cert",
            "certificates/site_public_key.pem",
            "-key",
            "certificates/site_private_key.pem",
            "-pass",
            "file:secret/reminder.txt",
            "-tls1_1",
            "-cipher",
            "DEFAULT@SECLEVEL=0",
            "-www",
        ],
    );
    let out = tls11(control.port);
    assert!(
        text(&out.stdout).contains("Protocol  : TLSv1.1"),
        "the control server did not negotiate TLS 1.1: {}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let out = tls11(server.port);
    assert!(!out.status.success(), "TLS 1.1 must be refused");
    // The server said no (rustls answers a TLS 1.1-only hello with handshake_failure): the
    // refusal is its alert, not this client giving up on its own.
    assert!(
        text(&out.stderr).contains("SSL alert number"),
        "TLS 1.1 was not refused by a server alert: {}",
        text(&out.stderr)
    );
}

#[test]
fn unknown_paths_get_404_and_other_methods_405() {
    let server = Server::start(&[]);
    let ca = ca_file();
    let ca = ca.to_str().unwrap();
    let out = curl(&[
        "--cacert",
        ca,
        "-o",
        "/dev/null",
        "-w",
        "%{response_code}",
        &server.url("/nothing"),
    ]);
    assert_eq!(text(&out.stdout), "404");
    let out = curl(&[
        "--cacert",
        ca,
        "-X",
        "POST",
        "-D",
        "-",
        "-o",
        "/dev/null",
        &server.url("/"),
    ]);
    let head = text(&out.stdout).to_lowercase();
    assert!(
        head.starts_with("http/2 405") && head.contains("allow: get, head"),
        "{head}"
    );
}

#[test]
fn python_urllib_trusting_only_the_bundled_ca_gets_the_secret() {
    let server = Server::start(&[]);
    let script = format!(
        "import ssl, urllib.request\n\
         ctx = ssl.create_default_context(cafile={ca:?})\n\
         ctx.verify_flags |= ssl.VERIFY_X509_STRICT\n\
         print(urllib.request.urlopen({url:?}, context=ctx, timeout=10).read().decode(), end='')\n",
        ca = ca_file().to_str().unwrap(),
        url = server.url("/"),
    );
    let out = run_bounded(
        Command::new("python3").args(["-c", &script]),
        Duration::from_secs(20),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), SECRET);
}

#[test]
fn plain_http_mode_serves_the_same_app_in_clear() {
    let server = Server::start(&["--plain-http"]);
    let out = curl(&[&format!("http://127.0.0.1:{}/", server.port)]);
    assert_eq!(text(&out.stdout), SECRET);
    assert!(server.stdout.lock().unwrap().contains("PLAIN HTTP"));
}

#[test]
fn sigterm_lets_a_slow_request_finish_then_exits_0() {
    let mut server = Server::start(&[]);
    let ca = ca_file();
    let url = server.url("/delay/2");
    let slow = std::thread::spawn(move || curl(&["--cacert", ca.to_str().unwrap(), &url]));
    // Wait until the server is holding the request, then stop it.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !server.logs().contains("holding the answer") {
        assert!(Instant::now() < deadline, "the slow request never arrived");
        std::thread::sleep(Duration::from_millis(20));
    }
    let status = server
        .signal_and_wait("TERM", Duration::from_secs(15))
        .expect("server did not exit");
    assert!(status.success(), "exit status {status:?}");
    // The log's last line, written at exit, is not lost.
    assert!(
        server.wait_for_log("all connections closed; goodbye"),
        "{}",
        server.logs()
    );
    let out = slow.join().unwrap();
    assert!(
        out.status.success(),
        "the slow request was cut off: {}",
        text(&out.stderr)
    );
    assert_eq!(text(&out.stdout), format!("{SECRET} (after 2 s)"));
    // New connections are refused once it has stopped.
    let port = server.port;
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());
}

fn refused(args: &[&str], env: &[(&str, &str)]) -> String {
    let started = Instant::now();
    let err = Server::try_start(args, env)
        .err()
        .expect("the server started, but should have refused");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "refusal took {:?}",
        started.elapsed()
    );
    err
}

#[test]
fn refuses_to_start_with_a_wrong_passphrase() {
    let dir = tempfile::tempdir().unwrap();
    let wrong = dir.path().join("wrong.txt");
    std::fs::write(&wrong, "not the passphrase\n").unwrap();
    let err = refused(&["--passphrase-file", wrong.to_str().unwrap()], &[]);
    assert!(
        err.contains("wrong passphrase for certificates/site_private_key.pem"),
        "{err}"
    );
}

#[test]
fn refuses_to_start_without_a_passphrase_or_terminal_at_once() {
    // No --passphrase-file, no environment variable, stdin not a terminal: it must not wait.
    let out = run_bounded(
        Command::new(env!("CARGO_BIN_EXE_demo_server"))
            .current_dir(repo())
            .args(["--listen", "127.0.0.1:0"])
            .env_remove("DEMO_SERVER_PASSPHRASE"),
        Duration::from_secs(10),
    );
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("no passphrase for the site key") && err.contains("--passphrase-file"),
        "{err}"
    );
    assert!(
        err.contains("the demo key's passphrase is in secret/reminder.txt"),
        "{err}"
    );
}

#[test]
fn the_passphrase_can_come_from_the_environment() {
    let pass = std::fs::read_to_string(repo().join("secret/reminder.txt")).unwrap();
    // By hand: Server::start would pass --passphrase-file.
    let mut child = Command::new(env!("CARGO_BIN_EXE_demo_server"))
        .current_dir(repo())
        .args(["--listen", "127.0.0.1:0"])
        .env("DEMO_SERVER_PASSPHRASE", pass.trim())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut first = String::new();
    let mut reader = std::io::BufReader::new(child.stdout.take().unwrap());
    let deadline = Instant::now() + Duration::from_secs(20);
    while !first.contains("Listening on") && Instant::now() < deadline {
        first.clear();
        if std::io::BufRead::read_line(&mut reader, &mut first).unwrap() == 0 {
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(first.contains("Listening on https://127.0.0.1:"), "{first}");
}

#[test]
fn refuses_to_start_with_a_key_that_does_not_match() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("other_key.pem");
    let out = run_bounded(
        Command::new(env!("CARGO_BIN_EXE_demo_pki")).args([
            "csr",
            "--name",
            "localhost",
            "--no-passphrase",
            "--key",
            key.to_str().unwrap(),
            "--csr",
            dir.path().join("csr.pem").to_str().unwrap(),
        ]),
        Duration::from_secs(20),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let err = refused(&["--key", key.to_str().unwrap()], &[]);
    assert!(
        err.contains("does not match the certificate certificates/site_public_key.pem"),
        "{err}"
    );
}

#[test]
fn refuses_to_start_with_a_missing_file() {
    let err = refused(&["--cert", "certificates/nope.pem"], &[]);
    assert!(
        err.contains("certificates/nope.pem does not exist"),
        "{err}"
    );
}

#[test]
fn refuses_to_start_on_a_port_in_use() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let err = refused(&["--listen", &addr], &[]);
    assert!(err.contains(&format!("{addr} is already in use")), "{err}");
}

/// Two connections from one client, the second offering the first one's session: whether the
/// server let it resume.
fn second_connection_resumes(port: u16) -> bool {
    use rustls::client::ClientSessionMemoryCache;
    use rustls_pki_types::ServerName;
    use std::io::{Read, Write};
    use std::sync::Arc;

    let mut config = (*tls_client_config(&[b"http/1.1"])).clone();
    config.resumption =
        rustls::client::Resumption::store(Arc::new(ClientSessionMemoryCache::new(8)));
    let config = Arc::new(config);
    let mut kinds = Vec::new();
    for _ in 0..2 {
        let name = ServerName::try_from("localhost").unwrap();
        let conn = rustls::ClientConnection::new(config.clone(), name).unwrap();
        let sock = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        sock.set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut tls = rustls::StreamOwned::new(conn, sock);
        tls.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            .unwrap();
        // Reading the whole answer also reads the tickets the server sent after its handshake.
        let mut answer = Vec::new();
        let _ = tls.read_to_end(&mut answer);
        assert!(text(&answer).ends_with(SECRET), "{}", text(&answer));
        kinds.push(tls.conn.handshake_kind());
    }
    assert_eq!(kinds[0], Some(rustls::HandshakeKind::Full));
    kinds[1] == Some(rustls::HandshakeKind::Resumed)
}

#[test]
fn sessions_resume_unless_no_resumption_is_given() {
    let server = Server::start(&[]);
    assert!(second_connection_resumes(server.port), "{}", server.logs());
    let server = Server::start(&["--no-resumption"]);
    assert!(!second_connection_resumes(server.port), "{}", server.logs());
}
