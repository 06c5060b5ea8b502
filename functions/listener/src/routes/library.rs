//! The listener's library of saved tracks.

use axum::extract::Query;
use axum::extract::rejection::QueryRejection;
use axum::routing::get;
use axum::{Json, Router};
use hound_domain::listener::{self, LibraryItem};
use hound_domain::paging::Page;
use hound_http::{ApiError, Bearer, Db, PageQuery, commit};

use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/v1/listener/library/tracks", get(tracks))
}

async fn tracks(
    bearer: Bearer,
    mut db: Db,
    query: Result<Query<PageQuery>, QueryRejection>,
) -> Result<Json<Page<LibraryItem>>, ApiError> {
    let Query(query) = query.map_err(|e| ApiError::invalid_request(e.body_text()))?;
    let (tx, caller) = db.begin_as(&bearer).await?;
    let page = listener::library(&tx, caller.user_id, query.cursor.as_deref(), query.limit).await?;
    commit(tx).await?;
    Ok(Json(page))
}
