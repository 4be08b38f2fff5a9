//! Where the server listens. `localhost:PORT` means both loopback addresses, 127.0.0.1 and ::1
//! (when the machine has IPv6), as browsers try both.

use std::io::ErrorKind;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use anyhow::{Result, anyhow, bail};
use tokio::net::TcpListener;

/// One `--listen` value: `localhost:PORT`, `IP:PORT` or `[IPv6]:PORT`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ListenAddr {
    Localhost(u16),
    Exact(SocketAddr),
}

impl std::str::FromStr for ListenAddr {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if let Ok(addr) = s.parse::<SocketAddr>() {
            return Ok(ListenAddr::Exact(addr));
        }
        if let Some(port) = s.strip_prefix("localhost:") {
            return port
                .parse()
                .map(ListenAddr::Localhost)
                .map_err(|_| format!("{port:?} is not a port number (0 to 65535)"));
        }
        Err(format!(
            "{s:?} is not an address to listen on: use localhost:PORT, IP:PORT or [IPv6]:PORT, e.g. 127.0.0.1:0 for any free port"
        ))
    }
}

/// Binds every address. A port already in use is an error that names it; ::1 is skipped
/// quietly when the machine has no IPv6.
pub async fn bind_all(addrs: &[ListenAddr]) -> Result<Vec<TcpListener>> {
    let mut listeners = Vec::new();
    for addr in addrs {
        match addr {
            ListenAddr::Exact(a) => listeners.push(bind(*a).await?),
            ListenAddr::Localhost(port) => {
                listeners
                    .push(bind(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), *port)).await?);
                let v6 = SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), *port);
                match TcpListener::bind(v6).await {
                    Ok(l) => listeners.push(l),
                    Err(e)
                        if matches!(
                            e.kind(),
                            ErrorKind::AddrNotAvailable | ErrorKind::Unsupported
                        ) || e.raw_os_error() == Some(97) =>
                    {
                        tracing::info!("no IPv6 on this machine: listening on 127.0.0.1 only");
                    }
                    Err(e) => return Err(bind_error(v6, e)),
                }
            }
        }
    }
    if listeners.is_empty() {
        bail!("nothing to listen on");
    }
    Ok(listeners)
}

async fn bind(addr: SocketAddr) -> Result<TcpListener> {
    TcpListener::bind(addr)
        .await
        .map_err(|e| bind_error(addr, e))
}

fn bind_error(addr: SocketAddr, e: std::io::Error) -> anyhow::Error {
    match e.kind() {
        ErrorKind::AddrInUse => anyhow!(
            "{addr} is already in use (another demo_server?). Stop that program, or choose another port with --listen 127.0.0.1:PORT"
        ),
        ErrorKind::PermissionDenied => anyhow!(
            "no permission to listen on {addr}: ports below 1024 need root. Choose a port from 1024 up with --listen"
        ),
        ErrorKind::AddrNotAvailable => {
            anyhow!("{addr} is not an address of this machine; use 127.0.0.1 or ::1")
        }
        _ => anyhow!("cannot listen on {addr}: {e}"),
    }
}

/// Each connection is a file descriptor, and the usual soft limit of 1024 would make accept()
/// fail before the connection cap sheds anything. Raise it to the hard limit, as nginx's
/// worker_rlimit_nofile and Go's runtime do.
pub fn raise_open_file_limit(max_connections: u64) {
    // Twice the cap (see the registry), the silent sockets, and room for the log and listeners.
    let wanted = max_connections
        .saturating_mul(2)
        .saturating_add(super::registry::SILENT_MAX as u64 + 64);
    match rlimit::increase_nofile_limit(wanted) {
        Ok(got) if got < max_connections + 64 => tracing::warn!(
            "the open-file limit is {got}, below --max-connections {max_connections}: raise it (ulimit -n) or lower the cap"
        ),
        Ok(_) => {}
        Err(e) => tracing::warn!("cannot raise the open-file limit: {e}"),
    }
}
