//! Storage v2 in the redb file (docs/design.md, "Storage v2"): the `segments`, `tiles` and
//! `idruns` tables that replace `nodes`, `hashes` and `ids`. `RedbStore` keeps everything
//! else (opening, healing, read-only copies, checkpoints, anchors, meta, redactions) and calls
//! these functions where the two layouts differ.

use super::idrun::{self, Entry, Manifest, Resolved, Rows, RowsMut, SummaryCache};
use super::segment::{SEGMENT_MAX, Segment, SegmentView};
use super::tile::{self, Tile, TileAddr, locate};
use crate::store::redb_shared::{REDACTIONS, e};
use crate::store::{Batch, Repair, StoreError};
use evl_sdk::{Digest, LeafIndex, NodeId, StoredHash};
use redb::{ReadOnlyTable, ReadableTable, Table, TableDefinition, WriteTransaction};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, OnceLock};

/// First leaf → segment row.
pub(crate) const SEGMENTS: TableDefinition<u64, &[u8]> = TableDefinition::new("segments");
/// `tile level << 56 | tile index` → tile row.
pub(crate) const TILES: TableDefinition<u64, &[u8]> = TableDefinition::new("tiles");
/// `run << 32 | chunk` (and 0, the manifest) → id-map row.
pub(crate) const IDRUNS: TableDefinition<u64, &[u8]> = TableDefinition::new("idruns");

/// Full tiles kept decoded in memory. Rationale: 1,024 × 16 KiB = 16 MiB holds every tile
/// above level 0 up to 2^26 leaves and the level-0 tiles a burst of proofs touches, within the
/// 300 MB RSS budget beside redb's 64 MiB cache.
pub const TILE_CACHE_TILES: usize = 1024;

/// What every snapshot of one store shares: decoded run summaries and full tiles (both
/// immutable once written; a repair clears the tiles).
#[derive(Default)]
pub struct Caches {
    pub(crate) summaries: SummaryCache,
    tiles: Mutex<HashMap<u64, Arc<Tile>>>,
}

impl Caches {
    /// Forgets every cached tile (after a repair or a test hook rewrote one).
    pub(crate) fn forget_tiles(&self) {
        if let Ok(mut t) = self.tiles.lock() {
            t.clear();
        }
    }
}

struct ReadRows<'a>(&'a ReadOnlyTable<u64, &'static [u8]>);

impl Rows for ReadRows<'_> {
    fn get(&self, key: u64) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.0.get(key).map_err(e)?.map(|g| g.value().to_vec()))
    }
}

struct WriteRows<'a, 'txn>(&'a mut Table<'txn, u64, &'static [u8]>);

impl Rows for WriteRows<'_, '_> {
    fn get(&self, key: u64) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.0.get(key).map_err(e)?.map(|g| g.value().to_vec()))
    }
}

impl RowsMut for WriteRows<'_, '_> {
    fn put(&mut self, key: u64, value: Vec<u8>) -> Result<(), StoreError> {
        self.0.insert(key, value.as_slice()).map_err(e)?;
        Ok(())
    }
    fn delete(&mut self, key: u64) -> Result<(), StoreError> {
        self.0.remove(key).map_err(e)?;
        Ok(())
    }
}

/// Whether the perfect subtree `(level, index)` lies inside a tree of `size` leaves.
fn inside(level: u32, index: u64, size: u64) -> bool {
    index
        .checked_add(1)
        .and_then(|k| k.checked_mul(1u64 << level))
        .is_some_and(|end| end <= size)
}

/// The segment holding leaf `index`, read through any segments table: its key and row.
fn segment_row(
    table: &impl ReadableTable<u64, &'static [u8]>,
    index: u64,
) -> Result<Option<(u64, Vec<u8>)>, StoreError> {
    match table.range(..=index).map_err(e)?.next_back() {
        Some(r) => {
            let (k, v) = r.map_err(e)?;
            Ok(Some((k.value(), v.value().to_vec())))
        }
        None => Ok(None),
    }
}

