//! Hash tiles (docs/design.md, "Storage v2"): the Merkle tree stored as C2SP tlog-tiles
//! tiles, each with the interior levels above its base so that a proof reads hashes without
//! computing any.
//!
//! Tile `(L, N)` holds the perfect-subtree hashes of tree level `8·L`, indices
//! `256·N … 256·N + width − 1` (its *base*, exactly the bytes of the tlog-tiles tile), and
//! above them the hashes of levels `8·L + 1 … 8·L + 7` that those base hashes complete. The
//! hash of tree level `8·L + 8` is the base of tile level `L + 1`. Only the right-edge tile of
//! each tile level is partial; a full tile (width 256) is never written again.
//!
//! Row layout: one version byte ([`TILE_VERSION`]), the width as a big-endian `u16`
//! (1…256), the hashes level by level (level 0: `width`, level `l`: `width >> l`), then the
//! checksum ([`super::checksum`]).

use super::checksum;
use crate::store::StoreError;
use evl_sdk::{Digest, StoredHash, node_hash};
use std::collections::BTreeMap;

/// Hashes in a full tile's base (C2SP tlog-tiles: 2^8).
pub const TILE_WIDTH: u64 = 256;
/// Tree levels one tile spans.
pub const TILE_HEIGHT: u32 = 8;
/// The row layout's version byte.
pub const TILE_VERSION: u8 = 1;

/// Where a tile is: tile level `level` (tree levels `8·level …`), tile index `index`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TileAddr {
    /// The tile level `L`.
    pub level: u32,
    /// The tile index `N` within it.
    pub index: u64,
}

impl TileAddr {
    /// The table key: `L << 56 | N` (tile levels 0–7 cover every tree level below 64; a tile
    /// index is below 2^55 for any tree below `MAX_TREE_SIZE`).
    pub fn key(self) -> u64 {
        (u64::from(self.level) << 56) | self.index
    }

    /// The address a [`TileAddr::key`] came from.
    pub fn from_key(key: u64) -> Self {
        Self {
            level: (key >> 56) as u32,
            index: key & ((1 << 56) - 1),
        }
    }
}

/// The tile holding the perfect-subtree hash `(level, index)`, the level inside the tile
/// (0–7) and the index at that level inside the tile.
pub fn locate(level: u32, index: u64) -> (TileAddr, u32, u64) {
    let l = level % TILE_HEIGHT;
    let shift = TILE_HEIGHT - l;
    (
        TileAddr {
            level: level / TILE_HEIGHT,
            index: index >> shift,
        },
        l,
        index & ((1 << shift) - 1),
    )
}

/// One tile: its base hashes and the interior hashes they complete.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tile {
    /// `levels[l]` holds the tile's hashes of inner level `l`, left to right.
    levels: [Vec<Digest>; TILE_HEIGHT as usize],
}

impl Tile {
    /// An empty tile (width 0), for the first hash of a new tile.
    pub fn new() -> Self {
        Self::default()
    }

    /// A tile of these base hashes (at most [`TILE_WIDTH`]).
    pub fn from_base(base: &[Digest]) -> Result<Self, StoreError> {
        let mut t = Self::new();
        for h in base {
            t.push(*h)?;
        }
        Ok(t)
    }

    /// Base hashes held (0–256).
    pub fn width(&self) -> u64 {
        self.levels[0].len() as u64
    }

    /// Whether the tile is full (and so never written again).
    pub fn is_full(&self) -> bool {
        self.width() == TILE_WIDTH
    }

    /// The base hashes: the tlog-tiles tile.
    pub fn base(&self) -> &[Digest] {
        &self.levels[0]
    }

    /// Appends the next base hash and computes the interior hashes it completes.
    pub fn push(&mut self, hash: Digest) -> Result<(), StoreError> {
        if self.is_full() {
            return Err(StoreError::Invalid("a full tile takes no more hashes".into()));
        }
        self.levels[0].push(hash);
        let mut l = 0;
        while l + 1 < TILE_HEIGHT as usize && self.levels[l].len().is_multiple_of(2) {
            let n = self.levels[l].len();
            let up = node_hash(&self.levels[l][n - 2], &self.levels[l][n - 1]);
            self.levels[l + 1].push(up);
            l += 1;
        }
        Ok(())
    }

