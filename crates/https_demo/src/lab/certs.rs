//! Every certificate of the lab, made in memory at each start so that the lab never expires:
//! the lab CA (name-constrained to loopback, like the demo CA, but allowed one intermediate),
//! its intermediate, a stranger's CA, each scenario's chain, the CRL that revokes one, and for
//! mutual TLS a client CA and the learner's client certificate. ECDSA P-256 throughout: a key is
//! made in well under a millisecond. No CA key leaves memory.
//!
//! The client CA is a CA of its own, not the lab CA: the CA a browser trusts to vouch for sites
//! should not also decide who may visit (a server trusting it for visitors would let any site
//! certificate's holder in as well), and the lab CA's name constraints are about host names,
//! which a person does not have. The demo set separates the two the same way.

use anyhow::{Result, anyhow};
use rcgen::{
    BasicConstraints, CertificateParams, CertificateRevocationListParams, CertifiedIssuer,
    ExtendedKeyUsagePurpose, IsCa, KeyIdMethod, KeyPair, KeyUsagePurpose, NameConstraints,
    RevocationReason, RevokedCertParams, SanType, SerialNumber,
};
use rustls_pki_types::CertificateDer;
use time::{Duration, OffsetDateTime};
use zeroize::Zeroizing;

use super::scenarios::{Make, SCENARIOS, Scenario};
use crate::keys::{self, KeyType};
use crate::pki::client_cert::{self, ClientCertRequest};
use crate::pki::names::{LOCAL_ONLY, Subject, parse_permitted, parse_sans};
use crate::pki::{demo_set::SITE_NAMES, random_serial, sign, validity};

/// Who the learner's client certificate names.
pub const CLIENT_NAME: &str = "lab visitor";
/// The CA the `client-cert-required` scenario accepts visitors from.
pub const CLIENT_CA_NAME: &str = "HTTPS Demo Lab Client CA";

/// What a scenario's server presents, and the key that proves it.
pub struct Site {
    pub scenario: &'static Scenario,
    /// The site's certificate first, then what the server sends with it.
    pub chain: Vec<CertificateDer<'static>>,
    pub key: KeyPair,
}

/// The whole lab, in memory.
pub struct Lab {
    /// The CA clients should trust (`DIR/ca.pem`).
    pub ca_pem: String,
    pub intermediate_pem: String,
    pub stranger_pem: String,
    /// The lab CA's and the intermediate's revocation lists (`DIR/crl.pem`).
    pub crl_pem: String,
    /// Mutual TLS: the CA visitors' certificates must come from, as a server trusts it.
    pub client_ca_der: CertificateDer<'static>,
    pub client_ca_pem: String,
    /// The learner's client certificate (issued by the client CA) and its key, unencrypted.
    pub client_cert_pem: String,
    pub client_key_pem: Zeroizing<String>,
    /// The gallery's own certificate (valid).
    pub gallery: Site,
    pub sites: Vec<Site>,
}

fn key() -> Result<KeyPair> {
    KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)
        .map_err(|e| anyhow!("cannot make an ECDSA P-256 key: {e}"))
}

fn rcgen_err(step: &'static str) -> impl FnOnce(rcgen::Error) -> anyhow::Error {
    move |e| anyhow!("cannot make {step}: {e}")
}

fn ca_params(cn: &str, path_len: u8, now: OffsetDateTime) -> Result<CertificateParams> {
    let mut p = CertificateParams::default();
    p.distinguished_name = Subject {
        organization: Some("HTTPS demo failure lab".into()),
        common_name: cn.into(),
        ..Subject::default()
    }
    .to_dn()?;
    p.is_ca = IsCa::Ca(BasicConstraints::Constrained(path_len));
    p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    p.use_authority_key_identifier_extension = true;
    p.serial_number = Some(random_serial());
    p.not_before = now - Duration::hours(1);
    p.not_after = now + Duration::days(30);
    Ok(p)
}

/// A site certificate as the demo signs them: serverAuth, digitalSignature, both key
/// identifiers, the loopback names, valid from an hour ago for 90 days.
fn site_params(names: &[&str], now: OffsetDateTime) -> Result<CertificateParams> {
    let mut p = CertificateParams::default();
    let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    p.subject_alt_names = parse_sans(&names)?;
    p.distinguished_name = Subject {
        common_name: names[0].clone(),
        ..Subject::default()
    }
    .to_dn()?;
    p.is_ca = IsCa::ExplicitNoCa;
    p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    p.use_authority_key_identifier_extension = true;
    p.serial_number = Some(random_serial());
    p.not_before = now - Duration::hours(1);
    p.not_after = now + Duration::days(90);
    Ok(p)
}