/// A v2 read transaction's tables.
pub struct V2Snapshot {
    pub(crate) segments: ReadOnlyTable<u64, &'static [u8]>,
    pub(crate) tiles: ReadOnlyTable<u64, &'static [u8]>,
    pub(crate) idruns: ReadOnlyTable<u64, &'static [u8]>,
    pub(crate) manifest: Manifest,
    pub(crate) caches: Arc<Caches>,
    /// The manifest's runs with their summaries, resolved on the first lookup.
    runs: OnceLock<Resolved>,
}

impl V2Snapshot {
    /// Opens the v2 tables of a read transaction.
    pub(crate) fn open(txn: &redb::ReadTransaction, caches: Arc<Caches>) -> Result<Self, StoreError> {
        let idruns = txn.open_table(IDRUNS).map_err(e)?;
        let manifest = Manifest::read(&ReadRows(&idruns))?;
        Ok(Self {
            segments: txn.open_table(SEGMENTS).map_err(e)?,
            tiles: txn.open_table(TILES).map_err(e)?,
            idruns,
            manifest,
            caches,
            runs: OnceLock::new(),
        })
    }

    pub(crate) fn node(&self, index: u64, size: u64) -> Result<Option<Vec<u8>>, StoreError> {
        if index >= size {
            return Ok(None);
        }
        let Some((first, row)) = segment_row(&self.segments, index)? else {
            return Ok(None);
        };
        let seg = SegmentView::parse(first, &row)?;
        Ok(seg.get(index).flatten().map(<[u8]>::to_vec))
    }

    pub(crate) fn index_of(&self, id: &NodeId, size: u64) -> Result<Option<LeafIndex>, StoreError> {
        let rows = ReadRows(&self.idruns);
        let runs = match self.runs.get() {
            Some(r) => r,
            None => {
                let r = self.caches.summaries.resolve(&rows, &self.manifest)?;
                self.runs.get_or_init(|| r)
            }
        };
        Ok(idrun::lookup_in(&rows, runs, id)?
            .filter(|i| *i < size)
            .and_then(LeafIndex::new))
    }

    /// The tile at `addr`, holding at least `width` base hashes if the store has them: from the
    /// cache when the cached copy is that wide (tiles only grow, and a wider copy agrees on
    /// every hash the narrower one has), else read, checked and cached.
    fn tile(&self, addr: TileAddr, width: u64) -> Result<Option<Arc<Tile>>, StoreError> {
        let key = addr.key();
        if let Some(t) = self
            .caches
            .tiles
            .lock()
            .ok()
            .and_then(|m| m.get(&key).filter(|t| t.width() >= width).cloned())
        {
            return Ok(Some(t));
        }
        let Some(row) = self.tiles.get(key).map_err(e)? else {
            return Ok(None);
        };
        let t = Arc::new(Tile::decode(addr, row.value())?);
        if let Ok(mut m) = self.caches.tiles.lock() {
            if m.len() >= TILE_CACHE_TILES {
                // Level-0 tiles go first: the upper ones are few and every proof reads them.
                m.retain(|k, _| TileAddr::from_key(*k).level > 0);
                if m.len() >= TILE_CACHE_TILES / 2 {
                    m.clear();
                }
            }
            let wider = m.get(&key).is_none_or(|c| c.width() < t.width());
            if wider {
                m.insert(key, t.clone());
            }
        }
        Ok(Some(t))
    }

    /// The stored hash `(level, index)` if its subtree lies inside this snapshot's tree.
    pub(crate) fn hash(&self, level: u32, index: u64, size: u64) -> Result<Option<Digest>, StoreError> {
        if level >= 64 || !inside(level, index, size) {
            return Ok(None);
        }
        let (addr, l, k) = locate(level, index);
        let width = ((k + 1) << l).min(256);
        Ok(self.tile(addr, width)?.and_then(|t| t.get(l, k)))
    }