    /// The hash at inner level `l` (0–7), index `k` inside the tile, if the tile holds it.
    pub fn get(&self, l: u32, k: u64) -> Option<Digest> {
        self.levels
            .get(l as usize)?
            .get(usize::try_from(k).ok()?)
            .copied()
    }

    /// Test hook: replaces one stored hash without recomputing the levels above it (a damaged
    /// tile whose checksum was rewritten, as the damage tests need).
    #[doc(hidden)]
    pub fn set(&mut self, l: u32, k: u64, hash: Digest) -> bool {
        match self
            .levels
            .get_mut(l as usize)
            .and_then(|v| v.get_mut(usize::try_from(k).ok()?))
        {
            Some(slot) => {
                *slot = hash;
                true
            }
            None => false,
        }
    }

    /// The hash of the whole tile (tree level `8·L + 8`), once it is full.
    pub fn root(&self) -> Option<Digest> {
        let top = &self.levels[TILE_HEIGHT as usize - 1];
        match (self.is_full(), top.first(), top.get(1)) {
            (true, Some(a), Some(b)) => Some(node_hash(a, b)),
            _ => None,
        }
    }

    /// The stored row: version, width, hashes level by level, checksum.
    pub fn encode(&self) -> Vec<u8> {
        let count: usize = self.levels.iter().map(Vec::len).sum();
        let mut out = Vec::with_capacity(3 + 32 * count + checksum::CHECKSUM_LEN);
        out.push(TILE_VERSION);
        out.extend_from_slice(&(self.width() as u16).to_be_bytes());
        for level in &self.levels {
            for h in level {
                out.extend_from_slice(h.as_bytes());
            }
        }
        checksum::seal(out)
    }

    /// Reads a stored row: the checksum, the version, the width and the length must hold,
    /// else `STORE_DAMAGED` naming the tile. (Whether the interior hashes fit the base is
    /// `evl verify`'s question, not every read's.)
    pub fn decode(addr: TileAddr, row: &[u8]) -> Result<Self, StoreError> {
        let what = || format!("hash tile {}/{}", addr.level, addr.index);
        let body = checksum::open(row, what)?;
        let damaged = |m: String| StoreError::Damaged(format!("{}: {m}", what()));
        let (&version, rest) = body.split_first().ok_or_else(|| damaged("empty".into()))?;
        if version != TILE_VERSION {
            return Err(damaged(format!("layout version {version}, not {TILE_VERSION}")));
        }
        let (w, mut rest) = rest
            .split_first_chunk::<2>()
            .ok_or_else(|| damaged("no width".into()))?;
        let width = u16::from_be_bytes(*w) as usize;
        if width == 0 || width as u64 > TILE_WIDTH {
            return Err(damaged(format!("width {width} is not 1–{TILE_WIDTH}")));
        }
        let want: usize = (0..TILE_HEIGHT).map(|l| width >> l).sum::<usize>() * 32;
        if rest.len() != want {
            return Err(damaged(format!("{} bytes of hashes, not {want}", rest.len())));
        }
        let mut t = Self::new();
        for (l, level) in t.levels.iter_mut().enumerate() {
            let n = width >> l;
            level.reserve_exact(n);
            for _ in 0..n {
                let (h, more) = rest
                    .split_first_chunk::<32>()
                    .ok_or_else(|| damaged("truncated".into()))?;
                level.push(Digest::from_bytes(*h));
                rest = more;
            }
        }
        Ok(t)
    }
}

/// One hash inside a tile: (inner level, index at that level inside the tile, hash).
pub type TileItem = (u32, u64, Digest);

