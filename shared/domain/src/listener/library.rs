//! Saved tracks: save and unsave (idempotent), and the library, newest first by cursor.

use deadpool_postgres::GenericClient;
use serde::Serialize;
use time::OffsetDateTime;

use super::error::ListenerError;
use super::media::{Cover, Media, cover_variants_sql};
use super::viewer::ArtistCard;
use crate::catalog::ReleaseKind;
use crate::ids::{ReleaseId, TrackId, UserId};
use crate::paging::{Page, PageRequest};

const UNSAVE: &str = "DELETE FROM saves WHERE user_id = $1 AND track_id = $2";

/// Save a track the listener can see (its album page shows). Saving twice is a no-op. No share
/// token comes with a save, so an unlisted release's tracks are not found (release_reach, and
/// row-level security, with no token presented).
const SAVE: &str = "\
    WITH target AS (
        SELECT t.id FROM tracks t JOIN releases r ON r.id = t.release_id
         WHERE t.id = $2 AND release_reach(r, $1, NULL) <> 'hidden'
    ), saved AS (
        INSERT INTO saves (user_id, track_id) SELECT $1, id FROM target
        ON CONFLICT DO NOTHING
    )
    SELECT count(*) FROM target";

#[tracing::instrument(skip(db))]
pub async fn save_track(
    db: &impl GenericClient,
    listener: UserId,
    track_id: TrackId,
) -> Result<(), ListenerError> {
    let statement = db.prepare_cached(SAVE).await?;
    let found: i64 = db
        .query_one(&statement, &[&listener, &track_id])
        .await?
        .get(0);
    if found == 0 {
        return Err(ListenerError::NotFound);
    }
    Ok(())
}

/// Unsave: always succeeds, so a track that has since disappeared can still be removed.
#[tracing::instrument(skip(db))]
pub async fn unsave_track(
    db: &impl GenericClient,
    listener: UserId,
    track_id: TrackId,
) -> Result<(), ListenerError> {
    let statement = db.prepare_cached(UNSAVE).await?;
    db.execute(&statement, &[&listener, &track_id]).await?;
    Ok(())
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LibraryItem {
    #[serde(with = "time::serde::rfc3339")]
    pub saved_at: OffsetDateTime,
    pub track: LibraryTrack,
    pub release: LibraryRelease,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LibraryTrack {
    pub id: TrackId,
    pub title: String,
    pub position: i32,
    pub duration_ms: Option<i32>,
    pub explicit: bool,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LibraryRelease {
    pub id: ReleaseId,
    pub title: String,
    pub kind: ReleaseKind,
    pub artist: ArtistCard,
    /// Cover URLs by width in pixels (`"300"`, `"600"`, `"1200"`), each in the formats made.
    #[schema(inline)]
    pub cover: Option<Cover>,
}

const LIBRARY: &str = concat!(
    "SELECT s.saved_at, t.id, t.title, t.position, t.duration_ms, t.explicit,
            r.id AS release_id, r.title AS release_title, r.kind,
            a.id AS artist_id, a.name AS artist_name, a.slug AS artist_slug, ",
    cover_variants_sql!(),
    " AS cover
      FROM saves s
      JOIN tracks t ON t.id = s.track_id
      JOIN releases r ON r.id = t.release_id
      JOIN artist_profiles a ON a.id = r.artist_id
     WHERE s.user_id = $1
       AND ($2::timestamptz IS NULL OR (s.saved_at, s.track_id) < ($2, $3))
       AND release_reach(r, $1, NULL) <> 'hidden'
     ORDER BY s.saved_at DESC, s.track_id DESC
     LIMIT $4"
);

/// The listener's saved tracks, newest first; `limit` 1–100 (default 50).
#[tracing::instrument(skip(db, media, cursor))]
pub async fn library(
    db: &impl GenericClient,
    media: &Media,
    listener: UserId,
    cursor: Option<&str>,
    limit: Option<i64>,
) -> Result<Page<LibraryItem>, ListenerError> {
    let request = PageRequest::parse(cursor, limit, 50)?;
    let statement = db.prepare_cached(LIBRARY).await?;
    let rows = db
        .query(
            &statement,
            &[
                &listener,
                &request.after_at(),
                &request.after_id(),
                &request.fetch(),
            ],
        )
        .await?;
    let mut items = Vec::with_capacity(rows.len());
    for row in &rows {
        items.push(LibraryItem {
            saved_at: row.get("saved_at"),
            track: LibraryTrack {
                id: row.get("id"),
                title: row.get("title"),
                position: row.get("position"),
                duration_ms: row.get("duration_ms"),
                explicit: row.get("explicit"),
            },
            release: LibraryRelease {
                id: row.get("release_id"),
                title: row.get("release_title"),
                kind: row.get("kind"),
                artist: ArtistCard {
                    id: row.get("artist_id"),
                    name: row.get("artist_name"),
                    slug: row.get("artist_slug"),
                },
                cover: media.cover(row.try_get("cover")?).await?,
            },
        });
    }
    Ok(request.page(items, |item| (item.saved_at, *item.track.id.as_uuid())))
}
