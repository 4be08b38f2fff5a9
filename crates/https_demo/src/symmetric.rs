//! The tutorial's middle step: both sides share one secret key (Fernet: AES-128-CBC with an
//! HMAC-SHA256, as Python's `cryptography.fernet`), and the server sends the message encrypted
//! over plain HTTP. An eavesdropper sees only the token; but the key had to reach both sides
//! somehow beforehand, and that is the problem public-key cryptography (and so HTTPS) solves.

use anyhow::{Result, anyhow, bail};
use fernet::Fernet;

/// Where both sides read the shared key, as in the tutorial.
pub const KEY_ENV: &str = "SECRET_KEY";

/// A fresh key: 32 random bytes in url-safe base64, as `Fernet.generate_key()` makes.
pub fn generate_key() -> String {
    Fernet::generate_key()
}

/// The shared key from SECRET_KEY, or an error that says how to make one.
pub fn key_from_env() -> Result<Fernet> {
    let key = std::env::var(KEY_ENV).map_err(|_| {
        anyhow!(
            "{KEY_ENV} is not set. Make a key with `demo_pki fernet-key` and give the SAME key to the server and \
             the client: export {KEY_ENV}=<key>. (Getting one secret key to both sides safely is exactly the \
             problem that HTTPS's public-key cryptography solves.)"
        )
    })?;
    parse_key(key.trim())
}

pub fn parse_key(key: &str) -> Result<Fernet> {
    Fernet::new(key).ok_or_else(|| {
        anyhow!(
            "{KEY_ENV} is not a Fernet key: it must be 32 bytes in url-safe base64 (44 characters ending in '='), \
             as `demo_pki fernet-key` or Python's Fernet.generate_key() makes"
        )
    })
}

pub fn encrypt(key: &Fernet, message: &str) -> String {
    key.encrypt(message.as_bytes())
}

/// Decrypts a token, telling a damaged token apart from one that does not verify.
pub fn decrypt(key: &Fernet, token: &str) -> Result<String> {
    use base64::Engine as _;
    let raw = base64::engine::general_purpose::URL_SAFE
        .decode(token.trim())
        .map_err(|_| {
            anyhow!(
                "what the server sent is not a Fernet token (not url-safe base64): {}",
                preview(token)
            )
        })?;
    // version (1) + timestamp (8) + IV (16) + ciphertext (n * 16) + HMAC (32)
    if raw.first() != Some(&0x80) || raw.len() < 73 || (raw.len() - 57) % 16 != 0 {
        bail!(
            "the token is damaged: it does not have a Fernet token's shape (version byte 0x80, whole AES blocks)"
        );
    }
    let plain = key.decrypt(token.trim()).map_err(|_| {
        anyhow!(
            "the token does not verify with your {KEY_ENV} (Python calls this InvalidToken): either your key is not \
             the server's, or the token was changed on the way. The HMAC cannot tell which; it only guarantees \
             that nothing decrypts unless both are right."
        )
    })?;
    String::from_utf8(plain)
        .map_err(|_| anyhow!("the token decrypted, but the message is not text"))
}

fn preview(token: &str) -> String {
    let t: String = token.chars().take(60).collect();
    if token.chars().count() > 60 {
        format!("{t}…")
    } else {
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_each_failure_has_its_own_words() {
        let key = parse_key(&generate_key()).unwrap();
        let token = encrypt(&key, "fluffy tail");
        assert_eq!(decrypt(&key, &token).unwrap(), "fluffy tail");
        let other = parse_key(&generate_key()).unwrap();
        assert!(
            decrypt(&other, &token)
                .unwrap_err()
                .to_string()
                .contains("InvalidToken")
        );
        let mut tampered = token.clone().into_bytes();
        let mid = tampered.len() / 2;
        tampered[mid] = if tampered[mid] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(tampered).unwrap();
        assert!(
            decrypt(&key, &tampered)
                .unwrap_err()
                .to_string()
                .contains("changed on the way")
        );
        assert!(
            decrypt(&key, "not a token!")
                .unwrap_err()
                .to_string()
                .contains("not a Fernet token")
        );
        assert!(
            decrypt(&key, "gAAAAA==")
                .unwrap_err()
                .to_string()
                .contains("damaged")
        );
        assert!(
            parse_key("short")
                .err()
                .unwrap()
                .to_string()
                .contains("32 bytes")
        );
    }
}
