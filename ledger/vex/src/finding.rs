//! Validation findings: what ingest noticed but tolerated (docs/vex-ingest.md "Findings").

use serde::Serialize;

macro_rules! finding_codes {
    ($($(#[$doc:meta])* $variant:ident => $text:literal,)*) => {
        /// A stable finding code. The strings are part of the statement format (`findings[].code`):
        /// never renamed or reused.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum FindingCode {
            $($(#[$doc])* $variant,)*
        }

        impl FindingCode {
            /// Every code, in registry order.
            pub const ALL: &'static [FindingCode] = &[$(FindingCode::$variant,)*];

            /// The stable string, e.g. `"range_status_mismatch"`.
            pub const fn as_str(self) -> &'static str {
                match self { $(FindingCode::$variant => $text,)* }
            }
        }
    };
}

finding_codes! {
    // --- document level ---
    /// A CSAF document whose `document.category` is not `csaf_vex`.
    CsafCategoryNotVex => "csaf_category_not_vex",
    /// A declared format version outside the tested set (CSAF 2.0, CycloneDX 1.4–1.6,
    /// OpenVEX 0.0.1/0.2.0).
    FormatVersionUnsupported => "format_version_unsupported",
    /// OpenVEX `@context` without a version (read as v0.0.1, as go-vex does).
    OpenvexContextUnversioned => "openvex_context_unversioned",
    /// Legacy OpenVEX shapes (string vulnerability/products, string version) were upgraded.
    OpenvexLegacyUpgraded => "openvex_legacy_upgraded",
    /// No document id (`@id`, `tracking.id`, `serialNumber`).
    DocIdMissing => "doc_id_missing",
    /// No document version.
    DocVersionMissing => "doc_version_missing",
    /// No document timestamp.
    DocTimestampMissing => "doc_timestamp_missing",
    /// No author / publisher / manufacturer: the issuer is document-scoped anonymous.
    IssuerMissing => "issuer_missing",
    /// The document carries an embedded signature that ingest does not verify.
    SignatureNotVerified => "signature_not_verified",
    /// A timestamp that is not RFC 3339 date-time; it was ignored.
    TimestampInvalid => "timestamp_invalid",
    /// A timestamp with more than 9 fraction digits; truncated to nanoseconds.
    TimestampTruncated => "timestamp_truncated",
    /// The document has no statements / vulnerabilities at all.
    NoStatements => "no_statements",
    /// An entry or member of the wrong JSON type; skipped.
    EntryMalformed => "entry_malformed",
    /// An entry without a usable vulnerability id; skipped.
    VulnIdMissing => "vuln_id_missing",
    /// An entry with a missing or unknown status; skipped.
    StatusInvalid => "status_invalid",
    /// A CycloneDX vulnerability without `analysis.state` (a plain VDR entry); skipped.
    CdxNoAnalysisState => "cdx_no_analysis_state",
    /// A product with no usable identifier; skipped.
    ProductUnidentified => "product_unidentified",
    /// A CSAF product id with no definition in the product tree; skipped.
    CsafUnknownProductId => "csaf_unknown_product_id",
    /// A CSAF group id with no definition; ignored.
    CsafUnknownGroupId => "csaf_unknown_group_id",
    /// A CSAF product id defined twice with identical content (CSAF 6.1.2); deduplicated.
    CsafDuplicateProductDefinition => "csaf_duplicate_product_definition",
    /// A CSAF product id defined twice with different content (CSAF 6.1.2); the first is used.
    CsafConflictingProductDefinition => "csaf_conflicting_product_definition",
    /// A CSAF flag label that is not one of the five justifications; ignored.
    CsafFlagLabelInvalid => "csaf_flag_label_invalid",
    /// An id beyond `MAX_VEX_ID_BYTES`: the statement (long `vuln_id`/`product_key`) or the id
    /// (long alias/subcomponent key) is dropped.
    IdTooLong => "id_too_long",
    /// The same product listed twice for one status of one entry; counted once.
    DuplicateProductReference => "duplicate_product_reference",
    // --- statement level ---
    /// OpenVEX vulnerability without `name`; its `@id` was used as the id.
    OpenvexVulnNameMissing => "openvex_vuln_name_missing",
    /// OpenVEX statement member not in the schema (additionalProperties=false).
    OpenvexUnknownMember => "openvex_unknown_member",
    /// A justification value outside the format's enumeration; not mapped.
    JustificationInvalid => "justification_invalid",
    /// A justification on a status other than not_affected; not mapped.
    JustificationWithoutNotAffected => "justification_without_not_affected",
    /// not_affected with neither justification nor impact statement (OpenVEX MUST, CSAF 6.1.27.9).
    NotAffectedWithoutJustification => "not_affected_without_justification",
    /// affected with no action statement (OpenVEX MUST, CSAF 6.1.27.10).
    AffectedWithoutActionStatement => "affected_without_action_statement",
    /// One product in contradicting status groups of one entry (CSAF 6.1.6).
    ContradictingProductStatus => "contradicting_product_status",
    /// Several different CSAF justification flags cover one product (CSAF 6.1.33).
    CsafMultipleFlags => "csaf_multiple_flags",
    /// CycloneDX `analysis.state` contradicts `affects[].versions[].status`.
    RangeStatusMismatch => "range_status_mismatch",
    /// CycloneDX `protected_at_perimeter` mapped to `inline_mitigations_already_exist`, which
    /// CISA defines as not user-configurable: semantically weak.
    CdxPerimeterNotInline => "cdx_perimeter_not_inline",
    /// CycloneDX `affects[].ref` not found in the BOM and not a BOM-Link.
    CdxRefUnresolved => "cdx_ref_unresolved",
    /// A purl that does not parse; the next identifier was used.
    PurlInvalid => "purl_invalid",
    /// A purl qualifier that breaks its type's convention (e.g. Red Hat `rpmmod` without a
    /// stream); the purl is kept.
    PurlQualifierInvalid => "purl_qualifier_invalid",
    /// A golang purl version written without its `v`; normalized.
    PurlVersionNormalized => "purl_version_normalized",
    /// An impact or action statement beyond `MAX_VEX_TEXT_BYTES`; truncated.
    TextTruncated => "text_truncated",
    /// A statement without any product (`product_key` null).
    NoProduct => "no_product",
}

impl Serialize for FindingCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// One finding: a stable code, a human message and an RFC 6901 pointer into the raw document.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    code: FindingCode,
    message: String,
    pointer: String,
}

impl Finding {
    pub(crate) fn new(code: FindingCode, pointer: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            pointer: pointer.into(),
        }
    }
    /// The stable code.
    pub fn code(&self) -> FindingCode {
        self.code
    }
    /// What was noticed and what ingest did about it.
    pub fn message(&self) -> &str {
        &self.message
    }
    /// RFC 6901 JSON Pointer into the raw document.
    pub fn pointer(&self) -> &str {
        &self.pointer
    }
    pub(crate) fn to_value(&self) -> serde_json::Value {
        serde_json::json!({"code": self.code.as_str(), "message": self.message, "pointer": self.pointer})
    }
}

/// Sorts by (pointer, code string, message) and drops exact duplicates (docs/vex-model.md).
pub(crate) fn sort_findings(f: &mut Vec<Finding>) {
    let key = |x: &Finding| (x.pointer.clone(), x.code.as_str(), x.message.clone());
    f.sort_by_cached_key(key);
    f.dedup();
}

/// Appends one RFC 6901 reference token to a pointer.
pub(crate) fn ptr(base: &str, token: impl std::fmt::Display) -> String {
    let t = token.to_string();
    if t.contains(['~', '/']) {
        format!("{base}/{}", t.replace('~', "~0").replace('/', "~1"))
    } else {
        format!("{base}/{t}")
    }
}
