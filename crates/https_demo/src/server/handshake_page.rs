//! GET /handshake: the connection that carried the page, as the server saw it, drawn as a
//! sequence diagram (inline SVG, no script) from the records the server itself sent and received
//! ([`super::facts::Seen`]). Clear messages are green, encrypted ones violet, and each says so in
//! words too.

use std::fmt::Write as _;

use super::facts::{ConnectionFacts, Offered, TlsFacts};
use crate::story::sequence::{self, Kind, Message, Side};
use crate::story::words::{self, KeyExchange, OnThePath, TITLES};
use crate::wire::hello::{ClientHello, is_grease};
use crate::wire::iana::{HandshakeType, Iana};

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The JSON: the same messages the page draws.
pub fn handshake_json(facts: &ConnectionFacts) -> serde_json::Value {
    let tls = facts.tls.as_ref();
    serde_json::json!({
        "peer": facts.peer,
        "version": tls.map(|t| t.version_name()),
        "client_random": tls.and_then(|t| t.client_random()),
        "messages": tls.and_then(|t| t.wire.as_ref()).map(|w| w.messages()),
    })
}

/// The sequence diagram: the client's line on the left, the server's on the right, one arrow
/// per record (a flight packed in one record is one arrow), from the TCP accept down. Narrow
/// (480 units) and with the words above each arrow, so that it stays legible at phone width.
pub fn svg(messages: &[Message]) -> String {
    const W: u32 = 480;
    const LINE: u32 = 15;
    let (left, right) = (30, W - 30);
    let mid = W / 2;
    let arrows = sequence::by_record(messages);
    let mut rows = String::new();
    let mut y = 58;
    for group in &arrows {
        let m = &group[0];
        let names: Vec<String> = group.iter().map(|m| m.kind.name()).collect();
        // Two names a line: "EncryptedExtensions + Certificate +" fits the width.
        let mut lines: Vec<String> = names.chunks(2).map(|pair| esc(&pair.join(" + "))).collect();
        let last = lines.len() - 1;
        for line in &mut lines[..last] {
            line.push_str(" +");
        }
        lines.push(format!(
            "{} B · {:.1} ms · {}",
            m.bytes,
            m.at_micros as f64 / 1000.0,
            if m.clear { "readable" } else { "encrypted" }
        ));
        let class = if m.clear { "clear" } else { "enc" };
        let _ = write!(rows, "<g class=\"{class}\">");
        for (k, line) in lines.iter().enumerate() {
            let bold = if k + 1 < lines.len() {
                " class=\"name\""
            } else {
                ""
            };
            let _ = write!(
                rows,
                "<text x=\"{mid}\" y=\"{}\" text-anchor=\"middle\"{bold}>{line}</text>",
                y + LINE * k as u32
            );
        }
        let ay = y + LINE * (lines.len() as u32 - 1) + 6;
        let (x1, x2) = match m.from {
            Side::Client => (left, right - 1),
            Side::Server => (right, left + 1),
        };
        // The arrowhead points along the arrow: back 8 units from its tip.
        let back = if m.from == Side::Client {
            x2 - 8
        } else {
            x2 + 8
        };
        let _ = write!(
            rows,
            "<line x1=\"{x1}\" y1=\"{ay}\" x2=\"{x2}\" y2=\"{ay}\"/>\
             <polygon points=\"{x2},{ay} {back},{} {back},{}\"/></g>",
            ay - 5,
            ay + 5
        );
        y = ay + 22;
    }
    let height = y;
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {W} {height}\" role=\"img\" \
         aria-label=\"Sequence diagram of this connection\" class=\"seq\">\
         <text x=\"{left}\" y=\"16\" text-anchor=\"start\" class=\"who\">Browser</text>\
         <text x=\"{right}\" y=\"16\" text-anchor=\"end\" class=\"who\">This server</text>\
         <line x1=\"{left}\" y1=\"24\" x2=\"{left}\" y2=\"{height}\" class=\"life\"/>\
         <line x1=\"{right}\" y1=\"24\" x2=\"{right}\" y2=\"{height}\" class=\"life\"/>\
         <text x=\"{mid}\" y=\"38\" text-anchor=\"middle\" class=\"tcp\">TCP accept · 0.0 ms</text>\
         {rows}</svg>"
    )
}

pub fn handshake_html(facts: &ConnectionFacts, server_certificate: Option<&str>) -> String {
    let mut body = String::from("<h1>Your handshake, as this server saw it</h1>\n");
    let Some(tls) = &facts.tls else {
        body.push_str(
            "<p class=\"warn\">This is plain HTTP: there was no handshake, and every byte crossed \
             the network readable.</p>",
        );
        return page(&body);
    };
    let messages = tls.wire.as_ref().map(|w| w.messages()).unwrap_or_default();
    let _ = write!(
        body,
        "<p>Every arrow is one TLS record this server sent or received on the connection that \
         carried this page ({version}), with its size and its time since the server accepted \
         the TCP connection. <span class=\"k-clear\">Green</span> ones were readable by anyone on \
         the path; <span class=\"k-enc\">violet</span> ones were encrypted. The server names its \
         own encrypted messages because it sent them, in the order TLS sends them. The response \
         that carries this page is still being written as it is drawn: reload to see it.</p>\n\
         <figure>{svg}</figure>\n",
        version = esc(&tls.version_name()),
        svg = svg(&messages),
    );
    if let Some(random) = tls.client_random() {
        let _ = writeln!(
            body,
            "<p>Your browser's client random, the name of this connection in key logs and in the \
             server's log: <code class=\"random\">{random}</code></p>"
        );
    }
    body.push_str(&steps(facts, tls, &messages, server_certificate));
    body.push_str(
        "<p><a href=\"/connection\">What your browser and this server agreed on</a> · \
         <a href=\"/\">The secret message</a></p>",
    );
    page(&body)
}

