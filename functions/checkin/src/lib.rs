//! The checkin function (API.md, Gates): `POST /v1/checkin`. It parses the request, opens the
//! request's transaction as the caller, calls `hound_domain::gates::check_in`, commits (a
//! counted refusal too, so the throttle remembers it) and maps the result.

use axum::extract::{FromRef, State};
use axum::{Json, Router};
use hound_domain::gates::{self, CheckedIn, CheckinRequest, EventKeys};
use hound_http::{ApiError, Backend, Bearer, Db, ErrorEnvelope, JsonBody, commit};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Built once per cold start and shared by every request.
#[derive(Clone)]
pub struct AppState {
    pub backend: Backend,
    /// `EVENT_KEYS`: an event's secret is opened with these to check its token.
    pub event_keys: EventKeys,
}

impl AppState {
    pub fn from_env() -> anyhow::Result<Self> {
        Ok(Self {
            backend: Backend::from_env(hound_domain::db::roles::CHECKIN)?,
            event_keys: EventKeys::from_env()?,
        })
    }
}

impl FromRef<AppState> for Backend {
    fn from_ref(state: &AppState) -> Self {
        state.backend.clone()
    }
}

fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(check_in))
}

pub fn router(state: AppState) -> Router {
    let (routes, _) = routes().split_for_parts();
    hound_http::service(routes.with_state(state))
}

/// This function's operations, for the API's OpenAPI document (`docs/openapi.json`).
pub fn openapi() -> utoipa::openapi::OpenApi {
    routes().into_openapi()
}

/// Check in at an event with its current token (and where you are, if the event has a place);
/// the event's release, if any, is granted.
#[utoipa::path(post, path = "/v1/checkin", operation_id = "check_in", request_body = CheckinRequest, security(("bearer" = [])), responses(
    (status = 200, description = "Checked in, and what it granted.", body = CheckedIn),
    (status = 404, description = "No such event.", body = ErrorEnvelope),
    (status = 403, description = "`forbidden`: `details.reason` is `invalid_token`, `outside_window`, `location_required` or `outside_place`.", body = ErrorEnvelope),
    (status = 409, description = "`already_checked_in`.", body = ErrorEnvelope),
    (status = 429, description = "`rate_limited`: ten wrong tokens in the last hour; `Retry-After` says when to try again.", body = ErrorEnvelope),
))]
async fn check_in(
    bearer: Bearer,
    mut db: Db,
    State(state): State<AppState>,
    JsonBody(input): JsonBody<CheckinRequest>,
) -> Result<Json<CheckedIn>, ApiError> {
    let (tx, caller) = db.begin_as(&bearer).await?;
    let outcome = gates::check_in(&tx, &state.event_keys, caller.user_id, &input).await?;
    commit(tx).await?;
    Ok(Json(outcome.into_result()?))
}
