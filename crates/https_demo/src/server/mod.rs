//! The demo server: the same small app over TLS or, for comparison in Wireshark, plain HTTP.
//!
//! - [`listen`]: which addresses, and binding them with errors that say what to do.
//! - [`app`], [`pages`]: the routes (the secret message, the visitor's own connection).
//! - [`capture`], [`facts`]: what the client offered and what was negotiated.
//! - [`connection`]: one client, top to bottom: sniff, TLS handshake, the log line, HTTP/1.1
//!   or h2.
//! - [`sniff`]: plain HTTP or garbage on the TLS port.
//! - [`abort_log`]: a flood of aborted handshakes logged in a few lines.
//! - [`tls_io`]: alerts rustls queues while reading go out at once.
//! - [`linger`]: closing without a reset, so the last answer reaches the client.
//! - [`watchdog`] and [`registry`]: bounds on each connection's time, and on their number.
//! - [`shutdown`]: Ctrl-C / SIGTERM, letting in-flight requests finish.
//! - [`tuning`]: what exists only for speed and memory, behind one seam.

pub mod abort_log;
pub mod app;
pub mod capture;
pub mod connection;
pub mod facts;
pub mod handshake_page;
pub mod linger;
pub mod listen;
pub mod pages;
pub mod registry;
pub mod shutdown;
pub mod sniff;
pub mod tls_io;
pub mod tuning;
pub mod watchdog;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use hyper_util::server::graceful::GracefulShutdown;
use rustls::ServerConfig;
use tokio::net::TcpListener;
use tokio::task::JoinSet;

/// What demo_server serves, and so where by default: each of the tutorial's three steps on a
/// port of its own, so that all three can run side by side in the Wireshark lab.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// HTTPS: the certificate, the handshake, the encrypted records.
    Tls,
    /// The same app in clear text.
    PlainHttp,
    /// Plain HTTP, the message encrypted with a key both sides were given beforehand.
    Fernet,
}

impl Mode {
    /// The one place that decides each mode's default port.
    pub const fn default_port(self) -> u16 {
        match self {
            Mode::Tls => 8080,
            Mode::PlainHttp => 8081,
            Mode::Fernet => 8082,
        }
    }

    pub fn scheme(self) -> &'static str {
        match self {
            Mode::Tls => "https",
            Mode::PlainHttp | Mode::Fernet => "http",
        }
    }

    /// Where a client finds a server started in this mode with no `--listen`.
    pub fn default_url(self) -> String {
        format!("{}://localhost:{}/", self.scheme(), self.default_port())
    }
}

/// How the bytes travel.
#[derive(Clone)]
pub enum Transport {
    Tls(Arc<ServerConfig>),
    Plain,
}

impl Transport {
    pub fn scheme(&self) -> &'static str {
        match self {
            Transport::Tls(_) => "https",
            Transport::Plain => "http",
        }
    }
}

/// Bounds that keep one slow or silent client from holding the server.
#[derive(Clone, Debug)]
pub struct Limits {
    /// From TCP accept to the end of the TLS handshake.
    pub handshake_timeout: Duration,
    /// For the whole request head (headers), from its first byte.
    pub header_timeout: Duration,
    /// Between requests on a kept-alive connection.
    pub idle_timeout: Duration,
    /// Open connections; at the cap a newcomer asks one to close (see [`registry`]).
    pub max_connections: usize,
    /// Read buffer per HTTP/1.1 connection, and the h2 header list limit: a longer request head
    /// gets 431. So does an HTTP/1.1 head with more than 100 header fields: hyper's limit, kept
    /// because a higher one costs every request a heap allocation of its own (measured: 0.2 KB
    /// more per idle connection in the benchmark; hyper's docs say 5% of the CPU).
    pub max_header_bytes: usize,
    /// How long in-flight requests may run after Ctrl-C.
    pub shutdown_grace: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            handshake_timeout: Duration::from_secs(10),
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(30),
            max_connections: 1024,
            max_header_bytes: 32 * 1024,
            shutdown_grace: Duration::from_secs(10),
        }
    }
}

/// Serves on every listener until Ctrl-C or SIGTERM, then stops accepting, lets the connections
/// in flight finish within `limits.shutdown_grace`, and returns.
pub async fn serve(
    listeners: Vec<TcpListener>,
    transport: Transport,
    limits: Limits,
    app: app::App,
) -> Result<()> {
    let graceful = GracefulShutdown::new();
    let connections = registry::Registry::new(limits.max_connections);
    let trimmer = Arc::new(tuning::trim::Trimmer::start(connections.clone()));
    let (closing, closing_rx) = tokio::sync::watch::channel(false);
    let ctx = Arc::new(connection::Context {
        transport,
        limits: limits.clone(),
        app,
        closing: closing_rx,
        aborts: abort_log::AbortLog::default(),
    });
    let mut accept_loops = JoinSet::new();
    let (conn_tx, mut conn_rx) = tokio::sync::mpsc::channel(64);
    for listener in listeners {
        let conn_tx = conn_tx.clone();
        accept_loops.spawn(async move {
            loop {
                match listener.accept().await {
                    Ok(accepted) => {
                        if conn_tx.send(accepted).await.is_err() {
                            return;
                        }
                    }
                    // Out of file descriptors and the like: wait a moment rather than spin.
                    Err(e) => {
                        tracing::warn!("accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                }
            }
        });
    }
    drop(conn_tx);
    let signal = shutdown::signal();
    tokio::pin!(signal);
    loop {
        tokio::select! {
            Some((stream, peer)) = conn_rx.recv() => {
                let (registered, shed) = connections.admit();
                if shed {
                    tracing::debug!("{} silent connections: asking the oldest to close", registry::SILENT_MAX);
                }
                let ctx = ctx.clone();
                let watcher = graceful.watcher();
                let trimmer = trimmer.clone();
                tokio::spawn(async move {
                    connection::handle(stream, peer, &ctx, &registered, watcher).await;
                    drop(registered);
                    trimmer.connection_closed();
                });
            }
            name = &mut signal => {
                tracing::info!("{name} received: no longer accepting connections");
                break;
            }
        }
    }
    accept_loops.abort_all();
    drop(conn_rx);
    let _ = closing.send(true);
    let open = graceful.count();
    if open > 0 {
        tracing::info!(
            "waiting up to {} s for {open} open connection(s) to finish",
            limits.shutdown_grace.as_secs()
        );
    }
    match tokio::time::timeout(limits.shutdown_grace, graceful.shutdown()).await {
        Ok(()) => tracing::info!("all connections closed; goodbye"),
        Err(_) => tracing::warn!(
            "connections still open after {} s; closing them",
            limits.shutdown_grace.as_secs()
        ),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_mode_has_its_own_default_port_and_the_client_agrees() {
        assert_eq!(Mode::Tls.default_port(), 8080);
        assert_eq!(Mode::PlainHttp.default_port(), 8081);
        assert_eq!(Mode::Fernet.default_port(), 8082);
        assert_eq!(Mode::Fernet.default_url(), "http://localhost:8082/");
        assert_eq!(Mode::Tls.default_url(), crate::client::DEFAULT_URL);
    }
}
