//! The `vex.statement/v1` node (docs/vex-model.md; SPEC.md §14) and the rules every format
//! shares once its entry is mapped.

use super::VexFormat;
use super::finding::{Finding, FindingCode, sort_findings};
use super::ids::VulnIds;
use evl_sdk::limits::{MAX_VEX_ID_BYTES, MAX_VEX_TEXT_BYTES};
use evl_sdk::vex::{STATEMENT_TYPE, VexError, statement_digest};
use evl_sdk::{Node, NodeId};
use serde_json::{Map, Value, json};

/// The four OpenVEX statuses (the target model).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Status {
    NotAffected,
    Affected,
    Fixed,
    UnderInvestigation,
}

impl Status {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Status::NotAffected => "not_affected",
            Status::Affected => "affected",
            Status::Fixed => "fixed",
            Status::UnderInvestigation => "under_investigation",
        }
    }
    pub(crate) fn from_openvex(s: &str) -> Option<Self> {
        Some(match s {
            "not_affected" => Status::NotAffected,
            "affected" => Status::Affected,
            "fixed" => Status::Fixed,
            "under_investigation" => Status::UnderInvestigation,
            _ => return None,
        })
    }
}

/// The five OpenVEX justifications (≡ CSAF flag labels).
pub(crate) const JUSTIFICATIONS: &[&str] = &[
    "component_not_present",
    "vulnerable_code_not_present",
    "vulnerable_code_not_in_execute_path",
    "vulnerable_code_cannot_be_controlled_by_adversary",
    "inline_mitigations_already_exist",
];

/// The justification if `s` is one of the five.
pub(crate) fn justification(s: &str) -> Option<&'static str> {
    JUSTIFICATIONS.iter().copied().find(|j| *j == s)
}

/// Where `timestamp` came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TimestampSource {
    Statement,
    Document,
    Inherited,
    Revision,
    None,
}

impl TimestampSource {
    fn as_str(self) -> &'static str {
        match self {
            TimestampSource::Statement => "statement",
            TimestampSource::Document => "document",
            TimestampSource::Inherited => "inherited",
            TimestampSource::Revision => "revision",
            TimestampSource::None => "none",
        }
    }
}

/// Document-level members every statement of a document shares.
#[derive(Clone, Debug)]
pub(crate) struct DocMeta {
    pub(crate) format: VexFormat,
    pub(crate) format_version: String,
    pub(crate) issuer_id: String,
    pub(crate) issuer_claimed: String,
    pub(crate) doc_id: Option<String>,
    pub(crate) doc_version: Option<String>,
}

/// One mapped entry before the shared rules and canonicalization.
#[derive(Clone, Debug)]
pub(crate) struct Draft {
    pub(crate) vuln: VulnIds,
    pub(crate) product_key: Option<String>,
    pub(crate) product_identifiers: Map<String, Value>,
    pub(crate) subcomponent_keys: Vec<String>,
    pub(crate) status: Status,
    pub(crate) justification: Option<&'static str>,
    pub(crate) source_status: String,
    pub(crate) source_justification: Option<String>,
    pub(crate) impact_statement: Option<String>,
    pub(crate) action_statement: Option<String>,
    pub(crate) remediation_categories: Vec<String>,
    pub(crate) timestamp: Option<String>,
    pub(crate) timestamp_source: TimestampSource,
    pub(crate) statement_version: Option<u64>,
    pub(crate) position: usize,
    pub(crate) source_pointer: String,
    pub(crate) lossy: Vec<&'static str>,
    pub(crate) findings: Vec<Finding>,
}

