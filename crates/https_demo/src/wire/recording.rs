//! What crossed the wire: an IO wrapper that keeps the bytes each way (up to a bound), counts
//! them all, and notes where each TLS record started and when. It is what an eavesdropper on
//! the path sees, recorded from inside.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_util::io::{InspectReader, InspectWriter};

use super::iana::{ContentType, HandshakeType};

/// Which way bytes went, seen from the side that records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Way {
    Sent,
    Received,
}

/// The start of one TLS record: its 5-byte header says its type and length, in clear.
#[derive(Clone, Debug, Serialize)]
pub struct Record {
    pub way: Way,
    /// Since the recording started, when the record's first byte went out or came in.
    pub at_micros: u64,
    /// Where its header starts in that direction's bytes.
    pub offset: u64,
    /// The record's content type, as its header says (TLS 1.3 labels every encrypted record
    /// application data).
    #[serde(serialize_with = "super::iana::named")]
    pub content_type: ContentType,
    /// Header and payload.
    pub bytes: usize,
    /// For a handshake record, the type of the message it starts with (its first payload
    /// byte): readable only while the handshake is in clear.
    #[serde(skip)]
    pub first_handshake: Option<HandshakeType>,
}

/// A shared handle on the recording: the wrapper writes it, the story reads it.
#[derive(Clone, Debug)]
pub struct Wire(Arc<Mutex<Log>>);

#[derive(Debug)]
struct Log {
    started: Instant,
    keep: usize,
    max_records: usize,
    tls: bool,
    sent: Flow,
    received: Flow,
    records: Vec<Kept>,
    records_total: usize,
}

/// A [`Record`] as kept while the connection lives: 32-bit fields, since a server keeps these
/// for each of its connections (20 bytes instead of 32).
#[derive(Clone, Copy, Debug)]
struct Kept {
    way: Way,
    at_micros: u32,
    offset: u32,
    content_type: ContentType,
    bytes: u32,
    first_handshake: Option<HandshakeType>,
}

impl From<Kept> for Record {
    fn from(k: Kept) -> Record {
        Record {
            way: k.way,
            at_micros: k.at_micros.into(),
            offset: k.offset.into(),
            content_type: k.content_type,
            bytes: k.bytes as usize,
            first_handshake: k.first_handshake,
        }
    }
}

impl Flow {
    fn with_room(keep: usize) -> Flow {
        Flow {
            kept: Vec::with_capacity(keep.min(256)),
            ..Flow::default()
        }
    }
}

#[derive(Debug, Default)]
struct Flow {
    kept: Vec<u8>,
    total: u64,
    /// Header bytes seen so far of the next record, and how much of its header we have.
    header: [u8; 5],
    have: usize,
    header_at: Option<Duration>,
    /// Payload bytes still to come of the current record.
    remaining: usize,
    /// The kept handshake record whose first payload byte (its message type) is still to come.
    type_of: Option<usize>,
}

/// Everything recorded, copied out.
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    pub sent: Vec<u8>,
    pub received: Vec<u8>,
    pub sent_total: u64,
    pub received_total: u64,
    pub records: Vec<Record>,
    /// All the records seen, including those past the bound on `records`.
    pub records_total: usize,
}

impl Wire {
    /// Records TLS: keeps the first `keep` bytes each way and the first `max_records` records.
    pub fn tls(keep: usize, max_records: usize) -> Wire {
        Wire::new(keep, max_records, true)
    }

    /// Only counts bytes: for the plaintext between HTTP and TLS.
    pub fn counter() -> Wire {
        Wire::new(0, 0, false)
    }

    fn new(keep: usize, max_records: usize, tls: bool) -> Wire {
        Wire(Arc::new(Mutex::new(Log {
            started: Instant::now(),
            keep,
            max_records,
            tls,
            // A server keeps a few dozen bytes each way: room for exactly that, no more.
            sent: Flow::with_room(keep),
            received: Flow::with_room(keep),
            // Grown as records come: a connection that made one request has about ten.
            records: Vec::new(),
            records_total: 0,
        })))
    }

    pub fn wrap<IO: AsyncRead + AsyncWrite>(&self, io: IO) -> Recorded<IO> {
        let (received, sent) = (self.clone(), self.clone());
        InspectWriter::new(
            InspectReader::new(
                io,
                Box::new(move |b: &[u8]| received.note(Way::Received, b)),
            ),
            Box::new(move |b: &[u8]| sent.note(Way::Sent, b)),
        )
    }

    /// Bytes sent and received so far.
    pub fn totals(&self) -> (u64, u64) {
        let log = self.log();
        (log.sent.total, log.received.total)
    }

