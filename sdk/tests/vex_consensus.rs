//! VEX consensus `vex-consensus/1` (SPEC.md §14): the worked examples of
//! `tests/data/vex/CONSENSUS.md` (D, and E built by hand from the G2/G3/G4 sample groups),
//! the freshness table, threshold boundaries, every mode, replay, and property tests
//! (permutation invariance, duplicate insensitivity, Lattice monotonicity, replay of every
//! computed node and rejection of every one-field mutation).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use evl_sdk::vex::{
    self, ConflictKind, ConsensusResult, GroupKey, IssuerRegistry, Justification, Mode, Policy, Statement,
    Status, VexError,
};
use evl_sdk::{ErrorCode, Node, NodeId, Timestamp, TreeHead, TreeSize, sha256};
use proptest::prelude::*;
use serde_json::{Value, json};

const VULN: &str = "CVE-2024-0001";
const PRODUCT: &str = "pkg:apk/wolfi/bash@1.0.0";
const AS_OF: &str = "2026-01-01T00:00:00Z";

fn as_of() -> Timestamp {
    Timestamp::parse(AS_OF).unwrap()
}

/// `as_of` minus `secs` seconds, written with nine fraction digits.
fn before(secs: i64, nanos: u32) -> String {
    let t = Timestamp::from_unix(as_of().unix() - secs).unwrap().to_string();
    format!("{}.{nanos:09}Z", t.trim_end_matches('Z'))
}

fn days_ago(d: i64) -> String {
    before(d * 86_400, 0)
}

fn head() -> TreeHead {
    TreeHead::new(TreeSize::new(42).unwrap(), sha256(b"root"))
}

/// A hand-built statement, every member of SPEC.md §14.2.
#[derive(Clone, Debug)]
struct Spec {
    issuer: String,
    status: &'static str,
    justification: Option<&'static str>,
    time: Option<String>,
    time_source: &'static str,
    signature: &'static str,
    doc_id: Option<String>,
    doc_version: Option<String>,
    statement_version: Option<u64>,
    position: u64,
    vuln: String,
    product: Option<String>,
    subs: Vec<String>,
    impact: Option<String>,
    action: Option<String>,
    findings: Value,
}

impl Spec {
    fn new(issuer: &str, status: &'static str) -> Self {
        Self {
            issuer: issuer.into(),
            status,
            justification: None,
            time: Some(days_ago(0)),
            time_source: "statement",
            signature: "absent",
            doc_id: Some(format!("https://example.com/{issuer}/vex.json")),
            doc_version: Some("1".into()),
            statement_version: None,
            position: 0,
            vuln: VULN.into(),
            product: Some(PRODUCT.into()),
            subs: vec![],
            impact: None,
            action: None,
            findings: json!([]),
        }
    }
    fn at(mut self, t: &str) -> Self {
        self.time = Some(t.into());
        self
    }
    fn age(self, days: i64) -> Self {
        self.at(&days_ago(days))
    }
    fn undated(mut self) -> Self {
        self.time = None;
        self.time_source = "none";
        self
    }
    fn signed(mut self) -> Self {
        self.signature = "verified";
        self
    }
    fn just(mut self, j: &'static str) -> Self {
        self.justification = Some(j);
        self
    }
    fn doc(mut self, id: &str, version: Option<&str>) -> Self {
        self.doc_id = Some(id.into());
        self.doc_version = version.map(Into::into);
        self
    }

    fn value(&self) -> Value {
        let source_doc = NodeId::of_canonical(format!("{:?}{:?}", self.doc_id, self.doc_version).as_bytes());
        let mut v = json!({
            "type": "vex.statement/v1",
            "vuln_id": self.vuln,
            "vuln_aliases": [],
            "product_key": self.product,
            "product_identifiers": {"purl": self.product},
            "subcomponent_keys": self.subs,
            "status": self.status,
            "justification": self.justification,
            "source_status": self.status,
            "source_justification": self.justification,
            "impact_statement": self.impact,
            "action_statement": self.action,
            "remediation_categories": [],
            "timestamp": self.time,
            "timestamp_source": self.time_source,
            "issuer_id": self.issuer,
            "issuer_claimed": format!("{} <security@example.com>", self.issuer),
            "signature": self.signature,
            "doc_id": self.doc_id,
            "doc_version": self.doc_version,
            "statement_version": self.statement_version,
            "position": self.position,
            "format": "openvex",
            "format_version": "0.2.0",
            "source_pointer": format!("/statements/{}", self.position),
            "source_doc": source_doc.to_string(),
            "lossy": [],
            "findings": self.findings,
            "links": [{"rel": "source", "id": source_doc.to_string()}],
        });
        let d = vex::statement_digest(&v).unwrap();
        v["statement_digest"] = json!(d.to_hex());
        v
    }

    fn node(&self) -> Node {
        Node::from_value(self.value()).unwrap()
    }

    fn build(&self) -> Statement {
        Statement::from_node(&self.node()).unwrap()
    }
}

fn registry(doc: Value) -> IssuerRegistry {
    IssuerRegistry::from_node(&Node::from_value(doc).unwrap()).unwrap()
}

/// `vendor` is authoritative for apk products, `distro` trusted, `scanner` known,
/// `random` untrusted; everyone else is unknown.
fn issuers() -> IssuerRegistry {
    registry(json!({"type": "vex.issuers/v1", "issuers": [
        {"issuer_id": "distro", "tier": "trusted", "authoritative_for": [], "public_key": "k1"},
        {"issuer_id": "random", "tier": "untrusted", "authoritative_for": [], "public_key": null},
        {"issuer_id": "scanner", "tier": "known", "authoritative_for": [], "public_key": null},
        {"issuer_id": "vendor", "tier": "known", "authoritative_for": ["pkg:apk/"], "public_key": "k2"},
    ]}))
}

