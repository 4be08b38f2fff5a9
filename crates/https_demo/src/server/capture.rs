//! Keeps the first bytes a client sends (its ClientHello, in the clear), so that the server can
//! log and show what the client offered. The buffer is bounded and stops at the handshake's end.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Enough for any ClientHello, post-quantum key shares included (about 1.8 KB from rustls).
const LIMIT: usize = 16 * 1024;

pub struct Captured(Arc<Mutex<Option<Vec<u8>>>>);

impl Captured {
    /// Stops capturing and returns what was read so far.
    pub fn take(&self) -> Vec<u8> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
            .unwrap_or_default()
    }
}

pub struct Capturing<I> {
    inner: I,
    buf: Arc<Mutex<Option<Vec<u8>>>>,
}

pub fn capture<I>(inner: I) -> (Capturing<I>, Captured) {
    let buf = Arc::new(Mutex::new(Some(Vec::with_capacity(2048))));
    (
        Capturing {
            inner,
            buf: buf.clone(),
        },
        Captured(buf),
    )
}

impl<I: AsyncRead + Unpin> AsyncRead for Capturing<I> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let result = Pin::new(&mut this.inner).poll_read(cx, buf);
        let new = &buf.filled()[before..];
        if !new.is_empty()
            && let Some(kept) = this.buf.lock().unwrap_or_else(|e| e.into_inner()).as_mut()
        {
            let room = LIMIT.saturating_sub(kept.len());
            kept.extend_from_slice(&new[..new.len().min(room)]);
        }
        result
    }
}

impl<I: AsyncWrite + Unpin> AsyncWrite for Capturing<I> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}
