//! `/v1/nodes`, `/v1/checkpoint`, `/v1/proofs/consistency`.

use super::error::{ApiError, ErrorBody};
use super::{AppState, ReadState};
use crate::config::Scope;
use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use evl_ledger::AppendOutcome;
use evl_ledger::store::Store;
use evl_sdk::{Node, NodeId, Receipt, TreeSize};
use serde::{Deserialize, Serialize};
use std::sync::atomic::Ordering;
use std::time::Instant;

/// One appended node's result.
#[derive(Serialize, utoipa::ToSchema)]
pub struct AppendResult {
    /// False when the node was already in the log.
    pub created: bool,
    /// Its receipt (SPEC.md §5.4).
    #[schema(value_type = Object)]
    pub receipt: Receipt,
}

/// The POST /v1/nodes response: `AppendResult` for one node, `BatchResult` for a batch.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum AppendResponse {
    /// One node was sent.
    One(AppendResult),
    /// A batch was sent.
    Batch(BatchResult),
}

/// A batch append's results, in request order.
#[derive(Serialize, utoipa::ToSchema)]
pub struct BatchResult {
    /// One per node sent.
    pub results: Vec<AppendResult>,
}

pub(crate) fn parse_id(s: &str) -> Result<NodeId, ApiError> {
    s.parse()
        .map_err(|e: evl_sdk::node::NodeIdError| ApiError::bad_request(e.code().as_str(), e.to_string()))
}

pub(crate) fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|m| {
            let m = m.trim().to_ascii_lowercase();
            m == "application/json" || (m.starts_with("application/") && m.ends_with("+json"))
        })
        .unwrap_or(false)
}

/// 415 unless the request says it is JSON.
pub(crate) fn require_json(headers: &HeaderMap) -> Result<(), ApiError> {
    if is_json(headers) {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "UNSUPPORTED_MEDIA_TYPE",
            "send Content-Type: application/json",
        ))
    }
}

/// Counts appended and deduplicated nodes in the metrics.
pub(crate) fn count_appended<'a, S: Store>(st: &AppState<S>, out: impl Iterator<Item = &'a AppendOutcome>) {
    let (mut created, mut dup) = (0u64, 0u64);
    for o in out {
        if o.created { created += 1 } else { dup += 1 }
    }
    let m = &st.read.metrics;
    m.nodes_appended.fetch_add(created, Ordering::Relaxed);
    m.nodes_deduplicated.fetch_add(dup, Ordering::Relaxed);
}

pub(crate) fn body_error(r: BytesRejection) -> ApiError {
    if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "TOO_LARGE",
            "request body exceeds limits.max_body_bytes",
        )
    } else {
        ApiError::bad_request("BAD_REQUEST", r.body_text())
    }
}

/// Append one node, or a batch `{"nodes": [...]}`.
#[utoipa::path(post, path = "/v1/nodes", tag = "nodes",
    request_body(content = Object, description = "A node (JSON object with a `type` member), or `{\"nodes\": [node, ...]}`", content_type = "application/json",
        example = json!({"type": "x-example", "note": "hello"})),
    responses(
        (status = 201, description = "Appended (at least one node new); one node gives AppendResult, a batch gives BatchResult", body = AppendResponse),
        (status = 200, description = "Every node was already present (same shapes)", body = AppendResponse),
        (status = 400, description = "Invalid JSON or node (code from SPEC.md §12)", body = ErrorBody),
        (status = 401, description = "No token", body = ErrorBody),
        (status = 403, description = "Token lacks the append scope, or the admin scope for a corruption/v1 record", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Content-Type is not JSON", body = ErrorBody),
        (status = 500, description = "STORE_DAMAGED: a receipt read from the store did not verify", body = ErrorBody),
        (status = 503, description = "STORAGE_UNAVAILABLE: the store cannot be written now", body = ErrorBody),
        (status = 507, description = "STORAGE_FULL: the disk is full; nothing was stored", body = ErrorBody),
    ),
    security(("bearer" = ["append"])))]
