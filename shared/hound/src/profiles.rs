//! Artist and listener profiles: created with the account, read by `me` and the studio.

use deadpool_postgres::GenericClient;
use serde::Serialize;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::db::DbError;

/// An artist's public face (API.md, Studio).
#[derive(Debug, Clone, Serialize)]
pub struct ArtistProfile {
    pub id: Uuid,
    pub name: String,
    pub slug: String,
    pub bio: String,
    pub links: Vec<String>,
    pub avatar_url: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

const INSERT_ARTIST: &str = "\
    INSERT INTO artist_profiles (id, user_id, name, slug) VALUES ($1, $2, $3, $4)
    ON CONFLICT (slug) DO NOTHING
    RETURNING id, name, slug, bio, links, created_at, updated_at";

const SELECT_ARTIST_BY_USER: &str = "\
    SELECT id, name, slug, bio, links, created_at, updated_at
    FROM artist_profiles WHERE user_id = $1";

fn artist_from_row(row: &tokio_postgres::Row) -> ArtistProfile {
    ArtistProfile {
        id: row.get("id"),
        name: row.get("name"),
        slug: row.get("slug"),
        bio: row.get("bio"),
        links: row.get("links"),
        avatar_url: None,
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
    user_id: Uuid,
    name: &str,
) -> Result<ArtistProfile, DbError> {
    let base = base_slug(name);
    let statement = db.prepare_cached(INSERT_ARTIST).await?;
    let mut candidate = base.clone();
    loop {
        let row = db
            .query_opt(&statement, &[&Uuid::now_v7(), &user_id, &name, &candidate])
            .await?;
        if let Some(row) = row {
            return Ok(artist_from_row(&row));
        }
        let suffix = &Uuid::new_v4().simple().to_string()[..6];
        candidate = format!("{base}-{suffix}");
    }
}

/// Create the listener profile every account has.
pub async fn create_listener(db: &impl GenericClient, user_id: Uuid) -> Result<(), DbError> {
    let statement = db
        .prepare_cached("INSERT INTO listener_profiles (user_id) VALUES ($1)")
        .await?;
    db.execute(&statement, &[&user_id]).await?;
    Ok(())
}

/// The artist profile of a user, if they are an artist.
pub async fn artist_for_user(
    db: &impl GenericClient,
    user_id: Uuid,
) -> Result<Option<ArtistProfile>, DbError> {
    let statement = db.prepare_cached(SELECT_ARTIST_BY_USER).await?;
    Ok(db
        .query_opt(&statement, &[&user_id])
        .await?
        .map(|row| artist_from_row(&row)))
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
