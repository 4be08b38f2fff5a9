//! What the proxy changes in the headers it passes on: it drops those that belong to one hop,
//! and tells the origin who the client was and that the client used HTTPS, which the origin
//! cannot see for itself (its own peer is the proxy, over plain HTTP).

use std::net::IpAddr;

use hyper::header::{CONNECTION, HeaderMap, HeaderName, HeaderValue};

pub const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
pub const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
pub const FORWARDED: HeaderName = HeaderName::from_static("forwarded");

/// Headers that describe one connection, not the message (RFC 9110, 7.6.1), and `Expect`,
/// which the proxy has answered itself (hyper sends the client its `100 Continue`).
const HOP_BY_HOP: [HeaderName; 10] = [
    CONNECTION,
    HeaderName::from_static("keep-alive"),
    HeaderName::from_static("proxy-connection"),
    hyper::header::PROXY_AUTHENTICATE,
    hyper::header::PROXY_AUTHORIZATION,
    hyper::header::TE,
    hyper::header::TRAILER,
    hyper::header::TRANSFER_ENCODING,
    hyper::header::UPGRADE,
    hyper::header::EXPECT,
];

/// Removes the hop-by-hop headers, and every header the `Connection` header names as such.
pub fn strip_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<HeaderName> = headers
        .get_all(CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
        .collect();
    for name in HOP_BY_HOP.iter().chain(&named) {
        headers.remove(name);
    }
}

/// Adds what the origin needs to know about the client's leg: its address appended to
/// `X-Forwarded-For` and `Forwarded` (RFC 7239; earlier proxies' entries are kept, ours last,
/// so the origin should believe only the last one, the one it knows we wrote), and that the
/// client used HTTPS (`X-Forwarded-Proto`, replacing anything the client claimed).
pub fn add_forwarded(headers: &mut HeaderMap, client: IpAddr, host: Option<&str>) {
    let mut ours = format!("for={};proto=https", node(client));
    if let Some(host) = host {
        ours.push_str(";host=");
        ours.push_str(&value(host));
    }
    append(headers, X_FORWARDED_FOR, &client.to_string());
    append(headers, FORWARDED, &ours);
    headers.insert(X_FORWARDED_PROTO, HeaderValue::from_static("https"));
}

/// Joins the header's earlier values and `ours` into one comma-separated list.
fn append(headers: &mut HeaderMap, name: HeaderName, ours: &str) {
    let mut joined = Vec::new();
    for earlier in headers.get_all(&name) {
        joined.extend_from_slice(earlier.as_bytes());
        joined.extend_from_slice(b", ");
    }
    joined.extend_from_slice(ours.as_bytes());
    match HeaderValue::from_bytes(&joined) {
        Ok(v) => {
            headers.insert(name, v);
        }
        // Earlier values are valid header bytes, and so is ours: unreachable, but never panic.
        Err(_) => {
            if let Ok(v) = HeaderValue::from_str(ours) {
                headers.insert(name, v);
            }
        }
    }
}

/// A node in `Forwarded` (RFC 7239, 6): an IPv6 address in brackets, and then quoted, since
/// `[` and `:` may not appear in a token.
fn node(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => format!("\"[{v6}]\""),
    }
}

/// A `Forwarded` value: a token as is, anything else as a quoted string (RFC 7230's `tchar`s).
fn value(v: &str) -> String {
    let tchar = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
    if !v.is_empty() && v.chars().all(tchar) {
        return v.to_string();
    }
    let mut quoted = String::from("\"");
    for c in v.chars() {
        if c == '"' || c == '\\' {
            quoted.push('\\');
        }
        quoted.push(c);
    }
    quoted.push('"');
    quoted
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    #[test]
    fn hop_by_hop_headers_and_those_connection_names_are_dropped() {
        let mut h = map(&[
            ("connection", "keep-alive, X-Hop"),
            ("keep-alive", "timeout=5"),
            ("x-hop", "1"),
            ("te", "trailers"),
            ("transfer-encoding", "chunked"),
            ("upgrade", "websocket"),
            ("proxy-authorization", "Basic eA=="),
            ("expect", "100-continue"),
            ("x-kept", "yes"),
            ("host", "localhost:8443"),
        ]);
        strip_hop_by_hop(&mut h);
        let mut left: Vec<&str> = h.keys().map(|k| k.as_str()).collect();
        left.sort();
        assert_eq!(left, ["host", "x-kept"]);
    }

    #[test]
    fn the_client_is_appended_and_the_scheme_is_https() {
        let mut h = map(&[
            ("x-forwarded-for", "203.0.113.7"),
            ("x-forwarded-for", "198.51.100.1"),
            ("x-forwarded-proto", "http"),
            ("forwarded", "for=203.0.113.7"),
        ]);
        add_forwarded(&mut h, "127.0.0.1".parse().unwrap(), Some("localhost:8443"));
        assert_eq!(h[X_FORWARDED_FOR], "203.0.113.7, 198.51.100.1, 127.0.0.1");
        assert_eq!(h[X_FORWARDED_PROTO], "https");
        assert_eq!(
            h[FORWARDED],
            "for=203.0.113.7, for=127.0.0.1;proto=https;host=\"localhost:8443\""
        );
        assert_eq!(h.get_all(X_FORWARDED_FOR).iter().count(), 1);
    }

    #[test]
    fn ipv6_is_bracketed_and_quoted_and_a_token_host_is_not() {
        let mut h = HeaderMap::new();
        add_forwarded(&mut h, "::1".parse().unwrap(), Some("localhost"));
        assert_eq!(h[FORWARDED], "for=\"[::1]\";proto=https;host=localhost");
        assert_eq!(h[X_FORWARDED_FOR], "::1");
        let mut h = HeaderMap::new();
        add_forwarded(&mut h, "::1".parse().unwrap(), None);
        assert_eq!(h[FORWARDED], "for=\"[::1]\";proto=https");
        assert_eq!(value("a\"b\\c"), "\"a\\\"b\\\\c\"");
    }
}
