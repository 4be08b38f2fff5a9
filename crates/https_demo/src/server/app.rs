//! The app both transports serve: the secret message at `/`, as in the classic Python demo.

use std::sync::Arc;

use http_body_util::{Either, Full};
use hyper::body::{Bytes, Incoming};
use hyper::header::{ACCEPT, ALLOW, CONTENT_TYPE, HOST, HeaderValue};
use hyper::{Method, Request, Response, StatusCode, Version};

/// The tutorial's secret. Over plain HTTP Wireshark shows it; over HTTPS it does not.
pub const SECRET_MESSAGE: &str = "fluffy tail";

use super::facts::ConnectionFacts;
use super::handshake_page;
use super::pages;
use crate::proxy::{Answer, Proxy};
use crate::tls::trust::ClientAuth;

#[derive(Clone)]
pub struct App {
    message: Arc<str>,
    /// "From A to B I am X according to Y" of the certificate the server sends, if any.
    server_certificate: Option<Arc<str>>,
    /// With a shared Fernet key, `/` answers the message encrypted with it (the tutorial's
    /// symmetric step).
    fernet: Option<Arc<fernet::Fernet>>,
    /// Whether the TLS configuration asks visitors for a certificate (`--client-auth`).
    client_auth: Option<ClientAuth>,
    /// The names of the CAs of `--client-ca`, for the log's refusals.
    client_cas: Arc<[String]>,
    /// `--upstream`: the app behind this server, which answers every page but the server's own.
    upstream: Option<Arc<Proxy>>,
    /// `--acme`: the answers to the CA's validator (http-01 tokens).
    acme: Option<Arc<crate::acme::challenge::Answers>>,
}

impl Default for App {
    fn default() -> Self {
        App {
            message: SECRET_MESSAGE.into(),
            server_certificate: None,
            fernet: None,
            client_auth: None,
            client_cas: Arc::new([]),
            upstream: None,
            acme: None,
        }
    }
}

/// The longest `/delay/N` the app grants: enough to watch a slow request survive Ctrl-C.
pub const MAX_DELAY_SECS: u64 = 10;

/// Whether the client prefers `kind` (e.g. "text/html") to plain text: curl and demo_client
/// send `*/*` or nothing and keep getting plain text.
fn accepts<B>(req: &Request<B>, kind: &str) -> bool {
    req.headers()
        .get_all(ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains(kind))
}

impl App {
    pub fn with_fernet(mut self, key: fernet::Fernet) -> Self {
        self.fernet = Some(Arc::new(key));
        self
    }

    pub fn with_server_certificate(mut self, sentence: String) -> Self {
        self.server_certificate = Some(sentence.into());
        self
    }

    /// Records that the server asks visitors for a certificate, for the pages to say so.
    pub fn with_client_auth(mut self, mode: ClientAuth, cas: Vec<String>) -> Self {
        self.client_auth = Some(mode);
        self.client_cas = cas.into();
        self
    }

    /// Forwards every request to `proxy`'s origin, but those for the server's own pages.
    pub fn with_upstream(mut self, proxy: Proxy) -> Self {
        self.upstream = Some(Arc::new(proxy));
        self
    }