impl Draft {
    /// A draft with the given identity and status; everything else empty.
    pub(crate) fn new(
        vuln: VulnIds,
        status: Status,
        source_status: &str,
        position: usize,
        pointer: String,
    ) -> Self {
        Self {
            vuln,
            product_key: None,
            product_identifiers: Map::new(),
            subcomponent_keys: Vec::new(),
            status,
            justification: None,
            source_status: source_status.to_string(),
            source_justification: None,
            impact_statement: None,
            action_statement: None,
            remediation_categories: Vec::new(),
            timestamp: None,
            timestamp_source: TimestampSource::None,
            statement_version: None,
            position,
            source_pointer: pointer,
            lossy: Vec::new(),
            findings: Vec::new(),
        }
    }

    /// The SPEC.md §14.2 size limits: a statement whose `vuln_id` or `product_key` exceeds
    /// `MAX_VEX_ID_BYTES` cannot be stored (the returned finding goes on the document); a long
    /// alias or subcomponent key is dropped and long text truncated, each with a finding.
    pub(crate) fn enforce_limits(&mut self) -> Result<(), Finding> {
        for (name, v) in [
            ("vuln_id", Some(&self.vuln.id)),
            ("product_key", self.product_key.as_ref()),
        ] {
            if v.is_some_and(|v| v.len() > MAX_VEX_ID_BYTES) {
                return Err(Finding::new(
                    FindingCode::IdTooLong,
                    self.source_pointer.clone(),
                    format!("{name} longer than {MAX_VEX_ID_BYTES} bytes; statement skipped"),
                ));
            }
        }
        let mut dropped = 0;
        for list in [
            &mut self.vuln.aliases,
            &mut self.subcomponent_keys,
            &mut self.remediation_categories,
        ] {
            let before = list.len();
            list.retain(|k| !k.is_empty() && k.len() <= MAX_VEX_ID_BYTES);
            dropped += before - list.len();
        }
        if dropped > 0 {
            self.finding(
                FindingCode::IdTooLong,
                format!(
                    "{dropped} alias(es) or subcomponent key(s) longer than {MAX_VEX_ID_BYTES} bytes dropped"
                ),
            );
        }
        let mut cut = Vec::new();
        for (name, t) in [
            ("impact_statement", &mut self.impact_statement),
            ("action_statement", &mut self.action_statement),
        ] {
            if let Some(t) = t.as_mut().filter(|t| t.len() > MAX_VEX_TEXT_BYTES) {
                let mut end = MAX_VEX_TEXT_BYTES;
                while !t.is_char_boundary(end) {
                    end -= 1;
                }
                t.truncate(end);
                cut.push(name);
            }
        }
        for name in cut {
            self.finding(
                FindingCode::TextTruncated,
                format!("{name} truncated to {MAX_VEX_TEXT_BYTES} bytes"),
            );
        }
        Ok(())
    }

    fn finding(&mut self, code: FindingCode, message: impl Into<String>) {
        self.findings
            .push(Finding::new(code, self.source_pointer.clone(), message));
    }

    /// The rules shared by all formats (docs/vex-ingest.md "Shared rules").
    fn apply_shared_rules(&mut self) {
        let blank = |s: &mut Option<String>| {
            if s.as_deref().is_some_and(|x| x.trim().is_empty()) {
                *s = None;
            }
        };
        blank(&mut self.impact_statement);
        blank(&mut self.action_statement);
        blank(&mut self.source_justification);
        if self.status != Status::NotAffected && self.justification.is_some() {
            self.justification = None;
            let raw = self.source_justification.clone().unwrap_or_default();
            self.finding(
                FindingCode::JustificationWithoutNotAffected,
                format!(
                    "justification {raw:?} on status {}; not mapped",
                    self.source_status
                ),
            );
        }
        if self.status == Status::NotAffected
            && self.justification.is_none()
            && self.impact_statement.is_none()
        {
            self.finding(
                FindingCode::NotAffectedWithoutJustification,
                "not_affected with neither a justification nor an impact statement",
            );
        }
        if self.status == Status::Affected && self.action_statement.is_none() {
            self.finding(
                FindingCode::AffectedWithoutActionStatement,
                "affected with no action statement",
            );
        }
        if self.product_key.is_none() {
            self.finding(
                FindingCode::NoProduct,
                "statement names no product; stored, but not keyed for consensus",
            );
        }
        self.subcomponent_keys.sort();
        self.subcomponent_keys.dedup();
        self.remediation_categories.sort();
        self.remediation_categories.dedup();
        self.lossy.sort_unstable();
        self.lossy.dedup();
        sort_findings(&mut self.findings);
    }
}

