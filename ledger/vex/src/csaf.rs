//! CSAF 2.0, VEX profile (docs/vex-ingest.md "CSAF").

use super::csaf_tree::Tree;
use super::finding::{Finding, FindingCode, ptr};
use super::ids::{self, VulnIds};
use super::statement::{self, DocMeta, Draft, Status, TimestampSource};
use super::{IngestError, Out, VexFormat, anonymous_issuer, missing, name_scope, text, timestamp_at, varr};
use evl_sdk::NodeId;
use serde_json::Value;
use std::collections::HashMap;

/// CSAF 2.0 product status groups in precedence order (exact mappings first) with their
/// status and lossy flag. When one product is in several groups that map to the same status,
/// the first group here is the statement's `source_status`.
const STATUSES: &[(&str, Status, Option<&str>)] = &[
    ("known_not_affected", Status::NotAffected, None),
    ("known_affected", Status::Affected, None),
    ("fixed", Status::Fixed, None),
    ("under_investigation", Status::UnderInvestigation, None),
    (
        "first_affected",
        Status::Affected,
        Some("csaf_first_affected_as_affected"),
    ),
    (
        "last_affected",
        Status::Affected,
        Some("csaf_last_affected_as_affected"),
    ),
    ("first_fixed", Status::Fixed, Some("csaf_first_fixed_as_fixed")),
    ("recommended", Status::Fixed, Some("csaf_recommended_as_fixed")),
];

pub(super) fn read(doc: &Value, source: NodeId, out: &mut Out) -> Result<DocMeta, IngestError> {
    let d = doc.get("document").unwrap_or(&Value::Null);
    let format_version = text(d, "csaf_version").unwrap_or_default().to_string();
    if format_version != "2.0" {
        out.finding(
            FindingCode::FormatVersionUnsupported,
            "/document/csaf_version",
            format!("CSAF {format_version:?} is untested; read with the 2.0 rules"),
        );
    }
    let category = text(d, "category").unwrap_or_default();
    if category != "csaf_vex" {
        out.finding(
            FindingCode::CsafCategoryNotVex,
            "/document/category",
            format!("category {category:?} is not csaf_vex; product statuses read anyway"),
        );
    }
    let publisher = d.get("publisher").unwrap_or(&Value::Null);
    let (pname, pns) = (text(publisher, "name"), text(publisher, "namespace"));
    let issuer_claimed = match (pname, pns) {
        (Some(n), Some(ns)) => format!("{n} <{ns}>"),
        (n, ns) => n.or(ns).unwrap_or_default().to_string(),
    };
    let found = pns
        .and_then(|ns| ids::url_id(ns).or_else(|| ids::slug(ns)))
        .or_else(|| pname.and_then(ids::slug));
    let anonymous = found.is_none();
    let issuer_id = found.unwrap_or_else(|| {
        out.finding(
            FindingCode::IssuerMissing,
            "/document/publisher",
            "no publisher namespace or name",
        );
        anonymous_issuer(source)
    });
    let tracking = d.get("tracking").unwrap_or(&Value::Null);
    let doc_id = text(tracking, "id").map(str::to_string);
    if doc_id.is_none() {
        out.finding(
            FindingCode::DocIdMissing,
            "/document/tracking/id",
            "no tracking.id",
        );
    }
    let doc_version = super::version_string(tracking.get("version"));
    if doc_version.is_none() {
        out.finding(
            FindingCode::DocVersionMissing,
            "/document/tracking/version",
            "no tracking.version",
        );
    }
    let (timestamp, ts_source) = doc_timestamp(tracking, out);
    if ts_source == TimestampSource::None {
        out.finding(
            FindingCode::DocTimestampMissing,
            missing(doc, "/document", "tracking"),
            "no usable release or revision date",
        );
    }
    let scope = name_scope(&issuer_id, anonymous, doc_id.as_deref());
    let tree = Tree::build(doc.get("product_tree").unwrap_or(&Value::Null), out);
    let vulns = varr(doc, "vulnerabilities");
    if vulns.is_empty() {
        out.finding(
            FindingCode::NoStatements,
            "/vulnerabilities",
            "no vulnerabilities",
        );
    }
    let cx = Ctx {
        tree: &tree,
        scope: &scope,
        timestamp,
        ts_source,
    };
    for (i, v) in vulns.iter().enumerate() {
        vulnerability(&cx, v, i, out)?;
    }
    Ok(DocMeta {
        format: VexFormat::Csaf,
        format_version,
        issuer_id,
        issuer_claimed,
        doc_id,
        doc_version,
    })
}

