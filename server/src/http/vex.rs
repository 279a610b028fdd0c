//! `/v1/vex/documents` and `/v1/vex/consensus`: VEX ingest and consensus on the log
//! (SPEC.md §14, docs/vex-ingest.md). The work runs on blocking threads, like every ledger call.

use super::error::{ApiError, ErrorBody};
use super::nodes::{AppendResult, body_error, count_appended, parse_id, require_json};
use super::{AppState, ReadState};
use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use evl_ledger::AppendOutcome;
use evl_ledger::store::Store;
use evl_ledger::vex::{self, Finding};
use evl_sdk::vex::{GroupKey, Mode};
use evl_sdk::{NodeId, Receipt};
use serde::{Deserialize, Serialize};
use std::time::Instant;

/// The `POST /v1/vex/documents` response.
#[derive(Serialize, utoipa::ToSchema)]
pub struct VexDocumentResponse {
    /// `openvex`, `csaf` or `cyclonedx`.
    pub format: &'static str,
    /// The declared format version (e.g. `0.2.0`, `2.0`, `1.6`).
    pub format_version: String,
    /// False when the raw document was already in the log (a mirrored copy).
    pub created: bool,
    /// The receipt of the `blob/v1` node holding the raw document (SPEC.md §5.4).
    #[schema(value_type = Object)]
    pub document: Receipt,
    /// One per `vex.statement/v1` node, in document order.
    pub statements: Vec<AppendResult>,
    /// Document-level findings `{code, message, pointer}` (docs/vex-ingest.md §12); statement
    /// findings are inside the statement nodes.
    #[schema(value_type = Vec<Object>)]
    pub findings: Vec<Finding>,
}

/// The `POST /v1/vex/consensus` request.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsensusRequest {
    /// Canonical vulnerability id (`vuln_id` of the statements), e.g. `CVE-2023-38545`.
    pub vuln: String,
    /// Canonical product key (`product_key` of the statements), e.g. a purl.
    pub product: String,
    /// Narrow the key to one subcomponent key (SPEC.md §14.6 step 2).
    #[serde(default)]
    pub subcomponent: Option<String>,
    /// `HighestWeight`, `WeightedVote`, `Lattice` or `AuthoritativeFirst`; default: the policy's.
    #[serde(default)]
    pub mode: Option<String>,
    /// RFC 3339 time freshness is measured at (fraction dropped); default: the server's clock.
    #[serde(default)]
    pub as_of: Option<String>,
    /// NodeId of a `vex.policy/v1` node in the log; default: the default policy (SPEC.md §14.1)
    /// with the empty issuer registry.
    #[serde(default)]
    pub policy: Option<String>,
}

/// The `POST /v1/vex/consensus` response.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ConsensusResponse {
    /// False when an identical consensus node was already in the log.
    pub created: bool,
    /// The `vex.consensus/v1` node (SPEC.md §14.7); its canonical bytes are at
    /// `GET /v1/nodes/{receipt.node_id}`.
    #[schema(value_type = Object)]
    pub consensus: serde_json::Value,
    /// Its receipt (SPEC.md §5.4).
    #[schema(value_type = Object)]
    pub receipt: Receipt,
}

/// `?vuln=&product=[&mode=][&subcomponent=]`.
#[derive(Deserialize, utoipa::IntoParams)]
pub struct ConsensusQuery {
    /// Canonical vulnerability id.
    pub vuln: String,
    /// Canonical product key.
    pub product: String,
    /// Only consensus nodes computed in this mode.
    pub mode: Option<String>,
    /// The subcomponent key the consensus was narrowed to (default: none).
    pub subcomponent: Option<String>,
}

/// The `GET /v1/vex/consensus` response.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ConsensusView {
    /// The latest consensus node's NodeId.
    #[schema(value_type = String)]
    pub node_id: NodeId,
    /// Its leaf index.
    pub leaf_index: u64,
    /// The latest `vex.consensus/v1` node for the key (and mode).
    #[schema(value_type = Object)]
    pub consensus: serde_json::Value,
    /// Earlier consensus nodes for the key (and mode), newest first.
    #[schema(value_type = Vec<String>)]
    pub history: Vec<NodeId>,
}

fn parse_mode(s: Option<&str>) -> Result<Option<Mode>, ApiError> {
    s.map(|m| {
        Mode::parse(m).ok_or_else(|| {
            ApiError::bad_request(
                "BAD_REQUEST",
                format!("mode {m:?} is not one of HighestWeight, WeightedVote, Lattice, AuthoritativeFirst"),
            )
        })
    })
    .transpose()
}

fn group_key(vuln: &str, product: &str, subcomponent: Option<&str>) -> Result<GroupKey, ApiError> {
    let bad = |e: evl_sdk::vex::VexError| ApiError::bad_request(e.code().as_str(), e.to_string());
    let key = GroupKey::new(vuln, product).map_err(bad)?;
    subcomponent
        .map_or(Ok(key.clone()), |s| key.with_subcomponent(s))
        .map_err(bad)
}

/// Ingest one OpenVEX, CSAF or CycloneDX document: store the raw document and its statements.
#[utoipa::path(post, path = "/v1/vex/documents", tag = "vex",
    request_body(content = Object, description = "The raw VEX document (OpenVEX 0.2.0/0.0.1, CSAF 2.0, CycloneDX 1.4–1.6), exactly as published", content_type = "application/json"),
    responses(
        (status = 201, description = "Stored (at least one node new): the document's receipt, one result per statement, the document findings", body = VexDocumentResponse),
        (status = 200, description = "Every node was already in the log (a mirrored copy)", body = VexDocumentResponse),
        (status = 400, description = "Not JSON (JSON codes of SPEC.md §12), NOT_VEX, or TOO_LARGE (too many statements)", body = ErrorBody),
        (status = 401, description = "No token", body = ErrorBody),
        (status = 403, description = "Token lacks the append scope", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Content-Type is not JSON", body = ErrorBody),
    ),
    security(("bearer" = ["append"])))]