fn policy(extra: Value) -> Policy {
    let mut v = json!({"type": "vex.policy/v1"});
    for (k, x) in extra.as_object().unwrap() {
        v[k] = x.clone();
    }
    Policy::from_node(&Node::from_value(v).unwrap()).unwrap()
}

fn key() -> GroupKey {
    GroupKey::new(VULN, PRODUCT).unwrap()
}

fn run_with(specs: &[Spec], policy: &Policy, mode: Mode) -> ConsensusResult {
    let statements: Vec<Statement> = specs.iter().map(Spec::build).collect();
    let r = vex::consensus(&statements, policy, &issuers(), &key(), as_of(), head(), mode).unwrap();
    // Every computed node replays.
    let nodes: Vec<Node> = specs.iter().map(Spec::node).collect();
    vex::replay(r.node(), &nodes, policy.node(), issuers().node()).unwrap();
    r
}

fn run(specs: &[Spec], mode: Mode) -> ConsensusResult {
    run_with(specs, &Policy::default(), mode)
}

fn json_of(r: &ConsensusResult) -> Value {
    r.node().value()
}

fn contributor<'a>(v: &'a Value, digest: &str) -> &'a Value {
    v["contributors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["statement_digest"] == digest)
        .unwrap()
}

fn digest(s: &Spec) -> String {
    s.build().statement_digest().to_hex()
}

// ---- CONSENSUS.md worked example D ----

#[test]
fn worked_example_d_soft_conflict() {
    // Authoritative signed `fixed`, age 0: 1.0 × 1.2 × 1.05 = 1.26.
    let a = Spec::new("vendor", "fixed").signed();
    // Trusted unsigned justified `not_affected`, age 0: 0.8 × 1.1 = 0.88.
    let b = Spec::new("distro", "not_affected").just("vulnerable_code_not_in_execute_path");
    for mode in [
        Mode::WeightedVote,
        Mode::HighestWeight,
        Mode::Lattice,
        Mode::AuthoritativeFirst,
    ] {
        let r = run(&[a.clone(), b.clone()], mode);
        assert_eq!(r.status(), Some(Status::Fixed), "{mode}");
        assert_eq!(r.confidence_ppm(), 588_785, "{mode}");
        assert_eq!(r.dissent_ppm(), 411_215, "{mode}");
        assert_eq!(r.conflict(), Some(ConflictKind::Soft), "{mode}");
        let v = json_of(&r);
        assert_eq!(contributor(&v, &digest(&a))["weight_ppm"], 1_260_000);
        assert_eq!(contributor(&v, &digest(&a))["tier"], "authoritative");
        assert_eq!(contributor(&v, &digest(&b))["weight_ppm"], 880_000);
        assert_eq!(contributor(&v, &digest(&b))["tier"], "trusted");
        assert_eq!(
            v["support_ppm"],
            json!({"fixed": 1_260_000, "not_affected": 880_000, "affected": 0, "under_investigation": 0})
        );
        assert_eq!(v["conflict"]["dissenting"], json!([digest(&b)]));
        assert_eq!(v["conflict"]["kind"], "soft");
        assert_eq!(v["justification"], Value::Null);
    }
}

// ---- CONSENSUS.md worked example E, built from the sample groups ----

#[test]
fn worked_example_e_g2_vexctl_supersession() {
    // vexctl document1 (under_investigation, 05:04:34.77929922Z) and document2 (fixed,
    // 05:06:38.099731287Z), same author.
    let doc1 = Spec::new("john-doe", "under_investigation")
        .at("2023-12-05T05:04:34.779299220Z")
        .doc("https://openvex.dev/docs/public/vex-0f3be8817faafa24", Some("1"));
    let doc2 = Spec::new("john-doe", "fixed")
        .at("2023-12-05T05:06:38.099731287Z")
        .doc("https://openvex.dev/docs/public/vex-3cd938c9a706eba0", Some("1"));
    let r = run(&[doc1.clone(), doc2.clone()], Mode::WeightedVote);
    assert_eq!(r.status(), Some(Status::Fixed));
    assert_eq!(r.conflict(), None);
    let v = json_of(&r);
    assert_eq!(v["contributors"].as_array().unwrap().len(), 1);
    assert_eq!(v["contributors"][0]["statement_digest"], digest(&doc2));
    assert_eq!(
        v["ignored"],
        json!([{"statement_digest": digest(&doc1), "reason": "superseded"}])
    );
    assert_eq!(r.confidence_ppm(), 1_000_000);
    assert_eq!(v["findings"], json!([]));
}

#[test]
fn worked_example_e_g4_inspektor_gadget_one_vote() {
    let just = "vulnerable_code_not_in_execute_path";
    let older = Spec::new("inspektor-gadget", "not_affected")
        .just(just)
        .at("2025-10-29T15:15:40.478578360Z")
        .doc(
            "https://github.com/inspektor-gadget/inspektor-gadget/releases/download/v0.41.0/v0.41.0.vex.json",
            Some("2"),
        );
    let newer = Spec::new("inspektor-gadget", "not_affected")
        .just(just)
        .at("2025-11-12T12:27:14.007523636Z")
        .doc(
            "https://github.com/inspektor-gadget/inspektor-gadget/blob/main/.vex/golang.vex.json",
            Some("2"),
        );
    let r = run(&[newer.clone(), older.clone()], Mode::WeightedVote);
    let v = json_of(&r);
    assert_eq!(v["contributors"].as_array().unwrap().len(), 1);
    assert_eq!(v["contributors"][0]["statement_digest"], digest(&newer));
    assert_eq!(r.status(), Some(Status::NotAffected));
    assert_eq!(
        r.justification(),
        Some(Justification::VulnerableCodeNotInExecutePath)
    );
    assert_eq!(r.conflict(), None);
}

