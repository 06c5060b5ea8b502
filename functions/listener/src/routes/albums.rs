//! Album pages.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};
use hound_domain::ids::ReleaseId;
use hound_domain::listener::{self, Album};
use hound_http::{ApiError, Authenticated, Db, PathId};

use super::share::{ShareQuery, viewer};
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/v1/listener/albums/{album_id}", get(show))
}

async fn show(
    State(state): State<AppState>,
    caller: Option<Authenticated>,
    db: Db,
    PathId(id): PathId<ReleaseId>,
    query: Result<Query<ShareQuery>, QueryRejection>,
) -> Result<Json<Album>, ApiError> {
    let viewer = viewer(caller.as_ref().map(|c| &c.0), query)?;
    // One statement: it runs as its own transaction.
    let album = listener::album(db.client(), &state.media, &viewer, id).await?;
    Ok(Json(album))
}
