//! The typed `vex.statement/v1` node (SPEC.md §14.2).

use super::{
    Format, Justification, Obj, STATEMENT_TYPE, SignatureState, Status, TimestampSource, VexError, check_id,
    check_type, pointer_push,
};
use crate::hash::{Digest, sha256};
use crate::jcs;
use crate::limits::{MAX_VEX_ID_BYTES, MAX_VEX_TEXT_BYTES};
use crate::node::{Node, NodeError, NodeId};
use crate::time::Timestamp;
use core::fmt;
use serde_json::{Map, Value};

/// Members left out of the `statement_digest` preimage (SPEC.md §14.2 rule 4).
const DIGEST_EXCLUDED: [&str; 3] = ["statement_digest", "findings", "links"];

/// A statement time: UTC with nanosecond precision, written `YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ`
/// (exactly nine fraction digits; SPEC.md §14.2 rule 5). Ordered by instant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StatementTime {
    secs: Timestamp,
    nanos: u32,
}

impl StatementTime {
    /// Length of the only accepted form.
    const LEN: usize = 30;

    /// Parses `YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ` (years 1970–9999, the date and time rules of
    /// SPEC.md §2.5).
    pub fn parse(s: &str) -> Option<Self> {
        let b = s.as_bytes();
        if b.len() != Self::LEN || b[19] != b'.' || b[29] != b'Z' {
            return None;
        }
        let mut nanos = 0u32;
        for &c in &b[20..29] {
            if !c.is_ascii_digit() {
                return None;
            }
            nanos = nanos * 10 + u32::from(c - b'0');
        }
        // The first 19 bytes are ASCII here (checked by the byte tests above and below), so
        // slicing at 19 is on a char boundary; `get` keeps that panic-free regardless.
        let head = s.get(..19)?;
        let secs = Timestamp::parse(&format!("{head}Z")).ok()?;
        Some(Self { secs, nanos })
    }

    /// Seconds part.
    pub fn seconds(&self) -> Timestamp {
        self.secs
    }
    /// Nanoseconds within the second (0..10^9).
    pub fn subsec_nanos(&self) -> u32 {
        self.nanos
    }
    /// Nanoseconds since the Unix epoch.
    pub fn unix_nanos(&self) -> i128 {
        i128::from(self.secs.unix()) * 1_000_000_000 + i128::from(self.nanos)
    }
}

impl fmt::Display for StatementTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.secs.to_string();
        write!(f, "{}.{:09}Z", s.trim_end_matches('Z'), self.nanos)
    }
}

/// One validation finding recorded on a statement by ingest.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Finding {
    /// JSON Pointer into the raw document.
    pub pointer: String,
    /// Finding code, e.g. `range_status_mismatch`.
    pub code: String,
    /// Human-readable message.
    pub message: String,
}

/// A normalized VEX statement: one vulnerability × product [× subcomponents] assertion by one
/// issuer, parsed strictly from a `vex.statement/v1` node (SPEC.md §14.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Statement {
    node_id: NodeId,
    vuln_id: String,
    vuln_aliases: Vec<String>,
    product_key: Option<String>,
    product_identifiers: Map<String, Value>,
    subcomponent_keys: Vec<String>,
    status: Status,
    justification: Option<Justification>,
    source_status: String,
    source_justification: Option<String>,
    impact_statement: Option<String>,
    action_statement: Option<String>,
    remediation_categories: Vec<String>,
    timestamp: Option<StatementTime>,
    timestamp_source: TimestampSource,
    issuer_id: String,
    issuer_claimed: String,
    signature: SignatureState,
    doc_id: Option<String>,
    doc_version: Option<String>,
    statement_version: Option<u64>,
    position: u64,
    format: Format,
    format_version: String,
    source_pointer: String,
    source_doc: NodeId,
    lossy: Vec<String>,
    statement_digest: Digest,
    findings: Vec<Finding>,
}

