//! What the interceptor prints, one line per event, as an attacker's log would: what it stole
//! from a careless client, and which client refused its forgery and with which alert.

use std::error::Error;
use std::io;
use std::net::SocketAddr;

use hyper::http::{HeaderMap, Method, StatusCode, Uri};
use rustls::AlertDescription;

use crate::client::diagnose::alert_name;
use crate::client::fetch::{printable, truncate};

/// The request headers an attacker looks for first; the others are listed by name only.
const JUICY: [&str; 4] = [
    "authorization",
    "cookie",
    "proxy-authorization",
    "x-api-key",
];

/// `STOLEN from 127.0.0.1:PORT (h2, for localhost): GET / Authorization: ... Cookie: ...
/// -> 200 "fluffy tail"`.
pub struct Stolen<'a> {
    pub peer: SocketAddr,
    pub protocol: &'a str,
    pub name: &'a str,
    pub method: &'a Method,
    pub uri: &'a Uri,
    pub headers: &'a HeaderMap,
    pub request_body: &'a [u8],
    pub status: StatusCode,
    pub response_body: &'a [u8],
}

impl Stolen<'_> {
    pub fn line(&self) -> String {
        let path = self.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
        let mut out = format!(
            "STOLEN from {} ({}, for {}): {} {path}",
            self.peer, self.protocol, self.name, self.method
        );
        for (name, value) in self.headers {
            if JUICY.contains(&name.as_str()) {
                out.push_str(&format!(
                    " {}: {}",
                    title_case(name.as_str()),
                    printable(&String::from_utf8_lossy(value.as_bytes()))
                ));
            }
        }
        if !self.request_body.is_empty() {
            out.push_str(&format!(" body: \"{}\"", shown(self.request_body)));
        }
        out.push_str(&format!(
            " -> {} \"{}\"",
            self.status.as_u16(),
            shown(self.response_body)
        ));
        out
    }
}

/// A handshake with a client that did not end: most often the client refused the forged
/// certificate, which it says with an alert.
pub fn handshake_failed(peer: SocketAddr, err: &io::Error) -> String {
    let Some(tls) = rustls_error(err) else {
        return match err.kind() {
            io::ErrorKind::UnexpectedEof | io::ErrorKind::ConnectionReset => format!(
                "REFUSED by {peer}: the client closed the connection during the handshake, without an alert"
            ),
            _ => format!("FAILED with {peer}: the TLS handshake failed ({err})"),
        };
    };
    match tls {
        rustls::Error::AlertReceived(alert) if distrust(alert) => format!(
            "REFUSED by {peer}: the client did not trust the forged certificate (alert {})",
            alert_name(alert)
        ),
        rustls::Error::AlertReceived(alert) => format!(
            "REFUSED by {peer}: the client ended the handshake (alert {})",
            alert_name(alert)
        ),
        other => format!("FAILED with {peer}: the TLS handshake failed ({other})"),
    }
}

/// The alerts a client sends about the certificate it was shown (RFC 8446, 6.2).
fn distrust(alert: &AlertDescription) -> bool {
    matches!(
        alert,
        AlertDescription::UnknownCA
            | AlertDescription::BadCertificate
            | AlertDescription::CertificateUnknown
            | AlertDescription::UnsupportedCertificate
            | AlertDescription::CertificateExpired
            | AlertDescription::CertificateRevoked
            | AlertDescription::AccessDenied
    )
}

/// The `rustls::Error` inside tokio-rustls's `io::Error`, if there is one.
pub fn rustls_error(err: &io::Error) -> Option<&rustls::Error> {
    let mut next: Option<&(dyn Error + 'static)> = err.get_ref().map(|e| e as _);
    while let Some(e) = next {
        if let Some(tls) = e.downcast_ref::<rustls::Error>() {
            return Some(tls);
        }
        next = e.source();
    }
    None
}

fn shown(body: &[u8]) -> String {
    truncate(
        printable(String::from_utf8_lossy(body).trim_end()).as_str(),
        200,
    )
    .replace('\n', " ")
}

fn title_case(name: &str) -> String {
    name.split('-')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join("-")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_ca_alert_is_a_refusal_named_as_the_rfc_names_it() {
        let peer: SocketAddr = "127.0.0.1:4000".parse().unwrap();
        let err = io::Error::new(
            io::ErrorKind::InvalidData,
            rustls::Error::AlertReceived(AlertDescription::UnknownCA),
        );
        assert_eq!(
            handshake_failed(peer, &err),
            "REFUSED by 127.0.0.1:4000: the client did not trust the forged certificate (alert unknown_ca)"
        );
        assert_eq!(title_case("proxy-authorization"), "Proxy-Authorization");
    }
}
