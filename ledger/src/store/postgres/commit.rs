//! Commits, bulk loads and repairs of a PostgreSQL store: each one transaction that first
//! locks the log's state row, so concurrent writers (other `evl` processes) serialize on it.

use super::conn::{Conn, Query as _, Tx};
use super::error::{col, pg, signed, unsigned};
use super::snapshot::widest_rows;
use crate::store::v2::tile::{self, Tile, TileAddr};
use crate::store::{Batch, Repair, StoreError, Version};
use evl_sdk::StoredHash;
use postgres::binary_copy::BinaryCopyInWriter;
use postgres::types::Type;
use std::collections::{BTreeMap, HashMap, HashSet};

/// What a commit is for.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Mode {
    /// [`crate::store::Store::commit`].
    Commit,
    /// [`crate::store::Store::load`]: a NodeId already stored is `DUPLICATE_NODE_ID`; leaves
    /// may come without content, and redactions may name them.
    Load,
}

/// Applies `batch` to log `log` in one transaction (module contract: all or nothing).
pub(super) fn commit(c: &mut Conn, log: i32, batch: &Batch, mode: Mode) -> Result<(), StoreError> {
    let mut tx = c.transaction().map_err(pg)?;
    let row = tx
        .query_opt(
            "SELECT tree_size, last_anchor FROM evl_log WHERE log_id = $1 FOR UPDATE",
            &[&log],
        )
        .map_err(pg)?
        .ok_or_else(|| StoreError::Damaged(format!("the state row of log {log} is gone")))?;
    let size = unsigned(row.try_get(0).map_err(col)?, "the tree size")?;
    let last_anchor = row
        .try_get::<_, Option<i64>>(1)
        .map_err(col)?
        .map(|a| unsigned(a, "the last anchor"))
        .transpose()?;
    batch.check_expect(Version {
        tree_size: size,
        last_anchor,
    })?;
    let end = continued(batch, size)?;
    match mode {
        Mode::Commit => batch.check_redactions(size)?,
        Mode::Load => check_load_redactions(batch, end)?,
    }
    if mode == Mode::Load {
        refuse_duplicates(&mut tx, log, batch)?;
    }
    if !batch.nodes.is_empty() {
        copy_nodes(&mut tx, log, batch)?;
    }
    if !batch.redact.is_empty() {
        redact(&mut tx, log, batch, mode)?;
    }
    if !batch.hashes.is_empty() {
        put_hashes(&mut tx, log, &batch.hashes)?;
    }
    put_checkpoints(&mut tx, log, batch)?;
    let last_anchor = put_anchors(&mut tx, log, batch, last_anchor)?;
    for (k, v) in &batch.meta {
        tx.execute(
            "INSERT INTO evl_meta (log_id, key, value) VALUES ($1, $2, $3)
             ON CONFLICT (log_id, key) DO UPDATE SET value = EXCLUDED.value",
            &[&log, k, v],
        )
        .map_err(pg)?;
    }
    let new_size = signed(end, "the tree size")?;
    let new_anchor = last_anchor
        .map(|a| signed(a, "an anchor sequence number"))
        .transpose()?;
    tx.execute(
        "UPDATE evl_log SET tree_size = $2, last_anchor = $3 WHERE log_id = $1",
        &[&log, &new_size, &new_anchor],
    )
    .map_err(pg)?;
    tx.commit().map_err(pg)?;
    if mode == Mode::Commit
        && let (Some(seq), Some(_)) = (last_anchor, batch.anchors.last())
    {
        restore_point(c, log, end, seq);
    }
    Ok(())
}

/// The name of the restore point recorded at anchor `seq` of log `log`: what
/// `recovery_target_name` names to land PostgreSQL's PITR exactly on that anchor.
pub fn restore_point_name(log: i32, seq: u64) -> String {
    format!("evl-{log}-anchor-{seq}")
}

