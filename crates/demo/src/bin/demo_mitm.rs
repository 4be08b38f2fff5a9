//! demo_mitm: a man in the middle, to see why a client must verify. It makes its own "attacker"
//! CA, forges a certificate for whatever name a client asks for, relays to the real server over
//! its own verified TLS connection, and prints what it could read: `STOLEN from ...` for a
//! client that believed the forgery, `REFUSED by ...` for one that did not.
//!
//! Usage: demo_mitm [--listen ADDR] [--upstream HOST:PORT] [--upstream-ca FILE] [--dir DIR]
//! Then: demo_client https://localhost:8443/ (refuses), demo_client --insecure ... (robbed).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use https_demo::layout;
use https_demo::mitm::{self, Options};

#[derive(Parser)]
#[command(
    version,
    about = "An intercepting TLS proxy: forges certificates with its own CA and prints what careless clients let it read."
)]
struct Cli {
    /// Where clients connect: IP:PORT or localhost:PORT (port 0 picks a free one).
    #[arg(long, value_name = "ADDR", default_value = "localhost:8443")]
    listen: String,
    /// The real server, the only place anything is relayed to.
    #[arg(long, value_name = "HOST:PORT", default_value = "localhost:8080")]
    upstream: String,
    /// The CA the interceptor trusts for the upstream (it verifies, even if its victims do not).
    #[arg(long, value_name = "FILE", default_value = layout::CA_CERT)]
    upstream_ca: PathBuf,
    /// Where the attacker CA's certificate is written (attacker_ca.pem; never its key).
    #[arg(long, value_name = "DIR", default_value = "mitm_lab_output")]
    dir: PathBuf,
    /// Seconds from TCP accept to the end of the client's TLS handshake.
    #[arg(long, value_name = "SECS", default_value_t = 10)]
    handshake_timeout: u64,
    /// Seconds a connection may stay without a request before it is closed.
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    idle_timeout: u64,
    /// Connections served at once; more are closed at once.
    #[arg(long, value_name = "N", default_value_t = 256)]
    max_connections: usize,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let opts = Options {
        listen: cli.listen,
        upstream: cli.upstream,
        upstream_ca: cli.upstream_ca,
        dir: cli.dir,
        handshake_timeout: Duration::from_secs(cli.handshake_timeout.clamp(1, 600)),
        idle_timeout: Duration::from_secs(cli.idle_timeout.clamp(1, 3600)),
        max_connections: cli.max_connections,
        cache_names: 64,
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("demo_mitm: error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(mitm::run(opts)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("demo_mitm: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
