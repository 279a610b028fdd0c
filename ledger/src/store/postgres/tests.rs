//! The PostgreSQL store against real servers (throwaway clusters, `cluster.rs`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::cluster::Cluster;
use super::*;
use crate::store::conformance::{error_suite, redaction_suite, suite};
use crate::store::{NewNode, Snapshot, Version};
use evl_sdk::{Frontier, Node, TreeSize};

fn store(cluster: &Cluster, db: &str) -> PgStore {
    let url = cluster.create_db(db);
    PgStore::create(&PgTarget::parse(&url, None).unwrap()).unwrap()
}

fn node(i: u64) -> Node {
    Node::from_json(format!(r#"{{"type":"x-pg","i":{i}}}"#).as_bytes()).unwrap()
}

fn batch(f: &mut Frontier, from: u64, count: u64) -> Batch {
    let mut b = Batch::default();
    for i in from..from + count {
        let n = node(i);
        let index = f.size().next_index();
        b.hashes.extend(f.push(n.id().leaf_hash()).unwrap());
        b.nodes.push(NewNode {
            index,
            id: n.id(),
            bytes: n.bytes().to_vec(),
        });
    }
    b.tree_size = Some(f.size());
    b.checkpoints.push((f.size(), format!("cp {}", f.size())));
    b
}

#[test]
fn postgres_store_passes_the_conformance_suites() {
    let Some(cluster) = Cluster::start_or_skip("postgres_store_passes_the_conformance_suites") else {
        return;
    };
    suite(&store(&cluster, "suite"));
    redaction_suite(&store(&cluster, "redaction"));
    error_suite(&store(&cluster, "errors"));

    // Two logs in one database are apart: every row is keyed by its log id.
    let url = cluster.create_db("two");
    let one = PgStore::create(&PgTarget::parse(&url, None).unwrap()).unwrap();
    let two = PgStore::create(&PgTarget::parse(&url, None).unwrap().with_log(2)).unwrap();
    suite(&one);
    error_suite(&two);
    assert_eq!(one.snapshot().unwrap().tree_size().unwrap().get(), 8);
    assert_eq!(two.snapshot().unwrap().tree_size().unwrap().get(), 5);
    // A log that exists is not created again; an absent one does not open.
    assert!(PgStore::create(&PgTarget::parse(&url, None).unwrap()).is_err());
    let absent = PgTarget::parse(&url, None).unwrap().with_log(3);
    assert!(!PgStore::exists(&absent).unwrap());
    assert!(PgStore::open(&absent).is_err());
    // A log is a ledger once it has its format (what `evl init` writes first); a log row left
    // empty by an init that stopped is taken over by the next one.
    let one_target = PgTarget::parse(&url, None).unwrap();
    assert!(!PgStore::exists(&one_target).unwrap());
    one.commit(Batch {
        meta: vec![("format".into(), FORMAT_PG.as_bytes().to_vec())],
        ..Batch::default()
    })
    .unwrap();
    assert!(PgStore::exists(&one_target).unwrap());
    PgStore::create(&absent).unwrap();
    assert!(!PgStore::exists(&absent).unwrap());
    PgStore::create(&absent).unwrap();

    // A read-only store reads and refuses writes before reaching the database.
    let ro = PgStore::open_read_only(&PgTarget::parse(&url, None).unwrap()).unwrap();
    assert_eq!(ro.snapshot().unwrap().tree_size().unwrap().get(), 8);
    assert_eq!(
        ro.commit(Batch::default()).unwrap_err().code(),
        "STORAGE_UNAVAILABLE"
    );
}

/// Growing tiles: many small commits, then proofs and a full rescan agree with the frontier,
/// and superseded partial tiles are dropped (one row per tile but for none narrower).
#[test]
fn postgres_tiles_grow_row_by_row_and_keep_one_per_tile() {
    let Some(cluster) = Cluster::start_or_skip("postgres_tiles_grow_row_by_row_and_keep_one_per_tile") else {
        return;
    };
    let s = store(&cluster, "tiles");
    let mut f = Frontier::new();
    let mut at = 0;
    for count in [1, 1, 3, 250, 7, 300, 1, 65_000 - 563] {
        s.commit(batch(&mut f, at, count)).unwrap();
        at += count;
    }
    let snap = s.snapshot().unwrap();
    assert_eq!(snap.tree_size().unwrap().get(), at);
    let size = TreeSize::new(at).unwrap();
    assert_eq!(
        evl_sdk::root(&crate::store::SnapshotSource(&snap), size).unwrap(),
        f.root()
    );
    for k in [0, 255, 256, 4_095, 64_999] {
        assert_eq!(snap.hash(0, k).unwrap(), Some(node(k).id().leaf_hash()));
    }
    let mut n = 0;
    snap.scan_hashes(0, 0, at + 10, &mut |i, h| {
        assert_eq!(h.is_some(), i < at, "leaf hash {i}");
        n += 1;
        true
    })
    .unwrap();
    assert_eq!(n, at + 10);
    let mut c = cluster.client("tiles");
    let extra: i64 = c
        .query_one(
            "SELECT count(*) - count(DISTINCT (tile_level, tile_index)) FROM evl_tile",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(extra, 0, "no superseded partial tile is kept");
}

/// The application role may append, read, redact and repair through the ledger's functions;
/// the database refuses its direct updates and deletes of evidence.
#[test]
fn postgres_refuses_updates_and_deletes_by_the_application_role() {
    let Some(cluster) =
        Cluster::start_or_skip("postgres_refuses_updates_and_deletes_by_the_application_role")
    else {
        return;
    };
    let owner = store(&cluster, "roles");
    cluster
        .client("roles")
        .batch_execute("CREATE ROLE evl_app LOGIN")
        .unwrap();
    owner.grant_app_role("evl_app").unwrap();
    let app_url = format!("host=127.0.0.1 port={} user=evl_app dbname=roles", cluster.port());
    let app = PgStore::open(&PgTarget::parse(&app_url, None).unwrap()).unwrap();
    // The contract holds under the application role (repair is the owner's: `evl recover`).
    redaction_suite(&app);
    let owner_url = cluster.url("roles");
    PgStore::create(&PgTarget::parse(&owner_url, None).unwrap().with_log(2)).unwrap();
    error_suite(&PgStore::open(&PgTarget::parse(&app_url, None).unwrap().with_log(2)).unwrap());
    assert_eq!(
        app.repair(crate::store::Repair {
            nodes: vec![(evl_sdk::LeafIndex::new(0).unwrap(), b"x".to_vec())],
            ..Default::default()
        })
        .unwrap_err()
        .code(),
        "STORAGE_ERROR",
        "the application role may not repair"
    );
    let mut c = postgres::Client::connect(&app_url, postgres::NoTls).unwrap();
    for sql in [
        "UPDATE evl_node SET content = NULL WHERE leaf = 0",
        "DELETE FROM evl_node WHERE leaf = 0",
        "UPDATE evl_id SET leaf = 0",
        "DELETE FROM evl_tile",
        "UPDATE evl_checkpoint SET note = 'x'",
        "DELETE FROM evl_anchor",
        "TRUNCATE evl_checkpoint",
        "UPDATE evl_log SET log_id = 9",
    ] {
        let e = c.batch_execute(sql).unwrap_err();
        assert_eq!(
            e.code(),
            Some(&postgres::error::SqlState::INSUFFICIENT_PRIVILEGE),
            "{sql}: {e}"
        );
    }
    // The state row only moves forward, whoever writes it.
    let e = c.batch_execute("UPDATE evl_log SET tree_size = 1").unwrap_err();
    assert_eq!(e.code().map(|c| c.code()), Some(error::EV_BACKWARDS));
    // No redaction without a record appended with it: a hand-made redaction row naming an old
    // leaf as its record deletes nothing, nor does asking for a bulk load's redaction.
    c.batch_execute("INSERT INTO evl_redaction VALUES (1, 0, 2)")
        .unwrap();
    let e = c
        .batch_execute("SELECT evl_redact(1, ARRAY[0::bigint], true)")
        .unwrap_err();
    assert_eq!(e.code().map(|c| c.code()), Some(error::EV_NO_CONTENT));
    let e = c
        .batch_execute("SELECT evl_redact(1, ARRAY[0::bigint], false)")
        .unwrap_err();
    assert_eq!(e.code(), Some(&postgres::error::SqlState::INSUFFICIENT_PRIVILEGE));
    // Repair is the owner's.
    let e = c
        .batch_execute("SELECT evl_repair(1, ARRAY[0::bigint], ARRAY['\\x00'::bytea], '{}', '{}')")
        .unwrap_err();
    assert_eq!(e.code(), Some(&postgres::error::SqlState::INSUFFICIENT_PRIVILEGE));
    // A temporary table cannot stand in for the log's own inside the functions.
    c.batch_execute(
        "CREATE TEMP TABLE evl_log (log_id integer, tree_size bigint, last_anchor bigint);
         INSERT INTO evl_log VALUES (1, 0, NULL)",
    )
    .unwrap();
    let e = c
        .batch_execute("SELECT evl_redact(1, ARRAY[0::bigint], true)")
        .unwrap_err();
    assert_eq!(e.code().map(|c| c.code()), Some(error::EV_NO_CONTENT));
    let snap = app.snapshot().unwrap();
    assert_eq!(snap.tree_size().unwrap().get(), 7);
    assert!(
        snap.node(evl_sdk::LeafIndex::new(0).unwrap()).unwrap().is_some(),
        "leaf 0 kept its content"
    );
}

/// Two stores on one log (two processes' worth): both commit against the version they read;
/// the database serializes them, the loser gets CONFLICT and nothing of its batch.
#[test]
fn postgres_racing_writers_get_a_conflict_never_a_second_root() {
    let Some(cluster) = Cluster::start_or_skip("postgres_racing_writers_get_a_conflict_never_a_second_root")
    else {
        return;
    };
    let a = store(&cluster, "race");
    let b = PgStore::open(&PgTarget::parse(&cluster.url("race"), None).unwrap()).unwrap();
    let mut f = Frontier::new();
    a.commit(batch(&mut f, 0, 10)).unwrap();
    let v = b.snapshot().unwrap().version().unwrap();
    let mut won = 0;
    let handles: Vec<_> = (0..8u64)
        .map(|k| {
            let s = if k % 2 == 0 { a.clone() } else { b.clone() };
            let mut g = f.clone();
            let mut bt = batch(&mut g, 1000 * (k + 1), 5);
            bt.expect = Some(v);
            std::thread::spawn(move || s.commit(bt))
        })
        .collect();
    for h in handles {
        match h.join().unwrap() {
            Ok(()) => won += 1,
            Err(e) => assert_eq!(e.code(), "CONFLICT", "{e}"),
        }
    }
    assert_eq!(won, 1, "exactly one writer commits at a version");
    let snap = a.snapshot().unwrap();
    assert_eq!(
        snap.version().unwrap(),
        Version {
            tree_size: 15,
            last_anchor: None
        }
    );
    let mut cps = Vec::new();
    snap.scan_checkpoints(0, 100, &mut |s, t| {
        cps.push((s.get(), t.to_owned()));
        true
    })
    .unwrap();
    assert_eq!(cps.iter().filter(|(s, _)| *s == 15).count(), 1);
    // A checkpoint of a stored size with other text is refused.
    let mut again = Batch::default();
    again
        .checkpoints
        .push((TreeSize::new(15).unwrap(), "other".into()));
    assert_eq!(a.commit(again).unwrap_err().code(), "STORAGE_ERROR");
}

/// A password from outside the URL is used and never appears in a message.
#[test]
fn postgres_passwords_stay_out_of_messages() {
    let t = PgTarget::parse("postgres://evl:hunter2-secret@127.0.0.1:1/db", None).unwrap();
    assert!(!format!("{t:?}").contains("hunter2"));
    assert!(!t.describe().contains("hunter2"));
    let e = PgStore::open(&t).err().unwrap();
    assert_eq!(e.code(), "STORAGE_UNAVAILABLE");
    assert!(!e.to_string().contains("hunter2"), "{e}");
    let t = PgTarget::parse("host=127.0.0.1 port=1 user=evl dbname=db", Some("s3cr3t-pw")).unwrap();
    let e = PgStore::open(&t).err().unwrap();
    assert!(!e.to_string().contains("s3cr3t-pw"), "{e}");
    assert!(!format!("{e:?}").contains("s3cr3t-pw"));
    assert_eq!(
        PgTarget::parse("not a url ://", None).unwrap_err().code(),
        "STORAGE_ERROR"
    );
}

/// Runs `openssl ARGS` in `dir`; panics with its output when it fails.
fn openssl(dir: &std::path::Path, args: &[&str]) {
    let o = std::process::Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// A CA (`NAME.crt`, `NAME.key`) in `dir`.
fn ca(dir: &std::path::Path, name: &str) {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            &format!("{name}.key"),
            "-out",
            &format!("{name}.crt"),
            "-days",
            "2",
            "-subj",
            &format!("/CN={name}"),
        ],
    );
}

/// TLS through rustls: with the server's CA the store connects encrypted (`sslmode=require`);
/// with another CA, or none, it refuses to connect (`STORAGE_UNAVAILABLE`).
#[test]
fn postgres_tls_verifies_the_server_against_the_ca_file() {
    let Some(cluster) = Cluster::start_or_skip("postgres_tls_verifies_the_server_against_the_ca_file") else {
        return;
    };
    if std::process::Command::new("openssl")
        .arg("version")
        .output()
        .is_err()
    {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "openssl not installed, and CI never skips (Debian package `openssl`)"
        );
        let _ = std::io::Write::write_all(
            &mut std::io::stderr(),
            b"SKIP postgres_tls_verifies_the_server_against_the_ca_file: openssl not installed (Debian package `openssl`)\n",
        );
        return;
    }
    let certs = cluster.socket_dir().join("certs");
    std::fs::create_dir(&certs).unwrap();
    ca(&certs, "ca");
    ca(&certs, "other");
    std::fs::write(certs.join("san.cnf"), "subjectAltName = IP:127.0.0.1\n").unwrap();
    openssl(
        &certs,
        &[
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=127.0.0.1",
        ],
    );
    openssl(
        &certs,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.crt",
            "-days",
            "2",
            "-extfile",
            "san.cnf",
        ],
    );
    let _ = std::process::Command::new("chown")
        .args(["-R", "postgres"])
        .arg(&certs)
        .status();
    std::fs::set_permissions(
        certs.join("server.key"),
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .unwrap();
    cluster.sql(
        "postgres",
        &format!(
            "ALTER SYSTEM SET ssl_cert_file = '{}'",
            certs.join("server.crt").display()
        ),
    );
    cluster.sql(
        "postgres",
        &format!(
            "ALTER SYSTEM SET ssl_key_file = '{}'",
            certs.join("server.key").display()
        ),
    );
    cluster.sql("postgres", "ALTER SYSTEM SET ssl = on");
    cluster.sql("postgres", "SELECT pg_reload_conf()");
    let url = format!("{} sslmode=require", cluster.create_db("tls"));

    let t = PgTarget::parse(&url, None)
        .unwrap()
        .with_ca_file(Some(certs.join("ca.crt")));
    let s = PgStore::create(&t).unwrap();
    suite(&s);
    let mut c = cluster.client("postgres");
    let encrypted: i64 = c
        .query_one(
            "SELECT count(*) FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid)
             WHERE a.application_name = 'evl' AND s.ssl",
            &[],
        )
        .unwrap()
        .get(0);
    assert!(encrypted >= 1, "the store's connections are TLS");
    let wrong = PgTarget::parse(&url, None)
        .unwrap()
        .with_ca_file(Some(certs.join("other.crt")));
    assert_eq!(PgStore::open(&wrong).err().unwrap().code(), "STORAGE_UNAVAILABLE");
    let none = PgTarget::parse(&url, None).unwrap();
    assert_eq!(PgStore::open(&none).err().unwrap().code(), "STORAGE_UNAVAILABLE");
    let missing = PgTarget::parse(&url, None)
        .unwrap()
        .with_ca_file(Some(certs.join("nope.crt")));
    assert_eq!(PgStore::open(&missing).err().unwrap().code(), "STORAGE_ERROR");
    drop(s);
}

/// Two writers (two front ends' worth) on one log follow each other's commits; when the
/// database goes back below what one of them committed (as a PITR or a promoted asynchronous
/// standby makes it), that one refuses to sign with `TREE_SHRANK` instead of signing a second
/// root for a size, and nothing is written.
#[test]
fn postgres_writer_follows_others_and_refuses_a_store_that_went_back() {
    use crate::{AnchorPolicy, Ledger};
    let Some(cluster) =
        Cluster::start_or_skip("postgres_writer_follows_others_and_refuses_a_store_that_went_back")
    else {
        return;
    };
    let url = cluster.create_db("shrink");
    let t = PgTarget::parse(&url, None).unwrap();
    let key = || evl_sdk::SecretKey::from_seed("shrink.test/log", &[9u8; 32]).unwrap();
    let t0 = evl_sdk::Timestamp::parse("2020-01-01T00:00:00Z").unwrap();
    let a = Ledger::init(PgStore::create(&t).unwrap(), key(), t0, AnchorPolicy::default()).unwrap();
    let b = Ledger::open(PgStore::open(&t).unwrap(), key(), AnchorPolicy::default()).unwrap();
    let doc = |k: u32| format!(r#"{{"type":"x-shrink","k":{k}}}"#);
    for k in 0..6 {
        let w = if k % 2 == 0 { &a } else { &b };
        let out = w.append_json(&[doc(k).as_bytes()]).unwrap();
        assert_eq!(
            out[0].receipt.leaf_index,
            u64::from(k),
            "each writer continues the other's log"
        );
    }
    // The database goes back to 4 leaves (as a restore would leave it).
    cluster.sql(
        "shrink",
        "ALTER TABLE evl_log DISABLE TRIGGER evl_log_forward;
         DELETE FROM evl_node WHERE leaf >= 4; DELETE FROM evl_id WHERE leaf >= 4;
         DELETE FROM evl_tile; DELETE FROM evl_checkpoint WHERE tree_size > 4;
         UPDATE evl_log SET tree_size = 4;
         ALTER TABLE evl_log ENABLE TRIGGER evl_log_forward",
    );
    // The hash tiles are rebuilt from the 4 leaves so the store is consistent at its new size.
    let mut f = evl_sdk::Frontier::new();
    let mut hashes = Vec::new();
    for k in 0..4 {
        let n = Node::from_json(doc(k).as_bytes()).unwrap();
        hashes.extend(f.push(n.id().leaf_hash()).unwrap());
    }
    let owner = PgStore::open(&t).unwrap();
    owner
        .repair(crate::store::Repair {
            hashes,
            ..Default::default()
        })
        .unwrap();
    // b committed up to tree size 6, a up to 5: both are past the store's 4, both refuse.
    for w in [&b, &a] {
        let e = w.append_json(&[doc(99).as_bytes()]).unwrap_err();
        assert_eq!(e.code(), "TREE_SHRANK", "{e}");
    }
    assert_eq!(
        owner.snapshot().unwrap().tree_size().unwrap().get(),
        4,
        "nothing written"
    );
}
