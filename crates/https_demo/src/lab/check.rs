//! `demo_lab check`: visit every scenario the way demo_client does (its client, its trust core,
//! the lab's CA and CRL), and compare each verdict with `scenarios.json`'s `expect.demo_client`.
//! A refusal is classified by the trust core from the verifier's own error, as demo_client's
//! words are; a server's refusal of the client (mutual TLS) from its CertificateRequest and its
//! alert, as demo_client reads them. Nothing is read back from text. A scenario that requires a
//! client certificate is visited twice: without one (refused), then with the lab's (accepted).

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Result, anyhow, bail};
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use super::run::{CA_FILE, CLIENT_CERT_FILE, CLIENT_KEY_FILE, CRL_FILE, SCENARIOS_FILE};
use super::scenarios::{Entry, Refusal, Verdict};
use crate::client::{Client, Request};
use crate::tls::client::{ClientCertAsker, ClientIdentity, load_client_identity};
use crate::tls::failure::{Audience, CertFailure, ClientCertFailure, Presented};
use crate::tls::trust::{TrustedCas, server_name};

const TIMEOUT: Duration = Duration::from_secs(5);

/// A refusal, classified, with its facts.
pub enum Judged {
    /// demo_client refused the server's certificate.
    ServerCert(CertFailure),
    /// The server refused demo_client's certificate, or its absence.
    ClientCert(ClientCertFailure),
}

impl Judged {
    pub fn code(&self) -> &'static str {
        match self {
            Judged::ServerCert(f) => f.code(),
            Judged::ClientCert(f) => f.code(),
        }
    }
}

/// One scenario, visited.
pub struct Visit {
    pub name: String,
    pub verdict: Verdict,
    pub expected: Verdict,
    pub failure: Option<Judged>,
    /// One line: what was seen (the page's first line, or the refusal's first sentence).
    pub reason: String,
    /// A second visit, presenting the lab's client certificate.
    pub with_client_cert: bool,
}

/// Reads `DIR/scenarios.json`.
pub fn entries(dir: &Path) -> Result<Vec<Entry>> {
    let file = dir.join(SCENARIOS_FILE);
    if matches!(file.try_exists(), Ok(false)) {
        bail!(
            "{} does not exist: no lab has run with --dir {}. Start the lab (demo_lab --dir {}), then run \
             the check from another terminal.",
            file.display(),
            dir.display(),
            dir.display()
        );
    }
    let text = crate::files::read_text_bounded(&file, 1 << 20, "the lab's scenario list")?;
    serde_json::from_str(&text).map_err(|e| {
        anyhow!(
            "{} is not the lab's scenario list ({e}). Start demo_lab --dir {} again to write a fresh one.",
            file.display(),
            dir.display()
        )
    })
}

pub async fn visit_all(dir: &Path) -> Result<Vec<Visit>> {
    let entries = entries(dir)?;
    let ca_file = dir.join(CA_FILE);
    let crl_file = dir.join(CRL_FILE);
    let cas = TrustedCas::load(&ca_file)?.with_crl_file(&crl_file)?;
    let mut visits = Vec::new();
    for e in entries {
        let request = |identity| Request {
            url: e.url.clone(),
            ca_file: ca_file.clone(),
            crl_file: Some(crl_file.clone()),
            timeout: TIMEOUT,
            pin: None,
            insecure: false,
            identity,
        };
        let fetched = Client::new(&request(None))?.fetch().await;
        let (verdict, failure, reason) = match fetched {
            Ok(page) => (
                Verdict::Accept,
                None,
                page.message.lines().next().unwrap_or("").to_string(),
            ),
            Err(refusal) => match judge(&cas, e.port).await {
                Some(failure) => {
                    let reason = match &failure {
                        Judged::ServerCert(f) => {
                            f.words(
                                "the server's certificate",
                                &cas,
                                &Audience::Client {
                                    ca_file: &ca_file.display().to_string(),
                                    by_a_name_it_holds: None,
                                },
                            )
                            .what
                        }
                        Judged::ClientCert(f) => f.client_words(&format!("localhost:{}", e.port)),
                    };
                    (Verdict::Refuse, Some(failure), reason)
                }
                // Nothing was judged: the lab is not there to ask.
                None => bail!(
                    "scenario {} ({}) could not be visited: {refusal:#} Is the lab running? Start it with \
                     demo_lab --dir {} and run the check from another terminal.",
                    e.name,
                    e.url,
                    dir.display()
                ),
            },
        };
        let needs_client_cert = matches!(
            e.failure.as_deref().and_then(Refusal::from_code),
            Some(Refusal::ClientCert(_))
        );
        visits.push(Visit {
            name: e.name.clone(),
            verdict,
            expected: e.expect.demo_client,
            failure,
            reason,
            with_client_cert: false,
        });
        if needs_client_cert {
            // The way through: the same visit, presenting the lab's client certificate.
            let identity = lab_identity(dir)?;
            let (verdict, reason) = match Client::new(&request(Some(identity)))?.fetch().await {
                Ok(page) => (
                    Verdict::Accept,
                    page.message.lines().next().unwrap_or("").to_string(),
                ),
                Err(e) => (Verdict::Refuse, format!("{e:#}")),
            };
            visits.push(Visit {
                name: format!("{} + {CLIENT_CERT_FILE}", e.name),
                verdict,
                expected: Verdict::Accept,
                failure: None,
                reason,
                with_client_cert: true,
            });
        }
    }
    Ok(visits)
}

