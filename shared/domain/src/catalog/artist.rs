//! The artist behind a studio caller, and their profile as the studio edits it.

use deadpool_postgres::GenericClient;

use super::error::StudioError;
use crate::auth::{Caller, Role};
use crate::ids::ArtistId;
use crate::profiles::{self, ArtistProfile, ProfileUpdate};

/// The caller's artist id: the studio's unit of ownership. Listeners get `role_required`.
pub async fn artist_of(db: &impl GenericClient, caller: &Caller) -> Result<ArtistId, StudioError> {
    caller.require(Role::Artist)?;
    profiles::artist_id_of(db, caller.user_id)
        .await?
        .ok_or(StudioError::NotFound)
}

/// The artist's own profile.
pub async fn profile(
    db: &impl GenericClient,
    artist: ArtistId,
) -> Result<ArtistProfile, StudioError> {
    profiles::artist(db, artist)
        .await?
        .ok_or(StudioError::NotFound)
}

/// Replace the editable parts of the artist's profile.
pub async fn update_profile(
    db: &impl GenericClient,
    artist: ArtistId,
    update: ProfileUpdate,
) -> Result<ArtistProfile, StudioError> {
    profiles::update_artist(db, artist, update)
        .await?
        .ok_or(StudioError::NotFound)
}
