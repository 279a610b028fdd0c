//! Segments (docs/design.md, "Storage v2"): consecutive nodes stored in one row, written once
//! by the commit that appends them. A segment holds at most [`SEGMENT_MAX`] nodes and never
//! crosses a multiple of [`SEGMENT_MAX`], so the segments of leaves `256·N … 256·N + 255` are
//! exactly C2SP tlog-tiles entry bundle `N`.
//!
//! Row layout (keyed by the first leaf): one version byte ([`SEGMENT_VERSION`]), the count as
//! a big-endian `u16` (1…256), one big-endian `u32` length per node ([`REDACTED`] for a node
//! whose content was deleted by redaction, SPEC.md §3.4), the nodes' bytes back to back, then
//! the checksum ([`super::checksum`]).

use super::checksum;
use crate::store::StoreError;

/// Nodes per segment at most, and the boundary no segment crosses (C2SP's bundle width).
pub const SEGMENT_MAX: u64 = 256;
/// The row layout's version byte.
pub const SEGMENT_VERSION: u8 = 1;
/// The length that marks a redacted node (its bytes are gone from the row).
pub const REDACTED: u32 = u32::MAX;

/// Consecutive nodes from leaf `first`; `None` for a node whose content was redacted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Segment {
    first: u64,
    nodes: Vec<Option<Vec<u8>>>,
}

impl Segment {
    /// The first leaf.
    pub fn first(&self) -> u64 {
        self.first
    }

    /// Nodes held.
    pub fn len(&self) -> u64 {
        self.nodes.len() as u64
    }

    /// Whether it holds no node (never true of a stored segment).
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// The node at leaf `index`: `None` outside the segment, `Some(None)` if redacted.
    pub fn get(&self, index: u64) -> Option<Option<&[u8]>> {
        let k = usize::try_from(index.checked_sub(self.first)?).ok()?;
        self.nodes.get(k).map(|n| n.as_deref())
    }

    /// Every node with its leaf, in order (`None` where redacted).
    pub fn iter(&self) -> impl Iterator<Item = (u64, Option<&[u8]>)> {
        self.nodes
            .iter()
            .enumerate()
            .map(|(k, n)| (self.first + k as u64, n.as_deref()))
    }

    /// Deletes the content of leaf `index` (redaction). Whether it held content.
    pub fn redact(&mut self, index: u64) -> bool {
        let Some(k) = index
            .checked_sub(self.first)
            .and_then(|k| usize::try_from(k).ok())
        else {
            return false;
        };
        self.nodes.get_mut(k).and_then(Option::take).is_some()
    }

    /// Puts back the content of leaf `index` (recovery). Whether the leaf is in the segment.
    pub fn put(&mut self, index: u64, bytes: Vec<u8>) -> bool {
        match index
            .checked_sub(self.first)
            .and_then(|k| usize::try_from(k).ok())
            .and_then(|k| self.nodes.get_mut(k))
        {
            Some(slot) => {
                *slot = Some(bytes);
                true
            }
            None => false,
        }
    }

    /// Splits consecutive nodes, the first at leaf `first`, into segments: at most
    /// [`SEGMENT_MAX`] each, none crossing a multiple of it (`None`: a leaf without content, as
    /// a restore loads a redacted one). Refuses a node longer than a length can say.
    pub fn split(first: u64, nodes: &[Option<&[u8]>]) -> Result<Vec<Segment>, StoreError> {
        if let Some(n) = nodes.iter().flatten().find(|n| n.len() >= REDACTED as usize) {
            return Err(StoreError::Invalid(format!(
                "a node of {} bytes is longer than a segment can hold",
                n.len()
            )));
        }
        let mut out = Vec::new();
        let mut at = first;
        let mut rest = nodes;
        while !rest.is_empty() {
            let room = (SEGMENT_MAX - at % SEGMENT_MAX) as usize;
            let (now, later) = rest.split_at(room.min(rest.len()));
            out.push(Segment {
                first: at,
                nodes: now.iter().map(|n| n.map(<[u8]>::to_vec)).collect(),
            });
            at += now.len() as u64;
            rest = later;
        }
        Ok(out)
    }

