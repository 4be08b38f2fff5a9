//! A socket (or TLS stream) that reports every byte it reads to a callback, passing writes
//! through untouched. The ClientHello capture and the connection watchdog both look at reads.

use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

pub struct ReadObserver<I, F> {
    inner: I,
    on_read: F,
}

impl<I, F: FnMut(&[u8])> ReadObserver<I, F> {
    pub fn new(inner: I, on_read: F) -> Self {
        ReadObserver { inner, on_read }
    }
}

impl<I: AsyncRead + Unpin, F: FnMut(&[u8]) + Unpin> AsyncRead for ReadObserver<I, F> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let result = Pin::new(&mut this.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            (this.on_read)(&buf.filled()[before..]);
        }
        result
    }
}

impl<I: AsyncWrite + Unpin, F: Unpin> AsyncWrite for ReadObserver<I, F> {
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
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }
    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}
