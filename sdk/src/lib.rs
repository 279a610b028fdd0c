//! # evl-sdk: Evidence Ledger formats and offline verifier
//!
//! Everything a verifier needs to check Evidence Ledger data with no network and no trust in
//! the server: canonical JSON (RFC 8785) with strict I-JSON parsing, NodeIds, the RFC 6962 /
//! RFC 9162 Merkle log (roots, inclusion and consistency proofs), C2SP signed checkpoints,
//! DSSE envelopes, the anchor chain, fork evidence and trust roots, and the deterministic VEX
//! consensus `vex-consensus/1` with its offline replay ([`vex`]). Each rule is implemented once,
//! here, and cites its section of `SPEC.md`.
//!
//! What it does not do: no I/O, no clock, no randomness, no logging, no key generation. Times,
//! keys and trust policy are arguments. It builds for `wasm32-unknown-unknown`. The HTTP
//! client for the ledger API, which verifies every response with this crate, is the separate
//! crate `evl-client`.
//!
//! Verification is a method on the trusted value (a [`TrustRoot`] or a [`TreeHead`]) and
//! returns [`Verified`] evidence; every failure has a stable [`ErrorCode`].
//!
//! ```
//! use evl_sdk::{MemoryTree, Node, TreeHead, prove_inclusion};
//!
//! let node = Node::from_json(br#"{"type":"blob/v1","data":"hello"}"#).unwrap();
//! let mut tree = MemoryTree::new();
//! let index = tree.push(node.id().leaf_hash());
//! let head = TreeHead::new(tree.size(), tree.root());
//! let proof = prove_inclusion(&tree, index, tree.size()).unwrap();
//! let evidence = head.verify_inclusion(&node.id().leaf_hash(), &proof).unwrap();
//! assert_eq!(evidence.index, index);
//! ```

pub mod anchor;
pub mod b64;
pub mod bundle;
pub mod checkpoint;
pub mod code;
pub mod corruption;
pub mod dsse;
pub mod fork;
pub mod hash;
pub mod jcs;
pub mod limits;
pub mod multiproof;
pub mod node;
pub mod note;
pub mod pack;
pub mod proof;
pub mod receipt;
pub mod redaction;
pub mod time;
pub mod tlog_proof;
pub mod tree;
pub mod trust;
pub mod verified;
pub mod vex;

pub use anchor::{Anchor, AnchorError, AnchorPayload, AnchorSummary, ArchivedLink, ChainEvidence};
pub use bundle::{BundleError, BundleReport, ManifestInput, ProofBundle, ScoreManifest};
pub use checkpoint::{Checkpoint, CheckpointError, SignedCheckpoint};
pub use code::ErrorCode;
pub use dsse::{DsseError, Envelope, pae};
pub use fork::{ForkError, ForkEvidence};
pub use hash::{Digest, empty_root, leaf_hash, node_hash, sha256};
pub use jcs::{JsonError, canonicalize};
pub use multiproof::{MultiInclusion, MultiProof, multiproof_len, prove_multi};
pub use node::{Link, Node, NodeError, NodeId};
pub use note::{NoteError, PublicKey, SecretKey, SignedNote};
pub use proof::{Consistency, ConsistencyProof, Inclusion, InclusionProof, ProofError, TreeHead};
pub use receipt::{AppendResult, Receipt, ReceiptError, ReceiptEvidence};
pub use time::Timestamp;
pub use tlog_proof::{TlogProof, TlogProofError, TlogProofEvidence};
pub use tree::{
    Frontier, LeafIndex, MemoryTree, StoredHash, SubtreeSource, TreeSize, prove_consistency, prove_inclusion,
    range_hash, root,
};
pub use trust::{TrustError, TrustRoot, TrustedKey};
pub use verified::Verified;
