//! The listener function: what client apps hit most (API.md, Listener). Routes parse, resolve
//! the caller, call `hound::listener`, and map the result.

mod routes;

use axum::Router;
use axum::extract::FromRef;
use hound::ApiError;
use hound::auth::Authenticator;
use hound::config::Config;
use hound::db::{DbError, Pool, PooledClient};
use hound::listener::Media;
use hound::storage::Storage;

/// Built once per cold start and shared by every request.
#[derive(Clone)]
pub struct AppState {
    pub pool: Pool,
    pub authenticator: Authenticator,
    pub media: Media,
}

impl AppState {
    pub async fn from_env() -> anyhow::Result<Self> {
        let config = Config::from_env()?;
        let pool = hound::db::pool(&config.database)?;
        let aws = hound::storage::aws_config().await;
        Ok(Self {
            authenticator: Authenticator::new(pool.clone(), config.jwt_keys),
            pool,
            media: Media::from_env(Storage::from_env(&aws)?)?,
        })
    }

    pub async fn db(&self) -> Result<PooledClient, ApiError> {
        Ok(self.pool.get().await.map_err(DbError::from)?)
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
