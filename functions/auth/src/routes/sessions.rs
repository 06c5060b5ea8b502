//! Refresh-token rotation and logout.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use hound_domain::auth::{self, LogoutScope};
use hound_http::{ApiError, Bearer, Db, ErrorEnvelope, JsonBody, OptionalJsonBody, commit};
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::accounts::SignedIn;
use crate::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(refresh))
        .routes(routes!(logout))
}

#[derive(Deserialize, ToSchema)]
struct RefreshBody {
    refresh_token: String,
}

#[derive(Deserialize, Default, ToSchema)]
struct LogoutBody {
    #[serde(default)]
    scope: LogoutScope,
}

/// Trade a refresh token for a new session; the token rotates.
#[utoipa::path(post, path = "/v1/auth/refresh", operation_id = "refresh", request_body = RefreshBody, responses(
    (status = 200, description = "The new session, with a new refresh token.", body = SignedIn),
    (status = 401, description = "`unauthorized` (unknown or expired token) or `refresh_token_reused` (the whole family is revoked).", body = ErrorEnvelope),
))]
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

/// End this session (`local`, the default) or every session of the account (`global`).
#[utoipa::path(post, path = "/v1/auth/logout", operation_id = "logout", request_body = Option<LogoutBody>,
    security(("bearer" = [])),
    responses((status = 204, description = "Signed out; the access token is refused from now on.")),
)]
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
