//! The caller's own account.

use axum::Json;
use hound_domain::auth::{self, User};
use hound_domain::profiles::ArtistProfile;
use hound_http::{ApiError, Bearer, Db, commit};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(me))
}

#[derive(Serialize, ToSchema)]
struct Me {
    user: User,
    #[serde(skip_serializing_if = "Option::is_none")]
    artist_profile: Option<ArtistProfile>,
}

/// The caller's account, and their artist profile when they are an artist.
#[utoipa::path(get, path = "/v1/auth/me", operation_id = "me", security(("bearer" = [])), responses(
    (status = 200, description = "The account.", body = Me),
))]
async fn me(bearer: Bearer, mut db: Db) -> Result<Json<Me>, ApiError> {
    let (tx, caller) = db.begin_as(&bearer).await?;
    let (user, artist_profile) = auth::me(&tx, &caller).await?;
    commit(tx).await?;
    Ok(Json(Me {
        user,
        artist_profile,
    }))
}
