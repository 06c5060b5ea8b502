//! The listener function: what client apps hit most (API.md, Listener). Routes parse, resolve
//! the caller, open the request's transaction, call `hound_domain::listener`, and map the
//! result.

mod routes;

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::FromRef;
use bytes::Bytes;
use hound_domain::aws::Storage;
use hound_domain::listener::Media;
use hound_domain::money::StripeApi;
use hound_http::Backend;

/// The collective as last computed by this instance, and when (routes/taste.rs).
pub type CollectiveCache = Arc<tokio::sync::Mutex<Option<(Instant, Bytes)>>>;

/// Built once per cold start and shared by every request.
#[derive(Clone)]
pub struct AppState {
    pub backend: Backend,
    pub media: Media,
    pub collective: CollectiveCache,
    /// Stripe, for purchases (`STRIPE_API_BASE`, `STRIPE_SECRET_KEY`).
    pub stripe: StripeApi,
}

impl AppState {
    pub async fn from_env() -> anyhow::Result<Self> {
        let aws = hound_domain::aws::AwsConfig::from_env();
        Ok(Self {
            backend: Backend::from_env(hound_domain::db::roles::LISTENER)?,
            media: Media::from_env(Storage::from_env(&aws)?)?,
            collective: CollectiveCache::default(),
            stripe: StripeApi::from_env()?,
        })
    }
}

impl FromRef<AppState> for Backend {
    fn from_ref(state: &AppState) -> Self {
        state.backend.clone()
    }
}

pub fn router(state: AppState) -> Router {
    let (routes, _) = routes::router().split_for_parts();
    hound_http::service(routes.with_state(state))
}

/// This function's operations, for the API's OpenAPI document (`docs/openapi.json`).
pub fn openapi() -> utoipa::openapi::OpenApi {
    routes::router().into_openapi()
}
