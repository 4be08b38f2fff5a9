//! The failure lab: every certificate a client must refuse (and the few it must accept), made
//! fresh from a lab CA at each start, each served on its own port, with a gallery page that says
//! what each one shows, what a browser and demo_client say, and why it matters. An offline
//! badssl.com whose refusals are explained.
//!
//! - [`scenarios`]: the list, with what each client was measured to do (`expect`).
//! - [`certs`]: the lab CA, the stranger CA, the intermediate, every scenario's chain, the CRL,
//!   and for mutual TLS the client CA and the learner's client certificate.
//! - [`serve`]: one listener per scenario on 127.0.0.1 and ::1, each with its own TLS config
//!   (`client-cert-required`'s asks for, and requires, a client certificate).
//! - [`gallery`]: the HTML page listing them.
//! - [`check`]: `demo_lab check`, every scenario visited through demo_client's trust core.
//! - [`run`]: start-up: bind, make, write, serve, then "Lab ready".

pub mod certs;
pub mod check;
pub mod gallery;
pub mod run;
pub mod scenarios;
pub mod serve;

/// The text a scenario's page starts with, so that a test tells the page (the client accepted
/// the certificate) from an error page.
pub fn marker(scenario: &str) -> String {
    format!("LAB-OK scenario {scenario}")
}

/// Where the lab writes by default (ignored by git).
pub const DEFAULT_DIR: &str = "lab_output";
/// The gallery's port by default; the scenarios follow it.
pub const DEFAULT_PORT_BASE: u16 = 9000;