    pub(crate) fn scan_nodes(
        &self,
        from: u64,
        to: u64,
        size: u64,
        f: &mut dyn FnMut(u64, &[u8]) -> bool,
    ) -> Result<(), StoreError> {
        let to = to.min(size);
        if from >= to {
            return Ok(());
        }
        let start = segment_row(&self.segments, from)?.map_or(from, |(k, _)| k);
        for r in self.segments.range(start..to).map_err(e)? {
            let (k, v) = r.map_err(e)?;
            let row = v.value();
            let seg = SegmentView::parse(k.value(), row)?;
            for (i, bytes) in seg.iter() {
                if i < from || i >= to {
                    continue;
                }
                if let Some(b) = bytes
                    && !f(i, b)
                {
                    return Ok(());
                }
            }
        }
        Ok(())
    }

    pub(crate) fn scan_hashes(
        &self,
        level: u32,
        from: u64,
        to: u64,
        size: u64,
        f: &mut dyn FnMut(u64, Option<Digest>) -> bool,
    ) -> Result<(), StoreError> {
        let mut current: Option<(TileAddr, Option<Arc<Tile>>)> = None;
        for i in from..to {
            let (addr, l, k) = locate(level.min(63), i);
            if current.as_ref().is_none_or(|(a, _)| *a != addr) {
                current = Some((addr, self.tile(addr, 256)?));
            }
            let h = current
                .as_ref()
                .and_then(|(_, t)| t.as_ref())
                .and_then(|t| t.get(l, k))
                .filter(|_| level < 64 && inside(level, i, size));
            if !f(i, h) {
                break;
            }
        }
        Ok(())
    }

    pub(crate) fn scan_ids(
        &self,
        size: u64,
        f: &mut dyn FnMut(NodeId, u64) -> bool,
    ) -> Result<(), StoreError> {
        idrun::scan(&ReadRows(&self.idruns), &self.manifest, &mut |en: Entry| {
            en.leaf >= size || f(en.node_id(), en.leaf)
        })
    }

    pub(crate) fn id_count(&self) -> u64 {
        self.manifest.entries()
    }
}

/// Writes a batch's nodes, id-map entries and hashes, and removes the content of its
/// redactions. `bulk`: a restore's load (empty bytes are a leaf without content, a NodeId
/// already stored is `DuplicateNodeId`, a redaction may name a leaf without content). Returns
/// whether content was removed.
pub(crate) fn write_batch(
    txn: &WriteTransaction,
    batch: &Batch,
    caches: &Caches,
    bulk: bool,
) -> Result<bool, StoreError> {
    let mut segments = txn.open_table(SEGMENTS).map_err(e)?;
    if let Some(first) = batch.nodes.first() {
        let nodes: Vec<Option<&[u8]>> = batch
            .nodes
            .iter()
            .map(|n| (!(bulk && n.bytes.is_empty())).then_some(n.bytes.as_slice()))
            .collect();
        for seg in Segment::split(first.index.get(), &nodes)? {
            if segments.get(seg.first()).map_err(e)?.is_some() {
                return Err(StoreError::Invalid(format!(
                    "a segment is already stored at leaf {}",
                    seg.first()
                )));
            }
            segments.insert(seg.first(), seg.encode().as_slice()).map_err(e)?;
        }
    }
    // Redactions: the content goes from its segment; the id map and hashes stay.
    let mut removed = false;
    for r in &batch.redact {
        let i = r.index.get();
        let (first, row) = segment_row(&segments, i)?
            .ok_or_else(|| StoreError::Invalid(format!("leaf {i} has no segment")))?;
        let mut seg = Segment::decode(first, &row)?;
        if seg.redact(i) {
            removed = true;
            segments.insert(first, seg.encode().as_slice()).map_err(e)?;
        } else if !bulk {
            return Err(StoreError::Invalid(format!("leaf {i} has no content to redact")));
        }
    }
    let mut idruns = txn.open_table(IDRUNS).map_err(e)?;
    let entries: Vec<Entry> = batch
        .nodes
        .iter()
        .map(|n| Entry::new(&n.id, n.index.get()))
        .collect();
    if bulk {
        refuse_duplicates(&WriteRows(&mut idruns), caches, &entries)?;
    }
    let t = std::time::Instant::now();
    let manifest = idrun::add(&mut WriteRows(&mut idruns), entries)?;
    crate::profile::add(crate::profile::Phase::IdMap, t.elapsed());
    caches.summaries.retain(&manifest);
    let mut tiles = txn.open_table(TILES).map_err(e)?;
    put_hashes(&mut tiles, &batch.hashes)?;
    Ok(removed)
}

