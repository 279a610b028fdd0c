//! Anchors: signing the chain of checkpoints (SPEC.md §7), by request, by policy after a
//! commit, and as a new segment after a break (§7.3), with the time rule for anchors
//! (docs/design.md, "Time"). Above the writer: it signs with the writer's key under the
//! writer's lock.

use crate::error::{LedgerError, Next};
use crate::store::{Batch, Snapshot, Store};
use crate::writer::{Ledger, lock};
use evl_sdk::anchor::{ANCHOR_TYPE, ArchivedLink};
use evl_sdk::{Anchor, AnchorPayload, ErrorCode, Frontier, NodeId, Timestamp, TreeHead, TreeSize};

/// How far, in seconds, the last anchor's time may be ahead of this clock for a new anchor to
/// take that time over. Rationale: machines kept in sync by NTP differ by far less; five minutes
/// absorb a failover to a machine whose clock lags a little, while a clock set an hour, a day or
/// a year ahead is refused (`CLOCK_SKEW`) rather than copied into every later anchor.
pub const MAX_CLOCK_SKEW_SECS: i64 = 300;

impl<S: Store> Ledger<S> {
    pub(crate) fn anchor_due(&self, snap: &S::Snapshot, size: TreeSize) -> Result<bool, LedgerError> {
        let p = self.inner.policy;
        if p.every_entries.is_none() && p.every_seconds.is_none() {
            return Ok(false);
        }
        // The last anchor only (a networked store answers this without reading them all).
        let last = match snap.version()?.last_anchor {
            Some(seq) => snap.anchor(seq)?.map(|b| (seq, b)),
            None => None,
        };
        let Some((_, bytes)) = last else {
            // No anchor yet: count entries from 0 and age from the log's creation (the first
            // key's not_before).
            let created = self
                .inner
                .shared
                .trust
                .keys()
                .iter()
                .map(|k| k.not_before())
                .min();
            let age = created.map_or(0, |c| crate::time::now().unix() - c.unix());
            return Ok(size.get() > 0
                && (p.every_entries.is_some_and(|n| size.get() >= n)
                    || p.every_seconds.is_some_and(|s| age >= s as i64)));
        };
        let Ok(a) = Anchor::from_json(&bytes) else {
            return Ok(false);
        };
        let grown = size.get().saturating_sub(a.payload().tree_size);
        if grown == 0 {
            return Ok(false);
        }
        if p.every_entries.is_some_and(|n| grown >= n) {
            return Ok(true);
        }
        let age = crate::time::now().unix() - a.payload().time.unix();
        Ok(p.every_seconds.is_some_and(|s| age >= s as i64))
    }

    /// Creates an anchor for the current tree, chained to the previous one (SPEC.md §7), at
    /// the clock's time ([`Ledger::anchor_at`] has the time rule).
    pub fn anchor(&self) -> Result<Anchor, LedgerError> {
        self.anchor_at(crate::time::now())
    }

    /// [`Ledger::anchor`] with the clock's reading `now` supplied (tools and tests with a fake
    /// clock). The time rule (docs/design.md, "Time"): the anchor's time is `now`, or the last
    /// anchor's time when that is ahead of `now` by at most [`MAX_CLOCK_SKEW_SECS`] (times never
    /// go back along a chain, SPEC.md §7.2 step 6). It refuses, with `CLOCK_SKEW` and nothing
    /// signed, when `now` is before the signing key's `not_before` (the anchor would not verify)
    /// or when the last anchor is further ahead (a future time is never copied forward).
    pub fn anchor_at(&self, now: Timestamp) -> Result<Anchor, LedgerError> {
        let mut w = lock(&self.inner.writer)?;
        let _held = self.inner.shared.store.writer_lock()?;
        self.follow(&mut w, &self.inner.shared.store.snapshot()?)?;
        self.check_edge()?;
        self.anchor_locked(&w, now)
    }

    /// The anchor time for a clock reading `now` after an anchor of time `last` (see
    /// [`Ledger::anchor_at`]).
    fn anchor_time(&self, now: Timestamp, last: Option<Timestamp>) -> Result<Timestamp, LedgerError> {
        let mine = self.inner.key.public();
        if let Some(nb) = self
            .inner
            .shared
            .trust
            .keys()
            .iter()
            .filter(|k| k.key() == mine)
            .map(|k| k.not_before())
            .min()
            && now < nb
        {
            return Err(LedgerError::ClockSkew(format!(
                "this clock reads {now}, before the signing key's not_before {nb}: an anchor signed now would not verify (KEY_EXPIRED); check the clock"
            )));
        }
        match last {
            Some(t) if t.unix() - now.unix() > MAX_CLOCK_SKEW_SECS => Err(LedgerError::ClockSkew(format!(
                "the last anchor's time {t} is ahead of this clock ({now}) by more than {MAX_CLOCK_SKEW_SECS} s; anchor times never go back (SPEC.md §7.2 step 6) and a future time is not copied forward: fix the clock, or wait until it passes {t}"
            ))),
            Some(t) => Ok(now.max(t)),
            None => Ok(now),
        }
    }

