//! # evl-vex: VEX documents to statement nodes
//!
//! Reads OpenVEX (0.2.0, legacy 0.0.1 upgraded), CSAF 2.0 (VEX profile) and CycloneDX
//! 1.4–1.6 VEX documents into one `blob/v1` node holding the raw text plus one
//! `vex.statement/v1` node per vulnerability × product [× subcomponent] (docs/vex-model.md,
//! SPEC.md §14). Normalization rules: docs/vex-ingest.md.
//!
//! Tolerant, never silent: a document that is VEX but breaks its schema or profile is ingested
//! and what was wrong becomes a finding (on the statement, or on the document when no statement
//! carries it); an entry that cannot be mapped is skipped with a document finding. Only input
//! that is not JSON, or JSON that is not VEX, is an error.
//!
//! The crate is pure, like `evl-sdk`, on which it builds (strict JSON, nodes, statement
//! digests): [`ingest`] takes bytes and returns nodes. It does no I/O, reads no clock and stores
//! nothing. Putting the nodes on a log and computing or replaying a consensus over the log are
//! `evl_ledger::vex` (which re-exports this crate's items); the consensus rules themselves are
//! `evl_sdk::vex`.

mod csaf;
mod csaf_tree;
mod cyclonedx;
mod finding;
mod ids;
mod keys;
mod openvex;
mod purl;
mod statement;
mod timestamp;

pub use evl_sdk::vex::STATEMENT_TYPE;
pub use finding::{Finding, FindingCode};

use evl_sdk::vex::VexError;
use evl_sdk::{JsonError, Node, NodeError, NodeId, Timestamp};
use finding::{ptr, sort_findings};
use serde_json::{Value, json};
use statement::Draft;

/// Most statements one document may produce.
///
/// Rationale: the largest real VEX documents seen (Red Hat CSAF, ~700 KB) produce under a
/// thousand statements; a 16 MiB document listing short product ids could ask for millions of
/// ~1.5 KB nodes. 100 000 is 100× the real maximum and bounds memory to ~150 MB.
pub const MAX_STATEMENTS: usize = 100_000;

/// Most (product, flag/threat/remediation) pairs CSAF group expansion may produce per document.
///
/// Rationale: N flags naming a group of M products cost N×M; real documents stay under 10^4.
/// The bound keeps a crafted document from quadratic blow-up.
pub const MAX_COVERAGE_PAIRS: usize = 5_000_000;

/// The media type of the raw-document blob (what `evl append --as-blob application/json` makes).
pub const BLOB_MEDIA_TYPE: &str = "application/json";

/// The three supported formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum VexFormat {
    /// OpenVEX (openvex.dev).
    OpenVex,
    /// CSAF 2.0, VEX profile.
    Csaf,
    /// CycloneDX with `vulnerabilities[].analysis`.
    CycloneDx,
}

impl VexFormat {
    /// The `format` member value.
    pub const fn as_str(self) -> &'static str {
        match self {
            VexFormat::OpenVex => "openvex",
            VexFormat::Csaf => "csaf",
            VexFormat::CycloneDx => "cyclonedx",
        }
    }
}

