//! The id map of storage v2 (docs/design.md, "Storage v2"): NodeId → leaf as immutable sorted
//! runs, so that appending never rewrites a page at a random key.
//!
//! An entry is a NodeId's digest and its leaf: 40 bytes. Each commit writes its new entries
//! as one run sorted by digest, at level 0; when a level holds [`FAN_IN`] runs, they are
//! merged into one run of the next level (size-tiered, so an entry is rewritten about
//! `log₈ n` times, always sequentially). The full digest is kept so that a lookup is exact and
//! the map can be listed in digest order (`Snapshot::scan_ids`).
//!
//! Rows, in one table keyed by `u64`:
//! - `0`: the [`Manifest`], the list of live runs;
//! - `run << 32 | c`: chunk `c` of run `run` (runs are numbered from 1), up to
//!   [`CHUNK_ENTRIES`] entries;
//! - `run << 32 | SUMMARY`: the run's [`Summary`]: the first prefix of each chunk (its fence)
//!   (first 8 bytes of its first digest) and a blocked Bloom filter over those 8-byte
//!   prefixes, so that a lookup of a NodeId the map does not hold (every new node's dedup
//!   check) reads no chunk at all in most runs.
//!
//! Every row ends with a checksum ([`super::checksum`]). A run, once written, never changes;
//! its summary is cached in memory under the run's number and its summary's checksum.

use super::checksum;
use crate::store::StoreError;
use evl_sdk::NodeId;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::sync::{Arc, Mutex};

/// Entries per chunk row. Rationale: 128 × 40 B = 5 KiB, a little over one page of redb's,
/// so a lookup reads about one page per run it cannot rule out.
pub const CHUNK_ENTRIES: usize = 128;
/// Runs a level holds before they merge into one run of the next. Rationale: a lookup checks
/// up to `FAN_IN − 1` runs per level, and an entry is rewritten `log_FAN_IN n` times; 8 keeps
/// both small (at 10 M nodes: about 8 rewrites, at most about 40 runs, each ruled out by its
/// Bloom filter in one cache line).
pub const FAN_IN: usize = 8;
/// Bloom filter bits per entry. Rationale: 10 bits with 7 probes in one 512-bit block gives
/// about 1 % false positives, so a new node's dedup reads a chunk in one run of a hundred.
pub const BLOOM_BITS_PER_ENTRY: u64 = 10;
/// Probes per Bloom lookup.
const BLOOM_PROBES: u32 = 7;
/// The chunk number of a run's summary row.
const SUMMARY: u64 = u32::MAX as u64;
/// The manifest's row key.
pub const MANIFEST_KEY: u64 = 0;
/// The row layout's version byte (every row kind).
const VERSION: u8 = 1;

/// The first 8 bytes of a digest, big-endian: what fences and Bloom filters hold.
fn prefix_of(digest: &[u8; 32]) -> u64 {
    u64::from_be_bytes([
        digest[0], digest[1], digest[2], digest[3], digest[4], digest[5], digest[6], digest[7],
    ])
}

/// One entry: a NodeId's digest and its leaf. Runs are sorted by `(digest, leaf)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Entry {
    /// The NodeId's SHA-256 digest.
    pub id: [u8; 32],
    /// The leaf index.
    pub leaf: u64,
}

impl Entry {
    /// The entry of `id` at `leaf`.
    pub fn new(id: &NodeId, leaf: u64) -> Self {
        Self {
            id: *id.digest().as_bytes(),
            leaf,
        }
    }

    /// The NodeId.
    pub fn node_id(&self) -> NodeId {
        NodeId::from_digest(evl_sdk::Digest::from_bytes(self.id))
    }

    fn prefix(&self) -> u64 {
        prefix_of(&self.id)
    }
}

/// Reads rows of the id map's table.
pub trait Rows {
    /// The row at `key`.
    fn get(&self, key: u64) -> Result<Option<Vec<u8>>, StoreError>;
}

