//! The artist's own profile.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use hound::ApiError;
use hound::auth::Caller;
use hound::catalog::{self, ProfileUpdate};
use hound::http::JsonBody;
use hound::profiles::ArtistProfile;
use serde::Deserialize;

use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/v1/studio/profile", get(show).put(replace))
}

#[derive(Deserialize)]
struct ProfileBody {
    name: String,
    bio: Option<String>,
    links: Option<Vec<String>>,
}

async fn show(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<ArtistProfile>, ApiError> {
    let artist = state.artist(&caller).await?;
    let client = state.pool.get().await.map_err(hound::db::DbError::from)?;
    Ok(Json(catalog::profile(&client, artist).await?))
}

async fn replace(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<ProfileBody>,
) -> Result<Json<ArtistProfile>, ApiError> {
    let artist = state.artist(&caller).await?;
    let update = ProfileUpdate::parse(&body.name, body.bio.as_deref(), body.links.as_deref())?;
    let client = state.pool.get().await.map_err(hound::db::DbError::from)?;
    Ok(Json(
        catalog::update_profile(&client, artist, update).await?,
    ))
}
