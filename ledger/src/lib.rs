//! Evidence Ledger storage.
