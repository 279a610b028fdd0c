//! Several `evl serve` front ends on one PostgreSQL database (a throwaway cluster started by
//! the test): concurrent appends through both are all acknowledged with receipts that verify,
//! the checkpoints they carry never disagree, and the CLI works on the database while both
//! servers run. Skipped with one visible line when PostgreSQL is not installed (never in CI).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use evl_client::Client;
use evl_ledger::store::postgres::cluster::Cluster;
use evl_sdk::{NodeId, TreeHead, TrustRoot};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Output;

mod common;

/// `evl --data DATA ARGS...` with the store in PostgreSQL (`EVL_STORE__URL`).
fn evl(data: &Path, url: &str, args: &[&str]) -> Output {
    common::evl_env(data, &[("EVL_STORE__URL", url)], args)
}

fn ok(data: &Path, url: &str, args: &[&str]) -> Output {
    common::ok_env(data, &[("EVL_STORE__URL", url)], args)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_front_ends_share_one_log_and_the_cli_works_beside_them() {
    let Some(cluster) = Cluster::start_or_skip("two_front_ends_share_one_log_and_the_cli_works_beside_them")
    else {
        return;
    };
    let url = cluster.create_db("fronts");
    let tmp = tempfile::tempdir().unwrap();
    let (a_dir, b_dir) = (tmp.path().join("a"), tmp.path().join("b"));
    ok(&a_dir, &url, &["init", "--origin", "fronts.test/log"]);
    assert!(!a_dir.join("ledger.redb").exists(), "the store is the database");
    // A second `evl init` on the same database is refused: one log, one key.
    let again = evl(&b_dir, &url, &["init", "--origin", "fronts.test/log"]);
    assert!(!again.status.success());
    common::copy_keys(&a_dir, &b_dir);
    let env = [("EVL_STORE__URL", url.as_str())];
    let a = common::Serve::start_with_env(&a_dir, &[], &env);
    let b = common::Serve::start_with_env(&b_dir, &[], &env);

    let token = std::fs::read_to_string(a_dir.join("admin-token")).unwrap();
    let trust = TrustRoot::from_json(&std::fs::read(a_dir.join("trust-root.json")).unwrap()).unwrap();
    let clients: Vec<Client> = [&a.addr, &b.addr]
        .iter()
        .map(|addr| Client::new(&format!("http://{addr}"), Some(token.trim()), trust.clone()).unwrap())
        .collect();

    // Eight writers, alternating front ends, 25 appends each, all at once.
    let mut tasks = Vec::new();
    for w in 0..8u32 {
        let c = clients[(w % 2) as usize].clone();
        tasks.push(tokio::spawn(async move {
            let mut got = Vec::new();
            for k in 0..25u32 {
                let body = format!(r#"{{"type":"x-front","w":{w},"k":{k}}}"#);
                let r = c
                    .append(body.as_bytes())
                    .await
                    .expect("an append through a front end");
                got.push((r.evidence.node_id, r.evidence.index.get(), r.evidence.head));
            }
            got
        }));
    }
    let mut acked: Vec<(NodeId, u64, TreeHead)> = Vec::new();
    for t in tasks {
        acked.extend(t.await.unwrap());
    }
    assert_eq!(acked.len(), 200);

    // No split view: one root per size, and every head is a prefix of the latest.
    let mut roots: BTreeMap<u64, TreeHead> = BTreeMap::new();
    for (_, _, head) in &acked {
        if let Some(seen) = roots.insert(head.size().get(), *head) {
            assert_eq!(seen.root(), head.root(), "two roots for size {}", head.size());
        }
    }
    let latest = clients[0].checkpoint().await.unwrap().checkpoint.head();
    assert_eq!(latest.size().get(), 200);
    for head in roots.values() {
        clients[1].consistency(head, &latest).await.unwrap();
    }
    // Every acknowledged node is at its leaf, provable through either front end.
    let mut leaves: Vec<u64> = acked.iter().map(|(_, i, _)| *i).collect();
    leaves.sort_unstable();
    assert_eq!(leaves, (0..200).collect::<Vec<_>>(), "each node once, no gap");
    for (k, (id, index, _)) in acked.iter().enumerate() {
        let p = clients[k % 2].prove(id, None).await.unwrap();
        assert_eq!(p.index.get(), *index);
    }

    // The CLI on the same database while both servers run.
    let status = common::json(&ok(&a_dir, &url, &["status", "--output", "json"]));
    assert_eq!(status["tree_size"], 200, "{status}");
    ok(&a_dir, &url, &["verify", "--mode", "full"]);
    ok(&b_dir, &url, &["anchor", "create"]);
    let backup = tmp.path().join("b.tar.zst");
    ok(&a_dir, &url, &["backup", "--out", backup.to_str().unwrap()]);
    ok(&a_dir, &url, &["verify-pack", backup.to_str().unwrap()]);
    let pack = tmp.path().join("p.tar.zst");
    let id = acked[0].0.to_string();
    ok(
        &b_dir,
        &url,
        &["export", "--node", &id, "--out", pack.to_str().unwrap()],
    );
    ok(&a_dir, &url, &["verify-pack", pack.to_str().unwrap()]);
    let diag = tmp.path().join("d.tar.zst");
    ok(&a_dir, &url, &["diagnostics", "--out", diag.to_str().unwrap()]);
    // And appends go on after the CLI's anchor, through the other front end.
    let more = clients[0]
        .append(br#"{"type":"x-front","after":"anchor"}"#)
        .await
        .unwrap();
    assert_eq!(more.evidence.index.get(), 200);
    drop((a, b));
    ok(&a_dir, &url, &["verify", "--mode", "full"]);
}

/// Reads from a hot standby (`[store] read_url`): each answer is of a state the standby has
/// replayed, so while it lags a new node is NOT_FOUND there (never a wrong proof) and the
/// checkpoint it serves is its own, signed and older; once it catches up, everything proves.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_from_a_hot_standby_are_never_ahead_of_it() {
    let Some(primary) = Cluster::start_or_skip("reads_from_a_hot_standby_are_never_ahead_of_it") else {
        return;
    };
    let url = primary.create_db("replica");
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("a");
    ok(&data, &url, &["init", "--origin", "replica.test/log"]);
    let standby = Cluster::standby_of(&primary, None, None);
    let read_url = standby.url("replica");
    let srv = common::Serve::start_with_env(
        &data,
        &[],
        &[
            ("EVL_STORE__URL", url.as_str()),
            ("EVL_STORE__READ_URL", read_url.as_str()),
        ],
    );
    let token = std::fs::read_to_string(data.join("admin-token")).unwrap();
    let trust = TrustRoot::from_json(&std::fs::read(data.join("trust-root.json")).unwrap()).unwrap();
    let c = Client::new(&format!("http://{}", srv.addr), Some(token.trim()), trust).unwrap();
    let caught_up = |size: u64| {
        let c = c.clone();
        async move {
            let t = std::time::Instant::now();
            loop {
                if c.checkpoint().await.unwrap().checkpoint.head().size().get() == size {
                    return;
                }
                assert!(
                    t.elapsed() < std::time::Duration::from_secs(30),
                    "the standby never reached {size}"
                );
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        }
    };
    let mut ids = Vec::new();
    for k in 0..5 {
        ids.push(
            c.append(format!(r#"{{"type":"x-replica","k":{k}}}"#).as_bytes())
                .await
                .unwrap()
                .evidence
                .node_id,
        );
    }
    caught_up(5).await;
    for id in &ids {
        c.prove(id, None).await.unwrap();
    }

    // The standby stops replaying; appends go on through the primary.
    standby.signal_receiver("-STOP");
    let late = c.append(br#"{"type":"x-replica","k":"late"}"#).await.unwrap();
    assert_eq!(
        late.evidence.head.size().get(),
        6,
        "the receipt comes from the primary"
    );
    let served = c.checkpoint().await.unwrap().checkpoint.head();
    assert_eq!(
        served.size().get(),
        5,
        "the standby's own signed checkpoint, not ahead of it"
    );
    match c.prove(&late.evidence.node_id, None).await {
        Err(evl_client::ClientError::Server { status, code, .. }) => {
            assert_eq!((status, code.as_deref()), (404, Some("NOT_FOUND")));
        }
        other => panic!("a node the standby has not replayed: {other:?}"),
    }
    c.prove(&ids[0], None).await.unwrap();
    standby.signal_receiver("-CONT");
    caught_up(6).await;
    c.prove(&late.evidence.node_id, None).await.unwrap();
}
