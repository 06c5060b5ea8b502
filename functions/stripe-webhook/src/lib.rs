//! The stripe-webhook function (API.md, Payments): `POST /v1/webhooks/stripe`. It checks the
//! `Stripe-Signature` over the raw body, parses the event, and applies it in one service
//! transaction with `hound_domain::money::apply`, which records the event id with its effect.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::{Json, Router};
use bytes::Bytes;
use hound_domain::db::{self, Pool};
use hound_domain::money::{self, Received, StripeEvent};
use hound_http::{ApiError, ErrorEnvelope, commit};
use secrecy::SecretString;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Built once per cold start and shared by every request.
#[derive(Clone)]
pub struct AppState {
    pub pool: Pool,
    /// The endpoint's signing secrets: one, or two while a secret rolls.
    pub secrets: Vec<SecretString>,
}

impl AppState {
    /// `DATABASE_URL` (as `hound_stripe_webhook`) and `STRIPE_WEBHOOK_SECRETS` (comma-separated).
    pub fn from_env() -> anyhow::Result<Self> {
        let pool = db::pool(&db::PoolSettings::for_function(db::roles::STRIPE_WEBHOOK)?)?;
        let secrets = parse_secrets(&hound_domain::config::required_var(
            "STRIPE_WEBHOOK_SECRETS",
        )?)?;
        Ok(Self { pool, secrets })
    }
}

/// `whsec_a` or `whsec_a,whsec_b`.
pub fn parse_secrets(list: &str) -> anyhow::Result<Vec<SecretString>> {
    let secrets: Vec<SecretString> = list
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| SecretString::from(s.to_owned()))
        .collect();
    anyhow::ensure!(
        !secrets.is_empty(),
        "STRIPE_WEBHOOK_SECRETS names no secret"
    );
    Ok(secrets)
}

fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(stripe))
}

pub fn router(state: AppState) -> Router {
    let (routes, _) = routes().split_for_parts();
    hound_http::service(routes.with_state(state))
}

/// This function's operations, for the API's OpenAPI document (`docs/openapi.json`).
pub fn openapi() -> utoipa::openapi::OpenApi {
    routes().into_openapi()
}

/// Receive a Stripe event. Its signature must match one of the endpoint's secrets within 300 s;
/// each event id takes effect once.
#[utoipa::path(post, path = "/v1/webhooks/stripe", operation_id = "stripe_webhook", params(
    ("Stripe-Signature" = String, Header, description = "`t=<unix time>,v1=<hex HMAC-SHA256 of t.body>`, one v1 per active secret."),
), request_body(content = String, content_type = "application/json", description = "A Stripe event, as Stripe signed it."), responses(
    (status = 200, description = "Received: applied now, a duplicate, or nothing to do.", body = Received),
    (status = 400, description = "`invalid_signature` (missing, stale or not matching) or `invalid_request` (not an event).", body = ErrorEnvelope),
))]
async fn stripe(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<Received>), ApiError> {
    let header = headers
        .get("stripe-signature")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    if let Err(why) = money::verify_signature(header, &body, &state.secrets, now) {
        tracing::warn!(%why, "refused a webhook");
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_signature",
            "The Stripe-Signature does not verify.",
        )
        .with_detail("reason", why.to_string()));
    }
    let event: StripeEvent = hound_http::parse(&body)?;
    let mut client = db::connect(&state.pool).await?;
    let tx = db::begin(&mut client).await?;
    let result = money::apply(&tx, &event).await?;
    commit(tx).await?;
    Ok((
        StatusCode::OK,
        Json(Received {
            received: true,
            result,
        }),
    ))
}
