//! The scenarios: what each certificate is, what it teaches, and what each client does with it.
//! The `expect` verdicts are measured, not assumed: `crates/demo/tests/lab.rs` runs demo_client,
//! curl, Python requests and headless Chromium against every scenario and fails when one of them
//! differs from what is written here.

use serde::{Deserialize, Serialize};

use crate::tls::failure::{ClientCertKind, FailureKind};

/// A client's verdict on a certificate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Accept,
    Refuse,
}

impl Verdict {
    pub fn word(self) -> &'static str {
        match self {
            Verdict::Accept => "accept",
            Verdict::Refuse => "refuse",
        }
    }
}

/// What each client does, as measured: demo_client with `--crl DIR/crl.pem`, curl with
/// `--cacert DIR/ca.pem --crlfile DIR/crl.pem`, Python requests with `verify=DIR/ca.pem`, and
/// Chromium trusting DIR/ca.pem through its NSS database.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Expect {
    pub demo_client: Verdict,
    pub curl: Verdict,
    pub python: Verdict,
    pub chromium: Verdict,
}

/// How a scenario's certificate differs from the valid one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Make {
    Valid,
    Expired,
    NotYetValid,
    WrongHost,
    SelfSigned,
    CaAsLeaf,
    UntrustedRoot,
    IncompleteChain,
    ValidChain,
    NameConstraint,
    WrongUsage,
    NoSan,
    TooLong,
    Revoked,
    /// A valid certificate, on a server that requires a client certificate from the lab's
    /// client CA.
    ClientCertRequired,
}

/// Who refuses whom, and why, without the facts: demo_client refusing the server's certificate,
/// or the server refusing demo_client for the client certificate it did not present. Codes and
/// titles are those of [`crate::tls::failure`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    ServerCert(FailureKind),
    ClientCert(ClientCertKind),
}

impl Refusal {
    pub fn code(self) -> &'static str {
        match self {
            Refusal::ServerCert(k) => k.code(),
            Refusal::ClientCert(k) => k.code(),
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Refusal::ServerCert(k) => k.title(),
            Refusal::ClientCert(k) => k.title(),
        }
    }

    /// The stable code back to the refusal (`scenarios.json`'s `failure`).
    pub fn from_code(code: &str) -> Option<Refusal> {
        let server = FailureKind::ALL.into_iter().map(Refusal::ServerCert);
        let client = ClientCertKind::ALL.into_iter().map(Refusal::ClientCert);
        server.chain(client).find(|r| r.code() == code)
    }
}

pub struct Scenario {
    pub name: &'static str,
    pub make: Make,
    /// Served with TLS 1.2 only.
    pub tls12_only: bool,
    /// What the certificate is, in a few words.
    pub shows: &'static str,
    /// How demo_client classifies the refusal; `None` when it gets the page.
    pub failure: Option<Refusal>,
    /// What Chromium shows: its error code (each code it was seen to give, as `NET::ERR_...`), or
    /// that it opens the page.
    pub chromium: &'static str,
    /// One sentence: the point of the scenario, and where clients disagree.
    pub lesson: &'static str,
    /// What an attacker would gain if a client accepted it.
    pub why: &'static str,
    pub expect: Expect,
}

const fn all(v: Verdict) -> Expect {
    Expect {
        demo_client: v,
        curl: v,
        python: v,
        chromium: v,
    }
}

use Verdict::{Accept, Refuse};

pub const ACCEPTED: &str = "opens the page";

