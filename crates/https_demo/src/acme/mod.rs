//! Let's Encrypt, offline: demo_server gets its certificate for `localhost` from an ACME CA
//! (RFC 8555; pebble in the lab), proving control of the name itself, then keeps it renewed.
//! The seeds' step 3, "the CA verifies the information provided", done for real.
//!
//! - [`client`]: HTTPS to the CA's directory, trusted through the one trust core.
//! - [`account`]: the account, known to the CA by a key of its own.
//! - [`order`]: order, challenge, CSR (the site key never leaves), certificate.
//! - [`challenge`]: our answers, and the CA's validator seen from our side.
//! - [`refusal`]: the CA's "no" in words.
//! - [`renewal`]: the certificate swapped in place, renewed at two thirds of its lifetime.

pub mod account;
pub mod challenge;
pub mod client;
pub mod order;
pub mod refusal;
pub mod renewal;

use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Result, anyhow, bail};

use challenge::Answers;
use renewal::SiteCert;

/// The one name the demo's certificate is for.
pub const NAME: &str = "localhost";

/// How the server proves it controls the name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChallengeKind {
    TlsAlpn01,
    Http01,
}

impl FromStr for ChallengeKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "tls-alpn-01" => Ok(ChallengeKind::TlsAlpn01),
            "http-01" => Ok(ChallengeKind::Http01),
            other => Err(format!(
                "{other} is not a challenge demo_server answers: use tls-alpn-01 or http-01"
            )),
        }
    }
}

impl ChallengeKind {
    pub fn name(self) -> &'static str {
        match self {
            ChallengeKind::TlsAlpn01 => "tls-alpn-01",
            ChallengeKind::Http01 => "http-01",
        }
    }

    fn acme_type(self) -> instant_acme::ChallengeType {
        match self {
            ChallengeKind::TlsAlpn01 => instant_acme::ChallengeType::TlsAlpn01,
            ChallengeKind::Http01 => instant_acme::ChallengeType::Http01,
        }
    }

    /// The field of pebble's config that says where its validator connects.
    pub fn pebble_setting(self) -> &'static str {
        match self {
            ChallengeKind::TlsAlpn01 => "tlsPort",
            ChallengeKind::Http01 => "httpPort",
        }
    }

    /// Where a real CA's validator connects (RFC 8737, RFC 8555).
    pub fn standard_port(self) -> u16 {
        match self {
            ChallengeKind::TlsAlpn01 => 443,
            ChallengeKind::Http01 => 80,
        }
    }

    /// What we do to answer, in words.
    fn task(self, name: &str, port: u16) -> String {
        match self {
            ChallengeKind::TlsAlpn01 => format!(
                "tls-alpn-01: its validator will open a TLS connection to {name} asking for the protocol \
                 acme-tls/1, and we will show it a certificate carrying the token signed by our account key \
                 (we listen on port {port})."
            ),
            ChallengeKind::Http01 => format!(
                "http-01: its validator will fetch /.well-known/acme-challenge/TOKEN from {name} in plain \
                 HTTP, and we will answer with the token signed by our account key (on this port, {port}, \
                 which tells plain HTTP from TLS by the first byte)."
            ),
        }
    }
}

/// Where the ACME directory's URL comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DirectorySource {
    Url(String),
    /// `--acme -`: read from standard input once the server listens. For a script that must
    /// start the CA after the server: pebble reads its validation ports at start, and ours is
    /// known only once bound (port 0).
    Stdin,
}

impl FromStr for DirectorySource {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if s == "-" {
            return Ok(DirectorySource::Stdin);
        }
        check_url(s).map(|()| DirectorySource::Url(s.to_string()))
    }
}

