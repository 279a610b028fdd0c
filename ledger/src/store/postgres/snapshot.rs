//! Reads of one committed state of a PostgreSQL store: the tree size and last anchor are
//! pinned when the snapshot is taken; every read is one statement filtered by them.

use super::Inner;
use super::conn::Query;
use super::error::{col, pg, signed, unsigned};
use crate::store::v2::tile::{TILE_HEIGHT, Tile, TileAddr, locate};
use crate::store::{Snapshot, StoreError, Version};
use evl_sdk::{Digest, LeafIndex, NodeId, TreeSize};
use postgres::types::{FromSql, ToSql};
use std::collections::HashMap;
use std::sync::Arc;

/// Rows a scan reads per statement.
const PAGE: i64 = 4096;
/// Tiles a hash scan reads per statement.
const TILE_PAGE: i64 = 64;

/// A snapshot of a PostgreSQL store.
pub struct PgSnapshot {
    inner: Arc<Inner>,
    size: u64,
    last_anchor: Option<u64>,
    /// The latest checkpoint at or below `size`, read with the state row (what a receipt or
    /// proof needs next, in the same round trip).
    latest: Option<(u64, String)>,
}

impl PgSnapshot {
    pub(super) fn take(inner: Arc<Inner>) -> Result<Self, StoreError> {
        let log = inner.log();
        let (size, last_anchor, latest) = inner.read(|c| {
            let row = c
                .query_opt(
                    "SELECT l.tree_size, l.last_anchor, k.tree_size, k.note FROM evl_log l
                     LEFT JOIN LATERAL (SELECT tree_size, note FROM evl_checkpoint
                         WHERE log_id = l.log_id AND tree_size <= l.tree_size
                         ORDER BY tree_size DESC LIMIT 1) k ON true
                     WHERE l.log_id = $1",
                    &[&log],
                )
                .map_err(pg)?
                .ok_or_else(|| StoreError::Damaged(format!("the state row of log {log} is gone")))?;
            let latest = match row.try_get::<_, Option<i64>>(2).map_err(col)? {
                Some(s) => Some((
                    unsigned(s, "a checkpoint's size")?,
                    row.try_get::<_, String>(3).map_err(col)?,
                )),
                None => None,
            };
            Ok((
                row.try_get::<_, i64>(0).map_err(col)?,
                row.try_get::<_, Option<i64>>(1).map_err(col)?,
                latest,
            ))
        })?;
        let size = unsigned(size, "the tree size")?;
        // A tree smaller than one seen before: the database went back (a restore, a replica
        // that lacked commits). Rows cached from the other history may differ: forget them.
        let seen = inner
            .largest_seen
            .fetch_max(size, std::sync::atomic::Ordering::AcqRel);
        if size < seen {
            inner.tiles.clear();
            inner
                .largest_seen
                .store(size, std::sync::atomic::Ordering::Release);
        }
        Ok(Self {
            size,
            last_anchor: last_anchor.map(|a| unsigned(a, "the last anchor")).transpose()?,
            latest,
            inner,
        })
    }

    fn log(&self) -> i32 {
        self.inner.log()
    }

