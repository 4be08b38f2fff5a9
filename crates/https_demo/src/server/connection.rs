//! One client connection, top to bottom, once [`super::serve`] has accepted it: what it sent
//! first (sniff), the TLS handshake bounded in time, one log line that says what was negotiated,
//! then HTTP/1.1 or h2 as the client chose by ALPN, under the connection's watchdog.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hyper::Request;
use hyper::body::Incoming;
use hyper::server::conn::http2;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::graceful::Watcher;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;
use tokio_util::io::InspectReader;

use super::abort_log::{Abort, AbortLog};
use super::capture;
use super::facts::{self, ConnectionFacts, Seen, TlsFacts};
use super::linger::Lingering;
use super::registry::{Counted, Registered};
use super::sniff::{self, FirstBytes};
use super::tls_io::FlushAfterRead;
use super::tuning::{self, BoxError};
use super::watchdog::{Closed, ConnState};
use super::{Limits, Transport, app::App};
use crate::tls::failure::ClientCertFailure;
use crate::wire::recording::{Keep, Wire};

pub struct Context {
    pub transport: Transport,
    pub limits: Limits,
    pub app: App,
    /// Turns true on Ctrl-C: connections then finish what is in flight and close.
    pub closing: watch::Receiver<bool>,
    pub aborts: AbortLog,
}

/// How long an h2 client has, after the server's GOAWAY, to answer the ping that confirms it
/// (h2's graceful close); then the connection is closed anyway.
const GOAWAY_GRACE: Duration = Duration::from_secs(1);

