//! The server's log when it goes to a file or a pipe: written out in blocks, at most 50 ms
//! late, rather than with one system call per line. C's stdio does the same (line by line on a
//! terminal, in blocks otherwise), and nginx offers it (`access_log ... buffer=`). At one line
//! per request, that write was 9% of the CPU a kept-alive request costs (perf, bench/run.sh).
//! On a terminal the server logs line by line, as before.
//!
//! Hand-written rather than tracing-appender's non-blocking writer, which hands each line to its
//! thread and wakes it when it sleeps: measured (wrk, 50 kept-alive TLS connections, server on
//! one CPU, November 2026) 9.5 µs of server CPU per request against 9.1 µs with this buffer, and
//! up to 10.2 in some runs, when the benchmark's keep-alive ratio to nginx is 0.90.

use std::io::{self, Write};
use std::sync::Mutex;
use std::time::Duration;

static PENDING: Mutex<Vec<u8>> = Mutex::new(Vec::new());
/// The most a line waits before it is written out.
const FLUSH_EVERY: Duration = Duration::from_millis(50);
/// Written out at once past this size.
const FLUSH_AT: usize = 16 * 1024;

/// Starts the thread that writes the pending lines out every [`FLUSH_EVERY`].
pub fn start() -> io::Result<()> {
    std::thread::Builder::new()
        .name("log-flush".into())
        .spawn(|| {
            loop {
                std::thread::sleep(FLUSH_EVERY);
                flush();
            }
        })
        .map(drop)
}

/// Writes out what is pending: call it before exiting.
pub fn flush() {
    // The lock is held while writing, so that lines keep their order.
    write_out(&mut PENDING.lock().unwrap_or_else(|e| e.into_inner()));
}

fn write_out(pending: &mut Vec<u8>) {
    if !pending.is_empty() {
        let _ = io::stderr().write_all(pending);
        pending.clear();
    }
}

/// Appends to the pending lines; give `|| Writer` to the log subscriber.
pub struct Writer;

impl Write for Writer {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut pending = PENDING.lock().unwrap_or_else(|e| e.into_inner());
        pending.extend_from_slice(buf);
        if pending.len() >= FLUSH_AT {
            write_out(&mut pending);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