/// `DuplicateNodeId` if a NodeId of `entries` is stored, or given twice.
fn refuse_duplicates(rows: &WriteRows<'_, '_>, caches: &Caches, entries: &[Entry]) -> Result<(), StoreError> {
    let mut sorted: Vec<&Entry> = entries.iter().collect();
    sorted.sort_unstable();
    if let Some(w) = sorted.windows(2).find(|w| w[0].id == w[1].id) {
        return Err(StoreError::DuplicateNodeId {
            id: w[0].node_id(),
            index: w[0].leaf,
        });
    }
    // The cache is keyed by run number and summary checksum, so a summary read from rows
    // this transaction wrote can never be mistaken for another run's, even if it aborts.
    let manifest = Manifest::read(rows)?;
    let runs = caches.summaries.resolve(rows, &manifest)?;
    for en in entries {
        if let Some(index) = idrun::lookup_in(rows, &runs, &en.node_id())? {
            return Err(StoreError::DuplicateNodeId {
                id: en.node_id(),
                index,
            });
        }
    }
    Ok(())
}

/// Adds base hashes to their tiles (in order) and checks the interior ones against the tiles'
/// own: a hash that does not continue its tile, or an interior hash that its children do not
/// give, is refused.
fn put_hashes(tiles: &mut Table<'_, u64, &'static [u8]>, hashes: &[StoredHash]) -> Result<(), StoreError> {
    for (addr, items) in tile::group(hashes)? {
        let mut tile = match tiles.get(addr.key()).map_err(e)? {
            Some(row) => Tile::decode(addr, row.value())?,
            None => Tile::new(),
        };
        tile::extend(&mut tile, addr, &items)?;
        tiles.insert(addr.key(), tile.encode().as_slice()).map_err(e)?;
    }
    Ok(())
}

