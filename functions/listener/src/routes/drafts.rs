//! Drafts kept before signup (API.md, Listener: drafts).

use axum::Json;
use axum::http::StatusCode;
use hound_domain::listener::{self, DraftFields, DraftSaved};
use hound_http::{ApiError, Db, ErrorEnvelope, JsonBody, commit};
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
    mut db: Db,
    JsonBody(fields): JsonBody<DraftFields>,
) -> Result<(StatusCode, Json<DraftSaved>), ApiError> {
    // One statement (the SQL function locks the token): its own transaction (behind a pooler,
    // an explicit one).
    let saved = if db.can_run_alone() {
        listener::save_draft(db.client(), fields).await?
    } else {
        let tx = db.begin().await?;
        let saved = listener::save_draft(&tx, fields).await?;
        commit(tx).await?;
        saved
    };
    Ok((StatusCode::CREATED, Json(saved)))
}
