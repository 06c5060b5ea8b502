//! A track's stream, and saving it.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use hound_domain::ids::TrackId;
use hound_domain::listener::{self, Stream, Viewer};
use hound_http::{ApiError, Bearer, Db, ErrorEnvelope, PathId, commit};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::share::{ShareQuery, share_token};
use crate::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(stream))
        .routes(routes!(save, unsave))
}

#[derive(Serialize, ToSchema)]
struct Saved {
    saved: bool,
}

/// Short-lived presigned rendition URLs and loudness for a track the caller may play.
#[utoipa::path(get, path = "/v1/listener/tracks/{track_id}/stream", operation_id = "stream_track",
    params(("track_id" = Uuid, Path, description = "The track."), ShareQuery),
    security((), ("bearer" = [])),
    responses(
        (status = 200, description = "The renditions.", body = Stream),
        (status = 403, description = "`gated`: the release needs a code, a check-in or a purchase (`details.gate`); `details.preview` lists the track's 30-second previews `{name, codec, bitrate_kbps, mime, url}` (empty when none was made), presigned until `details.expires_at`.", body = ErrorEnvelope),
        (status = 409, description = "`not_ready`: the track has no playable rendition yet.", body = ErrorEnvelope),
    ),
)]
async fn stream(
    State(state): State<AppState>,
    bearer: Option<Bearer>,
    mut db: Db,
    PathId(id): PathId<TrackId>,
    query: Result<Query<ShareQuery>, QueryRejection>,
) -> Result<Json<Stream>, ApiError> {
    let token = share_token(query)?;
    if bearer.is_none() && token.is_none() && db.can_run_alone() {
        // Nobody in particular: one statement, its own transaction (behind a pooler, the
        // transaction below, with no settings).
        let stream = listener::stream(db.client(), &state.media, &Viewer::default(), id).await?;
        return Ok(Json(stream));
    }
    let (tx, caller) = db.begin_viewing(bearer.as_ref(), token.as_deref()).await?;
    let viewer = Viewer::new(caller.map(|c| c.user_id), token);
    let stream = listener::stream(&tx, &state.media, &viewer, id).await?;
    commit(tx).await?;
    Ok(Json(stream))
}

/// Save a track to the library (idempotent).
#[utoipa::path(post, path = "/v1/listener/tracks/{track_id}/save", operation_id = "save_track", params(("track_id" = Uuid, Path, description = "The track.")), security(("bearer" = [])), responses(
    (status = 200, description = "Saved.", body = Saved),
))]
async fn save(
    bearer: Bearer,
    mut db: Db,
    PathId(id): PathId<TrackId>,
) -> Result<Json<Saved>, ApiError> {
    let (tx, caller) = db.begin_as(&bearer).await?;
    listener::save_track(&tx, caller.user_id, id).await?;
    commit(tx).await?;
    Ok(Json(Saved { saved: true }))
}

/// Remove a track from the library (idempotent).
#[utoipa::path(delete, path = "/v1/listener/tracks/{track_id}/save", operation_id = "unsave_track", params(("track_id" = Uuid, Path, description = "The track.")), security(("bearer" = [])), responses(
    (status = 200, description = "Not saved.", body = Saved),
))]
async fn unsave(
    bearer: Bearer,
    mut db: Db,
    PathId(id): PathId<TrackId>,
) -> Result<Json<Saved>, ApiError> {
    let (tx, caller) = db.begin_as(&bearer).await?;
    listener::unsave_track(&tx, caller.user_id, id).await?;
    commit(tx).await?;
    Ok(Json(Saved { saved: false }))
}
