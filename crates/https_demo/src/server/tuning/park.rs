//! Idle HTTP/1.1 connections give their HTTP state back while they wait.
//!
//! hyper keeps, for as long as a connection lives, two 8 KB buffers (read and write; 8 KB is
//! also the least `max_buf_size` allows) and its connection state: about 19 KB allocated per
//! connection, 11 KB of it touched, on top of the TLS stream. A kept-alive connection spends most
//! of its life waiting for the next request, and nginx frees its buffers then. So do we: once a
//! response is out and no byte of another request has come for [`PARK_AFTER`] (the watchdog's
//! view of the connection), hyper is asked to finish (`graceful_shutdown`, which on an idle HTTP/1.1
//! connection sends nothing), the stream is taken back (`into_parts`), and a new hyper
//! connection is made when the next bytes arrive. Measured with 1,000 idle TLS connections
//! (bench/run.sh): 23 KB per connection before, 11 KB after; nginx needs 14 KB.

use std::future::{Future, poll_fn};
use std::pin::{Pin, pin};
use std::task::{Context, Poll};
use std::time::Duration;

use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::HttpService;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::sync::watch;
use tokio::time::Instant;

use super::BoxError;
use crate::server::watchdog::ConnState;

/// How long a connection stays idle before it parks. Parking and waking cost a new hyper
/// connection (about 2 µs); under load the next request comes long before this, so busy
/// connections never pay it.
const PARK_AFTER: Duration = Duration::from_millis(10);

/// Serves HTTP/1.1 on `io` until the client closes, or `closing` turns true (Ctrl-C).
pub async fn serve_http1<I, S>(
    mut io: I,
    service: S,
    max_buf_size: usize,
    state: &ConnState,
    mut closing: watch::Receiver<bool>,
) -> Result<(), BoxError>
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    S: HttpService<Incoming> + Clone + Unpin + Send + 'static,
    S::Future: Unpin + Send,
    S::ResBody: Send + 'static,
    <S::ResBody as hyper::body::Body>::Data: Send,
    S::Error: Into<BoxError>,
    <S::ResBody as hyper::body::Body>::Error: Into<BoxError>,
{
    let mut pending = Bytes::new();
    loop {
        if pending.is_empty() {
            // Parked: only the TLS stream is kept. One byte tells that a request is coming;
            // hyper reads the rest.
            let mut first = [0u8; 1];
            let n = tokio::select! {
                n = io.read(&mut first) => n?,
                _ = closing.changed() => 0,
            };
            if n == 0 {
                let _ = io.shutdown().await;
                return Ok(());
            }
            pending = Bytes::copy_from_slice(&first);
        }
        let mut conn = Box::new(
            // No header_read_timeout: the watchdog bounds the head already, and hyper's own
            // timer would be armed again for every request.
            http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(None)
                .max_buf_size(max_buf_size)
                .serve_connection(TokioIo::new(Rewind { pending, io }), service.clone()),
        );
        let mut parked = false;
        let mut idle_since = None;
        {
            let mut shutdown = pin!(closing.changed());
            let mut idle = pin!(tokio::time::sleep(PARK_AFTER));
            poll_fn(|cx| {
                let polled = conn.poll_without_shutdown(cx);
                if polled.is_ready() || parked {
                    return polled;
                }
                let stopping = shutdown.as_mut().poll(cx).is_ready();
                // Arm the clock when the connection turns idle; a request disarms it.
                if !state.waiting_for_request() {
                    idle_since = None;
                } else if idle_since.is_none() {
                    let now = Instant::now();
                    idle_since = Some(now);
                    idle.as_mut().reset(now + PARK_AFTER);
                }
                let park = idle_since.is_some() && idle.as_mut().poll(cx).is_ready();
                if stopping || park {
                    parked = !stopping;
                    Pin::new(&mut *conn).graceful_shutdown();
                    return conn.poll_without_shutdown(cx);
                }
                Poll::Pending
            })
            .await?;
        }
        let parts = conn.into_parts();
        let rewind = parts.io.into_inner();
        io = rewind.io;
        pending = [rewind.pending, parts.read_buf].concat().into();
        if !parked {
            // The client asked to close, or Ctrl-C: hyper did not shut the stream down.
            let _ = io.shutdown().await;
            return Ok(());
        }
        // At trace level only (RUST_LOG=https_demo::server::tuning::park=trace): the test
        // that parking happens, and a reader who wants to watch it.
        tracing::trace!(
            "idle HTTP/1.1 connection parked: hyper's buffers freed until its next request"
        );
    }
}

/// A stream that first gives back bytes already read from it. Hand-written: tokio's `chain`
/// reads the same way but cannot write.
struct Rewind<I> {
    pending: Bytes,
    io: I,
}

impl<I: AsyncRead + Unpin> AsyncRead for Rewind<I> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        if self.pending.is_empty() {
            return Pin::new(&mut self.io).poll_read(cx, buf);
        }
        let n = self.pending.len().min(buf.remaining());
        buf.put_slice(&self.pending.split_to(n));
        Poll::Ready(Ok(()))
    }
}

impl<I: AsyncWrite + Unpin> AsyncWrite for Rewind<I> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }
    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }
}
