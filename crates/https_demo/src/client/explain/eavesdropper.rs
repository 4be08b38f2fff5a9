//! Step 7: the connection as an eavesdropper on the path saw it. The record headers (type,
//! size) and the handshake messages before encryption are readable by anyone; the rest is
//! noise without the session keys.

use super::story::{Eavesdropper, SeenRecord, Side, Story};
use crate::wire::flight;
use crate::wire::iana::{ContentType, Iana};
use crate::wire::recording::{Snapshot, Way};

/// What was readable on the path, and what was not, from the recorded bytes and the story so
/// far; `path` is the URL's path, which only the encrypted request carried.
pub fn seen(story: &Story, snap: &Snapshot, path: &str) -> Eavesdropper {
    let tls12 = story.is_tls12();
    let clear_from_client = flight::clear_messages(&snap.sent, tls12);
    let clear_from_server = flight::clear_messages(&snap.received, tls12);
    let mut in_clear = Vec::new();
    let mut hidden = Vec::new();
    if let Some(tcp) = &story.tcp {
        in_clear.push(format!(
            "who talked to whom: {} and {} (IP addresses and ports), when, and how much",
            tcp.local_address.as_deref().unwrap_or("this machine"),
            tcp.connected_to.as_deref().unwrap_or("the server")
        ));
    }
    if let Some(ch) = &story.client_hello {
        in_clear.push(format!(
            "the ClientHello: the name asked for ({}), the protocols offered (ALPN {}), the versions, cipher \
             suites, groups and key shares offered, and the client random",
            ch.hello
                .sni
                .as_deref()
                .map(|s| format!("SNI {s}"))
                .unwrap_or_else(|| "no SNI: an IP address is not sent".into()),
            ch.hello.alpn.join(", ")
        ));
    }
    if let Some(sh) = &story.server_hello {
        in_clear.push(format!(
            "the ServerHello: {}, {}, {} and the server random",
            sh.hello.version.iana_name(),
            sh.hello.cipher_suite.iana_name(),
            sh.group
                .map(Iana::iana_name)
                .unwrap_or_else(|| "the key-exchange group".into())
        ));
    }
    let chosen = match story.exchange.as_ref().and_then(|e| e.alpn.as_deref()) {
        Some(alpn) => format!("the protocol the server chose (ALPN {alpn})"),
        None => "that the server chose no protocol by ALPN".into(),
    };
    let certificate = story
        .certificate
        .as_ref()
        .map(|c| {
            c.chain
                .first()
                .map(|leaf| leaf.sentence.clone())
                .unwrap_or_default()
        })
        .unwrap_or_default();
    if tls12 {
        in_clear.push(format!(
            "the certificate, because this is TLS 1.2: who the server claims to be and who vouches for it \
             (\"{certificate}\")"
        ));
        in_clear.push(format!("{chosen}, in its ServerHello"));
    } else {
        hidden.push(
            "the certificate: TLS 1.3 encrypts everything after the ServerHello, so who the server claims \
             to be and who vouches for it are hidden"
                .to_string(),
        );
        hidden.push(format!("{chosen}, in the encrypted EncryptedExtensions"));
    }
    in_clear.push(format!(
        "the type, size and time of every TLS record ({} records, below)",
        snap.records_total
    ));
    if let Some(ex) = &story.exchange {
        hidden.push(format!("the request: GET {} and its headers", path));
        hidden.push(format!(
            "the response: {} {} and its body",
            ex.status, ex.reason
        ));
    }
    hidden.push(
        "the session keys: they never crossed the wire; without them the records are noise".into(),
    );
    // TLS 1.3 labels every encrypted record application data; TLS 1.2 encrypts each
    // direction from its ChangeCipherSpec on, whatever the records' labels.
    let mut switched = [false, false];
    let records = snap
        .records
        .iter()
        .map(|r| {
            let side = usize::from(r.way == Way::Received);
            let encrypted = if tls12 {
                switched[side]
            } else {
                r.content_type == ContentType::ApplicationData
            };
            switched[side] |= r.content_type == ContentType::ChangeCipherSpec;
            (r, encrypted)
        })
        .map(|(r, encrypted)| SeenRecord {
            at_micros: r.at_micros,
            from: match r.way {
                Way::Sent => Side::Client,
                Way::Received => Side::Server,
            },
            content_type: r.content_type,
            bytes: r.bytes,
            clear: match r.way {
                Way::Sent => &clear_from_client,
                Way::Received => &clear_from_server,
            }
            .iter()
            .filter(|m| m.record_offset as u64 == r.offset)
            .map(|m| m.kind)
            .collect(),
            encrypted,
        })
        .collect();
    Eavesdropper {
        in_clear,
        hidden,
        clear_from_client,
        clear_from_server,
        records,
        records_total: snap.records_total,
        bytes_from_client: snap.sent_total,
        bytes_from_server: snap.received_total,
    }
}