/// Records a named restore point right after an anchor's commit (docs/operations/postgresql.md,
/// PITR), while holding the log's state row and only if the state is still exactly the
/// anchor's (another front end may have appended in between; the next anchor gets one then).
/// The anchor is durable already: a failure here (a role without the right to create restore
/// points, a standby) is logged, never reported as a failed commit.
fn restore_point(c: &mut Conn, log: i32, size: u64, seq: u64) {
    let name = restore_point_name(log, seq);
    let made = (|| -> Result<bool, StoreError> {
        let mut tx = c.transaction().map_err(pg)?;
        let row = tx
            .query_one(
                "SELECT tree_size, last_anchor FROM evl_log WHERE log_id = $1 FOR UPDATE",
                &[&log],
            )
            .map_err(pg)?;
        let exact = row.try_get::<_, i64>(0).map_err(col)? == signed(size, "the tree size")?
            && row.try_get::<_, Option<i64>>(1).map_err(col)?
                == Some(signed(seq, "an anchor sequence number")?);
        if exact {
            tx.execute("SELECT pg_create_restore_point($1)", &[&name])
                .map_err(pg)?;
        }
        tx.commit().map_err(pg)?;
        Ok(exact)
    })();
    match made {
        Ok(true) => tracing::info!(restore_point = %name, "PostgreSQL restore point recorded"),
        Ok(false) => {
            tracing::warn!(restore_point = %name, "no restore point: the log moved on before it could be recorded")
        }
        Err(e) => tracing::warn!(restore_point = %name, error = %e, "no restore point recorded"),
    }
}

/// The tree size after `batch`: its nodes must continue the log at `size`, and its
/// `tree_size`, when set, must be where they end.
fn continued(batch: &Batch, size: u64) -> Result<u64, StoreError> {
    for (k, n) in batch.nodes.iter().enumerate() {
        if n.index.get() != size + k as u64 {
            return Err(StoreError::Invalid(format!(
                "node index {} does not continue the log at {size}",
                n.index
            )));
        }
    }
    let end = size + batch.nodes.len() as u64;
    match batch.tree_size {
        Some(s) if s.get() != end => Err(StoreError::Invalid(format!(
            "the batch says tree size {s} but its nodes end at {end}"
        ))),
        _ => Ok(end),
    }
}

/// A load's redactions: each record follows its leaf, inside the tree (as the redb load).
fn check_load_redactions(batch: &Batch, end: u64) -> Result<(), StoreError> {
    match batch
        .redact
        .iter()
        .find(|r| r.record.get() >= end || r.record <= r.index)
    {
        Some(r) => Err(StoreError::Invalid(format!(
            "redaction of leaf {} by a record at leaf {}: the record must follow the leaf, inside the tree",
            r.index, r.record
        ))),
        None => Ok(()),
    }
}

/// `DUPLICATE_NODE_ID` for the first NodeId of the batch that is stored or repeated.
fn refuse_duplicates(tx: &mut Tx<'_>, log: i32, batch: &Batch) -> Result<(), StoreError> {
    let mut seen = HashSet::with_capacity(batch.nodes.len());
    for n in &batch.nodes {
        if !seen.insert(n.id) {
            return Err(StoreError::DuplicateNodeId {
                id: n.id,
                index: n.index.get(),
            });
        }
    }
    let ids: Vec<&[u8]> = batch
        .nodes
        .iter()
        .map(|n| n.id.digest().as_bytes().as_slice())
        .collect();
    let found = tx
        .query(
            "SELECT node_id, leaf FROM evl_id WHERE log_id = $1 AND node_id = ANY($2)",
            &[&log, &ids],
        )
        .map_err(pg)?;
    let mut stored = found
        .into_iter()
        .map(|r| Ok((r.try_get(0).map_err(col)?, r.try_get(1).map_err(col)?)))
        .collect::<Result<HashMap<Vec<u8>, i64>, StoreError>>()?;
    for n in &batch.nodes {
        if let Some(leaf) = stored.remove(n.id.digest().as_bytes().as_slice()) {
            return Err(StoreError::DuplicateNodeId {
                id: n.id,
                index: unsigned(leaf, "an id-map leaf")?,
            });
        }
    }
    Ok(())
}

/// The batch's nodes and id-map entries, by binary COPY.
fn copy_nodes(tx: &mut Tx<'_>, log: i32, batch: &Batch) -> Result<(), StoreError> {
    let sink = tx
        .copy_in("COPY evl_node (log_id, leaf, content) FROM STDIN (FORMAT binary)")
        .map_err(pg)?;
    let mut w = BinaryCopyInWriter::new(sink, &[Type::INT4, Type::INT8, Type::BYTEA]);
    for n in &batch.nodes {
        let leaf = signed(n.index.get(), "a leaf index")?;
        let content: Option<&[u8]> = (!n.bytes.is_empty()).then_some(n.bytes.as_slice());
        w.write(&[&log, &leaf, &content]).map_err(pg)?;
    }
    w.finish().map_err(pg)?;
    let sink = tx
        .copy_in("COPY evl_id (log_id, node_id, leaf) FROM STDIN (FORMAT binary)")
        .map_err(pg)?;
    let mut w = BinaryCopyInWriter::new(sink, &[Type::INT4, Type::BYTEA, Type::INT8]);
    for n in &batch.nodes {
        let leaf = signed(n.index.get(), "a leaf index")?;
        let id: &[u8] = n.id.digest().as_bytes();
        w.write(&[&log, &id, &leaf]).map_err(pg)?;
    }
    w.finish().map_err(pg)?;
    Ok(())
}

