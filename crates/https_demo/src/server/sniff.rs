//! What arrives first on the TLS port. A TLS client starts with a handshake record (0x16); a
//! browser or curl pointed at the wrong scheme starts with an HTTP method. nginx answers the
//! latter with "400 The plain HTTP request was sent to HTTPS port"; a bare TLS alert instead
//! shows up in curl as the baffling "Received HTTP/0.9 when not allowed".

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

pub enum FirstBytes {
    Tls,
    PlainHttp,
    Garbage(u8),
    Closed,
}

/// Looks at the first byte without consuming it.
pub async fn peek(stream: &TcpStream) -> std::io::Result<FirstBytes> {
    let mut first = [0u8; 1];
    Ok(match stream.peek(&mut first).await? {
        0 => FirstBytes::Closed,
        _ if first[0] == 0x16 => FirstBytes::Tls,
        _ if first[0].is_ascii_uppercase() => FirstBytes::PlainHttp,
        _ => FirstBytes::Garbage(first[0]),
    })
}

/// Reads the plain request head, bounded in size and time.
pub async fn read_head(stream: &mut TcpStream, limit: Duration) -> String {
    let mut head = Vec::with_capacity(1024);
    let mut buf = [0u8; 1024];
    let _ = tokio::time::timeout(limit, async {
        while head.len() < 8192 && !head.windows(4).any(|w| w == b"\r\n\r\n") {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => head.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    String::from_utf8_lossy(&head).into_owned()
}

/// The first line of a request head.
pub fn request_line(head: &str) -> &str {
    head.lines().next().unwrap_or("")
}

/// Answers a plain request head read by [`read_head`] with 400 and the https:// URL to use
/// instead, and closes.
pub async fn answer_plain_http(mut stream: TcpStream, local: SocketAddr, head: &str) -> String {
    let request_line = request_line(head).to_string();
    let host = head
        .lines()
        .find_map(|l| {
            l.split_once(':')
                .filter(|(k, _)| k.eq_ignore_ascii_case("host"))
                .map(|(_, v)| v.trim().to_string())
        })
        .filter(|h| !h.is_empty() && h.chars().all(|c| c.is_ascii_graphic()))
        .unwrap_or_else(|| format!("localhost:{}", local.port()));
    let path = request_line
        .split_whitespace()
        .nth(1)
        .filter(|p| p.starts_with('/'))
        .unwrap_or("/");
    let body = format!(
        "This port speaks HTTPS, and your client sent a plain HTTP request.\n\
         Use https://{host}{path} instead (and trust the demo CA: curl --cacert ca_certificates_for_client/ca_public_key.pem).\n"
    );
    let response = format!(
        "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(response.as_bytes()).await;
    let _ = stream.shutdown().await;
    request_line
}
