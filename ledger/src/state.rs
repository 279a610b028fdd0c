//! What readers and writers share: the store, the log's identity read from it, and the meta
//! keys and format tag of a store (docs/design.md, "Storage"). The bottom layer of the crate
//! above `store`.

use crate::error::{LedgerError, Next};
use crate::store::{Snapshot, Store};
use evl_sdk::TrustRoot;

/// The store format a new store gets unless it is made in the `evl-store/2` layout (meta key
/// `format`; each backend reports its own with `Snapshot::format`).
pub const STORE_FORMAT: &str = crate::store::FORMAT_1;

/// Meta keys.
pub(crate) mod meta {
    pub const FORMAT: &str = "format";
    pub const ORIGIN: &str = "origin";
    pub const TRUST_ROOT: &str = "trust_root";
}

/// What readers and writers share: the store and the log's identity.
pub(crate) struct Shared<S: Store> {
    pub(crate) store: S,
    pub(crate) origin: String,
    pub(crate) trust: TrustRoot,
}

/// The origin an initialized store belongs to (to find the key's name before opening a writer).
pub fn store_origin<S: Store>(store: &S) -> Result<String, LedgerError> {
    Ok(read_identity(&store.snapshot()?)?.0)
}

pub(crate) fn read_identity<Sn: Snapshot>(snap: &Sn) -> Result<(String, TrustRoot), LedgerError> {
    match snap.meta(meta::FORMAT)? {
        Some(f) if f == snap.format().as_bytes() => {}
        Some(f) => {
            return Err(LedgerError::Mismatch(format!(
                "store format {:?} is not {}, the format of this store's tables",
                String::from_utf8_lossy(&f),
                snap.format()
            )));
        }
        None => {
            return Err(LedgerError::Mismatch("the store is not initialized".into()).advise(Next::Init));
        }
    }
    let origin = snap
        .meta(meta::ORIGIN)?
        .and_then(|o| String::from_utf8(o).ok())
        .ok_or_else(|| LedgerError::Mismatch("store has no origin".into()))?;
    let trust = snap
        .meta(meta::TRUST_ROOT)?
        .ok_or_else(|| LedgerError::Mismatch("store has no trust root".into()))
        .and_then(|b| TrustRoot::from_json(&b).map_err(|e| LedgerError::Mismatch(e.to_string())))?;
    Ok((origin, trust))
}
