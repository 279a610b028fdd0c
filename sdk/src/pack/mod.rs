//! Evidence packs and compliance exports: files that prove themselves offline (SPEC.md §9).
//!
//! A pack is a zstd frame holding a strict ustar archive ([`tar`]) whose last entry is a signed
//! manifest ([`manifest`]). An *evidence* pack carries nodes with their inclusion proofs at one
//! anchor and the anchor chain back to a trust point; an *export* carries every leaf between two
//! anchors, in chunks, with what proves that none was left out ([`export`]). [`PackVerifier`]
//! checks either, streaming: the caller feeds entries one at a time, so memory stays flat for an
//! export of any size. A *backup* ([`backup`]) is an export of every leaf up to a signed
//! checkpoint, with every stored anchor and checkpoint, from which a restore rebuilds a store.
//! Pure: the caller reads files and decompresses ([`decompress`] does it in memory for callers
//! with the whole file).

pub mod backup;
pub mod compress;
pub mod evidence;
pub mod export;
pub mod manifest;
mod report;
pub mod stream;
pub mod tar;
mod verify;

pub use compress::decompress;
pub use report::{
    ConsensusCheck, ExportReport, NodeReport, NodeRole, PackKind, PackReport, ProofKind, TrustSource,
};
pub use stream::{for_each_entry, verify_pack_reader};
pub use verify::PackVerifier;

use crate::TrustRoot;
use crate::code::ErrorCode;
use crate::verified::Verified;

/// What a file handed to a verifier is, judged from its first bytes ([`sniff`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    /// A JSON document (a `proof.bundle/v1` node, §15): the first byte that is not JSON white
    /// space is `{`.
    Json,
    /// Anything else is read as a pack (§9.1), and its verification says what is wrong with
    /// it: an empty file, gzip, a plain tar or a leading skippable zstd frame is
    /// `PACK_MALFORMED`, never a JSON error.
    Pack,
}

/// The one rule for what a file is ([`FileKind`]): `head` is its first bytes (any number; 64
/// is plenty).
pub fn sniff(head: &[u8]) -> FileKind {
    match head.iter().find(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r')) {
        Some(b'{') => FileKind::Json,
        _ => FileKind::Pack,
    }
}

/// Media type of a pack file (`.tar.zst`).
pub const PACK_MEDIA_TYPE: &str = "application/vnd.evidence-ledger.pack.v1+tar+zstd";

/// Most entries one archive may hold.
///
/// Rationale: an evidence pack of [`MAX_PACK_NODES`] nodes has up to three entries per node; an
/// export chunk has two; the manifest must list them all within
/// [`manifest::MAX_MANIFEST_BYTES`]. SPEC floor: 65 536.
pub const MAX_PACK_ENTRIES: usize = 65_536;

/// Largest single entry in bytes.
///
/// Rationale: an export chunk closes at [`export::CHUNK_TARGET_BYTES`] (8 MiB) plus at most one
/// node of `MAX_NODE_BYTES` (16 MiB); every entry is read whole by a streaming verifier, so this
/// bounds its memory. SPEC floor: 32 MiB.
pub const MAX_ENTRY_BYTES: u64 = 32 * 1024 * 1024;

/// Most nodes an evidence pack may carry.
///
/// Rationale: an evidence pack is verified in memory (links, consensus replay) and its manifest
/// lists up to three entries per node; 20 000 nodes of typical size need ~40 MB and a ~9 MB
/// manifest. Larger slices are exports. SPEC floor: 10 000.
pub const MAX_PACK_NODES: usize = 20_000;

/// Largest decompressed archive [`decompress`] produces, for callers holding the whole pack in
/// memory (a streaming verifier has no total limit).
///
/// Rationale: fits comfortably in a wasm32 address space; guards against decompression bombs.
pub const MAX_INMEMORY_PACK_BYTES: usize = 1024 * 1024 * 1024;

/// Why a pack did not verify: a stable code, the entry it concerns and a message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {}{message}", path.as_deref().map(|p| format!("{p}: ")).unwrap_or_default())]
pub struct PackError {
    code: ErrorCode,
    path: Option<String>,
    message: String,
}

impl PackError {
    pub(crate) fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            path: None,
            message: message.into(),
        }
    }
    /// An error with a code and message, for readers that drive [`PackVerifier`] from I/O.
    pub fn new_public(code: ErrorCode, message: impl Into<String>) -> Self {
        Self::new(code, message)
    }
    pub(crate) fn at(code: ErrorCode, path: &str, message: impl Into<String>) -> Self {
        Self {
            code,
            path: Some(path.to_owned()),
            message: message.into(),
        }
    }
    /// The stable code.
    pub fn code(&self) -> ErrorCode {
        self.code
    }
    /// The pack entry concerned, if one is.
    pub fn path(&self) -> Option<&str> {
        self.path.as_deref()
    }
    /// Detail.
    pub fn message(&self) -> &str {
        &self.message
    }
}

/// SPEC.md §9.1 rule 2: a path is 1–100 bytes of `[a-z0-9._-]` segments separated by `/`, each
/// segment starting with a letter or digit (so no `.`, `..`, empty or absolute segments).
pub fn valid_path(path: &str) -> bool {
    !path.is_empty()
        && path.len() <= 100
        && path.split('/').all(|seg| {
            seg.as_bytes()
                .first()
                .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
                && seg
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-'))
        })
}

impl TrustRoot {
    /// Verifies a whole pack file held in memory (`.tar.zst` bytes) against this trust root
    /// (SPEC.md §9.7). The pack's own `trust-root.json` is then only integrity-checked.
    pub fn verify_pack(&self, pack: &[u8]) -> Result<Verified<PackReport>, PackError> {
        verify_in_memory(Some(self.clone()), pack)
    }
}

/// Verifies a pack held in memory against the trust root it carries itself. This proves the
/// pack is internally consistent, not that it comes from the log you mean: pin the trust root
/// with [`TrustRoot::verify_pack`] for that. The report says which was used.
pub fn verify_pack_self_contained(pack: &[u8]) -> Result<Verified<PackReport>, PackError> {
    verify_in_memory(None, pack)
}

fn verify_in_memory(trust: Option<TrustRoot>, pack: &[u8]) -> Result<Verified<PackReport>, PackError> {
    let mut v = PackVerifier::new(trust);
    stream::for_each_entry(pack, &mut |path, data, read| {
        if read > MAX_INMEMORY_PACK_BYTES as u64 {
            return Err(PackError::new(
                ErrorCode::PackMalformed,
                format!("archive larger than {MAX_INMEMORY_PACK_BYTES} bytes"),
            ));
        }
        v.entry(path, data)
    })?;
    v.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        for ok in [
            "manifest.json",
            "nodes/ab12.json",
            "log/00000000000000000000.leaves.jsonl",
            "a-b_c.d",
        ] {
            assert!(valid_path(ok), "{ok}");
        }
        for bad in [
            "",
            "/a",
            "a//b",
            "../a",
            "a/../b",
            ".hidden",
            "A.json",
            "a/",
            "a b",
            &"x".repeat(101),
        ] {
            assert!(!valid_path(bad), "{bad}");
        }
    }
}
