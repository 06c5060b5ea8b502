//! Tracks of a release.

use axum::Json;
use axum::http::StatusCode;
use hound_domain::catalog::{self, Release, Track, TrackFields};
use hound_domain::ids::{ReleaseId, TrackId};
use hound_http::{ApiError, Bearer, Db, ErrorEnvelope, JsonBody, PathId, PathIds, commit};
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::{AppState, as_artist};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(add))
        .routes(routes!(reorder))
        .routes(routes!(update, remove))
}

#[derive(Deserialize, ToSchema)]
struct TrackOrder {
    /// Every track of the release, once each, in the new order.
    track_ids: Vec<TrackId>,
}

/// Append a track to a draft release.
#[utoipa::path(post, path = "/v1/studio/releases/{release_id}/tracks", operation_id = "add_track", params(("release_id" = Uuid, Path, description = "The release.")), request_body = TrackFields, security(("bearer" = [])), responses(
    (status = 201, description = "The new track, last.", body = Track),
    (status = 409, description = "The release is no longer a draft, or the request conflicts with its state (`code` says which).", body = ErrorEnvelope),
))]
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

/// Change some fields of a track.
#[utoipa::path(patch, path = "/v1/studio/releases/{release_id}/tracks/{track_id}", operation_id = "update_track", params(("release_id" = Uuid, Path, description = "The release."), ("track_id" = Uuid, Path, description = "The track.")), request_body = TrackFields, security(("bearer" = [])), responses(
    (status = 200, description = "The track as stored.", body = Track),
    (status = 409, description = "The release is no longer a draft, or the request conflicts with its state (`code` says which).", body = ErrorEnvelope),
))]
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

/// Remove a track from a draft release; later tracks move up.
#[utoipa::path(delete, path = "/v1/studio/releases/{release_id}/tracks/{track_id}", operation_id = "delete_track", params(("release_id" = Uuid, Path, description = "The release."), ("track_id" = Uuid, Path, description = "The track.")), security(("bearer" = [])), responses(
    (status = 204, description = "Removed."),
    (status = 409, description = "The release is no longer a draft, or the request conflicts with its state (`code` says which).", body = ErrorEnvelope),
))]
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

/// Put the release's tracks in a new order.
#[utoipa::path(put, path = "/v1/studio/releases/{release_id}/tracks/order", operation_id = "order_tracks", params(("release_id" = Uuid, Path, description = "The release.")), request_body = TrackOrder, security(("bearer" = [])), responses(
    (status = 200, description = "The release with its tracks in the new order.", body = Release),
    (status = 409, description = "The release is no longer a draft, or the request conflicts with its state (`code` says which).", body = ErrorEnvelope),
))]
async fn reorder(
    bearer: Bearer,
    mut db: Db,
    PathId(release): PathId<ReleaseId>,
    JsonBody(body): JsonBody<TrackOrder>,
) -> Result<Json<Release>, ApiError> {
    let (tx, artist) = as_artist(&mut db, &bearer).await?;
    catalog::reorder_tracks(&tx, artist, release, &body.track_ids).await?;
    let release = catalog::get_release(&tx, artist, release).await?;
    commit(tx).await?;
    Ok(Json(release))
}
