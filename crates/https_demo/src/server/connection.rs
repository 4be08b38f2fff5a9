//! One client connection: the TLS handshake (bounded in time), one log line that says what was
//! negotiated, then HTTP/1.1 or h2 as the client chose by ALPN.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Instant;

use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, server::conn::http1, server::conn::http2};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::graceful::Watcher;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::TlsAcceptor;

use super::{Limits, Transport, app::App};

pub struct Context {
    pub transport: Transport,
    pub limits: Limits,
    pub app: App,
}

pub async fn handle(stream: TcpStream, peer: SocketAddr, ctx: &Context, watcher: Watcher) {
    let _ = stream.set_nodelay(true);
    match &ctx.transport {
        Transport::Plain => {
            tracing::info!(%peer, "plain HTTP connection (no TLS: anyone on the path can read it)");
            serve_http(stream, false, peer, ctx, watcher).await;
        }
        Transport::Tls(config) => {
            let accept = TlsAcceptor::from(config.clone()).accept(stream);
            let tls = match tokio::time::timeout(ctx.limits.handshake_timeout, accept).await {
                Ok(Ok(tls)) => tls,
                Ok(Err(e)) => {
                    tracing::info!(%peer, "TLS handshake failed: {e}");
                    return;
                }
                Err(_) => {
                    tracing::info!(%peer, "TLS handshake not finished within {:?}: closed", ctx.limits.handshake_timeout);
                    return;
                }
            };
            let (_, conn) = tls.get_ref();
            let h2 = conn.alpn_protocol() == Some(b"h2");
            tracing::info!(
                %peer,
                sni = conn.server_name().unwrap_or("-"),
                version = version_name(conn.protocol_version()),
                suite = conn.negotiated_cipher_suite().map(|s| format!("{:?}", s.suite())).unwrap_or_default(),
                group = conn.negotiated_key_exchange_group().map(|g| format!("{:?}", g.name())).unwrap_or_default(),
                alpn = conn.alpn_protocol().map(String::from_utf8_lossy).unwrap_or("-".into()).as_ref(),
                "TLS connection"
            );
            serve_http(tls, h2, peer, ctx, watcher).await;
        }
    }
}

/// `TLSv1_3` as people write it: TLS 1.3.
pub fn version_name(v: Option<rustls::ProtocolVersion>) -> &'static str {
    match v {
        Some(rustls::ProtocolVersion::TLSv1_3) => "TLS 1.3",
        Some(rustls::ProtocolVersion::TLSv1_2) => "TLS 1.2",
        Some(_) => "other",
        None => "-",
    }
}

async fn serve_http<I>(io: I, h2: bool, peer: SocketAddr, ctx: &Context, watcher: Watcher)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let app = ctx.app.clone();
    let service = service_fn(move |req: Request<Incoming>| {
        let app = app.clone();
        async move {
            let started = Instant::now();
            let res = app.respond(&req).await;
            tracing::info!(
                %peer,
                method = %req.method(),
                path = req.uri().path(),
                status = res.status().as_u16(),
                micros = started.elapsed().as_micros() as u64,
                "request"
            );
            Ok::<_, Infallible>(res)
        }
    });
    let io = TokioIo::new(io);
    // Pick the protocol from ALPN rather than sniffing: hyper's auto-detection never arms the
    // header timeout for a silent client (hyper #3756).
    let result = if h2 {
        let conn = http2::Builder::new(TokioExecutor::new())
            .timer(TokioTimer::new())
            .serve_connection(io, service);
        watcher.watch(conn).await
    } else {
        let conn = http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(ctx.limits.header_timeout)
            .serve_connection(io, service);
        watcher.watch(conn).await
    };
    if let Err(e) = result {
        tracing::debug!(%peer, "connection ended: {e}");
    }
}
