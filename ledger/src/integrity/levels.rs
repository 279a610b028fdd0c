//! The lower tree levels of one window of leaves, recomputed on another thread. The reading
//! thread reads each level's stored hashes once (the tiles are then in the store's cache) and
//! hands them over; recomputing every interior hash (two SHA-256 blocks each, about one hash
//! per leaf in all) runs beside the next window's reading. What it finds is applied before the
//! upper levels are checked, so the report does not depend on the threads.

use super::offload::Offloaded;
use evl_sdk::{Digest, node_hash};

/// One level's stored hashes from index `first` (`None` where missing or unreadable).
pub(super) struct Level {
    pub level: u32,
    pub first: u64,
    pub hashes: Vec<Option<Digest>>,
}

/// What recomputing found.
#[derive(Debug, Default, PartialEq)]
pub(super) struct Found {
    /// Interior hashes that disagree with their two children, or whose children are missing.
    pub bad: Vec<(u32, u64)>,
    /// Interior hashes checked.
    pub checked: u64,
}

/// Each level's hashes against the level below it (`levels[0]` holds the children of
/// `levels[1]`, and so on; each level's `first` is twice the next one's).
pub(super) fn recompute(levels: &[Level]) -> Found {
    let mut found = Found::default();
    for pair in levels.windows(2) {
        let [children, parents] = pair else { continue };
        for (j, stored) in parents.hashes.iter().enumerate() {
            found.checked += 1;
            let want = match (
                children.hashes.get(2 * j).copied().flatten(),
                children.hashes.get(2 * j + 1).copied().flatten(),
            ) {
                (Some(l), Some(r)) => Some(node_hash(&l, &r)),
                _ => None,
            };
            // Public hashes: compared as plain bytes, not in constant time.
            if want.is_none() || want.map(|w| *w.as_bytes()) != stored.map(|h| *h.as_bytes()) {
                found.bad.push((parents.level, parents.first + j as u64));
            }
        }
    }
    found
}

/// A window's levels being recomputed.
pub(super) struct Pending(Offloaded<Vec<Level>, Found>);

impl Pending {
    /// Starts recomputing `levels` on another thread (here, when collected, if none starts;
    /// no thread for a window of a tiny tree, which has nothing to recompute).
    pub(super) fn start(levels: Vec<Level>) -> Self {
        let spawn = levels.len() > 1;
        Self(Offloaded::start(
            "evl-verify-levels",
            levels,
            |l| recompute(l),
            spawn,
        ))
    }

    /// What was found.
    pub(super) fn finish(self) -> Found {
        self.0.finish().0
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    fn leaf(i: u64) -> Digest {
        evl_sdk::NodeId::of_canonical(&i.to_be_bytes()).leaf_hash()
    }

    /// The levels above `leaves` (starting at leaf `first`, a multiple of 2^depth).
    fn tree(first: u64, leaves: Vec<Option<Digest>>, depth: u32) -> Vec<Level> {
        let mut out = vec![Level {
            level: 0,
            first,
            hashes: leaves,
        }];
        for level in 1..=depth {
            let below = &out[level as usize - 1].hashes;
            let hashes = below
                .chunks_exact(2)
                .map(|p| match (p[0], p[1]) {
                    (Some(l), Some(r)) => Some(node_hash(&l, &r)),
                    _ => None,
                })
                .collect();
            out.push(Level {
                level,
                first: first >> level,
                hashes,
            });
        }
        out
    }

    proptest! {
        /// An intact tree has nothing bad; one damaged stored hash is found at its position
        /// and its parent (which then disagrees with it), on the thread and inline alike.
        #[test]
        fn finds_exactly_the_damaged_hash(n in 2u64..300, depth in 1u32..6, pick in any::<u64>(), window in 0u64..4) {
            let first = window << 8;
            let leaves: Vec<Option<Digest>> = (first..first + n).map(|i| Some(leaf(i))).collect();
            let mut levels = tree(first, leaves, depth);
            let intact = Pending::start(tree(first, levels[0].hashes.clone(), depth)).finish();
            prop_assert!(intact.bad.is_empty());
            let total: u64 = levels[1..].iter().map(|l| l.hashes.len() as u64).sum();
            prop_assert_eq!(intact.checked, total);
            // Damage one stored interior hash.
            let candidates: Vec<(usize, usize)> = (1..levels.len())
                .flat_map(|l| (0..levels[l].hashes.len()).map(move |j| (l, j)))
                .collect();
            prop_assume!(!candidates.is_empty());
            let (l, j) = candidates[(pick % candidates.len() as u64) as usize];
            let mut b = *levels[l].hashes[j].unwrap().as_bytes();
            b[0] ^= 1;
            levels[l].hashes[j] = Some(Digest::from_bytes(b));
            let mut want = vec![(levels[l].level, levels[l].first + j as u64)];
            if l + 1 < levels.len() && j / 2 < levels[l + 1].hashes.len() {
                want.push((levels[l + 1].level, levels[l + 1].first + (j / 2) as u64));
            }
            let found = recompute(&levels);
            prop_assert_eq!(&found.bad, &want);
            prop_assert_eq!(Pending::start(levels).finish(), found);
        }
    }
}