/// Makes the whole lab.
pub fn make() -> Result<Lab> {
    let now = validity::now();
    let mut root = ca_params("HTTPS Demo Lab CA (localhost only)", 1, now)?;
    root.name_constraints = Some(NameConstraints {
        permitted_subtrees: LOCAL_ONLY
            .iter()
            .map(|p| parse_permitted(p))
            .collect::<Result<_>>()?,
        excluded_subtrees: vec![],
    });
    let root = CertifiedIssuer::self_signed(root, key()?).map_err(rcgen_err("the lab CA"))?;
    let intermediate = CertifiedIssuer::signed_by(
        ca_params("HTTPS Demo Lab Intermediate CA", 0, now)?,
        key()?,
        &root,
    )
    .map_err(rcgen_err("the lab's intermediate CA"))?;
    let stranger =
        CertifiedIssuer::self_signed(ca_params("Stranger CA (nobody trusts it)", 0, now)?, key()?)
            .map_err(rcgen_err("the stranger's CA"))?;

    let mut revoked = Vec::new();
    let mut site = |scenario: &'static Scenario| -> Result<Site> {
        let key = key()?;
        let signed = |p: CertificateParams, by: &CertifiedIssuer<'_, KeyPair>| {
            p.signed_by(&key, by)
                .map(|c| c.der().clone())
                .map_err(rcgen_err("a site certificate"))
        };
        let chain = match scenario.make {
            Make::Valid | Make::Revoked | Make::ClientCertRequired => {
                let p = site_params(&SITE_NAMES, now)?;
                if scenario.make == Make::Revoked {
                    revoked.push(p.serial_number.clone().expect("set above"));
                }
                vec![signed(p, &root)?]
            }
            Make::Expired => {
                let mut p = site_params(&SITE_NAMES, now)?;
                p.not_before = now - Duration::days(100);
                p.not_after = now - Duration::days(10);
                vec![signed(p, &root)?]
            }
            Make::NotYetValid => {
                let mut p = site_params(&SITE_NAMES, now)?;
                p.not_before = now + Duration::days(10);
                p.not_after = now + Duration::days(100);
                vec![signed(p, &root)?]
            }
            Make::TooLong => {
                let mut p = site_params(&SITE_NAMES, now)?;
                p.not_after = p.not_before + Duration::days(900);
                vec![signed(p, &root)?]
            }
            // A loopback name the lab CA may vouch for, but not the one asked for.
            Make::WrongHost => vec![signed(site_params(&["other.localhost"], now)?, &root)?],
            Make::SelfSigned => {
                let p = site_params(&SITE_NAMES, now)?;
                vec![
                    p.self_signed(&key)
                        .map_err(rcgen_err("a self-signed certificate"))?
                        .der()
                        .clone(),
                ]
            }
            Make::CaAsLeaf => {
                // As `openssl req -x509 -subj /CN=localhost -addext subjectAltName=...` makes it:
                // basicConstraints CA:TRUE, no key usage, no extended key usage.
                let mut p = site_params(&SITE_NAMES, now)?;
                p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
                p.key_usages = vec![];
                p.extended_key_usages = vec![];
                vec![
                    p.self_signed(&key)
                        .map_err(rcgen_err("a CA certificate for localhost"))?
                        .der()
                        .clone(),
                ]
            }
            // The server sends the stranger's root too: it is only a claim.
            Make::UntrustedRoot => vec![
                signed(site_params(&SITE_NAMES, now)?, &stranger)?,
                stranger.der().clone(),
            ],
            Make::IncompleteChain => vec![signed(site_params(&SITE_NAMES, now)?, &intermediate)?],
            Make::ValidChain => vec![
                signed(site_params(&SITE_NAMES, now)?, &intermediate)?,
                intermediate.der().clone(),
            ],
            Make::NameConstraint => {
                let mut p = site_params(&SITE_NAMES, now)?;
                p.subject_alt_names.push(SanType::DnsName(
                    "example.com".try_into().map_err(rcgen_err("a DNS name"))?,
                ));
                vec![signed(p, &root)?]
            }
            Make::WrongUsage => {
                let mut p = site_params(&SITE_NAMES, now)?;
                p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
                vec![signed(p, &root)?]
            }
            Make::NoSan => {
                let mut p = site_params(&SITE_NAMES, now)?;
                p.subject_alt_names = vec![];
                vec![signed(p, &root)?]
            }
        };
        Ok(Site {
            scenario,
            chain,
            key,
        })
    };
    let sites = SCENARIOS
        .iter()
        .map(&mut site)
        .collect::<Result<Vec<_>>>()?;
    let gallery = site(&SCENARIOS[0])?;

    let crl = |issuer: &CertifiedIssuer<'_, KeyPair>, serials: &[SerialNumber]| {
        CertificateRevocationListParams {
            this_update: now - Duration::hours(1),
            next_update: now + Duration::days(30),
            crl_number: random_serial(),
            issuing_distribution_point: None,
            revoked_certs: serials
                .iter()
                .map(|s| RevokedCertParams {
                    serial_number: s.clone(),
                    revocation_time: now - Duration::minutes(30),
                    reason_code: Some(RevocationReason::KeyCompromise),
                    invalidity_date: None,
                })
                .collect(),
            key_identifier_method: KeyIdMethod::Sha256,
        }
        .signed_by(issuer)
        .and_then(|c| c.pem())
        .map_err(rcgen_err("the revocation list"))
    };
    // The intermediate's list too, though it revokes nothing: OpenSSL (curl --crlfile) wants a
    // CRL from the issuer of every site certificate it checks.
    let crl_pem = crl(&root, &revoked)? + &crl(&intermediate, &[])?;
    let client = client_side(now)?;
    Ok(Lab {
        client_ca_der: client.ca.cert_der,
        client_ca_pem: client.ca_pem,
        client_cert_pem: client.cert_pem,
        client_key_pem: client.key_pem,
        ca_pem: root.pem(),
        intermediate_pem: intermediate.pem(),
        stranger_pem: stranger.pem(),
        crl_pem,
        gallery,
        sites,
    })
}

