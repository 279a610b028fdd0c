//! Base64 as the SPEC uses it: produce standard (RFC 4648 §4) with padding; accept standard or
//! URL-safe (§5), padded or not, inside JSON; only standard padded base64 inside signed notes
//! (SPEC.md §1.3).

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};

/// Standard base64 with padding.
pub fn encode(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// Strict standard base64 with padding only (checkpoints and notes, where C2SP fixes one form).
pub fn decode_standard(s: &str) -> Option<Vec<u8>> {
    STANDARD.decode(s).ok()
}

/// Standard or URL-safe base64, padded or not.
pub fn decode(s: &str) -> Option<Vec<u8>> {
    let url = s.contains(['-', '_']);
    let padded = s.ends_with('=');
    let engine = match (url, padded) {
        (false, true) => &STANDARD,
        (false, false) => &STANDARD_NO_PAD,
        (true, true) => &URL_SAFE,
        (true, false) => &URL_SAFE_NO_PAD,
    };
    engine.decode(s).ok()
}
