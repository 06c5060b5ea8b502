//! Refresh-token rotation and logout.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use hound_domain::auth::{self, LogoutScope};
use hound_http::{ApiError, Bearer, Db, JsonBody, OptionalJsonBody, commit};
use serde::Deserialize;

use super::accounts::SignedIn;
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
    mut db: Db,
    JsonBody(body): JsonBody<RefreshBody>,
) -> Result<Json<SignedIn>, ApiError> {
    let tx = db.begin().await?;
    let verdict = auth::refresh(&tx, state.backend.keys(), &body.refresh_token).await?;
    // A reused token's refusal is committed too: it revokes the session.
    commit(tx).await?;
    Ok(Json(verdict.into_result()?.into()))
}

async fn logout(
    bearer: Bearer,
    mut db: Db,
    OptionalJsonBody(body): OptionalJsonBody<LogoutBody>,
) -> Result<StatusCode, ApiError> {
    let scope = body.unwrap_or_default().scope;
    let (tx, caller) = db.begin_as(&bearer).await?;
    auth::logout(&tx, &caller, scope).await?;
    commit(tx).await?;
    Ok(StatusCode::NO_CONTENT)
}
