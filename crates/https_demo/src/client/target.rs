//! The server a URL names: the name its certificate must hold, its port, and whether it speaks
//! TLS. Both the request ([`super::fetch`]) and the words of its failures ([`super::diagnose`])
//! read it.

use anyhow::{Result, anyhow, bail};
use reqwest::Url;
use rustls_pki_types::ServerName;

/// Where the demo's server listens.
pub const DEFAULT_URL: &str = "https://localhost:8080/";

/// The server, as the URL names it.
#[derive(Clone, Debug)]
pub struct Target {
    pub url: Url,
    /// The name the certificate must hold: a DNS name or an IP address, without brackets.
    pub name: String,
    pub port: u16,
    pub tls: bool,
}

impl Target {
    pub fn parse(url: &str) -> Result<Target> {
        let url = Url::parse(url)
            .map_err(|e| anyhow!("{url} is not a URL ({e}). Give one like {DEFAULT_URL}"))?;
        let tls = match url.scheme() {
            "https" => true,
            "http" => false,
            other => bail!(
                "{url} uses {other}://; demo_client speaks https:// (and http://, to show the difference)"
            ),
        };
        let Some(host) = url.host_str() else {
            bail!("{url} names no server. Give one like {DEFAULT_URL}");
        };
        let name = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let port = url.port_or_known_default().unwrap_or(443);
        Ok(Target {
            url,
            name,
            port,
            tls,
        })
    }

    /// The name as rustls types it (a DNS name or an IP address), for the handshake and the
    /// certificate check: the trust core's one parser of names.
    pub fn server_name(&self) -> Result<ServerName<'static>> {
        crate::tls::trust::server_name(&self.name)
    }

    /// `host:port` as the URL writes it (`[::1]:8080`).
    pub fn authority(&self) -> String {
        format!(
            "{}:{}",
            self.url.host_str().unwrap_or(&self.name),
            self.port
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_name_what_the_certificate_must_hold() {
        let t = Target::parse("https://[::1]:8443/x").unwrap();
        assert_eq!((t.name.as_str(), t.port, t.tls), ("::1", 8443, true));
        assert_eq!(t.authority(), "[::1]:8443");
        let t = Target::parse("http://localhost/").unwrap();
        assert_eq!((t.port, t.tls), (80, false));
        let err = Target::parse("ftp://localhost/").unwrap_err().to_string();
        assert!(err.contains("ftp://"), "{err}");
    }
}
