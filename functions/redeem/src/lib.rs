//! The redeem function (API.md, Gates): `POST /v1/redeem`. It parses the code, opens the
//! request's transaction as the caller, calls `hound_domain::gates::redeem`, commits (a counted
//! refusal too, so the throttle remembers it) and maps the result.

use axum::extract::{FromRef, State};
use axum::{Json, Router};
use hound_domain::gates::{self, CodeKeys, RedeemRequest, Redeemed};
use hound_http::{ApiError, Backend, Bearer, Db, ErrorEnvelope, JsonBody, commit};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Built once per cold start and shared by every request.
#[derive(Clone)]
pub struct AppState {
    pub backend: Backend,
    /// `CODE_KEYS`: a presented code is looked up by its hash under each of these.
    pub code_keys: CodeKeys,
}

impl AppState {
    pub fn from_env() -> anyhow::Result<Self> {
        Ok(Self {
            backend: Backend::from_env(hound_domain::db::roles::REDEEM)?,
            code_keys: CodeKeys::from_env()?,
        })
    }
}

impl FromRef<AppState> for Backend {
    fn from_ref(state: &AppState) -> Self {
        state.backend.clone()
    }
}

fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(redeem))
}

pub fn router(state: AppState) -> Router {
    let (routes, _) = routes().split_for_parts();
    hound_http::service(routes.with_state(state))
}

/// This function's operations, for the API's OpenAPI document (`docs/openapi.json`).
pub fn openapi() -> utoipa::openapi::OpenApi {
    routes().into_openapi()
}

/// Redeem an access code: the release it unlocks streams for the caller from now on.
#[utoipa::path(post, path = "/v1/redeem", operation_id = "redeem_code", request_body = RedeemRequest, security(("bearer" = [])), responses(
    (status = 200, description = "What the code granted.", body = Redeemed),
    (status = 404, description = "No such code (or its batch was revoked).", body = ErrorEnvelope),
    (status = 409, description = "`already_redeemed` (by this caller, or the release is already theirs) or `code_exhausted`.", body = ErrorEnvelope),
    (status = 410, description = "`expired`: the code's batch has expired.", body = ErrorEnvelope),
    (status = 429, description = "`rate_limited`: ten failed redeems in the last hour; `Retry-After` says when to try again.", body = ErrorEnvelope),
))]
async fn redeem(
    bearer: Bearer,
    mut db: Db,
    State(state): State<AppState>,
    JsonBody(input): JsonBody<RedeemRequest>,
) -> Result<Json<Redeemed>, ApiError> {
    let (tx, caller) = db.begin_as(&bearer).await?;
    let outcome = gates::redeem(&tx, &state.code_keys, caller.user_id, &input.code).await?;
    commit(tx).await?;
    Ok(Json(outcome.into_result()?))
}
