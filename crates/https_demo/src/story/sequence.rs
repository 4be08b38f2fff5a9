//! The messages of one connection in order, named from the TLS records one side recorded
//! ([`crate::wire::recording`]). A clear handshake record names its message by its first byte.
//! An encrypted one cannot be read on the wire, but the side that recorded it knows the order
//! TLS sends them in: in TLS 1.3 the server's encrypted flight is EncryptedExtensions,
//! Certificate, CertificateVerify, Finished (without the middle two when a session is resumed),
//! then its session tickets; the client's is its Finished, then the request.

use serde::Serialize;

use crate::wire::iana::{ContentType, HandshakeType, Iana};
use crate::wire::recording::{Record, Way};

/// Which end sent a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    Client,
    Server,
}

impl Side {
    fn other(self) -> Side {
        match self {
            Side::Client => Side::Server,
            Side::Server => Side::Client,
        }
    }
}

/// What one message was.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Handshake(HandshakeType),
    ChangeCipherSpec,
    Alert,
    /// Application data from the client once the handshake is done.
    Request,
    /// Application data from the server once the handshake is done.
    Response,
}

impl Kind {
    pub fn name(self) -> String {
        match self {
            Kind::Handshake(t) => t.iana_name(),
            Kind::ChangeCipherSpec => "ChangeCipherSpec".into(),
            Kind::Alert => "Alert".into(),
            Kind::Request => "HTTP request".into(),
            Kind::Response => "HTTP response".into(),
        }
    }
}

impl Serialize for Kind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.name())
    }
}

/// One message of the connection. TLS packs a flight of handshake messages into one record
/// when they fit (rustls does), so several messages may share a record: the wire shows only
/// the record's size.
#[derive(Clone, Debug, Serialize)]
pub struct Message {
    #[serde(rename = "name")]
    pub kind: Kind,
    pub from: Side,
    /// Which record of the connection carried it (0 for the first): messages with the same
    /// number crossed in one record.
    pub record: usize,
    /// The size of that record on the wire: 5-byte header and payload.
    pub bytes: usize,
    /// Since the recording side accepted (server) or connected (client).
    pub at_micros: u64,
    /// Whether anyone on the path could read it without a key.
    pub clear: bool,
}

/// How the handshake went, as the recording side's rustls reports it.
#[derive(Clone, Copy, Debug)]
pub struct Shape {
    pub tls12: bool,
    /// A resumed session sends no Certificate (nor CertificateVerify, nor key exchange).
    pub resumed: bool,
}

/// The server's encrypted TLS 1.3 flight, in the order RFC 8446 (section 2) sends it.
fn server_flight_13(resumed: bool) -> &'static [HandshakeType] {
    if resumed {
        &[HandshakeType::EncryptedExtensions, HandshakeType::Finished]
    } else {
        &[
            HandshakeType::EncryptedExtensions,
            HandshakeType::Certificate,
            HandshakeType::CertificateVerify,
            HandshakeType::Finished,
        ]
    }
}

/// The server's clear TLS 1.2 flight that starts with ServerHello (RFC 5246 7.3; rustls offers
/// only ECDHE suites, so there is always a ServerKeyExchange).
fn server_flight_12(resumed: bool) -> &'static [HandshakeType] {
    if resumed {
        &[HandshakeType::ServerHello]
    } else {
        &[
            HandshakeType::ServerHello,
            HandshakeType::Certificate,
            HandshakeType::ServerKeyExchange,
            HandshakeType::ServerHelloDone,
        ]
    }
}

/// How the recording side tells the server's TLS 1.3 session tickets from its response: both
/// are encrypted records that follow its Finished.
#[derive(Clone, Copy, Debug)]
pub enum Tickets {
    /// The server: how many bytes it had sent when its handshake finished. rustls sends the
    /// tickets as it reads the client's Finished, so they went out before that.
    SentBefore(u64),
    /// The client: how many tickets rustls stored. rustls's server packs them in the one record
    /// that follows its flight.
    Received(usize),
}

/// Names each record `me` recorded.
pub fn messages(records: &[Record], me: Side, shape: Shape, tickets: Tickets) -> Vec<Message> {
    let mut out = Vec::with_capacity(records.len() + 4);
    // Per side: encrypted yet (TLS 1.2: after its ChangeCipherSpec), and how many encrypted
    // records it has sent.
    let mut encrypted = [false, false];
    let mut sealed = [0usize, 0usize];
    let mut server_hello_seen = false;
    for (index, r) in records.iter().enumerate() {
        let from = if r.way == Way::Sent { me } else { me.other() };
        let i = from as usize;
        let one = |k: Kind| vec![k];
        let hs = |ts: &[HandshakeType]| ts.iter().map(|t| Kind::Handshake(*t)).collect::<Vec<_>>();
        let (kinds, clear) = match r.content_type {
            ContentType::ChangeCipherSpec => {
                if !shape.tls12 {
                    // TLS 1.3 sends it only to humour middleboxes (RFC 8446 D.4): it means nothing.
                    continue;
                }
                encrypted[i] = true;
                (one(Kind::ChangeCipherSpec), true)
            }
            ContentType::Alert => (one(Kind::Alert), !encrypted[i]),
            // TLS 1.2: the one handshake message after ChangeCipherSpec is Finished.
            ContentType::Handshake if encrypted[i] => {
                (one(Kind::Handshake(HandshakeType::Finished)), false)
            }
            ContentType::Handshake => {
                let t = r.first_handshake.unwrap_or(HandshakeType::from(0));
                if t == HandshakeType::ServerHello {
                    server_hello_seen = true;
                }
                if t == HandshakeType::ServerHello && shape.tls12 {
                    (hs(server_flight_12(shape.resumed)), true)
                } else {
                    (one(Kind::Handshake(t)), true)
                }
            }
            ContentType::ApplicationData if !shape.tls12 && server_hello_seen => {
                let n = sealed[i];
                sealed[i] += 1;
                let kinds = match from {
                    Side::Server if n == 0 => hs(server_flight_13(shape.resumed)),
                    Side::Server
                        if match tickets {
                            Tickets::SentBefore(end) => r.offset < end,
                            Tickets::Received(count) => n == 1 && count > 0,
                        } =>
                    {
                        one(Kind::Handshake(HandshakeType::NewSessionTicket))
                    }
                    Side::Server => one(Kind::Response),
                    Side::Client if n == 0 => one(Kind::Handshake(HandshakeType::Finished)),
                    Side::Client => one(Kind::Request),
                };
                (kinds, false)
            }
            _ => (
                one(match from {
                    Side::Client => Kind::Request,
                    Side::Server => Kind::Response,
                }),
                false,
            ),
        };
        out.extend(kinds.into_iter().map(|kind| Message {
            kind,
            from,
            record: index,
            bytes: r.bytes,
            at_micros: r.at_micros,
            clear,
        }));
    }
    out
}

