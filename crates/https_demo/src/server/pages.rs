//! The pages a browser sees: the secret with a link to /connection, and /connection itself,
//! which shows each visitor their own connection (like openssl s_server -www and howsmyssl) in
//! words a learner reads. One self-contained page, no JavaScript, no external assets.

use std::fmt::Write as _;

use super::facts::{self, ConnectionFacts, Offered};
use crate::wire::iana::{self as names, Iana};

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title}</title><style>\
         body{{font:16px/1.5 system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem;color:#222}}\
         h1{{font-size:1.6rem}} table{{border-collapse:collapse;width:100%}}\
         th,td{{text-align:left;vertical-align:top;padding:.35rem .5rem;border-bottom:1px solid #ddd}}\
         th{{width:14rem;font-weight:600}} code{{font-size:.9em}} .ok{{color:#176b2c}} .warn{{color:#a33}}\
         details{{margin:.5rem 0}} .secret{{font-size:2rem;font-weight:700}}\
         :root{{color-scheme:light dark}} @media (prefers-color-scheme: dark){{body{{color:#ddd;background:#161616}}\
         th,td{{border-color:#444}} .ok{{color:#4cc27a}} .warn{{color:#f07070}} a{{color:#9cf}}}}\
         </style></head><body>\n{body}\n</body></html>\n",
        title = esc(title)
    )
}

/// "Hello, alice: your certificate from <CA> says ...", when the visitor presented a certificate
/// the server verified (mutual TLS).
pub fn greeting(facts: &ConnectionFacts) -> Option<String> {
    let cert = facts.tls.as_ref()?.client_certificate.as_ref()?;
    Some(format!(
        "Hello, {}: your certificate from {} says \"{}\"",
        cert.name, cert.issuer, cert.sentence
    ))
}

pub fn secret_html(message: &str, facts: &ConnectionFacts) -> String {
    let how = match &facts.tls {
        Some(tls) => format!(
            "<p class=\"ok\">It reached you over {} with {}: nobody between us could read it.</p>",
            esc(&tls.version_name()),
            esc(&tls.suite_name())
        ),
        None => "<p class=\"warn\">It reached you over plain HTTP: anyone on the path could read it.</p>".into(),
    };
    page(
        "The secret message",
        &format!(
            "<h1>The secret message</h1>\n{}<p class=\"secret\">{}</p>\n{how}\n\
             <p><a href=\"/connection\">See what your browser and this server agreed on</a></p>\n\
             <p><a href=\"/handshake\">See your handshake, drawn from this connection</a></p>",
            greeting(facts)
                .map(|g| format!("<p class=\"ok\">{}</p>\n", esc(&g)))
                .unwrap_or_default(),
            esc(message)
        ),
    )
}

/// The secret's page with who vouched for this server added at its end: the certificate's
/// sentence, and why the browser believed it. Kept beside [`secret_html`] rather than in it, so
/// that the page's other lines stay as they are.
pub fn with_voucher(page: String, facts: &ConnectionFacts, sentence: Option<&str>) -> String {
    let (Some(_), Some(sentence)) = (&facts.tls, sentence) else {
        return page;
    };
    let vouched = format!(
        "<h2>Who vouched for this server</h2>\n<p>Its certificate says: &ldquo;{}&rdquo;</p>\n\
         <p>Your browser believed it because that CA is in its trust store: the CA's signature on the \
         certificate checked out, and the server proved in the handshake that it holds the \
         certificate's private key.</p>\n",
        esc(sentence)
    );
    match page.rfind("\n</body>") {
        Some(end) => format!("{}\n{vouched}{}", &page[..end], &page[end..]),
        None => page,
    }
}

pub fn connection_html(facts: &ConnectionFacts, server_certificate: Option<&str>) -> String {
    let mut body = String::from("<h1>Your connection</h1>\n");
    let Some(tls) = &facts.tls else {
        body.push_str(
            "<p class=\"warn\">This is <strong>plain HTTP</strong>: no TLS, no encryption, no proof of who \
             answered. Everything on this page crossed the network in clear text.</p>",
        );
        return page("Your connection", &body);
    };
    let group_words = tls
        .key_exchange_group
        .map(names::explain_group)
        .unwrap_or_default();
    let mut rows = String::new();
    let mut add = |k: &str, v: String| {
        let _ = writeln!(rows, "<tr><th>{k}</th><td>{v}</td></tr>");
    };
    add("TLS version", esc(&tls.version_name()));
    add(
        "Cipher suite",
        format!(
            "<code>{}</code>: encrypts and authenticates every byte after the handshake",
            esc(&tls.suite_name())
        ),
    );
    add(
        "Key exchange",
        format!(
            "<code>{}</code> <span class=\"{}\">{}</span><br>{}",
            esc(&tls.group_name()),
            if tls.post_quantum { "ok" } else { "warn" },
            if tls.post_quantum {
                "post-quantum"
            } else {
                "not post-quantum"
            },
            esc(&group_words)
        ),
    );
    add(
        "Application protocol (ALPN)",
        esc(tls.alpn.as_deref().unwrap_or("none (HTTP/1.1 assumed)")),
    );
    add(
        "Server name you asked for (SNI)",
        match &tls.sni {
            Some(sni) => format!(
                "<code>{}</code>, sent in clear in your ClientHello",
                esc(sni)
            ),
            None => "none (you connected by IP address, or your client sent no SNI)".into(),
        },
    );
    add(
        "Client certificate",
        match (&tls.client_certificate, tls.client_auth) {
            (Some(cert), _) => format!(
                "<span class=\"ok\">presented, and verified by this server</span> against the CA it trusts for \
                 visitors: {}",
                esc(&cert.sentence)
            ),
            (None, Some(_)) => "none presented (this server asks for one, and lets you in without: \
                 --client-auth optional; the server proved who it is, not you)"
                .into(),
            (None, None) => "none presented (this server does not ask for one; the server proved who it is, not you)".into(),
        },
    );
    if let Some(sentence) = server_certificate {
        add("The server's certificate", esc(sentence));
    }
    body.push_str("<p>What your client and this server agreed on, read from the connection that carried this page:</p>\n<table>\n");
    body.push_str(&rows);
    body.push_str("</table>\n");
    let offered = match tls.offered() {
        Offered::Parsed(offered) => Some(offered),
        Offered::TooLarge { size } => {
            let _ = writeln!(
                body,
                "<h2>What your client offered</h2>\n<p class=\"warn\">{}</p>",
                esc(&facts::too_large(size))
            );
            None
        }
        Offered::Unreadable => None,
    };
    if let Some(offered) = offered {
        body.push_str("<h2>What your client offered</h2>\n<p>From your ClientHello, the first message of the handshake, which anyone on the path can read:</p>\n<table>\n");
        fn list<T: std::fmt::Display>(items: impl IntoIterator<Item = T>) -> String {
            items
                .into_iter()
                .map(|s| format!("<code>{}</code>", esc(&s.to_string())))
                .collect::<Vec<_>>()
                .join(", ")
        }
        let _ = writeln!(
            body,
            "<tr><th>TLS versions</th><td>{}</td></tr>",
            list(offered.versions.iter().map(|x| x.iana_name()))
        );
        let _ = writeln!(
            body,
            "<tr><th>Cipher suites</th><td>{}</td></tr>",
            list(offered.cipher_suites.iter().map(|x| x.iana_name()))
        );
        let _ = writeln!(
            body,
            "<tr><th>Key-exchange groups</th><td>{}</td></tr>",
            list(offered.groups.iter().map(|x| x.iana_name()))
        );
        let _ = writeln!(
            body,
            "<tr><th>Key shares sent</th><td>{}</td></tr>",
            list(&offered.key_shares)
        );
        let _ = writeln!(
            body,
            "<tr><th>Signature algorithms</th><td>{}</td></tr>",
            list(offered.signature_algorithms.iter().map(|x| x.iana_name()))
        );
        let _ = writeln!(
            body,
            "<tr><th>Client random</th><td><code>{}</code></td></tr>",
            offered.random
        );
        body.push_str("</table>\n");
    }
    body.push_str("<p>Ask for this page with <code>Accept: application/json</code> to get the same facts as JSON.</p>");
    body.push_str(
        "\n<p><a href=\"/handshake\">See your handshake, drawn from this connection</a> · \
         <a href=\"/\">The secret message</a></p>",
    );
    page("Your connection", &body)
}