/// Why a document could not be ingested at all.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// Not strict JSON (the `evl_sdk` JSON codes: `JSON_SYNTAX`, `DUPLICATE_KEY`, …).
    #[error(transparent)]
    Json(#[from] JsonError),
    /// JSON, but none of the supported VEX formats.
    #[error("NOT_VEX: {0}")]
    NotVex(&'static str),
    /// The document would produce more than [`MAX_STATEMENTS`] statements or
    /// [`MAX_COVERAGE_PAIRS`] coverage pairs.
    #[error("TOO_LARGE: {0}")]
    TooLarge(&'static str),
    /// A node could not be built (e.g. the blob exceeds `MAX_NODE_BYTES`).
    #[error(transparent)]
    Node(#[from] NodeError),
    /// A statement node could not be built (the sdk's `VEX_*` codes; not expected).
    #[error(transparent)]
    Statement(#[from] VexError),
}

impl IngestError {
    /// The stable code.
    pub fn code(&self) -> &'static str {
        match self {
            IngestError::Json(e) => e.code().as_str(),
            IngestError::NotVex(_) => "NOT_VEX",
            IngestError::TooLarge(_) => "TOO_LARGE",
            IngestError::Node(e) => e.code().as_str(),
            IngestError::Statement(e) => e.code().as_str(),
        }
    }
}

/// The result of ingesting one document. Only [`ingest`] builds it.
#[derive(Clone, Debug)]
pub struct Ingested {
    format: VexFormat,
    format_version: String,
    blob: Node,
    statements: Vec<Node>,
    findings: Vec<Finding>,
}

impl Ingested {
    /// The detected format.
    pub fn format(&self) -> VexFormat {
        self.format
    }
    /// The declared format version (e.g. `0.2.0`, `2.0`, `1.6`).
    pub fn format_version(&self) -> &str {
        &self.format_version
    }
    /// The `blob/v1` node of the raw document; every statement's `source_doc`.
    pub fn blob(&self) -> &Node {
        &self.blob
    }
    /// The `vex.statement/v1` nodes, in document order.
    pub fn statements(&self) -> &[Node] {
        &self.statements
    }
    /// Document-level findings (skipped entries, document defects), sorted by (pointer, code).
    pub fn findings(&self) -> &[Finding] {
        &self.findings
    }
    /// The blob, the statements and the document findings.
    pub fn into_parts(self) -> (Node, Vec<Node>, Vec<Finding>) {
        (self.blob, self.statements, self.findings)
    }
}

/// Detects the format of `raw` and maps it (docs/vex-ingest.md).
pub fn ingest(raw: &[u8]) -> Result<Ingested, IngestError> {
    let value = evl_sdk::jcs::parse(raw)?;
    let format = detect(&value)?;
    // `jcs::parse` accepted the bytes, so they are UTF-8.
    let text = core::str::from_utf8(raw).map_err(|_| IngestError::NotVex("not UTF-8"))?;
    let blob = Node::from_value(json!({"type": "blob/v1", "media_type": BLOB_MEDIA_TYPE, "data": text}))?;
    let source = blob.id();
    let doc = &value;
    let mut out = Out::default();
    let meta = match format {
        VexFormat::OpenVex => openvex::read(doc, source, &mut out)?,
        VexFormat::Csaf => csaf::read(doc, source, &mut out)?,
        VexFormat::CycloneDx => cyclonedx::read(doc, source, &mut out)?,
    };
    let statements = out
        .drafts
        .into_iter()
        .map(|d| statement::build(&meta, source, d))
        .collect::<Result<Vec<_>, _>>()?;
    let mut findings = out.findings;
    sort_findings(&mut findings);
    Ok(Ingested {
        format,
        format_version: meta.format_version,
        blob,
        statements,
        findings,
    })
}

/// Parses RFC 3339 date-time text (any offset, 0–9 fraction digits; the rules of
/// docs/vex-ingest.md §8) into an `as_of`: UTC, fraction dropped, since `as_of` has whole
/// seconds (SPEC.md §2.5). `None` if it is not such a time.
pub fn parse_as_of(s: &str) -> Option<Timestamp> {
    if let Ok(t) = Timestamp::parse(s) {
        return Some(t);
    }
    let n = timestamp::normalize(s).ok()?;
    // `YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ` → `YYYY-MM-DDTHH:MM:SSZ`.
    let whole = format!("{}Z", n.text.get(..19)?);
    Timestamp::parse(&whole).ok()
}

const OPENVEX_CONTEXT: &str = "https://openvex.dev/ns";

fn openvex_context(doc: &Value) -> Option<&str> {
    let is = |s: &&str| s.starts_with(OPENVEX_CONTEXT);
    match doc.get("@context")? {
        Value::String(s) => Some(s.as_str()).filter(is),
        Value::Array(a) => a.iter().filter_map(Value::as_str).find(is),
        _ => None,
    }
}

fn detect(v: &Value) -> Result<VexFormat, IngestError> {
    let doc = v;
    if !doc.is_object() {
        return Err(IngestError::NotVex("not a JSON object"));
    }
    if openvex_context(doc).is_some() {
        return Ok(VexFormat::OpenVex);
    }
    if let Some(d) = doc.get("document").filter(|d| d.get("csaf_version").is_some()) {
        let vex_profile = d.get("category").and_then(Value::as_str) == Some("csaf_vex");
        let has_status = varr(doc, "vulnerabilities")
            .iter()
            .any(|v| v.get("product_status").is_some());
        return if vex_profile || has_status {
            Ok(VexFormat::Csaf)
        } else {
            Err(IngestError::NotVex(
                "CSAF document that is not csaf_vex and has no product_status",
            ))
        };
    }
    if doc.get("bomFormat").and_then(Value::as_str) == Some("CycloneDX") {
        return if varr(doc, "vulnerabilities").is_empty() {
            Err(IngestError::NotVex(
                "CycloneDX BOM without vulnerabilities (an SBOM, not VEX)",
            ))
        } else {
            Ok(VexFormat::CycloneDx)
        };
    }
    Err(IngestError::NotVex(
        "no OpenVEX @context, CSAF document.csaf_version or CycloneDX bomFormat",
    ))
}

/// What a format reader produces besides its [`DocMeta`].
#[derive(Default)]
pub(crate) struct Out {
    drafts: Vec<Draft>,
    findings: Vec<Finding>,
    coverage_pairs: usize,
}

impl Out {
    fn push(&mut self, mut d: Draft) -> Result<(), IngestError> {
        if let Err(f) = d.enforce_limits() {
            self.findings.push(f);
            return Ok(());
        }
        if self.drafts.len() >= MAX_STATEMENTS {
            return Err(IngestError::TooLarge(
                "document produces more than MAX_STATEMENTS statements",
            ));
        }
        self.drafts.push(d);
        Ok(())
    }
    fn finding(&mut self, code: FindingCode, pointer: impl Into<String>, message: impl Into<String>) {
        self.findings.push(Finding::new(code, pointer, message));
    }
    /// Counts coverage pairs against [`MAX_COVERAGE_PAIRS`].
    fn spend(&mut self, pairs: usize) -> Result<(), IngestError> {
        self.coverage_pairs = self.coverage_pairs.saturating_add(pairs);
        if self.coverage_pairs > MAX_COVERAGE_PAIRS {
            return Err(IngestError::TooLarge(
                "CSAF group expansion exceeds MAX_COVERAGE_PAIRS",
            ));
        }
        Ok(())
    }
}

// --- small JSON helpers shared by the readers ---

/// A non-blank string member.
fn text<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty())
}

/// An array member of a value, or an empty slice.
fn varr<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v.get(key).and_then(Value::as_array).map_or(&[], Vec::as_slice)
}

