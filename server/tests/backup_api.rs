//! `GET /v1/backup` (admin scope, streamed, the same bytes as `evl backup`) and the crash-safe
//! file and directory writers behind `evl backup` / `evl restore` (`evl_server::backup`): a
//! failed restore leaves no target and no temporary directory, a non-empty target is refused
//! untouched, and stale temporary directories of dead restores are removed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::http::{Request, StatusCode, header};
use evl_ledger::pack::{BackupRequest, RestoreRequest};
use evl_ledger::store::StoreFormat;
use evl_ledger::store::memory::MemoryStore;
use evl_ledger::store::redb_store::RedbStore;
use evl_ledger::{AnchorPolicy, Ledger, LedgerReader};
use evl_sdk::pack::{PACK_MEDIA_TYPE, PackKind};
use evl_sdk::{SecretKey, Timestamp};
use evl_server::backup::{RESTORE_PREFIX, restore_dir, write_backup_file};
use evl_server::config::{AuthConfig, LimitsConfig, Scope, TokenConfig};
use evl_server::http::{AppState, Handling, auth::Auth, router};
use serde_json::Value;
use std::path::Path;
use std::time::Duration;
use tower::ServiceExt as _;

const ADMIN: &str = "admin-token-0123456789";
const READER: &str = "reader-token-0123456789";
const ORIGIN: &str = "backup-api.test/log";

