//! What both redb layouts (`redb_store`, `v2::redb`) share below the backend: the conversion of
//! engine errors into [`StoreError`] kinds and the tables common to both formats. Its own module
//! so that neither layout imports the other's internals in both directions.

use super::StoreError;
use redb::TableDefinition;

/// Redacted leaf index → leaf index of its `redaction/v1` record (SPEC.md §3.4).
pub(crate) const REDACTIONS: TableDefinition<u64, u64> = TableDefinition::new("redactions");

/// A redb error as the [`StoreError`] kind callers act on.
pub(crate) fn e(err: impl Into<redb::Error>) -> StoreError {
    use redb::Error as R;
    match err.into() {
        R::Corrupted(m) => StoreError::Damaged(m),
        R::Io(io) => io_error(io),
        R::PreviousIo => StoreError::Unavailable(
            "an earlier I/O error (for example a full disk) closed the store until it is reopened".into(),
        ),
        R::DatabaseAlreadyOpen => StoreError::Unavailable("the store is in use by another process".into()),
        R::LockPoisoned(_) | R::TransactionPoisoned => StoreError::Damaged(
            "an earlier failure of the storage engine left this handle unusable; reopen the store".into(),
        ),
        R::RepairAborted => StoreError::Unavailable(
            "the store was not closed cleanly and needs the engine's repair, which a read-only open does not run".into(),
        ),
        R::UpgradeRequired(v) => {
            StoreError::Other(format!("the file is in redb file format {v}, which this version does not read"))
        }
        other => StoreError::Other(other.to_string()),
    }
}

/// An I/O error as a [`StoreError`]: a full disk or quota is [`StoreError::Full`].
pub(crate) fn io_error(io: std::io::Error) -> StoreError {
    use std::io::ErrorKind;
    // ENOSPC = 28, EDQUOT = 122 on Linux (redb may wrap them without a kind).
    if matches!(io.kind(), ErrorKind::StorageFull | ErrorKind::QuotaExceeded)
        || matches!(io.raw_os_error(), Some(28 | 122))
    {
        StoreError::Full(io.to_string())
    } else {
        StoreError::Other(format!("I/O: {io}"))
    }
}
