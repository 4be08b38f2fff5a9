//! demo_pki: the certificate story as a tool. Become a CA, make a site key and a Certificate
//! Signing Request, sign it, and read the result.
//!
//! Usage: demo_pki <ca|csr|sign|inspect|verify|demo|trust|key> [OPTIONS]   (demo_pki help <command> for each)

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Result, bail};
use clap::{Args, Parser, Subcommand};
use https_demo::files::{self, Named, Output, PRIVATE, PUBLIC};
use https_demo::keys::{self, KeyType};
use https_demo::layout::{self, Layout};
use https_demo::passphrase::Source;
use https_demo::pki::{self, inspect::show_time, names::Subject};
use https_demo::trust_store;

/// One variable for one key: the CA key's passphrase (made by `ca` and `demo --keep-ca-key`,
/// read by `sign`) and the site key's (made by `csr`).
const KEY_ENV: &str = "DEMO_PKI_PASSPHRASE";
const CA_KEY_ENV: &str = "DEMO_PKI_CA_PASSPHRASE";

#[derive(Parser)]
#[command(
    version,
    about = "Become a CA, make keys and CSRs, sign them, inspect certificates."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create a CA: a new private key and a self-signed CA certificate (10 years, loopback-only by default).
    Ca(CaArgs),
    /// Create a site private key and a Certificate Signing Request for the names you give.
    Csr(CsrArgs),
    /// Check a CSR's signature and sign it with a CA, giving a site certificate (at most 825 days).
    Sign(SignArgs),
    /// Make a key and a client certificate (clientAuth only) for a person or a service, signed by a CA, like mkcert -client.
    ClientCert(ClientCertArgs),
    /// Show certificates (every one of a chain, in order) or CSRs the way a person reads them.
    Inspect(InspectArgs),
    /// Verify a certificate chain against a CA file for a name, as a client would (dates, chain, signatures, name).
    Verify(VerifyArgs),
    /// Print a fresh Fernet key for the symmetric step of the demo (demo_server --fernet, demo_client --fernet).
    FernetKey,
    /// Make the demo's whole bundled set again: a fresh CA, site key, CSR, certificate and passphrase.
    Demo(DemoArgs),
    /// Trust a CA where browsers and tools look (NSS, system, Java), remove it, or ask why it is not trusted.
    Trust(TrustArgs),
    /// Work on an existing private key: `key decrypt` writes a plain copy for servers that take no passphrase.
    Key(KeyArgs),
}

#[derive(Args)]
struct KeyArgs {
    #[command(subcommand)]
    command: KeyCommand,
}

#[derive(Subcommand)]
enum KeyCommand {
    /// Write an UNENCRYPTED copy of an encrypted key (mode 0600), for servers such as gunicorn that cannot take a key passphrase.
    Decrypt(KeyDecryptArgs),
}

#[derive(Args)]
struct KeyDecryptArgs {
    /// The encrypted private key.
    #[arg(long, default_value = layout::SITE_KEY)]
    key: PathBuf,
    /// File whose first line is the key's passphrase (else $DEMO_PKI_PASSPHRASE, else a prompt).
    #[arg(long, value_name = "FILE")]
    passphrase_file: Option<PathBuf>,
    /// Where to write the plain key.
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    /// Replace the output file if it exists.
    #[arg(long)]
    force: bool,
}

#[derive(Args)]
struct TrustArgs {
    #[command(subcommand)]
    command: TrustCommand,
}

#[derive(Subcommand)]
enum TrustCommand {
    /// Add the CA to every store found (Chromium's and Firefox's NSS databases, the system store, Java), or those named.
    Install(TrustInstallArgs),
    /// Remove exactly the CA (matched by its SHA-256 fingerprint) from the stores, and nothing else.
    Uninstall(TrustStoreArgs),
    /// For each store and each client (curl, Python, Node, Java, browsers, ...): trusted or not, and the fix.
    Status(TrustStatusArgs),
}

#[derive(Args)]
struct TrustStoreArgs {
    /// The CA certificate.
    #[arg(long, default_value = layout::CA_CERT)]
    ca: PathBuf,
    /// Only this store (repeatable): nss, system or java. Default: all.
    #[arg(long = "store", value_name = "STORE")]
    stores: Vec<trust_store::Store>,
}

