//! demo_lab: the failure lab. Makes a CA and every kind of bad certificate, fresh, serves each
//! on its own port of localhost with a gallery page that explains them, and checks that
//! demo_client refuses what it must (`demo_lab check`).
//!
//! Usage: demo_lab [--dir DIR] [--port-base N]      (N: the gallery; N+1...: the scenarios)
//!        demo_lab check [--dir DIR]

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Result;
use clap::{Parser, Subcommand};
use https_demo::lab::{self, check, run};

#[derive(Parser)]
#[command(
    version,
    about = "Serve every bad certificate from a fresh lab CA, with a gallery that says what each client does and why."
)]
struct Cli {
    /// Where the lab writes ca.pem (the CA to trust), crl.pem, scenarios.json, the gallery, and
    /// client.pem with client_key.pem (a client certificate for mutual TLS).
    #[arg(long, value_name = "DIR", default_value = lab::DEFAULT_DIR, global = true)]
    dir: PathBuf,
    /// The gallery's port; the scenarios take the next ones. 0: ports the system chooses.
    #[arg(long, value_name = "N", default_value_t = lab::DEFAULT_PORT_BASE)]
    port_base: u16,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Visit every scenario of a running lab as demo_client does (with the lab's CRL) and print
    /// each verdict; exit 0 when every one is what scenarios.json expects.
    Check,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Some(Command::Check) => check_lab(&cli.dir),
        None => serve_lab(&cli.dir, cli.port_base),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("demo_lab: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

#[tokio::main]
async fn serve_lab(dir: &std::path::Path, port_base: u16) -> Result<ExitCode> {
    let started = Instant::now();
    let ready = run::start(dir, port_base)?;
    println!(
        "Lab ready: {} scenarios at https://localhost:{}/ (made and listening in {} ms)",
        ready.entries.len(),
        ready.gallery_port,
        started.elapsed().as_millis()
    );
    let dir = ready.dir.display();
    println!(
        "Trust {dir}/{} to try them (curl --cacert, Python verify=, your browser); the list is \
         {dir}/{}. Check demo_client: demo_lab check --dir {dir}. Ctrl-C stops the lab.",
        run::CA_FILE,
        run::SCENARIOS_FILE
    );
    println!(
        "The client-cert-required scenario lets in whoever presents {dir}/{} with its key {dir}/{} \
         (demo_client or curl: --cert {dir}/{} --key {dir}/{}).",
        run::CLIENT_CERT_FILE,
        run::CLIENT_KEY_FILE,
        run::CLIENT_CERT_FILE,
        run::CLIENT_KEY_FILE
    );
    tokio::signal::ctrl_c().await?;
    Ok(ExitCode::SUCCESS)
}

#[tokio::main(flavor = "current_thread")]
async fn check_lab(dir: &std::path::Path) -> Result<ExitCode> {
    let visits = check::visit_all(dir).await?;
    let (table, all_match) = check::table(&visits);
    print!("{table}");
    if all_match {
        let second = visits.iter().filter(|v| v.with_client_cert).count();
        println!(
            "Every verdict is the one scenarios.json expects ({} scenarios; {second} visited again with \
             the lab's client certificate).",
            visits.len() - second
        );
        Ok(ExitCode::SUCCESS)
    } else {
        println!(
            "Some verdicts differ from scenarios.json's expect.demo_client (marked above): demo_client's \
             trust core and the lab disagree. Is this the lab that wrote {}?",
            dir.display()
        );
        Ok(ExitCode::FAILURE)
    }
}