/// `current_release_date` ("document"); if absent or invalid, the latest `revision_history`
/// date ("revision"). Red Hat's regeneration bias is accepted (docs/vex-ingest.md).
fn doc_timestamp(tracking: &Value, out: &mut Out) -> (Option<String>, TimestampSource) {
    if let Some(t) = timestamp_at(
        tracking,
        "current_release_date",
        "/document/tracking",
        &mut out.findings,
    ) {
        return (Some(t), TimestampSource::Document);
    }
    let latest = varr(tracking, "revision_history")
        .iter()
        .enumerate()
        .filter_map(|(k, r)| {
            timestamp_at(
                r,
                "date",
                &ptr("/document/tracking/revision_history", k),
                &mut out.findings,
            )
        })
        .max();
    match latest {
        Some(t) => (Some(t), TimestampSource::Revision),
        None => {
            out.finding(
                FindingCode::DocTimestampMissing,
                "/document/tracking",
                "no usable release or revision date",
            );
            (None, TimestampSource::None)
        }
    }
}

struct Ctx<'a> {
    tree: &'a Tree<'a>,
    scope: &'a str,
    timestamp: Option<String>,
    ts_source: TimestampSource,
}

/// Product ids covered by each item of `items` (direct and through groups), as a map from
/// product id to item indexes.
fn coverage<'a>(
    cx: &Ctx<'a>,
    items: &'a [Value],
    at: &str,
    out: &mut Out,
) -> Result<HashMap<&'a str, Vec<usize>>, IngestError> {
    let mut m: HashMap<&str, Vec<usize>> = HashMap::new();
    for (k, it) in items.iter().enumerate() {
        let mut n = 0usize;
        for p in varr(it, "product_ids").iter().filter_map(Value::as_str) {
            m.entry(p).or_default().push(k);
            n += 1;
        }
        for g in varr(it, "group_ids").iter().filter_map(Value::as_str) {
            match cx.tree.groups.get(g) {
                Some(members) => {
                    for p in members {
                        m.entry(p).or_default().push(k);
                    }
                    n += members.len();
                }
                None => out.finding(
                    FindingCode::CsafUnknownGroupId,
                    ptr(&ptr(at, k), "group_ids"),
                    format!("group {g:?} is not defined; ignored"),
                ),
            }
        }
        out.spend(n)?;
    }
    for v in m.values_mut() {
        v.sort_unstable();
        v.dedup();
    }
    Ok(m)
}

fn vulnerability(cx: &Ctx<'_>, v: &Value, i: usize, out: &mut Out) -> Result<(), IngestError> {
    let at = ptr("/vulnerabilities", i);
    let Some(vuln) = vuln_ids(v) else {
        out.finding(FindingCode::VulnIdMissing, at, "no cve and no ids; skipped");
        return Ok(());
    };
    let ps = v.get("product_status").and_then(Value::as_object);
    let psp = ptr(&at, "product_status");
    for k in ps.into_iter().flat_map(|m| m.keys()) {
        if !STATUSES.iter().any(|(s, _, _)| s == k) {
            out.finding(
                FindingCode::StatusInvalid,
                ptr(&psp, k),
                format!("{k:?} is not a CSAF 2.0 product status; skipped"),
            );
        }
    }
    // Product ids in first-listed order, each with the groups listing it.
    let mut order: Vec<&str> = Vec::new();
    let mut listed: HashMap<&str, Vec<(usize, String)>> = HashMap::new();
    for (s, (key, _, _)) in STATUSES.iter().enumerate() {
        let list = ps
            .and_then(|m| m.get(*key))
            .and_then(Value::as_array)
            .map_or(&[][..], Vec::as_slice);
        for (j, pid) in list.iter().enumerate() {
            let pp = ptr(&ptr(&psp, key), j);
            let Some(pid) = pid.as_str() else {
                out.finding(
                    FindingCode::EntryMalformed,
                    pp,
                    "product id is not a string; skipped",
                );
                continue;
            };
            let e = listed.entry(pid).or_default();
            if e.iter().any(|(x, _)| *x == s) {
                out.finding(
                    FindingCode::DuplicateProductReference,
                    pp,
                    format!("{pid:?} listed twice in {key}"),
                );
                continue;
            }
            if e.is_empty() {
                order.push(pid);
            }
            e.push((s, pp));
        }
    }
    let flags = flag_labels(v, &at, out);
    let flag_cov = coverage(cx, varr(v, "flags"), &ptr(&at, "flags"), out)?;
    let threat_cov = coverage(cx, varr(v, "threats"), &ptr(&at, "threats"), out)?;
    let rem_cov = coverage(cx, varr(v, "remediations"), &ptr(&at, "remediations"), out)?;
    for pid in order {
        let mut groups = listed.remove(pid).unwrap_or_default();
        // `recommended` next to any other status is a recommendation, not an assessment.
        if groups.len() > 1 {
            groups.retain(|(s, _)| STATUSES[*s].0 != "recommended");
        }
        let mut by_status: Vec<(usize, String)> = Vec::new();
        for (s, pp) in groups {
            if !by_status.iter().any(|(x, _)| STATUSES[*x].1 == STATUSES[s].1) {
                by_status.push((s, pp));
            }
        }
        let Some(first) = by_status.first() else { continue };
        let Some(res) = cx.tree.resolve(cx.scope, pid, &first.1, out) else {
            continue;
        };
        let names: Vec<&str> = by_status.iter().map(|(s, _)| STATUSES[*s].0).collect();
        for (s, pp) in &by_status {
            let (key, status, lossy) = STATUSES[*s];
            let mut d = Draft::new(vuln.clone(), status, key, i, pp.clone());
            d.product_key = Some(res.key.clone());
            d.product_identifiers = res.idents.clone();
            d.subcomponent_keys.extend(res.sub.clone());
            d.findings = res
                .findings
                .iter()
                .map(|f| Finding::new(f.code(), pp.clone(), f.message()))
                .collect();
            d.lossy.extend(lossy);
            d.timestamp = cx.timestamp.clone();
            d.timestamp_source = cx.ts_source;
            if by_status.len() > 1 {
                d.findings.push(Finding::new(
                    FindingCode::ContradictingProductStatus,
                    pp.clone(),
                    format!("{pid:?} is listed as {} (CSAF 6.1.6)", names.join(" and ")),
                ));
            }
            apply_coverage(&mut d, v, pid, &flags, &flag_cov, &threat_cov, &rem_cov);
            out.push(d)?;
        }
    }
    Ok(())
}

