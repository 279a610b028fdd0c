//! The real `evl` on a damaged store: `GET /v1/backup` aborts the connection when it meets damage
//! (no cleanly ended body a client could keep), and `evl recover` never leaves a store less
//! openable than it found it, whichever page of the file is damaged.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use common::{evl, ok};
use evl_ledger::store::redb_store::RedbStore;
use evl_ledger::store::{Snapshot, Store};
use evl_sdk::LeafIndex;
use std::io::{Read as _, Write as _};
use std::path::Path;
use std::time::Duration;

/// A data directory with `n` nodes and two anchors.
fn ledger(data: &Path, n: usize) {
    ok(data, &["init", "--origin", "damaged.test/log"]);
    let file = data.with_extension("jsonl");
    let lines: String = (0..n)
        .map(|i| {
            format!(
                "{{\"type\":\"x-d\",\"i\":{i},\"pad\":\"{}\"}}\n",
                "q".repeat(i % 7 * 40)
            )
        })
        .collect();
    std::fs::write(&file, lines).unwrap();
    ok(data, &["append", file.to_str().unwrap()]);
    ok(data, &["anchor", "create"]);
}

fn flip_node(data: &Path, i: u64) {
    let store = RedbStore::open(&data.join("ledger.redb")).unwrap();
    let mut b = store
        .snapshot()
        .unwrap()
        .node(LeafIndex::new(i).unwrap())
        .unwrap()
        .unwrap();
    let at = b.len() / 2;
    b[at] ^= 1;
    store.overwrite_node(i, &b).unwrap();
}

#[test]
fn a_backup_that_meets_damage_aborts_the_connection() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("d");
    ledger(&data, 3000);
    flip_node(&data, 2900);
    let srv = common::Serve::start(&data, &[]);
    let token = std::fs::read_to_string(data.join("admin-token")).unwrap();
    let mut s = std::net::TcpStream::connect(&srv.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(
        s,
        "GET /v1/backup HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nConnection: close\r\n\r\n",
        token.trim()
    )
    .unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let text = String::from_utf8_lossy(&out);
    assert!(
        text.starts_with("HTTP/1.1 200"),
        "{}",
        &text[..text.len().min(200)]
    );
    assert!(text.contains("transfer-encoding: chunked"), "streamed");
    // A cleanly ended chunked body ends with the zero-length chunk; an aborted one does not.
    assert!(
        !out.ends_with(b"0\r\n\r\n"),
        "the body ended cleanly although the backup failed"
    );
    // And the CLI refuses too, leaving no file.
    drop(srv);
    let bak = dir.path().join("b.tar.zst");
    let o = evl(&data, &["backup", "-o", bak.to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(
        common::text(&o).contains("NODE_ID_MISMATCH"),
        "{}",
        common::text(&o)
    );
    assert!(!bak.exists());
}

#[test]
fn recover_never_leaves_a_store_less_openable_than_it_found_it() {
    let dir = tempfile::tempdir().unwrap();
    let pristine = dir.path().join("p");
    ledger(&pristine, 400);
    let bak = dir.path().join("full.tar.zst");
    ok(&pristine, &["backup", "-o", bak.to_str().unwrap()]);
    let bytes = std::fs::read(pristine.join("ledger.redb")).unwrap();
    let pages = bytes.len() / 4096;
    let mut refused = 0;
    for page in (1..pages).step_by(3) {
        let data = dir.path().join(format!("c{page}"));
        std::fs::create_dir_all(&data).unwrap();
        for f in [
            "signing-key.pem",
            "public-key.pem",
            "trust-root.json",
            "admin-token",
        ] {
            std::fs::copy(pristine.join(f), data.join(f)).unwrap();
        }
        let mut b = bytes.clone();
        b[page * 4096..(page + 1) * 4096].fill(0);
        std::fs::write(data.join("ledger.redb"), &b).unwrap();
        let status_before = evl(&data, &["status"]).status.success();
        let o = evl(&data, &["recover", "--from-backup", bak.to_str().unwrap()]);
        assert_ne!(
            o.status.code(),
            Some(101),
            "page {page}: recover panicked: {}",
            common::text(&o)
        );
        if !o.status.success() {
            refused += 1;
            assert!(
                std::fs::read(data.join("ledger.redb")).unwrap() == b,
                "page {page}: a refused recover changed the store"
            );
        }
        if status_before {
            let after = evl(&data, &["status"]);
            assert!(
                after.status.success(),
                "page {page}: recover made the store unopenable: {}",
                common::text(&after)
            );
        }
        let _ = std::fs::remove_dir_all(&data);
    }
    assert!(refused < pages, "sanity");
}
