//! `/v1/anchors`.

use super::error::{ApiError, ErrorBody};
use super::{AppState, ReadState};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use evl_ledger::store::Store;
use evl_sdk::Anchor;

fn envelope(a: &Anchor) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], a.to_json()).into_response()
}

/// Anchor summaries, in sequence order.
#[utoipa::path(get, path = "/v1/anchors", tag = "anchors",
    responses((status = 200, description = "[{seq, segment, id, tree_size, root, time, prev, segment_reason, archived}] or {seq, error} for an unreadable anchor", body = [Object])))]
pub async fn list<S: Store>(
    State(st): State<ReadState<S>>,
) -> Result<Json<Vec<serde_json::Value>>, ApiError> {
    let reader = st.reader.clone();
    let anchors = tokio::task::spawn_blocking(move || reader.anchors()).await??;
    Ok(Json(
        anchors
            .into_iter()
            .map(|s| match s.anchor {
                Ok(a) => {
                    let p = a.payload();
                    serde_json::json!({"seq": p.seq, "segment": p.segment, "id": a.id(), "tree_size": p.tree_size,
                        "root": p.root, "time": p.time, "prev": p.prev, "segment_reason": p.segment_reason, "archived": p.archived})
                }
                Err(e) => serde_json::json!({"seq": s.seq, "error": {"code": e.code().as_str(), "message": e.to_string()}}),
            })
            .collect(),
    ))
}

/// The latest anchor's DSSE envelope.
#[utoipa::path(get, path = "/v1/anchors/latest", tag = "anchors",
    responses((status = 200, description = "DSSE envelope (SPEC.md §7)", body = Object), (status = 404, description = "No anchor yet", body = ErrorBody)))]
pub async fn latest<S: Store>(State(st): State<ReadState<S>>) -> Result<Response, ApiError> {
    let reader = st.reader.clone();
    let anchors = tokio::task::spawn_blocking(move || reader.anchors()).await??;
    let last = anchors
        .into_iter()
        .last()
        .ok_or_else(|| ApiError::not_found("no anchor yet"))?;
    let a = last
        .anchor
        .map_err(|e| ApiError::new(StatusCode::CONFLICT, e.code().as_str(), e.to_string()))?;
    Ok(envelope(&a))
}

/// One anchor's DSSE envelope.
#[utoipa::path(get, path = "/v1/anchors/{seq}", tag = "anchors",
    params(("seq" = u64, Path, description = "Anchor sequence number")),
    responses(
        (status = 200, description = "DSSE envelope (SPEC.md §7)", body = Object),
        (status = 400, description = "seq is not a non-negative integer", body = ErrorBody),
        (status = 404, description = "No such anchor", body = ErrorBody),
    ))]
pub async fn by_seq<S: Store>(
    State(st): State<ReadState<S>>,
    Path(seq): Path<String>,
) -> Result<Response, ApiError> {
    let seq: u64 = seq
        .parse()
        .map_err(|_| ApiError::bad_request("BAD_REQUEST", "seq must be a non-negative integer"))?;
    let reader = st.reader.clone();
    let anchors = tokio::task::spawn_blocking(move || reader.anchors()).await??;
    let s = anchors
        .into_iter()
        .find(|s| s.seq == seq)
        .ok_or_else(|| ApiError::not_found(format!("no anchor {seq}")))?;
    let a = s
        .anchor
        .map_err(|e| ApiError::new(StatusCode::CONFLICT, e.code().as_str(), e.to_string()))?;
    Ok(envelope(&a))
}

/// Create an anchor now (admin).
#[utoipa::path(post, path = "/v1/anchors", tag = "anchors",
    responses(
        (status = 201, description = "The new anchor's DSSE envelope", body = Object),
        (status = 401, description = "No token", body = ErrorBody),
        (status = 403, description = "Token lacks the admin scope", body = ErrorBody),
        (status = 409, description = "The anchor chain is broken (CHAIN_BROKEN)", body = ErrorBody),
    ),
    security(("bearer" = ["admin"])))]
pub async fn create<S: Store>(State(st): State<AppState<S>>) -> Result<Response, ApiError> {
    let writer = st.writer.clone();
    let a = match tokio::task::spawn_blocking(move || writer.anchor()).await? {
        Ok(a) => a,
        Err(e) => {
            if matches!(e.kind(), evl_ledger::LedgerError::Integrity { .. }) {
                st.read
                    .metrics
                    .dsse_verification_failures
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
            return Err(e.into());
        }
    };
    let mut r = envelope(&a);
    *r.status_mut() = StatusCode::CREATED;
    Ok(r)
}
