//! Private keys: generating them, writing them passphrase-encrypted, and reading them back with
//! errors that say what is wrong with the file rather than "decrypt error".

use std::fmt;
use std::path::Path;
use std::str::FromStr;

use anyhow::{Context, Result, anyhow, bail};
use pkcs8::der::pem::LineEnding;
use pkcs8::pkcs5::pbes2;
use pkcs8::{EncryptedPrivateKeyInfoRef, PrivateKeyInfoRef, SecretDocument};
use rcgen::KeyPair;
use rustls_pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer, pem::PemObject};
use zeroize::Zeroizing;

use crate::files;

/// PBKDF2-HMAC-SHA256 rounds for new keys: OWASP's 2023 figure, and pkcs8's own default.
/// OpenSSL's `pkcs8 -topk8` still uses 2048, which a GPU tries in microseconds.
const PBKDF2_ROUNDS: u32 = 600_000;

/// The key algorithms the tool makes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyType {
    EcdsaP256,
    EcdsaP384,
    Ed25519,
    Rsa2048,
    Rsa3072,
    Rsa4096,
}

impl KeyType {
    pub const ALL: [KeyType; 6] = [
        KeyType::EcdsaP256,
        KeyType::EcdsaP384,
        KeyType::Ed25519,
        KeyType::Rsa2048,
        KeyType::Rsa3072,
        KeyType::Rsa4096,
    ];

    pub fn name(self) -> &'static str {
        match self {
            KeyType::EcdsaP256 => "ecdsa-p256",
            KeyType::EcdsaP384 => "ecdsa-p384",
            KeyType::Ed25519 => "ed25519",
            KeyType::Rsa2048 => "rsa2048",
            KeyType::Rsa3072 => "rsa3072",
            KeyType::Rsa4096 => "rsa4096",
        }
    }

    pub fn is_rsa(self) -> bool {
        matches!(self, KeyType::Rsa2048 | KeyType::Rsa3072 | KeyType::Rsa4096)
    }

    /// Makes a fresh key pair of this type.
    pub fn generate(self) -> Result<KeyPair> {
        use rcgen::{RsaKeySize, *};
        let key = match self {
            KeyType::EcdsaP256 => KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256),
            KeyType::EcdsaP384 => KeyPair::generate_for(&PKCS_ECDSA_P384_SHA384),
            KeyType::Ed25519 => KeyPair::generate_for(&PKCS_ED25519),
            KeyType::Rsa2048 => KeyPair::generate_rsa_for(&PKCS_RSA_SHA256, RsaKeySize::_2048),
            KeyType::Rsa3072 => KeyPair::generate_rsa_for(&PKCS_RSA_SHA256, RsaKeySize::_3072),
            KeyType::Rsa4096 => KeyPair::generate_rsa_for(&PKCS_RSA_SHA256, RsaKeySize::_4096),
        };
        key.with_context(|| format!("cannot generate a {} key", self.name()))
    }
}

impl fmt::Display for KeyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for KeyType {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.to_ascii_lowercase().replace(['_', ' '], "-");
        KeyType::ALL
            .into_iter()
            .find(|k| k.name() == wanted || k.name().replace('-', "") == wanted.replace('-', ""))
            .ok_or_else(|| {
                let names: Vec<_> = KeyType::ALL.iter().map(|k| k.name()).collect();
                format!("unknown key type {s:?}; choose one of {}", names.join(", "))
            })
    }
}

/// Encodes a key as PEM: `ENCRYPTED PRIVATE KEY` (PBES2, PBKDF2-SHA256, AES-256-CBC, which every
/// OpenSSL since 1.0 reads) when a passphrase is given, plain `PRIVATE KEY` otherwise.
pub fn to_pem(key: &KeyPair, passphrase: Option<&str>) -> Result<Zeroizing<String>> {
    let der = Zeroizing::new(key.serialize_der());
    let mut info = PrivateKeyInfoRef::try_from(der.as_slice())
        .map_err(|e| anyhow!("the generated key is not PKCS#8: {e}"))?;
    // Ed25519 keys come as PKCS#8 v2 (RFC 5958), which appends the public key; OpenSSL 3.0 (and
    // so Python's ssl) cannot read that form at all. The public key is derived from the private
    // one anyway, so write the v1 form (RFC 8410) that every tool reads.
    info.public_key = None;
    let Some(passphrase) = passphrase else {
        return SecretDocument::encode_msg(&info)
            .and_then(|doc| doc.to_pem("PRIVATE KEY", LineEnding::LF))
            .map_err(|e| anyhow!("cannot encode the key as PEM: {e}"));
    };
    let salt: [u8; 16] = rand::random();
    let iv: [u8; 16] = rand::random();
    let params = pbes2::Parameters::generate_pbkdf2_sha256_aes256cbc(PBKDF2_ROUNDS, &salt, iv)
        .map_err(|e| anyhow!("bad PBES2 parameters: {e}"))?;
    let encrypted: SecretDocument = info
        .encrypt_with_params(params, passphrase.as_bytes())
        .map_err(|e| anyhow!("cannot encrypt the key: {e}"))?;
    encrypted
        .to_pem("ENCRYPTED PRIVATE KEY", LineEnding::LF)
        .map_err(|e| anyhow!("cannot encode the key as PEM: {e}"))
}

