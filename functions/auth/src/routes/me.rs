//! The caller's own account.

use axum::routing::get;
use axum::{Json, Router};
use hound_domain::auth::{self, User};
use hound_domain::profiles::ArtistProfile;
use hound_http::{ApiError, Bearer, Db, commit};
use serde::Serialize;

use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/v1/auth/me", get(me))
}

#[derive(Serialize)]
struct Me {
    user: User,
    #[serde(skip_serializing_if = "Option::is_none")]
    artist_profile: Option<ArtistProfile>,
}

async fn me(bearer: Bearer, mut db: Db) -> Result<Json<Me>, ApiError> {
    let (tx, caller) = db.begin_as(&bearer).await?;
    let (user, artist_profile) = auth::me(&tx, &caller).await?;
    commit(tx).await?;
    Ok(Json(Me {
        user,
        artist_profile,
    }))
}
