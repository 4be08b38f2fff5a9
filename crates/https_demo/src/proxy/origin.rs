//! The one place the proxy forwards to, checked once at start: a plain-HTTP app on this machine.
//!
//! Only `http://`: the proxy is where TLS ends, and the leg behind it is the clear-text one seed
//! 004 describes ("forwarded to your origin server, unencrypted"). Only loopback: that clear leg
//! must never leave the machine, or anyone on the path reads what the client encrypted.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::str::FromStr;

use hyper::Uri;

/// The app behind the proxy, e.g. `http://127.0.0.1:5000/`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    addr: SocketAddr,
}

/// Why an `--upstream` URL was refused at start.
#[derive(Debug, PartialEq, Eq)]
pub enum OriginError {
    /// Not a URL at all, or no `http://` in front.
    NotAUrl(String),
    /// `https://` or another scheme.
    NotHttp(String),
    /// A name or address that is not this machine's loopback.
    NotLoopback(String),
    /// `user@host`, a path, or a query: the proxy forwards the client's own path.
    Extra(String),
    PortZero,
}

const EXAMPLE: &str = "--upstream http://127.0.0.1:5000";

impl fmt::Display for OriginError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OriginError::NotAUrl(given) => write!(
                f,
                "{given:?} is not an origin URL: give the app's plain-HTTP address with its scheme, e.g. {EXAMPLE}"
            ),
            OriginError::NotHttp(scheme) => write!(
                f,
                "the origin must be a plain http:// URL, not {scheme}://: demo_server is where TLS ends, and it \
                 forwards to the app behind it in clear text, on this machine. Give the app's HTTP port, e.g. {EXAMPLE}"
            ),
            OriginError::NotLoopback(host) => write!(
                f,
                "the origin must be on this machine (127.0.0.1, [::1] or localhost), not {host}: demo_server forwards \
                 in clear text, which is safe only when the plain leg never leaves the machine. Run the app here, \
                 e.g. {EXAMPLE}"
            ),
            OriginError::Extra(part) => write!(
                f,
                "the origin is a scheme, an address and a port only, without {part}: demo_server forwards each \
                 request's own path. E.g. {EXAMPLE}"
            ),
            OriginError::PortZero => write!(
                f,
                "the origin needs the port the app listens on, not 0, e.g. {EXAMPLE}"
            ),
        }
    }
}

impl std::error::Error for OriginError {}

impl FromStr for Origin {
    type Err = OriginError;

    fn from_str(given: &str) -> Result<Origin, OriginError> {
        let not_url = || OriginError::NotAUrl(given.to_string());
        let uri: Uri = given.parse().map_err(|_| not_url())?;
        match uri.scheme_str() {
            Some("http") => {}
            Some(other) => return Err(OriginError::NotHttp(other.to_ascii_lowercase())),
            None => return Err(not_url()),
        }
        let authority = uri.authority().ok_or_else(not_url)?;
        if authority.as_str().contains('@') {
            return Err(OriginError::Extra("a user name".into()));
        }
        if let Some(pq) = uri.path_and_query()
            && pq.as_str() != "/"
            && !pq.as_str().is_empty()
        {
            return Err(OriginError::Extra(format!("the path {}", pq.as_str())));
        }
        let host = authority.host();
        // `localhost` is 127.0.0.1 here, not whatever a resolver says: the check above must
        // hold for the address actually dialled.
        let ip = if host.eq_ignore_ascii_case("localhost") {
            IpAddr::V4(Ipv4Addr::LOCALHOST)
        } else {
            host.trim_start_matches('[')
                .trim_end_matches(']')
                .parse::<IpAddr>()
                .map_err(|_| OriginError::NotLoopback(host.to_string()))?
        };
        if !ip.is_loopback() {
            return Err(OriginError::NotLoopback(host.to_string()));
        }
        let port = uri.port_u16().unwrap_or(80);
        if port == 0 {
            return Err(OriginError::PortZero);
        }
        Ok(Origin {
            addr: SocketAddr::new(ip, port),
        })
    }
}

impl Origin {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `127.0.0.1:5000` or `[::1]:5000`: the authority of every forwarded request's URI.
    pub fn authority(&self) -> String {
        self.addr.to_string()
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "http://{}/", self.addr)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_http_origins_are_accepted() {
        for (given, shown) in [
            ("http://127.0.0.1:5000", "http://127.0.0.1:5000/"),
            ("http://127.0.0.1:5000/", "http://127.0.0.1:5000/"),
            ("HTTP://localhost:8000", "http://127.0.0.1:8000/"),
            ("http://[::1]:8000", "http://[::1]:8000/"),
            ("http://127.0.0.2", "http://127.0.0.2:80/"),
        ] {
            let origin: Origin = given.parse().unwrap_or_else(|e| panic!("{given}: {e}"));
            assert_eq!(origin.to_string(), shown);
        }
    }

    #[test]
    fn anything_else_is_refused_with_a_reason() {
        use OriginError::*;
        let refused = |given: &str| given.parse::<Origin>().unwrap_err();
        assert_eq!(refused("https://127.0.0.1:5000"), NotHttp("https".into()));
        assert_eq!(refused("127.0.0.1:5000"), NotAUrl("127.0.0.1:5000".into()));
        assert_eq!(refused("http://"), NotAUrl("http://".into()));
        assert_eq!(
            refused("http://10.0.0.5:80"),
            NotLoopback("10.0.0.5".into())
        );
        assert_eq!(
            refused("http://[2001:db8::1]:80"),
            NotLoopback("[2001:db8::1]".into())
        );
        assert_eq!(
            refused("http://example.com"),
            NotLoopback("example.com".into())
        );
        assert_eq!(refused("http://127.0.0.1:0"), PortZero);
        assert!(matches!(refused("http://127.0.0.1:5000/app"), Extra(_)));
        assert!(matches!(refused("http://127.0.0.1:5000/?a=b"), Extra(_)));
        assert!(matches!(refused("http://u@127.0.0.1:5000"), Extra(_)));
        // Every refusal says what to give instead.
        for e in [
            refused("https://x"),
            refused("http://10.0.0.5"),
            refused("x y"),
        ] {
            assert!(e.to_string().contains(EXAMPLE), "{e}");
        }
    }
}