pub const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "valid",
        make: Make::Valid,
        tls12_only: false,
        shows: "a correct certificate for localhost, 127.0.0.1 and ::1, signed by the lab CA",
        failure: None,
        chromium: ACCEPTED,
        lesson: "The control: every client that trusts the lab CA accepts it, so a refusal elsewhere is the certificate's fault, not the set-up's.",
        why: "Nothing to gain: this is what a site should serve.",
        expect: all(Accept),
    },
    Scenario {
        name: "expired",
        make: Make::Expired,
        tls12_only: false,
        shows: "a certificate whose validity ended ten days ago",
        failure: Some(Refusal::ServerCert(FailureKind::Expired)),
        chromium: "NET::ERR_CERT_DATE_INVALID",
        lesson: "Every client checks the dates; an expired certificate's key may have leaked long ago, and its CA no longer answers for it.",
        why: "A stolen key of an old certificate would work for ever: revocation lists drop certificates once they expire.",
        expect: all(Refuse),
    },
    Scenario {
        name: "not-yet-valid",
        make: Make::NotYetValid,
        tls12_only: false,
        shows: "a certificate whose validity starts in ten days",
        failure: Some(Refusal::ServerCert(FailureKind::NotYetValid)),
        chromium: "NET::ERR_CERT_DATE_INVALID",
        lesson: "A certificate from the future is refused like an expired one; on a real machine it usually means the client's clock is wrong.",
        why: "A certificate back-dated or issued ahead could be used outside the window its CA vouched for.",
        expect: all(Refuse),
    },
    Scenario {
        name: "wrong-host",
        make: Make::WrongHost,
        tls12_only: false,
        shows: "a valid certificate, but for other.localhost, served at localhost",
        failure: Some(Refusal::ServerCert(FailureKind::NameMismatch)),
        chromium: "NET::ERR_CERT_COMMON_NAME_INVALID",
        lesson: "A certificate proves a name, not a server: the name asked for must be among the names it holds.",
        why: "Any site with any valid certificate could pose as every other site.",
        expect: all(Refuse),
    },
    Scenario {
        name: "self-signed",
        make: Make::SelfSigned,
        tls12_only: false,
        shows: "a site certificate that signs itself (CA:FALSE), no CA involved",
        failure: Some(Refusal::ServerCert(FailureKind::SelfSigned)),
        chromium: "NET::ERR_CERT_AUTHORITY_INVALID",
        lesson: "Anyone can make a self-signed certificate for any name, so it proves nothing unless you pinned that very certificate.",
        why: "A man-in-the-middle makes his own self-signed certificate for the name and reads everything.",
        expect: all(Refuse),
    },
    Scenario {
        name: "ca-as-leaf",
        make: Make::CaAsLeaf,
        tls12_only: false,
        shows: "what `openssl req -x509` makes: a self-signed CA:TRUE certificate used as the site's",
        failure: Some(Refusal::ServerCert(FailureKind::CaUsedAsEndEntity)),
        chromium: "NET::ERR_CERT_AUTHORITY_INVALID",
        lesson: "A CA certificate is for signing, not for serving; rustls says so (CA used as the site's), the others only see an untrusted issuer.",
        why: "Trusting it would make its key a CA for every name: a man-in-the-middle's dream.",
        expect: all(Refuse),
    },
    Scenario {
        name: "untrusted-root",
        make: Make::UntrustedRoot,
        tls12_only: false,
        shows: "a certificate for localhost signed by a stranger's CA (the server sends that CA too)",
        failure: Some(Refusal::ServerCert(FailureKind::UnknownIssuer)),
        chromium: "NET::ERR_CERT_AUTHORITY_INVALID",
        lesson: "The chain must end at a CA the client trusts; a root sent by the server is only a claim.",
        why: "This is exactly what an intercepting proxy presents: its own CA's certificate for the site.",
        expect: all(Refuse),
    },
    Scenario {
        name: "incomplete-chain",
        make: Make::IncompleteChain,
        tls12_only: false,
        shows: "a certificate signed by the lab's intermediate CA, served without that intermediate",
        failure: Some(Refusal::ServerCert(FailureKind::IncompleteChain)),
        chromium: "NET::ERR_CERT_AUTHORITY_INVALID",
        lesson: "The server must send its intermediates: clients without a cache of them (curl, Python, rustls, a fresh browser) cannot build the chain.",
        why: "Nothing by itself, but a client that 'fixes' it by skipping the check would accept any issuer.",
        expect: all(Refuse),
    },
    Scenario {
        name: "valid-chain",
        make: Make::ValidChain,
        tls12_only: false,
        shows: "the same kind of certificate, served with its intermediate: lab CA, intermediate, site",
        failure: None,
        chromium: ACCEPTED,
        lesson: "The fix for incomplete-chain: serve the site's certificate followed by its intermediates.",
        why: "Nothing to gain: this is how public sites are served.",
        expect: all(Accept),
    },
    Scenario {
        name: "name-constraint",
        make: Make::NameConstraint,
        tls12_only: false,
        shows: "a certificate for localhost and example.com, signed by the lab CA, which may vouch only for loopback names",
        failure: Some(Refusal::ServerCert(FailureKind::NameConstraint)),
        chromium: "NET::ERR_CERT_INVALID",
        lesson: "A name-constrained CA cannot vouch for names outside its constraints, even when the name asked for is inside: this is what makes trusting a private CA safe.",
        why: "A leaked key of a CA you installed for localhost could otherwise mint certificates for your bank.",
        expect: all(Refuse),
    },
    Scenario {
        name: "wrong-usage",
        make: Make::WrongUsage,
        tls12_only: false,
        shows: "a certificate for localhost whose extended key usage is clientAuth only",
        failure: Some(Refusal::ServerCert(FailureKind::WrongUsage)),
        chromium: "NET::ERR_CERT_INVALID",
        lesson: "A certificate says what it may be used for; one issued to authenticate a client is not a server's.",
        why: "A client certificate (for a VPN, an e-mail signature) could be replayed as any server's.",
        expect: all(Refuse),
    },
    Scenario {
        name: "no-san",
        make: Make::NoSan,
        tls12_only: false,
        shows: "a certificate with the name only in its common name (CN=localhost), no subjectAltName, as before 2017",
        failure: Some(Refusal::ServerCert(FailureKind::NameMismatch)),
        chromium: "NET::ERR_CERT_COMMON_NAME_INVALID",
        lesson: "Chromium (since 58), rustls and Python's ssl (requests) read names only from subjectAltName and refuse it; curl, through OpenSSL, still falls back to the common name and accepts it.",
        why: "The common name is free text: matching it invites mistakes in what a name is.",
        expect: Expect {
            demo_client: Refuse,
            curl: Accept,
            python: Refuse,
            chromium: Refuse,
        },
    },
    Scenario {
        name: "too-long",
        make: Make::TooLong,
        tls12_only: false,
        shows: "a certificate valid for 900 days, more than the 825 days Apple allows",
        failure: None,
        chromium: ACCEPTED,
        lesson: "Apple's platforms refuse site certificates valid for more than 825 days, even from a CA you installed; curl, Python, Chromium on Linux and demo_client (rustls has no such rule) accept it, so it works everywhere but on a Mac or an iPhone.",
        why: "The longer a certificate lives, the longer a stolen key works: lifetimes keep shrinking (398 days for public CAs, 47 by 2029).",
        expect: all(Accept),
    },
    Scenario {
        name: "revoked",
        make: Make::Revoked,
        tls12_only: false,
        shows: "a correct certificate that the lab CA revoked: its serial is in DIR/crl.pem",
        failure: Some(Refusal::ServerCert(FailureKind::Revoked)),
        chromium: "opens the page (no NET::ERR_CERT_REVOKED: Chromium does not fetch or check CRLs for a private CA)",
        lesson: "Revocation works only where a client is given the list: demo_client --crl and curl --crlfile refuse it, Python requests and Chromium accept it.",
        why: "A revoked certificate's key is presumed stolen: whoever holds it poses as the site until the certificate expires.",
        expect: Expect {
            demo_client: Refuse,
            curl: Refuse,
            python: Accept,
            chromium: Accept,
        },
    },
    Scenario {
        name: "tls12-only",
        make: Make::Valid,
        tls12_only: true,
        shows: "a valid certificate on a server that speaks TLS 1.2 only",
        failure: None,
        chromium: ACCEPTED,
        lesson: "TLS 1.2 is still accepted by every client; but its Certificate message travels in clear, so an eavesdropper sees which certificate (which site) you visited.",
        why: "Nothing against the certificate; on the wire, TLS 1.3 hides it.",
        expect: all(Accept),
    },
    Scenario {
        name: "client-cert-required",
        make: Make::ClientCertRequired,
        tls12_only: false,
        shows: "a valid certificate, on a server that requires a client certificate issued by the lab's client CA (mutual TLS)",
        failure: Some(Refusal::ClientCert(ClientCertKind::Required)),
        // Measured: Chromium first drops the handshake to look for a certificate, then connects
        // again without one. In TLS 1.3 the server's alert comes after the handshake; if it
        // arrives before Chromium has written its request, the write fails first.
        chromium: "NET::ERR_BAD_SSL_CLIENT_AUTH_CERT (about one time in four NET::ERR_SOCKET_NOT_CONNECTED: in TLS 1.3 the server's refusal arrives after the handshake, and can beat Chromium's request)",
        lesson: "Here the server refuses the visitor, not the visitor the server: its CertificateRequest names the CAs it accepts, and a client without a certificate from one is turned away after the handshake. The lab writes one at each start (client.pem and client_key.pem in its folder): given with demo_client --cert/--key, curl --cert/--key or Python requests' cert=(...), the page opens.",
        why: "Nothing against the visitor: a server that let anyone in without the certificate it requires would give its private pages to whoever asks.",
        expect: all(Refuse),
    },
];

/// One line of `scenarios.json`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Entry {
    pub name: String,
    pub url: String,
    pub port: u16,
    /// The classification code of the refusal (`expired`, `revoked`,
    /// `client_certificate_required`, ...); `null` when demo_client gets the page.
    pub failure: Option<String>,
    /// demo_client's title for it ("expired certificate").
    pub demo_client_says: Option<String>,
    pub chromium_says: String,
    pub shows: String,
    pub lesson: String,
    pub why_it_matters: String,
    pub tls12_only: bool,
    /// The site certificate's serial number and SHA-256 fingerprint, fresh at each start.
    pub serial: String,
    pub sha256: String,
    pub expect: Expect,
}
