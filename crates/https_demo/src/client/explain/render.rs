//! The story in plain words, for a person at a terminal. Every value comes from [`Story`].

use std::fmt::Write as _;

use super::story::*;
use crate::wire::iana::{self, ContentType, Iana};

const WIDTH: usize = 100;

use crate::story::words::{self, KeyExchange, TITLES};

pub fn render(story: &Story) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "The story of one HTTPS connection to {}, from the bytes that crossed the wire.\n",
        story.url
    );
    if !story.messages.is_empty() {
        out.push_str(&crate::story::sequence::text_diagram(&story.messages));
        out.push('\n');
    }
    let failed_at = story.failure.as_ref().map(|f| f.step);
    for step in 1..=7u8 {
        let told = match step {
            1 => story.tcp.as_ref().map(|s| tcp(s, failed_at == Some(1))),
            2 => story.client_hello.as_ref().map(client_hello),
            3 => story.server_hello.as_ref().map(server_hello),
            4 => story.certificate.as_ref().map(|c| certificate(c, story)),
            5 => story.keys.as_ref().map(|k| keys(k, story)),
            6 => story
                .exchange
                .as_ref()
                .map(|e| exchange(e, failed_at == Some(6))),
            _ => story.eavesdropper.as_ref().map(|e| eavesdropper(e, story)),
        };
        match (told, &story.failure) {
            (Some(text), Some(f)) if f.step == step => {
                out.push_str(&text);
                stop(&mut out, f);
                break;
            }
            (None, Some(f)) if f.step == step => {
                let _ = writeln!(out, "{step}. {}: FAILED.", TITLES[step as usize - 1]);
                stop(&mut out, f);
                break;
            }
            (Some(text), _) => {
                out.push_str(&text);
                out.push('\n');
            }
            (None, _) => {}
        }
    }
    out
}

fn stop(out: &mut String, f: &Failure) {
    out.push_str(&wrap(&format!("Why: {}", f.explanation), "   "));
    let after = if f.step <= 5 {
        "The story stops here: no request was sent, and the secret stayed with the server."
    } else {
        "The story stops here."
    };
    let _ = writeln!(out, "\n{after}");
}

fn tcp(t: &Tcp, failed: bool) -> String {
    let mut out = match (&t.connected_to, failed) {
        (Some(addr), _) => format!(
            "1. TCP connection: connected to {addr} in {}.\n",
            ms(t.micros)
        ),
        (None, _) => "1. TCP connection: FAILED, no address accepted it.\n".to_string(),
    };
    let mut lines = vec![format!("The name resolved to {}.", t.resolved.join(", "))];
    if !t.failed_attempts.is_empty() {
        let tried = if t.connected_to.is_some() {
            "Tried first"
        } else {
            "Tried"
        };
        lines.push(format!("{tried}: {}.", t.failed_attempts.join("; ")));
    }
    if let Some(local) = &t.local_address {
        lines.push(format!(
            "From {local}. Everything below travels on this one connection."
        ));
    }
    out.push_str(&wrap(&lines.join(" "), "   "));
    out
}

fn client_hello(c: &ClientHelloStep) -> String {
    let mut out = format!(
        "2. ClientHello: sent at {}, {} bytes, in clear. What the client offers:\n",
        ms(c.at_micros),
        c.bytes
    );
    hello_fields(&mut out, &c.hello);
    for note in words::hello_notes(&c.hello) {
        out.push_str(&wrap(&note, "   "));
    }
    out
}

fn hello_fields(out: &mut String, h: &crate::wire::hello::ClientHello) {
    let list = |v: String| if v.is_empty() { "none".to_string() } else { v };
    let shown = |v: &[_]| -> String {
        v.iter()
            .map(ToString::to_string)
            .collect::<Vec<String>>()
            .join(", ")
    };
    row(out, "TLS versions:", &list(iana::join(&h.versions)));
    row(out, "Cipher suites:", &list(iana::join(&h.cipher_suites)));
    row(out, "Key-exchange groups:", &list(iana::join(&h.groups)));
    row(out, "Key shares sent:", &list(shown(&h.key_shares)));
    row(
        out,
        "Signature algorithms:",
        &list(iana::join(&h.signature_algorithms)),
    );
    row(
        out,
        "Server name (SNI):",
        h.sni
            .as_deref()
            .unwrap_or("none (an IP address is not sent as SNI)"),
    );
    row(out, "ALPN:", &list(h.alpn.join(", ")));
    row(out, "Client random:", &h.random.to_string());
}

