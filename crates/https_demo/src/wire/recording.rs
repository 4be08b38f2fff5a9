//! What crossed the wire: an IO wrapper that keeps the bytes each way (up to a bound), counts
//! them all, and notes where each TLS record started and when. It is what an eavesdropper on
//! the path sees, recorded from inside.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

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

/// Kept for every connection a server holds, so every field is as small as it can be (the
/// bench's idle-connection memory row counts them): 32-bit times and offsets, and records
/// allocated as they come, a few at a time.
#[derive(Debug)]
struct Log {
    started: Instant,
    max_records: u16,
    tls: bool,
    sent: Flow,
    received: Flow,
    records: Vec<Kept>,
    records_total: u32,
}

/// A [`Record`] as kept while the connection lives: 16 bytes.
#[derive(Clone, Copy, Debug)]
struct Kept {
    at_micros: u32,
    offset: u32,
    /// The header's length field: the payload's size.
    length: u16,
    way: Way,
    content_type: ContentType,
    first_handshake: Option<HandshakeType>,
}

impl From<Kept> for Record {
    fn from(k: Kept) -> Record {
        Record {
            way: k.way,
            at_micros: k.at_micros.into(),
            offset: k.offset.into(),
            content_type: k.content_type,
            bytes: 5 + usize::from(k.length),
            first_handshake: k.first_handshake,
        }
    }
}

#[derive(Debug)]
struct Flow {
    kept: Vec<u8>,
    keep: u32,
    total: u64,
    /// Header bytes seen so far of the next record, and how many of them we have.
    header: [u8; 5],
    have: u8,
    /// When the next record's first header byte came, in microseconds since the start.
    header_at: u32,
    /// Payload bytes still to come of the current record.
    remaining: u16,
    /// The kept handshake record whose first payload byte (its message type) is still to come.
    type_of: Option<u16>,
}

impl Flow {
    fn keeping(keep: usize) -> Flow {
        Flow {
            // Room for exactly what is kept: a server keeps a few dozen bytes, or none.
            kept: Vec::with_capacity(keep.min(256)),
            keep: u32::try_from(keep).unwrap_or(u32::MAX),
            total: 0,
            header: [0; 5],
            have: 0,
            header_at: 0,
            remaining: 0,
            type_of: None,
        }
    }
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

/// How much of each direction's bytes a [`Wire`] keeps.
#[derive(Clone, Copy, Debug)]
pub struct Keep {
    pub sent: usize,
    pub received: usize,
}

impl Keep {
    pub const fn both(bytes: usize) -> Keep {
        Keep {
            sent: bytes,
            received: bytes,
        }
    }
}

impl Wire {
    /// Records TLS: keeps the first bytes each way as `keep` says, and the first `max_records`
    /// records (at most 65,535).
    pub fn tls(keep: Keep, max_records: usize) -> Wire {
        Wire::new(keep, max_records, true)
    }

    /// Only counts bytes: for the plaintext between HTTP and TLS.
    pub fn counter() -> Wire {
        Wire::new(Keep::both(0), 0, false)
    }

    fn new(keep: Keep, max_records: usize, tls: bool) -> Wire {
        Wire(Arc::new(Mutex::new(Log {
            started: Instant::now(),
            max_records: u16::try_from(max_records).unwrap_or(u16::MAX),
            tls,
            sent: Flow::keeping(keep.sent),
            received: Flow::keeping(keep.received),
            records: Vec::new(),
            records_total: 0,
        })))
    }

    /// `io`, reporting every byte it moves to this recording: tokio-util's inspectors, one each
    /// way (a vectored write is reported buffer by buffer, as far as it was written). The
    /// closures are not boxed: a server wraps every connection.
    pub fn wrap<IO: AsyncRead + AsyncWrite + Unpin + Send>(
        &self,
        io: IO,
    ) -> impl AsyncRead + AsyncWrite + Unpin + Send + use<IO> {
        let (received, sent) = (self.clone(), self.clone());
        InspectWriter::new(
            InspectReader::new(io, move |b: &[u8]| received.note(Way::Received, b)),
            move |b: &[u8]| sent.note(Way::Sent, b),
        )
    }

    /// Bytes sent and received so far.
    pub fn totals(&self) -> (u64, u64) {
        let log = self.log();
        (log.sent.total, log.received.total)
    }

    /// Every record seen so far, including those past the bound on the ones kept.
    pub fn records_total(&self) -> usize {
        self.log().records_total as usize
    }

    pub fn snapshot(&self) -> Snapshot {
        let log = self.log();
        Snapshot {
            sent: log.sent.kept.clone(),
            received: log.received.kept.clone(),
            sent_total: log.sent.total,
            received_total: log.received.total,
            records: log.records.iter().map(|&k| k.into()).collect(),
            records_total: log.records_total as usize,
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
        let at = u32::try_from(log.started.elapsed().as_micros()).unwrap_or(u32::MAX);
        let flow = match way {
            Way::Sent => &mut log.sent,
            Way::Received => &mut log.received,
        };
        let room = (flow.keep as usize).saturating_sub(flow.kept.len());
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
                    log.records[usize::from(i)].first_handshake =
                        Some(HandshakeType::from(rest[0]));
                }
                let skip = usize::from(flow.remaining).min(rest.len());
                flow.remaining -= skip as u16;
                rest = &rest[skip..];
                at_offset += skip as u64;
                continue;
            }
            if flow.have == 0 {
                flow.header_at = at;
            }
            let have = usize::from(flow.have);
            let take = (5 - have).min(rest.len());
            flow.header[have..have + take].copy_from_slice(&rest[..take]);
            flow.have += take as u8;
            rest = &rest[take..];
            at_offset += take as u64;
            if flow.have == 5 {
                let length = u16::from_be_bytes([flow.header[3], flow.header[4]]);
                flow.have = 0;
                flow.remaining = length;
                log.records_total = log.records_total.saturating_add(1);
                if log.records.len() < usize::from(log.max_records) {
                    let kind = ContentType::from(flow.header[0]);
                    if kind == ContentType::Handshake && length > 0 {
                        flow.type_of = Some(log.records.len() as u16);
                    }
                    // A quarter more at a time, not double: a connection that made one request
                    // has about ten records, and an idle one keeps its list as long as it lives.
                    let len = log.records.len();
                    if len == log.records.capacity() {
                        log.records.reserve_exact((len / 4).max(2));
                    }
                    log.records.push(Kept {
                        at_micros: flow.header_at,
                        offset: u32::try_from(at_offset - 5).unwrap_or(u32::MAX),
                        length,
                        way,
                        content_type: kind,
                        first_handshake: None,
                    });
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_are_found_however_the_bytes_are_cut() {
        let wire = Wire::tls(Keep::both(8), 10);
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

    #[test]
    fn a_kept_record_stays_small() {
        // Kept for every connection a server holds: growing it shows in the bench's memory row.
        assert_eq!(std::mem::size_of::<Kept>(), 16);
    }
}