/// A version member (integer or string) as a string.
fn version_string(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Normalizes the timestamp at `key` of `v`; a present but invalid one is a finding.
fn timestamp_at(v: &Value, key: &str, pointer: &str, findings: &mut Vec<Finding>) -> Option<String> {
    let raw = v.get(key)?;
    let at = ptr(pointer, key);
    let Some(s) = raw.as_str() else {
        findings.push(Finding::new(
            FindingCode::TimestampInvalid,
            at,
            "timestamp is not a string; ignored",
        ));
        return None;
    };
    match timestamp::normalize(s) {
        Ok(n) => {
            if n.truncated {
                findings.push(Finding::new(
                    FindingCode::TimestampTruncated,
                    at,
                    format!("{s:?} has more than 9 fraction digits; truncated"),
                ));
            }
            Some(n.text)
        }
        Err(_) => {
            findings.push(Finding::new(
                FindingCode::TimestampInvalid,
                at,
                format!("{s:?} is not an RFC 3339 date-time; ignored"),
            ));
            None
        }
    }
}

/// Where a finding about a missing member `key` of `parent` points: the member if its parent
/// exists, else the parent (pointers of document findings always have an existing parent).
fn missing(doc: &Value, parent: &str, key: &str) -> String {
    if doc.pointer(parent).is_some() {
        ptr(parent, key)
    } else {
        parent.to_string()
    }
}

/// The issuer id of a document with no usable author: scoped to the document's bytes, so that
/// unrelated anonymous documents never supersede each other (docs/vex-ingest.md "Issuer ids").
fn anonymous_issuer(source: NodeId) -> String {
    format!("anonymous:{source}")
}

/// The scope of `name:` product keys: the issuer, or for an anonymous issuer the document id
/// when there is one.
fn name_scope(issuer_id: &str, anonymous: bool, doc_id: Option<&str>) -> String {
    match (anonymous, doc_id) {
        (true, Some(d)) => d.to_string(),
        _ => issuer_id.to_string(),
    }
}