pub async fn post_document<S: Store>(
    State(st): State<AppState<S>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let started = Instant::now();
    let body = body.map_err(body_error)?;
    require_json(&headers)?;
    let writer = st.writer.clone();
    let out = tokio::task::spawn_blocking(move || vex::ingest_and_append(&writer, &body)).await??;
    let all: Vec<&AppendOutcome> = std::iter::once(&out.document).chain(&out.statements).collect();
    count_appended(&st, all.iter().copied());
    let status = if all.iter().any(|o| o.created) {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    st.read.metrics.append_latency.observe(started.elapsed());
    let resp = VexDocumentResponse {
        format: out.format.as_str(),
        format_version: out.format_version,
        created: out.document.created,
        document: out.document.receipt,
        statements: out
            .statements
            .into_iter()
            .map(|o| AppendResult {
                created: o.created,
                receipt: o.receipt,
            })
            .collect(),
        findings: out.findings,
    };
    Ok((status, Json(resp)).into_response())
}

/// Compute the consensus for one vulnerability × product over the statements in the log and
/// record it as a `vex.consensus/v1` node.
#[utoipa::path(post, path = "/v1/vex/consensus", tag = "vex",
    request_body(content = ConsensusRequest, content_type = "application/json",
        example = json!({"vuln": "CVE-1234-5678", "product": "pkg:apk/wolfi/bash@1.0.0", "mode": "WeightedVote", "as_of": "2026-01-01T00:00:00Z"})),
    responses(
        (status = 201, description = "The consensus node and its receipt", body = ConsensusResponse),
        (status = 200, description = "An identical consensus node was already in the log", body = ConsensusResponse),
        (status = 400, description = "Bad request body, mode, as_of (TIME_MALFORMED), policy (NODE_ID_MALFORMED, VEX_INVALID: not a policy) or key (VEX_INVALID)", body = ErrorBody),
        (status = 401, description = "No token", body = ErrorBody),
        (status = 403, description = "Token lacks the append scope", body = ErrorBody),
        (status = 404, description = "The policy, or the issuer registry it names, is not in the log", body = ErrorBody),
        (status = 415, description = "Content-Type is not JSON", body = ErrorBody),
    ),
    security(("bearer" = ["append"])))]
pub async fn post_consensus<S: Store>(
    State(st): State<AppState<S>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = body.map_err(body_error)?;
    require_json(&headers)?;
    let value =
        evl_sdk::jcs::parse(&body).map_err(|e| ApiError::bad_request(e.code().as_str(), e.to_string()))?;
    let req: ConsensusRequest =
        serde_json::from_value(value).map_err(|e| ApiError::bad_request("BAD_REQUEST", e.to_string()))?;
    let key = group_key(&req.vuln, &req.product, req.subcomponent.as_deref())?;
    let mode = parse_mode(req.mode.as_deref())?;
    let as_of = match &req.as_of {
        None => evl_ledger::time::now(),
        Some(t) => vex::parse_as_of(t).ok_or_else(|| {
            ApiError::bad_request(
                "TIME_MALFORMED",
                format!("as_of {t:?} is not an RFC 3339 date-time with an offset"),
            )
        })?,
    };
    let policy = req.policy.as_deref().map(parse_id).transpose()?;
    let writer = st.writer.clone();
    let rec = tokio::task::spawn_blocking(move || vex::compute_consensus(&writer, &key, mode, as_of, policy))
        .await??;
    count_appended(&st, std::iter::once(&rec.appended));
    let status = if rec.appended.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let resp = ConsensusResponse {
        created: rec.appended.created,
        consensus: rec.result.node().value(),
        receipt: rec.appended.receipt,
    };
    Ok((status, Json(resp)).into_response())
}

/// The latest recorded consensus for one vulnerability × product, with its history.
#[utoipa::path(get, path = "/v1/vex/consensus", tag = "vex", params(ConsensusQuery),
    responses(
        (status = 200, description = "The latest consensus node and the NodeIds of earlier ones, newest first", body = ConsensusView),
        (status = 400, description = "Missing vuln or product, bad mode, or a key beyond the limits (VEX_INVALID)", body = ErrorBody),
        (status = 404, description = "No consensus recorded for the key (and mode)", body = ErrorBody),
    ))]
pub async fn get_consensus<S: Store>(
    State(st): State<ReadState<S>>,
    q: Result<Query<ConsensusQuery>, QueryRejection>,
) -> Result<Json<ConsensusView>, ApiError> {
    let started = Instant::now();
    let Query(q) = q.map_err(|e| ApiError::bad_request("BAD_REQUEST", e.body_text()))?;
    let key = group_key(&q.vuln, &q.product, q.subcomponent.as_deref())?;
    let mode = parse_mode(q.mode.as_deref())?;
    let reader = st.reader.clone();
    let found = tokio::task::spawn_blocking(move || vex::consensus_history(&reader, &key, mode)).await??;
    let mut it = found.into_iter();
    let (index, latest) = it.next().ok_or_else(|| {
        ApiError::not_found("no consensus recorded for this key; POST /v1/vex/consensus computes one")
    })?;
    st.metrics.retrieval_latency.observe(started.elapsed());
    Ok(Json(ConsensusView {
        node_id: latest.id(),
        leaf_index: index.get(),
        consensus: latest.value(),
        history: it.map(|(_, n)| n.id()).collect(),
    }))
}