pub async fn handle(
    stream: TcpStream,
    peer: SocketAddr,
    ctx: &Context,
    registered: &Registered,
    watcher: Watcher,
) {
    let state = registered.state.clone();
    let _ = stream.set_nodelay(true);
    let config = match &ctx.transport {
        Transport::Plain => {
            // No handshake to wait for: it counts against the cap at once.
            if !let_in(registered, ctx, peer) {
                return;
            }
            state.mark_opened();
            tracing::info!(%peer, "plain HTTP connection (no TLS: anyone on the path can read it)");
            let facts = ConnectionFacts { peer, tls: None };
            return serve_http(Lingering::new(stream), false, facts, ctx, state, watcher).await;
        }
        Transport::Tls(config) => config.clone(),
    };
    let local = stream.local_addr().ok();
    // The server's own side of the handshake, for /handshake: record headers, and only the
    // first bytes it sent (the ServerHello's random; the client's is in the kept ClientHello).
    let wire = Wire::tls(
        Keep {
            sent: facts::HELLO_HEAD,
            received: 0,
        },
        facts::RECORDS_KEPT,
    );
    let limit = ctx.limits.handshake_timeout;
    // 1. Sniff, 2. handshake: the whole opening, from the first byte to the end of the
    // handshake, is bounded; so is waiting for a first byte that never comes.
    let opening = tuning::boxed(async {
        match sniff::peek(&stream).await {
            Ok(FirstBytes::Closed) | Err(_) => {
                tracing::debug!(%peer, "closed before sending anything");
                return None;
            }
            _ if !let_in(registered, ctx, peer) => return None,
            Ok(FirstBytes::Tls) => {}
            Ok(FirstBytes::PlainHttp) => {
                let mut stream = stream;
                let head = sniff::read_head(&mut stream, limit).await;
                // demo_server --acme: the CA's http-01 validator speaks plain HTTP to this port.
                if let Some((token, answer)) = ctx.app.acme_http01(sniff::request_line(&head)) {
                    crate::acme::challenge::answer_http01(stream, peer, &token, &answer).await;
                    return None;
                }
                let line = sniff::answer_plain_http(stream, local?, &head).await;
                if ctx.aborts.log_in_full(Abort::PlainHttp) {
                    tracing::info!(%peer, request = line.as_str(), "plain HTTP sent to the HTTPS port: answered 400 with the https:// URL");
                }
                return None;
            }
            Ok(FirstBytes::Garbage(byte)) => {
                if ctx.aborts.log_in_full(Abort::NotTls) {
                    tracing::info!(%peer, "not TLS (first byte 0x{byte:02x}, a TLS handshake starts with 0x16): closed");
                }
                return None;
            }
        }
        let (stream, captured) = capture::capture(wire.wrap(Lingering::new(stream)));
        match TlsAcceptor::from(config).accept(stream).await {
            Ok(tls) => Some((tuning::boxed_stream(tls), captured.take())),
            Err(e) => {
                // Mutual TLS: a visitor's certificate refused is worded, and always logged
                // (it is a decision of this server, not noise).
                let refused = e
                    .get_ref()
                    .and_then(|inner| inner.downcast_ref::<rustls::Error>())
                    .and_then(|tls| {
                        ClientCertFailure::from_server_error(tls, ctx.app.client_cas())
                    });
                match refused {
                    Some(failure) => tracing::info!(
                        %peer,
                        refusal = failure.code(),
                        "TLS handshake refused: {}",
                        failure.server_words()
                    ),
                    None if ctx.aborts.log_in_full(Abort::HandshakeFailed) => {
                        tracing::info!(%peer, "TLS handshake failed: {e}");
                    }
                    None => {}
                }
                None
            }
        }
    });
    let (tls, client_hello_bytes) = tokio::select! {
        result = tokio::time::timeout(limit, opening) => match result {
            Ok(Some(done)) => done,
            Ok(None) => return,
            Err(_) => {
                if ctx.aborts.log_in_full(Abort::HandshakeTimeout) {
                    tracing::info!(%peer, "no TLS handshake within {} s: closed", limit.as_secs_f32());
                }
                return;
            }
        },
        why = state.watch(limit, ctx.limits.idle_timeout) => {
            if why == Closed::Shed && ctx.aborts.log_in_full(Abort::MadeRoom) {
                tracing::info!(%peer, "closed before its handshake to make room (connection limit reached)");
            }
            return;
        }
    };
    state.mark_opened();
    // 3. The log line: what was negotiated.
    let (_, conn) = tls.get_ref();
    // demo_server --acme: the CA's tls-alpn-01 validator; the handshake was the whole proof.
    if conn.alpn_protocol() == Some(crate::acme::challenge::ACME_TLS_ALPN) {
        ctx.app.acme_tls_alpn01_seen(peer, conn.server_name());
        return;
    }
    let h2 = conn.alpn_protocol() == Some(b"h2");
    let mut facts = TlsFacts::new(conn, client_hello_bytes, ctx.app.client_auth());
    facts.wire = Some(Seen::new(wire, conn));
    tracing::info!(
        %peer,
        sni = facts.sni.as_deref().unwrap_or("-"),
        version = facts.version_name().as_str(),
        suite = facts.suite_name().as_str(),
        group = facts.group_name().as_str(),
        alpn = facts.alpn.as_deref().unwrap_or("-"),
        client_random = facts.client_random().as_deref().unwrap_or("-"),
        client_hello_bytes = facts.client_hello_bytes().unwrap_or(0),
        client_cert = facts.client_subject(),
        "TLS connection"
    );
    let facts = ConnectionFacts {
        peer,
        tls: Some(facts),
    };
    // 4. HTTP.
    serve_http(FlushAfterRead(tls), h2, facts, ctx, state, watcher).await;
}

/// The client has sent its first byte: from now on it counts against the connection cap
/// (see [`super::registry`]). False when it must close at once.
fn let_in(registered: &Registered, ctx: &Context, peer: SocketAddr) -> bool {
    if registered.spoke() != Counted::Refused {
        return true;
    }
    if ctx.aborts.log_in_full(Abort::Full) {
        tracing::info!(%peer, "closed at once: twice --max-connections are open, each busy or new");
    }
    false
}