/// Writes rows of the id map's table (inside the commit's transaction).
pub trait RowsMut: Rows {
    /// Inserts or replaces the row at `key`.
    fn put(&mut self, key: u64, value: Vec<u8>) -> Result<(), StoreError>;
    /// Removes the row at `key`.
    fn delete(&mut self, key: u64) -> Result<(), StoreError>;
}

/// A live run, as the manifest lists it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RunInfo {
    /// The run's number (≥ 1, never reused).
    pub id: u64,
    /// Its level: 0 when a commit wrote it, `k + 1` when it merged runs of level `k`.
    pub level: u8,
    /// Entries.
    pub entries: u64,
    /// The checksum of its summary row: what the summary cache is keyed by.
    pub summary_sum: [u8; 32],
}

/// The list of live runs, newest last, and the next run number.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Manifest {
    /// The number the next run gets.
    pub next_id: u64,
    /// Live runs, oldest first.
    pub runs: Vec<RunInfo>,
}

fn damaged(what: &str, m: impl std::fmt::Display) -> StoreError {
    StoreError::Damaged(format!("the id map's {what}: {m}"))
}

/// A tiny reader over a row body that never panics.
struct Cursor<'a>(&'a [u8]);

impl<'a> Cursor<'a> {
    fn take<const N: usize>(&mut self, what: &str) -> Result<[u8; N], StoreError> {
        let (h, rest) = self
            .0
            .split_first_chunk::<N>()
            .ok_or_else(|| damaged(what, "truncated"))?;
        self.0 = rest;
        Ok(*h)
    }
    fn u64(&mut self, what: &str) -> Result<u64, StoreError> {
        self.take::<8>(what).map(u64::from_be_bytes)
    }
    fn version(&mut self, what: &str) -> Result<(), StoreError> {
        match self.take::<1>(what)? {
            [VERSION] => Ok(()),
            [v] => Err(damaged(what, format!("layout version {v}, not {VERSION}"))),
        }
    }
    fn end(&self, what: &str) -> Result<(), StoreError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(damaged(what, format!("{} bytes too many", self.0.len())))
        }
    }
}

impl Manifest {
    fn encode(&self) -> Vec<u8> {
        let mut out = vec![VERSION];
        out.extend_from_slice(&self.next_id.to_be_bytes());
        out.extend_from_slice(&(self.runs.len() as u64).to_be_bytes());
        for r in &self.runs {
            out.extend_from_slice(&r.id.to_be_bytes());
            out.push(r.level);
            out.extend_from_slice(&r.entries.to_be_bytes());
            out.extend_from_slice(&r.summary_sum);
        }
        checksum::seal(out)
    }

    fn decode(row: &[u8]) -> Result<Self, StoreError> {
        let what = "manifest";
        let mut c = Cursor(checksum::open(row, || format!("the id map's {what}"))?);
        c.version(what)?;
        let next_id = c.u64(what)?;
        let n = c.u64(what)?;
        // 49 bytes per run: a count beyond what the row holds is damage, not an allocation.
        if n > c.0.len() as u64 / 49 {
            return Err(damaged(what, format!("{n} runs do not fit the row")));
        }
        let mut runs = Vec::with_capacity(n as usize);
        for _ in 0..n {
            let id = c.u64(what)?;
            let [level] = c.take::<1>(what)?;
            let entries = c.u64(what)?;
            let summary_sum = c.take::<32>(what)?;
            if id == 0 || id >= next_id || id >= 1 << 32 {
                return Err(damaged(what, format!("run number {id} is out of range")));
            }
            runs.push(RunInfo {
                id,
                level,
                entries,
                summary_sum,
            });
        }
        c.end(what)?;
        Ok(Self { next_id, runs })
    }

