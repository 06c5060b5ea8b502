//! Drafts kept before signup (API.md, Listener: drafts).

use axum::Json;
use axum::http::StatusCode;
use hound_domain::listener::{self, DraftFields, DraftSaved};
use hound_http::{ApiError, Db, ErrorEnvelope, JsonBody};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(save))
}

/// Keep a draft playlist or mix under the client's own token, for 7 days; signup or login with
/// `draft_token` claims it.
#[utoipa::path(post, path = "/v1/listener/drafts", operation_id = "save_draft",
    request_body = DraftFields,
    responses(
        (status = 201, description = "Kept.", body = DraftSaved),
        (status = 409, description = "`limit_reached`: 20 live drafts on this token.", body = ErrorEnvelope),
    ),
)]
async fn save(
    db: Db,
    JsonBody(fields): JsonBody<DraftFields>,
) -> Result<(StatusCode, Json<DraftSaved>), ApiError> {
    // One statement (the SQL function locks the token): its own transaction.
    let saved = listener::save_draft(db.client(), fields).await?;
    Ok((StatusCode::CREATED, Json(saved)))
}
