//! One intercepted connection: read the client's SNI, present a certificate forged for it,
//! then serve HTTP (h2 or HTTP/1.1, as the client's ALPN chose) with hyper and re-issue each
//! request over the interceptor's own verified TLS connection to the upstream. Terminating
//! HTTP on both sides is what lets it read every request and answer whole, in both versions.
//!
//! It forwards to its `--upstream` and nowhere else: an absolute URI naming another host, or a
//! CONNECT, is refused with a 403 that says so.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Result, anyhow};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::client::conn::{http1 as client1, http2 as client2};
use hyper::http::{HeaderValue, Method, Request, Response, StatusCode, Uri, Version, header};
use hyper::server::conn::{http1 as server1, http2 as server2};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use rustls::ClientConfig;
use rustls::server::Acceptor;
use rustls_pki_types::ServerName;
use tokio::net::TcpStream;
use tokio::sync::Mutex;
use tokio_rustls::{LazyConfigAcceptor, TlsConnector};

use super::forge::Forger;
use super::report::{self, Stolen};
use crate::tls::failure::{Audience, CertFailure, Presented};
use crate::tls::trust::TrustedCas;

/// A request or an answer longer than this is not the demo's: the interceptor gives up on it.
const MAX_BODY: usize = 1 << 20;

/// What every connection shares.
pub struct Shared {
    pub forger: Forger,
    pub upstream_host: String,
    pub upstream_port: u16,
    pub upstream_name: ServerName<'static>,
    pub upstream_cas: TrustedCas,
    /// The trust core's verifier, with ALPN h2 or http/1.1 only: the one the client chose.
    pub upstream_h2: Arc<ClientConfig>,
    pub upstream_h1: Arc<ClientConfig>,
    pub handshake_timeout: Duration,
    pub idle_timeout: Duration,
}

impl Shared {
    pub fn upstream(&self) -> String {
        match self.upstream_host.contains(':') {
            true => format!("[{}]:{}", self.upstream_host, self.upstream_port),
            false => format!("{}:{}", self.upstream_host, self.upstream_port),
        }
    }
}

/// Serves one client from its TCP accept to its close, each phase bounded.
pub async fn connection(shared: Arc<Shared>, tcp: TcpStream, peer: SocketAddr) {
    let local_ip = tcp.local_addr().map(|a| a.ip().to_string()).ok();
    let _ = tcp.set_nodelay(true);
    let handshake = async {
        let start = LazyConfigAcceptor::new(Acceptor::default(), tcp).await?;
        // A client that connects by IP address sends no SNI: forge for the address it dialled.
        let name = start
            .client_hello()
            .server_name()
            .map(str::to_string)
            .or(local_ip)
            .unwrap_or_else(|| "localhost".into());
        let config = shared
            .forger
            .config_for(&name)
            .map_err(std::io::Error::other)?;
        let tls = start.into_stream(config).await?;
        Ok::<_, std::io::Error>((name, tls))
    };
    let (name, tls) = match tokio::time::timeout(shared.handshake_timeout, handshake).await {
        Ok(Ok(done)) => done,
        Ok(Err(e)) => return println!("{}", report::handshake_failed(peer, &e)),
        Err(_) => {
            return println!(
                "GAVE UP on {peer}: no TLS handshake within {} s",
                shared.handshake_timeout.as_secs_f64()
            );
        }
    };
    let h2 = tls.get_ref().1.alpn_protocol() == Some(b"h2");
    let upstream = Upstream::connect(&shared, h2).await;
    let (sender, upstream_task) = match upstream {
        Ok((sender, task)) => (Ok(sender), Some(task)),
        Err(why) => {
            println!("UPSTREAM FAILED for {peer}: {why}");
            (Err(why), None)
        }
    };
    let cx = Arc::new(Cx {
        shared: shared.clone(),
        peer,
        name,
        h2,
        sender,
        in_flight: AtomicUsize::new(0),
        last: std::sync::Mutex::new(Instant::now()),
    });
    let svc = {
        let cx = cx.clone();
        service_fn(move |req: Request<Incoming>| {
            let cx = cx.clone();
            async move { Ok::<_, Infallible>(cx.relay(req).await) }
        })
    };
    let io = TokioIo::new(tls);
    if h2 {
        let conn = server2::Builder::new(TokioExecutor::new()).serve_connection(io, svc);
        let mut conn = pin!(conn);
        watch(&cx, conn.as_mut(), |c| c.graceful_shutdown()).await;
    } else {
        let conn = server1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(shared.idle_timeout)
            .serve_connection(io, svc);
        let mut conn = pin!(conn);
        watch(&cx, conn.as_mut(), |c| c.graceful_shutdown()).await;
    }
    if let Some(task) = upstream_task {
        task.abort();
    }
}

