//! OpenVEX 0.2.0 and legacy 0.0.1 (docs/vex-ingest.md "OpenVEX").

use super::finding::{Finding, FindingCode, ptr};
use super::ids::{self, VulnIds};
use super::keys::Candidates;
use super::statement::{self, DocMeta, Draft, Status, TimestampSource};
use super::{IngestError, Out, VexFormat, anonymous_issuer, name_scope, openvex_context, text, timestamp_at};
use evl_sdk::NodeId;
use serde_json::{Map, Value};

/// Statement members of OpenVEX 0.2.0 plus the legacy 0.0.1 ones go-vex still reads.
const KNOWN_MEMBERS: &[&str] = &[
    "@id",
    "version",
    "vulnerability",
    "timestamp",
    "last_updated",
    "products",
    "status",
    "supplier",
    "status_notes",
    "justification",
    "impact_statement",
    "action_statement",
    "action_statement_timestamp",
    // v0.0.1
    "vuln_description",
    "subcomponents",
];

pub(super) fn read(doc: &Value, source: NodeId, out: &mut Out) -> Result<DocMeta, IngestError> {
    let context = openvex_context(doc).unwrap_or_default();
    let declared = context
        .trim_start_matches(super::OPENVEX_CONTEXT)
        .trim_start_matches('/');
    let format_version = if declared.is_empty() {
        out.finding(
            FindingCode::OpenvexContextUnversioned,
            "/@context",
            "unversioned OpenVEX context; read as v0.0.1 (as go-vex does), shapes accepted from either version",
        );
        "0.0.1".to_string()
    } else {
        declared.trim_start_matches('v').to_string()
    };
    if !matches!(format_version.as_str(), "0.0.1" | "0.2.0") {
        out.finding(
            FindingCode::FormatVersionUnsupported,
            "/@context",
            format!("OpenVEX {format_version} is untested; read with the 0.2.0 rules"),
        );
    }
    let doc_id = text(doc, "@id").map(str::to_string);
    if doc_id.is_none() {
        out.finding(FindingCode::DocIdMissing, "/@id", "no document @id");
    }
    let mut legacy = Vec::new();
    let doc_version = super::version_string(doc.get("version"));
    match doc.get("version") {
        None => out.finding(FindingCode::DocVersionMissing, "/version", "no document version"),
        Some(Value::String(_)) => legacy.push("/version"),
        _ => {}
    }
    let issuer_claimed = text(doc, "author").unwrap_or_default().to_string();
    let (issuer_id, anonymous) = match ids::author_id(&issuer_claimed) {
        Some(id) => (id, false),
        None => {
            out.finding(
                FindingCode::IssuerMissing,
                "/author",
                "no usable author; issuer is anonymous",
            );
            (anonymous_issuer(source), true)
        }
    };
    let scope = name_scope(&issuer_id, anonymous, doc_id.as_deref());
    let doc_ts = timestamp_at(doc, "timestamp", "", &mut out.findings);
    if doc.get("timestamp").is_none() {
        out.finding(
            FindingCode::DocTimestampMissing,
            "/timestamp",
            "no document timestamp",
        );
    }
    let statements = match doc.get("statements") {
        Some(Value::Array(a)) => a.as_slice(),
        _ => {
            out.finding(
                FindingCode::EntryMalformed,
                "/statements",
                "statements is missing or not an array",
            );
            &[]
        }
    };
    if statements.is_empty() {
        out.finding(FindingCode::NoStatements, "/statements", "no statements");
    }
    let cx = Ctx {
        scope: &scope,
        doc_ts: doc_ts.as_deref(),
    };
    for (i, st) in statements.iter().enumerate() {
        statement_entry(&cx, st, i, out, &mut legacy)?;
    }
    if let Some(first) = legacy.first() {
        out.finding(
            FindingCode::OpenvexLegacyUpgraded,
            *first,
            format!(
                "{} legacy v0.0.1 shape(s) (string vulnerability/products/version) upgraded",
                legacy.len()
            ),
        );
    }
    Ok(DocMeta {
        format: VexFormat::OpenVex,
        format_version,
        issuer_id,
        issuer_claimed,
        doc_id,
        doc_version,
    })
}

struct Ctx<'a> {
    scope: &'a str,
    doc_ts: Option<&'a str>,
}

