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

/// Largest magnitude a JSON number may have: 2^53 − 1 (I-JSON, RFC 7493 §2.2). An integer
/// literal is compared exactly; any other number after rounding to the nearest double
/// (SPEC.md §2.2 rule 5). A rule, not a tunable limit: the SPEC floor is exactly this value.
pub const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

/// Most hashes an inclusion or consistency proof may carry.
///
/// Rationale: for any tree size < 2^63 an RFC 9162 proof has at most 63 (inclusion) or 64
/// (consistency) hashes; anything longer is malformed, and the bound is checked before hashing.
/// SPEC floor: the exact RFC 9162 length for any size < 2^63.
pub const MAX_PROOF_HASHES: usize = 128;

/// Largest tree size a proof or checkpoint may state (2^63 − 1, so sizes fit signed 64-bit
/// integers in every peer implementation, e.g. Go's tlog). SPEC floor: every size ≤ 2^63 − 1 in
/// a checkpoint, every size ≤ 2^53 − 1 in JSON (where [`MAX_SAFE_INTEGER`] applies first).
pub const MAX_TREE_SIZE: u64 = i64::MAX as u64;

/// Largest signed note (checkpoint) in bytes.
///
/// Rationale: C2SP checkpoints are a few hundred bytes; 64 KiB leaves room for many
/// cosignatures and bounds work before any signature is checked. Go's `note.Open` has no size
/// limit of its own (it bounds only the signature count). SPEC floor: 8 KiB.
pub const MAX_NOTE_BYTES: usize = 64 * 1024;

/// Most signature lines in one signed note.
///
/// Rationale: Go's `note.Open` rejects a note with more than 100; room for many witness
/// cosignatures. SPEC floor: 16 (C2SP signed-note's minimum).
pub const MAX_NOTE_SIGNATURES: usize = 100;

/// Largest DSSE envelope in bytes.
///
/// Rationale: anchor envelopes are ~1 KiB; room for large future payloads. SPEC floor: 1 MiB.
pub const MAX_ENVELOPE_BYTES: usize = 4 * 1024 * 1024;

/// Most signatures in one DSSE envelope.
///
/// Rationale: an anchor carries one signature; room for overlapping keys during rotation.
/// SPEC floor: 4.
pub const MAX_ENVELOPE_SIGNATURES: usize = 16;

/// Most keys in one trust root.
///
/// Rationale: a log holds a handful of keys over its life. SPEC floor: 64.
pub const MAX_TRUST_ROOT_KEYS: usize = 1024;

/// Longest log origin / key name in bytes.
///
/// Rationale: C2SP signed-note names are short schema-less URLs. SPEC floor: 128.
pub const MAX_NAME_BYTES: usize = 256;