/// `cve`, plus every `ids[]` entry (its text when it looks like an id, else `system_name:text`).
fn vuln_ids(v: &Value) -> Option<VulnIds> {
    let mut all: Vec<String> = text(v, "cve").map(str::to_string).into_iter().collect();
    for x in varr(v, "ids") {
        if let Some(t) = text(x, "text") {
            all.push(match text(x, "system_name") {
                Some(sys) if !ids::looks_like_vuln_id(t) => format!("{sys}:{t}"),
                _ => t.to_string(),
            });
        }
    }
    ids::canonical_vuln(all)
}

/// The label of each flag (None for an unknown label, with a finding).
fn flag_labels(v: &Value, at: &str, out: &mut Out) -> Vec<Option<&'static str>> {
    varr(v, "flags")
        .iter()
        .enumerate()
        .map(|(k, f)| {
            let raw = text(f, "label").unwrap_or_default();
            let j = statement::justification(raw);
            if j.is_none() {
                out.finding(
                    FindingCode::CsafFlagLabelInvalid,
                    ptr(&ptr(&ptr(at, "flags"), k), "label"),
                    format!("flag label {raw:?} is not a VEX justification; ignored"),
                );
            }
            j
        })
        .collect()
}

/// Justification from flags; impact statement from impact threats only for not_affected
/// products no flag covers (the Red Hat severity trap); action statement and categories from
/// remediations.
fn apply_coverage(
    d: &mut Draft,
    v: &Value,
    pid: &str,
    flags: &[Option<&'static str>],
    flag_cov: &HashMap<&str, Vec<usize>>,
    threat_cov: &HashMap<&str, Vec<usize>>,
    rem_cov: &HashMap<&str, Vec<usize>>,
) {
    let mut labels: Vec<&'static str> = flag_cov
        .get(pid)
        .into_iter()
        .flatten()
        .filter_map(|k| flags.get(*k).copied().flatten())
        .collect();
    labels.sort_unstable();
    labels.dedup();
    match labels.as_slice() {
        [] => {}
        [one] => {
            d.justification = Some(one);
            d.source_justification = Some(one.to_string());
        }
        many => {
            d.source_justification = Some(many.join(","));
            d.findings.push(Finding::new(
                FindingCode::CsafMultipleFlags,
                d.source_pointer.clone(),
                format!(
                    "flags {} all cover this product (CSAF 6.1.33); justification left unset",
                    many.join(", ")
                ),
            ));
        }
    }
    let covered_by_flag = flag_cov.contains_key(pid);
    if d.status == Status::NotAffected && !covered_by_flag {
        let threats = varr(v, "threats");
        let mut details: Vec<&str> = threat_cov
            .get(pid)
            .into_iter()
            .flatten()
            .filter_map(|k| threats.get(*k))
            .filter(|t| text(t, "category") == Some("impact"))
            .filter_map(|t| text(t, "details"))
            .collect();
        details.sort_unstable();
        details.dedup();
        if !details.is_empty() {
            d.impact_statement = Some(details.join("\n"));
        }
    }
    let rems = varr(v, "remediations");
    let mut lines = Vec::new();
    for r in rem_cov
        .get(pid)
        .into_iter()
        .flatten()
        .filter_map(|k| rems.get(*k))
    {
        let cat = text(r, "category").unwrap_or("unknown");
        d.remediation_categories.push(cat.to_string());
        lines.push(match text(r, "details") {
            Some(det) => format!("{cat}: {det}"),
            None => cat.to_string(),
        });
    }
    lines.sort();
    lines.dedup();
    if !lines.is_empty() {
        d.action_statement = Some(lines.join("\n"));
    }
}
