//! The open connections, capped. When the cap is reached, the oldest idle connection is asked
//! to close to make room: a flood of idle sockets then costs the flooder their oldest sockets,
//! not a newcomer their request (nginx would refuse the newcomer).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use super::watchdog::ConnState;

#[derive(Default)]
pub struct Registry {
    next_id: AtomicU64,
    open: Mutex<HashMap<u64, Arc<ConnState>>>,
}

/// Removes the connection from the registry when the connection ends.
pub struct Registered {
    registry: Arc<Registry>,
    id: u64,
    pub state: Arc<ConnState>,
}

impl Drop for Registered {
    fn drop(&mut self) {
        self.registry
            .open
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&self.id);
    }
}

impl Registry {
    /// Adds a new connection. When `max` are already open (not counting those already asked to
    /// leave), first asks the oldest idle one to close; returns whether one was asked.
    pub fn register(self: &Arc<Self>, max: usize) -> (Registered, bool) {
        let state = ConnState::new();
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let mut shed = false;
        let staying = open.values().filter(|c| !c.was_asked_to_close()).count();
        if staying >= max
            && let Some(oldest) = open
                .values()
                .filter(|c| c.is_idle() && !c.was_asked_to_close())
                .min_by_key(|c| c.accepted)
        {
            shed = oldest.ask_to_close();
        }
        open.insert(id, state.clone());
        (
            Registered {
                registry: self.clone(),
                id,
                state,
            },
            shed,
        )
    }

    pub fn len(&self) -> usize {
        self.open.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
