//! Prometheus metrics (text format 0.0.4), all prefixed `evl_`. A small registry of our own:
//! a handful of counters and fixed-bucket histograms does not justify a metrics framework.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Latency buckets in seconds, from 100 µs to 10 s.
pub const LATENCY_BUCKETS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// A histogram with fixed buckets.
pub struct Histogram {
    counts: Vec<AtomicU64>,
    sum_ns: AtomicU64,
    count: AtomicU64,
}

impl Default for Histogram {
    fn default() -> Self {
        Self {
            counts: LATENCY_BUCKETS.iter().map(|_| AtomicU64::new(0)).collect(),
            sum_ns: AtomicU64::new(0),
            count: AtomicU64::new(0),
        }
    }
}

impl Histogram {
    /// Records one observation.
    pub fn observe(&self, d: Duration) {
        let s = d.as_secs_f64();
        for (b, c) in LATENCY_BUCKETS.iter().zip(&self.counts) {
            if s <= *b {
                c.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.sum_ns
            .fetch_add(d.as_nanos().min(u128::from(u64::MAX)) as u64, Ordering::Relaxed);
        self.count.fetch_add(1, Ordering::Relaxed);
    }

    fn render(&self, out: &mut String, name: &str, help: &str) {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
        for (b, c) in LATENCY_BUCKETS.iter().zip(&self.counts) {
            let _ = writeln!(out, "{name}_bucket{{le=\"{b}\"}} {}", c.load(Ordering::Relaxed));
        }
        let n = self.count.load(Ordering::Relaxed);
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {n}");
        let _ = writeln!(
            out,
            "{name}_sum {}",
            self.sum_ns.load(Ordering::Relaxed) as f64 / 1e9
        );
        let _ = writeln!(out, "{name}_count {n}");
    }
}

/// Everything the server measures.
#[derive(Default)]
pub struct Metrics {
    /// POST /v1/nodes, whole request.
    pub append_latency: Histogram,
    /// Proof requests.
    pub proof_latency: Histogram,
    /// GET /v1/nodes/{id}.
    pub retrieval_latency: Histogram,
    /// Nodes newly appended.
    pub nodes_appended: AtomicU64,
    /// Nodes sent that were already present.
    pub nodes_deduplicated: AtomicU64,
    /// DSSE/anchor verification failures seen by the server's own checks.
    pub dsse_verification_failures: AtomicU64,
    /// Requests by (route, status).
    requests: Mutex<BTreeMap<(String, u16), u64>>,
}

/// Values read from the ledger at scrape time.
pub struct Gauges {
    /// Tree size.
    pub tree_size: u64,
    /// Store file size.
    pub storage_bytes: u64,
    /// Age of the last anchor, if any.
    pub anchor_age_seconds: Option<i64>,
    /// Number of anchors.
    pub anchors: u64,
}

impl Metrics {
    /// Counts one request.
    pub fn request(&self, route: &str, status: u16) {
        if let Ok(mut m) = self.requests.lock() {
            *m.entry((route.to_owned(), status)).or_insert(0) += 1;
        }
    }

    /// The Prometheus text.
    pub fn render(&self, g: &Gauges) -> String {
        let mut o = String::new();
        let gauge = |o: &mut String, name: &str, help: &str, v: String| {
            let _ = writeln!(o, "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {v}");
        };
        let counter = |o: &mut String, name: &str, help: &str, v: u64| {
            let _ = writeln!(o, "# HELP {name} {help}\n# TYPE {name} counter\n{name} {v}");
        };
        gauge(
            &mut o,
            "evl_artifacts_total",
            "Nodes (artifacts) in the log: the tree size.",
            g.tree_size.to_string(),
        );
        gauge(
            &mut o,
            "evl_storage_bytes",
            "Bytes the store occupies on disk.",
            g.storage_bytes.to_string(),
        );
        gauge(
            &mut o,
            "evl_anchors_total",
            "Anchors stored.",
            g.anchors.to_string(),
        );
        gauge(
            &mut o,
            "evl_merkle_anchor_age_seconds",
            "Seconds since the last anchor (-1 when there is none).",
            g.anchor_age_seconds.unwrap_or(-1).to_string(),
        );
        counter(
            &mut o,
            "evl_nodes_appended_total",
            "Nodes appended.",
            self.nodes_appended.load(Ordering::Relaxed),
        );
        counter(
            &mut o,
            "evl_nodes_deduplicated_total",
            "Nodes sent that were already in the log.",
            self.nodes_deduplicated.load(Ordering::Relaxed),
        );
        counter(
            &mut o,
            "evl_dsse_verification_failures_total",
            "DSSE envelopes (anchors) that failed the server's own verification.",
            self.dsse_verification_failures.load(Ordering::Relaxed),
        );
        counter(
            &mut o,
            "evl_unproven_answers_refused_total",
            "Receipts and proofs read from the store that did not verify against the signed checkpoint they cite, so were refused (STORE_DAMAGED) instead of served: each is damage in the store.",
            evl_ledger::refused_answers(),
        );
        counter(
            &mut o,
            "evl_id_map_fallbacks_total",
            "Reads answered by scanning the stored leaf hashes because the id map had lost the node's entry (a damaged id map: run evl verify --mode full).",
            evl_ledger::id_map_fallbacks(),
        );
        self.append_latency.render(
            &mut o,
            "evl_append_latency_seconds",
            "POST /v1/nodes latency, until the receipt is ready.",
        );
        self.proof_latency.render(
            &mut o,
            "evl_proof_latency_seconds",
            "Inclusion and consistency proof latency.",
        );
        self.retrieval_latency.render(
            &mut o,
            "evl_retrieval_latency_seconds",
            "GET /v1/nodes/{id} latency.",
        );
        let _ = writeln!(
            o,
            "# HELP evl_http_requests_total HTTP requests by route and status.\n# TYPE evl_http_requests_total counter"
        );
        if let Ok(m) = self.requests.lock() {
            for ((route, status), n) in m.iter() {
                let _ = writeln!(
                    o,
                    "evl_http_requests_total{{route=\"{route}\",status=\"{status}\"}} {n}"
                );
            }
        }
        o
    }
}
