//! The TLS-terminating proxy (`demo_server --upstream http://127.0.0.1:PORT`): what seed 004 says
//! about Cloudflare, on one machine. The visitor's connection is HTTPS and ends here; each
//! request then goes on to the app, the origin, in plain HTTP ("forwarded to your origin server,
//! unencrypted"). The Wireshark lab shows the same secret on both legs.
//!
//! - [`origin`]: the one place it forwards to, checked at start (http://, loopback only).
//! - [`headers`]: hop-by-hop headers dropped; `X-Forwarded-For`, `X-Forwarded-Proto` and
//!   `Forwarded` added, the only way the origin learns who the client was and that it used TLS.
//! - [`body`]: bodies streamed both ways, bounded in memory and in silence.
//! - [`failure`]: an origin that is down or slow, in words (502, 504).
//!
//! `/connection` and `/handshake` stay the server's own pages: they describe the TLS leg, which
//! only the proxy saw (like Cloudflare's `/cdn-cgi/` paths, they never reach the origin).

pub mod body;
pub mod failure;
pub mod headers;
pub mod origin;

use std::net::SocketAddr;
use std::time::Duration;

use http_body_util::{Either, Full};
use hyper::body::{Body as _, Bytes, Incoming};
use hyper::header::{CONTENT_TYPE, HOST, HeaderValue};
use hyper::http::uri::Scheme;
use hyper::{Method, Request, Response, StatusCode, Uri, Version};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};

pub use body::Download;
pub use failure::OriginFailure;
pub use origin::{Origin, OriginError};

/// A response the server sends: a page of its own, whole, or an origin's answer, streamed.
pub type Answer = Response<Either<Full<Bytes>, Download>>;

/// The largest piece of a body read from the origin at once (hyper's read buffer for that
/// connection): with one piece queued and one being sent, a transfer of any size costs a few
/// of these.
pub const CHUNK: usize = 64 * 1024;

/// The paths the proxy answers itself: its pages about the TLS leg.
pub const OWN_PAGES: [&str; 2] = ["/connection", "/handshake"];

/// The default of `--upstream-timeout`: nginx's `proxy_read_timeout` is 60 s; a demo app
/// answers in milliseconds.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

pub struct Proxy {
    origin: Origin,
    /// Connect, wait for the answer, and any silence in the middle of a body.
    timeout: Duration,
    /// Kept-alive connections to the origin, shared by every visitor.
    client: Client<HttpConnector, body::Upload>,
}

