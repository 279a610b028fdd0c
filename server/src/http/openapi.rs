//! `GET /openapi.json`: the OpenAPI 3.1 document generated from the handlers' annotations.

use axum::Json;
use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};

/// The API description.
#[derive(OpenApi)]
#[openapi(
    info(title = "Evidence Ledger API", description = "Append and read evidence nodes, proofs, checkpoints and anchors; ingest VEX documents and record VEX consensus. Errors are {\"code\",\"message\"} with the stable codes of SPEC.md §12."),
    paths(
        super::nodes::post_nodes, super::nodes::get_node, super::nodes::get_proof, super::nodes::get_checkpoint,
        super::nodes::get_consistency, super::anchors::list, super::anchors::latest, super::anchors::by_seq,
        super::anchors::create, super::vex::post_document, super::vex::post_consensus, super::vex::get_consensus,
        super::export::get_export, super::export::get_pack, super::backup::get_backup,
        super::ops::liveness, super::ops::readiness, super::ops::status, super::ops::metrics, serve,
    ),
    components(schemas(super::error::ErrorBody, super::nodes::AppendResult, super::nodes::BatchResult, super::nodes::AppendResponse,
        super::vex::VexDocumentResponse, super::vex::ConsensusRequest, super::vex::ConsensusResponse, super::vex::ConsensusView)),
    modifiers(&Bearer),
)]
pub struct ApiDoc;

struct Bearer;

impl utoipa::Modify for Bearer {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        if let Some(c) = doc.components.as_mut() {
            c.add_security_scheme(
                "bearer",
                SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
            );
        }
    }
}

/// This document.
#[utoipa::path(get, path = "/openapi.json", tag = "operations", responses((status = 200, description = "OpenAPI 3.1", body = Object)))]
pub async fn serve() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
