//! The caller's own account.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use hound::ApiError;
use hound::auth::{Caller, User};
use hound::profiles::ArtistProfile;
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

async fn me(State(state): State<AppState>, caller: Caller) -> Result<Json<Me>, ApiError> {
    let (user, artist_profile) = state.accounts.me(&caller).await?;
    Ok(Json(Me {
        user,
        artist_profile,
    }))
}
