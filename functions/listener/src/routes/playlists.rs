//! Playlists (API.md, Listener: playlists).

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use hound_domain::ids::{PlaylistId, TrackId};
use hound_domain::listener::{self, Playlist, PlaylistFields};
use hound_domain::paging::Page;
use hound_http::{ApiError, Bearer, Db, ErrorEnvelope, JsonBody, PageQuery, PathId, commit};
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(show, update, remove))
        .routes(routes!(restore))
        .routes(routes!(add_track, remove_track))
        .routes(routes!(reorder))
}

#[derive(Deserialize, ToSchema)]
struct TrackBody {
    track_id: TrackId,
}

#[derive(Deserialize, ToSchema)]
struct PlaylistOrder {
    /// Every track of the playlist, once each, in the new order.
    track_ids: Vec<TrackId>,
}

/// The caller's live playlists, newest first.
#[utoipa::path(get, path = "/v1/listener/playlists", operation_id = "list_playlists",
    params(PageQuery), security(("bearer" = [])),
    responses((status = 200, description = "A page of playlists.", body = Page<Playlist>)),
)]
async fn list(
    bearer: Bearer,
    mut db: Db,
    query: Result<Query<PageQuery>, QueryRejection>,
) -> Result<Json<Page<Playlist>>, ApiError> {
    let Query(query) = query.map_err(|e| ApiError::invalid_request(e.body_text()))?;
    let (tx, caller) = db.begin_as(&bearer).await?;
    let page =
        listener::list_playlists(&tx, caller.user_id, query.cursor.as_deref(), query.limit).await?;
    commit(tx).await?;
    Ok(Json(page))
}

/// Create a playlist.
#[utoipa::path(post, path = "/v1/listener/playlists", operation_id = "create_playlist",
    request_body = PlaylistFields, security(("bearer" = [])),
    responses(
        (status = 201, description = "The new, empty playlist.", body = Playlist),
        (status = 409, description = "`limit_reached` (50 live playlists) or `name_taken`.", body = ErrorEnvelope),
    ),
)]
async fn create(
    bearer: Bearer,
    mut db: Db,
    JsonBody(fields): JsonBody<PlaylistFields>,
) -> Result<(StatusCode, Json<Playlist>), ApiError> {
    let (tx, caller) = db.begin_as(&bearer).await?;
    let playlist = listener::create_playlist(&tx, caller.user_id, fields).await?;
    commit(tx).await?;
    Ok((StatusCode::CREATED, Json(playlist)))
}

/// A playlist with its tracks: the caller's own, or anyone's public one.
#[utoipa::path(get, path = "/v1/listener/playlists/{playlist_id}", operation_id = "get_playlist",
    params(("playlist_id" = Uuid, Path, description = "The playlist.")),
    security((), ("bearer" = [])),
    responses((status = 200, description = "The playlist and its items, in order.", body = Playlist)),
)]
async fn show(
    State(state): State<AppState>,
    bearer: Option<Bearer>,
    mut db: Db,
    PathId(id): PathId<PlaylistId>,
) -> Result<Json<Playlist>, ApiError> {
    let (tx, caller) = db.begin_viewing(bearer.as_ref(), None).await?;
    let viewer = caller.map(|c| c.user_id);
    let playlist = listener::get_playlist(&tx, &state.media, viewer, id).await?;
    commit(tx).await?;
    Ok(Json(playlist))
}

/// Rename a playlist or change whether it is public.
#[utoipa::path(patch, path = "/v1/listener/playlists/{playlist_id}", operation_id = "update_playlist",
    params(("playlist_id" = Uuid, Path, description = "The playlist.")),
    request_body = PlaylistFields, security(("bearer" = [])),
    responses(
        (status = 200, description = "The playlist as stored.", body = Playlist),
        (status = 409, description = "`name_taken`.", body = ErrorEnvelope),
    ),
)]
async fn update(
    bearer: Bearer,
    mut db: Db,
    PathId(id): PathId<PlaylistId>,
    JsonBody(fields): JsonBody<PlaylistFields>,
) -> Result<Json<Playlist>, ApiError> {
    let (tx, caller) = db.begin_as(&bearer).await?;
    let playlist = listener::update_playlist(&tx, caller.user_id, id, fields).await?;
    commit(tx).await?;
    Ok(Json(playlist))
}

