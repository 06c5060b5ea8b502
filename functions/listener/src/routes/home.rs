//! Home.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use hound::ApiError;
use hound::listener::{self, Home};

use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/v1/listener/home", get(show))
}

async fn show(State(state): State<AppState>) -> Result<Json<Home>, ApiError> {
    let client = state.db().await?;
    Ok(Json(listener::home(&client, &state.media).await?))
}
