//! Appends under load until killed, printing every acknowledged receipt as one JSON line:
//! `crash-child STORE_PATH RUN`. Used by tests/crash.rs, which SIGKILLs it at random times.

use evl_ledger::store::redb_store::RedbStore;
use evl_ledger::{AnchorPolicy, Ledger};
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
    let store = RedbStore::open(std::path::Path::new(path)).unwrap_or_else(|e| fail(&e));
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
                    let mut o = out.lock().unwrap_or_else(|p| p.into_inner());
                    for r in receipts {
                        let _ = writeln!(o, "{}", String::from_utf8_lossy(&r.receipt.to_json()));
                    }
                    let _ = o.flush();
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