    /// The one column that `sql` selects from the row of this log (`$1`) and `key` (`$2`),
    /// if there is such a row: every single-row read of this snapshot.
    fn lookup<T>(&self, sql: &'static str, key: &(dyn ToSql + Sync)) -> Result<Option<T>, StoreError>
    where
        T: for<'a> FromSql<'a> + Send,
    {
        let log = self.log();
        self.inner.read(|c| {
            c.query_opt(sql, &[&log, key])
                .map_err(pg)?
                .map(|r| r.try_get::<_, T>(0).map_err(col))
                .transpose()
        })
    }

    /// Whether the perfect subtree `(level, index)` lies inside this snapshot's tree.
    fn inside(&self, level: u32, index: u64) -> bool {
        level < 64
            && index
                .checked_add(1)
                .and_then(|k| k.checked_mul(1u64 << level))
                .is_some_and(|end| end <= self.size)
    }

    /// The tiles holding these positions: from the store's tile cache when a cached row holds
    /// every position asked of it (a stored hash never changes), the rest read in one statement
    /// and cached.
    fn tiles(&self, wanted: &[(TileAddr, u32, u64)]) -> Result<HashMap<TileAddr, Arc<Tile>>, StoreError> {
        let mut out: HashMap<TileAddr, Arc<Tile>> = HashMap::new();
        let mut missing: Vec<TileAddr> = Vec::new();
        for &(addr, l, k) in wanted {
            if missing.contains(&addr) {
                continue;
            }
            match out.get(&addr).cloned().or_else(|| self.inner.tiles.get(addr)) {
                Some(t) if t.get(l, k).is_some() => {
                    out.insert(addr, t);
                }
                _ => {
                    out.remove(&addr);
                    missing.push(addr);
                }
            }
        }
        if missing.is_empty() {
            return Ok(out);
        }
        let log = self.log();
        let rows = self.inner.read(|c| widest_rows(c, log, &missing))?;
        for (addr, row) in rows {
            let t = Arc::new(Tile::decode(addr, &row)?);
            self.inner.tiles.put(addr, t.clone());
            out.insert(addr, t);
        }
        Ok(out)
    }
}

/// The widest stored row of each of these tiles (a tile with no row is left out).
pub(super) fn widest_rows(
    c: &mut impl Query,
    log: i32,
    addrs: &[TileAddr],
) -> Result<Vec<(TileAddr, Vec<u8>)>, StoreError> {
    let levels: Vec<i16> = addrs.iter().map(|a| a.level as i16).collect();
    let indexes = addrs
        .iter()
        .map(|a| signed(a.index, "a tile index"))
        .collect::<Result<Vec<i64>, _>>()?;
    let rows = c
        .query(
            "SELECT w.l, w.i, t.data FROM unnest($2::smallint[], $3::bigint[]) AS w(l, i)
             CROSS JOIN LATERAL (SELECT data FROM evl_tile WHERE log_id = $1
                 AND tile_level = w.l AND tile_index = w.i ORDER BY width DESC LIMIT 1) t",
            &[&log, &levels, &indexes],
        )
        .map_err(pg)?;
    rows.into_iter()
        .map(|r| {
            let addr = TileAddr {
                level: u32::try_from(r.try_get::<_, i16>(0).map_err(col)?)
                    .map_err(|_| StoreError::Damaged("a negative tile level".into()))?,
                index: unsigned(r.try_get(1).map_err(col)?, "a tile index")?,
            };
            Ok((addr, r.try_get::<_, Vec<u8>>(2).map_err(col)?))
        })
        .collect()
}

impl Snapshot for PgSnapshot {
    fn tree_size(&self) -> Result<TreeSize, StoreError> {
        TreeSize::new(self.size).ok_or_else(|| StoreError::Damaged("tree size out of range".into()))
    }

    fn node(&self, index: LeafIndex) -> Result<Option<Vec<u8>>, StoreError> {
        if index.get() >= self.size {
            return Ok(None);
        }
        let leaf = signed(index.get(), "a leaf index")?;
        // NULL content: redacted, or restored without it.
        Ok(self
            .lookup::<Option<Vec<u8>>>(
                "SELECT content FROM evl_node WHERE log_id = $1 AND leaf = $2",
                &leaf,
            )?
            .flatten())
    }

    fn index_of(&self, id: &NodeId) -> Result<Option<LeafIndex>, StoreError> {
        let digest: &[u8] = id.digest().as_bytes();
        let leaf = self.lookup::<i64>(
            "SELECT leaf FROM evl_id WHERE log_id = $1 AND node_id = $2",
            &digest,
        )?;
        match leaf {
            Some(l) => {
                let l = unsigned(l, "an id-map leaf")?;
                Ok((l < self.size).then(|| LeafIndex::new(l)).flatten())
            }
            None => Ok(None),
        }
    }

    fn index_of_many(&self, ids: &[NodeId]) -> Result<Vec<Option<LeafIndex>>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let log = self.log();
        let digests: Vec<&[u8]> = ids.iter().map(|id| id.digest().as_bytes().as_slice()).collect();
        let rows = self.inner.read(|c| {
            c.query(
                "SELECT node_id, leaf FROM evl_id WHERE log_id = $1 AND node_id = ANY($2)",
                &[&log, &digests],
            )
            .map_err(pg)
        })?;
        let mut found: HashMap<Vec<u8>, u64> = HashMap::with_capacity(rows.len());
        for r in rows {
            let leaf = unsigned(r.try_get(1).map_err(col)?, "an id-map leaf")?;
            found.insert(r.try_get(0).map_err(col)?, leaf);
        }
        Ok(ids
            .iter()
            .map(|id| {
                found
                    .get(id.digest().as_bytes().as_slice())
                    .filter(|&&l| l < self.size)
                    .and_then(|&l| LeafIndex::new(l))
            })
            .collect())
    }

    fn hash(&self, level: u32, index: u64) -> Result<Option<Digest>, StoreError> {
        Ok(self.subtrees(&[(level, index)])?.pop().flatten())
    }

