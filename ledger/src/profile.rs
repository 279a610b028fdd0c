//! Where the append path spends its time: process-wide counters, a few relaxed atomic adds per
//! commit, that `evl bench` prints beside its figures (docs/benchmarks.md). They measure; they
//! decide nothing.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// A step of a group commit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Looking up each new node's NodeId (dedup), under the writer lock.
    Dedup,
    /// Folding the new leaves into the frontier and signing the checkpoint.
    Sequence,
    /// The store's work inside its write transaction, before the commit (for storage v2
    /// including [`Phase::IdMap`]).
    Write,
    /// Adding the commit's id-map run and any merges it triggers (part of [`Phase::Write`]).
    IdMap,
    /// The store's durable commit (the fsyncs).
    Sync,
    /// Proving and checking the receipts, after the commit and outside the writer lock.
    Receipts,
}

const PHASES: usize = 6;
static NANOS: [AtomicU64; PHASES] = [const { AtomicU64::new(0) }; PHASES];
static GROUPS: AtomicU64 = AtomicU64::new(0);

/// Adds `spent` to `phase`.
pub(crate) fn add(phase: Phase, spent: Duration) {
    let ns = u64::try_from(spent.as_nanos()).unwrap_or(u64::MAX);
    NANOS[phase as usize].fetch_add(ns, Ordering::Relaxed);
}

/// Counts one group commit.
pub(crate) fn group() {
    GROUPS.fetch_add(1, Ordering::Relaxed);
}

/// The counters so far.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Profile {
    /// Seconds per phase, in [`Phase`] order.
    pub seconds: [f64; PHASES],
    /// Group commits.
    pub groups: u64,
}

impl Profile {
    /// The seconds spent in `phase`.
    pub fn get(&self, phase: Phase) -> f64 {
        self.seconds[phase as usize]
    }
}

/// Reads the counters.
pub fn snapshot() -> Profile {
    let mut seconds = [0.0; PHASES];
    for (s, n) in seconds.iter_mut().zip(&NANOS) {
        *s = n.load(Ordering::Relaxed) as f64 / 1e9;
    }
    Profile {
        seconds,
        groups: GROUPS.load(Ordering::Relaxed),
    }
}