#[test]
fn worked_example_e_g3_inherited_time_supersedes() {
    // trivy openvex-multiple.json: affected at 2023-01-15T01:02:03.853479631-06:00, then an
    // undated not_affected that inherits the document time 2023-01-16T19:07:16.853479631-06:00.
    let affected = Spec::new("aqua-security", "affected").at("2023-01-15T07:02:03.853479631Z");
    let mut later = Spec::new("aqua-security", "not_affected")
        .just("vulnerable_code_not_in_execute_path")
        .at("2023-01-17T01:07:16.853479631Z");
    later.time_source = "inherited";
    later.position = 1;
    let r = run(&[affected.clone(), later.clone()], Mode::Lattice);
    assert_eq!(r.status(), Some(Status::NotAffected));
    let v = json_of(&r);
    assert_eq!(v["contributors"].as_array().unwrap().len(), 1);
    assert_eq!(
        v["ignored"],
        json!([{"statement_digest": digest(&affected), "reason": "superseded"}])
    );
}

#[test]
fn g1_same_issuer_tie_keeps_the_higher_rank_and_records_self_conflict() {
    // trivy repo-default / repo-high-priority: same author, @id and timestamp; not_affected vs
    // affected.
    let t = "2023-07-01T00:00:00.000000000Z";
    let na = Spec::new("aqua-security", "not_affected")
        .at(t)
        .doc("https://aquasec.com/vex/bash", None);
    let af = Spec::new("aqua-security", "affected")
        .at(t)
        .doc("https://aquasec.com/vex/bash", None);
    let r = run(&[na.clone(), af.clone()], Mode::WeightedVote);
    assert_eq!(r.status(), Some(Status::Affected));
    let v = json_of(&r);
    assert_eq!(
        v["findings"],
        json!([{"code": "issuer_self_conflict", "detail": "aqua-security"}])
    );
    assert_eq!(
        v["ignored"],
        json!([{"statement_digest": digest(&na), "reason": "issuer_self_conflict"}])
    );
}

#[test]
fn supersession_order_uses_doc_version_then_statement_version_then_position() {
    let t = &days_ago(1);
    let v9 = Spec::new("vendor", "affected").at(t).doc("d", Some("9"));
    let v10 = Spec::new("vendor", "fixed").at(t).doc("d", Some("10"));
    assert_eq!(
        run(&[v9.clone(), v10.clone()], Mode::Lattice).status(),
        Some(Status::Fixed)
    );
    let mut s1 = v9.clone();
    s1.statement_version = Some(2);
    s1.status = "not_affected";
    let mut s2 = v9.clone();
    s2.statement_version = Some(1);
    assert_eq!(
        run(&[s1.clone(), s2], Mode::Lattice).status(),
        Some(Status::NotAffected)
    );
    let mut p0 = v9.clone();
    p0.position = 0;
    let mut p1 = v9.clone();
    p1.position = 1;
    p1.status = "under_investigation";
    assert_eq!(
        run(&[p1, p0], Mode::Lattice).status(),
        Some(Status::UnderInvestigation)
    );
    // A dated statement supersedes an undated one of the same issuer.
    let undated = Spec::new("vendor", "affected").undated();
    let dated = Spec::new("vendor", "fixed").age(29);
    assert_eq!(
        run(&[undated, dated], Mode::Lattice).status(),
        Some(Status::Fixed)
    );
}

// ---- freshness (CONSENSUS.md §3 table) and the 30-day floor ----

fn fresh_at(spec: Spec) -> (u64, u64) {
    let r = run(std::slice::from_ref(&spec), Mode::WeightedVote);
    let v = json_of(&r);
    let c = contributor(&v, &digest(&spec));
    (c["age_days"].as_u64().unwrap(), c["fresh_ppm"].as_u64().unwrap())
}

#[test]
fn freshness_table() {
    for (days, fresh) in [
        (0, 1_000_000),
        (1, 983_333),
        (2, 966_667),
        (5, 916_667),
        (10, 833_333),
        (15, 750_000),
        (29, 516_667),
        (30, 500_000),
        (31, 500_000),
        (365, 500_000),
    ] {
        assert_eq!(
            fresh_at(Spec::new("distro", "affected").age(days)),
            (days as u64, fresh),
            "{days} days"
        );
    }
    // Undated: age_days = FreshnessDecayDays.
    assert_eq!(fresh_at(Spec::new("distro", "affected").undated()), (30, 500_000));
    // Dated after as_of: age 0.
    assert_eq!(fresh_at(Spec::new("distro", "affected").age(-3)), (0, 1_000_000));
}

#[test]
fn as_of_one_day_around_the_floor() {
    // Exactly 30 days minus one nanosecond is still day 29.
    assert_eq!(
        fresh_at(Spec::new("distro", "affected").at(&before(30 * 86_400 - 1, 999_999_999))),
        (29, 516_667)
    );
    assert_eq!(
        fresh_at(Spec::new("distro", "affected").at(&before(30 * 86_400, 0))),
        (30, 500_000)
    );
    // One day either side, by moving as_of instead of the statement.
    let s = Spec::new("distro", "affected")
        .at("2025-12-02T00:00:00.000000000Z")
        .build();
    let weight_at = |as_of: &str| {
        let r = vex::consensus(
            std::slice::from_ref(&s),
            &Policy::default(),
            &issuers(),
            &key(),
            Timestamp::parse(as_of).unwrap(),
            head(),
            Mode::WeightedVote,
        )
        .unwrap();
        let v = r.node().value();
        (
            v["contributors"][0]["age_days"].as_u64().unwrap(),
            v["contributors"][0]["weight_ppm"].as_u64().unwrap(),
        )
    };
    assert_eq!(weight_at("2025-12-31T00:00:00Z"), (29, 413_334)); // 0.8 × 0.516667
    assert_eq!(weight_at("2026-01-01T00:00:00Z"), (30, 400_000));
    assert_eq!(weight_at("2026-01-02T00:00:00Z"), (31, 400_000));
    assert_eq!(weight_at("2025-12-31T23:59:59Z"), (29, 413_334));
}