/// The `statement_digest` of a statement value: SHA-256 of the RFC 8785 bytes of the object
/// without `statement_digest`, `findings` and `links` (SPEC.md §14.2 rule 4). Ingest calls this
/// to fill in the member; [`Statement::from_node`] calls it to check it.
pub fn statement_digest(value: &Value) -> Result<Digest, VexError> {
    let Value::Object(map) = value else {
        return Err(VexError::Invalid {
            node_type: STATEMENT_TYPE,
            pointer: String::new(),
            reason: "must be an object",
        });
    };
    let mut pre = map.clone();
    for k in DIGEST_EXCLUDED {
        pre.remove(k);
    }
    let bytes = jcs::serialize(&Value::Object(pre)).map_err(|e| VexError::Node(NodeError::Json(e)))?;
    Ok(sha256(&bytes))
}

fn text(obj: &mut Obj<'_>, name: &'static str) -> Result<Option<String>, VexError> {
    let v = obj.string_or_null(name)?;
    if v.is_some_and(|s| s.len() > MAX_VEX_TEXT_BYTES) {
        return Err(obj.err(name, "longer than MAX_VEX_TEXT_BYTES"));
    }
    Ok(v.map(str::to_owned))
}

fn enum_member<T>(
    obj: &mut Obj<'_>,
    name: &'static str,
    parse: fn(&str) -> Option<T>,
) -> Result<T, VexError> {
    let s = obj.string(name)?;
    parse(s).ok_or_else(|| obj.err(name, "not one of the allowed values"))
}

impl Statement {
    /// Parses a `vex.statement/v1` node strictly (SPEC.md §14.2): every member present with its
    /// type, no unknown members, sorted arrays, a `statement_digest` that matches, and `links`
    /// exactly `[{"rel":"source","id":source_doc}]`. Fails with `VEX_INVALID` naming the member.
    pub fn from_node(node: &Node) -> Result<Self, VexError> {
        let value = node.value();
        let mut o = Obj::new(&value, STATEMENT_TYPE, String::new())?;
        check_type(&mut o, STATEMENT_TYPE)?;

        let vuln_id = o.string("vuln_id")?;
        check_id(&o, "vuln_id", vuln_id)?;
        let vuln_aliases = o.sorted_strings("vuln_aliases", MAX_VEX_ID_BYTES, true)?;
        if vuln_aliases.iter().any(|a| a == vuln_id) {
            return Err(o.err("vuln_aliases", "must not contain vuln_id"));
        }
        let product_key = o.string_or_null("product_key")?;
        if let Some(p) = product_key {
            check_id(&o, "product_key", p)?;
        }
        let product_identifiers = match o.req("product_identifiers")? {
            Value::Object(m) => m.clone(),
            _ => return Err(o.err("product_identifiers", "must be an object")),
        };
        let subcomponent_keys = o.sorted_strings("subcomponent_keys", MAX_VEX_ID_BYTES, false)?;
        let status = enum_member(&mut o, "status", Status::parse)?;
        let justification = match o.string_or_null("justification")? {
            None => None,
            Some(s) => Some(
                Justification::parse(s)
                    .ok_or_else(|| o.err("justification", "not an OpenVEX justification"))?,
            ),
        };
        let source_status = o.string("source_status")?.to_owned();
        let source_justification = o.string_or_null("source_justification")?.map(str::to_owned);
        let impact_statement = text(&mut o, "impact_statement")?;
        let action_statement = text(&mut o, "action_statement")?;
        let remediation_categories = o.sorted_strings("remediation_categories", MAX_VEX_ID_BYTES, false)?;
        let timestamp = match o.string_or_null("timestamp")? {
            None => None,
            Some(s) => Some(StatementTime::parse(s).ok_or_else(|| {
                o.err(
                    "timestamp",
                    "must be YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ (nine fraction digits)",
                )
            })?),
        };
        let timestamp_source = enum_member(&mut o, "timestamp_source", TimestampSource::parse)?;
        if timestamp.is_none() != (timestamp_source == TimestampSource::None) {
            return Err(o.err(
                "timestamp_source",
                "must be \"none\" exactly when timestamp is null",
            ));
        }
        let issuer_id = o.string("issuer_id")?;
        check_id(&o, "issuer_id", issuer_id)?;
        let issuer_claimed = o.string("issuer_claimed")?.to_owned();
        let signature = enum_member(&mut o, "signature", SignatureState::parse)?;
        let doc_id = o.string_or_null("doc_id")?.map(str::to_owned);
        let doc_version = o.string_or_null("doc_version")?.map(str::to_owned);
        let statement_version = o.uint_or_null("statement_version")?;
        let position = o.uint("position")?;
        let format = enum_member(&mut o, "format", Format::parse)?;
        let format_version = o.string("format_version")?.to_owned();
        let source_pointer = o.string("source_pointer")?;
        if !(source_pointer.is_empty() || source_pointer.starts_with('/')) {
            return Err(o.err("source_pointer", "must be an RFC 6901 JSON Pointer"));
        }
        let source_pointer = source_pointer.to_owned();
        let source_doc: NodeId = o
            .string("source_doc")?
            .parse()
            .map_err(|_| o.err("source_doc", "must be a NodeId"))?;
        let lossy = o.sorted_strings("lossy", MAX_VEX_ID_BYTES, false)?;
        let digest_hex = o.string("statement_digest")?;
        if digest_hex.len() != 64 || !digest_hex.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(o.err("statement_digest", "must be 64 lowercase hex digits"));
        }
        let claimed = Digest::from_hex(digest_hex).ok_or_else(|| o.err("statement_digest", "bad hex"))?;
        let findings = parse_findings(&mut o)?;
        check_links(&mut o, &source_doc)?;
        let (vuln_id, issuer_id) = (vuln_id.to_owned(), issuer_id.to_owned());
        let product_key = product_key.map(str::to_owned);
        o.finish(&[])?;

