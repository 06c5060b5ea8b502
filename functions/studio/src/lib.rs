//! The studio function: an artist runs their catalogue (API.md, Studio). Routes parse, check the
//! artist role, call `hound::catalog` / `hound::uploads`, and map the result.

mod routes;

use axum::Router;
use axum::extract::FromRef;
use hound::ApiError;
use hound::auth::{Authenticator, Caller, Role};
use hound::catalog::ArtistId;
use hound::config::Config;
use hound::db::Pool;
use hound::storage::{Queue, Storage};

/// Built once per cold start and shared by every request.
#[derive(Clone)]
pub struct AppState {
    pub pool: Pool,
    pub authenticator: Authenticator,
    pub storage: Storage,
    pub queue: Queue,
}

impl AppState {
    pub async fn from_env() -> anyhow::Result<Self> {
        let config = Config::from_env()?;
        let pool = hound::db::pool(&config.database)?;
        let aws = hound::storage::aws_config().await;
        Ok(Self {
            authenticator: Authenticator::new(pool.clone(), config.jwt_keys),
            pool,
            storage: Storage::from_env(&aws)?,
            queue: Queue::from_env(&aws)?,
        })
    }

    /// The caller's artist id; listeners get 403 `role_required`.
    pub async fn artist(&self, caller: &Caller) -> Result<ArtistId, ApiError> {
        caller.require(Role::Artist)?;
        let client = self.pool.get().await.map_err(hound::db::DbError::from)?;
        Ok(hound::catalog::artist_of(&client, caller).await?)
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
