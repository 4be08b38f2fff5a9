//! The open connections, capped so that a flood of sockets costs the flooder their own sockets,
//! never a real client its request.
//!
//! A connection counts against `--max-connections` from its first byte. Before that it is one of
//! at most [`SILENT_MAX`] sockets that have sent nothing, and when that many wait, a newcomer
//! closes the oldest: an empty connect costs its sender nothing, so a flood of them only ever
//! displaces itself, while a real client sends its ClientHello within milliseconds and leaves
//! that queue.
//!
//! When a connection's first byte comes and the cap is reached, one connection is asked to close:
//! one with no request in flight that is past its first second ([`GRACE`]), unfinished
//! handshakes first, then the oldest. A connection with a request in flight, or in its first
//! second, is never asked. If none can leave, the speaker is let in over the cap (a real client
//! arriving while every slot is busy still gets its answer), up to twice the cap; beyond that it
//! is closed at once. nginx refuses every newcomer at its cap.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::watchdog::ConnState;

/// Sockets that have sent nothing yet, at most: a flood of empty connects then recycles its
/// own sockets, each living SILENT_MAX / rate (half a second at 2,000 connects/s).
pub const SILENT_MAX: usize = 1024;

/// How long a connection that has spoken is safe from being asked to leave: time for a TLS
/// handshake and a first request across the world (a few round trips of up to 300 ms).
pub const GRACE: Duration = Duration::from_secs(1);

pub struct Registry {
    next_id: AtomicU64,
    open: Mutex<HashMap<u64, Arc<ConnState>>>,
    max: usize,
}

/// Removes the connection from the registry when the connection ends.
pub struct Registered {
    registry: Arc<Registry>,
    id: u64,
    pub state: Arc<ConnState>,
}

impl Drop for Registered {
    fn drop(&mut self) {
        self.registry.lock().remove(&self.id);
    }
}

impl Registry {
    pub fn new(max: usize) -> Arc<Self> {
        Arc::new(Registry {
            next_id: AtomicU64::new(0),
            open: Mutex::new(HashMap::new()),
            max,
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Arc<ConnState>>> {
        self.open.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Lets a new, silent connection in; with [`SILENT_MAX`] silent ones already waiting, asks
    /// the oldest of them to close. Returns whether one was asked.
    pub fn admit(self: &Arc<Self>) -> (Registered, bool) {
        let mut open = self.lock();
        let silent = || {
            open.values()
                .filter(|c| !c.has_spoken() && !c.was_asked_to_close())
        };
        let shed = silent().count() >= SILENT_MAX
            && silent()
                .min_by_key(|c| c.accepted)
                .is_some_and(|oldest| oldest.ask_to_close());
        let state = ConnState::new();
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        open.insert(id, state.clone());
        let registered = Registered {
            registry: self.clone(),
            id,
            state,
        };
        (registered, shed)
    }
}

/// What became of a connection that sent its first byte.
#[derive(Debug, PartialEq, Eq)]
pub enum Counted {
    /// Within the cap, or another connection was asked to make room.
    In,
    /// Over the cap: nothing could leave (busy, or in their first second).
    OverCap,
    /// Twice the cap, none of them may leave: this one closes.
    Refused,
}

impl Registered {
    /// The connection has sent its first byte: from now on it counts against the cap.
    pub fn spoke(&self) -> Counted {
        let open = self.registry.lock();
        let speaking = || {
            open.values()
                .filter(|c| c.has_spoken() && !c.was_asked_to_close())
        };
        let count = speaking().count();
        self.state.mark_spoke();
        if count < self.registry.max {
            return Counted::In;
        }
        let victim = speaking()
            .filter(|c| !Arc::ptr_eq(c, &self.state))
            .filter(|c| c.is_idle() && c.accepted.elapsed() >= GRACE)
            .min_by_key(|c| (c.is_opened(), c.accepted));
        match victim {
            Some(victim) => {
                victim.ask_to_close();
                Counted::In
            }
            None if count >= 2 * self.registry.max => {
                self.state.ask_to_close();
                Counted::Refused
            }
            None => Counted::OverCap,
        }
    }
}

impl Registry {
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flood_of_silent_sockets_displaces_only_itself() {
        let registry = Registry::new(2);
        let speaker = registry.admit().0;
        assert_eq!(speaker.spoke(), Counted::In);
        let silent: Vec<_> = (0..SILENT_MAX).map(|_| registry.admit()).collect();
        assert!(silent.iter().all(|(_, shed)| !shed));
        let (_, shed) = registry.admit();
        assert!(shed);
        assert!(silent[0].0.state.was_asked_to_close());
        assert!(!silent[1].0.state.was_asked_to_close());
        assert!(!speaker.state.was_asked_to_close());
    }

    #[test]
    fn at_the_cap_new_and_busy_connections_stay_and_stale_handshakes_leave_first() {
        let registry = Registry::new(2);
        let (a, b) = (registry.admit().0, registry.admit().0);
        assert_eq!(a.spoke(), Counted::In);
        assert_eq!(b.spoke(), Counted::In);
        // Both in their first second: the third is let in over the cap, the fourth too, and
        // the fifth (twice the cap already speaking) is refused.
        let c = registry.admit().0;
        assert_eq!(c.spoke(), Counted::OverCap);
        let d = registry.admit().0;
        assert_eq!(d.spoke(), Counted::OverCap);
        let e = registry.admit().0;
        assert_eq!(e.spoke(), Counted::Refused);
        assert!(e.state.was_asked_to_close());
        for x in [&a, &b, &c, &d] {
            assert!(!x.state.was_asked_to_close());
        }
        drop((c, d, e));
        std::thread::sleep(GRACE + Duration::from_millis(50));
        // Past their first second: the unfinished handshake (b) leaves before the older
        // connection that finished its own (a); a busy one never does.
        a.state.mark_opened();
        let f = registry.admit().0;
        assert_eq!(f.spoke(), Counted::In);
        assert!(b.state.was_asked_to_close());
        assert!(!a.state.was_asked_to_close());
        let _busy = a.state.request_started();
        let g = registry.admit().0;
        assert_eq!(g.spoke(), Counted::OverCap, "a is busy, f is new");
    }
}
