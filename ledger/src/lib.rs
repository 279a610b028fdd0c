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

mod answer;
pub mod error;
pub mod keyfile;
mod ledger;
pub mod pack;
mod reader;
pub mod recovery;
pub mod retention;
mod source;
pub mod store;
pub mod time;
pub mod verify;
pub mod vex;

pub use answer::refused_answers;
pub use error::LedgerError;
pub use evl_sdk;
pub use ledger::{AnchorPolicy, AppendOutcome, Ledger, MAX_CLOCK_SKEW_SECS, STORE_FORMAT, store_origin};
pub use reader::{AsOfAnchor, ChainFailure, ChainReport, LedgerReader, StoredAnchor};
