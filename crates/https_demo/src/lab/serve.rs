//! The lab's servers: one port per scenario, on 127.0.0.1 and ::1, each with its own rustls
//! configuration (the demo server's, from [`crate::tls::server`]). A page is small and fixed,
//! so the loop is small too: TLS handshake with a time limit, then HTTP/2 or HTTP/1.1 as ALPN
//! chose, each with a time limit.

use std::convert::Infallible;
use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Result, anyhow, bail};
use http_body_util::Full;
use hyper::body::Bytes;
use hyper::service::service_fn;
use hyper::{Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use rustls::ServerConfig;
use rustls::sign::CertifiedKey;
use rustls_pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use super::certs::Site;
use super::scenarios::Make;
use crate::pki::inspect::CertSummary;
use crate::tls::server::{Identity, Offer, server_config};
use crate::tls::trust::{ClientAuth, TrustedCas, client_verifier};

const HANDSHAKE_LIMIT: Duration = Duration::from_secs(10);
const CONNECTION_LIMIT: Duration = Duration::from_secs(60);

/// One port, listened on at both loopback addresses.
pub struct Port {
    pub port: u16,
    pub listeners: Vec<TcpListener>,
}

/// What is listening where, for the messages: "the gallery", "scenario expired".
pub fn bind(count: usize, base: u16, what: impl Fn(usize) -> String) -> Result<Vec<Port>> {
    let mut ports = Vec::with_capacity(count);
    for i in 0..count {
        let port = if base == 0 {
            bind_ephemeral()?
        } else {
            let port = u16::try_from(base as usize + i)
                .ok()
                .filter(|p| *p != 0)
                .ok_or_else(|| {
                    anyhow!(
                        "--port-base {base} leaves no room for {count} ports (the last would be past 65535). \
                         Give a lower --port-base, or 0 for ports the system chooses."
                    )
                })?;
            bind_both(port).map_err(|e| taken(port, base, &what(i), e))?
        };
        ports.push(port);
    }
    Ok(ports)
}

fn taken(port: u16, base: u16, what: &str, e: io::Error) -> anyhow::Error {
    match e.kind() {
        io::ErrorKind::AddrInUse => anyhow!(
            "port {port} ({what}) is taken by another program, so the lab did not start and listens nowhere. \
             Stop that program, or give another --port-base (now {base}; 0 lets the system choose free ports)."
        ),
        io::ErrorKind::PermissionDenied => anyhow!(
            "port {port} ({what}) may not be used by this user (ports below 1024 need privileges), so the lab \
             did not start. Give a --port-base of 1024 or more (now {base})."
        ),
        _ => anyhow!(
            "cannot listen on port {port} ({what}): {e}. The lab did not start. Give another --port-base (now {base})."
        ),
    }
}

fn listen(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = match addr {
        SocketAddr::V4(_) => tokio::net::TcpSocket::new_v4()?,
        SocketAddr::V6(_) => tokio::net::TcpSocket::new_v6()?,
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(1024)
}

fn bind_both(port: u16) -> io::Result<Port> {
    let v4 = listen((Ipv4Addr::LOCALHOST, port).into())?;
    let mut listeners = vec![v4];
    match listen((Ipv6Addr::LOCALHOST, port).into()) {
        Ok(v6) => listeners.push(v6),
        // A machine without IPv6: localhost is 127.0.0.1 there.
        Err(e) if e.kind() == io::ErrorKind::AddrNotAvailable => {}
        Err(e) => return Err(e),
    }
    Ok(Port { port, listeners })
}

/// A port the system chooses on 127.0.0.1, held while ::1 is bound to the same number; if that
/// one is taken on ::1, another is chosen (nothing is ever released and bound again).
fn bind_ephemeral() -> Result<Port> {
    let mut last = None;
    for _ in 0..20 {
        let v4 = listen((Ipv4Addr::LOCALHOST, 0).into())
            .map_err(|e| anyhow!("cannot listen on 127.0.0.1: {e}"))?;
        let port = v4.local_addr()?.port();
        match listen((Ipv6Addr::LOCALHOST, port).into()) {
            Ok(v6) => {
                return Ok(Port {
                    port,
                    listeners: vec![v4, v6],
                });
            }
            Err(e) if e.kind() == io::ErrorKind::AddrNotAvailable => {
                return Ok(Port {
                    port,
                    listeners: vec![v4],
                });
            }
            Err(e) => last = Some(e),
        }
    }
    bail!(
        "cannot find a port free on both 127.0.0.1 and ::1 ({}). Give a --port-base instead of 0.",
        last.map(|e| e.to_string()).unwrap_or_default()
    )
}

/// The TLS configuration for a site: the demo server's, TLS 1.2 only when the scenario says so,
/// and requiring a client certificate from `client_cas` (the trust core's judge of visitors)
/// when the scenario is about mutual TLS.
pub fn tls_config(site: &Site, client_cas: &TrustedCas) -> Result<Arc<ServerConfig>> {
    let clients = match site.scenario.make {
        Make::ClientCertRequired => Some(client_verifier(client_cas, ClientAuth::Required)?),
        _ => None,
    };
    let provider = crate::tls::provider();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(site.key.serialize_der()));
    let signing_key = provider
        .key_provider
        .load_private_key(key)
        .map_err(|e| anyhow!("rustls cannot use the lab's key: {e}"))?;
    let identity = Identity {
        leaf: CertSummary::from_der(&site.chain[0])?,
        chain: site.chain.clone(),
        key: Arc::new(CertifiedKey::new(site.chain.clone(), signing_key)),
    };
    server_config(
        &identity,
        provider,
        Offer {
            tls12_only: site.scenario.tls12_only,
            ..Offer::default()
        },
        clients,
    )
}

/// A fixed page: its body and content type.
#[derive(Clone)]
pub struct Page {
    pub content_type: &'static str,
    pub body: Bytes,
}

/// Serves `page` on every listener of `port`, for as long as the process runs.
pub fn spawn(port: Port, config: Arc<ServerConfig>, page: Page) {
    let acceptor = TlsAcceptor::from(config);
    for listener in port.listeners {
        let (acceptor, page) = (acceptor.clone(), page.clone());
        tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    // Out of file descriptors, for instance: wait, and go on serving.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                };
                let (acceptor, page) = (acceptor.clone(), page.clone());
                tokio::spawn(async move {
                    let _ = tokio::time::timeout(CONNECTION_LIMIT, connection(acceptor, tcp, page))
                        .await;
                });
            }
        });
    }
}

async fn connection(acceptor: TlsAcceptor, tcp: tokio::net::TcpStream, page: Page) {
    // A refused certificate ends here: the client sends an alert and closes (or, for a missing
    // client certificate, this server does).
    let Ok(Ok(tls)) = tokio::time::timeout(HANDSHAKE_LIMIT, acceptor.accept(tcp)).await else {
        return;
    };
    let h2 = tls.get_ref().1.alpn_protocol() == Some(b"h2");
    let service = service_fn(move |_req| {
        let page = page.clone();
        async move {
            Ok::<_, Infallible>(
                Response::builder()
                    .status(StatusCode::OK)
                    .header("content-type", page.content_type)
                    .header("cache-control", "no-store")
                    .body(Full::new(page.body))
                    .expect("a fixed response is valid"),
            )
        }
    });
    let io = TokioIo::new(tls);
    // Protocol chosen from ALPN rather than sniffed: hyper's auto-detection never arms the
    // header timeout (see the design notes).
    if h2 {
        let _ = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
            .timer(TokioTimer::new())
            .serve_connection(io, service)
            .await;
    } else {
        let _ = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(HANDSHAKE_LIMIT)
            .serve_connection(io, service)
            .await;
    }
}
