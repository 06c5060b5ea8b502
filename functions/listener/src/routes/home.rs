//! Home.

use axum::Json;
use axum::extract::State;
use hound_domain::listener::{self, Home};
use hound_http::{ApiError, Db};

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(show))
}

/// New releases, popular releases, and (with a token) releases for the caller.
#[utoipa::path(get, path = "/v1/listener/home", operation_id = "home", responses(
    (status = 200, description = "Lists of release cards.", body = Home),
))]
// One statement: it runs as its own transaction.
async fn show(State(state): State<AppState>, db: Db) -> Result<Json<Home>, ApiError> {
    Ok(Json(listener::home(db.client(), &state.media).await?))
}
