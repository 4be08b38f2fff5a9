//! Counts the TLS 1.3 session tickets the server sent, so that the sequence diagram can name the
//! encrypted record that carried them: a session store that remembers as rustls's own in-memory
//! one does, and counts.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use rustls::NamedGroup;
use rustls::client::{
    ClientSessionMemoryCache, ClientSessionStore, Tls12ClientSessionValue, Tls13ClientSessionValue,
};
use rustls_pki_types::ServerName;

#[derive(Debug)]
pub struct TicketCounter {
    inner: ClientSessionMemoryCache,
    tickets: AtomicUsize,
}

impl TicketCounter {
    pub fn new() -> Arc<TicketCounter> {
        Arc::new(TicketCounter {
            inner: ClientSessionMemoryCache::new(4),
            tickets: AtomicUsize::new(0),
        })
    }

    pub fn tickets(&self) -> usize {
        self.tickets.load(Ordering::Relaxed)
    }
}

impl ClientSessionStore for TicketCounter {
    fn set_kx_hint(&self, server_name: ServerName<'static>, group: NamedGroup) {
        self.inner.set_kx_hint(server_name, group)
    }
    fn kx_hint(&self, server_name: &ServerName<'_>) -> Option<NamedGroup> {
        self.inner.kx_hint(server_name)
    }
    fn set_tls12_session(&self, server_name: ServerName<'static>, value: Tls12ClientSessionValue) {
        self.inner.set_tls12_session(server_name, value)
    }
    fn tls12_session(&self, server_name: &ServerName<'_>) -> Option<Tls12ClientSessionValue> {
        self.inner.tls12_session(server_name)
    }
    fn remove_tls12_session(&self, server_name: &ServerName<'static>) {
        self.inner.remove_tls12_session(server_name)
    }
    fn insert_tls13_ticket(
        &self,
        server_name: ServerName<'static>,
        value: Tls13ClientSessionValue,
    ) {
        self.tickets.fetch_add(1, Ordering::Relaxed);
        self.inner.insert_tls13_ticket(server_name, value)
    }
    fn take_tls13_ticket(
        &self,
        server_name: &ServerName<'static>,
    ) -> Option<Tls13ClientSessionValue> {
        self.inner.take_tls13_ticket(server_name)
    }
}
