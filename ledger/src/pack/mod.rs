//! Evidence packs, compliance exports and backups (SPEC.md §9): writing them from a ledger,
//! reading pack files for verification with the SDK's streaming verifier, and restoring
//! backups into a new store ([`restore`]).
//!
//! Writing needs the signing key (the manifest is signed), so the exporters are methods on
//! [`crate::Ledger`]. Every format rule lives in `evl_sdk::pack`; this module does the I/O.

mod backup;
mod evidence;
mod range;
mod restore;
mod write;

pub use backup::{BackupRange, BackupRequest};
pub use evidence::EvidenceRequest;
pub(crate) use evl_sdk::pack::for_each_entry;
/// The SDK's streaming pack verifier (`evl_sdk::pack::verify_pack_reader`), re-exported.
pub use evl_sdk::pack::verify_pack_reader;
pub use range::{ExportRange, ExportRequest};
pub use restore::{BULK_BATCH_BYTES, Cut, RestoreReport, RestoreRequest, RestoredFile, restore};
pub use write::PackSummary;

use crate::error::LedgerError;
use crate::reader::LedgerReader;
use crate::store::{Snapshot, SnapshotSource, Store};
use evl_sdk::anchor::AnchorSummary;
use evl_sdk::{TreeSize, prove_consistency};

/// The anchors a pack carries: the verified chain from `trust_point` to `last` (inclusive), as
/// (seq, envelope bytes, tree size) with the consistency proof entries between them.
pub(crate) fn chain_entries<S: Store>(
    reader: &LedgerReader<S>,
    snap: &S::Snapshot,
    first: u64,
    last: u64,
) -> Result<Vec<(String, Vec<u8>)>, LedgerError> {
    let chain = verified_chain(reader)?;
    let pos = |seq: u64| chain.iter().position(|a| a.seq == seq);
    let (Some(a), Some(b)) = (pos(first), pos(last)) else {
        return Err(LedgerError::NotFound(format!(
            "anchors {first} and {last} must both be in the verified anchor chain"
        )));
    };
    if a > b {
        return Err(LedgerError::OutOfRange(format!(
            "anchor {first} comes after anchor {last}"
        )));
    }
    let mut out = Vec::new();
    let mut prev: Option<&AnchorSummary> = None;
    for s in &chain[a..=b] {
        let bytes = snap
            .anchor(s.seq)?
            .ok_or_else(|| LedgerError::NotFound(format!("anchor {} is not stored", s.seq)))?;
        out.push((format!("anchors/{:020}.json", s.seq), bytes));
        if let Some(q) = prev
            && q.tree_size > TreeSize::ZERO
            && q.tree_size < s.tree_size
        {
            let p = prove_consistency(&SnapshotSource(snap), q.tree_size, s.tree_size)?;
            out.push((format!("consistency/{:020}.json", s.seq), p.to_json()));
        }
        prev = Some(s);
    }
    out.sort();
    Ok(out)
}

/// The verified anchor chain (SPEC.md §7.2), failing if the stored chain is broken.
pub(crate) fn verified_chain<S: Store>(reader: &LedgerReader<S>) -> Result<Vec<AnchorSummary>, LedgerError> {
    let report = reader.verify_anchor_chain()?;
    if let Some(f) = report.failure {
        return Err(LedgerError::Integrity {
            code: evl_sdk::ErrorCode::ChainBroken,
            message: format!(
                "the stored anchor chain does not verify at anchor {} ({}: {})",
                f.seq, f.code, f.message
            ),
        }
        .advise(crate::Next::VerifyFull));
    }
    if report.verified.is_empty() {
        return Err(
            LedgerError::NotFound("this ledger has no anchor yet".into()).advise(crate::Next::AnchorCreate)
        );
    }
    Ok(report.verified)
}

/// Picks an anchor of the chain: `seq` if given, else the latest.
pub(crate) fn pick(chain: &[AnchorSummary], seq: Option<u64>) -> Result<AnchorSummary, LedgerError> {
    match seq {
        None => chain
            .last()
            .cloned()
            .ok_or_else(|| LedgerError::NotFound("no anchor".into())),
        Some(s) => {
            chain.iter().find(|a| a.seq == s).cloned().ok_or_else(|| {
                LedgerError::NotFound(format!("anchor {s} is not in the verified anchor chain"))
            })
        }
    }
}

/// Reads a snapshot of the checkpoint text of an anchor (the proving anchor's, for tlog-proofs).
pub(crate) fn anchor_checkpoint(snap: &impl Snapshot, seq: u64) -> Result<String, LedgerError> {
    let bytes = snap
        .anchor(seq)?
        .ok_or_else(|| LedgerError::NotFound(format!("anchor {seq} is not stored")))?;
    let a = evl_sdk::Anchor::from_json(&bytes).map_err(|e| LedgerError::Integrity {
        code: e.code(),
        message: format!("stored anchor {seq}: {e}"),
    })?;
    Ok(a.payload().checkpoint.clone())
}

/// The manifest's `time` (SPEC.md §9.2): the last anchor's time, or the signing key's
/// `not_before` if that is later (a pack proving at an anchor made before a key rotation is
/// signed by the new key, which was not valid yet at the anchor's time).
pub(crate) fn manifest_time<S: Store>(
    ledger: &crate::Ledger<S>,
    anchor_time: evl_sdk::Timestamp,
) -> evl_sdk::Timestamp {
    let public = ledger.signing_key().public();
    ledger
        .trust_root()
        .find(public.name(), public.id())
        .map_or(anchor_time, |k| anchor_time.max(k.not_before()))
}