// ---- thresholds ----

#[test]
fn weight_threshold_is_inclusive() {
    // Untrusted, unsigned, fresh, no boost: exactly 100 000 ppm, eligible.
    let s = Spec::new("random", "affected");
    let r = run(std::slice::from_ref(&s), Mode::WeightedVote);
    assert_eq!(contributor(&json_of(&r), &digest(&s))["weight_ppm"], 100_000);
    assert_eq!(r.status(), Some(Status::Affected));
    // 99 999 ppm: ineligible, and with nothing else eligible there is no consensus.
    let p = policy(json!({"weights_ppm": {"untrusted": 99_999}}));
    let r = run_with(std::slice::from_ref(&s), &p, Mode::WeightedVote);
    assert_eq!(r.status(), None);
    assert_eq!(r.confidence_ppm(), 0);
    assert_eq!(r.conflict(), None);
    let v = json_of(&r);
    assert_eq!(contributor(&v, &digest(&s))["eligible"], false);
    assert_eq!(
        v["ignored"],
        json!([{"statement_digest": digest(&s), "reason": "below_threshold"}])
    );
    assert_eq!(v["status"], Value::Null);
    assert_eq!(
        v["conflict"],
        json!({"has_conflict": false, "kind": null, "dissent_ppm": 0, "dissenting": []})
    );
}

#[test]
fn conflict_threshold_is_inclusive() {
    let a = Spec::new("distro", "affected");
    let b = Spec::new("random", "under_investigation");
    // 700 000 vs 300 000: dissent exactly 300 000 is a conflict (soft: no SAFE status).
    let p = policy(json!({"weights_ppm": {"trusted": 700_000, "untrusted": 300_000}}));
    let r = run_with(&[a.clone(), b.clone()], &p, Mode::WeightedVote);
    assert_eq!(
        (r.status(), r.confidence_ppm(), r.dissent_ppm()),
        (Some(Status::Affected), 700_000, 300_000)
    );
    assert_eq!(r.conflict(), Some(ConflictKind::Soft));
    // 700 001 vs 299 999: dissent 299 999 is not.
    let p = policy(json!({"weights_ppm": {"trusted": 700_001, "untrusted": 299_999}}));
    let r = run_with(&[a, b], &p, Mode::WeightedVote);
    assert_eq!(r.dissent_ppm(), 299_999);
    assert_eq!(r.conflict(), None);
    assert_eq!(json_of(&r)["conflict"]["has_conflict"], false);
}

// ---- modes ----

#[test]
fn modes_disagree_as_specified() {
    // distro (trusted 0.8 × 1.1) and scanner (known 0.5 × 1.1) say not_affected; random
    // (untrusted 0.1) says affected; vendor (authoritative, 29 days old: 0.516667) says fixed.
    let specs = [
        Spec::new("distro", "not_affected").just("component_not_present"),
        Spec::new("scanner", "not_affected").just("vulnerable_code_not_present"),
        Spec::new("random", "affected"),
        Spec::new("vendor", "fixed").age(29),
    ];
    let wv = run(&specs, Mode::WeightedVote);
    assert_eq!(wv.status(), Some(Status::NotAffected));
    assert_eq!(wv.justification(), Some(Justification::ComponentNotPresent));
    let v = json_of(&wv);
    assert_eq!(
        v["justifications"],
        json!(["component_not_present", "vulnerable_code_not_present"])
    );
    // W = 880 000 + 550 000 + 100 000 + 542 500 = 2 072 500; not_affected 1 430 000.
    assert_eq!(wv.confidence_ppm(), 689_988);
    assert_eq!(wv.conflict(), Some(ConflictKind::Hard));

    let hw = run(&specs, Mode::HighestWeight);
    assert_eq!(hw.status(), Some(Status::NotAffected));
    assert_eq!(hw.justification(), Some(Justification::ComponentNotPresent));

    let lattice = run(&specs, Mode::Lattice);
    assert_eq!(lattice.status(), Some(Status::Affected));
    assert_eq!(lattice.confidence_ppm(), 48_251);
    assert_eq!(lattice.conflict(), Some(ConflictKind::Hard));
    assert_eq!(
        json_of(&lattice)["conflict"]["dissenting"]
            .as_array()
            .unwrap()
            .len(),
        3
    );

    let af = run(&specs, Mode::AuthoritativeFirst);
    assert_eq!(af.status(), Some(Status::Fixed));
    assert_eq!(af.confidence_ppm(), 261_761);
    assert_eq!(json_of(&af)["mode"], "AuthoritativeFirst");
}

#[test]
fn weighted_vote_ties_go_to_the_higher_rank() {
    // Two trusted-weight issuers, same weight: affected and not_affected (unjustified).
    let reg_doc = json!({"type": "vex.issuers/v1", "issuers": [
        {"issuer_id": "a", "tier": "trusted", "authoritative_for": [], "public_key": null},
        {"issuer_id": "b", "tier": "trusted", "authoritative_for": [], "public_key": null}]});
    let reg = registry(reg_doc);
    let s = [
        Spec::new("a", "not_affected").build(),
        Spec::new("b", "affected").build(),
    ];
    for mode in [Mode::WeightedVote, Mode::HighestWeight, Mode::AuthoritativeFirst] {
        let r = vex::consensus(&s, &Policy::default(), &reg, &key(), as_of(), head(), mode).unwrap();
        assert_eq!(r.status(), Some(Status::Affected), "{mode}");
        assert_eq!(r.confidence_ppm(), 500_000);
        assert_eq!(r.conflict(), Some(ConflictKind::Hard));
    }
}

