//! The listener's library of saved tracks.

use axum::extract::Query;
use axum::extract::rejection::QueryRejection;
use axum::routing::get;
use axum::{Json, Router};
use hound_domain::listener::{self, LibraryItem};
use hound_domain::paging::Page;
use hound_http::{ApiError, Authenticated, Db, PageQuery};

use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/v1/listener/library/tracks", get(tracks))
}

async fn tracks(
    Authenticated(caller): Authenticated,
    db: Db,
    query: Result<Query<PageQuery>, QueryRejection>,
) -> Result<Json<Page<LibraryItem>>, ApiError> {
    let Query(query) = query.map_err(|e| ApiError::invalid_request(e.body_text()))?;
    // One statement: it runs as its own transaction.
    let page = listener::library(
        db.client(),
        caller.user_id,
        query.cursor.as_deref(),
        query.limit,
    )
    .await?;
    Ok(Json(page))
}