/// A batch's stored hashes grouped by the tile that holds them, each as (inner level, index
/// inside the tile, hash), sorted base first and left to right. A level at or beyond 64 is
/// refused.
pub fn group(hashes: &[StoredHash]) -> Result<BTreeMap<TileAddr, Vec<TileItem>>, StoreError> {
    let mut by_tile: BTreeMap<TileAddr, Vec<TileItem>> = BTreeMap::new();
    for h in hashes {
        if h.level >= 64 {
            return Err(StoreError::Invalid(format!(
                "hash level {} is beyond the tree",
                h.level
            )));
        }
        let (addr, l, k) = locate(h.level, h.index);
        by_tile.entry(addr).or_default().push((l, k, h.hash));
    }
    for items in by_tile.values_mut() {
        items.sort_unstable_by_key(|(l, k, _)| (*l, *k));
    }
    Ok(by_tile)
}

/// The commit rule for one tile: base hashes must continue it (they are pushed, computing the
/// interior), and an interior hash given must equal the one its children give; anything else
/// is refused and the tile is left as the caller had it only if the caller drops it.
pub fn extend(tile: &mut Tile, addr: TileAddr, items: &[(u32, u64, Digest)]) -> Result<(), StoreError> {
    for (l, k, h) in items {
        if *l == 0 {
            if *k != tile.width() {
                return Err(StoreError::Invalid(format!(
                    "hash {}/{} does not continue its tile (width {})",
                    addr.level * TILE_HEIGHT,
                    addr.index * TILE_WIDTH + k,
                    tile.width()
                )));
            }
            tile.push(*h)?;
        } else if tile.get(*l, *k) != Some(*h) {
            return Err(StoreError::Invalid(format!(
                "interior hash at level {} does not match its children in tile {}/{}",
                addr.level * TILE_HEIGHT + l,
                addr.level,
                addr.index
            )));
        }
    }
    Ok(())
}

/// The repair rule for one tile of a tree of `size` leaves (docs/design.md, recovery): base
/// hashes given replace the stored ones and the interior is recomputed from the new base
/// (which must then be whole: the readable stored tile, or the repair, gives every base hash);
/// interior hashes given are then written as given (a repair rewrites entries in place).
pub fn repaired(
    addr: TileAddr,
    size: u64,
    stored: Option<Tile>,
    hashes: &[&StoredHash],
) -> Result<Tile, StoreError> {
    let width = (size >> (addr.level * TILE_HEIGHT))
        .saturating_sub(addr.index * TILE_WIDTH)
        .min(TILE_WIDTH);
    let (base_given, inner_given): (Vec<&StoredHash>, Vec<&StoredHash>) =
        hashes.iter().partition(|h| h.level % TILE_HEIGHT == 0);
    let mut tile = match stored {
        Some(t) if base_given.is_empty() => t,
        stored => {
            let mut base: Vec<Option<Digest>> = stored
                .map(|t| t.base().iter().copied().map(Some).collect())
                .unwrap_or_default();
            base.resize(width as usize, None);
            for h in &base_given {
                let (_, _, k) = locate(h.level, h.index);
                if let Some(slot) = base.get_mut(k as usize) {
                    *slot = Some(h.hash);
                }
            }
            let base: Option<Vec<Digest>> = base.into_iter().collect();
            let base = base.ok_or_else(|| {
                StoreError::Damaged(format!(
                    "tile {}/{} cannot be read, and the repair does not hold all its base hashes",
                    addr.level, addr.index
                ))
            })?;
            Tile::from_base(&base)?
        }
    };
    for h in inner_given {
        let (_, l, k) = locate(h.level, h.index);
        if !tile.set(l, k, h.hash) {
            return Err(StoreError::Invalid(format!(
                "hash {}/{} is not in its tile",
                h.level, h.index
            )));
        }
    }
    Ok(tile)
}

