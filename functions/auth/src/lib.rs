//! The auth function: accounts and sessions over HTTP (API.md, Auth). Routes parse, call
//! `hound::auth`, and map the result; the rules live in the domain crate.

mod routes;

use std::sync::Arc;

use axum::Router;
use axum::extract::FromRef;
use hound::auth::{Accounts, Authenticator, JwtKeys, Passwords};
use hound::config::Config;

/// Built once per cold start and shared by every request.
#[derive(Clone)]
pub struct AppState {
    pub accounts: Accounts,
    pub authenticator: Authenticator,
}

impl AppState {
    pub fn from_env() -> anyhow::Result<Self> {
        let config = Config::from_env()?;
        let pool = hound::db::pool(&config.database)?;
        Ok(Self::new(pool, config.jwt_keys))
    }

    pub fn new(pool: hound::db::Pool, keys: Arc<JwtKeys>) -> Self {
        let accounts = Accounts::new(pool, keys, Passwords::owasp());
        Self {
            authenticator: accounts.authenticator(),
            accounts,
        }
    }
}

impl FromRef<AppState> for Authenticator {
    fn from_ref(state: &AppState) -> Self {
        state.authenticator.clone()
    }
}

pub fn router(state: AppState) -> Router {
    hound::http::service(routes::router().with_state(state))
}
