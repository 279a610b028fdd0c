//! CycloneDX 1.4–1.6 VEX (docs/vex-ingest.md "CycloneDX").

use super::finding::{Finding, FindingCode, ptr};
use super::ids;
use super::keys::{self, Candidates};
use super::statement::{DocMeta, Draft, Status, TimestampSource};
use super::{IngestError, Out, VexFormat, anonymous_issuer, missing, name_scope, text, timestamp_at, varr};
use evl_sdk::NodeId;
use serde_json::{Map, Value};
use std::collections::HashMap;

pub(super) fn read(doc: &Value, source: NodeId, out: &mut Out) -> Result<DocMeta, IngestError> {
    let format_version = text(doc, "specVersion").unwrap_or_default().to_string();
    if !matches!(format_version.as_str(), "1.4" | "1.5" | "1.6") {
        out.finding(
            FindingCode::FormatVersionUnsupported,
            "/specVersion",
            format!("CycloneDX {format_version:?} is untested; read with the 1.6 rules"),
        );
    }
    let doc_id = text(doc, "serialNumber").map(str::to_string);
    if doc_id.is_none() {
        out.finding(FindingCode::DocIdMissing, "/serialNumber", "no serialNumber");
    }
    let doc_version = super::version_string(doc.get("version"));
    if doc_version.is_none() {
        out.finding(FindingCode::DocVersionMissing, "/version", "no BOM version");
    }
    if doc.get("signature").is_some() {
        out.finding(
            FindingCode::SignatureNotVerified,
            "/signature",
            "embedded JSF signature not verified by ingest; signature recorded as absent",
        );
    }
    let meta = doc.get("metadata").unwrap_or(&Value::Null);
    let (issuer_claimed, found) = issuer(meta);
    let anonymous = found.is_none();
    let issuer_id = found.unwrap_or_else(|| {
        out.finding(
            FindingCode::IssuerMissing,
            "/metadata",
            "no manufacturer, supplier or author",
        );
        anonymous_issuer(source)
    });
    let doc_ts = timestamp_at(meta, "timestamp", "/metadata", &mut out.findings);
    if meta.get("timestamp").is_none() {
        out.finding(
            FindingCode::DocTimestampMissing,
            missing(doc, "/metadata", "timestamp"),
            "no metadata.timestamp",
        );
    }
    let mut index = HashMap::new();
    if let Some(c) = meta.get("component") {
        collect(std::slice::from_ref(c), &mut index);
    }
    collect(varr(doc, "components"), &mut index);
    let scope = name_scope(&issuer_id, anonymous, doc_id.as_deref());
    let cx = Ctx {
        scope: &scope,
        index,
        main: meta.get("component").filter(|c| c.is_object()),
        doc_ts: doc_ts.as_deref(),
    };
    for (i, v) in varr(doc, "vulnerabilities").iter().enumerate() {
        vulnerability(&cx, v, i, out)?;
    }
    Ok(DocMeta {
        format: VexFormat::CycloneDx,
        format_version,
        issuer_id,
        issuer_claimed,
        doc_id,
        doc_version,
    })
}

/// The first of `manufacturer` (1.6), `manufacture` (1.4/1.5), `supplier`, `authors[]`:
/// (name as written, slug of the name / url / email).
fn issuer(meta: &Value) -> (String, Option<String>) {
    for key in ["manufacturer", "manufacture", "supplier"] {
        let Some(e) = meta.get(key) else { continue };
        let url = varr(e, "url").iter().filter_map(Value::as_str).next();
        let id = text(e, "name")
            .and_then(ids::slug)
            .or_else(|| url.and_then(ids::url_id));
        if let Some(id) = id {
            return (text(e, "name").or(url).unwrap_or_default().to_string(), Some(id));
        }
    }
    for a in varr(meta, "authors") {
        let (name, email) = (text(a, "name"), text(a, "email"));
        if let Some(id) = name
            .and_then(ids::slug)
            .or_else(|| email.map(|e| e.trim().to_lowercase()))
        {
            return (name.or(email).unwrap_or_default().to_string(), Some(id));
        }
    }
    (String::new(), None)
}

/// Components by `bom-ref`, recursively (first definition wins).
fn collect<'a>(cs: &'a [Value], index: &mut HashMap<&'a str, &'a Value>) {
    for c in cs {
        if let Some(r) = text(c, "bom-ref") {
            index.entry(r).or_insert(c);
        }
        collect(varr(c, "components"), index);
    }
}

struct Ctx<'a> {
    scope: &'a str,
    index: HashMap<&'a str, &'a Value>,
    main: Option<&'a Value>,
    doc_ts: Option<&'a str>,
}

/// `analysis.state` → (status, lossy flag).
fn state(s: &str) -> Option<(Status, Option<&'static str>)> {
    Some(match s {
        "not_affected" => (Status::NotAffected, None),
        "false_positive" => (Status::NotAffected, Some("cdx_false_positive")),
        "exploitable" => (Status::Affected, None),
        "resolved" => (Status::Fixed, None),
        "resolved_with_pedigree" => (Status::Fixed, Some("cdx_resolved_with_pedigree")),
        "in_triage" => (Status::UnderInvestigation, None),
        _ => return None,
    })
}

