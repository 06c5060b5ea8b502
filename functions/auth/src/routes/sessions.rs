//! Refresh-token rotation and logout.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use hound::ApiError;
use hound::auth::{Caller, LogoutScope};
use hound::http::{JsonBody, OptionalJsonBody};
use serde::Deserialize;

use super::accounts::Authenticated;
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/auth/refresh", post(refresh))
        .route("/v1/auth/logout", post(logout))
}

#[derive(Deserialize)]
struct RefreshBody {
    refresh_token: String,
}

#[derive(Deserialize, Default)]
struct LogoutBody {
    #[serde(default)]
    scope: LogoutScope,
}

async fn refresh(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<RefreshBody>,
) -> Result<Json<Authenticated>, ApiError> {
    let authenticated = state.accounts.refresh(&body.refresh_token).await?;
    Ok(Json(authenticated.into()))
}

async fn logout(
    State(state): State<AppState>,
    caller: Caller,
    OptionalJsonBody(body): OptionalJsonBody<LogoutBody>,
) -> Result<StatusCode, ApiError> {
    let scope = body.unwrap_or_default().scope;
    state.accounts.logout(&caller, scope).await?;
    Ok(StatusCode::NO_CONTENT)
}
