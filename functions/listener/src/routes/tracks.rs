//! A track's stream, and saving it.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use hound::ApiError;
use hound::auth::Caller;
use hound::http::PathId;
use hound::listener::{self, Stream, Viewer};
use serde::Serialize;

use super::ShareQuery;
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/listener/tracks/{track_id}/stream", get(stream))
        .route(
            "/v1/listener/tracks/{track_id}/save",
            post(save).delete(unsave),
        )
}

#[derive(Serialize)]
struct Saved {
    saved: bool,
}

async fn stream(
    State(state): State<AppState>,
    caller: Option<Caller>,
    PathId(id): PathId,
    query: Result<Query<ShareQuery>, QueryRejection>,
) -> Result<Json<Stream>, ApiError> {
    let Query(query) = query.map_err(|e| ApiError::invalid_request(e.body_text()))?;
    let viewer = Viewer::new(caller.map(|c| c.user_id), query.share_token);
    let client = state.db().await?;
    Ok(Json(
        listener::stream(&client, &state.media, &viewer, id).await?,
    ))
}

async fn save(
    State(state): State<AppState>,
    caller: Caller,
    PathId(id): PathId,
) -> Result<Json<Saved>, ApiError> {
    let client = state.db().await?;
    listener::save_track(&client, caller.user_id, id).await?;
    Ok(Json(Saved { saved: true }))
}

async fn unsave(
    State(state): State<AppState>,
    caller: Caller,
    PathId(id): PathId,
) -> Result<Json<Saved>, ApiError> {
    let client = state.db().await?;
    listener::unsave_track(&client, caller.user_id, id).await?;
    Ok(Json(Saved { saved: false }))
}
