//! The studio's catalogue: an artist's profile, releases with ordered tracks, and the release
//! lifecycle draft → submitted → scheduled | published. Every query is scoped to the caller's
//! artist id, so another artist's rows are simply not found.

mod releases;
mod tracks;

use deadpool_postgres::GenericClient;
use postgres_types::{FromSql, ToSql};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub use releases::*;
pub use tracks::*;

use crate::auth::Caller;
use crate::db::DbError;
use crate::error::FieldErrors;
use crate::profiles::ArtistProfile;
use crate::storage::Unavailable;

/// Errors of the studio, in its own words; `ApiError` maps them to statuses.
#[derive(Debug, thiserror::Error)]
pub enum StudioError {
    #[error("invalid input")]
    Invalid(FieldErrors),
    #[error("not found")]
    NotFound,
    #[error("{code}: {message}")]
    Conflict {
        code: &'static str,
        message: &'static str,
    },
    #[error("release not ready")]
    NotReady(Vec<Problem>),
    #[error(transparent)]
    Unavailable(#[from] Unavailable),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<tokio_postgres::Error> for StudioError {
    fn from(err: tokio_postgres::Error) -> Self {
        StudioError::Db(err.into())
    }
}

impl From<deadpool_postgres::PoolError> for StudioError {
    fn from(err: deadpool_postgres::PoolError) -> Self {
        StudioError::Db(err.into())
    }
}

impl StudioError {
    pub(crate) fn field(name: &'static str, problem: impl Into<String>) -> Self {
        StudioError::Invalid(FieldErrors::from([(name, problem.into())]))
    }

    pub(crate) fn locked() -> Self {
        StudioError::Conflict {
            code: "release_locked",
            message: "The release has been submitted; its tracks and uploads can no longer change.",
        }
    }
}

/// One reason a release cannot be submitted, machine-readable.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Problem {
    pub code: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub track_id: Option<Uuid>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSql, FromSql)]
#[serde(rename_all = "snake_case")]
#[postgres(name = "release_kind", rename_all = "snake_case")]
pub enum ReleaseKind {
    Album,
    Ep,
    Single,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSql, FromSql)]
#[serde(rename_all = "snake_case")]
#[postgres(name = "release_status", rename_all = "snake_case")]
pub enum ReleaseStatus {
    Draft,
    Submitted,
    Scheduled,
    Published,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSql, FromSql)]
#[serde(rename_all = "snake_case")]
#[postgres(name = "release_access", rename_all = "snake_case")]
pub enum Access {
    #[default]
    Public,
    Unlisted,
    Code,
    Event,
    Paid,
}

/// The artist behind a caller: the studio's unit of ownership.
#[derive(Debug, Clone, Copy)]
pub struct ArtistId(pub Uuid);

/// Resolve the caller's artist profile id (callers without one are not artists).
pub async fn artist_of(db: &impl GenericClient, caller: &Caller) -> Result<ArtistId, StudioError> {
    let statement = db
        .prepare_cached("SELECT id FROM artist_profiles WHERE user_id = $1")
        .await?;
    db.query_opt(&statement, &[&caller.user_id])
        .await?
        .map(|row| ArtistId(row.get(0)))
        .ok_or(StudioError::NotFound)
}

/// A profile edit, parsed: name 1–100 characters, bio ≤ 2000, ≤ 10 https links.
pub struct ProfileUpdate {
    name: String,
    bio: String,
    links: Vec<String>,
}

impl ProfileUpdate {
    pub fn parse(
        name: &str,
        bio: Option<&str>,
        links: Option<&[String]>,
    ) -> Result<Self, StudioError> {
        let mut fields = FieldErrors::new();
        let name = name.trim().to_owned();
        if name.is_empty() || name.chars().count() > 100 {
            fields.insert("name", "must be 1–100 characters".into());
        }
        let bio = bio.unwrap_or_default().trim().to_owned();
        if bio.chars().count() > 2000 {
            fields.insert("bio", "must be at most 2000 characters".into());
        }
        let links: Vec<String> = links
            .unwrap_or_default()
            .iter()
            .map(|l| l.trim().to_owned())
            .collect();
        if links.len() > 10 {
            fields.insert("links", "at most 10 links".into());
        } else if let Some(bad) = links.iter().find(|link| {
            url::Url::parse(link)
                .map_or(true, |url| url.scheme() != "https" || url.host().is_none())
        }) {
            fields.insert("links", format!("{bad:?} is not an https URL"));
        }
        if fields.is_empty() {
            Ok(Self { name, bio, links })
        } else {
            Err(StudioError::Invalid(fields))
        }
    }
}

/// Replace the editable parts of the caller's artist profile.
#[tracing::instrument(skip_all)]
pub async fn update_profile(
    db: &impl GenericClient,
    artist: ArtistId,
    update: ProfileUpdate,
) -> Result<ArtistProfile, StudioError> {
    let statement = db
        .prepare_cached("UPDATE artist_profiles SET name = $2, bio = $3, links = $4 WHERE id = $1")
        .await?;
    db.execute(
        &statement,
        &[&artist.0, &update.name, &update.bio, &update.links],
    )
    .await?;
    profile(db, artist).await
}

pub async fn profile(
    db: &impl GenericClient,
    artist: ArtistId,
) -> Result<ArtistProfile, StudioError> {
    let statement = db
        .prepare_cached("SELECT user_id FROM artist_profiles WHERE id = $1")
        .await?;
    let user_id: Uuid = db
        .query_opt(&statement, &[&artist.0])
        .await?
        .ok_or(StudioError::NotFound)?
        .get(0);
    crate::profiles::artist_for_user(db, user_id)
        .await?
        .ok_or(StudioError::NotFound)
}

/// Deserialize a field that may be absent (no change), `null` (clear) or a value (set).
pub(crate) fn patch_field<'de, T, D>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    T: Deserialize<'de>,
    D: serde::Deserializer<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}