    /// Whether an anchor is due under the policy (for a timer to call [`Ledger::anchor`]).
    pub fn anchor_is_due(&self) -> Result<bool, LedgerError> {
        let _w = lock(&self.inner.writer)?;
        let snap = self.inner.shared.store.snapshot()?;
        self.anchor_due(&snap, snap.tree_size()?)
    }

    pub(crate) fn anchor_locked(&self, w: &Frontier, now: Timestamp) -> Result<Anchor, LedgerError> {
        let _span = tracing::info_span!("anchor", size = w.size().get()).entered();
        let snap = self.inner.shared.store.snapshot()?;
        let anchors = snap.anchors()?;
        let last = anchors
            .last()
            .map(|(seq, bytes)| (*seq, Anchor::from_json(bytes)));
        let last_id = match &last {
            Some((seq, Ok(a))) => Some((*seq, a.id())),
            _ => None,
        };
        let checked = *lock(&self.inner.chain_checked)?;
        if (last_id.is_none() || last_id != checked)
            && let Some(f) = self.reader().verify_anchor_chain()?.failure
        {
            return Err(LedgerError::Integrity {
                code: ErrorCode::ChainBroken,
                message: format!(
                    "the anchor chain is broken at anchor {} ({}: {}); no anchor is signed on a broken chain",
                    f.seq, f.code, f.message
                ),
            }
            .advise(Next::NewChain));
        }
        let (seq, segment, prev, time) = match last {
            None => (0, 0, None, now),
            Some((seq, parsed)) => {
                let a = parsed.map_err(|e| {
                    LedgerError::Integrity {
                        code: ErrorCode::ChainBroken,
                        message: format!("the last anchor (seq {seq}) is unreadable ({e})"),
                    }
                    .advise(Next::NewChain)
                })?;
                let p = a.payload();
                (seq + 1, p.segment, Some(a.id()), p.time)
            }
        };
        // `time` is the last anchor's when there is one.
        let time = self.anchor_time(now, prev.is_some().then_some(time))?;
        self.store_anchor(&snap, w, seq, segment, prev, None, None, time)
    }

    /// Starts a new chain segment after a break (SPEC.md §7.3): the genesis anchor records
    /// `reason` and links to the last anchor that still verifies.
    pub fn new_chain(&self, reason: &str) -> Result<Anchor, LedgerError> {
        if reason.trim().is_empty() {
            return Err(LedgerError::OutOfRange(
                "a new chain segment needs a non-empty --reason".into(),
            ));
        }
        let mut w = lock(&self.inner.writer)?;
        let _held = self.inner.shared.store.writer_lock()?;
        self.follow(&mut w, &self.inner.shared.store.snapshot()?)?;
        self.check_edge()?;
        let report = self.reader().verify_anchor_chain()?;
        let snap = self.inner.shared.store.snapshot()?;
        let next_seq = snap.anchors()?.last().map_or(0, |(s, _)| s + 1);
        let Some(good) = report.last_good else {
            return Err(LedgerError::OutOfRange(
                "no anchor verifies; there is no segment to archive".into(),
            ));
        };
        let archived = ArchivedLink {
            segment: good.segment,
            last_seq: good.seq,
            last_anchor: good.id,
        };
        let time = self.anchor_time(crate::time::now(), Some(good.time))?;
        self.store_anchor(
            &snap,
            &w,
            next_seq,
            good.segment + 1,
            None,
            Some(reason.trim().to_owned()),
            Some(archived),
            time,
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn store_anchor(
        &self,
        snap: &S::Snapshot,
        w: &Frontier,
        seq: u64,
        segment: u64,
        prev: Option<NodeId>,
        segment_reason: Option<String>,
        archived: Option<ArchivedLink>,
        time: Timestamp,
    ) -> Result<Anchor, LedgerError> {
        let size = w.size();
        let root = w.root();
        let mut batch = Batch {
            expect: Some(snap.version()?),
            ..Batch::default()
        };
        let checkpoint = match snap.checkpoint(size)? {
            Some(t) => t,
            None => {
                let t = self.sign_checkpoint(TreeHead::new(size, root))?;
                batch.checkpoints.push((size, t.clone()));
                t
            }
        };
        let payload = AnchorPayload {
            kind: ANCHOR_TYPE.into(),
            origin: self.inner.shared.origin.clone(),
            seq,
            segment,
            tree_size: size.get(),
            root: root.to_base64(),
            checkpoint,
            prev,
            segment_reason,
            archived,
            time,
        };
        let anchor = payload.sign(&self.inner.key);
        batch.anchors.push((seq, anchor.to_json()));
        self.inner.shared.store.commit(batch)?;
        // It extends a chain verified just before (`anchor_locked`, `new_chain`).
        *lock(&self.inner.chain_checked)? = Some((seq, anchor.id()));
        tracing::info!(seq, segment, size = size.get(), "anchor created");
        Ok(anchor)
    }
}