        let statement_digest = statement_digest(&value)?;
        if statement_digest != claimed {
            return Err(VexError::Invalid {
                node_type: STATEMENT_TYPE,
                pointer: "/statement_digest".into(),
                reason: "does not match the SHA-256 of the canonical statement",
            });
        }
        Ok(Self {
            node_id: node.id(),
            vuln_id,
            vuln_aliases,
            product_key,
            product_identifiers,
            subcomponent_keys,
            status,
            justification,
            source_status,
            source_justification,
            impact_statement,
            action_statement,
            remediation_categories,
            timestamp,
            timestamp_source,
            issuer_id,
            issuer_claimed,
            signature,
            doc_id,
            doc_version,
            statement_version,
            position,
            format,
            format_version,
            source_pointer,
            source_doc,
            lossy,
            statement_digest,
            findings,
        })
    }

    /// The NodeId of the statement node.
    pub fn node_id(&self) -> NodeId {
        self.node_id
    }
    /// Canonical vulnerability id.
    pub fn vuln_id(&self) -> &str {
        &self.vuln_id
    }
    /// Other ids of the vulnerability, sorted.
    pub fn vuln_aliases(&self) -> &[String] {
        &self.vuln_aliases
    }
    /// Canonical product key, if the statement names a product.
    pub fn product_key(&self) -> Option<&str> {
        self.product_key.as_deref()
    }
    /// Raw product identifiers as found.
    pub fn product_identifiers(&self) -> &Map<String, Value> {
        &self.product_identifiers
    }
    /// Canonical subcomponent keys, sorted.
    pub fn subcomponent_keys(&self) -> &[String] {
        &self.subcomponent_keys
    }
    /// The status.
    pub fn status(&self) -> Status {
        self.status
    }
    /// The OpenVEX justification, if any.
    pub fn justification(&self) -> Option<Justification> {
        self.justification
    }
    /// The format-native status.
    pub fn source_status(&self) -> &str {
        &self.source_status
    }
    /// The format-native justification.
    pub fn source_justification(&self) -> Option<&str> {
        self.source_justification.as_deref()
    }
    /// Impact statement.
    pub fn impact_statement(&self) -> Option<&str> {
        self.impact_statement.as_deref()
    }
    /// Action statement.
    pub fn action_statement(&self) -> Option<&str> {
        self.action_statement.as_deref()
    }
    /// Remediation categories, sorted.
    pub fn remediation_categories(&self) -> &[String] {
        &self.remediation_categories
    }
    /// Statement time, if any.
    pub fn timestamp(&self) -> Option<StatementTime> {
        self.timestamp
    }
    /// Where the time came from.
    pub fn timestamp_source(&self) -> TimestampSource {
        self.timestamp_source
    }
    /// Trust-registry key of the issuer.
    pub fn issuer_id(&self) -> &str {
        &self.issuer_id
    }
    /// Issuer as written in the document.
    pub fn issuer_claimed(&self) -> &str {
        &self.issuer_claimed
    }
    /// Signature check outcome.
    pub fn signature(&self) -> SignatureState {
        self.signature
    }
    /// Document id.
    pub fn doc_id(&self) -> Option<&str> {
        self.doc_id.as_deref()
    }
    /// Document version.
    pub fn doc_version(&self) -> Option<&str> {
        self.doc_version.as_deref()
    }
    /// OpenVEX statement version.
    pub fn statement_version(&self) -> Option<u64> {
        self.statement_version
    }
    /// 0-based position of the source entry in its document.
    pub fn position(&self) -> u64 {
        self.position
    }
    /// Source format.
    pub fn format(&self) -> Format {
        self.format
    }
    /// Source format version.
    pub fn format_version(&self) -> &str {
        &self.format_version
    }
    /// JSON Pointer into the raw document.
    pub fn source_pointer(&self) -> &str {
        &self.source_pointer
    }
    /// The `blob/v1` node with the raw document.
    pub fn source_doc(&self) -> NodeId {
        self.source_doc
    }
    /// Lossy-mapping flags, sorted.
    pub fn lossy(&self) -> &[String] {
        &self.lossy
    }
    /// The checked `statement_digest`.
    pub fn statement_digest(&self) -> Digest {
        self.statement_digest
    }
    /// Validation findings, sorted by (pointer, code).
    pub fn findings(&self) -> &[Finding] {
        &self.findings
    }
}

