//! Home.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use hound_domain::listener::{self, Home};
use hound_http::{ApiError, Db};

use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/v1/listener/home", get(show))
}

/// One statement: it runs as its own transaction.
async fn show(State(state): State<AppState>, db: Db) -> Result<Json<Home>, ApiError> {
    Ok(Json(listener::home(db.client(), &state.media).await?))
}
