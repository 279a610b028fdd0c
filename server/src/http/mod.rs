//! The HTTP API (`evl serve`): routes, state, middleware. docs/http-api.md documents it;
//! `GET /openapi.json` describes it, and a test keeps the two in step with the router.

pub mod anchors;
pub mod auth;
pub mod backup;
pub mod error;
pub mod export;
pub mod metrics;
pub mod nodes;
pub mod openapi;
pub mod ops;
pub mod vex;

use crate::config::{LimitsConfig, Scope};
use auth::Auth;
use axum::Router;
use axum::extract::{FromRef, MatchedPath, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use error::ApiError;
use evl_ledger::store::Store;
use evl_ledger::{Ledger, LedgerReader};
use metrics::Metrics;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Build facts for `/status`.
#[derive(Clone, Debug, serde::Serialize)]
pub struct BuildInfo {
    /// Crate version.
    pub version: &'static str,
    /// Git commit, if known at build time (`EVL_GIT_COMMIT`).
    pub commit: &'static str,
    /// Enabled optional features.
    pub features: Vec<&'static str>,
}

impl BuildInfo {
    /// This build.
    pub fn current() -> Self {
        Self {
            version: env!("CARGO_PKG_VERSION"),
            commit: option_env!("EVL_GIT_COMMIT").unwrap_or("unknown"),
            features: Vec::new(),
        }
    }
}

/// What read handlers may touch: no signing key (STYLE rule 11).
pub struct ReadState<S: Store> {
    /// The reader.
    pub reader: LedgerReader<S>,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// Auth.
    pub auth: Arc<Auth>,
}

impl<S: Store> Clone for ReadState<S> {
    fn clone(&self) -> Self {
        Self {
            reader: self.reader.clone(),
            metrics: self.metrics.clone(),
            auth: self.auth.clone(),
        }
    }
}

/// The full state: the read state plus the writer.
pub struct AppState<S: Store> {
    /// Readers' view.
    pub read: ReadState<S>,
    /// The writer (append, anchor).
    pub writer: Ledger<S>,
    /// Limits.
    pub limits: LimitsConfig,
    /// Build facts.
    pub build: Arc<BuildInfo>,
    /// When the server started.
    pub started: Instant,
}

impl<S: Store> Clone for AppState<S> {
    fn clone(&self) -> Self {
        Self {
            read: self.read.clone(),
            writer: self.writer.clone(),
            limits: self.limits.clone(),
            build: self.build.clone(),
            started: self.started,
        }
    }
}

impl<S: Store> FromRef<AppState<S>> for ReadState<S> {
    fn from_ref(s: &AppState<S>) -> Self {
        s.read.clone()
    }
}

impl<S: Store> AppState<S> {
    /// State over a ledger.
    pub fn new(writer: Ledger<S>, auth: Auth, limits: LimitsConfig) -> Self {
        Self {
            read: ReadState {
                reader: writer.reader(),
                metrics: Arc::new(Metrics::default()),
                auth: Arc::new(auth),
            },
            writer,
            limits,
            build: Arc::new(BuildInfo::current()),
            started: Instant::now(),
        }
    }

    /// Serves reads from `reader` (a hot standby's store, `[store] read_url`) instead of the
    /// writer's store. Appends and their receipts still come from the writer.
    #[must_use]
    pub fn with_reader(mut self, reader: LedgerReader<S>) -> Self {
        self.read.reader = reader;
        self
    }
}

/// Request handling options that wrap the router.
#[derive(Clone, Copy, Debug)]
pub struct Handling {
    /// Per-request timeout.
    pub timeout: Duration,
    /// Concurrent requests.
    pub max_concurrency: usize,
}

async fn require<S: Store>(
    State(st): State<ReadState<S>>,
    scope: Scope,
    headers: &HeaderMap,
) -> Result<(), ApiError> {
    st.auth.require(headers, scope)
}

async fn scope_read<S: Store>(st: State<ReadState<S>>, req: Request, next: Next) -> Response {
    match require(st, Scope::Read, req.headers()).await {
        Ok(()) => next.run(req).await,
        Err(e) => e.into_response(),
    }
}
async fn scope_append<S: Store>(st: State<ReadState<S>>, req: Request, next: Next) -> Response {
    match require(st, Scope::Append, req.headers()).await {
        Ok(()) => next.run(req).await,
        Err(e) => e.into_response(),
    }
}
async fn scope_admin<S: Store>(st: State<ReadState<S>>, req: Request, next: Next) -> Response {
    match require(st, Scope::Admin, req.headers()).await {
        Ok(()) => next.run(req).await,
        Err(e) => e.into_response(),
    }
}

async fn count_requests<S: Store>(State(st): State<ReadState<S>>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |m| m.as_str().to_owned());
    let resp = next.run(req).await;
    st.metrics.request(&route, resp.status().as_u16());
    resp
}