/// `analysis.justification` → (justification, many-to-one).
fn justification(s: &str) -> Option<(&'static str, bool)> {
    Some(match s {
        "code_not_present" => ("vulnerable_code_not_present", false),
        "code_not_reachable" => ("vulnerable_code_not_in_execute_path", false),
        "requires_configuration" | "requires_dependency" | "requires_environment" => {
            ("vulnerable_code_cannot_be_controlled_by_adversary", true)
        }
        "protected_by_compiler"
        | "protected_at_runtime"
        | "protected_at_perimeter"
        | "protected_by_mitigating_control" => ("inline_mitigations_already_exist", true),
        _ => return None,
    })
}

/// `analysis.response[]` → remediation category.
fn response_category(r: &str) -> Option<&'static str> {
    Some(match r {
        "update" | "rollback" => "vendor_fix",
        "will_not_fix" | "can_not_fix" => "no_fix_planned",
        "workaround_available" => "workaround",
        _ => return None,
    })
}

fn vulnerability(cx: &Ctx<'_>, v: &Value, i: usize, out: &mut Out) -> Result<(), IngestError> {
    let at = ptr("/vulnerabilities", i);
    let all = text(v, "id")
        .into_iter()
        .chain(varr(v, "references").iter().filter_map(|r| text(r, "id")));
    let Some(vuln) = ids::canonical_vuln(all) else {
        out.finding(
            FindingCode::VulnIdMissing,
            at,
            "no id and no references[].id; skipped",
        );
        return Ok(());
    };
    let analysis = v.get("analysis").unwrap_or(&Value::Null);
    let ap = ptr(&at, "analysis");
    let Some(raw_state) = text(analysis, "state") else {
        out.finding(
            FindingCode::CdxNoAnalysisState,
            at,
            "no analysis.state (a VDR entry): no status is invented; skipped",
        );
        return Ok(());
    };
    let Some((status, lossy)) = state(raw_state) else {
        out.finding(
            FindingCode::StatusInvalid,
            ptr(&ap, "state"),
            format!("state {raw_state:?}; skipped"),
        );
        return Ok(());
    };
    let mut d = Draft::new(vuln, status, raw_state, i, at.clone());
    d.lossy.extend(lossy);
    let raw_just = text(analysis, "justification");
    d.source_justification = raw_just.map(str::to_string);
    if let Some(r) = raw_just {
        let jp = ptr(&ap, "justification");
        match justification(r) {
            None => d.findings.push(Finding::new(
                FindingCode::JustificationInvalid,
                jp,
                format!("{r:?} is not a CycloneDX justification"),
            )),
            // false_positive carries no justification (MAPPING.md); the raw code stays.
            Some(_) if raw_state == "false_positive" => {}
            Some((j, many)) => {
                d.justification = Some(j);
                if many && status == Status::NotAffected {
                    d.lossy.push("cdx_justification_many_to_one");
                }
                if r == "protected_at_perimeter" {
                    d.findings.push(Finding::new(
                        FindingCode::CdxPerimeterNotInline,
                        jp,
                        "protected_at_perimeter is an external control, not an inline mitigation",
                    ));
                }
            }
        }
    }
    let mut lines = Vec::new();
    for r in varr(analysis, "response").iter().filter_map(Value::as_str) {
        lines.push(format!("response: {r}"));
        d.remediation_categories
            .extend(response_category(r).map(str::to_string));
    }
    for k in ["recommendation", "workaround"] {
        if let Some(t) = text(v, k) {
            lines.push(format!("{k}: {t}"));
        }
    }
    lines.sort();
    lines.dedup();
    d.action_statement = (!lines.is_empty()).then(|| lines.join("\n"));
    if status == Status::NotAffected {
        d.impact_statement = text(analysis, "detail").map(str::to_string);
    }
    let chain = [
        (analysis, "lastUpdated", ap.as_str()),
        (analysis, "firstIssued", &ap),
        (v, "updated", &at),
        (v, "published", &at),
    ];
    let stmt_ts = chain
        .iter()
        .find_map(|(obj, key, p)| timestamp_at(obj, key, p, &mut d.findings));
    (d.timestamp, d.timestamp_source) = match (stmt_ts, cx.doc_ts) {
        (Some(t), _) => (Some(t), TimestampSource::Statement),
        (None, Some(t)) => (Some(t.to_string()), TimestampSource::Inherited),
        (None, None) => (None, TimestampSource::None),
    };
    let affects = varr(v, "affects");
    if affects.is_empty() {
        return out.push(d);
    }
    for (j, a) in affects.iter().enumerate() {
        let pp = ptr(&ptr(&at, "affects"), j);
        let Some(r) = text(a, "ref") else {
            out.finding(
                FindingCode::EntryMalformed,
                pp,
                "affects entry without ref; skipped",
            );
            continue;
        };
        let mut s = d.clone();
        s.source_pointer = pp.clone();
        let versions = varr(a, "versions");
        if let Some(bad) = mismatch(status, versions) {
            s.findings.push(Finding::new(
                FindingCode::RangeStatusMismatch,
                pp.clone(),
                format!("analysis.state {raw_state} but versions status {bad}; the state is the assertion"),
            ));
        }
        let Some((key, mut idents, sub)) = product(cx, r, &pp, &mut s.findings) else {
            out.finding(
                FindingCode::ProductUnidentified,
                pp,
                "affected component has no usable identifier; skipped",
            );
            continue;
        };
        idents.insert("affects_ref".into(), r.into());
        if !versions.is_empty() {
            idents.insert("versions".into(), Value::Array(versions.to_vec()));
        }
        s.product_key = Some(key);
        s.product_identifiers = idents;
        s.subcomponent_keys.extend(sub);
        out.push(s)?;
    }
    Ok(())
}