fn check_url(s: &str) -> Result<(), String> {
    if s.starts_with("https://") && s.len() > "https://".len() {
        Ok(())
    } else {
        let shown = if !s.is_empty() && s.len() <= 200 && s.chars().all(|c| c.is_ascii_graphic()) {
            s
        } else {
            "what was given"
        };
        Err(format!(
            "{shown} is not an ACME directory URL: give the https:// URL of the CA's directory \
             (pebble: https://127.0.0.1:14000/dir), or - to read it from standard input"
        ))
    }
}

/// What `demo_server --acme` was told.
#[derive(Clone, Debug)]
pub struct Settings {
    pub directory: DirectorySource,
    /// The CA that signed the directory's HTTPS certificate (pebble's test CA); else the
    /// system's roots.
    pub ca_file: Option<PathBuf>,
    pub email: Option<String>,
    pub challenge: ChallengeKind,
}

/// Waiting for `--acme -`'s URL.
const STDIN_WAIT: Duration = Duration::from_secs(120);

/// The ACME side of a running server: the answers its listener gives the CA's validator, the
/// certificate it serves, and the task that obtains and renews it.
pub struct Acme {
    settings: Settings,
    answers: Arc<Answers>,
    site: Arc<SiteCert>,
}

impl Acme {
    pub fn new(settings: Settings) -> Acme {
        let answers = Arc::new(Answers::default());
        let site = Arc::new(SiteCert::new(answers.clone()));
        Acme {
            settings,
            answers,
            site,
        }
    }

    /// For the listener: the http-01 answers.
    pub fn answers(&self) -> Arc<Answers> {
        self.answers.clone()
    }

    /// The server's TLS configuration: the usual offer, with the certificate picked at each
    /// handshake (none until the first is issued; to the validator, the challenge's), and
    /// `acme-tls/1` last among the ALPN protocols so that the validator's handshake completes.
    pub fn server_config(
        &self,
        offer: crate::tls::server::Offer,
    ) -> Result<Arc<rustls::ServerConfig>> {
        let mut config = crate::tls::server::config_with_resolver(
            self.site.clone(),
            crate::tls::provider(),
            offer,
            None,
        )?;
        config
            .alpn_protocols
            .push(challenge::ACME_TLS_ALPN.to_vec());
        Ok(Arc::new(config))
    }

    /// Gets the first certificate for the server listening on `port`, then renews it before it
    /// expires, for as long as the server runs. Returns only when the first one cannot be had.
    pub async fn run(self, port: u16) -> Result<()> {
        let directory = match &self.settings.directory {
            DirectorySource::Url(url) => url.clone(),
            DirectorySource::Stdin => read_directory_url().await?,
        };
        let account = account::create(
            &directory,
            self.settings.ca_file.as_deref(),
            self.settings.email.as_deref(),
        )
        .await?;
        let kind = self.settings.challenge;
        let mut issued = order::obtain(&account, NAME, kind, &self.answers, port).await?;
        self.site.install(issued.key.clone());
        println!("ACME: now serving https://{NAME}:{port}/ with it.");
        loop {
            println!("{}", renewal::plan(&issued.leaf));
            tokio::time::sleep(renewal::until(renewal::renew_at(&issued.leaf))).await;
            println!(
                "ACME: renewing the certificate for {NAME} (two thirds of its lifetime have passed)."
            );
            loop {
                match order::obtain(&account, NAME, kind, &self.answers, port).await {
                    Ok(renewed) => {
                        self.site.install(renewed.key.clone());
                        println!(
                            "ACME: now serving the renewed certificate, without a restart: {}",
                            renewed.leaf.sentence()
                        );
                        issued = renewed;
                        break;
                    }
                    Err(e) => {
                        let wait = renewal::retry_after(&issued.leaf);
                        tracing::warn!(
                            "renewal failed: {e:#}. Still serving the current certificate ({}); trying again in {} s.",
                            issued.leaf.sentence(),
                            wait.as_secs()
                        );
                        tokio::time::sleep(wait).await;
                    }
                }
            }
        }
    }
}

