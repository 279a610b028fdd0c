//! Appends under load until killed, printing every acknowledged receipt as one JSON line:
//! `crash-child STORE_PATH RUN [FORMAT]` (FORMAT 1, the default, or 2: the store format of a new
//! store). Used by tests/crash.rs, which SIGKILLs it at random times.

use evl_ledger::retention::RedactionRequest;
use evl_ledger::store::StoreFormat;
use evl_ledger::store::redb_store::RedbStore;
use evl_ledger::{AnchorPolicy, Ledger};
use evl_sdk::LeafIndex;
use evl_sdk::SecretKey;
use std::io::Write as _;
use std::sync::Mutex;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(path), Some(run)) = (args.get(1), args.get(2)) else {
        eprintln!("usage: crash-child STORE_PATH RUN");
        std::process::exit(2);
    };
    let key = match SecretKey::from_seed(evl_tests::CRASH_ORIGIN, &evl_tests::CRASH_SEED) {
        Ok(k) => k,
        Err(e) => fail(&e),
    };
    let path = std::path::Path::new(path);
    let store = match args.get(3).map(String::as_str) {
        Some("2") if !path.exists() => RedbStore::create(path, StoreFormat::V2),
        _ => RedbStore::open(path),
    }
    .unwrap_or_else(|e| fail(&e));
    let initialized = evl_ledger::store_origin(&store).is_ok();
    let policy = AnchorPolicy {
        every_entries: Some(500),
        every_seconds: None,
    };
    let ledger = if initialized {
        Ledger::open(store, key, policy)
    } else {
        Ledger::init(store, key, evl_ledger::time::now(), policy)
    }
    .unwrap_or_else(|e| fail(&e));
    let out = Mutex::new(std::io::stdout());
    std::thread::scope(|s| {
        for t in 0..4u64 {
            let ledger = ledger.clone();
            let out = &out;
            let run = run.clone();
            s.spawn(move || {
                let mut i = 0u64;
                loop {
                    let n = 1 + (i * 7 + t) % 40;
                    let docs: Vec<Vec<u8>> = (0..n)
                        .map(|k| {
                            format!(
                                r#"{{"type":"x-crash","run":"{run}","t":{t},"i":{},"pad":"{}"}}"#,
                                i + k,
                                "x".repeat(200)
                            )
                            .into_bytes()
                        })
                        .collect();
                    // Every tenth batch repeats an earlier node: dedup under crashes.
                    let mut refs: Vec<&[u8]> = docs.iter().map(Vec::as_slice).collect();
                    let again;
                    if i.is_multiple_of(10) && i > 0 {
                        again = format!(
                            r#"{{"type":"x-crash","run":"{run}","t":{t},"i":0,"pad":"{}"}}"#,
                            "x".repeat(200)
                        )
                        .into_bytes();
                        refs.push(&again);
                    }
                    let receipts = ledger.append_json(&refs).unwrap_or_else(|e| fail(&e));
                    {
                        let mut o = out.lock().unwrap_or_else(|p| p.into_inner());
                        for r in &receipts {
                            let _ = writeln!(o, "{}", String::from_utf8_lossy(&r.receipt.to_json()));
                        }
                        let _ = o.flush();
                    }
                    // Thread 0 redacts the first node of every fifth batch (never the node the
                    // batches repeat), printing `redacted ID` once the redaction is committed.
                    if t == 0
                        && i > 0
                        && (i / 7).is_multiple_of(5)
                        && let Some(first) = receipts.first()
                    {
                        let req = RedactionRequest {
                            index: LeafIndex::new(first.receipt.leaf_index).unwrap_or_else(|| fail(&"index")),
                            id: first.receipt.node_id,
                            reason: "crash test".into(),
                            policy: evl_sdk::redaction::MANUAL_POLICY.into(),
                        };
                        ledger
                            .redact(&[req], evl_ledger::time::now())
                            .unwrap_or_else(|e| fail(&e));
                        let mut o = out.lock().unwrap_or_else(|p| p.into_inner());
                        let _ = writeln!(o, "redacted {}", first.receipt.node_id);
                        let _ = o.flush();
                    }
                    i += n;
                }
            });
        }
    });
}

fn fail(e: &dyn std::fmt::Display) -> ! {
    eprintln!("crash-child: {e}");
    std::process::exit(1)
}
