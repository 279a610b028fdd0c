//! `evl migrate` on the real binary (issue 14): an `evl-store/1` ledger with anchors and
//! redacted content converts to `evl-store/2` and then serves byte-identical receipts, proofs,
//! checkpoints and anchors; a damaged source is refused with its code and nothing changes; a
//! migration SIGKILLed at any moment leaves `ledger.redb` one complete, verifying store.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use common::{evl, json, ok, text};
use evl_ledger::store::redb_store::RedbStore;
use evl_ledger::store::{Snapshot, Store, StoreFormat};
use evl_sdk::LeafIndex;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

/// An `evl-store/1` ledger: nodes, an anchor, 5 blobs (anchored, then redacted by retention),
/// more nodes and a third anchor. Returns the NodeIds of every appended node.
fn v1_ledger(data: &Path, work: &Path, n: usize) -> Vec<String> {
    ok(
        data,
        &["init", "--origin", "migrate.test/log", "--store-format", "1"],
    );
    let mut ids = Vec::new();
    let append = |ids: &mut Vec<String>, name: &str, docs: String| {
        let f = work.join(name);
        std::fs::write(&f, docs).unwrap();
        let v = json(&ok(data, &["append", f.to_str().unwrap(), "--output", "json"]));
        for r in v.as_array().unwrap() {
            ids.push(r["receipt"]["node_id"].as_str().unwrap().to_owned());
        }
    };
    let docs: String = (0..n)
        .map(|i| {
            format!(
                "{{\"type\":\"x-m\",\"i\":{i},\"pad\":\"{}\"}}\n",
                "p".repeat(i % 300)
            )
        })
        .collect();
    append(&mut ids, "a.jsonl", docs);
    ok(data, &["anchor", "create"]);
    for i in 0..5 {
        let f = work.join(format!("blob{i}.json"));
        std::fs::write(&f, format!("{{\"secret\":{i}}}")).unwrap();
        let v = json(&ok(
            data,
            &[
                "append",
                f.to_str().unwrap(),
                "--as-blob",
                "application/json",
                "--output",
                "json",
            ],
        ));
        ids.push(v[0]["receipt"]["node_id"].as_str().unwrap().to_owned());
    }
    ok(data, &["anchor", "create"]);
    std::fs::write(
        data.join("evl.toml"),
        "[[retention.rules]]\ntype = \"blob/v1\"\nmax_age_days = 0\n",
    )
    .unwrap();
    ok(data, &["cleanup", "--apply-retention", "--no-archive"]);
    let docs: String = (0..n / 2)
        .map(|i| format!("{{\"type\":\"x-m2\",\"i\":{i}}}\n"))
        .collect();
    append(&mut ids, "b.jsonl", docs);
    ok(data, &["anchor", "create"]);
    ids
}

/// What a client sees: proofs of sampled ids at the current size and at an older one, the
/// checkpoint, the anchors, nodes' bytes.
fn observe(data: &Path, ids: &[String]) -> Vec<String> {
    let mut seen = Vec::new();
    let run = |args: &[&str]| {
        let o = evl(data, args);
        format!("{:?} {}", o.status.code(), String::from_utf8_lossy(&o.stdout))
    };
    seen.push(run(&["checkpoint"]));
    seen.push(run(&["anchor", "list", "--output", "json"]));
    for seq in ["0", "1", "2", "3"] {
        seen.push(run(&["anchor", "inspect", seq, "--output", "json"]));
    }
    for id in ids.iter().step_by(ids.len() / 12 + 1).chain(ids.last()) {
        seen.push(run(&["prove", id]));
        seen.push(run(&["prove", id, "--size", &(ids.len() - 2).to_string()]));
        seen.push(run(&["get", id]));
    }
    seen
}

fn format_of(data: &Path) -> StoreFormat {
    RedbStore::open_read_only(&data.join("ledger.redb"))
        .unwrap()
        .store_format()
}

fn verify_full(data: &Path) {
    let o = evl(data, &["verify", "--mode", "full", "--output", "json"]);
    assert!(o.status.success(), "verify after migrate: {}", text(&o));
}

