//! demo_server: proves its identity with the site certificate and serves the secret message
//! over HTTPS (or, with --plain-http, over plain HTTP so that the two can be compared in
//! Wireshark).
//!
//! Usage: demo_server [--listen ADDR]... [--passphrase-file FILE] [--plain-http]
//!        demo_server --acme DIRECTORY_URL [--acme-ca FILE] [--acme-email ADDR] [--acme-challenge tls-alpn-01|http-01]

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Result;
use clap::Parser;
use https_demo::layout;
use https_demo::passphrase::Source;
use https_demo::proxy;
use https_demo::server::{self, Limits, Mode, Transport, listen::ListenAddr};
use https_demo::tls;

#[derive(Parser)]
#[command(
    version,
    about = "Serve the secret message over HTTPS (or plain HTTP, to compare)."
)]
struct Cli {
    /// Address to listen on (repeatable): localhost:PORT (127.0.0.1 and ::1), IP:PORT, [IPv6]:PORT. Port 0 picks a free one.
    /// Default: localhost:8080; localhost:8081 with --plain-http; localhost:8082 with --fernet.
    #[arg(long, value_name = "ADDR")]
    listen: Vec<ListenAddr>,
    /// Serve the same app with no TLS at all, so that Wireshark shows the message in clear.
    #[arg(long)]
    plain_http: bool,
    /// The tutorial's middle step: plain HTTP again, but the message is sent encrypted with the
    /// Fernet key in $SECRET_KEY, which the client must already share. Default port 8082.
    #[arg(long, conflicts_with = "plain_http")]
    fernet: bool,
    /// The certificate chain to send (site certificate first).
    #[arg(long, default_value = layout::SITE_CERT)]
    cert: PathBuf,
    /// The site's private key (passphrase-encrypted PKCS#8).
    #[arg(long, default_value = layout::SITE_KEY)]
    key: PathBuf,
    /// File whose first line is the key's passphrase (else $DEMO_SERVER_PASSPHRASE, else a prompt on a terminal).
    #[arg(long, value_name = "FILE")]
    passphrase_file: Option<PathBuf>,
    /// The CA clients trust: the server warns at startup when its chain does not lead there.
    #[arg(long, default_value = layout::CA_CERT)]
    ca_file: PathBuf,
    /// Mutual TLS: ask every visitor for a certificate issued by the CA(s) in this file (default with --client-auth: the bundled client CA).
    #[arg(long, value_name = "FILE")]
    client_ca: Option<PathBuf>,
    /// With a client CA: `required` refuses a visitor without a valid certificate in the handshake; `optional` serves them anyway. Default: required.
    #[arg(long, value_name = "MODE", value_parser = ["required", "optional"])]
    client_auth: Option<String>,
    /// Offer TLS 1.2 only (default: 1.3 and 1.2), to see in Wireshark what 1.3 hides, such as the certificate.
    #[arg(long, value_name = "VERSION", value_parser = ["1.2", "1.3"], default_value = "1.3")]
    tls_max: String,
    /// Offer HTTP/1.1 only (no h2), to compare the two in Wireshark.
    #[arg(long)]
    http1_only: bool,
    /// Let no client resume a TLS session: no session cache, no TLS 1.3 tickets, so that every connection pays a full handshake (for benchmarks).
    #[arg(long, hide = true)]
    no_resumption: bool,
    /// Serve a certificate even when it is expired or not yet valid, to show what clients do.
    #[arg(long)]
    allow_invalid_dates: bool,
    /// Seconds a client has to finish the TLS handshake.
    #[arg(long, default_value_t = 10, value_name = "SECS")]
    handshake_timeout: u64,
    /// Seconds a client has to send a whole request head.
    #[arg(long, default_value_t = 10, value_name = "SECS")]
    header_timeout: u64,
    /// Seconds a kept-alive connection may sit idle between requests.
    #[arg(long, default_value_t = 30, value_name = "SECS")]
    idle_timeout: u64,
    /// Open connections, counted from their first byte. At the cap, one idle for over a second makes room; when none can, a newcomer is let in, up to twice the cap (see README).
    #[arg(long, default_value_t = 1024, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    max_connections: u64,
    /// Largest request head, in bytes (at least 8192); a longer one gets 431.
    #[arg(long, default_value_t = 32 * 1024, value_name = "BYTES", value_parser = clap::value_parser!(u64).range(8192..=1_048_576))]
    max_header_bytes: u64,
    /// Worker threads serving connections (default: one per CPU core). 1 is what benchmarks compare.
    #[arg(long, hide = true, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=1024))]
    threads: Option<u16>,
    /// Get the certificate for localhost from an ACME CA (pebble, Let's Encrypt) at this directory URL, answering its challenge on our own port, and renew it while running. `-` reads the URL from standard input once listening (for a CA that must be told our port first).
    #[arg(long, value_name = "DIRECTORY_URL", conflicts_with_all = ["plain_http", "fernet", "cert", "key", "passphrase_file", "client_ca", "client_auth", "allow_invalid_dates"])]
    acme: Option<https_demo::acme::DirectorySource>,
    /// With --acme: the CA certificate that signed the ACME directory's own HTTPS certificate (pebble's test CA), trusted only for talking to the directory. Default: the system's roots.
    #[arg(long, value_name = "FILE", requires = "acme")]
    acme_ca: Option<PathBuf>,
    /// With --acme: a contact address for the account.
    #[arg(long, value_name = "ADDR", requires = "acme")]
    acme_email: Option<String>,
    /// With --acme: how we prove we control localhost: tls-alpn-01 (a special certificate on our TLS port) or http-01 (a token over plain HTTP, answered on the same port).
    #[arg(
        long,
        value_name = "TYPE",
        default_value = "tls-alpn-01",
        requires = "acme"
    )]
    acme_challenge: https_demo::acme::ChallengeKind,
    /// Seconds in-flight requests may take to finish after Ctrl-C.
    #[arg(long, default_value_t = 10, value_name = "SECS")]
    shutdown_grace: u64,
    /// Be a TLS-terminating proxy: forward every request (but /connection and /handshake) in plain HTTP to the app at this URL, on this machine (e.g. http://127.0.0.1:5000).
    #[arg(long, value_name = "URL", conflicts_with_all = ["plain_http", "fernet"])]
    upstream: Option<proxy::Origin>,
    /// With --upstream: seconds the app may take to accept, to answer, or to send the next piece of a body (502/504 otherwise).
    #[arg(long, value_name = "SECS", default_value_t = proxy::DEFAULT_TIMEOUT.as_secs(), value_parser = clap::value_parser!(u64).range(1..=3600))]
    upstream_timeout: u64,
}

