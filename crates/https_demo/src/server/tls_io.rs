//! The TLS stream as hyper sees it. While it reads, rustls may queue records of its own to send:
//! the `no_renegotiation` alert that answers a TLS 1.2 renegotiation attempt, say. tokio-rustls
//! writes them only when the application next writes or flushes, and a server waiting for the
//! rest of a request writes nothing: the client would wait for the head timeout. nginx answers at
//! once, and so does this, by flushing after every read.

use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// A stream that sends what is pending after every read. Hand-written: no tokio-util adapter
/// writes on the read side.
pub struct FlushAfterRead<I>(pub I);

impl<I: AsyncRead + AsyncWrite + Unpin> AsyncRead for FlushAfterRead<I> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let inner = &mut self.get_mut().0;
        let read = Pin::new(&mut *inner).poll_read(cx, buf);
        // Also when the read is pending: a record that carried no data (the renegotiation
        // attempt) leaves the read waiting and an alert queued. A write error shows up on the
        // next write; a full socket wakes this task when it drains.
        let _ = Pin::new(inner).poll_flush(cx);
        read
    }
}

impl<I: AsyncWrite + Unpin> AsyncWrite for FlushAfterRead<I> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().0).poll_write(cx, buf)
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_flush(cx)
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_shutdown(cx)
    }
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().0).poll_write_vectored(cx, bufs)
    }
    fn is_write_vectored(&self) -> bool {
        self.0.is_write_vectored()
    }
}