impl Proxy {
    pub fn new(origin: Origin, timeout: Duration) -> Proxy {
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(timeout));
        connector.set_nodelay(true);
        let client = Client::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .http1_max_buf_size(CHUNK)
            .build(connector);
        Proxy {
            origin,
            timeout,
            client,
        }
    }

    pub fn origin(&self) -> &Origin {
        &self.origin
    }

    /// Whether a request for `path` goes to the origin (everything but [`OWN_PAGES`]).
    pub fn forwards(&self, path: &str) -> bool {
        !OWN_PAGES.contains(&path)
    }

    /// Passes one request to the origin and its answer back, or says why it cannot. `in_flight`
    /// is kept until the answer's last piece is handed to the client's connection (or it is cut
    /// off), so that the server's watchdog does not take a long transfer for an idle connection,
    /// and does take over once the transfer has stopped.
    pub async fn forward<G: Send + 'static>(
        &self,
        req: Request<Incoming>,
        client: SocketAddr,
        in_flight: G,
    ) -> Answer {
        let uri = match self.target(&req) {
            Ok(uri) => uri,
            Err(refused) => {
                tracing::info!(peer = %client, method = %req.method(), target = %req.uri(), "refused: {}", refused.1.lines().next().unwrap_or_default());
                return page(refused.0, refused.1);
            }
        };
        let (mut parts, body) = req.into_parts();
        // The host the client asked for: h2's :authority, or HTTP/1.1's Host.
        let host = match parts.headers.get(HOST) {
            Some(h) => h.to_str().ok().map(str::to_string),
            None => parts.uri.authority().map(|a| a.to_string()),
        };
        headers::strip_hop_by_hop(&mut parts.headers);
        headers::add_forwarded(&mut parts.headers, client.ip(), host.as_deref());
        if let Some(h) = host.as_deref().and_then(|h| HeaderValue::from_str(h).ok()) {
            parts.headers.insert(HOST, h);
        }
        parts.uri = uri;
        // HTTP/1.1 to the origin, whatever the client spoke (h2 included).
        parts.version = Version::HTTP_11;
        let progress = body::Progress::new();
        let upload = body::Upload::new(body, progress.clone(), self.timeout);
        let sent = self.client.request(Request::from_parts(parts, upload));
        let failure = match progress.within(self.timeout, sent).await {
            Some(Ok(res)) => return self.answer(res, client, in_flight),
            Some(Err(e)) => OriginFailure::classify(&e, self.timeout),
            None => OriginFailure::Silent(self.timeout),
        };
        tracing::warn!(peer = %client, origin = %self.origin, "no answer from the origin: {}", failure.what());
        page(failure.status(), failure.page(&self.origin))
    }

    /// The origin's URI for this request: its own scheme and address, the client's path. Only
    /// a path is accepted: a full URL (what a client sends a forward proxy) or a CONNECT would
    /// ask to go somewhere else, and an open proxy is what this must never be.
    fn target<B>(&self, req: &Request<B>) -> Result<Uri, (StatusCode, String)> {
        let forbidden = |what: String| {
            Err((
                StatusCode::FORBIDDEN,
                format!(
                    "403 Forbidden: {what}. demo_server forwards only to its own origin, {}, and only requests for a \
                     path (GET /page), never for a full URL or a tunnel: it is a reverse proxy for one app, not an \
                     open proxy. Ask for the path alone, e.g. GET / with Host: localhost.\n",
                    self.origin
                ),
            ))
        };
        if req.method() == Method::CONNECT {
            return forbidden(format!(
                "CONNECT {} refused: demo_server opens no tunnels",
                req.uri()
            ));
        }
        // h2 always names the scheme and authority (pseudo-headers); HTTP/1.x does only in the
        // absolute form, the one a forward proxy gets.
        if req.version() < Version::HTTP_2 && req.uri().scheme().is_some() {
            return forbidden(format!(
                "{} {} refused: a full URL",
                req.method(),
                req.uri()
            ));
        }
        // `OPTIONS *` and the like name the server itself, not a page of the app.
        let Some(path) = req
            .uri()
            .path_and_query()
            .filter(|p| p.as_str().starts_with('/'))
            .cloned()
        else {
            return Err((
                StatusCode::BAD_REQUEST,
                format!(
                    "400 Bad Request: {} {} names no path; demo_server forwards requests for a path, e.g. GET /.\n",
                    req.method(),
                    req.uri()
                ),
            ));
        };
        Uri::builder()
            .scheme(Scheme::HTTP)
            .authority(self.origin.authority())
            .path_and_query(path)
            .build()
            .map_err(|_| {
                (
                    StatusCode::BAD_REQUEST,
                    "400 Bad Request: demo_server could not read this request's path.\n".into(),
                )
            })
    }

    /// The origin's answer, its hop-by-hop headers dropped, its body streamed.
    fn answer<G: Send + 'static>(
        &self,
        res: Response<Incoming>,
        client: SocketAddr,
        in_flight: G,
    ) -> Answer {
        let (mut parts, body) = res.into_parts();
        headers::strip_hop_by_hop(&mut parts.headers);
        let origin = self.origin.clone();
        let body = if body.is_end_stream() {
            Either::Left(Full::default())
        } else {
            Either::Right(body::stream(body, self.timeout, in_flight, move |why| {
                tracing::warn!(peer = %client, origin = %origin, "answer cut off: {why}");
            }))
        };
        Response::from_parts(parts, body)
    }
}

fn page(status: StatusCode, words: String) -> Answer {
    let mut res = Response::new(Either::Left(Full::new(Bytes::from(words))));
    *res.status_mut() = status;
    res.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    res
}
