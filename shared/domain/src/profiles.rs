//! Artist and listener profiles: created with the account, read by `me` and the studio, and
//! edited by their artist under one set of rules (name, bio, links).

use deadpool_postgres::GenericClient;
use postgres_types::Json;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::db::DbError;
use crate::fields::FieldErrors;
use crate::ids::{ArtistId, UserId};

/// An artist's public face (API.md, Studio).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ArtistProfile {
    pub id: ArtistId,
    pub name: String,
    pub slug: String,
    pub bio: String,
    pub links: Vec<String>,
    pub avatar_url: Option<String>,
    /// Which of their transcode jobs' endings mail the artist.
    pub notification_prefs: NotificationPrefs,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// Which emails an artist gets: a transcode job ready, a transcode job failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct NotificationPrefs {
    pub job_ready: bool,
    pub job_failed: bool,
}

impl Default for NotificationPrefs {
    fn default() -> Self {
        Self {
            job_ready: true,
            job_failed: true,
        }
    }
}

/// A change of some of the preferences (absent: unchanged).
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NotificationPrefsChange {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_ready: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_failed: Option<bool>,
}

const INSERT_ARTIST: &str = "\
    INSERT INTO artist_profiles (id, user_id, name, slug) VALUES ($1, $2, $3, $4)
    ON CONFLICT (slug) DO NOTHING
    RETURNING id, name, slug, bio, links, notification_prefs, created_at, updated_at";

const SELECT_ARTIST_BY_USER: &str = "\
    SELECT id, name, slug, bio, links, notification_prefs, created_at, updated_at
    FROM artist_profiles WHERE user_id = $1";

const SELECT_ARTIST: &str = "\
    SELECT id, name, slug, bio, links, notification_prefs, created_at, updated_at
    FROM artist_profiles WHERE id = $1";

const SELECT_ARTIST_ID: &str = "SELECT id FROM artist_profiles WHERE user_id = $1";

const SELECT_ARTIST_ID_BY_EMAIL: &str = "\
    SELECT p.id FROM artist_profiles p JOIN users u ON u.id = p.user_id
     WHERE lower(u.email) = lower($1)";

const INSERT_LISTENER: &str = "INSERT INTO listener_profiles (user_id) VALUES ($1)";

const UPDATE_ARTIST: &str = "\
    UPDATE artist_profiles
       SET name = $2, bio = $3, links = $4,
           notification_prefs = notification_prefs || coalesce($5::jsonb, '{}')
     WHERE id = $1";

fn artist_from_row(row: &tokio_postgres::Row) -> ArtistProfile {
    ArtistProfile {
        id: row.get("id"),
        name: row.get("name"),
        slug: row.get("slug"),
        bio: row.get("bio"),
        links: row.get("links"),
        avatar_url: None,
        notification_prefs: row
            .get::<_, Json<serde_json::Value>>("notification_prefs")
            .0
            .as_object()
            .map(|prefs| NotificationPrefs {
                job_ready: prefs
                    .get("job_ready")
                    .and_then(|v| v.as_bool())
                    .unwrap_or(true),
                job_failed: prefs
                    .get("job_failed")
                    .and_then(|v| v.as_bool())
                    .unwrap_or(true),
            })
            .unwrap_or_default(),
        created_at: row.get("created_at"),
        updated_at: row.get("updated_at"),
    }
}

/// A URL handle from a name: transliterated to ASCII, lower-case, dash-separated.
fn base_slug(name: &str) -> String {
    let slug = slug::slugify(name);
    let mut slug: String = slug.chars().take(100).collect();
    while slug.ends_with('-') {
        slug.pop();
    }
    if slug.is_empty() {
        "artist".to_owned()
    } else {
        slug
    }
}

/// Create the artist profile for a new artist account. The name's slug is used if free;
/// otherwise a short random suffix is added until the unique index accepts one.
#[tracing::instrument(skip_all)]
pub async fn create_artist(
    db: &impl GenericClient,
    user_id: UserId,
    name: &str,
) -> Result<ArtistProfile, DbError> {
    let base = base_slug(name);
    let statement = db.prepare_cached(INSERT_ARTIST).await?;
    let mut candidate = base.clone();
    loop {
        let row = db
            .query_opt(
                &statement,
                &[&ArtistId::generate(), &user_id, &name, &candidate],
            )
            .await?;
        if let Some(row) = row {
            return Ok(artist_from_row(&row));
        }
        let suffix = &Uuid::new_v4().simple().to_string()[..6];
        candidate = format!("{base}-{suffix}");
    }
}