fn opt(s: Option<String>) -> Value {
    s.map_or(Value::Null, Value::String)
}

/// Builds the statement node: every member present, `statement_digest` over the JCS bytes of
/// the object without `statement_digest`, `findings` and `links`.
pub(crate) fn build(meta: &DocMeta, source_doc: NodeId, mut d: Draft) -> Result<Node, VexError> {
    d.apply_shared_rules();
    let mut m = Map::new();
    m.insert("type".into(), STATEMENT_TYPE.into());
    m.insert("vuln_id".into(), d.vuln.id.into());
    m.insert("vuln_aliases".into(), d.vuln.aliases.into());
    m.insert("product_key".into(), opt(d.product_key));
    m.insert("product_identifiers".into(), Value::Object(d.product_identifiers));
    m.insert("subcomponent_keys".into(), d.subcomponent_keys.into());
    m.insert("status".into(), d.status.as_str().into());
    m.insert(
        "justification".into(),
        d.justification.map_or(Value::Null, Value::from),
    );
    m.insert("source_status".into(), d.source_status.into());
    m.insert("source_justification".into(), opt(d.source_justification));
    m.insert("impact_statement".into(), opt(d.impact_statement));
    m.insert("action_statement".into(), opt(d.action_statement));
    m.insert("remediation_categories".into(), d.remediation_categories.into());
    m.insert("timestamp".into(), opt(d.timestamp));
    m.insert("timestamp_source".into(), d.timestamp_source.as_str().into());
    m.insert("issuer_id".into(), bounded_id(&meta.issuer_id).into());
    m.insert("issuer_claimed".into(), meta.issuer_claimed.clone().into());
    // No sample carries an embedded signature; an unverified one is a finding, not "verified".
    m.insert("signature".into(), "absent".into());
    m.insert("doc_id".into(), opt(meta.doc_id.clone()));
    m.insert("doc_version".into(), opt(meta.doc_version.clone()));
    m.insert(
        "statement_version".into(),
        d.statement_version.map_or(Value::Null, Value::from),
    );
    m.insert("position".into(), (d.position as u64).into());
    m.insert("format".into(), meta.format.as_str().into());
    m.insert("format_version".into(), meta.format_version.clone().into());
    m.insert("source_pointer".into(), d.source_pointer.into());
    m.insert("source_doc".into(), source_doc.to_string().into());
    m.insert("lossy".into(), d.lossy.into());
    let mut v = Value::Object(m);
    let digest = statement_digest(&v)?.to_hex();
    if let Value::Object(m) = &mut v {
        m.insert("statement_digest".into(), digest.into());
        m.insert(
            "findings".into(),
            d.findings.iter().map(Finding::to_value).collect(),
        );
        m.insert(
            "links".into(),
            json!([{"rel": "source", "id": source_doc.to_string()}]),
        );
    }
    Node::from_value(v).map_err(VexError::Node)
}

/// An issuer id within SPEC.md §14.2's `MAX_VEX_ID_BYTES`: ids that are too long (only possible
/// from a hostile or broken document) are replaced by `sha256:` and the hex SHA-256 of the full
/// id, which is stable and cannot collide with a slug or a URL-derived id.
pub(crate) fn bounded_id(id: &str) -> String {
    if !id.is_empty() && id.len() <= MAX_VEX_ID_BYTES {
        id.to_owned()
    } else {
        format!("sha256:{}", evl_sdk::sha256(id.as_bytes()).to_hex())
    }
}