/// Delete a playlist (restorable for 30 days).
#[utoipa::path(delete, path = "/v1/listener/playlists/{playlist_id}", operation_id = "delete_playlist",
    params(("playlist_id" = Uuid, Path, description = "The playlist.")),
    security(("bearer" = [])),
    responses((status = 204, description = "Deleted.")),
)]
async fn remove(
    bearer: Bearer,
    mut db: Db,
    PathId(id): PathId<PlaylistId>,
) -> Result<StatusCode, ApiError> {
    let (tx, caller) = db.begin_as(&bearer).await?;
    listener::delete_playlist(&tx, caller.user_id, id).await?;
    commit(tx).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Restore a playlist deleted in the last 30 days.
#[utoipa::path(post, path = "/v1/listener/playlists/{playlist_id}/restore", operation_id = "restore_playlist",
    params(("playlist_id" = Uuid, Path, description = "The playlist.")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The playlist, live again.", body = Playlist),
        (status = 409, description = "`limit_reached` or `name_taken` (a live playlist took its name).", body = ErrorEnvelope),
    ),
)]
async fn restore(
    bearer: Bearer,
    mut db: Db,
    PathId(id): PathId<PlaylistId>,
) -> Result<Json<Playlist>, ApiError> {
    let (tx, caller) = db.begin_as(&bearer).await?;
    let playlist = listener::restore_playlist(&tx, caller.user_id, id).await?;
    commit(tx).await?;
    Ok(Json(playlist))
}

/// Append a track the caller reaches.
#[utoipa::path(post, path = "/v1/listener/playlists/{playlist_id}/tracks", operation_id = "add_playlist_track",
    params(("playlist_id" = Uuid, Path, description = "The playlist.")),
    request_body = TrackBody, security(("bearer" = [])),
    responses(
        (status = 200, description = "The playlist.", body = Playlist),
        (status = 409, description = "`limit_reached` (100 tracks) or `already_in_playlist`.", body = ErrorEnvelope),
    ),
)]
async fn add_track(
    bearer: Bearer,
    mut db: Db,
    PathId(id): PathId<PlaylistId>,
    JsonBody(body): JsonBody<TrackBody>,
) -> Result<Json<Playlist>, ApiError> {
    let (tx, caller) = db.begin_as(&bearer).await?;
    let playlist = listener::add_to_playlist(&tx, caller.user_id, id, body.track_id).await?;
    commit(tx).await?;
    Ok(Json(playlist))
}

/// Remove a track (a track not in the playlist is a no-op).
#[utoipa::path(delete, path = "/v1/listener/playlists/{playlist_id}/tracks", operation_id = "remove_playlist_track",
    params(("playlist_id" = Uuid, Path, description = "The playlist.")),
    request_body = TrackBody, security(("bearer" = [])),
    responses((status = 200, description = "The playlist.", body = Playlist)),
)]
async fn remove_track(
    bearer: Bearer,
    mut db: Db,
    PathId(id): PathId<PlaylistId>,
    JsonBody(body): JsonBody<TrackBody>,
) -> Result<Json<Playlist>, ApiError> {
    let (tx, caller) = db.begin_as(&bearer).await?;
    let playlist = listener::remove_from_playlist(&tx, caller.user_id, id, body.track_id).await?;
    commit(tx).await?;
    Ok(Json(playlist))
}

/// Put the playlist's tracks in a new order.
#[utoipa::path(put, path = "/v1/listener/playlists/{playlist_id}/tracks/order", operation_id = "order_playlist",
    params(("playlist_id" = Uuid, Path, description = "The playlist.")),
    request_body = PlaylistOrder, security(("bearer" = [])),
    responses((status = 200, description = "The playlist.", body = Playlist)),
)]
async fn reorder(
    bearer: Bearer,
    mut db: Db,
    PathId(id): PathId<PlaylistId>,
    JsonBody(body): JsonBody<PlaylistOrder>,
) -> Result<Json<Playlist>, ApiError> {
    let (tx, caller) = db.begin_as(&bearer).await?;
    let playlist = listener::reorder_playlist(&tx, caller.user_id, id, &body.track_ids).await?;
    commit(tx).await?;
    Ok(Json(playlist))
}
