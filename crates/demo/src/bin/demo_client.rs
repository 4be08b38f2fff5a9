//! demo_client: fetch the secret message from the demo's server, believing the server only
//! because the CA in one file vouches for it, and say what was verified. When it fails, it says
//! in plain words which check failed and what to do next.
//!
//! With --explain, it tells the story of the connection that carried the request, step by step,
//! from the bytes that crossed the wire; --json gives the same facts for a program.
//!
//! Usage: demo_client [URL] [--ca-file FILE] [--crl FILE] [--timeout SECS] [--fernet] [--explain] [--json]
//!        [--pin sha256//BASE64] [--insecure]
//! (SSLKEYLOGFILE=FILE writes the TLS secrets there, for Wireshark.)

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Result;
use clap::Parser;
use https_demo::client::{self, Client, Request, explain};
use https_demo::layout;
use https_demo::server::Mode;
use https_demo::tls::trust::SpkiPin;
use tracing_subscriber::EnvFilter;

/// Without RUST_LOG, only our own warnings: every failure is explained once, in words, and the
/// TLS libraries' own logs would repeat it. rustls-platform-verifier logs an ERROR line for a
/// rejected certificate even then; our client never builds it (see tls/client.rs), but keep it
/// quiet in case that ever changes.
const DEFAULT_LOG: &str = "off,https_demo=warn,demo_client=warn,rustls_platform_verifier=off";

#[derive(Parser)]
#[command(
    version,
    about = "Fetch the secret message over HTTPS, trusting only the demo's CA, and say what was verified."
)]
struct Cli {
    /// The server to ask; http:// shows what is lost without TLS. [default: https://localhost:8080/,
    /// or http://localhost:8082/ with --fernet]
    url: Option<String>,
    /// The tutorial's middle step: fetch over plain HTTP a message encrypted with the Fernet key in
    /// $SECRET_KEY, shared with the server beforehand (demo_server --fernet), and decrypt it.
    #[arg(long)]
    fernet: bool,
    /// The only CA certificate(s) to trust (PEM). Not the system's roots, not the browser's.
    #[arg(long, value_name = "FILE", default_value = layout::CA_CERT)]
    ca_file: PathBuf,
    /// A certificate revocation list (PEM): refuse a site certificate it lists as revoked
    /// (demo_lab writes one, lab_output/crl.pem).
    #[arg(long, value_name = "FILE")]
    crl: Option<PathBuf>,
    /// Seconds for the whole request: connecting, the TLS handshake, and the answer.
    #[arg(long, value_name = "SECS", default_value_t = 10.0, value_parser = parse_secs)]
    timeout: f64,
    /// Tell the story of the connection, step by step: TCP, ClientHello, ServerHello, the
    /// certificate and its checks, the keys, the encrypted exchange, what an eavesdropper saw.
    #[arg(long)]
    explain: bool,
    /// The story's facts as JSON (implies --explain).
    #[arg(long)]
    json: bool,
    /// Also require the server's public key to be this one: sha256//BASE64 (as curl's
    /// --pinnedpubkey; demo_pki inspect prints a certificate's pin). Refuses even a certificate
    /// a trusted CA signed, if it carries another key.
    #[arg(long, value_name = "sha256//BASE64", value_parser = parse_pin, conflicts_with_all = ["explain", "json", "insecure"])]
    pin: Option<SpkiPin>,
    /// Mutual TLS: present this client certificate (PEM, yours first) when the server asks for one.
    #[arg(long, value_name = "FILE", requires = "key")]
    cert: Option<PathBuf>,
    /// The private key of --cert (PKCS#8, encrypted or not).
    #[arg(long, value_name = "FILE", requires = "cert")]
    key: Option<PathBuf>,
    /// File whose first line is the passphrase of --key (else $DEMO_CLIENT_PASSPHRASE, else a prompt on a terminal).
    #[arg(long, value_name = "FILE", requires = "key")]
    passphrase_file: Option<PathBuf>,
    /// DANGEROUS, for the man-in-the-middle lesson only: accept any certificate at all, as
    /// `curl -k` and Python's verify=False do.
    #[arg(long, conflicts_with_all = ["explain", "json"])]
    insecure: bool,
}

