//! Vector family `bundle` (SPEC.md §15): score manifests and proof bundles, positive cases and
//! one file per mutation, and how the SDK checks a case file.
//!
//! A case holds `trust_root` and either `manifest` (a `score.manifest/v1` node object: checked by
//! `ScoreManifest::from_node`) or `bundle` (a `proof.bundle/v1` node object: checked by
//! `ProofBundle::from_node`, then `TrustRoot::verify_bundle`). Node objects are canonicalized as
//! an append would (SPEC.md §3.2) before they are checked.

use crate::cases::put;
use crate::material::*;
use evl_sdk::bundle::{BUNDLE_PAYLOAD_TYPE, BundleStatement, ManifestInput, ProofBundle, ScoreManifest};
use evl_sdk::{Digest, Envelope, ErrorCode, Node, NodeId, SecretKey, TrustRoot, sha256};
use serde_json::{Value, json};
use std::collections::BTreeMap;

type Out = BTreeMap<String, Vec<u8>>;
/// A mutation of a good case.
type Mutate = fn(&mut Value);

const KIND: &str = "bundle";
const FREEZE: &str = "2026-02-28T00:00:00Z";
const SIGNED_AT: &str = "2026-03-01T00:00:00Z";

/// Runs the SDK over one case.
pub fn check(v: &Value) -> Result<(), ErrorCode> {
    let trust = TrustRoot::from_json(&serde_json::to_vec(&v["trust_root"]).unwrap_or_default())
        .map_err(|e| e.code())?;
    if let Some(m) = v.get("manifest") {
        let node = Node::from_value(m.clone()).map_err(|e| e.code())?;
        return ScoreManifest::from_node(&node).map(drop).map_err(|e| e.code());
    }
    let bytes = serde_json::to_vec(&v["bundle"]).unwrap_or_default();
    let bundle = ProofBundle::from_json(&bytes).map_err(|e| e.code())?;
    trust.verify_bundle(&bundle).map(drop).map_err(|e| e.code())
}

fn trust_json() -> Value {
    serde_json::from_slice(&trust_root().to_json()).unwrap_or(Value::Null)
}

fn manifest_case(out: &mut Out, name: &str, desc: &str, manifest: Value, error: Option<ErrorCode>) {
    put(
        out,
        KIND,
        name,
        json!({"desc": desc, "trust_root": trust_json(), "manifest": manifest}),
        error,
    );
}

fn bundle_case(out: &mut Out, name: &str, desc: &str, bundle: Value, error: Option<ErrorCode>) {
    put(
        out,
        KIND,
        name,
        json!({"desc": desc, "trust_root": trust_json(), "bundle": bundle}),
        error,
    );
}

/// Five inputs (a tree that is not a power of two): SBOM, rules, policy, two feed snapshots.
fn inputs() -> Vec<ManifestInput> {
    [
        ("sbom", "sbom", "cyclonedx sbom of example-app 1.4.2"),
        ("rules", "rules", "scoring rules 2026.02"),
        ("policy", "policy", "release policy v7"),
        ("nvd", "feed", "nvd snapshot 2026-02-28"),
        ("osv", "feed", "osv snapshot 2026-02-28"),
    ]
    .iter()
    .map(|(name, kind, content)| {
        ManifestInput::new(name, kind, sha256(content.as_bytes())).expect("fixed input")
    })
    .collect()
}

fn manifest() -> Node {
    ScoreManifest::build(inputs(), Some(ts(FREEZE))).expect("fixed manifest")
}

fn result() -> Value {
    json!({"kind": "score", "value": {"score": 73, "grade": "C", "findings": 4}})
}

fn bundle_by(k: &SecretKey) -> Value {
    ProofBundle::build(&manifest(), result(), k, ts(SIGNED_AT))
        .expect("fixed bundle")
        .value()
}

fn statement(v: &Value) -> BundleStatement {
    *ProofBundle::from_json(&serde_json::to_vec(v).unwrap_or_default())
        .expect("a bundle this generator built")
        .statement()
}