/// The client certificate and plain key the lab wrote, loaded as `demo_client --cert --key`
/// loads them.
fn lab_identity(dir: &Path) -> Result<Arc<ClientIdentity>> {
    let (cert, key) = (dir.join(CLIENT_CERT_FILE), dir.join(CLIENT_KEY_FILE));
    let identity = load_client_identity(&cert, &key, || {
        bail!(
            "{} is encrypted, but the lab writes its client key in clear. Start demo_lab --dir {} again to \
             write a fresh one.",
            key.display(),
            dir.display()
        )
    })?;
    Ok(Arc::new(identity))
}

/// Who refused, and why, from a handshake watched as `--explain` watches it: the trust core's
/// verdict on the scenario's chain (its witness), or, when that chain was accepted, the server's
/// refusal of this client, which presents no certificate (its CertificateRequest, recorded by the
/// asker, and its alert). `None` when nothing was refused.
async fn judge(cas: &TrustedCas, port: u16) -> Option<Judged> {
    let asker = Arc::new(ClientCertAsker::default());
    let observed = crate::tls::client::observed_config(cas, false, asker.clone()).ok()?;
    let name = server_name("localhost").ok()?;
    let visit = async {
        let tcp = TcpStream::connect(("localhost", port)).await?;
        let mut tls = TlsConnector::from(observed.config.clone())
            .connect(name, tcp)
            .await?;
        // In TLS 1.3 the client's handshake is over before the server judges its certificate:
        // the server's verdict, an alert, arrives with the first read.
        tls.read(&mut [0u8; 1]).await.map(|_| ())
    };
    let ended = tokio::time::timeout(TIMEOUT, visit).await;
    let seen = observed.witness.seen();
    match seen.verdict? {
        Err(e) => CertFailure::classify(
            &e,
            &Presented {
                chain: &seen.chain,
                name: "localhost",
                cas,
            },
        )
        .map(Judged::ServerCert),
        Ok(()) => {
            let alert = match &ended {
                Ok(Err(io)) => match io.get_ref().and_then(|e| e.downcast_ref()) {
                    Some(rustls::Error::AlertReceived(alert)) => Some(alert),
                    _ => None,
                },
                _ => None,
            };
            ClientCertFailure::from_alert(
                alert,
                asker.seen().as_ref(),
                None,
                crate::pki::validity::now(),
            )
            .map(Judged::ClientCert)
        }
    }
}

/// The table, and whether every verdict is the expected one.
pub fn table(visits: &[Visit]) -> (String, bool) {
    let width = visits
        .iter()
        .map(|v| v.name.len())
        .max()
        .unwrap_or(8)
        .max(8);
    let mut out = format!(
        "{:<width$}  {:<7}  {:<8}  {:<28}  reason\n",
        "scenario", "verdict", "expected", "classification"
    );
    let mut all_match = true;
    for v in visits {
        let matches = v.verdict == v.expected;
        all_match &= matches;
        let code = v.failure.as_ref().map(|f| f.code()).unwrap_or("-");
        let mark = if matches { "" } else { "  <-- NOT AS EXPECTED" };
        out.push_str(&format!(
            "{:<width$}  {:<7}  {:<8}  {:<28}  {}{mark}\n",
            v.name,
            v.verdict.word(),
            v.expected.word(),
            code,
            v.reason.lines().next().unwrap_or(""),
        ));
    }
    (out, all_match)
}