    /// The manifest stored in `rows` (empty if none yet).
    pub fn read(rows: &dyn Rows) -> Result<Self, StoreError> {
        match rows.get(MANIFEST_KEY)? {
            Some(row) => Self::decode(&row),
            None => Ok(Self {
                next_id: 1,
                runs: Vec::new(),
            }),
        }
    }

    /// Entries in all runs (one per stored NodeId).
    pub fn entries(&self) -> u64 {
        self.runs.iter().map(|r| r.entries).sum()
    }
}

/// A run's fences and Bloom filter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Summary {
    /// The first prefix of each chunk.
    fences: Vec<u64>,
    /// 512-bit blocks.
    bloom: Vec<[u64; 8]>,
}

impl Summary {
    /// An empty summary sized for a run of `entries` entries.
    fn sized(entries: u64) -> Self {
        let blocks = (entries * BLOOM_BITS_PER_ENTRY).div_ceil(512).max(1);
        Self {
            fences: Vec::with_capacity(entries.div_ceil(CHUNK_ENTRIES as u64) as usize),
            bloom: vec![[0u64; 8]; blocks as usize],
        }
    }

    /// Adds the `k`-th entry of the run (a new chunk starts every [`CHUNK_ENTRIES`]).
    fn add(&mut self, k: u64, e: &Entry) {
        if k.is_multiple_of(CHUNK_ENTRIES as u64) {
            self.fences.push(e.prefix());
        }
        let (b, bits) = Self::probes(e.prefix(), self.bloom.len() as u64);
        for bit in bits {
            self.bloom[b][(bit / 64) as usize] |= 1 << (bit % 64);
        }
    }

    /// The block and the bits in it for `prefix` (already uniform: a prefix of SHA-256).
    fn probes(prefix: u64, blocks: u64) -> (usize, impl Iterator<Item = u32>) {
        let block = ((u128::from(prefix) * u128::from(blocks)) >> 64) as usize;
        let mut h = prefix.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
        let bits = (0..BLOOM_PROBES).map(move |_| {
            h ^= h >> 29;
            h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
            (h >> 55) as u32
        });
        (block, bits)
    }

    /// Whether the run may hold `prefix` (false: it does not).
    fn may_hold(&self, prefix: u64) -> bool {
        let (b, mut bits) = Self::probes(prefix, self.bloom.len() as u64);
        let block = &self.bloom[b];
        bits.all(|bit| block[(bit / 64) as usize] & (1 << (bit % 64)) != 0)
    }

    /// The chunks that may hold `prefix`.
    fn chunks(&self, prefix: u64) -> std::ops::Range<usize> {
        let start = self.fences.partition_point(|f| *f < prefix).saturating_sub(1);
        let end = self.fences.partition_point(|f| *f <= prefix).max(start + 1);
        start..end.min(self.fences.len())
    }

    fn encode(&self) -> Vec<u8> {
        let mut out = vec![VERSION];
        out.extend_from_slice(&(self.fences.len() as u64).to_be_bytes());
        for f in &self.fences {
            out.extend_from_slice(&f.to_be_bytes());
        }
        out.extend_from_slice(&(self.bloom.len() as u64).to_be_bytes());
        for block in &self.bloom {
            for w in block {
                out.extend_from_slice(&w.to_be_bytes());
            }
        }
        checksum::seal(out)
    }

