//! Tracks of a release.

use axum::http::StatusCode;
use axum::routing::{patch, post, put};
use axum::{Json, Router};
use hound_domain::catalog::{self, Release, Track, TrackFields};
use hound_domain::ids::{ReleaseId, TrackId};
use hound_http::{ApiError, Bearer, Db, JsonBody, PathId, PathIds, commit};
use serde::Deserialize;

use crate::{AppState, as_artist};

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
    track_ids: Vec<TrackId>,
}

async fn add(
    bearer: Bearer,
    mut db: Db,
    PathId(release): PathId<ReleaseId>,
    JsonBody(fields): JsonBody<TrackFields>,
) -> Result<(StatusCode, Json<Track>), ApiError> {
    let (tx, artist) = as_artist(&mut db, &bearer).await?;
    let track = catalog::add_track(&tx, artist, release, fields).await?;
    commit(tx).await?;
    Ok((StatusCode::CREATED, Json(track)))
}

async fn update(
    bearer: Bearer,
    mut db: Db,
    PathIds(release, track): PathIds<ReleaseId, TrackId>,
    JsonBody(fields): JsonBody<TrackFields>,
) -> Result<Json<Track>, ApiError> {
    let (tx, artist) = as_artist(&mut db, &bearer).await?;
    let track = catalog::update_track(&tx, artist, release, track, fields).await?;
    commit(tx).await?;
    Ok(Json(track))
}

async fn remove(
    bearer: Bearer,
    mut db: Db,
    PathIds(release, track): PathIds<ReleaseId, TrackId>,
) -> Result<StatusCode, ApiError> {
    let (tx, artist) = as_artist(&mut db, &bearer).await?;
    catalog::delete_track(&tx, artist, release, track).await?;
    commit(tx).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn reorder(
    bearer: Bearer,
    mut db: Db,
    PathId(release): PathId<ReleaseId>,
    JsonBody(body): JsonBody<OrderBody>,
) -> Result<Json<Release>, ApiError> {
    let (tx, artist) = as_artist(&mut db, &bearer).await?;
    catalog::reorder_tracks(&tx, artist, release, &body.track_ids).await?;
    let release = catalog::get_release(&tx, artist, release).await?;
    commit(tx).await?;
    Ok(Json(release))
}
