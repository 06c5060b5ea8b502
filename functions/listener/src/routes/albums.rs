//! Album pages.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};
use hound::ApiError;
use hound::auth::Caller;
use hound::http::PathId;
use hound::listener::{self, Album, Viewer};

use super::ShareQuery;
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/v1/listener/albums/{album_id}", get(show))
}

async fn show(
    State(state): State<AppState>,
    caller: Option<Caller>,
    PathId(id): PathId,
    query: Result<Query<ShareQuery>, QueryRejection>,
) -> Result<Json<Album>, ApiError> {
    let Query(query) = query.map_err(|e| ApiError::invalid_request(e.body_text()))?;
    let viewer = Viewer::new(caller.map(|c| c.user_id), query.share_token);
    let client = state.db().await?;
    Ok(Json(
        listener::album(&client, &state.media, &viewer, id).await?,
    ))
}