    fn decode(row: &[u8], run: &RunInfo) -> Result<Self, StoreError> {
        let what = format!("summary of run {}", run.id);
        let body = checksum::open(row, || format!("the id map's {what}"))?;
        if blake3::hash(row).as_bytes() != &run.summary_sum {
            return Err(damaged(&what, "it is not the summary the manifest names"));
        }
        let mut c = Cursor(body);
        c.version(&what)?;
        let n = c.u64(&what)?;
        if n != run.entries.div_ceil(CHUNK_ENTRIES as u64) || n > c.0.len() as u64 / 8 {
            return Err(damaged(&what, format!("{n} fences for {} entries", run.entries)));
        }
        let fences = (0..n).map(|_| c.u64(&what)).collect::<Result<Vec<_>, _>>()?;
        let blocks = c.u64(&what)?;
        if blocks == 0 || blocks != c.0.len() as u64 / 64 {
            return Err(damaged(
                &what,
                format!("{blocks} Bloom blocks do not fit the row"),
            ));
        }
        let mut bloom = Vec::with_capacity(blocks as usize);
        for _ in 0..blocks {
            let mut block = [0u64; 8];
            for w in &mut block {
                *w = c.u64(&what)?;
            }
            bloom.push(block);
        }
        c.end(&what)?;
        Ok(Self { fences, bloom })
    }
}

fn chunk_key(run: u64, chunk: u64) -> u64 {
    (run << 32) | chunk
}

fn encode_chunk(entries: &[Entry]) -> Vec<u8> {
    let mut out = Vec::with_capacity(3 + 40 * entries.len() + checksum::CHECKSUM_LEN);
    out.push(VERSION);
    out.extend_from_slice(&(entries.len() as u16).to_be_bytes());
    for e in entries {
        out.extend_from_slice(&e.id);
        out.extend_from_slice(&e.leaf.to_be_bytes());
    }
    checksum::seal(out)
}

/// The leaf of `digest` in a chunk row, by binary search over its fixed-size entries (the
/// checksum and the layout are checked; nothing is copied).
fn find_in_chunk(row: &[u8], run: u64, chunk: u64, digest: &[u8; 32]) -> Result<Option<u64>, StoreError> {
    let what = || format!("chunk {chunk} of run {run}");
    let body = checksum::open(row, || format!("the id map's {}", what()))?;
    let entries = match body {
        [VERSION, a, b, rest @ ..] if rest.len() == 40 * u16::from_be_bytes([*a, *b]) as usize => rest,
        _ => return Err(damaged(&what(), "not a chunk of entries")),
    };
    let (mut lo, mut hi) = (0, entries.len() / 40);
    while lo < hi {
        let mid = (lo + hi) / 2;
        let e = &entries[mid * 40..mid * 40 + 40];
        match e[..32].cmp(digest.as_slice()) {
            std::cmp::Ordering::Less => lo = mid + 1,
            std::cmp::Ordering::Greater => hi = mid,
            std::cmp::Ordering::Equal => {
                let mut leaf = [0u8; 8];
                leaf.copy_from_slice(&e[32..]);
                return Ok(Some(u64::from_be_bytes(leaf)));
            }
        }
    }
    Ok(None)
}

fn decode_chunk(row: &[u8], run: u64, chunk: u64) -> Result<Vec<Entry>, StoreError> {
    let what = format!("chunk {chunk} of run {run}");
    let mut c = Cursor(checksum::open(row, || format!("the id map's {what}"))?);
    c.version(&what)?;
    let n = u16::from_be_bytes(c.take::<2>(&what)?) as usize;
    if n == 0 || n > CHUNK_ENTRIES || c.0.len() != 40 * n {
        return Err(damaged(&what, format!("{n} entries do not fit the row")));
    }
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        out.push(Entry {
            id: c.take::<32>(&what)?,
            leaf: c.u64(&what)?,
        });
    }
    if out.windows(2).any(|w| w[0] > w[1]) {
        return Err(damaged(&what, "its entries are out of order"));
    }
    Ok(out)
}

/// Summaries of runs, in memory, keyed by run number and summary checksum (so a summary
/// read from one file is never used for another, nor for a run number an aborted commit
/// used). Shared by every snapshot of a store.
#[derive(Default)]
pub struct SummaryCache(Mutex<HashMap<SummaryKey, Arc<Summary>>>);

/// A cached summary's key: the run's number and its summary row's checksum.
type SummaryKey = (u64, [u8; 32]);

