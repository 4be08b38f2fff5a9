//! IANA code points as people name them.

/// GREASE values (RFC 8701) are sent on purpose to keep servers tolerant of unknown values.
pub fn is_grease(v: u16) -> bool {
    v & 0x0f0f == 0x0a0a && (v >> 8) == (v & 0xff)
}

pub fn version(v: u16) -> String {
    match v {
        0x0304 => "TLS 1.3".into(),
        0x0303 => "TLS 1.2".into(),
        0x0302 => "TLS 1.1".into(),
        0x0301 => "TLS 1.0".into(),
        0x0300 => "SSL 3.0".into(),
        v if is_grease(v) => "GREASE".into(),
        v => format!("0x{v:04x}"),
    }
}

pub fn cipher_suite(id: u16) -> String {
    if is_grease(id) {
        return "GREASE".into();
    }
    match tls_parser::TlsCipherSuite::from_id(id) {
        Some(suite) => suite.name.to_string(),
        None if id == 0x00ff => "TLS_EMPTY_RENEGOTIATION_INFO_SCSV".into(),
        None => format!("0x{id:04x}"),
    }
}

pub fn group(id: u16) -> String {
    match id {
        0x001d => "X25519",
        0x001e => "X448",
        0x0017 => "secp256r1",
        0x0018 => "secp384r1",
        0x0019 => "secp521r1",
        0x0100 => "ffdhe2048",
        0x0101 => "ffdhe3072",
        0x0102 => "ffdhe4096",
        0x11ec => "X25519MLKEM768",
        0x11eb => "SecP256r1MLKEM768",
        0x11ed => "SecP384r1MLKEM1024",
        0x6399 => "X25519Kyber768Draft00",
        v if is_grease(v) => "GREASE",
        v => return format!("0x{v:04x}"),
    }
    .into()
}

/// Whether a key-exchange group resists a future quantum computer (a hybrid with ML-KEM).
pub fn is_post_quantum(group: &str) -> bool {
    group.contains("MLKEM") || group.contains("Kyber")
}

/// What a group is, in a sentence.
pub fn explain_group(group: &str) -> String {
    if group == "X25519MLKEM768" {
        "X25519MLKEM768: a post-quantum hybrid. The key is agreed twice, with classic X25519 and with \
         ML-KEM-768 (the NIST standard, FIPS 203), and both results are combined, so the session stays \
         secret unless BOTH are broken, even by a future quantum computer recording today's traffic."
            .into()
    } else if is_post_quantum(group) {
        format!("{group}: a post-quantum hybrid key exchange (classic elliptic curve plus ML-KEM).")
    } else {
        format!(
            "{group}: a classic elliptic-curve (or finite-field) Diffie-Hellman exchange, not post-quantum."
        )
    }
}

pub fn signature_scheme(id: u16) -> String {
    match id {
        0x0401 => "rsa_pkcs1_sha256",
        0x0501 => "rsa_pkcs1_sha384",
        0x0601 => "rsa_pkcs1_sha512",
        0x0201 => "rsa_pkcs1_sha1",
        0x0403 => "ecdsa_secp256r1_sha256",
        0x0503 => "ecdsa_secp384r1_sha384",
        0x0603 => "ecdsa_secp521r1_sha512",
        0x0203 => "ecdsa_sha1",
        0x0804 => "rsa_pss_rsae_sha256",
        0x0805 => "rsa_pss_rsae_sha384",
        0x0806 => "rsa_pss_rsae_sha512",
        0x0809 => "rsa_pss_pss_sha256",
        0x080a => "rsa_pss_pss_sha384",
        0x080b => "rsa_pss_pss_sha512",
        0x0807 => "ed25519",
        0x0808 => "ed448",
        0x0904 => "mldsa44",
        0x0905 => "mldsa65",
        0x0906 => "mldsa87",
        v if is_grease(v) => "GREASE",
        v => return format!("0x{v:04x}"),
    }
    .into()
}
