//! One GET for the secret message, with a time limit, trusting only the CA file; then what was
//! verified, in words.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::{Result, anyhow, bail};
use reqwest::tls::TlsInfo;

use super::diagnose;
pub use super::target::{DEFAULT_URL, Target};
use crate::pki::inspect::{CertSummary, strict_warning};
use rustls_pki_types::CertificateDer;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use crate::tls::client::{self as trust, ClientCertAsker, ClientIdentity};
use crate::tls::trust::{SpkiPin, TrustedCas, ca_name};

/// A secret message is a line of text; anything far longer is not the demo's server.
pub const MAX_BODY: usize = 64 * 1024;

/// What the client asks for. The demo's server answers `/` with the message as plain text either
/// way, and `/connection` with JSON instead of its HTML page: so that
/// `demo_client https://localhost:8080/connection` shows the server's view of this connection in
/// a form a program reads.
pub const ACCEPT: &str = "text/plain, application/json";

/// What to fetch, and whom to believe.
#[derive(Clone, Debug)]
pub struct Request {
    pub url: String,
    pub ca_file: PathBuf,
    /// A certificate revocation list to check the site's certificate against (`--crl`).
    pub crl_file: Option<PathBuf>,
    /// For the whole request: connecting, the TLS handshake, and the answer.
    pub timeout: Duration,
    /// `--pin`: besides the CA file's verdict, the site's public key must be this one.
    pub pin: Option<SpkiPin>,
    /// `--insecure`: believe any certificate (to show what that costs).
    pub insecure: bool,
    /// Mutual TLS: the certificate and key to present when the server asks (`--cert`, `--key`).
    pub identity: Option<Arc<ClientIdentity>>,
}

impl Request {
    /// The CAs to believe, and the revocation list when one was given.
    pub fn trusted_cas(&self) -> Result<TrustedCas> {
        let cas = TrustedCas::load(&self.ca_file)?;
        match &self.crl_file {
            Some(crl) => cas.with_crl_file(crl),
            None => Ok(cas),
        }
    }
}

/// What the TLS layer proved about the server.
#[derive(Clone, Debug)]
pub struct Verified {
    pub ca_file: PathBuf,
    /// The trusted CA that signed the server's certificate, when it signed it directly.
    pub signed_by: Option<String>,
    /// All the CAs in the file, for a certificate that came through an intermediate CA.
    pub trusted: String,
    pub tls_version: Option<reqwest::tls::Version>,
    pub certificate: Option<CertSummary>,
    /// What strict clients would refuse in the certificate and the CA that signed it.
    pub strict_warning: Option<String>,
    /// The pin the site's public key matched, with `--pin`.
    pub pin: Option<String>,
}

/// A secret message, and how it travelled.
#[derive(Clone, Debug)]
pub struct Fetched {
    pub target: Target,
    pub message: String,
    /// The server sent JSON (e.g. /connection), not a message: it is printed as it came.
    pub json: bool,
    pub http_version: reqwest::Version,
    pub remote: Option<SocketAddr>,
    /// `None` for plain HTTP, and with `--insecure`.
    pub verified: Option<Verified>,
    /// `--insecure`: the certificate that was believed without a check.
    pub unverified: Option<CertSummary>,
}

/// A client ready to fetch one URL.
pub struct Client {
    target: Target,
    cas: Option<TrustedCas>,
    pin: Option<SpkiPin>,
    insecure: bool,
    key_log: Option<PathBuf>,
    http: reqwest::Client,
    timeout: Duration,
    /// Set once a connection (TCP, and TLS for https) is up, so that a timeout can say which
    /// phase stalled: reqwest's total timeout error does not.
    connected: Arc<AtomicBool>,
    identity: Option<Arc<ClientIdentity>>,
    /// Sees the server's CertificateRequest, so that a refusal can name the CAs it accepts.
    asker: Arc<ClientCertAsker>,
}

impl Client {
    /// Reads the CA file (for https:// only) and builds the client.
    pub fn new(req: &Request) -> Result<Client> {
        let target = Target::parse(&req.url)?;
        let asker = Arc::new(ClientCertAsker::new(req.identity.as_deref()));
        let (builder, cas, key_log) = if target.tls && req.insecure {
            let key_log = trust::key_log_file()?;
            (
                trust::insecure_builder(key_log.is_some(), asker.clone())?,
                None,
                key_log,
            )
        } else if target.tls {
            let cas = req.trusted_cas()?;
            let key_log = trust::key_log_file()?;
            let builder = match &req.pin {
                Some(pin) => {
                    trust::pinned_builder(&cas, pin.clone(), key_log.is_some(), asker.clone())?
                }
                None => trust::builder(&cas, key_log.is_some(), asker.clone())?,
            };
            (builder, Some(cas), key_log)
        } else {
            (trust::plain_builder(), None, None)
        };
        let connected = Arc::new(AtomicBool::new(false));
        let flag = connected.clone();
        let http = builder
            .timeout(req.timeout)
            .connect_timeout(req.timeout)
            // The demo's server is on this machine: a proxy from HTTPS_PROXY could not reach
            // it, and would be one more party in the story.
            .no_proxy()
            // A redirect could lead from https:// to http://; the demo asks one server only.
            .redirect(reqwest::redirect::Policy::none())
            .connector_layer(tower::util::MapResponseLayer::new(move |conn| {
                flag.store(true, Ordering::SeqCst);
                conn
            }))
            .build()
            .map_err(|e| anyhow!("cannot set up the HTTP client: {e}"))?;
        Ok(Client {
            insecure: req.insecure && target.tls,
            target,
            cas,
            pin: req.pin.clone(),
            key_log,
            http,
            timeout: req.timeout,
            connected,
            identity: req.identity.clone(),
            asker,
        })
    }