impl SummaryCache {
    fn get(&self, rows: &dyn Rows, run: &RunInfo) -> Result<Arc<Summary>, StoreError> {
        let key = (run.id, run.summary_sum);
        if let Some(s) = self.0.lock().ok().and_then(|m| m.get(&key).cloned()) {
            return Ok(s);
        }
        let row = rows
            .get(chunk_key(run.id, SUMMARY))?
            .ok_or_else(|| damaged(&format!("summary of run {}", run.id), "missing"))?;
        let s = Arc::new(Summary::decode(&row, run)?);
        if let Ok(mut m) = self.0.lock() {
            m.insert(key, s.clone());
        }
        Ok(s)
    }

    /// `manifest`'s runs with their summaries.
    pub fn resolve(&self, rows: &dyn Rows, manifest: &Manifest) -> Result<Resolved, StoreError> {
        manifest
            .runs
            .iter()
            .map(|r| Ok((*r, self.get(rows, r)?)))
            .collect::<Result<_, StoreError>>()
            .map(Resolved)
    }

    /// Forgets runs no longer in `manifest` (after merges), so memory follows the live map.
    pub fn retain(&self, manifest: &Manifest) {
        if let Ok(mut m) = self.0.lock() {
            m.retain(|(id, sum), _| manifest.runs.iter().any(|r| r.id == *id && r.summary_sum == *sum));
        }
    }
}

/// The live runs with their summaries, newest last: what a lookup asks, resolved once per
/// snapshot ([`SummaryCache::resolve`]) rather than once per lookup and run.
pub struct Resolved(Vec<(RunInfo, Arc<Summary>)>);

/// The leaf of `id`, if the map holds it (the newest run's entry first).
pub fn lookup(
    rows: &dyn Rows,
    manifest: &Manifest,
    cache: &SummaryCache,
    id: &NodeId,
) -> Result<Option<u64>, StoreError> {
    lookup_in(rows, &cache.resolve(rows, manifest)?, id)
}

/// [`lookup`] in runs already resolved.
pub fn lookup_in(rows: &dyn Rows, runs: &Resolved, id: &NodeId) -> Result<Option<u64>, StoreError> {
    let digest = id.digest().as_bytes();
    let prefix = prefix_of(digest);
    for (run, s) in runs.0.iter().rev() {
        if !s.may_hold(prefix) {
            continue;
        }
        for c in s.chunks(prefix) {
            let c = c as u64;
            let row = rows
                .get(chunk_key(run.id, c))?
                .ok_or_else(|| damaged(&format!("chunk {c} of run {}", run.id), "missing"))?;
            if let Some(leaf) = find_in_chunk(&row, run.id, c, digest)? {
                return Ok(Some(leaf));
            }
        }
    }
    Ok(None)
}

/// Reads one run chunk by chunk, in order: at most one chunk in memory.
struct RunCursor {
    run: RunInfo,
    chunk: u64,
    buf: std::vec::IntoIter<Entry>,
    head: Option<Entry>,
    seen: u64,
}

impl RunCursor {
    fn new(rows: &dyn Rows, run: RunInfo) -> Result<Self, StoreError> {
        let mut c = Self {
            run,
            chunk: 0,
            buf: Vec::new().into_iter(),
            head: None,
            seen: 0,
        };
        c.advance(rows)?;
        Ok(c)
    }

    /// Moves `head` to the next entry (`None` at the end, after checking the count).
    fn advance(&mut self, rows: &dyn Rows) -> Result<(), StoreError> {
        let what = || format!("run {}", self.run.id);
        loop {
            if let Some(e) = self.buf.next() {
                if self.head.is_some_and(|h| h > e) {
                    return Err(damaged(&what(), "its entries are out of order"));
                }
                self.head = Some(e);
                self.seen += 1;
                return Ok(());
            }
            if self.chunk == self.run.entries.div_ceil(CHUNK_ENTRIES as u64) {
                if self.seen != self.run.entries {
                    return Err(damaged(
                        &what(),
                        format!("{} entries, the manifest says {}", self.seen, self.run.entries),
                    ));
                }
                self.head = None;
                return Ok(());
            }
            let row = rows
                .get(chunk_key(self.run.id, self.chunk))?
                .ok_or_else(|| damaged(&format!("chunk {} of run {}", self.chunk, self.run.id), "missing"))?;
            self.buf = decode_chunk(&row, self.run.id, self.chunk)?.into_iter();
            self.chunk += 1;
        }
    }
}

