//! Votes, suggestions, listening sessions and the collective (API.md, Listener).

use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use hound_domain::ids::{ReleaseId, TrackId};
use hound_domain::listener::{self, Collective, SuggestedRelease, SuggestedTrack, Suggestions};
use hound_http::{ApiError, Bearer, Db, JsonBody, PathId, commit};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(cast_vote, withdraw_vote))
        .routes(routes!(after_track))
        .routes(routes!(after_album))
        .routes(routes!(heartbeat))
        .routes(routes!(collective))
}

#[derive(Deserialize, ToSchema)]
struct VoteBody {
    /// `1` up, `-1` down.
    #[schema(minimum = -1, maximum = 1)]
    value: i16,
}

#[derive(Serialize, ToSchema)]
struct VoteState {
    /// The caller's vote on the track now: `1`, `-1`, or `null` after a withdrawal.
    value: Option<i16>,
}

/// Vote a track up or down; a new vote replaces the old. Moves the caller's private taste.
#[utoipa::path(post, path = "/v1/listener/tracks/{track_id}/vote", operation_id = "vote_track",
    params(("track_id" = Uuid, Path, description = "The track.")),
    request_body = VoteBody, security(("bearer" = [])),
    responses((status = 200, description = "The vote now standing.", body = VoteState)),
)]
async fn cast_vote(
    bearer: Bearer,
    mut db: Db,
    PathId(track): PathId<TrackId>,
    JsonBody(body): JsonBody<VoteBody>,
) -> Result<Json<VoteState>, ApiError> {
    let (tx, caller) = db.begin_as(&bearer).await?;
    let value = listener::vote(&tx, caller.user_id, track, Some(body.value)).await?;
    commit(tx).await?;
    Ok(Json(VoteState { value }))
}

/// Withdraw the caller's vote on a track (idempotent), undoing its effect on their taste.
#[utoipa::path(delete, path = "/v1/listener/tracks/{track_id}/vote", operation_id = "unvote_track",
    params(("track_id" = Uuid, Path, description = "The track.")),
    security(("bearer" = [])),
    responses((status = 200, description = "No vote stands.", body = VoteState)),
)]
async fn withdraw_vote(
    bearer: Bearer,
    mut db: Db,
    PathId(track): PathId<TrackId>,
) -> Result<Json<VoteState>, ApiError> {
    let (tx, caller) = db.begin_as(&bearer).await?;
    let value = listener::vote(&tx, caller.user_id, track, None).await?;
    commit(tx).await?;
    Ok(Json(VoteState { value }))
}

/// Tracks to play after this one: similar-sounding tracks of other releases, blended with the
/// caller's taste when they have one.
#[utoipa::path(get, path = "/v1/listener/tracks/{track_id}/suggested-next",
    operation_id = "suggested_after_track",
    params(("track_id" = Uuid, Path, description = "The track.")),
    security((), ("bearer" = [])),
    responses((status = 200, description = "Track cards, best first.", body = Suggestions<SuggestedTrack>)),
)]
async fn after_track(
    State(state): State<AppState>,
    bearer: Option<Bearer>,
    mut db: Db,
    PathId(track): PathId<TrackId>,
) -> Result<Json<Suggestions<SuggestedTrack>>, ApiError> {
    if bearer.is_none() && db.can_run_alone() {
        // Nobody in particular: two reads, each its own transaction (no settings to carry).
        let items = listener::suggested_after_track(db.client(), &state.media, None, track).await?;
        return Ok(Json(items));
    }
    let (tx, caller) = db.begin_viewing(bearer.as_ref(), None).await?;
    let viewer = caller.map(|c| c.user_id);
    let items = listener::suggested_after_track(&tx, &state.media, viewer, track).await?;
    commit(tx).await?;
    Ok(Json(items))
}

/// Releases to play after this album.
#[utoipa::path(get, path = "/v1/listener/albums/{album_id}/suggested-next",
    operation_id = "suggested_after_album",
    params(("album_id" = Uuid, Path, description = "The release.")),
    security((), ("bearer" = [])),
    responses((status = 200, description = "Release cards, best first.", body = Suggestions<SuggestedRelease>)),
)]
async fn after_album(
    State(state): State<AppState>,
    bearer: Option<Bearer>,
    mut db: Db,
    PathId(album): PathId<ReleaseId>,
) -> Result<Json<Suggestions<SuggestedRelease>>, ApiError> {
    if bearer.is_none() && db.can_run_alone() {
        let items = listener::suggested_after_album(db.client(), &state.media, None, album).await?;
        return Ok(Json(items));
    }
    let (tx, caller) = db.begin_viewing(bearer.as_ref(), None).await?;
    let viewer = caller.map(|c| c.user_id);
    let items = listener::suggested_after_album(&tx, &state.media, viewer, album).await?;
    commit(tx).await?;
    Ok(Json(items))
}

#[derive(Serialize, ToSchema)]
struct Active {
    /// The caller counts as listening until then, unless they beat again.
    #[serde(with = "time::serde::rfc3339")]
    active_until: OffsetDateTime,
}

/// Keep the caller counted among active listeners for the next hour.
#[utoipa::path(post, path = "/v1/listener/sessions/heartbeat", operation_id = "heartbeat",
    security(("bearer" = [])),
    responses((status = 200, description = "Active until.", body = Active)),
)]
async fn heartbeat(bearer: Bearer, mut db: Db) -> Result<Json<Active>, ApiError> {
    let (tx, caller) = db.begin_as(&bearer).await?;
    let active_until = listener::heartbeat(&tx, caller.user_id).await?;
    commit(tx).await?;
    Ok(Json(Active { active_until }))
}

/// How long one Lambda instance reuses the collective it computed.
const COLLECTIVE_TTL: Duration = Duration::from_secs(60);

/// Suggestions for the blended taste of everyone listening now; reveals no one.
#[utoipa::path(get, path = "/v1/listener/collective", operation_id = "collective",
    responses((status = 200, description = "The count and the suggestions.", body = Collective)),
)]
async fn collective(
    State(state): State<AppState>,
    mut db: Db,
) -> Result<impl IntoResponse, ApiError> {
    let mut cached = state.collective.lock().await;
    let body = match cached.as_ref() {
        Some((at, body)) if at.elapsed() < COLLECTIVE_TTL => body.clone(),
        _ => {
            let collective = if db.can_run_alone() {
                listener::collective(db.client(), &state.media).await?
            } else {
                let tx = db.begin().await?;
                let collective = listener::collective(&tx, &state.media).await?;
                commit(tx).await?;
                collective
            };
            let body = bytes::Bytes::from(
                serde_json::to_vec(&collective).map_err(|_| ApiError::internal())?,
            );
            *cached = Some((Instant::now(), body.clone()));
            body
        }
    };
    Ok(([(header::CONTENT_TYPE, "application/json")], body))
}
