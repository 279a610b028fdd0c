//! The id map of storage v2 (docs/design.md, "Storage v2"): NodeId → leaf as immutable sorted
//! runs, so that appending never rewrites a page at a random key.
//!
//! An entry is the first 8 bytes of a NodeId's digest (big-endian) and its leaf: 16 bytes.
//! Each commit writes its new entries as one sorted run at level 0; when a level holds
//! [`FAN_IN`] runs, they are merged into one run of the next level (size-tiered, so an entry
//! is rewritten about `log₈ n` times, always sequentially). A lookup gives every leaf whose
//! NodeId starts with the same 8 bytes; the caller confirms the one it wants against the
//! leaf's stored hash, so short prefixes still give exact answers.
//!
//! Rows, in one table keyed by `u64`:
//! - `0`: the [`Manifest`], the list of live runs;
//! - `run << 32 | c`: chunk `c` of run `run` (runs are numbered from 1), up to
//!   [`CHUNK_ENTRIES`] entries;
//! - `run << 32 | SUMMARY`: the run's [`Summary`]: the first prefix of each chunk (its fence)
//!   and a blocked Bloom filter, so that a lookup of a NodeId the map does not hold (every new
//!   node's dedup check) reads no chunk at all in most runs.
//!
//! Every row ends with a checksum ([`super::checksum`]). A run, once written, never changes;
//! its summary is cached in memory under the run's number and its summary's checksum.

use super::checksum;
use crate::store::StoreError;
use evl_sdk::NodeId;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Entries per chunk row. Rationale: 256 × 16 B = 4 KiB, one page of redb's.
pub const CHUNK_ENTRIES: usize = 256;
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

/// The id-map key of a NodeId: the first 8 bytes of its digest.
pub fn prefix(id: &NodeId) -> u64 {
    let b = id.digest().as_bytes();
    u64::from_be_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])
}

