//! One certificate from the CA, each step narrated as it happens: the order for the name, the
//! CA's challenge ("prove you control localhost"), its verdict, the CSR (the key never
//! leaves), and the certificate.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Result, anyhow, bail};
use instant_acme::{
    Account, AuthorizationStatus, ChallengeType, Error, Identifier, NewOrder, OrderStatus,
    RetryPolicy,
};
use rcgen::{CertificateParams, DistinguishedName, DnType, KeyPair};
use rustls::sign::CertifiedKey;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use super::challenge::Answers;
use super::refusal;
use super::{ChallengeKind, ca_error};
use crate::pki::certificates_from_pem;
use crate::pki::inspect::CertSummary;

/// How long the CA has to decide on the challenge, and then to issue: pebble with
/// PEBBLE_VA_NOSLEEP takes well under a second; Let's Encrypt a few seconds.
pub const DECISION_TIMEOUT: Duration = Duration::from_secs(30);

/// A certificate the CA issued, with the key made here for it.
pub struct Issued {
    pub chain: Vec<CertificateDer<'static>>,
    pub key: Arc<CertifiedKey>,
    pub leaf: CertSummary,
    /// From the order to the certificate.
    pub took: Duration,
}

fn polling() -> RetryPolicy {
    RetryPolicy::new()
        .initial_delay(Duration::from_millis(100))
        .backoff(1.5)
        .timeout(DECISION_TIMEOUT)
}

/// Orders a certificate for `name`, answers the challenge with `kind` through `answers`
/// (served by the listener on `port`), and returns the certificate.
pub async fn obtain(
    account: &Account,
    name: &str,
    kind: ChallengeKind,
    answers: &Answers,
    port: u16,
) -> Result<Issued> {
    let started = Instant::now();
    let identifiers = [Identifier::Dns(name.to_string())];
    let mut order = account
        .new_order(&NewOrder::new(&identifiers))
        .await
        .map_err(|e| ca_error(e, "place the order"))?;
    println!(
        "ACME: order for {name} placed: the CA will vouch for {name} only once we prove that we control it."
    );
    let seen_before = answers.seen();
    let result = answer_challenges(&mut order, name, kind, answers, port, seen_before).await;
    // Once the CA has decided, nobody gets our answer any more.
    answers.clear();
    result?;

    // The site's key is made here, in memory, and only its public half goes into the CSR.
    let key = KeyPair::generate().map_err(|e| anyhow!("cannot make the site's key: {e}"))?;
    let mut params = CertificateParams::new(vec![name.to_string()])
        .map_err(|e| anyhow!("cannot make a CSR for {name}: {e}"))?;
    params.distinguished_name = DistinguishedName::new();
    params.distinguished_name.push(DnType::CommonName, name);
    let csr = params
        .serialize_request(&key)
        .map_err(|e| anyhow!("cannot sign the CSR: {e}"))?;
    order
        .finalize_csr(csr.der())
        .await
        .map_err(|e| ca_error(e, "accept our CSR"))?;
    println!(
        "ACME: CSR sent: \"I am {name}, here is my public key\", signed with the site's private key, \
         which was made in this process's memory and never leaves it (the CA gets only the public key)."
    );
    let pem = order
        .poll_certificate(&polling())
        .await
        .map_err(|e| ca_error(e, "issue the certificate"))?;
    let took = started.elapsed();
    let chain = certificates_from_pem(&pem, "the certificate chain the CA sent")?;
    let leaf = CertSummary::from_der(&chain[0])
        .map_err(|e| anyhow!("the certificate the CA sent: {e}"))?;
    let signing = crate::tls::provider()
        .key_provider
        .load_private_key(PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
            key.serialize_der(),
        )))
        .map_err(|e| anyhow!("rustls cannot use the site's key: {e}"))?;
    let certified = CertifiedKey::new(chain.clone(), signing);
    if let Err(rustls::Error::InconsistentKeys(_)) = certified.keys_match() {
        bail!(
            "the CA sent a certificate for another key than the one in our CSR: not serving it. \
             Report it to the CA's operator."
        );
    }
    println!(
        "ACME: certificate issued {:.2} s after the order ({} certificate(s) in the chain): {}",
        took.as_secs_f64(),
        chain.len(),
        leaf.sentence()
    );
    Ok(Issued {
        chain,
        key: Arc::new(certified),
        leaf,
        took,
    })
}

