//! The log, when it goes to a file or a pipe: handed to a thread of its own (tracing-appender's
//! non-blocking writer) that writes it out in blocks, rather than with one system call per line
//! on the threads that serve connections. C's stdio does the same (line by line on a terminal,
//! in blocks otherwise), and nginx offers it (`access_log ... buffer=`): at one line per request,
//! that write was 9% of the CPU a kept-alive request costs (perf, bench/run.sh). A line waits
//! only until that thread runs; none is dropped (not lossy: a full queue makes the logger wait),
//! and the guard, kept until the server exits, writes out what is left.

use std::io::{BufWriter, stderr};

pub use tracing_appender::non_blocking::{NonBlocking, WorkerGuard};

/// The writer to give the log subscriber, and the guard to keep alive until exit.
pub fn stderr_in_blocks() -> (NonBlocking, WorkerGuard) {
    tracing_appender::non_blocking::NonBlockingBuilder::default()
        .lossy(false)
        // The queue is allocated whole at start: 128,000 lines by default, 5 MB of resident
        // memory. A few thousand lines are seconds of log at the benchmark's rates.
        .buffered_lines_limit(4096)
        .thread_name("log-writer")
        .finish(BufWriter::with_capacity(16 * 1024, stderr()))
}
