//! Connections that end before their first request, logged as nginx keeps its error log quiet:
//! a flood of aborted handshakes would otherwise write a line each (5 MB in 10 s). The first of
//! each kind in a second is logged in full; the others of that second are counted, and one line
//! gives the count when the second is over. At the debug level every one is logged in full.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How the opening of a connection failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Abort {
    PlainHttp,
    NotTls,
    HandshakeFailed,
    HandshakeTimeout,
    /// Closed before its handshake to make room for another.
    MadeRoom,
    /// Refused at twice the connection cap.
    Full,
}

impl Abort {
    fn what(self) -> &'static str {
        match self {
            Abort::PlainHttp => "plain HTTP requests sent to the HTTPS port (each answered 400)",
            Abort::NotTls => "connections that sent bytes that are not TLS",
            Abort::HandshakeFailed => "TLS handshakes failed",
            Abort::HandshakeTimeout => "connections sent no TLS handshake in time",
            Abort::MadeRoom => "connections closed before their handshake to make room",
            Abort::Full => "connections closed at once: twice --max-connections were open",
        }
    }
}

/// How long a window lasts: one summary line per kind per window, at most.
const WINDOW: Duration = Duration::from_secs(1);

#[derive(Default)]
pub struct AbortLog {
    /// For each kind with a window open: how many were not logged in it.
    open: Arc<Mutex<HashMap<Abort, u64>>>,
}

impl AbortLog {
    /// Whether to log this abort in full. If not, it is counted, and summed up in one line at
    /// the end of the current window.
    pub fn log_in_full(&self, kind: Abort) -> bool {
        if tracing::enabled!(tracing::Level::DEBUG) {
            return true;
        }
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        match open.get_mut(&kind) {
            Some(more) => {
                *more += 1;
                false
            }
            None => {
                open.insert(kind, 0);
                let windows = self.open.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(WINDOW).await;
                    let more = windows
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .remove(&kind)
                        .unwrap_or(0);
                    if more > 0 {
                        tracing::info!(
                            "{more} more {} in the last {} s (the first was logged in full; RUST_LOG=debug logs each)",
                            kind.what(),
                            WINDOW.as_secs()
                        );
                    }
                });
                true
            }
        }
    }
}