#[test]
fn voted_justification_ties_to_openvex_enum_order() {
    let reg = registry(json!({"type": "vex.issuers/v1", "issuers": [
        {"issuer_id": "a", "tier": "trusted", "authoritative_for": [], "public_key": null},
        {"issuer_id": "b", "tier": "trusted", "authoritative_for": [], "public_key": null},
        {"issuer_id": "c", "tier": "known", "authoritative_for": [], "public_key": null}]}));
    let s = [
        Spec::new("a", "not_affected")
            .just("inline_mitigations_already_exist")
            .build(),
        Spec::new("b", "not_affected")
            .just("vulnerable_code_not_present")
            .build(),
        Spec::new("c", "not_affected").build(),
    ];
    let r = vex::consensus(
        &s,
        &Policy::default(),
        &reg,
        &key(),
        as_of(),
        head(),
        Mode::WeightedVote,
    )
    .unwrap();
    assert_eq!(r.justification(), Some(Justification::VulnerableCodeNotPresent));
    assert_eq!(
        r.node().value()["justifications"],
        json!(["vulnerable_code_not_present", "inline_mitigations_already_exist"])
    );
}

#[test]
fn highest_weight_copies_metadata_from_the_winner() {
    let mut a = Spec::new("distro", "not_affected").just("vulnerable_code_not_present");
    a.impact = Some("the parser is not built".into());
    let mut b = Spec::new("scanner", "affected");
    b.action = Some("upgrade".into());
    let r = run(&[a, b.clone()], Mode::HighestWeight);
    let v = json_of(&r);
    assert_eq!(v["impact_statement"], "the parser is not built");
    assert_eq!(v["action_statement"], Value::Null);
    let r = run(&[Spec::new("distro", "affected"), b], Mode::Lattice);
    // Lattice: metadata from the heaviest statement with the result status (distro, no action).
    assert_eq!(json_of(&r)["action_statement"], Value::Null);
}

// ---- pre-processing ----

#[test]
fn nothing_eligible_means_no_status() {
    let r = run(&[], Mode::WeightedVote);
    assert_eq!(r.status(), None);
    let v = json_of(&r);
    assert_eq!(v["status"], Value::Null);
    assert_eq!(v["confidence_ppm"], 0);
    assert_eq!(v["contributors"], json!([]));
    assert_eq!(v["links"].as_array().unwrap().len(), 2);
}

#[test]
fn invalid_signatures_are_rejected_before_supersession() {
    let real = Spec::new("vendor", "affected").signed().age(3);
    let mut forged = Spec::new("vendor", "not_affected")
        .just("component_not_present")
        .age(1);
    forged.signature = "invalid";
    let r = run(&[real.clone(), forged.clone()], Mode::WeightedVote);
    assert_eq!(r.status(), Some(Status::Affected));
    let v = json_of(&r);
    assert_eq!(
        v["ignored"],
        json!([{"statement_digest": digest(&forged), "reason": "signature_invalid"}])
    );
    assert_eq!(contributor(&v, &digest(&real))["signature"], "verified");
}

#[test]
fn key_mismatch_and_subcomponents() {
    let other_vuln = {
        let mut s = Spec::new("distro", "affected");
        s.vuln = "CVE-2024-9999".into();
        s
    };
    let no_product = {
        let mut s = Spec::new("scanner", "affected");
        s.product = None;
        s
    };
    let with_sub = {
        let mut s = Spec::new("vendor", "not_affected").just("vulnerable_code_not_present");
        s.subs = vec!["pkg:apk/wolfi/libssl3@3.0".into()];
        s
    };
    let whole = Spec::new("distro", "fixed");
    let r = run(
        &[
            other_vuln.clone(),
            no_product.clone(),
            with_sub.clone(),
            whole.clone(),
        ],
        Mode::WeightedVote,
    );
    let v = json_of(&r);
    let ignored: Vec<&str> = v["ignored"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["reason"].as_str().unwrap())
        .collect();
    assert_eq!(ignored, ["key_mismatch", "key_mismatch"]);
    assert_eq!(v["contributors"].as_array().unwrap().len(), 2);

    let statements: Vec<Statement> = [&with_sub, &whole].iter().map(|s| s.build()).collect();
    let narrow = |sub: &str| {
        let k = key().with_subcomponent(sub).unwrap();
        vex::consensus(
            &statements,
            &Policy::default(),
            &issuers(),
            &k,
            as_of(),
            head(),
            Mode::WeightedVote,
        )
        .unwrap()
        .node()
        .value()["contributors"]
            .as_array()
            .unwrap()
            .len()
    };
    assert_eq!(narrow("pkg:apk/wolfi/libssl3@3.0"), 2);
    assert_eq!(narrow("pkg:apk/wolfi/libcrypto3@3.0"), 1);
}

#[test]
fn justification_can_be_required() {
    let bare = Spec::new("distro", "not_affected");
    let p = policy(json!({"require_justification_for_not_affected": true}));
    let r = run_with(
        &[bare.clone(), Spec::new("random", "affected")],
        &p,
        Mode::WeightedVote,
    );
    assert_eq!(r.status(), Some(Status::Affected));
    let v = json_of(&r);
    assert_eq!(
        v["ignored"],
        json!([{"statement_digest": digest(&bare), "reason": "justification_required"}])
    );
    // No boost without a justification either way.
    assert_eq!(contributor(&v, &digest(&bare))["boost_ppm"], 1_000_000);
}

#[test]
fn statement_limit_is_enforced() {
    let p = policy(json!({"max_statements_per_computation": 2}));
    let s: Vec<Statement> = ["distro", "scanner", "random"]
        .iter()
        .map(|i| Spec::new(i, "affected").build())
        .collect();
    let e = vex::consensus(&s, &p, &issuers(), &key(), as_of(), head(), Mode::Lattice).unwrap_err();
    assert_eq!(e.code(), ErrorCode::VexInvalid);
    // The same statement twice counts once.
    let twice = [s[0].clone(), s[0].clone(), s[1].clone()];
    assert!(vex::consensus(&twice, &p, &issuers(), &key(), as_of(), head(), Mode::Lattice).is_ok());
}

