//! Nothing acknowledged is lost on failover (issue 15): two `evl serve` front ends append
//! concurrently to a PostgreSQL primary with a synchronous streaming standby (throwaway
//! clusters started here); the primary is killed with SIGKILL at a random moment, the standby
//! promoted and a new standby made, ten times; the front ends follow through their host list
//! (`target_session_attrs=read-write`) without restart. One front end is also killed mid-batch
//! and restarted. Afterwards every acknowledged node is at its leaf, provably; every signed
//! head seen is a prefix of the final tree (no split view, no going back); a full verify
//! passes. Skipped with one visible line when PostgreSQL is not installed (never in CI).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use evl_client::Client;
use evl_ledger::store::postgres::cluster::{Cluster, bin_dir};
use evl_sdk::{NodeId, TreeHead, TrustRoot};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

mod common;

/// `evl --data DATA ARGS...` with the store in PostgreSQL (`EVL_STORE__URL`), succeeding.
fn ok(data: &Path, url: &str, args: &[&str]) -> Output {
    common::ok_env(data, &[("EVL_STORE__URL", url)], args)
}

/// Primary kills per run (the issue asks for at least ten).
const KILLS: usize = 10;
/// How long the front ends may take to accept appends again after a failover.
const RECOVERY: Duration = Duration::from_secs(90);

/// A small deterministic generator (the seed is printed, so a failing run can be repeated).
struct Rng(u64);
impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// What a writer got back: the node, its leaf, and the signed head its receipt proved it in.
type Ack = (NodeId, u64, TreeHead);

struct Fronts {
    dirs: [PathBuf; 2],
    url: String,
    serves: Vec<common::Serve>,
    clients: Arc<RwLock<Vec<Client>>>,
    token: String,
    trust: TrustRoot,
}

impl Fronts {
    fn client(&self, addr: &str) -> Client {
        Client::new(&format!("http://{addr}"), Some(&self.token), self.trust.clone()).unwrap()
    }

