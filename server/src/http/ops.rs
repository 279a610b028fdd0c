//! Health, status and metrics.

use super::error::ApiError;
use super::metrics::Gauges;
use super::{AppState, ReadState};
use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use evl_ledger::store::Store;

/// The process is up.
#[utoipa::path(get, path = "/health/liveness", tag = "operations", responses((status = 200, description = "Alive", body = Object)))]
pub async fn liveness() -> Json<serde_json::Value> {
    Json(serde_json::json!({"status": "ok"}))
}

/// Ready to serve: the store opens a snapshot, the signing key is loaded, and writes can succeed
/// (after a full disk or an I/O failure, not ready until the store is writable again; the
/// answer says why).
#[utoipa::path(get, path = "/health/readiness", tag = "operations",
    responses((status = 200, description = "Ready", body = Object), (status = 503, description = "Not ready, with the code and the reason", body = Object)))]
pub async fn readiness<S: Store>(State(st): State<AppState<S>>) -> Response {
    let reader = st.read.reader.clone();
    let writer = st.writer.clone();
    let ok = tokio::task::spawn_blocking(move || {
        let size = reader.tree_size()?;
        writer.write_health()?;
        Ok::<_, evl_ledger::LedgerError>(size)
    })
    .await;
    match ok {
        Ok(Ok(size)) => {
            Json(serde_json::json!({"status": "ready", "tree_size": size.get(), "signing_key": "loaded"}))
                .into_response()
        }
        Ok(Err(e)) => {
            tracing::error!(error = %e, "readiness: not ready");
            let reason = match e.code() {
                "STORAGE_FULL" => "the disk is full: appends fail until space is freed",
                "STORAGE_UNAVAILABLE" => "the store is unavailable for writing",
                "STORE_DAMAGED" => "the store is damaged",
                _ => "the store cannot be used",
            };
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(serde_json::json!({"status": "unavailable", "code": e.code(), "message": reason})),
            )
                .into_response()
        }
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(serde_json::json!({"status": "unavailable", "code": "INTERNAL", "message": e.to_string()})),
        )
            .into_response(),
    }
}

fn gauges<S: Store>(
    st: &ReadState<S>,
) -> Result<(Gauges, Option<serde_json::Value>), evl_ledger::LedgerError> {
    let r = &st.reader;
    let size = r.tree_size()?;
    let anchors = r.anchors()?;
    let now = evl_ledger::time::now();
    let last = anchors.iter().rev().find_map(|s| s.anchor.as_ref().ok());
    let age = last.map(|a| now.unix() - a.payload().time.unix());
    let last_json = last.map(|a| {
        let p = a.payload();
        serde_json::json!({"seq": p.seq, "segment": p.segment, "tree_size": p.tree_size, "time": p.time, "age_seconds": now.unix() - p.time.unix()})
    });
    Ok((
        Gauges {
            tree_size: size.get(),
            storage_bytes: r.stats().disk_bytes,
            anchor_age_seconds: age,
            anchors: anchors.len() as u64,
        },
        last_json,
    ))
}

/// Version, tree size, last anchor and its age.
#[utoipa::path(get, path = "/status", tag = "operations", responses((status = 200, description = "Status", body = Object)))]
pub async fn status<S: Store>(State(st): State<AppState<S>>) -> Result<Json<serde_json::Value>, ApiError> {
    let read = st.read.clone();
    let (g, last) = tokio::task::spawn_blocking(move || gauges(&read)).await??;
    Ok(Json(serde_json::json!({
        "version": st.build.version, "commit": st.build.commit, "features": st.build.features,
        "origin": st.read.reader.origin(), "tree_size": g.tree_size, "anchors": g.anchors, "last_anchor": last,
        "storage_bytes": g.storage_bytes, "uptime_seconds": st.started.elapsed().as_secs(),
    })))
}

/// Prometheus metrics.
#[utoipa::path(get, path = "/metrics", tag = "operations", responses((status = 200, description = "Prometheus text format 0.0.4", content_type = "text/plain", body = String)))]
pub async fn metrics<S: Store>(State(st): State<ReadState<S>>) -> Result<Response, ApiError> {
    let read = st.clone();
    let (g, _) = tokio::task::spawn_blocking(move || gauges(&read)).await??;
    Ok((
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        st.metrics.render(&g),
    )
        .into_response())
}