async fn timeout(limit: Duration, req: Request, next: Next) -> Response {
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(r) => r,
        Err(_) => ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            "TIMEOUT",
            format!("the request took longer than {} ms", limit.as_millis()),
        )
        .into_response(),
    }
}

fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("a request handler panicked; the server stays up");
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "INTERNAL",
        "internal error; the details are in the server log",
    )
    .into_response()
}

async fn not_found() -> ApiError {
    ApiError::not_found("no such route; GET /openapi.json lists the API")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "METHOD_NOT_ALLOWED",
        "this route does not take that method; GET /openapi.json lists the API",
    )
}

/// The router with every route, auth, limits, timeout, panic catching and metrics.
pub fn router<S: Store>(state: AppState<S>, handling: Handling) -> Router {
    let read_state = state.read.clone();
    let reads = Router::new()
        .route("/v1/nodes/{node_id}", get(nodes::get_node::<S>))
        .route("/v1/nodes/{node_id}/proof", get(nodes::get_proof::<S>))
        .route("/v1/checkpoint", get(nodes::get_checkpoint::<S>))
        .route("/v1/proofs/consistency", get(nodes::get_consistency::<S>))
        .route("/v1/anchors", get(anchors::list::<S>))
        .route("/v1/anchors/latest", get(anchors::latest::<S>))
        .route("/v1/anchors/{seq}", get(anchors::by_seq::<S>))
        .route("/v1/vex/consensus", get(vex::get_consensus::<S>))
        .route("/v1/export", get(export::get_export::<S>))
        .route("/v1/nodes/{node_id}/pack", get(export::get_pack::<S>))
        .route("/status", get(ops::status::<S>))
        .route("/metrics", get(ops::metrics::<S>))
        .route_layer(middleware::from_fn_with_state(
            read_state.clone(),
            scope_read::<S>,
        ));
    let appends = Router::new()
        .route("/v1/nodes", post(nodes::post_nodes::<S>))
        .route("/v1/vex/documents", post(vex::post_document::<S>))
        .route("/v1/vex/consensus", post(vex::post_consensus::<S>))
        .route_layer(middleware::from_fn_with_state(
            read_state.clone(),
            scope_append::<S>,
        ));
    let admin = Router::new()
        .route("/v1/anchors", post(anchors::create::<S>))
        .route("/v1/backup", get(backup::get_backup::<S>))
        .route_layer(middleware::from_fn_with_state(
            read_state.clone(),
            scope_admin::<S>,
        ));
    let public = Router::new()
        .route("/health/liveness", get(ops::liveness))
        .route("/health/readiness", get(ops::readiness::<S>))
        .route("/openapi.json", get(openapi::serve));
    let app = Router::new()
        .merge(reads)
        .merge(appends)
        .merge(admin)
        .merge(public)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::extract::DefaultBodyLimit::max(state.limits.max_body_bytes))
        .layer(middleware::from_fn_with_state(read_state, count_requests::<S>))
        .with_state(state);
    harden(app, handling)
}

/// The stateless outer layers: request timeout (408), concurrency limit, and a panic in a
/// handler becoming a 500 JSON error while the server stays up.
pub fn harden(app: Router, handling: Handling) -> Router {
    let limit = handling.timeout;
    app.layer(middleware::from_fn(move |req, next| timeout(limit, req, next)))
        // One semaphore for the whole server (a plain ConcurrencyLimitLayer on a Router would
        // give every route its own).
        .layer(tower::limit::GlobalConcurrencyLimitLayer::new(
            handling.max_concurrency,
        ))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(panic_response))
}

/// Every route `router` serves, as (method, path); `GET /openapi.json` must document exactly
/// these (a test checks both directions).
pub const ROUTES: &[(&str, &str)] = &[
    ("post", "/v1/nodes"),
    ("get", "/v1/nodes/{node_id}"),
    ("get", "/v1/nodes/{node_id}/proof"),
    ("get", "/v1/nodes/{node_id}/pack"),
    ("get", "/v1/export"),
    ("get", "/v1/backup"),
    ("get", "/v1/checkpoint"),
    ("get", "/v1/proofs/consistency"),
    ("get", "/v1/anchors"),
    ("post", "/v1/anchors"),
    ("get", "/v1/anchors/latest"),
    ("get", "/v1/anchors/{seq}"),
    ("post", "/v1/vex/documents"),
    ("post", "/v1/vex/consensus"),
    ("get", "/v1/vex/consensus"),
    ("get", "/health/liveness"),
    ("get", "/health/readiness"),
    ("get", "/status"),
    ("get", "/metrics"),
    ("get", "/openapi.json"),
];
