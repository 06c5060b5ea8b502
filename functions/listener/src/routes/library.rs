//! The listener's library of saved tracks.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use hound_domain::listener::{self, LibraryItem};
use hound_domain::paging::Page;
use hound_http::{ApiError, Bearer, Db, PageQuery, commit};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(tracks))
}

/// The caller's saved tracks, most recently saved first.
#[utoipa::path(get, path = "/v1/listener/library/tracks", operation_id = "library_tracks", params(PageQuery), security(("bearer" = [])), responses(
    (status = 200, description = "A page of saved tracks.", body = Page<LibraryItem>),
))]
async fn tracks(
    State(state): State<AppState>,
    bearer: Bearer,
    mut db: Db,
    query: Result<Query<PageQuery>, QueryRejection>,
) -> Result<Json<Page<LibraryItem>>, ApiError> {
    let Query(query) = query.map_err(|e| ApiError::invalid_request(e.body_text()))?;
    let (tx, caller) = db.begin_as(&bearer).await?;
    let page = listener::library(
        &tx,
        &state.media,
        caller.user_id,
        query.cursor.as_deref(),
        query.limit,
    )
    .await?;
    commit(tx).await?;
    Ok(Json(page))
}