/// Replaces the attestation with `k`'s signature over `payload`, of type `payload_type`.
fn resign(v: &mut Value, payload_type: &str, payload: &[u8], k: &SecretKey) {
    let env = Envelope::sign(payload_type, payload, k);
    v["attestation"] = serde_json::from_slice(&env.to_json()).unwrap_or(Value::Null);
}

fn flip_b64(s: &str) -> String {
    let mut d = *Digest::from_base64(s).expect("a hash").as_bytes();
    d[0] ^= 1;
    Digest::from_bytes(d).to_base64()
}

fn with(v: &Value, f: impl FnOnce(&mut Value)) -> Value {
    let mut v = v.clone();
    f(&mut v);
    v
}

/// Writes the family.
pub fn all(out: &mut Out) {
    manifests(out);
    bundles(out);
}

fn manifests(out: &mut Out) {
    let good = manifest().value();
    manifest_case(out, "ok-manifest", "five inputs, freeze time", good.clone(), None);
    let one = ScoreManifest::build(inputs()[..1].to_vec(), None)
        .expect("fixed manifest")
        .value();
    manifest_case(
        out,
        "ok-manifest-one-input",
        "one input (root = its leaf hash), no freeze time",
        one,
        None,
    );
    let linked = with(&good, |v| {
        v["links"] = json!([{"rel": "sbom", "id": v["inputs"][0]["digest"]}]);
    });
    manifest_case(
        out,
        "ok-manifest-links",
        "links (SPEC.md §3.3) are allowed",
        linked,
        None,
    );

    let bad = |out: &mut Out, name: &str, desc: &str, f: &dyn Fn(&mut Value)| {
        manifest_case(out, name, desc, with(&good, f), Some(ErrorCode::BundleInvalid));
    };
    bad(out, "wrong-root", "root of other digests", &|v| {
        v["root"] = json!(sha256(b"another tree").to_base64());
    });
    bad(
        out,
        "inputs-reordered",
        "inputs 0 and 1 swapped: leaf order is significant",
        &|v| {
            if let Some(a) = v["inputs"].as_array_mut() {
                a.swap(0, 1);
            }
        },
    );
    bad(out, "root-missing", "no root member", &|v| {
        if let Some(m) = v.as_object_mut() {
            m.remove("root");
        }
    });
    bad(out, "root-short", "root is base64 of 31 bytes", &|v| {
        v["root"] = json!("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==");
    });
    bad(out, "unknown-member", "a member the schema does not have", &|v| {
        v["score"] = json!(73);
    });
    bad(
        out,
        "input-unknown-member",
        "an input with a member the schema does not have",
        &|v| v["inputs"][2]["size"] = json!(1024),
    );
    bad(
        out,
        "duplicate-input-name",
        "inputs 3 and 4 both named nvd",
        &|v| {
            v["inputs"][4]["name"] = json!("nvd");
        },
    );
    bad(out, "empty-input-name", "an input named \"\"", &|v| {
        v["inputs"][1]["name"] = json!("");
    });
    bad(out, "input-kind-missing", "an input without kind", &|v| {
        if let Some(m) = v["inputs"][1].as_object_mut() {
            m.remove("kind");
        }
    });
    bad(out, "bad-digest-uppercase", "digest in uppercase hex", &|v| {
        let d = v["inputs"][0]["digest"].as_str().unwrap_or_default().to_owned();
        v["inputs"][0]["digest"] = json!(format!("sha256:{}", d[7..].to_uppercase()));
    });
    bad(out, "bad-digest-short", "digest of 63 hex digits", &|v| {
        let d = v["inputs"][0]["digest"].as_str().unwrap_or_default().to_owned();
        v["inputs"][0]["digest"] = json!(d[..d.len() - 1].to_owned());
    });
    bad(out, "bad-digest-algorithm", "sha512: prefix", &|v| {
        let d = v["inputs"][0]["digest"].as_str().unwrap_or_default().to_owned();
        v["inputs"][0]["digest"] = json!(d.replace("sha256:", "sha512:"));
    });
    bad(out, "no-inputs", "an empty input list", &|v| {
        v["inputs"] = json!([]);
    });
    bad(
        out,
        "freeze-time-offset",
        "freeze_time with a numeric offset",
        &|v| {
            v["freeze_time"] = json!("2026-02-28T00:00:00+00:00");
        },
    );
}

