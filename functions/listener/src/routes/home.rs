//! Home.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use hound_domain::listener::{self, Home};
use hound_http::{ApiError, Db, commit};

use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/v1/listener/home", get(show))
}

async fn show(State(state): State<AppState>, mut db: Db) -> Result<Json<Home>, ApiError> {
    let tx = db.begin().await?;
    let home = listener::home(&tx, &state.media).await?;
    commit(tx).await?;
    Ok(Json(home))
}