pub async fn post_nodes<S: Store>(
    State(st): State<AppState<S>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let started = Instant::now();
    let body = body.map_err(body_error)?;
    require_json(&headers)?;
    let value =
        evl_sdk::jcs::parse(&body).map_err(|e| ApiError::bad_request(e.code().as_str(), e.to_string()))?;
    let (values, batch) = match value {
        serde_json::Value::Object(mut m) if !m.contains_key("type") && m.contains_key("nodes") => {
            if m.len() != 1 {
                return Err(ApiError::bad_request(
                    "BAD_REQUEST",
                    "a batch is {\"nodes\": [...]} with no other members",
                ));
            }
            match m.remove("nodes") {
                Some(serde_json::Value::Array(a)) => (a, true),
                _ => return Err(ApiError::bad_request("BAD_REQUEST", "\"nodes\" must be an array")),
            }
        }
        v => (vec![v], false),
    };
    if values.is_empty() {
        return Err(ApiError::bad_request("BAD_REQUEST", "the batch is empty"));
    }
    if values.len() > st.limits.max_batch_nodes {
        return Err(ApiError::bad_request(
            "TOO_MANY_NODES",
            format!(
                "{} nodes in one request; the limit is {}",
                values.len(),
                st.limits.max_batch_nodes
            ),
        ));
    }
    let mut nodes = Vec::with_capacity(values.len());
    for (i, v) in values.into_iter().enumerate() {
        let n = Node::from_value(v).map_err(|e| {
            let at = if batch {
                format!("node {i}: ")
            } else {
                String::new()
            };
            ApiError::bad_request(e.code().as_str(), format!("{at}{e}; nothing was appended"))
        })?;
        nodes.push(n);
    }
    // Records that change how other nodes are read need the admin scope (SPEC.md §3.5): an
    // append-only token must not be able to make the log sign that a node was lost.
    let admin = nodes.iter().any(|n| evl_sdk::node::changes_reads(n.node_type()));
    if admin {
        st.read.auth.require(&headers, Scope::Admin)?;
    }
    let writer = st.writer.clone();
    let out: Vec<AppendOutcome> = tokio::task::spawn_blocking(move || {
        if admin {
            writer.append_admin(nodes)
        } else {
            writer.append(nodes)
        }
    })
    .await??;
    count_appended(&st, out.iter());
    let status = if out.iter().any(|o| o.created) {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let mut results: Vec<AppendResult> = out
        .into_iter()
        .map(|o| AppendResult {
            created: o.created,
            receipt: o.receipt,
        })
        .collect();
    st.read.metrics.append_latency.observe(started.elapsed());
    Ok(if batch {
        (status, Json(BatchResult { results })).into_response()
    } else {
        let one = results
            .pop()
            .ok_or_else(|| ApiError::internal("append returned no receipt"))?;
        (status, Json(one)).into_response()
    })
}

/// `?as_of_anchor=SEQ`.
#[derive(Deserialize, utoipa::IntoParams)]
pub struct AsOfQuery {
    /// Answer as the log stood at the anchor with this seq: 404 `NOT_FOUND` if the node was
    /// appended after it (or no anchor has that seq).
    #[param(minimum = 0)]
    pub as_of_anchor: Option<u64>,
}

/// A node's canonical bytes.
#[utoipa::path(get, path = "/v1/nodes/{node_id}", tag = "nodes",
    params(("node_id" = String, Path, description = "sha256:<64 lowercase hex>", pattern = "^sha256:[0-9a-f]{64}$"), AsOfQuery),
    responses(
        (status = 200, description = "The canonical bytes (RFC 8785)", content_type = "application/json", body = Object),
        (status = 400, description = "Malformed NodeId or as_of_anchor", body = ErrorBody),
        (status = 404, description = "Not in the log (as of the anchor, if given), or no such anchor", body = ErrorBody),
        (status = 409, description = "The stored content is damaged and not recorded (NODE_ID_MISMATCH), or the anchor does not match the store", body = ErrorBody),
        (status = 410, description = "The stored content is damaged and recorded as such by a corruption/v1 node (CORRUPTED), or was deleted by retention and recorded by a redaction/v1 node (REDACTED); the message names the record", body = ErrorBody),
    ))]
pub async fn get_node<S: Store>(
    State(st): State<ReadState<S>>,
    Path(id): Path<String>,
    q: Result<Query<AsOfQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let started = Instant::now();
    let id = parse_id(&id)?;
    let Query(q) = q.map_err(|e| ApiError::bad_request("BAD_REQUEST", e.body_text()))?;
    let reader = st.reader.clone();
    let (_, bytes) = tokio::task::spawn_blocking(move || match q.as_of_anchor {
        Some(seq) => reader.node_as_of(&id, seq),
        None => reader.node(&id),
    })
    .await??;
    st.metrics.retrieval_latency.observe(started.elapsed());
    Ok(([(header::CONTENT_TYPE, "application/json")], bytes).into_response())
}

