//! How we talk to the ACME server: HTTPS through reqwest, trusting for the directory either the
//! CA file given (`--acme-ca`, pebble's own test CA) through the one trust core, or the system's
//! roots (a real CA such as Let's Encrypt). Every request is bounded in time.

use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, Result};
use http_body_util::BodyExt;
use hyper::body::Bytes;
use instant_acme::{BodyWrapper, BytesResponse, HttpClient};

use crate::tls;

/// Per request to the ACME server: it answers in milliseconds when it is there at all.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// instant-acme's HTTP seam, filled with our reqwest client.
pub struct Directory {
    http: reqwest::Client,
}

impl Directory {
    /// A client that trusts, for the ACME server's own HTTPS certificate, only the CAs in
    /// `ca_file`, or the system's roots without one.
    pub fn new(ca_file: Option<&Path>) -> Result<Directory> {
        let builder = match ca_file {
            Some(file) => {
                let cas = tls::trust::TrustedCas::load(file).with_context(|| {
                    format!(
                        "--acme-ca {}: give the CA certificate that signed the ACME server's HTTPS certificate \
                         (for pebble: the one its config's \"certificate\" was signed with)",
                        file.display()
                    )
                })?;
                tls::client::builder(
                    &cas,
                    false,
                    Arc::new(tls::client::ClientCertAsker::new(None)),
                )?
            }
            None => reqwest::Client::builder(),
        };
        let http = builder
            .timeout(REQUEST_TIMEOUT)
            .connect_timeout(REQUEST_TIMEOUT)
            .build()
            .context("cannot make the HTTPS client for the ACME server")?;
        Ok(Directory { http })
    }
}

impl HttpClient for Directory {
    fn request(
        &self,
        req: hyper::Request<BodyWrapper<Bytes>>,
    ) -> Pin<Box<dyn Future<Output = Result<BytesResponse, instant_acme::Error>> + Send>> {
        let http = self.http.clone();
        Box::pin(async move {
            let (parts, body) = req.into_parts();
            // The body is a JWS we signed: already whole in memory, collecting cannot fail.
            let body = body
                .collect()
                .await
                .map(|b| b.to_bytes())
                .unwrap_or_default();
            let req = reqwest::Request::try_from(hyper::Request::from_parts(parts, body))
                .map_err(|e| instant_acme::Error::Other(Box::new(e)))?;
            let rsp = http
                .execute(req)
                .await
                .map_err(|e| instant_acme::Error::Other(Box::new(e)))?;
            Ok(BytesResponse::from(hyper::Response::<reqwest::Body>::from(
                rsp,
            )))
        })
    }
}