/// A `versions[].status` that contradicts the state: `affected` under not_affected, or
/// `unaffected` under affected.
fn mismatch(status: Status, versions: &[Value]) -> Option<&'static str> {
    let has = |s: &str| versions.iter().any(|x| text(x, "status") == Some(s));
    match status {
        Status::NotAffected if has("affected") => Some("affected"),
        Status::Affected if has("unaffected") => Some("unaffected"),
        _ => None,
    }
}

/// MAPPING.md: the ref is the product when it is `metadata.component` (or there is none);
/// otherwise `metadata.component` is the product and the ref a subcomponent.
fn product(
    cx: &Ctx<'_>,
    r: &str,
    at: &str,
    f: &mut Vec<Finding>,
) -> Option<(String, Map<String, Value>, Option<String>)> {
    if let Some(main) = cx.main
        && let Some((key, idents)) = component_key(cx.scope, main, at, f)
    {
        if text(main, "bom-ref") == Some(r) {
            return Some((key, idents, None));
        }
        let sub = target(cx, r, at, f).map(|(k, _)| k);
        return Some((key, idents, sub));
    }
    let (key, idents) = target(cx, r, at, f)?;
    Some((key, idents, None))
}

/// The key of a ref: a component of this BOM, a BOM-Link (its purl fragment, else the link
/// itself), or an unresolved ref (a finding; its purl, else a scoped name).
fn target(cx: &Ctx<'_>, r: &str, at: &str, f: &mut Vec<Finding>) -> Option<(String, Map<String, Value>)> {
    if let Some(c) = cx.index.get(r) {
        return component_key(cx.scope, c, at, f);
    }
    let mut idents = Map::new();
    idents.insert("bom_ref".into(), r.into());
    if r.starts_with("urn:cdx:") {
        let key = match r.split_once('#') {
            Some((_, frag)) if frag.starts_with("pkg:") => keys::purl_key(frag, at, f),
            _ => None,
        };
        return Some((key.unwrap_or_else(|| r.trim().to_string()), idents));
    }
    f.push(Finding::new(
        FindingCode::CdxRefUnresolved,
        at,
        format!("ref {r:?} is neither a component of this BOM nor a BOM-Link"),
    ));
    let key = if r.starts_with("pkg:") {
        keys::purl_key(r, at, f)
    } else {
        None
    };
    Some((key.unwrap_or_else(|| keys::name_key(cx.scope, r)), idents))
}

/// Key and raw identifiers of a component: purl, cpe, hashes, else `[group/]name[ version]`.
fn component_key(
    scope: &str,
    c: &Value,
    at: &str,
    f: &mut Vec<Finding>,
) -> Option<(String, Map<String, Value>)> {
    let mut idents = Map::new();
    let mut cand = Candidates::default();
    for (k, raw) in [
        ("bom_ref", "bom-ref"),
        ("purl", "purl"),
        ("cpe", "cpe"),
        ("group", "group"),
        ("name", "name"),
        ("version", "version"),
    ] {
        if let Some(s) = text(c, raw) {
            idents.insert(k.into(), s.into());
        }
    }
    cand.purls.extend(text(c, "purl"));
    cand.cpes.extend(text(c, "cpe"));
    if let Some(h) = c.get("hashes") {
        idents.insert("hashes".into(), h.clone());
        cand.hashes = varr(c, "hashes")
            .iter()
            .filter_map(|x| Some((text(x, "alg")?, text(x, "content")?)))
            .collect();
    }
    cand.name = text(c, "name").map(|n| {
        let mut s = match text(c, "group") {
            Some(g) => format!("{g}/{n}"),
            None => n.to_string(),
        };
        if let Some(v) = text(c, "version") {
            s.push(' ');
            s.push_str(v);
        }
        s
    });
    Some((cand.key(scope, at, f)?, idents))
}
