//! The API's own description, `GET /v1/openapi.json`.
//!
//! The document covers every HTTP function, so no one function can generate it without linking
//! the others; it is generated from the routers by `hound-contract` (`make openapi`) into
//! `docs/openapi.json`, whose test fails when the committed copy is stale. The auth function,
//! the API's public front door, serves that copy.

use axum::http::header;
use axum::response::IntoResponse;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;

const DOCUMENT: &str = include_str!("../../../../docs/openapi.json");

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(document))
}

/// The OpenAPI 3.1 document of every HTTP function.
#[utoipa::path(get, path = "/v1/openapi.json", operation_id = "openapi", responses(
    (status = 200, description = "This document.", body = serde_json::Value),
))]
async fn document() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], DOCUMENT)
}
