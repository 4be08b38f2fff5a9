//! The handshake messages that crossed in clear, one direction at a time, found record by record
//! in the recorded bytes: what anyone on the path could read without a key.

use serde::Serialize;

use super::hello::HRR_RANDOM;
use super::iana::{ContentType, HandshakeType, named};

/// One handshake message readable on the wire.
#[derive(Clone, Debug, Serialize)]
pub struct ClearMessage {
    /// A ServerHello that asks for another key share is a HelloRetryRequest (RFC 8446 4.1.4):
    /// it is shown as one, as rustls itself types it.
    #[serde(rename = "name", serialize_with = "named")]
    pub kind: HandshakeType,
    /// With its 4-byte handshake header.
    pub bytes: usize,
    /// Where the record holding its first byte starts: hand this slice to the hello parsers.
    #[serde(skip)]
    pub record_offset: usize,
}

/// The clear handshake messages at the start of `wire`, in order. In TLS 1.3 every encrypted
/// record is labelled application data, so each handshake record is clear text (the
/// ChangeCipherSpec records in between only humour middleboxes, RFC 8446 D.4). In TLS 1.2
/// encryption starts right after ChangeCipherSpec, and the handshake record that follows it
/// (Finished) is already encrypted: stop there.
pub fn clear_messages(wire: &[u8], tls12: bool) -> Vec<ClearMessage> {
    // The joined payloads of the clear handshake records, and where each record's part starts.
    let mut joined = Vec::new();
    let mut starts: Vec<(usize, usize)> = Vec::new();
    let mut offset = 0;
    while offset + 5 <= wire.len() {
        let kind = ContentType::from(wire[offset]);
        let len = u16::from_be_bytes([wire[offset + 3], wire[offset + 4]]) as usize;
        let end = offset + 5 + len;
        if end > wire.len() {
            break;
        }
        match kind {
            ContentType::Handshake => {
                starts.push((joined.len(), offset));
                joined.extend_from_slice(&wire[offset + 5..end]);
            }
            ContentType::ChangeCipherSpec if !tls12 => {}
            _ => break,
        }
        offset = end;
    }
    let record_of = |at: usize| {
        starts
            .iter()
            .rev()
            .find(|(from, _)| *from <= at)
            .map(|(_, record)| *record)
            .unwrap_or(0)
    };
    let mut messages = Vec::new();
    let mut at = 0;
    while at + 4 <= joined.len() {
        let kind = HandshakeType::from(joined[at]);
        let len = u32::from_be_bytes([0, joined[at + 1], joined[at + 2], joined[at + 3]]) as usize;
        let body = &joined[at + 4..joined.len().min(at + 4 + len)];
        if body.len() < len {
            break;
        }
        let kind = if kind == HandshakeType::ServerHello && body.get(2..34) == Some(&HRR_RANDOM[..])
        {
            HandshakeType::HelloRetryRequest
        } else {
            kind
        };
        messages.push(ClearMessage {
            kind,
            bytes: 4 + len,
            record_offset: record_of(at),
        });
        at += 4 + len;
    }
    messages
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(kind: u8, payload: &[u8]) -> Vec<u8> {
        let mut r = vec![kind, 3, 3];
        r.extend_from_slice(&(payload.len() as u16).to_be_bytes());
        r.extend_from_slice(payload);
        r
    }

    #[test]
    fn tls12_stops_at_change_cipher_spec_and_tls13_skips_it() {
        // ServerHello and Certificate in one record; then ChangeCipherSpec; then a handshake
        // record that is clear in TLS 1.3 and encrypted in TLS 1.2.
        let mut wire = record(22, &[2, 0, 0, 1, 0xaa, 11, 0, 0, 2, 0xbb, 0xcc]);
        wire.extend(record(20, &[1]));
        let third = wire.len();
        wire.extend(record(22, &[2, 0, 0, 0]));
        wire.extend(record(23, &[1, 2, 3]));

        let tls12: Vec<_> = clear_messages(&wire, true)
            .into_iter()
            .map(|m| (m.kind, m.bytes))
            .collect();
        assert_eq!(
            tls12,
            [
                (HandshakeType::ServerHello, 5),
                (HandshakeType::Certificate, 6)
            ]
        );
        let tls13 = clear_messages(&wire, false);
        assert_eq!(tls13.len(), 3);
        let server_hellos: Vec<usize> = tls13
            .iter()
            .filter(|m| m.kind == HandshakeType::ServerHello)
            .map(|m| m.record_offset)
            .collect();
        assert_eq!(server_hellos, [0, third]);
    }
}
