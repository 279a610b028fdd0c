//! VEX ingest against the 35 real sample documents (docs/vex-ingest.md, docs/vex-model.md).
//!
//! Expected tuples: `tests/data/vex_expected.json`, written from MAPPING.md; cross-checked with
//! the corpus' own `EXPECTED.json` where it holds the same information. Samples are read from
//! `tests/data/vex/` in the repository; their sources and licences are listed in its README.md
//! and SOURCES.md.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use evl_sdk::vex::Statement;
use evl_sdk::{Node, jcs, sha256};
use evl_vex::{self as vex, FindingCode, Ingested};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

fn samples() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/data/vex"))
}

fn expected() -> Value {
    let raw = include_str!("data/vex_expected.json");
    serde_json::from_str(raw).unwrap()
}

fn ingest_file(rel: &str) -> (Vec<u8>, Ingested) {
    let raw = std::fs::read(samples().join(rel)).unwrap();
    let ing = vex::ingest(&raw).unwrap_or_else(|e| panic!("{rel}: {e}"));
    (raw, ing)
}

fn values(ing: &Ingested) -> Vec<Value> {
    ing.statements().iter().map(Node::value).collect()
}

fn anonymous(ing: &Ingested) -> String {
    format!("anonymous:{}", ing.blob().id())
}