/// The messages grouped by the record that carried them: one arrow each in a diagram.
pub fn by_record(messages: &[Message]) -> Vec<&[Message]> {
    messages.chunk_by(|a, b| a.record == b.record).collect()
}

/// The diagram in text, for a terminal: CLIENT on the left, SERVER on the right, one arrow per
/// message, with its size, its time and whether the path could read it.
pub fn text_diagram(messages: &[Message]) -> String {
    const WIDTH: usize = 44;
    let mut s = format!(
        "  {:<10}{:^width$}{:>10}\n",
        "CLIENT",
        "",
        "SERVER",
        width = WIDTH - 8
    );
    for group in by_record(messages) {
        let m = &group[0];
        let label = format!(
            "{} {} B{}",
            m.kind.name(),
            m.bytes,
            if m.clear { "" } else { " (encrypted)" }
        );
        let arrow = match m.from {
            Side::Client => format!("{:-<width$}>", format!("-- {label} "), width = WIDTH - 1),
            Side::Server => format!("<{:-<width$}", format!("-- {label} "), width = WIDTH - 1),
        };
        s.push_str(&format!(
            "  |{arrow}|  {:>7.1} ms\n",
            m.at_micros as f64 / 1000.0
        ));
        // A flight packed in one record: its other messages, under the arrow that carried them.
        for more in &group[1..] {
            let name = format!("   + {}", more.kind.name());
            s.push_str(&format!("  |{name:<WIDTH$}|\n"));
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(way: Way, content: u8, first: Option<u8>, offset: u64) -> Record {
        Record {
            way,
            at_micros: 0,
            offset,
            content_type: ContentType::from(content),
            bytes: 100,
            first_handshake: first.map(HandshakeType::from),
        }
    }

    fn names(m: &[Message]) -> Vec<String> {
        m.iter().map(|m| m.kind.name()).collect()
    }

    #[test]
    fn a_tls13_server_names_its_encrypted_flight_and_tickets() {
        use Way::*;
        let records = [
            rec(Received, 22, Some(1), 0),
            rec(Sent, 22, Some(2), 0),
            rec(Sent, 20, None, 100),
            rec(Sent, 23, None, 200),
            rec(Sent, 23, None, 300),
            rec(Sent, 23, None, 400),
            rec(Sent, 23, None, 500),
            rec(Received, 20, None, 100),
            rec(Received, 23, None, 200),
            rec(Received, 23, None, 300),
            rec(Sent, 23, None, 600),
            rec(Sent, 23, None, 700),
        ];
        let shape = Shape {
            tls12: false,
            resumed: false,
        };
        let m = messages(&records, Side::Server, shape, Tickets::SentBefore(700));
        assert_eq!(
            names(&m),
            [
                "ClientHello",
                "ServerHello",
                "EncryptedExtensions",
                "Certificate",
                "CertificateVerify",
                "Finished",
                "NewSessionTicket",
                "NewSessionTicket",
                "NewSessionTicket",
                "Finished",
                "HTTP request",
                "NewSessionTicket",
                "HTTP response"
            ]
        );
        assert!(m[3].from == Side::Server && !m[3].clear && m[0].clear);
        // The first encrypted record carries the whole flight.
        assert_eq!(m[2].record, m[5].record);
    }

    #[test]
    fn in_tls12_the_certificate_is_clear_and_finished_follows_change_cipher_spec() {
        use Way::*;
        let records = [
            rec(Sent, 22, Some(1), 0),
            rec(Received, 22, Some(2), 0),
            rec(Sent, 20, None, 100),
            rec(Sent, 22, None, 200),
        ];
        let shape = Shape {
            tls12: true,
            resumed: false,
        };
        let m = messages(&records, Side::Client, shape, Tickets::Received(0));
        assert_eq!(
            names(&m),
            [
                "ClientHello",
                "ServerHello",
                "Certificate",
                "ServerKeyExchange",
                "ServerHelloDone",
                "ChangeCipherSpec",
                "Finished"
            ]
        );
        assert!(m[2].clear && !m[6].clear);
        let diagram = text_diagram(&m);
        assert!(diagram.contains("-- ClientHello 100 B"), "{diagram}");
        assert!(
            diagram.contains("<-") && diagram.contains("SERVER"),
            "{diagram}"
        );
    }
}
