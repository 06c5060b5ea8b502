//! The artist's own profile.

use axum::routing::get;
use axum::{Json, Router};
use hound_domain::catalog;
use hound_domain::profiles::{ArtistProfile, ProfileUpdate};
use hound_http::{ApiError, Bearer, Db, JsonBody, commit};
use serde::Deserialize;

use crate::{AppState, as_artist};

pub fn router() -> Router<AppState> {
    Router::new().route("/v1/studio/profile", get(show).put(replace))
}

#[derive(Deserialize)]
struct ProfileBody {
    name: String,
    bio: Option<String>,
    links: Option<Vec<String>>,
}

async fn show(bearer: Bearer, mut db: Db) -> Result<Json<ArtistProfile>, ApiError> {
    let (tx, artist) = as_artist(&mut db, &bearer).await?;
    let profile = catalog::profile(&tx, artist).await?;
    commit(tx).await?;
    Ok(Json(profile))
}

async fn replace(
    bearer: Bearer,
    mut db: Db,
    JsonBody(body): JsonBody<ProfileBody>,
) -> Result<Json<ArtistProfile>, ApiError> {
    let (tx, artist) = as_artist(&mut db, &bearer).await?;
    let update = ProfileUpdate::parse(&body.name, body.bio.as_deref(), body.links.as_deref())?;
    let profile = catalog::update_profile(&tx, artist, update).await?;
    commit(tx).await?;
    Ok(Json(profile))
}