fn server_hello(s: &ServerHelloStep) -> String {
    let mut out = String::new();
    if let Some(r) = &s.retry {
        let _ = writeln!(
            out,
            "3. ServerHello: received at {}, {} bytes, in clear, after a HelloRetryRequest.",
            ms(s.at_micros),
            s.bytes
        );
        out.push_str(&wrap(
            &format!(
                "The server first answered with a HelloRetryRequest: none of the key shares sent was for a \
                 group it accepts, so it asked for {}. The client sent a second ClientHello ({} bytes) with \
                 the key share {}, and the server answered that one.",
                r.group
                    .map(Iana::iana_name)
                    .unwrap_or_else(|| "another group".into()),
                r.client_hello_bytes,
                r.client_hello
                    .key_shares
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            "   ",
        ));
        out.push_str("   What the server chose:\n");
    } else {
        let _ = writeln!(
            out,
            "3. ServerHello: received at {}, {} bytes, in clear. What the server chose:",
            ms(s.at_micros),
            s.bytes
        );
    }
    row(&mut out, "TLS version:", &s.hello.version.iana_name());
    row(&mut out, "Cipher suite:", &s.hello.cipher_suite.iana_name());
    let group = match (&s.group_explained, s.hello.is_tls12()) {
        (Some(g), true) => {
            format!(
                "{g} TLS 1.2 names it in the ServerKeyExchange message, not in the ServerHello."
            )
        }
        (Some(g), false) => g.clone(),
        (None, _) => "not named".into(),
    };
    row(&mut out, "Key exchange:", &group);
    row(&mut out, "Server random:", &s.hello.random.to_string());
    out
}

fn certificate(c: &CertificateStep, story: &Story) -> String {
    let mut out = String::new();
    let verdict = match c.outcome {
        Outcome::Passed => "verified",
        _ => "FAILED",
    };
    let mut how = words::certificate_on_the_wire(!c.encrypted, c.seen_in_clear_bytes);
    if c.encrypted {
        how.push_str(" Below is the chain as the client's verifier received it.");
    }
    let _ = writeln!(out, "4. Certificate: {verdict}.");
    out.push_str(&wrap(&how, "   "));
    let _ = writeln!(
        out,
        "   The server sent {} certificate{}:",
        c.chain.len(),
        if c.chain.len() == 1 { "" } else { "s" }
    );
    for (i, cert) in c.chain.iter().enumerate() {
        out.push_str(&wrap_hanging(
            &format!("{}. {}", i + 1, cert.sentence),
            "     ",
            "        ",
        ));
    }
    let _ = writeln!(
        out,
        "   The checks, in the order rustls made them, against {}:",
        story.ca_file
    );
    for check in &c.checks {
        let mark = match check.outcome {
            Outcome::Passed => "passed",
            Outcome::Failed => "FAILED",
            Outcome::NotChecked => "-",
        };
        out.push_str(&wrap_hanging(
            &format!(
                "{mark:<6} {}: {}",
                check.check.replace('_', " "),
                check.detail
            ),
            "     ",
            "            ",
        ));
    }
    if let Some(warning) = &c.strict_warning {
        out.push_str(&wrap(&format!("Warning: {warning}"), "   "));
    }
    if let Some(auth) = &c.client_auth {
        out.push_str(&client_auth(auth));
    }
    out
}

/// Mutual TLS: the server's CertificateRequest, and the client's Certificate and
/// CertificateVerify.
fn client_auth(a: &ClientAuthStep) -> String {
    let mut out = String::new();
    out.push_str(&wrap(
        &format!(
            "Then the server asked who YOU are (mutual TLS), in a CertificateRequest: it accepts \
             certificates from {}, signed with {}.",
            if a.accepted_cas.is_empty() {
                "any CA (it named none)".to_string()
            } else {
                a.accepted_cas.join(", ")
            },
            a.signature_schemes
                .iter()
                .map(|s| s.iana_name())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        "   ",
    ));
    let answer = match &a.presented {
        Some(sentence) => format!(
            "The client answered with its Certificate ({sentence}) and a CertificateVerify: a signature \
             over the handshake so far, made with the certificate's private key, which proves it holds that \
             key (the key itself never leaves the client)."
        ),
        None => {
            "The client had no certificate: it answered with an empty Certificate message and no \
                 CertificateVerify."
                .to_string()
        }
    };
    out.push_str(&wrap(&answer, "   "));
    out.push_str(&wrap(
        words::client_certificate_on_the_wire(a.in_clear),
        "   ",
    ));
    out
}

fn keys(k: &Keys, story: &Story) -> String {
    let kx = KeyExchange {
        group: k.group,
        tls12: story.is_tls12(),
        post_quantum: k.post_quantum,
        ephemeral: k.ephemeral,
    };
    let text = kx.agreed();
    let mut out = String::from("5. Keys: agreed by both sides, never sent.\n");
    out.push_str(&wrap(&text, "   "));
    out.push_str(&wrap(&kx.contrast_with_rsa_transport(), "   "));
    if let (Some(c), Some(s)) = (&story.client_hello, &story.server_hello) {
        out.push_str(&wrap(
            &kx.key_schedule(&c.hello.random.to_string(), &s.hello.random.to_string()),
            "   ",
        ));
    }
    if !k.secrets.is_empty() {
        let secrets: Vec<String> = k
            .secrets
            .iter()
            .map(|s| match s.as_str() {
                "CLIENT_RANDOM" => "CLIENT_RANDOM (the master secret)".to_string(),
                _ => s.clone(),
            })
            .collect();
        out.push_str(&wrap(
            &format!(
                "Secrets derived, by their key-log labels: {}{}.",
                secrets.join(", "),
                match (k.filed_under_client_random, k.secrets.len()) {
                    (false, _) => "",
                    (true, 1) => ", filed under this connection's client random",
                    (true, _) => ", each filed under this connection's client random",
                }
            ),
            "   ",
        ));
    }
    out
}

fn exchange(e: &Exchange, failed: bool) -> String {
    let mut out = String::new();
    let status = if e.status == 0 {
        "no answer".to_string()
    } else {
        format!("{} {}", e.status, e.reason)
    };
    let _ = writeln!(
        out,
        "6. {}: {}, {status}{} in {}.",
        TITLES[5],
        e.http_version,
        if failed { " (FAILED)" } else { "" },
        ms(e.micros)
    );
    let chosen = match &e.alpn {
        Some(alpn) => format!("{} was chosen by ALPN ({alpn}).", e.http_version),
        None => "The server chose no protocol by ALPN, so HTTP/1.1, the default.".to_string(),
    };
    // TLS's own messages (tickets, closing alerts) travel in the same records as the HTTP
    // bytes: they are counted inside each direction's total, once.
    let way = |t: &Traffic, verb: &str, own: &str| {
        let own_bytes = e.record_overhead.map_or(0, |o| t.tls_own_bytes(&o));
        let with = if own_bytes > 0 {
            format!(
                ", and {own_bytes} bytes of TLS messages of {own} (such as session tickets, or the alert that closes the connection),"
            )
        } else {
            String::new()
        };
        format!(
            "{} bytes of {}{with} {verb} as {} bytes in {} TLS record{}.",
            t.plaintext_bytes,
            e.http_version,
            t.wire_bytes,
            t.records,
            plural(t.records)
        )
    };
    let mut text = format!(
        "{chosen} Request: {} Response: {}",
        way(&e.request, "went out", "the client's own"),
        way(&e.response, "came back", "the server's own"),
    );
    if let Some(o) = e.record_overhead {
        text.push_str(&format!(
            " Each record adds {} bytes: its header and authentication tag",
            o.total()
        ));
        if o.hidden_content_type > 0 {
            text.push_str(", and one byte that hides the record's real type");
        }
        if o.explicit_nonce > 0 {
            text.push_str(&format!(", and an {}-byte nonce", o.explicit_nonce));
        }
        text.push('.');
    }
    out.push_str(&wrap(&text, "   "));
    if !e.message.is_empty() && !failed {
        if crate::client::fetch::is_json(e.content_type.as_deref()) {
            let _ = writeln!(out, "   The server's answer (application/json):");
            for line in e.message.lines() {
                let _ = writeln!(out, "     {line}");
            }
        } else {
            let _ = writeln!(out, "   Secret message: {}", e.message);
        }
    }
    out
}

fn eavesdropper(e: &Eavesdropper, story: &Story) -> String {
    let tls12 = story.is_tls12();
    let mut out = format!("7. {}: the envelope, not the letter.\n", TITLES[6]);
    out.push_str("   In clear:\n");
    for item in &e.in_clear {
        out.push_str(&wrap_hanging(&format!("- {item}"), "     ", "       "));
    }
    out.push_str("   Hidden:\n");
    for item in &e.hidden {
        out.push_str(&wrap_hanging(&format!("- {item}"), "     ", "       "));
    }
    let _ = writeln!(
        out,
        "   The records, as seen on the path (sizes in bytes; {} from the client, {} from the server):",
        e.bytes_from_client, e.bytes_from_server
    );
    for r in &e.records {
        let dir = match r.from {
            Side::Client => "client -> server",
            Side::Server => "server -> client",
        };
        let what = match r.content_type {
            _ if !r.clear.is_empty() => iana::join(&r.clear),
            _ if r.encrypted => "(encrypted)".to_string(),
            ContentType::ChangeCipherSpec if tls12 => {
                "(from here on, this side encrypts)".to_string()
            }
            ContentType::ChangeCipherSpec => "(a TLS 1.3 no-op, for old middleboxes)".to_string(),
            _ => String::new(),
        };
        let line = format!(
            "     {:>10}  {dir}  {:<18} {:>5}  {what}",
            format!("+{}", ms(r.at_micros)),
            r.content_type.iana_name(),
            r.bytes,
        );
        let _ = writeln!(out, "{}", line.trim_end());
    }
    if e.records_total > e.records.len() {
        let _ = writeln!(
            out,
            "     ... and {} more",
            e.records_total - e.records.len()
        );
    }
    let random = story
        .client_hello
        .as_ref()
        .map(|c| c.hello.random.to_string())
        .unwrap_or_default();
    let key_log = match &story.key_log_file {
        Some(file) => format!(
            "Key log: the secrets of this connection were written to {file} (SSLKEYLOGFILE), on lines \
             holding its client random {random}. Anyone with that file and a capture reads everything: \
             delete it when you are done. To let Wireshark decrypt a capture of this connection, give it \
             the file in:"
        ),
        None => "Key log: none was written (SSLKEYLOGFILE is not set), so a capture of this connection \
                 stays unreadable. To read one in Wireshark, run with SSLKEYLOGFILE=keys.log and give that \
                 file in:"
            .to_string(),
    };
    out.push_str(&wrap(&key_log, "   "));
    out.push_str("     Edit > Preferences > Protocols > TLS > (Pre)-Master-Secret log filename\n");
    out
}

fn row(out: &mut String, key: &str, value: &str) {
    out.push_str(&wrap_hanging(
        &format!("{key:<23}{value}"),
        "   ",
        "                          ",
    ));
}

fn ms(micros: u64) -> String {
    format!("{:.1} ms", micros as f64 / 1000.0)
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn wrap(text: &str, indent: &str) -> String {
    wrap_hanging(text, indent, indent)
}

/// Words wrapped at [`WIDTH`], the first line after `first`, the others after `rest`.
fn wrap_hanging(text: &str, first: &str, rest: &str) -> String {
    let mut out = String::new();
    let mut line = first.to_string();
    let mut empty = true;
    for word in text.split(' ') {
        if !empty && line.len() + 1 + word.len() > WIDTH {
            out.push_str(line.trim_end());
            out.push('\n');
            line = rest.to_string();
            empty = true;
        }
        if !empty {
            line.push(' ');
        }
        line.push_str(word);
        empty = false;
    }
    out.push_str(line.trim_end());
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapping_keeps_every_word_and_the_indent() {
        let text = "word ".repeat(60);
        let wrapped = wrap_hanging(text.trim(), "  ", "    ");
        assert!(wrapped.lines().all(|l| l.len() <= WIDTH));
        assert!(wrapped.starts_with("  word"));
        assert!(wrapped.lines().skip(1).all(|l| l.starts_with("    word")));
        assert_eq!(wrapped.split_whitespace().count(), 60);
    }

    /// The numbers of a real TLS 1.3 exchange with the demo's server: the response's 5 records
    /// (406 bytes) carry 134 bytes of HTTP/2 and a 184-byte record of two session tickets.
    #[test]
    fn step_6_counts_each_byte_once() {
        let overhead = crate::wire::suite::Negotiated {
            version: crate::wire::iana::ProtocolVersion::TLSv1_3,
            suite: crate::wire::iana::CipherSuite::TLS13_AES_256_GCM_SHA384,
        }
        .record_overhead();
        let e = Exchange {
            http_version: "HTTP/2".into(),
            alpn: Some("h2".into()),
            request: Traffic {
                plaintext_bytes: 126,
                wire_bytes: 214,
                records: 4,
            },
            response: Traffic {
                plaintext_bytes: 134,
                wire_bytes: 406,
                records: 5,
            },
            record_overhead: overhead,
            status: 200,
            reason: "OK".into(),
            content_type: None,
            message: "fluffy tail".into(),
            micros: 800,
        };
        let text = exchange(&e, false)
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        assert!(
            text.contains(
                "Response: 134 bytes of HTTP/2, and 162 bytes of TLS messages of the server's own"
            ),
            "{text}"
        );
        assert!(
            text.contains("came back as 406 bytes in 5 TLS records."),
            "{text}"
        );
        // 162 is inside the 406, said once; nothing is added "beyond" the records' total.
        assert_eq!(text.matches("162").count(), 1, "{text}");
        assert!(!text.contains("Beyond"), "{text}");
        // The request had no TLS message of its own: nothing to mention.
        assert!(
            text.contains("Request: 126 bytes of HTTP/2 went out as 214 bytes in 4 TLS records."),
            "{text}"
        );
        assert!(text.contains("Each record adds 22 bytes"), "{text}");
    }
}
