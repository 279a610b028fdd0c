//! The ledger's clock (the SDK has none).

use evl_sdk::Timestamp;

/// Largest second `Timestamp` accepts (9999-12-31T23:59:59Z).
const MAX_UNIX: i64 = 253_402_300_799;

/// Now, to the second (clamped into `Timestamp`'s range).
#[allow(clippy::expect_used)]
pub fn now() -> Timestamp {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    // Clamped into 0..=MAX_UNIX, which from_unix always accepts.
    Timestamp::from_unix(secs.clamp(0, MAX_UNIX)).expect("clamped into range")
}