/// Records the batch's redactions and deletes the content through `evl_redact`.
fn redact(tx: &mut Tx<'_>, log: i32, batch: &Batch, mode: Mode) -> Result<(), StoreError> {
    let leaves = batch
        .redact
        .iter()
        .map(|r| signed(r.index.get(), "a leaf index"))
        .collect::<Result<Vec<i64>, _>>()?;
    let records = batch
        .redact
        .iter()
        .map(|r| signed(r.record.get(), "a leaf index"))
        .collect::<Result<Vec<i64>, _>>()?;
    tx.execute(
        "INSERT INTO evl_redaction (log_id, leaf, record) SELECT $1, l, r FROM unnest($2::bigint[], $3::bigint[]) AS t(l, r)",
        &[&log, &leaves, &records],
    )
    .map_err(pg)?;
    let strict = mode == Mode::Commit;
    tx.execute("SELECT evl_redact($1, $2, $3)", &[&log, &leaves, &strict])
        .map_err(pg)?;
    Ok(())
}

/// Adds the batch's hashes to their tiles (the storage v2 commit rule, `tile::extend`): each
/// tile that grew is a new row of its new width; the narrower rows it supersedes are dropped
/// through `evl_prune_tiles`.
fn put_hashes(tx: &mut Tx<'_>, log: i32, hashes: &[StoredHash]) -> Result<(), StoreError> {
    let grouped = tile::group(hashes)?;
    let addrs: Vec<TileAddr> = grouped.keys().copied().collect();
    let mut stored = HashMap::new();
    for (addr, row) in widest_rows(tx, log, &addrs)? {
        stored.insert(addr, Tile::decode(addr, &row)?);
    }
    let (mut levels, mut indexes, mut widths, mut data) = (vec![], vec![], vec![], vec![]);
    let mut superseded = (vec![], vec![], vec![]);
    for (addr, items) in grouped {
        let old = stored.remove(&addr);
        let had = old.as_ref().map_or(0, Tile::width);
        let mut t = old.unwrap_or_default();
        tile::extend(&mut t, addr, &items)?;
        if t.width() == had {
            continue;
        }
        let level = addr.level as i16;
        let index = signed(addr.index, "a tile index")?;
        let width = t.width() as i16;
        if had > 0 {
            superseded.0.push(level);
            superseded.1.push(index);
            superseded.2.push(width);
        }
        levels.push(level);
        indexes.push(index);
        widths.push(width);
        data.push(t.encode());
    }
    if !levels.is_empty() {
        tx.execute(
            "INSERT INTO evl_tile (log_id, tile_level, tile_index, width, data)
             SELECT $1, l, i, w, d FROM unnest($2::smallint[], $3::bigint[], $4::smallint[], $5::bytea[]) AS t(l, i, w, d)",
            &[&log, &levels, &indexes, &widths, &data],
        )
        .map_err(pg)?;
    }
    if !superseded.0.is_empty() {
        tx.execute(
            "SELECT evl_prune_tiles($1, $2, $3, $4)",
            &[&log, &superseded.0, &superseded.1, &superseded.2],
        )
        .map_err(pg)?;
    }
    Ok(())
}

/// The batch's checkpoints. A size that has one already must be given the same text: a log
/// signs one root per size, and the table's key keeps a second one out.
fn put_checkpoints(tx: &mut Tx<'_>, log: i32, batch: &Batch) -> Result<(), StoreError> {
    if batch.checkpoints.is_empty() {
        return Ok(());
    }
    let sizes = batch
        .checkpoints
        .iter()
        .map(|(s, _)| signed(s.get(), "a tree size"))
        .collect::<Result<Vec<i64>, _>>()?;
    let notes: Vec<&str> = batch.checkpoints.iter().map(|(_, n)| n.as_str()).collect();
    // One statement in the usual case (every size new); only when a size had a checkpoint
    // already are the stored ones read back, and each must be the same text.
    let inserted = tx
        .execute(
            "INSERT INTO evl_checkpoint (log_id, tree_size, note) SELECT $1, s, n FROM unnest($2::bigint[], $3::text[]) AS t(s, n)
             ON CONFLICT (log_id, tree_size) DO NOTHING",
            &[&log, &sizes, &notes],
        )
        .map_err(pg)?;
    if inserted as usize == sizes.len() {
        return Ok(());
    }
    let stored = tx
        .query(
            "SELECT tree_size, note FROM evl_checkpoint WHERE log_id = $1 AND tree_size = ANY($2)",
            &[&log, &sizes],
        )
        .map_err(pg)?
        .into_iter()
        .map(|r| Ok((r.try_get(0).map_err(col)?, r.try_get(1).map_err(col)?)))
        .collect::<Result<HashMap<i64, String>, StoreError>>()?;
    for (s, n) in sizes.iter().zip(&notes) {
        if stored.get(s).is_some_and(|old| old != n) {
            return Err(StoreError::Invalid(format!(
                "another checkpoint is stored for tree size {s}; a log signs one root per size"
            )));
        }
    }
    Ok(())
}

