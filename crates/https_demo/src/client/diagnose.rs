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

use rustls::{AlertDescription, InvalidMessage};
use rustls_pki_types::CertificateDer;

use super::target::Target;
use crate::pki::inspect::CertSummary;
use crate::tls::client::CertRequestSeen;
use crate::tls::failure::{Audience, CertFailure, ClientCertFailure, Presented};
use crate::tls::trust::TrustedCas;

/// What the client knew when the request failed.
pub struct FailureContext<'a> {
    pub target: &'a Target,
    pub cas: Option<&'a TrustedCas>,
    pub timeout: Duration,
    /// Whether a connection (and, for https://, a verified TLS session) was up.
    pub connected: bool,
    /// The chain the server presented, when it is known (empty otherwise): the facts a
    /// certificate's refusal is worded with.
    pub presented: &'a [CertificateDer<'static>],
    /// Mutual TLS: the server's CertificateRequest, when it sent one.
    pub asked: Option<CertRequestSeen>,
    /// The client certificate demo_client holds (`--cert`), if any.
    pub own_cert: Option<&'a CertSummary>,
}

/// One message for the user, without the `demo_client: error:` prefix.
pub fn explain(err: &reqwest::Error, cx: &FailureContext<'_>) -> String {
    let links = links(err);
    if !err.is_timeout()
        && let Some(words) = client_cert_refusal(&links, cx)
    {
        return words;
    }
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

/// Whether rustls refused the server's certificate (rather than the connection failing).
pub fn certificate_refused(err: &reqwest::Error) -> bool {
    matches!(
        find::<rustls::Error>(&links(err)),
        Some(rustls::Error::InvalidCertificate(_))
    )
}

/// The same words for an error of a connection made without reqwest (`demo_client --explain`):
/// an `io::Error` from TCP or tokio-rustls, or a `hyper::Error`.
pub fn explain_error(err: &(dyn Error + 'static), cx: &FailureContext<'_>) -> String {
    let links = links(err);
    if let Some(words) = client_cert_refusal(&links, cx) {
        return words;
    }
    if let Some(tls) = find::<rustls::Error>(&links) {
        return explain_tls(tls, cx);
    }
    explain_links(&links, cx)
}

pub fn explain_dns(cause: &str, cx: &FailureContext<'_>) -> String {
    format!(
        "cannot find the address of {} ({cause}). Check the name in the URL; the demo's server is on this \
         machine, at {}.",
        cx.target.name,
        super::target::DEFAULT_URL
    )
}

fn explain_links(links: &[&(dyn Error + 'static)], cx: &FailureContext<'_>) -> String {
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

pub fn explain_tls(e: &rustls::Error, cx: &FailureContext<'_>) -> String {
    let at = cx.target.authority();
    if let (Some(cas), Some(failure)) = (
        cx.cas,
        cx.cas.and_then(|cas| {
            CertFailure::classify(
                e,
                &Presented {
                    chain: cx.presented,
                    name: &cx.target.name,
                    cas,
                },
            )
        }),
    ) {
        return refusal(&failure, cas, cx);
    }
    match e {
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
                "the server at {at} refused the TLS handshake: it sent the alert {}{why}.",
                alert_name(alert)
            )
        }
        rustls::Error::PeerIncompatible(why) => {
            use rustls::PeerIncompatible as P;
            let why = match why {
                P::NoCipherSuitesInCommon => "no cipher suite in common",
                P::NoKxGroupsInCommon => "no key-exchange group in common",
                P::NoSignatureSchemesInCommon => "no signature scheme in common",
                P::ServerDoesNotSupportTls12Or13 | P::SupportedVersionsExtensionRequired => {
                    "the server speaks neither TLS 1.2 nor TLS 1.3"
                }
                _ => "an extension or parameter one side requires is missing",
            };
            format!(
                "the server at {at} and this client could not agree on how to talk ({why}). demo_client speaks \
                 TLS 1.2 and 1.3 with modern cipher suites only."
            )
        }
        other => format!("the TLS handshake with {at} failed: {other}."),
    }
}

/// Mutual TLS: the server's refusal of our certificate (or of its absence), in words.
/// Only when the server asked for a certificate (its CertificateRequest was seen), and the
/// failure is not this client refusing the server's certificate.
fn client_cert_refusal(
    links: &[&(dyn Error + 'static)],
    cx: &FailureContext<'_>,
) -> Option<String> {
    cx.asked.as_ref()?;
    let tls = find::<rustls::Error>(links);
    let alert = match tls {
        Some(rustls::Error::AlertReceived(alert)) => Some(alert),
        Some(_) => return None,
        None => None,
    };
    let failure = ClientCertFailure::from_alert(
        alert,
        cx.asked.as_ref(),
        cx.own_cert,
        crate::pki::validity::now(),
    )?;
    // Titled like a refusal of the server's certificate: what failed first, then the words.
    Some(format!(
        "{}: {}",
        failure.title(),
        failure.client_words(&cx.target.authority())
    ))
}

/// The client's one-paragraph refusal of a certificate: its title, then what failed, what it
/// would mean, and what to do.
pub fn refusal(failure: &CertFailure, cas: &TrustedCas, cx: &FailureContext<'_>) -> String {
    let ca_file = cas.file.display().to_string();
    let by_a_name_it_holds = match failure {
        CertFailure::NameMismatch { holds, .. } => holds.first().and_then(|first| {
            let mut other = cx.target.url.clone();
            other
                .set_host(Some(&first.url_host()))
                .ok()
                .map(|()| other.to_string())
        }),
        _ => None,
    };
    let words = failure.words(
        "the server's certificate",
        cas,
        &Audience::Client {
            ca_file: &ca_file,
            by_a_name_it_holds,
        },
    );
    format!("{}: {}", failure.title(), words.paragraph())
}

/// An http:// URL that reached a server speaking TLS on that port ([`super::probe`] asked it):
/// the scheme is the problem, not the path. `answered` is what the server said to plain HTTP.
pub fn explain_wrong_scheme(
    cx: &FailureContext<'_>,
    answered: Option<reqwest::StatusCode>,
) -> String {
    let at = cx.target.authority();
    let what = match answered {
        Some(status) => format!("it answered {status} to the plain HTTP request"),
        None => "it closed the connection without an HTTP answer".to_string(),
    };
    format!(
        "the server at {at} speaks HTTPS (TLS) on this port, and the URL asks for plain HTTP \
         (http://): {what}. The scheme is the problem, not the path: use {}.",
        with_scheme(cx.target, "https")
    )
}

pub fn explain_timeout(cx: &FailureContext<'_>) -> String {
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

/// Every error of the chain. An `io::Error` is followed into the error it wraps (which may be
/// another `io::Error`: reqwest wraps tokio-rustls' one), since its `source()` would skip it.
pub(crate) fn links<'a>(err: &'a (dyn Error + 'static)) -> Vec<&'a (dyn Error + 'static)> {
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

/// An alert as RFC 8446 names it (`handshake_failure`), from rustls's name for it.
pub fn alert_name(alert: &AlertDescription) -> String {
    match alert.as_str() {
        // A new word starts at a capital after a small letter: UnknownCA is unknown_ca.
        Some(name) => {
            let mut out = String::new();
            let mut after_small = false;
            for c in name.chars() {
                if c.is_ascii_uppercase() && after_small {
                    out.push('_');
                }
                after_small = c.is_ascii_lowercase();
                out.push(c.to_ascii_lowercase());
            }
            out
        }
        None => format!("number {}", u8::from(*alert)),
    }
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
    fn alerts_are_named_as_the_rfc_names_them() {
        assert_eq!(
            alert_name(&AlertDescription::HandshakeFailure),
            "handshake_failure"
        );
        assert_eq!(
            alert_name(&AlertDescription::CertificateRequired),
            "certificate_required"
        );
        assert_eq!(alert_name(&AlertDescription::UnknownCA), "unknown_ca");
    }
}