    /// The stored row.
    pub fn encode(&self) -> Vec<u8> {
        let bytes: usize = self.nodes.iter().flatten().map(Vec::len).sum();
        let mut out = Vec::with_capacity(3 + 4 * self.nodes.len() + bytes + checksum::CHECKSUM_LEN);
        out.push(SEGMENT_VERSION);
        out.extend_from_slice(&(self.nodes.len() as u16).to_be_bytes());
        for n in &self.nodes {
            let len = n.as_ref().map_or(REDACTED, |b| b.len() as u32);
            out.extend_from_slice(&len.to_be_bytes());
        }
        for n in self.nodes.iter().flatten() {
            out.extend_from_slice(n);
        }
        checksum::seal(out)
    }

    /// Reads the row stored under leaf `first` into owned nodes ([`SegmentView::parse`] checks
    /// it).
    pub fn decode(first: u64, row: &[u8]) -> Result<Self, StoreError> {
        let view = SegmentView::parse(first, row)?;
        Ok(Self {
            first,
            nodes: view.iter().map(|(_, n)| n.map(<[u8]>::to_vec)).collect(),
        })
    }
}

/// A stored segment row read in place: its nodes are slices of the row, nothing is copied
/// (scans and single-node reads use it; [`Segment`] is for rewriting a row).
pub struct SegmentView<'a> {
    first: u64,
    /// Each node's length ([`REDACTED`] where its content was deleted).
    lens: Vec<u32>,
    /// The nodes' bytes back to back.
    bytes: &'a [u8],
}

impl<'a> SegmentView<'a> {
    /// Reads the row stored under leaf `first`: the checksum, the version, the count (within
    /// 1–256 and not crossing a boundary) and the lengths must hold, else `STORE_DAMAGED`
    /// naming the segment. (Whether the bytes hash to the log's leaves is the reader's check.)
    pub fn parse(first: u64, row: &'a [u8]) -> Result<Self, StoreError> {
        let what = || format!("the segment at leaf {first}");
        let body = checksum::open(row, what)?;
        let damaged = |m: String| StoreError::Damaged(format!("{}: {m}", what()));
        let (&version, rest) = body.split_first().ok_or_else(|| damaged("empty".into()))?;
        if version != SEGMENT_VERSION {
            return Err(damaged(format!(
                "layout version {version}, not {SEGMENT_VERSION}"
            )));
        }
        let (c, mut rest) = rest
            .split_first_chunk::<2>()
            .ok_or_else(|| damaged("no count".into()))?;
        let count = u64::from(u16::from_be_bytes(*c));
        if count == 0 || count > SEGMENT_MAX - first % SEGMENT_MAX {
            return Err(damaged(format!(
                "{count} nodes do not fit a segment at leaf {first}"
            )));
        }
        let mut lens = Vec::with_capacity(count as usize);
        let mut total = 0usize;
        for _ in 0..count {
            let (l, more) = rest
                .split_first_chunk::<4>()
                .ok_or_else(|| damaged("truncated lengths".into()))?;
            let len = u32::from_be_bytes(*l);
            if len != REDACTED {
                total = total
                    .checked_add(len as usize)
                    .filter(|t| *t <= more.len())
                    .ok_or_else(|| damaged("a length runs past the row".into()))?;
            }
            lens.push(len);
            rest = more;
        }
        // Checked again against the data alone: a redacted length after the others does not
        // consume bytes, so the running check above saw the remaining length fields too.
        if total > rest.len() {
            return Err(damaged("a length runs past the row".into()));
        }
        if rest.len() > total {
            return Err(damaged(format!(
                "{} bytes after the last node",
                rest.len() - total
            )));
        }
        Ok(Self {
            first,
            lens,
            bytes: rest,
        })
    }