#[derive(Args)]
struct TrustInstallArgs {
    #[command(flatten)]
    store: TrustStoreArgs,
    /// Install a CA that has no name constraints, which could then vouch for any site.
    #[arg(long)]
    unconstrained: bool,
}

#[derive(Args)]
struct TrustStatusArgs {
    #[command(flatten)]
    store: TrustStoreArgs,
    /// Also connect to this https:// URL with each client installed here, and report what each got.
    #[arg(long, value_name = "URL")]
    url: Option<String>,
}

#[derive(Args)]
struct SubjectArgs {
    /// Two-letter country code (C), e.g. US.
    #[arg(long)]
    country: Option<String>,
    /// State or province (ST).
    #[arg(long)]
    state: Option<String>,
    /// Locality or city (L).
    #[arg(long)]
    locality: Option<String>,
    /// Organisation (O).
    #[arg(long)]
    org: Option<String>,
}

#[derive(Args)]
struct NewKeyArgs {
    /// Key algorithm: ecdsa-p256, ecdsa-p384, ed25519, rsa2048, rsa3072 or rsa4096.
    #[arg(long, default_value = "ecdsa-p256")]
    key_type: KeyType,
    /// File whose first line is the passphrase that encrypts the new key (else $DEMO_PKI_CA_PASSPHRASE for a CA key, $DEMO_PKI_PASSPHRASE for a site key, else a prompt).
    #[arg(long, value_name = "FILE")]
    passphrase_file: Option<PathBuf>,
    /// Write the key unencrypted. Anyone who can read the file can then use the key.
    #[arg(long, conflicts_with = "passphrase_file")]
    no_passphrase: bool,
    /// Replace output files that already exist.
    #[arg(long)]
    force: bool,
}

#[derive(Args)]
struct CaArgs {
    /// Where to write the CA certificate (give it to clients to trust).
    #[arg(long, default_value = "ca_public_key.pem")]
    cert: PathBuf,
    /// Where to write the CA private key. Keep it secret and out of any repository.
    #[arg(long, default_value = "ca_private_key.pem")]
    key: PathBuf,
    /// Common name (CN) of the CA.
    #[arg(long, default_value = "HTTPS Demo CA")]
    cn: String,
    #[command(flatten)]
    subject: SubjectArgs,
    /// Days the CA is valid.
    #[arg(long, default_value_t = pki::validity::DEFAULT_CA_DAYS)]
    days: i64,
    /// A name or ADDR/PREFIX range the CA may vouch for (repeatable). Default: localhost, 127.0.0.0/8, ::1/128.
    #[arg(long, value_name = "NAME")]
    permit: Vec<String>,
    /// Let the CA vouch for any name. Anyone who trusts it is then exposed if its key leaks.
    #[arg(long, conflicts_with = "permit")]
    no_name_constraints: bool,
    #[command(flatten)]
    new_key: NewKeyArgs,
}

#[derive(Args)]
struct CsrArgs {
    /// A DNS name or IP address the certificate is for (repeatable): IPs become IP SANs, the rest DNS names.
    #[arg(long = "name", value_name = "NAME", required = true)]
    names: Vec<String>,
    /// Where to write the site's private key.
    #[arg(long, default_value = "site_private_key.pem")]
    key: PathBuf,
    /// Where to write the CSR.
    #[arg(long, default_value = "site_csr.pem")]
    csr: PathBuf,
    /// Common name (CN); default: the first --name.
    #[arg(long)]
    cn: Option<String>,
    #[command(flatten)]
    subject: SubjectArgs,
    #[command(flatten)]
    new_key: NewKeyArgs,
}

#[derive(Args)]
struct SignArgs {
    /// The Certificate Signing Request to sign.
    #[arg(long, default_value = "site_csr.pem")]
    csr: PathBuf,
    /// The CA certificate.
    #[arg(long, default_value = "ca_public_key.pem")]
    ca_cert: PathBuf,
    /// The CA private key.
    #[arg(long, default_value = "ca_private_key.pem")]
    ca_key: PathBuf,
    /// File whose first line is the CA key's passphrase (else $DEMO_PKI_CA_PASSPHRASE, else a prompt).
    #[arg(long, value_name = "FILE")]
    ca_passphrase_file: Option<PathBuf>,
    /// Where to write the signed certificate.
    #[arg(long, default_value = "site_public_key.pem")]
    out: PathBuf,
    /// Days the certificate is valid (at most 825; default 2 years 3 months, like mkcert).
    #[arg(long)]
    days: Option<i64>,
    /// Also allow the certificate to identify a TLS client (clientAuth), not only a server.
    #[arg(long)]
    client_auth: bool,
    /// Replace the output file if it exists.
    #[arg(long)]
    force: bool,
}

