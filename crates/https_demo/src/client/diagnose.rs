//! From a failed request to a sentence a person can act on: which check failed, what it means,
//! and what to do next.
//!
//! reqwest wraps the cause several layers deep (reqwest, hyper-util, an `io::Error` from
//! tokio-rustls, and inside it the `rustls::Error`), so we walk the `source()` chain and look
//! for the typed errors. `io::Error::source()` skips the error it wraps (it returns the inner
//! error's own source), so each `io::Error` is opened with `get_ref()` instead.

use std::error::Error;
use std::io;
use std::time::Duration;

use rustls::{AlertDescription, CertificateError, InvalidMessage};
use rustls_pki_types::UnixTime;

use super::fetch::Target;
use crate::layout;
use crate::pki::inspect::show_time;
use crate::tls::client::TrustedCas;

/// What the client knew when the request failed.
pub struct Context<'a> {
    pub target: &'a Target,
    pub cas: Option<&'a TrustedCas>,
    pub timeout: Duration,
    /// Whether a connection (and, for https://, a verified TLS session) was up.
    pub connected: bool,
}

/// One message for the user, without the `demo_client: error:` prefix.
pub fn explain(err: &reqwest::Error, cx: &Context<'_>) -> String {
    let links = links(err);
    if let Some(tls) = find::<rustls::Error>(&links) {
        return explain_tls(tls, cx);
    }
    if err.is_dns() {
        let cause = links.last().map(|e| e.to_string()).unwrap_or_default();
        return explain_dns(&cause, cx);
    }
    if err.is_timeout() {
        return explain_timeout(cx);
    }
    explain_links(&links, cx)
}

