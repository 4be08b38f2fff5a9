//! The account: the CA knows us by an account key made for it (never the site's key), and
//! every later request is signed with it. Made fresh at each start; pebble forgets everything
//! when it stops anyway.

use std::path::Path;

use anyhow::Result;
use instant_acme::{Account, NewAccount};

use super::{ca_error, client};

pub async fn create(
    directory: &str,
    ca_file: Option<&Path>,
    email: Option<&str>,
) -> Result<Account> {
    let http = client::Directory::new(ca_file)?;
    let contact = email.map(|e| format!("mailto:{e}"));
    let contacts: Vec<&str> = contact.iter().map(String::as_str).collect();
    let (account, _credentials) = Account::builder_with_http(Box::new(http))
        .create(
            &NewAccount {
                contact: &contacts,
                terms_of_service_agreed: true,
                only_return_existing: false,
            },
            directory.to_string(),
            None,
        )
        .await
        .map_err(|e| ca_error(e, "open an account for us"))?;
    println!(
        "ACME: account created at {directory}{}: the CA knows us by an account key made for it (not the \
         site's key); every request from now on is signed with it.",
        email.map(|e| format!(" (contact {e})")).unwrap_or_default()
    );
    Ok(account)
}