/// One entry: a NodeId prefix and its leaf. Runs are sorted by `(prefix, leaf)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Entry {
    /// [`prefix`] of the NodeId.
    pub prefix: u64,
    /// The leaf index.
    pub leaf: u64,
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
    pub fn read(rows: &impl Rows) -> Result<Self, StoreError> {
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
    fn build(entries: &[Entry]) -> Self {
        let fences = entries.chunks(CHUNK_ENTRIES).map(|c| c[0].prefix).collect();
        let blocks = (entries.len() as u64 * BLOOM_BITS_PER_ENTRY).div_ceil(512).max(1);
        let mut bloom = vec![[0u64; 8]; blocks as usize];
        for e in entries {
            let (b, bits) = Self::probes(e.prefix, blocks);
            for bit in bits {
                bloom[b][(bit / 64) as usize] |= 1 << (bit % 64);
            }
        }
        Self { fences, bloom }
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
    let mut out = Vec::with_capacity(3 + 16 * entries.len() + checksum::CHECKSUM_LEN);
    out.push(VERSION);
    out.extend_from_slice(&(entries.len() as u16).to_be_bytes());
    for e in entries {
        out.extend_from_slice(&e.prefix.to_be_bytes());
        out.extend_from_slice(&e.leaf.to_be_bytes());
    }
    checksum::seal(out)
}

fn decode_chunk(row: &[u8], run: u64, chunk: u64) -> Result<Vec<Entry>, StoreError> {
    let what = format!("chunk {chunk} of run {run}");
    let mut c = Cursor(checksum::open(row, || format!("the id map's {what}"))?);
    c.version(&what)?;
    let n = u16::from_be_bytes(c.take::<2>(&what)?) as usize;
    if n == 0 || n > CHUNK_ENTRIES || c.0.len() != 16 * n {
        return Err(damaged(&what, format!("{n} entries do not fit the row")));
    }
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        out.push(Entry {
            prefix: c.u64(&what)?,
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
    fn get(&self, rows: &impl Rows, run: &RunInfo) -> Result<Arc<Summary>, StoreError> {
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

    /// Forgets runs no longer in `manifest` (after merges), so memory follows the live map.
    pub fn retain(&self, manifest: &Manifest) {
        if let Ok(mut m) = self.0.lock() {
            m.retain(|(id, sum), _| manifest.runs.iter().any(|r| r.id == *id && r.summary_sum == *sum));
        }
    }
}

/// Every leaf whose NodeId has this prefix, newest run first.
pub fn lookup(
    rows: &impl Rows,
    manifest: &Manifest,
    cache: &SummaryCache,
    prefix: u64,
) -> Result<Vec<u64>, StoreError> {
    let mut out = Vec::new();
    for run in manifest.runs.iter().rev() {
        let s = cache.get(rows, run)?;
        if !s.may_hold(prefix) {
            continue;
        }
        for c in s.chunks(prefix) {
            let c = c as u64;
            let row = rows
                .get(chunk_key(run.id, c))?
                .ok_or_else(|| damaged(&format!("chunk {c} of run {}", run.id), "missing"))?;
            let entries = decode_chunk(&row, run.id, c)?;
            let from = entries.partition_point(|e| e.prefix < prefix);
            out.extend(
                entries[from..]
                    .iter()
                    .take_while(|e| e.prefix == prefix)
                    .map(|e| e.leaf),
            );
        }
    }
    Ok(out)
}

/// Every entry of a run, in order.
fn read_run(rows: &impl Rows, run: &RunInfo) -> Result<Vec<Entry>, StoreError> {
    let chunks = run.entries.div_ceil(CHUNK_ENTRIES as u64);
    let mut out = Vec::with_capacity(run.entries as usize);
    for c in 0..chunks {
        let row = rows
            .get(chunk_key(run.id, c))?
            .ok_or_else(|| damaged(&format!("chunk {c} of run {}", run.id), "missing"))?;
        out.extend(decode_chunk(&row, run.id, c)?);
    }
    if out.len() as u64 != run.entries {
        return Err(damaged(
            &format!("run {}", run.id),
            format!("{} entries, the manifest says {}", out.len(), run.entries),
        ));
    }
    Ok(out)
}

/// Calls `f` with every entry of every run (no order across runs); stops when `f` says so.
pub fn scan(
    rows: &impl Rows,
    manifest: &Manifest,
    f: &mut dyn FnMut(Entry) -> bool,
) -> Result<(), StoreError> {
    for run in &manifest.runs {
        for e in read_run(rows, run)? {
            if !f(e) {
                return Ok(());
            }
        }
    }
    Ok(())
}

fn write_run(rows: &mut impl RowsMut, id: u64, level: u8, entries: &[Entry]) -> Result<RunInfo, StoreError> {
    if id >= 1 << 32 {
        return Err(StoreError::Invalid("the id map ran out of run numbers".into()));
    }
    for (c, chunk) in entries.chunks(CHUNK_ENTRIES).enumerate() {
        rows.put(chunk_key(id, c as u64), encode_chunk(chunk))?;
    }
    let summary = Summary::build(entries).encode();
    let summary_sum = *blake3::hash(&summary).as_bytes();
    rows.put(chunk_key(id, SUMMARY), summary)?;
    Ok(RunInfo {
        id,
        level,
        entries: entries.len() as u64,
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
/// runs; writes the new manifest and returns it. All inside the caller's transaction.
pub fn add(rows: &mut impl RowsMut, mut entries: Vec<Entry>) -> Result<Manifest, StoreError> {
    let mut m = Manifest::read(rows)?;
    if entries.is_empty() {
        return Ok(m);
    }
    entries.sort_unstable();
    let run = write_run(rows, m.next_id, 0, &entries)?;
    m.next_id += 1;
    m.runs.push(run);
    while let Some(level) = (0..=u8::MAX).find(|l| m.runs.iter().filter(|r| r.level == *l).count() >= FAN_IN)
    {
        let (old, keep): (Vec<RunInfo>, Vec<RunInfo>) = m.runs.iter().partition(|r| r.level == level);
        let mut merged = Vec::with_capacity(old.iter().map(|r| r.entries as usize).sum());
        for r in &old {
            merged.extend(read_run(rows, r)?);
        }
        merged.sort_unstable();
        let run = write_run(rows, m.next_id, level.saturating_add(1), &merged)?;
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

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]
        /// Against a plain map: after any sequence of commits, every stored NodeId's prefix
        /// finds its leaf, prefixes not stored find nothing, the manifest counts every entry,
        /// and no level is left holding FAN_IN runs.
        #[test]
        fn runs_answer_like_a_map(batches in proptest::collection::vec(0usize..300, 1..40), collide in 0u64..4) {
            let mut rows = Mem::default();
            let cache = SummaryCache::default();
            let mut model: BTreeMap<u64, Vec<u64>> = BTreeMap::new();
            let mut leaf = 0u64;
            let mut m = Manifest::read(&rows).unwrap();
            for n in batches {
                let mut entries = Vec::new();
                for _ in 0..n {
                    // Every `collide`-th entry shares the prefix of leaf 0 (prefix collisions).
                    let p = if collide > 0 && leaf.is_multiple_of(collide + 5) { prefix(&id(0)) } else { prefix(&id(leaf)) };
                    entries.push(Entry { prefix: p, leaf });
                    model.entry(p).or_default().push(leaf);
                    leaf += 1;
                }
                m = add(&mut rows, entries).unwrap();
                for l in 0..=u8::MAX {
                    prop_assert!(m.runs.iter().filter(|r| r.level == l).count() < FAN_IN);
                }
            }
            prop_assert_eq!(m.entries(), leaf);
            prop_assert_eq!(Manifest::read(&rows).unwrap(), m.clone());
            for (p, leaves) in &model {
                let mut got = lookup(&rows, &m, &cache, *p).unwrap();
                got.sort_unstable();
                prop_assert_eq!(&got, leaves);
            }
            for i in 0..50 {
                let absent = prefix(&id(1_000_000 + i));
                if !model.contains_key(&absent) {
                    prop_assert!(lookup(&rows, &m, &cache, absent).unwrap().is_empty());
                }
            }
            let mut all = Vec::new();
            scan(&rows, &m, &mut |e| { all.push(e.leaf); true }).unwrap();
            all.sort_unstable();
            prop_assert_eq!(all, (0..leaf).collect::<Vec<_>>());
            // Merged-away runs left no rows behind: chunks + summaries + the manifest.
            let live: u64 = m.runs.iter().map(|r| r.entries.div_ceil(CHUNK_ENTRIES as u64) + 1).sum();
            prop_assert_eq!(rows.0.len() as u64, live + 1);
        }

        /// Hostile rows: every row kind decodes to STORE_DAMAGED or a value, never a panic.
        #[test]
        fn hostile_rows_never_panic(body in proptest::collection::vec(any::<u8>(), 0..1200), sealed in any::<bool>()) {
            let row = if sealed { checksum::seal(body) } else { body };
            let run = RunInfo { id: 1, level: 0, entries: 3, summary_sum: *blake3::hash(&row).as_bytes() };
            for r in [Manifest::decode(&row).map(|_| ()), Summary::decode(&row, &run).map(|_| ()), decode_chunk(&row, 1, 0).map(|_| ())] {
                if let Err(e) = r {
                    prop_assert_eq!(e.code(), "STORE_DAMAGED");
                }
            }
        }
    }

    #[test]
    fn a_new_nodes_lookup_reads_few_chunks() {
        // 64 runs' worth of entries, then 2,000 prefixes that are not stored: the Bloom
        // filters rule most runs out without reading a chunk.
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
                .map(|i| Entry {
                    prefix: prefix(&id(i)),
                    leaf: i,
                })
                .collect();
            m = add(&mut rows, entries).unwrap();
        }
        let counting = Counting(&rows, std::cell::Cell::new(0));
        let cache = SummaryCache::default();
        for i in 0..2000 {
            assert!(
                lookup(&counting, &m, &cache, prefix(&id(10_000_000 + i)))
                    .unwrap()
                    .is_empty()
            );
        }
        // Runs × lookups would be m.runs.len() × 2,000; about 1 % of that is allowed through.
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
        let first = decode_chunk(&rows.0[&chunk_key(m.runs[0].id, 0)], m.runs[0].id, 0);
        assert_eq!(first.map(|_| ()).map_err(|e| e.code()), Err("STORE_DAMAGED"));
    }
}
