//! The gallery: one HTML page (no script, no external resource) listing every scenario with its
//! link, what it shows, what Chromium and demo_client say, and why it matters. It reads only
//! `scenarios.json`'s entries, so the page and the file cannot disagree.

use std::fmt::Write;
use std::path::Path;

use super::run::{CA_FILE, CLIENT_CERT_FILE, CLIENT_KEY_FILE, CRL_FILE};
use super::scenarios::{Entry, Refusal};

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The page for the lab writing into `dir`.
pub fn page(entries: &[Entry], dir: &Path) -> String {
    let shown = |file: &str| esc(&dir.join(file).display().to_string());
    let (ca, crl) = (shown(CA_FILE), shown(CRL_FILE));
    let (cert, key) = (shown(CLIENT_CERT_FILE), shown(CLIENT_KEY_FILE));
    let mut rows = String::new();
    for e in entries {
        let refusal = e.failure.as_deref().and_then(Refusal::from_code);
        let demo = match (refusal, &e.demo_client_says) {
            // Here the server refuses demo_client, and the way through is the lab's certificate.
            (Some(Refusal::ClientCert(_)), Some(title)) => format!(
                "refused by the server: {}. With the lab's client certificate it gets the page: \
                 <code>demo_client --ca-file {ca} --cert {cert} --key {key} {url}</code>, \
                 <code>curl --cacert {ca} --cert {cert} --key {key} {url}</code>",
                esc(title),
                url = esc(&e.url),
            ),
            (_, Some(title)) => format!("refuses: {}", esc(title)),
            (_, None) => "accepts".to_string(),
        };
        let _ = writeln!(
            rows,
            "<tr><td><a href=\"{url}\">{name}</a></td><td>{shows}</td><td><code>{chromium}</code></td>\
             <td>{demo}</td><td>{why}</td><td>{lesson}</td></tr>",
            url = esc(&e.url),
            name = esc(&e.name),
            shows = esc(&e.shows),
            chromium = esc(&e.chromium_says),
            why = esc(&e.why_it_matters),
            lesson = esc(&e.lesson),
        );
    }
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>The failure lab: what a client must refuse</title>\
         <style>body{{font-family:sans-serif;max-width:80em;margin:1em auto;padding:0 1em}}\
         table{{border-collapse:collapse}}td,th{{border:1px solid #bbb;padding:.3em .5em;vertical-align:top;text-align:left}}</style></head><body>\n\
         <h1>The failure lab: what a client must refuse</h1>\n\
         <p>Every certificate below was made at this lab's start by its own CA, which may vouch only \
         for localhost, 127.0.0.0/8 and ::1. Trust that CA ({ca}) and open each link: a careful client \
         accepts the first and refuses most of the others. demo_client's words come from \
         <code>demo_client --ca-file {ca} --crl {crl} URL</code>; <code>demo_lab check</code> visits them all. \
         One scenario turns the tables (mutual TLS): its server refuses visitors without a client \
         certificate from the lab's client CA; the lab wrote one for you ({cert}, key {key}).</p>\n\
         <table><thead><tr><th>Scenario</th><th>What it shows</th><th>What Chromium says</th>\
         <th>What demo_client says</th><th>Why it matters: what an attacker gains if a client accepts it</th>\
         <th>Lesson</th></tr></thead><tbody>\n{rows}</tbody></table>\n</body></html>\n",
    )
}