#[test]
fn issuers_not_bound_by_the_policy_are_recorded() {
    let p = policy(json!({"issuers": NodeId::of_canonical(b"other").to_string()}));
    let r = run_with(&[Spec::new("distro", "affected")], &p, Mode::WeightedVote);
    assert_eq!(json_of(&r)["findings"][0]["code"], "issuers_mismatch");
    let p = policy(json!({"issuers": issuers().node().id().to_string()}));
    let r = run_with(&[Spec::new("distro", "affected")], &p, Mode::WeightedVote);
    assert_eq!(json_of(&r)["findings"], json!([]));
}

// ---- strict statement parsing ----

fn parse_err(v: Value) -> (ErrorCode, String) {
    match Statement::from_node(&Node::from_value(v).unwrap()).unwrap_err() {
        e @ VexError::Invalid { .. } => {
            let VexError::Invalid { ref pointer, .. } = e else {
                unreachable!()
            };
            (e.code(), pointer.clone())
        }
        e => panic!("{e}"),
    }
}

/// Changes one member and recomputes the digest.
fn with(mut v: Value, member: &str, x: Value) -> Value {
    v[member] = x;
    let d = vex::statement_digest(&v).unwrap();
    v["statement_digest"] = json!(d.to_hex());
    v
}

#[test]
fn statement_parsing_is_strict() {
    let good = Spec::new("distro", "not_affected")
        .just("component_not_present")
        .value();
    Statement::from_node(&Node::from_value(good.clone()).unwrap()).unwrap();
    let cases: Vec<(Value, &str)> = vec![
        (with(good.clone(), "status", json!("Not_affected")), "/status"),
        (
            with(good.clone(), "justification", json!("requires_configuration")),
            "/justification",
        ),
        (
            with(good.clone(), "timestamp", json!("2025-01-01T00:00:00Z")),
            "/timestamp",
        ),
        (with(good.clone(), "timestamp", json!(null)), "/timestamp_source"),
        (
            with(good.clone(), "vuln_aliases", json!(["GHSA-b", "GHSA-a"])),
            "/vuln_aliases/1",
        ),
        (with(good.clone(), "vuln_aliases", json!([VULN])), "/vuln_aliases"),
        (with(good.clone(), "position", json!(-1)), "/position"),
        (with(good.clone(), "signature", json!("valid")), "/signature"),
        (with(good.clone(), "extra", json!(1)), "/extra"),
        (with(good.clone(), "links", json!([])), "/links"),
        (
            with(good.clone(), "source_doc", json!("sha256:00")),
            "/source_doc",
        ),
        (with(good.clone(), "issuer_id", json!("")), "/issuer_id"),
        (
            with(
                good.clone(),
                "findings",
                json!([{"code": "b", "message": "", "pointer": "/x"}, {"code": "a", "message": "", "pointer": "/x"}]),
            ),
            "/findings/1",
        ),
        (
            with(good.clone(), "impact_statement", json!("x".repeat(64 * 1024 + 1))),
            "/impact_statement",
        ),
        (with(good.clone(), "type", json!("vex.policy/v1")), "/type"),
    ];
    for (v, pointer) in cases {
        assert_eq!(
            parse_err(v),
            (ErrorCode::VexInvalid, pointer.to_owned()),
            "{pointer}"
        );
    }
    // A missing member.
    let mut missing = good.clone();
    missing.as_object_mut().unwrap().remove("lossy");
    let d = vex::statement_digest(&missing).unwrap();
    missing["statement_digest"] = json!(d.to_hex());
    assert_eq!(parse_err(missing).1, "/lossy");
    // A digest that does not match; findings and links are outside the digest.
    let mut tampered = good.clone();
    tampered["issuer_claimed"] = json!("someone else");
    assert_eq!(parse_err(tampered).1, "/statement_digest");
    let mut noted = good.clone();
    noted["findings"] = json!([{"code": "x", "message": "m", "pointer": ""}]);
    let s = Statement::from_node(&Node::from_value(noted).unwrap()).unwrap();
    assert_eq!(s.statement_digest().to_hex(), good["statement_digest"]);
}

// ---- replay ----

fn replay_err(r: &ConsensusResult, statements: &[Node], policy: &Node, reg: &Node) -> VexError {
    vex::replay(r.node(), statements, policy, reg).unwrap_err()
}

#[test]
fn replay_names_the_first_difference() {
    let specs = [
        Spec::new("vendor", "fixed").signed(),
        Spec::new("distro", "not_affected").just("vulnerable_code_not_in_execute_path"),
    ];
    let nodes: Vec<Node> = specs.iter().map(Spec::node).collect();
    let r = run(&specs, Mode::WeightedVote);
    let (pol, reg) = (Policy::default(), issuers());
    let ok = vex::replay(r.node(), &nodes, pol.node(), reg.node()).unwrap();
    assert_eq!(ok.node(), r.node());

    // Another policy.
    let other = policy(json!({"conflict_threshold_ppm": 500_000}));
    let e = replay_err(&r, &nodes, other.node(), reg.node());
    assert_eq!(
        (e.code(), e.to_string().contains("\"/policy\"")),
        (ErrorCode::ConsensusMismatch, true)
    );
    // A missing statement, another registry.
    let e = replay_err(&r, &nodes[..1], pol.node(), reg.node());
    let VexError::Mismatch { pointer } = e else {
        panic!("{e}")
    };
    assert!(pointer == "/links/3" || pointer == "/links/2/id", "{pointer}");
    let e = replay_err(&r, &nodes, pol.node(), IssuerRegistry::empty().node());
    assert_eq!(
        e,
        VexError::Mismatch {
            pointer: "/links/1/id".into()
        }
    );
    // An edited output.
    let mut v = json_of(&r);
    v["confidence_ppm"] = json!(600_000);
    let edited = Node::from_value(v).unwrap();
    let e = vex::replay(&edited, &nodes, pol.node(), reg.node()).unwrap_err();
    assert_eq!(
        e,
        VexError::Mismatch {
            pointer: "/confidence_ppm".into()
        }
    );
    // Not a consensus node.
    let e = vex::replay(pol.node(), &nodes, pol.node(), reg.node()).unwrap_err();
    assert_eq!(e.code(), ErrorCode::VexInvalid);
}