/// Create the listener profile every account has.
pub async fn create_listener(db: &impl GenericClient, user_id: UserId) -> Result<(), DbError> {
    let statement = db.prepare_cached(INSERT_LISTENER).await?;
    db.execute(&statement, &[&user_id]).await?;
    Ok(())
}

/// The artist profile of a user, if they are an artist.
pub async fn artist_for_user(
    db: &impl GenericClient,
    user_id: UserId,
) -> Result<Option<ArtistProfile>, DbError> {
    let statement = db.prepare_cached(SELECT_ARTIST_BY_USER).await?;
    Ok(db
        .query_opt(&statement, &[&user_id])
        .await?
        .map(|row| artist_from_row(&row)))
}

/// The artist profile id of a user (`None`: not an artist).
pub async fn artist_id_of(
    db: &impl GenericClient,
    user_id: UserId,
) -> Result<Option<ArtistId>, DbError> {
    let statement = db.prepare_cached(SELECT_ARTIST_ID).await?;
    Ok(db
        .query_opt(&statement, &[&user_id])
        .await?
        .map(|row| row.get(0)))
}

/// The artist profile id of the account with this email (operators' tools).
pub async fn artist_id_by_email(
    db: &impl GenericClient,
    email: &str,
) -> Result<Option<ArtistId>, DbError> {
    let statement = db.prepare_cached(SELECT_ARTIST_ID_BY_EMAIL).await?;
    Ok(db
        .query_opt(&statement, &[&email])
        .await?
        .map(|row| row.get(0)))
}

/// An artist's profile by its id.
pub async fn artist(
    db: &impl GenericClient,
    artist: ArtistId,
) -> Result<Option<ArtistProfile>, DbError> {
    let statement = db.prepare_cached(SELECT_ARTIST).await?;
    Ok(db
        .query_opt(&statement, &[&artist])
        .await?
        .map(|row| artist_from_row(&row)))
}

/// A profile edit, parsed: name 1–100 characters, bio ≤ 2000, ≤ 10 https links; the
/// notification preferences given are changed, the others kept.
pub struct ProfileUpdate {
    name: String,
    bio: String,
    links: Vec<String>,
    notification_prefs: Option<NotificationPrefsChange>,
}

impl ProfileUpdate {
    pub fn parse(
        name: &str,
        bio: Option<&str>,
        links: Option<&[String]>,
    ) -> Result<Self, FieldErrors> {
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
            Ok(Self {
                name,
                bio,
                links,
                notification_prefs: None,
            })
        } else {
            Err(fields)
        }
    }

    /// With these notification preferences changed.
    pub fn with_notification_prefs(mut self, change: Option<NotificationPrefsChange>) -> Self {
        self.notification_prefs = change;
        self
    }
}

/// Replace the editable parts of an artist profile; `None` when there is no such profile.
#[tracing::instrument(skip_all)]
pub async fn update_artist(
    db: &impl GenericClient,
    artist_id: ArtistId,
    update: ProfileUpdate,
) -> Result<Option<ArtistProfile>, DbError> {
    let statement = db.prepare_cached(UPDATE_ARTIST).await?;
    let prefs = update
        .notification_prefs
        .map(|change| Json(serde_json::to_value(change).expect("booleans serialise")));
    db.execute(
        &statement,
        &[&artist_id, &update.name, &update.bio, &update.links, &prefs],
    )
    .await?;
    artist(db, artist_id).await
}

#[cfg(test)]
mod tests {
    use super::base_slug;

    #[test]
    fn slugs_are_ascii_handles_of_the_name() {
        assert_eq!(base_slug("Sigur Rós"), "sigur-ros");
        assert_eq!(base_slug("  AC/DC!! "), "ac-dc");
        assert_eq!(base_slug("!!! ???"), "artist");
        assert_eq!(base_slug("坂本龍一"), "ban-ben-long-yi");
        assert!(base_slug(&"long name ".repeat(30)).len() <= 100);
    }
}