/// Serves requests with the app until the client closes, the watchdog closes the connection,
/// or Ctrl-C. Each request is logged.
async fn serve_http<I>(
    io: I,
    h2: bool,
    facts: ConnectionFacts,
    ctx: &Context,
    state: Arc<ConnState>,
    watcher: Watcher,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let app = ctx.app.clone();
    let service_state = state.clone();
    let peer = facts.peer;
    let facts = Arc::new(facts);
    let service = service_fn(move |req: Request<Incoming>| {
        let (app, facts) = (app.clone(), facts.clone());
        let in_flight = service_state.request_started();
        tuning::boxed(async move {
            let started = Instant::now();
            let (method, uri) = (req.method().clone(), req.uri().clone());
            // A streamed answer (--upstream) keeps the request in flight until it is handed over.
            let res = app.serve(req, &facts, in_flight).await;
            let peer = &facts.peer;
            tracing::info!(
                %peer,
                %method,
                path = uri.path(),
                status = res.status().as_u16(),
                micros = started.elapsed().as_micros() as u64,
                "request"
            );
            Ok::<_, Infallible>(res)
        })
    });
    state.await_first_request();
    let limits = &ctx.limits;
    let mut closing = ctx.closing.clone();
    // The watcher only keeps Ctrl-C waiting for this connection; `closing` tells it to stop.
    let _watcher = watcher;
    // Pick the protocol from ALPN rather than sniffing: hyper's auto-detection never arms a
    // timer for a silent client (hyper #3756). The watchdog bounds head and idle time for both.
    if h2 {
        // No look at the bytes here: h2 frames a head itself (max_header_list_size bounds it),
        // and a ping or a window update is not the start of a request. An idle h2 connection
        // lives the idle timeout, pings or not, and its first request the head timeout.
        // Boxed, with its GOAWAY timer, so that an idle HTTP/1.1 connection does not carry it.
        tuning::boxed(async {
            let mut conn = tuning::boxed(
                http2::Builder::new(TokioExecutor::new())
                    .timer(TokioTimer::new())
                    .max_header_list_size(limits.max_header_bytes as u32)
                    .max_concurrent_streams(100)
                    .serve_connection(TokioIo::new(io), service),
            );
            let why = tokio::select! {
                result = conn.as_mut() => return ended(&peer, result.map_err(Into::into)),
                why = state.watch(limits.header_timeout, limits.idle_timeout) => Some(why),
                _ = closing.changed() => None,
            };
            match why {
                // No first request in time: perhaps not even the preface, so no h2 to say goodbye in.
                Some(Closed::HeadTimeout) => closed_by_watchdog(&peer, Closed::HeadTimeout, limits),
                // Idle: GOAWAY, so that the client knows not to send another request here.
                Some(why) => {
                    closed_by_watchdog(&peer, why, limits);
                    conn.as_mut().graceful_shutdown();
                    let _ = tokio::time::timeout(GOAWAY_GRACE, conn).await;
                }
                // Ctrl-C: GOAWAY, then h2 finishes the streams in flight.
                None => {
                    conn.as_mut().graceful_shutdown();
                    ended(&peer, conn.await.map_err(Into::into));
                }
            }
        })
        .await;
    } else {
        // Every byte read while no request is in flight starts a request head (its deadline).
        let seen = state.clone();
        let io = InspectReader::new(io, move |bytes: &[u8]| {
            if !bytes.is_empty() {
                seen.saw_bytes();
            }
        });
        let serve = tuning::boxed(tuning::serve_http1(
            io,
            service,
            limits.max_header_bytes,
            &state,
            closing,
        ));
        tokio::select! {
            result = serve => ended(&peer, result),
            why = state.watch(limits.header_timeout, limits.idle_timeout) => closed_by_watchdog(&peer, why, limits),
        }
    }
}

fn ended(peer: &SocketAddr, result: Result<(), BoxError>) {
    if let Err(e) = result {
        tracing::debug!(%peer, "connection ended: {e}");
    }
}

fn closed_by_watchdog(peer: &SocketAddr, why: Closed, limits: &Limits) {
    match why {
        Closed::HeadTimeout => {
            tracing::info!(%peer, "request head not complete within {} s: closed", limits.header_timeout.as_secs_f32())
        }
        Closed::Idle => {
            tracing::info!(%peer, "idle for {} s: closed", limits.idle_timeout.as_secs_f32())
        }
        Closed::Shed => {
            tracing::info!(%peer, "idle connection closed to make room (connection limit reached)")
        }
    }
}
