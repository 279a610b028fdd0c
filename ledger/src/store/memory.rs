//! An in-memory [`Store`] for tests. Not durable.

use super::{Batch, Repair, Snapshot, Store, StoreError, StoreStats, Version};
use evl_sdk::{Digest, LeafIndex, NodeId, TreeSize};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock};

#[derive(Default)]
struct State {
    size: u64,
    /// Canonical bytes by leaf index; empty = no content (redacted, or lost in a test), since no
    /// node is empty.
    nodes: Vec<Vec<u8>>,
    ids: HashMap<NodeId, u64>,
    /// Redacted leaf → its record's leaf.
    redactions: BTreeMap<u64, u64>,
    hashes: HashMap<(u32, u64), Digest>,
    checkpoints: BTreeMap<u64, String>,
    anchors: BTreeMap<u64, Vec<u8>>,
    meta: HashMap<String, Vec<u8>>,
}

/// An in-memory store.
#[derive(Clone, Default)]
pub struct MemoryStore(Arc<RwLock<State>>);

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
    fn read(&self) -> Result<std::sync::RwLockReadGuard<'_, State>, StoreError> {
        self.0
            .read()
            .map_err(|_| StoreError::Other("memory store lock poisoned".into()))
    }
    /// Test hook: overwrites a node's bytes in place (simulates media corruption).
    #[doc(hidden)]
    pub fn corrupt_node(&self, index: u64, bytes: Vec<u8>) {
        if let Ok(mut s) = self.0.write()
            && let Some(n) = s.nodes.get_mut(index as usize)
        {
            *n = bytes;
        }
    }
}

/// A snapshot of the memory store: it pins the tree size; entries below it never change.
pub struct MemorySnapshot {
    store: MemoryStore,
    size: u64,
}

impl Snapshot for MemorySnapshot {
    fn tree_size(&self) -> Result<TreeSize, StoreError> {
        TreeSize::new(self.size).ok_or_else(|| StoreError::Damaged("size out of range".into()))
    }
    fn node(&self, index: LeafIndex) -> Result<Option<Vec<u8>>, StoreError> {
        if index.get() >= self.size {
            return Ok(None);
        }
        Ok(self
            .store
            .read()?
            .nodes
            .get(index.get() as usize)
            .filter(|b| !b.is_empty())
            .cloned())
    }
    fn index_of(&self, id: &NodeId) -> Result<Option<LeafIndex>, StoreError> {
        Ok(self
            .store
            .read()?
            .ids
            .get(id)
            .filter(|i| **i < self.size)
            .and_then(|i| LeafIndex::new(*i)))
    }
    fn hash(&self, level: u32, index: u64) -> Result<Option<Digest>, StoreError> {
        Ok(self.store.read()?.hashes.get(&(level, index)).copied())
    }
    fn checkpoint(&self, size: TreeSize) -> Result<Option<String>, StoreError> {
        Ok(self.store.read()?.checkpoints.get(&size.get()).cloned())
    }
    fn latest_checkpoint(&self) -> Result<Option<(TreeSize, String)>, StoreError> {
        Ok(self
            .store
            .read()?
            .checkpoints
            .range(..=self.size)
            .next_back()
            .and_then(|(k, v)| Some((TreeSize::new(*k)?, v.clone()))))
    }
    fn anchor(&self, seq: u64) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.store.read()?.anchors.get(&seq).cloned())
    }
    fn anchors(&self) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        Ok(self
            .store
            .read()?
            .anchors
            .iter()
            .map(|(k, v)| (*k, v.clone()))
            .collect())
    }
    fn meta(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.store.read()?.meta.get(key).cloned())
    }
    fn scan_nodes(
        &self,
        from: u64,
        to: u64,
        f: &mut dyn FnMut(u64, &[u8]) -> bool,
    ) -> Result<(), StoreError> {
        let s = self.store.read()?;
        for i in from..to.min(self.size) {
            if let Some(n) = s.nodes.get(i as usize)
                && !n.is_empty()
                && !f(i, n)
            {
                break;
            }
        }
        Ok(())
    }
    fn scan_ids(&self, f: &mut dyn FnMut(NodeId, u64) -> bool) -> Result<(), StoreError> {
        let mut ids: Vec<(NodeId, u64)> = self
            .store
            .read()?
            .ids
            .iter()
            .filter(|(_, i)| **i < self.size)
            .map(|(id, i)| (*id, *i))
            .collect();
        ids.sort();
        for (id, i) in ids {
            if !f(id, i) {
                break;
            }
        }
        Ok(())
    }
    fn redaction(&self, index: LeafIndex) -> Result<Option<LeafIndex>, StoreError> {
        if index.get() >= self.size {
            return Ok(None);
        }
        Ok(self
            .store
            .read()?
            .redactions
            .get(&index.get())
            .and_then(|r| LeafIndex::new(*r)))
    }
    fn scan_hashes(
        &self,
        level: u32,
        from: u64,
        to: u64,
        f: &mut dyn FnMut(u64, Option<Digest>) -> bool,
    ) -> Result<(), StoreError> {
        let s = self.store.read()?;
        for i in from..to {
            if !f(i, s.hashes.get(&(level, i)).copied()) {
                break;
            }
        }
        Ok(())
    }
}

