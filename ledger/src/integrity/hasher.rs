//! Step 1's content hashing on a second core. The reading thread (store reads, the store's own
//! checksums, copies out of the engine) and SHA-256 of the content each take about half of a
//! full verify; the reader hands the content over in chunks of consecutive leaves and a thread
//! per chunk computes the NodeIds while the next chunk is read. Results come back in leaf
//! order, so what the verifier reports does not depend on the threads.

use super::offload::Offloaded;
use evl_sdk::{Digest, NodeId};
use std::collections::VecDeque;
use std::sync::Arc;

/// Content bytes handed to one hashing thread: large enough that starting a thread per chunk
/// costs little (about 2 ms of SHA-256 against tens of µs to start a thread), small enough
/// that the chunks in flight (at most [`IN_FLIGHT`] and the one filling, each allocated once
/// at this size) add a few MiB to the verifier's peak memory whatever the tree size.
const CHUNK_BYTES: usize = 2 << 20;

/// Room past [`CHUNK_BYTES`] in each chunk's buffer, so that the node that crosses the limit
/// does not double the buffer (nodes are about 1 KB; a larger one only grows its chunk).
const SLACK: usize = 64 << 10;

/// Chunks dispatched and not yet collected, beyond which the reader waits. Reading and hashing
/// a chunk take about the same time; a few in flight absorb their uneven pace (2 in flight
/// left both threads about 70 % busy under `perf`), and each holds only [`CHUNK_BYTES`].
const IN_FLIGHT: usize = 4;

/// The contents of consecutive leaves, back to back.
struct Chunk {
    /// What [`hash`] looks for in each content.
    needle: &'static [u8],
    bytes: Vec<u8>,
    /// (leaf, end offset in `bytes`), in leaf order.
    leaves: Vec<(u64, usize)>,
}

impl Chunk {
    /// An empty chunk with room for `bytes` of content and a node more of up to
    /// [`SLACK`] bytes (a larger one grows it).
    fn with_capacity(bytes: usize, needle: &'static [u8]) -> Self {
        Self {
            needle,
            bytes: Vec::with_capacity(bytes + SLACK),
            leaves: Vec::new(),
        }
    }

    fn iter(&self) -> impl Iterator<Item = (u64, &[u8])> {
        let mut start = 0;
        self.leaves.iter().filter_map(move |&(leaf, end)| {
            let b = self.bytes.get(start..end)?;
            start = end;
            Some((leaf, b))
        })
    }
}

/// Per leaf: its NodeId, its leaf hash, and whether its bytes contain the needle.
type Hashes = Vec<(NodeId, Digest, bool)>;

fn hash(chunk: &Chunk) -> Hashes {
    chunk
        .iter()
        .map(|(_, b)| {
            let id = NodeId::of_canonical(b);
            (id, id.leaf_hash(), crate::records::contains(b, chunk.needle))
        })
        .collect()
}

/// What a leaf's content hashed to.
pub(super) struct Hashed<'b> {
    /// The leaf.
    pub leaf: u64,
    /// Its content.
    pub bytes: &'b [u8],
    /// The content's NodeId.
    pub id: NodeId,
    /// The NodeId's leaf hash.
    pub leaf_hash: Digest,
    /// Whether the needle occurs in the content.
    pub has_needle: bool,
}

/// Called with each leaf's [`Hashed`], in the order the leaves were added.
pub(super) type Done<'a> = dyn FnMut(Hashed<'_>) + 'a;

/// Hashes leaf contents on other threads and returns the results in the order they were added.
pub(super) struct Hasher {
    needle: &'static [u8],
    chunk_bytes: usize,
    filling: Chunk,
    in_flight: VecDeque<Offloaded<Chunk, Hashes>>,
    /// A collected chunk's buffers, reused for the next one.
    spare: Option<Chunk>,
}

impl Hasher {
    /// A hasher that also reports whether each content contains `needle`.
    pub(super) fn new(needle: &'static [u8]) -> Self {
        Self::with_chunk(needle, CHUNK_BYTES)
    }

    fn with_chunk(needle: &'static [u8], chunk_bytes: usize) -> Self {
        Self {
            needle,
            chunk_bytes,
            filling: Chunk::with_capacity(chunk_bytes, needle),
            in_flight: VecDeque::new(),
            spare: None,
        }
    }

    /// Queues `bytes` of `leaf`; `done` is called for earlier leaves whose hashes are ready.
    pub(super) fn add(&mut self, leaf: u64, bytes: &[u8], done: &mut Done<'_>) {
        self.filling.bytes.extend_from_slice(bytes);
        self.filling.leaves.push((leaf, self.filling.bytes.len()));
        if self.filling.bytes.len() >= self.chunk_bytes {
            self.dispatch();
            while self.in_flight.len() >= IN_FLIGHT {
                self.collect(done);
            }
        }
    }

    /// Calls `done` for every leaf added so far.
    pub(super) fn finish(&mut self, done: &mut Done<'_>) {
        self.dispatch();
        while !self.in_flight.is_empty() {
            self.collect(done);
        }
    }

    /// Starts hashing what was added so far (results still come from [`Hasher::finish`]).
    pub(super) fn dispatch(&mut self) {
        if self.filling.leaves.is_empty() {
            return;
        }
        let next = self
            .spare
            .take()
            .unwrap_or_else(|| Chunk::with_capacity(self.chunk_bytes, self.needle));
        let chunk = std::mem::replace(&mut self.filling, next);
        self.in_flight
            .push_back(Offloaded::start("evl-verify-hash", chunk, hash, true));
    }

    fn collect(&mut self, done: &mut Done<'_>) {
        let Some(pending) = self.in_flight.pop_front() else {
            return;
        };
        let (hashes, chunk) = pending.finish();
        for ((leaf, bytes), (id, leaf_hash, has_needle)) in chunk.iter().zip(hashes) {
            done(Hashed {
                leaf,
                bytes,
                id,
                leaf_hash,
                has_needle,
            });
        }
        if let Ok(mut c) = Arc::try_unwrap(chunk) {
            c.bytes.clear();
            c.leaves.clear();
            self.spare = Some(c);
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// Whatever the content sizes (chunks cut anywhere, several in flight), every leaf added
        /// comes back exactly once, in order, with its own bytes, NodeId and needle flag.
        #[test]
        fn every_leaf_comes_back_once_in_order(sizes in proptest::collection::vec(0usize..3_000, 0..40), chunk in 1usize..4_000) {
            let mut h = Hasher::with_chunk(b"needle", chunk);
            let mut want = Vec::new();
            let mut got = Vec::new();
            for (k, size) in sizes.iter().enumerate() {
                let mut b = vec![b'a' + (k % 26) as u8; *size];
                if k % 3 == 0 && *size > 10 {
                    b[size / 2..size / 2 + 6].copy_from_slice(b"needle");
                }
                let leaf = 5 + 2 * k as u64;
                let id = NodeId::of_canonical(&b);
                want.push((leaf, id, k % 3 == 0 && *size > 10, b.len(), id.leaf_hash()));
                h.add(leaf, &b, &mut |x| got.push((x.leaf, x.id, x.has_needle, x.bytes.len(), x.leaf_hash)));
            }
            h.finish(&mut |x| got.push((x.leaf, x.id, x.has_needle, x.bytes.len(), x.leaf_hash)));
            prop_assert_eq!(got, want);
        }
    }
}
