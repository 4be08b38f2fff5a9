//! Bodies streamed through the proxy, never held whole: each side gets the next piece only when
//! the other has taken the last, so the memory a transfer costs is a few of hyper's buffers
//! (at most [`super::CHUNK`] each), whatever its size. Time is bounded the same way as nginx's
//! `proxy_read_timeout` / `send_timeout`: the wait between two pieces, not the whole transfer,
//! so a large upload or download on a slow link is fine and a silent peer is not.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use http_body_util::BodyExt;
use http_body_util::channel::Channel;
use hyper::body::{Body, Bytes, Frame, Incoming, SizeHint};
use tokio::time::{Instant, Sleep};

use crate::server::tuning::BoxError;

/// An origin's answer as the client receives it: fed piece by piece by a task.
pub type Download = Channel<Bytes, io::Error>;

/// When the request last moved: the wait for the origin's answer is counted from there, so
/// that the time a large upload takes is not mistaken for an origin that does not answer.
pub struct Progress {
    start: Instant,
    millis: AtomicU64,
}

impl Progress {
    pub fn new() -> Arc<Progress> {
        Arc::new(Progress {
            start: Instant::now(),
            millis: AtomicU64::new(0),
        })
    }

    fn touch(&self) {
        let now = self.start.elapsed().as_millis() as u64;
        self.millis.store(now, Ordering::Relaxed);
    }

    fn last(&self) -> Instant {
        self.start + Duration::from_millis(self.millis.load(Ordering::Relaxed))
    }

    /// Runs `answer` until it finishes, or until nothing has moved for `quiet`: None then.
    pub async fn within<F: Future>(&self, quiet: Duration, answer: F) -> Option<F::Output> {
        tokio::pin!(answer);
        loop {
            let deadline = self.last() + quiet;
            tokio::select! {
                done = answer.as_mut() => return Some(done),
                _ = tokio::time::sleep_until(deadline) => {
                    if self.last() + quiet <= Instant::now() {
                        return None;
                    }
                }
            }
        }
    }
}

/// The client's request body on its way to the origin. Each piece marks progress; a client that
/// stops sending in the middle for `quiet` ends the upload with an error (hyper then drops the
/// origin connection), instead of holding both connections open.
pub struct Upload {
    body: Incoming,
    progress: Arc<Progress>,
    quiet: Duration,
    /// Armed while waiting for the client, from the first poll that found nothing.
    timer: Option<Pin<Box<Sleep>>>,
}

impl Upload {
    pub fn new(body: Incoming, progress: Arc<Progress>, quiet: Duration) -> Upload {
        Upload {
            body,
            progress,
            quiet,
            timer: None,
        }
    }
}

impl Body for Upload {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = &mut *self;
        match Pin::new(&mut this.body).poll_frame(cx) {
            Poll::Ready(frame) => {
                this.timer = None;
                this.progress.touch();
                Poll::Ready(frame.map(|f| f.map_err(Into::into)))
            }
            Poll::Pending => {
                let quiet = this.quiet;
                let timer = this
                    .timer
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep(quiet)));
                match timer.as_mut().poll(cx) {
                    Poll::Ready(()) => Poll::Ready(Some(Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        format!(
                            "the client sent nothing more of its request body for {} s",
                            quiet.as_secs_f32()
                        ),
                    )
                    .into()))),
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// Streams the origin's answer to the client on a task of its own, one piece at a time: a piece
/// is read from the origin only once the client's side has taken the last. If the origin sends
/// nothing for `quiet`, or the client takes nothing for `quiet`, the answer is cut off (the
/// client sees it incomplete, never a truncated body that looks whole) and `on_cut` says why.
/// `in_flight` is dropped when the task ends.
pub fn stream(
    mut body: Incoming,
    quiet: Duration,
    in_flight: impl Send + 'static,
    on_cut: impl FnOnce(&str) + Send + 'static,
) -> Download {
    // One piece waiting in the channel, the next being read: the bound.
    let (mut tx, rx) = Channel::new(1);
    tokio::spawn(async move {
        let _in_flight = in_flight;
        let secs = quiet.as_secs_f32();
        let why = loop {
            let frame = match tokio::time::timeout(quiet, body.frame()).await {
                Ok(None) => return,
                Ok(Some(Ok(frame))) => frame,
                Ok(Some(Err(e))) => break format!("the origin broke off its answer ({e})"),
                Err(_) => break format!("the origin sent nothing more of its answer for {secs} s"),
            };
            match tokio::time::timeout(quiet, tx.send(frame)).await {
                Ok(Ok(())) => {}
                // The client is gone: nobody to tell.
                Ok(Err(_)) => return,
                Err(_) => break format!("the client read nothing more of the answer for {secs} s"),
            }
        };
        on_cut(&why);
        tx.abort(io::Error::new(io::ErrorKind::TimedOut, why));
    });
    rx
}
