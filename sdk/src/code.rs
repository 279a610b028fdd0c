//! The stable error-code registry (SPEC.md §12).
//!
//! Every error any layer reports maps to exactly one [`ErrorCode`]. The strings are part of the
//! wire format: tools match on them, so a code is never renamed or reused.

use core::fmt;

macro_rules! codes {
    ($($(#[$doc:meta])* $variant:ident => $text:literal,)*) => {
        /// A stable, machine-readable error code (SPEC.md §12).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum ErrorCode {
            $($(#[$doc])* $variant,)*
        }

        impl ErrorCode {
            /// Every registered code, in registry order.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant,)*];

            /// The stable string, e.g. `"MERKLE_MISMATCH"`.
            pub const fn as_str(self) -> &'static str {
                match self { $(ErrorCode::$variant => $text,)* }
            }
        }
    };
}

codes! {
    /// Input is not valid JSON text (syntax error, trailing data).
    JsonSyntax => "JSON_SYNTAX",
    /// Input bytes are not valid UTF-8, or a `\u` escape encodes a lone surrogate.
    InvalidUtf8 => "INVALID_UTF8",
    /// An object has the same member name twice.
    DuplicateKey => "DUPLICATE_KEY",
    /// A number is outside I-JSON: its magnitude exceeds 2^53−1 (an integer literal compared
    /// exactly, any other number after rounding to the nearest double), or it overflows or
    /// underflows an IEEE-754 double.
    NumberOutOfRange => "NUMBER_OUT_OF_RANGE",
    /// Nesting deeper than `limits::MAX_JSON_DEPTH`.
    TooDeep => "JSON_TOO_DEEP",
    /// A JSON document, or its canonical form, larger than `limits::MAX_NODE_BYTES`. Formats
    /// with their own, smaller size limit report exceeding it with their own code
    /// (`NOTE_MALFORMED`, `ENVELOPE_MALFORMED`; SPEC.md §2.3).
    TooLarge => "TOO_LARGE",
    /// Bytes that must be canonical (RFC 8785) are not.
    NonCanonicalJson => "NONCANONICAL_JSON",
    /// A node is not an object, lacks `type`, or breaks a node rule.
    NodeInvalid => "NODE_INVALID",
    /// A node's `type` is neither registered nor in the `x-` private namespace.
    TypeUnknown => "TYPE_UNKNOWN",
    /// A NodeId string is malformed.
    NodeIdMalformed => "NODE_ID_MALFORMED",
    /// Content does not hash to the NodeId it was presented under.
    NodeIdMismatch => "NODE_ID_MISMATCH",
    /// A Merkle proof is structurally invalid (wrong length, index ≥ size, bad encoding).
    ProofMalformed => "PROOF_MALFORMED",
    /// A Merkle proof is well formed but does not reproduce the trusted root.
    MerkleMismatch => "MERKLE_MISMATCH",
    /// A signed note or checkpoint is malformed.
    NoteMalformed => "NOTE_MALFORMED",
    /// A verifier key string (vkey) or public key is malformed.
    KeyMalformed => "KEY_MALFORMED",
    /// A DSSE envelope is malformed.
    EnvelopeMalformed => "ENVELOPE_MALFORMED",
    /// A signature does not verify under the key it names.
    SignatureInvalid => "SIGNATURE_INVALID",
    /// No trusted key matches the signature's key ID / name.
    KeyUnknown => "KEY_UNKNOWN",
    /// The key was not valid at the time that matters (outside `not_before`..`not_after`).
    KeyExpired => "KEY_EXPIRED",
    /// The key is marked revoked in the trust root.
    KeyRevoked => "KEY_REVOKED",
    /// A trust-root file is malformed.
    TrustRootInvalid => "TRUST_ROOT_INVALID",
    /// A timestamp is not `YYYY-MM-DDTHH:MM:SSZ`.
    TimeMalformed => "TIME_MALFORMED",
    /// A checkpoint, anchor or proof names a different log origin than the trusted one.
    OriginMismatch => "ORIGIN_MISMATCH",
    /// An anchor payload is malformed.
    AnchorMalformed => "ANCHOR_MALFORMED",
    /// An anchor's `prev` link or sequence number does not continue the chain.
    ChainBroken => "CHAIN_BROKEN",
    /// A later anchor or checkpoint has a smaller tree size than an earlier one.
    TreeShrank => "TREE_SHRANK",
    /// A receipt is malformed or internally inconsistent.
    ReceiptInvalid => "RECEIPT_INVALID",
    /// Fork evidence is malformed or does not show a fork.
    ForkEvidenceInvalid => "FORK_EVIDENCE_INVALID",
    /// A `vex.statement/v1`, `vex.policy/v1`, `vex.issuers/v1` or `vex.consensus/v1` node breaks
    /// its schema (SPEC.md §14), or a consensus input exceeds a limit.
    VexInvalid => "VEX_INVALID",
    /// Recomputing a consensus node from its recorded inputs gives different bytes (SPEC.md §14.8).
    ConsensusMismatch => "CONSENSUS_MISMATCH",
    /// A pack or export container is malformed: not a zstd frame, a tar header or path that
    /// breaks SPEC.md §9.1, entries out of order, a limit exceeded, or a malformed manifest.
    PackMalformed => "PACK_MALFORMED",
    /// A pack has no `manifest.json`, or a file its manifest lists is absent.
    ManifestMissing => "MANIFEST_MISSING",
    /// A pack file's SHA-256 or size differs from its manifest entry, a file is not listed, or
    /// the entries are not in manifest order.
    ManifestMismatch => "MANIFEST_MISMATCH",
    /// A pack or export lacks what its own declaration requires: a linked node of a pack with
    /// dependencies, a node its filter includes, a proof for a node it carries.
    PackIncomplete => "PACK_INCOMPLETE",
    /// A `score.manifest/v1` or `proof.bundle/v1` node breaks its rules (SPEC.md §15).
    BundleInvalid => "BUNDLE_INVALID",
    /// A node's stored content is damaged and the log has recorded it in a `corruption/v1` node
    /// (SPEC.md §3.5); the message names that node. Reads of the content fail with this code.
    Corrupted => "CORRUPTED",
    /// A node's content was deleted by the log and the deletion recorded in a `redaction/v1` node
    /// (SPEC.md §3.4); the message names that node. The node's leaf and every proof remain; reads
    /// of the content fail with this code.
    Redacted => "REDACTED",
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for ErrorCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}
