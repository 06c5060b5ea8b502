//! Tracks of a release.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{patch, post, put};
use axum::{Json, Router};
use hound::ApiError;
use hound::auth::Caller;
use hound::catalog::{self, Release, Track, TrackFields};
use hound::http::{JsonBody, PathIds};
use serde::Deserialize;
use uuid::Uuid;

use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/studio/releases/{release_id}/tracks", post(add))
        .route(
            "/v1/studio/releases/{release_id}/tracks/order",
            put(reorder),
        )
        .route(
            "/v1/studio/releases/{release_id}/tracks/{track_id}",
            patch(update).delete(remove),
        )
}

#[derive(Deserialize)]
struct OrderBody {
    track_ids: Vec<Uuid>,
}

async fn add(
    State(state): State<AppState>,
    caller: Caller,
    PathIds(ids): PathIds,
    JsonBody(fields): JsonBody<TrackFields>,
) -> Result<(StatusCode, Json<Track>), ApiError> {
    let artist = state.artist(&caller).await?;
    let track = catalog::add_track(&state.pool, artist, ids[0], fields).await?;
    Ok((StatusCode::CREATED, Json(track)))
}

async fn update(
    State(state): State<AppState>,
    caller: Caller,
    PathIds(ids): PathIds,
    JsonBody(fields): JsonBody<TrackFields>,
) -> Result<Json<Track>, ApiError> {
    let artist = state.artist(&caller).await?;
    Ok(Json(
        catalog::update_track(&state.pool, artist, ids[0], ids[1], fields).await?,
    ))
}

async fn remove(
    State(state): State<AppState>,
    caller: Caller,
    PathIds(ids): PathIds,
) -> Result<StatusCode, ApiError> {
    let artist = state.artist(&caller).await?;
    catalog::delete_track(&state.pool, artist, ids[0], ids[1]).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn reorder(
    State(state): State<AppState>,
    caller: Caller,
    PathIds(ids): PathIds,
    JsonBody(body): JsonBody<OrderBody>,
) -> Result<Json<Release>, ApiError> {
    let artist = state.artist(&caller).await?;
    catalog::reorder_tracks(&state.pool, artist, ids[0], &body.track_ids).await?;
    let client = state.pool.get().await.map_err(hound::db::DbError::from)?;
    Ok(Json(catalog::get_release(&client, artist, ids[0]).await?))
}
