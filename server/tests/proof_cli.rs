//! `evl proof manifest | bundle | verify` on the real binary and a temporary data directory, and
//! `POST /v1/nodes` refusing a broken bundle (the ledger's append check, SPEC.md §15.6).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use axum::body::{Body, to_bytes};
use axum::http::{Request, StatusCode, header};
use common::{evl, ok, text};
use evl_ledger::store::memory::MemoryStore;
use evl_ledger::{AnchorPolicy, Ledger};
use evl_sdk::bundle::{ManifestInput, ProofBundle, ScoreManifest};
use evl_sdk::{SecretKey, Timestamp, sha256};
use evl_server::config::{AuthConfig, LimitsConfig, Scope, TokenConfig};
use evl_server::http::{AppState, Handling, auth::Auth, router};
use serde_json::{Value, json};
use std::time::Duration;
use tower::ServiceExt as _;

#[test]
fn manifest_bundle_and_verify_from_the_command_line() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let data = dir.join("data");
    ok(&data, &["init", "--origin", "cli.test/log"]);
    let sbom = dir.join("sbom.json");
    std::fs::write(&sbom, br#"{"bomFormat":"CycloneDX"}"#).unwrap();
    let rules = sha256(b"rules v1");
    let m = dir.join("m.json");
    let input_file = format!("sbom=sbom:{}", sbom.display());
    let input = format!("rules=rules:sha256:{}", rules.to_hex());
    ok(
        &data,
        &[
            "proof",
            "manifest",
            "--input-file",
            &input_file,
            "--input",
            &input,
            "--freeze-time",
            "2026-01-01T00:00:00Z",
            "--out",
            m.to_str().unwrap(),
        ],
    );
    // The file is the canonical node: --input first, then --input-file; digests as given / hashed.
    let node = ScoreManifest::from_node(&evl_sdk::Node::from_canonical(&std::fs::read(&m).unwrap()).unwrap())
        .unwrap();
    let names: Vec<&str> = node.inputs().iter().map(ManifestInput::name).collect();
    assert_eq!(names, ["rules", "sbom"]);
    assert_eq!(*node.inputs()[0].digest(), rules);
    assert_eq!(
        *node.inputs()[1].digest(),
        sha256(br#"{"bomFormat":"CycloneDX"}"#)
    );
    // Printed to stdout without --output: the same bytes plus a newline.
    let o = ok(
        &data,
        &[
            "proof",
            "manifest",
            "--input",
            &input,
            "--input-file",
            &input_file,
            "--freeze-time",
            "2026-01-01T00:00:00Z",
        ],
    );
    assert_eq!(o.stdout, [std::fs::read(&m).unwrap(), b"\n".to_vec()].concat());

    let r = dir.join("r.json");
    std::fs::write(&r, br#"{ "kind": "score", "value": {"score": 73} }"#).unwrap();
    let b = dir.join("b.json");
    let o = ok(
        &data,
        &[
            "proof",
            "bundle",
            "--manifest",
            m.to_str().unwrap(),
            "--result",
            r.to_str().unwrap(),
            "--out",
            b.to_str().unwrap(),
            "--append",
        ],
    );
    assert!(text(&o).contains("appended"), "{}", text(&o));

    let o = ok(
        &data,
        &[
            "proof",
            "verify",
            "--bundle",
            b.to_str().unwrap(),
            "--output",
            "json",
        ],
    );
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["ok"], json!(true));
    assert_eq!(v["report"]["manifest"], json!(node.id()));
    assert_eq!(v["report"]["result"]["value"], json!({"score": 73}));
    assert!(
        v["report"]["signer"]
            .as_str()
            .unwrap()
            .starts_with("cli.test/log+")
    );
    let o = ok(&data, &["proof", "verify", "--bundle", b.to_str().unwrap()]);
    assert!(text(&o).starts_with("OK  bundle sha256:"), "{}", text(&o));
    // The stored bundle is the file's node.
    let id = v["report"]["bundle"].as_str().unwrap();
    let got = ok(&data, &["get", id]);
    assert_eq!(got.stdout, [std::fs::read(&b).unwrap(), b"\n".to_vec()].concat());

    // A changed result: exit 1 with the code.
    let bad = dir.join("bad.json");
    let changed = String::from_utf8(std::fs::read(&b).unwrap())
        .unwrap()
        .replace(r#"{"score":73}"#, r#"{"score":99}"#);
    std::fs::write(&bad, changed).unwrap();
    let o = evl(
        &data,
        &[
            "proof",
            "verify",
            "--bundle",
            bad.to_str().unwrap(),
            "--output",
            "json",
        ],
    );
    assert_eq!(o.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["code"], json!("BUNDLE_INVALID"));
    // `evl append` refuses it too, and stores nothing.
    let o = evl(&data, &["append", bad.to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(text(&o).contains("BUNDLE_INVALID"), "{}", text(&o));

    // Another log's trust root does not hold the signing key.
    let other = dir.join("other");
    ok(&other, &["init", "--origin", "cli.test/log"]);
    let o = evl(
        &data,
        &[
            "proof",
            "verify",
            "--bundle",
            b.to_str().unwrap(),
            "--trust-root",
            other.join("trust-root.json").to_str().unwrap(),
            "--output",
            "json",
        ],
    );
    assert_eq!(o.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["code"], json!("KEY_UNKNOWN"));

    // A statement time before the signing key's not_before (init time) is refused at build.
    let o = evl(
        &data,
        &[
            "proof",
            "bundle",
            "--manifest",
            m.to_str().unwrap(),
            "--result",
            r.to_str().unwrap(),
            "--time",
            "2026-01-02T00:00:00+01:00",
        ],
    );
    assert!(!o.status.success());
    assert!(text(&o).contains("KEY_EXPIRED"), "{}", text(&o));
    // Usage errors.
    let o = evl(&data, &["proof", "manifest", "--input", "no-equals-sign"]);
    assert!(!o.status.success());
    assert!(text(&o).contains("NAME=KIND"), "{}", text(&o));
    let o = evl(&data, &["proof", "manifest"]);
    assert!(!o.status.success());
}

#[tokio::test]
async fn post_nodes_refuses_a_broken_bundle() {
    let key = || SecretKey::from_seed("api.test/log", &[3u8; 32]).unwrap();
    let t = |s: &str| Timestamp::parse(s).unwrap();
    let ledger = Ledger::init(
        MemoryStore::new(),
        key(),
        t("2020-01-01T00:00:00Z"),
        AnchorPolicy::default(),
    )
    .unwrap();
    let auth = Auth::new(
        &AuthConfig {
            public_reads: true,
            tokens: vec![TokenConfig {
                name: "admin".into(),
                token: "admin-token-0123456789".into(),
                scopes: vec![Scope::Read, Scope::Append, Scope::Admin],
            }],
        },
        Vec::new(),
    );
    let app = router(
        AppState::new(ledger.clone(), auth, LimitsConfig::default()),
        Handling {
            timeout: Duration::from_secs(30),
            max_concurrency: 64,
        },
    );
    let m = ScoreManifest::build(
        vec![ManifestInput::new("sbom", "sbom", sha256(b"sbom")).unwrap()],
        None,
    )
    .unwrap();
    let good = ProofBundle::build(
        &m,
        json!({"kind": "score", "value": 1}),
        &key(),
        t("2026-01-01T00:00:00Z"),
    )
    .unwrap()
    .value();
    let post = |body: Value| {
        Request::post("/v1/nodes")
            .header(header::AUTHORIZATION, "Bearer admin-token-0123456789")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(serde_json::to_vec(&body).unwrap()))
            .unwrap()
    };
    let mut bad = good.clone();
    bad["result"]["value"] = json!(2);
    let res = app.clone().oneshot(post(bad)).await.unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let body: Value = serde_json::from_slice(&to_bytes(res.into_body(), 1 << 20).await.unwrap()).unwrap();
    assert_eq!(body["code"], json!("BUNDLE_INVALID"));
    assert_eq!(ledger.reader().tree_size().unwrap().get(), 0);
    let res = app.oneshot(post(good)).await.unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
}
