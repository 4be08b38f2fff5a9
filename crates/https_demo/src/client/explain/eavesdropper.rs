//! Step 7: the connection as an eavesdropper on the path saw it. The record headers (type,
//! size) and the handshake messages before encryption are readable by anyone; the rest is
//! noise without the session keys.

use super::story::{Eavesdropper, SeenRecord, Side, Story};
use crate::story::words::OnThePath;
use crate::wire::flight;
use crate::wire::iana::ContentType;
use crate::wire::recording::{Snapshot, Way};

/// What was readable on the path, and what was not, from the recorded bytes and the story so
/// far; `path` is the URL's path, which only the encrypted request carried.
pub fn seen(story: &Story, snap: &Snapshot, path: &str) -> Eavesdropper {
    let tls12 = story.is_tls12();
    let clear_from_client = flight::clear_messages(&snap.sent, tls12);
    let clear_from_server = flight::clear_messages(&snap.received, tls12);
    let certificate = story
        .certificate
        .as_ref()
        .and_then(|c| c.chain.first())
        .map(|leaf| leaf.sentence.as_str());
    let (in_clear, hidden) = OnThePath {
        tls12,
        client: story.tcp.as_ref().and_then(|t| t.local_address.as_deref()),
        server: story.tcp.as_ref().and_then(|t| t.connected_to.as_deref()),
        hello: story.client_hello.as_ref().map(|c| &c.hello),
        version: story.server_hello.as_ref().map(|s| s.hello.version),
        suite: story.server_hello.as_ref().map(|s| s.hello.cipher_suite),
        group: story.server_hello.as_ref().and_then(|s| s.group),
        alpn_chosen: story.exchange.as_ref().and_then(|e| e.alpn.as_deref()),
        certificate,
        records: snap.records_total,
        request: story.exchange.as_ref().map(|_| format!("GET {path}")),
        response: story
            .exchange
            .as_ref()
            .map(|ex| format!("{} {}", ex.status, ex.reason)),
    }
    .seen();
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
