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

/// Most distinct statement nodes one VEX consensus computation accepts (SPEC.md §14.9), and so
/// the largest `max_statements_per_computation` a `vex.policy/v1` may set.
///
/// Rationale: the policy default is 100 (one vulnerability × product rarely has more than a few
/// issuers); with the per-field bounds below a consensus node over 1 000 statements stays under
/// ~2 MiB, far inside [`MAX_NODE_BYTES`]. SPEC floor: 100.
pub const MAX_VEX_STATEMENTS: usize = 1000;

/// Longest identifier in a VEX statement or group key, in bytes: `vuln_id`, each alias,
/// `product_key`, each subcomponent key, `issuer_id`, and each `authoritative_for` prefix
/// (SPEC.md §14.2).
///
/// Rationale: purls with qualifiers and scoped CSAF product names are a few hundred bytes;
/// bounds the size of every consensus node. SPEC floor: 512.
pub const MAX_VEX_ID_BYTES: usize = 1024;

/// Longest free-text member of a VEX statement (`impact_statement`, `action_statement`), in bytes.
///
/// Rationale: real impact and action statements are a few sentences; the consensus node copies
/// one of each, so this bounds its size. SPEC floor: 16 KiB.
pub const MAX_VEX_TEXT_BYTES: usize = 64 * 1024;

/// Largest multiplier a `vex.policy/v1` may set (tier weights, signed multiplier, boosts), in ppm
/// (10.0).
///
/// Rationale: a product of four factors stays below 10^10 ppm and a sum over
/// [`MAX_VEX_STATEMENTS`] below 10^13, inside JSON's exact-integer range (2^53 − 1). SPEC floor:
/// 2 000 000 (2.0).
pub const MAX_VEX_FACTOR_PPM: u64 = 10_000_000;

/// Largest `freshness_decay_days` a `vex.policy/v1` may set (100 years).
///
/// Rationale: larger values make freshness constant in practice; bounds the arithmetic. SPEC
/// floor: 3 650.
pub const MAX_VEX_DECAY_DAYS: u64 = 36_500;

/// Most leaves one multi-leaf inclusion proof may cover (SPEC.md §9.5).
///
/// Rationale: a pack proves at most its own nodes, and real packs hold tens to thousands; a
/// million leaves (~7 MiB of JSON indices) bounds the index list, which is checked before any
/// hashing. SPEC floor: 4 096.
pub const MAX_MULTIPROOF_LEAVES: usize = 1_000_000;

/// Most hashes one multi-leaf inclusion proof may carry (SPEC.md §9.5), checked before hashing.
///
/// Rationale: a valid proof has at most 63 hashes per leaf (one audit path each, at most 63 long
/// below [`MAX_TREE_SIZE`]) and fewer where paths share subtrees, so `63 × leaves` is the bound
/// that follows from [`MAX_MULTIPROOF_LEAVES`]; it is capped at 2^20 (32 MiB of hashes), more
/// than a [`MAX_NODE_BYTES`] JSON document can hold (~357 000 base64 hashes). A writer whose
/// leaves need more splits them into several proofs. SPEC floor: 16 384 (with 4 096 indices
/// still inside the 1 MiB JSON floor).
pub const MAX_MULTIPROOF_HASHES: usize = 1 << 20;

/// Largest opaque `extra` value in a C2SP tlog-proof, in bytes after base64 decoding
/// (SPEC.md §9.6).
///
/// Rationale: Evidence Ledger packs put a NodeId string there (71 bytes); other uses named by
/// C2SP (a VRF proof, out-of-band context) are a few hundred bytes. SPEC floor: 1 KiB.
pub const MAX_TLOG_PROOF_EXTRA_BYTES: usize = 8 * 1024;

/// Largest C2SP tlog-proof text in bytes (SPEC.md §9.6), checked before anything else.
///
/// Rationale: a checkpoint of [`MAX_NOTE_BYTES`] plus the longest proof part (header, `extra`
/// of [`MAX_TLOG_PROOF_EXTRA_BYTES`] in base64, index, [`MAX_PROOF_HASHES`] hash lines; under
/// 17 KiB) fits. SPEC floor: 16 KiB.
pub const MAX_TLOG_PROOF_BYTES: usize = MAX_NOTE_BYTES + 32 * 1024;

/// Most inputs one `score.manifest/v1` may list (SPEC.md §2.3, §15.8).
///
/// Rationale: a scoring run names an SBOM, rules, a policy and a handful of feed snapshots;
/// 1 024 leaves room for per-component inputs while a proof bundle over them (one inclusion
/// proof of ≤ 10 hashes plus a name per input, ~2 MiB at the name limit) stays far inside
/// [`MAX_NODE_BYTES`]. SPEC floor: 256.
pub const MAX_MANIFEST_INPUTS: usize = 1024;

/// Longest manifest input `name`, in bytes (SPEC.md §2.3, §15.8).
///
/// Rationale: names are labels or file names (`sbom`, `feeds/nvd-2026-03-01.json`); the same
/// bound as [`MAX_VEX_ID_BYTES`], so a purl or a path fits. SPEC floor: 256.
pub const MAX_MANIFEST_NAME_BYTES: usize = 1024;

/// Longest manifest input `kind` and bundle result `kind`, in bytes (SPEC.md §2.3, §15.8).
///
/// Rationale: kinds are short tags (`sbom`, `feed`, `vex.consensus`) or media types, well under
/// 100 bytes. SPEC floor: 64.
pub const MAX_MANIFEST_KIND_BYTES: usize = 128;