/// The expected-data spelling of one statement.
fn tuple(s: &Value, with_subs: bool, anon: &str) -> Value {
    let codes: BTreeSet<&str> = s["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap())
        .collect();
    let mut t = json!({
        "vuln_id": s["vuln_id"],
        "product_key": s["product_key"].as_str().map(|k| k.replace(anon, "{anonymous}")),
        "status": s["status"],
        "justification": s["justification"],
        "findings": codes,
    });
    if with_subs {
        t["subcomponent_keys"] = s["subcomponent_keys"].clone();
    }
    t
}

fn sorted_json(v: impl IntoIterator<Item = Value>) -> Vec<String> {
    let mut v: Vec<String> = v.into_iter().map(|x| x.to_string()).collect();
    v.sort();
    v
}

#[test]
fn every_sample_is_covered_by_expected_data() {
    let exp = expected();
    let listed: BTreeSet<String> = exp["documents"].as_object().unwrap().keys().cloned().collect();
    let mut found = BTreeSet::new();
    for fmt in ["openvex", "csaf", "cyclonedx"] {
        for e in std::fs::read_dir(samples().join(fmt)).unwrap() {
            found.insert(format!("{fmt}/{}", e.unwrap().file_name().to_string_lossy()));
        }
    }
    assert_eq!(listed, found);
    assert_eq!(found.len(), 35);
}

#[test]
fn samples_match_expected_tuples() {
    let exp = expected();
    for (file, e) in exp["documents"].as_object().unwrap() {
        let (_, ing) = ingest_file(file);
        let anon = anonymous(&ing);
        let stmts = values(&ing);
        assert_eq!(ing.format().as_str(), e["format"], "{file}");
        assert_eq!(ing.format_version(), e["format_version"], "{file}");
        let issuer = e["issuer_id"].as_str().unwrap().replace("{anonymous}", &anon);
        for s in &stmts {
            assert_eq!(s["issuer_id"], issuer.as_str(), "{file}");
        }
        let doc_codes: BTreeSet<&str> = ing.findings().iter().map(|f| f.code().as_str()).collect();
        let want: BTreeSet<&str> = e["document_findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap())
            .collect();
        assert_eq!(doc_codes, want, "{file}: document findings {:#?}", ing.findings());
        if let Some(want) = e.get("statements") {
            let want = want.as_array().unwrap();
            let with_subs = want.iter().any(|t| t.get("subcomponent_keys").is_some());
            let got = sorted_json(stmts.iter().map(|s| tuple(s, with_subs, &anon)));
            let want: Vec<Value> = want
                .iter()
                .map(|t| {
                    let mut t = t.clone();
                    if with_subs && t.get("subcomponent_keys").is_none() {
                        t["subcomponent_keys"] = json!([]);
                    }
                    t
                })
                .collect();
            assert_eq!(got, sorted_json(want), "{file}");
        } else {
            assert_eq!(
                stmts.len() as u64,
                e["statement_count"].as_u64().unwrap(),
                "{file}"
            );
            let mut status = BTreeMap::<String, u64>::new();
            let mut just = BTreeMap::<String, u64>::new();
            for s in &stmts {
                *status.entry(s["status"].as_str().unwrap().into()).or_default() += 1;
                *just
                    .entry(s["justification"].as_str().unwrap_or("null").into())
                    .or_default() += 1;
            }
            assert_eq!(json!(status), e["status_counts"], "{file}");
            assert_eq!(json!(just), e["justification_counts"], "{file}");
            let got: BTreeSet<String> = stmts.iter().map(|s| tuple(s, true, &anon).to_string()).collect();
            for t in e["includes"].as_array().unwrap() {
                let mut t = t.clone();
                if t.get("subcomponent_keys").is_none() {
                    t["subcomponent_keys"] = json!([]);
                }
                assert!(got.contains(&t.to_string()), "{file}: missing {t}");
            }
        }
        if let Some(want) = e.get("distinct_impact_statements") {
            let got: BTreeSet<&str> = stmts
                .iter()
                .filter_map(|s| s["impact_statement"].as_str())
                .collect();
            assert_eq!(json!(got), *want, "{file}");
        }
    }
}

/// Cross-check with the corpus' reference data (EXPECTED.json, "not authoritative") where
/// vex_expected.json does not declare a deliberate difference.
#[test]
fn samples_agree_with_corpus_expected_json() {
    let exp = expected();
    let corpus: Value =
        serde_json::from_slice(&std::fs::read(samples().join("EXPECTED.json")).unwrap()).unwrap();
    for (file, e) in exp["documents"].as_object().unwrap() {
        if e.get("differs_from_expected_json").is_some() {
            continue;
        }
        let c = &corpus["documents"][file];
        let (_, ing) = ingest_file(file);
        let stmts = values(&ing);
        let mut status = BTreeMap::<String, u64>::new();
        let mut just = BTreeMap::<String, u64>::new();
        for s in &stmts {
            *status.entry(s["status"].as_str().unwrap().into()).or_default() += 1;
            *just
                .entry(s["justification"].as_str().unwrap_or("None").into())
                .or_default() += 1;
        }
        assert_eq!(json!(status), c["normalized_tuple_counts"], "{file}");
        let want_just: BTreeMap<String, u64> = match c.get("justification_counts") {
            Some(j) => serde_json::from_value(j.clone()).unwrap(),
            None => {
                let mut m = BTreeMap::new();
                for t in c["normalized_tuples"].as_array().unwrap() {
                    // "AMBIGUOUS:a,b" (6.1.33) is a null justification with a finding here.
                    let j = match t["justification"].as_str() {
                        Some(j) if !j.starts_with("AMBIGUOUS:") => j.to_string(),
                        _ => "None".to_string(),
                    };
                    *m.entry(j).or_default() += 1;
                }
                m
            }
        };
        assert_eq!(just, want_just, "{file}");
        if let Some(claimed) = c["issuer_claimed"].as_str() {
            for s in &stmts {
                assert_eq!(s["issuer_claimed"], claimed, "{file}");
            }
        }
        // Every reference vulnerability id is the canonical id or an alias of some statement.
        let ids: BTreeSet<&str> = stmts
            .iter()
            .flat_map(|s| std::iter::once(&s["vuln_id"]).chain(s["vuln_aliases"].as_array().unwrap()))
            .filter_map(Value::as_str)
            .collect();
        for v in c["vulnerabilities"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
        {
            assert!(ids.contains(v), "{file}: {v} not among {ids:?}");
        }
    }
}

const MEMBERS: &[&str] = &[
    "type",
    "vuln_id",
    "vuln_aliases",
    "product_key",
    "product_identifiers",
    "subcomponent_keys",
    "status",
    "justification",
    "source_status",
    "source_justification",
    "impact_statement",
    "action_statement",
    "remediation_categories",
    "timestamp",
    "timestamp_source",
    "issuer_id",
    "issuer_claimed",
    "signature",
    "doc_id",
    "doc_version",
    "statement_version",
    "position",
    "format",
    "format_version",
    "source_pointer",
    "source_doc",
    "lossy",
    "statement_digest",
    "findings",
    "links",
];

fn is_sorted_strings(v: &Value) -> bool {
    let a: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap())
        .collect();
    a.windows(2).all(|w| w[0] < w[1])
}

fn is_utc_nanos(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 30
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':'
        && b[19] == b'.'
        && b[29] == b'Z'
        && b.iter()
            .enumerate()
            .all(|(i, c)| [4, 7, 10, 13, 16, 19, 29].contains(&i) || c.is_ascii_digit())
}

/// Every statement node has exactly the docs/vex-model.md members with the right types, a
/// digest that recomputes, sorted arrays and a source link to the blob.
#[test]
fn statement_nodes_follow_the_model() {
    let exp = expected();
    for file in exp["documents"].as_object().unwrap().keys() {
        let (raw, ing) = ingest_file(file);
        let blob = ing.blob().id().to_string();
        let doc: Value = serde_json::from_slice(&raw).unwrap();
        for (node, s) in ing.statements().iter().zip(values(&ing)) {
            assert_eq!(node.node_type(), vex::STATEMENT_TYPE);
            // The consensus side's strict parser (SPEC.md §14.2) accepts every statement.
            let parsed = Statement::from_node(node).unwrap_or_else(|e| panic!("{file}: {e}"));
            assert_eq!(parsed.source_doc(), ing.blob().id());
            let m = s.as_object().unwrap();
            let keys: BTreeSet<&str> = m.keys().map(String::as_str).collect();
            assert_eq!(keys, MEMBERS.iter().copied().collect::<BTreeSet<_>>(), "{file}");
            let mut body = m.clone();
            for k in ["statement_digest", "findings", "links"] {
                body.remove(k);
            }
            let digest = sha256(&jcs::serialize(&Value::Object(body)).unwrap()).to_hex();
            assert_eq!(s["statement_digest"], digest.as_str(), "{file}");
            assert_eq!(s["source_doc"], blob.as_str());
            assert_eq!(s["links"], json!([{"rel": "source", "id": blob}]));
            assert_eq!(node.links().len(), 1);
            assert_eq!(s["signature"], "absent");
            assert_eq!(s["format"], ing.format().as_str());
            for k in [
                "vuln_aliases",
                "subcomponent_keys",
                "remediation_categories",
                "lossy",
            ] {
                assert!(
                    is_sorted_strings(&s[k]),
                    "{file}: {k} not sorted/unique: {}",
                    s[k]
                );
            }
            assert!(!s["vuln_aliases"].as_array().unwrap().contains(&s["vuln_id"]));
            let findings = s["findings"].as_array().unwrap();
            let order: Vec<(String, String)> = findings
                .iter()
                .map(|f| {
                    (
                        f["pointer"].as_str().unwrap().into(),
                        f["code"].as_str().unwrap().into(),
                    )
                })
                .collect();
            assert!(
                order.windows(2).all(|w| w[0] <= w[1]),
                "{file}: findings not sorted"
            );
            for f in findings {
                let code = f["code"].as_str().unwrap();
                assert!(FindingCode::ALL.iter().any(|c| c.as_str() == code), "{code}");
                assert!(
                    doc.pointer(f["pointer"].as_str().unwrap()).is_some(),
                    "{file}: dangling {f}"
                );
            }
            let ptr = s["source_pointer"].as_str().unwrap();
            assert!(doc.pointer(ptr).is_some(), "{file}: source_pointer {ptr} dangles");
            match s["timestamp"].as_str() {
                Some(t) => {
                    assert!(is_utc_nanos(t), "{file}: {t}");
                    assert_ne!(s["timestamp_source"], "none");
                }
                None => assert_eq!(s["timestamp_source"], "none"),
            }
            assert!(s["position"].as_u64().is_some());
            assert!(!s["issuer_id"].as_str().unwrap().is_empty());
            assert!(s["product_identifiers"].is_object());
            if s["status"] != "not_affected" {
                assert!(s["justification"].is_null(), "{file}");
            }
        }
        // A finding about a missing member points at where it belongs: its parent exists.
        for f in ing.findings() {
            let parent = f.pointer().rsplit_once('/').map_or("", |(p, _)| p);
            assert!(
                doc.pointer(parent).is_some(),
                "{file}: dangling document finding {f:?}"
            );
        }
    }
}

#[test]
fn blob_is_what_evl_append_as_blob_makes() {
    let raw = std::fs::read(samples().join("openvex/vexctl__document1.vex.json")).unwrap();
    let ing = vex::ingest(&raw).unwrap();
    // server/src/cmd/append.rs builds this exact object and appends it as JSON.
    let cli = serde_json::to_vec(&json!({
        "type": "blob/v1",
        "media_type": "application/json",
        "data": std::str::from_utf8(&raw).unwrap(),
    }))
    .unwrap();
    let node = Node::from_json(&cli).unwrap();
    assert_eq!(ing.blob().id(), node.id());
    assert_eq!(ing.blob().value()["data"], std::str::from_utf8(&raw).unwrap());
}

#[test]
fn ingest_is_deterministic() {
    for file in [
        "csaf/redhat__cve-2023-4154.json",
        "openvex/vexhub__k3s-io__kine__scan.openvex.json",
    ] {
        let (raw, a) = ingest_file(file);
        let b = vex::ingest(&raw).unwrap();
        let ids = |i: &Ingested| i.statements().iter().map(Node::id).collect::<Vec<_>>();
        assert_eq!(ids(&a), ids(&b));
        assert_eq!(a.findings(), b.findings());
    }
}

/// Timestamps and their sources on a few samples (9-digit fractions, offsets, inheritance).
#[test]
fn timestamps_are_normalized() {
    for (file, ts, source) in [
        (
            "openvex/vexctl__document1.vex.json",
            Some("2023-12-05T05:04:34.779299220Z"),
            "statement",
        ),
        (
            "openvex/go-vex__v0.0.1-legacy.json",
            Some("2023-01-09T00:02:03.647787998Z"),
            "inherited",
        ),
        (
            "openvex/trivy__trivy.openvex.json",
            Some("2024-07-09T07:38:00.115697000Z"),
            "inherited",
        ),
        (
            "csaf/redhat__cve-2024-24786-simple.json",
            Some("2025-08-13T15:14:45.000000000Z"),
            "document",
        ),
        (
            "csaf/trivy__csaf-relationships.json",
            Some("2024-01-04T16:17:25.000000000Z"),
            "document",
        ),
        (
            "cyclonedx/cdx-spec__valid-vulnerability-1.6.json",
            Some("2022-02-01T00:00:00.000000000Z"),
            "statement",
        ),
        (
            "cyclonedx/bom-examples__case7__no-affects.json",
            Some("2020-04-13T20:20:39.000000000Z"),
            "inherited",
        ),
        ("cyclonedx/bom-examples__case13__bomlink.json", None, "none"),
    ] {
        let (_, ing) = ingest_file(file);
        let s = &values(&ing)[0];
        assert_eq!(s["timestamp"].as_str(), ts, "{file}");
        assert_eq!(s["timestamp_source"], source, "{file}");
    }
    // Intra-document history (G3): the second statement inherits the later document time.
    let (_, ing) = ingest_file("openvex/trivy__openvex-multiple.json");
    let v = values(&ing);
    assert_eq!(v[0]["timestamp"], "2023-01-15T07:02:03.853479631Z");
    assert_eq!(
        (v[1]["timestamp"].as_str(), v[1]["timestamp_source"].as_str()),
        (Some("2023-01-17T01:07:16.853479631Z"), Some("inherited"))
    );
}

#[test]
fn non_vex_and_bad_json_are_errors_with_stable_codes() {
    for (raw, code) in [
        (&br#"{"hello":1}"#[..], "NOT_VEX"),
        (br#"[]"#, "NOT_VEX"),
        (br#""x""#, "NOT_VEX"),
        (br#"{"bomFormat":"CycloneDX","specVersion":"1.6","version":1,"components":[{"name":"x"}]}"#, "NOT_VEX"),
        (br#"{"bomFormat":"CycloneDX","specVersion":"1.6","vulnerabilities":[]}"#, "NOT_VEX"),
        (br#"{"document":{"category":"csaf_security_advisory","csaf_version":"2.0"},"vulnerabilities":[{"cve":"CVE-2024-1"}]}"#, "NOT_VEX"),
        (br#"{"@context":"https://example.com/ns","statements":[]}"#, "NOT_VEX"),
        (br#"{"@context": "#, "JSON_SYNTAX"),
        (br#"{"a":1,"a":2}"#, "DUPLICATE_KEY"),
        (b"{\"a\":\"\xff\"}", "INVALID_UTF8"),
        (br#"{"n":1e400}"#, "NUMBER_OUT_OF_RANGE"),
    ] {
        let e = vex::ingest(raw).expect_err(&String::from_utf8_lossy(raw));
        assert_eq!(e.code(), code, "{}", String::from_utf8_lossy(raw));
    }
}

fn one(doc: Value) -> (Ingested, Vec<Value>) {
    let ing = vex::ingest(doc.to_string().as_bytes()).unwrap();
    let v = values(&ing);
    (ing, v)
}

fn codes(s: &Value) -> Vec<&str> {
    s["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap())
        .collect()
}

fn csaf(statuses: Value, extra: Value) -> Value {
    let mut v = json!({
        "document": {"category": "csaf_vex", "csaf_version": "2.0",
            "publisher": {"category": "vendor", "name": "ACME PSIRT", "namespace": "https://www.ACME.example/"},
            "tracking": {"id": "ACME-1", "version": "2", "current_release_date": "2024-05-01T12:00:00+02:00"}},
        "product_tree": {"full_product_names": [
            {"product_id": "P1", "name": "ACME Widget 1.0", "product_identification_helper": {"purl": "pkg:npm/Widget@1.0"}},
            {"product_id": "P2", "name": "ACME Gadget 2.0"}]},
        "vulnerabilities": [{"cve": "CVE-2024-0001", "product_status": statuses}]
    });
    if let (Some(t), Some(e)) = (v["vulnerabilities"][0].as_object_mut(), extra.as_object()) {
        t.extend(e.clone());
    }
    v
}

#[test]
fn csaf_recommended_alone_is_a_lossy_fixed() {
    let (_, s) = one(csaf(
        json!({"recommended": ["P1"], "fixed": ["P2"], "first_affected": ["P2"]}),
        json!({}),
    ));
    assert_eq!(s.len(), 3);
    let p1 = s
        .iter()
        .find(|x| x["product_key"] == "pkg:npm/widget@1.0")
        .unwrap();
    assert_eq!(
        (p1["status"].as_str(), p1["source_status"].as_str()),
        (Some("fixed"), Some("recommended"))
    );
    assert_eq!(p1["lossy"], json!(["csaf_recommended_as_fixed"]));
    assert_eq!(p1["issuer_id"], "acme.example");
    assert_eq!(p1["timestamp"], "2024-05-01T10:00:00.000000000Z");
    // P2 is fixed and first_affected: two statuses, both kept, each flagged (CSAF 6.1.6).
    let p2: Vec<&Value> = s
        .iter()
        .filter(|x| x["product_key"] == "name:acme.example/ACME Gadget 2.0")
        .collect();
    assert_eq!(p2.len(), 2);
    for x in p2 {
        assert!(codes(x).contains(&"contradicting_product_status"), "{x}");
    }
}

#[test]
fn csaf_flags_threats_and_remediations_cover_through_groups() {
    let doc = csaf(
        json!({"known_not_affected": ["P1", "P2"]}),
        json!({
            "flags": [{"label": "vulnerable_code_not_present", "group_ids": ["G1"]}, {"label": "made_up", "product_ids": ["P2"]}],
            "threats": [{"category": "impact", "details": "Important", "product_ids": ["P1", "P2"]}],
            "remediations": [{"category": "workaround", "details": "Disable it.", "group_ids": ["G1", "G404"]}]
        }),
    );
    let mut doc = doc;
    doc["product_tree"]["product_groups"] = json!([{"group_id": "G1", "product_ids": ["P1"]}]);
    let (ing, s) = one(doc);
    let p1 = &s[0];
    assert_eq!(p1["justification"], "vulnerable_code_not_present");
    assert_eq!(
        p1["impact_statement"],
        Value::Null,
        "severity threat is not an impact statement under a flag"
    );
    assert_eq!(p1["action_statement"], "workaround: Disable it.");
    assert_eq!(p1["remediation_categories"], json!(["workaround"]));
    // P2: only an invalid flag covers it; the threat is its impact statement... but a flag
    // (even an invalid one) covers it, so no impact statement and a finding instead.
    let p2 = &s[1];
    assert_eq!(p2["justification"], Value::Null);
    assert!(codes(p2).contains(&"not_affected_without_justification"));
    let doc_codes: Vec<&str> = ing.findings().iter().map(|f| f.code().as_str()).collect();
    assert!(doc_codes.contains(&"csaf_flag_label_invalid"));
    assert!(doc_codes.contains(&"csaf_unknown_group_id"));
}

#[test]
fn csaf_unknown_products_and_statuses_are_skipped_with_findings() {
    let (ing, s) = one(csaf(
        json!({"known_affected": ["P404", "P1", "P1"], "unknown": ["P2"]}),
        json!({}),
    ));
    assert_eq!(s.len(), 1);
    let doc_codes: BTreeSet<&str> = ing.findings().iter().map(|f| f.code().as_str()).collect();
    for c in [
        "csaf_unknown_product_id",
        "status_invalid",
        "duplicate_product_reference",
    ] {
        assert!(doc_codes.contains(c), "{c} in {doc_codes:?}");
    }
}

fn cdx(vuln: Value) -> Value {
    json!({"bomFormat": "CycloneDX", "specVersion": "1.6", "serialNumber": "urn:uuid:1", "version": 3,
        "metadata": {"timestamp": "2024-01-01T00:00:00Z", "manufacturer": {"name": "ACME, Inc.", "url": ["https://acme.example"]},
            "component": {"bom-ref": "app", "name": "app", "version": "1.0", "purl": "pkg:generic/acme/app@1.0"}},
        "components": [{"bom-ref": "lib", "name": "lib", "purl": "pkg:PyPI/Some_Lib@2.0"}],
        "vulnerabilities": [vuln]})
}

#[test]
fn cyclonedx_lossy_mappings() {
    let (_, s) = one(cdx(
        json!({"id": "GHSA-AAAA-bbbb-cccc", "references": [{"id": "cve-2024-0002"}],
        "analysis": {"state": "false_positive", "justification": "code_not_present"}, "affects": [{"ref": "lib"}]}),
    ));
    let x = &s[0];
    assert_eq!(
        (x["vuln_id"].as_str(), x["vuln_aliases"].clone()),
        (Some("CVE-2024-0002"), json!(["GHSA-aaaa-bbbb-cccc"]))
    );
    assert_eq!(
        (x["status"].as_str(), x["justification"].clone()),
        (Some("not_affected"), Value::Null)
    );
    assert_eq!(x["lossy"], json!(["cdx_false_positive"]));
    assert_eq!(x["source_justification"], "code_not_present");
    // ref ≠ metadata.component: the main component is the product, the ref a subcomponent.
    assert_eq!(x["product_key"], "pkg:generic/acme/app@1.0");
    assert_eq!(x["subcomponent_keys"], json!(["pkg:pypi/some-lib@2.0"]));
    assert_eq!(x["issuer_id"], "acme-inc");
    assert_eq!(x["doc_version"], "3");

    let (_, s) = one(cdx(
        json!({"id": "CVE-2024-0003", "analysis": {"state": "not_affected",
        "justification": "protected_at_perimeter", "response": ["can_not_fix", "workaround_available"],
        "lastUpdated": "2024-02-01T00:00:00.5+01:00"}, "workaround": "Block port 80.",
        "affects": [{"ref": "app", "versions": [{"version": "1.0", "status": "affected"}]}]}),
    ));
    let x = &s[0];
    assert_eq!(x["justification"], "inline_mitigations_already_exist");
    assert_eq!(x["lossy"], json!(["cdx_justification_many_to_one"]));
    assert_eq!(
        x["remediation_categories"],
        json!(["no_fix_planned", "workaround"])
    );
    assert_eq!(
        x["action_statement"],
        "response: can_not_fix\nresponse: workaround_available\nworkaround: Block port 80."
    );
    assert_eq!(x["timestamp"], "2024-01-31T23:00:00.500000000Z");
    assert_eq!(x["subcomponent_keys"], json!([]));
    assert_eq!(codes(x), ["range_status_mismatch", "cdx_perimeter_not_inline"]);

    let (ing, s) = one(cdx(
        json!({"id": "CVE-2024-0004", "analysis": {"state": "resolved_with_pedigree"}, "affects": [{"ref": "nowhere"}]}),
    ));
    assert_eq!(
        (s[0]["status"].as_str(), s[0]["lossy"].clone()),
        (Some("fixed"), json!(["cdx_resolved_with_pedigree"]))
    );
    assert!(codes(&s[0]).contains(&"cdx_ref_unresolved"));
    assert_eq!(s[0]["subcomponent_keys"], json!(["name:acme-inc/nowhere"]));
    assert!(ing.findings().is_empty());
}

#[test]
fn cyclonedx_vdr_entries_invent_no_status() {
    let (ing, s) = one(cdx(json!({"id": "CVE-2024-0005", "affects": [{"ref": "lib"}]})));
    assert!(s.is_empty());
    assert_eq!(ing.findings()[0].code(), FindingCode::CdxNoAnalysisState);
}

#[test]
fn openvex_unparseable_entries_are_skipped_with_findings() {
    let (ing, s) = one(
        json!({"@context": "https://openvex.dev/ns/v0.2.0", "@id": "x", "author": "A", "version": 1,
        "timestamp": "2024-01-01T00:00:00Z",
        "statements": [
            {"vulnerability": {"@id": "https://example.com/v/1"}, "products": [{"@id": "pkg:npm/a@1"}], "status": "fixed"},
            {"vulnerability": {"name": "CVE-2024-0006"}, "products": [{"@id": "pkg:npm/a@1"}], "status": "maybe"},
            "junk",
            {"vulnerability": {"name": "CVE-2024-0007"}, "products": [{}, {"@id": "pkg:npm/b@1", "hashes": {"sha-256": "AB"}}],
             "status": "not_affected", "justification": "because", "impact_statement": "n/a"},
            {"vulnerability": {"name": "CVE-2024-0008"}, "products": [{"identifiers": {"cpe23": "cpe:2.3:a:X:y:1:*:*:*:*:*:*:*"}},
             {"@id": "pkg:%zz/broken", "hashes": {"SHA-256": "CD"}}, {"@id": "urn:example:thing"}], "status": "affected",
             "justification": "component_not_present", "action_statement": "update"}
        ]}),
    );
    let doc_codes: Vec<&str> = ing.findings().iter().map(|f| f.code().as_str()).collect();
    assert_eq!(
        doc_codes,
        [
            "vuln_id_missing",
            "status_invalid",
            "entry_malformed",
            "product_unidentified"
        ]
    );
    let keys: Vec<&str> = s.iter().map(|x| x["product_key"].as_str().unwrap()).collect();
    assert_eq!(
        keys,
        [
            "pkg:npm/b@1",
            "cpe:2.3:a:x:y:1:*:*:*:*:*:*:*",
            "hash:sha256:cd",
            "name:a/urn:example:thing"
        ]
    );
    assert_eq!(codes(&s[0]), ["justification_invalid"]);
    assert_eq!(s[0]["source_justification"], "because");
    assert_eq!(codes(&s[1]), ["justification_without_not_affected"]);
    assert_eq!(
        codes(&s[2]),
        ["justification_without_not_affected", "purl_invalid"]
    );
}

/// SPEC.md §14.2 limits: an over-long product key cannot be stored (statement skipped with a
/// document finding); over-long text is truncated on a char boundary with a finding.
#[test]
fn size_limits_become_findings() {
    let long_id = format!("urn:example:{}", "x".repeat(2000));
    let long_text = "é".repeat(40_000);
    let (ing, s) = one(
        json!({"@context": "https://openvex.dev/ns/v0.2.0", "@id": "x", "author": "A", "version": 1,
        "timestamp": "2024-01-01T00:00:00Z",
        "statements": [{"vulnerability": {"name": "CVE-2024-0009"}, "products": [{"@id": long_id}, {"@id": "pkg:npm/a@1"}],
            "status": "not_affected", "impact_statement": long_text}]}),
    );
    assert_eq!(s.len(), 1);
    assert_eq!(ing.findings()[0].code(), FindingCode::IdTooLong);
    let text = s[0]["impact_statement"].as_str().unwrap();
    assert!(text.len() <= 64 * 1024 && text.len() > 64 * 1024 - 2);
    assert_eq!(codes(&s[0]), ["text_truncated"]);
}

/// Structural mutations of the small samples (a member or element replaced by null or another
/// JSON value) are ingested or rejected, never a panic, and whatever is produced still
/// parses as statements on the consensus side.
#[test]
fn mutated_documents_never_panic() {
    const MUTATIONS: usize = 40;
    fn count(v: &Value) -> usize {
        1 + match v {
            Value::Array(a) => a.iter().map(count).sum(),
            Value::Object(m) => m.values().map(count).sum(),
            _ => 0,
        }
    }
    /// Replaces the `target`-th node below the root (pre-order) with `with`, or null.
    fn mutate(v: &mut Value, target: &mut usize, with: &Option<Value>) -> bool {
        let children: Vec<&mut Value> = match v {
            Value::Array(a) => a.iter_mut().collect(),
            Value::Object(m) => m.values_mut().collect(),
            _ => return false,
        };
        for c in children {
            if *target == 0 {
                *c = with.clone().unwrap_or(Value::Null);
                return true;
            }
            *target -= 1;
            if mutate(c, target, with) {
                return true;
            }
        }
        false
    }
    let replacements = [
        None,
        Some(json!("")),
        Some(json!("pkg:%zz")),
        Some(json!(7)),
        Some(json!([])),
        Some(json!({})),
        Some(json!(["x", {"@id": 1}])),
        Some(json!("2023-02-30T00:00:00Z")),
        Some(json!("urn:cdx:x/1#pkg:npm/a@1")),
    ];
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let exp = expected();
    for file in exp["documents"]
        .as_object()
        .unwrap()
        .keys()
        .filter(|f| !f.contains("redhat__cve-2023"))
    {
        let raw = std::fs::read(samples().join(file)).unwrap();
        let doc: Value = serde_json::from_slice(&raw).unwrap();
        let n = count(&doc);
        for _ in 0..MUTATIONS {
            let mut m = doc.clone();
            let mut target = (next() as usize) % n.saturating_sub(1).max(1);
            let with = &replacements[(next() as usize) % replacements.len()];
            mutate(&mut m, &mut target, with);
            if let Ok(ing) = vex::ingest(m.to_string().as_bytes()) {
                for node in ing.statements() {
                    Statement::from_node(node).unwrap_or_else(|e| panic!("{file}: {e} after mutation {m}"));
                }
            }
        }
    }
}

/// Regression (found by the `vex_ingest` fuzz target): an author longer than MAX_VEX_ID_BYTES
/// produced an issuer_id the SDK's strict statement parser rejects. It is now replaced by the
/// SHA-256 of the full id, and empty or over-long remediation categories are dropped.
#[test]
fn over_long_issuer_becomes_a_hashed_id() {
    let author = "Wolfi J Inkins ".repeat(200);
    let doc = json!({
        "@context": "https://openvex.dev/ns/v0.2.0",
        "@id": "https://example.test/vex/long-author",
        "author": author,
        "timestamp": "2024-01-01T00:00:00Z",
        "version": 1,
        "statements": [{
            "vulnerability": {"name": "CVE-2024-0001"},
            "products": [{"@id": "pkg:apk/wolfi/bash@1.0.0"}],
            "status": "affected",
            "action_statement": "update"
        }]
    });
    let raw = serde_json::to_vec(&doc).unwrap();
    let ing = vex::ingest(&raw).unwrap();
    assert_eq!(ing.statements().len(), 1);
    for n in ing.statements() {
        let s = Statement::from_node(n).unwrap();
        assert!(s.issuer_id().starts_with("sha256:"), "{}", s.issuer_id());
        assert!(s.issuer_id().len() <= evl_sdk::limits::MAX_VEX_ID_BYTES);
    }
}