fn statement_entry(
    cx: &Ctx<'_>,
    st: &Value,
    i: usize,
    out: &mut Out,
    legacy: &mut Vec<&'static str>,
) -> Result<(), IngestError> {
    let at = ptr("/statements", i);
    if !st.is_object() {
        out.finding(
            FindingCode::EntryMalformed,
            at,
            "statement is not an object; skipped",
        );
        return Ok(());
    }
    let mut findings = Vec::new();
    let Some(vuln) = vulnerability(st, &at, &mut findings, legacy) else {
        out.finding(
            FindingCode::VulnIdMissing,
            ptr(&at, "vulnerability"),
            "no usable vulnerability id; skipped",
        );
        return Ok(());
    };
    let raw_status = text(st, "status").unwrap_or_default();
    let Some(status) = Status::from_openvex(raw_status) else {
        out.finding(
            FindingCode::StatusInvalid,
            ptr(&at, "status"),
            format!("status {raw_status:?}; skipped"),
        );
        return Ok(());
    };
    if let Some(map) = st.as_object() {
        for k in map.keys().filter(|k| !KNOWN_MEMBERS.contains(&k.as_str())) {
            findings.push(Finding::new(
                FindingCode::OpenvexUnknownMember,
                ptr(&at, k),
                format!("member {k:?} is not in the OpenVEX schema; ignored"),
            ));
        }
    }
    let raw_just = text(st, "justification");
    let just = raw_just.and_then(statement::justification);
    if let (Some(r), None) = (raw_just, just) {
        findings.push(Finding::new(
            FindingCode::JustificationInvalid,
            ptr(&at, "justification"),
            format!("justification {r:?} is not an OpenVEX justification"),
        ));
    }
    let (timestamp, ts_source) = match timestamp_at(st, "timestamp", &at, &mut findings) {
        Some(t) => (Some(t), TimestampSource::Statement),
        None => match cx.doc_ts {
            Some(t) => (Some(t.to_string()), TimestampSource::Inherited),
            None => (None, TimestampSource::None),
        },
    };
    let mut base = Draft::new(vuln, status, raw_status, i, at.clone());
    base.justification = just;
    base.source_justification = raw_just.map(str::to_string);
    base.impact_statement = text(st, "impact_statement").map(str::to_string);
    base.action_statement = text(st, "action_statement").map(str::to_string);
    base.timestamp = timestamp;
    base.timestamp_source = ts_source;
    base.statement_version = st.get("version").and_then(Value::as_u64);
    base.findings = findings;
    // v0.0.1: statement-level subcomponents apply to every product.
    let stmt_subs: Vec<(String, &Value)> = super::varr(st, "subcomponents")
        .iter()
        .enumerate()
        .map(|(k, s)| (ptr(&ptr(&at, "subcomponents"), k), s))
        .collect();
    let products = super::varr(st, "products");
    if products.is_empty() {
        return out.push(base);
    }
    for (j, p) in products.iter().enumerate() {
        let pp = ptr(&ptr(&at, "products"), j);
        let mut d = base.clone();
        d.source_pointer = pp.clone();
        if p.is_string() {
            legacy.push("/statements");
        }
        let Some((key, idents)) = component(cx.scope, p, &pp, &mut d.findings) else {
            out.finding(
                FindingCode::ProductUnidentified,
                pp,
                "product has no usable identifier; skipped",
            );
            continue;
        };
        d.product_key = Some(key);
        d.product_identifiers = idents;
        let subs = super::varr(p, "subcomponents")
            .iter()
            .enumerate()
            .map(|(k, s)| (ptr(&ptr(&pp, "subcomponents"), k), s))
            .chain(stmt_subs.iter().cloned());
        for (sp, s) in subs {
            match component(cx.scope, s, &sp, &mut d.findings) {
                Some((k, _)) => d.subcomponent_keys.push(k),
                None => out.finding(
                    FindingCode::ProductUnidentified,
                    sp,
                    "subcomponent has no usable identifier; skipped",
                ),
            }
        }
        out.push(d)?;
    }
    Ok(())
}

/// The vulnerability ids of a statement: `name` (or a vulnerability-shaped `@id`) plus `aliases`.
fn vulnerability(
    st: &Value,
    at: &str,
    findings: &mut Vec<Finding>,
    legacy: &mut Vec<&'static str>,
) -> Option<VulnIds> {
    let v = st.get("vulnerability")?;
    if let Some(s) = v.as_str() {
        legacy.push("/statements");
        return ids::canonical_vuln([s]);
    }
    let mut all: Vec<&str> = super::varr(v, "aliases")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    match (text(v, "name"), text(v, "@id")) {
        (Some(n), _) => all.push(n),
        (None, Some(id)) if ids::looks_like_vuln_id(id) => {
            findings.push(Finding::new(
                FindingCode::OpenvexVulnNameMissing,
                ptr(at, "vulnerability"),
                format!("vulnerability has no name; @id {id:?} used as its id"),
            ));
            all.push(id);
        }
        _ => return None,
    }
    ids::canonical_vuln(all)
}

/// A product or subcomponent (object, or legacy string): its key and raw identifiers.
fn component(
    scope: &str,
    c: &Value,
    pointer: &str,
    findings: &mut Vec<Finding>,
) -> Option<(String, Map<String, Value>)> {
    let mut idents = Map::new();
    let mut cand = Candidates::default();
    let id = match c {
        Value::String(s) => Some(s.as_str()),
        Value::Object(_) => text(c, "@id"),
        _ => None,
    };
    if let Some(id) = id {
        idents.insert("id".into(), id.into());
        if id.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("pkg:")) {
            cand.purls.push(id);
        }
    }
    if let Some(ident) = c.get("identifiers") {
        for (k, raw) in [("purl", "purl"), ("cpe23", "cpe23"), ("cpe22", "cpe22")] {
            if let Some(v) = text(ident, raw) {
                idents.insert(k.into(), v.into());
                if k == "purl" {
                    cand.purls.push(v);
                } else {
                    cand.cpes.push(v);
                }
            }
        }
    }
    if let Some(id) = id.filter(|i| i.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("cpe:"))) {
        cand.cpes.push(id);
    }
    if let Some(Value::Object(h)) = c.get("hashes") {
        idents.insert("hashes".into(), Value::Object(h.clone()));
        cand.hashes = h
            .iter()
            .filter_map(|(alg, v)| Some((alg.as_str(), v.as_str()?)))
            .collect();
    }
    cand.name = id.map(str::to_string);
    let key = cand.key(scope, pointer, findings)?;
    Some((key, idents))
}
