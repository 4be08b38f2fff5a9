//! The demo server: the same small app over TLS or, for comparison in Wireshark, plain HTTP.
//!
//! - [`listen`]: which addresses, and binding them with errors that say what to do.
//! - [`app`]: the routes (the secret message).
//! - [`connection`]: one client: TLS handshake, the log line, HTTP/1.1 or h2.
//! - [`shutdown`]: Ctrl-C / SIGTERM, letting in-flight requests finish.

pub mod app;
pub mod connection;
pub mod listen;
pub mod shutdown;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use hyper_util::server::graceful::GracefulShutdown;
use rustls::ServerConfig;
use tokio::net::TcpListener;
use tokio::task::JoinSet;

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
    /// For the whole request head (headers), from the first byte.
    pub header_timeout: Duration,
    /// How long in-flight requests may run after Ctrl-C.
    pub shutdown_grace: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            handshake_timeout: Duration::from_secs(10),
            header_timeout: Duration::from_secs(10),
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
    let ctx = Arc::new(connection::Context {
        transport,
        limits: limits.clone(),
        app,
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
                let ctx = ctx.clone();
                let watcher = graceful.watcher();
                tokio::spawn(async move { connection::handle(stream, peer, &ctx, watcher).await });
            }
            name = &mut signal => {
                tracing::info!("{name} received: no longer accepting connections");
                break;
            }
        }
    }
    accept_loops.abort_all();
    drop(conn_rx);
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