/// `?size=N` or `?as_of_anchor=SEQ`.
#[derive(Deserialize, utoipa::IntoParams)]
pub struct SizeQuery {
    /// Prove at this tree size (needs a signed checkpoint at that size); default latest.
    #[param(minimum = 1)]
    pub size: Option<u64>,
    /// Prove as the log stood at the anchor with this seq: the inclusion proof at its tree size
    /// with the checkpoint it signed; 404 `NOT_FOUND` if the node was appended after it. Not
    /// with `size`.
    #[param(minimum = 0)]
    pub as_of_anchor: Option<u64>,
}

/// An inclusion proof and its signed checkpoint (a receipt).
#[utoipa::path(get, path = "/v1/nodes/{node_id}/proof", tag = "proofs",
    params(("node_id" = String, Path, description = "sha256:<64 lowercase hex>", pattern = "^sha256:[0-9a-f]{64}$"), SizeQuery),
    responses(
        (status = 200, description = "Receipt (SPEC.md §5.4)", body = Object),
        (status = 400, description = "Malformed NodeId or size, or both size and as_of_anchor", body = ErrorBody),
        (status = 404, description = "Not in the log (as of the anchor, if given), no checkpoint at that size, or no such anchor", body = ErrorBody),
    ))]
pub async fn get_proof<S: Store>(
    State(st): State<ReadState<S>>,
    Path(id): Path<String>,
    q: Result<Query<SizeQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Receipt>, ApiError> {
    let started = Instant::now();
    let id = parse_id(&id)?;
    let Query(q) = q.map_err(|e| ApiError::bad_request("BAD_REQUEST", e.body_text()))?;
    let size = q
        .size
        .map(|s| TreeSize::new(s).ok_or_else(|| ApiError::bad_request("OUT_OF_RANGE", "size out of range")))
        .transpose()?;
    if size.is_some() && q.as_of_anchor.is_some() {
        return Err(ApiError::bad_request(
            "BAD_REQUEST",
            "give size or as_of_anchor, not both",
        ));
    }
    let reader = st.reader.clone();
    let r = tokio::task::spawn_blocking(move || match q.as_of_anchor {
        Some(seq) => reader.prove_as_of(&id, seq),
        None => reader.prove(&id, size),
    })
    .await??;
    st.metrics.proof_latency.observe(started.elapsed());
    Ok(Json(r))
}

/// The latest signed checkpoint.
#[utoipa::path(get, path = "/v1/checkpoint", tag = "proofs",
    responses((status = 200, description = "C2SP signed note (SPEC.md §5)", content_type = "text/plain", body = String)))]
pub async fn get_checkpoint<S: Store>(State(st): State<ReadState<S>>) -> Result<Response, ApiError> {
    let reader = st.reader.clone();
    let (_, text) = tokio::task::spawn_blocking(move || reader.latest_checkpoint()).await??;
    Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], text).into_response())
}

/// `?from=N&to=M`.
#[derive(Deserialize, utoipa::IntoParams)]
pub struct ConsistencyQuery {
    /// The older size (≥ 1).
    #[param(minimum = 1)]
    pub from: u64,
    /// The newer size (≤ the tree size).
    #[param(minimum = 1)]
    pub to: u64,
}

/// A consistency proof between two tree sizes.
#[utoipa::path(get, path = "/v1/proofs/consistency", tag = "proofs", params(ConsistencyQuery),
    responses(
        (status = 200, description = "ConsistencyProof (SPEC.md §4.4)", body = Object),
        (status = 400, description = "Sizes out of range", body = ErrorBody),
    ))]
pub async fn get_consistency<S: Store>(
    State(st): State<ReadState<S>>,
    q: Result<Query<ConsistencyQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<evl_sdk::ConsistencyProof>, ApiError> {
    let started = Instant::now();
    let Query(q) = q.map_err(|e| ApiError::bad_request("BAD_REQUEST", e.body_text()))?;
    let (Some(from), Some(to)) = (TreeSize::new(q.from), TreeSize::new(q.to)) else {
        return Err(ApiError::bad_request("OUT_OF_RANGE", "sizes out of range"));
    };
    let reader = st.reader.clone();
    let p = tokio::task::spawn_blocking(move || reader.consistency(from, to)).await??;
    st.metrics.proof_latency.observe(started.elapsed());
    Ok(Json(p))
}
