//! Step 6's request: one GET over the verified TLS stream with hyper's client connection,
//! HTTP/2 or HTTP/1.1 as ALPN chose, reading at most [`MAX_BODY`] of the answer.

use std::error::Error;

use http_body_util::{BodyExt, Empty};
use hyper::body::{Bytes, Incoming};
use hyper::{Response, header};
use hyper_util::rt::{TokioExecutor, TokioIo};

use crate::client::fetch::{ACCEPT, MAX_BODY, Target};

/// Why the GET gave no answer.
pub enum Fetch {
    Http(Box<dyn Error + Send + Sync>),
    TooLong,
}

impl From<hyper::Error> for Fetch {
    fn from(e: hyper::Error) -> Fetch {
        Fetch::Http(Box::new(e))
    }
}

impl From<hyper::http::Error> for Fetch {
    fn from(e: hyper::http::Error) -> Fetch {
        Fetch::Http(Box::new(e))
    }
}

/// One GET: the status, the Content-Type, and the body up to [`MAX_BODY`].
pub async fn get<IO>(
    io: TokioIo<IO>,
    h2: bool,
    target: &Target,
) -> Result<(hyper::StatusCode, Option<String>, Vec<u8>), Fetch>
where
    IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let response: Response<Incoming> = if h2 {
        let (mut send, conn) =
            hyper::client::conn::http2::handshake(TokioExecutor::new(), io).await?;
        tokio::spawn(conn);
        // HTTP/2 carries the scheme and authority as pseudo-headers, taken from the full URL.
        let request = hyper::Request::get(target.url.as_str())
            .header(header::ACCEPT, ACCEPT)
            .body(Empty::<Bytes>::new())?;
        send.send_request(request).await?
    } else {
        let (mut send, conn) = hyper::client::conn::http1::handshake(io).await?;
        tokio::spawn(conn);
        let path = match target.url.query() {
            Some(q) => format!("{}?{q}", target.url.path()),
            None => target.url.path().to_string(),
        };
        let request = hyper::Request::get(path)
            .header(header::HOST, target.authority())
            .header(header::ACCEPT, ACCEPT)
            .body(Empty::<Bytes>::new())?;
        send.send_request(request).await?
    };
    let status = response.status();
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let mut body = response.into_body();
    let mut bytes = Vec::new();
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame?.into_data() {
            if bytes.len() + data.len() > MAX_BODY {
                return Err(Fetch::TooLong);
            }
            bytes.extend_from_slice(&data);
        }
    }
    Ok((status, content_type, bytes))
}
