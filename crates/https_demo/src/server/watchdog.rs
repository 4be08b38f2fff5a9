//! Each connection's clock. A connection is always in one of three states, each with its bound:
//! a request in flight (no bound here: the app answers), a request head arriving (the head
//! timeout, a total deadline from its first byte, so trickling one header line at a time does
//! not extend it), or idle between requests (the idle timeout). hyper alone arms no timer for a
//! silent h2 client and conflates idle with head time for HTTP/1.1; this one rule covers both.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

/// Shared between the IO wrapper, the service and the watchdog of one connection.
pub struct ConnState {
    epoch: Instant,
    pub accepted: Instant,
    in_flight: AtomicUsize,
    /// Milliseconds since `epoch` + 1 when the current head's first byte came; 0 when none.
    head_started: AtomicU64,
    /// Milliseconds since `epoch` when the connection last became idle.
    idle_since: AtomicU64,
    /// Asks the connection to close (the server is full and this one is idle).
    shed: Notify,
    shed_asked: AtomicBool,
    /// The client has sent a first byte.
    spoke: AtomicBool,
    /// The TLS handshake is done (or there is none: plain HTTP).
    opened: AtomicBool,
}

/// Why the watchdog closed a connection.
#[derive(Debug, PartialEq, Eq)]
pub enum Closed {
    HeadTimeout,
    Idle,
    Shed,
}

impl ConnState {
    pub fn new() -> Arc<Self> {
        let now = Instant::now();
        Arc::new(ConnState {
            epoch: now,
            accepted: now,
            in_flight: AtomicUsize::new(0),
            head_started: AtomicU64::new(0),
            idle_since: AtomicU64::new(0),
            shed: Notify::new(),
            shed_asked: AtomicBool::new(false),
            spoke: AtomicBool::new(false),
            opened: AtomicBool::new(false),
        })
    }

    fn millis(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    /// Asks an idle connection to close; false if it was asked already.
    pub fn ask_to_close(&self) -> bool {
        let first = !self.shed_asked.swap(true, Ordering::AcqRel);
        if first {
            self.shed.notify_one();
        }
        first
    }

    pub fn was_asked_to_close(&self) -> bool {
        self.shed_asked.load(Ordering::Acquire)
    }

    pub fn mark_spoke(&self) {
        self.spoke.store(true, Ordering::Relaxed);
    }

    pub fn has_spoken(&self) -> bool {
        self.spoke.load(Ordering::Relaxed)
    }

    pub fn mark_opened(&self) {
        self.opened.store(true, Ordering::Relaxed);
    }

    pub fn is_opened(&self) -> bool {
        self.opened.load(Ordering::Relaxed)
    }

    pub fn is_idle(&self) -> bool {
        self.in_flight.load(Ordering::Acquire) == 0
    }

    /// Idle, and no byte of another request has come since the last one: between requests.
    pub fn waiting_for_request(&self) -> bool {
        self.is_idle() && self.head_started.load(Ordering::Relaxed) == 0
    }

    /// Called for every read: bytes arriving while no request is in flight start a head.
    pub fn saw_bytes(&self) {
        if self.is_idle() && self.head_started.load(Ordering::Relaxed) == 0 {
            self.head_started
                .store(self.millis() + 1, Ordering::Relaxed);
        }
    }

    /// Starts the clock for the first request: a new connection is bounded by the head timeout
    /// until it has sent one (an h2 client that never sends its preface is closed like a
    /// half-sent HTTP/1.1 head), and by the idle timeout between requests after that.
    pub fn await_first_request(&self) {
        self.head_started
            .store(self.millis() + 1, Ordering::Relaxed);
    }

    /// Marks a request as started; the returned guard marks it finished when dropped.
    pub fn request_started(self: &Arc<Self>) -> RequestGuard {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        self.head_started.store(0, Ordering::Relaxed);
        RequestGuard(self.clone())
    }

    /// Resolves when the connection has broken one of its bounds, or was asked to make room.
    ///
    /// Requests starting and ending do not wake it (that was three wake-ups per request, some
    /// 5% of a kept-alive request's CPU). Instead it never sleeps longer than the shorter of the
    /// two timeouts: a deadline that a later change sets (a head starting, a request ending) is
    /// at least that far from now, so the watchdog is always up in time to read it.
    pub async fn watch(&self, head_timeout: Duration, idle_timeout: Duration) -> Closed {
        let longest_nap = head_timeout.min(idle_timeout);
        loop {
            if self.was_asked_to_close() && self.is_idle() {
                return Closed::Shed;
            }
            let deadline = match (self.is_idle(), self.head_started.load(Ordering::Relaxed)) {
                (false, _) => None,
                (true, 0) => Some((
                    self.idle_since.load(Ordering::Relaxed) + idle_timeout.as_millis() as u64,
                    Closed::Idle,
                )),
                (true, t) => Some((t - 1 + head_timeout.as_millis() as u64, Closed::HeadTimeout)),
            };
            let now = self.millis();
            let wait = match deadline {
                Some((at, why)) if at <= now => return why,
                Some((at, _)) => Duration::from_millis(at - now).min(longest_nap),
                // A request is in flight: nothing expires until it ends.
                None => longest_nap,
            };
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = self.shed.notified() => {}
            }
        }
    }
}

pub struct RequestGuard(Arc<ConnState>);

impl Drop for RequestGuard {
    fn drop(&mut self) {
        let state = &self.0;
        state.idle_since.store(state.millis(), Ordering::Relaxed);
        state.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}
