//! Score manifests and proof bundles (SPEC.md §15): the worked example, one test per rejection
//! code, VEX-consensus replay through a bundle, and property tests (the manifest root is the
//! RFC 6962 root of the digests, every proof verifies, and no one-byte mutation of a bundle panics
//! or verifies as different evidence).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use evl_sdk::bundle::{
    BUNDLE_PAYLOAD_TYPE, BundleStatement, ManifestInput, ProofBundle, ScoreManifest, check_node,
    manifest_root,
};
use evl_sdk::vex::{self, GroupKey, IssuerRegistry, Mode, Policy};
use evl_sdk::{
    Digest, Envelope, ErrorCode, MemoryTree, Node, NodeId, SecretKey, Timestamp, TreeHead, TreeSize,
    TrustRoot, TrustedKey, empty_root, leaf_hash, node_hash, sha256,
};
use proptest::prelude::*;
use serde_json::{Value, json};

const ORIGIN: &str = "example.org/evl";

fn ts(s: &str) -> Timestamp {
    Timestamp::parse(s).unwrap()
}
/// The worked-example key of SPEC.md §1.1 (seed 32 × 0x01).
fn key() -> SecretKey {
    SecretKey::from_seed(ORIGIN, &[1; 32]).unwrap()
}
fn other(seed: u8) -> SecretKey {
    SecretKey::from_seed(ORIGIN, &[seed; 32]).unwrap()
}
/// Key 1 valid from 2026, key 3 valid only in 2025, key 4 revoked; key 5 is not trusted.
fn trust() -> TrustRoot {
    TrustRoot::new(
        ORIGIN,
        vec![
            TrustedKey::new(key().public().clone(), ts("2026-01-01T00:00:00Z"), None, false),
            TrustedKey::new(
                other(3).public().clone(),
                ts("2025-01-01T00:00:00Z"),
                Some(ts("2025-12-31T23:59:59Z")),
                false,
            ),
            TrustedKey::new(other(4).public().clone(), ts("2025-01-01T00:00:00Z"), None, true),
        ],
    )
    .unwrap()
}

fn digest(s: &str) -> Digest {
    *s.parse::<NodeId>().unwrap().digest()
}

/// The worked example: the inputs are the three NodeIds of SPEC.md §1.1.
fn example_inputs() -> Vec<ManifestInput> {
    vec![
        ManifestInput::new(
            "sbom",
            "sbom",
            digest("sha256:0d7d1975186c8db6be40ab869a2223a8918536e9c1cbb646ffd99b09dd166ccb"),
        )
        .unwrap(),
        ManifestInput::new(
            "rules",
            "rules",
            digest("sha256:a4bd4130d37f0418201ab267cb11d158da05f65d0e7337494986bbabb433e8bf"),
        )
        .unwrap(),
        ManifestInput::new(
            "nvd",
            "feed",
            digest("sha256:6d2ba189c84c12c55f725c592b0b29526d86fd4ba8c9f152d9c0156da6c03401"),
        )
        .unwrap(),
    ]
}
const FREEZE: &str = "2026-01-01T00:00:00Z";
const SIGNED_AT: &str = "2026-01-02T00:00:00Z";

fn example_manifest() -> Node {
    ScoreManifest::build(example_inputs(), Some(ts(FREEZE))).unwrap()
}
fn example_result() -> Value {
    json!({"kind": "score", "value": 72})
}
fn example_bundle() -> Node {
    ProofBundle::build(&example_manifest(), example_result(), &key(), ts(SIGNED_AT)).unwrap()
}

/// Parses and verifies bundle bytes, as a verifier given a file does.
fn verdict(bytes: &[u8]) -> Result<(), ErrorCode> {
    let b = ProofBundle::from_json(bytes).map_err(|e| e.code())?;
    trust().verify_bundle(&b).map(drop).map_err(|e| e.code())
}
fn verdict_value(v: &Value) -> Result<(), ErrorCode> {
    verdict(&serde_json::to_vec(v).unwrap())
}
fn manifest_verdict(v: &Value) -> Result<(), ErrorCode> {
    let n = Node::from_json(&serde_json::to_vec(v).unwrap()).map_err(|e| e.code())?;
    ScoreManifest::from_node(&n).map(drop).map_err(|e| e.code())
}