/// `--acme -`: one line from standard input, bounded in size and time.
async fn read_directory_url() -> Result<String> {
    println!(
        "ACME: waiting for the CA's directory URL on standard input (up to {} s).",
        STDIN_WAIT.as_secs()
    );
    // A blocking read on a thread of its own, detached: a tokio blocking task would keep the
    // runtime (and so Ctrl-C) waiting for a line that may never come.
    let (tx, read) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        use std::io::{BufRead, Read};
        let mut line = String::new();
        let result = std::io::BufReader::new(std::io::stdin().take(4096))
            .read_line(&mut line)
            .map(|_| line);
        let _ = tx.send(result);
    });
    let line = match tokio::time::timeout(STDIN_WAIT, read).await {
        Err(_) => bail!(
            "no ACME directory URL arrived on standard input within {} s: write the https:// URL of the \
             CA's directory and a newline (./acme_lab.sh does it once pebble runs).",
            STDIN_WAIT.as_secs()
        ),
        Ok(Ok(Err(e))) => bail!("cannot read the ACME directory URL from standard input: {e}"),
        Ok(Err(_)) => bail!("cannot read the ACME directory URL from standard input"),
        Ok(Ok(Ok(line))) => line,
    };
    let url = line.trim().to_string();
    if url.is_empty() {
        bail!(
            "standard input ended before the ACME directory URL arrived: write the https:// URL of the \
             CA's directory and a newline (./acme_lab.sh does it once pebble runs)."
        );
    }
    check_url(&url).map_err(|e| anyhow!("standard input: {e}"))?;
    Ok(url)
}

/// An error of the ACME exchange, in words: what the CA would not do, what it said, next step.
pub(crate) fn ca_error(e: instant_acme::Error, doing: &str) -> anyhow::Error {
    match e {
        instant_acme::Error::Api(problem) => anyhow!(
            "the CA would not {doing}: \"{}\"{}. Next: look at the CA's log for this request.",
            problem.detail.as_deref().unwrap_or("no detail given"),
            problem
                .r#type
                .as_deref()
                .map(|t| format!(" ({t})"))
                .unwrap_or_default()
        ),
        instant_acme::Error::Timeout(_) => anyhow!(
            "the CA did not {doing} within {} s: it may be overloaded or stuck. Next: look at the CA's \
             log, then try again.",
            order::DECISION_TIMEOUT.as_secs()
        ),
        instant_acme::Error::Other(inner) => {
            let links = crate::client::diagnose::links(inner.as_ref());
            // rustls's own text for a refused certificate is debug text: say it in words.
            if links
                .iter()
                .any(|e| e.downcast_ref::<rustls::Error>().is_some())
            {
                return anyhow!(
                    "cannot {doing}: the ACME server's HTTPS certificate was refused (not issued for that \
                     address by a CA in --acme-ca, or no --acme-ca given for a private CA). Next: give \
                     --acme-ca the CA certificate that signed the directory's HTTPS certificate \
                     (./acme_lab.sh makes one)."
                );
            }
            let words: Vec<String> = links.iter().map(|e| e.to_string()).collect();
            let words = words.join(": ");
            anyhow!(
                "cannot reach the ACME server to {doing}: {words}. Next: check that the CA runs and the \
                 directory URL is right (./acme_lab.sh starts pebble), and that --acme-ca is the CA of \
                 its HTTPS certificate."
            )
        }
        other => anyhow!("the ACME exchange failed to {doing}: {other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_directory_is_an_https_url_or_stdin() {
        assert_eq!("-".parse(), Ok(DirectorySource::Stdin));
        assert!(
            "http://127.0.0.1:14000/dir"
                .parse::<DirectorySource>()
                .is_err()
        );
        assert!(
            "https://127.0.0.1:14000/dir"
                .parse::<DirectorySource>()
                .is_ok()
        );
        assert_eq!("http-01".parse(), Ok(ChallengeKind::Http01));
        assert!("dns-01".parse::<ChallengeKind>().is_err());
    }
}