#[cfg(test)]
mod tests {
    use super::*;
    use evl_sdk::leaf_hash;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    /// Every perfect-subtree hash of `n` leaves, by `(level, index)`: the oracle.
    fn perfect(n: u64) -> BTreeMap<(u32, u64), Digest> {
        let mut out = BTreeMap::new();
        let mut row: Vec<Digest> = (0..n).map(|i| leaf_hash(&i.to_be_bytes())).collect();
        let mut level = 0;
        while !row.is_empty() {
            for (k, h) in row.iter().enumerate() {
                out.insert((level, k as u64), *h);
            }
            row = row.chunks_exact(2).map(|p| node_hash(&p[0], &p[1])).collect();
            level += 1;
        }
        out
    }

    /// The tiles of a tree, built the way a store does: base hashes pushed in order.
    fn tiles(all: &BTreeMap<(u32, u64), Digest>) -> BTreeMap<TileAddr, Tile> {
        let mut out: BTreeMap<TileAddr, Tile> = BTreeMap::new();
        for (&(level, index), h) in all {
            if level % TILE_HEIGHT == 0 {
                let (addr, _, k) = locate(level, index);
                let t = out.entry(addr).or_default();
                assert_eq!(t.width(), k, "base hashes arrive in order");
                t.push(*h).unwrap();
            }
        }
        out
    }

    fn every_hash_is_in_its_tile(n: u64) {
        let all = perfect(n);
        let tiles = tiles(&all);
        for (&(level, index), h) in &all {
            let (addr, l, k) = locate(level, index);
            let t = &tiles[&addr];
            assert_eq!(t.get(l, k), Some(*h), "n {n}: ({level}, {index})");
            // A full tile's root is the next tile level's base hash.
            if l == 0 && t.is_full() {
                assert_eq!(t.root(), all.get(&(level + TILE_HEIGHT, addr.index)).copied());
            }
        }
        for (addr, t) in &tiles {
            // Nothing beyond the tree is answered, and every tile round-trips.
            assert_eq!(t.get(0, t.width()), None);
            assert_eq!(&Tile::decode(*addr, &t.encode()).unwrap(), t);
        }
    }

    #[test]
    fn a_tree_spanning_three_tile_levels() {
        every_hash_is_in_its_tile(65_536 + 300);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn every_perfect_subtree_hash_is_where_locate_says(n in 1u64..1500) {
            every_hash_is_in_its_tile(n);
        }

        /// Hostile rows (any bytes, or a sealed body of any bytes) decode to an error or a
        /// tile, never a panic.
        #[test]
        fn hostile_rows_never_panic(body in proptest::collection::vec(any::<u8>(), 0..2000), sealed in any::<bool>()) {
            let row = if sealed { checksum::seal(body) } else { body };
            if let Err(e) = Tile::decode(TileAddr { level: 0, index: 0 }, &row) {
                prop_assert_eq!(e.code(), "STORE_DAMAGED");
            }
        }
    }

    #[test]
    fn keys_round_trip_and_sort_by_level_then_index() {
        let a = TileAddr {
            level: 0,
            index: (1 << 55) - 1,
        };
        let b = TileAddr { level: 1, index: 0 };
        assert_eq!(TileAddr::from_key(a.key()), a);
        assert_eq!(TileAddr::from_key(b.key()), b);
        assert!(a.key() < b.key());
        assert_eq!(locate(63, 0), (TileAddr { level: 7, index: 0 }, 7, 0));
    }

    #[test]
    fn a_damaged_row_is_store_damaged() {
        let t = Tile::from_base(&[leaf_hash(b"a"), leaf_hash(b"b")]).unwrap();
        let addr = TileAddr { level: 2, index: 9 };
        let mut row = t.encode();
        row[5] ^= 1;
        let e = Tile::decode(addr, &row).unwrap_err();
        assert_eq!(e.code(), "STORE_DAMAGED");
        // A full tile refuses more.
        let mut full = Tile::from_base(&vec![leaf_hash(b"x"); 256]).unwrap();
        assert_eq!(
            full.push(leaf_hash(b"y")).map_err(|e| e.code()),
            Err("STORAGE_ERROR")
        );
    }
}
