//! Home.

use axum::Json;
use axum::extract::State;
use hound_domain::listener::{self, Home};
use hound_http::{ApiError, Bearer, Db, commit};

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(show))
}

/// New releases, popular releases, and (with a token) releases for the caller.
#[utoipa::path(get, path = "/v1/listener/home", operation_id = "home",
    security((), ("bearer" = [])),
    responses((status = 200, description = "Lists of release cards.", body = Home)),
)]
async fn show(
    State(state): State<AppState>,
    bearer: Option<Bearer>,
    mut db: Db,
) -> Result<Json<Home>, ApiError> {
    let Some(bearer) = bearer else {
        // One statement: it runs as its own transaction (behind a pooler, in an explicit one).
        if db.can_run_alone() {
            return Ok(Json(listener::home(db.client(), &state.media).await?));
        }
        let tx = db.begin().await?;
        let home = listener::home(&tx, &state.media).await?;
        commit(tx).await?;
        return Ok(Json(home));
    };
    let (tx, caller) = db.begin_as(&bearer).await?;
    let mut home = listener::home(&tx, &state.media).await?;
    home.for_you = listener::for_you(&tx, &state.media, caller.user_id).await?;
    commit(tx).await?;
    Ok(Json(home))
}