#[derive(Args)]
struct ClientCertArgs {
    /// Who the certificate is for: a person (alice), an email address or a service's DNS name.
    #[arg(long)]
    name: String,
    /// The CA certificate (a server trusts client certificates of this CA with demo_server --client-ca).
    #[arg(
        long = "ca",
        visible_alias = "ca-cert",
        value_name = "FILE",
        default_value = "ca_public_key.pem"
    )]
    ca_cert: PathBuf,
    /// The CA private key.
    #[arg(long, value_name = "FILE", default_value = "ca_private_key.pem")]
    ca_key: PathBuf,
    /// File whose first line is the CA key's passphrase (else $DEMO_PKI_CA_PASSPHRASE, else a prompt).
    #[arg(long, value_name = "FILE")]
    ca_passphrase_file: Option<PathBuf>,
    /// Folder for NAME.pem, NAME_key.pem and NAME.p12.
    #[arg(long, value_name = "DIR", default_value = ".")]
    out_dir: PathBuf,
    /// Also write NAME.p12 (PKCS#12: key and certificates in one file, for browsers), protected by the key's passphrase.
    #[arg(long)]
    p12: bool,
    /// Days the certificate is valid (at most 825; default 2 years 3 months, like mkcert).
    #[arg(long)]
    days: Option<i64>,
    #[command(flatten)]
    new_key: NewKeyArgs,
}

#[derive(Args)]
struct InspectArgs {
    /// PEM files holding certificates (a chain is shown in order) or CSRs.
    #[arg(required = true)]
    files: Vec<PathBuf>,
}

#[derive(Args)]
struct VerifyArgs {
    /// PEM file with the site certificate first, then any intermediates.
    cert: PathBuf,
    /// The CA certificate(s) to trust, and nothing else.
    #[arg(long, default_value = layout::CA_CERT)]
    ca_file: PathBuf,
    /// The name the client asks for.
    #[arg(long, default_value = "localhost")]
    name: String,
}

#[derive(Args)]
struct DemoArgs {
    /// Make the set in this folder (its certificates/, ca_certificates_for_client/ and secret/). Default: the
    /// current folder, which must then be this repository's root.
    #[arg(long, value_name = "DIR")]
    root: Option<PathBuf>,
    /// Key algorithm of the site key.
    #[arg(long, default_value = "ecdsa-p256")]
    key_type: KeyType,
    /// Key algorithm of the CA key.
    #[arg(long, default_value = "ecdsa-p256")]
    ca_key_type: KeyType,
    /// Keep the new CA's key at this path (outside the repository), encrypted. By default it is discarded.
    #[arg(long, value_name = "PATH")]
    keep_ca_key: Option<PathBuf>,
    /// File whose first line is the passphrase for --keep-ca-key (else $DEMO_PKI_CA_PASSPHRASE, else a prompt).
    #[arg(long, value_name = "FILE", requires = "keep_ca_key")]
    ca_passphrase_file: Option<PathBuf>,
    /// Replace the existing set.
    #[arg(long)]
    force: bool,
}

fn main() -> ExitCode {
    https_demo::cli::quiet_on_closed_pipe();
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("demo_pki: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Ca(a) => ca(a),
        Command::Csr(a) => csr(a),
        Command::Sign(a) => sign(a),
        Command::ClientCert(a) => client_cert(a),
        Command::Inspect(a) => inspect(a),
        Command::Verify(a) => verify(a),
        Command::Demo(a) => demo(a),
        Command::Trust(a) => trust(a.command),
        Command::Key(KeyArgs {
            command: KeyCommand::Decrypt(a),
        }) => key_decrypt(a),
        Command::FernetKey => {
            println!("{}", https_demo::symmetric::generate_key());
            eprintln!(
                "Give this same key to both sides: export SECRET_KEY=<the key above>. Anyone who has it can read \
                 the messages, so it must travel by some safe way you already have; HTTPS needs no such shared key."
            );
            Ok(())
        }
    }
}

