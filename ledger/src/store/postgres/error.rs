//! PostgreSQL failures as [`StoreError`] kinds, by SQLSTATE. Messages carry the server's
//! message and code, never the connection string (which may hold a password).

use crate::store::StoreError;
use postgres::error::SqlState;

/// Raised by the schema's trigger when the log's state would move backwards.
pub(super) const EV_BACKWARDS: &str = "EV001";
/// Raised by `evl_redact` when a leaf has no content or no record.
pub(super) const EV_NO_CONTENT: &str = "EV002";
/// Raised by the repair functions for a position beyond the tree.
pub(super) const EV_BEYOND: &str = "EV003";

/// The store error for a client or server failure.
pub(super) fn pg(e: postgres::Error) -> StoreError {
    let Some(db) = e.as_db_error() else {
        // No server answer: the connection failed or closed (a server that stopped, a
        // failover, a network fault). The writer reports it and probes again.
        return StoreError::Unavailable(format!("PostgreSQL connection: {e}"));
    };
    let msg = format!("PostgreSQL {}: {}", db.code().code(), db.message());
    let code = db.code();
    match code.code() {
        EV_BACKWARDS | EV_NO_CONTENT | EV_BEYOND => return StoreError::Invalid(msg),
        _ => {}
    }
    if *code == SqlState::DISK_FULL
        || *code == SqlState::INSUFFICIENT_RESOURCES
        || *code == SqlState::PROGRAM_LIMIT_EXCEEDED
    {
        StoreError::Full(msg)
    } else if *code == SqlState::DATA_CORRUPTED || *code == SqlState::INDEX_CORRUPTED {
        StoreError::Damaged(msg)
    } else if *code == SqlState::READ_ONLY_SQL_TRANSACTION
        || *code == SqlState::ADMIN_SHUTDOWN
        || *code == SqlState::CRASH_SHUTDOWN
        || *code == SqlState::CANNOT_CONNECT_NOW
        || *code == SqlState::CONNECTION_FAILURE
        || *code == SqlState::TOO_MANY_CONNECTIONS
        || *code == SqlState::T_R_SERIALIZATION_FAILURE
        || *code == SqlState::T_R_DEADLOCK_DETECTED
        || *code == SqlState::LOCK_NOT_AVAILABLE
        || *code == SqlState::QUERY_CANCELED
    {
        StoreError::Unavailable(msg)
    } else if *code == SqlState::UNIQUE_VIOLATION
        || *code == SqlState::CHECK_VIOLATION
        || *code == SqlState::FOREIGN_KEY_VIOLATION
    {
        StoreError::Invalid(msg)
    } else {
        StoreError::Other(msg)
    }
}

/// A column that cannot be read as the type this build expects: the schema was changed
/// under the store (damage, or another program's hand).
pub(super) fn col(e: postgres::Error) -> StoreError {
    StoreError::Damaged(format!(
        "a column does not read as expected ({e}); the evl schema was changed"
    ))
}

/// A stored integer that must not be negative.
pub(super) fn unsigned(v: i64, what: &str) -> Result<u64, StoreError> {
    u64::try_from(v).map_err(|_| StoreError::Damaged(format!("{what} is negative ({v})")))
}

/// A position as the database's `bigint`.
pub(super) fn signed(v: u64, what: &str) -> Result<i64, StoreError> {
    i64::try_from(v).map_err(|_| StoreError::Invalid(format!("{what} {v} is beyond a bigint")))
}
