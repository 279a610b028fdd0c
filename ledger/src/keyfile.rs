//! The log signing key on disk: PKCS#8 v1 PEM (RFC 8410), mode 0600, readable by OpenSSL.
//!
//! ed25519-dalek writes PKCS#8 v2 (with the public key), which OpenSSL 3 does not read; v1 is
//! a fixed 16-byte DER prefix followed by the 32-byte seed, so it is written here directly.

use crate::error::LedgerError;
use base64::Engine as _;
use evl_sdk::SecretKey;
use std::io::Write as _;
use std::path::Path;

/// DER prefix of a PKCS#8 v1 Ed25519 private key (RFC 8410 §7): SEQUENCE, version 0,
/// AlgorithmIdentifier id-Ed25519 (1.3.101.112), OCTET STRING wrapping OCTET STRING(32).
const PKCS8_V1_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];

/// DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410 §4).
const SPKI_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];

fn pem(label: &str, der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// Generates a fresh 32-byte seed from the OS random source.
pub fn generate_seed() -> Result<[u8; 32], LedgerError> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| LedgerError::KeyFile(format!("OS random source failed: {e}")))?;
    Ok(seed)
}

/// The PKCS#8 v1 PEM text of a seed.
pub fn private_pem(seed: &[u8; 32]) -> String {
    let mut der = PKCS8_V1_PREFIX.to_vec();
    der.extend_from_slice(seed);
    pem("PRIVATE KEY", &der)
}

/// The SPKI PEM text of a public key.
pub fn public_pem(raw: &[u8; 32]) -> String {
    let mut der = SPKI_PREFIX.to_vec();
    der.extend_from_slice(raw);
    pem("PUBLIC KEY", &der)
}

/// Writes the private key file with mode 0600, refusing to overwrite an existing file.
pub fn write_private(path: &Path, seed: &[u8; 32]) -> Result<(), LedgerError> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        opts.mode(0o600);
    }
    let mut f = opts
        .open(path)
        .map_err(|e| LedgerError::KeyFile(format!("cannot create {}: {e}", path.display())))?;
    f.write_all(private_pem(seed).as_bytes())
        .and_then(|()| f.sync_all())
        .map_err(|e| LedgerError::KeyFile(format!("cannot write {}: {e}", path.display())))
}

/// Reads a PKCS#8 (v1, or v2 with the public key) Ed25519 PEM file.
pub fn read_private(path: &Path, name: &str) -> Result<SecretKey, LedgerError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| LedgerError::KeyFile(format!("cannot read {}: {e}", path.display())))?;
    let body: String = text.lines().filter(|l| !l.starts_with("-----")).collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(body.trim())
        .map_err(|_| LedgerError::KeyFile(format!("{} is not PEM", path.display())))?;
    // v1: prefix(16) + seed(32). v2 adds the public key after the seed; the seed position is the same
    // except for the outer length and version bytes, so locate the inner OCTET STRING header.
    let pos = der
        .windows(4)
        .position(|w| w == [0x04, 0x22, 0x04, 0x20])
        .filter(|_| der.get(5..12) == Some(&PKCS8_V1_PREFIX[5..12]))
        .ok_or_else(|| LedgerError::KeyFile(format!("{} is not an Ed25519 PKCS#8 key", path.display())))?;
    let seed: [u8; 32] = der
        .get(pos + 4..pos + 36)
        .and_then(|s| s.try_into().ok())
        .ok_or_else(|| LedgerError::KeyFile(format!("{} is truncated", path.display())))?;
    SecretKey::from_seed(name, &seed).map_err(|e| LedgerError::KeyFile(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_mode() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("k.pem");
        let seed = [7u8; 32];
        write_private(&p, &seed).unwrap();
        assert!(write_private(&p, &seed).is_err(), "must not overwrite");
        let k = read_private(&p, "example.org/log").unwrap();
        assert_eq!(k.seed(), seed);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            assert_eq!(std::fs::metadata(&p).unwrap().permissions().mode() & 0o777, 0o600);
        }
        assert!(private_pem(&seed).starts_with("-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEI"));
    }
}