fn subject(args: SubjectArgs, common_name: String) -> Subject {
    Subject {
        country: args.country,
        state: args.state,
        locality: args.locality,
        organization: args.org,
        common_name,
    }
}

/// Which key a command makes, and the variable that holds its passphrase.
#[derive(Clone, Copy)]
enum Role {
    Ca,
    Site,
}

impl Role {
    fn name(self) -> &'static str {
        match self {
            Role::Ca => "CA",
            Role::Site => "site",
        }
    }
    fn env_var(self) -> &'static str {
        match self {
            Role::Ca => CA_KEY_ENV,
            Role::Site => KEY_ENV,
        }
    }
}

/// The passphrase file a command reads, as an input no output may overwrite.
fn passphrase_input<'a>(file: Option<&'a Path>, flag: &'a str) -> Vec<Named<'a>> {
    file.map(|path| Named { path, what: flag })
        .into_iter()
        .collect()
}

/// Writes a new key (encrypted unless --no-passphrase, mode 0600) and the public file made with
/// it, both or neither.
fn write_new_key(
    key: &https_demo::pki::KeyPair,
    args: &NewKeyArgs,
    role: Role,
    key_out: Named<'_>,
    public_out: (Named<'_>, &str),
    inputs: &[Named<'_>],
) -> Result<()> {
    let pass = if args.no_passphrase {
        None
    } else {
        let source = Source {
            file: args.passphrase_file.as_deref(),
            flag: "--passphrase-file",
            env_var: role.env_var(),
            purpose: &format!("the new {} key {}", role.name(), key_out.path.display()),
        };
        Some(source.read_new()?)
    };
    let key_pem = keys::to_pem(key, pass.as_deref().map(|s| s.as_str()))?;
    let (public_out, public_pem) = public_out;
    files::write_all(
        &[
            Output {
                path: key_out.path,
                what: key_out.what,
                contents: key_pem.as_bytes(),
                mode: PRIVATE,
            },
            Output {
                path: public_out.path,
                what: public_out.what,
                contents: public_pem.as_bytes(),
                mode: PUBLIC,
            },
        ],
        inputs,
        args.force,
    )
}

fn key_note(args: &NewKeyArgs) -> &'static str {
    if args.no_passphrase {
        "UNENCRYPTED, mode 0600"
    } else {
        "encrypted with your passphrase, mode 0600"
    }
}

fn ca(a: CaArgs) -> Result<()> {
    let key_out = Named {
        path: &a.key,
        what: "the CA key (--key)",
    };
    let cert_out = Named {
        path: &a.cert,
        what: "the CA certificate (--cert)",
    };
    let inputs = passphrase_input(
        a.new_key.passphrase_file.as_deref(),
        "the passphrase file (--passphrase-file)",
    );
    files::check(&[key_out, cert_out], &inputs, a.new_key.force)?;
    if !a.new_key.no_passphrase
        && a.new_key.passphrase_file.is_none()
        && std::env::var_os(CA_KEY_ENV).is_none()
        && std::env::var_os(KEY_ENV).is_some()
    {
        bail!(
            "{KEY_ENV} is set, but it holds the site key's passphrase; a CA key's passphrase comes from \
             {CA_KEY_ENV} (as for sign and demo --keep-ca-key). Nothing was written. Set {CA_KEY_ENV}, or pass \
             --passphrase-file FILE."
        );
    }
    let permitted: Vec<String> = match (a.no_name_constraints, a.permit.is_empty()) {
        (true, _) => vec![],
        (false, true) => pki::names::LOCAL_ONLY
            .iter()
            .map(|s| s.to_string())
            .collect(),
        (false, false) => a.permit.clone(),
    };
    let new = pki::ca::create(&pki::ca::CaRequest {
        subject: &subject(a.subject, a.cn),
        key_type: a.new_key.key_type,
        days: a.days,
        permitted: &permitted,
    })?;
    write_new_key(
        &new.key,
        &a.new_key,
        Role::Ca,
        key_out,
        (cert_out, &new.cert_pem),
        &inputs,
    )?;
    println!("Created a new CA with an {} key.", a.new_key.key_type);
    println!(
        "The CA certificate is at {}: give it to the clients that should trust this CA.",
        a.cert.display()
    );
    println!(
        "The CA key is at {} ({}). Keep it secret: whoever holds it can vouch for any site to everyone who trusts the CA.",
        a.key.display(),
        key_note(&a.new_key)
    );
    if permitted.is_empty() {
        println!("This CA may vouch for ANY name (no name constraints).");
    } else {
        println!(
            "This CA may vouch only for: {} (critical name constraints).",
            permitted.join(", ")
        );
    }
    println!("It expires on {}.", show_time(new.not_after));
    println!("Next: demo_pki csr --name localhost --name 127.0.0.1 --name ::1");
    Ok(())
}

fn csr(a: CsrArgs) -> Result<()> {
    let key_out = Named {
        path: &a.key,
        what: "the site key (--key)",
    };
    let csr_out = Named {
        path: &a.csr,
        what: "the CSR (--csr)",
    };
    let inputs = passphrase_input(
        a.new_key.passphrase_file.as_deref(),
        "the passphrase file (--passphrase-file)",
    );
    files::check(&[key_out, csr_out], &inputs, a.new_key.force)?;
    let cn = a.cn.clone().unwrap_or_else(|| a.names[0].clone());
    let new = pki::csr::create(&pki::csr::CsrRequest {
        subject: &subject(a.subject, cn),
        names: &a.names,
        key_type: a.new_key.key_type,
    })?;
    write_new_key(
        &new.key,
        &a.new_key,
        Role::Site,
        key_out,
        (csr_out, &new.csr_pem),
        &inputs,
    )?;
    println!(
        "Created an {} key and a request for {}.",
        a.new_key.key_type,
        a.names.join(", ")
    );
    println!(
        "The request is at {}: send it to the CA. The key is at {} ({}): it never leaves this machine.",
        a.csr.display(),
        a.key.display(),
        key_note(&a.new_key)
    );
    println!(
        "Next: demo_pki sign --csr {} --ca-cert ca_public_key.pem --ca-key ca_private_key.pem",
        a.csr.display()
    );
    Ok(())
}

fn sign(a: SignArgs) -> Result<()> {
    let out = Named {
        path: &a.out,
        what: "the certificate (--out)",
    };
    let mut inputs = vec![
        Named {
            path: &a.csr,
            what: "the CSR (--csr)",
        },
        Named {
            path: &a.ca_cert,
            what: "the CA certificate (--ca-cert)",
        },
        Named {
            path: &a.ca_key,
            what: "the CA key (--ca-key)",
        },
    ];
    inputs.extend(passphrase_input(
        a.ca_passphrase_file.as_deref(),
        "the passphrase file (--ca-passphrase-file)",
    ));
    files::check(&[out], &inputs, a.force)?;
    let csr_pem = files::read_text(&a.csr, "CSR")?;
    let source = Source {
        file: a.ca_passphrase_file.as_deref(),
        flag: "--ca-passphrase-file",
        env_var: CA_KEY_ENV,
        purpose: &format!("the CA key {}", a.ca_key.display()),
    };
    let ca = pki::sign::Ca::load(&a.ca_cert, &a.ca_key, || source.read())?;
    let signed = pki::sign::sign_csr(
        &csr_pem,
        &a.csr.display().to_string(),
        &ca,
        &pki::sign::SignRequest {
            days: a.days,
            client_auth: a.client_auth,
        },
    )?;
    files::write_all(
        &[Output {
            path: out.path,
            what: out.what,
            contents: signed.cert_pem.as_bytes(),
            mode: PUBLIC,
        }],
        &inputs,
        a.force,
    )?;
    println!(
        "The CSR's signature verifies. Signed a certificate for {} with the CA \"{}\".",
        signed.names.join(", "),
        ca.name
    );
    println!(
        "The certificate is at {}. It expires on {}.",
        a.out.display(),
        show_time(signed.not_after)
    );
    println!("Next: demo_pki inspect {}", a.out.display());
    Ok(())
}

fn client_cert(a: ClientCertArgs) -> Result<()> {
    let stem = pki::client_cert::file_stem(&a.name);
    let cert_path = a.out_dir.join(format!("{stem}.pem"));
    let key_path = a.out_dir.join(format!("{stem}_key.pem"));
    let p12_path = a.out_dir.join(format!("{stem}.p12"));
    let mut outputs = vec![
        Named {
            path: &key_path,
            what: "the client key",
        },
        Named {
            path: &cert_path,
            what: "the client certificate",
        },
    ];
    if a.p12 {
        outputs.push(Named {
            path: &p12_path,
            what: "the PKCS#12 file (--p12)",
        });
    }
    let mut inputs = vec![
        Named {
            path: &a.ca_cert,
            what: "the CA certificate (--ca)",
        },
        Named {
            path: &a.ca_key,
            what: "the CA key (--ca-key)",
        },
    ];
    inputs.extend(passphrase_input(
        a.ca_passphrase_file.as_deref(),
        "the passphrase file (--ca-passphrase-file)",
    ));
    inputs.extend(passphrase_input(
        a.new_key.passphrase_file.as_deref(),
        "the passphrase file (--passphrase-file)",
    ));
    files::check(&outputs, &inputs, a.new_key.force)?;
    let source = Source {
        file: a.ca_passphrase_file.as_deref(),
        flag: "--ca-passphrase-file",
        env_var: CA_KEY_ENV,
        purpose: &format!("the CA key {}", a.ca_key.display()),
    };
    let ca = pki::sign::Ca::load(&a.ca_cert, &a.ca_key, || source.read())?;
    let pass = if a.new_key.no_passphrase {
        None
    } else {
        Some(
            Source {
                file: a.new_key.passphrase_file.as_deref(),
                flag: "--passphrase-file",
                env_var: KEY_ENV,
                purpose: &format!("the new client key {}", key_path.display()),
            }
            .read_new()?,
        )
    };
    let new = pki::client_cert::create(
        &pki::client_cert::ClientCertRequest {
            name: &a.name,
            key_type: a.new_key.key_type,
            days: a.days,
        },
        &ca,
    )?;
    let key_pem = keys::to_pem(&new.key, pass.as_deref().map(|s| s.as_str()))?;
    let p12 = if a.p12 {
        Some(pki::client_cert::to_p12(
            &a.name,
            &new.key,
            &new.cert_der,
            &ca.cert_der,
            pass.as_deref().map_or("", |s| s.as_str()),
        )?)
    } else {
        None
    };
    let mut writes = vec![
        Output {
            path: &key_path,
            what: "the client key",
            contents: key_pem.as_bytes(),
            mode: PRIVATE,
        },
        Output {
            path: &cert_path,
            what: "the client certificate",
            contents: new.cert_pem.as_bytes(),
            mode: PUBLIC,
        },
    ];
    if let Some(p12) = &p12 {
        writes.push(Output {
            path: &p12_path,
            what: "the PKCS#12 file (--p12)",
            contents: p12,
            mode: PRIVATE,
        });
    }
    files::write_all(&writes, &inputs, a.new_key.force)?;
    println!(
        "Made a client certificate for {} ({}), signed by the CA \"{}\": it may identify a TLS client only (extended key usage clientAuth).",
        a.name.trim(),
        match &new.san {
            Some(san) => format!("subject CN={}, subjectAltName {san}", a.name.trim()),
            None => format!("subject CN={}", a.name.trim()),
        },
        ca.name
    );
    println!(
        "The certificate is at {}; it expires on {}.",
        cert_path.display(),
        show_time(new.not_after)
    );
    println!(
        "The key is at {} ({}).",
        key_path.display(),
        key_note(&a.new_key)
    );
    if p12.is_some() {
        println!(
            "The PKCS#12 file for browsers is at {} (mode 0600, {}).",
            p12_path.display(),
            if a.new_key.no_passphrase {
                "protected by an EMPTY password: anyone who can read it can use the key"
            } else {
                "protected by the key's passphrase"
            }
        );
    }
    println!(
        "Next: demo_server --client-ca {} --client-auth required, then demo_client --cert {} --key {}",
        a.ca_cert.display(),
        cert_path.display(),
        key_path.display()
    );
    Ok(())
}

fn inspect(a: InspectArgs) -> Result<()> {
    for (i, file) in a.files.iter().enumerate() {
        let text = files::read_text(file, "file")?;
        if i > 0 {
            println!();
        }
        print!(
            "{}",
            pki::inspect::inspect_pem(&text, &file.display().to_string())?
        );
    }
    Ok(())
}

fn verify(a: VerifyArgs) -> Result<()> {
    let cert = files::read_text(&a.cert, "certificate file")?;
    let cert_shown = a.cert.display().to_string();
    let verdict = pki::verify::verify_files(&cert, &cert_shown, &a.ca_file, &a.name)?;
    let ca_shown = a.ca_file.display();
    if let Some(failure) = &verdict.refused {
        bail!(
            "{cert_shown} does not verify for {} against {ca_shown}: {}",
            a.name,
            pki::verify::refusal(failure, &cert_shown, &verdict.cas)
        );
    }
    println!(
        "{cert_shown}: OK for {} (checked against {ca_shown}: chain, signatures, dates, name, name constraints).",
        a.name
    );
    println!("  {}", verdict.leaf.sentence());
    if let Some(warning) = &verdict.strict_warning {
        println!("Warning: {warning}");
    }
    Ok(())
}

fn demo(a: DemoArgs) -> Result<()> {
    let root = match a.root {
        Some(root) => root,
        None => repository_root_here()?,
    };
    let layout = Layout::new(&root);
    let inputs = passphrase_input(
        a.ca_passphrase_file.as_deref(),
        "the passphrase file (--ca-passphrase-file)",
    );
    let request = pki::demo_set::DemoSetRequest {
        layout: &layout,
        site_key_type: a.key_type,
        ca_key_type: a.ca_key_type,
        ca_key_out: a.keep_ca_key.as_deref(),
        inputs: &inputs,
        force: a.force,
    };
    // Refusals come before the passphrase is asked.
    pki::demo_set::prepare(&request)?;
    let ca_pass = match &a.keep_ca_key {
        Some(path) => Some(
            Source {
                file: a.ca_passphrase_file.as_deref(),
                flag: "--ca-passphrase-file",
                env_var: CA_KEY_ENV,
                purpose: &format!("the CA key {}", path.display()),
            }
            .read_new()?,
        ),
        None => None,
    };
    let set = pki::demo_set::create(&request, ca_pass.as_deref().map(|s| s.as_str()))?;
    let shown_root = std::path::absolute(&root).unwrap_or_else(|_| root.clone());
    let at = |p: &str| root.join(p).display().to_string();
    println!("Made a fresh demo set under {}:", shown_root.display());
    println!(
        "  CA certificate    {} (loopback only; expires {})",
        at(layout::CA_CERT),
        show_time(set.ca_not_after)
    );
    println!(
        "  site certificate  {} (localhost, 127.0.0.1, ::1; expires {})",
        at(layout::SITE_CERT),
        show_time(set.site_not_after)
    );
    println!(
        "  site key          {} (encrypted, mode 0600)",
        at(layout::SITE_KEY)
    );
    println!("  site CSR          {}", at(layout::SITE_CSR));
    println!("  passphrase        {}", at(layout::PASSPHRASE));
    println!(
        "  client CA         {} (for demo_server --client-auth; its key was discarded)",
        at(layout::CLIENT_CA_CERT)
    );
    println!(
        "  client alice      {}, {} and {} (key and .p12 encrypted with the same passphrase; expires {})",
        at(layout::CLIENT_CERT),
        at(layout::CLIENT_KEY),
        at(layout::CLIENT_P12),
        show_time(set.client_not_after)
    );
    match &a.keep_ca_key {
        Some(p) => println!(
            "The CA key is at {} (encrypted, mode 0400). Keep it secret.",
            p.display()
        ),
        None => {
            println!("The CA key was discarded: nobody can sign another certificate under this CA.")
        }
    }
    println!(
        "Clients that trusted the previous CA must now trust {} instead.",
        at(layout::CA_CERT)
    );
    Ok(())
}

/// The current folder, when it is this repository's root: `demo` without --root rewrites the
/// bundled set, and must not build a stray tree wherever it happens to run.
fn repository_root_here() -> Result<PathBuf> {
    let here = Path::new(".");
    if pki::demo_set::is_repository_root(here) {
        return Ok(here.to_path_buf());
    }
    let cwd = std::env::current_dir().unwrap_or_else(|_| here.to_path_buf());
    let hint = match pki::demo_set::find_repository_root(&cwd) {
        Some(root) => format!(
            " It is inside the repository, whose root is {0}: cd {0}, or pass --root {0}.",
            root.display()
        ),
        None => {
            " Run it from the repository root, or pass --root DIR to make a set in the folder DIR."
                .into()
        }
    };
    bail!(
        "demo_pki demo writes the bundled set (certificates/, ca_certificates_for_client/, secret/) into this \
         repository's root, and the current folder {} is not that root (no Cargo.toml of this workspace here). \
         Nothing was written.{hint}",
        cwd.display()
    )
}

fn key_decrypt(a: KeyDecryptArgs) -> Result<()> {
    let out = Named {
        path: &a.out,
        what: "the plain key (--out)",
    };
    let mut inputs = vec![Named {
        path: &a.key,
        what: "the encrypted key (--key)",
    }];
    inputs.extend(passphrase_input(
        a.passphrase_file.as_deref(),
        "the passphrase file (--passphrase-file)",
    ));
    files::check(&[out], &inputs, a.force)?;
    let source = Source {
        file: a.passphrase_file.as_deref(),
        flag: "--passphrase-file",
        env_var: KEY_ENV,
        purpose: &format!("the key {}", a.key.display()),
    };
    let plain = keys::decrypt_to_plain_pem(&a.key, || source.read())?;
    files::write_all(
        &[Output {
            path: out.path,
            what: out.what,
            contents: plain.as_bytes(),
            mode: PRIVATE,
        }],
        &inputs,
        a.force,
    )?;
    println!(
        "Decrypted {} into {} (PKCS#8 PRIVATE KEY, mode 0600).",
        a.key.display(),
        a.out.display()
    );
    println!("Warning: {}", keys::PLAIN_KEY_WARNING);
    println!(
        "Next: give it to the server that takes no passphrase, e.g. gunicorn --certfile CERT --keyfile {}",
        a.out.display()
    );
    Ok(())
}

fn trust(command: TrustCommand) -> Result<()> {
    match command {
        TrustCommand::Install(a) => {
            let ca = trust_store::Ca::load(&a.store.ca)?;
            println!(
                "Installing {} (SHA-256 {}), which may vouch for: {}.",
                ca.name,
                ca.fingerprint(),
                match ca.permitted() {
                    [] => "ANY name (no name constraints)".to_string(),
                    names => names
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(", "),
                }
            );
            let reports = trust_store::install(&ca, &a.store.stores, a.unconstrained)?;
            print_reports(&reports, "install")
        }
        TrustCommand::Uninstall(a) => {
            let ca = trust_store::Ca::load(&a.ca)?;
            println!(
                "Removing {} (SHA-256 {}) where it was installed.",
                ca.name,
                ca.fingerprint()
            );
            print_reports(&trust_store::uninstall(&ca, &a.stores), "uninstall")
        }
        TrustCommand::Status(a) => {
            let ca = trust_store::Ca::load(&a.store.ca)?;
            println!("{} (SHA-256 {}):", ca.name, ca.fingerprint());
            println!("Stores:");
            // The advice needs every store (curl's verdict is the system store's), even when
            // only some are shown.
            let states = trust_store::states(&ca, &[]);
            for state in states
                .iter()
                .filter(|s| a.store.stores.is_empty() || a.store.stores.contains(&s.store))
            {
                println!("  {}: {state}", state.store);
            }
            println!("Clients:");
            for advice in trust_store::doctor::advise(&ca, &states) {
                println!("  {advice}");
            }
            if let Some(url) = &a.url {
                println!(
                    "Real connections to {url} (no CA file given: each client uses its own store):"
                );
                for probe in trust_store::doctor::probes(url)? {
                    println!("  {probe}");
                }
            }
            Ok(())
        }
    }
}

/// One line per place; an error (exit 1) when any place failed, after all were tried.
fn print_reports(reports: &[trust_store::Report], what: &str) -> Result<()> {
    for report in reports {
        println!("  {}: {report}", report.store);
    }
    let failed = reports.iter().filter(|r| r.failed()).count();
    if failed > 0 {
        bail!(
            "{what} failed in {failed} of {} places (see FAILED above); the others are as reported",
            reports.len()
        );
    }
    Ok(())
}