fn parse_findings(o: &mut Obj<'_>) -> Result<Vec<Finding>, VexError> {
    let items = o.array("findings")?;
    let base = o.path("findings");
    let mut out: Vec<Finding> = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let mut f = Obj::new(item, STATEMENT_TYPE, pointer_push(&base, &i.to_string()))?;
        let finding = Finding {
            code: f.string("code")?.to_owned(),
            message: f.string("message")?.to_owned(),
            pointer: f.string("pointer")?.to_owned(),
        };
        f.finish(&[])?;
        if out
            .last()
            .is_some_and(|p| (&p.pointer, &p.code) > (&finding.pointer, &finding.code))
        {
            return Err(VexError::Invalid {
                node_type: STATEMENT_TYPE,
                pointer: pointer_push(&base, &i.to_string()),
                reason: "findings must be sorted by (pointer, code)",
            });
        }
        out.push(finding);
    }
    Ok(out)
}

fn check_links(o: &mut Obj<'_>, source_doc: &NodeId) -> Result<(), VexError> {
    let links = o.array("links")?;
    let ok = match links {
        [Value::Object(l)] => {
            l.len() == 2
                && l.get("rel").and_then(Value::as_str) == Some("source")
                && l.get("id").and_then(Value::as_str) == Some(source_doc.to_string().as_str())
        }
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(o.err(
            "links",
            "must be exactly [{\"rel\":\"source\",\"id\":source_doc}]",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statement_time_round_trips() {
        let t = StatementTime::parse("2023-12-05T05:04:34.779299220Z").unwrap();
        assert_eq!(t.to_string(), "2023-12-05T05:04:34.779299220Z");
        assert_eq!(t.subsec_nanos(), 779_299_220);
        assert_eq!(t.seconds().unix(), 1_701_752_674);
        assert_eq!(t.unix_nanos(), 1_701_752_674_779_299_220);
    }

    #[test]
    fn statement_time_rejects_other_forms() {
        for s in [
            "2023-12-05T05:04:34Z",
            "2023-12-05T05:04:34.77929922Z",
            "2023-12-05T05:04:34.7792992200Z",
            "2023-12-05T05:04:34.779299220+00:00",
            "2023-12-05T05:04:34,779299220Z",
            "2023-12-05T05:04:34.77929922aZ",
            "2023-02-30T05:04:34.779299220Z",
            "1969-12-31T23:59:59.000000000Z",
            "2023-12-05t05:04:34.779299220Z",
            "2023-12-05T05:04:34.779299220z",
            "2023-12-05T05:04:3é.77929922Z",
        ] {
            assert!(StatementTime::parse(s).is_none(), "{s}");
        }
    }
}