    pub fn snapshot(&self) -> Snapshot {
        let log = self.log();
        Snapshot {
            sent: log.sent.kept.clone(),
            received: log.received.kept.clone(),
            sent_total: log.sent.total,
            received_total: log.received.total,
            records: log.records.iter().map(|&k| k.into()).collect(),
            records_total: log.records_total,
        }
    }

    fn log(&self) -> MutexGuard<'_, Log> {
        // A panic while recording must not hide the connection's story: take the data as is.
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn note(&self, way: Way, data: &[u8]) {
        if data.is_empty() {
            return;
        }
        let mut log = self.log();
        let log = &mut *log;
        let at = log.started.elapsed();
        let flow = match way {
            Way::Sent => &mut log.sent,
            Way::Received => &mut log.received,
        };
        let room = log.keep.saturating_sub(flow.kept.len());
        flow.kept.extend_from_slice(&data[..room.min(data.len())]);
        let offset = flow.total;
        flow.total += data.len() as u64;
        if !log.tls {
            return;
        }
        // Records may be split across reads and writes, or several may share one: walk the
        // headers byte by byte through the payload lengths they announce.
        let mut at_offset = offset;
        let mut rest = data;
        while !rest.is_empty() {
            if flow.remaining > 0 {
                if let Some(i) = flow.type_of.take() {
                    log.records[i].first_handshake = Some(HandshakeType::from(rest[0]));
                }
                let skip = flow.remaining.min(rest.len());
                flow.remaining -= skip;
                rest = &rest[skip..];
                at_offset += skip as u64;
                continue;
            }
            if flow.have == 0 {
                flow.header_at = Some(at);
            }
            let take = (5 - flow.have).min(rest.len());
            flow.header[flow.have..flow.have + take].copy_from_slice(&rest[..take]);
            flow.have += take;
            rest = &rest[take..];
            at_offset += take as u64;
            if flow.have == 5 {
                let length = u16::from_be_bytes([flow.header[3], flow.header[4]]) as usize;
                flow.have = 0;
                flow.remaining = length;
                log.records_total += 1;
                if log.records.len() < log.max_records {
                    let kind = ContentType::from(flow.header[0]);
                    if kind == ContentType::Handshake && length > 0 {
                        flow.type_of = Some(log.records.len());
                    }
                    log.records.push(Kept {
                        way,
                        at_micros: u32::try_from(flow.header_at.unwrap_or(at).as_micros())
                            .unwrap_or(u32::MAX),
                        offset: u32::try_from(at_offset - 5).unwrap_or(u32::MAX),
                        content_type: ContentType::from(flow.header[0]),
                        bytes: u32::try_from(5 + length).unwrap_or(u32::MAX),
                        first_handshake: None,
                    });
                }
            }
        }
    }
}

/// Notes the bytes of one direction on the [`Wire`].
pub type Note = Box<dyn FnMut(&[u8]) + Send>;

/// An IO that reports every byte it moves to its [`Wire`]: tokio-util's inspectors, one each
/// way (a vectored write is reported buffer by buffer, as far as it was written).
pub type Recorded<IO> = InspectWriter<InspectReader<IO, Note>, Note>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_are_found_however_the_bytes_are_cut() {
        let wire = Wire::tls(8, 10);
        // A 3-byte handshake record and a 1-byte alert record, cut mid-header and mid-payload.
        let bytes = [22, 3, 3, 0, 3, 1, 2, 3, 21, 3, 3, 0, 1, 9];
        for chunk in [&bytes[..2], &bytes[2..6], &bytes[6..10], &bytes[10..]] {
            wire.note(Way::Received, chunk);
        }
        let snap = wire.snapshot();
        assert_eq!(snap.received, bytes[..8]);
        assert_eq!(snap.received_total, 14);
        let found: Vec<(ContentType, u64, usize)> = snap
            .records
            .iter()
            .map(|r| (r.content_type, r.offset, r.bytes))
            .collect();
        assert_eq!(
            found,
            [(ContentType::Handshake, 0, 8), (ContentType::Alert, 8, 6)]
        );
        // The handshake record's first payload byte came in a later read than its header.
        assert_eq!(
            snap.records[0].first_handshake,
            Some(HandshakeType::from(1))
        );
        assert_eq!(snap.records[1].first_handshake, None);
    }

    #[test]
    fn a_counter_keeps_nothing() {
        let wire = Wire::counter();
        wire.note(Way::Sent, &[22, 3, 3, 0, 0]);
        assert_eq!(wire.totals(), (5, 0));
        let snap = wire.snapshot();
        assert!(snap.sent.is_empty() && snap.records.is_empty());
    }
}