#[test]
fn migrate_v1_to_v2_serves_byte_identical_answers() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let ids = v1_ledger(&data, tmp.path(), 400);
    assert_eq!(format_of(&data), StoreFormat::V1);
    let before = observe(&data, &ids);

    let v = json(&ok(&data, &["migrate", "--output", "json"]));
    let m = &v["migrated"];
    assert_eq!(m["from"], "evl-store/1");
    assert_eq!(m["to"], "evl-store/2");
    assert_eq!(m["changed"], true);
    assert_eq!(m["redacted"], 5, "{v}");
    assert_eq!(m["anchors"], 4, "{v}"); // the one `init` signs and three
    assert_eq!(
        m["tree_size"].as_u64().unwrap() as usize,
        ids.len() + 5,
        "5 redaction records"
    );
    assert_eq!(format_of(&data), StoreFormat::V2);
    let kept = data.join("ledger.evl-store-1.redb");
    assert_eq!(format_of_path(&kept), StoreFormat::V1, "the old file is kept");
    assert!(no_temporaries(&data));

    assert_eq!(observe(&data, &ids), before, "answers changed by the migration");
    verify_full(&data);

    // The migrated store takes appends, and redacted content stays gone from the file.
    let f = tmp.path().join("after.json");
    std::fs::write(&f, "{\"type\":\"x-after\"}").unwrap();
    ok(&data, &["append", f.to_str().unwrap()]);
    let bytes = std::fs::read(data.join("ledger.redb")).unwrap();
    for i in 0..5 {
        let needle = format!("{{\"secret\":{i}}}");
        assert!(
            !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()),
            "redacted blob {i} is in the migrated file"
        );
    }

    // Again: nothing to do. Back to 1 needs the kept name free.
    let v = json(&ok(&data, &["migrate", "--output", "json"]));
    assert_eq!(v["migrated"]["changed"], false);
    std::fs::remove_file(&kept).unwrap();
    let stray = data.join("ledger.evl-store-2.redb");
    std::fs::write(&stray, b"not this store").unwrap();
    let o = evl(&data, &["migrate", "--to-format", "1", "--output", "json"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert_eq!(json(&o)["code"], "TARGET_NOT_EMPTY");
    assert_eq!(format_of(&data), StoreFormat::V2);
    std::fs::remove_file(&stray).unwrap();
    let v = json(&ok(&data, &["migrate", "--to-format", "1", "--output", "json"]));
    assert_eq!(v["migrated"]["to"], "evl-store/1");
    assert_eq!(format_of(&data), StoreFormat::V1);
    verify_full(&data);
}

fn format_of_path(p: &Path) -> StoreFormat {
    RedbStore::open_read_only(p).unwrap().store_format()
}

fn no_temporaries(data: &Path) -> bool {
    std::fs::read_dir(data)
        .unwrap()
        .flatten()
        .all(|e| !e.file_name().to_string_lossy().starts_with(".evl-migrate-"))
}

#[test]
fn a_damaged_source_is_refused_and_left_unchanged() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    v1_ledger(&data, tmp.path(), 60);
    {
        let store = RedbStore::open(&data.join("ledger.redb")).unwrap();
        let snap = store.snapshot().unwrap();
        let mut b = snap.node(LeafIndex::new(7).unwrap()).unwrap().unwrap();
        drop(snap);
        b[5] ^= 0x04;
        store.overwrite_node(7, &b).unwrap();
    }
    let sum = std::fs::read(data.join("ledger.redb")).unwrap();
    let o = evl(&data, &["migrate", "--output", "json"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert_eq!(json(&o)["code"], "NODE_ID_MISMATCH", "{}", text(&o));
    assert_eq!(
        std::fs::read(data.join("ledger.redb")).unwrap(),
        sum,
        "the source changed"
    );
    assert_eq!(format_of(&data), StoreFormat::V1);
    assert!(!data.join("ledger.evl-store-1.redb").exists());
    assert!(no_temporaries(&data));
}

#[test]
fn a_killed_migration_leaves_one_complete_store() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let ids = v1_ledger(&data, tmp.path(), 3000);
    let before = observe(&data, &ids);
    let mut rng = 0x9e37_79b9_7f4a_7c15u64;
    let mut migrated = false;
    for run in 0..8 {
        // The file a finished migration kept would refuse the way back: drop it.
        for f in ["ledger.evl-store-1.redb", "ledger.evl-store-2.redb"] {
            let p = data.join(f);
            if p.exists() && std::fs::read(&p).ok() != std::fs::read(data.join("ledger.redb")).ok() {
                std::fs::remove_file(p).unwrap();
            }
        }
        let mut child = Command::new(env!("CARGO_BIN_EXE_evl"))
            .arg("--data")
            .arg(&data)
            .args(["migrate", "--to-format", if migrated { "1" } else { "2" }])
            .env("EVL_LOG", "warn")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        std::thread::sleep(Duration::from_millis(20 + rng % 400));
        child.kill().unwrap(); // SIGKILL
        let status = child.wait().unwrap();
        let _ = status;
        let now = format_of(&data);
        migrated = now == StoreFormat::V2;
        verify_full(&data);
        assert_eq!(observe(&data, &ids), before, "run {run}: answers changed");
    }
    // A completed migration removes what the killed ones left.
    for f in ["ledger.evl-store-1.redb", "ledger.evl-store-2.redb"] {
        let _ = std::fs::remove_file(data.join(f));
    }
    ok(
        &data,
        &["migrate", "--to-format", if migrated { "1" } else { "2" }],
    );
    assert!(no_temporaries(&data));
    assert_eq!(observe(&data, &ids), before);
}
