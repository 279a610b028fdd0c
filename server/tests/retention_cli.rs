//! `evl cleanup --apply-retention` and `evl archive` on the real binary: dry run changes nothing,
//! redaction needs an archive (or --no-archive), the archive verifies offline and holds what is
//! redacted, receipts saved before still verify, the redacted bytes are in no file of the data
//! directory afterwards, the store shrinks, `verify --mode full` passes and lists the redactions,
//! and reads fail with REDACTED while proofs keep working.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use common::{evl, json, ok, text};
use evl_sdk::{Receipt, TrustRoot};
use std::path::Path;

/// How many of the `SECRET-<6 digits>` markers occur in the files directly under `dir`.
fn secrets_in_dir(dir: &Path) -> usize {
    let tag = b"SECRET-";
    let mut n = 0;
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_file() {
            let d = std::fs::read(&p).unwrap();
            n += d.windows(tag.len()).filter(|w| *w == tag).count();
        }
    }
    n
}

#[test]
fn cleanup_with_archive_end_to_end() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    ok(&data, &["init", "--origin", "retention.test/log"]);
    let trust = TrustRoot::from_json(&std::fs::read(data.join("trust-root.json")).unwrap()).unwrap();
    // 300 blobs with secrets, 300 other nodes.
    let lines: String = (0..600)
        .map(|i| {
            if i % 2 == 0 {
                format!(
                    "{{\"type\":\"blob/v1\",\"data\":\"SECRET-{i:06}-{}\"}}\n",
                    "s".repeat(400)
                )
            } else {
                format!("{{\"type\":\"x-keep\",\"i\":{i}}}\n")
            }
        })
        .collect();
    let f = tmp.path().join("nodes.jsonl");
    std::fs::write(&f, lines).unwrap();
    let o = ok(&data, &["append", f.to_str().unwrap(), "--output", "json"]);
    let receipts: Vec<Receipt> = json(&o)
        .as_array()
        .unwrap()
        .iter()
        .map(|v| serde_json::from_value(v["receipt"].clone()).unwrap())
        .collect();
    assert_eq!(receipts.len(), 600);
    ok(&data, &["anchor", "create"]);
    let blob = receipts[0].node_id.to_string();
    let kept = receipts[1].node_id.to_string();
    let held = receipts[2].node_id.to_string();

    // No rules: nothing is ever redacted.
    let o = ok(
        &data,
        &["cleanup", "--apply-retention", "--dry-run", "--output", "json"],
    );
    assert_eq!(json(&o)["plan"]["candidates"].as_array().unwrap().len(), 0);

    std::fs::write(
        data.join("evl.toml"),
        format!("[retention]\nlegal_hold = [\"{held}\"]\n[[retention.rules]]\ntype = \"blob/v1\"\nmax_age_days = 0\n"),
    )
    .unwrap();

    // Dry run: lists 299 candidates (one held), changes nothing.
    let size_before = std::fs::metadata(data.join("ledger.redb")).unwrap().len();
    let o = ok(
        &data,
        &["cleanup", "--apply-retention", "--dry-run", "--output", "json"],
    );
    let v = json(&o);
    assert_eq!(v["plan"]["candidates"].as_array().unwrap().len(), 299);
    assert_eq!(v["plan"]["held"][0]["id"], held.as_str());
    let o = ok(&data, &["cleanup", "--apply-retention", "--dry-run"]);
    assert!(text(&o).contains("nothing changed"), "{}", text(&o));
    ok(&data, &["get", &blob]);
    let o = ok(&data, &["status", "--output", "json"]);
    assert_eq!(json(&o)["tree_size"], 600);
    assert_eq!(
        std::fs::metadata(data.join("ledger.redb")).unwrap().len(),
        size_before
    );

    // Redacting needs --archive or --no-archive (a usage error otherwise).
    let o = evl(&data, &["cleanup", "--apply-retention"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("--archive"), "{}", text(&o));

    // An archive of the wrong age does not hold the candidates: refused, nothing redacted.
    let o = evl(&data, &["archive", "--older-than", "5", "--out", "x.tar.zst"]);
    assert!(!o.status.success());
    assert!(text(&o).contains("NOT_FOUND"), "{}", text(&o));
    let archive = tmp.path().join("archive.tar.zst");
    let o = ok(
        &data,
        &[
            "archive",
            "--older-than",
            "0",
            "--out",
            archive.to_str().unwrap(),
            "--json",
        ],
    );
    let v = json(&o);
    assert_eq!(v["included"], 300);
    assert_eq!(v["candidates_not_held"], 0);
    // It verifies offline and holds the blob's bytes.
    let o = ok(
        &data,
        &[
            "verify-pack",
            archive.to_str().unwrap(),
            "--trust-root",
            data.join("trust-root.json").to_str().unwrap(),
        ],
    );
    assert!(text(&o).contains("VERIFIED"), "{}", text(&o));

    // An export of other types is not an archive of the candidates.
    let wrong = tmp.path().join("wrong.tar.zst");
    ok(
        &data,
        &["export", "--type", "x-keep", "-o", wrong.to_str().unwrap()],
    );
    let o = evl(
        &data,
        &[
            "cleanup",
            "--apply-retention",
            "--archive",
            wrong.to_str().unwrap(),
        ],
    );
    assert!(!o.status.success());
    assert!(text(&o).contains("does not hold 299"), "{}", text(&o));
    ok(&data, &["get", &blob]);

    // Cleanup with the archive.
    let o = ok(
        &data,
        &[
            "cleanup",
            "--apply-retention",
            "--archive",
            archive.to_str().unwrap(),
            "--output",
            "json",
        ],
    );
    let v = json(&o);
    assert_eq!(v["redacted"].as_array().unwrap().len(), 299);
    assert_eq!(v["rebuilt"], true);
    let (before, after) = (
        v["store_bytes_before"].as_u64().unwrap(),
        v["store_bytes_after"].as_u64().unwrap(),
    );
    assert!(after < before, "the store shrinks: {before} → {after}");
    assert_eq!(
        secrets_in_dir(&data),
        1,
        "only the held blob's bytes remain in the data directory"
    );

    // Every receipt saved before verifies; proofs of redacted nodes still work.
    let now = evl_ledger::time::now();
    for r in &receipts {
        trust.verify_receipt(r, now).unwrap();
    }
    let o = ok(&data, &["prove", &blob]);
    let r = Receipt::from_json(String::from_utf8_lossy(&o.stdout).trim().as_bytes()).unwrap();
    trust.verify_receipt(&r, now).unwrap();
    // Reads fail with REDACTED, naming the record; others read fine.
    let o = evl(&data, &["get", &blob]);
    assert!(!o.status.success());
    let record = v["redacted"][0]["record"].as_str().unwrap();
    assert!(
        text(&o).contains("REDACTED") && text(&o).contains(record),
        "{}",
        text(&o)
    );
    ok(&data, &["get", &kept]);
    ok(&data, &["get", &held]);
    ok(&data, &["get", record]);

    // Full verification passes and lists the redactions.
    let o = ok(&data, &["verify", "--mode", "full"]);
    assert!(text(&o).contains("299 redacted leaf(s)"), "{}", text(&o));
    let o = ok(&data, &["verify", "--mode", "full", "--output", "json"]);
    assert_eq!(json(&o)["redactions"].as_array().unwrap().len(), 299);

    // A later export across the redacted range verifies and counts them.
    let all = tmp.path().join("all.tar.zst");
    ok(&data, &["export", "-o", all.to_str().unwrap()]);
    let o = ok(&data, &["verify-pack", all.to_str().unwrap(), "--output", "json"]);
    assert_eq!(json(&o)["report"]["export"]["redacted"], 299);
    let o = ok(&data, &["verify-pack", all.to_str().unwrap()]);
    assert!(text(&o).contains("redacted   299 leaves"), "{}", text(&o));

    // Nothing left to do; a second run does not rebuild again.
    let o = ok(
        &data,
        &["cleanup", "--apply-retention", "--no-archive", "--output", "json"],
    );
    let v = json(&o);
    assert_eq!(v["redacted"].as_array().unwrap().len(), 0);
    assert_eq!(v["rebuilt"], false);
}