    /// Every node with its leaf, in order (`None` where redacted).
    pub fn iter(&self) -> impl Iterator<Item = (u64, Option<&'a [u8]>)> + '_ {
        let bytes = self.bytes;
        let mut at = 0usize;
        self.lens.iter().enumerate().map(move |(k, &len)| {
            let leaf = self.first + k as u64;
            if len == REDACTED {
                return (leaf, None);
            }
            let end = at + len as usize;
            let b = bytes.get(at..end);
            at = end;
            (leaf, b)
        })
    }

    /// The node at leaf `index`: `None` outside the segment, `Some(None)` if redacted.
    pub fn get(&self, index: u64) -> Option<Option<&'a [u8]>> {
        let k = usize::try_from(index.checked_sub(self.first)?).ok()?;
        let len = *self.lens.get(k)?;
        if len == REDACTED {
            return Some(None);
        }
        let at: usize = self.lens[..k]
            .iter()
            .filter(|l| **l != REDACTED)
            .map(|l| *l as usize)
            .sum();
        Some(self.bytes.get(at..at + len as usize))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn node(i: u64) -> Vec<u8> {
        format!(r#"{{"i":{i},"type":"x-seg"}}"#).into_bytes()
    }

    proptest! {
        /// Splitting keeps every node at its leaf, respects the boundary, and round-trips.
        #[test]
        fn split_keeps_every_node_at_its_leaf(first in 0u64..2000, n in 0u64..700) {
            let nodes: Vec<Vec<u8>> = (first..first + n).map(node).collect();
            let refs: Vec<Option<&[u8]>> = nodes.iter().map(|n| Some(n.as_slice())).collect();
            let segs = Segment::split(first, &refs).unwrap();
            let mut next = first;
            for s in &segs {
                prop_assert_eq!(s.first(), next);
                prop_assert!(!s.is_empty() && s.len() <= SEGMENT_MAX);
                prop_assert_eq!(s.first() / SEGMENT_MAX, (s.first() + s.len() - 1) / SEGMENT_MAX);
                for (i, b) in s.iter() {
                    let want = node(i);
                    prop_assert_eq!(b, Some(want.as_slice()));
                }
                prop_assert_eq!(&Segment::decode(s.first(), &s.encode()).unwrap(), s);
                next += s.len();
            }
            prop_assert_eq!(next, first + n);
        }

        /// Redaction removes the bytes from the row and nothing else.
        #[test]
        fn redaction_removes_the_bytes_from_the_row(k in 0u64..40) {
            let nodes: Vec<Vec<u8>> = (0..40).map(|i| format!("secret-{i:04}-{}", "x".repeat(20)).into_bytes()).collect();
            let refs: Vec<Option<&[u8]>> = nodes.iter().map(|n| Some(n.as_slice())).collect();
            let mut s = Segment::split(512, &refs).unwrap().remove(0);
            prop_assert!(s.redact(512 + k));
            prop_assert!(!s.redact(512 + k));
            let row = s.encode();
            let gone = format!("secret-{k:04}");
            prop_assert!(!row.windows(gone.len()).any(|w| w == gone.as_bytes()));
            let back = Segment::decode(512, &row).unwrap();
            for (i, b) in back.iter() {
                if i == 512 + k {
                    prop_assert_eq!(b, None);
                } else {
                    prop_assert_eq!(b, Some(nodes[(i - 512) as usize].as_slice()));
                }
            }
        }

        /// The in-place view reads every node of a row (some redacted) exactly as the owned
        /// decode does, by position and by leaf, and nothing outside the segment.
        #[test]
        fn the_view_reads_what_decode_reads(first in 0u64..5000, n in 1usize..60, redacted in proptest::collection::vec(any::<bool>(), 60)) {
            let first = first - first % SEGMENT_MAX + (first % SEGMENT_MAX).min(SEGMENT_MAX - n as u64);
            let nodes: Vec<Vec<u8>> = (0..n as u64).map(|i| node(first + i).repeat(1 + (i % 3) as usize)).collect();
            let refs: Vec<Option<&[u8]>> = nodes
                .iter()
                .zip(&redacted)
                .map(|(b, r)| (!r).then_some(b.as_slice()))
                .collect();
            let segs = Segment::split(first, &refs).unwrap();
            prop_assert_eq!(segs.len(), 1);
            let row = segs[0].encode();
            let view = SegmentView::parse(first, &row).unwrap();
            let owned = Segment::decode(first, &row).unwrap();
            prop_assert_eq!(view.iter().collect::<Vec<_>>(), owned.iter().collect::<Vec<_>>());
            for i in first.saturating_sub(2)..first + n as u64 + 2 {
                prop_assert_eq!(view.get(i), owned.get(i));
            }
        }

        /// Rows that are well formed up to their lengths (version 1, a count that fits, each
        /// length small, huge or redacted, data of any size) are accepted exactly when the
        /// lengths of the nodes with content add up to the data, else refused with
        /// `STORE_DAMAGED`; never a panic.
        #[test]
        fn lengths_are_checked_against_the_data(
            lens in proptest::collection::vec(prop_oneof![0u32..8, Just(REDACTED), Just(REDACTED - 1), any::<u32>()], 1..6),
            data in 0usize..40,
        ) {
            let mut body = vec![SEGMENT_VERSION];
            body.extend_from_slice(&(lens.len() as u16).to_be_bytes());
            for l in &lens {
                body.extend_from_slice(&l.to_be_bytes());
            }
            body.extend(std::iter::repeat_n(b'x', data));
            let row = checksum::seal(body);
            let wanted: u64 = lens.iter().filter(|l| **l != REDACTED).map(|l| u64::from(*l)).sum();
            match SegmentView::parse(0, &row) {
                Ok(v) => {
                    prop_assert_eq!(wanted, data as u64);
                    prop_assert_eq!(v.iter().count(), lens.len());
                }
                Err(e) => {
                    prop_assert_ne!(wanted, data as u64);
                    prop_assert_eq!(e.code(), "STORE_DAMAGED");
                }
            }
        }

        /// Hostile rows decode to `STORE_DAMAGED` or a segment, never a panic or a huge
        /// allocation.
        #[test]
        fn hostile_rows_never_panic(body in proptest::collection::vec(any::<u8>(), 0..3000), first in any::<u64>(), sealed in any::<bool>()) {
            let row = if sealed { checksum::seal(body) } else { body };
            if let Err(e) = Segment::decode(first, &row) {
                prop_assert_eq!(e.code(), "STORE_DAMAGED");
            }
            match SegmentView::parse(first, &row) {
                Err(e) => prop_assert_eq!(e.code(), "STORE_DAMAGED"),
                Ok(v) => {
                    let _ = v.iter().count();
                    for i in first.saturating_sub(1)..first.saturating_add(258) {
                        let _ = v.get(i);
                    }
                }
            }
        }
    }

    #[test]
    fn a_segment_may_not_cross_a_bundle_boundary() {
        let nodes: Vec<Vec<u8>> = (0..2).map(node).collect();
        let refs: Vec<Option<&[u8]>> = nodes.iter().map(|n| Some(n.as_slice())).collect();
        // Stored at 254 it fits (254, 255); the same row read as if at 255 would cross 256.
        let s = Segment::split(254, &refs).unwrap();
        assert_eq!(s.len(), 1);
        let row = s[0].encode();
        assert!(Segment::decode(254, &row).is_ok());
        assert_eq!(
            Segment::decode(255, &row).map_err(|e| e.code()),
            Err("STORE_DAMAGED")
        );
        // 255, 256: two segments.
        assert_eq!(Segment::split(255, &refs).unwrap().len(), 2);
        // Put back after a redaction.
        let mut one = s[0].clone();
        assert!(one.redact(255));
        assert!(one.put(255, node(1)));
        assert_eq!(one, s[0]);
        assert!(!one.put(256, node(2)));
    }
}
