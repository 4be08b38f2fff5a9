//! GET /handshake: the connection that carried the page, as the server saw it, drawn as a
//! sequence diagram (inline SVG, no script) from the records the server itself sent and received
//! ([`super::facts::Seen`]). Clear messages are green, encrypted ones violet, and each says so in
//! words too.

use std::fmt::Write as _;

use super::facts::ConnectionFacts;
use crate::story::sequence::{self, Message, Side};

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
        "version": tls.map(|t| t.version.as_str()),
        "client_random": tls.and_then(|t| t.client_random()),
        "messages": tls.and_then(|t| t.wire.as_ref()).map(|w| w.messages()),
    })
}

/// The sequence diagram: the client's line on the left, the server's on the right, one arrow
/// per record (a flight packed in one record is one arrow), from the TCP accept down.
pub fn svg(messages: &[Message]) -> String {
    const W: u32 = 640;
    const ROW: u32 = 34;
    let (left, right) = (70, W - 70);
    let arrows = sequence::by_record(messages);
    let height = 60 + ROW * (arrows.len() as u32 + 1);
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {W} {height}\" role=\"img\" \
         aria-label=\"Sequence diagram of this connection\" class=\"seq\">\
         <text x=\"{left}\" y=\"20\" text-anchor=\"middle\" class=\"who\">Browser</text>\
         <text x=\"{right}\" y=\"20\" text-anchor=\"middle\" class=\"who\">This server</text>\
         <line x1=\"{left}\" y1=\"28\" x2=\"{left}\" y2=\"{height}\" class=\"life\"/>\
         <line x1=\"{right}\" y1=\"28\" x2=\"{right}\" y2=\"{height}\" class=\"life\"/>\
         <text x=\"{mid}\" y=\"50\" text-anchor=\"middle\" class=\"tcp\">TCP accept · 0.0 ms</text>",
        mid = W / 2
    );
    for (n, group) in arrows.iter().enumerate() {
        let m = &group[0];
        let names: Vec<String> = group.iter().map(|m| m.kind.name()).collect();
        let y = 50 + ROW * (n as u32 + 1);
        let (x1, x2) = match m.from {
            Side::Client => (left, right - 6),
            Side::Server => (right, left + 6),
        };
        let class = if m.clear { "clear" } else { "enc" };
        // The arrowhead points along the arrow: back 8 px from its tip.
        let back = if m.from == Side::Client {
            x2 - 8
        } else {
            x2 + 8
        };
        let head = format!("{x2},{y} {back},{} {back},{}", y - 5, y + 5);
        let _ = write!(
            s,
            "<g class=\"{class}\"><line x1=\"{x1}\" y1=\"{y}\" x2=\"{x2}\" y2=\"{y}\"/>\
             <polygon points=\"{head}\"/>\
             <text x=\"{mid}\" y=\"{ty}\" text-anchor=\"middle\">{name} · {bytes} B · {ms:.1} ms · {word}</text></g>",
            mid = W / 2,
            ty = y - 6,
            name = esc(&names.join(" + ")),
            bytes = m.bytes,
            ms = m.at_micros as f64 / 1000.0,
            word = if m.clear { "readable" } else { "encrypted" },
        );
    }
    s.push_str("</svg>");
    s
}

pub fn handshake_html(facts: &ConnectionFacts) -> String {
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
        version = esc(&tls.version),
        svg = svg(&messages),
    );
    if let Some(random) = tls.client_random() {
        let _ = writeln!(
            body,
            "<p>Your browser's client random: <code class=\"random\">{random}</code></p>"
        );
    }
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
         h1{{font-size:1.6rem}} figure{{margin:1rem 0}} a{{color:inherit}}\
         .seq{{width:100%;height:auto;font:13px system-ui,sans-serif}}\
         .seq .who{{font-weight:700;fill:var(--fg)}} .seq .tcp{{fill:var(--fg)}}\
         .seq .life{{stroke:var(--line);stroke-dasharray:4 3}}\
         .seq .clear line{{stroke:var(--clear);stroke-width:2}} .seq .clear polygon,.seq .clear text{{fill:var(--clear)}}\
         .seq .enc line{{stroke:var(--enc);stroke-width:2}} .seq .enc polygon,.seq .enc text{{fill:var(--enc)}}\
         .k-clear{{color:var(--clear);font-weight:600}} .k-enc{{color:var(--enc);font-weight:600}}\
         .random{{word-break:break-all}} .warn{{color:#c33}}\
         </style></head><body>\n{body}\n</body></html>\n"
    )
}
