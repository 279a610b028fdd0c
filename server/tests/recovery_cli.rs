//! `evl verify` (last-verify.json), `evl mark-corrupted`, `evl recover --from-backup` and
//! `evl diagnostics` on the real binary, with bytes flipped in the store through the test hooks.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use common::{evl, ok, text};
use evl_ledger::store::redb_store::RedbStore;
use evl_ledger::store::{Snapshot, Store};
use evl_sdk::LeafIndex;
use std::path::Path;
use std::process::Command;

fn fails(data: &Path, args: &[&str]) -> String {
    let o = evl(data, args);
    assert_eq!(o.status.code(), Some(1), "evl {args:?}: {}", text(&o));
    text(&o)
}

/// A ledger of 20 nodes with one anchor and an export of it; returns the NodeIds.
fn ledger(data: &Path, dir: &Path, tag: &str) -> Vec<String> {
    ok(data, &["init", "--origin", "recover.test/log"]);
    let docs: String = (0..20)
        .map(|i| format!("{{\"type\":\"x-t\",\"tag\":\"{tag}\",\"i\":{i}}}\n"))
        .collect();
    let f = dir.join(format!("{tag}.jsonl"));
    std::fs::write(&f, docs).unwrap();
    let o = ok(data, &["append", f.to_str().unwrap(), "--output", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    ok(data, &["anchor", "create"]);
    v.as_array()
        .unwrap()
        .iter()
        .map(|r| r["receipt"]["node_id"].as_str().unwrap().to_owned())
        .collect()
}

fn damage(data: &Path, node: u64, hash: (u32, u64)) {
    let store = RedbStore::open(&data.join("ledger.redb")).unwrap();
    let snap = store.snapshot().unwrap();
    let mut b = snap.node(LeafIndex::new(node).unwrap()).unwrap().unwrap();
    let mut h = *snap.hash(hash.0, hash.1).unwrap().unwrap().as_bytes();
    drop(snap);
    b[3] ^= 0x01;
    h[0] ^= 0x80;
    store.overwrite_node(node, &b).unwrap();
    store.overwrite_hash(hash.0, hash.1, &h).unwrap();
}

#[test]
fn verify_mark_recover_and_diagnostics() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let data = dir.join("data");
    let ids = ledger(&data, dir, "a");
    let backup = dir.join("backup.tar.zst");
    ok(&data, &["export", "--out", backup.to_str().unwrap()]);
    let other_data = dir.join("other");
    ledger(&other_data, dir, "b");
    let other = dir.join("other.tar.zst");
    ok(&other_data, &["export", "--out", other.to_str().unwrap()]);

    damage(&data, 5, (2, 1));
    // A full verify fails and leaves its report in DATA/last-verify.json.
    let t = fails(&data, &["verify", "--mode", "full"]);
    assert!(t.contains("leaf 5") && t.contains("hash 2/1"), "{t}");
    let last: serde_json::Value =
        serde_json::from_slice(&std::fs::read(data.join("last-verify.json")).unwrap()).unwrap();
    assert_eq!(last["ok"], false);
    assert_eq!(last["report"]["failures"][0]["leaf_index"], 5);
    // Reads of the damaged node fail; others work.
    let t = fails(&data, &["get", &ids[5]]);
    assert!(
        t.contains("NODE_ID_MISMATCH") && t.contains("mark-corrupted --index 5"),
        "{t}"
    );
    ok(&data, &["get", &ids[6]]);

    // Another log's export is refused and changes nothing.
    let t = fails(&data, &["recover", "--from-backup", other.to_str().unwrap()]);
    assert!(
        t.contains("NODE_ID_MISMATCH") && t.contains("nothing was changed"),
        "{t}"
    );
    let t = fails(&data, &["recover"]);
    assert!(t.contains("OUT_OF_RANGE") && t.contains("--from-backup"), "{t}");
    let t = fails(&data, &["verify", "--mode", "full"]);
    assert!(t.contains("leaf 5") && t.contains("hash 2/1"), "{t}");

    // Stored hashes first (mark-corrupted refuses to append over a damaged tree only when a
    // peak is damaged; this one is not), then record the loss.
    let t = fails(&data, &["mark-corrupted", "--index", "6", "--reason", "x"]);
    assert!(
        t.contains("NOT_FOUND") && t.contains("no damage at leaf 6"),
        "{t}"
    );
    let o = ok(
        &data,
        &[
            "mark-corrupted",
            "--index",
            "5",
            "--reason",
            "disk bit rot",
            "--output",
            "json",
        ],
    );
    let m: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let record = m["record"]["id"].as_str().unwrap().to_owned();
    assert_eq!(m["record"]["corrupted"], ids[5].as_str());
    let t = fails(&data, &["get", &ids[5]]);
    assert!(t.contains("CORRUPTED") && t.contains(&record), "{t}");
    ok(&data, &["prove", &ids[5]]);
    // Recorded, but the stored hash 2/1 still fails verify.
    let t = fails(&data, &["verify", "--mode", "full"]);
    assert!(
        t.contains("RECORDED") && t.contains(&record) && t.contains("hash 2/1"),
        "{t}"
    );

    // Recover from the export made before the damage: content and hash come back.
    let o = ok(&data, &["recover", "--from-backup", backup.to_str().unwrap()]);
    let t = text(&o);
    assert!(
        t.contains("repaired: node at leaf 5") && t.contains("repaired: stored hash 2/1"),
        "{t}"
    );
    assert!(t.contains("full verify after recovery: OK"), "{t}");
    ok(&data, &["verify", "--mode", "full"]);
    let o = ok(&data, &["get", &ids[5]]);
    assert!(String::from_utf8_lossy(&o.stdout).contains(r#""i":5"#));
    let last: serde_json::Value =
        serde_json::from_slice(&std::fs::read(data.join("last-verify.json")).unwrap()).unwrap();
    assert_eq!(last["ok"], true);

    // Diagnostics: everything listed, no secrets.
    let admin = std::fs::read_to_string(data.join("admin-token"))
        .unwrap()
        .trim()
        .to_owned();
    let pem = std::fs::read_to_string(data.join("signing-key.pem")).unwrap();
    let pem_body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let config_token = "config-token-0123456789abcdef";
    std::fs::write(
        data.join("evl.toml"),
        format!("[[auth.tokens]]\nname = \"ci\"\ntoken = \"{config_token}\"\nscopes = [\"read\"]\n"),
    )
    .unwrap();
    let log = dir.join("server.log");
    std::fs::write(
        &log,
        format!("INFO started\nERROR oops with token {admin} and {config_token}\n"),
    )
    .unwrap();
    let out = dir.join("diag.tar.zst");
    // Scrubbed even when the configuration does not load (here: an unknown EVL_ variable).
    let bad = Command::new(env!("CARGO_BIN_EXE_evl"))
        .arg("--data")
        .arg(&data)
        .args([
            "diagnostics",
            "--out",
            out.to_str().unwrap(),
            "--log-file",
            log.to_str().unwrap(),
        ])
        .env("EVL_NOT_A_KEY", "1")
        .output()
        .unwrap();
    assert!(bad.status.success(), "{}", text(&bad));
    let tar = evl_sdk::pack::decompress(&std::fs::read(&out).unwrap(), 1 << 30).unwrap();
    for secret in [admin.as_str(), pem_body.as_str(), config_token] {
        assert!(!tar.windows(secret.len()).any(|w| w == secret.as_bytes()));
    }
    let o = ok(
        &data,
        &[
            "diagnostics",
            "--out",
            out.to_str().unwrap(),
            "--log-file",
            log.to_str().unwrap(),
        ],
    );
    assert!(text(&o).contains("status.json"), "{}", text(&o));
    let archive = std::fs::read(&out).unwrap();
    let tar = evl_sdk::pack::decompress(&archive, 1 << 30).unwrap();
    for bytes in [&archive, &tar] {
        for secret in [admin.as_str(), pem_body.as_str(), config_token] {
            assert!(
                !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
                "the archive holds a secret"
            );
        }
        for line in pem.lines().filter(|l| !l.starts_with("-----")) {
            assert!(!bytes.windows(line.len()).any(|w| w == line.as_bytes()));
        }
    }
    let entries: std::collections::BTreeMap<String, Vec<u8>> = evl_sdk::pack::tar::entries(&tar)
        .unwrap()
        .into_iter()
        .map(|(p, d)| (p, d.to_vec()))
        .collect();
    let names: Vec<&str> = entries.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "anchors.json",
            "config.json",
            "errors.json",
            "last-verify.json",
            "server-log.txt",
            "status.json",
            "store-stats.json"
        ]
    );
    let json = |p: &str| serde_json::from_slice::<serde_json::Value>(&entries[p]).unwrap();
    let status = json("status.json");
    assert_eq!(status["tree_size"], 21);
    assert_eq!(status["last_anchor"]["seq"], 0);
    assert!(status["evl_version"].is_string());
    assert_eq!(json("config.json")["auth"]["tokens"][0]["token"], "<redacted>");
    assert_eq!(json("anchors.json")["recent"].as_array().unwrap().len(), 1);
    assert_eq!(json("last-verify.json")["ok"], true);
    let log_entry = String::from_utf8(entries["server-log.txt"].clone()).unwrap();
    assert!(
        log_entry.contains("ERROR oops with token <redacted> and <redacted>"),
        "{log_entry}"
    );
    let files = json("store-stats.json")["files"].to_string();
    assert!(
        files.contains("signing-key.pem") && files.contains("600"),
        "{files}"
    );

    // --help explains each command.
    for (cmd, needle) in [
        ("mark-corrupted", "corruption/v1"),
        ("recover", "--from-backup <FILE>"),
        ("diagnostics", "<redacted>"),
    ] {
        let t = text(&ok(&data, &[cmd, "--help"]));
        assert!(t.contains(needle), "{cmd}: {t}");
    }
}