/// Reads a private key file. `passphrase` is called only when the key is encrypted, so that a
/// plain key never asks for one.
pub fn load(
    path: &Path,
    passphrase: impl FnOnce() -> Result<Zeroizing<String>>,
) -> Result<PrivateKeyDer<'static>> {
    let text = Zeroizing::new(files::read_text(path, "private key file")?);
    let shown = path.display();
    let label = first_pem_label(&text).ok_or_else(|| {
        anyhow!("{shown} is not a PEM private key (no -----BEGIN line). Give the key file the site or CA was made with.")
    })?;
    match label {
        "ENCRYPTED PRIVATE KEY" => decrypt(path, &text, &passphrase()?),
        "RSA PRIVATE KEY" | "EC PRIVATE KEY" if text.contains("Proc-Type: 4,ENCRYPTED") => bail!(
            "{shown} is a legacy OpenSSL encrypted key (Proc-Type: 4,ENCRYPTED), which is weak and not supported. \
             Convert it to PKCS#8 with: openssl pkcs8 -topk8 -v2 aes-256-cbc -in {shown} -out key-pkcs8.pem"
        ),
        "PRIVATE KEY" | "RSA PRIVATE KEY" | "EC PRIVATE KEY" => {
            PrivateKeyDer::from_pem_slice(text.as_bytes()).map_err(|e| {
                anyhow!(
                    "{shown} holds a damaged {label} block: {}. Make the key again",
                    crate::pki::pem_error_words(&e)
                )
            })
        }
        "CERTIFICATE" | "CERTIFICATE REQUEST" => bail!(
            "{shown} holds a {label}, not a private key. Give the key file (…_private_key.pem) instead."
        ),
        other => bail!("{shown} holds a {other} block, not a private key."),
    }
}

fn decrypt(path: &Path, text: &str, passphrase: &str) -> Result<PrivateKeyDer<'static>> {
    let shown = path.display();
    let (_, doc) = SecretDocument::from_pem(text).map_err(|e| {
        anyhow!(
            "{shown} holds a damaged ENCRYPTED PRIVATE KEY block: {}. Restore the key from a copy, or make it again",
            damaged_pem_words(text, &e)
        )
    })?;
    let legacy = || {
        anyhow!(
            "{shown} is encrypted with an old PKCS#5 v1.5 / PKCS#12 scheme, which is weak and not supported. \
             Convert it with: openssl pkcs8 -topk8 -v2 aes-256-cbc -in {shown} -out key-pkcs8.pem"
        )
    };
    let info = EncryptedPrivateKeyInfoRef::try_from(doc.as_bytes()).map_err(|e| {
        // pkcs8 cannot even decode the PKCS#12 PBE identifiers (1.2.840.113549.1.12.1.x), so
        // look for their encoding to tell "old scheme" apart from "damaged file".
        const PKCS12_PBE: [u8; 9] = [0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x0C, 0x01];
        if doc
            .as_bytes()
            .windows(PKCS12_PBE.len())
            .any(|w| w == PKCS12_PBE)
        {
            legacy()
        } else {
            anyhow!("{shown} holds a damaged ENCRYPTED PRIVATE KEY block ({e})")
        }
    })?;
    if !matches!(
        info.encryption_algorithm,
        pkcs8::pkcs5::EncryptionScheme::Pbes2(_)
    ) {
        return Err(legacy());
    }
    let plain = info.decrypt(passphrase.as_bytes()).map_err(|e| match e {
        pkcs8::Error::EncryptedPrivateKey(pkcs8::pkcs5::Error::DecryptFailed) | pkcs8::Error::Asn1(_) => {
            anyhow!(
                "wrong passphrase for {shown}: the key does not decrypt with it. Give the passphrase it was \
                 encrypted with (the first line of the passphrase file, or the environment variable, counts \
                 every character, spaces too)"
            )
        }
        other => anyhow!("cannot decrypt {shown}: {other}. If it came from elsewhere, re-encrypt it with: openssl pkcs8 -topk8 -v2 aes-256-cbc -in {shown} -out key-pkcs8.pem"),
    })?;
    Ok(PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
        plain.as_bytes().to_vec(),
    )))
}

/// What is wrong with a PEM text that pkcs8 refused, in words: pki-types finds a missing END
/// line (pkcs8 calls it an error "in pre-encapsulation boundary"), base64 errors are named here.
fn damaged_pem_words(text: &str, e: &pkcs8::der::Error) -> String {
    use rustls_pki_types::pem::SectionKind;
    let structure = <(SectionKind, Vec<u8>)>::pem_slice_iter(text.as_bytes()).find_map(Result::err);
    match (structure, e.kind()) {
        (Some(pem), _) => crate::pki::pem_error_words(&pem),
        (None, pkcs8::der::ErrorKind::Pem(pkcs8::der::pem::Error::Base64(_))) => {
            crate::pki::BASE64_DAMAGED.into()
        }
        (None, _) => e.to_string(),
    }
}

