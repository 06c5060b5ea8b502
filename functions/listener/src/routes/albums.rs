//! Album pages.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};
use hound_domain::ids::ReleaseId;
use hound_domain::listener::{self, Album, Viewer};
use hound_http::{ApiError, Bearer, Db, PathId, commit};

use super::share::{ShareQuery, share_token};
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/v1/listener/albums/{album_id}", get(show))
}

async fn show(
    State(state): State<AppState>,
    bearer: Option<Bearer>,
    mut db: Db,
    PathId(id): PathId<ReleaseId>,
    query: Result<Query<ShareQuery>, QueryRejection>,
) -> Result<Json<Album>, ApiError> {
    let token = share_token(query)?;
    if bearer.is_none() && token.is_none() {
        // Nobody in particular: one statement, its own transaction.
        let album = listener::album(db.client(), &state.media, &Viewer::default(), id).await?;
        return Ok(Json(album));
    }
    let (tx, caller) = db.begin_viewing(bearer.as_ref(), token.as_deref()).await?;
    let viewer = Viewer::new(caller.map(|c| c.user_id), token);
    let album = listener::album(&tx, &state.media, &viewer, id).await?;
    commit(tx).await?;
    Ok(Json(album))
}
