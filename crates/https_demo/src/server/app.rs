//! The app both transports serve: the secret message at `/`, as in the classic Python demo.

use std::sync::Arc;

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::header::{ALLOW, CONTENT_TYPE, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};

/// The tutorial's secret. Over plain HTTP Wireshark shows it; over HTTPS it does not.
pub const SECRET_MESSAGE: &str = "fluffy tail";

#[derive(Clone)]
pub struct App {
    message: Arc<str>,
}

impl Default for App {
    fn default() -> Self {
        App {
            message: SECRET_MESSAGE.into(),
        }
    }
}

/// The longest `/delay/N` the app grants: enough to watch a slow request survive Ctrl-C.
pub const MAX_DELAY_SECS: u64 = 10;

impl App {
    pub async fn respond<B>(&self, req: &Request<B>) -> Response<Full<Bytes>> {
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
            (&Method::GET | &Method::HEAD, "/") => text(StatusCode::OK, self.message.to_string()),
            (_, "/") => {
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
            .body(())
            .unwrap();
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap()
            .block_on(App::default().respond(&req))
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
}
