//! `GET /v1/backup`: a backup of the live ledger (SPEC.md §9.9), streamed as it is written from
//! one store snapshot while appends continue. The bytes are those `evl backup` writes. Admin
//! scope: a backup holds every node of the log.

use super::AppState;
use super::error::{ApiError, ErrorBody};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::response::Response;
use evl_ledger::pack::BackupRequest;
use evl_ledger::store::Store;
use evl_sdk::NodeId;
use serde::Deserialize;

/// `GET /v1/backup` parameters.
#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct BackupQuery {
    /// Incremental backup: start at this anchor's tree size (default: a full backup).
    pub since_anchor: Option<u64>,
    /// Incremental backup: the PackId (`sha256:…`) of the backup this one continues, recorded
    /// as its `base` for a restore to check.
    pub base: Option<String>,
}

/// A backup of the ledger: every anchor, checkpoint, leaf and node of one snapshot.
#[utoipa::path(get, path = "/v1/backup", tag = "operations", params(BackupQuery),
    responses(
        (status = 200, description = "Pack file of kind backup (application/vnd.evidence-ledger.pack.v1+tar+zstd, SPEC.md §9.9), streamed", content_type = "application/vnd.evidence-ledger.pack.v1+tar+zstd", body = Vec<u8>),
        (status = 400, description = "Bad parameters", body = ErrorBody),
        (status = 401, description = "No or unknown token", body = ErrorBody),
        (status = 403, description = "The token lacks the admin scope", body = ErrorBody),
        (status = 404, description = "No such anchor in the verified chain", body = ErrorBody),
        (status = 409, description = "The stored anchor chain does not verify, or a node's content is missing (CHAIN_BROKEN, PACK_INCOMPLETE): repair the store first", body = ErrorBody),
    ),
    security(("bearer" = ["admin"])))]
pub async fn get_backup<S: Store>(
    State(st): State<AppState<S>>,
    q: Result<Query<BackupQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = q.map_err(|e| ApiError::bad_request("BAD_REQUEST", e.body_text()))?;
    let base = q
        .base
        .as_deref()
        .map(|s| s.parse::<NodeId>())
        .transpose()
        .map_err(|_| ApiError::bad_request("NODE_ID_MALFORMED", "base is not sha256:<64 lowercase hex>"))?;
    if base.is_some() && q.since_anchor.is_none() {
        return Err(ApiError::bad_request(
            "BAD_REQUEST",
            "base names the backup an incremental backup continues: give since_anchor too",
        ));
    }
    let req = BackupRequest {
        since_anchor: q.since_anchor,
        base,
    };
    // Check the request before the first byte, so errors get a status and a code.
    let ledger = st.writer.clone();
    let check = req.clone();
    let range = tokio::task::spawn_blocking(move || ledger.backup_range(&check)).await??;
    let ledger = st.writer.clone();
    let name = format!("backup-{}-{}.tar.zst", range.from, range.to);
    Ok(super::export::stream(name, move |w| {
        ledger.backup(&req, w, &mut |_| {}).map(|_| ())
    }))
}