/// Runs a connection until it ends, or until it has been idle (no request in flight) for the
/// idle timeout, then closes it gracefully, giving it a second to finish.
async fn watch<C, F>(cx: &Cx, mut conn: std::pin::Pin<&mut C>, shutdown: F)
where
    C: std::future::Future,
    F: FnOnce(std::pin::Pin<&mut C>),
{
    let idle = cx.shared.idle_timeout;
    loop {
        tokio::select! {
            _ = conn.as_mut() => return,
            _ = tokio::time::sleep(idle / 4) => {
                let quiet = cx.last.lock().map(|t| t.elapsed()).unwrap_or_default();
                if cx.in_flight.load(Ordering::SeqCst) == 0 && quiet >= idle {
                    break;
                }
            }
        }
    }
    shutdown(conn.as_mut());
    let _ = tokio::time::timeout(Duration::from_secs(1), conn).await;
}

/// The interceptor's own connection to the upstream, verified by the trust core.
enum Upstream {
    H1(Mutex<client1::SendRequest<Full<Bytes>>>),
    H2(client2::SendRequest<Full<Bytes>>),
}

impl Upstream {
    async fn connect(
        shared: &Shared,
        h2: bool,
    ) -> Result<(Upstream, tokio::task::JoinHandle<()>), String> {
        let at = shared.upstream();
        let config = if h2 {
            shared.upstream_h2.clone()
        } else {
            shared.upstream_h1.clone()
        };
        let connect = async {
            let tcp = TcpStream::connect((shared.upstream_host.as_str(), shared.upstream_port))
                .await
                .map_err(|e| match e.kind() {
                    std::io::ErrorKind::ConnectionRefused => format!(
                        "nothing listens on the upstream {at} (connection refused): start demo_server, \
                         or give its address with --upstream"
                    ),
                    _ => format!("cannot connect to the upstream {at}: {e}"),
                })?;
            let _ = tcp.set_nodelay(true);
            let tls = TlsConnector::from(config)
                .connect(shared.upstream_name.clone(), tcp)
                .await
                .map_err(|e| upstream_tls_words(shared, &at, &e))?;
            let io = TokioIo::new(tls);
            if h2 {
                let (sender, conn) = client2::handshake(TokioExecutor::new(), io)
                    .await
                    .map_err(|e| format!("HTTP/2 with the upstream {at} failed: {e}"))?;
                let task = tokio::spawn(async move {
                    let _ = conn.await;
                });
                Ok((Upstream::H2(sender), task))
            } else {
                let (sender, conn) = client1::handshake(io)
                    .await
                    .map_err(|e| format!("HTTP/1.1 with the upstream {at} failed: {e}"))?;
                let task = tokio::spawn(async move {
                    let _ = conn.await;
                });
                Ok((Upstream::H1(Mutex::new(sender)), task))
            }
        };
        match tokio::time::timeout(shared.handshake_timeout, connect).await {
            Ok(result) => result,
            Err(_) => Err(format!(
                "no TLS connection to the upstream {at} within {} s",
                shared.handshake_timeout.as_secs_f64()
            )),
        }
    }

    async fn send(&self, req: Request<Full<Bytes>>) -> hyper::Result<Response<Incoming>> {
        match self {
            Upstream::H2(sender) => sender.clone().send_request(req).await,
            Upstream::H1(sender) => {
                let mut sender = sender.lock().await;
                sender.ready().await?;
                sender.send_request(req).await
            }
        }
    }
}

/// Why the interceptor could not trust the upstream, in the trust core's words.
fn upstream_tls_words(shared: &Shared, at: &str, e: &std::io::Error) -> String {
    let presented = Presented {
        chain: &[],
        name: &shared.upstream_host,
        cas: &shared.upstream_cas,
    };
    match report::rustls_error(e).and_then(|tls| CertFailure::classify(tls, &presented)) {
        Some(failure) => {
            let ca_file = shared.upstream_cas.file.display().to_string();
            let words = failure.words(
                "the upstream's certificate",
                &shared.upstream_cas,
                &Audience::Pki { ca_file: &ca_file },
            );
            format!(
                "the upstream {at} was refused: {}: {} Pass its CA with --upstream-ca.",
                failure.title(),
                words.what
            )
        }
        None => format!("the TLS handshake with the upstream {at} failed: {e}"),
    }
}

/// One client connection, as its requests see it.
struct Cx {
    shared: Arc<Shared>,
    peer: SocketAddr,
    /// The name the client asked for (SNI), which the forged certificate holds.
    name: String,
    h2: bool,
    sender: Result<Upstream, String>,
    in_flight: AtomicUsize,
    last: std::sync::Mutex<Instant>,
}

/// Headers that belong to one hop, not to the request (RFC 9110, 7.6.1).
const HOP_BY_HOP: [&str; 8] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "host",
];

impl Cx {
    async fn relay(&self, req: Request<Incoming>) -> Response<Full<Bytes>> {
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        let answer = self.relay_one(req).await;
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        if let Ok(mut last) = self.last.lock() {
            *last = Instant::now();
        }
        answer
    }