// ---- properties ----

const ISSUER_NAMES: [&str; 6] = ["distro", "random", "scanner", "vendor", "nobody", "other"];
const STATUSES: [&str; 4] = ["not_affected", "fixed", "under_investigation", "affected"];
const JUSTIFICATIONS: [&str; 5] = [
    "component_not_present",
    "vulnerable_code_not_present",
    "vulnerable_code_not_in_execute_path",
    "vulnerable_code_cannot_be_controlled_by_adversary",
    "inline_mitigations_already_exist",
];

prop_compose! {
    fn arb_spec()(
        issuer in 0..ISSUER_NAMES.len(),
        status in 0..4usize,
        just in proptest::option::of(0..5usize),
        age in proptest::option::of(-2i64..45),
        secs in 0i64..86_400,
        sig in 0..6u8,
        doc_version in proptest::option::of(0..3u8),
        position in 0..3u64,
        other_product in proptest::bool::weighted(0.1),
    ) -> Spec {
        let mut s = Spec::new(ISSUER_NAMES[issuer], STATUSES[status]);
        s.justification = just.map(|j| JUSTIFICATIONS[j]);
        s = match age {
            Some(d) => s.at(&before(d * 86_400 + secs, 0)),
            None => s.undated(),
        };
        s.signature = match sig { 0 => "invalid", 1 | 2 => "verified", _ => "absent" };
        s.doc_version = doc_version.map(|d| d.to_string());
        s.position = position;
        if other_product {
            s.product = Some("pkg:deb/debian/bash@5.3".into());
        }
        s
    }
}

fn arb_mode() -> impl Strategy<Value = Mode> {
    prop::sample::select(Mode::ALL.to_vec())
}

fn compute(statements: &[Statement], mode: Mode) -> ConsensusResult {
    vex::consensus(
        statements,
        &Policy::default(),
        &issuers(),
        &key(),
        as_of(),
        head(),
        mode,
    )
    .unwrap()
}

/// Every scalar leaf of a JSON value, as (pointer, value).
fn leaves(v: &Value, at: String, out: &mut Vec<(String, Value)>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                leaves(x, format!("{at}/{k}"), out);
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                leaves(x, format!("{at}/{i}"), out);
            }
        }
        x => out.push((at, x.clone())),
    }
}

