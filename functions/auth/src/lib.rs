//! The auth function: accounts and sessions over HTTP (API.md, Auth). Routes parse, call
//! `hound_domain::auth`, and map the result; the rules live in the domain crate.

mod routes;

use std::sync::Arc;

use axum::Router;
use axum::extract::FromRef;
use hound_domain::auth::{JwtKeys, Passwords};
use hound_domain::db::{self, PoolSettings};
use hound_http::Backend;

/// Built once per cold start and shared by every request.
#[derive(Clone)]
pub struct AppState {
    pub backend: Backend,
    pub passwords: Passwords,
}

impl AppState {
    /// The auth function connects as `hound_auth` and holds the private keys
    /// (`JWT_SIGNING_KEYS`): the only function that can mint access tokens.
    pub fn from_env() -> anyhow::Result<Self> {
        let pool = db::pool(&PoolSettings::for_function(db::roles::AUTH)?)?;
        let keys = JwtKeys::signing_from_env()?;
        let pooler = Backend::pooler_from_env()?;
        Ok(Self::new(
            Backend::new(pool, Arc::new(keys)).behind_pooler(pooler),
        ))
    }

    pub fn new(backend: Backend) -> Self {
        Self {
            backend,
            passwords: Passwords::owasp(),
        }
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