    async fn relay_one(&self, req: Request<Incoming>) -> Response<Full<Bytes>> {
        let upstream = self.shared.upstream();
        // Never anywhere but the upstream: not a tunnel, not another host by absolute URI.
        if req.method() == Method::CONNECT {
            let target = req.uri().to_string();
            println!(
                "BLOCKED from {}: CONNECT {target} refused: demo_mitm is not a proxy; it relays only to {upstream}",
                self.peer
            );
            return words(
                StatusCode::FORBIDDEN,
                &format!(
                    "demo_mitm refuses CONNECT {target}: it opens no tunnels, and relays only to its upstream {upstream}.\n"
                ),
            );
        }
        if let Some(host) = req.uri().host()
            && !host
                .trim_matches(['[', ']'])
                .eq_ignore_ascii_case(&self.name)
        {
            let target = req.uri().to_string();
            println!(
                "BLOCKED from {}: {} {target} refused: another host than {}; it relays only to {upstream}",
                self.peer,
                req.method(),
                self.name
            );
            return words(
                StatusCode::FORBIDDEN,
                &format!(
                    "demo_mitm refuses {target}: it relays only to its upstream {upstream}, never to another host.\n"
                ),
            );
        }
        let sender = match &self.sender {
            Ok(sender) => sender,
            Err(why) => {
                return words(
                    StatusCode::BAD_GATEWAY,
                    &format!("demo_mitm could not reach its upstream: {why}\n"),
                );
            }
        };
        let (parts, body) = req.into_parts();
        let body = match Limited::new(body, MAX_BODY).collect().await {
            Ok(body) => body.to_bytes(),
            Err(_) => {
                return words(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "demo_mitm relays requests up to 1 MiB, or the request did not arrive whole.\n",
                );
            }
        };
        let path = parts
            .uri
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("/");
        let uri: Uri = if self.h2 {
            format!("https://{upstream}{path}").parse()
        } else {
            path.parse()
        }
        .unwrap_or_else(|_| Uri::from_static("/"));
        let mut out = Request::builder()
            .method(parts.method.clone())
            .uri(uri)
            .version(if self.h2 {
                Version::HTTP_2
            } else {
                Version::HTTP_11
            });
        for (name, value) in &parts.headers {
            if !HOP_BY_HOP.contains(&name.as_str()) {
                out = out.header(name, value);
            }
        }
        if !self.h2
            && let Ok(host) = HeaderValue::from_str(&upstream)
        {
            out = out.header(header::HOST, host);
        }
        let Ok(out) = out.body(Full::new(body.clone())) else {
            return words(
                StatusCode::BAD_REQUEST,
                "demo_mitm could not read this request.\n",
            );
        };
        let answer = async {
            let response = sender.send(out).await.map_err(|e| e.to_string())?;
            let (head, body) = response.into_parts();
            let body = Limited::new(body, MAX_BODY)
                .collect()
                .await
                .map_err(|e| e.to_string())?
                .to_bytes();
            Ok::<_, String>((head, body))
        };
        let (head, answer) = match tokio::time::timeout(self.shared.idle_timeout, answer).await {
            Ok(Ok(done)) => done,
            Ok(Err(e)) => {
                println!("UPSTREAM FAILED for {}: {e}", self.peer);
                return words(
                    StatusCode::BAD_GATEWAY,
                    &format!("demo_mitm's upstream {upstream} failed: {e}\n"),
                );
            }
            Err(_) => {
                return words(
                    StatusCode::GATEWAY_TIMEOUT,
                    &format!("demo_mitm's upstream {upstream} did not answer in time.\n"),
                );
            }
        };
        println!(
            "{}",
            Stolen {
                peer: self.peer,
                protocol: if self.h2 { "h2" } else { "HTTP/1.1" },
                name: &self.name,
                method: &parts.method,
                uri: &parts.uri,
                headers: &parts.headers,
                request_body: &body,
                status: head.status,
                response_body: &answer,
            }
            .line()
        );
        let mut response = Response::builder().status(head.status);
        for (name, value) in &head.headers {
            if !HOP_BY_HOP.contains(&name.as_str()) && name != header::CONTENT_LENGTH {
                response = response.header(name, value);
            }
        }
        response
            .body(Full::new(answer))
            .unwrap_or_else(|_| words(StatusCode::BAD_GATEWAY, "demo_mitm: a bad answer.\n"))
    }
}

fn words(status: StatusCode, text: &str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(text.to_string())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

/// A client configuration for the upstream: the trust core's verifier over `cas`, offering
/// only `alpn`.
pub fn upstream_config(cas: &TrustedCas, alpn: &[u8]) -> Result<Arc<ClientConfig>> {
    let mut config = ClientConfig::builder_with_provider(crate::tls::provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| anyhow!("TLS configuration refused: {e}"))?
        .with_webpki_verifier(crate::tls::trust::verifier(cas)?)
        .with_no_client_auth();
    config.alpn_protocols = vec![alpn.to_vec()];
    Ok(Arc::new(config))
}
