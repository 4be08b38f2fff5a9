//! Keeps the first bytes a client sends (its ClientHello, in the clear), so that the server can
//! log and show what the client offered. The buffer is bounded and stops at the handshake's end.

use std::sync::{Arc, Mutex};

use tokio::io::AsyncRead;
use tokio_util::io::InspectReader;

/// Enough for any ClientHello, post-quantum key shares included (about 1.8 KB from rustls).
/// A larger one is not kept, only its size is (see [`super::facts::ClientHelloBytes`]).
pub const LIMIT: usize = 16 * 1024;

pub struct Captured(Arc<Mutex<Option<Vec<u8>>>>);

impl Captured {
    /// Stops capturing and returns what was read so far, at most [`LIMIT`] bytes.
    pub fn take(&self) -> Vec<u8> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
            .unwrap_or_default()
    }
}

pub fn capture<I: AsyncRead>(inner: I) -> (InspectReader<I, impl FnMut(&[u8])>, Captured) {
    let buf = Arc::new(Mutex::new(Some(Vec::with_capacity(2048))));
    let kept = buf.clone();
    let observer = InspectReader::new(inner, move |new: &[u8]| {
        if let Some(kept) = kept.lock().unwrap_or_else(|e| e.into_inner()).as_mut() {
            let room = LIMIT.saturating_sub(kept.len());
            kept.extend_from_slice(&new[..new.len().min(room)]);
        }
    });
    (observer, Captured(buf))
}
