//! The one connection whose story is told, made by hand so that its bytes can be recorded:
//! TCP, then tokio-rustls through the recording IO, then one GET with hyper over the same TLS
//! stream. reqwest would make an equivalent connection, but shows none of its bytes.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use hyper_util::rt::TokioIo;
use rustls::ClientConnection;
use rustls_pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::time::timeout_at;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use super::http::{self, Fetch};
use super::story::*;
use super::tickets::TicketCounter;
use super::{checks, eavesdropper};
use crate::client::diagnose::{self, FailureContext};
use crate::client::fetch::{MAX_BODY, Request, printable, truncate};
use crate::client::target::Target;
use crate::pki::validity;
use crate::story::sequence::{self, Shape, Side, Tickets};
use crate::tls::client::{self as trust, Observed};
use crate::tls::trust::TrustedCas;
use crate::wire::flight::{self, ClearMessage};
use crate::wire::hello;
use crate::wire::iana::{self, HandshakeType};
use crate::wire::recording::{Keep, Snapshot, Way, Wire};

/// What is kept of the bytes each way. The demo's exchange is a few kilobytes; a server that
/// sends more is still counted, only not kept.
const KEEP_BYTES: usize = 256 * 1024;
const MAX_RECORDS: usize = 1024;

/// Connects, tells what happened, and returns the story. An error is returned only when
/// nothing could be tried (a bad URL, an unreadable CA file); a failed connection is a story
/// that stops at the step that failed.
pub async fn tell(req: &Request) -> Result<Story> {
    let target = Target::parse(&req.url)?;
    if !target.tls {
        bail!(
            "--explain tells the story of a TLS connection, and {} is plain http://: there is none to tell. \
             Use https://",
            target.url
        );
    }
    let cas = req.trusted_cas()?;
    let key_log = trust::key_log_file()?;
    let asker = Arc::new(trust::ClientCertAsker::new(req.identity.as_deref()));
    let observed = trust::observed_config(&cas, key_log.is_some(), asker)?;
    let server_name = target.server_name()?;
    // aws-lc sets up its random generator on first use, which took 30 to 55 ms here: pay that
    // before the story's clock starts, so that its timings show the network and the handshake.
    let _ = observed
        .config
        .crypto_provider()
        .secure_random
        .fill(&mut [0u8; 32]);
    let mut run = Run {
        story: Story {
            url: target.url.to_string(),
            server_name: target.name.clone(),
            ca_file: cas.file.display().to_string(),
            key_log_file: key_log.as_ref().map(|p| p.display().to_string()),
            tcp: None,
            client_hello: None,
            server_hello: None,
            certificate: None,
            keys: None,
            exchange: None,
            eavesdropper: None,
            failure: None,
            messages: Vec::new(),
        },
        target,
        cas,
        observed,
        timeout: req.timeout,
        deadline: tokio::time::Instant::now() + req.timeout,
        wire: Wire::tls(Keep::both(KEEP_BYTES), MAX_RECORDS),
        handshake_end: (0, 0),
        presented: Vec::new(),
        tickets: TicketCounter::new(),
        resumed: false,
        identity: req.identity.clone(),
    };
    run.go(server_name).await;
    Ok(run.story)
}

struct Run {
    story: Story,
    target: Target,
    cas: TrustedCas,
    observed: Observed,
    timeout: Duration,
    deadline: tokio::time::Instant,
    wire: Wire,
    /// Bytes sent and received when the handshake ended: what follows is the HTTP exchange.
    handshake_end: (u64, u64),
    /// The chain the server presented, as the witness saw it.
    presented: Vec<rustls_pki_types::CertificateDer<'static>>,
    /// The session tickets the server sent.
    tickets: Arc<TicketCounter>,
    resumed: bool,
    /// The client certificate this client holds (`--cert`), if any.
    identity: Option<Arc<trust::ClientIdentity>>,
}

/// The story stopped; the failure is in it.
struct Stop;

impl Run {
    async fn go(&mut self, server_name: ServerName<'static>) {
        let _ = async {
            let tcp = self.connect().await?;
            let tls = self.handshake(tcp, server_name).await?;
            self.exchange(tls).await?;
            let path = self.target.url.path().to_string();
            self.story.eavesdropper = Some(eavesdropper::seen(
                &self.story,
                &self.wire.snapshot(),
                &path,
            ));
            Ok::<(), Stop>(())
        }
        .await;
        // Also when the story stopped: the diagram shows how far the connection went.
        self.name_messages();
    }

