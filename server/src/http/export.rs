//! `GET /v1/export` and `GET /v1/nodes/{node_id}/pack`: compliance exports and evidence packs
//! (SPEC.md §9), streamed as they are written. The bytes are those `evl export` writes.

use super::AppState;
use super::error::{ApiError, ErrorBody};
use axum::body::Body;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use evl_ledger::pack::{EvidenceRequest, ExportRequest};
use evl_ledger::store::Store;
use evl_sdk::NodeId;
use evl_sdk::pack::PACK_MEDIA_TYPE;
use serde::Deserialize;
use std::io::Write;
use tokio::sync::mpsc;

/// Bytes per streamed chunk.
const CHUNK: usize = 256 * 1024;

/// A `Write` that hands full chunks to the response body; fails once the client is gone, which
/// stops the export.
pub(super) struct ChannelWriter {
    tx: mpsc::Sender<Result<Bytes, std::io::Error>>,
    buf: Vec<u8>,
}

impl ChannelWriter {
    fn send(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK)));
        self.tx
            .blocking_send(Ok(chunk))
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::BrokenPipe, "the client went away"))
    }
}

impl Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= CHUNK {
            self.send()?;
        }
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.send()
    }
}

/// Runs `write` on a blocking thread and streams what it writes. A failure after the first
/// byte aborts the response (the client sees a truncated pack, which never verifies).
pub(super) fn stream(
    filename: String,
    write: impl FnOnce(&mut ChannelWriter) -> Result<(), evl_ledger::LedgerError> + Send + 'static,
) -> Response {
    let (tx, rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(4);
    tokio::task::spawn_blocking(move || {
        let mut w = ChannelWriter {
            tx: tx.clone(),
            buf: Vec::with_capacity(CHUNK),
        };
        let result =
            write(&mut w).and_then(|()| w.flush().map_err(|e| evl_ledger::LedgerError::Io(e.to_string())));
        if let Err(e) = result {
            tracing::warn!(error = %e, "export stopped");
            let _ = tx.blocking_send(Err(std::io::Error::other(e.to_string())));
        }
    });
    let body =
        futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|item| (item, rx)) });
    (
        [
            (header::CONTENT_TYPE, PACK_MEDIA_TYPE.to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
        ],
        Body::from_stream(body),
    )
        .into_response()
}

/// `GET /v1/export` parameters.
#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ExportQuery {
    /// Start after this anchor's tree (default: from the first leaf).
    pub from_anchor: Option<u64>,
    /// End at this anchor's tree (default: the latest anchor).
    pub to_anchor: Option<u64>,
    /// Only nodes of these types, comma-separated (default: all).
    #[serde(rename = "type")]
    #[param(rename = "type")]
    pub types: Option<String>,
    /// PackId (`sha256:…`) of the export this one continues; with `from_anchor` set to that
    /// export's end anchor this makes a delta export.
    pub prev_export: Option<String>,
}

/// A compliance export: every node between two anchors, with completeness proof.
#[utoipa::path(get, path = "/v1/export", tag = "exports", params(ExportQuery),
    responses(
        (status = 200, description = "Pack file (application/vnd.evidence-ledger.pack.v1+tar+zstd, SPEC.md §9.4), streamed", content_type = "application/vnd.evidence-ledger.pack.v1+tar+zstd", body = Vec<u8>),
        (status = 400, description = "Bad parameters", body = ErrorBody),
        (status = 404, description = "No such anchor, or no anchor yet", body = ErrorBody),
    ))]
pub async fn get_export<S: Store>(
    State(st): State<AppState<S>>,
    q: Result<Query<ExportQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = q.map_err(|e| ApiError::bad_request("BAD_REQUEST", e.body_text()))?;
    let prev_export = q
        .prev_export
        .as_deref()
        .map(|s| s.parse::<NodeId>())
        .transpose()
        .map_err(|_| {
            ApiError::bad_request(
                "NODE_ID_MALFORMED",
                "prev_export is not sha256:<64 lowercase hex>",
            )
        })?;
    let filter = q.types.as_deref().map(|t| {
        t.split(',')
            .map(str::to_owned)
            .filter(|t| !t.is_empty())
            .collect::<Vec<_>>()
    });
    let req = ExportRequest {
        from_anchor: q.from_anchor,
        to_anchor: q.to_anchor,
        filter,
        prev_export,
    };
    // Check the request before the first byte, so errors get a status and a code.
    let ledger = st.writer.clone();
    let check = req.clone();
    let range = tokio::task::spawn_blocking(move || ledger.export_range(&check)).await??;
    let ledger = st.writer.clone();
    let name = format!("export-{}-{}.tar.zst", range.start, range.end);
    Ok(stream(name, move |w| {
        ledger.export(&req, w, &mut |_| {}).map(|_| ())
    }))
}

/// `GET /v1/nodes/{node_id}/pack` parameters.
#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct PackQuery {
    /// Also every node it links to, transitively.
    #[serde(default)]
    pub include_deps: bool,
    /// Prove inclusion at this anchor (default: the latest).
    pub anchor: Option<u64>,
    /// Carry the anchor chain back to this anchor (default: the proving anchor alone).
    pub trust_point: Option<u64>,
}

/// An evidence pack for one node.
#[utoipa::path(get, path = "/v1/nodes/{node_id}/pack", tag = "exports",
    params(("node_id" = String, Path, description = "sha256:<64 lowercase hex>", pattern = "^sha256:[0-9a-f]{64}$"), PackQuery),
    responses(
        (status = 200, description = "Pack file (application/vnd.evidence-ledger.pack.v1+tar+zstd, SPEC.md §9.3)", content_type = "application/vnd.evidence-ledger.pack.v1+tar+zstd", body = Vec<u8>),
        (status = 400, description = "Malformed NodeId or parameters, or the node is not anchored yet", body = ErrorBody),
        (status = 404, description = "Not in the log, or no anchor yet", body = ErrorBody),
    ))]
pub async fn get_pack<S: Store>(
    State(st): State<AppState<S>>,
    Path(id): Path<String>,
    q: Result<Query<PackQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let id: NodeId = id
        .parse()
        .map_err(|_| ApiError::bad_request("NODE_ID_MALFORMED", "expected sha256:<64 lowercase hex>"))?;
    let Query(q) = q.map_err(|e| ApiError::bad_request("BAD_REQUEST", e.body_text()))?;
    let req = EvidenceRequest {
        subjects: vec![id],
        include_deps: q.include_deps,
        anchor: q.anchor,
        trust_point: q.trust_point,
    };
    // Evidence packs are small: build in memory so every error gets a status and a code.
    let ledger = st.writer.clone();
    let bytes = tokio::task::spawn_blocking(move || {
        let mut out = Vec::new();
        ledger.export_evidence(&req, &mut out).map(|_| out)
    })
    .await??;
    let name = format!("pack-{}.tar.zst", &id.to_string()[7..19]);
    Ok((
        [
            (header::CONTENT_TYPE, PACK_MEDIA_TYPE.to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        bytes,
    )
        .into_response())
}