/// The batch's anchors (a sequence number stored already must be given the same envelope);
/// returns the last anchor after the batch.
fn put_anchors(
    tx: &mut Tx<'_>,
    log: i32,
    batch: &Batch,
    last: Option<u64>,
) -> Result<Option<u64>, StoreError> {
    let mut last = last;
    for (seq, env) in &batch.anchors {
        let s = signed(*seq, "an anchor sequence number")?;
        let old = tx
            .query_opt(
                "SELECT envelope FROM evl_anchor WHERE log_id = $1 AND seq = $2",
                &[&log, &s],
            )
            .map_err(pg)?;
        match old {
            Some(r) if r.try_get::<_, &[u8]>(0).map_err(col)? == env.as_slice() => {}
            Some(_) => {
                return Err(StoreError::Invalid(format!(
                    "another anchor is stored with sequence number {seq}; anchors are never rewritten"
                )));
            }
            None => {
                tx.execute(
                    "INSERT INTO evl_anchor (log_id, seq, envelope) VALUES ($1, $2, $3)",
                    &[&log, &s, env],
                )
                .map_err(pg)?;
            }
        }
        last = Some(last.map_or(*seq, |l| l.max(*seq)));
    }
    Ok(last)
}

/// Applies `repair` (the module contract of `Store::repair`) through the schema's repair
/// functions, in one transaction.
pub(super) fn repair(c: &mut Conn, log: i32, repair: &Repair) -> Result<(), StoreError> {
    let mut tx = c.transaction().map_err(pg)?;
    let size = tx
        .query_opt(
            "SELECT tree_size FROM evl_log WHERE log_id = $1 FOR UPDATE",
            &[&log],
        )
        .map_err(pg)?
        .ok_or_else(|| StoreError::Damaged(format!("the state row of log {log} is gone")))?;
    let size = unsigned(size.try_get(0).map_err(col)?, "the tree size")?;
    repair.check_bounds(size)?;
    if !repair.nodes.is_empty() || !repair.ids.is_empty() {
        let leaves = repair
            .nodes
            .iter()
            .map(|(i, _)| signed(i.get(), "a leaf index"))
            .collect::<Result<Vec<i64>, _>>()?;
        let contents: Vec<&[u8]> = repair.nodes.iter().map(|(_, b)| b.as_slice()).collect();
        let ids: Vec<&[u8]> = repair
            .ids
            .iter()
            .map(|(id, _)| id.digest().as_bytes().as_slice())
            .collect();
        let id_leaves = repair
            .ids
            .iter()
            .map(|(_, i)| signed(i.get(), "a leaf index"))
            .collect::<Result<Vec<i64>, _>>()?;
        tx.execute(
            "SELECT evl_repair($1, $2, $3, $4, $5)",
            &[&log, &leaves, &contents, &ids, &id_leaves],
        )
        .map_err(pg)?;
    }
    if !repair.hashes.is_empty() {
        let mut by_tile: BTreeMap<TileAddr, Vec<&StoredHash>> = BTreeMap::new();
        for h in &repair.hashes {
            by_tile
                .entry(crate::store::v2::tile::locate(h.level, h.index).0)
                .or_default()
                .push(h);
        }
        let addrs: Vec<TileAddr> = by_tile.keys().copied().collect();
        // A stored tile that cannot be read is rebuilt from the repair's base hashes.
        let stored: HashMap<TileAddr, Vec<u8>> = widest_rows(&mut tx, log, &addrs)?.into_iter().collect();
        for (addr, hs) in by_tile {
            let readable = stored.get(&addr).and_then(|row| Tile::decode(addr, row).ok());
            let t = tile::repaired(addr, size, readable, &hs)?;
            tx.execute(
                "SELECT evl_repair_tile($1, $2, $3, $4, $5)",
                &[
                    &log,
                    &(addr.level as i16),
                    &signed(addr.index, "a tile index")?,
                    &(t.width() as i16),
                    &t.encode(),
                ],
            )
            .map_err(pg)?;
        }
    }
    tx.commit().map_err(pg)
}