/// For each authorization of the order: set up our answer, tell the CA to look, and wait for
/// its verdict.
async fn answer_challenges(
    order: &mut instant_acme::Order,
    name: &str,
    kind: ChallengeKind,
    answers: &Answers,
    port: u16,
    seen_before: u64,
) -> Result<()> {
    let mut authorizations = order.authorizations();
    while let Some(authz) = authorizations.next().await {
        let mut authz = authz.map_err(|e| ca_error(e, "list what we must prove"))?;
        match authz.status {
            AuthorizationStatus::Pending => {}
            AuthorizationStatus::Valid => {
                println!(
                    "ACME: the CA already knows that this account controls {name} (a proof from a recent \
                     order, still valid): no challenge this time."
                );
                continue;
            }
            status => bail!(
                "the CA's authorization for {name} is {}, not pending: start again with a new order \
                 (restart demo_server).",
                authorization_word(status)
            ),
        }
        let offered: Vec<String> = authz
            .challenges
            .iter()
            .map(|c| challenge_name(&c.r#type))
            .collect();
        let Some(mut challenge) = authz.challenge(kind.acme_type()) else {
            bail!(
                "the CA offers no {} challenge for {name} (it offers: {}): choose one of those with \
                 --acme-challenge.",
                kind.name(),
                offered.join(", ")
            );
        };
        let key_authorization = challenge.key_authorization();
        match kind {
            ChallengeKind::TlsAlpn01 => {
                answers.set_tls_alpn01(name, key_authorization.digest().as_ref())?
            }
            ChallengeKind::Http01 => {
                answers.set_http01(&challenge.token, key_authorization.as_str())
            }
        }
        println!(
            "ACME: the CA's challenge: prove you control {name}. {}",
            kind.task(name, port)
        );
        challenge
            .set_ready()
            .await
            .map_err(|e| ca_error(e, "start checking our answer"))?;
    }
    let verdict = order.poll_ready(&polling()).await;
    match verdict {
        Ok(OrderStatus::Ready) => {
            println!("ACME: the CA checked our answer: we control {name}.");
            Ok(())
        }
        Ok(_) | Err(Error::Api(_)) => {
            // The reason is on the challenge: look again at each authorization.
            let mut authorizations = order.authorizations();
            while let Some(Ok(mut authz)) = authorizations.next().await {
                let _ = authz.refresh().await;
                if let Some(problem) = authz.challenges.iter().find_map(|c| c.error.as_ref()) {
                    let reached = answers.seen() > seen_before;
                    bail!("{}", refusal::words(problem, reached, name, kind, port));
                }
            }
            match verdict {
                Err(e) => Err(ca_error(e, "accept our answer")),
                Ok(_) => bail!(
                    "the CA did not accept our answer (the order is invalid) and gave no reason: \
                     look at the CA's own log."
                ),
            }
        }
        Err(e) => Err(ca_error(e, "decide on our answer")),
    }
}

fn authorization_word(status: AuthorizationStatus) -> &'static str {
    match status {
        AuthorizationStatus::Pending => "pending",
        AuthorizationStatus::Valid => "valid",
        AuthorizationStatus::Invalid => "invalid",
        AuthorizationStatus::Revoked => "revoked",
        AuthorizationStatus::Expired => "expired",
        AuthorizationStatus::Deactivated => "deactivated",
    }
}

/// A challenge type as RFC 8555 names it.
fn challenge_name(kind: &ChallengeType) -> String {
    match kind {
        ChallengeType::Http01 => "http-01".into(),
        ChallengeType::Dns01 => "dns-01".into(),
        ChallengeType::TlsAlpn01 => "tls-alpn-01".into(),
        ChallengeType::DeviceAttest01 => "device-attest-01".into(),
        ChallengeType::Unknown(name) => name.clone(),
        _ => "another type".into(),
    }
}
