//! Giving freed memory back to the system once the last connection has closed.
//!
//! glibc keeps the heap it freed in its arenas for reuse. After a flood of 2,000 connections the
//! server would otherwise hold twice its start-up memory for good (measured: 11 MiB at start,
//! 20 MiB after the flood, with nothing open). `malloc_trim` returns the free pages.
//!
//! Why not an allocator that returns memory by itself: measured in November 2026 (release
//! build, `--threads 1`, 1,000 idle keep-alive TLS connections held with bench/hold.py after a
//! first round of 1,000), glibc with this trim starts at 12 MiB, grows 8.6 to 9.2 KB per idle
//! connection and is back at 16 MiB 2.5 s after they close. mimalloc 0.1.52 starts at 22 MiB and
//! tikv-jemallocator 0.6 at 13 MiB, and both keep what the first round took (34 and 26 MiB) once
//! the connections are gone: their per-connection growth looks near zero only because the heap
//! never shrank. The memory test (tests/scanners.rs) wants it back within seconds.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

use crate::server::registry::Registry;

/// Waits this long after the last connection closed, so that a burst of short connections
/// costs one trim, not one per connection.
const SETTLE: Duration = Duration::from_secs(1);

/// Starts the trimming task; call [`Trimmer::connection_closed`] whenever a connection ends.
pub struct Trimmer {
    closed: Arc<Notify>,
    connections: Arc<Registry>,
}

impl Trimmer {
    pub fn start(connections: Arc<Registry>) -> Trimmer {
        let closed = Arc::new(Notify::new());
        let (wake, open) = (closed.clone(), connections.clone());
        tokio::spawn(async move {
            loop {
                wake.notified().await;
                tokio::time::sleep(SETTLE).await;
                if open.is_empty() {
                    // Walks every arena: a few milliseconds, so off the async threads.
                    let _ = tokio::task::spawn_blocking(release).await;
                }
            }
        });
        Trimmer {
            closed,
            connections,
        }
    }

    pub fn connection_closed(&self) {
        if self.connections.is_empty() {
            self.closed.notify_one();
        }
    }
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn release() {
    // SAFETY: malloc_trim takes no pointers and only reorganises glibc's own free lists; it is
    // thread-safe (it takes each arena's lock).
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Other allocators (musl, macOS) return memory by themselves or offer no such call.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn release() {}
