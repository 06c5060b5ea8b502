//! The studio function: an artist runs their catalogue (API.md, Studio). Routes parse, open the
//! request's transaction as the caller's artist, call `hound_domain::catalog` /
//! `hound_domain::uploads`, and map the result.

mod routes;

use axum::Router;
use axum::extract::FromRef;
use hound_domain::aws::{Queue, Storage};
use hound_domain::catalog;
use hound_domain::db::Tx;
use hound_domain::gates::{CodeKeys, EventKeys};
use hound_domain::ids::ArtistId;
use hound_http::{ApiError, Backend, Bearer, Db};

/// Built once per cold start and shared by every request.
#[derive(Clone)]
pub struct AppState {
    pub backend: Backend,
    pub storage: Storage,
    pub queue: Queue,
    /// `CODE_KEYS`: access codes are stored as hashes under these.
    pub code_keys: CodeKeys,
    /// `EVENT_KEYS`: event secrets are sealed with these.
    pub event_keys: EventKeys,
}

impl AppState {
    pub async fn from_env() -> anyhow::Result<Self> {
        let aws = hound_domain::aws::AwsConfig::from_env();
        Ok(Self {
            backend: Backend::from_env(hound_domain::db::roles::STUDIO)?,
            storage: Storage::from_env(&aws)?,
            queue: Queue::from_env(&aws)?,
            code_keys: CodeKeys::from_env()?,
            event_keys: EventKeys::from_env()?,
        })
    }
}

impl FromRef<AppState> for Backend {
    fn from_ref(state: &AppState) -> Self {
        state.backend.clone()
    }
}

/// The request's transaction as the bearer's caller, and their artist id; listeners get 403
/// `role_required`.
pub(crate) async fn as_artist<'a>(
    db: &'a mut Db,
    bearer: &Bearer,
) -> Result<(Tx<'a>, ArtistId), ApiError> {
    let (tx, caller) = db.begin_as(bearer).await?;
    let artist = catalog::artist_of(&tx, &caller).await?;
    Ok((tx, artist))
}

pub fn router(state: AppState) -> Router {
    let (routes, _) = routes::router().split_for_parts();
    hound_http::service(routes.with_state(state))
}

/// This function's operations, for the API's OpenAPI document (`docs/openapi.json`).
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut api = routes::router().into_openapi();
    hound_http::openapi::answer_everywhere(
        &mut api,
        403,
        "`role_required`: the caller is not an artist.",
    );
    api
}