struct ClientSide {
    ca: sign::Ca,
    ca_pem: String,
    cert_pem: String,
    key_pem: Zeroizing<String>,
}

/// The client CA and the learner's certificate, made as `demo_pki client-cert` makes one
/// (clientAuth only), with its key unencrypted: the lab is a throwaway, and a plain key is what
/// curl and Python take without a prompt.
fn client_side(now: OffsetDateTime) -> Result<ClientSide> {
    let params = ca_params(CLIENT_CA_NAME, 0, now)?;
    let key = key()?;
    let cert = params
        .self_signed(&key)
        .map_err(rcgen_err("the lab's client CA"))?;
    let ca = sign::Ca {
        cert_der: cert.der().clone(),
        key,
        name: CLIENT_CA_NAME.into(),
        not_after: params.not_after,
        permitted: Vec::new(),
    };
    let new = client_cert::create(
        &ClientCertRequest {
            name: CLIENT_NAME,
            key_type: KeyType::EcdsaP256,
            // Inside the client CA's 30 days, which started an hour ago.
            days: Some(29),
        },
        &ca,
    )?;
    Ok(ClientSide {
        ca_pem: cert.pem(),
        cert_pem: new.cert_pem,
        key_pem: keys::to_pem(&new.key, None)?,
        ca,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::scenarios::Refusal;
    use crate::tls::trust::{TrustedCas, server_name, verify_chain};

    /// The trust core judges every chain offline as `scenarios.rs` says demo_client does: the
    /// lab's certificates are what they claim to be, without a server or a network.
    #[test]
    fn every_scenario_is_classified_as_the_list_says() {
        let lab = make().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let (ca, crl) = (dir.path().join("ca.pem"), dir.path().join("crl.pem"));
        std::fs::write(&ca, &lab.ca_pem).unwrap();
        std::fs::write(&crl, &lab.crl_pem).unwrap();
        let cas = TrustedCas::load(&ca).unwrap().with_crl_file(&crl).unwrap();
        let name = server_name("localhost").unwrap();
        for site in &lab.sites {
            let verdict =
                verify_chain(&cas, &site.chain, &name, rustls_pki_types::UnixTime::now()).unwrap();
            // A refusal of the client's certificate is no refusal of the server's.
            let expected = match site.scenario.failure {
                Some(Refusal::ServerCert(kind)) => Some(kind),
                Some(Refusal::ClientCert(_)) | None => None,
            };
            assert_eq!(
                verdict.err().map(|f| f.kind()),
                expected,
                "{}",
                site.scenario.name
            );
        }
    }

    #[test]
    fn a_crl_file_without_a_crl_is_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let ca = dir.path().join("ca.pem");
        std::fs::write(&ca, make().unwrap().ca_pem).unwrap();
        let err = TrustedCas::load(&ca)
            .unwrap()
            .with_crl_file(&ca)
            .unwrap_err()
            .to_string();
        assert!(err.contains("holds no CRL"), "{err}");
    }
}