    /// The sequence diagram's list, from every record recorded.
    fn name_messages(&mut self) {
        let shape = Shape {
            tls12: self.story.is_tls12(),
            resumed: self.resumed,
        };
        self.story.messages = sequence::messages(
            &self.wire.snapshot().records,
            Side::Client,
            shape,
            Tickets::Received(self.tickets.tickets()),
        );
    }

    fn context(&self, connected: bool) -> FailureContext<'_> {
        FailureContext {
            target: &self.target,
            cas: Some(&self.cas),
            timeout: self.timeout,
            connected,
            presented: &self.presented,
            asked: self.observed.asker.seen(),
            own_cert: self.identity.as_deref().map(|i| &i.leaf),
        }
    }

    fn stop(&mut self, step: u8, explanation: String) -> Stop {
        self.story.failure = Some(Failure { step, explanation });
        Stop
    }

    /// Step 1: the name's addresses, tried in turn, as reqwest does.
    async fn connect(&mut self) -> Result<TcpStream, Stop> {
        let authority = (self.target.name.clone(), self.target.port);
        let addrs: Vec<SocketAddr> =
            match timeout_at(self.deadline, tokio::net::lookup_host(authority)).await {
                Ok(Ok(addrs)) => addrs.collect(),
                Ok(Err(e)) => {
                    let why = diagnose::explain_dns(&e.to_string(), &self.context(false));
                    return Err(self.stop(1, why));
                }
                Err(_) => {
                    let why = diagnose::explain_timeout(&self.context(false));
                    return Err(self.stop(1, why));
                }
            };
        let mut tcp = Tcp {
            resolved: addrs.iter().map(SocketAddr::to_string).collect(),
            failed_attempts: Vec::new(),
            connected_to: None,
            local_address: None,
            micros: 0,
        };
        // The story's clock starts with the TCP connection, not with the name lookup.
        self.wire = Wire::tls(Keep::both(KEEP_BYTES), MAX_RECORDS);
        let started = Instant::now();
        let mut last_error = None;
        for addr in addrs {
            match timeout_at(self.deadline, TcpStream::connect(addr)).await {
                Ok(Ok(stream)) => {
                    tcp.micros = started.elapsed().as_micros() as u64;
                    tcp.connected_to = Some(addr.to_string());
                    tcp.local_address = stream.local_addr().ok().map(|a| a.to_string());
                    // The request is small and sent at once: do not let Nagle's algorithm hold
                    // its last segment back, which would show as a pause in the timings.
                    let _ = stream.set_nodelay(true);
                    self.story.tcp = Some(tcp);
                    return Ok(stream);
                }
                Ok(Err(e)) => {
                    tcp.failed_attempts
                        .push(format!("{addr}: {}", io_reason(&e)));
                    last_error = Some(e);
                }
                Err(_) => {
                    tcp.failed_attempts.push(format!("{addr}: no answer"));
                    self.story.tcp = Some(tcp);
                    let why = diagnose::explain_timeout(&self.context(false));
                    return Err(self.stop(1, why));
                }
            }
        }
        tcp.micros = started.elapsed().as_micros() as u64;
        self.story.tcp = Some(tcp);
        let why = match last_error {
            Some(e) => diagnose::explain_error(&e, &self.context(false)),
            None => format!("{} has no address.", self.target.name),
        };
        Err(self.stop(1, why))
    }

    /// Steps 2 to 5: the handshake, through the recording IO and the observing verifier.
    async fn handshake(
        &mut self,
        tcp: TcpStream,
        server_name: ServerName<'static>,
    ) -> Result<TlsStream<impl AsyncRead + AsyncWrite + Unpin + Send + 'static>, Stop> {
        let mut config = (*self.observed.config).clone();
        config.resumption = rustls::client::Resumption::store(self.tickets.clone());
        let connector = TlsConnector::from(Arc::new(config));
        let result = timeout_at(
            self.deadline,
            connector.connect(server_name, self.wire.wrap(tcp)),
        )
        .await;
        self.handshake_end = self.wire.totals();
        match result {
            Ok(Ok(tls)) => {
                self.resumed =
                    tls.get_ref().1.handshake_kind() == Some(rustls::HandshakeKind::Resumed);
                self.tell_handshake(Some(tls.get_ref().1));
                Ok(tls)
            }
            Ok(Err(e)) => {
                self.tell_handshake(None);
                let why = diagnose::explain_error(&e, &self.context(false));
                let step = self.failed_handshake_step();
                Err(self.stop(step, why))
            }
            Err(_) => {
                self.tell_handshake(None);
                let why = diagnose::explain_timeout(&self.context(false));
                let step = self.failed_handshake_step();
                Err(self.stop(step, why))
            }
        }
    }

    /// Where a failed handshake stopped: before the ServerHello, at the certificate, or after it.
    fn failed_handshake_step(&self) -> u8 {
        let seen = self.observed.witness.seen();
        let proven = matches!(seen.verdict, Some(Ok(())))
            && matches!(seen.handshake_signature, Some((_, Ok(()))));
        match (&self.story.server_hello, proven) {
            (None, _) => 3,
            (Some(_), false) => 4,
            (Some(_), true) => 5,
        }
    }

    /// Fills steps 2 to 5 from the recorded bytes, the verifier's notes and, when the
    /// handshake finished, rustls's own account.
    fn tell_handshake(&mut self, conn: Option<&ClientConnection>) {
        let snap = self.wire.snapshot();
        let first_server_hello = hello::parse_server_hello(&snap.received).ok();
        let tls12 = first_server_hello.as_ref().is_some_and(|h| h.is_tls12());
        let from_client = flight::clear_messages(&snap.sent, tls12);
        let from_server = flight::clear_messages(&snap.received, tls12);
        let client_hellos = hellos(&snap, Way::Sent, &from_client, |k| {
            k == HandshakeType::ClientHello
        });
        // The first answer may be a HelloRetryRequest: the parser tells it from a ServerHello.
        let server_hellos = hellos(&snap, Way::Received, &from_server, |k| {
            matches!(
                k,
                HandshakeType::ServerHello | HandshakeType::HelloRetryRequest
            )
        });

        if let Some((at, bytes, wire)) = client_hellos.first()
            && let Ok(hello) = hello::parse_client_hello(wire)
        {
            self.story.client_hello = Some(ClientHelloStep {
                at_micros: *at,
                bytes: *bytes,
                hello,
            });
        }
        let mut server = server_hellos
            .iter()
            .filter_map(|(at, bytes, wire)| {
                hello::parse_server_hello(wire)
                    .ok()
                    .map(|h| (*at, *bytes, h))
            })
            .collect::<Vec<_>>()
            .into_iter();
        let mut first = server.next();
        let mut retry = None;
        if let Some((_, _, hrr)) = first.as_ref().filter(|(_, _, h)| h.hello_retry_request)
            && let Some((_, bytes, wire)) = client_hellos.get(1)
            && let Ok(second) = hello::parse_client_hello(wire)
        {
            retry = Some(Retry {
                group: hrr.group,
                client_hello: second,
                client_hello_bytes: *bytes,
            });
            first = server.next();
        }
        if let Some((at, bytes, hello)) = first.filter(|(_, _, h)| !h.hello_retry_request) {
            // TLS 1.2 names the group in ServerKeyExchange, which only rustls has read for us.
            let group = hello.group.or_else(|| {
                conn.and_then(|c| c.negotiated_key_exchange_group())
                    .map(|g| g.name())
            });
            self.story.server_hello = Some(ServerHelloStep {
                at_micros: at,
                bytes,
                post_quantum: group.is_some_and(iana::is_post_quantum),
                group_explained: group.map(iana::explain_group),
                group,
                hello,
                retry,
            });
        }

        let seen = self.observed.witness.seen();
        self.presented = seen.chain.clone();
        if seen.verdict.is_some() {
            let verdict = checks::verdict(&seen, &self.cas, validity::now(), tls12);
            self.story.certificate = Some(CertificateStep {
                outcome: verdict.outcome,
                encrypted: !tls12,
                seen_in_clear_bytes: from_server
                    .iter()
                    .find(|m| m.kind == HandshakeType::Certificate)
                    .map(|m| m.bytes),
                chain: verdict.chain,
                checks: verdict.checks,
                trusted_ca: verdict.trusted_ca,
                failure: verdict.failure.as_ref().map(|f| f.code()),
                strict_warning: verdict.strict_warning,
                client_auth: self.observed.asker.seen().map(|asked| ClientAuthStep {
                    accepted_cas: asked.ca_names,
                    signature_schemes: asked.schemes,
                    presented: self
                        .identity
                        .as_deref()
                        .filter(|_| asked.presented)
                        .map(|i| i.leaf.sentence()),
                    in_clear: tls12,
                }),
            });
        }

        let (Some(_), Some(server_hello)) = (conn, &self.story.server_hello) else {
            return;
        };
        let random = self
            .story
            .client_hello
            .as_ref()
            .map(|c| c.hello.random)
            .unwrap_or_default();
        let labels = self.observed.key_log.labels();
        let mut secrets = Vec::new();
        for l in &labels {
            if !secrets.contains(&l.label) {
                secrets.push(l.label.clone());
            }
        }
        self.story.keys = Some(Keys {
            group: server_hello.group,
            post_quantum: server_hello.post_quantum,
            ephemeral: server_hello.hello.negotiated().is_ephemeral(),
            secrets,
            filed_under_client_random: !labels.is_empty()
                && labels.iter().all(|l| l.client_random == random.0),
        });
    }

    /// Step 6: one GET over the verified TLS stream, HTTP/2 or HTTP/1.1 as ALPN chose.
    async fn exchange(
        &mut self,
        tls: TlsStream<impl AsyncRead + AsyncWrite + Unpin + Send + 'static>,
    ) -> Result<(), Stop> {
        let chosen = tls.get_ref().1.alpn_protocol();
        let h2 = chosen == Some(b"h2");
        let alpn = chosen.map(|p| String::from_utf8_lossy(p).into_owned());
        let plaintext = Wire::counter();
        let io = TokioIo::new(plaintext.wrap(tls));
        let started = Instant::now();
        let result = timeout_at(self.deadline, http::get(io, h2, &self.target)).await;
        let micros = started.elapsed().as_micros() as u64;
        let snap = self.wire.snapshot();
        let (sent, received) = plaintext.totals();
        let records = |way: Way, from: u64| {
            snap.records
                .iter()
                .filter(|r| r.way == way && r.offset >= from)
                .count()
        };
        let mut exchange = Exchange {
            http_version: if h2 { "HTTP/2" } else { "HTTP/1.1" }.into(),
            alpn,
            request: Traffic {
                plaintext_bytes: sent,
                wire_bytes: snap.sent_total - self.handshake_end.0,
                records: records(Way::Sent, self.handshake_end.0),
            },
            response: Traffic {
                plaintext_bytes: received,
                wire_bytes: snap.received_total - self.handshake_end.1,
                records: records(Way::Received, self.handshake_end.1),
            },
            record_overhead: self
                .story
                .server_hello
                .as_ref()
                .and_then(|s| s.hello.negotiated().record_overhead()),
            status: 0,
            reason: String::new(),
            content_type: None,
            message: String::new(),
            micros,
        };
        let failure = match result {
            Err(_) => Some(diagnose::explain_timeout(&self.context(true))),
            Ok(Err(Fetch::Http(e))) => Some(diagnose::explain_error(&*e, &self.context(true))),
            Ok(Err(Fetch::TooLong)) => Some(format!(
                "the server at {} sent more than {} KiB; a secret message is a line of text. Is this the demo's \
                 server?",
                self.target.authority(),
                MAX_BODY / 1024
            )),
            Ok(Ok((status, content_type, body))) => {
                exchange.content_type = content_type;
                let text = printable(&String::from_utf8_lossy(&body).replace("\r\n", "\n"));
                exchange.status = status.as_u16();
                exchange.reason = status.canonical_reason().unwrap_or("").into();
                exchange.message = text.trim_end().to_string();
                (!status.is_success()).then(|| {
                    let said = text.lines().next().unwrap_or("").trim();
                    format!(
                        "the server at {} answered {status} instead of a secret message (it said: \"{}\"). \
                         Check the URL's path.",
                        self.target.authority(),
                        truncate(said, 200)
                    )
                })
            }
        };
        self.story.exchange = Some(exchange);
        match failure {
            Some(why) => Err(self.stop(6, why)),
            None => Ok(()),
        }
    }
}

/// Each message of the kinds `wanted` in one direction: when it was on the wire, its size, and
/// the bytes from its record on, for the parsers.
fn hellos<'a>(
    snap: &'a Snapshot,
    way: Way,
    messages: &[ClearMessage],
    wanted: impl Fn(HandshakeType) -> bool,
) -> Vec<(u64, usize, &'a [u8])> {
    let bytes = match way {
        Way::Sent => &snap.sent,
        Way::Received => &snap.received,
    };
    messages
        .iter()
        .filter(|m| wanted(m.kind))
        .map(|m| {
            let at = snap
                .records
                .iter()
                .find(|r| r.way == way && r.offset == m.record_offset as u64)
                .map(|r| r.at_micros)
                .unwrap_or_default();
            (at, m.bytes, &bytes[m.record_offset..])
        })
        .collect()
}

fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::ConnectionRefused => "refused (nothing listens there)".into(),
        _ => e.to_string(),
    }
}