    /// Kills front end `k` (SIGKILL, whatever it was doing) and starts it again.
    fn restart(&mut self, k: usize) {
        let env = [("EVL_STORE__URL", self.url.as_str())];
        let old = std::mem::replace(
            &mut self.serves[k],
            common::Serve::start_with_env(&self.dirs[k], &[], &env),
        );
        drop(old);
        let c = self.client(&self.serves[k].addr.clone());
        self.clients.write().unwrap()[k] = c;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_appends_survive_ten_primary_kills() {
    if bin_dir().is_none() {
        // The same skip line (or CI failure) as every PostgreSQL test.
        let _ = Cluster::start_or_skip("acknowledged_appends_survive_ten_primary_kills");
        return;
    }
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    eprintln!("failover seed {seed}");
    let mut rng = Rng(seed);

    // The primary, the ledger in it, then synchronous replication to a streaming standby.
    let bin = bin_dir().unwrap();
    let mut primary = Cluster::start_in(&bin, None);
    let db_url = primary.create_db("ledger");
    let tmp = tempfile::tempdir().unwrap();
    let dirs = [tmp.path().join("a"), tmp.path().join("b")];
    ok(&dirs[0], &db_url, &["init", "--origin", "failover.test/log"]);
    std::fs::create_dir_all(&dirs[1]).unwrap();
    for f in [
        "signing-key.pem",
        "public-key.pem",
        "trust-root.json",
        "admin-token",
    ] {
        std::fs::copy(dirs[0].join(f), dirs[1].join(f)).unwrap();
    }
    primary.sql("postgres", "ALTER SYSTEM SET synchronous_standby_names = '*'");
    primary.sql("postgres", "SELECT pg_reload_conf()");
    let mut standby = Cluster::standby_of(&primary, None, None);
    let ports = [primary.port(), standby.port()];
    let url = format!(
        "host=127.0.0.1,127.0.0.1 port={},{} user=postgres dbname=ledger target_session_attrs=read-write connect_timeout=3",
        ports[0], ports[1]
    );

    let env = [("EVL_STORE__URL", url.as_str())];
    let serves = vec![
        common::Serve::start_with_env(&dirs[0], &[], &env),
        common::Serve::start_with_env(&dirs[1], &[], &env),
    ];
    let token = std::fs::read_to_string(dirs[0].join("admin-token"))
        .unwrap()
        .trim()
        .to_owned();
    let trust = TrustRoot::from_json(&std::fs::read(dirs[0].join("trust-root.json")).unwrap()).unwrap();
    let mut fronts = Fronts {
        dirs: dirs.clone(),
        url: url.clone(),
        serves,
        clients: Arc::new(RwLock::new(Vec::new())),
        token,
        trust,
    };
    let initial: Vec<Client> = fronts.serves.iter().map(|s| fronts.client(&s.addr)).collect();
    *fronts.clients.write().unwrap() = initial;

    // Writers: each retries its node until a front end acknowledges it, then takes the next.
    let acks: Arc<Mutex<Vec<Ack>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let mut writers = Vec::new();
    for w in 0..6u32 {
        let (clients, acks, stop) = (fronts.clients.clone(), acks.clone(), stop.clone());
        writers.push(tokio::spawn(async move {
            let mut k = 0u32;
            let mut attempt = 0usize;
            while !stop.load(Ordering::Relaxed) {
                let body = format!(r#"{{"type":"x-failover","w":{w},"k":{k}}}"#);
                let c = clients.read().unwrap()[(w as usize + attempt) % 2].clone();
                match c.append(body.as_bytes()).await {
                    Ok(r) => {
                        let e = &r.evidence;
                        acks.lock().unwrap().push((e.node_id, e.index.get(), e.head));
                        k += 1;
                    }
                    Err(_) => {
                        attempt += 1;
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                }
            }
        }));
    }
    let acked = |acks: &Arc<Mutex<Vec<Ack>>>| acks.lock().unwrap().len();
    let wait_for = |target: usize, what: String| {
        let acks = acks.clone();
        async move {
            let t = Instant::now();
            while acked(&acks) < target {
                assert!(
                    t.elapsed() < RECOVERY,
                    "{what}: stuck at {} acknowledged appends",
                    acked(&acks)
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    };

    let mut dead = Vec::new();
    for round in 0..KILLS {
        // Let the writers run for a random while, then kill the primary.
        let target = acked(&acks) + 20 + rng.below(60) as usize;
        wait_for(target, format!("before kill {round}")).await;
        // Every other round the standby has fallen behind when the primary dies, and what it
        // had received but not written is lost with its WAL receiver: with synchronous
        // replication no commit was acknowledged meanwhile, so no acknowledged one is lost.
        // (With asynchronous replication this loses acknowledged appends, and the checks below
        // fail: docs/operations/postgresql.md.)
        let lagging = round % 2 == 1;
        if lagging {
            standby.signal_receiver("-STOP");
            tokio::time::sleep(Duration::from_millis(300 + rng.below(400))).await;
        }
        let mut killed = std::mem::replace(&mut primary, standby);
        killed.kill9();
        if lagging {
            primary.signal_receiver("-KILL");
        }
        let port = killed.port();
        dead.push(killed);
        primary.promote();
        // A new synchronous standby where the old primary was (the host list stays the same).
        standby = Cluster::standby_of(&primary, Some(port), None);
        if round == KILLS / 2 {
            // A front end killed mid-batch, restarted on the same data directory.
            fronts.restart(round % 2);
        }
        let target = acked(&acks) + 20;
        wait_for(target, format!("after failover {round}")).await;
        eprintln!(
            "kill {round}: failed over; {} appends acknowledged so far",
            acked(&acks)
        );
    }
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.await.unwrap();
    }
    let acks = std::mem::take(&mut *acks.lock().unwrap());
    assert!(acks.len() >= KILLS * 40, "{} acknowledged appends", acks.len());

    // Every acknowledged node is at the leaf its receipt named (a node acknowledged twice, after
    // a retry, both times at the same leaf), provable now through either front end.
    let clients = fronts.clients.read().unwrap().clone();
    let mut at: BTreeMap<NodeId, u64> = BTreeMap::new();
    for (id, index, _) in &acks {
        if let Some(prev) = at.insert(*id, *index) {
            assert_eq!(prev, *index, "{id} acknowledged at two leaves");
        }
    }
    for (k, (id, index)) in at.iter().enumerate() {
        let p = clients[k % 2]
            .prove(id, None)
            .await
            .unwrap_or_else(|e| panic!("{id}, acknowledged at leaf {index}, is lost: {e}"));
        assert_eq!(p.index.get(), *index, "{id}");
    }
    // No split view and no going back: one root per size, each a prefix of the final tree.
    let mut roots: BTreeMap<u64, TreeHead> = BTreeMap::new();
    for (_, _, head) in &acks {
        if let Some(seen) = roots.insert(head.size().get(), *head) {
            assert_eq!(seen.root(), head.root(), "two roots for size {}", head.size());
        }
    }
    let latest = clients[0].checkpoint().await.unwrap().checkpoint.head();
    assert!(latest.size().get() >= *roots.keys().last().unwrap());
    for head in roots.values() {
        clients[1].consistency(head, &latest).await.unwrap();
    }
    drop(fronts);
    ok(&dirs[0], &url, &["verify", "--mode", "full"]);
    drop((primary, standby, dead));
}