/// The runs' entries merged in digest order, one chunk per run in memory.
struct Merge {
    cursors: Vec<RunCursor>,
    heap: BinaryHeap<Reverse<(Entry, usize)>>,
}

impl Merge {
    fn new(rows: &dyn Rows, runs: &[RunInfo]) -> Result<Self, StoreError> {
        let cursors = runs
            .iter()
            .map(|r| RunCursor::new(rows, *r))
            .collect::<Result<Vec<_>, _>>()?;
        let heap = cursors
            .iter()
            .enumerate()
            .filter_map(|(i, c)| c.head.map(|e| Reverse((e, i))))
            .collect();
        Ok(Self { cursors, heap })
    }

    fn next(&mut self, rows: &dyn Rows) -> Result<Option<Entry>, StoreError> {
        let Some(Reverse((e, i))) = self.heap.pop() else {
            return Ok(None);
        };
        let c = &mut self.cursors[i];
        c.advance(rows)?;
        if let Some(n) = c.head {
            self.heap.push(Reverse((n, i)));
        }
        Ok(Some(e))
    }
}

/// Calls `f` with every entry of every run in digest order; stops when `f` says so.
pub fn scan(
    rows: &dyn Rows,
    manifest: &Manifest,
    f: &mut dyn FnMut(Entry) -> bool,
) -> Result<(), StoreError> {
    let mut m = Merge::new(rows, &manifest.runs)?;
    while let Some(e) = m.next(rows)? {
        if !f(e) {
            break;
        }
    }
    Ok(())
}

/// Where [`write_run`] takes its entries from: given the rows (a merge reads the runs it
/// merges between the chunks it writes), the next entry in order.
type NextEntry<'a> = dyn FnMut(&dyn Rows) -> Result<Option<Entry>, StoreError> + 'a;

/// Writes a run from entries in order (`total` of them), chunk by chunk, with its summary.
fn write_run(
    rows: &mut impl RowsMut,
    id: u64,
    level: u8,
    total: u64,
    next: &mut NextEntry<'_>,
) -> Result<RunInfo, StoreError> {
    if id >= 1 << 32 {
        return Err(StoreError::Invalid("the id map ran out of run numbers".into()));
    }
    let mut summary = Summary::sized(total);
    let mut chunk = Vec::with_capacity(CHUNK_ENTRIES);
    let mut k = 0u64;
    while let Some(e) = next(&*rows)? {
        summary.add(k, &e);
        chunk.push(e);
        k += 1;
        if chunk.len() == CHUNK_ENTRIES {
            rows.put(
                chunk_key(id, (k - 1) / CHUNK_ENTRIES as u64),
                encode_chunk(&chunk),
            )?;
            chunk.clear();
        }
    }
    if !chunk.is_empty() {
        rows.put(
            chunk_key(id, (k - 1) / CHUNK_ENTRIES as u64),
            encode_chunk(&chunk),
        )?;
    }
    if k != total {
        return Err(damaged(
            &format!("merge into run {id}"),
            format!("{k} entries, expected {total}"),
        ));
    }
    let summary = summary.encode();
    let summary_sum = *blake3::hash(&summary).as_bytes();
    rows.put(chunk_key(id, SUMMARY), summary)?;
    Ok(RunInfo {
        id,
        level,
        entries: total,
        summary_sum,
    })
}