/// Rewrites the entries of a repair (docs/design.md, recovery): nodes into their segments,
/// hashes into their tiles (recomputing the interior levels), id-map entries as a new run
/// (lookups read the newest run first). `size` is the committed tree size.
pub(crate) fn write_repair(
    txn: &WriteTransaction,
    repair: &Repair,
    size: u64,
    caches: &Caches,
) -> Result<(), StoreError> {
    let mut segments = txn.open_table(SEGMENTS).map_err(e)?;
    let given: BTreeMap<u64, &Vec<u8>> = repair.nodes.iter().map(|(i, b)| (i.get(), b)).collect();
    let mut done = std::collections::BTreeSet::new();
    for (&i, bytes) in &given {
        if done.contains(&i) {
            continue;
        }
        let found = segment_row(&segments, i)?;
        let decoded = found
            .as_ref()
            .map(|(first, row)| (*first, Segment::decode(*first, row)));
        match decoded {
            Some((first, Ok(mut seg))) if seg.get(i).is_some() => {
                seg.put(i, (*bytes).clone());
                segments.insert(first, seg.encode().as_slice()).map_err(e)?;
            }
            other => {
                // The row is damaged or missing: rebuild it from the repair's nodes, which must
                // then cover it (up to the next segment, the bundle boundary or the tree size).
                let first = match other {
                    Some((first, Err(_))) => first,
                    _ => i,
                };
                let next = segments
                    .range(first + 1..)
                    .map_err(e)?
                    .next()
                    .transpose()
                    .map_err(e)?
                    .map_or(u64::MAX, |(k, _)| k.value());
                let end = next.min((first / SEGMENT_MAX + 1) * SEGMENT_MAX).min(size);
                // Leaves a redaction emptied stay empty; every other leaf must be given.
                let redactions = txn.open_table(REDACTIONS).map_err(e)?;
                let mut nodes: Option<Vec<Option<&[u8]>>> = Some(Vec::new());
                for j in first..end {
                    let slot = match given.get(&j) {
                        Some(b) => Some(Some(b.as_slice())),
                        None if redactions.get(j).map_err(e)?.is_some() => Some(None),
                        None => None,
                    };
                    nodes = nodes.zip(slot).map(|(mut v, x)| {
                        v.push(x);
                        v
                    });
                }
                let nodes = nodes.ok_or_else(|| {
                    StoreError::Damaged(format!(
                        "the segment at leaf {first} cannot be read, and the repair does not hold all of leaves {first}..{end} to rebuild it"
                    ))
                })?;
                for seg in Segment::split(first, &nodes)? {
                    segments.insert(seg.first(), seg.encode().as_slice()).map_err(e)?;
                }
                done.extend(first..end);
            }
        }
    }
    let mut tiles = txn.open_table(TILES).map_err(e)?;
    let mut by_tile: BTreeMap<u64, Vec<&StoredHash>> = BTreeMap::new();
    for h in &repair.hashes {
        by_tile
            .entry(locate(h.level, h.index).0.key())
            .or_default()
            .push(h);
    }
    for (key, hs) in by_tile {
        let addr = TileAddr::from_key(key);
        let stored = match tiles.get(key).map_err(e)? {
            Some(row) => Tile::decode(addr, row.value()).ok(),
            None => None,
        };
        let tile = tile::repaired(addr, size, stored, &hs)?;
        tiles.insert(key, tile.encode().as_slice()).map_err(e)?;
    }
    if !repair.ids.is_empty() {
        let mut idruns = txn.open_table(IDRUNS).map_err(e)?;
        let entries = repair.ids.iter().map(|(id, i)| Entry::new(id, i.get())).collect();
        idrun::add(&mut WriteRows(&mut idruns), entries)?;
    }
    caches.forget_tiles();
    Ok(())
}

/// Test hook: overwrites a node's bytes inside its segment (the row's checksum is rewritten,
/// so the damage is found as content that does not hash to its NodeId).
pub(crate) fn overwrite_node(txn: &WriteTransaction, index: u64, bytes: &[u8]) -> Result<(), StoreError> {
    let mut segments = txn.open_table(SEGMENTS).map_err(e)?;
    let (first, row) = segment_row(&segments, index)?
        .ok_or_else(|| StoreError::Invalid(format!("leaf {index} has no segment")))?;
    let mut seg = Segment::decode(first, &row)?;
    if !seg.put(index, bytes.to_vec()) {
        return Err(StoreError::Invalid(format!("leaf {index} is not stored")));
    }
    segments.insert(first, seg.encode().as_slice()).map_err(e)?;
    Ok(())
}

/// Test hook: overwrites one stored hash inside its tile (checksum rewritten, the levels above
/// left as they were: a wrong hash, not an unreadable row).
pub(crate) fn overwrite_hash(
    txn: &WriteTransaction,
    level: u32,
    index: u64,
    hash: &[u8; 32],
    caches: &Caches,
) -> Result<(), StoreError> {
    let mut tiles = txn.open_table(TILES).map_err(e)?;
    let (addr, l, k) = locate(level, index);
    let row = tiles
        .get(addr.key())
        .map_err(e)?
        .map(|r| r.value().to_vec())
        .ok_or_else(|| StoreError::Invalid(format!("no tile holds hash {level}/{index}")))?;
    let mut tile = Tile::decode(addr, &row)?;
    if !tile.set(l, k, Digest::from_bytes(*hash)) {
        return Err(StoreError::Invalid(format!("hash {level}/{index} is not stored")));
    }
    tiles.insert(addr.key(), tile.encode().as_slice()).map_err(e)?;
    caches.forget_tiles();
    Ok(())
}
