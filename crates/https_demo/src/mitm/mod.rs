//! The man in the middle: an intercepting TLS proxy in the style of mitmproxy, to show with
//! one's own eyes why a client must verify. It makes its own CA, forges a certificate for
//! whatever name a client asks for, relays to the real server over its own verified
//! connection, and prints what it could read. A verifying client refuses it; a careless one is
//! robbed.
//!
//! - [`forge`]: the attacker CA and the certificates it forges, cached per name.
//! - [`relay`]: one intercepted connection, from the ClientHello to the upstream and back.
//! - [`report`]: the lines it prints (STOLEN, REFUSED, BLOCKED).

pub mod forge;
pub mod relay;
pub mod report;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Result, anyhow, bail};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use crate::tls::trust::{TrustedCas, server_name};

/// What `demo_mitm` was asked to do.
pub struct Options {
    pub listen: String,
    pub upstream: String,
    pub upstream_ca: PathBuf,
    pub dir: PathBuf,
    pub handshake_timeout: Duration,
    pub idle_timeout: Duration,
    pub max_connections: usize,
    pub cache_names: usize,
}

/// The file the attacker CA's certificate is written to, in `dir`.
pub fn attacker_ca_file(dir: &Path) -> PathBuf {
    dir.join("attacker_ca.pem")
}

/// Splits `HOST:PORT` (`[::1]:8080` too).
fn host_port(text: &str, what: &str) -> Result<(String, u16)> {
    let bad = || {
        anyhow!(
            "{what} {text:?} is not HOST:PORT: give e.g. localhost:8080, 127.0.0.1:8080 or [::1]:8080"
        )
    };
    let (host, port) = text.rsplit_once(':').ok_or_else(bad)?;
    let port = port.parse::<u16>().map_err(|_| bad())?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() {
        return Err(bad());
    }
    Ok((host.to_string(), port))
}

/// Makes the attacker CA, writes its certificate, listens, and intercepts until Ctrl-C.
pub async fn run(opts: Options) -> Result<()> {
    let (up_host, up_port) = host_port(&opts.upstream, "--upstream")?;
    if up_port == 0 {
        bail!(
            "--upstream {} has port 0: give the port the real server listens on",
            opts.upstream
        );
    }
    if matches!(opts.upstream_ca.try_exists(), Ok(false)) {
        bail!(
            "--upstream-ca {} does not exist: give the CA certificate that the real server's certificate \
             leads to (the demo's is {}, from the repository root)",
            opts.upstream_ca.display(),
            crate::layout::CA_CERT
        );
    }
    let upstream_cas = TrustedCas::load(&opts.upstream_ca)?;
    let upstream_name = server_name(&up_host)?;
    let ca = forge::AttackerCa::new()?;
    std::fs::create_dir_all(&opts.dir).map_err(|e| {
        anyhow!(
            "cannot make the folder {} ({e}); give another with --dir",
            opts.dir.display()
        )
    })?;
    let ca_file = attacker_ca_file(&opts.dir);
    crate::files::write_atomic(
        &ca_file,
        "the attacker CA's certificate",
        ca.pem.as_bytes(),
        crate::files::PUBLIC,
        true,
    )?;
    let (host, port) = host_port(&opts.listen, "--listen")?;
    let addr = tokio::net::lookup_host((host.as_str(), port))
        .await
        .ok()
        .and_then(|mut addrs| addrs.find(|a| a.is_ipv4()))
        .ok_or_else(|| anyhow!("--listen {}: {host} has no IPv4 address here", opts.listen))?;
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|e| anyhow!("cannot listen on {addr} ({e}): is another program using it? Pick another with --listen, or port 0"))?;
    let bound = listener.local_addr()?;
    let shared = Arc::new(relay::Shared {
        forger: forge::Forger::new(ca, opts.cache_names)?,
        upstream_h2: relay::upstream_config(&upstream_cas, b"h2")?,
        upstream_h1: relay::upstream_config(&upstream_cas, b"http/1.1")?,
        upstream_host: up_host,
        upstream_port: up_port,
        upstream_name,
        upstream_cas,
        handshake_timeout: opts.handshake_timeout,
        idle_timeout: opts.idle_timeout,
    });
    println!(
        "Attacker CA: {} (ECDSA P-256, made a moment ago; its key stays in memory and dies with this process). \
         Its certificate is {}: a client that trusts it believes every forgery. It has NO name constraints, \
         so it can vouch for any name; the demo CA may vouch only for localhost, 127.0.0.0/8 and ::1, so even \
         its stolen key could not forge a certificate for another site that a client would accept.",
        forge::CA_NAME,
        ca_file.display()
    );
    println!(
        "Relaying to https://{}/ (verified with {}); every other destination is refused.",
        shared.upstream(),
        shared.upstream_cas.file.display()
    );
    println!("Listening on https://{bound}/");
    let slots = Arc::new(Semaphore::new(opts.max_connections.max(1)));
    loop {
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(done) => done,
                Err(e) => {
                    // Out of file descriptors, mostly: wait a moment rather than spin.
                    eprintln!("demo_mitm: accept failed ({e}); retrying");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = tokio::signal::ctrl_c() => {
                println!("Stopped. {} names had a forged certificate.", shared.forger.cached());
                return Ok(());
            }
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            println!(
                "BUSY: {peer} closed at once: {} connections are open already (--max-connections)",
                opts.max_connections
            );
            continue;
        };
        let shared = shared.clone();
        tokio::spawn(async move {
            relay::connection(shared, tcp, peer).await;
            drop(slot);
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_and_port_are_read_with_ipv6_and_refused_in_words() {
        assert_eq!(
            host_port("localhost:8080", "x").unwrap(),
            ("localhost".into(), 8080)
        );
        assert_eq!(host_port("[::1]:443", "x").unwrap(), ("::1".into(), 443));
        let err = host_port("localhost", "--upstream")
            .unwrap_err()
            .to_string();
        assert!(err.contains("is not HOST:PORT"), "{err}");
    }
}