fn bundles(out: &mut Out) {
    let good = bundle_by(&log_key());
    bundle_case(
        out,
        "ok-bundle",
        "five inputs, a score result, signed by the log key",
        good.clone(),
        None,
    );
    let one_manifest = ScoreManifest::build(inputs()[..1].to_vec(), None).expect("fixed manifest");
    let one = ProofBundle::build(&one_manifest, result(), &log_key(), ts(SIGNED_AT))
        .expect("fixed bundle")
        .value();
    bundle_case(
        out,
        "ok-bundle-one-input",
        "one input: its proof has no hashes",
        one,
        None,
    );
    let consensus = NodeId::from_digest(sha256(b"a vex.consensus/v1 node"));
    let vex_result = json!({"kind": "vex.consensus", "node": consensus, "value": {"status": "not_affected"}});
    let vex = ProofBundle::build(&manifest(), vex_result, &log_key(), ts(SIGNED_AT))
        .expect("fixed bundle")
        .value();
    bundle_case(
        out,
        "ok-vex-consensus",
        "a vex.consensus result naming its node",
        vex.clone(),
        None,
    );

    // Proofs: one file per flipped hash, then structural faults.
    let proofs = good["proofs"].as_array().cloned().unwrap_or_default();
    for (i, p) in proofs.iter().enumerate() {
        let h = p["hashes"][0].as_str().unwrap_or_default().to_owned();
        bundle_case(
            out,
            &format!("proof-{i}-hash-flipped"),
            &format!("first hash of input {i}'s proof with one bit flipped"),
            with(&good, |v| v["proofs"][i]["hashes"][0] = json!(flip_b64(&h))),
            Some(ErrorCode::MerkleMismatch),
        );
    }
    let malformed: &[(&str, &str, Mutate)] = &[
        (
            "proof-hash-missing",
            "input 1's proof without its last hash",
            |v| {
                if let Some(a) = v["proofs"][1]["hashes"].as_array_mut() {
                    a.pop();
                }
            },
        ),
        (
            "proof-hash-extra",
            "input 4's proof with one hash too many",
            |v| {
                let h = v["proofs"][4]["hashes"][0].clone();
                if let Some(a) = v["proofs"][4]["hashes"].as_array_mut() {
                    a.push(h);
                }
            },
        ),
        ("proof-wrong-tree-size", "input 2's proof for a tree of 6", |v| {
            v["proofs"][2]["tree_size"] = json!(6);
        }),
        ("proof-wrong-leaf-index", "input 2's proof claims index 3", |v| {
            v["proofs"][2]["leaf_index"] = json!(3);
        }),
        ("proof-hash-not-base64", "a proof hash that is not base64", |v| {
            v["proofs"][0]["hashes"][0] = json!("not base64!");
        }),
        (
            "proof-unknown-member",
            "a proof member §4.3 does not have",
            |v| {
                v["proofs"][0]["root"] = json!("");
            },
        ),
    ];
    for (name, desc, f) in malformed {
        bundle_case(out, name, desc, with(&good, *f), Some(ErrorCode::ProofMalformed));
    }

    // Attestation: key selection (SPEC.md §8.2) at the statement's time.
    let alt = with(&good, |v| {
        let s = v["attestation"]["signatures"][0]["sig"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let first = if s.starts_with('A') { "B" } else { "A" };
        v["attestation"]["signatures"][0]["sig"] = json!(format!("{first}{}", &s[1..]));
    });
    bundle_case(
        out,
        "signature-altered",
        "first base64 character of the signature changed",
        alt,
        Some(ErrorCode::SignatureInvalid),
    );
    let keyed: [(&str, &str, SecretKey, ErrorCode); 3] = [
        (
            "unknown-key",
            "signed by a key the trust root does not hold",
            stranger_key(),
            ErrorCode::KeyUnknown,
        ),
        (
            "expired-key",
            "signed by a key valid only in 2025; the statement is dated 2026-03-01",
            old_key(),
            ErrorCode::KeyExpired,
        ),
        (
            "revoked-key",
            "signed by a revoked key",
            revoked_key(),
            ErrorCode::KeyRevoked,
        ),
    ];
    for (name, desc, k, code) in keyed {
        bundle_case(out, name, desc, bundle_by(&k), Some(code));
    }
    let s = statement(&good);
    bundle_case(
        out,
        "payload-type-anchor",
        "a correct statement signed as an anchor payload type",
        with(&good, |v| {
            resign(v, evl_sdk::dsse::ANCHOR_PAYLOAD_TYPE, &s.to_bytes(), &log_key())
        }),
        Some(ErrorCode::EnvelopeMalformed),
    );

    // Statements, validly signed, that do not match the bundle.
    let signed = |st: &BundleStatement| {
        with(&good, |v| {
            resign(v, BUNDLE_PAYLOAD_TYPE, &st.to_bytes(), &log_key())
        })
    };
    let mut x = s;
    x.manifest = NodeId::from_digest(sha256(b"another manifest"));
    bundle_case(
        out,
        "statement-manifest-mismatch",
        "the statement names another manifest",
        signed(&x),
        Some(ErrorCode::BundleInvalid),
    );
    let mut x = s;
    x.root = sha256(b"another root");
    bundle_case(
        out,
        "statement-root-mismatch",
        "the statement names another root",
        signed(&x),
        Some(ErrorCode::BundleInvalid),
    );
    let mut x = s;
    x.result = sha256(br#"{"kind":"score","value":100}"#);
    bundle_case(
        out,
        "statement-result-mismatch",
        "the statement names another result hash",
        signed(&x),
        Some(ErrorCode::BundleInvalid),
    );
    let mut x = s;
    x.time = ts("2026-02-27T23:59:59Z");
    bundle_case(
        out,
        "statement-before-freeze",
        "the statement is dated before the manifest's freeze_time",
        signed(&x),
        Some(ErrorCode::BundleInvalid),
    );
    let text = String::from_utf8(s.to_bytes()).unwrap_or_default();
    bundle_case(
        out,
        "statement-noncanonical",
        "the statement payload with a space after each colon",
        with(&good, |v| {
            resign(
                v,
                BUNDLE_PAYLOAD_TYPE,
                text.replace("\":", "\": ").as_bytes(),
                &log_key(),
            )
        }),
        Some(ErrorCode::BundleInvalid),
    );
    bundle_case(
        out,
        "result-changed",
        "the result value changed after signing",
        with(&good, |v| v["result"]["value"]["score"] = json!(100)),
        Some(ErrorCode::BundleInvalid),
    );

    // Schema.
    let schema: &[(&str, &str, Mutate)] = &[
        (
            "bundle-unknown-member",
            "a bundle member the schema does not have",
            |v| {
                v["score"] = json!(73);
            },
        ),
        (
            "proof-name-mismatch",
            "input 1's proof named after input 0",
            |v| {
                v["proofs"][1]["name"] = json!("sbom");
            },
        ),
        ("proofs-one-missing", "four proofs for five inputs", |v| {
            if let Some(a) = v["proofs"].as_array_mut() {
                a.pop();
            }
        }),
        (
            "embedded-manifest-wrong-root",
            "the embedded manifest's root changed",
            |v| {
                v["manifest"]["root"] = json!(sha256(b"another tree").to_base64());
            },
        ),
        (
            "result-unknown-member",
            "a result member the schema does not have",
            |v| {
                v["result"]["unit"] = json!("points");
            },
        ),
        ("attestation-missing", "no attestation", |v| {
            if let Some(m) = v.as_object_mut() {
                m.remove("attestation");
            }
        }),
    ];
    for (name, desc, f) in schema {
        bundle_case(out, name, desc, with(&good, *f), Some(ErrorCode::BundleInvalid));
    }
    bundle_case(
        out,
        "vex-consensus-without-node",
        "a vex.consensus result that names no node",
        with(&vex, |v| {
            if let Some(m) = v["result"].as_object_mut() {
                m.remove("node");
            }
        }),
        Some(ErrorCode::BundleInvalid),
    );
}