    pub fn target(&self) -> &Target {
        &self.target
    }

    /// The file TLS secrets are written to, when `SSLKEYLOGFILE` asks for it.
    pub fn key_log(&self) -> Option<&Path> {
        self.key_log.as_deref()
    }

    pub async fn fetch(&self) -> Result<Fetched> {
        let context = |presented| diagnose::FailureContext {
            target: &self.target,
            cas: self.cas.as_ref(),
            timeout: self.timeout,
            connected: self.connected.load(Ordering::SeqCst),
            presented,
            asked: self.asker.seen(),
            own_cert: self.identity.as_deref().map(|i| &i.leaf),
        };
        let sent = self
            .http
            .get(self.target.url.clone())
            .header(reqwest::header::ACCEPT, ACCEPT)
            .send()
            .await;
        let mut response = match sent {
            Ok(response) => response,
            Err(e) => {
                // Connected, and no HTTP came back: over http://, an HTTPS server may have
                // closed on the plain request.
                if !self.target.tls && !e.is_connect() && !e.is_timeout() {
                    self.refuse_if_tls(None).await?;
                }
                let presented = if diagnose::certificate_refused(&e) {
                    self.presented_chain().await
                } else {
                    Vec::new()
                };
                bail!(diagnose::explain(&e, &context(&presented)));
            }
        };
        let status = response.status();
        let http_version = response.version();
        let remote = response.remote_addr();
        let json = is_json(
            response
                .headers()
                .get(reqwest::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok()),
        );
        let verified = self.verified(response.extensions().get::<TlsInfo>());
        let unverified = self
            .insecure
            .then(|| response.extensions().get::<TlsInfo>())
            .flatten()
            .and_then(|i| i.peer_certificate())
            .and_then(|der| CertSummary::from_der(der).ok());
        let mut body = Vec::new();
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    if body.len() + chunk.len() > MAX_BODY {
                        bail!(
                            "the server at {} sent more than {} KiB; a secret message is a line of text. \
                             Is this the demo's server?",
                            self.target.authority(),
                            MAX_BODY / 1024
                        );
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(e) => bail!(diagnose::explain(&e, &context(&[]))),
            }
        }
        let text = printable(&String::from_utf8_lossy(&body).replace("\r\n", "\n"));
        if !status.is_success() && !self.target.tls {
            self.refuse_if_tls(Some(status)).await?;
        }
        if !status.is_success() {
            let said = text.lines().next().unwrap_or("").trim();
            let said = if said.is_empty() {
                String::new()
            } else {
                format!(" (it said: \"{}\")", truncate(said, 200))
            };
            bail!(
                "the server at {} answered {status} instead of a secret message{said}. Check the URL's path.",
                self.target.authority()
            );
        }
        Ok(Fetched {
            target: self.target.clone(),
            message: text.trim_end().to_string(),
            json,
            http_version,
            remote,
            verified,
            unverified,
        })
    }

    /// Over http://, after a failure: when the port speaks TLS, the scheme was the problem, and
    /// this is the error to give.
    async fn refuse_if_tls(&self, answered: Option<reqwest::StatusCode>) -> Result<()> {
        if super::probe::speaks_tls(&self.target, self.timeout).await {
            let cx = diagnose::FailureContext {
                target: &self.target,
                cas: None,
                timeout: self.timeout,
                connected: true,
                presented: &[],
                asked: None,
                own_cert: None,
            };
            bail!(diagnose::explain_wrong_scheme(&cx, answered));
        }
        Ok(())
    }

    /// The chain the server presents, asked for once more after a refusal: reqwest keeps no
    /// certificate of a failed handshake, and the refusal is worded from its facts (self-signed
    /// or not, its names, its dates). The verdict is the same trust core's, through the witness
    /// `--explain` uses; only the chain is kept.
    async fn presented_chain(&self) -> Vec<CertificateDer<'static>> {
        let Some(cas) = &self.cas else {
            return Vec::new();
        };
        let (Ok(observed), Ok(name)) = (
            trust::observed_config(
                cas,
                false,
                Arc::new(ClientCertAsker::new(self.identity.as_deref())),
            ),
            self.target.server_name(),
        ) else {
            return Vec::new();
        };
        let handshake = async {
            let tcp = TcpStream::connect((self.target.name.as_str(), self.target.port)).await?;
            TlsConnector::from(observed.config.clone())
                .connect(name, tcp)
                .await
                .map(|_| ())
        };
        let _ = tokio::time::timeout(self.timeout, handshake).await;
        observed.witness.seen().chain
    }

    fn verified(&self, info: Option<&TlsInfo>) -> Option<Verified> {
        let cas = self.cas.as_ref()?;
        let certificate = info
            .and_then(|i| i.peer_certificate())
            .and_then(|der| CertSummary::from_der(der).ok());
        let signed_by = certificate
            .as_ref()
            .and_then(|c| cas.issuer_of(c))
            .map(ca_name);
        let strict_warning = certificate.as_ref().and_then(|c| {
            let mut certs = vec![c];
            certs.extend(cas.issuer_of(c));
            strict_warning("this server's chain", &certs)
        });
        Some(Verified {
            strict_warning,
            pin: self.pin.as_ref().map(ToString::to_string),
            ca_file: cas.file.clone(),
            signed_by,
            trusted: cas.names(),
            tls_version: info.and_then(|i| i.version()),
            certificate,
        })
    }
}

