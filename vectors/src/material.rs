//! Fixed key material, times and leaves the vectors are built from. Test keys only.

use evl_sdk::{
    Checkpoint, MemoryTree, Node, SecretKey, SignedCheckpoint, Timestamp, TreeHead, TreeSize, TrustRoot,
    TrustedKey, sha256,
};

/// The log origin of the vectors.
pub const ORIGIN: &str = "example.org/evl-vectors";

/// A test key from a seed string.
pub fn key(name: &str, seed: &str) -> SecretKey {
    SecretKey::from_seed(name, sha256(seed.as_bytes()).as_bytes()).expect("valid test key name")
}

/// The current log key.
pub fn log_key() -> SecretKey {
    key(ORIGIN, "evl-vectors log key 2026")
}
/// A key that was valid only during 2025.
pub fn old_key() -> SecretKey {
    key(ORIGIN, "evl-vectors log key 2025")
}
/// A revoked key.
pub fn revoked_key() -> SecretKey {
    key(ORIGIN, "evl-vectors revoked key")
}
/// The next log key: trusted alongside [`log_key`] during a rotation.
pub fn next_key() -> SecretKey {
    key(ORIGIN, "evl-vectors next log key 2026")
}
/// A key nobody trusts.
pub fn stranger_key() -> SecretKey {
    key(ORIGIN, "evl-vectors stranger key")
}

/// Parses a fixed timestamp.
pub fn ts(s: &str) -> Timestamp {
    Timestamp::parse(s).expect("fixed timestamp")
}

/// The verification time used by checkpoint and receipt vectors.
pub const AT: &str = "2026-06-01T00:00:00Z";

/// The trust root every vector is checked against.
pub fn trust_root() -> TrustRoot {
    TrustRoot::new(
        ORIGIN,
        vec![
            TrustedKey::new(
                log_key().public().clone(),
                ts("2026-01-01T00:00:00Z"),
                None,
                false,
            ),
            TrustedKey::new(
                old_key().public().clone(),
                ts("2025-01-01T00:00:00Z"),
                Some(ts("2025-12-31T23:59:59Z")),
                false,
            ),
            TrustedKey::new(
                revoked_key().public().clone(),
                ts("2025-01-01T00:00:00Z"),
                None,
                true,
            ),
        ],
    )
    .expect("fixed trust root")
}

/// The trust root during a key rotation: [`trust_root`] plus [`next_key`], valid from 2026 too.
pub fn rotating_trust_root() -> TrustRoot {
    let mut keys = trust_root().keys().to_vec();
    keys.push(TrustedKey::new(
        next_key().public().clone(),
        ts("2026-01-01T00:00:00Z"),
        None,
        false,
    ));
    TrustRoot::new(ORIGIN, keys).expect("fixed trust root")
}

/// Leaf `i`: a small blob node.
pub fn node(i: u64) -> Node {
    Node::from_json(format!(r#"{{"type":"blob/v1","media_type":"text/plain","data":"leaf {i}"}}"#).as_bytes())
        .expect("fixed node")
}

/// Number of leaves in the vector log.
pub const LEAVES: u64 = 37;

/// The vector log.
pub fn tree() -> MemoryTree {
    MemoryTree::from_leaf_hashes((0..LEAVES).map(|i| node(i).id().leaf_hash()))
}

/// The tree size newtype.
pub fn size(n: u64) -> TreeSize {
    TreeSize::new(n).expect("small size")
}

/// The head at size `n`.
pub fn head(t: &MemoryTree, n: u64) -> TreeHead {
    TreeHead::new(size(n), t.root_at(size(n)).expect("size within tree"))
}

/// A checkpoint at size `n` signed by `k`.
pub fn checkpoint(t: &MemoryTree, n: u64, k: &SecretKey) -> SignedCheckpoint {
    Checkpoint::new(ORIGIN, head(t, n))
        .and_then(|c| c.sign(k))
        .expect("fixed checkpoint")
}