fn mutate(x: &Value) -> Value {
    match x {
        Value::Null => json!(0),
        Value::Bool(b) => json!(!b),
        Value::Number(n) => json!(n.as_u64().unwrap() + 1),
        Value::String(s) => {
            let mut s = s.clone();
            match s.pop() {
                Some(c) if c.is_ascii_hexdigit() => s.push(if c == '0' { '1' } else { '0' }),
                Some(c) => {
                    s.push(c);
                    s.push('x');
                }
                None => s.push('x'),
            }
            json!(s)
        }
        _ => unreachable!(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn input_order_never_changes_the_bytes(
        specs in prop::collection::vec(arb_spec(), 0..10),
        mode in arb_mode(),
        seed in any::<u64>(),
    ) {
        let statements: Vec<Statement> = specs.iter().map(Spec::build).collect();
        let a = compute(&statements, mode);
        let mut shuffled = statements.clone();
        // Deterministic Fisher–Yates from the seed.
        let mut x = seed | 1;
        for i in (1..shuffled.len()).rev() {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            shuffled.swap(i, (x % (i as u64 + 1)) as usize);
        }
        let b = compute(&shuffled, mode);
        prop_assert_eq!(a.node().bytes(), b.node().bytes());
    }

    #[test]
    fn re_adding_a_statement_changes_nothing(
        specs in prop::collection::vec(arb_spec(), 1..10),
        pick in any::<prop::sample::Index>(),
        mode in arb_mode(),
    ) {
        let statements: Vec<Statement> = specs.iter().map(Spec::build).collect();
        let a = compute(&statements, mode);
        let mut more = statements.clone();
        more.push(statements[pick.index(statements.len())].clone());
        let b = compute(&more, mode);
        prop_assert_eq!(a.node().bytes(), b.node().bytes());
    }

    #[test]
    fn lattice_never_goes_down_when_an_eligible_affected_is_added(
        specs in prop::collection::vec(arb_spec(), 0..10),
        age in 0i64..40,
    ) {
        let mut statements: Vec<Statement> = specs.iter().map(Spec::build).collect();
        let reg = registry(json!({"type": "vex.issuers/v1", "issuers": [
            {"issuer_id": "distro", "tier": "trusted", "authoritative_for": [], "public_key": "k1"},
            {"issuer_id": "distro-2", "tier": "trusted", "authoritative_for": [], "public_key": null},
            {"issuer_id": "random", "tier": "untrusted", "authoritative_for": [], "public_key": null},
            {"issuer_id": "scanner", "tier": "known", "authoritative_for": [], "public_key": null},
            {"issuer_id": "vendor", "tier": "known", "authoritative_for": ["pkg:apk/"], "public_key": "k2"},
        ]}));
        let lattice = |s: &[Statement]| {
            vex::consensus(s, &Policy::default(), &reg, &key(), as_of(), head(), Mode::Lattice).unwrap()
        };
        let before_rank = lattice(&statements).status().map(Status::rank);
        // A new trusted issuer: 0.8 × fresh ≥ 0.4, always eligible.
        statements.push(Spec::new("distro-2", "affected").age(age).build());
        let after = lattice(&statements);
        prop_assert_eq!(after.status(), Some(Status::Affected));
        prop_assert!(after.status().map(Status::rank) >= before_rank);
    }

    #[test]
    fn every_node_replays_and_every_output_mutation_is_caught(
        specs in prop::collection::vec(arb_spec(), 0..8),
        mode in arb_mode(),
        pick in any::<prop::sample::Index>(),
    ) {
        let nodes: Vec<Node> = specs.iter().map(Spec::node).collect();
        let statements: Vec<Statement> = nodes.iter().map(|n| Statement::from_node(n).unwrap()).collect();
        let (pol, reg) = (Policy::default(), issuers());
        let r = vex::consensus(&statements, &pol, &reg, &key(), as_of(), head(), mode).unwrap();
        let ok = vex::replay(r.node(), &nodes, pol.node(), reg.node()).unwrap();
        prop_assert_eq!(ok.node().bytes(), r.node().bytes());

        // Mutate one output leaf (inputs recorded in the node — type, algo, mode, as_of,
        // checkpoint, key — and link ids are not outputs).
        let value = r.node().value();
        let mut all = Vec::new();
        leaves(&value, String::new(), &mut all);
        let outputs: Vec<_> = all
            .into_iter()
            .filter(|(p, _)| {
                let input = ["/type", "/algo", "/mode", "/as_of", "/checkpoint/", "/key/"]
                    .iter()
                    .any(|x| p.starts_with(x))
                    || (p.starts_with("/links/") && p.ends_with("/id"));
                !input
            })
            .collect();
        let (pointer, old) = &outputs[pick.index(outputs.len())];
        let mut mutated = value.clone();
        *mutated.pointer_mut(pointer).unwrap() = mutate(old);
        let Ok(node) = Node::from_value(mutated) else {
            // A mutation that breaks the node rules (e.g. a link rel made invalid) is caught earlier.
            return Ok(());
        };
        let e = vex::replay(&node, &nodes, pol.node(), reg.node()).unwrap_err();
        prop_assert_eq!(e.code(), ErrorCode::ConsensusMismatch);
        prop_assert_eq!(e, VexError::Mismatch { pointer: pointer.clone() });
    }
}

// ---- known answers (SPEC.md §14.1): a change to the node format changes these ----

#[test]
fn known_answer_default_policy_and_empty_consensus() {
    let policy = Policy::default();
    assert_eq!(
        std::str::from_utf8(policy.node().bytes()).unwrap(),
        r#"{"algo":"vex-consensus/1","conflict_threshold_ppm":300000,"fixed_status_boost_ppm":1050000,"freshness_decay_days":30,"issuers":null,"justified_not_affected_boost_ppm":1100000,"max_statements_per_computation":100,"min_freshness_ppm":500000,"minimum_weight_threshold_ppm":100000,"mode":"WeightedVote","require_justification_for_not_affected":false,"signed_multiplier_ppm":1200000,"type":"vex.policy/v1","weights_ppm":{"authoritative":1000000,"known":500000,"trusted":800000,"unknown":300000,"untrusted":100000}}"#
    );
    assert_eq!(
        policy.node().id().to_string(),
        "sha256:2a56a67cc7a70d7aa990f050a10dffa52ba1e1dfda0ff165a38a0600edc14cce"
    );
    let registry = IssuerRegistry::empty();
    assert_eq!(
        registry.node().id().to_string(),
        "sha256:c5555413b7480e27a7f19760534b965025b79331657d0d696dd6628fc3f73d39"
    );
    let key = GroupKey::new("CVE-2024-0001", "pkg:npm/example@1.0.0").unwrap();
    let head = TreeHead::new(TreeSize::ZERO, evl_sdk::empty_root());
    let r = vex::consensus(&[], &policy, &registry, &key, as_of(), head, Mode::WeightedVote).unwrap();
    assert_eq!(
        std::str::from_utf8(r.node().bytes()).unwrap(),
        r#"{"action_statement":null,"algo":"vex-consensus/1","as_of":"2026-01-01T00:00:00Z","checkpoint":{"root":"47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=","tree_size":0},"confidence_ppm":0,"conflict":{"dissent_ppm":0,"dissenting":[],"has_conflict":false,"kind":null},"contributors":[],"findings":[],"ignored":[],"impact_statement":null,"justification":null,"justifications":[],"key":{"product_key":"pkg:npm/example@1.0.0","subcomponent_key":null,"vuln_id":"CVE-2024-0001"},"links":[{"id":"sha256:2a56a67cc7a70d7aa990f050a10dffa52ba1e1dfda0ff165a38a0600edc14cce","rel":"policy"},{"id":"sha256:c5555413b7480e27a7f19760534b965025b79331657d0d696dd6628fc3f73d39","rel":"issuers"}],"mode":"WeightedVote","policy":"sha256:2a56a67cc7a70d7aa990f050a10dffa52ba1e1dfda0ff165a38a0600edc14cce","status":null,"support_ppm":{"affected":0,"fixed":0,"not_affected":0,"under_investigation":0},"type":"vex.consensus/v1"}"#
    );
    assert_eq!(
        r.node().id().to_string(),
        "sha256:582bd8a0e5996caf982a6b0612e69f57a7f6dae0739c4ac77caa4e4da0640b6d"
    );
}

#[test]
fn known_answer_example_d() {
    let a = Spec::new("vendor", "fixed").signed();
    let b = Spec::new("distro", "not_affected").just("vulnerable_code_not_in_execute_path");
    let r = run(&[a, b], Mode::WeightedVote);
    assert_eq!(
        r.node().id().to_string(),
        "sha256:74b252ee288dd422eb75ddbee3c0d2e942f1fc03b8d4d15a3d84f85449142be6"
    );
}
