//! What the server does only for speed and memory, behind one seam: the connection path
//! ([`super::connection`]) reads the same without it, and calls only what is here.
//!
//! The benchmark (bench/run.sh, BENCHMARKS.md) compares demo_server with nginx on CPU per
//! request and handshake and on memory per idle connection; each piece below is what it took:
//! - [`park`]: an idle HTTP/1.1 connection gives hyper's buffers back until its next request.
//! - [`trim`]: freed memory goes back to the system once the connections are gone.
//! - [`log`]: the log goes out in blocks, at most 50 ms late, when it is not a terminal.
//! - [`boxed`]: the phases of a connection are boxed at their own size.

pub mod log;
pub mod park;
pub mod trim;

use std::error::Error;
use std::pin::Pin;

pub use park::serve_http1;

/// What a connection ends with when it fails: hyper's error or the stream's.
pub type BoxError = Box<dyn Error + Send + Sync>;

/// A connection's task is as large as the largest state it may be in, for its whole life: inline,
/// an idle HTTP/1.1 connection would carry the handshake's state, the h2 connection's and the
/// TLS stream a second time as it moves from one phase to the next (7 KB instead of 2). Each
/// phase is boxed instead, and freed when done. A request's future is boxed for another
/// reason: hyper hands an idle HTTP/1.1 connection back ([`park`]) only with an Unpin service.
pub fn boxed<F>(phase: F) -> Pin<Box<F>> {
    Box::pin(phase)
}

/// See [`boxed`]: the TLS stream, moved from the handshake to the HTTP side.
pub fn boxed_stream<S>(stream: S) -> Box<S> {
    Box::new(stream)
}
