//! Crash test (issue: durable storage): a child appends under load and prints each
//! acknowledged receipt; it is SIGKILLed at pseudo-random times 20 times. After each kill:
//! every acknowledged node is present at the same index (its content too, unless the child's
//! redaction of it committed), `verify --mode full` passes, and a new anchor is consistent with
//! the previous one. Runs on both store formats.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use evl_ledger::store::StoreFormat;
use evl_ledger::store::redb_store::RedbStore;
use evl_ledger::verify::{Mode, verify};
use evl_ledger::{AnchorPolicy, Ledger, LedgerReader};
use evl_sdk::{NodeId, Receipt, SecretKey};
use std::io::Read as _;
use std::process::{Command, Stdio};
use std::time::Duration;

const KILLS: u64 = 20;

#[test]
fn acknowledged_appends_survive_sigkill() {
    survives_sigkill(StoreFormat::V1);
}

#[test]
fn acknowledged_appends_survive_sigkill_on_store_v2() {
    survives_sigkill(StoreFormat::V2);
}

fn survives_sigkill(format: StoreFormat) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("crash.redb");
    let mut acked: Vec<(NodeId, u64)> = Vec::new();
    let mut redacted = std::collections::HashSet::new();
    let mut rng = 0x2545_f491_4f6c_dd1du64;
    let mut anchors_before = 0usize;
    for run in 0..KILLS {
        let mut child = Command::new(env!("CARGO_BIN_EXE_crash-child"))
            .arg(&path)
            .arg(run.to_string())
            .arg(format.number().to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        std::thread::sleep(Duration::from_millis(150 + rng % 450));
        child.kill().unwrap(); // SIGKILL on Unix
        let mut out = String::new();
        child.stdout.take().unwrap().read_to_string(&mut out).unwrap();
        let status = child.wait().unwrap();
        let mut err = String::new();
        child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
        assert!(err.is_empty(), "run {run}: child reported an error: {err}");
        assert!(!status.success(), "run {run}: child exited by itself");
        let trust = {
            let r = LedgerReader::open(RedbStore::open(&path).unwrap()).unwrap();
            r.trust_root().clone()
        };
        let mut this_run = 0;
        for line in out.lines() {
            if let Some(id) = line.strip_prefix("redacted ")
                && let Ok(id) = id.parse::<NodeId>()
            {
                redacted.insert(id);
                continue;
            }
            // A line cut by the kill is not an acknowledgement that reached the client.
            let Ok(r) = Receipt::from_json(line.as_bytes()) else {
                continue;
            };
            trust.verify_receipt(&r, evl_ledger::time::now()).unwrap();
            acked.push((r.node_id, r.leaf_index));
            this_run += 1;
        }
        assert!(
            this_run > 0,
            "run {run}: nothing was acknowledged before the kill"
        );

        // Every acknowledged node is present at the index its receipt named.
        let store = RedbStore::open(&path).unwrap();
        assert_eq!(store.store_format(), format);
        let reader = LedgerReader::open(store).unwrap();
        // Every acknowledged node is where its receipt says; its content is there unless a
        // redaction of it was committed (acknowledged or cut by the kill: then it is REDACTED).
        for (id, index) in &acked {
            match reader.node(id) {
                Ok((i, _)) => {
                    assert_eq!(i.get(), *index, "run {run}: {id} moved");
                    assert!(
                        !redacted.contains(id),
                        "run {run}: redacted {id} still has content"
                    );
                }
                Err(e) if e.code() == "REDACTED" => {
                    let r = reader.prove(id, None).unwrap();
                    assert_eq!(r.leaf_index, *index, "run {run}: redacted {id} moved");
                }
                Err(e) => panic!("run {run}: acknowledged {id} lost: {e}"),
            }
        }
        let report = verify(&reader, Mode::Full, &mut |_, _| {}).unwrap();
        assert!(report.ok(), "run {run}: {:#?}", report.failures);
        drop(reader);

        // The next anchor is consistent with the previous one.
        let key = SecretKey::from_seed(evl_tests::CRASH_ORIGIN, &evl_tests::CRASH_SEED).unwrap();
        let ledger = Ledger::open(RedbStore::open(&path).unwrap(), key, AnchorPolicy::default()).unwrap();
        ledger.anchor().unwrap();
        let chain = ledger.reader().verify_anchor_chain().unwrap();
        assert!(chain.failure.is_none(), "run {run}: {:?}", chain.failure);
        assert!(chain.verified.len() > anchors_before);
        anchors_before = chain.verified.len();
    }
    assert!(
        !redacted.is_empty(),
        "no redaction was acknowledged before a kill"
    );
    eprintln!(
        "{KILLS} kills on {format}, {} acknowledged receipts, all present, {} acknowledged redactions; {anchors_before} anchors verify",
        acked.len(),
        redacted.len()
    );
}
