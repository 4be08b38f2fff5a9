//! One client connection: what it sent first, the TLS handshake (bounded in time), one log line
//! that says what was negotiated, then HTTP/1.1 or h2 as the client chose by ALPN, under the
//! connection's watchdog.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Instant;

use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, server::conn::http2};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::graceful::Watcher;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;

use super::capture;
use super::facts::{ConnectionFacts, TlsFacts};
use super::linger::Lingering;
use super::observe::ReadObserver;
use super::park::{self, BoxError};
use super::sniff::{self, FirstBytes};
use super::watchdog::{Closed, ConnState};
use super::{Limits, Transport, app::App};

pub struct Context {
    pub transport: Transport,
    pub limits: Limits,
    pub app: App,
    /// Turns true on Ctrl-C: idle HTTP/1.1 connections then close (see [`park`]).
    pub closing: watch::Receiver<bool>,
}

pub async fn handle(
    stream: TcpStream,
    peer: SocketAddr,
    ctx: &Context,
    state: Arc<ConnState>,
    watcher: Watcher,
) {
    let _ = stream.set_nodelay(true);
    let config = match &ctx.transport {
        Transport::Plain => {
            tracing::info!(%peer, "plain HTTP connection (no TLS: anyone on the path can read it)");
            let facts = ConnectionFacts {
                peer: peer.to_string(),
                tls: None,
            };
            return serve_http(Lingering::new(stream), false, facts, ctx, state, watcher).await;
        }
        Transport::Tls(config) => config.clone(),
    };
    let local = stream.local_addr().ok();
    let limit = ctx.limits.handshake_timeout;
    // The whole opening, from the first byte to the end of the handshake, is bounded; so is
    // waiting for a first byte that never comes. An idle one may also be shed. Boxed, so that
    // its state (the handshake's) is freed once done instead of sizing the connection's task.
    let opening = Box::pin(async {
        match sniff::peek(&stream).await {
            Ok(FirstBytes::Tls) => {}
            Ok(FirstBytes::PlainHttp) => {
                let line = sniff::answer_plain_http(stream, local?, limit)
                    .await
                    .unwrap_or_default();
                tracing::info!(%peer, request = line.as_str(), "plain HTTP sent to the HTTPS port: answered 400 with the https:// URL");
                return None;
            }
            Ok(FirstBytes::Garbage(byte)) => {
                tracing::info!(%peer, "not TLS (first byte 0x{byte:02x}, a TLS handshake starts with 0x16): closed");
                return None;
            }
            Ok(FirstBytes::Closed) | Err(_) => {
                tracing::debug!(%peer, "closed before sending anything");
                return None;
            }
        }
        let (stream, captured) = capture::capture(Lingering::new(stream));
        match TlsAcceptor::from(config).accept(stream).await {
            // Boxed: moved from here to the HTTP side, a 1.2 KB stream would otherwise hold a
            // slot in each future it passes through.
            Ok(tls) => Some((Box::new(tls), captured.take())),
            Err(e) => {
                tracing::info!(%peer, "TLS handshake failed: {e}");
                None
            }
        }
    });
    let (tls, client_hello_bytes) = tokio::select! {
        result = tokio::time::timeout(limit, opening) => match result {
            Ok(Some(done)) => done,
            Ok(None) => return,
            Err(_) => {
                tracing::info!(%peer, "no TLS handshake within {} s: closed", limit.as_secs_f32());
                return;
            }
        },
        why = state.watch(limit, ctx.limits.idle_timeout) => {
            if why == Closed::Shed {
                tracing::info!(%peer, "closed before its handshake to make room (connection limit reached)");
            }
            return;
        }
    };
    let (_, conn) = tls.get_ref();
    let h2 = conn.alpn_protocol() == Some(b"h2");
    let facts = TlsFacts::new(conn, client_hello_bytes);
    tracing::info!(
        %peer,
        sni = facts.sni.as_deref().unwrap_or("-"),
        version = facts.version.as_str(),
        suite = facts.cipher_suite.as_str(),
        group = facts.group_name().as_str(),
        alpn = facts.alpn.as_deref().unwrap_or("-"),
        client_random = facts.client_random().as_deref().unwrap_or("-"),
        "TLS connection"
    );
    let facts = ConnectionFacts {
        peer: peer.to_string(),
        tls: Some(facts),
    };
    serve_http(tls, h2, facts, ctx, state, watcher).await;
}

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
    let peer = facts.peer.clone();
    let facts = Arc::new(facts);
    let service = service_fn(move |req: Request<Incoming>| {
        let (app, facts) = (app.clone(), facts.clone());
        let in_flight = service_state.request_started();
        // Boxed: hyper hands an idle HTTP/1.1 connection back only with an Unpin service.
        Box::pin(async move {
            let started = Instant::now();
            let res = app.respond(&req, &facts).await;
            let peer = &facts.peer;
            tracing::info!(
                %peer,
                method = %req.method(),
                path = req.uri().path(),
                status = res.status().as_u16(),
                micros = started.elapsed().as_micros() as u64,
                "request"
            );
            drop(in_flight);
            Ok::<_, Infallible>(res)
        })
    });
    state.await_first_request();
    let seen = state.clone();
    let io = ReadObserver::new(io, move |_: &[u8]| seen.saw_bytes());
    let limits = &ctx.limits;
    // Pick the protocol from ALPN rather than sniffing: hyper's auto-detection never arms a
    // timer for a silent client (hyper #3756). The watchdog bounds head and idle time for both.
    // Each connection is boxed at its own size: inline, this task would be as large as the h2
    // one plus what both capture, for every idle HTTP/1.1 connection (7 KB instead of 2).
    // HTTP/1.1 connections hand hyper's state back while idle (see [`park`]); the watcher then
    // only keeps Ctrl-C waiting for them, and `ctx.closing` tells them to stop.
    let mut _watcher = None;
    let serve: Pin<Box<dyn Future<Output = Result<(), BoxError>> + Send>> = if h2 {
        let conn = http2::Builder::new(TokioExecutor::new())
            .timer(TokioTimer::new())
            .max_header_list_size(limits.max_header_bytes as u32)
            .max_concurrent_streams(100)
            .serve_connection(TokioIo::new(io), service);
        let conn = Box::pin(watcher.watch(conn));
        Box::pin(async move { Ok(conn.await?) })
    } else {
        _watcher = Some(watcher);
        Box::pin(park::serve_http1(
            io,
            service,
            limits.max_header_bytes,
            state.clone(),
            ctx.closing.clone(),
        ))
    };
    tokio::select! {
        result = serve => if let Err(e) = result {
            tracing::debug!(%peer, "connection ended: {e}");
        },
        why = state.watch(limits.header_timeout, limits.idle_timeout) => match why {
            Closed::HeadTimeout => tracing::info!(%peer, "request head not complete within {} s: closed", limits.header_timeout.as_secs_f32()),
            Closed::Idle => tracing::info!(%peer, "idle for {} s: closed", limits.idle_timeout.as_secs_f32()),
            Closed::Shed => tracing::info!(%peer, "idle connection closed to make room (connection limit reached)"),
        },
    }
}
