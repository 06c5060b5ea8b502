//! The listener's library of saved tracks.

use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};
use hound::ApiError;
use hound::auth::Caller;
use hound::catalog::Page;
use hound::listener::{self, LibraryItem};
use serde::Deserialize;

use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/v1/listener/library/tracks", get(tracks))
}

#[derive(Deserialize)]
struct PageQuery {
    cursor: Option<String>,
    limit: Option<i64>,
}

async fn tracks(
    State(state): State<AppState>,
    caller: Caller,
    query: Result<Query<PageQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Page<LibraryItem>>, ApiError> {
    let Query(query) = query.map_err(|e| ApiError::invalid_request(e.body_text()))?;
    let client = state.db().await?;
    let page = listener::library(
        &client,
        caller.user_id,
        query.cursor.as_deref(),
        query.limit,
    )
    .await?;
    Ok(Json(page))
}
