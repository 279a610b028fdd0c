//! # evl-ledger: the Evidence Ledger log
//!
//! Durable storage ([`store::Store`], redb by default), append with dedup and group commit
//! ([`Ledger`]), proofs and checkpoints ([`LedgerReader`]), the anchor chain, and integrity
//! verification ([`verify`]). The API is synchronous; callers on an async runtime run it on
//! blocking threads.
//!
//! Every hash, canonicalization and proof rule comes from `evl-sdk`; this crate only stores
//! and sequences. [`vex`] appends the statement nodes that `evl-vex` reads from OpenVEX, CSAF and
//! CycloneDX documents and records consensus nodes computed by `evl_sdk::vex`. It does not
//! parse VEX documents itself (that is `evl-vex`, re-exported in [`vex`]) and does not serve HTTP.

// The layers, bottom-up (each module uses only modules above it in this list; the test
// `tests/tests/import_cycles.rs` fails on a cycle):
// store → state, records, time, source, answer → reader → writer → chain →
// integrity, retention, pack, recovery, vex.
mod answer;
mod chain;
pub mod error;
pub mod integrity;
pub mod keyfile;
pub mod pack;
pub mod profile;
mod reader;
mod records;
pub mod recovery;
pub mod retention;
mod source;
mod state;
pub mod store;
pub mod time;
pub mod vex;
mod writer;

/// The integrity check under its former name (`evl_ledger::verify::verify`).
pub use integrity as verify;

pub use answer::{id_map_fallbacks, refused_answers};
pub use chain::MAX_CLOCK_SKEW_SECS;
pub use error::{LedgerError, Next};
pub use evl_sdk;
pub use reader::{AsOfAnchor, ChainFailure, ChainReport, LedgerReader, StoredAnchor};
pub use state::{STORE_FORMAT, store_origin};
pub use writer::{AnchorPolicy, AppendOutcome, Ledger};