fn ledger() -> Ledger<MemoryStore> {
    let key = SecretKey::from_seed(ORIGIN, &[4u8; 32]).unwrap();
    let l = Ledger::init(
        MemoryStore::new(),
        key,
        Timestamp::parse("2020-01-01T00:00:00Z").unwrap(),
        AnchorPolicy::default(),
    )
    .unwrap();
    let docs: Vec<String> = (0..300).map(|i| format!(r#"{{"type":"x-b","i":{i}}}"#)).collect();
    for chunk in docs.chunks(40) {
        let refs: Vec<&[u8]> = chunk.iter().map(String::as_bytes).collect();
        l.append_json(&refs).unwrap();
    }
    l.anchor().unwrap();
    l.append_json(&[br#"{"type":"x-b","tail":1}"#.as_slice()])
        .unwrap();
    l
}

fn app(l: &Ledger<MemoryStore>) -> Router {
    let auth = Auth::new(
        &AuthConfig {
            public_reads: true,
            tokens: vec![
                TokenConfig {
                    name: "admin".into(),
                    token: ADMIN.into(),
                    scopes: vec![Scope::Read, Scope::Append, Scope::Admin],
                },
                TokenConfig {
                    name: "reader".into(),
                    token: READER.into(),
                    scopes: vec![Scope::Read],
                },
            ],
        },
        Vec::new(),
    );
    let limits = LimitsConfig {
        max_body_bytes: 1024 * 1024,
        max_batch_nodes: 10,
    };
    router(
        AppState::new(l.clone(), auth, limits),
        Handling {
            timeout: Duration::from_secs(30),
            max_concurrency: 8,
        },
    )
}

async fn get(app: &Router, uri: &str, token: Option<&str>) -> (StatusCode, Option<String>, Vec<u8>) {
    let mut b = Request::builder().method("GET").uri(uri);
    if let Some(t) = token {
        b = b.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    let resp = app.clone().oneshot(b.body(Body::empty()).unwrap()).await.unwrap();
    let status = resp.status();
    let ctype = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_owned());
    (
        status,
        ctype,
        to_bytes(resp.into_body(), usize::MAX).await.unwrap().to_vec(),
    )
}

fn code(body: &[u8]) -> String {
    serde_json::from_slice::<Value>(body).unwrap()["code"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn get_backup_needs_admin_and_streams_a_verifying_backup() {
    let l = ledger();
    let app = app(&l);
    let (s, _, b) = get(&app, "/v1/backup", None).await;
    assert_eq!((s, code(&b).as_str()), (StatusCode::UNAUTHORIZED, "UNAUTHORIZED"));
    let (s, _, b) = get(&app, "/v1/backup", Some(READER)).await;
    assert_eq!((s, code(&b).as_str()), (StatusCode::FORBIDDEN, "FORBIDDEN"));

    let (s, ctype, full) = get(&app, "/v1/backup", Some(ADMIN)).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(ctype.as_deref(), Some(PACK_MEDIA_TYPE));
    let report = l.trust_root().verify_pack(&full).unwrap().into_inner();
    assert_eq!(report.kind, PackKind::Backup);
    assert_eq!(
        report.backup.as_ref().unwrap().to,
        301,
        "the tail after the anchor is in it"
    );
    // The same bytes as the library (and so `evl backup`) writes.
    let mut direct = Vec::new();
    l.backup(&BackupRequest::default(), &mut direct, &mut |_| {})
        .unwrap();
    assert_eq!(full, direct);

    let uri = format!("/v1/backup?since_anchor=0&base={}", report.pack_id);
    let (s, _, inc) = get(&app, &uri, Some(ADMIN)).await;
    assert_eq!(s, StatusCode::OK);
    let b = l
        .trust_root()
        .verify_pack(&inc)
        .unwrap()
        .into_inner()
        .backup
        .unwrap();
    assert_eq!((b.from, b.to, b.base), (300, 301, Some(report.pack_id)));

    for (uri, status, want) in [
        ("/v1/backup?since_anchor=9", StatusCode::NOT_FOUND, "NOT_FOUND"),
        (
            "/v1/backup?since_anchor=x",
            StatusCode::BAD_REQUEST,
            "BAD_REQUEST",
        ),
        ("/v1/backup?bogus=1", StatusCode::BAD_REQUEST, "BAD_REQUEST"),
        (
            "/v1/backup?since_anchor=0&base=nope",
            StatusCode::BAD_REQUEST,
            "NODE_ID_MALFORMED",
        ),
        (
            "/v1/backup?base=sha256:0000000000000000000000000000000000000000000000000000000000000000",
            StatusCode::BAD_REQUEST,
            "BAD_REQUEST",
        ),
    ] {
        let (s, _, b) = get(&app, uri, Some(ADMIN)).await;
        assert_eq!((s, code(&b)), (status, want.to_owned()), "{uri}");
    }
}

fn temporaries(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(RESTORE_PREFIX) || n.starts_with(".evl-backup-"))
        .collect()
}

#[test]
fn restore_dir_is_all_or_nothing() {
    let l = ledger();
    let work = tempfile::tempdir().unwrap();
    let good = work.path().join("full.tar.zst");
    write_backup_file(&l, &BackupRequest::default(), &good, &mut |_| {}).unwrap();
    assert!(temporaries(work.path()).is_empty());
    let restore = |file: &Path, target: &Path| {
        restore_dir(
            &[file.to_path_buf()],
            target,
            &RestoreRequest::default(),
            StoreFormat::V1,
            &mut |_| {},
        )
    };

    // A damaged backup: the verifier's code, no target, no temporary directory.
    let mut bytes = std::fs::read(&good).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 1;
    let bad = work.path().join("bad.tar.zst");
    std::fs::write(&bad, &bytes).unwrap();
    let target = work.path().join("restored");
    let e = restore(&bad, &target).unwrap_err();
    assert_eq!(e.code(), "PACK_MALFORMED", "{e}");
    assert!(!target.exists());
    assert!(temporaries(work.path()).is_empty());

    // A stale temporary directory of a dead restore is removed by the next one.
    let stale = work.path().join(format!("{RESTORE_PREFIX}4294967295-stale"));
    std::fs::create_dir_all(stale.join("x")).unwrap();
    let done = restore(&good, &target).unwrap();
    assert_eq!(done.stale_removed, vec![stale.clone()]);
    assert!(!stale.exists());
    assert!(temporaries(work.path()).is_empty());
    assert!(target.join("trust-root.json").exists());
    assert!(!target.join("signing-key.pem").exists(), "a backup holds no key");
    let r = LedgerReader::open(RedbStore::open(&target.join("ledger.redb")).unwrap()).unwrap();
    assert_eq!(r.tree_size().unwrap().get(), 301);
    drop(r);

    // An existing, non-empty target is refused and left as it was; an empty one is used.
    let e = restore(&good, &target).unwrap_err();
    assert_eq!(e.code(), "TARGET_NOT_EMPTY");
    assert!(target.join("ledger.redb").exists());
    let empty = work.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    restore(&good, &empty).unwrap();
    let file = work.path().join("a-file");
    std::fs::write(&file, b"x").unwrap();
    assert_eq!(restore(&good, &file).unwrap_err().code(), "TARGET_NOT_EMPTY");
}
