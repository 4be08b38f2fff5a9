//! Start-up, in the order that keeps failures cheap: take every port first (a taken port stops
//! the lab before anything is made or written), make the certificates, write the folder all or
//! nothing, then serve.

use std::path::{Path, PathBuf};

use anyhow::{Result, anyhow};
use hyper::body::Bytes;

use super::certs::{self, Site};
use super::scenarios::{Entry, SCENARIOS};
use super::serve::{self, Page};
use super::{gallery, marker};
use crate::files::{self, Output};
use crate::pki::inspect::CertSummary;
use crate::tls::trust::TrustedCas;

/// The lab, listening.
pub struct Ready {
    pub gallery_port: u16,
    pub entries: Vec<Entry>,
    pub dir: PathBuf,
}

pub const CA_FILE: &str = "ca.pem";
pub const CRL_FILE: &str = "crl.pem";
/// The learner's client certificate and its plain key, for `client-cert-required`.
pub const CLIENT_CERT_FILE: &str = "client.pem";
pub const CLIENT_KEY_FILE: &str = "client_key.pem";
/// The CA that scenario accepts visitors from, under `certs/`.
pub const CLIENT_CA_FILE: &str = "client_ca.pem";
pub const SCENARIOS_FILE: &str = "scenarios.json";
pub const GALLERY_FILE: &str = "gallery.html";

/// Binds, makes, writes and serves. Must run inside a tokio runtime, which then serves.
pub fn start(dir: &Path, port_base: u16) -> Result<Ready> {
    let mut ports = serve::bind(1 + SCENARIOS.len(), port_base, |i| match i {
        0 => "the gallery".to_string(),
        i => format!("scenario {}", SCENARIOS[i - 1].name),
    })?
    .into_iter();
    let lab = certs::make()?;
    let gallery_port = ports.next().expect("bound one per listener");
    let ports: Vec<_> = ports.collect();
    let entries: Vec<Entry> = lab
        .sites
        .iter()
        .zip(&ports)
        .map(|(site, port)| entry(site, port.port))
        .collect::<Result<_>>()?;

    let html = gallery::page(&entries, dir);
    write(dir, &lab, &entries, &html)?;
    let client_cas = TrustedCas::from_certs(
        &dir.join("certs").join(CLIENT_CA_FILE),
        vec![lab.client_ca_der.clone()],
    )?;

    let gallery_port_number = gallery_port.port;
    serve::spawn(
        gallery_port,
        serve::tls_config(&lab.gallery, &client_cas)?,
        Page {
            content_type: "text/html; charset=utf-8",
            body: Bytes::from(html),
        },
    );
    for ((site, port), entry) in lab.sites.iter().zip(ports).zip(&entries) {
        let body = format!(
            "{}: your client accepted this certificate ({}).\n{}\n",
            marker(&entry.name),
            entry.shows,
            entry.lesson
        );
        serve::spawn(
            port,
            serve::tls_config(site, &client_cas)?,
            Page {
                content_type: "text/plain; charset=utf-8",
                body: Bytes::from(body),
            },
        );
    }
    Ok(Ready {
        gallery_port: gallery_port_number,
        entries,
        dir: dir.to_path_buf(),
    })
}

fn entry(site: &Site, port: u16) -> Result<Entry> {
    let s = site.scenario;
    let leaf = CertSummary::from_der(&site.chain[0])?;
    Ok(Entry {
        name: s.name.to_string(),
        url: format!("https://localhost:{port}/"),
        port,
        failure: s.failure.map(|r| r.code().to_string()),
        demo_client_says: s.failure.map(|r| r.title().to_string()),
        chromium_says: s.chromium.to_string(),
        shows: s.shows.to_string(),
        lesson: s.lesson.to_string(),
        why_it_matters: s.why.to_string(),
        tls12_only: s.tls12_only,
        serial: leaf.serial,
        sha256: leaf.sha256,
        expect: s.expect,
    })
}

fn pem_chain(site: &Site) -> String {
    use base64::Engine;
    let mut out = String::new();
    for der in &site.chain {
        let b64 = base64::engine::general_purpose::STANDARD.encode(der);
        out.push_str("-----BEGIN CERTIFICATE-----\n");
        for line in b64.as_bytes().chunks(64) {
            out.push_str(std::str::from_utf8(line).expect("base64 is ASCII"));
            out.push('\n');
        }
        out.push_str("-----END CERTIFICATE-----\n");
    }
    out
}

/// The folder: the CA to trust, the CRL, the other CAs, each scenario's chain (for
/// `demo_pki inspect`), scenarios.json, the gallery, and the learner's client certificate with
/// its key (mode 0600), the one private key written: the servers hold theirs in memory, and the
/// CAs' die with the process.
fn write(dir: &Path, lab: &certs::Lab, entries: &[Entry], html: &str) -> Result<()> {
    let certs_dir = dir.join("certs");
    std::fs::create_dir_all(&certs_dir).map_err(|e| {
        anyhow!(
            "cannot make the lab folder {}: {e}. Give a folder you may write with --dir.",
            certs_dir.display()
        )
    })?;
    let json = serde_json::to_string_pretty(entries)? + "\n";
    let chains: Vec<(PathBuf, String)> = lab
        .sites
        .iter()
        .map(|s| {
            (
                certs_dir.join(format!("{}.pem", s.scenario.name)),
                pem_chain(s),
            )
        })
        .collect();
    let fixed = [
        (
            dir.join(CA_FILE),
            "the lab CA (ca.pem)",
            lab.ca_pem.as_str(),
        ),
        (
            dir.join(CRL_FILE),
            "the lab's CRL (crl.pem)",
            lab.crl_pem.as_str(),
        ),
        (
            certs_dir.join("intermediate_ca.pem"),
            "the lab's intermediate CA",
            lab.intermediate_pem.as_str(),
        ),
        (
            certs_dir.join("stranger_ca.pem"),
            "the stranger's CA",
            lab.stranger_pem.as_str(),
        ),
        (
            certs_dir.join(CLIENT_CA_FILE),
            "the lab's client CA",
            lab.client_ca_pem.as_str(),
        ),
        (
            dir.join(CLIENT_CERT_FILE),
            "the lab's client certificate (client.pem)",
            lab.client_cert_pem.as_str(),
        ),
        (dir.join(SCENARIOS_FILE), "scenarios.json", json.as_str()),
        (dir.join(GALLERY_FILE), "the gallery page", html),
    ];
    let mut outputs: Vec<Output> = fixed
        .iter()
        .map(|(path, what, contents)| Output {
            path,
            what,
            contents: contents.as_bytes(),
            mode: files::PUBLIC,
        })
        .collect();
    let client_key = dir.join(CLIENT_KEY_FILE);
    outputs.push(Output {
        path: &client_key,
        what: "the lab's client key (client_key.pem)",
        contents: lab.client_key_pem.as_bytes(),
        mode: files::PRIVATE,
    });
    outputs.extend(chains.iter().map(|(path, pem)| Output {
        path,
        what: "a scenario's certificate chain",
        contents: pem.as_bytes(),
        mode: files::PUBLIC,
    }));
    // A fresh lab replaces the last one's files: they describe certificates that died with it.
    files::write_all(&outputs, &[], true)
}