/// The same words for an error of a connection made without reqwest (`demo_client --explain`):
/// an `io::Error` from TCP or tokio-rustls, or a `hyper::Error`.
pub fn explain_error(err: &(dyn Error + 'static), cx: &Context<'_>) -> String {
    let links = links(err);
    if let Some(tls) = find::<rustls::Error>(&links) {
        return explain_tls(tls, cx);
    }
    explain_links(&links, cx)
}

pub fn explain_dns(cause: &str, cx: &Context<'_>) -> String {
    format!(
        "cannot find the address of {} ({cause}). Check the name in the URL; the demo's server is on this \
         machine, at {}.",
        cx.target.name,
        super::fetch::DEFAULT_URL
    )
}

fn explain_links(links: &[&(dyn Error + 'static)], cx: &Context<'_>) -> String {
    let at = cx.target.authority();
    if let Some(io) = find::<io::Error>(links) {
        match io.kind() {
            io::ErrorKind::ConnectionRefused => {
                return format!(
                    "nothing is listening on {at} (connection refused). Start the server first \
                     (./start_https_server.sh), or check the port in the URL."
                );
            }
            io::ErrorKind::UnexpectedEof | io::ErrorKind::ConnectionReset
                if cx.target.tls && !cx.connected =>
            {
                return format!(
                    "the server at {at} closed the connection during the TLS handshake without saying why. \
                     It may not speak TLS on this port (check the port, or try {}), or it refused this client.",
                    with_scheme(cx.target, "http")
                );
            }
            _ => {}
        }
    }
    if let Some(hyper) = find::<hyper::Error>(links)
        && (hyper.is_parse() || hyper.is_incomplete_message())
    {
        let what = if hyper.is_parse() {
            "answered with something that is not HTTP"
        } else {
            "closed the connection without an HTTP answer"
        };
        return if cx.target.tls {
            format!(
                "the TLS connection to {at} was verified, but the server {what}. Is it an HTTPS web server?"
            )
        } else {
            format!(
                "the server at {at} {what}. If it is an HTTPS server (it then reads plain HTTP as a broken TLS \
                 message), use {}.",
                with_scheme(cx.target, "https")
            )
        };
    }
    format!(
        "could not fetch {}: {}",
        cx.target.url,
        describe_chain(links)
    )
}

pub fn explain_tls(e: &rustls::Error, cx: &Context<'_>) -> String {
    let at = cx.target.authority();
    let ca_file = cx
        .cas
        .map(|c| c.file.display().to_string())
        .unwrap_or_else(|| "the CA file".into());
    let regenerate = format!(
        "If this is the demo's server, make a fresh set with `{}` and restart the server.",
        layout::REGENERATE
    );
    match e {
        rustls::Error::InvalidCertificate(cert) => match cert {
            CertificateError::UnknownIssuer => format!(
                "the server's certificate was not issued by the CA you trust ({ca_file}). This is what a \
                 man-in-the-middle looks like. If you expected this server, trust the CA that did issue its \
                 certificate: pass that CA's certificate with --ca-file."
            ),
            CertificateError::BadSignature => format!(
                "the server's certificate names {} as its issuer, but the signature on it does not verify \
                 with the key of that CA in {ca_file}: another key signed it under the same name. This is what a \
                 forged certificate looks like. It is also what you see when `demo_pki demo` made a new CA \
                 and the server or the client still has the old set: restart the server, and pass the CA \
                 file of the set it uses with --ca-file.",
                match cx.cas {
                    Some(cas) if cas.certs.len() == 1 => cas.names(),
                    _ => "a CA you trust".into(),
                }
            ),
            CertificateError::ExpiredContext { time, not_after } => format!(
                "the server's certificate expired on {} (it is now {}), so it no longer proves who the \
                 server is. {regenerate}",
                show_unix(*not_after),
                show_unix(*time)
            ),
            CertificateError::Expired => {
                format!(
                    "the server's certificate has expired, so it no longer proves who the server is. {regenerate}"
                )
            }
            CertificateError::NotValidYetContext { time, not_before } => format!(
                "the server's certificate is not valid until {} (it is now {}). Check this computer's clock; \
                 if it is right, the certificate was made with a start date in the future. {regenerate}",
                show_unix(*not_before),
                show_unix(*time)
            ),
            CertificateError::NotValidYet => format!(
                "the server's certificate is not valid yet. Check this computer's clock. {regenerate}"
            ),
            CertificateError::NotValidForNameContext {
                expected,
                presented,
            } => name_mismatch(&expected.to_str(), presented, cx),
            CertificateError::NotValidForName => format!(
                "the server's certificate is not for {}, the name you asked for. Use a name it holds, or give \
                 the server a certificate for {}.",
                cx.target.name, cx.target.name
            ),
            CertificateError::InvalidPurpose | CertificateError::InvalidPurposeContext { .. } => {
                format!(
                    "the server's certificate is not meant for a TLS server (its extended key usage lacks \
                 serverAuth). {regenerate}"
                )
            }
            other => format!(
                "the server's certificate failed verification against {ca_file}: {other}. Do not trust this server \
                 until you know why."
            ),
        },
        rustls::Error::InvalidMessage(InvalidMessage::InvalidContentType) => format!(
            "the server at {at} answered in plain HTTP, not TLS (what came back is not a TLS record). Use {} \
             if you meant plain HTTP, or check the port.",
            with_scheme(cx.target, "http")
        ),
        rustls::Error::NoCertificatesPresented => {
            format!("the server at {at} sent no certificate, so nothing proves who it is.")
        }
        rustls::Error::AlertReceived(alert) => {
            let why = match alert {
                AlertDescription::HandshakeFailure
                | AlertDescription::ProtocolVersion
                | AlertDescription::InsufficientSecurity => {
                    " (it and this client have no TLS version or cipher suite in common)"
                }
                AlertDescription::CertificateRequired => {
                    " (it wants a client certificate, and demo_client has none)"
                }
                AlertDescription::UnrecognisedName => {
                    " (it has no certificate for the name you asked for)"
                }
                _ => "",
            };
            format!(
                "the server at {at} refused the TLS handshake: it sent the alert {alert:?}{why}."
            )
        }
        rustls::Error::PeerIncompatible(why) => format!(
            "the server at {at} and this client could not agree on how to talk ({why:?}). demo_client speaks \
             TLS 1.2 and 1.3 with modern cipher suites only."
        ),
        other => format!("the TLS handshake with {at} failed: {other}."),
    }
}

fn name_mismatch(expected: &str, presented: &[String], cx: &Context<'_>) -> String {
    let names = plain_names(presented);
    let Some(first) = names.first() else {
        return format!(
            "the server's certificate holds no names (no subjectAltName), so it does not prove it is {expected}: \
             clients no longer read the common name. Give the server a certificate for {expected} \
             (demo_pki csr --name {expected})."
        );
    };
    let mut other = cx.target.url.clone();
    let host = if first.contains(':') {
        format!("[{first}]")
    } else {
        first.to_string()
    };
    let suggestion = match other.set_host(Some(&host)) {
        Ok(()) => format!("connect by a name it holds ({other})"),
        Err(_) => "connect by a name it holds".to_string(),
    };
    format!(
        "the server's certificate is for {}, but you asked for {expected}. A certificate proves only the names \
         it holds: this could be another site's certificate, or a man-in-the-middle's. If you expected this \
         server, {suggestion}, or give the server a certificate for {expected}.",
        names.join(", ")
    )
}

pub fn explain_timeout(cx: &Context<'_>) -> String {
    let at = cx.target.authority();
    let secs = show_secs(cx.timeout);
    match (cx.connected, cx.target.tls) {
        (false, true) => format!(
            "no TLS connection to {at} within {secs}: the TCP connection or the TLS handshake did not finish. \
             A server that accepts the connection but never answers the TLS hello may not speak TLS on that \
             port (a plain-HTTP server waits like this): check the port, or try {}.",
            with_scheme(cx.target, "http")
        ),
        (false, false) => format!(
            "no connection to {at} within {secs}: the server did not accept the TCP connection. Check the host \
             and port, and that the server is running."
        ),
        (true, tls) => format!(
            "{} {at}, but the server sent no complete answer within {secs}. It may be stuck or busy: try again, \
             or allow longer with --timeout.",
            if tls {
                "connected and verified the TLS certificate of"
            } else {
                "connected to"
            }
        ),
    }
}

/// rustls gives webpki's Debug form of each name (`DnsName("a.example")`, `IpAddress(0::1)`);
/// no typed list exists, so the wrapper is taken off the text, and addresses are written the
/// usual way.
fn plain_names(presented: &[String]) -> Vec<String> {
    presented
        .iter()
        .map(|n| {
            if let Some(dns) = n
                .strip_prefix("DnsName(\"")
                .and_then(|s| s.strip_suffix("\")"))
            {
                dns.to_string()
            } else if let Some(ip) = n
                .strip_prefix("IpAddress(")
                .and_then(|s| s.strip_suffix(')'))
            {
                ip.parse::<std::net::IpAddr>()
                    .map(|ip| ip.to_string())
                    .unwrap_or_else(|_| ip.to_string())
            } else {
                n.clone()
            }
        })
        .collect()
}

/// Every error of the chain. An `io::Error` is followed into the error it wraps (which may be
/// another `io::Error`: reqwest wraps tokio-rustls' one), since its `source()` would skip it.
fn links<'a>(err: &'a (dyn Error + 'static)) -> Vec<&'a (dyn Error + 'static)> {
    let mut out = Vec::new();
    let mut next = Some(err);
    while let Some(e) = next {
        out.push(e);
        next = match e.downcast_ref::<io::Error>().and_then(|io| io.get_ref()) {
            Some(inner) => Some(inner),
            None => e.source(),
        };
    }
    out
}

fn find<'a, T: Error + 'static>(links: &[&'a (dyn Error + 'static)]) -> Option<&'a T> {
    links.iter().find_map(|e| e.downcast_ref::<T>())
}

/// The causes' texts, each once (an `io::Error` shows the text of the error it wraps). The
/// first link, reqwest's own "error sending request for url", only repeats the URL.
fn describe_chain(links: &[&(dyn Error + 'static)]) -> String {
    let mut texts: Vec<String> = Vec::new();
    for e in links.iter().skip(usize::from(links.len() > 1)) {
        let text = e.to_string();
        if !texts.iter().any(|t| t.contains(&text)) {
            texts.push(text);
        }
    }
    texts.join(": ")
}

fn show_unix(t: UnixTime) -> String {
    time::OffsetDateTime::from_unix_timestamp(t.as_secs() as i64)
        .map(show_time)
        .unwrap_or_else(|_| format!("{} seconds after 1970", t.as_secs()))
}

fn show_secs(d: Duration) -> String {
    match d.as_secs_f64() {
        1.0 => "1 second".into(),
        s => format!("{s} seconds"),
    }
}

fn with_scheme(target: &Target, scheme: &str) -> String {
    let mut url = target.url.clone();
    // The same port: the question is what speaks on it.
    match url
        .set_scheme(scheme)
        .and_then(|()| url.set_port(Some(target.port)))
    {
        Ok(()) => url.to_string(),
        Err(()) => format!("{scheme}://{}/", target.authority()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_lose_webpki_debug_wrappers() {
        let presented = [
            "DnsName(\"www.example.com\")".to_string(),
            "IpAddress(127.0.0.1)".to_string(),
            "IpAddress(0::1)".to_string(),
            "DirectoryName".to_string(),
        ];
        assert_eq!(
            plain_names(&presented),
            ["www.example.com", "127.0.0.1", "::1", "DirectoryName"]
        );
    }
}
