//! VEX on the log. Reading documents is the pure crate `evl-vex` (OpenVEX 0.2.0 and legacy
//! 0.0.1, CSAF 2.0 VEX profile, CycloneDX 1.4–1.6; docs/vex-ingest.md); its items are
//! re-exported here, so [`ingest`], [`Ingested`], [`IngestError`], [`Finding`] and the rest keep
//! their `evl_ledger::vex` paths. [`ingest`] stores nothing; the functions of [`ops`] put
//! ingest and the consensus of `evl_sdk::vex` on the log ([`ingest_and_append`],
//! [`compute_consensus`], [`consensus_history`], [`replay_from_log`]).

pub mod ops;

pub use evl_vex::{
    BLOB_MEDIA_TYPE, Finding, FindingCode, IngestError, Ingested, MAX_COVERAGE_PAIRS, MAX_STATEMENTS,
    STATEMENT_TYPE, VexFormat, ingest, parse_as_of,
};
pub use ops::{
    IngestReceipts, RecordedConsensus, ReplayedConsensus, compute_consensus, consensus_history,
    ingest_and_append, replay_from_log,
};