impl Cli {
    fn mode(&self) -> Mode {
        if self.fernet {
            Mode::Fernet
        } else if self.plain_http {
            Mode::PlainHttp
        } else {
            Mode::Tls
        }
    }

    /// The client CA file and mode when the server asks visitors for certificates.
    fn client_auth(&self) -> Option<(PathBuf, tls::trust::ClientAuth)> {
        if self.client_ca.is_none() && self.client_auth.is_none() {
            return None;
        }
        let file = self
            .client_ca
            .clone()
            .unwrap_or_else(|| layout::CLIENT_CA_CERT.into());
        let mode = self
            .client_auth
            .as_deref()
            .unwrap_or("required")
            .parse()
            .unwrap_or(tls::trust::ClientAuth::Required);
        Some((file, mode))
    }

    /// `--listen`, or both loopback addresses on the mode's own port.
    fn listen(&self) -> Vec<ListenAddr> {
        if self.listen.is_empty() {
            vec![ListenAddr::Localhost(self.mode().default_port())]
        } else {
            self.listen.clone()
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let to_terminal = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let log = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_ansi(to_terminal);
    if to_terminal || server::tuning::log::start().is_err() {
        log.with_writer(std::io::stderr).init();
    } else {
        log.with_writer(|| server::tuning::log::Writer).init();
    }
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    if let Some(n) = cli.threads {
        runtime.worker_threads(n.into());
    }
    let runtime = match runtime.enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            server::tuning::log::flush();
            eprintln!("demo_server: error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    // Spawned, not run by block_on: block_on runs its future on this (main) thread, and every
    // accepted connection would then wake a worker thread to be served (a context switch per
    // connection, about 10% of a handshake's CPU with --threads 1).
    let result = runtime.block_on(async { tokio::spawn(run(cli)).await });
    // Before our own last words, so that they come after the log's.
    server::tuning::log::flush();
    match result {
        Ok(Ok(())) => ExitCode::SUCCESS,
        Ok(Err(e)) => {
            eprintln!("demo_server: error: {e:#}");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("demo_server: error: the server task failed: {e}");
            ExitCode::FAILURE
        }
    }
}

fn offer(cli: &Cli) -> tls::server::Offer {
    tls::server::Offer {
        tls12_only: cli.tls_max == "1.2",
        http1_only: cli.http1_only,
        no_resumption: cli.no_resumption,
    }
}

async fn run(cli: Cli) -> Result<()> {
    let mut app = server::app::App::default();
    let mut acme_task = None;
    let transport = if cli.fernet {
        app = app.with_fernet(https_demo::symmetric::key_from_env()?);
        println!(
            "Serving over PLAIN HTTP, the message encrypted with the shared Fernet key in ${}: an eavesdropper \
             sees only the token, but the key had to reach the client some other way first.",
            https_demo::symmetric::KEY_ENV
        );
        Transport::Plain
    } else if cli.plain_http {
        println!(
            "Serving over PLAIN HTTP: no certificate, no encryption. Anyone on the path can read the message."
        );
        Transport::Plain
    } else if let Some(directory) = cli.acme.clone() {
        let acme = https_demo::acme::Acme::new(https_demo::acme::Settings {
            directory,
            ca_file: cli.acme_ca.clone(),
            email: cli.acme_email.clone(),
            challenge: cli.acme_challenge,
        });
        println!(
            "Proving our identity with a certificate for localhost from an ACME CA, obtained once we listen \
             (proving to the CA that we control localhost with {}).",
            cli.acme_challenge.name()
        );
        app = app.with_acme_answers(acme.answers());
        let config = acme.server_config(offer(&cli))?;
        acme_task = Some(acme);
        Transport::Tls(config)
    } else {
        let source = Source {
            file: cli.passphrase_file.as_deref(),
            flag: "--passphrase-file",
            env_var: "DEMO_SERVER_PASSPHRASE",
            purpose: &format!("the site key {}", cli.key.display()),
        };
        // The demo's own key: say where its passphrase is before asking for it.
        let demo_key = cli.key == std::path::Path::new(layout::SITE_KEY);
        let identity = tls::server::load_identity(
            &cli.cert,
            &cli.key,
            || {
                if demo_key && source.file.is_none() && std::env::var_os(source.env_var).is_none() {
                    eprintln!(
                        "demo_server: the demo key's passphrase is in {} (./start_https_server.sh \
                         passes it for you; or add --passphrase-file {}).",
                        layout::PASSPHRASE,
                        layout::PASSPHRASE
                    );
                }
                source.read()
            },
            cli.allow_invalid_dates,
        )?;
        println!("Proving our identity with {}:", cli.cert.display());
        println!("  {}", identity.leaf.sentence());
        app = app.with_server_certificate(identity.leaf.sentence());
        if let Some(warning) = tls::server::check_against_ca(&identity, &cli.ca_file) {
            tracing::warn!("{warning}");
        }
        if let Some(path) = std::env::var_os("SSLKEYLOGFILE") {
            println!(
                "SSLKEYLOGFILE is set: writing TLS session secrets to {}. Anyone with that file can decrypt the \
                 captured traffic; that is how Wireshark does it.",
                PathBuf::from(path).display()
            );
        }
        let offer = offer(&cli);
        let clients = match cli.client_auth() {
            Some((file, mode)) => {
                let cas = tls::trust::TrustedCas::load(&file).map_err(|e| {
                    anyhow::anyhow!("--client-ca: {e:#}").context(format!(
                        "cannot ask visitors for certificates of {}: give the CA certificate that signed them \
                         (demo_pki client-cert prints it), or make the demo set with: {}",
                        file.display(),
                        layout::REGENERATE
                    ))
                })?;
                println!(
                    "Asking every visitor for a certificate from {} ({}: {}).",
                    cas.names(),
                    mode.name(),
                    match mode {
                        tls::trust::ClientAuth::Required => "no valid certificate, no connection",
                        tls::trust::ClientAuth::Optional =>
                            "a visitor without one still gets the page",
                    }
                );
                app = app.with_client_auth(
                    mode,
                    cas.summaries.iter().map(tls::trust::ca_name).collect(),
                );
                Some(tls::trust::client_verifier(&cas, mode)?)
            }
            None => None,
        };
        Transport::Tls(tls::server::server_config(
            &identity,
            tls::provider(),
            offer,
            clients,
        )?)
    };
    let listeners = server::listen::bind_all(&cli.listen()).await?;
    server::listen::raise_open_file_limit(cli.max_connections);
    for l in &listeners {
        let addr = l.local_addr()?;
        let host = if addr.is_ipv6() {
            format!("[{}]", addr.ip())
        } else {
            addr.ip().to_string()
        };
        println!(
            "Listening on {}://{host}:{}/",
            transport.scheme(),
            addr.port()
        );
    }
    if let Some(origin) = cli.upstream {
        println!(
            "Forwarding every request but /connection and /handshake to {origin} in plain HTTP (TLS ends here)."
        );
        let timeout = Duration::from_secs(cli.upstream_timeout);
        app = app.with_upstream(proxy::Proxy::new(origin, timeout));
    }
    println!("Press Ctrl-C to stop.");
    std::io::stdout().flush()?;
    let limits = Limits {
        handshake_timeout: Duration::from_secs(cli.handshake_timeout),
        header_timeout: Duration::from_secs(cli.header_timeout),
        idle_timeout: Duration::from_secs(cli.idle_timeout),
        max_connections: cli.max_connections as usize,
        max_header_bytes: cli.max_header_bytes as usize,
        shutdown_grace: Duration::from_secs(cli.shutdown_grace),
    };
    let port = listeners.first().map(|l| l.local_addr()).transpose()?;
    let serving = server::serve(listeners, transport, limits, app);
    match (acme_task, port) {
        // The listener answers the CA's validator while the certificate is obtained, then
        // serves with it; the ACME task returns only if the first certificate cannot be had.
        (Some(acme), Some(addr)) => tokio::select! {
            done = serving => done,
            failed = acme.run(addr.port()) => failed,
        },
        _ => serving.await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_mode_listens_on_its_own_port_by_default() {
        for (args, mode) in [
            (&[][..], Mode::Tls),
            (&["--plain-http"][..], Mode::PlainHttp),
            (&["--fernet"][..], Mode::Fernet),
        ] {
            let cli = Cli::parse_from(std::iter::once("demo_server").chain(args.iter().copied()));
            assert_eq!(cli.mode(), mode, "{args:?}");
            assert_eq!(
                cli.listen(),
                vec![ListenAddr::Localhost(mode.default_port())],
                "{args:?}"
            );
        }
        let cli = Cli::parse_from(["demo_server", "--fernet", "--listen", "127.0.0.1:0"]);
        assert_eq!(cli.listen(), vec!["127.0.0.1:0".parse().unwrap()]);
    }

    #[test]
    fn help_names_each_modes_default_port() {
        use clap::CommandFactory;
        let help = Cli::command().render_long_help().to_string();
        for mode in [Mode::Tls, Mode::PlainHttp, Mode::Fernet] {
            assert!(
                help.contains(&format!("localhost:{}", mode.default_port())),
                "{mode:?}: {help}"
            );
        }
    }

    #[test]
    fn benchmark_knobs_work_but_stay_out_of_the_teaching_help() {
        use clap::CommandFactory;
        let help = Cli::command().render_long_help().to_string();
        assert!(
            !help.contains("--threads") && !help.contains("--no-resumption"),
            "{help}"
        );
        let cli = Cli::parse_from(["demo_server", "--threads", "1", "--no-resumption"]);
        assert_eq!(cli.threads, Some(1));
        assert!(cli.no_resumption);
    }
}