    /// Answers one request: the origin's answer when there is an upstream, else the app's.
    /// `in_flight` is dropped once the answer is handed over: at once for the app's own pages,
    /// when the last piece is passed on for an origin's streamed answer.
    pub async fn serve<G: Send + 'static>(
        &self,
        req: Request<Incoming>,
        facts: &ConnectionFacts,
        in_flight: G,
    ) -> Answer {
        if let Some(proxy) = &self.upstream
            && proxy.forwards(req.uri().path())
        {
            // Boxed: its future is large, and every request's future would carry its size.
            return Box::pin(proxy.forward(req, facts.peer, in_flight)).await;
        }
        let answer = self.respond(&req, facts).await.map(Either::Left);
        drop(in_flight);
        answer
    }

    /// Answers the ACME CA's validator (`demo_server --acme`).
    pub fn with_acme_answers(mut self, answers: Arc<crate::acme::challenge::Answers>) -> Self {
        self.acme = Some(answers);
        self
    }

    /// The http-01 answer for a plain-HTTP request line, when it asks for a token we hold.
    pub fn acme_http01(&self, request_line: &str) -> Option<(String, String)> {
        let token = crate::acme::challenge::http01_token(request_line)?;
        let answer = self.acme.as_ref()?.http01(token)?;
        Some((token.to_string(), answer))
    }

    /// The CA's tls-alpn-01 validator completed its handshake with us.
    pub fn acme_tls_alpn01_seen(&self, peer: std::net::SocketAddr, sni: Option<&str>) {
        if let Some(answers) = &self.acme {
            answers.tls_alpn01_seen(peer, sni);
        }
    }

    pub fn client_cas(&self) -> &[String] {
        &self.client_cas
    }

    pub fn client_auth(&self) -> Option<ClientAuth> {
        self.client_auth
    }

    pub async fn respond<B>(
        &self,
        req: &Request<B>,
        facts: &ConnectionFacts,
    ) -> Response<Full<Bytes>> {
        // RFC 9112 §3.2: an HTTP/1.1 request without a Host header, or with more than one, gets
        // 400. (HTTP/1.0 has none to give; h2 names the host in :authority.)
        let hosts = req.headers().get_all(HOST).iter().count();
        if req.version() == Version::HTTP_11 && hosts != 1 {
            return text(
                StatusCode::BAD_REQUEST,
                format!(
                    "An HTTP/1.1 request names its host in exactly one Host header (RFC 9112, section 3.2); \
                     this one has {hosts}. Send one, e.g. Host: localhost.\n"
                ),
            );
        }
        let path = req.uri().path();
        if let Some(secs) = path.strip_prefix("/delay/") {
            return match secs.parse::<u64>() {
                Ok(secs) if secs <= MAX_DELAY_SECS => {
                    tracing::info!("holding the answer to {path} for {secs} s");
                    tokio::time::sleep(std::time::Duration::from_secs(secs)).await;
                    text(StatusCode::OK, format!("{} (after {secs} s)", self.message))
                }
                _ => text(
                    StatusCode::BAD_REQUEST,
                    format!(
                        "/delay/N takes a whole number of seconds from 0 to {MAX_DELAY_SECS}.\n"
                    ),
                ),
            };
        }
        match (req.method(), path) {
            (&Method::GET | &Method::HEAD, "/") if self.fernet.is_some() => {
                let key = self.fernet.as_deref().expect("checked");
                text(
                    StatusCode::OK,
                    crate::symmetric::encrypt(key, &self.message),
                )
            }
            (&Method::GET | &Method::HEAD, "/") if accepts(req, "text/html") => {
                html(pages::with_voucher(
                    pages::secret_html(&self.message, facts),
                    facts,
                    self.server_certificate.as_deref(),
                ))
            }
            (&Method::GET | &Method::HEAD, "/") => match pages::greeting(facts) {
                Some(hello) => text(StatusCode::OK, format!("{hello}\n{}", self.message)),
                None => text(StatusCode::OK, self.message.to_string()),
            },
            (&Method::GET | &Method::HEAD, "/connection") if accepts(req, "application/json") => {
                let mut res = Response::new(Full::new(Bytes::from(
                    serde_json::to_string_pretty(&serde_json::json!({
                        "connection": facts,
                        "http_version": format!("{:?}", req.version()),
                        "server_certificate": self.server_certificate.as_deref(),
                    }))
                    .unwrap_or_default(),
                )));
                res.headers_mut()
                    .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
                res
            }
            (&Method::GET | &Method::HEAD, "/connection") => html(pages::connection_html(
                facts,
                self.server_certificate.as_deref(),
            )),
            (&Method::GET | &Method::HEAD, "/handshake") if accepts(req, "application/json") => {
                let mut res = Response::new(Full::new(Bytes::from(
                    serde_json::to_string_pretty(&handshake_page::handshake_json(facts))
                        .unwrap_or_default(),
                )));
                res.headers_mut()
                    .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
                res
            }
            (&Method::GET | &Method::HEAD, "/handshake") => html(handshake_page::handshake_html(
                facts,
                self.server_certificate.as_deref(),
            )),
            (_, "/" | "/connection" | "/handshake") => {
                let mut res = text(
                    StatusCode::METHOD_NOT_ALLOWED,
                    format!(
                        "{} is not allowed here: this page answers GET (and HEAD) only.\n",
                        req.method()
                    ),
                );
                res.headers_mut()
                    .insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
                res
            }
            (_, path) => text(
                StatusCode::NOT_FOUND,
                format!("Nothing at {path}. The secret message is at /.\n"),
            ),
        }
    }
}

fn html(body: String) -> Response<Full<Bytes>> {
    let mut res = Response::new(Full::new(Bytes::from(body)));
    res.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    res
}

pub fn text(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    let mut res = Response::new(Full::new(Bytes::from(body)));
    *res.status_mut() = status;
    res.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(method: Method, path: &str) -> Response<Full<Bytes>> {
        let req = Request::builder()
            .method(method)
            .uri(path)
            .header(HOST, "localhost")
            .body(())
            .unwrap();
        respond(req)
    }

    fn respond(req: Request<()>) -> Response<Full<Bytes>> {
        let facts = ConnectionFacts {
            peer: "127.0.0.1:1".parse().unwrap(),
            tls: None,
        };
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap()
            .block_on(App::default().respond(&req, &facts))
    }

    #[test]
    fn routes() {
        assert_eq!(call(Method::GET, "/delay/0").status(), StatusCode::OK);
        assert_eq!(
            call(Method::GET, "/delay/11").status(),
            StatusCode::BAD_REQUEST
        );
        assert_eq!(call(Method::GET, "/").status(), StatusCode::OK);
        assert_eq!(call(Method::HEAD, "/").status(), StatusCode::OK);
        let post = call(Method::POST, "/");
        assert_eq!(post.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(post.headers()[ALLOW], "GET, HEAD");
        assert_eq!(call(Method::GET, "/nope").status(), StatusCode::NOT_FOUND);
    }

    #[test]
    fn http11_needs_exactly_one_host() {
        let with_hosts = |version, hosts: &[&str]| {
            let mut req = Request::builder().uri("/").version(version);
            for h in hosts {
                req = req.header(HOST, *h);
            }
            respond(req.body(()).unwrap()).status()
        };
        assert_eq!(with_hosts(Version::HTTP_11, &["a"]), StatusCode::OK);
        assert_eq!(with_hosts(Version::HTTP_11, &[]), StatusCode::BAD_REQUEST);
        assert_eq!(
            with_hosts(Version::HTTP_11, &["a", "b"]),
            StatusCode::BAD_REQUEST
        );
        assert_eq!(with_hosts(Version::HTTP_10, &[]), StatusCode::OK);
        assert_eq!(with_hosts(Version::HTTP_2, &[]), StatusCode::OK);
    }
}