fn page(body: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>Your handshake</title><style>\
         :root{{color-scheme:light dark;--fg:#222;--bg:#fff;--clear:#17803d;--enc:#7a3fc4;--line:#999}}\
         @media (prefers-color-scheme: dark){{:root{{--fg:#ddd;--bg:#161616;--clear:#4cc27a;--enc:#b890f0;--line:#666}}}}\
         body{{font:16px/1.5 system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem;color:var(--fg);background:var(--bg)}}\
         h1{{font-size:1.6rem}} p,li{{overflow-wrap:anywhere}} figure{{margin:1rem 0}} a{{color:inherit}}\
         .seq{{width:100%;max-width:40rem;height:auto;font:13px system-ui,sans-serif}}\
         .seq .who{{font-weight:700;fill:var(--fg)}} .seq .tcp{{fill:var(--fg)}}\
         .seq .life{{stroke:var(--line);stroke-dasharray:4 3}}\
         .seq .clear line{{stroke:var(--clear);stroke-width:2}} .seq .clear polygon,.seq .clear text{{fill:var(--clear)}}\
         .seq .enc line{{stroke:var(--enc);stroke-width:2}} .seq .enc polygon,.seq .enc text{{fill:var(--enc)}}\
         .k-clear{{color:var(--clear);font-weight:600}} .k-enc{{color:var(--enc);font-weight:600}}\
         .random{{word-break:break-all}} .schedule{{overflow-wrap:anywhere}} .seq .name{{font-weight:600}} .contrast{{border-left:4px solid var(--enc);padding-left:.8rem}} h2{{font-size:1.2rem;margin-top:1.6rem}} .warn{{color:#c33}}\
         </style></head><body>\n{body}\n</body></html>\n"
    )
}

/// The first message of that name from that side.
fn find(messages: &[Message], from: Side, kind: Kind) -> Option<&Message> {
    messages.iter().find(|m| m.from == from && m.kind == kind)
}

fn at(m: &Message, all: &[Message]) -> String {
    let with: Vec<String> = all
        .iter()
        .filter(|o| o.record == m.record && o.kind != m.kind)
        .map(|o| o.kind.name())
        .collect();
    let record = if with.is_empty() {
        format!("{} bytes on the wire", m.bytes)
    } else {
        format!(
            "in one {}-byte record with {}",
            m.bytes,
            esc(&with.join(", "))
        )
    };
    format!(
        "{record} at {:.1} ms, {}",
        m.at_micros as f64 / 1000.0,
        if m.clear {
            "<span class=\"k-clear\">readable by anyone on the path</span>"
        } else {
            "<span class=\"k-enc\">encrypted</span>"
        }
    )
}

/// The seven steps, titled as `demo_client --explain` titles them, told from the server's side.
fn steps(
    facts: &ConnectionFacts,
    tls: &TlsFacts,
    messages: &[Message],
    server_certificate: Option<&str>,
) -> String {
    let mut out = String::new();
    let mut step = |n: usize, text: String| {
        let _ = write!(out, "<h2>{n}. {}</h2>\n{text}\n", TITLES[n - 1]);
    };
    step(
        1,
        format!(
            "<p>This server accepted a TCP connection from <code>{}</code>. Every arrow above travelled \
             on it; the times count from that moment.</p>",
            esc(&facts.peer.to_string())
        ),
    );
    let hello_at = find(
        messages,
        Side::Client,
        Kind::Handshake(HandshakeType::ClientHello),
    )
    .map(|m| at(m, messages))
    .unwrap_or_default();
    // Parsed once for the page: step 2 lists it, step 7 says what of it was readable.
    let parsed = tls.offered();
    let hello = match &parsed {
        Offered::Parsed(hello) => Some(hello.as_ref()),
        _ => None,
    };
    let offered = match &parsed {
        Offered::Parsed(hello) => client_hello(hello),
        Offered::TooLarge { size } => format!("<p>{}</p>", esc(&super::facts::too_large(*size))),
        Offered::Unreadable => "<p>This server could not read the ClientHello.</p>".into(),
    };
    step(
        2,
        format!("<p>Your browser spoke first: {hello_at}.</p>\n{offered}"),
    );
    let sh_at = find(
        messages,
        Side::Server,
        Kind::Handshake(HandshakeType::ServerHello),
    )
    .map(|m| at(m, messages))
    .unwrap_or_default();
    step(
        3,
        format!(
            "<p>This server answered: {sh_at}. It chose {} with <code>{}</code>, and the key exchange \
             <code>{}</code>.</p>",
            esc(&tls.version_name()),
            esc(&tls.suite_name()),
            esc(&tls.group_name())
        ),
    );
    let certificate = find(
        messages,
        Side::Server,
        Kind::Handshake(HandshakeType::Certificate),
    );
    let cert_at = certificate
        .map(|m| at(m, messages))
        .unwrap_or_else(|| "not sent on this connection (a resumed session)".into());
    let who = server_certificate
        .map(|s| format!("<p>It says: &ldquo;{}&rdquo;</p>", esc(s)))
        .unwrap_or_default();
    let tls12 = tls.wire.as_ref().is_some_and(|w| w.shape.tls12);
    let cert_bytes = certificate.filter(|m| m.clear).map(|m| m.bytes);
    let visitor = match &tls.client_certificate {
        Some(c) => format!(
            "<p>This server asked who you are too (mutual TLS), and your browser presented a \
             certificate: &ldquo;{}&rdquo;. {}</p>",
            esc(&c.sentence),
            esc(words::client_certificate_on_the_wire(tls12))
        ),
        None => String::new(),
    };
    step(
        4,
        format!(
            "<p>This server sent its certificate: {cert_at}. {}</p>\n{who}\n<p>Your browser believed it \
             because it checked the signature against a CA in its own trust store.</p>\n{visitor}",
            esc(&words::certificate_on_the_wire(tls12, cert_bytes))
        ),
    );
    let kx = KeyExchange {
        group: tls.key_exchange_group,
        tls12,
        post_quantum: tls.post_quantum,
        // rustls offers only ephemeral key exchanges.
        ephemeral: true,
    };
    let schedule = match (
        tls.client_random(),
        tls.wire.as_ref().and_then(|w| w.server_random()),
    ) {
        (Some(c), Some(s)) => format!(
            "<p class=\"schedule\">{}</p>",
            esc(&kx.key_schedule(&c, &s))
        ),
        _ => String::new(),
    };
    step(
        5,
        format!(
            "<p>{}</p>\n<div class=\"contrast\"><p>{}</p></div>\n{schedule}",
            esc(&kx.agreed()),
            esc(&kx.contrast_with_rsa_transport())
        ),
    );
    let count = |kind: Kind| messages.iter().filter(|m| m.kind == kind).count();
    step(
        6,
        format!(
            "<p>So far {} encrypted records of HTTP came from your browser and {} went back; the \
             response that carries this page is being written now. Each is encrypted and \
             authenticated with <code>{}</code>.</p>",
            count(Kind::Request),
            count(Kind::Response),
            esc(&tls.suite_name())
        ),
    );
    let peer = facts.peer.to_string();
    let (in_clear, hidden) = OnThePath {
        tls12,
        client: Some(&peer),
        server: None,
        hello,
        version: tls.version,
        suite: tls.cipher_suite,
        group: tls.key_exchange_group,
        alpn_chosen: tls.alpn.as_deref(),
        certificate: server_certificate,
        records: tls.wire.as_ref().map_or(0, |w| w.wire.records_total()),
        request: Some("GET /handshake".into()),
        response: Some("200 OK".into()),
    }
    .seen();
    let list = |items: Vec<String>| {
        items
            .iter()
            .map(|i| format!("<li>{}</li>", esc(i)))
            .collect::<String>()
    };
    step(
        7,
        format!(
            "<p>The <span class=\"k-clear\">green</span> arrows above, and:</p>\n\
             <p>In clear:</p><ul>{}</ul>\n<p>Hidden:</p><ul>{}</ul>",
            list(in_clear),
            list(hidden)
        ),
    );
    out
}

/// What the browser offered, and what a learner meets nowhere else (GREASE, the suites this
/// server never picks, the post-quantum key share, ECH), in the words `--explain` uses.
fn client_hello(hello: &ClientHello) -> String {
    let list = |items: Vec<String>| {
        if items.is_empty() {
            "none".to_string()
        } else {
            items.join(", ")
        }
    };
    let groups = list(
        hello
            .groups
            .iter()
            .filter(|g| !is_grease(u16::from(**g)))
            .map(|g| format!("<code>{}</code>", esc(&g.iana_name())))
            .collect(),
    );
    let shares = list(
        hello
            .key_shares
            .iter()
            .filter(|k| !is_grease(u16::from(k.group)))
            .map(|k| {
                format!(
                    "<code>{}</code> {} bytes",
                    esc(&k.group.iana_name()),
                    k.bytes
                )
            })
            .collect(),
    );
    let mut out = format!(
        "<ul><li>Server name (SNI): <code>{}</code>, in clear</li>\
         <li>Protocols (ALPN): {}</li><li>Key-exchange groups: {groups}</li>\
         <li>Key shares sent at once: {shares}</li></ul>\n",
        esc(hello.sni.as_deref().unwrap_or("none")),
        esc(&hello.alpn.join(", "))
    );
    for note in words::hello_notes(hello) {
        let _ = writeln!(out, "<p>{}</p>", esc(&note));
    }
    out
}
