//! The API error: `{"code": "...", "message": "..."}` with the SPEC's stable codes outside,
//! details logged once inside (STYLE rule 13).

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use evl_ledger::LedgerError;
use serde::Serialize;

/// The JSON error body.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// Stable code (SPEC.md §12, plus the HTTP codes in docs/http-api.md).
    pub code: String,
    /// What went wrong and what to do.
    pub message: String,
}

/// An error response.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: String,
    message: String,
}

impl ApiError {
    /// A new error.
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        Self {
            status,
            code: code.to_owned(),
            message: message.into(),
        }
    }
    /// 400 with a code.
    pub fn bad_request(code: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }
    /// 404.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "NOT_FOUND", message)
    }
    /// 500 without internal detail (the detail is logged).
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        tracing::error!(error = %detail, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "INTERNAL",
            "internal error; the details are in the server log",
        )
    }
    /// The status.
    pub fn status(&self) -> StatusCode {
        self.status
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (
            self.status,
            Json(ErrorBody {
                code: self.code,
                message: self.message,
            }),
        )
            .into_response()
    }
}

impl From<LedgerError> for ApiError {
    fn from(e: LedgerError) -> Self {
        ApiError::from_ledger(e.kind())
    }
}

impl ApiError {
    /// The one mapping of ledger errors to HTTP (docs/http-api.md, "Errors").
    fn from_ledger(e: &LedgerError) -> Self {
        use evl_ledger::store::StoreError;
        match e {
            LedgerError::NotFound(m) => ApiError::not_found(m.clone()),
            LedgerError::OutOfRange(m) => ApiError::bad_request("OUT_OF_RANGE", m.clone()),
            LedgerError::Node(_) | LedgerError::Rejected { .. } => {
                ApiError::bad_request(e.code(), e.to_string())
            }
            // Content the log has recorded as lost (a corruption/v1 node) or deleted (a
            // redaction/v1 node): gone, not a conflict.
            LedgerError::Integrity {
                code: evl_sdk::ErrorCode::Corrupted | evl_sdk::ErrorCode::Redacted,
                ..
            } => ApiError::new(StatusCode::GONE, e.code(), e.to_string()),
            LedgerError::Integrity { .. } => {
                tracing::error!(error = %e, "integrity failure");
                ApiError::new(StatusCode::CONFLICT, e.code(), e.to_string())
            }
            LedgerError::Pack(_) | LedgerError::Bundle { .. } => {
                ApiError::bad_request(e.code(), e.to_string())
            }
            LedgerError::Store(s) => {
                tracing::error!(error = %e, code = s.code(), "storage failure");
                let (status, message) = match s {
                    StoreError::Full(_) => (
                        StatusCode::INSUFFICIENT_STORAGE,
                        "the server's disk is full; nothing was stored. Retry once space is freed",
                    ),
                    StoreError::Unavailable(_) => (
                        StatusCode::SERVICE_UNAVAILABLE,
                        "the store is unavailable; nothing was stored. Retry later",
                    ),
                    StoreError::Damaged(_) => (
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "the server's store is damaged where this request reads; the details are in the server log",
                    ),
                    StoreError::Conflict { .. } => (
                        StatusCode::CONFLICT,
                        "another writer committed first; nothing was stored. Retry",
                    ),
                    StoreError::DuplicateNodeId { .. } | StoreError::Invalid(_) | StoreError::Other(_) => {
                        return ApiError::internal(e);
                    }
                };
                ApiError::new(status, s.code(), message)
            }
            LedgerError::ClockSkew(_) => {
                tracing::error!(error = %e, "refused to sign: clock skew");
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, e.code(), e.to_string())
            }
            LedgerError::Mismatch(_) | LedgerError::KeyFile(_) | LedgerError::Io(_) => ApiError::internal(e),
            // A document that is not VEX, a policy that is not one, too many statements.
            LedgerError::Ingest(_) => ApiError::bad_request(e.code(), e.to_string()),
            LedgerError::Vex(v) => match v {
                evl_sdk::vex::VexError::Mismatch { .. } => {
                    ApiError::new(StatusCode::CONFLICT, e.code(), e.to_string())
                }
                _ => ApiError::bad_request(e.code(), e.to_string()),
            },
            LedgerError::Group(inner) => ApiError::from_ledger(inner),
            // The next step is the operator's (the CLI renders it); a client gets the error.
            LedgerError::Advised { error, .. } => ApiError::from_ledger(error),
        }
    }
}

impl From<tokio::task::JoinError> for ApiError {
    fn from(e: tokio::task::JoinError) -> Self {
        ApiError::internal(format!("blocking task failed: {e}"))
    }
}