impl Fetched {
    /// What the person sees: the message, then how much to believe it. JSON is for a program
    /// (`| jq`): it comes alone, and the exit status says it was verified.
    pub fn report(&self) -> String {
        if self.json {
            return format!("{}\n", self.message);
        }
        let mut out = format!("Secret message: {}\n", self.message);
        let from = match self.remote.map(|a| a.to_string()) {
            Some(addr) if addr != self.target.authority() => {
                format!("{} ({addr})", self.target.authority())
            }
            _ => self.target.authority(),
        };
        match &self.verified {
            None if self.target.tls => out.push_str(&format!(
                "NOT verified (--insecure): the certificate from {from} was believed without a single check{}. \
                 Anyone on the path could have made it, and read or changed the message on the way.\n",
                self.unverified
                    .as_ref()
                    .map(|c| format!("; it says: {}", c.sentence().trim_end_matches('.')))
                    .unwrap_or_default()
            )),
            None => out.push_str(&format!(
                "Not protected: it came from {from} over plain HTTP, so the message travelled in clear text \
                 (anyone on the path could read it, or change it) and nothing proved who answered.\n"
            )),
            Some(v) => {
                let who = match &v.signed_by {
                    Some(ca) => format!("was signed by {ca}"),
                    None => format!("leads to {}", v.trusted),
                };
                let mut how = Vec::new();
                if let Some(tls) = v.tls_version.and_then(tls_version_name) {
                    how.push(tls.to_string());
                }
                how.push(http_version_name(self.http_version));
                out.push_str(&format!(
                    "Verified: the certificate for {} {who}, from {}; {}.\n",
                    self.target.name,
                    v.ca_file.display(),
                    how.join(", ")
                ));
                if let Some(cert) = &v.certificate {
                    out.push_str(&format!("The certificate says: {}\n", cert.sentence()));
                }
                if let Some(pin) = &v.pin {
                    out.push_str(&format!(
                        "Pinned: its public key is {pin}, the one you pinned.\n"
                    ));
                }
                if let Some(warning) = &v.strict_warning {
                    out.push_str(&format!("Warning: {warning}\n"));
                }
            }
        }
        out
    }
}

fn tls_version_name(v: reqwest::tls::Version) -> Option<&'static str> {
    use reqwest::tls::Version;
    [
        (Version::TLS_1_3, "TLS 1.3"),
        (Version::TLS_1_2, "TLS 1.2"),
        (Version::TLS_1_1, "TLS 1.1"),
        (Version::TLS_1_0, "TLS 1.0"),
    ]
    .into_iter()
    .find(|(known, _)| *known == v)
    .map(|(_, name)| name)
}

fn http_version_name(v: reqwest::Version) -> String {
    match v {
        reqwest::Version::HTTP_09 => "HTTP/0.9".into(),
        reqwest::Version::HTTP_10 => "HTTP/1.0".into(),
        reqwest::Version::HTTP_11 => "HTTP/1.1".into(),
        reqwest::Version::HTTP_2 => "HTTP/2".into(),
        reqwest::Version::HTTP_3 => "HTTP/3".into(),
        _ => "a newer HTTP version".into(),
    }
}

/// Whether a Content-Type is JSON (`application/json; charset=utf-8` too).
pub(crate) fn is_json(content_type: Option<&str>) -> bool {
    content_type.is_some_and(|v| v.trim_start().starts_with("application/json"))
}

/// The server's text with control characters escaped, so that it cannot drive the terminal.
pub(crate) fn printable(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\n' | '\t' => c.to_string(),
            c if c.is_control() => c.escape_default().to_string(),
            c => c.to_string(),
        })
        .collect()
}

pub(crate) fn truncate(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => format!("{}...", &text[..at]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(printable("a\u{1b}[2Jb\nc"), "a\\u{1b}[2Jb\nc");
    }
}