fn first_pem_label(text: &str) -> Option<&str> {
    let start = text.find("-----BEGIN ")? + "-----BEGIN ".len();
    let end = text[start..].find("-----")?;
    Some(&text[start..start + end])
}

/// What a plain (unencrypted) key file means, for whoever asks for one.
pub const PLAIN_KEY_WARNING: &str = "This key file is NOT encrypted: anyone who can read it can \
    pose as the site (serve its certificate and answer in its name) until the \
    certificate expires or is revoked. It is mode 0600 (only its owner reads it): keep \
    it so, keep it out of repositories and backups others read, and delete it when the server no \
    longer needs it.";

/// Decrypts the encrypted key at `path` and encodes it as a plain `PRIVATE KEY` PEM (PKCS#8 v1),
/// for servers that cannot take a passphrase (gunicorn's `--keyfile`). Refuses a key that is
/// already plain: there is nothing to decrypt, and a copy would be a second secret to guard.
pub fn decrypt_to_plain_pem(
    path: &Path,
    passphrase: impl FnOnce() -> Result<Zeroizing<String>>,
) -> Result<Zeroizing<String>> {
    let mut was_encrypted = false;
    let key = load(path, || {
        was_encrypted = true;
        passphrase()
    })?;
    if !was_encrypted {
        bail!(
            "{} is not encrypted: it is already a plain key, so there is nothing to decrypt. Give the server that \
             file itself (mode 0600), or encrypt keys you make with demo_pki (the default)",
            path.display()
        );
    }
    let mut info = PrivateKeyInfoRef::try_from(key.secret_der())
        .map_err(|e| anyhow!("{} does not hold a PKCS#8 key: {e}", path.display()))?;
    // As in to_pem: the v1 form, which OpenSSL 3.0 (gunicorn's ssl module) reads.
    info.public_key = None;
    SecretDocument::encode_msg(&info)
        .and_then(|doc| doc.to_pem("PRIVATE KEY", LineEnding::LF))
        .map_err(|e| anyhow!("cannot encode the key as PEM: {e}"))
}

/// Turns a loaded key into a key pair that can sign (for the CA).
pub fn to_key_pair(key: &PrivateKeyDer<'_>, path: &Path) -> Result<KeyPair> {
    KeyPair::try_from(key).map_err(|e| {
        anyhow!(
            "{} holds a key of a type this tool cannot sign with ({e}); use ECDSA P-256/P-384, Ed25519 or RSA",
            path.display()
        )
    })
}

/// A string wiped from memory when dropped (passphrases, PEM of private keys).
pub type SecretString = Zeroizing<String>;

#[cfg(test)]
mod tests {
    use super::*;
    use rcgen::PublicKeyData;

    #[test]
    fn keys_are_written_as_pkcs8_v1_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        for key_type in [KeyType::EcdsaP256, KeyType::Ed25519, KeyType::Rsa2048] {
            let key = key_type.generate().unwrap();
            for pass in [None, Some("a long passphrase")] {
                let pem = to_pem(&key, pass).unwrap();
                let path = dir.path().join("key.pem");
                std::fs::write(&path, pem.as_bytes()).unwrap();
                let loaded =
                    load(&path, || Ok(Zeroizing::new("a long passphrase".into()))).unwrap();
                // Version 0 (v1): no public key appended, which OpenSSL 3.0 could not read.
                let info = PrivateKeyInfoRef::try_from(loaded.secret_der()).unwrap();
                assert_eq!(info.version(), pkcs8::Version::V1, "{key_type}");
                let again = to_key_pair(&loaded, &path).unwrap();
                assert_eq!(
                    again.subject_public_key_info(),
                    key.subject_public_key_info()
                );
            }
        }
    }

    #[test]
    fn an_encrypted_key_decrypts_to_the_same_plain_key_and_a_plain_one_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let key = KeyType::EcdsaP256.generate().unwrap();
        let pass = || Ok(Zeroizing::new("a long passphrase".to_string()));
        let encrypted = dir.path().join("encrypted.pem");
        std::fs::write(
            &encrypted,
            to_pem(&key, Some("a long passphrase")).unwrap().as_bytes(),
        )
        .unwrap();
        let plain = decrypt_to_plain_pem(&encrypted, pass).unwrap();
        assert_eq!(*plain, *to_pem(&key, None).unwrap());
        let plain_file = dir.path().join("plain.pem");
        std::fs::write(&plain_file, plain.as_bytes()).unwrap();
        let err = decrypt_to_plain_pem(&plain_file, || panic!("a plain key asks no passphrase"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("is not encrypted"), "{err}");
    }
}
