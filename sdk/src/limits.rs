//! Named limits (SPEC.md §2.3). Each is what this implementation enforces; SPEC.md also states
//! the floor every conforming verifier MUST accept, so documents within the floor are portable.

/// Largest node document in bytes, before or after canonicalization (16 MiB).
///
/// Rationale: the largest real VEX documents seen (Red Hat CSAF) are under 1 MiB; raw documents
/// are stored as `blob/v1` nodes, so 16× headroom. SPEC floor: 1 MiB.
pub const MAX_NODE_BYTES: usize = 16 * 1024 * 1024;

/// Deepest nesting of arrays and objects (the top-level value counts as depth 1).
///
/// Rationale: CSAF and CycloneDX documents nest at most ~12 levels; 64 keeps a recursive parser
/// far from stack exhaustion on every target, including wasm32. SPEC floor: 32.
pub const MAX_JSON_DEPTH: usize = 64;

/// Largest integer magnitude a JSON integer literal may have: 2^53 − 1 (I-JSON, RFC 7493 §2.2).
pub const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

/// Most hashes an inclusion or consistency proof may carry.
///
/// Rationale: a tree of 2^63 leaves needs at most 63 (inclusion) or 2·63 (consistency) hashes;
/// anything longer is malformed. SPEC floor: the exact RFC 9162 length for any size < 2^63.
pub const MAX_PROOF_HASHES: usize = 128;

/// Largest tree size a proof or checkpoint may state (2^63 − 1, so sizes fit signed 64-bit
/// integers in every peer implementation, e.g. Go's tlog).
pub const MAX_TREE_SIZE: u64 = i64::MAX as u64;

/// Largest signed note (checkpoint) in bytes. Rationale: C2SP checkpoints are a few hundred bytes;
/// Go's `note` package caps notes at 1 MB. SPEC floor: 8 KiB.
pub const MAX_NOTE_BYTES: usize = 64 * 1024;

/// Most signature lines in one signed note (Go's `note` package allows 100).
pub const MAX_NOTE_SIGNATURES: usize = 100;

/// Largest DSSE envelope in bytes. SPEC floor: 1 MiB.
pub const MAX_ENVELOPE_BYTES: usize = 4 * 1024 * 1024;

/// Most signatures in one DSSE envelope.
pub const MAX_ENVELOPE_SIGNATURES: usize = 16;

/// Most keys in one trust root.
pub const MAX_TRUST_ROOT_KEYS: usize = 1024;

/// Longest log origin / key name in bytes (C2SP signed-note names are short URL-like strings).
pub const MAX_NAME_BYTES: usize = 256;
