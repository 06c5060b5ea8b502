//! A track's stream, and saving it.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use hound_domain::ids::TrackId;
use hound_domain::listener::{self, Stream, Viewer};
use hound_http::{ApiError, Bearer, Db, PathId, commit};
use serde::Serialize;

use super::share::{ShareQuery, share_token};
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
    bearer: Option<Bearer>,
    mut db: Db,
    PathId(id): PathId<TrackId>,
    query: Result<Query<ShareQuery>, QueryRejection>,
) -> Result<Json<Stream>, ApiError> {
    let token = share_token(query)?;
    if bearer.is_none() && token.is_none() {
        // Nobody in particular: one statement, its own transaction.
        let stream = listener::stream(db.client(), &state.media, &Viewer::default(), id).await?;
        return Ok(Json(stream));
    }
    let (tx, caller) = db.begin_viewing(bearer.as_ref(), token.as_deref()).await?;
    let viewer = Viewer::new(caller.map(|c| c.user_id), token);
    let stream = listener::stream(&tx, &state.media, &viewer, id).await?;
    commit(tx).await?;
    Ok(Json(stream))
}

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
