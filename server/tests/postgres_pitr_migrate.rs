//! PostgreSQL's own point-in-time recovery lands exactly on an anchor (the restore point the
//! store records at each anchor); `evl migrate` copies a ledger between redb and PostgreSQL in
//! both directions, verified, refusing a non-empty target; `evl restore --to-postgres` loads a
//! pack backup into a database. Throwaway clusters; one visible skip line without PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use evl_ledger::store::postgres::cluster::Cluster;
use evl_ledger::store::postgres::restore_point_name;
use std::path::Path;
use std::process::Output;
use std::time::{Duration, Instant};

mod common;

/// `evl --data DATA ARGS...`, the store in PostgreSQL when `url` is given.
fn evl(data: &Path, url: Option<&str>, args: &[&str]) -> Output {
    let env: Vec<(&str, &str)> = url.map(|u| ("EVL_STORE__URL", u)).into_iter().collect();
    common::evl_env(data, &env, args)
}

fn ok(data: &Path, url: Option<&str>, args: &[&str]) -> Output {
    let env: Vec<(&str, &str)> = url.map(|u| ("EVL_STORE__URL", u)).into_iter().collect();
    common::ok_env(data, &env, args)
}

fn append(data: &Path, url: Option<&str>, tag: &str, n: u32) {
    let dir = tempfile::tempdir().unwrap();
    let files: Vec<String> = (0..n)
        .map(|i| {
            let p = dir.path().join(format!("{i}.json"));
            std::fs::write(&p, format!(r#"{{"type":"x-pitr","tag":"{tag}","i":{i}}}"#)).unwrap();
            p.display().to_string()
        })
        .collect();
    let mut args = vec!["append"];
    args.extend(files.iter().map(String::as_str));
    ok(data, url, &args);
}

fn tree_size(data: &Path, url: Option<&str>) -> u64 {
    common::json(&ok(data, url, &["status", "--output", "json"]))["tree_size"]
        .as_u64()
        .unwrap()
}

#[test]
fn postgres_pitr_to_a_restore_point_lands_exactly_on_its_anchor() {
    let Some(probe) = Cluster::start_or_skip("postgres_pitr_to_a_restore_point_lands_exactly_on_its_anchor")
    else {
        return;
    };
    drop(probe);
    let bin = evl_ledger::store::postgres::cluster::bin_dir().unwrap();
    let primary = Cluster::start_archiving(&bin);
    let url = primary.create_db("ledger");
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    ok(&data, Some(&url), &["init", "--origin", "pitr.test/log"]);
    let (_base_dir, base) = primary.base_backup();

    append(&data, Some(&url), "a", 5);
    ok(&data, Some(&url), &["anchor", "create"]);
    append(&data, Some(&url), "b", 7);
    ok(&data, Some(&url), &["anchor", "create"]);
    let anchors = common::json(&ok(&data, Some(&url), &["anchor", "list", "--output", "json"]));
    let at = anchors[1].clone();
    assert_eq!(at["tree_size"], 12);
    append(&data, Some(&url), "c", 4);
    assert_eq!(tree_size(&data, Some(&url)), 16);

    // Everything up to here reaches the archive.
    let mut c = primary.client("postgres");
    let wal: String = c
        .query_one("SELECT pg_walfile_name(pg_switch_wal())", &[])
        .unwrap()
        .get(0);
    let t = Instant::now();
    while !primary.archive_dir().join(&wal).exists() {
        assert!(
            t.elapsed() < Duration::from_secs(60),
            "WAL {wal} was not archived"
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    // PostgreSQL's PITR to anchor 1's restore point: the tree is exactly that anchor's.
    let recovered = Cluster::recover_to(&primary, &base, &primary.archive_dir(), &restore_point_name(1, 1));
    let r_url = recovered.url("ledger");
    let t = Instant::now();
    let status = loop {
        let o = evl(&data, Some(&r_url), &["status", "--output", "json"]);
        if o.status.success() {
            break common::json(&o);
        }
        assert!(
            t.elapsed() < Duration::from_secs(60),
            "the recovered cluster: {}",
            common::text(&o)
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(status["tree_size"], 12, "{status}");
    assert_eq!(status["anchors"], 2, "{status}");
    ok(&data, Some(&r_url), &["verify", "--mode", "full"]);
    let cp = common::json(&ok(&data, Some(&r_url), &["checkpoint", "--output", "json"]));
    let root = cp["checkpoint"]
        .as_str()
        .unwrap()
        .lines()
        .nth(2)
        .unwrap()
        .to_owned();
    assert_eq!(
        root,
        at["root"].as_str().unwrap(),
        "the recovered tree is anchor 1's"
    );
}

#[test]
fn postgres_migrate_both_ways_and_restore_a_pack_into_postgres() {
    let Some(cluster) = Cluster::start_or_skip("postgres_migrate_both_ways_and_restore_a_pack_into_postgres")
    else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    // A redb ledger with an anchor.
    let redb = tmp.path().join("redb");
    ok(&redb, None, &["init", "--origin", "migrate.test/log"]);
    append(&redb, None, "m", 30);
    ok(&redb, None, &["anchor", "create"]);
    append(&redb, None, "n", 3);

    // redb → PostgreSQL, verified; a second copy into the same log is refused.
    let url = cluster.create_db("to_pg");
    let out = common::json(&ok(
        &redb,
        None,
        &["migrate", "--to-postgres", &url, "--output", "json"],
    ));
    assert_eq!(out["copied"]["tree_size"], 33, "{out}");
    assert_eq!(out["copied"]["anchors"], 1, "{out}");
    let again = evl(
        &redb,
        None,
        &["migrate", "--to-postgres", &url, "--output", "json"],
    );
    assert!(!again.status.success());
    assert_eq!(common::json(&again)["code"], "TARGET_NOT_EMPTY");
    let pg = tmp.path().join("pg");
    common::copy_keys(&redb, &pg);
    assert_eq!(tree_size(&pg, Some(&url)), 33);
    ok(&pg, Some(&url), &["verify", "--mode", "full"]);
    append(&pg, Some(&url), "on-pg", 2);

    // PostgreSQL → a new redb file, verified; an existing file is refused.
    let file = tmp.path().join("back.redb");
    let out = common::json(&ok(
        &pg,
        Some(&url),
        &["migrate", "--to-redb", file.to_str().unwrap(), "--output", "json"],
    ));
    assert_eq!(out["copied"]["tree_size"], 35, "{out}");
    let again = evl(
        &pg,
        Some(&url),
        &["migrate", "--to-redb", file.to_str().unwrap(), "--output", "json"],
    );
    assert_eq!(common::json(&again)["code"], "TARGET_NOT_EMPTY");
    let back = tmp.path().join("back");
    common::copy_keys(&redb, &back);
    std::fs::rename(&file, back.join("ledger.redb")).unwrap();
    assert_eq!(tree_size(&back, None), 35);
    ok(&back, None, &["verify", "--mode", "full"]);

    // A pack backup of the redb ledger restored into PostgreSQL.
    let pack = tmp.path().join("b.tar.zst");
    ok(&redb, None, &["backup", "--out", pack.to_str().unwrap()]);
    let url2 = cluster.create_db("restored");
    let target = tmp.path().join("restored");
    let trust = redb.join("trust-root.json");
    ok(
        tmp.path(),
        None,
        &[
            "restore",
            "--backup",
            pack.to_str().unwrap(),
            "--target",
            target.to_str().unwrap(),
            "--to-postgres",
            &url2,
            "--trust-root",
            trust.to_str().unwrap(),
        ],
    );
    // The new directory names the database itself (evl.toml), no EVL_STORE__URL needed.
    assert!(!target.join("ledger.redb").exists());
    assert_eq!(tree_size(&target, None), 33);
    ok(&target, None, &["verify", "--mode", "full"]);
    // Damage in the database (a node's content changed behind the ledger's back) is found by a
    // full verify and repaired in place from the backup by `evl recover`.
    std::fs::copy(redb.join("signing-key.pem"), target.join("signing-key.pem")).unwrap();
    cluster.sql(
        "restored",
        "UPDATE evl_node SET content = convert_to('{\"type\":\"x-evil\"}', 'UTF8') WHERE leaf = 5",
    );
    let broken = evl(&target, None, &["verify", "--mode", "full", "--output", "json"]);
    assert!(!broken.status.success());
    assert!(
        common::text(&broken).contains("NODE_ID_MISMATCH"),
        "{}",
        common::text(&broken)
    );
    ok(
        &target,
        None,
        &["recover", "--from-backup", pack.to_str().unwrap()],
    );
    ok(&target, None, &["verify", "--mode", "full"]);

    // A password in the URL is refused: it would be written to evl.toml.
    let o = evl(
        tmp.path(),
        None,
        &[
            "restore",
            "--backup",
            pack.to_str().unwrap(),
            "--target",
            tmp.path().join("r2").to_str().unwrap(),
            "--to-postgres",
            "postgres://u:secret-pw@127.0.0.1:1/db",
        ],
    );
    assert!(!o.status.success());
    assert!(!common::text(&o).contains("secret-pw"));
}
