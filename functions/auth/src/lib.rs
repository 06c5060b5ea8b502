//! The auth function: accounts and sessions over HTTP (API.md, Auth). Routes parse, call
//! `hound_domain::auth`, and map the result; the rules live in the domain crate.

mod routes;

use axum::Router;
use axum::extract::FromRef;
use hound_domain::auth::Passwords;
use hound_http::Backend;

/// Built once per cold start and shared by every request.
#[derive(Clone)]
pub struct AppState {
    pub backend: Backend,
    pub passwords: Passwords,
}

impl AppState {
    pub fn from_env() -> anyhow::Result<Self> {
        Ok(Self::new(Backend::from_env()?))
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
    hound_http::service(routes::router().with_state(state))
}
