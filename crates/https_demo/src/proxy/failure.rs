//! What went wrong between the proxy and its origin, classified once from the client's typed
//! errors, and the page the visitor gets: which origin, what happened, what to do.

use std::error::Error as _;
use std::io;
use std::time::Duration;

use hyper::StatusCode;

use super::origin::Origin;

/// Why the proxy has no answer from the origin to pass on.
#[derive(Debug, PartialEq, Eq)]
pub enum OriginFailure {
    /// Nothing listens on the origin's port.
    Refused,
    /// The connection was not accepted in time.
    ConnectTimeout(Duration),
    /// Connected, but the app closed the connection without answering.
    Closed,
    /// What came back is not HTTP/1.x (a TLS server, say).
    NotHttp,
    /// Connected, the request went out, and nothing came back in time.
    Silent(Duration),
    /// Anything else the system reported, in its own words.
    Io(String),
}

impl OriginFailure {
    /// Classifies the pooled client's error by walking its typed causes.
    pub fn classify(e: &hyper_util::client::legacy::Error, limit: Duration) -> OriginFailure {
        let mut cause: Option<&(dyn std::error::Error + 'static)> = e.source();
        let mut last_io = None;
        while let Some(c) = cause {
            if let Some(io) = c.downcast_ref::<io::Error>() {
                match io.kind() {
                    io::ErrorKind::ConnectionRefused => return OriginFailure::Refused,
                    io::ErrorKind::TimedOut if e.is_connect() => {
                        return OriginFailure::ConnectTimeout(limit);
                    }
                    _ => last_io = Some(io.to_string()),
                }
            }
            if let Some(h) = c.downcast_ref::<hyper::Error>() {
                if h.is_incomplete_message() {
                    return OriginFailure::Closed;
                }
                if h.is_parse() || h.is_parse_status() {
                    return OriginFailure::NotHttp;
                }
            }
            cause = c.source();
        }
        match last_io {
            Some(words) => OriginFailure::Io(words),
            None if e.is_connect() => OriginFailure::Io("the connection failed".into()),
            None => OriginFailure::Closed,
        }
    }

    /// 504 when the origin was too slow, 502 when it could not give an answer.
    pub fn status(&self) -> StatusCode {
        match self {
            OriginFailure::ConnectTimeout(_) | OriginFailure::Silent(_) => {
                StatusCode::GATEWAY_TIMEOUT
            }
            _ => StatusCode::BAD_GATEWAY,
        }
    }

    /// What happened, in a clause: "nothing listens there (connection refused)".
    pub fn what(&self) -> String {
        match self {
            OriginFailure::Refused => "nothing listens there (connection refused)".into(),
            OriginFailure::ConnectTimeout(t) => format!(
                "it did not accept the connection within {} s",
                t.as_secs_f32()
            ),
            OriginFailure::Closed => "the app closed the connection without answering".into(),
            OriginFailure::NotHttp => "what came back is not an HTTP/1.1 answer".into(),
            OriginFailure::Silent(t) => format!(
                "the app took the request but sent no answer within {} s (--upstream-timeout)",
                t.as_secs_f32()
            ),
            OriginFailure::Io(words) => format!("the connection failed: {words}"),
        }
    }

    /// The page the visitor gets.
    pub fn page(&self, origin: &Origin) -> String {
        let port = origin.addr().port();
        let next = match self {
            OriginFailure::Refused => format!(
                "Start the app on that port (for example: python3 -m http.server {port} --bind {ip}), or restart \
                 demo_server with --upstream naming the port your app listens on.",
                ip = origin.addr().ip()
            ),
            OriginFailure::ConnectTimeout(_) | OriginFailure::Io(_) => {
                "Check that the app is running and healthy, then reload this page.".into()
            }
            OriginFailure::Closed => {
                "Look at the app's own log: it may have crashed on this request. Then reload this page.".into()
            }
            OriginFailure::NotHttp => "The origin must speak plain HTTP: demo_server is where TLS ends. If the app \
                 serves HTTPS itself, give --upstream its plain-HTTP port instead."
                .into(),
            OriginFailure::Silent(_) => "The app may be stuck or busy: look at its log. For pages that take longer, \
                 restart demo_server with a larger --upstream-timeout."
                .into(),
        };
        format!(
            "{} {}: demo_server, the proxy, received your request over HTTPS but got no answer from its origin, \
             the plain-HTTP app at {origin}: {}.\n{next}\n",
            self.status().as_u16(),
            self.status().canonical_reason().unwrap_or_default(),
            self.what()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_page_names_the_origin_what_happened_and_what_to_do() {
        let origin: Origin = "http://127.0.0.1:5000".parse().unwrap();
        let refused = OriginFailure::Refused.page(&origin);
        assert!(refused.starts_with("502 Bad Gateway: "), "{refused}");
        assert!(refused.contains("http://127.0.0.1:5000/"), "{refused}");
        assert!(refused.contains("connection refused"), "{refused}");
        assert!(
            refused.contains("python3 -m http.server 5000 --bind 127.0.0.1"),
            "{refused}"
        );
        let slow = OriginFailure::Silent(Duration::from_secs(2)).page(&origin);
        assert!(slow.starts_with("504 Gateway Timeout: "), "{slow}");
        assert!(slow.contains("within 2 s"), "{slow}");
    }
}