#[test]
fn worked_example() {
    let m = example_manifest();
    assert_eq!(
        String::from_utf8(m.bytes().to_vec()).unwrap(),
        r#"{"freeze_time":"2026-01-01T00:00:00Z","inputs":[{"digest":"sha256:0d7d1975186c8db6be40ab869a2223a8918536e9c1cbb646ffd99b09dd166ccb","kind":"sbom","name":"sbom"},{"digest":"sha256:a4bd4130d37f0418201ab267cb11d158da05f65d0e7337494986bbabb433e8bf","kind":"rules","name":"rules"},{"digest":"sha256:6d2ba189c84c12c55f725c592b0b29526d86fd4ba8c9f152d9c0156da6c03401","kind":"feed","name":"nvd"}],"root":"OpV1IL0E3VxxYIOxoDr+xdWWQmNTD70d39Oljtk4yOQ=","type":"score.manifest/v1"}"#
    );
    // The root is the SPEC.md §1.1 log root at size 3: the manifest tree is the log's tree rule.
    let parsed = ScoreManifest::from_node(&m).unwrap();
    assert_eq!(
        parsed.root().to_hex(),
        "3a957520bd04dd5c716083b1a03afec5d5964263530fbd1ddfd3a58ed938c8e4"
    );
    assert_eq!(
        m.id().to_string(),
        "sha256:290c28aa6f4369e0d4bae5dea9722167077fe0583b2c09e1c29b481f86e3381e"
    );

    let b = example_bundle();
    let bundle = ProofBundle::from_node(&b).unwrap();
    let statement = String::from_utf8(bundle.attestation().payload().to_vec()).unwrap();
    assert_eq!(
        statement,
        format!(
            r#"{{"manifest":"{}","result":"sha256:{}","root":"OpV1IL0E3VxxYIOxoDr+xdWWQmNTD70d39Oljtk4yOQ=","time":"2026-01-02T00:00:00Z","type":"evl.bundle-statement/v1"}}"#,
            m.id(),
            sha256(br#"{"kind":"score","value":72}"#).to_hex()
        )
    );
    // The proof of input 0 in a tree of 3 is [leaf1, leaf2], as the §1.1 receipt.
    let p0 = serde_json::to_string(&bundle.proofs()[0]).unwrap();
    assert_eq!(
        p0,
        r#"{"leaf_index":0,"tree_size":3,"hashes":["r2+PKS0UQS/wCtgdzHnbRkXI3gXVN1YgpXi9at1qxRU=","SEUdbFFeJ67+IaanuA5WEjqLp0Bn7A8xKgeOEKE81Cs="]}"#
    );
    let report = trust().verify_bundle(&bundle).unwrap().into_inner();
    assert_eq!(report.bundle, b.id());
    assert_eq!(report.manifest, m.id());
    assert_eq!(report.signer, "example.org/evl+d3076b9f");
    assert_eq!(report.time, ts(SIGNED_AT));
    assert_eq!(report.freeze_time, Some(ts(FREEZE)));
    assert_eq!(report.result.kind(), "score");
    assert_eq!(report.result.value(), &json!(72));
    assert_eq!(report.inputs, example_inputs());
    // Ed25519 is deterministic, so the whole bundle is a known answer.
    assert_eq!(
        b.id().to_string(),
        "sha256:4dd5640b41a39f763b9d029ed47c08c4437e57528f43d216ccf3864ecae05ae6"
    );
}

// ---- manifests ----

fn manifest_value() -> Value {
    example_manifest().value()
}

#[test]
fn manifest_faults_are_bundle_invalid() {
    let bad = |f: &dyn Fn(&mut Value)| {
        let mut v = manifest_value();
        f(&mut v);
        manifest_verdict(&v)
    };
    assert_eq!(bad(&|_| {}), Ok(()));
    type Mutate = fn(&mut Value);
    let cases: Vec<(&str, Mutate)> = vec![
        ("wrong root", |v| v["root"] = json!(empty_root().to_base64())),
        ("root not base64", |v| v["root"] = json!("not base64")),
        ("root missing", |v| {
            drop(v.as_object_mut().unwrap().remove("root"))
        }),
        ("unknown member", |v| v["extra"] = json!(1)),
        ("unknown input member", |v| v["inputs"][0]["size"] = json!(1)),
        ("duplicate name", |v| v["inputs"][1]["name"] = json!("sbom")),
        ("empty name", |v| v["inputs"][1]["name"] = json!("")),
        ("long name", |v| v["inputs"][1]["name"] = json!("n".repeat(1025))),
        ("long kind", |v| v["inputs"][1]["kind"] = json!("k".repeat(129))),
        ("kind missing", |v| {
            drop(v["inputs"][1].as_object_mut().unwrap().remove("kind"))
        }),
        ("uppercase digest", |v| {
            let d = v["inputs"][0]["digest"].as_str().unwrap();
            v["inputs"][0]["digest"] = json!(format!("sha256:{}", d[7..].to_uppercase()));
        }),
        ("short digest", |v| v["inputs"][0]["digest"] = json!("sha256:00")),
        ("other algorithm", |v| {
            v["inputs"][0]["digest"] = json!(format!("sha512:{}", "0".repeat(64)))
        }),
        ("no inputs", |v| v["inputs"] = json!([])),
        ("inputs not an array", |v| v["inputs"] = json!({})),
        ("freeze_time with offset", |v| {
            v["freeze_time"] = json!("2026-01-01T00:00:00+00:00")
        }),
        ("freeze_time null", |v| v["freeze_time"] = json!(null)),
        ("wrong type", |v| v["type"] = json!("proof.bundle/v1")),
    ];
    for (name, f) in cases {
        assert_eq!(bad(&f), Err(ErrorCode::BundleInvalid), "{name}");
    }
    // Reordering inputs changes the root: leaf order is significant.
    let mut v = manifest_value();
    v["inputs"].as_array_mut().unwrap().swap(0, 1);
    assert_eq!(manifest_verdict(&v), Err(ErrorCode::BundleInvalid));
    // Links (SPEC.md §3.3) are allowed; a bad link is a node fault.
    let mut v = manifest_value();
    v["links"] = json!([{"rel": "sbom", "id": v["inputs"][0]["digest"]}]);
    assert_eq!(manifest_verdict(&v), Ok(()));
    v["links"] = json!([{"rel": "sbom"}]);
    assert_eq!(manifest_verdict(&v), Err(ErrorCode::NodeInvalid));
}

#[test]
fn the_builder_rejects_what_the_parser_rejects() {
    assert_eq!(
        ScoreManifest::build(vec![], None).map_err(|e| e.code()),
        Err(ErrorCode::BundleInvalid)
    );
    let mut two = example_inputs();
    two.push(two[0].clone());
    assert_eq!(
        ScoreManifest::build(two, None).map_err(|e| e.code()),
        Err(ErrorCode::BundleInvalid)
    );
    let too_many: Vec<_> = (0..=evl_sdk::limits::MAX_MANIFEST_INPUTS)
        .map(|i| ManifestInput::new(&i.to_string(), "feed", sha256(&i.to_be_bytes())).unwrap())
        .collect();
    assert_eq!(
        ScoreManifest::build(too_many[1..].to_vec(), None).map(|n| n.node_type().to_owned()),
        Ok("score.manifest/v1".to_owned())
    );
    assert_eq!(
        ScoreManifest::build(too_many, None).map_err(|e| e.code()),
        Err(ErrorCode::BundleInvalid)
    );
    assert!(ManifestInput::new("", "sbom", sha256(b"")).is_err());
    assert!(ManifestInput::new("a", "", sha256(b"")).is_err());
    // A bundle needs a manifest.
    let not_manifest = Node::from_json(br#"{"type":"blob/v1","data":"x"}"#).unwrap();
    assert_eq!(
        ProofBundle::build(&not_manifest, example_result(), &key(), ts(SIGNED_AT)).map_err(|e| e.code()),
        Err(ErrorCode::BundleInvalid)
    );
}

// ---- bundles ----

fn bundle_value() -> Value {
    example_bundle().value()
}

/// Replaces the attestation with one by `k` over `statement` (payload bytes as given).
fn resign(v: &mut Value, payload_type: &str, statement: &[u8], k: &SecretKey) {
    let env = Envelope::sign(payload_type, statement, k);
    v["attestation"] = serde_json::from_slice(&env.to_json()).unwrap();
}

fn statement_of(v: &Value) -> BundleStatement {
    *ProofBundle::from_json(&serde_json::to_vec(v).unwrap())
        .unwrap()
        .statement()
}

#[test]
fn proof_faults() {
    let good = bundle_value();
    assert_eq!(verdict_value(&good), Ok(()));
    let with = |f: &dyn Fn(&mut Value)| {
        let mut v = good.clone();
        f(&mut v);
        verdict_value(&v)
    };
    let flipped = {
        let h = good["proofs"][1]["hashes"][0].as_str().unwrap();
        let mut d = *Digest::from_base64(h).unwrap().as_bytes();
        d[0] ^= 1;
        Digest::from_bytes(d).to_base64()
    };
    assert_eq!(
        with(&|v| v["proofs"][1]["hashes"][0] = json!(flipped)),
        Err(ErrorCode::MerkleMismatch)
    );
    assert_eq!(
        with(&|v| drop(v["proofs"][1]["hashes"].as_array_mut().unwrap().pop())),
        Err(ErrorCode::ProofMalformed)
    );
    assert_eq!(
        with(&|v| v["proofs"][1]["hashes"][0] = json!("AAAA")),
        Err(ErrorCode::ProofMalformed)
    );
    assert_eq!(
        with(&|v| v["proofs"][1]["tree_size"] = json!(4)),
        Err(ErrorCode::ProofMalformed)
    );
    assert_eq!(
        with(&|v| v["proofs"][1]["leaf_index"] = json!(0)),
        Err(ErrorCode::ProofMalformed)
    );
    assert_eq!(
        with(&|v| v["proofs"][1]["extra"] = json!(0)),
        Err(ErrorCode::ProofMalformed)
    );
    // Structure around the proofs is the bundle's own schema.
    assert_eq!(
        with(&|v| v["proofs"][1]["name"] = json!("sbom")),
        Err(ErrorCode::BundleInvalid)
    );
    assert_eq!(
        with(&|v| drop(v["proofs"].as_array_mut().unwrap().pop())),
        Err(ErrorCode::BundleInvalid)
    );
    assert_eq!(
        with(&|v| v["proofs"].as_array_mut().unwrap().swap(0, 1)),
        Err(ErrorCode::BundleInvalid)
    );
}

#[test]
fn schema_and_statement_faults_are_bundle_invalid() {
    let good = bundle_value();
    let with = |f: &dyn Fn(&mut Value)| {
        let mut v = good.clone();
        f(&mut v);
        verdict_value(&v)
    };
    assert_eq!(with(&|v| v["extra"] = json!(1)), Err(ErrorCode::BundleInvalid));
    assert_eq!(
        with(&|v| v["result"]["value"] = json!(73)),
        Err(ErrorCode::BundleInvalid)
    );
    assert_eq!(
        with(&|v| v["result"]["extra"] = json!(1)),
        Err(ErrorCode::BundleInvalid)
    );
    assert_eq!(with(&|v| v["result"] = json!(72)), Err(ErrorCode::BundleInvalid));
    assert_eq!(
        with(&|v| v["result"]["node"] = json!("sha256:00")),
        Err(ErrorCode::BundleInvalid)
    );
    assert_eq!(
        with(&|v| v["manifest"]["extra"] = json!(1)),
        Err(ErrorCode::BundleInvalid)
    );
    assert_eq!(
        with(&|v| v["manifest"] = json!("sha256:00")),
        Err(ErrorCode::BundleInvalid)
    );
    assert_eq!(
        with(&|v| drop(v.as_object_mut().unwrap().remove("attestation"))),
        Err(ErrorCode::BundleInvalid)
    );
    // A different (valid) manifest: the statement names the original one.
    assert_eq!(
        with(&|v| {
            let mut i = example_inputs();
            i.pop();
            v["manifest"] = ScoreManifest::build(i, None).unwrap().value();
            v["proofs"].as_array_mut().unwrap().pop();
            let m = ScoreManifest::from_node(&Node::from_value(v["manifest"].clone()).unwrap()).unwrap();
            v["proofs"][0] = named_proof(&m, 0);
            v["proofs"][1] = named_proof(&m, 1);
        }),
        Err(ErrorCode::BundleInvalid)
    );

    // Statements signed by a trusted key that do not match the bundle.
    let s = statement_of(&good);
    let signed = |st: &BundleStatement| {
        let mut v = good.clone();
        resign(&mut v, BUNDLE_PAYLOAD_TYPE, &st.to_bytes(), &key());
        verdict_value(&v)
    };
    assert_eq!(signed(&s), Ok(()));
    let mut x = s;
    x.manifest = NodeId::from_digest(sha256(b"another manifest"));
    assert_eq!(signed(&x), Err(ErrorCode::BundleInvalid));
    let mut x = s;
    x.root = sha256(b"another root");
    assert_eq!(signed(&x), Err(ErrorCode::BundleInvalid));
    let mut x = s;
    x.result = sha256(br#"{"kind":"score","value":73}"#);
    assert_eq!(signed(&x), Err(ErrorCode::BundleInvalid));
    let mut x = s;
    x.time = ts("2025-12-31T23:59:59Z"); // before freeze_time (and before key 1's window)
    assert_eq!(signed(&x), Err(ErrorCode::BundleInvalid));

    // Payloads that are not a canonical statement.
    let payload = |bytes: &[u8]| {
        let mut v = good.clone();
        resign(&mut v, BUNDLE_PAYLOAD_TYPE, bytes, &key());
        verdict_value(&v)
    };
    let text = String::from_utf8(s.to_bytes()).unwrap();
    assert_eq!(
        payload(text.replace(":", ": ").as_bytes()),
        Err(ErrorCode::BundleInvalid)
    );
    assert_eq!(
        payload(text.replace("\"type\"", "\"extra\":1,\"type\"").as_bytes()),
        Err(ErrorCode::BundleInvalid)
    );
    assert_eq!(
        payload(
            text.replace("evl.bundle-statement/v1", "evl.anchor/v1")
                .as_bytes()
        ),
        Err(ErrorCode::BundleInvalid)
    );
    assert_eq!(payload(b"not json"), Err(ErrorCode::BundleInvalid));
}

fn named_proof(m: &ScoreManifest, i: usize) -> Value {
    let mut p = serde_json::to_value(m.prove(i).unwrap()).unwrap();
    p["name"] = json!(m.inputs()[i].name());
    p
}

#[test]
fn attestation_faults_follow_dsse_and_key_selection() {
    let good = bundle_value();
    let s = statement_of(&good).to_bytes();
    let by = |k: &SecretKey| {
        let mut v = good.clone();
        resign(&mut v, BUNDLE_PAYLOAD_TYPE, &s, k);
        verdict_value(&v)
    };
    assert_eq!(by(&key()), Ok(()));
    assert_eq!(by(&other(5)), Err(ErrorCode::KeyUnknown));
    assert_eq!(by(&other(3)), Err(ErrorCode::KeyExpired));
    assert_eq!(by(&other(4)), Err(ErrorCode::KeyRevoked));
    // An altered signature.
    let mut v = good.clone();
    let sig = v["attestation"]["signatures"][0]["sig"]
        .as_str()
        .unwrap()
        .to_owned();
    let alt = format!("{}{}", if sig.starts_with('A') { "B" } else { "A" }, &sig[1..]);
    v["attestation"]["signatures"][0]["sig"] = json!(alt);
    assert_eq!(verdict_value(&v), Err(ErrorCode::SignatureInvalid));
    // Another payload type, even correctly signed.
    let mut v = good.clone();
    resign(
        &mut v,
        "application/vnd.evidence-ledger.anchor.v1+json",
        &s,
        &key(),
    );
    assert_eq!(verdict_value(&v), Err(ErrorCode::EnvelopeMalformed));
    // Not an envelope.
    let mut v = good.clone();
    v["attestation"] = json!({"payload": "e30=", "signatures": []});
    assert_eq!(verdict_value(&v), Err(ErrorCode::EnvelopeMalformed));
    // Trust-free checks pass for a bundle by an unknown key; only verification fails.
    let mut v = good;
    resign(&mut v, BUNDLE_PAYLOAD_TYPE, &s, &other(5));
    let node = Node::from_value(v).unwrap();
    assert!(check_node(&node).is_ok());
    let b = ProofBundle::from_node(&node).unwrap();
    assert_eq!(
        trust().verify_bundle(&b).map(drop).map_err(|e| e.code()),
        Err(ErrorCode::KeyUnknown)
    );
}

#[test]
fn check_node_applies_only_to_the_two_types() {
    let blob = Node::from_json(br#"{"type":"blob/v1","data":"x","inputs":7}"#).unwrap();
    assert!(check_node(&blob).is_ok());
    let mut v = manifest_value();
    v["root"] = json!(empty_root().to_base64());
    let n = Node::from_value(v).unwrap();
    assert_eq!(
        check_node(&n).map_err(|e| e.code()),
        Err(ErrorCode::BundleInvalid)
    );
    assert!(check_node(&example_bundle()).is_ok());
}

// ---- a VEX consensus result ----

#[test]
fn a_vex_consensus_result_replays_from_its_inputs() {
    let policy = Policy::default();
    let issuers = IssuerRegistry::empty();
    let gk = GroupKey::new("CVE-2024-0001", "pkg:npm/example@1.0.0").unwrap();
    let head = TreeHead::new(TreeSize::ZERO, empty_root());
    let c = vex::consensus(&[], &policy, &issuers, &gk, ts(FREEZE), head, Mode::WeightedVote).unwrap();
    let inputs = vec![
        ManifestInput::new("policy", "vex.policy", *policy.node().id().digest()).unwrap(),
        ManifestInput::new("issuers", "vex.issuers", *issuers.node().id().digest()).unwrap(),
    ];
    let m = ScoreManifest::build(inputs, Some(ts(FREEZE))).unwrap();
    let result = json!({"kind": "vex.consensus", "node": c.node().id(), "value": {"status": null}});
    let b = ProofBundle::build(&m, result, &key(), ts(SIGNED_AT)).unwrap();
    let report = trust()
        .verify_bundle(&ProofBundle::from_node(&b).unwrap())
        .unwrap();
    let replayed = report
        .replay_vex_consensus(c.node(), &[], policy.node(), issuers.node())
        .unwrap();
    assert_eq!(replayed.node(), c.node());
    // Another consensus node, or an input the manifest does not list.
    let other_c = vex::consensus(&[], &policy, &issuers, &gk, ts(SIGNED_AT), head, Mode::Lattice).unwrap();
    assert_eq!(
        report
            .replay_vex_consensus(other_c.node(), &[], policy.node(), issuers.node())
            .map(drop)
            .map_err(|e| e.code()),
        Err(ErrorCode::BundleInvalid)
    );
    let other_policy = Node::from_json(br#"{"type":"vex.policy/v1","mode":"Lattice"}"#).unwrap();
    assert_eq!(
        report
            .replay_vex_consensus(c.node(), &[], &other_policy, issuers.node())
            .map(drop)
            .map_err(|e| e.code()),
        Err(ErrorCode::BundleInvalid)
    );
    // A vex.consensus result must name its node.
    let r = ProofBundle::build(
        &m,
        json!({"kind": "vex.consensus", "value": 1}),
        &key(),
        ts(SIGNED_AT),
    );
    assert_eq!(r.map(drop).map_err(|e| e.code()), Err(ErrorCode::BundleInvalid));
}

// ---- properties ----

/// RFC 9162 §2.1.1 MTH, written straight from the RFC (independent of `MemoryTree`).
fn mth(leaves: &[Digest]) -> Digest {
    match leaves.len() {
        0 => sha256(b""),
        1 => leaves[0],
        n => {
            let mut k = 1;
            while k * 2 < n {
                k *= 2;
            }
            node_hash(&mth(&leaves[..k]), &mth(&leaves[k..]))
        }
    }
}

fn arb_inputs() -> impl Strategy<Value = Vec<ManifestInput>> {
    prop::collection::vec((any::<[u8; 32]>(), "[a-z]{1,3}"), 1..40).prop_map(|v| {
        v.into_iter()
            .enumerate()
            .map(|(i, (d, kind))| {
                ManifestInput::new(&format!("input-{i}"), &kind, Digest::from_bytes(d)).unwrap()
            })
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn the_root_is_the_rfc6962_root_of_the_digests_and_every_proof_verifies(inputs in arb_inputs()) {
        let leaves: Vec<Digest> = inputs.iter().map(|i| leaf_hash(i.digest().as_bytes())).collect();
        let tree = MemoryTree::from_leaf_hashes(leaves.iter().copied());
        prop_assert_eq!(manifest_root(&inputs), tree.root());
        prop_assert_eq!(manifest_root(&inputs), mth(&leaves));

        let m = ScoreManifest::build(inputs.clone(), None).unwrap();
        let parsed = ScoreManifest::from_node(&m).unwrap();
        prop_assert_eq!(parsed.root(), tree.root());
        let b = ProofBundle::build(&m, json!({"kind": "score", "value": inputs.len()}), &key(), ts(SIGNED_AT)).unwrap();
        let bundle = ProofBundle::from_node(&b).unwrap();
        let head = TreeHead::new(tree.size(), tree.root());
        for (i, p) in bundle.proofs().iter().enumerate() {
            let ev = head.verify_inclusion(&leaves[i], p).unwrap();
            prop_assert_eq!(ev.index.get(), i as u64);
        }
        let report = trust().verify_bundle(&bundle).unwrap();
        prop_assert_eq!(&report.inputs, &inputs);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    /// Any one-byte change of a bundle never panics, and whatever still verifies is the same
    /// evidence: only encodings the formats accept as equal (e.g. a base64 alphabet) can change.
    #[test]
    fn a_mutated_bundle_never_verifies_as_other_evidence(pos in any::<prop::sample::Index>(), byte in any::<u8>()) {
        static GOOD: std::sync::OnceLock<(Node, evl_sdk::BundleReport)> = std::sync::OnceLock::new();
        let (good, want) = GOOD.get_or_init(|| {
            let good = example_bundle();
            let want = trust().verify_bundle(&ProofBundle::from_node(&good).unwrap()).unwrap().into_inner();
            (good, want)
        });
        let mut bytes = good.bytes().to_vec();
        let i = pos.index(bytes.len());
        prop_assume!(bytes[i] != byte);
        bytes[i] = byte;
        if let Ok(b) = ProofBundle::from_json(&bytes)
            && let Ok(got) = trust().verify_bundle(&b)
        {
            let got = got.into_inner();
            prop_assert_ne!(got.bundle, want.bundle);
            prop_assert_eq!(
                (&got.manifest, &got.root, &got.inputs, &got.freeze_time, &got.result, &got.signer, &got.time),
                (&want.manifest, &want.root, &want.inputs, &want.freeze_time, &want.result, &want.signer, &want.time)
            );
        }
    }
}
