//! Closing a connection without losing the last answer: nginx's "lingering close".
//!
//! When the server closes a socket whose receive buffer still holds bytes the client sent (the
//! rest of a 100 KB header after the 431, say), the kernel answers with a reset, and a reset makes
//! the client's kernel discard the answer it had received but not yet read. So, when bytes are
//! left unread at close, the socket is first drained for a bounded time, then closed.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;

/// How long to keep reading after the answer went out; nginx's lingering_timeout is 5 s.
const LINGER: Duration = Duration::from_secs(2);
/// How much to read and throw away at most before closing anyway.
const MAX_DRAIN: usize = 1024 * 1024;

/// A TCP stream that drains unread input before it closes. Hand-written: the drain happens on
/// drop, wherever the stream ends up (inside rustls, inside hyper), which no tokio-util adapter does.
pub struct Lingering(Option<TcpStream>);

impl Lingering {
    pub fn new(stream: TcpStream) -> Self {
        Lingering(Some(stream))
    }

    fn stream(&mut self) -> Pin<&mut TcpStream> {
        Pin::new(self.0.as_mut().expect("the stream is only taken on drop"))
    }
}

impl Drop for Lingering {
    fn drop(&mut self) {
        let Some(mut stream) = self.0.take() else {
            return;
        };
        let mut probe = [0u8; 1];
        // Nothing unread (or the client closed first): close now, no reset can follow.
        if !matches!(stream.try_read(&mut probe), Ok(1)) {
            return;
        }
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                let _ = stream.shutdown().await;
                let drain = async {
                    let mut buf = vec![0u8; 16 * 1024];
                    let mut drained = 0;
                    while drained < MAX_DRAIN {
                        match stream.read(&mut buf).await {
                            Ok(0) | Err(_) => break,
                            Ok(n) => drained += n,
                        }
                    }
                };
                let _ = tokio::time::timeout(LINGER, drain).await;
            });
        }
    }
}

impl AsyncRead for Lingering {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        self.get_mut().stream().poll_read(cx, buf)
    }
}

impl AsyncWrite for Lingering {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.get_mut().stream().poll_write(cx, buf)
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        self.get_mut().stream().poll_flush(cx)
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        self.get_mut().stream().poll_shutdown(cx)
    }
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        self.get_mut().stream().poll_write_vectored(cx, bufs)
    }
    fn is_write_vectored(&self) -> bool {
        true
    }
}