fn delete_run(rows: &mut impl RowsMut, run: &RunInfo) -> Result<(), StoreError> {
    for c in 0..run.entries.div_ceil(CHUNK_ENTRIES as u64) {
        rows.delete(chunk_key(run.id, c))?;
    }
    rows.delete(chunk_key(run.id, SUMMARY))
}

/// Adds a commit's new entries as one run, then merges every level that reached [`FAN_IN`]
/// runs (streaming: one chunk per run in memory); writes the new manifest and returns it.
/// All inside the caller's transaction.
pub fn add(rows: &mut impl RowsMut, mut entries: Vec<Entry>) -> Result<Manifest, StoreError> {
    let mut m = Manifest::read(&*rows)?;
    if entries.is_empty() {
        return Ok(m);
    }
    entries.sort_unstable();
    let total = entries.len() as u64;
    let mut it = entries.into_iter();
    let run = write_run(rows, m.next_id, 0, total, &mut |_| Ok(it.next()))?;
    m.next_id += 1;
    m.runs.push(run);
    while let Some(level) = (0..=u8::MAX).find(|l| m.runs.iter().filter(|r| r.level == *l).count() >= FAN_IN)
    {
        let (old, keep): (Vec<RunInfo>, Vec<RunInfo>) = m.runs.iter().partition(|r| r.level == level);
        let total = old.iter().map(|r| r.entries).sum();
        let mut merge = Merge::new(&*rows, &old)?;
        let run = write_run(rows, m.next_id, level.saturating_add(1), total, &mut |r| {
            merge.next(r)
        })?;
        m.next_id += 1;
        for r in &old {
            delete_run(rows, r)?;
        }
        m.runs = keep;
        m.runs.push(run);
    }
    rows.put(MANIFEST_KEY, m.encode())?;
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    #[derive(Default)]
    struct Mem(BTreeMap<u64, Vec<u8>>);
    impl Rows for Mem {
        fn get(&self, key: u64) -> Result<Option<Vec<u8>>, StoreError> {
            Ok(self.0.get(&key).cloned())
        }
    }
    impl RowsMut for Mem {
        fn put(&mut self, key: u64, value: Vec<u8>) -> Result<(), StoreError> {
            self.0.insert(key, value);
            Ok(())
        }
        fn delete(&mut self, key: u64) -> Result<(), StoreError> {
            self.0.remove(&key);
            Ok(())
        }
    }

    fn id(i: u64) -> NodeId {
        NodeId::of_canonical(format!(r#"{{"i":{i}}}"#).as_bytes())
    }

    /// A NodeId whose first 8 bytes equal those of `id(0)`: a prefix collision.
    fn twin(i: u64) -> NodeId {
        let mut d = *id(i).digest().as_bytes();
        d[..8].copy_from_slice(&id(0).digest().as_bytes()[..8]);
        NodeId::from_digest(evl_sdk::Digest::from_bytes(d))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]
        /// Against a plain map: after any sequence of commits, every stored NodeId finds its
        /// leaf (also when many share their first 8 bytes), absent ones find nothing, the scan
        /// lists every entry once in digest order, the manifest counts them, no level is left
        /// holding FAN_IN runs, and merged-away runs leave no rows.
        #[test]
        fn runs_answer_like_a_map(batches in proptest::collection::vec(0usize..300, 1..40), collide in 0u64..4) {
            let mut rows = Mem::default();
            let cache = SummaryCache::default();
            let mut model: BTreeMap<[u8; 32], u64> = BTreeMap::new();
            let mut leaf = 0u64;
            let mut m = Manifest::read(&rows).unwrap();
            for n in batches {
                let mut entries = Vec::new();
                for _ in 0..n {
                    let nid = if collide > 0 && leaf.is_multiple_of(collide + 5) { twin(leaf) } else { id(leaf) };
                    entries.push(Entry::new(&nid, leaf));
                    model.insert(*nid.digest().as_bytes(), leaf);
                    leaf += 1;
                }
                m = add(&mut rows, entries).unwrap();
                for l in 0..=u8::MAX {
                    prop_assert!(m.runs.iter().filter(|r| r.level == l).count() < FAN_IN);
                }
            }
            prop_assert_eq!(m.entries(), leaf);
            prop_assert_eq!(Manifest::read(&rows).unwrap(), m.clone());
            for (d, l) in &model {
                let nid = NodeId::from_digest(evl_sdk::Digest::from_bytes(*d));
                prop_assert_eq!(lookup(&rows, &m, &cache, &nid).unwrap(), Some(*l));
            }
            for i in 0..50 {
                prop_assert_eq!(lookup(&rows, &m, &cache, &id(1_000_000 + i)).unwrap(), None);
                prop_assert_eq!(lookup(&rows, &m, &cache, &twin(1_000_000 + i)).unwrap(), None);
            }
            let mut all = Vec::new();
            scan(&rows, &m, &mut |e| { all.push((e.id, e.leaf)); true }).unwrap();
            prop_assert_eq!(all, model.into_iter().collect::<Vec<_>>());
            let live: u64 = m.runs.iter().map(|r| r.entries.div_ceil(CHUNK_ENTRIES as u64) + 1).sum();
            prop_assert_eq!(rows.0.len() as u64, live + 1);
        }

        /// Hostile rows: every row kind decodes to STORE_DAMAGED or a value, never a panic.
        #[test]
        fn hostile_rows_never_panic(body in proptest::collection::vec(any::<u8>(), 0..1200), sealed in any::<bool>()) {
            let row = if sealed { checksum::seal(body) } else { body };
            let run = RunInfo { id: 1, level: 0, entries: 3, summary_sum: *blake3::hash(&row).as_bytes() };
            for r in [Manifest::decode(&row).map(|_| ()), Summary::decode(&row, &run).map(|_| ()), decode_chunk(&row, 1, 0).map(|_| ()), find_in_chunk(&row, 1, 0, &[7; 32]).map(|_| ())] {
                if let Err(e) = r {
                    prop_assert_eq!(e.code(), "STORE_DAMAGED");
                }
            }
        }
    }

    #[test]
    fn a_new_nodes_lookup_reads_few_chunks() {
        // 64 commits' runs, then 2,000 NodeIds that are not stored: the Bloom filters rule
        // almost every run out without reading a chunk.
        struct Counting<'a>(&'a Mem, std::cell::Cell<u64>);
        impl Rows for Counting<'_> {
            fn get(&self, key: u64) -> Result<Option<Vec<u8>>, StoreError> {
                if key & SUMMARY != SUMMARY && key != MANIFEST_KEY {
                    self.1.set(self.1.get() + 1);
                }
                self.0.get(key)
            }
        }
        let mut rows = Mem::default();
        let mut m = Manifest::default();
        for b in 0..64u64 {
            let entries = (b * 1000..(b + 1) * 1000)
                .map(|i| Entry::new(&id(i), i))
                .collect();
            m = add(&mut rows, entries).unwrap();
        }
        let counting = Counting(&rows, std::cell::Cell::new(0));
        let cache = SummaryCache::default();
        for i in 0..2000 {
            assert_eq!(lookup(&counting, &m, &cache, &id(10_000_000 + i)).unwrap(), None);
        }
        let reads = counting.1.get();
        assert!(
            reads <= m.runs.len() as u64 * 2000 / 25,
            "{reads} chunk reads for {} runs",
            m.runs.len()
        );
        // A damaged chunk is found on read.
        let key = chunk_key(m.runs[0].id, 0);
        let mut bad = rows.0[&key].clone();
        bad[4] ^= 1;
        rows.0.insert(key, bad);
        let e = scan(&rows, &m, &mut |_| true).unwrap_err();
        assert_eq!(e.code(), "STORE_DAMAGED");
    }
}
