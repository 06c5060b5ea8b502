//! The artist's own profile.

use axum::Json;
use hound_domain::catalog;
use hound_domain::profiles::{ArtistProfile, NotificationPrefsChange, ProfileUpdate};
use hound_http::{ApiError, Bearer, Db, JsonBody, commit};
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::{AppState, as_artist};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(show, replace))
}

#[derive(Deserialize, ToSchema)]
struct ProfileBody {
    #[schema(min_length = 1, max_length = 100)]
    name: String,
    #[schema(max_length = 2000)]
    bio: Option<String>,
    /// At most 10 `https` links.
    #[schema(max_items = 10)]
    links: Option<Vec<String>>,
    /// Which transcode job endings mail the artist; absent ones are kept.
    notification_prefs: Option<NotificationPrefsChange>,
}

/// The caller's artist profile.
#[utoipa::path(get, path = "/v1/studio/profile", operation_id = "get_profile", security(("bearer" = [])), responses(
    (status = 200, description = "The profile.", body = ArtistProfile),
))]
async fn show(bearer: Bearer, mut db: Db) -> Result<Json<ArtistProfile>, ApiError> {
    let (tx, artist) = as_artist(&mut db, &bearer).await?;
    let profile = catalog::profile(&tx, artist).await?;
    commit(tx).await?;
    Ok(Json(profile))
}

/// Replace the profile's name, bio and links, and change notification preferences.
#[utoipa::path(put, path = "/v1/studio/profile", operation_id = "put_profile", request_body = ProfileBody, security(("bearer" = [])), responses(
    (status = 200, description = "The profile as stored.", body = ArtistProfile),
))]
async fn replace(
    bearer: Bearer,
    mut db: Db,
    JsonBody(body): JsonBody<ProfileBody>,
) -> Result<Json<ArtistProfile>, ApiError> {
    let (tx, artist) = as_artist(&mut db, &bearer).await?;
    let update = ProfileUpdate::parse(&body.name, body.bio.as_deref(), body.links.as_deref())?
        .with_notification_prefs(body.notification_prefs);
    let profile = catalog::update_profile(&tx, artist, update).await?;
    commit(tx).await?;
    Ok(Json(profile))
}
