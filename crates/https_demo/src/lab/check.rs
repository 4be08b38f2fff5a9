//! `demo_lab check`: visit every scenario the way demo_client does (its client, its trust core,
//! the lab's CA and CRL), and compare each verdict with `scenarios.json`'s `expect.demo_client`.
//! A refusal is classified by the trust core from the verifier's own error, as demo_client's
//! words are; nothing is read back from text.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Result, anyhow, bail};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use super::run::{CA_FILE, CRL_FILE, SCENARIOS_FILE};
use super::scenarios::{Entry, Verdict};
use crate::client::{Client, Request};
use crate::tls::failure::{Audience, CertFailure, Presented};
use crate::tls::trust::{TrustedCas, server_name};

const TIMEOUT: Duration = Duration::from_secs(5);

/// One scenario, visited.
pub struct Visit {
    pub name: String,
    pub verdict: Verdict,
    pub expected: Verdict,
    pub failure: Option<CertFailure>,
    /// One line: what was seen (the page's first line, or the refusal's first sentence).
    pub reason: String,
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
        let request = Request {
            url: e.url.clone(),
            ca_file: ca_file.clone(),
            crl_file: Some(crl_file.clone()),
            timeout: TIMEOUT,
            pin: None,
            insecure: false,
            identity: None,
        };
        let fetched = Client::new(&request)?.fetch().await;
        let (verdict, failure, reason) = match fetched {
            Ok(page) => (
                Verdict::Accept,
                None,
                page.message.lines().next().unwrap_or("").to_string(),
            ),
            Err(refusal) => match judge(&cas, e.port).await {
                Some(failure) => {
                    let words = failure.words(
                        "the server's certificate",
                        &cas,
                        &Audience::Client {
                            ca_file: &ca_file.display().to_string(),
                            by_a_name_it_holds: None,
                        },
                    );
                    (Verdict::Refuse, Some(failure), words.what)
                }
                // No certificate was judged: the lab is not there to ask.
                None => bail!(
                    "scenario {} ({}) could not be visited: {refusal:#} Is the lab running? Start it with \
                     demo_lab --dir {} and run the check from another terminal.",
                    e.name,
                    e.url,
                    dir.display()
                ),
            },
        };
        visits.push(Visit {
            name: e.name,
            verdict,
            expected: e.expect.demo_client,
            failure,
            reason,
        });
    }
    Ok(visits)
}

/// The trust core's verdict on the scenario's chain, from a handshake watched by the witness
/// `--explain` uses. `None` when the certificate was not refused.
async fn judge(cas: &TrustedCas, port: u16) -> Option<CertFailure> {
    let observed = crate::tls::client::observed_config(
        cas,
        false,
        Arc::new(crate::tls::client::ClientCertAsker::default()),
    )
    .ok()?;
    let name = server_name("localhost").ok()?;
    let handshake = async {
        let tcp = TcpStream::connect(("localhost", port)).await?;
        TlsConnector::from(observed.config.clone())
            .connect(name, tcp)
            .await
            .map(|_| ())
    };
    let _ = tokio::time::timeout(TIMEOUT, handshake).await;
    let seen = observed.witness.seen();
    match seen.verdict? {
        Ok(()) => None,
        Err(e) => CertFailure::classify(
            &e,
            &Presented {
                chain: &seen.chain,
                name: "localhost",
                cas,
            },
        ),
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