    fn subtrees(&self, at: &[(u32, u64)]) -> Result<Vec<Option<Digest>>, StoreError> {
        let wanted: Vec<(TileAddr, u32, u64)> = at
            .iter()
            .filter(|&&(l, i)| self.inside(l, i))
            .map(|&(l, i)| locate(l, i))
            .collect();
        let tiles = if wanted.is_empty() {
            HashMap::new()
        } else {
            self.tiles(&wanted)?
        };
        Ok(at
            .iter()
            .map(|&(level, index)| {
                if !self.inside(level, index) {
                    return None;
                }
                let (addr, l, k) = locate(level, index);
                tiles.get(&addr)?.get(l, k)
            })
            .collect())
    }

    fn prefers_batches(&self) -> bool {
        true
    }

    fn format(&self) -> &'static str {
        super::FORMAT_PG
    }

    fn version(&self) -> Result<Version, StoreError> {
        Ok(Version {
            tree_size: self.size,
            last_anchor: self.last_anchor,
        })
    }

    fn checkpoint(&self, size: TreeSize) -> Result<Option<String>, StoreError> {
        if size.get() > self.size {
            return Ok(None);
        }
        let s = signed(size.get(), "a tree size")?;
        self.lookup(
            "SELECT note FROM evl_checkpoint WHERE log_id = $1 AND tree_size = $2",
            &s,
        )
    }

    fn latest_checkpoint(&self) -> Result<Option<(TreeSize, String)>, StoreError> {
        match &self.latest {
            Some((s, note)) => {
                let size = TreeSize::new(*s)
                    .ok_or_else(|| StoreError::Damaged(format!("checkpoint size {s} out of range")))?;
                Ok(Some((size, note.clone())))
            }
            None => Ok(None),
        }
    }

    fn anchor(&self, seq: u64) -> Result<Option<Vec<u8>>, StoreError> {
        if self.last_anchor.is_none_or(|last| seq > last) {
            return Ok(None);
        }
        let s = signed(seq, "an anchor sequence number")?;
        self.lookup(
            "SELECT envelope FROM evl_anchor WHERE log_id = $1 AND seq = $2",
            &s,
        )
    }

    fn anchors(&self) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        let Some(last) = self.last_anchor else {
            return Ok(Vec::new());
        };
        let last = signed(last, "an anchor sequence number")?;
        let log = self.log();
        let rows = self.inner.read(|c| {
            c.query(
                "SELECT seq, envelope FROM evl_anchor WHERE log_id = $1 AND seq <= $2 ORDER BY seq",
                &[&log, &last],
            )
            .map_err(pg)
        })?;
        rows.into_iter()
            .map(|r| {
                Ok((
                    unsigned(r.try_get(0).map_err(col)?, "an anchor sequence number")?,
                    r.try_get(1).map_err(col)?,
                ))
            })
            .collect()
    }

    fn meta(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.lookup("SELECT value FROM evl_meta WHERE log_id = $1 AND key = $2", &key)
    }

    fn scan_nodes(
        &self,
        from: u64,
        to: u64,
        f: &mut dyn FnMut(u64, &[u8]) -> bool,
    ) -> Result<(), StoreError> {
        let end = signed(to.min(self.size), "a leaf index")?;
        let mut next = signed(from, "a leaf index")?;
        let log = self.log();
        while next < end {
            let rows = self.inner.read(|c| {
                c.query(
                    "SELECT leaf, content FROM evl_node WHERE log_id = $1 AND leaf >= $2
                     AND leaf < $3 AND content IS NOT NULL ORDER BY leaf LIMIT $4",
                    &[&log, &next, &end, &PAGE],
                )
                .map_err(pg)
            })?;
            let Some(last) = rows.last() else {
                return Ok(());
            };
            next = match last.try_get::<_, i64>(0).map_err(col)?.checked_add(1) {
                Some(n) => n,
                None => return Ok(()),
            };
            for r in &rows {
                if !f(
                    unsigned(r.try_get(0).map_err(col)?, "a leaf index")?,
                    r.try_get::<_, &[u8]>(1).map_err(col)?,
                ) {
                    return Ok(());
                }
            }
        }
        Ok(())
    }

    fn scan_ids(&self, f: &mut dyn FnMut(NodeId, u64) -> bool) -> Result<(), StoreError> {
        let size = signed(self.size, "a tree size")?;
        let mut after: Vec<u8> = Vec::new();
        let log = self.log();
        loop {
            let rows = self.inner.read(|c| {
                c.query(
                    "SELECT node_id, leaf FROM evl_id WHERE log_id = $1 AND node_id > $2
                     AND leaf < $3 ORDER BY node_id LIMIT $4",
                    &[&log, &after, &size, &PAGE],
                )
                .map_err(pg)
            })?;
            let Some(last) = rows.last() else {
                return Ok(());
            };
            after = last.try_get::<_, Vec<u8>>(0).map_err(col)?;
            for r in &rows {
                let bytes: [u8; 32] = r
                    .try_get::<_, &[u8]>(0)
                    .map_err(col)?
                    .try_into()
                    .map_err(|_| StoreError::Damaged("an id-map NodeId is not 32 bytes".into()))?;
                let id = NodeId::from_digest(Digest::from_bytes(bytes));
                if !f(id, unsigned(r.try_get(1).map_err(col)?, "an id-map leaf")?) {
                    return Ok(());
                }
            }
        }
    }

    fn scan_checkpoints(
        &self,
        from: u64,
        to: u64,
        f: &mut dyn FnMut(TreeSize, &str) -> bool,
    ) -> Result<(), StoreError> {
        let end = signed(to.min(self.size), "a tree size")?;
        let mut next = signed(from, "a tree size")?;
        let log = self.log();
        while next <= end {
            let rows = self.inner.read(|c| {
                c.query(
                    "SELECT tree_size, note FROM evl_checkpoint WHERE log_id = $1
                     AND tree_size >= $2 AND tree_size <= $3 ORDER BY tree_size LIMIT $4",
                    &[&log, &next, &end, &PAGE],
                )
                .map_err(pg)
            })?;
            let Some(last) = rows.last() else {
                return Ok(());
            };
            next = match last.try_get::<_, i64>(0).map_err(col)?.checked_add(1) {
                Some(n) => n,
                None => return Ok(()),
            };
            for r in &rows {
                let s = unsigned(r.try_get(0).map_err(col)?, "a checkpoint's size")?;
                let Some(size) = TreeSize::new(s) else {
                    return Err(StoreError::Damaged(format!("checkpoint size {s} out of range")));
                };
                if !f(size, r.try_get::<_, &str>(1).map_err(col)?) {
                    return Ok(());
                }
            }
        }
        Ok(())
    }

    fn redaction(&self, index: LeafIndex) -> Result<Option<LeafIndex>, StoreError> {
        if index.get() >= self.size {
            return Ok(None);
        }
        let leaf = signed(index.get(), "a leaf index")?;
        let record = self.lookup::<i64>(
            "SELECT record FROM evl_redaction WHERE log_id = $1 AND leaf = $2",
            &leaf,
        )?;
        match record {
            // A redaction committed after this snapshot is not part of it.
            Some(r) => {
                let r = unsigned(r, "a redaction record's leaf")?;
                Ok(if r < self.size { LeafIndex::new(r) } else { None })
            }
            None => Ok(None),
        }
    }

    fn scan_hashes(
        &self,
        level: u32,
        from: u64,
        to: u64,
        f: &mut dyn FnMut(u64, Option<Digest>) -> bool,
    ) -> Result<(), StoreError> {
        if level >= 64 || from >= to {
            return Ok(());
        }
        let tile_level = (level / TILE_HEIGHT) as i16;
        let l = level % TILE_HEIGHT;
        let shift = TILE_HEIGHT - l;
        let log = self.log();
        let mut i = from;
        while i < to {
            let first_tile = i >> shift;
            let last_tile = ((to - 1) >> shift).min(first_tile + TILE_PAGE as u64 - 1);
            let (a, b) = (
                signed(first_tile, "a tile index")?,
                signed(last_tile, "a tile index")?,
            );
            let rows = self.inner.read(|c| {
                c.query(
                    "SELECT DISTINCT ON (tile_index) tile_index, data FROM evl_tile
                     WHERE log_id = $1 AND tile_level = $2 AND tile_index >= $3 AND tile_index <= $4
                     ORDER BY tile_index, width DESC",
                    &[&log, &tile_level, &a, &b],
                )
                .map_err(pg)
            })?;
            let mut tiles = HashMap::with_capacity(rows.len());
            for r in rows {
                let addr = TileAddr {
                    level: u32::from(tile_level as u16),
                    index: unsigned(r.try_get(0).map_err(col)?, "a tile index")?,
                };
                tiles.insert(
                    addr.index,
                    Tile::decode(addr, r.try_get::<_, &[u8]>(1).map_err(col)?)?,
                );
            }
            let stop = (last_tile + 1).saturating_mul(1 << shift).min(to);
            while i < stop {
                let h = if self.inside(level, i) {
                    tiles
                        .get(&(i >> shift))
                        .and_then(|t| t.get(l, i & ((1 << shift) - 1)))
                } else {
                    None
                };
                if !f(i, h) {
                    return Ok(());
                }
                i += 1;
            }
        }
        Ok(())
    }
}
