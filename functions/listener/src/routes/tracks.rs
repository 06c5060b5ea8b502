//! A track's stream, and saving it.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use hound_domain::ids::TrackId;
use hound_domain::listener::{self, Stream};
use hound_http::{ApiError, Authenticated, Db, PathId, commit};
use serde::Serialize;

use super::share::{ShareQuery, viewer};
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
    caller: Option<Authenticated>,
    db: Db,
    PathId(id): PathId<TrackId>,
    query: Result<Query<ShareQuery>, QueryRejection>,
) -> Result<Json<Stream>, ApiError> {
    let viewer = viewer(caller.as_ref().map(|c| &c.0), query)?;
    // One statement: it runs as its own transaction.
    let stream = listener::stream(db.client(), &state.media, &viewer, id).await?;
    Ok(Json(stream))
}

async fn save(
    Authenticated(caller): Authenticated,
    mut db: Db,
    PathId(id): PathId<TrackId>,
) -> Result<Json<Saved>, ApiError> {
    let tx = db.begin().await?;
    listener::save_track(&tx, caller.user_id, id).await?;
    commit(tx).await?;
    Ok(Json(Saved { saved: true }))
}

async fn unsave(
    Authenticated(caller): Authenticated,
    mut db: Db,
    PathId(id): PathId<TrackId>,
) -> Result<Json<Saved>, ApiError> {
    let tx = db.begin().await?;
    listener::unsave_track(&tx, caller.user_id, id).await?;
    commit(tx).await?;
    Ok(Json(Saved { saved: false }))
}