fn parse_pin(s: &str) -> Result<SpkiPin, String> {
    SpkiPin::parse(s).map_err(|e| e.to_string())
}

fn parse_secs(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v > 0.0 && v <= 3600.0 => Ok(v),
        _ => Err("give a number of seconds between 0 and 3600, e.g. 10 or 0.5".into()),
    }
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_LOG)),
        )
        .init();
    match run(Cli::parse()) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("demo_client: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

#[tokio::main(flavor = "current_thread")]
async fn run(cli: Cli) -> Result<ExitCode> {
    if cli.insecure {
        eprintln!(
            "demo_client: WARNING: --insecure: the server's certificate will NOT be verified. Any certificate \
             is accepted, so anyone on the path (a man in the middle) can pose as the server with one he made \
             a second ago, and read or change everything sent and received. Never do this outside the lab."
        );
    }
    let fernet_key = if cli.fernet {
        Some(https_demo::symmetric::key_from_env()?)
    } else {
        None
    };
    let default_url = if cli.fernet {
        Mode::Fernet.default_url()
    } else {
        client::DEFAULT_URL.to_string()
    };
    let identity = match (&cli.cert, &cli.key) {
        (Some(cert), Some(key)) => {
            let source = https_demo::passphrase::Source {
                file: cli.passphrase_file.as_deref(),
                flag: "--passphrase-file",
                env_var: "DEMO_CLIENT_PASSPHRASE",
                purpose: &format!("the client key {}", key.display()),
            };
            Some(std::sync::Arc::new(
                https_demo::tls::client::load_client_identity(cert, key, || source.read())?,
            ))
        }
        _ => None,
    };
    let request = Request {
        identity,
        url: cli.url.unwrap_or(default_url),
        ca_file: cli.ca_file,
        crl_file: cli.crl,
        timeout: Duration::from_secs_f64(cli.timeout),
        pin: cli.pin,
        insecure: cli.insecure,
    };
    if cli.explain || cli.json {
        return explain(&request, cli.json).await;
    }
    let client = Client::new(&request)?;
    if let Some(path) = client.key_log() {
        warn_key_log(&path.display().to_string());
    } else if !client.target().tls && std::env::var_os("SSLKEYLOGFILE").is_some() {
        eprintln!(
            "demo_client: SSLKEYLOGFILE is set, but http:// uses no TLS: there are no secrets to write, \
             and the traffic can be read as it is."
        );
    }
    if fernet_key.is_some() && client.target().tls {
        anyhow::bail!(
            "--fernet shows the symmetric step over plain HTTP: use an http:// URL (demo_server --fernet listens on {})",
            Mode::Fernet.default_url()
        );
    }
    let fetched = client.fetch().await?;
    match fernet_key {
        Some(key) => {
            let message = https_demo::symmetric::decrypt(&key, &fetched.message)?;
            println!("Secret message: {message}");
            println!(
                "It travelled over plain HTTP as a Fernet token ({} characters), decrypted here with the key in ${}. \
                 An eavesdropper saw the token, not the message; but this only worked because you gave both sides \
                 the same key beforehand.",
                fetched.message.trim().len(),
                https_demo::symmetric::KEY_ENV
            );
        }
        None => print!("{}", fetched.report()),
    }
    Ok(ExitCode::SUCCESS)
}

/// The story is the output, a failed connection included: it says where it stopped and why,
/// so it is printed once, on stdout, and the exit status says it failed.
async fn explain(request: &Request, json: bool) -> Result<ExitCode> {
    let story = explain::tell(request).await?;
    if let Some(path) = &story.key_log_file {
        warn_key_log(path);
    }
    if json {
        println!("{}", story.json());
    } else {
        print!("{}", explain::render(&story));
    }
    Ok(match story.failure {
        Some(_) => ExitCode::FAILURE,
        None => ExitCode::SUCCESS,
    })
}

fn warn_key_log(path: &str) {
    eprintln!(
        "demo_client: TLS secrets are being written to {path} (SSLKEYLOGFILE): with it, anyone who captured \
         this traffic can read it. Delete the file when you are done."
    );
}