impl Store for MemoryStore {
    type Snapshot = MemorySnapshot;
    fn snapshot(&self) -> Result<MemorySnapshot, StoreError> {
        let size = self.read()?.size;
        Ok(MemorySnapshot {
            store: self.clone(),
            size,
        })
    }
    fn commit(&self, batch: Batch) -> Result<(), StoreError> {
        let mut s = self
            .0
            .write()
            .map_err(|_| StoreError::Other("memory store lock poisoned".into()))?;
        // Validate first so a rejected batch changes nothing (atomicity).
        batch.check_expect(Version {
            tree_size: s.nodes.len() as u64,
            last_anchor: s.anchors.keys().next_back().copied(),
        })?;
        for (k, n) in batch.nodes.iter().enumerate() {
            if n.index.get() != (s.nodes.len() + k) as u64 {
                return Err(StoreError::Invalid(format!(
                    "node index {} does not continue the log",
                    n.index
                )));
            }
        }
        batch.check_redactions(s.nodes.len() as u64)?;
        for r in &batch.redact {
            if s.nodes.get(r.index.get() as usize).is_none_or(Vec::is_empty) {
                return Err(StoreError::Invalid(format!(
                    "leaf {} has no content to redact",
                    r.index
                )));
            }
        }
        for n in batch.nodes {
            s.ids.insert(n.id, n.index.get());
            s.nodes.push(n.bytes);
        }
        for h in batch.hashes {
            s.hashes.insert((h.level, h.index), h.hash);
        }
        for r in batch.redact {
            if let Some(n) = s.nodes.get_mut(r.index.get() as usize) {
                *n = Vec::new();
            }
            s.redactions.insert(r.index.get(), r.record.get());
        }
        if let Some(size) = batch.tree_size {
            s.size = size.get();
        }
        for (size, cp) in batch.checkpoints {
            s.checkpoints.insert(size.get(), cp);
        }
        for (seq, a) in batch.anchors {
            s.anchors.insert(seq, a);
        }
        for (k, v) in batch.meta {
            s.meta.insert(k, v);
        }
        Ok(())
    }
    fn stats(&self) -> StoreStats {
        StoreStats::default()
    }
    fn repair(&self, repair: Repair) -> Result<(), StoreError> {
        let mut s = self
            .0
            .write()
            .map_err(|_| StoreError::Other("memory store lock poisoned".into()))?;
        repair.check_bounds(s.size)?;
        for (i, bytes) in repair.nodes {
            if let Some(n) = s.nodes.get_mut(i.get() as usize) {
                *n = bytes;
            }
        }
        for h in repair.hashes {
            s.hashes.insert((h.level, h.index), h.hash);
        }
        for (id, i) in repair.ids {
            s.ids.insert(id, i.get());
        }
        Ok(())
    }
}
